"""Market power mitigation of IRU/RCU availability bids (clearing/market/mpm.py; spec §5.12, §9 #5).

Small hand-made scenarios; every expected number is worked out by hand in the comments.
Capability rules (clearing/market/mpm.py docstring): IRU = min(bid MW, 15·RR^up, Pmax − Pmin),
RCU = min(bid MW, 60·RR^up, Pmax − Pmin); supplier = SC; N = mpm_pivotal_suppliers (3).
"""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.analysis.check import check_run
from clearing.api import solve
from clearing.market.mpm import mitigate_bids, pivotal_supplier_test, supplier_capacity
from scenarios.build import make_scenario

DAB = 10.0
RAMP = 1000.0  # ample: ramp limits never bind unless a test says so


def _gen(rid, bus, sc, pmax, energy_price, *, pmin=0.0, ramp=RAMP):
    res = dict(resource=rid, type="thermal", bus=bus, sc=sc, pmin_mw=pmin, pmax_mw=pmax,
               ramp_up_mw_per_min=ramp, ramp_down_mw_per_min=ramp)
    th = dict(resource=rid, min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=24, initial_mw=pmin)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax - pmin, price_usd_per_mwh=energy_price)
    return res, th, eb


def _bid(rid, product, mw, price, iso=False):
    return dict(resource=rid, product=product, mw=mw, price_usd_per_mwh=price, iso_inserted=iso)


def two_baa_case(**params):
    """BAA A (EDAM, reference): IRU requirement 100; BIG owns 90 % of the IR capability.
         BIG_1 (SC BIG)  IRU 90 MW @ $40     -> capability 90
         SM1_1 (SC SM1)  IRU  5 MW @ $5      -> 5   (already below DAB)
         SM2_1 (SC SM2)  IRU  5 MW @ $30     -> 5
       total 100, the three largest hold all of it: residual 0 < 100 -> NOT competitive.
       Forecast 150, fixed demand 100 -> RC requirement estimate 50; BIG_1 RCU 200 MW @ $100
       (capability min(200, 60·1000, 300) = 200), one supplier -> residual 0 < 50 -> not
       competitive. BIG_1 also bids IRD, RCD and RU above DAB (never mitigated).
    BAA B (EDAM): IRU requirement 100, five SCs with 100 MW of IRU each @ $40:
       total 500, three largest 300, residual 200 >= 100 -> competitive. Forecast = fixed
       demand -> RC requirement 0 -> competitive (RCU bid @ $100 untouched).
    BAA C (not EDAM): IRU requirement 20, one SC with a 50 MW IRU bid @ $45 -> not competitive
       (non-EDAM BAAs are tested too)."""
    gens = [_gen("BIG_1", "a", "BIG", 300, 20), _gen("SM1_1", "a", "SM1", 100, 25),
            _gen("SM2_1", "a", "SM2", 100, 26)]
    gens += [_gen(f"B{k}", "b", f"SCB{k}", 200, 20 + k) for k in range(1, 6)]
    gens += [_gen("C1", "c", "SCC", 200, 20)]
    bids = [_bid("BIG_1", "iru", 90, 40), _bid("SM1_1", "iru", 5, 5), _bid("SM2_1", "iru", 5, 30),
            _bid("BIG_1", "rcu", 200, 100), _bid("BIG_1", "ird", 90, 40),
            _bid("BIG_1", "rcd", 200, 100), _bid("BIG_1", "ru", 50, 100)]
    bids += [_bid(f"B{k}", "iru", 100, 40) for k in range(1, 6)]
    bids += [_bid("B1", "rcu", 100, 100), _bid("C1", "iru", 50, 45)]
    tables = dict(
        baas=[dict(baa="A", is_reference=True), dict(baa="B"), dict(baa="C", is_edam=False)],
        buses=[dict(bus="a", baa="A"), dict(bus="b", baa="B"), dict(bus="c", baa="C")],
        branches=[dict(branch=f"a_{x}", from_bus="a", to_bus=x, reactance_pu=0.1,
                       rating_mw=99999.0, monitored=False, enforce_base=False,
                       enforce_in_ruc=False) for x in ("b", "c")],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens], availability_bids=bids,
        demand=[dict(bus="a", hour=1, fixed_demand_mw=100.0),
                dict(bus="b", hour=1, fixed_demand_mw=100.0),
                dict(bus="c", hour=1, fixed_demand_mw=50.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=150.0, iru_requirement_mw=100.0),
                   dict(baa="B", hour=1, demand_forecast_mw=100.0, iru_requirement_mw=100.0),
                   dict(baa="C", hour=1, demand_forecast_mw=50.0, iru_requirement_mw=20.0)],
    )
    p = {"ir_rc_default_availability_bid_usd_per_mwh": DAB, "phase": 1, "mpm_mode": "ir_rc"}
    p.update(params)
    return make_scenario(tables, name="mpm_two_baa", hours=1, parameters=p)


