"""What-if sweeps, the run store, its DuckDB catalogue and the HTML reports.

- sweep files: parsing and validation (errors name the sweep file and key);
- run ids; the store and its catalogue (schema, views across runs, cross-run queries);
- resuming an interrupted sweep (in process, no Dask);
- `@pytest.mark.dask`: a real Dask scheduler and two workers started as separate processes on
  127.0.0.1 (`dask scheduler` / `dask worker`); a 4-run sweep through `--scheduler` with a worker
  killed mid-sweep and the driver interrupted (Ctrl-C), then re-run: exactly 4 runs, results
  identical to a serial run; a crashed solve recorded and retried; the default local cluster;
- `@pytest.mark.browser`: the reports opened in headless Debian chromium (charts drawn, no
  console errors, no network).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from clearing.results import RunResult, read_run, write_run
from clearing.runs.store import Store, rebuild_catalogue, run_id_for
from clearing.runs.sweep import (load_run_scenario, parse_sweep, plan, run_sweep, runs_command,
                            sweep_command)
from scenarios import load_scenario, write_scenario
from scenarios.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "scenarios" / "example_11_2"
CHROMIUM = "/usr/bin/chromium"


# ==========================================================================================
# helpers
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _fake_solve(scenario) -> RunResult:
    """A deterministic stand-in for clearing.api.solve (store/report tests without a solver):
    prices move with the IR cap and the DIR factor."""
    p = scenario.parameters
    hours = range(1, scenario.hours + 1)
    buses = scenario.tables["buses"]
    ref = scenario.reference_baa
    nodal = pd.DataFrame([dict(bus=b, hour=h, baa=a,
                               lmp=20.0 + 10 * (a != ref) + 10 * p.ir_deployed_proportion
                               + p.ir_demand_curve_cap_usd_per_mwh / 10 + 0.5 * h,
                               energy=20.0, congestion=0.0, loss=0.0)
                          for b, a in zip(buses["bus"], buses["baa"]) for h in hours])
    baas = list(scenario.tables["baas"]["baa"])
    cleared = 100.0 * (1 - p.ir_deployed_proportion)
    summary = pd.DataFrame([{"baa": a, "hour": h, "demand_mw": 100.0, "generation_mw": 100.0,
                             "net_export_mw": 0.0,
                             **{f"{q}_{k}": v for q in ("iru", "ird", "rcu", "rcd")
                                for k, v in (("requirement_mw", 80.0),
                                             ("cleared_mw", min(80.0, cleared)),
                                             ("relaxed_mw", 80.0 - min(80.0, cleared)))}}
                            for a in baas for h in hours])
    prices = pd.DataFrame([dict(baa=a, product=q, hour=h,
                                price_usd_per_mwh=p.ir_demand_curve_cap_usd_per_mwh)
                           for a in baas for q in ("iru", "ird") for h in hours])
    manifest = dict(input_hash=scenario.input_hash(), scenario_dir=scenario.source_dir,
                    scenario=dict(name=scenario.name, trade_date=scenario.trade_date,
                                  hours=scenario.hours),
                    parameters=p.to_dict(), assumption_options=p.assumption_options(),
                    versions={"engine": "fake"},
                    solver=dict(termination="optimal", mip_gap=0.0,
                                objective_mip=float(nodal["lmp"].sum()),
                                objective_lp=float(nodal["lmp"].sum())),
                    timings=dict(build_s=0.01, solve_s=0.02, pricing_s=0.01, total_s=0.05),
                    counts={}, lazy={})
    return RunResult(tables=dict(nodal_prices=nodal, baa_summary=summary,
                                 product_prices=prices), manifest=manifest)


@pytest.fixture
def fake_api(monkeypatch):
    """clearing.api.solve replaced in this process (in-process sweeps, workers=0)."""
    import clearing.api as api
    calls: list[str] = []

    def solve(scenario, *a, **k):
        calls.append(run_id_for(scenario))
        return _fake_solve(scenario)

    monkeypatch.setattr(api, "solve", solve)
    return calls


def _sweep_file(tmp_path: Path, body: str, name: str = "sweep.yaml") -> Path:
    return _write(tmp_path / name, body)


GRID_4 = f"""
name: grid4
scenarios: [{EXAMPLE}]
grid:
  ir_demand_curve_cap_usd_per_mwh: [40, 55]
  ir_deployed_proportion: [0.3, 0.6]
