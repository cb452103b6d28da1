"""Prices support the schedules (§6 procedure, §11.10 award/price consistency).

At the published prices and the run's commitment, no resource could raise its profit within its
own bids and physical limits: for each resource a small LP over the day (scipy's HiGHS) maximises

    Σ_t [ LMP_n(i),t·g_t − Σ_s c_s·p_s,t + Σ_s b_s·d_s,t + Σ_a (price_a,t − c_a)·a_t ]

(energy at its bus's LMP — for an import or export on a tie with a binding limit, LMP − μ^imp
+ μ^exp of the published tie rows, §5.5 —, AS at the BAA's ASMPs, IRU/IRD at the resource's
IRUMP/IRDMP, bids after market power mitigation) subject to the resource's bid segments, capacity stacks, ramps,
reserve ramp limits, self-schedules and, for storage, the SOC, envelope and AS-sustain limits
(§5.4–5.10). The same LP with the quantities fixed at the published schedule gives the profit of
the schedule; a gain above tolerance means the prices do not support it (a price that looks
feasible but is wrong). By LP duality this is the pricing LP's optimality split per resource:
it holds exactly when the published prices are the duals of the fixed-commitment LP whose
solution is the published schedule.

Covered: thermal at fixed commitment, VER, hydro, storage (LP mode), imports/exports, demand and
virtual bids; the RUC side (`check_rc_profit`) covers RCU/RCD of thermal, VER, storage, hydro and
imports at the RUC price. Not covered (listed in `attrs["skipped"]`): resources without energy
bids and storage when `storage_mode_binary` is on (its mode binary is not published). The
commitment costs (MLC, start-up) are constants at fixed commitment and cancel.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from clearing.analysis.check.context import Context, finite, nan_to
from clearing.analysis.check.ghg import profit_terms
from clearing.analysis.check.ties import tie_price_offsets

SUPPLY_TYPES = ("thermal", "ver", "hydro", "import", "virtual_supply")
DEMAND_TYPES = ("export", "demand", "virtual_demand")
AS_PRODUCTS = ("ru", "rd", "sr", "nr", "iru", "ird")
SCHEDULE_COLUMN = {"ru": "reg_up_mw", "rd": "reg_down_mw", "sr": "spin_mw", "nr": "nonspin_mw",
                   "iru": "iru_mw", "ird": "ird_mw"}


class _LP:
    """A tiny LP builder: named variable blocks of one value per hour, rows as {var: coef}."""

    def __init__(self) -> None:
        self.n = 0
        self.cost: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.ub: list[tuple[dict[int, float], float]] = []
        self.eq: list[tuple[dict[int, float], float]] = []

    def var(self, cost: float, lo: float, hi: float) -> int:
        self.cost.append(cost)
        self.lo.append(lo)
        self.hi.append(max(lo, hi) if math.isfinite(hi) else None)
        self.n += 1
        return self.n - 1

    def le(self, row: dict[int, float], rhs: float) -> None:
        """row·x ≤ rhs; a row with an infinite (or unknown) right-hand side never binds."""
        if row and math.isfinite(rhs):
            self.ub.append((row, rhs))

    def ge(self, row: dict[int, float], rhs: float) -> None:
        self.le({k: -v for k, v in row.items()}, -rhs)

    def solve(self, fixed_eq: list[tuple[dict[int, float], float]] | None = None):
        def mat(rows):
            if not rows:
                return None, None
            a = np.zeros((len(rows), self.n))
            for i, (r, _) in enumerate(rows):
                for k, v in r.items():
                    a[i, k] += v
            return a, np.array([b for _, b in rows])
        a_ub, b_ub = mat(self.ub)
        a_eq, b_eq = mat(self.eq + (fixed_eq or []))
        return linprog(np.array(self.cost), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                       bounds=list(zip(self.lo, self.hi)), method="highs")


def _add(*rows: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for r in rows:
        for k, v in r.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _lin(vars_: list[int], coef: float = 1.0) -> dict[int, float]:
    return {v: coef for v in vars_}


def _prices(ctx: Context) -> tuple[pd.DataFrame | None, dict, dict]:
    """(LMP bus x hour, BAA product prices {(baa, product, hour)}, resource IR prices
    {(resource, product, hour)})."""
    npx = ctx.run.tables.get("nodal_prices")
    lmp = None
    if npx is not None and "lmp" in npx.columns:
        lmp = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int)).pivot_table(
            index="bus", columns="hour", values="lmp", aggfunc="first")
    pp = ctx.run.tables.get("product_prices")
    baa_p = {} if pp is None else {
        (str(b), str(p).lower(), int(h)): float(v) for b, p, h, v in
        zip(pp["baa"], pp["product"], pp["hour"], pp["price_usd_per_mwh"])}
    rp = ctx.run.tables.get("resource_prices")
    res_p = {}
    if rp is not None:
        for prod in ("iru", "ird"):
            col = f"{prod}_usd_per_mwh"
            if col in rp.columns:
                res_p.update({(str(r), prod, int(h)): float(v) for r, h, v in
                              zip(rp["resource"], rp["hour"], rp[col])})
    return lmp, baa_p, res_p


def may_provide(ctx: Context, r: str, product: str) -> bool:
    """Whether resource `r` may be awarded `product` (spec §5.5): AS and IR from thermal, storage,
    hydro, dispatchable VERs and 15-minute imports; RC also from every VER. Exports, demand and
    virtual bids hold none (docs/validation.md: the engine does not award exports AS/IR/RC,
    open finding), so their availability bids earn nothing."""
    rtype = ctx.rtype[r]
    if rtype in ("thermal", "storage", "hydro"):
        return True
    if rtype == "ver":
        return product.lower() in ("rcu", "rcd") or _dispatchable(ctx, r)
    if rtype == "import":
        v = ctx.res.at[r, "fifteen_minute"] if "fifteen_minute" in ctx.res.columns else False
        return bool(v) and v == v
    return False


def mitigated_caps(ctx: Context) -> dict[tuple[str, str, int], float]:
    """(resource, product, hour) -> the mitigated price of `mpm_mitigations` (§5.12): a row of
    hour 0 (ir_rc, cap_all; or a run without the `hour` column) holds in every hour; product
    `energy` (lmpm's optional energy mitigation) caps the hour's supply segments."""
    mit = ctx.run.tables.get("mpm_mitigations")
    cap: dict[tuple[str, str, int], float] = {}
    if mit is None or not len(mit):
        return cap
    hours = mit["hour"].astype(int) if "hour" in mit.columns else pd.Series(0, index=mit.index)
    for r, p, h, v in zip(mit["resource"].astype(str), mit["product"].astype(str), hours,
                          mit["mitigated_price_usd_per_mwh"].astype(float)):
        for hh in (ctx.hours if h == 0 else [h]):
            cap[(r, p, hh)] = min(v, cap.get((r, p, hh), v))
    return cap


def _bids(ctx: Context) -> tuple[dict, dict]:
    """The bids in force in each hour (`Scenario.bids`: hourly bids override the day-constant
    ones): energy segments {resource: {"supply"/"demand": {hour: [(mw, price)]}}} and
    availability bids {(resource, product): {hour: (mw, price)}}, prices lowered to the
    mitigated price of `mpm_mitigations` (mitigation only lowers a price, §5.12; energy: the
    supply segments)."""
    book = ctx.s.bids
    cap = mitigated_caps(ctx)
    seg: dict[str, dict[str, dict[int, list]]] = {}
    for r, side in book.energy_sides():
        seg.setdefault(r, {})[side] = {
            h: [(mw, min(c, cap[(r, "energy", h)]) if side == "supply" and (r, "energy", h) in cap
                 else c) for mw, c in book.energy(r, side, h)] for h in ctx.hours}
    avail: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    for r, p in book.availability_keys():
        if r not in ctx.res.index or not may_provide(ctx, r, p):
            continue
        by_hour = {}
        for h in ctx.hours:
            b = book.availability(r, p, h)
            if b is not None:
                price = min(b.price_usd_per_mwh, cap[(r, p, h)]) if (r, p, h) in cap \
                    else b.price_usd_per_mwh
                by_hour[h] = (b.mw, price)
        avail[(r, p)] = by_hour
    return seg, avail


def _thermal_row(ctx: Context, r: str) -> pd.Series | None:
    return ctx.thermal.loc[r] if len(ctx.thermal) and r in ctx.thermal.index else None


def forced_above_bid_mw(ctx: Context, r: str, j: int, bid_mw: float) -> float:
    """MW of hour index `j` that resource `r` cannot avoid beyond its supply bid's `bid_mw`
    (docs/market-model.md §5.5 [A], a price taker): above Pmin for thermal units (self-schedule
    capped at Pmax_t; on-line before the day, initial_mw − 60·RR^dn·(j + 1)), else the
    self-schedule (capped at Pmax_t), a non-dispatchable VER's forecast, a hydro unit's Pmin."""
    rtype, h = ctx.rtype[r], ctx.hours[j]
    pmax = float(ctx.pmax.at[r, h])
    ss = float(ctx.ss.at[r, h])
    floor = min(ss, pmax) if not math.isnan(ss) and ss > 0 else 0.0
    if rtype == "thermal":
        th = _thermal_row(ctx, r)
        rr = finite(ctx.res.at[r, "ramp_down_mw_per_min"])
        if th is not None and bool(th["initial_on"]) and math.isfinite(rr):
            floor = max(floor, float(th["initial_mw"]) - 60.0 * rr * (j + 1))
        floor -= float(nan_to(ctx.res.at[r, "pmin_mw"], 0.0))
    elif rtype == "ver" and not _dispatchable(ctx, r):
        floor = pmax
    elif rtype == "hydro":
        floor = max(floor, min(float(nan_to(ctx.res.at[r, "pmin_mw"], 0.0)), pmax))
    elif rtype not in ("ver", "import"):
        return 0.0
    return floor - bid_mw if floor - bid_mw > 1e-9 else 0.0


def _dispatchable(ctx: Context, r: str) -> bool:
    """The VER's `dispatchable` flag (default true, scenario format)."""
    v = ctx.res.at[r, "dispatchable"] if "dispatchable" in ctx.res.columns else True
    return True if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v)


