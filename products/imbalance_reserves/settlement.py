"""Imbalance reserve (IRU/IRD) settlement: award payments, no-pay, requirement cost, tiers
(spec §8.1, §8.3; §8.4 for the FRP interaction).

Per resource i and hour t (the resource frame of `products.settlement_core.RESOURCE_FRAME_COLUMNS`):
```
IRUNoPayQuantity = clip0( min( IRU − IRU5 , max(0, DAEN + RU + SR + NR + IRU − FMMUEL) ) )
IRUNoPayAmt      = IRUNoPayQuantity × max(IRUMP, FMMFRUMP)
IRUAwardPayment  = IRU × IRUMP − IRUNoPayAmt
IRDNoPayQuantity = clip0( min( IRD − IRD5 , max(0, FMMLEL + RD + IRD − DAEN) ) )
IRDNoPayAmt      = IRDNoPayQuantity × max(IRDMP, FMMFRDMP)
IRDAwardPayment  = IRD × IRDMP − IRDNoPayAmt
```
(clip0: a five-minute part above the award, bad input, gives no negative no-pay.) The §8.4 IRU
non-compliance charge IS this no-pay amount (not a second line), and the §8.4 IRU award settlement
IS this award payment.

Settlement lines (party = the resource's SC, resource filled):
``iru_award`` (+, quantity IRU, price IRUMP, amount IRU × IRUMP) and ``iru_no_pay`` (−, quantity
IRUNoPayQuantity, price max(IRUMP, FMMFRUMP), amount −IRUNoPayAmt); their sum is
IRUAwardPayment. Likewise ``ird_award`` / ``ird_no_pay``.

Per BAA j and hour t:
```
IRURCost = (IRUR − IRUS) × IRURMP − Σ_{i∈j} IRUNoPayAmt_i
IRUReqPrice = IRURCost / (IRUR − IRUS)        (undefined when IRUR − IRUS = 0)
tier-1 quantity per resource:  generation (thermal, VER, storage, hydro) max(0, DAEN − FMMMaxExCap);
   imports max(0, DAEN − FMMSS) [directional] or max(0, FMMMaxExCap − DAEN) [as_published];
   exports max(0, FMMSS − DAEN);  loads (type demand) max(0, −UIE)
IRD: generation max(0, FMMMaxExCap − DAEN) (VERs only by default, option ird_generation_tier1);
   imports max(0, FMMSS − DAEN); exports max(0, DAEN − ETag); loads max(0, UIE)
```
summed per SC (the party) and allocated by `products.settlement_core.tier_allocation`: charges
``iru_tier1``, ``iru_tier2`` (``ird_…``). A resource contributes only to the term of its own type;
virtual resources contribute nothing to IR tier 1.

The IR congestion amount Σ_j IRURMP_j (IRUR_j − IRUS_j) − Σ_i IRUMP_i IRU_i (tariff 11.2.4.1) is
reported in the BAA details (``congestion_usd``, per BAA: its requirement value minus the gross
award value of its resources), not allocated [A, §6.3].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from products.settlement_core import (GENERATION_TYPES, SettlementOptions, ZERO_MW, allocate,
                                      charge_lines, settlement_table)

__all__ = ["IR_PRODUCTS", "ir_no_pay", "ir_tier1_quantities", "ir_requirement_cost",
           "settle_imbalance_reserves"]

IR_PRODUCTS = ("iru", "ird")


def _f(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float) if col in frame.columns else np.zeros(len(frame))


def ir_no_pay(frame: pd.DataFrame, product: str) -> pd.DataFrame:
    """Per resource-hour award payment and no-pay of `product` ('iru' or 'ird'), §8.1.

    Columns: resource, hour, baa, sc, product, award_mw, price (IRUMP/IRDMP), five_min_mw,
    stack_excess_mw, no_pay_mw, no_pay_price, no_pay_usd, gross_usd, payment_usd."""
    if product not in IR_PRODUCTS:
        raise ValueError(f"product must be iru or ird, not {product!r}")
    award = _f(frame, f"{product}_mw")
    price = _f(frame, f"{product}_usd_per_mwh")
    daen = _f(frame, "daen_mw")
    if product == "iru":
        five = _f(frame, "iru5_mw")
        excess = np.maximum(0.0, daen + _f(frame, "reg_up_mw") + _f(frame, "spin_mw")
                            + _f(frame, "nonspin_mw") + award - _f(frame, "fmm_uel_mw"))
        frp = _f(frame, "fmm_fru_price_usd_per_mwh")
    else:
        five = _f(frame, "ird5_mw")
        excess = np.maximum(0.0, _f(frame, "fmm_lel_mw") + _f(frame, "reg_down_mw") + award - daen)
        frp = _f(frame, "fmm_frd_price_usd_per_mwh")
    qty = np.maximum(0.0, np.minimum(award - five, excess))
    qty[qty <= ZERO_MW] = 0.0   # rounding noise of the stack is no no-pay
    np_price = np.maximum(price, frp)
    np_usd = qty * np_price
    gross = award * price
    return pd.DataFrame({
        "resource": frame["resource"].to_numpy(), "hour": frame["hour"].to_numpy(),
        "baa": frame["baa"].to_numpy(), "sc": frame["sc"].to_numpy(), "product": product,
        "award_mw": award, "price": price, "five_min_mw": five, "stack_excess_mw": excess,
        "no_pay_mw": qty, "no_pay_price": np_price, "no_pay_usd": np_usd, "gross_usd": gross,
        "payment_usd": gross - np_usd})


def ir_tier1_quantities(frame: pd.DataFrame, product: str, *,
                        iru_import_tier1: str = "directional",
                        ird_generation_tier1: str = "ver_only") -> pd.DataFrame:
    """Per resource-hour tier-1 quantity terms of `product` (§8.3): columns resource, hour, baa,
    sc, type, product, generation_mw, import_mw, export_mw, load_mw, tier1_mw."""
    if product not in IR_PRODUCTS:
        raise ValueError(f"product must be iru or ird, not {product!r}")
    if iru_import_tier1 not in ("directional", "as_published"):
        raise ValueError(f"iru_import_tier1 must be directional or as_published, "
                         f"not {iru_import_tier1!r}")
    if ird_generation_tier1 not in ("ver_only", "all_generation"):
        raise ValueError(f"ird_generation_tier1 must be ver_only or all_generation, "
                         f"not {ird_generation_tier1!r}")
    typ = frame["type"].astype(str).to_numpy()
    daen = _f(frame, "daen_mw")
    cap = _f(frame, "fmm_max_ex_cap_mw")
    fmmss = _f(frame, "fmm_schedule_mw")
    etag = _f(frame, "etag_mw")
    uie = _f(frame, "uie_mw")
    is_gen = np.isin(typ, GENERATION_TYPES)
    is_imp, is_exp, is_load = typ == "import", typ == "export", typ == "demand"
    if product == "iru":
        gen = np.where(is_gen, np.maximum(0.0, daen - cap), 0.0)
        imp_term = (np.maximum(0.0, daen - fmmss) if iru_import_tier1 == "directional"
                    else np.maximum(0.0, cap - daen))
        imp = np.where(is_imp, imp_term, 0.0)
        exp = np.where(is_exp, np.maximum(0.0, fmmss - daen), 0.0)
        load = np.where(is_load, np.maximum(0.0, -uie), 0.0)
    else:
        gens = is_gen if ird_generation_tier1 == "all_generation" else (typ == "ver")
        gen = np.where(gens, np.maximum(0.0, cap - daen), 0.0)
        imp = np.where(is_imp, np.maximum(0.0, fmmss - daen), 0.0)
        exp = np.where(is_exp, np.maximum(0.0, daen - etag), 0.0)
        load = np.where(is_load, np.maximum(0.0, uie), 0.0)
    return pd.DataFrame({
        "resource": frame["resource"].to_numpy(), "hour": frame["hour"].to_numpy(),
        "baa": frame["baa"].to_numpy(), "sc": frame["sc"].to_numpy(), "type": typ,
        "product": product, "generation_mw": gen, "import_mw": imp, "export_mw": exp,
        "load_mw": load, "tier1_mw": gen + imp + exp + load})


def ir_requirement_cost(baa_frame: pd.DataFrame, no_pay: pd.DataFrame,
                        product: str) -> pd.DataFrame:
    """Per BAA-hour requirement cost of `product` (§8.1 IRURCost / IRDRCost).

    `baa_frame` has baa, hour, ``<product>_requirement_mw``, ``<product>_relaxed_mw`` and
    ``<product>_requirement_price_usd_per_mwh`` (IRURMP / IRDRMP; product_prices product
    'iru'/'ird'); `no_pay` is `ir_no_pay(...)` of the same product. BAA-hours that only appear in
    `no_pay` get a zero requirement. Columns: baa, hour, product, requirement_mw, shortfall_mw,
    priced_mw, requirement_price, requirement_value_usd, no_pay_usd, cost_usd, cap_price
    (IRUReqPrice; NaN when priced_mw = 0), award_value_usd (Σ IRU × IRUMP of its resources),
    congestion_usd (requirement value − award value)."""
    b = baa_frame[["baa", "hour"]].copy()
    b["requirement_mw"] = _f(baa_frame, f"{product}_requirement_mw")
    b["shortfall_mw"] = _f(baa_frame, f"{product}_relaxed_mw")
    b["requirement_price"] = _f(baa_frame, f"{product}_requirement_price_usd_per_mwh")
    agg = (no_pay.groupby(["baa", "hour"], sort=True)[["no_pay_usd", "gross_usd"]].sum()
           .reset_index() if len(no_pay) else
           pd.DataFrame({"baa": pd.Series(dtype=object), "hour": pd.Series(dtype=np.int64),
                         "no_pay_usd": pd.Series(dtype=float),
                         "gross_usd": pd.Series(dtype=float)}))
    out = b.merge(agg, on=["baa", "hour"], how="outer")
    for c in ("requirement_mw", "shortfall_mw", "requirement_price", "no_pay_usd", "gross_usd"):
        out[c] = out[c].astype(float).fillna(0.0)
    out["hour"] = out["hour"].astype(np.int64)
    out["product"] = product
    out["priced_mw"] = out["requirement_mw"] - out["shortfall_mw"]
    out["requirement_value_usd"] = out["priced_mw"] * out["requirement_price"]
    out["cost_usd"] = out["requirement_value_usd"] - out["no_pay_usd"]
    pm = out["priced_mw"].to_numpy()
    ok = np.abs(pm) > ZERO_MW
    out["cap_price"] = np.divide(out["cost_usd"].to_numpy(dtype=float), pm,
                                 out=np.full(len(pm), np.nan), where=ok)
    out = out.rename(columns={"gross_usd": "award_value_usd"})
    out["congestion_usd"] = out["requirement_value_usd"] - out["award_value_usd"]
    cols = ["baa", "hour", "product", "requirement_mw", "shortfall_mw", "priced_mw",
            "requirement_price", "requirement_value_usd", "no_pay_usd", "cost_usd", "cap_price",
            "award_value_usd", "congestion_usd"]
    return out[cols].sort_values(["baa", "hour"], kind="stable").reset_index(drop=True)


def settle_imbalance_reserves(frame: pd.DataFrame, baa_frame: pd.DataFrame,
                              metered: pd.DataFrame | None, entity: dict[str, str] | None = None,
                              options: SettlementOptions | None = None
                              ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """IRU and IRD settlement of a whole run (§8.1, §8.3).

    `frame`: the resource frame (settlement_core.RESOURCE_FRAME_COLUMNS); `baa_frame`: per BAA-hour
    requirement, shortfall and requirement price (see `ir_requirement_cost`); `metered`: rows
    (party, baa, hour, metered_mw); `entity`: BAA → EDAM entity (tier-2 party without metered
    demand). Returns (settlement lines, details) with details ``resources`` (no-pay and tier-1
    terms per resource-hour and product) and ``baa`` (requirement cost and allocation per
    BAA-hour and product)."""
    options = options or SettlementOptions()
    lines, res_details, baa_details = [], [], []
    for product in IR_PRODUCTS:
        np_ = ir_no_pay(frame, product)
        paid = np_[(np_["award_mw"] != 0.0) | (np_["no_pay_mw"] != 0.0)]
        lines.append(charge_lines(f"{product}_award", paid["sc"].to_numpy(), paid["baa"].to_numpy(),
                                  paid["hour"].to_numpy(), paid["award_mw"].to_numpy(),
                                  paid["price"].to_numpy(), paid["gross_usd"].to_numpy(),
                                  paid["resource"].to_numpy()))
        nop = np_[np_["no_pay_mw"] > 0.0]
        lines.append(charge_lines(f"{product}_no_pay", nop["sc"].to_numpy(), nop["baa"].to_numpy(),
                                  nop["hour"].to_numpy(), nop["no_pay_mw"].to_numpy(),
                                  nop["no_pay_price"].to_numpy(), -nop["no_pay_usd"].to_numpy(),
                                  nop["resource"].to_numpy()))
        t1 = ir_tier1_quantities(frame, product, iru_import_tier1=options.iru_import_tier1,
                                 ird_generation_tier1=options.ird_generation_tier1)
        costs = ir_requirement_cost(baa_frame, np_, product)
        t1_party = t1.rename(columns={"sc": "party"})[["baa", "hour", "party", "tier1_mw"]]
        alloc_lines, summary = allocate(product, costs, t1_party, metered, entity,
                                        negative_cost=options.negative_requirement_cost)
        lines.append(alloc_lines)
        res_details.append(np_.merge(t1.drop(columns=["baa", "sc", "product"]),
                                     on=["resource", "hour"], how="left"))
        baa_details.append(costs.merge(summary.drop(columns=["cost_usd", "cap_price"]),
                                       on=["baa", "hour", "product"], how="left"))
    details = {"resources": pd.concat(res_details, ignore_index=True),
               "baa": pd.concat(baa_details, ignore_index=True)}
    return settlement_table(lines), details
