"""Tests of run comparison (clearing/analysis/compare.py) and the OASIS import (clearing/analysis/oasis.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from clearing.analysis.compare import (compare_command, compare_runs, default_tolerance,
                              load_tolerances, tolerance_for)
from clearing.analysis.oasis import day_hours, hour_ending, import_oasis, read_oasis
from clearing.results import read_run, write_run
from scenarios import bundled, load_scenario, write_scenario

ROOT = Path(__file__).resolve().parents[1]
OASIS_EXAMPLE = ROOT / "docs" / "examples" / "oasis_example_11_1.csv"


@pytest.fixture
def run_dirs(tiny_case, tmp_path):
    """The hand-made run written as RUN and as a reference copy REF (scenario in the manifest)."""
    scenario, run = tiny_case
    run.manifest["scenario_dir"] = str(write_scenario(scenario, tmp_path / "scenario"))
    write_run(run, tmp_path / "run")
    shutil.copytree(tmp_path / "run", tmp_path / "ref")
    return tmp_path / "run", tmp_path / "ref"


def edit(ref_dir: Path, table: str, fn) -> None:
    df = pd.read_csv(ref_dir / f"{table}.csv")
    fn(df).to_csv(ref_dir / f"{table}.csv", index=False)


def test_run_against_itself(run_dirs, capsys):
    run, ref = run_dirs
    rep = compare_runs(run, ref)
    assert rep.passed, rep.failures
    s = rep.summary()
    assert len(s) > 20 and s["max_abs"].fillna(0).eq(0).all() and s["passed"].all()
    assert all(len(t.only_run) == len(t.only_reference) == 0 for t in rep.tables.values())
    assert rep.commitment is not None and rep.commitment.empty
    assert rep.rse is not None and rep.rse.empty
    assert rep.settlement["diff_usd"].eq(0).all()
    assert rep.reference_violations is not None and rep.reference_violations.empty
    assert compare_command(run, ref) == 0
    cmp = run.parent / "run_compare"  # beside the run: the run's folder is a record
    assert (cmp / "compare.md").exists()
    html = (cmp / "compare.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "PASS" in html
    assert "http" not in html and "<script" not in html  # self-contained, no network
    assert "PASS" in capsys.readouterr().out


def test_lmp_changed_by_5_fails_and_names_bus_and_hour(run_dirs, tmp_path, capsys):
    run, ref = run_dirs
    edit(ref, "nodal_prices", lambda d: d.assign(lmp=d["lmp"].where(
        ~((d["bus"] == "b1") & (d["hour"] == 3)), d["lmp"] + 5.0)))
    rep = compare_runs(run, ref)
    assert not rep.passed
    col = next(c for c in rep.tables["nodal_prices"].columns if c.column == "lmp")
    assert col.over_tolerance == 1 and col.max_abs == pytest.approx(5.0)
    w = col.worst.iloc[0]
    assert (w["bus"], int(w["hour"]), w["run"], w["reference"]) == ("b1", 3, 40.0, 45.0)
    assert col.rmse == pytest.approx((25 / 12) ** 0.5)
    assert col.max_rel == pytest.approx(5 / 45)
    assert any("bus b1 hour 3" in f for f in rep.failures)
    # the checker vets the reference: its LMP no longer adds up, and at $45 G2's $40 offer would
    # run more (reported, not failed)
    assert set(rep.reference_violations["rule"]) == {"lmp_components", "profit"}
    assert compare_command(run, ref, out=tmp_path / "cmp") == 1
    out = capsys.readouterr().out
    assert "bus b1 hour 3" in out and "FAIL" in out
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "bus b1 hour 3" in md and "Reference vetted by the checker" in md


def test_tolerance_file_overrides(run_dirs, tmp_path):
    run, ref = run_dirs
    edit(ref, "nodal_prices", lambda d: d.assign(lmp=d["lmp"] + 0.5 * (d["bus"] == "b1")))
    assert not compare_runs(run, ref).passed
    f = tmp_path / "tol.yaml"
    f.write_text("nodal_prices.lmp: 1.0\n")
    assert load_tolerances(f) == {"nodal_prices.lmp": 1.0}
    assert compare_command(run, ref, tolerances_file=f) == 0
    f.write_text("nodal_prices:\n  lmp: 0.1\n")
    assert compare_command(run, ref, tolerances_file=f, overwrite=True) == 1


def test_default_tolerances():
    assert default_tolerance("lmp") == (0.01, "$/MWh")
    assert default_tolerance("price_usd_per_mwh")[0] == 0.01
    assert default_tolerance("energy_mw") == (0.1, "MW")
    assert default_tolerance("amount_usd") == (1.0, "$")
    assert default_tolerance("committed")[0] == 0.5
    o = {"schedules.*": 1.0, "*.energy_mw": 2.0, "schedules.energy_mw": 3.0}
    assert tolerance_for("schedules", "energy_mw", o) == 3.0
    assert tolerance_for("schedules", "iru_mw", o) == 1.0
    assert tolerance_for("baa_summary", "energy_mw", o) == 2.0


def test_missing_hour_reports_the_missing_rows(run_dirs):
    run, ref = run_dirs
    edit(ref, "nodal_prices", lambda d: d[d["hour"] != 2])
    rep = compare_runs(run, ref)
    t = rep.tables["nodal_prices"]
    assert not rep.passed
    assert sorted(t.only_run["bus"]) == ["a1", "a2", "b1"] and set(t.only_run["hour"]) == {2}
    assert t.only_reference.empty and t.matched == 9
    md = rep.to_markdown()
    assert "nodal_prices: rows only in the run" in md
    # a reference that covers only part of the rows may be declared partial
    assert compare_runs(run, ref, partial_reference=True).passed
    # rows the run lacks always fail
    assert not compare_runs(ref, run, partial_reference=True).passed


def test_commitment_rse_settlement_differences(run_dirs):
    run, ref = run_dirs
    edit(ref, "schedules", lambda d: d.assign(committed=d["committed"].where(
        ~((d["resource"] == "G2") & (d["hour"] >= 3)), 0)))
    edit(ref, "rse", lambda d: d.assign(passed=d["passed"].where(
        ~((d["baa"] == "B") & (d["hour"] == 4)), False)))
    edit(ref, "settlement",
         lambda d: d.assign(amount_usd=d["amount_usd"] + 10.0 * (d["baa"] == "A")))
    rep = compare_runs(run, ref)
    assert len(rep.commitment) == 2 and set(rep.commitment["resource"]) == {"G2"}
    assert rep.rse[["baa", "test", "hour"]].values.tolist() == [["B", "up", 4]]
    row = rep.settlement.iloc[0]
    assert row["charge"] == "energy" and row["diff_usd"] == pytest.approx(-40.0) and not row["ok"]
    text = "\n".join(rep.failures)
    assert "commitment: 2 unit-hours" in text and "rse: 1 pass/fail" in text
    assert "settlement: totals differ for charges energy" in text


def test_reference_violations_fail_only_when_asked(run_dirs):
    run, ref = run_dirs
    edit(ref, "schedules", lambda d: d.assign(energy_mw=d["energy_mw"].where(
        ~((d["resource"] == "G1") & (d["hour"] == 1)), 80.05)))  # within 0.1 MW, unbalanced
    rep = compare_runs(run, ref)
    assert rep.passed
    assert set(rep.reference_violations["rule"]) >= {"balance"}
    assert not compare_runs(run, ref, fail_on_reference_violations=True).passed
    assert compare_command(run, ref, strict_reference=True) == 1


def test_subset_reference_and_missing_table(run_dirs, tmp_path):
    run, ref = run_dirs
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(ref / "nodal_prices.csv", sub / "nodal_prices.csv")  # no manifest at all
    rep = compare_runs(run, sub)
    assert rep.passed and list(rep.tables) == ["nodal_prices"]
    shutil.copy(ref / "schedules.csv", sub / "schedules.csv")
    (run / "schedules.csv").unlink()
    rep = compare_runs(run, sub)
    assert not rep.passed and rep.missing_in_run == ["schedules"]


# --- OASIS ---------------------------------------------------------------------------------------
def test_hour_ending_in_local_prevailing_time():
    starts = pd.Series(["2026-06-01T07:00-00:00", "2026-06-02T06:00-00:00"])  # PDT
    assert hour_ending(starts, "2026-06-01").tolist() == [1, 24]
    assert hour_ending(pd.Series(["2026-01-15T08:00-00:00"]), "2026-01-15").tolist() == [1]  # PST
    assert hour_ending(pd.Series(["2026-06-01T05:00-00:00"]), "2026-06-01",
                       "America/New_York").tolist() == [2]
    assert day_hours("2026-03-08") == 23 and day_hours("2026-11-01") == 25
    # spring forward: the interval after 01:00 PST starts at 03:00 PDT and is hour 3 of 23
    assert hour_ending(pd.Series(["2026-03-08T10:00-00:00"]), "2026-03-08").tolist() == [3]


def test_oasis_example_import(tmp_path):
    tables, stats = read_oasis([OASIS_EXAMPLE], "2026-06-01")
    n = tables["nodal_prices"].set_index("bus")
    assert n.loc["A1", ["lmp", "energy", "congestion", "loss"]].tolist() == [20, 50, -30, 0]
    assert n.loc["B1", "lmp"] == 50 and (n["hour"] == 1).all() and n.loc["A1", "baa"] == "A"
    pp = tables["product_prices"]
    assert sorted(pp["product"].unique()) == ["iru", "ru"]
    assert stats["dropped_other_market_run"] == 1 and stats["dropped_other_date"] == 1
    out = import_oasis([OASIS_EXAMPLE], tmp_path / "ref", "2026-06-01")
    ref = read_run(out)
    assert ref.manifest["source"] == "oasis" and set(ref.tables) == {"nodal_prices",
                                                                    "product_prices"}


def test_hand_written_oasis_fixture_compares_with_hand_made_run(run_dirs, tmp_path):
    """OASIS rows for the tiny run's three buses, hours 1-4 (PDT: 07:00Z is hour 1), with MCE,
    MCC, MCL and LMP rows and an XML_DATA_ITEM-style file for one bus."""
    run, _ = run_dirs
    lines = ["INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,NODE,MARKET_RUN_ID,LMP_TYPE,MW"]
    for h in range(1, 5):
        start = f"2026-06-01T{6 + h:02d}:00-00:00"
        end = f"2026-06-01T{7 + h:02d}:00-00:00"
        for bus, lmp in (("a1", 20.0), ("a2", 20.0)):
            for typ, v in (("LMP", lmp), ("MCE", 20.0), ("MCC", lmp - 20.0), ("MCL", 0.0)):
                lines.append(f"{start},{end},{bus},DAM,{typ},{v}")
    f1 = tmp_path / "prc_lmp_a.csv"
    f1.write_text("\n".join(lines) + "\n")
    lines = ["INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,NODE_ID,MARKET_RUN_ID,XML_DATA_ITEM,VALUE"]
    for h in range(1, 5):
        start, end = f"2026-06-01T{6 + h:02d}:00-00:00", f"2026-06-01T{7 + h:02d}:00-00:00"
        price = 45.0 if h == 3 else 40.0  # hour 3 differs from the run by $5
        for item, v in (("LMP_PRC", price), ("LMP_ENE_PRC", 20.0),
                        ("LMP_CONG_PRC", price - 20.0), ("LMP_LOSS_PRC", 0.0)):
            lines.append(f"{start},{end},b1,DAM,{item},{v}")
    f2 = tmp_path / "prc_lmp_b.csv"
    f2.write_text("\n".join(lines) + "\n")
    ref = import_oasis([f1, f2], tmp_path / "oasis_ref", "2026-06-01")
    rep = compare_runs(run, ref)
    t = rep.tables["nodal_prices"]
    assert t.matched == 12 and t.only_run.empty and t.only_reference.empty
    bad = {c.column: c for c in t.columns if not c.passed}
    assert set(bad) == {"lmp", "congestion"}
    w = bad["lmp"].worst.iloc[0]
    assert (w["bus"], int(w["hour"]), w["diff"]) == ("b1", 3, -5.0)
    assert rep.reference_violations is not None and rep.reference_violations.empty


# --- end to end with the engine -------------------------------------------------------------------
@pytest.fixture(scope="module")
def solved_11_1(tmp_path_factory):
    api = pytest.importorskip("clearing.api")
    d = tmp_path_factory.mktemp("e2e") / "run_11_1"
    write_run(api.solve(load_scenario(bundled("example_11_1"))), d)
    return d


def test_solved_run_against_itself_and_changed_copy(solved_11_1, tmp_path):
    assert compare_command(solved_11_1, solved_11_1, out=tmp_path / "self") == 0
    ref = tmp_path / "ref"
    shutil.copytree(solved_11_1, ref)
    edit(ref, "nodal_prices", lambda d: d.assign(lmp=d["lmp"] + 5.0 * (d["bus"] == "B1")))
    rep = compare_runs(solved_11_1, ref)
    assert not rep.passed and any("bus B1 hour 1" in f for f in rep.failures)


def test_oasis_example_against_solved_example_11_1(solved_11_1, tmp_path):
    ref = import_oasis([OASIS_EXAMPLE], tmp_path / "oasis", "2026-06-01")
    rep = compare_runs(solved_11_1, ref, partial_reference=True)
    assert rep.passed, rep.failures
    n = rep.tables["nodal_prices"]
    assert n.matched == 2 and all(c.max_abs == 0 for c in n.columns if c.kind == "numeric")
    assert rep.tables["product_prices"].matched == 4
    assert rep.reference_violations is not None and rep.reference_violations.empty
