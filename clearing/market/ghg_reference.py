"""The GHG reference pass (spec §5.13, parameter `ghg_reference`; docs/ghg.md).

Run before the IFM when the scenario has GHG regulation areas. It gives P^ref_it, the reference
dispatch whose headroom max(0, Pmax_it − P^ref_it) bounds what resource i may have deemed
delivered into a GHG area (the guard against secondary dispatch):

- `area` (default): the same market without GHG terms, with every economic transfer into a GHG
  area fixed at 0: the BAAs outside the areas serve their own load, with transfers among
  themselves; P^ref = 0 for resources inside GHG areas.
- `baa`: the same market with every economic transfer fixed at 0 (each BAA serves its own
  load); P^ref = 0 for resources inside GHG areas [A].
- `base_schedule`: the scenario's `ghg_base_schedule` (no pass).
- `none`: no headroom row; the `area` pass still runs so the secondary-dispatch indicator has a
  reference [A].

The pass is the IFM's MIP with its lazy network rounds, without the pricing LP (no prices are
needed), and without losses [A]; with `ghg_reference_solve = lp` [A] its LP relaxation
(commitment relaxed), much cheaper. Its schedules are the `ghg_reference` table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from clearing.market.data import MarketData
from clearing.market.ifm import IFM_COMPONENTS, build_ifm, solve_lazy
from clearing.market.solver import PersistentHighs, RunBudget
from network.ptdf import PTDF
from network.transmission import make_monitor
from products.ghg import SUPPLY_TYPES, base_schedule_mw, ghg_data, has_ghg


@dataclass
class GhgReference:
    """P^ref per (resource, hour), the `ghg_reference` table and the pass's record."""

    mw: dict
    table: pd.DataFrame
    record: dict


def _fixed_transfers(d: MarketData, mode: str) -> list[str]:
    """ETSRs whose economic transfer the pass fixes at 0: into a GHG area (`area`) or all."""
    g = ghg_data(d)
    itf = d.interfaces
    if mode == "baa":
        return list(itf.index)
    return [k for k in itf.index if itf.at[k, "to_baa"] in g.area_of
            and g.area_of.get(itf.at[k, "from_baa"]) != g.area_of[itf.at[k, "to_baa"]]]


def solve_reference(d: MarketData, ptdf: PTDF, budget: RunBudget | None = None) -> GhgReference:
    """The reference dispatch of `d.params.ghg_reference` (module docstring)."""
    opt = d.params.ghg_reference
    g = ghg_data(d)
    t0 = time.perf_counter()
    if opt == "base_schedule":
        mw = base_schedule_mw(d)
        rec = dict(option=opt, solved=False, seconds=0.0)
    else:
        mode = "baa" if opt == "baa" else "area"
        b = build_ifm(d, tuple(c for c in IFM_COMPONENTS if c.name != "ghg"))
        fixed = _fixed_transfers(d, mode)
        for k in fixed:
            for t in d.hours:
                b.m.x[k, t].fix(0.0)
        p = d.params
        solver = PersistentHighs(gap=p.mip_rel_gap, time_limit=p.time_limit_s, budget=budget)
        monitor = make_monitor(b, ptdf, ("base", "dep_up", "dep_down"))
        has_int = any(len(c) for c in b.binaries)
        if p.ghg_reference_solve == "lp":
            rounds = _solve_relaxation(b, solver, monitor)
        else:
            rounds = solve_lazy(b, solver, monitor, mip=has_int, label="GHG reference")
        mw = {(r, t): float(pyo.value(b.m.g[r, t], exception=False) or 0.0)
              for r in d.resources.index for t in d.hours}
        rec = dict(option=opt, pass_mode=mode, solve=p.ghg_reference_solve, solved=True,
                   fixed_etsrs=len(fixed),
                   rounds=len(rounds), objective=float(rounds[-1]["objective"] or 0.0),
                   termination=str(rounds[-1]["termination"]), mip_gap=rounds[-1]["gap"])
    res = d.resources
    inside = {r for r in res.index if res.at[r, "baa"] in g.area_of}
    mw = {k: (0.0 if k[0] in inside else v) for k, v in mw.items()}
    rec["seconds"] = time.perf_counter() - t0
    pmax = d.cells("pmax")
    rows = [dict(resource=r, hour=t, baa=res.at[r, "baa"], type=res.at[r, "type"],
                 reference_mw=mw.get((r, t), 0.0), pmax_mw=float(pmax.at[r, t]),
                 headroom_mw=max(0.0, float(pmax.at[r, t]) - mw.get((r, t), 0.0)))
            for r in res.index if r not in inside and res.at[r, "type"] in SUPPLY_TYPES
            for t in d.hours]
    table = pd.DataFrame(rows, columns=["resource", "hour", "baa", "type", "reference_mw",
                                        "pmax_mw", "headroom_mw"])
    return GhgReference(mw=mw, table=table, record=rec)


def _solve_relaxation(b, solver: PersistentHighs, monitor) -> list[dict]:
    """`ghg_reference_solve = lp` [A]: the pass's LP relaxation (integrality lifted), with the
    lazy network rows added until none is violated (at most lazy_max_rounds rounds)."""
    p = b.d.params
    rounds = []
    if not p.lazy_transmission and not monitor.rows:   # every row from the start (solve_lazy)
        monitor.add_rows([(kind, l, t) for kind in monitor.kinds
                          for l in monitor.sets.get(kind, []) for t in b.T])
    for k in range(p.lazy_max_rounds):
        rec = solver.solve(b.m, mip=False, relax=True, label=f"GHG reference LP round {k + 1}",
                           vars_changed=(k == 0))
        new = monitor.violations(p.flow_tolerance_mw)
        rounds.append(dict(round=k + 1, mip=False, relaxation=True, seconds=rec.seconds,
                           objective=rec.objective, gap=rec.gap, termination=rec.termination,
                           rows_added=len(new)))
        if not new:
            break
        monitor.add_rows(new)
    return rounds


def attach(d: MarketData, ref: GhgReference | None) -> None:
    """Hand P^ref to the IFM build (`products.ghg.reference_mw`)."""
    if ref is not None:
        d.extra["ghg_reference_mw"] = ref.mw


def needed(d: MarketData) -> bool:
    """True when the scenario has GHG areas (a reference is needed)."""
    return has_ghg(d)
