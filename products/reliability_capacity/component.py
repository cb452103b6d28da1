"""Residual unit commitment (RUC): reliability capacity up/down against each BAA's demand
forecast (spec §5.11, §4.2) and its prices (spec §6.4).

Fixed from the IFM: commitment u, physical schedules g^IFM (virtual and price-sensitive demand
clears dropped: the forecast replaces bid-in demand [A]), AS awards, IRU/IRD and IR transfers.
RUC may commit more units (u^R ≥ u), buys RCU/RCD on availability bids (one of the two per
resource-hour), moves RC between BAAs on ETSR headroom (x^R), and relaxes the forecast balance at
`penalty_ruc_{under,over}_usd_per_mwh`.
"""

from __future__ import annotations

import math

import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from clearing.market.data import MarketData
from clearing.market.readback import value
from clearing.market.resources import add_commitment_logic, add_startup_costs, forced_commitment
from network.transfers import net_model_cycles
from network.transmission import congestion
from products.ancillary_services import eligible
from products.energy import balance_prices, base_transfer_rhs

RUC_TYPES = ("thermal", "ver", "storage", "hydro", "import", "export")
RC_TYPES = ("thermal", "ver", "storage", "hydro", "import")


def build_ruc(d: MarketData, ifm: dict, tight_rc: bool = True) -> ModelBundle:
    """Build the RUC model. `ifm` carries the IFM solution: u[(i,t)], g[(r,t)], up[(r,t)],
    dn[(r,t)] (AS + IR awards), yU[(k,t)], yD[(k,t)], soc[(r,t)], x[(k,t)].

    `tight_rc` (issue 20; same optimum, a tighter LP bound): the RCU of a unit the RUC may
    newly commit is bounded by its commitment (`rc_commit_bound_mw`), and start/stop binaries
    that the fixed commitment already decides are fixed (`fix_implied_transitions`). False
    builds the rows as before issue 20 (benchmarks/ruc_bound.py, tests/test_ruc_bound.py)."""
    m = pyo.ConcreteModel(name="RUC")
    b = ModelBundle(m=m, d=d, kind="ruc")
    T = d.hours
    p = d.params
    res = d.resources
    m.T = pyo.Set(initialize=T, ordered=True)
    phys = [r for r in res.index if res.at[r, "type"] in RUC_TYPES]
    G = d.of_type("thermal")
    th = d.thermal
    # RC awards
    rc_idx = {}
    for prod in ("rcu", "rcd"):
        rs = [r for r in d.bids_product(prod) if res.at[r, "type"] in RC_TYPES and
              (eligible(d, r) or res.at[r, "type"] == "ver")]
        rc_idx[prod] = [(r, t) for r in rs for t in T]
    m.RCU_IDX = pyo.Set(initialize=rc_idx["rcu"], dimen=2, ordered=True)
    m.RCD_IDX = pyo.Set(initialize=rc_idx["rcd"], dimen=2, ordered=True)
    m.rcu = pyo.Var(m.RCU_IDX, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, t: (0, d.avail_mw(r, "rcu", t)))
    m.rcd = pyo.Var(m.RCD_IDX, within=pyo.NonNegativeReals,
                    bounds=lambda _m, r, t: (0, d.avail_mw(r, "rcd", t)))
    both = sorted(set(rc_idx["rcu"]) & set(rc_idx["rcd"])) if p.rc_exclusivity_binary else []
    m.BOTH = pyo.Set(initialize=both, dimen=2, ordered=True)
    m.zeta = pyo.Var(m.BOTH, within=pyo.Binary)
    b.binaries.append(m.zeta)
    big = {r: max(float(d.pmax.loc[r].max()), 1.0) for r in res.index}
    if d.resources["type"].eq("storage").any():
        for r in d.of_type("storage"):
            big[r] = float(d.pmax.loc[r].max()) + float(d.storage.at[r, "charge_max_mw"])
    m.rc_excl_up = pyo.Constraint(m.BOTH, rule=lambda _m, r, t: _m.rcu[r, t] <= big[r] * _m.zeta[r, t])
    m.rc_excl_dn = pyo.Constraint(m.BOTH, rule=lambda _m, r, t: _m.rcd[r, t] <= big[r] * (1 - _m.zeta[r, t]))

    def r_expr(r, t):
        e = ifm["g"][(r, t)]
        if (r, t) in m.rcu:
            e = e + m.rcu[r, t]
        if (r, t) in m.rcd:
            e = e - m.rcd[r, t]
        return e

    # commitment on u^R ≥ u (spec §5.11), logic of §5.4
    m.G_RUC = pyo.Set(initialize=G, ordered=True)
    m.GT = pyo.Set(initialize=[(i, t) for i in G for t in T], dimen=2, ordered=True)
    m.uR = pyo.Var(m.GT, within=pyo.Binary)
    m.vR = pyo.Var(m.GT, within=pyo.Binary)
    m.wR = pyo.Var(m.GT, within=pyo.Binary)
    b.binaries += [m.uR, m.vR, m.wR]
    for (i, t) in m.GT:
        if ifm["u"][(i, t)] > 0.5:
            m.uR[i, t].fix(1)
        elif (i, t) not in m.rcu or d.avail_mw(i, "rcu", t) <= 0:
            # no RCU award possible (no bid or a 0 MW one in the hour): RUC cannot use it
            m.uR[i, t].fix(0)
        elif forced_commitment(th, i, t, False,
                               float(d.pmax.at[i, t]) < float(res.at[i, "pmin_mw"]) - 1e-9) == 0:
            # the initial minimum down time (or a derate below Pmin) binds the RUC as it binds
            # the IFM (§5.4, §5.11): a unit off for 1 of its 3 down hours stays off in hours 1–2
            m.uR[i, t].fix(0)

    b.commitments.append(add_commitment_logic(m, m.GT, th, m.uR, m.vR, m.wR, "ruc"))
    if tight_rc:
        fix_implied_transitions(m, th)

    pmin = res["pmin_mw"]
    # capacity stacks on the RUC schedule r = g^IFM + RCU − RCD
    rc_res = sorted({r for (r, t) in rc_idx["rcu"] + rc_idx["rcd"]})
    m.RC_RT = pyo.Set(initialize=[(r, t) for r in rc_res for t in T], dimen=2, ordered=True)

    def upper(_m, r, t):
        typ = res.at[r, "type"]
        cap = float(d.pmax.at[r, t])
        if typ == "thermal":
            # off-line non-spin of a fast-start unit becomes on-line reserve if RUC commits it
            off = ifm.get("nr_off", {}).get((r, t), 0.0)
            return r_expr(r, t) + ifm["up"][(r, t)] <= (cap - off) * _m.uR[r, t]
        return r_expr(r, t) + ifm["up"][(r, t)] <= cap

    def lower(_m, r, t):
        typ = res.at[r, "type"]
        if typ == "thermal":
            return r_expr(r, t) - ifm["dn"][(r, t)] >= float(pmin[r]) * _m.uR[r, t]
        if typ == "storage":
            return r_expr(r, t) - ifm["dn"][(r, t)] >= -float(d.storage.at[r, "charge_max_mw"])
        return r_expr(r, t) - ifm["dn"][(r, t)] >= 0
    m.ruc_stack_up = pyo.Constraint(m.RC_RT, rule=upper)
    m.ruc_stack_down = pyo.Constraint(m.RC_RT, rule=lower)
    def ramp_rcu(_m, r, t):
        rr = d.ramp_up(r)
        if not math.isfinite(rr):
            return pyo.Constraint.Skip
        extra = float(pmin[r]) * (_m.uR[r, t] - ifm["u"][(r, t)]) if r in th.index else 0
        return _m.rcu[r, t] - extra <= 60 * rr

    def ramp_rcd(_m, r, t):
        rr = d.ramp_down(r)
        if not math.isfinite(rr):
            return pyo.Constraint.Skip
        return _m.rcd[r, t] <= 60 * rr
    m.ruc_ramp_up = pyo.Constraint(m.RCU_IDX, rule=ramp_rcu)
    m.ruc_ramp_down = pyo.Constraint(m.RCD_IDX, rule=ramp_rcd)
    if tight_rc:
        bound = {(i, t): rc_commit_bound_mw(d, ifm, i, t) for (i, t) in m.GT
                 if (i, t) in m.rcu and not m.uR[i, t].fixed}
        m.RC_COMMIT = pyo.Set(initialize=sorted(bound), dimen=2, ordered=True)
        m.ruc_rc_commit = pyo.Constraint(
            m.RC_COMMIT, rule=lambda _m, i, t: _m.rcu[i, t] <= bound[(i, t)] * _m.uR[i, t])

    # storage RUC SOC (spec §5.11 [A]): IFM SOC shifted by the cumulative RC energy
    S = sorted({r for r in rc_res if res.at[r, "type"] == "storage"})
    st = d.storage

    def soc(_m, r, t, lo):
        ec, ed = float(st.at[r, "charge_efficiency"]), float(st.at[r, "discharge_efficiency"])
        shift = sum(((-_m.rcu[r, k] / ed) if (r, k) in _m.rcu else 0)
                    + ((_m.rcd[r, k] * ec) if (r, k) in _m.rcd else 0) for k in T if k <= t)
        e = ifm["soc"][(r, t)] + shift
        return e >= float(st.at[r, "soc_min_mwh"]) if lo else e <= float(st.at[r, "soc_max_mwh"])
    m.S_RT = pyo.Set(initialize=[(r, t) for r in S for t in T], dimen=2, ordered=True)
    m.ruc_soc_min = pyo.Constraint(m.S_RT, rule=lambda _m, r, t: soc(_m, r, t, True))
    m.ruc_soc_max = pyo.Constraint(m.S_RT, rule=lambda _m, r, t: soc(_m, r, t, False))

    # RUC transfers and balance against the forecast
    K = list(d.interfaces.index)
    m.KT = pyo.Set(initialize=[(k, t) for k in K for t in T], dimen=2, ordered=True)
    m.xR = pyo.Var(m.KT, within=pyo.NonNegativeReals)
    lim = {(k, t): float(d.interface_hours.at[(k, t), "limit_mw"]) for (k, t) in m.KT}
    xb = {(k, t): float(d.interface_hours.at[(k, t), "base_transfer_mw"]) for (k, t) in m.KT}
    if p.phase == 1:
        for key in m.KT:
            m.xR[key].fix(0)

    def etsr(_m, k, t):
        kr = d.reverse(k)
        lhs = _m.xR[k, t] + ifm["yU"][(k, t)]
        rhs = lim[(k, t)] - xb[(k, t)]
        if kr is not None:
            lhs = lhs - _m.xR[kr, t] + ifm["yD"][(kr, t)]
            rhs += xb[(kr, t)]
        return lhs <= rhs
    m.etsr_limit = pyo.Constraint(m.KT, rule=etsr)
    m.etsr_gross = pyo.Constraint(m.KT, rule=lambda _m, k, t: _m.xR[k, t] <= lim[(k, t)])
    # the undeclared reverse direction (§5.2: an ETSR with X^max = 0) still binds the IFM's yD
    from network.transfers import undeclared_index
    m.KT_UNDECLARED = pyo.Set(initialize=undeclared_index(d, list(m.KT)), dimen=2, ordered=True)
    m.etsr_undeclared = pyo.Constraint(
        m.KT_UNDECLARED, rule=lambda _m, k, t: ifm["yD"][(k, t)] - _m.xR[k, t] <= xb[(k, t)])
    from network.transfers import nec_limits, nec_rows
    from products.energy import base_transfer_rhs
    base = base_transfer_rhs(d)
    m.BAA_T = pyo.Set(initialize=[(a, t) for a in d.baas for t in T], dimen=2, ordered=True)
    m.s_ruc_under = pyo.Var(m.BAA_T, within=pyo.NonNegativeReals)
    m.s_ruc_over = pyo.Var(m.BAA_T, within=pyo.NonNegativeReals)
    members = {a: [r for r in d.in_baa(a) if r in set(phys)] for a in d.baas}
    itf = d.interfaces

    loss = ifm.get("loss_mw")   # the IFM's losses as constant demand [A] (marginal_losses)

    def balance(_m, a, t):
        inflow = sum(_m.xR[k, t] for k in itf.index[itf["to_baa"] == a]) \
            - sum(_m.xR[k, t] for k in itf.index[itf["from_baa"] == a])
        rhs = float(d.baa_hours.at[(a, t), "demand_forecast_mw"]) + base[(a, t)]
        if loss:
            rhs += loss[(a, t)]
        return (sum(r_expr(r, t) for r in members[a]) + inflow + _m.s_ruc_under[a, t]
                - _m.s_ruc_over[a, t] == rhs)
    m.balance = pyo.Constraint(m.BAA_T, rule=balance)
    if tight_rc:
        add_identical_unit_order_rows(b, ifm)
        add_rc_cover_rows(b, ifm, bound, members, rhs={
            (a, t): float(d.baa_hours.at[(a, t), "demand_forecast_mw"]) + base[(a, t)]
            + (loss[(a, t)] if loss else 0.0) for (a, t) in m.BAA_T})
    # import/export tie limits on the RUC schedules r (spec §5.5, §5.11)
    from network import ties
    ties.add_to_model(b, inj=r_expr)
    nec_on = [a for a in d.baas
              if bool(d.scenario.tables["baas"].set_index("baa").at[a, "nec_enabled"])]
    if nec_on and p.phase != 1:
        limits = nec_limits(d)
        rows = nec_rows(d, nec_on, limits)
        m.NEC = pyo.Set(initialize=rows, dimen=2, ordered=True)

        def nec(_m, a, t):
            out = sum(_m.xR[k, t] + ifm["yU"][(k, t)] for k in itf.index[itf["from_baa"] == a])
            inn = sum(_m.xR[k, t] + ifm["yU"][(k, t)] for k in itf.index[itf["to_baa"] == a])
            return out - inn <= limits[(a, t)]
        m.nec_limit = pyo.Constraint(m.NEC, rule=nec)
    # costs (spec §4.2)
    b.costs.append(sum(d.avail_price(r, "rcu", t) * m.rcu[r, t] for (r, t) in m.RCU_IDX))
    b.costs.append(sum(d.avail_price(r, "rcd", t) * m.rcd[r, t] for (r, t) in m.RCD_IDX))

    # start-ups of units the RUC commits (hours the IFM has them off), at the tier of their
    # off-line spell under u^R as in the IFM (spec §4.1, §4.2), and their min-load cost
    ruc_hours = [(i, t) for (i, t) in m.GT if ifm["u"][(i, t)] < 0.5]
    add_startup_costs(b, ruc_hours, m.vR, m.wR, suffix="R", prefix="ruc")
    b.costs.append(sum(float(th.at[i, "min_load_cost_usd_per_h"]) * (m.uR[i, t] - ifm["u"][(i, t)])
                       for (i, t) in ruc_hours))
    b.costs.append(p.penalty_ruc_under_usd_per_mwh * sum(m.s_ruc_under.values())
                   + p.penalty_ruc_over_usd_per_mwh * sum(m.s_ruc_over.values()))
    # network hooks (flows of the RUC schedule against the forecast, spec §5.11)
    b.info["inj_resources"] = [r for r in phys]
    b.info["inj_fn"] = r_expr
    ldf = d.ldf
    fc = {}
    for n in d.buses:
        a = d.bus_baa[n]
        fc[n] = [-float(ldf[n]) * float(d.baa_hours.at[(a, t), "demand_forecast_mw"]) for t in T]
        if loss:   # the IFM's losses: demand withdrawn by LDF like the forecast [A]
            fc[n] = [v - float(ldf[n]) * loss[(a, t)] for v, t in zip(fc[n], T)]
    import pandas as pd
    b.info["inj_const"] = pd.DataFrame.from_dict(fc, orient="index", columns=T)
    b.info["baa_fn"] = lambda a, t: m.s_ruc_under[a, t] - m.s_ruc_over[a, t]
    b.info["r_expr"] = r_expr
    m.obj = pyo.Objective(expr=b.objective_expr(), sense=pyo.minimize)
    return b


