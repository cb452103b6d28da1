"""The spec's worked examples §11.1–11.4 reproduced exactly (issue: clearing engine).

Expected values are the spec's hand solutions (market-design.md §11), restated here."""

from __future__ import annotations

import pytest

from clearing.api import solve
from scenarios.examples import example_11_1, example_11_2, example_11_3, example_11_4

TOL = 1e-6


def _sched(r, res, col="energy_mw"):
    s = r.schedules.set_index("resource")
    return float(s.at[res, col])


def _lmp(r, bus):
    return float(r.nodal_prices.set_index("bus").at[bus, "lmp"])


def _price(r, baa, product):
    pp = r.product_prices
    return float(pp[(pp["baa"] == baa) & (pp["product"] == product)]["price_usd_per_mwh"].iloc[0])


def test_11_1_binding_transfer_limit():
    r = solve(example_11_1(limit_mw=100))
    t = r.transfers.set_index("interface")
    assert t.at["A_B", "mw"] == pytest.approx(100, abs=TOL)
    assert _sched(r, "G1") == pytest.approx(150, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(150, abs=TOL)
    assert _lmp(r, "A1") == pytest.approx(20, abs=TOL)
    assert _lmp(r, "B1") == pytest.approx(50, abs=TOL)
    assert t.at["A_B", "shadow_price"] == pytest.approx(30, abs=TOL)   # ν + β
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(10_500, abs=1e-4)
    # transfer revenue 100 × 30 = $3,000; A's transfer component −30 with SMEC at B
    npr = r.nodal_prices.set_index("bus")
    assert npr.at["A1", "energy"] == pytest.approx(50, abs=TOL)
    assert npr.at["A1", "baa_transfer"] == pytest.approx(-30, abs=TOL)
    assert t.at["A_B", "mw"] * (_lmp(r, "B1") - _lmp(r, "A1")) == pytest.approx(3000, abs=1e-4)


def test_11_1_phase1_variant():
    r = solve(example_11_1(limit_mw=100, phase=1))
    assert r.transfers["mw"].abs().max() == pytest.approx(0, abs=TOL)
    assert _sched(r, "G1") == pytest.approx(50, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(250, abs=TOL)
    assert (_lmp(r, "A1"), _lmp(r, "B1")) == pytest.approx((20, 50), abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(13_500, abs=1e-4)


def test_11_1_limit_500_variant():
    r = solve(example_11_1(limit_mw=500))
    t = r.transfers.set_index("interface")
    assert _sched(r, "G1") == pytest.approx(200, abs=TOL)
    assert t.at["A_B", "mw"] == pytest.approx(150, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(100, abs=TOL)
    assert (_lmp(r, "A1"), _lmp(r, "B1")) == pytest.approx((50, 50), abs=TOL)
    assert t.at["A_B", "shadow_price"] == pytest.approx(0, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(9_000, abs=1e-4)


@pytest.mark.parametrize("cap, iru1, iru2, p1, p2, relaxed, obj", [
    (55, 30, 15, 70, 80, 35, 2125.0),
    (15, 0, 15, 100, 50, 65, 3775.0),
])
def test_11_2_ir_relaxed_and_priced_at_cap(cap, iru1, iru2, p1, p2, relaxed, obj):
    r = solve(example_11_2(cap=cap))
    assert _sched(r, "G1", "iru_mw") == pytest.approx(iru1, abs=TOL)
    assert _sched(r, "G2", "iru_mw") == pytest.approx(iru2, abs=TOL)
    assert _sched(r, "G1") == pytest.approx(p1, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(p2, abs=TOL)
    bs = r.baa_summary.iloc[0]
    assert bs["iru_relaxed_mw"] == pytest.approx(relaxed, abs=TOL)
    assert bs["iru_cleared_mw"] == pytest.approx(80 - relaxed, abs=TOL)
    baa = bs["baa"]
    assert _price(r, baa, "iru") == pytest.approx(cap, abs=TOL)        # IRURMP = ρU = cap
    assert _price(r, baa, "energy") == pytest.approx(40, abs=TOL)      # LMP $40
    rp = r.resource_prices.set_index("resource")
    # IRUMP of both resources = cap; with cap 15, G1's IRU = 0 while its stack binds (§11.10)
    assert rp.at["G1", "iru_usd_per_mwh"] == pytest.approx(cap, abs=TOL)
    assert rp.at["G2", "iru_usd_per_mwh"] == pytest.approx(cap, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(obj, abs=1e-4)
    rel = r.relaxations
    assert rel[rel["requirement"] == "iru"]["relaxed_mw"].sum() == pytest.approx(relaxed, abs=TOL)


@pytest.mark.parametrize("ref, energy", [("2", 50.0), ("1", 20.0)])
def test_11_3_congestion_reference_dependence(ref, energy):
    r = solve(example_11_3(reference_bus=ref))
    assert _sched(r, "G1") == pytest.approx(100, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(50, abs=TOL)
    npr = r.nodal_prices.set_index("bus")
    assert npr.at["1", "lmp"] == pytest.approx(20, abs=TOL)
    assert npr.at["2", "lmp"] == pytest.approx(50, abs=TOL)
    # π = SMEC depends on the reference bus; LMPs do not
    assert npr.at["1", "energy"] == pytest.approx(energy, abs=TOL)
    for bus in ("1", "2"):
        assert npr.at[bus, "lmp"] == pytest.approx(
            npr.at[bus, "energy"] + npr.at[bus, "congestion"] + npr.at[bus, "loss"], abs=TOL)
    bc = r.binding_constraints
    assert bc.loc[bc["kind"] == "branch_base", "shadow_price"].sum() == pytest.approx(30, abs=TOL)


@pytest.mark.parametrize("delta, iru1, iru2, eta, lmp2, obj", [
    (1.0, 10, 20, 5.0, 25.0, 250.0),
    (0.5, 20, 10, 10.0, 30.0, 200.0),
])
def test_11_4_deployment_scenario_binds(delta, iru1, iru2, eta, lmp2, obj):
    r = solve(example_11_4(delta=delta))
    assert _sched(r, "G1") == pytest.approx(90, abs=TOL)
    assert _sched(r, "G2") == pytest.approx(0, abs=TOL)
    assert _sched(r, "G1", "iru_mw") == pytest.approx(iru1, abs=TOL)
    assert _sched(r, "G2", "iru_mw") == pytest.approx(iru2, abs=TOL)
    bc = r.binding_constraints
    assert bc.loc[bc["kind"] == "branch_base", "shadow_price"].sum() == pytest.approx(0, abs=TOL)
    assert bc.loc[bc["kind"] == "branch_dep_up", "shadow_price"].sum() == pytest.approx(eta, abs=TOL)
    baa = r.baa_summary["baa"].iloc[0]
    assert _price(r, baa, "iru") == pytest.approx(5, abs=TOL)          # ρU = IRURMP = $5
    rp = r.resource_prices.set_index("resource")
    assert rp.at["G1", "iru_usd_per_mwh"] == pytest.approx(0, abs=TOL)  # 5 − δ·η·1
    assert rp.at["G2", "iru_usd_per_mwh"] == pytest.approx(5, abs=TOL)
    npr = r.nodal_prices.set_index("bus")
    assert npr.at["2", "lmp"] == pytest.approx(lmp2, abs=TOL)
    assert npr.at["1", "lmp"] == pytest.approx(20, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(obj, abs=1e-4)


def test_two_runs_identical_tables():
    a, b = solve(example_11_4(delta=0.5)), solve(example_11_4(delta=0.5))
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
