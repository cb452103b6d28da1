"""Phase 3: the real-time follow-up run after the day-ahead market (spec §10, §2.7, §8).

`run_phase3(scenario, da, progress=None, rt_dir=None) -> RunResult` takes a finished day-ahead
run (`clearing.market.engine.run_day_ahead`) and returns it with the real-time tables added
(`rt_schedules`, `rt_prices`, `rt_product_prices`, `rt_baa_summary`, `rt_transfers`,
`settlement_inputs`, `metered_load`) and an ``rt`` block in the manifest. The RT run is a
simplified fifteen-minute market (FMM) re-dispatch of the trade date [A, spec §10]. It is the
day-ahead model family on a finer time grid (issue 18): `RT_COMPONENTS` builds the model and
reads it back as the day ahead's `IFM_COMPONENTS` do (RT's own resource ranges; the ETSR,
network and energy components with RT's options; flexible ramp; the IR settlement inputs), the
solve is `clearing.market.ifm.solve_and_price`, and what is RT's own is its inputs (below) and
its policy (which units it re-commits, who may hold FRP). The read-back's tables on the
intervals are published as the rt_ tables (`RT_TABLES`) with (hour, interval):

Intervals
    4 per hour (15 minutes), numbered (hour, interval 1..4); 96 for a 24-hour day. Internally
    one index k = 4·(hour − 1) + interval.

RT inputs (spec §2.7; clearing/market/rt_inputs.py)
    Total load of each BAA (fixed demand plus the price-sensitive demand resources) and the
    forecast of each VER, per interval. From the scenario's optional subfolder ``rt/`` (the
    scenario loader only reads top-level CSVs) with ``rt/ver_forecast.csv`` (resource, hour,
    interval, forecast_mw) and ``rt/demand_forecast.csv`` (baa, hour, interval, demand_mw); a
    BAA or VER the folder does not list keeps its baseline. Without an ``rt/`` folder a seeded
    deviation generator perturbs the baselines (`generate_rt_forecasts`). Baselines: the BAA demand
    forecast D^F of the hour (`baa_hours.demand_forecast_mw`, the load RUC covers) and the VER's
    DA forecast of the hour, held over the hour's four intervals. The FMM's fixed demand of a BAA
    is its RT load minus its price-sensitive demand resources (held at their DA schedule), spread
    over buses by the hour's DA fixed-demand shares (LDF where the BAA has none). The rt/ files are
    not part of `Scenario.input_hash()`; the manifest's ``rt.inputs.files`` lists their SHA-256.

DA awards become RT obligations [S PO plan, as spec §10; engine form A]
    Each resource may be dispatched, at its DA energy bid prices, within its RT range:
    - long-start thermal units (``thermal.long_start``), hydro, storage and 15-minute imports:
      [DAEN − IRD − RCD, DAEN + IRU + RCU] ∩ physical limits (an "economic RT bid up to the IR/RC
      awards"); the physical limits are [Pmin + RD, Pmax − RU − SR − NR] for thermal and hydro
      (the DA AS awards stay held in RT), [−Pch + RD, Pdis − RU − SR − NR] for storage. A resource
      without IR/RC awards therefore keeps its DA schedule (an RT self-schedule at the DA award),
      and a BAA whose DA run bought no IRD/RCD has no downward range but its VERs and short-start
      units (spec example 11.2 in RT: load below DA is over-supply at the −$150 penalty).
      Their commitment is the DA one (`schedules.ruc_committed`: IFM plus RUC commitments), fixed.
    - short-start thermal units (long_start false) bid their DA curve over the whole physical range
      and the RT run re-commits them: one commitment decision per unit and hour (binaries u, v, w
      per hour, min up/down times in hours, start-up and min-load costs as in DA; output per
      interval) [A: the real FMM may start a unit in any interval], except that a unit committed
      in DA stays on in every hour in which it holds a DA AS, IR or RC award (the award is an RT
      obligation).
    - VERs bid their RT forecast: [0, forecast] (dispatchable) or exactly the forecast (must-take);
      spec FMMMaxExCap = the forecast.
    - price-sensitive demand, exports and hourly (not 15-minute) imports: fixed at their DA
      schedule (RT self-schedule). Virtual bids are liquidated in RT (no RT schedule).
    A DA self-schedule stays a floor. A physical limit always wins over the DA range.

Physics
    Ramps within 15 minutes: |p_k − p_{k−1}| ≤ 15·RR, widened at an hour boundary to the DA
    schedule's own step (the DA hourly block schedule is always followable); start-up / shut-down
    intervals of re-committed units allow max(Pmin, that limit). Storage SOC in 15-minute steps
    (E_k = E_{k−1} + ¼(η_c ch − dis/η_d), bounds, end-of-day minimum). Hydro daily energy
    Σ_k ¼ q_k ≤ E^day.

Market
    The same BAAs and per-BAA power balance with its penalties (spec §5.1), ETSR transfers with
    the hourly limits and base transfers: the day-ahead ETSR component itself
    (`network.transfers.add_to_model` on the intervals, so the same ETSR, gross and
    undeclared-direction rows of §5.2) with RT's options: economic transfers as phase 2, no IR
    transfer (yU = yD = 0, so the IR credit rows of §5.7 do not arise) and no NEC in RT [A];
    transfer cycles are cancelled after the solve as in the DA run (`transfer_cycle_netting`,
    `network.transfers.net_model_cycles`), the same DC network (PTDF; base-case limits of the monitored branches,
    enforced lazily with network.transmission.FlowMonitor, seeded with the branches binding in the
    DA run) and flexible ramp up/down per BAA (products/flexible_ramp/component.py: requirement,
    demand curve capped at `penalty_fru_usd_per_mwh`). Objective in $/h per interval (the sum over
    intervals × ¼ h is the RT cost in $, reported as ``objective_usd``).

Solve and prices
    As the DA (spec §6): solve the MIP (only the short-start commitments are binary; the gap is
    `mip_rel_gap`; each MIP round is capped at min(`time_limit_s`, RT_MIP_TIME_LIMIT_S = 90 s),
    after which the incumbent is priced and the manifest records its gap [A: keeps the RT run
    near two minutes on the bundled day, where closing 0.1 % took 1.5-3.5 min on a shared
    2-core machine]), fix the binaries (through their bounds, `clearing.market.solver.fix_binaries`),
    re-solve the LP, read duals; one persistent HiGHS throughout. This is the day-ahead path
    itself (`clearing.market.ifm.solve_and_price`: `lazy_lp_rounds` LP-relaxation rounds pick the
    network rows, then the MIP rounds, then the pricing LP), seeded with the DA's binding
    branches in every interval of their hour. Prices: FMM LMP per
    bus and interval = the BAA balance dual plus congestion (energy = the reference BAA's price,
    congestion = LMP − energy, loss = 0); FMM FRU/FRD prices per BAA and interval.

Settlement inputs (spec §2.7, §8) per resource and hour, 15-minute values averaged to the hour
    daen_mw: DA energy in the resource's own direction (imports/exports positive MW in the
        intertie's direction, loads positive consumption, virtuals |cleared MW|);
    fmm_schedule_mw (FMMSS): the FMM schedule, own direction (virtuals 0: liquidated);
    fmm_max_ex_cap_mw: VER the RT forecast; others the hourly Pmax after derates (virtuals 0);
    fmm_uel_mw / fmm_lel_mw: the FMM economic limits = the RT energy range plus the capacity held
        for the DA AS awards (RU+SR+NR above, RD below); 0 for a unit off line in RT;
    metered_mw: expected energy = the FMM schedule for supply, imports and exports; for loads the
        RT demand forecast (the BAA's metered total, `baa_hours.metered_demand_mw` where given,
        else the hour's mean RT demand forecast, split over the BAA's loads — its fixed demand and
        its price-sensitive demand resources — in proportion to their DA schedules);
    uie_mw = metered − FMMSS for supply, FMMSS − metered for loads and exports (glossary sign:
        positive when a load consumes less / a supply delivers more than instructed);
    etag_mw: imports/exports the FMM schedule, NaN otherwise;
    iru5_mw / ird5_mw: the five-minute-ramp-capable part of the DA IRU / IRD award,
        min(award, 5·RR) [D, spec §8.1];
    fmm_fru_price_usd_per_mwh / fmm_frd_price_usd_per_mwh: the BAA's FMM FRU / FRD price;
    fru_uncertainty_mw: the resource's FMM FRU award.
`metered_load` (sc, baa, hour, metered_load_mw): each BAA's fixed demand metered as above under
the load SC ``LSE_<baa>``, and each price-sensitive demand resource under its own SC.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market import resources
from clearing.market.bundle import ModelBundle
from clearing.market.data import MarketData, prepare
from clearing.market.ifm import Component, SolvedModel, read_back, solve_and_price
from clearing.market.readback import Readback, value
from clearing.market.solver import RunBudget
from clearing.results import RunResult
from network.ptdf import PTDF, scenario_ptdf
from network import ties, transfers, transmission
from products import energy, ghg
from products.flexible_ramp import component as frp
from products.imbalance_reserves import component as imbalance_reserves
from products.imbalance_reserves.component import FIVE_MINUTE_RAMP
from clearing.market.rt_inputs import (INTERVAL_MINUTES, INTERVALS_PER_HOUR, RTInputs,
                                       generate_rt_forecasts, interval_k, load_rt_folder,
                                       rt_inputs, rt_seed)
from scenarios.scenario import Scenario

Progress = Callable[[str], None]

DT_H = INTERVAL_MINUTES / 60.0
RAMP_MINUTES = 15.0          # ramp within one FMM interval
RT_MIP_TIME_LIMIT_S = 90.0   # cap on each FMM MIP round (also capped by time_limit_s) [A]
LSE_PREFIX = "LSE_"
OWN_NEGATIVE = ("export", "demand")          # own direction = − net injection
VIRTUAL = ("virtual_supply", "virtual_demand")
SETTLEMENT_INPUT_COLUMNS = (
    "resource", "hour", "baa", "sc", "type", "daen_mw", "fmm_schedule_mw", "fmm_max_ex_cap_mw",
    "fmm_uel_mw", "fmm_lel_mw", "uie_mw", "metered_mw", "etag_mw", "iru5_mw", "ird5_mw",
    "fmm_fru_price_usd_per_mwh", "fmm_frd_price_usd_per_mwh", "fru_uncertainty_mw")

__all__ = ["run_phase3", "RTInputs", "rt_inputs", "load_rt_folder", "generate_rt_forecasts",
           "rt_seed", "INTERVALS_PER_HOUR", "SETTLEMENT_INPUT_COLUMNS"]


# =============================================================================================
# the RT model
# =============================================================================================
@dataclass
class RTPlan:
    """Per resource (rows, `d.resources` order) and interval (columns k = 1..K) numpy arrays."""

    R: list[str]
    pos: dict[str, int]
    K: int
    hour_of: np.ndarray          # k-1 -> hour
    cls: dict[str, str]          # resource -> fixed_thermal | fast_thermal | ver | range | fixed | virtual
    lo: np.ndarray               # RT energy range (net injection), when on
    hi: np.ndarray
    as_up: np.ndarray            # DA RU+SR+NR held in RT
    as_dn: np.ndarray            # DA RD held in RT
    u_fixed: np.ndarray          # commitment of fixed-commitment thermal units (1 elsewhere)
    forced: dict                 # (r, hour) -> 0/1 for short-start units
    ramp_up: np.ndarray          # allowed rise from k-1 to k (inf: none)
    ramp_dn: np.ndarray
    p0: dict                     # resource -> (output, on) before interval 1 (thermal)
    daen: np.ndarray             # DA net injection per hour (n x H)
    awards: dict                 # name -> n x H DA awards
    cap_h: np.ndarray            # n x H hourly Pmax after derates (VER: DA forecast)
    ver_rt: np.ndarray           # n x K RT VER forecast (NaN for non-VER)
    fixed_demand: pd.DataFrame   # bus x k FMM fixed demand
    demand_total: pd.DataFrame   # BAA x k total RT demand forecast
    ps_demand: pd.DataFrame      # BAA x k DA schedule of price-sensitive demand resources


DA_AWARD_COLUMNS = ("energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw", "nonspin_mw", "iru_mw",
                    "ird_mw", "rcu_mw", "rcd_mw")


def _pivot(sch: pd.DataFrame, col: str, R: list[str], hours: list[int]) -> np.ndarray:
    if col not in sch.columns:
        return np.zeros((len(R), len(hours)))
    p = sch.pivot_table(index="resource", columns="hour", values=col, aggfunc="first")
    return p.reindex(index=R, columns=hours).fillna(0.0).to_numpy(float)


def _on_intervals(a: np.ndarray) -> np.ndarray:
    """n x H per hour -> n x K, each hour's value held over its intervals."""
    return np.repeat(a, INTERVALS_PER_HOUR, axis=1)


