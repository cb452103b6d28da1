"""IRU/IRD model component (spec §5.7–5.10) and prices (spec §6.3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from network.ptdf import ldf_ptdf
from network.transmission import deployment_shadows
from products.ancillary_services import eligible

FIVE_MINUTE_RAMP = 5.0   # minutes: IRU5 / IRD5 = min(award, 5·RR) [D, spec §8.1]


def add_to_model(b: ModelBundle) -> list:
    """IR awards, demand curves, requirement rows, ramp limits and storage envelopes."""
    m, d, T = b.m, b.d, b.T
    p = d.params
    res_c = d.cells("resources")
    awards = {}
    for prod in ("iru", "ird"):
        rs = [r for r in d.bids_product(prod) if eligible(d, r)]
        awards[prod] = [(r, t) for r in rs for t in T]
    m.IRU_IDX = pyo.Set(initialize=awards["iru"], dimen=2, ordered=True)
    m.IRD_IDX = pyo.Set(initialize=awards["ird"], dimen=2, ordered=True)
    m.iru = pyo.Var(m.IRU_IDX, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, t: (0, d.avail_mw(r, "iru", t)))
    m.ird = pyo.Var(m.IRD_IDX, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, t: (0, d.avail_mw(r, "ird", t)))
    for (r, t) in awards["iru"]:
        b.up_reserve[(r, t)].append(m.iru[r, t])
        b.ir_credit_up[(res_c.at[r, "baa"], t)].append(m.iru[r, t])
    for (r, t) in awards["ird"]:
        b.down_reserve[(r, t)].append(m.ird[r, t])
        b.ir_credit_down[(res_c.at[r, "baa"], t)].append(m.ird[r, t])

    # ramp-capability limits (spec §5.8 [A])
    t1, t2 = p.ir_ramp_minutes, p.ir_as_ramp_minutes
    G = set(d.of_type("thermal"))

    def ramp_iru(_m, r, t):
        rr = d.ramp_up(r)
        if not math.isfinite(rr):
            return pyo.Constraint.Skip
        return _m.iru[r, t] <= t1 * rr * (_m.u[r, t] if r in G else 1)

    def ramp_ird(_m, r, t):
        rr = d.ramp_down(r)
        if not math.isfinite(rr):
            return pyo.Constraint.Skip
        return _m.ird[r, t] <= t1 * rr * (_m.u[r, t] if r in G else 1)
    m.ir_ramp_up = pyo.Constraint(m.IRU_IDX, rule=ramp_iru)
    m.ir_ramp_down = pyo.Constraint(m.IRD_IDX, rule=ramp_ird)

    # the joint AS + IR rows hold every resource with an AS award, IR bid or not (§5.8: with no
    # IR bid they read RU + SR + NR <= T^IR2 RR^up, which binds when the AS ramp time is longer)
    def joint_up(_m, r, t):
        rr = d.ramp_up(r)
        if not math.isfinite(t2 * rr) or not b.as_up.get((r, t)):  # .inf T^IR2: no joint row
            return pyo.Constraint.Skip
        ir = _m.iru[r, t] if (r, t) in _m.IRU_IDX else 0
        return sum(b.as_up[(r, t)]) + ir <= t2 * rr

    def joint_dn(_m, r, t):
        rr = d.ramp_down(r)
        if not math.isfinite(t2 * rr) or not b.as_down.get((r, t)):
            return pyo.Constraint.Skip
        ir = _m.ird[r, t] if (r, t) in _m.IRD_IDX else 0
        return sum(b.as_down[(r, t)]) + ir <= t2 * rr
    joint = {"up": sorted(set(awards["iru"]) | {k for k, v in b.as_up.items() if v}),
             "dn": sorted(set(awards["ird"]) | {k for k, v in b.as_down.items() if v})}
    m.IR_AS_UP_IDX = pyo.Set(initialize=joint["up"], dimen=2, ordered=True)
    m.IR_AS_DN_IDX = pyo.Set(initialize=joint["dn"], dimen=2, ordered=True)
    m.ir_as_ramp_up = pyo.Constraint(m.IR_AS_UP_IDX, rule=joint_up)
    m.ir_as_ramp_down = pyo.Constraint(m.IR_AS_DN_IDX, rule=joint_dn)

    # demand curves and requirement rows (spec §5.7)
    seg = [(a, prod, t, q) for a in d.baas for prod in ("iru", "ird") for t in T
           for q in range(1, len(d.ir_curves.get((a, prod, t), [])) + 1)]
    m.IR_SEG = pyo.Set(initialize=seg, dimen=4, ordered=True)
    m.ir_q = pyo.Var(m.IR_SEG, within=pyo.NonNegativeReals,
                     bounds=lambda _m, a, prod, t, q: (0, d.ir_curves[(a, prod, t)][q - 1][0]))
    # CU_b ≥ QU_b for EVERY BAA-hour (§5.7): with no requirement QU_b = 0 and the row CU_b ≥ 0
    # keeps a BAA from sending IR it does not hold (rows without any credit term are left out)
    rows = [(a, prod, t) for a in d.baas for prod in ("iru", "ird") for t in T
            if d.ir_curves.get((a, prod, t))
            or (b.ir_credit_up if prod == "iru" else b.ir_credit_down).get((a, t))]
    m.IR_REQ = pyo.Set(initialize=rows, dimen=3, ordered=True)

    def req(_m, a, prod, t):
        credit = b.ir_credit_up if prod == "iru" else b.ir_credit_down
        n = len(d.ir_curves.get((a, prod, t), []))
        return sum(credit.get((a, t), [])) - sum(_m.ir_q[a, prod, t, q] for q in range(1, n + 1)) >= 0
    m.ir_requirement = pyo.Constraint(m.IR_REQ, rule=req)
    cost = sum(d.avail_price(r, "iru", t) * m.iru[r, t] for (r, t) in awards["iru"]) \
        + sum(d.avail_price(r, "ird", t) * m.ird[r, t] for (r, t) in awards["ird"]) \
        - sum(d.ir_curves[(a, prod, t)][q - 1][1] * m.ir_q[a, prod, t, q] for (a, prod, t, q) in seg)
    b.costs.append(cost)
    _add_storage_envelopes(b)
    return [cost]


def _add_storage_envelopes(b: ModelBundle) -> None:
    """Lower/upper SOC envelopes reserving μU·IRU and μD·IRD cumulatively (spec §5.10)."""
    m, d, T = b.m, b.d, b.T
    p = d.params
    st = d.storage
    S_up = sorted({r for (r, t) in m.IRU_IDX if d.resources.at[r, "type"] == "storage"})
    S_dn = sorted({r for (r, t) in m.IRD_IDX if d.resources.at[r, "type"] == "storage"})
    mu_u, mu_d = p.storage_envelope_multiplier_up, p.storage_envelope_multiplier_down

    def lower(_m, r, t):
        ec, ed = float(st.at[r, "charge_efficiency"]), float(st.at[r, "discharge_efficiency"])
        e0 = float(st.at[r, "soc_initial_mwh"])
        expr = e0 + sum(ec * _m.ch[r, k] - _m.dis[r, k] / ed - mu_u * _m.iru[r, k] / ed
                        for k in T if k <= t)
        return expr >= float(st.at[r, "soc_min_mwh"])

    def upper(_m, r, t):
        ec, ed = float(st.at[r, "charge_efficiency"]), float(st.at[r, "discharge_efficiency"])
        e0 = float(st.at[r, "soc_initial_mwh"])
        expr = e0 + sum(ec * _m.ch[r, k] - _m.dis[r, k] / ed + mu_d * ec * _m.ird[r, k]
                        for k in T if k <= t)
        return expr <= float(st.at[r, "soc_max_mwh"])
    m.envelope_lower = pyo.Constraint(
        pyo.Set(initialize=[(r, t) for r in S_up for t in T], dimen=2, ordered=True), rule=lower)
    m.envelope_upper = pyo.Constraint(
        pyo.Set(initialize=[(r, t) for r in S_dn for t in T], dimen=2, ordered=True), rule=upper)


def ir_prices(d, rho: dict, eta_dep: dict, ptdf, ldf_ptdf) -> tuple[dict, dict]:
    """IRURMP/IRDRMP = ρ (per baa, product, hour) and IRUMP_i/IRDMP_i (spec §6.3).

    `eta_dep[(branch, 'up'|'down', t)]` = ησ+ − ησ− (positive convention). Returns
    (requirement prices {(baa, prod, t): $}, resource prices {(resource, prod, t): $})."""
    delta = d.params.ir_deployed_proportion
    req = {}
    for a in d.baas:
        for t in d.hours:
            for prod in ("iru", "ird"):
                curve = d.ir_curves.get((a, prod, t), [])
                v = rho.get((a, prod, t))
                if v is None:
                    v = curve[0][1] if curve else 0.0
                req[(a, prod, t)] = v
    res = d.resources
    by_t: dict = {}
    for (l, s, t), val in eta_dep.items():
        if abs(val) > 1e-12:
            by_t.setdefault((s, t), []).append((l, val))
    out = {}
    for r in res.index:
        a, n = res.at[r, "baa"], res.at[r, "bus"]
        for t in d.hours:
            for prod, s, sign in (("iru", "up", -1.0), ("ird", "down", 1.0)):
                adj = 0.0
                for (l, val) in by_t.get((s, t), []):
                    li = ptdf.branch_index(l)
                    adj += val * (ptdf.matrix[li, ptdf.bus_index(n)] - ldf_ptdf.at[l, a])
                out[(r, prod, t)] = req[(a, prod, t)] + sign * delta * adj
    return req, out


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
def requirement_duals(rb) -> dict:
    """ρ per (baa, iru|ird, hour): the IR requirement row's dual (spec §6.3), with the
    degenerate cases reported as documented: 0 where the BAA has no requirement and moves no
    IR (the row CU_b ≥ 0 only stops phantom IR exports, §5.7 [A]); the first segment's price
    where nothing clears and no IR is awarded, imported or exported there (§6.3 [A]).

    A BAA whose awards all leave as exports has a zero net credit but a row that is not
    degenerate: its dual is the value of the exported IR (above the own curve's price when the
    importer's is higher) and is reported as it is (random markets, issue 16)."""
    d, m, b = rb.d, rb.m, rb.b
    val = lambda v: float(pyo.value(v, exception=False) or 0.0)  # noqa: E731
    rho = {}
    for (a, prod, t) in m.IR_REQ:
        y = rb.dual(m.ir_requirement[a, prod, t])
        credit = b.ir_credit_up if prod == "iru" else b.ir_credit_down
        curve = d.ir_curves.get((a, prod, t), [])
        cleared = sum(val(m.ir_q[a, prod, t, q]) for q in range(1, len(curve) + 1))
        moved = sum(abs(val(term)) for term in credit.get((a, t), []))
        if moved <= 1e-9 and cleared <= 1e-9:
            y = curve[0][1] if curve else 0.0
        rho[(a, prod, t)] = y
    return rho


def extract(rb) -> None:
    """Read back IRU/IRD (spec §5.7, §6.3): `schedules` iru_mw, ird_mw; the IRURMP/IRDRMP rows
    of `product_prices`; `resource_prices` IRUMP/IRDMP; the unmet requirement in
    `relaxations` (at the requirement price); `baa_summary` requirement, cleared, relaxed."""
    d, m = rb.d, rb.m
    T, res = d.hours, d.resources
    val = lambda v: float(pyo.value(v, exception=False) or 0.0)  # noqa: E731
    iru = {(r, t): val(m.iru[r, t]) for (r, t) in m.IRU_IDX}
    ird = {(r, t): val(m.ird[r, t]) for (r, t) in m.IRD_IDX}
    rb.columns("schedules", pd.DataFrame(
        [dict(resource=r, hour=t, iru_mw=iru.get((r, t), 0.0), ird_mw=ird.get((r, t), 0.0))
         for r in res.index for t in T]))
    lp_dep = ldf_ptdf(rb.ptdf, d.ldf, d.bus_baa).reindex(columns=d.baas).fillna(0.0)
    req_price, res_price = ir_prices(d, requirement_duals(rb), deployment_shadows(rb), rb.ptdf,
                                     lp_dep)
    rb.rows("product_prices", [dict(baa=a, product=prod, hour=t,
                                    price_usd_per_mwh=req_price[(a, prod, t)])
                               for a in d.baas for t in T for prod in ("iru", "ird")])
    rb.columns("resource_prices", pd.DataFrame(
        [dict(resource=r, hour=t, baa=res.at[r, "baa"], bus=res.at[r, "bus"],
              iru_usd_per_mwh=res_price[(r, "iru", t)], ird_usd_per_mwh=res_price[(r, "ird", t)])
         for r in res.index for t in T]))
    cleared, relax = {}, []
    for (a, prod, t) in m.IR_REQ:
        curve = d.ir_curves.get((a, prod, t), [])
        q = sum(val(m.ir_q[a, prod, t, j]) for j in range(1, len(curve) + 1))
        cleared[(a, prod, t)] = q
        req = sum(w for w, _ in curve)
        if req - q > 1e-6:
            price = req_price[(a, prod, t)]
            relax.append(dict(requirement=prod, baa=a, hour=t, relaxed_mw=req - q,
                              penalty_usd_per_mwh=price, cost_usd=(req - q) * price))
    rb.rows("relaxations", relax)
    summary = []
    for a in d.baas:
        for t in T:
            row = dict(baa=a, hour=t)
            for prod in ("iru", "ird"):
                req = float(d.baa_hours.at[(a, t), f"{prod}_requirement_mw"])
                q = cleared.get((a, prod, t), 0.0)
                row.update({f"{prod}_requirement_mw": req, f"{prod}_cleared_mw": q,
                            f"{prod}_relaxed_mw": max(0.0, req - q)})
            summary.append(row)
    rb.columns("baa_summary", pd.DataFrame(summary))


def extract_rt(rb) -> None:
    """The IR part of the phase-3 RT read-back (spec §8.1 [D]): `settlement_inputs` iru5_mw /
    ird5_mw per resource and hour, the five-minute-ramp-capable part of the DA IRU / IRD award,
    min(award, FIVE_MINUTE_RAMP·RR) (`rb.given["da_awards"]`: the DA awards, resource x hour in
    `d.resources` order)."""
    res = rb.d.resources
    awards = rb.given["da_awards"]
    hours = rb.hours()
    iru5 = np.minimum(awards["iru_mw"],
                      res["ramp_up_mw_per_min"].to_numpy(float)[:, None] * FIVE_MINUTE_RAMP)
    ird5 = np.minimum(awards["ird_mw"],
                      res["ramp_down_mw_per_min"].to_numpy(float)[:, None] * FIVE_MINUTE_RAMP)
    rb.columns("settlement_inputs", pd.DataFrame({
        "resource": np.repeat(np.asarray(list(res.index), dtype=object), len(hours)),
        "hour": np.tile(np.array(hours, dtype=np.int64), len(res)),
        "iru5_mw": iru5.ravel(), "ird5_mw": ird5.ravel()}))
