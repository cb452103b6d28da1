"""Day sample and stressed variants (benchmarks/days.py, benchmarks/stress.py) and the harness
additions of issue 20 (day:/scenario: cases, IFM/RUC stage split, --seeds spread). A two-BAA,
two-hour market built here; one RTS-GMLC day imported (no solve); two tiny subprocess runs."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import __main__ as bench
from benchmarks import days
from benchmarks.stress import (apply_variants, largest_thermal_units, load120, parse_variants,
                               ratings_half, stressed, units_out)
from scenarios.build import make_scenario


def _gen(r: str, bus: str, pmax: float, price: float) -> tuple[dict, dict, dict]:
    return (dict(resource=r, type="thermal", bus=bus, pmin_mw=0.0, pmax_mw=pmax),
            dict(resource=r, min_up_h=1, min_down_h=1),
            dict(resource=r, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price))


def _market():
    """BAA A (buses A1, A2): thermal GA1 250 MW, GA2 200, GA3 200, GA4 150 (800 MW of thermal);
    a price-sensitive demand PSD_A at A1 bidding 30 MW at $200 and 20 MW at $100 (Pmax 50; in
    hour 2 one hourly segment of 40 MW at $150) and a virtual demand VD_A (10 MW at $30).
    BAA B (bus B1): GB1 500 MW. Fixed demand A1 100/110, A2 100/90, B1 150/160 MW in hours 1/2;
    forecasts A 200/200, B 150/160 with SR requirements 10 and 5. Branches A1_A2 (400 MW; hourly
    override 300 MW in hour 1 and 0 = out of service in hour 2) and A2_B1 (300 MW)."""
    gens = [_gen("GA1", "A1", 250, 20), _gen("GA2", "A2", 200, 25), _gen("GA3", "A1", 200, 30),
            _gen("GA4", "A2", 150, 35), _gen("GB1", "B1", 500, 40)]
    tables = dict(
        baas=[dict(baa="A", is_reference=True), dict(baa="B", is_reference=False)],
        buses=[dict(bus="A1", baa="A"), dict(bus="A2", baa="A"), dict(bus="B1", baa="B")],
        branches=[dict(branch="A1_A2", from_bus="A1", to_bus="A2", reactance_pu=0.1,
                       rating_mw=400.0),
                  dict(branch="A2_B1", from_bus="A2", to_bus="B1", reactance_pu=0.1,
                       rating_mw=300.0)],
        branch_ratings=[dict(branch="A1_A2", hour=1, rating_mw=300.0),
                        dict(branch="A1_A2", hour=2, rating_mw=0.0)],
        interfaces=[dict(interface="A_B", from_baa="A", to_baa="B"),
                    dict(interface="B_A", from_baa="B", to_baa="A")],
        interface_hours=[dict(interface=i, hour=h, limit_mw=100.0) for i in ("A_B", "B_A")
                         for h in (1, 2)],
        resources=[g[0] for g in gens] + [
            dict(resource="PSD_A", type="demand", bus="A1", pmax_mw=50.0),
            dict(resource="VD_A", type="virtual_demand", bus="A1", pmax_mw=10.0)],
        thermal=[g[1] for g in gens],
        energy_bids=[g[2] for g in gens] + [
            dict(resource="PSD_A", side="demand", segment=1, mw=30.0, price_usd_per_mwh=200.0),
            dict(resource="PSD_A", side="demand", segment=2, mw=20.0, price_usd_per_mwh=100.0),
            dict(resource="VD_A", side="demand", segment=1, mw=10.0, price_usd_per_mwh=30.0)],
        energy_bids_hourly=[dict(resource="PSD_A", hour=2, side="demand", segment=1, mw=40.0,
                                 price_usd_per_mwh=150.0)],
        demand=[dict(bus=b, hour=h, fixed_demand_mw=v) for b, vs in
                (("A1", (100.0, 110.0)), ("A2", (100.0, 90.0)), ("B1", (150.0, 160.0)))
                for h, v in zip((1, 2), vs)],
        baa_hours=[dict(baa=a, hour=h, demand_forecast_mw=f, sr_requirement_mw=sr)
                   for a, fs, sr in (("A", (200.0, 200.0), 10.0), ("B", (150.0, 160.0), 5.0))
                   for h, f in zip((1, 2), fs)])
    return make_scenario(tables, name="days_case", trade_date="2026-06-01", hours=2,
                         parameters=dict(phase=2, mpm_mode="off"))


@pytest.fixture(scope="module")
def sc():
    return _market()


def _col(df: pd.DataFrame, keys: list[str], col: str) -> dict:
    return {tuple(k): v for k, v in zip(df[keys].itertuples(index=False), df[col])}


def test_load120_scales_demand_forecast_and_price_sensitive_bids(sc):
    """Every fixed demand row × 1.2 (A1 100 -> 120, 110 -> 132; B1 150 -> 180), every forecast
    × 1.2 (A 200 -> 240, B 160 -> 192), PSD_A's bid segments 30, 20 -> 36, 24, its hourly
    segment 40 -> 48 and its Pmax 50 -> 60; the virtual demand's 10 MW, the supply offers and
    the SR requirements unchanged. With `:B` only B's rows move."""
    out = load120(sc)
    assert _col(out.demand, ["bus", "hour"], "fixed_demand_mw") == pytest.approx(
        {("A1", 1): 120.0, ("A1", 2): 132.0, ("A2", 1): 120.0, ("A2", 2): 108.0,
         ("B1", 1): 180.0, ("B1", 2): 192.0})
    assert _col(out.baa_hours, ["baa", "hour"], "demand_forecast_mw") == pytest.approx(
        {("A", 1): 240.0, ("A", 2): 240.0, ("B", 1): 180.0, ("B", 2): 192.0})
    assert list(out.baa_hours["sr_requirement_mw"]) == list(sc.baa_hours["sr_requirement_mw"])
    bids = _col(out.energy_bids, ["resource", "segment"], "mw")
    assert bids[("PSD_A", 1)] == pytest.approx(36.0) and bids[("PSD_A", 2)] == pytest.approx(24.0)
    assert bids[("VD_A", 1)] == 10.0 and bids[("GA1", 1)] == 250.0 and bids[("GB1", 1)] == 500.0
    assert out.energy_bids_hourly["mw"].tolist() == pytest.approx([48.0])
    pmax = _col(out.resources, ["resource"], "pmax_mw")
    assert pmax[("PSD_A",)] == pytest.approx(60.0) and pmax[("VD_A",)] == 10.0
    assert pmax[("GA1",)] == 250.0
    only_b = load120(sc, "B")
    assert _col(only_b.demand, ["bus", "hour"], "fixed_demand_mw") == pytest.approx(
        {("A1", 1): 100.0, ("A1", 2): 110.0, ("A2", 1): 100.0, ("A2", 2): 90.0,
         ("B1", 1): 180.0, ("B1", 2): 192.0})
    assert _col(only_b.energy_bids, ["resource", "segment"], "mw")[("PSD_A", 1)] == 30.0
    # pure: the input is untouched
    assert sc.demand["fixed_demand_mw"].tolist() == [100.0, 110.0, 100.0, 90.0, 150.0, 160.0]