def _build(ctx: Context, r: str, lmp: pd.Series, baa_p: dict, res_p: dict, seg: dict,
           avail: dict, u: np.ndarray, su_sd: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
           ghg: dict | None = None):
    """The resource's profit LP (as a minimisation of −profit) and the published point as
    equality rows fixing its quantities. `su_sd` = (SU, SD, start-up/shut-down stack cap), thermal
    unit x hour (`Context.startup_shutdown_mw`, `startup_shutdown_cap`)."""
    p = ctx.p
    ghg = ghg or {}
    H = len(ctx.hours)
    rtype = ctx.rtype[r]
    baa = str(ctx.res.at[r, "baa"])
    pmin = float(nan_to(ctx.res.at[r, "pmin_mw"], 0.0)) if rtype == "thermal" else 0.0
    pmax = ctx.pmax.loc[r].to_numpy(float)
    rr_up = finite(ctx.res.at[r, "ramp_up_mw_per_min"])
    rr_dn = finite(ctx.res.at[r, "ramp_down_mw_per_min"])
    lp = _LP()
    S = ctx.sched
    g_rows: list[dict[int, float]] = []
    dis_vars: list[list[int]] = []
    ch_vars: list[list[int]] = []
    for j, h in enumerate(ctx.hours):
        on = u[j]
        price = float(lmp.get(h, 0.0))
        sup = seg.get(r, {}).get("supply", {}).get(h, [])  # the hour's curves
        dem = seg.get(r, {}).get("demand", {}).get(h, [])
        ds = [lp.var(c - price, 0.0, w * on) for w, c in sup]
        cs = [lp.var(price - b, 0.0, w * (on if rtype == "thermal" else 1.0)) for w, b in dem]
        dis_vars.append(ds)
        ch_vars.append(cs)
        g_rows.append(_add(_lin(ds), _lin(cs, -1.0)))  # g = Pmin·u + this
        forced = forced_above_bid_mw(ctx, r, j, sum(w for w, _ in sup)) * on if sup else 0.0
        if forced > 0:  # a price taker beyond the bid (docs/market-model.md §5.5 [A])
            g_rows[-1] = _add(g_rows[-1], {lp.var(-price, forced, forced): 1.0})
    aw: dict[str, list[int | None]] = {a: [None] * H for a in AS_PRODUCTS}
    for a in AS_PRODUCTS:
        if (r, a) not in avail:
            continue
        for j, h in enumerate(ctx.hours):
            mw, c = avail[(r, a)].get(h, (0.0, 0.0))  # the hour's bid (none: 0 MW)
            pr = res_p.get((r, a, h), baa_p.get((baa, a, h), 0.0)) if a in ("iru", "ird") \
                else baa_p.get((baa, a, h), 0.0)
            aw[a][j] = lp.var(c - pr, 0.0, mw)

    def a_(name, j, coef=1.0):
        v = aw[name][j]
        return {} if v is None else {v: coef}
    th = _thermal_row(ctx, r)
    fast = th is not None and bool(th.get("fast_start", False))
    nr_off = float(nan_to(th.get("nonspin_offline_mw"), 0.0)) if th is not None else 0.0
    for j in range(H):
        on = u[j]
        g = g_rows[j]
        up = _add(a_("ru", j), a_("sr", j), a_("nr", j), a_("iru", j))
        dn = _add(a_("rd", j), a_("ird", j))
        if rtype == "thermal" and on < 0.5:
            for a in ("ru", "sr", "iru", "rd", "ird"):
                lp.le(a_(a, j), 0.0)
            lp.le(a_("nr", j), nr_off if fast else 0.0)
        elif rtype == "storage":
            pch = float(ctx.storage.at[r, "charge_max_mw"])
            lp.le(_lin(dis_vars[j]), pmax[j])
            lp.le(_lin(ch_vars[j]), pch)
            lp.le(_add(g, up), pmax[j])
            lp.ge(_add(g, {k: -v for k, v in dn.items()}), -pch)
        elif rtype in DEMAND_TYPES:
            lp.le(_lin(ch_vars[j]), pmax[j])
        else:
            hi = pmax[j] * on - pmin * on
            lp.le(g, hi)
            lp.le(_add(g, up), hi)
            lp.ge(_add(g, {k: -v for k, v in dn.items()}), 0.0)
            if rtype == "thermal":  # p + up ≤ SU (start-up hour) / SD (before a shut-down)
                lp.le(_add(g, up), float(su_sd[2].at[r, ctx.hours[j]]) - pmin * on)
        # reserve ramp limits (§5.6, §5.8)
        lp.le(_add(a_("ru", j), a_("sr", j), a_("nr", j)), p.as_ramp_minutes * rr_up)
        lp.le(a_("rd", j), p.as_ramp_minutes * rr_dn)
        lp.le(a_("iru", j), p.ir_ramp_minutes * rr_up * on)
        lp.le(a_("ird", j), p.ir_ramp_minutes * rr_dn * on)
        lp.le(_add(a_("ru", j), a_("sr", j), a_("nr", j), a_("iru", j)),
              p.ir_as_ramp_minutes * rr_up)
        lp.le(_add(a_("rd", j), a_("ird", j)), p.ir_as_ramp_minutes * rr_dn)
        ss = ctx.ss.at[r, ctx.hours[j]]
        if not math.isnan(ss) and rtype in ("thermal", "hydro", "ver", "import", "storage"):
            lp.ge(g, min(ss, pmax[j]) - pmin * on)
        if rtype == "ver" and not _dispatchable(ctx, r):
            lp.ge(g, pmax[j])  # fixed at its forecast (docs/market-model.md §5.5 [A])
    if rtype == "thermal":
        on0 = bool(th["initial_on"]) if th is not None else False
        p0 = float(th["initial_mw"]) if (th is not None and on0) else 0.0
        su = su_sd[0].loc[r].to_numpy(float)
        sd = su_sd[1].loc[r].to_numpy(float)
        prev_g, prev_c, prev_u = {}, p0, float(on0)
        for j in range(H):
            v, w = max(0.0, u[j] - prev_u), max(0.0, prev_u - u[j])
            d = _add(g_rows[j], {k: -c for k, c in prev_g.items()})
            const = pmin * u[j] - prev_c
            ramp_up = d
            if getattr(p, "as_in_hourly_ramp", False) and u[j] > 0.5:
                ramp_up = _add(d, a_("ru", j), a_("sr", j), a_("nr", j))
            lp.le(ramp_up, 60 * rr_up * prev_u + su[j] * v - const)
            lp.ge(d, -(60 * rr_dn * u[j] + sd[j] * w) - const)
            prev_g, prev_c, prev_u = g_rows[j], pmin * u[j], u[j]
    elif rtype == "hydro":
        for j in range(1, H):
            d = _add(g_rows[j], {k: -c for k, c in g_rows[j - 1].items()})
            lp.le(d, 60 * rr_up)
            lp.ge(d, -60 * rr_dn)
        if len(ctx.hydro) and r in ctx.hydro.index:
            lp.le(_add(*g_rows), float(ctx.hydro.at[r, "daily_energy_mwh"]))
    elif rtype == "storage":
        _storage_rows(ctx, r, lp, dis_vars, ch_vars, aw)
    # GHG attribution (§5.13): e ≤ min(bid, headroom), Σ e ≤ g, earning μ − γ per MW
    ghg_fixed = []
    for j, h in enumerate(ctx.hours):
        terms = ghg.get((r, h), [])
        if not terms:
            continue
        es = [lp.var(c - m_, 0.0, cap) for m_, c, cap, _ in terms]
        lp.le(_add(_lin(es), {k: -v for k, v in g_rows[j].items()}), pmin * u[j])
        ghg_fixed += [({v: 1.0}, pub) for v, (_, _, _, pub) in zip(es, terms)]
    # the published point
    fixed = list(ghg_fixed)
    e = S["energy_mw"].loc[r].to_numpy(float)
    for j in range(H):
        if rtype == "storage":
            if "charge_mw" in S and "discharge_mw" in S:
                dis, ch = S["discharge_mw"].at[r, ctx.hours[j]], S["charge_mw"].at[r, ctx.hours[j]]
            else:
                dis, ch = max(e[j], 0.0), max(-e[j], 0.0)
            fixed += [(_lin(dis_vars[j]), float(dis)), (_lin(ch_vars[j]), float(ch))]
        else:
            fixed.append((g_rows[j], float(e[j]) - pmin * u[j]))
        for a in AS_PRODUCTS:
            got = float(S[SCHEDULE_COLUMN[a]].at[r, ctx.hours[j]])
            if aw[a][j] is not None:
                fixed.append(({aw[a][j]: 1.0}, got))
            elif abs(got) > ctx.tol:
                return None  # an award without a bid (award_bid reports it)
    return lp, fixed


