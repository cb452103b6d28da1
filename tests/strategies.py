"""Hypothesis strategies that draw random small EDAM markets (issue 16).

`markets()` draws a valid `Scenario` (it passes `make_scenario`'s validation, the loader's rules):
1–4 BAAs, 1–4 hours, 2–8 buses on a connected network, resources of every type (thermal with
commitment, VER, storage, hydro, imports/exports, price-sensitive demand, virtual bids),
requirements that are often zero (AS, IRU/IRD, RC through a demand forecast ≠ fixed demand),
ETSR sets that are often one-way or empty, a random phase and random tunables (spec §9 and the
[A] options of `scenarios/parameters.py`).

The generator stays inside what a well-formed market submission looks like, so a failed solve or a
checker violation points at the engine (or the checker), not at the input:
- thermal units that must run start on-line; start-up/shut-down ramps ≥ Pmin; hourly derates of a
  thermal unit never fall below its Pmin or its initial output; no thermal self-schedules (they
  would fight min down time);
- hydro has Pmin 0 (a continuous Pmin floor could exceed its daily energy);
- a storage unit's end-of-day SOC floor is at most its initial SOC;
- NEC values, when submitted, are ≥ 0.

Some draws carry hourly bids (`energy_bids_hourly`, `availability_bids_hourly`) in some hours
and import/export tie limits (`tie_resources`, `tie_limits`) leaving room for self-schedules;
a third of the draws with 2+ BAAs have GHG regulation areas with GHG bids (§5.13, `_ghg`).
Everything else (shortage, congestion, relaxed requirements, zero-demand BAAs) is fair game:
markets that cannot meet a requirement still clear with a relaxation.

`AVOID_KNOWN_DEFECTS` names engine defects being fixed elsewhere that the draws steer around so CI
passes; remove a name once its fix is merged to test that case again.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from scenarios.build import make_scenario
from scenarios.scenario import Scenario
from scenarios.schema import AS_RC_BID_CAP_USD_PER_MWH, IR_BID_CAP_USD_PER_MWH

# Engine defects the draws avoid for now (the lead removes a name once its fix is merged):
# - "phantom_ir_export": a BAA with no IRU/IRD requirement exports IR it never awarded; avoided by
#   giving every BAA an IR requirement in an hour and product where any BAA has one.
# - "one_way_etsr_yd": unbounded IRD transfer yD when an ETSR has no reverse; avoided by making
#   every ETSR two-way.
# - "zero_hurdle_cycles": transfer cycles at zero hurdle; avoided by a hurdle ≥ $0.01/MWh on every
#   ETSR.
# Found by these properties (issue 16 report), avoided the same way until fixed:
# - "nec_without_etsr": a BAA with nec_enabled and no ETSR crashes the model build (Pyomo: the
#   nec_limit row is the trivial `0 <= NEC`); avoided by enabling the NEC only where an ETSR
#   starts or ends.
# No longer avoided (issue 16, 2026-12-06): "thermal_partial_bid_profit" (an on-line fast-start
# unit bidding part of its range, phase 3, IR bids: `profit` found a gain). Its draw was not kept;
# the phase-3 draws that now include it found profit gains of the same kind whose cause was an
# IR exporter paid its own curve's price instead of its row's dual (fixed, hand test in
# tests/test_transfer_defects.py) and none after the fix (see the issue 16 note for counts).
AVOID_KNOWN_DEFECTS: frozenset[str] = frozenset()

RESOURCE_KINDS = ("thermal", "ver", "storage", "hydro", "import", "export", "demand",
                  "virtual_supply", "virtual_demand")
AS_PRODUCTS = ("ru", "rd", "sr", "nr")
IR_PRODUCTS = ("iru", "ird")
RC_PRODUCTS = ("rcu", "rcd")
# which availability products each physical type may bid (imports/exports only if 15-minute)
_BIDDABLE = {"thermal": AS_PRODUCTS + IR_PRODUCTS + RC_PRODUCTS,
             "ver": IR_PRODUCTS + RC_PRODUCTS,
             "storage": AS_PRODUCTS + IR_PRODUCTS + RC_PRODUCTS,
             "hydro": AS_PRODUCTS + IR_PRODUCTS + RC_PRODUCTS,
             "import": AS_PRODUCTS + IR_PRODUCTS + RC_PRODUCTS,
             "export": IR_PRODUCTS + RC_PRODUCTS}


def _mw(draw, lo: float, hi: float) -> float:
    """A MW (or $) value rounded to cents: non-round enough to keep ties rare, short to print."""
    return round(draw(st.floats(min_value=lo, max_value=hi, allow_nan=False,
                                allow_infinity=False)), 2)


def _often_zero(draw, hi: float, p_zero: float = 0.6) -> float:
    """0 with probability ≈ p_zero (requirements are OFTEN zero), else a value in (0, hi]."""
    if draw(st.integers(0, 99)) < int(p_zero * 100):
        return 0.0
    return _mw(draw, 0.01, hi)


def _prices(draw, n: int, lo: float, hi: float, rising: bool) -> list[float]:
    """n bid prices, non-decreasing (offers) or non-increasing (bids) by segment (§2.5)."""
    ps = sorted(_mw(draw, lo, hi) for _ in range(n))
    return ps if rising else ps[::-1]


def _segments(draw, rid: str, side: str, width_mw: float, lo: float, hi: float,
              full: bool | None = None) -> list[dict]:
    """1–3 energy-bid segments whose widths add up to `width_mw` (`full`) or less."""
    n = draw(st.integers(1, 3))
    share = [draw(st.integers(1, 10)) for _ in range(n)]
    if full is None:
        full = draw(st.booleans())  # the whole range offered, or only part of it
    total = width_mw if full else round(width_mw * draw(st.integers(1, 9)) / 10, 2)
    widths = [round(total * s / sum(share), 2) for s in share]
    widths[-1] = round(max(0.0, total - sum(widths[:-1])), 2)
    prices = _prices(draw, n, lo, hi, rising=(side == "supply"))
    return [dict(resource=rid, side=side, segment=k + 1, mw=w, price_usd_per_mwh=p)
            for k, (w, p) in enumerate(zip(widths, prices))]


def _ramp(draw) -> float:
    """MW/min: unlimited, or a rate from slow (binds hourly) to fast."""
    return math.inf if draw(st.booleans()) else _mw(draw, 0.2, 10.0)


def _ramps(draw) -> dict:
    """ramp_up/ramp_down_mw_per_min of one resource (each unlimited or not)."""
    return dict(ramp_up_mw_per_min=_ramp(draw), ramp_down_mw_per_min=_ramp(draw))


def _resource(draw, rid: str, kind: str, bus: str, hours: list[int], t: dict) -> None:
    """Append the rows of one resource of type `kind` at `bus` to the table lists in `t`."""
    res = dict(resource=rid, type=kind, bus=bus)
    pmax = _mw(draw, 5.0, 300.0)
    if kind == "thermal":
        pmin = round(pmax * draw(st.integers(0, 6)) / 10, 2)
        must_run = draw(st.integers(0, 9)) == 0
        initial_on = must_run or draw(st.booleans())
        initial_mw = _mw(draw, pmin, pmax) if initial_on else 0.0
        res.update(pmin_mw=pmin, pmax_mw=pmax, must_offer_ra=draw(st.booleans()), **_ramps(draw))
        row = dict(resource=rid, min_load_cost_usd_per_h=_often_zero(draw, 500.0, 0.4),
                   startup_cost_usd=_often_zero(draw, 2000.0, 0.4),
                   min_up_h=draw(st.integers(1, 3)), min_down_h=draw(st.integers(1, 3)),
                   initial_on=initial_on, initial_hours=draw(st.integers(0, 4)),
                   initial_mw=initial_mw, must_run=must_run,
                   fast_start=draw(st.booleans()), long_start=draw(st.booleans()))
        if draw(st.booleans()):
            row["startup_ramp_mw"] = _mw(draw, pmin, pmax)
        if draw(st.booleans()):
            row["shutdown_ramp_mw"] = _mw(draw, pmin, pmax)
        if row["fast_start"]:
            row["nonspin_offline_mw"] = _mw(draw, 0.0, pmax)
        t["thermal"].append(row)
        if draw(st.integers(0, 3)) == 0:  # downtime-dependent start-up costs
            c1 = _mw(draw, 0.0, 1000.0)
            t["startup_costs"] += [
                dict(resource=rid, tier=1, after_offline_h=row["min_down_h"], cost_usd=c1),
                dict(resource=rid, tier=2, after_offline_h=row["min_down_h"] + 2,
                     cost_usd=round(c1 + _mw(draw, 0.0, 1000.0), 2))]
        full = True if initial_on and "thermal_partial_bid_profit" in AVOID_KNOWN_DEFECTS \
            else None
        t["energy_bids"] += _segments(draw, rid, "supply", pmax - pmin, -20.0, 150.0, full)
        if draw(st.booleans()):  # derates, never below Pmin or the initial output
            floor = max(pmin, initial_mw)
            t["resource_hours"] += [dict(resource=rid, hour=h, pmax_mw=_mw(draw, floor, pmax))
                                    for h in hours]
    elif kind == "ver":
        res.update(pmax_mw=pmax, dispatchable=draw(st.booleans()))
        rows = [dict(resource=rid, hour=h, pmax_mw=f,
                     self_schedule_mw=(round(f * draw(st.integers(0, 10)) / 10, 2)
                                       if draw(st.integers(0, 4)) == 0 else math.nan))
                for h in hours for f in [_mw(draw, 0.0, pmax)]]
        t["resource_hours"] += rows
        t["energy_bids"] += _segments(draw, rid, "supply", pmax, -30.0, 5.0)
    elif kind == "storage":
        soc_max = _mw(draw, 1.0, 4 * pmax)
        soc_min = round(soc_max * draw(st.integers(0, 3)) / 10, 2)
        soc0 = _mw(draw, soc_min, soc_max)
        row = dict(resource=rid, charge_max_mw=_mw(draw, 1.0, pmax), soc_min_mwh=soc_min,
                   soc_max_mwh=soc_max, soc_initial_mwh=soc0,
                   charge_efficiency=_mw(draw, 0.7, 1.0),
                   discharge_efficiency=_mw(draw, 0.7, 1.0))
        if draw(st.booleans()):
            row["soc_end_min_mwh"] = _mw(draw, soc_min, soc0)
        res.update(pmax_mw=pmax)
        t["storage"].append(row)
        t["energy_bids"] += _segments(draw, rid, "supply", pmax, 0.0, 120.0)
        t["energy_bids"] += _segments(draw, rid, "demand", row["charge_max_mw"], -10.0, 60.0)
    elif kind == "hydro":
        res.update(pmax_mw=pmax, must_offer_ra=draw(st.booleans()), **_ramps(draw))
        t["hydro"].append(dict(resource=rid,
                               daily_energy_mwh=_mw(draw, 0.0, pmax * len(hours))))
        t["energy_bids"] += _segments(draw, rid, "supply", pmax, 0.0, 80.0)
    elif kind == "import":
        res.update(pmax_mw=pmax, fifteen_minute=draw(st.booleans()))
        self_scheduled = draw(st.integers(0, 4)) == 0
        t["energy_bids"] += _segments(draw, rid, "supply", pmax, 10.0, 200.0)
        if self_scheduled:
            t["resource_hours"] += [dict(resource=rid, hour=h, self_schedule_mw=_mw(draw, 0, pmax))
                                    for h in hours]
    elif kind == "export":
        res.update(pmax_mw=pmax, fifteen_minute=draw(st.booleans()))
        t["energy_bids"] += _segments(draw, rid, "demand", pmax, 0.0, 150.0)
    elif kind == "demand":
        res.update(pmax_mw=pmax)
        t["energy_bids"] += _segments(draw, rid, "demand", pmax, 0.0, 500.0)
    elif kind == "virtual_supply":
        res.update(pmax_mw=pmax)
        t["energy_bids"] += _segments(draw, rid, "supply", pmax, -20.0, 150.0)
    elif kind == "virtual_demand":
        res.update(pmax_mw=pmax)
        t["energy_bids"] += _segments(draw, rid, "demand", pmax, -20.0, 150.0)
    t["resources"].append(res)
    if kind in _BIDDABLE and (kind not in ("import", "export") or res.get("fifteen_minute")):
        for prod in _BIDDABLE[kind]:
            if draw(st.integers(0, 2)) == 0:
                continue
            cap = IR_BID_CAP_USD_PER_MWH if prod in IR_PRODUCTS else AS_RC_BID_CAP_USD_PER_MWH
            iso = prod in RC_PRODUCTS and (kind == "ver" or res.get("must_offer_ra", False)) \
                and draw(st.booleans())
            t["availability_bids"].append(dict(resource=rid, product=prod,
                                               mw=_mw(draw, 0.0, pmax),
                                               price_usd_per_mwh=_mw(draw, 0.0, cap),
                                               iso_inserted=iso))
    if draw(st.integers(0, 3)) == 0:
        _hourly_bids(draw, rid, kind, res, hours, t)


def _hourly_bids(draw, rid: str, kind: str, res: dict, hours: list[int], t: dict) -> None:
    """SIBR-style hourly bids (issue 19) in some hours: a new curve for each side the resource
    bids day-constant (same width, its own prices), and hourly availability rows for products it
    may bid (0 MW sometimes); other hours keep the day-constant bids."""
    some = [h for h in hours if draw(st.booleans())]
    sides = {}
    for row in t["energy_bids"]:
        if row["resource"] == rid:
            sides[row["side"]] = sides.get(row["side"], 0.0) + row["mw"]
    for h in some:
        for side, width in sorted(sides.items()):
            lo, hi = (-20.0, 150.0) if side == "supply" else (0.0, 300.0)
            t["energy_bids_hourly"] += [dict(r, hour=h) for r in
                                        _segments(draw, rid, side, round(width, 2), lo, hi, True)]
        if kind in _BIDDABLE and (kind not in ("import", "export") or res.get("fifteen_minute")):
            for prod in _BIDDABLE[kind]:
                if draw(st.integers(0, 3)) != 0:
                    continue
                cap = IR_BID_CAP_USD_PER_MWH if prod in IR_PRODUCTS else AS_RC_BID_CAP_USD_PER_MWH
                t["availability_bids_hourly"].append(dict(
                    resource=rid, hour=h, product=prod,
                    mw=0.0 if draw(st.integers(0, 4)) == 0 else _mw(draw, 0.0, res["pmax_mw"]),
                    price_usd_per_mwh=_mw(draw, 0.0, cap), iso_inserted=False))


def _ties(draw, hours: list[int], t: dict) -> None:
    """Import/export tie limits (issue 19, §5.5): some imports and exports on one tie with
    import and export limits (blank = none) that leave room for the self-schedules (the
    loader's rule), tight enough to bind."""
    res = [r for r in t["resources"] if r["type"] in ("import", "export")]
    on = [r for r in res if draw(st.booleans())]
    if not on:
        return
    t["tie_resources"] += [dict(resource=r["resource"], tie="T1") for r in on]
    ss = {(r["resource"], r["hour"]): r["self_schedule_mw"] for r in t["resource_hours"]
          if r.get("self_schedule_mw") is not None and r["self_schedule_mw"] == r["self_schedule_mw"]}
    for h in hours:
        floor = {kind: sum(min(ss.get((r["resource"], h), 0.0), r["pmax_mw"])
                           for r in on if r["type"] == kind) for kind in ("import", "export")}
        row = dict(tie="T1", hour=h)
        for kind, col in (("import", "import_limit_mw"), ("export", "export_limit_mw")):
            if draw(st.integers(0, 2)) != 0:   # blank: no limit that way
                row[col] = round(floor[kind] + _mw(draw, 0.0, 150.0), 2)
        t["tie_limits"].append(row)


def _network(draw, buses: list[str], hours: list[int], t: dict) -> None:
    """A random spanning tree plus up to two extra branches (connected: validation rejects
    islands); ratings from tight to loose, some unmonitored, some hourly derates."""
    edges = [(buses[draw(st.integers(0, i - 1))], buses[i]) for i in range(1, len(buses))]
    if len(buses) > 2:
        for _ in range(draw(st.integers(0, 2))):
            i, j = draw(st.integers(0, len(buses) - 1)), draw(st.integers(0, len(buses) - 1))
            if i != j:
                edges.append((buses[i], buses[j]))
    for k, (f, to) in enumerate(edges):
        monitored = draw(st.integers(0, 3)) > 0
        br = dict(branch=f"L{k}", from_bus=f, to_bus=to, reactance_pu=_mw(draw, 0.01, 0.5),
                  rating_mw=_mw(draw, 10.0, 400.0), monitored=monitored,
                  enforce_base=draw(st.integers(0, 4)) > 0, enforce_in_ruc=draw(st.booleans()))
        t["branches"].append(br)
        if monitored and draw(st.integers(0, 4)) == 0:
            t["branch_ratings"] += [dict(branch=br["branch"], hour=h,
                                         rating_mw=_mw(draw, 0.0, br["rating_mw"])) for h in hours]


def _interfaces(draw, baas: list[str], hours: list[int], t: dict) -> None:
    """ETSRs between BAA pairs: often none or one-way (both directions when the one-way defect is
    avoided); limits from 0 up; base transfers sometimes; hurdles often 0."""
    two_way_only = "one_way_etsr_yd" in AVOID_KNOWN_DEFECTS
    positive_hurdle = "zero_hurdle_cycles" in AVOID_KNOWN_DEFECTS
    for i, a in enumerate(baas):
        for b in baas[i + 1:]:
            shape = draw(st.sampled_from(("none", "both") if two_way_only
                                         else ("none", "ab", "ba", "both")))
            pairs = {"none": [], "ab": [(a, b)], "ba": [(b, a)], "both": [(a, b), (b, a)]}[shape]
            for f, to in pairs:
                k = f"{f}_{to}"
                hurdle = _often_zero(draw, 10.0, 0.6)
                if positive_hurdle:
                    hurdle = max(hurdle, 0.01)
                t["interfaces"].append(dict(interface=k, from_baa=f, to_baa=to,
                                            hurdle_usd_per_mwh=hurdle))
                for h in hours:
                    lim = _mw(draw, 0.0, 300.0)
                    base = round(lim * draw(st.integers(0, 5)) / 10, 2) \
                        if draw(st.integers(0, 3)) == 0 else 0.0
                    t["interface_hours"].append(dict(interface=k, hour=h, limit_mw=lim,
                                                     base_transfer_mw=base))


def _baa_hours(draw, baas: list[str], hours: list[int], fixed: dict, t: dict) -> None:
    """Forecast = fixed demand, or off it (RCU/RCD); AS/IR requirements often zero; IR demand
    curves sometimes."""
    same_ir = "phantom_ir_export" in AVOID_KNOWN_DEFECTS
    for h in hours:
        ir_on = {p: draw(st.integers(0, 99)) < 40 for p in IR_PRODUCTS}
        for b in baas:
            d = fixed[(b, h)]
            forecast = d if draw(st.integers(0, 99)) < 50 else \
                round(max(0.0, d + _mw(draw, -60.0, 60.0)), 2)
            row = dict(baa=b, hour=h, demand_forecast_mw=forecast)
            for p in AS_PRODUCTS:
                row[f"{p}_requirement_mw"] = _often_zero(draw, 60.0, 0.7)
            for p in IR_PRODUCTS:
                if same_ir:
                    row[f"{p}_requirement_mw"] = _mw(draw, 0.01, 80.0) if ir_on[p] else 0.0
                else:
                    row[f"{p}_requirement_mw"] = _often_zero(draw, 80.0, 0.6)
            if draw(st.integers(0, 4)) == 0:
                row["additional_margin_mw"] = _mw(draw, 0.0, 30.0)
            if draw(st.integers(0, 4)) == 0:
                row["rse_net_import_mw"] = _mw(draw, -30.0, 30.0)
            if draw(st.integers(0, 4)) == 0:
                row["hub_price_usd_per_mwh"] = _mw(draw, 0.0, 100.0)
            if draw(st.integers(0, 5)) == 0:
                row["nec_mw"] = _mw(draw, 0.0, 200.0)
            t["baa_hours"].append(row)
            for p in IR_PRODUCTS:
                req = row[f"{p}_requirement_mw"]
                if req > 0 and draw(st.integers(0, 2)) == 0:  # a two-segment demand curve
                    w1 = round(req * draw(st.integers(1, 9)) / 10, 2)
                    hi, lo = sorted((_mw(draw, 0.0, 80.0), _mw(draw, 0.0, 80.0)), reverse=True)
                    t["ir_demand_curves"] += [
                        dict(baa=b, product=p, hour=h, segment=1, mw=w1, price_usd_per_mwh=hi),
                        dict(baa=b, product=p, hour=h, segment=2, mw=round(req - w1, 2),
                             price_usd_per_mwh=lo)]


def tunables(phases: tuple[int, ...] = (1, 2, 3)) -> st.SearchStrategy[dict]:
    """Random values of the five tunables of spec §9 (architecture.md "Parameters") and of the
    other market options ([A] parameters) that change the model."""
    frac = st.floats(0.0, 1.0).map(lambda x: round(x, 3))
    return st.fixed_dictionaries({
        "phase": st.sampled_from(phases),
        "deployment_constraint_set": st.sampled_from(("none", "base", "all")),
        "ir_deployed_proportion": frac,
        "storage_envelope_multiplier_up": frac,
        "storage_envelope_multiplier_down": frac,
        "ir_demand_curve_cap_usd_per_mwh": st.floats(0.0, 100.0).map(lambda x: round(x, 2)),
        "ir_rc_default_availability_bid_usd_per_mwh": st.floats(0.0, 100.0).map(
            lambda x: round(x, 2)),
        "mpm_mode": st.sampled_from(("off", "ir_rc", "cap_all")),
        "mpm_pivotal_suppliers": st.integers(1, 3),
        "storage_mode_binary": st.booleans(),
        "rc_exclusivity_binary": st.booleans(),
        "as_in_hourly_ramp": st.booleans(),
        "iru_import_tier1": st.sampled_from(("directional", "as_published")),
        "rse_surcharge_price_basis": st.sampled_from(("lmp", "hub", "max")),
        "transfer_revenue_share_from": frac,
        "run_ruc": st.integers(0, 4).map(lambda k: k > 0),
        "ir_ramp_minutes": st.sampled_from((5.0, 15.0, 30.0)),
        "as_ramp_minutes": st.sampled_from((10.0, 20.0, math.inf)),
        "storage_as_sustain_hours": st.sampled_from((0.25, 0.5, 1.0)),
    })


GHG_BID_TYPES = ("thermal", "ver", "hydro", "storage", "import")


def _ghg(draw, baas: list[str], bus_baa: dict, hours: list[int], t: dict) -> str:
    """GHG regulation areas (§5.13): one area of some BAAs (two areas sometimes), GHG bids of
    some supply resources outside each area (adders often 0 or small, MW up to Pmax, some
    hours without a bid), emission rates, a random reference option (a base schedule for some
    resources when it is `base_schedule`). Returns the `ghg_reference` option."""
    inside = draw(st.lists(st.sampled_from(baas), min_size=1, max_size=len(baas) - 1,
                           unique=True))
    two = len(inside) >= 2 and draw(st.booleans())
    area_of = {b: ("WA" if two and i == 0 else "CA") for i, b in enumerate(sorted(inside))}
    t["ghg_areas"] = [dict(baa=b, area=a) for b, a in area_of.items()]
    for res in t["resources"]:
        if res["type"] not in GHG_BID_TYPES:
            continue
        own = area_of.get(bus_baa[res["bus"]])
        if draw(st.integers(0, 3)) == 0:
            t["ghg_emission_rates"].append(dict(resource=res["resource"],
                                                emission_rate_t_per_mwh=_mw(draw, 0.0, 1.2)))
        for a in sorted(set(area_of.values()) - {own}):
            if draw(st.integers(0, 2)) == 0:
                continue
            for h in hours:
                if draw(st.integers(0, 4)) == 0:
                    continue   # no bid that hour
                t["ghg_bids"].append(dict(resource=res["resource"], area=a, hour=h,
                                          adder_usd_per_mwh=_often_zero(draw, 40.0, 0.3),
                                          mw=_mw(draw, 0.0, float(res["pmax_mw"]))))
    ref = draw(st.sampled_from(("area", "baa", "none", "base_schedule")))
    if ref == "base_schedule":
        for res in t["resources"]:
            if res["type"] in GHG_BID_TYPES and draw(st.booleans()):
                t["ghg_base_schedule"] += [dict(resource=res["resource"], hour=h,
                                                mw=_mw(draw, 0.0, float(res["pmax_mw"])))
                                           for h in hours]
    return ref


@st.composite
def markets(draw, max_baas: int = 4, max_hours: int = 4, max_buses: int = 8,
            max_resources: int = 10, phases: tuple[int, ...] = (1, 2, 3),
            parameters: dict | None = None, ghg: float = 1 / 3) -> Scenario:
    """A random valid small market (see the module docstring). `parameters` fixes some
    parameters over the random tunables; `ghg`: the chance of GHG areas (with 2+ BAAs)."""
    n_baas = draw(st.integers(1, max_baas))
    hours = list(range(1, draw(st.integers(1, max_hours)) + 1))
    n_buses = draw(st.integers(max(2, n_baas), max(2, n_baas, max_buses)))
    baas = [chr(ord("A") + i) for i in range(n_baas)]
    buses = [f"n{i}" for i in range(n_buses)]
    bus_baa = {bus: (baas[i] if i < n_baas else baas[draw(st.integers(0, n_baas - 1))])
               for i, bus in enumerate(buses)}
    t: dict[str, list] = {k: [] for k in (
        "baas", "buses", "branches", "branch_ratings", "interfaces", "interface_hours",
        "resources", "thermal", "startup_costs", "storage", "hydro", "resource_hours",
        "energy_bids", "availability_bids", "demand", "baa_hours", "ir_demand_curves",
        "load_distribution", "energy_bids_hourly", "availability_bids_hourly", "tie_resources",
        "tie_limits", "ghg_areas", "ghg_bids", "ghg_emission_rates", "ghg_base_schedule")}
    ref = draw(st.integers(0, n_baas - 1))
    t["buses"] = [dict(bus=bus, baa=bus_baa[bus]) for bus in buses]
    _network(draw, buses, hours, t)
    _interfaces(draw, baas, hours, t)
    linked = {x[k] for x in t["interfaces"] for k in ("from_baa", "to_baa")}
    for i, b in enumerate(baas):
        nec = draw(st.integers(0, 3)) == 0
        if "nec_without_etsr" in AVOID_KNOWN_DEFECTS and b not in linked:
            nec = False
        t["baas"].append(dict(baa=b, is_reference=(i == ref), nec_enabled=nec,
                              confidence_factor=round(draw(st.floats(0.0, 1.0)), 2) if nec else 0.0,
                              ghg_regulated=draw(st.integers(0, 3)) == 0))
    kinds = draw(st.lists(st.sampled_from(RESOURCE_KINDS), min_size=1, max_size=max_resources))
    for k, kind in enumerate(kinds):
        _resource(draw, f"R{k}_{kind}", kind, buses[draw(st.integers(0, n_buses - 1))], hours, t)
    if draw(st.integers(0, 2)) == 0:
        _ties(draw, hours, t)
    fixed = {(b, h): 0.0 for b in baas for h in hours}
    for bus in buses:
        if draw(st.integers(0, 2)) == 0:
            continue  # no fixed demand at this bus (a BAA may have none at all)
        for h in hours:
            mw = _mw(draw, 0.0, 250.0)
            t["demand"].append(dict(bus=bus, hour=h, fixed_demand_mw=mw))
            fixed[(bus_baa[bus], h)] += mw
    fixed = {k: round(v, 2) for k, v in fixed.items()}
    _baa_hours(draw, baas, hours, fixed, t)
    if draw(st.integers(0, 3)) == 0:  # explicit LDFs summing to 1 per BAA
        for b in baas:
            mine = [bus for bus in buses if bus_baa[bus] == b]
            w = [draw(st.integers(0, 5)) for _ in mine]
            if sum(w) == 0:
                w[0] = 1
            ldf = [x / sum(w) for x in w]
            t["load_distribution"] += [dict(bus=bus, ldf=v) for bus, v in zip(mine, ldf)]
    params = draw(tunables(phases))
    if n_baas >= 2 and ghg > 0 and draw(st.floats(0.0, 1.0)) < ghg:
        params["ghg_reference"] = _ghg(draw, baas, bus_baa, hours, t)
    params.update(mip_rel_gap=0.0, time_limit_s=60.0)
    params.update(parameters or {})
    return make_scenario({k: v for k, v in t.items() if v or k in ("branches", "interfaces",
                                                                    "interface_hours",
                                                                    "energy_bids", "demand")},
                         name="random_market", trade_date="2026-06-01", hours=len(hours),
                         parameters=params)