"""


def _done_dirs(store: Path) -> list[str]:
    runs = store / "runs"
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir()
                  if not p.name.startswith(".") and (p / "manifest.json").is_file())


# ==========================================================================================
# sweep files
def test_bundled_sweep_examples_parse():
    d = REPO / "scenarios" / "sweeps"
    s = parse_sweep(d / "ir_cap_and_dir.yaml")
    assert len(s) == 18 and s.fixed == {"mip_rel_gap": 0.001}
    assert s.swept == ["ir_demand_curve_cap_usd_per_mwh", "ir_deployed_proportion", "phase"]
    assert Path(s.sources[0].ref) == (REPO / "scenarios" / "rts_gmlc_edam").resolve()
    s = parse_sweep(d / "example_11_2_cap.yaml")
    assert len(s) == 4
    s = parse_sweep(d / "storage_envelope_dates.yaml")
    assert [x.ref for x in s.sources] == ["2020-07-08", "2020-07-09", "2020-07-10"]
    assert len(s.points) == 3 and s.sources[0].kind == "rts_gmlc"
    assert (d / "README.md").is_file()


def test_grid_list_phases_and_dates(tmp_path):
    s = parse_sweep(_sweep_file(tmp_path, f"""
scenarios: [{EXAMPLE}]
grid: {{ir_deployed_proportion: [0.3, 0.3, 0.6], mpm_mode: [off, ir_rc]}}
phases: [1, 2]
"""))
    assert s.name == "sweep" and len(s.points) == 8  # duplicates dropped, 2 x 2 x 2
    assert {"ir_deployed_proportion": 0.3, "mpm_mode": "off", "phase": 1} in s.points
    s = parse_sweep(_sweep_file(tmp_path, """
importer: {name: rts_gmlc, dates: {start: 2020-07-30, end: 2020-08-02}}
list:
  - {ir_demand_curve_cap_usd_per_mwh: "40"}
  - {ir_demand_curve_cap_usd_per_mwh: 40.0}
  - {mpm_mode: off}
