"""Energy and network rules: per-BAA power balance (§5.1), ETSR limits and NEC (§5.2), base-case
and deployment-scenario flows (§5.3, §5.9), transfer cycles."""

from __future__ import annotations

import math

import pandas as pd

from clearing.analysis.check.context import (Context, base_frame, classify_relaxation, fixed_demand_baa,
                                    nan_to, net_import, opt_col)


def check_balance(ctx: Context) -> None:
    if not ctx.need("balance", "schedules"):
        return
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    e = ctx.sched["energy_mw"]
    gen = e.groupby(ctx.res["baa"].astype(str)).sum().reindex(baas).fillna(0.0)
    dem = fixed_demand_baa(s, baas, ctx.hours)
    x = ctx.balance_transfers("balance", "transfers")
    if x is None:
        return
    net_in = net_import(s, x, baas, ctx.hours, "mw")
    base_in = net_import(s, base_frame(s), baas, ctx.hours, "mw")
    gap = gen - dem + net_in + base_in  # must equal −(sPB+ − sPB−)
    if ctx.has_losses():   # marginal losses: the balance row's linearised losses (§5.1 [A])
        gap = gap - ctx.losses("loss_mw")
    ctx.flag_balance("balance", baas, gap, ctx.balance_slack("pb"), lambda g, sl: (
        f"supply − demand − losses + net imports = {g:.6g} MW, expected {0.0 - sl:.6g} "
        f"(reported power-balance relaxation {sl:.6g}); off by {abs(g + sl):.6g} MW"))


def etsr_rows(ctx: Context) -> list[tuple[str, str, str, str | None, str | None]]:
    """The directed ETSR rows of §5.2: (row id, o, e, k, k̄) with k the interface o→e (None when
    the scenario declares only e→o: an undeclared direction is an ETSR with X^max = 0, whose row
    still binds yD of the declared one) and k̄ the reverse interface (None when undeclared)."""
    itf = ctx.s.interfaces
    frm = dict(zip(itf["interface"].astype(str), itf["from_baa"].astype(str)))
    to = dict(zip(itf["interface"].astype(str), itf["to_baa"].astype(str)))
    rows = []
    for k in frm:
        kb = next((j for j in frm if frm[j] == to[k] and to[j] == frm[k]), None)
        rows.append((k, frm[k], to[k], k, kb))
        if kb is None:
            rows.append((f"{to[k]}->{frm[k]} (undeclared)", to[k], frm[k], None, k))
    return rows


def _frame_col(tr: pd.DataFrame | None, names: tuple[str, ...]) -> pd.Series:
    """One value column of a transfers table by (interface, hour); empty when absent."""
    if tr is None:
        return pd.Series(dtype=float)
    col = opt_col(tr, names)
    return col if col is not None else pd.Series(dtype=float)


class EtsrTerms:
    """The terms of the directed ETSR rows of §5.2 from the scenario and the published IFM
    IR transfers: X^max_k, X^base_k, yU_k, yD_k by (interface, hour); `row` evaluates one row
    for the economic transfers x of a table (IFM x or RUC x^R)."""

    def __init__(self, ctx: Context) -> None:
        ih = ctx.s.interface_hours.assign(
            interface=ctx.s.interface_hours["interface"].astype(str))
        self.xmax = ih.set_index(["interface", "hour"])["limit_mw"].astype(float)
        self.base = ih.set_index(["interface", "hour"])["base_transfer_mw"].fillna(0.0) \
            .astype(float)
        ifm = ctx.transfers("transfers")
        self.yu = _frame_col(ifm, ("iru_transfer_mw", "iru_mw"))
        self.yd = _frame_col(ifm, ("ird_transfer_mw", "ird_mw"))

    def row(self, x: pd.Series, k: str | None, kb: str | None, h: int) -> tuple[float, float]:
        """(x_k − x_k̄ + yU_k + yD_k̄, X^max_k − (X^base_k − X^base_k̄)) of the row of k in hour
        h; k None: an undeclared direction (X^max 0), k̄ None: no reverse."""
        def val(ser, key):
            return float(ser.get((key, h), 0.0)) if key is not None else 0.0
        lhs = val(x, k) - val(x, kb) + val(self.yu, k) + val(self.yd, kb)
        return lhs, val(self.xmax, k) - (val(self.base, k) - val(self.base, kb))


