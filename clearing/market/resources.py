"""Resource physics (spec §5.4, §5.5, §5.10): unit commitment, bid segments, VER, hydro,
storage, imports/exports, demand and virtual bids. Declares `g[r,t]` (net injection) and the
capacity stacks that the product components fill through the bundle's reserve registries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from clearing.market.data import Cells
from clearing.market.readback import Readback, value

BIG_RAMP = 1e6


def _finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def add_resources(b: ModelBundle) -> None:
    """Energy variables, bid segments and their costs for every resource (spec §3, §4.1)."""
    m, d, T = b.m, b.d, b.T
    res_c = d.cells("resources")
    res = d.resources
    m.T = pyo.Set(initialize=T, ordered=True)
    # --- bid segments: the hour's curve of each resource (hourly bids, scenarios.bids) ---------
    sup_idx = segment_index(res.index, T, d.supply_bid)
    dem_idx = segment_index(res.index, T, d.demand_bid)
    m.SEG_S = pyo.Set(initialize=sup_idx, dimen=3, ordered=True)
    m.SEG_D = pyo.Set(initialize=dem_idx, dimen=3, ordered=True)
    m.seg_s = pyo.Var(m.SEG_S, within=pyo.NonNegativeReals,
                      bounds=lambda _m, r, s, t: (0, d.supply_bid(r, t)[s - 1][0]))
    m.seg_d = pyo.Var(m.SEG_D, within=pyo.NonNegativeReals,
                      bounds=lambda _m, r, s, t: (0, d.demand_bid(r, t)[s - 1][0]))
    b.costs.append(sum(d.supply_bid(r, t)[s - 1][1] * m.seg_s[r, s, t] for (r, s, t) in sup_idx))
    b.costs.append(-sum(d.demand_bid(r, t)[s - 1][1] * m.seg_d[r, s, t] for (r, s, t) in dem_idx))

    _add_thermal(b)
    _add_simple_supply(b)
    _add_storage(b)
    _add_demand_side(b)

    def g_rule(_m, r, t):
        typ = res_c.at[r, "type"]
        if typ == "thermal":
            return _m.p[r, t]
        if typ == "storage":
            return _m.dis[r, t] - _m.ch[r, t]
        if typ in ("ver", "hydro", "import", "virtual_supply"):
            return _m.q[r, t]
        return -_m.wd[r, t]  # export, demand, virtual_demand
    m.RT = pyo.Set(initialize=[(r, t) for r in res.index for t in T], dimen=2, ordered=True)
    m.g = pyo.Expression(m.RT, rule=g_rule)


def segment_index(resources, periods, curve) -> list[tuple[str, int, int]]:
    """(resource, segment, period) of every bid segment, `curve(r, t)` giving the segments of
    `r` in period `t`; ordered by resource, segment, period (the order of day-constant bids)."""
    out = []
    for r in resources:
        n = {t: len(curve(r, t)) for t in periods}
        for s in range(1, max(n.values(), default=0) + 1):
            out += [(r, s, t) for t in periods if s <= n[t]]
    return out


def forced_above_bid_mw(floor_mw: float, bid_mw: float) -> float:
    """Output a resource cannot avoid (`floor_mw`: a self-schedule, a non-dispatchable VER's
    forecast, a thermal unit's slowest ramp-down from its initial output) beyond the MW of its
    energy bid (`bid_mw`): a price-taker quantity ($0) so the market still clears
    (docs/market-model.md §5.5 [A]; an ISO takes a self-schedule as a price taker)."""
    return max(0.0, floor_mw - bid_mw) if floor_mw - bid_mw > 1e-9 else 0.0


def _bid_mw(d, r: str, t: int) -> float:
    """MW of `r`'s offer curve in hour `t`."""
    return float(sum(w for w, _ in d.supply_bid(r, t)))


def _seg_sum(m, d, r, t, side="supply"):
    curve = d.supply_bid(r, t) if side == "supply" else d.demand_bid(r, t)
    var = m.seg_s if side == "supply" else m.seg_d
    return sum(var[r, s, t] for s in range(1, len(curve) + 1))


# ---------------------------------------------------------------------------------------------
class Commitment(NamedTuple):
    """One model's 3-binary commitment (u, v, w) on `index` (unit, period) with its thermal
    table `th` and period length, as `add_commitment_logic` wrote its rows; `stay_on_first`:
    the units that cannot shut down in the first period (`uc_initial_shutdown`)."""

    index: list
    th: object
    u: object
    v: object
    w: object
    period_h: float
    stay_on_first: frozenset = frozenset()


def add_commitment_logic(m: pyo.ConcreteModel, index: pyo.Set, th, u, v, w, prefix: str,
                         period_h: float = 1.0) -> Commitment:
    """3-binary start/stop logic and minimum up/down times (spec §5.4) on (u, v, w), with the
    initial status carried in from `th` (thermal table): rows `<prefix>_logic`, `_min_up`,
    `_min_down`. `index` holds (unit, period) with periods 1, 2, … of `period_h` hours each
    (min up/down times in hours become ⌈hours / period_h⌉ periods). Used by the IFM (u), the
    RUC (u^R) and the RT run (the short-start units' hourly commitment)."""
    th = th if isinstance(th, Cells) else Cells(th)

    def periods(hours: float) -> int:
        return int(math.ceil(float(hours) / period_h - 1e-9))

    def logic(_m, i, t):
        prev = u[i, t - 1] if t > 1 else (1 if th.at[i, "initial_on"] else 0)
        return u[i, t] - prev == v[i, t] - w[i, t]

    def min_up(_m, i, t):
        ut = periods(th.at[i, "min_up_h"])
        if ut <= 1:
            return pyo.Constraint.Skip
        return sum(v[i, k] for k in range(max(1, t - ut + 1), t + 1)) <= u[i, t]

    def min_down(_m, i, t):
        dt = periods(th.at[i, "min_down_h"])
        if dt <= 1:
            return v[i, t] + w[i, t] <= 1
        return sum(w[i, k] for k in range(max(1, t - dt + 1), t + 1)) <= 1 - u[i, t]
    setattr(m, f"{prefix}_logic", pyo.Constraint(index, rule=logic))
    setattr(m, f"{prefix}_min_up", pyo.Constraint(index, rule=min_up))
    setattr(m, f"{prefix}_min_down", pyo.Constraint(index, rule=min_down))
    return Commitment(list(index), th, u, v, w, period_h)


def _repair_commitment(x: list[int], fixed: list[bool], on0: bool, up_periods: int,
                       down_periods: int) -> list[int] | None:
    """`x` (0/1 per period) made to keep the minimum up and down times (spec §5.4) by switching
    free periods on only: an off spell shorter than the down time between two on spells (or
    after the initial on state) is filled, an on spell started in the horizon and shorter than
    the up time is extended. None when a fixed-off period is in the way."""
    x, n = list(x), len(x)
    for _ in range(2 * n + 2):
        changed = False
        t = 0
        while t < n:  # minimum down time
            if x[t]:
                t += 1
                continue
            a = t
            while t < n and not x[t]:
                t += 1
            if (x[a - 1] if a else on0) and t < n and t - a < down_periods:
                if any(fixed[a:t]):
                    return None
                x[a:t] = [1] * (t - a)
                changed = True
        t = 0
        while t < n:  # minimum up time
            if not x[t]:
                t += 1
                continue
            a = t
            while t < n and x[t]:
                t += 1
            if (not x[a - 1] if a else not on0) and t < n and t - a < up_periods:
                end = min(n, a + up_periods)
                if any(fixed[k] and not x[k] for k in range(t, end)):
                    return None
                x[t:end] = [1] * (end - t)
                changed = True
                t = end
        if not changed:
            return x
    return None


def _pinned_value(var) -> float | None:
    """The value a variable is held at, fixed (`Var.fix`) or by equal bounds
    (`solver.fix_binaries`), else None."""
    if var.fixed:
        return float(var.value or 0.0)
    if var.lb is not None and var.lb == var.ub:
        return float(var.lb)
    return None


def rounded_commitment(c: Commitment, threshold: float = 0.05) -> list[tuple]:
    """A MIP start from the LP relaxation's values of `c.u` (issue 20): each free u rounded up
    from `threshold`, the minimum up/down times kept by switching more periods on
    (`_repair_commitment`), v and w implied. (VarData, value) of the free u, v and w; a unit
    whose rounding cannot be repaired, or whose fixed v/w disagree, is left out (HiGHS completes
    the start by a sub-MIP over what is left out: clearing/market/solver.py)."""
    th = c.th if isinstance(c.th, Cells) else Cells(c.th)
    periods: dict[str, list[int]] = defaultdict(list)
    for (i, t) in c.index:
        periods[i].append(t)
    out: list = []

    def span(hours: float) -> int:
        return int(math.ceil(float(hours) / c.period_h - 1e-9))

    for i, ts in periods.items():
        ts = sorted(ts)
        us = [c.u[i, t] for t in ts]
        pinned = [_pinned_value(u) for u in us]
        fixed = [p is not None for p in pinned]
        x = [int(round(p)) if p is not None else int((u.value or 0.0) >= threshold)
             for u, p in zip(us, pinned)]
        on0 = bool(th.at[i, "initial_on"])
        if i in c.stay_on_first and not fixed[0]:
            x[0] = 1
        x = _repair_commitment(x, fixed, on0, span(th.at[i, "min_up_h"]),
                               span(th.at[i, "min_down_h"]))
        if x is None:
            continue
        unit: list | None = []
        prev = int(on0)
        for t, u, xt in zip(ts, us, x):
            for var, val in ((u, xt), (c.v[i, t], max(0, xt - prev)),
                             (c.w[i, t], max(0, prev - xt))):
                held = _pinned_value(var)
                if held is None:
                    unit.append((var, float(val)))
                elif round(held) != val:
                    unit = None
                    break
            if unit is None:
                break
            prev = xt
        if unit:
            out += unit
    return out


def forced_commitment(th, i: str, t: int, must_run_now: bool, derated_below_pmin: bool,
                      kept_on: bool = False) -> int | None:
    """The commitment a unit must take in hour t (spec §5.4), or None when it is free:
    on while its initial minimum up time lasts, off while its initial minimum down time lasts;
    else on when must-run or self-scheduled (`must_run_now`) or held on by an award the policy
    keeps (`kept_on`, RT); else off when derated below Pmin. Shared by the IFM and RT."""
    on0 = bool(th.at[i, "initial_on"])
    ut, dt, h0 = int(th.at[i, "min_up_h"]), int(th.at[i, "min_down_h"]), int(th.at[i, "initial_hours"])
    forced = None
    if on0 and t <= ut - h0:
        forced = 1
    if (not on0) and t <= dt - h0:
        forced = 0
    if forced is None and must_run_now:
        forced = 1
    if forced is None and kept_on:
        forced = 1
    if forced is None and derated_below_pmin:
        forced = 0
    return forced


def startup_cost_usd(d, i: str) -> float:
    """The start-up cost of unit i in $ per start: its first (hottest) tier where tiers are
    given, else `startup_cost_usd` (spec §4.1)."""
    tiers = d.startup_tiers.get(i)
    return tiers[0][1] if tiers else float(d.thermal.at[i, "startup_cost_usd"])


def add_startup_costs(b: ModelBundle, starts: list[tuple[str, int]], v, w,
                      suffix: str = "", prefix: str = "uc") -> None:
    """Start-up costs (spec §4.1, §4.2) of the starts v[i,t], (i, t) in `starts`, appended to
    `b.costs`: a unit with one tier (or none) pays its `startup_cost_usd`; a unit with
    downtime-dependent tiers (`startup_costs`: tier s applies after `after_offline_h` hours
    off-line) pays the tier its off-line spell implies, through start-up type binaries
    δ[i,s,t] (variable `delta<suffix>` on set `ST<suffix>`): Σ_s δ_s = v_t (row
    `<prefix>_st_sum`), and δ_s ≤ Σ of w over the hours t − τ with τ in tier s's window
    [after_s, after_(s+1) − 1], tier 1's from 1 h (row `<prefix>_st_window`; w before hour 1 from the initial
    state `initial_on`/`initial_hours`; the coldest tier is always allowed). The IFM charges
    every start on (u, v, w); the RUC only its own starts, on (u^R, v^R, w^R), so a unit the
    RUC commits pays the tier of the off-line spell of the RUC commitment."""
    m, d = b.m, b.d
    th = d.cells("thermal")
    starts = [(i, t) for (i, t) in starts if not (v[i, t].fixed and not v[i, t].value)]
    tiered = [(i, t) for (i, t) in starts if len(d.startup_tiers.get(i, [])) > 1]
    b.costs.append(sum(startup_cost_usd(d, i) * v[i, t] for (i, t) in starts
                       if len(d.startup_tiers.get(i, [])) <= 1))
    if not tiered:
        return
    hours: dict[str, list[int]] = {}
    for (i, t) in tiered:
        hours.setdefault(i, []).append(t)
    st_idx = [(i, s, t) for i in hours for s in range(1, len(d.startup_tiers[i]) + 1)
              for t in hours[i]]
    st_set = pyo.Set(initialize=st_idx, dimen=3, ordered=True)
    setattr(m, f"ST{suffix}", st_set)
    delta = pyo.Var(st_set, within=pyo.Binary)
    setattr(m, f"delta{suffix}", delta)
    b.binaries.append(delta)

    def w_past(i, tau):
        """w at hour tau, including the initial shut-down implied by initial_hours: a unit
        off for h0 hours by the end of hour 0 shut down in hour 1 − h0 (hour 1 itself when
        h0 = 0, where the model's w is 0 because u_0 = 0)."""
        if not th.at[i, "initial_on"] and tau == 1 - int(th.at[i, "initial_hours"]):
            return 1
        if tau >= 1:
            return w[i, tau]
        return 0

    def st_sum(_m, i, t):
        return sum(delta[i, s, t] for s in range(1, len(d.startup_tiers[i]) + 1)) == v[i, t]
    setattr(m, f"{prefix}_st_sum", pyo.Constraint(
        pyo.Set(initialize=tiered, dimen=2, ordered=True), rule=st_sum))

    def st_window(_m, i, s, t):
        tiers = d.startup_tiers[i]
        if s == len(tiers):
            return pyo.Constraint.Skip
        # tier 1 also covers a spell shorter than its after_offline_h (the hottest start)
        lo, hi = (1 if s == 1 else tiers[s - 1][0]), tiers[s][0] - 1
        expr = sum(w_past(i, t - tau) for tau in range(lo, hi + 1))
        if isinstance(expr, (int, float)):  # window lies wholly before hour 1
            if expr == 0:
                delta[i, s, t].fix(0)
            return pyo.Constraint.Skip
        return delta[i, s, t] <= expr
    setattr(m, f"{prefix}_st_window", pyo.Constraint(st_set, rule=st_window))
    b.costs.append(sum(d.startup_tiers[i][s - 1][1] * delta[i, s, t] for (i, s, t) in st_idx))


def thermal_floor_mw(d, i: str, t: int) -> float:
    """The least output of thermal unit `i` on-line in hour `t` (spec §5.4): its self-schedule
    (capped at Pmax_t), and, on-line since before the day, its initial output less the fastest
    ramp-down, initial_mw − 60·RR^dn·t."""
    th, pmax = d.cells("thermal"), float(d.cells("pmax").at[i, t])
    ss = d.cells("self_schedule").at[i, t]
    floor = min(float(ss), pmax) if ss == ss and ss > 0 else 0.0
    rr = d.ramp_down(i)
    if th.at[i, "initial_on"] and _finite(rr):
        floor = max(floor, float(th.at[i, "initial_mw"]) - 60 * rr * (t - d.hours[0] + 1))
    return floor


def _add_thermal(b: ModelBundle) -> None:
    """3-binary unit commitment (spec §5.4) with tight start-up/shut-down capacity limits and
    downtime-dependent start-up costs (start-up type binaries)."""
    m, d, T = b.m, b.d, b.T
    pmax_c = d.cells("pmax")
    ss_c = d.cells("self_schedule")
    th_c = d.cells("thermal")
    G = d.of_type("thermal")
    idx = [(i, t) for i in G for t in T]
    m.G = pyo.Set(initialize=G, ordered=True)
    m.GT = pyo.Set(initialize=idx, dimen=2, ordered=True)
    m.u = pyo.Var(m.GT, within=pyo.Binary)
    m.v = pyo.Var(m.GT, within=pyo.Binary)
    m.w = pyo.Var(m.GT, within=pyo.Binary)
    m.pa = pyo.Var(m.GT, within=pyo.NonNegativeReals)  # output above Pmin
    b.binaries += [m.u, m.v, m.w]
    pmin = d.cells("resources").column("pmin_mw")

    def u0(i):
        return 1 if th_c.at[i, "initial_on"] else 0

    # forced states: initial min up/down carry-over, must-run, self-schedules, derates < Pmin
    for i in G:
        for t in T:
            forced = forced_commitment(th_c, i, t, bool(th_c.at[i, "must_run"]) or ss_c.at[i, t] > 0,
                                       pmax_c.at[i, t] < pmin[i] - 1e-9)
            if forced is not None:
                m.u[i, t].fix(forced)

    m.p = pyo.Expression(m.GT, rule=lambda _m, i, t: pmin[i] * _m.u[i, t] + _m.pa[i, t])

    b.commitments.append(add_commitment_logic(m, m.GT, th_c, m.u, m.v, m.w, "uc"))

    # self-schedules: output at least the self-scheduled MW (u is fixed on above)
    ss_idx = [(i, t) for (i, t) in idx if ss_c.at[i, t] > 0]
    m.uc_self_schedule = pyo.Constraint(
        pyo.Set(initialize=ss_idx, dimen=2, ordered=True),
        rule=lambda _m, i, t: _m.pa[i, t] >= min(float(ss_c.at[i, t]),
                                                 float(pmax_c.at[i, t])) - pmin[i])

    # segments: p - Pmin u = sum of the hour's segments, each <= width * u (tight); an hour
    # without an offer leaves the capacity above Pmin a price taker at $0 (documented)
    def seg_link(_m, i, t):
        if not d.supply_bid(i, t):
            return pyo.Constraint.Skip
        forced = forced_above_bid_mw(thermal_floor_mw(d, i, t) - pmin[i], _bid_mw(d, i, t))
        return _m.pa[i, t] == _seg_sum(_m, d, i, t) + forced * _m.u[i, t]
    m.uc_seg_link = pyo.Constraint(m.GT, rule=seg_link)

    G_set = set(G)
    seg_idx = [(i, s, t) for (i, s, t) in m.SEG_S if i in G_set]
    m.uc_seg_on = pyo.Constraint(
        pyo.Set(initialize=seg_idx, dimen=3, ordered=True),
        rule=lambda _m, i, s, t: _m.seg_s[i, s, t] <= d.supply_bid(i, t)[s - 1][0] * _m.u[i, t])

    # costs: min-load, start-up (downtime dependent where tiers are given)
    b.costs.append(sum(float(th_c.at[i, "min_load_cost_usd_per_h"]) * m.u[i, t] for (i, t) in idx))
    add_startup_costs(b, idx, m.v, m.w)

    # ramps on total output (spec §5.4 [A]); start-up/shut-down limits SU/SD (Pmax when blank)
    def su_limit(i, t):
        v = th_c.at[i, "startup_ramp_mw"]
        return max(float(pmin[i]), float(v)) if _finite(v) else float(pmax_c.at[i, t])

    def sd_limit(i, t):
        v = th_c.at[i, "shutdown_ramp_mw"]
        return max(float(pmin[i]), float(v)) if _finite(v) else float(pmax_c.at[i, t])

    def p_prev(_m, i, t):
        if t > 1:
            return _m.p[i, t - 1], _m.u[i, t - 1]
        return (float(th_c.at[i, "initial_mw"]) if th_c.at[i, "initial_on"] else 0.0), u0(i)

    def ramp_up(_m, i, t):
        rr = d.ramp_up(i)
        if not _finite(rr) or 60 * rr >= pmax_c.at[i, t]:
            return pyo.Constraint.Skip
        pp, up = p_prev(_m, i, t)
        return _m.p[i, t] - pp <= 60 * rr * up + su_limit(i, t) * _m.v[i, t]
    m.uc_ramp_up = pyo.Constraint(m.GT, rule=ramp_up)

    def ramp_down(_m, i, t):
        rr = d.ramp_down(i)
        # implied only when the drop cannot exceed 60 RR^dn: the previous hour's output is at most
        # its Pmax (the initial output in hour 1), whatever this hour's derate (random markets,
        # issue 16: Pmax 67.52 → 53.85 with 60 RR^dn = 54 let the unit drop 66.29 MW)
        prev_cap = float(pmax_c.at[i, t - 1]) if t > 1 else float(p_prev(_m, i, t)[0])
        if not _finite(rr) or 60 * rr >= prev_cap:
            return pyo.Constraint.Skip
        pp, _ = p_prev(_m, i, t)
        return pp - _m.p[i, t] <= 60 * rr * _m.u[i, t] + sd_limit(i, t) * _m.w[i, t]
    m.uc_ramp_down = pyo.Constraint(m.GT, rule=ramp_down)

    # a unit on-line at hour 0 above its shut-down ramp SD cannot stop in hour 1 (spec §5.4: the
    # ramp-down row of hour 1 with u_1 = 0 reads p_0 <= SD; it is skipped above when
    # 60 RR^dn >= Pmax, and no SD capacity row holds the fixed initial output)
    def initial_shutdown(_m, i):
        p0 = float(th_c.at[i, "initial_mw"]) if th_c.at[i, "initial_on"] else 0.0
        if p0 <= sd_limit(i, T[0]) + 1e-9 or (_m.u[i, T[0]].fixed and not _m.u[i, T[0]].value):
            return pyo.Constraint.Skip  # within SD, or off in hour 1 anyway (a derate < Pmin)
        return p0 * _m.w[i, T[0]] <= sd_limit(i, T[0])
    m.uc_initial_shutdown = pyo.Constraint(m.G, rule=initial_shutdown)
    b.commitments[-1] = b.commitments[-1]._replace(
        stay_on_first=frozenset(m.uc_initial_shutdown.keys()))
    b.info["thermal_su_limit"] = su_limit
    b.info["thermal_sd_limit"] = sd_limit
    b.info["thermal_p_prev"] = p_prev
    # the capacity stacks are added by add_capacity_stacks() once products registered awards


def _add_simple_supply(b: ModelBundle) -> None:
    """VER up to forecast, hydro with daily energy, imports, virtual supply (spec §5.5)."""
    m, d, T = b.m, b.d, b.T
    pmax_c = d.cells("pmax")
    ss_c = d.cells("self_schedule")
    res_c = d.cells("resources")
    hy_c = d.cells("hydro")
    Q = d.of_type("ver", "hydro", "import", "virtual_supply")
    idx = [(r, t) for r in Q for t in T]

    def bounds(_m, r, t):
        typ = res_c.at[r, "type"]
        hi = float(pmax_c.at[r, t])
        lo = 0.0
        if typ == "hydro":
            lo = min(float(res_c.at[r, "pmin_mw"]), hi)
        ss = ss_c.at[r, t]
        if ss == ss and ss > 0:  # not NaN
            lo = max(lo, min(float(ss), hi))
        if typ == "ver" and not res_c.at[r, "dispatchable"]:
            lo = hi
        return (lo, hi)
    m.Q = pyo.Set(initialize=idx, dimen=2, ordered=True)
    m.q = pyo.Var(m.Q, within=pyo.NonNegativeReals, bounds=bounds)

    def link(_m, r, t):
        if not d.supply_bid(r, t):
            return pyo.Constraint.Skip  # no bid this hour: price taker at $0 (documented)
        forced = forced_above_bid_mw(bounds(_m, r, t)[0], _bid_mw(d, r, t))
        return _m.q[r, t] == _seg_sum(_m, d, r, t) + forced
    m.q_seg_link = pyo.Constraint(m.Q, rule=link)
    H = d.of_type("hydro")
    if H:
        m.HY = pyo.Set(initialize=H, ordered=True)
        m.hydro_energy = pyo.Constraint(
            m.HY, rule=lambda _m, r: sum(_m.q[r, t] for t in T) <= float(hy_c.at[r, "daily_energy_mwh"]))
        # hourly ramps (spec §5.5 "thermal-like limits"; no initial output is given for hydro,
        # so hour 1 is free): p_t − p_t−1 ≤ 60 RR^up, p_t−1 − p_t ≤ 60 RR^dn
        ramp_idx = [(r, t) for r in H for t in T[1:]]
        m.HY_RT = pyo.Set(initialize=ramp_idx, dimen=2, ordered=True)

        def hydro_ramp(_m, r, t, rise: bool):
            rr = d.ramp_up(r) if rise else d.ramp_down(r)
            if not _finite(rr) or 60 * rr >= float(pmax_c.at[r, t]) and \
                    60 * rr >= float(pmax_c.at[r, t - 1]):
                return pyo.Constraint.Skip  # cannot bind: the output stays within [0, Pmax]
            step = _m.q[r, t] - _m.q[r, t - 1]
            return (step if rise else -step) <= 60 * rr
        m.hydro_ramp_up = pyo.Constraint(m.HY_RT, rule=lambda _m, r, t: hydro_ramp(_m, r, t, True))
        m.hydro_ramp_down = pyo.Constraint(m.HY_RT,
                                           rule=lambda _m, r, t: hydro_ramp(_m, r, t, False))


def _add_storage(b: ModelBundle) -> None:
    """Storage charge/discharge and state of charge (spec §5.10); the IR envelopes and the AS
    sustain rows are added with the capacity stacks."""
    m, d, T = b.m, b.d, b.T
    pmax_c = d.cells("pmax")
    st_c = d.cells("storage")
    S = d.of_type("storage")
    idx = [(r, t) for r in S for t in T]
    m.S = pyo.Set(initialize=S, ordered=True)
    m.ST_ = pyo.Set(initialize=idx, dimen=2, ordered=True)
    m.dis = pyo.Var(m.ST_, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, t: (0, float(pmax_c.at[r, t])))
    m.ch = pyo.Var(m.ST_, within=pyo.NonNegativeReals,
                   bounds=lambda _m, r, t: (0, float(st_c.at[r, "charge_max_mw"])))
    m.soc = pyo.Var(m.ST_, bounds=lambda _m, r, t: (float(st_c.at[r, "soc_min_mwh"]),
                                                     float(st_c.at[r, "soc_max_mwh"])))

    def soc_rule(_m, r, t):
        prev = _m.soc[r, t - 1] if t > 1 else float(st_c.at[r, "soc_initial_mwh"])
        return _m.soc[r, t] == prev + float(st_c.at[r, "charge_efficiency"]) * _m.ch[r, t] \
            - _m.dis[r, t] / float(st_c.at[r, "discharge_efficiency"])
    m.storage_soc = pyo.Constraint(m.ST_, rule=soc_rule)

    def end_rule(_m, r):
        e = st_c.at[r, "soc_end_min_mwh"]
        if not _finite(e):
            return pyo.Constraint.Skip
        return _m.soc[r, T[-1]] >= float(e)
    m.storage_end = pyo.Constraint(m.S, rule=end_rule)
    m.dis_seg_link = pyo.Constraint(
        m.ST_, rule=lambda _m, r, t: (_m.dis[r, t] == _seg_sum(_m, d, r, t))
        if d.supply_bid(r, t) else pyo.Constraint.Skip)
    m.ch_seg_link = pyo.Constraint(
        m.ST_, rule=lambda _m, r, t: (_m.ch[r, t] == _seg_sum(_m, d, r, t, "demand"))
        if d.demand_bid(r, t) else pyo.Constraint.Skip)
    if d.params.storage_mode_binary and S:
        m.z = pyo.Var(m.ST_, within=pyo.Binary)
        b.binaries.append(m.z)
        m.storage_mode_dis = pyo.Constraint(
            m.ST_, rule=lambda _m, r, t: _m.dis[r, t] <= float(pmax_c.at[r, t]) * _m.z[r, t])
        m.storage_mode_ch = pyo.Constraint(
            m.ST_, rule=lambda _m, r, t: _m.ch[r, t] <= float(st_c.at[r, "charge_max_mw"]) * (1 - _m.z[r, t]))


def _add_demand_side(b: ModelBundle) -> None:
    """Exports, price-sensitive demand, virtual demand: withdrawal wd ≤ bid MW (spec §5.5)."""
    m, d, T = b.m, b.d, b.T
    pmax_c = d.cells("pmax")
    ss_c = d.cells("self_schedule")
    W = d.of_type("export", "demand", "virtual_demand")
    idx = [(r, t) for r in W for t in T]

    def bounds(_m, r, t):
        hi = float(pmax_c.at[r, t])
        ss = ss_c.at[r, t]
        lo = min(float(ss), hi) if ss == ss and ss > 0 else 0.0
        return (lo, hi)
    m.W = pyo.Set(initialize=idx, dimen=2, ordered=True)
    m.wd = pyo.Var(m.W, within=pyo.NonNegativeReals, bounds=bounds)
    m.wd_seg_link = pyo.Constraint(
        m.W, rule=lambda _m, r, t: (_m.wd[r, t] == _seg_sum(_m, d, r, t, "demand"))
        if d.demand_bid(r, t) else pyo.Constraint.Skip)


# ---------------------------------------------------------------------------------------------
def add_capacity_stacks(b: ModelBundle) -> None:
    """Upward/downward capacity stacks with every registered award (spec §5.4, §5.5, §5.10),
    storage IR envelopes and AS sustain rows, and the AS 10-minute ramp limits (§5.6)."""
    m, d, T = b.m, b.d, b.T
    pmax_c = d.cells("pmax")
    res_c = d.cells("resources")
    st_c = d.cells("storage")
    th = d.thermal
    pmin = d.cells("resources").column("pmin_mw")
    up, dn = b.up_reserve, b.down_reserve
    su_limit, sd_limit = b.info["thermal_su_limit"], b.info["thermal_sd_limit"]
    H = T[-1]

    def thermal_up(_m, i, t):
        return _m.pa[i, t] + sum(up[(i, t)]) <= (float(pmax_c.at[i, t]) - pmin[i]) * _m.u[i, t]
    m.stack_up_thermal = pyo.Constraint(m.GT, rule=thermal_up)

    def thermal_su(_m, i, t):
        su = su_limit(i, t)
        if su >= pmax_c.at[i, t] - 1e-9:
            return pyo.Constraint.Skip
        return _m.pa[i, t] + sum(up[(i, t)]) <= (float(pmax_c.at[i, t]) - pmin[i]) * _m.u[i, t] \
            - (float(pmax_c.at[i, t]) - su) * _m.v[i, t]
    m.stack_up_startup = pyo.Constraint(m.GT, rule=thermal_su)

    def thermal_sd(_m, i, t):
        sd = sd_limit(i, t)
        if t == H or sd >= pmax_c.at[i, t] - 1e-9:
            return pyo.Constraint.Skip
        return _m.pa[i, t] + sum(up[(i, t)]) <= (float(pmax_c.at[i, t]) - pmin[i]) * _m.u[i, t] \
            - (float(pmax_c.at[i, t]) - sd) * _m.w[i, t + 1]
    m.stack_up_shutdown = pyo.Constraint(m.GT, rule=thermal_sd)
    m.stack_down_thermal = pyo.Constraint(
        m.GT, rule=lambda _m, i, t: (_m.pa[i, t] - sum(dn[(i, t)]) >= 0) if dn.get((i, t))
        else pyo.Constraint.Skip)

    def q_up(_m, r, t):
        if not up.get((r, t)):
            return pyo.Constraint.Skip
        return _m.q[r, t] + sum(up[(r, t)]) <= float(pmax_c.at[r, t])
    m.stack_up_q = pyo.Constraint(m.Q, rule=q_up)

    def q_dn(_m, r, t):
        if not dn.get((r, t)):
            return pyo.Constraint.Skip
        lo = float(pmin[r]) if res_c.at[r, "type"] == "hydro" else 0.0
        return _m.q[r, t] - sum(dn[(r, t)]) >= lo
    m.stack_down_q = pyo.Constraint(m.Q, rule=q_dn)

    def s_up(_m, r, t):
        if not up.get((r, t)):
            return pyo.Constraint.Skip
        return _m.dis[r, t] - _m.ch[r, t] + sum(up[(r, t)]) <= float(pmax_c.at[r, t])
    m.stack_up_storage = pyo.Constraint(m.ST_, rule=s_up)

    def s_dn(_m, r, t):
        if not dn.get((r, t)):
            return pyo.Constraint.Skip
        return _m.dis[r, t] - _m.ch[r, t] - sum(dn[(r, t)]) >= -float(st_c.at[r, "charge_max_mw"])
    m.stack_down_storage = pyo.Constraint(m.ST_, rule=s_dn)

    # AS sustain on storage (spec §5.10 [A])
    h = d.params.storage_as_sustain_hours

    def sustain_up(_m, r, t):
        if not b.as_up.get((r, t)) or h <= 0:
            return pyo.Constraint.Skip
        prev = _m.soc[r, t - 1] if t > 1 else float(st_c.at[r, "soc_initial_mwh"])
        return prev - h * sum(b.as_up[(r, t)]) / float(st_c.at[r, "discharge_efficiency"]) >= float(st_c.at[r, "soc_min_mwh"])
    m.storage_sustain_up = pyo.Constraint(m.ST_, rule=sustain_up)

    def sustain_dn(_m, r, t):
        if not b.as_down.get((r, t)) or h <= 0:
            return pyo.Constraint.Skip
        prev = _m.soc[r, t - 1] if t > 1 else float(st_c.at[r, "soc_initial_mwh"])
        return prev + h * float(st_c.at[r, "charge_efficiency"]) * sum(b.as_down[(r, t)]) <= float(st_c.at[r, "soc_max_mwh"])
    m.storage_sustain_down = pyo.Constraint(m.ST_, rule=sustain_dn)

    # AS ramp (10-minute products, spec §5.6)
    amin = d.params.as_ramp_minutes
    keys = sorted(set(b.as_up) | set(b.as_down), key=lambda k: (k[0], k[1]))

    def as_ramp_up(_m, r, t):
        rr = d.ramp_up(r)
        if not b.as_up.get((r, t)) or not _finite(rr) or not _finite(amin):
            return pyo.Constraint.Skip
        return sum(b.as_up[(r, t)]) <= amin * rr

    def as_ramp_dn(_m, r, t):
        rr = d.ramp_down(r)
        if not b.as_down.get((r, t)) or not _finite(rr) or not _finite(amin):
            return pyo.Constraint.Skip
        return sum(b.as_down[(r, t)]) <= amin * rr
    kset = pyo.Set(initialize=keys, dimen=2, ordered=True)
    m.AS_RT = kset
    m.as_ramp_up = pyo.Constraint(m.AS_RT, rule=as_ramp_up)
    m.as_ramp_down = pyo.Constraint(m.AS_RT, rule=as_ramp_dn)

    # AS in the hourly ramp-up (parameter as_in_hourly_ramp, off by default): a thermal unit's
    # online up-AS awards (RU, SR, NR; not the off-line non-spin of fast-start units) share its
    # hourly ramp-up with energy, p_t + RU_t + SR_t + NR_t - p_t-1 <= 60 RR^up u_t-1 + SU v_t
    # (pglib-uc's joint energy+reserve ramp). Skipped where 60 RR^up >= Pmax - Pmin: the
    # capacity stacks imply it there.
    if d.params.as_in_hourly_ramp and hasattr(m, "as_award"):
        p_prev = b.info["thermal_p_prev"]
        online: dict = defaultdict(list)
        for (r, a, t) in m.AS_IDX:
            if a in ("ru", "sr", "nr") and r in th.index and res_c.at[r, "type"] == "thermal":
                online[(r, t)].append(m.as_award[r, a, t])

        def as_hourly_ramp(_m, i, t):
            rr = d.ramp_up(i)
            if not online.get((i, t)) or not _finite(rr) \
                    or 60 * rr >= pmax_c.at[i, t] - pmin[i]:
                return pyo.Constraint.Skip
            pp, up_ = p_prev(_m, i, t)
            return _m.p[i, t] + sum(online[(i, t)]) - pp <= 60 * rr * up_ + su_limit(i, t) * _m.v[i, t]
        m.uc_ramp_up_as = pyo.Constraint(m.GT, rule=as_hourly_ramp)
        for k in m.uc_ramp_up_as:  # the energy-only ramp-up row is implied (awards >= 0)
            if k in m.uc_ramp_up:
                m.uc_ramp_up[k].deactivate()


# ---------------------------------------------------------------------------------------------
def extract(rb: Readback) -> None:
    """Read back the resource physics (clearing/market/readback.py): `schedules` resource, hour, baa,
    bus, committed, energy_mw (g, spec §3), type, sc, soc_mwh, charge_mw, discharge_mw; keeps
    g, u, soc and the capacity-stack totals up/dn for the RUC (spec §5.11)."""
    m, b, d = rb.m, rb.b, rb.d
    T, res = d.hours, d.resources
    g = {(r, t): value(m.g[r, t]) for r in res.index for t in T}
    u = {(i, t): round(value(m.u[i, t])) for (i, t) in m.GT}
    soc = {(r, t): value(m.soc[r, t]) for (r, t) in m.ST_}
    up = {(r, t): value(sum(b.up_reserve[(r, t)])) if b.up_reserve.get((r, t)) else 0.0
          for r in res.index for t in T}
    dn = {(r, t): value(sum(b.down_reserve[(r, t)])) if b.down_reserve.get((r, t)) else 0.0
          for r in res.index for t in T}
    rows = []
    for r in res.index:
        typ = res.at[r, "type"]
        for t in T:
            st = (r, t) in m.ST_
            rows.append(dict(
                resource=r, hour=t, baa=res.at[r, "baa"], bus=res.at[r, "bus"],
                committed=u.get((r, t), 1 if typ in ("ver", "hydro", "storage", "import") else 0),
                energy_mw=g[(r, t)], type=typ, sc=res.at[r, "sc"],
                soc_mwh=soc.get((r, t), np.nan),
                charge_mw=value(m.ch[r, t]) if st else 0.0,
                discharge_mw=value(m.dis[r, t]) if st else 0.0))
    rb.columns("schedules", pd.DataFrame(rows))
    for name, val in (("g", g), ("u", u), ("soc", soc), ("up", up), ("dn", dn)):
        rb.keep(name, val)
