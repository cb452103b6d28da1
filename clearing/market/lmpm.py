"""Local market power mitigation (`mpm_mode = lmpm`, the spec's default; spec §5.12).

The engine (`clearing.market.engine.run_day_ahead`) runs the passes; this module decides, from a
pass's published tables and the scenario only, which bids to mitigate and to what:

1. MPM pass: the IFM (MIP, then pricing LP) with the submitted bids. Its tables are the final
   IFM's when nothing is mitigated (the engine re-clears only when a bid changed).
2. `constraint_tests`: the non-competitive constraints NC among the pass's binding branch rows
   (`binding_constraints`: base `branch_base`, deployment `branch_dep_up`/`branch_dep_down`,
   RUC `branch_ruc`), either a supplied list (the optional scenario table
   `noncompetitive_constraints`: a branch, and an hour or 0 for every hour; a binding row not
   listed is competitive) or the N-pivotal-supplier test on counter-flow below.
3. `mitigate_after_ifm`: each resource's non-competitive IRU congestion component
       NCC^IRU_it = −δ Σ_{l ∈ NC ∩ L^dep} (ηU+_l − ηU−_l)(PTDF_{l,n(i)} − PTDF^LDF_{l,b(i)})
   and, where NCC > $0.01, the hour's IRU bid becomes min(bid, max(DAB, IRUMP_it − NCC_it))
   (IRUMP of the pass, `resource_prices.iru_usd_per_mwh`). Optional energy LMPM
   (`mpm_energy`): NCC^E_nt = −Σ_{l ∈ NC} PTDF_{l,n} μ_l over the NC base and deployment rows
   (the congestion they put into the LMP, §6.1), and every supply segment of the hour above
   max(DEB, LMP − NCC^E) is lowered to it (DEB = `mpm_default_energy_bid_usd_per_mwh`).
   The engine then clears the final IFM with the mitigated bids.
4. `mitigate_after_ruc`: the same for RCU after an unmitigated RUC pass (on the final IFM), with
       NCC^RC_it = −Σ_{l ∈ NC ∩ L^ruc} (μR+_l − μR−_l) PTDF_{l,n(i)}
   and RCUMP_it = π^R_b − Σ_l PTDF_{l,n} μR_l, the RUC price at the bus (§6.4, before the
   reporting rule that shows 0 in a BAA-hour without RC awards); then the final RUC.
IRD and RCD bids are never mitigated [A]. One pass each: the final runs are not tested again.

Shadow prices are read signed from the published rows: μ = shadow_price · sign(flow_mw) (the
row binds at +limit when the flow is positive; spec §6 sign note), as the checker does.

The pivotal-supplier test on counter-flow [A] (spec §5.12 step 2)
------------------------------------------------------------------
Per binding row (branch l, kind, hour t) and product, with c_i the row's sensitivity to the
product of resource i — IRU: δ(PTDF_{l,n(i)} − PTDF^LDF_{l,b(i)}) (deployment on its BAA's load,
§5.9); RCU and energy: PTDF_{l,n(i)} (the price formulas' shift factors, §6.1, §6.4) — the
counter-flow suppliers are the resources with μ·c_i < 0: exactly those whose price the row
raises (NCC > 0), i.e. the ones mitigation would act on. Then

    supply of counter-flow   SCF_s = Σ_{i ∈ s, μ·c_i < 0} |c_i| · Cap_it          (MW of flow)
    counter-flow needed      DCF   = Σ_{i: μ·c_i < 0} |c_i| · award_it           (the pass's use)
    competitive  <=>  DCF ≈ 0  or  Σ_s SCF_s − Σ_{s ∈ N largest} SCF_s ≥ DCF

with suppliers s = scheduling coordinators (ties by name), N = `mpm_pivotal_suppliers`,
Cap_it the capability of `clearing.market.mpm.resource_capability` (IRU: min(bid MW, T^IR·RR^up,
headroom); RCU: min(bid MW, 60·RR^up, headroom)) and for energy the hour's Pmax (VER: forecast;
thermal, VER, storage, hydro and import supply only; virtual bids are not mitigated), and the
award the pass's `iru_mw`, `rcu_mw` or positive `energy_mw`. Rows tested: IRU the `branch_dep_up`
rows (the only ones in NCC^IRU), RCU the `branch_ruc` rows, energy the base and both deployment
kinds. A row that is degenerate between its base and deployment kinds (§6.3: no IR deployed)
carries a solver-dependent split of its shadow price; the test and NCC follow the split the
pass reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clearing.market.mpm import (MITIGATION_COLUMNS, PRICE_TOL, hourly_pmax,
                                 resource_capability)
from network.ptdf import PTDF, ldf_ptdf
from scenarios.bids import resolve_side
from scenarios.build import normalise_table
from scenarios.scenario import Scenario

#: NCC above which a bid is mitigated ($/MWh, spec §5.12)
NCC_THRESHOLD_USD_PER_MWH = 0.01
#: a shift factor (times δ) this small does not make a resource a counter-flow supplier
COEF_TOL = 1e-9
MW_TOL = 1e-6
#: the binding-row kinds (`binding_constraints.kind`) each product's test and NCC use
ROW_KINDS: dict[str, tuple[str, ...]] = {
    "iru": ("branch_dep_up",),
    "rcu": ("branch_ruc",),
    "energy": ("branch_base", "branch_dep_up", "branch_dep_down"),
}
ENERGY_TYPES = ("thermal", "ver", "storage", "hydro", "import")
AWARD_COLUMN = {"iru": "iru_mw", "rcu": "rcu_mw", "energy": "energy_mw"}
PRICE_NAME = {"iru": "IRUMP", "rcu": "RCUMP", "energy": "LMP"}

CONSTRAINT_COLUMNS = ["constraint", "kind", "hour", "product", "stage", "source",
                      "shadow_price", "flow_mw", "limit_mw", "counterflow_needed_mw",
                      "counterflow_supply_mw", "n_suppliers", "largest_suppliers",
                      "largest_supply_mw", "residual_supply_mw", "competitive",
                      "pivotal_suppliers", "supply_by_supplier"]
LMPM_COLUMNS = ["constraints", "pivotal_test", "ncc_usd_per_mwh", "mpm_price_usd_per_mwh",
                "competitive_price_usd_per_mwh"]
#: every column of `mpm_mitigations` (mpm.MITIGATION_COLUMNS, then `hour` and the LMPM ones)
ALL_MITIGATION_COLUMNS = (MITIGATION_COLUMNS[:2] + ["hour"] + MITIGATION_COLUMNS[2:]
                          + LMPM_COLUMNS)


@dataclass
class LmpmStep:
    """What one mitigation step found: the scenario to clear next (the same object when no bid
    changed), the bids it mitigated (`mpm_mitigations` rows) and the rows it tested
    (`mpm_constraints` rows)."""

    scenario: Scenario
    mitigations: pd.DataFrame
    constraints: pd.DataFrame
    changed: bool = field(default=False)


# ---------------------------------------------------------------------------------------------
def empty_constraints() -> pd.DataFrame:
    kinds = dict(hour="int64", shadow_price=float, flow_mw=float, limit_mw=float,
                 counterflow_needed_mw=float, counterflow_supply_mw=float, n_suppliers="int64",
                 largest_supply_mw=float, residual_supply_mw=float, competitive=bool)
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, object)) for c in CONSTRAINT_COLUMNS})


def empty_mitigations() -> pd.DataFrame:
    kinds = dict(hour="int64", original_price_usd_per_mwh=float,
                 mitigated_price_usd_per_mwh=float, mw=float, iso_inserted=bool,
                 ncc_usd_per_mwh=float, mpm_price_usd_per_mwh=float,
                 competitive_price_usd_per_mwh=float)
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, object))
                         for c in ALL_MITIGATION_COLUMNS})


def with_lmpm_columns(mitigations: pd.DataFrame) -> pd.DataFrame:
    """`mpm_mitigations` of the pre-market modes (ir_rc, cap_all) with the columns lmpm adds:
    hour 0 (the mitigation holds every hour), no constraint, `pivotal_test` from the reason,
    NaN prices."""
    out = mitigations.copy()
    out.insert(2, "hour", np.zeros(len(out), dtype="int64"))
    out["constraints"] = ""
    out["pivotal_test"] = ["failed (mpm_test)" if str(r).startswith("ir_rc") else ""
                           for r in out["reason"]]
    for c in ("ncc_usd_per_mwh", "mpm_price_usd_per_mwh", "competitive_price_usd_per_mwh"):
        out[c] = np.nan
    if not len(out):
        return empty_mitigations()
    return out[ALL_MITIGATION_COLUMNS]


def signed_rows(tables: dict, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The binding rows of `kinds` with their signed shadow price μ = shadow_price ·
    sign(flow_mw) (column `mu`)."""
    bc = tables.get("binding_constraints")
    if bc is None or not len(bc):
        return pd.DataFrame(columns=["constraint", "kind", "hour", "shadow_price", "flow_mw",
                                     "limit_mw", "mu"])
    sel = bc[bc["kind"].astype(str).isin(kinds)].copy()
    sel = sel[sel["shadow_price"].astype(float) > 0]
    sel["constraint"] = sel["constraint"].astype(str)
    sel["hour"] = sel["hour"].astype(int)
    sel["mu"] = sel["shadow_price"].astype(float) * np.where(sel["flow_mw"].astype(float) >= 0,
                                                             1.0, -1.0)
    return sel.sort_values(["hour", "kind", "constraint"], kind="stable").reset_index(drop=True)


