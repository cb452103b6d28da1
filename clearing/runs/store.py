"""The run store: many runs on disk, keyed by their inputs, catalogued in DuckDB.

Layout of a store folder `STORE/`::

    STORE/
      runs/<run_id>/manifest.json + one file per results table   (clearing.results.write_run)
      failed/<run_id>.json        a run that failed: error, traceback, the task that failed
      sweeps/<sweep_id>.json      a sweep that used this store: its definition and its runs
      rolling/<rolling_id>.json   a rolling run (`edam run-days`): its current chain of days
      scenarios/<name>-<hash>/    inputs made by an importer (RTS-GMLC dates), as scenario folders
      catalogue.duckdb            the catalogue, rebuilt from the folders above

A run's id is a hash of everything that decides its result: the scenario's `input_hash()`, the
canonical JSON of its full `MarketParameters` (the phase is one of them, and is hashed again
explicitly) and, when `deployment_constraint_set` names a file, that file's content. Runs with the
same id are the same run, whichever sweep asked for them.

A run is *done* if and only if `runs/<run_id>/manifest.json` exists. `write_run` writes a run into
a hidden temporary folder (`runs/.<run_id>.tmp*`) and renames it into place, so a run folder is
either complete or absent; a killed worker leaves at most a hidden temporary folder, which the
catalogue ignores and `Store.clean_partial` removes. A failed run leaves `failed/<run_id>.json`
(written atomically) and is retried by the next sweep that asks for it; a run that succeeds
removes its failure record.

The catalogue (`catalogue.duckdb`) is written only by the driver (the process that runs a sweep,
`edam runs` or `edam report`), never by the workers. It is rebuilt from the folders into a
temporary file that is renamed over the old one, so it always matches the folders. It holds:

- `runs`: one row per run (done or failed): identity, every swept parameter as a column, the full
  parameters as JSON, status, error, solver outcome, `rse_passed` (every row of the run's `rse`
  table passed; NULL without one), timings and key metrics; the days of a rolling run also
  carry `rolling_id`, `rolling_day`, `previous_run_id`, `carried_state_hash` and
  `rolling_current` (the run is in its rolling run's current chain of days, not a day
  superseded by a recomputation);
- `run_metrics`: the key metrics in long form (run_id, metric, baa, value; baa = 'ALL' for
  totals over the footprint); a metric's name carries its unit: `_mwh` for sums of MW over
  the run's hours, `_mw` for an hourly mean or maximum, `_usd`, `_usd_per_mwh`/`avg_*_price`/
  `*_lmp` for prices in $/MWh, `_hours`/`_failures` for counts;
- `sweeps`, `sweep_runs`: the sweeps recorded in the store and the runs each asked for;
- `catalogue_info`: key/value (fingerprint, format, built_at), see below;
- one view per results table (`nodal_prices`, `schedules`, ...) over every done run's CSV or
  Parquet file, with a `run_id` column, so that
  `SELECT ... FROM nodal_prices JOIN runs USING (run_id)` works across runs.

The views name the run files by absolute path: after moving a store, rebuild its catalogue
(`edam runs STORE` does).

`catalogue_info` records the fingerprint of what the catalogue was built from
(`store_fingerprint`: the store's path, the done runs' manifests, the failure and sweep
records, `CATALOGUE_FORMAT`); `refresh_catalogue` rebuilds only when it no longer matches, so
`edam runs` and `edam report STORE` on an unchanged store just read it. `query_runs` filters
and orders the `runs` table for `edam runs --where/--sort` in a sandboxed in-memory DuckDB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from clearing.outputs import (MARKER, OLD_INFIX, TMP_INFIX, OutputPathError,
                              check_output_target, mark_output_dir, output_kind)
from clearing.results import COLUMN_TYPES, KIND_DUCKDB, RESULT_TABLES, RunResult, write_run
from scenarios.parameters import MarketParameters

RUN_ID_LENGTH = 16
CATALOGUE = "catalogue.duckdb"
#: products whose requirement / cleared / relaxed MW `baa_summary` carries
RESERVE_PRODUCTS = ("iru", "ird", "rcu", "rcd")

# Column types of the results tables in the catalogue views: clearing.results.COLUMN_TYPES
# (declared once; undeclared columns are auto-detected).


# ------------------------------------------------------------------------------------------
# identity
def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace; floats as Python's shortest repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str,
                      allow_nan=True)


def parameters_dict(parameters: MarketParameters | dict) -> dict[str, Any]:
    return parameters.to_dict() if isinstance(parameters, MarketParameters) else dict(parameters)


def _parameter_files_digest(scenario) -> str | None:
    """Digest of the file `deployment_constraint_set` names, if it names one."""
    value = scenario.parameters.deployment_constraint_set
    if value in ("none", "base", "all"):
        return None
    from scenarios.loader import scenario_file
    try:  # the very file the engine reads: inside the scenario folder only
        return hashlib.sha256(scenario_file(scenario.source_dir, value).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return "missing:" + str(value)


def run_id_for(scenario, input_hash: str | None = None) -> str:
    """The id of the run of `scenario` (a `Scenario` with its parameters in force);
    `input_hash` may pass `scenario.input_hash()` when it is already known."""
    params = parameters_dict(scenario.parameters)
    key = {"input_hash": input_hash or scenario.input_hash(), "parameters": params,
           "phase": params.get("phase"), "parameter_files": _parameter_files_digest(scenario)}
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:RUN_ID_LENGTH]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write `path` through a temporary file renamed into place (mode 0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------------------
class Store:
    """A run store folder (see the module docstring for its layout)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    # -- paths --------------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def failed_dir(self) -> Path:
        return self.root / "failed"

    @property
    def sweeps_dir(self) -> Path:
        return self.root / "sweeps"

    @property
    def scenarios_dir(self) -> Path:
        return self.root / "scenarios"

    @property
    def catalogue_path(self) -> Path:
        return self.root / CATALOGUE

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def failed_path(self, run_id: str) -> Path:
        return self.failed_dir / f"{run_id}.json"

    def init(self, forbid_inside: Iterable[str | Path] = ()) -> "Store":
        """Create the store, or reopen it. The root must be new, empty, or a store (its
        marker, or a store made before markers: a `runs/` folder and only store entries);
        anything else is refused with `OutputPathError`, before anything is written."""
        claim_store_root(self.root, forbid_inside)
        for d in (self.runs_dir, self.failed_dir, self.sweeps_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.runs_dir.is_dir()

    # -- state --------------------------------------------------------------------------------
    def is_done(self, run_id: str) -> bool:
        return (self.run_dir(run_id) / "manifest.json").is_file()

    def done_ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir()
                      if not p.name.startswith(".") and (p / "manifest.json").is_file())

    def failed_ids(self) -> list[str]:
        if not self.failed_dir.is_dir():
            return []
        return sorted(p.stem for p in self.failed_dir.glob("*.json")
                      if not p.name.startswith("."))

    def read_manifest(self, run_id: str) -> dict:
        return json.loads((self.run_dir(run_id) / "manifest.json").read_text())

    def read_failure(self, run_id: str) -> dict:
        return json.loads(self.failed_path(run_id).read_text())

    def clean_partial(self, max_age_s: float = 300.0) -> list[Path]:
        """Remove temporary folders/files left by killed writers (older than `max_age_s`)."""
        before = time.time() - max_age_s
        removed = []
        for d in (self.runs_dir, self.failed_dir, self.root):
            if d.is_dir():
                removed += [p for p in d.iterdir() if _is_partial(p) and _remove_if_older(p, before)]
        return removed

    # -- writing (workers and driver) ---------------------------------------------------------
    def save_run(self, result: RunResult, run_id: str, fmt: str = "csv",
                 extra_manifest: dict | None = None) -> Path:
        """Write a finished run into `runs/<run_id>/` (atomic) and clear its failure record."""
        manifest = dict(result.manifest)
        manifest["run_id"] = run_id
        if extra_manifest:
            manifest.update(extra_manifest)
        # the store owns runs/: an earlier copy of the same run (same id) may be replaced
        out = write_run(RunResult(tables=result.tables, manifest=manifest), self.run_dir(run_id),
                        fmt, overwrite=True)
        try:  # write_run's temporary folder is created 0700: let other readers in
            out.chmod(0o777 & ~_umask())
        except OSError:
            pass
        self.clear_failure(run_id)
        return out

    def record_failure(self, run_id: str, spec: dict, exc: BaseException | str,
                       tb: str | None = None, where: str = "worker") -> Path:
        """Record a failed run in `failed/<run_id>.json` (atomic); keeps a count of attempts."""
        attempts = 0
        try:
            attempts = int(self.read_failure(run_id).get("attempts", 0))
        except (OSError, ValueError):
            pass
        record = failure_record(run_id, spec, exc, tb, where, attempts + 1)
        path = self.failed_path(run_id)
        atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str))
        return path

    def clear_failure(self, run_id: str) -> None:
        try:
            self.failed_path(run_id).unlink()
        except FileNotFoundError:
            pass

    def record_sweep(self, record: dict) -> Path:
        """Record a sweep definition and its planned runs in `sweeps/<sweep_id>.json`."""
        path = self.sweeps_dir / f"{record['sweep_id']}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str))
        return path

    def sweeps(self) -> list[dict]:
        """The recorded sweeps, oldest first (unreadable records are passed over)."""
        return sorted(_read_json_records(self.sweeps_dir),
                      key=lambda r: (r.get("recorded_at", ""), r.get("sweep_id", "")))

    # -- catalogue (driver only) --------------------------------------------------------------
    def rebuild_catalogue(self) -> Path:
        """Rebuild `catalogue.duckdb` from the folders (see module docstring)."""
        return rebuild_catalogue(self)

    def runs_frame(self) -> pd.DataFrame:
        """The `runs` table as a DataFrame, computed from the folders (no DuckDB file)."""
        import duckdb
        con = duckdb.connect()
        try:
            _fill_catalogue(con, self)
            return con.execute("SELECT * FROM runs ORDER BY run_id").df()
        finally:
            con.close()


