"""Price rules (§6): LMP decomposition, ELAP range, IR price cap, ETSR price separation, reserve
price relations, revenue adequacy, prices explained by relaxations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clearing.analysis.check.context import Context, nan_to, net_import
from clearing.analysis.check.ties import KINDS as TIE_KINDS


def _ir_exporting_baa_hours(ctx: Context) -> set[tuple[str, str, int]]:
    """(baa, iru|ird, hour) where the BAA sends IR out over an ETSR (`transfers`
    iru_transfer_mw / ird_transfer_mw > 0 from it). There ρ_b is the value of the exported IR:
    the transfer's reduced cost ties it to the importer's ρ plus the ETSR, NEC and
    deployment-row duals the transfer meets, so a BAA that relaxes its own requirement while
    exporting may price IR above its own curve's cap (random markets, issue 16; spec §5.7's
    "never exceeds the cap" holds for a BAA that exports no IR)."""
    tr = ctx.run.tables.get("transfers")
    out: set[tuple[str, str, int]] = set()
    if tr is None or not len(tr) or "from_baa" not in tr.columns:
        return out
    for prod in ("iru", "ird"):
        col = f"{prod}_transfer_mw"
        if col not in tr.columns:
            continue
        v = pd.to_numeric(tr[col], errors="coerce").fillna(0.0).astype(float)
        out |= {(str(b), prod, int(h)) for b, h, x in zip(tr["from_baa"], tr["hour"], v)
                if x > ctx.tol}
    return out


def check_prices(ctx: Context) -> None:
    p = ctx.p
    pp = ctx.run.tables.get("product_prices")
    bs = ctx.run.tables.get("baa_summary")
    if pp is None or bs is None:
        ctx.skipped.append("ir_price_cap: needs product_prices and baa_summary")
    else:
        cap = float(p.ir_demand_curve_cap_usd_per_mwh)
        price = pp.assign(baa=pp["baa"].astype(str), product=pp["product"].str.lower(),
                          hour=pp["hour"].astype(int)).set_index(["baa", "product", "hour"])[
            "price_usd_per_mwh"]
        exporting = _ir_exporting_baa_hours(ctx)
        for rec in bs.to_dict("records"):
            for prod in ("iru", "ird"):
                rel = float(nan_to(rec.get(f"{prod}_relaxed_mw", 0.0), 0.0))
                key = (str(rec["baa"]), prod, int(rec["hour"]))
                if rel > ctx.tol and key in price.index and key not in exporting:
                    v = float(price.loc[key])
                    if v - cap > 1e-6 * max(1.0, cap):
                        ctx.add("ir_price_cap", "product_prices", "baa", key[0], key[2], v,
                                cap, f"{prod.upper()} price {v:.6g} $/MWh above the demand-"
                                f"curve cap {cap:.6g} while {rel:.6g} MW is relaxed")
    npx = ctx.run.tables.get("nodal_prices")
    if npx is None:
        ctx.skipped.append("lmp_components, elap_bounds: no nodal_prices table")
        return
    npx = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int))
    comp = [c for c in ("energy", "congestion", "loss", "ghg") if c in npx.columns]
    if "lmp" in npx.columns and comp:
        parts = npx[comp].fillna(0.0)
        tot = parts.sum(axis=1)
        scale = parts.abs().sum(axis=1)
        dev = (npx["lmp"] - tot).abs()
        for i in np.flatnonzero((dev > 1e-6 + 1e-9 * scale).to_numpy()):
            r = npx.iloc[i]
            ctx.add("lmp_components", "nodal_prices", "bus", r["bus"], r["hour"], r["lmp"],
                    tot.iat[i], f"LMP {r['lmp']:.8g} ≠ {' + '.join(comp)} "
                    f"{tot.iat[i]:.8g} (off by {dev.iat[i]:.3g})")
        _check_congestion_split(ctx, npx)
        if "energy" in npx.columns:
            for h, g in npx.groupby("hour"):
                spread = float(g["energy"].max() - g["energy"].min())
                if spread > 1e-6 + 1e-9 * float(g["energy"].abs().max()):
                    ctx.add("lmp_components", "nodal_prices", "hour", "all", h,
                            float(g["energy"].max()), float(g["energy"].min()),
                            f"energy component (SMEC) differs across buses by {spread:.6g}")
    if "lmp" not in npx.columns:
        return
    ldf = ctx.s.ldf.rename(index=str)
    bus_baa = {str(k): str(v) for k, v in ctx.s.bus_baa.items()}
    df = npx.assign(baa_s=npx["bus"].map(bus_baa), w=npx["bus"].map(ldf).fillna(0.0))
    under = ctx.relaxed("pb", "under")
    over = ctx.relaxed("pb", "over")
    hi, lo = float(p.penalty_power_balance_under_usd_per_mwh), \
        -float(p.penalty_power_balance_over_usd_per_mwh)
    need = {b: set(ctx.s.buses.loc[ctx.s.buses["baa"].astype(str) == b, "bus"].astype(str))
          for b in set(bus_baa.values())}
    for (b, h), g in df.dropna(subset=["baa_s"]).groupby(["baa_s", "hour"]):
        if set(g["bus"]) < need[b] and (g["w"].sum() < 1 - 1e-9):
            continue  # prices of some load buses missing: the ELAP cannot be formed
        elap = float((g["w"] * g["lmp"]).sum())
        tol = 1e-4 * max(1.0, abs(elap))
        if elap - hi > tol or lo - elap > tol:
            lim = hi if elap > hi else lo
            ctx.add("elap_bounds", "nodal_prices", "baa", b, h, elap, lim,
                    f"load-aggregate price Σ LDF·LMP = {elap:.6g} $/MWh outside the "
                    f"power-balance penalty range [{lo:.6g}, {hi:.6g}]")
        u = float(under.get((b, h), 0.0)) if len(under) else 0.0
        o = float(over.get((b, h), 0.0)) if len(over) else 0.0
        if u > 10 * ctx.tol and abs(elap - hi) > tol:
            ctx.add("elap_bounds", "nodal_prices", "baa", b, h, elap, hi,
                    f"{u:.6g} MW under-supply relaxed but the load-aggregate price "
                    f"{elap:.6g} ≠ the penalty {hi:.6g}")
        if o > 10 * ctx.tol and abs(elap - lo) > tol:
            ctx.add("elap_bounds", "nodal_prices", "baa", b, h, elap, lo,
                    f"{o:.6g} MW over-supply relaxed but the load-aggregate price "
                    f"{elap:.6g} ≠ the penalty {lo:.6g}")


# ------------------------------------------------------------------------------------------------
def _check_congestion_split(ctx: Context, npx: pd.DataFrame) -> None:
    """§6.1: where published, congestion = BAA transfer component + network congestion, and
    energy + BAA transfer component = π_b of `baa_prices` (one value per BAA and hour)."""
    if not {"baa_transfer", "network_congestion", "congestion"} <= set(npx.columns):
        return
    n = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int))
    dev = (n["congestion"] - n["baa_transfer"] - n["network_congestion"]).abs()
    for i in np.flatnonzero((dev > 1e-6).to_numpy()):
        r = n.iloc[i]
        ctx.add("lmp_components", "nodal_prices", "bus", r["bus"], r["hour"], r["congestion"],
                r["baa_transfer"] + r["network_congestion"],
                f"congestion {r['congestion']:.8g} ≠ BAA transfer component + network "
                f"congestion {r['baa_transfer'] + r['network_congestion']:.8g}")
    bp = ctx.run.tables.get("baa_prices")
    if bp is None or "energy_price" not in bp.columns or "energy" not in n.columns:
        return
    pi = {(str(b), int(h)): float(v) for b, h, v in
          zip(bp["baa"], bp["hour"], bp["energy_price"])}
    gh = n["ghg"].fillna(0.0) if "ghg" in n.columns else pd.Series(0.0, index=n.index)
    for bus, h, e, t, m_ in zip(n["bus"], n["hour"], n["energy"], n["baa_transfer"], gh):
        b = str(ctx.s.bus_baa.get(bus, ""))
        e = e + m_   # §5.13: π_b = energy + BAA transfer component + ghg
        if (b, h) in pi and abs(e + t - pi[(b, h)]) > 1e-6 * max(1.0, abs(pi[(b, h)])):
            ctx.add("lmp_components", "nodal_prices", "bus", bus, h, e + t, pi[(b, h)],
                    f"energy + BAA transfer component (+ ghg) {e + t:.8g} ≠ the BAA price "
                    f"π_{b} {pi[(b, h)]:.8g} of baa_prices")


def baa_price(ctx: Context) -> pd.Series | None:
    """π_bt (the BAA balance dual, §6.1) by (baa, hour): `baa_prices.energy_price`, else a
    bus's `energy + baa_transfer` from `nodal_prices`; None when neither is published."""
    bp = ctx.run.tables.get("baa_prices")
    if bp is not None and "energy_price" in bp.columns:
        return pd.Series(bp["energy_price"].astype(float).to_numpy(),
                         index=pd.MultiIndex.from_arrays([bp["baa"].astype(str),
                                                          bp["hour"].astype(int)]))
    npx = ctx.run.tables.get("nodal_prices")
    if npx is not None and {"energy", "baa_transfer"} <= set(npx.columns):
        n = npx.assign(baa=npx["bus"].astype(str).map(ctx.s.bus_baa).astype(str),
                       hour=npx["hour"].astype(int),
                       pi=npx["energy"].astype(float) + npx["baa_transfer"].astype(float))
        return n.groupby(["baa", "hour"])["pi"].first()
    return None


