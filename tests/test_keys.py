"""Unique keys in every table (architecture.md, "Results contract"; issue 16 defects 3 and 4) and
runs as records (issue 17): `edam settle`, `edam report` and `edam compare` write beside a run,
never into it.

Keys are declared once, in `clearing.results.RESULT_TABLES`; `edam compare` matches rows on them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from clearing.cli import main as edam
from clearing.analysis.compare import compare_command, compare_runs, compare_table
from clearing.outputs import MARKER, OutputPathError, output_kind
from clearing.results import RESULT_TABLES, RunResult, duplicate_key_rows, read_run, write_run
from clearing.analysis.settle import settle, settle_command
from scenarios import ScenarioError, bundled, load_scenario, write_scenario

EXAMPLES = ("example_11_1", "example_11_2", "example_11_3", "example_11_4")


def _tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (hidden files included), by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_keys_unique(tables: dict[str, pd.DataFrame], where: str) -> None:
    """Every table is declared in RESULT_TABLES, has its key columns, and no key repeats."""
    for name, df in tables.items():
        assert name in RESULT_TABLES, f"{where}: table {name} has no declared key"
        keys = RESULT_TABLES[name][0]
        assert keys, f"{where}: table {name} declares no key columns"
        missing = [k for k in keys if k not in df.columns]
        assert not missing, f"{where}: {name} lacks key columns {missing}"
        dup = duplicate_key_rows(name, df)
        assert dup.empty, f"{where}: {name} repeats keys {list(keys)}:\n{dup.head()}"


def _with_settlement(scenario, run: RunResult) -> RunResult:
    """A phase-3 run settled as `edam solve` does it (settlement and statement tables)."""
    st = settle(scenario, run, run.tables["settlement_inputs"], run.tables.get("metered_load"),
                run.tables.get("rse"), run.tables.get("rse_distribution"))
    tables = dict(run.tables, settlement=st.table, statement=st.statement)
    return RunResult(tables=tables, manifest=dict(run.manifest))


@pytest.fixture(scope="module")
def hand_runs(tmp_path_factory):
    """The four §11 examples in phase 2 and example 11.1 in phase 3 (settled), solved once and
    written: {label: (scenario, RunResult, run folder)}."""
    api = pytest.importorskip("clearing.api")
    root = tmp_path_factory.mktemp("hand_runs")
    out = {}
    for name in EXAMPLES:
        sc = load_scenario(bundled(name))
        r = api.solve(sc)
        out[name] = (sc, r, write_run(r, root / name))
    sc3 = load_scenario(bundled("example_11_1"), {"phase": 3})
    r3 = _with_settlement(sc3, api.solve(sc3))
    out["example_11_1_phase3"] = (sc3, r3, write_run(r3, root / "example_11_1_phase3"))
    return out


# --- (a) unique keys ----------------------------------------------------------------------------
def test_hand_runs_have_unique_keys_in_every_table(hand_runs):
    for label, (sc, r, _) in hand_runs.items():
        _assert_keys_unique(r.tables, label)
    # phase 3 writes the real-time and settlement tables too
    assert {"rt_schedules", "rt_prices", "settlement_inputs", "settlement",
            "statement"} <= set(hand_runs["example_11_1_phase3"][1].tables)


def test_rse_command_tables_have_unique_keys(tmp_path):
    """`edam rse` writes rse, rse_distribution, rse_ciso_suballocation and rse_nec."""
    from clearing.market.rse import evaluate_rse, write_rse
    res = evaluate_rse(load_scenario(bundled("example_11_1")))
    files = write_rse(res, tmp_path / "rse")
    tables = {f.stem: pd.read_csv(f) for f in files}
    assert set(tables) == {"rse", "rse_distribution", "rse_ciso_suballocation", "rse_nec"}
    _assert_keys_unique(tables, "edam rse")


def test_binding_constraints_key_includes_kind():
    """A branch binding in the base case and in a deployment scenario in the same hour gives two
    rows (constraint, hour) that differ only in kind: the key (constraint, kind, hour) keeps them
    apart, and compare matches each with its own counterpart."""
    bc = pd.DataFrame([
        dict(constraint="L1", kind="branch_base", hour=5, shadow_price=12.0, flow_mw=100.0,
             limit_mw=100.0),
        dict(constraint="L1", kind="branch_dep_up", hour=5, shadow_price=3.0, flow_mw=100.0,
             limit_mw=100.0)])
    assert RESULT_TABLES["binding_constraints"][0] == ("constraint", "kind", "hour")
    assert duplicate_key_rows("binding_constraints", bc).empty
    same = compare_table("binding_constraints", bc, bc.copy())
    assert same.passed() and same.matched == 2
    # 3 -> 4 $/MWh on the deployment row only: exactly that row is reported, diff 1.0
    ref = bc.assign(shadow_price=[12.0, 4.0])
    t = compare_table("binding_constraints", bc, ref)
    sp = next(c for c in t.columns if c.column == "shadow_price")
    assert sp.over_tolerance == 1 and sp.max_abs == pytest.approx(1.0)
    assert sp.worst.iloc[0]["kind"] == "branch_dep_up"


def test_settlement_key_includes_resource(tiny_case):
    """Two resources of one SC paid in the same BAA-hour are two lines with the same
    (charge, party, baa, hour): `resource` is part of the key."""
    assert RESULT_TABLES["settlement"][0] == ("charge", "party", "resource", "baa", "hour")
    lines = pd.DataFrame([
        dict(charge="iru_award", party="SC1", resource=r, baa="A", hour=1, quantity=q,
             price=2.0, amount_usd=2.0 * q) for r, q in (("G1", 10.0), ("G2", 5.0))])
    assert duplicate_key_rows("settlement", lines).empty
    assert len(duplicate_key_rows("settlement", lines.drop(columns="resource")
                                  .assign(resource=""))) == 1


# --- (b) compare a run with itself ----------------------------------------------------------------
def test_hand_runs_compare_with_themselves(hand_runs, tmp_path):
    for label, (_, _, folder) in hand_runs.items():
        before = _tree_hashes(folder)
        out = tmp_path / f"{label}_cmp"
        assert compare_command(folder, folder, out=out) == 0, label
        assert (out / "compare.md").exists() and output_kind(out) == "compare"
        assert _tree_hashes(folder) == before, f"{label}: compare wrote into the run"
        rep = compare_runs(folder, folder)
        # every table of the run was matched row for row on its key
        assert set(rep.tables) == set(read_run(folder).tables), label
        for t in rep.tables.values():
            assert t.only_run.empty and t.only_reference.empty, (label, t.name)


def test_settlement_folder_compares_with_itself(hand_runs, tmp_path):
    """`edam settle` on the written phase-3 run; its settlement folder compared with itself."""
    folder = hand_runs["example_11_1_phase3"][2]
    run = tmp_path / "p3"
    shutil.copytree(folder, run)
    assert settle_command(str(run)) == 0
    st = tmp_path / "p3_settlement"
    tables = read_run(st).tables
    assert set(tables) == {"settlement", "statement"}
    _assert_keys_unique(tables, "edam settle")
    assert compare_command(st, st, out=tmp_path / "st_cmp") == 0


# --- (c) repeated keys are an error ---------------------------------------------------------------
def test_repeated_key_is_a_clear_error_not_a_silent_match(tiny_case, tmp_path, capsys):
    """The reference's nodal_prices gets a second row for bus b1 hour 3 (LMP 99): compare must
    not match one of the two rows at random; it names the file, the CSV row (12 data rows:
    lines 2..13, the copy is line 14, the original of (b1, 3) is line 2 + 2*4 + 2 = 12) and the
    key."""
    scenario, run = tiny_case
    run.manifest["scenario_dir"] = str(write_scenario(scenario, tmp_path / "scenario"))
    rd = write_run(run, tmp_path / "run")
    ref = tmp_path / "ref"
    shutil.copytree(rd, ref)
    np_ = pd.read_csv(ref / "nodal_prices.csv")
    assert len(np_) == 12 and list(np_["bus"][:4]) == ["a1"] * 4  # sorted by bus, then hour
    extra = np_[(np_["bus"] == "b1") & (np_["hour"] == 3)].assign(lmp=99.0)
    pd.concat([np_, extra]).to_csv(ref / "nodal_prices.csv", index=False)
    with pytest.raises(ScenarioError) as e:
        compare_runs(rd, ref)
    (p,) = e.value.problems
    assert p.file == str(ref / "nodal_prices.csv") and p.row == 14 and p.column == "bus, hour"
    assert "bus b1, hour 3" in p.found and "first at row 12" in p.found
    assert "one row per (bus, hour)" in p.expected
    # the command line: one clear message, exit 2, no comparison folder written
    assert edam(["compare", str(rd), str(ref)]) == 2
    err = capsys.readouterr().err
    assert "nodal_prices.csv, row 14" in err and "Traceback" not in err
    assert not (tmp_path / "run_compare").exists()
    # the same holds for a repeated key on the run's side, and in memory (rows counted from 1:
    # 4 resources x 4 hours = 16 rows, the copy of the first is row 17)
    with pytest.raises(ScenarioError, match="run in memory> table schedules, row 17"):
        bad = RunResult(tables=dict(run.tables, schedules=pd.concat(
            [run.tables["schedules"], run.tables["schedules"].head(1)])), manifest={})
        compare_runs(bad, run)


# --- runs are records (issue 17) ----------------------------------------------------------------
@pytest.fixture
def phase3_run(hand_runs, tmp_path):
    """A private copy of the written phase-3 hand run (CSV)."""
    run = tmp_path / "day"
    shutil.copytree(hand_runs["example_11_1_phase3"][2], run)
    return run


def test_settle_report_compare_leave_the_run_byte_identical(phase3_run, capsys):
    run = phase3_run
    before = _tree_hashes(run)
    assert edam(["settle", str(run)]) == 0
    assert edam(["compare", str(run), str(run)]) == 0
    assert edam(["report", str(run)]) == 0
    assert _tree_hashes(run) == before
    # the outputs sit beside the run, each marked as ours
    st, cmp_, page = (run.parent / "day_settlement", run.parent / "day_compare",
                      run.parent / "day_report.html")
    assert output_kind(st) == "settlement" and output_kind(cmp_) == "compare"
    assert sorted(p.name for p in st.iterdir()) == sorted(
        [MARKER, "settlement.csv", "statement.csv", "settlement_options.json"])
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert json.loads((st / MARKER).read_text())["run"] == str(run.resolve())


def test_outputs_need_overwrite_and_refuse_foreign_targets(phase3_run, capsys):
    run = phase3_run
    assert edam(["settle", str(run)]) == 0
    assert edam(["report", str(run)]) == 0
    capsys.readouterr()
    # a second run of each: only with --overwrite
    assert edam(["settle", str(run)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert edam(["settle", str(run), "--overwrite"]) == 0
    assert edam(["report", str(run)]) == 1
    assert edam(["report", str(run), "--overwrite"]) == 0
    # a folder or file of the user's is never replaced, even with --overwrite
    mine = run.parent / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    page = run.parent / "page.html"
    page.write_text("<html>mine</html>")
    before = _tree_hashes(run)
    assert edam(["settle", str(run), "--out", str(mine), "--overwrite"]) == 1
    assert edam(["compare", str(run), str(run), "--out", str(mine), "--overwrite"]) == 2
    assert edam(["report", str(run), "--out", str(page), "--overwrite"]) == 1
    assert (mine / "notes.txt").read_text() == "keep" and page.read_text() == "<html>mine</html>"
    # nor is anything written inside the run
    capsys.readouterr()
    assert edam(["settle", str(run), "--out", str(run / "settlement")]) == 1
    assert "inside the run folder" in capsys.readouterr().err
    with pytest.raises(OutputPathError, match="inside the run"):
        compare_command(run, run, out=run / "cmp")
    assert _tree_hashes(run) == before
    # an earlier output of another kind is not replaced either
    assert edam(["compare", str(run), str(run)]) == 0
    capsys.readouterr()
    assert edam(["settle", str(run), "--out", str(run.parent / "day_compare"),
                 "--overwrite"]) == 1
    assert "edam compare folder" in capsys.readouterr().err
    assert (run.parent / "day_compare" / "compare.md").exists()


def test_settle_on_a_parquet_run_writes_parquet(hand_runs, tmp_path):
    sc, r, _ = hand_runs["example_11_1_phase3"]
    run = write_run(RunResult(tables={k: v for k, v in r.tables.items()
                                      if k not in ("settlement", "statement")},
                              manifest=dict(r.manifest)), tmp_path / "pq", fmt="parquet")
    before = _tree_hashes(run)
    assert settle_command(str(run)) == 0
    st = tmp_path / "pq_settlement"
    assert sorted(p.suffix for p in st.iterdir() if p.name != MARKER) == [
        ".json", ".parquet", ".parquet"]
    back = pd.read_parquet(st / "settlement.parquet")
    assert list(back.columns[:5]) == ["charge", "party", "resource", "baa", "hour"]
    # the same lines as settling the in-memory run (the solve's own settlement)
    want = r.tables["settlement"]
    assert len(back) == len(want)
    assert back["amount_usd"].sum() == pytest.approx(want["amount_usd"].sum(), abs=1e-6)
    assert _tree_hashes(run) == before


def test_bench_defaults_to_the_current_directory():
    from benchmarks.__main__ import build_parser
    out = build_parser().parse_args([]).out
    assert not Path(out).is_absolute() and Path(out).parts[0] != "benchmarks"


# --- the bundled day (slow; the shared session runs) ----------------------------------------------
@pytest.mark.slow
def test_bundled_day_every_table_has_unique_keys(rts_day_run, rts_phase3_run):
    _, da = rts_day_run
    _assert_keys_unique(da.tables, "bundled day, phase 2")
    sc3, r3 = rts_phase3_run
    settled = _with_settlement(sc3, r3)
    _assert_keys_unique(settled.tables, "bundled day, phase 3 with settlement")
    # the defects of issue 16: several kinds per (constraint, hour), several resources per
    # (charge, party, baa, hour); the wider keys are what makes these tables unique
    bc = da.tables["binding_constraints"]
    stl = settled.tables["settlement"]
    assert bc.duplicated(["constraint", "hour"]).any()
    assert stl.duplicated(["charge", "party", "baa", "hour"]).any()


@pytest.mark.slow
def test_bundled_day_compares_with_itself(rts_day_run, rts_phase3_run, tmp_path):
    _, da = rts_day_run
    p2 = write_run(da, tmp_path / "p2")
    sc3, r3 = rts_phase3_run
    p3 = write_run(_with_settlement(sc3, r3), tmp_path / "p3")
    hashes = {p: _tree_hashes(p) for p in (p2, p3)}
    assert compare_command(p2, p2) == 0
    assert settle_command(str(p3)) == 0  # -> p3_settlement beside the run
    assert compare_command(p3, p3) == 0
    st = tmp_path / "p3_settlement"
    assert compare_command(st, st) == 0
    # `edam settle` settles the written run as the solve did in memory
    a = pd.read_csv(st / "settlement.csv")
    b = pd.read_csv(p3 / "settlement.csv")
    assert len(a) == len(b) and a["amount_usd"].sum() == pytest.approx(b["amount_usd"].sum(),
                                                                      abs=0.01)
    assert {p: _tree_hashes(p) for p in (p2, p3)} == hashes