def failure_record(run_id: str, spec: dict, exc: BaseException | str, tb: str | None,
                   where: str, attempts: int) -> dict:
    """The JSON record of a failed run (`failed/<run_id>.json`): the error and its traceback,
    where it failed, the attempt's number, when, on which host and process, and the task."""
    if isinstance(exc, BaseException):
        error_type = type(exc).__name__
        error = str(exc) or error_type
        if tb is None:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    else:
        error_type, error = "Error", str(exc)
    return {"run_id": run_id, "status": "failed", "error_type": error_type,
            "error": error, "traceback": tb or "", "where": where,
            "attempts": attempts, "failed_at": _now(), "host": os.uname().nodename,
            "pid": os.getpid(), "spec": spec}


def _is_partial(p: Path) -> bool:
    """A hidden temporary or replaced copy that a killed writer may have left."""
    return p.name.startswith(".") and any(x in p.name for x in (".tmp", ".old", TMP_INFIX,
                                                                OLD_INFIX))


def _remove_if_older(p: Path, before: float) -> bool:
    """Remove `p` (a folder with its contents) if it was last modified before `before` (epoch
    seconds); whether it was removed (a file that vanished or cannot be removed: not)."""
    try:
        if p.stat().st_mtime > before:
            return False
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
        return True
    except OSError:
        return False