def _storage_rows(ctx: Context, r: str, lp: _LP, dis_vars, ch_vars, aw) -> None:
    """SOC, envelope and AS-sustain rows of §5.10 on cumulative sums."""
    st = ctx.storage.loc[r]
    p = ctx.p
    eta_c, eta_d = float(st["charge_efficiency"]), float(st["discharge_efficiency"])
    lo, hi = float(st["soc_min_mwh"]), float(st["soc_max_mwh"])
    e0 = float(st["soc_initial_mwh"])
    mu_u, mu_d = float(p.storage_envelope_multiplier_up), float(p.storage_envelope_multiplier_down)
    h_as = float(getattr(p, "storage_as_sustain_hours", 0.0))
    soc: dict[int, float] = {}
    env_lo: dict[int, float] = {}
    env_hi: dict[int, float] = {}
    for j in range(len(ctx.hours)):
        prev = dict(soc)
        up_as = _add(*({aw[a][j]: 1.0} for a in ("ru", "sr", "nr") if aw[a][j] is not None))
        rd = {aw["rd"][j]: 1.0} if aw["rd"][j] is not None else {}
        lp.ge(_add(prev, {k: -h_as * v / eta_d for k, v in up_as.items()}), lo - e0)
        lp.le(_add(prev, {k: h_as * eta_c * v for k, v in rd.items()}), hi - e0)
        step = _add(_lin(ch_vars[j], eta_c), _lin(dis_vars[j], -1.0 / eta_d))
        soc = _add(soc, step)
        iru = {aw["iru"][j]: 1.0} if aw["iru"][j] is not None else {}
        ird = {aw["ird"][j]: 1.0} if aw["ird"][j] is not None else {}
        env_lo = _add(env_lo, step, {k: -mu_u * v / eta_d for k, v in iru.items()})
        env_hi = _add(env_hi, step, {k: mu_d * eta_c * v for k, v in ird.items()})
        lp.ge(soc, lo - e0)
        lp.le(soc, hi - e0)
        lp.ge(env_lo, lo - e0)
        lp.le(env_hi, hi - e0)
    end = float(st["soc_end_min_mwh"])
    if not math.isnan(end):
        lp.ge(soc, end - e0)


