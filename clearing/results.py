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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from clearing.outputs import RunFolderError, output_kind, write_output_dir  # noqa: F401

# table -> (key columns, value columns). Contract tables first, then the engine's extra tables.
# Every table the engine, `edam settle` and `edam rse` write is declared here with its key.
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
    # marginal losses per BAA and hour (empty without marginal_losses)
    "losses": (("baa", "hour"), ("loss_mw", "loss_withdrawn_mw", "quadratic_loss_mw")),
    "mpm_test": (("baa", "product", "hour"), ("requirement_mw", "residual_supply_mw", "competitive",
                                               "pivotal_suppliers")),
    # hour 0: a mitigation of every hour (ir_rc, cap_all); lmpm mitigates per hour
    "mpm_mitigations": (("resource", "product", "hour"),
                        ("sc", "baa", "original_price_usd_per_mwh", "mitigated_price_usd_per_mwh",
                         "reason")),
    # lmpm: the binding rows of the MPM passes and their counter-flow test, per product
    "mpm_constraints": (("constraint", "kind", "hour", "product"),
                        ("shadow_price", "counterflow_needed_mw", "residual_supply_mw",
                         "competitive")),
    # the RSE's other tables (clearing/market/rse.py; `edam rse` writes the last two as well)
    "rse_distribution": (("direction", "hour", "baa"), ("pool_usd", "net_transfer_mw", "share",
                                                        "credit_usd", "undistributed_usd")),
    "rse_ciso_suballocation": (("direction", "hour", "baa", "party"), ()),
    "rse_nec": (("baa", "hour"), ("nec_mw",)),
    # GHG attribution (§5.13), only with ghg_areas: per bid, per area, the reference dispatch
    "ghg_attribution": (("resource", "area", "hour"),
                        ("attributed_mw", "adder_usd_per_mwh", "headroom_mw", "reference_mw",
                         "ghg_payment_usd")),
    "ghg_prices": (("area", "hour"), ("ghg_price_usd_per_mwh", "net_import_mw",
                                      "attributed_mw", "attributed_emissions_t")),
    "ghg_reference": (("resource", "hour"), ("baa", "reference_mw", "headroom_mw")),
    # phase 3: the real-time (FMM) run, one row per 15-minute interval of the hour
    "rt_schedules": (("resource", "hour", "interval"), ()),
    "rt_prices": (("bus", "hour", "interval"), ()),
    "rt_product_prices": (("baa", "product", "hour", "interval"), ("price_usd_per_mwh",)),
    "rt_transfers": (("interface", "hour", "interval"), ()),
    "rt_baa_summary": (("baa", "hour", "interval"), ()),
    "rt_ghg_attribution": (("resource", "area", "hour", "interval"), ()),
    "rt_ghg_prices": (("area", "hour", "interval"), ()),
    "rt_binding_constraints": (("constraint", "kind", "hour", "interval"),
                               ("shadow_price", "flow_mw", "limit_mw")),
    # phase 3: the settlement inputs the RT run produces (clearing/market/rt.py, clearing/analysis/settle.py)
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


# --- column types: declared once, used by write_run, read_run and the DuckDB views -----------
#: the kinds a results column can have, as pandas dtypes and as DuckDB types
KIND_PANDAS = {"str": "str", "int": "int64", "float": "float64", "bool": "bool"}
KIND_DUCKDB = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN"}


def _kinds(spec: str) -> dict[str, str]:
    """'a:str b:int' -> {'a': 'str', 'b': 'int'} (compact declaration, see COLUMN_TYPES)."""
    return dict(item.split(":") for item in spec.split())


_SCHEDULE_FLOATS = ("energy_mw reg_up_mw reg_down_mw spin_mw nonspin_mw iru_mw ird_mw rcu_mw "
                    "rcd_mw soc_mwh charge_mw discharge_mw")