def max_ruc_schedule_mw(d: MarketData, ifm: dict, m: pyo.ConcreteModel, r: str, t: int) -> float:
    """The most the RUC schedule r = g^IFM + RCU − RCD of `r` can be in hour `t` when its
    commitment is not the RUC's choice (spec §5.11): g^IFM plus the least of its RCU bid, its
    capacity row's room (Pmax − off-line NR − IFM up-awards, 0 for a unit held off) and its
    RCU ramp (60·ramp); g^IFM without an RCU bid."""
    g = float(ifm["g"][(r, t)])
    if (r, t) not in m.rcu:
        return g
    room = float(d.pmax.at[r, t])   # the capacity row's right-hand side (build_ruc, upper)
    if d.resources.at[r, "type"] == "thermal":
        on = m.uR[r, t].fixed and m.uR[r, t].value > 0.5
        room = (room - ifm.get("nr_off", {}).get((r, t), 0.0)) if on else 0.0
    cap = room - float(ifm["up"][(r, t)])
    most = min(g + float(d.avail_mw(r, "rcu", t)), cap)
    rr = d.ramp_up(r)
    if math.isfinite(rr):
        most = min(most, g + 60 * rr)
    return most


def add_rc_cover_rows(b: ModelBundle, ifm: dict, bound: dict, members: dict,
                      rhs: dict) -> None:
    """Covering rows of the RUC (issue 20: same optimum, a stronger search): per BAA-hour,
    Σ_{i newly committable} M_it u^R_it + RUC inflow + under-slack ≥ forecast − Σ_{other r}
    (most r can be), and per hour the same summed over BAAs (transfers cancel). Each row is the
    BAA's RUC balance (§5.11) with every schedule replaced by its upper bound
    (`max_ruc_schedule_mw`, `rc_commit_bound_mw`), so it cuts off no solution; written out, it
    is a knapsack HiGHS's presolve tightens (a unit's M above the hour's need counts as the
    need) and its cover and MIR cuts round: three 55 MW units, not 2.7 of them, cover 150 MW.
    Rows whose need is met without a new commitment are left out."""
    m, d = b.m, b.d
    itf = d.interfaces
    free = set(bound)   # `bound` holds exactly the unit-hours whose u^R is free
    parts = {}
    for (a, t) in m.BAA_T:
        units = [i for i in members[a] if (i, t) in free]
        fixed_mw = sum(max_ruc_schedule_mw(d, ifm, m, r, t) for r in members[a]
                       if (r, t) not in free)
        parts[(a, t)] = (units, rhs[(a, t)] - fixed_mw)
    baa_rows = [(a, t) for (a, t), (units, need) in parts.items() if units and need > 1e-6]

    def baa_cover(_m, a, t):
        units, need = parts[(a, t)]
        inflow = sum(_m.xR[k, t] for k in itf.index[itf["to_baa"] == a]) \
            - sum(_m.xR[k, t] for k in itf.index[itf["from_baa"] == a])
        return sum(bound[(i, t)] * _m.uR[i, t] for i in units) + inflow \
            + _m.s_ruc_under[a, t] >= need
    m.RC_COVER_BAA = pyo.Set(initialize=baa_rows, dimen=2, ordered=True)
    m.ruc_cover_baa = pyo.Constraint(m.RC_COVER_BAA, rule=baa_cover)

    need_t = {t: sum(parts[(a, t)][1] for a in d.baas) for t in d.hours}
    hours = [t for t in d.hours if need_t[t] > 1e-6 and any(parts[(a, t)][0] for a in d.baas)]

    def system_cover(_m, t):
        return sum(bound[(i, t)] * _m.uR[i, t] for a in d.baas for i in parts[(a, t)][0]) \
            + sum(_m.s_ruc_under[a, t] for a in d.baas) >= need_t[t]
    m.RC_COVER_T = pyo.Set(initialize=hours, ordered=True)
    m.ruc_cover_system = pyo.Constraint(m.RC_COVER_T, rule=system_cover)


