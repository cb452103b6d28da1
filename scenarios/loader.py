"""Load and validate a scenario folder (scenario.yaml + CSV tables) into a `Scenario`.

Every problem is collected (not just the first) and raised together as one `ScenarioError`
whose lines name the file, the CSV row (header = line 1), the column, what was found and what
was expected (issue: scenario format, validation).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import yaml

from scenarios.bids import resolve_side
from scenarios.errors import Problem, ScenarioError
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario
from scenarios.schema import (DEMAND_TYPES, IR_BID_CAP_USD_PER_MWH, SUPPLY_TYPES, TABLES,
                              TABLES_BY_NAME, Column, Table)

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
YAML_KEYS = {"name", "description", "trade_date", "hours", "reference_bus", "parameters",
             "metadata", "notice"}
#: a scenario name is an identifier: it names the default output folder runs/<name>
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NAME_EXPECTED = ("a name of letters, digits, '.', '_' and '-', starting with a letter or digit, "
                 "at most 100 characters (pattern ^[A-Za-z0-9][A-Za-z0-9._-]*$; no path "
                 "separators or '..')")


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load the scenario folder `path` (or a bundled scenario by name, e.g. 'example_11_2', from
    any directory); `overrides` are parameter updates (e.g. from --set)."""
    root = resolve_scenario_path(path)
    if not root.is_dir():
        raise ScenarioError(Problem(str(root), None, None, "no such folder",
                                    "a scenario folder with scenario.yaml and CSV tables, or a "
                                    "bundled scenario: " + ", ".join(bundled_names())))
    header, lines, problems = _read_yaml(root)
    hours = header.get("hours", 24)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        df, ps = _read_table(root, table)
        problems += ps
        if df is not None:
            tables[table.name] = df
    problems += _unknown_files(root)
    if not problems:
        problems += _check_hours_range(tables, hours)
        problems += _check_references(tables)
        if not problems:  # the cross-table rules assume typed, in-range, resolvable ids
            problems += check_semantics(tables, hours)
    ref_bus = header.get("reference_bus")
    if ref_bus is not None and "buses" in tables and str(ref_bus) not in set(tables["buses"]["bus"]):
        problems.append(Problem("scenario.yaml", lines.get(("reference_bus",)), "reference_bus",
                                f"unknown bus '{ref_bus}'", "a bus id of buses.csv"))
    params = MarketParameters()
    raw_params = header.get("parameters") or {}
    if not isinstance(raw_params, dict):
        problems.append(Problem("scenario.yaml", lines.get(("parameters",)), "parameters",
                                repr(raw_params), "a mapping of parameter names to values"))
        raw_params = {}
    try:
        params = params.with_updates(raw_params, "scenario.yaml")
    except ScenarioError as exc:  # point at the line of each bad parameter
        problems += [Problem(q.file, lines.get(("parameters", q.column), q.row), q.column,
                             q.found, q.expected) for q in exc.problems]
    if overrides:
        try:
            params = params.with_updates(overrides, "--set")
        except ScenarioError as exc:
            problems += exc.problems
    name = str(header["name"]) if header.get("name") is not None else root.resolve().name
    if NAME_PATTERN.fullmatch(name) is None and not any(q.column == "name" for q in problems):
        problems.append(Problem("scenario.yaml", lines.get(("name",)), "name",
                                repr(_excerpt(name)) + ("" if header.get("name") is not None
                                                        else " (the folder's name; no name key)"),
                                NAME_EXPECTED))
    if not problems:
        dcs_source = ("--set", None) if overrides and "deployment_constraint_set" in overrides \
            else ("scenario.yaml", lines.get(("parameters", "deployment_constraint_set")))
        problems += _check_parameter_files(root, params, tables, dcs_source)
    if problems:
        raise ScenarioError(problems)
    for df in tables.values():  # CSV row numbers were for messages; pandas merges dislike attrs
        df.attrs.clear()
    return Scenario(validated=True, name=name,
                    trade_date=str(header.get("trade_date", "")), hours=int(hours),
                    tables=tables, parameters=params,
                    description=str(header.get("description", "")),
                    reference_bus=(str(header["reference_bus"])
                                   if header.get("reference_bus") is not None else None),
                    metadata=dict(header.get("metadata") or {}),
                    source_dir=str(root.resolve()))


BUNDLED_DIR = Path(__file__).resolve().parent


def bundled_names() -> list[str]:
    """Names of the bundled scenario folders (scenarios/<name>/scenario.yaml)."""
    return sorted(p.parent.name for p in BUNDLED_DIR.glob("*/scenario.yaml"))


def resolve_scenario_path(path: str | Path) -> Path:
    """`path` if it is a folder; else a bundled scenario of that name ('example_11_2') or
    that repository path ('scenarios/example_11_2'), whatever the working directory."""
    root = Path(path)
    if root.is_dir() or root.is_absolute():
        return root
    for cand in (BUNDLED_DIR / root, BUNDLED_DIR.parent / root):
        if (cand / "scenario.yaml").is_file():
            return cand
    return root


