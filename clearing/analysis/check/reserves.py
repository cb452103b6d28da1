"""Reserve requirement rules: cumulative AS (§5.6), IR and RC requirements and per-BAA credit
(§5.7, §5.11), RUC forecast balance (§5.11)."""

from __future__ import annotations

import pandas as pd

from clearing.analysis.check.context import (AWARD_COLUMNS, RUC_TYPES, Context, base_frame, cell, nan_to,
                                    net_import)


def check_as_requirements(ctx: Context) -> None:
    if not ctx.need("as_requirement", "schedules"):
        return
    S = ctx.sched
    baa = ctx.res["baa"].astype(str)
    bh = ctx.s.baa_hours.assign(baa=ctx.s.baa_hours["baa"].astype(str)).set_index(
      ["baa", "hour"])
    sums = {p: S[c].groupby(baa).sum() for c, p in AWARD_COLUMNS.items()
            if p in ("ru", "sr", "nr", "rd")}
    relax = {p: ctx.relaxed("as", p) for p in ("ru", "sr", "nr", "rd")}
    groups = [("ru", ("ru",)), ("sr", ("ru", "sr")), ("nr", ("ru", "sr", "nr")),
              ("rd", ("rd",))]
    for (b, h), row in bh.iterrows():
        for name, members in groups:
            req = sum(float(row[f"{m}_requirement_mw"]) for m in members)
            if req <= ctx.tol:
                continue
            got = sum(cell(sums[m], b, h) for m in members)
            rel = float(relax[name].get((b, h), 0.0)) if len(relax[name]) else 0.0
            if req - got - rel > ctx.tol:
                label = " + ".join(m.upper() for m in members)
                ctx.add("as_requirement", "schedules", "baa", b, h, got + rel, req,
                        f"{label} awards {got:.6g} MW + relaxed {rel:.6g} below the "
                        f"requirement {req:.6g} by {req - got - rel:.6g}")


def check_ir_rc(ctx: Context) -> None:
    if not ctx.need("ir_rc_requirement", "baa_summary"):
        return
    bs = ctx.run.baa_summary.assign(baa=lambda d: d["baa"].astype(str),
                                    hour=lambda d: d["hour"].astype(int))
    bh = ctx.s.baa_hours.assign(baa=ctx.s.baa_hours["baa"].astype(str)).set_index(
      ["baa", "hour"])
    have_sched = ctx.sched is not None
    baa_of = ctx.res["baa"].astype(str)
    awards = {p: ctx.sched[f"{p}_mw"].groupby(baa_of).sum()
             for p in ("iru", "ird", "rcu", "rcd")} if have_sched else {}
    rc_in = _rc_net_import(ctx)
    foot: dict[tuple[str, int], list[float]] = {}
    for rec in bs.to_dict("records"):
        b, h = rec["baa"], rec["hour"]
        for p in ("iru", "ird", "rcu", "rcd"):
            cols = [f"{p}_{c}_mw" for c in ("requirement", "cleared", "relaxed")]
            if not all(c in rec for c in cols):
                continue
            req, clr, rel = (float(nan_to(rec[c], 0.0)) for c in cols)
            # RC may also come over RC transfers (x^R − x): RCU − RCD + RC net import + sR+
            # − sR− = forecast gap (§5.11), so the BAA's own RCU (RCD) plus relaxation plus
            # RC net import (export) covers its RCU (RCD) requirement.
            xfer = 0.0
            if p in ("rcu", "rcd") and rc_in is not None:
                xfer = cell(rc_in, b, h) * (1.0 if p == "rcu" else -1.0)
            if req > ctx.tol and req - clr - rel - xfer > ctx.tol:
                via = f" + RC transfers {xfer:.6g}" if xfer else ""
                ctx.add("ir_rc_requirement", "baa_summary", "baa", b, h, clr + rel + xfer,
                        req, f"{p.upper()} cleared {clr:.6g} + relaxed {rel:.6g}{via} below "
                             f"the requirement {req:.6g} by {req - clr - rel - xfer:.6g}")
            if p in ("iru", "ird") and (b, h) in bh.index:
                inp = float(bh.at[(b, h), f"{p}_requirement_mw"])
                if abs(inp - req) > ctx.tol:
                    ctx.add("ir_rc_requirement", "baa_summary", "baa", b, h, req, inp,
                            f"{p.upper()} requirement {req:.6g} differs from the input "
                            f"{inp:.6g}")
            if have_sched:
                got = cell(awards[p], b, h)
                if ctx.p.phase == 1 and req - got - rel > ctx.tol:
                    ctx.add("ir_rc_requirement", "schedules", "baa", b, h, got + rel, req,
                            f"phase 1: {p.upper()} awards in the BAA {got:.6g} + relaxed "
                            f"{rel:.6g} below the requirement {req:.6g}")
                if p in ("iru", "ird"):  # IR transfers cancel over the footprint
                    f = foot.setdefault((p, h), [0.0, 0.0, 0.0])
                    f[0] += got
                    f[1] += rel
                    f[2] += req
    for (p, h), (got, rel, req) in sorted(foot.items()):
        if req - got - rel > ctx.tol:
            ctx.add("ir_rc_requirement", "schedules", "footprint", "all", h, got + rel, req,
                    f"{p.upper()} awards over the footprint {got:.6g} + relaxed {rel:.6g} "
                    f"below the total requirement {req:.6g}")