def unit_fingerprints(d: MarketData, ifm: dict, m: pyo.ConcreteModel,
                      units: list[str]) -> dict[str, tuple]:
    """{unit: everything the RUC knows of thermal unit `unit` but its name}: its rows in every
    scenario table that names resources (as cleared: after bid mitigation), its IFM solution
    and its RUC commitment fixings. Two units with the same fingerprint are interchangeable.
    Each table is split by resource once (a mask per unit and table made the RUC build
    1.2–1.8 s against 0.7–0.8 s now on RTS-GMLC days)."""
    wanted = set(units)
    rows: dict[str, list] = {i: [] for i in units}
    for name in sorted(d.scenario.tables):
        t = d.scenario.tables[name]
        if not hasattr(t, "columns") or "resource" not in t.columns:
            continue
        sub = t.loc[t["resource"].isin(wanted)]
        cells = sub.drop(columns="resource").astype(str).to_numpy().tolist()
        mine: dict[str, list] = {i: [] for i in units}
        for r, row in zip(sub["resource"], cells):
            mine[r].append(tuple(row))
        for i in units:
            rows[i].append((name, tuple(mine[i])))
    T = d.hours
    out = {}
    for i in units:
        sol = tuple(round(float(ifm[k].get((i, t), 0.0)), 9) for k in ("u", "g", "up", "dn")
                    for t in T)
        off_nr = tuple(round(float(ifm.get("nr_off", {}).get((i, t), 0.0)), 9) for t in T)
        fixed = tuple((m.uR[i, t].fixed, m.uR[i, t].value if m.uR[i, t].fixed else None)
                      for t in T)
        out[i] = (tuple(rows[i]), sol, off_nr, fixed)
    return out


