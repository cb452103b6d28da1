"""Import OASIS-style long CSVs into reference-results tables (docs/validation.md).

An OASIS report has one price (or quantity) per row. Recognised columns (case-insensitive):

| role | column names |
|---|---|
| node | NODE, NODE_ID, PNODE, PNODE_ID, BUS |
| area | BAA, TAC_AREA_NAME, ANC_REGION, BAA_ID |
| interval start / end (UTC) | INTERVALSTARTTIME_GMT, INTERVALENDTIME_GMT |
| or trade date and hour | OPR_DT, OPR_HR (hour-ending, used only without interval times) |
| market run | MARKET_RUN_ID (only `market_run`, default DAM, is kept) |
| price component | LMP_TYPE or XML_DATA_ITEM: LMP, MCE, MCC, MCL (or LMP_PRC, LMP_ENE_PRC, |
|  | LMP_CONG_PRC, LMP_LOSS_PRC); MGHG / LMP_GHG_PRC rows are skipped |
| product | ANC_TYPE, PRODUCT, RESERVE_TYPE: RU, RD, SR, NR, IRU, IRD, RCU, RCD (or REG_UP, |
|  | REG_DOWN, SPIN, NON_SPIN) |
| value | VALUE, PRC, PRICE, MW (OASIS prints prices in a column called MW) |

Rows become:
- `nodal_prices` (bus, hour, baa, lmp, energy, congestion, loss) from rows with a node and a
  price component (LMP = lmp, MCE = energy, MCC = congestion, MCL = loss); a missing LMP is the
  sum of the components given;
- `product_prices` (baa, product, hour, price_usd_per_mwh) from rows with a product;
- `baa_prices` (baa, hour, elap_price, energy_price) from rows with an area and an LMP/MCE
  component but no node.

Hour: hour-ending in the trade date's local prevailing time, `hour = floor((start − local
midnight of the trade date) / 1 h) + 1`, i.e. the interval's local start hour + 1 on a normal day
(a 00:00–01:00 PDT interval is hour 1); on the spring-forward day the hours run 1..23 and on the
fall-back day 1..25, as the engine's hours do (spec: H = 23 or 25). Sub-hourly intervals are
averaged into their hour.

Every input row is accounted for: `rows_read = rows_used + sum(skipped.values())`, where
`skipped` counts the rows left out by reason (`SKIP_REASONS`: another market run, another trade
date, an unreadable interval time or hour, a value that is not a number, a GHG component, a
BAA-level congestion or loss component, or nothing recognised). The counts are in the
reference's manifest (`import`) and printed by `edam import-oasis`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from clearing.results import RunResult, write_run
from scenarios.errors import Problem, ScenarioError

DEFAULT_TIMEZONE = "America/Los_Angeles"

NODE_COLUMNS = ("node", "node_id", "pnode", "pnode_id", "bus")
AREA_COLUMNS = ("baa", "tac_area_name", "anc_region", "baa_id")
COMPONENT_COLUMNS = ("lmp_type", "xml_data_item")
PRODUCT_COLUMNS = ("anc_type", "product", "reserve_type")
VALUE_COLUMNS = ("value", "prc", "price", "mw")
COMPONENTS = {"LMP": "lmp", "LMP_PRC": "lmp", "MCE": "energy", "LMP_ENE_PRC": "energy",
              "MCC": "congestion", "LMP_CONG_PRC": "congestion", "MCL": "loss",
              "LMP_LOSS_PRC": "loss"}
SKIPPED_COMPONENTS = {"MGHG", "LMP_GHG_PRC", "GHG"}
PRODUCTS = {"RU": "ru", "REG_UP": "ru", "RD": "rd", "REG_DOWN": "rd", "REG_DN": "rd", "SR": "sr",
            "SPIN": "sr", "NR": "nr", "NON_SPIN": "nr", "NONSPIN": "nr", "IRU": "iru",
            "IRD": "ird", "RCU": "rcu", "RCD": "rcd"}


#: why an input row was not used (keys of the import statistics' `skipped`)
SKIP_REASONS = {
    "other_market_run": "another market run (MARKET_RUN_ID)",
    "other_date": "outside the trade date",
    "bad_time": "interval time or hour not readable",
    "bad_value": "value not a number",
    "ghg_component": "GHG component (no column in the contract)",
    "baa_component": "BAA-level congestion/loss component (baa_prices keeps LMP and energy)",
    "unrecognised": "no node or area with a known price component or product",
}


def _pick(cols: dict[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in cols:
            return cols[n]
    return None


def hour_ending(start_utc: pd.Series, trade_date: str, tz: str = DEFAULT_TIMEZONE) -> pd.Series:
    """Hour-ending in local prevailing time of `trade_date` for interval starts given in UTC:
    whole hours since local midnight + 1 (= local start hour + 1 on a normal day)."""
    start = pd.to_datetime(start_utc, utc=True, errors="coerce")
    midnight = pd.Timestamp(trade_date).tz_localize(tz).tz_convert("UTC")
    return (np.floor((start - midnight) / pd.Timedelta(hours=1)) + 1).astype("Int64")


def day_hours(trade_date: str, tz: str = DEFAULT_TIMEZONE) -> int:
    """Hours in the local trade date (23, 24 or 25)."""
    a = pd.Timestamp(trade_date).tz_localize(tz)
    b = (pd.Timestamp(trade_date) + pd.Timedelta(days=1)).tz_localize(tz)
    return int((b - a) / pd.Timedelta(hours=1))


def read_oasis(csv_paths, trade_date: str, tz: str = DEFAULT_TIMEZONE,
               market_run: str = "DAM") -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse OASIS long CSVs into contract tables; returns (tables, import statistics)."""
    if isinstance(csv_paths, (str, Path)):
        csv_paths = [csv_paths]
    frames, stats = [], {"files": [], "rows_read": 0}
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    H = day_hours(trade_date, tz)
    for path in csv_paths:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ScenarioError(Problem(str(path), None, None, f"unreadable ({exc})",
                                        "an OASIS CSV file")) from None
        stats["files"].append(str(path))
        stats["rows_read"] += len(df)
        cols = {c.strip().lower(): c for c in df.columns}
        val_col = _pick(cols, VALUE_COLUMNS)
        if val_col is None:
            raise ScenarioError(Problem(str(path), 1, None, "no value column",
                                        "one of " + ", ".join(c.upper() for c in VALUE_COLUMNS)))
        out = pd.DataFrame(index=df.index)
        out["value"] = pd.to_numeric(df[val_col], errors="coerce")
        for role, names in (("node", NODE_COLUMNS), ("area", AREA_COLUMNS),
                            ("component", COMPONENT_COLUMNS), ("product", PRODUCT_COLUMNS)):
            c = _pick(cols, names)
            out[role] = df[c].str.strip() if c is not None else ""
        run_col = _pick(cols, ("market_run_id",))
        if run_col is not None:
            keep = df[run_col].str.strip().str.upper() == market_run.upper()
            skipped["other_market_run"] += int((~keep).sum())
            out, df = out[keep], df[keep]
        start_col = _pick(cols, ("intervalstarttime_gmt", "interval_start_gmt", "start_time_gmt"))
        other_day = pd.Series(False, index=out.index)
        if start_col is not None:
            out["hour"] = hour_ending(df[start_col], trade_date, tz)
        elif _pick(cols, ("opr_hr",)) is not None:
            hr = pd.to_numeric(df[_pick(cols, ("opr_hr",))], errors="coerce")
            hr = hr.where(hr == hr.round()).astype("Int64")
            dt_col = _pick(cols, ("opr_dt",))
            if dt_col is not None:
                day = pd.to_datetime(df[dt_col], errors="coerce")
                other_day = day.notna() & (day.dt.strftime("%Y-%m-%d") !=
                                           pd.Timestamp(trade_date).strftime("%Y-%m-%d"))
                hr = hr.where(day.notna())
            out["hour"] = hr
        else:
            raise ScenarioError(Problem(str(path), 1, None, "no interval time column",
                                        "INTERVALSTARTTIME_GMT (or OPR_DT and OPR_HR)"))
        bad_time = out["hour"].isna() & ~other_day
        inday = ~bad_time & ~other_day & (out["hour"] >= 1) & (out["hour"] <= H)
        skipped["bad_time"] += int(bad_time.sum())
        skipped["other_date"] += int((~inday & ~bad_time).sum())
        out = out[inday]
        bad_value = out["value"].isna()
        skipped["bad_value"] += int(bad_value.sum())
        frames.append(out[~bad_value])
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["value", "node", "area", "component", "product", "hour"])
    rows["hour"] = rows["hour"].astype(int)
    comp = rows["component"].str.upper()
    prod = rows["product"].str.upper()
    tables: dict[str, pd.DataFrame] = {}

    # nodal prices
    is_node = (rows["node"] != "") & comp.isin(COMPONENTS) & (prod == "")
    nod = rows[is_node].assign(component=comp[is_node].map(COMPONENTS))
    if len(nod):
        area = nod.groupby("node")["area"].agg(lambda s: next((v for v in s if v), ""))
        piv = nod.pivot_table(index=["node", "hour"], columns="component", values="value",
                              aggfunc="mean")
        for c in ("lmp", "energy", "congestion", "loss"):
            if c not in piv.columns:
                piv[c] = np.nan
        parts = piv[["energy", "congestion", "loss"]]
        piv["lmp"] = piv["lmp"].fillna(parts.sum(axis=1, min_count=1))
        piv = piv.reset_index().rename(columns={"node": "bus"})
        piv.columns.name = None
        piv["baa"] = piv["bus"].map(area).replace("", np.nan)
        tables["nodal_prices"] = piv[["bus", "hour", "baa", "lmp", "energy", "congestion", "loss"]]
    # product prices
    is_prod = (prod.isin(PRODUCTS)) & (rows["area"] != "")
    pr = rows[is_prod].assign(product=prod[is_prod].map(PRODUCTS))
    if len(pr):
        tables["product_prices"] = pr.groupby(["area", "product", "hour"], as_index=False)[
            "value"].mean().rename(columns={"area": "baa", "value": "price_usd_per_mwh"})
    # BAA-level prices (ELAP)
    is_baa = (rows["node"] == "") & (rows["area"] != "") & comp.isin(COMPONENTS) & (prod == "")
    bp = rows[is_baa].assign(component=comp[is_baa].map(COMPONENTS))
    baa_component = is_baa & ~comp.map(COMPONENTS).isin(["lmp", "energy"])
    is_baa = is_baa & ~baa_component
    bp = bp[bp["component"].isin(["lmp", "energy"])]
    if len(bp):
        piv = bp.pivot_table(index=["area", "hour"], columns="component", values="value",
                             aggfunc="mean").reset_index().rename(
            columns={"area": "baa", "lmp": "elap_price", "energy": "energy_price"})
        tables["baa_prices"] = piv
    used = is_node | is_prod | is_baa
    ghg = ~used & comp.isin(SKIPPED_COMPONENTS)
    skipped["ghg_component"] += int(ghg.sum())
    skipped["baa_component"] += int((baa_component & ~used).sum())
    skipped["unrecognised"] += int((~used & ~ghg & ~baa_component).sum())
    stats["rows_used"] = int(used.sum())
    stats["skipped"] = skipped
    # the names of earlier versions, kept for readers of older manifests
    stats["dropped_other_market_run"] = skipped["other_market_run"]
    stats["dropped_other_date"] = skipped["other_date"]
    stats["dropped_unrecognised"] = skipped["unrecognised"]
    assert stats["rows_read"] == stats["rows_used"] + sum(skipped.values()), stats
    return tables, stats


