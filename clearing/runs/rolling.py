"""Rolling runs: consecutive days, each starting where the previous one ended (issue 21).

`edam run-days SOURCE --from D1 --to D2 --out STORE` clears the days D1..D2 one after the other
into a run store (clearing/runs/store.py). Day D1 starts from SOURCE's own initial state; each
later day D+1 starts from the end state of day D's stored run (`end_state`, `carry_into`).
docs/rolling.md is the long form of this docstring.

SOURCE
    ``rts-gmlc``: each day imported in memory from the bundled RTS-GMLC data
    (scenarios.importers.rts_gmlc.import_rts_gmlc), or a folder holding one scenario folder per
    day, named by its date (``YYYY-MM-DD``).

What carries from day D to day D+1, table by table (`carry_into`); every other input of day D+1
is SOURCE's as it is:

thermal.initial_on
    The unit's status in day D's last hour.
thermal.initial_hours
    Hours in that status at the end of day D: counted back from day D's last hour to the last
    change; if the status never changed in day D and equals day D's initial_on, day D's own
    initial_hours are added (capped at scenarios.schema.MAX_HOURS).
thermal.initial_mw
    Day D's output in its last hour (0 when off), within day D+1's [Pmin, Pmax] when on.
storage.soc_initial_mwh
    Day D's state of charge at the end of its last hour, within day D+1's [soc_min, soc_max].
hydro.daily_energy_mwh
    Nothing carries: the limit is one day's energy (spec §5.5), no limit spans days in the
    scenario format.

Which schedule is day D's end state [A] (`SCHEDULE_OF_PHASE`):

- phases 1 and 2: the day-ahead schedule. Status = the DA commitment, IFM plus RUC
  (max(`committed`, `ruc_committed`) of `schedules`: a unit the RUC commits is on, as the RT run
  of phase 3 takes it); output = the IFM `energy_mw` of the last hour, raised to Pmin for a unit
  on by the RUC alone (the RUC publishes no energy schedule; an on-line unit runs at least at
  Pmin); SOC = the IFM `soc_mwh` of the last hour.
- phase 3: the real-time schedule, what physically happened in the model. Status of an hour =
  on if `rt_schedules.committed` is 1 in any of its intervals; output and SOC = the last
  interval's `energy_mw` and `soc_mwh`. A unit without RT rows keeps the DA rule above.

Resume: each day is a run of the store whose id hashes its inputs, the carried state included
(`clearing.runs.store.run_id_for`), so a rerun of the same command skips the days already done
and a day whose inputs changed (a changed day D changes D+1's carried state) is recomputed, and
so is every day after it. The chain of the current days is kept in
``STORE/rolling/<rolling_id>.json``; a day's manifest records its `rolling` block (rolling id,
date, previous day's run id, the carried state's hash).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from clearing.runs.store import (ROLLING_DIR, Store, atomic_write_text, canonical_json,
                                 refresh_catalogue, run_id_for)
from scenarios.errors import Problem, ScenarioError
from scenarios.scenario import Scenario
from scenarios.schema import MAX_HOURS

RTS_GMLC = "rts-gmlc"
#: which schedule is a day's end state, by phase [A] (module docstring)
SCHEDULE_OF_PHASE = {1: "da", 2: "da", 3: "rt"}
#: tolerance (MW, MWh) when clipping a carried value into day D+1's limits
CLIP_TOL = 1e-6


# ------------------------------------------------------------------------------------------
# dates and sources
def day_dates(first: str, last: str) -> list[str]:
    """The dates first..last (inclusive, ISO text); a bad date or last < first is a
    `ScenarioError` naming the option and what was expected."""
    problems, parsed = [], {}
    for opt, text in (("--from", first), ("--to", last)):
        try:
            parsed[opt] = _dt.date.fromisoformat(str(text))
        except ValueError:
            problems.append(Problem(opt, None, None, repr(text), "a date YYYY-MM-DD"))
    if problems:
        raise ScenarioError(problems)
    d1, d2 = parsed["--from"], parsed["--to"]
    if d2 < d1:
        raise ScenarioError(Problem("--to", None, None, d2.isoformat(),
                                    f"a date on or after --from {d1.isoformat()}"))
    return [(d1 + _dt.timedelta(days=i)).isoformat() for i in range((d2 - d1).days + 1)]


def check_source(source: str, dates: list[str]) -> str:
    """SOURCE as the driver uses it: 'rts-gmlc', or the absolute path of a folder holding a
    scenario folder for every date (each missing one is named)."""
    if source == RTS_GMLC:
        return source
    root = Path(source).expanduser()
    if not root.is_dir():
        raise ScenarioError(Problem(str(source), None, None,
                                    "a file" if root.exists() else "no such folder",
                                    f"'{RTS_GMLC}' or a folder of day folders named YYYY-MM-DD"))
    missing = [d for d in dates if not (root / d / "scenario.yaml").is_file()]
    if missing:
        raise ScenarioError([Problem(str(root / d), None, None,
                                     "no such folder" if not (root / d).exists()
                                     else "no scenario.yaml",
                                     f"a scenario folder for day {d} (SOURCE/{d}/scenario.yaml)")
                             for d in missing])
    return str(root.resolve())


def load_day(source: str, date: str, overrides: dict | None = None) -> Scenario:
    """Day `date` of SOURCE as given (its own initial state), with the parameter overrides."""
    if source == RTS_GMLC:
        from scenarios.importers.rts_gmlc import import_rts_gmlc
        sc = import_rts_gmlc(date)
        return sc.with_parameters(**overrides) if overrides else sc
    from scenarios import load_scenario
    sc = load_scenario(Path(source) / date, overrides or {})
    if sc.trade_date and sc.trade_date != date:
        raise ScenarioError(Problem(str(Path(source) / date / "scenario.yaml"), None,
                                    "trade_date", sc.trade_date,
                                    f"{date}, the date the folder is named by"))
    return sc


# ------------------------------------------------------------------------------------------
# the end state of a day (pure)
@dataclass(frozen=True)
class DayEndState:
    """A day's end state, as day D+1's initial values: `thermal` (resource, initial_on,
    initial_hours, initial_mw) and `storage` (resource, soc_initial_mwh); `schedule` says which
    schedule it was read from ('da' or 'rt')."""

    thermal: pd.DataFrame
    storage: pd.DataFrame
    schedule: str

    def digest(self) -> str:
        """SHA-256 of the state's canonical CSV text (recorded in each day's manifest)."""
        h = hashlib.sha256(self.schedule.encode())
        for df in (self.thermal, self.storage):
            h.update(df.to_csv(index=False, lineterminator="\n", float_format="%.9g").encode())
        return h.hexdigest()


def hours_in_status(status: list[int] | np.ndarray, initial_on: bool,
                    initial_hours: int) -> int:
    """Hours a unit has been in its last status at the end of a day whose hourly status is
    `status` (1 on, 0 off, hours 1..H): counted back from hour H to the last change; when the
    status never changed in the day and is the day's initial status, the day's own
    `initial_hours` are added. Capped at MAX_HOURS."""
    s = [int(x) for x in status]
    if not s:
        return int(initial_hours)
    last, n = s[-1], 0
    for x in reversed(s):
        if x != last:
            break
        n += 1
    if n == len(s) and bool(last) == bool(initial_on):
        n += int(initial_hours)
    return int(min(n, MAX_HOURS))


def _da_status(sched: pd.DataFrame) -> pd.DataFrame:
    """resource x hour DA commitment: max(committed, ruc_committed) (a missing RUC: IFM)."""
    u = sched["committed"].astype(float)
    if "ruc_committed" in sched.columns:
        u = np.maximum(u, sched["ruc_committed"].astype(float).fillna(0.0))
    frame = sched.assign(_u=(u > 0.5).astype(int))
    return frame.pivot_table(index="resource", columns="hour", values="_u", aggfunc="max")


def _last(df: pd.DataFrame, by: list[str], col: str) -> pd.Series:
    """`col` of each resource's last row in the order `by` (hour, interval)."""
    d = df.sort_values(["resource", *by], kind="stable").groupby("resource").tail(1)
    return d.set_index("resource")[col].astype(float)


