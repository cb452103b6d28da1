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
from typing import Any, Callable

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
.alert{background:#fff4e5;border:2px solid #c75000;border-radius:6px;margin:16px 0;
padding:8px 16px;color:#5a2a00;font-size:14px} .alert ul{margin:6px 0 4px 18px;padding:0}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable th.asc::after{content:" \\25B2"} table.sortable th.desc::after{content:" \\25BC"}
input.filter{font-size:12px;padding:3px 6px;margin:4px 0;width:320px}
"""

# After Plotly has drawn a figure, mark its div with the number of traces that carry data
# (data-traces-with-data) and the number of trace elements drawn (data-trace-nodes): a check
# (tests/test_sweep.py, in headless chromium) that no chart came out empty.
_MARK_DRAWN_JS = """
window.addEventListener('load', function () {
  function mark() {
    var figs = document.querySelectorAll('div.plotly-graph-div');
    var pending = 0;
    figs.forEach(function (gd) {
      if (!gd._fullData || !gd._fullLayout) { pending++; return; }
      var n = 0;
      (gd._fullData || []).forEach(function (tr) {
        // points Plotly found in the trace (typed arrays decoded): _length, or z's rows
        var pts = tr._length || 0;
        if (!pts && tr.z && tr.z.length) pts = tr.z.length;
        if (pts > 0 && tr.visible !== false) n++;
      });
      gd.setAttribute('data-traces-with-data', String(n));
      gd.setAttribute('data-trace-nodes',
                      String(gd.querySelectorAll('.trace, g.hm, .heatmaplayer image').length));
    });
    if (pending) { setTimeout(mark, 50); }
    else { document.body.setAttribute('data-figures-marked', String(figs.length)); }
  }
  mark();
});
"""

# Sortable, filterable tables (class "sortable"): click a header to sort (again to reverse);
# numbers sort by their data-v value. Plain JS, no library.
_SORT_JS = """
function edamSort(th) {
  var table = th.closest('table'), body = table.tBodies[0];
  var col = Array.prototype.indexOf.call(th.parentNode.children, th);
  var asc = !th.classList.contains('asc');
  th.parentNode.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
  th.classList.add(asc ? 'asc' : 'desc');
  var rows = Array.prototype.slice.call(body.rows);
  function key(r) {
    var c = r.cells[col]; var v = c.getAttribute('data-v');
    return v !== null && v !== '' ? parseFloat(v) : c.textContent.trim().toLowerCase();
  }
  rows.sort(function (a, b) {
    var x = key(a), y = key(b);
    if (typeof x === 'number' && typeof y !== 'number') return -1;
    if (typeof y === 'number' && typeof x !== 'number') return 1;
    var d = x < y ? -1 : x > y ? 1 : 0;
    return asc ? d : -d;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
function edamFilter(input, id) {
  var q = input.value.toLowerCase();
  document.getElementById(id).tBodies[0].querySelectorAll('tr').forEach(function (r) {
    r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
}
"""


# ------------------------------------------------------------------------------------------
# page assembly
class _Page:
    def __init__(self, title: str, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.sections: list[tuple[str, str, str]] = []  # (anchor, heading, html)
        self.n_figures = 0
        self.alerts: list[str] = []

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
            f"made {made}</p></header>\n<main>\n{_alerts_html(self.alerts)}<nav>{nav}</nav>\n"
            f"{body}\n</main>\n<script>{_MARK_DRAWN_JS}{_SORT_JS}</script>\n</body>\n</html>\n")


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
#: percentiles the LMP heat map's colour scale is clipped to when its tails would dominate
HEATMAP_CLIP_PERCENTILES = (5.0, 95.0)


def heatmap_colour_range(values, percentiles: tuple[float, float] = HEATMAP_CLIP_PERCENTILES
                         ) -> tuple[float, float, bool]:
    """(zmin, zmax, clipped) for a heat map's colour scale. Clipped to the percentiles when
    the full range is more than twice the percentile range (one hour's spike, or one bus's
    negative price, would otherwise wash every other cell into one colour)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0, False
    lo, hi = float(v.min()), float(v.max())
    plo, phi = (float(x) for x in np.percentile(v, percentiles))
    if phi > plo and (hi - lo) > 2 * (phi - plo):
        return plo, phi, True
    return lo, hi, False


def _lmp_heatmap(nodal: pd.DataFrame):
    """(figure, caption) of the LMP heat map, its colour scale clipped when a tail dominates."""
    import plotly.graph_objects as go

    df = nodal.copy()
    order = (df[["baa", "bus"]].drop_duplicates().sort_values(["baa", "bus"])
             if "baa" in df.columns else df[["bus"]].drop_duplicates().sort_values("bus"))
    buses = [str(b) for b in order["bus"]]
    baa_of = dict(zip(order["bus"].astype(str), order["baa"].astype(str))) if "baa" in df else {}
    z = df.pivot_table(index=df["bus"].astype(str), columns="hour", values="lmp",
                       aggfunc="mean").reindex(buses)
    labels = [f"{baa_of.get(b, '')} · {b}" if baa_of else b for b in buses]
    values = z.to_numpy()
    zmin, zmax, clipped = heatmap_colour_range(values)
    lo, hi = float(pd.Series(values.ravel()).min()), float(pd.Series(values.ravel()).max())
    p_lo, p_hi = HEATMAP_CLIP_PERCENTILES
    if clipped:
        n_out = int(((values < zmin) | (values > zmax)).sum())
        title = (f"LMP by bus and hour ($/MWh); colours clipped to the {p_lo:g}th–{p_hi:g}th "
                 f"percentile ({zmin:,.2f} to {zmax:,.2f})")
        note = (f"The colour scale is clipped to the {p_lo:g}th–{p_hi:g}th percentile of all "
                f"bus-hours ({zmin:,.2f} to {zmax:,.2f} $/MWh): {n_out} bus-hours lie outside "
                f"it (the full range is {lo:,.2f} to {hi:,.2f} $/MWh) and show in the end "
                f"colours; hover for the true value.")
        colorbar = dict(title="$/MWh", tickprefix="", ticks="outside")
    else:
        title = "LMP by bus and hour ($/MWh)"
        note = f"Colour scale: the full range, {lo:,.2f} to {hi:,.2f} $/MWh."
        colorbar = dict(title="$/MWh")
    fig = go.Figure(go.Heatmap(
        z=values, x=[int(h) for h in z.columns], y=labels, colorscale="RdYlBu_r",
        zmin=zmin, zmax=zmax, colorbar=colorbar,
        hovertemplate="bus %{y}<br>hour %{x}<br>LMP %{z:.2f} $/MWh<extra></extra>"))
    if clipped:  # say it on the colour bar's ends too
        fig.update_traces(colorbar=dict(
            tickvals=[zmin, (zmin + zmax) / 2, zmax],
            ticktext=[f"≤ {zmin:,.1f}", f"{(zmin + zmax) / 2:,.1f}", f"≥ {zmax:,.1f}"]))
    fig.update_layout(title=dict(text=title, font=dict(size=14)),
                      height=int(min(1800, max(360, 120 + 14 * len(buses)))),
                      xaxis=dict(title="hour ending", dtick=1), yaxis=dict(autorange="reversed"),
                      margin=dict(l=160, r=20, t=50, b=40))
    return fig, note


#: two BAA prices closer than this ($/MWh) are "identical" in the BAA price chart
IDENTICAL_PRICE_TOL_USD_PER_MWH = 0.005


def identical_price_groups(prices: pd.DataFrame, tol: float = IDENTICAL_PRICE_TOL_USD_PER_MWH
                           ) -> list[list[str]]:
    """BAAs whose hourly prices (columns: baa, hour, price) agree within `tol` in every hour,
    grouped (groups of one included), in BAA order."""
    wide = prices.pivot_table(index="hour", columns="baa", values="price", aggfunc="mean")
    baas = [str(b) for b in sorted(wide.columns, key=str)]
    wide.columns = [str(c) for c in wide.columns]
    groups: list[list[str]] = []
    for b in baas:
        for g in groups:
            if ((wide[b] - wide[g[0]]).abs().fillna(float("inf")) <= tol).all():
                g.append(b)
                break
        else:
            groups.append([b])
    return groups


def _baa_prices(tables: dict[str, pd.DataFrame]):
    """(figure, caption): BAA prices, one dash/marker style per BAA so that coinciding lines
    stay visible, the coinciding BAAs named "identical", and the spread between BAAs below."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    bp = tables.get("baa_prices")
    if _col(bp, "baa", "hour", "energy_price"):
        prices = bp[["baa", "hour", "energy_price"]].rename(columns={"energy_price": "price"})
        title = "BAA energy prices π (baa_prices.energy_price, $/MWh)"
    else:
        nodal = tables["nodal_prices"]
        prices = nodal.groupby(["baa", "hour"], sort=True)["lmp"].mean().reset_index().rename(
            columns={"lmp": "price"})
        title = "BAA average LMP ($/MWh)"
    prices = prices.assign(baa=prices["baa"].astype(str)).sort_values(["baa", "hour"])
    groups = identical_price_groups(prices)
    same_as = {b: [o for o in g if o != b] for g in groups for b in g}
    wide = prices.pivot_table(index="hour", columns="baa", values="price", aggfunc="mean")
    spread = (wide.max(axis=1) - wide.min(axis=1)).fillna(0.0)
    n_equal_hours = int((spread <= IDENTICAL_PRICE_TOL_USD_PER_MWH).sum())
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28],
                        vertical_spacing=0.08,
                        subplot_titles=[title, "spread between BAAs: highest − lowest ($/MWh)"])
    for i, (baa, g) in enumerate(prices.groupby("baa", sort=True)):
        name = baa + (f" (identical to {', '.join(same_as[baa])})" if same_as[baa] else "")
        fig.add_trace(go.Scatter(
            x=g["hour"], y=g["price"], name=name, mode="lines+markers",
            line=dict(color=_PALETTE[i % 10], dash=_DASHES[i % len(_DASHES)],
                      width=max(1.5, 4.5 - 1.2 * i)),
            marker=dict(symbol=_SYMBOLS[i % len(_SYMBOLS)], size=max(5, 11 - 2 * i)),
            hovertemplate=f"{html.escape(baa)}<br>hour %{{x}}<br>%{{y:.2f}} $/MWh<extra></extra>"),
            row=1, col=1)
    fig.add_trace(go.Bar(x=list(spread.index), y=list(spread.values), name="spread",
                         marker_color="#7f7f7f", showlegend=False,
                         hovertemplate="hour %{x}<br>spread %{y:.2f} $/MWh<extra></extra>"),
                  row=2, col=1)
    hours = sorted(prices["hour"].unique())
    fig.update_xaxes(dtick=1, range=[min(hours) - 0.5, max(hours) + 0.5] if hours else None)
    fig.update_xaxes(title_text="hour ending", row=2, col=1)
    fig.update_yaxes(title_text="$/MWh", row=1, col=1)
    fig.update_yaxes(title_text="$/MWh", rangemode="tozero", row=2, col=1)
    fig.update_layout(height=520, legend=dict(title="BAA"))
    n_hours = len(spread)
    multi = [g for g in groups if len(g) > 1]
    if multi:
        note = ("Identical in every hour (within "
                f"{IDENTICAL_PRICE_TOL_USD_PER_MWH} $/MWh): "
                + "; ".join(" = ".join(g) for g in multi)
                + ". Their lines lie on top of each other: each BAA has its own dash and marker.")
    else:
        note = "No two BAAs have identical prices in every hour."
    note += (f" All BAA prices are identical in {n_equal_hours} of {n_hours} hours "
             f"(spread ≤ {IDENTICAL_PRICE_TOL_USD_PER_MWH} $/MWh; lower panel).")
    return fig, note


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
    hours = sorted(tr["hour"].unique())
    fig.update_layout(title="EDAM transfers (solid) and ETSR limits (dotted), MW", height=400,
                      xaxis=dict(title="hour ending", dtick=1,
                                 range=[hours[0] - 0.5, hours[-1] + 0.5] if hours else None),
                      yaxis=dict(title="MW"))
    return fig


def _reserves(bs: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    products = [p for p in ("iru", "ird") if f"{p}_requirement_mw" in bs.columns]
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
                      title="Imbalance reserve requirement vs cleared vs relaxed (MW), per BAA "
                            "and hour")
    return fig


def rc_net_import_mw(ruc_transfers: pd.DataFrame | None, transfers: pd.DataFrame | None
                     ) -> pd.DataFrame | None:
    """RC transfers into each BAA and hour, `x^R − x` summed over the ETSRs into it minus
    those out of it (spec §5.11): columns baa, hour, rc_net_import_mw; None when unknown."""
    if not _col(ruc_transfers, "hour", "from_baa", "to_baa"):
        return None
    xr = ruc_transfers.copy()
    if "rc_transfer_mw" in xr.columns:
        xr["rc"] = xr["rc_transfer_mw"].astype(float)
    elif "mw" in xr.columns and _col(transfers, "interface", "hour", "mw"):
        ifm = transfers.set_index(["interface", "hour"])["mw"].astype(float)
        xr["rc"] = xr["mw"].astype(float) - [ifm.get((k, h), 0.0)
                                             for k, h in zip(xr["interface"], xr["hour"])]
    else:
        return None
    into = xr.groupby([xr["to_baa"].astype(str), "hour"])["rc"].sum()
    out = xr.groupby([xr["from_baa"].astype(str), "hour"])["rc"].sum()
    into.index.names = out.index.names = ["baa", "hour"]
    net = into.sub(out, fill_value=0.0).rename("rc_net_import_mw").reset_index()
    return net


def rc_coverage_table(bs: pd.DataFrame, net_import: pd.DataFrame | None) -> pd.DataFrame:
    """Per BAA and hour, the RUC balance of spec §5.11 in the terms of baa_summary:
    net requirement (RCU requirement − RCD requirement = the forecast gap the IFM's physical
    schedule and transfers leave) = RCU cleared − RCD cleared + RC net import + RCU relaxed −
    RCD relaxed. Columns: baa, hour, net_requirement_mw and the five parts, *_mw."""
    cols = ["rcu_requirement_mw", "rcd_requirement_mw", "rcu_cleared_mw", "rcd_cleared_mw",
            "rcu_relaxed_mw", "rcd_relaxed_mw"]
    df = bs.assign(baa=bs["baa"].astype(str))[["baa", "hour", *[c for c in cols
                                                                if c in bs.columns]]].copy()
    for c in cols:
        df[c] = df[c].astype(float).fillna(0.0) if c in df.columns else 0.0
    if net_import is not None:
        df = df.merge(net_import.assign(baa=net_import["baa"].astype(str)), on=["baa", "hour"],
                      how="left")
    df["rc_net_import_mw"] = df.get("rc_net_import_mw", pd.Series(0.0, index=df.index)
                                    ).astype(float).fillna(0.0)
    return pd.DataFrame({
        "baa": df["baa"], "hour": df["hour"],
        "net_requirement_mw": df["rcu_requirement_mw"] - df["rcd_requirement_mw"],
        "rcu_cleared_mw": df["rcu_cleared_mw"], "rcd_cleared_mw": -df["rcd_cleared_mw"],
        "rc_net_import_mw": df["rc_net_import_mw"], "rcu_relaxed_mw": df["rcu_relaxed_mw"],
        "rcd_relaxed_mw": -df["rcd_relaxed_mw"]}).sort_values(["baa", "hour"])


_RC_PARTS = (("rcu_cleared_mw", "RCU cleared in the BAA", "#2b8cbe"),
             ("rcd_cleared_mw", "RCD cleared in the BAA (−)", "#9ecae1"),
             ("rc_net_import_mw", "RC net import (RUC transfers; − = export)", "#31a354"),
             ("rcu_relaxed_mw", "RCU relaxed", "#e34a33"),
             ("rcd_relaxed_mw", "RCD relaxed (−)", "#fdbb84"))


def _rc_coverage(bs: pd.DataFrame, ruc_transfers: pd.DataFrame | None,
                 transfers: pd.DataFrame | None):
    """(figure, caption): per BAA, the RC net requirement and the stacked parts that cover it,
    RC transfers included (a BAA covered by imports clears no RCU of its own)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not any(f"{p}_requirement_mw" in bs.columns for p in ("rcu", "rcd")):
        return None, ""
    net = rc_net_import_mw(ruc_transfers, transfers)
    cov = rc_coverage_table(bs, net)
    baas = sorted(cov["baa"].unique())
    fig = make_subplots(rows=len(baas), cols=1, shared_xaxes=True,
                        subplot_titles=[f"RC · {b}" for b in baas],
                        vertical_spacing=min(0.08, 0.3 / max(1, len(baas))))
    for r, baa in enumerate(baas, start=1):
        g = cov[cov["baa"] == baa]
        for col, label, colour in _RC_PARTS:
            if col == "rc_net_import_mw" and net is None:
                continue
            fig.add_trace(go.Bar(x=g["hour"], y=g[col], name=label, marker_color=colour,
                                 legendgroup=col, showlegend=r == 1,
                                 hovertemplate=f"{label}<br>hour %{{x}}<br>%{{y:.1f}} MW"
                                               "<extra></extra>"), row=r, col=1)
        fig.add_trace(go.Scatter(x=g["hour"], y=g["net_requirement_mw"],
                                 name="net requirement: RCU − RCD requirement",
                                 mode="lines+markers", legendgroup="req", showlegend=r == 1,
                                 line=dict(color="#222", width=1.5, shape="hvh"),
                                 hovertemplate="net requirement %{y:.1f} MW<extra></extra>"),
                      row=r, col=1)
        fig.update_yaxes(title_text="MW", row=r, col=1)
    hours = sorted(cov["hour"].unique())
    fig.update_xaxes(dtick=1 if len(hours) <= 24 else None,
                     range=[hours[0] - 0.5, hours[-1] + 0.5] if hours else None)
    fig.update_xaxes(title_text="hour ending", row=len(baas), col=1)
    fig.update_layout(barmode="relative", height=int(140 + 240 * len(baas)),
                      title="Reliability capacity: net requirement (line) and what covers it "
                            "(stacked bars), MW")
    if net is None:
        note = ("This run has no ruc_transfers table, so RC transfers between BAAs are not "
                "shown: a BAA may look uncovered where imports covered it.")
    else:
        note = ("Per BAA and hour (spec §5.11): RCU cleared − RCD cleared + RC net import + "
                "relaxed = RCU requirement − RCD requirement (the forecast gap the IFM leaves). "
                "RC net import = Σ(x^R − x) into the BAA − out of it, from ruc_transfers; "
                "a BAA can be covered entirely by RC imported from its neighbours.")
    return fig, note


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
                                     line=dict(color=_PALETTE[i % 10],
                                               dash=_DASHES[i % len(_DASHES)],
                                               width=max(1.5, 3.5 - i)),
                                     marker=dict(symbol=_SYMBOLS[i % len(_SYMBOLS)],
                                                 size=max(4, 9 - 2 * i)),
                                     showlegend=c == 1), row=1, col=c)
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
    fig.update_layout(title="Settlement totals by charge and BAA, $ (positive = paid to the "
                            "party, negative = charged to it)",
                      barmode="relative", height=420,
                      yaxis=dict(title="$ (+ paid to the party, − charged)"))
    amount = st["amount_usd"].astype(float)
    totals = (st.assign(paid=amount.clip(lower=0.0), charged=-amount.clip(upper=0.0))
              .groupby("charge", sort=True)
              .agg(**{"lines": ("amount_usd", "size"),
                      "paid to parties ($)": ("paid", "sum"),
                      "charged to parties ($)": ("charged", "sum"),
                      "net paid to parties ($)": ("amount_usd", "sum")}).reset_index())
    return fig, totals


#: the sign convention of the `settlement` table (products/settlement_core.py, spec §8)
SETTLEMENT_SIGN = ("positive = paid to the party (award payments, credits); "
                   "negative = charged to the party (no-pay, tier 1/2 allocations, surcharges)")

#: plain names (with units) of the manifest's timings; others are shown as "<key> (s)"
TIMING_NAMES = {
    "prepare_s": "data preparation (s)", "build_s": "IFM: model build (s)",
    "solve_s": "IFM: HiGHS solve (s)", "pricing_s": "IFM: pricing LP (s)",
    "ruc_build_s": "RUC: model build (s)", "ruc_solve_s": "RUC: HiGHS solve (s)",
    "ruc_pricing_s": "RUC: pricing LP (s)", "rse_s": "RSE (s)", "rt_s": "real time (s)",
    "total_s": "total wall time (s)",
    "build_share": "model build share of the total (%)",
    "build_over_solve": "model build ÷ HiGHS solve (ratio)",
}


def _usd(v: Any) -> str:
    return "" if not _is_num(v) else f"${float(v):,.2f}"


def _pct(v: Any, digits: int = 4) -> str:
    return "" if not _is_num(v) else f"{100 * float(v):.{digits}g} %"


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (
        isinstance(v, float) and math.isnan(v))


def run_alerts(manifest: dict) -> list[str]:
    """What an analyst must see before trusting a run's numbers: the manifest's `warnings`,
    its `completion` block (a solve stopped early, e.g. at a time limit with a gap), and a
    MIP (IFM or RUC) that hit its time limit or ended above the gap asked for."""
    out: list[str] = []
    for w in manifest.get("warnings") or []:
        if isinstance(w, dict):
            msg = w.get("message") or w.get("text") or "; ".join(
                f"{k}: {_fmt(v)}" for k, v in w.items())
            out.append(str(msg))
        else:
            out.append(str(w))
    comp = manifest.get("completion")
    if isinstance(comp, dict) and comp:
        parts = []
        for k, v in comp.items():
            if isinstance(v, float) and "gap" in k:
                parts.append(f"{k} {_pct(v)}")
            else:
                parts.append(f"{k} {_fmt(v)}")
        out.append("completion: " + "; ".join(parts))
    elif comp:
        out.append(f"completion: {_fmt(comp)}")
    asked = (manifest.get("parameters") or {}).get("mip_rel_gap")
    for name, block in (("IFM", manifest.get("solver")), ("RUC", manifest.get("ruc"))):
        if not isinstance(block, dict):
            continue
        gap = block.get("mip_gap")
        if block.get("time_limit_hit"):
            out.append(f"{name}: HiGHS stopped at its time limit with a MIP gap of {_pct(gap)}"
                       + (f" (asked for {_pct(asked)})" if _is_num(asked) else ""))
        elif _is_num(gap) and _is_num(asked) and gap > asked * (1 + 1e-6) + 1e-12:
            out.append(f"{name}: MIP gap {_pct(gap)} above the {_pct(asked)} asked for")
    return out


def _alerts_html(alerts: list[str]) -> str:
    if not alerts:
        return ""
    items = "".join(f"<li>{html.escape(a)}</li>" for a in alerts)
    plural = "s" if len(alerts) != 1 else ""
    return (f'<div class="alert" id="alerts" role="alert"><strong>Read this first: '
            f'{len(alerts)} warning{plural}</strong><ul>{items}</ul></div>')


def _outcome_text(block: dict) -> str:
    if block.get("time_limit_hit"):
        return f"stopped at its time limit ({_fmt(block.get('termination'))})"
    return _termination_text(block.get("termination"))


def _termination_text(term: Any) -> str:
    plain = {"convergenceCriteriaSatisfied": "optimal within the MIP gap",
             "optimal": "optimal", "maxTimeLimit": "stopped at the time limit",
             "maxIterations": "stopped at the iteration limit", "infeasible": "infeasible"}
    return f"{plain[term]} ({term})" if term in plain else _fmt(term)


def run_summary_items(manifest: dict) -> list[tuple[str, str]]:
    """The run table: plain names with units, values formatted for reading."""
    sc = manifest.get("scenario") or {}
    solver = manifest.get("solver") or {}
    ruc = manifest.get("ruc") or {}
    params = manifest.get("parameters") or {}
    phase = params.get("phase")
    phase_names = {1: "1: day-ahead, no economic transfer", 2: "2: day-ahead with economic "
                   "transfer", 3: "3: day-ahead followed by real time"}
    items = [("scenario", _fmt(sc.get("name"))), ("trade date", _fmt(sc.get("trade_date"))),
             ("hours", _fmt(sc.get("hours"))),
             ("phase", phase_names.get(phase, _fmt(phase))),
             ("IFM: solver outcome", _outcome_text(solver)),
             ("IFM: total bid cost, MIP objective ($)", _usd(solver.get("objective_mip"))),
             ("IFM: pricing LP objective, commitment fixed ($)",
              _usd(solver.get("objective_lp"))),
             ("IFM: MIP gap (%)", _pct(solver.get("mip_gap"))),
             ("IFM: proven lower bound ($)", _usd(solver.get("bound_mip")))]
    if ruc:
        items += [("RUC: solver outcome", _outcome_text(ruc)),
                  ("RUC: MIP objective ($)", _usd(ruc.get("objective_mip"))),
                  ("RUC: MIP gap (%)", _pct(ruc.get("mip_gap")))]
    if _is_num(params.get("mip_rel_gap")):
        items.append(("MIP gap asked for (%)", _pct(params.get("mip_rel_gap"))))
    counts = solver.get("counts") or manifest.get("counts") or {}
    for k in ("variables", "binaries", "constraints"):
        if _is_num(counts.get(k)):
            items.append((f"IFM model: {k}", f"{int(counts[k]):,}"))
    for k, v in (manifest.get("timings") or {}).items():
        if not _is_num(v):
            continue
        name = TIMING_NAMES.get(k, f"time: {k.removesuffix('_s')} (s)")
        if k == "build_share":
            items.append((name, f"{100 * v:.1f} %"))
        elif k == "build_over_solve":
            items.append((name, f"{v:.3f}"))
        else:
            items.append((name, f"{v:,.2f}"))
    items.append(("input hash (sha256 of the scenario)", _fmt(manifest.get("input_hash"))))
    return [(k, v) for k, v in items if v != ""]


def build_run_report(run_dir: str | Path) -> str:
    """The HTML of one run's report."""
    run = read_run(run_dir)
    m, t = run.manifest, run.tables
    sc = m.get("scenario") or {}
    params = m.get("parameters") or {}
    run_id = m.get("run_id") or (m.get("store") or {}).get("run_id") or Path(run_dir).name
    if (m.get("store") or {}).get("label"):  # a sweep point's label names the run
        run_id = f"{run_id} ({m['store']['label']})"
    page = _Page(f"EDAM run {run_id}: {sc.get('name', '')} {sc.get('trade_date', '')}".strip(),
                 f"{Path(run_dir).resolve()}")
    page.alerts = run_alerts(m)

    from scenarios.parameters import MarketParameters
    defaults = MarketParameters().to_dict()
    changed = [(k, v) for k, v in sorted(params.items()) if k in defaults and defaults[k] != v]
    body = _kv_table(run_summary_items(m))
    body += "<h2>Parameters changed from their defaults</h2>" + (
        _kv_table(changed) if changed else '<p class="note">none (all defaults)</p>')
    page.section("Run", body)

    nodal = t.get("nodal_prices")
    if _col(nodal, "bus", "hour", "lmp"):
        fig, note = _lmp_heatmap(nodal)
        page.section("LMP heat map", page.figure(fig),
                     "Locational marginal price of every bus and hour; buses grouped by BAA. "
                     + note)
    if _col(nodal, "baa", "hour", "lmp") or _col(t.get("baa_prices"), "baa", "energy_price"):
        fig, note = _baa_prices(t)
        page.section("BAA prices", page.figure(fig), note)
    if _col(t.get("transfers"), "interface", "hour", "mw"):
        page.section("Transfers", page.figure(_transfers(t["transfers"])))
    bs = t.get("baa_summary")
    if _col(bs, "baa", "hour"):
        fig = _reserves(bs)
        if fig is not None:
            page.section("IR: requirement, cleared, relaxed", page.figure(fig),
                         "Bars: cleared (blue) and relaxed (red) MW, stacked; line: the "
                         "requirement.")
        fig, note = _rc_coverage(bs, t.get("ruc_transfers"), t.get("transfers"))
        if fig is not None:
            page.section("RC: requirement and how it is covered", page.figure(fig), note)
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
        page.section("Settlement", page.figure(fig) + _data_table(totals),
                     f"Sign convention of the settlement table: {SETTLEMENT_SIGN}.")
    return page.render()


# ------------------------------------------------------------------------------------------
# a store
KEY_METRICS = ("avg_lmp", "iru_cleared_mwh", "iru_relaxed_mwh", "ird_cleared_mwh",
               "ird_relaxed_mwh", "rcu_cleared_mwh", "rcu_relaxed_mwh", "rcd_cleared_mwh",
               "rcd_relaxed_mwh", "avg_iru_price", "avg_ird_price", "avg_rcu_price",
               "avg_rcd_price", "objective", "transfer_mwh", "rse_failures",
               "settlement_charges_usd", "ghg_net_import_mwh", "avg_ghg_price",
               "ghg_attributed_mwh", "ghg_secondary_dispatch_mwh", "ghg_emissions_t")


_METRIC_LABELS = {
    "avg_lmp": "average LMP ($/MWh)", "max_lmp": "highest LMP ($/MWh)",
    "objective": "IFM objective ($)", "objective_lp": "IFM pricing LP objective ($)",
    "transfer_mwh": "EDAM transfers, Σ|MW| over hours (MWh)",
    "ghg_net_import_mwh": "net EDAM transfer into GHG areas, Σ over hours (MWh)",
    "avg_ghg_price": "average GHG price μ ($/MWh)",
    "ghg_attributed_mwh": "GHG attributed energy, Σ over hours (MWh)",
    "ghg_secondary_dispatch_mwh": "secondary-dispatch indicator Σ max(0, g − P^ref) (MWh)",
    "ghg_emissions_t": "attributed emissions (t CO2)",
    "congested_interface_hours": "congested ETSR-hours (count)",
    "rse_failures": "RSE failed tests (count of BAA-test-hours)",
    # settlement_core: amount_usd > 0 is paid TO the party; this metric sums those
    "settlement_charges_usd": "settlement: Σ positive amounts, paid to parties ($)",
    "settlement_net_usd": "settlement: net, paid to parties ($)",
    "mip_gap": "MIP gap (%)", "total_s": "solve time (s)", "wall_s": "wall time in the store (s)",
    "build_s": "model build (s)", "solve_s": "HiGHS solve (s)", "pricing_s": "pricing LP (s)",
    "overhead_s": "overhead outside the solve (s)", "run_id": "run id", "status": "status",
    "scenario": "scenario", "trade_date": "trade date", "phase": "phase", "hours": "hours",
    "sweep": "sweep", "error": "error", "termination": "solver outcome",
    "rse_passed": "RSE passed (every test-hour)", "rolling_day": "day of the rolling run",
    "rolling_current": "in the rolling run's current chain",
}


def metric_label(col: str) -> str:
    """A catalogue column's plain name with its unit. The catalogue's reserve columns
    (`iru_cleared_mwh`, ...) are sums over hours and BAAs, so their unit is MWh."""
    if col in _METRIC_LABELS:
        return _METRIC_LABELS[col]
    from scenarios.parameters import MarketParameters

    units = {d["name"]: d["unit"] for d in MarketParameters.describe()}
    if col in units:
        return col if units[col] in ("-", "", None) else f"{col} ({units[col]})"
    for p in RESERVES:
        for kind in ("requirement", "cleared", "relaxed"):
            head = f"{p}_{kind}_mwh"
            if not (col == head or col.startswith(head + "_")):
                head = f"{p}_{kind}_mw"  # catalogues written before the _mwh names
            if col == head or col.startswith(head + "_"):
                baa = col[len(head) + 1:]
                return (f"{p.upper()} {kind}, Σ over hours" + (f", {baa}" if baa else "")
                        + " (MWh)")
    if col.startswith("avg_lmp_"):
        return f"average LMP, {col[len('avg_lmp_'):]} ($/MWh)"
    if col.startswith("avg_") and "_price" in col:
        prod, _, baa = col[len("avg_"):].partition("_price")
        return f"average {prod.upper()} price" + (f", {baa.lstrip('_')}" if baa else "") + \
            " ($/MWh)"
    if col.startswith("rse_failures_"):
        return f"RSE failed tests, {col[len('rse_failures_'):]} (count)"
    return col


def discrete_parameter(name: str, values: pd.Series) -> bool:
    """A parameter plotted on a categorical axis: `phase`, and any non-numeric one (choices
    such as `mpm_mode`, booleans)."""
    if name == "phase":
        return True
    v = values.dropna()
    return bool(len(v)) and not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                    for x in v)


def series_style(i: int) -> dict:
    """Colour (48 distinct: plotly's Dark24 then Light24), then dash, for series number i."""
    from plotly.colors import qualitative

    colours = list(qualitative.Dark24) + list(qualitative.Light24)
    return dict(color=colours[i % len(colours)],
                dash=_DASHES[(i // len(colours)) % len(_DASHES)])


def _runs_table_html(runs: pd.DataFrame, cols: list[str], table_id: str = "runs-table") -> str:
    """The runs table: labelled headers (plain names, units), click to sort, a filter box."""
    head = "".join(f'<th onclick="edamSort(this)" title="{html.escape(c)}">'
                   f"{html.escape(metric_label(c))}</th>" for c in cols)
    rows = []
    for rec in runs[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec):
            num = _is_num(v)
            cls = ' class="num"' if num else ""
            if c == "status":
                cls = ' class="good"' if v == "done" else ' class="bad"' if v == "failed" else ""
            text = _pct(v) if (c == "mip_gap" and num) else _fmt(v)
            dv = f' data-v="{float(v)!r}"' if num else ""
            cells.append(f"<td{cls}{dv}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<input class="filter" type="search" placeholder="filter rows (any text)" '
            f'oninput="edamFilter(this, \'{table_id}\')">'
            f'<div class="scroll"><table class="data sortable" id="{table_id}"><thead><tr>{head}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def build_store_report(store, progress: Callable[[str], None] | None = None) -> str:
    """The HTML of a store's report (the catalogue is refreshed first if the store changed)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from clearing.runs.store import Store, connect

    say = progress or (lambda msg: None)
    st = store if isinstance(store, Store) else Store(store)
    say("catalogue")
    con = connect(st, refresh=True, progress=progress)
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
    if n_failed:
        page.alerts.append(f"{n_failed} of {len(runs)} runs failed: see the runs table "
                           "(status 'failed', error).")

    # the scenarios (scenario · trade date) the store holds: one filter entry each
    key_cols = [c for c in ("scenario", "trade_date") if c in done.columns]
    done["_case"] = (done[key_cols].astype(str).agg(" · ".join, axis=1) if key_cols
                     else "runs")
    cases = sorted(done["_case"].unique())

    overview = [("store", str(st.root)), ("runs", len(runs)), ("done", len(done)),
                ("failed", n_failed), ("swept parameters", ", ".join(swept) or "none"),
                ("scenarios", ", ".join(cases) or "none"),
                ("catalogue", str(st.catalogue_path))]
    body = _kv_table(overview)
    if len(sweeps):
        body += "<h2>Sweeps</h2>" + _data_table(sweeps)
    page.section("Store", body)

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

    for n_p, p in enumerate(swept):
        if not len(done) or done[p].nunique(dropna=True) < 1:
            continue
        say(f"figure: key metrics against {p} ({n_p + 1} of {len(swept)})")
        others = [q for q in swept if q != p]
        panels = (["avg_lmp"] if "avg_lmp" in metrics else []) + \
            [m for m in metrics if m != "avg_lmp"]
        if not panels:
            continue
        categorical = discrete_parameter(p, done[p])
        ncols = 3 if len(panels) > 4 else 2 if len(panels) > 1 else 1
        nrows = math.ceil(len(panels) / ncols)
        fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[
            ("average LMP per BAA ($/MWh)" if m == "avg_lmp" and lmp_cols else metric_label(m))
            for m in panels],
            horizontal_spacing=0.07, vertical_spacing=min(0.12, 0.6 / max(1, nrows)))
        groups = list(done.groupby(["_case", *others], dropna=False, sort=True))
        series: dict[str, int] = {}
        trace_case: list[str] = []
        shown: set[str] = set()
        for k, m in enumerate(panels):
            r, c = k // ncols + 1, k % ncols + 1
            ys = lmp_cols if (m == "avg_lmp" and lmp_cols) else [m]
            for gkey, g in groups:
                gkey = gkey if isinstance(gkey, tuple) else (gkey,)
                case, rest = gkey[0], gkey[1:]
                g = g.sort_values(p)
                glabel = ", ".join(f"{o}={_fmt(v)}" for o, v in zip(others, rest))
                if len(cases) > 1:
                    glabel = f"{case}" + (f", {glabel}" if glabel else "")
                glabel = glabel or "runs"
                for y in ys:
                    label = glabel if len(ys) == 1 else f"{y.removeprefix('avg_lmp_')} · {glabel}"
                    idx = series.setdefault(label, len(series))
                    style = series_style(idx)
                    x = g[p].map(_fmt) if categorical else g[p]
                    fig.add_trace(go.Scatter(
                        x=x, y=g[y], mode="lines+markers", name=label, legendgroup=label,
                        showlegend=label not in shown, line=style,
                        marker=dict(symbol=_SYMBOLS[idx % len(_SYMBOLS)], color=style["color"]),
                        customdata=g[["run_id"]].to_numpy(),
                        hovertemplate=f"{p}=%{{x}}<br>{html.escape(metric_label(y))}="
                                      f"%{{y:.4g}}<br>run %{{customdata[0]}}"
                                      f"<br>{html.escape(label)}<extra></extra>"), row=r, col=c)
                    trace_case.append(case)
                    shown.add(label)
            axis = dict(title_text=metric_label(p) if r == nrows else None, row=r, col=c)
            if categorical:
                axis.update(type="category", categoryorder="array",
                            categoryarray=[_fmt(v) for v in sorted(done[p].dropna().unique())])
            fig.update_xaxes(**axis)
        layout = dict(title=f"Key metrics against {metric_label(p)}",
                      height=int(140 + 260 * nrows), legend=dict(font=dict(size=10)))
        if len(cases) > 1:  # a filter: one scenario at a time, or all
            buttons = [dict(label="all scenarios", method="restyle",
                            args=[{"visible": [True] * len(trace_case)}])]
            buttons += [dict(label=cs, method="restyle",
                             args=[{"visible": [tc == cs for tc in trace_case]}])
                        for cs in cases]
            layout["updatemenus"] = [dict(buttons=buttons, direction="down", x=1.0, y=1.08,
                                          xanchor="right", yanchor="bottom", showactive=True)]
        fig.update_layout(**layout)
        note = ("One line per combination of the other swept values"
                + (" and scenario (menu at the top right: one scenario at a time)"
                   if len(cases) > 1 else "")
                + "; hover for the run id. Reserve MWh are sums over hours and BAAs."
                + (f" {p} is discrete: its axis is categorical." if categorical else ""))
        page.section(f"Metrics vs {p}", page.figure(fig), note)
    if not swept and len(done):
        cols = [m for m in metrics if m != "objective"][:6]
        # by trade date (the days of a rolling run in order), without the days a rolling run
        # recomputed since (clearing/runs/rolling.py)
        if "rolling_current" in done.columns:
            done = done[done["rolling_current"].fillna(True).astype(bool)]
        done = done.sort_values([c for c in ("trade_date", "run_id") if c in done.columns])
        if cols:
            fig = make_subplots(rows=1, cols=len(cols),
                                subplot_titles=[metric_label(m) for m in cols])
            for i, m in enumerate(cols, start=1):
                names = done["run_id"] if "label" not in done else done["label"].fillna(
                    done["run_id"])
                fig.add_trace(go.Bar(x=names, y=done[m], name=metric_label(m), showlegend=False),
                              row=1, col=i)
            fig.update_layout(title="Key metrics by run", height=380)
            page.section("Metrics by run", page.figure(fig))

    if "rolling_id" in runs.columns and runs["rolling_id"].notna().any():
        from clearing.runs.days_report import add_rolling_sections  # the days of run-days
        con = connect(st)
        try:
            add_rolling_sections(page, con, runs, progress)
        finally:
            con.close()

    say("runs table")
    table_cols = [c for c in ["run_id", "label", "status", "scenario", "trade_date", "phase",
                              *swept,
                              "rolling_day", "rolling_current", "rse_passed",
                              "objective", "mip_gap", "total_s", "wall_s", "avg_lmp",
                              *lmp_cols, "iru_relaxed_mwh", "ird_relaxed_mwh", "error"]
                  if c in runs.columns]
    table_cols = list(dict.fromkeys(table_cols))
    page.section("Runs", _runs_table_html(runs, table_cols),
                 "Click a column heading to sort (again to reverse); type in the box to "
                 "filter. Reserve MWh are sums over hours and BAAs.")
    return page.render()


# ------------------------------------------------------------------------------------------
REPORT_SUFFIX = "_report.html"  # default output: <run or store>_report.html beside it
REPORT_SIGNATURE = "<!-- edam-clearing report -->"  # marks a file as ours (clearing/outputs.py)


def _signed(text: str) -> str:
    """The page with our signature near its top (after the doctype line, if any)."""
    if REPORT_SIGNATURE in text[:4096]:
        return text
    if text.startswith("<!DOCTYPE"):
        head, _, rest = text.partition("\n")
        return f"{head}\n{REPORT_SIGNATURE}\n{rest}"
    return f"{REPORT_SIGNATURE}\n{text}"


def write_report(path: str | Path, out: str | Path | None = None,
                 progress: Callable[[str], None] | None = None, *,
                 overwrite: bool = False) -> Path:
    """Write the report of a run folder or a store; returns the HTML file written.

    Default target: ``<path>_report.html`` beside the run or store, whose own folder is never
    written (runs are records). An existing file is replaced only if it is an earlier report
    (it carries `REPORT_SIGNATURE`) and `overwrite` is set (clearing/outputs.py)."""
    from clearing.outputs import beside, check_output_target, refuse_inside, write_output_file
    from scenarios.errors import Problem, ScenarioError

    p = Path(path)
    if (p / "manifest.json").is_file():
        build = build_run_report
    elif (p / "runs").is_dir():
        build = lambda q: build_store_report(q, progress)  # noqa: E731
    else:
        raise ScenarioError(Problem(str(p), None, None, "neither a run folder nor a store",
                                    "a run folder (with manifest.json) or a run store "
                                    "(with runs/)"))
    target = Path(out) if out else beside(p, REPORT_SUFFIX)
    refuse_inside(target, [p], "run or store")
    sig = REPORT_SIGNATURE.encode()
    check_output_target(target, "report", overwrite=overwrite, is_file=True, signature=sig)
    text = _signed(build(p))
    return write_output_file(target, "report", text, signature=sig, overwrite=overwrite)


def report_command(path, out=None, overwrite: bool = False) -> int:
    """`edam report RUN_DIR|STORE [--out FILE] [--overwrite]`: 0 on success, 1 on a bad path
    or a refused target (docs/exit-codes.md)."""
    from rich.console import Console

    from clearing.outputs import OutputPathError
    from scenarios.errors import ScenarioError

    from clearing.progress import step_printer

    err = Console(stderr=True)
    try:
        target = write_report(path, out, step_printer("edam report"), overwrite=overwrite)
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc.problems[0] if exc.problems else exc}", highlight=False)
        return 1  # docs/exit-codes.md: bad input or a refused target
    except OutputPathError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    Console().print(f"report written to {target}")
    return 0
