"""Compare a run with reference results (issue "Parallel-operations validation";
docs/validation.md).

A reference is a folder holding any subset of the results-contract tables (`clearing/results.py`),
CSV or Parquet, with or without a manifest (e.g. produced by `clearing.analysis.oasis.import_oasis`, or
another run). Per table present on both sides: rows matched on the contract keys, rows only on
one side (listed), and per value column the matched count, max absolute and relative
difference, RMSE, the count beyond tolerance and the worst rows; commitment mismatches in
unit-hours, RSE pass/fail disagreements and settlement differences by charge. The reference is
vetted with the independent checker (`clearing.analysis.check`) when its scenario can be found.

Tolerances are absolute, per column. Defaults (`default_tolerance`): prices ($/MWh) 0.01, MW and
MWh 0.1, dollars 1.0, commitment 0.5 (i.e. any 0/1 flip), RSE tier exact, anything else 1e-6. A
YAML file overrides them: keys `table.column`, `table.*`, `*.column` or `column` (the most
specific wins), or nested `{table: {column: tol}}`.
"""

from __future__ import annotations

import html
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from clearing.outputs import beside, check_output_target, refuse_inside, write_output_dir
from clearing.results import RESULT_TABLES, RunResult, read_run
from scenarios.errors import Problem, ScenarioError

PRICE_COLUMNS = {"lmp", "energy", "congestion", "loss", "price", "shadow_price", "energy_price",
                 "transfer_component", "elap_price", "ruc_price", "baa_transfer",
                 "network_congestion"}
WORST_ROWS = 5
LIST_ROWS = 50


def default_tolerance(column: str) -> tuple[float, str]:
    """(absolute tolerance, unit class) for a value column by its name."""
    c = column.lower()
    if c in ("committed", "ruc_committed"):
        return 0.5, "commitment"
    if c == "tier":
        return 0.0, "exact"
    if c in PRICE_COLUMNS or c.endswith("_usd_per_mwh") or c.endswith("_price"):
        return 0.01, "$/MWh"
    if c.endswith("_usd") or c == "usd":
        return 1.0, "$"
    if c in ("mw", "quantity") or c.endswith("_mw") or c.endswith("_mwh"):
        return 0.1, "MW"
    return 1e-6, "-"


_TOLERANCE_KEYS = ("table.column, table.*, *.column or column of the results tables "
                   "(docs/results.md)")


def _tolerance_key_problem(key: str) -> str | None:
    """Why `key` names no results column (None if it does), by clearing.results.COLUMN_TYPES."""
    from clearing.results import COLUMN_TYPES
    columns = {c for kinds in COLUMN_TYPES.values() for c in kinds}
    table, dot, column = key.rpartition(".")
    if not dot:
        return None if key in columns else f"unknown column '{key}'"
    if table == "*":
        return None if column in columns else f"unknown column '{column}'"
    if table not in COLUMN_TYPES:
        return f"unknown table '{table}'"
    if column != "*" and column not in COLUMN_TYPES[table]:
        return f"unknown column '{column}' of table {table}"
    return None


