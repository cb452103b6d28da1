"""RUC start-up costs by tier (issue 19 part 3, spec §4.1, §4.2): a unit the RUC commits pays
the start-up tier its off-line spell implies, as in the IFM (the shared
`clearing.market.resources.add_startup_costs`), not always the coldest tier.

Hand case (one BAA, one bus, no branches, mpm off): fixed load 100 MW every hour.
G1 100 MW @ $20, on, Pmin 0, no commitment costs, no RC bid: it carries the load alone.
G2 200 MW @ $50, min-load cost $150/h, min up/down 1 h, RCU bid 60 MW @ $2/MWh, start-up tiers
(`startup_costs`): tier 1 (hot) after 1 h off-line $200, tier 2 (warm) after 4 h $500, tier 3
(cold) after 8 h $1,100.
IFM: G1 = 100 every hour, G2 off (it could only add cost): IFM objective 100·20 = $2,000/h.
RUC: the forecast exceeds the load by 50 MW in the last hour; G2 covers the gap with 50 MW of
RCU (≤ 60 bid, ≤ 200 − 0 capacity) rather than 50 MW of shortfall at $1,000/MWh ($50,000).
"""

from __future__ import annotations

import pytest

from clearing.analysis.check import check_run
from clearing.api import solve
from scenarios.build import make_scenario

TIERS = ((1, 200.0), (4, 500.0), (8, 1100.0))


def _case(hours: int, forecast: list[float], *, initial_on: bool, initial_hours: int,
          pmin_mw: float):
    H = range(1, hours + 1)
    res = [dict(resource="G1", type="thermal", bus="1", pmin_mw=0.0, pmax_mw=100.0,
                ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0),
           dict(resource="G2", type="thermal", bus="1", pmin_mw=pmin_mw, pmax_mw=200.0,
                ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0)]
    th = [dict(resource="G1", min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
               min_down_h=1, initial_on=True, initial_hours=24, initial_mw=100.0),
          dict(resource="G2", min_load_cost_usd_per_h=150.0, startup_cost_usd=TIERS[0][1],
               min_up_h=1, min_down_h=1, initial_on=initial_on, initial_hours=initial_hours,
               initial_mw=0.0)]
    tables = dict(
        resources=res, thermal=th,
        startup_costs=[dict(resource="G2", tier=k, after_offline_h=h, cost_usd=c)
                       for k, (h, c) in enumerate(TIERS, start=1)],
        energy_bids=[dict(resource="G1", side="supply", segment=1, mw=100.0,
                          price_usd_per_mwh=20.0),
                     dict(resource="G2", side="supply", segment=1, mw=200.0 - pmin_mw,
                          price_usd_per_mwh=50.0)],
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=t, fixed_demand_mw=100.0) for t in H],
        load_distribution=[dict(bus="1", ldf=1.0)],
        baa_hours=[dict(baa="A", hour=t, demand_forecast_mw=f) for t, f in zip(H, forecast)],
        availability_bids=[dict(resource="G2", product="rcu", mw=60.0, price_usd_per_mwh=2.0)])
    return make_scenario(tables, name="ruc_tiers", trade_date="2026-06-01", hours=hours,
                         parameters={"mpm_mode": "off"})


@pytest.mark.parametrize("offline_h, tier_cost", [(2, 200.0), (5, 500.0), (10, 1100.0)])
def test_ruc_start_pays_the_tier_of_the_initial_offline_spell(offline_h, tier_cost):
    """One hour, forecast 150 MW. G2 (Pmin 10) has been off-line `offline_h` hours by the end
    of hour 0, so a start in hour 1 ends a spell of `offline_h` hours: 2 h is in the hot window
    [1, 3] ($200), 5 h in the warm window [4, 7] ($500), 10 h ≥ 8 is cold ($1,100).
    RUC objective = start-up + MLC 150 + RCU 50 × $2 = tier + 250: $450, $750, $1,350 (before
    issue 19 every case paid the cold $1,100: $1,350)."""
    sc = _case(1, [150.0], initial_on=False, initial_hours=offline_h, pmin_mw=10.0)
    r = solve(sc)
    s = r.schedules.set_index("resource")
    assert int(s.at["G2", "committed"]) == 0 and int(s.at["G2", "ruc_committed"]) == 1
    assert float(s.at["G2", "rcu_mw"]) == pytest.approx(50.0, abs=1e-6)
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(2000.0, abs=1e-6)
    assert r.manifest["ruc"]["objective_mip"] == pytest.approx(tier_cost + 250.0, abs=1e-6)
    assert r.manifest["ruc"]["objective_lp"] == pytest.approx(tier_cost + 250.0, abs=1e-6)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_ruc_restart_after_an_ifm_shutdown_pays_the_hot_tier():
    """Three hours, forecast 100, 100, 150 MW. G2 (Pmin 0) is on-line at 0 MW before the day;
    the IFM stops it in hour 1 (its $150/h buys nothing), so u = 0, 0, 0. The RUC needs 50 MW
    in hour 3 and may:
    (a) keep G2 on through hours 1-3 (u^R = 1, 1, 1; no start): MLC 3 × 150 + RCU 50 × 2 = $550;
    (b) let it stop in hour 1 (w^R_1 = 1) and restart in hour 3 after 2 h off-line (hours 1,
        2): the hot tier [1, 3], $200 + MLC 150 + RCU 100 = $450;
    (c) restart in hour 2 after 1 h (hot): 200 + 2 × 150 + 100 = $600.
    Optimum (b), $450, committing G2 in hour 3 only. Charging the cold tier ($1,100) made (b)
    cost $1,350, so the RUC kept the unit on for hours 1-2 as in (a)."""
    sc = _case(3, [100.0, 100.0, 150.0], initial_on=True, initial_hours=24, pmin_mw=0.0)
    r = solve(sc)
    s = r.schedules[r.schedules["resource"] == "G2"].set_index("hour")
    assert list(s["committed"]) == [0, 0, 0]
    assert list(s["ruc_committed"]) == [0, 0, 1]
    assert float(s.at[3, "rcu_mw"]) == pytest.approx(50.0, abs=1e-6)
    assert r.manifest["ruc"]["objective_mip"] == pytest.approx(450.0, abs=1e-6)
    assert r.manifest["ruc"]["objective_lp"] == pytest.approx(450.0, abs=1e-6)
    v = check_run(sc, r)
    assert v.empty, v.to_string()
