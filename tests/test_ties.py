"""Import/export tie limits (issue 19 part 5, spec §5.5): Σ m − Σ ex ≤ TL^imp and
Σ ex − Σ m ≤ TL^exp per tie and hour over the resources `tie_resources.csv` puts on the tie
(network/ties.py), in the IFM, the RUC and the RT run; the checker's `tie_limit` rule; the
loader's tie rules. Hand-solved markets: one BAA, one bus, no branches, mpm off, fixed demand;
numbers worked out in each docstring. Prices are the BAA balance dual (= the LMP of the bus)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from clearing.analysis.check import check_run
from clearing.api import solve
from clearing.market.data import prepare
from clearing.market.ifm import build_ifm
from clearing.results import RunResult
from scenarios import load_scenario, write_scenario
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError

TOL = 1e-6


def _thermal(rid, pmax, *, initial_mw=0.0, long_start=True):
    res = dict(resource=rid, type="thermal", bus="1", pmin_mw=0.0, pmax_mw=pmax,
               ramp_up_mw_per_min=1000.0, ramp_down_mw_per_min=1000.0)
    th = dict(resource=rid, min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=24, initial_mw=initial_mw,
              must_run=long_start, long_start=long_start, fast_start=not long_start)
    return res, th


def _bid(rid, mw, price):
    return dict(resource=rid, segment=1, mw=mw, price_usd_per_mwh=price)


def _imports_case(*, ties: bool = True, import_limit: float = 150.0, rc: bool = False):
    """Hours 1-2, load 280 MW. Imports M1 200 MW @ $15 and M2 100 MW @ $18 on tie T; G1
    (thermal, must-run, Pmin 0) 300 MW @ $30. tie_limits: T import 150 MW in every hour (blank
    hour), and a row for hour 2 with both limits blank: no limit in hour 2.
    `rc`: forecast 300 MW, M1 and M2 15-minute with RCU bids 50 MW @ $1, G1 RCU 100 MW @ $3."""
    g1 = _thermal("G1", 300.0, initial_mw=100.0)
    res = [dict(resource="M1", type="import", bus="1", pmax_mw=200.0, fifteen_minute=rc),
           dict(resource="M2", type="import", bus="1", pmax_mw=100.0, fifteen_minute=rc), g1[0]]
    tables = dict(
        resources=res, thermal=[g1[1]],
        energy_bids=[_bid("M1", 200.0, 15.0), _bid("M2", 100.0, 18.0), _bid("G1", 300.0, 30.0)],
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=t, fixed_demand_mw=280.0) for t in (1, 2)],
        baa_hours=[dict(baa="A", hour=t, demand_forecast_mw=300.0 if rc else 280.0)
                   for t in (1, 2)])
    if rc:
        tables["availability_bids"] = [
            dict(resource="M1", product="rcu", mw=50.0, price_usd_per_mwh=1.0),
            dict(resource="M2", product="rcu", mw=50.0, price_usd_per_mwh=1.0),
            dict(resource="G1", product="rcu", mw=100.0, price_usd_per_mwh=3.0)]
    if ties:
        tables["tie_resources"] = [dict(resource="M1", tie="T"), dict(resource="M2", tie="T")]
        tables["tie_limits"] = [dict(tie="T", import_limit_mw=import_limit),
                                dict(tie="T", hour=2)]
    return make_scenario(tables, name="ties", trade_date="2026-06-01", hours=2,
                         parameters={"mpm_mode": "off"})


def _at(df, resource, hour, col="energy_mw"):
    return float(df[(df["resource"] == resource) & (df["hour"] == hour)][col].iloc[0])


def _lmp(r, hour):
    n = r.nodal_prices
    return float(n[n["hour"] == hour]["lmp"].iloc[0])


def _rows(r, kind):
    bc = r.binding_constraints
    return bc[bc["kind"] == kind].reset_index(drop=True)


@pytest.fixture(scope="module")
def rc_run():
    sc = _imports_case(rc=True)
    return sc, solve(sc)


# --- IFM ------------------------------------------------------------------------------------------
def test_import_limit_curtails_the_cheaper_import_and_the_next_unit_sets_the_price():
    """Hour 1: M1 + M2 ≤ 150. Without the tie the 280 MW come from M1 200 + M2 80 at
    LMP $18 (M2 marginal). With it M1 (cheapest) takes the whole 150, M2 0, G1 130, LMP $30
    (G1, the next unit, marginal). The tie row's shadow price is μ = 30 − 15 = $15/MWh: M1
    (partly dispatched) is worth LMP − μ = its $15 bid; M2 at 0 sees 15 < 18.
    Hour 2 (its row leaves both limits blank): M1 200, M2 80, G1 0, LMP $18, no row.
    IFM objective 150·15 + 130·30 + 200·15 + 80·18 = 2,250 + 3,900 + 3,000 + 1,440 = 10,590
    (8,880 without the tie: 2 × 4,440)."""
    sc = _imports_case()
    r = solve(sc)
    s = r.schedules
    assert [_at(s, x, 1) for x in ("M1", "M2", "G1")] == pytest.approx([150.0, 0.0, 130.0],
                                                                       abs=TOL)
    assert [_at(s, x, 2) for x in ("M1", "M2", "G1")] == pytest.approx([200.0, 80.0, 0.0],
                                                                       abs=TOL)
    assert (_lmp(r, 1), _lmp(r, 2)) == pytest.approx((30.0, 18.0), abs=TOL)
    b = _rows(r, "tie_import")
    assert len(b) == 1 and (b.at[0, "constraint"], int(b.at[0, "hour"])) == ("T", 1)
    assert (b.at[0, "shadow_price"], b.at[0, "flow_mw"], b.at[0, "limit_mw"]) == \
        pytest.approx((15.0, 150.0, 150.0), abs=TOL)
    assert _rows(r, "tie_export").empty
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(10590.0, abs=1e-6)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(10590.0, abs=1e-6)
    v = check_run(sc, r)
    assert v.empty, v.to_string()
    assert not v.attrs["skipped"]  # profit and dual_objective priced the tie row


def test_export_limit_is_one_way_and_nets_the_imports_on_the_tie():
    """One hour, load 100 MW. G1 300 MW @ $10, G2 100 MW @ $35 (both must-run, Pmin 0); on tie
    T: import M3 30 MW @ $5, exports X1 (bid 200 MW @ $40) and X2 (100 MW @ $25). tie_limits:
    T export 120 MW, import limit blank (one-way: no import row).
    Without the tie: G1 300 + M3 30 = 100 + X1 200 + X2 30, X2 marginal: LMP $25.
    With it X1 + X2 − M3 ≤ 120: M3 runs (30, worth LMP + μ ≥ its $5), so the exports take 150:
    X1 150 (the higher bid), X2 0, G1 = 100 + 150 − 30 = 220, LMP $10 (G1 marginal), and X1,
    partly cleared, pays LMP + μ = its $40 bid: μ = $30/MWh; X2 sees 10 + 30 = 40 > 25.
    Net export 150 − 30 = 120 = TL^exp. Objective 30·5 + 220·10 − 150·40 = −3,650
    (−5,600 without the tie)."""
    g1, g2 = _thermal("G1", 300.0), _thermal("G2", 100.0)
    res = [g1[0], g2[0], dict(resource="M3", type="import", bus="1", pmax_mw=30.0),
           dict(resource="X1", type="export", bus="1", pmax_mw=200.0),
           dict(resource="X2", type="export", bus="1", pmax_mw=100.0)]
    tables = dict(
        resources=res, thermal=[g1[1], g2[1]],
        energy_bids=[_bid("G1", 300.0, 10.0), _bid("G2", 100.0, 35.0), _bid("M3", 30.0, 5.0),
                     _bid("X1", 200.0, 40.0), _bid("X2", 100.0, 25.0)],
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=1, fixed_demand_mw=100.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=100.0)],
        tie_resources=[dict(resource=r, tie="T") for r in ("M3", "X1", "X2")],
        tie_limits=[dict(tie="T", export_limit_mw=120.0)])
    sc = make_scenario(tables, name="ties_export", trade_date="2026-06-01", hours=1,
                       parameters={"mpm_mode": "off"})
    r = solve(sc)
    s = r.schedules
    assert [_at(s, x, 1) for x in ("G1", "M3", "X1", "X2")] == \
        pytest.approx([220.0, 30.0, -150.0, 0.0], abs=TOL)
    assert _lmp(r, 1) == pytest.approx(10.0, abs=TOL)
    b = _rows(r, "tie_export")
    assert len(b) == 1
    assert (b.at[0, "shadow_price"], b.at[0, "flow_mw"], b.at[0, "limit_mw"]) == \
        pytest.approx((30.0, 120.0, 120.0), abs=TOL)
    assert _rows(r, "tie_import").empty
    m = build_ifm(prepare(sc)).m
    assert len(m.TIE_EXPORT) == 1 and len(m.TIE_IMPORT) == 0  # the blank import limit: no row
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(-3650.0, abs=1e-6)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


def test_without_tie_tables_nothing_changes():
    """No tie tables: no tie component in the model. A tie whose limit cannot bind (10,000 MW,
    above M1 + M2 = 300 MW) gives the no-table market exactly: M1 200, M2 80 in both hours,
    LMP $18, objective 2 × 4,440 = 8,880, no tie row in binding_constraints."""
    plain = _imports_case(ties=False)
    m = build_ifm(prepare(plain)).m
    assert not hasattr(m, "tie_import") and not hasattr(m, "tie_export")
    a, b = solve(plain), solve(_imports_case(import_limit=10000.0))
    for r in (a, b):
        assert r.manifest["solver"]["objective_mip"] == pytest.approx(8880.0, abs=1e-6)
        assert (_lmp(r, 1), _lmp(r, 2)) == pytest.approx((18.0, 18.0), abs=TOL)
        assert not r.binding_constraints["kind"].astype(str).str.startswith("tie").any()
    cols = ["resource", "hour", "committed", "energy_mw", "rcu_mw", "rcd_mw"]
    pd.testing.assert_frame_equal(a.schedules[cols], b.schedules[cols])
    pd.testing.assert_frame_equal(a.nodal_prices, b.nodal_prices)


# --- RUC ------------------------------------------------------------------------------------------
def test_ruc_holds_the_rcu_of_imports_to_the_tie(rc_run):
    """The imports case with a 20 MW forecast gap (forecast 300 MW, load 280) and RCU bids
    M1, M2 50 MW @ $1 (15-minute imports), G1 100 MW @ $3. The IFM is unchanged (objective
    10,590). RUC schedule r = g + RCU on the tie: hour 1 M1 150 + M2 0 already fill the 150 MW
    limit, so the imports' $1 RCU cannot be used: G1 RCU 20 @ $3, RUC price $3, and the RUC tie
    row's shadow price is 3 − 1 = $2. Hour 2 (no limit): M1 is at its 200 MW Pmax, M2 at 80 of
    100: M2 RCU 20 @ $1, RUC price $1. RUC objective 20·3 + 20·1 = $80."""
    sc, r = rc_run
    s = r.schedules
    assert r.manifest["solver"]["objective_mip"] == pytest.approx(10590.0, abs=1e-6)
    assert [_at(s, x, 1, "rcu_mw") for x in ("M1", "M2", "G1")] == \
        pytest.approx([0.0, 0.0, 20.0], abs=TOL)
    assert [_at(s, x, 2, "rcu_mw") for x in ("M1", "M2", "G1")] == \
        pytest.approx([0.0, 20.0, 0.0], abs=TOL)
    assert r.manifest["ruc"]["objective_mip"] == pytest.approx(80.0, abs=1e-6)
    assert list(r.baa_prices.sort_values("hour")["ruc_price"]) == pytest.approx([3.0, 1.0])
    b = _rows(r, "tie_import_ruc")
    assert len(b) == 1 and int(b.at[0, "hour"]) == 1
    assert (b.at[0, "shadow_price"], b.at[0, "flow_mw"], b.at[0, "limit_mw"]) == \
        pytest.approx((2.0, 150.0, 150.0), abs=TOL)
    v = check_run(sc, r)
    assert v.empty, v.to_string()


# --- RT -------------------------------------------------------------------------------------------
def test_rt_run_holds_the_fifteen_minute_schedules_to_the_hour_limit(tmp_path):
    """Phase 3, one hour. M1 (15-minute import, 200 MW @ $15, IRU bid 30 MW @ $0) on tie T
    with import limit 150 MW in hour 1; G1 300 MW @ $30, short-start (re-dispatched over its
    range in RT). DA: load 280, IRU requirement 30: M1 150 (the tie), IRU 30 (AS/IR do not
    count against the tie), G1 130, LMP $30, tie shadow 30 − 15 = $15.
    RT load 300 MW in each interval: M1's RT range is [DAEN, DAEN + IRU] = [150, 180], but the
    tie row holds it at 150, so G1 takes the extra 20 MW: G1 150, RT LMP $30, the RT tie row
    binds in every interval at $15 (without the row M1 would run at 180 and G1 at 120)."""
    g1 = _thermal("G1", 300.0, initial_mw=130.0, long_start=False)
    tables = dict(
        resources=[dict(resource="M1", type="import", bus="1", pmax_mw=200.0,
                        fifteen_minute=True), g1[0]],
        thermal=[g1[1]], energy_bids=[_bid("M1", 200.0, 15.0), _bid("G1", 300.0, 30.0)],
        availability_bids=[dict(resource="M1", product="iru", mw=30.0, price_usd_per_mwh=0.0)],
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=1, fixed_demand_mw=280.0)],
        baa_hours=[dict(baa="A", hour=1, demand_forecast_mw=280.0, iru_requirement_mw=30.0)],
        tie_resources=[dict(resource="M1", tie="T")],
        tie_limits=[dict(tie="T", hour=1, import_limit_mw=150.0)])
    sc = make_scenario(tables, name="ties_rt", trade_date="2026-06-01", hours=1,
                       parameters={"mpm_mode": "off", "phase": 3})
    path = write_scenario(sc, tmp_path / "ties_rt")
    (path / "rt").mkdir()
    pd.DataFrame({"baa": "A", "hour": 1, "interval": [1, 2, 3, 4], "demand_mw": 300.0}).to_csv(
        path / "rt" / "demand_forecast.csv", index=False)
    sc = load_scenario(path)
    r = solve(sc)
    s = r.schedules
    assert (_at(s, "M1", 1), _at(s, "M1", 1, "iru_mw"), _at(s, "G1", 1)) == \
        pytest.approx((150.0, 30.0, 130.0), abs=TOL)
    rs = r.rt_schedules.sort_values(["resource", "interval"])
    np.testing.assert_allclose(rs[rs["resource"] == "M1"]["energy_mw"], [150.0] * 4, atol=TOL)
    np.testing.assert_allclose(rs[rs["resource"] == "M1"]["uel_mw"], [180.0] * 4, atol=TOL)
    np.testing.assert_allclose(rs[rs["resource"] == "G1"]["energy_mw"], [150.0] * 4, atol=TOL)
    np.testing.assert_allclose(r.rt_prices.sort_values("interval")["lmp"], [30.0] * 4, atol=TOL)
    b = r.rt_binding_constraints
    b = b[b["kind"] == "tie_import"].sort_values("interval")
    assert list(b["interval"]) == [1, 2, 3, 4] and set(b["constraint"]) == {"T"}
    np.testing.assert_allclose(b["shadow_price"], [15.0] * 4, atol=TOL)
    np.testing.assert_allclose(b["flow_mw"], [150.0] * 4, atol=TOL)
    np.testing.assert_allclose(b["limit_mw"], [150.0] * 4, atol=TOL)


# --- the checker ----------------------------------------------------------------------------------
def _copy(run: RunResult) -> RunResult:
    return RunResult(tables={k: v.copy() for k, v in run.tables.items()},
                     manifest=copy.deepcopy(run.manifest))


def _set(run, resource, hour, **values):
    s = run.tables["schedules"]
    m = (s["resource"] == resource) & (s["hour"] == hour)
    for k, v in values.items():
        s.loc[m, k] = v


def test_checker_flags_a_schedule_over_the_tie_limit(rc_run):
    """Moving 20 MW of hour 1 from G1 to M1 (balance kept) puts the IFM net import at
    170 > 150; 10 MW of RCU on M1 in hour 1 (with G1's RCU cut to 10) puts the RUC schedule's
    net import at 150 + 10 = 160 > 150."""
    sc, run = rc_run
    bad = _copy(run)
    _set(bad, "M1", 1, energy_mw=170.0)
    _set(bad, "G1", 1, energy_mw=110.0)
    v = check_run(sc, bad)
    t = v[v["rule"] == "tie_limit"]
    assert len(t) >= 1, v.to_string()
    ifm = t[t["message"].str.startswith("IFM")].iloc[0]
    assert (ifm["id"], int(ifm["hour"]), ifm["kind"]) == ("T", 1, "tie")
    assert (ifm["amount"], ifm["limit"]) == pytest.approx((170.0, 150.0))
    bad = _copy(run)
    _set(bad, "M1", 1, rcu_mw=10.0)
    _set(bad, "G1", 1, rcu_mw=10.0)
    t = check_run(sc, bad)
    t = t[t["rule"] == "tie_limit"]
    assert len(t) == 1 and t.iloc[0]["message"].startswith("RUC net import 160")
    assert (t.iloc[0]["amount"], t.iloc[0]["limit"]) == pytest.approx((160.0, 150.0))


def test_checker_needs_the_published_tie_shadow_price(rc_run):
    """Without the tie rows of binding_constraints the checker prices the imports of hour 1
    at LMP $30 instead of LMP − μ = $15: M1 has 50 MW of its $15 bid unsold (a gain of
    50 × (30 − 15) = $750, `profit`; M2 likewise), and its RCU looks worth 3 − 1 = $2 at the
    RUC price (the RC side of `profit`). The rebuilt dual objective loses the tie term
    −μ·TL = −15 × 150 (+$2,250) and counts the imports' best hour-1 profits at $30 (M1
    200 × 15 = $3,000, M2 100 × 12 = $1,200) instead of 0: off by 2,250 − 4,200 = −$1,950."""
    sc, run = rc_run
    bad = _copy(run)
    bc = bad.tables["binding_constraints"]
    bad.tables["binding_constraints"] = bc[~bc["kind"].astype(str).str.startswith("tie")]
    v = check_run(sc, bad)
    p = v[(v["rule"] == "profit") & (v["id"] == "M1")]
    assert len(p) == 2, v.to_string()  # the energy side and the RC side
    energy = p[~p["message"].str.startswith("RC")].iloc[0]
    assert energy["amount"] - energy["limit"] == pytest.approx(750.0, abs=1e-4)
    d = v[v["rule"] == "dual_objective"]
    assert len(d) == 1 and d.iloc[0]["amount"] - d.iloc[0]["limit"] == pytest.approx(-1950.0,
                                                                                      abs=1e-3)


# --- the loader -----------------------------------------------------------------------------------
def _load_with(tmp_path, files: dict[str, str]):
    path = write_scenario(_imports_case(), tmp_path / "s")
    for name, text in files.items():
        (path / name).write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    return e.value.problems


def test_loader_rejects_a_tie_resource_that_is_no_import_or_export(tmp_path):
    ps = _load_with(tmp_path, {"tie_resources.csv": "resource,tie\nM1,T\nG1,T\n"})
    assert [(p.file, p.row, p.column) for p in ps] == [("tie_resources.csv", 3, "resource")]
    assert "'G1' of type thermal" in ps[0].found and ps[0].expected == \
        "an import or export resource"


def test_loader_rejects_a_limit_for_an_unknown_tie(tmp_path):
    ps = _load_with(tmp_path, {"tie_limits.csv": "tie,hour,import_limit_mw\nT,,150\nU,1,10\n"})
    assert [(p.file, p.row, p.column) for p in ps] == [("tie_limits.csv", 3, "tie")]
    assert ps[0].expected == "an id listed in tie_resources.csv"


def test_loader_rejects_limits_below_the_self_schedules(tmp_path):
    """M1 self-schedules 160 MW in hour 1 on T (no export on the tie): the 150 MW import limit
    of the blank-hour row (CSV row 2) cannot hold it. Hour 2's own row has no limit."""
    ps = _load_with(tmp_path, {"resource_hours.csv": "resource,hour,self_schedule_mw\nM1,1,160\n"
                                                     "M1,2,160\n"})
    assert [(p.file, p.row, p.column) for p in ps] == [("tie_limits.csv", 2, "import_limit_mw")]
    assert "tie 'T' in hour 1" in ps[0].found and "160" in ps[0].found
    assert ps[0].expected.startswith("a limit >= 160 MW")