def _read_json_records(folder: Path) -> list[dict]:
    """The readable `*.json` records of a folder (hidden files and unreadable ones passed over)."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.glob("*.json")):
        if p.name.startswith("."):
            continue
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    return out


#: what a store's root holds (anything else means the folder is not a store)
STORE_ENTRIES = {"runs", "failed", "sweeps", "scenarios", "rolling", CATALOGUE, CATALOGUE + ".wal", MARKER,
                 "report.html"}  # report.html: `edam report STORE`


def _legacy_store(root: Path) -> bool:
    """A store written before the marker existed: runs/ and only store entries."""
    return (root / "runs").is_dir() and all(
        p.name in STORE_ENTRIES or p.name.startswith(".") for p in root.iterdir())


def claim_store_root(root: Path, forbid_inside: Iterable[str | Path] = ()) -> Path:
    """Check (and mark, kind "store") a run store's root folder before anything is written
    into it: new, empty, or already a store; never a user's folder or another output."""
    root = Path(root)
    adopt = root.is_dir() and not root.is_symlink() and output_kind(root) is None and (
        not any(root.iterdir()) or _legacy_store(root))
    if adopt:  # an empty folder or an old store: mark it, then check it like any store
        marker = mark_output_dir(root, "store")
        try:
            return check_output_target(root, "store", overwrite=True,
                                       forbid_inside=forbid_inside)
        except OutputPathError:
            marker.unlink(missing_ok=True)  # leave the folder as it was
            raise
    out = check_output_target(root, "store", overwrite=True, forbid_inside=forbid_inside)
    if not out.exists():
        out.mkdir(parents=True)
        mark_output_dir(out, "store")
    return out


# ------------------------------------------------------------------------------------------
# catalogue
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        line = fh.readline()
    import csv
    rows = list(csv.reader([line]))
    return [c.strip() for c in rows[0]] if rows and rows[0] else []


def _table_files(store: Store, run_ids: Iterable[str]) -> dict[str, dict[str, list[Path]]]:
    """table -> {'csv': [...], 'parquet': [...]} over the done runs."""
    out: dict[str, dict[str, list[Path]]] = {}
    for rid in run_ids:
        d = store.run_dir(rid)
        for f in sorted(d.iterdir()):
            if f.name.startswith(".") or f.suffix not in (".csv", ".parquet"):
                continue
            out.setdefault(f.stem, {"csv": [], "parquet": []})[f.suffix[1:]].append(f)
    return out


def _view_sql(table: str, files: dict[str, list[Path]]) -> str | None:
    run_id = r"regexp_extract(filename, '([^/\\]+)[/\\][^/\\]+$', 1) AS run_id"
    parts = []
    if files["csv"]:
        cols: list[str] = []
        for f in files["csv"]:
            for c in _csv_header(f):
                if c not in cols:
                    cols.append(c)
        kinds = COLUMN_TYPES.get(table, {})
        types = {c: KIND_DUCKDB[kinds[c]] for c in cols if c in kinds}
        file_list = "[" + ", ".join(_sql_str(str(f)) for f in files["csv"]) + "]"
        type_sql = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in types.items()) + "}"
        opts = "header = true, union_by_name = true, filename = true"
        if types:
            opts += f", types = {type_sql}"
        parts.append(f"SELECT * EXCLUDE (filename), {run_id} FROM read_csv({file_list}, {opts})")
    if files["parquet"]:
        file_list = "[" + ", ".join(_sql_str(str(f)) for f in files["parquet"]) + "]"
        parts.append(f"SELECT * EXCLUDE (filename), {run_id} "
                     f"FROM read_parquet({file_list}, union_by_name = true, filename = true)")
    if not parts:
        return None
    return " UNION ALL BY NAME ".join(parts)


def _create_view(con, table: str, select_sql: str) -> None:
    """CREATE VIEW `table` over `select_sql`, every declared column cast to its COLUMN_TYPES
    type (Parquet files of older runs may carry another type; a column's type is the same in
    every store, whatever the files' format)."""
    con.execute(f"CREATE VIEW {_quote(table)} AS {select_sql}")
    kinds = COLUMN_TYPES.get(table, {})
    have = {r[0]: r[1] for r in con.execute(f"DESCRIBE {_quote(table)}").fetchall()}
    casts = [f"CAST({_quote(c)} AS {KIND_DUCKDB[k]}) AS {_quote(c)}" for c, k in kinds.items()
             if c in have and have[c] != KIND_DUCKDB[k]]
    if casts:
        con.execute(f"CREATE OR REPLACE VIEW {_quote(table)} AS SELECT * REPLACE ("
                    + ", ".join(casts) + f") FROM ({select_sql})")


