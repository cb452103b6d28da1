"""Bad scenarios are rejected with a precise, user-facing message (issue: scenario format,
validation).

Each case copies a bundled scenario (the spec examples 11.1/11.2 or the RTS-GMLC day) to a
temporary folder and corrupts one thing. Then:

- `load_scenario` raises `ScenarioError` with a problem naming exactly that file, the row as
  the user sees it in that file (header = row 1; worked out here from the corrupted file's own
  lines, not from the loader) and the column;
- `python -m clearing.cli validate FOLDER` exits with status 1 (docs/exit-codes.md), prints that problem on stderr
  and no traceback anywhere.

Also: several corruptions are all reported; the bundled day validates; `edam solve --set` with
a bad value of each of the five tunable parameters fails before any solve; the committed
docs/scenario-format.md is the generated text.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from scenarios import BUNDLED, Problem, ScenarioError, load_scenario

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "clearing.cli"]
CLI_TIMEOUT_S = 180


# ---- editing a copied scenario -------------------------------------------------------------
class Folder:
    """A copy of a bundled scenario, with small CSV editing helpers. Row numbers are those a
    user sees in the file: the header is row 1, the first data row is row 2."""

    def __init__(self, source: str, path: Path):
        self.path = path
        shutil.copytree(BUNDLED / source, path)

    def read(self, file: str) -> list[list[str]]:
        with (self.path / file).open(newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))

    def write(self, file: str, rows: list[list[str]]) -> None:
        with (self.path / file).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)

    def row_of(self, file: str, **match: str) -> int:
        """Row number (header = 1) of the first row whose cells equal `match`."""
        rows = self.read(file)
        idx = [rows[0].index(k) for k in match]
        for n, r in enumerate(rows[1:], start=2):
            if all(j < len(r) and r[j] == v for j, v in zip(idx, match.values())):
                return n
        raise AssertionError(f"no row {match} in {file}")

    def set(self, file: str, column: str, value: str, **match: str) -> int:
        """Set `column` of the row matching `match` to `value`; return its row number."""
        rows = self.read(file)
        n = self.row_of(file, **match)
        rows[n - 1][rows[0].index(column)] = value
        self.write(file, rows)
        return n

    def delete(self, file: str, **match: str) -> int:
        rows = self.read(file)
        n = self.row_of(file, **match)
        del rows[n - 1]
        self.write(file, rows)
        return n

    def append(self, file: str, row: dict[str, str]) -> int:
        rows = self.read(file)
        rows.append([row.get(h, "") for h in rows[0]])
        self.write(file, rows)
        return len(rows)

    def yaml(self, text: str | None = None) -> str:
        f = self.path / "scenario.yaml"
        if text is not None:
            f.write_text(text)
        return f.read_text()


def yaml_line(text: str, startswith: str) -> int:
    """1-based line of the first line of `text` starting with `startswith`."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.startswith(startswith):
            return n
    raise AssertionError(f"no line starting with {startswith!r}")


@dataclass
class Expect:
    file: str
    row: int | None
    column: str | None
    found: str = ""        # a piece of the problem's `found`
    only: bool = True      # the only problem reported
    also_row: int | None = None  # a second row with the same problem (duplicate ids)


# ---- the cases: (name, bundled scenario, corrupt(folder) -> Expect) ----------------------------
def unknown_column(f: Folder) -> Expect:
    rows = f.read("resources.csv")
    rows[0].append("colour")
    for r in rows[1:]:
        r.append("blue")
    f.write("resources.csv", rows)
    return Expect("resources.csv", 1, "colour", "unknown column")


def missing_column(f: Folder) -> Expect:
    rows = f.read("resources.csv")
    j = rows[0].index("pmax_mw")
    f.write("resources.csv", [r[:j] + r[j + 1:] for r in rows])
    return Expect("resources.csv", 1, "pmax_mw", "column missing")


def wrong_type(f: Folder) -> Expect:
    return Expect("resources.csv", f.set("resources.csv", "pmax_mw", "abc",
                                         resource="202_CT_1"), "pmax_mw", "'abc'")


