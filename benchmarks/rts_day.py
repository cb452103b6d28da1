"""Benchmark: the bundled RTS-GMLC three-BAA day, every product, full network (issue: clearing
engine). Prints and writes build time, each solve round, pricing time, RUC, and the build/solve
ratio to benchmarks/results/rts_day.json.

    python -m benchmarks.rts_day [--repeat N] [--set name=value ...]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

from benchmarks.machine import machine_info, versions
from clearing.market.engine import run_day_ahead
from scenarios import DEFAULT_SCENARIO, load_scenario

RESULTS = Path(__file__).resolve().parent / "results"


def run_once(overrides: dict) -> dict:
    t0 = time.perf_counter()
    sc = load_scenario(DEFAULT_SCENARIO, overrides)
    load_s = time.perf_counter() - t0
    res = run_day_ahead(sc)
    m = res.manifest
    tm = m["timings"]
    build = tm["build_s"] + tm.get("ruc_build_s", 0.0)
    solve = tm["solve_s"] + tm["pricing_s"] + tm.get("ruc_solve_s", 0.0) + tm.get("ruc_pricing_s", 0.0)
    return {
        "load_s": load_s, **{k: tm[k] for k in tm if k.endswith("_s")},
        "build_over_solve": build / solve if solve else None,
        "build_share_of_total": build / (tm["total_s"] + load_s),
        "objective_mip": m["solver"]["objective_mip"], "objective_lp": m["solver"]["objective_lp"],
        "mip_gap": m["solver"]["mip_gap"], "termination": m["solver"]["termination"],
        "ifm_rounds": m["solver"]["lazy"]["round_log"],
        "ruc_rounds": m["ruc"].get("lazy", {}).get("round_log", []),
        "rows_added": m["solver"]["lazy"]["constraints_added"],
        "counts": m["counts"], "versions": m["versions"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", default=str(RESULTS / "rts_day.json"))
    a = ap.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in a.set)
    runs = []
    for k in range(a.repeat):
        tracemalloc.start()
        r = run_once(overrides)
        r["peak_python_memory_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        runs.append(r)
        print(f"run {k + 1}: build {r['build_s']:.1f} s, IFM solve {r['solve_s']:.1f} s "
              f"({len(r['ifm_rounds'])} rounds incl. pricing LP: "
              + ", ".join(f"{x['seconds']:.1f}s" for x in r["ifm_rounds"])
              + f"), pricing {r['pricing_s']:.1f} s, RUC build {r.get('ruc_build_s', 0):.1f} s "
              f"solve {r.get('ruc_solve_s', 0):.1f} s pricing {r.get('ruc_pricing_s', 0):.1f} s, "
              f"total {r['total_s']:.1f} s; build/solve {r['build_over_solve']:.3f}; "
              f"objective {r['objective_mip']:,.0f} gap {r['mip_gap']:.4%}; "
              f"{r['counts']['variables']} vars, {r['counts']['binaries']} binaries, "
              f"{r['counts']['constraints']} rows (+{r['rows_added']} lazy)")
    out = {"case": "rts_gmlc_edam (bundled day, all products, network)", "machine": machine_info(), "versions": versions(),
           "command": "python -m benchmarks.rts_day " + " ".join(argv or []), "runs": runs}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, default=str))
    print(f"written {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