def _plan(scenario: Scenario, d: MarketData, da: RunResult, inp: RTInputs) -> RTPlan:
    """The RT run's inputs per resource and interval (module docstring "DA awards become RT
    obligations"): the DA awards, each resource's RT range and role, the forced commitment states
    of the short-start units, the 15-minute ramp limits and the FMM's fixed demand."""
    res = d.resources
    R = list(res.index)
    pos = {r: i for i, r in enumerate(R)}
    hours = d.hours
    K = INTERVALS_PER_HOUR * len(hours)
    aw, ucom = _da_awards(da, R, hours)
    cap_h = d.pmax.reindex(index=R, columns=hours).to_numpy(float)
    ver_rt = np.full((len(R), K), np.nan)
    for r in inp.ver.index:
        if r in pos:
            ver_rt[pos[r]] = inp.ver.loc[r].to_numpy(float)
    ss = _on_intervals(d.self_schedule.reindex(index=R, columns=hours).to_numpy(float))
    as_up = _on_intervals(aw["reg_up_mw"] + aw["spin_mw"] + aw["nonspin_mw"])
    as_dn = _on_intervals(aw["reg_down_mw"])
    cls, lo, hi, u_fixed = _ranges(d, aw, ucom, cap_h, ver_rt, ss, as_up, as_dn)
    forced, p0 = _forced_states(d, cls, aw, ucom, cap_h, ss)
    ramp_up, ramp_dn = _ramp_limits(d, p0, aw["energy_mw"])
    demand_total, ps, fixed_bus = _fmm_demand(d, inp, _on_intervals(aw["energy_mw"]))
    return RTPlan(R=R, pos=pos, K=K, hour_of=np.repeat(np.array(hours), INTERVALS_PER_HOUR),
                  cls=cls, lo=lo, hi=hi, as_up=as_up, as_dn=as_dn, u_fixed=u_fixed,
                  forced=forced, ramp_up=ramp_up, ramp_dn=ramp_dn, p0=p0, daen=aw["energy_mw"],
                  awards=aw, cap_h=cap_h, ver_rt=ver_rt, fixed_demand=fixed_bus,
                  demand_total=demand_total, ps_demand=ps)


def _da_awards(da: RunResult, R: list[str], hours: list[int]) -> tuple[dict, np.ndarray]:
    """The DA awards (`DA_AWARD_COLUMNS`, n x H) and the DA commitment (IFM plus RUC:
    `ruc_committed` where the run has it) from the day-ahead `schedules`."""
    sch = da.tables["schedules"].copy()
    sch["resource"] = sch["resource"].map(str)
    aw = {c: _pivot(sch, c, R, hours) for c in DA_AWARD_COLUMNS}
    ucol = "ruc_committed" if "ruc_committed" in sch.columns else "committed"
    return aw, _pivot(sch, ucol, R, hours)


