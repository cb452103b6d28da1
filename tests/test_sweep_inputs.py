"""Sweeps that vary inputs (load scale, ETSR scale, a resource out) and label their points
(issue 17). Expected costs by hand from spec §11.1 (G1 $20 in A, G2 $50 in B, loads 50/250,
ETSR A->B 100 MW)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearing.runs.store import Store, connect
from clearing.runs.sweep import parse_sweep, plan, run_sweep, runs_command
from scenarios.errors import ScenarioError

REPO = Path(__file__).resolve().parent.parent


def _file(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "s.yaml"
    f.write_text(body)
    return f


def test_bundled_inputs_sweep_runs_with_labels(tmp_path, capsys):
    """The bundled example, run in process: each labelled run's objective is the hand value.
    base: 150×20 + 150×50 = 10,500; load +10 %: 155×20 + 175×50 = 11,850;
    ETSR halved: 100×20 + 200×50 = 12,000; both: loads 55/275, ETSR 50: 105×20 + 225×50
    = 13,350."""
    store = Store(tmp_path / "store")
    out = run_sweep(REPO / "scenarios" / "sweeps" / "example_11_1_inputs.yaml", store,
                    workers=0, progress=False)
    assert len(out.planned) == 4 and not out.failed
    with connect(store, rebuild=True) as con:
        runs = con.execute("SELECT label, objective, scale_load, scale_etsr FROM runs "
                           "ORDER BY objective").df()
    assert list(runs["label"]) == ["base", "load +10%", "ETSR halved",
                                   "ETSR halved, load +10%"]
    assert list(runs["objective"]) == pytest.approx([10500.0, 11850.0, 12000.0, 13350.0])
    assert runs["scale_load"].tolist()[1] == pytest.approx(1.1)
    assert runs["scale_etsr"].tolist()[2] == pytest.approx(0.5)
    assert runs_command(store.root) == 0
    listed = capsys.readouterr().out
    assert "label" in listed and "load +10%" in listed and "ETSR halved" in listed
    from clearing.runs.report import build_store_report
    html = build_store_report(store.root)
    assert "ETSR halved, load +10%" in html


def test_grid_of_resources_out_and_run_ids(tmp_path):
    """`without_resource: [null, G2]` × `scale_load: [1, 1.2]` = 4 runs with 4 distinct ids
    (the edited inputs are hashed); the variations are kept apart from the parameters."""
    f = _file(tmp_path, """
scenarios: [example_11_1]
grid:
  without_resource: [null, G2]
  scale_load: [1, 1.2]
""")
    sw = parse_sweep(f)
    specs = plan(sw, Store(tmp_path / "st"))
    assert len(specs) == 4 and len({s.run_id for s in specs}) == 4
    assert all(s.overrides == {} for s in specs)
    assert sorted(str(s.variations) for s in specs) == sorted([
        "{'scale_load': 1.0}", "{'scale_load': 1.2}",
        "{'without_resource': ['G2'], 'scale_load': 1.0}",
        "{'without_resource': ['G2'], 'scale_load': 1.2}"])


@pytest.mark.parametrize("body, key, found", [
    ("list:\n  - {scale_load: -1}\n", "list[0].scale_load", "found -1"),
    ("list:\n  - {scale_etsr: lots}\n", "list[0].scale_etsr", "found 'lots'"),
    ("grid:\n  label: [a, b]\n", "grid.label[0]", "a label outside a list point"),
    ("list:\n  - {label: ''}\n", "list[0].label", "found ''"),
    ("list:\n  - {without_resource: {a: 1}}\n", "list[0].without_resource", "found {'a': 1}"),
])
def test_bad_variations_name_the_key(tmp_path, body, key, found):
    f = _file(tmp_path, "scenarios: [example_11_1]\n" + body)
    with pytest.raises(ScenarioError) as exc:
        parse_sweep(f)
    text = str(exc.value)
    assert f"column '{key}'" in text and found in text


def test_unknown_resource_out_fails_at_planning(tmp_path):
    """A resource id not in the scenario is reported before any run starts."""
    f = _file(tmp_path, "scenarios: [example_11_1]\nlist:\n  - {without_resource: G9}\n")
    with pytest.raises(ScenarioError, match="G9"):
        plan(parse_sweep(f), Store(tmp_path / "st"))


def test_old_sweep_files_still_parse_the_same():
    """The bundled parameter-only sweeps plan as before: no variations, no labels."""
    s = parse_sweep(REPO / "scenarios" / "sweeps" / "example_11_2_cap.yaml")
    assert len(s) == 4 and all(set(p) == {"ir_demand_curve_cap_usd_per_mwh",
                                          "ir_deployed_proportion"} for p in s.points)
