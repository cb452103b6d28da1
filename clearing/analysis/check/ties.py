"""Import/export tie rules (§5.5): the tie limits on the published schedules, and the tie
shadow prices an import or export sees at the margin (for the `profit` rules).

Read from the scenario only (`tie_resources.csv`, `tie_limits.csv`: the hour's row, else the
tie's blank-hour row, stored as hour 0; a blank limit is none) and the run's `schedules`
(`energy_mw` = net injection g: imports positive, exports negative) and `binding_constraints`
(kinds `tie_import`, `tie_export`, RUC `tie_import_ruc`, `tie_export_ruc`)."""

from __future__ import annotations

import math

import pandas as pd

from clearing.analysis.check.context import Context

KINDS = ("tie_import", "tie_export")


def tie_members(ctx: Context) -> dict[str, list[str]]:
    """tie -> the resources `tie_resources.csv` puts on it."""
    tr = ctx.s.tables.get("tie_resources")
    out: dict[str, list[str]] = {}
    if tr is not None:
        for r, k in zip(tr["resource"].astype(str), tr["tie"].astype(str)):
            out.setdefault(k, []).append(r)
    return out


def tie_limits(ctx: Context) -> dict[tuple[str, int], tuple[float, float]]:
    """(tie, hour) -> (TL^imp, TL^exp) in MW (inf = no limit) for every hour a row covers."""
    tl = ctx.s.tables.get("tie_limits")
    out: dict[tuple[str, int], tuple[float, float]] = {}
    if tl is None or not len(tl):
        return out
    recs = list(zip(tl["tie"].astype(str), tl["hour"].astype(int),
                    tl["import_limit_mw"].astype(float), tl["export_limit_mw"].astype(float)))
    for k, h, imp, exp in sorted(recs, key=lambda x: x[1] > 0):  # blank-hour rows first
        for t in (ctx.hours if h == 0 else [h]):
            out[(k, t)] = (imp, exp)
    return out


def check_tie_limits(ctx: Context) -> None:
    """`tie_limit`: per tie and hour, net import n = Σ g over the tie's resources within
    −TL^exp ≤ n ≤ TL^imp, on the IFM schedule (energy_mw) and, when the RUC ran, on the RUC
    schedule (energy_mw + rcu_mw − rcd_mw, §5.11)."""
    members, limits = tie_members(ctx), tie_limits(ctx)
    if not members or not limits:
        return
    S = ctx.sched
    runs = [("IFM", S["energy_mw"])]
    if ctx.ruc_ran():
        runs.append(("RUC", S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]))
    for (k, h), (imp, exp) in sorted(limits.items()):
        rs = [r for r in members.get(k, []) if r in S["energy_mw"].index]
        for name, sched in runs:
            net = float(sched.loc[rs, h].sum()) if rs else 0.0
            for amount, limit, what in ((net, imp, "net import"), (-net, exp, "net export")):
                if math.isfinite(limit) and amount - limit > ctx.tol:
                    ctx.add("tie_limit", "schedules", "tie", k, h, amount, limit,
                            f"{name} {what} {amount:.6g} MW over tie '{k}' above its limit "
                            f"{limit:.6g} MW by {amount - limit:.6g}")


def tie_price_offsets(ctx: Context, ruc: bool = False) -> dict[str, pd.Series]:
    """resource -> hour-indexed offset −μ^imp + μ^exp ($/MWh) of the published tie shadow
    prices (`binding_constraints`; `ruc`: the RUC's `_ruc` kinds): by the Lagrangian of the tie
    rows ±Σ_{r on the tie} g_r ≤ TL, a resource on a tie earns LMP + offset per MW of net
    injection at the margin (its own profit problem at the published prices, §6)."""
    bc = ctx.run.tables.get("binding_constraints")
    members = tie_members(ctx)
    if bc is None or not len(bc) or not members:
        return {}
    suffix = "_ruc" if ruc else ""
    sign = {f"tie_import{suffix}": -1.0, f"tie_export{suffix}": 1.0}
    per_tie: dict[str, pd.Series] = {}
    for k, h, kind, sp in zip(bc["constraint"].astype(str), bc["hour"].astype(int),
                              bc["kind"].astype(str), bc["shadow_price"].astype(float)):
        if kind in sign and k in members:
            s = per_tie.setdefault(k, pd.Series(0.0, index=ctx.hours))
            if h in s.index:
                s.at[h] += sign[kind] * sp
    return {r: s for k, s in per_tie.items() for r in members[k]}
