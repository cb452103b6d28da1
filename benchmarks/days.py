"""Day sample: imported RTS-GMLC days and their stressed variants, end to end (issue 20).

    python -m benchmarks.days                                   # every day of July 2020
    python -m benchmarks.days --dates 2020-07-05..2020-07-18 --variants base,stressed:PACW
    python -m benchmarks.days --dates 2020-07-05,2020-07-12 --variants load120,units_out:CISO
    python -m benchmarks.days --cases rts_day+stressed:PACW,day:2020-07-09  # any harness cases

A case is a day imported in memory by `scenarios.importers.rts_gmlc.import_rts_gmlc(date)`
(`day:<YYYY-MM-DD>`, default parameters, the RUC on) or any case of `python -m benchmarks`
(`rts_day`, `scenario:<folder>`, `tiled:<K>`, ...), optionally followed by stressed variants
(`+load120`, `+units_out:<BAA>`, `+ratings_half`, `+stressed:<BAA>`): named pure transforms of
a Scenario defined and documented in `benchmarks/stress.py`. `--dates` x `--variants` makes the
case list (`base` = the day as imported).

Each case runs in a fresh Python process (the harness's worker, `python -m benchmarks
--worker`), one after the other, so that

* its peak resident memory is its own: `maxrss_mb` is the child's `ru_maxrss` as the parent
  reaps it (`os.wait4`), also for a case killed by its timeout;
* a stuck case is killed after `--timeout` seconds and recorded as a `timeout` row.

Per case it records (the CSV columns, `COLUMNS`; benchmarks/README.md, "Day sample"): the wall
time end to end and its split (input, prepare, IFM and RUC build, hand-off, HiGHS MIP time of
each stage, pricing LPs, other), the build + hand-off share of the wall time, the completion
status (`solved`, `time_limit`, ...) and whether any stage or lazy round stopped at a time
limit, the IFM and RUC gaps and terminations, objectives, model size, peak RSS, and the 1-minute
load average before and after the case. It prints a table and a summary line (median and max
wall time, how many cases over 60 s, how many stopped at a limit) with issue 20's goals side by
side (`GOALS`), and writes `days-<UTC time>.json` (rows, summary, goals, command, options, the
machine before and after, versions) and `days-<UTC time>.csv` to `--out` (default
`benchmarks/results/days/` in the current directory, so the repository's recorded results when
run from its root), one pair per invocation. Timings need a quiet machine: compare the
load averages.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_info, versions
from benchmarks.outputs import finite_json

HERE = Path(__file__).resolve().parent
#: --out default: relative to the current directory (run from the repository root it is the
#: recorded results' folder), never the installed package's folder
DEFAULT_OUT = "benchmarks/results/days"
DEFAULT_DATES = "2020-07-01..2020-07-31"
DATA_YEAR = 2020
#: issue 20's goals for the day sample (seconds, share of the wall time)
DAY_GOAL_S = 60.0
STRESSED_GOAL_S = 120.0
BUILD_HANDOFF_GOAL = 0.10

#: one row per case (the CSV), in this order
COLUMNS = [
    "case", "date", "variant", "status", "completion", "stopped_at_limit",
    "ifm_status", "ruc_status", "wall_s", "process_wall_s", "input_s", "prepare_s",
    "build_s", "ifm_build_s", "ruc_build_s", "handoff_s", "ifm_handoff_s", "ruc_handoff_s",
    "ifm_solve_s", "ruc_solve_s", "ruc_over_ifm_solve", "ifm_pricing_s", "ruc_pricing_s",
    "other_s", "build_handoff_share", "gap", "ruc_gap", "termination", "ruc_termination",
    "objective", "ruc_objective", "hours", "resources", "thermal_units", "branches",
    "variables", "binaries", "constraints", "lazy_rows", "maxrss_mb", "load_before",
    "load_after", "mip_rel_gap", "time_limit_s", "timeout_s", "last_stage", "error",
]
#: the harness row's columns copied as they are
FROM_HARNESS = ("wall_s", "input_s", "prepare_s", "build_s", "ifm_build_s", "ruc_build_s",
                "handoff_s", "ifm_handoff_s", "ruc_handoff_s", "ifm_solve_s", "ruc_solve_s",
                "ruc_over_ifm_solve", "ifm_pricing_s", "ruc_pricing_s", "other_s", "gap",
                "ruc_gap", "termination", "ruc_termination", "objective", "ruc_objective",
                "completion", "stopped_at_limit", "hours", "resources", "thermal_units",
                "branches", "variables", "binaries", "constraints", "lazy_rows")


# ------------------------------------------------------------------------------ cases --
def check_date(text: str) -> str:
    """A trade date of the RTS-GMLC data year (YYYY-MM-DD), or a ValueError."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD") from None
    if day.year != DATA_YEAR:
        raise ValueError(f"date {text} outside the RTS-GMLC data year {DATA_YEAR}")
    return day.isoformat()


