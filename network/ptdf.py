"""DC power transfer distribution factors (injection shift factors), spec §2.3 and §5.3.

`PTDF_{l,n}` is the MW flow on branch l (positive from `from_bus` to `to_bus`) caused by injecting
1 MW at bus n and withdrawing it at the reference bus. It is built from branch reactances with
scipy sparse matrices: incidence `A` (branches x buses, +1 at from, -1 at to), `B_f = diag(1/x) A`,
`B_bus = A^T diag(1/x) A`; with the reference row/column removed, `PTDF_red = B_f,red B_red^{-1}`.
`B_red` is symmetric, so `PTDF_red^T = B_red^{-1} B_f,red^T`: one sparse LU factorisation, then
solves for the branches in blocks, each block sparsified before the next (no dense inverse).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

_BLOCK = 512  # branches solved per block (bounds the dense work array to buses x _BLOCK)


@dataclass(frozen=True, eq=False)
class PTDF:
    """Sparse PTDF matrix (branches x buses) w.r.t. one reference bus (spec §2.3)."""

    branch_ids: list[str]
    bus_ids: list[str]
    matrix: sp.csr_matrix
    reference_bus: str
    _bus_pos: dict[str, int] = field(init=False, repr=False)
    _branch_pos: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bus_pos", {b: i for i, b in enumerate(self.bus_ids)})
        object.__setattr__(self, "_branch_pos", {l: i for i, l in enumerate(self.branch_ids)})

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def bus_index(self, bus: str) -> int:
        """Column of `bus` in `matrix`."""
        return self._bus_pos[bus]

    def branch_index(self, branch: str) -> int:
        """Row of `branch` in `matrix`."""
        return self._branch_pos[branch]

    def flows(self, injections: np.ndarray) -> np.ndarray:
        """Branch flows f = PTDF · inj (spec §5.3) for injections ordered as `bus_ids`
        (shape (buses,) or (buses, k)). Any imbalance is absorbed at the reference bus."""
        inj = np.asarray(injections, dtype=float)
        if inj.shape[0] != len(self.bus_ids):
            raise ValueError(f"injections have {inj.shape[0]} rows, expected {len(self.bus_ids)}")
        return np.asarray(self.matrix @ inj)

    def row(self, branch: str) -> dict[str, float]:
        """Nonzero shift factors of one branch, bus -> PTDF_{l,n}."""
        i = self._branch_pos[branch]
        lo, hi = self.matrix.indptr[i], self.matrix.indptr[i + 1]
        return {self.bus_ids[j]: float(v)
                for j, v in zip(self.matrix.indices[lo:hi], self.matrix.data[lo:hi])}


def incidence_matrix(bus_ids: list[str], branches: pd.DataFrame) -> sp.csr_matrix:
    """Branch-bus incidence A: +1 at from_bus, -1 at to_bus (spec §2.3)."""
    pos = {b: i for i, b in enumerate(bus_ids)}
    missing = sorted((set(branches["from_bus"]) | set(branches["to_bus"])) - set(pos))
    if missing:
        raise ValueError(f"branches reference unknown buses {missing[:10]}")
    n_l = len(branches)
    rows = np.repeat(np.arange(n_l), 2)
    cols = np.empty(2 * n_l, dtype=np.int64)
    cols[0::2] = [pos[b] for b in branches["from_bus"]]
    cols[1::2] = [pos[b] for b in branches["to_bus"]]
    vals = np.tile([1.0, -1.0], n_l)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_l, len(bus_ids)))


def _check_connected(bus_ids: list[str], a: sp.csr_matrix) -> None:
    """A single reference bus needs one connected network (spec §2.3)."""
    adj = a.T @ a
    n, labels = connected_components(adj, directed=False)
    if n > 1:
        sizes = np.bincount(labels)
        stray = [bus_ids[i] for i in np.flatnonzero(labels != np.argmax(sizes))]
        raise ValueError(f"network has {n} islands; buses off the main island: {stray[:10]}")


def compute_ptdf(buses: list[str], branches: pd.DataFrame, reference_bus: str,
                 threshold: float = 1e-5) -> PTDF:
    """PTDF of `branches` (rows in frame order) over `buses` (columns in list order) w.r.t.
    `reference_bus`; entries with |x| < threshold are dropped (spec §2.3)."""
    bus_ids = [str(b) for b in buses]
    if reference_bus not in bus_ids:
        raise ValueError(f"reference bus '{reference_bus}' is not a bus of the network")
    branch_ids = [str(l) for l in branches["branch"]]
    x = branches["reactance_pu"].to_numpy(dtype=float)
    if np.any(x <= 0):
        raise ValueError("every branch reactance must be > 0")
    a = incidence_matrix(bus_ids, branches)
    _check_connected(bus_ids, a)
    if not branch_ids:  # a single bus: nothing to solve
        return PTDF(branch_ids, bus_ids, sp.csr_matrix((0, len(bus_ids))), reference_bus)
    bf = (sp.diags(1.0 / x) @ a).tocsc()
    keep = np.array([b != reference_bus for b in bus_ids])
    keep_idx = np.flatnonzero(keep)
    bf_red = bf[:, keep_idx]
    b_red = (a.T.tocsc()[keep_idx, :] @ bf_red).tocsc()
    lu = splu(b_red)
    rhs_all = bf_red.T.tocsc()  # (buses-1) x branches
    blocks = [sp.csr_matrix((0, len(bus_ids)))]
    for start in range(0, len(branch_ids), _BLOCK):
        sol = np.zeros((len(bus_ids), min(_BLOCK, len(branch_ids) - start)))
        sol[keep_idx] = lu.solve(rhs_all[:, start:start + _BLOCK].toarray())  # PTDF^T block
        sol[np.abs(sol) < threshold] = 0.0
        blocks.append(sp.csr_matrix(sol.T))  # the reference column stays 0 (not stored)
    return PTDF(branch_ids, bus_ids, sp.vstack(blocks, format="csr"), reference_bus)


def default_reference_bus(scenario) -> str:
    """`scenario.reference_bus` if set, else the first bus (by id) of the reference BAA
    (spec §2.3)."""
    if scenario.reference_bus:
        return str(scenario.reference_bus)
    buses = scenario.buses
    ref = sorted(str(b) for b in buses.loc[buses["baa"] == scenario.reference_baa, "bus"])
    if not ref:
        raise ValueError(f"reference BAA '{scenario.reference_baa}' has no bus")
    return ref[0]


def scenario_ptdf(scenario, reference_bus: str | None = None) -> PTDF:
    """PTDF of every branch of `scenario` (monitored or not; all branches enter the admittance
    matrix) with threshold `parameters.ptdf_threshold` (spec §2.3)."""
    ref = reference_bus or default_reference_bus(scenario)
    buses = [str(b) for b in scenario.buses["bus"]]
    return compute_ptdf(buses, scenario.branches, ref,
                        threshold=scenario.parameters.ptdf_threshold)


def ldf_ptdf(ptdf: PTDF, ldf: pd.Series, bus_baa: dict[str, str]) -> pd.DataFrame:
    """PTDF^LDF_{l,b} = Σ_{n∈N_b} LDF_{b,n} PTDF_{l,n} (spec §2.3): branches x BAAs (sorted).
    `ldf` is indexed by bus; buses missing from it count as 0."""
    w_bus = ldf.reindex(ptdf.bus_ids).fillna(0.0).to_numpy(dtype=float)
    baa_of = [bus_baa[b] for b in ptdf.bus_ids]
    baas = sorted(set(baa_of))
    col = {b: j for j, b in enumerate(baas)}
    w = sp.csr_matrix((w_bus, (np.arange(len(baa_of)), [col[b] for b in baa_of])),
                      shape=(len(ptdf.bus_ids), len(baas)))
    dense = np.asarray((ptdf.matrix @ w).todense())
    return pd.DataFrame(dense, index=pd.Index(ptdf.branch_ids, name="branch"),
                        columns=pd.Index(baas, name="baa"))
