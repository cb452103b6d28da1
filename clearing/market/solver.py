"""HiGHS through a direct highspy hand-off: one HiGHS instance per model kept across lazy rounds
and the pricing LP. Fix binaries, relax them to continuous, re-solve, read duals (spec §6,
pricing procedure).

Why not Pyomo's persistent HiGHS interface (`pyomo.contrib.solver.solvers.highs.Highs`, which
this layer replaced): its `set_instance` / `add_constraints` walk every constraint expression
twice, once to collect its variables (`collect_vars_and_named_exprs`) and once more with the
old, slow `generate_standard_repn`. `PersistentHighs` below walks each constraint body once with
Pyomo's fast linear walker (`pyomo.repn.linear.LinearRepnVisitor`, the one the LP writer v2
uses) and passes columns, rows, costs, bounds and integrality to highspy in bulk numpy arrays.
Measured with `python -m benchmarks --repeat 1 --memory off` on this project's 2-core machine
(hand-off = load at the first solve + the pricing LP's update):

    pglib-uc ca (247k variables, 235k rows):  11.76 s -> 3.08 s (2.74 s load + 0.34 s update)
                                              (same run: build 10-12 s, MIP solve 45-51 s)
    pglib-uc rts_gmlc/2020-07-06 (39k vars):   2.18 s -> 0.69 s

with the same objectives to within the MIP gap (ca 48,246 / 48,253; rts_gmlc 3,729,164 /
3,729,984). See also docs/engine.md, "Solving and pricing".

What it keeps from the persistent interface:

* the first `solve` of a model loads it whole; later solves pass only the constraints (and the
  variables first met in them, e.g. the slacks of lazily added network rows) that appeared
  since, and re-read the objective (callers reassign `m.obj.expr` after adding rows). Rows are
  never removed (the engine only adds them);
* columns follow the order in which their Var components are first met, each component in its
  own index order (like the LP writer's var recorder), and rows the model's component order, so
  the HiGHS model and its solve path do not depend on Python's hash seed. A column exists for
  every variable that appears in a row or the objective;
* a variable fixed with `Var.fix()` when its rows are passed is a constant there (its value is
  moved into the row bounds and the objective offset), as the persistent interface treats fixed
  variables as parameters; a column fixed later through `Var.fix()` gets lb = ub = value at the
  next `vars_changed` re-sync, and if a variable fixed at load was unfixed or re-fixed at
  another value, that re-sync reloads the model;
* `vars_changed=True` re-syncs every column's bounds and integrality from the Pyomo variables
  (`fix_binaries` for the pricing LP; domain changes between LP relaxation and MIP in RT);
* `duals()` are HiGHS's row duals of the last solve as the persistent interface returned them
  (`Highs._get_duals`: `getSolution().row_dual`, no sign change): for the minimised objective,
  the dual of a row is ∂objective/∂(row bound), e.g. > 0 for a binding `>=` demand row, < 0 for
  a binding `<=` limit.

HiGHS's time limit: the run clock of a HiGHS instance is cumulative over its life for LP solves
(a re-solve on the same instance starts where the last one ended), while the MIP solver times
each run from its own start (measured with highspy 1.15.1). So an LP gets `time_limit` on top
of the clock's reading (`getRunTime()`) and a MIP gets `time_limit` itself: each solve has its
own limit either way."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.core.staleflag import StaleFlagManager
from pyomo.repn.linear import LinearRepnVisitor

from scenarios.errors import SolverError

OK = {TerminationCondition.convergenceCriteriaSatisfied,
      TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit}

_INF = highspy.kHighsInf
_MS = highspy.HighsModelStatus
#: HiGHS model status -> Pyomo's termination condition (as pyomo.contrib.solver's Highs maps it)
_TERMINATION = {
    _MS.kOptimal: TerminationCondition.convergenceCriteriaSatisfied,
    _MS.kTimeLimit: TerminationCondition.maxTimeLimit,
    _MS.kIterationLimit: TerminationCondition.iterationLimit,
    _MS.kInfeasible: TerminationCondition.provenInfeasible,
    _MS.kUnboundedOrInfeasible: TerminationCondition.infeasibleOrUnbounded,
    _MS.kUnbounded: TerminationCondition.unbounded,
    _MS.kObjectiveBound: TerminationCondition.objectiveLimit,
    _MS.kObjectiveTarget: TerminationCondition.objectiveLimit,
    _MS.kLoadError: TerminationCondition.error,
    _MS.kModelError: TerminationCondition.error,
    _MS.kPresolveError: TerminationCondition.error,
    _MS.kSolveError: TerminationCondition.error,
    _MS.kPostsolveError: TerminationCondition.error,
}
if hasattr(_MS, "kSolutionLimit"):
    _TERMINATION[_MS.kSolutionLimit] = TerminationCondition.iterationLimit


@dataclass
class SolveRecord:
    termination: str
    objective: float
    bound: float
    gap: float
    seconds: float            # the whole solve() call
    handoff_s: float = 0.0    # Pyomo -> HiGHS: load, or incremental update incl. bound re-sync
    mip: bool = True
    optimize_s: float = 0.0   # HiGHS run()
    load_s: float = 0.0       # primal values back into the Pyomo variables


class _VarRecorder:
    """Variable recorder for LinearRepnVisitor: when a variable is first met, every not-fixed
    index of its Var component is ranked, in the component's order (as the LP writer's
    recorders do, so unordered iteration while building an expression cannot change the order).
    Only variables that appear in a passed row or the objective become columns."""

    def __init__(self) -> None:
        self.var_map: dict[int, object] = {}   # id -> VarData (the visitor's var_map)
        self.rank: dict[int, int] = {}

    def add(self, var) -> None:
        vm, rank = self.var_map, self.rank
        try:
            items = var.parent_component().values()
        except AttributeError:
            items = (var,)
        for v in items:
            vid = id(v)
            if vid not in rank:
                rank[vid] = len(rank)
            if not v.fixed:
                vm[vid] = v


def _ok(status, what: str) -> None:
    if status == highspy.HighsStatus.kError:
        raise SolverError(f"highspy rejected {what}")


def _check_constant_row(con, lb: float, ub: float) -> None:
    """A row whose variables are all fixed (or absent) is the constant 0 within [lb, ub]: kept
    when it holds, a `SolverError` naming the row when it cannot (inconsistent hard data,
    found here rather than as an unexplained infeasible solve)."""
    tol = 1e-6
    if lb > tol * max(1.0, abs(lb)) or ub < -tol * max(1.0, abs(ub)):
        raise SolverError(f"constraint {con.name} has no free variable and cannot hold: "
                          f"0 must lie in [{lb:g}, {ub:g}] after its fixed terms (inconsistent "
                          "hard limits in the input)")


def _interval(dom, cache: dict) -> tuple:
    got = cache.get(id(dom))
    if got is None:
        iv = dom.get_interval()
        if iv is None or iv[2] not in (0, 1):
            raise SolverError(f"variable domain {dom} is neither continuous nor integer")
        got = cache[id(dom)] = (dom, iv[2])  # keep dom alive: its id stays unique
    return got[1]


def _col_data(vars_: list, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lb, ub, integrality) of the columns of `vars_`: lb = ub = value for fixed variables."""
    n = len(vars_)
    lb = np.empty(n)
    ub = np.empty(n)
    it = np.empty(n, dtype=np.uint8)
    for i, v in enumerate(vars_):
        it[i] = _interval(v.domain, cache)
        if v.fixed:
            if v.value is None:
                raise SolverError(f"variable {v.name} is fixed without a value")
            lb[i] = ub[i] = v.value
        else:
            lo, hi = v.bounds
            lb[i] = -_INF if lo is None else lo
            ub[i] = _INF if hi is None else hi
    return lb, ub, it