def check_profit(ctx: Context) -> None:
    """Flag every resource whose profit at the published prices could rise by more than
    max($0.01, 1e-6 × its day's gross value) within its own bids and limits."""
    if not ctx.need("profit", "schedules", "nodal_prices"):
        return
    lmp, baa_p, res_p = _prices(ctx)
    if lmp is None:
        ctx.skipped.append("profit: nodal_prices has no lmp")
        return
    seg, avail = _bids(ctx)
    u = ctx.commitment()
    su, sd = ctx.startup_shutdown_mw()
    su_sd = (su, sd, ctx.startup_shutdown_cap(u))
    skipped: list[str] = []
    best: dict[str, float] = {}
    ctx.cache["profit"] = best
    tie_offset = tie_price_offsets(ctx)  # imports/exports on a binding tie (§5.5)
    ghg_terms = profit_terms(ctx)        # GHG attribution (§5.13)
    for r in ctx.res.index:
        rtype = ctx.rtype[r]
        bus = str(ctx.res.at[r, "bus"])
        if r not in seg:
            skipped.append(f"{r} (no energy bids)")
            continue
        if rtype == "storage" and (bool(ctx.p.storage_mode_binary) or r not in ctx.storage.index):
            skipped.append(f"{r} (storage mode binary not published)")
            continue
        if bus not in lmp.index:
            skipped.append(f"{r} (no LMP at bus {bus})")
            continue
        price = lmp.loc[bus] + tie_offset[r].reindex(lmp.columns).fillna(0.0) \
            if r in tie_offset else lmp.loc[bus]
        built = _build(ctx, r, price, baa_p, res_p, seg, avail, u.loc[r].to_numpy(float), su_sd,
                       ghg_terms)
        if built is None:
            continue
        lp, fixed = built
        free, pub = lp.solve(), lp.solve(fixed)
        if free.status != 0 or pub.status != 0:
            if pub.status == 2:
                continue  # the published schedule breaks the resource's own limits (other rules)
            skipped.append(f"{r} (profit LP status {free.status}/{pub.status})")
            continue
        best[r] = -float(free.fun)
        _flag_gain(ctx, r, lp, free, pub, lambda best_, got, gain: (
            f"at the published prices the resource could earn {best_:.6g} $ within its bids "
            f"and limits but its schedule earns {got:.6g} $ (gain {gain:.6g} $): the prices "
            "do not support the schedule"))
    if skipped:
        ctx.skipped.append("profit: " + ", ".join(skipped))
    ctx.cache["profit_complete"] = not skipped


