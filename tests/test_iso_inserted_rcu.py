"""ISO-inserted RCU bids and proxy awards (issue 19 part 2; spec §5.11, §8.2).

An RA resource (`resources.must_offer_ra`) or a certified VER (`resources.rc_certified`) without
an RCU bid in an hour gets one from the bid lookup (scenarios/bids.py): Pmax_t MW (a VER's
forecast) at `iso_inserted_rcu_bid_usd_per_mwh` (default $0), flagged `iso_inserted`. Its RUC
awards are proxy awards (`schedules.rcu_proxy`), never no-paid in settlement.

The hand-solved market (`_market`): one BAA "A", one bus, two hours, no network. Thermal units,
all Pmin 0, on at hour 0, no ramp limits, no min-load or start-up costs:

| unit | RA  | Pmax | energy offer | RCU bid                      |
|------|-----|------|--------------|------------------------------|
| G1   | no  | 300  | $20          | none                         |
| RA1  | yes | 100  | $50          | none (the ISO inserts one)   |
| B1   | no  | 100  | $60          | its own: 50 MW at $7         |
| N1   | no  | 100  | $55          | none                         |

Fixed demand 150 MW and demand forecast 270 MW in both hours. IFM: G1, the cheapest, serves the
150 MW at LMP $20 (headroom 150 MW, but no RCU bid: the RUC cannot use it). RUC: a 270 − 150 =
120 MW shortfall; the RC bids are RA1's inserted 100 MW at $0 and B1's 50 MW at $7 (N1 has
none), so RA1 gets 100 MW, B1 the remaining 20 MW, and B1 is marginal: RCUMP = $7 at the one
bus. The RUC's RC cost is 100·0 + 20·7 = $140 an hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clearing.analysis.check import check_run
from clearing.analysis.settle import SETTLEMENT_INPUT_COLUMNS, settle
from clearing.api import solve
from clearing.market.mpm import mitigate_bids
from clearing.market.rse import rse_capability
from scenarios.bids import bid_book
from scenarios.build import make_scenario

HOURS = (1, 2)
FORECAST_MW = 270.0
DEMAND_MW = 150.0


def _unit(rid: str, pmax: float, offer: float, ra: bool = False) -> tuple[dict, dict, dict]:
    return (dict(resource=rid, type="thermal", bus="a", pmin_mw=0.0, pmax_mw=pmax,
                 must_offer_ra=ra),
            dict(resource=rid, initial_on=True, initial_mw=0.0, min_up_h=1, min_down_h=1),
            dict(resource=rid, segment=1, mw=pmax, price_usd_per_mwh=offer))


def _tables(hourly: list[dict] | None = None) -> dict:
    units = [_unit("G1", 300.0, 20.0), _unit("RA1", 100.0, 50.0, ra=True),
             _unit("B1", 100.0, 60.0), _unit("N1", 100.0, 55.0)]
    t = dict(
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="a", baa="A")],
        branches=pd.DataFrame(columns=["branch", "from_bus", "to_bus", "reactance_pu",
                                       "rating_mw"]),
        interfaces=pd.DataFrame(columns=["interface", "from_baa", "to_baa"]),
        interface_hours=pd.DataFrame(columns=["interface", "hour", "limit_mw"]),
        resources=[u[0] for u in units], thermal=[u[1] for u in units],
        energy_bids=[u[2] for u in units],
        availability_bids=[dict(resource="B1", product="rcu", mw=50.0, price_usd_per_mwh=7.0)],
        demand=[dict(bus="a", hour=h, fixed_demand_mw=DEMAND_MW) for h in HOURS],
        baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=FORECAST_MW) for h in HOURS],
    )
    if hourly:
        t["availability_bids_hourly"] = hourly
    return t


def _market(hourly: list[dict] | None = None, **params):
    return make_scenario(_tables(hourly), name="proxy", trade_date="2026-06-01",
                         hours=len(HOURS), parameters={"mpm_mode": "off", **params})


def _sched(run) -> pd.DataFrame:
    return run.tables["schedules"].set_index(["resource", "hour"])


@pytest.fixture(scope="module")
def base():
    sc = _market()
    return sc, solve(sc)


# --- the bid lookup ------------------------------------------------------------------------------
def test_ra_unit_without_rcu_bid_gets_an_inserted_bid_others_do_not():
    """RA1 (RA, no RCU bid): 100 MW (its Pmax) at $0, iso_inserted, in each hour. B1 keeps its
    own 50 MW at $7 (not iso_inserted); G1 and N1 (not RA, no bid) have none; no RCD bid is
    inserted."""
    book = _market().bids
    for h in HOURS:
        got = book.availability("RA1", "rcu", h)
        assert (got.mw, got.price_usd_per_mwh, got.iso_inserted) == (100.0, 0.0, True)
        assert book.inserted_by_engine("RA1", "rcu", h)
        own = book.availability("B1", "rcu", h)
        assert (own.mw, own.price_usd_per_mwh, own.iso_inserted) == (50.0, 7.0, False)
        assert not book.inserted_by_engine("B1", "rcu", h)
        assert book.availability("G1", "rcu", h) is None
        assert book.availability("N1", "rcu", h) is None
        assert book.availability("RA1", "rcd", h) is None
    ins = book.inserted_frame()
    assert list(zip(ins["resource"], ins["hour"], ins["product"])) == [("RA1", 1, "rcu"),
                                                                        ("RA1", 2, "rcu")]


def test_certified_ver_gets_its_forecast_and_the_type_rules():
    """A certified VER W1 with forecast 40 / 0 MW (resource_hours) gets 40 MW in hour 1 and
    nothing in hour 2 (Pmax_t = 0); an uncertified VER W2 nothing; an RA import that is not
    15-minute dispatchable (it cannot hold RC) nothing, a 15-minute one its Pmax 80; an RA
    unit derated to 60 MW in hour 2 gets 100 MW, then 60 MW; an RA unit whose 0 MW hourly row
    (the SC offers nothing) is in force in hour 1 gets one there, but its day bid of 30 MW at
    $4 stands in hour 2 (not topped up to Pmax). Price: the parameter, here $12."""
    res = pd.DataFrame([
        dict(resource="W1", type="ver", pmax_mw=100.0, must_offer_ra=False, rc_certified=True,
             fifteen_minute=False),
        dict(resource="W2", type="ver", pmax_mw=100.0, must_offer_ra=False, rc_certified=False,
             fifteen_minute=False),
        dict(resource="M1", type="import", pmax_mw=80.0, must_offer_ra=True, rc_certified=False,
             fifteen_minute=False),
        dict(resource="M2", type="import", pmax_mw=80.0, must_offer_ra=True, rc_certified=False,
             fifteen_minute=True),
        dict(resource="D1", type="thermal", pmax_mw=100.0, must_offer_ra=True,
             rc_certified=False, fifteen_minute=False),
        dict(resource="Z1", type="hydro", pmax_mw=90.0, must_offer_ra=True, rc_certified=False,
             fifteen_minute=False)])
    tables = dict(
        resources=res,
        resource_hours=pd.DataFrame([dict(resource="W1", hour=1, pmax_mw=40.0),
                                     dict(resource="W1", hour=2, pmax_mw=0.0),
                                     dict(resource="D1", hour=2, pmax_mw=60.0)]),
        availability_bids=pd.DataFrame([dict(resource="Z1", product="rcu", mw=30.0,
                                             price_usd_per_mwh=4.0, iso_inserted=False)]),
        availability_bids_hourly=pd.DataFrame([dict(resource="Z1", hour=1, product="rcu",
                                                    mw=0.0, price_usd_per_mwh=9.0,
                                                    iso_inserted=False)]))
    book = bid_book(tables, 2, 12.0)

    def mw(r, h):
        got = book.availability(r, "rcu", h)
        return None if got is None else (got.mw, got.price_usd_per_mwh, got.iso_inserted)
    assert [mw("W1", 1), mw("W1", 2)] == [(40.0, 12.0, True), None]
    assert [mw("W2", 1), mw("M1", 1)] == [None, None]
    assert [mw("M2", 1), mw("D1", 1), mw("D1", 2)] == [(80.0, 12.0, True), (100.0, 12.0, True),
                                                       (60.0, 12.0, True)]
    assert [mw("Z1", 1), mw("Z1", 2)] == [(90.0, 12.0, True), (30.0, 4.0, False)]


def test_an_hourly_bid_suppresses_insertion_in_its_hour_only():
    """RA1 bids RCU itself in hour 2 only (100 MW at $3): hour 2 holds its bid, hour 1 the
    inserted one."""
    book = _market([dict(resource="RA1", hour=2, product="rcu", mw=100.0,
                         price_usd_per_mwh=3.0)]).bids
    h1, h2 = book.availability("RA1", "rcu", 1), book.availability("RA1", "rcu", 2)
    assert (h1.mw, h1.price_usd_per_mwh, h1.iso_inserted) == (100.0, 0.0, True)
    assert (h2.mw, h2.price_usd_per_mwh, h2.iso_inserted) == (100.0, 3.0, False)
    assert not book.inserted_by_engine("RA1", "rcu", 2)


# --- the market ----------------------------------------------------------------------------------
def test_ra_unit_is_awarded_rcu_as_a_proxy_award(base):
    """The module docstring's RUC: RA1 100 MW (proxy), B1 20 MW (its own bid: not proxy), G1
    and N1 0 (no bid); RCUMP $7; RC cost $140 an hour."""
    sc, run = base
    s = _sched(run)
    rp = run.tables["resource_prices"].set_index(["resource", "hour"])
    for h in HOURS:
        assert s.at[("G1", h), "energy_mw"] == pytest.approx(DEMAND_MW, abs=1e-6)
        assert s.at[("RA1", h), "rcu_mw"] == pytest.approx(100.0, abs=1e-6)
        assert s.at[("B1", h), "rcu_mw"] == pytest.approx(20.0, abs=1e-6)
        assert s.at[("G1", h), "rcu_mw"] == 0.0 and s.at[("N1", h), "rcu_mw"] == 0.0
        assert bool(s.at[("RA1", h), "rcu_proxy"])
        assert not bool(s.at[("B1", h), "rcu_proxy"])
        assert not s.loc[[("G1", h), ("N1", h)], "rcu_proxy"].any()
        assert not s["rcd_proxy"].any()
        assert rp.at[("RA1", h), "rcu_usd_per_mwh"] == pytest.approx(7.0, abs=1e-6)
    assert s.loc[[(r, h) for r in ("RA1", "B1") for h in HOURS], "rcu_mw"].mul(
        [0.0, 0.0, 7.0, 7.0]).sum() == pytest.approx(2 * 140.0, abs=1e-6)


def test_without_ra_the_unit_gets_nothing_and_the_gap_is_relaxed():
    """RA1 not RA: its RCU bid is gone, so B1's 50 MW is all the RC there is: B1 50 MW, RA1 0,
    and 120 − 50 = 70 MW of the forecast go unmet (relaxation ruc_under) in each hour."""
    t = _tables()
    t["resources"] = [dict(r, must_offer_ra=False) for r in t["resources"]]
    run = solve(make_scenario(t, hours=len(HOURS), parameters=dict(mpm_mode="off")))
    s = _sched(run)
    rel = run.tables["relaxations"]
    for h in HOURS:
        assert s.at[("RA1", h), "rcu_mw"] == 0.0 and not bool(s.at[("RA1", h), "rcu_proxy"])
        assert s.at[("B1", h), "rcu_mw"] == pytest.approx(50.0, abs=1e-6)
        under = rel[(rel["requirement"] == "ruc_under") & (rel["hour"] == h)]
        assert float(under["relaxed_mw"].sum()) == pytest.approx(70.0, abs=1e-6)


def test_the_parameter_sets_the_inserted_price():
    """At iso_inserted_rcu_bid_usd_per_mwh = $10, RA1's inserted bid (100 MW at $10) is dearer
    than B1's (50 MW at $7): B1 takes 50 MW, RA1 the other 70 MW (proxy) and is marginal,
    RCUMP = $10."""
    run = solve(_market(iso_inserted_rcu_bid_usd_per_mwh=10.0))
    s = _sched(run)
    rp = run.tables["resource_prices"].set_index(["resource", "hour"])
    for h in HOURS:
        assert s.at[("B1", h), "rcu_mw"] == pytest.approx(50.0, abs=1e-6)
        assert s.at[("RA1", h), "rcu_mw"] == pytest.approx(70.0, abs=1e-6)
        assert bool(s.at[("RA1", h), "rcu_proxy"])
        assert rp.at[("B1", h), "rcu_usd_per_mwh"] == pytest.approx(10.0, abs=1e-6)


def test_an_hourly_own_bid_makes_that_hour_s_award_not_proxy():
    """RA1 bids RCU itself in hour 2 (100 MW at $3): hour 1 as in the base case (RA1 100 MW
    proxy at $0); hour 2: RA1 100 MW at $3 then B1 20 MW at $7, RA1's award is its own (not
    proxy)."""
    run = solve(_market([dict(resource="RA1", hour=2, product="rcu", mw=100.0,
                              price_usd_per_mwh=3.0)]))
    s = _sched(run)
    assert s.at[("RA1", 1), "rcu_mw"] == pytest.approx(100.0, abs=1e-6)
    assert s.at[("RA1", 2), "rcu_mw"] == pytest.approx(100.0, abs=1e-6)
    assert bool(s.at[("RA1", 1), "rcu_proxy"]) and not bool(s.at[("RA1", 2), "rcu_proxy"])
    assert s.at[("B1", 2), "rcu_mw"] == pytest.approx(20.0, abs=1e-6)


# --- settlement ----------------------------------------------------------------------------------
def _inputs(sc, run, uel: dict) -> pd.DataFrame:
    """Settlement inputs: blank (as scheduled) but fmm_uel_mw of `uel` {(resource, hour): MW}."""
    rows = [dict(resource=r, hour=h, **{c: np.nan for c in SETTLEMENT_INPUT_COLUMNS})
            for (r, h) in uel]
    for row, v in zip(rows, uel.values()):
        row["fmm_uel_mw"] = v
    return pd.DataFrame(rows)


def test_proxy_award_is_exempt_from_no_pay(base):
    """Hour 1, FMMUEL below the stacks (DAEN 0, no AS/IR): RA1 60 MW, excess 0 + 100 − 60 =
    40 MW; B1 0 MW, excess 0 + 20 − 0 = 20 MW. RCU no-pay quantity = min(RCU, excess) (§8.2):
    B1 min(20, 20) = 20 MW × RCUMP $7 = $140 no-pay; RA1 would owe min(100, 40) = 40 MW, but its
    award is a proxy award: 0. Award payments: RA1 100 × $7 = $700, B1 20 × $7 − 140 = $0."""
    sc, run = base
    result = settle(sc, run, _inputs(sc, run, {("RA1", 1): 60.0, ("B1", 1): 0.0}))
    tab = result.table
    nopay = tab[tab["charge"] == "rcu_no_pay"].set_index(["resource", "hour"])["amount_usd"]
    assert nopay.get(("B1", 1), 0.0) == pytest.approx(-140.0, abs=1e-6)
    assert nopay.get(("RA1", 1), 0.0) == 0.0
    award = tab[tab["charge"] == "rcu_award"].set_index(["resource", "hour"])["amount_usd"]
    assert award[("RA1", 1)] == pytest.approx(700.0, abs=1e-6)
    assert award[("B1", 1)] == pytest.approx(140.0, abs=1e-6)
    d = result.details["resources"]
    d = d[d["product"] == "rcu"].set_index(["resource", "hour"])
    assert bool(d.at[("RA1", 1), "proxy"]) and not bool(d.at[("B1", 1), "proxy"])
    assert d.at[("RA1", 1), "stack_excess_mw"] == pytest.approx(40.0, abs=1e-6)
    assert d.at[("RA1", 1), "no_pay_mw"] == 0.0
    assert d.at[("B1", 1), "no_pay_mw"] == pytest.approx(20.0, abs=1e-6)


def test_settlement_uses_the_run_s_proxy_flags(base):
    """RA1's FMMUEL 60 MW as above, with its `schedules.rcu_proxy` cleared in hour 1:
    settlement takes the run's record, so RA1 now owes min(100, 40) = 40 MW × RCUMP $7 = $280
    no-pay."""
    sc, run = base
    tables = dict(run.tables)
    sch = tables["schedules"].copy()
    sch.loc[(sch["resource"] == "RA1") & (sch["hour"] == 1), "rcu_proxy"] = False
    tables["schedules"] = sch
    result = settle(sc, tables, _inputs(sc, run, {("RA1", 1): 60.0}))
    tab = result.table
    nopay = tab[tab["charge"] == "rcu_no_pay"].set_index(["resource", "hour"])["amount_usd"]
    assert nopay.get(("RA1", 1), 0.0) == pytest.approx(-280.0, abs=1e-6)


# --- checker -------------------------------------------------------------------------------------
def test_checker_passes_the_run_and_sees_the_inserted_bid(base):
    """The solved run passes every rule (award_bid and the RC profit rule read RA1's inserted
    100 MW at $0); RA1 at 120 MW breaks award_bid against the inserted 100 MW."""
    sc, run = base
    v = check_run(sc, run)
    assert v.empty, v.to_string()
    tables = dict(run.tables)
    sch = tables["schedules"].copy()
    sch.loc[(sch["resource"] == "RA1") & (sch["hour"] == 2), "rcu_mw"] = 120.0
    tables["schedules"] = sch
    v = check_run(sc, type(run)(tables=tables, manifest=run.manifest))
    hit = v[(v["rule"] == "award_bid") & (v["id"] == "RA1")]
    assert list(hit["hour"]) == [2]
    assert (float(hit["amount"].iloc[0]), float(hit["limit"].iloc[0])) == (120.0, 100.0)


def test_checker_uses_the_run_s_inserted_price(base):
    """A run solved at $10 (test_the_parameter_sets_the_inserted_price) checked against the
    scenario at the default $0: the checker takes the run's parameter from the manifest, so
    the RC profit rule (RA1 at $10 marginal) passes."""
    sc, _ = base
    run = solve(sc, overrides=dict(iso_inserted_rcu_bid_usd_per_mwh=10.0))
    v = check_run(sc, run)
    assert v.empty, v.to_string()


def test_checker_flags_wrong_proxy_flags(base):
    """rc_proxy: RA1 hour 1 flagged false (its 100 MW clears an inserted bid) and B1 hour 2
    flagged true (its own bid) both fire; G1 hour 1 flagged true without an award fires."""
    sc, run = base
    tables = dict(run.tables)
    sch = tables["schedules"].copy()
    for r, h, v in (("RA1", 1, False), ("B1", 2, True), ("G1", 1, True)):
        sch.loc[(sch["resource"] == r) & (sch["hour"] == h), "rcu_proxy"] = v
    tables["schedules"] = sch
    v = check_run(sc, type(run)(tables=tables, manifest=run.manifest))
    hit = v[v["rule"] == "rc_proxy"]
    assert sorted(zip(hit["id"], hit["hour"])) == [("B1", 2), ("G1", 1), ("RA1", 1)]


# --- MPM and RSE ---------------------------------------------------------------------------------
def test_cap_all_mitigates_an_inserted_bid_above_dab():
    """cap_all with DAB $5 and inserted price $10: RA1's inserted bids become hourly rows at $5
    (the mitigation table says so, iso_inserted); B1's $7 own bid is mitigated to $5 too."""
    sc = _market(mpm_mode="cap_all", iso_inserted_rcu_bid_usd_per_mwh=10.0,
                 ir_rc_default_availability_bid_usd_per_mwh=5.0)
    new, mit = mitigate_bids(sc)
    mit = mit.set_index(["resource", "product"])
    assert sorted(mit.index) == [("B1", "rcu"), ("RA1", "rcu")]
    assert bool(mit.at[("RA1", "rcu"), "iso_inserted"])
    assert mit.at[("RA1", "rcu"), "original_price_usd_per_mwh"] == 10.0
    for h in HOURS:
        got = new.bids.availability("RA1", "rcu", h)
        assert (got.mw, got.price_usd_per_mwh, got.iso_inserted) == (100.0, 5.0, True)
        assert new.bids.availability("B1", "rcu", h).price_usd_per_mwh == 5.0


