"""`edam solve` end to end on a small case: files, formats, atomic writes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clearing.api import solve
from clearing.results import RESULT_TABLES, read_run, write_run
from scenarios import bundled

CONTRACT = ("schedules", "nodal_prices", "product_prices", "transfers", "baa_summary",
            "binding_constraints", "rse")


def _edam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clearing.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_solve_writes_contract_tables(tmp_path, fmt):
    out = tmp_path / "run"
    p = _edam("solve", str(bundled("example_11_1")), "--out", str(out), "--format", fmt)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["format"] == fmt
    run = read_run(out)
    for name in CONTRACT:
        keys, vals = RESULT_TABLES[name]
        assert name in run.tables, name
        cols = list(run.tables[name].columns)
        assert cols[:len(keys) + len(vals)] == list(keys) + list(vals), name
    lmp = run.tables["nodal_prices"].set_index("bus")["lmp"]
    assert lmp["A1"] == pytest.approx(20) and lmp["B1"] == pytest.approx(50)


def test_set_overrides_and_summary(tmp_path):
    out = tmp_path / "run"
    p = _edam("solve", str(bundled("example_11_2")), "--out", str(out),
              "--set", "ir_demand_curve_cap_usd_per_mwh=15")
    assert p.returncode == 0, p.stderr
    run = read_run(out)
    assert run.manifest["parameters"]["ir_demand_curve_cap_usd_per_mwh"] == 15
    pp = run.tables["product_prices"]
    assert pp.loc[pp["product"] == "iru", "price_usd_per_mwh"].iloc[0] == pytest.approx(15)
    assert "cleared" in p.stderr and "objective" in p.stderr


def test_bad_parameter_is_a_clear_error_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    p = _edam("solve", str(bundled("example_11_1")), "--out", str(out),
              "--set", "ir_deployed_proportion=-0.5")
    assert p.returncode != 0
    assert "ir_deployed_proportion" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def test_failed_write_leaves_no_partial_folder(tmp_path, monkeypatch):
    result = solve(bundled("example_11_1"))
    real = pd.DataFrame.to_csv
    calls = {"n": 0}

    def flaky(self, *a, **k):  # the fourth table fails half-way through the run folder
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        return real(self, *a, **k)

    out = tmp_path / "run"
    monkeypatch.setattr(pd.DataFrame, "to_csv", flaky)
    with pytest.raises(OSError):
        write_run(result, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []          # no temp folder left behind either
    # an existing run folder survives a failed overwrite untouched
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    write_run(result, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls["n"] = 0
    monkeypatch.setattr(pd.DataFrame, "to_csv", flaky)
    with pytest.raises(OSError):
        write_run(result, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_commitment_from_reproduces_prices(tmp_path):
    base = solve(bundled("example_11_2"))
    again = solve(bundled("example_11_2"), commitment_from=base)
    assert again.tables["nodal_prices"].equals(base.tables["nodal_prices"])
