"""Independent solution checker (issue "Parallel-operations validation"; docs/validation.md).

`check_run(scenario, run)` re-derives the rules of the market-design spec from the scenario's input
tables and a run's result tables only (results contract, `clearing/results.py`). It never touches
the Pyomo model or the engine's data preparation, so it can vet this engine's runs and reference
results alike. Each rule that needs a table the run does not have is skipped (listed in
`violations.attrs["skipped"]`), so a reference folder holding a subset of the tables is vetted
on what it has.

Sign conventions read from the run: `schedules.energy_mw` is the net injection g of spec §3
(exports, demand bids and virtual demand negative; storage discharge − charge); `transfers.mw` is
the economic EDAM transfer x_k of the directed ETSR (base transfers X^base come from the
scenario's `interface_hours`); relaxations (slacks) are read from the `relaxations` table, whose
`requirement` names are classified by `classify_relaxation` (documented in docs/validation.md).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from clearing.results import RunResult, read_run
from scenarios.errors import ScenarioError
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario

VIOLATION_COLUMNS = ["rule", "table", "kind", "id", "hour", "amount", "limit", "excess", "message"]

# rule -> what it checks (spec reference). The order is the order of the checks.
RULES: dict[str, str] = {
    "coverage": "schedules has exactly one row per scenario resource and hour (results contract)",
    "balance": "per-BAA power balance with ETSR and base transfers; a gap equal to the reported "
               "power-balance relaxation is allowed (§5.1)",
    "transfer_limit": "0 ≤ x_k ≤ X^max_k and x_k − x_k̄ ≤ X^max_k − (X^base_k − X^base_k̄) for IFM "
                      "(transfers) and RUC (ruc_transfers) transfers; phase 1: x = 0 (§5.2, §10)",
    "branch_limit": "|PTDF·inj| ≤ rating (+ reported overload) for branches in L^base; inj by bus "
                    "= Σ energy_mw − fixed demand + LDF·power-balance slack (§5.3)",
    "commitment": "thermal committed ∈ {0,1}; must-run units committed (§5.4)",
    "energy_limits": "thermal Pmin·u ≤ p ≤ Pmax_t·u; VER 0 ≤ p ≤ forecast; storage −Pch ≤ p ≤ "
                     "Pdis; hydro, imports, exports, demand and virtual bids within their MW; "
                     "hydro daily energy (§5.4, §5.5)",
    "self_schedule": "supply resources produce at least min(self-schedule, Pmax_t) (§5.4)",
    "ramp": "hourly ramps: p_t − p_t−1 ≤ 60 RR^up u_t−1 + SU v_t, p_t−1 − p_t ≤ 60 RR^dn u_t + "
            "SD w_t (SU/SD = start-up/shut-down ramp, default Pmax), initial output from "
            "thermal.csv; with as_in_hourly_ramp, an on-line thermal unit's RU + SR + NR are "
            "added to p_t in the ramp-up (§5.4)",
    "min_up": "on-line runs last at least min_up_h, initial conditions from thermal.csv (§5.4)",
    "min_down": "off-line runs last at least min_down_h, initial conditions from thermal.csv "
                "(§5.4)",
    "storage_soc": "SOC recomputed from energy_mw with the efficiencies stays in [soc_min, "
                   "soc_max] and ends ≥ soc_end_min (§5.10)",
    "headroom": "upward stack p + RU + SR + NR + IRU ≤ Pmax_t·u and downward stack p − RD − IRD ≥ "
                "Pmin·u (type-specific bounds; off-line NR of fast-start units); RUC stacks with "
                "r = p + RCU − RCD (§5.4, §5.5, §5.10, §5.11)",
    "reserve_ramp": "RU+SR+NR ≤ as_ramp_minutes·RR^up, RD ≤ as_ramp_minutes·RR^dn, IRU/IRD ≤ "
                    "T^IR·RR, AS+IR ≤ T^IR2·RR, RCU − new Pmin ≤ 60 RR^up, RCD ≤ 60 RR^dn "
                    "(§5.6, §5.8, §5.11)",
    "award_bid": "AS/IR/RC awards ≥ 0, only where the resource bid that product, and ≤ the bid MW "
                 "(ISO-inserted RCU/RCD of RA resources and VERs exempt) (§2.5, §5.11)",
    "rc_exclusive": "at most one of RCU and RCD per resource-hour (§5.11)",
    "as_requirement": "cumulative AS requirements met inside each BAA or relaxed (§5.6)",
    "ir_rc_requirement": "IRU/IRD/RCU/RCD cleared + relaxed (+ RC transfers) ≥ requirement "
                         "(baa_summary); IR requirement equals the input; awards + relaxed cover "
                         "the requirement per BAA in phase 1 and, for IR, over the footprint "
                         "(§5.7, §5.11)",
    "ruc_balance": "physical schedule + RCU − RCD + RUC transfers meets the demand forecast within "
                   "the reported RUC relaxation (§5.11)",
    "ir_price_cap": "IRU/IRD requirement price ≤ ir_demand_curve_cap_usd_per_mwh when the "
                    "requirement is relaxed (§5.7, §11.10)",
    "lmp_components": "LMP = energy + congestion + loss within 1e-6; the energy component (SMEC) "
                      "is one value per hour (§6.1)",
    "elap_bounds": "BAA load-aggregate price Σ LDF·LMP within [−P^PB−, P^PB+] (the balance "
                   "slacks' reduced costs) and equal to the penalty where balance is relaxed "
                   "(§4.3, §5.3, §6.1)",
}

AWARD_COLUMNS = {"reg_up_mw": "ru", "reg_down_mw": "rd", "spin_mw": "sr", "nonspin_mw": "nr",
                 "iru_mw": "iru", "ird_mw": "ird", "rcu_mw": "rcu", "rcd_mw": "rcd"}
# types whose net injection enters the RUC balance (spec §3 g_i: virtuals and demand bids excluded)
RUC_TYPES = ("thermal", "ver", "storage", "hydro", "import", "export")
# types whose hourly ramps are checked (spec §5.4: thermal; hydro "thermal-like")
RAMP_TYPES = ("thermal", "hydro")
_BIG = 1e12


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
        rows.append((cat, detail, None if _isnan(ident) else str(ident), int(rec["hour"]),
                     float(rec.get("relaxed_mw", 0.0) or 0.0)))
    return pd.DataFrame(rows, columns=cols)


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# ------------------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, scenario: Scenario, run: RunResult, tol: float):
        self.s = scenario
        self.run = run
        self.tol = tol
        self.rows: list[dict] = []
        self.skipped: list[str] = []
        self.p = _run_parameters(scenario, run)
        self.hours = scenario.hour_list
        t = scenario.tables
        self.res = scenario.resource_frame.assign(
            resource=lambda d: d["resource"].astype(str)).set_index("resource").sort_index()
        self.rtype = self.res["type"]
        self.pmax, self.ss = self._hourly_resource_data(t)
        th = t.get("thermal")
        self.thermal = (th.assign(resource=th["resource"].astype(str)).set_index("resource")
                        if th is not None else pd.DataFrame())
        st = t.get("storage")
        self.storage = (st.assign(resource=st["resource"].astype(str)).set_index("resource")
                        if st is not None else pd.DataFrame())
        hy = t.get("hydro")
        self.hydro = (hy.assign(resource=hy["resource"].astype(str)).set_index("resource")
                      if hy is not None else pd.DataFrame())
        self.rel = relaxation_frame(run)
        self.sched = self._schedule_frames()

    # -- helpers --------------------------------------------------------------------------------
    def add(self, rule: str, table: str, kind: str, ident, hour, amount: float, limit: float,
            message: str) -> None:
        excess = abs(float(amount) - float(limit)) if not (_isnan(amount) or _isnan(limit)) \
            else float("nan")
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

    def need(self, rule: str, *tables: str) -> bool:
        missing = [t for t in tables if t not in self.run.tables]
        if missing:
            self.skipped.append(f"{rule}: no {', '.join(missing)} table")
            return False
        return True

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

    def _hourly_resource_data(self, t) -> tuple[pd.DataFrame, pd.DataFrame]:
        idx, hours = self.res.index, self.hours
        pmax = pd.DataFrame(np.repeat(self.res["pmax_mw"].to_numpy(float)[:, None], len(hours), 1),
                            index=idx, columns=hours)
        ss = pd.DataFrame(np.nan, index=idx, columns=hours)
        rh = t.get("resource_hours")
        if rh is not None and len(rh):
            for r, h, pm, sv in zip(rh["resource"].astype(str), rh["hour"], rh["pmax_mw"],
                                    rh["self_schedule_mw"]):
                if h in pmax.columns and r in pmax.index:
                    if not _isnan(pm):
                        pmax.at[r, h] = pm
                    if not _isnan(sv):
                        ss.at[r, h] = sv
        return pmax, ss

    def _schedule_frames(self) -> dict[str, pd.DataFrame] | None:
        sch = self.run.tables.get("schedules")
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
            f = m.unstack("hour").reindex(index=self.res.index, columns=self.hours)
            if c in ("committed", "ruc_committed"):  # a missing row keeps the unit's state
                f = f.ffill(axis=1).bfill(axis=1)
            out[c] = f.fillna(0.0)
        for c in ("energy_mw", "committed", *AWARD_COLUMNS):
            out.setdefault(c, pd.DataFrame(0.0, index=self.res.index, columns=self.hours))
        out["_raw"] = sch
        return out

    def by_type(self, *types: str) -> pd.Index:
        return self.rtype.index[self.rtype.isin(types)]

    def commitment(self) -> pd.DataFrame:
        """u (thermal: the committed column rounded; others 1)."""
        u = pd.DataFrame(1.0, index=self.res.index, columns=self.hours)
        th = self.by_type("thermal")
        u.loc[th] = (self.sched["committed"].loc[th] > 0.5).astype(float)
        return u

    def ruc_commitment(self, u: pd.DataFrame) -> pd.DataFrame:
        if "ruc_committed" in self.sched:
            uR = pd.DataFrame(1.0, index=self.res.index, columns=self.hours)
            th = self.by_type("thermal")
            uR.loc[th] = (self.sched["ruc_committed"].loc[th] > 0.5).astype(float)
            return np.maximum(uR, u)
        rc = (self.sched["rcu_mw"] + self.sched["rcd_mw"]) > self.tol
        return np.maximum(u, rc.astype(float))

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

    # -- rules ----------------------------------------------------------------------------------
    def check_coverage(self) -> None:
        if not self.need("coverage", "schedules"):
            return
        raw = self.sched["_raw"]
        dup = raw[raw.duplicated(["resource", "hour"], keep=False)]
        for (r, h), _ in dup.groupby(["resource", "hour"]):
            self.add("coverage", "schedules", "resource", r, h, 2, 1,
                     "more than one schedules row for this resource-hour")
        have = set(zip(raw["resource"], raw["hour"]))
        for r in self.res.index:
            missing = [h for h in self.hours if (r, h) not in have]
            for h in missing:
                self.add("coverage", "schedules", "resource", r, h, 0, 1,
                         "no schedules row for this scenario resource-hour (counted as 0)")
        unknown = sorted(set(raw["resource"]) - set(self.res.index))
        for r in unknown:
            self.add("coverage", "schedules", "resource", r, None, 1, 0,
                     "schedules row for a resource that is not in the scenario")

    def check_balance(self) -> None:
        if not self.need("balance", "schedules"):
            return
        s = self.s
        baas = sorted(s.baas["baa"].astype(str))
        e = self.sched["energy_mw"]
        gen = e.groupby(self.res["baa"].astype(str)).sum().reindex(baas).fillna(0.0)
        dem = _fixed_demand_baa(s, baas, self.hours)
        x = self._transfers("transfers")
        if x is None:
            if self.p.phase == 1 or not len(s.interfaces):
                x = pd.DataFrame(columns=["interface", "hour", "mw"])
            else:
                self.skipped.append("balance: no transfers table (phase ≥ 2)")
                return
        net_in = _net_import(s, x, baas, self.hours, "mw")
        base_in = _net_import(s, _base_frame(s), baas, self.hours, "mw")
        gap = gen - dem + net_in + base_in  # must equal −(sPB+ − sPB−)
        slack = self.balance_slack("pb")
        for b in baas:
            for h in self.hours:
                g, sl = float(gap.at[b, h]), float(slack.at[b, h])
                if abs(g + sl) > self.tol:
                    self.add("balance", "schedules", "baa", b, h, g, 0.0 - sl,
                             f"supply − demand + net imports = {g:.6g} MW, expected {0.0 - sl:.6g} "
                             f"(reported power-balance relaxation {sl:.6g}); off by "
                             f"{abs(g + sl):.6g} MW")

    def _transfers(self, table: str) -> pd.DataFrame | None:
        tr = self.run.tables.get(table)
        if tr is None:
            return None
        return tr.assign(interface=tr["interface"].astype(str), hour=tr["hour"].astype(int))

    def check_transfers(self) -> None:
        s = self.s
        itf = s.interfaces.assign(interface=s.interfaces["interface"].astype(str))
        if not len(itf):
            return
        ih = s.interface_hours.assign(interface=s.interface_hours["interface"].astype(str))
        xmax = ih.set_index(["interface", "hour"])["limit_mw"]
        base = ih.set_index(["interface", "hour"])["base_transfer_mw"]
        frm = dict(zip(itf["interface"], itf["from_baa"].astype(str)))
        to = dict(zip(itf["interface"], itf["to_baa"].astype(str)))
        rev = {k: next((j for j in itf["interface"] if frm[j] == to[k] and to[j] == frm[k]), None)
               for k in itf["interface"]}
        any_table = False
        for table in ("transfers", "ruc_transfers"):
            tr = self._transfers(table)
            if tr is None:
                continue
            any_table = True
            x = tr.set_index(["interface", "hour"])["mw"].astype(float)
            yu = _opt_col(tr, ("iru_transfer_mw", "iru_mw"))
            yd = _opt_col(tr, ("ird_transfer_mw", "ird_mw"))
            for (k, h), v in x.items():
                if k not in frm:
                    self.add("transfer_limit", table, "interface", k, h, v, 0,
                             "transfer on an interface that is not in the scenario")
                    continue
                lim = 0.0 if self.p.phase == 1 else float(xmax.get((k, h), 0.0))
                what = "economic transfer (phase 1: must be 0)" if self.p.phase == 1 \
                    else "economic transfer"
                if v - lim > self.tol:
                    self.add("transfer_limit", table, "interface", k, h, v, lim,
                             f"{what} {v:.6g} MW above the ETSR limit {lim:.6g} by {v - lim:.6g}")
                if v < -self.tol:
                    self.add("transfer_limit", table, "interface", k, h, v, 0.0,
                             f"negative economic transfer {v:.6g} MW")
                if self.p.phase == 1:
                    continue
                kb = rev[k]
                net = v - (float(x.get((kb, h), 0.0)) if kb else 0.0)
                if yu is not None:
                    net += float(yu.get((k, h), 0.0))
                if yd is not None and kb:
                    net += float(yd.get((kb, h), 0.0))
                base_rev = float(base.get((kb, h), 0.0)) if kb else 0.0
                nlim = float(xmax.get((k, h), 0.0)) - (float(base.get((k, h), 0.0)) - base_rev)
                if net - nlim > self.tol:
                    self.add("transfer_limit", table, "interface", k, h, net, nlim,
                             f"net flow incl. reverse direction and IR transfers {net:.6g} MW "
                             f"above X^max − net base transfer {nlim:.6g} by {net - nlim:.6g}")
        if not any_table:
            self.skipped.append("transfer_limit: no transfers table")

    def check_branches(self) -> None:
        if not self.need("branch_limit", "schedules"):
            return
        s = self.s
        br = s.branches.assign(branch=s.branches["branch"].astype(str))
        if not len(br):
            return
        ruc = self.ruc_ran()
        cases = [("IFM", "branch", "enforce_base", self.injections)]
        if ruc:
            cases.append(("RUC", "ruc_branch", "enforce_in_ruc", self.ruc_injections))
        todo = []
        for label, cat, flag, inj_fn in cases:
            relax = self.relaxed(cat)
            ids = {i for i, _ in relax.index} if len(relax) else set()
            sel = br[(br["monitored"] & br[flag]) | br["branch"].isin(ids)]
            if len(sel):
                todo.append((label, relax, list(sel["branch"]), inj_fn))
        if not todo:
            return
        try:
            from network.ptdf import scenario_ptdf
        except ImportError:  # pragma: no cover - the network package is part of the project
            self.skipped.append("branch_limit: network.ptdf not available")
            return
        ptdf = scenario_ptdf(s)
        rating = pd.DataFrame(np.repeat(br["rating_mw"].to_numpy(float)[:, None],
                                        len(self.hours), 1),
                              index=br["branch"], columns=self.hours)
        bro = s.tables.get("branch_ratings")
        if bro is not None and len(bro):
            for b, h, v in zip(bro["branch"].astype(str), bro["hour"], bro["rating_mw"]):
                if b in rating.index and h in rating.columns:
                    rating.at[b, h] = v
        tol = self.tol + float(self.p.flow_tolerance_mw)
        for label, relax, branches, inj_fn in todo:
            flows = ptdf.flows(inj_fn(ptdf.bus_ids).to_numpy())
            for b in branches:
                row = flows[ptdf.branch_index(b)]
                for j, h in enumerate(self.hours):
                    f, rate = float(row[j]), float(rating.at[b, h])
                    over = float(relax.get((b, h), 0.0)) if len(relax) else 0.0
                    if abs(f) - rate - over > tol:
                        self.add("branch_limit", "schedules", "branch", b, h, f,
                                 math.copysign(rate + over, f),
                                 f"{label} DC flow {f:.6g} MW (from injections) exceeds the "
                                 f"rating {rate:.6g} + reported overload {over:.6g} by "
                                 f"{abs(f) - rate - over:.6g}")

    def ruc_ran(self) -> bool:
        return bool(self.p.run_ruc) and self.sched is not None and \
            "rcu_mw" in self.sched["_raw"].columns

    def _by_bus(self, values: pd.DataFrame, bus_ids: list[str]) -> pd.DataFrame:
        return values.groupby(self.res["bus"].astype(str).loc[values.index]).sum().reindex(
            bus_ids).fillna(0.0)

    def _slack_by_bus(self, slack: pd.DataFrame, bus_ids: list[str]) -> pd.DataFrame:
        """A BAA x hour quantity spread over the BAA's buses by LDF (spec §5.1, §5.3)."""
        ldf = self.s.ldf.rename(index=str).reindex(bus_ids).fillna(0.0)
        baa_of = pd.Series({str(k): str(v) for k, v in self.s.bus_baa.items()}).reindex(bus_ids)
        per_bus = slack.reindex(baa_of.to_numpy()).fillna(0.0)
        per_bus.index = bus_ids
        return per_bus.mul(ldf, axis=0)

    def injections(self, bus_ids: list[str]) -> pd.DataFrame:
        """IFM net injection by bus and hour (spec §5.3), buses in `bus_ids` order."""
        inj = self._by_bus(self.sched["energy_mw"], bus_ids)
        d = self.s.demand
        if len(d):
            dem = d.assign(bus=d["bus"].astype(str)).pivot_table(
                index="bus", columns="hour", values="fixed_demand_mw", aggfunc="sum")
            inj = inj - dem.reindex(index=bus_ids, columns=self.hours).fillna(0.0)
        return inj + self._slack_by_bus(self.balance_slack("pb"), bus_ids)

    def ruc_injections(self, bus_ids: list[str]) -> pd.DataFrame:
        """RUC net injection (spec §5.11): physical r = g + RCU − RCD by bus, minus the BAA
        forecast and plus the RUC slack, both spread by LDF."""
        S = self.sched
        phys = self.by_type(*RUC_TYPES)
        inj = self._by_bus((S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]).loc[phys], bus_ids)
        fc = self._forecast()
        return inj + self._slack_by_bus(self.balance_slack("ruc") - fc, bus_ids)

    def _forecast(self) -> pd.DataFrame:
        s = self.s
        baas = sorted(s.baas["baa"].astype(str))
        return s.baa_hours.assign(baa=s.baa_hours["baa"].astype(str)).pivot(
            index="baa", columns="hour", values="demand_forecast_mw").reindex(
            index=baas, columns=self.hours).fillna(0.0)

    def check_unit_limits(self) -> None:
        if not self.need("energy_limits", "schedules"):
            return
        e = self.sched["energy_mw"]
        th = self.by_type("thermal")
        c = self.sched["committed"].loc[th]
        bad = (c - c.round()).abs() > self.tol
        bad |= ~c.round().isin([0.0, 1.0])
        for i, j in zip(*np.nonzero(bad.to_numpy())):
            self.add("commitment", "schedules", "resource", th[i], self.hours[j], c.iat[i, j], 1,
                     f"committed = {c.iat[i, j]:.6g} is not 0 or 1")
        u = self.commitment()
        if len(self.thermal) and "must_run" in self.thermal:
            mr = [r for r in th if bool(self.thermal["must_run"].get(r, False))]
            for r in mr:
                for h in self.hours:
                    if u.at[r, h] < 0.5:
                        self.add("commitment", "schedules", "resource", r, h, 0, 1,
                                 "must-run unit not committed")
        lo, hi = self.energy_bounds(u)
        self.flag_matrix("energy_limits", "schedules", e, hi, True, "energy_mw")
        self.flag_matrix("energy_limits", "schedules", e, lo, False, "energy_mw")
        if len(self.hydro):
            for r in self.hydro.index:
                if r in e.index:
                    tot, lim = float(e.loc[r].sum()), float(self.hydro.at[r, "daily_energy_mwh"])
                    if tot - lim > self.tol:
                        self.add("energy_limits", "schedules", "resource", r, None, tot, lim,
                                 f"daily energy {tot:.6g} MWh above the hydro limit {lim:.6g}")
        # self-schedules of supply resources (spec §5.4: p ≥ SS)
        sup = self.by_type("thermal", "hydro", "ver", "import", "storage")
        req = np.minimum(self.ss.loc[sup], self.pmax.loc[sup])
        self.flag_matrix("self_schedule", "schedules", e.loc[sup], req, False,
                         "energy_mw (self-scheduled)", mask=req.notna())

    def check_ramps(self) -> None:
        if not self.need("ramp", "schedules"):
            return
        e = self.sched["energy_mw"]
        u = self.commitment()
        H = len(self.hours)
        # parameter as_in_hourly_ramp: a thermal unit's online RU + SR + NR count in its ramp-up
        as_up = None
        if getattr(self.p, "as_in_hourly_ramp", False):
            S = self.sched
            as_up = (S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"]) * u
        for r in self.by_type(*RAMP_TYPES):
            rr_up = 60.0 * _finite(self.res.at[r, "ramp_up_mw_per_min"])
            rr_dn = 60.0 * _finite(self.res.at[r, "ramp_down_mw_per_min"])
            p = e.loc[r].to_numpy(float)
            if self.rtype[r] == "thermal":
                th = self.thermal.loc[r] if r in self.thermal.index else None
                on0 = bool(th["initial_on"]) if th is not None else False
                p0 = float(th["initial_mw"]) if (th is not None and on0) else 0.0
                pmax = float(self.res.at[r, "pmax_mw"])
                su = _nan_to(th["startup_ramp_mw"] if th is not None else np.nan, pmax)
                sd = _nan_to(th["shutdown_ramp_mw"] if th is not None else np.nan, pmax)
                uu = u.loc[r].to_numpy(float)
                a = as_up.loc[r].to_numpy(float) if as_up is not None else np.zeros(H)
                prev_p, prev_u = p0, float(on0)
                for j in range(H):
                    v = max(0.0, uu[j] - prev_u)
                    w = max(0.0, prev_u - uu[j])
                    up_lim = rr_up * prev_u + su * v
                    dn_lim = rr_dn * uu[j] + sd * w
                    self._ramp_flag(r, self.hours[j], p[j] - prev_p, up_lim, dn_lim, v, w,
                                    as_up=a[j])
                    prev_p, prev_u = p[j], uu[j]
            else:
                for j in range(1, H):
                    self._ramp_flag(r, self.hours[j], p[j] - p[j - 1], rr_up, rr_dn, 0, 0)

    def _ramp_flag(self, r, h, d, up_lim, dn_lim, v, w, as_up: float = 0.0) -> None:
        note = " (start-up hour)" if v else " (shut-down hour)" if w else ""
        du = d + as_up
        if du - up_lim > self.tol:
            what = "up-ramp + RU + SR + NR" if as_up else "up-ramp"
            self.add("ramp", "schedules", "resource", r, h, du, up_lim,
                     f"{what} {du:.6g} MW above the limit {up_lim:.6g}{note} by "
                     f"{du - up_lim:.6g}")
        if -d - dn_lim > self.tol:
            self.add("ramp", "schedules", "resource", r, h, -d, dn_lim,
                     f"down-ramp {-d:.6g} MW above the limit {dn_lim:.6g}{note} by "
                     f"{-d - dn_lim:.6g}")

    def check_min_up_down(self) -> None:
        if not self.need("min_up", "schedules") or not len(self.thermal):
            return
        u = self.commitment()
        for r in self.by_type("thermal"):
            if r not in self.thermal.index:
                continue
            th = self.thermal.loc[r]
            ut, dt = int(th["min_up_h"]), int(th["min_down_h"])
            state, length = int(bool(th["initial_on"])), int(th["initial_hours"])
            for h in self.hours:
                now = int(u.at[r, h] > 0.5)
                if now != state:
                    if state == 1 and length < ut:
                        self.add("min_up", "schedules", "resource", r, h, length, ut,
                                 f"shut down in hour {h} after {length} h on-line; min up {ut} h")
                    if state == 0 and length < dt:
                        self.add("min_down", "schedules", "resource", r, h, length, dt,
                                 f"started in hour {h} after {length} h off-line; min down {dt} h")
                    state, length = now, 0
                length += 1

    def check_storage(self) -> None:
        if not self.need("storage_soc", "schedules") or not len(self.storage):
            return
        e = self.sched["energy_mw"]
        for r in self.storage.index:
            if r not in e.index:
                continue
            st = self.storage.loc[r]
            eta_c, eta_d = float(st["charge_efficiency"]), float(st["discharge_efficiency"])
            lo, hi = float(st["soc_min_mwh"]), float(st["soc_max_mwh"])
            soc = float(st["soc_initial_mwh"])
            g = e.loc[r].to_numpy(float)
            if "charge_mw" in self.sched and "discharge_mw" in self.sched:
                ch = self.sched["charge_mw"].loc[r].to_numpy(float)
                dis = self.sched["discharge_mw"].loc[r].to_numpy(float)
            else:
                dis, ch = np.maximum(g, 0.0), np.maximum(-g, 0.0)
            for j, h in enumerate(self.hours):
                soc += eta_c * ch[j] - dis[j] / eta_d
                tol = self.tol * (1 + j)
                if soc - hi > tol:
                    self.add("storage_soc", "schedules", "resource", r, h, soc, hi,
                             f"SOC {soc:.6g} MWh (recomputed) above soc_max {hi:.6g}")
                if lo - soc > tol:
                    self.add("storage_soc", "schedules", "resource", r, h, soc, lo,
                             f"SOC {soc:.6g} MWh (recomputed) below soc_min {lo:.6g}")
                if "soc_mwh" in self.sched:
                    rep = float(self.sched["soc_mwh"].at[r, h])
                    if abs(rep - soc) > tol:
                        self.add("storage_soc", "schedules", "resource", r, h, rep, soc,
                                 f"reported SOC {rep:.6g} MWh differs from the recomputed "
                                 f"{soc:.6g}")
            end = float(st["soc_end_min_mwh"])
            if not math.isnan(end) and end - soc > self.tol * len(self.hours):
                self.add("storage_soc", "schedules", "resource", r, self.hours[-1], soc, end,
                         f"end-of-day SOC {soc:.6g} MWh below soc_end_min {end:.6g}")

    def check_headroom(self) -> None:
        if not self.need("headroom", "schedules"):
            return
        S = self.sched
        e = S["energy_mw"]
        up = S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"] + S["iru_mw"]
        dn = S["reg_down_mw"] + S["ird_mw"]
        u = self.commitment()
        lo, hi = self.energy_bounds(u)
        hi_up = hi.copy()
        th = self.by_type("thermal")
        stack_mask = pd.DataFrame(True, index=self.res.index, columns=self.hours)
        if len(th) and len(self.thermal):
            fs = self.thermal.reindex(th)
            nr_off = (fs["fast_start"].fillna(False).astype(bool) *
                      fs["nonspin_offline_mw"].fillna(0.0).astype(float))
            hi_up.loc[th] += (1 - u.loc[th]).mul(nr_off, axis=0)
            off_other = (S["reg_up_mw"] + S["spin_mw"] + S["iru_mw"]).loc[th] * (1 - u.loc[th])
            self.flag_matrix("headroom", "schedules", off_other,
                             pd.DataFrame(0.0, index=th, columns=self.hours), True,
                             "RU + SR + IRU of an off-line unit")
            stack_mask.loc[th] = off_other <= self.tol  # reported once, above
        self.flag_matrix("headroom", "schedules", e + up, hi_up, True,
                         "upward stack energy + RU + SR + NR + IRU", mask=stack_mask)
        self.flag_matrix("headroom", "schedules", e - dn, lo, False,
                         "downward stack energy − RD − IRD")
        if (S["rcu_mw"].abs().to_numpy().sum() + S["rcd_mw"].abs().to_numpy().sum()) > 0 \
                or "ruc_committed" in S:
            uR = self.ruc_commitment(u)
            loR, hiR = self.energy_bounds(uR)
            if len(th) and len(self.thermal):
                hiR.loc[th] += (1 - uR.loc[th]).mul(nr_off, axis=0)
            phys = self.by_type(*RUC_TYPES)
            r = (e + S["rcu_mw"] - S["rcd_mw"]).loc[phys]
            self.flag_matrix("headroom", "schedules", r + up.loc[phys], hiR.loc[phys], True,
                             "RUC upward stack energy + RCU − RCD + RU + SR + NR + IRU")
            self.flag_matrix("headroom", "schedules", r - dn.loc[phys], loR.loc[phys], False,
                             "RUC downward stack energy + RCU − RCD − RD − IRD")

    def check_reserve_ramp(self) -> None:
        if not self.need("reserve_ramp", "schedules"):
            return
        S = self.sched
        p = self.p
        rr_up = self.res["ramp_up_mw_per_min"].astype(float)
        rr_dn = self.res["ramp_down_mw_per_min"].astype(float)
        u = self.commitment()
        as_up = S["reg_up_mw"] + S["spin_mw"] + S["nonspin_mw"]

        def lim(rr: pd.Series, minutes: float, uu: pd.DataFrame | None = None) -> pd.DataFrame:
            m = pd.DataFrame(np.repeat((rr * minutes).replace(np.inf, _BIG).to_numpy()[:, None],
                                       len(self.hours), 1), index=self.res.index,
                             columns=self.hours)
            return m * uu if uu is not None else m

        checks = [
            (as_up, lim(rr_up, p.as_ramp_minutes), "RU + SR + NR (AS ramp horizon)"),
            (S["reg_down_mw"], lim(rr_dn, p.as_ramp_minutes), "RD (AS ramp horizon)"),
            (S["iru_mw"], lim(rr_up, p.ir_ramp_minutes, u), "IRU (T^IR ramp horizon)"),
            (S["ird_mw"], lim(rr_dn, p.ir_ramp_minutes, u), "IRD (T^IR ramp horizon)"),
            (as_up + S["iru_mw"], lim(rr_up, p.ir_as_ramp_minutes), "RU + SR + NR + IRU (T^IR2)"),
            (S["reg_down_mw"] + S["ird_mw"], lim(rr_dn, p.ir_as_ramp_minutes), "RD + IRD (T^IR2)"),
        ]
        if S["rcu_mw"].abs().to_numpy().sum() + S["rcd_mw"].abs().to_numpy().sum() > 0:
            uR = self.ruc_commitment(u)
            pmin = self.res["pmin_mw"].astype(float)
            new_pmin = (uR - u).mul(pmin, axis=0)
            new_pmin.loc[~self.rtype.eq("thermal")] = 0.0
            checks += [(S["rcu_mw"] - new_pmin, lim(rr_up, 60.0),
                        "RCU above new Pmin (hourly ramp)"),
                       (S["rcd_mw"], lim(rr_dn, 60.0), "RCD (hourly ramp)")]
        for amount, limit, what in checks:
            self.flag_matrix("reserve_ramp", "schedules", amount, limit, True, what)

    def check_awards(self) -> None:
        if not self.need("award_bid", "schedules"):
            return
        ab = self.s.tables.get("availability_bids")
        bids: dict[tuple[str, str], float] = {}
        if ab is not None:
            for r, prod, mw in zip(ab["resource"].astype(str), ab["product"], ab["mw"]):
                bids[(r, prod)] = float(mw)
        ra = self.res["must_offer_ra"].astype(bool) | self.rtype.eq("ver")
        for col, prod in AWARD_COLUMNS.items():
            a = self.sched[col]
            arr = a.to_numpy(float)
            for i, j in zip(*np.nonzero(np.abs(arr) > self.tol)):
                r, h, v = a.index[i], a.columns[j], arr[i, j]
                if v < 0:
                    self.add("award_bid", "schedules", "resource", r, h, v, 0.0,
                             f"negative {prod.upper()} award {v:.6g} MW")
                    continue
                bid = bids.get((r, prod))
                if bid is None or bid <= 0:
                    if prod in ("rcu", "rcd") and bool(ra.get(r, False)):
                        continue  # ISO-inserted RC bid of an RA resource or VER (§5.11)
                    self.add("award_bid", "schedules", "resource", r, h, v, 0.0,
                             f"{prod.upper()} award {v:.6g} MW without a {prod.upper()} bid")
                elif v - bid > self.tol:
                    self.add("award_bid", "schedules", "resource", r, h, v, bid,
                             f"{prod.upper()} award {v:.6g} MW above the bid {bid:.6g} MW")
        both = (self.sched["rcu_mw"] > self.tol) & (self.sched["rcd_mw"] > self.tol)
        for i, j in zip(*np.nonzero(both.to_numpy())):
            r, h = both.index[i], both.columns[j]
            self.add("rc_exclusive", "schedules", "resource", r, h,
                     float(self.sched["rcd_mw"].iat[i, j]), 0.0,
                     f"both RCU {self.sched['rcu_mw'].iat[i, j]:.6g} and RCD "
                     f"{self.sched['rcd_mw'].iat[i, j]:.6g} awarded")

    def check_as_requirements(self) -> None:
        if not self.need("as_requirement", "schedules"):
            return
        S = self.sched
        baa = self.res["baa"].astype(str)
        bh = self.s.baa_hours.assign(baa=self.s.baa_hours["baa"].astype(str)).set_index(
            ["baa", "hour"])
        sums = {p: S[c].groupby(baa).sum() for c, p in AWARD_COLUMNS.items()
                if p in ("ru", "sr", "nr", "rd")}
        relax = {p: self.relaxed("as", p) for p in ("ru", "sr", "nr", "rd")}
        groups = [("ru", ("ru",)), ("sr", ("ru", "sr")), ("nr", ("ru", "sr", "nr")),
                  ("rd", ("rd",))]
        for (b, h), row in bh.iterrows():
            for name, members in groups:
                req = sum(float(row[f"{m}_requirement_mw"]) for m in members)
                if req <= self.tol:
                    continue
                got = sum(_cell(sums[m], b, h) for m in members)
                rel = float(relax[name].get((b, h), 0.0)) if len(relax[name]) else 0.0
                if req - got - rel > self.tol:
                    label = " + ".join(m.upper() for m in members)
                    self.add("as_requirement", "schedules", "baa", b, h, got + rel, req,
                             f"{label} awards {got:.6g} MW + relaxed {rel:.6g} below the "
                             f"requirement {req:.6g} by {req - got - rel:.6g}")

    def check_ir_rc(self) -> None:
        if not self.need("ir_rc_requirement", "baa_summary"):
            return
        bs = self.run.baa_summary.assign(baa=lambda d: d["baa"].astype(str),
                                         hour=lambda d: d["hour"].astype(int))
        bh = self.s.baa_hours.assign(baa=self.s.baa_hours["baa"].astype(str)).set_index(
            ["baa", "hour"])
        have_sched = self.sched is not None
        baa_of = self.res["baa"].astype(str)
        awards = {p: self.sched[f"{p}_mw"].groupby(baa_of).sum()
                  for p in ("iru", "ird", "rcu", "rcd")} if have_sched else {}
        rc_in = self._rc_net_import()
        foot: dict[tuple[str, int], list[float]] = {}
        for rec in bs.to_dict("records"):
            b, h = rec["baa"], rec["hour"]
            for p in ("iru", "ird", "rcu", "rcd"):
                cols = [f"{p}_{c}_mw" for c in ("requirement", "cleared", "relaxed")]
                if not all(c in rec for c in cols):
                    continue
                req, clr, rel = (float(_nan_to(rec[c], 0.0)) for c in cols)
                # RC may also come over RC transfers (x^R − x): RCU − RCD + RC net import + sR+
                # − sR− = forecast gap (§5.11), so the BAA's own RCU (RCD) plus relaxation plus
                # RC net import (export) covers its RCU (RCD) requirement.
                xfer = 0.0
                if p in ("rcu", "rcd") and rc_in is not None:
                    xfer = _cell(rc_in, b, h) * (1.0 if p == "rcu" else -1.0)
                if req > self.tol and req - clr - rel - xfer > self.tol:
                    via = f" + RC transfers {xfer:.6g}" if xfer else ""
                    self.add("ir_rc_requirement", "baa_summary", "baa", b, h, clr + rel + xfer,
                             req, f"{p.upper()} cleared {clr:.6g} + relaxed {rel:.6g}{via} below "
                                  f"the requirement {req:.6g} by {req - clr - rel - xfer:.6g}")
                if p in ("iru", "ird") and (b, h) in bh.index:
                    inp = float(bh.at[(b, h), f"{p}_requirement_mw"])
                    if abs(inp - req) > self.tol:
                        self.add("ir_rc_requirement", "baa_summary", "baa", b, h, req, inp,
                                 f"{p.upper()} requirement {req:.6g} differs from the input "
                                 f"{inp:.6g}")
                if have_sched:
                    got = _cell(awards[p], b, h)
                    if self.p.phase == 1 and req - got - rel > self.tol:
                        self.add("ir_rc_requirement", "schedules", "baa", b, h, got + rel, req,
                                 f"phase 1: {p.upper()} awards in the BAA {got:.6g} + relaxed "
                                 f"{rel:.6g} below the requirement {req:.6g}")
                    if p in ("iru", "ird"):  # IR transfers cancel over the footprint
                        f = foot.setdefault((p, h), [0.0, 0.0, 0.0])
                        f[0] += got
                        f[1] += rel
                        f[2] += req
        for (p, h), (got, rel, req) in sorted(foot.items()):
            if req - got - rel > self.tol:
                self.add("ir_rc_requirement", "schedules", "footprint", "all", h, got + rel, req,
                         f"{p.upper()} awards over the footprint {got:.6g} + relaxed {rel:.6g} "
                         f"below the total requirement {req:.6g}")

    def _rc_net_import(self) -> pd.DataFrame | None:
        """RC transfers x^R − x into each BAA, BAA x hour (None when unknown)."""
        xr = self._transfers("ruc_transfers")
        if xr is None:
            return None
        baas = sorted(self.s.baas["baa"].astype(str))
        if "rc_transfer_mw" in xr.columns:
            return _net_import(self.s, xr, baas, self.hours, "rc_transfer_mw")
        x = self._transfers("transfers")
        if x is None:
            return None
        return _net_import(self.s, xr, baas, self.hours, "mw") - \
            _net_import(self.s, x, baas, self.hours, "mw")

    def check_ruc(self) -> None:
        if self.sched is None or not self.p.run_ruc:
            return
        S = self.sched
        if not self.ruc_ran():
            self.skipped.append("ruc_balance: schedules has no rcu_mw column")
            return
        s = self.s
        baas = sorted(s.baas["baa"].astype(str))
        xr = self._transfers("ruc_transfers")
        if xr is None:
            if self.p.phase == 1 or not len(s.interfaces):
                xr = pd.DataFrame(columns=["interface", "hour", "mw"])
            else:
                self.skipped.append("ruc_balance: no ruc_transfers table (phase ≥ 2)")
                return
        phys = self.by_type(*RUC_TYPES)
        r = (S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]).loc[phys]
        supply = r.groupby(self.res["baa"].astype(str).loc[phys]).sum().reindex(baas).fillna(0.0)
        gap = supply - self._forecast() + _net_import(s, xr, baas, self.hours, "mw") + \
            _net_import(s, _base_frame(s), baas, self.hours, "mw")
        slack = self.balance_slack("ruc")
        for b in baas:
            for h in self.hours:
                g, sl = float(gap.at[b, h]), float(slack.at[b, h])
                if abs(g + sl) > self.tol:
                    self.add("ruc_balance", "schedules", "baa", b, h, g, 0.0 - sl,
                             f"physical schedule + RCU − RCD + RUC net imports − forecast = "
                             f"{g:.6g} MW, expected {0.0 - sl:.6g} (reported RUC relaxation "
                             f"{sl:.6g})")

    def check_prices(self) -> None:
        p = self.p
        pp = self.run.tables.get("product_prices")
        bs = self.run.tables.get("baa_summary")
        if pp is None or bs is None:
            self.skipped.append("ir_price_cap: needs product_prices and baa_summary")
        else:
            cap = float(p.ir_demand_curve_cap_usd_per_mwh)
            price = pp.assign(baa=pp["baa"].astype(str), product=pp["product"].str.lower(),
                              hour=pp["hour"].astype(int)).set_index(["baa", "product", "hour"])[
                "price_usd_per_mwh"]
            for rec in bs.to_dict("records"):
                for prod in ("iru", "ird"):
                    rel = float(_nan_to(rec.get(f"{prod}_relaxed_mw", 0.0), 0.0))
                    key = (str(rec["baa"]), prod, int(rec["hour"]))
                    if rel > self.tol and key in price.index:
                        v = float(price.loc[key])
                        if v - cap > 1e-6 * max(1.0, cap):
                            self.add("ir_price_cap", "product_prices", "baa", key[0], key[2], v,
                                     cap, f"{prod.upper()} price {v:.6g} $/MWh above the demand-"
                                     f"curve cap {cap:.6g} while {rel:.6g} MW is relaxed")
        npx = self.run.tables.get("nodal_prices")
        if npx is None:
            self.skipped.append("lmp_components, elap_bounds: no nodal_prices table")
            return
        npx = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int))
        comp = [c for c in ("energy", "congestion", "loss") if c in npx.columns]
        if "lmp" in npx.columns and comp:
            parts = npx[comp].fillna(0.0)
            tot = parts.sum(axis=1)
            scale = parts.abs().sum(axis=1)
            dev = (npx["lmp"] - tot).abs()
            for i in np.flatnonzero((dev > 1e-6 + 1e-9 * scale).to_numpy()):
                r = npx.iloc[i]
                self.add("lmp_components", "nodal_prices", "bus", r["bus"], r["hour"], r["lmp"],
                         tot.iat[i], f"LMP {r['lmp']:.8g} ≠ energy + congestion + loss "
                         f"{tot.iat[i]:.8g} (off by {dev.iat[i]:.3g})")
            if "energy" in npx.columns:
                for h, g in npx.groupby("hour"):
                    spread = float(g["energy"].max() - g["energy"].min())
                    if spread > 1e-6 + 1e-9 * float(g["energy"].abs().max()):
                        self.add("lmp_components", "nodal_prices", "hour", "all", h,
                                 float(g["energy"].max()), float(g["energy"].min()),
                                 f"energy component (SMEC) differs across buses by {spread:.6g}")
        if "lmp" not in npx.columns:
            return
        ldf = self.s.ldf.rename(index=str)
        bus_baa = {str(k): str(v) for k, v in self.s.bus_baa.items()}
        df = npx.assign(baa_s=npx["bus"].map(bus_baa), w=npx["bus"].map(ldf).fillna(0.0))
        under = self.relaxed("pb", "under")
        over = self.relaxed("pb", "over")
        hi, lo = float(p.penalty_power_balance_under_usd_per_mwh), \
            -float(p.penalty_power_balance_over_usd_per_mwh)
        need = {b: set(self.s.buses.loc[self.s.buses["baa"].astype(str) == b, "bus"].astype(str))
                for b in set(bus_baa.values())}
        for (b, h), g in df.dropna(subset=["baa_s"]).groupby(["baa_s", "hour"]):
            if set(g["bus"]) < need[b] and (g["w"].sum() < 1 - 1e-9):
                continue  # prices of some load buses missing: the ELAP cannot be formed
            elap = float((g["w"] * g["lmp"]).sum())
            tol = 1e-4 * max(1.0, abs(elap))
            if elap - hi > tol or lo - elap > tol:
                lim = hi if elap > hi else lo
                self.add("elap_bounds", "nodal_prices", "baa", b, h, elap, lim,
                         f"load-aggregate price Σ LDF·LMP = {elap:.6g} $/MWh outside the "
                         f"power-balance penalty range [{lo:.6g}, {hi:.6g}]")
            u = float(under.get((b, h), 0.0)) if len(under) else 0.0
            o = float(over.get((b, h), 0.0)) if len(over) else 0.0
            if u > 10 * self.tol and abs(elap - hi) > tol:
                self.add("elap_bounds", "nodal_prices", "baa", b, h, elap, hi,
                         f"{u:.6g} MW under-supply relaxed but the load-aggregate price "
                         f"{elap:.6g} ≠ the penalty {hi:.6g}")
            if o > 10 * self.tol and abs(elap - lo) > tol:
                self.add("elap_bounds", "nodal_prices", "baa", b, h, elap, lo,
                         f"{o:.6g} MW over-supply relaxed but the load-aggregate price "
                         f"{elap:.6g} ≠ the penalty {lo:.6g}")

    # -------------------------------------------------------------------------------------------
    def run_all(self) -> pd.DataFrame:
        if self.sched is None:
            self.skipped.append("all schedule rules: no schedules table")
        for fn in (self.check_coverage, self.check_balance, self.check_transfers,
                   self.check_branches, self.check_unit_limits, self.check_ramps,
                   self.check_min_up_down, self.check_storage, self.check_headroom,
                   self.check_reserve_ramp, self.check_awards, self.check_as_requirements,
                   self.check_ir_rc, self.check_ruc, self.check_prices):
            if self.sched is None and fn not in (self.check_transfers, self.check_ir_rc,
                                                 self.check_prices):
                continue
            fn()
        out = pd.DataFrame(self.rows, columns=VIOLATION_COLUMNS)
        if len(out):
            order = {r: i for i, r in enumerate(RULES)}
            out = out.assign(_o=out["rule"].map(order)).sort_values(
                ["_o", "id", "hour"], kind="stable", na_position="first").drop(columns="_o")
            out = out.reset_index(drop=True)
            out["hour"] = out["hour"].astype("Int64")
        out.attrs["skipped"] = list(self.skipped)
        out.attrs["parameters"] = {"phase": self.p.phase, "run_ruc": self.p.run_ruc}
        return out


