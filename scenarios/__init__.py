"""Scenario format: loader, validation, writer, the bid lookup (bids.py: the bid of a resource in
an hour, `Scenario.bids`), bundled scenarios (architecture.md).

Section references ("spec §2.2") are to docs/market-model.md."""

from pathlib import Path

from scenarios.errors import Problem, ScenarioError, SolverError
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario

BUNDLED = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED / "rts_gmlc_edam"


def load_scenario(path, overrides=None):
    from scenarios.loader import load_scenario as _load
    return _load(path, overrides)


def write_scenario(scenario, path, **options):
    """See scenarios.writer.write_scenario (options: overwrite, forbid_inside, ...)."""
    from scenarios.writer import write_scenario as _write
    return _write(scenario, path, **options)


def bundled(name: str) -> Path:
    """Path of a bundled scenario folder, e.g. bundled('example_11_1')."""
    return BUNDLED / name


__all__ = ["Problem", "ScenarioError", "SolverError", "MarketParameters", "Scenario",
           "load_scenario", "write_scenario", "bundled", "DEFAULT_SCENARIO", "BUNDLED"]
