"""Property test of the loader: a randomly damaged scenario either loads or raises
`ScenarioError` -- never any other exception (issue: scenario format, validation).

Mutants are made from the bundled scenarios (the small spec examples and the RTS-GMLC day):
cells replaced by random text, numbers, negatives, special tokens or blanks; columns dropped;
rows duplicated, deleted or with their ids swapped; a whole file removed; scenario.yaml damaged.
"""

from __future__ import annotations

import csv
import itertools
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios import BUNDLED, ScenarioError, load_scenario

SMALL = ("example_11_1", "example_11_2", "example_11_3", "example_11_4")
RTS = ("rts_gmlc_edam",)


def _read(name: str) -> dict[str, object]:
    """file name -> list of CSV rows (header first) or, for scenario.yaml, its text."""
    out: dict[str, object] = {}
    for f in sorted((BUNDLED / name).iterdir()):
        if f.suffix == ".csv":
            with f.open(newline="", encoding="utf-8") as fh:
                out[f.name] = list(csv.reader(fh))
        elif f.name == "scenario.yaml":
            out[f.name] = f.read_text()
    return out


ORIGINALS = {n: _read(n) for n in SMALL + RTS}

# cell values: random text and numbers, negatives, blanks and tokens that stress the parsers
TOKENS = ("", " ", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "1e30", "-1", "-0", "0",
          "1.5", "true", "false", "yes", "abc", "9" * 40, "0x10", "1,5", '"', "\u00e9", "None",
          "supply", "demand", "iru", "thermal", "storage", "hydro", "CISO", "A", "B", "1")
VALUES = st.one_of(
    st.sampled_from(TOKENS),
    st.text(max_size=8),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e4, max_value=0).map(lambda x: f"{x:g}"),
)
INDEX = st.integers(min_value=0, max_value=10**6)  # reduced modulo the size of what it picks

MUTATION = st.one_of(
    st.tuples(st.just("value"), INDEX, INDEX, INDEX, VALUES),
    st.tuples(st.just("blank"), INDEX, INDEX, INDEX),
    st.tuples(st.just("negate"), INDEX, INDEX, INDEX),
    st.tuples(st.just("drop_column"), INDEX, INDEX),
    st.tuples(st.just("duplicate_row"), INDEX, INDEX),
    st.tuples(st.just("delete_row"), INDEX, INDEX),
    st.tuples(st.just("swap_ids"), INDEX, INDEX, INDEX),
    st.tuples(st.just("copy_cell"), INDEX, INDEX, INDEX, INDEX),
    st.tuples(st.just("remove_file"), INDEX),
    st.tuples(st.just("yaml"), INDEX, VALUES),
)

YAML_DAMAGE = (
    "hours: {v}\n", "parameters: {{phase: {v}}}\n", "parameters: {{ir_deployed_proportion: {v}}}\n",
    "parameters: {{deployment_constraint_set: '{v}'}}\n", "parameters: [{v}]\n",
    "metadata: {v}\n", "reference_bus: '{v}'\n", "colour: {v}\n", "name: [\n", "- {v}\n",
    "parameters: {{mip_rel_gap: {v}}}\n", "parameters: {{mpm_pivotal_suppliers: {v}}}\n",
)


def _mutate(files: dict[str, object], op: tuple) -> None:
    kind = op[0]
    csvs = sorted(k for k in files if k.endswith(".csv"))
    if kind == "remove_file":
        del files[sorted(files)[op[1] % len(files)]]
        return
    if kind == "yaml":
        text = files.get("scenario.yaml", "")
        line = YAML_DAMAGE[op[1] % len(YAML_DAMAGE)].format(v=op[2].replace("\n", " "))
        if line.startswith("- "):
            files["scenario.yaml"] = line
        else:  # appending repeats the key: an error naming its line (UniqueKeyLoader)
            files["scenario.yaml"] = str(text) + line
        return
    if not csvs:
        return
    rows: list[list[str]] = files[csvs[op[1] % len(csvs)]]  # type: ignore[assignment]
    header, body = rows[0], rows[1:]
    if kind == "drop_column":
        if header:
            j = op[2] % len(header)
            for r in rows:
                if j < len(r):
                    del r[j]
        return
    if not body:
        return
    i = 1 + op[2] % len(body)
    if kind == "duplicate_row":
        rows.insert(i, list(rows[i]))
    elif kind == "delete_row":
        del rows[i]
    elif kind in ("value", "blank", "negate"):
        if not rows[i]:
            return
        j = op[3] % len(rows[i])
        if kind == "value":
            rows[i][j] = op[4]
        elif kind == "blank":
            rows[i][j] = ""
        else:
            rows[i][j] = rows[i][j][1:] if rows[i][j].startswith("-") else "-" + rows[i][j]
    elif kind == "swap_ids":  # exchange the first (id) cells of two rows
        k = 1 + op[3] % len(body)
        if rows[i] and rows[k]:
            rows[i][0], rows[k][0] = rows[k][0], rows[i][0]
    elif kind == "copy_cell":  # a value of another row of the same column
        k = 1 + op[3] % len(body)
        j = op[4] % max(len(header), 1)
        if j < len(rows[i]) and j < len(rows[k]):
            rows[i][j] = rows[k][j]


def _write(files: dict[str, object], folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, content in files.items():
        if name.endswith(".csv"):
            with (folder / name).open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh, lineterminator="\n").writerows(content)  # type: ignore[arg-type]
        else:
            (folder / name).write_text(str(content), encoding="utf-8")


_counter = itertools.count()


def _check_mutant(tmp_path: Path, name: str, ops: list[tuple]) -> None:
    files = {k: ([list(r) for r in v] if isinstance(v, list) else v)
             for k, v in ORIGINALS[name].items()}
    for op in ops:
        _mutate(files, op)
    folder = tmp_path / f"mutant_{next(_counter)}"
    _write(files, folder)
    try:
        load_scenario(folder)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError must carry at least one problem"
        for p in exc.problems:  # every problem prints and names a file
            assert p.file and str(p)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(name=st.sampled_from(SMALL), ops=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_small_scenarios_load_or_raise_scenario_error(tmp_path, name, ops):
    _check_mutant(tmp_path, name, ops)


@FUZZ
@given(ops=st.lists(MUTATION, min_size=1, max_size=3))
def test_mutated_rts_day_loads_or_raises_scenario_error(tmp_path, ops):
    _check_mutant(tmp_path, "rts_gmlc_edam", ops)


def test_unmutated_copies_load(tmp_path):
    """The harness itself: writing the unchanged rows back gives a loadable scenario."""
    for name in SMALL + RTS:
        folder = tmp_path / name
        _write({k: v for k, v in ORIGINALS[name].items()}, folder)
        assert load_scenario(folder).name == name
