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

Look-ahead [A] (`--lookahead-hours N`, 0 = off, the default; N <= 24 and <= day D+1's hours):
an option of the rolling run, not a scenario parameter, because it needs day D+1's inputs,
which only the rolling source has (one scenario has one day). Two steps per day:

1. day D (its carried initial state in) with the first N hours of day D+1 appended, hourly as
   day D+1 gives them (`lookahead_scenario`), cleared in phase min(phase, 2): it chooses the
   IFM and RUC commitment knowing what follows the day;
2. day D alone (its own H hours) cleared at that solve's commitment of hours 1..H
   (`clearing.api.solve(commitment_from=...)`). This is the stored run: its schedules, prices
   (the pricing LP at that commitment), settlement and RSE are day D's own hours, and its end
   state, carried into day D+1 as without look-ahead, is that of hour H of day D: the status
   of the look-ahead commitment, the output and SOC of day D's own dispatch (which meets the
   storage end-of-day floor at hour H, not at the end of the look-ahead).

The extended scenario is written into STORE/scenarios/ and named in the day's manifest
(`rolling.lookahead_scenario_dir`, with `lookahead_hours`, `lookahead_next_date`,
`lookahead_objective_usd`); the last day of SOURCE has no look-ahead (`lookahead_hours` 0). A
day's run id then also covers the look-ahead hours and day D+1's appended inputs
(`lookahead_run_id`). Phase 3's RT run follows step 2 on day D's own hours.

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


def load_day(source: str, date: str, overrides: dict | None = None,
             profile: str = "edam") -> Scenario:
    """Day `date` of SOURCE as given (its own initial state), with the parameter overrides;
    `profile` is the RTS-GMLC import profile (edam or reference)."""
    if source == RTS_GMLC:
        from scenarios.importers.rts_gmlc import import_rts_gmlc
        sc = import_rts_gmlc(date, profile=profile)
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
# the optional look-ahead (pure): day D with the first hours of day D+1 appended
#: the most look-ahead hours (one day of D+1)
MAX_LOOKAHEAD_HOURS = 24
#: tables whose hour 0 (blank) means "every hour" (scenarios/schema.py)
_BLANK_HOUR_TABLES = {"tie_limits": ("tie",), "noncompetitive_constraints": ("constraint",)}
#: day-constant table -> (its hourly override table, the columns naming one curve)
_DAY_CONSTANT_CURVES = {"energy_bids": ("energy_bids_hourly", ("resource", "side")),
                        "availability_bids": ("availability_bids_hourly",
                                              ("resource", "product"))}


def _explicit_hours(df: pd.DataFrame, keys: tuple[str, ...], hours: int) -> pd.DataFrame:
    """A blank-hour table with every hour-0 row ("every hour") written out for hours 1..hours
    where the key has no row of its own for that hour."""
    blank, own = df[df["hour"] == 0], df[df["hour"] != 0]
    have = set(map(tuple, own[[*keys, "hour"]].astype(object).to_numpy().tolist()))
    rows = [dict(r, hour=h) for r in blank.to_dict("records") for h in range(1, hours + 1)
            if (*[r[k] for k in keys], h) not in have]
    return pd.concat([own, pd.DataFrame(rows, columns=df.columns)], ignore_index=True)


def _curve(df: pd.DataFrame, cols: tuple[str, ...], key: tuple) -> list[tuple]:
    """The rows of one day-constant curve (cols == key), as sorted tuples (for comparison)."""
    mask = np.ones(len(df), dtype=bool)
    for c, v in zip(cols, key):
        mask &= (df[c] == v).to_numpy()
    return sorted(tuple(r) for r in df[mask].drop(columns=list(cols)).astype(object)
                  .to_numpy().tolist())


