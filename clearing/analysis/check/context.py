"""Shared state of the solution checker (docs/validation.md): the scenario and run read into
resource x hour frames, the run's parameters, classified relaxations, and the helpers every rule
family uses. Nothing here reads the engine's model or its data preparation (clearing/market/data.py)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from clearing.results import RunResult
from scenarios.errors import ScenarioError
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario

VIOLATION_COLUMNS = ["rule", "table", "kind", "id", "hour", "amount", "limit", "excess", "message"]

AWARD_COLUMNS = {"reg_up_mw": "ru", "reg_down_mw": "rd", "spin_mw": "sr", "nonspin_mw": "nr",
                 "iru_mw": "iru", "ird_mw": "ird", "rcu_mw": "rcu", "rcd_mw": "rcd"}
# types whose net injection enters the RUC balance (spec §3 g_i: virtuals and demand bids excluded)
RUC_TYPES = ("thermal", "ver", "storage", "hydro", "import", "export")
# types whose hourly ramps are checked (spec §5.4: thermal; hydro "thermal-like")
RAMP_TYPES = ("thermal", "hydro")
BIG = 1e12


# ------------------------------------------------------------------------------------------------
# relaxations
def classify_relaxation(requirement: str) -> tuple[str, str | None]:
    """(category, detail) of a `relaxations.requirement` name. Categories: `pb` (IFM power balance;
    detail `under`/`over`), `ruc` (RUC forecast balance; `under`/`over`), `branch` (base-case
    overload; detail = branch id when written `branch_base:<id>`, else None and the id is read
    from the row's `branch`, `constraint` or `baa` column), `deployment` (deployment-scenario
    overload), `ruc_branch` (RUC overload), `as` (detail ru/sr/nr/rd),
    `ir` (iru/ird), `rc` (rcu/rcd), `other`."""
    head, _, tail = str(requirement).strip().partition(":")
    head = head.lower()
    tail = tail.strip() or None  # an id keeps its case
    words = set(head.replace("-", "_").replace(" ", "_").split("_"))

    def sign() -> str | None:
        if words & {"under", "short", "shortage", "deficit", "plus", "pos", "positive"} or \
                head.endswith("+"):
            return "under"
        if words & {"over", "surplus", "excess", "minus", "neg", "negative"} or head.endswith("-"):
            return "over"
        return None

    if words & {"branch", "transmission", "flow", "line", "flowgate"}:
        if "ruc" in words:
            return "ruc_branch", tail
        if words & {"deployment", "dep"}:
            return "deployment", tail
        return "branch", tail
    if "ruc" in words or "forecast" in words:
        return "ruc", sign()
    if "balance" in words or "pb" in words or head.startswith("power_balance"):
        return "pb", sign()
    if words & {"deployment", "dep"}:
        return "deployment", tail
    if words & {"iru", "ird"}:
        return "ir", ("iru" if "iru" in words else "ird")
    if words & {"rcu", "rcd"}:
        return "rc", ("rcu" if "rcu" in words else "rcd")
    alias = {"ru": "ru", "regup": "ru", "rd": "rd", "regdown": "rd", "sr": "sr", "spin": "sr",
             "spinning": "sr", "nr": "nr", "nonspin": "nr"}
    flat = head.replace("_", "").replace(" ", "")
    for w in list(words) + [flat]:
        if w in alias:
            return "as", alias[w]
    if "up" in words and ("reg" in words or "regulation" in words):
        return "as", "ru"
    if "down" in words and ("reg" in words or "regulation" in words):
        return "as", "rd"
    if "non" in words and "spin" in words:
        return "as", "nr"
    return "other", None


def relaxation_frame(run: RunResult) -> pd.DataFrame:
    """The run's relaxations classified: category, detail, id (BAA or branch), hour, relaxed_mw."""
    cols = ["category", "detail", "id", "hour", "relaxed_mw"]
    rel = run.tables.get("relaxations")
    if rel is None or not len(rel):
        return pd.DataFrame(columns=cols)
    rows = []
    for rec in rel.to_dict("records"):
        cat, detail = classify_relaxation(rec.get("requirement", ""))
        ident = rec.get("baa")
        if cat in ("branch", "deployment", "ruc_branch"):
            for c in ("branch", "constraint"):
                if c in rec and isinstance(rec[c], str) and rec[c]:
                    ident = rec[c]
            if detail:
                ident = detail
        rows.append((cat, detail, None if is_missing(ident) else str(ident), int(rec["hour"]),
                     float(rec.get("relaxed_mw", 0.0) or 0.0)))
    return pd.DataFrame(rows, columns=cols)


