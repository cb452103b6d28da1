"""Marginal losses (issue 19 part 6; spec §5.1 "a loss-factor extension", §6.1 loss component).

Optional (`marginal_losses`, off by default: lossless DC). A branch of resistance r_l (p.u. on
`loss_base_mva`) carrying f_l MW loses `r_l f_l² / base` MW. Each branch's loss belongs to the BAA
of its buses; a tie branch (ends in two BAAs) gives half to each [A].

The model (`add_loss_rows`, IFM): for every branch with r_l > 0 and period t a flow variable
f_lt = PTDF_l · (injections − demand − losses withdrawn by LDF), a loss variable ℓ_lt bounded
below by tangents of the quadratic (outer approximation; each tangent is the loss linearised
around one flow f_c: ℓ ≥ r (2 f_c f − f_c²) / base), the BAA's losses L_bt = Σ_l share_lb ℓ_lt,
subtracted in the BAA's balance row (§5.1) and withdrawn at its load buses by LDF in every flow
(branch rows included) [A]. The tangents start on a grid of each branch's rating; `iterate`
re-solves with a tangent added at each branch-hour's solution flow (the losses linearised around
the previous solution's flows) until no BAA-hour's losses r f²/base at the solution's flows
exceed the modelled L_bt by more than `loss_tolerance_mw` (docs/market-model.md, Marginal
losses). Tangents accumulate, so the iteration cannot cycle (Kelley's cutting planes): a single
re-linearisation of the balance rows instead oscillates on the bundled day, where identical units
at different buses trade places as the loss factors move (140–250 MW swings).

Prices: the marginal loss component at bus n is −Σ_l φ_l PTDF_ln, φ_l the dual of branch l's
flow row: the marginal change of the losses priced at their BAAs' π (LMP = energy + congestion +
loss, energy = the reference bus's price).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import scipy.sparse as sp

from clearing.market.bundle import ModelBundle
from network.ptdf import PTDF


# ---------------------------------------------------------------------------------------------
# physics (pure)
# ---------------------------------------------------------------------------------------------
def resistances(branches: pd.DataFrame, branch_ids: list[str]) -> np.ndarray:
    """r_l (p.u.) in `branch_ids` order from a branches table (indexed by branch or with a
    `branch` column); 0 without a `resistance_pu` column."""
    br = branches if "branch" not in branches.columns else branches.set_index("branch")
    if "resistance_pu" not in br.columns:
        return np.zeros(len(branch_ids))
    return br["resistance_pu"].reindex(branch_ids).fillna(0.0).to_numpy(dtype=float)


def baa_shares(branches: pd.DataFrame, branch_ids: list[str], bus_baa: dict[str, str],
               baas: list[str]) -> sp.csr_matrix:
    """branch x BAA share of each branch's loss: 1 to the BAA of both ends, ½ to each BAA of a
    tie branch [A]."""
    br = branches if "branch" not in branches.columns else branches.set_index("branch")
    col = {a: j for j, a in enumerate(baas)}
    rows, cols, vals = [], [], []
    for i, l in enumerate(branch_ids):
        for end in ("from_bus", "to_bus"):
            rows.append(i)
            cols.append(col[bus_baa[str(br.at[l, end])]])
            vals.append(0.5)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(branch_ids), len(baas)))  # summed


def branch_losses_mw(r: np.ndarray, flows_mw: np.ndarray, base_mva: float) -> np.ndarray:
    """r_l f_l² / base per branch and period (MW)."""
    return r[:, None] * np.asarray(flows_mw) ** 2 / base_mva


def baa_losses_mw(shares: sp.csr_matrix, r: np.ndarray, flows_mw: np.ndarray,
                  base_mva: float) -> np.ndarray:
    """Σ_l share_lb r_l f_l² / base: BAA x period (MW)."""
    return np.asarray(shares.T @ branch_losses_mw(r, flows_mw, base_mva))




def tangent_grid(branches: pd.DataFrame, branch_ids: list[str]) -> dict[str, list[float]]:
    """The first tangent flows of each branch (MW): 0, ±¼, ±½, ±¾ and ±1 times its rating
    (1,000 MW for a branch rated 0), where r f²/base is at most r (R/4)²/(4 base) above the
    tangents (0.08 MW for r = 0.002 p.u., R = 500 MW)."""
    br = branches if "branch" not in branches.columns else branches.set_index("branch")
    out = {}
    for l in branch_ids:
        rating = float(br.at[l, "rating_mw"]) if "rating_mw" in br.columns else 0.0
        rr = rating if rating > 0 else 1000.0
        out[l] = [k * rr / 4.0 for k in range(-4, 5)]
    return out


@dataclass
class LossCuts:
    """The tangent flows of the loss outer approximation: (branch, period) -> flows f_c (MW),
    the same grid for every period plus the flows the iteration added."""

    grid: dict[str, list[float]]
    added: dict[tuple[str, int], list[float]]

    def flows(self, branch: str, t: int) -> list[float]:
        return self.grid[branch] + self.added.get((branch, t), [])


#: cost of a MW of modelled losses ($/MWh, objective): breaks the tie where a BAA's price is 0
#: (the losses would otherwise float above the tangents); 1e-6 moves no price by a cent
LOSS_TIE_BREAK_USD_PER_MWH = 1e-6


def add_loss_rows(b: ModelBundle, ptdf: PTDF, cuts: LossCuts) -> None:
    """Add the losses to a freshly built bundle (IFM; module docstring): flow rows and variables
    for the lossy branches, their tangents, the BAA losses in the balance rows, and the losses
    withdrawn by LDF in every flow (`b.info["baa_fn"]`, read by the flow rows and the monitor).
    The lossy branches, tangents, resistances and BAA shares are kept in b.info["loss_model"]
    for the iteration and the read-back."""
    d, m = b.d, b.m
    p = d.params
    T = list(d.hours)
    r = resistances(d.branches, ptdf.branch_ids)
    lossy = [l for l, x in zip(ptdf.branch_ids, r) if x > 0]
    rl = dict(zip(ptdf.branch_ids, r))
    shares = baa_shares(d.branches, ptdf.branch_ids, d.bus_baa, d.baas).tocsr()
    pos = {l: i for i, l in enumerate(ptdf.branch_ids)}
    m.LOSS_LT = pyo.Set(initialize=[(l, t) for l in lossy for t in T], dimen=2, ordered=True)
    m.loss_flow = pyo.Var(m.LOSS_LT, within=pyo.Reals)
    m.loss_branch = pyo.Var(m.LOSS_LT, within=pyo.Reals)
    m.loss_baa = pyo.Var(m.BAA_T, within=pyo.Reals)
    inner = b.info["baa_fn"]
    b.info["baa_fn"] = lambda a, t: inner(a, t) - m.loss_baa[a, t]   # withdrawn by LDF [A]
    _add_flow_rows(b, ptdf, lossy)
    members = {a: [] for a in d.baas}
    for l in lossy:
        row = shares.getrow(pos[l])
        for j, v in zip(row.indices, row.data):
            members[d.baas[j]].append((l, float(v)))
    m.loss_baa_def = pyo.Constraint(m.BAA_T, rule=lambda _m, a, t: _m.loss_baa[a, t] == sum(
        v * _m.loss_branch[l, t] for l, v in members[a]))
    base = float(p.loss_base_mva)
    m.loss_tangents = pyo.ConstraintList()
    for (l, t) in m.LOSS_LT:
        k = rl[l] / base
        for fc in cuts.flows(l, t):
            m.loss_tangents.add(m.loss_branch[l, t] >= k * (2.0 * fc * m.loss_flow[l, t] - fc * fc))
    for (a, t) in m.BAA_T:
        con = m.balance[a, t]
        con.set_value(con.body - m.loss_baa[a, t] == float(con.upper))
    b.costs.append(LOSS_TIE_BREAK_USD_PER_MWH * sum(m.loss_baa.values()))
    b.info["loss_model"] = {"lossy": lossy, "cuts": cuts, "r": r, "shares": shares}


def _add_flow_rows(b: ModelBundle, ptdf: PTDF, lossy: list[str]) -> None:
    """The flow rows of the lossy branches, f_lt = Σ_n PTDF_ln I_nt + Σ_b PTDF^LDF_lb·(BAA
    terms, `b.info["baa_fn"]`) + constant, written on the bundle's bus-injection variables
    I_nt = Σ_{r at n} g_rt (`network.transmission.bus_injection`, shared with the monitor's
    flow rows), so that each flow row holds one term per bus rather than one per resource (the
    same flows as FlowMonitor.flow_expr)."""
    from network.transmission import bus_injection, make_monitor
    d, m = b.d, b.m
    T = list(d.hours)
    baa_fn = b.info["baa_fn"]
    rows = ptdf.matrix.tocsr()[[ptdf.branch_index(l) for l in lossy]]
    const = rows @ b.info["inj_const"].reindex(index=ptdf.bus_ids, columns=T).fillna(
        0.0).to_numpy(float)
    lp = make_monitor(b, ptdf, ("base",)).ldf_ptdf.reindex(index=lossy)
    row_of = {l: i for i, l in enumerate(lossy)}
    col_of = {t: k for k, t in enumerate(T)}

    def flow(_m, l, t):
        i = row_of[l]
        lo, hi = rows.indptr[i], rows.indptr[i + 1]
        terms = []
        for j, c in zip(rows.indices[lo:hi], rows.data[lo:hi]):
            var = bus_injection(b, ptdf.bus_ids[j], t)
            if var is not None:
                terms.append(float(c) * var)
        terms += [float(c) * baa_fn(x, t) for x, c in lp.loc[l].items() if c]
        return _m.loss_flow[l, t] - sum(terms) == float(const[i, col_of[t]])
    m.loss_flow_def = pyo.Constraint(m.LOSS_LT, rule=flow)


def fix_binaries_as(b: ModelBundle, solved: ModelBundle) -> None:
    """Fix every binary of a freshly built bundle at its value in `solved`, a solved bundle of
    the same market (the same binary components and indices): the loss iteration re-dispatches
    and re-prices at the lossless IFM's commitment [A]."""
    for new, old in zip(b.binaries, solved.binaries):
        for idx in new:
            new[idx].fix(int(round(pyo.value(old[idx]))))


