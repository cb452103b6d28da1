"""GHG attribution into GHG regulation areas (spec §5.13; docs/ghg.md).

Bought: deemed delivery e_iat ≥ 0 (MW) of resource i's output into GHG area a in hour t, offered
in `ghg_bids` at an adder γ_iat ($/MWh) for at most Ē_iat MW by resources outside the area.
Constrained (rows of the IFM):

    e_iat ≤ Ē_iat                                     (bid quantity: the variable's bound)
    Σ_a e_iat ≤ g_it                                  (ghg_dispatch: no more than dispatched)
    Σ_a e_iat ≤ max(0, Pmax_it − P^ref_it)            (ghg_headroom; not with ghg_reference none)
    Σ_{i∉a} e_iat − NI_at ≥ 0                         (ghg_coverage, dual μ_at ≥ 0)
    NI_at = Σ_{k: e(k)∈a, o(k)∉a} x_kt − Σ_{k: o(k)∈a, e(k)∉a} x_kt   (economic transfers only [A])
    objective += Σ γ_iat e_iat

P^ref comes from the reference pass (clearing/market/ghg_reference.py) or the scenario's
`ghg_base_schedule`, put in `MarketData.extra["ghg_reference_mw"]` before the IFM is built.
Priced: μ_at, the coverage row's dual, is the GHG component `ghg` of the LMP at buses of BAAs in
a (energy + congestion + loss + ghg). Where the dual is degenerate (nothing attributed, no
transfer into the area) the reported μ is the smallest dual-feasible value, the price wedge
(`area_prices`). Settled: μ_at e_iat to the resource's SC (`ghg_payment`), funded through the
area load's LMP; the transfer revenue is the wedge net of μ (network/transfers.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle

GHG_TOL_MW = 1e-6
SUPPLY_TYPES = ("thermal", "ver", "hydro", "storage", "import")


@dataclass(frozen=True)
class GhgData:
    """The GHG inputs of a scenario (spec §5.13)."""

    area_of: dict            # baa -> area
    areas: list              # sorted area ids
    bids: dict               # (resource, area, hour) -> (adder $/MWh, MW)
    rates: dict              # resource -> t/MWh

    def into(self, d, a: str) -> list[str]:
        """ETSRs into area a from outside it."""
        itf = d.interfaces
        return [k for k in itf.index if self.area_of.get(itf.at[k, "to_baa"]) == a
                and self.area_of.get(itf.at[k, "from_baa"]) != a]

    def out_of(self, d, a: str) -> list[str]:
        """ETSRs out of area a to outside it."""
        itf = d.interfaces
        return [k for k in itf.index if self.area_of.get(itf.at[k, "from_baa"]) == a
                and self.area_of.get(itf.at[k, "to_baa"]) != a]


def ghg_data(d) -> GhgData:
    """The scenario's GHG areas, bids and emission rates (cached in `d.extra`)."""
    got = d.extra.get("ghg")
    if got is not None:
        return got
    t = d.scenario.tables
    ga = t.get("ghg_areas")
    area_of = ({str(b): str(a) for b, a in zip(ga["baa"], ga["area"])}
               if ga is not None and len(ga) else {})
    bids = {}
    gb = t.get("ghg_bids")
    if area_of and gb is not None and len(gb):
        for r, a, h, c, mw in zip(gb["resource"], gb["area"], gb["hour"],
                                  gb["adder_usd_per_mwh"], gb["mw"]):
            bids[(str(r), str(a), int(h))] = (float(c), float(mw))
    er = t.get("ghg_emission_rates")
    rates = ({str(r): float(v) for r, v in zip(er["resource"], er["emission_rate_t_per_mwh"])}
             if er is not None and len(er) else {})
    out = GhgData(area_of=area_of, areas=sorted(set(area_of.values())), bids=bids, rates=rates)
    d.extra["ghg"] = out
    return out


def has_ghg(d) -> bool:
    """True when the scenario has GHG regulation areas and transfers (phase ≥ 2): then GHG
    attribution is on."""
    return bool(ghg_data(d).areas) and d.params.phase != 1


