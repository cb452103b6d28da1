"""Lazy network rows (spec §5.3): the LP-relaxation rounds before the first MIP round and the
RUC's start from the IFM's rows choose which rows are in the model, never the result.

Cases: spec §11.3 (line 1->2 limit 100 binds: G1 100 MW @ $20, G2 50 MW @ $50, LMPs 20 / 50) and
§11.4 (the deployment scenario binds), and a RUC variant of §11.3 whose forecast (180 MW at bus 2)
is 30 MW above the IFM schedule: G1 offers RCU at $1 behind the full line, G2 at $5 at the load,
so by hand RCU_G2 = 30, RCU_G1 = 0 and the RUC objective is 30 x $5 = $150."""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.api import solve
from scenarios.examples import example_11_3, example_11_4

TOL = 1e-6


def _lazy(run, stage: str = "solver") -> dict:
    return run.manifest[stage]["lazy"]


def _mip_rounds(run, stage: str = "solver") -> list[dict]:
    return [r for r in _lazy(run, stage)["round_log"] if r["mip"]]


@pytest.mark.parametrize("make", [example_11_3, example_11_4], ids=["11_3", "11_4"])
def test_relaxation_rounds_pick_rows_not_results(make):
    sc = make()
    with_lp = solve(sc)
    without = solve(sc.with_parameters(lazy_lp_rounds=0))
    full = solve(sc.with_parameters(lazy_transmission=False))
    for other in (without, full):
        assert with_lp.manifest["solver"]["objective_lp"] == pytest.approx(
            other.manifest["solver"]["objective_lp"], abs=1e-6)
        pd.testing.assert_series_equal(with_lp.schedules["energy_mw"],
                                       other.schedules["energy_mw"], atol=TOL)
        pd.testing.assert_series_equal(with_lp.nodal_prices["lmp"], other.nodal_prices["lmp"],
                                       atol=TOL)
    # the relaxation found the binding line: one MIP round, which adds nothing
    assert _lazy(with_lp)["relaxation_rounds"] >= 1
    assert [r["rows_added"] for r in _mip_rounds(with_lp)] == [0]
    # without it the first MIP round overloads the line (G1 is the cheaper unit) and a
    # second MIP round is needed
    assert _lazy(without)["relaxation_rounds"] == 0
    rounds = _mip_rounds(without)
    assert len(rounds) == 2 and rounds[0]["rows_added"] >= 1 and rounds[1]["rows_added"] == 0


def test_11_3_prices_unchanged_by_relaxation_rounds():
    r = solve(example_11_3())
    s = r.schedules.set_index("resource")
    assert s.at["G1", "energy_mw"] == pytest.approx(100, abs=TOL)
    assert s.at["G2", "energy_mw"] == pytest.approx(50, abs=TOL)
    lmp = r.nodal_prices.set_index("bus")["lmp"]
    assert lmp["1"] == pytest.approx(20, abs=TOL) and lmp["2"] == pytest.approx(50, abs=TOL)


def _ruc_case(**params):
    sc = example_11_3()
    bh = sc.tables["baa_hours"].copy()
    bh["demand_forecast_mw"] = 180.0
    bids = pd.DataFrame([
        dict(resource="G1", product="rcu", mw=200.0, price_usd_per_mwh=1.0, iso_inserted=False),
        dict(resource="G2", product="rcu", mw=200.0, price_usd_per_mwh=5.0, iso_inserted=False)])
    return sc.with_tables(baa_hours=bh, availability_bids=bids).with_parameters(**params)


@pytest.mark.parametrize("seed,lp_rounds,ruc_mip_rounds", [
    (True, 3, 1), (True, 0, 1), (False, 3, 1), (False, 0, 2)])
def test_ruc_starts_from_ifm_rows(seed, lp_rounds, ruc_mip_rounds):
    r = solve(_ruc_case(ruc_seed_ifm_rows=seed, lazy_lp_rounds=lp_rounds))
    s = r.schedules.set_index("resource")
    assert s.at["G2", "rcu_mw"] == pytest.approx(30, abs=TOL)
    assert s.at["G1", "rcu_mw"] == pytest.approx(0, abs=TOL)
    assert r.manifest["ruc"]["objective_mip"] == pytest.approx(150, abs=1e-6)
    assert r.manifest["ruc"]["objective_lp"] == pytest.approx(150, abs=1e-6)
    lazy = _lazy(r, "ruc")
    assert lazy["seeded_rows"] == (1 if seed else 0)   # the IFM's base-case row of L12
    rounds = _mip_rounds(r, "ruc")
    assert len(rounds) == ruc_mip_rounds and rounds[-1]["rows_added"] == 0
    # the RUC flow on L12 stays within its limit either way: G1's RCU would overload it
    assert lazy["constraints_added"] >= 1
