"""GHG attribution rules (spec §5.13; docs/ghg.md), from the scenario's `ghg_areas`, `ghg_bids`
and `interface_hours` and the run's `ghg_attribution`, `ghg_prices`, `ghg_reference`,
`schedules`, `transfers`, `nodal_prices` and `baa_prices` only.

Rules: `ghg_bid` (0 ≤ e_iat ≤ Ē_iat, only where a bid exists), `ghg_dispatch` (Σ_a e_iat ≤ g_it),
`ghg_headroom` (Σ_a e_iat ≤ max(0, Pmax_it − P^ref_it) with P^ref of the published reference;
not under `ghg_reference = none`), `ghg_coverage` (Σ_i e_iat ≥ NI_at from the transfers),
`ghg_price` (μ_at ≥ 0, μ > 0 only where the coverage row binds, every bus of a BAA in the area
has the `ghg` LMP component μ_at and every other bus 0), `ghg_revenue` (each GHG payment =
μ·e; per area-hour Σ payments = μ·NI; per hour the transfers' revenue at the BAA prices =
the published transfer revenue (net of μ) + the GHG payments: loads pay the GHG payments
through their LMP). The ETSR price identity with ±μ is in `prices.check_etsr_prices`.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from clearing.analysis.check.context import Context, nan_to

PTOL = 1e-4


def areas(ctx: Context) -> dict[str, str]:
    """baa -> GHG area of the scenario ({} without GHG areas)."""
    ga = ctx.s.tables.get("ghg_areas")
    if ga is None or not len(ga):
        return {}
    return {str(b): str(a) for b, a in zip(ga["baa"], ga["area"])}


def mu(ctx: Context) -> dict[tuple[str, int], float] | None:
    """μ_at per (area, hour) from `ghg_prices`; None when the run has no such table."""
    gp = ctx.run.tables.get("ghg_prices")
    if gp is None:
        return None
    return {(str(a), int(h)): float(nan_to(v, 0.0)) for a, h, v in
            zip(gp["area"], gp["hour"], gp["ghg_price_usd_per_mwh"])}


def etsr_ghg_term(area_of: dict, prices: dict, o: str, e: str, h: int) -> float:
    """The GHG part of π_e − π_o on ETSR o→e (§5.13): + μ of e's area on an ETSR into it,
    − μ of o's area on an ETSR out of it (0 within one area or outside every area)."""
    ao, ae = area_of.get(o), area_of.get(e)
    if ao == ae:
        return 0.0
    return (prices.get((ae, h), 0.0) if ae else 0.0) - (prices.get((ao, h), 0.0) if ao else 0.0)


def _net_imports(ctx: Context, area_of: dict) -> dict[tuple[str, int], float]:
    """NI_at from the published economic transfers (base transfers are outside, [A])."""
    out: dict = defaultdict(float)
    tr = ctx.transfers("transfers")
    if tr is None:
        return out
    for o, e, h, x in zip(tr["from_baa"].astype(str), tr["to_baa"].astype(str), tr["hour"],
                          tr["mw"].astype(float)):
        ao, ae = area_of.get(o), area_of.get(e)
        if ao == ae:
            continue
        if ae:
            out[(ae, int(h))] += x
        if ao:
            out[(ao, int(h))] -= x
    return out