def _flag_gain(ctx: Context, r: str, lp, free, pub, message) -> None:
    """Flag resource r when its best profit at the published prices (the `free` LP) beats the
    profit of its published schedule (`pub`, the same LP fixed at it) by more than 1 cent or a
    millionth of the schedule's gross; `message(best, got, gain)` in $."""
    gain = float(pub.fun - free.fun)
    scale = float(np.abs(np.array(lp.cost) * pub.x).sum())
    if gain > max(0.01, 1e-6 * scale):
        ctx.add("profit", "schedules", "resource", r, None, -float(free.fun), -float(pub.fun),
                message(-free.fun, -pub.fun, gain))


def startup_cost_usd(ctx: Context, r: str, u: np.ndarray) -> float:
    """Σ start-up costs of thermal unit r under commitment u: at each start, the cost of the
    coldest tier whose `after_offline_h` the off-line spell reached (`startup_costs`; tier 1 when
    the spell is shorter than all of them; a unit off h0 hours by the end of hour 0 has been off
    h0 + t − 1 hours at a start in hour t), else `thermal.startup_cost_usd` (§4.1)."""
    th = _thermal_row(ctx, r)
    if th is None:
        return 0.0
    tiers = ctx.s.tables.get("startup_costs")
    mine = [] if tiers is None else sorted(
        (int(a), float(c)) for rr, a, c in zip(tiers["resource"].astype(str),
                                               tiers["after_offline_h"], tiers["cost_usd"])
        if rr == r)
    on, off_h = bool(th["initial_on"]), 0 if bool(th["initial_on"]) else int(th["initial_hours"])
    total = 0.0
    for x in u:
        now = x > 0.5
        if now and not on:
            # with tiers, a spell shorter than tier 1's after_offline_h starts at tier 1 (hottest)
            cost = mine[0][1] if mine else float(nan_to(th.get("startup_cost_usd"), 0.0))
            for after, c in mine:
                if off_h >= after:
                    cost = c
            total += cost
        off_h = 0 if now else off_h + 1
        on = now
    return total


