"""EDAM transfers between BAAs over ETSRs (spec §5.2) and their shadow prices (§6.1).

One inequality per directed ETSR covers energy and the deployment of IR sent across it:
x_k − x_k̄ + yU_k + yD_k̄ ≤ X^max_k − (X^base_k − X^base_k̄) (dual ν), plus the gross bound
x_k ≤ X^max_k (dual β); the reported shadow price is ν + β. Phase 1 fixes x = yU = yD = 0.
The net export constraint (NEC) limits a BAA's net export of energy and IRU.
"""

from __future__ import annotations

import math

import pyomo.environ as pyo

from clearing.bundle import ModelBundle
from scenarios.errors import Problem, ScenarioError


def add_to_model(b: ModelBundle, with_ir: bool = True) -> list:
    m, d, T = b.m, b.d, b.T
    K = list(d.interfaces.index)
    idx = [(k, t) for k in K for t in T]
    m.KT = pyo.Set(initialize=idx, dimen=2, ordered=True)
    lim = {(k, t): float(d.interface_hours.at[(k, t), "limit_mw"]) for (k, t) in idx}
    xb = {(k, t): float(d.interface_hours.at[(k, t), "base_transfer_mw"]) for (k, t) in idx}
    m.x = pyo.Var(m.KT, within=pyo.NonNegativeReals)
    m.yU = pyo.Var(m.KT, within=pyo.NonNegativeReals)
    m.yD = pyo.Var(m.KT, within=pyo.NonNegativeReals)
    phase1 = d.params.phase == 1
    for key in idx:
        if phase1:
            m.x[key].fix(0)
            m.yU[key].fix(0)
            m.yD[key].fix(0)
        if not with_ir:
            m.yU[key].fix(0)
            m.yD[key].fix(0)

    def etsr(_m, k, t):
        kr = d.reverse(k)
        lhs = _m.x[k, t] + _m.yU[k, t]
        rhs = lim[(k, t)] - xb[(k, t)]
        if kr is not None:
            lhs = lhs - _m.x[kr, t] + _m.yD[kr, t]
            rhs += xb[(kr, t)]
        return lhs <= rhs
    m.etsr_limit = pyo.Constraint(m.KT, rule=etsr)
    m.etsr_gross = pyo.Constraint(m.KT, rule=lambda _m, k, t: _m.x[k, t] <= lim[(k, t)])
    for (k, t) in idx:
        o, e = d.interfaces.at[k, "from_baa"], d.interfaces.at[k, "to_baa"]
        b.transfer_in[(e, t)].append(m.x[k, t])
        b.transfer_in[(o, t)].append(-m.x[k, t])
        b.ir_credit_up[(e, t)].append(m.yU[k, t])
        b.ir_credit_up[(o, t)].append(-m.yU[k, t])
        b.ir_credit_down[(e, t)].append(m.yD[k, t])
        b.ir_credit_down[(o, t)].append(-m.yD[k, t])
    hurdle = {k: float(d.interfaces.at[k, "hurdle_usd_per_mwh"]) for k in K}
    cost = sum(hurdle[k] * m.x[k, t] for (k, t) in idx if hurdle[k] != 0)
    b.costs.append(cost)
    _add_nec(b)
    return [cost]


def _add_nec(b: ModelBundle) -> None:
    """Net export constraint for BAAs with NEC enabled (spec §5.2)."""
    m, d, T = b.m, b.d, b.T
    on = [a for a in d.baas if bool(d.scenario.tables["baas"].set_index("baa").at[a, "nec_enabled"])]
    if not on or d.params.phase == 1:
        m.NEC = pyo.Set(initialize=[], dimen=2)
        return
    limits = nec_limits(d)
    rows = nec_rows(d, on, limits)
    m.NEC = pyo.Set(initialize=rows, dimen=2, ordered=True)
    itf = d.interfaces

    def nec(_m, a, t):
        out = sum(_m.x[k, t] + _m.yU[k, t] for k in itf.index[itf["from_baa"] == a])
        inn = sum(_m.x[k, t] + _m.yU[k, t] for k in itf.index[itf["to_baa"] == a])
        return out - inn <= limits[(a, t)]
    m.nec_limit = pyo.Constraint(m.NEC, rule=nec)


def nec_rows(d, on: list[str], limits: dict) -> list[tuple[str, int]]:
    """(baa, hour) rows of the NEC (spec §5.2) that constrain something: a finite limit on a BAA
    with at least one ETSR. A BAA without ETSRs exports 0, so its row is the constant
    0 <= NEC_bt: dropped when it holds, and bad input (ScenarioError) when NEC_bt < 0."""
    itf = d.interfaces
    linked = set(itf["from_baa"]) | set(itf["to_baa"])
    rows, problems = [], []
    for a in on:
        for t in d.hours:
            v = limits[(a, t)]
            if not math.isfinite(v):
                continue
            if a in linked:
                rows.append((a, t))
            elif v < 0:
                submitted = float(d.baa_hours.at[(a, t), "nec_mw"])
                problems.append(Problem(
                    "baa_hours.csv", None, "nec_mw",
                    f"NEC {v:g} MW for BAA '{a}', hour {t} "
                    f"({'submitted' if submitted == submitted else 'by the §5.2 formula'}), "
                    "a BAA with no ETSR (its net export is 0)",
                    "a net export limit >= 0 MW, or an ETSR in interfaces.csv"))
    if problems:
        raise ScenarioError(problems)
    return rows


def nec_limits(d) -> dict:
    """NEC_bt: submitted nec_mw, else the §5.2 formula from the RSE supply (clearing.rse)."""
    from clearing.rse import net_export_limit
    computed = net_export_limit(d.scenario).set_index(["baa", "hour"])["nec_mw"]
    out = {}
    for a in d.baas:
        for t in d.hours:
            v = float(d.baa_hours.at[(a, t), "nec_mw"])
            out[(a, t)] = v if v == v else float(computed.get((a, t), math.inf))
    return out
