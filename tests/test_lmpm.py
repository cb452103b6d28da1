"""Local market power mitigation, `mpm_mode = lmpm` (clearing/market/lmpm.py; spec §5.12).

Hand-solved two-bus markets. Common network: one BAA A, buses 1 (reference) and 2, one line L12
(1 → 2, rating 110 MW unless stated), so PTDF_{L12,1} = 0 and PTDF_{L12,2} = −1 (an injection at
bus 2 withdrawn at bus 1 flows 2 → 1). Fixed demand 100 MW at each bus, so LDF = ½, ½ and
PTDF^LDF_{L12,A} = −½; the IRU sensitivity c_i = δ(PTDF_{L12,n(i)} − PTDF^LDF) is +¼ at bus 1 and
−¼ at bus 2 with δ = ½ (ir_deployed_proportion). Thermal units on-line, Pmin 0, no start-up or
minimum-load cost, ample ramps. DAB = $10 (below the $55 IRU cap, so mitigation can bite).

IRU case (`_iru_case`): G1 (SC S1) at bus 1: energy 400 MW @ $10, IRU 200 MW @ $5; G2 (SC S2,
the pocket) at bus 2: energy 200 MW @ $500, IRU 200 MW @ $40. IRU requirement 100 MW (one
segment at the $55 cap). Energy: G1 serves both loads (200 MW), flow f = 100 < 110: the base
row is slack. Deployment row: fU = 100 + ¼ IRU_1 − ¼ IRU_2 ≤ 110, so IRU_1 − IRU_2 ≤ 40 with
IRU_1 + IRU_2 = 100: IRU_1 = 70 @ $5, IRU_2 = 30 @ $40 (moving a MW of flow by re-dispatching
energy to G2 costs $490, by swapping IRU 2 × $35 = $70).
  Duals: ρ = ½·5 + ½·40 = $22.5 (one more MW needs ½ MW from each); ηU = $70 (4 MW more limit
  lets 2 MW of IRU move from G2 to G1: 2 × 35). IRUMP_1 = 22.5 − δ·70·(+½) = $5,
  IRUMP_2 = 22.5 + 17.5 = $40; LMP_1 = $10, LMP_2 = 10 + 70 = $80 (§6.1: −PTDF·η).
  Counter-flow test on the dep_up row (binds at +110, μ = +70): counter-flow suppliers have
  μ·c < 0, i.e. G2 (c = −¼): supply S2 = ¼ × 200 = 50 MW of flow, needed ¼ × 30 = 7.5 MW;
  without the three largest (S2 only) 0 < 7.5: NOT competitive.
  NCC_2 = −δ·η·(PTDF_2 − PTDF^LDF) = −½·70·(−½) = $17.5 > $0.01: G2's bid becomes
  min(40, max(10, 40 − 17.5)) = $22.5. NCC_1 = −17.5 < 0: G1 (the other side) is not mitigated.
  Final IFM with G2 @ $22.5: same awards; ρ = ½·5 + ½·22.5 = $13.75, η = 2 × 17.5 = $35,
  IRUMP_2 = 13.75 + ½·35·½ = $22.5, IRUMP_1 = $5, LMP_2 = 10 + 35 = $45.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from clearing.analysis.check import check_run
from clearing.api import solve
from clearing.market.lmpm import constraint_tests, mitigate_after_ifm
from clearing.results import RunResult
from scenarios.build import make_scenario
from strategies import markets

DAB = 10.0


def _gen(rid, bus, sc, pmax, price):
    return (dict(resource=rid, type="thermal", bus=bus, sc=sc, pmax_mw=pmax,
                 ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0),
            dict(resource=rid, initial_on=True),
            dict(resource=rid, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price))


def _market(gens, bids, *, hours=1, demand2=100.0, forecast=None, iru=0.0, rating=110.0,
            extra=None, **params):
    t = dict(baas=[dict(baa="A", is_reference=True)],
             buses=[dict(bus="1", baa="A"), dict(bus="2", baa="A")],
             branches=[dict(branch="L12", from_bus="1", to_bus="2", reactance_pu=0.1,
                            rating_mw=rating)],
             resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
             energy_bids=[g[2] for g in gens], availability_bids=bids,
             demand=[dict(bus=b, hour=h, fixed_demand_mw=mw) for h in range(1, hours + 1)
                     for b, mw in (("1", 100.0), ("2", demand2))],
             baa_hours=[dict(baa="A", hour=h, iru_requirement_mw=iru,
                             demand_forecast_mw=forecast or 100.0 + demand2)
                        for h in range(1, hours + 1)])
    t.update(extra or {})
    p = dict(mpm_mode="lmpm", ir_rc_default_availability_bid_usd_per_mwh=DAB,
             ir_deployed_proportion=0.5)
    p.update(params)
    return make_scenario(t, hours=hours, parameters=p)


def _iru_case(pocket_scs=("S2",), pocket_prices=None, hours=1, extra=None, **params):
    """The module docstring's IRU case; `pocket_scs`: one 200 MW pocket unit G2x per SC."""
    gens = [_gen("G1", "1", "S1", 400.0, 10.0)]
    gens += [_gen(f"G2{sc}", "2", sc, 200.0, 500.0) for sc in pocket_scs]
    bids = [dict(resource="G1", product="iru", mw=200.0, price_usd_per_mwh=5.0)]
    bids += [dict(resource=f"G2{sc}", product="iru", mw=200.0, price_usd_per_mwh=40.0)
             for sc in pocket_scs]
    return _market(gens, bids, hours=hours, iru=100.0, extra=extra, **params)


