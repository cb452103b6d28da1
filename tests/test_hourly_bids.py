"""Hourly bids (issue 19 part 4, SIBR): `energy_bids_hourly` and `availability_bids_hourly`
replace the day-constant bids of a resource hour by hour (scenarios/bids.py is the one lookup);
an hour without hourly rows keeps the day-constant bid.

The hand-solved market (`_market`): one BAA, one bus, two hours, fixed demand 80 MW and an RU
requirement of 10 MW in both hours; two thermal units, Pmin 0, Pmax 100 MW, no commitment costs,
ample ramps, mpm off.
  G1: day offer 100 MW @ $20, RU 20 MW @ $2; hour 2 (hourly rows): offer 30 MW @ $10 then
      70 MW @ $40, RU 20 MW @ $8.
  G2: day offer 100 MW @ $30, RU 20 MW @ $5 (no hourly rows: every hour uses the day bid).
Hour 1 (no hourly rows, the day bids): G1 is cheapest, G1 = 80 MW (marginal, not at a limit), LMP
$20; RU: G1 $2 < G2 $5, G1 RU = 10 of its 20 MW, ASMP^RU = $2.
Hour 2 (the hourly curve changes the merit order): G1's first 30 MW @ $10, then G2 @ $30 before
G1's $40 segment: G1 = 30, G2 = 50 (marginal), LMP $30; RU: G2 $5 < G1 $8, G2 RU = 10,
ASMP^RU = $5.
Bid cost = 80·20 + 10·2 (hour 1) + 30·10 + 50·30 + 10·5 (hour 2) = 1600 + 20 + 300 + 1500 + 50
= 3470 $. Without the hourly rows G1 would run 80 MW at $20 in both hours (cost 3240 $).
"""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.analysis.check import check_run
from clearing.analysis.settle import build_resource_frame
from clearing.api import solve
from clearing.market.mpm import mitigate_bids, pivotal_supplier_test
from clearing.market.rse import rse_capability
from scenarios import load_scenario, write_scenario
from scenarios.bids import AvailabilityBid
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError

RAMP = 1000.0  # MW/min: no ramp limit binds


def _gen(rid, price, *, long_start=True):
    res = dict(resource=rid, type="thermal", bus="a", pmin_mw=0.0, pmax_mw=100.0,
               ramp_up_mw_per_min=RAMP, ramp_down_mw_per_min=RAMP)
    th = dict(resource=rid, min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=24, initial_mw=0.0,
              long_start=long_start, fast_start=not long_start)
    eb = dict(resource=rid, side="supply", segment=1, mw=100.0, price_usd_per_mwh=price)
    return res, th, eb


def _tables(long_start=True) -> dict:
    gens = [_gen("G1", 20.0, long_start=long_start), _gen("G2", 30.0, long_start=long_start)]
    return dict(
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="a", baa="A")],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens],
        energy_bids_hourly=[
            dict(resource="G1", hour=2, side="supply", segment=1, mw=30.0, price_usd_per_mwh=10.0),
            dict(resource="G1", hour=2, side="supply", segment=2, mw=70.0,
                 price_usd_per_mwh=40.0)],
        availability_bids=[dict(resource="G1", product="ru", mw=20.0, price_usd_per_mwh=2.0),
                           dict(resource="G2", product="ru", mw=20.0, price_usd_per_mwh=5.0)],
        availability_bids_hourly=[dict(resource="G1", hour=2, product="ru", mw=20.0,
                                       price_usd_per_mwh=8.0)],
        demand=[dict(bus="a", hour=h, fixed_demand_mw=80.0) for h in (1, 2)],
        baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=80.0, ru_requirement_mw=10.0)
                   for h in (1, 2)],
    )


def _market(long_start=True, **params):
    p = dict(mpm_mode="off", phase=1)
    p.update(params)
    return make_scenario(_tables(long_start), name="hourly_bids", trade_date="2026-06-01",
                         hours=2, parameters=p)


@pytest.fixture(scope="module")
def solved():
    sc = _market()
    return sc, solve(sc)


def _at(df, **key):
    x = df
    for k, v in key.items():
        x = x[x[k] == v]
    assert len(x) == 1, x
    return x.iloc[0]