def is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))



class _Violations:
    """Where the rules report (`Context` mixin): violations collected in `rows`, rules skipped
    for want of a table in `skipped`."""

    def add(self, rule: str, table: str, kind: str, ident, hour, amount: float, limit: float,
            message: str) -> None:
        known = not (is_missing(amount) or is_missing(limit))
        excess = abs(float(amount) - float(limit)) if known else float("nan")
        self.rows.append(dict(rule=rule, table=table, kind=kind, id=str(ident),
                              hour=None if hour is None else int(hour), amount=float(amount),
                              limit=float(limit), excess=excess, message=message))

    def flag_matrix(self, rule: str, table: str, amount: pd.DataFrame, limit: pd.DataFrame,
                    upper: bool, what: str, tol: float | None = None,
                    mask: pd.DataFrame | None = None) -> None:
        """Flag cells (resource x hour) where amount > limit (upper) or amount < limit (lower)."""
        tol = self.tol if tol is None else tol
        a, lim = amount.to_numpy(dtype=float), limit.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = (a - lim > tol) if upper else (lim - a > tol)
        if mask is not None:
            bad &= mask.to_numpy(dtype=bool)
        for i, j in zip(*np.nonzero(bad)):
            ident, hour = amount.index[i], amount.columns[j]
            rel = "above" if upper else "below"
            self.add(rule, table, "resource", ident, hour, a[i, j], lim[i, j],
                     f"{what} {a[i, j]:.6g} {rel} its limit {lim[i, j]:.6g} by "
                     f"{abs(a[i, j] - lim[i, j]):.6g}")

    def flag_balance(self, rule: str, baas: list[str], gap: pd.DataFrame, slack: pd.DataFrame,
                     message: Callable[[float, float], str]) -> None:
        """Flag each BAA-hour whose balance gap (supply − demand + net imports, MW) is not minus
        the reported relaxation (under − over) within `tol`; `message(gap, relaxation)` says
        what the gap is."""
        for b in baas:
            for h in self.hours:
                g, sl = float(gap.at[b, h]), float(slack.at[b, h])
                if abs(g + sl) > self.tol:
                    self.add(rule, "schedules", "baa", b, h, g, 0.0 - sl, message(g, sl))

    def need(self, rule: str, *tables: str) -> bool:
        missing = [t for t in tables if t not in self.run.tables]
        if missing:
            self.skipped.append(f"{rule}: no {', '.join(missing)} table")
            return False
        return True


class _Relaxations:
    """The run's relaxations, classified (`Context` mixin; `relaxation_frame`)."""

    def relaxed(self, category: str, detail: str | None = None) -> pd.Series:
        """Sum of relaxed MW by (id, hour) for one relaxation category (and detail)."""
        r = self.rel[self.rel["category"] == category]
        if detail is not None:
            r = r[r["detail"] == detail]
        if not len(r):
            return pd.Series(dtype=float)
        return r.groupby(["id", "hour"])["relaxed_mw"].sum()

    def balance_slack(self, category: str) -> pd.DataFrame:
        """under − over slack of `pb` or `ruc`, BAA x hour (0 where none)."""
        baas = sorted(self.s.baas["baa"].astype(str))
        out = pd.DataFrame(0.0, index=baas, columns=self.hours)
        for detail, sign in (("under", 1.0), ("over", -1.0), (None, 1.0)):
            r = self.rel[(self.rel["category"] == category)]
            r = r[r["detail"].isna()] if detail is None else r[r["detail"] == detail]
            for (b, h), v in r.groupby(["id", "hour"])["relaxed_mw"].sum().items():
                if b in out.index and h in out.columns:
                    out.at[b, h] += sign * v
        return out