def base_schedule_mw(d) -> dict:
    """P^ref of `ghg_reference = base_schedule`: the supplied `ghg_base_schedule` (missing = 0)."""
    bs = d.scenario.tables.get("ghg_base_schedule")
    out = {(r, t): 0.0 for r in d.resources.index for t in d.hours}
    if bs is not None and len(bs):
        for r, h, mw in zip(bs["resource"], bs["hour"], bs["mw"]):
            out[(str(r), int(h))] = float(mw)
    return out


def reference_mw(d) -> dict | None:
    """P^ref per (resource, hour) for the headroom row, None under `ghg_reference = none`."""
    opt = d.params.ghg_reference
    if opt == "none":
        return None
    if opt == "base_schedule":
        return base_schedule_mw(d)
    ref = d.extra.get("ghg_reference_mw")
    if ref is None:
        raise ValueError("GHG reference dispatch missing: the reference pass "
                         "(clearing/market/ghg_reference.py) runs before the IFM is built")
    return ref


def headroom_mw(pmax: float, ref: float) -> float:
    """max(0, Pmax − P^ref) (spec §5.13)."""
    return max(0.0, float(pmax) - float(ref))


# ---------------------------------------------------------------------------------------------
def add_to_model(b: ModelBundle) -> list:
    """The §5.13 rows (module docstring) on the bundle's hours; nothing without GHG areas."""
    return _add_rows(b, {t: t for t in b.T})


def add_rt(b: ModelBundle) -> list:
    """RT (phase 3, §5.13 [A]): the same rows on each fifteen-minute interval k, with the GHG
    bids of k's hour, P^ref of the day-ahead reference in k's hour (`d.extra`, set by
    clearing/market/rt.py from the DA `ghg_reference`) and the interval's Pmax (VER: the RT
    forecast). Costs are $/h per interval like RT's energy bids, so μ is in $/MWh."""
    plan = b.info["plan"]
    return _add_rows(b, {k: int(plan.hour_of[k - 1]) for k in b.T})


def _add_rows(b: ModelBundle, hour_of: dict) -> list:
    """The rows on the bundle's periods; `hour_of[period]` = the hour whose bids apply."""
    d, m, T = b.d, b.m, b.T
    g = ghg_data(d)
    if not g.areas or d.params.phase == 1:   # phase 1: no transfers, nothing to attribute
        return []
    by_hour: dict = defaultdict(list)
    for (r, a, h) in g.bids:
        by_hour[h].append((r, a))
    keys = sorted((r, a, t) for t in T for (r, a) in by_hour.get(hour_of[t], ()))
    bid = {(r, a, t): g.bids[(r, a, hour_of[t])] for (r, a, t) in keys}
    b.info["ghg_bid"] = bid
    m.GHG_E = pyo.Set(initialize=keys, dimen=3, ordered=True)
    m.ghg_e = pyo.Var(m.GHG_E, within=pyo.NonNegativeReals,
                      bounds=lambda _m, r, a, t: (0.0, bid[(r, a, t)][1]))
    by_rt: dict = defaultdict(list)
    by_at: dict = defaultdict(list)
    for (r, a, t) in keys:
        by_rt[(r, t)].append((r, a, t))
        by_at[(a, t)].append((r, a, t))
    m.GHG_RT = pyo.Set(initialize=sorted(by_rt), dimen=2, ordered=True)
    m.ghg_dispatch = pyo.Constraint(
        m.GHG_RT, rule=lambda _m, r, t: sum(_m.ghg_e[k] for k in by_rt[(r, t)]) <= _m.g[r, t])
    ref = reference_mw(d)
    if ref is not None:
        pmax = d.cells("pmax")
        m.ghg_headroom = pyo.Constraint(
            m.GHG_RT, rule=lambda _m, r, t: sum(_m.ghg_e[k] for k in by_rt[(r, t)])
            <= headroom_mw(pmax.at[r, t], ref.get((r, hour_of[t]), 0.0)))
    cover = []
    into = {a: g.into(d, a) for a in g.areas}
    out = {a: g.out_of(d, a) for a in g.areas}
    for a in g.areas:
        for t in T:
            if by_at.get((a, t)) or into[a] or out[a]:
                cover.append((a, t))

    def coverage(_m, a, t):
        ni = (sum(_m.x[k, t] for k in into[a]) - sum(_m.x[k, t] for k in out[a]))
        return sum(_m.ghg_e[k] for k in by_at.get((a, t), [])) - ni >= 0
    m.GHG_AT = pyo.Set(initialize=cover, dimen=2, ordered=True)
    m.ghg_coverage = pyo.Constraint(m.GHG_AT, rule=coverage)
    cost = sum(bid[k][0] * m.ghg_e[k] for k in keys if bid[k][0] != 0)
    b.costs.append(cost)
    return [cost]


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
def _val(v) -> float:
    return float(pyo.value(v, exception=False) or 0.0)