def check_dual_objective(ctx: Context) -> None:
    """LP duality at fixed commitment (§6): the pricing LP's objective (manifest
    `solver.objective_lp`) equals the dual objective rebuilt from the published prices and the
    scenario's right-hand sides,
        Σ_t [ Σ_n LMP_n·D^fix_n + Σ_b π_b·(base exports − imports)_b − Σ_l shadow_l·F_l (base and
        deployment rows, `binding_constraints`) − Σ_k ν_k·(X^max_k − X^base_k + X^base_k̄)
        − Σ_k β_k·X^max_k − Σ_b λ_b·NEC_b − Σ_tie μ·TL (tie rows, §5.5)
        + Σ_b Σ_g σ_g·cumulative AS requirement_g
        + Σ_b Σ_q w_q·min(0, ρ_b − p_q) ]
      − Σ_i (best profit_i at the prices + Σ_t LMP·Pmin·u_t − MLC·u_t) + start-up costs,
    the per-resource best profits coming from the `profit` LPs. Needs every resource covered by
    the profit LPs, the default one-segment IR curves and no GHG area."""
    obj = ((ctx.run.manifest or {}).get("solver") or {}).get("objective_lp")
    if obj is None:
        ctx.skipped.append("dual_objective: the manifest records no solver.objective_lp")
        return
    if not ctx.cache.get("profit_complete"):
        ctx.skipped.append("dual_objective: the profit LPs did not cover every resource")
        return
    curves = ctx.s.tables.get("ir_demand_curves")
    if curves is not None and len(curves):
        ctx.skipped.append("dual_objective: ir_demand_curves not rebuilt")
        return
    s, p = ctx.s, ctx.p
    need = [t for t in ("nodal_prices", "product_prices") if t not in ctx.run.tables]
    from clearing.analysis.check.prices import baa_price
    pi = baa_price(ctx)
    if need or pi is None:
        ctx.skipped.append("dual_objective: needs nodal_prices, product_prices and BAA prices")
        return
    lmp, baa_p, _ = _prices(ctx)
    terms: dict[str, float] = {}
    # fixed demand at its LMP
    d = s.demand
    terms["demand"] = float(sum(float(lmp.at[str(b), int(h)]) * float(v) for b, h, v in
                                zip(d["bus"], d["hour"], d["fixed_demand_mw"])))
    # base transfers at the BAA prices (rhs of §5.1)
    ih = s.interface_hours
    itf = s.interfaces.assign(interface=s.interfaces["interface"].astype(str)).set_index(
        "interface")
    base = 0.0
    for k, h, x in zip(ih["interface"].astype(str), ih["hour"].astype(int),
                       ih["base_transfer_mw"].astype(float).fillna(0.0)):
        o, e = str(itf.at[k, "from_baa"]), str(itf.at[k, "to_baa"])
        base += x * (float(pi.get((o, h), 0.0)) - float(pi.get((e, h), 0.0)))
    terms["base_transfers"] = base
    if ctx.has_losses():
        terms["losses"] = _loss_dual_terms(ctx, pi)
    # network, deployment and NEC rows (binding_constraints), ETSR rows (transfers)
    bc = ctx.run.tables.get("binding_constraints")
    net = 0.0
    if bc is not None and len(bc):
        for kind, sp, lim in zip(bc["kind"].astype(str), bc["shadow_price"].astype(float),
                                 bc["limit_mw"].astype(float)):
            if kind.startswith("branch_") and kind != "branch_ruc":
                net -= sp * lim
            elif kind in ("nec", "tie_import", "tie_export"):
                net -= sp * lim
    terms["network_nec"] = net
    tr = ctx.transfers("transfers")
    etsr = 0.0
    if tr is not None and len(tr) and {"etsr_dual", "gross_bound_dual"} <= set(tr.columns):
        from clearing.analysis.check.flows import etsr_rows
        if any(k is None for _, _, _, k, _ in etsr_rows(ctx)):
            ctx.skipped.append("dual_objective: undeclared ETSR directions (their duals are not "
                               "published)")
            return
        bmw = ih.assign(interface=ih["interface"].astype(str)).set_index(
            ["interface", "hour"])["base_transfer_mw"].astype(float).fillna(0.0)
        rev = {k: kb for _, _, _, k, kb in etsr_rows(ctx)}
        for k, h, nu, beta, lim in zip(tr["interface"], tr["hour"], tr["etsr_dual"].astype(float),
                                       tr["gross_bound_dual"].astype(float),
                                       tr["limit_mw"].astype(float)):
            kb = rev.get(k)
            base_kb = float(bmw.get((kb, h), 0.0)) if kb else 0.0
            rhs = lim - (float(bmw.get((k, h), 0.0)) - base_kb)
            etsr -= nu * rhs + beta * lim
    elif tr is not None and len(tr):
        ctx.skipped.append("dual_objective: transfers has no etsr_dual/gross_bound_dual")
        return
    terms["etsr"] = etsr
    # AS (cumulative requirements, §6.2) and the IR demand curve (one segment at the cap)
    bh = s.baa_hours
    cap = float(p.ir_demand_curve_cap_usd_per_mwh)
    res_terms = 0.0
    for rec in bh.to_dict("records"):
        b, h = str(rec["baa"]), int(rec["hour"])
        asmp = {a: baa_p.get((b, a, h), 0.0) for a in ("ru", "sr", "nr", "rd")}
        req = {a: float(nan_to(rec.get(f"{a}_requirement_mw"), 0.0)) for a in asmp}
        res_terms += asmp["ru"] * req["ru"] + asmp["sr"] * req["sr"] + asmp["nr"] * req["nr"] \
            + asmp["rd"] * req["rd"]  # Σ_g σ_g·cum req_g regrouped by product
        for prod in ("iru", "ird"):
            w = float(nan_to(rec.get(f"{prod}_requirement_mw"), 0.0))
            res_terms += w * min(0.0, baa_p.get((b, prod, h), 0.0) - cap)
    terms["reserves"] = res_terms
    # resources: −best profit − LMP·Pmin·u + MLC·u + start-up costs
    u = ctx.commitment()
    rsum = -sum(ctx.cache["profit"].values())
    for r in ctx.by_type("thermal"):
        uu = u.loc[r].to_numpy(float)
        bus = str(ctx.res.at[r, "bus"])
        pmin = float(nan_to(ctx.res.at[r, "pmin_mw"], 0.0))
        th = _thermal_row(ctx, r)
        mlc = float(nan_to(th.get("min_load_cost_usd_per_h"), 0.0)) if th is not None else 0.0
        prices = lmp.loc[bus].reindex(ctx.hours).fillna(0.0).to_numpy(float)
        rsum += float(((mlc - prices * pmin) * uu).sum()) + startup_cost_usd(ctx, r, uu)
    terms["resources"] = rsum
    dual = sum(terms.values())
    obj = float(obj)
    if abs(dual - obj) > max(1.0, 1e-6 * abs(obj)):
        parts = ", ".join(f"{k} {v:.6g}" for k, v in terms.items())
        ctx.add("dual_objective", "manifest", "footprint", "all", None, dual, obj,
                f"dual objective rebuilt from the prices {dual:.8g} ≠ the pricing LP objective "
                f"{obj:.8g} (off by {dual - obj:.6g}; {parts})")


