"""The RUC formulation's LP bound (issue 20): the RCU of a unit the RUC may newly commit is
bounded by its commitment (products/reliability_capacity/component.py, `rc_commit_bound_mw`), so
the LP relaxation cannot buy RCU at a fraction of the unit's min-load and start-up cost. A
change that loosens the RUC rows again fails here; the optimum is the old formulation's.

Hand case (one BAA, one bus, one hour, no branches): load 100 MW, forecast 150 MW.
G1 100 MW @ $20 (on, Pmin 0) carries the load and has no RCU bid. G2 200 MW @ $50, off at the
start, Pmin 10 MW, min-load cost $100/h, start-up $500, RCU bid 60 MW @ $2/MWh.
IFM: G1 = 100, G2 stays off (committing it costs ≥ $600 for nothing).
RUC: the 50 MW gap is covered by committing G2: 500 + 100 + 50 × 2 = $700 (the alternative,
50 MW of RUC shortfall at the $1000/MWh penalty, costs $50,000).
Old LP relaxation: G2's capacity row RCU ≤ 200·u^R lets u^R = 50/200 = 0.25 and v^R = 0.25:
0.25 × (500 + 100) + 50 × 2 = $250, a bound gap of (700 − 250)/700 = 64 %.
Tight LP relaxation: RCU ≤ min(60 bid, 200 capacity, 10 + 60·1000 ramp) · u^R = 60·u^R forces
u^R ≥ 50/60: (5/6) × 600 + 100 = $600, a gap of 100/700 = 14.3 %.

Measured (benchmarks/ruc_bound.py, results/ruc_bound.json): on the bundled 24-hour day the RUC's
plain LP bound is 10.8 % below its optimum with either formulation (there the RCU bids and ramps
do not cut below Pmax), but HiGHS closes it at the root with the new rows (1 node against 250).
The hand case isolates the row: its limit is 15 %, above the tight rows' 14.3 % and far below
the old rows' 64 %, so any loosening of the row fails."""

from __future__ import annotations

import pytest

from benchmarks.ruc_bound import ruc_bound
from scenarios.build import make_scenario

MAX_BOUND_GAP = 0.15


def _one_hour_ruc_case(units, forecast_mw: float, name: str):
    """One BAA, one bus, one hour, load 100 MW: G1 100 MW @ $20 (on, Pmin 0, no RCU bid) carries
    it; each of `units` (resource, Pmin, Pmax, min-load $/h, start-up $, energy-bid MW at $50,
    RCU bid MW, RCU $/MWh) is off at the start with 1-hour minimum up/down times."""
    res = [dict(resource="G1", type="thermal", bus="1", pmin_mw=0.0, pmax_mw=100.0,
                ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0)]
    th = [dict(resource="G1", min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
               min_down_h=1, initial_on=True, initial_hours=24, initial_mw=100.0)]
    eb = [dict(resource="G1", side="supply", segment=1, mw=100.0, price_usd_per_mwh=20.0)]
    av = []
    for unit, pmin, pmax, mlc, su, energy_mw, rcu_mw, rcu_price in units:
        res.append(dict(resource=unit, type="thermal", bus="1", pmin_mw=pmin, pmax_mw=pmax,
                        ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0))
        th.append(dict(resource=unit, min_load_cost_usd_per_h=mlc, startup_cost_usd=su,
                       min_up_h=1, min_down_h=1, initial_on=False, initial_hours=24,
                       initial_mw=0.0))
        eb.append(dict(resource=unit, side="supply", segment=1, mw=energy_mw,
                       price_usd_per_mwh=50.0))
        av.append(dict(resource=unit, product="rcu", mw=rcu_mw, price_usd_per_mwh=rcu_price))
    tables = dict(
        resources=res, thermal=th, energy_bids=eb,
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=1, fixed_demand_mw=100.0)],
        load_distribution=[dict(bus="1", ldf=1.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=forecast_mw)],
        availability_bids=av)
    return make_scenario(tables, name=name, trade_date="2026-06-01", hours=1,
                         parameters={"mpm_mode": "off"})


