"""The optional look-ahead of a rolling run (issue 21; clearing/runs/rolling.py,
docs/rolling.md "Look-ahead"): day D is cleared with the first N hours of day D+1 appended, then
alone at that solve's commitment of its own hours; the stored day and the carried state are day
D's 24 (here 4) hours.

Hand market (`_day`), one BAA A, one bus, 4 hours a day, phase 1, no reserves:
  B: thermal, Pmin 0, Pmax 100, $20/MWh, min-load cost $500/h, min up 1 h, min DOWN 4 h;
     on since 24 h at 100 MW.
  P: a peaker, Pmin 0, Pmax 150, 10 MW at $30/MWh then 140 MW at $200/MWh, no min-load cost.
  Day 1 (2026-06-01) load 100, 100, 100, 10; day 2 (2026-06-02) load 100 in every hour.

Without look-ahead:
  Day 1, hours 1-3: B 100 ($500 + 100·20 = $2500 an hour). Hour 4 (10 MW): B on costs
    $500 + 10·20 = $700, P alone 10·30 = $300, so B stops. Day 1 = 3·2500 + 300 = $7800;
    hour-4 LMP $30 (P's first segment).
  Day 2 starts with B off for 1 hour; its 4-hour minimum down time keeps it off in hours 1-3:
    P 100 MW = 10·30 + 90·200 = $18300 an hour, LMP $200; hour 4 B 100 = $2500 (B 90 + P 10
    would be $2600). Day 2 = 3·18300 + 2500 = $57400. Two days: $65200.
With --lookahead-hours 2 (day 1 cleared over 6 hours, hours 5-6 = day 2's hours 1-2, load 100):
  keeping B on in hour 4 costs $700 − $300 = $400 more in hour 4 and saves 2·(18300 − 2500) =
  $31600 in hours 5-6, so the 6-hour solve keeps B on (objective 7500 + 700 + 2·2500 = $13200).
  Day 1 alone at that commitment: B on in every hour, hour 4 B 10 MW ($700; P 10 MW with B on
  would cost 500 + 300 = $800), day 1 = $8200, hour-4 LMP $20 (B). Day 2 starts with B on for
  4 + 24 = 28 hours at 10 MW; it is the last day (no day 3 in the folder: no look-ahead, the
  manifest says 0 hours) and B runs 100 MW in every hour: 4·2500 = $10000. Two days: $18200.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clearing.cli import main
from clearing.results import read_run
from clearing.runs import rolling
from clearing.runs.rolling import lookahead_scenario, run_days
from clearing.runs.store import Store
from scenarios import load_scenario
from scenarios.build import make_scenario
from scenarios.writer import write_scenario

D1, D2 = "2026-06-01", "2026-06-02"


def _day(date: str, loads: list[float]):
    hours = range(1, len(loads) + 1)
    t = dict(baas=[dict(baa="A", is_reference=True)], buses=[dict(bus="A", baa="A")],
             branches=[], interfaces=[], interface_hours=[],
             demand=[dict(bus="A", hour=h, fixed_demand_mw=loads[h - 1]) for h in hours],
             baa_hours=[dict(baa="A", hour=h, demand_forecast_mw=loads[h - 1]) for h in hours])
    t["resources"] = [
        dict(resource="B", type="thermal", bus="A", pmin_mw=0.0, pmax_mw=100.0),
        dict(resource="P", type="thermal", bus="A", pmin_mw=0.0, pmax_mw=150.0)]
    t["thermal"] = [
        dict(resource="B", min_load_cost_usd_per_h=500.0, min_up_h=1, min_down_h=4,
             initial_on=True, initial_hours=24, initial_mw=100.0),
        dict(resource="P", min_up_h=1, min_down_h=1, initial_on=True, initial_hours=24,
             initial_mw=0.0, long_start=False)]
    t["energy_bids"] = [
        dict(resource="B", side="supply", segment=1, mw=100.0, price_usd_per_mwh=20.0),
        dict(resource="P", side="supply", segment=1, mw=10.0, price_usd_per_mwh=30.0),
        dict(resource="P", side="supply", segment=2, mw=140.0, price_usd_per_mwh=200.0)]
    return make_scenario(t, name="lookahead_case", trade_date=date, hours=len(loads),
                         parameters=dict(phase=1, mpm_mode="off"))


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lookahead") / "days"
    write_scenario(_day(D1, [100.0, 100.0, 100.0, 10.0]), root / D1)
    write_scenario(_day(D2, [100.0] * 4), root / D2)
    return root


def _runs(store: Path, outcome) -> dict:
    return {d["date"]: read_run(Store(store).run_dir(d["run_id"])) for d in outcome.days}


def _col(run, resource: str, col: str) -> list:
    s = run.tables["schedules"]
    return s[s["resource"] == resource].sort_values("hour")[col].tolist()


def _lmp(run, hour: int) -> float:
    p = run.tables["nodal_prices"]
    return float(p.loc[p["hour"] == hour, "lmp"].iloc[0])


@pytest.fixture(scope="module")
def both(days, tmp_path_factory):
    base = tmp_path_factory.mktemp("lookahead_stores")
    plain = run_days(str(days), D1, D2, base / "plain")
    ahead = run_days(str(days), D1, D2, base / "ahead", lookahead_hours=2)
    return (_runs(base / "plain", plain), _runs(base / "ahead", ahead), plain, ahead,
            base / "ahead")


def test_without_lookahead_day_2_pays_for_the_stop(both):
    """No look-ahead: B stops in hour 4 of day 1 and its minimum down time makes day 2 buy
    300 MWh of $200 peaker output (module docstring: $7800 + $57400)."""
    plain, *_ = both
    assert _col(plain[D1], "B", "committed") == [1, 1, 1, 0]
    assert _col(plain[D2], "B", "committed") == [0, 0, 0, 1]
    assert _col(plain[D2], "P", "energy_mw") == pytest.approx([100, 100, 100, 0], abs=1e-6)
    assert plain[D1].objective == pytest.approx(7800.0, abs=0.5)
    assert plain[D2].objective == pytest.approx(57400.0, abs=0.5)
    assert _lmp(plain[D1], 4) == pytest.approx(30.0, abs=1e-4)
    assert _lmp(plain[D2], 1) == pytest.approx(200.0, abs=1e-4)


def test_with_lookahead_the_unit_stays_on(both):
    """--lookahead-hours 2: B stays on through hour 4 of day 1 (10 MW) and runs all of day 2
    (module docstring: $8200 + $10000, the 6-hour solve's objective $13200); the stored day 1
    has its own 4 hours only, its hour-4 LMP is B's $20; day 2 starts with B on for 28 hours at
    10 MW; day 2 (the last in the folder) has no look-ahead."""
    _, ahead, _, out, store = both
    assert _col(ahead[D1], "B", "committed") == [1, 1, 1, 1]
    assert _col(ahead[D1], "B", "energy_mw") == pytest.approx([100, 100, 100, 10], abs=1e-6)
    assert sorted(ahead[D1].tables["schedules"]["hour"].unique()) == [1, 2, 3, 4]
    assert _col(ahead[D2], "B", "energy_mw") == pytest.approx([100] * 4, abs=1e-6)
    assert _col(ahead[D2], "P", "energy_mw") == pytest.approx([0] * 4, abs=1e-6)
    assert ahead[D1].objective == pytest.approx(8200.0, abs=0.5)
    assert ahead[D2].objective == pytest.approx(10000.0, abs=0.5)
    assert _lmp(ahead[D1], 4) == pytest.approx(20.0, abs=1e-4)
    roll1, roll2 = ahead[D1].manifest["rolling"], ahead[D2].manifest["rolling"]
    assert (roll1["lookahead_hours"], roll1["lookahead_next_date"]) == (2, D2)
    assert roll1["lookahead_objective_usd"] == pytest.approx(13200.0, abs=0.5)
    assert roll2["lookahead_hours"] == 0 and roll2["lookahead_next_date"] is None
    ext = load_scenario(roll1["lookahead_scenario_dir"])
    assert ext.hours == 6
    assert ext.demand.sort_values("hour")["fixed_demand_mw"].tolist() == [100, 100, 100, 10,
                                                                          100, 100]
    th = load_scenario(ahead[D2].manifest["scenario_dir"]).thermal.set_index("resource")
    assert (bool(th.at["B", "initial_on"]), int(th.at["B", "initial_hours"]),
            float(th.at["B", "initial_mw"])) == (True, 28, pytest.approx(10.0))
    # the stored day 1 passes the independent checker against its own 4-hour scenario
    assert main(["check", str(Store(store).run_dir(out.days[0]["run_id"]))]) == 0
    # the two chains are other rolling runs and other day runs
    assert out.rolling_id != both[2].rolling_id
    assert {d["run_id"] for d in out.days}.isdisjoint({d["run_id"] for d in both[2].days})


def test_lookahead_rerun_solves_nothing(both, days):
    """The same look-ahead command again skips both days (their ids cover the look-ahead)."""
    *_, out, store = both
    again = run_days(str(days), D1, D2, store, lookahead_hours=2,
                     solve=lambda *a, **k: pytest.fail("solved again"))
    assert [d["status"] for d in again.days] == ["skipped", "skipped"]
    assert [d["run_id"] for d in again.days] == [d["run_id"] for d in out.days]


def test_lookahead_scenario_appends_the_next_days_hours():
    """Pure: hourly tables shifted by day D's hours; a day-constant bid curve of day D+1 that
    differs from day D's becomes hourly rows in the look-ahead hours (P's $200 segment at $90
    on day 2 -> hour 5 of energy_bids_hourly), an hour day D+1 already overrides keeps its own
    curve (hour 2 of day 2 -> hour 6)."""
    d1 = _day(D1, [100.0, 100.0, 100.0, 10.0])
    d2 = _day(D2, [100.0, 90.0, 80.0, 70.0])
    eb = d2.energy_bids.copy()
    eb.loc[(eb["resource"] == "P") & (eb["segment"] == 2), "price_usd_per_mwh"] = 90.0
    hourly = pd.DataFrame([dict(resource="P", hour=2, side="supply", segment=1, mw=100.0,
                                price_usd_per_mwh=55.0)])
    d2 = d2.with_tables(energy_bids=eb, energy_bids_hourly=hourly).validate()
    ext = lookahead_scenario(d1, d2, 2)
    assert ext.hours == 6 and ext.trade_date == D1
    assert ext.demand.sort_values("hour")["fixed_demand_mw"].tolist() == [100, 100, 100, 10,
                                                                          100, 90]
    assert ext.baa_hours["hour"].tolist() == [1, 2, 3, 4, 5, 6]
    h = ext.energy_bids_hourly.sort_values(["hour", "segment"])
    # hour 5: day 2's changed day curve (both segments of P); hour 6: day 2's own hour-2 row
    assert h[["hour", "segment", "price_usd_per_mwh"]].values.tolist() == [
        [5, 1, 30.0], [5, 2, 90.0], [6, 1, 55.0]]
    assert ext.energy_bids.equals(d1.energy_bids)  # the day-constant curve stays day 1's
    with pytest.raises(ValueError, match="expected 1..4"):
        lookahead_scenario(d1, d2, 5)


def test_lookahead_hours_option_is_checked(days, tmp_path, capsys):
    """--lookahead-hours outside 0..24: exit 1, one message, nothing written. A SOURCE without
    day D+1 gives no next day."""
    for bad in ("25", "-1", "two"):
        assert main(["run-days", str(days), "--from", D1, "--to", D2, "--out",
                     str(tmp_path / "s"), "--lookahead-hours", bad]) == 1
        assert "a whole number of hours 0..24" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert rolling.check_lookahead_hours(0) == 0
    # the last day of the RTS-GMLC year has no next day (no import tried): no look-ahead
    assert rolling.next_day("rts-gmlc", "2020-12-31", {}) is None
    assert rolling.next_day(str(days), D2, {}) is None  # no 2026-06-03 folder