def sensitivities(scenario: Scenario, ptdf: PTDF, product: str, branches: list[str],
                  resources: list[str]) -> pd.DataFrame:
    """c_i of every `resources` (columns) on every branch in `branches` (rows) for `product`
    (module docstring): IRU δ(PTDF_{l,n(i)} − PTDF^LDF_{l,b(i)}); RCU and energy
    PTDF_{l,n(i)}."""
    res = scenario.resource_frame.set_index("resource")
    bus = [str(res.at[r, "bus"]) for r in resources]
    cols = [ptdf.bus_index(b) for b in bus]
    rows = [ptdf.branch_index(l) for l in branches]
    mat = np.asarray(ptdf.matrix[rows][:, cols].todense()) if rows and cols else \
        np.zeros((len(rows), len(cols)))
    if product == "iru":
        lp = ldf_ptdf(ptdf, scenario.ldf.rename(index=str),
                      {str(k): str(v) for k, v in scenario.bus_baa.items()})
        baa = [str(res.at[r, "baa"]) for r in resources]
        lv = lp.reindex(index=branches, columns=sorted(set(baa))).fillna(0.0)
        mat = mat - lv[baa].to_numpy() if len(baa) else mat
        mat = float(scenario.parameters.ir_deployed_proportion) * mat
    return pd.DataFrame(mat, index=branches, columns=resources)


