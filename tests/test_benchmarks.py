"""Benchmark harness and the tiled scaling footprints (benchmarks/__main__.py,
benchmarks/scaling.py). Small cases only: K = 3 and 6 on 2 hours."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import __main__ as bench
from benchmarks.scaling import (ETSR_LIMIT_MW, TIE_BUSES, TIE_RATING_MW, base_day,
                                tiled_footprint, truncate_hours)
from scenarios.build import make_scenario

ROOT = Path(__file__).resolve().parents[1]
H = 2


@pytest.fixture(scope="module")
def k3():
    return tiled_footprint(3, hours=H)


@pytest.fixture(scope="module")
def k6():
    return tiled_footprint(6, hours=H)


def test_tiled_k6_is_twice_k3_and_validates(k3, k6):
    # both pass the loader's validation again from their bare tables
    for sc in (k3, k6):
        again = make_scenario(sc.tables, hours=sc.hours)
        assert again.tables.keys() == sc.tables.keys()
        assert all(again.tables[n].equals(sc.tables[n]) for n in sc.tables)
    day = base_day()
    assert len(k3.buses) == len(day.buses) and len(k3.resources) == len(day.resources)
    assert len(k3.branches) == len(day.branches) and len(k3.interfaces) == len(day.interfaces)
    assert len(k6.buses) == 2 * len(k3.buses)
    assert len(k6.resources) == 2 * len(k3.resources)
    assert len(k6.thermal) == 2 * len(k3.thermal)  # binaries grow with the thermal units
    ties = k6.branches["branch"].str.startswith("TIE_")
    assert (~ties).sum() == 2 * len(k3.branches)
    assert ties.sum() == len(TIE_BUSES)  # one joint between the two copies
    assert (k6.branches.loc[ties, "rating_mw"] == TIE_RATING_MW).all()
    # ETSRs: each copy's six, plus a directed pair per area between neighbouring copies
    assert len(k6.interfaces) == 2 * len(k3.interfaces) + 2 * 3
    cross = k6.interfaces[k6.interfaces["from_baa"].str.split("_").str[0]
                          == k6.interfaces["to_baa"].str.split("_").str[0]]
    assert set(zip(cross["from_baa"], cross["to_baa"])) == {
        (a, f"{a}_c1") for a in ("CISO", "PACW", "PGE")} | {(f"{a}_c1", a)
                                                           for a in ("CISO", "PACW", "PGE")}
    lim = k6.interface_hours[k6.interface_hours["interface"].isin(cross["interface"])]
    assert len(lim) == 6 * H and (lim["limit_mw"] == ETSR_LIMIT_MW).all()
    # names: copy 0 keeps them, copy 1 is suffixed; CISO is the one reference BAA
    assert set(k6.baas["baa"]) == {"CISO", "PACW", "PGE", "CISO_c1", "PACW_c1", "PGE_c1"}
    assert list(k6.baas.loc[k6.baas["is_reference"], "baa"]) == ["CISO"]
    assert "121_c1" in set(k6.buses["bus"]) and "101_CT_1_c1" in set(k6.resources["resource"])
    assert dict(zip(k6.buses["bus"], k6.buses["baa"]))["121_c1"] == "CISO_c1"
    assert len(k6.baas) == 6 and tiled_footprint(12, hours=1).baas.shape[0] == 12


def test_tiled_truncation_and_perturbation(k6):
    day = truncate_hours(base_day(), H)
    for name, df in k6.tables.items():
        if "hour" in df.columns:
            assert set(df["hour"]) == set(range(1, H + 1)), name
    # demand perturbed consistently: bus demand, forecast and requirements share the factor
    bh = k6.baa_hours.set_index(["baa", "hour"])
    base_bh = day.baa_hours.set_index(["baa", "hour"])
    f = bh.loc[("PACW_c1", 2), "demand_forecast_mw"] / base_bh.loc[("PACW", 2), "demand_forecast_mw"]
    assert f != 1.0 and abs(f - 1) < 0.2
    assert bh.loc[("PACW_c1", 2), "sr_requirement_mw"] == pytest.approx(
        f * base_bh.loc[("PACW", 2), "sr_requirement_mw"])
    dem = k6.demand.set_index(["bus", "hour"])["fixed_demand_mw"]
    base_dem = day.demand.set_index(["bus", "hour"])["fixed_demand_mw"]
    pacw = day.buses.loc[day.buses["baa"] == "PACW", "bus"]
    num = sum(dem[(b + "_c1", 2)] for b in pacw if (b, 2) in base_dem.index)
    den = sum(base_dem[(b, 2)] for b in pacw if (b, 2) in base_dem.index)
    assert num / den == pytest.approx(f)
    # VER forecasts perturbed within [0, static Pmax]; other resources' hours untouched
    res = k6.resources.set_index("resource")
    rh = k6.resource_hours.join(res[["type", "pmax_mw"]].rename(columns={"pmax_mw": "cap"}),
                                on="resource")
    ver = rh[rh["type"] == "ver"]
    assert (ver["pmax_mw"] >= 0).all() and (ver["pmax_mw"] <= ver["cap"] + 1e-9).all()
    base_rh = day.resource_hours.set_index(["resource", "hour"])["pmax_mw"]
    hyd = rh[rh["type"] == "hydro"]
    for r, t, v in zip(hyd["resource"], hyd["hour"], hyd["pmax_mw"]):
        b = base_rh[(r.removesuffix("_c1"), t)]
        assert (math.isnan(v) and math.isnan(b)) or v == b
    changed = [v != base_rh[(r.removesuffix("_c1"), t)]
               for r, t, v in zip(ver["resource"], ver["hour"], ver["pmax_mw"])
               if base_rh[(r.removesuffix("_c1"), t)] > 0]
    assert changed and np.mean(changed) > 0.9


def test_tiled_deterministic(k6):
    again = tiled_footprint(6, seed=0, hours=H)
    assert again == k6 and again.input_hash() == k6.input_hash()
    other = tiled_footprint(6, seed=1, hours=H)
    assert not other.demand["fixed_demand_mw"].equals(k6.demand["fixed_demand_mw"])
    # and independent of Python's hash seed (a fresh interpreter with another one)
    code = ("from benchmarks.scaling import tiled_footprint; "
            f"print(tiled_footprint(6, seed=0, hours={H}).input_hash())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == k6.input_hash()


def test_tiled_rejects_bad_k():
    for k in (0, 4, 7):
        with pytest.raises(ValueError):
            tiled_footprint(k, hours=1)


def test_parse_cases_and_bad_arguments(tmp_path):
    assert bench.parse_cases("rts_day, tiled:6,pglib:ca/2014-09-01_reserves_0") == [
        "rts_day", "tiled:6", "pglib:ca/2014-09-01_reserves_0"]
    for bad in ("tiled:4", "tiled:x", "nope", "pglib:", "tiled:3,tiled:3"):
        with pytest.raises(ValueError):
            bench.parse_cases(bad)
    with pytest.raises(FileNotFoundError):
        bench.parse_cases("pglib:no/such")
    assert bench.main(["--cases", "tiled:5", "--out", str(tmp_path)]) == 2
    assert bench.main(["--", "--cases", "tiled:5", "--out", str(tmp_path)]) == 2  # edam bench --
    assert not any(tmp_path.iterdir())  # nothing partial written


def test_truncate_pglib_matches_the_imported_scenario():
    from benchmarks.pglib_reference import instance_path, load_instance
    data = load_instance(instance_path("rts_gmlc/2020-07-06"))
    cut = bench.truncate_pglib(data, 3)
    assert cut["time_periods"] == 3 and len(cut["demand"]) == 3 and len(cut["reserves"]) == 3
    w = next(iter(cut["renewable_generators"].values()))
    assert len(w["power_output_maximum"]) == 3 and len(w["power_output_minimum"]) == 3
    assert data["time_periods"] == 48 and len(data["demand"]) == 48  # original untouched
    assert bench.truncate_pglib(data, None) is data


def test_summary_takes_timings_from_timed_runs_and_memory_from_traced():
    base = {c: math.nan for c in bench.NUMERIC}
    rows = [dict(base, case="c", engine="edam", run=1, timed=True, status="ok", tracemalloc=False,
                 wall_s=10.0, build_s=1.0, maxrss_mb=300.0),
            dict(base, case="c", engine="edam", run=2, timed=True, status="ok", tracemalloc=False,
                 wall_s=12.0, build_s=3.0, maxrss_mb=310.0),
            dict(base, case="c", engine="edam", run=3, timed=False, status="ok", tracemalloc=True,
                 wall_s=60.0, build_s=9.0, maxrss_mb=400.0, peak_python_mb=120.0)]
    (s,) = bench.summarise(rows)
    assert s["runs"] == 2 and s["wall_s"] == 11.0 and s["build_s"] == 2.0
    assert s["maxrss_mb"] == 305.0 and s["peak_python_mb"] == 120.0


def test_cli_smoke_tiled3(tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "benchmarks", "--cases", "tiled:3", "--hours", "2",
           "--repeat", "1", "--out", str(out), "--memory", "off"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "bench.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    required = ["case", "variables", "constraints", "binaries", "build_s", "handoff_s",
                "solve_s", "pricing_s", "objective", "gap", "peak_python_mb", "maxrss_mb",
                "pyomo", "highspy", "highs"]
    assert set(required) <= set(rows[0]) and list(rows[0]) == bench.COLUMNS
    assert len(rows) == 1
    r = rows[0]
    assert r["case"] == "tiled:3" and r["status"] == "ok" and r["hours"] == "2"
    for c in ("variables", "constraints", "binaries"):
        assert int(r[c]) > 0
    for c in ("build_s", "handoff_s", "solve_s", "pricing_s", "wall_s", "maxrss_mb"):
        assert float(r[c]) > 0, c
    assert float(r["objective"]) > 0 and 0 <= float(r["gap"]) <= 0.001 + 1e-12
    # the RUC is a MIP of its own: its gap, bound and share of the HiGHS time are recorded
    assert r["ruc_termination"] == "convergenceCriteriaSatisfied"
    assert 0 <= float(r["ruc_gap"]) <= 0.001 + 1e-12
    assert float(r["ruc_bound"]) <= float(r["ruc_objective"]) + 1e-6
    assert 0 < float(r["ruc_solve_s"]) < float(r["solve_s"])
    # issue 20: the IFM / RUC split adds up, and the ratio is the RUC's over the IFM's
    assert float(r["ifm_solve_s"]) + float(r["ruc_solve_s"]) == pytest.approx(float(r["solve_s"]))
    assert float(r["ruc_over_ifm_solve"]) == pytest.approx(
        float(r["ruc_solve_s"]) / float(r["ifm_solve_s"]))
    assert float(r["ifm_pricing_s"]) + float(r["ruc_pricing_s"]) == pytest.approx(
        float(r["pricing_s"]))
    assert float(r["ifm_handoff_s"]) + float(r["ruc_handoff_s"]) == pytest.approx(
        float(r["handoff_s"]))
    assert float(r["ifm_build_s"]) + float(r["ruc_build_s"]) == pytest.approx(float(r["build_s"]))
    assert (r["completion"], r["stopped_at_limit"], r["seed"]) == ("solved", "False", "0")
    assert "RUC gap" in (out / "bench.md").read_text()
    assert r["pyomo"] == metadata.version("pyomo") and r["highspy"] == metadata.version("highspy")
    doc = json.loads((out / "bench.json").read_text())
    assert "python -m benchmarks --cases tiled:3 --hours 2" in doc["command"]
    assert doc["columns"] == bench.COLUMNS and doc["versions"]["pyomo"] == r["pyomo"]
    assert doc["summary"][0]["runs"] == 1 and doc["machine"]["cpus"]
    html = (out / "scaling.html").read_text()
    assert "plotly" in html.lower() and len(html) > 100_000  # plotly.js inlined
    # --redraw rebuilds bench.md and the chart from bench.json alone: the same table
    table = [ln for ln in (out / "bench.md").read_text().splitlines() if ln.startswith("| tiled")]
    (out / "scaling.html").unlink()
    assert bench.main(["--redraw", str(out)]) == 0
    md = (out / "bench.md").read_text()
    assert "redrawn from bench.json" in md and "--cases tiled:3" in md
    assert [ln for ln in md.splitlines() if ln.startswith("| tiled")] == table
    assert "of which RUC" in (out / "scaling.html").read_text()
    md = (out / "bench.md").read_text()
    assert doc["command"] in md
    (line,) = [ln for ln in md.splitlines() if ln.startswith("| tiled:3 | edam |")]
    assert f"| {float(r['wall_s']):.2f} |" in line
    if shutil.which("chromium"):  # CI installs it: the PNG chart is a screenshot of the HTML
        assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the time split adds up to the wall time
    parts = sum(float(r[c]) for c in ("input_s", "prepare_s", "build_s", "handoff_s", "solve_s",
                                      "pricing_s", "other_s"))
    assert parts == pytest.approx(float(r["wall_s"]), rel=1e-6)


def test_memory_probe_reports_tracemalloc_and_rss():
    import tracemalloc
    tracemalloc.start()
    _ = [pd.DataFrame({"x": range(1000)}) for _ in range(5)]
    mem = bench._memory(True)
    assert mem["peak_python_mb"] > 0 and mem["maxrss_mb"] > 10 and mem["tracemalloc"] is True
    assert not tracemalloc.is_tracing()


_MODEL_FINGERPRINT = """
import hashlib, sys, tempfile, os
from benchmarks.scaling import base_day, truncate_hours
from clearing.market.data import prepare
from clearing.market.ifm import build_ifm
from network.ptdf import scenario_ptdf
from network.transmission import make_monitor
sc = truncate_hours(base_day(), 3)
b = build_ifm(prepare(sc))
mon = make_monitor(b, scenario_ptdf(sc), ("base", "dep_up", "dep_down"))
mon.add_rows([(k, l, t) for k in mon.kinds for l in mon.sets.get(k, [])[:20] for t in b.T])
b.m.obj.expr = b.objective_expr()
fn = os.path.join(tempfile.mkdtemp(), "ifm.lp")
b.m.write(fn, io_options={"symbolic_solver_labels": True})
print(hashlib.sha256(open(fn, "rb").read()).hexdigest())
"""


def test_model_is_independent_of_the_hash_seed():
    """Issue 10: the engine builds the same model (same rows, columns, order and coefficients,
    hence the same HiGHS path) whatever Python's hash seed: the LP file Pyomo writes of the
    bundled day's IFM (3 hours, with network rows of every kind) is byte-identical under two
    seeds."""
    digests = set()
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", _MODEL_FINGERPRINT], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip().splitlines()[-1])
    assert len(digests) == 1
