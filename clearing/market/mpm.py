"""Market power mitigation (MPM) of IRU and RCU availability bids (spec §5.12, §9 #5): the
modes before the market (`ir_rc`, `cap_all`, `off`). The default, `lmpm`, mitigates after an
MPM pass of the IFM and of the RUC: clearing/market/lmpm.py.

Pure functions of a `Scenario`, no optimization. Public API:

- `resource_capability(scenario, product)`, `supplier_capacity(scenario)`: IRU and RCU
  capability per resource, and per BAA, hour, product and supplier (lmpm uses the first);
- `pivotal_supplier_test(scenario)`: the structural test per BAA, hour and product;
- `mitigate_bids(scenario, test=None)`: the scenario with mitigated bids, and what was mitigated
  (nothing under `lmpm` and `off`).

`clearing.market.engine.run_day_ahead` calls both before it prepares the model and reports the
tables `mpm_test` (in every mode) and `mpm_mitigations`.

The structural test (`mpm_mode = ir_rc`) [A]
----------------------------------------------
Spec §5.12 describes a locational test (the MPM pass of the IFM, non-competitive constraints,
NCC components; `lmpm`). Before the market no prices or binding constraints exist, so `ir_rc`
runs a *structural* test instead: an N-pivotal-supplier test (N = `mpm_pivotal_suppliers`,
default 3, the three-pivotal-supplier test the spec uses for constraints) on each BAA's own
requirement, per hour and product:

    competitive(b, t, p)  <=>  Σ_s Cap_{s,b,t,p} − Σ_{s ∈ top N} Cap_{s,b,t,p}  ≥  Req_{b,t,p}

i.e. the BAA's requirement can be met without the N largest suppliers. It needs only bids and
requirements known before the market, is reproducible by hand, and catches the situation the
issue worries about: a BAA whose IR/RC supply is concentrated in a few hands. Why these pieces:

- Supplier = scheduling coordinator (`resources.sc`, default ``SC_<baa>``): the bidding party
  is the one that can withhold or price up. Affiliations between SCs are not modelled.
- Capability per resource and hour (only resources the model lets provide the product):
  ``headroom = Pmax_t − Pmin`` (storage: ``Pdis^max_t + Pch^max``, since IRU/RC can also come
  from charging less), Pmax_t from `resource_hours.pmax_mw` (VER: the forecast) else
  `resources.pmax_mw`;
  IRU: ``min(IRU bid MW, T^IR·RR^up, headroom)`` (spec §7.1 CapIRU, §5.8; T^IR =
  `ir_ramp_minutes`); eligible as in the IFM: thermal, storage, hydro, dispatchable VER, 15-minute
  import;
  RCU: ``min(RCU bid MW, 60·RR^up, headroom)`` (spec §5.11 hourly ramp); eligible as in the RUC:
  thermal, storage, hydro, any VER, 15-minute import.
  A supplier's capability is the sum over its resources in the BAA; suppliers with zero
  capability are not counted.
- Requirement: IRU: `baa_hours.iru_requirement_mw` (the full requirement R^IRU, §5.7).
  RCU: the RC requirement is only known after the IFM (forecast minus the IFM physical
  schedule, §5.11), so the test uses the estimate available before the market
  ``max(0, D^F_bt − D^fix_bt)``: the BAA's demand forecast minus its bid-in fixed
  (self-scheduled) demand, the under-scheduling of load the RUC has to fill. Price-sensitive
  demand bids and virtual bids are left out (whether they clear is unknown before the market).
  A requirement of 0 always passes.
- Only supply inside the BAA counts: IR/RC transfers need ETSR headroom that energy transfers
  compete for and that is unknown before the market, so the test is a BAA's own structural
  position (the stricter reading).
- Every BAA of the scenario is tested, EDAM or not (`is_edam` is reported): every BAA in the
  scenario clears IRU/RCU in this engine and may pay for a pivotal supplier's bids; the RSE, by
  contrast, tests EDAM BAAs only.
- Ties at the N-th place are broken by SC name (ascending), so the result does not depend on
  row order.

Mitigation
----------
``off``: nothing changes. ``ir_rc``: for each (BAA, product) that fails in ANY hour, every IRU
(resp. RCU) bid of a resource in that BAA whose SC is pivotal in at least one failing hour and
whose price exceeds DAB (`ir_rc_default_availability_bid_usd_per_mwh`) in some hour is set to DAB
in every hour where it exceeds DAB [A]. Capability and prices are the bid of each hour
(`scenario.bids`, hourly bids); the mitigation stays a day-long one (as before hourly bids were
expressible) so that a day-constant scenario clears as it did.
``cap_all``: every IRU and RCU bid priced above DAB is set to DAB (a stress what-if). IRD and RCD
bids are never mitigated (spec §5.12 [A]). ISO-inserted bids (`iso_inserted`) are mitigated like
any other bid: the rule is about the price the market uses, and an ISO-inserted bid above DAB
would otherwise escape the mitigation its resource's SC is subject to. A bid at or below DAB is
unchanged (mitigation only lowers prices). Note that with the default DAB ($55) an IRU bid is
never mitigated (the IRU bid cap is also $55, §6.3); DAB bites on RCU bids (cap $250) and on IRU
bids only when set below $55.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scenarios.scenario import Scenario

MITIGATED_PRODUCTS = ("iru", "rcu")
IR_ELIGIBLE_TYPES = ("thermal", "storage", "hydro", "ver", "import")   # products.ancillary_services
RC_ELIGIBLE_TYPES = ("thermal", "ver", "storage", "hydro", "import")   # reliability_capacity
PRICE_TOL = 1e-9

TEST_COLUMNS = ["baa", "product", "hour", "is_edam", "requirement_mw", "total_supply_mw",
                "n_suppliers", "largest_suppliers", "largest_supply_mw", "residual_supply_mw",
                "competitive", "pivotal_suppliers", "supply_by_supplier"]
MITIGATION_COLUMNS = ["resource", "product", "sc", "baa", "original_price_usd_per_mwh",
                      "mitigated_price_usd_per_mwh", "reason", "failing_hours", "mw",
                      "iso_inserted"]
CAPACITY_COLUMNS = ["baa", "product", "hour", "sc", "capacity_mw"]


# ---------------------------------------------------------------------------------------------
def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def _ramp(minutes: float, rr: np.ndarray) -> np.ndarray:
    return np.where(np.isinf(rr), np.inf, minutes * rr)


def _empty_capacity() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c == "capacity_mw" else object)
                         for c in CAPACITY_COLUMNS})


def hourly_pmax(scenario: Scenario, resources: list[str]) -> pd.DataFrame:
    """Pmax_t of `resources` (rows) by hour (columns): `resource_hours.pmax_mw` where given (a
    VER's DA forecast), else `resources.pmax_mw`."""
    res = _plain(scenario.resource_frame).set_index("resource")
    hours = scenario.hour_list
    base = res.loc[resources, "pmax_mw"].astype(float).to_numpy()
    out = pd.DataFrame(np.repeat(base[:, None], len(hours), axis=1), index=resources,
                       columns=hours)
    rh = scenario.tables.get("resource_hours")
    if rh is not None and len(rh):
        rh = _plain(rh)
        rh = rh[rh["resource"].isin(resources) & rh["pmax_mw"].notna()]
        for r, h, v in zip(rh["resource"], rh["hour"], rh["pmax_mw"]):
            out.at[r, int(h)] = float(v)
    return out


def resource_capability(scenario: Scenario, product: str) -> pd.DataFrame:
    """IRU or RCU capability of each resource that bids the product, per hour: resource, hour,
    baa, sc, capacity_mw (module docstring: the capability rules; zeros kept)."""
    cols = ["resource", "hour", "baa", "sc", "capacity_mw"]
    ab = scenario.bids.availability_frame()  # the bid of each hour (hourly bids, scenarios.bids)
    sel = ab[(ab["product"] == product) & (ab["mw"] > 0)]
    if sel.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "capacity_mw" else object)
                             for c in cols})
    res = _plain(scenario.resource_frame).set_index("resource")
    hours = scenario.hour_list
    bids = sel.set_index(["resource", "hour"])["mw"]
    r = res.loc[sorted(set(sel["resource"]))]
    typ = r["type"]
    fifteen = r["fifteen_minute"].astype(bool)
    disp = r["dispatchable"].astype(bool)
    if product == "iru":
        ok = (typ.isin(IR_ELIGIBLE_TYPES) & ~((typ == "ver") & ~disp)
              & ~((typ == "import") & ~fifteen))
        minutes = float(scenario.parameters.ir_ramp_minutes)
    else:
        ok = typ.isin(RC_ELIGIBLE_TYPES) & ~((typ == "import") & ~fifteen)
        minutes = 60.0
    r = r[ok]
    if r.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "capacity_mw" else object)
                             for c in cols})
    grid = pd.MultiIndex.from_product([r.index.tolist(), hours], names=["resource", "hour"])
    f = pd.DataFrame(index=grid).reset_index()
    pt = hourly_pmax(scenario, r.index.tolist()).stack()
    pmax = pd.Series(pt.reindex(pd.MultiIndex.from_frame(f[["resource", "hour"]]))
                     .to_numpy(dtype=float), index=f.index)
    headroom = pmax - f["resource"].map(r["pmin_mw"]).astype(float)
    st = scenario.tables.get("storage")
    if st is not None and len(st):
        charge = f["resource"].map(dict(zip(st["resource"], st["charge_max_mw"])))
        headroom = np.where(f["resource"].map(r["type"]) == "storage",
                            pmax + charge.fillna(0.0).astype(float), headroom)
    rr = f["resource"].map(r["ramp_up_mw_per_min"]).astype(float).to_numpy()
    bid = bids.reindex(pd.MultiIndex.from_frame(f[["resource", "hour"]])).fillna(0.0) \
        .to_numpy(dtype=float)
    f["capacity_mw"] = np.minimum(np.minimum(bid, _ramp(minutes, rr)),
                                  np.maximum(0.0, np.asarray(headroom, dtype=float)))
    f["baa"] = f["resource"].map(r["baa"]).astype(str)
    f["sc"] = f["resource"].map(r["sc"]).astype(str)
    return f[cols]