def capability(scenario: Scenario, product: str) -> pd.DataFrame:
    """Cap_it (resources x hours) and the resources' SCs: IRU/RCU from
    `mpm.resource_capability`; energy the hour's Pmax of the supply types."""
    hours = scenario.hour_list
    if product == "energy":
        res = scenario.resource_frame
        rs = sorted(str(r) for r in res.loc[res["type"].isin(ENERGY_TYPES), "resource"])
        return hourly_pmax(scenario, rs).clip(lower=0.0) if rs else \
            pd.DataFrame(columns=hours, dtype=float)
    f = resource_capability(scenario, product)
    if not len(f):
        return pd.DataFrame(columns=hours, dtype=float)
    return f.pivot_table(index="resource", columns="hour", values="capacity_mw",
                         aggfunc="sum").reindex(columns=hours).fillna(0.0)


def awards(tables: dict, product: str, resources: list[str], hours: list[int]) -> pd.DataFrame:
    """The pass's award of `product` (resources x hours; energy: its positive part)."""
    sch = tables["schedules"]
    col = AWARD_COLUMN[product]
    if col not in sch.columns:
        return pd.DataFrame(0.0, index=resources, columns=hours)
    m = sch.pivot_table(index="resource", columns="hour", values=col, aggfunc="sum")
    m = m.reindex(index=resources, columns=hours).fillna(0.0)
    return m.clip(lower=0.0)


