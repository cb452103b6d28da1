"""What-if sweeps and batch runs on Dask (issue "What-if sweeps and batch runs").

A sweep file (YAML, see `scenarios/sweeps/README.md`) names the scenarios to run -- scenario
folders and/or RTS-GMLC dates made by the importer -- and the parameter values to run them with:
a `grid:` (cartesian product) or a `list:` of points over any `MarketParameters` names and the
input variations of `VARIATIONS` (`scale_load`, `scale_etsr`, `without_resource`), optional
`phases:`, and fixed `set:` values; a `list:` point may carry a `label` naming its run (in
`edam runs`, the catalogue and reports). Every (scenario, point, phase) is one run.

The driver (`sweep_command`, `run_sweep`) plans the runs, computes each run's id (a hash of its
inputs and parameters, `clearing.runs.store.run_id_for`), skips the runs already in the store, and
submits the rest to Dask: by default a local cluster of worker processes on the loopback
interface (one thread each, no dashboard), or an existing scheduler (`--scheduler`), which is
used as it is. Each task loads its scenario with its overrides, solves it (`clearing.api.solve`)
and writes the run into the store; a failed run is recorded (`failed/<run_id>.json`) with its
error and does not stop the others. The driver alone writes the catalogue, after the runs.
An interrupted sweep (Ctrl-C, a killed worker, a crashed solve) is finished by running the same
command again: only the runs whose folder is missing are run.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import logging
import math
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from clearing.outputs import OutputPathError
from clearing.runs.store import Store, canonical_json, rebuild_catalogue, run_id_for
from scenarios.errors import Problem, ScenarioError
from scenarios.parameters import MarketParameters

SWEEP_KEYS = ("name", "description", "scenarios", "importer", "grid", "list", "phases", "set",
              "format")
IMPORTERS = ("rts_gmlc",)
#: input variations a point may carry besides parameters (applied with the Scenario edits of
#: scenarios/scenario.py, in this order): name -> what its value is
VARIATIONS = {
    "without_resource": "a resource id or a list of ids taken out (null: none)",
    "scale_load": "a factor >= 0 on fixed demand and the demand forecast (Scenario.scale_load)",
    "scale_etsr": "a factor >= 0 on every ETSR limit (Scenario.scale_etsr)",
    "ghg_allowance_usd_per_t": "an allowance price >= 0 ($/t): CISO as GHG area CA with GHG "
                               "bids at emission rate x price (RTS-GMLC scenarios; "
                               "scenarios.importers.rts_gmlc_ghg); null: no GHG area",
}
LABEL = "label"
BUNDLED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


# ==========================================================================================
# the sweep definition
@dataclass(frozen=True)
class Source:
    """One scenario of a sweep: a scenario folder, or a date for an importer."""

    kind: str  # "dir" or an importer name ("rts_gmlc")
    ref: str  # absolute folder path, or an ISO date

    @property
    def label(self) -> str:
        return self.ref if self.kind != "dir" else Path(self.ref).name


@dataclass(frozen=True)
class Sweep:
    """A parsed, validated sweep file."""

    name: str
    file: str
    sources: tuple[Source, ...]
    points: tuple[dict, ...]  # swept values per point (phase included when `phases:` is given)
    fixed: dict = field(default_factory=dict)  # `set:` values, the same for every run
    description: str = ""
    format: str = "csv"
    definition: dict = field(default_factory=dict)  # the YAML as read (dates as text)

    @property
    def swept(self) -> list[str]:
        names: list[str] = []
        for p in self.points:
            for k in p:
                if k not in names:
                    names.append(k)
        return names

    def __len__(self) -> int:
        return len(self.sources) * len(self.points)


def _yaml_lines(text: str) -> dict[tuple, int]:
    """Map key paths of a YAML document ('grid', 'ir_cap') to their 1-based line numbers."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(node, path: tuple) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = path + (k.value,)
                out[key] = k.start_mark.line + 1
                walk(v, key)
                out[key] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out[path + (i,)] = v.start_mark.line + 1
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return out


def _key_text(path: tuple) -> str:
    s = ""
    for p in path:
        s += f"[{p}]" if isinstance(p, int) else (("." if s else "") + str(p))
    return s


class _Collector:
    def __init__(self, file: str, lines: dict[tuple, int]):
        self.file, self.lines, self.problems = file, lines, []

    def add(self, path: tuple, found: str, expected: str) -> None:
        line = None
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                line = self.lines[path[:i]]
                break
        self.problems.append(Problem(self.file, line, _key_text(path) or None, found, expected))


