"""Marginal losses (issue 19 part 6; spec §5.1 "a loss-factor extension", §6.1 loss component).

Optional (`marginal_losses`, off by default: lossless DC). A branch of resistance r_l (p.u. on
`loss_base_mva`) carrying f_l MW loses `L_l = r_l f_l² / base` MW. Each branch's loss belongs to
the BAA of its buses; a tie branch (ends in two BAAs) gives half to each [A].

At a solution's flows f0 (branch x period, every branch) the losses of BAA b in period t are
linearised in the resources' injections g:

    loss_b(g) = L_b0 + Σ_r LF_{b,n(r)} (g_r − g0_r),
    L_b0 = Σ_{l∈b} r_l f0_l² / base,   LF_{b,n} = Σ_{l∈b} 2 r_l f0_l PTDF_{l,n} / base,

the sensitivity of b's losses to an injection at n withdrawn at the reference bus (LF = 0 at
the reference bus). `apply_losses` puts that into each balance row (`−Σ_r LF g_r` in the body,
`L_b0 − Σ_r LF g0_r` on the right) and withdraws the constant L_b0 inside the BAA at its load
buses by LDF in the flow calculation [A]. `iterate` repeats solve → linearise at the new flows
until no branch flow moves by more than `loss_tolerance_mw` (docs/market-model.md, Marginal
losses). Pure numpy/scipy, sparse: weights per branch, then wᵀ PTDF.
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

#: loss factors smaller in magnitude are left out of the balance rows (MW/MW)
FACTOR_THRESHOLD = 1e-9


@dataclass(frozen=True, eq=False)
class LossPoint:
    """The losses linearised at one solution (module docstring): flows f0 (branch x period,
    PTDF branch order), L_b0 (BAA x period), LF (BAA x bus x period, PTDF bus order) and the
    balance rows' constant `offset_mw` = L_b0 − Σ_n LF_{b,n} G0_n (BAA x period), G0 the
    resources' injection per bus at the solution."""

    baas: list[str]
    periods: list[int]
    bus_ids: list[str]
    flows_mw: np.ndarray
    loss_mw: np.ndarray
    factors: np.ndarray
    offset_mw: np.ndarray

    def linearised_mw(self, bus_injection: np.ndarray) -> np.ndarray:
        """loss_b(g) of the balance rows at injections per bus (bus x period): BAA x period."""
        return self.offset_mw + np.einsum("bnt,nt->bt", self.factors, bus_injection)


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


def loss_factors(ptdf: PTDF, shares: sp.csr_matrix, r: np.ndarray, flows_mw: np.ndarray,
                 base_mva: float) -> np.ndarray:
    """LF_{b,n,t} = Σ_l share_lb 2 r_l f_lt PTDF_ln / base: BAA x bus x period (MW/MW)."""
    n_t = flows_mw.shape[1]
    out = np.zeros((shares.shape[1], len(ptdf.bus_ids), n_t))
    pt = ptdf.matrix.tocsr()
    for k in range(n_t):
        w = sp.diags(2.0 * r * flows_mw[:, k] / base_mva) @ shares   # branch x BAA weights
        out[:, :, k] = np.asarray((w.T @ pt).todense())
    return out


def linearise(ptdf: PTDF, shares: sp.csr_matrix, r: np.ndarray, base_mva: float,
              flows_mw: np.ndarray, bus_injection: np.ndarray, baas: list[str],
              periods: list[int]) -> LossPoint:
    """The `LossPoint` at flows f0 (branch x period) and the resources' injection per bus G0
    (bus x period) of one solution."""
    f0 = np.asarray(flows_mw, dtype=float)
    l0 = baa_losses_mw(shares, r, f0, base_mva)
    lf = loss_factors(ptdf, shares, r, f0, base_mva)
    offset = l0 - np.einsum("bnt,nt->bt", lf, bus_injection)
    return LossPoint(baas=list(baas), periods=list(periods), bus_ids=list(ptdf.bus_ids),
                     flows_mw=f0, loss_mw=l0, factors=lf, offset_mw=offset)