def product_price(ctx: Context) -> pd.Series | None:
    """BAA product prices by (baa, product, hour) from `product_prices`."""
    pp = ctx.run.tables.get("product_prices")
    if pp is None:
        return None
    return pd.Series(pp["price_usd_per_mwh"].astype(float).to_numpy(),
                     index=pd.MultiIndex.from_arrays([pp["baa"].astype(str),
                                                      pp["product"].astype(str).str.lower(),
                                                      pp["hour"].astype(int)]))


def nec_duals(ctx: Context) -> tuple[dict[tuple[str, int], float], set[tuple[str, int]]]:
    """(λ_bt of the NEC rows published in `binding_constraints` (kind `nec`, constraint
    `NEC_<baa>`), BAA-hours where the NEC is enabled but λ unknown). With a `binding_constraints`
    table an unlisted enabled NEC has λ = 0; without one every enabled BAA-hour whose net export
    reaches its NEC (or whose NEC cannot be formed) is unknown."""
    from clearing.analysis.check.flows import nec_limits
    baas = ctx.s.baas.assign(baa=ctx.s.baas["baa"].astype(str)).set_index("baa")
    if "nec_enabled" not in baas.columns or not baas["nec_enabled"].astype(bool).any():
        return {}, set()
    bc = ctx.run.tables.get("binding_constraints")
    if bc is not None:
        lam = {}
        for c, h, kind, sp in zip(bc["constraint"].astype(str), bc["hour"].astype(int),
                                  bc["kind"].astype(str), bc["shadow_price"].astype(float)):
            if kind == "nec":
                lam[(c.removeprefix("NEC_"), h)] = sp
        return lam, set()
    lim = nec_limits(ctx)
    unknown = set()
    tr = ctx.transfers("transfers")
    names = sorted(baas.index)
    exp = -net_import(ctx.s, tr, names, ctx.hours, "mw") if tr is not None else None
    for b in baas.index[baas["nec_enabled"].astype(bool)]:
        for h in ctx.hours:
            if (b, h) not in lim or exp is None or lim[(b, h)] - exp.at[b, h] <= 10 * ctx.tol:
                unknown.add((b, h))
    return {}, unknown