def _col(run: RunResult, table: str, key: str, col: str) -> dict:
    df = run.tables[table]
    return dict(zip(df[key], df[col]))


def _clean(scenario, run):
    v = check_run(scenario, run)
    assert v.empty, v.to_string()


# ---------------------------------------------------------------------------------------------
def test_lmpm_is_the_default_mode():
    from scenarios.parameters import MarketParameters
    assert MarketParameters().mpm_mode == "lmpm"
    assert MarketParameters().mpm_energy is False


def test_noncompetitive_line_mitigates_the_resource_behind_it_not_the_other_side():
    """The module docstring's IRU case: G2 (bus 2, behind L12) $40 -> $22.5; G1 untouched."""
    sc = _iru_case()
    r = solve(sc)
    cons = r.tables["mpm_constraints"]
    assert len(cons) == 1
    row = cons.iloc[0]
    assert (row["constraint"], row["kind"], row["hour"], row["product"], row["stage"],
            row["source"]) == ("L12", "branch_dep_up", 1, "iru", "ifm", "test")
    assert row["shadow_price"] == pytest.approx(70.0, abs=1e-6)
    assert row["counterflow_needed_mw"] == pytest.approx(7.5, abs=1e-6)
    assert row["counterflow_supply_mw"] == pytest.approx(50.0, abs=1e-6)
    assert row["residual_supply_mw"] == pytest.approx(0.0, abs=1e-9)
    assert not row["competitive"] and row["pivotal_suppliers"] == "S2"
    mit = r.tables["mpm_mitigations"]
    assert list(zip(mit["resource"], mit["product"], mit["hour"])) == [("G2S2", "iru", 1)]
    m = mit.iloc[0]
    assert m["original_price_usd_per_mwh"] == 40.0
    assert m["mpm_price_usd_per_mwh"] == pytest.approx(40.0, abs=1e-6)
    assert m["ncc_usd_per_mwh"] == pytest.approx(17.5, abs=1e-6)
    assert m["competitive_price_usd_per_mwh"] == pytest.approx(22.5, abs=1e-6)
    assert m["mitigated_price_usd_per_mwh"] == pytest.approx(22.5, abs=1e-6)
    assert m["constraints"] == "branch_dep_up:L12" and "pivotal S2" in m["pivotal_test"]
    assert (m["sc"], m["baa"], m["mw"]) == ("S2", "A", 200.0)
    # the final IFM cleared with the mitigated bid
    assert r.manifest["mpm"] == {"mode": "lmpm", "mitigated_bids": 1, "ifm_recleared": True,
                                 "ruc_recleared": False}
    assert _col(r, "schedules", "resource", "iru_mw") == pytest.approx({"G1": 70.0, "G2S2": 30.0})
    assert _col(r, "resource_prices", "resource", "iru_usd_per_mwh") == \
        pytest.approx({"G1": 5.0, "G2S2": 22.5})
    pp = r.product_prices
    assert float(pp[pp["product"] == "iru"]["price_usd_per_mwh"].iloc[0]) == pytest.approx(13.75)
    assert _col(r, "nodal_prices", "bus", "lmp") == pytest.approx({"1": 10.0, "2": 45.0})
    _clean(sc, r)


