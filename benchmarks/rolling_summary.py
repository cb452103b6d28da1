"""A rolling store's per-day table (issue 21): `python -m benchmarks.rolling_summary STORE
--out DIR [--command TEXT ...] [--note TEXT ...]` writes DIR/days.csv and DIR/README.md.

One row per day of the store's current rolling chain (catalogue `rolling_current`), in date
order: date, run id, the day's wall time (manifest `store.wall_s`: the solve, not the store
writing), IFM objective, MIP gap, RSE passed and failed rows per BAA, average LMP per BAA,
transfers (MWh); then the totals. `--command` lines are quoted in the README as the commands
that made the store; `--note` lines are added as paragraphs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COLUMNS = ["trade_date", "rolling_day", "run_id", "wall_s", "objective", "mip_gap",
           "rse_passed", "rse_failures_CISO", "rse_failures_PACW", "rse_failures_PGE",
           "avg_lmp_CISO", "avg_lmp_PACW", "avg_lmp_PGE", "transfer_mwh"]


def main(argv: list[str] | None = None) -> int:
    from clearing.runs.store import query_runs
    ap = argparse.ArgumentParser(prog="python -m benchmarks.rolling_summary")
    ap.add_argument("store")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", action="append", default=[])
    ap.add_argument("--note", action="append", default=[])
    a = ap.parse_args(argv)
    df = query_runs(a.store)
    df = df[(df["status"] == "done") & df["rolling_current"].fillna(False).astype(bool)]
    df = df.sort_values("trade_date")[[c for c in COLUMNS if c in df.columns]]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "days.csv", index=False, float_format="%.6g")
    fmt = {"wall_s": "{:.0f}", "objective": "{:,.0f}", "mip_gap": "{:.4%}",
           "avg_lmp_CISO": "{:.2f}", "avg_lmp_PACW": "{:.2f}", "avg_lmp_PGE": "{:.2f}",
           "transfer_mwh": "{:,.0f}"}
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    rows = "".join("| " + " | ".join(
        (fmt[c].format(v) if c in fmt and v == v and v is not None else str(v))
        for c, v in r.items()) + " |\n" for r in df.to_dict("records"))
    failed = df.loc[~df["rse_passed"].fillna(True).astype(bool), "trade_date"].tolist()
    text = (f"# Rolling run: {len(df)} days, {df['trade_date'].iloc[0]} to "
            f"{df['trade_date'].iloc[-1]}\n\nMade by `benchmarks/rolling_summary.py` from the "
            "store's catalogue (its docstring defines the columns). The store itself is not "
            "committed.\n\n```bash\n" + "\n".join(a.command) + "\n```\n\n"
            + "".join(n + "\n\n" for n in a.note)
            + head + rows
            + f"\nTotal day wall time {df['wall_s'].sum():,.0f} s "
              f"({df['wall_s'].sum() / 60:.1f} min); days failing the RSE: "
            + (", ".join(failed) if failed else "none") + ".\n")
    (out / "README.md").write_text(text)
    print(out / "README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