def wrong_type_bool(f: Folder) -> Expect:
    return Expect("baas.csv", f.set("baas.csv", "is_edam", "maybe", baa="PGE"), "is_edam",
                  "'maybe'")


def wrong_type_integer(f: Folder) -> Expect:
    return Expect("thermal.csv", f.set("thermal.csv", "min_up_h", "2.5",
                                       resource="101_STEAM_3"), "min_up_h", "'2.5'")


def negative_pmax(f: Folder) -> Expect:
    return Expect("resources.csv", f.set("resources.csv", "pmax_mw", "-5", resource="G2"),
                  "pmax_mw", "-5")


def empty_required_cell(f: Folder) -> Expect:
    return Expect("interface_hours.csv", f.set("interface_hours.csv", "limit_mw", "",
                                               interface="PGE_PACW", hour="13"),
                  "limit_mw", "an empty cell")


def bad_choice(f: Folder) -> Expect:
    return Expect("resources.csv", f.set("resources.csv", "type", "nuclear", resource="G1"),
                  "type", "'nuclear'")


def pmin_above_pmax(f: Folder) -> Expect:
    return Expect("resources.csv", f.set("resources.csv", "pmin_mw", "30",
                                         resource="101_PV_1"), "pmin_mw", "Pmin 30 > Pmax 25.9")


def pmin_above_pmax_rows_out_of_order(f: Folder) -> Expect:
    """The loader sorts rows by key; the message must still give the row in the file."""
    rows = f.read("resources.csv")
    f.write("resources.csv", [rows[0]] + rows[:0:-1])  # data rows reversed
    return Expect("resources.csv", f.set("resources.csv", "pmin_mw", "99",
                                         resource="310_PV_1"), "pmin_mw", "Pmin 99")


def energy_bid_not_monotone(f: Folder) -> Expect:
    rows = f.read("energy_bids.csv")
    p1 = float(rows[f.row_of("energy_bids.csv", resource="101_CT_1", segment="1") - 1][4])
    n = f.set("energy_bids.csv", "price_usd_per_mwh", f"{p1 - 5:g}", resource="101_CT_1",
              segment="2")
    return Expect("energy_bids.csv", n, "price_usd_per_mwh", "falling supply curve for "
                                                             "'101_CT_1'")


def energy_bid_below_floor(f: Folder) -> Expect:
    return Expect("energy_bids.csv", f.set("energy_bids.csv", "price_usd_per_mwh", "-200",
                                           resource="G2"), "price_usd_per_mwh", "-200")


def iru_bid_above_cap(f: Folder) -> Expect:
    return Expect("availability_bids.csv",
                  f.set("availability_bids.csv", "price_usd_per_mwh", "60",
                        resource="101_CT_1", product="iru"), "price_usd_per_mwh", "60 for iru")


def as_bid_above_cap(f: Folder) -> Expect:
    return Expect("availability_bids.csv",
                  f.set("availability_bids.csv", "price_usd_per_mwh", "300",
                        resource="101_CT_1", product="nr"), "price_usd_per_mwh", "300")


def rc_bid_above_cap(f: Folder) -> Expect:
    rows = f.read("availability_bids.csv")
    rc = next(r for r in rows[1:] if r[1] == "rcu")
    return Expect("availability_bids.csv",
                  f.set("availability_bids.csv", "price_usd_per_mwh", "250.01",
                        resource=rc[0], product="rcu"), "price_usd_per_mwh", "250.01")


def unknown_bus(f: Folder) -> Expect:
    return Expect("resources.csv", f.set("resources.csv", "bus", "Z9", resource="G1"), "bus",
                  "unknown bus 'Z9'")


def unknown_baa(f: Folder) -> Expect:
    return Expect("buses.csv", f.set("buses.csv", "baa", "XYZ", bus="102"), "baa",
                  "unknown baa 'XYZ'")


def unknown_resource(f: Folder) -> Expect:
    return Expect("energy_bids.csv", f.set("energy_bids.csv", "resource", "NOPE",
                                           resource="101_CT_2", segment="3"), "resource",
                  "unknown resource 'NOPE'")