def check_etsr_prices(ctx: Context) -> None:
    """§6.1 ETSR price separation. With the published duals (transfers.etsr_dual ν,
    gross_bound_dual β): the reduced cost d_k = c^hur_k + ν_k − ν_k̄ + β_k − (π_e − π_o) of every
    economic transfer is ≥ 0 and = 0 where x_k > 0; ν, β ≥ 0, ν_k > 0 only on a binding row,
    β_k > 0 only at x_k = X^max; shadow_price = ν + β. Without the duals, the relations
    complementary slackness implies: π_e − π_o ≤ c^hur_k when neither row k nor the gross bound binds, and
    π_e − π_o ≥ c^hur_k when x_k > 0 and the reverse row is slack. NEC duals λ (with + λ_o − λ_e)
    come from `binding_constraints` (kind `nec`); without that table, BAA-hours where a NEC may
    bind are left out. Phase 1: nothing to check (independent BAA prices)."""
    s = ctx.s
    if not len(s.interfaces) or ctx.p.phase == 1:
        return
    tr = ctx.transfers("transfers")
    pi = baa_price(ctx)
    if tr is None or pi is None:
        ctx.skipped.append("etsr_price: needs transfers and baa_prices (or nodal baa_transfer)")
        return
    if "ghg_regulated" in s.baas.columns and s.baas["ghg_regulated"].astype(bool).any():
        ctx.skipped.append("etsr_price: GHG areas (μ_at term) not re-checked")
        return
    from clearing.analysis.check.flows import etsr_rows
    itf = s.interfaces.assign(interface=s.interfaces["interface"].astype(str)).set_index(
        "interface")
    hurdle = itf["hurdle_usd_per_mwh"].astype(float).fillna(0.0) \
        if "hurdle_usd_per_mwh" in itf.columns else pd.Series(0.0, index=itf.index)
    ih = s.interface_hours.assign(interface=s.interface_hours["interface"].astype(str))
    xmax = ih.set_index(["interface", "hour"])["limit_mw"].astype(float)
    base = ih.set_index(["interface", "hour"])["base_transfer_mw"].astype(float).fillna(0.0)
    t = tr.set_index(["interface", "hour"])
    x = t["mw"].astype(float)
    yu = t["iru_transfer_mw"].astype(float) if "iru_transfer_mw" in t else pd.Series(dtype=float)
    yd = t["ird_transfer_mw"].astype(float) if "ird_transfer_mw" in t else pd.Series(dtype=float)
    duals = "etsr_dual" in t.columns and "gross_bound_dual" in t.columns
    lam, nec = nec_duals(ctx)
    rows = {k: (o, e, kb) for _, o, e, k, kb in etsr_rows(ctx) if k is not None}
    ptol = 1e-4
    from clearing.analysis.check.ghg import areas as ghg_areas, etsr_ghg_term, mu as ghg_mu
    area_of, mus = ghg_areas(ctx), (ghg_mu(ctx) or {})   # §5.13: ± μ on ETSRs across an area

    def g(ser, key, h):
        return float(nan_to(ser.get((key, h), 0.0), 0.0)) if key is not None else 0.0

    def slack(k, kb, h):  # X^max_k − (X^base_k − X^base_k̄) − (x_k − x_k̄ + yU_k + yD_k̄)
        lim = float(xmax.get((k, h), 0.0)) if k is not None else 0.0
        return lim - (g(base, k, h) - g(base, kb, h)) - (g(x, k, h) - g(x, kb, h) + g(yu, k, h)
                                                         + g(yd, kb, h))
    for k, (o, e, kb) in rows.items():
        for h in ctx.hours:
            if (o, h) in nec or (e, h) in nec or (o, h) not in pi.index or (e, h) not in pi.index:
                continue
            spread = float(pi[(e, h)] - pi[(o, h)])
            xk, c = g(x, k, h), float(hurdle.get(k, 0.0))
            c += etsr_ghg_term(area_of, mus, o, e, h) if area_of else 0.0
            at_max = float(xmax.get((k, h), 0.0)) - xk <= 10 * ctx.tol
            row_k, row_kb = slack(k, kb, h) <= 10 * ctx.tol, slack(kb, k, h) <= 10 * ctx.tol
            if duals:
                nu, beta = g(t["etsr_dual"], k, h), g(t["gross_bound_dual"], k, h)
                nub = g(t["etsr_dual"], kb, h) if kb is not None else None
                for name, v, ok in (("ν (ETSR row dual)", nu, row_k),
                                    ("β (gross-bound dual)", beta, at_max)):
                    if v < -ptol or (v > ptol and not ok):
                        ctx.add("etsr_price", "transfers", "interface", k, h, v, 0.0,
                                f"{name} {v:.6g} $/MWh " + ("is negative" if v < 0 else
                                                            "on a constraint that does not bind"))
                if "shadow_price" in t.columns:
                    sp = g(t["shadow_price"], k, h)
                    if abs(sp - nu - beta) > ptol:
                        ctx.add("etsr_price", "transfers", "interface", k, h, sp, nu + beta,
                                f"shadow_price {sp:.6g} ≠ ν + β = {nu + beta:.6g}")
                if nub is None and row_kb:
                    continue  # the undeclared reverse row binds: its dual is not published
                rhs = c + nu - (nub or 0.0) + beta + lam.get((o, h), 0.0) - lam.get((e, h), 0.0)
                d = rhs - spread
                if d < -ptol or (xk > ctx.tol and d > ptol):
                    ctx.add("etsr_price", "baa_prices", "interface", k, h, spread, rhs,
                            f"π_{e} − π_{o} = {spread:.6g} but hurdle (± μ) + ν − ν̄ + β + λ_o − λ_e = "
                            f"{rhs:.6g} (x = {xk:.6g} MW)")
                continue
            if lam.get((o, h), 0.0) or lam.get((e, h), 0.0):
                continue  # a binding NEC moves the BAA prices apart (§6.1)
            if not row_k and not at_max and spread - c > ptol:
                ctx.add("etsr_price", "baa_prices", "interface", k, h, spread, c,
                        f"π_{e} − π_{o} = {spread:.6g} above the hurdle {c:.6g} while the ETSR "
                        f"{o}→{e} binds in neither its row nor its gross bound")
            if xk > ctx.tol and not row_kb and c - spread > ptol:
                ctx.add("etsr_price", "baa_prices", "interface", k, h, spread, c,
                        f"x = {xk:.6g} MW flows {o}→{e} but π_{e} − π_{o} = {spread:.6g} is "
                        f"below the hurdle {c:.6g}")


def check_transfer_revenue(ctx: Context) -> None:
    """§6.1 and the results contract: transfers.transfer_revenue_usd = x_k (π_e − π_o)."""
    tr = ctx.transfers("transfers")
    if tr is None or not len(tr):
        return
    if "transfer_revenue_usd" not in tr.columns:
        ctx.add("transfer_revenue", "transfers", "table", "transfers", None, float("nan"),
                float("nan"), "the contract column transfer_revenue_usd is missing")
        return
    pi = baa_price(ctx)
    if pi is None:
        ctx.skipped.append("transfer_revenue: no BAA prices")
        return
    from clearing.analysis.check.ghg import areas as ghg_areas, etsr_ghg_term, mu as ghg_mu
    area_of, mus = ghg_areas(ctx), (ghg_mu(ctx) or {})
    for k, h, o, e, x, v in zip(tr["interface"], tr["hour"], tr["from_baa"].astype(str),
                                tr["to_baa"].astype(str), tr["mw"].astype(float),
                                tr["transfer_revenue_usd"].astype(float)):
        if (o, h) in pi.index and (e, h) in pi.index:
            # §5.13: net of the GHG component, which funds the GHG payments
            want = x * (float(pi[(e, h)] - pi[(o, h)])
                        - (etsr_ghg_term(area_of, mus, o, e, h) if area_of else 0.0))
            if abs(v - want) > 1e-2 + 1e-6 * abs(want):
                ctx.add("transfer_revenue", "transfers", "interface", k, h, v, want,
                        f"transfer_revenue_usd {v:.6g} ≠ x·(π_e − π_o) = {want:.6g}")