def _plain(v: Any) -> Any:
    """YAML values to JSON-able ones (dates -> ISO text)."""
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _resolve_scenario(ref: str, base: Path) -> Path | None:
    p = Path(ref).expanduser()
    candidates = [p] if p.is_absolute() else [base / p, BUNDLED_SCENARIOS / p, Path.cwd() / p]
    for c in candidates:
        if (c / "scenario.yaml").is_file():
            return c.resolve()
    return None


def _dates(spec: Any, col: _Collector, path: tuple) -> list[str]:
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("start", "end")]
        for k in unknown:
            col.add(path + (k,), f"unknown key '{k}'", "start and end (inclusive dates)")
        try:
            start = _dt.date.fromisoformat(str(_plain(spec.get("start"))))
            end = _dt.date.fromisoformat(str(_plain(spec.get("end"))))
        except (TypeError, ValueError):
            col.add(path, repr(_plain(spec)), "{start: YYYY-MM-DD, end: YYYY-MM-DD}")
            return []
        if end < start:
            col.add(path + ("end",), end.isoformat(), f"a date on or after {start.isoformat()}")
            return []
        return [(start + _dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    if not isinstance(spec, list) or not spec:
        col.add(path, repr(_plain(spec)), "a list of dates (YYYY-MM-DD) or {start:, end:}")
        return []
    out = []
    for i, d in enumerate(spec):
        try:
            out.append(_dt.date.fromisoformat(str(_plain(d))).isoformat())
        except ValueError:
            col.add(path + (i,), repr(_plain(d)), "a date YYYY-MM-DD")
    return out


def _check_variation(name: str, value: Any, col: _Collector, path: tuple) -> Any:
    """Coerce and check one input variation (VARIATIONS) or a label."""
    if name == LABEL:
        if path[0] != "list":
            col.add(path, "a label outside a list point", "label: only in a `list:` point")
        elif not isinstance(value, str) or not value.strip():
            col.add(path, repr(_plain(value)), "a non-empty text naming the run")
        else:
            return value.strip()
        return None
    if name == "without_resource":
        ids = [] if value in (None, "") else value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in ids):
            col.add(path, repr(_plain(value)), VARIATIONS[name])
            return None
        return sorted(str(v) for v in ids)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
            or value == float("inf"):
        col.add(path, repr(_plain(value)), VARIATIONS[name])
        return None
    return float(value)


def _check_value(name: str, value: Any, col: _Collector, path: tuple) -> Any:
    """Coerce and check one parameter value (or input variation, or label); the problem
    names the sweep key."""
    if name in VARIATIONS or name == LABEL:
        return _check_variation(name, value, col, path)
    if name not in MarketParameters.names():
        col.add(path, f"unknown parameter '{name}'",
                "a MarketParameters name (see scenarios/parameters.py), "
                + ", ".join(VARIATIONS) + " or label")
        return None
    if isinstance(value, (dict, list)):
        col.add(path, repr(_plain(value)), f"one value of {name}")
        return None
    default = MarketParameters.__dataclass_fields__[name].default
    if isinstance(value, bool) and isinstance(default, str):
        # YAML 1.1 reads a bare off/on/no/yes as a boolean: mpm_mode: off means "off"
        value = "on" if value else "off"
    try:
        params = MarketParameters().with_updates({name: _plain(value)}, "sweep")
    except ScenarioError as exc:
        for p in exc.problems:
            col.add(path, p.found, p.expected)
        return None
    return getattr(params, name)


def parse_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; every problem is reported, naming the file and key."""
    file = Path(path)
    fname = str(path)
    if not file.is_file():
        raise ScenarioError(Problem(fname, None, None, "no such file", "a sweep YAML file"))
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(Problem(fname, None, None, f"bytes that are not UTF-8 text (byte "
                                    f"{exc.start})", "a UTF-8 YAML sweep file")) from None
    except OSError as exc:
        raise ScenarioError(Problem(fname, None, None, f"an unreadable file "
                                    f"({type(exc).__name__})", "a sweep YAML file")) from None
    col = _Collector(fname, _yaml_lines(text))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(Problem(fname, None if mark is None else mark.line + 1, None,
                                    "invalid YAML", "valid YAML")) from None
    if not isinstance(data, dict):
        raise ScenarioError(Problem(fname, None, None, type(data).__name__,
                                    "a mapping with scenarios/importer, grid or list, phases"))
    for k in data:
        if k not in SWEEP_KEYS:
            col.add((k,), f"unknown key '{k}'", "one of " + ", ".join(SWEEP_KEYS))
    name = data.get("name", file.stem)
    if not isinstance(name, str) or not name.strip():
        col.add(("name",), repr(name), "a non-empty name")
        name = file.stem

    # -- scenarios -----------------------------------------------------------------------
    sources: list[Source] = []
    scen = data.get("scenarios")
    if scen is not None:
        if isinstance(scen, str):
            scen = [scen]
        if not isinstance(scen, list) or not scen:
            col.add(("scenarios",), repr(scen), "a list of scenario folders")
        else:
            for i, s in enumerate(scen):
                if not isinstance(s, str):
                    col.add(("scenarios", i), repr(s), "a scenario folder path")
                    continue
                p = _resolve_scenario(s, file.resolve().parent)
                if p is None:
                    col.add(("scenarios", i), f"'{s}' (no scenario.yaml there)",
                            "a scenario folder, relative to the sweep file, or a bundled "
                            "scenario's name")
                else:
                    sources.append(Source("dir", str(p)))
    imp = data.get("importer")
    if imp is not None:
        if not isinstance(imp, dict):
            col.add(("importer",), repr(imp), "a mapping {name: rts_gmlc, dates: [...]}")
        else:
            for k in imp:
                if k not in ("name", "dates"):
                    col.add(("importer", k), f"unknown key '{k}'", "name, dates")
            iname = imp.get("name")
            if iname not in IMPORTERS:
                col.add(("importer", "name"), repr(iname), "one of " + ", ".join(IMPORTERS))
            dates = _dates(imp.get("dates"), col, ("importer", "dates"))
            if iname in IMPORTERS:
                sources.extend(Source(iname, d) for d in dates)
    if scen is None and imp is None:
        col.add(("scenarios",), "neither scenarios nor importer",
                "scenarios: [folders] or importer: {name: rts_gmlc, dates: [...]}")

    # -- fixed values -----------------------------------------------------------------------
    fixed: dict[str, Any] = {}
    raw_set = data.get("set") or {}
    if not isinstance(raw_set, dict):
        col.add(("set",), repr(raw_set), "a mapping of parameter names to values")
        raw_set = {}
    for k, v in raw_set.items():
        val = _check_value(str(k), v, col, ("set", k))
        if val is not None:
            fixed[str(k)] = val

    # -- points -------------------------------------------------------------------------------
    points: list[dict] = []
    grid, lst = data.get("grid"), data.get("list")
    if grid is not None and lst is not None:
        col.add(("list",), "both grid and list", "one of grid (cartesian product) or list")
    elif grid is not None:
        if not isinstance(grid, dict) or not grid:
            col.add(("grid",), repr(_plain(grid)), "a mapping: parameter name -> list of values")
        else:
            axes: list[tuple[str, list]] = []
            for k, values in grid.items():
                values = values if isinstance(values, list) else [values]
                if not values:
                    col.add(("grid", k), "an empty list", "at least one value")
                checked = []
                for i, v in enumerate(values):
                    c = _check_value(str(k), v, col, ("grid", k, i))
                    if (c is not None or (k == "without_resource" and v is None)) \
                            and c not in checked:
                        checked.append(c)
                axes.append((str(k), checked))
            points = [dict(zip([a for a, _ in axes], combo))
                      for combo in itertools.product(*[vals for _, vals in axes])]
    elif lst is not None:
        if not isinstance(lst, list) or not lst:
            col.add(("list",), repr(_plain(lst)), "a list of mappings parameter -> value")
        else:
            for i, pt in enumerate(lst):
                if not isinstance(pt, dict) or not pt:
                    col.add(("list", i), repr(_plain(pt)), "a mapping parameter -> value")
                    continue
                point = {}
                for k, v in pt.items():
                    c = _check_value(str(k), v, col, ("list", i, k))
                    if c is not None:
                        point[str(k)] = c
                if point not in points:
                    points.append(point)
    if not points:
        points = [{}]

    phases = data.get("phases")
    if phases is not None:
        phases = phases if isinstance(phases, list) else [phases]
        checked = []
        for i, ph in enumerate(phases):
            c = _check_value("phase", ph, col, ("phases", i))
            if c is not None and c not in checked:
                checked.append(c)
        used = ([k for k in (grid or {}) if k == "phase"] if isinstance(grid, dict) else []) + \
            [k for pt in (lst or []) if isinstance(pt, dict) for k in pt if k == "phase"] + \
            [k for k in raw_set if k == "phase"]
        if used:
            col.add(("phases",), "phase also set in grid, list or set",
                    "the phase given in one place only")
        points = [dict(p, phase=ph) for ph in checked for p in points]
    for k in fixed:
        if any(k in p for p in points):
            col.add(("set", k), f"'{k}' both fixed and swept", "each parameter in one place")

    fmt = data.get("format", "csv")
    if fmt not in ("csv", "parquet"):
        col.add(("format",), repr(fmt), "csv or parquet")
    if col.problems:
        raise ScenarioError(col.problems)
    return Sweep(name=name.strip(), file=str(file.resolve()), sources=tuple(sources),
                 points=tuple(points), fixed=fixed, description=str(data.get("description", "")),
                 format=fmt, definition=_plain(data))


# ==========================================================================================
# planning: one RunSpec per run
@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep, as sent to a worker (JSON-able through `to_dict`)."""

    run_id: str
    source: dict  # {"kind": "dir", "path": ..., "origin": ...}
    overrides: dict  # parameter updates applied on top of the scenario's own
    point: dict  # the swept values of this run
    scenario: str
    trade_date: str
    hours: int
    input_hash: str
    parameters: dict  # the full parameters in force
    format: str = "csv"
    sweep: str = ""
    sweep_id: str = ""
    variations: dict = field(default_factory=dict)  # input variations (VARIATIONS) applied
    label: str | None = None  # the point's label, if any

    def to_dict(self) -> dict:
        return asdict(self)


def _load_source_scenario(source: Source, store: Store, col: _Collector, index: int):
    """The scenario of a source (on the driver). Importer output is written into the store
    (`scenarios/`) so that workers load exactly what was planned."""
    from scenarios import load_scenario, write_scenario

    if source.kind == "dir":
        try:
            return load_scenario(source.ref), {"kind": "dir", "path": source.ref}
        except ScenarioError as exc:
            for p in exc.problems:
                col.add(("scenarios", index), f"{Path(source.ref).name}/{p}",
                        "a valid scenario folder")
            return None, None
    try:
        from scenarios.importers.rts_gmlc import import_rts_gmlc
    except ImportError as exc:
        col.add(("importer", "name"), f"importer not available ({exc})",
                "scenarios.importers.rts_gmlc")
        return None, None
    try:
        made = import_rts_gmlc(source.ref)
    except ScenarioError as exc:
        for p in exc.problems:
            col.add(("importer", "dates"), f"{source.ref}: {p}", "a date the importer covers")
        return None, None
    if isinstance(made, (str, Path)):
        folder = Path(made).resolve()
    else:
        folder = store.scenarios_dir / f"rts_gmlc-{source.ref}-{made.input_hash()[:10]}"
        if not (folder / "scenario.yaml").is_file():
            write_scenario(made, folder, overwrite=True)  # the store owns scenarios/
            folder.chmod(0o755)  # the writer's temporary folder is created 0700
            from scenarios.importers import rts_gmlc
            notice = Path(getattr(rts_gmlc, "BUNDLED_DATA_DIR", "")) / "NOTICE.md"
            if notice.is_file():  # the data's notice travels with every copy
                shutil.copyfile(notice, folder / "NOTICE.md")
    sc = load_scenario(folder)
    return sc, {"kind": "dir", "path": str(folder),
                "origin": {"importer": source.kind, "date": source.ref}}


def plan(sweep: Sweep, store: Store) -> list[RunSpec]:
    """Every run of the sweep with its id (deduplicated: identical runs are one run)."""
    col = _Collector(sweep.file, _yaml_lines(Path(sweep.file).read_text())
                     if Path(sweep.file).is_file() else {})
    specs: list[RunSpec] = []
    seen: set[str] = set()
    n_dir = 0
    for source in sweep.sources:
        index = n_dir if source.kind == "dir" else 0
        n_dir += source.kind == "dir"
        base, src = _load_source_scenario(source, store, col, index)
        if base is None:
            continue
        base_hash = base.input_hash()
        for point in sweep.points:
            overrides, variations, label = split_point({**sweep.fixed, **point})
            try:
                params = base.parameters.with_updates(overrides, sweep.file)
                sc = replace(base, parameters=params)
                if variations:
                    sc = apply_variations(sc, variations)
            except (ScenarioError, KeyError) as exc:
                problems = exc.problems if isinstance(exc, ScenarioError) else [
                    Problem("", None, None, str(exc).strip("'\""), "")]
                for p in problems:
                    col.add(("scenarios", index), f"{base.name} {point}: {p}",
                            "a point that makes a valid scenario")
                continue
            rid = run_id_for(sc, None if variations else base_hash)
            if rid in seen:
                continue
            seen.add(rid)
            specs.append(RunSpec(run_id=rid, source=src, overrides=overrides, point=dict(point),
                                 scenario=base.name, trade_date=base.trade_date, hours=base.hours,
                                 input_hash=sc.input_hash() if variations else base_hash,
                                 parameters=params.to_dict(), format=sweep.format,
                                 sweep=sweep.name, variations=variations, label=label))
    if col.problems:
        raise ScenarioError(col.problems)
    sweep_id = hashlib.sha256(canonical_json(
        {"definition": sweep.definition, "runs": [s.run_id for s in specs]}).encode()
    ).hexdigest()[:12]
    return [replace(s, sweep_id=sweep_id) for s in specs]


def sweep_record(sweep: Sweep, specs: list[RunSpec]) -> dict:
    return {"sweep_id": specs[0].sweep_id if specs else "empty", "name": sweep.name,
            "file": sweep.file, "description": sweep.description,
            "recorded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "definition": sweep.definition,
            "runs": [{"run_id": s.run_id, "scenario": s.scenario, "trade_date": s.trade_date,
                      "point": s.point} for s in specs]}


# ==========================================================================================
# the task (runs on a worker)
def load_run_scenario(spec: dict):
    """The scenario of a run spec with its overrides applied (what the worker solves)."""
    from scenarios import load_scenario

    src = spec["source"]
    if src.get("kind") != "dir":
        raise ValueError(f"unknown source kind {src.get('kind')!r}")
    sc = load_scenario(src["path"], spec.get("overrides") or {})
    return apply_variations(sc, spec.get("variations") or {})


def split_point(point: dict) -> tuple[dict, dict, str | None]:
    """(parameter overrides, input variations, label) of a sweep point."""
    overrides = {k: v for k, v in point.items() if k not in VARIATIONS and k != LABEL}
    variations = {k: point[k] for k in VARIATIONS if k in point and point[k] not in (None, [])}
    return overrides, variations, point.get(LABEL)


def apply_variations(scenario, variations: dict):
    """The scenario with the input variations applied (VARIATIONS order), validated by the
    loader's rules (scenarios.scenario.Scenario.validate)."""
    if not variations:
        return scenario
    sc = scenario
    if variations.get("without_resource"):
        sc = sc.without_resource(*variations["without_resource"])
    if "scale_load" in variations:
        sc = sc.scale_load(float(variations["scale_load"]))
    if "scale_etsr" in variations:
        sc = sc.scale_etsr(float(variations["scale_etsr"]))
    if "ghg_allowance_usd_per_t" in variations:   # §5.13, docs/ghg.md
        from scenarios.importers.rts_gmlc_ghg import add_ghg_area
        sc = add_ghg_area(sc, float(variations["ghg_allowance_usd_per_t"]))
    return sc.validate()


def run_one(spec: dict, store_root: str) -> dict:
    """Load, solve and store one run; never raises for a failed run (it is recorded)."""
    store = Store(store_root)
    rid = spec["run_id"]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if store.is_done(rid):
        return {"run_id": rid, "status": "skipped", "worker": worker}
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    try:
        scenario = load_run_scenario(spec)
        actual = run_id_for(scenario)
        if actual != rid:
            raise ScenarioError(Problem(
                spec["source"].get("path", "?"), None, None,
                f"inputs with run id {actual}",
                f"the inputs planned as run {rid}: the scenario changed since the sweep was "
                "planned; run the sweep again"))
        t_load = time.perf_counter()
        import clearing.api as api  # the engine (looked up at call time)
        result = api.solve(scenario)
        t_solve = time.perf_counter()
        if store.is_done(rid):  # someone else finished it meanwhile (an orphaned task)
            return {"run_id": rid, "status": "skipped", "worker": worker}
        extra = {"store": {"run_id": rid, "sweep": spec.get("sweep"),
                           "label": spec.get("label"), "variations": spec.get("variations"),
                           "sweep_id": spec.get("sweep_id"), "point": spec.get("point"),
                           "source": spec.get("source"), "overrides": spec.get("overrides"),
                           "load_s": t_load - t0, "solve_wall_s": t_solve - t_load,
                           "wall_s": t_solve - t0, "started_at": started,
                           "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
                               timespec="seconds"),
                           "worker": worker}}
        try:
            store.save_run(result, rid, spec.get("format", "csv"), extra)
        except OSError:
            if not store.is_done(rid):  # lost a rename race only if the other writer won
                raise
        t_end = time.perf_counter()
        timings = (result.manifest or {}).get("timings") or {}
        return {"run_id": rid, "status": "done", "worker": worker, "wall_s": t_end - t0,
                "write_s": t_end - t_solve, "load_s": t_load - t0,
                "solve_s": timings.get("solve_s"), "total_s": timings.get("total_s")}
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none stops the sweep
        tb = traceback.format_exc()
        try:
            store.record_failure(rid, spec, exc, tb, where=worker)
        except OSError:
            pass
        return {"run_id": rid, "status": "failed", "worker": worker,
                "error_type": type(exc).__name__, "error": str(exc) or type(exc).__name__,
                "wall_s": time.perf_counter() - t0}