"""))
    assert [x.ref for x in s.sources] == ["2020-07-30", "2020-07-31", "2020-08-01", "2020-08-02"]
    assert s.points == ({"ir_demand_curve_cap_usd_per_mwh": 40.0}, {"mpm_mode": "off"})


@pytest.mark.parametrize("body, key, found", [
    ("scenarios: [{ex}]\ngrid: {{ir_deployed_proportion: [0.3, 1.5]}}\n",
     "grid.ir_deployed_proportion[1]", "1.5"),
    ("scenarios: [{ex}]\ngrid: {{no_such_parameter: [1]}}\n",
     "grid.no_such_parameter[0]", "unknown parameter"),
    ("scenarios: [{ex}]\nlist:\n  - {{phase: 2}}\n  - {{mpm_mode: sometimes}}\n",
     "list[1].mpm_mode", "sometimes"),
    ("scenarios: [{ex}, no/such/folder]\n", "scenarios[1]", "no/such/folder"),
    ("scenarios: [{ex}]\nwhat: 1\n", "what", "unknown key"),
    ("scenarios: [{ex}]\ngrid: {{phase: [1]}}\nlist: [{{phase: 2}}]\n", "list", "both"),
    ("scenarios: [{ex}]\ngrid: {{phase: [1]}}\nphases: [1, 2]\n", "phases", "phase"),
    ("scenarios: [{ex}]\nphases: [4]\n", "phases[0]", "4"),
    ("scenarios: [{ex}]\nset: {{ir_deployed_proportion: 0.5}}\n"
     "grid: {{ir_deployed_proportion: [0.3]}}\n", "set.ir_deployed_proportion", "both"),
    ("importer: {{name: rts_gmlc, dates: [2020-07-09, not-a-date]}}\n",
     "importer.dates[1]", "not-a-date"),
    ("importer: {{name: other, dates: [2020-07-09]}}\n", "importer.name", "other"),
    ("grid: {{phase: [1]}}\n", "scenarios", "neither"),
    ("scenarios: [{ex}]\nformat: xlsx\n", "format", "xlsx"),
])
def test_sweep_errors_name_file_and_key(tmp_path, body, key, found):
    f = _sweep_file(tmp_path, body.format(ex=EXAMPLE))
    with pytest.raises(ScenarioError) as exc:
        parse_sweep(f)
    problems = exc.value.problems
    assert any(p.column == key and found in p.found and p.file == str(f) for p in problems), \
        str(exc.value)
    assert str(f) in str(exc.value) and key in str(exc.value)
    line = next(p.row for p in problems if p.column == key)
    assert line is not None and 1 <= line <= len(body.splitlines())


def test_sweep_command_bad_file_is_one_clear_error(tmp_path, capsys):
    f = _sweep_file(tmp_path, f"scenarios: [{EXAMPLE}]\ngrid: {{ir_deployed_proportion: [2]}}\n")
    assert sweep_command(f, tmp_path / "store", workers=0) == 2
    err = capsys.readouterr().err
    assert "grid.ir_deployed_proportion" in err and str(f) in " ".join(err.split())
    assert not (tmp_path / "store" / "runs").exists() or not _done_dirs(tmp_path / "store")


# ==========================================================================================
# run ids and the store
def test_run_id_depends_on_inputs_and_parameters_only(tmp_path):
    sc = load_scenario(EXAMPLE)
    rid = run_id_for(sc)
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    assert run_id_for(load_scenario(EXAMPLE)) == rid  # deterministic
    copy = write_scenario(sc, tmp_path / "copy")  # same content, another folder: same run
    assert run_id_for(load_scenario(copy)) == rid
    assert run_id_for(sc.with_parameters(ir_deployed_proportion=0.3)) != rid
    assert run_id_for(sc.with_parameters(phase=1)) != rid
    # a value equal to the default is the same run as no override
    assert run_id_for(sc.with_parameters(ir_deployed_proportion=0.45)) == rid
    demand = sc.tables["demand"].assign(fixed_demand_mw=sc.tables["demand"]["fixed_demand_mw"] + 1)
    assert run_id_for(sc.with_tables(demand=demand)) != rid


def _fill_store(root: Path, tiny_case) -> tuple[Store, list[str]]:
    """Four hand-made runs (cap x DIR) and one failure, written through the Store API."""
    scenario, result = tiny_case
    store = Store(root).init()
    ids = []
    for cap in (40.0, 55.0):
        for dir_ in (0.3, 0.6):
            sc = scenario.with_parameters(ir_demand_curve_cap_usd_per_mwh=cap,
                                          ir_deployed_proportion=dir_)
            rid = run_id_for(sc)
            tables = dict(result.tables)
            tables["nodal_prices"] = tables["nodal_prices"].assign(
                lmp=tables["nodal_prices"]["lmp"] + cap / 10 + dir_)
            manifest = dict(result.manifest, parameters=sc.parameters.to_dict(),
                            input_hash=sc.input_hash(),
                            timings={"build_s": 0.1, "solve_s": 0.2, "total_s": 0.5})
            store.save_run(RunResult(tables, manifest), rid, "parquet" if cap == 55 else "csv",
                           {"store": {"wall_s": 0.7, "point": {"ir_demand_curve_cap_usd_per_mwh":
                                                               cap}}})
            ids.append(rid)
    bad = scenario.with_parameters(ir_deployed_proportion=0.9)
    spec = {"run_id": run_id_for(bad), "scenario": "tiny", "trade_date": "2026-06-01",
            "parameters": bad.parameters.to_dict()}
    store.record_failure(spec["run_id"], spec, RuntimeError("HiGHS gave up"))
    return store, ids


def test_catalogue_schema_views_and_cross_run_query(tmp_path, tiny_case):
    store, ids = _fill_store(tmp_path / "store", tiny_case)
    # debris a killed writer may leave: ignored by the catalogue
    (store.runs_dir / f".{ids[0]}.tmpabcd").mkdir()
    (store.runs_dir / f".{ids[0]}.tmpabcd" / "nodal_prices.csv").write_text("bus,hour\nx,1\n")
    path = rebuild_catalogue(store)
    assert path == store.root / "catalogue.duckdb" and not list(store.root.glob("*.wal"))
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert {"runs", "run_metrics", "sweeps", "sweep_runs", "nodal_prices", "schedules",
                "baa_summary", "rse", "settlement", "transfers"} <= tables
        runs = con.execute("SELECT * FROM runs ORDER BY run_id").df()
        assert len(runs) == 5 and runs["run_id"].is_unique
        assert sorted(runs.loc[runs.status == "done", "run_id"]) == sorted(ids)
        failed = runs[runs.status == "failed"].iloc[0]
        assert "HiGHS gave up" in failed["error"] and failed["error_type"] == "RuntimeError"
        assert failed["ir_deployed_proportion"] == 0.9
        # swept parameters are columns, typed; the full parameters are JSON
        assert {"ir_demand_curve_cap_usd_per_mwh", "ir_deployed_proportion"} <= set(runs)
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'runs'").fetchall())
        assert types["ir_demand_curve_cap_usd_per_mwh"] == "DOUBLE"
        assert types["parameters"] == "JSON" and types["phase"] == "BIGINT"
        # the default mpm_mode (lmpm since issue 19), kept in every run's parameters JSON
        assert con.execute("SELECT count(*) FROM runs WHERE parameters->>'mpm_mode' = 'lmpm'"
                           ).fetchone()[0] == 5
        # metrics: average LMP per BAA and IR totals
        done = runs[runs.status == "done"]
        assert {"avg_lmp", "avg_lmp_A", "avg_lmp_B", "iru_cleared_mwh", "iru_relaxed_mwh",
                "iru_requirement_mwh", "objective", "solve_s", "wall_s", "overhead_s",
                "rse_failures", "settlement_charges_usd"} <= set(runs)
        assert done["iru_cleared_mwh"].eq(80.0).all() and done["overhead_s"].round(6).eq(0.2).all()
        # the results tables across runs (CSV and Parquet runs alike), with run_id
        n = con.execute("SELECT count(*), count(DISTINCT run_id) FROM nodal_prices").fetchone()
        assert n == (4 * 12, 4)
        q = con.execute("""
            SELECT r.ir_demand_curve_cap_usd_per_mwh AS cap, r.ir_deployed_proportion AS dir,
                   avg(n.lmp) AS avg_lmp
              FROM nodal_prices n JOIN runs r USING (run_id)
             GROUP BY ALL ORDER BY cap, dir""").df()
        base = tiny_case[1].tables["nodal_prices"]["lmp"].mean()
        assert list(q["cap"]) == [40, 40, 55, 55]
        assert q["avg_lmp"].tolist() == pytest.approx(
            [base + c / 10 + d for c in (40, 55) for d in (0.3, 0.6)])
        by_baa = con.execute("SELECT run_id, baa, value FROM run_metrics "
                             "WHERE metric = 'avg_lmp' AND baa = 'B'").df()
        assert len(by_baa) == 4
    finally:
        con.close()
    # rebuilt from the folders: removing a run folder removes it from the catalogue
    shutil.rmtree(store.run_dir(ids[0]))
    rebuild_catalogue(store)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0] == 3
        assert con.execute("SELECT count(DISTINCT run_id) FROM nodal_prices").fetchone()[0] == 3


def test_runs_command_lists_runs(tmp_path, tiny_case, capsys):
    store, ids = _fill_store(tmp_path / "store", tiny_case)
    assert runs_command(store.root) == 0
    out = capsys.readouterr().out
    assert "5 runs" in out and all(i in out for i in ids) and "HiGHS gave up" in out
    assert runs_command(tmp_path / "nope") == 1


def test_in_process_sweep_resumes_after_interrupt(tmp_path, fake_api):
    """Ctrl-C after the first run; the re-run does only the missing runs; failures retried."""
    f = _sweep_file(tmp_path, GRID_4)
    store = tmp_path / "store"

    def interrupt(res):
        raise KeyboardInterrupt

    out = run_sweep(f, store, workers=0, progress=False, on_result=interrupt)
    assert out.interrupted and len(out.done) == 1 and len(_done_dirs(store)) == 1
    first = list(fake_api)
    out = run_sweep(f, store, workers=0, progress=False)
    assert not out.interrupted and len(out.already_done) == 1 and len(out.done) == 3
    assert set(first).isdisjoint(fake_api[1:]) and len(fake_api) == 4  # nothing solved twice
    assert len(_done_dirs(store)) == 4
    out = run_sweep(f, store, workers=0, progress=False)  # complete: nothing to do
    assert len(out.already_done) == 4 and not out.results and len(fake_api) == 4
    with duckdb.connect(str(store / "catalogue.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM sweeps").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM sweep_runs").fetchone()[0] == 4
        m = read_run(store / "runs" / out.already_done[0]).manifest
        assert m["run_id"] == out.already_done[0] and m["store"]["sweep"] == "grid4"
        assert set(m["store"]["point"]) == {"ir_demand_curve_cap_usd_per_mwh",
                                            "ir_deployed_proportion"}


def test_failed_run_is_recorded_and_retried_in_process(tmp_path, monkeypatch):
    import clearing.api as api
    real = _fake_solve
    state = {"fail": True}

    def solve(scenario, *a, **k):
        if state["fail"] and scenario.parameters.ir_deployed_proportion == 0.6:
            raise RuntimeError("solver crashed")
        return real(scenario)

    monkeypatch.setattr(api, "solve", solve)
    f = _sweep_file(tmp_path, GRID_4)
    store = tmp_path / "store"
    assert sweep_command(f, store, workers=0) == 1
    assert len(_done_dirs(store)) == 2 and len(list((store / "failed").glob("*.json"))) == 2
    rec = json.loads(next((store / "failed").glob("*.json")).read_text())
    assert rec["error"] == "solver crashed" and "Traceback" in rec["traceback"]
    assert rec["spec"]["point"]["ir_deployed_proportion"] == 0.6
    state["fail"] = False
    assert sweep_command(f, store, workers=0) == 0
    assert len(_done_dirs(store)) == 4 and not list((store / "failed").glob("*.json"))


def test_changed_scenario_after_planning_is_a_recorded_failure(tmp_path, fake_api):
    from clearing.runs.sweep import run_one

    sc = load_scenario(EXAMPLE)
    folder = write_scenario(sc, tmp_path / "ex")
    store = Store(tmp_path / "store").init()
    spec = plan(parse_sweep(_sweep_file(tmp_path, f"scenarios: [{folder}]\n")), store)[0]
    demand = sc.tables["demand"].assign(fixed_demand_mw=sc.tables["demand"]["fixed_demand_mw"] + 1)
    write_scenario(sc.with_tables(demand=demand), folder, overwrite=True)  # edited after planning
    res = run_one(spec.to_dict(), str(store.root))
    assert res["status"] == "failed" and "changed since the sweep was planned" in res["error"]
    assert store.failed_path(spec.run_id).exists() and not store.is_done(spec.run_id)
    assert fake_api == []  # nothing solved


# ==========================================================================================
# reports
def _external_refs(text: str) -> list[str]:
    """src/href attributes of the page's tags that point outside the file (script bodies are
    not parsed as tags, so plotly.js's own strings do not count)."""
    from html.parser import HTMLParser

    refs: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for k, v in attrs:
                if k in ("src", "href") and v and not v.startswith("#"):
                    refs.append(f"<{tag} {k}={v}>")

    P().feed(text)
    return refs


