"""Day-ahead resource sufficiency evaluation (spec §7, worked example §11.9).

Expected numbers are computed by hand in each test from the inputs, not copied from output.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clearing.market.rse import (TIER_FACTORS, classify, distribute_pool, evaluate_rse, net_export_limit,
                          rse_capability, rse_command, surcharge_usd, write_rse)
from scenarios import DEFAULT_SCENARIO, ScenarioError, load_scenario, write_scenario
from scenarios.build import make_scenario


# --------------------------------------------------------------------------------------------
# builders
def _scenario(baas: dict[str, dict], resources: list[dict], energy_bids: list[dict],
              baa_hours: dict[str, dict[str, list]], hours: int, *, availability=None,
              resource_hours=None, thermal=None, hydro=None, interfaces=None, parameters=None):
    """One bus per BAA (bus id = BAA id lower-cased), buses chained by branches."""
    names = list(baas)
    buses = [dict(bus=b.lower(), baa=b) for b in names]
    branches = [dict(branch=f"l{i}", from_bus=names[i].lower(), to_bus=names[i + 1].lower(),
                     reactance_pu=0.1, rating_mw=10_000) for i in range(len(names) - 1)]
    bh = []
    for b in names:
        cols = baa_hours[b]
        for h in range(1, hours + 1):
            row = {"baa": b, "hour": h}
            for k, v in cols.items():
                row[k] = v[h - 1] if isinstance(v, (list, tuple)) else v
            bh.append(row)
    demand = [dict(bus=r["baa"].lower(), hour=r["hour"], fixed_demand_mw=r["demand_forecast_mw"])
              for r in bh]
    itf = interfaces or []
    tables = dict(
        baas=[dict(baa=b, **v) for b, v in baas.items()], buses=buses, branches=branches,
        interfaces=[dict(interface=i, from_baa=o, to_baa=e) for i, o, e in itf],
        interface_hours=[dict(interface=i, hour=h, limit_mw=1000.0) for i, _, _ in itf
                         for h in range(1, hours + 1)],
        resources=resources, energy_bids=energy_bids, demand=demand, baa_hours=bh,
        thermal=thermal or [dict(resource=r["resource"]) for r in resources
                            if r["type"] == "thermal"],
    )
    tables = {k: (v if len(v) else None) for k, v in tables.items()}
    if availability:
        tables["availability_bids"] = availability
    if resource_hours:
        tables["resource_hours"] = resource_hours
    if hydro:
        tables["hydro"] = hydro
    return make_scenario(tables, name="hand", hours=hours, parameters=parameters)


def _row(result, baa, test, hour):
    t = result.table
    r = t[(t["baa"] == baa) & (t["test"] == test) & (t["hour"] == hour)]
    assert len(r) == 1
    return r.iloc[0]


# --------------------------------------------------------------------------------------------
# §7.3 tiers and the settlement training's numbers (§11.9)
def test_training_examples_pure():
    price = 50.0
    # requirement 100, 50 MW short: DM = max(10, 1) = 10 < 50 <= 0.5*100 -> tier 2
    assert classify(50, 100) == 2
    assert surcharge_usd(50, 100, price) == 50 * 50 * 1.25 == 3125.0
    # 60 MW short: 60 > 50 -> tier 3, factor 2
    assert classify(60, 100) == 3
    assert surcharge_usd(60, 100, price) == 60 * 50 * 2.0 == 6000.0
    # 9 MW (and the spec's 8 MW) short: <= 10 -> de minimis, nothing to pay
    for d in (8, 9, 10):
        assert classify(d, 100) == 1
        assert surcharge_usd(d, 100, price) == 0.0
    # requirement 1,000: DM = max(10, 10) = 10; 12 MW short -> tier 2, 12*50*1.25 = 750
    assert classify(10, 1000) == 1
    assert surcharge_usd(12, 1000, price) == 12 * 50 * 1.25 == 750.0
    # requirement 2,000: DM = max(10, 20) = 20 -> 19 and 20 MW short are tier 1; 21 is tier 2
    assert classify(19, 2000) == 1 and surcharge_usd(19, 2000, price) == 0.0
    assert classify(20, 2000) == 1
    assert classify(21, 2000) == 2 and surcharge_usd(21, 2000, price) == 21 * 50 * 1.25
    # no shortfall -> tier 0 (passed)
    assert classify(0, 100) == 0
    assert TIER_FACTORS == {0: 0.0, 1: 0.0, 2: 1.25, 3: 2.0}


def _iru_only(req_iru: list[float], iru_bid: float, hub: float = 50.0):
    """One BAA with ample energy; only its IRU test can fail."""
    n = len(req_iru)
    return _scenario(
        {"CISO": dict(is_reference=True)},
        [dict(resource="g", type="thermal", bus="ciso", pmax_mw=5000.0)],
        [dict(resource="g", segment=1, mw=5000.0, price_usd_per_mwh=20.0)],
        {"CISO": dict(demand_forecast_mw=[100.0] * n, iru_requirement_mw=req_iru,
                      hub_price_usd_per_mwh=hub)},
        n, availability=[dict(resource="g", product="iru", mw=iru_bid, price_usd_per_mwh=1.0)],
        parameters={"rse_surcharge_price_basis": "hub"})


def test_training_examples_end_to_end():
    # IRU capability 50 MW (bid 50, ramp unlimited); requirements by hour:
    #  h1 100 -> short 50 = 50 % -> tier 2, 50*50*1.25 = 3,125
    #  h2 110 -> short 60 > 55 -> tier 3, 60*50*2 = 6,000
    #  h3  59 -> short 9 <= DM 10 -> tier 1, $0
    #  h4 2,050 with capability 50: short 2,000 -> tier 3 (sanity); h5 50 -> passes
    res = evaluate_rse(_iru_only([100.0, 110.0, 59.0, 2050.0, 50.0], 50.0))
    expected = {1: (50.0, 2, 50 * 50 * 1.25), 2: (60.0, 3, 60 * 50 * 2.0), 3: (9.0, 1, 0.0),
                4: (2000.0, 3, 2000 * 50 * 2.0), 5: (0.0, 0, 0.0)}
    for h, (d, tier, usd) in expected.items():
        iru = _row(res, "CISO", "iru", h)
        up = _row(res, "CISO", "up", h)
        assert iru["deficiency_mw"] == pytest.approx(d)
        assert up["deficiency_mw"] == pytest.approx(d) and up["tier"] == tier
        assert up["surcharge_usd"] == pytest.approx(usd)
        assert iru["surcharge_usd"] == 0.0  # only the overall rows carry money
        assert bool(up["passed"]) == (d == 0)
        assert up["binding_test"] == ("iru" if d > 0 else up["binding_test"])
        assert _row(res, "CISO", "energy", h)["passed"]
    assert _row(res, "CISO", "up", 1)["de_minimis_mw"] == 10.0
    assert _row(res, "CISO", "up", 4)["de_minimis_mw"] == pytest.approx(20.5)
    # everything failing sits in one BAA with nobody to receive it -> reported undistributed
    pools = res.pools.set_index(["direction", "hour"])
    assert pools.loc[("up", 1), "undistributed_usd"] == 3125.0
    assert pools.loc[("up", 2), "pool_usd"] == 6000.0


def test_one_percent_rule_end_to_end():
    # requirement 2,000, capability 1,981: 19 MW short, DM = 20 -> tier 1, no surcharge;
    # requirement 1,000, capability 1,981 -> passes
    res = evaluate_rse(_iru_only([2000.0, 1000.0], 1981.0))
    up = _row(res, "CISO", "up", 1)
    assert up["deficiency_mw"] == pytest.approx(19.0) and up["de_minimis_mw"] == 20.0
    assert up["tier"] == 1 and up["surcharge_usd"] == 0.0 and not up["passed"]
    assert _row(res, "CISO", "up", 2)["tier"] == 0


# --------------------------------------------------------------------------------------------
# §7.5 distribution
def test_distribution_training_example():
    # pool $3,125; B2 net export 300, B3 100, B4 a net importer (0)
    credits, undist = distribute_pool(3125.0, {"B2": 300.0, "B3": 100.0, "B4": 0.0})
    assert credits == {"B2": 3125 * 300 / 400, "B3": 3125 * 100 / 400, "B4": 0.0}
    assert credits["B2"] == 2343.75 and credits["B3"] == 781.25
    assert sum(credits.values()) == 3125.0 and undist == 0.0
    # awkward ratios still sum to the pool exactly
    credits, undist = distribute_pool(1000.0, {"X": 7.0, "Y": 3.0, "Z": 11.0})
    assert math.fsum(credits.values()) == 1000.0
    assert credits["X"] == pytest.approx(1000 * 7 / 21) and credits["Y"] == pytest.approx(1000 * 3 / 21)
    # nobody qualifies -> undistributed
    credits, undist = distribute_pool(500.0, {"X": 0.0})
    assert credits == {"X": 0.0} and undist == 500.0


def _three_baas(b1_iru_bid: float = 50.0):
    """B1 fails its IRU test (requirement 100, capability b1_iru_bid); B2, B3 pass everything."""
    return _scenario(
        {"B1": dict(is_reference=True), "B2": {}, "B3": {}},
        [dict(resource="g1", type="thermal", bus="b1", pmax_mw=1000.0),
         dict(resource="g2", type="thermal", bus="b2", pmax_mw=1000.0),
         dict(resource="g3", type="thermal", bus="b3", pmax_mw=1000.0)],
        [dict(resource=r, segment=1, mw=1000.0, price_usd_per_mwh=20.0) for r in ("g1", "g2", "g3")],
        {b: dict(demand_forecast_mw=200.0, iru_requirement_mw=100.0 if b == "B1" else 0.0,
                 hub_price_usd_per_mwh=50.0) for b in ("B1", "B2", "B3")},
        1, availability=[dict(resource="g1", product="iru", mw=b1_iru_bid, price_usd_per_mwh=1.0)],
        interfaces=[("B2_B1", "B2", "B1"), ("B3_B1", "B3", "B1"), ("B1_B3", "B1", "B3")],
        parameters={"rse_surcharge_price_basis": "hub"})


def test_distribution_three_baas_end_to_end():
    sc = _three_baas()
    # transfers: B2 -> B1 300, B3 -> B1 150, B1 -> B3 50 (so B3's net export is 150 - 50 = 100)
    transfers = pd.DataFrame([
        dict(interface="B2_B1", hour=1, from_baa="B2", to_baa="B1", mw=300.0, limit_mw=1000.0,
             shadow_price=0.0),
        dict(interface="B3_B1", hour=1, from_baa="B3", to_baa="B1", mw=150.0, limit_mw=1000.0,
             shadow_price=0.0),
        dict(interface="B1_B3", hour=1, from_baa="B1", to_baa="B3", mw=50.0, limit_mw=1000.0,
             shadow_price=0.0)])
    res = evaluate_rse(sc, transfers=transfers)
    pool = 50 * 50 * 1.25  # B1: 50 MW short of 100 -> tier 2 at $50
    assert _row(res, "B1", "up", 1)["surcharge_usd"] == pool
    d = res.distribution
    up = d[(d["direction"] == "up") & (d["hour"] == 1)].set_index("baa")
    assert (up["pool_usd"] == pool).all()
    assert up.loc["B2", "net_transfer_mw"] == 300.0 and up.loc["B3", "net_transfer_mw"] == 100.0
    assert up.loc["B1", "net_transfer_mw"] == 0.0 and not up.loc["B1", "eligible"]
    assert up.loc["B2", "share"] == 0.75 and up.loc["B3", "share"] == 0.25
    assert up.loc["B2", "credit_usd"] == pool * 300 / 400 == 2343.75
    assert up.loc["B3", "credit_usd"] == pool * 100 / 400 == 781.25
    assert up.loc["B1", "credit_usd"] == 0.0
    assert up["credit_usd"].sum() == pool and (up["undistributed_usd"] == 0.0).all()
    # downward pool is empty
    dn = d[d["direction"] == "down"]
    assert (dn["pool_usd"] == 0.0).all() and (dn["credit_usd"] == 0.0).all()


def test_undistributed_without_exporters():
    sc = _three_baas()
    pool = 50 * 50 * 1.25
    for transfers in (None, pd.DataFrame([dict(interface="B2_B1", hour=1, from_baa="B2",
                                               to_baa="B1", mw=0.0, limit_mw=0.0,
                                               shadow_price=0.0)])):
        res = evaluate_rse(sc, transfers=transfers)  # phase 1: no economic transfer
        p = res.pools.set_index(["direction", "hour"])
        assert p.loc[("up", 1), "pool_usd"] == pool
        assert p.loc[("up", 1), "undistributed_usd"] == pool
        assert p.loc[("up", 1), "credited_usd"] == 0.0
    # only the failing BAA exports: nobody who passed qualifies either
    res = evaluate_rse(sc, transfers=pd.DataFrame([dict(interface="B1_B3", hour=1, from_baa="B1",
                                                        to_baa="B3", mw=80.0, limit_mw=100.0,
                                                        shadow_price=0.0)]))
    p = res.pools.set_index(["direction", "hour"])
    assert p.loc[("up", 1), "undistributed_usd"] == pool


# --------------------------------------------------------------------------------------------
# a hand scenario: one BAA's energy bids cut
HOURS = 4
DF_PACE = [318.0, 380.0, 520.0, 560.0]
VER_FORECAST = [0.0, 50.0, 150.0, 100.0]
HUB_PACE = [30.0, 40.0, 50.0, 60.0]


def _hand(cut: bool = False):
    g_e_bids = [150.0, 150.0] if cut else [150.0, 150.0, 150.0]
    resources = [
        dict(resource="g_c", type="thermal", bus="ciso", pmin_mw=100.0, pmax_mw=1000.0,
             ramp_up_mw_per_min=10.0, ramp_down_mw_per_min=10.0),
        dict(resource="g_e", type="thermal", bus="pace", pmin_mw=50.0, pmax_mw=500.0,
             ramp_up_mw_per_min=5.0, ramp_down_mw_per_min=5.0),
        dict(resource="w_e", type="ver", bus="pace", pmax_mw=200.0),
        dict(resource="h_w", type="hydro", bus="pacw", pmax_mw=300.0),
        dict(resource="v_w", type="virtual_supply", bus="pacw", pmax_mw=500.0),
        dict(resource="x_w", type="export", bus="pacw", pmax_mw=100.0),
    ]
    bids = ([dict(resource="g_c", segment=i + 1, mw=300.0, price_usd_per_mwh=20.0 + i) for i in range(3)]
            + [dict(resource="g_e", segment=i + 1, mw=w, price_usd_per_mwh=25.0 + i)
               for i, w in enumerate(g_e_bids)]
            + [dict(resource="w_e", segment=1, mw=200.0, price_usd_per_mwh=0.0),
               dict(resource="h_w", segment=1, mw=300.0, price_usd_per_mwh=10.0),
               dict(resource="v_w", segment=1, mw=500.0, price_usd_per_mwh=5.0),
               dict(resource="x_w", segment=1, mw=100.0, price_usd_per_mwh=60.0)])
    return _scenario(
        {"CISO": dict(is_reference=True), "PACE": {}, "PACW": {}},
        resources, bids,
        {"CISO": dict(demand_forecast_mw=[600.0, 700.0, 800.0, 750.0], iru_requirement_mw=100.0,
                      ru_requirement_mw=50.0, hub_price_usd_per_mwh=45.0,
                      metered_demand_mw=700.0, etc_tor_mw=100.0),
         "PACE": dict(demand_forecast_mw=DF_PACE, iru_requirement_mw=40.0,
                      hub_price_usd_per_mwh=HUB_PACE),
         "PACW": dict(demand_forecast_mw=200.0, hub_price_usd_per_mwh=35.0)},
        HOURS,
        availability=[dict(resource="g_c", product="iru", mw=200.0, price_usd_per_mwh=1.0),
                      dict(resource="g_c", product="ru", mw=100.0, price_usd_per_mwh=1.0),
                      dict(resource="g_e", product="iru", mw=60.0, price_usd_per_mwh=1.0)],
        resource_hours=[dict(resource="w_e", hour=h, pmax_mw=VER_FORECAST[h - 1])
                        for h in range(1, HOURS + 1)],
        thermal=[dict(resource="g_c", must_run=True), dict(resource="g_e")],
        hydro=[dict(resource="h_w", daily_energy_mwh=960.0)],
        interfaces=[("CISO_PACE", "CISO", "PACE"), ("PACW_CISO", "PACW", "CISO")],
        parameters={"rse_surcharge_price_basis": "hub"})


def test_capability_rules():
    cap = rse_capability(_hand()).set_index(["resource", "hour"])
    assert "v_w" not in cap.index.get_level_values(0)  # virtuals excluded
    assert "x_w" not in cap.index.get_level_values(0)  # exports excluded
    # thermal: Pmin 50 + 3 x 150 = 500 = Pmax
    assert cap.loc[("g_e", 1), "up_mw"] == 50 + 450
    # VER: min(forecast, bid 200)
    assert [cap.loc[("w_e", h), "up_mw"] for h in range(1, 5)] == VER_FORECAST
    # hydro: min(Pmax 300, 960 MWh / 4 h = 240)
    assert cap.loc[("h_w", 1), "up_mw"] == 240.0
    # IRU: min(bid 200, 15 min x 10 MW/min = 150); RU: min(100, 10 x 10) = 100
    assert cap.loc[("g_c", 1), "iru_mw"] == 150.0 and cap.loc[("g_c", 1), "ru_mw"] == 100.0
    assert cap.loc[("g_e", 1), "iru_mw"] == 60.0  # min(60, 15 x 5 = 75)
    # MinGen: the must-run unit's Pmin
    assert cap.loc[("g_c", 1), "mingen_mw"] == 100.0 and cap.loc[("g_e", 1), "mingen_mw"] == 0.0
    cut = rse_capability(_hand(cut=True)).set_index(["resource", "hour"])
    assert cut.loc[("g_e", 1), "up_mw"] == 50 + 300
    # no offer at all: a $0 price taker up to Pmax in the clearing engine -> counted at Pmax/forecast
    sc = _hand()
    eb = sc.energy_bids
    nobid = rse_capability(sc.with_tables(energy_bids=eb[~eb["resource"].isin(["g_e", "w_e"])]))
    nobid = nobid.set_index(["resource", "hour"])
    assert nobid.loc[("g_e", 2), "up_mw"] == 500.0
    assert [nobid.loc[("w_e", h), "up_mw"] for h in range(1, 5)] == VER_FORECAST


def test_hand_scenario_all_pass():
    res = evaluate_rse(_hand())
    t = res.table
    assert t["passed"].all(), t[~t["passed"]]
    assert (t["surcharge_usd"] == 0).all()
    # PACE hour 4: combined requirement 560 + 40 = 600 equals S^RSE = 500 + 100 -> passes exactly
    r = _row(res, "PACE", "combined_up", 4)
    assert r["requirement_mw"] == 600.0 and r["capacity_mw"] == 600.0 and r["passed"]
    assert set(t["test"]) == {"energy", "as_ru", "as_ru_sr", "as_ru_sr_nr", "iru", "combined_up",
                              "up", "as_down", "ird", "oversupply", "down"}
    assert len(t) == 3 * 4 * 11


def test_hand_scenario_energy_bids_cut():
    transfers = pd.DataFrame(
        [dict(interface="CISO_PACE", hour=h, from_baa="CISO", to_baa="PACE", mw=300.0,
              limit_mw=1000.0, shadow_price=0.0) for h in range(1, 5)]
        + [dict(interface="PACW_CISO", hour=h, from_baa="PACW", to_baa="CISO", mw=100.0,
                limit_mw=1000.0, shadow_price=0.0) for h in range(1, 5)])
    res = evaluate_rse(_hand(cut=True), transfers=transfers)
    # PACE supply: 50 + 300 = 350 from g_e plus the VER forecast
    s = [350.0 + f for f in VER_FORECAST]  # 350, 400, 500, 450
    energy_def = [max(0.0, d - x) for d, x in zip(DF_PACE, s)]  # 0, 0, 20, 110
    comb_def = [max(0.0, d + 40.0 - x) for d, x in zip(DF_PACE, s)]  # 8, 20, 60, 150
    assert energy_def == [0.0, 0.0, 20.0, 110.0] and comb_def == [8.0, 20.0, 60.0, 150.0]
    dm, half = max(10.0, 0.01 * 40.0), 0.5 * 40.0  # 10, 20
    tiers = [1 if d <= dm else 2 if d <= half else 3 for d in comb_def]
    assert tiers == [1, 2, 3, 3]
    factors = [0.0, 1.25, 2.0, 2.0]
    expected_usd = [d * p * f for d, p, f in zip(comb_def, HUB_PACE, factors)]  # 0, 1000, 6000, 18000
    for h in range(1, 5):
        e = _row(res, "PACE", "energy", h)
        c = _row(res, "PACE", "combined_up", h)
        up = _row(res, "PACE", "up", h)
        assert e["deficiency_mw"] == pytest.approx(energy_def[h - 1])
        assert bool(e["passed"]) == (energy_def[h - 1] == 0)
        assert c["deficiency_mw"] == pytest.approx(comb_def[h - 1])
        assert up["deficiency_mw"] == pytest.approx(comb_def[h - 1])
        assert up["binding_test"] == "combined_up"
        assert up["tier"] == tiers[h - 1]
        assert up["surcharge_usd"] == pytest.approx(expected_usd[h - 1])
        assert up["price_usd_per_mwh"] == HUB_PACE[h - 1] and up["price_source"] == "hub"
        assert _row(res, "PACE", "iru", h)["passed"]
        assert _row(res, "PACE", "down", h)["passed"]
    failed = res.table[~res.table["passed"]]
    assert set(failed["baa"]) == {"PACE"}
    assert set(failed["test"]) == {"energy", "combined_up", "up"}
    # distribution: CISO net export 300 - 100 = 200, PACW 100 -> 2/3 and 1/3 of each hour's pool
    d = res.distribution
    for h in range(1, 5):
        up = d[(d["direction"] == "up") & (d["hour"] == h)].set_index("baa")
        pool = expected_usd[h - 1]
        assert up["pool_usd"].iloc[0] == pytest.approx(pool)
        assert up.loc["CISO", "credit_usd"] == pytest.approx(pool * 200 / 300)
        assert up.loc["PACW", "credit_usd"] == pytest.approx(pool * 100 / 300)
        assert up.loc["PACE", "credit_usd"] == 0.0
        assert up["credit_usd"].sum() == pool
    # CISO sub-allocation: credit by metered demand minus ETC/TOR (700 - 100 = 600 MW)
    cs = res.ciso_suballocation
    r = cs[(cs["direction"] == "up") & (cs["hour"] == 3)].iloc[0]
    assert r["baa"] == "CISO" and r["credit_usd"] == pytest.approx(6000 * 2 / 3)
    assert r["credit_basis_mw"] == 600.0
    assert r["credit_rate_usd_per_mwh"] == pytest.approx(6000 * 2 / 3 / 600)
    assert r["charge_usd"] == 0.0 and r["charge_basis_mw"] == 700.0


def test_additional_margin_and_nec():
    sc = _hand()
    bh = sc.baa_hours.copy()
    pace = bh["baa"] == "PACE"
    bh.loc[pace, "additional_margin_mw"] = 30.0
    sc2 = sc.with_tables(baa_hours=bh)
    # the spec (§7.2 S4 has no AM): PACE h4 combined requirement 560 + 40 = 600 vs S 600 -> passes
    assert not sc2.parameters.rse_combined_includes_am
    res = evaluate_rse(sc2)
    c = _row(res, "PACE", "combined_up", 4)
    assert c["requirement_mw"] == 600.0 and c["deficiency_mw"] == 0.0 and c["passed"]
    assert _row(res, "PACE", "up", 4)["passed"]
    # [A] rse_combined_includes_am: 560 + 40 + 30 = 630 vs 600 -> 30 short (tier 3: > 20)
    res_am = evaluate_rse(sc2.with_parameters(rse_combined_includes_am=True))
    c = _row(res_am, "PACE", "combined_up", 4)
    assert c["requirement_mw"] == 630.0 and c["deficiency_mw"] == 30.0
    assert _row(res_am, "PACE", "up", 4)["surcharge_usd"] == 30.0 * 60.0 * 2.0
    assert _row(res_am, "PACE", "energy", 4)["passed"]
    # NEC (§5.2): max(0, S - (D + RU + SR + NR + CF * R^IRU + AM)); CF 0.5 for PACE. AM is in the
    # NEC whatever the RSE option says
    baas = sc2.baas.copy()
    baas.loc[baas["baa"] == "PACE", "confidence_factor"] = 0.5
    baas.loc[baas["baa"] == "PACE", "nec_enabled"] = True
    bh.loc[(bh["baa"] == "CISO") & (bh["hour"] == 2), "nec_mw"] = 75.0
    sc3 = sc2.with_tables(baas=baas, baa_hours=bh)
    nec = net_export_limit(sc3).set_index(["baa", "hour"])
    nec_am = net_export_limit(sc3.with_parameters(rse_combined_includes_am=True))
    pd.testing.assert_frame_equal(nec.reset_index(), nec_am)
    s_pace = [500.0 + f for f in VER_FORECAST]
    for h in range(1, 5):
        expect = max(0.0, s_pace[h - 1] - (DF_PACE[h - 1] + 0.5 * 40.0 + 30.0))
        assert nec.loc[("PACE", h), "nec_mw"] == pytest.approx(expect)
        assert nec.loc[("PACE", h), "enabled"]
    # CISO: S = 1000 (g_c), D 600 + RU 50 + CF 0 x 100 -> 350 in hour 1; submitted 75 in hour 2
    assert nec.loc[("CISO", 1), "nec_mw"] == 1000.0 - 650.0
    assert nec.loc[("CISO", 2), "nec_mw"] == 75.0 and nec.loc[("CISO", 2), "source"] == "submitted"
    assert not nec.loc[("CISO", 1), "enabled"]


def _as_groups(joint_cap: bool):
    """One BAA, one thermal unit (Pmax 1000, ramp 5 MW/min: 50 MW in 10 minutes) bidding 40 MW
    each of RU, SR and NR; requirements RU 30, SR 30, NR 30; demand 10 MW; hub $50."""
    return _scenario(
        {"CISO": dict(is_reference=True)},
        [dict(resource="g", type="thermal", bus="ciso", pmax_mw=1000.0, ramp_up_mw_per_min=5.0,
              ramp_down_mw_per_min=5.0)],
        [dict(resource="g", segment=1, mw=1000.0, price_usd_per_mwh=20.0)],
        {"CISO": dict(demand_forecast_mw=10.0, ru_requirement_mw=30.0, sr_requirement_mw=30.0,
                      nr_requirement_mw=30.0, hub_price_usd_per_mwh=50.0)},
        1, availability=[dict(resource="g", product=p, mw=40.0, price_usd_per_mwh=1.0)
                         for p in ("ru", "sr", "nr")],
        parameters={"rse_surcharge_price_basis": "hub", "rse_as_group_joint_cap": joint_cap})


def test_as_groups_sum_their_products_by_default():
    """§7.1-§7.2: CapAS^a = min(bid 40, 10 x 5 = 50) = 40 per product; the groups are sums:
    {RU} 40 >= 30, {RU,SR} 80 >= 60, {RU,SR,NR} 120 >= 90 -> all pass."""
    sc = _as_groups(joint_cap=False)
    cap = rse_capability(sc).iloc[0]
    assert (cap["ru_mw"], cap["sr_mw"], cap["nr_mw"]) == (40.0, 40.0, 40.0)
    assert (cap["ru_sr_mw"], cap["ru_sr_nr_mw"]) == (80.0, 120.0)
    res = evaluate_rse(sc)
    for test, req, capacity in (("as_ru", 30.0, 40.0), ("as_ru_sr", 60.0, 80.0),
                                ("as_ru_sr_nr", 90.0, 120.0)):
        r = _row(res, "CISO", test, 1)
        assert (r["requirement_mw"], r["capacity_mw"], r["passed"]) == (req, capacity, True)
    assert _row(res, "CISO", "up", 1)["surcharge_usd"] == 0.0


def test_as_group_joint_cap_option():
    """[A] rse_as_group_joint_cap: a group is also capped per resource at min(sum, 10 x RR^up,
    Pmax) = min(80 or 120, 50, 1000) = 50. {RU,SR}: 60 - 50 = 10 short; {RU,SR,NR}: 90 - 50 =
    40 short -> DEF^up = 40; R^IRU = 0 so DM = max(10, 0) = 10 < 40 and 40 > 0.5 x 0 -> tier 3:
    40 x $50 x 2.0 = $4,000."""
    sc = _as_groups(joint_cap=True)
    cap = rse_capability(sc).iloc[0]
    assert (cap["ru_sr_mw"], cap["ru_sr_nr_mw"]) == (50.0, 50.0)
    res = evaluate_rse(sc)
    assert _row(res, "CISO", "as_ru", 1)["passed"]
    assert _row(res, "CISO", "as_ru_sr", 1)["deficiency_mw"] == 10.0
    assert _row(res, "CISO", "as_ru_sr_nr", 1)["deficiency_mw"] == 40.0
    up = _row(res, "CISO", "up", 1)
    assert up["binding_test"] == "as_ru_sr_nr" and up["tier"] == 3
    assert up["surcharge_usd"] == 40.0 * 50.0 * 2.0


def test_rse_options_are_named_assumptions_in_the_manifest(tmp_path):
    """Both RSE options are [A] parameters: settable with --set and listed in the manifest."""
    from clearing.api import solve
    from scenarios import bundled
    from scenarios.parameters import MarketParameters
    rows = {r["name"]: r for r in MarketParameters.describe()}
    for name in ("rse_combined_includes_am", "rse_as_group_joint_cap"):
        assert rows[name]["default"] is False and rows[name]["tag"] == "A"
    r = solve(bundled("example_11_1"), {"rse_combined_includes_am": "true"})
    opts = r.manifest["assumption_options"]
    assert opts["rse_combined_includes_am"] is True and opts["rse_as_group_joint_cap"] is False


def test_downward_tests():
    sc = _hand()
    bh = sc.baa_hours.copy()
    ciso = bh["baa"] == "CISO"
    # CISO: MinGen 100 (must-run Pmin); D^F 600 - RD 550 = 50 -> 50 MW over-supply (tier 3,
    # R^IRD 0); IRD requirement 30 with no IRD bids -> 30 short
    bh.loc[ciso, "rd_requirement_mw"] = 550.0
    bh.loc[ciso & (bh["hour"] == 1), "ird_requirement_mw"] = 30.0
    res = evaluate_rse(sc.with_tables(baa_hours=bh))
    o = _row(res, "CISO", "oversupply", 1)
    assert o["requirement_mw"] == 50.0 and o["capacity_mw"] == 100.0 and o["deficiency_mw"] == 50.0
    assert _row(res, "CISO", "as_down", 1)["deficiency_mw"] == 550.0  # no RD bids
    dn = _row(res, "CISO", "down", 1)
    assert dn["deficiency_mw"] == 550.0 and dn["binding_test"] == "as_down" and dn["tier"] == 3
    assert dn["tier_basis_mw"] == 30.0
    assert dn["surcharge_usd"] == 550.0 * 45.0 * 2.0
    assert _row(res, "CISO", "ird", 1)["deficiency_mw"] == 30.0
    assert _row(res, "CISO", "up", 1)["passed"]


# --------------------------------------------------------------------------------------------
# §7.4 price basis
def test_price_basis_and_fallbacks():
    sc = _three_baas()
    prices = pd.DataFrame([dict(bus="b1", hour=1, baa="B1", lmp=80.0, energy=80.0,
                                congestion=0.0, loss=0.0),
                           dict(bus="b2", hour=1, baa="B2", lmp=30.0, energy=30.0,
                                congestion=0.0, loss=0.0),
                           dict(bus="b3", hour=1, baa="B3", lmp=30.0, energy=30.0,
                                congestion=0.0, loss=0.0)])
    short = 50.0
    hub, lmp = 50.0, 80.0
    for basis, price, src in (("hub", hub, "hub"), ("lmp", lmp, "lmp"),
                              ("max", max(hub, lmp), "max: lmp")):
        res = evaluate_rse(sc.with_parameters(rse_surcharge_price_basis=basis), prices)
        up = _row(res, "B1", "up", 1)
        assert up["price_usd_per_mwh"] == price and up["price_source"] == src
        assert up["surcharge_usd"] == short * price * 1.25
    # basis lmp without a run: falls back to the hub price and says so
    res = evaluate_rse(sc.with_parameters(rse_surcharge_price_basis="lmp"))
    up = _row(res, "B1", "up", 1)
    assert up["price_source"] == "hub (no lmp)" and up["surcharge_usd"] == short * hub * 1.25
    assert any("hub (no lmp)" in n for n in res.notes)
    # no price at all where a surcharge is owed -> a clear ScenarioError
    bh = sc.baa_hours.copy()
    bh["hub_price_usd_per_mwh"] = np.nan
    with pytest.raises(ScenarioError, match="hub_price_usd_per_mwh"):
        evaluate_rse(sc.with_tables(baa_hours=bh).with_parameters(rse_surcharge_price_basis="lmp"))
    # ... but a passing day needs no price
    ok = evaluate_rse(_three_baas(b1_iru_bid=100.0).with_tables(baa_hours=bh))
    assert ok.table["passed"].all()


def test_elap_uses_ldf():
    from clearing.market.rse import elap_prices
    sc = _three_baas()
    # B1 with two buses? one bus per BAA here: ELAP equals the bus LMP
    prices = pd.DataFrame([dict(bus="b1", hour=1, baa="B1", lmp=42.0, energy=42.0, congestion=0.0,
                                loss=0.0)])
    assert elap_prices(sc, prices).loc[("B1", 1)] == 42.0


def test_non_edam_baa_not_tested():
    sc = _three_baas()
    baas = sc.baas.copy()
    baas.loc[baas["baa"] == "B3", "is_edam"] = False
    res = evaluate_rse(sc.with_tables(baas=baas))
    assert "B3" not in set(res.table["baa"]) and "B3" not in set(res.distribution["baa"])
    assert "g3" not in set(rse_capability(sc.with_tables(baas=baas))["resource"])


# --------------------------------------------------------------------------------------------
# output and CLI
def test_write_and_command(tmp_path: Path, capsys):
    sc = _hand(cut=True)
    folder = write_scenario(sc, tmp_path / "scn")
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame([dict(bus=b, hour=h, baa=b.upper(), lmp=70.0, energy=70.0, congestion=0.0,
                       loss=0.0) for b in ("ciso", "pace", "pacw") for h in range(1, 5)]
                 ).to_csv(run / "nodal_prices.csv", index=False)
    pd.DataFrame([dict(interface="PACW_CISO", hour=h, from_baa="PACW", to_baa="CISO", mw=100.0,
                       limit_mw=1000.0, shadow_price=0.0) for h in range(1, 5)]
                 ).to_csv(run / "transfers.csv", index=False)
    out = tmp_path / "out"
    assert rse_command(str(folder), str(run), str(out), {"rse_surcharge_price_basis": "max"}) == 0
    printed = capsys.readouterr().out
    assert "PACE" in printed and "FAIL" in printed
    rse = pd.read_csv(out / "rse.csv")
    assert list(rse.columns[:9]) == ["baa", "test", "hour", "requirement_mw", "capacity_mw",
                                     "deficiency_mw", "passed", "tier", "surcharge_usd"]
    up = rse[(rse["baa"] == "PACE") & (rse["test"] == "up")].set_index("hour")
    # max(lmp 70, hub) = 70 in every hour; hour 3: 60 MW x 70 x 2
    assert up.loc[3, "surcharge_usd"] == pytest.approx(60 * 70 * 2.0)
    dist = pd.read_csv(out / "rse_distribution.csv")
    assert list(dist.columns[:8]) == ["direction", "hour", "baa", "pool_usd", "net_transfer_mw",
                                      "share", "credit_usd", "undistributed_usd"]
    h3 = dist[(dist["direction"] == "up") & (dist["hour"] == 3)].set_index("baa")
    assert h3.loc["PACW", "credit_usd"] == pytest.approx(60 * 70 * 2.0)  # the only net exporter
    assert (out / "rse_ciso_suballocation.csv").exists() and (out / "rse_nec.csv").exists()
    assert not list(out.glob(".*.tmp"))
    # a missing run table is a clear input error
    (run / "transfers.csv").unlink()
    with pytest.raises(ScenarioError, match="transfers"):
        rse_command(str(folder), str(run), str(tmp_path / "out2"), {})
    assert not (tmp_path / "out2" / "rse.csv").exists()


def test_write_rse_parquet(tmp_path: Path):
    res = evaluate_rse(_hand())
    files = write_rse(res, tmp_path / "rse", fmt="parquet")
    assert {f.name for f in files} == {"rse.parquet", "rse_distribution.parquet",
                                       "rse_ciso_suballocation.parquet", "rse_nec.parquet"}
    back = pd.read_parquet(tmp_path / "rse" / "rse.parquet")
    assert len(back) == len(res.table)


# --------------------------------------------------------------------------------------------
# the bundled RTS-GMLC day
needs_rts = pytest.mark.skipif(not (Path(DEFAULT_SCENARIO) / "scenario.yaml").exists(),
                               reason="bundled RTS-GMLC scenario not generated yet")


def _rts(basis: str = "hub"):
    return load_scenario(DEFAULT_SCENARIO).with_parameters(rse_surcharge_price_basis=basis)


@needs_rts
def test_rts_gmlc_all_pass():
    sc = _rts()
    res = evaluate_rse(sc)
    t = res.table
    assert set(t["baa"]) == {"CISO", "PACW", "PGE"}
    assert len(t) == 3 * sc.hours * 11
    assert t["passed"].all(), t[~t["passed"]]
    assert (t["surcharge_usd"] == 0).all() and (res.distribution["pool_usd"] == 0).all()
    assert (t["price_source"] == "hub").all()
    # the other bases fall back to the hub without a run and still pass
    assert evaluate_rse(_rts("max")).table["passed"].all()


def _predicted_supply(sc, baa: str) -> pd.Series:
    """S^RSE of `baa` by hour straight from the tables: every physical supply resource offers
    min(hourly Pmax (VER: forecast; hydro also E^day/24), Pmin + its offer widths) (§7.1)."""
    res = sc.resources.copy()
    res.attrs = {}
    res = res[(res["bus"].map(sc.bus_baa) == baa)
              & res["type"].isin(["thermal", "ver", "hydro", "storage", "import"])]
    eb = sc.energy_bids
    widths = eb[eb["side"] != "demand"].groupby("resource")["mw"].sum()
    assert set(res["resource"]) <= set(widths.index)  # every resource of the day has an offer
    rh = sc.resource_hours.set_index(["resource", "hour"])["pmax_mw"]
    eday = dict(zip(sc.hydro["resource"], sc.hydro["daily_energy_mwh"]))
    total = {}
    for h in sc.hour_list:
        s = 0.0
        for r in res.itertuples():
            pmax = rh.get((r.resource, h), np.nan)
            pmax = r.pmax_mw if np.isnan(pmax) else pmax
            if r.type == "hydro":
                pmax = min(pmax, eday[r.resource] / sc.hours)
            offered = (r.pmin_mw if r.type == "thermal" else 0.0) + widths[r.resource]
            s += min(pmax, offered)
        total[h] = s
    return pd.Series(total)


@needs_rts
def test_rts_gmlc_pacw_thermal_halved():
    sc = _rts()
    resources = sc.resources.copy()
    resources.attrs = {}
    cut = (resources["bus"].map(sc.bus_baa) == "PACW") & (resources["type"] == "thermal")
    resources.loc[cut, "pmax_mw"] *= 0.5
    resources["pmin_mw"] = np.minimum(resources["pmin_mw"], resources["pmax_mw"])
    rh = sc.resource_hours.copy()
    rh.attrs = {}
    rh.loc[rh["resource"].isin(set(resources.loc[cut, "resource"])), "pmax_mw"] *= 0.5
    variant = sc.with_tables(resources=resources, resource_hours=rh)

    s = _predicted_supply(variant, "PACW")
    bh = variant.baa_hours
    bh = bh[bh["baa"] == "PACW"].set_index("hour")
    supply = s + bh["rse_net_import_mw"]  # S^RSE = sum UP + NSI
    energy_def = (bh["demand_forecast_mw"] - supply).clip(lower=0.0)
    comb_def = (bh["demand_forecast_mw"] + bh["ru_requirement_mw"] + bh["sr_requirement_mw"]
                + bh["nr_requirement_mw"] + bh["iru_requirement_mw"]  # §7.2 S4: no AM
                - supply).clip(lower=0.0)
    fail_hours = sorted(int(h) for h in comb_def.index[comb_def > 1e-6])
    assert 0 < len(fail_hours) < sc.hours  # some hours fail, others pass

    tab = evaluate_rse(variant).table
    pacw = tab[tab["baa"] == "PACW"]
    up = pacw[pacw["test"] == "up"].set_index("hour")
    assert sorted(int(h) for h in up.index[~up["passed"]]) == fail_hours
    en = pacw[pacw["test"] == "energy"].set_index("hour")
    assert sorted(en.index[~en["passed"]]) == sorted(int(h) for h in energy_def.index[energy_def > 1e-6])
    comb = pacw[pacw["test"] == "combined_up"].set_index("hour")
    for h in sc.hour_list:
        assert en.loc[h, "deficiency_mw"] == pytest.approx(energy_def[h], abs=1e-6)
        assert comb.loc[h, "deficiency_mw"] == pytest.approx(comb_def[h], abs=1e-6)
        r_iru = bh.loc[h, "iru_requirement_mw"]
        deficiency = comb_def[h]
        tier = (0 if deficiency <= 1e-6 else 1 if deficiency <= max(10.0, 0.01 * r_iru)
                else 2 if deficiency <= 0.5 * r_iru else 3)
        assert up.loc[h, "tier"] == tier
        assert up.loc[h, "surcharge_usd"] == pytest.approx(
            deficiency * bh.loc[h, "hub_price_usd_per_mwh"] * {0: 0, 1: 0, 2: 1.25, 3: 2.0}[tier])
        if deficiency > 0:
            assert up.loc[h, "binding_test"] == "combined_up"
    # the other BAAs and PACW's other tests are unaffected
    others = tab[tab["baa"] != "PACW"]
    assert others["passed"].all()
    assert set(pacw.loc[~pacw["passed"], "test"]) <= {"energy", "combined_up", "up"}

    # the pool goes to the passing exporters by their net export (CISO 200, PGE 300 into PACW)
    transfers = pd.DataFrame(
        [dict(interface="CISO_PACW", hour=h, from_baa="CISO", to_baa="PACW", mw=200.0,
              limit_mw=500.0, shadow_price=0.0) for h in sc.hour_list]
        + [dict(interface="PGE_PACW", hour=h, from_baa="PGE", to_baa="PACW", mw=300.0,
                limit_mw=500.0, shadow_price=0.0) for h in sc.hour_list])
    dist = evaluate_rse(variant, transfers=transfers).distribution
    dist = dist[dist["direction"] == "up"]
    for h in fail_hours:
        g = dist[dist["hour"] == h].set_index("baa")
        pool = up.loc[h, "surcharge_usd"]
        assert g.loc["CISO", "credit_usd"] == pytest.approx(pool * 200 / 500)
        assert g.loc["PGE", "credit_usd"] == pytest.approx(pool * 300 / 500)
        assert g["credit_usd"].sum() == pytest.approx(pool, abs=1e-9)
        assert g.loc["PACW", "credit_usd"] == 0.0


@needs_rts
def test_rts_gmlc_command(tmp_path: Path, capsys):
    assert rse_command(str(DEFAULT_SCENARIO), None, str(tmp_path / "rse"), {}) == 0
    out = capsys.readouterr().out
    assert "CISO: up: pass; down: pass" in out
    rse = pd.read_csv(tmp_path / "rse" / "rse.csv")
    assert rse["passed"].all() and len(rse) == 3 * 24 * 11
