"""Resource rules (spec §5.4, §5.5, §5.10, §5.6 and §5.8 per resource, §5.11 stacks):
coverage, commitment, energy limits, self-schedules, ramps, minimum up/down times, storage SOC
and envelopes, capacity stacks, reserve ramp limits, awards against bids."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from clearing.analysis.check.context import AWARD_COLUMNS, BIG, RAMP_TYPES, RUC_TYPES, Context, finite


def check_coverage(ctx: Context) -> None:
    if not ctx.need("coverage", "schedules"):
        return
    raw = ctx.sched["_raw"]
    dup = raw[raw.duplicated(["resource", "hour"], keep=False)]
    for (r, h), _ in dup.groupby(["resource", "hour"]):
        ctx.add("coverage", "schedules", "resource", r, h, 2, 1,
                "more than one schedules row for this resource-hour")
    have = set(zip(raw["resource"], raw["hour"]))
    for r in ctx.res.index:
        missing = [h for h in ctx.hours if (r, h) not in have]
        for h in missing:
            ctx.add("coverage", "schedules", "resource", r, h, 0, 1,
                    "no schedules row for this scenario resource-hour (counted as 0)")
    unknown = sorted(set(raw["resource"]) - set(ctx.res.index))
    for r in unknown:
        ctx.add("coverage", "schedules", "resource", r, None, 1, 0,
                "schedules row for a resource that is not in the scenario")


def check_unit_limits(ctx: Context) -> None:
    if not ctx.need("energy_limits", "schedules"):
        return
    e = ctx.sched["energy_mw"]
    th = ctx.by_type("thermal")
    c = ctx.sched["committed"].loc[th]
    bad = (c - c.round()).abs() > ctx.tol
    bad |= ~c.round().isin([0.0, 1.0])
    for i, j in zip(*np.nonzero(bad.to_numpy())):
        ctx.add("commitment", "schedules", "resource", th[i], ctx.hours[j], c.iat[i, j], 1,
               f"committed = {c.iat[i, j]:.6g} is not 0 or 1")
    u = ctx.commitment()
    if len(ctx.thermal) and "must_run" in ctx.thermal:
        mr = [r for r in th if bool(ctx.thermal["must_run"].get(r, False))]
        for r in mr:
            for h in ctx.hours:
                if u.at[r, h] < 0.5:
                    ctx.add("commitment", "schedules", "resource", r, h, 0, 1,
                            "must-run unit not committed")
    lo, hi = ctx.energy_bounds(u)
    ctx.flag_matrix("energy_limits", "schedules", e, hi, True, "energy_mw")
    ctx.flag_matrix("energy_limits", "schedules", e, lo, False, "energy_mw")
    if len(ctx.hydro):
        for r in ctx.hydro.index:
            if r in e.index:
                tot, lim = float(e.loc[r].sum()), float(ctx.hydro.at[r, "daily_energy_mwh"])
                if tot - lim > ctx.tol:
                    ctx.add("energy_limits", "schedules", "resource", r, None, tot, lim,
                            f"daily energy {tot:.6g} MWh above the hydro limit {lim:.6g}")
    # self-schedules of supply resources (spec §5.4: p ≥ SS)
    sup = ctx.by_type("thermal", "hydro", "ver", "import", "storage")
    req = np.minimum(ctx.ss.loc[sup], ctx.pmax.loc[sup])
    ctx.flag_matrix("self_schedule", "schedules", e.loc[sup], req, False,
                    "energy_mw (self-scheduled)", mask=req.notna())


def check_ramps(ctx: Context) -> None:
    if not ctx.need("ramp", "schedules"):
        return
    e = ctx.sched["energy_mw"]
    u = ctx.commitment()
    H = len(ctx.hours)
    # parameter as_in_hourly_ramp: a thermal unit's online RU + SR + NR count in its ramp-up
    as_up = None
    if getattr(ctx.p, "as_in_hourly_ramp", False):
        S = ctx.sched
        as_up = (S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"]) * u
    su_mw, sd_mw = ctx.startup_shutdown_mw()
    for r in ctx.by_type(*RAMP_TYPES):
        rr_up = 60.0 * finite(ctx.res.at[r, "ramp_up_mw_per_min"])
        rr_dn = 60.0 * finite(ctx.res.at[r, "ramp_down_mw_per_min"])
        p = e.loc[r].to_numpy(float)
        if ctx.rtype[r] == "thermal":
            th = ctx.thermal.loc[r] if r in ctx.thermal.index else None
            on0 = bool(th["initial_on"]) if th is not None else False
            p0 = float(th["initial_mw"]) if (th is not None and on0) else 0.0
            su, sd = su_mw.loc[r].to_numpy(float), sd_mw.loc[r].to_numpy(float)
            uu = u.loc[r].to_numpy(float)
            a = as_up.loc[r].to_numpy(float) if as_up is not None else np.zeros(H)
            prev_p, prev_u = p0, float(on0)
            for j in range(H):
                v = max(0.0, uu[j] - prev_u)
                w = max(0.0, prev_u - uu[j])
                up_lim = rr_up * prev_u + su[j] * v
                dn_lim = rr_dn * uu[j] + sd[j] * w
                _ramp_flag(ctx, r, ctx.hours[j], p[j] - prev_p, up_lim, dn_lim, v, w,
                               as_up=a[j])
                prev_p, prev_u = p[j], uu[j]
        else:
            for j in range(1, H):
                _ramp_flag(ctx, r, ctx.hours[j], p[j] - p[j - 1], rr_up, rr_dn, 0, 0)


def _ramp_flag(ctx: Context, r, h, d, up_lim, dn_lim, v, w, as_up: float = 0.0) -> None:
    note = " (start-up hour)" if v else " (shut-down hour)" if w else ""
    du = d + as_up
    if du - up_lim > ctx.tol:
        what = "up-ramp + RU + SR + NR" if as_up else "up-ramp"
        ctx.add("ramp", "schedules", "resource", r, h, du, up_lim,
                f"{what} {du:.6g} MW above the limit {up_lim:.6g}{note} by "
                f"{du - up_lim:.6g}")
    if -d - dn_lim > ctx.tol:
        ctx.add("ramp", "schedules", "resource", r, h, -d, dn_lim,
                f"down-ramp {-d:.6g} MW above the limit {dn_lim:.6g}{note} by "
                f"{-d - dn_lim:.6g}")


def check_min_up_down(ctx: Context) -> None:
    if not ctx.need("min_up", "schedules") or not len(ctx.thermal):
        return
    u = ctx.commitment()
    for r in ctx.by_type("thermal"):
        if r not in ctx.thermal.index:
            continue
        th = ctx.thermal.loc[r]
        ut, dt = int(th["min_up_h"]), int(th["min_down_h"])
        state, length = int(bool(th["initial_on"])), int(th["initial_hours"])
        for h in ctx.hours:
            now = int(u.at[r, h] > 0.5)
            if now != state:
                if state == 1 and length < ut:
                    ctx.add("min_up", "schedules", "resource", r, h, length, ut,
                            f"shut down in hour {h} after {length} h on-line; min up {ut} h")
                if state == 0 and length < dt:
                    ctx.add("min_down", "schedules", "resource", r, h, length, dt,
                            f"started in hour {h} after {length} h off-line; min down {dt} h")
                state, length = now, 0
            length += 1


def check_storage(ctx: Context) -> None:
    """§5.10: SOC, the IR envelopes E^L (μU share of IRU deployed) and E^H (μD share of IRD),
    and the AS-sustain limits, all recomputed from the schedules."""
    if not ctx.need("storage_soc", "schedules") or not len(ctx.storage):
        return
    mu_u = float(ctx.p.storage_envelope_multiplier_up)
    mu_d = float(ctx.p.storage_envelope_multiplier_down)
    h_as = float(getattr(ctx.p, "storage_as_sustain_hours", 0.0))
    e = ctx.sched["energy_mw"]
    for r in ctx.storage.index:
        if r not in e.index:
            continue
        st = ctx.storage.loc[r]
        eta_c, eta_d = float(st["charge_efficiency"]), float(st["discharge_efficiency"])
        lo, hi = float(st["soc_min_mwh"]), float(st["soc_max_mwh"])
        soc = float(st["soc_initial_mwh"])
        g = e.loc[r].to_numpy(float)
        if "charge_mw" in ctx.sched and "discharge_mw" in ctx.sched:
            ch = ctx.sched["charge_mw"].loc[r].to_numpy(float)
            dis = ctx.sched["discharge_mw"].loc[r].to_numpy(float)
        else:
            dis, ch = np.maximum(g, 0.0), np.maximum(-g, 0.0)
        S = ctx.sched
        iru, ird = S["iru_mw"].loc[r].to_numpy(float), S["ird_mw"].loc[r].to_numpy(float)
        as_up = (S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"]).loc[r].to_numpy(float)
        rd = S["reg_down_mw"].loc[r].to_numpy(float)
        env_lo = env_hi = soc
        for j, h in enumerate(ctx.hours):
            tol = ctx.tol * (1 + j)
            # AS sustain from the SOC at the start of the hour (§5.10 [A])
            sus_lo, sus_hi = soc - h_as * as_up[j] / eta_d, soc + h_as * eta_c * rd[j]
            if lo - sus_lo > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, sus_lo, lo,
                        f"SOC {soc:.6g} − h^AS·(RU + SR + NR)/η_d = {sus_lo:.6g} MWh below "
                        f"soc_min {lo:.6g} (AS sustain)")
            if sus_hi - hi > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, sus_hi, hi,
                        f"SOC {soc:.6g} + h^AS·η_c·RD = {sus_hi:.6g} MWh above soc_max {hi:.6g} "
                        f"(AS sustain)")
            step = eta_c * ch[j] - dis[j] / eta_d
            soc += step
            env_lo += step - mu_u * iru[j] / eta_d
            env_hi += step + mu_d * eta_c * ird[j]
            if soc - hi > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, soc, hi,
                        f"SOC {soc:.6g} MWh (recomputed) above soc_max {hi:.6g}")
            if lo - soc > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, soc, lo,
                        f"SOC {soc:.6g} MWh (recomputed) below soc_min {lo:.6g}")
            if lo - env_lo > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, env_lo, lo,
                        f"lower envelope E^L {env_lo:.6g} MWh (μU = {mu_u:g} of IRU deployed) "
                        f"below soc_min {lo:.6g}")
            if env_hi - hi > tol:
                ctx.add("storage_soc", "schedules", "resource", r, h, env_hi, hi,
                        f"upper envelope E^H {env_hi:.6g} MWh (μD = {mu_d:g} of IRD deployed) "
                        f"above soc_max {hi:.6g}")
            if "soc_mwh" in ctx.sched:
                rep = float(ctx.sched["soc_mwh"].at[r, h])
                if abs(rep - soc) > tol:
                    ctx.add("storage_soc", "schedules", "resource", r, h, rep, soc,
                            f"reported SOC {rep:.6g} MWh differs from the recomputed "
                            f"{soc:.6g}")
        end = float(st["soc_end_min_mwh"])
        if not math.isnan(end) and end - soc > ctx.tol * len(ctx.hours):
            ctx.add("storage_soc", "schedules", "resource", r, ctx.hours[-1], soc, end,
                   f"end-of-day SOC {soc:.6g} MWh below soc_end_min {end:.6g}")


def check_headroom(ctx: Context) -> None:
    if not ctx.need("headroom", "schedules"):
        return
    S = ctx.sched
    e = S["energy_mw"]
    up = S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"] + S["iru_mw"]
    dn = S["reg_down_mw"] + S["ird_mw"]
    u = ctx.commitment()
    lo, hi = ctx.energy_bounds(u)
    hi_up = hi.copy()
    th = ctx.by_type("thermal")
    stack_mask = pd.DataFrame(True, index=ctx.res.index, columns=ctx.hours)
    if len(th) and len(ctx.thermal):
        fs = ctx.thermal.reindex(th)
        nr_off = (fs["fast_start"].fillna(False).astype(bool) *
                  fs["nonspin_offline_mw"].fillna(0.0).astype(float))
        hi_up.loc[th] += (1 - u.loc[th]).mul(nr_off, axis=0)
        off_other = (S["reg_up_mw"] + S["spin_mw"] + S["iru_mw"]).loc[th] * (1 - u.loc[th])
        ctx.flag_matrix("headroom", "schedules", off_other,
                        pd.DataFrame(0.0, index=th, columns=ctx.hours), True,
                        "RU + SR + IRU of an off-line unit")
        stack_mask.loc[th] = off_other <= ctx.tol  # reported once, above
    ctx.flag_matrix("headroom", "schedules", e + up, hi_up, True,
                    "upward stack energy + RU + SR + NR + IRU", mask=stack_mask)
    if len(th):
        # start-up/shut-down capacity rows (docs/market-model.md §5.4 [A]): ≤ SU in a start-up
        # hour, ≤ SD in the hour before a shut-down; reported where tighter than the stack above
        cap = ctx.startup_shutdown_cap(u)
        tighter = (cap < hi_up.loc[th]) & stack_mask.loc[th]
        ctx.flag_matrix("headroom", "schedules", (e + up).loc[th], cap, True,
                        "upward stack energy + RU + SR + NR + IRU in a start-up hour (≤ SU) or "
                        "the hour before a shut-down (≤ SD)", mask=tighter)
    ctx.flag_matrix("headroom", "schedules", e - dn, lo, False,
                    "downward stack energy − RD − IRD")
    if (S["rcu_mw"].abs().to_numpy().sum() + S["rcd_mw"].abs().to_numpy().sum()) > 0 \
            or "ruc_committed" in S:
        uR = ctx.ruc_commitment(u)
        loR, hiR = ctx.energy_bounds(uR)
        if len(th) and len(ctx.thermal):
            hiR.loc[th] += (1 - uR.loc[th]).mul(nr_off, axis=0)
        phys = ctx.by_type(*RUC_TYPES)
        r = (e + S["rcu_mw"] - S["rcd_mw"]).loc[phys]
        ctx.flag_matrix("headroom", "schedules", r + up.loc[phys], hiR.loc[phys], True,
                        "RUC upward stack energy + RCU − RCD + RU + SR + NR + IRU")
        ctx.flag_matrix("headroom", "schedules", r - dn.loc[phys], loR.loc[phys], False,
                        "RUC downward stack energy + RCU − RCD − RD − IRD")


def check_reserve_ramp(ctx: Context) -> None:
    if not ctx.need("reserve_ramp", "schedules"):
        return
    S = ctx.sched
    p = ctx.p
    rr_up = ctx.res["ramp_up_mw_per_min"].astype(float)
    rr_dn = ctx.res["ramp_down_mw_per_min"].astype(float)
    u = ctx.commitment()
    as_up = S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"]

    def lim(rr: pd.Series, minutes: float, uu: pd.DataFrame | None = None) -> pd.DataFrame:
        m = pd.DataFrame(np.repeat((rr * minutes).replace(np.inf, BIG).to_numpy()[:, None],
                                   len(ctx.hours), 1), index=ctx.res.index,
                         columns=ctx.hours)
        return m * uu if uu is not None else m

    checks = [
        (as_up, lim(rr_up, p.as_ramp_minutes), "RU + SR + NR (AS ramp horizon)"),
        (S["reg_down_mw"], lim(rr_dn, p.as_ramp_minutes), "RD (AS ramp horizon)"),
        (S["iru_mw"], lim(rr_up, p.ir_ramp_minutes, u), "IRU (T^IR ramp horizon)"),
        (S["ird_mw"], lim(rr_dn, p.ir_ramp_minutes, u), "IRD (T^IR ramp horizon)"),
        (as_up + S["iru_mw"], lim(rr_up, p.ir_as_ramp_minutes), "RU + SR + NR + IRU (T^IR2)"),
        (S["reg_down_mw"] + S["ird_mw"], lim(rr_dn, p.ir_as_ramp_minutes), "RD + IRD (T^IR2)"),
    ]
    if S["rcu_mw"].abs().to_numpy().sum() + S["rcd_mw"].abs().to_numpy().sum() > 0:
        uR = ctx.ruc_commitment(u)
        pmin = ctx.res["pmin_mw"].astype(float)
        new_pmin = (uR - u).mul(pmin, axis=0)
        new_pmin.loc[~ctx.rtype.eq("thermal")] = 0.0
        checks += [(S["rcu_mw"] - new_pmin, lim(rr_up, 60.0),
                    "RCU above new Pmin (hourly ramp)"),
                   (S["rcd_mw"], lim(rr_dn, 60.0), "RCD (hourly ramp)")]
    for amount, limit, what in checks:
        ctx.flag_matrix("reserve_ramp", "schedules", amount, limit, True, what)


def check_awards(ctx: Context) -> None:
    if not ctx.need("award_bid", "schedules"):
        return
    # the bid in force in each hour (hourly bids override day-constant ones; the RCU bids the
    # ISO inserts for RA resources and certified VERs without one, §5.11, are bids like others)
    book = ctx.s.bids
    for col, prod in AWARD_COLUMNS.items():
        a = ctx.sched[col]
        arr = a.to_numpy(float)
        for i, j in zip(*np.nonzero(np.abs(arr) > ctx.tol)):
            r, h, v = a.index[i], a.columns[j], arr[i, j]
            if v < 0:
                ctx.add("award_bid", "schedules", "resource", r, h, v, 0.0,
                        f"negative {prod.upper()} award {v:.6g} MW")
                continue
            got = book.availability(str(r), prod, int(h))
            bid = None if got is None else got.mw
            if bid is None or bid <= 0:
                ctx.add("award_bid", "schedules", "resource", r, h, v, 0.0,
                        f"{prod.upper()} award {v:.6g} MW without a {prod.upper()} bid")
            elif v - bid > ctx.tol:
                ctx.add("award_bid", "schedules", "resource", r, h, v, bid,
                        f"{prod.upper()} award {v:.6g} MW above the bid {bid:.6g} MW")
    both = (ctx.sched["rcu_mw"] > ctx.tol) & (ctx.sched["rcd_mw"] > ctx.tol)
    for i, j in zip(*np.nonzero(both.to_numpy())):
        r, h = both.index[i], both.columns[j]
        ctx.add("rc_exclusive", "schedules", "resource", r, h,
                float(ctx.sched["rcd_mw"].iat[i, j]), 0.0,
                f"both RCU {ctx.sched['rcu_mw'].iat[i, j]:.6g} and RCD "
                f"{ctx.sched['rcd_mw'].iat[i, j]:.6g} awarded")


def check_proxy_awards(ctx: Context) -> None:
    """`schedules.rcu_proxy` / `rcd_proxy` (§5.11, §8.2): true exactly where the award is
    positive and the hour's bid is ISO-inserted (`Scenario.bids`: rows written with
    `iso_inserted`, and the RCU bids inserted for RA resources and certified VERs without one).
    An award within the tolerance of 0 may carry either flag. Skipped without the columns."""
    raw = ctx.sched["_raw"]
    book = ctx.s.bids
    for prod in ("rcu", "rcd"):
        col = f"{prod}_proxy"
        if col not in raw.columns:
            ctx.skipped.append(f"rc_proxy: no schedules.{col} column")
            continue
        first = raw.drop_duplicates(["resource", "hour"])
        flags = first[col].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
        mw = pd.to_numeric(first[f"{prod}_mw"], errors="coerce").fillna(0.0)
        for r, h, flag, v in zip(first["resource"], first["hour"], flags, mw):
            if r not in ctx.res.index:
                continue
            got = book.availability(str(r), prod, int(h))
            iso = got is not None and got.iso_inserted
            if flag and (v <= 0 or not iso):
                why = "no award" if v <= 0 else f"the hour's {prod.upper()} bid is " + (
                    "none" if got is None else "not ISO-inserted")
                ctx.add("rc_proxy", "schedules", "resource", r, h, 1.0, 0.0,
                        f"{col} true but {why} (award {v:.6g} MW)")
            elif not flag and iso and v > ctx.tol:
                ctx.add("rc_proxy", "schedules", "resource", r, h, 0.0, 1.0,
                        f"{col} false but the {v:.6g} MW award clears an ISO-inserted "
                        f"{prod.upper()} bid (a proxy award, §8.2)")