# --------------------------------------------------------------------------------------------
def _read_yaml(root: Path) -> tuple[dict, dict[tuple, int], list[Problem]]:
    """The header mapping, the line (1-based) of each top-level key and of each key under
    `parameters` (as ('parameters', name)), and the problems found."""
    f = root / "scenario.yaml"
    if not f.is_file():
        return {}, {}, [Problem("scenario.yaml", None, None, "file missing",
                                "scenario.yaml with name, trade_date, hours, parameters")]
    try:
        text = f.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return {}, {}, [Problem("scenario.yaml", None, None, f"an unreadable file ({exc})",
                                "a UTF-8 YAML file")]
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
        data = {} if data is None else data
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        detail = getattr(exc, "problem", None)
        repeated = bool(detail) and "repeated" in str(detail)
        return {}, {}, [Problem("scenario.yaml", None if line is None else line + 1, None,
                                (str(detail) if repeated else
                                 "invalid YAML" + (f" ({detail})" if detail else "")),
                                "each key once in a mapping" if repeated else "valid YAML")]
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        return {}, {}, [Problem("scenario.yaml", None, None, f"unreadable YAML ({exc})",
                                "valid YAML")]
    if not isinstance(data, dict):
        return {}, {}, [Problem("scenario.yaml", 1, None, type(data).__name__,
                                "a mapping of keys to values")]
    lines = _yaml_lines(text)
    problems = [Problem("scenario.yaml", lines.get((k,)), str(k), f"unknown key '{k}'",
                        "one of " + ", ".join(sorted(YAML_KEYS)))
                for k in data if k not in YAML_KEYS]
    hours = data.get("hours", 24)
    if not isinstance(hours, int) or isinstance(hours, bool) or hours not in (23, 24, 25):
        if isinstance(hours, int) and not isinstance(hours, bool) and 1 <= hours <= 48:
            pass  # short horizons are allowed for hand-solvable cases and benchmarks
        else:
            problems.append(Problem("scenario.yaml", lines.get(("hours",)), "hours", repr(hours),
                                    "an integer number of hours (24; 23/25 on DST days)"))
            data["hours"] = 24
    for k in ("name", "description", "trade_date", "reference_bus", "notice"):
        if isinstance(data.get(k), (dict, list)):
            problems.append(Problem("scenario.yaml", lines.get((k,)), k,
                                    type(data[k]).__name__, "a single value (text)"))
            data[k] = None if k == "reference_bus" else ""
    if not isinstance(data.get("trade_date"), (dict, list)) and \
            not _check_trade_date(data.get("trade_date")):
        problems.append(Problem("scenario.yaml", lines.get(("trade_date",)), "trade_date",
                                repr(data["trade_date"]), "a date YYYY-MM-DD, e.g. '2020-07-09'"))
        data["trade_date"] = ""
    if data.get("metadata") is not None and not isinstance(data["metadata"], dict):
        problems.append(Problem("scenario.yaml", lines.get(("metadata",)), "metadata",
                                repr(data["metadata"]), "a mapping (free-form key: value)"))
        data["metadata"] = {}
    return data, lines, problems


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, except that a key repeated in one mapping is an error naming its
    line (PyYAML keeps the last silently: a second `parameters:` would drop the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"key '{key}' repeated (first on line {seen[key] + 1})",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                UniqueKeyLoader.construct_mapping)