def test_units_out_removes_the_top_third_by_pmax(sc):
    """A's thermal Pmax is 250 + 200 + 200 + 150 = 800 MW, a third is 266.7 MW. By Pmax,
    largest first: GA1 (250 < 266.7, go on), then GA2 and GA3 tie at 200 and the id breaks the
    tie: GA2 (450 >= 266.7, stop). So GA1 and GA2 go, from every table; GA3, GA4, GB1 stay."""
    assert largest_thermal_units(sc, "A") == ["GA1", "GA2"]
    assert largest_thermal_units(sc, "B") == ["GB1"]
    out = units_out(sc, "A")
    for table in ("resources", "thermal", "energy_bids"):
        assert not set(out.tables[table]["resource"]) & {"GA1", "GA2"}, table
    assert set(out.thermal["resource"]) == {"GA3", "GA4", "GB1"}
    assert len(out.resources) == len(sc.resources) - 2
    with pytest.raises(ValueError, match="unknown BAA"):
        units_out(sc, "C")


def test_ratings_half_halves_every_rating_and_keeps_zero(sc):
    """branches 400 -> 200 and 300 -> 150; the hourly overrides 300 -> 150 and 0 stays 0 (out
    of service). `:B` halves only the branch with an end in B (A2_B1)."""
    out = ratings_half(sc)
    assert _col(out.branches, ["branch"], "rating_mw") == {("A1_A2",): 200.0,
                                                           ("A2_B1",): 150.0}
    assert _col(out.branch_ratings, ["branch", "hour"], "rating_mw") == {
        ("A1_A2", 1): 150.0, ("A1_A2", 2): 0.0}
    only_b = ratings_half(sc, "B")
    assert _col(only_b.branches, ["branch"], "rating_mw") == {("A1_A2",): 400.0,
                                                              ("A2_B1",): 150.0}
    assert _col(only_b.branch_ratings, ["branch", "hour"], "rating_mw")[("A1_A2", 1)] == 300.0


