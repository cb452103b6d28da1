"""The integrated forward market (IFM): assemble components, solve with lazy network rows,
price by the fixed-commitment LP (spec §3–§6)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market import resources
from clearing.market.bundle import ModelBundle
from clearing.market.data import MarketData
from clearing.market.readback import Readback
from clearing.market.solver import MIN_FIRST_MIP_S, PersistentHighs, RunBudget, fix_binaries
from network import losses, ties, transfers, transmission
from network.ptdf import PTDF
from network.transmission import RELAXATION_NEAR_BINDING, FlowMonitor, make_monitor
from products import ancillary_services, energy
from products import ghg, imbalance_reserves
from products.reliability_capacity import component as reliability_capacity
from scenarios.errors import SolverError

class Component(NamedTuple):
    """One part of the market model (issue 18): `add(bundle)` adds its variables, rows and
    costs; `extract(readback)` reads its awards, prices and table columns back
    (clearing/market/readback.py). Either may be None."""

    name: str
    add: Callable | None
    extract: Callable | None


# The registry: build order (Egret-style: each reads the data and adds its own rows/costs) and
# read-back order. Adding a product = its module + one line here. The capacity stacks close the
# build (resources.add_capacity_stacks: every award registered in b.up_reserve/down_reserve).
IFM_COMPONENTS: tuple[Component, ...] = (
    Component("resources", resources.add_resources, resources.extract),
    Component("transfers", transfers.add_to_model, transfers.extract),
    Component("network", None, transmission.extract),   # rows added lazily by the solve
    Component("ties", ties.add_to_model, ties.extract),  # import/export tie limits (§5.5)
    Component("ghg", ghg.add_to_model, ghg.extract),   # GHG attribution (§5.13)
    Component("energy", energy.add_to_model, energy.extract),
    Component("losses", None, losses.extract),   # marginal losses (network.losses)
    Component("ancillary_services", ancillary_services.add_to_model, ancillary_services.extract),
    Component("imbalance_reserves", imbalance_reserves.add_to_model, imbalance_reserves.extract),
    Component("reliability_capacity", None, reliability_capacity.extract_ifm),
)


@dataclass
class SolvedModel:
    bundle: ModelBundle
    solver: PersistentHighs
    monitor: FlowMonitor
    mip: object = None
    lp: object = None
    duals: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def read_back(d: MarketData, sm: "SolvedModel | None", ptdf: PTDF,
              components: tuple[Component, ...] | None = None, *, given: dict | None = None,
              into: dict | None = None, intervals_per_hour: int = 1) -> tuple[dict, dict]:
    """The results tables of a solved model and the values kept for a later run, read back by
    each component in registry order (clearing/market/readback.py; default: `IFM_COMPONENTS`).
    `given`, `into`, `intervals_per_hour`: what the read-back starts from (`Readback`)."""
    rb = Readback(d=d, sm=sm, ptdf=ptdf, given=dict(given or {}), into=into,
                  intervals_per_hour=intervals_per_hour)
    for c in (IFM_COMPONENTS if components is None else components):
        if c.extract is not None:
            c.extract(rb)
    return rb.assemble(), rb.kept


def build_ifm(d: MarketData, components: tuple[Component, ...] | None = None) -> ModelBundle:
    """Build the IFM model from its components (architecture.md; default: `IFM_COMPONENTS`),
    closed by the capacity stacks that hold every registered award."""
    m = pyo.ConcreteModel(name="IFM")
    b = ModelBundle(m=m, d=d, kind="ifm")
    for c in (IFM_COMPONENTS if components is None else components):
        if c.add is not None:
            c.add(b)
    resources.add_capacity_stacks(b)
    # network injection hooks for the flow monitor (spec §5.3)
    b.info["inj_resources"] = list(d.resources.index)
    b.info["inj_fn"] = lambda r, t: m.g[r, t]
    b.info["inj_const"] = -d.fixed_demand_bus
    b.info["baa_fn"] = lambda a, t: m.s_pb_under[a, t] - m.s_pb_over[a, t]
    m.obj = pyo.Objective(expr=b.objective_expr(), sense=pyo.minimize)
    return b


def solve_lazy(b: ModelBundle, solver: PersistentHighs, monitor: FlowMonitor, mip: bool,
               label: str) -> list[dict]:
    """Solve, add violated network rows, re-solve until none is violated (spec §5.3).

    A MIP first runs up to `lazy_lp_rounds` rounds on its LP relaxation: each adds the rows
    its flows violate or load to `RELAXATION_NEAR_BINDING` of their limit, and stops early when
    there is none. They only pick rows (the MIP rounds then
    check their own flows, so the result does not depend on them) and spare MIP rounds, which
    cost far more than LPs on the larger footprints (benchmarks/README.md).

    MIP start (parameter `mip_start`, docs/market-model.md §5.3): a later round starts from
    the previous round's integers (`integer_values`); with `rounded` the first round starts
    from the relaxation's commitment rounded and repaired (`mip_start_from_relaxation`; one
    relaxation is solved for it when no LP-relaxation round ran). Each round records
    `start_columns`.

    The run budget (`solver.budget`, parameter run_time_limit_s): LP-relaxation rounds are
    skipped once it is spent; the first MIP round always runs (at least `MIN_FIRST_MIP_S`) and
    the first pricing-LP round gets its own limit, so there is always an incumbent to price;
    later rounds stop when the budget is spent (or cut one short), leaving the last round's
    rows unenforced: the round is marked `stopped_by_budget` and `unresolved`."""
    p = b.d.params
    rounds = []
    budget = solver.budget
    cut = (lambda: len(budget.stopped)) if budget is not None else (lambda: 0)
    spent = (lambda: budget.spent()) if budget is not None else (lambda: False)
    if not p.lazy_transmission and not monitor.rows:
        keys = [(k, l, t) for k in monitor.kinds for l in monitor.sets.get(k, []) for t in b.T]
        monitor.add_rows(keys)
    monitored = any(monitor.sets.get(k) for k in monitor.kinds)
    if mip and p.lazy_transmission and monitored:
        for k in range(p.lazy_lp_rounds):
            if spent():
                break
            n_cut = cut()
            try:
                rec = solver.solve(b.m, mip=False, relax=True,
                                   label=f"{label} LP-relaxation round {k + 1}")
            except SolverError:
                if cut() > n_cut:   # the budget ran out in it: the MIP rounds follow
                    break
                raise
            new = monitor.violations(p.flow_tolerance_mw, near_any_hour=RELAXATION_NEAR_BINDING)
            rounds.append(dict(round=k + 1, mip=False, relaxation=True, seconds=rec.seconds,
                               objective=rec.objective, gap=rec.gap,
                               termination=rec.termination, rows_added=len(new)))
            if not new:
                break
            monitor.add_rows(new)
    start = None
    if mip and p.mip_start == "rounded" and b.commitments:
        if not any(r.get("relaxation") for r in rounds) and not spent():
            solver.solve(b.m, mip=False, relax=True, label=f"{label} LP relaxation for the start")
        start = mip_start_from_relaxation(b)
    for k in range(p.lazy_max_rounds):
        if k > 0 and spent():
            rounds[-1].update(stopped_by_budget=True, unresolved=True)
            break
        n_cut = cut()
        first = (MIN_FIRST_MIP_S if mip else None) if k == 0 else 0.0
        try:
            rec = solver.solve(b.m, mip=mip, label=f"{label} round {k + 1}",
                               vars_changed=(k == 0 and not mip), at_least_s=first, start=start)
        except SolverError:
            if k > 0 and cut() > n_cut:   # cut short without a solution: keep the incumbent
                rounds[-1].update(stopped_by_budget=True, unresolved=True)
                break
            raise
        new = monitor.violations(p.flow_tolerance_mw)
        rounds.append(dict(round=k + 1, mip=mip, seconds=rec.seconds, objective=rec.objective,
                           gap=rec.gap, termination=rec.termination, rows_added=len(new),
                           start_columns=len(start) if (mip and start) else 0))
        if not new:
            break
        monitor.add_rows(new)
        if mip and p.mip_start != "none":   # the new rows are soft: these integers stay feasible
            start = integer_values(b)
    else:
        rounds[-1]["unresolved"] = True
    return rounds


def mip_start_from_relaxation(b: ModelBundle) -> list[tuple]:
    """(VarData, value) pairs: every commitment of `b` rounded from the LP relaxation's values now in
    the variables (resources.rounded_commitment), the MIP start of a first round (issue 20)."""
    return [pair for c in b.commitments for pair in resources.rounded_commitment(c)]


def integer_values(b: ModelBundle) -> list[tuple]:
    """(VarData, value) of every free binary of `b` at its current (MIP solution) value."""
    return [(v, float(round(v.value))) for comp in b.binaries for v in comp.values()
            if not v.fixed and v.value is not None]


def solve_and_price(b: ModelBundle, ptdf: PTDF, kinds: tuple[str, ...], label: str,
                    seed_rows: list | None = None, budget: RunBudget | None = None,
                    mip_time_limit_s: float | None = None) -> SolvedModel:
    """MIP with lazy rows, then the pricing LP at the fixed commitment (spec §6): one path for
    the IFM, the RUC and the RT run, all on one persistent HiGHS.

    `seed_rows`: (kind, branch, period) rows to enforce from the start (the RUC takes the
    IFM's, RT the DA's binding branches); rows of kinds or branches this model does not monitor
    are ignored, and with `lazy_transmission` off every row is in from the start anyway.
    `budget`: the run's wall-clock budget (solve_lazy). `mip_time_limit_s`: a tighter cap on
    each solve of the MIP stage (RT [A]); the pricing LP keeps `time_limit_s`."""
    p = b.d.params
    solver = PersistentHighs(gap=p.mip_rel_gap, time_limit=p.time_limit_s, budget=budget,
                             threads=p.solver_threads)
    monitor = make_monitor(b, ptdf, kinds)
    if seed_rows and p.lazy_transmission:
        b.info["seeded_rows"] = monitor.seed(seed_rows)
    from clearing.market.manifest import model_counts
    b.info["counts"] = model_counts(b.m)
    t0 = time.perf_counter()
    has_int = any(len(c) for c in b.binaries)
    if mip_time_limit_s is not None:
        solver.time_limit = min(p.time_limit_s, mip_time_limit_s)
    mip_rounds = solve_lazy(b, solver, monitor, mip=has_int, label=f"{label} MIP")
    t1 = time.perf_counter()
    mip_rec = solver.records[-1][1]
    solver.time_limit = p.time_limit_s
    fix_binaries(b.binaries)
    lp_rounds = solve_lazy(b, solver, monitor, mip=False, label=f"{label} pricing LP")
    t2 = time.perf_counter()
    lp_rec = solver.records[-1][1]
    sm = SolvedModel(bundle=b, solver=solver, monitor=monitor, mip=mip_rec, lp=lp_rec,
                     duals=solver.duals(),
                     timings={"solve_s": t1 - t0, "pricing_s": t2 - t1})
    b.lazy_rounds = mip_rounds + lp_rounds
    return sm