def _x_reduced_costs(rb, ks: list, t: int) -> dict:
    """HiGHS reduced cost of x_kt (the pricing LP's column duals)."""
    memo = rb.memo("ghg_col_index", lambda: {id(v): i for i, v in enumerate(rb.sm.solver.columns)})
    sol = rb.memo("ghg_col_dual", lambda: np.asarray(rb.sm.solver.highs.getSolution().col_dual))
    out = {}
    for k in ks:
        i = memo.get(id(rb.m.x[k, t]))
        out[k] = float(sol[i]) if i is not None else 0.0
    return out


def area_prices(rb) -> dict:
    """μ_at per (area, hour) ($/MWh, ≥ 0): the dual of the coverage row (spec §5.13).

    [A] Where the dual is not unique because nothing is attributed and no energy flows into
    the area (every x into a at 0, Σ e_at = 0: §11.11 case A `area`), the reported μ is the
    smallest value that keeps every transfer into a dual feasible: μ − min_k rc(x_k), the
    price wedge π_e − π_o net of hurdles and ETSR duals. It changes no payment (e = 0) and keeps
    the ETSR price identity. A coverage row with slack has μ = 0. Memoised; {} without areas."""
    def compute() -> dict:
        if rb.sm is None:
            return {}
        d, m = rb.d, rb.m
        g = ghg_data(d)
        if not g.areas or not hasattr(m, "ghg_coverage"):
            return {}
        out = {(a, t): 0.0 for a in g.areas for t in d.hours}
        by_at: dict = defaultdict(float)
        for (r, a, t) in m.GHG_E:
            by_at[(a, t)] += _val(m.ghg_e[r, a, t])
        for (a, t) in m.GHG_AT:
            raw = max(0.0, rb.dual(m.ghg_coverage[a, t]))
            into, outk = g.into(d, a), g.out_of(d, a)
            ni = sum(_val(m.x[k, t]) for k in into) - sum(_val(m.x[k, t]) for k in outk)
            slack = by_at[(a, t)] - ni
            if slack > 1e-6 or raw <= 0:
                out[(a, t)] = 0.0 if slack > 1e-6 else raw
                continue
            flowing = any(_val(m.x[k, t]) > GHG_TOL_MW for k in into)
            if by_at[(a, t)] > GHG_TOL_MW or flowing or not into:
                out[(a, t)] = raw
                continue
            rc = _x_reduced_costs(rb, into, t)
            out[(a, t)] = max(0.0, raw - max(0.0, min(rc.values())))
        return out
    return rb.memo("ghg_mu", compute)


def baa_prices(rb) -> dict:
    """μ of each BAA's area per (baa, hour); {} without GHG areas (the `ghg` LMP component)."""
    mu = area_prices(rb)
    if not mu:
        return {}
    g = ghg_data(rb.d)
    return {(b, t): mu.get((g.area_of[b], t), 0.0) for b in rb.d.baas if b in g.area_of
            for t in rb.d.hours}