def check_revenue_adequacy(ctx: Context) -> None:
    """Revenue adequacy per hour: the rent on what the market chooses, Σ_n LMP_n·(−inj_n) −
    Σ_k X^base_kt·(π_e(k),t − π_o(k),t) + the IR surplus (`ir_surplus`) ≥ 0 (a DC market whose limits are non-negative collects
    at least what it pays, §5.3, §6.1); inj as in branch_limit. Base transfers (§5.1, §5.2) are
    fixed schedules the market does not choose: they shift each BAA's balance like fixed demand
    in o(k) and supply in e(k), so a base transfer against the price spread moves Σ LMP·withdrawal
    by X^base·(π_e − π_o) < 0 with no rent row to pay for it; that spread is taken out (it is the
    base transfer's own settlement at the BAA prices)."""
    npx = ctx.run.tables.get("nodal_prices")
    if ctx.sched is None or npx is None or "lmp" not in npx.columns:
        ctx.skipped.append("revenue_adequacy: needs schedules and nodal_prices")
        return
    lmp = npx.assign(bus=npx["bus"].astype(str), hour=npx["hour"].astype(int)).pivot_table(
        index="bus", columns="hour", values="lmp", aggfunc="first")
    buses = list(lmp.index)
    # the market's own withdrawals (not the losses withdrawn in the flow calculation): with
    # marginal losses the rent includes the marginal-loss surplus ≈ Σ_b π_b·L_b (≥ 0 where
    # the BAA prices are)
    inj = ctx.injections(buses, withdraw_losses=False).reindex(columns=lmp.columns).fillna(0.0)
    rent = -(lmp * inj).sum(axis=0)
    scale = (lmp.abs() * inj.abs()).sum(axis=0)
    base = base_transfer_spread(ctx)
    if base is None and _has_base_transfers(ctx):
        ctx.skipped.append("revenue_adequacy: base transfers but no BAA prices")
        return
    ir = ir_surplus(ctx)
    for h, v in rent.items():
        spread, size = (base or {}).get(int(h), (0.0, 0.0))
        ir_v, ir_size = ir.get(int(h), (0.0, 0.0))
        v = float(v) - spread + ir_v
        if v < -(1e-2 + 1e-6 * (float(scale[h]) + size + ir_size)):
            ctx.add("revenue_adequacy", "nodal_prices", "hour", "all", h, v, 0.0,
                    f"congestion + transfer rent Σ LMP·withdrawal − Σ X^base·(π_e − π_o) + IR "
                    f"surplus {ir_v:.6g} = {v:.6g} $ is negative")


def ir_surplus(ctx: Context) -> dict[int, tuple[float, float]]:
    """{hour: (Σ_b ρ_b·cleared_b − Σ_i IRUMP_i·IRU_i − Σ_i IRDMP_i·IRD_i, a scale)}: what
    load pays for imbalance reserve less what resources are paid (§6.3, §8.1). IR transfers share
    the ETSR rows with energy (x_k − x_k̄ + yU_k + yD_k̄ ≤ X^max_k), so the ETSR rent is split
    between the two products: a transfer against the energy price spread that carries IRD over
    an undeclared reverse direction is paid for by the IR price spread (random markets, issue
    16). Deployment-row rent sits in the IRUMP/IRDMP adders and is counted here too. Empty
    without the IR tables."""
    pp = product_price(ctx)
    rp = ctx.run.tables.get("resource_prices")
    bs = ctx.run.tables.get("baa_summary")
    if pp is None or rp is None or bs is None or ctx.sched is None:
        return {}
    out: dict[int, tuple[float, float]] = {}
    for prod in ("iru", "ird"):
        col = f"{prod}_cleared_mw"
        if col not in bs.columns or f"{prod}_usd_per_mwh" not in rp.columns:
            continue
        for b, h, q in zip(bs["baa"].astype(str), bs["hour"].astype(int),
                           bs[col].astype(float).fillna(0.0)):
            price = float(pp.get((b, prod, h), 0.0))
            v, z = out.get(h, (0.0, 0.0))
            out[h] = (v + price * q, z + abs(price * q))
        award = ctx.sched[f"{prod}_mw"]
        for r, h, price in zip(rp["resource"].astype(str), rp["hour"].astype(int),
                               rp[f"{prod}_usd_per_mwh"].astype(float).fillna(0.0)):
            if r in award.index and h in award.columns:
                q = float(award.at[r, h])
                v, z = out.get(h, (0.0, 0.0))
                out[h] = (v - price * q, z + abs(price * q))
    return out


def _has_base_transfers(ctx: Context) -> bool:
    ih = ctx.s.tables.get("interface_hours")
    return ih is not None and len(ih) and bool((ih["base_transfer_mw"].astype(float) != 0).any())


def base_transfer_spread(ctx: Context) -> dict[int, tuple[float, float]] | None:
    """{hour: (Σ_k X^base_kt·(π_e(k),t − π_o(k),t), Σ_k |X^base_kt|·(|π_e| + |π_o|))}: the base
    transfers valued at the BAA prices π (§6.1) and a scale for the tolerance; None without
    BAA prices."""
    pi = baa_price(ctx)
    if pi is None:
        return None
    ih, itf = ctx.s.tables.get("interface_hours"), ctx.s.interfaces
    out: dict[int, tuple[float, float]] = {}
    if ih is None or not len(ih):
        return out
    ends = {str(k): (str(o), str(e)) for k, o, e in
            zip(itf["interface"], itf["from_baa"], itf["to_baa"])}
    for k, h, xb in zip(ih["interface"].astype(str), ih["hour"].astype(int),
                        ih["base_transfer_mw"].astype(float)):
        if xb == 0 or k not in ends:
            continue
        o, e = ends[k]
        po, pe = float(pi.get((o, h), 0.0)), float(pi.get((e, h), 0.0))
        s, z = out.get(h, (0.0, 0.0))
        out[h] = (s + xb * (pe - po), z + abs(xb) * (abs(pe) + abs(po)))
    return out