def parse_dates(text: str) -> list[str]:
    """'2020-07-01..2020-07-31' (a range, both ends included), '2020-07' (a month) or a comma
    list of dates."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if ".." in part:
            a, b = (dt.date.fromisoformat(check_date(x.strip())) for x in part.split("..", 1))
            if b < a:
                raise ValueError(f"date range {part!r} ends before it starts")
            out += [(a + dt.timedelta(days=k)).isoformat() for k in range((b - a).days + 1)]
        elif len(part) == 7:  # YYYY-MM
            first = dt.date.fromisoformat(check_date(part + "-01"))
            d = first
            while d.month == first.month:
                out.append(d.isoformat())
                d += dt.timedelta(days=1)
        else:
            out.append(check_date(part))
    if not out:
        raise ValueError("no dates")
    return list(dict.fromkeys(out))


def day_cases(dates: list[str], variants: list[str]) -> list[str]:
    """`day:<date>` (+ variant chain) for every date and variant ('base': none)."""
    from benchmarks.stress import parse_variants
    for v in variants:
        if v != "base":
            parse_variants(v)
    return [f"day:{d}" + ("" if v == "base" else f"+{v}") for d in dates for v in variants]


def case_parts(case: str) -> tuple[str | None, str]:
    """(date or None, variant chain or 'base') of a case."""
    from benchmarks.stress import split_case
    base, variants = split_case(case)
    kind, _, arg = base.partition(":")
    return (arg if kind == "day" else None), (variants or "base")


# ----------------------------------------------------------------------------- running --
def _load1() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return math.nan


def last_stage(stderr: str) -> str | None:
    """The last `[stage <s> s] <what>` progress line of a worker's stderr (the harness's
    `stage_trail`): where a killed or failed case was."""
    from benchmarks.__main__ import STAGE_MARK
    lines = [ln.strip() for ln in stderr.splitlines() if ln.startswith(STAGE_MARK)]
    return lines[-1] if lines else None


def run_case(spec: dict, timeout: float) -> dict:
    """Run one harness worker spec in a fresh interpreter; kill it after `timeout` s.
    Returns {row, detail, maxrss_mb, process_wall_s, status}: status 'ok', 'error' or
    'timeout'; `maxrss_mb` is the child's peak RSS as reaped by `os.wait4` (killed or not)."""
    root = HERE.parent
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"]
                                     if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(prefix="edam-days-") as tmp:
        out, err = Path(tmp) / "result.json", Path(tmp) / "stderr.txt"
        cmd = [sys.executable, "-m", "benchmarks", "--worker", json.dumps(spec),
               "--worker-out", str(out)]
        t0 = time.perf_counter()
        with err.open("w") as fh:
            proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL,
                                    stderr=fh)
        timed_out, status_word, usage = False, 0, None
        while True:
            pid, status_word, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                _, status_word, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status_word)  # reaped here, not by Popen
        wall = time.perf_counter() - t0
        rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
        base = dict(maxrss_mb=rss, process_wall_s=wall)
        text = err.read_text(errors="replace")
        base["last_stage"] = last_stage(text)
        trail = [ln for ln in text.splitlines() if ln.startswith("[stage")][-40:]
        if timed_out:
            return dict(base, status="timeout", row={}, detail=dict(stage_trail=trail),
                        error=f"killed after {timeout:g} s")
        if proc.returncode != 0 or not out.exists():
            return dict(base, status="error", row={},
                        detail=dict(stderr=text[-4000:], stage_trail=trail),
                        error=f"worker exit code {proc.returncode}")
        res = json.loads(out.read_text())
        row = res.get("row", {})
        detail = dict(res.get("detail", {}), stage_trail=trail)
        if row.get("status") == "ok":
            base["last_stage"] = None  # finished: no stage to point at
        return dict(base, status=row.get("status", "error"), row=row, detail=detail,
                    error=row.get("error"))


