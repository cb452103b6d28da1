"""HiGHS through Pyomo's persistent interface: one HiGHS instance per model kept across lazy
rounds and the pricing LP (architecture.md, Performance). Fix binaries, relax them to
continuous, re-solve, read duals (spec §6, pricing procedure)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from scenarios.errors import SolverError

OK = {TerminationCondition.convergenceCriteriaSatisfied,
      TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit}


@dataclass
class SolveRecord:
    termination: str
    objective: float
    bound: float
    gap: float
    seconds: float
    handoff_s: float = 0.0
    mip: bool = True


@dataclass
class PersistentHighs:
    """One persistent HiGHS per model."""

    gap: float
    time_limit: float
    solver: Highs = field(default_factory=Highs)
    records: list = field(default_factory=list)

    def __post_init__(self) -> None:
        # Between solves only rows/slacks are added (lazy rounds) or binaries fixed (pricing):
        # skip Pyomo's re-scan of every existing constraint and expression.
        au = self.solver.config.auto_updates
        au.update_constraints = False
        au.update_named_expressions = False
        au.update_parameters = False
        au.check_for_new_or_removed_params = False
        au.update_vars = False

    def solve(self, m: pyo.ConcreteModel, mip: bool = True, label: str = "",
              vars_changed: bool = False) -> SolveRecord:
        """Solve (or re-solve) `m`; `vars_changed` when bounds/domains/fixing changed."""
        self.solver.config.auto_updates.update_vars = vars_changed
        t0 = time.perf_counter()
        opts = {"mip_rel_gap": self.gap, "random_seed": 0, "threads": 1}
        # HiGHS's run clock is cumulative over one instance's life: give each solve its own
        # `time_limit` on top of what earlier solves (lazy rounds, the MIP) already used.
        used = sum(r.seconds for _, r in self.records)
        try:
            res = self.solver.solve(m, rel_gap=self.gap, time_limit=self.time_limit + used,
                                    load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                    solver_options=opts)
        except Exception as exc:  # highspy/pyomo failures become one clear error
            raise SolverError(f"HiGHS failed on the {label or 'model'}: {exc}") from exc
        dt = time.perf_counter() - t0
        tc = res.termination_condition
        if tc not in OK or res.incumbent_objective is None:
            raise SolverError(f"HiGHS found no solution for the {label or 'model'}: {tc.name}"
                              " (the market relaxes every requirement at its penalty, so this "
                              "points at inconsistent hard limits such as Pmin > Pmax after "
                              "derates, ETSR base transfers above limits, or a numerical issue)")
        res.solution_loader.load_vars()
        obj = float(res.incumbent_objective)
        bound = float(res.objective_bound) if res.objective_bound is not None else obj
        gap = abs(obj - bound) / max(1e-9, abs(obj)) if math.isfinite(bound) else math.inf
        rec = SolveRecord(termination=tc.name, objective=obj, bound=bound,
                          gap=0.0 if not mip else gap, seconds=dt, mip=mip,
                          handoff_s=float(getattr(res, "timing_info", {}).get("highs_model_load", 0.0))
                          if isinstance(getattr(res, "timing_info", None), dict) else 0.0)
        self.records.append((label, rec))
        self._last = res
        return rec

    def duals(self) -> dict:
        return self._last.solution_loader.get_duals()


def fix_binaries(binaries: list) -> None:
    """Fix every binary at its rounded value and make it continuous (pricing LP, spec §6)."""
    for comp in binaries:
        for v in comp.values():
            val = 0 if v.value is None else round(v.value)
            v.fix(val)
            v.domain = pyo.Reals