def test_stressed_is_the_three_together_and_variant_chains(sc):
    out = stressed(sc, "A")
    assert out == ratings_half(units_out(load120(sc), "A"))
    assert set(out.thermal["resource"]) == {"GA3", "GA4", "GB1"}
    assert out.demand["fixed_demand_mw"].sum() == pytest.approx(1.2 * 710.0)
    assert out.branches["rating_mw"].tolist() == [200.0, 150.0]
    assert apply_variants(sc, "load120+units_out:A+ratings_half") == out
    assert parse_variants("load120:B+units_out:A") == [("load120", "B"), ("units_out", "A")]
    for bad in ("nope", "units_out", "stressed", "load120+x"):
        with pytest.raises(ValueError):
            parse_variants(bad)


def test_rts_day_case_units_out_are_the_largest():
    """On an imported RTS-GMLC day (2 hours, not solved): the units `units_out:PACW` removes
    are PACW's largest (no remaining PACW thermal unit is bigger than the smallest removed),
    add up to at least a third of its thermal Pmax, and without the last one they would not."""
    from scenarios.importers.rts_gmlc import import_rts_gmlc
    day = import_rts_gmlc("2020-07-05")
    out = bench.load_case("day:2020-07-05+units_out:PACW", 2, 0)
    assert out.hours == 2
    th = day.resource_frame
    th = th[(th["type"] == "thermal") & (th["baa"] == "PACW")].set_index("resource")["pmax_mw"]
    gone = sorted(set(th.index) - set(out.resources["resource"]))
    assert gone and set(gone) == set(largest_thermal_units(day, "PACW"))
    kept = th.drop(gone)
    assert kept.max() <= th[gone].min()
    assert th[gone].sum() >= th.sum() / 3 > th[gone].sum() - th[gone].min()
    assert len(out.resources) == len(day.resources) - len(gone)


def test_dates_and_cases():
    assert days.parse_dates("2020-07-30..2020-08-02") == [
        "2020-07-30", "2020-07-31", "2020-08-01", "2020-08-02"]
    assert len(days.parse_dates("2020-07")) == 31
    assert len(days.parse_dates(days.DEFAULT_DATES)) == 31
    assert days.parse_dates("2020-07-05,2020-07-01,2020-07-05") == ["2020-07-05", "2020-07-01"]
    for bad in ("2019-07-01", "2020-13-01", "2020-07-05..2020-07-01", ""):
        with pytest.raises(ValueError):
            days.parse_dates(bad)
    assert days.day_cases(["2020-07-05"], ["base", "stressed:PACW"]) == [
        "day:2020-07-05", "day:2020-07-05+stressed:PACW"]
    assert days.case_parts("day:2020-07-05+load120+ratings_half") == (
        "2020-07-05", "load120+ratings_half")
    assert days.case_parts("rts_day") == (None, "base")
    assert bench.parse_cases("day:2020-07-05+stressed:PACW,rts_day+ratings_half") == [
        "day:2020-07-05+stressed:PACW", "rts_day+ratings_half"]
    for bad in ("day:2021-01-01", "day:x", "rts_day+nope", "scenario:/no/such/folder"):
        with pytest.raises((ValueError, FileNotFoundError)):
            bench.parse_cases(bad)
    assert days.main(["--dates", "2019-01-01", "--out", "/nonexistent/never"]) == 2
    # like the harness: the default folder is relative to the current directory
    out = days.build_parser().parse_args([]).out
    assert not Path(out).is_absolute() and out == "benchmarks/results/days"


