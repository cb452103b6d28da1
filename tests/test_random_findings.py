"""Hand-solved markets for the defects the random-market properties found (issue 16, deep and
phase-3 draws): each case is the smallest market that shows the defect, with its numbers worked
out in the docstring.
"""

from __future__ import annotations

import pytest

from clearing.analysis.check import check_run
from clearing.api import solve
from scenarios.build import make_scenario

TOL = 1e-6


def _thermal(rid, pmax, price, *, pmin=0.0, initial_on=True, initial_hours=24, min_down_h=1,
             rcu=None, min_load_cost=0.0):
    res = dict(resource=rid, type="thermal", bus="n1", pmin_mw=pmin, pmax_mw=pmax,
               ramp_up_mw_per_min=100.0, ramp_down_mw_per_min=100.0)
    th = dict(resource=rid, min_load_cost_usd_per_h=min_load_cost, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=min_down_h, initial_on=initial_on, initial_hours=initial_hours,
              initial_mw=pmax / 2 if initial_on else 0.0, long_start=False, fast_start=False)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax - pmin, price_usd_per_mwh=price)
    ab = [dict(resource=rid, product="rcu", mw=rcu[0], price_usd_per_mwh=rcu[1])] if rcu else []
    return res, th, eb, ab


def _one_bus(name: str, gens: list, load_mw: dict, forecast_mw: dict | None = None,
             parameters: dict | None = None, **extra):
    """One BAA A, one bus n1, the `_thermal` units `gens`, fixed demand and forecast by hour
    (forecast = load where not given), `extra` tables as lists of rows."""
    forecast_mw = forecast_mw or load_mw
    tables = dict(
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="n1", baa="A")],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens],
        availability_bids=[a for g in gens for a in g[3]],
        demand=[dict(bus="n1", hour=h, fixed_demand_mw=v) for h, v in load_mw.items()],
        baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=v) for h, v in forecast_mw.items()],
        **extra)
    return make_scenario({k: v for k, v in tables.items() if v}, name=name,
                         trade_date="2026-06-01", hours=len(load_mw),
                         parameters=dict(mpm_mode="off", **(parameters or {})))


