"""A complete CLI (issue 17): --version, help on every argument, "did you mean" for --set,
`edam settle` options, clear errors for tolerance files, import-oasis accounting for every row."""

from __future__ import annotations

import argparse
import json

import pytest

from clearing.cli import build_parser, main, version


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def test_every_argument_has_help():
    """Walk the parser: every action of `edam` and of each subcommand has help text."""
    root = build_parser()
    parsers = {"edam": root, **{f"edam {k}": v for k, v in _subparsers(root).items()}}
    assert len(parsers) >= 14
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in parsers.items()
               for a in p._actions if not (a.help and a.help.strip())]
    assert not missing, missing


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"edam {version()}" and out != "edam "


def test_unknown_set_name_suggests_the_closest(capsys):
    """A typo in --set is one clear error (exit 1, docs/exit-codes.md) naming the closest
    parameter names."""
    assert main(["validate", "example_11_1", "--set", "ir_deployd_proportion=0.3"]) == 1
    err = capsys.readouterr().err
    assert "unknown name 'ir_deployd_proportion'" in err
    assert "did you mean 'ir_deployed_proportion'?" in err and "Traceback" not in err
    assert main(["validate", "example_11_1", "--set", "zzzz=1"]) == 1
    assert "did you mean" not in capsys.readouterr().err


@pytest.fixture(scope="module")
def run_11_1(tmp_path_factory):
    """§11.1 in phase 3 written to a run folder (seconds)."""
    out = tmp_path_factory.mktemp("r") / "run"
    assert main(["solve", "example_11_1", "--phase", "3", "--out", str(out)]) == 0
    return out


def test_settle_exposes_its_options(run_11_1, tmp_path):
    """`edam settle --fixed-demand-uie off --fru-uncertainty-floor false` reaches the
    allocators: the options file records both, the defaults for the rest."""
    out = tmp_path / "st"
    assert main(["settle", str(run_11_1), "--out", str(out), "--fixed-demand-uie", "off",
                 "--fru-uncertainty-floor", "false"]) == 0
    opts = json.loads((out / "settlement_options.json").read_text())
    assert opts["fixed_demand_uie"] == "off" and opts["fru_uncertainty_floor"] is False
    assert opts["iru_import_tier1"] == "directional"
    with pytest.raises(SystemExit) as exc:  # argparse rejects a bad choice (exit 2)
        main(["settle", str(run_11_1), "--fru-uncertainty-floor", "maybe"])
    assert exc.value.code == 2


def test_settle_inputs_file_missing_is_a_clear_error(run_11_1, tmp_path, capsys):
    assert main(["settle", str(run_11_1), "--out", str(tmp_path / "s"),
                 "--metered-load", str(tmp_path / "nope.csv")]) == 1
    err = capsys.readouterr().err
    assert "nope.csv" in err and "file missing" in err


@pytest.mark.parametrize("text, expected", [
    ("nodal_prices.lmp: lots\n", "row 1, column 'nodal_prices.lmp': found 'lots'"),
    ("nodal_prices.lmp: -1\n", "found -1; expected an absolute tolerance"),
    ("nodal_prices.lpm: 0.1\n", "found unknown column 'lpm' of table nodal_prices"),
    ("nodal_price.lmp: 0.1\n", "found unknown table 'nodal_price'"),
    ("nodal_prices:\n  lmp: 0.1\n  bogus: 1\n", "row 3, column 'nodal_prices.bogus'"),
    ("lmp: [1, 2]\n", "found [1, 2]"),
    ("lmp: 0.1\n  x: : 1\n", "invalid YAML"),
])
def test_bad_tolerance_file_is_a_clear_error(run_11_1, tmp_path, capsys, text, expected):
    f = tmp_path / "tol.yaml"
    f.write_text(text)
    assert main(["compare", str(run_11_1), str(run_11_1), "--tolerances", str(f),
                 "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and expected in err and "Traceback" not in err
    assert not (tmp_path / "cmp").exists()  # nothing written


def test_good_tolerance_keys_accepted(run_11_1, tmp_path):
    f = tmp_path / "tol.yaml"
    f.write_text("nodal_prices.*: 0.5\n'*.mw': 1\nlmp: 0.1\nschedules:\n  energy_mw: 0.2\n")
    assert main(["compare", str(run_11_1), str(run_11_1), "--tolerances", str(f),
                 "--out", str(tmp_path / "cmp")]) == 0


def test_import_oasis_accounts_for_every_row(tmp_path, capsys):
    """A hand-made OASIS file of 10 rows: 3 used (LMP, MCE of node N1 in hour 1; the ELAP LMP
    of area A), and one row skipped for each of the 7 reasons. 3 + 7 = 10."""
    head = "INTERVALSTARTTIME_GMT,NODE,BAA,MARKET_RUN_ID,LMP_TYPE,MW"
    t1 = "2026-06-01T07:00:00-00:00"  # 00:00 PDT: hour 1
    rows = [f"{t1},N1,A,DAM,LMP,30", f"{t1},N1,A,DAM,MCE,25", f"{t1},,A,DAM,LMP,28",
            f"{t1},N1,A,RTM,LMP,31",                  # other market run
            "2026-06-03T07:00:00-00:00,N1,A,DAM,LMP,1",  # other date
            "yesterday,N1,A,DAM,LMP,1",               # bad time
            f"{t1},N1,A,DAM,MCC,n/a",                 # bad value
            f"{t1},N1,A,DAM,MGHG,2",                  # GHG component
            f"{t1},,A,DAM,MCL,0.5",                   # BAA-level loss component
            f"{t1},,,DAM,LMP,9"]                      # nothing to attach it to
    f = tmp_path / "oasis.csv"
    f.write_text("\n".join([head, *rows]) + "\n")
    assert main(["import-oasis", str(f), "--out", str(tmp_path / "ref"),
                 "--trade-date", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    stats = json.loads((tmp_path / "ref" / "manifest.json").read_text())["import"]
    assert stats["rows_read"] == 10 and stats["rows_used"] == 3
    assert stats["skipped"] == {"other_market_run": 1, "other_date": 1, "bad_time": 1,
                                "bad_value": 1, "ghg_component": 1, "baa_component": 1,
                                "unrecognised": 1}
    assert "from 3 of 10 rows" in out and out.count("skipped 1 row:") == 7


def test_import_oasis_without_usable_rows_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "o.csv"
    f.write_text("INTERVALSTARTTIME_GMT,NODE,LMP_TYPE,MW\n2026-06-01T07:00:00-00:00,N1,MGHG,1\n")
    assert main(["import-oasis", str(f), "--out", str(tmp_path / "ref"),
                 "--trade-date", "2026-06-01"]) == 1
    err = capsys.readouterr().err
    assert "no usable row of 1" in err and "GHG component" in err
    f.write_text("NODE,MW\nN1,1\n")
    assert main(["import-oasis", str(f), "--out", str(tmp_path / "ref"),
                 "--trade-date", "2026-06-01"]) == 1
    assert "no interval time column" in capsys.readouterr().err