def supplier_capacity(scenario: Scenario) -> pd.DataFrame:
    """IRU/RCU capability per BAA, product, hour and supplier (SC), positive values only
    (module docstring: the capability rules)."""
    rows = [resource_capability(scenario, prod).assign(product=prod)
            for prod in MITIGATED_PRODUCTS]
    rows = [f for f in rows if len(f)]
    if not rows:
        return _empty_capacity()
    f = pd.concat(rows, ignore_index=True)
    out = f.groupby(["baa", "product", "hour", "sc"], sort=True)["capacity_mw"].sum().reset_index()
    out = out[out["capacity_mw"] > 0]
    return out[CAPACITY_COLUMNS].reset_index(drop=True)


def requirements(scenario: Scenario) -> pd.DataFrame:
    """Per BAA, product (iru, rcu) and hour: the requirement the test uses (module docstring)."""
    bh = _plain(scenario.tables["baa_hours"])
    dem = _plain(scenario.tables["demand"])
    fixed = (dem.assign(baa=dem["bus"].map(scenario.bus_baa))
             .groupby(["baa", "hour"])["fixed_demand_mw"].sum())
    baas = sorted(str(b) for b in scenario.tables["baas"]["baa"])
    grid = pd.MultiIndex.from_product([baas, scenario.hour_list], names=["baa", "hour"])
    bh = bh.assign(baa=bh["baa"].astype(str)).set_index(["baa", "hour"]).reindex(grid)
    fixed = fixed.reindex(grid).fillna(0.0)
    iru = bh["iru_requirement_mw"].astype(float).fillna(0.0)
    rcu = (bh["demand_forecast_mw"].astype(float).fillna(0.0) - fixed).clip(lower=0.0)
    out = pd.concat([iru.rename("requirement_mw").reset_index().assign(product="iru"),
                     rcu.rename("requirement_mw").reset_index().assign(product="rcu")],
                    ignore_index=True)
    return out[["baa", "product", "hour", "requirement_mw"]]


