"""`edam`: the command line (architecture.md). Bad input and solver trouble become one clear
message and a non-zero exit, never a traceback; nothing partial is written."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

from clearing.outputs import OutputPathError, RunFolderError
from scenarios.errors import ScenarioError, SolverError

#: exit codes (docs/exit-codes.md); argparse exits 2 on a usage error
EXIT_SOLVED = 0       # solved to the MIP gap
EXIT_ERROR = 1        # bad input, or the solver found no solution
EXIT_USAGE = 2        # command-line usage (argparse)
EXIT_AT_LIMIT = 3     # stopped at a time limit with a feasible result: written, with a warning


def _overrides(items: list[str] | None, names: list[str] | None = None,
               what: str = "a parameter of scenarios/parameters.py") -> dict:
    """`--set NAME=VALUE` items as a dict; an unknown name is an error that suggests the
    closest known names (difflib), e.g. "did you mean 'ir_deployed_proportion'?"."""
    import difflib

    from scenarios.errors import Problem
    from scenarios.parameters import MarketParameters
    known = list(names) if names is not None else list(MarketParameters.names())
    out, problems = {}, []
    for it in items or []:
        if "=" not in it:
            problems.append(Problem("--set", None, it, repr(it), "name=value"))
            continue
        k, v = (x.strip() for x in it.split("=", 1))
        if k not in known:
            close = difflib.get_close_matches(k, known, n=3, cutoff=0.6)
            hint = "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""
            problems.append(Problem("--set", None, k, f"unknown name '{k}'", what + hint))
            continue
        out[k] = v
    if problems:
        raise ScenarioError(problems)
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
    # every path is checked before the solve: a bad --out or --commitment-from fails at once
    from clearing.outputs import check_output_target
    out = Path(a.out) if a.out else Path("runs") / sc.name  # the name is a checked identifier
    check_output_target(out, "run", overwrite=a.overwrite, forbid_inside=[sc.source_dir])
    commitment = None
    if a.commitment_from:
        from clearing.api import check_commitment_source
        from clearing.results import read_run_folder
        commitment = read_run_folder(a.commitment_from)
        if not a.allow_other_scenario:
            check_commitment_source(commitment, sc, a.commitment_from)
    with con.status("solving") as status, SolveDisplay(con, status, t0) as progress:
        result = solve(sc, progress=progress, commitment_from=commitment,
                       allow_other_scenario=a.allow_other_scenario)
        if commitment is not None:
            result.manifest["commitment_fixed_from"] = str(a.commitment_from)
        if sc.parameters.phase == 3 and "settlement_inputs" in result.tables:
            progress("settlement")
            from clearing.analysis.settle import settle
            st = settle(sc, result, result.tables["settlement_inputs"],
                        result.tables.get("metered_load"), result.tables.get("rse"),
                        result.tables.get("rse_distribution"))
            result.tables["settlement"] = st.table
            result.tables["statement"] = st.statement
            result.manifest["settlement_options"] = st.options
        progress(f"write {out}")
        result.write(out, a.format, overwrite=a.overwrite, forbid_inside=[sc.source_dir])
    _summary(con, result, out)
    return _completion_exit(con, result.manifest)


class SolveDisplay:
    """The solve's console display: each stage as a line with its elapsed time, and a status
    line that ticks every half second and shows the running MIP's incumbent, bound and gap
    (`live`, fed by HiGHS's MIP callback through clearing.market.solver.RunBudget.on_mip_progress)."""

    def __init__(self, con, status, t0: float) -> None:
        import threading
        self.con, self.status, self.t0 = con, status, t0
        self.stage, self.mip = "solving", ""
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> SolveDisplay:
        self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._ticker.join(timeout=2)

    def text(self) -> str:
        line = f"{self.stage}  ({time.perf_counter() - self.t0:.1f} s)"
        return f"{line}  {self.mip}" if self.mip else line

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.status.update(self.text())

    def __call__(self, msg: str) -> None:
        self.stage, self.mip = msg, ""
        self.status.update(self.text())
        self.con.print(f"[dim]{time.perf_counter() - self.t0:7.1f} s[/]  {msg}")

    def live(self, mp) -> None:
        self.mip = mp.describe()
        self.status.update(self.text())


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
    headers, rows = summary_rows(result)
    t = Table(*headers)
    for row in rows:
        t.add_row(*row)
    con.print(t)


#: the solve summary's columns: (label, table, column(s), aggregate over the BAA's hours).
#: A sum of hourly MW over the day is MWh; a mean of $/MWh prices stays $/MWh.
SUMMARY_COLUMNS = (
    ("avg LMP $/MWh", "nodal_prices", ("lmp",), "mean"),
    ("IRU req/cleared MWh", "baa_summary", ("iru_requirement_mw", "iru_cleared_mw"), "sum"),
    ("IRD req/cleared MWh", "baa_summary", ("ird_requirement_mw", "ird_cleared_mw"), "sum"),
    ("RCU cleared MWh", "baa_summary", ("rcu_cleared_mw",), "sum"),
    ("RCD cleared MWh", "baa_summary", ("rcd_cleared_mw",), "sum"),
)


def summary_rows(result) -> tuple[list[str], list[list[str]]]:
    """(headers, one row per BAA) of the solve summary, as SUMMARY_COLUMNS declares."""
    headers = ["BAA"] + [label for label, *_ in SUMMARY_COLUMNS]
    rows = []
    for baa in sorted(result.tables["baa_summary"]["baa"].astype(str).unique()):
        row = [baa]
        for _label, table, cols, agg in SUMMARY_COLUMNS:
            df = result.tables[table]
            g = df[df["baa"].astype(str) == baa]
            vals = [getattr(g[c], agg)() for c in cols]
            row.append("/".join(f"{v:.2f}" if agg == "mean" else f"{v:.0f}" for v in vals))
        rows.append(row)
    return headers, rows


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
    if a.ghg_allowance_usd_per_t is not None:   # CISO as a GHG area (§5.13, docs/ghg.md)
        from scenarios.importers import rts_gmlc_ghg
        return rts_gmlc_ghg.cli_import(a.date, a.out, a.ghg_allowance_usd_per_t, a.data_dir,
                                       overwrite=a.overwrite, profile=a.profile)
    from scenarios.importers.rts_gmlc import cli_import
    return cli_import(a.date, a.out, a.data_dir, overwrite=a.overwrite, profile=a.profile)


def cmd_rse(a) -> int:
    from clearing.market.rse import rse_command
    return rse_command(a.scenario, a.run, a.out, _overrides(a.set), overwrite=a.overwrite)


def cmd_settle(a) -> int:
    from clearing.analysis.settle import settle_command
    from products.settlement_core import SettlementOptions
    options = {f.name: getattr(a, f.name) for f in fields(SettlementOptions)
               if getattr(a, f.name, None) is not None}
    return settle_command(a.run_dir, a.scenario, a.out, settlement_inputs=a.settlement_inputs,
                          metered_load=a.metered_load, overrides=_overrides(a.set) or None,
                          options=options or None, overwrite=a.overwrite)


def cmd_check(a) -> int:
    from clearing.analysis.check import check_command
    return check_command(a.run_dir, a.scenario)


def cmd_compare(a) -> int:
    """A verdict command (docs/exit-codes.md): 0 pass, 1 fail, 2 when it cannot run."""
    from clearing.analysis.compare import compare_command
    try:
        return compare_command(a.run_dir, a.reference_dir, a.tolerances, a.out,
                               scenario=a.scenario, partial_reference=a.partial_reference,
                               strict_reference=a.strict_reference, overwrite=a.overwrite)
    except ScenarioError as exc:
        print(f"edam compare: error: {exc}", file=sys.stderr)
        return 2
    except (OutputPathError, RunFolderError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"edam compare: error: {msg}", file=sys.stderr)
        return 2


def cmd_import_oasis(a) -> int:
    from clearing.analysis.oasis import oasis_command
    return oasis_command(a.csv, a.out, a.trade_date, a.timezone, a.market_run,
                         overwrite=a.overwrite)


def cmd_phases(a) -> int:
    from clearing.analysis.phases import phases_command
    return phases_command(a.scenario, a.out, _overrides(a.set), overwrite=a.overwrite)


def cmd_sweep(a) -> int:
    from clearing.runs.sweep import sweep_command
    return sweep_command(a.sweep_file, a.out, workers=a.workers, scheduler=a.scheduler)


def cmd_run_days(a) -> int:
    from clearing.runs.rolling import run_days_command
    ov = _overrides(a.set)
    if a.phase is not None:
        ov["phase"] = a.phase
    return run_days_command(a.source, a.date_from, a.date_to, a.out, ov, fmt=a.format,
                            lookahead_hours=a.lookahead_hours, profile=a.profile)


def cmd_runs(a) -> int:
    from clearing.runs.sweep import runs_command
    return runs_command(a.store, sort=a.sort, where=a.where, fmt=a.format, rebuild=a.rebuild)


def cmd_report(a) -> int:
    from clearing.runs.report import report_command
    return report_command(a.path, a.out, overwrite=a.overwrite)


def cmd_bench(a) -> int:
    from benchmarks.__main__ import main as bench_main
    return bench_main(a.args)


def version() -> str:
    """The installed package's version (pyproject.toml), or 'unknown' from a bare checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version
    try:
        return _version("edam-clearing")
    except PackageNotFoundError:
        return "unknown"


_SET_HELP = "override a parameter of scenarios/parameters.py (repeatable; docs/parameters.md)"
_SCENARIO_HELP = "scenario folder, or a bundled scenario's name (e.g. example_11_1)"


def _true_false(v: str) -> bool:
    low = v.strip().lower()
    if low not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"found {v!r}; expected true or false")
    return low == "true"


def _settle_options(s: argparse.ArgumentParser) -> None:
    """One option per [A] settlement choice of products.settlement_core.SettlementOptions
    (docs/market-model.md §8, §7.5)."""
    from products.settlement_core import _CHOICES, SettlementOptions
    for f in fields(SettlementOptions):
        choices = _CHOICES.get(f.name)
        flag = "--" + f.name.replace("_", "-")
        where = "§7.5" if f.name.startswith("rse_") else "§8"
        text = f"settlement option {f.name} ({where}; default {f.default}"
        if choices and isinstance(choices[0], bool):
            s.add_argument(flag, dest=f.name, type=_true_false, metavar="true|false",
                           help=text + ")")
        else:
            s.add_argument(flag, dest=f.name, choices=choices, metavar=None if choices else "BAA",
                           help=text + ("; auto, none or a BAA id" if not choices else "") + ")")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edam", description="EDAM/DAME day-ahead market clearing "
                                "engine (docs/cli.md; the market model: docs/market-model.md)")
    p.add_argument("--version", action="version", version=f"edam {version()}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="verb", required=True, metavar="COMMAND",
                           help="one of the commands below (docs/cli.md)")
    s = sub.add_parser("solve", help="clear the day-ahead market (and RT in phase 3)")
    s.add_argument("scenario", nargs="?",
                   help=_SCENARIO_HELP + " (default: bundled RTS-GMLC day)")
    s.add_argument("--out", help="run directory (default runs/<scenario name>)")
    s.add_argument("--phase", type=int, choices=(1, 2, 3),
                   help="1: no economic transfers, 2: EDAM day-ahead, 3: DA then RT (§10)")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    s.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="format of the results tables (default csv)")
    s.add_argument("--commitment-from", metavar="RUN_DIR",
                   help="fix the commitment at an earlier run's (what-if re-solve)")
    s.add_argument("--allow-other-scenario", action="store_true",
                   help="accept a --commitment-from run of another scenario (units it does not "
                        "name keep their initial state)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier run (never anything else)")
    s.set_defaults(fn=cmd_solve)
    s = sub.add_parser("validate", help="load and validate a scenario, print a summary")
    s.add_argument("scenario", help=_SCENARIO_HELP)
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    s.set_defaults(fn=cmd_validate)
    s = sub.add_parser("import", help="import public data into a scenario folder")
    s.add_argument("source", help="the data source: rts-gmlc")
    s.add_argument("--date", required=True, help="trade date, e.g. 2020-07-09")
    s.add_argument("--out", required=True, help="scenario folder to write")
    s.add_argument("--data-dir", help="RTS-GMLC folder (default: the bundled copy)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier imported scenario")
    s.add_argument("--profile", choices=("edam", "reference"), default="edam",
                   help="edam (default: the EDAM mapping) or reference (the data set's own "
                        "production-cost choices, docs/rts-gmlc-import.md)")
    s.add_argument("--ghg-allowance-usd-per-t", type=float, default=None, metavar="USD_PER_T",
                   help="make CISO a GHG regulation area with GHG bids at this allowance price "
                        "(docs/ghg.md); default: no GHG area")
    s.set_defaults(fn=cmd_import)
    s = sub.add_parser("rse", help="day-ahead resource sufficiency evaluation")
    s.add_argument("scenario", help=_SCENARIO_HELP)
    s.add_argument("--run", help="run directory whose prices/transfers settle the surcharge")
    s.add_argument("--out", required=True, help="folder for the RSE tables")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier edam rse output")
    s.set_defaults(fn=cmd_rse)
    s = sub.add_parser("settle", help="settlement allocators on a run")
    s.add_argument("run_dir", help="run directory (edam solve --out)")
    s.add_argument("--scenario", help="scenario folder (default: the run manifest's scenario_dir)")
    s.add_argument("--out", help="settlement folder (default RUN_DIR_settlement beside the run; "
                                 "the run's folder is never written)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier settlement")
    s.add_argument("--settlement-inputs", metavar="CSV",
                   help="RT settlement inputs per resource-hour (default: the run's "
                        "settlement_inputs table, else as scheduled)")
    s.add_argument("--metered-load", metavar="CSV",
                   help="metered load per sc, baa, hour (default: the run's metered_load "
                        "table, else derived)")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    _settle_options(s)
    s.set_defaults(fn=cmd_settle)
    s = sub.add_parser("check", help="independent solution checker")
    s.add_argument("run_dir", help="run directory to check")
    s.add_argument("--scenario", help="scenario folder (default: the run manifest's scenario_dir)")
    s.set_defaults(fn=cmd_check)
    s = sub.add_parser("compare", help="compare a run with reference results")
    s.add_argument("run_dir", help="run directory")
    s.add_argument("reference_dir", help="reference results folder (a run, or edam import-oasis)")
    s.add_argument("--tolerances", help="YAML of per-column tolerances (table.column: abs)")
    s.add_argument("--out", help="report folder (default RUN_DIR_compare beside the run)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier comparison")
    s.add_argument("--scenario", help="scenario folder to vet the reference with the checker")
    s.add_argument("--partial-reference", action="store_true",
                   help="the reference covers only some rows (e.g. a few buses)")
    s.add_argument("--strict-reference", action="store_true",
                   help="fail when the checker finds violations in the reference")
    s.set_defaults(fn=cmd_compare)
    s = sub.add_parser("import-oasis", help="import OASIS-style long CSVs as reference tables")
    s.add_argument("csv", nargs="+", help="OASIS long CSV files (columns: docs/cli.md)")
    s.add_argument("--out", required=True, help="reference folder to write")
    s.add_argument("--trade-date", required=True, help="trade date, e.g. 2026-06-01")
    s.add_argument("--timezone", default="America/Los_Angeles",
                   help="the market's local time zone, for hour-ending (default %(default)s)")
    s.add_argument("--market-run", default="DAM",
                   help="MARKET_RUN_ID rows to keep (default %(default)s)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier imported reference")
    s.set_defaults(fn=cmd_import_oasis)
    s = sub.add_parser("phases", help="run phases 1, 2, 3 and compare them")
    s.add_argument("scenario", help=_SCENARIO_HELP)
    s.add_argument("--out", required=True, help="folder for the three runs and the comparison")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds an earlier phases comparison")
    s.set_defaults(fn=cmd_phases)
    s = sub.add_parser("sweep", help="run a what-if sweep into a run store")
    s.add_argument("sweep_file", help="sweep YAML (scenarios/sweeps/README.md)")
    s.add_argument("--out", required=True, help="run store folder")
    s.add_argument("--workers", type=int,
                   help="local Dask worker processes (default: the CPUs; 0: in this process)")
    s.add_argument("--scheduler", help="tcp://host:port of an existing Dask scheduler")
    s.set_defaults(fn=cmd_sweep)
    s = sub.add_parser("run-days", help="clear consecutive days into a run store, each from "
                       "the previous day's end state (rolling run)")
    s.add_argument("source", help="rts-gmlc (each day imported from the bundled data), or a "
                                  "folder of scenario folders named by date (YYYY-MM-DD)")
    s.add_argument("--from", dest="date_from", required=True, metavar="D1",
                   help="first day, YYYY-MM-DD (starts from SOURCE's own initial state)")
    s.add_argument("--to", dest="date_to", required=True, metavar="D2",
                   help="last day, YYYY-MM-DD (inclusive, on or after --from)")
    s.add_argument("--out", required=True, help="run store folder (created, or reopened: "
                                                "days already done are skipped)")
    s.add_argument("--phase", type=int, choices=(1, 2, 3),
                   help="1: no economic transfers, 2: EDAM day-ahead, 3: DA then RT (§10)")
    s.add_argument("--set", action="append", metavar="NAME=VALUE", help=_SET_HELP)
    s.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="format of the results tables (default csv)")
    s.add_argument("--lookahead-hours", default=0, metavar="N",
                   help="clear each day with the first N hours (0..24) of the next day "
                        "appended and keep the day's own hours [A] (default 0: off)")
    s.add_argument("--profile", choices=("edam", "reference"), default="edam",
                   help="SOURCE rts-gmlc only: the import profile of each day (edam, the "
                        "default, or reference: docs/rts-gmlc-import.md)")
    s.set_defaults(fn=cmd_run_days)
    s = sub.add_parser("runs", help="list the runs of a store")
    s.add_argument("store", help="run store folder (edam sweep --out)")
    s.add_argument("--sort", metavar="COLS",
                   help="catalogue columns, comma-separated, '-' for descending: phase,-objective")
    s.add_argument("--where", metavar="COND",
                   help="DuckDB SQL condition on the runs table: \"phase = 2 AND avg_lmp > 30\"")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default), or csv/json with every catalogue column")
    s.add_argument("--rebuild", action="store_true",
                   help="rebuild the catalogue even if the store did not change")
    s.set_defaults(fn=cmd_runs)
    s = sub.add_parser("report", help="self-contained HTML report of a run or a store")
    s.add_argument("path", help="a run directory or a run store")
    s.add_argument("--out", help="HTML file (default PATH_report.html beside the run or store)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out if it is an earlier report")
    s.set_defaults(fn=cmd_report)
    s = sub.add_parser("bench", help="benchmarks (same as python -m benchmarks)")
    s.add_argument("args", nargs=argparse.REMAINDER,
                   help="arguments of python -m benchmarks (benchmarks/README.md)")
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
    except (OutputPathError, RunFolderError, OSError) as exc:  # a path: one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"edam {args.verb}: error: {msg}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"edam {args.verb}: interrupted; nothing partial was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
