"""Day-ahead resource sufficiency evaluation (RSE), its surcharge and distribution (spec §7).

Pure functions of a `Scenario` (and, optionally, a run's `nodal_prices` and `transfers` tables);
no optimization. Public API:

- `rse_capability(scenario)`: per resource-hour capability from bids (§7.1);
- `net_export_limit(scenario)`: the NEC per EDAM BAA and hour (§5.2), for the clearing engine;
- `evaluate_rse(scenario, prices=None, transfers=None)`: tests, deficiencies, tiers, surcharges
  (§7.2-§7.4), the pool distribution (§7.5) and the CISO sub-allocation;
- `write_rse(result, out_dir)`, `rse_command(...)` for the `edam rse` CLI.

Choices made here (each an [A] of this engine unless the spec fixes it):

Capability (§7.1). Only physical supply resources (thermal, VER, storage, hydro, import) of EDAM
BAAs count; virtuals, demand and exports are excluded (exports/demand are not supply; the net of
non-EDAM interchange enters only through `rse_net_import_mw`, NSI). Resources of non-EDAM BAAs
(`baas.is_edam` false) are not tested and get no rows. Per resource-hour:
``cap_t`` = `resource_hours.pmax_mw` if given else `resources.pmax_mw` (VER: the DA forecast F^V;
storage: the discharge limit; hydro: min(Pmax_t, E^day / H)); ``offered`` = the larger of the
highest energy-bid MW (thermal: Pmin + sum of supply segment widths; others: sum of widths) and
the hourly self-schedule; ``UP = min(cap_t, offered)``. A supply resource with no offer segment
(of positive width) is a $0 price taker up to Pmax in the clearing engine (clearing/market/resources.py)
and a non-dispatchable VER is fixed at its forecast, so both count at cap_t. Every bid is the
bid in force in the hour (`Scenario.bids`: `energy_bids_hourly` / `availability_bids_hourly`
override the day-constant bids hour by hour). RCU bids, whether the SC's or inserted by the
ISO for an RA resource or certified VER (§5.11, scenarios.bids), do not enter the RSE: §7.1
counts energy offers, self-schedules and AS/IR bids, and an RA resource is counted like any
other (without an energy offer, at cap_t as a price taker).
AS: ``min(bid MW, T^AS*RR, cap_t)`` per product, T^AS = `parameters.as_ramp_minutes` (10; the
10-minute products of §5.6); the cumulative groups {RU,SR}, {RU,SR,NR} are the sums of their
products' capabilities (§7.2 S2: Σ_{a∈g} CapAS^a). With `rse_as_group_joint_cap` [A] (off by
default) a group also respects the joint limit of §5.6 per resource
(``min(sum of the group, T^AS*RR^up, cap_t)``), which §7.1-§7.2 do not state. IR: ``min(bid MW, T^IR*RR, cap_t)`` with
T^IR = `parameters.ir_ramp_minutes`. IR only from dispatchable VERs; AS/IR from imports only when
`fifteen_minute` (§5.5). Downward products of storage may use discharge + charge range
(cap_t + charge_max_mw). MinGen (§7.2 S6) = min(cap_t, max(Pmin if must-run, self-schedule)).

Tests (§7.2), one row each per EDAM BAA and hour in the `rse` table (column `test`):
``energy`` S1 (D^F vs S^RSE = sum UP + NSI); the AS groups as three rows ``as_ru``, ``as_ru_sr``,
``as_ru_sr_nr`` (S2 is their max); ``iru`` S3; ``combined_up`` S4 with requirement
D^F + Req^RU + Req^SR + Req^NR + R^IRU as §7.2 states (the additional margin AM =
`additional_margin_mw` belongs to the NEC, §5.2; `rse_combined_includes_am` [A], off by default,
adds it to S4); ``as_down`` S2d; ``ird`` S5; ``oversupply`` S6, where
requirement_mw is the most inflexible supply the BAA can absorb (D^F - Req^RD) and capacity_mw the
inflexible supply (MinGen + NSI), deficiency = max(0, capacity - requirement). Then the overall
``up`` (DEF^up = max of S1..S4) and ``down`` (DEF^dn = max of S2d, S5, S6) rows; their
requirement_mw/capacity_mw are those of the binding test (named in `binding_test`: the test with
the largest deficiency, or when all pass the one with the least surplus among tests with a
non-zero requirement; blank on the test rows). The confidence factor CF enters only the NEC
(§5.2); the RSE tests use the full R^IRU (i.e. CF = 1) as §7.2 states.

Tiers (§7.3): DM = max(10 MW, 1 % of R^IR) with R^IR = R^IRU (up) / R^IRD (down), shown in
`de_minimis_mw` and `tier_basis_mw`. `tier` = 0 passed (deficiency 0), 1 de minimis (0 < DEF <= DM,
no surcharge), 2 (DEF <= 50 % of R^IR; 50 % exactly is tier 2), factor 1.25, 3 (above), factor 2.0.
Test rows carry the tier their own deficiency would give (informational) and surcharge_usd 0; only
the ``up`` and ``down`` rows carry money, so summing surcharge_usd over the table gives the total.
`passed` = deficiency 0 (a de minimis failure is a failure that pays nothing; it does not share in
the distribution).

Price (§7.4, `rse_surcharge_price_basis`): ``lmp`` = the BAA's DA ELAP price
sum_n LDF_bn LMP_nt (LDFs renormalised over the buses priced), ``hub`` =
`baa_hours.hub_price_usd_per_mwh`, ``max`` = the larger. A missing component falls back to the
other one and `price_source` says so (e.g. ``hub (no lmp)``). A surcharge owed where no price at all
is available raises `ScenarioError`. Negative prices are floored at 0 (a surcharge never pays the
failing BAA).

Distribution (§7.5): per hour and direction, pool = sum of surcharges of the BAAs failing that
direction; shared among BAAs that passed it by NetExp (up) / NetImp (down) from the run's transfers
(NetExp_b = max(0, sum out - sum in) of `transfers.mw`). The largest share's credit is the pool
minus the others, so credits sum to the pool. A zero denominator leaves the pool undistributed
(reported in `undistributed_usd`, which like `pool_usd` is an hour-level value repeated on that
hour's rows).

CISO (§7.5): the BAA named ``CISO`` (else the reference BAA). Scenarios carry metered demand per
BAA only (`baa_hours.metered_demand_mw`, blank = the demand forecast), not per SC, so the
sub-allocation reports the BAA total with the rates each SC pays/receives per MWh: charge by
metered demand, credit by metered demand minus balanced ETC/TOR (`etc_tor_mw`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.errors import Problem, ScenarioError
from scenarios.scenario import Scenario

__all__ = ["RseResult", "rse_capability", "net_export_limit", "evaluate_rse", "classify",
           "surcharge_usd", "distribute_pool", "elap_prices", "write_rse", "rse_command",
           "TIER_FACTORS", "UP_TESTS", "DOWN_TESTS", "TEST_ORDER", "RSE_COLUMNS",
           "DISTRIBUTION_COLUMNS"]

# -- constants ---------------------------------------------------------------------------------
TIER_FACTORS: dict[int, float] = {0: 0.0, 1: 0.0, 2: 1.25, 3: 2.0}  # §7.3
DE_MINIMIS_FLOOR_MW = 10.0  # §7.3
DE_MINIMIS_SHARE = 0.01  # §7.3
TIER3_SHARE = 0.5  # §7.3 (50 % exactly is tier 2)
TOL_MW = 1e-6

UP_TESTS = ("energy", "as_ru", "as_ru_sr", "as_ru_sr_nr", "iru", "combined_up")
DOWN_TESTS = ("as_down", "ird", "oversupply")
TEST_ORDER = UP_TESTS + ("up",) + DOWN_TESTS + ("down",)

RSE_COLUMNS = ["baa", "test", "hour", "requirement_mw", "capacity_mw", "deficiency_mw",
               "passed", "tier", "surcharge_usd",
               "direction", "de_minimis_mw", "tier_basis_mw", "price_usd_per_mwh",
               "price_source", "binding_test"]
DISTRIBUTION_COLUMNS = ["direction", "hour", "baa", "pool_usd", "net_transfer_mw", "share",
                        "credit_usd", "undistributed_usd", "eligible"]
CISO_COLUMNS = ["direction", "hour", "baa", "party", "metered_demand_mw", "etc_tor_mw",
                "charge_basis_mw", "charge_usd", "charge_rate_usd_per_mwh", "credit_basis_mw",
                "credit_usd", "credit_rate_usd_per_mwh"]
NEC_COLUMNS = ["baa", "hour", "nec_mw", "enabled", "source", "supply_mw", "obligation_mw"]

_SUPPLY = ("thermal", "ver", "storage", "hydro", "import")
_AS_TYPES = ("thermal", "ver", "storage", "hydro")
_IR_TYPES = ("thermal", "storage", "hydro")


@dataclass(frozen=True)
class RseResult:
    """Outcome of `evaluate_rse` (spec §7): the `rse` results-contract table, the distribution of
    the surcharge pools, the CISO sub-allocation, the NEC used, and notes (price fall-backs)."""

    table: pd.DataFrame
    distribution: pd.DataFrame
    ciso_suballocation: pd.DataFrame
    nec: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pools(self) -> pd.DataFrame:
        """One row per direction and hour: pool_usd, credited_usd, undistributed_usd."""
        d = self.distribution
        if d.empty:
            return pd.DataFrame(columns=["direction", "hour", "pool_usd", "credited_usd",
                                         "undistributed_usd"])
        g = d.groupby(["direction", "hour"], sort=True)
        return pd.DataFrame({"pool_usd": g["pool_usd"].first(),
                             "credited_usd": g["credit_usd"].sum(),
                             "undistributed_usd": g["undistributed_usd"].first()}).reset_index()

    def overall(self, direction: str = "up") -> pd.DataFrame:
        """The overall rows ('up' or 'down') of the rse table."""
        return self.table[self.table["test"] == direction].reset_index(drop=True)


# -- tiers and surcharge (§7.3) -----------------------------------------------------------------
def de_minimis_mw(ir_requirement_mw: float) -> float:
    """DM = max(10 MW, 1 % of R^IR) (§7.3)."""
    return max(DE_MINIMIS_FLOOR_MW, DE_MINIMIS_SHARE * float(ir_requirement_mw))


def classify(deficiency_mw: float, ir_requirement_mw: float) -> int:
    """Tier of a deficiency (§7.3): 0 passed, 1 de minimis, 2 (<= 50 % of R^IR), 3 (above)."""
    d = float(deficiency_mw)
    if d <= TOL_MW:
        return 0
    if d <= de_minimis_mw(ir_requirement_mw) + 1e-9:
        return 1
    if d <= TIER3_SHARE * float(ir_requirement_mw) + 1e-9:
        return 2
    return 3


def surcharge_usd(deficiency_mw: float, ir_requirement_mw: float,
                  price_usd_per_mwh: float) -> float:
    """Surcharge = DEF x P x factor(tier) (§7.3); the price is floored at 0."""
    tier = classify(deficiency_mw, ir_requirement_mw)
    if TIER_FACTORS[tier] == 0.0:
        return 0.0
    return float(deficiency_mw) * max(0.0, float(price_usd_per_mwh)) * TIER_FACTORS[tier]


def _classify_vec(deficiency: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dm = np.maximum(DE_MINIMIS_FLOOR_MW, DE_MINIMIS_SHARE * basis)
    tier = np.where(deficiency <= TOL_MW, 0,
                    np.where(deficiency <= dm + 1e-9, 1,
                             np.where(deficiency <= TIER3_SHARE * basis + 1e-9, 2, 3)))
    return tier.astype("int64"), dm


# -- distribution (§7.5) -----------------------------------------------------------------------
def distribute_pool(pool_usd: float, weights: dict[str, float]) -> tuple[dict[str, float], float]:
    """Split `pool_usd` pro rata to non-negative `weights` (§7.5). Returns (credits,
    undistributed); credits sum to the pool exactly (the largest share takes the rounding
    remainder); a zero denominator leaves the whole pool undistributed."""
    w = {k: max(0.0, float(v)) for k, v in weights.items()}
    total = math.fsum(w.values())
    if pool_usd == 0.0:
        return {k: 0.0 for k in w}, 0.0
    if total <= 1e-9:
        return {k: 0.0 for k in w}, float(pool_usd)
    credits = {k: pool_usd * v / total for k, v in w.items()}
    top = max(w, key=lambda k: (w[k], k))
    credits[top] = pool_usd - math.fsum(v for k, v in credits.items() if k != top)
    return credits, 0.0


# -- capability (§7.1) -------------------------------------------------------------------------
def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy without `attrs` (the loader keeps CSV row numbers there, which pandas
    would otherwise try to compare when merging two loaded tables)."""
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def _table(scenario: Scenario, name: str) -> pd.DataFrame | None:
    df = scenario.tables.get(name)
    return None if df is None else _plain(df)