class _Units:
    """Commitment and energy bounds per resource and hour, read from the schedules and the
    scenario (`Context` mixin; spec §5.4, §5.5, §5.11)."""

    def by_type(self, *types: str) -> pd.Index:
        return self.rtype.index[self.rtype.isin(types)]

    def commitment(self) -> pd.DataFrame:
        """u (thermal: the committed column rounded; others 1)."""
        u = pd.DataFrame(1.0, index=self.res.index, columns=self.hours)
        th = self.by_type("thermal")
        u.loc[th] = (self.sched["committed"].loc[th] > 0.5).astype(float)
        return u

    def startup_shutdown_mw(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(SU, SD), thermal unit x hour: the start-up and shut-down ramps of docs/market-model.md
        §5.4 [A], read from `thermal.startup_ramp_mw` / `shutdown_ramp_mw` and raised to Pmin
        (a unit must be able to start and stop at Pmin); a blank value is the unit's largest Pmax
        (static or any hour), so nothing binds without data. They limit the hourly ramp (`ramp`)
        and the upward capacity stack in a start-up hour and in the hour before a shut-down
        (`headroom`, `profit`)."""
        th = self.by_type("thermal")
        top = np.maximum(self.pmax.loc[th].max(axis=1), self.res.loc[th, "pmax_mw"].astype(float))
        pmax = pd.DataFrame(np.repeat(top.to_numpy(float)[:, None], len(self.hours), 1),
                            index=th, columns=self.hours)
        pmin = self.res.loc[th, "pmin_mw"].astype(float).fillna(0.0)
        out = []
        for col in ("startup_ramp_mw", "shutdown_ramp_mw"):
            given = (self.thermal[col].reindex(th).astype(float) if col in self.thermal.columns
                     else pd.Series(np.nan, index=th))
            ramp = np.maximum(given, pmin)  # NaN where blank
            frame = pd.DataFrame(np.repeat(ramp.to_numpy()[:, None], len(self.hours), 1),
                                 index=th, columns=self.hours)
            out.append(frame.where(frame.notna(), pmax))
        return out[0], out[1]

    def startup_shutdown_cap(self, u: pd.DataFrame) -> pd.DataFrame:
        """The upward-stack cap of the start-up/shut-down capacity rows (docs/market-model.md
        §5.4 [A]; `stack_up_startup`, `stack_up_shutdown`), thermal unit x hour: SU_t in a
        start-up hour (v_t = 1, u_0 from `thermal.initial_on`), SD_t in the last on-line hour
        before a shut-down (w_t+1 = 1, t < H), the smaller of both when both apply, else
        infinity."""
        th = self.by_type("thermal")
        su, sd = self.startup_shutdown_mw()
        uu = u.loc[th].to_numpy(float)
        on0 = (self.thermal["initial_on"].reindex(th).fillna(False).astype(bool).to_numpy(float)
               if "initial_on" in self.thermal.columns else np.zeros(len(th)))
        prev = np.column_stack([on0, uu[:, :-1]])
        start = (uu > 0.5) & (prev < 0.5)
        stop = np.zeros_like(start)
        stop[:, :-1] = (uu[:, :-1] > 0.5) & (uu[:, 1:] < 0.5)
        cap = np.full(uu.shape, np.inf)
        cap = np.where(start, np.minimum(cap, su.to_numpy(float)), cap)
        cap = np.where(stop, np.minimum(cap, sd.to_numpy(float)), cap)
        return pd.DataFrame(cap, index=th, columns=self.hours)

    def ruc_commitment(self, u: pd.DataFrame) -> pd.DataFrame:
        if "ruc_committed" in self.sched:
            uR = pd.DataFrame(1.0, index=self.res.index, columns=self.hours)
            th = self.by_type("thermal")
            uR.loc[th] = (self.sched["ruc_committed"].loc[th] > 0.5).astype(float)
            return np.maximum(uR, u)
        rc = (self.sched["rcu_mw"] + self.sched["rcd_mw"]) > self.tol
        return np.maximum(u, rc.astype(float))

    def ruc_ran(self) -> bool:
        return bool(self.p.run_ruc) and self.sched is not None and \
            "rcu_mw" in self.sched["_raw"].columns

    def energy_bounds(self, u: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(lo, hi) of the net injection per resource-hour given commitment u (§5.4, §5.5)."""
        lo = pd.DataFrame(0.0, index=self.res.index, columns=self.hours)
        hi = self.pmax.copy()
        t = self.rtype
        pmin = self.res["pmin_mw"].astype(float)
        th = self.by_type("thermal")
        lo.loc[th] = u.loc[th].mul(pmin.loc[th], axis=0)
        hi.loc[th] = self.pmax.loc[th] * u.loc[th]
        st = self.by_type("storage")
        if len(st):
            ch = self.storage["charge_max_mw"].reindex(st).fillna(0.0).astype(float)
            lo.loc[st] = -pd.DataFrame(np.repeat(ch.to_numpy()[:, None], len(self.hours), 1),
                                       index=st, columns=self.hours)
        neg = t.index[t.isin(["export", "demand", "virtual_demand"])]
        lo.loc[neg] = -self.pmax.loc[neg]
        hi.loc[neg] = 0.0
        return lo, hi


class _Network:
    """Branch ratings, transfers and bus injections of the IFM and the RUC (`Context` mixin;
    spec §5.2, §5.3, §5.11)."""

    def transfers(self, table: str) -> pd.DataFrame | None:
        tr = self.run.tables.get(table)
        if tr is None:
            return None
        return tr.assign(interface=tr["interface"].astype(str), hour=tr["hour"].astype(int))

    def balance_transfers(self, rule: str, table: str) -> pd.DataFrame | None:
        """The transfers a balance rule nets: `table`, none when the run cannot have any (phase
        1, no interfaces), or None (the rule skipped) when a phase ≥ 2 run lacks it."""
        x = self.transfers(table)
        if x is None:
            if self.p.phase == 1 or not len(self.s.interfaces):
                return pd.DataFrame(columns=["interface", "hour", "mw"])
            self.skipped.append(f"{rule}: no {table} table (phase ≥ 2)")
        return x

    def ratings(self) -> pd.DataFrame:
        """F^max_lt, branch x hour: `branches.rating_mw` overridden by `branch_ratings`. A rating
        of 0 MW means out of service in that hour: no limit (scenario format; the flow rules skip
        those branch-hours, as network/transmission.py adds no row for them)."""
        br = self.s.branches
        rating = pd.DataFrame(np.repeat(br["rating_mw"].to_numpy(float)[:, None],
                                        len(self.hours), 1),
                              index=br["branch"].astype(str), columns=self.hours)
        bro = self.s.tables.get("branch_ratings")
        if bro is not None and len(bro):
            for b, h, v in zip(bro["branch"].astype(str), bro["hour"], bro["rating_mw"]):
                if b in rating.index and h in rating.columns:
                    rating.at[b, h] = v
        return rating

    def by_bus(self, values: pd.DataFrame, bus_ids: list[str]) -> pd.DataFrame:
        return values.groupby(self.res["bus"].astype(str).loc[values.index]).sum().reindex(
            bus_ids).fillna(0.0)

    def slack_by_bus(self, slack: pd.DataFrame, bus_ids: list[str]) -> pd.DataFrame:
        """A BAA x hour quantity spread over the BAA's buses by LDF (spec §5.1, §5.3)."""
        ldf = self.s.ldf.rename(index=str).reindex(bus_ids).fillna(0.0)
        baa_of = pd.Series({str(k): str(v) for k, v in self.s.bus_baa.items()}).reindex(bus_ids)
        per_bus = slack.reindex(baa_of.to_numpy()).fillna(0.0)
        per_bus.index = bus_ids
        return per_bus.mul(ldf, axis=0)

    def injections(self, bus_ids: list[str], withdraw_losses: bool = True) -> pd.DataFrame:
        """IFM net injection by bus and hour (spec §5.3), buses in `bus_ids` order; with
        marginal losses (a non-empty `losses` table) less the losses `loss_withdrawn_mw`
        withdrawn by LDF [A] (`withdraw_losses` False: the market's own withdrawals only)."""
        inj = self.by_bus(self.sched["energy_mw"], bus_ids)
        d = self.s.demand
        if len(d):
            dem = d.assign(bus=d["bus"].astype(str)).pivot_table(
                index="bus", columns="hour", values="fixed_demand_mw", aggfunc="sum")
            inj = inj - dem.reindex(index=bus_ids, columns=self.hours).fillna(0.0)
        slack = self.balance_slack("pb")
        if withdraw_losses and self.has_losses():
            slack = slack - self.losses("loss_withdrawn_mw")
        return inj + self.slack_by_bus(slack, bus_ids)

    def ruc_injections(self, bus_ids: list[str]) -> pd.DataFrame:
        """RUC net injection (spec §5.11): physical r = g + RCU − RCD by bus, minus the BAA
        forecast (with the IFM's losses, `forecast`) and plus the RUC slack, both spread by
        LDF."""
        S = self.sched
        phys = self.by_type(*RUC_TYPES)
        inj = self.by_bus((S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]).loc[phys], bus_ids)
        fc = self.forecast()
        return inj + self.slack_by_bus(self.balance_slack("ruc") - fc, bus_ids)

    def forecast(self) -> pd.DataFrame:
        """The demand of the RUC's forecast balance, BAA x hour: D^F plus, with marginal losses,
        the IFM's losses (`losses.loss_mw`) as constant demand [A]."""
        s = self.s
        baas = sorted(s.baas["baa"].astype(str))
        fc = s.baa_hours.assign(baa=s.baa_hours["baa"].astype(str)).pivot(
            index="baa", columns="hour", values="demand_forecast_mw").reindex(
            index=baas, columns=self.hours).fillna(0.0)
        return fc + self.losses("loss_mw") if self.has_losses() else fc

    def has_losses(self) -> bool:
        """The run published marginal losses (a non-empty `losses` table)."""
        t = self.run.tables.get("losses")
        return t is not None and len(t) > 0

    def losses(self, column: str) -> pd.DataFrame:
        """A column of the `losses` table as BAA x hour (0 where absent)."""
        baas = sorted(self.s.baas["baa"].astype(str))
        t = self.run.tables.get("losses")
        if t is None or not len(t):
            return pd.DataFrame(0.0, index=baas, columns=self.hours)
        return t.assign(baa=t["baa"].astype(str), hour=t["hour"].astype(int)).pivot_table(
            index="baa", columns="hour", values=column, aggfunc="sum").reindex(
            index=baas, columns=self.hours).fillna(0.0)


