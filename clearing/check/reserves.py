"""Reserve requirement rules: cumulative AS (§5.6), IR and RC requirements and per-BAA credit
(§5.7, §5.11), RUC forecast balance (§5.11)."""

from __future__ import annotations

import pandas as pd

from clearing.check.context import (AWARD_COLUMNS, RUC_TYPES, Context, base_frame, cell, nan_to,
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
    xr = ctx.transfers("ruc_transfers")
    if xr is None:
        if ctx.p.phase == 1 or not len(s.interfaces):
            xr = pd.DataFrame(columns=["interface", "hour", "mw"])
        else:
            ctx.skipped.append("ruc_balance: no ruc_transfers table (phase ≥ 2)")
            return
    phys = ctx.by_type(*RUC_TYPES)
    r = (S["energy_mw"] + S["rcu_mw"] - S["rcd_mw"]).loc[phys]
    supply = r.groupby(ctx.res["baa"].astype(str).loc[phys]).sum().reindex(baas).fillna(0.0)
    gap = supply - ctx.forecast() + net_import(s, xr, baas, ctx.hours, "mw") + \
        net_import(s, base_frame(s), baas, ctx.hours, "mw")
    slack = ctx.balance_slack("ruc")
    for b in baas:
        for h in ctx.hours:
            g, sl = float(gap.at[b, h]), float(slack.at[b, h])
            if abs(g + sl) > ctx.tol:
                ctx.add("ruc_balance", "schedules", "baa", b, h, g, 0.0 - sl,
                        f"physical schedule + RCU − RCD + RUC net imports − forecast = "
                        f"{g:.6g} MW, expected {0.0 - sl:.6g} (reported RUC relaxation "
                        f"{sl:.6g})")
