"""Settlement of a run (spec §8, §7.5): `settle(...)` and the `edam settle RUN_DIR` command.

The rules live with their products (architecture.md): products/imbalance_reserves/settlement.py
(IRU/IRD, §8.1, §8.3), products/reliability_capacity/settlement.py (RCU/RCD, §8.2, §8.3),
products/flexible_ramp/settlement.py (FRU uncertainty, §8.4), products/rse_charges.py (RSE
surcharge and credits, §7.5), network/transfers.py (EDAM transfer revenue, §6.1: charge
``transfer_revenue``, party = the BAA) and the shared tier-1/tier-2 machinery and charge table in
products/settlement_core.py. This module assembles their inputs from a run and a scenario.

Sign convention: ``amount_usd > 0`` is a payment TO the party, ``< 0`` a charge to it.

Inputs (the contract)
---------------------
Run tables (a `RunResult` or a dict of DataFrames, as the engine writes them):
- ``schedules``: resource, hour, baa, bus, committed, energy_mw (net injection: exports and
  virtual demand negative), reg_up_mw, reg_down_mw, spin_mw, nonspin_mw, iru_mw, ird_mw, rcu_mw,
  rcd_mw — one row per resource and hour, virtual resources included; optionally rcu_proxy,
  rcd_proxy (proxy awards, no no-pay, §8.2; without them, the hours whose RCU/RCD bid is
  ISO-inserted, `Scenario.bids`, are proxy);
- ``resource_prices``: resource, hour, baa, bus, iru_usd_per_mwh (IRUMP), ird_usd_per_mwh (IRDMP),
  rcu_usd_per_mwh (RCUMP), rcd_usd_per_mwh (RCDMP);
- ``baa_summary``: baa, hour, …, iru_requirement_mw, iru_cleared_mw, iru_relaxed_mw (IRUR, —,
  IRUS) and the same for ird, rcu, rcd;
- ``product_prices``: baa, product ∈ {energy, ru, rd, sr, nr, iru, ird, rcu, rcd}, hour,
  price_usd_per_mwh (IRURMP = product 'iru', IRDRMP = 'ird');
- optionally ``rse`` and ``rse_distribution`` (clearing/market/rse.py), used when not passed explicitly;
- optionally ``transfers`` (interface, hour, from_baa, to_baa, mw, transfer_revenue_usd; without
  that column it is computed from ``baa_prices.energy_price``): the transfer revenue lines.
Missing award/price cells (NaN) count as 0; a missing column raises `ScenarioError`.

``settlement_inputs`` (§2.7; from the phase-3 real-time run or a user CSV), one row per resource
and hour (an ``interval`` column, if present, marks 15-minute rows, averaged to the hour §8.3):
resource, hour, [baa, sc, type: optional, must match the scenario], daen_mw (DA energy schedule;
imports/exports positive MW in their own direction, §8 preamble; loads positive consumption),
fmm_schedule_mw (FMMSS), fmm_max_ex_cap_mw (FMMMaxExCap: VER FMM forecast, else RT Pmax after
derates), fmm_uel_mw, fmm_lel_mw, uie_mw (glossary sign: > 0 when a load consumes less / a supply
delivers more), metered_mw, etag_mw, iru5_mw, ird5_mw (five-minute-ramp-capable part of the IR
award), fmm_fru_price_usd_per_mwh, fmm_frd_price_usd_per_mwh, fru_uncertainty_mw.
A missing column raises `ScenarioError` naming it. ``settlement_inputs=None`` means "delivered as
scheduled" everywhere, and a resource-hour without a row, or a blank cell, takes its
delivered-as-scheduled value [A]:
DAEN = the DA schedule in the resource's own direction (energy_mw; −energy_mw for exports and
loads; |energy_mw| for virtuals); FMMSS = ETag = FMMMaxExCap = metered = DAEN; FMMUEL = DAEN + RU +
SR + NR + IRU + RCU and FMMLEL = DAEN − RD − IRD − RCD (every award kept available, so no no-pay);
UIE = IRU5 = IRD5 = FRU award = FMM FRU/FRD prices = 0. So as scheduled, no no-pay and no IR
tier-1 quantity arise: the IR costs go to tier 2, the RC tier 1 is net virtual supply/demand.

``metered_load``: sc, baa, hour, metered_load_mw — ML per SC, BAA and hour (the tier-2 basis; the
SC is the party). If None it is derived [A]: each load resource (type demand) of an SC has ML =
its settlement input metered_mw (as scheduled: its DA schedule); the BAA's remaining demand goes to
the party ``LSE_<baa>``: max(0, total − Σ load resources), the total being
`baa_hours.metered_demand_mw` where given and `demand_forecast_mw` otherwise (the schema's rule).
Exports are not metered demand. A BAA-hour with no metered demand sends its tier 2 to its EDAM
entity (`baas.entity`, default the BAA id).

Fixed (self-scheduled) demand is no resource; with option ``fixed_demand_uie = lse`` it is a load
of ``LSE_<baa>`` (DAEN = the BAA's fixed demand, UIE = fixed demand − LSE metered load) wherever
its metered load is measured: supplied ``LSE_<baa>`` rows of metered_load, or
`baa_hours.metered_demand_mw` (not the forecast fallback).

Outputs: `SettlementResult` with ``table`` (the contract's `settlement` table, plus column
``resource``), ``statement`` (per party and charge over the day, `daily_statement`), ``options``
(every [A]/[D] choice used, for the manifest) and ``details`` (per resource-hour and per BAA-hour
computations: no-pay, tier-1 terms, requirement costs, prices, tiers; the metered load used; the
merged resource frame).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clearing.outputs import beside, check_output_target, refuse_inside, write_output_dir
from clearing.results import RunResult, ordered, read_run
from network.transfers import transfer_revenue_lines, transfer_revenue_usd
from products.ghg import deviation_lines as ghg_deviation_lines
from products.ghg import payment_lines as ghg_payment_lines
from products.flexible_ramp.settlement import fru_uncertainty_lines
from products.imbalance_reserves.settlement import settle_imbalance_reserves
from products.reliability_capacity.settlement import settle_reliability_capacity
from products.rse_charges import rse_lines, rse_pools
from products.settlement_core import (RESOURCE_FRAME_COLUMNS, SettlementOptions, daily_statement,
                                      settlement_table)
from scenarios.errors import Problem, ScenarioError
from scenarios.scenario import Scenario

__all__ = ["SettlementResult", "settle", "settle_command", "run_format", "build_resource_frame",
           "derive_metered_load", "SETTLEMENT_INPUT_COLUMNS", "METERED_LOAD_COLUMNS"]

AWARD_COLUMNS = ("energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw", "nonspin_mw", "iru_mw",
                 "ird_mw", "rcu_mw", "rcd_mw")
PRICE_COLUMNS = ("iru_usd_per_mwh", "ird_usd_per_mwh", "rcu_usd_per_mwh", "rcd_usd_per_mwh")
SETTLEMENT_INPUT_COLUMNS = ("daen_mw", "fmm_schedule_mw", "fmm_max_ex_cap_mw", "fmm_uel_mw",
                            "fmm_lel_mw", "uie_mw", "metered_mw", "etag_mw", "iru5_mw", "ird5_mw",
                            "fmm_fru_price_usd_per_mwh", "fmm_frd_price_usd_per_mwh",
                            "fru_uncertainty_mw")
NONNEGATIVE_INPUTS = ("iru5_mw", "ird5_mw", "fru_uncertainty_mw")
METERED_LOAD_COLUMNS = ("sc", "baa", "hour", "metered_load_mw")
IR_BAA_COLUMNS = ("iru_requirement_mw", "iru_relaxed_mw", "ird_requirement_mw", "ird_relaxed_mw")
_STR_COLUMNS = ("resource", "baa", "bus", "sc", "type", "product", "test", "direction", "party")


@dataclass
class SettlementResult:
    """A settled run: the settlement lines, the daily statement, the options used, details."""

    table: pd.DataFrame
    statement: pd.DataFrame
    options: dict[str, Any]
    details: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The two output tables by name (``settlement``, ``statement``)."""
        return {"settlement": self.table, "statement": self.statement}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _as_str(s: pd.Series) -> pd.Series:
    """Ids as strings; 101.0 (an int column read with blanks) becomes '101'; NaN becomes ''."""
    if pd.api.types.is_float_dtype(s):
        v = s.to_numpy()
        integral = np.isfinite(v) & (np.floor(v) == v)
        return pd.Series([str(int(x)) if ok else ("" if np.isnan(x) else str(x))
                          for x, ok in zip(v, integral)], index=s.index, dtype=object)
    return s.map(lambda x: "" if x is None or (isinstance(x, float) and math.isnan(x))
                 else str(x)).astype(object)


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for c in _STR_COLUMNS:
        if c in df.columns:
            df[c] = _as_str(df[c])
    return df


