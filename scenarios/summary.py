"""`edam validate` summary: BAAs; buses, branches, resources by type; per-BAA peak forecast vs
available capacity; ETSR limits (issue: scenario format, item 6)."""

from __future__ import annotations

from scenarios.scenario import Scenario


def scenario_summary(sc: Scenario) -> str:
    t = sc.tables
    lines = [f"scenario {sc.name} ({sc.trade_date}, {sc.hours} h): OK"]
    baas = t["baas"]
    lines.append(f"{len(baas)} BAAs: " + ", ".join(
        f"{b}{' (reference)' if r else ''}{'' if e else ' (non-EDAM)'}"
        for b, r, e in zip(baas["baa"], baas["is_reference"], baas["is_edam"])))
    lines.append(f"{len(t['buses'])} buses, {len(t['branches'])} branches "
                 f"({int(t['branches']['monitored'].sum())} monitored)")
    rf = sc.resource_frame
    lines.append("resources: " + ", ".join(f"{k} {v}" for k, v in rf["type"].value_counts().sort_index().items()))
    cap = _available_capacity(sc)
    bh = t["baa_hours"]
    lines.append("per BAA: peak forecast vs available capacity at that hour (MW)")
    for b in baas["baa"]:
        g = bh[bh["baa"] == b]
        i = g["demand_forecast_mw"].idxmax()
        h = int(g.at[i, "hour"])
        c = cap.get((b, h), 0.0)
        lines.append(f"  {b}: peak {g.at[i, 'demand_forecast_mw']:.0f} at hour {h}, "
                     f"capacity {c:.0f} (margin {c - g.at[i, 'demand_forecast_mw']:.0f})")
    itf = t["interfaces"]
    ih = t["interface_hours"]
    lines.append(f"{len(itf)} ETSRs:")
    for k, o, e in zip(itf["interface"], itf["from_baa"], itf["to_baa"]):
        lim = ih.loc[ih["interface"] == k, "limit_mw"]
        lines.append(f"  {k}: {o} -> {e}, limit {lim.min():.0f}-{lim.max():.0f} MW")
    return "\n".join(lines)


def _available_capacity(sc: Scenario) -> dict:
    """Σ hourly Pmax of physical supply resources per (BAA, hour)."""
    rf = sc.resource_frame.set_index("resource")
    sup = rf[rf["type"].isin(["thermal", "ver", "storage", "hydro", "import"])]
    out = {}
    rh = sc.tables.get("resource_hours")
    hourly = {}
    if rh is not None:
        for r, h, v in zip(rh["resource"], rh["hour"], rh["pmax_mw"]):
            if v == v:
                hourly[(r, h)] = v
    for r, row in sup.iterrows():
        for h in sc.hour_list:
            out[(row["baa"], h)] = out.get((row["baa"], h), 0.0) + hourly.get((r, h), row["pmax_mw"])
    return out