def _edam_baas(scenario: Scenario) -> list[str]:
    b = _table(scenario, "baas")
    return sorted(str(x) for x in b.loc[b["is_edam"].astype(bool), "baa"])


def _ramp_limit(minutes: float, rr: pd.Series) -> pd.Series:
    rr = rr.astype(float)
    if math.isinf(minutes):
        return pd.Series(np.inf, index=rr.index)
    return pd.Series(np.where(np.isinf(rr), np.inf, minutes * rr), index=rr.index)


def rse_capability(scenario: Scenario) -> pd.DataFrame:
    """Per resource-hour RSE capability from bids (§7.1) for physical supply resources of EDAM
    BAAs: cap_mw, bid_mw, self_schedule_mw, up_mw, mingen_mw, ru/sr/nr/rd_mw, the cumulative groups
    ru_sr_mw and ru_sr_nr_mw, iru_mw, ird_mw (see the module docstring for the rules)."""
    cols = ["resource", "hour", "baa", "sc", "type", "cap_mw", "bid_mw", "self_schedule_mw",
            "up_mw", "mingen_mw", "ru_mw", "sr_mw", "nr_mw", "rd_mw", "ru_sr_mw", "ru_sr_nr_mw",
            "iru_mw", "ird_mw"]
    r = _plain(scenario.resource_frame)
    r = r[r["baa"].isin(_edam_baas(scenario)) & r["type"].isin(_SUPPLY)].copy()
    if r.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    hours = scenario.hour_list
    grid = pd.MultiIndex.from_product([r["resource"].tolist(), hours], names=["resource", "hour"])
    f = pd.DataFrame(index=grid).reset_index()
    f = f.merge(r, on="resource", how="left")
    rh = _table(scenario, "resource_hours")
    if rh is not None and len(rh):
        f = f.merge(rh.rename(columns={"pmax_mw": "_pmax_t", "self_schedule_mw": "_ss_t"}),
                    on=["resource", "hour"], how="left")
    else:
        f["_pmax_t"] = np.nan
        f["_ss_t"] = np.nan
    cap = f["_pmax_t"].astype(float).fillna(f["pmax_mw"].astype(float))
    hy = _table(scenario, "hydro")
    if hy is not None and len(hy):
        eday = f["resource"].map(dict(zip(hy["resource"], hy["daily_energy_mwh"]))).astype(float)
        cap = np.where(f["type"] == "hydro", np.minimum(cap, eday / scenario.hours), cap)
    f["cap_mw"] = np.maximum(0.0, np.asarray(cap, dtype=float))
    ss = f["_ss_t"].astype(float).fillna(0.0)
    f["self_schedule_mw"] = ss

    th = _table(scenario, "thermal")
    flags = dict(zip(th["resource"], th["must_run"].astype(bool))) if th is not None else {}
    must_run = f["resource"].map(lambda r: bool(flags.get(r, False))).astype(bool)
    # the bids in force in each hour (hourly bids override the day-constant ones, scenarios.bids)
    eb = scenario.bids.energy_frame()
    rtype = dict(zip(r["resource"], r["type"]))
    supply = eb[(eb["side"] == "supply") & eb["resource"].map(rtype).isin(_SUPPLY)
                & (eb["mw"] > 0)]
    widths = supply.groupby(["resource", "hour"])["mw"].sum()
    key = pd.MultiIndex.from_frame(f[["resource", "hour"]])
    width_t = widths.reindex(key)
    has_bid = pd.Series(width_t.notna().to_numpy(), index=f.index)
    width = pd.Series(width_t.fillna(0.0).to_numpy(dtype=float), index=f.index)
    is_th = f["type"] == "thermal"
    bid = np.where(is_th, f["pmin_mw"].astype(float) + width, width)
    # no offer segment: a price taker up to Pmax in the clearing engine; a non-dispatchable VER
    # is fixed at its forecast
    fixed_ver = (f["type"] == "ver") & ~f["dispatchable"].astype(bool)
    f["bid_mw"] = np.where(~has_bid | fixed_ver, f["cap_mw"], bid)
    f["up_mw"] = np.minimum(f["cap_mw"], np.maximum(f["bid_mw"], ss))
    base_min = np.where(is_th & must_run, f["pmin_mw"].astype(float), 0.0)
    f["mingen_mw"] = np.minimum(f["cap_mw"], np.maximum(base_min, ss))

    ab = scenario.bids.availability_frame()
    bids = (ab.pivot_table(index=["resource", "hour"], columns="product", values="mw",
                           aggfunc="sum") if len(ab) else pd.DataFrame())

    def bid_of(product: str) -> pd.Series:
        """The hour's `product` bid MW of each resource-hour row of f (0 without one)."""
        if product in bids.columns:
            return pd.Series(bids[product].reindex(key).fillna(0.0).to_numpy(dtype=float),
                             index=f.index)
        return pd.Series(0.0, index=f.index)
    fifteen = f["fifteen_minute"].astype(bool)
    as_ok = f["type"].isin(_AS_TYPES) | ((f["type"] == "import") & fifteen)
    ir_ok = (f["type"].isin(_IR_TYPES) | ((f["type"] == "ver") & f["dispatchable"].astype(bool))
             | ((f["type"] == "import") & fifteen))
    st = _table(scenario, "storage")
    charge = (f["resource"].map(dict(zip(st["resource"], st["charge_max_mw"])))
              if st is not None and len(st) else pd.Series(np.nan, index=f.index))
    cap_dn = f["cap_mw"] + np.where(f["type"] == "storage", charge.fillna(0.0).astype(float), 0.0)
    t_as = float(getattr(scenario.parameters, "as_ramp_minutes", 10.0))
    up10 = _ramp_limit(t_as, f["ramp_up_mw_per_min"])
    dn10 = _ramp_limit(t_as, f["ramp_down_mw_per_min"])
    t_ir = float(scenario.parameters.ir_ramp_minutes)
    upir = _ramp_limit(t_ir, f["ramp_up_mw_per_min"])
    dnir = _ramp_limit(t_ir, f["ramp_down_mw_per_min"])

    def lim(x, *caps):
        out = np.asarray(x, dtype=float)
        for c in caps:
            out = np.minimum(out, np.asarray(c, dtype=float))
        return out
    z = 0.0
    f["ru_mw"] = np.where(as_ok, lim(bid_of("ru"), up10, f["cap_mw"]), z)
    f["sr_mw"] = np.where(as_ok, lim(bid_of("sr"), up10, f["cap_mw"]), z)
    f["nr_mw"] = np.where(as_ok, lim(bid_of("nr"), up10, f["cap_mw"]), z)
    f["rd_mw"] = np.where(as_ok, lim(bid_of("rd"), dn10, cap_dn), z)
    if scenario.parameters.rse_as_group_joint_cap:  # [A]: the joint 10-minute limit of §5.6
        f["ru_sr_mw"] = lim(f["ru_mw"] + f["sr_mw"], up10, f["cap_mw"])
        f["ru_sr_nr_mw"] = lim(f["ru_mw"] + f["sr_mw"] + f["nr_mw"], up10, f["cap_mw"])
    else:  # §7.2 S2: a group's capability is the sum of its products' CapAS
        f["ru_sr_mw"] = f["ru_mw"] + f["sr_mw"]
        f["ru_sr_nr_mw"] = f["ru_mw"] + f["sr_mw"] + f["nr_mw"]
    f["iru_mw"] = np.where(ir_ok, lim(bid_of("iru"), upir, f["cap_mw"]), z)
    f["ird_mw"] = np.where(ir_ok, lim(bid_of("ird"), dnir, cap_dn), z)
    out = f[cols].sort_values(["resource", "hour"], kind="stable").reset_index(drop=True)
    return out