def unknown_thermal_in_startup_costs(f: Folder) -> Expect:
    # a hydro resource is a resource, but not a thermal one
    return Expect("startup_costs.csv", f.set("startup_costs.csv", "resource", "122_HYDRO_1",
                                             resource="101_STEAM_3", tier="1"), "resource",
                  "unknown resource '122_HYDRO_1'")


def missing_hours_baa_hours(f: Folder) -> Expect:
    first = f.row_of("baa_hours.csv", baa="PACW")  # PACW's first row, before the deletion
    f.delete("baa_hours.csv", baa="PACW", hour="7")
    return Expect("baa_hours.csv", first, "hour", "baa 'PACW' without hours 7")


def missing_hours_interface_hours(f: Folder) -> Expect:
    for h in range(20, 25):
        f.delete("interface_hours.csv", interface="PGE_CISO", hour=str(h))
    return Expect("interface_hours.csv", f.row_of("interface_hours.csv", interface="PGE_CISO"),
                  "hour", "interface 'PGE_CISO' without hours 20-24")


def hour_beyond_horizon(f: Folder) -> Expect:
    return Expect("resource_hours.csv", f.set("resource_hours.csv", "hour", "25",
                                              resource="101_PV_1", hour="24"), "hour", "25")


def baa_without_bus(f: Folder) -> Expect:
    f.set("buses.csv", "baa", "B", bus="A1")  # A's only bus moves to B
    return Expect("baas.csv", f.row_of("baas.csv", baa="A"), "baa", "BAA 'A' with no bus")


def islanded_bus(f: Folder) -> Expect:
    n = f.append("buses.csv", dict(bus="999", baa="PGE", name="Lonely", base_kv="230"))
    return Expect("buses.csv", n, "bus", "bus '999' islanded")


def etsr_unknown_baa(f: Folder) -> Expect:
    return Expect("interfaces.csv", f.set("interfaces.csv", "from_baa", "Q", interface="A_B"),
                  "from_baa", "unknown baa 'Q'")


def etsr_to_itself(f: Folder) -> Expect:
    return Expect("interfaces.csv", f.set("interfaces.csv", "to_baa", "PACW",
                                          interface="PACW_PGE"), "to_baa", "from_baa = to_baa")


def duplicate_id(f: Folder) -> Expect:
    rows = f.read("resources.csv")
    n = f.row_of("resources.csv", resource="213_CC_3")
    rows.append(list(rows[n - 1]))
    f.write("resources.csv", rows)
    return Expect("resources.csv", n, "resource", "duplicate id 213_CC_3", only=False,
                  also_row=len(rows))


def duplicate_hour(f: Folder) -> Expect:
    rows = f.read("baa_hours.csv")
    n = f.row_of("baa_hours.csv", baa="CISO", hour="5")
    rows.insert(n, list(rows[n - 1]))  # the copy right after the original
    f.write("baa_hours.csv", rows)
    return Expect("baa_hours.csv", n, "baa,hour", "duplicate id CISO/5", only=False,
                  also_row=n + 1)


def hydro_without_row(f: Folder) -> Expect:
    f.delete("hydro.csv", resource="122_HYDRO_2")
    return Expect("resources.csv", f.row_of("resources.csv", resource="122_HYDRO_2"), "type",
                  "hydro resource '122_HYDRO_2' without a row in hydro.csv")


def soc_initial_above_max(f: Folder) -> Expect:
    return Expect("storage.csv", f.set("storage.csv", "soc_initial_mwh", "151",
                                       resource="313_STORAGE_1"), "soc_initial_mwh", "151")


def startup_tiers_not_increasing(f: Folder) -> Expect:
    rows = f.read("startup_costs.csv")
    res = next(r[0] for r in rows[1:] if r[1] == "2")  # a unit with two tiers or more
    f.set("startup_costs.csv", "cost_usd", "1", resource=res, tier="2")
    return Expect("startup_costs.csv", f.row_of("startup_costs.csv", resource=res, tier="1"),
                  "cost_usd", f"tiers of '{res}' not increasing")