def test_the_mpm_pass_alone_matches_the_unmitigated_market():
    """mpm_mode off clears the submitted bids: IRUMP_2 = $40, LMP_2 = $80 (module docstring);
    the mitigation step on those tables gives the same $22.5 as the full run."""
    sc = _iru_case(mpm_mode="off")
    r = solve(sc)
    assert _col(r, "resource_prices", "resource", "iru_usd_per_mwh") == \
        pytest.approx({"G1": 5.0, "G2S2": 40.0})
    assert _col(r, "nodal_prices", "bus", "lmp") == pytest.approx({"1": 10.0, "2": 80.0})
    assert r.tables["mpm_mitigations"].empty and r.tables["mpm_constraints"].empty
    from network.ptdf import scenario_ptdf
    step = mitigate_after_ifm(sc.with_parameters(mpm_mode="lmpm"), r.tables, scenario_ptdf(sc))
    assert step.changed
    assert step.scenario.bids.availability("G2S2", "iru", 1).price_usd_per_mwh == \
        pytest.approx(22.5)
    assert step.scenario.bids.availability("G1", "iru", 1).price_usd_per_mwh == 5.0


def test_competitive_line_mitigates_nobody():
    """Four pocket SCs (S2..S5, 200 MW of IRU each): each supplies ¼ × 200 = 50 MW of
    counter-flow; without the three largest (S2, S3, S4 by name) 50 ≥ 7.5 needed: competitive.
    Nothing is mitigated and the MPM pass is the final IFM (IRUMP in the pocket stays $40)."""
    sc = _iru_case(pocket_scs=("S2", "S3", "S4", "S5"))
    r = solve(sc)
    row = r.tables["mpm_constraints"].iloc[0]
    assert row["counterflow_supply_mw"] == pytest.approx(200.0)
    assert row["largest_suppliers"] == "S2;S3;S4"
    assert row["residual_supply_mw"] == pytest.approx(50.0)
    assert row["counterflow_needed_mw"] == pytest.approx(7.5)
    assert row["competitive"] and row["pivotal_suppliers"] == ""
    assert r.tables["mpm_mitigations"].empty
    assert not r.manifest["mpm"]["ifm_recleared"]
    rp = _col(r, "resource_prices", "resource", "iru_usd_per_mwh")
    assert rp["G2S5"] == pytest.approx(40.0) and rp["G1"] == pytest.approx(5.0)
    _clean(sc, r)