def check_transfers(ctx: Context) -> None:
    """§5.2, §10: gross bounds 0 ≤ x_k ≤ X^max_k; IR transfers ≥ 0; phase 1: x = yU = yD =
    x^R = 0; every directed ETSR row x_k − x_k̄ + yU_k + yD_k̄ ≤ X^max_k − (X^base_k − X^base_k̄), for the IFM
    (x) and the RUC (x^R, with yU, yD fixed from the IFM), undeclared directions included."""
    s = ctx.s
    itf = s.interfaces.assign(interface=s.interfaces["interface"].astype(str))
    if not len(itf):
        return
    terms = EtsrTerms(ctx)
    xmax = terms.xmax
    known = set(itf["interface"])
    phase1 = ctx.p.phase == 1
    for name, y in (("yU (IRU transfer)", terms.yu), ("yD (IRD transfer)", terms.yd)):
        for (k, h), v in y.items():
            lim = 0.0
            if v < -ctx.tol or (phase1 and v > ctx.tol):
                ctx.add("transfer_limit", "transfers", "interface", k, h, v, lim,
                        f"{name} {v:.6g} MW" + (" in phase 1 (must be 0)" if phase1 else
                                                " is negative"))
    any_table = False
    for table in ("transfers", "ruc_transfers"):
        tr = ctx.transfers(table)
        if tr is None:
            continue
        any_table = True
        x = tr.set_index(["interface", "hour"])["mw"].astype(float)
        for (k, h), v in x.items():
            if k not in known:
                ctx.add("transfer_limit", table, "interface", k, h, v, 0,
                        "transfer on an interface that is not in the scenario")
                continue
            lim = 0.0 if phase1 else float(xmax.get((k, h), 0.0))
            what = "economic transfer (phase 1: must be 0)" if phase1 else "economic transfer"
            if v - lim > ctx.tol:
                ctx.add("transfer_limit", table, "interface", k, h, v, lim,
                        f"{what} {v:.6g} MW above the ETSR limit {lim:.6g} by {v - lim:.6g}")
            if v < -ctx.tol:
                ctx.add("transfer_limit", table, "interface", k, h, v, 0.0,
                        f"negative economic transfer {v:.6g} MW")
        if phase1:
            continue
        for row, o, e, k, kb in etsr_rows(ctx):
            for h in ctx.hours:
                net, nlim = terms.row(x, k, kb, h)
                if net - nlim > ctx.tol:
                    ctx.add("transfer_limit", table, "interface", row, h, net, nlim,
                            f"ETSR row {o}→{e}: x − x̄ + yU + yD̄ = {net:.6g} MW above X^max − "
                            f"net base transfer {nlim:.6g} by {net - nlim:.6g}")
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
    rating = ctx.ratings()
    tol = ctx.tol + float(ctx.p.flow_tolerance_mw)
    for label, relax, branches, inj_fn in todo:
        flows = ptdf.flows(inj_fn(ptdf.bus_ids).to_numpy())
        for b in branches:
            row = flows[ptdf.branch_index(b)]
            for j, h in enumerate(ctx.hours):
                f, rate = float(row[j]), float(rating.at[b, h])
                if not rate > 0:
                    continue  # rated 0 MW: out of service in this hour, no limit (as the engine)
                over = float(relax.get((b, h), 0.0)) if len(relax) else 0.0
                if abs(f) - rate - over > tol:
                    ctx.add("branch_limit", "schedules", "branch", b, h, f,
                            math.copysign(rate + over, f),
                            f"{label} DC flow {f:.6g} MW (from injections) exceeds the "
                            f"rating {rate:.6g} + reported overload {over:.6g} by "
                            f"{abs(f) - rate - over:.6g}")


