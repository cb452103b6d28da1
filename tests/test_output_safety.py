"""Safe outputs and input paths end to end (issue 22): every writer refuses what is not ours,
replaces an earlier output only with --overwrite, checks paths before solving, and every I/O
fault is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import clearing.api
from clearing import cli
from clearing.outputs import MARKER, PARTIAL, OutputPathError, output_kind
from clearing.results import read_run
from scenarios import ScenarioError, bundled, load_scenario, write_scenario

E1 = "example_11_1"


def _edam(capsys, *args: str) -> tuple[int, str]:
    """Run `edam ARGS` in-process; (exit code, stderr)."""
    rc = cli.main([str(a) for a in args])
    return rc, capsys.readouterr().err


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if "error" in ln]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def scenario_copy(tmp_path) -> Path:
    """A copy of example 11.1 in its own folder (tests write next to it and into it)."""
    return write_scenario(load_scenario(bundled(E1)), tmp_path / "scen")


@pytest.fixture
def no_solve(monkeypatch):
    """Fail the test if the engine is called: the fault must be found before solving."""
    def boom(*a, **k):
        raise AssertionError("solve was called before the paths were checked")
    monkeypatch.setattr(clearing.api, "solve", boom)


# ---- edam solve --out -------------------------------------------------------------------------
def test_out_into_the_scenario_folder_is_refused_and_inputs_kept(scenario_copy, capsys, no_solve):
    before = {p.name: p.read_bytes() for p in scenario_copy.iterdir()}
    for target in (scenario_copy, scenario_copy / "runs" / "r1"):
        rc, err = _edam(capsys, "solve", scenario_copy, "--out", target, "--overwrite")
        assert rc == 1
        assert "inside the scenario folder" in _one_line_error(err)
    assert {p.name: p.read_bytes() for p in scenario_copy.iterdir()} == before


def test_out_a_user_folder_or_file_is_refused_untouched(tmp_path, capsys, no_solve):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    afile = tmp_path / "result.txt"
    afile.write_text("keep")
    for target, words in ((mine, "not an edam output folder"), (afile, "is a file")):
        for extra in ((), ("--overwrite",)):
            rc, err = _edam(capsys, "solve", bundled(E1), "--out", target, *extra)
            assert rc == 1 and words in _one_line_error(err)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "precious" and afile.read_text() == "keep"


def test_rerun_needs_overwrite_and_replaces_only_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert _edam(capsys, "solve", bundled(E1), "--out", out)[0] == 0
    assert output_kind(out) == "run"
    (out / "nodal_prices.csv").write_text("edited by hand\n")  # to see whether it is replaced
    rc, err = _edam(capsys, "solve", bundled(E1), "--out", out)
    assert rc == 1 and "--overwrite" in _one_line_error(err)
    assert (out / "nodal_prices.csv").read_text() == "edited by hand\n"
    assert _edam(capsys, "solve", bundled(E1), "--out", out, "--overwrite")[0] == 0
    lmp = read_run(out).tables["nodal_prices"].set_index("bus")["lmp"]
    assert lmp["A1"] == pytest.approx(20) and lmp["B1"] == pytest.approx(50)  # spec §11.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporaries left


def test_default_out_is_runs_slash_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _edam(capsys, "solve", bundled(E1))[0] == 0
    assert output_kind(tmp_path / "runs" / E1) == "run"  # runs/<name>, name = example_11_1


@pytest.mark.parametrize("case", ["cwd", "parent_is_file", "unwritable"])
def test_bad_out_is_one_line_exit_1_before_solving(tmp_path, capsys, monkeypatch, no_solve,
                                                   case):
    monkeypatch.chdir(tmp_path)
    if case == "cwd":
        target, words = ".", "current directory"
    elif case == "parent_is_file":
        (tmp_path / "afile").write_text("x")
        target, words = "afile/run", "is a file, not a folder"
    else:  # root may write anywhere: make the parent look read-only to os.access
        ro = tmp_path / "ro"
        ro.mkdir()
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, *a, **k: False if Path(p) == ro
                            else real(p, m, *a, **k))
        target, words = "ro/run", "not writable"
    rc, err = _edam(capsys, "solve", bundled(E1), "--out", target)
    assert rc == 1 and words in _one_line_error(err)


def test_faults_in_a_subprocess_print_no_traceback(tmp_path):
    """The installed entry point: one line on stderr, exit 1, for a bad --out and a bad
    --commitment-from."""
    (tmp_path / "afile").write_text("x")
    for args in (["--out", str(tmp_path / "afile" / "run")],
                 ["--out", str(tmp_path / "r"), "--commitment-from", str(tmp_path / "nowhere")]):
        p = subprocess.run([sys.executable, "-m", "clearing.cli", "solve", str(bundled(E1)), *args],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 1, p.stderr
        assert _one_line_error(p.stderr).startswith("edam solve: error: ")
        assert "cleared" not in p.stderr and not (tmp_path / "r").exists()


# ---- --commitment-from ------------------------------------------------------------------------
def test_commitment_from_missing_or_not_a_run(tmp_path, capsys, no_solve):
    notrun = tmp_path / "notrun"
    notrun.mkdir()
    (notrun / "schedules.csv").write_text("resource,hour,committed\nG1,1,1\n")  # no manifest
    for src, words in ((tmp_path / "nowhere", "no such folder"), (notrun, "not a run folder")):
        rc, err = _edam(capsys, "solve", bundled(E1), "--out", tmp_path / "r",
                        "--commitment-from", src)
        assert rc == 1 and words in _one_line_error(err)
    assert not (tmp_path / "r").exists()


def _run_of_another_scenario(tmp_path, capsys) -> Path:
    """A run of example 11.1 whose schedules name G9 instead of G2 and hour 2 instead of 1:
    what a run of another scenario (other resources, other hours) looks like."""
    base = tmp_path / "base"
    assert _edam(capsys, "solve", bundled(E1), "--out", base)[0] == 0
    other = tmp_path / "other"
    shutil.copytree(base, other)
    s = pd.read_csv(other / "schedules.csv")
    s["resource"] = s["resource"].replace({"G2": "G9"})
    s["hour"] = 2
    s.to_csv(other / "schedules.csv", index=False)
    return other


def test_commitment_from_another_scenario_refused_unless_allowed(tmp_path, capsys):
    other = _run_of_another_scenario(tmp_path, capsys)
    rc, err = _edam(capsys, "solve", bundled(E1), "--out", tmp_path / "r",
                    "--commitment-from", other)
    line = _one_line_error(err)
    assert rc == 1 and "another scenario" in line and "'G9'" in line and "hours 2..2" in line
    assert not (tmp_path / "r").exists()
    rc, err = _edam(capsys, "solve", bundled(E1), "--out", tmp_path / "r",
                    "--commitment-from", other, "--allow-other-scenario")
    assert rc == 0, err
    assert read_run(tmp_path / "r").manifest["commitment_fixed_from"] == str(other)


def test_commitment_from_the_same_scenario_is_accepted(tmp_path, capsys):
    base = tmp_path / "base"
    assert _edam(capsys, "solve", bundled(E1), "--out", base)[0] == 0
    assert _edam(capsys, "solve", bundled(E1), "--out", tmp_path / "r",
                 "--commitment-from", base)[0] == 0
    assert read_run(tmp_path / "r").tables["nodal_prices"].equals(
        read_run(base).tables["nodal_prices"])


# ---- scenario names ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../../escape", "/tmp/abs", "a/b", "..", ".hidden", "x y", ""])
def test_scenario_name_must_be_an_identifier(scenario_copy, bad):
    y = scenario_copy / "scenario.yaml"
    text = y.read_text().replace(f"name: {E1}", f"name: {json.dumps(bad)}")
    y.write_text(text)
    line = 1 + text.splitlines().index(f"name: {json.dumps(bad)}")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scenario_copy)
    (p,) = [q for q in exc.value.problems if q.column == "name"]
    assert (p.file, p.row) == ("scenario.yaml", line)
    assert "^[A-Za-z0-9][A-Za-z0-9._-]*$" in p.expected


def test_escaping_name_writes_nothing_outside(tmp_path, scenario_copy, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    y = scenario_copy / "scenario.yaml"
    y.write_text(y.read_text().replace(f"name: {E1}", "name: ../../victim"))
    victim = tmp_path / "victim"  # where runs/../../victim points from work/
    rc, err = _edam(capsys, "solve", scenario_copy)
    assert rc == 1 and "name" in err and "Traceback" not in err
    assert not victim.exists() and not (work / "runs").exists()


def test_folder_name_is_the_default_name(tmp_path):
    sc = load_scenario(bundled(E1))
    folder = write_scenario(sc, tmp_path / "my-day_2")
    y = folder / "scenario.yaml"
    y.write_text("\n".join(ln for ln in y.read_text().splitlines() if not ln.startswith("name:")))
    assert load_scenario(folder).name == "my-day_2"


# ---- files named by parameters ----------------------------------------------------------------
def _set_dcs(folder: Path, value: str) -> None:
    y = folder / "scenario.yaml"
    text = y.read_text()
    assert "parameters: {}" in text
    y.write_text(text.replace("parameters: {}",
                              f"parameters:\n  deployment_constraint_set: {json.dumps(value)}"))


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink_out"])
def test_parameter_file_outside_the_scenario_folder_is_refused(tmp_path, scenario_copy, where):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP_SECRET_LINE\n")
    value = {"dotdot": "../secret.txt", "absolute": str(secret), "symlink_out": "link.txt"}[where]
    if where == "symlink_out":
        (scenario_copy / "link.txt").symlink_to(secret)
    _set_dcs(scenario_copy, value)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scenario_copy)
    text = str(exc.value)
    assert "deployment_constraint_set" in text and "TOP_SECRET_LINE" not in text
    assert ("absolute" if where == "absolute" else "outside the scenario folder") in text


def test_parameter_file_is_the_scenario_folders_wherever_the_command_runs(
        tmp_path, scenario_copy, monkeypatch):
    """dep.txt is read from the scenario folder even when the current directory holds another
    dep.txt, and the run id hashes the file the engine reads."""
    from clearing.runs.store import run_id_for
    from scenarios.loader import deployment_constraint_ids
    (scenario_copy / "dep.txt").write_text("A1_B1\n")
    _set_dcs(scenario_copy, "dep.txt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "dep.txt").write_text("NOT_A_BRANCH\n")
    ids = {}
    for cwd in (scenario_copy, elsewhere):
        monkeypatch.chdir(cwd)
        sc = load_scenario(scenario_copy)  # would fail on NOT_A_BRANCH if cwd came first
        ids[cwd] = (deployment_constraint_ids(sc.source_dir, sc.parameters, sc.branches),
                    run_id_for(sc))
    assert ids[scenario_copy] == ids[elsewhere] and ids[elsewhere][0] == ["A1_B1"]
    (scenario_copy / "dep.txt").write_text("A1_B1\n# another version of the file\n")
    assert run_id_for(load_scenario(scenario_copy)) != ids[elsewhere][1]


def test_parameter_file_errors_echo_short_excerpts(scenario_copy):
    long_id = "X" * 500
    (scenario_copy / "dep.txt").write_text(long_id + "\n" + "".join(f"BAD{i}\n" for i in range(30)))
    _set_dcs(scenario_copy, "dep.txt")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scenario_copy)
    probs = exc.value.problems
    assert len(probs) == 21  # 20 lines echoed, then one line counting the other 11
    assert "X" * 60 not in str(exc.value) and "11 more" in str(probs[-1])
    (scenario_copy / "dep.txt").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ScenarioError, match="not text"):
        load_scenario(scenario_copy)


# ---- a writer killed mid-write ----------------------------------------------------------------
_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from clearing.results import RunResult, write_run
    real = pd.DataFrame.to_csv
    def slow(self, *a, **k):
        real(self, *a, **k)
        time.sleep(60)  # killed here, with one table written
    pd.DataFrame.to_csv = slow
    tables = {"schedules": pd.DataFrame({"resource": ["G1"], "hour": [1], "committed": [1]}),
              "nodal_prices": pd.DataFrame({"bus": ["A1"], "hour": [1], "lmp": [20.0]})}
    write_run(RunResult(tables, {"input_hash": "x", "parameters": {}, "solver": {}}), sys.argv[1])
""")