def test_a_supplied_list_replaces_the_test():
    """noncompetitive_constraints given: (a) listing L12 (hour 0 = every hour) makes the
    competitive four-SC row non-competitive: all four pocket bids $40 -> $22.5 (each has
    NCC $17.5); ρ = ½·5 + ½·22.5 = $13.75. (b) an empty list leaves the one-SC case unmitigated
    (IRUMP_2 $40) although its test would fail."""
    listed = dict(noncompetitive_constraints=[dict(constraint="L12")])
    sc = _iru_case(pocket_scs=("S2", "S3", "S4", "S5"), extra=listed)
    r = solve(sc)
    row = r.tables["mpm_constraints"].iloc[0]
    assert row["source"] == "supplied" and not row["competitive"]
    mit = r.tables["mpm_mitigations"]
    assert sorted(mit["resource"]) == ["G2S2", "G2S3", "G2S4", "G2S5"]
    assert mit["mitigated_price_usd_per_mwh"].to_numpy() == pytest.approx([22.5] * 4)
    assert "listed in noncompetitive_constraints" in mit["pivotal_test"].iloc[0]
    pp = r.product_prices
    assert float(pp[pp["product"] == "iru"]["price_usd_per_mwh"].iloc[0]) == pytest.approx(13.75)
    _clean(sc, r)
    empty = _iru_case(extra=dict(noncompetitive_constraints=[]))
    r2 = solve(empty)
    row = r2.tables["mpm_constraints"].iloc[0]
    assert row["source"] == "supplied" and row["competitive"]
    assert r2.tables["mpm_mitigations"].empty
    assert _col(r2, "resource_prices", "resource", "iru_usd_per_mwh")["G2S2"] == \
        pytest.approx(40.0)


def test_hourly_bids_are_mitigated_per_hour():
    """The IRU case over four hours; G2's IRU bid: hour 1 the day bid $40, hours 2–4 hourly
    rows @ $20, $12, $8 (each hour's market as in the module docstring with G2's price b:
    ρ = (5 + b)/2, η = 2(b − 5), IRUMP_2 = b, NCC = ¼η = (b − 5)/2, competitive ρ):
      h1: b 40 -> min(40, max(10, 22.5)) = 22.5;  h2: b 20: NCC 7.5 -> max(10, 12.5) = 12.5;
      h3: b 12: NCC 3.5 -> max(10, 8.5) = 10 (the DAB floor);  h4: b 8 <= DAB: unchanged
      although NCC = 1.5 > $0.01.
    The final IRUMP_2 = the mitigated bid: 22.5, 12.5, 10, 8."""
    hourly = dict(availability_bids_hourly=[
        dict(resource="G2S2", hour=h, product="iru", mw=200.0, price_usd_per_mwh=b)
        for h, b in ((2, 20.0), (3, 12.0), (4, 8.0))])
    sc = _iru_case(hours=4, extra=hourly)
    r = solve(sc)
    mit = r.tables["mpm_mitigations"].set_index("hour")
    assert list(mit.index) == [1, 2, 3] and set(mit["resource"]) == {"G2S2"}
    assert mit["original_price_usd_per_mwh"].to_dict() == {1: 40.0, 2: 20.0, 3: 12.0}
    assert mit["ncc_usd_per_mwh"].to_numpy() == pytest.approx([17.5, 7.5, 3.5])
    assert mit["mitigated_price_usd_per_mwh"].to_numpy() == pytest.approx([22.5, 12.5, 10.0])
    assert mit["failing_hours"].tolist() == ["1", "2", "3"]
    rp = r.resource_prices[r.resource_prices["resource"] == "G2S2"].set_index("hour")
    assert rp["iru_usd_per_mwh"].to_numpy() == pytest.approx([22.5, 12.5, 10.0, 8.0])
    _clean(sc, r)


def _rcu_case(**params):
    """G1 (S1, bus 1): energy 400 @ $10, RCU 200 @ $5; G2 (S2, bus 2): energy 200 @ $500,
    RCU 200 @ $100. No IR. Forecast 250 vs fixed demand 200: the RUC needs 50 MW.
    IFM: G1 200 MW, flow 100 < 110. RUC flow f^R = Σ PTDF (r − LDF·D^F) = −(r_2 − 125) ≤ 110:
    RCU_2 ≥ 15, so RCU_1 = 35 @ $5, RCU_2 = 15 @ $100. RUC prices: bus 1 $5 (π^R, the
    reference), bus 2 $100 = π^R − PTDF_2·μR, μR = $95.
    Test on the branch_ruc row (+110, μ = 95): c = PTDF, counter-flow from G2 (c = −1): supply
    1 × min(200, 60·1000, 200) = 200 MW, needed 15: S2 alone, residual 0: non-competitive.
    NCC^RC_2 = −95·(−1) = $95: min(100, max(10, 100 − 95)) = $10; NCC^RC_1 = 0.
    Final RUC with G2 @ $10: same awards, RCUMP_2 = $10 (μR = 5), RCUMP_1 = $5."""
    gens = [_gen("G1", "1", "S1", 400.0, 10.0), _gen("G2", "2", "S2", 200.0, 500.0)]
    bids = [dict(resource="G1", product="rcu", mw=200.0, price_usd_per_mwh=5.0),
            dict(resource="G2", product="rcu", mw=200.0, price_usd_per_mwh=100.0)]
    return _market(gens, bids, forecast=250.0, **params)