def supplied_list(scenario: Scenario) -> set[tuple[str, int]] | None:
    """(branch, hour) pairs of the optional `noncompetitive_constraints` table (hour 0 = every
    hour); None when the scenario has no such table (the test decides)."""
    t = scenario.tables.get("noncompetitive_constraints")
    if t is None:
        return None
    out = set()
    for c, h in zip(t["constraint"].astype(str), t["hour"].astype(int)):
        out |= {(c, hh) for hh in scenario.hour_list} if h == 0 else {(c, h)}
    return out


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else str(x)


def constraint_tests(scenario: Scenario, tables: dict, ptdf: PTDF, product: str,
                     stage: str) -> pd.DataFrame:
    """One row per binding row of `ROW_KINDS[product]` in the pass's `tables`: the counter-flow
    test (module docstring) and whether the row is competitive (`CONSTRAINT_COLUMNS`)."""
    rows = signed_rows(tables, ROW_KINDS[product])
    if not len(rows):
        return empty_constraints()
    n = int(scenario.parameters.mpm_pivotal_suppliers)
    hours = scenario.hour_list
    cap = capability(scenario, product)
    resources = [str(r) for r in cap.index]
    supplied = supplied_list(scenario)
    sc_of = scenario.resource_frame.set_index("resource")["sc"].astype(str)
    coef = sensitivities(scenario, ptdf, product, sorted(set(rows["constraint"])), resources)
    award = awards(tables, product, resources, hours)
    out = []
    for rec in rows.to_dict("records"):
        l, t, mu = rec["constraint"], int(rec["hour"]), float(rec["mu"])
        c = coef.loc[l].to_numpy(dtype=float) if resources else np.zeros(0)
        counter = (mu * c < 0) & (np.abs(c) > COEF_TOL)
        scf = np.abs(c) * cap[t].to_numpy(dtype=float) if resources else np.zeros(0)
        dcf = float((np.abs(c) * award[t].to_numpy(dtype=float))[counter].sum()) \
            if resources else 0.0
        by_sc: dict[str, float] = {}
        for r, v in zip(np.asarray(resources)[counter], scf[counter]):
            if v > 0:
                by_sc[sc_of[r]] = by_sc.get(sc_of[r], 0.0) + float(v)
        order = sorted(by_sc.items(), key=lambda x: (-x[1], x[0]))
        total = sum(v for _, v in order)
        top = order[:n]
        top_mw = sum(v for _, v in top)
        residual = total - top_mw
        if supplied is not None:
            competitive, source = (l, t) not in supplied, "supplied"
        else:
            competitive, source = dcf <= MW_TOL or residual >= dcf - MW_TOL, "test"
        out.append(dict(
            constraint=l, kind=rec["kind"], hour=t, product=product, stage=stage, source=source,
            shadow_price=float(rec["shadow_price"]), flow_mw=float(rec["flow_mw"]),
            limit_mw=float(rec["limit_mw"]), counterflow_needed_mw=dcf,
            counterflow_supply_mw=total, n_suppliers=len(order),
            largest_suppliers=";".join(s for s, _ in top), largest_supply_mw=top_mw,
            residual_supply_mw=residual, competitive=bool(competitive),
            pivotal_suppliers="" if competitive else ";".join(s for s, _ in top),
            supply_by_supplier=";".join(f"{s}={_fmt(v)}" for s, v in order)))
    return pd.DataFrame(out, columns=CONSTRAINT_COLUMNS)


def _test_text(rec: dict) -> str:
    where = f"{rec['kind']}:{rec['constraint']}"
    if rec["source"] == "supplied":
        return f"{where} listed in noncompetitive_constraints"
    return (f"{where} counter-flow without the {rec['largest_suppliers'] or 'none'} "
            f"{_fmt(rec['residual_supply_mw'])} MW < needed "
            f"{_fmt(rec['counterflow_needed_mw'])} MW (pivotal {rec['pivotal_suppliers']})")