class Context(_Violations, _Relaxations, _Units, _Network):
    """What every rule reads: the scenario, the run, the run's parameters, the schedules as
    resource x hour frames, the classified relaxations; and where violations are collected.
    The helpers are grouped by what they are about: reporting (`_Violations`), relaxations,
    units (commitment, energy bounds) and the network."""

    def __init__(self, scenario: Scenario, run: RunResult, tol: float):
        self.run = run
        self.tol = tol
        self.rows: list[dict] = []
        self.cache: dict = {}  # results one rule computes for another (profit → dual objective)
        self.skipped: list[str] = []
        self.p = run_parameters(scenario, run)
        # with the run's parameters, `s.bids` holds the RCU bids the ISO inserted at the run's
        # price (scenarios.bids, §5.11)
        self.s = scenario if scenario.parameters == self.p else replace(scenario, parameters=self.p)
        self.hours = scenario.hour_list
        t = scenario.tables
        self.res = by_resource(scenario.resource_frame).sort_index()
        self.rtype = self.res["type"]
        self.pmax, self.ss = hourly_resource_data(t, self.res, self.hours)
        self.thermal, self.storage, self.hydro = (by_resource(t.get(name))
                                                  for name in ("thermal", "storage", "hydro"))
        self.rel = relaxation_frame(run)
        self.sched = schedule_frames(run, self.res.index, self.hours)