def import_oasis(csv_paths, out_dir, trade_date: str, tz: str = DEFAULT_TIMEZONE,
                 market_run: str = "DAM", *, overwrite: bool = False) -> Path:
    """Import OASIS long CSVs into a reference folder `out_dir` (contract tables + manifest);
    an earlier reference folder there is replaced only with `overwrite` (docs/outputs.md)."""
    tables, stats = read_oasis(csv_paths, trade_date, tz, market_run)
    if not tables:
        raise ScenarioError(Problem(", ".join(map(str, stats["files"])), None, None,
                                    f"no usable row of {stats['rows_read']} ({_skips(stats)})",
                                    "OASIS price rows of the trade date (columns: "
                                    "docs/cli.md#import-oasis)"))
    manifest = {"source": "oasis", "trade_date": trade_date, "timezone": tz,
                "market_run": market_run,
                "hour_rule": "hour-ending = whole hours since local midnight of the trade date "
                             "+ 1 (local start hour + 1)", "import": stats}
    return write_run(RunResult(tables=tables, manifest=json.loads(json.dumps(manifest))), out_dir,
                     overwrite=overwrite)


def oasis_command(csv_paths, out_dir, trade_date: str, timezone: str = DEFAULT_TIMEZONE,
                  market_run: str = "DAM", overwrite: bool = False) -> int:
    """`edam import-oasis CSV... --out DIR --trade-date D [--timezone TZ] [--overwrite]`."""
    from clearing.outputs import check_output_target
    check_output_target(out_dir, "run", overwrite=overwrite)  # before reading the CSVs
    out = import_oasis(csv_paths, out_dir, trade_date, timezone, market_run, overwrite=overwrite)
    m = json.loads((out / "manifest.json").read_text())
    s = m["import"]
    print(f"{out}: {', '.join(m['tables'])} from {s['rows_used']} of {s['rows_read']} rows")
    for reason, n in s["skipped"].items():
        if n:
            print(f"  skipped {n} row{'s' if n != 1 else ''}: {SKIP_REASONS[reason]}")
    return 0


def _skips(stats: dict) -> str:
    parts = [f"{n} {SKIP_REASONS[k]}" for k, n in stats["skipped"].items() if n]
    return "skipped: " + "; ".join(parts) if parts else "empty input"


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="edam import-oasis", description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--trade-date", required=True)
    ap.add_argument("--timezone", default=DEFAULT_TIMEZONE)
    ap.add_argument("--market-run", default="DAM")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    return oasis_command(a.csv, a.out, a.trade_date, a.timezone, a.market_run,
                         overwrite=a.overwrite)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