def load_tolerances(path: str | Path | None) -> dict[str, float]:
    """Read a YAML tolerance file into {key: tol} (keys as described in the module doc).
    A bad value or a key naming no results table/column is a `ScenarioError` naming the file,
    its line and the key (every problem at once)."""
    if path is None:
        return {}
    import yaml

    from scenarios.errors import Problem, ScenarioError
    fname = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        node = yaml.compose(text)
        raw = yaml.safe_load(text) or {}
    except OSError as exc:
        raise ScenarioError(Problem(fname, None, None, f"unreadable ({exc.strerror})",
                                    "a YAML tolerance file")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(Problem(fname, None if mark is None else mark.line + 1, None,
                                    "invalid YAML", "YAML: table.column: absolute tolerance")
                            ) from None
    if not isinstance(raw, dict):
        raise ScenarioError(Problem(fname, None, None, type(raw).__name__,
                                    "a mapping of table.column to absolute tolerance"))
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for kn, vn in node.value:
            lines[(kn.value,)] = kn.start_mark.line + 1
            if isinstance(vn, yaml.MappingNode):
                for kn2, _ in vn.value:
                    lines[(kn.value, kn2.value)] = kn2.start_mark.line + 1
    entries = []
    for k, v in raw.items():
        if isinstance(v, dict):
            entries += [(f"{k}.{c}", tol, lines.get((str(k), str(c)))) for c, tol in v.items()]
        else:
            entries.append((str(k), v, lines.get((str(k),))))
    out: dict[str, float] = {}
    problems = []
    for key, tol, line in entries:
        why = _tolerance_key_problem(key)
        if why:
            problems.append(Problem(fname, line, key, why, _TOLERANCE_KEYS))
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
            problems.append(Problem(fname, line, key, repr(tol),
                                    "an absolute tolerance: a number >= 0"))
        elif not why:
            out[key] = float(tol)
    if problems:
        raise ScenarioError(problems)
    return out


def tolerance_for(table: str, column: str, overrides: dict[str, float] | None) -> float:
    o = overrides or {}
    for key in (f"{table}.{column}", f"{table}.*", f"*.{column}", column):
        if key in o:
            return float(o[key])
    return default_tolerance(column)[0]


# ------------------------------------------------------------------------------------------------
@dataclass
class ColumnStat:
    table: str
    column: str
    tolerance: float
    matched: int          # rows matched on keys
    compared: int         # rows with a reference value
    over_tolerance: int   # |diff| > tol, or a missing run value where the reference has one
    max_abs: float
    max_rel: float
    rmse: float
    worst: pd.DataFrame   # keys, run, reference, diff (largest |diff| first)
    kind: str = "numeric"  # numeric or text

    @property
    def passed(self) -> bool:
        return self.over_tolerance == 0


@dataclass
class TableComparison:
    name: str
    keys: list[str]
    matched: int
    only_run: pd.DataFrame
    only_reference: pd.DataFrame
    columns: list[ColumnStat]

    def passed(self, partial_reference: bool = False) -> bool:
        return (all(c.passed for c in self.columns) and not len(self.only_reference)
                and (partial_reference or not len(self.only_run)))


@dataclass
class CompareReport:
    run_label: str
    reference_label: str
    tables: dict[str, TableComparison]
    tolerances: dict[str, float]
    missing_in_run: list[str] = field(default_factory=list)  # reference tables the run lacks
    notes: list[str] = field(default_factory=list)
    commitment: pd.DataFrame | None = None          # resource, hour, run, reference
    rse: pd.DataFrame | None = None                 # baa, test, hour, run, reference
    settlement: pd.DataFrame | None = None          # charge, run_usd, reference_usd, diff_usd, ok
    reference_violations: pd.DataFrame | None = None
    partial_reference: bool = False
    fail_on_reference_violations: bool = False

    # -- verdict --------------------------------------------------------------------------------
    @property
    def failures(self) -> list[str]:
        out = [f"table {t} is in the reference but not in the run" for t in self.missing_in_run]
        for t in self.tables.values():
            if len(t.only_reference):
                out.append(f"{t.name}: {len(t.only_reference)} reference rows missing from the run")
            if len(t.only_run) and not self.partial_reference:
                out.append(f"{t.name}: {len(t.only_run)} run rows not in the reference")
            for c in t.columns:
                if not c.passed:
                    out.append(f"{t.name}.{c.column}: {c.over_tolerance} of {c.compared} rows "
                               f"beyond ±{c.tolerance:g}; worst {_describe_worst(c)}")
        if self.commitment is not None and len(self.commitment):
            out.append(f"commitment: {len(self.commitment)} unit-hours differ")
        if self.rse is not None and len(self.rse):
            out.append(f"rse: {len(self.rse)} pass/fail disagreements")
        if self.settlement is not None and len(self.settlement) and \
                not self.settlement["ok"].all():
            bad = self.settlement.loc[~self.settlement["ok"], "charge"].tolist()
            out.append(f"settlement: totals differ for charges {', '.join(map(str, bad))}")
        if self.fail_on_reference_violations and self.reference_violations is not None and \
                len(self.reference_violations):
            out.append(f"reference: {len(self.reference_violations)} checker violations")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> pd.DataFrame:
        """One row per compared (table, column)."""
        rows = []
        for t in self.tables.values():
            for c in t.columns:
                rows.append(dict(table=c.table, column=c.column, tolerance=c.tolerance,
                                 matched=c.matched, compared=c.compared,
                                 over_tolerance=c.over_tolerance, max_abs=c.max_abs,
                                 max_rel=c.max_rel, rmse=c.rmse, worst=_describe_worst(c),
                                 passed=c.passed))
        return pd.DataFrame(rows, columns=["table", "column", "tolerance", "matched", "compared",
                                           "over_tolerance", "max_abs", "max_rel", "rmse",
                                           "worst", "passed"])

    # -- rendering ------------------------------------------------------------------------------
    def sections(self) -> list[tuple[str, list]]:
        """(title, [paragraph strings and DataFrames]) shared by the Markdown and HTML views."""
        verdict = "PASS" if self.passed else "FAIL"
        head = [f"Run: `{self.run_label}`", f"Reference: `{self.reference_label}`",
                f"Result: **{verdict}**"]
        if self.partial_reference:
            head.append("Partial reference: rows only in the run are listed, not failed.")
        secs: list[tuple[str, list]] = [("Comparison", head)]
        if self.failures:
            secs.append(("Failures", ["\n".join("- " + f for f in self.failures)]))
        tab_rows = [dict(table=t.name, keys=", ".join(t.keys), matched=t.matched,
                         only_run=len(t.only_run), only_reference=len(t.only_reference),
                         passed=t.passed(self.partial_reference)) for t in self.tables.values()]
        secs.append(("Tables", [pd.DataFrame(tab_rows)] +
                     [f"In the reference but not in the run: {', '.join(self.missing_in_run)}"]
                     * bool(self.missing_in_run) + self.notes))
        summ = self.summary()
        if len(summ):
            secs.append(("Columns", ["Absolute tolerances per column (defaults: prices 0.01 "
                                     "$/MWh, MW 0.1, $ 1.0; overrides: "
                                     + (", ".join(f"{k}={v:g}" for k, v in
                                                  sorted(self.tolerances.items())) or "none")
                                     + ").", _fmt(summ)]))
        for t in self.tables.values():
            for label, df in (("only in the run", t.only_run),
                              ("only in the reference", t.only_reference)):
                if len(df):
                    body: list = [f"{len(df)} rows" + (f"; first {LIST_ROWS} listed"
                                                       if len(df) > LIST_ROWS else "")]
                    secs.append((f"{t.name}: rows {label}", body + [df.head(LIST_ROWS)]))
            for c in t.columns:
                if not c.passed and len(c.worst):
                    secs.append((f"{t.name}.{c.column}: worst rows", [_fmt(c.worst)]))
        if self.commitment is not None:
            body = [f"{len(self.commitment)} unit-hours with a different commitment."]
            if len(self.commitment):
                per = self.commitment.groupby("resource").size().rename("unit_hours").reset_index()
                body += [per, self.commitment.head(LIST_ROWS)]
            secs.append(("Commitment", body))
        if self.rse is not None:
            body = [f"{len(self.rse)} RSE pass/fail disagreements."]
            if len(self.rse):
                body.append(self.rse.head(LIST_ROWS))
            secs.append(("RSE", body))
        if self.settlement is not None:
            secs.append(("Settlement by charge", [_fmt(self.settlement)]))
        if self.reference_violations is not None:
            v = self.reference_violations
            body = [f"{len(v)} violations found by `edam check` in the reference"
                    + (" (reported, not failed)." if not self.fail_on_reference_violations
                       else ".")]
            if len(v):
                body.append(v.head(LIST_ROWS))
            secs.append(("Reference vetted by the checker", body))
        return secs

    def to_markdown(self) -> str:
        out = []
        for i, (title, body) in enumerate(self.sections()):
            out.append(("# " if i == 0 else "## ") + title)
            out.append("")
            for item in body:
                out.append(_md_table(item) if isinstance(item, pd.DataFrame) else item)
                out.append("")
        return "\n".join(out)

    def to_html(self) -> str:
        parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
                 f"<title>{html.escape('compare: ' + self.run_label)}</title>",
                 "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}"
                 "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
                 "td,th{border:1px solid #bbb;padding:.2em .5em;text-align:right}"
                 "th{background:#eee}td:first-child{text-align:left}"
                 ".PASS{color:#070;font-weight:bold}.FAIL{color:#b00;font-weight:bold}"
                 "tr.bad td{background:#fdd}code{background:#f4f4f4}</style></head><body>"]
        for i, (title, body) in enumerate(self.sections()):
            tag = "h1" if i == 0 else "h2"
            parts.append(f"<{tag}>{html.escape(title)}</{tag}>")
            for item in body:
                if isinstance(item, pd.DataFrame):
                    parts.append(_html_table(item))
                else:
                    parts.append(_html_text(item))
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md, ht = out / "compare.md", out / "compare.html"
        md.write_text(self.to_markdown())
        ht.write_text(self.to_html())
        return md, ht