def _row(test, baa, product, hour=1):
    t = test[(test["baa"] == baa) & (test["product"] == product) & (test["hour"] == hour)]
    assert len(t) == 1
    return t.iloc[0]


def _prices(scenario):
    ab = scenario.tables["availability_bids"]
    return {(r, p): float(c) for r, p, c in zip(ab["resource"], ab["product"],
                                                 ab["price_usd_per_mwh"])}


# ---------------------------------------------------------------------------------------------
def test_pivotal_supplier_test_by_hand():
    test = pivotal_supplier_test(two_baa_case())
    a = _row(test, "A", "iru")
    assert a["requirement_mw"] == pytest.approx(100)
    assert a["total_supply_mw"] == pytest.approx(100)
    assert a["largest_suppliers"] == "BIG;SM1;SM2"    # 90, then the 5 MW tie by SC name
    assert a["residual_supply_mw"] == pytest.approx(0)
    assert not a["competitive"]
    assert a["pivotal_suppliers"] == "BIG;SM1;SM2"
    assert a["supply_by_supplier"].startswith("BIG=90")
    rc = _row(test, "A", "rcu")
    assert rc["requirement_mw"] == pytest.approx(50)   # max(0, 150 − 100)
    assert rc["total_supply_mw"] == pytest.approx(200)
    assert not rc["competitive"] and rc["pivotal_suppliers"] == "BIG"
    b = _row(test, "B", "iru")
    assert (b["total_supply_mw"], b["largest_supply_mw"], b["residual_supply_mw"]) == \
        pytest.approx((500, 300, 200))
    assert b["competitive"] and b["pivotal_suppliers"] == ""
    brc = _row(test, "B", "rcu")
    assert brc["requirement_mw"] == 0 and brc["competitive"]   # requirement 0 passes
    c = _row(test, "C", "iru")
    assert not c["is_edam"] and not c["competitive"] and c["pivotal_suppliers"] == "SCC"


def test_tie_break_is_by_sc_name():
    a = _row(pivotal_supplier_test(two_baa_case()), "A", "iru")
    assert a["largest_suppliers"] == "BIG;SM1;SM2"


def test_capability_uses_ramp_and_headroom():
    """IRU: min(90, 15·2, 300 − 0) = 30; RCU: min(200, 60·2, 300 − 100) = 120 with Pmin 100."""
    s = two_baa_case()
    r = s.tables["resources"].copy()
    r.loc[r["resource"] == "BIG_1", ["ramp_up_mw_per_min", "pmin_mw"]] = [2.0, 100.0]
    th = s.tables["thermal"].copy()
    th.loc[th["resource"] == "BIG_1", "initial_mw"] = 100.0
    eb = s.tables["energy_bids"].copy()
    eb.loc[eb["resource"] == "BIG_1", "mw"] = 200.0
    s = s.with_tables(resources=r, thermal=th, energy_bids=eb)
    cap = supplier_capacity(s).set_index(["baa", "product", "hour", "sc"])["capacity_mw"]
    assert cap[("A", "iru", 1, "BIG")] == pytest.approx(30)
    assert cap[("A", "rcu", 1, "BIG")] == pytest.approx(120)
    rc = _row(pivotal_supplier_test(s), "A", "rcu")
    # residual 0 < 50: still pivotal
    assert rc["total_supply_mw"] == pytest.approx(120) and not rc["competitive"]


def test_ir_rc_mitigates_pivotal_suppliers_only_in_failing_baas():
    s = two_baa_case()
    new, mit = mitigate_bids(s)
    before, after = _prices(s), _prices(new)
    # BAA A fails IRU: BIG $40 -> $10 and SM2 $30 -> $10; SM1 at $5 <= DAB unchanged
    assert after[("BIG_1", "iru")] == DAB and after[("SM2_1", "iru")] == DAB
    assert after[("SM1_1", "iru")] == 5.0
    # BAA A fails RCU: BIG's RCU $100 -> $10; IRD / RCD / AS never mitigated
    assert after[("BIG_1", "rcu")] == DAB
    for key in [("BIG_1", "ird"), ("BIG_1", "rcd"), ("BIG_1", "ru")]:
        assert after[key] == before[key]
    # BAA B is competitive: nothing there changes
    for k in range(1, 6):
        assert after[(f"B{k}", "iru")] == 40.0
    assert after[("B1", "rcu")] == 100.0
    # the non-EDAM BAA C fails and is mitigated too
    assert after[("C1", "iru")] == DAB
    m = mit.set_index(["resource", "product"])
    assert set(m.index) == {("BIG_1", "iru"), ("SM2_1", "iru"), ("BIG_1", "rcu"), ("C1", "iru")}
    assert m.at[("BIG_1", "iru"), "original_price_usd_per_mwh"] == 40.0
    assert m.at[("BIG_1", "iru"), "mitigated_price_usd_per_mwh"] == DAB
    assert m.at[("BIG_1", "iru"), "sc"] == "BIG" and m.at[("BIG_1", "iru"), "baa"] == "A"
    assert m.at[("BIG_1", "iru"), "failing_hours"] == "1"
    assert m.at[("BIG_1", "rcu"), "original_price_usd_per_mwh"] == 100.0
    assert "ir_rc" in m.at[("BIG_1", "iru"), "reason"]
    # the input scenario is untouched (pure function)
    assert _prices(s) == before