def _check_trade_date(value: Any) -> bool:
    """trade_date is blank or a calendar date YYYY-MM-DD (YAML may have made it a date)."""
    if value is None or value == "" or isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def _yaml_lines(text: str) -> dict[tuple, int]:
    """1-based line of each top-level key, and of each key under `parameters`."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if not isinstance(root, yaml.MappingNode):
        return out
    for k, v in root.value:
        if not isinstance(k, yaml.ScalarNode):
            continue
        out[(k.value,)] = k.start_mark.line + 1  # a repeated key: the last wins, as in PyYAML
        if k.value == "parameters" and isinstance(v, yaml.MappingNode):
            for pk, _ in v.value:
                if isinstance(pk, yaml.ScalarNode):
                    out[("parameters", pk.value)] = pk.start_mark.line + 1
    return out


def _unknown_files(root: Path) -> list[Problem]:
    known = {t.file for t in TABLES}
    return [Problem(p.name, None, None, "unknown table file",
                    "one of " + ", ".join(sorted(known)))
            for p in sorted(root.glob("*.csv")) if p.name not in known]


def _read_table(root: Path, table: Table) -> tuple[pd.DataFrame | None, list[Problem]]:
    path = root / table.file
    if not path.exists():
        if table.required:
            return None, [Problem(table.file, None, None, "file missing", f"the {table.name} table")]
        return None, []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:  # -sig: tolerate an Excel BOM
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return None, [Problem(table.file, None, None, f"unreadable CSV ({exc})", "UTF-8 CSV")]
    return parse_table(table, rows)


def parse_table(table: Table, rows: list[list[str]]) -> tuple[pd.DataFrame | None,
                                                              list[Problem]]:
    """Type and check the CSV rows (header first) of `table`: the per-file rules (columns,
    values, ranges, choices, duplicate ids). Used for files and for in-memory tables alike."""
    if not rows:
        return None, [Problem(table.file, 1, None, "an empty file", "a header line")]
    header = [h.strip() for h in rows[0]]
    problems: list[Problem] = []
    for h in header:
        if h not in table.column_names:
            problems.append(Problem(table.file, 1, h or "(blank)", f"unknown column '{h}'",
                                    "one of " + ", ".join(table.column_names)))
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        problems.append(Problem(table.file, 1, dup[0], "a duplicated column", "unique columns"))
    for c in table.columns:
        if c.required and c.name not in header:
            problems.append(Problem(table.file, 1, c.name, "column missing",
                                    f"a '{c.name}' column ({c.doc or c.kind})"))
    if problems:
        return None, problems
    # blank lines (e.g. at the end of the file) are skipped; rows keep their line numbers
    numbered = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(x.strip() for x in r)]
    body = [r for _, r in numbered]
    row_numbers = [n for n, _ in numbered]
    data: dict[str, list] = {}
    for c in table.columns:
        if c.name in header:
            j = header.index(c.name)
            raw = [(r[j].strip() if j < len(r) else "") for r in body]
        else:
            raw = [""] * len(body)
        values, ps = _parse_column(table, c, raw, row_numbers)
        problems += ps
        data[c.name] = values
    for n, r in numbered:
        if len(r) > len(header) and any(x.strip() for x in r[len(header):]):
            problems.append(Problem(table.file, n, None, f"{len(r)} fields",
                                    f"{len(header)} fields as in the header"))
    if problems:
        return None, problems
    df = pd.DataFrame({c.name: pd.Series(data[c.name], dtype=_dtype(c)) for c in table.columns})
    df["_row"] = np.array(row_numbers, dtype=np.int64)
    dup = df.duplicated(list(table.key), keep=False)
    for _, r in df[dup].iterrows():
        problems.append(Problem(table.file, int(r["_row"]), ",".join(table.key),
                                "duplicate id " + "/".join(str(r[k]) for k in table.key),
                                "each id once"))
    if problems:
        return None, problems
    df = df.sort_values(list(table.key), kind="stable").reset_index(drop=True)
    df.attrs["rows"] = df.pop("_row").to_numpy()
    return df, []


def _dtype(c: Column) -> Any:
    return {"str": object, "int": "int64", "float": "float64", "bool": "bool"}[c.kind]


def _parse_column(table: Table, c: Column, raw: list[str],
                  row_numbers: list[int] | None = None) -> tuple[list, list[Problem]]:
    out: list = []
    problems: list[Problem] = []
    for i, s in enumerate(raw):
        row = row_numbers[i] if row_numbers is not None else i + 2
        if s == "":
            if c.required:
                problems.append(Problem(table.file, row, c.name, "an empty cell",
                                        f"a value ({_expect(c)})"))
                out.append(None)
            else:
                out.append(c.default)
            continue
        try:
            v = _parse_value(c, s)
        except ValueError:
            problems.append(Problem(table.file, row, c.name, repr(s), _expect(c)))
            out.append(None)
            continue
        p = _bounds_problem(table, c, row, v)
        if p:
            problems.append(p)
        out.append(v)
    return out, problems


def _parse_value(c: Column, s: str) -> Any:
    if c.kind == "str":
        return s
    if c.kind == "bool":
        low = s.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError
    if c.kind == "int":
        v = float(s)
        if not math.isfinite(v) or v != int(v) or abs(v) > 2 ** 53:  # int64, exactly
            raise ValueError
        return int(v)
    v = float(s)
    if math.isnan(v):
        raise ValueError
    if math.isinf(v) and not (c.default is not None and isinstance(c.default, float)
                              and math.isinf(c.default)):
        raise ValueError
    return v


def _expect(c: Column) -> str:
    kind = {"str": "text", "int": "an integer", "float": "a number",
            "bool": "true or false"}[c.kind]
    if c.choices:
        return "one of " + ", ".join(x for x in c.choices if x)
    rng = []
    if c.lo is not None:
        rng.append(f">= {c.lo:g}")
    if c.hi is not None:
        rng.append(f"<= {c.hi:g}")
    return kind + (" " + " and ".join(rng) if rng else "") + (f" {c.unit}" if c.unit else "")


def _bounds_problem(table: Table, c: Column, row: int, v: Any) -> Problem | None:
    if c.choices is not None and v not in c.choices:
        return Problem(table.file, row, c.name, repr(v), _expect(c))
    if c.kind in ("int", "float"):
        if isinstance(c.default, float) and math.isinf(c.default) and v == c.default:
            return None  # inf where the column's default is inf: "no limit"
        if (c.lo is not None and v < c.lo) or (c.hi is not None and v > c.hi):
            return Problem(table.file, row, c.name, f"{v:g}", _expect(c))
    return None


def _rows(df: pd.DataFrame) -> np.ndarray:
    return df.attrs.get("rows", np.arange(2, len(df) + 2))


# --------------------------------------------------------------------------------------------
def _check_hours_range(tables: dict[str, pd.DataFrame], hours: int) -> list[Problem]:
    problems = []
    for name, df in tables.items():
        if "hour" in df.columns:
            bad = df["hour"] > hours
            for i in np.flatnonzero(bad.to_numpy()):
                problems.append(Problem(f"{name}.csv", int(_rows(df)[i]), "hour",
                                        str(df["hour"].iat[i]), f"an hour in 1..{hours}"))
    return problems


def _check_references(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    problems = []
    for t in TABLES:
        df = tables.get(t.name)
        if df is None:
            continue
        for c in t.columns:
            if c.ref is None:
                continue
            target = tables.get(c.ref[0])
            known = set(target[c.ref[1]]) if target is not None else set()
            bad = ~df[c.name].isin(known)
            for i in np.flatnonzero(bad.to_numpy()):
                problems.append(Problem(t.file, int(_rows(df)[i]), c.name,
                                        f"unknown {c.ref[1]} '{df[c.name].iat[i]}'",
                                        f"an id listed in {c.ref[0]}.csv"))
    return problems


def check_semantics(tables: dict[str, pd.DataFrame], hours: int) -> list[Problem]:
    """Cross-row and cross-table rules (spec §2). Tables are already typed and referenced."""
    p: list[Problem] = []
    baas, buses, res = tables["baas"], tables["buses"], tables["resources"]
    # exactly one reference BAA
    n_ref = int(baas["is_reference"].sum())
    if n_ref != 1:
        p.append(Problem("baas.csv", None, "is_reference", f"{n_ref} reference BAAs",
                         "exactly one BAA with is_reference = true"))
    # every BAA has a bus
    for i, b in enumerate(baas["baa"]):
        if b not in set(buses["baa"]):
            p.append(Problem("baas.csv", int(_rows(baas)[i]), "baa", f"BAA '{b}' with no bus",
                             "at least one bus in buses.csv"))
    # islanded buses
    br = tables["branches"]
    g = nx.Graph()
    g.add_nodes_from(buses["bus"])
    g.add_edges_from(zip(br["from_bus"], br["to_bus"]))
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    if len(comps) > 1:
        for comp in comps[1:]:
            for b in sorted(comp):
                i = int(np.flatnonzero(buses["bus"].to_numpy() == b)[0])
                p.append(Problem("buses.csv", int(_rows(buses)[i]), "bus",
                                 f"bus '{b}' islanded from the main network",
                                 "every bus connected to the rest by branches"))
    for i in np.flatnonzero((br["from_bus"] == br["to_bus"]).to_numpy()):
        p.append(Problem("branches.csv", int(_rows(br)[i]), "to_bus", "from_bus = to_bus",
                         "a branch between two different buses"))
    # ETSRs
    itf = tables["interfaces"]
    for i in np.flatnonzero((itf["from_baa"] == itf["to_baa"]).to_numpy()):
        p.append(Problem("interfaces.csv", int(_rows(itf)[i]), "to_baa", "from_baa = to_baa",
                         "an ETSR between two different BAAs"))
    p += _check_hour_coverage(tables, "interface_hours", "interface",
                              list(itf["interface"]), hours)
    p += _check_hour_coverage(tables, "baa_hours", "baa", list(baas["baa"]), hours)
    ih = tables["interface_hours"]
    over = ih["base_transfer_mw"] > ih["limit_mw"] + 1e-9
    for i in np.flatnonzero(over.to_numpy()):  # spec §5.2: X^base_k <= X^max_k
        p.append(Problem("interface_hours.csv", int(_rows(ih)[i]), "base_transfer_mw",
                         f"{ih['base_transfer_mw'].iat[i]:g} above the ETSR limit "
                         f"{ih['limit_mw'].iat[i]:g} of '{ih['interface'].iat[i]}' in hour "
                         f"{ih['hour'].iat[i]}", "a base transfer <= limit_mw"))
    # resources
    for i in np.flatnonzero((res["pmin_mw"] > res["pmax_mw"]).to_numpy()):
        p.append(Problem("resources.csv", int(_rows(res)[i]), "pmin_mw",
                         f"Pmin {res['pmin_mw'].iat[i]:g} > Pmax {res['pmax_mw'].iat[i]:g}",
                         "pmin_mw <= pmax_mw"))
    rtype = dict(zip(res["resource"], res["type"]))
    for sub, typ in (("thermal", "thermal"), ("storage", "storage"), ("hydro", "hydro")):
        df = tables.get(sub)
        have = set(df["resource"]) if df is not None else set()
        for i in np.flatnonzero((res["type"] == typ).to_numpy()):
            r = res["resource"].iat[i]
            if r not in have:
                p.append(Problem("resources.csv", int(_rows(res)[i]), "type",
                                 f"{typ} resource '{r}' without a row in {sub}.csv",
                                 f"a row for it in {sub}.csv"))
        if df is not None:
            for i, r in enumerate(df["resource"]):
                if rtype.get(r) != typ:
                    p.append(Problem(f"{sub}.csv", int(_rows(df)[i]), "resource",
                                     f"'{r}' of type {rtype.get(r)}", f"a {typ} resource"))
    st = tables.get("storage")
    if st is not None:
        for i in range(len(st)):
            row = int(_rows(st)[i])
            lo, hi, e0 = st["soc_min_mwh"].iat[i], st["soc_max_mwh"].iat[i], st["soc_initial_mwh"].iat[i]
            if lo > hi:
                p.append(Problem("storage.csv", row, "soc_min_mwh", f"{lo:g} > soc_max {hi:g}",
                                 "soc_min_mwh <= soc_max_mwh"))
            elif not lo <= e0 <= hi:
                p.append(Problem("storage.csv", row, "soc_initial_mwh", f"{e0:g}",
                                 f"a value in [{lo:g}, {hi:g}] MWh"))
            end = st["soc_end_min_mwh"].iat[i]
            if end == end and end > hi:  # blank (NaN) = no end-of-day requirement
                p.append(Problem("storage.csv", row, "soc_end_min_mwh", f"{end:g}",
                                 f"a value <= soc_max_mwh {hi:g} MWh"))
    th = tables.get("thermal")
    if th is not None:
        pmin = dict(zip(res["resource"], res["pmin_mw"]))
        pmax = dict(zip(res["resource"], res["pmax_mw"]))
        for i in range(len(th)):
            r = th["resource"].iat[i]
            mw = th["initial_mw"].iat[i]
            if th["initial_on"].iat[i] and not (pmin[r] - 1e-6 <= mw <= pmax[r] + 1e-6):
                p.append(Problem("thermal.csv", int(_rows(th)[i]), "initial_mw", f"{mw:g}",
                                 f"a value in [Pmin {pmin[r]:g}, Pmax {pmax[r]:g}] for an "
                                 "on-line unit"))
    p += _check_energy_bids(tables, hours)
    p += _check_availability_bids(tables)
    p += _check_ties(tables, hours)
    p += _check_ir_curves(tables)
    p += _check_ghg(tables)
    ld = tables.get("load_distribution")
    if ld is not None and len(ld):
        ld_baa = ld["bus"].map(dict(zip(buses["bus"], buses["baa"])))
        s = ld.assign(baa=ld_baa).groupby("baa")["ldf"].sum()
        first = {}
        for b, n in zip(ld_baa, _rows(ld)):
            first[b] = min(int(n), first.get(b, int(n)))
        for b in baas["baa"]:  # a BAA left out of the table would get no load at all
            v = float(s.get(b, 0.0))
            if b in set(buses["baa"]) and abs(v - 1.0) > 1e-6:
                p.append(Problem("load_distribution.csv", first.get(b), "ldf",
                                 f"factors of BAA '{b}' summing to {v:.6g}", "a sum of 1"))
    sc = tables.get("startup_costs")
    if sc is not None and len(sc):
        for r, grp in sc.groupby("resource", sort=True):
            if not (np.diff(grp["cost_usd"].to_numpy()) >= -1e-9).all() or \
                    not (np.diff(grp["after_offline_h"].to_numpy()) > 0).all():
                i = int(grp.index[0])
                p.append(Problem("startup_costs.csv", int(_rows(sc)[i]), "cost_usd",
                                 f"tiers of '{r}' not increasing",
                                 "after_offline_h increasing and cost_usd non-decreasing by tier"))
    return p


GHG_BID_TYPES = ("thermal", "ver", "hydro", "storage", "import")


def _check_ghg(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """GHG tables (spec §5.13): a GHG bid comes from a supply resource (thermal, ver, hydro,
    storage, import) outside the area it bids into; a BAA's area is unique (the table's key)."""
    p: list[Problem] = []
    gb = tables.get("ghg_bids")
    if gb is None or not len(gb):
        return p
    res = tables["resources"]
    rtype = dict(zip(res["resource"], res["type"]))
    bus_baa = dict(zip(tables["buses"]["bus"], tables["buses"]["baa"]))
    rbaa = {r: bus_baa.get(b) for r, b in zip(res["resource"], res["bus"])}
    ga = tables.get("ghg_areas")
    area_of = dict(zip(ga["baa"], ga["area"])) if ga is not None else {}
    for i, (r, a) in enumerate(zip(gb["resource"], gb["area"])):
        row = int(_rows(gb)[i])
        if rtype.get(r) not in GHG_BID_TYPES:
            p.append(Problem("ghg_bids.csv", row, "resource", f"'{r}' of type {rtype.get(r)}",
                             "a supply resource: " + ", ".join(GHG_BID_TYPES)))
        elif area_of.get(rbaa.get(r)) == a:
            p.append(Problem("ghg_bids.csv", row, "area",
                             f"'{a}', the area of the resource's own BAA '{rbaa.get(r)}'",
                             "an area the resource is outside of (resources inside an area "
                             "carry their compliance cost in their energy bid)"))
    return p


def tie_limit_rows(tables: dict[str, pd.DataFrame], hours: int) -> dict[tuple[str, int], int]:
    """(tie, hour) -> index in `tie_limits` of the row that applies (spec §5.5): the row for the
    hour, else the tie's blank-hour (0) row; hours without either are absent (no limit)."""
    tl = tables.get("tie_limits")
    out: dict[tuple[str, int], int] = {}
    if tl is None or not len(tl):
        return out
    for i, (k, h) in enumerate(zip(tl["tie"].astype(str), tl["hour"].astype(int))):
        if h == 0:
            for t in range(1, hours + 1):
                out.setdefault((k, t), i)
    for i, (k, h) in enumerate(zip(tl["tie"].astype(str), tl["hour"].astype(int))):
        if h > 0:
            out[(k, h)] = i
    return out