def test_run_and_store_reports_are_self_contained(tmp_path, tiny_case):
    from clearing.runs.report import report_command

    store, ids = _fill_store(tmp_path / "store", tiny_case)
    assert report_command(store.run_dir(ids[0]), tmp_path / "run.html") == 0
    assert report_command(store.root) == 0
    store_page = tmp_path / "store_report.html"  # beside the store, not inside it
    for f in (tmp_path / "run.html", store_page):
        text = f.read_text()
        assert _external_refs(text) == []
        assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js inline
    run_html = (tmp_path / "run.html").read_text()
    for heading in ("LMP heat map", "BAA prices", "Transfers", "IR: requirement",
                    "RC: requirement", "Reserve prices", "RSE", "Settlement"):
        assert f">{heading}" in run_html, heading
    store_html = store_page.read_text()
    assert "Metrics vs ir_demand_curve_cap_usd_per_mwh" in store_html
    assert "Metrics vs ir_deployed_proportion" in store_html
    assert report_command(tmp_path / "nowhere") == 1


# ------------------------------------------------------------------------------------------
_COLLECTOR = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href))
                       || String(e)));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push('unhandledrejection: ' + String(e.reason));
});
(function () {
  var orig = console.error;
  console.error = function () {
    window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return orig.apply(console, arguments);
  };
})();
window.addEventListener('load', function () {
  var tries = 0;
  function report() {
    var figs = document.querySelectorAll('div.plotly-graph-div').length;
    var drawn = document.querySelectorAll('div.js-plotly-plot').length;
    if (drawn < figs && tries++ < 200) { setTimeout(report, 50); return; }
    if (!document.body.hasAttribute('data-figures-marked') && tries++ < 200) {
      setTimeout(report, 50); return;
    }
    // per figure: the marks the report sets once Plotly has drawn it
    var perFigure = Array.prototype.map.call(
      document.querySelectorAll('div.plotly-graph-div'), function (gd) {
        return {id: gd.id, withData: parseInt(gd.getAttribute('data-traces-with-data') || '0'),
                nodes: parseInt(gd.getAttribute('data-trace-nodes') || '0'),
                plotlyTraces: gd.querySelectorAll('.plotly .trace, .plotly g.hm, ' +
                                                  '.plotly .heatmaplayer image').length};
      });
    // the runs table sorts: click the DIR heading twice (ascending, then descending)
    var sorted = null;
    var table = document.getElementById('runs-table');
    if (table) {
      var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
      var col = heads.findIndex(function (h) { return h.title === 'ir_deployed_proportion'; });
      if (col >= 0) {
        var values = function () {
          return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
            var v = r.cells[col].getAttribute('data-v'); return v ? parseFloat(v) : null; });
        };
        edamSort(heads[col]); var asc = values();
        edamSort(heads[col]); var desc = values();
        sorted = {asc: asc, desc: desc};
      }
    }
    var out = document.createElement('pre');
    out.id = '__report_check';
    out.textContent = JSON.stringify({
      errors: window.__errors, figures: figs, drawn: drawn, perFigure: perFigure,
      sorted: sorted, alerts: !!document.getElementById('alerts'),
      svgs: document.querySelectorAll('svg.main-svg').length,
      traces: document.querySelectorAll('g.trace, g.hm, g.heatmaplayer image').length,
      plotly: typeof window.Plotly !== 'undefined' ? Plotly.version : null,
      resources: performance.getEntriesByType('resource').map(function (r) { return r.name; })
    });
    document.body.appendChild(out);
  }
  report();
});
</script>
"""


def _chromium(url: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={workdir / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000",
           "--window-size=1400,2400", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180,
                          start_new_session=True)


def _check_in_browser(report: Path, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    text = report.read_text()
    probe = workdir / report.name
    probe.write_text(text.replace("<head>", "<head>\n" + _COLLECTOR, 1))
    dom = _chromium(probe.as_uri(), workdir, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    m = re.search(r'<pre id="__report_check">(.*?)</pre>', dom.stdout, re.S)
    assert m, "the page's scripts did not run:\n" + dom.stderr[-3000:]
    check = json.loads(html.unescape(m.group(1)))
    (workdir / "check.json").write_text(json.dumps(check))
    console = [ln for ln in dom.stderr.splitlines()
               if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]
    shot = workdir / (report.stem + ".png")
    pic = _chromium(report.as_uri(), workdir, f"--screenshot={shot}")
    assert pic.returncode == 0 and shot.stat().st_size > 20_000, pic.stderr[-2000:]
    check["console"] = console
    check["screenshot"] = _picture_stats(shot)
    return check


def _picture_stats(png: Path) -> dict:
    """Distinct colours and the share of pixels that are not the page background in a
    screenshot (a blank or unstyled page has a handful of colours and almost no ink)."""
    PIL = pytest.importorskip("PIL.Image")  # pillow: a dev extra (pyproject)
    with PIL.open(png) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    total = sum(n for n, _ in colours)
    background = max(colours)[0] if colours else total
    return {"colours": len(colours), "ink": 1 - background / max(1, total)}


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_reports_render_in_headless_chromium(tmp_path, tiny_case):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from clearing.runs.report import write_report

    store, ids = _fill_store(tmp_path / "store", tiny_case)
    run_html = write_report(store.run_dir(ids[0]), tmp_path / "run.html")
    store_html = write_report(store.root, tmp_path / "store.html")
    for page, n_min in ((run_html, 8), (store_html, 2)):
        check = _check_in_browser(page, tmp_path / ("browser-" + page.stem))
        assert check["errors"] == [] and check["console"] == [], check
        assert check["plotly"], check
        assert check["figures"] >= n_min and check["drawn"] == check["figures"], check
        assert check["svgs"] >= check["figures"] and check["traces"] >= check["figures"], check
        assert all(r.startswith(("file:", "data:", "blob:")) for r in check["resources"]), check
        # every chart has data, and Plotly drew trace elements for it
        assert len(check["perFigure"]) == check["figures"], check
        for fig in check["perFigure"]:
            assert fig["withData"] >= 1 and fig["nodes"] >= 1, fig
            assert fig["plotlyTraces"] >= 1, fig
        # a drawn page: many colours (charts, anti-aliasing), a real share of ink
        assert check["screenshot"]["colours"] > 200 and check["screenshot"]["ink"] > 0.05, \
            check["screenshot"]
    # the store page's runs table sorts in the browser: ascending, then descending
    check = json.loads((tmp_path / "browser-store" / "check.json").read_text())
    # DIR of the 4 done runs (0.3, 0.6 at each cap) and of the failed one (0.9)
    assert check["sorted"]["asc"] == [0.3, 0.3, 0.6, 0.6, 0.9], check["sorted"]
    assert check["sorted"]["desc"] == [0.9, 0.6, 0.6, 0.3, 0.3], check["sorted"]


# ==========================================================================================
# Dask: a real scheduler and two workers as separate processes on loopback
_PRELOAD = '''
"""Test preload for dask workers: the real solve, made slow enough to kill a worker mid-run,
and crashing on demand (ir_deployed_proportion == 0.123 while the flag file exists)."""
import os
import time

import clearing.api as _api

# dask may import a preload file more than once: wrap the real solve only once
_real = getattr(_api, "_real_solve_before_test_preload", _api.solve)
_api._real_solve_before_test_preload = _real


def solve(scenario, *args, **kwargs):
    flag = os.environ.get("EDAM_TEST_FAIL_FLAG")
    if flag and os.path.exists(flag) and scenario.parameters.ir_deployed_proportion == 0.123:
        raise RuntimeError("injected solver crash (test)")
    time.sleep(float(os.environ.get("EDAM_TEST_SOLVE_DELAY_S", "0")))
    return _real(scenario, *args, **kwargs)


_api.solve = solve
'''


def _listening(procs) -> list:
    """Listening TCP addresses of processes (psutil.Process or Popen) and their children."""
    import psutil
    out = []
    for p in procs:
        try:
            root = p if isinstance(p, psutil.Process) else psutil.Process(p.pid)
            for q in [root, *root.children(recursive=True)]:
                out += [c.laddr for c in q.net_connections(kind="inet")
                        if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    return out


def _kill_group(p: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        _kill_group(p, signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(p, signal.SIGKILL)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class _Cluster:
    def __init__(self, root: Path):
        self.root = root
        self.scheduler_file = root / "scheduler.json"
        self.flag = root / "fail.flag"
        self.preload = _write(root / "slow_solve.py", _PRELOAD)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
            EDAM_TEST_SOLVE_DELAY_S="2", EDAM_TEST_FAIL_FLAG=str(self.flag),
            DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="60s")
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.address = ""
        self._n = 0

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=self.root,
                                env=self.env, stdout=open(self.root / log, "ab"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        # --no-dashboard still serves distributed's HTTP routes, on 0.0.0.0:8787 unless told
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--scheduler-file", str(self.scheduler_file),
                                      "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                                     "scheduler.log")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError((self.root / "scheduler.log").read_text())
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        assert self.address.startswith("tcp://127.0.0.1:"), self.address
        self.ensure_workers(2)
        listening = _listening([self.scheduler, *self.workers.values()])
        assert listening and all(a.ip == "127.0.0.1" for a in listening), listening

    def start_worker(self) -> None:
        name = f"w{self._n}"
        self._n += 1
        self.workers[name] = self._spawn(
            ["worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", "1",
             "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--host", "127.0.0.1",
             "--name", name,
             "--local-directory", str(self.root / name), "--preload", str(self.preload)],
            f"{name}.log")

    def alive(self) -> list[str]:
        return [n for n, p in self.workers.items() if p.poll() is None]

    def ensure_workers(self, n: int, timeout: float = 240) -> None:
        from distributed import Client
        while len(self.alive()) < n:
            self.start_worker()
        with Client(self.address, timeout="60s") as c:
            c.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, name: str) -> None:
        _kill_group(self.workers[name])
        self.workers[name].wait(timeout=30)

    def worker_running_a_task(self, timeout: float = 30) -> tuple[str, bool]:
        """(name, True) of a worker executing a task now (waiting up to `timeout`), else
        (the first worker alive, False)."""
        from distributed import Client
        deadline = time.monotonic() + timeout
        with Client(self.address, timeout="60s") as c:
            while time.monotonic() < deadline:
                busy = c.run(lambda dask_worker: (dask_worker.name,
                                                  len(dask_worker.state.executing)))
                for _, (name, executing) in sorted(busy.items()):
                    if executing and name in self.alive():
                        return name, True
                time.sleep(0.05)
        return self.alive()[0], False

    def stop(self) -> None:
        for p in self.workers.values():
            _stop(p)
        if self.scheduler is not None:
            _stop(self.scheduler)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = _Cluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


_DRIVER = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from clearing.runs.sweep import sweep_command
sys.exit(sweep_command(sys.argv[1], sys.argv[2], scheduler=sys.argv[3]))
"""