def check_ghg(ctx: Context) -> None:
    """The §5.13 rows and prices (module docstring)."""
    area_of = areas(ctx)
    if not area_of:
        return
    if not ctx.need("ghg_bid", "ghg_attribution", "ghg_prices"):
        return
    att = ctx.run.tables["ghg_attribution"]
    att = att.assign(resource=att["resource"].astype(str), area=att["area"].astype(str),
                     hour=att["hour"].astype(int))
    e = {(r, a, h): float(nan_to(v, 0.0)) for r, a, h, v in
         zip(att["resource"], att["area"], att["hour"], att["attributed_mw"])}
    gb = ctx.s.tables.get("ghg_bids")
    bids = ({(str(r), str(a), int(h)): float(mw) for r, a, h, mw in
             zip(gb["resource"], gb["area"], gb["hour"], gb["mw"])} if gb is not None else {})
    prices = mu(ctx) or {}
    # bid quantity
    for (r, a, h), v in e.items():
        cap = bids.get((r, a, h))
        if cap is None and abs(v) > ctx.tol:
            ctx.add("ghg_bid", "ghg_attribution", "resource", r, h, v, 0.0,
                    f"{v:.6g} MW attributed to {a} without a GHG bid")
        elif v < -ctx.tol or (cap is not None and v - cap > ctx.tol):
            ctx.add("ghg_bid", "ghg_attribution", "resource", r, h, v, cap or 0.0,
                    f"{v:.6g} MW attributed to {a} outside [0, bid {cap or 0.0:.6g} MW]")
    per_rt: dict = defaultdict(float)
    for (r, a, h), v in e.items():
        per_rt[(r, h)] += v
    # no more than dispatched
    if ctx.sched is not None:
        g = ctx.sched["energy_mw"]
        for (r, h), v in sorted(per_rt.items()):
            got = float(g.at[r, h]) if r in g.index and h in g.columns else 0.0
            if v - got > ctx.tol:
                ctx.add("ghg_dispatch", "ghg_attribution", "resource", r, h, v, got,
                        f"{v:.6g} MW attributed but {got:.6g} MW dispatched")
    # headroom against the published reference
    if ctx.p.ghg_reference != "none":
        ref = _reference(ctx)
        if ref is None:
            ctx.skipped.append("ghg_headroom: no ghg_reference table")
        else:
            for (r, h), v in sorted(per_rt.items()):
                pmax = float(ctx.pmax.at[r, h]) if r in ctx.pmax.index else 0.0
                room = max(0.0, pmax - ref.get((r, h), 0.0))
                if v - room > ctx.tol:
                    ctx.add("ghg_headroom", "ghg_attribution", "resource", r, h, v, room,
                            f"{v:.6g} MW attributed above the headroom max(0, Pmax {pmax:.6g} − "
                            f"P^ref {ref.get((r, h), 0.0):.6g}) = {room:.6g} MW")
    # coverage and the price's complementarity
    ni = _net_imports(ctx, area_of)
    total: dict = defaultdict(float)
    for (r, a, h), v in e.items():
        total[(a, h)] += v
    for a in sorted(set(area_of.values())):
        for h in ctx.hours:
            slack = total[(a, h)] - ni.get((a, h), 0.0)
            if slack < -ctx.tol:
                ctx.add("ghg_coverage", "ghg_attribution", "area", a, h, total[(a, h)],
                        ni.get((a, h), 0.0), f"{total[(a, h)]:.6g} MW attributed below the "
                        f"net EDAM transfer into the area {ni.get((a, h), 0.0):.6g} MW")
            m_ = prices.get((a, h), 0.0)
            if m_ < -PTOL:
                ctx.add("ghg_price", "ghg_prices", "area", a, h, m_, 0.0,
                        f"GHG price μ {m_:.6g} $/MWh is negative")
            elif m_ > PTOL and slack > 10 * ctx.tol:
                ctx.add("ghg_price", "ghg_prices", "area", a, h, m_, 0.0,
                        f"GHG price μ {m_:.6g} $/MWh while the coverage row has "
                        f"{slack:.6g} MW slack (complementary slackness)")
            pay = sum(float(nan_to(v, 0.0)) for v in att.loc[
                (att["area"] == a) & (att["hour"] == h), "ghg_payment_usd"])
            want = m_ * ni.get((a, h), 0.0)
            if abs(pay - want) > 1e-2 + 1e-6 * abs(want):
                ctx.add("ghg_revenue", "ghg_attribution", "area", a, h, pay, want,
                        f"GHG payments {pay:.6g} $ ≠ μ·NI = {want:.6g} $ (the wedge the "
                        "area's load pays on the transfers into it)")
    for r, a, h, v, p in zip(att["resource"], att["area"], att["hour"], att["attributed_mw"],
                             att["ghg_payment_usd"]):
        want = prices.get((a, h), 0.0) * float(nan_to(v, 0.0))
        if abs(float(nan_to(p, 0.0)) - want) > 1e-2 + 1e-6 * abs(want):
            ctx.add("ghg_revenue", "ghg_attribution", "resource", r, h, float(p), want,
                    f"GHG payment {float(p):.6g} $ ≠ μ·e = {want:.6g} $")
    _check_ghg_component(ctx, area_of, prices)
    _check_transfer_split(ctx, area_of)