def test_sigkill_mid_write_leaves_a_temporary_the_next_solve_removes(tmp_path, capsys):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out)], env=env)
    try:
        deadline = time.time() + 120
        tmps: list[Path] = []
        while time.time() < deadline and not any((t / "schedules.csv").exists() for t in tmps):
            time.sleep(0.2)
            tmps = list(tmp_path.glob(".run.edam-tmp-*"))
        assert tmps, "the child never started writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    (tmp,) = tmps
    assert (tmp / PARTIAL).exists() and not out.exists()  # what a kill leaves behind
    assert _edam(capsys, "solve", bundled(E1), "--out", out)[0] == 0
    assert not tmp.exists() and output_kind(out) == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ---- edam import, edam phases, stores ---------------------------------------------------------
def test_import_refuses_a_user_folder_and_needs_overwrite(tmp_path, capsys, monkeypatch):
    import scenarios.importers.rts_gmlc as rts
    monkeypatch.setattr(rts, "import_rts_gmlc", lambda date, root: load_scenario(bundled(E1)))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    rc, err = _edam(capsys, "import", "rts-gmlc", "--date", "2020-07-09", "--out", mine,
                    "--overwrite")
    assert rc == 1 and "not an edam output folder" in _one_line_error(err)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    day = tmp_path / "day"
    assert _edam(capsys, "import", "rts-gmlc", "--date", "2020-07-09", "--out", day)[0] == 0
    assert output_kind(day) == "scenario" and load_scenario(day).name == E1
    rc, err = _edam(capsys, "import", "rts-gmlc", "--date", "2020-07-09", "--out", day)
    assert rc == 1 and "--overwrite" in _one_line_error(err)
    assert _edam(capsys, "import", "rts-gmlc", "--date", "2020-07-09", "--out", day,
                 "--overwrite")[0] == 0