def add_identical_unit_order_rows(b: ModelBundle, ifm: dict) -> None:
    """Order rows for interchangeable units (issue 20: same optimum, less symmetry): where
    thermal units i < j (by name) have the same fingerprint (`unit_fingerprints`: same bus,
    bids, limits, initial state, IFM schedule), swapping their whole RUC schedules changes
    neither the feasibility nor the cost, so some optimum has Σ_t u^R_it ≥ Σ_t u^R_jt; the row
    keeps that one and spares the branch and bound every relabelled copy (RTS-GMLC: 18 groups, e.g.
    315_CT_6/315_CT_8 or five 315_STEAM units; 2020-07-04's RUC: 600 s at a 5 % gap → 62 s to
    0.1 %, with the covering rows)."""
    m, d = b.m, b.d
    free = [i for i in m.G_RUC if not all(m.uR[i, t].fixed for t in d.hours)]
    groups: dict = {}
    for i, fp in unit_fingerprints(d, ifm, m, free).items():
        groups.setdefault(fp, []).append(i)
    pairs = [(a, c) for g in groups.values() for a, c in zip(sorted(g)[:-1], sorted(g)[1:])]
    m.RUC_ORDER = pyo.Set(initialize=pairs, dimen=2, ordered=True)
    m.ruc_identical_order = pyo.Constraint(
        m.RUC_ORDER, rule=lambda _m, i, j: sum(_m.uR[i, t] for t in d.hours)
        >= sum(_m.uR[j, t] for t in d.hours))


