"""Tests of the phase-to-phase runs (clearing/analysis/phases.py, spec §10)."""

from __future__ import annotations

import copy
import sys

import pandas as pd
import pytest

from clearing.analysis.phases import phase3_available, phases_command, run_phases
from clearing.results import read_run
from scenarios import bundled, load_scenario, write_scenario


def test_run_phases_with_hand_made_runs(tiny_case, tmp_path, monkeypatch):
    """Phases 1 and 2 from a stand-in solver; phase 3 skipped with a note when clearing.market.rt is
    missing."""
    scenario, run = tiny_case
    monkeypatch.setitem(sys.modules, "clearing.market.rt", None)  # import clearing.market.rt -> ImportError
    seen = []

    def fake_solve(sc):
        seen.append(sc.parameters.phase)
        r = copy.deepcopy(run)
        r.manifest["solver"]["objective_mip"] = {1: 2000.0, 2: 1500.0}[sc.parameters.phase]
        if sc.parameters.phase == 1:
            r.tables["transfers"]["mw"] = 0.0
        return r

    rep = run_phases(scenario, tmp_path / "ph", solve=fake_solve)
    assert seen == [1, 2]
    assert sorted(rep.runs) == [1, 2] and any("phase 3 skipped" in n for n in rep.notes)
    assert rep.total_cost(1) == 2000.0 and rep.total_cost(2) == 1500.0
    assert read_run(tmp_path / "ph" / "phase2").manifest["solver"]["objective_mip"] == 1500.0
    t = pd.read_csv(tmp_path / "ph" / "phases.csv")
    assert {"metric", "item", "unit", "phase1", "phase2", "change_2_vs_1"} <= set(t.columns)
    assert rep.value("transfer_mwh", "AB", 1) == 0.0
    assert rep.value("transfer_mwh", "AB", 2) == 90.0
    assert rep.value("average_lmp", "B", 2) == 40.0
    assert rep.value("load_weighted_lmp", "A", 2) == 20.0
    assert rep.value("iru_price_avg", "A", 2) == 0.0
    assert rep.value("rse_failed_hours", "A", 2) == 0.0
    md = (tmp_path / "ph" / "phases.md").read_text()
    for part in ("## total_cost", "## average_lmp", "## transfer_mwh", "## iru_price_avg",
                 "## rse_failed_hours", "phase 3 skipped"):
        assert part in md


def test_phase3_runs_when_available(tiny_case, tmp_path, monkeypatch):
    scenario, run = tiny_case
    import types
    monkeypatch.setitem(sys.modules, "clearing.market.rt", types.SimpleNamespace(run_phase3=None))
    assert phase3_available() == (True, "")
    rep = run_phases(scenario, tmp_path / "ph", solve=lambda sc: copy.deepcopy(run))
    assert sorted(rep.runs) == [1, 2, 3] and "change_3_vs_2" in rep.table


# --- end to end with the engine ---------------------------------------------------------------
def test_example_11_1_phases(tmp_path, capsys):
    pytest.importorskip("clearing.api")
    sdir = write_scenario(load_scenario(bundled("example_11_1")), tmp_path / "scenario")
    assert phases_command(sdir, tmp_path / "ph", {}) == 0
    out = capsys.readouterr().out
    assert "phase 1" in out and "phase 2" in out
    t = pd.read_csv(tmp_path / "ph" / "phases.csv").set_index(["metric", "item"])
    # spec §11.1: phase 1 cost $13,500 (no transfer), phase 2 $10,500 (100 MW A->B)
    assert t.loc[("total_cost", "IFM objective"), "phase1"] == pytest.approx(13500.0)
    assert t.loc[("total_cost", "IFM objective"), "phase2"] == pytest.approx(10500.0)
    assert t.loc[("transfer_mwh", "A_B"), "phase1"] == 0.0
    assert t.loc[("transfer_mwh", "A_B"), "phase2"] == pytest.approx(100.0)
    assert t.loc[("average_lmp", "A"), "phase2"] == pytest.approx(20.0)
    assert t.loc[("average_lmp", "B"), "phase2"] == pytest.approx(50.0)
    assert (tmp_path / "ph" / "phase1" / "manifest.json").exists()


@pytest.mark.slow
def test_bundled_day_phase2_costs_no_more_than_phase1(rts_day_run, tmp_path):
    """Economic transfers can only lower the bid-based cost (phase 2 relaxes phase 1's x = 0),
    up to the MIP gap. Phase 2 reuses the shared session run."""
    scenario, run2 = rts_day_run
    api = pytest.importorskip("clearing.api")

    def solve(sc):
        return run2 if sc.parameters.phase == scenario.parameters.phase == 2 else api.solve(sc)

    rep = run_phases(scenario, tmp_path / "ph", phases=(1, 2), solve=solve)
    c1, c2 = rep.total_cost(1), rep.total_cost(2)
    gap = float(scenario.parameters.mip_rel_gap)
    assert c2 <= c1 + gap * abs(c1), (c1, c2)
    assert rep.value("transfer_mwh", "all interfaces", 1) == pytest.approx(0.0, abs=1e-6)