# ==========================================================================================
# the driver
@dataclass
class SweepOutcome:
    """What a sweep did: planned runs, those already in the store, and each result."""

    planned: list[str]
    already_done: list[str]
    results: list[dict] = field(default_factory=list)
    interrupted: bool = False
    elapsed_s: float = 0.0

    @property
    def done(self) -> list[str]:
        return [r["run_id"] for r in self.results if r["status"] in ("done", "skipped")]

    @property
    def failed(self) -> list[str]:
        return [r["run_id"] for r in self.results if r["status"] == "failed"]

    @property
    def remaining(self) -> int:
        return len(self.planned) - len(self.already_done) - len(self.done) - len(self.failed)


def _client(workers: int | None, scheduler: str | None):
    """A Dask client: to an existing scheduler (address or scheduler file), or to a new local
    cluster of `workers` processes, one thread each, on 127.0.0.1, without a dashboard."""
    from distributed import Client, LocalCluster

    if scheduler:
        if "://" not in scheduler and Path(scheduler).is_file():
            return Client(scheduler_file=scheduler, timeout="30s"), None
        return Client(scheduler, timeout="30s"), None
    n = workers or os.cpu_count() or 1
    # dashboard off; distributed still opens a small HTTP server (health/metrics) on every
    # node: bind the scheduler's to a free loopback port instead of 8787 (the workers' follow
    # their host, 127.0.0.1)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           scheduler_port=0, dashboard_address=None,
                           worker_dashboard_address=None, silence_logs=logging.ERROR,
                           scheduler_kwargs={"dashboard": False,
                                             "dashboard_address": "127.0.0.1:0"})
    return Client(cluster), cluster


