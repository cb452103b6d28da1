"""Files the harness writes besides bench.csv / bench.json: the Markdown table (`bench.md`,
with the command that made it) and a PNG of the chart.

The PNG: plotly writes static images only through `kaleido`, which is not a dependency; when
it is missing the chart's HTML is screenshot by headless Chromium instead (Debian's
`chromium`, which the CI machine installs for the report tests), and when neither is there
only `scaling.html` is written.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path


def finite_json(o):
    """NaN and infinities as null (recursively through dicts, lists and tuples): the results
    JSON files stay standard JSON."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite_json(v) for v in o]
    return o


def _num(x) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return math.nan
    return f


def _cell(x, spec: str) -> str:
    f = _num(x)
    return "–" if math.isnan(f) else format(f, spec)


def markdown_table(summary: list[dict]) -> str:
    """One row per (case, engine): size, the wall-time split, build + hand-off share, objective,
    gap (the IFM's), the RUC's HiGHS time, its ratio to the IFM's and its gap, memory (medians
    over the timed runs)."""
    head = ("| case | engine | runs | variables | binaries | rows | build s | hand-off s | "
            "solve s | pricing s | other s | wall s | (build + hand-off) / wall | objective | "
            "gap | RUC: HiGHS s | RUC / IFM HiGHS | RUC gap | max RSS MB |")
    lines = [head, "|---|---|" + "---:|" * 17]
    for s in summary:
        if not s.get("runs"):
            lines.append(f"| {s['case']} | {s['engine']} | 0 |" + " – |" * 16)
            continue
        wall = _num(s.get("wall_s"))
        share = (_num(s.get("build_s")) + _num(s.get("handoff_s"))) / wall if wall else math.nan
        lines.append(
            f"| {s['case']} | {s['engine']} | {s['runs']} | {_cell(s.get('variables'), ',.0f')} | "
            f"{_cell(s.get('binaries'), ',.0f')} | {_cell(s.get('constraints'), ',.0f')} | "
            f"{_cell(s.get('build_s'), '.2f')} | {_cell(s.get('handoff_s'), '.2f')} | "
            f"{_cell(s.get('solve_s'), '.2f')} | {_cell(s.get('pricing_s'), '.2f')} | "
            f"{_cell(s.get('other_s'), '.2f')} | {_cell(wall, '.2f')} | {_cell(share, '.1%')} | "
            f"{_cell(s.get('objective'), ',.2f')} | {_cell(s.get('gap'), '.2e')} | "
            f"{_cell(s.get('ruc_solve_s'), '.2f')} | {_cell(s.get('ruc_over_ifm_solve'), '.2f')} | "
            f"{_cell(s.get('ruc_gap'), '.2e')} | "
            f"{_cell(s.get('maxrss_mb'), ',.0f')} |")
    return "\n".join(lines)


def matches_table(matches: list[dict]) -> str:
    """Our objective against the recorded pglib-uc reference (benchmarks/reference_match.py)."""
    lines = ["| instance | gap target | ours: objective | ours: bound | reference: objective | "
             "reference: bound | rel. diff | within gap | bounds consistent |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for m in matches:
        lines.append(
            f"| {m['instance']} | {m['mip_rel_gap']:g} | {m['ours_objective']:,.2f} | "
            f"{m['ours_bound']:,.2f} | {m['reference_objective']:,.2f} | "
            f"{m['reference_bound']:,.2f} | {m['objective_rel_diff']:+.2e} | "
            f"{'yes' if m['match'] else 'NO'} | {'yes' if m['consistent'] else 'NO'} |")
    return "\n".join(lines)


def spread_table(spread: list[dict]) -> str:
    """Markdown: per case, each stage's min, max and max/min over the seeds."""
    lines = ["| case | engine | seeds | stage | min | max | max / min |",
             "|---|---|---|---|---:|---:|---:|"]
    for s in spread:
        for c, v in s["columns"].items():
            lines.append(f"| {s['case']} | {s['engine']} | {','.join(map(str, s['seeds']))} | "
                         f"{c} | {v['min']:.3g} | {v['max']:.3g} | {v['ratio']:.2f} |")
    return "\n".join(lines)


def write_markdown(path: Path, *, command: str, machine: dict, versions: dict, started: str,
                   summary: list[dict], matches: list[dict], options: dict,
                   redrawn: str | None = None, spread: list[dict] | None = None) -> None:
    """`bench.md`: what ran, where, with which stack, and the tables."""
    load = machine.get("load_average")
    text = [
        "# Benchmark results", "",
        f"Made by `{command}` on {started} (UTC)."
        + (f" Table and chart redrawn from bench.json by {redrawn} (UTC)." if redrawn else ""),
        "",
        f"Machine: {machine.get('cpus')} CPUs ({machine.get('cpu')}), "
        f"{machine.get('mem_gb')} GB, Python {machine.get('python')}; load average at the end "
        f"{load}. Stack: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ". "
        f"MIP gap {options.get('gap')}, time limit {options.get('time_limit_s')} s per MIP "
        f"solve, HiGHS on one thread.", "",
        "Times are medians over the timed runs, in seconds, and split the wall time without "
        "overlap (benchmarks/README.md, Metrics).", "",
        markdown_table(summary), ""]
    if spread:
        text += ["## Spread over seeds (max / min of the per-seed medians)", "",
                 spread_table(spread), ""]
    if matches:
        text += ["## pglib-uc: our objective against the recorded reference", "",
                 matches_table(matches), ""]
    path.write_text("\n".join(text))


def html_to_png(html: Path, png: Path, width: int = 1300, height: int = 620,
                timeout_s: float = 120.0) -> bool:
    """Screenshot `html` with headless Chromium into `png`; False when no browser is found or
    it fails (the HTML chart is then the only one)."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:
        return False
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
           html.resolve().as_uri()]
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return png.exists() and png.stat().st_size > 0
