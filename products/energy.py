"""Energy: per-BAA power balance (spec §5.1) and its prices (spec §6.1).

Bought: energy by BAA and hour, offered on bid curves (clearing/market/resources.py declares the bid
segments). Constrained: each BAA balances its fixed demand and base transfers with its
resources' net injection and economic ETSR transfers; under/over-supply is relaxed at
`penalty_power_balance_{under,over}_usd_per_mwh`. Priced: π_b = dual of the balance; the LMP adds
network congestion from base-case and deployment-scenario rows. Settled: at LMP (not modelled
beyond prices here; the IR/RC settlement lives in their own products).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from network.losses import loss_component
from network.transmission import congestion


def add_to_model(b: ModelBundle) -> list:
    """Power balance per BAA and hour with its two slacks (spec §5.1, §4.3)."""
    m, d, T = b.m, b.d, b.T
    p = d.params
    m.BAA_T = pyo.Set(initialize=[(a, t) for a in d.baas for t in T], dimen=2, ordered=True)
    m.s_pb_under = pyo.Var(m.BAA_T, within=pyo.NonNegativeReals)
    m.s_pb_over = pyo.Var(m.BAA_T, within=pyo.NonNegativeReals)
    members = {a: d.in_baa(a) for a in d.baas}
    base = base_transfer_rhs(d)

    def balance(_m, a, t):
        return (sum(_m.g[r, t] for r in members[a]) + sum(b.transfer_in.get((a, t), []))
                + _m.s_pb_under[a, t] - _m.s_pb_over[a, t]
                == float(d.fixed_demand_baa.at[a, t]) + base[(a, t)])
    m.balance = pyo.Constraint(m.BAA_T, rule=balance)
    cost = (p.penalty_power_balance_under_usd_per_mwh * sum(m.s_pb_under.values())
            + p.penalty_power_balance_over_usd_per_mwh * sum(m.s_pb_over.values()))
    b.costs.append(cost)
    return [cost]


def base_transfer_rhs(d) -> dict:
    """Σ_{k: o(k)=b} X^base_k − Σ_{k: e(k)=b} X^base_k per (BAA, hour) (spec §5.1)."""
    out = {(a, t): 0.0 for a in d.baas for t in d.hours}
    for k, row in d.interfaces.iterrows():
        for t in d.hours:
            xb = float(d.interface_hours.at[(k, t), "base_transfer_mw"])
            out[(row["from_baa"], t)] += xb
            out[(row["to_baa"], t)] -= xb
    return out


def nodal_prices(d, pi: pd.DataFrame, congestion: pd.DataFrame,
                 loss: pd.DataFrame | None = None, ghg: dict | None = None) -> pd.DataFrame:
    """LMP_n = π_b(n) − Σ_l PTDF_ln φ_l − Σ_l PTDF_ln (μ+ − μ−) − Σ_σ Σ_l PTDF_ln (ησ+ − ησ−)
    (spec §6.1; the loss term, φ_l the dual of a lossy branch's flow row, only with
    marginal_losses: network/losses.py, docs/market-model.md).

    `pi`: BAA x hour energy prices; `congestion`: bus x hour network congestion component
    (already the PTDF-weighted sum of branch shadow prices, negative where congestion lowers
    the price); `loss`: bus x hour marginal loss component (network.losses.loss_component), None:
    lossless; `ghg`: μ_at of the BAA's GHG area per (baa, hour) (products/ghg.py, §5.13), None or
    absent: 0. Returns the `nodal_prices` table: energy = SMEC net of its GHG component (the
    reference BAA's price − μ of its area; = SMEC when the reference BAA is in no GHG area),
    loss, ghg = μ of the bus's area, congestion = LMP − energy − loss − ghg; extras
    baa_transfer (π_b − energy − ghg) and network_congestion.
    """
    rows = []
    ghg = ghg or {}
    ref = d.reference_baa
    for n in d.buses:
        a = d.bus_baa[n]
        for t in d.hours:
            net = float(congestion.at[n, t]) if n in congestion.index else 0.0
            lmp = float(pi.at[a, t]) + net
            lc = 0.0
            if loss is not None:
                lc = float(loss.at[n, t])
                lmp += lc
            mu = float(ghg.get((a, t), 0.0))
            energy = float(pi.at[ref, t]) - float(ghg.get((ref, t), 0.0))
            rows.append((n, t, a, lmp, energy, lmp - energy - lc - mu, lc, mu,
                         float(pi.at[a, t]) - energy - mu, net))
    return pd.DataFrame(rows, columns=["bus", "hour", "baa", "lmp", "energy", "congestion", "loss",
                                       "ghg", "baa_transfer", "network_congestion"])


def elap_prices(d, nodal: pd.DataFrame) -> pd.Series:
    """ELAP (BAA load aggregate) price Σ_n LDF_bn LMP_n (spec §6.1), indexed (baa, hour)."""
    x = nodal.assign(ldf=nodal["bus"].map(d.ldf))
    x["w"] = x["ldf"] * x["lmp"]
    return x.groupby(["baa", "hour"])["w"].sum()


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
def balance_prices(rb) -> pd.DataFrame:
    """π_b per BAA and period: the dual of the BAA's power balance (spec §6.1), BAA x period."""
    d, m = rb.d, rb.m
    return rb.memo("pi", lambda: pd.DataFrame(
        {t: {a: rb.dual(m.balance[a, t]) for a in d.baas} for t in d.hours}))


SUPPLY_TYPES = ("thermal", "ver", "hydro", "storage", "import")   # generation in baa_summary


def _read_prices(rb) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`nodal_prices` (spec §6.1) and the energy rows of `product_prices` (π_b) on the run's
    periods; returns (π_b BAA x period, the nodal prices)."""
    d = rb.d
    pi = balance_prices(rb)
    from products.ghg import baa_prices as ghg_baa_prices
    nodal = nodal_prices(d, pi, congestion(rb), loss_component(rb), ghg_baa_prices(rb))
    rb.rows("nodal_prices", nodal)
    rb.rows("product_prices", [dict(baa=a, product="energy", hour=t,
                                    price_usd_per_mwh=float(pi.at[a, t]))
                               for a in d.baas for t in d.hours])
    return pi, nodal


def extract(rb) -> None:
    """Read back energy (spec §5.1, §6.1): `nodal_prices`, the energy rows of
    `product_prices`, `baa_prices` (π_b, transfer component, ELAP; ruc_price NaN until the
    RUC), the power-balance `relaxations`, and `baa_summary` demand, generation, exports,
    virtual net and balance relaxation."""
    d, m, p = rb.d, rb.m, rb.d.params
    T, res = d.hours, d.resources
    pi, nodal = _read_prices(rb)
    elap = elap_prices(d, nodal)
    rb.columns("baa_prices", pd.DataFrame(
        [dict(baa=a, hour=t, energy_price=float(pi.at[a, t]),
              transfer_component=float(pi.at[a, t]) - float(pi.at[d.reference_baa, t]),
              elap_price=float(elap[(a, t)]), ruc_price=np.nan) for a in d.baas for t in T]))
    rb.slack_relaxations(m.BAA_T, (
        (m.s_pb_under, "power_balance_under", p.penalty_power_balance_under_usd_per_mwh),
        (m.s_pb_over, "power_balance_over", p.penalty_power_balance_over_usd_per_mwh)))
    g = rb.kept["g"]
    summary = []
    for a in d.baas:
        rs = d.in_baa(a)
        typ = res.loc[rs, "type"] if rs else pd.Series(dtype=object)
        for t in T:
            summary.append(dict(
                baa=a, hour=t,
                demand_mw=float(d.fixed_demand_baa.at[a, t])
                - sum(g[(r, t)] for r in rs if typ[r] == "demand"),
                generation_mw=sum(g[(r, t)] for r in rs if typ[r] in SUPPLY_TYPES),
                export_mw=-sum(g[(r, t)] for r in rs if typ[r] == "export"),
                virtual_net_mw=sum(g[(r, t)] for r in rs
                                   if typ[r] in ("virtual_supply", "virtual_demand")),
                power_balance_relaxed_mw=_balance_relaxed_mw(m, a, t),
                demand_forecast_mw=float(d.baa_hours.at[(a, t), "demand_forecast_mw"])))
    rb.columns("baa_summary", pd.DataFrame(summary))


def _balance_relaxed_mw(m, a: str, t: int) -> float:
    """Under-supply minus over-supply slack of the BAA's balance row (MW)."""
    return ((pyo.value(m.s_pb_under[a, t], exception=False) or 0.0)
            - (pyo.value(m.s_pb_over[a, t], exception=False) or 0.0))


def extract_rt(rb) -> None:
    """Read back energy on the RT intervals (spec §10, §6.1): `nodal_prices` and the energy rows
    of `product_prices` as the day ahead, and the RT `baa_summary` columns per BAA and interval:
    the RT load (`rb.given["rt_demand_mw"]`, BAA x interval), the FMM fixed demand, generation,
    price-sensitive loads, exports and the net injection of the BAA's resources (from the
    resources' read-back, `rb.kept["energy_mw"]`: resource x interval in `d.resources` order),
    the balance relaxation and π_b (`energy_price`)."""
    d, m = rb.d, rb.m
    pi, _ = _read_prices(rb)
    E = rb.kept["energy_mw"]
    demand = rb.given["rt_demand_mw"]
    typ = d.resources["type"]
    pos = {r: i for i, r in enumerate(d.resources.index)}

    def total(rows: list[int], k: int, sign: float = 1.0) -> float:
        return float(sign * E[rows, k - 1].sum()) if rows else 0.0
    summary = []
    for a in d.baas:
        members = [pos[r] for r in d.in_baa(a)]
        supply = [pos[r] for r in d.in_baa(a) if typ[r] in SUPPLY_TYPES]
        loads = [pos[r] for r in d.in_baa(a) if typ[r] == "demand"]
        exports = [pos[r] for r in d.in_baa(a) if typ[r] == "export"]
        for k in d.hours:
            summary.append(dict(
                baa=a, hour=k, demand_mw=float(demand.at[a, k]),
                fixed_demand_mw=float(d.fixed_demand_baa.at[a, k]),
                generation_mw=total(supply, k), load_resources_mw=total(loads, k, -1.0),
                export_mw=total(exports, k, -1.0),
                power_balance_relaxed_mw=_balance_relaxed_mw(m, a, k),
                injection_mw=total(members, k), energy_price=float(pi.at[a, k])))
    rb.columns("baa_summary", pd.DataFrame(summary))