# ------------------------------------------------------------------------------------------------
def _run_parameters(scenario: Scenario, run: RunResult) -> MarketParameters:
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


def _finite(v) -> float:
    v = float(v)
    return _BIG if math.isinf(v) or math.isnan(v) else v


def _nan_to(v, default: float) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(f) else f


def _cell(df: pd.DataFrame, row, col) -> float:
    return float(df.at[row, col]) if row in df.index and col in df.columns else 0.0


def _opt_col(df: pd.DataFrame, names: tuple[str, ...]) -> pd.Series | None:
    for n in names:
        if n in df.columns:
            return df.set_index(["interface", "hour"])[n].astype(float).fillna(0.0)
    return None


def _fixed_demand_baa(s: Scenario, baas: list[str], hours: list[int]) -> pd.DataFrame:
    d = s.demand
    if not len(d):
        return pd.DataFrame(0.0, index=baas, columns=hours)
    bus_baa = {str(k): str(v) for k, v in s.bus_baa.items()}
    d = d.assign(baa=d["bus"].astype(str).map(bus_baa))
    return d.pivot_table(index="baa", columns="hour", values="fixed_demand_mw",
                         aggfunc="sum").reindex(index=baas, columns=hours).fillna(0.0)


def _base_frame(s: Scenario) -> pd.DataFrame:
    ih = s.interface_hours
    return pd.DataFrame({"interface": ih["interface"].astype(str), "hour": ih["hour"].astype(int),
                         "mw": ih["base_transfer_mw"].astype(float)})