def withdrawal_by_bus(point: LossPoint, ldf: pd.Series, bus_baa: dict[str, str]) -> pd.DataFrame:
    """LDF_n · L_{b(n)}0 per bus and period (bus x period, MW): the losses withdrawn inside each
    BAA at its load buses in the flow calculation [A]."""
    pos = {a: i for i, a in enumerate(point.baas)}
    w = ldf.reindex(point.bus_ids).fillna(0.0).to_numpy(dtype=float)
    rows = np.array([pos[bus_baa[n]] for n in point.bus_ids], dtype=int)
    return pd.DataFrame(w[:, None] * point.loss_mw[rows, :], index=point.bus_ids,
                        columns=point.periods)


# ---------------------------------------------------------------------------------------------
# the model (a freshly built bundle: IFM, RT)
# ---------------------------------------------------------------------------------------------
def bus_injection(b: ModelBundle, ptdf: PTDF) -> np.ndarray:
    """The resources' injection per bus at the bundle's current solution (bus x period)."""
    d, T = b.d, b.d.hours
    out = np.zeros((len(ptdf.bus_ids), len(T)))
    inj_fn = b.info["inj_fn"]
    for r in b.info["inj_resources"]:
        i = ptdf.bus_index(d.resources.at[r, "bus"])
        out[i] += [pyo.value(inj_fn(r, t), exception=False) or 0.0 for t in T]
    return out


def point_of(b: ModelBundle, ptdf: PTDF, flows_mw: np.ndarray) -> LossPoint:
    """The `LossPoint` of a solved bundle at its flows (FlowMonitor.flows()["base"])."""
    d, p = b.d, b.d.params
    r = resistances(d.branches, ptdf.branch_ids)
    shares = baa_shares(d.branches, ptdf.branch_ids, d.bus_baa, d.baas)
    return linearise(ptdf, shares, r, p.loss_base_mva, flows_mw, bus_injection(b, ptdf),
                     d.baas, d.hours)


def apply_losses(b: ModelBundle, point: LossPoint, ptdf: PTDF) -> None:
    """Put the linearised losses into a freshly built bundle (before its first solve): each
    `m.balance[a, t]` row gains `−Σ_r LF_{a,n(r),t} g_r` (every injecting resource of the
    footprint) and its right-hand side `L_a0 − Σ_r LF g0_r`; the flow calculation withdraws
    `LDF_n · L_{b(n)}0` at the load buses (b.info["inj_const"]). The point is kept in
    b.info["loss_point"] for the read-back."""
    d, m = b.d, b.m
    T = list(d.hours)
    if list(point.periods) != T or list(point.baas) != list(d.baas):
        raise ValueError("loss point periods/BAAs differ from the model's")
    inj_fn = b.info["inj_fn"]
    col = [ptdf.bus_index(d.resources.at[r, "bus"]) for r in b.info["inj_resources"]]
    rs = list(b.info["inj_resources"])
    for ia, a in enumerate(d.baas):
        for k, t in enumerate(T):
            con = m.balance[a, t]
            lf = point.factors[ia, col, k]
            terms = [float(c) * inj_fn(r, t) for r, c in zip(rs, lf)
                     if abs(c) > FACTOR_THRESHOLD]
            rhs = float(con.upper) + float(point.offset_mw[ia, k])
            con.set_value(con.body - sum(terms) == rhs)
    b.info["inj_const"] = b.info["inj_const"] - withdrawal_by_bus(point, d.ldf, d.bus_baa)
    b.info["loss_point"] = point


# ---------------------------------------------------------------------------------------------
# the iteration (stopping rule: docs/market-model.md, Marginal losses)
# ---------------------------------------------------------------------------------------------
S = TypeVar("S")
#: solves before the iteration may stop: lossless, the first with losses, one more (iterate)
MIN_SOLVES = 3