def _loss_dual_terms(ctx: Context, pi) -> float:
    """The marginal-loss terms of the dual objective (docs/market-model.md, Marginal losses).
    The IFM's loss rows are the flow rows f_l − PTDF·(G − D − W) = 0 (duals φ_l), the BAA losses
    L_b = Σ share ℓ and the tangents ℓ ≥ s_c f − q_c (duals λ_c). By complementary slackness
    and stationarity of ℓ, f and L_b, Σ_c λ_c (−q_c) + Σ_l φ_l (−PTDF·D)_l equals, with the
    published loss component loss_n = −Σ_l φ_l PTDF_ln and W_n = LDF_n·loss_withdrawn_mw_b(n):
        Σ_b π_b·loss_mw_b + Σ_r loss_{n(r)}·g_r − Σ_n loss_n·D^fix_n
        + Σ_n (LMP_n − π_b(n) − loss_n)·W_n,
    and the demand term Σ_n LMP_n·D_n of the rule already holds Σ_n loss_n·D_n, taken out by
    the third term."""
    npx = ctx.run.tables["nodal_prices"]
    npx = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int)).set_index(
        ["bus", "hour"])
    loss = npx["loss"].astype(float)
    lmp = npx["lmp"].astype(float)
    lm = ctx.losses("loss_mw")
    total = sum(float(pi.get((b, h), 0.0)) * float(lm.at[b, h])
                for b in lm.index for h in lm.columns)
    E = ctx.sched["energy_mw"]
    bus = ctx.res["bus"].astype(str)
    for r in E.index:
        for h in ctx.hours:
            total += float(loss.get((bus[r], h), 0.0)) * float(E.at[r, h])
    d = ctx.s.demand
    total -= float(sum(float(loss.get((str(b), int(h)), 0.0)) * float(v)
                       for b, h, v in zip(d["bus"], d["hour"], d["fixed_demand_mw"])))
    buses = sorted(set(npx.index.get_level_values(0)))
    W = ctx.slack_by_bus(ctx.losses("loss_withdrawn_mw"), buses)
    bus_baa = {str(k): str(v) for k, v in ctx.s.bus_baa.items()}
    for n in buses:
        for h in ctx.hours:
            w = float(W.at[n, h])
            if w:
                net = (float(lmp.get((n, h), 0.0)) - float(pi.get((bus_baa[n], h), 0.0))
                       - float(loss.get((n, h), 0.0)))
                total += net * w
    return total


