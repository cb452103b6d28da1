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


def _ruc_commit_case():
    res = [dict(resource="G1", type="thermal", bus="1", pmin_mw=0.0, pmax_mw=100.0,
                ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0),
           dict(resource="G2", type="thermal", bus="1", pmin_mw=10.0, pmax_mw=200.0,
                ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0)]
    th = [dict(resource="G1", min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
               min_down_h=1, initial_on=True, initial_hours=24, initial_mw=100.0),
          dict(resource="G2", min_load_cost_usd_per_h=100.0, startup_cost_usd=500.0,
               min_up_h=1, min_down_h=1, initial_on=False, initial_hours=24, initial_mw=0.0)]
    eb = [dict(resource="G1", side="supply", segment=1, mw=100.0, price_usd_per_mwh=20.0),
          dict(resource="G2", side="supply", segment=1, mw=190.0, price_usd_per_mwh=50.0)]
    tables = dict(
        resources=res, thermal=th, energy_bids=eb,
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=1, fixed_demand_mw=100.0)],
        load_distribution=[dict(bus="1", ldf=1.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=150.0)],
        availability_bids=[dict(resource="G2", product="rcu", mw=60.0, price_usd_per_mwh=2.0)])
    return make_scenario(tables, name="ruc_commit_bound", trade_date="2026-06-01", hours=1,
                         parameters={"mpm_mode": "off"})


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
