"""Property test of the command line (issue 22): `edam validate` and `edam solve`, called
in-process on randomly damaged copies of the small bundled scenarios with random `--set
name=value` pairs, never raise, exit with a documented code (docs/exit-codes.md: 0 solved, 1
error, 3 stopped at a limit) and, on an input error, print one message whose first line says
`edam <verb>: error:` and whose problem lines name the file (or `--set`) at fault.

The damage is test_scenario_fuzz's (cells replaced by random text, huge, negative, blank or
inf values; columns dropped; rows duplicated or deleted; files removed; scenario.yaml broken)."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from test_scenario_fuzz import INDEX, MUTATION, ORIGINALS, SMALL, TOKENS, _mutate, _write

from clearing.cli import EXIT_AT_LIMIT, EXIT_ERROR, EXIT_SOLVED, main
from scenarios.parameters import MarketParameters

DOCUMENTED = {EXIT_SOLVED, EXIT_ERROR, EXIT_AT_LIMIT}
NAMES = st.sampled_from(MarketParameters.names() + ["colour", "", "phase "])
SET_VALUES = st.one_of(
    st.sampled_from(TOKENS + ("1e308", "-1e308", "0.5", "2", "3", "none", "all", "base",
                              "off", "cap_all", "lmp", "1e-9", "0.001")),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)
SETS = st.lists(st.tuples(NAMES, SET_VALUES), max_size=2)


def _edges(f: dataclasses.Field) -> list[str]:
    """Valid extreme values of a parameter: its bounds, default, choices, inf where allowed."""
    md = f.metadata
    if f.name == "deployment_constraint_set":
        return ["none", "base", "all"]
    if md["choices"]:
        return [str(c) for c in md["choices"]]
    if isinstance(f.default, bool):
        return ["true", "false"]
    vals = [f.default] + [v for v in (md["lo"], md["hi"]) if v is not None]
    if md["lo"] is not None:
        vals.append(md["lo"] + (1 if isinstance(f.default, int) else 1e-3))
    if f.name in ("time_limit_s",):   # 0 s cannot solve anything: that is exit 1, tested apart
        vals = [v for v in vals if v > 0]
    return [str(v) for v in vals] + (["inf"] if md["inf_ok"] else [])


EDGE_SETS = st.lists(st.sampled_from([(f.name, v) for f in dataclasses.fields(MarketParameters)
                                      for v in _edges(f)]), max_size=3)
# plausible numbers written into random cells: many damaged scenarios stay valid and are solved
PLAUSIBLE = st.sampled_from(("0", "1", "0.5", "1e-6", "50", "-150", "1000", "999999", "1e6",
                             "24", "inf"))
VALID_ISH = st.one_of(st.tuples(st.just("value"), INDEX, INDEX, INDEX, PLAUSIBLE),
                      st.tuples(st.just("duplicate_row"), INDEX, INDEX),
                      st.tuples(st.just("delete_row"), INDEX, INDEX),
                      st.tuples(st.just("copy_cell"), INDEX, INDEX, INDEX, INDEX))
_counter = itertools.count()


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    rc = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    if currently_in_test_context():
        event(f"{argv[0]} exit {rc}")   # --hypothesis-show-statistics: how many reach solve
    assert rc in DOCUMENTED, f"exit code {rc} for {argv}:\n{text}"
    assert "Traceback" not in text and "ERROR: Constructing" not in text, text
    if rc == EXIT_ERROR:   # the message follows the progress lines, if any
        verb = argv[0]
        lines = out.err.splitlines()
        starts = [i for i, ln in enumerate(lines) if ln.startswith(f"edam {verb}: ")]
        assert starts, out.err
        first, rest = lines[starts[0]], lines[starts[0] + 1:]
        assert first.startswith((f"edam {verb}: error:", f"edam {verb}: solver error:")), out.err
        if first.startswith(f"edam {verb}: error:"):
            problems = [ln for ln in rest if ln.startswith("  - ")] or [first]
            for ln in problems:   # each problem names its file (or the option) at fault
                assert any(k in ln for k in (".csv", "scenario.yaml", "--set", "parameters",
                                             "scenario", ".txt")), out.err
    return rc, text


# EDAM_FUZZ_EXAMPLES raises the count for a longer local hunt (CI: 25 per property)
FUZZ = settings(max_examples=int(os.environ.get("EDAM_FUZZ_EXAMPLES", "25")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(name=st.sampled_from(SMALL), ops=st.lists(MUTATION, max_size=3), sets=SETS)
def test_cli_validate_and_solve_never_crash(tmp_path, capsys, name, ops, sets):
    _check(tmp_path, capsys, name, ops, sets)


@FUZZ
@given(name=st.sampled_from(SMALL), ops=st.lists(VALID_ISH, max_size=2), sets=EDGE_SETS)
def test_cli_solves_plausible_edits_and_extreme_parameters(tmp_path, capsys, name, ops, sets):
    """Edits that keep most scenarios valid, and every parameter at its bounds: these reach
    `edam solve`, where valid input must clear (0), stop at a limit (3) or be refused (1)."""
    _check(tmp_path, capsys, name, ops, sets)


def _check(tmp_path, capsys, name: str, ops: list, sets: list) -> None:
    files = {k: ([list(r) for r in v] if isinstance(v, list) else v)
             for k, v in ORIGINALS[name].items()}
    for op in ops:
        _mutate(files, op)
    folder = tmp_path / f"case_{next(_counter)}"
    _write(files, folder)
    set_args = [a for k, v in sets for a in ("--set", f"{k}={v}")]
    try:
        rc, _ = _run(capsys, ["validate", str(folder), *set_args])
        if rc == EXIT_SOLVED:
            out = folder.parent / f"{folder.name}_run"
            rc, _ = _run(capsys, ["solve", str(folder), "--out", str(out), *set_args])
            assert (rc == EXIT_ERROR) != out.is_dir()   # written exactly when it cleared
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(folder.parent / f"{folder.name}_run", ignore_errors=True)


def test_harness_unmutated_example_solves(tmp_path, capsys):
    """The harness itself: an untouched §11.1 copy validates and solves (exit 0)."""
    folder = tmp_path / "e"
    _write(ORIGINALS["example_11_1"], folder)
    assert _run(capsys, ["validate", str(folder)])[0] == EXIT_SOLVED
    assert _run(capsys, ["solve", str(folder), "--out", str(tmp_path / "r")])[0] == EXIT_SOLVED
