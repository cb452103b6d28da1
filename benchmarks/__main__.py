"""Benchmark harness: public instances and synthetic footprints, and how cost grows with size.

    python -m benchmarks [--cases rts_day,pglib:rts_gmlc/2020-07-06,tiled:3,tiled:6,...]
                         [--repeat N] [--gap G] [--time-limit S] [--hours H] [--seed S]
                         [--with-reference] [--budget S] [--memory separate|inline|off]
                         [--out DIR (default ./bench_results)]
    edam bench ...        # the same

Cases (benchmarks/README.md, "Harness and scaling"):

* `rts_day` — the bundled RTS-GMLC three-BAA day (`scenarios/rts_gmlc_edam`), every product,
  IFM + RUC, full network;
* `pglib:<instance>` — a bundled pglib-uc instance (`benchmarks/instances/pglib-uc/`), imported
  by `benchmarks.pglib_uc.import_pglib_uc` (one bus, one BAA, EDAM products off);
* `tiled:<K>` — `benchmarks.scaling.tiled_footprint(K, seed)`: K BAAs tiled from the day;
* `day:<YYYY-MM-DD>` — an RTS-GMLC day of 2020 imported in memory
  (`scenarios.importers.rts_gmlc.import_rts_gmlc`), the day sample's case (benchmarks/days.py);
* `scenario:<folder>` — any scenario folder;
* any of them followed by stressed variants, `+load120`, `+units_out:<BAA>`,
  `+ratings_half`, `+stressed:<BAA>` (benchmarks/stress.py), e.g. `rts_day+stressed:PACW`.

`--seeds S1,S2,...` runs each tiled case once per seed and reports the spread (max / min over
the seeds) of each stage's time (`seed_spread`).

Each run of each case is a fresh Python process (`python -m benchmarks --worker ...`), so the
process's peak resident memory (`resource.getrusage(...).ru_maxrss`) is that run's alone;
tracemalloc records the peak of Python allocations; it slows Pyomo down up to 5x (measured:
tiled:3 on 2 hours, 5.7 s -> 32 s), so by default it runs in one extra run per case whose
timings are left out (`--memory separate`; `inline`: in every run; `off`).

Writes to `--out` (default `bench_results/` in the current directory, never the installed
package's folder): `bench.csv` (one row per run), `bench.json` (the rows, per-case medians,
the comparisons with the pglib-uc reference, the command, machine and versions), `bench.md`
(the command, machine, stack and the median table; for `pglib:` cases our objective against
the recorded reference, `benchmarks/reference_match.py`), `scaling.html` (time and memory
against model size) and `scaling.png` (the same chart: kaleido if installed, else headless
Chromium, else none); and prints the tables.

Timings of our engine split its wall time without overlap: `input_s` (load, generate or
import the scenario), `prepare_s`, `build_s` (Pyomo model construction, IFM + RUC),
`handoff_s` (Pyomo -> HiGHS: `clearing.market.solver.PersistentHighs` passing the whole model to
highspy at the first solve of a model, plus its incremental update (new rows and columns,
objective, bound and integrality re-sync) before every later lazy round and the pricing LP;
`handoff_initial_s` is the first part alone; read from each solve's `SolveRecord.handoff_s`),
`solve_s` (HiGHS run time of the MIP solves incl. lazy rounds, IFM + RUC), `pricing_s` (HiGHS
run time of the fixed-commitment pricing LPs), `other_s` (the rest: MPM, lazy-row search,
solution loading, result tables, RSE); `wall_s` is their sum.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.machine import machine_info
from benchmarks.outputs import (finite_json, html_to_png, matches_table, spread_table,
                                write_markdown)
from benchmarks.reference_match import recorded_matches

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = "bench_results"  # --out default: relative to the current directory, never the package
DEFAULT_CASES = ("rts_day,pglib:rts_gmlc/2020-07-06,pglib:ca/2014-09-01_reserves_0,"
                 "tiled:3,tiled:6,tiled:12")

#: one row per run, in this order (bench.csv)
COLUMNS = [
    "case", "engine", "run", "seed", "timed", "status", "hours", "baas", "buses", "branches",
    "resources",
    "thermal_units", "variables", "constraints", "binaries", "lazy_rows",
    "input_s", "prepare_s", "build_s", "handoff_s", "handoff_initial_s", "solve_s",
    "pricing_s", "other_s", "wall_s", "objective", "objective_lp", "bound", "gap",
    "termination", "ruc_objective", "ruc_bound", "ruc_gap", "ruc_termination", "ruc_solve_s",
    "ifm_solve_s", "ruc_over_ifm_solve", "ifm_build_s", "ruc_build_s", "ifm_handoff_s",
    "ruc_handoff_s", "ifm_pricing_s", "ruc_pricing_s", "completion", "stopped_at_limit",
    "mip_rel_gap", "time_limit_s",
    "maxrss_mb", "peak_python_mb", "tracemalloc",
    "pyomo", "highspy", "highs", "python", "load_avg_start", "error",
]
NUMERIC = tuple(c for c in COLUMNS if c.endswith(("_s", "_mb")) or c in (
    "objective", "objective_lp", "bound", "gap", "ruc_objective", "ruc_bound", "ruc_gap",
    "ruc_over_ifm_solve", "mip_rel_gap"))
#: stage times whose spread across seeds `--seeds` reports (max / min of the per-seed medians)
SPREAD_COLUMNS = ("wall_s", "build_s", "handoff_s", "solve_s", "ifm_solve_s", "ruc_solve_s",
                  "pricing_s", "ruc_over_ifm_solve")
TIME_COLUMNS = ("input_s", "prepare_s", "build_s", "handoff_s", "solve_s", "pricing_s",
                "other_s", "wall_s")


# ------------------------------------------------------------------------------- cases --
def parse_cases(text: str) -> list[str]:
    """Split and check a --cases list ('rts_day', 'pglib:<instance>', 'tiled:<K>',
    'day:<YYYY-MM-DD>', 'scenario:<folder>', each optionally followed by stressed variants
    '+load120', '+units_out:<BAA>', ... of benchmarks/stress.py)."""
    from benchmarks.pglib_reference import instance_path
    from benchmarks.stress import parse_variants, split_case
    cases = [c.strip() for c in text.split(",") if c.strip()]
    for c in cases:
        base, variants = split_case(c)
        parse_variants(variants)  # ValueError names an unknown one
        kind, _, arg = base.partition(":")
        if kind == "rts_day" and not arg:
            continue
        if kind == "pglib" and arg:
            instance_path(arg)  # FileNotFoundError names the bundled ones
            continue
        if kind == "tiled" and arg.isdigit() and int(arg) >= 3 and int(arg) % 3 == 0:
            continue
        if kind == "day" and arg:
            from benchmarks.days import check_date
            check_date(arg)
            continue
        if kind == "scenario" and arg:
            if not Path(arg).is_dir():
                raise FileNotFoundError(f"case '{c}': no scenario folder {arg!r}")
            # the worker runs in the repository root: the folder by its absolute path
            cases[cases.index(c)] = c.replace(arg, str(Path(arg).resolve()), 1)
            continue
        raise ValueError(f"unknown case '{c}' (rts_day, pglib:<instance>, tiled:<K>, K a "
                         "multiple of 3, day:<YYYY-MM-DD>, scenario:<folder>; + variants)")
    if len(set(cases)) != len(cases):
        raise ValueError("a case is listed twice")
    return cases


def load_case(case: str, hours: int | None, seed: int):
    """The Scenario of `case`, truncated to `hours` (None: the case's own horizon), with its
    '+' variants applied (benchmarks/stress.py)."""
    from benchmarks.scaling import tiled_footprint, truncate_hours
    from benchmarks.stress import apply_variants, split_case
    base, variants = split_case(case)
    kind, _, arg = base.partition(":")
    if kind == "rts_day":
        from scenarios import DEFAULT_SCENARIO, load_scenario
        sc = truncate_hours(load_scenario(DEFAULT_SCENARIO), hours)
    elif kind == "pglib":
        from benchmarks.pglib_reference import instance_path
        from benchmarks.pglib_uc import import_pglib_uc
        sc = truncate_hours(import_pglib_uc(instance_path(arg)), hours)
    elif kind == "tiled":
        sc = tiled_footprint(int(arg), seed=seed, hours=hours or 24)
    elif kind == "day":
        from scenarios.importers.rts_gmlc import import_rts_gmlc
        sc = truncate_hours(import_rts_gmlc(arg), hours)
    elif kind == "scenario":
        from scenarios import load_scenario
        sc = truncate_hours(load_scenario(arg), hours)
    else:
        raise ValueError(case)
    return apply_variants(sc, variants) if variants else sc


def truncate_pglib(data: dict, hours: int | None) -> dict:
    """A pglib-uc instance (loaded JSON) on its first `hours` periods (for the reference model,
    matching `truncate_hours` of the imported scenario)."""
    n = int(data["time_periods"])
    if hours is None or hours >= n:
        return data
    out = dict(data, time_periods=hours, demand=list(data["demand"])[:hours])
    if data.get("reserves") is not None:
        out["reserves"] = list(data["reserves"])[:hours]
    out["renewable_generators"] = {
        w: dict(g, power_output_minimum=list(g["power_output_minimum"])[:hours],
                power_output_maximum=list(g["power_output_maximum"])[:hours])
        for w, g in (data.get("renewable_generators") or {}).items()}
    return out


# ------------------------------------------------------------------------ worker side --
STAGE_MARK = "[stage"


def stage_trail(t0: float):
    """A progress callback writing `[stage <s since t0> s] <what>` lines to stderr: the days
    harness reads the last one of a killed or failed case (`last_stage`)."""
    def say(msg: str) -> None:
        print(f"{STAGE_MARK} {time.perf_counter() - t0:.1f} s] {msg}", file=sys.stderr,
              flush=True)
    return say


def install_handoff_probe(trail=None) -> list[dict]:
    """Record, for every HiGHS solve the engine makes, the Pyomo -> HiGHS hand-off (the whole
    model at the first solve of a `PersistentHighs`, `set_instance_s`; the incremental update
    before later ones, `update_s`), the HiGHS run time and the solution loading, from the
    `SolveRecord` each solve returns. Wraps clearing.market.solver.PersistentHighs.solve in this
    (worker) process only."""
    from clearing.market import solver as S
    log: list[dict] = []
    orig = S.PersistentHighs.solve

    def solve(self, m, mip=True, label="", **kwargs):
        first = not self.records
        if trail is not None:
            trail(f"HiGHS: {label}")
        rec = orig(self, m, mip=mip, label=label, **kwargs)
        if trail is not None:
            trail(f"HiGHS: {label} done in {rec.optimize_s:.1f} s ({rec.termination})")
        log.append(dict(label=label, wall_s=rec.seconds,
                        set_instance_s=rec.handoff_s if first else 0.0,
                        update_s=0.0 if first else rec.handoff_s,
                        optimize_s=rec.optimize_s, load_solution_s=rec.load_s))
        return rec

    S.PersistentHighs.solve = solve
    return log


def _size(sc) -> dict:
    t = sc.tables
    res = t["resources"]
    return dict(hours=sc.hours, baas=len(t["baas"]), buses=len(t["buses"]),
                branches=len(t["branches"]), resources=len(res),
                thermal_units=int((res["type"] == "thermal").sum()))


def _memory(trace: bool) -> dict:
    import resource
    import tracemalloc
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else math.nan
    if trace:
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 2**10
    return dict(peak_python_mb=peak, maxrss_mb=rss_mb, tracemalloc=trace)


def stage_split(probe: list[dict], timings: dict, has_ruc: bool) -> dict:
    """The IFM / RUC split of the HiGHS time, the hand-off and the build: `ifm_solve_s` (HiGHS
    run time of the IFM's LP-relaxation and MIP rounds, the IFM's part of `solve_s`; the RUC's
    is `ruc_solve_s`), `ifm_pricing_s` / `ruc_pricing_s` (the pricing
    LPs), `ifm_handoff_s` / `ruc_handoff_s` (Pyomo -> HiGHS, every solve of the stage),
    `ifm_build_s` / `ruc_build_s` (the engine's manifest timings) and `ruc_over_ifm_solve` =
    RUC / IFM HiGHS time (NaN without a RUC)."""
    def part(stage: str, pricing: bool, what: str) -> float:
        return sum(r[what] if what != "handoff" else r["set_instance_s"] + r["update_s"]
                   for r in probe if r["label"].startswith(stage)
                   and ("pricing LP" in r["label"]) == pricing)

    ifm_solve = part("IFM", False, "optimize_s")
    ruc_solve = part("RUC", False, "optimize_s")
    out = dict(ifm_solve_s=ifm_solve, ifm_pricing_s=part("IFM", True, "optimize_s"),
               ifm_handoff_s=part("IFM", False, "handoff") + part("IFM", True, "handoff"),
               ifm_build_s=timings.get("build_s", 0.0))
    if has_ruc:
        out.update(ruc_pricing_s=part("RUC", True, "optimize_s"),
                   ruc_handoff_s=part("RUC", False, "handoff") + part("RUC", True, "handoff"),
                   ruc_build_s=timings.get("ruc_build_s", 0.0),
                   ruc_over_ifm_solve=ruc_solve / ifm_solve if ifm_solve > 0 else math.nan)
    else:
        out.update(ruc_pricing_s=math.nan, ruc_handoff_s=math.nan, ruc_build_s=math.nan,
                   ruc_over_ifm_solve=math.nan)
    return out


def run_engine(case: str, hours: int | None, seed: int, gap: float, time_limit: float,
               trace: bool) -> dict:
    """One run of our engine on `case` in this process (the worker)."""
    import tracemalloc
    if trace:
        tracemalloc.start()
    trail = stage_trail(time.perf_counter())
    probe = install_handoff_probe(trail)
    from clearing.api import solve
    trail(f"load {case}")
    t0 = time.perf_counter()
    sc = load_case(case, hours, seed).with_parameters(mip_rel_gap=gap, time_limit_s=time_limit)
    input_s = time.perf_counter() - t0
    res = solve(sc, progress=trail)
    mem = _memory(trace)
    m = res.manifest
    tm, sv, ruc = m["timings"], m["solver"], m.get("ruc") or {}
    mip = [r for r in probe if "pricing LP" not in r["label"]]
    lp = [r for r in probe if "pricing LP" in r["label"]]
    handoff = sum(r["set_instance_s"] + r["update_s"] for r in probe)
    row = dict(
        case=case, engine="edam", status="ok", **_size(sc), **m["counts"],
        lazy_rows=sv.get("lazy", {}).get("constraints_added", 0)
        + (ruc.get("lazy", {}).get("constraints_added", 0) if ruc else 0),
        input_s=input_s, prepare_s=tm.get("prepare_s", 0.0),
        build_s=tm.get("build_s", 0.0) + tm.get("ruc_build_s", 0.0),
        handoff_s=handoff, handoff_initial_s=sum(r["set_instance_s"] for r in probe),
        solve_s=sum(r["optimize_s"] for r in mip), pricing_s=sum(r["optimize_s"] for r in lp),
        objective=sv.get("objective_mip"), objective_lp=sv.get("objective_lp"),
        bound=sv.get("bound_mip"), gap=sv.get("mip_gap"), termination=sv.get("termination"),
        ruc_objective=ruc.get("objective_mip", math.nan) if ruc else math.nan,
        ruc_bound=ruc.get("bound_mip", math.nan) if ruc else math.nan,
        ruc_gap=ruc.get("mip_gap", math.nan) if ruc else math.nan,
        ruc_termination=ruc.get("termination") if ruc else None,
        ruc_solve_s=(sum(r["optimize_s"] for r in mip if r["label"].startswith("RUC"))
                     if ruc else math.nan),
        mip_rel_gap=gap, time_limit_s=time_limit, **mem,
        **{k: m["versions"].get(k) for k in ("pyomo", "highspy", "highs", "python")})
    row.update(stage_split(probe, tm, bool(ruc)))
    comp = m.get("completion") or {}
    rounds = [r.get("termination") for blk in (sv, ruc) if blk
              for r in blk.get("lazy", {}).get("round_log", [])]
    row["completion"] = comp.get("status")
    row["stopped_at_limit"] = bool(
        comp.get("status") == "time_limit" or "maxTimeLimit" in rounds
        or any(comp.get(f"{k}_status") == "time_limit" for k in ("ifm", "ruc")))
    row["wall_s"] = input_s + tm["total_s"]
    row["other_s"] = row["wall_s"] - sum(row[k] for k in ("input_s", "prepare_s", "build_s",
                                                          "handoff_s", "solve_s", "pricing_s"))
    detail = dict(manifest_timings=tm, solves=probe, counts=m["counts"],
                  ruc_counts=ruc.get("counts", {}), input_hash=m.get("input_hash"),
                  completion=comp, warnings=m.get("warnings", []))
    return dict(row=row, detail=detail)


def run_reference(case: str, hours: int | None, seed: int, gap: float, time_limit: float,
                  trace: bool) -> dict:
    """One solve of the pglib-uc reference model (benchmarks/pglib_reference.py)."""
    import tracemalloc
    from benchmarks.pglib_reference import instance_path, load_instance, solve_reference
    from clearing.market.manifest import versions
    if trace:
        tracemalloc.start()
    kind, _, arg = case.partition(":")
    t0 = time.perf_counter()
    data = truncate_pglib(load_instance(instance_path(arg)), hours)
    read_s = time.perf_counter() - t0
    r = solve_reference(data, gap, time_limit)
    mem = _memory(trace)
    v = versions()
    row = dict(
        case=case, engine="pglib_reference", status="ok", hours=r["hours"], baas=1, buses=1,
        branches=0, resources=r["thermal_units"] + r["renewable_units"],
        thermal_units=r["thermal_units"], variables=r["n_vars"],
        constraints=r["n_constraints"], binaries=r["n_binaries"], lazy_rows=0,
        input_s=read_s, prepare_s=math.nan, build_s=r["build_s"], handoff_s=r["handoff_s"],
        handoff_initial_s=r["handoff_s"], solve_s=r["solve_s"], pricing_s=math.nan,
        other_s=r["other_s"], wall_s=read_s + r["wall_s"], objective=r["objective"],
        objective_lp=math.nan, bound=r["bound"], gap=r["gap"], termination=r["status"],
        ruc_objective=math.nan, ruc_bound=math.nan, ruc_gap=math.nan, ruc_termination=None,
        ruc_solve_s=math.nan, mip_rel_gap=gap, time_limit_s=time_limit, **mem,
        **{k: v.get(k) for k in ("pyomo", "highspy", "highs", "python")})
    return dict(row=row, detail=dict(reference=r))


def worker(spec: dict, out: Path) -> int:
    """Entry point of the per-run process: run one spec, write its result to `out`."""
    fn = run_reference if spec["engine"] == "pglib_reference" else run_engine
    try:
        res = fn(spec["case"], spec["hours"], spec["seed"], spec["gap"], spec["time_limit"],
                 spec["tracemalloc"])
    except Exception as exc:  # recorded as a failed run; the harness carries on
        res = dict(row=dict(case=spec["case"], engine=spec["engine"], status="error",
                            error=f"{type(exc).__name__}: {exc}"),
                   detail=dict(traceback=traceback.format_exc()))
    out.write_text(json.dumps(res, default=_json_default))
    return 0


# ------------------------------------------------------------------------ parent side --
def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def run_in_subprocess(spec: dict, timeout: float | None) -> dict:
    """Run one spec in a fresh interpreter (so maxrss is this run's alone)."""
    with tempfile.TemporaryDirectory(prefix="edam-bench-") as tmp:
        out = Path(tmp) / "result.json"
        env = dict(os.environ)
        env.setdefault("PYTHONHASHSEED", "0")
        root = str(HERE.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "benchmarks", "--worker", json.dumps(spec),
               "--worker-out", str(out)]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, cwd=root, timeout=timeout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except subprocess.TimeoutExpired:
            return dict(row=dict(case=spec["case"], engine=spec["engine"], status="timeout",
                                 error=f"killed after {timeout:.0f} s"), detail={})
        if proc.returncode != 0 or not out.exists():
            return dict(row=dict(case=spec["case"], engine=spec["engine"], status="error",
                                 error=f"worker exit code {proc.returncode}"),
                        detail=dict(stderr=proc.stderr[-4000:]))
        res = json.loads(out.read_text())
        res["detail"]["process_wall_s"] = time.perf_counter() - t0
        return res


def _num(x) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return math.nan
    return f


def summarise(rows: list[dict]) -> list[dict]:
    """Per (case, engine): the median of each numeric column over the successful timed runs;
    peak_python_mb from the runs with tracemalloc (the memory run when --memory separate)."""
    out = []
    keys = list(dict.fromkeys((r["case"], r["engine"]) for r in rows))
    text = ("case", "engine", "run", "seed", "timed", "status", "termination",
            "ruc_termination", "completion", "stopped_at_limit", "error", "pyomo",
            "highspy", "highs", "python", "tracemalloc")

    def med(rs: list[dict], c: str) -> float:
        vals = [v for v in (_num(r.get(c)) for r in rs) if not math.isnan(v)]
        return statistics.median(vals) if vals else math.nan

    for case, engine in keys:
        mine = [r for r in rows if (r["case"], r["engine"]) == (case, engine)]
        ok = [r for r in mine if r["status"] == "ok" and r["timed"]]
        traced = [r for r in mine if r["status"] == "ok" and r["tracemalloc"]]
        s: dict = dict(case=case, engine=engine, runs=len(ok),
                       failed=sum(1 for r in mine if r["status"] != "ok"))
        if ok:
            for c in COLUMNS:
                if c in text:
                    s[c] = ok[-1].get(c)
                elif c == "peak_python_mb":
                    s[c] = med(traced, c)
                else:
                    s[c] = med(ok, c)
            s["wall_s_min"] = min(_num(r["wall_s"]) for r in ok)
        out.append(s)
    return out


def seed_spread(rows: list[dict]) -> list[dict]:
    """Per (case, engine) run with two or more seeds: for each stage time of `SPREAD_COLUMNS`,
    the median over that seed's successful timed runs, then `min`, `max` and `ratio` = max /
    min over the seeds (issue 20's goal: the RUC's time varies less than 2x between seeds)."""
    out = []
    keys = list(dict.fromkeys((r["case"], r["engine"]) for r in rows))
    for case, engine in keys:
        ok = [r for r in rows if (r["case"], r["engine"]) == (case, engine)
              and r["status"] == "ok" and r["timed"]]
        seeds = list(dict.fromkeys(r.get("seed") for r in ok))
        if len(seeds) < 2:
            continue
        s: dict = dict(case=case, engine=engine, seeds=seeds, columns={})
        for c in SPREAD_COLUMNS:
            per = {}
            for sd in seeds:
                vals = [v for v in (_num(r.get(c)) for r in ok if r.get("seed") == sd)
                        if not math.isnan(v)]
                if vals:
                    per[str(sd)] = statistics.median(vals)
            if len(per) < 2:
                continue
            lo, hi = min(per.values()), max(per.values())
            s["columns"][c] = dict(per_seed=per, min=lo, max=hi,
                                   ratio=hi / lo if lo > 0 else math.inf)
        out.append(s)
    return out


def compare(summary: list[dict]) -> list[dict]:
    """Side by side: our engine and the pglib-uc reference on each pglib case."""
    by = {(s["case"], s["engine"]): s for s in summary}
    out = []
    for (case, engine), ref in by.items():
        ours = by.get((case, "edam"))
        if engine != "pglib_reference" or not ours or not ours["runs"] or not ref["runs"]:
            continue
        rel = (ours["objective"] - ref["objective"]) / abs(ref["objective"]) \
            if ref["objective"] else math.nan
        out.append(dict(
            case=case, ours_wall_s=ours["wall_s"], reference_wall_s=ref["wall_s"],
            speedup=ref["wall_s"] / ours["wall_s"] if ours["wall_s"] else math.nan,
            ours_build_plus_handoff_s=ours["build_s"] + ours["handoff_s"],
            reference_build_plus_handoff_s=ref["build_s"] + ref["handoff_s"],
            ours_solve_s=ours["solve_s"], reference_solve_s=ref["solve_s"],
            solve_speedup=ref["solve_s"] / ours["solve_s"] if ours["solve_s"] else math.nan,
            ours_objective=ours["objective"], reference_objective=ref["objective"],
            objective_rel_diff=rel, ours_gap=ours["gap"], reference_gap=ref["gap"]))
    return out


def command_line(argv: list[str]) -> str:
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    head = ["edam", "bench"] if prog == "edam" else ["python", "-m", "benchmarks"]
    return shlex.join(head + list(argv))


# ---------------------------------------------------------------------------- outputs --
def write_csv(rows: list[dict], path: Path) -> None:
    import csv
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in COLUMNS})


def _fmt(x, spec: str = ".2f") -> str:
    f = _num(x)
    if math.isnan(f):
        return "-"
    return format(f, spec)


def print_table(summary: list[dict], comparisons: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    con = Console(width=None if sys.stdout.isatty() else 200)
    t = Table(title="benchmarks (median over runs; seconds)")
    for c in ("case", "engine", "runs", "vars", "bins", "rows", "build", "hand-off", "solve",
              "pricing", "other", "wall", "RUC/IFM", "objective", "gap", "maxrss MB",
              "py peak MB"):
        t.add_column(c, justify="left" if c in ("case", "engine") else "right")
    for s in summary:
        if not s["runs"]:
            t.add_row(s["case"], s["engine"], "0", *["-"] * 14)
            continue
        t.add_row(s["case"], s["engine"], str(s["runs"]), _fmt(s["variables"], ",.0f"),
                  _fmt(s["binaries"], ",.0f"), _fmt(s["constraints"], ",.0f"),
                  _fmt(s["build_s"]), _fmt(s["handoff_s"]), _fmt(s["solve_s"]),
                  _fmt(s["pricing_s"]), _fmt(s["other_s"]), _fmt(s["wall_s"]),
                  _fmt(s["ruc_over_ifm_solve"]), _fmt(s["objective"], ",.0f"), _fmt(s["gap"], ".2e"), _fmt(s["maxrss_mb"], ".0f"),
                  _fmt(s["peak_python_mb"], ".0f"))
    con.print(t)
    if comparisons:
        c = Table(title="pglib-uc: our engine vs the reference model (speed-up = reference / ours)")
        for h in ("case", "ours wall", "ref wall", "speed-up", "ours solve", "ref solve",
                  "ours obj", "ref obj", "rel diff"):
            c.add_column(h, justify="left" if h == "case" else "right")
        for r in comparisons:
            c.add_row(r["case"], _fmt(r["ours_wall_s"]), _fmt(r["reference_wall_s"]),
                      _fmt(r["speedup"]), _fmt(r["ours_solve_s"]), _fmt(r["reference_solve_s"]),
                      _fmt(r["ours_objective"], ",.0f"), _fmt(r["reference_objective"], ",.0f"),
                      _fmt(r["objective_rel_diff"], ".2e"))
        con.print(c)


def draw_chart(rows: list[dict], summary: list[dict], out_dir: Path, title: str) -> list[Path]:
    """Time and memory against model size (variables), log-log: scaling.html and, when kaleido
    or Chromium is there, scaling.png."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    ok = [s for s in summary if s["runs"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time vs model size",
                                                        "peak memory vs model size"))
    metrics = (("wall_s", "wall"), ("build_s", "build"), ("handoff_s", "hand-off"),
               ("solve_s", "solve (HiGHS MIP)"), ("ruc_solve_s", "of which RUC"),
               ("pricing_s", "pricing LP"))
    colours = dict(wall_s="#222222", build_s="#1f77b4", handoff_s="#ff7f0e",
                   solve_s="#2ca02c", ruc_solve_s="#d62728", pricing_s="#9467bd")
    for engine, symbol, dash in (("edam", "circle", "solid"), ("pglib_reference", "diamond", "dot")):
        pts = sorted((s for s in ok if s["engine"] == engine), key=lambda s: _num(s["variables"]))
        if not pts:
            continue
        for col, name in metrics:
            xs = [_num(s["variables"]) for s in pts]
            ys = [_num(s[col]) for s in pts]
            keep = [(x, y, s["case"]) for x, y, s in zip(xs, ys, pts) if y > 0 and not math.isnan(y)]
            if not keep:
                continue
            fig.add_trace(go.Scatter(
                x=[k[0] for k in keep], y=[k[1] for k in keep], text=[k[2] for k in keep],
                mode="lines+markers", name=f"{name} ({engine})", legendgroup=engine,
                line=dict(color=colours[col], dash=dash), marker=dict(symbol=symbol, size=9),
                hovertemplate="%{text}<br>%{x:,.0f} variables<br>%{y:.2f} s"), row=1, col=1)
        for col, name, mdash in (("maxrss_mb", "max RSS", dash), ("peak_python_mb",
                                                                  "tracemalloc peak", "dash")):
            keep = [(_num(s["variables"]), _num(s[col]), s["case"]) for s in pts
                    if not math.isnan(_num(s[col]))]
            if keep:
                fig.add_trace(go.Scatter(
                    x=[k[0] for k in keep], y=[k[1] for k in keep], text=[k[2] for k in keep],
                    mode="lines+markers", name=f"{name} ({engine})", legendgroup=engine,
                    line=dict(dash=mdash), marker=dict(symbol=symbol, size=9),
                    hovertemplate="%{text}<br>%{x:,.0f} variables<br>%{y:.0f} MB"), row=1, col=2)
    # label each case once, at its wall time
    for s in ok:
        if s["engine"] == "edam":
            fig.add_annotation(x=math.log10(max(_num(s["variables"]), 1)),
                               y=math.log10(max(_num(s["wall_s"]), 1e-3)), text=s["case"],
                               showarrow=False, yshift=12, font=dict(size=10), row=1, col=1)
    fig.update_xaxes(type="log", title_text="variables (at build, before lazy rows)")
    fig.update_yaxes(type="log", title_text="seconds", row=1, col=1)
    fig.update_yaxes(type="log", title_text="MB", row=1, col=2)
    fig.update_layout(title=title, template="plotly_white", height=560, width=1250)
    html = out_dir / "scaling.html"
    fig.write_html(html, include_plotlyjs=True, full_html=True)
    written = [html]
    png = out_dir / "scaling.png"
    try:
        import kaleido  # noqa: F401  (optional: only if already installed)
        fig.write_image(png)
        written.append(png)
    except Exception:
        # no kaleido: a headless-Chromium screenshot of a static copy (benchmarks/outputs.py)
        static = out_dir / ".scaling_static.html"
        fig.write_html(static, include_plotlyjs=True, full_html=True,
                       config={"staticPlot": True})
        if html_to_png(static, png, width=1250, height=560):
            written.append(png)
        static.unlink(missing_ok=True)
    return written


def redraw(out: Path, argv: list[str]) -> int:
    """Redraw `out`'s chart and bench.md from its bench.json (same runs; bench.md names both
    the command that made the runs and this one)."""
    try:
        doc = json.loads((out / "bench.json").read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {out / 'bench.json'}: {exc}", file=sys.stderr)
        return 2
    rows = [{c: (math.nan if r.get(c) is None and c in NUMERIC else r.get(c)) for c in COLUMNS}
            for r in doc["runs"]]
    for r in rows:  # records made before the harness left ruc_solve_s empty without a RUC
        if r.get("ruc_termination") is None:
            r["ruc_solve_s"] = math.nan
    summary = summarise(rows)
    started = doc.get("started", "")
    charts = draw_chart(rows, summary, out, f"EDAM clearing engine: cost vs size "
                                            f"({doc['machine'].get('cpu', '')}, "
                                            f"{started[:10]})")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_markdown(out / "bench.md", command=doc["command"], machine=doc["machine"],
                   versions=doc["versions"], started=started, summary=summary,
                   matches=doc.get("reference_matches") or [], options=doc["options"],
                   spread=doc.get("seed_spread") or [],
                   redrawn=f"`{command_line(argv)}` on {now}")
    print("written " + ", ".join(str(p) for p in [out / "bench.md", *charts]))
    return 0


# ------------------------------------------------------------------------------- main --
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description="benchmark harness (benchmarks/README.md)")
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help="comma-separated: rts_day, pglib:<instance>, tiled:<K> "
                         "(default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case (time allowing)")
    ap.add_argument("--gap", type=float, default=0.001, help="relative MIP gap")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="time limit of each MIP solve, s (engine and reference)")
    ap.add_argument("--hours", type=int, default=None,
                    help="truncate every case to hours 1..H (smoke runs; default: own horizon)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the tiled footprints")
    ap.add_argument("--seeds", default=None, metavar="S1,S2,...",
                    help="run every tiled case once per seed (x --repeat) and report the "
                         "spread (max / min over the seeds) of each stage's time; other cases "
                         "run with the first seed only")
    ap.add_argument("--with-reference", action="store_true",
                    help="also solve the pglib-uc reference model of each pglib case")
    ap.add_argument("--budget", type=float, default=3600.0,
                    help="wall seconds per case after which no further repeat is started "
                         "(the first run always happens)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="kill a run after this many seconds (default 4 x time limit + 900)")
    ap.add_argument("--memory", choices=("separate", "inline", "off"), default="separate",
                    help="tracemalloc peak: 'separate' (default) one extra run per case with "
                         "tracemalloc, kept out of the timings (tracemalloc slows Pyomo up to "
                         "5x); 'inline' in every run (timings inflated); 'off' (NaN)")
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="output folder (default: %(default)s in the current directory; the "
                         "project's recorded results live in benchmarks/results)")
    ap.add_argument("--quiet", action="store_true", help="no table, no progress lines")
    ap.add_argument("--redraw", metavar="DIR",
                    help="no runs: redraw the chart and bench.md of DIR from its bench.json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `edam bench -- --cases ...` (argparse.REMAINDER keeps the "--")
        argv = argv[1:]
    a = build_parser().parse_args(argv)
    if a.worker:
        return worker(json.loads(a.worker), Path(a.worker_out))
    if a.redraw:
        return redraw(Path(a.redraw), argv)
    try:
        cases = parse_cases(a.cases)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.repeat < 1 or (a.hours is not None and a.hours < 1):
        print("error: --repeat and --hours must be >= 1", file=sys.stderr)
        return 2
    try:
        seeds = ([int(x) for x in a.seeds.split(",") if x.strip()] if a.seeds is not None
                 else [a.seed])
    except ValueError:
        print(f"error: --seeds {a.seeds!r}: expected comma-separated integers", file=sys.stderr)
        return 2
    if not seeds or len(set(seeds)) != len(seeds):
        print("error: --seeds needs distinct integers", file=sys.stderr)
        return 2
    timeout = a.timeout if a.timeout is not None else 4 * a.time_limit + 900
    say = (lambda s: None) if a.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows, details = [], []

    def one(case: str, engine: str, k: int, trace: bool, timed: bool, seed: int) -> dict:
        spec = dict(case=case, engine=engine, hours=a.hours, seed=seed, gap=a.gap,
                    time_limit=a.time_limit, tracemalloc=trace)
        load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
        res = run_in_subprocess(spec, timeout)
        row = {c: None for c in COLUMNS}
        row.update(res["row"])
        row.update(run=k, seed=seed, timed=timed, load_avg_start=round(load0, 2),
                   tracemalloc=trace)
        for c in NUMERIC:
            if row[c] is None:
                row[c] = math.nan
        rows.append(row)
        details.append(dict(case=case, engine=engine, run=k, timed=timed, **res.get("detail", {})))
        what = (f"{case} [{engine}]" + (f" seed {seed}" if len(seeds) > 1 else "")
                + f" run {k}" + ("" if timed else " (memory, tracemalloc)"))
        if row["status"] == "ok":
            say(f"{what}: {row['variables']:,} vars, build {row['build_s']:.2f} s, "
                f"hand-off {row['handoff_s']:.2f} s, solve {row['solve_s']:.2f} s, "
                f"pricing {_fmt(row['pricing_s'])} s, wall {row['wall_s']:.2f} s, "
                f"objective {row['objective']:,.2f}, max RSS {row['maxrss_mb']:.0f} MB"
                + (f", tracemalloc peak {row['peak_python_mb']:.0f} MB" if trace else ""))
        else:
            say(f"{what}: {row['status']}: {row.get('error')}")
        return row

    for case in cases:
        engines = ["edam"] + (["pglib_reference"] if a.with_reference
                              and case.startswith("pglib:") else [])
        # only the tiled footprints are drawn from the seed
        case_seeds = seeds if case.startswith("tiled:") else seeds[:1]
        for engine in engines:
            first_ok: tuple[int, int] | None = None
            for seed in case_seeds:
                t_case = time.perf_counter()
                last, done, ok = 0.0, 0, False
                for k in range(1, a.repeat + 1):
                    used = time.perf_counter() - t_case
                    if k > 1 and used + last > a.budget:
                        say(f"{case} [{engine}] seed {seed}: budget {a.budget:.0f} s reached "
                            f"after {done} of {a.repeat} runs")
                        break
                    t0 = time.perf_counter()
                    row = one(case, engine, k, trace=a.memory == "inline", timed=True,
                              seed=seed)
                    last, done = time.perf_counter() - t0, k
                    ok = row["status"] == "ok"
                    if not ok:
                        break  # a failing case fails again; do not spend the budget on it
                if ok and first_ok is None:
                    first_ok = (seed, done)
            if a.memory == "separate" and first_ok is not None:  # once per case: first seed
                one(case, engine, first_ok[1] + 1, trace=True, timed=False, seed=first_ok[0])
    summary = summarise(rows)
    spread = seed_spread(rows)
    comparisons = compare(summary)
    matches = recorded_matches(summary)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "bench.csv")
    ok_rows = [r for r in rows if r["status"] == "ok"]
    doc = dict(
        description="benchmark harness (benchmarks/__main__.py; benchmarks/README.md, "
                    "'Harness and scaling')",
        command=command_line(argv), argv=argv, cwd=os.getcwd(), started=started,
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        options=dict(cases=cases, repeat=a.repeat, gap=a.gap, time_limit_s=a.time_limit,
                     hours=a.hours, seed=a.seed, seeds=seeds, with_reference=a.with_reference,
                     budget_s=a.budget, timeout_s=timeout, memory=a.memory,
                     pythonhashseed=os.environ.get("PYTHONHASHSEED", "0")),
        machine=machine_info(),
        versions={k: ok_rows[0][k] for k in ("pyomo", "highspy", "highs", "python")}
        if ok_rows else {},
        columns=COLUMNS, runs=rows, summary=summary, seed_spread=spread,
        comparisons=comparisons,
        reference_matches=matches, details=details)
    (out / "bench.json").write_text(json.dumps(finite_json(doc), indent=2, default=_json_default,
                                               allow_nan=False) + "\n")
    charts = draw_chart(rows, summary, out, f"EDAM clearing engine: cost vs size "
                                            f"({doc['machine'].get('cpu', '')}, "
                                            f"{started[:10]})")
    write_markdown(out / "bench.md", command=doc["command"], machine=doc["machine"],
                   versions=doc["versions"], started=started, summary=summary, matches=matches,
                   options=doc["options"], spread=spread)
    if not a.quiet:
        print_table(summary, comparisons)
        if spread:
            print(spread_table(spread))
        if matches:
            print(matches_table(matches))
        print("written " + ", ".join(str(p) for p in [out / "bench.csv", out / "bench.json",
                                                       out / "bench.md", *charts]))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
