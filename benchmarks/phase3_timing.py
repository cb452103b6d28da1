"""Benchmark: phase 3 on the bundled RTS-GMLC day — the day-ahead run (IFM + RUC) next to the
real-time follow-up (the 96-interval FMM of clearing/market/rt.py). Prints and writes
benchmarks/results/phase3_timing.json: per stage (DA: IFM build/solve/pricing, RUC
build/solve/pricing, RSE; RT: prepare, build, solve (MIP + lazy rounds), pricing LP, extract),
model sizes, objectives, lazy rounds, and the settlement time.

    python -m benchmarks.phase3_timing [--repeat N] [--set name=value ...] [--scenario DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.machine import machine_info, versions
from clearing.market.engine import run_day_ahead
from clearing.market.rt import run_phase3
from clearing.analysis.settle import settle
from scenarios import DEFAULT_SCENARIO, load_scenario

RESULTS = Path(__file__).resolve().parent / "results"


def run_once(scenario_dir: Path, overrides: dict) -> dict:
    t0 = time.perf_counter()
    sc = load_scenario(scenario_dir, {"phase": 3, **overrides})
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    da = run_day_ahead(sc)
    da_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_phase3(sc, da)
    rt_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = settle(sc, res, res.tables["settlement_inputs"], res.tables["metered_load"],
                res.tables.get("rse"), res.tables.get("rse_distribution"))
    settle_s = time.perf_counter() - t0
    m = res.manifest
    tm, rt = m["timings"], m["rt"]
    return {
        "load_s": load_s,
        "da": {"wall_s": da_wall,
               **{k: tm[k] for k in ("prepare_s", "build_s", "solve_s", "pricing_s", "ruc_build_s",
                                     "ruc_solve_s", "ruc_pricing_s", "rse_s", "total_s") if k in tm},
               "objective_mip": m["solver"]["objective_mip"], "mip_gap": m["solver"]["mip_gap"],
               "termination": m["solver"]["termination"], "counts": m["counts"],
               "ifm_rounds": len(m["solver"]["lazy"]["round_log"])},
        "rt": {"wall_s": rt_wall, **rt["timings"],
               "objective_mip": rt["objective_mip"], "objective_usd": rt["objective_usd"],
               "mip_gap": rt["mip_gap"], "termination": rt["termination"],
               "counts": rt["counts"], "intervals": rt["intervals"],
               "short_start_units_recommitted": rt["short_start_units_recommitted"],
               "lazy": {k: rt["lazy"][k] for k in ("rounds", "lp_rounds", "seeded_rows",
                                                   "constraints_added")},
               "round_seconds": [r["seconds"] for r in rt["lazy"]["round_log"]],
               "power_balance_relaxed_mwh": rt["power_balance_relaxed_mwh"],
               "fru_relaxed_mwh": rt["fru_relaxed_mwh"], "frd_relaxed_mwh": rt["frd_relaxed_mwh"]},
        "settlement": {"seconds": settle_s, "lines": len(st.table)},
        "rt_over_da_wall": rt_wall / da_wall if da_wall else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--scenario", default=str(DEFAULT_SCENARIO))
    ap.add_argument("--out", default=str(RESULTS / "phase3_timing.json"))
    a = ap.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in a.set)
    runs = []
    for k in range(a.repeat):
        r = run_once(Path(a.scenario), overrides)
        runs.append(r)
        da, rt = r["da"], r["rt"]
        print(f"run {k + 1}: DA {da['wall_s']:.1f} s (IFM build {da['build_s']:.1f}, solve "
              f"{da['solve_s']:.1f}, pricing {da['pricing_s']:.1f}; RUC build "
              f"{da.get('ruc_build_s', 0):.1f}, solve {da.get('ruc_solve_s', 0):.1f}, pricing "
              f"{da.get('ruc_pricing_s', 0):.1f}; RSE {da.get('rse_s', 0):.1f}) | RT "
              f"{rt['wall_s']:.1f} s (prepare {rt['prepare_s']:.1f}, build {rt['build_s']:.1f}, "
              f"solve {rt['solve_s']:.1f} in {rt['lazy']['rounds']} MIP rounds, pricing "
              f"{rt['pricing_s']:.1f}, extract {rt['extract_s']:.1f}; "
              f"{rt['counts'].get('variables')} vars, {rt['counts'].get('binaries')} binaries, "
              f"{rt['counts'].get('constraints')} rows, +{rt['lazy']['constraints_added']} network "
              f"rows ({rt['lazy']['seeded_rows']} seeded); gap {rt['mip_gap']:.4%}) | settlement "
              f"{r['settlement']['seconds']:.1f} s | RT/DA {r['rt_over_da_wall']:.2f}")
    out = {"case": f"{Path(a.scenario).name}: phase 3 (DA then 96-interval FMM)",
           "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": machine_info(), "versions": versions(),
           "command": "python -m benchmarks.phase3_timing " + " ".join(argv or []), "runs": runs}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, default=str))
    print(f"written {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