def extract(rb) -> None:
    """Read back GHG attribution (spec §5.13): `ghg_attribution` (one row per GHG bid and
    hour), `ghg_prices` (per area and hour: μ, NI, attributed MW and t CO2), the reference
    `ghg_reference` is added by the engine; `baa_summary.ghg_secondary_dispatch_mw` per BAA
    outside every area: Σ_i max(0, g_it − P^ref_it) over its supply resources (the system
    indicator of §5.13 is their sum). Nothing without GHG areas."""
    d = rb.d
    g = ghg_data(d)
    if not g.areas or not hasattr(rb.m, "GHG_E"):
        return
    ref = reference_mw(d)
    shown_ref = ref if ref is not None else d.extra.get("ghg_reference_mw")
    _read_tables(rb, {t: t for t in d.hours}, ref, shown_ref)
    res = d.resources
    gval = rb.kept.get("g", {})
    summary = []
    for b in d.baas:
        rs = [r for r in d.in_baa(b) if res.at[r, "type"] in SUPPLY_TYPES]
        for t in d.hours:
            if b in g.area_of or shown_ref is None:
                v = 0.0
            else:
                v = sum(max(0.0, gval.get((r, t), 0.0) - shown_ref.get((r, t), 0.0)) for r in rs)
            summary.append(dict(baa=b, hour=t, ghg_secondary_dispatch_mw=v))
    rb.columns("baa_summary", pd.DataFrame(summary))


ATTRIBUTION_COLUMNS = ["resource", "area", "hour", "baa", "sc", "bid_mw", "adder_usd_per_mwh",
                       "attributed_mw", "headroom_mw", "reference_mw", "ghg_price_usd_per_mwh",
                       "ghg_payment_usd", "emissions_t"]
PRICE_COLUMNS = ["area", "hour", "ghg_price_usd_per_mwh", "net_import_mw", "attributed_mw",
                 "attributed_emissions_t", "ghg_payment_usd", "reference"]


def _read_tables(rb, hour_of: dict, ref: dict | None, shown_ref: dict | None) -> None:
    """The `ghg_attribution` and `ghg_prices` rows on the read-back's periods (`hour_of`: the
    hour of each period, for the reference)."""
    d, m = rb.d, rb.m
    g = ghg_data(d)
    mu = area_prices(rb)
    bid = rb.b.info.get("ghg_bid", {})
    pmax = d.cells("pmax")
    res = d.resources
    rows = []
    att: dict = defaultdict(float)
    tons: dict = defaultdict(float)
    for (r, a, t) in m.GHG_E:
        e = _val(m.ghg_e[r, a, t])
        e = e if e > GHG_TOL_MW else 0.0
        c, mw = bid[(r, a, t)]
        h = hour_of[t]
        pr = None if shown_ref is None else shown_ref.get((r, h), 0.0)
        price = mu.get((a, t), 0.0)
        rows.append(dict(resource=r, area=a, hour=t, baa=res.at[r, "baa"], sc=res.at[r, "sc"],
                         bid_mw=mw, adder_usd_per_mwh=c, attributed_mw=e,
                         headroom_mw=(headroom_mw(pmax.at[r, t], ref.get((r, h), 0.0))
                                      if ref is not None else np.nan),
                         reference_mw=np.nan if pr is None else pr,
                         ghg_price_usd_per_mwh=price, ghg_payment_usd=price * e,
                         emissions_t=e * g.rates.get(r, 0.0)))
        att[(a, t)] += e
        tons[(a, t)] += e * g.rates.get(r, 0.0)
    rb.rows("ghg_attribution", pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS))
    prow = []
    for a in g.areas:
        into, outk = g.into(d, a), g.out_of(d, a)
        for t in d.hours:
            ni = sum(_val(m.x[k, t]) for k in into) - sum(_val(m.x[k, t]) for k in outk)
            prow.append(dict(area=a, hour=t, ghg_price_usd_per_mwh=mu.get((a, t), 0.0),
                             net_import_mw=ni, attributed_mw=att[(a, t)],
                             attributed_emissions_t=tons[(a, t)],
                             ghg_payment_usd=mu.get((a, t), 0.0) * att[(a, t)],
                             reference=d.params.ghg_reference))
    rb.rows("ghg_prices", pd.DataFrame(prow, columns=PRICE_COLUMNS))


