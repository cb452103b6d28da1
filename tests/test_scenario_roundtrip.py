"""Round trip of the scenario format: load -> write_scenario -> load gives an equal Scenario
(issue: scenario format, round trip). `Scenario.__eq__` compares the header fields, the
parameters and every table (values and dtypes)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from clearing.outputs import OutputPathError
from scenarios import BUNDLED, MarketParameters, load_scenario, write_scenario
from scenarios.build import make_scenario
from scenarios.schema import TABLES

BUNDLED_SCENARIOS = sorted(p.name for p in BUNDLED.iterdir() if (p / "scenario.yaml").is_file())


def test_bundled_scenarios_are_found():
    assert "rts_gmlc_edam" in BUNDLED_SCENARIOS
    assert {"example_11_1", "example_11_2"} <= set(BUNDLED_SCENARIOS)


def _assert_same(a, b):
    assert a == b
    assert a.metadata == b.metadata
    assert list(a.tables) == list(b.tables)
    for name, df in a.tables.items():  # == already checks; say which table differs if not
        pd.testing.assert_frame_equal(df, b.tables[name], check_exact=True, obj=name)


@pytest.mark.parametrize("name", BUNDLED_SCENARIOS)
def test_bundled_scenario_round_trips(tmp_path, name):
    s = load_scenario(BUNDLED / name)
    out = write_scenario(s, tmp_path / name)
    s2 = load_scenario(out)
    _assert_same(s, s2)
    # and the written text is a fixed point: writing the reloaded scenario gives the same files
    out2 = write_scenario(s2, tmp_path / f"{name}_again")
    for t in TABLES:
        f = out / t.file
        assert f.exists() == (out2 / t.file).exists()
        if f.exists():
            assert f.read_text() == (out2 / t.file).read_text(), t.file


def test_write_replaces_an_existing_folder(tmp_path):
    s = load_scenario(BUNDLED / "example_11_2")
    out = tmp_path / "s"
    write_scenario(load_scenario(BUNDLED / "rts_gmlc_edam"), out)
    with pytest.raises(OutputPathError, match="--overwrite"):  # never silently
        write_scenario(s, out)
    write_scenario(s, out, overwrite=True)  # atomically replaces, no old file left behind
    assert not (out / "resource_hours.csv").exists()
    assert load_scenario(out) == s
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


# ---- a scenario with every optional table -----------------------------------------------------
H = [1, 2, 3]


def _full_scenario(**kw):
    """Two BAAs, four buses, every optional table and most optional columns set away from
    their defaults (including inf ramps, blank = NaN cells, negative bids, fractional MW)."""
    tables = dict(
        baas=[dict(baa="CISO", is_reference=True, entity="CAISO", ghg_regulated=True,
                   hub="SP15"),
              dict(baa="PACW", is_edam=True, nec_enabled=True, confidence_factor=0.25,
                   hub="MIDC")],
        buses=[dict(bus="c1", baa="CISO", name="Bus one", base_kv=230.0),
               dict(bus="c2", baa="CISO"),
               dict(bus="p1", baa="PACW", base_kv=500.0),
               dict(bus="p2", baa="PACW", name="Bus, with a comma")],
        branches=[dict(branch="c1-c2", from_bus="c1", to_bus="c2", reactance_pu=0.05,
                       rating_mw=300.0),
                  dict(branch="c2-p1", from_bus="c2", to_bus="p1", reactance_pu=0.1,
                       rating_mw=250.0, enforce_in_ruc=False),
                  dict(branch="p1-p2", from_bus="p1", to_bus="p2", reactance_pu=0.0123456789,
                       rating_mw=400.5, monitored=False, enforce_base=False)],
        branch_ratings=[dict(branch="c2-p1", hour=t, rating_mw=200.0 + t) for t in H],
        interfaces=[dict(interface="CISO_PACW", from_baa="CISO", to_baa="PACW",
                         hurdle_usd_per_mwh=2.5),
                    dict(interface="PACW_CISO", from_baa="PACW", to_baa="CISO")],
        interface_hours=[dict(interface=k, hour=t, limit_mw=100.0 * t, base_transfer_mw=5.0)
                         for k in ("CISO_PACW", "PACW_CISO") for t in H],
        resources=[
            dict(resource="G1", type="thermal", bus="c1", sc="SC1", pmin_mw=20.0, pmax_mw=200.0,
                 ramp_up_mw_per_min=2.0, ramp_down_mw_per_min=3.0, must_offer_ra=True),
            dict(resource="G2", type="thermal", bus="p1", pmin_mw=10.0, pmax_mw=150.0),
            dict(resource="W1", type="ver", bus="c2", pmax_mw=80.0, dispatchable=False),
            dict(resource="S1", type="storage", bus="p2", pmax_mw=50.0),
            dict(resource="H1", type="hydro", bus="p1", pmax_mw=120.0),
            dict(resource="M1", type="import", bus="c2", pmax_mw=60.0, fifteen_minute=True),
            dict(resource="X1", type="export", bus="p2", pmax_mw=40.0),
            dict(resource="D1", type="demand", bus="c2", pmax_mw=30.0),
            dict(resource="VS1", type="virtual_supply", bus="c1", pmax_mw=10.0),
            dict(resource="VD1", type="virtual_demand", bus="p1", pmax_mw=10.0)],
        thermal=[dict(resource="G1", min_load_cost_usd_per_h=123.45, startup_cost_usd=500.0,
                      min_up_h=2, min_down_h=3, initial_on=True, initial_hours=5,
                      initial_mw=80.0, startup_ramp_mw=60.0, shutdown_ramp_mw=70.0,
                      fast_start=True, nonspin_offline_mw=15.0, long_start=False),
                 dict(resource="G2", must_run=True, initial_on=False, initial_hours=0)],
        startup_costs=[dict(resource="G1", tier=1, after_offline_h=3, cost_usd=500.0),
                       dict(resource="G1", tier=2, after_offline_h=8, cost_usd=750.0),
                       dict(resource="G1", tier=3, after_offline_h=24, cost_usd=1000.0)],
        storage=[dict(resource="S1", charge_max_mw=40.0, soc_min_mwh=5.0, soc_max_mwh=200.0,
                      soc_initial_mwh=100.0, soc_end_min_mwh=90.0, charge_efficiency=0.92,
                      discharge_efficiency=0.95)],
        hydro=[dict(resource="H1", daily_energy_mwh=1500.0)],
        resource_hours=([dict(resource="W1", hour=t, pmax_mw=20.0 * t) for t in H]
                        + [dict(resource="M1", hour=t, self_schedule_mw=10.0) for t in H]
                        + [dict(resource="G2", hour=2, pmax_mw=140.0, self_schedule_mw=12.5)]),
        energy_bids=[
            dict(resource="G1", segment=1, mw=100.0, price_usd_per_mwh=18.5),
            dict(resource="G1", segment=2, mw=80.0, price_usd_per_mwh=25.0),
            dict(resource="G2", side="supply", segment=1, mw=140.0, price_usd_per_mwh=30.0),
            dict(resource="W1", segment=1, mw=80.0, price_usd_per_mwh=-25.0),
            dict(resource="S1", side="supply", segment=1, mw=50.0, price_usd_per_mwh=35.0),
            dict(resource="S1", side="demand", segment=1, mw=40.0, price_usd_per_mwh=15.0),
            dict(resource="H1", segment=1, mw=120.0, price_usd_per_mwh=10.0),
            dict(resource="M1", segment=1, mw=60.0, price_usd_per_mwh=40.0),
            dict(resource="X1", segment=1, mw=40.0, price_usd_per_mwh=45.0),
            dict(resource="D1", side="demand", segment=1, mw=20.0, price_usd_per_mwh=1000.0),
            dict(resource="D1", side="demand", segment=2, mw=10.0, price_usd_per_mwh=-150.0),
            dict(resource="VS1", segment=1, mw=10.0, price_usd_per_mwh=22.0),
            dict(resource="VD1", segment=1, mw=10.0, price_usd_per_mwh=21.0)],
        availability_bids=[
            dict(resource="G1", product="ru", mw=20.0, price_usd_per_mwh=250.0),
            dict(resource="G1", product="iru", mw=30.0, price_usd_per_mwh=55.0),
            dict(resource="G1", product="rcu", mw=50.0, price_usd_per_mwh=0.0,
                 iso_inserted=True),
            dict(resource="G2", product="ird", mw=25.0, price_usd_per_mwh=1.25),
            dict(resource="S1", product="sr", mw=10.0, price_usd_per_mwh=3.0),
            dict(resource="W1", product="rcu", mw=40.0, price_usd_per_mwh=0.0,
                 iso_inserted=True),
            dict(resource="H1", product="nr", mw=15.0, price_usd_per_mwh=2.0),
            dict(resource="H1", product="rcd", mw=15.0, price_usd_per_mwh=0.5),
            dict(resource="G2", product="rd", mw=5.0, price_usd_per_mwh=4.0)],
        energy_bids_hourly=[  # hourly overrides: another curve, a charge bid, a blank side
            dict(resource="G1", hour=2, side="supply", segment=1, mw=90.0,
                 price_usd_per_mwh=17.25),
            dict(resource="G1", hour=2, side="supply", segment=2, mw=90.5,
                 price_usd_per_mwh=26.5),
            dict(resource="S1", hour=3, side="demand", segment=1, mw=35.0,
                 price_usd_per_mwh=12.0),
            dict(resource="D1", hour=1, segment=1, mw=25.0, price_usd_per_mwh=-149.5)],
        availability_bids_hourly=[
            dict(resource="G1", hour=3, product="ru", mw=15.5, price_usd_per_mwh=240.0),
            dict(resource="W1", hour=1, product="rcu", mw=0.0, price_usd_per_mwh=0.0,
                 iso_inserted=True),
            dict(resource="H1", hour=2, product="rcd", mw=10.0, price_usd_per_mwh=0.75)],
        demand=[dict(bus=b, hour=t, fixed_demand_mw=d + t)
                for b, d in (("c1", 50.0), ("c2", 100.0), ("p1", 70.0), ("p2", 30.25))
                for t in H],
        baa_hours=[dict(baa="CISO", hour=t, demand_forecast_mw=150.0 + t,
                        ru_requirement_mw=10.0, rd_requirement_mw=8.0, sr_requirement_mw=6.0,
                        nr_requirement_mw=4.0, iru_requirement_mw=30.0, ird_requirement_mw=20.0,
                        nec_mw=75.0, additional_margin_mw=5.0, rse_net_import_mw=-12.0,
                        hub_price_usd_per_mwh=35.5, metered_demand_mw=151.0 + t,
                        etc_tor_mw=2.0)
                   for t in H]
        + [dict(baa="PACW", hour=t, demand_forecast_mw=100.0, iru_requirement_mw=10.0)
           for t in H],
        ir_demand_curves=(
            [dict(baa="CISO", product="iru", hour=t, segment=s, mw=mw, price_usd_per_mwh=p)
             for t in H for s, mw, p in ((1, 20.0, 55.0), (2, 10.0, 12.5))]
            + [dict(baa="CISO", product="ird", hour=t, segment=1, mw=20.0,
                    price_usd_per_mwh=40.0) for t in H]),
        load_distribution=[dict(bus="c1", ldf=0.25), dict(bus="c2", ldf=0.75),
                           dict(bus="p1", ldf=0.6), dict(bus="p2", ldf=0.4)],
        tie_resources=[dict(resource="M1", tie="T1"), dict(resource="X1", tie="T1")],
        tie_limits=[dict(tie="T1", import_limit_mw=50.0, export_limit_mw=35.5),
                    dict(tie="T1", hour=2, import_limit_mw=20.0)],
        noncompetitive_constraints=[dict(constraint="c2-p1"), dict(constraint="p1-p2", hour=2)],
        ghg_areas=[dict(baa="CISO", area="CA")],
        ghg_bids=[dict(resource="G2", area="CA", hour=t, adder_usd_per_mwh=12.75, mw=100.5)
                  for t in H] + [dict(resource="H1", area="CA", hour=2, adder_usd_per_mwh=0.0,
                                      mw=0.0)],
        ghg_emission_rates=[dict(resource="G2", emission_rate_t_per_mwh=0.925),
                            dict(resource="G1", emission_rate_t_per_mwh=0.41)],
        ghg_base_schedule=[dict(resource="G2", hour=1, mw=60.25),
                           dict(resource="H1", hour=3, mw=0.0)],
    )
    return make_scenario(tables, name="every_table", trade_date="2026-07-01", hours=len(H),
                         description="Every optional table, for the round-trip test.",
                         reference_bus="c2", metadata={"purpose": "round trip", "n": 3}, **kw)


def test_full_scenario_has_every_table():
    s = _full_scenario()
    assert set(s.tables) == {t.name for t in TABLES}
    ab = s.availability_bids
    assert ab["iso_inserted"].sum() == 2
    assert (s.resource_hours["self_schedule_mw"] > 0).any()
    assert math.isinf(s.resources.set_index("resource").at["G2", "ramp_up_mw_per_min"])
    assert math.isnan(s.thermal.set_index("resource").at["G2", "startup_ramp_mw"])


def test_scenario_with_every_optional_table_round_trips(tmp_path):
    s = _full_scenario()
    out = write_scenario(s, tmp_path / "full")
    assert {p.name for p in out.glob("*.csv")} == {t.file for t in TABLES}
    _assert_same(s, load_scenario(out))


def test_non_default_parameters_round_trip(tmp_path):
    params = MarketParameters().with_updates(dict(
        phase=3, ir_deployed_proportion=0.3, storage_envelope_multiplier_up=0.8,
        storage_envelope_multiplier_down=0.1, ir_demand_curve_cap_usd_per_mwh=40.5,
        ir_rc_default_availability_bid_usd_per_mwh=12.0, deployment_constraint_set="all",
        mpm_mode="off", storage_mode_binary=True, lazy_max_rounds=7,
        rse_surcharge_price_basis="hub", as_ramp_minutes=float("inf")))
    s = _full_scenario(parameters=params)
    s2 = load_scenario(write_scenario(s, tmp_path / "p"))
    _assert_same(s, s2)
    assert s2.parameters.phase == 3 and s2.parameters.as_ramp_minutes == float("inf")


def test_deployment_constraint_file_travels_with_the_scenario(tmp_path):
    src = tmp_path / "src"
    write_scenario(load_scenario(BUNDLED / "example_11_1"), src)
    branch = load_scenario(src).branches["branch"].iat[0]
    (src / "dep.txt").write_text(f"# enforced in the deployment scenarios\n{branch}\n")
    yaml_text = (src / "scenario.yaml").read_text().replace(
        "parameters: {}", "parameters:\n  deployment_constraint_set: dep.txt")
    (src / "scenario.yaml").write_text(yaml_text)
    s = load_scenario(src)
    assert s.parameters.deployment_constraint_set == "dep.txt"
    out = write_scenario(s, tmp_path / "copy")
    assert (out / "dep.txt").read_text() == (src / "dep.txt").read_text()
    _assert_same(s, load_scenario(out))