def _baa_hours_frame(scenario: Scenario) -> pd.DataFrame:
    """EDAM BAA x hour grid with the baa_hours inputs and summed capability."""
    baas = _edam_baas(scenario)
    grid = pd.MultiIndex.from_product([baas, scenario.hour_list], names=["baa", "hour"])
    bh = _table(scenario, "baa_hours")
    bh["baa"] = bh["baa"].astype(str)
    bh = bh.set_index(["baa", "hour"]).reindex(grid)
    cap = rse_capability(scenario)
    sums = ["up_mw", "mingen_mw", "ru_mw", "ru_sr_mw", "ru_sr_nr_mw", "rd_mw", "iru_mw", "ird_mw"]
    agg = cap.groupby(["baa", "hour"])[sums].sum() if len(cap) else pd.DataFrame(columns=sums)
    agg = agg.reindex(grid).fillna(0.0)
    out = pd.concat([bh, agg], axis=1)
    for c in ["ru_requirement_mw", "rd_requirement_mw", "sr_requirement_mw", "nr_requirement_mw",
              "iru_requirement_mw", "ird_requirement_mw", "additional_margin_mw",
              "rse_net_import_mw", "etc_tor_mw"]:
        out[c] = out[c].astype(float).fillna(0.0)
    out["supply_mw"] = out["up_mw"] + out["rse_net_import_mw"]  # S^RSE
    return out


