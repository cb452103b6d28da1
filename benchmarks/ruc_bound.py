"""The RUC's LP bound against its optimum (issue 20): a load-independent measure of how much the
branch and bound has to close.

For a scenario: clear the IFM as `clearing.market.engine.run_day_ahead` does (bid mitigation, MIP with
lazy network rows), build the RUC on its solution, solve the RUC MIP with lazy rows, then solve
the LP relaxation of the same model (same network rows) on the same HiGHS instance. Reports
the LP bound, the MIP objective and dual bound, the relative bound gap
(MIP − LP) / |MIP|, HiGHS's node count and its own seconds.

    python -m benchmarks.ruc_bound rts_day --hours 6
    python -m benchmarks.ruc_bound tiled:3 --hours 6 --loose     # the formulation before issue 20
    → prints one JSON line per case and writes benchmarks/results/ruc_bound.json (--out)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from scenarios.scenario import Scenario


def ruc_bound(scenario: Scenario, tight_rc: bool = True) -> dict:
    """{lp_bound_usd, mip_objective_usd, mip_dual_bound_usd, bound_gap, nodes, seconds...} of
    the RUC of `scenario` (module docstring). `tight_rc=False` builds the pre-issue-20 rows."""
    from clearing.market.data import prepare
    from clearing.market.engine import extract_ifm
    from clearing.market.ifm import build_ifm, solve_and_price, solve_lazy
    from clearing.market.mpm import mitigate_bids, pivotal_supplier_test
    from clearing.market.solver import PersistentHighs
    from network.ptdf import scenario_ptdf
    from network.transmission import make_monitor
    from products.reliability_capacity import build_ruc

    scenario, _ = mitigate_bids(scenario, pivotal_supplier_test(scenario))
    d = prepare(scenario)
    ptdf = scenario_ptdf(scenario)
    ifm = solve_and_price(build_ifm(d), ptdf, ("base", "dep_up", "dep_down"), "IFM")
    _, ifm_vals = extract_ifm(d, ifm, ptdf)
    rb = build_ruc(d, ifm_vals, tight_rc=tight_rc)
    p = d.params
    solver = PersistentHighs(gap=p.mip_rel_gap, time_limit=p.time_limit_s)
    monitor = make_monitor(rb, ptdf, ("ruc",))
    if p.ruc_seed_ifm_rows and p.lazy_transmission:
        monitor.seed([("ruc", l, t) for (kind, l, t) in ifm.monitor.rows if kind == "base"])
    t0 = time.perf_counter()
    rounds = solve_lazy(rb, solver, monitor, mip=True, label="RUC MIP")
    mip_s = time.perf_counter() - t0
    info = solver.highs.getInfo()
    nodes = int(info.mip_node_count)
    mip = solver.records[-1][1]
    lp = solver.solve(rb.m, mip=False, relax=True, label="RUC LP relaxation")
    n_bin = sum(1 for c in rb.binaries for v in c.values() if not v.fixed)
    return dict(lp_bound_usd=lp.objective, mip_objective_usd=mip.objective,
                mip_dual_bound_usd=mip.bound,
                bound_gap=(mip.objective - lp.objective) / max(1e-9, abs(mip.objective)),
                nodes=nodes, free_binaries=n_bin, mip_rounds=len(rounds),
                mip_s=round(mip_s, 2), lp_s=round(lp.seconds, 2),
                highs_mip_optimize_s=round(sum(r.optimize_s for lab, r in solver.records
                                               if lab.startswith("RUC MIP")), 2))


def load_case(case: str, hours: int | None) -> Scenario:
    """`rts_day` (the bundled day) or `tiled:K`, truncated to `hours`."""
    from benchmarks.scaling import base_day, tiled_footprint, truncate_hours
    if case == "rts_day":
        return truncate_hours(base_day(), hours)
    if case.startswith("tiled:"):
        return tiled_footprint(int(case.split(":")[1]), hours=hours or 24)
    raise ValueError(f"unknown case {case!r}: expected rts_day or tiled:K")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the RUC's LP bound against its optimum (issue 20)")
    ap.add_argument("cases", nargs="+", help="rts_day or tiled:K")
    ap.add_argument("--hours", type=int, default=None)
    ap.add_argument("--loose", action="store_true", help="the pre-issue-20 RC rows as well")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ruc_bound.json"))
    a = ap.parse_args(argv)
    out = []
    for case in a.cases:
        sc = load_case(case, a.hours)
        for tight in ((True, False) if a.loose else (True,)):
            row = dict(case=case, hours=a.hours or sc.hours, tight_rc=tight,
                       load_average=os.getloadavg()[0], **ruc_bound(sc, tight_rc=tight))
            print(json.dumps(row), flush=True)
            out.append(row)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    cmd = "python -m benchmarks.ruc_bound " + " ".join(argv if argv is not None else sys.argv[1:])
    Path(a.out).write_text(json.dumps(dict(command=cmd, rows=out), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
