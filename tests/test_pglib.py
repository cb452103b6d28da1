"""pglib-uc benchmark: importer (benchmarks/pglib_uc.py) and reference model
(benchmarks/pglib_reference.py). Reads only files bundled in benchmarks/."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.pglib_reference import (instance_path, load_instance, load_reference,
                                        solve_reference)
from benchmarks.pglib_uc import SCENARIO_DIR, import_pglib_uc, scenario_name
from scenarios.loader import load_scenario
from scenarios.writer import write_scenario

RTS = "rts_gmlc/2020-07-06"


@pytest.fixture(scope="module")
def rts_json():
    return load_instance(instance_path(RTS))


@pytest.fixture(scope="module")
def rts_scenario():
    return import_pglib_uc(instance_path(RTS))


def test_rts_import_counts_and_parameters(rts_json, rts_scenario, tmp_path):
    sc = rts_scenario
    n_th, n_re = len(rts_json["thermal_generators"]), len(rts_json["renewable_generators"])
    assert sc.hours == rts_json["time_periods"] == 48
    res = sc.resources
    assert (res["type"] == "thermal").sum() == n_th == 73
    assert (res["type"] == "ver").sum() == n_re == 81
    assert len(sc.thermal) == n_th
    assert len(sc.baas) == 1 and len(sc.buses) == 1 and len(sc.branches) == 0
    assert len(sc.resource_hours) == n_re * 48
    p = sc.parameters
    assert p.phase == 1 and p.run_ruc is False and math.isinf(p.as_ramp_minutes)
    bh = sc.baa_hours.sort_values("hour")
    assert list(bh["demand_forecast_mw"]) == pytest.approx(rts_json["demand"])
    assert list(bh["sr_requirement_mw"]) == pytest.approx(rts_json["reserves"])
    assert (bh[["iru_requirement_mw", "ird_requirement_mw", "ru_requirement_mw",
                "rd_requirement_mw", "nr_requirement_mw"]] == 0).all().all()
    dem = sc.demand.sort_values("hour")
    assert list(dem["fixed_demand_mw"]) == pytest.approx(rts_json["demand"])
    # loads and validates from disk, and round-trips
    back = load_scenario(write_scenario(sc, tmp_path / "rts"))
    assert back == sc
    # the committed converted folder is up to date with the importer
    assert load_scenario(SCENARIO_DIR / scenario_name(RTS)) == sc


def test_rts_import_one_generator_by_hand(rts_json, rts_scenario):
    # a unit with three downtime-dependent start-up categories and four cost points
    name = next(g for g, x in rts_json["thermal_generators"].items() if len(x["startup"]) == 3)
    gen = rts_json["thermal_generators"][name]
    pts = gen["piecewise_production"]
    sc = rts_scenario
    th = sc.thermal.set_index("resource").loc[name]
    assert th["min_load_cost_usd_per_h"] == pytest.approx(pts[0]["cost"])
    assert th["min_up_h"] == gen["time_up_minimum"] and th["min_down_h"] == gen["time_down_minimum"]
    assert bool(th["initial_on"]) == bool(gen["unit_on_t0"])
    assert th["initial_hours"] == (gen["time_up_t0"] if gen["unit_on_t0"] else gen["time_down_t0"])
    assert th["startup_ramp_mw"] == gen["ramp_startup_limit"]
    assert th["shutdown_ramp_mw"] == gen["ramp_shutdown_limit"]
    r = sc.resources.set_index("resource").loc[name]
    assert r["pmin_mw"] == pts[0]["mw"] and r["pmax_mw"] == pts[-1]["mw"]
    assert r["ramp_up_mw_per_min"] * 60 == pytest.approx(gen["ramp_up_limit"])
    eb = sc.energy_bids[sc.energy_bids["resource"] == name].sort_values("segment")
    assert len(eb) == len(pts) - 1
    first_price = (pts[1]["cost"] - pts[0]["cost"]) / (pts[1]["mw"] - pts[0]["mw"])
    assert eb["price_usd_per_mwh"].iloc[0] == pytest.approx(first_price)
    assert eb["mw"].iloc[0] == pytest.approx(pts[1]["mw"] - pts[0]["mw"])
    assert eb["mw"].sum() == pytest.approx(pts[-1]["mw"] - pts[0]["mw"])
    st = sc.startup_costs[sc.startup_costs["resource"] == name].sort_values("tier")
    # pytest >= 9 rejects approx on nested sequences: compare lags and costs column by column
    assert list(st["after_offline_h"]) == pytest.approx([s["lag"] for s in gen["startup"]])
    assert list(st["cost_usd"]) == pytest.approx([s["cost"] for s in gen["startup"]])
    ab = sc.availability_bids.set_index(["resource", "product"]).loc[(name, "sr")]
    assert ab["mw"] == pytest.approx(pts[-1]["mw"] - pts[0]["mw"]) and ab["price_usd_per_mwh"] == 0
    # a renewable unit: hourly maximum and minimum
    w, wg = next(iter(rts_json["renewable_generators"].items()))
    rh = sc.resource_hours[sc.resource_hours["resource"] == w].sort_values("hour")
    assert list(rh["pmax_mw"]) == pytest.approx(wg["power_output_maximum"])
    assert list(rh["self_schedule_mw"]) == pytest.approx(wg["power_output_minimum"])


# --------------------------------------------------------------------------------------------
# A tiny pglib-style instance solved by hand.
#
# Unit A: on at t0 at 100 MW, Pmin 50, Pmax 150, cost points (50, $500), (100, $1000),
#   (150, $1750) -> $10/MWh then $15/MWh above Pmin; ramp up/down 40 MW/h.
# Unit B: off for 2 h at t0, Pmin 20, Pmax 80, cost points (20, $1000), (80, $3400) -> $40/MWh;
#   start-up $200 if off 1-2 h, $500 if off >= 3 h.
# Demand 120, 180, 160 MW; spinning reserve 40, 0, 0 MW.
#
# Hour 1: A alone could serve 120 MW but its reserve is limited by headroom (150-120 = 30) and
#   by the joint ramp (p_above_min + r <= 50 + 40 = 90, so r <= 20 at 120 MW): B must start
#   (off 2 h -> hot start $200). B runs at Pmin 20, A at 100: A $1000 + B $1000 + $200 = $2200.
# Hour 2: A can rise only 40 MW (100 -> 140): B takes 40 MW: A $500+$500+40*$15 = $1600,
#   B $1000 + 20*$40 = $1800 -> $3400.
# Hour 3: A alone cannot serve 160 MW: A 140 ($1600) + B 20 ($1000) = $2600.
# Total $8200.
TINY = {
    "time_periods": 3,
    "demand": [120.0, 180.0, 160.0],
    "reserves": [40.0, 0.0, 0.0],
    "thermal_generators": {
        "A": {"must_run": 0, "power_output_minimum": 50.0, "power_output_maximum": 150.0,
              "ramp_up_limit": 40.0, "ramp_down_limit": 40.0, "ramp_startup_limit": 150.0,
              "ramp_shutdown_limit": 150.0, "time_up_minimum": 1, "time_down_minimum": 1,
              "power_output_t0": 100.0, "unit_on_t0": 1, "time_up_t0": 5, "time_down_t0": 0,
              "startup": [{"lag": 1, "cost": 0.0}],
              "piecewise_production": [{"mw": 50.0, "cost": 500.0}, {"mw": 100.0, "cost": 1000.0},
                                       {"mw": 150.0, "cost": 1750.0}], "name": "A"},
        "B": {"must_run": 0, "power_output_minimum": 20.0, "power_output_maximum": 80.0,
              "ramp_up_limit": 100.0, "ramp_down_limit": 100.0, "ramp_startup_limit": 80.0,
              "ramp_shutdown_limit": 80.0, "time_up_minimum": 1, "time_down_minimum": 1,
              "power_output_t0": 0.0, "unit_on_t0": 0, "time_up_t0": 0, "time_down_t0": 2,
              "startup": [{"lag": 1, "cost": 200.0}, {"lag": 3, "cost": 500.0}],
              "piecewise_production": [{"mw": 20.0, "cost": 1000.0}, {"mw": 80.0, "cost": 3400.0}],
              "name": "B"},
    },
    "renewable_generators": {},
}


def test_reference_tiny_by_hand(tmp_path):
    f = tmp_path / "tiny.json"
    f.write_text(json.dumps(TINY))
    r = solve_reference(f, gap=1e-6, time_limit=60)
    assert r["status"] == "convergenceCriteriaSatisfied"
    assert r["objective"] == pytest.approx(8200.0, abs=1e-6)
    assert r["bound"] == pytest.approx(8200.0, abs=1e-3)
    for k in ("build_s", "handoff_s", "solve_s", "wall_s"):
        assert r[k] >= 0
    assert r["wall_s"] >= r["build_s"] + r["handoff_s"]
    # the variant without reserve in the ramp limits: B is still needed in hour 1 (A's
    # headroom is 30 < 40 MW) and A still ramps only 40 MW into hour 2: same value
    r2 = solve_reference(f, gap=1e-6, time_limit=60, joint_reserve_ramp=False)
    assert r2["objective"] == pytest.approx(8200.0, abs=1e-6)


def test_tiny_imports(tmp_path):
    f = tmp_path / "2020-01-02_tiny.json"
    f.write_text(json.dumps(TINY))
    sc = import_pglib_uc(f)
    assert sc.hours == 3 and sc.trade_date == "2020-01-02"
    th = sc.thermal.set_index("resource")
    assert th.at["A", "min_load_cost_usd_per_h"] == 500.0
    assert th.at["B", "initial_hours"] == 2 and not th.at["B", "initial_on"]
    assert th.at["A", "initial_mw"] == 100.0 and th.at["A", "initial_hours"] == 5
    eb = sc.energy_bids
    assert list(eb[eb["resource"] == "A"]["price_usd_per_mwh"]) == [10.0, 15.0]
    st = sc.startup_costs[sc.startup_costs["resource"] == "B"]
    assert list(zip(st["after_offline_h"], st["cost_usd"])) == [(1, 200.0), (3, 500.0)]


def test_cost_curve_conversions():
    from benchmarks.pglib_uc import cost_segments, startup_tiers
    # non-convex: the middle point lies above the chord and is dropped
    c0, segs, notes = cost_segments([{"mw": 0, "cost": 0}, {"mw": 1, "cost": 10},
                                     {"mw": 2, "cost": 12}])
    assert c0 == 0 and segs == [(2, 6.0)] and notes
    # 12 segments -> 10, keeping the total cost at Pmax
    pts = [{"mw": k, "cost": sum(range(1, k + 1))} for k in range(13)]
    c0, segs, notes = cost_segments(pts)
    assert len(segs) == 10 and sum(w * p for w, p in segs) == pytest.approx(78)
    # clipped to the bid cap
    _, segs, notes = cost_segments([{"mw": 0, "cost": 0}, {"mw": 1, "cost": 2000}])
    assert segs == [(1, 1000.0)] and notes
    tiers, notes = startup_tiers([{"lag": 1, "cost": 50}, {"lag": 4, "cost": 30}])
    assert tiers == [(1, 30.0), (4, 30.0)] and notes
    tiers, notes = startup_tiers([{"lag": 1, "cost": 20}, {"lag": 2, "cost": 40},
                                  {"lag": 4, "cost": 30}])
    assert tiers == [(1, 20.0), (2, 30.0), (4, 30.0)] and len(notes) == 1


def test_recorded_reference_is_complete():
    r = load_reference(RTS, 0.001)
    assert r is not None, "run python -m benchmarks.pglib_reference"
    for k in ("objective", "bound", "gap", "build_s", "handoff_s", "solve_s", "wall_s"):
        assert r[k] is not None
    assert r["gap"] <= 0.001 + 1e-9 and r["bound"] <= r["objective"]


@pytest.mark.slow
def test_engine_matches_reference_rts_gmlc():
    from clearing.api import solve
    ref = load_reference(RTS, 0.001)
    assert ref is not None
    sc = import_pglib_uc(instance_path(RTS))
    result = solve(sc)
    obj = result.manifest["solver"]["objective_mip"]
    # both are feasible values within their MIP gap of the same optimum
    gap = max(ref["mip_rel_gap"], sc.parameters.mip_rel_gap)
    assert abs(obj - ref["objective"]) <= gap * abs(ref["objective"])


# --------------------------------------------------------------------------------------------
# pglib-uc's reserve shares the hourly ramp-up with energy (MODEL.tex (8), (19)); the importer
# sets `as_in_hourly_ramp` so that our market does the same. Hand-solved:
#
# Unit A: on at t0 at 100 MW, Pmin 50, Pmax 200, $500 at Pmin + $10/MWh above, RU = RD = 50.
# Unit B: off for 1 h, Pmin 10, Pmax 100, $1000 at Pmin + $50/MWh above, free start-up,
#   SU 100 MW (lowered by the importer to Pmin + RU = 40: pglib-uc limits a start-up hour's
#   output above Pmin, plus reserve, by RU too).
# Demand 100, 150 MW; spinning reserve 0, 30 MW.
#
# Hour 1: A alone at 100 MW: $500 + 50 x $10 = $1000 (B at Pmin would only displace cheap MW).
# Hour 2, joint ramp: A's output above Pmin plus reserve may rise by RU = 50 only, to 100 MW;
#   serving 150 MW alone (100 above Pmin) leaves A no reserve, so B must start: B at Pmin
#   10 MW ($1000) holds reserve (up to 40 - 10 = 30 MW), A at 140 MW ($500 + 900) holds 10 MW:
#   $2400. Total $3400.
# Without reserve in the ramp (our market before the fix, the reference's variant): A ramps
#   to 150 MW ($1500) and holds the 30 MW reserve in its headroom: total $2500.
JOINT = {
    "time_periods": 2,
    "demand": [100.0, 150.0],
    "reserves": [0.0, 30.0],
    "thermal_generators": {
        "A": {"must_run": 0, "power_output_minimum": 50.0, "power_output_maximum": 200.0,
              "ramp_up_limit": 50.0, "ramp_down_limit": 50.0, "ramp_startup_limit": 200.0,
              "ramp_shutdown_limit": 200.0, "time_up_minimum": 1, "time_down_minimum": 1,
              "power_output_t0": 100.0, "unit_on_t0": 1, "time_up_t0": 5, "time_down_t0": 0,
              "startup": [{"lag": 1, "cost": 0.0}],
              "piecewise_production": [{"mw": 50.0, "cost": 500.0},
                                       {"mw": 200.0, "cost": 2000.0}], "name": "A"},
        "B": {"must_run": 0, "power_output_minimum": 10.0, "power_output_maximum": 100.0,
              "ramp_up_limit": 30.0, "ramp_down_limit": 100.0, "ramp_startup_limit": 100.0,
              "ramp_shutdown_limit": 100.0, "time_up_minimum": 1, "time_down_minimum": 1,
              "power_output_t0": 0.0, "unit_on_t0": 0, "time_up_t0": 0, "time_down_t0": 1,
              "startup": [{"lag": 1, "cost": 0.0}],
              "piecewise_production": [{"mw": 10.0, "cost": 1000.0},
                                       {"mw": 100.0, "cost": 5500.0}], "name": "B"},
    },
    "renewable_generators": {},
}


def test_tiny_joint_reserve_ramp_by_hand(tmp_path):
    from clearing.api import solve
    f = tmp_path / "joint.json"
    f.write_text(json.dumps(JOINT))
    r = solve_reference(f, gap=1e-6, time_limit=60)
    assert r["objective"] == pytest.approx(3400.0, abs=1e-6)
    r2 = solve_reference(f, gap=1e-6, time_limit=60, joint_reserve_ramp=False)
    assert r2["objective"] == pytest.approx(2500.0, abs=1e-6)
    sc = import_pglib_uc(f)
    assert sc.parameters.as_in_hourly_ramp is True
    th = sc.thermal.set_index("resource")
    assert th.at["B", "startup_ramp_mw"] == 40.0 and th.at["A", "startup_ramp_mw"] == 100.0
    assert "start-up ramp" in " ".join(sc.metadata["import_notes"]["B"])
    res = solve(sc.with_parameters(mip_rel_gap=1e-6))
    assert res.manifest["solver"]["objective_mip"] == pytest.approx(3400.0, abs=1e-4)
    s = res.tables["schedules"].set_index(["resource", "hour"])
    assert s.at[("B", 2), "committed"] == 1 and s.at[("B", 2), "energy_mw"] == pytest.approx(10.0)
    assert s.at[("A", 2), "energy_mw"] + s.at[("A", 2), "spin_mw"] <= 150.0 + 1e-6
    # the old behaviour (reserve outside the hourly ramp): the reference's relaxed variant
    old = solve(sc.with_parameters(mip_rel_gap=1e-6, as_in_hourly_ramp=False))
    assert old.manifest["solver"]["objective_mip"] == pytest.approx(2500.0, abs=1e-4)
    # the solution checker applies the same rule: the fixed run passes, the old one breaks
    # A's joint ramp in hour 2 (100 MW above Pmin + 30 MW reserve vs 50 + 50)
    from clearing.analysis.check import check_run
    v = check_run(sc, res)
    assert not (v["rule"] == "ramp").any(), v.to_string()
    assert not (check_run(sc, old)["rule"] == "ramp").any()
    old.manifest["parameters"]["as_in_hourly_ramp"] = True
    v = check_run(sc, old)
    bad = v[v["rule"] == "ramp"]
    assert list(zip(bad["id"], bad["hour"])) == [("A", 2)], v.to_string()