# --- a small seeded random check ------------------------------------------------------------------
def _random_market(seed: int):
    """One bus, two hours: a must-run thermal backstop G (500 MW @ $20-60), 2-4 imports and 1-2
    exports with random one-segment bids, spread over two ties with random (sometimes blank)
    import/export limits, load 150-300 MW."""
    rng = np.random.default_rng(seed)
    g = _thermal("G", 500.0)
    res, bids, members = [g[0]], [_bid("G", 500.0, float(rng.integers(20, 60)))], []
    for i in range(int(rng.integers(2, 5))):
        mw = float(rng.integers(20, 150))
        res.append(dict(resource=f"M{i}", type="import", bus="1", pmax_mw=mw))
        bids.append(_bid(f"M{i}", mw, float(rng.integers(5, 50))))
        members.append(dict(resource=f"M{i}", tie=f"T{i % 2}"))
    for i in range(int(rng.integers(1, 3))):
        mw = float(rng.integers(50, 200))
        res.append(dict(resource=f"X{i}", type="export", bus="1", pmax_mw=mw))
        bids.append(_bid(f"X{i}", mw, float(rng.integers(20, 90))))
        members.append(dict(resource=f"X{i}", tie=f"T{1 - i % 2}"))
    lim = lambda: float(rng.integers(0, 100)) if rng.random() < 0.7 else float("inf")  # noqa: E731
    limits = [dict(tie=k, hour=h, import_limit_mw=lim(), export_limit_mw=lim())
              for k in ("T0", "T1") for h in (0, 2) if h == 0 or rng.random() < 0.5]
    tables = dict(
        resources=res, thermal=[g[1]], energy_bids=bids,
        baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="1", baa="A")],
        demand=[dict(bus="1", hour=t, fixed_demand_mw=float(rng.integers(150, 300)))
                for t in (1, 2)],
        baa_hours=[dict(baa="A", hour=t, demand_forecast_mw=0.0) for t in (1, 2)],
        tie_resources=members, tie_limits=limits)
    return make_scenario(tables, name=f"ties_random_{seed}", trade_date="2026-06-01", hours=2,
                         parameters={"mpm_mode": "off", "run_ruc": False})


