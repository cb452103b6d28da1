"""Sweep throughput on Dask: runs per hour with 1 and 2 workers, speed-up, per-run overhead.

Run by hand (it takes minutes: every run is a full solve of the bundled RTS-GMLC day):

    python -m benchmarks.sweep_throughput                 # 4 runs, 1 then 2 workers
    python -m benchmarks.sweep_throughput --runs 6 --workers 1 2 --scenario scenarios/example_11_2

For each worker count it runs the same sweep (a grid over the DIR factor, so every run is a
distinct solve) into a fresh store on a fresh local Dask cluster and measures:

- wall_s: the sweep's wall time (driver: planning, cluster start, runs, catalogue);
- cluster_start_s: the time to start such a local cluster (measured apart, just before);
- runs_per_hour = runs / wall_s x 3600 (and without the cluster start), and the speed-up
  (wall time of the first worker count / this one's);
- per run, from the manifests: solve_s (HiGHS) and total_s (the engine: build, solve, pricing,
  RUC, RSE), and the worker's wall time for the task (load + solve + write);
- overhead_per_run_s = wall_s x workers / runs - mean solve_s: the time each run costs outside
  the solver (model build, pricing, loading, writing, scheduling, cluster start-up shared out);
  overhead_outside_engine_s the same against total_s (the sweep machinery alone), and
  task_overhead_s = mean(task wall - total_s) (loading, hashing, writing on the worker).

Prints a table and writes `benchmarks/results/sweep_throughput.json` and `.csv`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.machine import machine_info, versions

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def _sweep_yaml(scenario: Path, runs: int, path: Path) -> Path:
    # distinct DIR factors from 0.30 upwards: every run is a different solve
    values = [round(0.30 + 0.05 * i, 4) for i in range(runs)]
    path.write_text(f"name: throughput\nscenarios: [{scenario.resolve()}]\n"
                    f"grid:\n  ir_deployed_proportion: {values}\n")
    return path


def cluster_start_s(workers: int) -> float:
    """Time to start (and reach) a local cluster of `workers` processes, as a sweep does."""
    from clearing.runs.sweep import _client, _close

    t0 = time.perf_counter()
    client, cluster = _client(workers, None)
    client.wait_for_workers(workers)
    started = time.perf_counter() - t0
    _close(client, cluster)
    return started


def measure(scenario: Path, runs: int, workers: int, work: Path) -> dict:
    from clearing.results import read_run
    from clearing.runs.store import Store
    from clearing.runs.sweep import run_sweep

    start_s = cluster_start_s(workers)

    store = work / f"store_w{workers}"
    if store.exists():
        shutil.rmtree(store)
    sweep = _sweep_yaml(scenario, runs, work / f"sweep_w{workers}.yaml")
    t0 = time.perf_counter()
    outcome = run_sweep(sweep, store, workers=workers)
    wall = time.perf_counter() - t0
    st = Store(store)
    solve, total, task_wall = [], [], []
    for rid in st.done_ids():
        m = read_run(st.run_dir(rid)).manifest
        t = m.get("timings") or {}
        solve.append(float(t.get("solve_s", 0.0)))
        total.append(float(t.get("total_s", 0.0)))
        task_wall.append(float((m.get("store") or {}).get("wall_s", 0.0)))
    tasks = {r["run_id"]: r for r in outcome.results}
    full_task = [float(r.get("wall_s", 0.0)) for r in tasks.values() if r["status"] == "done"]
    n_done = len(st.done_ids())
    mean = (lambda xs: statistics.fmean(xs) if xs else float("nan"))
    per_run = wall * workers / max(1, n_done)
    return {
        "workers": workers, "runs": runs, "runs_done": n_done, "runs_failed": len(outcome.failed),
        "wall_s": wall, "runs_per_hour": n_done / wall * 3600 if wall else float("nan"),
        "cluster_start_s": start_s,
        "runs_per_hour_excl_start": (n_done / (wall - start_s) * 3600 if wall > start_s
                                     else float("nan")),
        "mean_solve_s": mean(solve), "mean_engine_total_s": mean(total),
        "mean_task_wall_s": mean(full_task), "worker_seconds_per_run": per_run,
        "overhead_per_run_s": per_run - mean(solve),
        "overhead_outside_engine_s": per_run - mean(total),
        "task_overhead_s": mean([w - t for w, t in zip(full_task, total)]) if full_task else
        float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "rts_gmlc_edam"))
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--keep", action="store_true", help="keep the stores (printed)")
    a = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="edam-sweep-bench-"))
    load_before = os.getloadavg()  # other jobs on the machine skew every number here
    rows = []
    try:
        for w in a.workers:
            print(f"--- {a.runs} runs of {Path(a.scenario).name} on {w} worker(s)", flush=True)
            rows.append(measure(Path(a.scenario), a.runs, w, work))
    finally:
        if a.keep:
            print(f"stores kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    base = rows[0]["wall_s"] if rows else float("nan")
    for r in rows:
        r["speedup"] = base / r["wall_s"] if r["wall_s"] else float("nan")

    cols = ["workers", "runs_done", "runs_failed", "wall_s", "cluster_start_s",
            "runs_per_hour", "runs_per_hour_excl_start", "speedup",
            "mean_solve_s", "mean_engine_total_s", "mean_task_wall_s", "overhead_per_run_s",
            "overhead_outside_engine_s", "task_overhead_s"]
    print("\n" + "  ".join(f"{c:>14}" for c in cols))
    for r in rows:
        print("  ".join(f"{r[c]:>14.3f}" if isinstance(r[c], float) else f"{r[c]:>14}"
                        for c in cols))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"benchmark": "sweep_throughput", "scenario": Path(a.scenario).name, "runs": a.runs,
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {**machine_info(), "loadavg_1_5_15_before": load_before,
                        "loadavg_1_5_15_after": os.getloadavg()},
            "versions": versions(("dask", "distributed", "duckdb")), "results": rows}
    (out / "sweep_throughput.json").write_text(json.dumps(meta, indent=2) + "\n")
    with (out / "sweep_throughput.csv").open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=["scenario", "runs", *cols])
        wr.writeheader()
        for r in rows:
            wr.writerow({"scenario": meta["scenario"], "runs": a.runs,
                         **{c: (round(r[c], 4) if isinstance(r[c], float) else r[c])
                            for c in cols}})
    print(f"\nwritten {out / 'sweep_throughput.json'} and {out / 'sweep_throughput.csv'}")
    return 0 if all(r["runs_failed"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
