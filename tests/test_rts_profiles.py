"""The reference RTS-GMLC import profile (issue 21; scenarios/importers/rts_gmlc.py
`reference_profile`, docs/rts-gmlc-import.md "Reference profile"): its tables do what the doc
says, checked on the default day (2020-07-09) against the bundled data set's CSV files read
here directly. Importing takes about a second; nothing is solved."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clearing.cli import main
from scenarios import load_scenario
from scenarios.importers.rts_gmlc import (BUNDLED_DATA_DIR, DEFAULT_DATE, REFERENCE_CHOICES,
                                          import_rts_gmlc)

DAY = dt.date.fromisoformat(DEFAULT_DATE)
TS = BUNDLED_DATA_DIR / "timeseries"


def _day(path) -> pd.DataFrame:
    df = pd.read_csv(path)
    return df[(df["Year"] == DAY.year) & (df["Month"] == DAY.month)
              & (df["Day"] == DAY.day)].sort_values("Period")


@pytest.fixture(scope="module")
def gen() -> pd.DataFrame:
    return pd.read_csv(BUNDLED_DATA_DIR / "SourceData" / "gen.csv").set_index("GEN UID")


@pytest.fixture(scope="module")
def ref():
    return import_rts_gmlc(DEFAULT_DATE, profile="reference")


@pytest.fixture(scope="module")
def edam():
    return import_rts_gmlc(DEFAULT_DATE)


def test_fixed_demand_is_the_full_forecast_without_bids(ref, edam):
    """Fixed demand of each BAA-hour = the area's DA load (Load/DAY_AHEAD_regional_Load.csv,
    area 1 = CISO, 2 = PACW, 3 = PGE), not 97 % of it; no price-sensitive or virtual
    resources and no bids of theirs. The edam profile keeps 97 % and its 9 bid resources."""
    load = _day(TS / "Load" / "DAY_AHEAD_regional_Load.csv")
    area = {"CISO": "1", "PACW": "2", "PGE": "3"}
    for sc, share in ((ref, 1.0), (edam, 0.97)):
        d = sc.demand.merge(sc.buses[["bus", "baa"]]).groupby(["baa", "hour"])[
            "fixed_demand_mw"].sum()
        for baa, col in area.items():
            want = share * load[col].to_numpy()
            assert d.loc[baa].to_numpy() == pytest.approx(want, abs=2e-3)
    kinds = ["demand", "virtual_supply", "virtual_demand"]
    assert not ref.resources["type"].isin(kinds).any()
    assert edam.resources["type"].isin(kinds).sum() == 9
    assert set(ref.energy_bids["resource"]) <= set(ref.resources["resource"])


def test_hydro_ror_and_rooftop_pv_run_at_their_series(ref, gen):
    """Every HYDRO unit: hourly pmax = self-schedule = its DA series (Hydro/DAY_AHEAD_hydro.csv);
    the ROR unit 201_HYDRO_4 and rooftop PV are must-take VERs at their series."""
    hydro = _day(TS / "Hydro" / "DAY_AHEAD_hydro.csv")
    rh = ref.resource_hours.set_index(["resource", "hour"])
    units = [g for g in gen.index if gen.at[g, "Unit Type"] == "HYDRO"]
    assert len(units) == 19
    for u in units:
        want = np.clip(hydro[u].to_numpy(), 0, gen.at[u, "PMax MW"])
        assert rh.loc[u, "self_schedule_mw"].to_numpy() == pytest.approx(want, abs=1e-4)
        assert rh.loc[u, "pmax_mw"].to_numpy() == pytest.approx(want, abs=1e-4)
    res = ref.resources.set_index("resource")
    assert rh.loc["201_HYDRO_4", "pmax_mw"].to_numpy() == pytest.approx(
        hydro["201_HYDRO_4"].to_numpy(), abs=1e-4)
    rtpv = [g for g in gen.index if gen.at[g, "Unit Type"] == "RTPV"]
    assert not res.loc[["201_HYDRO_4", *rtpv], "dispatchable"].any()


def test_storage_on_cost_and_csp_with_its_store(ref):
    """313_STORAGE_1 offers and bids at $0; the CSP plant is an energy-limited resource
    (hydro type, 200 MW every hour) whose daily energy is the day's Natural_Inflow sum."""
    eb = ref.energy_bids
    assert (eb.loc[eb["resource"] == "313_STORAGE_1", "price_usd_per_mwh"] == 0).all()
    assert sorted(eb.loc[eb["resource"] == "313_STORAGE_1", "side"]) == ["demand", "supply"]
    inflow = _day(TS / "CSP" / "DAY_AHEAD_Natural_Inflow.csv")["212_CSP_1"].clip(lower=0)
    res = ref.resources.set_index("resource")
    assert res.at["212_CSP_1", "type"] == "hydro"
    hy = ref.hydro.set_index("resource")
    assert hy.at["212_CSP_1", "daily_energy_mwh"] == pytest.approx(inflow.sum(), abs=0.05)
    rh = ref.resource_hours[ref.resource_hours["resource"] == "212_CSP_1"]
    assert (rh["pmax_mw"] == 200.0).all() and len(rh) == 24


