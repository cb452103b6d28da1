"""Write a `Scenario` back to a folder; load(write(s)) == s (issue: round trip)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import yaml

from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario
from scenarios.schema import TABLES


def _cell(v: object, kind: str) -> str:
    if v is None:
        return ""
    if kind == "bool":
        return "true" if bool(v) else "false"
    if kind == "float":
        f = float(v)
        if math.isnan(f):
            return ""
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f) if f != int(f) or abs(f) >= 1e15 else str(int(f)) if f == int(f) else repr(f)
    return str(v)


def write_scenario(scenario: Scenario, path: str | Path, *, only_changed_parameters: bool = True,
                   overwrite: bool = False, forbid_inside: Iterable[str | Path] = ()) -> Path:
    """Write `scenario` to the folder `path` atomically (clearing.outputs.write_output_dir,
    kind "scenario"): an existing `path` is replaced only if it is a scenario folder this writer
    made and `overwrite` is set; anything else there is refused with `OutputPathError`."""
    from clearing.outputs import write_output_dir

    def fill(tmp: Path) -> None:
        header: dict = {"name": scenario.name, "trade_date": scenario.trade_date,
                        "hours": scenario.hours}
        if scenario.description:
            header["description"] = scenario.description
        if scenario.reference_bus is not None:
            header["reference_bus"] = scenario.reference_bus
        defaults = MarketParameters().to_dict()
        params = {k: v for k, v in scenario.parameters.to_dict().items()
                  if not only_changed_parameters or defaults[k] != v}
        header["parameters"] = params
        if scenario.metadata:
            header["metadata"] = scenario.metadata
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(header, sort_keys=False))
        for t in TABLES:
            df = scenario.tables.get(t.name)
            if df is None:
                continue
            text = pd.DataFrame({c.name: [_cell(v, c.kind) for v in df[c.name]]
                                 for c in t.columns}, columns=t.column_names)
            text.to_csv(tmp / t.file, index=False, lineterminator="\n")
        _copy_side_files(scenario, tmp)

    return write_output_dir(path, "scenario", fill, overwrite=overwrite,
                            forbid_inside=forbid_inside)


def _copy_side_files(scenario: Scenario, out: Path) -> None:
    """Copy the files the scenario names relative to its folder: the deployment constraint
    file (parameter deployment_constraint_set), without which the copy would not load, and
    the data's notice file (metadata 'notice', e.g. the RTS-GMLC NOTICE.md)."""
    if not scenario.source_dir:
        return
    names = []
    dcs = scenario.parameters.deployment_constraint_set
    if dcs not in ("none", "base", "all"):
        names.append(dcs)
    if isinstance(scenario.metadata.get("notice"), str):
        names.append(scenario.metadata["notice"])
    from scenarios.loader import scenario_file
    for name in names:
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or rel.suffix == ".csv" \
                or rel.name == "scenario.yaml":
            continue
        try:  # inside the source folder only (symbolic links resolved)
            src = scenario_file(scenario.source_dir, name)
        except ValueError:
            continue
        if src.is_file():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out / rel)