def noncompetitive_component(scenario: Scenario, ptdf: PTDF, tests: pd.DataFrame, product: str,
                             resources: list[str]) -> pd.DataFrame:
    """NCC per resource and hour of `product` from the non-competitive rows of `tests`:
    resource, hour, ncc_usd_per_mwh = −Σ μ_l c_il, constraints and pivotal_test (the rows that
    raise its price, ';'-joined). Only resource-hours with NCC ≠ 0."""
    cols = ["resource", "hour", "ncc_usd_per_mwh", "constraints", "pivotal_test"]
    nc = tests[~tests["competitive"].astype(bool)] if len(tests) else tests
    if not len(nc) or not resources:
        return pd.DataFrame(columns=cols)
    coef = sensitivities(scenario, ptdf, product, sorted(set(nc["constraint"])), resources)
    acc: dict[tuple[str, int], list] = {}
    for rec in nc.to_dict("records"):
        mu = float(rec["shadow_price"]) * (1.0 if float(rec["flow_mw"]) >= 0 else -1.0)
        part = -mu * coef.loc[rec["constraint"]].to_numpy(dtype=float)
        for r, v in zip(resources, part):
            if abs(v) <= 0.0:
                continue
            slot = acc.setdefault((r, int(rec["hour"])), [0.0, [], []])
            slot[0] += float(v)
            if v > 0:
                slot[1].append(f"{rec['kind']}:{rec['constraint']}")
                slot[2].append(_test_text(rec))
    return pd.DataFrame([dict(resource=r, hour=t, ncc_usd_per_mwh=v[0],
                              constraints=";".join(v[1]), pivotal_test="; ".join(v[2]))
                         for (r, t), v in sorted(acc.items())], columns=cols)


# ---------------------------------------------------------------------------------------------
def _reason(product: str, floor_name: str) -> str:
    return (f"lmpm: {product.upper()} NCC > ${NCC_THRESHOLD_USD_PER_MWH} from non-competitive "
            f"constraints: price min(bid, max({floor_name}, {PRICE_NAME[product]} − NCC))")


def _mitigate_availability(scenario: Scenario, product: str, ncc: pd.DataFrame,
                           market: dict, floor: float) -> tuple[pd.DataFrame | None, list[dict]]:
    """Hourly `product` bids lowered to min(bid, max(floor, market − NCC)) where NCC > $0.01:
    the new `availability_bids_hourly` (None when nothing changes) and the table rows."""
    book = scenario.bids
    res = scenario.resource_frame.set_index("resource")
    new_rows, out = [], []
    for rec in ncc.to_dict("records"):
        r, t, v = str(rec["resource"]), int(rec["hour"]), float(rec["ncc_usd_per_mwh"])
        if v <= NCC_THRESHOLD_USD_PER_MWH:
            continue
        bid = book.availability(r, product, t)
        if bid is None or bid.mw <= 0 or (r, t) not in market:
            continue
        comp = market[(r, t)] - v
        price = min(bid.price_usd_per_mwh, max(floor, comp))
        if price >= bid.price_usd_per_mwh - PRICE_TOL:
            continue
        new_rows.append(dict(resource=r, hour=t, product=product, mw=bid.mw,
                             price_usd_per_mwh=price, iso_inserted=bid.iso_inserted))
        out.append(dict(resource=r, product=product, hour=t, sc=str(res.at[r, "sc"]),
                        baa=str(res.at[r, "baa"]),
                        original_price_usd_per_mwh=bid.price_usd_per_mwh,
                        mitigated_price_usd_per_mwh=price, reason=_reason(product, "DAB"),
                        failing_hours=str(t), mw=bid.mw, iso_inserted=bid.iso_inserted,
                        constraints=rec["constraints"], pivotal_test=rec["pivotal_test"],
                        ncc_usd_per_mwh=v, mpm_price_usd_per_mwh=market[(r, t)],
                        competitive_price_usd_per_mwh=comp))
    if not new_rows:
        return None, []
    old = scenario.tables.get("availability_bids_hourly")
    new = pd.DataFrame(new_rows)
    if old is not None and len(old):
        hit = set(zip(new["resource"], new["hour"], new["product"]))
        keep = [k not in hit for k in zip(old["resource"].astype(str), old["hour"].astype(int),
                                           old["product"].astype(str))]
        new = pd.concat([old[keep], new], ignore_index=True)
    return normalise_table("availability_bids_hourly", new), out