def test_ruc_keeps_the_initial_minimum_down_time():
    """The RUC committed a unit during its initial minimum down time (a draw with a 3-hour
    minimum down time, off for 1 hour: ruc_committed = 1 in hours 1–2 while the IFM kept it off).

    One BAA, one bus, 3 hours, load 50 MW each hour, demand forecast 50, 80, 80. G1 100 MW @ $20,
    on, no RC bid. G2 Pmin 10, Pmax 50 @ $30 with a $300/h minimum-load cost ($30/MWh at Pmin),
    off for 1 hour with a 3-hour minimum down time (off through hour 2), RCU bid 50 MW @ $5.
    IFM: G1 serves 50 MW each hour (π = $20; G2 at Pmin would cost $30/MWh), G2 off.
    RUC: the 30 MW forecast gap in hours 2 and 3 (spec §5.11) — hour 2 cannot use G2, so 30 MW
    are relaxed at P^R+ = $1,000; hour 3: G2 committed ($300 minimum load, §4.2), RCU 30
    (≥ Pmin 10) at its $5 bid, far cheaper than relaxing. RUC objective (§4.2)
    30·1,000 + 300 + 30·5 = 30,450. The checker passes the run."""
    g1 = _thermal("G1", 100.0, 20.0)
    g2 = _thermal("G2", 50.0, 30.0, pmin=10.0, initial_on=False, initial_hours=1, min_down_h=3,
                  rcu=(50.0, 5.0), min_load_cost=300.0)
    sc = _one_bus("ruc_min_down", [g1, g2], {1: 50.0, 2: 50.0, 3: 50.0},
                  {1: 50.0, 2: 80.0, 3: 80.0}, dict(phase=2))
    r = solve(sc)
    s = r.schedules.set_index(["resource", "hour"])
    assert [int(s.at[("G2", h), "committed"]) for h in (1, 2, 3)] == [0, 0, 0]
    assert [int(s.at[("G2", h), "ruc_committed"]) for h in (1, 2, 3)] == [0, 0, 1]
    assert [s.at[("G2", h), "rcu_mw"] for h in (1, 2, 3)] == pytest.approx([0.0, 0.0, 30.0],
                                                                           abs=TOL)
    rel = r.relaxations.set_index(["requirement", "hour"])["relaxed_mw"]
    assert rel[("ruc_under", 2)] == pytest.approx(30.0, abs=TOL)
    assert ("ruc_under", 3) not in rel.index
    assert r.manifest["ruc"]["objective_lp"] == pytest.approx(30450.0, abs=1e-4)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_start_after_an_initial_spell_of_zero_hours_is_a_hot_start():
    """A draw with a unit off for 0 hours by the end of hour 0 (`initial_hours` = 0: it shut
    down at the end of hour 0) and tiers $0 after 1 h, $131.47 after 3 h: the engine missed the
    initial shut-down and charged the cold tier, the checker's rebuilt dual objective the hot one
    (dual_objective off by 131.47).

    One BAA, one bus, 2 hours, load 50 MW each hour. G1 100 MW @ $10, off with initial_hours 0,
    minimum down time 1 h (so off in hour 1), start-up tiers $100 after 1 h and $1,000 after 3 h.
    G2 100 MW @ $50, on. Hour 1: G2 serves 50 (π = $50). Hour 2: G1 has been off 0 + 1 = 1 hour,
    a tier-1 start: 100 + 50·10 = 600 < 50·50 = 2,500 on G2, so G1 starts and serves 50
    (π = $10). Objective (§4.1) 2,500 + 100 + 500 = 3,100 (the cold tier would make it 4,000
    and the start still pays)."""
    g1 = _thermal("G1", 100.0, 10.0, initial_on=False, initial_hours=0, min_down_h=1)
    g2 = _thermal("G2", 100.0, 50.0)
    sc = _one_bus("hot_start", [g1, g2], {1: 50.0, 2: 50.0}, parameters=dict(
        phase=1, run_ruc=False), startup_costs=[
        dict(resource="G1", tier=1, after_offline_h=1, cost_usd=100.0),
        dict(resource="G1", tier=2, after_offline_h=3, cost_usd=1000.0)])
    r = solve(sc)
    s = r.schedules.set_index(["resource", "hour"])
    assert [int(s.at[("G1", h), "committed"]) for h in (1, 2)] == [0, 1]
    assert [s.at[("G1", h), "energy_mw"] for h in (1, 2)] == pytest.approx([0.0, 50.0], abs=TOL)
    lmp = r.nodal_prices.set_index("hour")["lmp"]
    assert [lmp[1], lmp[2]] == pytest.approx([50.0, 10.0], abs=TOL)
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(3100.0, abs=1e-4)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_ramp_down_into_a_derated_hour_keeps_its_limit():
    """A draw with Pmax 67.52 MW in hour 2 and 53.85 in hour 3, 60·RR^dn = 54: the engine left the
    hour-3 ramp-down row out as implied (60·RR^dn ≥ that hour's Pmax), so the unit dropped 66.29
    MW. The drop is bounded by the previous hour's output, so the row is implied only when
    60·RR^dn ≥ the previous hour's Pmax.

    One BAA, one bus, 2 hours, load 100 MW each hour. G1 @ $20, Pmin 0, Pmax 120 in hour 1 and
    50 in hour 2, RR^dn 0.9 MW/min (54 MW/h), on at 100 MW, shut-down ramp blank (= Pmax of the
    hour, 50). G2 @ $10, Pmax 0 in hour 1 and 100 in hour 2. Hour 1: G1 = 100. Hour 2: G2 is
    cheaper, but G1 can drop only 54 MW (and cannot stop: 100 > SD 50), so G1 = 46, G2 = 54.
    LMP_2 = $10 (G2 marginal); LMP_1 = 20 + (20 − 10) = $30 (one more MW in hour 1 keeps one
    more MW of G1 in hour 2 instead of G2). Objective (§4.1) 100·20 + 46·20 + 54·10 = 3,460."""
    g1 = _thermal("G1", 120.0, 20.0)
    g1[0]["ramp_down_mw_per_min"] = 0.9
    g1[1]["initial_mw"] = 100.0
    g2 = _thermal("G2", 100.0, 10.0)
    sc = _one_bus("ramp_into_derate", [g1, g2], {1: 100.0, 2: 100.0}, parameters=dict(
        phase=1, run_ruc=False), resource_hours=[dict(resource="G1", hour=2, pmax_mw=50.0),
                                                 dict(resource="G2", hour=1, pmax_mw=0.0)])
    r = solve(sc)
    s = r.schedules.set_index(["resource", "hour"])["energy_mw"]
    assert [s[("G1", 1)], s[("G1", 2)], s[("G2", 2)]] == pytest.approx([100.0, 46.0, 54.0],
                                                                        abs=TOL)
    lmp = r.nodal_prices.set_index("hour")["lmp"]
    assert [lmp[1], lmp[2]] == pytest.approx([30.0, 10.0], abs=TOL)
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(3460.0, abs=1e-4)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_rt_unit_falls_from_its_initial_output_at_its_interval_ramp():
    """A deep-profile draw (phase 3): a short-start unit on before the day at 212.46 MW with a
    0.2 MW/min ramp and an energy bid of only 24.39 MW made the FMM infeasible: RT let the last
    segment cover what the unit cannot avoid only up to the floor of its RT range (0), and the
    on-line segment row capped it at the bid width, so the output could not follow the ramp
    down from the initial output.

    One bus, 2 hours, no load (the output beyond it is relaxed as over-supply at $150). G1:
    Pmin 0, Pmax 240, on at 200 MW, must run, short start, ramp 0.2 MW/min (12 MW per hour,
    3 MW per 15-minute interval), bid 20 MW @ $0. DA (§5.4, the forced output a price taker):
    it falls as fast as it can, 188 then 176 MW. RT: each hour's first interval may move by the
    DA step (12 MW), the others by 3 MW, so 188, 185, 182, 179, then 167, 164, 161, 158 MW; the
    run solves and the checker passes."""
    res = dict(resource="G1", type="thermal", bus="n1", pmin_mw=0.0, pmax_mw=240.0,
               ramp_up_mw_per_min=0.2, ramp_down_mw_per_min=0.2)
    th = dict(resource="G1", min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=5, initial_mw=200.0, must_run=True,
              long_start=False, fast_start=True)
    eb = dict(resource="G1", side="supply", segment=1, mw=20.0, price_usd_per_mwh=0.0)
    sc = _one_bus("rt_initial_ramp", [(res, th, eb, [])], {1: 0.0, 2: 0.0},
                  parameters=dict(phase=3, run_ruc=False))
    r = solve(sc)
    da = r.schedules.set_index("hour")["energy_mw"]
    assert [da[1], da[2]] == pytest.approx([188.0, 176.0], abs=TOL)
    rt = r.tables["rt_schedules"]
    assert list(rt["energy_mw"]) == pytest.approx([188, 185, 182, 179, 167, 164, 161, 158],
                                                  abs=TOL)
    v = check_run(sc, r)
    assert v.empty, v.to_string()