def _ruc_commit_case():
    """The module docstring's case: G2 (Pmin 10, Pmax 200, $100/h, start-up $500, RCU 60 MW @
    $2), forecast 150 MW."""
    return _one_hour_ruc_case([("G2", 10.0, 200.0, 100.0, 500.0, 190.0, 60.0, 2.0)], 150.0,
                              "ruc_commit_bound")


@pytest.fixture
def built_ruc(monkeypatch) -> dict:
    """{"b": the last RUC bundle `build_ruc` built} (the real build, recorded)."""
    import products.reliability_capacity as rc_pkg
    from products.reliability_capacity import component
    built = {}

    def spy(*a, **k):
        built["b"] = component.build_ruc(*a, **k)
        return built["b"]
    monkeypatch.setattr(rc_pkg, "build_ruc", spy)
    return built


def test_tight_rc_rows_bound_the_lp_and_keep_the_optimum():
    sc = _ruc_commit_case()
    tight = ruc_bound(sc, tight_rc=True)
    loose = ruc_bound(sc, tight_rc=False)
    # the optimum by hand (docstring), identical under both formulations
    assert tight["mip_objective_usd"] == pytest.approx(700.0, abs=1e-6)
    assert loose["mip_objective_usd"] == pytest.approx(700.0, abs=1e-6)
    # the LP bounds by hand
    assert loose["lp_bound_usd"] == pytest.approx(250.0, abs=1e-6)
    assert tight["lp_bound_usd"] == pytest.approx(600.0, abs=1e-6)
    assert tight["bound_gap"] <= MAX_BOUND_GAP < loose["bound_gap"]


def _ruc_cover_case():
    """Load 100 MW, forecast 130 MW (`_one_hour_ruc_case`). Three units off at the start, each
    with an RCU bid at $1/MWh for its whole capacity and an energy bid at $50 the IFM does not
    need: CT_A 20 MW (Pmin 5, min-load $50/h, start-up $100), CT_B 20 MW (Pmin 5, $60/h, $100),
    CT_C 55 MW (Pmin 22, $300/h, $500)."""
    return _one_hour_ruc_case(
        [(u, pmin, pmax, mlc, su, pmax - pmin, pmax, 1.0)
         for u, pmin, pmax, mlc, su in (("CT_A", 5.0, 20.0, 50.0, 100.0),
                                        ("CT_B", 5.0, 20.0, 60.0, 100.0),
                                        ("CT_C", 22.0, 55.0, 300.0, 500.0))], 130.0, "ruc_cover")


def test_ruc_cover_rows_state_the_gap_by_hand_and_cut_off_no_solution(monkeypatch, built_ruc):
    """The covering rows (component.add_rc_cover_rows). Need: forecast 130 − G1's most (its IFM
    100 MW, no RCU bid) = 30 MW, to be met by units the RUC may commit, each counted at its
    RCU bound M = min(bid, Pmax, Pmin + 60·ramp) = its Pmax: 20 u_A + 20 u_B + 55 u_C +
    under ≥ 30, the same per BAA and per hour (one BAA, no transfers).
    Optimum by hand: CT_A + CT_B (50 + 100 + 60 + 100 = $310 of commitment, 30 MW of RCU at
    $1) = $340; CT_C alone costs 300 + 500 + 30 = $830, CT_C with either CT more.
    LP relaxation (the rows are sums of the model's own rows and bounds, so it is unchanged):
    CT_A at $8.5/MW ((50 + 100)/20 + 1) in full, then CT_B at $9/MW for 10 MW (u_B = 0.5):
    150 + 20 + 0.5·160 + 10 = $260. Without the rows: the same optimum and the same LP bound."""
    from products.reliability_capacity import component

    sc = _ruc_cover_case()
    built = built_ruc
    with_rows = ruc_bound(sc, tight_rc=True)
    m = built["b"].m
    for row in (m.ruc_cover_system[1], m.ruc_cover_baa["A", 1]):
        coef = {v.name: c for v, c in _linear_terms(row.body)}
        assert row.lower == pytest.approx(30.0)
        assert coef["uR[CT_A,1]"] == pytest.approx(20.0)
        assert coef["uR[CT_B,1]"] == pytest.approx(20.0)
        assert coef["uR[CT_C,1]"] == pytest.approx(55.0)
        assert coef["s_ruc_under[A,1]"] == pytest.approx(1.0)
    assert with_rows["mip_objective_usd"] == pytest.approx(340.0, abs=1e-6)
    assert with_rows["lp_bound_usd"] == pytest.approx(260.0, abs=1e-6)
    monkeypatch.setattr(component, "add_rc_cover_rows", lambda *a, **k: None)
    without = ruc_bound(sc, tight_rc=True)
    assert not hasattr(built["b"].m, "ruc_cover_system")
    assert without["mip_objective_usd"] == pytest.approx(340.0, abs=1e-6)
    assert without["lp_bound_usd"] == pytest.approx(260.0, abs=1e-6)


