"""Valid input that used to crash or lie (issue 22): rows that degenerate to constants, magnitudes
beyond any market quantity, a repeated scenario.yaml key, a zero-rated branch.

Every expected number is worked out by hand in the test's docstring."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest

from clearing.api import solve
from clearing.market.solver import PersistentHighs
from scenarios import BUNDLED, ScenarioError, load_scenario
from scenarios.build import make_scenario
from scenarios.errors import SolverError
from scenarios.examples import example_11_2, example_11_3
from scenarios.parameters import MarketParameters


def _copy(tmp_path: Path, name: str = "example_11_1") -> Path:
    dst = tmp_path / name
    shutil.copytree(BUNDLED / name, dst)
    return dst


def _set_cell(folder: Path, file: str, row: int, column: str, value: str) -> None:
    """Set `column` of data row `row` (1 = the first row under the header) of `file`."""
    path = folder / file
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _problems(folder: Path, overrides: dict | None = None) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder, overrides)
    return info.value.problems


def _tables(sc) -> dict:
    return {k: v.copy() for k, v in sc.tables.items()}


# --- rows that degenerate to constants ---------------------------------------------------------
def test_nec_on_a_baa_without_etsr_solves_as_without_nec():
    """§11.2 (one BAA, no ETSR) with nec_enabled and NEC 10 MW: the BAA's net export is the
    constant 0 <= 10, so the NEC row is dropped (it crashed the build with Pyomo's
    InvalidConstraintError) and the result is §11.2's: G1 70, G2 80 MW, objective
    20*70 + 40*80 - 55*45 = 1400 + 3200 - 2475 = 2125, LMP $40 (G2 marginal). The RUC's NEC row
    is built the same way (run_ruc is on)."""
    t = _tables(example_11_2())
    t["baas"]["nec_enabled"] = True
    t["baa_hours"]["nec_mw"] = 10.0
    r = solve(make_scenario(t, hours=1, parameters={"ir_demand_curve_cap_usd_per_mwh": 55.0}))
    g = r.tables["schedules"].set_index("resource")["energy_mw"]
    assert g["G1"] == pytest.approx(70.0) and g["G2"] == pytest.approx(80.0)
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(2125.0)
    assert r.tables["nodal_prices"]["lmp"].tolist() == pytest.approx([40.0])


def test_negative_nec_on_a_baa_without_etsr_is_bad_input():
    """NEC -10 MW for a BAA that cannot export or import (no ETSR): 0 <= -10 cannot hold, so
    the input is rejected before solving, naming baa_hours.csv / nec_mw."""
    t = _tables(example_11_2())
    t["baas"]["nec_enabled"] = True
    t["baa_hours"]["nec_mw"] = -10.0
    with pytest.raises(ScenarioError) as info:
        solve(make_scenario(t, hours=1))
    p = info.value.problems[0]
    assert (p.file, p.column) == ("baa_hours.csv", "nec_mw") and "-10" in p.found


def test_constant_row_that_cannot_hold_names_the_row():
    """A row whose only variable is fixed, x = 5 in x <= 3, is 0 <= -2: the solver layer names
    the row instead of returning an unexplained infeasible status."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 10))
    m.y = pyo.Var(bounds=(0, 10))
    m.x.fix(5)
    m.lim = pyo.Constraint(expr=m.x <= 3)
    m.obj = pyo.Objective(expr=m.y)
    with pytest.raises(SolverError, match=r"lim.*cannot hold"):
        PersistentHighs(gap=0.0, time_limit=10).solve(m, mip=False)