@dataclass
class LossIteration:
    """What the loss iteration did: solves (the lossless one included), the largest branch-flow
    change between successive solutions after each re-solve, whether it settled, seconds."""

    solves: int = 1
    flow_change_mw: list[float] | None = None
    converged: bool = True
    seconds: float = 0.0

    def manifest(self) -> dict:
        ch = self.flow_change_mw or []
        return {"solves": self.solves, "flow_change_mw": [float(x) for x in ch],
                "last_flow_change_mw": float(ch[-1]) if ch else None,
                "converged": self.converged, "seconds": self.seconds}


def iterate(solve: Callable[[LossPoint | None], S], flows_of: Callable[[S], np.ndarray],
            point_at: Callable[[S], LossPoint], max_solves: int,
            tolerance_mw: float) -> tuple[S, LossIteration]:
    """Solve lossless, then re-solve with the losses linearised at the last solution's flows
    until the largest branch-flow change between two successive solutions is
    ≤ `tolerance_mw` (converged) or `max_solves` solves ran (not converged). The first
    re-solve never stops it: it moves the withdrawn losses from 0 to L_b0, so its flow change
    says nothing about whether the losses settled (at least `MIN_SOLVES` solves)."""
    t0 = time.perf_counter()
    sol = solve(None)
    flows = flows_of(sol)
    it = LossIteration(solves=1, flow_change_mw=[], converged=False)
    while it.solves < max_solves:
        sol = solve(point_at(sol))
        it.solves += 1
        new = flows_of(sol)
        change = float(np.max(np.abs(new - flows))) if new.size else 0.0
        it.flow_change_mw.append(change)
        flows = new
        if change <= tolerance_mw and it.solves >= MIN_SOLVES:
            it.converged = True
            break
    it.seconds = time.perf_counter() - t0
    return sol, it


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
LOSS_COLUMNS = ("baa", "hour", "loss_mw", "loss_withdrawn_mw", "quadratic_loss_mw")


def extract(rb) -> None:
    """Read back the losses: the `losses` table per BAA and period (loss_mw = the linearised
    losses in the balance row at the solution, loss_withdrawn_mw = the constant L_b0 withdrawn
    by LDF in the flow calculation, quadratic_loss_mw = Σ share r f²/base at the solution's
    flows; empty without marginal losses), `baa_summary.loss_mw` (0 without), and the losses
    the RUC adds to its forecast balance (`rb.keep("loss_mw")`)."""
    d, b = rb.d, rb.b
    T = list(d.hours)
    point = b.info.get("loss_point")
    if point is None:
        rb.rows("losses", pd.DataFrame(columns=list(LOSS_COLUMNS)))
        rb.columns("baa_summary", pd.DataFrame(
            [dict(baa=a, hour=t, loss_mw=0.0) for a in d.baas for t in T]))
        return
    lin = point.linearised_mw(bus_injection(b, rb.ptdf))
    r = resistances(d.branches, rb.ptdf.branch_ids)
    shares = baa_shares(d.branches, rb.ptdf.branch_ids, d.bus_baa, d.baas)
    quad = baa_losses_mw(shares, r, rb.sm.monitor.flows()["base"], d.params.loss_base_mva)
    rows = [dict(baa=a, hour=t, loss_mw=float(lin[i, k]),
                 loss_withdrawn_mw=float(point.loss_mw[i, k]),
                 quadratic_loss_mw=float(quad[i, k]))
            for i, a in enumerate(d.baas) for k, t in enumerate(T)]
    rb.rows("losses", pd.DataFrame(rows, columns=list(LOSS_COLUMNS)))
    rb.columns("baa_summary", pd.DataFrame(
        [dict(baa=x["baa"], hour=x["hour"], loss_mw=x["loss_mw"]) for x in rows]))
    rb.keep("loss_mw", {(x["baa"], x["hour"]): x["loss_mw"] for x in rows})
