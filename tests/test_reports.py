"""Reports an analyst would show a colleague (issue 17), and `edam runs` on a store of 40 runs.

Run report: the warnings banner, the run table's plain names and units, the LMP heat map's
clipped colour scale, identical BAA prices named, RC requirement covered by RC transfers
(spec §5.11 balance), the settlement sign of products/settlement_core.py. Store report:
categorical axis for phase, the scenario filter, the labelled sortable runs table. `edam runs`:
--where, --sort, --format, the catalogue rebuilt only when the store changed, no progress noise
when not on a terminal. Values are worked out by hand in the docstrings.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from clearing.runs.report import (SETTLEMENT_SIGN, _baa_prices, _lmp_heatmap, _rc_coverage,
                             _settlement, build_run_report, build_store_report,
                             discrete_parameter, heatmap_colour_range, identical_price_groups,
                             metric_label, rc_coverage_table, rc_net_import_mw, run_alerts,
                             run_summary_items, series_style)
from clearing.results import RunResult, write_run
from clearing.runs.store import Store, catalogue_is_fresh, query_runs, run_id_for

REPO = Path(__file__).resolve().parents[1]


# ==========================================================================================
# run report pieces
def test_heatmap_colour_scale_clipped_when_one_spike_dominates():
    """Values 1..19 and one spike of 1000 (20 values). numpy's linear percentiles: P5 at rank
    0.05*19 = 0.95 -> 1 + 0.95*(2-1) = 1.95; P95 at rank 18.05 -> 19 + 0.05*(1000-19) = 68.05.
    Full range 999 > 2 * (68.05 - 1.95) = 132.2 -> clipped to (1.95, 68.05).
    Without the spike (1..20): P5 = 1.95, P95 = 19.05; range 19 < 2 * 17.1 -> not clipped."""
    lo, hi, clipped = heatmap_colour_range(list(range(1, 20)) + [1000])
    assert clipped and lo == pytest.approx(1.95) and hi == pytest.approx(68.05)
    lo, hi, clipped = heatmap_colour_range(range(1, 21))
    assert not clipped and (lo, hi) == (1, 20)


def test_heatmap_says_it_is_clipped_in_title_and_caption():
    """3 buses x 24 hours at 20 $/MWh + hour/10, hour 19 at 500: 72 cells. Sorted, ranks
    0-2 are hour 1 (20.1), 3-5 hour 2 (20.2), ..., 66-68 hour 24 (22.4), 69-71 the spike.
    P5 at rank 0.05*71 = 3.55 -> 20.2; P95 at rank 67.45 -> 22.4. Full range 479.9 > 2 * 2.2:
    clipped; outside: 3 cells below (hour 1) + 3 above (the spike) = 6."""
    rows = [dict(bus=b, baa="A", hour=h, lmp=500.0 if h == 19 else 20.0 + h / 10)
            for b in ("a1", "a2", "a3") for h in range(1, 25)]
    fig, note = _lmp_heatmap(pd.DataFrame(rows))
    assert "clipped to the 5th–95th percentile" in fig.layout.title.text
    assert "clipped" in note and "6 bus-hours lie outside" in note and "500.00" in note
    assert "(20.20 to 22.40 $/MWh)" in note
    tr = fig.data[0]
    assert tr.zmax < 500 and tr.z.max() == 500  # the data keep the true value (hover)


def test_identical_baa_prices_are_named_and_drawn_apart():
    """A and B agree in every hour (B = A + 0.001, inside the 0.005 tolerance); C differs by
    5 $/MWh in hour 2 only: groups [[A, B], [C]]; all three agree in 1 of 2 hours."""
    bp = pd.DataFrame([dict(baa=b, hour=h, energy_price=p)
                       for b, ps in (("A", [30.0, 40.0]), ("B", [30.001, 40.001]),
                                     ("C", [30.0, 45.0]))
                       for h, p in zip((1, 2), ps)])
    prices = bp.rename(columns={"energy_price": "price"})
    assert identical_price_groups(prices) == [["A", "B"], ["C"]]
    fig, note = _baa_prices({"baa_prices": bp})
    names = [t.name for t in fig.data if t.type == "scatter"]
    assert names == ["A (identical to B)", "B (identical to A)", "C"]
    styles = {(t.line.dash, t.marker.symbol) for t in fig.data if t.type == "scatter"}
    assert len(styles) == 3  # each BAA its own dash and marker
    assert "A = B" in note and "identical in 1 of 2 hours" in note
    spread = [t for t in fig.data if t.type == "bar"][0]
    assert list(spread.y) == pytest.approx([0.001, 5.0])


def _rc_case():
    """Two BAAs, one hour, ETSR AB (A -> B). IFM transfer x = 20, RUC transfer x^R = 50:
    RC transfer 30 MW from A to B. B: forecast gap 30 (RCU requirement 30), clears no RCU.
    A: RCU requirement 10, clears 40 RCU, exports 30: 40 - 30 = 10."""
    bs = pd.DataFrame([
        dict(baa="A", hour=1, rcu_requirement_mw=10.0, rcu_cleared_mw=40.0, rcu_relaxed_mw=0.0,
             rcd_requirement_mw=0.0, rcd_cleared_mw=0.0, rcd_relaxed_mw=0.0),
        dict(baa="B", hour=1, rcu_requirement_mw=30.0, rcu_cleared_mw=0.0, rcu_relaxed_mw=0.0,
             rcd_requirement_mw=0.0, rcd_cleared_mw=0.0, rcd_relaxed_mw=0.0)])
    tr = pd.DataFrame([dict(interface="AB", hour=1, from_baa="A", to_baa="B", mw=20.0)])
    ruc = pd.DataFrame([dict(interface="AB", hour=1, from_baa="A", to_baa="B", mw=50.0,
                             rc_transfer_mw=30.0)])
    return bs, tr, ruc


def test_rc_requirement_covered_by_rc_transfers():
    bs, tr, ruc = _rc_case()
    net = rc_net_import_mw(ruc, tr).set_index("baa")["rc_net_import_mw"]
    assert net.to_dict() == {"A": -30.0, "B": 30.0}
    # without rc_transfer_mw: x^R - x = 50 - 20 = 30, the same
    net2 = rc_net_import_mw(ruc.drop(columns="rc_transfer_mw"), tr)
    assert net2.set_index("baa")["rc_net_import_mw"].to_dict() == {"A": -30.0, "B": 30.0}
    cov = rc_coverage_table(bs, rc_net_import_mw(ruc, tr)).set_index("baa")
    parts = ["rcu_cleared_mw", "rcd_cleared_mw", "rc_net_import_mw", "rcu_relaxed_mw",
             "rcd_relaxed_mw"]
    assert cov[parts].sum(axis=1).to_dict() == cov["net_requirement_mw"].to_dict() == \
        {"A": 10.0, "B": 30.0}
    fig, note = _rc_coverage(bs, ruc, tr)
    imports = [t for t in fig.data if t.name.startswith("RC net import")]
    assert [list(t.y) for t in imports] == [[-30.0], [30.0]]  # A exports, B imports
    assert fig.layout.barmode == "relative" and "ruc_transfers" in note
    # no ruc_transfers: said, not hidden
    fig, note = _rc_coverage(bs, None, tr)
    assert not [t for t in fig.data if t.name.startswith("RC net import")]
    assert "no ruc_transfers" in note


def test_settlement_sign_label_matches_settlement_core(tiny_case):
    """settlement_core: amount_usd > 0 is paid TO the party. The tiny run's 8 energy lines
    (2 BAAs x 4 hours) are +2,000 each: paid 16,000, charged 0; a -500 line added: charged
    500, net 15,500."""
    import products.settlement_core as core

    assert "``amount_usd > 0`` is a payment TO the party" in core.__doc__
    assert SETTLEMENT_SIGN.startswith("positive = paid to the party")
    st = tiny_case[1].tables["settlement"]
    st = pd.concat([st, pd.DataFrame([dict(charge="no_pay", party="SC_A", baa="A", hour=1,
                                           quantity=5.0, price=100.0, amount_usd=-500.0)])])
    fig, totals = _settlement(st)
    assert "paid to the party" in fig.layout.yaxis.title.text
    assert "positive = charge" not in fig.layout.title.text
    t = totals.set_index("charge")
    assert t.loc["energy", "paid to parties ($)"] == 16_000.0
    assert t.loc["no_pay", "charged to parties ($)"] == 500.0
    assert t["net paid to parties ($)"].sum() == 15_500.0


def test_run_table_plain_names_and_units():
    """mip_gap 6.398e-5 -> 0.006398 %; objective 929503.984 -> $929,503.98;
    build_share 0.0482 -> 4.8 %."""
    m = {"scenario": {"name": "x", "trade_date": "2020-07-09", "hours": 24},
         "parameters": {"phase": 2, "mip_rel_gap": 0.001},
         "solver": {"termination": "convergenceCriteriaSatisfied", "mip_gap": 6.398e-5,
                    "objective_mip": 929503.984, "objective_lp": 929503.984},
         "timings": {"build_s": 0.977, "build_share": 0.0482, "total_s": 41.33}}
    items = dict(run_summary_items(m))
    assert items["IFM: MIP gap (%)"] == "0.006398 %"
    assert items["IFM: total bid cost, MIP objective ($)"] == "$929,503.98"
    assert items["model build share of the total (%)"] == "4.8 %"
    assert items["IFM: model build (s)"] == "0.98" and items["total wall time (s)"] == "41.33"
    assert items["phase"].startswith("2: day-ahead with economic transfer")
    assert items["MIP gap asked for (%)"] == "0.1 %"
    assert items["IFM: solver outcome"] == \
        "optimal within the MIP gap (convergenceCriteriaSatisfied)"
    m["ruc"] = {"termination": "convergenceCriteriaSatisfied", "time_limit_hit": True}
    assert dict(run_summary_items(m))["RUC: solver outcome"].startswith(
        "stopped at its time limit")


def test_warnings_and_completion_shown_first(tmp_path, tiny_case):
    """A manifest with `warnings` and a `completion` block (a RUC stopped at its time limit at
    a 1.98 % gap): the banner comes before the navigation and every section. A clean manifest
    has no banner; a MIP gap above the one asked for raises one by itself."""
    _, run = tiny_case
    m = dict(run.manifest, warnings=["transfer limit file had 2 duplicate rows"],
             completion={"status": "time_limit", "stage": "ruc", "mip_gap": 0.0198,
                         "time_limit_s": 600})
    m["solver"] = dict(m["solver"], mip_gap=0.0005)
    d = write_run(RunResult(run.tables, m), tmp_path / "run")
    text = build_run_report(d)
    banner = text.index('id="alerts"')
    assert banner < text.index("<nav>") < text.index('<section id="s1">')
    block = text[banner:text.index("<nav>")]
    assert "transfer limit file had 2 duplicate rows" in block
    assert "time_limit" in block and "1.98 %" in block and "2 warnings" in block
    clean = build_run_report(write_run(run, tmp_path / "clean"))
    assert 'id="alerts"' not in clean
    alerts = run_alerts({"parameters": {"mip_rel_gap": 0.001},
                         "ruc": {"mip_gap": 0.0198, "time_limit_hit": True},
                         "solver": {"mip_gap": 0.02}})
    assert any(a.startswith("RUC: HiGHS stopped at its time limit") for a in alerts)
    assert any(a.startswith("IFM: MIP gap 2 % above the 0.1 % asked for") for a in alerts)


def test_run_report_sections_on_the_tiny_run(tmp_path, tiny_case):
    _, run = tiny_case
    text = build_run_report(write_run(run, tmp_path / "run"))
    for heading in ("LMP heat map", "BAA prices", "Transfers", "IR: requirement",
                    "RC: requirement and how it is covered", "Reserve prices", "RSE",
                    "Settlement"):
        assert f">{heading}" in text, heading
    assert "positive = paid to the party" in text


# ==========================================================================================
# store report pieces
def test_discrete_parameters_and_labels():
    assert discrete_parameter("phase", pd.Series([1, 2]))
    assert discrete_parameter("mpm_mode", pd.Series(["lmpm", "off"]))
    assert not discrete_parameter("ir_deployed_proportion", pd.Series([0.3, 0.6]))
    assert metric_label("iru_cleared_mw") == "IRU cleared, Σ over hours (MWh)"
    assert metric_label("rcu_relaxed_mw_CISO") == "RCU relaxed, Σ over hours, CISO (MWh)"
    assert metric_label("avg_lmp_B") == "average LMP, B ($/MWh)"
    assert metric_label("avg_iru_price_A") == "average IRU price, A ($/MWh)"
    assert metric_label("ir_demand_curve_cap_usd_per_mwh").endswith("($/MWh)")
    assert len({series_style(i)["color"] for i in range(48)}) == 48
    assert series_style(0) != series_style(48)  # same colour, another dash


def _store_of_fake_runs(root: Path, tiny_case, scenarios=("tiny",), phases=(1, 2)) -> Store:
    """Hand-made runs of the tiny case: scenario name x phase x IR cap (40, 55)."""
    scenario, result = tiny_case
    store = Store(root).init()
    for name in scenarios:
        for phase in phases:
            for cap in (40.0, 55.0):
                sc = scenario.with_parameters(phase=phase, ir_demand_curve_cap_usd_per_mwh=cap)
                manifest = dict(result.manifest, parameters=sc.parameters.to_dict(),
                                input_hash=sc.input_hash() + name,
                                scenario=dict(result.manifest["scenario"], name=name),
                                solver={"objective_mip": 1000.0 * phase + cap})
                rid = run_id_for(sc, sc.input_hash() + name)
                store.save_run(RunResult(dict(result.tables), manifest), rid)
    return store


def _figure_json(text: str, title_part: str) -> dict:
    """The data and layout of the plotly figure whose title contains `title_part`."""
    dec = json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"fig\d+",\s*', text):
        data, end = dec.raw_decode(text, m.end())
        end = text.index(",", end) + 1
        while text[end].isspace():
            end += 1
        layout, _ = dec.raw_decode(text, end)
        title = layout.get("title", {})
        if title_part in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return {"data": data, "layout": layout}
    raise AssertionError(f"no figure titled ...{title_part}...")


def _used_xaxes(fig: dict) -> list[dict]:
    """The layout x axes that carry at least one trace."""
    names = {t.get("xaxis", "x") for t in fig["data"]}
    return [fig["layout"]["xaxis" + n[1:]] for n in sorted(names)]


def test_store_report_phase_axis_is_categorical_and_table_sortable(tmp_path, tiny_case):
    store = _store_of_fake_runs(tmp_path / "store", tiny_case)
    text = build_store_report(store)
    fig = _figure_json(text, "Key metrics against phase")
    axes = _used_xaxes(fig)
    assert axes and all(a.get("type") == "category" for a in axes)
    assert all(a.get("categoryarray") == ["1", "2"] for a in axes)
    cap = _figure_json(text, "Key metrics against ir_demand_curve_cap_usd_per_mwh")
    assert _used_xaxes(cap) and all(a.get("type") != "category" for a in _used_xaxes(cap))
    assert "updatemenus" not in cap["layout"]  # one scenario: no filter
    # labelled, sortable runs table: every row's objective carries its number for sorting
    table = text[text.index('id="runs-table"'):]
    assert 'onclick="edamSort(this)"' in table and ">IFM objective ($)</th>" in table
    assert sorted(float(v) for v in re.findall(r'data-v="([0-9.e+-]+)"', table)
                  if float(v) in (1040.0, 1055.0, 2040.0, 2055.0)) == \
        [1040.0, 1055.0, 2040.0, 2055.0]


def test_store_report_filters_by_scenario(tmp_path, tiny_case):
    """Two scenarios x 2 phases x 2 caps: a menu with 'all scenarios' and one entry each,
    whose visibility masks select exactly that scenario's traces."""
    store = _store_of_fake_runs(tmp_path / "store", tiny_case, scenarios=("north", "south"))
    fig = _figure_json(build_store_report(store), "Key metrics against phase")
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["all scenarios", "north · 2026-06-01",
                                            "south · 2026-06-01"]
    names = [t["name"] for t in fig["data"]]
    for b in buttons[1:]:
        mask = b["args"][0]["visible"]
        assert len(mask) == len(names) and any(mask)
        case = b["label"]
        assert all((case in n) == v for n, v in zip(names, mask))


