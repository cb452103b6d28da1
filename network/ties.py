"""Import/export tie limits (spec §5.5): per tie (intertie scheduling point) and period,

    Σ_{imports m on the tie} m − Σ_{exports ex on the tie} ex ≤ TL^imp      (row `tie_import`)
    Σ_{exports ex on the tie} ex − Σ_{imports m on the tie} m ≤ TL^exp      (row `tie_export`)

over the resources `tie_resources.csv` puts on the tie, with the limits of `tie_limits.csv` (the
hour's row, else the tie's blank-hour row; a blank limit is none). With the net injection g
(imports g = m, exports g = −ex, spec §3) both read ±Σ_{r on the tie} g_r ≤ TL.

Hard limits on the schedules, not relaxed [A]: imports and exports can always be cut to their
self-schedules, and the loader refuses a tie whose limits its self-schedules break
(`scenarios.loader._check_ties`), so every run stays feasible. One component for every run on
its own schedule expression: the IFM (g, registered in `IFM_COMPONENTS`), the RUC (the RUC
schedule r = g^IFM + RCU − RCD of §5.11) and the RT run (the FMM's 15-minute schedules, each
interval held to its hour's limit). A row whose schedules are all fixed (RT hourly imports and
exports, the RUC's exports) holds constants the earlier run already kept within the limit and is
left out. Without tie tables nothing is added. Binding rows are published in
`binding_constraints` (kinds `tie_import`, `tie_export`; RUC `tie_import_ruc`,
`tie_export_ruc`; RT in `rt_binding_constraints`) with the shadow price −dual ≥ 0 ($/MWh): an
import held back by a binding import limit is worth LMP − shadow at the margin (§6.1).
"""

from __future__ import annotations

import math
from typing import Callable

import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from scenarios.loader import tie_limit_rows

KINDS = ("tie_import", "tie_export")
BINDING_SHADOW = 1e-9  # $/MWh: a row with a larger shadow price is published as binding


def tie_members(scenario) -> dict[str, list[str]]:
    """tie -> its import and export resources (`tie_resources.csv`), in resource order."""
    tr = scenario.tables.get("tie_resources")
    out: dict[str, list[str]] = {}
    if tr is None or not len(tr):
        return out
    for r, k in sorted(zip(tr["resource"].astype(str), tr["tie"].astype(str))):
        out.setdefault(k, []).append(r)
    return out


def tie_limits_mw(scenario) -> dict[tuple[str, int, str], float]:
    """(tie, hour, kind) -> the finite limit in MW of that direction (spec §5.5)."""
    tl = scenario.tables.get("tie_limits")
    out: dict[tuple[str, int, str], float] = {}
    if tl is None or not len(tl):
        return out
    for (k, h), i in tie_limit_rows(scenario.tables, scenario.hours).items():
        for kind, col in zip(KINDS, ("import_limit_mw", "export_limit_mw")):
            v = float(tl[col].iat[i])
            if math.isfinite(v):
                out[(k, h, kind)] = v
    return out


def add_to_model(b: ModelBundle, inj: Callable | None = None,
                 hour_of: Callable[[int], int] | None = None) -> None:
    """The tie rows on the bundle's periods (module docstring). `inj(r, t)`: the schedule
    expression of resource r in period t (default the model's net injection `m.g`);
    `hour_of(t)`: the scenario hour of period t (default t; RT: the interval's hour).
    Rows go to `m.tie_import` / `m.tie_export` on `m.TIE_IMPORT` / `m.TIE_EXPORT` (tie, t);
    `b.info["tie_rows"]` maps (kind, tie, t) to (row, limit MW, net-import expression)."""
    m, d = b.m, b.d
    members = tie_members(d.scenario)
    limits = tie_limits_mw(d.scenario)
    if not members or not limits:
        return
    inj = inj or (lambda r, t: m.g[r, t])
    hour_of = hour_of or (lambda t: t)
    net: dict[tuple[str, int], object] = {}
    keys: dict[str, list[tuple[str, int]]] = {kind: [] for kind in KINDS}
    for k in sorted(members):
        for t in b.T:
            kinds = [kind for kind in KINDS if (k, hour_of(t), kind) in limits]
            if not kinds:
                continue
            terms = [inj(r, t) for r in members[k]]
            if all(isinstance(x, (int, float)) for x in terms):
                continue  # fixed schedules only: nothing to decide
            net[(k, t)] = sum(terms)
            for kind in kinds:
                keys[kind].append((k, t))
    if not keys["tie_import"] and not keys["tie_export"]:
        return
    lim = {(kind, k, t): limits[(k, hour_of(t), kind)] for kind in KINDS for (k, t) in keys[kind]}
    m.TIE_IMPORT = pyo.Set(initialize=keys["tie_import"], dimen=2, ordered=True)
    m.TIE_EXPORT = pyo.Set(initialize=keys["tie_export"], dimen=2, ordered=True)
    m.tie_import = pyo.Constraint(
        m.TIE_IMPORT, rule=lambda _m, k, t: net[(k, t)] <= lim[("tie_import", k, t)])
    m.tie_export = pyo.Constraint(
        m.TIE_EXPORT, rule=lambda _m, k, t: -net[(k, t)] <= lim[("tie_export", k, t)])
    rows = {}
    for kind, con in (("tie_import", m.tie_import), ("tie_export", m.tie_export)):
        for (k, t) in keys[kind]:
            rows[(kind, k, t)] = (con[k, t], lim[(kind, k, t)], net[(k, t)])
    b.info["tie_rows"] = rows


def binding_rows(b: ModelBundle, dual: Callable, suffix: str = "") -> list[dict]:
    """`binding_constraints` rows of the tie rows whose shadow price −dual exceeds
    BINDING_SHADOW: constraint = tie, hour = period, kind `tie_import`/`tie_export` + `suffix`,
    flow_mw = the net import (import row) or net export (export row), limit_mw = TL."""
    out = []
    for (kind, k, t), (con, limit, net) in b.info.get("tie_rows", {}).items():
        shadow = max(0.0, -float(dual(con)))
        if shadow > BINDING_SHADOW:
            flow = float(pyo.value(net, exception=False) or 0.0)
            out.append(dict(constraint=k, hour=t, kind=kind + suffix, shadow_price=shadow,
                            flow_mw=flow if kind == "tie_import" else -flow, limit_mw=limit))
    return out


def extract(rb) -> None:
    """Read back the tie rows (clearing/market/readback.py): their `binding_constraints` rows."""
    rows = binding_rows(rb.b, rb.dual)
    if rows:
        rb.rows("binding_constraints", rows)


def extract_ruc(rb) -> None:
    """Read back the RUC's tie rows (on the RUC schedule, spec §5.5, §5.11): `binding_constraints`
    rows of kind `tie_import_ruc` / `tie_export_ruc`."""
    rows = binding_rows(rb.b, rb.dual, suffix="_ruc")
    if rows:
        rb.rows("binding_constraints", rows)
