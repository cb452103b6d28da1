"""Ancillary services: regulation up/down, spinning and non-spinning reserve (spec §5.6, §6.2).

Bought: per BAA and hour, RU, RD, SR, NR against the EDAM entity's requirements, met inside the
BAA (no AS transfers [A]). Higher quality substitutes for lower (RU → SR → NR) through
cumulative requirements. Offered: availability bids (MW, $/MWh) of resources that can provide
them; AS awards use the capacity stacks and the 10-minute ramp (clearing/market/resources.py).
Shortfalls are relaxed at `penalty_{reg_up,spin,nonspin,reg_down}_usd_per_mwh`.
Priced: ASMP^NR = σ^NR, ASMP^SR = σ^SR + σ^NR, ASMP^RU = σ^RU + σ^SR + σ^NR, ASMP^RD = σ^RD.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle

AS_ELIGIBLE = ("thermal", "storage", "hydro", "ver", "import")
CUMULATIVE = {"ru": ("ru",), "sr": ("ru", "sr"), "nr": ("ru", "sr", "nr")}


def eligible(d, r: str) -> bool:
    row = d.resources.loc[r]
    if row["type"] not in AS_ELIGIBLE:
        return False
    if row["type"] == "ver" and not row["dispatchable"]:
        return False
    if row["type"] == "import" and not row["fifteen_minute"]:
        return False
    return True


def add_to_model(b: ModelBundle) -> list:
    """AS awards, the cumulative requirements with shortfall slacks (spec §5.6)."""
    m, d, T = b.m, b.d, b.T
    p = d.params
    res_c = d.cells("resources")
    # every hour of a (resource, product) that bids in some hour; the hour's bid bounds and
    # prices it (hourly bids, scenarios.bids: 0 MW in an hour without a bid)
    idx = [(r, a, t) for (r, a) in d.avail_products() if a in ("ru", "rd", "sr", "nr")
           and eligible(d, r) for t in T]
    m.AS_IDX = pyo.Set(initialize=idx, dimen=3, ordered=True)
    m.as_award = pyo.Var(m.AS_IDX, within=pyo.NonNegativeReals,
                         bounds=lambda _m, r, a, t: (0, d.avail_mw(r, a, t)))
    th = d.thermal
    th_c = d.cells("thermal")
    off = [(r, t) for (r, a, t) in idx if a == "nr" and r in th.index and th_c.at[r, "fast_start"]
           and th_c.at[r, "nonspin_offline_mw"] > 0]
    m.NR_OFF = pyo.Set(initialize=off, dimen=2, ordered=True)
    m.nr_offline = pyo.Var(m.NR_OFF, within=pyo.NonNegativeReals)
    m.nr_offline_limit = pyo.Constraint(
        m.NR_OFF, rule=lambda _m, r, t: _m.nr_offline[r, t]
        <= float(th_c.at[r, "nonspin_offline_mw"]) * (1 - _m.u[r, t]))
    m.nr_total_limit = pyo.Constraint(
        m.NR_OFF, rule=lambda _m, r, t: _m.as_award[r, "nr", t] + _m.nr_offline[r, t]
        <= d.avail_mw(r, "nr", t))
    for (r, a, t) in idx:
        var = m.as_award[r, a, t]
        if a == "rd":
            b.down_reserve[(r, t)].append(var)
            b.as_down[(r, t)].append(var)
        else:
            b.up_reserve[(r, t)].append(var)
            b.as_up[(r, t)].append(var)
    for (r, t) in off:
        b.as_up[(r, t)].append(m.nr_offline[r, t])
    # requirements (cumulative, spec §5.6)
    col = {"ru": "ru_requirement_mw", "sr": "sr_requirement_mw", "nr": "nr_requirement_mw",
           "rd": "rd_requirement_mw"}
    req = {(a, prod, t): float(d.baa_hours.at[(a, t), col[prod]]) for a in d.baas
           for prod in col for t in T}
    cum_req = {}
    for (a, prod, t), v in req.items():
        if prod == "rd":
            cum_req[(a, prod, t)] = v
        else:
            cum_req[(a, prod, t)] = sum(req[(a, q, t)] for q in CUMULATIVE[prod])
    rows = [k for k in sorted(cum_req) if cum_req[k] > 0]
    m.AS_REQ = pyo.Set(initialize=rows, dimen=3, ordered=True)
    m.s_as = pyo.Var(m.AS_REQ, within=pyo.NonNegativeReals)
    by_baa: dict = {}
    for (r, a, t) in idx:
        by_baa.setdefault((res_c.at[r, "baa"], a, t), []).append(m.as_award[r, a, t])
    for (r, t) in off:
        by_baa.setdefault((res_c.at[r, "baa"], "nr", t), []).append(m.nr_offline[r, t])

    def req_rule(_m, a, prod, t):
        prods = ("rd",) if prod == "rd" else CUMULATIVE[prod]
        supply = sum(sum(by_baa.get((a, q, t), [])) for q in prods)
        return supply + _m.s_as[a, prod, t] >= cum_req[(a, prod, t)]
    m.as_requirement = pyo.Constraint(m.AS_REQ, rule=req_rule)
    pen = {"ru": p.penalty_reg_up_usd_per_mwh, "sr": p.penalty_spin_usd_per_mwh,
           "nr": p.penalty_nonspin_usd_per_mwh, "rd": p.penalty_reg_down_usd_per_mwh}
    cost = sum(d.avail_price(r, a, t) * m.as_award[r, a, t] for (r, a, t) in idx) \
        + sum(d.avail_price(r, "nr", t) * m.nr_offline[r, t] for (r, t) in off) \
        + sum(pen[prod] * m.s_as[a, prod, t] for (a, prod, t) in rows)
    b.costs.append(cost)
    b.info["as_requirements"] = cum_req
    return [cost]


def as_prices(sigma: dict, baas, hours) -> dict:
    """ASMP per (baa, product, hour) from the cumulative duals σ ≥ 0 (spec §6.2)."""
    out = {}
    for a in baas:
        for t in hours:
            s = {q: sigma.get((a, q, t), 0.0) for q in ("ru", "sr", "nr", "rd")}
            out[(a, "nr", t)] = s["nr"]
            out[(a, "sr", t)] = s["sr"] + s["nr"]
            out[(a, "ru", t)] = s["ru"] + s["sr"] + s["nr"]
            out[(a, "rd", t)] = s["rd"]
    return out


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
AWARD_COLUMNS = {"ru": "reg_up_mw", "rd": "reg_down_mw", "sr": "spin_mw", "nr": "nonspin_mw"}


def extract(rb) -> None:
    """Read back the AS (spec §5.6, §6.2): `schedules` reg_up_mw, reg_down_mw, spin_mw and
    nonspin_mw (online plus offline NR), the ASMP rows of `product_prices`, and the AS
    shortfalls in `relaxations`; keeps nr_off (offline NR) for the RUC."""
    d, m, p = rb.d, rb.m, rb.d.params
    T, res = d.hours, d.resources
    val = lambda v: float(pyo.value(v, exception=False) or 0.0)  # noqa: E731
    award = defaultdict(float)
    for (r, a, t) in m.AS_IDX:
        award[(r, a, t)] += val(m.as_award[r, a, t])
    nr_off = {(r, t): val(m.nr_offline[r, t]) for (r, t) in m.NR_OFF}
    for (r, t), v in nr_off.items():
        award[(r, "nr", t)] += v
    rb.columns("schedules", pd.DataFrame(
        [dict(resource=r, hour=t, **{col: award[(r, a, t)] for a, col in AWARD_COLUMNS.items()})
         for r in res.index for t in T]))
    sigma = {(a, prod, t): rb.dual(m.as_requirement[a, prod, t]) for (a, prod, t) in m.AS_REQ}
    asmp = as_prices(sigma, d.baas, T)
    rb.rows("product_prices", [dict(baa=a, product=prod, hour=t,
                                    price_usd_per_mwh=asmp[(a, prod, t)])
                               for a in d.baas for t in T for prod in ("ru", "rd", "sr", "nr")])
    pen = {"ru": p.penalty_reg_up_usd_per_mwh, "sr": p.penalty_spin_usd_per_mwh,
           "nr": p.penalty_nonspin_usd_per_mwh, "rd": p.penalty_reg_down_usd_per_mwh}
    relax = []
    for (a, prod, t) in m.AS_REQ:
        v = val(m.s_as[a, prod, t])
        if v > 1e-6:
            relax.append(dict(requirement=f"as_{prod}", baa=a, hour=t, relaxed_mw=v,
                              penalty_usd_per_mwh=pen[prod], cost_usd=v * pen[prod]))
    rb.rows("relaxations", relax)
    rb.keep("nr_off", nr_off)
