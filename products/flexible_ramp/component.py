"""Flexible ramp up / down (FRU / FRD): the real-time product of the phase-3 FMM run (spec §10,
§8.4; glossary "FRU / FRD"). Model component, requirement and prices; the settlement line that
interacts with imbalance reserves is in products/flexible_ramp/settlement.py.

What is bought
    Per BAA b and FMM interval k (15 minutes): upward and downward ramp capability held back from
    the interval's dispatch so the next interval's net-load movement and uncertainty can be met.
    Requirement [A] (no historical RT uncertainty in a scenario): a share of the hour's DA
    imbalance-reserve requirement of the BAA,
        FRU_req_{b,k} = FRP_SHARE_OF_IR · IRU_req_{b,h(k)} ,  FRD_req_{b,k} = FRP_SHARE_OF_IR · IRD_req_{b,h(k)}
    with FRP_SHARE_OF_IR = 0.5 (IR covers the hourly DA-to-RT net-load uncertainty; FRP covers
    the 15-minute part of it). A BAA-interval with a zero requirement buys nothing.
    Met inside each BAA (no FRP transfers between BAAs) [A].

Demand curve
    One segment of width = the requirement at `penalty_fru_usd_per_mwh` (default $247/MWh, the
    FRU/FRD demand-curve cap), as the IR default curve of spec §5.7: 0 ≤ q ≤ req,
    Σ_{i∈b} fru_i − q ≥ 0 (dual ρFRU_{b,k} ≥ 0), cost −cap·q. Any shortfall req − q is relaxed at
    the cap, so the FRU/FRD price never exceeds the cap.

Who offers it and how much
    No bids: FRP is priced at opportunity cost only ($0 offers, as CAISO's FRP). Eligible: every
    resource the FMM can move (clearing/market/rt.py decides: committed thermal, hydro, storage,
    dispatchable VERs, 15-minute imports with a non-degenerate RT range, and the fast-start units
    the RT run may commit). Per resource-interval
        fru ≤ FRP_RAMP_MINUTES · RR^up (· u for a unit whose commitment the RT run decides)
        frd ≤ FRP_RAMP_MINUTES · RR^dn (· u likewise)
    and the awards join the resource's RT capacity rows through the bundle registries
    (`up_reserve`, `down_reserve`): dispatch + fru ≤ the RT upper economic range,
    dispatch − frd ≥ the RT lower one (clearing/market/rt.py).

Prices
    FMMFRUMP_{b,k} = ρFRU_{b,k}, FMMFRDMP_{b,k} = ρFRD_{b,k} (from the fixed-commitment pricing
    LP, like every other price), in [0, cap]. Degenerate case (nothing offered and nothing
    cleared while a requirement exists): the demand-curve price (the cap), as spec §6.3 [A].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

if TYPE_CHECKING:  # pragma: no cover
    from clearing.market.bundle import ModelBundle

FRP_SHARE_OF_IR = 0.5       # FRU/FRD requirement = this share of the hour's DA IRU/IRD requirement [A]
FRP_RAMP_MINUTES = 15.0     # FRU/FRD ≤ 15·RR: deliverable within one FMM interval [A]
FRP_PRODUCTS = ("fru", "frd")

__all__ = ["FRP_SHARE_OF_IR", "FRP_RAMP_MINUTES", "FRP_PRODUCTS", "frp_requirements",
           "add_to_model", "frp_prices", "frp_cleared", "extract"]


def frp_requirements(ir_requirements: dict, intervals: list[int], hour_of: dict[int, int],
                     baas: list[str], share: float = FRP_SHARE_OF_IR) -> dict:
    """{(baa, 'fru'|'frd', k): MW} for every BAA and interval k, from the DA requirements
    `ir_requirements[(baa, 'iru'|'ird', hour)]` (MW): share × the hour's IR requirement."""
    out = {}
    for a in baas:
        for k in intervals:
            h = hour_of[k]
            out[(a, "fru", k)] = max(0.0, share * float(ir_requirements.get((a, "iru", h), 0.0)))
            out[(a, "frd", k)] = max(0.0, share * float(ir_requirements.get((a, "ird", h), 0.0)))
    return out