def test_rcu_is_mitigated_after_an_unmitigated_ruc_pass():
    sc = _rcu_case()
    r = solve(sc)
    cons = r.tables["mpm_constraints"]
    row = cons[cons["product"] == "rcu"].iloc[0]
    assert (row["kind"], row["stage"], row["shadow_price"]) == ("branch_ruc", "ruc",
                                                                pytest.approx(95.0))
    assert row["counterflow_supply_mw"] == pytest.approx(200.0)
    assert row["counterflow_needed_mw"] == pytest.approx(15.0)
    assert not row["competitive"]
    mit = r.tables["mpm_mitigations"]
    assert list(zip(mit["resource"], mit["product"], mit["hour"])) == [("G2", "rcu", 1)]
    m = mit.iloc[0]
    assert (m["mpm_price_usd_per_mwh"], m["ncc_usd_per_mwh"], m["competitive_price_usd_per_mwh"],
            m["mitigated_price_usd_per_mwh"]) == pytest.approx((100.0, 95.0, 5.0, 10.0))
    assert m["constraints"] == "branch_ruc:L12"
    assert r.manifest["mpm"] == {"mode": "lmpm", "mitigated_bids": 1, "ifm_recleared": False,
                                 "ruc_recleared": True}
    assert _col(r, "schedules", "resource", "rcu_mw") == pytest.approx({"G1": 35.0, "G2": 15.0})
    assert _col(r, "resource_prices", "resource", "rcu_usd_per_mwh") == \
        pytest.approx({"G1": 5.0, "G2": 10.0})
    _clean(sc, r)
    # the same RCU offered by the ISO: G2 an RA resource without an RCU bid, the inserted bid
    # (Pmax 200 MW at iso_inserted_rcu_bid_usd_per_mwh = $100) is mitigated alike and keeps its
    # flag, so G2's award stays a proxy award
    ra = sc.edit("resources", where={"resource": "G2"}, set={"must_offer_ra": True})
    ab = ra.tables["availability_bids"]
    ra = ra.with_tables(availability_bids=ab[ab["resource"] != "G2"]).with_parameters(
        iso_inserted_rcu_bid_usd_per_mwh=100.0).validate()
    rr = solve(ra)
    m = rr.tables["mpm_mitigations"].iloc[0]
    assert (m["resource"], m["product"], bool(m["iso_inserted"])) == ("G2", "rcu", True)
    assert (m["original_price_usd_per_mwh"], m["mitigated_price_usd_per_mwh"]) == \
        pytest.approx((100.0, 10.0))
    sch = rr.schedules.set_index("resource")
    assert sch.at["G2", "rcu_mw"] == pytest.approx(15.0) and bool(sch.at["G2", "rcu_proxy"])
    _clean(ra, rr)
    # with the default DAB ($55) the bid stops at the floor: min(100, max(55, 5)) = $55
    r55 = solve(_rcu_case(ir_rc_default_availability_bid_usd_per_mwh=55.0))
    assert r55.tables["mpm_mitigations"]["mitigated_price_usd_per_mwh"].tolist() == [55.0]
    assert _col(r55, "resource_prices", "resource", "rcu_usd_per_mwh")["G2"] == \
        pytest.approx(55.0)