def test_reserves_products_eligibility_and_prices(ref, edam, gen):
    """No NR requirement; RU/RD/SR/IRU/IRD offers at $0 from the reserves.csv technologies
    only (CT, CC, oil/coal steam, PV, wind, CSP: not hydro, storage, nuclear, rooftop PV,
    ROR); no NR offers; RU/SR requirements as in the edam profile."""
    assert (ref.baa_hours["nr_requirement_mw"] == 0).all()
    for col in ("ru_requirement_mw", "rd_requirement_mw", "sr_requirement_mw",
                "iru_requirement_mw", "ird_requirement_mw"):
        assert ref.baa_hours[col].tolist() == edam.baa_hours[col].tolist()
    ab = ref.availability_bids
    assert set(ab["product"]) == {"ru", "rd", "sr", "iru", "ird"}
    assert (ab["price_usd_per_mwh"] == 0).all()
    types = gen.loc[ab["resource"].unique(), "Unit Type"]
    assert set(types) == {"CT", "CC", "STEAM", "PV", "WIND", "CSP"}


def test_no_reliability_capacity_and_no_ruc(ref, edam):
    """No RCU/RCD bids, nothing the engine would insert RCU bids for (RA must-offer, VER
    certification), run_ruc false; the edam profile has RC bids and the RUC."""
    assert not ref.availability_bids["product"].isin(["rcu", "rcd"]).any()
    assert not ref.resources["must_offer_ra"].any() and not ref.resources["rc_certified"].any()
    assert ref.parameters.run_ruc is False and edam.parameters.run_ruc is True
    assert edam.availability_bids["product"].isin(["rcu", "rcd"]).any()


def test_renewable_offers_at_zero(ref, edam):
    """Wind at $0 (edam: -$5), utility PV at $0."""
    eb = ref.energy_bids.merge(ref.resources[["resource", "type"]])
    wind = eb["resource"].str.contains("_WIND_")
    pv = eb["resource"].str.contains("_PV_")
    assert (eb.loc[wind | pv, "price_usd_per_mwh"] == 0).all() and wind.sum() == 4
    e = edam.energy_bids
    assert (e.loc[e["resource"].str.contains("_WIND_"), "price_usd_per_mwh"] == -5).all()


def test_each_choice_reverts_alone(edam):
    """The reference profile without 'demand' keeps the edam demand (97 %, bid resources) and
    applies the rest; with no choice at all it is the edam profile's tables."""
    no_demand = import_rts_gmlc(DEFAULT_DATE, profile="reference",
                                reference_choices=[c for c in REFERENCE_CHOICES
                                                   if c != "demand"])
    assert no_demand.demand.equals(edam.demand)
    assert (no_demand.baa_hours["nr_requirement_mw"] == 0).all()
    none = import_rts_gmlc(DEFAULT_DATE, profile="reference", reference_choices=[])
    for name in edam.tables:
        assert none.tables[name].equals(edam.tables[name]), name
    assert import_rts_gmlc(DEFAULT_DATE, profile="edam").input_hash() == edam.input_hash()
    with pytest.raises(ValueError, match="profile 'pcm'"):
        import_rts_gmlc(DEFAULT_DATE, profile="pcm")


def test_import_command_writes_the_reference_profile(tmp_path):
    """`edam import rts-gmlc --profile reference` writes a folder that loads with the
    profile's tables and parameters."""
    out = tmp_path / "ref"
    assert main(["import", "rts-gmlc", "--date", DEFAULT_DATE, "--out", str(out),
                 "--profile", "reference"]) == 0
    sc = load_scenario(out)
    assert sc.parameters.run_ruc is False
    assert not sc.resources["type"].isin(["virtual_supply", "virtual_demand"]).any()
    assert (out / "NOTICE.md").is_file()