def run_sweep(sweep: Sweep | str | Path, store: Store | str | Path, workers: int | None = None,
              scheduler: str | None = None, console=None, progress: bool = True,
              on_result: Callable[[dict], None] | None = None) -> SweepOutcome:
    """Plan, run the missing runs on Dask, rebuild the catalogue. `workers=0` runs the tasks
    in this process, one after the other, without Dask (debugging)."""
    from rich.console import Console

    console = console or Console(stderr=True, soft_wrap=True)
    sweep = sweep if isinstance(sweep, Sweep) else parse_sweep(sweep)
    store = store if isinstance(store, Store) else Store(store)
    store.init(forbid_inside=[src.ref for src in sweep.sources if src.kind == "dir"])
    store.clean_partial()
    t0 = time.perf_counter()
    specs = plan(sweep, store)
    store.record_sweep(sweep_record(sweep, specs))
    already = [s.run_id for s in specs if store.is_done(s.run_id)]
    todo = [s for s in specs if not store.is_done(s.run_id)]
    outcome = SweepOutcome(planned=[s.run_id for s in specs], already_done=already)
    console.print(f"sweep [bold]{sweep.name}[/]: {len(specs)} runs, {len(already)} already in "
                  f"{store.root}, {len(todo)} to run")
    if todo:
        try:
            _execute(todo, store, workers, scheduler, console, progress, outcome, on_result, t0)
        except KeyboardInterrupt:
            outcome.interrupted = True
    outcome.elapsed_s = time.perf_counter() - t0
    try:
        rebuild_catalogue(store)
    except KeyboardInterrupt:
        outcome.interrupted = True
    n_done = len(already) + len(outcome.done)
    msg = (f"{n_done} of {len(specs)} runs done, {len(outcome.failed)} failed, "
           f"{outcome.remaining} not run, in {outcome.elapsed_s:.1f} s; catalogue "
           f"{store.catalogue_path}")
    if outcome.interrupted:
        msg = "interrupted: " + msg + ". Run the same command again to finish the sweep."
    console.print(msg)
    return outcome


