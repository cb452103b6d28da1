"""Energy and network rules: per-BAA power balance (§5.1), ETSR limits and NEC (§5.2), base-case
and deployment-scenario flows (§5.3, §5.9), transfer cycles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from clearing.check.context import Context, base_frame, fixed_demand_baa, net_import, opt_col


def check_balance(ctx: Context) -> None:
    if not ctx.need("balance", "schedules"):
        return
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    e = ctx.sched["energy_mw"]
    gen = e.groupby(ctx.res["baa"].astype(str)).sum().reindex(baas).fillna(0.0)
    dem = fixed_demand_baa(s, baas, ctx.hours)
    x = ctx.transfers("transfers")
    if x is None:
        if ctx.p.phase == 1 or not len(s.interfaces):
            x = pd.DataFrame(columns=["interface", "hour", "mw"])
        else:
            ctx.skipped.append("balance: no transfers table (phase ≥ 2)")
            return
    net_in = net_import(s, x, baas, ctx.hours, "mw")
    base_in = net_import(s, base_frame(s), baas, ctx.hours, "mw")
    gap = gen - dem + net_in + base_in  # must equal −(sPB+ − sPB−)
    slack = ctx.balance_slack("pb")
    for b in baas:
        for h in ctx.hours:
            g, sl = float(gap.at[b, h]), float(slack.at[b, h])
            if abs(g + sl) > ctx.tol:
                ctx.add("balance", "schedules", "baa", b, h, g, 0.0 - sl,
                        f"supply − demand + net imports = {g:.6g} MW, expected {0.0 - sl:.6g} "
                        f"(reported power-balance relaxation {sl:.6g}); off by "
                        f"{abs(g + sl):.6g} MW")


def check_transfers(ctx: Context) -> None:
    s = ctx.s
    itf = s.interfaces.assign(interface=s.interfaces["interface"].astype(str))
    if not len(itf):
        return
    ih = s.interface_hours.assign(interface=s.interface_hours["interface"].astype(str))
    xmax = ih.set_index(["interface", "hour"])["limit_mw"]
    base = ih.set_index(["interface", "hour"])["base_transfer_mw"]
    frm = dict(zip(itf["interface"], itf["from_baa"].astype(str)))
    to = dict(zip(itf["interface"], itf["to_baa"].astype(str)))
    rev = {k: next((j for j in itf["interface"] if frm[j] == to[k] and to[j] == frm[k]), None)
           for k in itf["interface"]}
    any_table = False
    for table in ("transfers", "ruc_transfers"):
        tr = ctx.transfers(table)
        if tr is None:
            continue
        any_table = True
        x = tr.set_index(["interface", "hour"])["mw"].astype(float)
        yu = opt_col(tr, ("iru_transfer_mw", "iru_mw"))
        yd = opt_col(tr, ("ird_transfer_mw", "ird_mw"))
        for (k, h), v in x.items():
            if k not in frm:
                ctx.add("transfer_limit", table, "interface", k, h, v, 0,
                        "transfer on an interface that is not in the scenario")
                continue
            lim = 0.0 if ctx.p.phase == 1 else float(xmax.get((k, h), 0.0))
            what = "economic transfer (phase 1: must be 0)" if ctx.p.phase == 1 \
                else "economic transfer"
            if v - lim > ctx.tol:
                ctx.add("transfer_limit", table, "interface", k, h, v, lim,
                        f"{what} {v:.6g} MW above the ETSR limit {lim:.6g} by {v - lim:.6g}")
            if v < -ctx.tol:
                ctx.add("transfer_limit", table, "interface", k, h, v, 0.0,
                        f"negative economic transfer {v:.6g} MW")
            if ctx.p.phase == 1:
                continue
            kb = rev[k]
            net = v - (float(x.get((kb, h), 0.0)) if kb else 0.0)
            if yu is not None:
                net += float(yu.get((k, h), 0.0))
            if yd is not None and kb:
                net += float(yd.get((kb, h), 0.0))
            base_rev = float(base.get((kb, h), 0.0)) if kb else 0.0
            nlim = float(xmax.get((k, h), 0.0)) - (float(base.get((k, h), 0.0)) - base_rev)
            if net - nlim > ctx.tol:
                ctx.add("transfer_limit", table, "interface", k, h, net, nlim,
                        f"net flow incl. reverse direction and IR transfers {net:.6g} MW "
                        f"above X^max − net base transfer {nlim:.6g} by {net - nlim:.6g}")
    if not any_table:
        ctx.skipped.append("transfer_limit: no transfers table")


def check_branches(ctx: Context) -> None:
    if not ctx.need("branch_limit", "schedules"):
        return
    s = ctx.s
    br = s.branches.assign(branch=s.branches["branch"].astype(str))
    if not len(br):
        return
    ruc = ctx.ruc_ran()
    cases = [("IFM", "branch", "enforce_base", ctx.injections)]
    if ruc:
        cases.append(("RUC", "ruc_branch", "enforce_in_ruc", ctx.ruc_injections))
    todo = []
    for label, cat, flag, inj_fn in cases:
        relax = ctx.relaxed(cat)
        ids = {i for i, _ in relax.index} if len(relax) else set()
        sel = br[(br["monitored"] & br[flag]) | br["branch"].isin(ids)]
        if len(sel):
            todo.append((label, relax, list(sel["branch"]), inj_fn))
    if not todo:
        return
    try:
        from network.ptdf import scenario_ptdf
    except ImportError:  # pragma: no cover - the network package is part of the project
        ctx.skipped.append("branch_limit: network.ptdf not available")
        return
    ptdf = scenario_ptdf(s)
    rating = pd.DataFrame(np.repeat(br["rating_mw"].to_numpy(float)[:, None],
                                    len(ctx.hours), 1),
                          index=br["branch"], columns=ctx.hours)
    bro = s.tables.get("branch_ratings")
    if bro is not None and len(bro):
        for b, h, v in zip(bro["branch"].astype(str), bro["hour"], bro["rating_mw"]):
            if b in rating.index and h in rating.columns:
                rating.at[b, h] = v
    tol = ctx.tol + float(ctx.p.flow_tolerance_mw)
    for label, relax, branches, inj_fn in todo:
        flows = ptdf.flows(inj_fn(ptdf.bus_ids).to_numpy())
        for b in branches:
            row = flows[ptdf.branch_index(b)]
            for j, h in enumerate(ctx.hours):
                f, rate = float(row[j]), float(rating.at[b, h])
                over = float(relax.get((b, h), 0.0)) if len(relax) else 0.0
                if abs(f) - rate - over > tol:
                    ctx.add("branch_limit", "schedules", "branch", b, h, f,
                            math.copysign(rate + over, f),
                            f"{label} DC flow {f:.6g} MW (from injections) exceeds the "
                            f"rating {rate:.6g} + reported overload {over:.6g} by "
                            f"{abs(f) - rate - over:.6g}")