# -- NEC (§5.2) --------------------------------------------------------------------------------
def net_export_limit(scenario: Scenario) -> pd.DataFrame:
    """NEC per EDAM BAA and hour (§5.2): the submitted `baa_hours.nec_mw`, else
    max(0, S^RSE - (D^F + Req^RU + Req^SR + Req^NR + CF*R^IRU + AM)). Columns baa, hour, nec_mw,
    enabled (`baas.nec_enabled`: the clearing enforces only those), source (submitted/formula),
    supply_mw (S^RSE), obligation_mw (the bracket)."""
    f = _baa_hours_frame(scenario)
    baas = _table(scenario, "baas").assign(baa=lambda d: d["baa"].astype(str)).set_index("baa")
    b = f.index.get_level_values("baa")
    cf = b.map(baas["confidence_factor"].astype(float)).to_numpy()
    enabled = b.map(baas["nec_enabled"].astype(bool)).to_numpy().astype(bool)
    obligation = (f["demand_forecast_mw"].astype(float) + f["ru_requirement_mw"]
                  + f["sr_requirement_mw"] + f["nr_requirement_mw"]
                  + cf * f["iru_requirement_mw"] + f["additional_margin_mw"])
    formula = np.maximum(0.0, f["supply_mw"] - obligation)
    submitted = f["nec_mw"].astype(float)
    out = pd.DataFrame({"nec_mw": np.where(submitted.notna(), submitted, formula),
                        "enabled": enabled,
                        "source": np.where(submitted.notna(), "submitted", "formula"),
                        "supply_mw": f["supply_mw"].to_numpy(),
                        "obligation_mw": obligation.to_numpy()}, index=f.index).reset_index()
    return out[NEC_COLUMNS]