#: the first MIP round of a stage runs for at least this long even when the run budget is
#: spent: without an incumbent there is nothing to price or report
MIN_FIRST_MIP_S = 1.0


MIP_PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class MipProgress:
    """A live snapshot of a running MIP (HiGHS's MIP-interrupt callback): the solve's label,
    the incumbent objective (inf before the first feasible solution), the dual bound, the
    relative gap (inf without an incumbent) and the seconds spent in this solve."""

    label: str
    incumbent: float
    bound: float
    gap: float
    seconds: float

    def describe(self) -> str:
        if not math.isfinite(self.incumbent):
            return f"{self.label}: no incumbent yet, bound ${self.bound:,.2f} ({self.seconds:.0f} s)"
        return (f"{self.label}: incumbent ${self.incumbent:,.2f}, bound ${self.bound:,.2f}, "
                f"gap {self.gap:.3%} ({self.seconds:.0f} s)")


def _mip_listener(label: str, report: Callable[[MipProgress], None]) -> Callable:
    """A HiGHS MIP-interrupt callback that forwards a `MipProgress` at most every
    MIP_PROGRESS_EVERY_S seconds; a failing `report` never stops the solve."""
    last = [-math.inf]

    def listen(event) -> None:
        out = event.data_out
        t = float(out.running_time)
        if t - last[0] < MIP_PROGRESS_EVERY_S:
            return
        last[0] = t
        try:
            report(MipProgress(label, float(out.objective_function_value),
                               float(out.mip_dual_bound), float(out.mip_gap), t))
        except Exception:  # noqa: BLE001 - a display problem must not break the market run
            pass
    return listen