_PARAM_TYPES = {f.name: ("BOOLEAN" if isinstance(f.default, bool) else
                         "BIGINT" if isinstance(f.default, int) else
                         "DOUBLE" if isinstance(f.default, float) else "VARCHAR")
                for f in dataclasses.fields(MarketParameters)}


def swept_parameters(store: Store, runs: list[dict] | None = None) -> list[str]:
    """Parameters swept by any recorded sweep, plus any that vary across the store's runs
    (in MarketParameters order; `phase` is always its own column and is left out)."""
    names: set[str] = set()
    for sw in store.sweeps():
        for r in sw.get("runs", []):
            names.update((r.get("point") or {}).keys())
    if runs:
        for n in MarketParameters.names():
            vals = {canonical_json(r["parameters"].get(n)) for r in runs if r.get("parameters")}
            if len(vals) > 1:
                names.add(n)
    names.discard("phase")
    return [n for n in MarketParameters.names() if n in names]


def _run_rows(store: Store) -> list[dict]:
    """One dict per run (done or failed) from the folders."""
    sweep_names: dict[str, list[str]] = {}
    for sw in store.sweeps():
        for r in sw.get("runs", []):
            sweep_names.setdefault(r["run_id"], [])
            if sw.get("name") not in sweep_names[r["run_id"]]:
                sweep_names[r["run_id"]].append(sw.get("name"))
    rows = []
    done = store.done_ids()
    for rid in done:
        try:
            m = store.read_manifest(rid)
        except (OSError, ValueError) as exc:  # unreadable manifest: report, don't hide
            rows.append({"run_id": rid, "status": "failed", "error_type": type(exc).__name__,
                         "error": f"unreadable manifest.json: {exc}", "parameters": {}})
            continue
        sc = m.get("scenario") or {}
        solver = m.get("solver") or {}
        timings = m.get("timings") or {}
        stor = m.get("store") or {}
        params = m.get("parameters") or {}
        row = {"run_id": rid, "status": "done", "scenario": sc.get("name"),
               "trade_date": sc.get("trade_date"), "hours": sc.get("hours"),
               "phase": params.get("phase"), "parameters": params,
               "input_hash": m.get("input_hash"), "format": m.get("format"),
               "termination": solver.get("termination"),
               "objective": solver.get("objective_mip"), "objective_lp": solver.get("objective_lp"),
               "mip_gap": solver.get("mip_gap"), "error_type": None, "error": None,
               "attempts": None, "finished_at": stor.get("finished_at"),
               "wall_s": stor.get("wall_s"), "timings": timings,
               "run_dir": str(store.run_dir(rid)), "label": stor.get("label"),
               **_variation_cells(stor.get("variations")), **_rolling_cells(m.get("rolling"))}
        rows.append(row)
    done_set = set(done)
    for rid in store.failed_ids():
        if rid in done_set:
            continue
        try:
            f = store.read_failure(rid)
        except (OSError, ValueError):
            continue
        spec = f.get("spec") or {}
        params = spec.get("parameters") or {}
        rows.append({"run_id": rid, "status": "failed", "scenario": spec.get("scenario"),
                     "trade_date": spec.get("trade_date"), "hours": spec.get("hours"),
                     "phase": params.get("phase", spec.get("phase")), "parameters": params,
                     "input_hash": spec.get("input_hash"), "format": spec.get("format"),
                     "error_type": f.get("error_type"), "error": f.get("error"),
                     "attempts": f.get("attempts"), "finished_at": f.get("failed_at"),
                     "timings": {}, "run_dir": None, "label": spec.get("label"),
                     **_variation_cells(spec.get("variations")),
                     **_rolling_cells(spec.get("rolling"))})
    chains = _rolling_chains(store)
    for r in rows:
        if r.get("rolling_id"):
            r["rolling_current"] = r["run_id"] in chains.get(r["rolling_id"], set())
    for r in rows:
        r["sweep"] = ",".join(n for n in sweep_names.get(r["run_id"], []) if n) or None
    return rows


_TIMING_COLUMNS = ("build_s", "solve_s", "pricing_s", "total_s")
#: a sweep point's input variations (clearing.runs.sweep.VARIATIONS) as `runs` columns
_VARIATION_COLUMNS = (("without_resource", "VARCHAR"), ("scale_load", "DOUBLE"),
                      ("scale_etsr", "DOUBLE"), ("ghg_allowance_usd_per_t", "DOUBLE"))


#: a rolling run's day (clearing.runs.rolling: the manifest's `rolling` block) as `runs` columns
_ROLLING_COLUMNS = (("rolling_id", "VARCHAR"), ("rolling_day", "BIGINT"),
                    ("previous_run_id", "VARCHAR"), ("carried_state_hash", "VARCHAR"),
                    ("rolling_current", "BOOLEAN"))
ROLLING_DIR = "rolling"