def _progress(console, enabled: bool):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("done [green]{task.fields[done]}[/] · failed "
                               "[red]{task.fields[failed]}[/] · remaining "
                               "{task.fields[remaining]}"),
                    TextColumn("elapsed"), TimeElapsedColumn(), console=console,
                    disable=not enabled, transient=False)


def _execute(todo: list[RunSpec], store: Store, workers: int | None, scheduler: str | None,
             console, progress: bool, outcome: SweepOutcome,
             on_result: Callable[[dict], None] | None, t0: float) -> None:
    counts = {"done": 0, "failed": 0}

    def record(res: dict, bar, task) -> None:
        outcome.results.append(res)
        key = "failed" if res["status"] == "failed" else "done"
        counts[key] += 1
        if res["status"] == "failed":
            bar.console.print(f"[red]failed[/] {res['run_id']}: {res.get('error_type')}: "
                              f"{_one_line(res.get('error', ''))}")
        bar.update(task, advance=1, done=counts["done"], failed=counts["failed"],
                   remaining=len(todo) - counts["done"] - counts["failed"])
        if on_result is not None:
            on_result(res)

    with _progress(console, progress) as bar:
        task = bar.add_task("runs", total=len(todo), done=0, failed=0, remaining=len(todo))
        if workers == 0 and not scheduler:
            for spec in todo:
                record(run_one(spec.to_dict(), str(store.root)), bar, task)
            return
        from distributed import as_completed

        client, cluster = _client(workers, scheduler)
        futures: dict = {}
        try:
            token = os.urandom(4).hex()
            for i, spec in enumerate(todo):
                fut = client.submit(run_one, spec.to_dict(), str(store.root), pure=False,
                                    key=f"edam-run-{spec.run_id}-{token}", priority=-i)
                futures[fut] = spec
            for fut in as_completed(list(futures)):
                spec = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record, go on
                    if store.is_done(spec.run_id):
                        res = {"run_id": spec.run_id, "status": "skipped"}
                    else:
                        store.record_failure(spec.run_id, spec.to_dict(), exc, where="scheduler")
                        res = {"run_id": spec.run_id, "status": "failed",
                               "error_type": type(exc).__name__, "error": str(exc)}
                record(res, bar, task)
        except KeyboardInterrupt:
            bar.console.print("[yellow]interrupted: cancelling the runs not finished "
                              "(finished runs are kept)[/]")
            _cancel(client, futures)
            raise
        finally:
            _close(client, cluster)