def rc_commit_bound_mw(d: MarketData, ifm: dict, i: str, t: int) -> float:
    """M_it (MW) of the row RCU_it ≤ M_it · u^R_it for a unit off in the IFM hour (spec §5.11,
    issue 20): the least of its RCU availability bid, its capacity row at u^R = 1
    (Pmax − off-line NR − IFM up-awards − g^IFM) and its RCU ramp row at u^R = 1
    (Pmin + 60·ramp). At u^R = 0 the capacity rows allow only RCU = RCD, which costs ≥ 0
    (bid prices ≥ 0, spec §2.5) and changes nothing, so the row keeps the optimum while the
    LP can no longer buy a unit's RCU at the fraction RCU/Pmax of its min-load and start-up
    cost."""
    cap = float(d.pmax.at[i, t]) - ifm.get("nr_off", {}).get((i, t), 0.0) \
        - ifm["up"][(i, t)] - ifm["g"][(i, t)]
    m_mw = min(float(d.avail_mw(i, "rcu", t)), cap)
    rr = d.ramp_up(i)
    if math.isfinite(rr):
        m_mw = min(m_mw, float(d.resources.at[i, "pmin_mw"]) + 60 * rr)
    return max(m_mw, 0.0)


def fix_implied_transitions(m: pyo.ConcreteModel, th) -> None:
    """Fix v^R = w^R = 0 where u^R is fixed at hour t and at t−1 (or the initial status) to the
    same value (issue 20): the logic row then reads v^R = w^R and the min up/down rows only
    bound sums of v^R, w^R from above, so 0 is feasible, and never dearer (v^R costs its
    start-up in hours with u = 0, nothing in hours with u = 1, spec §4.2). The same values
    `clearing.market.engine.fix_commitment` fixes at a given commitment."""
    for (i, t) in m.GT:
        now = m.uR[i, t]
        if not now.fixed:
            continue
        if t > 1:
            prev = m.uR[i, t - 1]
            if not prev.fixed:
                continue
            before = round(prev.value)
        else:
            before = 1 if th.at[i, "initial_on"] else 0
        if round(now.value) == before:
            m.vR[i, t].fix(0)
            m.wR[i, t].fix(0)


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
#: the `baa_summary` columns of the RC product (spec §5.11; docs/engine.md "Reading the results")
RC_SUMMARY_COLUMNS = ("rcu_requirement_mw", "rcu_cleared_mw", "rcu_relaxed_mw",
                      "rcd_requirement_mw", "rcd_cleared_mw", "rcd_relaxed_mw")
