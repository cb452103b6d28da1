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

import time

from pathlib import Path

from clearing.results import RunFolderError, RunResult, read_run, read_run_folder, write_run
from scenarios import DEFAULT_SCENARIO, load_scenario
from scenarios.scenario import Scenario


def solve(scenario: Scenario | str | Path | None = None, overrides: dict | None = None,
          progress=None, commitment_from: RunResult | str | Path | None = None, *,
          allow_other_scenario: bool = False) -> RunResult:
    """Clear the day-ahead market (phases 1–2) or DA followed by RT (phase 3).

    `scenario` is a loaded Scenario (validated first if it was changed with `with_tables` or
    an edit), a scenario folder or a bundled scenario's name (default: the bundled RTS-GMLC day);
    `overrides` are parameter updates (names of MarketParameters); `commitment_from` (a run or
    a run folder) fixes the IFM/RUC commitment at that run's for a what-if re-solve. A run of
    another scenario (other resources or hours) is refused with `RunFolderError` unless
    `allow_other_scenario` (then units it does not name keep their initial state)."""
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        scenario = scenario.with_parameters(**overrides)
    if not scenario.validated:  # edited in code: the loader's rules and messages (ScenarioError)
        scenario = scenario.validate()
    from clearing.market.engine import run_day_ahead
    from clearing.market.solver import RunBudget
    commitment = None
    if commitment_from is not None:
        run = commitment_from if isinstance(commitment_from, RunResult) else \
            read_run_folder(commitment_from)
        if not allow_other_scenario:
            check_commitment_source(run, scenario, str(commitment_from)
                                    if not isinstance(commitment_from, RunResult) else "the run")
        commitment = run.tables["schedules"]
    t_start = time.perf_counter()  # run_time_limit_s counts from here, through phase 3
    result = run_day_ahead(scenario, progress=progress, commitment=commitment)
    if commitment is not None:
        result.manifest["commitment_fixed_from"] = str(commitment_from) if not isinstance(
            commitment_from, RunResult) else commitment_from.manifest.get("input_hash")
    if scenario.parameters.phase == 3:
        from clearing.market.rt import run_phase3  # real-time follow-up (spec §10)
        budget = RunBudget(scenario.parameters.run_time_limit_s, start=t_start,
                           on_mip_progress=getattr(progress, "live", None))
        result = run_phase3(scenario, result, progress=progress, budget=budget)
    return result


def check_commitment_source(run: RunResult, scenario: Scenario, where: str) -> None:
    """Refuse a commitment source that is a run of another scenario: a resource the scenario
    does not have, a thermal unit of the scenario it does not schedule, or other hours
    (architecture.md: a what-if re-solve keeps the commitment of the same inputs)."""
    sched = run.tables.get("schedules")
    if sched is None:
        raise RunFolderError(f"{where}: no schedules table; expected a run of {scenario.name}")
    have = set(sched["resource"].astype(str))
    res = scenario.resources
    known = set(res["resource"].astype(str))
    thermal = set(res.loc[res["type"] == "thermal", "resource"].astype(str))
    hours = {int(h) for h in sched["hour"]}
    problems = []
    if have - known:
        problems.append(f"{len(have - known)} resource(s) not in the scenario "
                        f"(e.g. {sorted(have - known)[0]!r})")
    if thermal - have:
        problems.append(f"{len(thermal - have)} thermal unit(s) of the scenario missing "
                        f"(e.g. {sorted(thermal - have)[0]!r})")
    if hours != set(range(1, scenario.hours + 1)):
        problems.append(f"hours {min(hours, default=0)}..{max(hours, default=0)} "
                        f"instead of 1..{scenario.hours}")
    if problems:
        other = (run.manifest.get("scenario") or {}).get("name", "?")
        raise RunFolderError(f"{where} is a run of another scenario ({other!r}): "
                             + "; ".join(problems) + f"; expected a run of {scenario.name!r} "
                             "(--allow-other-scenario to use it anyway)")


__all__ = ["solve", "RunResult", "read_run", "write_run", "load_scenario",
           "check_commitment_source"]