def _serial_tables(spec: dict, out: Path) -> RunResult:
    from clearing.api import solve
    write_run(solve(load_run_scenario(spec)), out)
    return read_run(out)


@pytest.mark.dask
@pytest.mark.timeout(1200)
def test_sweep_on_cluster_killed_worker_interrupted_driver_rerun(tmp_path, dask_cluster):
    dask_cluster.ensure_workers(2)
    f = _sweep_file(tmp_path, GRID_4)
    store = tmp_path / "store"
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(f), str(store),
                               dask_cluster.address], cwd=REPO, env=dask_cluster.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not _done_dirs(store):
            assert driver.poll() is None, driver.communicate()[0]
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.05)
        # the first result is in: kill a worker in the middle of its next run, then Ctrl-C
        victim, busy = dask_cluster.worker_running_a_task()
        dask_cluster.kill_worker(victim)
        driver.send_signal(signal.SIGINT)
        out, _ = driver.communicate(timeout=180)
    finally:
        _stop(driver)
    assert driver.returncode == 130, out
    assert "interrupted" in out and "Run the same command again" in " ".join(out.split())
    before = _done_dirs(store)
    print(f"killed {victim} (running a task: {busy}); runs done before the re-run: "
          f"{len(before)} of 4")
    assert busy, "no worker was running a task when one was to be killed"
    assert 1 <= len(before) < 4, before

    # the re-run (one worker left) does only the missing runs, and nothing twice
    outcome = run_sweep(f, store, scheduler=dask_cluster.address, progress=False)
    assert not outcome.interrupted and not outcome.failed
    assert set(before) <= set(outcome.already_done)
    assert len(outcome.already_done) + len(outcome.done) == 4
    assert len(outcome.results) == 4 - len(outcome.already_done)
    assert len(_done_dirs(store)) == 4 and not list((store / "failed").glob("*.json"))

    with duckdb.connect(str(store / "catalogue.duckdb"), read_only=True) as con:
        n = con.execute("SELECT count(*), count(DISTINCT run_id), "
                        "count(*) FILTER (WHERE status = 'done') FROM runs").fetchone()
        assert n == (4, 4, 4)
        # a cross-run query: average LMP by parameter value
        q = con.execute("""
            SELECT r.ir_demand_curve_cap_usd_per_mwh AS cap, avg(n.lmp) AS avg_lmp,
                   count(DISTINCT run_id) AS runs
              FROM nodal_prices n JOIN runs r USING (run_id)
             GROUP BY cap ORDER BY cap""").df()
        assert list(q["cap"]) == [40.0, 55.0] and list(q["runs"]) == [2, 2]
        ir = con.execute("SELECT run_id, ir_demand_curve_cap_usd_per_mwh, iru_relaxed_mwh, "
                         "avg_iru_price FROM runs ORDER BY run_id").df()
    # the same numbers straight from the run folders
    expect = {}
    for rid in _done_dirs(store):
        run = read_run(store / "runs" / rid)
        cap = run.manifest["parameters"]["ir_demand_curve_cap_usd_per_mwh"]
        expect.setdefault(cap, []).append(run.tables["nodal_prices"]["lmp"])
    for cap, avg in zip(q["cap"], q["avg_lmp"]):
        assert avg == pytest.approx(pd.concat(expect[cap]).mean())
    assert ir["iru_relaxed_mwh"].notna().all()

    # results identical to a serial run of the same inputs, in this process
    for spec in plan(parse_sweep(f), Store(store)):
        serial = _serial_tables(spec.to_dict(), tmp_path / "serial" / spec.run_id)
        swept = read_run(store / "runs" / spec.run_id)
        assert sorted(serial.tables) == sorted(swept.tables)
        for name in serial.tables:
            pd.testing.assert_frame_equal(serial.tables[name], swept.tables[name],
                                          check_exact=False, rtol=1e-9, atol=1e-9, obj=name)
        for key in ("input_hash", "parameters", "scenario"):
            assert serial.manifest[key] == swept.manifest[key]
        assert serial.manifest["solver"]["objective_mip"] == pytest.approx(
            swept.manifest["solver"]["objective_mip"], rel=1e-9)
        assert swept.manifest["run_id"] == spec.run_id
    assert runs_command(store) == 0