def lookahead_scenario(day: Scenario, nxt: Scenario, hours: int) -> Scenario:
    """Day D (`day`, its initial state already carried) with the first `hours` hours of day D+1
    (`nxt`) appended as hours H+1..H+hours, hourly as day D+1 gives them [A]
    (docs/rolling.md, Look-ahead):

    - every table with an hour column: day D's rows, then day D+1's rows of hours 1..`hours`
      shifted by H (day D's H hours); the blank hour ("every hour") of tie_limits and
      noncompetitive_constraints is written out per hour first, so each day's applies to its
      own hours;
    - day-constant bids (energy_bids, availability_bids): day D's stay the day-constant curve;
      a curve of day D+1 that differs from day D's (or that day D does not have) is written
      as hourly rows (energy_bids_hourly, availability_bids_hourly) in each look-ahead hour that
      day D+1 does not override itself;
    - hydro.daily_energy_mwh: day D's limit plus hours/24 of day D+1's (pro rata);
    - every other table (resources, thermal with its initial state, storage with its end-of-day
      floor, now at the last look-ahead hour, network, ...) is day D's.
    Validated."""
    hours = int(hours)
    most = min(MAX_LOOKAHEAD_HOURS, nxt.hours)
    if not 1 <= hours <= most:
        raise ValueError(f"look-ahead hours {hours}: expected 1..{most}")
    shift = day.hours
    out = dict(day.tables)
    for name, df in day.tables.items():
        nd = nxt.tables.get(name)
        if "hour" not in df.columns:
            continue
        if name in _BLANK_HOUR_TABLES:
            keys = _BLANK_HOUR_TABLES[name]
            df = _explicit_hours(df, keys, day.hours)
            nd = None if nd is None else _explicit_hours(nd, keys, nxt.hours)
        add = None if nd is None else nd[(nd["hour"] >= 1) & (nd["hour"] <= hours)].assign(
            hour=lambda f: f["hour"] + shift)
        out[name] = df if add is None or add.empty else pd.concat([df, add], ignore_index=True)
    for name, nd in nxt.tables.items():  # an hourly table only day D+1 has
        if name not in day.tables and "hour" in nd.columns and name not in _BLANK_HOUR_TABLES:
            out[name] = nd[(nd["hour"] >= 1) & (nd["hour"] <= hours)].assign(
                hour=lambda f: f["hour"] + shift).reset_index(drop=True)
    for name, (hourly, cols) in _DAY_CONSTANT_CURVES.items():
        dn, dd = nxt.tables.get(name), day.tables.get(name)
        if dn is None or dn.empty:
            continue
        dd = dd if dd is not None else dn.iloc[0:0]
        hn = nxt.tables.get(hourly)
        own = set() if hn is None else {tuple(k) for k in hn[[*cols, "hour"]].astype(object)
                                        .to_numpy().tolist()}
        rows = []
        for key in sorted({tuple(k) for k in dn[list(cols)].astype(object).to_numpy().tolist()}):
            if _curve(dn, cols, key) == _curve(dd, cols, key):
                continue
            mask = np.ones(len(dn), dtype=bool)
            for c, v in zip(cols, key):
                mask &= (dn[c] == v).to_numpy()
            for h in range(1, hours + 1):
                if (*key, h) not in own:
                    rows.append(dn[mask].assign(hour=h + shift))
        if rows:
            base = out.get(hourly)
            add = pd.concat(rows, ignore_index=True)
            cols_out = list(base.columns) if base is not None else None
            out[hourly] = pd.concat([base, add[cols_out] if cols_out else add],
                                    ignore_index=True) if base is not None else add
    hy, hn = day.tables.get("hydro"), nxt.tables.get("hydro")
    if hy is not None and hn is not None and len(hy):
        extra = hn.set_index("resource")["daily_energy_mwh"].astype(float) * hours / nxt.hours
        hy = hy.copy()
        hy["daily_energy_mwh"] = hy["daily_energy_mwh"].astype(float) + \
            hy["resource"].map(extra).fillna(0.0).to_numpy()
        out["hydro"] = hy
    from dataclasses import replace
    meta = dict(day.metadata, lookahead={"next_date": nxt.trade_date, "hours": hours})
    return replace(day, name=f"{day.name}-lookahead{hours}", hours=day.hours + hours,
                   tables=out, metadata=meta, validated=False).validate()


def first_hours(result, hours: int):
    """`result` (a RunResult) with its schedules table cut to hours 1..`hours`: the commitment
    of day D's own hours of a look-ahead solve (`clearing.api.solve(commitment_from=...)`)."""
    from clearing.results import RunResult
    s = result.tables["schedules"]
    return RunResult(tables={"schedules": s[s["hour"] <= hours].reset_index(drop=True)},
                     manifest=result.manifest)


# ------------------------------------------------------------------------------------------
# the chain record (STORE/rolling/<rolling_id>.json)
def rolling_id_for(source: str, first: str, overrides: dict, lookahead_hours: int = 0,
                   profile: str = "edam") -> str:
    """The id of a rolling run: its source, first day, parameter overrides, look-ahead hours
    and import profile (the last two left out at their defaults, so the ids of earlier runs
    stay as they were)."""
    key = {"source": source, "from": first, "overrides": overrides}
    if lookahead_hours:
        key["lookahead_hours"] = int(lookahead_hours)
    if profile != "edam":
        key["profile"] = profile
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


def next_day(source: str, date: str, overrides: dict, profile: str = "edam") -> Scenario | None:
    """Day D+1 of SOURCE for day D's look-ahead, or None when SOURCE has no such day (the
    last day of the RTS-GMLC year, a folder without it)."""
    nxt = _next_date(date)
    if source != RTS_GMLC and not (Path(source) / nxt / "scenario.yaml").is_file():
        return None
    if source == RTS_GMLC:
        from scenarios.importers.rts_gmlc import DATA_YEAR
        if _dt.date.fromisoformat(nxt).year != DATA_YEAR:
            return None  # outside the data set's year
    return load_day(source, nxt, overrides, profile)


def lookahead_run_id(day_run_id: str, extended: Scenario, hours: int) -> str:
    """The run id of day D cleared with a look-ahead: day D's own inputs (its run id), the
    look-ahead hours and the extended scenario's inputs (day D+1's hours)."""
    key = {"day": day_run_id, "lookahead_hours": int(hours), "extended": run_id_for(extended)}
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:len(day_run_id)]


