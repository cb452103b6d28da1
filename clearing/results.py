"""The results contract (architecture.md, "Results contract"): tidy tables + manifest.

A run writes one directory atomically: `manifest.json` and one file per table (CSV by default,
Parquet on request). Each table is keyed by the columns named first in `RESULT_TABLES`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# table -> (key columns, value columns). Contract tables first, then the engine's extra tables.
RESULT_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "schedules": (("resource", "hour"),
                  ("baa", "bus", "committed", "energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw",
                   "nonspin_mw", "iru_mw", "ird_mw", "rcu_mw", "rcd_mw")),
    "nodal_prices": (("bus", "hour"), ("baa", "lmp", "energy", "congestion", "loss")),
    "product_prices": (("baa", "product", "hour"), ("price_usd_per_mwh",)),
    "transfers": (("interface", "hour"), ("from_baa", "to_baa", "mw", "limit_mw", "shadow_price",
                                           "transfer_revenue_usd")),
    "baa_summary": (("baa", "hour"),
                    ("demand_mw", "generation_mw", "net_export_mw",
                     "iru_requirement_mw", "iru_cleared_mw", "iru_relaxed_mw",
                     "ird_requirement_mw", "ird_cleared_mw", "ird_relaxed_mw",
                     "rcu_requirement_mw", "rcu_cleared_mw", "rcu_relaxed_mw",
                     "rcd_requirement_mw", "rcd_cleared_mw", "rcd_relaxed_mw")),
    "binding_constraints": (("constraint", "hour"), ("kind", "shadow_price", "flow_mw", "limit_mw")),
    "rse": (("baa", "test", "hour"),
            ("requirement_mw", "capacity_mw", "deficiency_mw", "passed", "tier", "surcharge_usd")),
    "settlement": (("charge", "party", "baa", "hour"), ("quantity", "price", "amount_usd")),
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
}


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
    if keys and all(k in out.columns for k in keys) and len(out):
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