def test_phases_checks_its_folder_before_solving(tiny_case, tmp_path, monkeypatch):
    from clearing.analysis.phases import run_phases
    scenario, run = tiny_case
    monkeypatch.setitem(sys.modules, "clearing.market.rt", None)
    calls = []

    def solve(sc):
        calls.append(sc.parameters.phase)
        return run

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(OutputPathError, match="not an edam output folder"):
        run_phases(scenario, mine, solve=solve, overwrite=True)
    assert calls == [] and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    out = tmp_path / "ph"
    run_phases(scenario, out, solve=solve)
    assert output_kind(out) == "phases" and output_kind(out / "phase1") == "run"
    with pytest.raises(OutputPathError, match="--overwrite"):
        run_phases(scenario, out, solve=solve)
    assert calls == [1, 2]  # refused before solving
    rep = run_phases(scenario, out, solve=solve, overwrite=True)
    assert rep.dirs[2] == out / "phase2" and (out / "phase2" / "manifest.json").is_file()


def test_store_root_refuses_a_user_folder_adopts_empty_and_old_stores(tmp_path, scenario_copy):
    from clearing.runs.store import Store
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / ".notes.tmp").write_text("precious")  # the kind of name clean_partial removes
    with pytest.raises(OutputPathError, match="not an edam output folder"):
        Store(mine).init()
    assert sorted(p.name for p in mine.iterdir()) == [".notes.tmp"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert output_kind(Store(empty).init().root) == "store"
    old = tmp_path / "old"  # a store made before markers: runs/, a catalogue, its report
    (old / "runs").mkdir(parents=True)
    (old / "catalogue.duckdb").write_bytes(b"")
    (old / "report.html").write_text("<html></html>")
    Store(old).init()
    assert output_kind(old) == "store" and (old / "failed").is_dir()
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    (run_folder / MARKER).write_text(json.dumps({"kind": "run"}))
    with pytest.raises(OutputPathError, match="edam run folder"):
        Store(run_folder).init()
    with pytest.raises(OutputPathError, match="inside the scenario folder"):
        Store(scenario_copy / "store").init(forbid_inside=[scenario_copy])
    assert not (scenario_copy / "store").exists()


def test_sweep_into_a_user_folder_and_a_non_utf8_sweep_file(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"scenarios: [{bundled(E1)}]\ngrid:\n  ir_deployed_proportion: [0.4]\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    rc, err = _edam(capsys, "sweep", sweep, "--out", mine, "--workers", "0")
    assert rc == 2 and "not an edam output folder" in err and "Traceback" not in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    rc, err = _edam(capsys, "sweep", bad, "--out", tmp_path / "store", "--workers", "0")
    assert rc == 2 and "not UTF-8" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


def test_import_oasis_rerun_needs_overwrite(tmp_path, capsys):
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "oasis_example_11_1.csv"
    out = tmp_path / "ref"
    args = ("import-oasis", example, "--out", out, "--trade-date", "2026-06-01")
    assert _edam(capsys, *args)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc, err = _edam(capsys, *args)
    assert rc == 1 and "--overwrite" in _one_line_error(err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _edam(capsys, *args, "--overwrite")[0] == 0


def test_rse_out_refuses_a_user_folder_and_needs_overwrite(tmp_path, capsys):
    """`edam rse --out` used to write rse*.csv into any folder, replacing files of that name:
    a user's folder is refused untouched, a second run needs --overwrite (clearing/outputs.py)."""
    from clearing.cli import main
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "rse.csv").write_text("my own table\n")
    assert main(["rse", "example_11_1", "--out", str(mine)]) == 1
    assert "not an edam output folder" in capsys.readouterr().err
    assert (mine / "rse.csv").read_text() == "my own table\n"
    out = tmp_path / "rse_out"
    assert main(["rse", "example_11_1", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.csv")) == [
        "rse.csv", "rse_ciso_suballocation.csv", "rse_distribution.csv", "rse_nec.csv"]
    capsys.readouterr()
    assert main(["rse", "example_11_1", "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["rse", "example_11_1", "--out", str(out), "--overwrite"]) == 0