def _check_ties(tables: dict[str, pd.DataFrame], hours: int) -> list[Problem]:
    """Tie tables (spec §5.5): only imports and exports sit on a tie, and the tie's limits leave
    room for its self-schedules, so the hard tie rows keep the market feasible: per tie-hour,
    Σ self-scheduled imports − Σ export Pmax ≤ TL^imp and Σ self-scheduled exports − Σ import
    Pmax ≤ TL^exp (self-schedules capped at the hour's Pmax)."""
    p: list[Problem] = []
    tr = tables.get("tie_resources")
    if tr is None or not len(tr):
        return p
    res = tables["resources"]
    rtype = dict(zip(res["resource"], res["type"]))
    for i, r in enumerate(tr["resource"]):
        if rtype.get(r) not in ("import", "export"):
            p.append(Problem("tie_resources.csv", int(_rows(tr)[i]), "resource",
                             f"'{r}' of type {rtype.get(r)}", "an import or export resource"))
    rows = tie_limit_rows(tables, hours)
    if p or not rows:
        return p
    pmax = {(r, h): float(v) for r, v in zip(res["resource"], res["pmax_mw"])
            for h in range(1, hours + 1)}
    ss: dict[tuple[str, int], float] = {}
    rh = tables.get("resource_hours")
    if rh is not None:
        for r, h, mw, sch in zip(rh["resource"], rh["hour"], rh["pmax_mw"],
                                 rh["self_schedule_mw"]):
            if mw == mw:  # blank (NaN) keeps the static Pmax
                pmax[(r, int(h))] = float(mw)
            if sch == sch and sch > 0:
                ss[(r, int(h))] = float(sch)
    members: dict[str, list[str]] = {}
    for r, k in zip(tr["resource"], tr["tie"].astype(str)):
        members.setdefault(k, []).append(r)
    tl = tables["tie_limits"]
    for (k, h), i in sorted(rows.items()):
        side = {"import": (0.0, 0.0), "export": (0.0, 0.0)}  # (floor, most) MW
        for r in members.get(k, []):
            floor = min(ss.get((r, h), 0.0), pmax[(r, h)])
            lo, hi = side[rtype[r]]
            side[rtype[r]] = (lo + floor, hi + pmax[(r, h)])
        for col, this, other in (("import_limit_mw", "import", "export"),
                                 ("export_limit_mw", "export", "import")):
            need = side[this][0] - side[other][1]
            lim = float(tl[col].iat[i])
            if need > lim + 1e-6:
                p.append(Problem("tie_limits.csv", int(_rows(tl)[i]), col,
                                 f"{lim:g} on tie '{k}' in hour {h}, below the net "
                                 f"{this} of {need:g} MW its self-scheduled {this}s force",
                                 f"a limit >= {need:g} MW (or smaller self-schedules in "
                                 "resource_hours.csv)"))
    return p


