"""Market power mitigation rules (§5.12): the published mitigations follow from the scenario's
bids, the non-competitive constraints the run reports and the PTDF.

Read from the scenario only (`Scenario.bids`: the bid of each hour; `noncompetitive_constraints`;
the parameters DAB `ir_rc_default_availability_bid_usd_per_mwh`, DEB
`mpm_default_energy_bid_usd_per_mwh`, δ `ir_deployed_proportion`, N `mpm_pivotal_suppliers`) and
the run's `mpm_mitigations` and `mpm_constraints` (the MPM passes' binding rows; μ signed by
`flow_mw`). The MPM pass's own prices (IRUMP, RCUMP, LMP) are published only on the mitigated
rows (`mpm_price_usd_per_mwh`), so the rule checks the rows that are there, not that every bid
the pass would have mitigated is listed.
"""

from __future__ import annotations

import math

import pandas as pd

from clearing.analysis.check.context import Context

NCC_THRESHOLD_USD_PER_MWH = 0.01
KINDS = {"iru": ("branch_dep_up",), "rcu": ("branch_ruc",),
         "energy": ("branch_base", "branch_dep_up", "branch_dep_down")}
RULE = "mpm_mitigation"


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def _sensitivity(ctx: Context, ptdf, lp, product: str, branch: str, r: str) -> float:
    """c_i of resource r on `branch` (§5.12): IRU δ(PTDF_{l,n} − PTDF^LDF_{l,b}); RCU and energy
    PTDF_{l,n}."""
    n, b = str(ctx.res.at[r, "bus"]), str(ctx.res.at[r, "baa"])
    c = ptdf.row(branch).get(n, 0.0)
    if product == "iru":
        lv = float(lp.at[branch, b]) if branch in lp.index and b in lp.columns else 0.0
        c = float(ctx.p.ir_deployed_proportion) * (c - lv)
    return c


def _check_tests(ctx: Context, cons: pd.DataFrame) -> None:
    """Each tested row's arithmetic and outcome: supply = N largest + residual; competitive iff
    no counter-flow is needed or the residual covers it (source `test`), or iff the branch-hour
    is not listed in `noncompetitive_constraints` (source `supplied`)."""
    listed = None
    t = ctx.s.tables.get("noncompetitive_constraints")
    if t is not None:
        listed = set()
        for c, h in zip(t["constraint"].astype(str), t["hour"].astype(int)):
            listed |= {(c, hh) for hh in ctx.hours} if h == 0 else {(c, h)}
    for rec in cons.to_dict("records"):
        ident = f"{rec['kind']}:{rec['constraint']}:{rec['product']}"
        h = int(rec["hour"])
        need, res = float(rec["counterflow_needed_mw"]), float(rec["residual_supply_mw"])
        total, top = float(rec["counterflow_supply_mw"]), float(rec["largest_supply_mw"])
        comp = bool(rec["competitive"])
        if not _close(total, top + res, 1e-6):
            ctx.add(RULE, "mpm_constraints", "constraint", ident, h, total, top + res,
                    f"counter-flow supply {total:.6g} MW ≠ largest {top:.6g} + residual "
                    f"{res:.6g} MW")
        if str(rec["source"]) == "supplied":
            if listed is None:
                ctx.add(RULE, "mpm_constraints", "constraint", ident, h, 1.0, 0.0,
                        "source 'supplied' but the scenario has no noncompetitive_constraints")
                continue
            want = (str(rec["constraint"]), h) not in listed
        else:
            if listed is not None:
                ctx.add(RULE, "mpm_constraints", "constraint", ident, h, 1.0, 0.0,
                        "source 'test' but the scenario supplies noncompetitive_constraints")
            want = need <= 1e-6 or res >= need - 1e-6
        if comp != want:
            ctx.add(RULE, "mpm_constraints", "constraint", ident, h, float(comp), float(want),
                    f"competitive = {comp} but residual counter-flow {res:.6g} MW vs needed "
                    f"{need:.6g} MW (source {rec['source']}) gives {want} (§5.12)")


def _ncc(ctx: Context, cons: pd.DataFrame, product: str, r: str, h: int) -> float | None:
    """NCC of resource r in hour h from the non-competitive rows of `cons` (§5.12)."""
    nc = cons[(cons["product"].astype(str) == product) & (cons["hour"].astype(int) == h)
              & ~cons["competitive"].astype(bool) & cons["kind"].astype(str).isin(KINDS[product])]
    if not len(nc):
        return 0.0
    from network.ptdf import ldf_ptdf, scenario_ptdf
    if "mpm_ptdf" not in ctx.cache:
        ptdf = scenario_ptdf(ctx.s)
        lp = ldf_ptdf(ptdf, ctx.s.ldf.rename(index=str),
                      {str(k): str(v) for k, v in ctx.s.bus_baa.items()})
        ctx.cache["mpm_ptdf"] = (ptdf, lp)
    ptdf, lp = ctx.cache["mpm_ptdf"]
    total = 0.0
    for l, sp, f in zip(nc["constraint"].astype(str), nc["shadow_price"].astype(float),
                        nc["flow_mw"].astype(float)):
        mu = sp * (1.0 if f >= 0 else -1.0)
        total -= mu * _sensitivity(ctx, ptdf, lp, product, l, r)
    return total