def add_to_model(b: "ModelBundle", requirements: dict, eligible: dict, on: dict | None = None,
                 cap: float | None = None) -> list:
    """Declare FRU/FRD awards, the demand-curve segments and the per-BAA requirement rows.

    `requirements[(baa, prod, k)]` MW (from `frp_requirements`); `eligible[(r, k)]` =
    (ramp up cap MW, ramp down cap MW) for the resource-intervals that may hold FRP (inf: no ramp
    limit); `on[(r, k)]` = the commitment variable of units whose RT commitment is a decision
    (their FRP is limited by ramp·u). The awards are appended to `b.up_reserve` /
    `b.down_reserve`; the capacity rows that read them are built by the caller afterwards.
    Returns the cost terms (also appended to `b.costs`)."""
    m, d = b.m, b.d
    cap = float(d.params.penalty_fru_usd_per_mwh if cap is None else cap)
    on = on or {}
    res = d.resources
    idx = sorted(eligible, key=lambda rk: (rk[0], rk[1]))
    m.FRP_IDX = pyo.Set(initialize=idx, dimen=2, ordered=True)

    def _bound(which):
        def f(_m, r, k):
            v = eligible[(r, k)][which]
            return (0.0, None if not math.isfinite(v) else max(0.0, float(v)))
        return f
    m.fru = pyo.Var(m.FRP_IDX, within=pyo.NonNegativeReals, bounds=_bound(0))
    m.frd = pyo.Var(m.FRP_IDX, within=pyo.NonNegativeReals, bounds=_bound(1))
    committed = [(r, k) for (r, k) in idx if (r, k) in on]
    m.FRP_ON = pyo.Set(initialize=committed, dimen=2, ordered=True)

    def ramp_on(var, which):
        def f(_m, r, k):
            v = eligible[(r, k)][which]
            if not math.isfinite(v):
                return pyo.Constraint.Skip
            return var[r, k] <= max(0.0, float(v)) * on[(r, k)]
        return f
    m.frp_on_up = pyo.Constraint(m.FRP_ON, rule=ramp_on(m.fru, 0))
    m.frp_on_down = pyo.Constraint(m.FRP_ON, rule=ramp_on(m.frd, 1))
    by_baa: dict = {}
    for (r, k) in idx:
        b.up_reserve[(r, k)].append(m.fru[r, k])
        b.down_reserve[(r, k)].append(m.frd[r, k])
        a = res.at[r, "baa"]
        by_baa.setdefault((a, "fru", k), []).append(m.fru[r, k])
        by_baa.setdefault((a, "frd", k), []).append(m.frd[r, k])
    rows = sorted((key for key, v in requirements.items() if v > 1e-9),
                  key=lambda x: (x[0], x[1], x[2]))
    m.FRP_REQ = pyo.Set(initialize=rows, dimen=3, ordered=True)
    m.frp_q = pyo.Var(m.FRP_REQ, within=pyo.NonNegativeReals,
                      bounds=lambda _m, a, prod, k: (0.0, float(requirements[(a, prod, k)])))

    def req(_m, a, prod, k):
        return sum(by_baa.get((a, prod, k), [])) - _m.frp_q[a, prod, k] >= 0
    m.frp_requirement = pyo.Constraint(m.FRP_REQ, rule=req)
    b.info["frp_requirements"] = dict(requirements)
    b.info["frp_by_baa"] = by_baa
    b.info["frp_cap"] = cap
    cost = -cap * sum(m.frp_q[key] for key in rows) if rows else 0.0
    b.costs.append(cost)
    return [cost]


def frp_cleared(b: "ModelBundle") -> dict:
    """{(baa, prod, k): MW of requirement cleared (q)} and awards offered per BAA, from the
    current solution: returns {(baa, prod, k): (cleared q, offered Σ awards)}."""
    m = b.m
    out = {}
    for key in b.info.get("frp_requirements", {}):
        terms = b.info["frp_by_baa"].get(key, [])
        offered = float(sum(pyo.value(t) for t in terms)) if terms else 0.0
        q = float(pyo.value(m.frp_q[key])) if key in m.FRP_REQ else 0.0
        out[key] = (q, offered)
    return out