def _rc_net_import(ctx: Context) -> pd.DataFrame | None:
    """RC transfers x^R − x into each BAA, BAA x hour (None when unknown)."""
    xr = ctx.transfers("ruc_transfers")
    if xr is None:
        return None
    baas = sorted(ctx.s.baas["baa"].astype(str))
    if "rc_transfer_mw" in xr.columns:
        return net_import(ctx.s, xr, baas, ctx.hours, "rc_transfer_mw")
    x = ctx.transfers("transfers")
    if x is None:
        return None
    return net_import(ctx.s, xr, baas, ctx.hours, "mw") - \
        net_import(ctx.s, x, baas, ctx.hours, "mw")


def check_ruc(ctx: Context) -> None:
    if ctx.sched is None or not ctx.p.run_ruc:
        return
    S = ctx.sched
    if not ctx.ruc_ran():
        ctx.skipped.append("ruc_balance: schedules has no rcu_mw column")
        return
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    xr = ctx.balance_transfers("ruc_balance", "ruc_transfers")
    if xr is None:
        return
    phys = ctx.by_type(*RUC_TYPES)
    r = (S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]).loc[phys]
    supply = r.groupby(ctx.res["baa"].astype(str).loc[phys]).sum().reindex(baas).fillna(0.0)
    gap = supply - ctx.forecast() + net_import(s, xr, baas, ctx.hours, "mw") + \
        net_import(s, base_frame(s), baas, ctx.hours, "mw")
    ctx.flag_balance("ruc_balance", baas, gap, ctx.balance_slack("ruc"), lambda g, sl: (
        f"physical schedule + RCU − RCD + RUC net imports − forecast = {g:.6g} MW, expected "
        f"{0.0 - sl:.6g} (reported RUC relaxation {sl:.6g})"))


def _cleared_requirement(ctx: Context, product: str) -> pd.DataFrame:
    """Q_b of §5.7 (the requirement less the relaxed MW), BAA x hour: from `baa_summary` when the
    run has it, else the input requirement less the `relaxations` of that product."""
    baas = sorted(ctx.s.baas["baa"].astype(str))
    bs = ctx.run.tables.get("baa_summary")
    cols = [f"{product}_requirement_mw", f"{product}_relaxed_mw"]
    if bs is not None and all(c in bs.columns for c in cols):
        q = bs.assign(baa=bs["baa"].astype(str), hour=bs["hour"].astype(int),
                      q=bs[cols[0]].astype(float).fillna(0.0) - bs[cols[1]].astype(float)
                      .fillna(0.0))
        return q.pivot_table(index="baa", columns="hour", values="q", aggfunc="sum").reindex(
            index=baas, columns=ctx.hours).fillna(0.0)
    bh = ctx.s.baa_hours.assign(baa=ctx.s.baa_hours["baa"].astype(str))
    req = bh.pivot_table(index="baa", columns="hour", values=cols[0], aggfunc="sum").reindex(
        index=baas, columns=ctx.hours).fillna(0.0)
    for (b, h), v in ctx.relaxed("ir", product).items():
        if b in req.index and h in req.columns:
            req.at[b, h] -= v
    return req