def ldf_not_summing_to_one(f: Folder) -> Expect:
    f.set("load_distribution.csv", "ldf", "0.5", bus="202")
    return Expect("load_distribution.csv", f.row_of("load_distribution.csv", bus="201"), "ldf",
                  "factors of BAA 'PACW' summing to")


def ir_curve_widths_not_requirement(f: Folder) -> Expect:
    f.write("ir_demand_curves.csv", [
        ["baa", "product", "hour", "segment", "mw", "price_usd_per_mwh"],
        ["A", "iru", "1", "1", "50", "55"],
        ["A", "iru", "1", "2", "20", "30"]])  # 70 MW, the requirement is 80
    return Expect("ir_demand_curves.csv", 2, "mw", "widths summing to 70")


def missing_file(f: Folder) -> Expect:
    (f.path / "demand.csv").unlink()
    return Expect("demand.csv", None, None, "file missing")


def unknown_file(f: Folder) -> Expect:
    (f.path / "generators.csv").write_text("id\nG1\n")
    return Expect("generators.csv", None, None, "unknown table file")


def yaml_invalid(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("parameters: {}", "parameters:\n\tphase: 2"))
    return Expect("scenario.yaml", yaml_line(text, "\t"), None, "invalid YAML")


def yaml_not_a_mapping(f: Folder) -> Expect:
    f.yaml("- name\n- hours\n")
    return Expect("scenario.yaml", 1, None, "list")


def yaml_unknown_key(f: Folder) -> Expect:
    text = f.yaml(f.yaml() + "colour: red\n")
    return Expect("scenario.yaml", yaml_line(text, "colour:"), "colour", "unknown key 'colour'")


def yaml_bad_hours(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("hours: 1\n", "hours: many\n"))
    return Expect("scenario.yaml", yaml_line(text, "hours:"), "hours", "'many'")


def yaml_negative_proportion(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("parameters: {}",
                                   "parameters:\n  mip_rel_gap: 0.01\n"
                                   "  ir_deployed_proportion: -0.1"))
    return Expect("scenario.yaml", yaml_line(text, "  ir_deployed_proportion"),
                  "ir_deployed_proportion", "-0.1")


def yaml_phase_4(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("parameters: {}", "parameters:\n  phase: 4"))
    return Expect("scenario.yaml", yaml_line(text, "  phase:"), "phase", "4")


def yaml_unknown_parameter(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("parameters: {}", "parameters:\n  dir_factor: 0.3"))
    return Expect("scenario.yaml", yaml_line(text, "  dir_factor"), "dir_factor",
                  "unknown parameter 'dir_factor'")


def yaml_unknown_reference_bus(f: Folder) -> Expect:
    text = f.yaml(f.yaml() + "reference_bus: B7\n")
    return Expect("scenario.yaml", yaml_line(text, "reference_bus"), "reference_bus",
                  "unknown bus 'B7'")


def unknown_deployment_constraint_id(f: Folder) -> Expect:
    (f.path / "dep.txt").write_text("# branches enforced in the deployment scenarios\n"
                                    "A1_B1\n\nNOPE  # a typo\n")
    f.yaml(f.yaml().replace("parameters: {}",
                            "parameters:\n  deployment_constraint_set: dep.txt"))
    return Expect("dep.txt", 4, None, "unknown constraint id 'NOPE'")


def missing_deployment_constraint_file(f: Folder) -> Expect:
    text = f.yaml(f.yaml().replace("parameters: {}",
                                   "parameters:\n  deployment_constraint_set: nowhere.txt"))
    return Expect("scenario.yaml", yaml_line(text, "  deployment_constraint_set"),
                  "deployment_constraint_set", "'nowhere.txt'")