# -- prices (§7.4) -----------------------------------------------------------------------------
def elap_prices(scenario: Scenario, nodal_prices: pd.DataFrame) -> pd.Series:
    """DA ELAP price per (baa, hour) = sum_n LDF_bn LMP_nt (§6.1), LDFs renormalised over the
    buses priced (a BAA whose priced buses carry no LDF uses their plain mean)."""
    p = nodal_prices[["bus", "hour", "lmp"]].copy()
    p["bus"] = p["bus"].astype(str)
    p["hour"] = p["hour"].astype(int)
    p["baa"] = p["bus"].map(scenario.bus_baa)
    unknown = p["baa"].isna()
    if unknown.any():
        raise ScenarioError(Problem("nodal_prices.csv", None, "bus",
                                    f"unknown bus '{p.loc[unknown, 'bus'].iloc[0]}'",
                                    "a bus of the scenario"))
    p["ldf"] = p["bus"].map(scenario.ldf).fillna(0.0).astype(float)
    p["w"] = p["ldf"] * p["lmp"].astype(float)
    g = p.groupby(["baa", "hour"])
    wsum, ldf_sum, mean = g["w"].sum(), g["ldf"].sum(), g["lmp"].mean()
    return pd.Series(np.where(ldf_sum > 1e-12, wsum / ldf_sum.where(ldf_sum > 1e-12, 1.0), mean),
                     index=wsum.index, name="elap")