@pytest.mark.parametrize("seed", range(6))
def test_random_tie_markets_pass_the_checker(seed):
    """Each market clears within its tie limits (`tie_limit`) and its published prices, tie
    shadow prices included, support every schedule and rebuild the objective (`profit`,
    `dual_objective`, not skipped). Seeds 0-5: import rows bind in four markets, export rows
    in two, nothing binds in one."""
    sc = _random_market(seed)
    r = solve(sc)
    v = check_run(sc, r)
    assert v.empty, v.to_string()
    assert not [x for x in v.attrs["skipped"] if x.startswith(("profit", "dual_objective"))]


def test_rc_profit_with_mode_binaries_does_not_price_an_idle_mode():
    """Random-market finding (issue 16): with `rc_exclusivity_binary` each resource bidding RCU
    and RCD has a mode binary that the pricing LP fixes; where the resource holds neither award,
    the row of its fixed mode and any other row holding the award at 0 (here a binding RUC tie
    row) share one dual, so the published tie price may be 0 and the RUC price look unearned.

    One BAA, hour 1 (hour 2 unlimited, as in `_imports_case`): load 280, forecast 300; imports
    M1 200 MW @ $15, M2 100 MW @ $18 on tie T (import limit 150), G1 300 MW @ $30; M1 bids RCU
    50 MW @ $1 and RCD 50 MW @ $1, nothing else bids RC. Hour 1: M1 150 (tie full), G1 130;
    the RUC gap of 20 MW cannot come from M1 (tie) and is relaxed at $1,000; M1 holds no RC.
    The run passes the checker. With the published RUC tie rows removed, the checker cannot
    tell why M1 holds no RCU at $1,000: it flags M1 when the mode binaries are off, and not
    when they are on (M1's mode may be the one holding it)."""
    sc = _imports_case(rc=True)
    sc.tables["availability_bids"] = pd.DataFrame([
        dict(resource="M1", product="rcu", mw=50.0, price_usd_per_mwh=1.0, iso_inserted=False),
        dict(resource="M1", product="rcd", mw=50.0, price_usd_per_mwh=1.0, iso_inserted=False)])
    sc = make_scenario({k: v for k, v in sc.tables.items() if v is not None and len(v)},
                       name="ties", trade_date="2026-06-01", hours=2,
                       parameters={"mpm_mode": "off", "rc_exclusivity_binary": True})
    r = solve(sc)
    assert _at(r.schedules, "M1", 1) == pytest.approx(150.0, abs=TOL)
    assert _at(r.schedules, "M1", 1, "rcu_mw") == pytest.approx(0.0, abs=TOL)
    rel = r.relaxations.set_index(["requirement", "hour"])["relaxed_mw"]
    assert rel[("ruc_under", 1)] == pytest.approx(20.0, abs=TOL)
    assert check_run(sc, r).empty
    bc = r.tables["binding_constraints"]
    r.tables["binding_constraints"] = bc[~bc["kind"].str.endswith("_ruc")].reset_index(drop=True)
    assert check_run(sc, r).query("rule == 'profit'").empty
    r.manifest["parameters"]["rc_exclusivity_binary"] = False
    flagged = check_run(sc, r).query("rule == 'profit'")
    assert list(flagged["id"]) == ["M1"]
