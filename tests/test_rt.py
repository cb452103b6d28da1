"""Phase 3: the real-time follow-up run (clearing/market/rt.py, products/flexible_ramp/component.py,
spec §10, §2.7, §8; the settlement with clearing/analysis/settle.py).

The hand-solvable case (one BAA, one bus, one hour = four 15-minute intervals):
- G1 thermal 0..200 MW @ $20, IRU offer 20 MW @ $1; G2 thermal 0..200 MW @ $30, IRU 20 @ $2;
  both long-start (commitment fixed from DA), ample ramp, no commitment costs.
- D1 price-sensitive demand 10 MW @ $100; fixed demand 140 MW; D^F = 150; IRU requirement 40.
DA: G1 = 150, G2 = 0 (on, holding IRU), D1 = 10; IRU: G1 20, G2 20; LMP $20.
RT obligations: G1 may move in [150, 170] (DAEN + IRU), G2 in [0, 20]; D1 stays at 10.
FRU requirement = 0.5 × 40 = 20 MW per interval (products/flexible_ramp/component.py).
RT demand forecast (total load, rt/demand_forecast.csv) 160, 175, 165, 155 MW:
- k1 160: G1 (cheaper, headroom) takes the +10 -> G1 160, G2 0, LMP $20, FRU price 0
  (FRU headroom 10 + 20 >= 20);
- k2 175: G1 hits 170, G2 5; FRU headroom 0 + 15 < 20: FRU short 5 MW, FRU price = the cap $247,
  LMP = G2's $30 + $247 = $277 (one more MW from G2 costs one MW of FRU);
- k3 165 -> G1 165, LMP $20; k4 155 -> G1 155, LMP $20.
Hour: G1 FMMSS = mean(160, 170, 165, 155) = 162.5; metered load = mean RT demand = 163.75,
split pro rata to the DA loads (fixed 140, D1 10 of 150): D1 metered 10 × 163.75/150 = 10.9167,
UIE = 10 − 10.9167 < 0 (a load consuming more than scheduled: negative, glossary sign);
LSE_A metered 140 × 163.75/150 = 152.8333. Generators are metered at their FMM schedule: UIE 0.
With a short-start unit G3 (0..50 MW @ $50, min-load cost $10/h, off in DA) the RT run commits
G3 for the hour (short-start commitment is hourly) for its FRU head-room ($10/h instead of 5 MW
of FRU short at $247); then k2's LMP is G2's bid, $30, and the FRU price is 0.
"""

from __future__ import annotations


import math

import numpy as np
import pandas as pd
import pytest

from clearing.api import solve
from clearing.market.rt import (INTERVALS_PER_HOUR, SETTLEMENT_INPUT_COLUMNS, generate_rt_forecasts,
                         load_rt_folder, rt_seed)
from clearing.market.data import prepare
from clearing.analysis.settle import settle
from products.flexible_ramp.component import FRP_SHARE_OF_IR
from scenarios import DEFAULT_SCENARIO, load_scenario, write_scenario
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError

RT_DEMAND = [160.0, 175.0, 165.0, 155.0]
FRU_CAP = 247.0


def _gen(rid, pmax, price, iru_price=None, *, long_start=True, initial_on=True, initial_mw=0.0,
         mlc=0.0):
    res = dict(resource=rid, type="thermal", bus="a1", pmin_mw=0.0, pmax_mw=pmax,
               ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0)
    th = dict(resource=rid, min_load_cost_usd_per_h=mlc, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=initial_on, initial_hours=24, initial_mw=initial_mw,
              long_start=long_start, fast_start=not long_start)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price)
    ab = [dict(resource=rid, product="iru", mw=20.0, price_usd_per_mwh=iru_price)] \
        if iru_price is not None else []
    return res, th, eb, ab


