"""Price rules (§6): LMP decomposition, ELAP range, IR price cap, ETSR price separation, reserve
price relations, revenue adequacy, prices explained by relaxations."""

from __future__ import annotations

import numpy as np

from clearing.check.context import Context, nan_to


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
        for rec in bs.to_dict("records"):
            for prod in ("iru", "ird"):
                rel = float(nan_to(rec.get(f"{prod}_relaxed_mw", 0.0), 0.0))
                key = (str(rec["baa"]), prod, int(rec["hour"]))
                if rel > ctx.tol and key in price.index:
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
    comp = [c for c in ("energy", "congestion", "loss") if c in npx.columns]
    if "lmp" in npx.columns and comp:
        parts = npx[comp].fillna(0.0)
        tot = parts.sum(axis=1)
        scale = parts.abs().sum(axis=1)
        dev = (npx["lmp"] - tot).abs()
        for i in np.flatnonzero((dev > 1e-6 + 1e-9 * scale).to_numpy()):
            r = npx.iloc[i]
            ctx.add("lmp_components", "nodal_prices", "bus", r["bus"], r["hour"], r["lmp"],
                    tot.iat[i], f"LMP {r['lmp']:.8g} ≠ energy + congestion + loss "
                    f"{tot.iat[i]:.8g} (off by {dev.iat[i]:.3g})")
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