def test_constant_row_that_holds_is_kept():
    """x fixed at 2 in x <= 3 is 0 <= 1: solved normally (objective y = 0)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 10))
    m.y = pyo.Var(bounds=(1, 10))
    m.x.fix(2)
    m.lim = pyo.Constraint(expr=m.x <= 3)
    m.obj = pyo.Objective(expr=m.y)
    assert PersistentHighs(gap=0.0, time_limit=10).solve(m, mip=False).objective == 1.0


# --- zero-rated branch ---------------------------------------------------------------------------
def test_zero_rated_branch_is_out_of_service():
    """§11.3 with line 1->2 rated 0 MW: the branch is out of service for limits, so nothing
    congests. G1 ($20, 200 MW at bus 1) serves the whole 150 MW load, the LMP is $20 at both
    buses, objective 20 * 150 = 3000, no binding constraint and no relaxation. (Before: three
    $1,500 duals and an LMP of 50 - 3 * 1500 = -4,450 $/MWh at bus 1.)"""
    t = _tables(example_11_3())
    t["branches"]["rating_mw"] = 0.0
    r = solve(make_scenario(t, hours=1, reference_bus="2"))
    lmp = r.tables["nodal_prices"].set_index("bus")["lmp"]
    assert lmp["1"] == pytest.approx(20.0) and lmp["2"] == pytest.approx(20.0)
    g = r.tables["schedules"].set_index("resource")["energy_mw"]
    assert g["G1"] == pytest.approx(150.0) and g["G2"] == pytest.approx(0.0)
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(3000.0)
    assert r.tables["binding_constraints"].empty and r.tables["relaxations"].empty


def test_zero_rated_branch_by_derate_only_in_that_hour():
    """§11.3 over two hours, line derated to 0 MW in hour 2 only (branch_ratings): hour 1 is
    §11.3 (G1 100, G2 50, LMPs 20 / 50), hour 2 has no limit (G1 150, LMP 20 at both buses)."""
    t = _tables(example_11_3())
    for name in ("demand", "baa_hours"):
        t[name] = pd.concat([t[name].assign(hour=1), t[name].assign(hour=2)], ignore_index=True)
    t["branch_ratings"] = [dict(branch="L12", hour=2, rating_mw=0.0)]
    r = solve(make_scenario(t, hours=2, reference_bus="2"))
    lmp = r.tables["nodal_prices"].set_index(["bus", "hour"])["lmp"]
    assert [lmp[("1", 1)], lmp[("2", 1)], lmp[("1", 2)], lmp[("2", 2)]] == \
        pytest.approx([20.0, 50.0, 20.0, 20.0])
    g = r.tables["schedules"].set_index(["resource", "hour"])["energy_mw"]
    assert [g[("G1", 1)], g[("G2", 1)], g[("G1", 2)]] == pytest.approx([100.0, 50.0, 150.0])


# --- magnitudes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("file,column,value", [
    ("resources.csv", "pmax_mw", "1e308"),
    ("interface_hours.csv", "limit_mw", "1e7"),
    ("baa_hours.csv", "demand_forecast_mw", "inf"),
    ("baa_hours.csv", "nec_mw", "-2e6"),
    ("thermal.csv", "startup_cost_usd", "1e300"),
    ("interfaces.csv", "hurdle_usd_per_mwh", "-1e6"),
    ("branches.csv", "rating_mw", "inf"),
])
def test_magnitudes_beyond_the_documented_bound_are_rejected(tmp_path, file, column, value):
    """A capacity, limit or cost beyond its unit's bound (MW <= 1e6, $/MWh within +-1e5,
    $ <= 1e10) or inf where no limit is not meant names the file, row 2 and the column."""
    folder = _copy(tmp_path)
    _set_cell(folder, file, 1, column, value)
    problems = _problems(folder)
    assert [(p.file, p.row, p.column) for p in problems] == [(file, 2, column)]


def test_inf_stays_allowed_where_it_means_no_limit(tmp_path):
    """ramp_up_mw_per_min defaults to inf (no ramp limit): inf is accepted there."""
    folder = _copy(tmp_path)
    _set_cell(folder, "resources.csv", 1, "ramp_up_mw_per_min", "inf")
    assert load_scenario(folder).resource_frame["ramp_up_mw_per_min"].max() == float("inf")


@pytest.mark.parametrize("name,value", [
    ("penalty_transmission_usd_per_mwh", "1e308"), ("penalty_reg_up_usd_per_mwh", "inf"),
    ("ir_demand_curve_cap_usd_per_mwh", "2e5"), ("ptdf_threshold", "0.5"),
    ("lazy_max_rounds", "1e9"), ("flow_tolerance_mw", "inf"),
])
def test_parameter_magnitudes_are_bounded(name, value):
    with pytest.raises(ScenarioError) as info:
        MarketParameters().with_updates({name: value})
    assert info.value.problems[0].column == name


def test_parameters_that_may_be_unlimited_take_inf():
    p = MarketParameters().with_updates({"time_limit_s": "inf", "as_ramp_minutes": "inf",
                                          "run_time_limit_s": "inf"})
    assert p.time_limit_s == p.as_ramp_minutes == p.run_time_limit_s == float("inf")


def test_base_transfer_above_the_etsr_limit_is_bad_input(tmp_path):
    """§11.1 folder, A_B limit 100 MW and base transfer 120 MW: bad input (spec §5.2,
    X^base <= X^max), not an infeasible solve."""
    folder = _copy(tmp_path)
    _set_cell(folder, "interface_hours.csv", 1, "base_transfer_mw", "120")
    problems = _problems(folder)
    assert [(p.file, p.row, p.column) for p in problems] == \
        [("interface_hours.csv", 2, "base_transfer_mw")]


# --- scenario.yaml ---------------------------------------------------------------------------------
def test_repeated_yaml_key_is_rejected_with_its_line(tmp_path):
    """A second `parameters:` (line 5 after the first on line 4) used to replace the first."""
    folder = _copy(tmp_path)
    (folder / "scenario.yaml").write_text(
        "name: x\ntrade_date: '2026-06-01'\nhours: 1\nparameters: {phase: 1}\n"
        "parameters: {mip_rel_gap: 0.01}\n")
    (p,) = _problems(folder)
    assert (p.file, p.row) == ("scenario.yaml", 5) and "parameters" in p.found


def test_repeated_parameter_key_is_rejected(tmp_path):
    folder = _copy(tmp_path)
    (folder / "scenario.yaml").write_text(
        "name: x\nhours: 1\nparameters:\n  phase: 1\n  phase: 2\n")
    (p,) = _problems(folder)
    assert (p.file, p.row) == ("scenario.yaml", 5) and "phase" in p.found


@pytest.mark.parametrize("value", ["not-a-date", "2026-13-01", "20260601"])
def test_trade_date_must_be_a_date(tmp_path, value):
    folder = _copy(tmp_path)
    (folder / "scenario.yaml").write_text(f"name: x\ntrade_date: '{value}'\nhours: 1\n")
    (p,) = _problems(folder)
    assert (p.file, p.row, p.column) == ("scenario.yaml", 2, "trade_date")


def test_unquoted_trade_date_is_accepted(tmp_path):
    folder = _copy(tmp_path)
    (folder / "scenario.yaml").write_text("name: x\ntrade_date: 2026-06-01\nhours: 1\n")
    assert load_scenario(folder).trade_date == "2026-06-01"


def test_no_solution_within_the_time_limit_says_so():
    """time_limit_s = 0: HiGHS stops before any solution. The error names the limit to raise,
    not "inconsistent hard limits" (found by tests/test_cli_fuzz.py with time_limit_s 0.001)."""
    with pytest.raises(SolverError, match=r"before its time limit \(0 s; parameter time_limit_s\)"):
        solve(example_11_3().with_parameters(time_limit_s=0.0))


@pytest.mark.parametrize("up, down", [(1.0, float("inf")), (float("inf"), 1.0)])
def test_phase3_fast_start_unit_with_one_unlimited_ramp(tmp_path, up, down):
    """Issue 22 / random markets: a fast-start unit with one finite and one infinite ramp rate
    made highspy reject the FMM ramp rows (an inf coefficient on the commitment). The unlimited
    direction has no row. The phase-3 hand case of tests/test_rt.py (RT demand 160, 175, 165,
    155) with G3 ramping 1 MW/min (15 MW per interval) one way: G3 is still committed for its FRU
    head-room (k2 needs 5 MW of FRU ≤ 15·1 MW), so the RT prices are those of the
    ample-ramp case: LMP $20, $30 (G2's bid), $20, $20 and no FRU price."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    import numpy as np
    from test_rt import _by_k, _hand_scenario, _with_rt_folder
    sc = _hand_scenario(with_fast=True)
    res = sc.resources.copy()
    res.loc[res["resource"] == "G3", ["ramp_up_mw_per_min", "ramp_down_mw_per_min"]] = [up, down]
    sc = _with_rt_folder(sc.with_tables(resources=res), tmp_path)
    r = solve(sc)
    np.testing.assert_array_equal(_by_k(r.rt_schedules, "committed", resource="G3"), [1] * 4)
    np.testing.assert_allclose(_by_k(r.rt_prices, "lmp", bus="a1"), [20.0, 30.0, 20.0, 20.0],
                               atol=1e-6)
    np.testing.assert_allclose(_by_k(r.rt_product_prices, "price_usd_per_mwh", product="fru"),
                               [0.0] * 4, atol=1e-6)


def _high_initial_output(shutdown_ramp_mw: float = 50.0):
    """One bus, two hours, load 100 MW. G1 thermal Pmin 40, Pmax 200, unlimited ramps, on-line
    before the day at 150 MW, SD = `shutdown_ramp_mw`, min-load cost $2,000/h, energy $50; G2 an
    import 0-300 MW at $20."""
    tables = dict(
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        resources=[dict(resource="G1", type="thermal", bus="1", pmin_mw=40.0, pmax_mw=200.0),
                   dict(resource="G2", type="import", bus="1", pmax_mw=300.0)],
        thermal=[dict(resource="G1", min_load_cost_usd_per_h=2000.0, min_up_h=1, min_down_h=1,
                      initial_on=True, initial_hours=24, initial_mw=150.0,
                      shutdown_ramp_mw=shutdown_ramp_mw)],
        energy_bids=[dict(resource="G1", segment=1, mw=160.0, price_usd_per_mwh=50.0),
                     dict(resource="G2", segment=1, mw=300.0, price_usd_per_mwh=20.0)],
        demand=[dict(bus="1", hour=h, fixed_demand_mw=100.0) for h in (1, 2)],
        baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=100.0) for h in (1, 2)])
    return make_scenario(tables, name="sd_initial", trade_date="2026-06-01", hours=2,
                         parameters={"run_ruc": False})


