"""The five parallel-operations parameters move outcomes the way the design says (issue: the
five tunable market parameters; spec §9). Hand cases are solved by hand in the docstrings; the
bundled-day checks re-solve at the base run's commitment so that every difference comes from the
parameter, not from a different commitment (a what-if re-solve)."""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.api import solve
from scenarios.build import make_scenario

TOL = 1e-6


def battery_case(mu_up: float) -> "Scenario":  # noqa: F821
    """One BAA, one hour, load 50 served by G1 at $20. IRU requirement 100 (one segment at the
    $55 cap). Battery B1: SOC 20 MWh (min 0), discharge 50 MW, efficiencies 1, IRU bid 50 MW at
    $0; its energy offer ($100) and charge bid ($1) keep it idle. G1 offers 100 MW of IRU at $5.
    By hand: the lower envelope E0 − μU·IRU_B1 ≥ 0 caps IRU_B1 at min(50, 20/μU); G1 covers the
    rest at $5, which sets the IR price. Charging 1 MW to lift the envelope would cost
    $20 − $1 = $19 and free only 1/μU MW of G1's $5 IRU (≤ $11.1 for μU ≥ 0.45), so B1 stays idle."""
    return make_scenario(dict(
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="a", baa="A"), dict(bus="b", baa="A")],
        branches=[dict(branch="ab", from_bus="a", to_bus="b", reactance_pu=0.1,
                       rating_mw=9999, monitored=False)],
        interfaces=[], interface_hours=[],
        resources=[dict(resource="G1", type="thermal", bus="a", pmax_mw=200,
                        ramp_up_mw_per_min=1000, ramp_down_mw_per_min=1000),
                   dict(resource="B1", type="storage", bus="b", pmax_mw=50)],
        thermal=[dict(resource="G1", initial_on=True, initial_mw=50)],
        storage=[dict(resource="B1", charge_max_mw=50, soc_max_mwh=100, soc_initial_mwh=20)],
        energy_bids=[dict(resource="G1", segment=1, mw=200, price_usd_per_mwh=20),
                     dict(resource="B1", side="supply", segment=1, mw=50, price_usd_per_mwh=100),
                     dict(resource="B1", side="demand", segment=1, mw=50, price_usd_per_mwh=1)],
        availability_bids=[dict(resource="G1", product="iru", mw=100, price_usd_per_mwh=5),
                           dict(resource="B1", product="iru", mw=50, price_usd_per_mwh=0)],
        demand=[dict(bus="a", hour=1, fixed_demand_mw=50)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=50, iru_requirement_mw=100)],
    ), hours=1, parameters={"storage_envelope_multiplier_up": mu_up})


@pytest.mark.parametrize("mu, battery_iru", [(0.2, 50.0), (0.45, 20 / 0.45), (0.85, 20 / 0.85)])
def test_envelope_limits_battery_ir_award(mu, battery_iru):
    r = solve(battery_case(mu))
    s = r.schedules.set_index("resource")
    assert s.at["B1", "iru_mw"] == pytest.approx(battery_iru, abs=1e-6)
    assert s.at["G1", "iru_mw"] == pytest.approx(100 - battery_iru, abs=1e-6)
    assert s.at["B1", "energy_mw"] == pytest.approx(0, abs=1e-6)
    pp = r.product_prices
    assert pp.loc[pp["product"] == "iru", "price_usd_per_mwh"].iloc[0] == pytest.approx(5, abs=TOL)
    # the envelope (a shared limit) binds: the battery's IRUMP ($5) is above its $0 bid (§11.10)
    assert r.resource_prices.set_index("resource").at["B1", "iru_usd_per_mwh"] == pytest.approx(5)


# --- the bundled day: monotone effects at the base commitment ----------------------------------


@pytest.fixture(scope="module")
def whatif(rts_day_run):
    scenario, base = rts_day_run
    cache: dict = {}

    def run(**overrides):
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            cache[key] = solve(scenario.with_parameters(**overrides), commitment_from=base)
        return cache[key]
    return scenario, base, run


def _ir_cleared(run) -> float:
    bs = run.tables["baa_summary"]
    return float(bs["iru_cleared_mw"].sum() + bs["ird_cleared_mw"].sum())


def _ir_prices(run) -> pd.Series:
    pp = run.tables["product_prices"]
    return pp.loc[pp["product"].isin(["iru", "ird"]), "price_usd_per_mwh"]


@pytest.mark.slow
def test_lower_cap_caps_prices_and_never_increases_ir_cleared(whatif):
    scenario, base, run = whatif
    low = run(ir_demand_curve_cap_usd_per_mwh=20.0)
    assert _ir_prices(low).max() <= 20.0 + 1e-6
    assert (low.tables["resource_prices"][["iru_usd_per_mwh", "ird_usd_per_mwh"]].max() <= 20 + 1e-6).all()
    # same commitment, cost vector moved in one direction: the LP's IR purchase cannot grow
    assert _ir_cleared(low) <= _ir_cleared(base) + 1e-6
    assert low.manifest["parameters"]["ir_demand_curve_cap_usd_per_mwh"] == 20.0


