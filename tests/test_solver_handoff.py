"""The direct Pyomo -> HiGHS hand-off (clearing/market/solver.py) on hand-made models whose optimum,
objective and shadow prices are computed by hand."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from clearing.market.solver import PersistentHighs, SolveRecord, fix_binaries
from scenarios.errors import SolverError


def _uc_model(both_sides: bool = False) -> pyo.ConcreteModel:
    """Two units and a slack serve 100 MW; a fixed 10 MW must-run block; one ranged and one
    inequality row; a constant in a row body.

    cheap unit g1: 20 $/MWh, on/off u1 (no-load 50 $), 0..60 MW when on;
    dear unit  g2: 30 $/MWh, on/off u2 (no-load 10 $), 0..80 MW when on;
    must-run block f fixed at 10 MW (cost 5 $/MWh, a constant 50 $ in the objective);
    ranged row: 5 <= g2 + 2 <= 200 (constant in the body);
    balance: g1 + g2 + f + s == 100 with slack s at 1000 $/MWh.
    Optimum: u1 = u2 = 1, g1 = 60, g2 = 30, s = 0; objective
    60*20 + 30*30 + 50 + 10 + 10*5 = 2210.
    `both_sides`: the same rows written with variables on both sides (60 u1 >= g1,
    g1 + g2 + s == 100 - f), which the hand-off passes as lhs - rhs as Pyomo does."""
    m = pyo.ConcreteModel()
    m.u = pyo.Var([1, 2], domain=pyo.Binary)
    m.g = pyo.Var([1, 2], domain=pyo.NonNegativeReals)
    m.f = pyo.Var(domain=pyo.NonNegativeReals)
    m.f.fix(10)
    m.s = pyo.Var(domain=pyo.NonNegativeReals)
    if both_sides:
        m.cap1 = pyo.Constraint(expr=60 * m.u[1] >= m.g[1])
    else:
        m.cap1 = pyo.Constraint(expr=m.g[1] <= 60 * m.u[1])
    m.cap2 = pyo.Constraint(expr=m.g[2] - 80 * m.u[2] <= 0)
    m.rng = pyo.Constraint(expr=pyo.inequality(5, m.g[2] + 2, 200))
    if both_sides:
        m.bal = pyo.Constraint(expr=m.g[1] + m.g[2] + m.s == 100 - m.f)
    else:
        m.bal = pyo.Constraint(expr=m.g[1] + m.g[2] + m.f + m.s == 100)
    m.obj = pyo.Objective(expr=20 * m.g[1] + 30 * m.g[2] + 50 * m.u[1] + 10 * m.u[2]
                          + 5 * m.f + 1000 * m.s, sense=pyo.minimize)
    return m


def test_mip_primal_objective_and_record():
    m = _uc_model()
    s = PersistentHighs(gap=1e-6, time_limit=30)
    rec = s.solve(m, mip=True, label="uc")
    assert isinstance(rec, SolveRecord)
    assert rec.termination == "convergenceCriteriaSatisfied"
    assert rec.objective == pytest.approx(2210.0)
    assert rec.bound == pytest.approx(2210.0)
    assert pyo.value(m.u[1]) == pytest.approx(1) and pyo.value(m.u[2]) == pytest.approx(1)
    assert pyo.value(m.g[1]) == pytest.approx(60) and pyo.value(m.g[2]) == pytest.approx(30)
    assert pyo.value(m.s) == pytest.approx(0) and pyo.value(m.f) == 10
    assert pyo.value(m.obj) == pytest.approx(rec.objective)
    assert rec.handoff_s > 0 and rec.optimize_s > 0 and rec.load_s >= 0
    assert rec.seconds >= rec.handoff_s + rec.optimize_s
    assert s.records == [("uc", rec)]
    # the fixed variable is a constant in the rows: it has no column
    assert len(s.columns) == 5 and len(s.rows) == 4


@pytest.mark.parametrize("both_sides", [False, True])
def test_lp_duals_are_d_objective_d_bound(both_sides):
    """Shadow prices of an LP, by hand: balance g1 + g2 + f + s == 100 with g1 <= 60 (20 $),
    g2 <= 80 (30 $), f fixed at 10: g2 is marginal, so the balance dual is +30 (one more MW of
    demand costs 30 $); the binding cap g1 <= 60 has dual 20 - 30 = -10 (one more MW of cap
    saves 10 $); the slack row of g2 is not binding (0)."""
    m = _uc_model(both_sides)
    for v in m.u.values():
        v.fix(1)
    s = PersistentHighs(gap=1e-6, time_limit=30)
    rec = s.solve(m, mip=False, label="lp")
    assert rec.objective == pytest.approx(2210.0)
    d = s.duals()
    assert set(d) == {m.cap1, m.cap2, m.rng, m.bal}
    assert d[m.bal] == pytest.approx(30.0)
    assert d[m.cap1] == pytest.approx(-10.0)
    assert d[m.cap2] == pytest.approx(0.0)
    assert d[m.rng] == pytest.approx(0.0)


def test_ranged_row_at_its_lower_bound_has_positive_dual():
    """A ranged row binding at its lower bound with a constant in its body: 5 <= x + 2 <= 20,
    minimise 3x + 1: x = 3, objective 10, dual +3 (raising the lower bound by 1 costs 3)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, None))
    m.r = pyo.Constraint(expr=pyo.inequality(5, m.x + 2, 20))
    m.obj = pyo.Objective(expr=3 * m.x + 1)
    s = PersistentHighs(gap=1e-6, time_limit=30)
    rec = s.solve(m, mip=False)
    assert rec.objective == pytest.approx(10.0)
    assert pyo.value(m.x) == pytest.approx(3.0)
    assert s.duals()[m.r] == pytest.approx(3.0)