# ------------------------------------------------------------------------------------------------
def _describe_worst(c: ColumnStat) -> str:
    if not len(c.worst):
        return ""
    r = c.worst.iloc[0]
    keys = [k for k in c.worst.columns if k not in ("run", "reference", "diff")]
    where = " ".join(f"{k} {r[k]}" for k in keys)
    return f"{where}: run {_num(r['run'])} vs reference {_num(r['reference'])}"


def _num(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "NaN" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.6g}")
    return out


def _md_table(df: pd.DataFrame) -> str:
    if not len(df):
        return "(none)"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(_num(v).replace("|", "\\|") for v in rec) + " |")
    return "\n".join(lines)


def _html_text(s: str) -> str:
    esc = html.escape(s)
    esc = esc.replace("**PASS**", "<span class=\"PASS\">PASS</span>")
    esc = esc.replace("**FAIL**", "<span class=\"FAIL\">FAIL</span>")
    while "`" in esc and esc.count("`") >= 2:
        esc = esc.replace("`", "<code>", 1).replace("`", "</code>", 1)
    if esc.startswith("- "):
        items = "".join(f"<li>{line[2:]}</li>" for line in esc.split("\n"))
        return f"<ul>{items}</ul>"
    return f"<p>{esc}</p>"


def _html_table(df: pd.DataFrame) -> str:
    if not len(df):
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.to_dict("records"):
        bad = rec.get("passed") is False or rec.get("ok") is False
        cells = "".join(f"<td>{html.escape(_num(v))}</td>" for v in rec.values())
        rows.append(f"<tr class=\"bad\">{cells}</tr>" if bad else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _norm_keys(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Keys as strings (integral floats without '.0'; 'hour' as int) so CSV round trips match."""
    out = df.copy()
    for k in keys:
        col = out[k]
        if k == "hour":
            out[k] = pd.to_numeric(col, errors="coerce").astype("Int64")
            continue
        if pd.api.types.is_bool_dtype(col):
            out[k] = col.map(str)
        elif pd.api.types.is_numeric_dtype(col):
            out[k] = col.map(lambda v: "" if pd.isna(v) else
                             (str(int(v)) if float(v).is_integer() else repr(float(v))))
        else:
            out[k] = col.map(lambda v: "" if pd.isna(v) else str(v))
    return out


def _as_bool(s: pd.Series) -> pd.Series:
    m = {"true": True, "1": True, "1.0": True, "yes": True, "false": False, "0": False,
         "0.0": False, "no": False}
    return s.map(lambda v: np.nan if pd.isna(v) else m.get(str(v).strip().lower(), np.nan))


def _numeric(s: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    v = pd.to_numeric(s, errors="coerce")
    if v.notna().sum() == s.notna().sum():  # every given value numeric (or none given)
        return v.astype(float)
    return None


MAX_DUPLICATES_LISTED = 20


def _duplicate_problems(name: str, df: pd.DataFrame, keys: list[str], file: str) -> list[Problem]:
    """One `Problem` per row of `df` (keys normalised) whose key repeats an earlier row's."""
    dup = df.duplicated(keys, keep="first").to_numpy()
    if not dup.any():
        return []
    first = {}
    for i, k in enumerate(df[keys].itertuples(index=False, name=None)):
        first.setdefault(k, i)
    base = 2 if file.endswith(".csv") else 1  # CSV rows as the user sees them (header = 1)
    out = []
    for i in np.flatnonzero(dup)[:MAX_DUPLICATES_LISTED]:
        k = tuple(df[keys].iloc[i])
        shown = ", ".join(f"{c} {v!s}" if str(v) != "" else f"{c} (empty)"
                          for c, v in zip(keys, k))
        out.append(Problem(file, int(i) + base, ", ".join(keys),
                           f"a second row for key ({shown}) (first at row "
                           f"{first[k] + base}); {int(dup.sum())} repeated key rows in {name}",
                           f"one row per ({', '.join(keys)}): keys are unique in every table "
                           "(architecture.md, results contract)"))
    return out


def compare_table(name: str, run_df: pd.DataFrame, ref_df: pd.DataFrame,
                  tolerances: dict[str, float] | None = None,
                  keys: list[str] | None = None, *, run_file: str | None = None,
                  reference_file: str | None = None) -> TableComparison:
    """Compare one table on its keys (default: the contract keys of `name`, results.py).

    Keys must be unique on both sides (architecture.md, "Results contract"): a repeated key
    raises `ScenarioError` naming the file (`run_file`/`reference_file`), the row and the key,
    rather than matching one of the rows silently."""
    keys = list(keys or RESULT_TABLES[name][0])
    a, b = _norm_keys(run_df, keys), _norm_keys(ref_df, keys)
    problems = (_duplicate_problems(name, a, keys, run_file or f"run {name}")
                + _duplicate_problems(name, b, keys, reference_file or f"reference {name}"))
    if problems:
        raise ScenarioError(problems)
    m = a.merge(b, on=keys, how="outer", suffixes=("__run", "__ref"), indicator=True)
    only_run = m.loc[m["_merge"] == "left_only", keys].reset_index(drop=True)
    only_ref = m.loc[m["_merge"] == "right_only", keys].reset_index(drop=True)
    both = m[m["_merge"] == "both"].reset_index(drop=True)
    contract_vals = list(RESULT_TABLES.get(name, ((), ()))[1])
    common = [c for c in b.columns if c in a.columns and c not in keys]
    common.sort(key=lambda c: contract_vals.index(c) if c in contract_vals else len(contract_vals))
    stats = []
    for c in common:
        x, y = both[f"{c}__run"], both[f"{c}__ref"]
        tol = tolerance_for(name, c, tolerances)
        xn, yn = _numeric(x), _numeric(y)
        if c == "passed" or xn is None or yn is None:
            if c == "passed" or pd.api.types.is_bool_dtype(x) or pd.api.types.is_bool_dtype(y):
                xs, ys = _as_bool(x), _as_bool(y)
            else:
                xs = x.map(lambda v: np.nan if pd.isna(v) else str(v))
                ys = y.map(lambda v: np.nan if pd.isna(v) else str(v))
            given = ys.notna()
            bad = given & (xs.isna() | (xs.astype(object) != ys.astype(object)))
            worst = both.loc[bad, keys].assign(run=xs[bad].to_numpy(), reference=ys[bad].to_numpy(),
                                               diff=np.nan).head(WORST_ROWS)
            stats.append(ColumnStat(name, c, 0.0, len(both), int(given.sum()), int(bad.sum()),
                                    float("nan"), float("nan"), float("nan"),
                                    worst.reset_index(drop=True), kind="text"))
            continue
        given = yn.notna()
        diff = (xn - yn).abs()
        missing = given & xn.isna()
        bad = (given & (diff > tol + 1e-12 * np.maximum(1.0, yn.abs()))) | missing
        d = diff[given & ~missing]
        rel = (d / yn[d.index].abs()).where(yn[d.index].abs() > 1e-9)
        order = diff.where(given).fillna(-1.0).where(~missing, np.inf)
        top = order[order > 0].sort_values(ascending=False).index[:WORST_ROWS]
        worst = both.loc[top, keys].assign(run=xn[top].to_numpy(), reference=yn[top].to_numpy(),
                                           diff=(xn[top] - yn[top]).to_numpy())
        stats.append(ColumnStat(
            name, c, tol, len(both), int(given.sum()), int(bad.sum()),
            float(d.max()) if len(d) else 0.0,
            float(rel.max()) if rel.notna().any() else 0.0,
            float(np.sqrt((d ** 2).mean())) if len(d) else 0.0,
            worst.reset_index(drop=True)))
    return TableComparison(name, keys, len(both), only_run, only_ref, stats)


def _commitment(run: RunResult, ref: RunResult) -> pd.DataFrame | None:
    a, b = run.tables.get("schedules"), ref.tables.get("schedules")
    if a is None or b is None or "committed" not in a or "committed" not in b:
        return None
    keys = ["resource", "hour"]
    m = _norm_keys(a, keys)[keys + ["committed"]].drop_duplicates(keys).merge(
        _norm_keys(b, keys)[keys + ["committed"]].drop_duplicates(keys), on=keys,
        suffixes=("_run", "_ref"))
    x = pd.to_numeric(m["committed_run"], errors="coerce").round()
    y = pd.to_numeric(m["committed_ref"], errors="coerce").round()
    bad = y.notna() & (x != y)
    return pd.DataFrame({"resource": m.loc[bad, "resource"], "hour": m.loc[bad, "hour"],
                         "run": x[bad], "reference": y[bad]}).reset_index(drop=True)


def _rse(run: RunResult, ref: RunResult) -> pd.DataFrame | None:
    a, b = run.tables.get("rse"), ref.tables.get("rse")
    if a is None or b is None or "passed" not in a or "passed" not in b:
        return None
    keys = ["baa", "test", "hour"]
    m = _norm_keys(a, keys)[keys + ["passed"]].drop_duplicates(keys).merge(
        _norm_keys(b, keys)[keys + ["passed"]].drop_duplicates(keys), on=keys,
        suffixes=("_run", "_ref"))
    x, y = _as_bool(m["passed_run"]), _as_bool(m["passed_ref"])
    bad = y.notna() & (x.astype(object) != y.astype(object))
    return pd.DataFrame({"baa": m.loc[bad, "baa"], "test": m.loc[bad, "test"],
                         "hour": m.loc[bad, "hour"], "run_passed": x[bad],
                         "reference_passed": y[bad]}).reset_index(drop=True)


def _settlement(run: RunResult, ref: RunResult, tol: float) -> pd.DataFrame | None:
    a, b = run.tables.get("settlement"), ref.tables.get("settlement")
    if a is None or b is None or "amount_usd" not in a or "amount_usd" not in b:
        return None
    x = a.groupby(a["charge"].astype(str))["amount_usd"].sum()
    y = b.groupby(b["charge"].astype(str))["amount_usd"].sum()
    idx = sorted(set(x.index) | set(y.index))
    x, y = x.reindex(idx), y.reindex(idx)
    diff = x.fillna(0.0) - y.fillna(0.0)
    ok = (diff.abs() <= tol) & x.notna() & y.notna()
    return pd.DataFrame({"charge": idx, "run_usd": x.to_numpy(), "reference_usd": y.to_numpy(),
                         "diff_usd": diff.to_numpy(), "ok": ok.to_numpy()})


def _load(x, what: str) -> tuple[RunResult, str]:
    if isinstance(x, RunResult):
        return x, f"<{what} in memory>"
    p = Path(x)
    if not p.is_dir():
        raise ScenarioError(Problem(str(p), None, None, "no such folder",
                                    f"a {what} folder (tables as CSV or Parquet)"))
    return read_run(p), str(p)


def _table_file(label: str, folder, name: str) -> str:
    """How the user sees table `name` of one side: its file in the folder, else a label."""
    if isinstance(folder, RunResult):
        return f"{label} table {name}"
    d = Path(folder)
    ext = "parquet" if (d / f"{name}.parquet").exists() else "csv"
    return str(d / f"{name}.{ext}")


def _check_unique_keys(result: RunResult, label: str, folder) -> list[Problem]:
    """Problems for every declared table of `result` with a repeated key (results.py)."""
    problems = []
    for name in sorted(result.tables):
        keys = list(RESULT_TABLES.get(name, ((), ()))[0])
        df = result.tables[name]
        if not keys or any(k not in df.columns for k in keys):
            continue
        problems += _duplicate_problems(name, _norm_keys(df, keys), keys,
                                        _table_file(label, folder, name))
    return problems


def _find_scenario(scenario, *results: RunResult):
    """The Scenario to vet with: given, or from a manifest's scenario_dir that exists."""
    from scenarios.scenario import Scenario
    if isinstance(scenario, Scenario):
        return scenario, None
    paths = [scenario] if scenario is not None else \
        [(r.manifest or {}).get("scenario_dir") for r in results]
    for p in paths:
        if p and Path(p).is_dir():
            from scenarios import load_scenario
            try:
                return load_scenario(p), None
            except Exception as exc:  # noqa: BLE001 - reported, the comparison goes on
                return None, f"scenario {p} could not be loaded: {exc}"
    return None, "no scenario found (manifest scenario_dir or --scenario): reference not vetted"


def compare_runs(run_dir_or_result, reference_dir, tolerances: dict | None = None, *,
                 scenario=None, partial_reference: bool = False,
                 fail_on_reference_violations: bool = False) -> CompareReport:
    """Compare a run (folder or RunResult) with a reference folder (or RunResult).

    `tolerances`: absolute tolerance overrides (see `tolerance_for`). `partial_reference`: rows
    only in the run are listed but do not fail (a reference that covers some buses/hours only).
    `scenario` (Scenario or folder) vets the reference with the checker; by default the scenario
    named in either manifest is used when it exists. Reference violations fail the comparison only
    with `fail_on_reference_violations`. Every table's keys must be unique on both sides
    (`clearing.results.RESULT_TABLES`); a repeated key raises `ScenarioError` naming the file,
    row and key."""
    run, run_label = _load(run_dir_or_result, "run")
    ref, ref_label = _load(reference_dir, "reference")
    problems = (_check_unique_keys(run, run_label, run_dir_or_result)
                + _check_unique_keys(ref, ref_label, reference_dir))
    if problems:  # a repeated key cannot be matched: an input error, not a silent mismatch
        raise ScenarioError(problems)
    files = {"run": run_dir_or_result, "reference": reference_dir}
    tol = dict(tolerances or {})
    report = CompareReport(run_label, ref_label, {}, tol, partial_reference=partial_reference,
                           fail_on_reference_violations=fail_on_reference_violations)
    for name in sorted(ref.tables):
        if name not in RESULT_TABLES:
            report.notes.append(f"table {name} of the reference is not a results-contract table: "
                                "not compared")
            continue
        if name not in run.tables:
            report.missing_in_run.append(name)
            continue
        keys = list(RESULT_TABLES[name][0])
        lacking = [k for k in keys if k not in ref.tables[name] or k not in run.tables[name]]
        if lacking:
            report.notes.append(f"table {name}: key columns {lacking} missing: not compared")
            continue
        report.tables[name] = compare_table(
            name, run.tables[name], ref.tables[name], tol,
            run_file=_table_file(run_label, files["run"], name),
            reference_file=_table_file(ref_label, files["reference"], name))
    report.commitment = _commitment(run, ref)
    report.rse = _rse(run, ref)
    report.settlement = _settlement(run, ref, tolerance_for("settlement", "amount_usd", tol))
    sc, note = _find_scenario(scenario, run, ref)
    if note:
        report.notes.append(note)
    if sc is not None:
        from clearing.analysis.check import check_run
        try:
            report.reference_violations = check_run(sc, ref)
        except Exception as exc:  # noqa: BLE001 - a partial reference the checker cannot read
            report.notes.append(f"checker could not vet the reference: {exc}")
    return report


COMPARE_SUFFIX = "_compare"  # default output: <run>_compare/ beside the run


def compare_command(run_dir, reference_dir, tolerances_file=None, out=None, *, scenario=None,
                    partial_reference: bool = False, strict_reference: bool = False,
                    overwrite: bool = False) -> int:
    """`edam compare RUN_DIR REFERENCE_DIR [--tolerances FILE] [--out DIR] [--overwrite]`:
    prints the verdict and each failure, writes compare.md and compare.html into `out` (default
    ``<RUN_DIR>_compare/`` beside the run: the run's own folder is never written). An existing
    `out` is replaced only if it is an earlier comparison and `overwrite` is set
    (clearing/outputs.py). Exit 0 within tolerance, 1 otherwise."""
    target = Path(out) if out else beside(run_dir, COMPARE_SUFFIX)
    keep = [p for p in (run_dir, reference_dir) if Path(p).is_dir()]
    refuse_inside(target, keep, "run or reference")
    check_output_target(target, "compare", overwrite=overwrite, forbid_inside=keep)
    report = compare_runs(run_dir, reference_dir, load_tolerances(tolerances_file),
                          scenario=scenario, partial_reference=partial_reference,
                          fail_on_reference_violations=strict_reference)
    target = write_output_dir(target, "compare", report.write, overwrite=overwrite,
                              forbid_inside=keep)
    md, ht = target / "compare.md", target / "compare.html"
    for f in report.failures:
        print(f"- {f}")
    nv = report.reference_violations
    if nv is not None and len(nv):
        print(f"reference has {len(nv)} checker violations (see {md})")
    print(f"{'PASS' if report.passed else 'FAIL'}: {run_dir} vs {reference_dir}; report {md}, {ht}")
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="edam compare", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("reference_dir")
    ap.add_argument("--tolerances", default=None, help="YAML: table.column: absolute tolerance")
    ap.add_argument("--out", default=None,
                    help="report folder (default RUN_DIR_compare beside the run)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace --out if it holds an earlier comparison")
    ap.add_argument("--scenario", default=None, help="scenario folder to vet the reference")
    ap.add_argument("--partial-reference", action="store_true",
                    help="rows only in the run are listed, not failed")
    ap.add_argument("--strict-reference", action="store_true",
                    help="fail when the checker finds violations in the reference")
    a = ap.parse_args(argv)
    return compare_command(a.run_dir, a.reference_dir, a.tolerances, a.out, scenario=a.scenario,
                           partial_reference=a.partial_reference,
                           strict_reference=a.strict_reference, overwrite=a.overwrite)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