def _rolling_cells(block: dict | None) -> dict:
    """{column: value} of a rolling run's day (empty for other runs)."""
    b = block or {}
    if not b.get("rolling_id"):
        return {}
    return {"rolling_id": b.get("rolling_id"), "rolling_day": b.get("day"),
            "previous_run_id": b.get("previous_run_id"),
            "carried_state_hash": b.get("carried_state_hash")}


def _rolling_chains(store: Store) -> dict[str, set[str]]:
    """rolling id -> the run ids of its current chain (STORE/rolling/<id>.json)."""
    return {r.get("rolling_id"): {d.get("run_id") for d in r.get("days", [])}
            for r in _read_json_records(store.root / ROLLING_DIR) if r.get("rolling_id")}


def _variation_cells(variations: dict | None) -> dict:
    """{column: value} of a run's input variations (resources out as 'G1,G2')."""
    v = dict(variations or {})
    if isinstance(v.get("without_resource"), list):
        v["without_resource"] = ",".join(v["without_resource"]) or None
    return {c: v[c] for c, _ in _VARIATION_COLUMNS if v.get(c) is not None}

_METRICS_SQL = {
    # table -> SQL returning (run_id, metric, baa, value) rows; baa 'ALL' = footprint; {src} is
    # the table read once into a temporary table (each part would otherwise re-read every file)
    "nodal_prices": """
        SELECT run_id, 'avg_lmp' AS metric, baa, avg(lmp) AS value
          FROM {src} GROUP BY run_id, baa
        UNION ALL
        SELECT run_id, 'avg_lmp', 'ALL', avg(lmp) FROM {src} GROUP BY run_id
        UNION ALL
        SELECT run_id, 'max_lmp', 'ALL', max(lmp) FROM {src} GROUP BY run_id""",
    "product_prices": """
        SELECT run_id, 'avg_' || lower(product) || '_price', baa, avg(price_usd_per_mwh)
          FROM {src} GROUP BY run_id, product, baa
        UNION ALL
        SELECT run_id, 'avg_' || lower(product) || '_price', 'ALL', avg(price_usd_per_mwh)
          FROM {src} GROUP BY run_id, product""",
    "transfers": """
        SELECT run_id, 'transfer_mwh', 'ALL', sum(abs(mw)) FROM {src} GROUP BY run_id
        UNION ALL
        SELECT run_id, 'congested_interface_hours', 'ALL',
               sum(CASE WHEN abs(coalesce(shadow_price, 0)) > 1e-6 THEN 1 ELSE 0 END)
          FROM {src} GROUP BY run_id""",
    "rse": """
        SELECT run_id, 'rse_failures', baa,
               sum(CASE WHEN lower(CAST(passed AS VARCHAR)) IN ('false', '0', 'f', 'no')
                        THEN 1 ELSE 0 END)
          FROM {src} GROUP BY run_id, baa
        UNION ALL
        SELECT run_id, 'rse_failures', 'ALL',
               sum(CASE WHEN lower(CAST(passed AS VARCHAR)) IN ('false', '0', 'f', 'no')
                        THEN 1 ELSE 0 END)
          FROM {src} GROUP BY run_id""",
    "ghg_prices": """
        SELECT run_id, 'avg_ghg_price', 'ALL', avg(ghg_price_usd_per_mwh) FROM {src}
         GROUP BY run_id
        UNION ALL
        SELECT run_id, 'ghg_attributed_mwh', 'ALL', sum(attributed_mw) FROM {src}
         GROUP BY run_id
        UNION ALL
        SELECT run_id, 'ghg_net_import_mwh', 'ALL', sum(net_import_mw) FROM {src}
         GROUP BY run_id
        UNION ALL
        SELECT run_id, 'ghg_emissions_t', 'ALL', sum(attributed_emissions_t) FROM {src}
         GROUP BY run_id""",
    "settlement": """
        SELECT run_id, 'settlement_charges_usd', 'ALL',
               sum(CASE WHEN amount_usd > 0 THEN amount_usd ELSE 0 END)
          FROM {src} GROUP BY run_id
        UNION ALL
        SELECT run_id, 'settlement_net_usd', 'ALL', sum(amount_usd)
          FROM {src} GROUP BY run_id""",
}


def _baa_summary_metrics_sql(columns: set[str], src: str = "baa_summary") -> str | None:
    parts = []
    for p in RESERVE_PRODUCTS:
        for kind in ("requirement", "cleared", "relaxed"):
            col = f"{p}_{kind}_mw"
            if col in columns:  # a sum over the run's hours of MW: MWh (named so)
                name = f"{p}_{kind}_mwh"
                parts.append(f"SELECT run_id, '{name}', baa, sum({col}) FROM {src} "
                             f"GROUP BY run_id, baa")
                parts.append(f"SELECT run_id, '{name}', 'ALL', sum({col}) FROM {src} "
                             f"GROUP BY run_id")
    if "ghg_secondary_dispatch_mw" in columns:   # the §5.13 indicator, Σ over BAAs and hours
        parts.append(f"SELECT run_id, 'ghg_secondary_dispatch_mwh', 'ALL', "
                     f"sum(ghg_secondary_dispatch_mw) FROM {src} GROUP BY run_id")
    return " UNION ALL ".join(parts) if parts else None