def extract_rt(rb) -> None:
    """Read back RT GHG attribution (phase 3, §5.13 [A]) on the intervals: `ghg_attribution`
    and `ghg_prices` as in the day ahead (published as `rt_ghg_attribution`, `rt_ghg_prices`
    with hour and interval), each attribution row with the DA attribution of its hour
    (`da_attributed_mw`, from `d.extra["ghg_da_attribution"]`) and the deviation settled at
    the RT μ for the quarter hour: `deviation_payment_usd` = μ_RT (e_RT − e_DA) / 4."""
    d = rb.d
    g = ghg_data(d)
    if not g.areas or not hasattr(rb.m, "GHG_E"):
        return
    plan = rb.b.info["plan"]
    hour_of = {k: int(plan.hour_of[k - 1]) for k in d.hours}
    ref = reference_mw(d)
    shown_ref = ref if ref is not None else d.extra.get("ghg_reference_mw")
    _read_tables(rb, hour_of, ref, shown_ref)
    frame = rb._rows["ghg_attribution"][-1]
    da = d.extra.get("ghg_da_attribution", {})
    per_h = 1.0 / rb.intervals_per_hour
    frame["da_attributed_mw"] = [da.get((r, a, hour_of[k]), 0.0)
                                 for r, a, k in zip(frame["resource"], frame["area"],
                                                    frame["hour"])]
    frame["deviation_payment_usd"] = (frame["ghg_price_usd_per_mwh"]
                                      * (frame["attributed_mw"] - frame["da_attributed_mw"])
                                      * per_h)
    frame["ghg_payment_usd"] = frame["ghg_payment_usd"] * per_h
    pf = rb._rows["ghg_prices"][-1]
    pf["ghg_payment_usd"] = pf["ghg_payment_usd"] * per_h


def deviation_lines(rt_attribution: pd.DataFrame) -> pd.DataFrame:
    """Settlement lines `rt_ghg_deviation` (phase 3, §5.13 [A]): per resource and hour the sum
    of its quarter hours' μ_RT (e_RT − e_DA) / 4 to its SC (party = sc)."""
    from products.settlement_core import charge_lines
    need = ("resource", "hour", "baa", "sc", "attributed_mw", "da_attributed_mw",
            "deviation_payment_usd")
    if rt_attribution is None or not len(rt_attribution) or any(c not in rt_attribution
                                                                 for c in need):
        return charge_lines([], [], [], [], [], [], [], [])
    a = rt_attribution.assign(dev=rt_attribution["attributed_mw"]
                              - rt_attribution["da_attributed_mw"])
    a = a.groupby(["resource", "sc", "baa", "hour"], sort=True, as_index=False).agg(
        dev=("dev", "mean"), amount=("deviation_payment_usd", "sum"))
    price = np.divide(a["amount"].to_numpy(float), a["dev"].to_numpy(float),
                      out=np.zeros(len(a)), where=np.abs(a["dev"].to_numpy(float)) > GHG_TOL_MW)
    return charge_lines("rt_ghg_deviation", a["sc"].astype(str).to_numpy(),
                        a["baa"].astype(str).to_numpy(), a["hour"].astype(int).to_numpy(),
                        a["dev"].to_numpy(float), price, a["amount"].to_numpy(float),
                        a["resource"].astype(str).to_numpy())


def payment_lines(attribution: pd.DataFrame) -> pd.DataFrame:
    """Settlement lines `ghg_payment` (spec §5.13): μ_at e_iat to the attributed resource's SC,
    one line per resource, area and hour with e > 0 (party = sc, quantity = MW, price = μ).
    Funded through the GHG area's load, whose LMP carries μ (no line of its own)."""
    from products.settlement_core import charge_lines
    need = ("resource", "hour", "baa", "sc", "attributed_mw", "ghg_payment_usd")
    if attribution is None or not len(attribution) or any(c not in attribution for c in need):
        return charge_lines([], [], [], [], [], [], [], [])
    a = attribution[pd.to_numeric(attribution["attributed_mw"], errors="coerce").fillna(0.0)
                    > GHG_TOL_MW]
    a = a.groupby(["resource", "sc", "baa", "hour"], sort=True, as_index=False).agg(
        attributed_mw=("attributed_mw", "sum"),
        amount=("ghg_payment_usd", "sum"))
    price = np.divide(a["amount"].to_numpy(float), a["attributed_mw"].to_numpy(float),
                      out=np.zeros(len(a)), where=a["attributed_mw"].to_numpy(float) > 0)
    return charge_lines("ghg_payment", a["sc"].astype(str).to_numpy(),
                        a["baa"].astype(str).to_numpy(), a["hour"].astype(int).to_numpy(),
                        a["attributed_mw"].to_numpy(float), price,
                        a["amount"].to_numpy(float), a["resource"].astype(str).to_numpy())