def test_only_the_n_largest_are_pivotal():
    """N = 1: residual in A = 10 < 100, only BIG is pivotal; SM2's $30 bid stays."""
    s = two_baa_case(mpm_pivotal_suppliers=1)
    a = _row(pivotal_supplier_test(s), "A", "iru")
    assert a["residual_supply_mw"] == pytest.approx(10) and a["pivotal_suppliers"] == "BIG"
    # B with N = 1: residual 400 >= 100
    assert _row(pivotal_supplier_test(s), "B", "iru")["competitive"]
    after = _prices(mitigate_bids(s)[0])
    assert after[("BIG_1", "iru")] == DAB and after[("SM2_1", "iru")] == 30.0


def test_failing_in_any_hour_mitigates_the_day_constant_bid():
    """Two hours; A's IRU requirement is 0 in hour 1 (passes) and 100 in hour 2 (fails)."""
    s = two_baa_case()
    tables = {k: v.copy() for k, v in s.tables.items()}
    for name in ("demand", "baa_hours"):
        h2 = tables[name].assign(hour=2)
        tables[name] = pd.concat([tables[name], h2], ignore_index=True)
    bh = tables["baa_hours"]
    bh.loc[(bh["baa"] == "A") & (bh["hour"] == 1), "iru_requirement_mw"] = 0.0
    s2 = make_scenario(tables, hours=2, parameters=s.parameters)
    test = pivotal_supplier_test(s2)
    assert _row(test, "A", "iru", 1)["competitive"]
    assert not _row(test, "A", "iru", 2)["competitive"]
    new, mit = mitigate_bids(s2, test)
    assert _prices(new)[("BIG_1", "iru")] == DAB
    assert mit.set_index(["resource", "product"]).at[("BIG_1", "iru"), "failing_hours"] == "2"


def test_iso_inserted_bids_are_mitigated_like_others():
    s = two_baa_case()
    ab = s.tables["availability_bids"].copy()
    ab.loc[(ab["resource"] == "BIG_1") & (ab["product"] == "rcu"), "iso_inserted"] = True
    new, mit = mitigate_bids(s.with_tables(availability_bids=ab))
    assert _prices(new)[("BIG_1", "rcu")] == DAB
    assert bool(mit.set_index(["resource", "product"]).at[("BIG_1", "rcu"), "iso_inserted"])


def test_cap_all_mitigates_every_iru_rcu_bid_above_dab():
    s = two_baa_case(mpm_mode="cap_all")
    new, mit = mitigate_bids(s)
    before, after = _prices(s), _prices(new)
    for key, price in before.items():
        if key[1] in ("iru", "rcu"):
            assert after[key] == min(price, DAB)          # competitive BAA B included
        else:
            assert after[key] == price                    # IRD, RCD, AS untouched
    expected = {k for k, p in before.items() if k[1] in ("iru", "rcu") and p > DAB}
    assert set(zip(mit["resource"], mit["product"])) == expected
    assert (mit["reason"].str.startswith("cap_all")).all()
    assert (mit["mitigated_price_usd_per_mwh"] == DAB).all()


def test_mode_off_changes_nothing():
    s = two_baa_case(mpm_mode="off")
    new, mit = mitigate_bids(s)
    assert new is s
    assert mit.empty and "original_price_usd_per_mwh" in mit.columns


def test_default_dab_never_bites_on_iru():
    """DAB $55 = the IRU bid cap: no IRU bid can be above it; the RCU bid ($100) still is."""
    s = two_baa_case(ir_rc_default_availability_bid_usd_per_mwh=55.0)
    new, mit = mitigate_bids(s)
    assert set(mit["product"]) == {"rcu"}
    assert _prices(new)[("BIG_1", "iru")] == 40.0