def _reference(ctx: Context) -> dict | None:
    """P^ref per (resource, hour): the scenario's base schedule, or the published reference."""
    if ctx.p.ghg_reference == "base_schedule":
        bs = ctx.s.tables.get("ghg_base_schedule")
        return ({(str(r), int(h)): float(v) for r, h, v in zip(bs["resource"], bs["hour"],
                                                                bs["mw"])}
                if bs is not None else {})
    gr = ctx.run.tables.get("ghg_reference")
    if gr is None:
        return None
    return {(str(r), int(h)): float(v) for r, h, v in
            zip(gr["resource"], gr["hour"], gr["reference_mw"])}


def _check_ghg_component(ctx: Context, area_of: dict, prices: dict) -> None:
    """`ghg_price`: the `ghg` LMP component is μ of the bus's area (0 outside every area)."""
    npx = ctx.run.tables.get("nodal_prices")
    if npx is None or "ghg" not in npx.columns:
        ctx.skipped.append("ghg_price: nodal_prices has no ghg column")
        return
    for bus, h, v in zip(npx["bus"].astype(str), npx["hour"].astype(int), npx["ghg"]):
        a = area_of.get(str(ctx.s.bus_baa.get(bus, "")))
        want = prices.get((a, h), 0.0) if a else 0.0
        if abs(float(nan_to(v, 0.0)) - want) > PTOL:
            ctx.add("ghg_price", "nodal_prices", "bus", bus, h, float(v), want,
                    f"ghg component {float(v):.6g} ≠ μ of the bus's area {want:.6g}")


def _check_transfer_split(ctx: Context, area_of: dict) -> None:
    """`ghg_revenue`: per hour Σ_k x_k (π_e − π_o) = Σ transfer_revenue_usd + Σ GHG payments
    (the revenue identity of §5.13: what the loads pay beyond the generators' energy is the
    congestion rent and the GHG payments)."""
    from clearing.analysis.check.prices import baa_price
    tr = ctx.transfers("transfers")
    pi = baa_price(ctx)
    att = ctx.run.tables.get("ghg_attribution")
    if tr is None or pi is None or att is None or "transfer_revenue_usd" not in tr.columns:
        return
    pay = att.groupby(att["hour"].astype(int))["ghg_payment_usd"].sum()
    for h, g in tr.groupby("hour"):
        gross = sum(x * float(pi.get((e, h), 0.0) - pi.get((o, h), 0.0)) for o, e, x in
                    zip(g["from_baa"].astype(str), g["to_baa"].astype(str),
                        g["mw"].astype(float)))
        net = float(g["transfer_revenue_usd"].astype(float).sum()) + float(pay.get(h, 0.0))
        if abs(gross - net) > 1e-2 + 1e-6 * abs(gross):
            ctx.add("ghg_revenue", "transfers", "hour", "all", h, net, gross,
                    f"transfer revenue {net - float(pay.get(h, 0.0)):.6g} $ + GHG payments "
                    f"{float(pay.get(h, 0.0)):.6g} $ ≠ Σ x·(π_e − π_o) = {gross:.6g} $")


def profit_terms(ctx: Context) -> dict:
    """Per (resource, hour) the GHG bids of the profit LP (`profit._build`): [(μ_at, γ_iat,
    most MW = min(bid, published headroom), published e_iat)]. {} without GHG areas."""
    if not areas(ctx):
        return {}
    att = ctx.run.tables.get("ghg_attribution")
    prices = mu(ctx) or {}
    if att is None:
        return {}
    out: dict = defaultdict(list)
    for r, a, h, c, mw, room, v in zip(att["resource"].astype(str), att["area"].astype(str),
                                       att["hour"].astype(int), att["adder_usd_per_mwh"],
                                       att["bid_mw"], att["headroom_mw"], att["attributed_mw"]):
        cap = float(mw) if pd.isna(room) else min(float(mw), float(room))
        out[(r, int(h))].append((prices.get((a, int(h)), 0.0), float(c), cap,
                                 float(nan_to(v, 0.0))))
    return out
