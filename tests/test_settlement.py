"""Settlement allocators (spec §8, §7.5; worked examples §11.5–§11.8, invariants §11.10).

Every expected value is computed by hand in the test from the spec's formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.results import RunResult, write_run
from clearing.analysis.settle import SETTLEMENT_INPUT_COLUMNS, settle, settle_command
from products.flexible_ramp.settlement import fru_uncertainty
from products.imbalance_reserves.settlement import ir_no_pay, ir_tier1_quantities
from products.reliability_capacity.settlement import rc_no_pay, rc_tier1_quantities
from products.rse_charges import rse_lines
from products.settlement_core import (charge_line, daily_statement, settlement_table,
                                      tier_allocation)
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError
from scenarios.writer import write_scenario

CENT = 0.005


# ------------------------------------------------------------------------------------------------
# builders
# ------------------------------------------------------------------------------------------------
def make_scen(baas, resources, *, hours=1, forecast=None, metered=None, demand=None,
              iso_inserted=(), parameters=None):
    """baas: [(baa, entity)]; resources: [(resource, type, baa, sc)]; forecast/metered:
    {baa: MW} (every hour); demand: {baa: fixed MW} (every hour)."""
    forecast = forecast or {}
    metered = metered or {}
    demand = demand or {}
    names = [b for b, _ in baas]
    t = {
        "baas": [dict(baa=b, entity=e, is_reference=(i == 0)) for i, (b, e) in enumerate(baas)],
        "buses": [dict(bus=f"n_{b}", baa=b) for b in names],
        "branches": [dict(branch=f"l{i}", from_bus=f"n_{a}", to_bus=f"n_{b}", reactance_pu=0.1,
                          rating_mw=1000.0) for i, (a, b) in enumerate(zip(names, names[1:]))],
        "resources": [dict(resource=r, type=ty, bus=f"n_{b}", sc=sc, pmax_mw=1000.0)
                      for r, ty, b, sc in resources],
        "thermal": [dict(resource=r) for r, ty, _, _ in resources if ty == "thermal"],
        "baa_hours": [dict(baa=b, hour=h, demand_forecast_mw=forecast.get(b, 0.0),
                           metered_demand_mw=metered.get(b, float("nan")))
                      for b in names for h in range(1, hours + 1)],
        "demand": [dict(bus=f"n_{b}", hour=h, fixed_demand_mw=mw)
                   for b, mw in demand.items() for h in range(1, hours + 1)],
        "energy_bids": pd.DataFrame(columns=["resource", "segment", "mw", "price_usd_per_mwh"]),
    }
    if iso_inserted:
        t["availability_bids"] = [dict(resource=r, product=p, mw=1000.0, price_usd_per_mwh=0.0,
                                       iso_inserted=True) for r, p in iso_inserted]
    if not t["thermal"]:
        del t["thermal"]
    if not t["demand"]:
        t["demand"] = pd.DataFrame(columns=["bus", "hour", "fixed_demand_mw"])
    if not t["branches"]:
        t["branches"] = pd.DataFrame(columns=["branch", "from_bus", "to_bus", "reactance_pu",
                                              "rating_mw"])
    return make_scenario(t, hours=hours, parameters=parameters)


AWARDS = ("energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw", "nonspin_mw", "iru_mw", "ird_mw",
          "rcu_mw", "rcd_mw")
PRICES = ("iru_usd_per_mwh", "ird_usd_per_mwh", "rcu_usd_per_mwh", "rcd_usd_per_mwh")


def make_run(scen, rows, baa_rows=()):
    """rows: [dict(resource, hour, <award/price columns>)]; baa_rows: [dict(baa, hour,
    iru_requirement_mw, iru_relaxed_mw, iru_price, ird_…)]. Unnamed values are 0."""
    rf = scen.resource_frame.set_index("resource")
    sch, rp = [], []
    for r in rows:
        res, h = r["resource"], r.get("hour", 1)
        base = dict(resource=res, hour=h, baa=rf.at[res, "baa"], bus=rf.at[res, "bus"])
        sch.append({**base, "committed": 1, **{c: float(r.get(c, 0.0)) for c in AWARDS}})
        rp.append({**base, **{c: float(r.get(c, 0.0)) for c in PRICES}})
    bsum, pp = [], []
    have = {(b["baa"], b.get("hour", 1)) for b in baa_rows}
    all_rows = list(baa_rows) + [dict(baa=b, hour=h) for b in scen.baas["baa"]
                                 for h in range(1, scen.hours + 1) if (b, h) not in have]
    for b in all_rows:
        row = dict(baa=b["baa"], hour=b.get("hour", 1), demand_mw=0.0, generation_mw=0.0,
                   net_export_mw=0.0)
        for p in ("iru", "ird", "rcu", "rcd"):
            req, rel = b.get(f"{p}_requirement_mw", 0.0), b.get(f"{p}_relaxed_mw", 0.0)
            row.update({f"{p}_requirement_mw": req, f"{p}_cleared_mw": req - rel,
                        f"{p}_relaxed_mw": rel})
            pp.append(dict(baa=b["baa"], product=p, hour=row["hour"],
                           price_usd_per_mwh=b.get(f"{p}_price", 0.0)))
        bsum.append(row)
    return {"schedules": pd.DataFrame(sch), "resource_prices": pd.DataFrame(rp),
            "baa_summary": pd.DataFrame(bsum), "product_prices": pd.DataFrame(pp)}


def make_inputs(rows):
    """Settlement inputs with every contract column; unnamed cells blank (as scheduled)."""
    out = []
    for r in rows:
        d = {"resource": r["resource"], "hour": r.get("hour", 1)}
        d.update({c: r.get(c, np.nan) for c in SETTLEMENT_INPUT_COLUMNS})
        out.append(d)
    return pd.DataFrame(out, columns=["resource", "hour", *SETTLEMENT_INPUT_COLUMNS])


def ml(rows):
    return pd.DataFrame([dict(sc=s, baa=b, hour=h, metered_load_mw=v) for s, b, h, v in rows])


def lines_of(res, charge):
    t = res.table
    return t[t["charge"] == charge]


def amount(res, charge, party=None, resource=None):
    t = lines_of(res, charge)
    if party is not None:
        t = t[t["party"] == party]
    if resource is not None:
        t = t[t["resource"] == resource]
    return float(t["amount_usd"].sum())


# ------------------------------------------------------------------------------------------------
# §11.6 RCU tier example (settlement training) and §11.5
# ------------------------------------------------------------------------------------------------
def test_tier_allocation_training_example_11_6():
    C, D, E = 1000.0, 500.0, 200.0
    A, B = C / D, C / E           # $2, $5
    F = min(A, B)                 # $2
    assert (A, B, F) == (2.0, 5.0, 2.0)
    out = tier_allocation(C, pd.Series({"SC1": 100.0, "SC2": 75.0, "SC3": 25.0}), A,
                          pd.Series({"L1": 300.0, "L2": 200.0}), "ENT")
    t1 = out[out["tier"] == 1].set_index("party")["allocation_usd"]
    t2 = out[out["tier"] == 2].set_index("party")["allocation_usd"]
    assert t1.to_dict() == pytest.approx({"SC1": 100 * F, "SC2": 75 * F, "SC3": 25 * F})
    assert t1.to_dict() == pytest.approx({"SC1": 200.0, "SC2": 150.0, "SC3": 50.0})
    tier2 = C - 400.0
    assert tier2 == 600.0
    assert t2.to_dict() == pytest.approx({"L1": tier2 * 300 / 500, "L2": tier2 * 200 / 500})
    assert t2.to_dict() == pytest.approx({"L1": 360.0, "L2": 240.0})
    assert out.attrs["tier1_price"] == 2.0 and out.attrs["derived_price"] == 5.0


def test_rcu_11_6_through_settle():
    scen = make_scen([("A", "")],
                     [("G1", "thermal", "A", "GEN"), ("G2", "thermal", "A", "GEN"),
                      ("V1", "virtual_supply", "A", "SC1"), ("V2", "virtual_supply", "A", "SC2"),
                      ("V3", "virtual_supply", "A", "SC3")])
    # 500 MW of RCU at $2 -> payments 600 + 400 = $1,000; net virtual supply 100/75/25
    run = make_run(scen, [dict(resource="G1", energy_mw=100, rcu_mw=300, rcu_usd_per_mwh=2),
                          dict(resource="G2", energy_mw=100, rcu_mw=200, rcu_usd_per_mwh=2),
                          dict(resource="V1", energy_mw=100), dict(resource="V2", energy_mw=75),
                          dict(resource="V3", energy_mw=25)])
    res = settle(scen, run, None, ml([("L1", "A", 1, 300.0), ("L2", "A", 1, 200.0)]))
    assert amount(res, "rcu_award", resource="G1") == pytest.approx(300 * 2)
    assert amount(res, "rcu_award", resource="G2") == pytest.approx(200 * 2)
    assert amount(res, "rcu_tier1", "SC1") == pytest.approx(-200.0)
    assert amount(res, "rcu_tier1", "SC2") == pytest.approx(-150.0)
    assert amount(res, "rcu_tier1", "SC3") == pytest.approx(-50.0)
    assert amount(res, "rcu_tier2", "L1") == pytest.approx(-360.0)
    assert amount(res, "rcu_tier2", "L2") == pytest.approx(-240.0)
    tier1 = lines_of(res, "rcu_tier1")
    assert (tier1["price"] == 2.0).all()
    # RC lines net to zero: what resources are paid is what the tiers charge
    rc = res.table[res.table["charge"].str.startswith("rcu")]
    assert abs(rc["amount_usd"].sum()) < CENT
    b = res.details["baa"].set_index(["product", "baa", "hour"]).loc[("rcu", "A", 1)]
    assert b["cost_usd"] == pytest.approx(1000.0)
    assert b["cap_price"] == pytest.approx(1000 / 500)
    assert b["derived_price"] == pytest.approx(1000 / 200)


def test_rcu_11_5_allocation():
    scen = make_scen([("A", "")],
                     [("G1", "thermal", "A", "GEN1"), ("G2", "thermal", "A", "GEN2"),
                      ("VS", "virtual_supply", "A", "TRADER")], forecast={"A": 300.0})
    run = make_run(scen, [dict(resource="G1", energy_mw=200, rcu_mw=40, rcu_usd_per_mwh=2),
                          dict(resource="G2", energy_mw=50, rcu_mw=10, rcu_usd_per_mwh=2),
                          dict(resource="VS", energy_mw=50)])
    res = settle(scen, run, None)
    assert amount(res, "rcu_award", resource="G1") == pytest.approx(40 * 2)
    assert amount(res, "rcu_award", resource="G2") == pytest.approx(10 * 2)
    assert lines_of(res, "rcu_no_pay").empty
    payments = 80.0 + 20.0
    avg, derived = payments / 50.0, payments / 50.0       # $2, $2
    assert amount(res, "rcu_tier1", "TRADER") == pytest.approx(-50.0 * min(avg, derived))
    assert amount(res, "rcu_tier1", "TRADER") == pytest.approx(-100.0)
    assert lines_of(res, "rcu_tier2").empty                 # tier 2 = $0


# ------------------------------------------------------------------------------------------------
# §11.7 IRU relaxation and cost allocation
# ------------------------------------------------------------------------------------------------
def test_iru_relaxation_11_7():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN"), ("W1", "ver", "A", "WIND")])
    run = make_run(scen, [dict(resource="G1", energy_mw=200, iru_mw=480, iru_usd_per_mwh=10),
                          dict(resource="W1", energy_mw=400)],
                   [dict(baa="A", iru_requirement_mw=500, iru_relaxed_mw=20, iru_price=10)])
    # W1 delivers 300 MW less than its DA schedule: IRUG tier-1 quantity 300
    inputs = make_inputs([dict(resource="W1", fmm_max_ex_cap_mw=100.0)])
    res = settle(scen, run, inputs, ml([("LSE", "A", 1, 1000.0)]))
    cost = (500 - 20) * 10.0                  # 4,800
    req_price, derived = cost / 480, cost / 300   # $10, $16
    tier1 = 300 * min(req_price, derived)
    assert (cost, tier1, cost - tier1) == (4800.0, 3000.0, 1800.0)
    assert amount(res, "iru_tier1", "WIND") == pytest.approx(-3000.0)
    assert amount(res, "iru_tier2", "LSE") == pytest.approx(-1800.0)
    assert amount(res, "iru_award", "GEN") == pytest.approx(480 * 10)
    b = res.details["baa"].set_index(["product", "baa", "hour"]).loc[("iru", "A", 1)]
    assert b["cap_price"] == pytest.approx(10.0) and b["derived_price"] == pytest.approx(16.0)
    assert b["tier1_price"] == pytest.approx(10.0)


# ------------------------------------------------------------------------------------------------
# §11.8 no-pay
# ------------------------------------------------------------------------------------------------
def test_no_pay_11_8_iru():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")])
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=50, iru_usd_per_mwh=8)],
                   [dict(baa="A", iru_requirement_mw=50, iru_price=8)])
    inputs = make_inputs([dict(resource="G1", daen_mw=100, fmm_uel_mw=120, iru5_mw=20,
                               fmm_fru_price_usd_per_mwh=12)])
    res = settle(scen, run, inputs, ml([("LSE", "A", 1, 100.0)]))
    stack = 100 + 0 + 0 + 0 + 50 - 120        # 30
    qty = min(50 - 20, max(0, stack))          # 30
    amt = qty * max(8, 12)                     # 360
    assert (qty, amt, 50 * 8 - amt) == (30, 360, 40)
    nop = lines_of(res, "iru_no_pay")
    assert nop["quantity"].tolist() == [30.0] and nop["price"].tolist() == [12.0]
    assert amount(res, "iru_no_pay") == pytest.approx(-360.0)
    assert amount(res, "iru_award") + amount(res, "iru_no_pay") == pytest.approx(40.0)
    d = ir_no_pay(res.details["resource_frame"], "iru").iloc[0]
    assert d["payment_usd"] == pytest.approx(40.0) and d["no_pay_mw"] == pytest.approx(30.0)
    # requirement cost nets the no-pay: 50 x 8 - 360 = 40
    b = res.details["baa"].set_index(["product", "baa", "hour"]).loc[("iru", "A", 1)]
    assert b["cost_usd"] == pytest.approx(400.0 - 360.0)


@pytest.mark.parametrize("uel, iso, no_pay_qty, payment", [
    (250.0, False, 0.0, 80.0),                  # stack 240 below the limit
    (220.0, False, 20.0, 40.0),                 # min(40, 240 - 220) = 20, $40, 80 - 40
    (220.0, True, 0.0, 80.0),                   # proxy award: no no-pay
])
def test_no_pay_11_8_rcu(uel, iso, no_pay_qty, payment):
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")],
                     iso_inserted=[("G1", "rcu")] if iso else ())
    run = make_run(scen, [dict(resource="G1", energy_mw=200, rcu_mw=40, rcu_usd_per_mwh=2)])
    inputs = make_inputs([dict(resource="G1", daen_mw=200, fmm_uel_mw=uel)])
    res = settle(scen, run, inputs, ml([("LSE", "A", 1, 100.0)]))
    assert amount(res, "rcu_award") == pytest.approx(40 * 2)
    assert amount(res, "rcu_award") + amount(res, "rcu_no_pay") == pytest.approx(payment)
    d = res.details["resources"]
    d = d[(d["product"] == "rcu") & (d["resource"] == "G1")].iloc[0]
    assert d["no_pay_mw"] == pytest.approx(no_pay_qty)
    assert d["no_pay_usd"] == pytest.approx(no_pay_qty * 2)
    assert d["payment_usd"] == pytest.approx(payment)
    # RC cost = the award payment, all to tier 2 (no tier-1 quantity)
    assert amount(res, "rcu_tier2", "LSE") == pytest.approx(-payment)


def test_ird_no_pay_and_tier1_terms():
    f = pd.DataFrame([dict(resource="G", hour=1, baa="A", sc="S", type="thermal", daen_mw=100.0,
                           reg_down_mw=0.0, ird_mw=40.0, ird5_mw=10.0, fmm_lel_mw=80.0,
                           ird_usd_per_mwh=6.0, fmm_frd_price_usd_per_mwh=4.0,
                           fmm_max_ex_cap_mw=150.0)])
    d = ir_no_pay(f, "ird").iloc[0]
    excess = max(0, 80 + 0 + 40 - 100)           # 20
    assert d["no_pay_mw"] == pytest.approx(min(40 - 10, excess))
    assert d["no_pay_usd"] == pytest.approx(20 * max(6, 4))
    assert d["payment_usd"] == pytest.approx(40 * 6 - 120)
    ver = f.assign(resource="W", type="ver", fmm_max_ex_cap_mw=130.0)
    both = pd.concat([f, ver], ignore_index=True)
    t = ir_tier1_quantities(both, "ird").set_index("resource")["tier1_mw"]
    assert t.to_dict() == {"G": 0.0, "W": 30.0}           # ver_only (default)
    t = ir_tier1_quantities(both, "ird", ird_generation_tier1="all_generation")
    assert t.set_index("resource")["tier1_mw"].to_dict() == {"G": 50.0, "W": 30.0}


def test_ir_tier1_terms_by_type():
    rows = [dict(resource="G", type="thermal", daen_mw=100, fmm_max_ex_cap_mw=90),
            dict(resource="I", type="import", daen_mw=100, fmm_schedule_mw=60,
                 fmm_max_ex_cap_mw=100),
            dict(resource="X", type="export", daen_mw=50, fmm_schedule_mw=70, etag_mw=40),
            dict(resource="L", type="demand", daen_mw=80, uie_mw=-15),
            dict(resource="V", type="virtual_supply", daen_mw=80, uie_mw=-15)]
    f = pd.DataFrame([dict(hour=1, baa="A", sc=r["resource"], **r) for r in rows]).fillna(0.0)
    up = ir_tier1_quantities(f, "iru").set_index("resource")["tier1_mw"].to_dict()
    assert up == {"G": 10.0, "I": 40.0, "X": 20.0, "L": 15.0, "V": 0.0}
    dn = ir_tier1_quantities(f, "ird").set_index("resource")["tier1_mw"].to_dict()
    # imports raised max(0, FMMSS - DAEN) = 0; exports cut max(0, DAEN - ETag) = 10;
    # loads max(0, UIE) = 0
    assert dn == {"G": 0.0, "I": 0.0, "X": 10.0, "L": 0.0, "V": 0.0}


# ------------------------------------------------------------------------------------------------
# zero denominators and negative costs (§8.3 [A])
# ------------------------------------------------------------------------------------------------
def test_zero_denominators():
    # no tier-1 quantity: everything to tier 2
    out = tier_allocation(500.0, pd.Series(dtype=float), 5.0, {"L1": 1.0, "L2": 3.0}, "E")
    assert out[out["tier"] == 1].empty
    assert out.set_index("party")["allocation_usd"].to_dict() == pytest.approx(
        {"L1": 125.0, "L2": 375.0})
    # undefined requirement / average price (IRUR - IRUS = 0, no RCU award): tier 1 = 0
    for cap in (None, float("nan")):
        out = tier_allocation(500.0, {"S": 100.0}, cap, {"L": 10.0}, "E")
        assert out[out["tier"] == 1].empty
        assert out["allocation_usd"].sum() == pytest.approx(500.0)
    # zero cost: nothing to allocate
    assert tier_allocation(0.0, {"S": 100.0}, 0.0, {"L": 10.0}, "E").empty


def test_zero_priced_requirement_through_settle():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN"), ("W1", "ver", "A", "WIND")])
    # fully relaxed (IRUR - IRUS = 0); G1 still holds an IRU award (e.g. for another BAA) and
    # is no-paid 10 MW at $12: cost = 0 x price - 120 = -120, credited through tier 2
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=10, iru_usd_per_mwh=5),
                          dict(resource="W1", energy_mw=50)],
                   [dict(baa="A", iru_requirement_mw=40, iru_relaxed_mw=40, iru_price=55)])
    inputs = make_inputs([dict(resource="G1", fmm_uel_mw=100, fmm_fru_price_usd_per_mwh=12),
                          dict(resource="W1", fmm_max_ex_cap_mw=20)])
    res = settle(scen, run, inputs, ml([("LSE", "A", 1, 10.0)]))
    assert lines_of(res, "iru_tier1").empty
    assert amount(res, "iru_tier2", "LSE") == pytest.approx(+120.0)
    b = res.details["baa"].set_index(["product", "baa", "hour"]).loc[("iru", "A", 1)]
    assert math.isnan(b["cap_price"]) and b["tier1_qty_mw"] == pytest.approx(30.0)


def test_negative_cost_tier2_credit_and_unallocated():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN"), ("W1", "ver", "A", "WIND")])
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=100, iru_usd_per_mwh=5),
                          dict(resource="W1", energy_mw=50)],
                   [dict(baa="A", iru_requirement_mw=100, iru_price=5)])
    inputs = make_inputs([dict(resource="G1", fmm_uel_mw=100, fmm_fru_price_usd_per_mwh=12),
                          dict(resource="W1", fmm_max_ex_cap_mw=30)])
    metered = ml([("L1", "A", 1, 300.0), ("L2", "A", 1, 400.0)])
    res = settle(scen, run, inputs, metered)
    no_pay = min(100 - 0, max(0, 100 + 100 - 100)) * max(5, 12)     # 1,200
    cost = 100 * 5 - no_pay                                         # -700
    assert cost == -700
    assert lines_of(res, "iru_tier1").empty                         # tier 1 = 0 despite W1's 20 MW
    assert amount(res, "iru_tier2", "L1") == pytest.approx(-cost * 300 / 700)   # +300 credit
    assert amount(res, "iru_tier2", "L2") == pytest.approx(-cost * 400 / 700)   # +400 credit
    res2 = settle(scen, run, inputs, metered,
                  options={"negative_requirement_cost": "unallocated"})
    assert lines_of(res2, "iru_tier2").empty
    b = res2.details["baa"].set_index(["product", "baa", "hour"]).loc[("iru", "A", 1)]
    assert b["unallocated_usd"] == pytest.approx(-700.0)
    assert res2.options["negative_requirement_cost"] == "unallocated"


# ------------------------------------------------------------------------------------------------
# options: import tier 1, RC netting
# ------------------------------------------------------------------------------------------------
def _import_case(parameters=None):
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN"), ("I1", "import", "A", "IMP")],
                     parameters=parameters)
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=100, iru_usd_per_mwh=10),
                          dict(resource="I1", energy_mw=100)],
                   [dict(baa="A", iru_requirement_mw=100, iru_price=10)])
    # the import is cut from 100 to 60 MW in the FMM; its RT capability stays 100
    inputs = make_inputs([dict(resource="I1", daen_mw=100, fmm_schedule_mw=60,
                               fmm_max_ex_cap_mw=100)])
    return scen, run, inputs


def test_iru_import_tier1_directional_vs_as_published():
    scen, run, inputs = _import_case()
    metered = ml([("LSE", "A", 1, 500.0)])
    d = settle(scen, run, inputs, metered)
    assert d.options["iru_import_tier1"] == "directional"
    # directional: max(0, DAEN - FMMSS) = 40 MW; cost 1,000, req price 10, derived 25 -> $10
    assert amount(d, "iru_tier1", "IMP") == pytest.approx(-40 * 10.0)
    assert amount(d, "iru_tier2", "LSE") == pytest.approx(-(1000 - 400))
    # as published: max(0, FMMMaxExCap - DAEN) = 0 -> no tier 1, all to tier 2
    scen2, run2, inputs2 = _import_case({"iru_import_tier1": "as_published"})
    p = settle(scen2, run2, inputs2, metered)
    assert p.options["iru_import_tier1"] == "as_published"
    assert lines_of(p, "iru_tier1").empty
    assert amount(p, "iru_tier2", "LSE") == pytest.approx(-1000.0)
    # an explicit option overrides the parameter
    o = settle(scen2, run2, inputs2, metered, options={"iru_import_tier1": "directional"})
    assert amount(o, "iru_tier1", "IMP") == pytest.approx(-400.0)


def test_rc_tier1_netting():
    rows = [dict(resource="VS", type="virtual_supply", energy_mw=50.0),
            dict(resource="VD", type="virtual_demand", energy_mw=-30.0),
            dict(resource="L1", type="demand", energy_mw=-10.0, uie_mw=-8.0),
            dict(resource="L2", type="demand", energy_mw=-10.0, uie_mw=5.0)]
    f = pd.DataFrame([dict(hour=1, baa="A", sc="S", **r) for r in rows])
    sc = rc_tier1_quantities(f, "rcu").iloc[0]
    assert (sc["virtual_mw"], sc["load_mw"]) == (50 - 30, max(0, -(-8 + 5)))
    res = rc_tier1_quantities(f, "rcu", netting="resource").iloc[0]
    assert (res["virtual_mw"], res["load_mw"]) == (50.0, 8.0)
    dn = rc_tier1_quantities(f, "rcd").iloc[0]
    assert (dn["virtual_mw"], dn["load_mw"]) == (0.0, 0.0)      # max(0, VD - VS), max(0, UIE)
    dn = rc_tier1_quantities(f, "rcd", netting="resource").iloc[0]
    assert (dn["virtual_mw"], dn["load_mw"]) == (30.0, 5.0)


def test_rc_no_pay_rcd_and_clip():
    f = pd.DataFrame([dict(resource="G", hour=1, baa="A", sc="S", daen_mw=100.0, reg_down_mw=0.0,
                           ird_mw=0.0, rcd_mw=30.0, fmm_lel_mw=90.0, rcd_usd_per_mwh=3.0,
                           rcd_proxy=False)])
    d = rc_no_pay(f, "rcd").iloc[0]
    assert d["no_pay_mw"] == pytest.approx(min(30, max(0, 90 + 0 + 0 + 30 - 100)))   # 20
    assert d["payment_usd"] == pytest.approx(max(0, 30 * 3 - 20 * 3))                # 30
    neg = rc_no_pay(f.assign(rcd_usd_per_mwh=-2.0), "rcd").iloc[0]
    assert neg["payment_usd"] == 0.0                                                   # max(0, ·)


def test_rc_payment_floor_line():
    # a negative RCUMP: RCU x RCUMP = 10 x -3 = -30 is floored to a payment of 0
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")])
    run = make_run(scen, [dict(resource="G1", energy_mw=100, rcu_mw=10, rcu_usd_per_mwh=-3)])
    res = settle(scen, run, None, ml([("LSE", "A", 1, 1.0)]))
    assert amount(res, "rcu_award") == pytest.approx(10 * -3.0)
    assert lines_of(res, "rcu_no_pay").empty
    assert amount(res, "rcu_payment_floor") == pytest.approx(30.0)
    assert lines_of(res, "rcu_tier1").empty and lines_of(res, "rcu_tier2").empty   # cost 0


# ------------------------------------------------------------------------------------------------
# generation-only BAA, FRU uncertainty, RSE lines
# ------------------------------------------------------------------------------------------------
def test_generation_only_baa_tier2_to_entity():
    scen = make_scen([("A", ""), ("B", "ENT_B")],
                     [("G1", "thermal", "A", "GA"), ("G2", "thermal", "B", "GB")],
                     forecast={"A": 100.0, "B": 0.0}, demand={"A": 100.0})
    run = make_run(scen, [dict(resource="G1", energy_mw=100),
                          dict(resource="G2", energy_mw=50, iru_mw=20, iru_usd_per_mwh=7)],
                   [dict(baa="B", iru_requirement_mw=20, iru_price=7)])
    res = settle(scen, run, None)                 # metered load derived: B has none
    t2 = lines_of(res, "iru_tier2")
    assert t2["party"].tolist() == ["ENT_B"] and t2["baa"].tolist() == ["B"]
    assert float(t2["amount_usd"].iloc[0]) == pytest.approx(-20 * 7.0)
    assert np.isnan(t2["quantity"].iloc[0])
    # BAA A has no entity: its id is the entity; its demand forecast is metered at LSE_A
    ml_used = res.details["metered_load"]
    assert ml_used.set_index("party")["metered_mw"].to_dict() == {"LSE_A": 100.0}


def test_fru_uncertainty_paid_once():
    f = pd.DataFrame([dict(resource=r, hour=1, baa="A", sc="S", fru_uncertainty_mw=fru,
                           iru5_mw=i5, fmm_fru_price_usd_per_mwh=12.0)
                      for r, fru, i5 in (("a", 30.0, 20.0), ("b", 10.0, 20.0))])
    d = fru_uncertainty(f).set_index("resource")["amount_usd"].to_dict()
    assert d == {"a": (30 - 20) * 12.0, "b": 0.0}
    d = fru_uncertainty(f, floor=False).set_index("resource")["amount_usd"].to_dict()
    assert d == {"a": 120.0, "b": (10 - 20) * 12.0}


def test_fru_line_through_settle():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")])
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=30, iru_usd_per_mwh=8)],
                   [dict(baa="A", iru_requirement_mw=30, iru_price=8)])
    inputs = make_inputs([dict(resource="G1", iru5_mw=20, fru_uncertainty_mw=25,
                               fmm_fru_price_usd_per_mwh=4)])
    res = settle(scen, run, inputs, ml([("LSE", "A", 1, 1.0)]))
    fru = lines_of(res, "fru_uncertainty")
    assert fru["quantity"].tolist() == [5.0] and fru["amount_usd"].tolist() == [20.0]
    # §8.4: no separate non-compliance line; the IRU award is paid once
    assert set(res.table["charge"]) == {"iru_award", "iru_tier2", "fru_uncertainty"}


def _rse_tables():
    # §11.9: A fails up (DEF 50 of 100 -> tier 2, 50 x $50 x 1.25 = $3,125) in hour 1;
    # hour 2: A fails again ($750) with no net exporter -> undistributed
    rse = pd.DataFrame([
        dict(baa="A", test="up", hour=1, deficiency_mw=50.0, passed=False, tier=2,
             surcharge_usd=50 * 50 * 1.25),
        dict(baa="A", test="iru", hour=1, deficiency_mw=50.0, passed=False, tier=2,
             surcharge_usd=0.0),
        dict(baa="B2", test="up", hour=1, deficiency_mw=0.0, passed=True, tier=0,
             surcharge_usd=0.0),
        dict(baa="A", test="up", hour=2, deficiency_mw=12.0, passed=False, tier=2,
             surcharge_usd=12 * 50 * 1.25),
        dict(baa="A", test="down", hour=1, deficiency_mw=0.0, passed=True, tier=0,
             surcharge_usd=0.0)])
    pool1, pool2 = 3125.0, 750.0
    dist = pd.DataFrame([
        dict(direction="up", hour=1, baa="A", pool_usd=pool1, net_transfer_mw=0.0, share=0.0,
             credit_usd=0.0, undistributed_usd=0.0),
        dict(direction="up", hour=1, baa="B2", pool_usd=pool1, net_transfer_mw=300.0,
             share=0.75, credit_usd=pool1 * 300 / 400, undistributed_usd=0.0),
        dict(direction="up", hour=1, baa="B3", pool_usd=pool1, net_transfer_mw=100.0,
             share=0.25, credit_usd=pool1 * 100 / 400, undistributed_usd=0.0),
        dict(direction="up", hour=1, baa="B4", pool_usd=pool1, net_transfer_mw=0.0, share=0.0,
             credit_usd=0.0, undistributed_usd=0.0),
        dict(direction="up", hour=2, baa="B2", pool_usd=pool2, net_transfer_mw=0.0, share=0.0,
             credit_usd=0.0, undistributed_usd=pool2)])
    return rse, dist


def test_rse_lines_surcharge_and_credits():
    rse, dist = _rse_tables()
    lines = rse_lines(rse, dist, entity={"A": "ENT_A"})
    sur = lines[lines["charge"] == "rse_surcharge_up"]
    assert sur["party"].unique().tolist() == ["ENT_A"]
    assert sur.set_index("hour")["amount_usd"].to_dict() == {1: -3125.0, 2: -750.0}
    assert sur.set_index("hour")["price"].to_dict() == {1: 62.5, 2: 62.5}   # $50 x 1.25
    cr = lines[lines["charge"] == "rse_credit_up"]
    assert cr.set_index("party")["amount_usd"].to_dict() == {"B2": 2343.75, "B3": 781.25}
    for h, pool, undistributed in ((1, 3125.0, 0.0), (2, 750.0, 750.0)):
        assert cr[cr["hour"] == h]["amount_usd"].sum() == pytest.approx(pool - undistributed)
        assert -sur[sur["hour"] == h]["amount_usd"].sum() == pytest.approx(pool)
    assert set(lines["charge"]) == {"rse_surcharge_up", "rse_credit_up"}


def test_rse_through_settle_with_ciso_suballocation():
    scen = make_scen([("CISO", ""), ("B2", "PAC")],
                     [("G1", "thermal", "CISO", "GEN"), ("G2", "thermal", "B2", "GEN2")])
    run = make_run(scen, [dict(resource="G1", energy_mw=10), dict(resource="G2", energy_mw=10)])
    rse = pd.DataFrame([dict(baa="CISO", test="up", hour=1, deficiency_mw=20.0,
                             surcharge_usd=1000.0)])
    dist = pd.DataFrame([dict(direction="up", hour=1, baa="B2", pool_usd=1000.0,
                              net_transfer_mw=50.0, share=1.0, credit_usd=1000.0,
                              undistributed_usd=0.0)])
    metered = ml([("LSE1", "CISO", 1, 300.0), ("LSE2", "CISO", 1, 200.0),
                  ("PACL", "B2", 1, 100.0)])
    res = settle(scen, run, None, metered, rse=rse, rse_distribution=dist)
    assert res.options["rse_suballocate_baa_resolved"] == "CISO"
    assert amount(res, "rse_surcharge_up", "LSE1") == pytest.approx(-1000 * 300 / 500)
    assert amount(res, "rse_surcharge_up", "LSE2") == pytest.approx(-1000 * 200 / 500)
    assert amount(res, "rse_credit_up", "PAC") == pytest.approx(1000.0)   # B2's entity
    pools = res.details["rse_pools"]
    assert pools["residual_usd"].abs().max() < CENT
    res2 = settle(scen, run, None, metered, rse=rse, rse_distribution=dist,
                  options={"rse_suballocate_baa": "none"})
    assert amount(res2, "rse_surcharge_up", "CISO") == pytest.approx(-1000.0)


# ------------------------------------------------------------------------------------------------
# charge table, statement, validation, fixed-demand UIE
# ------------------------------------------------------------------------------------------------
def test_charge_table_and_statement():
    t = settlement_table([charge_line("iru_award", "S1", "A", 1, 10, 5, 50, "G1"),
                          charge_line("iru_no_pay", "S1", "A", 1, 2, 6, -12, "G1"),
                          charge_line("iru_tier2", "S2", "A", 2, 100, 0.1, -10)])
    assert list(t.columns)[:7] == ["charge", "party", "baa", "hour", "quantity", "price",
                                   "amount_usd"]
    s = daily_statement(t)
    net = s[s["charge"] == "net"].set_index("party")["amount_usd"].to_dict()
    assert net == {"S1": 50 - 12, "S2": -10.0}
    assert s[(s["party"] == "S1") & (s["charge"] == "iru_award")]["amount_usd"].item() == 50.0


def test_settlement_inputs_validation():
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")])
    run = make_run(scen, [dict(resource="G1", energy_mw=100)])
    bad = make_inputs([dict(resource="G1")]).drop(columns=["fmm_uel_mw"])
    with pytest.raises(ScenarioError, match="fmm_uel_mw"):
        settle(scen, run, bad)
    with pytest.raises(ScenarioError, match="unknown resource 'NOPE'"):
        settle(scen, run, make_inputs([dict(resource="NOPE")]))
    with pytest.raises(ScenarioError, match="uie_mw"):
        settle(scen, run, make_inputs([dict(resource="G1", uie_mw="abc")]))
    with pytest.raises(ScenarioError, match="metered_load_mw"):
        settle(scen, run, None, ml([("L", "A", 1, -5.0)]))
    with pytest.raises(ScenarioError, match="rc_tier1_netting"):
        settle(scen, run, None, options={"rc_tier1_netting": "bogus"})


def test_fixed_demand_uie_enters_tier1():
    # fixed demand 100 MW scheduled, 110 MW metered: LSE_A's UIE = -10 -> IRU/RCU tier 1
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN")], forecast={"A": 100.0},
                     metered={"A": 110.0}, demand={"A": 100.0})
    run = make_run(scen, [dict(resource="G1", energy_mw=100, iru_mw=50, iru_usd_per_mwh=4)],
                   [dict(baa="A", iru_requirement_mw=50, iru_price=4)])
    res = settle(scen, run, None)
    # cost 200, req price 4, derived 200/10 = 20 -> tier 1 = 10 x 4 = 40, tier 2 = 160
    assert amount(res, "iru_tier1", "LSE_A") == pytest.approx(-40.0)
    assert amount(res, "iru_tier2", "LSE_A") == pytest.approx(-160.0)
    off = settle(scen, run, None, options={"fixed_demand_uie": "off"})
    assert lines_of(off, "iru_tier1").empty
    assert amount(off, "iru_tier2", "LSE_A") == pytest.approx(-200.0)


def test_settle_command_writes_tables(tmp_path, capsys):
    scen = make_scen([("A", "")], [("G1", "thermal", "A", "GEN"), ("VS", "virtual_supply", "A",
                                                                   "TRADER")],
                     forecast={"A": 100.0})
    sdir = write_scenario(scen, tmp_path / "scen")
    run = make_run(scen, [dict(resource="G1", energy_mw=100, rcu_mw=20, rcu_usd_per_mwh=3),
                          dict(resource="VS", energy_mw=10)])
    rdir = write_run(RunResult(tables=run, manifest={"scenario_dir": str(sdir)}),
                     tmp_path / "run")
    assert settle_command(str(rdir), None, None) == 0
    sdir_out = tmp_path / "run_settlement"  # beside the run (runs are records)
    t = pd.read_csv(sdir_out / "settlement.csv")
    assert list(t.columns)[:8] == ["charge", "party", "resource", "baa", "hour", "quantity",
                                   "price", "amount_usd"]
    # payments 60; tier 1 10 MW x min(3, 6) = 30; tier 2 30 to LSE_A
    got = t.groupby(["charge", "party"])["amount_usd"].sum().to_dict()
    assert got == pytest.approx({("rcu_award", "GEN"): 60.0, ("rcu_tier1", "TRADER"): -30.0,
                                 ("rcu_tier2", "LSE_A"): -30.0})
    s = pd.read_csv(sdir_out / "statement.csv")
    assert set(s["party"]) == {"GEN", "TRADER", "LSE_A"}
    m = json.loads((sdir_out / "settlement_options.json").read_text())
    assert m["iru_import_tier1"] == "directional"
    out = tmp_path / "out"
    assert settle_command(str(rdir), str(sdir), str(out)) == 0
    assert (out / "settlement.csv").exists() and (out / "settlement_options.json").exists()


# ------------------------------------------------------------------------------------------------
# conservation (§11.10): tier 1 + tier 2 = requirement cost, to the cent
# ------------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(cost=st.floats(-1e6, 1e6, allow_nan=False),
       q=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.floats(0, 1e4), max_size=4),
       cap=st.one_of(st.none(), st.floats(0, 1e3)),
       ml=st.dictionaries(st.sampled_from(["a", "x", "y"]), st.floats(0, 1e4), max_size=3))
def test_tier_allocation_conserves(cost, q, cap, ml):
    out = tier_allocation(cost, pd.Series(q, dtype=float), cap, pd.Series(ml, dtype=float), "E")
    assert abs(out["allocation_usd"].sum() - (0.0 if abs(cost) <= 1e-9 else cost)) < CENT
    a = out.attrs
    if cost > 0 and not math.isnan(a["tier1_price"]):
        assert a["tier1_price"] <= a["derived_price"] + 1e-12
        assert a["tier1_price"] <= a["cap_price"] + 1e-12
        assert (out["allocation_usd"] >= 0).all()


_PROP_RESOURCES = [("G1", "thermal", "A", "SC1"), ("W1", "ver", "A", "SC2"),
                   ("I1", "import", "A", "SC3"), ("X1", "export", "A", "SC1"),
                   ("D1", "demand", "A", "SC4"), ("V1", "virtual_supply", "A", "SC2"),
                   ("V2", "virtual_demand", "A", "SC5"), ("G2", "thermal", "B", "SC6"),
                   ("S2", "storage", "B", "SC6")]
_PROP_SCEN = None


def _prop_scen():
    global _PROP_SCEN
    if _PROP_SCEN is None:
        res = [r for r in _PROP_RESOURCES if r[1] != "storage"]
        _PROP_SCEN = make_scen([("A", ""), ("B", "ENT_B")], res, hours=2,
                               forecast={"A": 300.0, "B": 0.0}, demand={"A": 250.0})
    return _PROP_SCEN


mw = st.floats(0, 500)
price = st.floats(-20, 60)


@st.composite
def run_case(draw):
    scen = _prop_scen()
    rows, inputs = [], []
    for r, typ, baa, sc in [x for x in _PROP_RESOURCES if x[1] != "storage"]:
        for h in (1, 2):
            e = draw(mw)
            if typ in ("export", "demand", "virtual_demand"):
                e = -e
            phys = typ not in ("virtual_supply", "virtual_demand", "demand", "export")
            row = dict(resource=r, hour=h, energy_mw=e)
            if phys:
                row.update({c: draw(mw) for c in ("iru_mw", "ird_mw", "rcu_mw", "rcd_mw",
                                                  "reg_up_mw", "spin_mw")})
                row.update({c: draw(price) for c in PRICES})
            rows.append(row)
            inputs.append(dict(resource=r, hour=h, daen_mw=abs(e), fmm_schedule_mw=draw(mw),
                               fmm_max_ex_cap_mw=draw(mw), fmm_uel_mw=draw(mw),
                               fmm_lel_mw=draw(mw), uie_mw=draw(st.floats(-100, 100)),
                               etag_mw=draw(mw), iru5_mw=draw(mw), ird5_mw=draw(mw),
                               fmm_fru_price_usd_per_mwh=draw(price),
                               fmm_frd_price_usd_per_mwh=draw(price),
                               fru_uncertainty_mw=draw(mw), metered_mw=draw(mw)))
    baa_rows = []
    for b in ("A", "B"):
        for h in (1, 2):
            row = dict(baa=b, hour=h)
            for p in ("iru", "ird"):
                req = draw(mw)
                row.update({f"{p}_requirement_mw": req,
                            f"{p}_relaxed_mw": draw(st.floats(0, 1)) * req,
                            f"{p}_price": draw(st.floats(0, 55))})
            baa_rows.append(row)
    metered = draw(st.sampled_from([None, "supplied"]))
    if metered:
        metered = ml([(s, "A", h, draw(mw)) for s in ("SC4", "LSE_A", "SC9") for h in (1, 2)])
    netting = draw(st.sampled_from(["sc", "resource"]))
    return scen, make_run(scen, rows, baa_rows), make_inputs(inputs), metered, netting


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(case=run_case())
def test_settlement_conserves_requirement_cost(case):
    scen, run, inputs, metered, netting = case
    res = settle(scen, run, inputs, metered, options={"rc_tier1_netting": netting})
    t = res.table
    for row in res.details["baa"].itertuples(index=False):
        sel = t[(t["baa"] == row.baa) & (t["hour"] == row.hour)
                & t["charge"].isin([f"{row.product}_tier1", f"{row.product}_tier2"])]
        # tier 1 + tier 2 = requirement cost to the cent (lines are charges: minus the cost)
        assert abs(-sel["amount_usd"].sum() - row.cost_usd) < CENT, row
        if row.cost_usd > 0 and not math.isnan(row.tier1_price):
            assert row.tier1_price <= row.derived_price + 1e-9
            assert row.tier1_price <= row.cap_price + 1e-9
        if row.baa == "B":     # generation-only: tier 2 goes to the entity
            assert set(sel[sel["charge"].str.endswith("tier2")]["party"]) <= {"ENT_B"}
    # RC: resource payments are exactly what the tiers recover
    for p in ("rcu", "rcd"):
        rc = t[t["charge"].str.startswith(p)]
        assert abs(rc["amount_usd"].sum()) < CENT
    # IR: requirement cost vs resource payments differ by the IR congestion amount only
    b = res.details["baa"]
    ir = b[b["product"].isin(["iru", "ird"])]
    for p in ("iru", "ird"):
        lines = t[t["charge"].str.startswith(p)]
        x = ir[ir["product"] == p]
        # award + no-pay − (requirement value − no-pay) = −(requirement value − award value)
        assert abs(lines["amount_usd"].sum() + x["congestion_usd"].sum()) < CENT
    # the statement's net equals the table per party
    net = res.statement[res.statement["charge"] == "net"].set_index("party")["amount_usd"]
    assert np.allclose(net.sort_index().to_numpy(),
                       t.groupby("party")["amount_usd"].sum().sort_index().to_numpy())
