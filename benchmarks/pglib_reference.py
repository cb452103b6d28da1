"""Independent reference solve of a pglib-uc instance: the formulation pglib-uc ships.

pglib-uc (https://github.com/power-grid-lib/pglib-uc) publishes its unit commitment model in
`MODEL.tex`/`MODEL.pdf` and a Pyomo script `uc_model.py` that builds it straight from the JSON
instance. This module is a re-implementation of that model, constraint for constraint (the
numbers in the comments are the equation numbers of `MODEL.tex` and of the comments in
`uc_model.py`), built directly from the JSON (not from our scenario format) and solved with
HiGHS through Pyomo's persistent HiGHS interface (`pyomo.contrib.solver.solvers.highs.Highs`).

It serves two purposes (benchmarks/README.md, "pglib-uc"):

* the **reference objective** our engine's objective is checked against, and
* the **peer**: a plain open Pyomo model whose build / hand-off / solve times our engine's are
  compared with, in the same run on the same machine.

Like `uc_model.py`, the model keeps the JSON's order of generators (dicts keep insertion
order), declares variables and constraints in the same order, and so hands HiGHS the same
matrix in the same order whatever Python's hash seed.

    python -m benchmarks.pglib_reference                      # rts_gmlc and ca at gap 1e-3
    python -m benchmarks.pglib_reference --gap 1e-4 --instances rts_gmlc/2020-07-06
    python -m benchmarks.pglib_reference --instances ferc/2015-01-01_lw --time-limit 600
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyomo.environ as pyo
from pyomo.common.timing import HierarchicalTimer
from pyomo.contrib.solver.solvers.highs import Highs

from benchmarks.machine import machine_info, versions

HERE = Path(__file__).resolve().parent
INSTANCE_DIR = HERE / "instances" / "pglib-uc"
RESULTS_FILE = HERE / "results" / "pglib_reference.json"
BUNDLED = ("rts_gmlc/2020-07-06", "ca/2014-09-01_reserves_0", "ferc/2015-01-01_lw")


# ----------------------------------------------------------------------------------- data --
def instance_path(name: str) -> Path:
    """Path of a bundled instance, e.g. 'rts_gmlc/2020-07-06' -> .../rts_gmlc/2020-07-06.json.gz."""
    p = INSTANCE_DIR / f"{name}.json.gz"
    if not p.exists():
        raise FileNotFoundError(f"no bundled pglib-uc instance '{name}' "
                                f"(have: {', '.join(BUNDLED)})")
    return p


def load_instance(path: str | Path | dict) -> dict:
    """The instance as a dict, from a .json or .json.gz file (a dict is returned as is)."""
    if isinstance(path, dict):
        return path
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        return json.load(fh)


# ---------------------------------------------------------------------------------- model --
def build_reference_model(data: dict, *, joint_reserve_ramp: bool = True) -> pyo.ConcreteModel:
    """The pglib-uc model of `data` (a loaded instance), as in pglib-uc's MODEL.tex/uc_model.py.

    `joint_reserve_ramp=False` is *not* the reference: it drops the reserve from the ramp-up
    constraints (8) and (19) (p + r - p_prev <= RU becomes p - p_prev <= RU), to measure what
    a model without pglib-uc's joint energy+reserve ramp limit gives on the same instance.
    """
    thermal = data["thermal_generators"]
    renewable = data["renewable_generators"]
    n_t = int(data["time_periods"])
    T = list(range(1, n_t + 1))
    # uc_model.py indexes by dict keys, which Pyomo treats as an unordered set and sorts; the
    # start-up and piecewise variables are indexed by generators, which keep the JSON order.
    G = sorted(thermal)
    W = sorted(renewable)
    demand, reserves = data["demand"], data["reserves"]

    m = pyo.ConcreteModel()
    # variables, in uc_model.py's order
    m.cg = pyo.Var(G, T)  # cost above the first piecewise point
    m.pg = pyo.Var(G, T, within=pyo.NonNegativeReals)  # power above Pmin
    m.rg = pyo.Var(G, T, within=pyo.NonNegativeReals)  # spinning reserve
    m.pw = pyo.Var(W, T, within=pyo.NonNegativeReals)  # renewable output
    m.ug = pyo.Var(G, T, within=pyo.Binary)  # on
    m.vg = pyo.Var(G, T, within=pyo.Binary)  # start-up
    m.wg = pyo.Var(G, T, within=pyo.Binary)  # shut-down
    m.dg = pyo.Var([(g, s, t) for g in thermal for s in range(len(thermal[g]["startup"]))
                    for t in T], within=pyo.Binary)  # start-up in category s (0 = hottest)
    m.lg = pyo.Var([(g, l, t) for g in thermal
                    for l in range(len(thermal[g]["piecewise_production"])) for t in T],
                   within=pyo.UnitInterval)  # weight of piecewise point l

    # (1) objective: cost above Pmin + cost at the first point when on + start-up costs
    m.obj = pyo.Objective(expr=sum(
        sum(m.cg[g, t] + gen["piecewise_production"][0]["cost"] * m.ug[g, t]
            + sum(su["cost"] * m.dg[g, s, t] for s, su in enumerate(gen["startup"]))
            for t in T)
        for g, gen in thermal.items()))

    # (2) demand (equality, no slack) and (3) spinning reserve requirement
    m.demand = pyo.Constraint(T)
    m.reserves = pyo.Constraint(T)
    for t in T:
        m.demand[t] = (sum(m.pg[g, t] + gen["power_output_minimum"] * m.ug[g, t]
                           for g, gen in thermal.items())
                       + sum(m.pw[w, t] for w in renewable) == demand[t - 1])
        m.reserves[t] = sum(m.rg[g, t] for g in thermal) >= reserves[t - 1]

    # initial conditions (4)-(10)
    m.uptimet0 = pyo.Constraint(G)
    m.downtimet0 = pyo.Constraint(G)
    m.logicalt0 = pyo.Constraint(G)
    m.startupt0 = pyo.Constraint(G)
    m.rampupt0 = pyo.Constraint(G)
    m.rampdownt0 = pyo.Constraint(G)
    m.shutdownt0 = pyo.Constraint(G)
    for g, gen in thermal.items():
        u0 = gen["unit_on_t0"]
        pmin, pmax = gen["power_output_minimum"], gen["power_output_maximum"]
        if u0 == 1:
            n_up = min(gen["time_up_minimum"] - gen["time_up_t0"], n_t)
            if n_up >= 1:  # (4) still inside its minimum up time
                m.uptimet0[g] = sum(m.ug[g, t] - 1 for t in range(1, n_up + 1)) == 0
        elif u0 == 0:
            n_dn = min(gen["time_down_minimum"] - gen["time_down_t0"], n_t)
            if n_dn >= 1:  # (5) still inside its minimum down time
                m.downtimet0[g] = sum(m.ug[g, t] for t in range(1, n_dn + 1)) == 0
        else:
            raise ValueError(f"generator {g}: unit_on_t0 = {u0!r}, expected 0 or 1")
        # (6)
        m.logicalt0[g] = m.ug[g, 1] - u0 == m.vg[g, 1] - m.wg[g, 1]
        # (7) a hotter category s is unavailable while the unit has been off (since before t=1)
        # for at least the next category's lag
        terms = [m.dg[g, s, t]
                 for s in range(len(gen["startup"]) - 1)
                 for t in range(max(1, gen["startup"][s + 1]["lag"] - gen["time_down_t0"] + 1),
                                min(gen["startup"][s + 1]["lag"] - 1, n_t) + 1)]
        if terms:
            m.startupt0[g] = sum(terms) == 0
        # (8) ramp up from t0, reserve included (see joint_reserve_ramp)
        p0 = u0 * (gen["power_output_t0"] - pmin)
        up1 = m.pg[g, 1] + m.rg[g, 1] if joint_reserve_ramp else m.pg[g, 1]
        m.rampupt0[g] = up1 - p0 <= gen["ramp_up_limit"]
        # (9) ramp down from t0
        m.rampdownt0[g] = p0 - m.pg[g, 1] <= gen["ramp_down_limit"]
        # (10) a shut-down in t=1 needs P0 <= SD (added even when the coefficient is 0, as
        # uc_model.py does: an empty row)
        k_sd = max(pmax - gen["ramp_shutdown_limit"], 0)
        m.shutdownt0[g] = p0 <= (pmax - pmin) * u0 - k_sd * m.wg[g, 1]

    m.mustrun = pyo.Constraint(G, T)
    m.logical = pyo.Constraint(G, T)
    m.uptime = pyo.Constraint(G, T)
    m.downtime = pyo.Constraint(G, T)
    m.startup_select = pyo.Constraint(G, T)
    m.gen_limit1 = pyo.Constraint(G, T)
    m.gen_limit2 = pyo.Constraint(G, T)
    m.ramp_up = pyo.Constraint(G, T)
    m.ramp_down = pyo.Constraint(G, T)
    m.power_select = pyo.Constraint(G, T)
    m.cost_select = pyo.Constraint(G, T)
    m.on_select = pyo.Constraint(G, T)
    for g, gen in thermal.items():
        pmin, pmax = gen["power_output_minimum"], gen["power_output_maximum"]
        ut = min(gen["time_up_minimum"], n_t)
        dt = min(gen["time_down_minimum"], n_t)
        k_su = max(pmax - gen["ramp_startup_limit"], 0)
        k_sd = max(pmax - gen["ramp_shutdown_limit"], 0)
        pts = gen["piecewise_production"]
        mw1, cost1 = pts[0]["mw"], pts[0]["cost"]
        n_s = len(gen["startup"])
        for t in T:
            m.mustrun[g, t] = m.ug[g, t] >= gen["must_run"]  # (11)
            if t > 1:  # (12)
                m.logical[g, t] = m.ug[g, t] - m.ug[g, t - 1] == m.vg[g, t] - m.wg[g, t]
            if t >= ut:  # (13) minimum up time
                m.uptime[g, t] = sum(m.vg[g, i] for i in range(t - ut + 1, t + 1)) <= m.ug[g, t]
            if t >= dt:  # (14) minimum down time
                m.downtime[g, t] = (sum(m.wg[g, i] for i in range(t - dt + 1, t + 1))
                                    <= 1 - m.ug[g, t])
            # (16) one start-up category per start-up
            m.startup_select[g, t] = m.vg[g, t] == sum(m.dg[g, s, t] for s in range(n_s))
            # (17) capacity, start-up ramp SU in a start-up period (reserve included)
            m.gen_limit1[g, t] = (m.pg[g, t] + m.rg[g, t]
                                  <= (pmax - pmin) * m.ug[g, t] - k_su * m.vg[g, t])
            if t < n_t:  # (18) shut-down ramp SD in the period before a shut-down
                m.gen_limit2[g, t] = (m.pg[g, t] + m.rg[g, t]
                                      <= (pmax - pmin) * m.ug[g, t] - k_sd * m.wg[g, t + 1])
            if t > 1:  # (19), (20) hourly ramp limits on power above Pmin
                up = m.pg[g, t] + m.rg[g, t] if joint_reserve_ramp else m.pg[g, t]
                m.ramp_up[g, t] = up - m.pg[g, t - 1] <= gen["ramp_up_limit"]
                m.ramp_down[g, t] = m.pg[g, t - 1] - m.pg[g, t] <= gen["ramp_down_limit"]
            # (21)-(23) piecewise production cost (convex combination of the points)
            m.power_select[g, t] = m.pg[g, t] == sum(
                (pt["mw"] - mw1) * m.lg[g, l, t] for l, pt in enumerate(pts))
            m.cost_select[g, t] = m.cg[g, t] == sum(
                (pt["cost"] - cost1) * m.lg[g, l, t] for l, pt in enumerate(pts))
            m.on_select[g, t] = m.ug[g, t] == sum(m.lg[g, l, t] for l in range(len(pts)))

    # (15) category s (all but the coldest) only if the unit shut down between TS^s and
    # TS^{s+1}-1 periods ago
    m.startup_allowed = pyo.Constraint(m.dg.index_set())
    for g, gen in thermal.items():
        st = gen["startup"]
        for s in range(len(st) - 1):
            for t in T:
                if t >= st[s + 1]["lag"]:
                    m.startup_allowed[g, s, t] = m.dg[g, s, t] <= sum(
                        m.wg[g, t - i] for i in range(st[s]["lag"], st[s + 1]["lag"]))

    # (24) renewable output between its hourly minimum and maximum
    for w, gen in renewable.items():
        for t in T:
            m.pw[w, t].setlb(gen["power_output_minimum"][t - 1])
            m.pw[w, t].setub(gen["power_output_maximum"][t - 1])
    return m


# ---------------------------------------------------------------------------------- solve --
def solve_reference(path: str | Path | dict, gap: float = 0.001, time_limit: float = 600.0, *,
                    threads: int | None = None, tee: bool = False,
                    joint_reserve_ramp: bool = True) -> dict[str, Any]:
    """Build and solve the pglib-uc reference model of the instance at `path` with HiGHS.

    Returns timings in seconds (build_s: JSON read + Pyomo model; handoff_s: Pyomo -> highspy,
    `set_instance`; solve_s: HiGHS `run`; wall_s: all of it; the same as CPU seconds of this
    process in *_cpu_s), the status, objective (best integer solution, None if none), bound
    (HiGHS's dual bound), gap ((objective - bound) / |objective|) and the model size. `path`
    may also be an already loaded instance (a dict).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    data = load_instance(path)
    m = build_reference_model(data, joint_reserve_ramp=joint_reserve_ramp)
    t1, c1 = time.perf_counter(), time.process_time()
    timer = HierarchicalTimer()
    opt = Highs()
    # hand-off (Pyomo -> highspy) and solve timed separately, CPU time too: on a shared
    # machine the CPU seconds are the steadier figure
    opt.config.timer = timer
    opt.set_instance(m)
    for k in opt.config.auto_updates:  # nothing changes between set_instance and solve
        opt.config.auto_updates[k] = False
    t2, c2 = time.perf_counter(), time.process_time()
    res = opt.solve(m, rel_gap=gap, time_limit=time_limit, threads=threads, tee=tee,
                    load_solutions=False, raise_exception_on_nonoptimal_result=False,
                    timer=timer)
    t3, c3 = time.perf_counter(), time.process_time()
    handoff = t2 - t1
    solve = res.timing_info.highs_time
    obj = res.incumbent_objective
    bound = res.objective_bound
    rel = None
    if obj is not None and bound is not None and math.isfinite(bound):
        rel = abs(obj - bound) / abs(obj) if obj != 0 else (0.0 if bound == obj else math.inf)
    n_bin = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary())
    return dict(
        status=str(res.termination_condition.name),
        solution_status=str(res.solution_status.name),
        objective=obj, bound=bound, gap=rel, mip_rel_gap=gap, time_limit_s=time_limit,
        build_s=t1 - t0, handoff_s=handoff, solve_s=solve, wall_s=t3 - t0,
        other_s=(t3 - t0) - (t1 - t0) - handoff - solve,
        build_cpu_s=c1 - c0, handoff_cpu_s=c2 - c1, solve_cpu_s=c3 - c2, wall_cpu_s=c3 - c0,
        hours=int(data["time_periods"]), thermal_units=len(data["thermal_generators"]),
        renewable_units=len(data["renewable_generators"]),
        n_vars=sum(1 for _ in m.component_data_objects(pyo.Var)),
        n_binaries=n_bin,
        n_constraints=sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True)),
        joint_reserve_ramp=joint_reserve_ramp,
    )