def test_unit_above_its_shutdown_ramp_at_hour_0_cannot_stop_in_hour_1():
    """Random markets (issue 16): a unit at 150 MW before the day with SD = 50 MW shut down in
    hour 1 (the ramp-down row, p_0 − p_1 ≤ 60 RR^dn u_1 + SD w_1, is skipped for unlimited ramps;
    with u_1 = 0 it reads 150 ≤ 50). By hand: stopping at once would cost 2·100·$20 = $4,000;
    G1 must stay on in hour 1, at Pmin 40 (its $50 energy is dearer than G2's $20): $2,000
    min-load + 60·$20 = $3,200; in hour 2 (p_1 = 40 ≤ SD) it stops: 100·$20 = $2,000; total
    $5,200, and the checker (rule `ramp`, shut-down hour: p_0 ≤ SD) agrees. With SD = 150 MW the
    stop in hour 1 is allowed: $4,000."""
    from clearing.analysis.check import check_run
    sc = _high_initial_output()
    run = solve(sc)
    s = run.schedules.set_index(["resource", "hour"])
    assert (s.at[("G1", 1), "committed"], s.at[("G1", 2), "committed"]) == (1, 0)
    assert s.at[("G1", 1), "energy_mw"] == pytest.approx(40.0)
    assert run.manifest["solver"]["objective_mip"] == pytest.approx(5200.0)
    assert check_run(sc, run).empty
    free = _high_initial_output(150.0)
    assert solve(free).manifest["solver"]["objective_mip"] == pytest.approx(4000.0)