# ---------------------------------------------------------------------------------------------
def e2e_case(**params):
    """One BAA, one hour, load 100, IRU requirement 100 (one segment at the $55 cap).
    BIG_1 (SC BIG): Pmax 300, energy @ $20, IRU 180 MW @ $40  (90 % of IR capability)
    SM_1  (SC SM):  Pmax 100, energy @ $25, IRU  20 MW @ $5
    Test: total 200, both suppliers among the 3 largest -> residual 0 < 100 -> not competitive.
    With DAB = $10 BIG's bid becomes $10. Hand solution: G = BIG 100 MW (LMP $20); IRU: SM 20 @ $5,
    BIG 80 @ $10 (marginal, partly awarded) -> IRU price ρ = $10 (unmitigated: $40).
    Objective (bid cost − demand-curve benefit, spec §11.2 convention):
      100·20 + 20·5 + 80·10 − 55·100 = −2,600  (unmitigated: 100·20 + 20·5 + 80·40 − 5,500 = −200)."""
    gens = [_gen("BIG_1", "a", "BIG", 300, 20), _gen("SM_1", "a", "SM", 100, 25)]
    tables = dict(
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="a", baa="A")],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens],
        availability_bids=[_bid("BIG_1", "iru", 180, 40), _bid("SM_1", "iru", 20, 5)],
        demand=[dict(bus="a", hour=1, fixed_demand_mw=100.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=100.0, iru_requirement_mw=100.0)])
    p = {"ir_rc_default_availability_bid_usd_per_mwh": DAB, "mpm_mode": "ir_rc"}
    p.update(params)
    return make_scenario(tables, name="mpm_e2e", hours=1, parameters=p)


def _iru_price(r):
    pp = r.product_prices
    return float(pp[(pp["baa"] == "A") & (pp["product"] == "iru")]["price_usd_per_mwh"].iloc[0])


@pytest.mark.parametrize("mode, price, objective, n_mitigated",
                         [("ir_rc", 10.0, -2600.0, 1), ("off", 40.0, -200.0, 0)])
def test_end_to_end_market_uses_mitigated_price(mode, price, objective, n_mitigated):
    s = e2e_case(mpm_mode=mode)
    r = solve(s)
    sched = r.schedules.set_index("resource")
    assert sched.at["BIG_1", "energy_mw"] == pytest.approx(100, abs=1e-6)
    assert sched.at["SM_1", "iru_mw"] == pytest.approx(20, abs=1e-6)
    assert sched.at["BIG_1", "iru_mw"] == pytest.approx(80, abs=1e-6)
    assert _iru_price(r) == pytest.approx(price, abs=1e-6)
    rp = r.resource_prices.set_index("resource")
    assert rp.at["BIG_1", "iru_usd_per_mwh"] == pytest.approx(price, abs=1e-6)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(objective, abs=1e-4)
    mit = r.tables["mpm_mitigations"]
    assert len(mit) == n_mitigated
    test = r.tables["mpm_test"]
    assert not _row(test, "A", "iru")["competitive"]
    assert r.manifest["input_hash"] == s.input_hash()   # the inputs as submitted
    v = check_run(s, r)   # profit at the mitigated price; the mpm_mitigation rule (hour 0 rows)
    assert v.empty, v.to_string()
    if n_mitigated:
        row = mit.iloc[0]
        assert (row["resource"], row["product"], row["sc"], row["baa"]) == \
            ("BIG_1", "iru", "BIG", "A")
        assert row["original_price_usd_per_mwh"] == 40.0
        assert row["mitigated_price_usd_per_mwh"] == DAB


def test_end_to_end_tables_are_written(tmp_path):
    r = solve(e2e_case())
    out = r.write(tmp_path / "run")
    back = pd.read_csv(out / "mpm_mitigations.csv")
    assert list(back["resource"]) == ["BIG_1"]
    assert back["original_price_usd_per_mwh"].iloc[0] == 40.0
    assert back["hour"].tolist() == [0]            # ir_rc: a mitigation of every hour
    assert back["pivotal_test"].tolist() == ["failed (mpm_test)"]
    assert (out / "mpm_test.csv").exists()
    assert pd.read_csv(out / "mpm_constraints.csv").empty   # lmpm's table, empty under ir_rc


def test_parameters_doc_table_is_current():
    """docs/parameters.md's generated table matches MarketParameters (regenerate with
    `python -m scenarios.parameters_doc`)."""
    from scenarios.parameters import MarketParameters
    from scenarios.parameters_doc import DOC_PATH, main, parameter_table
    assert main(["--check"]) == 0
    text = DOC_PATH.read_text()
    assert parameter_table() in text
    for name in MarketParameters.names():
        assert f"`{name}`" in text