def case_row(case: str, res: dict, *, load_before: float, load_after: float, gap: float,
             time_limit: float, timeout: float) -> dict:
    """The CSV row of one case from `run_case`'s result."""
    date, variant = case_parts(case)
    row = {c: None for c in COLUMNS}
    row.update(case=case, date=date, variant=variant, status=res["status"],
               maxrss_mb=res["maxrss_mb"], process_wall_s=res["process_wall_s"],
               load_before=load_before, load_after=load_after, mip_rel_gap=gap,
               time_limit_s=time_limit, timeout_s=timeout, error=res.get("error"),
               last_stage=res.get("last_stage"))
    h = res.get("row") or {}
    for c in FROM_HARNESS:
        if c in h:
            row[c] = h[c]
    comp = (res.get("detail") or {}).get("completion") or {}
    row["ifm_status"], row["ruc_status"] = comp.get("ifm_status"), comp.get("ruc_status")
    wall = _num(row["wall_s"])
    if wall > 0:
        row["build_handoff_share"] = (_num(row["build_s"]) + _num(row["handoff_s"])) / wall
    return row


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


# ---------------------------------------------------------------------------- summary --
def summarise(rows: list[dict]) -> dict:
    """Median and max wall time of the finished cases, how many took over `DAY_GOAL_S` (a
    timed-out case counts), how many stopped at a time limit, how many timed out or failed."""
    ok = [r for r in rows if r["status"] == "ok"]
    walls = [_num(r["wall_s"]) for r in ok]
    timeouts = [r for r in rows if r["status"] == "timeout"]
    return dict(
        cases=len(rows), ok=len(ok), timeouts=len(timeouts),
        errors=sum(1 for r in rows if r["status"] == "error"),
        median_wall_s=statistics.median(walls) if walls else math.nan,
        max_wall_s=max(walls) if walls else math.nan,
        over_60_s=sum(1 for w in walls if w > DAY_GOAL_S) + len(timeouts),
        stopped_at_limit=sum(1 for r in ok if r["stopped_at_limit"] in (True, "True")),
        max_build_handoff_share=max((_num(r["build_handoff_share"]) for r in ok),
                                    default=math.nan),
        max_maxrss_mb=max((_num(r["maxrss_mb"]) for r in rows), default=math.nan))


def goals(rows: list[dict]) -> list[dict]:
    """Issue 20's day-sample goals against this run: every imported day (no variant) < 60 s
    and none stopped at a time limit; every stressed case (`stressed` in its variant) < 120 s;
    build + hand-off < 10 % of the wall time in every case. `met` is None when no case of the
    kind ran; a timed-out or failed case fails its goal."""
    def goal(name: str, target: str, sel: list[dict], test) -> dict:
        if not sel:
            return dict(goal=name, target=target, cases=0, failing=[], worst=None, met=None)
        failing = [r["case"] for r in sel if r["status"] != "ok" or not test(r)]
        return dict(goal=name, target=target, cases=len(sel), failing=failing, met=not failing)

    days = [r for r in rows if r["date"] and r["variant"] == "base"]
    stressed = [r for r in rows if "stressed" in (r["variant"] or "")]
    out = [
        goal("every imported day", f"< {DAY_GOAL_S:g} s, none stopped at a time limit", days,
             lambda r: _num(r["wall_s"]) < DAY_GOAL_S
             and r["stopped_at_limit"] not in (True, "True")),
        goal("stressed day", f"< {STRESSED_GOAL_S:g} s", stressed,
             lambda r: _num(r["wall_s"]) < STRESSED_GOAL_S),
        goal("build + hand-off", f"< {BUILD_HANDOFF_GOAL:.0%} of wall, every case", rows,
             lambda r: _num(r["build_handoff_share"]) < BUILD_HANDOFF_GOAL),
    ]
    worst = {"every imported day": ("wall_s", days), "stressed day": ("wall_s", stressed),
             "build + hand-off": ("build_handoff_share", rows)}
    for g in out:
        col, sel = worst[g["goal"]]
        vals = [_num(r[col]) for r in sel if r["status"] == "ok"]
        g["worst"] = max(vals) if vals else None
        g["worst_column"] = col
    return out


