"""The results contract (architecture.md, "Results contract"): tidy tables + manifest.

A run writes one directory atomically: `manifest.json` and one file per table (CSV by default,
Parquet on request). Each table is keyed by the columns named first in `RESULT_TABLES`, the one
place every table's key is declared: keys are unique in every table a run (or `edam settle`,
`edam rse`) writes, and `edam compare` matches rows on them (architecture.md, "Results
contract"). A table with several rows per key adds the distinguishing column to its key
(`binding_constraints`: kind; `settlement`: resource; the real-time tables: interval).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# table -> (key columns, value columns). Contract tables first, then the engine's extra tables.
# Every table the engine, `edam settle` and `edam rse` write is declared here with its key.
RESULT_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "schedules": (("resource", "hour"),
                  ("baa", "bus", "committed", "energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw",
                   "nonspin_mw", "iru_mw", "ird_mw", "rcu_mw", "rcd_mw")),
    "nodal_prices": (("bus", "hour"), ("baa", "lmp", "energy", "congestion", "loss")),
    "product_prices": (("baa", "product", "hour"), ("price_usd_per_mwh",)),
    "transfers": (("interface", "hour"), ("from_baa", "to_baa", "mw", "limit_mw", "shadow_price")),
    "baa_summary": (("baa", "hour"),
                    ("demand_mw", "generation_mw", "net_export_mw",
                     "iru_requirement_mw", "iru_cleared_mw", "iru_relaxed_mw",
                     "ird_requirement_mw", "ird_cleared_mw", "ird_relaxed_mw",
                     "rcu_requirement_mw", "rcu_cleared_mw", "rcu_relaxed_mw",
                     "rcd_requirement_mw", "rcd_cleared_mw", "rcd_relaxed_mw")),
    # one row per constraint, kind (etsr, nec, branch_base, branch_<deployment scenario>,
    # branch_ruc) and hour: a branch binds in several of them in the same hour
    "binding_constraints": (("constraint", "kind", "hour"), ("shadow_price", "flow_mw", "limit_mw")),
    "rse": (("baa", "test", "hour"),
            ("requirement_mw", "capacity_mw", "deficiency_mw", "passed", "tier", "surcharge_usd")),
    # resource is empty ("") on BAA- and SC-level lines
    "settlement": (("charge", "party", "resource", "baa", "hour"), ("quantity", "price", "amount_usd")),
    # engine tables beyond the contract
    "resource_prices": (("resource", "hour"),
                        ("baa", "bus", "iru_usd_per_mwh", "ird_usd_per_mwh", "rcu_usd_per_mwh",
                         "rcd_usd_per_mwh")),
    "relaxations": (("requirement", "baa", "hour"), ("relaxed_mw", "penalty_usd_per_mwh", "cost_usd")),
    "baa_prices": (("baa", "hour"), ("energy_price", "transfer_component", "elap_price",
                                     "ruc_price")),
    "ruc_transfers": (("interface", "hour"), ("from_baa", "to_baa", "mw", "rc_transfer_mw")),
    "mpm_test": (("baa", "product", "hour"), ("requirement_mw", "residual_supply_mw", "competitive",
                                               "pivotal_suppliers")),
    "mpm_mitigations": (("resource", "product"), ("sc", "baa", "original_price_usd_per_mwh",
                                                  "mitigated_price_usd_per_mwh", "reason")),
    # the RSE's other tables (clearing/rse.py; `edam rse` writes the last two as well)
    "rse_distribution": (("direction", "hour", "baa"), ("pool_usd", "net_transfer_mw", "share",
                                                        "credit_usd", "undistributed_usd")),
    "rse_ciso_suballocation": (("direction", "hour", "baa", "party"), ()),
    "rse_nec": (("baa", "hour"), ("nec_mw",)),
    # phase 3: the real-time (FMM) run, one row per 15-minute interval of the hour
    "rt_schedules": (("resource", "hour", "interval"), ()),
    "rt_prices": (("bus", "hour", "interval"), ()),
    "rt_product_prices": (("baa", "product", "hour", "interval"), ("price_usd_per_mwh",)),
    "rt_transfers": (("interface", "hour", "interval"), ()),
    "rt_baa_summary": (("baa", "hour", "interval"), ()),
    "rt_binding_constraints": (("constraint", "kind", "hour", "interval"),
                               ("shadow_price", "flow_mw", "limit_mw")),
    # phase 3: the settlement inputs the RT run produces (clearing/rt.py, clearing/settle.py)
    "settlement_inputs": (("resource", "hour"), ()),
    "metered_load": (("sc", "baa", "hour"), ("metered_load_mw",)),
    # the daily statement of `settle` (products/settlement_core.daily_statement)
    "statement": (("party", "charge"), ("lines", "quantity", "amount_usd")),
}


# tables whose writer's row order is kept (not sorted by key): the statement closes each party
# with its ``net`` line
KEEP_ROW_ORDER = frozenset({"statement"})


def table_keys(name: str) -> tuple[str, ...]:
    """The key columns of table `name` (empty for a table not declared in `RESULT_TABLES`)."""
    return RESULT_TABLES.get(name, ((), ()))[0]


def duplicate_key_rows(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Rows of `df` whose key (`table_keys(name)`) repeats an earlier row's, with their position
    (`row`: 0-based) in column ``_row``; empty when the keys are unique. Keys compare as written
    (NaN equals NaN, as an empty CSV cell does)."""
    keys = list(table_keys(name))
    if not keys or not len(df):
        return df.iloc[0:0].assign(_row=pd.Series(dtype="int64"))
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise KeyError(f"table {name}: key columns {missing} missing")
    dup = df.duplicated(keys, keep="first").to_numpy()
    return df.loc[dup].assign(_row=np.flatnonzero(dup))


