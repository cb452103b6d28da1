"""The Python entry points for notebook users and the other commands.

>>> from scenarios import load_scenario
>>> from clearing.api import solve
>>> result = solve(load_scenario("example_11_1"))      # a bundled scenario's name, or a folder
>>> result                                             # objective, status, tables and row counts
>>> result.nodal_prices.head()
>>> solve(load_scenario("example_11_1").scale_load(1.1)).objective   # a what-if, no CSV written

See docs/python-api.md.
"""

from __future__ import annotations

from pathlib import Path

from clearing.results import RunResult, read_run, write_run
from scenarios import DEFAULT_SCENARIO, load_scenario
from scenarios.scenario import Scenario


def solve(scenario: Scenario | str | Path | None = None, overrides: dict | None = None,
          progress=None, commitment_from: RunResult | str | Path | None = None) -> RunResult:
    """Clear the day-ahead market (phases 1–2) or DA followed by RT (phase 3).

    `scenario` is a loaded Scenario (validated first if it was changed with `with_tables` or
    an edit), a scenario folder or a bundled scenario's name (default: the bundled RTS-GMLC day);
    `overrides` are parameter updates (names of MarketParameters); `commitment_from` (a run or
    a run folder) fixes the IFM/RUC commitment at that run's for a what-if re-solve."""
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_parameters(**overrides)
    if not scenario.validated:  # edited in code: the loader's rules and messages (ScenarioError)
        scenario = scenario.validate()
    from clearing.engine import run_day_ahead
    commitment = None
    if commitment_from is not None:
        run = commitment_from if isinstance(commitment_from, RunResult) else read_run(commitment_from)
        commitment = run.tables["schedules"]
    result = run_day_ahead(scenario, progress=progress, commitment=commitment)
    if commitment is not None:
        result.manifest["commitment_fixed_from"] = str(commitment_from) if not isinstance(
            commitment_from, RunResult) else commitment_from.manifest.get("input_hash")
    if scenario.parameters.phase == 3:
        from clearing.rt import run_phase3  # real-time follow-up (spec §10)
        result = run_phase3(scenario, result, progress=progress)
    return result


__all__ = ["solve", "RunResult", "read_run", "write_run", "load_scenario"]