def _ranges(d: MarketData, aw: dict, ucom: np.ndarray, cap_h: np.ndarray, ver_rt: np.ndarray,
            ss: np.ndarray, as_up: np.ndarray, as_dn: np.ndarray
            ) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Each resource's RT role (`RTPlan.cls`) and energy range [lo, hi] per interval (module
    docstring: DA awards become RT obligations; a physical limit always wins, a DA
    self-schedule stays a floor), and the fixed commitment of the long-start units."""
    res, th, st = d.resources, d.thermal, d.storage
    R = list(res.index)
    K = cap_h.shape[1] * INTERVALS_PER_HOUR
    DA = _on_intervals(aw["energy_mw"])
    rlo = DA - _on_intervals(aw["ird_mw"] + aw["rcd_mw"])
    rhi = DA + _on_intervals(aw["iru_mw"] + aw["rcu_mw"])
    pmaxK = _on_intervals(cap_h)
    pmin = res["pmin_mw"].to_numpy(float)[:, None] * np.ones((1, K))
    typ = res["type"].to_numpy(object)
    lo = np.zeros((len(R), K))
    hi = np.zeros((len(R), K))
    u_fixed = np.ones((len(R), K))
    cls = {}
    for i, r in enumerate(R):
        t = typ[i]
        if t == "thermal":
            long_start = bool(th.at[r, "long_start"]) if "long_start" in th.columns else True
            lp, hp = pmin[i] + as_dn[i], pmaxK[i] - as_up[i]
            if long_start:
                cls[r] = "fixed_thermal"
                u_fixed[i] = _on_intervals(ucom[i:i + 1])[0].round()
                lo[i], hi[i] = _range(lp, hp, rlo[i], rhi[i])
            else:
                cls[r] = "fast_thermal"
                lo[i], hi[i] = lp, np.maximum(hp, lp)
        elif t == "ver":
            cls[r] = "ver"
            f = ver_rt[i]
            hi[i] = np.maximum(0.0, f - as_up[i])
            lo[i] = np.minimum(as_dn[i], hi[i]) if bool(res.at[r, "dispatchable"]) else hi[i]
        elif t == "hydro":
            cls[r] = "range"
            lo[i], hi[i] = _range(np.minimum(pmin[i], pmaxK[i]) + as_dn[i], pmaxK[i] - as_up[i],
                                  rlo[i], rhi[i])
        elif t == "storage":
            cls[r] = "range"
            pch = float(st.at[r, "charge_max_mw"])
            lo[i], hi[i] = _range(-pch + as_dn[i], pmaxK[i] - as_up[i], rlo[i], rhi[i])
        elif t == "import" and bool(res.at[r, "fifteen_minute"]):
            cls[r] = "range"
            lo[i], hi[i] = _range(as_dn[i], pmaxK[i] - as_up[i], rlo[i], rhi[i])
        elif t in VIRTUAL:
            cls[r] = "virtual"
        else:  # hourly import, export, price-sensitive demand: RT self-schedule at the DA award
            cls[r] = "fixed"
            lo[i], hi[i] = DA[i], DA[i]
        if cls[r] in ("fixed_thermal", "fast_thermal", "range"):
            s = ss[i]
            has = np.isfinite(s) & (s > 0)
            lo[i] = np.where(has, np.maximum(lo[i], np.minimum(s, hi[i])), lo[i])
        if cls[r] == "fixed_thermal":
            lo[i] *= u_fixed[i]
            hi[i] *= u_fixed[i]
    return cls, lo, hi, u_fixed


def _range(lo_phys, hi_phys, lo_da, hi_da):
    """[lo_da, hi_da] ∩ [lo_phys, hi_phys]; physical limits win where they conflict."""
    lo = np.maximum(lo_phys, lo_da)
    hi = np.minimum(hi_phys, hi_da)
    lo = np.minimum(lo, hi_phys)
    hi = np.maximum(hi, lo)
    return lo, hi


def _forced_states(d: MarketData, cls: dict, aw: dict, ucom: np.ndarray, cap_h: np.ndarray,
                   ss: np.ndarray) -> tuple[dict, dict]:
    """The forced commitment of the short-start units per hour (spec §5.4 carried over to RT
    by `resources.forced_commitment`; a unit committed in DA stays on in an hour with a DA AS,
    IR or RC award) and every thermal unit's (output, on) before interval 1."""
    res, th = d.resources, d.thermal
    typ = res["type"].to_numpy(object)
    pmin = res["pmin_mw"].to_numpy(float)
    awards_any = sum(aw[c] for c in DA_AWARD_COLUMNS if c != "energy_mw")
    forced, p0 = {}, {}
    for i, r in enumerate(res.index):
        if typ[i] != "thermal":
            continue
        on0 = bool(th.at[r, "initial_on"])
        p0[r] = (float(th.at[r, "initial_mw"]) if on0 else 0.0, 1 if on0 else 0)
        if cls[r] != "fast_thermal":
            continue
        for h in d.hours:
            f = resources.forced_commitment(
                th, r, h,
                bool(th.at[r, "must_run"]) or np.nan_to_num(ss[i, INTERVALS_PER_HOUR * (h - 1)]) > 0,
                cap_h[i, h - 1] < pmin[i] - 1e-9,
                kept_on=bool(ucom[i, h - 1] > 0.5 and awards_any[i, h - 1] > 1e-6))
            if f is not None:
                forced[(r, h)] = f
    return forced, p0