def pivotal_supplier_test(scenario: Scenario) -> pd.DataFrame:
    """The N-pivotal-supplier test of each BAA's IRU and RCU supply, one row per BAA, product
    (iru, rcu) and hour (columns `TEST_COLUMNS`; suppliers as ';'-joined SC ids, largest first;
    `supply_by_supplier` as ``sc=MW;...``). `pivotal_suppliers` is empty when competitive."""
    n = int(scenario.parameters.mpm_pivotal_suppliers)
    req = requirements(scenario)
    cap = supplier_capacity(scenario)
    edam = dict(zip(scenario.tables["baas"]["baa"].astype(str),
                    scenario.tables["baas"]["is_edam"].astype(bool)))
    by_key: dict[tuple, list[tuple[str, float]]] = {}
    for (baa, prod, hour), g in cap.groupby(["baa", "product", "hour"], sort=False):
        order = sorted(zip(g["sc"], g["capacity_mw"]), key=lambda x: (-x[1], x[0]))
        by_key[(baa, prod, int(hour))] = [(str(s), float(c)) for s, c in order]
    rows = []
    for baa, prod, hour, rq in zip(req["baa"], req["product"], req["hour"], req["requirement_mw"]):
        sup = by_key.get((baa, prod, int(hour)), [])
        total = sum(c for _, c in sup)
        top = sup[:n]
        top_mw = sum(c for _, c in top)
        residual = total - top_mw
        rq = float(rq)
        competitive = rq <= 0.0 or residual >= rq - 1e-9
        rows.append(dict(
            baa=baa, product=prod, hour=int(hour), is_edam=bool(edam.get(baa, True)),
            requirement_mw=rq, total_supply_mw=total, n_suppliers=len(sup),
            largest_suppliers=";".join(s for s, _ in top), largest_supply_mw=top_mw,
            residual_supply_mw=residual, competitive=bool(competitive),
            pivotal_suppliers="" if competitive else ";".join(s for s, _ in top),
            supply_by_supplier=";".join(f"{s}={_fmt(c)}" for s, c in sup)))
    out = pd.DataFrame(rows, columns=TEST_COLUMNS)
    return out.sort_values(["baa", "product", "hour"], kind="stable").reset_index(drop=True)


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else str(x)