@dataclass
class RunBudget:
    """Wall-clock budget of a whole run (parameter run_time_limit_s; 0 or inf: none). Every
    HiGHS call of the run gets min(its own limit, `remaining()`) (clearing.market.ifm.solve_lazy)."""

    seconds: float = 0.0
    clock: Callable[[], float] = time.perf_counter
    start: float | None = None
    stopped: list = field(default_factory=list)   # labels of the solves the budget cut short
    # live MIP progress of the run's solves (the CLI's status line): called at most every
    # MIP_PROGRESS_EVERY_S seconds with a `MipProgress` while HiGHS branches
    on_mip_progress: Callable[["MipProgress"], None] | None = None

    def __post_init__(self) -> None:
        if self.start is None:
            self.start = self.clock()

    @property
    def limited(self) -> bool:
        return 0 < self.seconds < math.inf

    def remaining(self) -> float:
        """Seconds left (inf without a budget)."""
        if not self.limited:
            return math.inf
        return max(0.0, self.seconds - (self.clock() - self.start))

    def spent(self) -> bool:
        return self.remaining() <= 0.0


class _Mirror:
    """The HiGHS copy of one Pyomo model (module docstring, "What it keeps"): one highspy
    instance, its columns (the variables met in rows and the objective, in recorder rank order),
    its rows (in the model's component order) and the objective. `sync` passes what is new."""

    def __init__(self, m: pyo.ConcreteModel) -> None:
        self.model = m
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        self.cols: list = []                # VarData per column
        self.col: dict[int, int] = {}       # id(VarData) -> column
        self.integ = np.zeros(0, dtype=np.uint8)
        self.rows: list = []                # ConstraintData per row
        self.row: dict = {}                 # ConstraintData -> row
        self.seen: dict[int, tuple] = {}    # id(Constraint component) -> (component, rows passed)
        # (VarData, value) of the variables fixed at load: constants in the rows passed
        self.fixed0 = [(v, v.value) for v in m.component_data_objects(pyo.Var, descend_into=True)
                       if v.fixed]
        self.domains: dict = {}
        self.recorder = _VarRecorder()
        self.visitor = LinearRepnVisitor({}, var_recorder=self.recorder)
        self.loaded = False

    def stale(self) -> bool:
        """A variable folded into the rows as a constant at load was unfixed or re-fixed."""
        return any(not v.fixed or v.value != val for v, val in self.fixed0)

    def sync(self, vars_changed: bool) -> None:
        """Pass what is new in the model to HiGHS (everything at the first call): new rows and
        the columns first met in them, every column's bounds and integrality when
        `vars_changed`, and the objective (re-read every time)."""
        self.visitor.subexpression_cache.clear()
        cons, lbs, ubs, repns = self._walk_rows()
        orepn = self._walk_objective()
        n_new = self._add_columns(repns, orepn)
        if vars_changed and self.loaded:
            self._resync_columns(len(self.cols) - n_new)
        if cons:
            self._add_rows(cons, lbs, ubs, repns)
        self._set_objective(orepn)
        self.loaded = True

    def set_relaxed(self, relaxed: bool) -> None:
        """Every column continuous (the LP relaxation, for one run), or the recorded
        integrality back."""
        n = len(self.integ)
        it = np.zeros(n, dtype=np.uint8) if relaxed else self.integ
        _ok(self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), it),
            "the LP relaxation" if relaxed else "the integrality after the LP relaxation")

    # ---- the pieces of a sync -----------------------------------------------------------------
    def _new_constraints(self) -> list:
        """Active constraints not yet passed, in the model's component order."""
        out = []
        seen, row = self.seen, self.row
        for comp in self.model.component_objects(pyo.Constraint, active=True, descend_into=True):
            got = seen.get(id(comp))
            n = len(comp)
            if got is not None and got[1] == n:
                continue
            out.extend(c for c in comp.values() if c.active and c not in row)
            seen[id(comp)] = (comp, n)
        return out

    def _walk_rows(self) -> tuple[list, list, list, list]:
        """(constraints, lower bounds, upper bounds, linear terms) of the new rows: one walk of
        each body, its constant moved into the bounds."""
        walk = self.visitor.walk_expression
        cons = self._new_constraints()
        lbs, ubs, repns = [], [], []
        for con in cons:
            lb, body, ub = con.to_bounded_expression(True)
            repn = walk(body)
            if repn.nonlinear is not None:
                raise SolverError(f"constraint {con.name} is nonlinear; HiGHS takes linear rows")
            c = repn.constant
            lbs.append(-_INF if lb is None else lb - c)
            ubs.append(_INF if ub is None else ub - c)
            repns.append(repn.linear)
            if not repn.linear:
                _check_constant_row(con, lbs[-1], ubs[-1])
        return cons, lbs, ubs, repns

    def _walk_objective(self):
        """The linear form of the one active, minimised objective (None without one)."""
        objs = list(self.model.component_data_objects(pyo.Objective, active=True,
                                                      descend_into=True))
        if len(objs) > 1:
            raise SolverError(f"the model has {len(objs)} active objectives; HiGHS takes one")
        if not objs:
            return None
        obj = objs[0]
        if obj.sense != pyo.minimize:
            raise SolverError(f"objective {obj.name} is not minimised; the direct HiGHS "
                              "hand-off supports minimisation only")
        orepn = self.visitor.walk_expression(obj.expr)
        if orepn.nonlinear is not None:
            raise SolverError(f"objective {obj.name} is nonlinear; HiGHS takes a linear one")
        return orepn

    def _add_columns(self, repns: list, orepn) -> int:
        """Columns for the variables met for the first time, in recorder rank order; how many."""
        new = set()
        for lin in repns:
            new.update(lin)
        if orepn is not None:
            new.update(orepn.linear)
        new.difference_update(self.col)
        if not new:
            return 0
        rank, vm = self.recorder.rank, self.recorder.var_map
        ids = sorted(new, key=rank.__getitem__)
        start = len(self.cols)
        vars_ = [vm[i] for i in ids]
        lb, ub, it = _col_data(vars_, self.domains)
        self.col.update(zip(ids, range(start, start + len(ids))))
        self.cols.extend(vars_)
        n = len(ids)
        _ok(self.h.addVars(n, lb, ub), f"{n} new columns")
        _ok(self.h.changeColsIntegrality(n, np.arange(start, start + n, dtype=np.int32), it),
            "the new columns' integrality")
        self.integ = np.concatenate([self.integ, it])
        return n

    def _resync_columns(self, n_old: int) -> None:
        """Bounds and integrality of the first `n_old` columns from their Pyomo variables."""
        if not n_old:
            return
        lb, ub, it = _col_data(self.cols[:n_old], self.domains)
        idx = np.arange(n_old, dtype=np.int32)
        _ok(self.h.changeColsBounds(n_old, idx, lb, ub), "the column bounds")
        _ok(self.h.changeColsIntegrality(n_old, idx, it), "the column integrality")
        self.integ[:n_old] = it

    def _add_rows(self, cons: list, lbs: list, ubs: list, repns: list) -> None:
        """The new rows in one bulk call (compressed row storage)."""
        col = self.col.__getitem__
        starts = np.empty(len(cons), dtype=np.int32)
        index: list = []
        value: list = []
        for k, lin in enumerate(repns):
            starts[k] = len(index)
            index.extend(map(col, lin))
            value.extend(lin.values())
        _ok(self.h.addRows(len(cons), np.array(lbs, dtype=np.double),
                           np.array(ubs, dtype=np.double), len(index), starts,
                           np.array(index, dtype=np.int32), np.array(value, dtype=np.double)),
            f"{len(cons)} new rows")
        r0 = len(self.rows)
        self.row.update(zip(cons, range(r0, r0 + len(cons))))
        self.rows.extend(cons)

    def _set_objective(self, orepn) -> None:
        """Every column's cost and the objective's constant offset."""
        n = len(self.cols)
        cost = np.zeros(n)
        offset = 0.0
        if orepn is not None:
            lin = orepn.linear
            if lin:
                cost[np.fromiter(map(self.col.__getitem__, lin), dtype=np.int64,
                                 count=len(lin))] = np.fromiter(lin.values(), dtype=np.double,
                                                                count=len(lin))
            offset = float(orepn.constant)
        if n:
            _ok(self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost), "the objective")
        _ok(self.h.changeObjectiveOffset(offset), "the objective offset")