def _ramp_limits(d: MarketData, p0: dict, daen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rise and fall allowed from interval k−1 to k: RAMP_MINUTES·RR, widened at an hour's
    first interval to the DA schedule's own step (the DA hourly blocks stay followable)."""
    res = d.resources
    H = len(d.hours)
    K = INTERVALS_PER_HOUR * H
    ramp_up = np.repeat(res["ramp_up_mw_per_min"].to_numpy(float)[:, None] * RAMP_MINUTES, K, axis=1)
    ramp_dn = np.repeat(res["ramp_down_mw_per_min"].to_numpy(float)[:, None] * RAMP_MINUTES, K,
                        axis=1)
    # output before the day (DA initial condition); hydro etc.: the hour-1 schedule
    prev = np.array([p0[r][0] if r in p0 else daen[i, 0] for i, r in enumerate(res.index)],
                    dtype=float)
    for h in range(1, H + 1):
        k = INTERVALS_PER_HOUR * (h - 1)  # column of the hour's first interval
        before = prev if h == 1 else daen[:, h - 2]
        step = daen[:, h - 1] - before
        ramp_up[:, k] = np.maximum(ramp_up[:, k], step)
        ramp_dn[:, k] = np.maximum(ramp_dn[:, k], -step)
    return ramp_up, ramp_dn


def _fmm_demand(d: MarketData, inp: RTInputs, DA: np.ndarray
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(RT load BAA x k, DA price-sensitive demand BAA x k, FMM fixed demand bus x k): the BAA's RT
    load minus its price-sensitive demand resources (held at their DA schedule), spread over
    buses by the hour's DA fixed-demand shares (LDF where the BAA has no fixed demand then)."""
    res = d.resources
    K = DA.shape[1]
    demand_total = inp.demand.reindex(index=d.baas).fillna(0.0)
    ps = pd.DataFrame(0.0, index=d.baas, columns=range(1, K + 1))
    for i, r in enumerate(res.index):
        if res.at[r, "type"] == "demand":
            ps.loc[res.at[r, "baa"]] += -DA[i]
    fixed_baa = (demand_total - ps).clip(lower=0.0)
    fdb = d.fixed_demand_bus.reindex(columns=d.hours).fillna(0.0)
    bus_baa = pd.Series(d.bus_baa).reindex(fdb.index)
    tot = fdb.groupby(bus_baa).transform("sum")
    share = (fdb / tot.replace(0.0, np.nan))
    ldf = d.ldf.reindex(fdb.index).fillna(0.0)
    share = share.apply(lambda col: col.fillna(ldf))
    shareK = pd.DataFrame(_on_intervals(share.to_numpy(float)), index=fdb.index,
                          columns=range(1, K + 1))
    fixed_bus = shareK * fixed_baa.reindex(bus_baa.to_numpy()).to_numpy(float)
    return demand_total, ps, fixed_bus


def _rt_data(d: MarketData, plan: RTPlan) -> MarketData:
    """MarketData whose 'hours' are the FMM intervals (for FlowMonitor and the energy balance)."""
    K = plan.K
    ks = list(range(1, K + 1))
    rep = lambda df: pd.DataFrame(_on_intervals(df.to_numpy(float)),  # noqa: E731
                                  index=df.index, columns=ks)
    ih = d.interface_hours.reset_index()
    rows = []
    for _, r in ih.iterrows():
        for j in range(1, INTERVALS_PER_HOUR + 1):
            rows.append((r["interface"], interval_k(r["hour"], j), float(r["limit_mw"]),
                         float(r["base_transfer_mw"])))
    ih_rt = pd.DataFrame(rows, columns=["interface", "hour", "limit_mw", "base_transfer_mw"]
                         ).set_index(["interface", "hour"]).sort_index()
    pm = rep(d.pmax.reindex(columns=d.hours))
    for r in d.of_type("ver"):
        pm.loc[r] = plan.ver_rt[plan.pos[r]]
    return dataclasses.replace(
        d, hours=ks, pmax=pm, self_schedule=rep(d.self_schedule.reindex(columns=d.hours)),
        fixed_demand_bus=plan.fixed_demand.reindex(d.buses).fillna(0.0),
        interface_hours=ih_rt, rating=rep(d.rating.reindex(columns=d.hours)),
        extra=dict(d.extra))


# ---------------------------------------------------------------------------------------------
# the FMM model: RT_COMPONENTS (below) built in order on the intervals, closed by the RT
# capacity rows. RT's own pieces are its resource ranges and its policy (which units it
# re-commits, who may hold FRP); the ETSR, energy and flexible-ramp rows are the products'.
# ---------------------------------------------------------------------------------------------
def build_rt(d: MarketData, drt: MarketData, plan: RTPlan) -> ModelBundle:
    """The FMM model (module docstring) on `drt` (intervals as 'hours'; `d`, the hourly data,
    is the same market): each component of `RT_COMPONENTS` adds its variables, rows and costs,
    then the capacity rows close the build (energy ± FRP within the RT range) and the network
    hooks let the lazy rounds compute flows."""
    m = pyo.ConcreteModel(name="FMM")
    b = ModelBundle(m=m, d=drt, kind="rt")
    b.info["plan"] = plan
    m.T = pyo.Set(initialize=list(range(1, plan.K + 1)), ordered=True)
    for c in RT_COMPONENTS:
        if c.add is not None:
            c.add(b)
    _add_capacity_rows(b)
    b.info["inj_resources"] = [r for r in plan.R if plan.cls[r] != "virtual"]
    g = b.info["g"]
    b.info["inj_fn"] = lambda r, k: g[(r, k)]
    b.info["inj_const"] = -drt.fixed_demand_bus
    b.info["baa_fn"] = lambda a, k: m.s_pb_under[a, k] - m.s_pb_over[a, k]
    m.obj = pyo.Objective(expr=b.objective_expr(), sense=pyo.minimize)
    return b


class _Build:
    """What the RT resource rows share: the plan, its resource groups and the hour of each
    interval. P: output variable P (long-start thermal, VER, hydro, 15-minute imports); S:
    storage (dis − ch); F: short-start thermal (hourly u, v, w and pa above Pmin)."""

    def __init__(self, b: ModelBundle):
        self.b, self.m, self.d = b, b.m, b.d
        self.plan = plan = b.info["plan"]
        res = self.d.resources
        self.ks = list(range(1, plan.K + 1))
        self.hour_of = {k: int(plan.hour_of[k - 1]) for k in self.ks}
        self.first = {k: k == 1 or self.hour_of[k] != self.hour_of[k - 1] for k in self.ks}
        if "P_res" not in b.info:
            cls = plan.cls
            b.info["P_res"] = [r for r in plan.R if cls[r] in ("fixed_thermal", "ver", "range")
                               and res.at[r, "type"] != "storage"]
            b.info["S_res"] = [r for r in plan.R
                               if cls[r] == "range" and res.at[r, "type"] == "storage"]
            b.info["F_res"] = [r for r in plan.R if cls[r] == "fast_thermal"]
        self.P, self.S, self.F = b.info["P_res"], b.info["S_res"], b.info["F_res"]

    def U(self, r: str, k: int):
        """The commitment of short-start unit r in interval k (its hour's)."""
        return self.m.u[r, self.hour_of[k]]

    def lo(self, r: str, k: int) -> float:
        return float(self.plan.lo[self.plan.pos[r], k - 1])

    def hi(self, r: str, k: int) -> float:
        return float(self.plan.hi[self.plan.pos[r], k - 1])


def _add_resources(b: ModelBundle) -> None:
    """RT's resources (module docstring "DA awards become RT obligations", "Physics"): output
    within the RT ranges, bid segments and costs, the short-start commitment, storage and
    hydro energy, 15-minute ramps."""
    grid = _Build(b)
    _add_dispatch(grid)
    _add_bids(grid)
    _add_commitment(grid)
    _add_storage_and_hydro(grid)
    _add_ramps(grid)


def _add_dispatch(grid: _Build) -> None:
    """Output variables per resource and interval and the net injection g[r, k] (spec §3):
    P within [lo, hi]; storage dis, ch, soc; short-start u, v, w per hour (forced states
    fixed) and pa per interval [A]; fixed resources a constant, virtuals 0."""
    m, d, plan, ks = grid.m, grid.d, grid.plan, grid.ks
    cls, pos, lo, hi = plan.cls, plan.pos, plan.lo, plan.hi
    st = d.storage
    pmin = d.resources["pmin_mw"]
    m.P_IDX = pyo.Set(initialize=[(r, k) for r in grid.P for k in ks], dimen=2, ordered=True)
    m.P = pyo.Var(m.P_IDX, bounds=lambda _m, r, k: (float(lo[pos[r], k - 1]), float(hi[pos[r], k - 1])))
    m.S_IDX = pyo.Set(initialize=[(r, k) for r in grid.S for k in ks], dimen=2, ordered=True)
    m.dis = pyo.Var(m.S_IDX, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, k: (0.0, float(d.pmax.at[r, k])))
    m.ch = pyo.Var(m.S_IDX, within=pyo.NonNegativeReals,
                   bounds=lambda _m, r, k: (0.0, float(st.at[r, "charge_max_mw"])))
    m.soc = pyo.Var(m.S_IDX, bounds=lambda _m, r, k: (float(st.at[r, "soc_min_mwh"]),
                                                       float(st.at[r, "soc_max_mwh"])))
    hours = sorted(set(int(h) for h in plan.hour_of))
    m.F_IDX = pyo.Set(initialize=[(r, h) for r in grid.F for h in hours], dimen=2, ordered=True)
    m.u = pyo.Var(m.F_IDX, within=pyo.Binary)
    m.v = pyo.Var(m.F_IDX, within=pyo.Binary)
    m.w = pyo.Var(m.F_IDX, within=pyo.Binary)
    m.PA_IDX = pyo.Set(initialize=[(r, k) for r in grid.F for k in ks], dimen=2, ordered=True)
    m.pa = pyo.Var(m.PA_IDX, within=pyo.NonNegativeReals)
    grid.b.binaries += [m.u, m.v, m.w]
    for key, val in plan.forced.items():
        m.u[key].fix(val)
    S = set(grid.S)
    g: dict = {}
    for r in plan.R:
        c = cls[r]
        for k in ks:
            if c == "fast_thermal":
                g[(r, k)] = float(pmin[r]) * grid.U(r, k) + m.pa[r, k]
            elif r in S:
                g[(r, k)] = m.dis[r, k] - m.ch[r, k]
            elif c in ("fixed_thermal", "ver", "range"):
                g[(r, k)] = m.P[r, k]
            elif c == "fixed":
                g[(r, k)] = float(lo[pos[r], k - 1])
            else:
                g[(r, k)] = 0.0
    m.RK = pyo.Set(initialize=[(r, k) for r in plan.R for k in ks], dimen=2, ordered=True)
    m.g = pyo.Expression(m.RK, rule=lambda _m, r, k: g[(r, k)])
    grid.b.info["g"] = g


def _add_bids(grid: _Build) -> None:
    """Bid segments at the DA bid prices ($/h per interval) linked to the output above Pmin;
    storage charging on its demand bid; a short-start unit's segments only when on. The last
    supply segment widens to what a resource cannot avoid (a VER: its RT forecast; others: the
    floor of their range or, on before the day, its initial output less the interval ramp-downs,
    as a DA price taker, §5.5)."""
    m, d, plan, ks = grid.m, grid.d, grid.plan, grid.ks
    cls, pos, lo, hi = plan.cls, plan.pos, plan.lo, plan.hi
    pmin = d.resources["pmin_mw"]

    def bid_s(r, k):  # the DA bids of the interval's hour (hourly bids, issue 19)
        return d.supply_bid(r, grid.hour_of[k])

    def bid_d(r, k):
        return d.demand_bid(r, grid.hour_of[k])
    bidders = [r for r in plan.R if cls[r] in ("fixed_thermal", "fast_thermal", "ver", "range")]
    # a unit on before the day cannot fall faster than its interval ramp limits allow from its
    # initial output (as resources.thermal_floor_mw in DA): that output is unavoidable too
    ramp_floor = {r: p0 - np.cumsum(plan.ramp_dn[pos[r]]) for r, (p0, on0) in plan.p0.items()
                  if on0}
    sup = resources.segment_index(bidders, ks, bid_s)
    dem = resources.segment_index(grid.S, ks, bid_d)

    def seg_ub(r, s, k):
        segs = bid_s(r, k)
        w = segs[s - 1][0]
        if cls[r] == "fixed_thermal" and plan.u_fixed[pos[r], k - 1] < 0.5:
            return 0.0
        if cls[r] == "ver" and s == len(segs):  # a VER's RT bid covers its RT forecast
            w += max(0.0, float(hi[pos[r], k - 1]) - sum(x[0] for x in segs))
        elif s == len(segs):  # output it cannot avoid beyond its bid (DA: a price taker, §5.5)
            fall_floor = float(ramp_floor[r][k - 1]) if r in ramp_floor else 0.0
            floor = max(float(lo[pos[r], k - 1]), fall_floor) \
                - (float(pmin[r]) if cls[r] in ("fixed_thermal", "fast_thermal") else 0.0)
            w += max(0.0, floor - sum(x[0] for x in segs))
        return w
    m.SEG_S = pyo.Set(initialize=sup, dimen=3, ordered=True)
    m.SEG_D = pyo.Set(initialize=dem, dimen=3, ordered=True)
    m.seg_s = pyo.Var(m.SEG_S, within=pyo.NonNegativeReals,
                      bounds=lambda _m, r, s, k: (0.0, seg_ub(r, s, k)))
    m.seg_d = pyo.Var(m.SEG_D, within=pyo.NonNegativeReals,
                      bounds=lambda _m, r, s, k: (0.0, bid_d(r, k)[s - 1][0]))
    grid.b.costs.append(sum(bid_s(r, k)[s - 1][1] * m.seg_s[r, s, k] for (r, s, k) in sup))
    grid.b.costs.append(-sum(bid_d(r, k)[s - 1][1] * m.seg_d[r, s, k] for (r, s, k) in dem))
    nseg = {(r, k): len(bid_s(r, k)) for r in plan.R for k in ks}
    S = set(grid.S)

    def above_min(r, k):
        if cls[r] == "fast_thermal":
            return m.pa[r, k]
        if cls[r] == "fixed_thermal":
            return m.P[r, k] - float(pmin[r]) * float(plan.u_fixed[pos[r], k - 1])
        if r in S:
            return m.dis[r, k]
        return m.P[r, k]
    link_idx = [(r, k) for r in plan.R if cls[r] in
                ("fixed_thermal", "fast_thermal", "ver", "range") for k in ks if nseg[(r, k)]]
    m.seg_link = pyo.Constraint(pyo.Set(initialize=link_idx, dimen=2, ordered=True),
                                rule=lambda _m, r, k: above_min(r, k)
                                == sum(_m.seg_s[r, s, k] for s in range(1, nseg[(r, k)] + 1)))
    ch_idx = [(r, k) for r in grid.S for k in ks if bid_d(r, k)]
    m.ch_link = pyo.Constraint(pyo.Set(initialize=ch_idx, dimen=2, ordered=True),
                               rule=lambda _m, r, k: _m.ch[r, k] == sum(
                                   _m.seg_d[r, s, k] for s in range(1, len(bid_d(r, k)) + 1)))
    fast_seg = [(r, s, k) for (r, s, k) in sup if cls[r] == "fast_thermal"]
    m.seg_on = pyo.Constraint(pyo.Set(initialize=fast_seg, dimen=3, ordered=True),
                              rule=lambda _m, r, s, k: _m.seg_s[r, s, k]
                              <= seg_ub(r, s, k) * grid.U(r, k))   # widened last segment too


def _add_commitment(grid: _Build) -> None:
    """Commitment costs (min-load in $/h, a start-up in $ = ×4 in $/h of one interval) of the
    short-start units' hourly u, v and, as a constant, of the long-start units' fixed DA
    commitment; the shared 3-binary rows with hourly minimum up/down times (spec §5.4)."""
    m, d, plan = grid.m, grid.d, grid.plan
    res, th = d.resources, d.thermal
    su_cost = lambda r: resources.startup_cost_usd(d, r)  # noqa: E731
    mlc = {r: float(th.at[r, "min_load_cost_usd_per_h"]) for r in plan.R
           if res.at[r, "type"] == "thermal"}
    grid.b.costs.append(sum(INTERVALS_PER_HOUR * mlc[r] * m.u[r, h] for (r, h) in m.F_IDX)
                        + sum(su_cost(r) / DT_H * m.v[r, h] for (r, h) in m.F_IDX))
    const = 0.0
    for r in plan.R:
        if plan.cls[r] != "fixed_thermal":
            continue
        u = plan.u_fixed[plan.pos[r]]
        const += mlc[r] * float(u.sum())
        prev = plan.p0[r][1]
        starts = int(((u > 0.5) & (np.concatenate([[prev], u[:-1]]) < 0.5)).sum())
        const += su_cost(r) / DT_H * starts
    grid.b.info["fixed_commitment_cost_rate"] = const
    grid.b.costs.append(const)
    grid.b.commitments.append(
        resources.add_commitment_logic(m, m.F_IDX, th, m.u, m.v, m.w, "uc", period_h=1.0))


def _add_storage_and_hydro(grid: _Build) -> None:
    """Storage SOC in 15-minute steps, E_k = E_{k−1} + ¼(η_c ch − dis/η_d), with its end-of-day
    minimum; hydro daily energy Σ_k ¼ P_k ≤ E^day."""
    m, d, plan, ks = grid.m, grid.d, grid.plan, grid.ks
    st = d.storage

    def soc_rule(_m, r, k):
        prev = _m.soc[r, k - 1] if k > 1 else float(st.at[r, "soc_initial_mwh"])
        return _m.soc[r, k] == prev + DT_H * (float(st.at[r, "charge_efficiency"]) * _m.ch[r, k]
                                              - _m.dis[r, k] / float(st.at[r, "discharge_efficiency"]))
    m.storage_soc = pyo.Constraint(m.S_IDX, rule=soc_rule)
    end = [r for r in grid.S if math.isfinite(float(st.at[r, "soc_end_min_mwh"]))]
    m.storage_end = pyo.Constraint(pyo.Set(initialize=end, ordered=True),
                                   rule=lambda _m, r: _m.soc[r, plan.K]
                                   >= float(st.at[r, "soc_end_min_mwh"]))
    hyd = [r for r in grid.P if d.resources.at[r, "type"] == "hydro"]
    m.hydro_energy = pyo.Constraint(pyo.Set(initialize=hyd, ordered=True),
                                    rule=lambda _m, r: DT_H * sum(_m.P[r, k] for k in ks)
                                    <= float(d.hydro.at[r, "daily_energy_mwh"]))


def _add_ramps(grid: _Build) -> None:
    """Ramp rows of thermal and hydro output between intervals (plan.ramp_up / ramp_dn); a
    short-start unit may rise to max(Pmin, the limit) in its start interval and fall likewise in
    its stop interval; a long-start unit's row is left out at its starts and stops and where it
    cannot bind."""
    m, d, plan, ks = grid.m, grid.d, grid.plan, grid.ks
    res = d.resources
    cls, pos, lo, hi = plan.cls, plan.pos, plan.lo, plan.hi
    g, U, hour_of, first = grid.b.info["g"], grid.U, grid.hour_of, grid.first
    pmin = res["pmin_mw"]
    ramp_rows = []
    for r in grid.P + grid.F:
        if res.at[r, "type"] not in ("thermal", "hydro"):
            continue
        i = pos[r]
        span = float(np.max(hi[i]) - np.min(lo[i])) if cls[r] != "fast_thermal" else float(np.max(hi[i]))
        for k in ks:
            if k == 1 and r not in plan.p0:
                continue
            if plan.ramp_up[i, k - 1] < span or plan.ramp_dn[i, k - 1] < span:
                ramp_rows.append((r, k))
    m.RAMP = pyo.Set(initialize=ramp_rows, dimen=2, ordered=True)

    def prev_out(r, k):
        """(output, commitment) in the interval before k."""
        if k > 1:
            return g[(r, k - 1)], (U(r, k - 1) if cls[r] == "fast_thermal"
                                   else float(plan.u_fixed[pos[r], k - 2]))
        return plan.p0[r][0], float(plan.p0[r][1])

    def fixed_skip(r, k, rise: bool) -> bool:
        """Skip the row of a fixed-commitment unit at a start or stop, or when it cannot bind."""
        i = pos[r]
        u_prev = float(plan.u_fixed[i, k - 2]) if k > 1 else float(plan.p0[r][1])
        if u_prev < 0.5 or plan.u_fixed[i, k - 1] < 0.5:
            return True
        before_hi = float(hi[i, k - 2]) if k > 1 else float(plan.p0[r][0])
        before_lo = float(lo[i, k - 2]) if k > 1 else float(plan.p0[r][0])
        if rise:
            return float(plan.ramp_up[i, k - 1]) >= float(hi[i, k - 1]) - before_lo
        return float(plan.ramp_dn[i, k - 1]) >= before_hi - float(lo[i, k - 1])

    def ramp_up_rule(_m, r, k):
        R_ = float(plan.ramp_up[pos[r], k - 1])
        if not math.isfinite(R_):  # this direction unlimited (the other one put (r, k) in RAMP)
            return pyo.Constraint.Skip
        pp, up = prev_out(r, k)
        if cls[r] == "fast_thermal":
            su = max(float(pmin[r]), R_)
            if not first[k]:  # inside an hour the commitment does not change
                return g[(r, k)] - pp <= R_ * U(r, k)
            return g[(r, k)] - pp <= R_ * up + su * _m.v[r, hour_of[k]]
        if fixed_skip(r, k, True):
            return pyo.Constraint.Skip
        return g[(r, k)] - pp <= R_

    def ramp_dn_rule(_m, r, k):
        R_ = float(plan.ramp_dn[pos[r], k - 1])
        if not math.isfinite(R_):  # issue 22: an inf coefficient makes highspy reject the rows
            return pyo.Constraint.Skip
        pp, up = prev_out(r, k)
        if cls[r] == "fast_thermal":
            sd = max(float(pmin[r]), R_)
            if not first[k]:
                return pp - g[(r, k)] <= R_ * U(r, k)
            return pp - g[(r, k)] <= R_ * U(r, k) + sd * _m.w[r, hour_of[k]]
        if fixed_skip(r, k, False):
            return pyo.Constraint.Skip
        return pp - g[(r, k)] <= R_
    m.ramp_up = pyo.Constraint(m.RAMP, rule=ramp_up_rule)
    m.ramp_down = pyo.Constraint(m.RAMP, rule=ramp_dn_rule)


def _add_transfers(b: ModelBundle) -> None:
    """The day-ahead ETSR component (network/transfers.py, spec §5.2) on the intervals with RT's
    options: economic transfers only (no IR transfers: yU = yD = 0), no NEC [A]."""
    transfers.add_to_model(b, with_ir=False, with_nec=False)


def _add_ties(b: ModelBundle) -> None:
    """Import/export tie limits (network/ties.py, spec §5.5) on the 15-minute schedules, each
    interval held to its hour's limit."""
    grid = _Build(b)
    g = b.info["g"]
    ties.add_to_model(b, inj=lambda r, k: g[(r, k)], hour_of=lambda k: grid.hour_of[k])


def _add_flexible_ramp(b: ModelBundle) -> None:
    """FRU/FRD (products/flexible_ramp/component.py) with RT's policy on who may hold it: every
    resource the FMM can move (a non-degenerate RT range; a short-start unit unless forced off,
    limited by its u where the commitment is a decision); 15-minute ramp caps, none for VERs
    and storage; the requirement from the hour's DA IR requirement."""
    grid = _Build(b)
    d, plan, ks, hour_of = grid.d, grid.plan, grid.ks, grid.hour_of
    res = d.resources
    ir_req = {}
    for (a, h), row in d.baa_hours.iterrows():
        ir_req[(a, "iru", int(h))] = float(row["iru_requirement_mw"])
        ir_req[(a, "ird", int(h))] = float(row["ird_requirement_mw"])
    reqs = frp.frp_requirements(ir_req, ks, hour_of, d.baas)
    elig, on = {}, {}
    rr_u = res["ramp_up_mw_per_min"]
    rr_d = res["ramp_down_mw_per_min"]
    for r in grid.P + grid.S + grid.F:
        t = res.at[r, "type"]
        if t == "ver" and not bool(res.at[r, "dispatchable"]):
            continue
        i = plan.pos[r]
        cu = frp.FRP_RAMP_MINUTES * float(rr_u[r]) if t not in ("ver", "storage") else math.inf
        cd = frp.FRP_RAMP_MINUTES * float(rr_d[r]) if t not in ("ver", "storage") else math.inf
        for k in ks:
            if plan.cls[r] == "fast_thermal":
                if plan.forced.get((r, hour_of[k])) == 0:
                    continue
                elig[(r, k)] = (cu, cd)
                if (r, hour_of[k]) not in plan.forced:
                    on[(r, k)] = grid.U(r, k)
            elif plan.hi[i, k - 1] - plan.lo[i, k - 1] > 1e-6:
                elig[(r, k)] = (cu, cd)
    frp.add_to_model(b, reqs, elig, on)


def _add_capacity_rows(b: ModelBundle) -> None:
    """The RT capacity rows that close the build: energy + every upward award (FRU) within the
    RT range's top, energy − every downward award (FRD) above its floor; × u for a short-start
    unit; a resource without awards keeps its variable bounds as its rows."""
    grid = _Build(b)
    m, g, U = grid.m, b.info["g"], grid.U
    cls, S = grid.plan.cls, set(grid.S)
    up, dn = b.up_reserve, b.down_reserve

    def cap_up(_m, r, k):
        extra = sum(up[(r, k)]) if up.get((r, k)) else 0.0
        if cls[r] == "fast_thermal":
            return g[(r, k)] + extra <= grid.hi(r, k) * U(r, k)
        if r not in S and not up.get((r, k)):
            return pyo.Constraint.Skip  # the variable bound is the row
        return g[(r, k)] + extra <= grid.hi(r, k)

    def cap_dn(_m, r, k):
        extra = sum(dn[(r, k)]) if dn.get((r, k)) else 0.0
        if cls[r] == "fast_thermal":
            return g[(r, k)] - extra >= grid.lo(r, k) * U(r, k)
        if r not in S and not dn.get((r, k)):
            return pyo.Constraint.Skip
        return g[(r, k)] - extra >= grid.lo(r, k)
    cap_idx = [(r, k) for r in grid.P + grid.S + grid.F for k in grid.ks]
    m.CAP = pyo.Set(initialize=cap_idx, dimen=2, ordered=True)
    m.cap_up = pyo.Constraint(m.CAP, rule=cap_up)
    m.cap_down = pyo.Constraint(m.CAP, rule=cap_dn)


# =============================================================================================
# results: RT_COMPONENTS read back on the intervals (clearing/market/readback.py), published as
# the rt_ tables with (hour, interval); the settlement inputs are hourly
# =============================================================================================
def _read_resources(rb: Readback) -> None:
    """RT's own resource read-back: `schedules` on the intervals (commitment, energy, economic
    limits, max export capacity, RT role, storage) and the resources' part of the hourly
    `settlement_inputs` and `metered_load` (module docstring); keeps the energy per resource
    and interval (`energy_mw`, n x K) for the energy component."""
    plan = rb.given["plan"]
    E, U = _energy_and_commitment(rb, plan)
    UEL, LEL, MAXEX = _economic_limits(plan, U)
    rb.keep("energy_mw", E)
    _read_schedules(rb, plan, E, U, UEL, LEL, MAXEX)
    _read_metering(rb, plan, E, UEL, LEL, MAXEX)


def _energy_and_commitment(rb: Readback, plan: RTPlan) -> tuple[np.ndarray, np.ndarray]:
    """Net injection E and commitment U per resource and interval (n x K): the fixed DA
    commitment of long-start units, the hourly u of short-start units, 1 for VER, hydro,
    storage and imports, 0 for the rest."""
    m, res, g = rb.m, rb.d.resources, rb.b.info["g"]
    ks = list(rb.d.hours)
    E = (np.array([[value(g[(r, k)]) for k in ks] for r in plan.R]) if plan.R
         else np.zeros((0, plan.K)))
    U = np.ones((len(plan.R), plan.K))
    for i, r in enumerate(plan.R):
        c = plan.cls[r]
        if c == "fixed_thermal":
            U[i] = plan.u_fixed[i]
        elif c == "fast_thermal":
            U[i] = [round(value(m.u[r, int(plan.hour_of[k - 1])])) for k in ks]
        elif res.at[r, "type"] not in ("ver", "hydro", "storage", "import"):
            U[i] = 0.0
    return E, U


def _economic_limits(plan: RTPlan, U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(UEL, LEL, max export capacity) per resource and interval, as injections: the RT energy
    range plus the AS capacity held (0 off line); a fixed or virtual resource at its schedule;
    a VER's max export capacity is its RT forecast, the others' their Pmax (virtuals 0)."""
    R = plan.R
    online = np.where(np.array([plan.cls[r] in ("fixed_thermal", "fast_thermal") for r in R])[:, None],
                      U, 1.0)
    UEL = (plan.hi + plan.as_up) * online
    LEL = (plan.lo - plan.as_dn) * online
    fixed = np.array([plan.cls[r] in ("fixed", "virtual") for r in R])
    UEL[fixed] = plan.lo[fixed]
    LEL[fixed] = plan.lo[fixed]
    is_ver = np.array([plan.cls[r] == "ver" for r in R])
    MAXEX = np.where(is_ver[:, None], np.nan_to_num(plan.ver_rt), _on_intervals(plan.cap_h))
    virt = np.array([plan.cls[r] == "virtual" for r in R])
    MAXEX[virt] = 0.0
    return UEL, LEL, MAXEX


def _read_schedules(rb: Readback, plan: RTPlan, E, U, UEL, LEL, MAXEX) -> None:
    """`schedules` on the intervals (published as `rt_schedules`), resource-major."""
    m, res = rb.m, rb.d.resources
    n, K = len(plan.R), plan.K
    soc = np.full((n, K), np.nan)
    ch = np.zeros((n, K))
    dis = np.zeros((n, K))
    for (r, k) in m.S_IDX:
        i = plan.pos[r]
        soc[i, k - 1], ch[i, k - 1], dis[i, k - 1] = (value(m.soc[r, k]), value(m.ch[r, k]),
                                                      value(m.dis[r, k]))
    each = lambda v: np.repeat(np.asarray(v, dtype=object), K)  # noqa: E731
    rb.columns("schedules", pd.DataFrame({
        "resource": each(plan.R), "hour": np.tile(np.arange(1, K + 1, dtype=np.int64), n),
        "baa": each(res["baa"]), "bus": each(res["bus"]),
        "committed": U.astype(np.int64).ravel(), "energy_mw": E.ravel(),
        "uel_mw": UEL.ravel(), "lel_mw": LEL.ravel(), "max_ex_cap_mw": MAXEX.ravel(),
        "type": each(res["type"]), "sc": each(res["sc"]),
        "rt_role": each([plan.cls[r] for r in plan.R]),
        "soc_mwh": soc.ravel(), "charge_mw": ch.ravel(), "discharge_mw": dis.ravel()}))


def _read_metering(rb: Readback, plan: RTPlan, E, UEL, LEL, MAXEX) -> None:
    """The resources' part of `settlement_inputs` per resource and hour (daen, FMM schedule,
    max export capacity, economic limits, metered, UIE, e-tag; in the resource's own direction)
    and `metered_load` (module docstring "Settlement inputs")."""
    d = rb.given["hourly"]
    res = d.resources
    rf = d.scenario.resource_frame.set_index("resource")
    R, H = plan.R, len(d.hours)
    typ = res["type"].to_numpy(object)
    neg = np.isin(typ, OWN_NEGATIVE)
    sign = np.where(neg, -1.0, 1.0)[:, None]
    virt = np.isin(typ, VIRTUAL)
    daen = sign * plan.daen
    daen[virt] = np.abs(plan.daen[virt])
    fmm = sign * rb.hourly(E)
    fmm[virt] = 0.0
    uel_h, lel_h = rb.hourly(UEL), rb.hourly(LEL)
    fmm_uel = np.where(neg[:, None], -lel_h, uel_h)
    fmm_lel = np.where(neg[:, None], -uel_h, lel_h)
    fmm_uel[virt] = 0.0
    fmm_lel[virt] = 0.0
    maxex = np.where(neg[:, None], plan.cap_h, rb.hourly(MAXEX))
    metered, ml = _metered(rb, d, plan, daen, fmm)
    uie = np.where(neg[:, None], fmm - metered, metered - fmm)
    uie[np.abs(uie) < 1e-9] = 0.0
    etag = np.where(np.isin(typ, ("import", "export"))[:, None], fmm, np.nan)
    each = lambda v: np.repeat(np.asarray(v, dtype=object), H)  # noqa: E731
    rb.columns("settlement_inputs", pd.DataFrame({
        "resource": each(R), "hour": np.tile(np.array(d.hours, dtype=np.int64), len(R)),
        "baa": each([rf.at[r, "baa"] for r in R]), "sc": each([rf.at[r, "sc"] for r in R]),
        "type": each(typ), "daen_mw": daen.ravel(), "fmm_schedule_mw": fmm.ravel(),
        "fmm_max_ex_cap_mw": maxex.ravel(), "fmm_uel_mw": fmm_uel.ravel(),
        "fmm_lel_mw": fmm_lel.ravel(), "uie_mw": uie.ravel(), "metered_mw": metered.ravel(),
        "etag_mw": etag.ravel()}))
    rb.rows("metered_load", ml)


def _metered(rb: Readback, d: MarketData, plan: RTPlan, daen: np.ndarray, fmm: np.ndarray
             ) -> tuple[np.ndarray, pd.DataFrame]:
    """Metered MW per resource and hour (supply, imports, exports: the FMM schedule; loads: the
    BAA's metered total — `baa_hours.metered_demand_mw`, else the hour's mean RT load — split
    over its fixed demand and price-sensitive loads pro rata to their DA schedules) and the
    `metered_load` table (fixed demand under LSE_<baa>, each load under its SC)."""
    res = d.resources
    pos = plan.pos
    metered = fmm.copy()
    bh = d.scenario.tables["baa_hours"]
    md = {(str(a), int(h)): float(v) for a, h, v in zip(bh["baa"], bh["hour"], bh["metered_demand_mw"])
          if v == v}
    dem_total_h = rb.hourly(plan.demand_total.to_numpy(float))
    dfix = d.fixed_demand_baa.reindex(index=d.baas, columns=d.hours).fillna(0.0).to_numpy(float)
    ml_rows = []
    for ai, a in enumerate(d.baas):
        li = [pos[r] for r in d.in_baa(a) if res.at[r, "type"] == "demand"]
        for hi_, h in enumerate(d.hours):
            total = md.get((a, h), float(dem_total_h[ai, hi_]))
            sched = dfix[ai, hi_] + float(sum(daen[i, hi_] for i in li))
            ratio = total / sched if sched > 1e-9 else None
            lse = dfix[ai, hi_] * ratio if ratio is not None else total
            for i in li:
                metered[i, hi_] = daen[i, hi_] * ratio if ratio is not None else 0.0
                ml_rows.append((str(res.at[plan.R[i], "sc"]), a, h, max(0.0, metered[i, hi_])))
            ml_rows.append((f"{LSE_PREFIX}{a}", a, h, max(0.0, lse)))
    ml = pd.DataFrame(ml_rows, columns=["sc", "baa", "hour", "metered_load_mw"])
    ml = ml.groupby(["sc", "baa", "hour"], sort=True, as_index=False)["metered_load_mw"].sum()
    ml = ml[ml["metered_load_mw"] > 0.0].sort_values(["baa", "hour", "sc"], kind="stable")
    return metered, ml.reset_index(drop=True)


# RT's components (issue 18: one model family on a time grid): the day-ahead ones where they
# apply, with RT's options, and RT's own resource ranges. Build order = read-back order.
RT_COMPONENTS: tuple[Component, ...] = (
    Component("resources", _add_resources, _read_resources),
    Component("transfers", _add_transfers, transfers.extract),
    Component("network", None, transmission.extract),   # rows added lazily by the solve
    Component("ghg", ghg.add_rt, ghg.extract_rt),   # GHG attribution per interval (§5.13)
    Component("energy", energy.add_to_model, energy.extract_rt),
    Component("ties", _add_ties, ties.extract),   # import/export tie limits (spec §5.5)
    Component("flexible_ramp", _add_flexible_ramp, frp.extract),
    Component("imbalance_reserves", None, imbalance_reserves.extract_rt),  # IRU5/IRD5
)

RT_TRANSFER_COLUMNS = ["interface", "hour", "interval", "from_baa", "to_baa", "mw", "limit_mw",
                       "shadow_price", "net_mw", "base_transfer_mw"]
#: the published RT tables: (the table read back on the intervals, its columns)
RT_TABLES: dict[str, tuple[str, list[str]]] = {
    "rt_schedules": ("schedules", [
        "resource", "hour", "interval", "baa", "bus", "committed", "energy_mw", "fru_mw",
        "frd_mw", "uel_mw", "lel_mw", "max_ex_cap_mw", "type", "sc", "rt_role", "soc_mwh",
        "charge_mw", "discharge_mw"]),
    "rt_prices": ("nodal_prices", [
        "bus", "hour", "interval", "baa", "lmp", "energy", "congestion", "loss", "ghg",
        "baa_transfer", "network_congestion"]),
    "rt_product_prices": ("product_prices", [
        "baa", "product", "hour", "interval", "price_usd_per_mwh"]),
    "rt_transfers": ("transfers", RT_TRANSFER_COLUMNS),
    "rt_baa_summary": ("baa_summary", [
        "baa", "hour", "interval", "demand_mw", "fixed_demand_mw", "generation_mw",
        "load_resources_mw", "export_mw", "net_export_mw", "power_balance_relaxed_mw",
        "injection_mw", "fru_requirement_mw", "fru_cleared_mw", "fru_awarded_mw",
        "frd_requirement_mw", "frd_cleared_mw", "frd_awarded_mw", "energy_price", "fru_price",
        "frd_price"]),
    "rt_binding_constraints": ("binding_constraints", [
        "constraint", "hour", "interval", "kind", "shadow_price", "flow_mw", "limit_mw"]),
    # only with GHG areas (§5.13)
    "rt_ghg_attribution": ("ghg_attribution", [
        "resource", "area", "hour", "interval", "baa", "sc", "bid_mw", "adder_usd_per_mwh",
        "attributed_mw", "da_attributed_mw", "headroom_mw", "reference_mw",
        "ghg_price_usd_per_mwh", "ghg_payment_usd", "deviation_payment_usd", "emissions_t"]),
    "rt_ghg_prices": ("ghg_prices", [
        "area", "hour", "interval", "ghg_price_usd_per_mwh", "net_import_mw", "attributed_mw",
        "attributed_emissions_t", "ghg_payment_usd", "reference"]),
}


def _read_back(d: MarketData, drt: MarketData, plan: RTPlan, sm: SolvedModel, ptdf: PTDF
               ) -> dict[str, pd.DataFrame]:
    """The RT tables: `RT_COMPONENTS` read back on the intervals, published by `RT_TABLES` (the
    branch rows of the base case as kind branch_rt; product prices in BAA, hour, interval
    order), with the hourly `settlement_inputs` and `metered_load`."""
    read, _ = read_back(drt, sm, ptdf, RT_COMPONENTS,
                        given=dict(plan=plan, hourly=d, rt_demand_mw=plan.demand_total,
                                   da_awards=plan.awards),
                        intervals_per_hour=INTERVALS_PER_HOUR)
    rl = read["relaxations"]
    sm.bundle.info["branch_overloads"] = list(
        rl.loc[rl["requirement"].str.startswith("branch_base:"), "requirement"])
    bc = read["binding_constraints"]
    read["binding_constraints"] = pd.concat(
        [bc[bc["kind"] == "branch_base"].assign(kind="branch_rt"),
         bc[bc["kind"].isin(ties.KINDS)]], ignore_index=True)  # tie rows (spec §5.5)
    tables = {name: _by_interval(read[src])[cols] for name, (src, cols) in RT_TABLES.items()
              if src in read}   # the GHG tables only with GHG areas
    tables["rt_product_prices"] = tables["rt_product_prices"].sort_values(
        ["baa", "hour", "interval"], kind="stable").reset_index(drop=True)
    tables["settlement_inputs"] = read["settlement_inputs"][
        list(SETTLEMENT_INPUT_COLUMNS)].reset_index(drop=True)
    tables["metered_load"] = read["metered_load"]
    return tables


def _by_interval(df: pd.DataFrame) -> pd.DataFrame:
    """A table read back on the FMM's intervals k (in column `hour`) with `hour` and `interval`
    (k = 4·(hour − 1) + interval)."""
    k = df["hour"].astype(int)
    out = df.copy()
    out["hour"] = (k - 1) // INTERVALS_PER_HOUR + 1
    out.insert(list(out.columns).index("hour") + 1, "interval",
               (k - 1) % INTERVALS_PER_HOUR + 1)
    return out.reset_index(drop=True)


# =============================================================================================
# entry point
# =============================================================================================
def _ghg_from_da(drt: MarketData, da: RunResult) -> None:
    """RT's GHG inputs from the day ahead (§5.13 [A]): P^ref of the DA `ghg_reference` (RT
    runs no reference pass; a resource it does not list has P^ref 0) and the DA attribution
    e_DA per (resource, area, hour), whose deviations RT settles at its own μ."""
    gr = da.tables.get("ghg_reference")
    if gr is not None:
        drt.extra["ghg_reference_mw"] = {(str(r), int(h)): float(v) for r, h, v in zip(
            gr["resource"], gr["hour"], gr["reference_mw"])}
    ga = da.tables.get("ghg_attribution")
    if ga is not None:
        drt.extra["ghg_da_attribution"] = {(str(r), str(a), int(h)): float(v) for r, a, h, v in
                                           zip(ga["resource"], ga["area"], ga["hour"],
                                               ga["attributed_mw"])}


def _seed_rows(da: RunResult) -> list[tuple[str, str, int]]:
    """Base-case rows to add before the first FMM solve: every branch binding in a DA hour, in
    each interval of that hour (the lazy rounds add whatever else the FMM violates)."""
    bc = da.tables.get("binding_constraints")
    if bc is None or not len(bc):
        return []
    sel = bc[bc["kind"].astype(str) == "branch_base"]
    out = []
    for l, h in zip(sel["constraint"].map(str), sel["hour"].astype(int)):
        for j in range(1, INTERVALS_PER_HOUR + 1):
            out.append(("base", l, interval_k(h, j)))
    return out


def run_phase3(scenario: Scenario, da: RunResult, progress: Progress | None = None,
               rt_dir: str | Path | None = None, budget: RunBudget | None = None) -> RunResult:
    """The phase-3 real-time follow-up of the day-ahead run `da` (module docstring). Returns a
    new RunResult: the DA tables plus the RT tables, the manifest plus an ``rt`` block.
    `rt_dir`: an RT input folder (default: ``<scenario folder>/rt`` when it exists, else the
    seeded generator). `budget`: the run's wall-clock budget (run_time_limit_s, counted from
    the start of the day-ahead run); the RT stage's status joins the manifest's `completion`."""
    say = progress or (lambda s: None)
    t_all = time.perf_counter()
    tm: dict[str, float] = {}
    say("RT: prepare inputs")
    t0 = time.perf_counter()
    d = prepare(scenario)
    ptdf = scenario_ptdf(scenario)
    inp = rt_inputs(scenario, d, rt_dir)
    plan = _plan(scenario, d, da, inp)
    drt = _rt_data(d, plan)
    _ghg_from_da(drt, da)
    tm["prepare_s"] = time.perf_counter() - t0
    say(f"RT: build the FMM model ({plan.K} fifteen-minute intervals)")
    t0 = time.perf_counter()
    b = build_rt(d, drt, plan)
    tm["build_s"] = time.perf_counter() - t0
    say("RT: solve the FMM (MIP for short-start commitments, lazy network rows) and price (LP)")
    sm = solve_and_price(b, ptdf, ("base",), "FMM", seed_rows=_seed_rows(da), budget=budget,
                         mip_time_limit_s=RT_MIP_TIME_LIMIT_S)
    tm["solve_s"] = sm.timings["solve_s"]
    tm["pricing_s"] = sm.timings["pricing_s"]
    say("RT: results and settlement inputs")
    t0 = time.perf_counter()
    rt_tables = _read_back(d, drt, plan, sm, ptdf)
    tm["extract_s"] = time.perf_counter() - t0
    tm["total_s"] = time.perf_counter() - t_all
    tables = dict(da.tables)
    tables.update(rt_tables)
    manifest = dict(da.manifest)
    manifest["rt"] = _manifest_block(scenario, b, sm, plan, inp, tm, rt_tables)
    manifest["completion"], manifest["warnings"] = rt_completion(
        manifest.get("completion", {}), list(manifest.get("warnings", [])), sm,
        budget or RunBudget())
    return RunResult(tables=tables, manifest=manifest)


def rt_completion(completion: dict, warnings: list[str], sm: SolvedModel,
                  budget: RunBudget) -> tuple[dict, list[str]]:
    """The day-ahead `completion` block and `warnings` with the RT stage added (issue 22:
    honest completion): `rt_status`, `rt_gap`; the run's status becomes the RT stage's when the
    day ahead solved and RT did not (an FMM MIP round stopped at RT_MIP_TIME_LIMIT_S, at
    time_limit_s or by the run budget, with a feasible result)."""
    from clearing.market.engine import _stage_status
    status, warn = _stage_status(sm, budget)
    limit = sm.bundle.d.params.time_limit_s
    warn = [w.replace(f"its time limit (time_limit_s = {limit:g} s)",
                      f"its time limit (min(time_limit_s, RT_MIP_TIME_LIMIT_S) = "
                      f"{min(limit, RT_MIP_TIME_LIMIT_S):g} s)") for w in warn]
    out = dict(completion)
    out["rt_status"], out["rt_gap"] = status, sm.mip.gap
    if out.get("status", "solved") == "solved" and status != "solved":
        out["status"] = status
    out["budget_stopped"] = sorted(set(out.get("budget_stopped", [])) | set(budget.stopped))
    return out, warnings + warn


def _manifest_block(scenario, b, sm, plan, inp, tm, tables) -> dict:
    bs = tables["rt_baa_summary"]
    counts = b.info.get("counts", {})
    fast = b.info["F_res"]
    return {
        "run": "FMM re-dispatch of the trade date (spec §10 [A])",
        "intervals": plan.K, "interval_minutes": INTERVAL_MINUTES,
        "intervals_per_hour": INTERVALS_PER_HOUR,
        "termination": sm.mip.termination, "lp_termination": sm.lp.termination,
        "objective_mip": sm.mip.objective, "bound_mip": sm.mip.bound, "mip_gap": sm.mip.gap,
        "objective_lp": sm.lp.objective,
        "objective_usd": sm.mip.objective * DT_H,
        "objective_unit": "objective_mip/lp: sum over intervals of $/h; objective_usd = × 0.25 h",
        "time_limit_hit": sm.mip.termination == "maxTimeLimit",
        "mip_time_limit_s": min(scenario.parameters.time_limit_s, RT_MIP_TIME_LIMIT_S),
        "timings": tm,
        "counts": counts,
        "short_start_units_recommitted": len(fast),
        "long_start_units_fixed": sum(1 for r in plan.R if plan.cls[r] == "fixed_thermal"),
        "lazy": {"rounds": len([r for r in b.lazy_rounds if r["mip"]]),
                 "lp_rounds": len([r for r in b.lazy_rounds if not r["mip"]]),
                 "relaxation_rounds": len([r for r in b.lazy_rounds if r.get("relaxation")]),
                 "seeded_rows": b.info.get("seeded_rows", 0),
                 "constraints_added": len(sm.monitor.rows), "round_log": b.lazy_rounds},
        "branch_overloads": len(b.info.get("branch_overloads", [])),
        "transfer_cycles_netted_mw": {str(k): round(v, 6) for k, v in
                                      b.info.get("transfer_cycles_netted", {}).items()},
        "power_balance_relaxed_mwh": float(bs["power_balance_relaxed_mw"].abs().sum() * DT_H),
        "fru_relaxed_mwh": float((bs["fru_requirement_mw"] - bs["fru_cleared_mw"]).clip(lower=0).sum()
                                 * DT_H),
        "frd_relaxed_mwh": float((bs["frd_requirement_mw"] - bs["frd_cleared_mw"]).clip(lower=0).sum()
                                 * DT_H),
        "inputs": {"sources": inp.sources, "seed": inp.seed, "files": inp.files},
        "choices": {
            "rt_range": "long-start thermal, hydro, storage, 15-minute imports: [DAEN-IRD-RCD, "
                        "DAEN+IRU+RCU] ∩ physical limits (DA AS awards held); short-start thermal: "
                        "full range, re-committed; VER: [0, RT forecast]; demand, exports, hourly "
                        "imports: fixed at DAEN; virtuals liquidated",
            "commitment": "long-start units fixed at schedules.ruc_committed (IFM + RUC); "
                          "short-start units re-committed per hour (binaries), kept on in hours "
                          "with DA AS/IR/RC awards",
            "frp_requirement": f"{frp.FRP_SHARE_OF_IR:g} × the hour's DA IRU/IRD requirement per "
                               "BAA, one demand-curve segment at penalty_fru_usd_per_mwh",
            "ramp": f"{RAMP_MINUTES:g}·RR per interval, widened to the DA schedule's step at hour "
                    "boundaries",
            "metered": "supply: FMM schedule; loads: RT demand forecast (or "
                       "baa_hours.metered_demand_mw) pro rata to DA schedules; fixed demand under "
                       f"{LSE_PREFIX}<baa>",
            "iru5_ird5": f"min(award, {FIVE_MINUTE_RAMP:g}·RR) [D]",
            "transfers": "economic ETSR transfers within hourly limits; no IR transfers, no NEC"
                         + ("; transfer cycles cancelled after the solve"
                            if scenario.parameters.transfer_cycle_netting else ""),
        },
    }