def _hand_scenario(with_fast: bool = False):
    gens = [_gen("G1", 200.0, 20.0, 1.0, initial_mw=150.0), _gen("G2", 200.0, 30.0, 2.0)]
    if with_fast:
        gens.append(_gen("G3", 50.0, 50.0, long_start=False, initial_on=False, mlc=10.0))
    tables = dict(
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="a1", baa="A")],
        resources=[g[0] for g in gens] + [dict(resource="D1", type="demand", bus="a1",
                                                pmax_mw=10.0)],
        thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens] + [dict(resource="D1", side="demand", segment=1,
                                                 mw=10.0, price_usd_per_mwh=100.0)],
        availability_bids=[a for g in gens for a in g[3]],
        demand=[dict(bus="a1", hour=1, fixed_demand_mw=140.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=150.0, iru_requirement_mw=40.0)],
    )
    return make_scenario(tables, name="rt_hand", trade_date="2026-06-01", hours=1,
                         parameters={"phase": 3})


def _with_rt_folder(scenario, tmp_path, demand=RT_DEMAND, name="hand"):
    """Write the scenario with an rt/ folder and load it back (the loader ignores rt/)."""
    path = write_scenario(scenario, tmp_path / name)
    (path / "rt").mkdir()
    pd.DataFrame({"baa": "A", "hour": 1, "interval": [1, 2, 3, 4], "demand_mw": demand}).to_csv(
        path / "rt" / "demand_forecast.csv", index=False)
    return load_scenario(path)


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory):
    sc = _with_rt_folder(_hand_scenario(), tmp_path_factory.mktemp("rt_hand"))
    return sc, solve(sc)


def _by_k(df, col, **sel):
    x = df
    for k, v in sel.items():
        x = x[x[k] == v]
    return x.sort_values(["hour", "interval"])[col].to_numpy(float)


# --- the hand-solvable case --------------------------------------------------------------------
def test_da_side_of_the_hand_case(hand_run):
    _, r = hand_run
    s = r.schedules.set_index("resource")
    assert s.at["G1", "energy_mw"] == pytest.approx(150.0)
    assert s.at["G2", "energy_mw"] == pytest.approx(0.0)
    assert s.at["D1", "energy_mw"] == pytest.approx(-10.0)
    assert s.at["G1", "iru_mw"] == pytest.approx(20.0)
    assert s.at["G2", "iru_mw"] == pytest.approx(20.0)
    assert r.nodal_prices["lmp"].iloc[0] == pytest.approx(20.0)