def check_lookahead_hours(hours) -> int:
    """--lookahead-hours as an int in 0..MAX_LOOKAHEAD_HOURS (`ScenarioError` otherwise)."""
    try:
        n = int(hours)
        ok = str(hours).strip().lstrip("+").isdigit() and 0 <= n <= MAX_LOOKAHEAD_HOURS
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ScenarioError(Problem("--lookahead-hours", None, None, repr(hours),
                                    f"a whole number of hours 0..{MAX_LOOKAHEAD_HOURS}"))
    return n


def run_days(source: str, first: str, last: str, store: Store | str | Path,
             overrides: dict | None = None, fmt: str = "csv",
             say: Callable[[str], None] = lambda m: None, solve=None,
             lookahead_hours: int = 0, profile: str = "edam") -> RollingOutcome:
    """Clear the days first..last of SOURCE into `store`, each from the previous day's end
    state (module docstring); `solve(scenario)` (default clearing.api.solve) clears one day.
    With `lookahead_hours` N > 0 each day is first cleared with the first N hours of the next
    day appended (`lookahead_scenario`), then cleared alone at that solve's commitment of its
    own hours (`solve(scenario, commitment_from=...)`), which is the stored run [A].
    `profile` is the RTS-GMLC import profile (SOURCE rts-gmlc only; docs/rts-gmlc-import.md).
    Stops at the first failed day (the days after it have no start state)."""
    dates = day_dates(first, last)
    lookahead_hours = check_lookahead_hours(lookahead_hours)
    src = check_source(source, dates)
    if profile != "edam" and src != RTS_GMLC:
        raise ScenarioError(Problem("--profile", None, None, profile,
                                    f"edam for a folder SOURCE (a profile is an option of the "
                                    f"'{RTS_GMLC}' import)"))
    overrides = dict(overrides or {})
    store = store if isinstance(store, Store) else Store(store)
    store.init(forbid_inside=[] if src == RTS_GMLC else [src])
    store.clean_partial()
    if solve is None:
        import clearing.api as api
        solve = api.solve
    rid_chain = rolling_id_for(src, dates[0], overrides, lookahead_hours, profile)
    outcome = RollingOutcome(rolling_id=rid_chain)
    chain = read_chain(store, rid_chain)
    record = {"rolling_id": rid_chain, "source": src, "from": dates[0],
              "overrides": overrides, "days": chain.get("days", [])}
    if lookahead_hours:
        record["lookahead_hours"] = lookahead_hours
    if profile != "edam":
        record["profile"] = profile
    prev: tuple[Scenario, str] | None = None  # (day D's scenario, its run id)
    new_days: list[dict] = []
    t0 = time.perf_counter()
    try:
        for i, date in enumerate(dates):
            base = load_day(src, date, overrides, profile)
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
            if profile != "edam":
                info["profile"] = profile
            extended = None
            if lookahead_hours:
                nxt = next_day(src, date, overrides, profile)
                n = 0 if nxt is None else min(lookahead_hours, nxt.hours)
                if n:
                    ext = lookahead_scenario(base, nxt, n)
                    ext = ext.with_parameters(phase=min(int(ext.parameters.phase), 2))
                    extended = _store_scenario(store, ext, date, None)
                    rid = lookahead_run_id(rid, extended, n)
                info["lookahead_hours"] = n
                info["lookahead_next_date"] = None if nxt is None else nxt.trade_date
                info["lookahead_scenario_dir"] = None if extended is None else \
                    extended.source_dir
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
                    if extended is None:
                        result = solve(sc)
                    else:
                        say(f"{date}: look-ahead solve ({extended.hours} hours, to hour "
                            f"{info['lookahead_hours']} of {info['lookahead_next_date']})")
                        ext_result = solve(extended)
                        info["lookahead_objective_usd"] = ext_result.objective
                        say(f"{date}: day {date} alone at the look-ahead commitment")
                        result = solve(sc, commitment_from=first_hours(ext_result, sc.hours))
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
                     fmt: str = "csv", lookahead_hours: int = 0, profile: str = "edam") -> int:
    """`edam run-days SOURCE --from D1 --to D2 --out STORE`: 0 every day done and solved to
    its gap, 3 some day stopped at a limit (its results written), 1 a day failed (the days
    after it are not run), 130 interrupted (run the same command again to continue)."""
    from rich.console import Console
    con = Console(stderr=True, highlight=False)
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        con.print(f"[dim]{time.perf_counter() - t0:7.1f} s[/]  {msg}")

    outcome = run_days(source, first, last, out, overrides, fmt, say,
                       lookahead_hours=lookahead_hours, profile=profile)
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
           "lookahead_scenario", "first_hours", "next_day", "lookahead_run_id",
           "check_lookahead_hours", "MAX_LOOKAHEAD_HOURS",
           "run_days_command", "RollingOutcome", "SCHEDULE_OF_PHASE"]