RUC_TRANSFER_COLUMNS = ("interface", "hour", "from_baa", "to_baa", "mw", "rc_transfer_mw")


#: an RC award above this (MW) is an award (as in `_awarded_baa_hours`)
RC_AWARD_TOL_MW = 1e-6


def extract_ifm(rb) -> None:
    """The IFM awards no RC (spec §5.11: the RUC does): `schedules` rcu_mw = rcd_mw = 0 and no
    proxy award, which the RUC's read-back (`extract_ruc`) replaces."""
    idx = [(r, t) for r in rb.d.resources.index for t in rb.d.hours]
    rb.columns("schedules", pd.DataFrame({"resource": [r for r, _ in idx],
                                          "hour": [t for _, t in idx],
                                          "rcu_mw": 0.0, "rcd_mw": 0.0,
                                          "rcu_proxy": False, "rcd_proxy": False}))


def proxy_awards(d: MarketData, product: str, resources, hours, awards_mw) -> list[bool]:
    """`schedules.<product>_proxy` (spec §5.11, §8.2): per row, whether its `product` ('rcu'
    or 'rcd') award (`awards_mw`, MW) is positive and clears a bid that is ISO-inserted in
    that hour — inserted by scenarios.bids for an RA resource or certified VER without an RCU
    bid, or written with `iso_inserted` in the scenario. Such awards are proxy awards: paid,
    never no-paid (§8.2)."""
    out = []
    for r, t, mw in zip(resources, hours, awards_mw):
        bid = d.avail_bid(str(r), product, int(t)) if mw > RC_AWARD_TOL_MW else None
        out.append(bool(bid is not None and bid[2]))
    return out