def test_rt_redispatch_by_hand(hand_run):
    _, r = hand_run
    rs = r.rt_schedules
    assert len(rs) == 4 * 3 and set(rs["interval"]) == {1, 2, 3, 4}
    np.testing.assert_allclose(_by_k(rs, "energy_mw", resource="G1"), [160, 170, 165, 155],
                               atol=1e-6)
    np.testing.assert_allclose(_by_k(rs, "energy_mw", resource="G2"), [0, 5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(_by_k(rs, "energy_mw", resource="D1"), [-10] * 4, atol=1e-6)
    # the RT obligations: G1 within DAEN..DAEN+IRU, G2 within 0..IRU
    np.testing.assert_allclose(_by_k(rs, "uel_mw", resource="G1"), [170] * 4)
    np.testing.assert_allclose(_by_k(rs, "lel_mw", resource="G1"), [150] * 4)
    np.testing.assert_allclose(_by_k(rs, "uel_mw", resource="G2"), [20] * 4)
    # FRU: 20 MW needed; k2 has only G2's 15 MW of head-room
    fru = rs.groupby(["hour", "interval"])["fru_mw"].sum().to_numpy()
    np.testing.assert_allclose(fru, [20, 15, 20, 20], atol=1e-6)
    bs = r.rt_baa_summary.sort_values("interval")
    np.testing.assert_allclose(bs["fru_requirement_mw"], [FRP_SHARE_OF_IR * 40] * 4)
    np.testing.assert_allclose(bs["fru_cleared_mw"], [20, 15, 20, 20], atol=1e-6)
    np.testing.assert_allclose(bs["demand_mw"], RT_DEMAND)
    np.testing.assert_allclose(bs["fixed_demand_mw"], np.array(RT_DEMAND) - 10.0)
    assert (bs["power_balance_relaxed_mw"].abs() < 1e-6).all()


def test_rt_prices_by_hand(hand_run):
    _, r = hand_run
    lmp = _by_k(r.rt_prices, "lmp", bus="a1")
    np.testing.assert_allclose(lmp, [20.0, 30.0 + FRU_CAP, 20.0, 20.0], atol=1e-6)
    pp = r.rt_product_prices
    np.testing.assert_allclose(_by_k(pp, "price_usd_per_mwh", product="energy"), lmp, atol=1e-6)
    fru = _by_k(pp, "price_usd_per_mwh", product="fru")
    np.testing.assert_allclose(fru, [0.0, FRU_CAP, 0.0, 0.0], atol=1e-6)
    assert (pp["price_usd_per_mwh"][pp["product"].isin(["fru", "frd"])] <= FRU_CAP + 1e-6).all()
    assert set(pp["product"]) == {"energy", "fru", "frd"}
    assert list(r.rt_prices.columns[:8]) == ["bus", "hour", "interval", "baa", "lmp", "energy",
                                             "congestion", "loss"]


def test_settlement_inputs_by_hand(hand_run):
    _, r = hand_run
    si = r.settlement_inputs
    assert tuple(si.columns) == SETTLEMENT_INPUT_COLUMNS
    si = si.set_index("resource")
    ratio = np.mean(RT_DEMAND) / 150.0
    g1 = si.loc["G1"]
    assert g1["daen_mw"] == pytest.approx(150.0)
    assert g1["fmm_schedule_mw"] == pytest.approx(162.5)
    assert g1["metered_mw"] == pytest.approx(162.5)
    assert g1["uie_mw"] == pytest.approx(0.0)          # delivers its FMM schedule: UIE 0
    assert g1["fmm_uel_mw"] == pytest.approx(170.0) and g1["fmm_lel_mw"] == pytest.approx(150.0)
    assert g1["fmm_max_ex_cap_mw"] == pytest.approx(200.0)
    assert g1["iru5_mw"] == pytest.approx(20.0)        # min(20, 5 x 1000)
    assert g1["fmm_fru_price_usd_per_mwh"] == pytest.approx(FRU_CAP / 4)
    assert math.isnan(g1["etag_mw"])
    d1 = si.loc["D1"]
    assert d1["daen_mw"] == pytest.approx(10.0) and d1["fmm_schedule_mw"] == pytest.approx(10.0)
    assert d1["metered_mw"] == pytest.approx(10.0 * ratio)
    assert d1["uie_mw"] == pytest.approx(10.0 - 10.0 * ratio)
    assert d1["uie_mw"] < 0                             # consumes more than scheduled
    ml = r.metered_load.set_index("sc")
    assert ml.at["LSE_A", "metered_load_mw"] == pytest.approx(140.0 * ratio)
    assert ml.at["SC_A", "metered_load_mw"] == pytest.approx(10.0 * ratio)
    assert r.metered_load["metered_load_mw"].sum() == pytest.approx(np.mean(RT_DEMAND))
    assert r.manifest["rt"]["intervals"] == 4
    assert r.manifest["rt"]["termination"] == "convergenceCriteriaSatisfied"


def test_settle_end_to_end_by_hand(hand_run):
    sc, r = hand_run
    st = settle(sc, r, r.settlement_inputs, r.metered_load, r.tables.get("rse"),
                r.tables.get("rse_distribution"))
    t = st.table
    assert len(t) and {"charge", "party", "baa", "hour", "amount_usd"} <= set(t.columns)
    # the fixed demand's load (LSE_A) and D1 consume more than scheduled: IRU tier 1 quantities
    tier1 = t[t["charge"] == "iru_tier1"]
    assert set(tier1["party"]) >= {"LSE_A"}
    assert (tier1["amount_usd"] <= 1e-9).all()
    frame = st.details["resource_frame"].set_index("resource")
    assert frame.at["LSE_A", "uie_mw"] == pytest.approx(140.0 - 140.0 * np.mean(RT_DEMAND) / 150)


def test_rt_commits_a_fast_start_unit_and_prices_its_bid(tmp_path):
    sc = _with_rt_folder(_hand_scenario(with_fast=True), tmp_path)
    r = solve(sc)
    assert r.schedules.set_index("resource").at["G3", "committed"] == 0
    rs = r.rt_schedules
    # short-start commitment is decided per hour: G3 is on for the whole hour
    np.testing.assert_array_equal(_by_k(rs, "committed", resource="G3"), [1, 1, 1, 1])
    np.testing.assert_allclose(_by_k(rs, "energy_mw", resource="G2"), [0, 5, 0, 0], atol=1e-6)
    lmp = _by_k(r.rt_prices, "lmp", bus="a1")
    np.testing.assert_allclose(lmp, [20.0, 30.0, 20.0, 20.0], atol=1e-6)  # k2: G2's bid
    np.testing.assert_allclose(_by_k(r.rt_product_prices, "price_usd_per_mwh", product="fru"),
                               [0.0] * 4, atol=1e-6)
    si = r.settlement_inputs.set_index("resource")
    assert si.at["G3", "fmm_uel_mw"] == pytest.approx(50.0)
    assert si.at["G3", "daen_mw"] == pytest.approx(0.0)


# --- RT inputs ---------------------------------------------------------------------------------
def test_generator_is_seeded_and_reproducible():
    sc = _hand_scenario()
    d = prepare(sc)
    dem1, ver1, s1 = generate_rt_forecasts(sc, d)
    dem2, _, s2 = generate_rt_forecasts(sc, d)
    assert s1 == s2 == rt_seed(sc)
    pd.testing.assert_frame_equal(dem1, dem2)
    assert dem1.shape == (1, INTERVALS_PER_HOUR)
    assert np.all(np.abs(dem1.to_numpy() / 150.0 - 1.0) < 0.1)
    r = solve(sc)  # no rt/ folder: the generator
    assert r.manifest["rt"]["inputs"]["seed"] == s1
    np.testing.assert_allclose(r.rt_baa_summary.sort_values("interval")["demand_mw"],
                               dem1.loc["A"].to_numpy())


def _bad_rt(tmp_path, files: dict[str, str]):
    sc = _hand_scenario()
    path = write_scenario(sc, tmp_path / "s")
    (path / "rt").mkdir()
    for name, text in files.items():
        (path / "rt" / name).write_text(text)
    sc = load_scenario(path)
    return sc, path / "rt"


@pytest.mark.parametrize("files, message", [
    ({"demand_forecast.csv": "baa,hour,interval,demand_mw\nA,1,5,150\nA,1,1,150\nA,1,2,150\n"
                             "A,1,3,150\n"}, "interval"),
    ({"demand_forecast.csv": "baa,hour,interval,demand_mw\nZ,1,1,150\n"}, "unknown baa 'Z'"),
    ({"demand_forecast.csv": "baa,hour,interval,demand_mw\nA,1,1,150\nA,1,2,150\n"},
     "without a value for 2 of 4 intervals"),
    ({"demand_forecast.csv": "baa,hour,interval,demand_mw\nA,1,1,-3\n"}, "a number >= 0"),
    ({"demand_forecast.csv": "baa,hour,demand_mw\nA,1,150\n"}, "column missing"),
    ({"ver_forecast.csv": "resource,hour,interval,forecast_mw\nG1,1,1,5\n"}, "type thermal"),
    ({"loads.csv": "x\n1\n"}, "unknown RT input file"),
])
def test_rt_folder_errors(tmp_path, files, message):
    sc, rt = _bad_rt(tmp_path, files)
    with pytest.raises(ScenarioError, match=message):
        load_rt_folder(sc, rt)
    with pytest.raises(ScenarioError):
        solve(sc)


# --- the bundled RTS-GMLC day ------------------------------------------------------------------
# `rts_phase3_run` (tests/conftest.py): the shared phase-3 run of the bundled day


@pytest.mark.slow
def test_bundled_day_settlement_conserves(rts_phase3_run):
    """Issue 7 on the bundled day: per BAA, hour and product, tier 1 + tier 2 = requirement cost
    (to the cent) whenever the cost is ≥ 0; the tier lines of the settlement table carry exactly
    those amounts; RC payments to resources equal what the RC allocations collect."""
    from clearing.analysis.settle import settle
    sc, r = rts_phase3_run
    st = settle(sc, r, r.settlement_inputs, r.metered_load, r.rse, r.rse_distribution)
    baa = st.details["baa"]
    assert len(baa) > 0
    pos = baa[baa["cost_usd"] >= 0]
    np.testing.assert_allclose((pos["tier1_usd"] + pos["tier2_usd"]).round(2),
                               pos["cost_usd"].round(2), atol=0.011)
    t = st.table
    for prod in sorted(set(baa["product"])):
        lines = t[t["charge"].isin([f"{prod}_tier1", f"{prod}_tier2"])]
        got = lines.groupby(["baa", "hour"])["amount_usd"].sum()
        want = baa[baa["product"] == prod].set_index(["baa", "hour"])
        want = (want["tier1_usd"] + want["tier2_usd"])
        common = want.index.intersection(got.index)
        np.testing.assert_allclose(-got.loc[common].to_numpy(), want.loc[common].to_numpy(),
                                   atol=0.011)
    rc = t[t["charge"].str.startswith(("rcu_", "rcd_"))]
    net = rc.groupby(["baa", "hour"])["amount_usd"].sum()
    assert np.abs(net.to_numpy()).max() < 0.05


@pytest.mark.slow
def test_bundled_day_phase3(rts_phase3_run):
    sc, r = rts_phase3_run
    rt = r.manifest["rt"]
    assert rt["intervals"] == 96
    assert rt["termination"] in ("convergenceCriteriaSatisfied", "maxTimeLimit")
    assert "rt/ver_forecast.csv" in rt["inputs"]["sources"]["ver"]
    # per-interval BAA balance
    bs = r.rt_baa_summary
    assert len(bs) == 3 * 96
    lhs = (bs["generation_mw"] - bs["load_resources_mw"] - bs["export_mw"] - bs["net_export_mw"]
           + bs["power_balance_relaxed_mw"])
    np.testing.assert_allclose(lhs, bs["fixed_demand_mw"], atol=1e-4)
    # DA commitment of long-start units respected in every interval
    th = sc.tables["thermal"].set_index("resource")
    long_start = set(th.index[th["long_start"]])
    da = r.schedules[r.schedules["resource"].isin(long_start)][["resource", "hour",
                                                                  "ruc_committed"]]
    rs = r.rt_schedules.merge(da, on=["resource", "hour"])
    assert len(rs) == 96 * len(long_start)
    assert (rs["committed"] == rs["ruc_committed"]).all()
    # FRU/FRD prices within the cap
    pp = r.rt_product_prices
    frp = pp[pp["product"].isin(["fru", "frd"])]["price_usd_per_mwh"]
    assert (frp >= -1e-6).all() and (frp <= sc.parameters.penalty_fru_usd_per_mwh + 1e-6).all()
    assert len(r.rt_prices) == 96 * len(sc.tables["buses"])
    # settlement inputs complete: every resource-hour, no NaN in required columns
    si = r.settlement_inputs
    assert tuple(si.columns) == SETTLEMENT_INPUT_COLUMNS
    assert len(si) == 24 * len(sc.tables["resources"])
    assert not si.duplicated(["resource", "hour"]).any()
    required = [c for c in SETTLEMENT_INPUT_COLUMNS if c != "etag_mw"]
    assert not si[required].isna().any().any()
    # wind: FMMMaxExCap is the RT forecast (hourly mean of the 15-minute RT wind)
    rtw = pd.read_csv(DEFAULT_SCENARIO / "rt" / "ver_forecast.csv")
    w = rtw.groupby(["resource", "hour"])["forecast_mw"].mean()
    x = si.set_index(["resource", "hour"]).loc[w.index, "fmm_max_ex_cap_mw"]
    np.testing.assert_allclose(x.to_numpy(), w.to_numpy(), atol=1e-6)
    ml = r.metered_load
    assert (ml["metered_load_mw"] > 0).all() and not ml.duplicated(["sc", "baa", "hour"]).any()
    # the settlement runs on these tables
    st = settle(sc, r, si, ml, r.tables.get("rse"), r.tables.get("rse_distribution"))
    assert len(st.table) > 0 and np.isfinite(st.table["amount_usd"]).all()
