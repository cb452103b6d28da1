"""The multi-day part of a store's report: the days of a rolling run on one page (issue 21).

`edam report STORE` (clearing/runs/report.py `build_store_report`) calls `add_rolling_sections`
for a store with rolling runs (`edam run-days`): for each rolling run, its current chain of days
(catalogue `rolling_current`) in date order, read from the catalogue's views over the runs'
results tables (clearing/runs/store.py), one figure per topic:

- Prices per BAA: the hourly average LMP as one line across the days, and each day's average.
- Transfers: the hourly EDAM transfer of each interface across the days, and each day's MWh.
- IR / RC: each day's IRU, IRD, RCU, RCD awards (MWh, baa_summary *_cleared_mw summed over the
  day's hours) and average prices (product_prices) per BAA.
- RSE: pass / fail per BAA and day (a day fails for a BAA when any of its rse rows fails; the
  hover gives the number of failed rows), with the catalogue query that lists the failed days.
- Days: one row per day (date, run id, objective, average LMP per BAA, RSE passed, wall time).
docs/reports.md describes the page.
"""

from __future__ import annotations

import html
from typing import Callable

import pandas as pd

#: the products of the IR / RC figure and their baa_summary columns
DAY_PRODUCTS = ("iru", "ird", "rcu", "rcd")


def _query(con, sql: str) -> pd.DataFrame | None:
    """The query's frame, or None when a view it reads does not exist (no run has the table)."""
    import duckdb
    try:
        return con.execute(sql).df()
    except duckdb.Error:
        return None


def _ids(run_ids: list[str]) -> str:
    return ", ".join("'" + str(r).replace("'", "''") + "'" for r in run_ids)


def day_series(con, runs: pd.DataFrame) -> dict[str, pd.DataFrame | None]:
    """The frames the figures draw, for the runs `runs` (run_id, trade_date), by run: hourly
    BAA prices, transfers, daily awards, daily product prices and RSE by BAA."""
    ids = _ids(runs["run_id"].tolist())
    out: dict[str, pd.DataFrame | None] = {
        "lmp": _query(con, f"SELECT run_id, baa, hour, avg(lmp) AS lmp FROM nodal_prices "
                           f"WHERE run_id IN ({ids}) GROUP BY run_id, baa, hour"),
        "transfers": _query(con, f"SELECT run_id, interface, hour, sum(mw) AS mw "
                                 f"FROM transfers WHERE run_id IN ({ids}) "
                                 f"GROUP BY run_id, interface, hour"),
        "product_prices": _query(con, f"SELECT run_id, baa, lower(product) AS product, "
                                      f"avg(price_usd_per_mwh) AS price FROM product_prices "
                                      f"WHERE run_id IN ({ids}) AND lower(product) IN "
                                      f"('iru', 'ird', 'rcu', 'rcd') "
                                      f"GROUP BY run_id, baa, lower(product)"),
        "rse": _query(con, f"SELECT run_id, baa, count(*) AS n_rows, sum(CASE WHEN "
                           f"lower(CAST(passed AS VARCHAR)) IN ('false', '0', 'f', 'no') "
                           f"THEN 1 ELSE 0 END) AS n_failed FROM rse "
                           f"WHERE run_id IN ({ids}) GROUP BY run_id, baa"),
    }
    cols = _query(con, "DESCRIBE baa_summary")
    have = set(cols["column_name"]) if cols is not None else set()
    parts = [f"sum({p}_cleared_mw) AS {p}" for p in DAY_PRODUCTS if f"{p}_cleared_mw" in have]
    out["awards"] = _query(con, f"SELECT run_id, baa, {', '.join(parts)} FROM baa_summary "
                                f"WHERE run_id IN ({ids}) GROUP BY run_id, baa") \
        if parts else None
    date = runs.set_index("run_id")["trade_date"].astype(str)
    for k, df in out.items():
        if df is not None:
            df = df.assign(trade_date=df["run_id"].map(date))
            out[k] = df.sort_values([c for c in ("trade_date", "hour") if c in df.columns],
                                    kind="stable").reset_index(drop=True)
    return out


def _timeline(df: pd.DataFrame) -> pd.Series:
    """A continuous time axis: trade date + hour ending (hour 24 is midnight of the next day)."""
    return pd.to_datetime(df["trade_date"]) + pd.to_timedelta(df["hour"].astype(int), unit="h")