def loss_gaps(b: ModelBundle, ptdf: PTDF, flows_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At a solved bundle with loss rows and its flows (branch x period, PTDF order): per branch
    r f²/base − ℓ (branch x period, 0 for lossless branches) and per BAA Σ share (r f²/base) −
    L_b (BAA x period), in MW."""
    d, m = b.d, b.m
    T = list(d.hours)
    r, shares = b.info["loss_model"]["r"], b.info["loss_model"]["shares"]
    quad = branch_losses_mw(r, flows_mw, float(d.params.loss_base_mva))
    modelled = np.zeros_like(quad)
    for i, l in enumerate(ptdf.branch_ids):
        if r[i] > 0:
            modelled[i] = [pyo.value(m.loss_branch[l, t]) for t in T]
    baa_quad = np.asarray(shares.T @ quad)
    baa_mod = np.array([[pyo.value(m.loss_baa[a, t]) for t in T] for a in d.baas])
    return quad - modelled, baa_quad - baa_mod


# ---------------------------------------------------------------------------------------------
# the iteration (stopping rule: docs/market-model.md, Marginal losses)
# ---------------------------------------------------------------------------------------------
S = TypeVar("S")
#: a branch-hour gets a new tangent when its losses exceed the modelled ones by more than this
CUT_GAP_MW = 1e-5


@dataclass
class LossIteration:
    """What the loss iteration did: solves, the largest shortfall of a BAA-hour's modelled
    losses below r f²/base at each solution's flows (MW; negative: the modelled losses exceed
    the physical ones), tangents added, whether it settled, seconds."""

    solves: int = 0
    loss_gap_mw: list[float] | None = None
    tangents_added: list[int] | None = None
    converged: bool = False
    seconds: float = 0.0

    def manifest(self) -> dict:
        gaps = self.loss_gap_mw or []
        return {"solves": self.solves, "loss_gap_mw": [float(x) for x in gaps],
                "last_loss_gap_mw": float(gaps[-1]) if gaps else None,
                "tangents_added": list(self.tangents_added or []),
                "converged": self.converged, "seconds": self.seconds}


def iterate(solve: Callable[[LossCuts], S], bundle_of: Callable[[S], ModelBundle],
            flows_of: Callable[[S], np.ndarray], ptdf: PTDF, grid: dict[str, list[float]],
            max_solves: int, tolerance_mw: float) -> tuple[S, LossIteration]:
    """Solve with the tangent grid (the first solve with losses); while a BAA-hour's losses r f²/base at the solution's flows
    exceed its modelled losses by more than `tolerance_mw` (in absolute value), add a tangent at
    the solution flow of every branch-hour short by more than `CUT_GAP_MW` and solve again, at
    most `max_solves` solves in all."""
    t0 = time.perf_counter()
    cuts = LossCuts(grid=grid, added={})
    it = LossIteration(loss_gap_mw=[], tangents_added=[])
    while True:
        sol = solve(cuts)
        it.solves += 1
        flows = flows_of(sol)
        by_branch, by_baa = loss_gaps(bundle_of(sol), ptdf, flows)
        worst = float(by_baa.flat[np.argmax(np.abs(by_baa))]) if by_baa.size else 0.0
        it.loss_gap_mw.append(worst)
        if abs(worst) <= tolerance_mw:
            it.converged = True
            break
        if it.solves >= max_solves:
            break
        T = list(bundle_of(sol).d.hours)
        n = 0
        for i, k in zip(*np.nonzero(by_branch > CUT_GAP_MW)):
            cuts.added.setdefault((ptdf.branch_ids[i], T[k]), []).append(float(flows[i, k]))
            n += 1
        it.tangents_added.append(n)
        if n == 0:   # only modelled losses above the physical ones remain (prices ≤ 0)
            break
    it.seconds = time.perf_counter() - t0
    return sol, it


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
LOSS_COLUMNS = ("baa", "hour", "loss_mw", "loss_withdrawn_mw", "quadratic_loss_mw")


def loss_component(rb) -> pd.DataFrame | None:
    """The marginal loss component −Σ_l φ_l PTDF_ln per bus and period (bus x period), φ_l the
    dual of lossy branch l's flow row, when the model carries losses (`add_loss_rows`), else
    None."""
    lm = rb.b.info.get("loss_model")
    if lm is None:
        return None

    def compute():
        T, ptdf, m = rb.d.hours, rb.ptdf, rb.m
        phi = np.zeros((len(ptdf.branch_ids), len(T)))
        for l in lm["lossy"]:
            i = ptdf.branch_index(l)
            phi[i] = [rb.dual(m.loss_flow_def[l, t]) for t in T]
        comp = -np.asarray(ptdf.matrix.T @ phi)
        return pd.DataFrame(comp, index=ptdf.bus_ids, columns=T)
    return rb.memo("loss_component", compute)


def extract(rb) -> None:
    """Read back the losses: the `losses` table per BAA and period (loss_mw = the modelled
    losses L_b of the balance row, loss_withdrawn_mw = the same MW withdrawn by LDF in the flows,
    quadratic_loss_mw = Σ share r f²/base at the solution's flows; empty without marginal
    losses), `baa_summary.loss_mw` (0 without), and the losses the RUC adds to its forecast
    balance (`rb.keep("loss_mw")`)."""
    d, b = rb.d, rb.b
    T = list(d.hours)
    lm = b.info.get("loss_model")
    if lm is None:
        rb.rows("losses", pd.DataFrame(columns=list(LOSS_COLUMNS)))
        rb.columns("baa_summary", pd.DataFrame(
            [dict(baa=a, hour=t, loss_mw=0.0) for a in d.baas for t in T]))
        return
    m = rb.m
    quad = baa_losses_mw(lm["shares"], lm["r"], rb.sm.monitor.flows()["base"], d.params.loss_base_mva)
    rows = []
    for i, a in enumerate(d.baas):
        for k, t in enumerate(T):
            lb = float(pyo.value(m.loss_baa[a, t]))
            rows.append(dict(baa=a, hour=t, loss_mw=lb, loss_withdrawn_mw=lb,
                             quadratic_loss_mw=float(quad[i, k])))
    rb.rows("losses", pd.DataFrame(rows, columns=list(LOSS_COLUMNS)))
    rb.columns("baa_summary", pd.DataFrame(
        [dict(baa=x["baa"], hour=x["hour"], loss_mw=x["loss_mw"]) for x in rows]))
    rb.keep("loss_mw", {(x["baa"], x["hour"]): x["loss_mw"] for x in rows})
