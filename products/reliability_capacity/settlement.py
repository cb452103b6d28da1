"""Reliability capacity (RCU/RCD) settlement: award payments, no-pay, tiers (spec §8.2, §8.3).

Per resource i and hour t (the resource frame of `products.settlement_core.RESOURCE_FRAME_COLUMNS`):
```
RCUNoPayQuantity = min( RCU , max(0, DAEN + RU + SR + NR + IRU + RCU − FMMUEL) )   (0 if proxy)
RCUNoPayAmt      = RCUNoPayQuantity × RCUMP
RCUAwardPayment  = max(0, RCU × RCUMP − RCUNoPayAmt)
RCDNoPayQuantity = min( RCD , max(0, FMMLEL + RD + IRD + RCD − DAEN) )            (0 if proxy)
RCDNoPayAmt      = RCDNoPayQuantity × RCDMP ;  RCDAwardPayment = max(0, RCD × RCDMP − RCDNoPayAmt)
```
A proxy award is the award of a resource whose RCU (RCD) availability bid in the hour is
ISO-inserted (the RCU bid scenarios.bids inserts for an RA resource or certified VER without
one, §5.11, or a row written with `iso_inserted`); the run publishes it as
`schedules.rcu_proxy` / `rcd_proxy`: it is paid but never no-paid [S].

Settlement lines (party = the resource's SC, resource filled): ``rcu_award`` (quantity RCU,
price RCUMP, amount RCU × RCUMP), ``rcu_no_pay`` (−, quantity RCUNoPayQuantity, price RCUMP,
amount −RCUNoPayAmt) and, only where the max(0, ·) bites (a negative RCUMP), ``rcu_payment_floor``
(+, no quantity or price, amount RCUAwardPayment − (RCU × RCUMP − RCUNoPayAmt)); their sum is
RCUAwardPayment. Likewise ``rcd_award`` / ``rcd_no_pay`` / ``rcd_payment_floor``.

Per BAA j and hour t the cost to allocate is Σ_{i∈j} RCUAwardPayment_i (all awards, proxy
included); average price = cost / Σ_{i∈j} RCU_i (undefined without an award); tier-1 quantity per
scheduling coordinator (option ``rc_tier1_netting``):
```
sc (default):  RCUTier1Qty_SC = max(0, Σ_{SC∩j} (VS − VD)) + max(0, −Σ_{SC∩j, loads} UIE)
resource:      RCUTier1Qty_SC = Σ_{SC∩j} max(0, VS_i − VD_i) + Σ_{SC∩j, loads} max(0, −UIE_i)
RCD mirrors it: max(0, VD − VS) and max(0, UIE)
```
with VS/VD the DA cleared virtual supply/demand (schedules.energy_mw of virtual resources: > 0
supply, < 0 demand) and UIE that of loads (type demand). Allocation by
`products.settlement_core.tier_allocation` (tier-1 price = min(average, derived)): charges
``rcu_tier1``, ``rcu_tier2`` (``rcd_…``). The RC lines of a BAA-hour net to zero (what the
resources are paid is what the tiers charge) except under ``negative_requirement_cost =
unallocated``, and RC costs are never negative (payments are floored at 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from products.settlement_core import (SettlementOptions, ZERO_MW, allocate, charge_lines,
                                      settlement_table)

__all__ = ["RC_PRODUCTS", "rc_no_pay", "rc_tier1_quantities", "rc_requirement_cost",
           "settle_reliability_capacity"]

RC_PRODUCTS = ("rcu", "rcd")
VIRTUAL_TYPES = ("virtual_supply", "virtual_demand")


def _f(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float) if col in frame.columns else np.zeros(len(frame))


def rc_no_pay(frame: pd.DataFrame, product: str) -> pd.DataFrame:
    """Per resource-hour award payment and no-pay of `product` ('rcu' or 'rcd'), §8.2.

    Columns: resource, hour, baa, sc, product, award_mw, price (RCUMP/RCDMP), proxy,
    stack_excess_mw, no_pay_mw, no_pay_price, no_pay_usd, gross_usd, payment_usd."""
    if product not in RC_PRODUCTS:
        raise ValueError(f"product must be rcu or rcd, not {product!r}")
    award = _f(frame, f"{product}_mw")
    price = _f(frame, f"{product}_usd_per_mwh")
    daen = _f(frame, "daen_mw")
    proxy = (frame[f"{product}_proxy"].fillna(False).astype(bool).to_numpy()
             if f"{product}_proxy" in frame.columns else np.zeros(len(frame), dtype=bool))
    if product == "rcu":
        excess = np.maximum(0.0, daen + _f(frame, "reg_up_mw") + _f(frame, "spin_mw")
                            + _f(frame, "nonspin_mw") + _f(frame, "iru_mw") + award
                            - _f(frame, "fmm_uel_mw"))
    else:
        excess = np.maximum(0.0, _f(frame, "fmm_lel_mw") + _f(frame, "reg_down_mw")
                            + _f(frame, "ird_mw") + award - daen)
    qty = np.where(proxy, 0.0, np.maximum(0.0, np.minimum(award, excess)))
    qty[qty <= ZERO_MW] = 0.0   # rounding noise of the stack is no no-pay
    np_usd = qty * price
    gross = award * price
    return pd.DataFrame({
        "resource": frame["resource"].to_numpy(), "hour": frame["hour"].to_numpy(),
        "baa": frame["baa"].to_numpy(), "sc": frame["sc"].to_numpy(), "product": product,
        "award_mw": award, "price": price, "proxy": proxy, "stack_excess_mw": excess,
        "no_pay_mw": qty, "no_pay_price": price, "no_pay_usd": np_usd, "gross_usd": gross,
        "payment_usd": np.maximum(0.0, gross - np_usd)})


def rc_tier1_quantities(frame: pd.DataFrame, product: str, *, netting: str = "sc") -> pd.DataFrame:
    """Tier-1 quantity of `product` per (baa, hour, party = SC), §8.3: columns baa, hour, party,
    product, virtual_mw, load_mw, tier1_mw (only SCs with virtual or load rows)."""
    if product not in RC_PRODUCTS:
        raise ValueError(f"product must be rcu or rcd, not {product!r}")
    if netting not in ("sc", "resource"):
        raise ValueError(f"netting must be sc or resource, not {netting!r}")
    typ = frame["type"].astype(str)
    sign = 1.0 if product == "rcu" else -1.0
    virt = frame[typ.isin(VIRTUAL_TYPES).to_numpy()]
    load = frame[(typ == "demand").to_numpy()]
    # virtual: +energy (VS - VD) for RCU, -energy (VD - VS) for RCD;
    # load: -UIE for RCU, +UIE for RCD
    v = pd.DataFrame({"baa": virt["baa"].to_numpy(), "hour": virt["hour"].to_numpy(),
                      "party": virt["sc"].to_numpy(), "x": sign * _f(virt, "energy_mw")})
    ld = pd.DataFrame({"baa": load["baa"].to_numpy(), "hour": load["hour"].to_numpy(),
                       "party": load["sc"].to_numpy(), "x": -sign * _f(load, "uie_mw")})
    keys = ["baa", "hour", "party"]

    def term(df: pd.DataFrame, name: str) -> pd.Series:
        if df.empty:
            return pd.Series(dtype=float, name=name,
                             index=pd.MultiIndex.from_tuples([], names=keys))
        if netting == "sc":
            s = df.groupby(keys, sort=True)["x"].sum().clip(lower=0.0)
        else:
            s = df.assign(x=df["x"].clip(lower=0.0)).groupby(keys, sort=True)["x"].sum()
        return s.rename(name)

    out = pd.concat([term(v, "virtual_mw"), term(ld, "load_mw")], axis=1).fillna(0.0)
    out = out.reset_index()
    if out.empty:
        out = pd.DataFrame(columns=keys + ["virtual_mw", "load_mw"])
    out["product"] = product
    out["tier1_mw"] = out["virtual_mw"].astype(float) + out["load_mw"].astype(float)
    return out[keys + ["product", "virtual_mw", "load_mw", "tier1_mw"]]


def rc_requirement_cost(no_pay: pd.DataFrame, product: str,
                        baa_hours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per BAA-hour cost of `product` = Σ award payments, with the award MW and the average price
    (cap_price; NaN without an award). `baa_hours` (baa, hour) adds zero rows for BAA-hours
    without resources. Columns: baa, hour, product, award_mw, award_value_usd, no_pay_usd,
    cost_usd, cap_price."""
    if len(no_pay):
        agg = (no_pay.groupby(["baa", "hour"], sort=True)
               .agg(award_mw=("award_mw", "sum"), award_value_usd=("gross_usd", "sum"),
                    no_pay_usd=("no_pay_usd", "sum"), cost_usd=("payment_usd", "sum"))
               .reset_index())
    else:
        agg = pd.DataFrame({"baa": pd.Series(dtype=object), "hour": pd.Series(dtype=np.int64),
                            **{c: pd.Series(dtype=float) for c in
                               ("award_mw", "award_value_usd", "no_pay_usd", "cost_usd")}})
    if baa_hours is not None and len(baa_hours):
        agg = baa_hours[["baa", "hour"]].drop_duplicates().merge(agg, on=["baa", "hour"],
                                                                 how="outer")
        for c in ("award_mw", "award_value_usd", "no_pay_usd", "cost_usd"):
            agg[c] = agg[c].astype(float).fillna(0.0)
    agg["hour"] = agg["hour"].astype(np.int64)
    agg["product"] = product
    aw = agg["award_mw"].to_numpy(dtype=float)
    agg["cap_price"] = np.divide(agg["cost_usd"].to_numpy(dtype=float), aw,
                                 out=np.full(len(aw), np.nan), where=np.abs(aw) > ZERO_MW)
    cols = ["baa", "hour", "product", "award_mw", "award_value_usd", "no_pay_usd", "cost_usd",
            "cap_price"]
    return agg[cols].sort_values(["baa", "hour"], kind="stable").reset_index(drop=True)