def check_reserve_prices(ctx: Context) -> None:
    """§6.2–6.4, §4.3, §11.10 price relations of the reserve products:
    AS: σ^NR = ASMP^NR, σ^SR = ASMP^SR − ASMP^NR, σ^RU = ASMP^RU − ASMP^SR, σ^RD = ASMP^RD each in
    [0, P^a], and = P^a where that AS requirement is relaxed; IR (default one-segment curve, no
    `ir_demand_curves`): ρ ≤ Cap where any IR is cleared, ρ = Cap where some is relaxed;
    IRUMP_i = ρ_b − δ Σ_l η^U_l (PTDF_{l,n(i)} − PTDF^LDF_{l,b}) (IRD: + δ Σ η^D ...) with η from
    `binding_constraints` (deployment kinds, signed by the flow); RC: RCDMP_i = −RCUMP_i, and the
    RUC BAA price = P^R+ (−P^R−) where RUC under- (over-) supply is relaxed."""
    pp = product_price(ctx)
    if pp is None:
        ctx.skipped.append("reserve_price: no product_prices table")
        return
    p = ctx.p
    ptol = 1e-4
    pen = {"ru": p.penalty_reg_up_usd_per_mwh, "sr": p.penalty_spin_usd_per_mwh,
           "nr": p.penalty_nonspin_usd_per_mwh, "rd": p.penalty_reg_down_usd_per_mwh}
    relax = {a: ctx.relaxed("as", a) for a in pen}
    baas = sorted(ctx.s.baas["baa"].astype(str))

    def price(b, prod, h):
        return float(pp.get((b, prod, h), 0.0))
    for b in baas:
        for h in ctx.hours:
            asmp = {a: price(b, a, h) for a in pen}
            sigma = {"nr": asmp["nr"], "sr": asmp["sr"] - asmp["nr"],
                     "ru": asmp["ru"] - asmp["sr"], "rd": asmp["rd"]}
            for a, v in sigma.items():
                lim = float(pen[a])
                rel = float(relax[a].get((b, h), 0.0)) if len(relax[a]) else 0.0
                if v < -ptol or v - lim > ptol:
                    ctx.add("reserve_price", "product_prices", "baa", b, h, v,
                            0.0 if v < 0 else lim,
                            f"AS shadow price σ^{a.upper()} = {v:.6g} (from the cascaded "
                            f"ASMPs) outside [0, penalty {lim:.6g}]")
                elif rel > 10 * ctx.tol and abs(v - lim) > ptol:
                    ctx.add("reserve_price", "product_prices", "baa", b, h, v, lim,
                            f"{a.upper()} relaxed by {rel:.6g} MW but σ^{a.upper()} = {v:.6g} "
                            f"≠ its penalty {lim:.6g}")
    bs = ctx.run.tables.get("baa_summary")
    curves = ctx.s.tables.get("ir_demand_curves")
    cap = float(p.ir_demand_curve_cap_usd_per_mwh)
    if bs is not None and (curves is None or not len(curves)):
        for rec in bs.to_dict("records"):
            b, h = str(rec["baa"]), int(rec["hour"])
            for prod in ("iru", "ird"):
                clr = float(nan_to(rec.get(f"{prod}_cleared_mw"), 0.0))
                rel = float(nan_to(rec.get(f"{prod}_relaxed_mw"), 0.0))
                v = price(b, prod, h)
                if rel > 10 * ctx.tol and abs(v - cap) > ptol:
                    ctx.add("reserve_price", "product_prices", "baa", b, h, v, cap,
                            f"{prod.upper()} relaxed by {rel:.6g} MW: the requirement price "
                            f"{v:.6g} must equal the one-segment curve's price {cap:.6g}")
                elif clr > 10 * ctx.tol and v - cap > ptol:
                    ctx.add("reserve_price", "product_prices", "baa", b, h, v, cap,
                            f"{prod.upper()} cleared {clr:.6g} MW at a requirement price "
                            f"{v:.6g} above the curve's price {cap:.6g}")
    elif curves is not None and len(curves):
        ctx.skipped.append("reserve_price: IR prices against ir_demand_curves not re-checked")
    _check_irump(ctx, pp)
    _check_rc_prices(ctx)


def _deployment_duals(ctx: Context) -> dict[str, dict[tuple[str, int], float]]:
    """η^σ_l net (η+ − η−, signed by the reported flow) by (branch, hour) for σ = up/down."""
    bc = ctx.run.tables.get("binding_constraints")
    out: dict[str, dict[tuple[str, int], float]] = {"up": {}, "down": {}}
    if bc is None or not len(bc):
        return out
    for c, h, kind, sp, f in zip(bc["constraint"].astype(str), bc["hour"], bc["kind"].astype(str),
                                 bc["shadow_price"].astype(float), bc["flow_mw"].astype(float)):
        k = kind.lower()
        if "dep" not in k:
            continue
        d = "up" if "up" in k else "down"
        out[d][(c, int(h))] = out[d].get((c, int(h)), 0.0) + sp * (1.0 if f >= 0 else -1.0)
    return out


def _check_irump(ctx: Context, pp: pd.Series) -> None:
    rp = ctx.run.tables.get("resource_prices")
    if rp is None or not {"iru_usd_per_mwh", "ird_usd_per_mwh"} <= set(rp.columns):
        ctx.skipped.append("reserve_price (IRUMP/IRDMP): no resource_prices")
        return
    eta = _deployment_duals(ctx)
    delta = float(ctx.p.ir_deployed_proportion)
    shift: dict[str, pd.DataFrame] = {}
    if any(eta.values()) and delta:
        from network.ptdf import ldf_ptdf, scenario_ptdf
        ptdf = scenario_ptdf(ctx.s)
        lp = ldf_ptdf(ptdf, ctx.s.ldf.rename(index=str),
                      {str(k): str(v) for k, v in ctx.s.bus_baa.items()})
        for d, e in eta.items():
            if not e:
                continue
            # Σ_l η_l (PTDF_{l,n} − PTDF^LDF_{l,b}) per (bus, hour)
            rows = {}
            for (l, h), v in e.items():
                row = ptdf.row(l)
                for n in ptdf.bus_ids:
                    b = str(ctx.s.bus_baa[n])
                    lv = float(lp.at[l, b]) if l in lp.index and b in lp.columns else 0.0
                    rows[(str(n), h)] = rows.get((str(n), h), 0.0) + v * (row.get(n, 0.0) - lv)
            shift[d] = rows
    bus_of = ctx.res["bus"].astype(str)
    baa_of = ctx.res["baa"].astype(str)
    for rec in rp.to_dict("records"):
        r, h = str(rec["resource"]), int(rec["hour"])
        if r not in bus_of.index:
            continue
        n, b = bus_of[r], baa_of[r]
        for prod, d, sign in (("iru", "up", -1.0), ("ird", "down", 1.0)):
            want = float(pp.get((b, prod, h), 0.0)) + sign * delta * \
                shift.get(d, {}).get((n, h), 0.0)
            got = float(nan_to(rec.get(f"{prod}_usd_per_mwh"), 0.0))
            if abs(got - want) > 1e-4 * max(1.0, abs(want)):
                ctx.add("reserve_price", "resource_prices", "resource", r, h, got, want,
                        f"{prod.upper()}MP {got:.6g} ≠ ρ_b {'−' if sign < 0 else '+'} δ·Σ η·"
                        f"(PTDF − PTDF^LDF) = {want:.6g} (§6.3)")


