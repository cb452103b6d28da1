"""Energy: per-BAA power balance (spec §5.1) and its prices (spec §6.1).

Bought: energy by BAA and hour, offered on bid curves (clearing/resources.py declares the bid
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

from clearing.bundle import ModelBundle


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


def nodal_prices(d, pi: pd.DataFrame, congestion: pd.DataFrame) -> pd.DataFrame:
    """LMP_n = π_b(n) − Σ_l PTDF_ln (μ+ − μ−) − Σ_σ Σ_l PTDF_ln (ησ+ − ησ−) (spec §6.1).

    `pi`: BAA x hour energy prices; `congestion`: bus x hour network congestion component
    (already the PTDF-weighted sum of branch shadow prices, negative where congestion lowers
    the price). Returns the `nodal_prices` table: energy = SMEC (reference BAA price),
    congestion = LMP − SMEC, loss = 0 (lossless [A]); extras baa_transfer and network_congestion.
    """
    rows = []
    smec = pi.loc[d.reference_baa]
    for n in d.buses:
        a = d.bus_baa[n]
        for t in d.hours:
            net = float(congestion.at[n, t]) if n in congestion.index else 0.0
            lmp = float(pi.at[a, t]) + net
            rows.append((n, t, a, lmp, float(smec[t]), lmp - float(smec[t]), 0.0,
                         float(pi.at[a, t]) - float(smec[t]), net))
    return pd.DataFrame(rows, columns=["bus", "hour", "baa", "lmp", "energy", "congestion", "loss",
                                       "baa_transfer", "network_congestion"])


def elap_prices(d, nodal: pd.DataFrame) -> pd.Series:
    """ELAP (BAA load aggregate) price Σ_n LDF_bn LMP_n (spec §6.1), indexed (baa, hour)."""
    x = nodal.assign(ldf=nodal["bus"].map(d.ldf))
    x["w"] = x["ldf"] * x["lmp"]
    return x.groupby(["baa", "hour"])["w"].sum()
