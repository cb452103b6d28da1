"""Build a `Scenario` from partial tables in code (tests, generators, importers).

`make_scenario(tables={...})` fills every optional column with its schema default, puts the
columns in schema order, sorts by key, and runs the same validation as the loader.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from scenarios.errors import ScenarioError
from scenarios.loader import _check_references, _check_hours_range, check_semantics
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario
from scenarios.schema import TABLES, TABLES_BY_NAME


def normalise_table(name: str, df: pd.DataFrame | list[dict]) -> pd.DataFrame:
    """Columns in schema order with defaults filled and canonical dtypes, sorted by key."""
    t = TABLES_BY_NAME[name]
    df = pd.DataFrame(df).copy()
    if df.empty and not len(df.columns):  # an empty list: an empty table with the schema's columns
        df = pd.DataFrame(columns=[c.name for c in t.columns if c.required])
    unknown = [c for c in df.columns if c not in t.column_names]
    if unknown:
        raise KeyError(f"{name}: unknown columns {unknown}")
    out = {}
    for c in t.columns:
        if c.name in df.columns:
            col = df[c.name]
            if not c.required:
                col = col.where(col.notna(), c.default) if c.kind != "float" else col.fillna(c.default)
        else:
            if c.required:
                raise KeyError(f"{name}: column '{c.name}' is required")
            col = pd.Series([c.default] * len(df), index=df.index)
        kind = {"str": object, "int": "int64", "float": "float64", "bool": "bool"}[c.kind]
        col = col.astype(kind)
        if c.kind == "str":
            col = col.map(str).astype(object)
        out[c.name] = col
    res = pd.DataFrame(out, columns=t.column_names)
    return res.sort_values(list(t.key), kind="stable").reset_index(drop=True)


def make_scenario(tables: dict[str, Any], *, name: str = "scenario", trade_date: str = "",
                  hours: int = 24, parameters: MarketParameters | dict | None = None,
                  description: str = "", reference_bus: str | None = None,
                  metadata: dict | None = None) -> Scenario:
    """Normalise and validate `tables` (name -> DataFrame or list of dicts) into a Scenario."""
    norm = {}
    for t in TABLES:
        if t.name in tables and tables[t.name] is not None:
            norm[t.name] = normalise_table(t.name, tables[t.name])
        elif t.required:
            norm[t.name] = normalise_table(t.name, pd.DataFrame(columns=[c.name for c in t.columns if c.required]))
    if isinstance(parameters, dict):
        parameters = MarketParameters().with_updates(parameters, "parameters")
    problems = _check_hours_range(norm, hours) + _check_references(norm)
    if not problems:
        problems = check_semantics(norm, hours)
    if problems:
        raise ScenarioError(problems)
    return Scenario(validated=True, name=name, trade_date=trade_date, hours=hours,
                    tables=norm,
                    parameters=parameters or MarketParameters(), description=description,
                    reference_bus=reference_bus, metadata=dict(metadata or {}))