E1, E2, RTS = "example_11_1", "example_11_2", "rts_gmlc_edam"
CASES: dict[str, tuple[str, Callable[[Folder], Expect]]] = {fn.__name__: (src, fn) for src, fn in (
    (E1, unknown_column), (E1, missing_column), (RTS, wrong_type), (RTS, wrong_type_bool),
    (RTS, wrong_type_integer), (E1, negative_pmax), (RTS, empty_required_cell),
    (E2, bad_choice), (RTS, pmin_above_pmax), (RTS, pmin_above_pmax_rows_out_of_order),
    (RTS, energy_bid_not_monotone), (E1, energy_bid_below_floor), (RTS, iru_bid_above_cap),
    (RTS, as_bid_above_cap), (RTS, rc_bid_above_cap), (E1, unknown_bus), (RTS, unknown_baa),
    (RTS, unknown_resource), (RTS, unknown_thermal_in_startup_costs),
    (RTS, missing_hours_baa_hours), (RTS, missing_hours_interface_hours),
    (RTS, hour_beyond_horizon), (E1, baa_without_bus), (RTS, islanded_bus),
    (E1, etsr_unknown_baa), (RTS, etsr_to_itself), (RTS, duplicate_id), (RTS, duplicate_hour),
    (RTS, hydro_without_row), (RTS, soc_initial_above_max),
    (RTS, startup_tiers_not_increasing), (RTS, ldf_not_summing_to_one),
    (E2, ir_curve_widths_not_requirement), (E1, missing_file), (E2, unknown_file),
    (E2, yaml_invalid), (E2, yaml_not_a_mapping), (E2, yaml_unknown_key), (E2, yaml_bad_hours),
    (E2, yaml_negative_proportion), (E2, yaml_phase_4), (E2, yaml_unknown_parameter),
    (E1, yaml_unknown_reference_bus), (E1, unknown_deployment_constraint_id),
    (E1, missing_deployment_constraint_file),
)}


def _run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, capture_output=True, text=True, cwd=REPO,
                          timeout=CLI_TIMEOUT_S)


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    """name -> (folder, Expect, future of the CLI run). The folders are made up front and the
    `validate` runs start at once, a few at a time, while the tests check the loader."""
    root = tmp_path_factory.mktemp("bad_scenarios")
    made = {}
    for name, (src, corrupt) in CASES.items():
        f = Folder(src, root / name)
        made[name] = (f.path, corrupt(f))
    pool = ThreadPoolExecutor(max_workers=3)
    runs = {name: pool.submit(_run_cli, ["validate", str(path)])
            for name, (path, _) in made.items()}
    yield {name: (path, exp, runs[name]) for name, (path, exp) in made.items()}
    pool.shutdown(wait=True, cancel_futures=True)


def _matches(p: Problem, e: Expect, row: int | None) -> bool:
    return p.file == e.file and p.row == row and p.column == e.column and e.found in p.found


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_names_file_row_and_column(corrupted, name):
    path, exp, _ = corrupted[name]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    report = str(info.value)
    assert any(_matches(p, exp, exp.row) for p in problems), \
        f"expected {exp} among:\n{report}"
    if exp.also_row is not None:
        assert any(_matches(p, exp, exp.also_row) for p in problems), report
    if exp.only:
        assert len(problems) == 1, report


@pytest.mark.parametrize("name", list(CASES))
def test_cli_validate_reports_bad_input_without_traceback(corrupted, name):
    path, exp, run = corrupted[name]
    res = run.result()
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out
    assert res.stderr.startswith("edam validate: error:"), out
    problem = next(p for p in load_problems(path) if _matches(p, exp, exp.row))
    assert str(problem) in res.stderr  # file, row, column, found and expected, as one line
    assert "OK" not in res.stdout


def load_problems(path: Path) -> list[Problem]:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        return exc.problems
    raise AssertionError(f"{path} loaded")


def test_cases_cover_the_issue_list():
    """A dozen-plus kinds of bad input, from all three kinds of bundled scenario."""
    assert len(CASES) >= 13
    assert {src for src, _ in CASES.values()} == {E1, E2, RTS}