def _check_hour_coverage(tables, name, key, ids, hours) -> list[Problem]:
    df = tables[name]
    p = []
    have = set(zip(df[key], df["hour"]))
    first_row: dict = {}  # the CSV row where the user finds the id's first hour
    for k, n in zip(df[key], _rows(df)):
        first_row[k] = min(int(n), first_row.get(k, int(n)))
    for k in ids:
        missing = [h for h in range(1, hours + 1) if (k, h) not in have]
        if missing:
            p.append(Problem(f"{name}.csv", first_row.get(k), "hour",
                             f"{key} '{k}' without hours {_ranges(missing)}",
                             f"one row for every hour 1..{hours}"))
    return p


def _ranges(xs: list[int]) -> str:
    out, start, prev = [], xs[0], xs[0]
    for x in xs[1:] + [None]:
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    return ",".join(out)


def _check_energy_bids(tables, hours: int) -> list[Problem]:
    """energy_bids and energy_bids_hourly: side by type, a monotone curve per resource and side
    (per hour in the hourly table), each segment once per resolved side (a blank side and the
    side it stands for are the same curve), and full hour coverage for a resource-side whose
    curve is hourly only (a missing hour would make it a $0 price taker)."""
    res = tables["resources"]
    rtype = dict(zip(res["resource"], res["type"]))
    p: list[Problem] = []
    for name in ("energy_bids", "energy_bids_hourly"):
        eb = tables.get(name)
        if eb is None or not len(eb):
            continue
        p += _check_bid_curves(eb, f"{name}.csv", rtype, hourly=name.endswith("_hourly"))
    if p:
        return p
    eh = tables.get("energy_bids_hourly")
    if eh is not None and len(eh):
        day = tables["energy_bids"]
        have_day = {(r, resolve_side(s, rtype[r])) for r, s in zip(day["resource"], day["side"])}
        sides = [resolve_side(s, rtype[r]) for r, s in zip(eh["resource"], eh["side"])]
        seen: dict = {}
        for i, (r, side, h) in enumerate(zip(eh["resource"], sides, eh["hour"])):
            if (r, side) in have_day:
                continue
            hs, first = seen.get((r, side), (set(), int(_rows(eh)[i])))
            seen[(r, side)] = (hs | {int(h)}, min(first, int(_rows(eh)[i])))
        for (r, side), (hs, first) in sorted(seen.items()):
            missing = [h for h in range(1, hours + 1) if h not in hs]
            if missing:
                p.append(Problem("energy_bids_hourly.csv", first, "hour",
                                 f"{side} curve of '{r}' without hours {_ranges(missing)} and "
                                 "no energy_bids.csv curve to fall back on",
                                 f"rows for every hour 1..{hours}, or a {side} curve in "
                                 "energy_bids.csv for the hours left out"))
    return p