def end_state(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> DayEndState:
    """Day D's end state from its scenario (for its initial status and hours) and its results
    tables, read from the schedule SCHEDULE_OF_PHASE names (module docstring)."""
    phase = int(scenario.parameters.phase)
    schedule = SCHEDULE_OF_PHASE.get(phase, "da")
    sched = tables["schedules"]
    status = _da_status(sched)
    last_mw = _last(sched, ["hour"], "energy_mw")
    soc = _last(sched, ["hour"], "soc_mwh") if "soc_mwh" in sched.columns else pd.Series(
        dtype=float)
    rt = tables.get("rt_schedules")
    if schedule == "rt" and rt is not None and len(rt):
        rt_status = rt.assign(_u=(rt["committed"].astype(float) > 0.5).astype(int)).pivot_table(
            index="resource", columns="hour", values="_u", aggfunc="max")
        status = pd.concat([status.drop(index=rt_status.index, errors="ignore"), rt_status])
        order = ["hour", "interval"]
        last_mw = pd.concat([last_mw.drop(index=rt["resource"].unique(), errors="ignore"),
                             _last(rt, order, "energy_mw")])
        if "soc_mwh" in rt.columns:
            soc = pd.concat([soc.drop(index=rt["resource"].unique(), errors="ignore"),
                             _last(rt, order, "soc_mwh")])
    elif schedule == "rt":
        schedule = "da"  # phase 3 without RT rows (the RT stage did not run): the DA schedule
    th = scenario.tables.get("thermal")
    res = scenario.tables["resources"].set_index("resource")
    rows = []
    for r in ([] if th is None else th.itertuples(index=False)):
        if r.resource not in status.index:
            continue  # no schedule rows: nothing to carry
        s = status.loc[r.resource].dropna().sort_index().to_numpy(int)
        on = bool(s[-1]) if len(s) else bool(r.initial_on)
        mw = float(last_mw.get(r.resource, 0.0)) if on else 0.0
        if on:
            mw = max(mw, float(res.at[r.resource, "pmin_mw"]))
        rows.append(dict(resource=r.resource, initial_on=on,
                         initial_hours=hours_in_status(s, bool(r.initial_on),
                                                       int(r.initial_hours)),
                         initial_mw=mw))
    thermal = pd.DataFrame(rows, columns=["resource", "initial_on", "initial_hours",
                                          "initial_mw"])
    st = scenario.tables.get("storage")
    srows = [dict(resource=r, soc_initial_mwh=float(soc[r]))
             for r in ([] if st is None else st["resource"]) if r in soc.index and soc[r] == soc[r]]
    storage = pd.DataFrame(srows, columns=["resource", "soc_initial_mwh"])
    return DayEndState(thermal=thermal.sort_values("resource", ignore_index=True),
                       storage=storage.sort_values("resource", ignore_index=True),
                       schedule=schedule)


def carry_into(scenario_next: Scenario, state: DayEndState) -> Scenario:
    """Day D+1's scenario with day D's end state as its initial values (module docstring):
    thermal initial_on/initial_hours/initial_mw and storage soc_initial_mwh of the resources
    both days have; a carried output or SOC is put within day D+1's limits. Validated."""
    tables = {}
    th = scenario_next.tables.get("thermal")
    if th is not None and len(state.thermal):
        res = scenario_next.tables["resources"].set_index("resource")
        carried = state.thermal.set_index("resource")
        th = th.copy()
        for i, r in enumerate(th["resource"]):
            if r not in carried.index:
                continue
            on = bool(carried.at[r, "initial_on"])
            mw = float(carried.at[r, "initial_mw"]) if on else 0.0
            if on:
                mw = min(max(mw, float(res.at[r, "pmin_mw"])), float(res.at[r, "pmax_mw"]))
            th.loc[th.index[i], ["initial_on", "initial_hours", "initial_mw"]] = [
                on, int(carried.at[r, "initial_hours"]), mw]
        tables["thermal"] = th.astype({"initial_on": bool, "initial_hours": "int64",
                                       "initial_mw": float})
    st = scenario_next.tables.get("storage")
    if st is not None and len(state.storage):
        carried = state.storage.set_index("resource")["soc_initial_mwh"]
        st = st.copy()
        for i, r in enumerate(st["resource"]):
            if r in carried.index:
                lo, hi = float(st["soc_min_mwh"].iat[i]), float(st["soc_max_mwh"].iat[i])
                st.loc[st.index[i], "soc_initial_mwh"] = min(max(float(carried[r]), lo), hi)
        tables["storage"] = st
    return scenario_next.with_tables(**tables).validate() if tables else scenario_next


def carry_state(scenario_next: Scenario, result_prev, scenario_prev: Scenario) -> Scenario:
    """`carry_into(scenario_next, end_state(scenario_prev, result_prev.tables))`: day D+1 starting
    where day D (its scenario and its run) ended."""
    tables = result_prev.tables if hasattr(result_prev, "tables") else result_prev
    return carry_into(scenario_next, end_state(scenario_prev, tables))


# ------------------------------------------------------------------------------------------
# the chain record (STORE/rolling/<rolling_id>.json)
def rolling_id_for(source: str, first: str, overrides: dict) -> str:
    """The id of a rolling run: its source, first day and parameter overrides."""
    key = {"source": source, "from": first, "overrides": overrides}
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:12]


