"""The MIP start (issue 20, parameter `mip_start`): the LP relaxation's commitment rounded up
and repaired to keep the minimum up/down times (spec §5.4), handed to HiGHS, which completes it
and keeps it as its first incumbent; and the flow rows written on bus-injection variables.

Every expected schedule below is worked out by hand in the test's docstring."""

from __future__ import annotations

import re

import pandas as pd
import pyomo.environ as pyo
import pytest

from clearing.api import solve
from clearing.market.resources import Commitment, _repair_commitment, rounded_commitment
from clearing.market.solver import PersistentHighs
from scenarios.examples import example_11_3, example_11_4

F = False


@pytest.mark.parametrize("x, fixed, on0, up, down, expected", [
    # min down 2: the 1-period gap between two on spells is filled
    ([1, 0, 1, 0, 0, 0], [F] * 6, False, 1, 2, [1, 1, 1, 0, 0, 0]),
    # min up 3: a start in period 2 stays on through period 4
    ([0, 1, 0, 0, 0, 0], [F] * 6, False, 3, 1, [0, 1, 1, 1, 0, 0]),
    # on before the day, off one period, on again: the initial on state counts (min down 2)
    ([0, 1, 1, 1], [F] * 4, True, 1, 2, [1, 1, 1, 1]),
    # a spell cut by the end of the horizon keeps its length (no row beyond the day)
    ([0, 0, 0, 1], [F] * 4, False, 3, 1, [0, 0, 0, 1]),
    # a shut-down at the end of the day is not followed by a start: no down time to keep
    ([1, 1, 0], [F] * 3, True, 1, 5, [1, 1, 0]),
    # cascade, up 2, down 3 (periods 1..8): the start in 2 extends to 3 and the start in 6 to
    # 7; that leaves a 2-period gap 4–5 (< 3), filled: one spell 2..7, then off in 8 (not
    # followed by a start, so no down time to keep)
    ([0, 1, 0, 0, 0, 1, 0, 0], [F] * 8, False, 2, 3, [0, 1, 1, 1, 1, 1, 1, 0]),
    # a fixed-off period in the way of the minimum up time: no repair
    ([0, 1, 0, 0], [F, F, True, F], False, 3, 1, None),
    # ... or of the minimum down time
    ([1, 0, 1], [F, True, F], False, 1, 2, None),
])
def test_repair_keeps_minimum_up_and_down_times(x, fixed, on0, up, down, expected):
    assert _repair_commitment(x, fixed, on0, up, down) == expected


def _unit_model(u_values: list[float], fixed: dict[int, int] | None = None,
                initial_on: bool = False, up_h: float = 2, down_h: float = 1):
    m = pyo.ConcreteModel()
    idx = [("G", t) for t in range(1, len(u_values) + 1)]
    m.u = pyo.Var(idx, within=pyo.Binary)
    m.v = pyo.Var(idx, within=pyo.Binary)
    m.w = pyo.Var(idx, within=pyo.Binary)
    for (i, t), val in zip(idx, u_values):
        m.u[i, t].set_value(val)
    for t, val in (fixed or {}).items():
        m.u["G", t].fix(val)
    th = pd.DataFrame([dict(initial_on=initial_on, min_up_h=up_h, min_down_h=down_h,
                            initial_hours=5)], index=["G"])
    return m, Commitment(idx, th, m.u, m.v, m.w, 1.0)


def _as_lists(start, m) -> tuple[list, list, list]:
    got = {id(v): x for v, x in start}
    return tuple([got.get(id(var[("G", t)])) for t in range(1, len(var) + 1)]
                 for var in (m.u, m.v, m.w))