def _require(df: pd.DataFrame | None, name: str, cols: tuple[str, ...] | list[str]) -> None:
    if df is None:
        raise ScenarioError(Problem(f"{name}.csv", None, None, "table missing",
                                    f"the run's {name} table"))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ScenarioError([Problem(f"{name}.csv", 1, c, "column missing", f"a '{c}' column")
                             for c in missing])


def _hours(df: pd.DataFrame, name: str) -> pd.Series:
    h = pd.to_numeric(df["hour"], errors="coerce")
    bad = h.isna() | (h != np.floor(h))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ScenarioError(Problem(f"{name}.csv", i + 2, "hour", repr(df["hour"].iloc[i]),
                                    "an integer hour"))
    return h.astype(np.int64)


def _entity(scenario: Scenario) -> dict[str, str]:
    b = scenario.tables["baas"]
    ent = b["entity"] if "entity" in b.columns else pd.Series([""] * len(b))
    return {str(k): (str(e) if isinstance(e, str) and e.strip() else str(k))
            for k, e in zip(b["baa"], ent)}


def _run_tables(run: RunResult | dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    tables = run.tables if isinstance(run, RunResult) else dict(run)
    return {k: _norm(v) for k, v in tables.items() if isinstance(v, pd.DataFrame)}


def _as_scheduled_values(f: pd.DataFrame) -> dict[str, np.ndarray]:
    """Delivered-as-scheduled value of every settlement input for the rows of `f`."""
    e = f["energy_mw"].to_numpy(dtype=float)
    typ = f["type"].to_numpy(dtype=object)
    daen = np.where(np.isin(typ, ("export", "demand")), -e,
                    np.where(np.isin(typ, ("virtual_supply", "virtual_demand")), np.abs(e), e))
    g = {c: f[c].to_numpy(dtype=float) for c in AWARD_COLUMNS}
    z = np.zeros(len(f))
    return {"daen_mw": daen, "fmm_schedule_mw": daen, "etag_mw": daen, "fmm_max_ex_cap_mw": daen,
            "metered_mw": daen,
            "fmm_uel_mw": daen + g["reg_up_mw"] + g["spin_mw"] + g["nonspin_mw"] + g["iru_mw"]
            + g["rcu_mw"],
            "fmm_lel_mw": daen - g["reg_down_mw"] - g["ird_mw"] - g["rcd_mw"],
            "uie_mw": z, "iru5_mw": z, "ird5_mw": z, "fmm_fru_price_usd_per_mwh": z,
            "fmm_frd_price_usd_per_mwh": z, "fru_uncertainty_mw": z}


def _validate_inputs(inputs: pd.DataFrame, scenario: Scenario,
                     rf: pd.DataFrame) -> pd.DataFrame:
    """Check the settlement inputs (columns, ids, hours, numbers); returns them typed, hourly."""
    name = "settlement_inputs.csv"
    _require(inputs, "settlement_inputs", ("resource", "hour") + SETTLEMENT_INPUT_COLUMNS)
    df = _norm(inputs).reset_index(drop=True)
    problems: list[Problem] = []
    known = set(rf.index)
    for i, r in enumerate(df["resource"]):
        if r not in known:
            problems.append(Problem(name, i + 2, "resource", f"unknown resource '{r}'",
                                    "a resource of the scenario"))
    h = pd.to_numeric(df["hour"], errors="coerce")
    for i in np.flatnonzero((h.isna() | (h != np.floor(h)) | (h < 1)
                             | (h > scenario.hours)).to_numpy()):
        problems.append(Problem(name, int(i) + 2, "hour", repr(df["hour"].iloc[i]),
                                f"an integer hour 1..{scenario.hours}"))
    for c in SETTLEMENT_INPUT_COLUMNS:
        raw = df[c]
        num = pd.to_numeric(raw, errors="coerce")
        blank = raw.isna() | raw.map(lambda x: isinstance(x, str) and not x.strip())
        for i in np.flatnonzero((num.isna() & ~blank).to_numpy()):
            problems.append(Problem(name, int(i) + 2, c, repr(raw.iloc[i]), "a number"))
        if c in NONNEGATIVE_INPUTS:
            for i in np.flatnonzero((num < 0).to_numpy()):
                problems.append(Problem(name, int(i) + 2, c, repr(raw.iloc[i]), "a value >= 0"))
        df[c] = num.astype(float)
    for c in ("baa", "sc", "type"):
        if c in df.columns:
            for i, (r, v) in enumerate(zip(df["resource"], df[c])):
                if v and r in known and str(rf.at[r, c]) != v:
                    problems.append(Problem(name, i + 2, c, f"'{v}' for resource '{r}'",
                                            f"'{rf.at[r, c]}' as in the scenario"))
    if problems:
        raise ScenarioError(problems)
    df["hour"] = h.astype(np.int64)
    cols = ["resource", "hour", *SETTLEMENT_INPUT_COLUMNS]
    if "interval" in df.columns:  # 15-minute rows become hourly by their mean (§8.3)
        df = df[cols].groupby(["resource", "hour"], sort=True).mean().reset_index()
    df = df[cols]
    dup = df.duplicated(["resource", "hour"], keep="first")
    if dup.any():
        raise ScenarioError([Problem(name, int(i) + 2, "resource",
                                     f"a second row for '{df['resource'].iloc[i]}' hour "
                                     f"{df['hour'].iloc[i]}",
                                     "one row per resource and hour (or an 'interval' column)")
                             for i in np.flatnonzero(dup.to_numpy())])
    return df


def build_resource_frame(scenario: Scenario, run: RunResult | dict[str, pd.DataFrame],
                         settlement_inputs: pd.DataFrame | None) -> pd.DataFrame:
    """The per resource-hour frame the products settle (settlement_core.RESOURCE_FRAME_COLUMNS):
    DA awards (schedules), resource prices, proxy flags, and the settlement inputs with the
    delivered-as-scheduled values wherever they are absent (module docstring)."""
    t = _run_tables(run)
    sch = t.get("schedules")
    _require(sch, "schedules", ("resource", "hour") + AWARD_COLUMNS)
    rp = t.get("resource_prices")
    _require(rp, "resource_prices", ("resource", "hour") + PRICE_COLUMNS)
    rf = scenario.resource_frame.set_index("resource")
    rf.index = rf.index.map(str)
    unknown = sorted(set(sch["resource"]) - set(rf.index))
    if unknown:
        raise ScenarioError([Problem("schedules.csv", None, "resource", f"unknown resource '{r}'",
                                     "a resource of the scenario") for r in unknown[:20]])
    f = sch[["resource"] + list(AWARD_COLUMNS)].copy()
    f["hour"] = _hours(sch, "schedules")
    rpx = rp[["resource"] + list(PRICE_COLUMNS)].copy()
    rpx["hour"] = _hours(rp, "resource_prices")
    f = f.merge(rpx, on=["resource", "hour"], how="left")
    inputs = None
    if settlement_inputs is not None:
        inputs = _validate_inputs(settlement_inputs, scenario, rf)
        f = f.merge(inputs, on=["resource", "hour"], how="outer")
    for c in AWARD_COLUMNS + PRICE_COLUMNS:
        f[c] = pd.to_numeric(f[c], errors="coerce").astype(float).fillna(0.0)
    f["baa"] = f["resource"].map(rf["baa"].astype(str))
    f["sc"] = f["resource"].map(rf["sc"].astype(str))
    f["type"] = f["resource"].map(rf["type"].astype(str))
    for p in ("rcu", "rcd"):
        proxies = _proxy_awards(scenario, sch, p)
        f[f"{p}_proxy"] = [(str(r), int(h)) in proxies for r, h in zip(f["resource"], f["hour"])]
    defaults = _as_scheduled_values(f)
    for c in SETTLEMENT_INPUT_COLUMNS:
        if c not in f.columns:
            f[c] = defaults[c]
        else:
            v = f[c].to_numpy(dtype=float)
            f[c] = np.where(np.isnan(v), defaults[c], v)
    f["pseudo"] = False
    f = f[list(RESOURCE_FRAME_COLUMNS) + ["pseudo"]]
    return f.sort_values(["resource", "hour"], kind="stable").reset_index(drop=True)


def _proxy_awards(scenario: Scenario, sch: pd.DataFrame, product: str) -> set[tuple[str, int]]:
    """(resource, hour) of the proxy awards of `product` (§5.11, §8.2): the run's own record,
    `schedules.<product>_proxy`, when it has the column; else (runs written before it) every
    hour whose bid is ISO-inserted (`Scenario.bids`, which inserts the RCU bids of RA resources
    and certified VERs without one)."""
    col = f"{product}_proxy"
    if col in sch.columns:
        flag = sch[col].map(lambda v: bool(v) if v == v and v is not None else False)
        return {(str(r), int(h)) for r, h, v in zip(sch["resource"], _hours(sch, "schedules"),
                                                     flag) if v}
    ab = scenario.bids.availability_frame()  # the bid of each hour (hourly bids)
    sel = ab[(ab["product"] == product) & ab["iso_inserted"].astype(bool)]
    return set(zip(sel["resource"].map(str), sel["hour"].astype(int)))


def _fixed_demand(scenario: Scenario) -> pd.DataFrame:
    d = scenario.tables["demand"]
    if d is None or d.empty:
        return pd.DataFrame(columns=["baa", "hour", "fixed_demand_mw"])
    x = d.assign(baa=d["bus"].map(str).map(scenario.bus_baa))
    return x.groupby(["baa", "hour"], sort=True)["fixed_demand_mw"].sum().reset_index()


def derive_metered_load(scenario: Scenario, frame: pd.DataFrame,
                        metered_load: pd.DataFrame | None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """ML per (party, baa, hour) → (metered rows ``party, baa, hour, metered_mw, measured``,
    the measured LSE rows ``baa, hour, metered_mw`` for the fixed-demand UIE, a source note).

    Supplied `metered_load` (sc, baa, hour, metered_load_mw) is used as is (validated); else the
    rule of the module docstring."""
    baas = set(map(str, scenario.tables["baas"]["baa"]))
    if metered_load is not None:
        name = "metered_load.csv"
        _require(metered_load, "metered_load", METERED_LOAD_COLUMNS)
        m = _norm(metered_load).reset_index(drop=True)
        problems = []
        for i, b in enumerate(m["baa"]):
            if b not in baas:
                problems.append(Problem(name, i + 2, "baa", f"unknown BAA '{b}'",
                                        "a BAA of the scenario"))
        h = pd.to_numeric(m["hour"], errors="coerce")
        for i in np.flatnonzero((h.isna() | (h != np.floor(h)) | (h < 1)
                                 | (h > scenario.hours)).to_numpy()):
            problems.append(Problem(name, int(i) + 2, "hour", repr(m["hour"].iloc[i]),
                                    f"an integer hour 1..{scenario.hours}"))
        v = pd.to_numeric(m["metered_load_mw"], errors="coerce")
        for i in np.flatnonzero((v.isna() | (v < 0)).to_numpy()):
            problems.append(Problem(name, int(i) + 2, "metered_load_mw",
                                    repr(m["metered_load_mw"].iloc[i]), "a number >= 0 (MW)"))
        if problems:
            raise ScenarioError(problems)
        out = pd.DataFrame({"party": m["sc"], "baa": m["baa"], "hour": h.astype(np.int64),
                            "metered_mw": v.astype(float)})
        dup = out.duplicated(["party", "baa", "hour"])
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise ScenarioError(Problem(name, i + 2, "sc", "a second row for the same sc, baa "
                                        "and hour", "one row per sc, baa and hour"))
        out["measured"] = True
        lse = out[out["party"] == "LSE_" + out["baa"]][["baa", "hour", "metered_mw"]]
        return out.reset_index(drop=True), lse.reset_index(drop=True), "supplied"
    loads = frame[(frame["type"] == "demand") & ~frame["pseudo"]]
    res_ml = pd.DataFrame({"party": loads["sc"], "baa": loads["baa"], "hour": loads["hour"],
                           "metered_mw": np.maximum(0.0, loads["metered_mw"].to_numpy(float))})
    res_ml = res_ml.groupby(["party", "baa", "hour"], sort=True)["metered_mw"].sum().reset_index()
    bh = scenario.tables["baa_hours"]
    tot = pd.DataFrame({"baa": bh["baa"].map(str), "hour": bh["hour"].astype(np.int64)})
    md = bh["metered_demand_mw"].astype(float)
    tot["measured"] = md.notna().to_numpy()
    tot["total"] = md.fillna(bh["demand_forecast_mw"].astype(float)).to_numpy()
    by_baa = res_ml.groupby(["baa", "hour"])["metered_mw"].sum()
    tot["res"] = [float(by_baa.get((b, h), 0.0)) for b, h in zip(tot["baa"], tot["hour"])]
    lse = pd.DataFrame({"party": "LSE_" + tot["baa"], "baa": tot["baa"], "hour": tot["hour"],
                        "metered_mw": np.maximum(0.0, tot["total"] - tot["res"]),
                        "measured": tot["measured"]})
    res_ml["measured"] = True
    out = pd.concat([res_ml, lse], ignore_index=True)
    out = out[out["metered_mw"] > 0.0].sort_values(["baa", "hour", "party"], kind="stable")
    measured_lse = lse[lse["measured"]][["baa", "hour", "metered_mw"]]
    note = ("derived: load resources' metered_mw; LSE_<baa> = baa_hours.metered_demand_mw "
            "(else demand_forecast_mw) minus load resources")
    return out.reset_index(drop=True), measured_lse.reset_index(drop=True), note


def _lse_rows(scenario: Scenario, frame: pd.DataFrame, lse: pd.DataFrame) -> pd.DataFrame:
    """Pseudo load rows ``LSE_<baa>`` for the fixed demand's UIE (option fixed_demand_uie)."""
    if lse.empty:
        return frame.iloc[0:0]
    fx = _fixed_demand(scenario)
    x = lse.merge(fx, on=["baa", "hour"], how="left")
    x["fixed_demand_mw"] = x["fixed_demand_mw"].astype(float).fillna(0.0)
    n = len(x)
    rows = {c: np.zeros(n) for c in RESOURCE_FRAME_COLUMNS}
    rows.update(resource=("LSE_" + x["baa"]).to_numpy(), hour=x["hour"].to_numpy(),
                baa=x["baa"].to_numpy(), sc=("LSE_" + x["baa"]).to_numpy(),
                type=np.full(n, "demand", dtype=object), rcu_proxy=np.zeros(n, bool),
                rcd_proxy=np.zeros(n, bool),
                energy_mw=-x["fixed_demand_mw"].to_numpy(), daen_mw=x["fixed_demand_mw"].to_numpy(),
                metered_mw=x["metered_mw"].to_numpy(float),
                uie_mw=(x["fixed_demand_mw"] - x["metered_mw"]).to_numpy(float))
    for c in ("fmm_schedule_mw", "etag_mw", "fmm_max_ex_cap_mw", "fmm_uel_mw", "fmm_lel_mw"):
        rows[c] = x["fixed_demand_mw"].to_numpy()
    out = pd.DataFrame(rows)[list(RESOURCE_FRAME_COLUMNS)]
    out["pseudo"] = True
    return out


def _ir_baa_frame(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    bs = t.get("baa_summary")
    _require(bs, "baa_summary", ("baa", "hour") + IR_BAA_COLUMNS)
    pp = t.get("product_prices")
    _require(pp, "product_prices", ("baa", "product", "hour", "price_usd_per_mwh"))
    out = bs[["baa"] + list(IR_BAA_COLUMNS)].copy()
    out["hour"] = _hours(bs, "baa_summary")
    for c in IR_BAA_COLUMNS:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float).fillna(0.0)
    ppx = pp.assign(hour=_hours(pp, "product_prices"))
    for p in ("iru", "ird"):
        s = ppx[ppx["product"] == p][["baa", "hour", "price_usd_per_mwh"]]
        s = s.rename(columns={"price_usd_per_mwh": f"{p}_requirement_price_usd_per_mwh"})
        out = out.merge(s, on=["baa", "hour"], how="left")
        col = f"{p}_requirement_price_usd_per_mwh"
        priced = (out[f"{p}_requirement_mw"] - out[f"{p}_relaxed_mw"]).abs() > 1e-9
        missing = out[col].isna() & priced
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            raise ScenarioError(Problem("product_prices.csv", None, "price_usd_per_mwh",
                                        f"no '{p}' price for BAA '{out['baa'].iloc[i]}' hour "
                                        f"{out['hour'].iloc[i]}",
                                        f"a price wherever the {p.upper()} requirement is priced"))
        out[col] = out[col].astype(float).fillna(0.0)
    return out


def _transfers_with_revenue(t: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The run's `transfers` with `transfer_revenue_usd` (§6.1); a run written before that column
    existed gets it from `baa_prices.energy_price` (π, the balance duals). None: no transfers."""
    tr = t.get("transfers")
    if tr is None or not len(tr):
        return None
    _require(tr, "transfers", ("interface", "hour", "from_baa", "to_baa", "mw"))
    tr = tr.assign(hour=_hours(tr, "transfers"))
    if "transfer_revenue_usd" in tr.columns:
        return tr
    bp = t.get("baa_prices")
    _require(bp, "baa_prices", ("baa", "hour", "energy_price"))
    pi = dict(zip(zip(bp["baa"].map(str), _hours(bp, "baa_prices")),
                  pd.to_numeric(bp["energy_price"], errors="coerce").astype(float)))
    missing = [(b, h) for b, h in zip(tr["from_baa"], tr["hour"]) if (b, h) not in pi] + \
        [(b, h) for b, h in zip(tr["to_baa"], tr["hour"]) if (b, h) not in pi]
    if missing:
        b, h = missing[0]
        raise ScenarioError(Problem("baa_prices.csv", None, "energy_price",
                                    f"no energy price for BAA '{b}' hour {h}",
                                    "a price for every BAA and hour of the transfers table"))
    tr["transfer_revenue_usd"] = [
        transfer_revenue_usd(x, pi[(o, h)], pi[(e, h)])
        for x, o, e, h in zip(pd.to_numeric(tr["mw"], errors="coerce").fillna(0.0),
                              tr["from_baa"], tr["to_baa"], tr["hour"])]
    return tr


def _suballocation_baa(scenario: Scenario, option: str) -> str | None:
    baas = list(map(str, scenario.tables["baas"]["baa"]))
    if option == "none":
        return None
    if option == "auto":
        return "CISO" if "CISO" in baas else scenario.reference_baa
    if option not in baas:
        raise ScenarioError(Problem("settlement options", None, "rse_suballocate_baa",
                                    repr(option), "auto, none or a BAA of the scenario"))
    return option


# ------------------------------------------------------------------------------------------------
# settle
# ------------------------------------------------------------------------------------------------
def settle(scenario: Scenario, run: RunResult | dict[str, pd.DataFrame],
           settlement_inputs: pd.DataFrame | None, metered_load: pd.DataFrame | None = None,
           rse: pd.DataFrame | None = None, rse_distribution: pd.DataFrame | None = None, *,
           options: SettlementOptions | dict[str, Any] | None = None) -> SettlementResult:
    """Settle a run (spec §8, §7.5); inputs and outputs in the module docstring.

    `options`: a `SettlementOptions`, or a dict of overrides on top of the defaults and of
    `scenario.parameters.iru_import_tier1`. `rse`/`rse_distribution` default to the run's tables
    of those names when present."""
    if isinstance(options, SettlementOptions):
        opts = options
    else:
        opts = SettlementOptions.from_parameters(scenario.parameters, options)
    t = _run_tables(run)
    frame = build_resource_frame(scenario, t, settlement_inputs)
    metered, lse_measured, ml_note = derive_metered_load(scenario, frame, metered_load)
    if opts.fixed_demand_uie == "lse" and len(lse_measured):
        frame = pd.concat([frame, _lse_rows(scenario, frame, lse_measured)], ignore_index=True)
    entity = _entity(scenario)
    ml = metered[["party", "baa", "hour", "metered_mw"]]

    ir_lines, ir_d = settle_imbalance_reserves(frame, _ir_baa_frame(t), ml, entity, opts)
    bh = scenario.tables["baa_hours"][["baa", "hour"]].assign(baa=lambda d: d["baa"].map(str))
    rc_lines, rc_d = settle_reliability_capacity(frame, ml, entity, opts, bh)
    fru_lines, fru_d = fru_uncertainty_lines(frame, opts.fru_uncertainty_floor)
    rse_t = rse if rse is not None else t.get("rse")
    dist_t = rse_distribution if rse_distribution is not None else t.get("rse_distribution")
    sub_baa = _suballocation_baa(scenario, opts.rse_suballocate_baa)
    rse_l = rse_lines(_norm(rse_t) if rse_t is not None else None,
                      _norm(dist_t) if dist_t is not None else None, entity, ml, sub_baa)

    tr_l = transfer_revenue_lines(_transfers_with_revenue(t),
                                  float(scenario.parameters.transfer_revenue_share_from))
    ghg_l = ghg_payment_lines(t.get("ghg_attribution"))  # §5.13: μ·e to the resource's SC
    ghg_rt = ghg_deviation_lines(t.get("rt_ghg_attribution"))  # phase 3: μ_RT (e_RT − e_DA)
    table = settlement_table([ir_lines, rc_lines, fru_lines, rse_l, tr_l, ghg_l, ghg_rt])
    used = opts.to_dict()
    used.update({
        "rse_suballocate_baa_resolved": sub_baa or "none",
        "settlement_inputs": "as_scheduled" if settlement_inputs is None else "supplied "
                             "(missing rows and blank cells as scheduled)",
        "metered_load": ml_note,
        "zero_denominator": "tier1_zero_all_to_tier2",
        "ir_congestion": "reported_not_allocated",
        "rc_proxy_awards": "schedules.rcu_proxy/rcd_proxy (else ISO-inserted bids): no no-pay",
    })
    details = {
        "resources": pd.concat([ir_d["resources"], rc_d["resources"]], ignore_index=True),
        "baa": pd.concat([ir_d["baa"], rc_d["baa"]], ignore_index=True),
        "rc_tier1": rc_d["rc_tier1"],
        "fru": fru_d,
        "rse_pools": rse_pools(_norm(rse_t) if rse_t is not None else None,
                               _norm(dist_t) if dist_t is not None else None),
        "metered_load": metered,
        "resource_frame": frame,
    }
    return SettlementResult(table=table, statement=daily_statement(table), options=used,
                            details=details)


# ------------------------------------------------------------------------------------------------
# edam settle RUN_DIR
# ------------------------------------------------------------------------------------------------
_READ_DTYPES = {c: str for c in _STR_COLUMNS + ("interface", "from_baa", "to_baa")}


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    with path.open(newline="", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    return pd.read_csv(path, dtype={c: str for c in header if c in _READ_DTYPES},
                       keep_default_na=True)


def _find(run_dir: Path, name: str) -> Path | None:
    for ext in ("csv", "parquet"):
        p = run_dir / f"{name}.{ext}"
        if p.exists():
            return p
    return None


SETTLEMENT_SUFFIX = "_settlement"  # default output: <run>_settlement/ beside the run


def run_format(run_dir: Path, manifest: dict | None = None) -> str:
    """The format a run folder was written in: the manifest's ``format``, else parquet when its
    tables are Parquet files, else csv."""
    fmt = (manifest or {}).get("format")
    if fmt in ("csv", "parquet"):
        return fmt
    has_parquet = any(run_dir.glob("*.parquet"))
    return "parquet" if has_parquet and not any(run_dir.glob("*.csv")) else "csv"


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame], fmt: str) -> None:
    """Tables as the results contract orders them (`ordered`), in the run's format."""
    for name, df in tables.items():
        df = ordered(name, df)
        if fmt == "parquet":
            df.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n",
                      float_format="%.10g")


def settle_command(run_dir: str, scenario: str | None = None, out: str | None = None, *,
                   settlement_inputs: str | None = None, metered_load: str | None = None,
                   overrides: dict[str, Any] | None = None,
                   options: dict[str, Any] | None = None, overwrite: bool = False) -> int:
    """`edam settle RUN_DIR [--scenario DIR] [--out DIR] [--overwrite]`: settle a written run.

    Reads the run's tables (`read_run`); the scenario is `scenario` or the manifest's
    ``scenario_dir`` (relative paths: to the working directory, then to the run directory), with
    the manifest's ``parameters`` and then `overrides` applied. Settlement inputs and metered load
    come from the given CSV paths, else from the run's ``settlement_inputs`` / ``metered_load``
    tables when present, else as scheduled / derived.

    Writes ``settlement`` and ``statement`` (in the run's format: CSV, or Parquet for a Parquet
    run) and ``settlement_options.json`` (every option used) into `out`, by default
    ``<RUN_DIR>_settlement/`` beside the run; the run's own folder is never written (runs are
    records). The folder appears whole or not at all; an existing one is replaced only if it is
    an earlier settlement and `overwrite` is set (clearing/outputs.py). Returns 0; bad input
    raises `ScenarioError`, a refused target `OutputPathError` (the CLI prints either)."""
    from scenarios import load_scenario

    rd = Path(run_dir)
    if not rd.is_dir():
        raise ScenarioError(Problem(str(rd), None, None, "no such folder", "a run directory"))
    target = Path(out) if out else beside(rd, SETTLEMENT_SUFFIX)
    refuse_inside(target, [rd], "run")
    check_output_target(target, "settlement", overwrite=overwrite)
    run = read_run(rd)
    for name in list(run.tables):  # re-read with string ids
        p = _find(rd, name)
        if p is not None:
            run.tables[name] = _read_table(p)
    manifest = run.manifest or {}
    scen_path = scenario or manifest.get("scenario_dir")
    if not scen_path:
        raise ScenarioError(Problem(str(rd / "manifest.json"), None, "scenario_dir",
                                    "no scenario_dir", "a scenario folder (or --scenario)"))
    sp = Path(scen_path)
    if not sp.is_dir() and (rd / sp).is_dir():
        sp = rd / sp
    scen = load_scenario(sp)
    params = manifest.get("parameters")
    if isinstance(params, dict):
        names = set(scen.parameters.names())
        scen = scen.with_parameters(**{k: v for k, v in params.items() if k in names})
    if overrides:
        scen = scen.with_parameters(**overrides)

    def table_or_file(path: str | None, name: str) -> pd.DataFrame | None:
        if path:
            p = Path(path)
            if not p.exists():
                raise ScenarioError(Problem(str(p), None, None, "file missing", f"the {name} CSV"))
            return _read_table(p)
        return run.tables.get(name)

    si = table_or_file(settlement_inputs, "settlement_inputs")
    ml = table_or_file(metered_load, "metered_load")
    res = settle(scen, run, si, ml, options=options)
    fmt = run_format(rd, manifest)

    def fill(tmp: Path) -> None:
        _write_tables(tmp, res.tables(), fmt)
        (tmp / "settlement_options.json").write_text(
            json.dumps(res.options, indent=2, sort_keys=True, default=str))

    written = write_output_dir(target, "settlement", fill, overwrite=overwrite,
                               forbid_inside=[rd, sp],
                               marker_extra={"run": str(rd.resolve()), "format": fmt})
    print(_summary(res, written))
    return 0


def _summary(res: SettlementResult, target: Path) -> str:
    st = res.statement
    net = st[st["charge"] == "net"]
    lines = [f"settlement: {len(res.table)} lines, {len(net)} parties -> {target}"]
    for p, a in zip(net["party"], net["amount_usd"]):
        lines.append(f"  {p}: net ${a:,.2f}")
    return "\n".join(lines)
