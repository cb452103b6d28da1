"""Results keep their types and units (issue 17): `read_run` and the catalogue views give every
column the kind declared once in `clearing.results.COLUMN_TYPES`; no `-0` is written; metric and
summary labels say MWh for sums over hours and MW for hourly means."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from clearing.api import solve
from clearing.results import (COLUMN_TYPES, KIND_DUCKDB, KIND_PANDAS, RESULT_TABLES, RunResult,
                              ordered, read_run, typed, write_run)
from scenarios.examples import example_11_3
from tests.conftest import _tiny_scenario


@pytest.fixture(scope="module")
def full_run() -> RunResult:
    """The hand-made tiny scenario (2 BAAs, 4 hours, storage) in phase 3 with settlement and
    every RSE table: a run holding every table the engine writes."""
    from clearing.market.rse import evaluate_rse
    from clearing.analysis.settle import settle
    sc = _tiny_scenario().with_parameters(phase=3)
    run = solve(sc)
    st = settle(sc, run, run.tables["settlement_inputs"], run.tables.get("metered_load"),
                run.tables.get("rse"), run.tables.get("rse_distribution"))
    rse = evaluate_rse(sc, prices=run.tables["nodal_prices"], transfers=run.tables["transfers"])
    tables = dict(run.tables, settlement=st.table, statement=st.statement,
                  rse_ciso_suballocation=rse.ciso_suballocation, rse_nec=rse.nec)
    return RunResult(tables=tables, manifest=run.manifest)


def _dtype_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        return "float"
    if pd.api.types.is_string_dtype(s) and s.map(lambda v: isinstance(v, str) or v != v).all():
        return "str"
    return f"other:{s.dtype}"


def test_every_written_table_and_column_is_declared(full_run):
    """COLUMN_TYPES covers every table of a phase-3 run with settlement and RSE, every column
    of it, and every contract column of RESULT_TABLES."""
    assert set(full_run.tables) <= set(COLUMN_TYPES)
    for name, df in full_run.tables.items():
        missing = set(df.columns) - set(COLUMN_TYPES[name])
        assert not missing, f"{name}: undeclared columns {sorted(missing)}"
    for name, (keys, vals) in RESULT_TABLES.items():
        assert set(keys) | set(vals) <= set(COLUMN_TYPES[name]), name
    assert {k for kinds in COLUMN_TYPES.values() for k in kinds.values()} <= set(KIND_PANDAS)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_keeps_dtypes_and_values(full_run, tmp_path, fmt):
    """write_run then read_run: the same tables, each column of its declared kind, the same
    values (as written: `ordered`), for CSV and Parquet."""
    back = read_run(write_run(full_run, tmp_path / "run", fmt))
    assert set(back.tables) == set(full_run.tables)
    for name, df in full_run.tables.items():
        got = back.tables[name]
        for c in got.columns:
            assert _dtype_kind(got[c]) == COLUMN_TYPES[name][c], (name, c, got[c].dtype)
        pd.testing.assert_frame_equal(got, ordered(name, df), check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_numeric_looking_bus_ids_stay_text(tmp_path, fmt):
    """§11.3 has buses '1' and '2' and no losses: bus reads back as text '1', '2' (not 1, 2),
    `loss` (all 0) as float, `hour` as int; the LMPs are 20 and 50 (§11.3 by hand)."""
    run = solve(example_11_3())
    back = read_run(write_run(run, tmp_path / "r", fmt)).tables["nodal_prices"]
    assert list(back["bus"]) == ["1", "2"]
    assert back["loss"].dtype == np.float64 and back["hour"].dtype == np.int64
    assert list(back["lmp"]) == pytest.approx([20.0, 50.0])


def test_no_negative_zero_in_csv(tmp_path):
    """-0.0 in a declared float column, in an undeclared float column and in a contract table
    is written as 0 (a '-0' token would be noise for diff and for a reader)."""
    df = pd.DataFrame({"bus": ["1"], "hour": [1], "baa": ["A"], "lmp": [-0.0], "energy": [0.0],
                       "congestion": [-0.0], "loss": [-0.0], "my_extra": [-0.0]})
    out = write_run(RunResult(tables={"nodal_prices": df}), tmp_path / "r")
    text = (out / "nodal_prices.csv").read_text()
    assert not re.search(r"(^|,)-0(\.0*)?(,|$)", text, flags=re.M), text
    assert text.splitlines()[1] == "1,1,A,0,0,0,0,0"
    assert not np.signbit(typed("nodal_prices", df)["lmp"]).any()


def test_csv_flags_read_as_bool(tmp_path):
    """A CSV's True/False text is read back as bool (not object); ids stay text, 'NA' too (a
    name, not a missing value); an empty text cell is NaN; hand-made three-row table."""
    (tmp_path / "rse_distribution.csv").write_text(
        "direction,hour,baa,pool_usd,net_transfer_mw,share,credit_usd,undistributed_usd,"
        "eligible\nup,1,10,0,5,1,0,0,True\nup,1,NA,0,0,0,0,0,False\n,2,20,,0,0,0,0,False\n")
    back = read_run(tmp_path).tables["rse_distribution"]
    assert back["eligible"].dtype == bool and list(back["eligible"]) == [True, False, False]
    assert list(back["baa"]) == ["10", "NA", "20"] and back["pool_usd"].dtype == np.float64
    assert back["direction"].isna().tolist() == [False, False, True]
    assert np.isnan(back["pool_usd"].iloc[2]) and back["hour"].dtype == np.int64


def test_store_views_have_declared_types_in_every_store(full_run, tmp_path):
    """The same run saved in a CSV store and a Parquet store: every view's column has the
    same DuckDB type in both, that type is the declared one, and avg(soc_mwh) works (S1's
    state of charge is a number, thermal units' is NULL)."""
    from clearing.runs.store import Store, connect
    types = {}
    for fmt in ("csv", "parquet"):
        st = Store(tmp_path / fmt).init()
        st.save_run(full_run, "run0", fmt)
        with connect(st, rebuild=True) as con:
            views = [r[0] for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
            assert set(full_run.tables) <= set(views)
            types[fmt] = {(v, c): t for v in views
                          for c, t, *_ in con.execute(f'DESCRIBE "{v}"').fetchall()}
            avg = con.execute("SELECT avg(soc_mwh) FROM schedules").fetchone()[0]
            expect = full_run.tables["schedules"]["soc_mwh"].mean()
            assert avg == pytest.approx(expect)
    assert types["csv"] == types["parquet"]
    for (v, c), t in types["csv"].items():
        if c != "run_id":
            assert t == KIND_DUCKDB[COLUMN_TYPES[v][c]], (v, c, t)


def test_metric_names_carry_the_unit_of_their_aggregate():
    """Each catalogue metric's SQL aggregate matches its name: sum(...) of MW → '_mwh';
    avg/max of MW → '_mw'; never a sum named '_mw'. Greps the SQL of clearing/runs/store.py."""
    from clearing.runs import store
    sqls = list(store._METRICS_SQL.values())
    sqls.append(store._baa_summary_metrics_sql(
        {f"{p}_{k}_mw" for p in store.RESERVE_PRODUCTS for k in ("requirement", "cleared",
                                                                  "relaxed")}))
    found = []
    for sql in sqls:
        for m in re.finditer(r"'([a-z_]+)'(?: AS metric)?, (?:baa|'ALL'),\s*(\w+)\((.*?)\)",
                             sql, flags=re.S):
            name, agg, arg = m.groups()
            found.append(name)
            if agg == "sum" and re.search(r"_mw\b|\bmw\b", arg):
                assert name.endswith("_mwh"), (name, agg, arg)
            if name.endswith("_mw"):
                assert agg in ("avg", "max", "min"), (name, agg)
            if name.endswith("_mwh"):
                assert agg == "sum", (name, agg)
    assert "iru_cleared_mwh" in found and "transfer_mwh" in found and len(found) >= 12


def test_solve_summary_labels_and_values(full_run):
    """The console summary: a column summed over hours says MWh, a mean of prices $/MWh; its
    numbers are the sums/means of the run's tables (computed here independently)."""
    from clearing.cli import SUMMARY_COLUMNS, summary_rows
    for label, _table, cols, agg in SUMMARY_COLUMNS:
        if agg == "sum" and all(c.endswith("_mw") for c in cols):
            assert label.endswith("MWh") and not label.endswith(" MW"), label
        if agg == "mean":
            assert "$/MWh" in label, label
    headers, rows = summary_rows(full_run)
    assert headers[2] == "IRU req/cleared MWh"
    bs = full_run.tables["baa_summary"]
    a = bs[bs["baa"] == "A"]
    row_a = dict(zip(headers, rows[0]))
    assert row_a["BAA"] == "A"
    # tiny scenario: BAA A's IRU requirement is 20 MW in each of 4 hours = 80 MWh
    assert row_a["IRU req/cleared MWh"].split("/")[0] == "80"
    assert row_a["IRU req/cleared MWh"].split("/")[1] == f"{a['iru_cleared_mw'].sum():.0f}"


def test_no_negative_zero_in_rse_files(full_run, tmp_path):
    """`edam rse` (write_rse) writes through the same typing: a -0.0 put in every float column
    of the four RSE tables comes out as 0."""
    from clearing.market.rse import RseResult, write_rse
    t = full_run.tables

    def neg0(df):
        df = df.copy()
        for c in df.columns:
            if df[c].dtype == float:
                df[c] = -0.0
        return df
    res = RseResult(table=neg0(t["rse"]), distribution=neg0(t["rse_distribution"]),
                    ciso_suballocation=neg0(t["rse_ciso_suballocation"]), nec=neg0(t["rse_nec"]))
    files = write_rse(res, tmp_path / "rse")
    assert len(files) == 4
    for f in files:
        assert not re.search(r"(^|,)-0(\.0*)?(,|$)", f.read_text(), flags=re.M), f.name
