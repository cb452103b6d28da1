"""Run the parallel-operations phases on the same inputs and compare them (spec §10;
docs/validation.md).

`run_phases(scenario, out_dir)` solves phase 1 (no economic transfer) and phase 2 (economic
transfer) with `clearing.api.solve(scenario.with_parameters(phase=k))`, and phase 3 (DA followed
by RT) when `clearing.market.rt.run_phase3` exists (otherwise it is skipped with a note). The output
folder is checked before the first solve and written atomically after the last (an earlier
phases folder is replaced only with `overwrite`). Each run is written to `out_dir/phase<k>`; `phases.csv` and `phases.md` put side by side: total cost (the
manifest's MIP objective), per-BAA average and load-weighted LMP, EDAM transfers by interface,
IR/RC requirement prices per BAA, and RSE results (failed tests, surcharge) per BAA.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable
from typing import Callable

import numpy as np
import pandas as pd

from clearing.outputs import check_output_target, write_output_dir
from clearing.results import RunResult, write_run
from scenarios.scenario import Scenario

PHASES = (1, 2, 3)
PHASE_NAMES = {1: "DA, no economic transfer", 2: "DA with economic transfer",
               3: "DA followed by RT"}


@dataclass
class PhasesReport:
    out_dir: Path
    runs: dict[int, RunResult]
    dirs: dict[int, Path]
    table: pd.DataFrame          # metric, item, unit, phase1, phase2[, phase3], change_2_vs_1
    notes: list[str] = field(default_factory=list)
    md_path: Path | None = None
    csv_path: Path | None = None

    def total_cost(self, phase: int) -> float:
        return _objective(self.runs[phase])

    def value(self, metric: str, item: str, phase: int) -> float:
        t = self.table
        row = t[(t["metric"] == metric) & (t["item"] == item)]
        return float(row[f"phase{phase}"].iloc[0]) if len(row) else float("nan")


def _objective(run: RunResult) -> float:
    s = (run.manifest or {}).get("solver") or {}
    v = s.get("objective_mip", s.get("objective"))
    return float(v) if v is not None else float("nan")


def phase3_available() -> tuple[bool, str]:
    """(available, why not) for the phase-3 real-time follow-up (`clearing.market.rt.run_phase3`)."""
    try:
        rt = importlib.import_module("clearing.market.rt")
    except ImportError as exc:
        return False, f"clearing.market.rt is not available ({exc})"
    if not hasattr(rt, "run_phase3"):
        return False, "clearing.market.rt has no run_phase3"
    return True, ""


def _metrics(scenario: Scenario, run: RunResult) -> list[dict]:
    rows = [dict(metric="total_cost", item="IFM objective", unit="$", value=_objective(run))]
    ruc = (run.manifest or {}).get("ruc") or {}
    if ruc.get("objective_mip") is not None:
        rows.append(dict(metric="total_cost", item="RUC objective", unit="$",
                         value=float(ruc["objective_mip"])))
    bus_baa = {str(k): str(v) for k, v in scenario.bus_baa.items()}
    npx = run.tables.get("nodal_prices")
    if npx is not None and len(npx):
        npx = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int))
        npx = npx.assign(baa_s=npx["bus"].map(bus_baa))
        for b, g in npx.groupby("baa_s"):
            rows.append(dict(metric="average_lmp", item=b, unit="$/MWh",
                             value=float(g["lmp"].mean())))
        d = scenario.demand
        if len(d):
            w = d.assign(bus=d["bus"].astype(str), hour=d["hour"].astype(int))
            m = npx.merge(w, on=["bus", "hour"], how="inner")
            for b, g in m.groupby("baa_s"):
                tot = float(g["fixed_demand_mw"].sum())
                if tot > 0:
                    rows.append(dict(metric="load_weighted_lmp", item=b, unit="$/MWh",
                                     value=float((g["lmp"] * g["fixed_demand_mw"]).sum() / tot)))
    tr = run.tables.get("transfers")
    if tr is not None and len(tr):
        for k, g in tr.groupby(tr["interface"].astype(str)):
            rows.append(dict(metric="transfer_mwh", item=k, unit="MWh",
                             value=float(g["mw"].sum())))
        rows.append(dict(metric="transfer_mwh", item="all interfaces", unit="MWh",
                         value=float(tr["mw"].sum())))
    pp = run.tables.get("product_prices")
    if pp is not None and len(pp):
        pp = pp.assign(product=pp["product"].astype(str).str.lower())
        for prod in ("iru", "ird", "rcu", "rcd"):
            for b, g in pp[pp["product"] == prod].groupby(pp["baa"].astype(str)):
                rows.append(dict(metric=f"{prod}_price_avg", item=b, unit="$/MWh",
                                 value=float(g["price_usd_per_mwh"].mean())))
    rse = run.tables.get("rse")
    if rse is not None and len(rse) and "passed" in rse:
        passed = rse["passed"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
        r = rse.assign(failed=~passed, baa=rse["baa"].astype(str))
        agg = r[r["test"].isin(["up", "down"])] if r["test"].isin(["up", "down"]).any() else r
        for b, g in agg.groupby("baa"):
            rows.append(dict(metric="rse_failed_hours", item=b, unit="tests x hours",
                             value=float(g["failed"].sum())))
        if "surcharge_usd" in r:
            for b, g in agg.groupby("baa"):
                rows.append(dict(metric="rse_surcharge", item=b, unit="$",
                                 value=float(pd.to_numeric(g["surcharge_usd"],
                                                           errors="coerce").sum())))
    return rows


def _side_by_side(scenario: Scenario, runs: dict[int, RunResult]) -> pd.DataFrame:
    long = []
    for k, run in runs.items():
        for r in _metrics(scenario, run):
            long.append({**r, "phase": f"phase{k}"})
    if not long:
        return pd.DataFrame(columns=["metric", "item", "unit"])
    df = pd.DataFrame(long)
    order = {m: i for i, m in enumerate(dict.fromkeys(df["metric"]))}
    wide = df.pivot_table(index=["metric", "item", "unit"], columns="phase", values="value",
                          aggfunc="first").reset_index()
    wide.columns.name = None
    wide = wide.sort_values(["metric", "item"], key=lambda s: s.map(order) if s.name == "metric"
                            else s, kind="stable").reset_index(drop=True)
    if "phase1" in wide and "phase2" in wide:
        wide["change_2_vs_1"] = wide["phase2"] - wide["phase1"]
    if "phase2" in wide and "phase3" in wide:
        wide["change_3_vs_2"] = wide["phase3"] - wide["phase2"]
    return wide


def _markdown(scenario: Scenario, report: PhasesReport) -> str:
    lines = [f"# Parallel-operations phases: {scenario.name} ({scenario.trade_date})", ""]
    for k, d in report.dirs.items():
        lines.append(f"- phase {k} ({PHASE_NAMES[k]}): `{d}`")
    lines.append("")
    for n in report.notes:
        lines += [f"Note: {n}", ""]
    t = report.table
    for metric, g in t.groupby("metric", sort=False):
        lines += [f"## {metric}", ""]
        cols = [c for c in g.columns if c not in ("metric",)]
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("|" + "---|" * len(cols))
        for rec in g[cols].itertuples(index=False):
            lines.append("| " + " | ".join(
                f"{v:,.2f}" if isinstance(v, (float, np.floating)) and not np.isnan(v)
                else ("" if isinstance(v, float) else str(v)) for v in rec) + " |")
        lines.append("")
    return "\n".join(lines)


def run_phases(scenario: Scenario, out_dir: str | Path, *, phases=PHASES,
               solve: Callable[[Scenario], RunResult] | None = None, overwrite: bool = False,
               forbid_inside: Iterable[str | Path] = (),
               progress: Callable[[str], None] | None = None) -> PhasesReport:
    """Solve each phase on the same inputs, write DIR/phase<k>, phases.csv and phases.md.

    DIR is checked before any solve and written atomically (kind "phases",
    clearing.outputs): an earlier phases folder is replaced only with `overwrite`.
    `progress(message)` is called before each step (clearing.progress)."""
    say = progress or (lambda message: None)
    if solve is None:
        from clearing.api import solve as api_solve
        solve = api_solve
    out = check_output_target(out_dir, "phases", overwrite=overwrite, forbid_inside=forbid_inside)
    runs: dict[int, RunResult] = {}
    notes: list[str] = []
    for k in phases:
        if k == 3:
            ok, why = phase3_available()
            if not ok:
                notes.append(f"phase 3 skipped: {why}")
                continue
        say(f"phase {k} ({PHASE_NAMES[k]}): solving")
        try:
            result = solve(scenario.with_parameters(phase=k))
        except Exception as exc:
            if k != 3:
                raise
            notes.append(f"phase 3 failed and was skipped: {type(exc).__name__}: {exc}")
            continue
        runs[k] = result
    dirs = {k: out / f"phase{k}" for k in runs}
    say("comparison: phases.csv, phases.md")
    report = PhasesReport(out, runs, dirs, _side_by_side(scenario, runs), notes)
    report.csv_path = out / "phases.csv"
    report.md_path = out / "phases.md"

    def fill(tmp: Path) -> None:
        for k, result in runs.items():
            write_run(result, tmp / f"phase{k}")
        report.table.to_csv(tmp / "phases.csv", index=False, lineterminator="\n",
                            float_format="%.10g")
        (tmp / "phases.md").write_text(_markdown(scenario, report))

    write_output_dir(out, "phases", fill, overwrite=overwrite, forbid_inside=forbid_inside)
    return report


def phases_command(scenario_path, out, overrides: dict | None = None,
                   overwrite: bool = False) -> int:
    """`edam phases SCENARIO --out DIR [--set name=value ...] [--overwrite]`."""
    from scenarios import load_scenario
    from clearing.progress import step_printer

    progress = step_printer("edam phases")
    progress(f"load {scenario_path}")
    scenario = load_scenario(scenario_path, overrides or None)
    report = run_phases(scenario, out, overwrite=overwrite, forbid_inside=[scenario.source_dir],
                        progress=progress)
    for k in report.runs:
        print(f"phase {k} ({PHASE_NAMES[k]}): total cost {report.total_cost(k):,.2f} "
              f"-> {report.dirs[k]}")
    for n in report.notes:
        print(f"note: {n}")
    print(f"comparison: {report.md_path}, {report.csv_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="edam phases", description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    overrides = dict(s.split("=", 1) for s in a.set)
    return phases_command(a.scenario, a.out, overrides, overwrite=a.overwrite)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