# ---------------------------------------------------------------------------------------------
def test_the_lookup_falls_back_to_the_day_bid():
    """scenarios.bids: hour 2 of G1 is its hourly curve (both day segments replaced), hour 1
    and every hour of G2 the day bid; a (resource, product) without a bid in an hour is None."""
    book = _market().bids
    assert book.energy("G1", "supply", 1) == ((100.0, 20.0),)
    assert book.energy("G1", "supply", 2) == ((30.0, 10.0), (70.0, 40.0))
    assert book.energy("G2", "supply", 2) == ((100.0, 30.0),)
    assert book.energy("G2", "demand", 1) == ()
    assert book.availability("G1", "ru", 1) == AvailabilityBid(20.0, 2.0, False)
    assert book.availability("G1", "ru", 2) == AvailabilityBid(20.0, 8.0, False)
    assert book.availability("G2", "ru", 2) == AvailabilityBid(20.0, 5.0, False)
    assert book.availability("G2", "sr", 1) is None
    frame = book.energy_frame()
    assert len(frame) == 1 + 2 + 2  # G1: 1 segment in hour 1, 2 in hour 2; G2: 1 per hour
    # a scenario without hourly tables: every hour is the day bid
    day = make_scenario({k: v for k, v in _tables().items() if not k.endswith("_hourly")},
                        hours=2)
    assert not day.bids.varies_by_hour
    assert day.bids.energy("G1", "supply", 2) == ((100.0, 20.0),)


def test_hourly_bid_changes_the_merit_order_in_hour_2(solved):
    """The market of the module docstring: hour 1 by the day bids, hour 2 by G1's hourly curve
    and RU bid."""
    _, r = solved
    s = r.schedules
    assert _at(s, resource="G1", hour=1)["energy_mw"] == pytest.approx(80.0)
    assert _at(s, resource="G2", hour=1)["energy_mw"] == pytest.approx(0.0)
    assert _at(s, resource="G1", hour=2)["energy_mw"] == pytest.approx(30.0)
    assert _at(s, resource="G2", hour=2)["energy_mw"] == pytest.approx(50.0)
    assert _at(s, resource="G1", hour=1)["reg_up_mw"] == pytest.approx(10.0)
    assert _at(s, resource="G2", hour=2)["reg_up_mw"] == pytest.approx(10.0)
    assert _at(s, resource="G1", hour=2)["reg_up_mw"] == pytest.approx(0.0)
    lmp = r.nodal_prices.set_index("hour")["lmp"]
    assert lmp[1] == pytest.approx(20.0) and lmp[2] == pytest.approx(30.0)
    pp = r.product_prices
    assert _at(pp, product="ru", hour=1)["price_usd_per_mwh"] == pytest.approx(2.0)
    assert _at(pp, product="ru", hour=2)["price_usd_per_mwh"] == pytest.approx(5.0)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(3470.0)


def test_missing_hour_uses_the_day_bid():
    """An hourly row for hour 1 only (G1 offers its 100 MW at $35, above G2's $30): hour 1 then
    clears G2 (80 MW, LMP $30), and hour 2, without an hourly row, falls back to the day bids:
    G1 80 MW at $20, LMP $20."""
    t = _tables()
    t["energy_bids_hourly"] = [dict(resource="G1", hour=1, side="supply", segment=1, mw=100.0,
                                    price_usd_per_mwh=35.0)]
    del t["availability_bids_hourly"]
    r = solve(make_scenario(t, hours=2, parameters=dict(mpm_mode="off", phase=1)))
    s = r.schedules
    assert _at(s, resource="G2", hour=1)["energy_mw"] == pytest.approx(80.0)
    assert _at(s, resource="G1", hour=2)["energy_mw"] == pytest.approx(80.0)
    lmp = r.nodal_prices.set_index("hour")["lmp"]
    assert lmp[1] == pytest.approx(30.0) and lmp[2] == pytest.approx(20.0)