# ----------------------------------------------------------------------------- output --
def _fmt(x, spec: str = ".1f") -> str:
    f = _num(x)
    return "-" if math.isnan(f) else format(f, spec)


def table(rows: list[dict]) -> str:
    """A plain-text table of the cases (seconds)."""
    head = ("case", "status", "compl.", "limit", "wall", "build", "h-off", "IFM", "IFM pr",
            "RUC b", "RUC", "RUC pr", "RUC/IFM", "b+h %", "IFM gap", "RUC gap", "RSS MB",
            "load")
    body = []
    for r in rows:
        body.append((r["case"], r["status"], str(r["completion"] or "-"),
                     "yes" if r["stopped_at_limit"] in (True, "True") else "-",
                     _fmt(r["wall_s"]), _fmt(r["build_s"]), _fmt(r["handoff_s"]),
                     _fmt(r["ifm_solve_s"]), _fmt(r["ifm_pricing_s"]), _fmt(r["ruc_build_s"]),
                     _fmt(r["ruc_solve_s"]), _fmt(r["ruc_pricing_s"]),
                     _fmt(r["ruc_over_ifm_solve"], ".2f"),
                     _fmt(100 * _num(r["build_handoff_share"])), _fmt(r["gap"], ".1e"),
                     _fmt(r["ruc_gap"], ".1e"), _fmt(r["maxrss_mb"], ".0f"),
                     f"{_fmt(r['load_before'], '.1f')}->{_fmt(r['load_after'], '.1f')}"))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head)] + [line(b) for b in body])


def summary_text(s: dict, gs: list[dict]) -> str:
    lines = [f"{s['cases']} cases ({s['ok']} ok, {s['timeouts']} timeout, {s['errors']} error): "
             f"median wall {_fmt(s['median_wall_s'])} s, max {_fmt(s['max_wall_s'])} s, "
             f"{s['over_60_s']} over {DAY_GOAL_S:g} s, {s['stopped_at_limit']} stopped at a "
             f"time limit, max RSS {_fmt(s['max_maxrss_mb'], '.0f')} MB"]
    for g in gs:
        state = "n/a (no case)" if g["met"] is None else ("met" if g["met"] else "NOT met")
        worst = g.get("worst")
        w = ("" if worst is None else f"; worst {worst:.1%}" if g["worst_column"] ==
             "build_handoff_share" else f"; worst {worst:.1f} s")
        fail = f"; failing: {', '.join(g['failing'])}" if g["failing"] else ""
        lines.append(f"goal {g['goal']} {g['target']}: {state} ({g['cases']} cases{w}){fail}")
    return "\n".join(lines)


def write_files(out: Path, stamp: str, doc: dict, rows: list[dict]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    js, cs = out / f"days-{stamp}.json", out / f"days-{stamp}.csv"
    js.write_text(json.dumps(finite_json(doc), indent=2, default=str, allow_nan=False) + "\n")
    with cs.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: "" if r.get(c) is None or (isinstance(r.get(c), float)
                                                       and math.isnan(r[c])) else r[c]
                        for c in COLUMNS})
    return [js, cs]