def settle_reliability_capacity(frame: pd.DataFrame, metered: pd.DataFrame | None,
                                entity: dict[str, str] | None = None,
                                options: SettlementOptions | None = None,
                                baa_hours: pd.DataFrame | None = None
                                ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """RCU and RCD settlement of a whole run (§8.2, §8.3). `frame`: the resource frame;
    `metered`: rows (party, baa, hour, metered_mw); `entity`: BAA → EDAM entity. Returns
    (settlement lines, details) with details ``resources`` (per resource-hour and product),
    ``baa`` (cost and allocation per BAA-hour and product) and ``rc_tier1`` (per party)."""
    options = options or SettlementOptions()
    lines, res_d, baa_d, t1_d = [], [], [], []
    for product in RC_PRODUCTS:
        np_ = rc_no_pay(frame, product)
        paid = np_[(np_["award_mw"] != 0.0) | (np_["no_pay_mw"] != 0.0)]
        lines.append(charge_lines(f"{product}_award", paid["sc"].to_numpy(), paid["baa"].to_numpy(),
                                  paid["hour"].to_numpy(), paid["award_mw"].to_numpy(),
                                  paid["price"].to_numpy(), paid["gross_usd"].to_numpy(),
                                  paid["resource"].to_numpy()))
        nop = paid[paid["no_pay_mw"].to_numpy() > 0.0]
        lines.append(charge_lines(f"{product}_no_pay", nop["sc"].to_numpy(), nop["baa"].to_numpy(),
                                  nop["hour"].to_numpy(), nop["no_pay_mw"].to_numpy(),
                                  nop["no_pay_price"].to_numpy(), -nop["no_pay_usd"].to_numpy(),
                                  nop["resource"].to_numpy()))
        # the max(0, ·) of the award payment (a negative price): payment − (gross − no-pay)
        floor = (paid["payment_usd"] - paid["gross_usd"] + paid["no_pay_usd"]).to_numpy()
        fl = paid[floor != 0.0]
        lines.append(charge_lines(f"{product}_payment_floor", fl["sc"].to_numpy(),
                                  fl["baa"].to_numpy(), fl["hour"].to_numpy(), np.nan, np.nan,
                                  floor[floor != 0.0], fl["resource"].to_numpy()))
        t1 = rc_tier1_quantities(frame, product, netting=options.rc_tier1_netting)
        costs = rc_requirement_cost(np_, product, baa_hours)
        alloc_lines, summary = allocate(product, costs, t1, metered, entity,
                                        negative_cost=options.negative_requirement_cost)
        lines.append(alloc_lines)
        res_d.append(np_)
        t1_d.append(t1)
        baa_d.append(costs.merge(summary.drop(columns=["cost_usd", "cap_price"]),
                                 on=["baa", "hour", "product"], how="left"))
    details = {"resources": pd.concat(res_d, ignore_index=True),
               "baa": pd.concat(baa_d, ignore_index=True),
               "rc_tier1": pd.concat(t1_d, ignore_index=True)}
    return settlement_table(lines), details