def test_the_checker_passes_the_run_and_uses_the_hourly_bids(solved):
    """Untouched, the run passes every rule; a checker reading only the day bids would flag G1
    (in hour 2 its day curve 100 MW @ $20 under an LMP of $30, its day RU bid $2 under an ASMP of
    $5)."""
    sc, r = solved
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_profit_rule_fires_when_the_hourly_energy_table_is_broken(solved):
    """Dropping energy_bids_hourly: G1's hour-2 bid is then its day curve 100 MW @ $20 under the
    LMP $30; best profit 100·(30 − 20) = 1000 $ against the published 30 MW·10 = 300 $ (gain
    700 $). Raising the hourly first segment to $35 instead: best 0 (stay at 0 MW, both
    segments above $30), published 30·(30 − 35) = −150 $ (gain 150 $)."""
    sc, r = solved
    v = check_run(_without(sc, "energy_bids_hourly"), r)
    row = _at(v[v["rule"] == "profit"], id="G1")
    assert (row["amount"], row["limit"]) == pytest.approx((1000.0, 300.0))
    eh = sc.energy_bids_hourly.copy()
    eh.loc[eh["segment"] == 1, "price_usd_per_mwh"] = 35.0
    v = check_run(sc.with_tables(energy_bids_hourly=eh), r)
    row = _at(v[v["rule"] == "profit"], id="G1")
    assert (row["amount"], row["limit"]) == pytest.approx((0.0, -150.0))


def test_profit_and_award_rules_read_the_hourly_availability_bids(solved):
    """Dropping availability_bids_hourly: G1's hour-2 RU bid is its day bid, 20 MW @ $2 under
    ASMP $5, so its whole 20 MW of RU would earn 20·(5 − 2) = 60 $ (30 MW energy + 20 MW RU fit
    in its 100 MW): best 600 + 60 = 660 $ (hour-2 energy 30·(30 − 10) = 600 $) against the
    published 600 $. An hourly RU row of 5 MW for G1 in hour 1 puts its 10 MW award above the hour's bid."""
    sc, r = solved
    v = check_run(_without(sc, "availability_bids_hourly"), r)
    row = _at(v[v["rule"] == "profit"], id="G1")
    assert (row["amount"], row["limit"]) == pytest.approx((660.0, 600.0))
    ah = pd.concat([sc.availability_bids_hourly, pd.DataFrame([dict(
        resource="G1", hour=1, product="ru", mw=5.0, price_usd_per_mwh=2.0,
        iso_inserted=False)])], ignore_index=True)
    v = check_run(sc.with_tables(availability_bids_hourly=ah), r)
    row = _at(v[v["rule"] == "award_bid"], id="G1", hour=1)
    assert (row["amount"], row["limit"]) == pytest.approx((10.0, 5.0))


def _without(sc, table):
    return sc.with_tables(**{table: sc.tables[table].iloc[0:0]})


def test_rt_redispatch_uses_the_hour_s_bid(tmp_path):
    """Phase 3 with short-start units (they bid their DA curve over the whole range in RT) and an
    RT load equal to the DA load: every interval of hour 1 clears G1 80 MW at $20, every interval
    of hour 2 G1's hourly first segment 30 MW and G2 50 MW at $30 (no FRU requirement: no IRU
    requirement)."""
    sc = _market(long_start=False, phase=3)
    path = write_scenario(sc, tmp_path / "rt_case")
    (path / "rt").mkdir()
    pd.DataFrame({"baa": "A", "hour": [1] * 4 + [2] * 4, "interval": [1, 2, 3, 4] * 2,
                  "demand_mw": 80.0}).to_csv(path / "rt" / "demand_forecast.csv", index=False)
    r = solve(load_scenario(path))
    rs = r.rt_schedules
    for hour, g1, g2 in ((1, 80.0, 0.0), (2, 30.0, 50.0)):
        x = rs[rs["hour"] == hour].pivot(index="interval", columns="resource", values="energy_mw")
        assert x["G1"].to_numpy() == pytest.approx([g1] * 4)
        assert x["G2"].to_numpy() == pytest.approx([g2] * 4)
    lmp = r.rt_prices.groupby("hour")["lmp"]
    assert lmp.min()[1] == pytest.approx(20.0) and lmp.max()[1] == pytest.approx(20.0)
    assert lmp.min()[2] == pytest.approx(30.0) and lmp.max()[2] == pytest.approx(30.0)