_BAA_SUMMARY_FLOATS = " ".join(
    ["demand_mw", "generation_mw", "net_export_mw", "export_mw", "virtual_net_mw",
     "power_balance_relaxed_mw", "demand_forecast_mw", "loss_mw", "ghg_secondary_dispatch_mw"]
    + [f"{p}_{k}_mw" for p in ("iru", "ird", "rcu", "rcd")
       for k in ("requirement", "cleared", "relaxed")])
_PRICE_FLOATS = "lmp energy congestion loss ghg baa_transfer network_congestion"


def _floats(names: str) -> str:
    return " ".join(f"{n}:float" for n in names.split())


#: table -> column -> kind ('str', 'int', 'float', 'bool') of every table a run, `edam rse` or
#: `edam settle` writes (contract columns and the engine's extra columns). Ids are text even
#: when they look like numbers (and 'NA' is a name, not a missing value); hours and intervals
#: are integers; flags are booleans; missing text is NaN. Undeclared columns: pandas' inference.
COLUMN_TYPES: dict[str, dict[str, str]] = {name: _kinds(spec) for name, spec in {
    "schedules": "resource:str hour:int baa:str bus:str committed:int ruc_committed:int "
                 "type:str sc:str rcu_proxy:bool rcd_proxy:bool " + _floats(_SCHEDULE_FLOATS),
    "nodal_prices": "bus:str hour:int baa:str " + _floats(_PRICE_FLOATS),
    "product_prices": "baa:str product:str hour:int price_usd_per_mwh:float",
    "transfers": "interface:str hour:int from_baa:str to_baa:str " + _floats(
        "mw limit_mw shadow_price net_mw base_transfer_mw iru_transfer_mw ird_transfer_mw "
        "etsr_dual gross_bound_dual transfer_revenue_usd"),
    "baa_summary": "baa:str hour:int " + _floats(_BAA_SUMMARY_FLOATS),
    "binding_constraints": "constraint:str hour:int kind:str " + _floats(
        "shadow_price flow_mw limit_mw"),
    "rse": "baa:str test:str hour:int passed:bool tier:int direction:str price_source:str "
           "binding_test:str " + _floats(
               "requirement_mw capacity_mw deficiency_mw surcharge_usd de_minimis_mw "
               "tier_basis_mw price_usd_per_mwh"),
    "rse_distribution": "direction:str hour:int baa:str eligible:bool " + _floats(
        "pool_usd net_transfer_mw share credit_usd undistributed_usd"),
    "rse_ciso_suballocation": "direction:str hour:int baa:str party:str " + _floats(
        "metered_demand_mw etc_tor_mw charge_basis_mw charge_usd charge_rate_usd_per_mwh "
        "credit_basis_mw credit_usd credit_rate_usd_per_mwh"),
    "rse_nec": "baa:str hour:int enabled:bool source:str " + _floats(
        "nec_mw supply_mw obligation_mw"),
    "settlement": "charge:str party:str baa:str hour:int resource:str " + _floats(
        "quantity price amount_usd"),
    "statement": "party:str charge:str lines:int " + _floats("quantity amount_usd"),
    "settlement_inputs": "resource:str hour:int baa:str sc:str type:str " + _floats(
        "daen_mw fmm_schedule_mw fmm_max_ex_cap_mw fmm_uel_mw fmm_lel_mw uie_mw metered_mw "
        "etag_mw iru5_mw ird5_mw fmm_fru_price_usd_per_mwh fmm_frd_price_usd_per_mwh "
        "fru_uncertainty_mw"),
    "metered_load": "sc:str baa:str hour:int metered_load_mw:float",
    "resource_prices": "resource:str hour:int baa:str bus:str " + _floats(
        "iru_usd_per_mwh ird_usd_per_mwh rcu_usd_per_mwh rcd_usd_per_mwh"),
    "relaxations": "requirement:str baa:str hour:int " + _floats(
        "relaxed_mw penalty_usd_per_mwh cost_usd"),
    "baa_prices": "baa:str hour:int " + _floats(
        "energy_price transfer_component elap_price ruc_price"),
    "ruc_transfers": "interface:str hour:int from_baa:str to_baa:str " + _floats(
        "mw rc_transfer_mw"),
    "losses": "baa:str hour:int " + _floats("loss_mw loss_withdrawn_mw quadratic_loss_mw"),
    "ghg_attribution": "resource:str area:str hour:int baa:str sc:str " + _floats(
        "bid_mw adder_usd_per_mwh attributed_mw headroom_mw reference_mw "
        "ghg_price_usd_per_mwh ghg_payment_usd emissions_t"),
    "ghg_prices": "area:str hour:int reference:str " + _floats(
        "ghg_price_usd_per_mwh net_import_mw attributed_mw attributed_emissions_t "
        "ghg_payment_usd"),
    "ghg_reference": "resource:str hour:int baa:str type:str " + _floats(
        "reference_mw pmax_mw headroom_mw"),
    "mpm_test": "baa:str product:str hour:int is_edam:bool competitive:bool n_suppliers:int "
                "largest_suppliers:str pivotal_suppliers:str supply_by_supplier:str " + _floats(
                    "requirement_mw total_supply_mw largest_supply_mw residual_supply_mw"),
    "mpm_mitigations": "resource:str product:str hour:int sc:str baa:str reason:str "
                       "failing_hours:str iso_inserted:bool constraints:str pivotal_test:str "
                       + _floats("original_price_usd_per_mwh mitigated_price_usd_per_mwh mw "
                                 "ncc_usd_per_mwh mpm_price_usd_per_mwh "
                                 "competitive_price_usd_per_mwh"),
    "mpm_constraints": "constraint:str kind:str hour:int product:str stage:str source:str "
                       "n_suppliers:int largest_suppliers:str competitive:bool "
                       "pivotal_suppliers:str supply_by_supplier:str " + _floats(
                           "shadow_price flow_mw limit_mw counterflow_needed_mw "
                           "counterflow_supply_mw largest_supply_mw residual_supply_mw"),
    "rt_schedules": "resource:str hour:int interval:int baa:str bus:str committed:int type:str "
                    "sc:str rt_role:str " + _floats(
                        "energy_mw fru_mw frd_mw uel_mw lel_mw max_ex_cap_mw soc_mwh charge_mw "
                        "discharge_mw"),
    "rt_prices": "bus:str hour:int interval:int baa:str " + _floats(_PRICE_FLOATS),
    "rt_ghg_attribution": "resource:str area:str hour:int interval:int baa:str sc:str "
                          + _floats("bid_mw adder_usd_per_mwh attributed_mw da_attributed_mw "
                                    "headroom_mw reference_mw ghg_price_usd_per_mwh "
                                    "ghg_payment_usd deviation_payment_usd emissions_t"),
    "rt_ghg_prices": "area:str hour:int interval:int reference:str " + _floats(
        "ghg_price_usd_per_mwh net_import_mw attributed_mw attributed_emissions_t "
        "ghg_payment_usd"),
    "rt_product_prices": "baa:str product:str hour:int interval:int price_usd_per_mwh:float",
    "rt_transfers": "interface:str hour:int interval:int from_baa:str to_baa:str " + _floats(
        "mw limit_mw shadow_price net_mw base_transfer_mw"),
    "rt_baa_summary": "baa:str hour:int interval:int " + _floats(
        "demand_mw fixed_demand_mw generation_mw load_resources_mw export_mw net_export_mw "
        "power_balance_relaxed_mw injection_mw fru_requirement_mw fru_cleared_mw "
        "fru_awarded_mw frd_requirement_mw frd_cleared_mw frd_awarded_mw energy_price "
        "fru_price frd_price"),
    "rt_binding_constraints": "constraint:str hour:int interval:int kind:str " + _floats(
        "shadow_price flow_mw limit_mw"),
}.items()}