def net_ruc_cycles(d: MarketData, m: pyo.ConcreteModel) -> dict:
    """Cancel RUC transfer cycles of x^R in place (yU, yD are the IFM's constants; no hurdle
    cost in the RUC, §4.2); {hour: MW removed} (network.transfers.net_model_cycles)."""
    return net_model_cycles(d, m, {"x": m.xR}, hurdles=False)


def extract_ruc(rb) -> None:
    """Read back the RUC (spec §5.11, §6.4) into the IFM's tables (`rb.into`; `rb.given` is the
    IFM solution the RUC started from): transfer cycles of x^R cancelled first
    (`transfer_cycle_netting`), then `schedules` rcu_mw, rcd_mw (replacing the IFM's zeros) and
    ruc_committed, the RC prices (`resource_prices` RCUMP/RCDMP, `product_prices` rcu/rcd,
    `baa_prices` ruc_price), the `baa_summary` RC columns, the RUC `relaxations` and
    `ruc_transfers`. The RUC's branch rows are read back by the network component before it."""
    if rb.d.params.transfer_cycle_netting:
        rb.b.info["transfer_cycles_netted"] = net_ruc_cycles(rb.d, rb.m)
    rcu, rcd = _rc_awards(rb.m)
    _read_schedules(rb, rcu, rcd)
    _read_prices(rb, rcu, rcd)
    _read_summary(rb, rcu, rcd)
    _read_relaxations(rb)
    _read_transfers(rb)


def _rc_awards(m: pyo.ConcreteModel) -> tuple[dict, dict]:
    """RCU and RCD per resource-hour, one product per resource-hour (spec §5.11): without the ζ
    binaries the two are netted; with bid prices ≥ 0 both are positive at an optimum only when
    both are free, so netting keeps the schedule r and the cost."""
    rcu = {(r, t): value(m.rcu[r, t]) for (r, t) in m.RCU_IDX}
    rcd = {(r, t): value(m.rcd[r, t]) for (r, t) in m.RCD_IDX}
    for key in set(rcu) & set(rcd):
        both = min(rcu[key], rcd[key])
        rcu[key] -= both
        rcd[key] -= both
    return rcu, rcd


def _read_schedules(rb, rcu: dict, rcd: dict) -> None:
    """`schedules` rcu_mw, rcd_mw, ruc_committed (the RUC's u^R; the IFM commitment for
    units without RUC binaries) and rcu_proxy, rcd_proxy (awards on ISO-inserted bids,
    `proxy_awards`)."""
    m = rb.m
    uR = {(i, t): round(value(m.uR[i, t])) for (i, t) in m.GT}
    sch = rb.into["schedules"]
    key = list(zip(sch["resource"], sch["hour"]))
    up, dn = [rcu.get(k, 0.0) for k in key], [rcd.get(k, 0.0) for k in key]
    rb.columns("schedules", pd.DataFrame({
        "resource": sch["resource"], "hour": sch["hour"], "rcu_mw": up, "rcd_mw": dn,
        "ruc_committed": [uR.get(k, c) for k, c in zip(key, sch["committed"])],
        "rcu_proxy": proxy_awards(rb.d, "rcu", sch["resource"], sch["hour"], up),
        "rcd_proxy": proxy_awards(rb.d, "rcd", sch["resource"], sch["hour"], dn)}))


def _awarded_baa_hours(d: MarketData, awards: dict) -> set:
    """(BAA, hour) pairs in which some resource holds an award above 1e-6 MW."""
    res = d.resources
    return {(res.at[r, "baa"], t) for (r, t), v in awards.items() if v > 1e-6}


def _read_prices(rb, rcu: dict, rcd: dict) -> None:
    """RUC price_n = π^R_b + the RUC congestion at n; RCUMP = price, RCDMP = −price in a BAA-hour
    with an RCU (RCD) award, else 0 [A] (spec §6.4): `resource_prices` rcu/rcd_usd_per_mwh,
    `product_prices` rows rcu, rcd (π^R_b, −π^R_b), `baa_prices` ruc_price = π^R_b."""
    d = rb.d
    pi, cong = balance_prices(rb), congestion(rb)
    has_rcu, has_rcd = _awarded_baa_hours(d, rcu), _awarded_baa_hours(d, rcd)
    rp = rb.into["resource_prices"]
    price = [float(pi.at[a, t]) + float(cong.at[n, t])
             for a, n, t in zip(rp["baa"], rp["bus"], rp["hour"])]
    at = list(zip(rp["baa"], rp["hour"]))
    rb.columns("resource_prices", pd.DataFrame({
        "resource": rp["resource"], "hour": rp["hour"],
        "rcu_usd_per_mwh": [pr if k in has_rcu else 0.0 for pr, k in zip(price, at)],
        "rcd_usd_per_mwh": [-pr if k in has_rcd else 0.0 for pr, k in zip(price, at)]}))
    rows = []
    for a in d.baas:
        for t in d.hours:
            piR = float(pi.at[a, t])
            rows.append(dict(baa=a, product="rcu", hour=t,
                             price_usd_per_mwh=piR if (a, t) in has_rcu else 0.0))
            rows.append(dict(baa=a, product="rcd", hour=t,
                             price_usd_per_mwh=-piR if (a, t) in has_rcd else 0.0))
    rb.rows("product_prices", rows)
    rb.columns("baa_prices", pd.DataFrame(
        [dict(baa=a, hour=t, ruc_price=float(pi.at[a, t])) for a in d.baas for t in d.hours]))