def _check_bid_curves(eb: pd.DataFrame, file: str, rtype: dict, hourly: bool) -> list[Problem]:
    rows = _rows(eb)
    p = []
    for i in range(len(eb)):
        r, side = eb["resource"].iat[i], eb["side"].iat[i]
        t = rtype[r]
        ok = {"": True, "supply": t in SUPPLY_TYPES,
              "demand": t in DEMAND_TYPES or t == "storage"}[side]
        if not ok:
            p.append(Problem(file, int(rows[i]), "side", f"'{side}' for a {t}",
                             "supply for supply resources, demand for demand/export/virtual "
                             "demand; storage may have both"))
    if p:
        return p
    key = ["resource", "side"] + (["hour"] if hourly else [])
    eff = eb.assign(side=[resolve_side(s, rtype[r]) for r, s in zip(eb["resource"], eb["side"])],
                    _row=rows)
    dup = eff.duplicated(key + ["segment"], keep="first")
    for i in np.flatnonzero(dup.to_numpy()):
        p.append(Problem(file, int(rows[i]), "side",
                         f"segment {eb['segment'].iat[i]} of the {eff['side'].iat[i]} curve of "
                         f"'{eb['resource'].iat[i]}'" + (f" in hour {eb['hour'].iat[i]}"
                                                         if hourly else "")
                         + " given twice (a blank side stands for "
                         f"{eff['side'].iat[i]})", "each segment once per side"))
    twice = set(map(tuple, eff.loc[dup, key].to_numpy().tolist()))
    for k, grp in eff.groupby(key, sort=True):
        if tuple(k) in twice:
            continue  # reported above
        g = grp.sort_values("segment")
        prices = g["price_usd_per_mwh"].to_numpy()
        d = np.diff(prices)
        side = k[1]
        bad = (d < -1e-9) if side == "supply" else (d > 1e-9)
        if bad.any():
            row = int(g["_row"].iat[int(np.flatnonzero(bad)[0]) + 1])
            where = f"'{k[0]}'" + (f" in hour {k[2]}" if hourly else "")
            p.append(Problem(file, row, "price_usd_per_mwh",
                             f"a {'falling' if side == 'supply' else 'rising'} {side} curve for "
                             f"{where}",
                             "offer prices non-decreasing and bid prices non-increasing by "
                             "segment"))
    return p