def _surcharge_prices(scenario: Scenario, f: pd.DataFrame,
                      prices: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    basis = scenario.parameters.rse_surcharge_price_basis
    hub = f["hub_price_usd_per_mwh"].astype(float).to_numpy()
    if prices is not None and len(prices):
        lmp = elap_prices(scenario, prices).reindex(f.index).to_numpy(dtype=float)
    else:
        lmp = np.full(len(f), np.nan)
    has_l, has_h = ~np.isnan(lmp), ~np.isnan(hub)
    price = np.full(len(f), np.nan)
    src = np.full(len(f), "none", dtype=object)
    if basis == "lmp":
        price = np.where(has_l, lmp, hub)
        src = np.where(has_l, "lmp", np.where(has_h, "hub (no lmp)", "none"))
    elif basis == "hub":
        price = np.where(has_h, hub, lmp)
        src = np.where(has_h, "hub", np.where(has_l, "lmp (no hub)", "none"))
    else:
        price = np.where(has_l & has_h, np.maximum(lmp, hub), np.where(has_l, lmp, hub))
        src = np.where(has_l & has_h, np.where(lmp >= hub, "max: lmp", "max: hub"),
                       np.where(has_l, "lmp (no hub)", np.where(has_h, "hub (no lmp)", "none")))
    return price.astype(float), src.astype(object)


# -- evaluation (§7.2-§7.5) ---------------------------------------------------------------------
def evaluate_rse(scenario: Scenario, prices: pd.DataFrame | None = None,
                 transfers: pd.DataFrame | None = None, *,
                 ciso_baa: str | None = None) -> RseResult:
    """Run the RSE (§7): per EDAM BAA and hour the tests of §7.2, deficiencies, tiers and
    surcharges (§7.3, §7.4 with the run's `nodal_prices` as `prices`), the pool distribution by
    the run's `transfers` (§7.5) and the CISO sub-allocation. Without transfers nobody has a net
    export/import, so any pool is reported undistributed. The [A] options
    `rse_combined_includes_am` and `rse_as_group_joint_cap` come from `scenario.parameters`."""
    f = _baa_hours_frame(scenario)
    n = len(f)
    df_ = f["demand_forecast_mw"].astype(float).to_numpy()
    req = {a: f[f"{a}_requirement_mw"].to_numpy(dtype=float)
           for a in ("ru", "sr", "nr", "rd", "iru", "ird")}
    am = (f["additional_margin_mw"].to_numpy(dtype=float)
          if scenario.parameters.rse_combined_includes_am else np.zeros(n))  # [A], §7.2 S4
    s = f["supply_mw"].to_numpy(dtype=float)
    nsi = f["rse_net_import_mw"].to_numpy(dtype=float)
    tests: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "energy": (df_, s),
        "as_ru": (req["ru"], f["ru_mw"].to_numpy(dtype=float)),
        "as_ru_sr": (req["ru"] + req["sr"], f["ru_sr_mw"].to_numpy(dtype=float)),
        "as_ru_sr_nr": (req["ru"] + req["sr"] + req["nr"],
                        f["ru_sr_nr_mw"].to_numpy(dtype=float)),
        "iru": (req["iru"], f["iru_mw"].to_numpy(dtype=float)),
        "combined_up": (df_ + req["ru"] + req["sr"] + req["nr"] + req["iru"] + am, s),
        "as_down": (req["rd"], f["rd_mw"].to_numpy(dtype=float)),
        "ird": (req["ird"], f["ird_mw"].to_numpy(dtype=float)),
        "oversupply": (df_ - req["rd"], f["mingen_mw"].to_numpy(dtype=float) + nsi),
    }
    surplus = {k: (r - c if k == "oversupply" else c - r) for k, (r, c) in tests.items()}
    deficiency = {k: np.where(-v > TOL_MW, -v, 0.0) for k, v in surplus.items()}
    price, src = _surcharge_prices(scenario, f, prices)
    frames = []
    idx = f.index.to_frame(index=False)
    overall: dict[str, dict[str, np.ndarray]] = {}
    for direction, names in (("up", UP_TESTS), ("down", DOWN_TESTS)):
        basis = req["iru"] if direction == "up" else req["ird"]
        for name in names:
            r, c = tests[name]
            tier, dm = _classify_vec(deficiency[name], basis)
            frames.append(_rows(idx, name, r, c, deficiency[name], tier, np.zeros(n), direction,
                                dm, basis, price, src, np.full(n, "", dtype=object)))
        d_mat = np.column_stack([deficiency[k] for k in names])
        # binding test: largest deficiency; when none, least surplus among tests with a requirement
        always = ("energy", "oversupply")
        s_mat = np.column_stack([np.where((np.abs(tests[k][0]) > TOL_MW) | (k in always),
                                          surplus[k], np.inf) for k in names])
        pick = np.where(d_mat.max(axis=1) > TOL_MW, d_mat.argmax(axis=1), s_mat.argmin(axis=1))
        rows = np.arange(n)
        r_b = np.column_stack([tests[k][0] for k in names])[rows, pick]
        c_b = np.column_stack([tests[k][1] for k in names])[rows, pick]
        d_all = d_mat.max(axis=1)
        tier, dm = _classify_vec(d_all, basis)
        factor = np.array([TIER_FACTORS[k] for k in range(4)], dtype=float)[tier]
        owe = factor > 0
        missing = owe & np.isnan(price)
        if missing.any():
            bad = idx[missing].iloc[0]
            raise ScenarioError(Problem(
                "baa_hours.csv", None, "hub_price_usd_per_mwh",
                f"no surcharge price for BAA '{bad['baa']}' hour {int(bad['hour'])} "
                f"(basis {scenario.parameters.rse_surcharge_price_basis}, no LMP from a run)",
                "a hub index price, or a run directory with nodal_prices"))
        sur = np.where(owe, d_all * np.maximum(0.0, np.nan_to_num(price)) * factor, 0.0)
        binding = np.array(names, dtype=object)[pick]
        overall[direction] = {"deficiency": d_all, "surcharge": sur, "tier": tier}
        frames.append(_rows(idx, direction, r_b, c_b, d_all, tier, sur, direction, dm, basis,
                            price, src, binding))
    table = pd.concat(frames, ignore_index=True)
    order = {t: i for i, t in enumerate(TEST_ORDER)}
    table = (table.assign(_o=table["test"].map(order))
             .sort_values(["baa", "_o", "hour"], kind="stable").drop(columns="_o")
             .reset_index(drop=True))[RSE_COLUMNS]

    net = _net_transfers(transfers, f.index)
    distribution = _distribution(idx, overall, net)
    ciso = _ciso_suballocation(scenario, f, idx, overall, distribution, ciso_baa)
    notes = []
    fallback = pd.Series(src)
    for s_ in sorted(set(fallback) - {"lmp", "hub", "max: lmp", "max: hub"}):
        cnt = int((fallback == s_).sum())
        notes.append(f"surcharge price '{s_}' in {cnt} BAA-hours "
                     f"(basis {scenario.parameters.rse_surcharge_price_basis})")
    if transfers is None:
        notes.append("no transfers given: every net transfer is 0, pools stay undistributed")
    return RseResult(table=table, distribution=distribution, ciso_suballocation=ciso,
                     nec=net_export_limit(scenario), notes=tuple(notes))