def _net_import(s: Scenario, flows: pd.DataFrame, baas: list[str], hours: list[int],
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


# ------------------------------------------------------------------------------------------------
def check_run(scenario: Scenario, run: RunResult, tol: float = 1e-4) -> pd.DataFrame:
    """Every violation of the rules in `RULES` found in `run` against `scenario`, one row each:
    rule, table, kind (resource/bus/branch/interface/baa/...), id, hour (None for daily rules),
    amount (the value found), limit (the bound it broke), excess (|amount − limit|), message.
    Empty when the run passes. `attrs["skipped"]` lists rules skipped for a missing table."""
    if isinstance(run, (str, Path)):
        run = read_run(run)
    return _Checker(scenario, run, tol).run_all()


def format_violation(v: dict) -> str:
    hour = "" if v.get("hour") is None or pd.isna(v.get("hour")) else f" hour {int(v['hour'])}"
    return f"[{v['rule']}] {v['table']}: {v['kind']} {v['id']}{hour}: {v['message']}"


def check_command(run_dir: str | Path, scenario: str | Path | Scenario | None = None,
                  tol: float = 1e-4) -> int:
    """`edam check RUN_DIR [--scenario PATH]`: print each violation; 0 when none, 1 otherwise,
    2 when the scenario cannot be found."""
    run = read_run(run_dir)
    sc = scenario
    if sc is None:
        sc = (run.manifest or {}).get("scenario_dir")
        if not sc:
            print(f"edam check: {run_dir}: the manifest names no scenario_dir; pass --scenario",
                  file=sys.stderr)
            return 2
    if not isinstance(sc, Scenario):
        from scenarios import load_scenario
        if not Path(sc).is_dir():
            print(f"edam check: scenario folder {sc} not found; pass --scenario", file=sys.stderr)
            return 2
        sc = load_scenario(sc)
    v = check_run(sc, run, tol=tol)
    for rec in v.to_dict("records"):
        print(format_violation(rec))
    for note in v.attrs.get("skipped", []):
        print(f"skipped {note}")
    if len(v):
        print(f"{len(v)} violation{'s' if len(v) != 1 else ''} in {run_dir}")
        return 1
    print(f"OK: no violations in {run_dir} ({len(RULES)} rules)")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="edam check", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args(argv)
    return check_command(a.run_dir, a.scenario, a.tol)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