def by_resource(table: pd.DataFrame | None) -> pd.DataFrame:
    """A per-resource scenario table indexed by its resource id as text (empty when absent)."""
    if table is None:
        return pd.DataFrame()
    return table.assign(resource=table["resource"].astype(str)).set_index("resource")


def hourly_resource_data(t: dict, res: pd.DataFrame, hours: list[int]
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Pmax, self-schedule), resource x hour: `resources.pmax_mw` overridden by
    `resource_hours` (the self-schedule NaN where none)."""
    idx = res.index
    pmax = pd.DataFrame(np.repeat(res["pmax_mw"].to_numpy(float)[:, None], len(hours), 1),
                        index=idx, columns=hours)
    ss = pd.DataFrame(np.nan, index=idx, columns=hours)
    rh = t.get("resource_hours")
    if rh is not None and len(rh):
        for r, h, pm, sv in zip(rh["resource"].astype(str), rh["hour"], rh["pmax_mw"],
                                rh["self_schedule_mw"]):
            if h in pmax.columns and r in pmax.index:
                if not is_missing(pm):
                    pmax.at[r, h] = pm
                if not is_missing(sv):
                    ss.at[r, h] = sv
    return pmax, ss


def schedule_frames(run: RunResult, idx: pd.Index, hours: list[int]
                    ) -> dict[str, pd.DataFrame] | None:
    """The run's `schedules` columns as resource x hour frames (a missing commitment row keeps
    the unit's state; other gaps are 0) and the table itself under `_raw`; None without one."""
    sch = run.tables.get("schedules")
    if sch is None:
        return None
    sch = sch.assign(resource=sch["resource"].astype(str), hour=sch["hour"].astype(int))
    out = {}
    cols = ["energy_mw", "committed", *AWARD_COLUMNS,
            *(c for c in ("ruc_committed", "charge_mw", "discharge_mw", "soc_mwh")
              if c in sch.columns)]
    first = sch.drop_duplicates(["resource", "hour"])
    for c in cols:
        if c not in sch.columns:
            continue
        v = pd.to_numeric(first[c].astype(object).replace({True: 1, False: 0, "True": 1,
                                                            "False": 0}), errors="coerce")
        m = pd.Series(v.to_numpy(), index=pd.MultiIndex.from_frame(first[["resource", "hour"]]))
        f = m.unstack("hour").reindex(index=idx, columns=hours)
        if c in ("committed", "ruc_committed"):  # a missing row keeps the unit's state
            f = f.ffill(axis=1).bfill(axis=1)
        out[c] = f.fillna(0.0)
    for c in ("energy_mw", "committed", *AWARD_COLUMNS):
        out.setdefault(c, pd.DataFrame(0.0, index=idx, columns=hours))
    out["_raw"] = sch
    return out