def _rows(idx, test, req, cap, deficiency, tier, sur, direction, dm, basis, price, src, binding):
    n = len(idx)
    return pd.DataFrame({
        "baa": idx["baa"].to_numpy(), "test": np.full(n, test, dtype=object),
        "hour": idx["hour"].to_numpy().astype("int64"),
        "requirement_mw": np.asarray(req, dtype=float), "capacity_mw": np.asarray(cap, dtype=float),
        "deficiency_mw": np.asarray(deficiency, dtype=float),
        "passed": np.asarray(deficiency) <= TOL_MW, "tier": np.asarray(tier, dtype="int64"),
        "surcharge_usd": np.asarray(sur, dtype=float),
        "direction": np.full(n, direction, dtype=object), "de_minimis_mw": dm,
        "tier_basis_mw": np.asarray(basis, dtype=float), "price_usd_per_mwh": price,
        "price_source": src, "binding_test": binding})


def _net_transfers(transfers: pd.DataFrame | None, grid: pd.MultiIndex) -> pd.Series:
    """Σ out − Σ in of `transfers.mw` per (baa, hour), 0 where absent."""
    if transfers is None or not len(transfers):
        return pd.Series(0.0, index=grid)
    t = transfers.copy()
    t["hour"] = t["hour"].astype(int)
    t["mw"] = t["mw"].astype(float)
    out = t.groupby([t["from_baa"].astype(str), "hour"])["mw"].sum()
    inn = t.groupby([t["to_baa"].astype(str), "hour"])["mw"].sum()
    out.index.names = inn.index.names = ["baa", "hour"]
    return out.reindex(grid).fillna(0.0) - inn.reindex(grid).fillna(0.0)


def _distribution(idx: pd.DataFrame, overall: dict, net: pd.Series) -> pd.DataFrame:
    rows = []
    base = idx.assign(net=net.to_numpy())
    for direction in ("up", "down"):
        o = overall[direction]
        d = base.assign(passed=o["deficiency"] <= TOL_MW, sur=o["surcharge"])
        d["flow"] = np.maximum(0.0, d["net"] if direction == "up" else -d["net"])
        for h, g in d.groupby("hour", sort=True):
            pool = math.fsum(g["sur"])
            weights = {b: (fl if ok else 0.0)
                       for b, fl, ok in zip(g["baa"], g["flow"], g["passed"])}
            credits, undist = distribute_pool(pool, weights)
            total = math.fsum(weights.values())
            for b, fl, ok in zip(g["baa"], g["flow"], g["passed"]):
                share = (weights[b] / total) if total > 1e-9 else 0.0
                rows.append((direction, int(h), b, pool, float(fl), share, credits[b], undist,
                             bool(ok)))
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _ciso_suballocation(scenario: Scenario, f: pd.DataFrame, idx: pd.DataFrame, overall: dict,
                        distribution: pd.DataFrame, ciso_baa: str | None) -> pd.DataFrame:
    baas = set(idx["baa"])
    ciso = ciso_baa or ("CISO" if "CISO" in baas else scenario.reference_baa)
    if ciso not in baas:
        return pd.DataFrame(columns=CISO_COLUMNS)
    mask = (idx["baa"] == ciso).to_numpy()
    fc = f[mask]
    ml = fc["metered_demand_mw"].astype(float).fillna(fc["demand_forecast_mw"].astype(float))
    etc = fc["etc_tor_mw"].astype(float)
    rows = []
    for direction in ("up", "down"):
        charge = overall[direction]["surcharge"][mask]
        dd = distribution[(distribution["direction"] == direction) & (distribution["baa"] == ciso)]
        credit = dd.set_index("hour")["credit_usd"].reindex(fc.index.get_level_values("hour"))
        for i, h in enumerate(fc.index.get_level_values("hour")):
            m, e = float(ml.iloc[i]), float(etc.iloc[i])
            cb = max(0.0, m - e)
            cr = float(credit.iloc[i]) if not np.isnan(credit.iloc[i]) else 0.0
            ch = float(charge[i])
            rows.append((direction, int(h), ciso, "ALL", m, e, m, ch, ch / m if m > 0 else 0.0,
                         cb, cr, cr / cb if cb > 0 else 0.0))
    return pd.DataFrame(rows, columns=CISO_COLUMNS)