def test_rounded_commitment_rounds_up_and_implies_starts_and_stops():
    """LP u = 0.02, 0.3, 0.0, 0.9, 0.0 with the threshold 0.05: on in periods 2 and 4; min up
    2 h extends period 2's spell to 3, so u = 0 1 1 1 0 after the gap-free merge (min down 1
    keeps nothing else); v = 0 1 0 0 0, w = 0 0 0 0 1 from an initial off state."""
    m, c = _unit_model([0.02, 0.3, 0.0, 0.9, 0.0])
    u, v, w = _as_lists(rounded_commitment(c, threshold=0.05), m)
    assert u == [0, 1, 1, 1, 0]
    assert v == [0, 1, 0, 0, 0]
    assert w == [0, 0, 0, 0, 1]


def test_rounded_commitment_keeps_fixed_periods_and_leaves_out_what_it_cannot_repair():
    """u fixed at 1 in period 1 is kept and not handed over (a fixed column is no HiGHS column);
    with u fixed off in period 3 a start in period 2 cannot last its 2 h: the unit is left out
    for HiGHS to complete."""
    m, c = _unit_model([1.0, 0.0, 0.0, 0.4], fixed={1: 1}, initial_on=True)
    u, v, w = _as_lists(rounded_commitment(c), m)
    assert u == [None, 0, 0, 1] and v == [0, 0, 0, 1] and w == [0, 1, 0, 0]
    m, c = _unit_model([0.0, 0.6, 0.0, 0.0], fixed={3: 0})
    assert rounded_commitment(c) == []


def test_start_is_handed_to_highs_and_reported_feasible(tmp_path):
    """min x + 2y + 3z, x + y + z >= 1, x, y, z binary: HiGHS assesses the start it was
    handed (its log: one row infeasibility for all 0, none for y = 1) and finds the optimum
    x = 1 (objective 1) either way."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(within=pyo.Binary)
    m.y = pyo.Var(within=pyo.Binary)
    m.z = pyo.Var(within=pyo.Binary)
    m.c = pyo.Constraint(expr=m.x + m.y + m.z >= 1)
    m.o = pyo.Objective(expr=m.x + 2 * m.y + 3 * m.z)
    solver = PersistentHighs(gap=0.0, time_limit=60)
    solver.solve(m, mip=True)
    for name, start, words in (
            ("good", [(m.x, 0.0), (m.y, 1.0), (m.z, 0.0)], "0"),
            ("bad", [(m.x, 0.0), (m.y, 0.0), (m.z, 0.0)], "1")):
        log = tmp_path / f"{name}.log"
        solver.highs.setOptionValue("output_flag", True)
        solver.highs.setOptionValue("log_to_console", False)
        solver.highs.setOptionValue("log_file", str(log))
        rec = solver.solve(m, mip=True, start=start)
        solver.highs.setOptionValue("output_flag", False)
        assert re.search(r"Row\s+infeasibilities\s+(\d+)", log.read_text()).group(1) == words
        assert rec.objective == pytest.approx(1.0) and m.x.value == pytest.approx(1.0)


@pytest.mark.parametrize("make", [example_11_3, example_11_4], ids=["11_3", "11_4"])
def test_mip_starts_leave_the_examples_unchanged(make):
    """Spec §11.3 / §11.4 (their hand-solved schedules and LMPs are asserted in
    tests/test_clearing_examples.py), without LP-relaxation rounds so that the first MIP round
    overloads the line and a second round is needed: the same schedules and prices whatever
    the start; the second round starts from the first round's integers unless `none`, and
    only `rounded` gives the first round a start."""
    sc = make().with_parameters(lazy_lp_rounds=0)
    runs = {s: solve(sc.with_parameters(mip_start=s))
            for s in ("previous_round", "rounded", "none")}
    base = runs["none"]
    for name, run in runs.items():
        pd.testing.assert_series_equal(run.schedules["energy_mw"], base.schedules["energy_mw"],
                                       atol=1e-6)
        pd.testing.assert_series_equal(run.nodal_prices["lmp"], base.nodal_prices["lmp"],
                                       atol=1e-6)
        given = [r["start_columns"] for r in run.manifest["solver"]["lazy"]["round_log"]
                 if r["mip"]]
        assert len(given) == 2
        assert (given[0] > 0) == (name == "rounded")
        assert (given[1] > 0) == (name != "none")