@pytest.mark.dask
@pytest.mark.timeout(900)
def test_crashed_solve_on_cluster_recorded_then_retried(tmp_path, dask_cluster):
    dask_cluster.ensure_workers(1)
    f = _sweep_file(tmp_path, f"""
name: crash
scenarios: [{EXAMPLE}]
list:
  - {{ir_deployed_proportion: 0.123}}
  - {{ir_deployed_proportion: 0.2}}
""")
    store = tmp_path / "store"
    dask_cluster.flag.write_text("crash")
    try:
        assert sweep_command(f, store, scheduler=dask_cluster.address) == 1
    finally:
        dask_cluster.flag.unlink()
    assert len(_done_dirs(store)) == 1
    (rec_path,) = (store / "failed").glob("*.json")
    rec = json.loads(rec_path.read_text())
    assert "injected solver crash" in rec["error"] and rec["attempts"] == 1
    with duckdb.connect(str(store / "catalogue.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT status, ir_deployed_proportion, error FROM runs "
                           "ORDER BY ir_deployed_proportion").fetchall()
    assert rows[0][:2] == ("failed", 0.123) and "injected" in rows[0][2]
    assert rows[1][:2] == ("done", 0.2)
    outcome = run_sweep(f, store, scheduler=dask_cluster.address, progress=False)
    assert outcome.already_done == [rows_id for rows_id in _done_dirs(store)
                                    if rows_id != rec["run_id"]]
    assert outcome.done == [rec["run_id"]] and not outcome.failed
    assert not list((store / "failed").glob("*.json")) and len(_done_dirs(store)) == 2


@pytest.mark.dask
@pytest.mark.timeout(900)
def test_default_local_cluster_loopback_no_dashboard(tmp_path):
    import psutil

    from clearing.runs.sweep import _client, _close

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    client, cluster = _client(2, None)
    try:
        info = client.scheduler_info()
        assert info["address"].startswith("tcp://127.0.0.1:")
        assert len(info["workers"]) == 2
        assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
        assert all(w["nthreads"] == 1 for w in info["workers"].values())
        # no dashboard application, and every listening socket of the cluster on loopback
        routes = [str(r.matcher.regex.pattern) for r in
                  cluster.scheduler.http_application.default_router.rules
                  for r in getattr(r.target, "rules", [r])]
        assert not any(r.startswith("/status") for r in routes), routes  # bokeh's pages
        ours = [p for p in me.children(recursive=True) if p.pid not in before]
        listening = [c.laddr for c in me.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN] + _listening(ours)
        assert len(listening) >= 3 and all(a.ip == "127.0.0.1" for a in listening), listening
    finally:
        _close(client, cluster)
    f = _sweep_file(tmp_path, f"""
scenarios: [{EXAMPLE}]
phases: [1, 2]
""")
    store = tmp_path / "store"
    assert sweep_command(f, store, workers=2) == 0
    assert len(_done_dirs(store)) == 2
    with duckdb.connect(str(store / "catalogue.duckdb"), read_only=True) as con:
        assert sorted(r[0] for r in con.execute("SELECT phase FROM runs").fetchall()) == [1, 2]
