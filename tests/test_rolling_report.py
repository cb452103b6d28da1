"""The multi-day report of a rolling store (issue 21; clearing/runs/days_report.py, called by
`edam report STORE`): a small two-day hand-made rolling store, two BAAs, 2 hours a day.

Market (`_day`): BAA A (reference) with a cheap unit GA (Pmax 200 at $10) and BAA B with a dear
unit GB (Pmax 200 at $40), one ETSR A->B of 50 MW and one B->A of 50 MW; loads A 40, B 80 in
each hour; an IRU requirement of 10 MW in each BAA, offered by both units at $1 (A) and $2 (B).
  Transfer A->B = 50 MW (the limit: B's load would rather all come from A at $10); B's unit
  covers the remaining 30 MW. Day 1: forecast = load, the RSE passes; day 2: B's forecast is
  500 MW > the 200 + 50 MW it can count on, so B fails the RSE on day 2 (A passes both days).
The page must hold a Days table with both dates, the prices / transfers / IR-RC / RSE sections,
the catalogue's runs table; in headless chromium every chart is drawn without errors.
"""

from __future__ import annotations

import os

import pytest

from clearing.runs.days_report import day_series, days_table
from clearing.runs.report import write_report
from clearing.runs.rolling import run_days
from clearing.runs.store import connect, query_runs
from scenarios.build import make_scenario
from scenarios.writer import write_scenario

D1, D2 = "2026-06-01", "2026-06-02"


def _day(date: str, b_forecast: float):
    hours = (1, 2)
    loads = {"A": 40.0, "B": 80.0}
    t = dict(
        baas=[dict(baa="A", is_reference=True), dict(baa="B")],
        buses=[dict(bus="A", baa="A"), dict(bus="B", baa="B")],
        branches=[dict(branch="A_B", from_bus="A", to_bus="B", reactance_pu=0.1,
                       rating_mw=99999.0, monitored=False, enforce_base=False,
                       enforce_in_ruc=False)],
        interfaces=[dict(interface="A_B", from_baa="A", to_baa="B"),
                    dict(interface="B_A", from_baa="B", to_baa="A")],
        interface_hours=[dict(interface=i, hour=h, limit_mw=50.0) for i in ("A_B", "B_A")
                         for h in hours],
        resources=[dict(resource="GA", type="thermal", bus="A", pmax_mw=200.0),
                   dict(resource="GB", type="thermal", bus="B", pmax_mw=200.0)],
        thermal=[dict(resource=g, initial_on=True, initial_hours=24, initial_mw=40.0)
                 for g in ("GA", "GB")],
        energy_bids=[dict(resource="GA", side="supply", segment=1, mw=200.0,
                          price_usd_per_mwh=10.0),
                     dict(resource="GB", side="supply", segment=1, mw=200.0,
                          price_usd_per_mwh=40.0)],
        availability_bids=[dict(resource="GA", product="iru", mw=50.0, price_usd_per_mwh=1.0),
                           dict(resource="GB", product="iru", mw=50.0, price_usd_per_mwh=2.0)],
        demand=[dict(bus=b, hour=h, fixed_demand_mw=loads[b]) for b in loads for h in hours],
        baa_hours=[dict(baa=b, hour=h, demand_forecast_mw=b_forecast if b == "B" else loads[b],
                        iru_requirement_mw=10.0) for b in loads for h in hours])
    return make_scenario(t, name="two_baa_days", trade_date=date, hours=2,
                         parameters=dict(phase=2, mpm_mode="off"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    base = tmp_path_factory.mktemp("days_report")
    write_scenario(_day(D1, 80.0), base / "days" / D1)
    write_scenario(_day(D2, 500.0), base / "days" / D2)
    out = run_days(str(base / "days"), D1, D2, base / "store")
    assert [d["status"] for d in out.days] == ["done", "done"]
    return base / "store"


def test_day_series_and_days_table(store):
    """The figures' data: 4 BAA-hours of prices and transfers per day; A->B at its 50 MW
    limit in every hour; RSE: B fails on day 2 only; the days table has both dates in order."""
    con = connect(store, refresh=True)
    try:
        runs = query_runs(store)
        s = day_series(con, runs[["run_id", "trade_date"]])
    finally:
        con.close()
    assert len(s["lmp"]) == 2 * 2 * 2
    tr = s["transfers"]
    ab = tr[tr["interface"] == "A_B"]
    assert ab["mw"].tolist() == pytest.approx([50.0] * 4, abs=1e-6)
    rse = s["rse"].set_index(["trade_date", "baa"])["n_failed"]
    assert rse[(D1, "A")] == 0 and rse[(D1, "B")] == 0 and rse[(D2, "A")] == 0
    assert rse[(D2, "B")] > 0
    assert s["awards"] is not None and "iru" in s["awards"].columns
    t = days_table(runs, s)
    assert t["trade_date"].tolist() == [D1, D2]
    assert t["RSE B"].tolist() == ["pass", "FAIL"] and t["RSE A"].tolist() == ["pass", "pass"]


def test_multi_day_page_sections(store, tmp_path):
    """`edam report STORE` on the rolling store: the multi-day sections and the runs table."""
    page = write_report(store, tmp_path / "days.html").read_text()
    for heading in ("Days", "Prices over the days", "Transfers over the days",
                    "IR and RC over the days", "RSE over the days", "Runs"):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "1 of 2 days fail the RSE" in page
    assert D1 in page and D2 in page


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_multi_day_page_renders_in_headless_chromium(store, tmp_path):
    """Every chart of the page is drawn (Plotly traces present), no script errors, no
    network resource; a screenshot has ink."""
    from tests.test_sweep import CHROMIUM, _check_in_browser
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    page = write_report(store, tmp_path / "days.html")
    check = _check_in_browser(page, tmp_path / "browser")
    assert check["errors"] == [] and check["console"] == [], check
    # Metrics by run, prices, transfers, IR/RC, RSE
    assert check["figures"] >= 5 and check["drawn"] == check["figures"], check
    for fig in check["perFigure"]:
        assert fig["withData"] >= 1 and fig["plotlyTraces"] >= 1, fig
    assert all(r.startswith(("file:", "data:", "blob:")) for r in check["resources"]), check
    assert check["screenshot"]["colours"] > 200 and check["screenshot"]["ink"] > 0.05