# ==========================================================================================
# `edam runs` on 40 runs
@pytest.fixture(scope="module")
def store40(tmp_path_factory):
    """40 real solves of example_11_1: IR cap 10/20/30/40/55 x DIR 0.1/0.2/0.3/0.45 x phase
    1/2 (about 0.15 s each)."""
    from clearing.api import solve
    from scenarios import load_scenario

    sc = load_scenario(REPO / "scenarios" / "example_11_1")
    store = Store(tmp_path_factory.mktemp("runs40") / "store").init()
    for cap in (10.0, 20.0, 30.0, 40.0, 55.0):
        for dir_ in (0.1, 0.2, 0.3, 0.45):
            for phase in (1, 2):
                s = sc.with_parameters(ir_demand_curve_cap_usd_per_mwh=cap,
                                       ir_deployed_proportion=dir_, phase=phase)
                store.save_run(solve(s), run_id_for(s))
    return store


def test_runs_where_sort_and_formats(store40, capsys):
    from clearing.runs.sweep import runs_command

    assert runs_command(store40.root, fmt="csv") == 0
    out = capsys.readouterr()
    df = pd.read_csv(io.StringIO(out.out))
    assert len(df) == 40 and df["run_id"].is_unique and out.err == ""  # no progress in pipes
    assert {"phase", "ir_deployed_proportion", "avg_lmp", "parameters"} <= set(df.columns)
    # 5 caps x 4 DIRs = 20 runs per phase; cap <= 20 and phase 2: 2 x 4 = 8
    assert runs_command(store40.root, where="phase = 2 AND ir_demand_curve_cap_usd_per_mwh"
                        " <= 20", sort="-ir_demand_curve_cap_usd_per_mwh,ir_deployed_proportion",
                        fmt="json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8 and all(r["phase"] == 2 for r in rows)
    keys = [(r["ir_demand_curve_cap_usd_per_mwh"], r["ir_deployed_proportion"]) for r in rows]
    assert keys == [(20.0, 0.1), (20.0, 0.2), (20.0, 0.3), (20.0, 0.45),
                    (10.0, 0.1), (10.0, 0.2), (10.0, 0.3), (10.0, 0.45)]
    assert isinstance(rows[0]["parameters"], dict) and rows[0]["parameters"]["phase"] == 2
    assert runs_command(store40.root, where="parameters->>'phase' = '1'") == 0
    assert "20 runs" in capsys.readouterr().out


@pytest.mark.parametrize("where, said", [
    ("nope > 1", 'column "nope" not found'),
    ("1=1); DROP TABLE runs; --", "DuckDB SQL condition"),
    ("1=1) UNION ALL SELECT * FROM runs WHERE (1=1", "DuckDB SQL condition"),
    ("run_id IN (SELECT column0 FROM read_csv('/etc/hostname'))", "DuckDB SQL condition"),
])
def test_runs_where_is_a_condition_and_nothing_else(store40, capsys, where, said):
    from clearing.runs.sweep import runs_command

    assert runs_command(store40.root, where=where) == 1
    err = capsys.readouterr().err
    assert "--where" in err and said in " ".join(err.split())
    assert len(query_runs(store40.root)) == 40  # nothing was changed


def test_runs_bad_sort_column(store40, capsys):
    from clearing.runs.sweep import runs_command

    assert runs_command(store40.root, sort="-bogus") == 1
    assert "--sort" in capsys.readouterr().err


def test_catalogue_rebuilt_only_when_the_store_changes(store40, tiny_case):
    import duckdb

    from clearing.runs.store import refresh_catalogue, rebuild_catalogue

    rebuild_catalogue(store40)
    assert catalogue_is_fresh(store40)
    assert refresh_catalogue(store40) == (store40.catalogue_path, False)
    # a failure record appears: stale, rebuilt, and listed
    store40.record_failure("f" * 16, {"scenario": "x", "parameters": {"phase": 1}},
                           RuntimeError("boom"))
    try:
        assert not catalogue_is_fresh(store40)
        path, rebuilt = refresh_catalogue(store40)
        assert rebuilt and catalogue_is_fresh(store40)
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM runs WHERE status = 'failed'"
                               ).fetchone()[0] == 1
    finally:
        store40.failed_path("f" * 16).unlink()
    assert not catalogue_is_fresh(store40)


def test_progress_lines_only_on_a_terminal():
    from clearing.progress import step_printer

    buf = io.StringIO()  # not a terminal: silent
    step_printer("edam runs", buf)("catalogue")
    assert buf.getvalue() == ""
    step_printer("edam runs", buf, enabled=True)("catalogue")
    assert re.fullmatch(r"edam runs:\s+\d+\.\d s  catalogue\n", buf.getvalue())