# -- output and CLI ------------------------------------------------------------------------------
def write_rse(result: RseResult, out_dir: str | os.PathLike, fmt: str = "csv", *,
              overwrite: bool = False, forbid_inside: tuple = ()) -> list[Path]:
    """Write rse, rse_distribution, rse_ciso_suballocation and rse_nec (CSV or Parquet) into the
    folder `out_dir`, atomically and safely (clearing/outputs.py, kind "rse"): a folder that
    exists and is not an earlier `edam rse` output is refused, an earlier one is replaced only
    with `overwrite`, and a failure leaves nothing partial."""
    from clearing.outputs import write_output_dir
    from clearing.results import typed
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be 'csv' or 'parquet'")
    tables = {"rse": result.table, "rse_distribution": result.distribution,
              "rse_ciso_suballocation": result.ciso_suballocation, "rse_nec": result.nec}

    def fill(tmp: Path) -> None:
        for name, df in tables.items():
            df = typed(name, df)  # declared column types, no -0 (clearing.results.COLUMN_TYPES)
            if fmt == "csv":
                df.to_csv(tmp / f"{name}.{fmt}", index=False, lineterminator="\n")
            else:
                df.to_parquet(tmp / f"{name}.{fmt}", index=False)

    out = write_output_dir(out_dir, "rse", fill, overwrite=overwrite, forbid_inside=forbid_inside)
    return [out / f"{name}.{fmt}" for name in tables]


_RUN_DTYPES = {"bus": str, "baa": str, "interface": str, "from_baa": str, "to_baa": str}


def _read_run_table(run_dir: Path, name: str) -> pd.DataFrame:
    for ext in ("csv", "parquet"):
        p = run_dir / f"{name}.{ext}"
        if p.exists():
            if ext == "csv":
                return pd.read_csv(p, dtype=_RUN_DTYPES, keep_default_na=True)
            df = pd.read_parquet(p)
            for c in set(_RUN_DTYPES) & set(df.columns):
                df[c] = df[c].astype(str)
            return df
    raise ScenarioError(Problem(f"{name}.csv", None, None, f"file missing in {run_dir}",
                                f"the run's {name} table"))


def rse_command(scenario_path: str, run_dir: str | None, out: str,
                overrides: dict | None = None, overwrite: bool = False) -> int:
    """`edam rse SCENARIO [--run DIR] --out DIR [--overwrite]`: evaluate the RSE, write its
    tables, print a per-BAA summary; returns 0. Bad input raises `ScenarioError`, a refused
    output folder `OutputPathError` (checked before anything is evaluated; the CLI prints
    either)."""
    from clearing.outputs import check_output_target
    from scenarios import load_scenario

    scenario = load_scenario(scenario_path, overrides or None)
    forbid = tuple(p for p in (scenario.source_dir, run_dir) if p)
    check_output_target(out, "rse", overwrite=overwrite, forbid_inside=forbid)
    prices = transfers = None
    if run_dir:
        rd = Path(run_dir)
        if not rd.is_dir():
            raise ScenarioError(Problem(str(rd), None, None, "no such folder", "a run directory"))
        prices = _read_run_table(rd, "nodal_prices")
        transfers = _read_run_table(rd, "transfers")
    result = evaluate_rse(scenario, prices, transfers)
    write_rse(result, out, overwrite=overwrite, forbid_inside=forbid)
    print(_summary(result, scenario))
    return 0


def _summary(result: RseResult, scenario: Scenario) -> str:
    t = result.table
    lines = [f"RSE {scenario.name} {scenario.trade_date} "
             f"(price basis {scenario.parameters.rse_surcharge_price_basis})"]
    dist = result.distribution
    credits = dist.groupby("baa")["credit_usd"].sum() if len(dist) else pd.Series(dtype=float)
    for b, g in t.groupby("baa", sort=True):
        parts = []
        for d in ("up", "down"):
            o = g[g["test"] == d]
            fails = o[~o["passed"]]
            if fails.empty:
                parts.append(f"{d}: pass")
            else:
                hrs = ",".join(str(h) for h in fails["hour"])
                tests = "/".join(sorted(set(fails["binding_test"])))
                parts.append(f"{d}: FAIL h{hrs} ({tests}, max tier {int(fails['tier'].max())}, "
                             f"${fails['surcharge_usd'].sum():,.2f})")
        cr = float(credits.get(b, 0.0))
        lines.append(f"  {b}: " + "; ".join(parts) + f"; credit ${cr:,.2f}")
    pools = result.pools
    und = float(pools["undistributed_usd"].sum()) if len(pools) else 0.0
    tot = float(pools["pool_usd"].sum()) if len(pools) else 0.0
    lines.append(f"  pools ${tot:,.2f}, undistributed ${und:,.2f}")
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)
