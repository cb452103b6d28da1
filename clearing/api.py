"""The Python entry points for notebook users and the other commands.

>>> from scenarios import load_scenario
>>> from clearing.api import solve
>>> result = solve(load_scenario("scenarios/example_11_1"))
>>> result.nodal_prices.head()
"""

from __future__ import annotations

from pathlib import Path

from clearing.results import RunResult, read_run, write_run
from scenarios import DEFAULT_SCENARIO, load_scenario
from scenarios.scenario import Scenario


def solve(scenario: Scenario | str | Path | None = None, overrides: dict | None = None,
          progress=None) -> RunResult:
    """Clear the day-ahead market (phases 1–2) or DA followed by RT (phase 3).

    `scenario` is a loaded Scenario or a scenario folder (default: the bundled RTS-GMLC day);
    `overrides` are parameter updates (names of MarketParameters)."""
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_parameters(**overrides)
    from clearing.engine import run_day_ahead
    result = run_day_ahead(scenario, progress=progress)
    if scenario.parameters.phase == 3:
        from clearing.rt import run_phase3  # real-time follow-up (spec §10)
        result = run_phase3(scenario, result, progress=progress)
    return result


__all__ = ["solve", "RunResult", "read_run", "write_run", "load_scenario"]