# ---- several problems at once ----------------------------------------------------------------
def test_two_corruptions_in_two_files_give_two_problems(tmp_path):
    f = Folder(RTS, tmp_path / "s")
    r1 = f.set("resources.csv", "pmax_mw", "abc", resource="101_CT_1")
    r2 = f.set("availability_bids.csv", "price_usd_per_mwh", "500", resource="101_CT_1",
               product="ru")
    problems = load_problems(f.path)
    assert {(p.file, p.row, p.column) for p in problems} == {
        ("resources.csv", r1, "pmax_mw"), ("availability_bids.csv", r2, "price_usd_per_mwh")}
    res = _run_cli(["validate", str(f.path)])
    assert res.returncode == 1 and "Traceback" not in res.stdout + res.stderr
    assert "2 problems" in res.stderr
    for p in problems:
        assert str(p) in res.stderr


def test_two_cross_table_problems_are_both_reported(tmp_path):
    f = Folder(RTS, tmp_path / "s")
    r1 = f.set("resources.csv", "pmin_mw", "30", resource="101_PV_1")
    r2 = f.set("interfaces.csv", "to_baa", "PGE", interface="PGE_CISO")
    got = {(p.file, p.row, p.column) for p in load_problems(f.path)}
    assert got == {("resources.csv", r1, "pmin_mw"), ("interfaces.csv", r2, "to_baa")}


def test_problems_in_one_file_and_in_the_header_are_all_reported(tmp_path):
    f = Folder(E1, tmp_path / "s")
    f.set("resources.csv", "pmax_mw", "-1", resource="G1")
    f.set("resources.csv", "type", "coal", resource="G2")
    text = f.yaml(f.yaml() + "colour: red\n")
    got = {(p.file, p.row, p.column) for p in load_problems(f.path)}
    assert got == {("resources.csv", 2, "pmax_mw"), ("resources.csv", 3, "type"),
                   ("scenario.yaml", yaml_line(text, "colour"), "colour")}


# ---- loader behaviour around the edges ---------------------------------------------------------
def test_blank_lines_and_byte_order_mark_are_accepted(tmp_path):
    f = Folder(E1, tmp_path / "s")
    text = (f.path / "resources.csv").read_text()
    (f.path / "resources.csv").write_text("\ufeff" + text + "\n\n")
    assert load_scenario(f.path) == load_scenario(BUNDLED / E1)


def test_blank_line_keeps_later_row_numbers(tmp_path):
    f = Folder(E1, tmp_path / "s")
    rows = f.read("resources.csv")
    rows.insert(2, [])  # a blank line 3 between G1 and G2
    f.write("resources.csv", rows)
    n = f.set("resources.csv", "pmax_mw", "-5", resource="G2")
    assert n == 4
    assert [(p.file, p.row, p.column) for p in load_problems(f.path)] == \
        [("resources.csv", 4, "pmax_mw")]


def test_huge_integer_is_a_scenario_error(tmp_path):
    f = Folder(RTS, tmp_path / "s")
    n = f.set("thermal.csv", "min_up_h", "1e30", resource="101_STEAM_3")
    assert [(p.file, p.row, p.column) for p in load_problems(f.path)] == \
        [("thermal.csv", n, "min_up_h")]


def test_metadata_must_be_a_mapping(tmp_path):
    f = Folder(E2, tmp_path / "s")
    text = f.yaml(f.yaml().split("metadata:")[0] + "metadata: just a note\n")
    assert [(p.file, p.row, p.column) for p in load_problems(f.path)] == \
        [("scenario.yaml", yaml_line(text, "metadata"), "metadata")]


def test_scenario_yaml_not_utf8_is_a_scenario_error(tmp_path):
    f = Folder(E2, tmp_path / "s")
    (f.path / "scenario.yaml").write_bytes(b"name: \xff\xfe\n")
    assert [p.file for p in load_problems(f.path)] == ["scenario.yaml"]


def test_no_such_folder(tmp_path):
    res = _run_cli(["validate", str(tmp_path / "nowhere")])
    assert res.returncode == 1 and "no such folder" in res.stderr
    assert "Traceback" not in res.stdout + res.stderr