def _prices_figure(lmp: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from clearing.runs.report import _DASHES, _PALETTE

    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.12, row_heights=[0.6, 0.4],
                        subplot_titles=["hourly average LMP per BAA across the days ($/MWh)",
                                        "daily average LMP per BAA ($/MWh)"])
    daily = lmp.groupby(["trade_date", "baa"], sort=True)["lmp"].mean().reset_index()
    for i, (baa, g) in enumerate(lmp.groupby("baa", sort=True)):
        style = dict(color=_PALETTE[i % 10], dash=_DASHES[i % len(_DASHES)])
        fig.add_trace(go.Scatter(x=_timeline(g), y=g["lmp"], name=str(baa), legendgroup=str(baa),
                                 mode="lines", line=style,
                                 hovertemplate=f"{html.escape(str(baa))}<br>%{{x}}<br>"
                                               f"%{{y:.2f}} $/MWh<extra></extra>"), row=1, col=1)
        d = daily[daily["baa"] == baa]
        fig.add_trace(go.Scatter(x=d["trade_date"], y=d["lmp"], name=str(baa),
                                 legendgroup=str(baa), showlegend=False,
                                 mode="lines+markers", line=style,
                                 hovertemplate=f"{html.escape(str(baa))}<br>%{{x}}<br>"
                                               f"%{{y:.2f}} $/MWh<extra></extra>"), row=2, col=1)
    fig.update_xaxes(type="category", categoryorder="category ascending", row=2, col=1)
    fig.update_layout(height=620, legend=dict(title="BAA"))
    return fig


def _transfers_figure(tr: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from clearing.runs.report import _PALETTE

    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.12, row_heights=[0.6, 0.4],
                        subplot_titles=["hourly EDAM transfer per interface across the days (MW)",
                                        "transfer per interface and day (MWh)"])
    daily = tr.groupby(["trade_date", "interface"], sort=True)["mw"].sum().reset_index()
    for i, (itf, g) in enumerate(tr.groupby("interface", sort=True)):
        color = _PALETTE[i % 10]
        fig.add_trace(go.Scatter(x=_timeline(g), y=g["mw"], name=str(itf), legendgroup=str(itf),
                                 mode="lines", line=dict(color=color)), row=1, col=1)
        d = daily[daily["interface"] == itf]
        fig.add_trace(go.Bar(x=d["trade_date"], y=d["mw"], name=str(itf), legendgroup=str(itf),
                             showlegend=False, marker_color=color), row=2, col=1)
    fig.update_xaxes(type="category", categoryorder="category ascending", row=2, col=1)
    fig.update_layout(height=620, barmode="group", legend=dict(title="interface"))
    return fig


def _ir_rc_figure(awards: pd.DataFrame | None, prices: pd.DataFrame | None):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from clearing.runs.report import _PALETTE

    products = [p for p in DAY_PRODUCTS
                if (awards is not None and p in awards.columns)
                or (prices is not None and (prices["product"] == p).any())]
    if not products:
        return None
    fig = make_subplots(rows=2, cols=len(products), vertical_spacing=0.16,
                        subplot_titles=[f"{p.upper()} awards (MWh per day)" for p in products]
                        + [f"{p.upper()} average price ($/MWh)" for p in products])
    baas = sorted(set(awards["baa"].astype(str)) if awards is not None else set()
                  | (set(prices["baa"].astype(str)) if prices is not None else set()))
    for c, p in enumerate(products, start=1):
        for i, baa in enumerate(baas):
            color, first = _PALETTE[i % 10], c == 1
            if awards is not None and p in awards.columns:
                a = awards[awards["baa"].astype(str) == baa]
                fig.add_trace(go.Bar(x=a["trade_date"], y=a[p], name=baa, legendgroup=baa,
                                     showlegend=first, marker_color=color), row=1, col=c)
            if prices is not None:
                q = prices[(prices["baa"].astype(str) == baa) & (prices["product"] == p)]
                fig.add_trace(go.Scatter(x=q["trade_date"], y=q["price"], name=baa,
                                         legendgroup=baa, showlegend=False,
                                         mode="lines+markers", line=dict(color=color)),
                              row=2, col=c)
    fig.update_xaxes(type="category", categoryorder="category ascending")
    fig.update_layout(height=620, barmode="group", legend=dict(title="BAA"))
    return fig