def test_rse_capability_is_the_hour_s_bid():
    """§7.1: UP = min(cap, offered MW); G1 offers 100 MW in hour 1 and 30 + 70 in hour 2; with
    an hourly RU row of 4 MW in hour 2 its RU capability is min(4, 10·1000, 100) = 4 there and
    the day bid's 20 MW in hour 1; an hourly energy curve of 60 MW for G2 in hour 2 makes its
    UP 60 there."""
    t = _tables()
    t["availability_bids_hourly"] = [dict(resource="G1", hour=2, product="ru", mw=4.0,
                                          price_usd_per_mwh=8.0)]
    t["energy_bids_hourly"].append(dict(resource="G2", hour=2, side="supply", segment=1, mw=60.0,
                                        price_usd_per_mwh=30.0))
    cap = rse_capability(make_scenario(t, hours=2)).set_index(["resource", "hour"])
    assert cap.at[("G1", 1), "ru_mw"] == pytest.approx(20.0)
    assert cap.at[("G1", 2), "ru_mw"] == pytest.approx(4.0)
    assert cap.at[("G2", 1), "up_mw"] == pytest.approx(100.0)
    assert cap.at[("G2", 2), "up_mw"] == pytest.approx(60.0)
    assert cap.at[("G1", 2), "up_mw"] == pytest.approx(100.0)


def test_mpm_acts_on_the_hour_s_bid():
    """BAA A, IRU requirement 20 MW in hours 1 and 2, N = 3, DAB $10 (capability = the hour's
    IRU bid MW; ramps and headroom do not bind).
      BIG_1 (SC BIG): day IRU 100 MW @ $40; hour 2 (hourly) 100 MW @ $8.
      S1_1, S2_1, S3_1 (SCs S1, S2, S3): day IRU 10 MW @ $5; hour 2 (hourly) 30 MW, S1 and S3
      @ $30, S2 @ $5.
    Hour 1: total 130, the three largest BIG 100 + S1 10 + S2 10 (tie by name) = 120, residual
    10 < 20: fails, pivotal BIG, S1, S2. Hour 2: total 190, largest 100 + 30 + 30 = 160, residual
    30 >= 20: competitive. ir_rc mitigates the pivotal SCs' bids priced above DAB in some hour,
    each hour's price above DAB to DAB: BIG_1 hour 1 $40 -> $10 (hour 2 stays $8), S1_1 hour 2
    $30 -> $10 (hour 1 stays $5); S3_1's $30 stays (S3 not pivotal); S2_1 is never above DAB.
    The table reports the highest price of the day: BIG_1 $40, S1_1 $30."""
    gens = [("BIG_1", "BIG"), ("S1_1", "S1"), ("S2_1", "S2"), ("S3_1", "S3")]
    tables = dict(
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="a", baa="A")],
        resources=[dict(resource=g, type="thermal", bus="a", sc=sc, pmax_mw=200.0,
                        ramp_up_mw_per_min=RAMP, ramp_down_mw_per_min=RAMP) for g, sc in gens],
        thermal=[dict(resource=g, initial_on=True) for g, _ in gens],
        energy_bids=[dict(resource=g, segment=1, mw=200.0, price_usd_per_mwh=20.0)
                     for g, _ in gens],
        availability_bids=[dict(resource="BIG_1", product="iru", mw=100.0, price_usd_per_mwh=40.0)]
        + [dict(resource=g, product="iru", mw=10.0, price_usd_per_mwh=5.0) for g, _ in gens[1:]],
        availability_bids_hourly=[
            dict(resource="BIG_1", hour=2, product="iru", mw=100.0, price_usd_per_mwh=8.0),
            dict(resource="S1_1", hour=2, product="iru", mw=30.0, price_usd_per_mwh=30.0),
            dict(resource="S2_1", hour=2, product="iru", mw=30.0, price_usd_per_mwh=5.0),
            dict(resource="S3_1", hour=2, product="iru", mw=30.0, price_usd_per_mwh=30.0)],
        demand=[dict(bus="a", hour=h, fixed_demand_mw=100.0) for h in (1, 2)],
        baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=100.0, iru_requirement_mw=20.0)
                   for h in (1, 2)],
    )
    sc = make_scenario(tables, hours=2, parameters=dict(
        mpm_mode="ir_rc", ir_rc_default_availability_bid_usd_per_mwh=10.0))
    test = pivotal_supplier_test(sc)
    iru = test[test["product"] == "iru"].set_index("hour")
    assert not iru.at[1, "competitive"] and iru.at[1, "pivotal_suppliers"] == "BIG;S1;S2"
    assert iru.at[1, "residual_supply_mw"] == pytest.approx(10.0)
    assert iru.at[2, "competitive"] and iru.at[2, "residual_supply_mw"] == pytest.approx(30.0)
    assert iru.at[2, "supply_by_supplier"] == "BIG=100;S1=30;S2=30;S3=30"
    new, mit = mitigate_bids(sc, test)
    mit = mit.set_index("resource")
    assert sorted(mit.index) == ["BIG_1", "S1_1"]
    assert mit.at["BIG_1", "original_price_usd_per_mwh"] == pytest.approx(40.0)
    assert mit.at["S1_1", "original_price_usd_per_mwh"] == pytest.approx(30.0)
    assert (mit["mitigated_price_usd_per_mwh"] == 10.0).all()
    assert (mit["failing_hours"] == "1").all()
    price = {(r, h): new.bids.availability(r, "iru", h).price_usd_per_mwh
             for r, _ in gens for h in (1, 2)}
    assert price == {("BIG_1", 1): 10.0, ("BIG_1", 2): 8.0, ("S1_1", 1): 5.0, ("S1_1", 2): 10.0,
                     ("S2_1", 1): 5.0, ("S2_1", 2): 5.0, ("S3_1", 1): 5.0, ("S3_1", 2): 30.0}


