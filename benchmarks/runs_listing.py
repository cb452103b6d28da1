"""`edam runs` on a store of 40 runs: wall time of the command, as an analyst types it.

    python -m benchmarks.runs_listing                  # 40 runs of example_11_1, 3 repeats
    python -m benchmarks.runs_listing --store STORE    # an existing store instead

Builds (unless --store) a store of 40 real solves of `scenarios/example_11_1` (IR cap
10/20/30/40/55 x DIR 0.1/0.2/0.3/0.45 x phase 1/2; a few seconds), then times `edam runs STORE`
as a separate process (interpreter start and imports included), each measured `--repeat` times:

- rebuild_s: `edam runs STORE --rebuild` (the catalogue rebuilt from the run folders);
- fresh_s: `edam runs STORE` right after (the catalogue is up to date: read, not rebuilt);
- where_csv_s: `edam runs STORE --where "phase = 2" --sort=-avg_lmp --format csv`;
- and for each, *_cpu_s: the child's user + system CPU seconds (what the wall time would be on
  an idle machine, near enough: the command is single-threaded but for DuckDB's scans).

Goal (issue 17): list 40 runs in under 2 s. Prints the medians and writes
`benchmarks/results/runs_listing.json` (with the machine, versions and load average).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.machine import machine_info, versions

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
GOAL_S = 2.0


def build_store(root: Path) -> Path:
    """40 real solves of example_11_1 written into a store at `root`."""
    from clearing.api import solve
    from clearing.runs.store import Store, run_id_for
    from scenarios import load_scenario

    sc = load_scenario(REPO / "scenarios" / "example_11_1")
    store = Store(root).init()
    for cap in (10.0, 20.0, 30.0, 40.0, 55.0):
        for dir_ in (0.1, 0.2, 0.3, 0.45):
            for phase in (1, 2):
                s = sc.with_parameters(ir_demand_curve_cap_usd_per_mwh=cap,
                                       ir_deployed_proportion=dir_, phase=phase)
                rid = run_id_for(s)
                if not store.is_done(rid):
                    store.save_run(solve(s), rid)
    return store.root


def time_command(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s: user + system of the child) of `python -m clearing.cli ARGS` (output
    discarded); fails loudly. The CPU time does not grow with the machine's load."""
    import resource

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "clearing.cli", *args], cwd=REPO, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"edam {' '.join(args)} failed: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def measure(store: Path, repeat: int) -> dict:
    """Median (and all) wall and CPU seconds of the three listings."""
    cases = {"rebuild_s": ["runs", str(store), "--rebuild"],
             "fresh_s": ["runs", str(store)],
             "where_csv_s": ["runs", str(store), "--where", "phase = 2", "--sort=-avg_lmp",
                             "--format", "csv"]}
    out: dict = {}
    for name, args in cases.items():
        times, cpus = [], []
        for _ in range(repeat):
            if name == "fresh_s":  # make sure the catalogue is up to date first
                time_command(["runs", str(store)])
            wall, cpu = time_command(args)
            times.append(wall)
            cpus.append(cpu)
        out[name] = round(statistics.median(times), 3)
        out[name.replace("_s", "_cpu_s")] = round(statistics.median(cpus), 3)
        out[name.replace("_s", "_all_s")] = [round(t, 3) for t in times]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.runs_listing",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="an existing store (default: build 40 runs in a temp dir)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "runs_listing.json"))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="runs_listing_") as tmp:
        store = Path(a.store) if a.store else build_store(Path(tmp) / "store")
        n_runs = len([p for p in (store / "runs").iterdir() if not p.name.startswith(".")])
        load_before = os.getloadavg()
        result = measure(store, a.repeat)
    record = {"benchmark": "edam runs listing", "command": "python -m benchmarks.runs_listing"
              + (f" --store {a.store}" if a.store else ""), "runs": n_runs,
              "repeat": a.repeat, "goal_s": GOAL_S, **result,
              "goal_met": result["fresh_s"] < GOAL_S and result["where_csv_s"] < GOAL_S,
              "load_average": [round(x, 2) for x in load_before],
              "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine_info(), "versions": versions()}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"edam runs on {n_runs} runs, median of {a.repeat}, wall (CPU) s: rebuild "
          f"{result['rebuild_s']:.2f} ({result['rebuild_cpu_s']:.2f}), up-to-date catalogue "
          f"{result['fresh_s']:.2f} ({result['fresh_cpu_s']:.2f}), --where/--sort/--format csv "
          f"{result['where_csv_s']:.2f} ({result['where_csv_cpu_s']:.2f}); goal < {GOAL_S:g} s; "
          f"load average {record['load_average']} -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