def _ruc_price_at_buses(ctx: Context) -> dict[tuple[str, int], float] | None:
    """RUC price_nt = π^R_b(n) − Σ_l PTDF_ln·μR_l (§6.4), μR from the `branch_ruc` rows of
    `binding_constraints` signed by their flow, π^R from `baa_prices.ruc_price`; None when a
    table is missing."""
    bp, bc = ctx.run.tables.get("baa_prices"), ctx.run.tables.get("binding_constraints")
    if bp is None or "ruc_price" not in bp.columns or bc is None:
        return None
    pir = {(str(b), int(h)): float(v) for b, h, v in
           zip(bp["baa"], bp["hour"], bp["ruc_price"])}
    ruc = bc[bc["kind"].astype(str) == "branch_ruc"]
    cong: dict[tuple[str, int], float] = {}
    if len(ruc):
        from network.ptdf import scenario_ptdf
        ptdf = scenario_ptdf(ctx.s)
        for c, h, sp, f in zip(ruc["constraint"].astype(str), ruc["hour"].astype(int),
                               ruc["shadow_price"].astype(float), ruc["flow_mw"].astype(float)):
            mu = sp * (1.0 if f >= 0 else -1.0)
            for n, v in ptdf.row(c).items():
                cong[(str(n), h)] = cong.get((str(n), h), 0.0) + v * mu
    out = {}
    for n, b in ctx.s.bus_baa.items():
        for h in ctx.hours:
            if (str(b), h) in pir:
                out[(str(n), h)] = pir[(str(b), h)] - cong.get((str(n), h), 0.0)
    return out


def _ruc_load_aggregate_price(ctx: Context) -> dict[tuple[str, int], float]:
    """Σ_n LDF_n·RUC price_nt over the BAA's buses (§6.4): the price of the RUC balance slack,
    which is spread over the BAA's buses by LDF and so enters the RUC branch rows too (§5.11);
    where it is relaxed this, not π^R alone, equals the penalty. Empty when the bus prices cannot
    be formed."""
    price = _ruc_price_at_buses(ctx)
    if price is None:
        return {}
    ldf = ctx.s.ldf.rename(index=str)
    out: dict[tuple[str, int], float] = {}
    for (n, h), v in price.items():
        b = {str(k): str(a) for k, a in ctx.s.bus_baa.items()}.get(n, "")
        w = float(ldf.get(n, 0.0))
        if w:
            out[(b, h)] = out.get((b, h), 0.0) + w * v
    return out


def _check_rc_prices(ctx: Context) -> None:
    rp = ctx.run.tables.get("resource_prices")
    if rp is not None and {"rcu_usd_per_mwh", "rcd_usd_per_mwh"} <= set(rp.columns):
        up, dn = rp["rcu_usd_per_mwh"].astype(float), rp["rcd_usd_per_mwh"].astype(float)
        # RCDMP = −RCUMP (§6.4) where both are reported; a product without an award in the
        # BAA-hour reports 0 (§6.4 [A]), so one of the pair may be 0
        bad = ((up + dn).abs() > 1e-4) & (up.abs() > 1e-4) & (dn.abs() > 1e-4)
        for rec in rp[bad].to_dict("records"):
            ctx.add("reserve_price", "resource_prices", "resource", rec["resource"], rec["hour"],
                    float(rec["rcd_usd_per_mwh"]), -float(rec["rcu_usd_per_mwh"]),
                    f"RCDMP {rec['rcd_usd_per_mwh']:.6g} ≠ −RCUMP {-rec['rcu_usd_per_mwh']:.6g} "
                    f"(§6.4)")
        price = _ruc_price_at_buses(ctx)
        if price is not None:
            bus_of = ctx.res["bus"].astype(str)
            for rec in rp.to_dict("records"):
                r, h = str(rec["resource"]), int(rec["hour"])
                if r not in bus_of.index or (bus_of[r], h) not in price:
                    continue
                want = price[(bus_of[r], h)]
                for col, sign, name in (("rcu_usd_per_mwh", 1.0, "RCUMP"),
                                        ("rcd_usd_per_mwh", -1.0, "RCDMP")):
                    got = float(nan_to(rec.get(col), 0.0))
                    if abs(got) > 1e-4 and abs(got - sign * want) > 1e-4 * max(1.0, abs(want)):
                        ctx.add("reserve_price", "resource_prices", "resource", r, h, got,
                                sign * want, f"{name} {got:.6g} ≠ {'' if sign > 0 else '−'}RUC "
                                f"price π^R − Σ PTDF·μR = {sign * want:.6g} (§6.4)")
        if ctx.sched is not None:
            baa = ctx.res["baa"].astype(str)
            awarded = {(b, h) for prod in ("rcu_mw", "rcd_mw")
                       for (b, h), v in ctx.sched[prod].groupby(baa).sum().stack().items()
                       if v > 1e-6}
            idle = [(i, b, h) for i, (b, h) in enumerate(zip(rp["baa"].astype(str),
                                                               rp["hour"].astype(int)))
                    if (b, h) not in awarded and (abs(up.iat[i]) > 1e-4 or abs(dn.iat[i]) > 1e-4)]
            for i, b, h in idle:
                ctx.add("reserve_price", "resource_prices", "resource", rp["resource"].iat[i],
                        h, float(up.iat[i]), 0.0,
                        f"RC prices {up.iat[i]:.6g}/{dn.iat[i]:.6g} reported in BAA {b}, which "
                        f"has no RC award in the hour (§6.4: 0)")
    bp = ctx.run.tables.get("baa_prices")
    if bp is None or "ruc_price" not in bp.columns or not ctx.ruc_ran():
        return
    hi, lo = float(ctx.p.penalty_ruc_under_usd_per_mwh), -float(ctx.p.penalty_ruc_over_usd_per_mwh)
    under, over = ctx.relaxed("ruc", "under"), ctx.relaxed("ruc", "over")
    aggregate = _ruc_load_aggregate_price(ctx)
    for b, h, v in zip(bp["baa"].astype(str), bp["hour"].astype(int),
                       bp["ruc_price"].astype(float)):
        u = float(under.get((b, h), 0.0)) if len(under) else 0.0
        o = float(over.get((b, h), 0.0)) if len(over) else 0.0
        agg = aggregate.get((b, h), v)
        for amount, lim, what in ((u, hi, "under"), (o, lo, "over")):
            if amount > 10 * ctx.tol and abs(agg - lim) > 1e-4 * max(1.0, abs(lim)):
                ctx.add("reserve_price", "baa_prices", "baa", b, h, agg, lim,
                        f"RUC {what}-supply relaxed by {amount:.6g} MW but the load-aggregate "
                        f"RUC price Σ LDF·(π^R − Σ PTDF·μR) = {agg:.6g} (π^R {v:.6g}) ≠ the "
                        f"penalty {lim:.6g}")
        if agg - hi > 1e-4 * hi or lo - agg > 1e-4 * abs(lo):
            ctx.add("reserve_price", "baa_prices", "baa", b, h, agg, hi if agg > hi else lo,
                    f"load-aggregate RUC price {agg:.6g} (π^R {v:.6g}) outside the RUC penalty "
                    f"range [{lo:.6g}, {hi:.6g}]")