def merge_chain(old: list[dict], new: list[dict]) -> list[dict]:
    """The days of a rolling run after this command: `new` entries (date, run_id,
    previous_run_id, ...) replace `old` ones of the same date; a kept old day after them stays
    only while it still follows its previous day (its previous_run_id is that day's run_id),
    so the days after a recomputed day drop out of the chain until they are recomputed."""
    by_date = {d["date"]: d for d in old}
    by_date.update({d["date"]: d for d in new})
    out: list[dict] = []
    for date in sorted(by_date):
        d = by_date[date]
        if out and (d.get("previous_run_id") != out[-1]["run_id"]
                    or date != _next_date(out[-1]["date"])):
            break
        out.append(d)
    return out


def _next_date(date: str) -> str:
    return (_dt.date.fromisoformat(date) + _dt.timedelta(days=1)).isoformat()


def read_chain(store: Store, rolling_id: str) -> dict:
    p = store.root / ROLLING_DIR / f"{rolling_id}.json"
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return {}


def write_chain(store: Store, record: dict) -> Path:
    p = store.root / ROLLING_DIR / f"{record['rolling_id']}.json"
    atomic_write_text(p, json.dumps(record, indent=2, sort_keys=True, default=str))
    return p


# ------------------------------------------------------------------------------------------
# the driver
@dataclass
class RollingOutcome:
    """What a rolling run did: per day (date, run_id, status 'done'|'skipped'|'failed', and
    the completion status of a solved day)."""

    rolling_id: str
    days: list[dict] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[str]:
        return [d["date"] for d in self.days if d["status"] == "failed"]

    @property
    def solved(self) -> list[str]:
        return [d["date"] for d in self.days if d["status"] == "done"]

    @property
    def skipped(self) -> list[str]:
        return [d["date"] for d in self.days if d["status"] == "skipped"]

    @property
    def at_limit(self) -> list[str]:
        return [d["date"] for d in self.days if d.get("completion") not in (None, "solved")]