def _linear_terms(expr):
    from pyomo.repn import generate_standard_repn
    repn = generate_standard_repn(expr)
    return list(zip(repn.linear_vars, repn.linear_coefs))


def test_solver_threads_switch_within_a_process():
    """`solver_threads` sizes HiGHS's process-wide scheduler per run: 2, then 1, then 2 again in
    one process each clear the cover case to the hand optimum ($340 of RUC, IFM $2,000 = G1's
    100 MW at $20), with HiGHS's parallel tree search on at 2 threads."""
    import dataclasses

    from clearing.market.engine import run_day_ahead
    from clearing.market import solver

    base = _ruc_cover_case()
    for threads in (2, 1, 2):
        sc = dataclasses.replace(base, parameters=dataclasses.replace(
            base.parameters, solver_threads=threads))
        man = run_day_ahead(sc).manifest
        assert solver._SCHEDULER["threads"] == threads
        assert man["solver"]["objective_mip"] == pytest.approx(2000.0, abs=1e-6)
        assert man["ruc"]["objective_mip"] == pytest.approx(340.0, abs=1e-6)


def _identical_ct_case(ct_b_startup_usd: float):
    """Load 100 MW, forecast 115 MW (`_one_hour_ruc_case`). CT_A and CT_B: 20 MW, Pmin 5,
    min-load $50/h, RCU bid 20 MW @ $1, energy bid 15 MW @ $50, CT_A's start-up $100 and
    CT_B's `ct_b_startup_usd`; CT_C the same as CT_A but $60/h."""
    return _one_hour_ruc_case(
        [(u, 5.0, 20.0, mlc, su, 15.0, 20.0, 1.0)
         for u, mlc, su in (("CT_A", 50.0, 100.0), ("CT_B", 50.0, ct_b_startup_usd),
                            ("CT_C", 60.0, 100.0))], 115.0, "ruc_identical")


@pytest.mark.parametrize("ct_b_startup_usd, pairs, committed, objective", [
    # CT_A and CT_B identical: one order row; either alone covers the 15 MW at
    # 50 + 100 + 15 × 1 = $165 (CT_C: $175), and the row keeps CT_A's copy of that optimum
    (100.0, [("CT_A", "CT_B")], "CT_A", 165.0),
    # CT_B's start-up $90 makes it a different unit (no row) and the cheapest: 50 + 90 + 15
    (90.0, [], "CT_B", 155.0),
])
def test_identical_units_are_ordered_and_only_they(built_ruc, ct_b_startup_usd, pairs,
                                                   committed, objective):
    """Order rows (component.add_identical_unit_order_rows): Σ_t u^R_i ≥ Σ_t u^R_j for units
    i < j whose every scenario row but the name, IFM schedule and RUC fixings agree (numbers in
    the parameters)."""
    built = built_ruc
    out = ruc_bound(_identical_ct_case(ct_b_startup_usd))
    m = built["b"].m
    assert list(m.RUC_ORDER) == pairs
    assert out["mip_objective_usd"] == pytest.approx(objective, abs=1e-6)
    from clearing.market.engine import run_day_ahead
    run = run_day_ahead(_identical_ct_case(ct_b_startup_usd))
    sched = run.tables["schedules"].set_index("resource")
    assert sorted(sched.index[sched["ruc_committed"].astype(bool)
                              & ~sched["committed"].astype(bool)]) == [committed]
    assert run.manifest["ruc"]["objective_mip"] == pytest.approx(objective, abs=1e-6)