def column_kind(table: str, column: str) -> str | None:
    """The declared kind of `table.column` (COLUMN_TYPES), or None if it is not declared."""
    return COLUMN_TYPES.get(table, {}).get(column)


def _as_bool(values: pd.Series) -> pd.Series:
    """Booleans from bool, 0/1 or 'True'/'False' text (CSV)."""
    if values.dtype == bool:
        return values
    text = values.map(lambda v: str(v).strip().lower())
    return text.isin(("true", "1", "1.0", "t", "yes"))


def typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """`df` with every declared column cast to its COLUMN_TYPES kind: text ids as str (missing
    or empty text = NaN, as a CSV cannot tell them apart), hours as int64, flags as bool,
    quantities as float64 with -0.0 made 0.0."""
    kinds = COLUMN_TYPES.get(name, {})
    out = df.copy()
    for c in out.columns:
        kind = kinds.get(c)
        if kind == "str":
            out[c] = out[c].map(lambda v: np.nan if v is None or v == "" or (
                isinstance(v, float) and v != v) else str(v)).astype("str")
        elif kind == "int":
            num = pd.to_numeric(out[c])
            out[c] = num.astype("int64" if not num.isna().any() else "Int64")
        elif kind == "bool":
            out[c] = _as_bool(out[c]).astype(bool)
        elif kind == "float":
            out[c] = pd.to_numeric(out[c]).astype("float64") + 0.0  # -0.0 + 0.0 == +0.0
        elif pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c] + 0.0
    return out


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

    @property
    def objective(self) -> float | None:
        """The IFM objective in $ (the MIP's; manifest solver.objective_mip)."""
        v = (self.manifest.get("solver") or {}).get("objective_mip")
        return None if v is None else float(v)

    @property
    def status(self) -> str | None:
        """The solver's termination of the IFM (manifest solver.termination)."""
        return (self.manifest.get("solver") or {}).get("termination")

    def __repr__(self) -> str:
        sc = self.manifest.get("scenario") or {}
        head = f"RunResult({sc.get('name', '?')}"
        if sc.get("trade_date"):
            head += f" {sc['trade_date']}"
        phase = (self.manifest.get("parameters") or {}).get("phase")
        head += f", phase {phase}" if phase is not None else ""
        obj = self.objective
        head += f", objective ${obj:,.2f}" if obj is not None else ""
        head += f", status {self.status})" if self.status else ")"
        width = max((len(n) for n in self.tables), default=0)
        lines = [f"  {n:<{width}}  {len(df):>7,} rows" for n, df in sorted(self.tables.items())]
        return "\n".join([head + f" with {len(self.tables)} tables:"] + lines)