def _forced_above_bid(case: str, phase: int = 2):
    """One bus, one hour, load 100 MW; G an import 0-300 MW at $30, plus one resource whose
    unavoidable output exceeds the 50 MW of its energy bid: `ver` W non-dispatchable, forecast
    80 MW, bid 50 MW at −$5; `import` I self-scheduled at 80 MW, bid 50 MW at $10; `thermal` T
    (Pmin 20, Pmax 200, ramps 0.5 MW/min = 30 MW/h, SD 50) on-line at 150 MW before the day,
    bid 50 MW above Pmin at $10."""
    res = [dict(resource="G", type="import", bus="1", pmax_mw=300.0)]
    eb = [dict(resource="G", segment=1, mw=300.0, price_usd_per_mwh=30.0)]
    tables: dict = {}
    if case == "ver":
        res.append(dict(resource="W", type="ver", bus="1", pmax_mw=100.0, dispatchable=False))
        tables["resource_hours"] = [dict(resource="W", hour=1, pmax_mw=80.0)]
        eb.append(dict(resource="W", segment=1, mw=50.0, price_usd_per_mwh=-5.0))
    elif case == "import":
        res.append(dict(resource="I", type="import", bus="1", pmax_mw=100.0))
        tables["resource_hours"] = [dict(resource="I", hour=1, self_schedule_mw=80.0)]
        eb.append(dict(resource="I", segment=1, mw=50.0, price_usd_per_mwh=10.0))
    else:
        res.append(dict(resource="T", type="thermal", bus="1", pmin_mw=20.0, pmax_mw=200.0,
                        ramp_up_mw_per_min=0.5, ramp_down_mw_per_min=0.5))
        tables["thermal"] = [dict(resource="T", min_up_h=1, min_down_h=1, initial_on=True,
                                  initial_hours=24, initial_mw=150.0, shutdown_ramp_mw=50.0)]
        eb.append(dict(resource="T", segment=1, mw=50.0, price_usd_per_mwh=10.0))
    tables.update(baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
                  resources=res, energy_bids=eb,
                  demand=[dict(bus="1", hour=1, fixed_demand_mw=100.0)],
                  baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=100.0)])
    return make_scenario(tables, name="forced", trade_date="2026-06-01", hours=1,
                         parameters={"phase": phase})