def test_cancelling_terms_and_constant_sides():
    """x + y == y + 3 (y cancels) is the row x == 3; 1 >= y (constant left side) is y <= 1.
    min x + 2y + 1 with y >= -1: x = 3, y = -1, objective 2; duals +1 (x row), 0 (y <= 1)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var()
    m.y = pyo.Var(bounds=(-1, None))
    m.e = pyo.Constraint(expr=m.x + m.y == m.y + 3)
    m.c = pyo.Constraint(expr=1 >= m.y)
    m.obj = pyo.Objective(expr=m.x + 2 * m.y + 1)
    s = PersistentHighs(gap=1e-6, time_limit=30)
    rec = s.solve(m, mip=False)
    assert rec.objective == pytest.approx(2.0)
    assert pyo.value(m.x) == pytest.approx(3.0) and pyo.value(m.y) == pytest.approx(-1.0)
    lp = s.highs.getLp()
    assert len(lp.a_matrix_.value_) == 2   # x in row e, y in row c: the cancelled y is not stored
    d = s.duals()
    assert d[m.e] == pytest.approx(1.0) and d[m.c] == pytest.approx(0.0)


def test_incremental_row_and_variable():
    """After a first solve, a new row with a new (slack) variable and a new objective term are
    passed incrementally: g2 <= 20 + e, e priced at 100 $/MW. g2 can no longer take 30 MW
    cheaply: the 10 MW above 20 come from the 1000 $ slack or from e at 100 $ (g2 at 30 $):
    e = 10, objective 2210 + 10*100 = 3210."""
    m = _uc_model()
    s = PersistentHighs(gap=1e-6, time_limit=30)
    s.solve(m, mip=True, label="first")
    h = s.highs
    n_cols, n_rows = len(s.columns), len(s.rows)
    m.extra = pyo.ConstraintList()
    m.e = pyo.VarList(domain=pyo.NonNegativeReals)
    e = m.e.add()
    m.extra.add(m.g[2] <= 20 + e)
    m.obj.expr = m.obj.expr + 100 * e
    rec = s.solve(m, mip=True, label="second")
    assert s.highs is h  # the same HiGHS instance, not a reload
    assert len(s.columns) == n_cols + 1 and len(s.rows) == n_rows + 1
    assert rec.objective == pytest.approx(3210.0)
    assert pyo.value(e) == pytest.approx(10.0)
    assert pyo.value(m.g[2]) == pytest.approx(30.0)
    # a third solve with nothing new passes nothing and gives the same optimum
    rec3 = s.solve(m, mip=True, label="third")
    assert len(s.rows) == n_rows + 1 and rec3.objective == pytest.approx(3210.0)
    assert [lab for lab, _ in s.records] == ["first", "second", "third"]


def test_fix_binaries_then_pricing_lp_with_duals():
    """The pricing procedure: MIP, fix_binaries, vars_changed=True -> an LP with duals, the
    same as the hand-made LP above (balance dual 30, cap1 dual -10)."""
    m = _uc_model()
    s = PersistentHighs(gap=1e-6, time_limit=30)
    s.solve(m, mip=True, label="mip")
    with pytest.raises(SolverError):
        s.duals()   # a MIP has no duals
    fix_binaries([m.u])
    assert m.u[1].domain is pyo.Reals and m.u[1].lb == m.u[1].ub == 1
    rec = s.solve(m, mip=False, label="pricing LP", vars_changed=True)
    assert not s.integrality.any()
    assert rec.objective == pytest.approx(2210.0)
    d = s.duals()
    assert d[m.bal] == pytest.approx(30.0)
    assert d[m.cap1] == pytest.approx(-10.0)


def test_vars_changed_fix_and_unfix():
    """A column fixed later with Var.fix() is lb = ub = value at the re-sync; unfixing a variable
    that was a constant at load reloads the model."""
    m = _uc_model()
    s = PersistentHighs(gap=1e-6, time_limit=30)
    s.solve(m, mip=True)
    m.u[1].fix(0)  # the cheap unit off: g1 = 0, g2 = 80, s = 10
    rec = s.solve(m, mip=True, vars_changed=True)
    assert rec.objective == pytest.approx(80 * 30 + 10 + 10 * 1000 + 50)
    m.u[1].unfix()
    h = s.highs
    m.f.unfix()    # folded into the rows at load: forces a reload
    m.f.setub(10)
    rec = s.solve(m, mip=True, vars_changed=True)
    assert s.highs is not h
    assert rec.objective == pytest.approx(2210.0)


def test_time_limit_is_per_solve():
    """Per-solve limits: a MIP run gets `time_limit` (HiGHS's MIP clock starts at each run), an
    LP run `time_limit` on top of the instance's cumulative run clock."""
    m = _uc_model()
    s = PersistentHighs(gap=1e-6, time_limit=7)
    s.solve(m, mip=True)
    assert s.highs.getOptionValue("time_limit")[1] == 7
    fix_binaries([m.u])
    s.time_limit = 5
    used = s.highs.getRunTime()
    rec = s.solve(m, mip=False, vars_changed=True)
    assert rec.termination == "convergenceCriteriaSatisfied"
    assert s.highs.getOptionValue("time_limit")[1] == pytest.approx(5 + used, abs=1e-9)


def test_errors():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.c = pyo.Constraint(expr=m.x >= 2)
    m.obj = pyo.Objective(expr=m.x)
    with pytest.raises(SolverError, match="HiGHS found no solution for the tiny"):
        PersistentHighs(gap=0, time_limit=10).solve(m, label="tiny")
    m2 = pyo.ConcreteModel()
    m2.x = pyo.Var(bounds=(0, 1))
    m2.c = pyo.Constraint(expr=m2.x * m2.x <= 1)
    m2.obj = pyo.Objective(expr=m2.x)
    with pytest.raises(SolverError, match="nonlinear"):
        PersistentHighs(gap=0, time_limit=10).solve(m2)
    m3 = pyo.ConcreteModel()
    m3.x = pyo.Var(bounds=(0, 1))
    m3.obj = pyo.Objective(expr=m3.x, sense=pyo.maximize)
    with pytest.raises(SolverError, match="minimis"):
        PersistentHighs(gap=0, time_limit=10).solve(m3)


def test_relaxed_solve_then_mip_again():
    """LP relaxation of `_uc_model` by hand: per MW with its no-load spread, g1 costs
    20 + 50/60 and g2 30 + 10/80, so g1 = 60 (u1 = 1), g2 = 30 at u2 = 30/80 = 0.375;
    objective 1200 + 50 + 900 + 3.75 + 50 = 2203.75. The next solve is the MIP again (2210)."""
    m = _uc_model()
    s = PersistentHighs(gap=1e-9, time_limit=30)
    rec = s.solve(m, mip=False, relax=True, label="relaxation")
    assert rec.objective == pytest.approx(2203.75)
    assert pyo.value(m.u[2]) == pytest.approx(0.375)
    assert pyo.value(m.g[1]) == pytest.approx(60) and pyo.value(m.g[2]) == pytest.approx(30)
    rec = s.solve(m, mip=True, label="mip")
    assert rec.objective == pytest.approx(2210.0)
    assert pyo.value(m.u[2]) == pytest.approx(1)
    assert sorted(s.integrality.tolist()) == [0, 0, 0, 1, 1]   # integrality restored: u1, u2