#: the thread count of HiGHS's task scheduler in this process: HiGHS keeps one scheduler per
#: process, sized by the first run, and refuses a run asking for another size until it is
#: reset (HiGHS's parallel.md: "concurrent Highs instances must use the same value of
#: threads"). The engine solves one model at a time per process (sweeps use worker processes).
_SCHEDULER: dict = {"threads": None}


def use_global_scheduler(threads: int) -> None:
    """Size HiGHS's process-wide task scheduler to `threads` before a run (reset it when an
    earlier run of this process used another size)."""
    if _SCHEDULER["threads"] != threads:   # also on first use: another library may have run HiGHS
        highspy.Highs.resetGlobalScheduler(True)
    _SCHEDULER["threads"] = threads


@dataclass
class PersistentHighs:
    """One HiGHS instance per model, fed directly from Pyomo (see the module docstring): the
    model's copy in HiGHS is a `_Mirror`; this class runs it under the time limits and reads
    the result back.

    `budget`: the run's `RunBudget`; each solve's limit is min(`time_limit`, what is left, but
    at least the solve's `at_least_s`)."""

    gap: float
    time_limit: float
    records: list = field(default_factory=list)
    budget: RunBudget | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        self._mirror: _Mirror | None = None
        self._sol = None

    # ---- the HiGHS copy (read-only views, for tests and benchmarks) ---------------------------
    @property
    def highs(self):
        """The highspy instance of the current model (None before the first solve)."""
        return self._mirror.h if self._mirror is not None else None

    @property
    def columns(self) -> list:
        """The Pyomo variable of each HiGHS column."""
        return self._mirror.cols if self._mirror is not None else []

    @property
    def rows(self) -> list:
        """The Pyomo constraint of each HiGHS row."""
        return self._mirror.rows if self._mirror is not None else []

    @property
    def integrality(self) -> np.ndarray:
        """The recorded integrality of each column (1: integer)."""
        return self._mirror.integ if self._mirror is not None else np.zeros(0, dtype=np.uint8)

    # ---- solve --------------------------------------------------------------------------------
    def solve(self, m: pyo.ConcreteModel, mip: bool = True, label: str = "",
              vars_changed: bool = False, relax: bool = False,
              at_least_s: float | None = 0.0, start: list | None = None) -> SolveRecord:
        """Solve (or re-solve) `m`; `vars_changed` when bounds/domains/fixing changed.

        `relax`: solve the LP relaxation (every column continuous for this run only; the
        integrality stays recorded and is restored for the next solve). `at_least_s`: the
        least time this solve gets from the run budget (None: its own limit, whatever the
        budget). `start`: (VarData, value) pairs of integer columns, a MIP start HiGHS completes by
        fixing them and solving what is left (a sub-MIP, or the LP when every integer column is
        given) and drops when infeasible."""
        t0 = time.perf_counter()
        what = label or "model"
        try:
            self._sync(m, vars_changed)
            t1 = time.perf_counter()
            own, status, info, sol = self._run(what, relax, at_least_s, start)
            t2 = time.perf_counter()
        except Exception as exc:  # hand-off/highspy failures become one clear error
            raise SolverError(f"HiGHS failed on the {what}: {exc}") from exc
        tc = _TERMINATION.get(status, TerminationCondition.unknown)
        self._check(tc, info.primal_solution_status == 2, own, what)
        for v, x in zip(self._mirror.cols, sol.col_value):
            v.set_value(x, skip_validation=True)
        StaleFlagManager.mark_all_as_stale(delayed=True)
        self._sol = sol
        obj, bound, gap = _objective_bound_gap(tc, info)
        t3 = time.perf_counter()
        rec = SolveRecord(termination=tc.name, objective=obj, bound=bound,
                          gap=0.0 if not mip else gap, seconds=t3 - t0, mip=mip,
                          handoff_s=t1 - t0, optimize_s=t2 - t1, load_s=t3 - t2)
        self.records.append((label, rec))
        return rec

    def _sync(self, m: pyo.ConcreteModel, vars_changed: bool) -> None:
        """Bring the HiGHS copy up to `m`: a new copy for another model, or when a variable that
        was a constant at load changed (`vars_changed`); a copy that fails half-way is dropped,
        so the next solve reloads."""
        self._sol = None
        mirror = self._mirror
        if mirror is None or mirror.model is not m or (vars_changed and mirror.stale()):
            mirror = self._mirror = _Mirror(m)
        try:
            mirror.sync(vars_changed)
        except Exception:
            self._mirror = None
            raise

    def _run(self, what: str, relax: bool, at_least_s: float | None,
             start: list | None = None) -> tuple:
        """One HiGHS run with this solve's options and limit (the LP clock is cumulative over
        the instance, the MIP's is per run: module docstring); the live MIP progress goes to
        the budget's listener. Returns (own limit s, model status, info, solution)."""
        mirror = self._mirror
        h = mirror.h
        has_int = bool(mirror.integ.any())
        if relax and has_int:
            mirror.set_relaxed(True)
            has_int = False
        own = self.time_limit
        if self.budget is not None and at_least_s is not None:
            own = min(own, max(self.budget.remaining(), at_least_s))
        limit = own if has_int else h.getRunTime() + own
        threads = max(1, int(self.threads))
        use_global_scheduler(threads)
        for key, val in (("mip_rel_gap", self.gap), ("random_seed", 0), ("threads", threads),
                         ("parallel", "on" if (has_int and threads > 1) else "off"),
                         ("time_limit", float(limit))):
            h.setOptionValue(key, val)
        if has_int and start:
            cols = [(mirror.col.get(id(v)), x) for v, x in start]
            cols = sorted((j, x) for j, x in cols if j is not None)
            if cols:
                h.setSolution(len(cols), np.array([j for j, _ in cols], dtype=np.int32),
                              np.array([x for _, x in cols], dtype=np.float64))
        report = self.budget.on_mip_progress if self.budget is not None else None
        listener = _mip_listener(what, report) if (has_int and report) else None
        if listener is not None:
            h.cbMipInterrupt.subscribe(listener)
        try:
            h.run()
        finally:
            if listener is not None:
                h.cbMipInterrupt.unsubscribe(listener)
        status, info, sol = h.getModelStatus(), h.getInfo(), h.getSolution()
        if relax and mirror.integ.any():  # after reading: a model change resets them
            mirror.set_relaxed(False)
        return own, status, info, sol

    def _check(self, tc, feasible: bool, own: float, what: str) -> None:
        """A clear `SolverError` when the run has no solution to use; a solve the run budget
        cut short is recorded in `budget.stopped`."""
        if tc == TerminationCondition.maxTimeLimit and own < self.time_limit:
            self.budget.stopped.append(what)
            if not feasible:
                raise SolverError(f"HiGHS found no feasible solution for the {what} within the "
                                  f"run budget (run_time_limit_s = {self.budget.seconds:g} s, "
                                  f"{own:.3g} s left for it)")
        if tc in (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit) \
                and not feasible:
            raise SolverError(f"HiGHS found no feasible solution for the {what} before its "
                              f"{'time' if tc == TerminationCondition.maxTimeLimit else 'iteration'}"
                              f" limit ({own:g} s; parameter time_limit_s): raise the limit")
        if tc not in OK or not feasible:
            raise SolverError(f"HiGHS found no solution for the {what}: {tc.name}"
                              " (the market relaxes every requirement at its penalty, so this "
                              "points at inconsistent hard limits such as Pmin > Pmax after "
                              "derates, ETSR base transfers above limits, or a numerical issue)")

    def duals(self) -> dict:
        """{ConstraintData: HiGHS row dual} of the last solve (module docstring: signs)."""
        if self._sol is None or not self._sol.dual_valid:
            raise SolverError("HiGHS has no duals for the last solve (a MIP, or no solve yet)")
        return dict(zip(self._mirror.rows, self._sol.row_dual))