def price_range_bounds(ctx: Context) -> dict[str, tuple[float, float]]:
    """The range each price family can take from bids alone (issue 22), $/MWh: energy (LMPs, BAA
    prices) the energy bid floor and cap, widened to [−P^PB−, P^PB+] where the balance penalties
    are wider; AS (ASMPs) [0, AS bid cap]; IR (requirement prices ρ, IRUMP/IRDMP) [0, Cap^IR]
    (the largest `ir_demand_curves` price when given); RC (RUC price, RCUMP/RCDMP) ± the RC bid
    cap (RCU bids set it up to the cap, RCD bids down to −cap)."""
    from scenarios.schema import (AS_RC_BID_CAP_USD_PER_MWH, ENERGY_BID_CAP_USD_PER_MWH,
                                  ENERGY_BID_FLOOR_USD_PER_MWH)
    p = ctx.p
    ir_cap = float(p.ir_demand_curve_cap_usd_per_mwh)
    curves = ctx.s.tables.get("ir_demand_curves")
    if curves is not None and len(curves):
        ir_cap = max(ir_cap, float(curves["price_usd_per_mwh"].astype(float).max()))
    return {
        "energy": (min(ENERGY_BID_FLOOR_USD_PER_MWH,
                       -float(p.penalty_power_balance_over_usd_per_mwh)),
                   max(ENERGY_BID_CAP_USD_PER_MWH,
                       float(p.penalty_power_balance_under_usd_per_mwh))),
        "as": (0.0, AS_RC_BID_CAP_USD_PER_MWH),
        "ir": (0.0, ir_cap),
        "rc": (-AS_RC_BID_CAP_USD_PER_MWH, AS_RC_BID_CAP_USD_PER_MWH),
    }


def _hours_coupled(ctx: Context) -> bool:
    """Whether rows link hours (finite ramps of thermal or hydro units, storage, hydro daily
    energy, thermal min up/down): then an hour's price may carry another hour's penalty."""
    res = ctx.res
    kinds = set(res["type"].astype(str))
    if kinds & {"storage", "hydro"} or (len(ctx.hours) > 1 and "thermal" in kinds):
        return len(ctx.hours) > 1
    return False


def _ir_curve_baa_hours(ctx: Context) -> set[tuple[str, str, int]]:
    """(baa, iru/ird, hour) with an IR demand curve: a positive requirement or `ir_demand_curves`
    rows (§5.7). Elsewhere the requirement row reads C_b ≥ 0 with no shortfall priced at Cap^IR,
    so its price ρ is bounded by nothing but 0 (it values IR credit passed on through the ETSR,
    NEC and deployment rows)."""
    out: set[tuple[str, str, int]] = set()
    bh = ctx.s.baa_hours
    for prod in ("iru", "ird"):
        col = f"{prod}_requirement_mw"
        if col in bh.columns:
            out |= {(str(b), prod, int(h)) for b, h, v in
                    zip(bh["baa"], bh["hour"], bh[col].astype(float)) if v > 0}
    curves = ctx.s.tables.get("ir_demand_curves")
    if curves is not None and len(curves):
        out |= {(str(b), str(p).lower(), int(h)) for b, p, h in
                zip(curves["baa"], curves["product"], curves["hour"])}
    return out


def _rc_award_baa_hours(ctx: Context) -> set[tuple[str, int]]:
    """BAA-hours with an RCU or RCD award (§6.4: RC prices are published only there)."""
    if ctx.sched is None:
        return set()
    rc = (ctx.sched["rcu_mw"] + ctx.sched["rcd_mw"]).groupby(ctx.res["baa"].astype(str)).sum()
    return {(str(b), int(h)) for b in rc.index for h in rc.columns
            if float(rc.at[b, h]) > ctx.tol}