# ------------------------------------------------------------------------------- main --
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.days",
                                 description="day sample: imported RTS-GMLC days and stressed "
                                             "variants (benchmarks/README.md, 'Day sample')")
    ap.add_argument("--dates", default=DEFAULT_DATES,
                    help="'A..B' (both included), 'YYYY-MM' or a comma list (default "
                         "%(default)s)")
    ap.add_argument("--variants", default="base",
                    help="comma list of variant chains for every date: base, load120[:BAA], "
                         "units_out:BAA, ratings_half[:BAA], stressed:BAA, chained with '+' "
                         "(default: base)")
    ap.add_argument("--cases", default=None,
                    help="explicit comma list of harness cases instead of --dates x --variants "
                         "(day:<date>, rts_day, scenario:<folder>, ...; '+' variants)")
    ap.add_argument("--hours", type=int, default=None, help="truncate to hours 1..H")
    ap.add_argument("--gap", type=float, default=0.001, help="relative MIP gap")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="time limit of each MIP solve, s (the engine's time_limit_s)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="kill a case after this many seconds (default 3 x time limit + 600)")
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="output folder (default: %(default)s in the current directory)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    return ap


def main(argv: list[str] | None = None) -> int:
    from benchmarks.__main__ import parse_cases
    argv = list(sys.argv[1:] if argv is None else argv)
    a = build_parser().parse_args(argv)
    try:
        if a.cases:
            cases = parse_cases(a.cases)
        else:
            cases = parse_cases(",".join(day_cases(
                parse_dates(a.dates), [v.strip() for v in a.variants.split(",") if v.strip()])))
        if a.hours is not None and a.hours < 1:
            raise ValueError("--hours must be >= 1")
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    timeout = a.timeout if a.timeout is not None else 3 * a.time_limit + 600
    say = (lambda s: None) if a.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    head = ["python", "-m", "benchmarks.days"]
    doc = dict(description="day sample (benchmarks/days.py; benchmarks/README.md, 'Day sample')",
               command=shlex.join(head + argv), argv=argv, cwd=os.getcwd(),
               started=started.isoformat(timespec="seconds"), finished=None,
               options=dict(cases=cases, hours=a.hours, gap=a.gap, time_limit_s=a.time_limit,
                            timeout_s=timeout,
                            pythonhashseed=os.environ.get("PYTHONHASHSEED", "0")),
               machine=machine_info(), machine_after=None, versions=versions(),
               columns=COLUMNS)
    rows, details = [], []
    files: list[Path] = []
    for i, case in enumerate(cases, 1):
        spec = dict(case=case, engine="edam", hours=a.hours, seed=0, gap=a.gap,
                    time_limit=a.time_limit, tracemalloc=False)
        load0 = _load1()
        res = run_case(spec, timeout)
        row = case_row(case, res, load_before=load0, load_after=_load1(), gap=a.gap,
                       time_limit=a.time_limit, timeout=timeout)
        rows.append(row)
        details.append(dict(case=case, **{k: v for k, v in (res.get("detail") or {}).items()
                                          if k in ("completion", "warnings", "input_hash",
                                                   "manifest_timings", "stderr",
                                                   "traceback", "stage_trail")}))
        say(f"[{i}/{len(cases)}] {case}: {row['status']}"
            + (f", {row['completion']}, wall {_fmt(row['wall_s'])} s "
               f"(IFM {_fmt(row['ifm_solve_s'])} s, RUC {_fmt(row['ruc_solve_s'])} s), "
               f"RSS {_fmt(row['maxrss_mb'], '.0f')} MB"
               if row["status"] == "ok" else f": {row['error']} (last: {row['last_stage']})")
            + f", load {row['load_before']}->{row['load_after']}")
        # written after every case (the same pair of files): an interrupted run keeps its cases
        last = i == len(cases)
        doc.update(rows=rows, summary=summarise(rows), goals=goals(rows), details=details,
                   cases_done=i,
                   finished=(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                             if last else None),
                   machine_after=machine_info() if last else None)
        files = write_files(Path(a.out), stamp, doc, rows)
    s, gs = doc["summary"], doc["goals"]
    print(table(rows))
    print(summary_text(s, gs))
    print("written " + ", ".join(str(p) for p in files))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