@pytest.mark.parametrize("case, rid, out_mw, objective, lmp", [
    ("ver", "W", 80.0, 350.0, 30.0), ("import", "I", 80.0, 1100.0, 30.0),
    ("thermal", "T", 120.0, 3500.0, -150.0)])
def test_output_forced_above_the_bid_is_a_price_taker(case, rid, out_mw, objective, lmp):
    """Random markets (issue 16, `forced_output_above_bid`): output a resource cannot avoid above
    the MW of its energy bid made the IFM infeasible. It clears as a price taker beyond the bid
    (docs/market-model.md §5.5 [A]; an ISO takes a self-schedule as a price-taker quantity). By
    hand: `ver` W = 80 (50 bid at −$5 + 30 price taker), G = 20 at $30: −250 + 600 = $350, LMP
    $30; `import` I = 80 (50 at $10 + 30), G = 20: 500 + 600 = $1,100, LMP $30; `thermal` T
    cannot stop (150 > SD 50) and ramps down at most 30 MW: 120 MW (Pmin 20 + 50 bid at $10 +
    50 price taker), G = 0, 20 MW over-supply at the $150 penalty: 500 + 3,000 = $3,500, LMP
    −$150. The checker's profit LPs hold the same price-taker MW, so the runs pass it; phase 3
    (the RT follow-up) clears too."""
    from clearing.analysis.check import check_run
    sc = _forced_above_bid(case)
    run = solve(sc)
    e = run.schedules.set_index("resource")["energy_mw"]
    assert e[rid] == pytest.approx(out_mw)
    assert run.manifest["solver"]["objective_mip"] == pytest.approx(objective)
    assert float(run.nodal_prices["lmp"].iat[0]) == pytest.approx(lmp)
    assert check_run(sc, run).empty
    rt = solve(_forced_above_bid(case, phase=3))
    assert rt.rt_schedules.set_index("resource").loc[rid, "energy_mw"].min() >= out_mw - 1e-6