def test_settlement_proxy_flag_is_the_hour_s():
    """An ISO-inserted RCU bid of G2 (day row) that an hourly row replaces in hour 2 with a bid
    of its own SC: G2's RCU awards are proxy awards (no no-pay) in hour 1 only."""
    t = _tables()
    t["availability_bids"].append(dict(resource="G2", product="rcu", mw=50.0,
                                       price_usd_per_mwh=1.0, iso_inserted=True))
    t["availability_bids_hourly"].append(dict(resource="G2", hour=2, product="rcu", mw=50.0,
                                              price_usd_per_mwh=1.0, iso_inserted=False))
    sc = make_scenario(t, hours=2, parameters=dict(mpm_mode="off", phase=1))
    run = solve(sc)
    # a run without schedules.rcu_proxy/rcd_proxy (written before issue 19 part 2): settlement
    # takes the hour's bid (with the columns, the run's flags: tests/test_iso_inserted_rcu.py)
    tables = dict(run.tables)
    tables["schedules"] = tables["schedules"].drop(columns=["rcu_proxy", "rcd_proxy"])
    f = build_resource_frame(sc, tables, None).set_index(["resource", "hour"])
    assert bool(f.at[("G2", 1), "rcu_proxy"]) and not bool(f.at[("G2", 2), "rcu_proxy"])
    assert not bool(f.at[("G1", 1), "rcu_proxy"])


# --- validation ---------------------------------------------------------------------------------
def _folder(tmp_path, name, **csv_text):
    """The market written to a folder with the given CSV files (name -> text) added."""
    day = {k: v for k, v in _tables().items() if not k.endswith("_hourly")}
    path = write_scenario(make_scenario(day, name=name, hours=2), tmp_path / name)
    for table, text in csv_text.items():
        (path / f"{table}.csv").write_text(text)
    return path


def _problems(path) -> list[tuple]:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    return [(p.file, p.row, p.column) for p in exc.value.problems]


