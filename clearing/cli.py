"""`edam`: the command line (architecture.md). Bad input and solver trouble become one clear
message and a non-zero exit, never a traceback; nothing partial is written."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scenarios.errors import ScenarioError, SolverError

#: exit codes (docs/exit-codes.md); argparse exits 2 on a usage error
EXIT_SOLVED = 0       # solved to the MIP gap
EXIT_ERROR = 1        # bad input, or the solver found no solution
EXIT_USAGE = 2        # command-line usage (argparse)
EXIT_AT_LIMIT = 3     # stopped at a time limit with a feasible result: written, with a warning


def _overrides(items: list[str] | None) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ScenarioError([__import__("scenarios.errors", fromlist=["Problem"]).Problem(
                "--set", None, it, repr(it), "name=value")])
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _console():
    from rich.console import Console
    return Console(stderr=True, highlight=False)


# --- verbs -----------------------------------------------------------------------------------
def cmd_solve(a) -> int:
    from clearing.api import solve
    from scenarios import DEFAULT_SCENARIO, load_scenario
    con = _console()
    t0 = time.perf_counter()
    path = Path(a.scenario) if a.scenario else DEFAULT_SCENARIO
    ov = _overrides(a.set)
    if a.phase is not None:
        ov["phase"] = a.phase
    con.print(f"[bold]load[/] {path}")
    sc = load_scenario(path, ov)
    with con.status("solving") as status:
        def progress(msg: str) -> None:
            status.update(f"{msg}  ({time.perf_counter() - t0:.1f} s)")
            con.print(f"[dim]{time.perf_counter() - t0:7.1f} s[/]  {msg}")
        result = solve(sc, progress=progress, commitment_from=a.commitment_from)
        if sc.parameters.phase == 3 and "settlement_inputs" in result.tables:
            progress("settlement")
            from clearing.settle import settle
            st = settle(sc, result, result.tables["settlement_inputs"],
                        result.tables.get("metered_load"), result.tables.get("rse"),
                        result.tables.get("rse_distribution"))
            result.tables["settlement"] = st.table
            result.tables["statement"] = st.statement
            result.manifest["settlement_options"] = st.options
        out = Path(a.out) if a.out else Path("runs") / sc.name
        progress(f"write {out}")
        result.write(out, a.format)
    _summary(con, result, out)
    return _completion_exit(con, result.manifest)


def _completion_exit(con, manifest: dict) -> int:
    """Print the run's warnings; 0 when it solved to the gap, 3 when a limit stopped it with a
    feasible result (docs/exit-codes.md)."""
    for w in manifest.get("warnings", []):
        con.print(f"[bold yellow]warning[/] {w}")
    c = manifest.get("completion", {})
    status = c.get("status", "solved")
    if status == "solved":
        return EXIT_SOLVED
    gaps = ", ".join(f"{k.upper()} gap {c[k + '_gap']:.4%}" for k in ("ifm", "ruc")
                     if c.get(f"{k}_gap") is not None)
    con.print(f"[bold yellow]not solved to the gap[/] (status {status}; achieved {gaps or 'no gap'}"
              f"); the results were written with this status in manifest.json; exit code "
              f"{EXIT_AT_LIMIT}")
    return EXIT_AT_LIMIT


def _summary(con, result, out: Path) -> None:
    from rich.table import Table
    s = result.manifest["solver"]
    tm = result.manifest["timings"]
    done = result.manifest.get("completion", {}).get("status", "solved")
    word = "cleared" if done == "solved" else f"cleared (stopped: {done})"
    con.print(f"[bold {'green' if done == 'solved' else 'yellow'}]{word}[/] objective ${s['objective_mip']:,.2f} (pricing LP "
              f"${s['objective_lp']:,.2f}), MIP gap {s['mip_gap']:.4%}, "
              f"{tm['total_s']:.1f} s total → {out}")
    np_ = result.tables["nodal_prices"]
    bs = result.tables["baa_summary"]
    t = Table("BAA", "avg LMP $/MWh", "IRU req/cleared MW", "IRD req/cleared MW",
              "RCU cleared MW", "RCD cleared MW")
    for baa, g in bs.groupby("baa"):
        lmp = np_.loc[np_["baa"] == baa, "lmp"].mean()
        t.add_row(str(baa), f"{lmp:.2f}",
                  f"{g['iru_requirement_mw'].sum():.0f}/{g['iru_cleared_mw'].sum():.0f}",
                  f"{g['ird_requirement_mw'].sum():.0f}/{g['ird_cleared_mw'].sum():.0f}",
                  f"{g['rcu_cleared_mw'].sum():.0f}", f"{g['rcd_cleared_mw'].sum():.0f}")
    con.print(t)


def cmd_validate(a) -> int:
    from scenarios import load_scenario
    from scenarios.summary import scenario_summary
    sc = load_scenario(a.scenario, _overrides(a.set))
    print(scenario_summary(sc))
    return 0


def cmd_import(a) -> int:
    if a.source != "rts-gmlc":
        raise ScenarioError([__import__("scenarios.errors", fromlist=["Problem"]).Problem(
            "edam import", None, "source", a.source, "rts-gmlc")])
    from scenarios.importers.rts_gmlc import cli_import
    return cli_import(a.date, a.out, a.data_dir)


def cmd_rse(a) -> int:
    from clearing.rse import rse_command
    return rse_command(a.scenario, a.run, a.out, _overrides(a.set))


def cmd_settle(a) -> int:
    from clearing.settle import settle_command
    return settle_command(a.run_dir, a.scenario, a.out)


def cmd_check(a) -> int:
    from clearing.check import check_command
    return check_command(a.run_dir, a.scenario)


def cmd_compare(a) -> int:
    from clearing.compare import compare_command
    return compare_command(a.run_dir, a.reference_dir, a.tolerances, a.out, scenario=a.scenario,
                           partial_reference=a.partial_reference,
                           strict_reference=a.strict_reference)


def cmd_import_oasis(a) -> int:
    from clearing.oasis import oasis_command
    return oasis_command(a.csv, a.out, a.trade_date, a.timezone, a.market_run)


def cmd_phases(a) -> int:
    from clearing.phases import phases_command
    return phases_command(a.scenario, a.out, _overrides(a.set))


def cmd_sweep(a) -> int:
    from clearing.sweep import sweep_command
    return sweep_command(a.sweep_file, a.out, workers=a.workers, scheduler=a.scheduler)


def cmd_runs(a) -> int:
    from clearing.sweep import runs_command
    return runs_command(a.store)


def cmd_report(a) -> int:
    from clearing.report import report_command
    return report_command(a.path, a.out)


def cmd_bench(a) -> int:
    from benchmarks.__main__ import main as bench_main
    return bench_main(a.args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edam", description="EDAM/DAME day-ahead market clearing engine")
    sub = p.add_subparsers(dest="verb", required=True)
    s = sub.add_parser("solve", help="clear the day-ahead market (and RT in phase 3)")
    s.add_argument("scenario", nargs="?", help="scenario folder (default: bundled RTS-GMLC day)")
    s.add_argument("--out", help="run directory (default runs/<scenario name>)")
    s.add_argument("--phase", type=int, choices=(1, 2, 3))
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter")
    s.add_argument("--format", choices=("csv", "parquet"), default="csv")
    s.add_argument("--commitment-from", metavar="RUN_DIR",
                   help="fix the commitment at an earlier run's (what-if re-solve)")
    s.set_defaults(fn=cmd_solve)
    s = sub.add_parser("validate", help="load and validate a scenario, print a summary")
    s.add_argument("scenario")
    s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s.set_defaults(fn=cmd_validate)
    s = sub.add_parser("import", help="import public data into a scenario folder")
    s.add_argument("source", help="rts-gmlc")
    s.add_argument("--date", required=True, help="trade date, e.g. 2020-07-09")
    s.add_argument("--out", required=True)
    s.add_argument("--data-dir", help="RTS-GMLC folder (default: the bundled copy)")
    s.set_defaults(fn=cmd_import)
    s = sub.add_parser("rse", help="day-ahead resource sufficiency evaluation")
    s.add_argument("scenario")
    s.add_argument("--run", help="run directory whose prices/transfers settle the surcharge")
    s.add_argument("--out", required=True)
    s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s.set_defaults(fn=cmd_rse)
    s = sub.add_parser("settle", help="settlement allocators on a run")
    s.add_argument("run_dir")
    s.add_argument("--scenario")
    s.add_argument("--out")
    s.set_defaults(fn=cmd_settle)
    s = sub.add_parser("check", help="independent solution checker")
    s.add_argument("run_dir")
    s.add_argument("--scenario")
    s.set_defaults(fn=cmd_check)
    s = sub.add_parser("compare", help="compare a run with reference results")
    s.add_argument("run_dir")
    s.add_argument("reference_dir")
    s.add_argument("--tolerances", help="YAML of per-column tolerances (table.column: abs)")
    s.add_argument("--out", help="report folder (default RUN_DIR/compare)")
    s.add_argument("--scenario", help="scenario folder to vet the reference with the checker")
    s.add_argument("--partial-reference", action="store_true",
                   help="the reference covers only some rows (e.g. a few buses)")
    s.add_argument("--strict-reference", action="store_true",
                   help="fail when the checker finds violations in the reference")
    s.set_defaults(fn=cmd_compare)
    s = sub.add_parser("import-oasis", help="import OASIS-style long CSVs as reference tables")
    s.add_argument("csv", nargs="+")
    s.add_argument("--out", required=True)
    s.add_argument("--trade-date", required=True)
    s.add_argument("--timezone", default="America/Los_Angeles")
    s.add_argument("--market-run", default="DAM")
    s.set_defaults(fn=cmd_import_oasis)
    s = sub.add_parser("phases", help="run phases 1, 2, 3 and compare them")
    s.add_argument("scenario")
    s.add_argument("--out", required=True)
    s.add_argument("--set", action="append", metavar="NAME=VALUE")
    s.set_defaults(fn=cmd_phases)
    s = sub.add_parser("sweep", help="run a what-if sweep into a run store")
    s.add_argument("sweep_file")
    s.add_argument("--out", required=True, help="run store folder")
    s.add_argument("--workers", type=int)
    s.add_argument("--scheduler", help="tcp://host:port of an existing Dask scheduler")
    s.set_defaults(fn=cmd_sweep)
    s = sub.add_parser("runs", help="list the runs of a store")
    s.add_argument("store")
    s.set_defaults(fn=cmd_runs)
    s = sub.add_parser("report", help="self-contained HTML report of a run or a store")
    s.add_argument("path")
    s.add_argument("--out")
    s.set_defaults(fn=cmd_report)
    s = sub.add_parser("bench", help="benchmarks (same as python -m benchmarks)")
    s.add_argument("args", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after the verb belongs to the benchmark harness
        from benchmarks.__main__ import main as bench_main
        return int(bench_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except ScenarioError as exc:
        print(f"edam {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SolverError as exc:
        print(f"edam {args.verb}: solver error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. `edam validate ... | head`
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"edam {args.verb}: interrupted; nothing partial was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