def _check_availability_bids(tables) -> list[Problem]:
    p = []
    for name in ("availability_bids", "availability_bids_hourly"):
        ab = tables.get(name)
        if ab is None or not len(ab):
            continue
        file = f"{name}.csv"
        ir = ab["product"].isin(["iru", "ird"]) & (ab["price_usd_per_mwh"] > IR_BID_CAP_USD_PER_MWH)
        for i in np.flatnonzero(ir.to_numpy()):
            p.append(Problem(file, int(_rows(ab)[i]), "price_usd_per_mwh",
                             f"{ab['price_usd_per_mwh'].iat[i]:g} for {ab['product'].iat[i]}",
                             f"an IRU/IRD bid price <= {IR_BID_CAP_USD_PER_MWH:g} $/MWh"))
        res = tables["resources"]
        rtype = dict(zip(res["resource"], res["type"]))
        virt = ab["resource"].map(rtype).isin(["virtual_supply", "virtual_demand", "demand"])
        for i in np.flatnonzero(virt.to_numpy()):
            p.append(Problem(file, int(_rows(ab)[i]), "resource",
                             f"a {rtype[ab['resource'].iat[i]]} resource",
                             "a physical supply resource (virtual and demand bids provide no "
                             "AS, IR or RC)"))
    return p


def _check_ir_curves(tables) -> list[Problem]:
    cur = tables.get("ir_demand_curves")
    if cur is None or not len(cur):
        return []
    p = []
    bh = tables["baa_hours"].set_index(["baa", "hour"])
    for (b, prod, h), grp in cur.groupby(["baa", "product", "hour"], sort=True):
        g = grp.sort_values("segment")
        i0 = int(g.index[0])
        if (np.diff(g["price_usd_per_mwh"].to_numpy()) > 1e-9).any():
            p.append(Problem("ir_demand_curves.csv", int(_rows(cur)[i0]), "price_usd_per_mwh",
                             f"rising prices for {b}/{prod}/hour {h}",
                             "prices non-increasing by segment"))
        req = float(bh.loc[(b, h), f"{prod}_requirement_mw"]) if (b, h) in bh.index else 0.0
        if abs(g["mw"].sum() - req) > 1e-6:
            p.append(Problem("ir_demand_curves.csv", int(_rows(cur)[i0]), "mw",
                             f"widths summing to {g['mw'].sum():g} for {b}/{prod}/hour {h}",
                             f"the requirement {req:g} MW of baa_hours.csv"))
    return p


def _check_parameter_files(root: Path, params: MarketParameters,
                           tables: dict[str, pd.DataFrame],
                           source: tuple[str, int | None] = ("parameters", None)) -> list[Problem]:
    """deployment_constraint_set: a keyword or a file of branch ids inside the scenario folder
    (`scenario_file`). `source` is (file, line) where the value was set, for the message."""
    v = params.deployment_constraint_set
    if v in ("none", "base", "all"):
        return []
    try:
        f = scenario_file(root, v)
        text = f.read_text(encoding="utf-8-sig") if f.is_file() else None
    except UnicodeDecodeError:
        return [Problem(source[0], source[1], "deployment_constraint_set", repr(_excerpt(v)),
                        "a UTF-8 text file of constraint ids (this one is not text)")]
    except (OSError, ValueError) as exc:
        return [Problem(source[0], source[1], "deployment_constraint_set", repr(_excerpt(v)),
                        f"none, base, all, or a file of constraint ids inside the scenario "
                        f"folder ({exc})")]
    if text is None:
        return [Problem(source[0], source[1], "deployment_constraint_set", repr(_excerpt(v)),
                        "none, base, all, or an existing file of constraint ids inside the "
                        "scenario folder")]
    known = set(tables["branches"]["branch"])
    p = []
    unknown = [(n, s) for n, line in enumerate(text.splitlines(), start=1)
               if (s := line.split("#")[0].strip()) and s not in known]
    for n, s in unknown[:MAX_FILE_PROBLEMS]:
        p.append(Problem(f.name, n, None, f"unknown constraint id '{_excerpt(s)}'",
                         "a branch id of branches.csv (file named by the parameter "
                         "deployment_constraint_set)"))
    if len(unknown) > MAX_FILE_PROBLEMS:
        p.append(Problem(f.name, None, None,
                         f"{len(unknown) - MAX_FILE_PROBLEMS} more unknown constraint ids",
                         "a branch id of branches.csv on every line"))
    return p