def test_file_level_errors_name_file_row_column(tmp_path):
    """Duplicate keys, hours out of range, unknown resources, bid caps (one file)."""
    path = _folder(tmp_path, "bad_rows", energy_bids_hourly=(
        "resource,hour,side,segment,mw,price_usd_per_mwh\n"
        "G1,2,supply,1,30,10\n"          # row 2
        "G1,2,supply,1,40,12\n"          # row 3: duplicate key G1/2/supply/1
        "G1,0,supply,1,30,10\n"          # row 4: hour 0
        "G2,1,supply,1,30,1500\n"),      # row 5: above the $1000 cap
        availability_bids_hourly=(
        "resource,hour,product,mw,price_usd_per_mwh\n"
        "G1,1,ru,10,300\n"                # row 2: above the $250 AS cap
        "G1,1,xx,10,3\n"))                # row 3: unknown product
    got = _problems(path)
    assert ("energy_bids_hourly.csv", 4, "hour") in got
    assert ("energy_bids_hourly.csv", 5, "price_usd_per_mwh") in got
    assert ("availability_bids_hourly.csv", 2, "price_usd_per_mwh") in got
    assert ("availability_bids_hourly.csv", 3, "product") in got
    # once the values are valid, the duplicate key is reported
    path = _folder(tmp_path, "dup", energy_bids_hourly=(
        "resource,hour,side,segment,mw,price_usd_per_mwh\n"
        "G1,2,supply,1,30,10\n"
        "G1,2,supply,1,40,12\n"))
    assert ("energy_bids_hourly.csv", 2, "resource,hour,side,segment") in _problems(path)


def test_cross_table_errors_name_file_row_column(tmp_path):
    """Hour beyond H, unknown resource; a falling supply curve within an hour, a blank side
    duplicating an explicit one, an IRU price above $55; a curve given only hourly with a
    missing hour."""
    path = _folder(tmp_path, "bad_refs", energy_bids_hourly=(
        "resource,hour,side,segment,mw,price_usd_per_mwh\n"
        "G1,3,supply,1,30,10\n"          # row 2: hour 3 of a 2-hour day
        "GX,1,supply,1,30,10\n"))        # row 3: unknown resource
    got = _problems(path)
    assert ("energy_bids_hourly.csv", 2, "hour") in got
    assert ("energy_bids_hourly.csv", 3, "resource") in got
    path = _folder(tmp_path, "bad_curve", energy_bids_hourly=(
        "resource,hour,side,segment,mw,price_usd_per_mwh\n"
        "G1,1,supply,1,30,10\n"
        "G1,1,supply,2,30,25\n"
        "G1,2,supply,1,30,10\n"
        "G1,2,supply,2,30,5\n"           # row 5: falls within hour 2
        "G2,1,,1,30,10\n"
        "G2,1,supply,1,30,11\n"),        # row 7: the blank side of row 6 is supply too
        availability_bids_hourly=(
        "resource,hour,product,mw,price_usd_per_mwh\n"
        "G1,1,iru,10,60\n"))
    got = _problems(path)
    assert ("energy_bids_hourly.csv", 5, "price_usd_per_mwh") in got
    assert ("energy_bids_hourly.csv", 7, "side") in got
    assert ("availability_bids_hourly.csv", 2, "price_usd_per_mwh") in got
    assert ("energy_bids_hourly.csv", 2, "price_usd_per_mwh") not in got  # hour 1 rises: fine
    # an export whose bid is given only hourly, hour 2 missing (it would have no bid there)
    t = _tables()
    t["resources"].append(dict(resource="X1", type="export", bus="a", pmax_mw=10.0))
    t["energy_bids_hourly"] = [dict(resource="X1", hour=1, segment=1, mw=10.0,
                                    price_usd_per_mwh=50.0)]
    with pytest.raises(ScenarioError) as exc:
        make_scenario(t, hours=2)
    (p,) = exc.value.problems
    assert (p.file, p.row, p.column) == ("energy_bids_hourly.csv", 2, "hour")
    assert "without hours 2" in p.found


def test_hourly_tables_round_trip(tmp_path):
    """write -> load gives the same scenario and the same bid in every hour."""
    sc = _market()
    back = load_scenario(write_scenario(sc, tmp_path / "rt"))
    assert back == sc
    for r in ("G1", "G2"):
        for h in (1, 2):
            assert back.bids.energy(r, "supply", h) == sc.bids.energy(r, "supply", h)
            assert back.bids.availability(r, "ru", h) == sc.bids.availability(r, "ru", h)