def _objective_bound_gap(tc, info) -> tuple[float, float, float]:
    """(objective, dual bound, relative gap) of a run: an LP's bound is its objective when
    solved; a MIP's is HiGHS's dual bound."""
    obj = float(info.objective_function_value)
    if info.mip_node_count == -1:   # solved as an LP
        bound = obj if tc == TerminationCondition.convergenceCriteriaSatisfied else None
    else:
        bound = float(info.mip_dual_bound)
    bound = obj if bound is None else bound
    gap = abs(obj - bound) / max(1e-9, abs(obj)) if math.isfinite(bound) else math.inf
    return obj, bound, gap


def fix_binaries(binaries: list) -> None:
    """Fix every binary at its rounded value and make it continuous, for the pricing LP (spec §6).

    Through its bounds (lb = ub) and domain, not `Var.fix()`: the next solve re-syncs every
    column's bounds and integrality in one vectorised call (`vars_changed=True`), whereas a
    variable fixed while its rows are in HiGHS would be a constant in rows passed later but a
    column in earlier ones. Variables fixed before the first solve (a what-if's given
    commitment) stay fixed."""
    for comp in binaries:
        for v in comp.values():
            if not v.fixed:
                val = 0 if v.value is None else round(v.value)
                v.setlb(val)
                v.setub(val)
            v.domain = pyo.Reals