def _fill_catalogue(con, store: Store, progress: Callable[[str], None] | None = None) -> None:
    """Create the catalogue's tables and views on an open DuckDB connection."""
    import pyarrow as pa

    say = progress or (lambda msg: None)
    # 1. views over the results tables of the done runs
    done = store.done_ids()
    say(f"catalogue: views over the results of {len(done)} runs")
    files = _table_files(store, done)
    tables_present = []
    for table in sorted(files):
        sql = _view_sql(table, files[table])
        if sql:
            _create_view(con, table, sql)
            tables_present.append(table)

    # 2. key metrics, long form. Each results table is read from its files once, into a
    # temporary table (dropped below, never saved): the metric queries scan it several times,
    # and scanning the views instead re-read every run's file per query (2.6 s of 3.7 s on a
    # store of 40 small runs).
    say("catalogue: key metrics")
    metric_parts = []
    sources: list[str] = []

    def source(table: str, columns: set[str]) -> str:
        src = _quote(f"_metrics_{table}")
        cols = ", ".join(_quote(c) for c in sorted(columns | {"run_id"}))
        con.execute(f"CREATE TEMP TABLE {src} AS SELECT {cols} FROM {_quote(table)}")
        sources.append(src)
        return src

    for table, sql in _METRICS_SQL.items():
        if table in tables_present:
            cols = {r[0] for r in con.execute(f"DESCRIBE {_quote(table)}").fetchall()}
            needed = {"nodal_prices": {"lmp", "baa"},
                      "product_prices": {"product", "baa", "price_usd_per_mwh"},
                      "transfers": {"mw", "shadow_price"}, "rse": {"passed", "baa"},
                      "settlement": {"amount_usd"},
                      "ghg_prices": {"ghg_price_usd_per_mwh", "attributed_mw", "net_import_mw",
                                     "attributed_emissions_t"}}[table]
            if needed <= cols:
                metric_parts.append(sql.replace("{src}", source(table, needed)))
    if "baa_summary" in tables_present:
        cols = {r[0] for r in con.execute("DESCRIBE baa_summary").fetchall()}
        if "baa" in cols:
            reserve_cols = ({f"{p}_{k}_mw" for p in RESERVE_PRODUCTS
                             for k in ("requirement", "cleared", "relaxed")}
                            | {"ghg_secondary_dispatch_mw"}) & cols
            if reserve_cols:
                src = source("baa_summary", reserve_cols | {"baa"})
                metric_parts.append(_baa_summary_metrics_sql(cols, src))
    if metric_parts:
        con.execute("CREATE TABLE run_metrics AS SELECT run_id::VARCHAR AS run_id, "
                    "metric::VARCHAR AS metric, baa::VARCHAR AS baa, value::DOUBLE AS value "
                    "FROM (" + " UNION ALL ".join(f"({p})" for p in metric_parts) + ") "
                    "AS m(run_id, metric, baa, value) ORDER BY run_id, metric, baa")
    else:
        con.execute("CREATE TABLE run_metrics (run_id VARCHAR, metric VARCHAR, baa VARCHAR, "
                    "value DOUBLE)")
    for src in sources:
        con.execute(f"DROP TABLE {src}")
    metrics = con.execute("SELECT run_id, metric, baa, value FROM run_metrics").df()

    # 3. runs
    say("catalogue: runs table")
    rows = _run_rows(store)
    swept = swept_parameters(store, rows)
    wide: dict[str, dict[str, float]] = {}
    metric_columns: list[str] = []
    for rid, metric, baa, value in metrics.itertuples(index=False):
        col = metric if baa == "ALL" else f"{metric}_{baa}"
        wide.setdefault(rid, {})[col] = None if value is None or (
            isinstance(value, float) and math.isnan(value)) else float(value)
        if col not in metric_columns:
            metric_columns.append(col)
    metric_columns.sort(key=lambda c: (_metric_order(c), c))

    base_cols: list[tuple[str, str]] = [
        ("run_id", "VARCHAR"), ("status", "VARCHAR"), ("scenario", "VARCHAR"),
        ("trade_date", "VARCHAR"), ("hours", "BIGINT"), ("phase", "BIGINT"),
        ("sweep", "VARCHAR"), ("label", "VARCHAR")]
    base_cols += [(n, _PARAM_TYPES[n]) for n in swept]
    base_cols += [(c, t) for c, t in _VARIATION_COLUMNS if any(c in r for r in rows)]
    base_cols += [(c, t) for c, t in _ROLLING_COLUMNS if any(c in r for r in rows)]
    base_cols += [("parameters", "JSON"), ("input_hash", "VARCHAR"),
                  ("termination", "VARCHAR"), ("rse_passed", "BOOLEAN"), ("objective", "DOUBLE"),
                  ("objective_lp", "DOUBLE"), ("mip_gap", "DOUBLE")]
    base_cols += [(c, "DOUBLE") for c in _TIMING_COLUMNS]
    base_cols += [("wall_s", "DOUBLE"), ("overhead_s", "DOUBLE"), ("timings", "JSON"),
                  ("error_type", "VARCHAR"), ("error", "VARCHAR"), ("attempts", "BIGINT"),
                  ("finished_at", "VARCHAR"), ("format", "VARCHAR"), ("run_dir", "VARCHAR")]
    taken = {c for c, _ in base_cols}
    base_cols += [(c, "DOUBLE") for c in metric_columns if c not in taken]

    def value(r: dict, col: str) -> Any:
        if col in swept:
            return (r.get("parameters") or {}).get(col)
        if col in ("parameters", "timings"):
            return canonical_json(r.get(col) or {})
        if col in _TIMING_COLUMNS:
            return _num((r.get("timings") or {}).get(col))
        if col == "rse_passed":  # every RSE row passed; NULL without an rse table
            n = wide.get(r["run_id"], {}).get("rse_failures")
            return None if n is None else n == 0
        if col == "overhead_s":
            wall, total = _num(r.get("wall_s")), _num((r.get("timings") or {}).get("total_s"))
            return None if wall is None or total is None else wall - total
        if col in r:
            v = r[col]
            return v if not isinstance(v, (dict, list)) else canonical_json(v)
        return wide.get(r["run_id"], {}).get(col)

    con.execute("CREATE TABLE runs (" + ", ".join(f"{_quote(c)} {t}" for c, t in base_cols)
                + ", PRIMARY KEY (run_id))")
    if rows:
        data = {c: [value(r, c) for r in rows] for c, _ in base_cols}
        arrow = pa.table({c: pa.array([_arrow_safe(v) for v in data[c]]) for c, _ in base_cols})
        con.register("_runs_arrow", arrow)
        con.execute("INSERT INTO runs SELECT " + ", ".join(
            f"CAST({_quote(c)} AS {t})" for c, t in base_cols) + " FROM _runs_arrow "
            "ORDER BY run_id")
        con.unregister("_runs_arrow")

    # 4. sweeps
    con.execute("CREATE TABLE sweeps (sweep_id VARCHAR PRIMARY KEY, name VARCHAR, "
                "file VARCHAR, recorded_at VARCHAR, n_runs BIGINT, definition JSON)")
    con.execute("CREATE TABLE sweep_runs (sweep_id VARCHAR, run_id VARCHAR, scenario VARCHAR, "
                "point JSON)")
    for sw in store.sweeps():
        con.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?)",
                    [sw.get("sweep_id"), sw.get("name"), sw.get("file"), sw.get("recorded_at"),
                     len(sw.get("runs", [])), canonical_json(sw.get("definition"))])
        for r in sw.get("runs", []):
            con.execute("INSERT INTO sweep_runs VALUES (?, ?, ?, ?)",
                        [sw.get("sweep_id"), r.get("run_id"), r.get("scenario"),
                         canonical_json(r.get("point") or {})])


