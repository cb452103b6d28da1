"""Invariants of spec §11.10 on the bundled RTS-GMLC day (issue: clearing engine).

Every check recomputes its quantity from the scenario and the output tables, independently of
the model code (the PTDF is recomputed by network.ptdf from the branch reactances)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from network.ptdf import scenario_ptdf

pytestmark = pytest.mark.slow
TOL = 1e-5


@pytest.fixture(scope="module")
def day(rts_day_run):
    scenario, run = rts_day_run
    return scenario, run, run.tables


def _fixed_demand(scenario) -> pd.DataFrame:
    d = scenario.tables["demand"].copy()
    d["baa"] = d["bus"].map(scenario.bus_baa)
    return d


def _base_rhs(scenario) -> dict:
    itf = scenario.tables["interfaces"].set_index("interface")
    ih = scenario.tables["interface_hours"]
    out: dict = {}
    for k, t, xb in zip(ih["interface"], ih["hour"], ih["base_transfer_mw"]):
        out[(itf.at[k, "from_baa"], t)] = out.get((itf.at[k, "from_baa"], t), 0.0) + xb
        out[(itf.at[k, "to_baa"], t)] = out.get((itf.at[k, "to_baa"], t), 0.0) - xb
    return out


def _relaxed(tables, name) -> dict:
    r = tables["relaxations"]
    r = r[r["requirement"] == name]
    return {(b, int(h)): v for b, h, v in zip(r["baa"], r["hour"], r["relaxed_mw"])}


def test_solved_to_gap_and_lp_matches_mip(day):
    scenario, run, _ = day
    s = run.manifest["solver"]
    assert s["termination"] == "convergenceCriteriaSatisfied"
    assert s["mip_gap"] <= scenario.parameters.mip_rel_gap + 1e-9
    # the pricing LP re-optimizes dispatch at the MIP's commitment: never worse, within the gap
    assert s["objective_lp"] <= s["objective_mip"] + 1e-6 * abs(s["objective_mip"])
    assert s["objective_mip"] - s["objective_lp"] <= scenario.parameters.mip_rel_gap * abs(s["objective_mip"])


def test_baa_balance_with_transfers(day):
    scenario, run, t = day
    sch = t["schedules"]
    inj = sch.groupby(["baa", "hour"])["energy_mw"].sum()
    dem = _fixed_demand(scenario).groupby(["baa", "hour"])["fixed_demand_mw"].sum()
    tr = t["transfers"]
    inflow = tr.groupby(["to_baa", "hour"])["mw"].sum()
    outflow = tr.groupby(["from_baa", "hour"])["mw"].sum()
    base = _base_rhs(scenario)
    under, over = _relaxed(t, "power_balance_under"), _relaxed(t, "power_balance_over")
    for (b, h), g in inj.items():
        lhs = g + inflow.get((b, h), 0.0) - outflow.get((b, h), 0.0) \
            + under.get((b, h), 0.0) - over.get((b, h), 0.0)
        rhs = dem.get((b, h), 0.0) + base.get((b, h), 0.0)
        assert lhs == pytest.approx(rhs, abs=1e-6), (b, h)


def test_injections_sum_to_zero_and_flows_within_limits(day):
    scenario, run, t = day
    ptdf = scenario_ptdf(scenario)
    hours = scenario.hour_list
    sch = t["schedules"]
    inj = pd.DataFrame(0.0, index=ptdf.bus_ids, columns=hours)
    g = sch.groupby(["bus", "hour"])["energy_mw"].sum()
    for (n, h), v in g.items():
        inj.at[str(n), int(h)] += v
    for n, h, v in zip(*[_fixed_demand(scenario)[c] for c in ("bus", "hour", "fixed_demand_mw")]):
        inj.at[n, h] -= v
    ldf = scenario.ldf
    for name, sign in (("power_balance_under", 1.0), ("power_balance_over", -1.0)):
        for (b, h), v in _relaxed(t, name).items():
            for n in ldf.index:
                if scenario.bus_baa[n] == b:
                    inj.at[n, h] += sign * v * ldf[n]
    # Σ injections = 0 per hour (base transfers stay inside the footprint)
    assert np.abs(inj.sum(axis=0).to_numpy()).max() < 1e-6
    flows = ptdf.flows(inj.to_numpy())
    br = scenario.tables["branches"].set_index("branch")
    relaxed = t["relaxations"]
    over = {(r.split(":", 1)[1], int(h)): v for r, h, v in
            zip(relaxed["requirement"], relaxed["hour"], relaxed["relaxed_mw"])
            if r.startswith("branch_base:")}
    for i, l in enumerate(ptdf.branch_ids):
        if not (br.at[l, "monitored"] and br.at[l, "enforce_base"]):
            continue
        for j, h in enumerate(hours):
            assert abs(flows[i, j]) <= br.at[l, "rating_mw"] + over.get((l, h), 0.0) + 1e-4, (l, h)


def test_transfers_within_limits(day):
    scenario, run, t = day
    tr = t["transfers"]
    assert (tr["mw"] >= -TOL).all()
    assert (tr["mw"] <= tr["limit_mw"] + TOL).all()
    ih = scenario.tables["interface_hours"].set_index(["interface", "hour"])
    for k, h, x in zip(tr["interface"], tr["hour"], tr["mw"]):
        assert x <= ih.at[(k, h), "limit_mw"] + TOL


def test_lmp_decomposition(day):
    _, _, t = day
    n = t["nodal_prices"]
    assert np.allclose(n["lmp"], n["energy"] + n["congestion"] + n["loss"], atol=1e-9)
    assert (n["loss"] == 0).all()


def test_ir_prices_within_cap_and_relaxation_priced_on_curve(day):
    scenario, _, t = day
    cap = scenario.parameters.ir_demand_curve_cap_usd_per_mwh
    pp = t["product_prices"]
    ir = pp[pp["product"].isin(["iru", "ird"])]
    assert (ir["price_usd_per_mwh"] <= cap + 1e-6).all()
    assert (ir["price_usd_per_mwh"] >= -1e-6).all()
    bs = t["baa_summary"].set_index(["baa", "hour"])
    for b, prod, h, price in zip(ir["baa"], ir["product"], ir["hour"], ir["price_usd_per_mwh"]):
        if bs.at[(b, h), f"{prod}_relaxed_mw"] > 1e-6:   # relaxed → price = the curve (the cap)
            assert price == pytest.approx(cap, abs=1e-6), (b, prod, h)
        assert bs.at[(b, h), f"{prod}_cleared_mw"] + bs.at[(b, h), f"{prod}_relaxed_mw"] == \
            pytest.approx(bs.at[(b, h), f"{prod}_requirement_mw"], abs=1e-6)


def test_iru_award_price_consistency(day):
    """§11.10: an IRU award strictly inside all its limits has IRUMP = bid; a zero award with
    no binding shared limit has IRUMP ≤ bid; an award at its bid MW has IRUMP ≥ bid."""
    scenario, _, t = day
    p = scenario.parameters
    res = scenario.resource_frame.set_index("resource")
    th = scenario.tables["thermal"].set_index("resource")
    ab = scenario.tables["availability_bids"]
    bids = {r: (mw, c) for r, prod, mw, c in zip(ab["resource"], ab["product"], ab["mw"],
                                                 ab["price_usd_per_mwh"]) if prod == "iru"}
    sch = t["schedules"].set_index(["resource", "hour"])
    rp = t["resource_prices"].set_index(["resource", "hour"])
    rh = scenario.tables["resource_hours"]
    pmax_h = {(r, h): v for r, h, v in zip(rh["resource"], rh["hour"], rh["pmax_mw"]) if v == v}
    checked = {"inside": 0, "zero": 0, "at_bid": 0}
    for r, (mw, c) in bids.items():
        if res.at[r, "type"] != "thermal":
            continue
        rr = res.at[r, "ramp_up_mw_per_min"]
        for h in scenario.hour_list:
            s = sch.loc[(r, h)]
            if not s["committed"]:
                continue
            pmax = pmax_h.get((r, h), res.at[r, "pmax_mw"])
            up = s["energy_mw"] + s["reg_up_mw"] + s["spin_mw"] + s["nonspin_mw"] + s["iru_mw"]
            stack_slack = pmax - up
            ramp_slack = p.ir_ramp_minutes * rr - s["iru_mw"]
            joint_slack = p.ir_as_ramp_minutes * rr - (s["reg_up_mw"] + s["spin_mw"] + s["nonspin_mw"] + s["iru_mw"])
            dn_slack = s["energy_mw"] - s["reg_down_mw"] - s["ird_mw"] - res.at[r, "pmin_mw"]
            loose = min(stack_slack, ramp_slack, joint_slack) > 1e-4 and dn_slack > 1e-4
            price = rp.at[(r, h), "iru_usd_per_mwh"]
            a = s["iru_mw"]
            if 1e-4 < a < mw - 1e-4 and loose:
                assert price == pytest.approx(c, abs=1e-5), (r, h)
                checked["inside"] += 1
            elif a <= 1e-6 and loose:
                assert price <= c + 1e-5, (r, h)
                checked["zero"] += 1
            elif a >= mw - 1e-6:
                assert price >= c - 1e-5, (r, h)
                checked["at_bid"] += 1
    assert sum(checked.values()) > 0


def test_ruc_meets_forecast(day):
    scenario, _, t = day
    sch = t["schedules"]
    phys = sch[sch["type"].isin(["thermal", "ver", "storage", "hydro", "import", "export"])]
    r = (phys["energy_mw"] + phys["rcu_mw"] - phys["rcd_mw"]).groupby([phys["baa"], phys["hour"]]).sum()
    rt = t["ruc_transfers"]
    inflow = rt.groupby(["to_baa", "hour"])["mw"].sum()
    outflow = rt.groupby(["from_baa", "hour"])["mw"].sum()
    base = _base_rhs(scenario)
    under, over = _relaxed(t, "ruc_under"), _relaxed(t, "ruc_over")
    bh = scenario.tables["baa_hours"].set_index(["baa", "hour"])
    for (b, h), v in r.items():
        lhs = v + inflow.get((b, h), 0) - outflow.get((b, h), 0) + under.get((b, h), 0) - over.get((b, h), 0)
        assert lhs == pytest.approx(bh.at[(b, h), "demand_forecast_mw"] + base.get((b, h), 0.0), abs=1e-5)
    # RC is bought where the IFM physical schedule left a forecast gap
    bs = t["baa_summary"]
    assert bs["rcu_cleared_mw"].sum() + bs["rcu_relaxed_mw"].sum() > 0
    assert ((sch["rcu_mw"] > 1e-6) & (sch["rcd_mw"] > 1e-6)).sum() == 0  # one product per resource-hour


def test_manifest_is_complete(day):
    scenario, run, _ = day
    man = run.manifest
    for key in ("input_hash", "parameters", "assumption_options", "versions", "solver", "timings",
                "counts"):
        assert key in man
    assert man["input_hash"] == scenario.input_hash()
    assert man["versions"]["pyomo"] == "6.10.1" and man["versions"]["highspy"] == "1.15.1"
    assert man["counts"]["binaries"] > 0 and man["counts"]["variables"] > man["counts"]["binaries"]
    assert man["solver"]["lazy"]["rounds"] >= 1
    assert set(man["parameters"]) >= {"deployment_constraint_set", "ir_deployed_proportion",
                                      "storage_envelope_multiplier_up",
                                      "storage_envelope_multiplier_down",
                                      "ir_demand_curve_cap_usd_per_mwh",
                                      "ir_rc_default_availability_bid_usd_per_mwh"}
