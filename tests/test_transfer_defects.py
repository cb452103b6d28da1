"""EDAM transfer correctness (issue 16, defects 1, 2, 5, 6): hand-solved markets.

Every case: one hour, one bus per BAA joined by an unmonitored tie (no network or deployment
rows bind), thermal units with Pmin 0 and no commitment costs, flat bids, mpm off, the IR
requirement one segment at the $55 cap (spec §5.7 default), IR ramp horizon T^IR = 15 min
(IRU, IRD ≤ 15·RR), hurdles 0. Prices are BAA balance duals π (§6.1); numbers worked out in each
test's docstring.
"""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.api import solve
from clearing.market.data import prepare
from clearing.market.engine import extract_ifm, net_ifm_cycles
from clearing.market.ifm import build_ifm, solve_and_price
from clearing.analysis.settle import settle
from network.ptdf import scenario_ptdf
from products.reliability_capacity import build_ruc
from pyomo.core.expr.visitor import identify_variables
from network.transfers import (cancel_transfer_cycles, find_transfer_cycles,
                               transfer_revenue_lines)
from scenarios import load_scenario, write_scenario
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError
from scenarios.examples import example_11_1

TOL = 1e-6


def _gen(rid, bus, pmax, price, *, ramp=1000.0, initial_mw=0.0, long_start=True):
    res = dict(resource=rid, type="thermal", bus=bus, pmin_mw=0.0, pmax_mw=pmax,
               ramp_up_mw_per_min=ramp, ramp_down_mw_per_min=ramp)
    th = dict(resource=rid, min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=24, initial_mw=initial_mw,
              long_start=long_start, fast_start=not long_start)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price)
    return res, th, eb


def _market(baas: dict, gens: list, etsrs: dict, ir_bids=(), phase=2, ir_curves=(), **params):
    """baas: {baa: dict(load=MW, iru=MW, ird=MW, forecast=MW (default: load))}; gens: _gen tuples (bus = BAA id);
    etsrs: {(from, to): limit MW}; ir_bids: (resource, product, price); ir_curves: (baa,
    product, MW, price) one-segment demand curves in hour 1."""
    names = sorted(baas)
    tables = dict(
        baas=[dict(baa=a, is_reference=(i == 0)) for i, a in enumerate(names)],
        buses=[dict(bus=a, baa=a) for a in names],
        branches=[dict(branch=f"{a}_{b}", from_bus=a, to_bus=b, reactance_pu=0.1,
                       rating_mw=99999.0, monitored=False, enforce_base=False,
                       enforce_in_ruc=False) for a, b in zip(names, names[1:])],
        interfaces=[dict(interface=f"{o}_{e}", from_baa=o, to_baa=e) for (o, e) in etsrs],
        interface_hours=[dict(interface=f"{o}_{e}", hour=1, limit_mw=lim)
                         for (o, e), lim in etsrs.items()],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens],
        demand=[dict(bus=a, hour=1, fixed_demand_mw=v["load"]) for a, v in baas.items()],
        baa_hours=[dict(baa=a, hour=1, demand_forecast_mw=v.get("forecast", v["load"]),
                        iru_requirement_mw=v.get("iru", 0.0),
                        ird_requirement_mw=v.get("ird", 0.0)) for a, v in baas.items()],
    )
    if ir_curves:
        tables["ir_demand_curves"] = [dict(baa=a, product=p, hour=1, segment=1, mw=w,
                                           price_usd_per_mwh=c) for a, p, w, c in ir_curves]
    if ir_bids:
        tables["availability_bids"] = [dict(resource=r, product=p, mw=1000.0,
                                            price_usd_per_mwh=c) for r, p, c in ir_bids]
    return make_scenario(tables, name="transfer_case", trade_date="2026-06-01", hours=1,
                         parameters=dict(phase=phase, mpm_mode="off", **params))


def _at(df, key_col, key, col):
    return float(df.set_index(key_col).at[key, col])


def _price(r, baa, product):
    pp = r.product_prices
    return float(pp[(pp["baa"] == baa) & (pp["product"] == product)]["price_usd_per_mwh"].iloc[0])


def _summary(r, baa, col):
    return _at(r.baa_summary, "baa", baa, col)


# --- defect 1: imbalance reserve created from nothing ------------------------------------------
def _ir_case(a_holds_iru: bool):
    gens = [_gen("G1", "A", 200.0, 20.0, ramp=4.0, initial_mw=150.0),
            _gen("G2", "B", 300.0, 40.0, ramp=2.0, initial_mw=50.0)]
    bids = [("G2", "iru", 10.0)] + ([("G1", "iru", 0.0)] if a_holds_iru else [])
    return _market({"A": dict(load=50.0), "B": dict(load=150.0, iru=50.0)}, gens,
                   {("A", "B"): 100.0, ("B", "A"): 100.0}, bids)