def _metric_order(col: str) -> int:
    for i, prefix in enumerate(("avg_lmp", "max_lmp", "iru_", "ird_", "rcu_", "rcd_",
                                "avg_", "transfer", "congested", "ghg_", "rse", "settlement")):
        if col.startswith(prefix):
            return i
    return 99


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _arrow_safe(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, bool):
        return v
    return v


#: bump when the catalogue's tables or metrics change: an older catalogue is then rebuilt
CATALOGUE_FORMAT = 3


def store_fingerprint(store: Store) -> str:
    """A digest of what the catalogue is built from: the store's path (the views name files by
    absolute path), the done runs (name, manifest size and mtime: a run folder is written once,
    atomically), the failure records and the sweep records, and `CATALOGUE_FORMAT`. Only
    directory listings and `stat` calls: cheap next to a rebuild."""
    lines = [f"format {CATALOGUE_FORMAT}", f"root {store.root}"]

    def stat_line(kind: str, name: str, path: Path) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        lines.append(f"{kind} {name} {st.st_size} {st.st_mtime_ns}")

    for rid in store.done_ids():
        stat_line("run", rid, store.run_dir(rid) / "manifest.json")
    for rid in store.failed_ids():
        stat_line("failed", rid, store.failed_path(rid))
    for kind, folder in (("sweep", store.sweeps_dir), ("rolling", store.root / ROLLING_DIR)):
        if folder.is_dir():
            for p in sorted(folder.glob("*.json")):
                if not p.name.startswith("."):
                    stat_line(kind, p.name, p)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def catalogue_is_fresh(store: Store | str | Path) -> bool:
    """True when `catalogue.duckdb` exists and was built from the store as it is now."""
    import duckdb

    store = store if isinstance(store, Store) else Store(store)
    if not store.catalogue_path.is_file():
        return False
    try:
        con = duckdb.connect(str(store.catalogue_path), read_only=True)
    except duckdb.Error:
        return False
    try:
        row = con.execute("SELECT value FROM catalogue_info WHERE key = 'fingerprint'").fetchone()
    except duckdb.Error:  # an older catalogue, without catalogue_info
        return False
    finally:
        con.close()
    return bool(row) and row[0] == store_fingerprint(store)


def refresh_catalogue(store: Store | str | Path,
                      progress: Callable[[str], None] | None = None) -> tuple[Path, bool]:
    """Rebuild the catalogue only if the store changed since it was built:
    (catalogue path, whether it was rebuilt)."""
    store = store if isinstance(store, Store) else Store(store)
    if catalogue_is_fresh(store):
        return store.catalogue_path, False
    return rebuild_catalogue(store, progress), True