def test_rse_capability_does_not_count_rcu_bids():
    """RSE §7.1 counts energy offers and AS/IR bids: the same capability with RA1 RA (an
    inserted RCU bid) as without."""
    t = _tables()
    t["resources"] = [dict(r, must_offer_ra=False) for r in t["resources"]]
    plain = make_scenario(t, hours=len(HOURS), parameters=dict(mpm_mode="off"))
    pd.testing.assert_frame_equal(rse_capability(_market()), rse_capability(plain))


def test_rc_certified_stays_out_of_the_input_hash_while_unused():
    """`resources.rc_certified` came after scenarios existed: while every row holds its default
    (false) the input hash is the one the scenario had without the column (SHA-256 of the
    header line and each table's CSV, that column dropped), so run ids and the phase-3 RT seed
    of existing scenarios stay as they were; marking a unit certified changes the hash."""
    import hashlib

    from scenarios.schema import TABLES
    sc = _market()
    h = hashlib.sha256()
    h.update(f"{sc.name}|{sc.trade_date}|{sc.hours}|{sc.reference_bus}".encode())
    for t in TABLES:
        if t.name in sc.tables:
            df = sc.tables[t.name]
            if t.name == "resources":
                df = df.drop(columns=["rc_certified"])
            if t.name == "branches":   # resistance_pu (marginal losses) came later too
                df = df.drop(columns=["resistance_pu"], errors="ignore")
            h.update(t.name.encode())
            h.update(df.to_csv(index=False, lineterminator="\n").encode())
    assert sc.input_hash() == h.hexdigest()
    assert sc.edit("resources", where={"resource": "G1"}, set={"rc_certified": True}
                   ).input_hash() != sc.input_hash()