def _read_summary(rb, rcu: dict, rcd: dict) -> None:
    """`baa_summary` RC columns: the requirement is the forecast gap the IFM physical schedule
    left (forecast + base transfers − physical IFM injection − IFM transfers in), cleared = the
    RC awarded in the BAA, relaxed = the RUC balance slack."""
    d, m, ifm = rb.d, rb.m, rb.given
    res, itf = d.resources, d.interfaces
    base = base_transfer_rhs(d)
    phys = set(r for r in res.index if res.at[r, "type"] in RUC_TYPES)
    cleared = {}
    for name, awards in (("rcu", rcu), ("rcd", rcd)):
        for (r, t), v in awards.items():
            key = (name, res.at[r, "baa"], t)
            cleared[key] = cleared.get(key, 0.0) + v
    rows = []
    for a in d.baas:
        for t in d.hours:
            sup = sum(ifm["g"][(r, t)] for r in d.in_baa(a) if r in phys)
            inn = sum(ifm["x"][(k, t)] for k in itf.index[itf["to_baa"] == a]) - \
                sum(ifm["x"][(k, t)] for k in itf.index[itf["from_baa"] == a])
            gap = float(d.baa_hours.at[(a, t), "demand_forecast_mw"]) + base[(a, t)] - sup - inn
            if ifm.get("loss_mw"):
                gap += ifm["loss_mw"][(a, t)]   # the IFM's losses, constant demand [A]
            rows.append(dict(baa=a, hour=t, rcu_requirement_mw=max(0.0, gap),
                             rcu_cleared_mw=cleared.get(("rcu", a, t), 0.0),
                             rcu_relaxed_mw=value(m.s_ruc_under[a, t]),
                             rcd_requirement_mw=max(0.0, -gap),
                             rcd_cleared_mw=cleared.get(("rcd", a, t), 0.0),
                             rcd_relaxed_mw=value(m.s_ruc_over[a, t])))
    rb.columns("baa_summary", pd.DataFrame(rows, columns=["baa", "hour", *RC_SUMMARY_COLUMNS]))


def _read_relaxations(rb) -> None:
    """`relaxations` ruc_under / ruc_over per BAA-hour at their penalties (spec §4.2)."""
    m, p = rb.m, rb.d.params
    rb.slack_relaxations(m.BAA_T, (
        (m.s_ruc_under, "ruc_under", p.penalty_ruc_under_usd_per_mwh),
        (m.s_ruc_over, "ruc_over", p.penalty_ruc_over_usd_per_mwh)))


def _read_transfers(rb) -> None:
    """`ruc_transfers`: x^R per ETSR and hour and its change from the IFM's x (RC moved)."""
    d, m, ifm = rb.d, rb.m, rb.given
    itf = d.interfaces
    xR = {(k, t): value(m.xR[k, t]) for (k, t) in m.KT}
    rb.rows("ruc_transfers", pd.DataFrame(
        [dict(interface=k, hour=t, from_baa=itf.at[k, "from_baa"], to_baa=itf.at[k, "to_baa"],
              mw=xR[(k, t)], rc_transfer_mw=xR[(k, t)] - ifm["x"][(k, t)]) for (k, t) in m.KT],
        columns=list(RUC_TRANSFER_COLUMNS)))


def extract_without_ruc(rb) -> None:
    """RUC switched off or skipped: the RC columns at zero so every table keeps its contract
    columns (`rb.into`: the IFM's tables); ruc_committed = the IFM commitment."""
    into = rb.into
    sch, rp, bs = into["schedules"], into["resource_prices"], into["baa_summary"]
    rb.columns("resource_prices", rp[["resource", "hour"]].assign(rcu_usd_per_mwh=0.0,
                                                                  rcd_usd_per_mwh=0.0))
    rb.columns("baa_summary", bs[["baa", "hour"]].assign(**{c: 0.0 for c in RC_SUMMARY_COLUMNS}))
    rb.columns("schedules", sch[["resource", "hour"]].assign(ruc_committed=sch["committed"]))