@pytest.mark.slow
def test_zero_deployed_proportion_makes_deployment_scenarios_non_binding(whatif):
    _, _, run = whatif
    r = run(ir_deployed_proportion=0.0)
    bc = r.tables["binding_constraints"]
    assert not bc["kind"].isin(["branch_dep_up", "branch_dep_down"]).any()
    rel = r.tables["relaxations"]
    assert not rel["requirement"].str.startswith("branch_dep").any()


def _envelope_slack(run, scenario, mu_up: float, mu_down: float) -> tuple[float, float]:
    """Smallest slack of the cumulative SOC envelopes (spec §5.10) over storage and hours,
    recomputed from the schedules table and the storage data (not from the model):
    lower  SOC_t − μU Σ_{k≤t} IRU_k / η_d ≥ SOC_min,
    upper  SOC_t + μD η_c Σ_{k≤t} IRD_k ≤ SOC_max, with SOC_t the scheduled state of charge."""
    st = scenario.tables["storage"].set_index("resource")
    s = run.tables["schedules"]
    s = s[s["resource"].isin(st.index)].sort_values(["resource", "hour"])
    lo_slack, hi_slack = float("inf"), float("inf")
    for r, g in s.groupby("resource"):
        ec, ed = float(st.at[r, "charge_efficiency"]), float(st.at[r, "discharge_efficiency"])
        lower = g["soc_mwh"] - mu_up * g["iru_mw"].cumsum() / ed - float(st.at[r, "soc_min_mwh"])
        upper = float(st.at[r, "soc_max_mwh"]) - g["soc_mwh"] - mu_down * ec * g["ird_mw"].cumsum()
        lo_slack, hi_slack = min(lo_slack, lower.min()), min(hi_slack, upper.min())
    return lo_slack, hi_slack


@pytest.mark.slow
def test_envelope_multiplier_tightens_storage(whatif):
    """A higher μ reserves more SOC per MW of storage IR: the feasible set shrinks, so at the
    same commitment the LP's cost cannot fall (and a lower μ cannot raise it), and every run's
    schedules keep its own envelopes. (Storage IRU and IRD totals need not move one way each:
    the LP may also move the SOC path, e.g. trade IRU for IRD, and it does on this day.)"""
    scenario, base, run = whatif
    assert not scenario.tables["storage"].empty
    p = base.manifest["parameters"]
    mu0 = (p["storage_envelope_multiplier_up"], p["storage_envelope_multiplier_down"])
    assert 0.1 < min(mu0) and max(mu0) < 0.9
    hi = run(storage_envelope_multiplier_up=0.9, storage_envelope_multiplier_down=0.9)
    lo = run(storage_envelope_multiplier_up=0.1, storage_envelope_multiplier_down=0.1)
    obj = {k: r.manifest["solver"]["objective_lp"] for k, r in (("hi", hi), ("lo", lo))}
    same = solve(scenario, commitment_from=base).manifest["solver"]["objective_lp"]
    assert obj["lo"] <= same + 1e-6 * abs(same) and same <= obj["hi"] + 1e-6 * abs(same)
    for r, mu in ((hi, (0.9, 0.9)), (lo, (0.1, 0.1)), (base, mu0)):
        lo_slack, hi_slack = _envelope_slack(r, scenario, *mu)
        assert lo_slack >= -1e-5 and hi_slack >= -1e-5
    # and the high multiplier's envelopes are violated by the low one's schedules (it binds)
    assert min(_envelope_slack(lo, scenario, 0.9, 0.9)) < -1e-3


@pytest.mark.slow
def test_deployment_set_none_vs_all(whatif):
    _, _, run = whatif
    none, all_ = run(deployment_constraint_set="none"), run(deployment_constraint_set="all")
    assert none.manifest["parameters"]["deployment_constraint_set"] == "none"
    assert all_.manifest["parameters"]["deployment_constraint_set"] == "all"
    dep = all_.tables["binding_constraints"]["kind"].isin(["branch_dep_up", "branch_dep_down"])
    obj_none = none.manifest["solver"]["objective_lp"]
    obj_all = all_.manifest["solver"]["objective_lp"]
    if not dep.any():   # nothing binds in the scenarios: enforcing them changes nothing
        assert obj_all == pytest.approx(obj_none, rel=1e-9, abs=1e-6)
        assert all_.tables["nodal_prices"]["lmp"].to_numpy() == pytest.approx(
            none.tables["nodal_prices"]["lmp"].to_numpy(), abs=1e-6)
    else:               # more enforced rows can only cost more
        assert obj_all >= obj_none - 1e-6