def frp_prices(b: "ModelBundle", duals: dict) -> dict:
    """FMMFRUMP / FMMFRDMP per (baa, prod, k) in $/MWh from the pricing LP's raw duals
    (a ≥ row in a minimisation: dual ≥ 0), clipped to [0, cap]; 0 where no requirement;
    the cap in the degenerate case (nothing offered, nothing cleared)."""
    m = b.m
    cap = b.info.get("frp_cap", 0.0)
    cleared = frp_cleared(b)
    out = {}
    for key, req in b.info.get("frp_requirements", {}).items():
        if req <= 1e-9:
            out[key] = 0.0
            continue
        v = float(duals.get(m.frp_requirement[key], 0.0))
        q, offered = cleared[key]
        if offered <= 1e-9 and q <= 1e-9:
            v = cap
        out[key] = min(cap, max(0.0, v))
    return out


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py), on the FMM's intervals
# ---------------------------------------------------------------------------------------------
def extract(rb) -> None:
    """Read back FRU/FRD (spec §10, §8.4): `schedules` fru_mw, frd_mw per resource and interval
    (awards below 1e-9 MW as 0); `product_prices` rows fru, frd (FMMFRUMP/FMMFRDMP,
    `frp_prices`); `baa_summary` per product the requirement, the MW cleared on the demand curve
    (q), the MW awarded (Σ awards) and the price; and the FRP part of the hourly
    `settlement_inputs`: the BAA's FRU/FRD price and the resource's FRU award (its FRU
    uncertainty award, §8.4), each the mean over the hour's intervals."""
    b, d = rb.b, rb.d
    fru, frd = _awards(rb)
    R = list(d.resources.index)
    K = len(d.hours)
    rb.columns("schedules", pd.DataFrame({
        "resource": np.repeat(np.asarray(R, dtype=object), K),
        "hour": np.tile(np.arange(1, K + 1, dtype=np.int64), len(R)),
        "fru_mw": fru.ravel(), "frd_mw": frd.ravel()}))
    price = frp_prices(b, rb.sm.duals)
    cleared = frp_cleared(b)
    required = b.info["frp_requirements"]
    rows, summary = [], []
    for a in d.baas:
        for k in d.hours:
            per = {}
            for prod in FRP_PRODUCTS:
                p_ = price.get((a, prod, k), 0.0)
                q, offered = cleared.get((a, prod, k), (0.0, 0.0))
                rows.append(dict(baa=a, product=prod, hour=k, price_usd_per_mwh=p_))
                per.update({f"{prod}_requirement_mw": float(required.get((a, prod, k), 0.0)),
                            f"{prod}_cleared_mw": q, f"{prod}_awarded_mw": offered,
                            f"{prod}_price": p_})
            summary.append(dict(baa=a, hour=k, **per))
    rb.rows("product_prices", rows)
    rb.columns("baa_summary", pd.DataFrame(summary))
    _read_settlement_inputs(rb, fru, price)


def _awards(rb) -> tuple[np.ndarray, np.ndarray]:
    """FRU and FRD awards per resource (`d.resources` order) and interval, n x K."""
    m, d = rb.m, rb.d
    pos = {r: i for i, r in enumerate(d.resources.index)}
    fru = np.zeros((len(pos), len(d.hours)))
    frd = np.zeros((len(pos), len(d.hours)))
    for (r, k) in m.FRP_IDX:
        fru[pos[r], k - 1] = pyo.value(m.fru[r, k], exception=False) or 0.0
        frd[pos[r], k - 1] = pyo.value(m.frd[r, k], exception=False) or 0.0
    fru[fru < 1e-9] = 0.0
    frd[frd < 1e-9] = 0.0
    return fru, frd


def _read_settlement_inputs(rb, fru: np.ndarray, price: dict) -> None:
    """`settlement_inputs` (per resource and hour) fmm_fru_price_usd_per_mwh,
    fmm_frd_price_usd_per_mwh (the resource's BAA) and fru_uncertainty_mw."""
    d = rb.d
    res = d.resources
    n, K = len(res), len(d.hours)
    hours = rb.hours()
    hourly_price = {(a, prod): rb.hourly(np.array([[price.get((a, prod, k), 0.0)
                                                     for k in range(1, K + 1)]]))[0]
                    for prod in FRP_PRODUCTS for a in d.baas}
    baa_of = res["baa"].to_numpy(object)
    per_resource = {prod: np.concatenate([hourly_price[(baa_of[i], prod)] for i in range(n)])
                    if n else [] for prod in FRP_PRODUCTS}
    rb.columns("settlement_inputs", pd.DataFrame({
        "resource": np.repeat(np.asarray(list(res.index), dtype=object), len(hours)),
        "hour": np.tile(np.array(hours, dtype=np.int64), n),
        "fmm_fru_price_usd_per_mwh": per_resource["fru"],
        "fmm_frd_price_usd_per_mwh": per_resource["frd"],
        "fru_uncertainty_mw": rb.hourly(fru).ravel()}))