def _rc_build(ctx: Context, r: str, avail: dict, rp: dict, u: np.ndarray, ur: np.ndarray,
              blocked: set = frozenset()):
    """The resource's RUC profit LP over RCU/RCD (§5.11, §4.2) at RCUMP/RCDMP with the IFM
    schedule, AS and IR awards fixed, and the published point; (r, product, hour) in `blocked`
    held at 0 MW (a mode binary fixed the other way)."""
    S = ctx.sched
    rtype = ctx.rtype[r]
    hours = ctx.hours
    lp = _LP()
    rcu: list[int | None] = [None] * len(hours)
    rcd: list[int | None] = [None] * len(hours)
    for prod, store, sign in (("rcu", rcu, 1.0), ("rcd", rcd, -1.0)):
        if (r, prod) not in avail:
            continue
        for j, h in enumerate(hours):
            mw, c = avail[(r, prod)].get(h, (0.0, 0.0))  # the hour's bid (none: 0 MW)
            store[j] = lp.var(c - rp.get((r, prod, h), 0.0), 0.0,
                              0.0 if (r, prod, h) in blocked else mw)
    if all(v is None for v in rcu + rcd):
        return None
    pmin = float(nan_to(ctx.res.at[r, "pmin_mw"], 0.0)) if rtype == "thermal" else 0.0
    pmax = ctx.pmax.loc[r].to_numpy(float)
    rr_up = finite(ctx.res.at[r, "ramp_up_mw_per_min"])
    rr_dn = finite(ctx.res.at[r, "ramp_down_mw_per_min"])
    th = _thermal_row(ctx, r)
    nr_off_mw = float(nan_to(th.get("nonspin_offline_mw"), 0.0)) \
        if th is not None and bool(th.get("fast_start", False)) else 0.0
    fixed = []
    for j, h in enumerate(hours):
        g = float(S["energy_mw"].at[r, h])
        up = float((S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"] + S["iru_mw"]).at[r, h])
        dn = float((S["reg_down_mw"] + S["ird_mw"]).at[r, h])
        rc = _add({} if rcu[j] is None else {rcu[j]: 1.0}, {} if rcd[j] is None else {rcd[j]: -1.0})
        if rtype == "thermal":
            off = nr_off_mw if u[j] < 0.5 else 0.0
            lp.le(rc, (pmax[j] - min(off, up)) * ur[j] - g - up)
            lp.ge(rc, pmin * ur[j] - g + dn)
        elif rtype == "storage":
            lp.le(rc, pmax[j] - g - up)
            lp.ge(rc, -float(ctx.storage.at[r, "charge_max_mw"]) - g + dn)
        else:
            lp.le(rc, pmax[j] - g - up)
            lp.ge(rc, -g + dn)
        if rcu[j] is not None:
            extra = pmin * (ur[j] - u[j]) if rtype == "thermal" else 0.0
            lp.le({rcu[j]: 1.0}, 60 * rr_up + extra)
            fixed.append(({rcu[j]: 1.0}, float(S["rcu_mw"].at[r, h])))
        if rcd[j] is not None:
            lp.le({rcd[j]: 1.0}, 60 * rr_dn)
            fixed.append(({rcd[j]: 1.0}, float(S["rcd_mw"].at[r, h])))
    if rtype == "storage" and r in ctx.storage.index and "soc_mwh" in S:
        st = ctx.storage.loc[r]
        ec, ed = float(st["charge_efficiency"]), float(st["discharge_efficiency"])
        shift: dict[int, float] = {}
        for j, h in enumerate(hours):
            shift = _add(shift, {} if rcu[j] is None else {rcu[j]: -1.0 / ed},
                         {} if rcd[j] is None else {rcd[j]: ec})
            e = float(S["soc_mwh"].at[r, h])
            lp.ge(shift, float(st["soc_min_mwh"]) - e)
            lp.le(shift, float(st["soc_max_mwh"]) - e)
    return lp, fixed


def check_rc_profit(ctx: Context) -> None:
    """RUC side of `profit` (§5.11, §6.4): at RCUMP = −RCDMP = the RUC price at the bus
    (π^R_b − Σ PTDF·μR, from `baa_prices.ruc_price` and the `branch_ruc` rows of
    `binding_constraints`, as `reserve_price` checks the published ones) and the RUC commitment, no resource could raise its RC profit Σ (RCUMP − c^RCU)·RCU + (RCDMP − c^RCD)·RCD
    within its RC bids, RUC capacity stacks (IFM schedule, AS and IR fixed), RC ramp limits and
    (storage) the RUC SOC shift of the IFM SOC. Exclusivity (one of RCU/RCD) is relaxed."""
    if ctx.sched is None or not ctx.ruc_ran():
        return
    from clearing.analysis.check.prices import _ruc_price_at_buses
    price = _ruc_price_at_buses(ctx)
    if price is None:
        ctx.skipped.append("profit (RC): needs baa_prices.ruc_price and binding_constraints")
        return
    bus_of = ctx.res["bus"].astype(str)
    baa_of = ctx.res["baa"].astype(str)
    # with the RCU/RCD mode binaries (rc_exclusivity_binary) the pricing LP fixes each mode, so
    # in a BAA-hour with no RC award and no RUC relaxation the RUC balance is dual degenerate
    # (any value in [−P^R−, P^R+]; §6.4 publishes RC prices of 0 there) and a resource whose
    # mode was fixed the other way cannot take it: priced at 0 there
    from clearing.analysis.check.prices import _rc_award_baa_hours
    priced = _rc_award_baa_hours(ctx) | {
        (str(b), int(h)) for side in ("under", "over")
        for (b, h), v in ctx.relaxed("ruc", side).items() if v > ctx.tol}
    modes = bool(getattr(ctx.p, "rc_exclusivity_binary", False))
    tie = tie_price_offsets(ctx, ruc=True)  # RC of imports on a binding RUC tie row (§5.5)
    _, avail = _bids(ctx)
    # the same for a resource-hour with a mode binary (RCU and RCD both bid) and neither award:
    # its mode is fixed one way or the other in the pricing LP and the rows it blocks share the
    # dual with whatever else holds the award at 0 (random markets, issue 16: an import held at
    # 0 RCU by a binding RUC tie row whose dual went to the fixed mode's row, so the published
    # tie price was 0 and the RUC price of $1,000 looked unearned)
    # (a resource-hour holding one of the two has its mode fixed to it: the other is blocked);
    # a blocked product is held at 0 MW in the LP, not priced at 0, or RCU + RCD together would
    # trade the price difference with no net schedule (the LP relaxes the exclusivity)
    blocked = set()
    if modes and ctx.sched is not None:
        for (r, h) in ((r, h) for r in ctx.res.index for h in ctx.hours):
            bids = [avail.get((r, p), {}).get(h, (0.0, 0.0))[0] for p in ("rcu", "rcd")]
            held = {p: abs(float(ctx.sched[f"{p}_mw"].at[r, h])) > ctx.tol
                    for p in ("rcu", "rcd")}
            if min(bids) > 0:
                blocked |= {(r, p, h) for p in ("rcu", "rcd") if not held[p]}
    rp = {(r, prod, h): sign * (price.get((bus_of[r], h), 0.0)
                                + (float(tie[r].get(h, 0.0)) if r in tie else 0.0))
          if not modes or (baa_of[r], h) in priced else 0.0
          for r in ctx.res.index for prod, sign in (("rcu", 1.0), ("rcd", -1.0))
          for h in ctx.hours}
    u = ctx.commitment()
    ur = ctx.ruc_commitment(u)
    for r in ctx.res.index:
        if ctx.rtype[r] not in ("thermal", "ver", "storage", "hydro", "import"):
            continue
        built = _rc_build(ctx, r, avail, rp, u.loc[r].to_numpy(float), ur.loc[r].to_numpy(float),
                          blocked)
        if built is None:
            continue
        lp, fixed = built
        free, pub = lp.solve(), lp.solve(fixed)
        if free.status != 0 or pub.status != 0:
            continue  # an infeasible published point breaks other rules
        _flag_gain(ctx, r, lp, free, pub, lambda best_, got, gain: (
            f"RC: at the published RCUMP/RCDMP the resource could earn {best_:.6g} $ within "
            f"its RC bids and RUC limits but its RC awards earn {got:.6g} $ (gain {gain:.6g} $)"))
