"""Output-path safety (clearing/outputs.py): never destroy what is not ours."""

from __future__ import annotations

import json
import os

import pytest

from clearing.outputs import (MARKER, PARTIAL, OutputPathError, check_output_target,
                              clean_stale_temporaries, output_kind, write_output_dir,
                              write_output_file)


def _fill(text: str):
    def fill(tmp):
        (tmp / "table.csv").write_text(text)
    return fill


def test_new_folder_is_written_with_marker(tmp_path):
    out = write_output_dir(tmp_path / "run", "run", _fill("a\n1\n"))
    assert (out / "table.csv").read_text() == "a\n1\n"
    assert output_kind(out) == "run"
    assert not (out / PARTIAL).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporaries left


def test_user_folder_is_refused_and_untouched(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(OutputPathError, match="not an edam output folder"):
            write_output_dir(mine, "run", _fill("x"), overwrite=overwrite)
    assert (mine / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_regular_file_is_refused(tmp_path):
    f = tmp_path / "result"
    f.write_text("keep")
    with pytest.raises(OutputPathError, match="is a file"):
        write_output_dir(f, "run", _fill("x"), overwrite=True)
    assert f.read_text() == "keep"


def test_previous_output_needs_overwrite(tmp_path):
    out = write_output_dir(tmp_path / "run", "run", _fill("old"))
    with pytest.raises(OutputPathError, match="--overwrite"):
        write_output_dir(out, "run", _fill("new"))
    assert (out / "table.csv").read_text() == "old"
    write_output_dir(out, "run", _fill("new"), overwrite=True)
    assert (out / "table.csv").read_text() == "new"


def test_output_of_another_kind_is_refused(tmp_path):
    out = write_output_dir(tmp_path / "x", "settlement", _fill("s"))
    with pytest.raises(OutputPathError, match="edam settlement folder"):
        write_output_dir(out, "run", _fill("r"), overwrite=True)


def test_legacy_run_folder_recognised_by_manifest(tmp_path):
    legacy = tmp_path / "old_run"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"run_id": "abc"}))
    assert output_kind(legacy) == "run"
    write_output_dir(legacy, "run", _fill("n"), overwrite=True)
    assert output_kind(legacy) == "run"


def test_inside_scenario_folder_refused(tmp_path):
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "scenario.yaml").write_text("name: s\n")
    for target in (scen, scen / "runs" / "r1"):
        with pytest.raises(OutputPathError, match="inside the scenario folder"):
            check_output_target(target, "run", forbid_inside=[scen], overwrite=True)
    assert (scen / "scenario.yaml").exists()


def test_parent_is_a_file_and_cwd_refused(tmp_path, monkeypatch):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_target(f / "run", "run")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError, match="current directory"):
        check_output_target(".", "run", overwrite=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_parent_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            check_output_target(ro / "run", "run")
    finally:
        ro.chmod(0o755)


def test_stale_temporary_of_ours_is_cleaned_others_kept(tmp_path):
    stale = tmp_path / ".run.edam-tmp-abc123"
    stale.mkdir()
    (stale / PARTIAL).write_text("being written")
    (stale / "schedules.csv").write_text("partial")
    foreign = tmp_path / ".run.edam-tmp-notours"
    foreign.mkdir()
    (foreign / "data").write_text("someone else's")
    write_output_dir(tmp_path / "run", "run", _fill("x"))
    assert not stale.exists()
    assert foreign.exists() and (foreign / "data").read_text() == "someone else's"
    assert clean_stale_temporaries(tmp_path / "run") == []


def test_failed_fill_leaves_nothing(tmp_path):
    def boom(tmp):
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_output_dir(tmp_path / "run", "run", boom)
    assert list(tmp_path.iterdir()) == []


def test_single_file_output(tmp_path):
    sig = b'<meta name="generator" content="edam-clearing">'
    page = tmp_path / "report.html"
    write_output_file(page, "report", b"<html>" + sig + b"one</html>", signature=sig)
    with pytest.raises(OutputPathError, match="--overwrite"):
        write_output_file(page, "report", b"<html>" + sig + b"two</html>", signature=sig)
    write_output_file(page, "report", b"<html>" + sig + b"two</html>", signature=sig,
                      overwrite=True)
    assert b"two" in page.read_bytes()
    theirs = tmp_path / "theirs.html"
    theirs.write_text("<html>hand written</html>")
    with pytest.raises(OutputPathError, match="not an edam report"):
        write_output_file(theirs, "report", b"<html>" + sig + b"</html>", signature=sig,
                          overwrite=True)
    assert theirs.read_text() == "<html>hand written</html>"
    assert MARKER not in [p.name for p in tmp_path.iterdir()]


def test_temporary_of_a_live_writer_is_kept(tmp_path):
    """Two writers of the same target: the second must not delete the first one's temporary
    while that process runs; once it is gone, the temporary is stale and removed."""
    import subprocess
    import sys
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / ".run.edam-tmp-busy"
        busy.mkdir()
        (busy / PARTIAL).write_text(json.dumps({"writer": "edam-clearing", "pid": live.pid,
                                                "host": os.uname().nodename}))
        write_output_dir(tmp_path / "run", "run", _fill("x"))
        assert busy.exists()
    finally:
        live.kill()
        live.wait()
    assert clean_stale_temporaries(tmp_path / "run") == [busy] and not busy.exists()


def test_legacy_solve_run_recognised_by_its_manifest(tmp_path):
    """An `edam solve` folder written before the marker: manifest with input_hash, parameters,
    solver (no run_id). A manifest of something else is not a run."""
    legacy = tmp_path / "old_solve"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"input_hash": "h", "parameters": {},
                                                      "solver": {}}))
    assert output_kind(legacy) == "run"
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"name": "a web app"}))
    assert output_kind(other) is None
