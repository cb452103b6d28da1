"""The Python API a pandas user expects (issue 17): edited scenarios are validated like files,
bundled scenarios load by name from anywhere, the result object shows what it holds, and
what-if edits need no CSVs. Expected costs are worked out by hand from spec §11.1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clearing.api import solve
from clearing.results import RunResult
from scenarios import load_scenario, write_scenario
from scenarios.errors import ScenarioError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_demand_at_unknown_bus_is_an_error_not_zero_demand():
    """Before: a demand row at a bus that does not exist solved silently with zero demand.
    Now solve() validates what it is given: the loader's message (file, row, column)."""
    sc = load_scenario("example_11_1")
    d = sc.demand.copy()
    d.loc[d["bus"] == "B1", "bus"] = "B9"
    edited = sc.with_tables(demand=d)
    assert not edited.validated
    with pytest.raises(ScenarioError) as exc:
        solve(edited)
    assert "demand.csv, row 3, column 'bus': found unknown bus 'B9'" in str(exc.value)
    with pytest.raises(ScenarioError):
        edited.validate()


def test_in_memory_validation_gives_the_files_messages(tmp_path):
    """The same broken scenario, validated in memory and loaded from the files the writer
    makes of it, gives the same problems (rules written once, in scenarios/loader.py)."""
    sc = load_scenario("example_11_1")
    r = sc.resources.copy()
    r.loc[r["resource"] == "G1", "pmax_mw"] = -5.0
    t = sc.thermal.copy()
    t.loc[0, "min_up_h"] = 0
    bad = sc.with_tables(resources=r, thermal=t)
    with pytest.raises(ScenarioError) as mem:
        bad.validate()
    write_scenario(bad, tmp_path / "bad")
    with pytest.raises(ScenarioError) as disk:
        load_scenario(tmp_path / "bad")
    assert [str(p) for p in mem.value.problems] == [str(p) for p in disk.value.problems]
    assert len(mem.value.problems) == 2
    assert "resources.csv, row 2, column 'pmax_mw'" in str(mem.value)


def test_validate_of_an_unchanged_scenario_is_the_scenario():
    """A loaded scenario passes validate() unchanged (same typed tables)."""
    sc = load_scenario("example_11_4")
    assert sc.validated and sc.with_tables().validate() == sc


def test_bundled_scenario_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_scenario("example_11_2").name == "example_11_2"
    assert load_scenario("scenarios/example_11_3").name == "example_11_3"
    with pytest.raises(ScenarioError, match="bundled scenario: .*example_11_1"):
        load_scenario("no_such_scenario")


def test_readme_python_example_runs_from_any_folder(tmp_path, monkeypatch):
    """The README's Python block, executed as written in an empty folder: §11.2 with the IR
    cap at $15 clears; it writes runs/cap15 there."""
    block = re.search(r"From Python[^\n]*:\s*```python\n(.*?)```", README.read_text(),
                      re.S).group(1)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - the project's own README
    assert isinstance(ns["result"], RunResult)
    assert (tmp_path / "runs" / "cap15" / "manifest.json").is_file()


def test_result_objective_and_repr():
    """§11.1 (limit 100): G1 150 MW × $20 + G2 150 MW × $50 = $10,500."""
    result = solve(load_scenario("example_11_1"))
    assert result.objective == pytest.approx(10500.0)
    text = repr(result)
    assert "objective $10,500.00" in text and "example_11_1" in text
    for name, df in result.tables.items():
        assert re.search(rf"^\s+{name}\s+{len(df):,} rows$", text, re.M), name
    assert text.count("\n") == len(result.tables)


@pytest.mark.parametrize("edit, cost", [
    # loads 55 and 275, ETSR A->B 100 binds: G1 155 × 20 + G2 175 × 50 = 3,100 + 8,750
    (lambda s: s.scale_load(1.1), 11850.0),
    # ETSR 50: G1 100 × 20 + G2 200 × 50 = 2,000 + 10,000
    (lambda s: s.scale_etsr(0.5), 12000.0),
    # only B's load × 0.5 = 125: G1 50 + 100 × 20 + G2 25 × 50 = 3,000 + 1,250
    (lambda s: s.scale_load(0.5, baa="B"), 4250.0),
    # G1 capped at 120 MW: A 50 + 70 exported; G2 180: 2,400 + 9,000
    (lambda s: s.edit("resources", where={"resource": "G1"}, set={"pmax_mw": 120.0})
     .edit("energy_bids", where={"resource": "G1"}, set={"mw": 120.0}), 11400.0),
    # G1 out, B->A opened to 100 MW: G2 serves 300 MW × $50
    (lambda s: s.edit("interface_hours", where={"interface": "B_A"}, set={"limit_mw": 100.0})
     .without_resource("G1"), 15000.0),
])
def test_what_if_edits_without_csvs(edit, cost):
    sc = load_scenario("example_11_1")
    edited = edit(sc)
    assert not edited.validated and sc.validated  # the original is untouched
    assert solve(edited).objective == pytest.approx(cost)


def test_without_resource_removes_every_row_and_rejects_unknown_ids():
    sc = load_scenario("example_11_1").without_resource("G2")
    for name, df in sc.tables.items():
        if "resource" in df.columns:
            assert "G2" not in set(df["resource"]), name
    with pytest.raises(KeyError, match="G7"):
        sc.without_resource("G7")
    with pytest.raises(KeyError, match="no column 'pmax'"):
        sc.edit("resources", set={"pmax": 1})