def nec_limits(ctx: Context) -> dict[tuple[str, int], float]:
    """NEC_bt of §5.2 for BAAs with `nec_enabled`: the submitted `baa_hours.nec_mw`, else
    max(0, S^RSE − (D^F + Req^RU + Req^SR + Req^NR + CF·R^IRU + AM)) with S^RSE read from the
    run's `rse` table (test `energy`, capacity_mw). BAA-hours whose NEC cannot be formed are
    left out (and noted as skipped)."""
    baas = ctx.s.baas.assign(baa=ctx.s.baas["baa"].astype(str)).set_index("baa")
    if "nec_enabled" not in baas.columns:
        return {}
    on = [b for b in baas.index if bool(baas.at[b, "nec_enabled"])]
    if not on:
        return {}
    bh = ctx.s.baa_hours.assign(baa=ctx.s.baa_hours["baa"].astype(str))
    rse = ctx.run.tables.get("rse")
    supply = {}
    if rse is not None and len(rse):
        en = rse[rse["test"].astype(str) == "energy"]
        supply = {(str(b), int(h)): float(v) for b, h, v in
                  zip(en["baa"], en["hour"], en["capacity_mw"])}
    out, missing = {}, 0
    for rec in bh[bh["baa"].isin(on)].to_dict("records"):
        key = (rec["baa"], int(rec["hour"]))
        sub = rec.get("nec_mw")
        if sub is not None and not pd.isna(sub):
            out[key] = float(sub)
        elif key in supply:
            cf = float(nan_to(baas.at[key[0], "confidence_factor"], 0.0)) \
                if "confidence_factor" in baas.columns else 0.0
            need = sum(float(nan_to(rec.get(c), 0.0)) for c in (
                "demand_forecast_mw", "ru_requirement_mw", "sr_requirement_mw",
                "nr_requirement_mw", "additional_margin_mw"))
            need += cf * float(nan_to(rec.get("iru_requirement_mw"), 0.0))
            out[key] = max(0.0, supply[key] - need)
        else:
            missing += 1
    if missing:
        ctx.skipped.append(f"nec: {missing} BAA-hours with a formula NEC and no rse energy "
                           f"capacity to form S^RSE")
    return out


def check_nec(ctx: Context) -> None:
    """§5.2 / §5.11: Σ_{o(k)=b} (x_k + yU_k) − Σ_{e(k)=b} (x_k + yU_k) ≤ NEC_bt for the IFM and,
    with x^R in place of x, for the RUC."""
    lim = nec_limits(ctx)
    if not lim:
        return
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    ifm = ctx.transfers("transfers")
    yu = None
    if ifm is not None:
        col = opt_col(ifm, ("iru_transfer_mw", "iru_mw"))
        if col is not None:
            yu = col.rename("mw").reset_index()
    for table in ("transfers", "ruc_transfers"):
        tr = ctx.transfers(table)
        if tr is None:
            continue
        out = -net_import(s, tr, baas, ctx.hours, "mw")
        if yu is not None:
            out = out - net_import(s, yu, baas, ctx.hours, "mw")
        for (b, h), v in sorted(lim.items()):
            got = float(out.at[b, h]) if b in out.index and h in out.columns else 0.0
            if got - v > ctx.tol:
                ctx.add("nec", table, "baa", b, h, got, v,
                        f"net export of EDAM energy + IRU {got:.6g} MW above the NEC {v:.6g} by "
                        f"{got - v:.6g}" + (" (RUC: x^R)" if table == "ruc_transfers" else ""))


def check_cycles(ctx: Context) -> None:
    """No directed cycle of positive transfers that could be cancelled in any hour (IFM
    `transfers`, RUC `ruc_transfers`): a cycle adds hurdle cost (or nothing) and moves no energy;
    a 2-cycle is both directions of a BAA pair above tol (§4.1, §5.2).

    Cancelling δ MW around a cycle keeps every BAA's net position but lowers x_k on each leg,
    which raises the reverse ETSR row x_k̄ − x_k + yU_k̄ + yD_k ≤ X^max_k̄ − (X^base_k̄ − X^base_k)
    of every leg whose reverse is not on the cycle. A leg that carries an IRD transfer over an
    undeclared (0 MW) or full reverse direction cannot be lowered: such a cycle is not
    circulation (random markets, issue 16: B→A 2.5 MW against the price carries 2.5 MW of IRD
    from B to A over the undeclared A→B). A cycle is flagged when δ = min(smallest leg, the
    reverse rows' slack) exceeds tol, as network/transfers.py's netting would cancel it."""
    import networkx as nx
    itf = ctx.s.interfaces
    if not len(itf):
        return
    ends = {str(k): (str(o), str(e)) for k, o, e in
            zip(itf["interface"], itf["from_baa"], itf["to_baa"])}
    terms = EtsrTerms(ctx)
    # the directed ETSR row of each BAA pair (o, e): its interface k (None: undeclared) and k̄
    pair_row = {(o, e): (k, kb) for _, o, e, k, kb in etsr_rows(ctx)}
    for table in ("transfers", "ruc_transfers"):
        tr = ctx.transfers(table)
        if tr is None:
            continue
        x = tr.set_index(["interface", "hour"])["mw"].astype(float)
        pos = tr[(tr["mw"].astype(float) > ctx.tol) & tr["interface"].isin(ends)]
        for h, g in pos.groupby("hour"):
            def slack(o, e, h=h):
                """Slack of the directed ETSR row o→e in hour h (∞ without one)."""
                if (o, e) not in pair_row:
                    return float("inf")
                lhs, rhs = terms.row(x, *pair_row[(o, e)], h)
                return rhs - lhs

            graph = nx.DiGraph()
            for k, v in zip(g["interface"], g["mw"].astype(float)):
                o, e = ends[k]
                w = graph.get_edge_data(o, e, {"mw": 0.0})["mw"]
                graph.add_edge(o, e, mw=w + v)
            for cyc in nx.simple_cycles(graph):
                i = cyc.index(min(cyc))   # from its smallest BAA id: the same id every run
                cyc = cyc[i:] + cyc[:i]
                legs = list(zip(cyc, cyc[1:] + cyc[:1]))
                least = min(graph[o][e]["mw"] for o, e in legs)
                on = set(legs)
                delta = min([least] + [max(0.0, slack(e, o)) for o, e in legs
                                       if (e, o) not in on])
                if delta <= ctx.tol:
                    continue
                path = "→".join(cyc + cyc[:1])
                ctx.add("transfer_cycle", table, "hour", path, h, delta, 0.0,
                        f"positive transfers around the cycle {path} (smallest leg "
                        f"{least:.6g} MW; {delta:.6g} MW could be cancelled without breaking "
                        "an ETSR row)")