def check_mitigations(ctx: Context) -> None:
    """`mpm_mitigation` (§5.12): every `mpm_mitigations` row lowers the scenario's bid of its
    hour (hour 0: of every hour, to DAB); an lmpm row (hour ≥ 1) has NCC > $0.01 equal to
    −Σ μ_l c_il over the non-competitive rows of `mpm_constraints` in its hour, competitive
    price = pass price − NCC, and mitigated price = min(bid, max(DAB, competitive price))
    (energy: the cap max(DEB, competitive price) below the highest segment); every
    `mpm_constraints` row's test is consistent."""
    mit = ctx.run.tables.get("mpm_mitigations")
    cons = ctx.run.tables.get("mpm_constraints")
    if cons is not None and len(cons):
        _check_tests(ctx, cons)
    if mit is None or not len(mit):
        return
    book = ctx.s.bids
    dab = float(ctx.p.ir_rc_default_availability_bid_usd_per_mwh)
    deb = float(getattr(ctx.p, "mpm_default_energy_bid_usd_per_mwh", 0.0))
    hours = mit["hour"].astype(int) if "hour" in mit.columns else pd.Series(0, index=mit.index)
    for rec, h in zip(mit.to_dict("records"), hours):
        r, prod = str(rec["resource"]), str(rec["product"])
        orig, new = float(rec["original_price_usd_per_mwh"]), float(rec["mitigated_price_usd_per_mwh"])
        ident = f"{r}:{prod}"
        if r not in ctx.res.index:
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h or None, 1.0, 0.0,
                    "a mitigation of a resource not in the scenario")
            continue
        if h == 0:  # ir_rc / cap_all: the day's highest bid price, mitigated to DAB
            prices = [b.price_usd_per_mwh for b in (book.availability(r, prod, t)
                                                    for t in ctx.hours) if b is not None]
            if prod not in ("iru", "rcu") or not prices or not _close(orig, max(prices), 1e-9):
                ctx.add(RULE, "mpm_mitigations", "resource", ident, None, orig,
                        max(prices) if prices else float("nan"),
                        f"original price {orig:.6g} is not the highest {prod.upper()} bid "
                        "price of the day (§5.12)")
            if not (_close(new, dab, 1e-9) and orig > dab):
                ctx.add(RULE, "mpm_mitigations", "resource", ident, None, new, dab,
                        f"a day-long mitigation from {orig:.6g} to {new:.6g}, expected the "
                        f"default availability bid {dab:.6g} below the bid (§5.12)")
            continue
        if prod == "energy":
            curve = book.energy(r, "supply", h)
            bid = max((c for mw, c in curve if mw > 0), default=float("nan"))
            floor = deb
        else:
            b = book.availability(r, prod, h)
            bid = b.price_usd_per_mwh if b is not None else float("nan")
            floor = dab
        if prod not in KINDS or not _close(orig, bid, 1e-9):
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h, orig, bid,
                    f"original price {orig:.6g} is not the hour's {prod} bid {bid:.6g}")
            continue
        ncc = float(rec.get("ncc_usd_per_mwh", float("nan")))
        mp = float(rec.get("mpm_price_usd_per_mwh", float("nan")))
        cp = float(rec.get("competitive_price_usd_per_mwh", float("nan")))
        if not ncc > NCC_THRESHOLD_USD_PER_MWH:
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h, ncc,
                    NCC_THRESHOLD_USD_PER_MWH, f"mitigated with NCC {ncc:.6g} ≤ $0.01 (§5.12)")
        if not (math.isfinite(cp) and _close(cp, mp - ncc, 1e-6)):
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h, cp, mp - ncc,
                    f"competitive price {cp:.6g} ≠ pass price {mp:.6g} − NCC {ncc:.6g}")
        want = max(floor, cp) if prod == "energy" else min(orig, max(floor, cp))
        if not (math.isfinite(new) and _close(new, want, 1e-6)) or not new < orig:
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h, new, want,
                    f"mitigated price {new:.6g} ≠ {'max(DEB' if prod == 'energy' else 'min(bid, max(DAB'}"
                    f", {cp:.6g}) = {want:.6g}, or not below the bid {orig:.6g} (§5.12)")
        if cons is None:
            ctx.skipped.append("mpm_mitigation (NCC): no mpm_constraints table")
            continue
        got = _ncc(ctx, cons, prod, r, h)
        if not _close(ncc, got, 1e-6):
            ctx.add(RULE, "mpm_mitigations", "resource", ident, h, ncc, got,
                    f"NCC {ncc:.6g} ≠ −Σ μ·c over the non-competitive rows of mpm_constraints "
                    f"= {got:.6g} (§5.12)")

