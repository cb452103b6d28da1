"""Self-contained HTML reports of one run or of a run store (`edam report RUN_DIR|STORE`).

One HTML file, plotly.js embedded inline (no CDN, no network needed to open it):

- a run (a folder with `manifest.json`): run summary; LMP heat map by bus and hour; BAA prices;
  EDAM transfers against their limits; IRU/IRD/RCU/RCD requirement vs cleared vs relaxed per BAA
  and hour; reserve prices against the IR demand-curve cap (and the default availability bid);
  the RSE pass/fail grid (if the run has an `rse` table); settlement totals (if it has a
  `settlement` table);
- a store (a folder with `runs/`): the runs table, and each key metric (average LMP per BAA, IR
  and RC cleared/relaxed totals, reserve prices, objective, transfers, ...) against each swept
  parameter, one line per combination of the other swept values.
"""

from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from clearing.results import read_run

RESERVES = ("iru", "ird", "rcu", "rcd")
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")

_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#222;background:#fafafa}
header{background:#14365d;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;opacity:.85;font-size:13px}
main{padding:8px 24px 40px;max-width:1500px;box-sizing:border-box}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:16px 0;padding:8px 16px}
h2{font-size:16px;margin:8px 0} p.note{font-size:12px;color:#555;margin:2px 0 8px}
table.kv,table.data{border-collapse:collapse;font-size:12px;margin:6px 0}
table.kv td,table.data td,table.data th{border:1px solid #ddd;padding:3px 7px;text-align:left}
table.data th{background:#f0f3f7}
table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#b00020;font-weight:600} .good{color:#16794c;font-weight:600}
nav a{margin-right:12px;font-size:13px} .scroll{overflow-x:auto;max-width:100%}
"""


# ------------------------------------------------------------------------------------------
# page assembly
class _Page:
    def __init__(self, title: str, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)
        self.n_figures = 0

    def section(self, heading: str, body: str, note: str = "") -> None:
        anchor = f"s{len(self.sections) + 1}"
        if note:
            body = f'<p class="note">{html.escape(note)}</p>' + body
        self.sections.append((anchor, heading, body))

    def figure(self, fig) -> str:
        self.n_figures += 1
        height = fig.layout.height or 420
        return fig.to_html(full_html=False, include_plotlyjs=False,
                           div_id=f"fig{self.n_figures}", default_height=f"{int(height)}px",
                           config={"displaylogo": False, "responsive": True})

    def render(self) -> str:
        from plotly.offline import get_plotlyjs

        nav = " ".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in self.sections)
        body = "\n".join(f'<section id="{a}"><h2>{html.escape(h)}</h2>\n{b}\n</section>'
                         for a, h, b in self.sections)
        made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n"
            # plotly.js, inline: the file needs no network
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script>\n</head>\n<body>\n"
            f"<header><h1>{html.escape(self.title)}</h1><p>{html.escape(self.subtitle)} · "
            f"made {made}</p></header>\n<main>\n<nav>{nav}</nav>\n{body}\n</main>\n"
            "</body>\n</html>\n")


def _kv_table(items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in items)
    return f'<table class="kv">{rows}</table>'


def _data_table(df: pd.DataFrame, max_rows: int = 500) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = []
        for v in rec:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            if isinstance(v, str) and v in ("failed",):
                cls = ' class="bad"'
            elif isinstance(v, str) and v in ("done",):
                cls = ' class="good"'
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">{len(df) - max_rows} more rows not shown</p>'
            if len(df) > max_rows else "")
    return (f'<div class="scroll"><table class="data"><tr>{head}</tr>{"".join(rows)}</table>'
            f'</div>{more}')


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _col(df: pd.DataFrame | None, *cols: str) -> bool:
    return df is not None and len(df) > 0 and all(c in df.columns for c in cols)


# ------------------------------------------------------------------------------------------
# one run
def _lmp_heatmap(nodal: pd.DataFrame):
    import plotly.graph_objects as go

    df = nodal.copy()
    order = (df[["baa", "bus"]].drop_duplicates().sort_values(["baa", "bus"])
             if "baa" in df.columns else df[["bus"]].drop_duplicates().sort_values("bus"))
    buses = [str(b) for b in order["bus"]]
    baa_of = dict(zip(order["bus"].astype(str), order["baa"].astype(str))) if "baa" in df else {}
    z = df.pivot_table(index=df["bus"].astype(str), columns="hour", values="lmp",
                       aggfunc="mean").reindex(buses)
    labels = [f"{baa_of.get(b, '')} · {b}" if baa_of else b for b in buses]
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[int(h) for h in z.columns], y=labels, colorscale="RdYlBu_r",
        colorbar=dict(title="$/MWh"),
        hovertemplate="bus %{y}<br>hour %{x}<br>LMP %{z:.2f} $/MWh<extra></extra>"))
    fig.update_layout(title="LMP by bus and hour ($/MWh)",
                      height=int(min(1800, max(360, 120 + 14 * len(buses)))),
                      xaxis=dict(title="hour ending", dtick=1), yaxis=dict(autorange="reversed"),
                      margin=dict(l=160, r=20, t=50, b=40))
    return fig


def _baa_prices(tables: dict[str, pd.DataFrame]):
    import plotly.graph_objects as go

    bp = tables.get("baa_prices")
    fig = go.Figure()
    if _col(bp, "baa", "hour", "energy_price"):
        for i, (baa, g) in enumerate(bp.sort_values("hour").groupby("baa", sort=True)):
            fig.add_trace(go.Scatter(x=g["hour"], y=g["energy_price"], name=f"{baa}",
                                     mode="lines+markers", line=dict(color=_PALETTE[i % 10])))
        title = "BAA energy prices π (baa_prices.energy_price, $/MWh)"
    else:
        nodal = tables["nodal_prices"]
        g0 = nodal.groupby(["baa", "hour"], sort=True)["lmp"].mean().reset_index()
        for i, (baa, g) in enumerate(g0.groupby("baa", sort=True)):
            fig.add_trace(go.Scatter(x=g["hour"], y=g["lmp"], name=f"{baa}", mode="lines+markers",
                                     line=dict(color=_PALETTE[i % 10])))
        title = "BAA average LMP ($/MWh)"
    fig.update_layout(title=title, height=380, xaxis=dict(title="hour ending", dtick=1),
                      yaxis=dict(title="$/MWh"), legend=dict(title="BAA"))
    return fig


def _transfers(tr: pd.DataFrame):
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (itf, g) in enumerate(tr.sort_values("hour").groupby("interface", sort=True)):
        color = _PALETTE[i % 10]
        label = str(itf)
        if _col(g, "from_baa", "to_baa"):
            label = f"{itf} ({g['from_baa'].iloc[0]}→{g['to_baa'].iloc[0]})"
        fig.add_trace(go.Scatter(x=g["hour"], y=g["mw"], name=label, mode="lines+markers",
                                 line=dict(color=color), legendgroup=label))
        if "limit_mw" in g.columns:
            fig.add_trace(go.Scatter(x=g["hour"], y=g["limit_mw"], name=f"{itf} limit",
                                     mode="lines+markers", marker=dict(size=4),
                                     line=dict(color=color, dash="dot", width=1),
                                     legendgroup=label, showlegend=False,
                                     hovertemplate="limit %{y:.1f} MW<extra></extra>"))
    fig.update_layout(title="EDAM transfers (solid) and ETSR limits (dotted), MW", height=400,
                      xaxis=dict(title="hour ending", dtick=1), yaxis=dict(title="MW"))
    return fig


def _reserves(bs: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    products = [p for p in RESERVES if f"{p}_requirement_mw" in bs.columns]
    baas = sorted(bs["baa"].astype(str).unique())
    if not products or not baas:
        return None
    fig = make_subplots(rows=len(products), cols=len(baas), shared_xaxes=True,
                        subplot_titles=[f"{p.upper()} · {b}" for p in products for b in baas],
                        vertical_spacing=0.08 if len(products) > 1 else 0.1,
                        horizontal_spacing=0.04)
    for r, p in enumerate(products, start=1):
        for c, baa in enumerate(baas, start=1):
            g = bs[bs["baa"].astype(str) == baa].sort_values("hour")
            first = r == 1 and c == 1
            fig.add_trace(go.Bar(x=g["hour"], y=g.get(f"{p}_cleared_mw"), name="cleared",
                                 marker_color="#2b8cbe", legendgroup="cleared",
                                 showlegend=first), row=r, col=c)
            fig.add_trace(go.Bar(x=g["hour"], y=g.get(f"{p}_relaxed_mw"), name="relaxed",
                                 marker_color="#e34a33", legendgroup="relaxed",
                                 showlegend=first), row=r, col=c)
            fig.add_trace(go.Scatter(x=g["hour"], y=g[f"{p}_requirement_mw"],
                                     name="requirement", mode="lines+markers",
                                     line=dict(color="#222", width=1.5, shape="hvh"),
                                     legendgroup="requirement", showlegend=first), row=r, col=c)
    if bs["hour"].nunique() <= 8:
        fig.update_xaxes(dtick=1)
    fig.update_layout(barmode="stack", height=int(170 + 210 * len(products)),
                      title="Reserve requirement vs cleared vs relaxed (MW), per BAA and hour")
    return fig


def _reserve_prices(pp: pd.DataFrame, params: dict):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = pp.copy()
    df["product"] = df["product"].astype(str).str.lower()
    products = [p for p in RESERVES if p in set(df["product"])]
    if not products:
        products = sorted(set(df["product"]))[:4]
    if not products:
        return None
    cap = params.get("ir_demand_curve_cap_usd_per_mwh")
    dab = params.get("ir_rc_default_availability_bid_usd_per_mwh")
    fig = make_subplots(rows=1, cols=len(products), shared_yaxes=True,
                        subplot_titles=[p.upper() for p in products])
    baas = sorted(df["baa"].astype(str).unique())
    for c, p in enumerate(products, start=1):
        g0 = df[df["product"] == p]
        for i, baa in enumerate(baas):
            g = g0[g0["baa"].astype(str) == baa].sort_values("hour")
            fig.add_trace(go.Scatter(x=g["hour"], y=g["price_usd_per_mwh"], name=baa,
                                     mode="lines+markers", legendgroup=baa,
                                     line=dict(color=_PALETTE[i % 10]), showlegend=c == 1),
                          row=1, col=c)
        hours = sorted(df["hour"].unique())
        if p in ("iru", "ird") and cap is not None and hours:
            fig.add_trace(go.Scatter(x=[hours[0], hours[-1]], y=[cap, cap], mode="lines",
                                     name=f"IR demand-curve cap ({cap:g})",
                                     line=dict(color="#b00020", dash="dash"),
                                     legendgroup="cap", showlegend=c == 1 or p == "iru"),
                          row=1, col=c)
        if p in ("iru", "rcu") and dab is not None and hours and dab != cap:
            fig.add_trace(go.Scatter(x=[hours[0], hours[-1]], y=[dab, dab], mode="lines",
                                     name=f"default availability bid ({dab:g})",
                                     line=dict(color="#6a3d9a", dash="dot"),
                                     legendgroup="dab", showlegend=p == "iru"), row=1, col=c)
    fig.update_layout(title="Reserve prices ($/MWh) against the IR demand-curve cap",
                      height=400)
    fig.update_xaxes(title_text="hour ending")
    return fig


def _rse_grid(rse: pd.DataFrame):
    import plotly.graph_objects as go

    df = rse.copy()
    passed = df["passed"]
    if passed.dtype == object or str(passed.dtype).startswith(("str", "string")):
        passed = passed.astype(str).str.lower().isin(["true", "1", "t", "yes"])
    df["ok"] = passed.astype(bool).astype(int)
    df["row"] = df["baa"].astype(str) + " · " + df["test"].astype(str)
    z = df.pivot_table(index="row", columns="hour", values="ok", aggfunc="min").sort_index()
    deficiency = None
    if "deficiency_mw" in df.columns:
        deficiency = df.pivot_table(index="row", columns="hour", values="deficiency_mw",
                                    aggfunc="sum").reindex(index=z.index, columns=z.columns)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[int(h) for h in z.columns], y=list(z.index), zmin=0, zmax=1,
        colorscale=[[0, "#d7301f"], [0.5, "#d7301f"], [0.5, "#31a354"], [1, "#31a354"]],
        customdata=None if deficiency is None else deficiency.to_numpy(), xgap=1, ygap=1,
        colorbar=dict(tickvals=[0.25, 0.75], ticktext=["fail", "pass"]),
        hovertemplate="%{y}<br>hour %{x}<br>passed %{z}"
        + ("<br>deficiency %{customdata:.1f} MW" if deficiency is not None else "")
        + "<extra></extra>"))
    fig.update_layout(title="Resource sufficiency evaluation: pass (green) / fail (red)",
                      height=int(min(1200, max(300, 110 + 22 * len(z.index)))),
                      xaxis=dict(title="hour ending", dtick=1),
                      yaxis=dict(autorange="reversed", automargin=True))
    return fig


def _settlement(st: pd.DataFrame):
    import plotly.graph_objects as go

    g = st.groupby(["charge", "baa"], sort=True)["amount_usd"].sum().reset_index()
    fig = go.Figure()
    for i, (baa, gg) in enumerate(g.groupby("baa", sort=True)):
        fig.add_trace(go.Bar(x=gg["charge"].astype(str), y=gg["amount_usd"], name=str(baa),
                             marker_color=_PALETTE[i % 10]))
    fig.update_layout(title="Settlement totals by charge and BAA ($; positive = charge)",
                      barmode="relative", height=420, yaxis=dict(title="$"))
    totals = (st.groupby("charge", sort=True)
              .agg(rows=("amount_usd", "size"), amount_usd=("amount_usd", "sum")).reset_index())
    return fig, totals


def build_run_report(run_dir: str | Path) -> str:
    """The HTML of one run's report."""
    run = read_run(run_dir)
    m, t = run.manifest, run.tables
    sc = m.get("scenario") or {}
    solver = m.get("solver") or {}
    params = m.get("parameters") or {}
    run_id = m.get("run_id") or (m.get("store") or {}).get("run_id") or Path(run_dir).name
    if (m.get("store") or {}).get("label"):  # a sweep point's label names the run
        run_id = f"{run_id} ({m['store']['label']})"
    page = _Page(f"EDAM run {run_id}: {sc.get('name', '')} {sc.get('trade_date', '')}".strip(),
                 f"{Path(run_dir).resolve()}")

    from scenarios.parameters import MarketParameters
    defaults = MarketParameters().to_dict()
    changed = [(k, v) for k, v in sorted(params.items()) if k in defaults and defaults[k] != v]
    timings = m.get("timings") or {}
    summary = [("scenario", sc.get("name")), ("trade date", sc.get("trade_date")),
               ("hours", sc.get("hours")), ("phase", params.get("phase")),
               ("termination", solver.get("termination")),
               ("objective (MIP)", solver.get("objective_mip")),
               ("objective (pricing LP)", solver.get("objective_lp")),
               ("MIP gap", solver.get("mip_gap")), ("input hash", m.get("input_hash"))]
    summary += [(f"time {k}", v) for k, v in timings.items() if isinstance(v, (int, float))]
    body = _kv_table(summary)
    body += "<h2>Parameters changed from their defaults</h2>" + (
        _kv_table(changed) if changed else '<p class="note">none (all defaults)</p>')
    page.section("Run", body)

    nodal = t.get("nodal_prices")
    if _col(nodal, "bus", "hour", "lmp"):
        page.section("LMP heat map", page.figure(_lmp_heatmap(nodal)),
                     "Locational marginal price of every bus and hour; buses grouped by BAA.")
    if _col(nodal, "baa", "hour", "lmp") or _col(t.get("baa_prices"), "baa", "energy_price"):
        page.section("BAA prices", page.figure(_baa_prices(t)))
    if _col(t.get("transfers"), "interface", "hour", "mw"):
        page.section("Transfers", page.figure(_transfers(t["transfers"])))
    bs = t.get("baa_summary")
    if _col(bs, "baa", "hour"):
        fig = _reserves(bs)
        if fig is not None:
            page.section("IR / RC: requirement, cleared, relaxed", page.figure(fig),
                         "Bars: cleared (blue) and relaxed (red) MW, stacked; line: the "
                         "requirement.")
    pp = t.get("product_prices")
    if _col(pp, "baa", "product", "hour", "price_usd_per_mwh"):
        fig = _reserve_prices(pp, params)
        if fig is not None:
            page.section("Reserve prices", page.figure(fig),
                         "A relaxed requirement is priced at its demand-curve cap.")
    if _col(t.get("rse"), "baa", "test", "hour", "passed"):
        page.section("RSE", page.figure(_rse_grid(t["rse"])))
    if _col(t.get("settlement"), "charge", "baa", "amount_usd"):
        fig, totals = _settlement(t["settlement"])
        page.section("Settlement", page.figure(fig) + _data_table(totals))
    return page.render()


# ------------------------------------------------------------------------------------------
# a store
KEY_METRICS = ("avg_lmp", "iru_cleared_mwh", "iru_relaxed_mwh", "ird_cleared_mwh",
               "ird_relaxed_mwh", "rcu_cleared_mwh", "rcu_relaxed_mwh", "rcd_cleared_mwh",
               "rcd_relaxed_mwh", "avg_iru_price", "avg_ird_price", "avg_rcu_price",
               "avg_rcd_price", "objective", "transfer_mwh", "rse_failures",
               "settlement_charges_usd")


def build_store_report(store) -> str:
    """The HTML of a store's report (rebuilds the catalogue first)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from clearing.store import Store, connect

    st = store if isinstance(store, Store) else Store(store)
    con = connect(st, rebuild=True)
    try:
        runs = con.execute("SELECT * FROM runs ORDER BY run_id").df()
        lmp_baa = con.execute("SELECT run_id, baa, value FROM run_metrics "
                              "WHERE metric = 'avg_lmp' AND baa <> 'ALL'").df()
        sweeps = con.execute("SELECT name, file, n_runs, recorded_at FROM sweeps "
                             "ORDER BY recorded_at").df()
    finally:
        con.close()
    from scenarios.parameters import MarketParameters
    swept = [c for c in runs.columns if c in MarketParameters.names()]
    if "phase" in runs.columns and runs["phase"].nunique(dropna=True) > 1:
        swept = ["phase"] + [c for c in swept if c != "phase"]
    else:
        swept = [c for c in swept if c != "phase"]
    done = runs[runs["status"] == "done"].copy()
    n_failed = int((runs["status"] == "failed").sum())
    page = _Page(f"EDAM run store: {len(runs)} runs",
                 f"{st.root} · {len(done)} done, {n_failed} failed")

    overview = [("store", str(st.root)), ("runs", len(runs)), ("done", len(done)),
                ("failed", n_failed), ("swept parameters", ", ".join(swept) or "none"),
                ("catalogue", str(st.catalogue_path))]
    body = _kv_table(overview)
    if len(sweeps):
        body += "<h2>Sweeps</h2>" + _data_table(sweeps)
    page.section("Store", body)

    # metric columns present
    # metrics that carry information: present, and not zero in every run
    metrics = [m for m in KEY_METRICS if m in done.columns and done[m].notna().any()
               and not (done[m].fillna(0) == 0).all()]
    lmp_cols = []
    if len(lmp_baa):
        wide = lmp_baa.pivot_table(index="run_id", columns="baa", values="value")
        wide.columns = [f"avg_lmp_{c}" for c in wide.columns]
        lmp_cols = list(wide.columns)
        done = done.drop(columns=[c for c in lmp_cols if c in done.columns]).merge(
            wide, left_on="run_id", right_index=True, how="left")

    group_cols = [c for c in ("scenario", "trade_date") if c in done.columns
                  and done[c].nunique(dropna=True) > 1]
    for p in swept:
        if not len(done) or done[p].nunique(dropna=True) < 1:
            continue
        others = [q for q in swept if q != p] + group_cols
        panels = (["avg_lmp"] if "avg_lmp" in metrics else []) + \
            [m for m in metrics if m != "avg_lmp"]
        if not panels:
            continue
        ncols = 3 if len(panels) > 4 else 2 if len(panels) > 1 else 1
        nrows = math.ceil(len(panels) / ncols)
        fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[
            ("average LMP per BAA" if m == "avg_lmp" and lmp_cols else m) for m in panels],
            horizontal_spacing=0.07, vertical_spacing=min(0.12, 0.6 / max(1, nrows)))
        groups = list(done.groupby(others, dropna=False, sort=True)) if others else [((), done)]
        shown: set[str] = set()
        for k, m in enumerate(panels):
            r, c = k // ncols + 1, k % ncols + 1
            ys = lmp_cols if (m == "avg_lmp" and lmp_cols) else [m]
            for gi, (gkey, g) in enumerate(groups):
                g = g.sort_values(p)
                gkey = gkey if isinstance(gkey, tuple) else (gkey,)
                glabel = ", ".join(f"{o}={_fmt(v)}" for o, v in zip(others, gkey)) or "runs"
                for yi, y in enumerate(ys):
                    # colour = the combination of other values (as in every panel), dash = BAA
                    label = glabel if len(ys) == 1 else f"{y.removeprefix('avg_lmp_')} · {glabel}"
                    fig.add_trace(go.Scatter(
                        x=g[p], y=g[y], mode="lines+markers", name=label, legendgroup=label,
                        showlegend=label not in shown,
                        line=dict(color=_PALETTE[gi % 10], dash=_DASHES[yi % len(_DASHES)]),
                        marker=dict(symbol=_SYMBOLS[yi % len(_SYMBOLS)]),
                        customdata=g[["run_id"]].to_numpy(),
                        hovertemplate=f"{p}=%{{x}}<br>{y}=%{{y:.4g}}<br>run %{{customdata[0]}}"
                                      f"<br>{html.escape(label)}<extra></extra>"), row=r, col=c)
                    shown.add(label)
            fig.update_xaxes(title_text=p if r == nrows else None, row=r, col=c)
        fig.update_layout(title=f"Key metrics against {p}", height=int(120 + 260 * nrows),
                          legend=dict(font=dict(size=10)))
        page.section(f"Metrics vs {p}", page.figure(fig),
                     "One line per combination of the other swept values; hover for the run id.")
    if not swept and len(done):
        cols = [m for m in metrics if m != "objective"][:6]
        if cols:
            fig = make_subplots(rows=1, cols=len(cols), subplot_titles=cols)
            for i, m in enumerate(cols, start=1):
                names = done["run_id"] if "label" not in done else done["label"].fillna(
                    done["run_id"])
                fig.add_trace(go.Bar(x=names, y=done[m], name=m, showlegend=False),
                              row=1, col=i)
            fig.update_layout(title="Key metrics by run", height=380)
            page.section("Metrics by run", page.figure(fig))

    table_cols = [c for c in ["run_id", "label", "status", "scenario", "trade_date", "phase",
                              *swept,
                              "objective", "mip_gap", "total_s", "wall_s", "avg_lmp",
                              "iru_relaxed_mwh", "ird_relaxed_mwh", "error"]
                  if c in runs.columns]
    table_cols = list(dict.fromkeys(table_cols))
    page.section("Runs", _data_table(runs[table_cols]))
    return page.render()


# ------------------------------------------------------------------------------------------
def write_report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a run folder or a store; returns the HTML file written."""
    p = Path(path)
    if (p / "manifest.json").is_file():
        text = build_run_report(p)
        default = p / "report.html"
    elif (p / "runs").is_dir():
        text = build_store_report(p)
        default = p / "report.html"
    else:
        from scenarios.errors import Problem, ScenarioError
        raise ScenarioError(Problem(str(p), None, None, "neither a run folder nor a store",
                                    "a run folder (with manifest.json) or a run store "
                                    "(with runs/)"))
    from clearing.store import _atomic_write_text

    target = Path(out) if out else default
    _atomic_write_text(target, text)
    return target


def report_command(path, out=None) -> int:
    """`edam report RUN_DIR|STORE [--out FILE]`: 0 on success, 2 on a bad path."""
    from rich.console import Console

    from scenarios.errors import ScenarioError

    err = Console(stderr=True)
    try:
        target = write_report(path, out)
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc.problems[0] if exc.problems else exc}", highlight=False)
        return 2
    Console().print(f"report written to {target}")
    return 0
