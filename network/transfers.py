"""EDAM transfers between BAAs over ETSRs (spec §5.2) and their shadow prices (§6.1).

One inequality per directed ETSR covers energy and the deployment of IR sent across it:
x_k − x_k̄ + yU_k + yD_k̄ ≤ X^max_k − (X^base_k − X^base_k̄) (dual ν), plus the gross bound
x_k ≤ X^max_k (dual β); the reported shadow price is ν + β. Phase 1 fixes x = yU = yD = 0.
A direction the scenario does not declare is an ETSR with X^max = 0 and no x or yU of its own:
its row −x_k + yD_k ≤ X^base_k (`etsr_undeclared`) still binds yD of the declared direction
(§5.2). The net export constraint (NEC) limits a BAA's net export of energy and IRU.

After the solve (§6.1 [A], parameter `transfer_cycle_netting`): with zero hurdles the optimum is
degenerate and the solver may report transfers that go round in circles (A→B→C→A, or both
directions of one ETSR pair). `net_transfer_cycles` cancels every such cycle the ETSR rows allow,
keeping each BAA's net position of x, yU and yD (so balances, IR credits, NEC rows and prices are
untouched) and never raising the hurdle cost. `find_transfer_cycles` lists the cycles left in a
`transfers` table. Transfer revenue TR_kt = x_kt (π_e(k),t − π_o(k),t) and its allocation to the
two BAAs (`transfer_revenue_share_from`) are `transfer_revenue_usd` and `transfer_revenue_lines`.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from clearing.market.bundle import ModelBundle
from scenarios.errors import Problem, ScenarioError

CYCLE_TOL_MW = 1e-6        # a transfer at or below this is no transfer (cycle search and netting)
COMMODITIES = ("yU", "yD", "x")  # netting order: IR credits first, they only free ETSR headroom


def add_to_model(b: ModelBundle, with_ir: bool = True, with_nec: bool = True) -> list:
    """ETSR transfers on the bundle's periods (spec §5.2): x, yU, yD per ETSR and period, the
    ETSR row, the gross bound, the undeclared-direction row, the per-BAA transfer and IR credit
    terms, the hurdle cost and (`with_nec`) the NEC. `with_ir=False` fixes yU = yD = 0 (a run
    without IR transfers: the RUC's own copy, RT); the rows keep their form, so every run holds
    the same ETSR rows. Returns the cost terms."""
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
    m.KT_UNDECLARED = pyo.Set(initialize=undeclared_index(d, idx), dimen=2, ordered=True)
    m.etsr_undeclared = pyo.Constraint(
        m.KT_UNDECLARED, rule=lambda _m, k, t: _m.yD[k, t] - _m.x[k, t] <= xb[(k, t)])
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
    if with_nec:
        _add_nec(b)
    else:
        m.NEC = pyo.Set(initialize=[], dimen=2)
    return [cost]


def undeclared_index(d, idx: list) -> list:
    """(k, t) of the ETSRs whose yD enters no other ETSR's row: those whose reverse direction
    the scenario does not declare, whose row, an ETSR with X^max = 0 (§5.2), reads
    −x_k + yD_k ≤ X^base_k; and [A] a second ETSR declared for the same direction (parallel
    ETSRs: the reverse row takes the first one's yD only), held to the same row of its own."""
    paired = {d.reverse(j) for j in d.interfaces.index} - {None}
    return [(k, t) for (k, t) in idx if k not in paired]


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
    """NEC_bt: submitted nec_mw, else the §5.2 formula from the RSE supply (clearing.market.rse)."""
    from clearing.market.rse import net_export_limit
    computed = net_export_limit(d.scenario).set_index(["baa", "hour"])["nec_mw"]
    out = {}
    for a in d.baas:
        for t in d.hours:
            v = float(d.baa_hours.at[(a, t), "nec_mw"])
            out[(a, t)] = v if v == v else float(computed.get((a, t), math.inf))
    return out


# ---------------------------------------------------------------------------------------------
# transfers that go round in circles (§5.2, §6.1 [A])
# ---------------------------------------------------------------------------------------------
def find_transfer_cycles(transfers_df: pd.DataFrame, column: str = "mw",
                         tol_mw: float = CYCLE_TOL_MW) -> list[dict]:
    """Directed cycles of positive transfers in a `transfers` table (one per period).

    `transfers_df` has interface, from_baa, to_baa, hour (and `interval` in RT) and `column`
    (`mw` for x; `iru_transfer_mw` / `ird_transfer_mw` for yU / yD). Both directions of one ETSR
    pair carrying flow is a 2-cycle. Returns one dict per simple cycle, by period, shorter
    cycles first: hour (and interval), baas (the cycle's BAAs in order, from the smallest id),
    interfaces (one per arc; with parallel ETSRs the one with
    the most flow) and mw (the smallest flow on the cycle); [] when there is none."""
    if transfers_df is None or not len(transfers_df) or column not in transfers_df.columns:
        return []
    period_cols = ["hour"] + (["interval"] if "interval" in transfers_df.columns else [])
    live = transfers_df[pd.to_numeric(transfers_df[column], errors="coerce").fillna(0.0) > tol_mw]
    out = []
    for key, g in live.groupby(period_cols, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        graph = nx.DiGraph()
        for k, o, e, v in zip(g["interface"], g["from_baa"], g["to_baa"], g[column].astype(float)):
            if not graph.has_edge(o, e) or graph[o][e]["mw"] < v:
                graph.add_edge(str(o), str(e), interface=str(k), mw=float(v))
        found = []
        for cyc in nx.simple_cycles(graph):
            i = cyc.index(min(cyc))  # start at the smallest BAA id: the same cycle, one way
            cyc = cyc[i:] + cyc[:i]
            arcs = list(zip(cyc, cyc[1:] + cyc[:1]))
            rec = {c: (int(v) if isinstance(v, (int, np.integer)) else v)
                   for c, v in zip(period_cols, key)}
            rec.update(baas=[str(b) for b in cyc],
                       interfaces=[graph[u][v]["interface"] for u, v in arcs],
                       mw=min(graph[u][v]["mw"] for u, v in arcs))
            found.append(rec)
        out += sorted(found, key=lambda r: (len(r["baas"]), r["baas"]))
    return out


def cancel_transfer_cycles(arcs: dict, flows: dict, rows: list, cost: dict | None = None,
                           tol_mw: float = CYCLE_TOL_MW, max_steps: int = 10_000) -> dict:
    """Cancel directed cycles of transfers, one commodity at a time (pure; §5.2, §6.1 [A]).

    `arcs[k] = (o(k), e(k))`; `flows[(c, k)]` ≥ 0 the flow of commodity c ∈ {yU, yD, x} on ETSR
    k; `rows` the period's rows (coefficients {(c, k): a}, rhs) meaning Σ a·flow ≤ rhs (the ETSR,
    undeclared-direction, gross and NEC rows; a row the flows violate is held at its value);
    `cost[(c, k)]` $/MWh (hurdles). Cycles are taken shortest first (2-cycles of one ETSR pair,
    then longer ones), in BAA-id order. Removing δ from every arc of a cycle keeps each BAA's net
    position of c; δ is capped by the smallest flow on the cycle and by every row whose
    left-hand side it raises (an x cycle lifts the reverse rows it leaves: −x_k in row k̄).
    Cycles whose cost sum is negative are kept (cancelling would raise the cost). Returns the
    new flows (same keys)."""
    cost = cost or {}
    f = dict(flows)
    lhs0 = [sum(a * f.get(v, 0.0) for v, a in co.items()) for co, _ in rows]
    rhs = [max(r, l0) for (_, r), l0 in zip(rows, lhs0)]
    steps = 0
    for c in COMMODITIES:
        changed = True
        while changed and steps < max_steps:
            changed = False
            graph = nx.DiGraph()
            for (cc, k), v in f.items():
                if cc != c or v <= tol_mw:
                    continue
                o, e = arcs[k]
                if not graph.has_edge(o, e) or f[(c, graph[o][e]["k"])] < v:
                    graph.add_edge(o, e, k=k)
            for cyc in _cycles_in_order(graph):
                ks = [graph[u][v]["k"] for u, v in zip(cyc, cyc[1:] + cyc[:1])]
                if sum(cost.get((c, k), 0.0) for k in ks) < -1e-12:
                    continue
                delta = min(f[(c, k)] for k in ks)
                on = {(c, k) for k in ks}
                for (co, _), r in zip(rows, rhs):
                    rise = -sum(a for v, a in co.items() if v in on)
                    if rise > 1e-12:
                        slack = r - sum(a * f.get(v, 0.0) for v, a in co.items())
                        delta = min(delta, max(0.0, slack) / rise)
                if delta > tol_mw:
                    for v in on:
                        f[v] = max(0.0, f[v] - delta)
                    changed = True
                    steps += 1
                    break
    return f


def _cycles_in_order(graph: nx.DiGraph):
    """Simple cycles, shortest first and, per length, in the order of their BAA ids (each from
    its smallest id): the netting does not depend on hash seeds or insertion order."""
    for n in range(2, graph.number_of_nodes() + 1):
        found = []
        for cyc in nx.simple_cycles(graph, length_bound=n):
            if len(cyc) == n:
                i = cyc.index(min(cyc))
                found.append(cyc[i:] + cyc[:i])
        yield from sorted(found)


def net_transfer_cycles(m: pyo.ConcreteModel, variables: dict, row_components: list,
                        arcs: dict, cost: dict | None = None,
                        tol_mw: float = CYCLE_TOL_MW) -> dict:
    """Cancel transfer cycles in a solved model's current values (`cancel_transfer_cycles` per
    period) and write the netted values back into the variables.

    `variables[c]` is the Var of commodity c indexed (k, period); `row_components` the indexed
    constraints (period last in the index) that hold those variables besides the per-BAA
    balances and IR credit rows (net positions do not change, so those stay satisfied); `arcs`
    k → (o, e); `cost[k]` $/MWh on x. Only periods with a cycle are touched. Returns
    {period: MW·arcs removed} for the periods changed."""
    cost = cost or {}
    by_period: dict = defaultdict(dict)
    owner = {}
    for c, var in variables.items():
        for (k, t) in var:
            v = var[k, t]
            by_period[t][(c, k)] = 0.0 if v.value is None else max(0.0, float(v.value))
            owner[id(v)] = (c, k)
    cyclic = [t for t, flows in by_period.items()
              if any(_has_cycle(arcs, flows, c, tol_mw) for c in variables)]
    if not cyclic:
        return {}
    cons: dict = defaultdict(list)
    for comp in row_components:
        for idx in comp:
            cons[idx[-1] if isinstance(idx, tuple) else idx].append(comp[idx])
    changed = {}
    for t in cyclic:
        flows = by_period[t]
        rows = [row for con in cons.get(t, []) for row in _linear_rows(con, owner)]
        new = cancel_transfer_cycles(arcs, flows, rows,
                                     {("x", k): c_ for k, c_ in cost.items()}, tol_mw)
        removed = sum(flows[key] - new[key] for key in flows)
        if removed > tol_mw:
            for (c, k), v in new.items():
                variables[c][k, t].set_value(v, skip_validation=True)
            changed[t] = removed
    return changed


def transfer_arcs(d) -> dict:
    """ETSR k -> (o(k), e(k)) of the scenario's interfaces."""
    itf = d.interfaces
    return {k: (str(itf.at[k, "from_baa"]), str(itf.at[k, "to_baa"])) for k in itf.index}


def net_model_cycles(d, m: pyo.ConcreteModel, commodities: dict, hurdles: bool = True) -> dict:
    """Cancel the transfer cycles of a solved model built by `add_to_model` in place (§5.2,
    §6.1 [A]): `commodities` {c: Var} to net (x, yU, yD in the IFM; x^R in the RUC; x in RT),
    the ETSR, gross, undeclared-direction and NEC rows as limits, hurdle costs on x when
    `hurdles`. Returns {period: MW removed} (`net_transfer_cycles`)."""
    rows = [m.etsr_limit, m.etsr_gross, m.etsr_undeclared]
    if hasattr(m, "nec_limit"):
        rows.append(m.nec_limit)
    cost = ({k: float(d.interfaces.at[k, "hurdle_usd_per_mwh"]) for k in d.interfaces.index}
            if hurdles else None)
    return net_transfer_cycles(m, commodities, rows, transfer_arcs(d), cost)


def _has_cycle(arcs: dict, flows: dict, c: str, tol_mw: float) -> bool:
    graph = nx.DiGraph()
    graph.add_edges_from(arcs[k] for (cc, k), v in flows.items() if cc == c and v > tol_mw)
    return not nx.is_directed_acyclic_graph(graph)


def _linear_rows(con, owner: dict) -> list:
    """A linear constraint as ≤ rows over the transfer variables: [({(c, k): a}, rhs)]; other
    variables and fixed ones count at their current values."""
    repn = generate_standard_repn(con.body, compute_values=True)
    co: dict = defaultdict(float)
    const = float(repn.constant or 0.0)
    for v, a in zip(repn.linear_vars, repn.linear_coefs):
        key = owner.get(id(v))
        if key is None or v.fixed:
            const += float(a) * float(v.value or 0.0)
        else:
            co[key] += float(a)
    out = []
    if con.has_ub():
        out.append((dict(co), float(pyo.value(con.upper)) - const))
    if con.has_lb():
        out.append(({v: -a for v, a in co.items()}, const - float(pyo.value(con.lower))))
    return out


# ---------------------------------------------------------------------------------------------
# transfer revenue (§6.1)
# ---------------------------------------------------------------------------------------------
def transfer_revenue_usd(mw: float, price_from_usd_per_mwh: float,
                         price_to_usd_per_mwh: float) -> float:
    """TR_kt = x_kt (π_e(k),t − π_o(k),t) in $ for one hour: the gross transfer of one direction
    times the BAA energy price difference (balance duals, not nodal LMPs) (§6.1)."""
    return float(mw) * (float(price_to_usd_per_mwh) - float(price_from_usd_per_mwh)) + 0.0


def transfer_revenue_lines(transfers: pd.DataFrame, share_from: float) -> pd.DataFrame:
    """Settlement lines `transfer_revenue`: each ETSR-hour's TR allocated `share_from` to its
    from-BAA and the rest to its to-BAA (§6.1 [A], parameter transfer_revenue_share_from), summed
    per BAA and hour; party = baa = the BAA, resource empty. quantity = Σ gross MW of the BAA's
    ETSRs with a transfer that hour, price = amount / quantity; amount > 0 is a payment to the
    BAA (products/settlement_core.py sign convention; a negative TR is a charge).
    `transfers` needs interface, hour, from_baa, to_baa, mw, transfer_revenue_usd."""
    from products.settlement_core import charge_lines
    need = ("hour", "from_baa", "to_baa", "mw", "transfer_revenue_usd")
    if transfers is None or not len(transfers) or any(c not in transfers for c in need):
        return charge_lines([], [], [], [], [], [], [], [])
    t = transfers[list(need)].copy()
    t["mw"] = pd.to_numeric(t["mw"], errors="coerce").fillna(0.0)
    t["tr"] = pd.to_numeric(t["transfer_revenue_usd"], errors="coerce").fillna(0.0)
    t = t[t["mw"] > CYCLE_TOL_MW]
    parts = pd.concat([
        pd.DataFrame({"baa": t["from_baa"].map(str), "hour": t["hour"].astype(int),
                      "mw": t["mw"], "amount": share_from * t["tr"]}),
        pd.DataFrame({"baa": t["to_baa"].map(str), "hour": t["hour"].astype(int),
                      "mw": t["mw"], "amount": (1.0 - share_from) * t["tr"]})])
    g = parts.groupby(["baa", "hour"], sort=True).agg(mw=("mw", "sum"), amount=("amount", "sum"))
    g = g.reset_index()
    g.loc[g["amount"].abs() <= 1e-9, "amount"] = 0.0  # equal prices: no rounding dust
    price = np.divide(g["amount"].to_numpy(float), g["mw"].to_numpy(float),
                      out=np.zeros(len(g)), where=g["mw"].to_numpy(float) > CYCLE_TOL_MW)
    return charge_lines("transfer_revenue", g["baa"].to_numpy(), g["baa"].to_numpy(),
                        g["hour"].to_numpy(), g["mw"].to_numpy(float), price,
                        g["amount"].to_numpy(float), "")


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
def extract(rb) -> None:
    """Read back the ETSR transfers (spec §5.2, §6.1): cancel transfer cycles first
    (`transfer_cycle_netting`), then the `transfers` table (x, limit, ν + β, revenue, net, base,
    yU, yD, ν, β), the `binding_constraints` rows etsr, etsr_undeclared and nec, and
    `baa_summary` net_export_mw; keeps x, yU, yD for the RUC."""
    from products.energy import balance_prices, base_transfer_rhs
    d, m, b = rb.d, rb.m, rb.b
    T, itf = d.hours, d.interfaces
    if d.params.transfer_cycle_netting:
        b.info["transfer_cycles_netted"] = net_model_cycles(d, m, {"x": m.x, "yU": m.yU,
                                                                   "yD": m.yD})
    val = lambda v: float(pyo.value(v, exception=False) or 0.0)  # noqa: E731
    x = {(k, t): val(m.x[k, t]) for (k, t) in m.KT}
    yU = {(k, t): val(m.yU[k, t]) for (k, t) in m.KT}
    yD = {(k, t): val(m.yD[k, t]) for (k, t) in m.KT}
    pi = balance_prices(rb)
    from products.ghg import baa_prices as ghg_baa_prices
    mu = ghg_baa_prices(rb)   # §5.13: the GHG component μ is taken out of the transfer revenue
    if mu:
        pi = pi.copy()
        for (a, t), v in mu.items():
            pi.at[a, t] -= v
    trows, bind = [], []
    for (k, t) in m.KT:
        nu = max(0.0, -rb.dual(m.etsr_limit[k, t]))
        beta = max(0.0, -rb.dual(m.etsr_gross[k, t]))
        kr = d.reverse(k)
        o, e = itf.at[k, "from_baa"], itf.at[k, "to_baa"]
        limit = float(d.interface_hours.at[(k, t), "limit_mw"])
        trows.append(dict(interface=k, hour=t, from_baa=o, to_baa=e, mw=x[(k, t)],
                          limit_mw=limit, shadow_price=nu + beta,
                          transfer_revenue_usd=transfer_revenue_usd(x[(k, t)], pi.at[o, t],
                                                                    pi.at[e, t]),
                          net_mw=x[(k, t)] - (x[(kr, t)] if kr else 0.0),
                          base_transfer_mw=float(d.interface_hours.at[(k, t), "base_transfer_mw"]),
                          iru_transfer_mw=yU[(k, t)], ird_transfer_mw=yD[(k, t)],
                          etsr_dual=nu, gross_bound_dual=beta))
        if nu + beta > 1e-9:
            bind.append(dict(constraint=k, hour=t, kind="etsr", shadow_price=nu + beta,
                             flow_mw=x[(k, t)] - (x[(kr, t)] if kr else 0.0) + yU[(k, t)]
                             + (yD[(kr, t)] if kr else 0.0), limit_mw=limit))
    for (k, t) in m.KT_UNDECLARED:
        nu_rev = max(0.0, -rb.dual(m.etsr_undeclared[k, t]))
        if nu_rev > 1e-9:  # the undeclared reverse direction's row (§5.2): yD_k − x_k ≤ X^base_k
            bind.append(dict(constraint=f"{k}:undeclared_reverse", hour=t, kind="etsr_undeclared",
                             shadow_price=nu_rev, flow_mw=yD[(k, t)] - x[(k, t)],
                             limit_mw=float(d.interface_hours.at[(k, t), "base_transfer_mw"])))
    for (a, t) in m.NEC:
        lam = max(0.0, -rb.dual(m.nec_limit[a, t]))
        if lam > 1e-9:
            bind.append(dict(constraint=f"NEC_{a}", hour=t, kind="nec", shadow_price=lam,
                             flow_mw=val(m.nec_limit[a, t].body),
                             limit_mw=val(m.nec_limit[a, t].upper)))
    rb.rows("transfers", pd.DataFrame(trows, columns=[
        "interface", "hour", "from_baa", "to_baa", "mw", "limit_mw", "shadow_price",
        "transfer_revenue_usd", "net_mw", "base_transfer_mw", "iru_transfer_mw",
        "ird_transfer_mw", "etsr_dual", "gross_bound_dual"]))
    rb.rows("binding_constraints", bind)
    base = base_transfer_rhs(d)
    rb.columns("baa_summary", pd.DataFrame(
        [dict(baa=a, hour=t, net_export_mw=sum(x[(k, t)] for k in itf.index[itf["from_baa"] == a])
              - sum(x[(k, t)] for k in itf.index[itf["to_baa"] == a]) + base[(a, t)])
         for a in d.baas for t in T]))
    for name, v in (("x", x), ("yU", yU), ("yD", yD)):
        rb.keep(name, v)