def ruc_gap(ctx: Context) -> pd.DataFrame:
    """The forecast gap the RUC must close in each BAA-hour (§5.11): D^F + net base export − Σ
    IFM physical g − IFM net EDAM import, BAA x hour."""
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    phys = ctx.by_type(*RUC_TYPES)
    sup = ctx.sched["energy_mw"].loc[phys].groupby(ctx.res["baa"].astype(str).loc[phys]).sum()
    sup = sup.reindex(index=baas, columns=ctx.hours).fillna(0.0)
    x = ctx.transfers("transfers")
    x_in = net_import(s, x, baas, ctx.hours, "mw") if x is not None else 0.0
    return ctx.forecast() - net_import(s, base_frame(s), baas, ctx.hours, "mw") - sup - x_in


def check_reserve_credit(ctx: Context) -> None:
    """Every BAA-hour, with or without a requirement: IR credit C_b = own awards + IR transfers in −
    out ≥ Q_b (§5.7: a BAA cannot send IR it does not hold); RC credit: own RCU + RC net import
    (x^R − x) + RUC under-slack ≥ the forecast gap where it is positive, own RCD − RC net import
    + RUC over-slack ≥ −gap where it is negative (§5.11)."""
    if not ctx.need("reserve_credit", "schedules"):
        return
    from clearing.analysis.check.flows import ir_credit
    for prod in ("iru", "ird"):
        credit = ir_credit(ctx, prod)
        q = _cleared_requirement(ctx, prod)
        for b in credit.index:
            for h in ctx.hours:
                got, need = float(credit.at[b, h]), max(0.0, float(q.at[b, h]))
                if need - got > ctx.tol:
                    ctx.add("reserve_credit", "schedules", "baa", b, h, got, need,
                            f"{prod.upper()} credit (awards in the BAA + IR transfers in − out) "
                            f"{got:.6g} MW below the cleared requirement {need:.6g} by "
                            f"{need - got:.6g}")
    if not ctx.ruc_ran():
        return
    rc_in = _rc_net_import(ctx)
    if rc_in is None:
        ctx.skipped.append("reserve_credit (RC): no ruc_transfers table")
        return
    gap = ruc_gap(ctx)
    baa = ctx.res["baa"].astype(str)
    rcu = ctx.sched["rcu_mw"].groupby(baa).sum().reindex(index=gap.index,
                                                         columns=ctx.hours).fillna(0.0)
    rcd = ctx.sched["rcd_mw"].groupby(baa).sum().reindex(index=gap.index,
                                                         columns=ctx.hours).fillna(0.0)
    under, over = ctx.relaxed("ruc", "under"), ctx.relaxed("ruc", "over")
    for b in gap.index:
        for h in ctx.hours:
            g = float(gap.at[b, h])
            xin = cell(rc_in, b, h)
            su = float(under.get((b, h), 0.0)) if len(under) else 0.0
            so = float(over.get((b, h), 0.0)) if len(over) else 0.0
            up = float(rcu.at[b, h]) + xin + su
            dn = float(rcd.at[b, h]) - xin + so
            if g - up > ctx.tol:
                ctx.add("reserve_credit", "schedules", "baa", b, h, up, g,
                        f"RCU credit (RCU {rcu.at[b, h]:.6g} + RC net import {xin:.6g} + RUC "
                        f"under-slack {su:.6g}) below the forecast gap {g:.6g}")
            if -g - dn > ctx.tol:
                ctx.add("reserve_credit", "schedules", "baa", b, h, dn, -g,
                        f"RCD credit (RCD {rcd.at[b, h]:.6g} + RC net export {-xin:.6g} + RUC "
                        f"over-slack {so:.6g}) below the forecast surplus {-g:.6g}")