def _mitigate_energy(scenario: Scenario, ncc: pd.DataFrame, market: dict, floor: float
                     ) -> tuple[pd.DataFrame | None, list[dict]]:
    """Supply curves of the hour with every segment above max(DEB, LMP − NCC^E) lowered to it
    where NCC^E > $0.01: the new `energy_bids_hourly` (None when nothing changes) and rows."""
    book = scenario.bids
    res = scenario.resource_frame.set_index("resource")
    new_rows, out = [], []
    for rec in ncc.to_dict("records"):
        r, t, v = str(rec["resource"]), int(rec["hour"]), float(rec["ncc_usd_per_mwh"])
        if v <= NCC_THRESHOLD_USD_PER_MWH or (r, t) not in market:
            continue
        curve = book.energy(r, "supply", t)
        comp = market[(r, t)] - v
        cap = max(floor, comp)
        above = [(mw, c) for mw, c in curve if c > cap + PRICE_TOL and mw > 0]
        if not above:
            continue
        for s, (mw, c) in enumerate(curve, start=1):
            new_rows.append(dict(resource=r, hour=t, side="supply", segment=s, mw=mw,
                                 price_usd_per_mwh=min(c, cap)))
        out.append(dict(resource=r, product="energy", hour=t, sc=str(res.at[r, "sc"]),
                        baa=str(res.at[r, "baa"]),
                        original_price_usd_per_mwh=max(c for _, c in above),
                        mitigated_price_usd_per_mwh=cap, reason=_reason("energy", "DEB"),
                        failing_hours=str(t), mw=float(sum(mw for mw, _ in above)),
                        iso_inserted=False, constraints=rec["constraints"],
                        pivotal_test=rec["pivotal_test"], ncc_usd_per_mwh=v,
                        mpm_price_usd_per_mwh=market[(r, t)], competitive_price_usd_per_mwh=comp))
    if not new_rows:
        return None, []
    old = scenario.tables.get("energy_bids_hourly")
    new = pd.DataFrame(new_rows)
    if old is not None and len(old):
        rtype = dict(zip(scenario.tables["resources"]["resource"].astype(str),
                         scenario.tables["resources"]["type"].astype(str)))
        hit = set(zip(new["resource"], new["hour"]))
        keep = [not ((r, int(h)) in hit and resolve_side(str(s), rtype.get(r)) == "supply")
                for r, h, s in zip(old["resource"].astype(str), old["hour"], old["side"])]
        new = pd.concat([old[keep], new], ignore_index=True)
    return normalise_table("energy_bids_hourly", new), out


def _frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return empty_mitigations()
    out = pd.DataFrame(rows, columns=ALL_MITIGATION_COLUMNS)
    return out.sort_values(["baa", "product", "resource", "hour"], kind="stable") \
        .reset_index(drop=True)


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    full = [f for f in frames if len(f)]
    return pd.concat(full, ignore_index=True) if full else empty


def _bus_price(tables: dict, scenario: Scenario, resources: list[str], column: str
               ) -> dict[tuple[str, int], float]:
    """A bus price of the pass (`nodal_prices` column) at each resource's bus, per hour."""
    npx = tables["nodal_prices"]
    by_bus = {(str(b), int(h)): float(v) for b, h, v in zip(npx["bus"], npx["hour"], npx[column])}
    bus = scenario.resource_frame.set_index("resource")["bus"].astype(str)
    return {(r, t): by_bus[(bus[r], t)] for r in resources for t in scenario.hour_list
            if (bus[r], t) in by_bus}