# ---- the bundled day validates -------------------------------------------------------------------
def test_cli_validates_the_bundled_day():
    res = _run_cli(["validate", str(BUNDLED / RTS)])
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    assert "3 BAAs" in res.stdout
    assert "OK" in res.stdout


def test_cli_module_has_a_main_guard():
    text = (REPO / "clearing" / "cli.py").read_text()
    assert 'if __name__ == "__main__":' in text


# ---- edam solve --set with bad values of the five tunable parameters -----------------------------
@pytest.fixture(scope="module")
def dep_file_with_unknown_id(tmp_path_factory):
    """A copy of example 11.1 holding the file (a parameter file is read inside the scenario
    folder only)."""
    folder = tmp_path_factory.mktemp("dep") / E1
    shutil.copytree(BUNDLED / E1, folder)
    f = folder / "deployment_constraints.txt"
    f.write_text("A1_B1\nNOT_A_BRANCH\n")
    return f


BAD_SETS = {
    "negative_proportion": ("ir_deployed_proportion=-0.1", "ir_deployed_proportion"),
    "missing_constraint_file": ("deployment_constraint_set=no_such_file.txt",
                                "deployment_constraint_set"),
    "unknown_constraint_id": (None, "deployment_constraint_set"),  # the file above
    "negative_cap": ("ir_demand_curve_cap_usd_per_mwh=-1", "ir_demand_curve_cap_usd_per_mwh"),
    "multiplier_up_above_1": ("storage_envelope_multiplier_up=1.5",
                              "storage_envelope_multiplier_up"),
    "multiplier_down_above_1": ("storage_envelope_multiplier_down=2",
                                "storage_envelope_multiplier_down"),
    "negative_dab": ("ir_rc_default_availability_bid_usd_per_mwh=-5",
                     "ir_rc_default_availability_bid_usd_per_mwh"),
    "not_a_number": ("ir_deployed_proportion=lots", "ir_deployed_proportion"),
}


@pytest.mark.parametrize("case", list(BAD_SETS))
def test_solve_with_a_bad_parameter_fails_before_solving(tmp_path, case,
                                                         dep_file_with_unknown_id):
    setting, name = BAD_SETS[case]
    scenario = BUNDLED / E1
    if setting is None:
        setting = f"deployment_constraint_set={dep_file_with_unknown_id.name}"
        scenario = dep_file_with_unknown_id.parent
    out = tmp_path / "run"
    t0 = time.perf_counter()
    res = _run_cli(["solve", str(scenario), "--set", setting, "--out", str(out)])
    elapsed = time.perf_counter() - t0
    text = res.stdout + res.stderr
    assert res.returncode == 1, text
    assert "Traceback" not in text
    assert name in res.stderr
    if case == "unknown_constraint_id":
        assert "NOT_A_BRANCH" in res.stderr and dep_file_with_unknown_id.name in res.stderr
    assert "cleared" not in text and not out.exists()  # nothing solved, nothing written
    assert elapsed < 60, f"took {elapsed:.1f} s: the parameter must be checked before solving"


# ---- the documented format is the generated one -----------------------------------------------
def test_scenario_format_doc_is_current():
    from scenarios.format_doc import COMMAND, render
    committed = (REPO / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    assert committed == render(), f"docs/scenario-format.md is stale: run `{COMMAND}`"


def test_scenario_format_doc_covers_every_table_column_and_key():
    from scenarios.format_doc import render
    from scenarios.loader import YAML_KEYS
    from scenarios.parameters import MarketParameters
    from scenarios.schema import TABLES
    text = render()
    for t in TABLES:
        assert f"### `{t.file}`" in text
        for c in t.columns:
            assert f"| `{c.name}`" in text.split(f"### `{t.file}`")[1].split("###")[0]
    for k in YAML_KEYS:
        assert f"| `{k}` |" in text
    for name in MarketParameters.names():
        assert f"| `{name}` |" in text
    for limit in ("-150", "1000", "55", "250"):
        assert limit in text.split("## Cross-table rules")[1]