def check_price_range(ctx: Context) -> None:
    """Issue 22: a price outside the range its bids alone can set (`price_range_bounds`) must be
    explained by a relaxation reported in that hour, each family by its own:
    LMP, BAA energy price — a power-balance, base-case or deployment relaxation (any BAA: a
    penalty spreads through the network and the ETSRs) or a binding branch row
    (`binding_constraints` branch_*, or an import/export tie row tie_*, §5.5, which couples
    resources the same way) in the hour: under congestion an LMP is an affine
    combination of marginal bids whose weights can be negative (two marginal units at 50 and
    109.55 $/MWh and two binding lines price a third bus at −161.2 with nothing relaxed; random
    markets, issue 16), and π_b is the price at the BAA's slack reference, not a bid. The ELAP,
    which prices the balance slacks, stays within [−P^PB−, P^PB+] regardless (`elap_bounds`);
    AS price of a BAA — an AS relaxation in
    that BAA-hour or an energy relaxation in the hour (opportunity cost); IR requirement price —
    nothing (the IR shortfall is priced by the demand curve itself, §4.3, so ρ never leaves
    [0, Cap^IR] in a BAA that exports no IR of the product: an exporter's ρ is the exported IR's
    value, `_ir_exporting_baa_hours`); IRUMP/IRDMP — a deployment relaxation or a binding deployment row
    (`binding_constraints` branch_dep_*) in the hour (§6.3); RUC price, RCUMP/RCDMP and the BAA
    RC prices — a RUC balance or RUC branch relaxation, or (resource prices) a binding
    `branch_ruc` row, in the hour (§6.4); the BAA's RUC and RC prices only in BAA-hours with an
    RC award (elsewhere they price nothing and a RUC without RC bids is dual degenerate: any
    value in [−P^R−, P^R+] is a valid dual). The exact relations at the penalties are checked by
    `reserve_price` and `elap_bounds`."""
    bounds = price_range_bounds(ctx)
    rel = ctx.rel[ctx.rel["relaxed_mw"] > ctx.tol]

    def hours(*cats: str) -> set[int]:
        return set(rel.loc[rel["category"].isin(cats), "hour"].astype(int))
    coupled = _hours_coupled(ctx)

    def day_if_coupled(hs: set[int]) -> set[int]:
        """Where rows link the hours (ramps, SOC — the RUC's SOC shift too —, daily hydro energy,
        min up/down) a penalty or binding row in hour t' can price hour t: one more MW in t may
        need a relaxation in t' (random markets, issue 16; B's RUC price $1,000 in hour 3 with
        the RUC relaxed in another hour)."""
        return set(ctx.hours) if hs and coupled else hs
    energy_h = day_if_coupled(hours("pb", "branch", "deployment"))
    ruc_h = day_if_coupled(hours("ruc", "ruc_branch"))
    as_bh = {(str(b), int(h)) for b, h in
             zip(rel.loc[rel["category"] == "as", "id"], rel.loc[rel["category"] == "as", "hour"])}
    bc = ctx.run.tables.get("binding_constraints")
    kinds = (pd.Series(dtype=str), pd.Series(dtype=int)) if bc is None or not len(bc) else \
        (bc["kind"].astype(str), bc["hour"].astype(int))
    dep_h = {h for k, h in zip(*kinds) if k.startswith("branch_dep")} | hours("deployment")
    energy_h |= day_if_coupled(
        {h for k, h in zip(*kinds) if k.startswith("branch") or k in TIE_KINDS})
    ruc_bind_h = {h for k, h in zip(*kinds)
                  if k == "branch_ruc" or k in {t + "_ruc" for t in TIE_KINDS}} | ruc_h
    energy_why = "power-balance, base-case or deployment relaxation or binding branch row"
    # (table, kind, id, hour, value, family, explained, what explains it, price name)
    items: list[tuple[str, str, str, int, float, str, bool, str, str]] = []
    npx = ctx.run.tables.get("nodal_prices")
    if npx is not None and "lmp" in npx.columns:
        items += [("nodal_prices", "bus", str(n), int(h), float(v), "energy", int(h) in energy_h,
                   energy_why, "LMP") for n, h, v in zip(npx["bus"], npx["hour"], npx["lmp"])]
    bp = ctx.run.tables.get("baa_prices")
    pi = baa_price(ctx)
    if pi is not None:
        items += [("baa_prices", "baa", b, int(h), float(v), "energy", int(h) in energy_h,
                   energy_why, "BAA energy price") for (b, h), v in pi.items()]
    rc_bh = _rc_award_baa_hours(ctx)
    if bp is not None and "ruc_price" in bp.columns:
        items += [("baa_prices", "baa", str(b), int(h), float(v), "rc", int(h) in ruc_h,
                   "RUC relaxation", "RUC price")
                  for b, h, v in zip(bp["baa"], bp["hour"], bp["ruc_price"].astype(float))
                  if (str(b), int(h)) in rc_bh]
    pp = product_price(ctx)
    ir_curve_bh = _ir_curve_baa_hours(ctx)
    ir_exporting = _ir_exporting_baa_hours(ctx)
    for (b, prod, h), v in ([] if pp is None else pp.items()):
        if prod in ("ru", "sr", "nr", "rd"):
            items.append(("product_prices", "baa", b, h, float(v), "as",
                          (b, h) in as_bh or h in energy_h, "AS or energy relaxation",
                          f"{prod.upper()} price"))
        elif prod in ("iru", "ird"):
            # ρ ≥ 0 still holds; an exporter's ρ is the exported IR's value (ir_price_cap)
            free = ((b, prod, h) not in ir_curve_bh or (b, prod, h) in ir_exporting) \
                and float(v) >= -1e-4
            items.append(("product_prices", "baa", b, h, float(v), "ir", free, "",
                          f"{prod.upper()} requirement price"))
        elif prod in ("rcu", "rcd") and (b, h) in rc_bh:
            items.append(("product_prices", "baa", b, h, float(v), "rc", h in ruc_h,
                          "RUC relaxation", f"{prod.upper()} price"))
        elif prod == "energy" and pi is None:
            items.append(("product_prices", "baa", b, h, float(v), "energy", h in energy_h,
                          energy_why, "energy price"))
    rp = ctx.run.tables.get("resource_prices")
    baa_of = {str(r): str(b) for r, b in ctx.res["baa"].items()}
    if rp is not None:
        for col, fam, why_h, why, name in (
                ("iru_usd_per_mwh", "ir", dep_h, "deployment relaxation or binding deployment row",
                 "IRUMP"),
                ("ird_usd_per_mwh", "ir", dep_h, "deployment relaxation or binding deployment row",
                 "IRDMP"),
                ("rcu_usd_per_mwh", "rc", ruc_bind_h, "RUC relaxation or binding RUC branch row",
                 "RCUMP"),
                ("rcd_usd_per_mwh", "rc", ruc_bind_h, "RUC relaxation or binding RUC branch row",
                 "RCDMP")):
            if col in rp.columns:
                prod = col[:3]
                items += [("resource_prices", "resource", str(r), int(h), float(v), fam,
                           int(h) in why_h or (baa_of.get(str(r)), prod, int(h)) in ir_exporting,
                           why, name)
                          for r, h, v in zip(rp["resource"], rp["hour"], rp[col].astype(float))
                          if not np.isnan(v)]
    for table, kind, ident, h, v, fam, explained, why, name in items:
        lo, hi = bounds[fam]
        out_hi = v - hi > 1e-4 * max(1.0, abs(hi))
        out_lo = lo - v > 1e-4 * max(1.0, abs(lo))
        if (out_hi or out_lo) and not explained:
            ctx.add("price_range", table, kind, ident, h, v, hi if out_hi else lo,
                    f"{name} {v:.6g} $/MWh outside its bid range [{lo:.6g}, {hi:.6g}] " +
                    (f"with no {why} reported in the hour" if why else
                     "(no relaxation explains it: the IR shortfall is priced by the demand curve "
                     "itself, §4.3)"))