def ordered(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract columns first (keys, then values), extra columns after; rows sorted by key;
    every column of its declared type (`typed`: the form in which tables are written)."""
    keys, vals = RESULT_TABLES.get(name, ((), ()))
    first = [c for c in (*keys, *vals) if c in df.columns]
    rest = [c for c in df.columns if c not in first]
    out = typed(name, df[first + rest])
    if keys and name not in KEEP_ROW_ORDER and all(k in out.columns for k in keys) and len(out):
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
    """Read a run directory back (CSV or Parquet, whichever is there), every declared column
    with its COLUMN_TYPES dtype, so a run reads back as it was written."""
    d = Path(run_dir)
    manifest = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").exists() else {}
    tables = {}
    for f in sorted(d.iterdir()):
        if f.name.startswith("."):
            continue
        if f.suffix == ".csv":
            tables[f.stem] = read_table_csv(f.stem, f)
        elif f.suffix == ".parquet":
            tables[f.stem] = typed(f.stem, pd.read_parquet(f))
    return RunResult(tables=tables, manifest=manifest)


def read_table_csv(name: str, path: str | Path) -> pd.DataFrame:
    """One results CSV with its declared column types (text ids stay text: bus '1' is '1', a
    BAA called 'NA' is 'NA'; an empty cell is NaN); undeclared columns are inferred by pandas."""
    kinds = COLUMN_TYPES.get(name, {})
    header = pd.read_csv(path, nrows=0).columns
    na = {c: ["", "nan", "NaN", "NA"] for c in header if kinds.get(c) != "str"}
    df = pd.read_csv(path, dtype={c: str for c in header if kinds.get(c) in ("str", "bool")},
                     keep_default_na=False, na_values=na)
    return typed(name, df)


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