def _empty_mitigations() -> pd.DataFrame:
    kinds = dict(original_price_usd_per_mwh=float, mitigated_price_usd_per_mwh=float,
                 mw=float, iso_inserted=bool)
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, object)) for c in MITIGATION_COLUMNS})


def _mitigate_inserted(scenario: Scenario, hourly: pd.DataFrame | None, chosen: set,
                       dab: float) -> pd.DataFrame | None:
    """`availability_bids_hourly` with the ISO-inserted RCU bids (scenarios.bids, §5.11) of
    the mitigated (resource, product) pairs written as rows at DAB where their price is above
    it, replacing any 0 MW row of that hour (the inserted bids are no table's rows, so the
    rewrite of the tables alone would leave them unmitigated); None when there are none."""
    ins = scenario.bids.inserted_frame()
    hit = pd.Series([(r, q) in chosen for r, q in zip(ins["resource"], ins["product"])],
                    index=ins.index, dtype=bool)
    ins = ins[hit & (ins["price_usd_per_mwh"] > dab + PRICE_TOL)]
    if ins.empty:
        return None
    ins = ins.assign(price_usd_per_mwh=dab)
    base = hourly if hourly is not None else scenario.tables.get("availability_bids_hourly")
    if base is None or not len(base):
        return ins.reset_index(drop=True)
    base = _plain(base)
    keys = set(zip(ins["resource"], ins["hour"], ins["product"]))
    keep = [(r, int(h), q) not in keys
            for r, h, q in zip(base["resource"], base["hour"], base["product"])]
    return pd.concat([base[keep], ins.reindex(columns=base.columns)], ignore_index=True)