def mitigate_after_ifm(scenario: Scenario, tables: dict, ptdf: PTDF) -> LmpmStep:
    """Steps 2–3 of the module docstring on the MPM pass's `tables`: IRU bids (and, with
    `mpm_energy`, supply energy bids) mitigated per hour; `scenario` unchanged when none is."""
    p = scenario.parameters
    tests = [constraint_tests(scenario, tables, ptdf, "iru", "ifm")]
    new_tables: dict[str, pd.DataFrame] = {}
    rows: list[dict] = []
    cap = capability(scenario, "iru")
    if len(cap):
        rp = tables["resource_prices"]
        market = {(str(r), int(h)): float(v) for r, h, v in
                  zip(rp["resource"], rp["hour"], rp["iru_usd_per_mwh"])}
        ncc = noncompetitive_component(scenario, ptdf, tests[0], "iru", [str(r) for r in cap.index])
        tab, out = _mitigate_availability(scenario, "iru", ncc, market,
                                          float(p.ir_rc_default_availability_bid_usd_per_mwh))
        if tab is not None:
            new_tables["availability_bids_hourly"] = tab
            rows += out
    if p.mpm_energy:
        tests.append(constraint_tests(scenario, tables, ptdf, "energy", "ifm"))
        ecap = capability(scenario, "energy")
        resources = [str(r) for r in ecap.index]
        ncc = noncompetitive_component(scenario, ptdf, tests[-1], "energy", resources)
        tab, out = _mitigate_energy(scenario, ncc, _bus_price(tables, scenario, resources, "lmp"),
                                    float(p.mpm_default_energy_bid_usd_per_mwh))
        if tab is not None:
            new_tables["energy_bids_hourly"] = tab
            rows += out
    cons = _concat(tests, empty_constraints())
    if not new_tables:
        return LmpmStep(scenario, empty_mitigations(), cons)
    return LmpmStep(scenario.with_tables(**new_tables), _frame(rows), cons, changed=True)


def ruc_bus_prices(scenario: Scenario, tables: dict, ptdf: PTDF, resources: list[str]
                   ) -> dict[tuple[str, int], float]:
    """RCUMP_it = π^R_b − Σ_l PTDF_{l,n(i)} μR_l over every binding `branch_ruc` row (§6.4),
    from `baa_prices.ruc_price` and `binding_constraints`."""
    bp = tables["baa_prices"]
    pir = {(str(b), int(h)): float(v) for b, h, v in zip(bp["baa"], bp["hour"], bp["ruc_price"])}
    rows = signed_rows(tables, ("branch_ruc",))
    res = scenario.resource_frame.set_index("resource")
    coef = sensitivities(scenario, ptdf, "rcu", sorted(set(rows["constraint"])), resources) \
        if len(rows) else None
    out = {}
    for r in resources:
        for t in scenario.hour_list:
            key = (str(res.at[r, "baa"]), t)
            if key in pir:
                out[(r, t)] = pir[key]
    if coef is not None:
        for l, t, mu in zip(rows["constraint"], rows["hour"], rows["mu"]):
            for r, c in zip(resources, coef.loc[l].to_numpy(dtype=float)):
                if (r, int(t)) in out:
                    out[(r, int(t))] -= c * float(mu)
    return out


def mitigate_after_ruc(scenario: Scenario, tables: dict, ptdf: PTDF) -> LmpmStep:
    """Step 4 of the module docstring on the unmitigated RUC pass's `tables` (the IFM tables
    with the RUC read back): RCU bids mitigated per hour; `scenario` unchanged when none is."""
    p = scenario.parameters
    tests = constraint_tests(scenario, tables, ptdf, "rcu", "ruc")
    cap = capability(scenario, "rcu")
    if not len(cap) or not len(tests):
        return LmpmStep(scenario, empty_mitigations(), tests)
    resources = [str(r) for r in cap.index]
    ncc = noncompetitive_component(scenario, ptdf, tests, "rcu", resources)
    tab, rows = _mitigate_availability(scenario, "rcu", ncc,
                                       ruc_bus_prices(scenario, tables, ptdf, resources),
                                       float(p.ir_rc_default_availability_bid_usd_per_mwh))
    if tab is None:
        return LmpmStep(scenario, empty_mitigations(), tests)
    return LmpmStep(scenario.with_tables(availability_bids_hourly=tab), _frame(rows), tests,
                    changed=True)


def combine(steps: list[LmpmStep]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's `mpm_mitigations` and `mpm_constraints` from its steps."""
    mit = _concat([s.mitigations for s in steps], empty_mitigations())
    if len(mit):
        mit = mit.sort_values(["baa", "product", "resource", "hour"], kind="stable") \
            .reset_index(drop=True)
    cons = _concat([s.constraints for s in steps], empty_constraints())
    return mit, cons.reset_index(drop=True)