def test_last_stage_of_a_worker_log():
    text = ("warning: x\n[stage 0.1 s] load day:2020-07-05\n[stage 3.2 s] build IFM\n"
            "[stage 9.9 s] HiGHS: IFM MIP round 1\nsome HiGHS chatter\n")
    assert days.last_stage(text) == "[stage 9.9 s] HiGHS: IFM MIP round 1"
    assert days.last_stage("nothing here\n") is None


def test_stage_split_by_hand():
    """Probe records (HiGHS seconds): IFM LP-relaxation 1 + IFM MIP 3 + 2 = 6 s of IFM solve,
    IFM pricing 0.5; RUC MIP 9, RUC pricing 0.25; hand-offs IFM 0.4 + 0.1 + 0.1 = 0.6, RUC 0.3.
    RUC / IFM = 9 / 6 = 1.5."""
    def rec(label, opt, first=0.0, upd=0.0):
        return dict(label=label, optimize_s=opt, set_instance_s=first, update_s=upd)
    probe = [rec("IFM MIP LP-relaxation round 1", 1.0, first=0.4),
             rec("IFM MIP round 1", 3.0, upd=0.1), rec("IFM MIP round 2", 2.0),
             rec("IFM pricing LP round 1", 0.5, upd=0.1),
             rec("RUC MIP round 1", 9.0, first=0.3), rec("RUC pricing LP round 1", 0.25)]
    s = bench.stage_split(probe, {"build_s": 1.5, "ruc_build_s": 0.7}, True)
    assert s == pytest.approx(dict(ifm_solve_s=6.0, ifm_pricing_s=0.5, ifm_handoff_s=0.6,
                                   ifm_build_s=1.5, ruc_pricing_s=0.25, ruc_handoff_s=0.3,
                                   ruc_build_s=0.7, ruc_over_ifm_solve=1.5))
    no_ruc = bench.stage_split(probe[:4], {"build_s": 1.5}, False)
    assert math.isnan(no_ruc["ruc_over_ifm_solve"]) and no_ruc["ifm_solve_s"] == 6.0


def test_seed_spread_by_hand():
    """tiled:3, seeds 0 and 1: RUC solve 10 and 30 s in seed 0's two runs (median 20), 50 s in
    seed 1 -> min 20, max 50, ratio 2.5; a failed run and the untimed memory run are left out;
    a case run with one seed has no spread."""
    base = {c: math.nan for c in bench.NUMERIC}
    def row(seed, ruc, status="ok", timed=True, case="tiled:3"):
        return dict(base, case=case, engine="edam", seed=seed, status=status, timed=timed,
                    ruc_solve_s=ruc, wall_s=100.0 + ruc)
    rows = [row(0, 10.0), row(0, 30.0), row(1, 50.0), row(1, 999.0, status="error"),
            row(1, 500.0, timed=False), row(0, 5.0, case="rts_day")]
    (s,) = bench.seed_spread(rows)
    assert s["case"] == "tiled:3" and s["seeds"] == [0, 1]
    r = s["columns"]["ruc_solve_s"]
    assert r["per_seed"] == {"0": 20.0, "1": 50.0} and r["ratio"] == pytest.approx(2.5)
    assert s["columns"]["wall_s"]["ratio"] == pytest.approx(150.0 / 120.0)
    assert "| tiled:3 | edam | 0,1 | ruc_solve_s | 20 | 50 | 2.50 |" in bench.spread_table([s])