def test_optional_energy_lmpm():
    """Demand 100 at bus 1, 150 at bus 2, line 100 MW, no IR (deployment_constraint_set none),
    mpm_energy on, DEB $20. G1 (S1, bus 1) energy 400 @ $10, G2 (S2, bus 2) 200 @ $50.
    MPM pass: G1 200 (flow 100, binding), G2 50; LMP_1 $10, LMP_2 $50, μ = $40.
    Energy test on the base row: counter-flow from G2 (PTDF −1): supply 1 × Pmax 200, needed
    1 × 50: non-competitive. NCC^E_2 = −40·(−1) = $40, competitive LMP $10: G2's offer
    $50 -> max(DEB 20, 10) = $20. Final: G2 still 50 MW, LMP_2 = $20. G1 (PTDF 0): no NCC.
    Off by default: the same market without mpm_energy mitigates nothing."""
    gens = [_gen("G1", "1", "S1", 400.0, 10.0), _gen("G2", "2", "S2", 200.0, 50.0)]
    kw = dict(demand2=150.0, rating=100.0, deployment_constraint_set="none")
    sc = _market(gens, [], mpm_energy=True, mpm_default_energy_bid_usd_per_mwh=20.0, **kw)
    r = solve(sc)
    row = r.tables["mpm_constraints"].iloc[0]
    assert (row["kind"], row["product"], row["counterflow_needed_mw"],
            row["counterflow_supply_mw"], row["competitive"]) == \
        ("branch_base", "energy", pytest.approx(50.0), pytest.approx(200.0), False)
    mit = r.tables["mpm_mitigations"]
    assert list(zip(mit["resource"], mit["product"], mit["hour"])) == [("G2", "energy", 1)]
    assert (mit.iloc[0]["original_price_usd_per_mwh"], mit.iloc[0]["ncc_usd_per_mwh"],
            mit.iloc[0]["mitigated_price_usd_per_mwh"], mit.iloc[0]["mw"]) == \
        pytest.approx((50.0, 40.0, 20.0, 200.0))
    assert _col(r, "nodal_prices", "bus", "lmp") == pytest.approx({"1": 10.0, "2": 20.0})
    assert _col(r, "schedules", "resource", "energy_mw") == pytest.approx({"G1": 200.0, "G2": 50.0})
    _clean(sc, r)
    off = solve(_market(gens, [], **kw))
    assert off.tables["mpm_mitigations"].empty
    assert _col(off, "nodal_prices", "bus", "lmp")["2"] == pytest.approx(50.0)


def test_constraint_tests_are_pure_functions_of_the_pass_tables():
    """constraint_tests reads only the pass's tables: a hand-made binding_constraints row
    at the lower limit (flow −110: μ = −70) turns the counter-flow side round: G1 (c = +¼,
    μ·c < 0) supplies ¼ × 200 = 50 MW of counter-flow, needed ¼ × IRU_1 = ¼ × 70 = 17.5."""
    sc = _iru_case()
    tables = dict(
        binding_constraints=pd.DataFrame([dict(constraint="L12", hour=1, kind="branch_dep_up",
                                               shadow_price=70.0, flow_mw=-110.0,
                                               limit_mw=110.0)]),
        schedules=pd.DataFrame([dict(resource="G1", hour=1, iru_mw=70.0),
                                dict(resource="G2S2", hour=1, iru_mw=30.0)]))
    from network.ptdf import scenario_ptdf
    t = constraint_tests(sc, tables, scenario_ptdf(sc), "iru", "ifm").iloc[0]
    assert t["supply_by_supplier"] == "S1=50"
    assert t["counterflow_needed_mw"] == pytest.approx(17.5)
    assert not t["competitive"] and t["pivotal_suppliers"] == "S1"


# --- the checker's rule ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def iru_run():
    sc = _iru_case()
    return sc, solve(sc)