@dataclass
class RunResult:
    """A finished run: tidy tables (pandas) and the manifest (a JSON-able dict)."""

    tables: dict[str, pd.DataFrame]
    manifest: dict = field(default_factory=dict)

    def __getattr__(self, item: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables")
        if tables is not None and item in tables:
            return tables[item]
        raise AttributeError(item)

    def write(self, out_dir: str | Path, fmt: str = "csv") -> Path:
        return write_run(self, out_dir, fmt)


def ordered(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract columns first (keys, then values), extra columns after; rows sorted by key."""
    keys, vals = RESULT_TABLES.get(name, ((), ()))
    first = [c for c in (*keys, *vals) if c in df.columns]
    rest = [c for c in df.columns if c not in first]
    out = df[first + rest]
    if keys and name not in KEEP_ROW_ORDER and all(k in out.columns for k in keys) and len(out):
        out = out.sort_values(list(keys), kind="stable")
    return out.reset_index(drop=True)


def write_run(result: RunResult, out_dir: str | Path, fmt: str = "csv") -> Path:
    """Write tables and manifest to `out_dir` atomically (temp dir, then rename)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a run/scenario folder is for others to read
    try:
        for name, df in result.tables.items():
            df = ordered(name, df)
            if fmt == "csv":
                df.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n",
                          float_format="%.10g")
            else:
                df.to_parquet(tmp / f"{name}.parquet", index=False)
        manifest = dict(result.manifest)
        manifest["format"] = fmt
        manifest["tables"] = sorted(result.tables)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                      default=str))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_run(run_dir: str | Path) -> RunResult:
    """Read a run directory back (CSV or Parquet, whichever is there)."""
    d = Path(run_dir)
    manifest = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").exists() else {}
    tables = {}
    for f in sorted(d.iterdir()):
        if f.suffix == ".csv":
            tables[f.stem] = pd.read_csv(f)
        elif f.suffix == ".parquet":
            tables[f.stem] = pd.read_parquet(f)
    return RunResult(tables=tables, manifest=manifest)