def rebuild_catalogue(store: Store | str | Path,
                      progress: Callable[[str], None] | None = None) -> Path:
    """Rebuild `STORE/catalogue.duckdb` from the run folders (driver only; atomic rename).
    `progress(message)` is called before each step."""
    import duckdb

    store = store if isinstance(store, Store) else Store(store)
    store.init()
    fingerprint = store_fingerprint(store)  # before reading: a run added meanwhile => stale
    target = store.catalogue_path
    fd, tmp_name = tempfile.mkstemp(prefix=f".{CATALOGUE}.", suffix=".tmp", dir=store.root)
    os.close(fd)
    os.unlink(tmp_name)  # DuckDB wants to create the file itself
    tmp = Path(tmp_name)
    try:
        con = duckdb.connect(str(tmp))
        try:
            _fill_catalogue(con, store, progress)
            con.execute("CREATE TABLE catalogue_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
            con.execute("INSERT INTO catalogue_info VALUES ('fingerprint', ?), ('format', ?), "
                        "('built_at', ?)", [fingerprint, str(CATALOGUE_FORMAT), _now()])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        wal = Path(str(tmp) + ".wal")
        if wal.exists():  # closed cleanly: nothing should be left, but never leave it behind
            wal.unlink()
        os.replace(tmp, target)
        stale_wal = Path(str(target) + ".wal")
        if stale_wal.exists():
            stale_wal.unlink()
    except BaseException:
        for p in (tmp, Path(str(tmp) + ".wal")):
            try:
                p.unlink()
            except OSError:
                pass
        raise
    return target


def connect(store: Store | str | Path, rebuild: bool = False, refresh: bool = False,
            progress: Callable[[str], None] | None = None):
    """A read-only DuckDB connection to the store's catalogue (rebuilt first if asked or
    missing; with `refresh`, rebuilt if the store changed since)."""
    import duckdb

    store = store if isinstance(store, Store) else Store(store)
    if rebuild or not store.catalogue_path.exists():
        rebuild_catalogue(store, progress)
    elif refresh:
        refresh_catalogue(store, progress)
    return duckdb.connect(str(store.catalogue_path), read_only=True)


# ------------------------------------------------------------------------------------------
# querying the runs table (`edam runs --where/--sort`)
def _runs_problem(option: str, found: str, expected: str):
    from scenarios.errors import Problem, ScenarioError
    return ScenarioError(Problem(option, None, None, found, expected))


def parse_sort(sort: str | None, columns: list[str]) -> list[tuple[str, bool]]:
    """`--sort` as [(column, descending)]: comma-separated catalogue columns, each optionally
    prefixed by '-' for descending, e.g. `phase,-objective`."""
    keys = []
    for item in (sort or "").split(","):
        item = item.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item[1:].strip() if desc else item
        if name not in columns:
            raise _runs_problem("--sort", repr(name),
                                "a column of the catalogue's runs table (" +
                                ", ".join(columns) + "), '-' before it for descending")
        keys.append((name, desc))
    return keys


def query_runs(store: Store | str | Path, where: str | None = None, sort: str | None = None,
               refresh: bool = True, progress: Callable[[str], None] | None = None
               ) -> pd.DataFrame:
    """The catalogue's `runs` table, filtered by `where` (a DuckDB SQL condition on its
    columns) and ordered by `sort` (see `parse_sort`; default run_id).

    The condition is evaluated in a separate in-memory DuckDB holding only a copy of `runs`,
    with external access disabled and the configuration locked (no files read or written, no
    extensions loaded), and parsed as one expression (DuckDB's relational `filter`): `--where`
    can filter, nothing more.
    A bad condition is a `ScenarioError` naming it and DuckDB's reason."""
    import duckdb

    store = store if isinstance(store, Store) else Store(store)
    if refresh:
        refresh_catalogue(store, progress)
    elif not store.catalogue_path.exists():
        rebuild_catalogue(store, progress)
    with duckdb.connect(str(store.catalogue_path), read_only=True) as con:
        arrow = con.sql("SELECT * FROM runs ORDER BY run_id").to_arrow_table()
    columns = list(arrow.schema.names)
    keys = parse_sort(sort, columns) or [("run_id", False)]
    order = ", ".join(f"{_quote(c)} {'DESC' if d else 'ASC'} NULLS LAST" for c, d in keys)
    sandbox = duckdb.connect()
    try:
        sandbox.register("_runs_arrow", arrow)
        sandbox.execute("CREATE TABLE runs AS SELECT * FROM _runs_arrow")
        sandbox.unregister("_runs_arrow")
        sandbox.execute("SET enable_external_access = false")
        sandbox.execute("SET lock_configuration = true")
        rel = sandbox.table("runs")
        if where is not None and where.strip():
            try:  # parsed as ONE expression by DuckDB: no ';', no second statement, no UNION
                rel = rel.filter(where)
            except duckdb.Error as exc:
                raise _where_problem(where, exc, columns) from None
        try:
            return rel.order(order).df()
        except duckdb.Error as exc:
            raise _where_problem(where, exc, columns) from None
    finally:
        sandbox.close()


def _where_problem(where: str | None, exc: BaseException, columns: list[str]):
    return _runs_problem("--where", repr(where), "a DuckDB SQL condition on the columns of the "
                         f"catalogue's runs table; DuckDB says: {_first_line(exc)} (columns: "
                         + ", ".join(columns) + ")")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