def _broken(run: RunResult, table: str, col: str, value) -> RunResult:
    tables = dict(run.tables)
    df = tables[table].copy()
    df.loc[0, col] = value
    tables[table] = df
    return RunResult(tables=tables, manifest=run.manifest)


@pytest.mark.parametrize("table, col, value, expect", [
    ("mpm_mitigations", "mitigated_price_usd_per_mwh", 10.0, "mitigated price 10"),
    ("mpm_mitigations", "ncc_usd_per_mwh", 5.0, "NCC 5"),
    ("mpm_mitigations", "original_price_usd_per_mwh", 45.0, "original price 45"),
    ("mpm_constraints", "competitive", True, "competitive = True"),
])
def test_mpm_mitigation_rule_fires_on_a_broken_table(iru_run, table, col, value, expect):
    """The published run passes; one changed cell breaks the rule. Hand values: mitigated
    $22.5 (not $10), NCC $17.5 (not $5), the hour's bid $40 (not $45), the row non-competitive
    (residual 0 < 7.5)."""
    sc, r = iru_run
    v = check_run(sc, _broken(r, table, col, value))
    hits = v[v["rule"] == "mpm_mitigation"]
    assert len(hits) >= 1 and hits["message"].str.contains(expect, regex=False).any(), \
        v.to_string()


# --- random markets ---------------------------------------------------------------------------
def _violations(scenario, run) -> set:
    v = check_run(scenario, run)
    return {(r["rule"], r["table"], r["id"], r["hour"]) for r in v.to_dict("records")}


@settings(max_examples=8)
@given(scenario=markets(phases=(1, 2), parameters={"mpm_mode": "lmpm"}), energy=st.booleans())
def test_random_markets_lmpm_adds_no_violation_and_only_lowers_cost(scenario, energy):
    """Random small markets (tests/strategies.py), congested on purpose (every branch rating
    × 0.1) with DAB $0 so that mitigation bites (one SC per BAA unless drawn otherwise, so a
    binding row is usually non-competitive; 140 such draws off CI mitigated in 22, none broke
    this): the lmpm run breaks no checker rule the same market does not break with mpm_mode
    off (the `mpm_mitigation` rule included); mitigation only lowers bid prices, so the IFM
    objective is at most the unmitigated one (same feasible set, MIP gap 0), and equal when no
    IRU or energy bid changed."""
    scenario = scenario.with_parameters(
        mpm_energy=energy, ir_rc_default_availability_bid_usd_per_mwh=0.0).edit(
        "branches", scale={"rating_mw": 0.1}).validate()
    note(f"parameters {scenario.parameters}")
    run = solve(scenario)
    off = solve(scenario.with_parameters(mpm_mode="off"))
    new = _violations(scenario, run) - _violations(scenario, off)
    assert not new, sorted(new)
    obj, obj_off = (r.manifest["solver"]["objective_lp"] for r in (run, off))
    assert obj <= obj_off + 1e-6 * max(1.0, abs(obj_off))
    if not run.manifest["mpm"]["ifm_recleared"]:
        assert obj == pytest.approx(obj_off, rel=1e-9, abs=1e-6)


def test_noncompetitive_constraints_validation_names_file_row_and_column(tmp_path):
    """A listed constraint that is not a branch, and an hour beyond H, are reported on their
    row of noncompetitive_constraints.csv (row 2 = the first data row)."""
    from scenarios import load_scenario, write_scenario
    from scenarios.errors import ScenarioError
    out = write_scenario(_iru_case(), tmp_path / "m")
    (out / "noncompetitive_constraints.csv").write_text("constraint,hour\nL12,\nL99,1\nL12,2\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(out)
    text = str(e.value)
    assert "noncompetitive_constraints.csv, row 3, column 'constraint'" in text and "L99" in text
    assert "noncompetitive_constraints.csv, row 4, column 'hour'" in text
    (out / "noncompetitive_constraints.csv").write_text("constraint,hour\nL12,\n")
    back = load_scenario(out)
    assert back.tables["noncompetitive_constraints"]["hour"].tolist() == [0]