def _store_scenario(store: Store, sc: Scenario, date: str, source_dir: str | None) -> Scenario:
    """Write the day's scenario (carried state and parameters in) into STORE/scenarios/ and
    load it back: the run's scenario_dir then names exactly what was solved (`edam check RUN`
    works). The folder is named by the run id, which covers the parameters too."""
    import shutil

    from scenarios import load_scenario, write_scenario
    folder = store.scenarios_dir / f"{sc.name}-{date}-{run_id_for(sc)}"
    if not (folder / "scenario.yaml").is_file():
        write_scenario(sc, folder, overwrite=True)  # the store owns scenarios/
        folder.chmod(0o755)  # the writer's temporary folder is created 0700
        rt = Path(source_dir) / "rt" if source_dir else None
        if rt is not None and rt.is_dir():  # phase 3's RT input folder travels with the day
            shutil.copytree(rt, folder / "rt")
        if sc.source_dir is None and sc.metadata.get("notice"):
            from scenarios.importers import rts_gmlc
            notice = Path(getattr(rts_gmlc, "BUNDLED_DATA_DIR", "")) / "NOTICE.md"
            if notice.is_file():  # the data's notice travels with every copy
                shutil.copyfile(notice, folder / "NOTICE.md")
    return load_scenario(folder)