def _rse_figure(rse: pd.DataFrame):
    import plotly.graph_objects as go

    z = rse.assign(ok=(rse["n_failed"] == 0).astype(int)).pivot_table(
        index="baa", columns="trade_date", values="ok", aggfunc="min").sort_index()
    failed = rse.pivot_table(index="baa", columns="trade_date", values="n_failed",
                             aggfunc="sum").reindex(index=z.index, columns=z.columns)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[str(c) for c in z.columns], y=[str(i) for i in z.index],
        zmin=0, zmax=1, xgap=2, ygap=2, customdata=failed.to_numpy(),
        colorscale=[[0, "#d7301f"], [0.5, "#d7301f"], [0.5, "#31a354"], [1, "#31a354"]],
        colorbar=dict(tickvals=[0.25, 0.75], ticktext=["fail", "pass"]),
        hovertemplate="%{y} · %{x}<br>failed rows %{customdata}<extra></extra>"))
    fig.update_layout(title="RSE per BAA and day: pass (green) / fail (red)",
                      height=int(max(260, 120 + 40 * len(z.index))),
                      xaxis=dict(type="category", title="trade date",
                                 categoryorder="category ascending"))
    return fig


def days_table(runs: pd.DataFrame, series: dict) -> pd.DataFrame:
    """One row per day: date, run, objective, average LMP per BAA, RSE passed per BAA."""
    cols = [c for c in ("trade_date", "rolling_day", "run_id", "objective", "rse_passed",
                        "wall_s") if c in runs.columns]
    t = runs[cols].copy()
    lmp = series.get("lmp")
    if lmp is not None and len(lmp):
        w = lmp.groupby(["run_id", "baa"])["lmp"].mean().unstack("baa")
        w.columns = [f"avg LMP {c}" for c in w.columns]
        t = t.merge(w, left_on="run_id", right_index=True, how="left")
    rse = series.get("rse")
    if rse is not None and len(rse):
        w = (rse.assign(ok=rse["n_failed"] == 0).pivot_table(index="run_id", columns="baa",
                                                              values="ok", aggfunc="min"))
        w = w.map(lambda v: "pass" if v else "FAIL") if hasattr(w, "map") else w
        w.columns = [f"RSE {c}" for c in w.columns]
        t = t.merge(w, left_on="run_id", right_index=True, how="left")
    return t.sort_values("trade_date", kind="stable")


def add_rolling_sections(page, con, runs: pd.DataFrame,
                         progress: Callable[[str], None] | None = None) -> int:
    """Add the multi-day sections of each rolling run of the store to `page` (a report
    `_Page`); returns the number of rolling runs drawn (module docstring)."""
    from clearing.runs.report import _data_table

    say = progress or (lambda msg: None)
    if "rolling_id" not in runs.columns:
        return 0
    days = runs[runs["rolling_id"].notna() & (runs["status"] == "done")]
    if "rolling_current" in days.columns:
        days = days[days["rolling_current"].fillna(False).astype(bool)]
    chains = sorted(days["rolling_id"].unique())
    for rid in chains:
        d = days[days["rolling_id"] == rid].sort_values("trade_date", kind="stable")
        first, last = str(d["trade_date"].iloc[0]), str(d["trade_date"].iloc[-1])
        tag = f" · rolling run {rid}" if len(chains) > 1 else ""
        say(f"multi-day report: rolling run {rid} ({len(d)} days)")
        s = day_series(con, d[["run_id", "trade_date"]])
        head = (f"Rolling run {rid}: {len(d)} days, {first} to {last} (the current chain of "
                "days, each starting from the previous day's end state).")
        page.section(f"Days{tag}", _data_table(days_table(d, s)), head)
        if s["lmp"] is not None and len(s["lmp"]):
            page.section(f"Prices over the days{tag}", page.figure(_prices_figure(s["lmp"])),
                         "Top: each BAA's hourly average LMP (mean over its buses) as one line "
                         "across the days. Bottom: each day's average.")
        if s["transfers"] is not None and len(s["transfers"]):
            page.section(f"Transfers over the days{tag}",
                         page.figure(_transfers_figure(s["transfers"])),
                         "EDAM transfers (transfers.mw) per interface; the daily bars are "
                         "sums of the hourly MW (MWh).")
        fig = _ir_rc_figure(s["awards"], s["product_prices"])
        if fig is not None:
            page.section(f"IR and RC over the days{tag}", page.figure(fig),
                         "Awards: baa_summary *_cleared_mw summed over each day's hours; "
                         "prices: the day's average of product_prices.")
        if s["rse"] is not None and len(s["rse"]):
            n_fail = int((s["rse"].groupby("run_id")["n_failed"].sum() > 0).sum())
            page.section(f"RSE over the days{tag}", page.figure(_rse_figure(s["rse"])),
                         f"{n_fail} of {len(d)} days fail the RSE for some BAA. The same from "
                         "the catalogue: edam runs STORE --where \"NOT rse_passed AND "
                         "rolling_current\" --sort trade_date")
    return len(chains)


__all__ = ["add_rolling_sections", "day_series", "days_table", "DAY_PRODUCTS"]