def _cancel(client, futures) -> None:
    try:
        client.cancel([f for f in futures if not f.done()], force=True)
    except Exception:  # noqa: BLE001 - best effort while interrupted
        pass


def _close(client, cluster) -> None:
    old = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # don't interrupt the shutdown itself
    except ValueError:  # not the main thread
        old = None
    try:
        try:
            client.close(timeout=10)
        except Exception:  # noqa: BLE001
            pass
        if cluster is not None:
            try:
                cluster.close(timeout=20)
            except Exception:  # noqa: BLE001
                pass
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _one_line(s: str, n: int = 300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


# ==========================================================================================
# CLI functions (wired into `edam` by clearing/cli.py)
def sweep_command(sweep_file, store, workers: int | None = None,
                  scheduler: str | None = None) -> int:
    """`edam sweep SWEEP_FILE --store STORE [--workers N | --scheduler tcp://host:port]`.

    Exit code: 0 every run done, 1 some runs failed, 2 bad sweep file or scenario, or a store
    folder that is refused (not a store: clearing.outputs), 130 interrupted (run the same command again to finish)."""
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    try:
        outcome = run_sweep(sweep_file, store, workers=workers, scheduler=scheduler,
                            console=console)
    except ScenarioError as exc:
        console.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        return 2
    except OutputPathError as exc:  # the store folder is refused before any run
        from rich.markup import escape
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    except (OSError, TimeoutError) as exc:  # e.g. the scheduler cannot be reached
        where = f"Dask scheduler {scheduler}" if scheduler else "local Dask cluster"
        console.print(f"[red]error:[/] {where}: {type(exc).__name__}: {_one_line(str(exc))}",
                      highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    if outcome.interrupted:
        return 130
    return 1 if outcome.failed else 0


RUNS_FORMATS = ("table", "csv", "json")
#: columns of the `edam runs` table view (csv/json carry every column of the catalogue's runs)
RUNS_TABLE_METRICS = ("avg_lmp", "iru_cleared_mwh", "iru_relaxed_mwh")


def runs_table_columns(df: pd.DataFrame) -> list[str]:
    """The columns `edam runs` shows as a table: identity, swept parameters, outcome."""
    swept = [c for c in df.columns if c in MarketParameters.names() and c != "phase"]
    labelled = ["label"] if "label" in df.columns and df["label"].notna().any() else []
    varied = [c for c in VARIATIONS if c in df.columns and df[c].notna().any()]
    cols = ["run_id", *labelled, "status", "scenario", "trade_date", "phase", *swept, *varied,
            "objective", "mip_gap", "total_s", "rse_passed",
            *[c for c in RUNS_TABLE_METRICS if c in df.columns],
            "error"]
    return [c for c in dict.fromkeys(cols) if c in df.columns]


def runs_csv(df: pd.DataFrame) -> str:
    """Every column of the runs table as CSV (JSON columns as JSON text)."""
    return df.to_csv(index=False, lineterminator="\n")


def runs_json(df: pd.DataFrame) -> str:
    """Every column of the runs table as a JSON list of objects (JSON columns nested,
    missing values null)."""
    records = []
    for rec in df.to_dict("records"):
        out = {}
        for k, v in rec.items():
            if k in ("parameters", "timings") and isinstance(v, str):
                try:
                    v = json.loads(v)
                except ValueError:
                    pass
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif hasattr(v, "item"):  # numpy scalar
                v = v.item()
            out[k] = v
        records.append(out)
    return json.dumps(records, indent=1, default=str) + "\n"


def runs_command(store, sort: str | None = None, where: str | None = None,
                 fmt: str = "table", rebuild: bool = False) -> int:
    """`edam runs STORE [--sort COLS] [--where COND] [--format table|csv|json] [--rebuild]`:
    list the runs of a store from its catalogue (rebuilt only when the store changed since,
    or when asked). 0 on success, 1 on a bad store, sort column or condition (docs/exit-codes.md)."""
    from rich.console import Console
    from rich.table import Table

    from clearing.progress import step_printer
    from clearing.runs.store import query_runs

    err = Console(stderr=True, highlight=False)
    st = Store(store)
    if not st.exists():
        err.print(f"[red]error:[/] {store}: not a run store (no runs/ folder)")
        return 1
    if fmt not in RUNS_FORMATS:
        err.print(f"[red]error:[/] --format: found {fmt!r}; expected one of "
                  f"{', '.join(RUNS_FORMATS)}")
        return 1
    progress = step_printer("edam runs")
    try:
        if rebuild:
            progress("rebuilding the catalogue (--rebuild)")
            rebuild_catalogue(st, progress)
        df = query_runs(st, where=where, sort=sort, refresh=not rebuild, progress=progress)
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc.problems[0] if exc.problems else exc}")
        return 1
    progress(f"{len(df)} runs listed")
    if fmt == "csv":
        sys.stdout.write(runs_csv(df))
        return 0
    if fmt == "json":
        sys.stdout.write(runs_json(df))
        return 0
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=240)
    n_done = int((df["status"] == "done").sum()) if len(df) else 0
    n_failed = int((df["status"] == "failed").sum()) if len(df) else 0
    title = f"{len(df)} runs in {st.root} ({n_done} done, {n_failed} failed)"
    if where:
        title += f" where {where}"
    table = Table(title=title)
    cols = runs_table_columns(df)
    for c in cols:
        table.add_column(c, overflow="fold", justify="right" if c not in (
            "run_id", "label", "status", "scenario", "trade_date", "error", "without_resource")
            else "left")
    for r in df.to_dict("records"):
        cells = []
        for c in cols:
            v = r.get(c)
            if v is None or (isinstance(v, float) and v != v):
                cells.append("")
            elif c == "status":
                cells.append("[green]done[/]" if v == "done" else "[red]failed[/]")
            elif c == "error":
                cells.append(_one_line(v, 80))
            elif isinstance(v, float):
                cells.append(f"{v:,.4g}" if c == "mip_gap" else f"{v:,.2f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console.print(table)
    console.print(f"catalogue: {st.catalogue_path}")
    return 0


def report_command(path, out=None) -> int:
    """`edam report RUN_DIR|STORE [--out FILE]` (see clearing.runs.report)."""
    from clearing.runs.report import report_command as _report
    return _report(path, out)


__all__ = ["Sweep", "Source", "RunSpec", "SweepOutcome", "parse_sweep", "plan", "run_one",
           "run_sweep", "sweep_command", "runs_command", "report_command", "load_run_scenario"]