def deployment_set(ctx: Context) -> list[str]:
    """L^dep (§5.9, tunable #1) from `deployment_constraint_set` and the scenario's branches."""
    from scenarios.loader import deployment_constraint_ids
    br = ctx.s.branches.assign(branch=ctx.s.branches["branch"].astype(str))
    return [str(b) for b in deployment_constraint_ids(ctx.s.source_dir, ctx.p, br)]


def _dep_relaxed(ctx: Context) -> dict[tuple[str, str, int], float]:
    """Reported deployment-scenario overloads by (direction up/down/None, branch, hour)."""
    rel = ctx.run.tables.get("relaxations")
    out: dict[tuple[str, str, int], float] = {}
    if rel is None or not len(rel):
        return out
    for rec in rel.to_dict("records"):
        cat, ident = classify_relaxation(rec.get("requirement", ""))
        if cat != "deployment":
            continue
        head = str(rec.get("requirement", "")).partition(":")[0].lower()
        d = "up" if "up" in head else "down" if ("down" in head or "dn" in head) else None
        for c in ("branch", "constraint"):
            if isinstance(rec.get(c), str) and rec[c]:
                ident = rec[c]
        key = (d, str(ident), int(rec["hour"]))
        out[key] = out.get(key, 0.0) + float(nan_to(rec.get("relaxed_mw"), 0.0))
    return out


def ir_credit(ctx: Context, product: str) -> pd.DataFrame:
    """C_b of §5.7: Σ_{i∈I_b} award + Σ_{e(k)=b} y_k − Σ_{o(k)=b} y_k, BAA x hour (product iru:
    IRU and yU; ird: IRD and yD)."""
    s = ctx.s
    baas = sorted(s.baas["baa"].astype(str))
    own = ctx.sched[f"{product}_mw"].groupby(ctx.res["baa"].astype(str)).sum()
    own = own.reindex(index=baas, columns=ctx.hours).fillna(0.0)
    tr = ctx.transfers("transfers")
    if tr is None:
        return own
    col = opt_col(tr, (f"{product}_transfer_mw", f"{product}_mw"))
    if col is None:
        return own
    return own + net_import(s, col.rename("mw").reset_index(), baas, ctx.hours, "mw")