#: at most this many lines of a file named by a parameter are echoed in errors
MAX_FILE_PROBLEMS = 20


def _excerpt(text: str, n: int = 60) -> str:
    """At most `n` characters of `text` for an error message."""
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def scenario_file(root: str | Path | None, value: str) -> Path:
    """The file a parameter names (e.g. deployment_constraint_set), resolved inside the
    scenario folder `root` only: no absolute paths, nothing that resolves outside the folder
    (symbolic links included). Raises ValueError saying why."""
    if root is None:
        raise ValueError("a scenario held in memory has no folder to read the file from")
    rel = Path(value)
    if rel.is_absolute():
        raise ValueError("an absolute path; name a file inside the scenario folder")
    base = Path(root).resolve()
    try:
        f = (base / rel).resolve()
    except (OSError, RuntimeError) as exc:  # e.g. a symlink loop
        raise ValueError(f"unresolvable path ({type(exc).__name__})") from None
    if f == base or base not in f.parents:
        raise ValueError("a path outside the scenario folder")
    return f


def deployment_constraint_ids(root: Path | None, params: MarketParameters,
                              branches: pd.DataFrame) -> list[str]:
    """L^dep (spec §9 #1) as a sorted list of branch ids."""
    v = params.deployment_constraint_set
    mon = branches[branches["monitored"]]
    if v == "none":
        return []
    if v == "base":
        return sorted(mon.loc[mon["enforce_base"], "branch"])
    if v == "all":
        return sorted(mon["branch"])
    try:
        f = scenario_file(root, v)
        text = f.read_text(encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise ScenarioError(Problem("parameters", None, "deployment_constraint_set",
                                    repr(_excerpt(v)), "a file of constraint ids inside the "
                                    f"scenario folder ({exc})")) from None
    ids = [line.split("#")[0].strip() for line in text.splitlines()]
    return sorted({s for s in ids if s})


# --------------------------------------------------------------------------------------------
def _table_rows(table: Table, df: pd.DataFrame) -> list[list[str]]:
    """The CSV rows (header first) the writer would write for `df` (its own columns)."""
    from scenarios.writer import _cell
    kinds = {c.name: c.kind for c in table.columns}
    cols = [str(c) for c in df.columns]
    body = [[_cell(None if _missing(v) else v, kinds.get(c, "str")) for c, v in zip(cols, r)]
            for r in df.itertuples(index=False, name=None)]
    return [cols] + body


def _missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def validate_scenario(scenario: Scenario) -> Scenario:
    """Validate an in-memory scenario (e.g. after `with_tables`) by the loader's own rules and
    messages, as if written to files: each table as the CSV the writer would write (rows
    numbered as in that file, header = line 1), then the cross-table rules, the reference bus
    and the parameter files (relative to `scenario.source_dir`). Returns the scenario with
    typed, default-filled, key-sorted tables; raises `ScenarioError` listing every problem."""
    from dataclasses import replace
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    for name in sorted(set(scenario.tables) - set(TABLES_BY_NAME)):
        problems.append(Problem(f"{name}.csv", None, None, "unknown table",
                                "one of " + ", ".join(sorted(t.name for t in TABLES))))
    for table in TABLES:
        df = scenario.tables.get(table.name)
        if df is None:
            if table.required:
                problems.append(Problem(table.file, None, None, "file missing",
                                        f"the {table.name} table"))
            continue
        parsed, ps = parse_table(table, _table_rows(table, pd.DataFrame(df)))
        problems += ps
        if parsed is not None:
            tables[table.name] = parsed
    hours = scenario.hours
    if not problems:
        problems += _check_hours_range(tables, hours)
        problems += _check_references(tables)
        if not problems:
            problems += check_semantics(tables, hours)
    ref_bus = scenario.reference_bus
    known_buses = set(tables["buses"]["bus"]) if "buses" in tables else None
    if ref_bus is not None and known_buses is not None and str(ref_bus) not in known_buses:
        problems.append(Problem("scenario.yaml", None, "reference_bus",
                                f"unknown bus '{ref_bus}'", "a bus id of buses.csv"))
    if not problems:
        root = Path(scenario.source_dir) if scenario.source_dir else None
        problems += _check_parameter_files(root, scenario.parameters, tables)
    if problems:
        raise ScenarioError(problems)
    for df in tables.values():
        df.attrs.clear()
    return replace(scenario, tables=tables, validated=True)