# -------------------------------------------------------------------------------- records --
def load_reference(instance: str, gap: float = 0.001, *, joint_reserve_ramp: bool = True,
                   path: Path = RESULTS_FILE) -> dict | None:
    """The recorded reference run of `instance` at `gap` (from results/pglib_reference.json)."""
    if not path.exists():
        return None
    runs = json.loads(path.read_text()).get("runs", [])
    for r in runs:
        if (r["instance"] == instance and math.isclose(r["mip_rel_gap"], gap)
                and r.get("joint_reserve_ramp", True) == joint_reserve_ramp):
            return r
    return None


def record(runs: list[dict], path: Path = RESULTS_FILE) -> None:
    """Merge `runs` into the results file (a run replaces the one with the same instance, gap
    and variant)."""
    doc = json.loads(path.read_text()) if path.exists() else {}
    old = doc.get("runs", [])
    key = lambda r: (r["instance"], float(r["mip_rel_gap"]), r.get("joint_reserve_ramp", True))
    new_keys = {key(r) for r in runs}
    merged = [r for r in old if key(r) not in new_keys] + runs
    merged.sort(key=lambda r: (BUNDLED.index(r["instance"]) if r["instance"] in BUNDLED else 99,
                               -r["mip_rel_gap"], not r.get("joint_reserve_ramp", True)))
    doc = dict(
        description="pglib-uc reference objectives: pglib-uc's own formulation (MODEL.tex / "
                    "uc_model.py) re-implemented in benchmarks/pglib_reference.py, solved with "
                    "HiGHS via pyomo.contrib.solver.solvers.highs.Highs; see benchmarks/README.md",
        command="python -m benchmarks.pglib_reference",
        machine=machine_info(), versions=versions(), runs=merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", nargs="+", default=list(BUNDLED[:2]),
                    help="bundled instance names (default: %(default)s)")
    ap.add_argument("--gap", type=float, nargs="+", default=[0.001])
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--no-joint-reserve-ramp", action="store_true",
                    help="variant without reserve in the ramp-up limits (not the reference)")
    ap.add_argument("--tee", action="store_true")
    ap.add_argument("--no-record", action="store_true", help="print only, do not write results")
    a = ap.parse_args(argv)
    runs = []
    for name in a.instances:
        for gap in a.gap:
            load0 = os.getloadavg()[0]  # the machine may be shared: timings scale with load
            r = solve_reference(instance_path(name), gap, a.time_limit, tee=a.tee,
                                joint_reserve_ramp=not a.no_joint_reserve_ramp)
            r = dict(instance=name,
                     date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                     load_avg_before=round(load0, 2), load_avg_after=round(os.getloadavg()[0], 2),
                     **r)
            print(json.dumps(r), flush=True)
            runs.append(r)
    if not a.no_record:
        record(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