def run_days(source: str, first: str, last: str, store: Store | str | Path,
             overrides: dict | None = None, fmt: str = "csv",
             say: Callable[[str], None] = lambda m: None, solve=None) -> RollingOutcome:
    """Clear the days first..last of SOURCE into `store`, each from the previous day's end
    state (module docstring); `solve(scenario)` (default clearing.api.solve) clears one day.
    Stops at the first failed day (the days after it have no start state)."""
    dates = day_dates(first, last)
    src = check_source(source, dates)
    overrides = dict(overrides or {})
    store = store if isinstance(store, Store) else Store(store)
    store.init(forbid_inside=[] if src == RTS_GMLC else [src])
    store.clean_partial()
    if solve is None:
        import clearing.api as api
        solve = api.solve
    rid_chain = rolling_id_for(src, dates[0], overrides)
    outcome = RollingOutcome(rolling_id=rid_chain)
    chain = read_chain(store, rid_chain)
    record = {"rolling_id": rid_chain, "source": src, "from": dates[0],
              "overrides": overrides, "days": chain.get("days", [])}
    prev: tuple[Scenario, str] | None = None  # (day D's scenario, its run id)
    new_days: list[dict] = []
    t0 = time.perf_counter()
    try:
        for i, date in enumerate(dates):
            base = load_day(src, date, overrides)
            state = None
            if prev is not None:
                from clearing.results import read_run
                state = end_state(prev[0], read_run(store.run_dir(prev[1])).tables)
                base = carry_into(base, state)
            sc = _store_scenario(store, base, date,
                                 None if src == RTS_GMLC else str(Path(src) / date))
            rid = run_id_for(sc)
            info = {"rolling_id": rid_chain, "source": src, "from": dates[0], "date": date,
                    "day": i + 1, "previous_run_id": prev[1] if prev else None,
                    "carried_state_hash": state.digest() if state else None,
                    "carried_from_schedule": state.schedule if state else None}
            entry = {"date": date, "run_id": rid, "previous_run_id": info["previous_run_id"],
                     "carried_state_hash": info["carried_state_hash"]}
            if store.is_done(rid):
                say(f"{date}: already in the store (run {rid}), skipped")
                outcome.days.append({"date": date, "run_id": rid, "status": "skipped"})
            else:
                say(f"{date}: solving (phase {sc.parameters.phase}, run {rid})")
                t_day = time.perf_counter()
                started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
                try:
                    result = solve(sc)
                except Exception as exc:  # noqa: BLE001 - recorded; the chain stops here
                    store.record_failure(rid, {"scenario": sc.name, "trade_date": date,
                                               "hours": sc.hours, "input_hash": sc.input_hash(),
                                               "parameters": sc.parameters.to_dict(),
                                               "rolling": info, "format": fmt}, exc,
                                         where="run-days")
                    say(f"{date}: failed: {type(exc).__name__}: {exc}")
                    outcome.days.append({"date": date, "run_id": rid, "status": "failed",
                                         "error": f"{type(exc).__name__}: {exc}"})
                    break
                wall = time.perf_counter() - t_day
                extra = {"rolling": info,
                         "store": {"run_id": rid, "label": f"day {i + 1} {date}",
                                   "source": {"kind": "dir", "path": sc.source_dir},
                                   "overrides": overrides, "started_at": started,
                                   "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
                                       timespec="seconds"), "wall_s": wall}}
                store.save_run(result, rid, fmt, extra)
                completion = (result.manifest.get("completion") or {}).get("status", "solved")
                say(f"{date}: done in {wall:.1f} s"
                    + ("" if completion == "solved" else f" (stopped: {completion})"))
                outcome.days.append({"date": date, "run_id": rid, "status": "done",
                                     "completion": completion})
            new_days.append(entry)
            record["days"] = merge_chain(record["days"], new_days)
            record["updated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(
                timespec="seconds")
            write_chain(store, record)
            prev = (sc, rid)
    except KeyboardInterrupt:
        outcome.interrupted = True
    say(f"catalogue ({time.perf_counter() - t0:.1f} s so far)")
    refresh_catalogue(store)
    return outcome


def run_days_command(source: str, first: str, last: str, out: str, overrides: dict,
                     fmt: str = "csv") -> int:
    """`edam run-days SOURCE --from D1 --to D2 --out STORE`: 0 every day done and solved to
    its gap, 3 some day stopped at a limit (its results written), 1 a day failed (the days
    after it are not run), 130 interrupted (run the same command again to continue)."""
    from rich.console import Console
    con = Console(stderr=True, highlight=False)
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        con.print(f"[dim]{time.perf_counter() - t0:7.1f} s[/]  {msg}")

    outcome = run_days(source, first, last, out, overrides, fmt, say)
    store = Store(out)
    n = len(day_dates(first, last))
    con.print(f"{len(outcome.solved)} days solved, {len(outcome.skipped)} already done, "
              f"{len(outcome.failed)} failed, {n - len(outcome.days)} not run; rolling run "
              f"{outcome.rolling_id} in {store.root} (edam runs {store.root})")
    if outcome.interrupted:
        con.print("interrupted: run the same command again to continue after the last "
                  "finished day")
        return 130
    if outcome.failed:
        return 1
    return 3 if outcome.at_limit else 0


__all__ = ["day_dates", "check_source", "load_day", "DayEndState", "hours_in_status",
           "end_state", "carry_into", "carry_state", "merge_chain", "run_days",
           "run_days_command", "RollingOutcome", "SCHEDULE_OF_PHASE"]