def check_deployment(ctx: Context) -> None:
    """§5.9: fU = f + δ·PTDF·(IRU at its bus − LDF·CU_b), fD = f − δ·PTDF·(IRD − LDF·CD_b) within
    ±(rating + reported deployment overload) for l ∈ L^dep, δ = ir_deployed_proportion."""
    if not ctx.need("deployment_flow", "schedules"):
        return
    dep = deployment_set(ctx)
    delta = float(ctx.p.ir_deployed_proportion)
    S = ctx.sched
    if not dep or delta == 0.0 or (S["iru_mw"].abs().to_numpy().sum() +
                                   S["ird_mw"].abs().to_numpy().sum()) <= ctx.tol:
        return
    from network.ptdf import scenario_ptdf
    ptdf = scenario_ptdf(ctx.s)
    bus_ids = list(ptdf.bus_ids)
    base = ptdf.flows(ctx.injections(bus_ids).to_numpy())
    rating = ctx.ratings()
    relaxed = _dep_relaxed(ctx)
    tol = ctx.tol + float(ctx.p.flow_tolerance_mw)
    for sign, prod, d in ((1.0, "iru", "up"), (-1.0, "ird", "down")):
        shift = ctx.by_bus(S[f"{prod}_mw"], bus_ids) - ctx.slack_by_bus(ir_credit(ctx, prod),
                                                                        bus_ids)
        f = base + sign * delta * ptdf.flows(shift.to_numpy())
        for b in dep:
            row = f[ptdf.branch_index(b)]
            for j, h in enumerate(ctx.hours):
                over = relaxed.get((d, b, h), 0.0) + relaxed.get((None, b, h), 0.0)
                rate = float(rating.at[b, h])
                if not rate > 0:
                    continue  # rated 0 MW: out of service in this hour (scenario format)
                if abs(row[j]) - rate - over > tol:
                    ctx.add("deployment_flow", "schedules", "branch", b, h, float(row[j]),
                            math.copysign(rate + over, row[j]),
                            f"{d} deployment scenario flow {row[j]:.6g} MW (δ = {delta:g}) "
                            f"exceeds the rating {rate:.6g} + reported overload {over:.6g} by "
                            f"{abs(row[j]) - rate - over:.6g}")


def check_losses(ctx: Context) -> None:
    """Marginal losses (docs/market-model.md): per BAA-hour the losses recomputed from the
    checker's own flows (IFM injections with the published withdrawn losses, every branch) and
    the scenario's resistances, Σ_l share_lb r_l f_l² / base (a tie branch half to each BAA),
    equal the published `losses.loss_mw` within loss_tolerance_mw + 0.001 MW (the engine's
    stopping rule; a manifest warning says when it stopped short of it), and
    `baa_summary.loss_mw` is that column. Skipped without a losses table or rows."""
    if not ctx.has_losses():
        return
    if not ctx.need("losses", "schedules"):
        return
    s = ctx.s
    br = s.branches.assign(branch=s.branches["branch"].astype(str))
    from network.ptdf import scenario_ptdf
    ptdf = scenario_ptdf(s)
    flows = ptdf.flows(ctx.injections(list(ptdf.bus_ids)).to_numpy())
    idx = br.set_index("branch")
    r = (idx["resistance_pu"].astype(float).reindex(ptdf.branch_ids).fillna(0.0).to_numpy()
         if "resistance_pu" in idx.columns else [0.0] * len(ptdf.branch_ids))
    base = float(ctx.p.loss_base_mva)
    bus_baa = {str(k): str(v) for k, v in s.bus_baa.items()}
    baas = sorted(s.baas["baa"].astype(str))
    quad = pd.DataFrame(0.0, index=baas, columns=ctx.hours)
    for i, l in enumerate(ptdf.branch_ids):
        ends = (bus_baa[str(idx.at[l, "from_bus"])], bus_baa[str(idx.at[l, "to_bus"])])
        for a in ends:
            quad.loc[a] += 0.5 * r[i] * flows[i] ** 2 / base
    bound = float(ctx.p.loss_tolerance_mw) + 1e-3
    pub = ctx.losses("loss_mw")
    bs = ctx.run.tables.get("baa_summary")
    summary = None
    if bs is not None and "loss_mw" in bs.columns:
        summary = bs.assign(baa=bs["baa"].astype(str), hour=bs["hour"].astype(int)).set_index(
            ["baa", "hour"])["loss_mw"].astype(float)
    for a in baas:
        for h in ctx.hours:
            got, want = float(pub.at[a, h]), float(quad.at[a, h])
            if abs(got - want) > bound:
                ctx.add("losses", "losses", "baa", a, h, got, want,
                        f"published losses {got:.6g} MW ≠ Σ r f²/base {want:.6g} MW from the "
                        f"flows of the schedules (off by {abs(got - want):.6g}, bound "
                        f"{bound:.3g})")
            if summary is not None and abs(float(summary.get((a, h), 0.0)) - got) > ctx.tol:
                ctx.add("losses", "baa_summary", "baa", a, h,
                        float(summary.get((a, h), 0.0)), got,
                        "baa_summary.loss_mw differs from losses.loss_mw")