def mitigate_bids(scenario: Scenario, test: pd.DataFrame | None = None
                  ) -> tuple[Scenario, pd.DataFrame]:
    """Apply `scenario.parameters.mpm_mode` to the IRU/RCU availability bids.

    Returns the scenario the market should clear (the same object when nothing changes) and the
    `mitigations` table, one row per mitigated bid: resource, product, sc, baa,
    original_price_usd_per_mwh, mitigated_price_usd_per_mwh, reason, failing_hours (the hours
    the BAA-product failed the test, ';'-joined; empty under cap_all), mw, iso_inserted.
    `test` is `pivotal_supplier_test(scenario)` (computed when needed and not given).

    Hourly bids (scenarios.bids): a bid is mitigated when its price in some hour is above DAB,
    and then every hour's price above DAB becomes DAB (rows of `availability_bids` and of
    `availability_bids_hourly` alike, and the ISO-inserted RCU bids of scenarios.bids, which
    become `availability_bids_hourly` rows); the table reports the highest price and MW over
    the day's hours and `iso_inserted` if any hour's bid is ISO-inserted."""
    p = scenario.parameters
    mode = p.mpm_mode
    ab = scenario.bids.availability_frame()
    if mode in ("off", "lmpm") or not len(ab):  # lmpm: after the MPM pass (lmpm.py)
        return scenario, _empty_mitigations()
    dab = float(p.ir_rc_default_availability_bid_usd_per_mwh)
    res = _plain(scenario.resource_frame).set_index("resource")
    ab = ab[ab["product"].isin(MITIGATED_PRODUCTS)]
    bids = ab.groupby(["resource", "product"], sort=True).agg(
        price=("price_usd_per_mwh", "max"), mw=("mw", "max"), iso=("iso_inserted", "any"))
    bids = bids.reset_index()
    baa = bids["resource"].map(res["baa"]).astype(str)
    sc = bids["resource"].map(res["sc"]).astype(str)
    above = bids["price"] > dab + PRICE_TOL
    reason = pd.Series("", index=bids.index, dtype=object)
    hours_s = pd.Series("", index=bids.index, dtype=object)
    if mode == "cap_all":
        mask = above
        reason[mask] = "cap_all: every IRU/RCU bid above the default availability bid"
    elif mode == "ir_rc":
        if test is None:
            test = pivotal_supplier_test(scenario)
        n = int(p.mpm_pivotal_suppliers)
        fail = test[~test["competitive"].astype(bool)]
        failing: dict[tuple[str, str], tuple[list[int], set[str]]] = {}
        for (b, prod), g in fail.groupby(["baa", "product"], sort=True):
            piv = set()
            for s in g["pivotal_suppliers"].fillna(""):
                piv |= {x for x in str(s).split(";") if x}
            failing[(str(b), str(prod))] = (sorted(int(h) for h in g["hour"]), piv)
        mask = pd.Series(False, index=bids.index)
        for i in bids.index[above]:
            key = (baa[i], bids.at[i, "product"])
            if key in failing and sc[i] in failing[key][1]:
                mask[i] = True
                reason[i] = (f"ir_rc: {key[1].upper()} supply of {key[0]} failed the "
                             f"{n}-pivotal-supplier test; {sc[i]} pivotal")
                hours_s[i] = ";".join(str(h) for h in failing[key][0])
    else:  # pragma: no cover - MarketParameters validates the choices
        raise ValueError(f"unknown mpm_mode {mode!r}")
    if not mask.any():
        return scenario, _empty_mitigations()
    sel = bids[mask]
    chosen = set(zip(sel["resource"], sel["product"]))
    new_tables = {}
    for name in ("availability_bids", "availability_bids_hourly"):
        tab = scenario.tables.get(name)
        if tab is None or not len(tab):
            continue
        tab = _plain(tab)
        hit = pd.Series([(r, q) in chosen for r, q in zip(tab["resource"], tab["product"])],
                        index=tab.index) & (tab["price_usd_per_mwh"] > dab + PRICE_TOL)
        if hit.any():
            tab = tab.copy()
            tab.loc[hit, "price_usd_per_mwh"] = dab
            new_tables[name] = tab
    hourly = _mitigate_inserted(scenario, new_tables.get("availability_bids_hourly"), chosen, dab)
    if hourly is not None:
        new_tables["availability_bids_hourly"] = hourly
    table = pd.DataFrame(dict(
        resource=sel["resource"].astype(str), product=sel["product"].astype(str),
        sc=sc[mask], baa=baa[mask],
        original_price_usd_per_mwh=sel["price"].astype(float),
        mitigated_price_usd_per_mwh=dab, reason=reason[mask], failing_hours=hours_s[mask],
        mw=sel["mw"].astype(float), iso_inserted=sel["iso"].astype(bool)),
        columns=MITIGATION_COLUMNS)
    table = table.sort_values(["baa", "product", "resource"], kind="stable").reset_index(drop=True)
    return scenario.with_tables(**new_tables), table