def test_no_requirement_and_no_ir_means_no_ir_export():
    """A: G1 200 MW @ $20, load 50, no IRU requirement, no IR bids. B: G2 300 MW @ $40, ramp
    2 MW/min (IRU ≤ 15·2 = 30) with an IRU bid of $10, load 150, IRU requirement 50 on one
    segment at $55. ETSRs A→B and B→A, 100 MW each.

    A holds no IRU, so CU_A = −yU_A_B + yU_B_A ≥ 0 stops any IRU export from A (§5.7: the row
    exists for every BAA-hour). Energy: A's cheap G1 fills the ETSR: x_A_B = 100, G1 = 50 + 100 =
    150, G2 = 150 − 100 = 50; π_A = 20 (G1 inside its range), π_B = 40 (G2 marginal); ETSR
    shadow price 40 − 20 = 20. IRU in B: G2 30 (its ramp limit) at $10 < $55; the other 20 MW are
    relaxed, so ρU_B = IRURMP_B = $55 = IRUMP_G2. A: no requirement, nothing held or moved:
    IRU price reported 0 [A]. §4.1 objective 150·20 + 50·40 + 30·10 − 55·30 = 3,650.
    (Without the row A "exported" 20 MW of IRU it did not hold: x_A_B fell to 80 and ρU_B to 20.)
    """
    r = solve(_ir_case(a_holds_iru=False))
    s, t = r.schedules, r.transfers
    assert _at(s, "resource", "G1", "energy_mw") == pytest.approx(150.0, abs=TOL)
    assert _at(s, "resource", "G2", "energy_mw") == pytest.approx(50.0, abs=TOL)
    assert _at(s, "resource", "G2", "iru_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(t, "interface", "A_B", "mw") == pytest.approx(100.0, abs=TOL)
    assert _at(t, "interface", "B_A", "mw") == pytest.approx(0.0, abs=TOL)
    assert t["iru_transfer_mw"].abs().max() == pytest.approx(0.0, abs=TOL)
    assert _at(t, "interface", "A_B", "shadow_price") == pytest.approx(20.0, abs=TOL)
    assert _summary(r, "B", "iru_cleared_mw") == pytest.approx(30.0, abs=TOL)
    assert _summary(r, "B", "iru_relaxed_mw") == pytest.approx(20.0, abs=TOL)
    assert _price(r, "B", "iru") == pytest.approx(55.0, abs=TOL)
    assert _price(r, "A", "iru") == pytest.approx(0.0, abs=TOL)
    assert _at(r.resource_prices, "resource", "G2", "iru_usd_per_mwh") == pytest.approx(55.0)
    assert (_price(r, "A", "energy"), _price(r, "B", "energy")) == pytest.approx((20.0, 40.0))
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(3650.0, abs=1e-4)


def test_a_baa_without_requirement_exports_iru_it_holds():
    """As above, but A's G1 offers IRU at $0 with ramp 4 MW/min (IRU ≤ 60).

    B needs 50: G2's 30 at $10 first. The last 20 MW: relax at $55, or import from A, where IRU
    costs $0 but each MW of yU_A_B takes one MW of ETSR headroom from energy worth
    π_B − π_A = 40 − 20 = $20: 20 < 55, so yU_A_B = 20 held by G1 (CU_A = 20 − 20 = 0), and
    x_A_B = 100 − 20 = 80, G1 = 50 + 80 = 130 (+20 IRU ≤ 200), G2 = 150 − 80 = 70. Nothing
    relaxed; ρU_A = G1's bid $0 (G1 inside its limits); ρU_B = ρU_A + ν = 0 + 20 = $20 =
    IRUMP_G2 (award at its ramp limit, ≥ its $10 bid); IRUMP_G1 = 0. π_A = 20, π_B = 40.
    §4.1 objective 130·20 + 70·40 + 30·10 + 20·0 − 55·50 = 2,950 (< 3,650 relaxing instead).
    The 2-cycle x_A_B = 100, x_B_A = 20 is the same market; cycle netting reports x_B_A = 0."""
    r = solve(_ir_case(a_holds_iru=True))
    s, t = r.schedules, r.transfers
    assert _at(s, "resource", "G1", "iru_mw") == pytest.approx(20.0, abs=TOL)
    assert _at(s, "resource", "G2", "iru_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(s, "resource", "G1", "energy_mw") == pytest.approx(130.0, abs=TOL)
    assert _at(s, "resource", "G2", "energy_mw") == pytest.approx(70.0, abs=TOL)
    assert _at(t, "interface", "A_B", "mw") == pytest.approx(80.0, abs=TOL)
    assert _at(t, "interface", "B_A", "mw") == pytest.approx(0.0, abs=TOL)
    assert _at(t, "interface", "A_B", "iru_transfer_mw") == pytest.approx(20.0, abs=TOL)
    assert _at(t, "interface", "B_A", "iru_transfer_mw") == pytest.approx(0.0, abs=TOL)
    assert _summary(r, "B", "iru_relaxed_mw") == pytest.approx(0.0, abs=TOL)
    assert _price(r, "B", "iru") == pytest.approx(20.0, abs=TOL)
    assert _price(r, "A", "iru") == pytest.approx(0.0, abs=TOL)
    rp = r.resource_prices
    assert _at(rp, "resource", "G2", "iru_usd_per_mwh") == pytest.approx(20.0, abs=TOL)
    assert _at(rp, "resource", "G1", "iru_usd_per_mwh") == pytest.approx(0.0, abs=TOL)
    assert (_price(r, "A", "energy"), _price(r, "B", "energy")) == pytest.approx((20.0, 40.0))
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(2950.0, abs=1e-4)


def test_a_baa_exporting_all_its_iru_prices_it_at_the_importers_value():
    """Random-market finding (issue 16, phase 2 with deployment rows): a BAA that relaxes its own
    IRU requirement while exporting all the IRU it holds has a zero net credit, and the engine
    took its row for degenerate and reported its own curve's price, paying the exported IRU below
    its bid (the checker's profit rule caught it).

    A: G1 400 MW @ $20, ramp 0.4 MW/min (IRU ≤ 15·0.4 = 6) with an IRU bid of $30, load 50, IRU
    requirement 10 on one segment at $15. B: G2 300 MW @ $40, no IR bid, load 150, IRU
    requirement 10 on one segment at $45. ETSRs A→B and B→A, 1,000 MW each (never binding).
    Energy: G1 serves both loads (200 MW, inside its range), π_A = π_B = $20. IRU: A's own
    curve ($15) is below G1's $30 bid, B's ($45) above it, so G1's 6 MW go to B: yU_A_B = 6,
    B clears 6 of 10 (segment partly cleared: ρU_B = $45), A clears 0 of 10 (relaxed at $15).
    The transfer's reduced cost is 0 with no hurdle and no binding ETSR: ρU_A = ρU_B = $45
    (not A's $15), so IRUMP_G1 = 45 ≥ its $30 bid (its award is at the ramp limit).
    §4.1 objective 200·20 + 6·30 − 6·45 = 3,910. The checker passes the run; its ir_price_cap
    rule (ρ ≤ cap while relaxed) holds only for BAAs that export no IR: with the cap read as $40,
    B (relaxed, no export, ρ 45) is flagged and A (exporting) is not, until the published IRU
    transfer is removed."""
    from clearing.analysis.check import check_run
    gens = [_gen("G1", "A", 400.0, 20.0, ramp=0.4, initial_mw=200.0),
            _gen("G2", "B", 300.0, 40.0)]
    sc = _market({"A": dict(load=50.0, iru=10.0), "B": dict(load=150.0, iru=10.0)}, gens,
                 {("A", "B"): 1000.0, ("B", "A"): 1000.0}, [("G1", "iru", 30.0)],
                 ir_curves=[("A", "iru", 10.0, 15.0), ("B", "iru", 10.0, 45.0)])
    r = solve(sc)
    s, t = r.schedules, r.transfers
    assert _at(s, "resource", "G1", "energy_mw") == pytest.approx(200.0, abs=TOL)
    assert _at(s, "resource", "G1", "iru_mw") == pytest.approx(6.0, abs=TOL)
    net = t.set_index("interface")["iru_transfer_mw"]
    assert net["A_B"] - net["B_A"] == pytest.approx(6.0, abs=TOL)
    assert _summary(r, "A", "iru_cleared_mw") == pytest.approx(0.0, abs=TOL)
    assert _summary(r, "B", "iru_cleared_mw") == pytest.approx(6.0, abs=TOL)
    assert _price(r, "B", "iru") == pytest.approx(45.0, abs=TOL)
    assert _price(r, "A", "iru") == pytest.approx(45.0, abs=TOL)
    assert _at(r.resource_prices, "resource", "G1", "iru_usd_per_mwh") == pytest.approx(45.0)
    assert (_price(r, "A", "energy"), _price(r, "B", "energy")) == pytest.approx((20.0, 20.0))
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(3910.0, abs=1e-4)
    assert check_run(sc, r).empty
    r.manifest["parameters"]["ir_demand_curve_cap_usd_per_mwh"] = 40.0  # the cap the run used
    flagged = lambda: set(check_run(sc, r).query("rule == 'ir_price_cap'")["id"])  # noqa: E731
    assert flagged() == {"B"}
    r.tables["transfers"]["iru_transfer_mw"] = 0.0
    assert flagged() == {"A", "B"}


def test_a_leg_carrying_ird_over_an_undeclared_reverse_is_not_circulation():
    """Random-market finding (issue 16): a directed cycle of positive transfers whose legs cannot
    all be lowered is not circulation; the checker flagged it.

    Three BAAs, one-way ETSRs B→A, A→C (1,000 MW) and C→B (50 MW), no hurdles. A: G_A 300 MW
    @ $10, load 50, IRD requirement 10 at $55. B: G_B 300 MW @ $50 with an IRD bid of $0 (ramp
    100 MW/min), load 100. C: nothing. A's IRD can only come from G_B: yD_B_A (IRD held in B for
    A) enters the undeclared A→B row −x_B_A + yD_B_A ≤ 0, so B must send x_B_A ≥ 10 MW of energy
    to A. Cheap energy reaches B only over A→C→B, capped at 50: x_A_C = x_C_B = 50, x_B_A = 10,
    G_A = 50 + 50 − 10 = 90, G_B = 100 − 50 + 10 = 60 (IRD 10 ≤ 60). π_A = π_C = $10 (G_A
    marginal), π_B = $50 (G_B marginal); each MW of IRD for A costs one more MW of counterflow,
    50 − 10 = $40 < $55: ρD_A = $40, ρD_B = $0 (G_B's IRD inside its range at its $0 bid).
    §4.1 objective 90·10 + 60·50 + 10·0 − 55·10 = 3,350. Rent: energy 10·(10 − 50) +
    50·(50 − 10) = 1,600, IR 10·(40 − 0) = 400, together the C→B row's 40·50.
    The cycle B→A→C→B (legs 10, 50, 50) cannot be cancelled: lowering x_B_A breaks the undeclared
    A→B row, so netting keeps it and the checker passes. With the published IRD transfer taken
    out of the table, the same cycle is circulation and is flagged (10 MW could be cancelled)."""
    from clearing.analysis.check import check_run
    from clearing.analysis.check.context import Context
    from clearing.analysis.check.prices import ir_surplus
    gens = [_gen("G_A", "A", 300.0, 10.0), _gen("G_B", "B", 300.0, 50.0, ramp=100.0)]
    sc = _market({"A": dict(load=50.0, ird=10.0), "B": dict(load=100.0), "C": dict(load=0.0)},
                 gens, {("B", "A"): 1000.0, ("A", "C"): 1000.0, ("C", "B"): 50.0},
                 [("G_B", "ird", 0.0)])
    r = solve(sc)
    s, t = r.schedules, r.transfers.set_index("interface")
    assert (t.at["B_A", "mw"], t.at["A_C", "mw"], t.at["C_B", "mw"]) == pytest.approx(
        (10.0, 50.0, 50.0), abs=TOL)
    assert t.at["B_A", "ird_transfer_mw"] == pytest.approx(10.0, abs=TOL)
    assert _at(s, "resource", "G_A", "energy_mw") == pytest.approx(90.0, abs=TOL)
    assert _at(s, "resource", "G_B", "energy_mw") == pytest.approx(60.0, abs=TOL)
    assert _at(s, "resource", "G_B", "ird_mw") == pytest.approx(10.0, abs=TOL)
    assert [_price(r, b, "energy") for b in "ABC"] == pytest.approx([10.0, 50.0, 10.0])
    assert (_price(r, "A", "ird"), _price(r, "B", "ird")) == pytest.approx((40.0, 0.0), abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(3350.0, abs=1e-4)
    v = check_run(sc, r)
    assert v.empty, v.to_string()
    assert ir_surplus(Context(sc, r, 1e-6))[1][0] == pytest.approx(400.0, abs=1e-6)
    r.tables["transfers"]["ird_transfer_mw"] = 0.0
    cyc = check_run(sc, r).query("rule == 'transfer_cycle'")
    # the IFM transfers and the RUC's (x^R, with the IFM's yD) show the same cycle
    assert set(cyc["id"]) == {"A→C→B→A"} and set(cyc["table"]) == {"transfers", "ruc_transfers"}
    assert list(cyc["amount"]) == pytest.approx([10.0, 10.0])


# --- defect 2: IRD transfers over a one-way ETSR -----------------------------------------------
def test_one_way_etsr_bounds_ird_transfer():
    """A: G1 200 MW @ $20, IRD bid $0, ramp 4 (IRD ≤ 60), load 50. B: G2 300 MW @ $40, IRD bid
    $10, ramp 1 (IRD ≤ 15), load 150, IRD requirement 50 at $55. Only A→B is declared, limit 30.

    IRD held in A for B is deployed by A backing down, a flow B→A: the undeclared direction is an
    ETSR with X^max = 0 whose row −x_A_B + yD_A_B ≤ X^base = 0 caps yD_A_B at the scheduled
    x_A_B (§5.2). Energy: x_A_B = 30 (limit), G1 = 80, G2 = 120; π_A = 20, π_B = 40. IRD in B:
    yD_A_B = 30 (G1's $0 IRD, G1 − 30 = 50 ≥ Pmin), G2 15 at $10, 5 MW relaxed: ρD_B = $55,
    ρD_A = $0 (G1 inside its limits), so the undeclared row's dual ν̄ = ρD_B − ρD_A = 55 and the
    ETSR's ν + β = π_B − π_A + ν̄ = 20 + 55 = 75 (each MW of x also carries a MW of IRD).
    TR = 30 × (40 − 20) = 600. §4.1 objective 80·20 + 120·40 + 15·10 − 55·45 = 4,075.
    (Without the row yD was unbounded: B's 50 MW all came from A and ρD_B was 0.)"""
    gens = [_gen("G1", "A", 200.0, 20.0, ramp=4.0, initial_mw=80.0),
            _gen("G2", "B", 300.0, 40.0, ramp=1.0, initial_mw=120.0)]
    r = solve(_market({"A": dict(load=50.0), "B": dict(load=150.0, ird=50.0)}, gens,
                      {("A", "B"): 30.0}, [("G1", "ird", 0.0), ("G2", "ird", 10.0)]))
    s, t = r.schedules, r.transfers
    assert _at(t, "interface", "A_B", "mw") == pytest.approx(30.0, abs=TOL)
    assert _at(t, "interface", "A_B", "ird_transfer_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(s, "resource", "G1", "ird_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(s, "resource", "G2", "ird_mw") == pytest.approx(15.0, abs=TOL)
    assert _at(s, "resource", "G1", "energy_mw") == pytest.approx(80.0, abs=TOL)
    assert _at(s, "resource", "G2", "energy_mw") == pytest.approx(120.0, abs=TOL)
    assert _summary(r, "B", "ird_relaxed_mw") == pytest.approx(5.0, abs=TOL)
    assert _price(r, "B", "ird") == pytest.approx(55.0, abs=TOL)
    assert _price(r, "A", "ird") == pytest.approx(0.0, abs=TOL)
    assert (_price(r, "A", "energy"), _price(r, "B", "energy")) == pytest.approx((20.0, 40.0))
    assert _at(t, "interface", "A_B", "shadow_price") == pytest.approx(75.0, abs=TOL)
    assert _at(t, "interface", "A_B", "transfer_revenue_usd") == pytest.approx(600.0, abs=1e-4)
    bc = r.binding_constraints
    und = bc[bc["kind"] == "etsr_undeclared"]
    assert list(und["constraint"]) == ["A_B:undeclared_reverse"]
    assert float(und["shadow_price"].iloc[0]) == pytest.approx(55.0, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(4075.0, abs=1e-4)


def test_one_way_etsr_binds_the_ruc_transfer_too():
    """The IRD case above with B's demand forecast 120 (load 150 bid in) and RCD bids G1 $1,
    G2 $5. IFM as above (x_A_B = 30, yD_A_B = 30, G1 80, G2 120). RUC (§5.11): the undeclared
    B→A row holds the IFM's yD with x^R in place of x: 30 − x^R_A_B ≤ 0, and A→B's own row
    x^R_A_B ≤ 30, so x^R_A_B = 30. A: 80 − 30 = 50 = its forecast; B: 120 + 30 = 150 > 120, so
    RCD_G2 = 30 at $5 (RUC objective 30 × 5 = $150; G2 − RCD − IRD = 120 − 30 − 15 ≥ 0), RCDMP_G2
    = −π^R_B = $5 (one MW more forecast in B saves one MW of G2's RCD). Without the row RUC would
    cut x^R to 0 and buy RCD_G1 = 30 at $1 instead, freeing the headroom A's IRD relies on."""
    gens = [_gen("G1", "A", 200.0, 20.0, ramp=4.0, initial_mw=80.0),
            _gen("G2", "B", 300.0, 40.0, ramp=1.0, initial_mw=120.0)]
    r = solve(_market({"A": dict(load=50.0), "B": dict(load=150.0, ird=50.0, forecast=120.0)},
                      gens, {("A", "B"): 30.0},
                      [("G1", "ird", 0.0), ("G2", "ird", 10.0), ("G1", "rcd", 1.0),
                       ("G2", "rcd", 5.0)]))
    assert _at(r.transfers, "interface", "A_B", "ird_transfer_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(r.ruc_transfers, "interface", "A_B", "mw") == pytest.approx(30.0, abs=TOL)
    s = r.schedules
    assert _at(s, "resource", "G2", "rcd_mw") == pytest.approx(30.0, abs=TOL)
    assert _at(s, "resource", "G1", "rcd_mw") == pytest.approx(0.0, abs=TOL)
    assert _at(r.resource_prices, "resource", "G2", "rcd_usd_per_mwh") == pytest.approx(5.0)
    assert r.manifest["ruc"]["objective_lp"] == pytest.approx(150.0, abs=1e-4)


def test_every_ird_transfer_enters_an_etsr_row():
    """Structural check (§5.2): yD_k of every ETSR, one-way, paired or parallel (A→B twice plus
    B→A, and A→C alone), sits in some ETSR row of the IFM and the RUC, so none is unbounded."""
    gens = [_gen(g, a, 100.0, 10.0) for g, a in (("G1", "A"), ("G2", "B"), ("G3", "C"))]
    sc = _market({a: dict(load=50.0) for a in "ABC"}, gens, {})
    itf = pd.DataFrame([("AB1", "A", "B"), ("AB2", "A", "B"), ("BA", "B", "A"), ("AC", "A", "C")],
                       columns=["interface", "from_baa", "to_baa"])
    ih = pd.DataFrame([(k, 1, 50.0) for k in itf["interface"]],
                      columns=["interface", "hour", "limit_mw"])
    sc = make_scenario({**sc.tables, "interfaces": itf, "interface_hours": ih}, hours=1,
                       parameters=dict(mpm_mode="off"))
    d = prepare(sc)
    m = build_ifm(d).m
    in_rows = {id(v) for comp in (m.etsr_limit, m.etsr_undeclared) for con in comp.values()
               for v in identify_variables(con.body)}
    assert all(id(m.yD[k, 1]) in in_rows for k in itf["interface"])
    units = ("G1", "G2", "G3")
    ifm = dict(u={(i, 1): 1 for i in units}, g={(r, 1): 50.0 for r in units},
               up={(r, 1): 0.0 for r in units}, dn={(r, 1): 0.0 for r in units},
               yU={(k, 1): 0.0 for k in itf["interface"]},
               yD={(k, 1): 0.0 for k in itf["interface"]},
               x={(k, 1): 0.0 for k in itf["interface"]}, soc={})
    rm = build_ruc(d, ifm).m
    assert sorted(k for (k, _) in rm.KT_UNDECLARED) == ["AB2", "AC"]


# --- defect 5: transfers that go round in circles ----------------------------------------------
def _ring(phase=2, long_start=True):
    gens = [_gen("G1", "A", 300.0, 10.0, initial_mw=250.0, long_start=long_start),
            _gen("G2", "B", 300.0, 30.0, long_start=long_start),
            _gen("G3", "C", 300.0, 50.0, long_start=long_start)]
    return _market({"A": dict(load=50.0), "B": dict(load=100.0), "C": dict(load=100.0)}, gens,
                   {("A", "B"): 300.0, ("B", "A"): 300.0, ("B", "C"): 300.0,
                    ("C", "A"): 300.0}, phase=phase)


def test_ring_reports_no_cycle():
    """Ring A→B→C→A plus B→A, every limit 300, hurdles 0. A: G1 300 @ $10, load 50;
    B: G2 300 @ $30, load 100; C: G3 300 @ $50, load 100. G1 serves all 250 MW: A exports 200,
    B and C import 100 each. A reaches C only over A→B→C, so x_A_B − x_C_A − x_B_A = 200,
    x_B_C − x_A_B + x_B_A = −100, x_C_A − x_B_C = −100: x_A_B = 200 + c + y, x_B_C = 100 + c,
    x_C_A = c, x_B_A = y for any circulation c, y ≥ 0 within the limits; without cycles
    c = y = 0. No limit binds: π_A = π_B = π_C = $10, every ETSR shadow price 0, TR 0."""
    r = solve(_ring())
    t = r.transfers
    assert find_transfer_cycles(t) == []
    for k, mw in (("A_B", 200.0), ("B_C", 100.0), ("C_A", 0.0), ("B_A", 0.0)):
        assert _at(t, "interface", k, "mw") == pytest.approx(mw, abs=TOL), k
    assert t["shadow_price"].abs().max() == pytest.approx(0.0, abs=TOL)
    assert t["transfer_revenue_usd"].abs().max() == pytest.approx(0.0, abs=1e-6)
    bs = r.baa_summary.set_index("baa")["net_export_mw"]
    assert (bs["A"], bs["B"], bs["C"]) == pytest.approx((200.0, -100.0, -100.0), abs=TOL)
    # RUC: forecast = load, nothing to buy; x^R = x, with no cycle either
    assert find_transfer_cycles(r.ruc_transfers) == []
    for k, mw in (("A_B", 200.0), ("B_C", 100.0), ("C_A", 0.0), ("B_A", 0.0)):
        assert _at(r.ruc_transfers, "interface", k, "mw") == pytest.approx(mw, abs=TOL), k
    for a in "ABC":
        assert _price(r, a, "energy") == pytest.approx(10.0, abs=TOL)


def test_cycles_injected_into_a_solved_model_are_netted():
    """The ring of test_ring_reports_no_cycle, solved; then circulation c = 50 (A→B→C→A) and y = 30 (A→B→A) is added to the
    solution (still feasible and optimal: hurdles 0, every row slack), and IR transfers 2-cycling
    yU_A_B = yU_B_A = 40. Netting returns x_A_B = 200, x_B_C = 100, x_C_A = x_B_A = 0 and
    yU = 0, keeps the net positions (A 200 out, B and C 100 in) and the prices ($10), and with
    netting off the injected cycles stay in the transfers table."""
    sc = _ring()
    d = prepare(sc)
    b = build_ifm(d)
    sm = solve_and_price(b, scenario_ptdf(sc), ("base", "dep_up", "dep_down"), "IFM")
    m = b.m
    for k, add in (("A_B", 80.0), ("B_C", 50.0), ("C_A", 50.0), ("B_A", 30.0)):
        m.x[k, 1].set_value(m.x[k, 1].value + add)
    m.yU["A_B", 1].set_value(40.0)
    m.yU["B_A", 1].set_value(40.0)
    raw = {(k, 1): m.x[k, 1].value for k in ("A_B", "B_C", "C_A", "B_A")}
    assert raw[("A_B", 1)] == pytest.approx(280.0)
    removed = net_ifm_cycles(d, m)
    assert removed[1] == pytest.approx(50 * 3 + 30 * 2 + 40 * 2, abs=1e-6)
    for k, mw in (("A_B", 200.0), ("B_C", 100.0), ("C_A", 0.0), ("B_A", 0.0)):
        assert m.x[k, 1].value == pytest.approx(mw, abs=TOL), k
    assert m.yU["A_B", 1].value == pytest.approx(0.0, abs=TOL)
    assert m.yU["B_A", 1].value == pytest.approx(0.0, abs=TOL)
    tables, _ = extract_ifm(d, sm, scenario_ptdf(sc))
    assert find_transfer_cycles(tables["transfers"]) == []
    assert find_transfer_cycles(tables["transfers"], "iru_transfer_mw") == []
    assert set(tables["baa_prices"]["energy_price"].round(9)) == {10.0}
    # netting off: the same injected solution is reported as it is
    sc2 = sc.with_parameters(transfer_cycle_netting=False)
    d2 = prepare(sc2)
    b2 = build_ifm(d2)
    sm2 = solve_and_price(b2, scenario_ptdf(sc2), ("base", "dep_up", "dep_down"), "IFM")
    for (k, t), v in raw.items():
        b2.m.x[k, t].set_value(v)
    tables2, _ = extract_ifm(d2, sm2, scenario_ptdf(sc2))
    cyc = find_transfer_cycles(tables2["transfers"])
    assert sorted(tuple(c["interfaces"]) for c in cyc) == [("A_B", "B_A"), ("A_B", "B_C", "C_A")]


def test_rt_ring_reports_no_cycle(tmp_path):
    """The ring of test_ring_reports_no_cycle in phase 3 with short-start units (the RT run may re-dispatch them) and an
    rt/ folder holding each BAA's load at its DA value in all four intervals: every interval
    clears as the DA hour (x_A_B = 200, x_B_C = 100, the rest 0) with no cycle in rt_transfers."""
    path = write_scenario(_ring(phase=3, long_start=False), tmp_path / "ring")
    (path / "rt").mkdir()
    pd.DataFrame([dict(baa=a, hour=1, interval=j, demand_mw=v)
                  for a, v in (("A", 50.0), ("B", 100.0), ("C", 100.0))
                  for j in (1, 2, 3, 4)]).to_csv(path / "rt" / "demand_forecast.csv", index=False)
    r = solve(load_scenario(path))
    rt = r.rt_transfers
    assert len(rt) == 4 * 4
    assert find_transfer_cycles(rt) == []
    for k, mw in (("A_B", 200.0), ("B_C", 100.0), ("C_A", 0.0), ("B_A", 0.0)):
        assert rt.loc[rt["interface"] == k, "mw"].to_numpy() == pytest.approx([mw] * 4, abs=TOL)


def test_cancel_transfer_cycles_by_hand():
    """Pure netting, one period, arcs A→B (k1), B→C (k2), C→A (k3), B→A (k4).
    x: k1 = 150, k2 = 60, k3 = 60, k4 = 20 → net positions A −70 (out 150, in 60 + 20),
    B +70 (in 150, out 80), C 0. The 3-cycle carries min(150, 60, 60) = 60 and the 2-cycle k1/k4 carries 20. Rows (≤):
    - row r1: x_k3 ≤ 60 (gross) only lowers: no cap;
    - row r2: −x_k2 ≤ −20 (the reverse row of k2 when yD_k2 = 20, X^base 0: yD − x ≤ 0) caps
      the 3-cycle: x_k2 may fall by at most 60 − 20 = 40.
    So the 3-cycle is cancelled by 40 (k1 110, k2 20, k3 20), then the 2-cycle by 20 (k1 90,
    k4 0): x = (90, 20, 20, 0); the 3-cycle of 20 stays (its row is tight). A negative-cost
    cycle is kept."""
    arcs = {"k1": ("A", "B"), "k2": ("B", "C"), "k3": ("C", "A"), "k4": ("B", "A")}
    flows = {("x", "k1"): 150.0, ("x", "k2"): 60.0, ("x", "k3"): 60.0, ("x", "k4"): 20.0}
    rows = [({("x", "k3"): 1.0}, 60.0), ({("x", "k2"): -1.0}, -20.0)]
    out = cancel_transfer_cycles(arcs, flows, rows)
    assert [out[("x", k)] for k in ("k1", "k2", "k3", "k4")] == pytest.approx([90, 20, 20, 0])
    net = {a: 0.0 for a in "ABC"}
    for (c, k), v in out.items():
        net[arcs[k][0]] -= v
        net[arcs[k][1]] += v
    assert net == pytest.approx({"A": -70.0, "B": 70.0, "C": 0.0})
    # a cycle whose hurdles sum below 0 is kept (cancelling it would raise the cost)
    kept = cancel_transfer_cycles({"k1": ("A", "B"), "k4": ("B", "A")},
                                  {("x", "k1"): 10.0, ("x", "k4"): 10.0}, [],
                                  {("x", "k1"): -2.0, ("x", "k4"): 1.0})
    assert kept == {("x", "k1"): 10.0, ("x", "k4"): 10.0}


def test_find_transfer_cycles_on_a_table():
    """Hour 1: A→B 500, B→C 280, C→A 82 (the RTS-GMLC loop of issue 16, smallest flow 82).
    Hour 2: A→B 10 and B→A 5 (a 2-cycle, smallest 5). Hour 3: A→B 10 only: none."""
    t = pd.DataFrame([("AB", 1, "A", "B", 500.0), ("BC", 1, "B", "C", 280.0),
                      ("CA", 1, "C", "A", 82.0), ("AB", 2, "A", "B", 10.0),
                      ("BA", 2, "B", "A", 5.0), ("AB", 3, "A", "B", 10.0),
                      ("BA", 3, "B", "A", 0.0)],
                     columns=["interface", "hour", "from_baa", "to_baa", "mw"])
    cyc = find_transfer_cycles(t)
    assert [(c["hour"], sorted(c["interfaces"]), c["mw"]) for c in cyc] == [
        (1, ["AB", "BC", "CA"], 82.0), (2, ["AB", "BA"], 5.0)]


# --- defect 6: transfer revenue and its allocation ---------------------------------------------
@pytest.mark.parametrize("share_from, to_a, to_b", [(0.5, 1500.0, 1500.0), (0.3, 900.0, 2100.0)])
def test_transfer_revenue_11_1(share_from, to_a, to_b):
    """§11.1: x_A_B = 100, π_A = 20, π_B = 50 → TR = 100 × (50 − 20) = $3,000; 50/50 gives
    A 1,500 and B 1,500; share_from 0.3 gives A 0.3 × 3,000 = 900, B 2,100. Lines: party = the
    BAA, quantity 100 MW, price = amount / 100, paid to the BAA (amount > 0)."""
    sc = example_11_1(limit_mw=100).with_parameters(transfer_revenue_share_from=share_from)
    r = solve(sc)
    t = r.transfers.set_index("interface")
    assert t.at["A_B", "transfer_revenue_usd"] == pytest.approx(3000.0, abs=1e-4)
    assert t.at["B_A", "transfer_revenue_usd"] == pytest.approx(0.0, abs=1e-9)
    lines = settle(sc, r, None).table
    tr = lines[lines["charge"] == "transfer_revenue"].set_index("party")
    assert list(tr.index) == ["A", "B"]
    assert tr.at["A", "amount_usd"] == pytest.approx(to_a, abs=1e-4)
    assert tr.at["B", "amount_usd"] == pytest.approx(to_b, abs=1e-4)
    assert tr.at["A", "quantity"] == pytest.approx(100.0)
    assert tr.at["B", "price"] == pytest.approx(to_b / 100.0)
    assert (tr["resource"] == "").all() and list(tr["baa"]) == ["A", "B"]


def test_transfer_revenue_uses_gross_flow_of_each_direction():
    """Both directions carry flow: x_A_B = 100, x_B_A = 40, π_A = 20, π_B = 50:
    TR_A_B = 100 × 30 = 3,000, TR_B_A = 40 × (20 − 50) = −1,200 (not the net 60 × 30 = 1,800
    on one line). 50/50: A gets 1,500 − 600 = 900 over 140 MW, B the same."""
    t = pd.DataFrame([("A_B", 1, "A", "B", 100.0, 3000.0), ("B_A", 1, "B", "A", 40.0, -1200.0)],
                     columns=["interface", "hour", "from_baa", "to_baa", "mw",
                              "transfer_revenue_usd"])
    lines = transfer_revenue_lines(t, 0.5).set_index("party")
    assert lines.at["A", "amount_usd"] == pytest.approx(900.0)
    assert lines.at["B", "amount_usd"] == pytest.approx(900.0)
    assert lines.at["A", "quantity"] == pytest.approx(140.0)


def test_settle_computes_transfer_revenue_of_an_older_run_and_checks_prices():
    """A run without the transfer_revenue_usd column: TR from baa_prices.energy_price, the same
    3,000 as §11.1; a BAA-hour without a price is a ScenarioError naming file and column."""
    sc = example_11_1(limit_mw=100)
    r = solve(sc)
    tables = dict(r.tables)
    tables["transfers"] = r.transfers.drop(columns=["transfer_revenue_usd"])
    lines = settle(sc, tables, None).table
    assert lines.loc[lines["charge"] == "transfer_revenue", "amount_usd"].sum() == \
        pytest.approx(3000.0, abs=1e-4)
    tables["baa_prices"] = r.baa_prices[r.baa_prices["baa"] != "B"]
    with pytest.raises(ScenarioError) as err:
        settle(sc, tables, None)
    msg = str(err.value)
    assert "baa_prices.csv" in msg and "energy_price" in msg and "'B' hour 1" in msg