def test_goals_and_summary_by_hand():
    """Three July days of 30, 70 and 50 s (the 50 s one stopped at a time limit), a stressed
    day of 100 s, a timed-out day: median 60 s of the four finished (30, 50, 70, 100), max 100,
    three over 60 s (70, 100 and the timeout), one stopped at a limit; the day goal fails on the 70 s day, the
    stopped one and the timeout; the stressed goal is met; build + hand-off fails on the 12 %."""
    def r(case, wall, stopped=False, share=0.05, status="ok"):
        d, v = days.case_parts(case)
        return dict(case=case, date=d, variant=v, status=status, wall_s=wall,
                    stopped_at_limit=stopped, build_handoff_share=share, maxrss_mb=500.0)
    rows = [r("day:2020-07-01", 30.0), r("day:2020-07-02", 70.0, share=0.12),
            r("day:2020-07-03", 50.0, stopped=True),
            r("day:2020-07-01+stressed:PACW", 100.0),
            r("day:2020-07-04", math.nan, status="timeout", share=math.nan)]
    s = days.summarise(rows)
    assert (s["median_wall_s"], s["max_wall_s"], s["over_60_s"], s["stopped_at_limit"],
            s["timeouts"]) == (60.0, 100.0, 3, 1, 1)
    g = {x["goal"]: x for x in days.goals(rows)}
    assert g["every imported day"]["met"] is False and g["every imported day"]["failing"] == [
        "day:2020-07-02", "day:2020-07-03", "day:2020-07-04"]
    assert g["stressed day"]["met"] is True and g["stressed day"]["worst"] == 100.0
    assert g["build + hand-off"]["met"] is False
    assert "NOT met" in days.summary_text(s, list(g.values()))


def test_day_sample_end_to_end_and_timeout(sc, tmp_path):
    """The built market, written as a folder, through the same subprocess path as a day:
    as it is and stressed (A's GA1 and GA2 out, load × 1.2, ratings halved); then a case with
    a 0.5 s timeout is killed and reported as a 'timeout' row."""
    from scenarios.writer import write_scenario
    folder = tmp_path / "case"
    write_scenario(sc, folder)
    out = tmp_path / "res"
    cases = f"scenario:{folder},scenario:{folder}+stressed:A"
    assert days.main(["--cases", cases, "--out", str(out), "--quiet"]) == 0
    (js,) = out.glob("days-*.json")
    (cs,) = out.glob("days-*.csv")
    with cs.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == days.COLUMNS and len(rows) == 2
    plain, stress = rows
    assert plain["variant"] == "base" and stress["variant"] == "stressed:A"
    for r in rows:
        assert r["status"] == "ok" and r["completion"] == "solved", r
        assert r["stopped_at_limit"] == "False" and r["ifm_status"] == "solved"
        assert r["ruc_status"] == "solved"
        for c in ("wall_s", "process_wall_s", "ifm_solve_s", "ruc_solve_s", "maxrss_mb",
                  "build_s", "handoff_s", "ruc_build_s", "load_before", "load_after"):
            assert float(r[c]) >= 0, c
        assert float(r["maxrss_mb"]) > 50 and float(r["process_wall_s"]) > float(r["wall_s"])
        assert 0 < float(r["build_handoff_share"]) < 1
    # the stressed case has two thermal units fewer (5 -> 3) and the same two branches
    assert (int(plain["thermal_units"]), int(stress["thermal_units"])) == (5, 3)
    assert float(stress["objective"]) != float(plain["objective"])
    doc = json.loads(js.read_text())
    assert doc["columns"] == days.COLUMNS and doc["machine"]["cpus"]
    assert doc["machine_after"]["load_average"] is not None
    assert doc["cases_done"] == 2 and doc["finished"] >= doc["started"]
    trail = doc["details"][0]["stage_trail"]
    assert any("HiGHS: IFM MIP round 1" in ln for ln in trail)
    assert any("HiGHS: RUC pricing LP round 1 done" in ln for ln in trail)
    assert plain["last_stage"] == ""  # finished: no stage to point at
    assert doc["summary"]["ok"] == 2 and {g["goal"] for g in doc["goals"]} == {
        "every imported day", "stressed day", "build + hand-off"}
    assert "python -m benchmarks.days --cases" in doc["command"]
    # a stuck case is killed and reported, not waited for
    out2 = tmp_path / "res2"
    assert days.main(["--cases", f"scenario:{folder}", "--timeout", "0.5", "--out", str(out2),
                      "--quiet"]) == 1
    (cs2,) = out2.glob("days-*.csv")
    with cs2.open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["status"] == "timeout" and "killed after 0.5 s" in row["error"]
    assert float(row["process_wall_s"]) < 30 and row["wall_s"] == ""
