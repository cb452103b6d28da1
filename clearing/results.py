"""The results contract (architecture.md, "Results contract"): tidy tables + manifest.

A run writes one directory atomically: `manifest.json` and one file per table (CSV by default,
Parquet on request). Each table is keyed by the columns named first in `RESULT_TABLES`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from clearing.outputs import RunFolderError, output_kind, write_output_dir  # noqa: F401

# table -> (key columns, value columns). Contract tables first, then the engine's extra tables.
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

    def write(self, out_dir: str | Path, fmt: str = "csv", *, overwrite: bool = False,
              forbid_inside: Iterable[str | Path] = ()) -> Path:
        """Write the run folder (see `write_run`)."""
        return write_run(self, out_dir, fmt, overwrite=overwrite, forbid_inside=forbid_inside)


def ordered(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract columns first (keys, then values), extra columns after; rows sorted by key."""
    keys, vals = RESULT_TABLES.get(name, ((), ()))
    first = [c for c in (*keys, *vals) if c in df.columns]
    rest = [c for c in df.columns if c not in first]
    out = df[first + rest]
    if keys and all(k in out.columns for k in keys) and len(out):
        out = out.sort_values(list(keys), kind="stable")
    return out.reset_index(drop=True)


def write_run(result: RunResult, out_dir: str | Path, fmt: str = "csv", *,
              overwrite: bool = False, forbid_inside: Iterable[str | Path] = ()) -> Path:
    """Write tables and manifest to `out_dir` atomically (clearing.outputs.write_output_dir).

    An existing `out_dir` is replaced only if it is a run folder and `overwrite` is set; any
    other existing target, or one inside a folder of `forbid_inside` (the scenario's), is
    refused with `OutputPathError` before anything is written."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")

    def fill(tmp: Path) -> None:
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

    return write_output_dir(out_dir, "run", fill, overwrite=overwrite,
                            forbid_inside=forbid_inside)


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


def read_run_folder(run_dir: str | Path) -> RunResult:
    """Read a folder that must be a run (manifest.json and a schedules table), else raise
    `RunFolderError` with one line saying what was found (e.g. for --commitment-from)."""
    d = Path(run_dir)
    if not d.is_dir():
        found = "a file" if d.exists() else "no such folder"
        raise RunFolderError(f"{str(run_dir)!r}: {found}; expected a run folder "
                             "(manifest.json and schedules)")
    has_schedules = any((d / f"schedules.{ext}").is_file() for ext in ("csv", "parquet"))
    if output_kind(d) != "run" or not has_schedules:
        raise RunFolderError(f"{str(run_dir)!r} is not a run folder (no manifest.json of a run "
                             "or no schedules table); expected the --out folder of edam solve")
    try:
        run = read_run(d)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{str(run_dir)!r}: unreadable run ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    missing = {"resource", "hour", "committed"} - set(run.tables["schedules"].columns)
    if missing:
        raise RunFolderError(f"{str(run_dir)!r}: schedules without column(s) "
                             f"{', '.join(sorted(missing))}; expected a run's schedules table")
    return run