def run_parameters(scenario: Scenario, run: RunResult) -> MarketParameters:
    """The scenario's parameters updated with those the run's manifest records (the run may have
    been made with --set overrides)."""
    p = scenario.parameters
    mp = (run.manifest or {}).get("parameters") or {}
    known = {k: v for k, v in mp.items() if k in MarketParameters.names() and v is not None}
    if known:
        try:
            p = p.with_updates(known, "manifest")
        except ScenarioError:
            pass
    return p


def finite(v) -> float:
    v = float(v)
    return BIG if math.isinf(v) or math.isnan(v) else v


def nan_to(v, default: float) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(f) else f


def cell(df: pd.DataFrame, row, col) -> float:
    return float(df.at[row, col]) if row in df.index and col in df.columns else 0.0


def opt_col(df: pd.DataFrame, names: tuple[str, ...]) -> pd.Series | None:
    for n in names:
        if n in df.columns:
            return df.set_index(["interface", "hour"])[n].astype(float).fillna(0.0)
    return None


def fixed_demand_baa(s: Scenario, baas: list[str], hours: list[int]) -> pd.DataFrame:
    d = s.demand
    if not len(d):
        return pd.DataFrame(0.0, index=baas, columns=hours)
    bus_baa = {str(k): str(v) for k, v in s.bus_baa.items()}
    d = d.assign(baa=d["bus"].astype(str).map(bus_baa))
    return d.pivot_table(index="baa", columns="hour", values="fixed_demand_mw",
                         aggfunc="sum").reindex(index=baas, columns=hours).fillna(0.0)


def base_frame(s: Scenario) -> pd.DataFrame:
    ih = s.interface_hours
    return pd.DataFrame({"interface": ih["interface"].astype(str), "hour": ih["hour"].astype(int),
                         "mw": ih["base_transfer_mw"].astype(float)})


def net_import(s: Scenario, flows: pd.DataFrame, baas: list[str], hours: list[int],
                col: str) -> pd.DataFrame:
    """Σ_{k: e(k)=b} flow_k − Σ_{k: o(k)=b} flow_k, BAA x hour."""
    out = pd.DataFrame(0.0, index=baas, columns=hours)
    if not len(flows):
        return out
    itf = s.interfaces
    frm = dict(zip(itf["interface"].astype(str), itf["from_baa"].astype(str)))
    to = dict(zip(itf["interface"].astype(str), itf["to_baa"].astype(str)))
    f = flows.assign(interface=flows["interface"].astype(str), hour=flows["hour"].astype(int))
    f = f[f["interface"].isin(frm) & f["hour"].isin(hours)]
    v = f[col].astype(float).to_numpy()
    for sign, m in ((1.0, to), (-1.0, frm)):
        g = pd.DataFrame({"baa": f["interface"].map(m).to_numpy(), "hour": f["hour"].to_numpy(),
                          "v": sign * v}).groupby(["baa", "hour"])["v"].sum()
        for (b, h), val in g.items():
            if b in out.index:
                out.at[b, h] += val
    return out


