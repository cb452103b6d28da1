"""DC branch-flow limits by PTDF, added lazily (spec §5.3, §5.9, §5.11).

Rows are of three kinds: `base` (f within ±F for l ∈ L^base), `dep_up` / `dep_down` (the IR
deployment scenarios' flows fU, fD for l ∈ L^dep, spec §5.9) and `ruc` (RUC flows for
l ∈ L^ruc). Each row is ranged, −F ≤ f − s+ + s− ≤ F, with its two slacks at the transmission
penalty. The monitor computes every monitored flow from the current solution with numpy (sparse
PTDF times bus injections), adds the violated rows (and those within 1 % of their limit in the
same hour, which saves rounds), and the solve is repeated until nothing is violated, so the final
result equals full enforcement.

A branch rated 0 MW in an hour (`rating_mw` or a `branch_ratings` derate) is out of service for
that hour: none of its rows is added, so it limits nothing (its three rows at a zero limit would
otherwise price every MW across it at three transmission penalties). Its reactance still shapes
the PTDF; to take it out of the network, remove it from branches.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import scipy.sparse as sp

from clearing.market.bundle import ModelBundle
from network.ptdf import PTDF, ldf_ptdf

NEAR_BINDING = 0.99
#: LP-relaxation rounds (clearing/market/ifm.solve_lazy) also add rows loaded at least this share of
#: their limit in any hour: the MIP's flows differ from the relaxation's, and an extra slack
#: row costs far less than another MIP round
RELAXATION_NEAR_BINDING = 0.9


def bus_injection(b: ModelBundle, bus: str, t):
    """The variable I_nt = Σ_{r at bus n} g_rt (`b.info["inj_fn"]`) of `bus` in period t, or
    None for a bus without resources. One per bundle, made at first use (variables
    `bus_injection`, rows `bus_injection_def`) and shared by every row written on bus
    injections: the monitor's flow rows (`FlowMonitor.flow_expr`) and the loss model's
    (network.losses). A flow row then holds one term per bus instead of one per resource and
    its variables (a thermal unit's g is Pmin·u + p^a, a storage unit's discharge − charge,
    ...): several times fewer nonzeros in the dense PTDF rows, which the MIP's cut rounds and
    LP iterations pay for (issue 20); the same flows."""
    reg = b.info.get("bus_injection")
    if reg is None:
        by_bus: dict[str, list[str]] = {}
        for r in b.info["inj_resources"]:
            by_bus.setdefault(str(b.d.resources.at[r, "bus"]), []).append(r)
        b.m.bus_injection = pyo.VarList(domain=pyo.Reals)
        b.m.bus_injection_def = pyo.ConstraintList()
        reg = b.info["bus_injection"] = {"by_bus": by_bus, "vars": {}}
    if bus not in reg["by_bus"]:
        return None
    key = (bus, t)
    if key not in reg["vars"]:
        inj_fn = b.info["inj_fn"]
        var = b.m.bus_injection.add()
        b.m.bus_injection_def.add(var == sum(inj_fn(r, t) for r in reg["by_bus"][bus]))
        reg["vars"][key] = var
    return reg["vars"][key]


@dataclass
class FlowMonitor:
    """Computes flows from a solved bundle and adds violated rows (spec §5.3)."""

    b: ModelBundle
    ptdf: PTDF
    ldf_ptdf: pd.DataFrame                 # branch x BAA
    kinds: tuple[str, ...]                 # which row kinds this model enforces
    sets: dict[str, list[str]]             # kind -> branch ids
    rows: dict = field(default_factory=dict)  # (kind, branch, hour) -> (con, s_plus, s_minus)

    # ---------- numeric flows ----------------------------------------------------------------
    def _resource_matrix(self) -> tuple[list[str], sp.csr_matrix]:
        d = self.b.d
        rs = list(self.b.info["inj_resources"])
        cols = [self.ptdf.bus_index(d.resources.at[r, "bus"]) for r in rs]
        a = sp.csr_matrix((np.ones(len(rs)), (cols, np.arange(len(rs)))),
                          shape=(len(self.ptdf.bus_ids), len(rs)))
        return rs, a

    def flows(self) -> dict[str, np.ndarray]:
        """Flows by kind as arrays (branch x hour) from the current variable values."""
        b, d = self.b, self.b.d
        T = d.hours
        inj_fn = b.info["inj_fn"]
        rs, a = self._resource_matrix()
        val = np.array([[pyo.value(inj_fn(r, t)) for t in T] for r in rs]) if rs else \
            np.zeros((0, len(T)))
        bus_inj = a @ val + b.info["inj_const"].reindex(self.ptdf.bus_ids).to_numpy()
        baa = np.array([[pyo.value(b.info["baa_fn"](x, t)) for t in T] for x in self.ldf_ptdf.columns])
        f = self.ptdf.matrix @ bus_inj + self.ldf_ptdf.to_numpy() @ baa
        out = {"base": f, "ruc": f}
        if "dep_up" in self.kinds or "dep_down" in self.kinds:
            delta = d.params.ir_deployed_proportion
            for kind, var_name, credit in (("dep_up", "iru", b.ir_credit_up),
                                           ("dep_down", "ird", b.ir_credit_down)):
                var = getattr(b.m, var_name)
                awd = np.zeros((len(self.ptdf.bus_ids), len(T)))
                for (r, t) in var:
                    awd[self.ptdf.bus_index(d.resources.at[r, "bus"]), T.index(t)] += pyo.value(var[r, t])
                cred = np.array([[pyo.value(sum(credit.get((x, t), [])) if credit.get((x, t)) else 0)
                                  for t in T] for x in self.ldf_ptdf.columns])
                dep = self.ptdf.matrix @ awd - self.ldf_ptdf.to_numpy() @ cred
                out[kind] = f + delta * dep if kind == "dep_up" else f - delta * dep
        return out

    def violations(self, tol: float, near_any_hour: float | None = None) -> list[tuple[str, str, int]]:
        """Rows to add: violated (and near-binding in a violated hour) and not yet added.

        `near_any_hour`: also rows loaded at least this share of their limit in any hour, and
        this even when nothing is violated (the LP-relaxation rounds)."""
        d = self.b.d
        T = d.hours
        fl = self.flows()
        rating = d.rating.reindex(self.ptdf.branch_ids).to_numpy()
        new = []
        for kind in self.kinds:
            ids = self.sets.get(kind, [])
            if not ids:
                continue
            li = np.array([self.ptdf.branch_index(l) for l in ids])
            f = np.abs(fl[kind][li])
            lim = rating[li]
            viol = (f > lim + tol) & (lim > 0)   # rating 0: out of service (add_rows)
            if near_any_hour is not None:
                viol |= (f >= near_any_hour * lim) & (lim > 0)
            if not viol.any():
                continue
            hours_v = viol.any(axis=0)
            near = (f >= NEAR_BINDING * lim) & hours_v[None, :] & (lim > 0)
            for j, k in zip(*np.nonzero(viol | near)):
                key = (kind, ids[j], T[k])
                if key not in self.rows:
                    new.append(key)
        return sorted(new)

    # ---------- rows ---------------------------------------------------------------------------
    def flow_expr(self, l: str, t: int):
        b = self.b
        row = self.ptdf.matrix.getrow(self.ptdf.branch_index(l))
        coef = dict(zip(row.indices, row.data))
        terms = []
        const = 0.0
        ic = b.info["inj_const"]
        for j, c in coef.items():
            var = bus_injection(b, self.ptdf.bus_ids[j], t) if c else None
            if var is not None:
                terms.append(c * var)
        for j, c in coef.items():
            const += c * float(ic.at[self.ptdf.bus_ids[j], t])
        for x in self.ldf_ptdf.columns:
            c = float(self.ldf_ptdf.at[l, x])
            if c:
                terms.append(c * b.info["baa_fn"](x, t))
        return sum(terms) + const

    def deployment_expr(self, l: str, t: int, kind: str):
        b, d = self.b, self.b.d
        delta = d.params.ir_deployed_proportion
        var = b.m.iru if kind == "dep_up" else b.m.ird
        credit = b.ir_credit_up if kind == "dep_up" else b.ir_credit_down
        row = self.ptdf.matrix.getrow(self.ptdf.branch_index(l))
        coef = dict(zip(row.indices, row.data))
        terms = []
        for (r, tt) in var:
            if tt != t:
                continue
            c = coef.get(self.ptdf.bus_index(d.resources.at[r, "bus"]))
            if c:
                terms.append(c * var[r, t])
        for x in self.ldf_ptdf.columns:
            c = float(self.ldf_ptdf.at[l, x])
            if c and credit.get((x, t)):
                terms.append(-c * sum(credit[(x, t)]))
        dep = sum(terms) if terms else 0.0
        f = self.flow_expr(l, t)
        return f + delta * dep if kind == "dep_up" else f - delta * dep

    def add_rows(self, keys: list[tuple[str, str, int]]) -> None:
        b, m, d = self.b, self.b.m, self.b.d
        p = d.params
        if not hasattr(m, "flow_rows"):
            m.flow_rows = pyo.ConstraintList()
            m.s_flow = pyo.VarList(domain=pyo.NonNegativeReals)
        for key in keys:
            kind, l, t = key
            if not float(d.rating.at[l, t]) > 0:
                continue  # rated 0 MW in this hour: out of service, no limit (scenario format)
            f = self.deployment_expr(l, t, kind) if kind.startswith("dep") else self.flow_expr(l, t)
            sp_, sm_ = m.s_flow.add(), m.s_flow.add()
            lim = float(d.rating.at[l, t])
            con = m.flow_rows.add(pyo.inequality(-lim, f - sp_ + sm_, lim))
            self.rows[key] = (con, sp_, sm_)
            pen = (p.penalty_deployment_transmission_usd_per_mwh if kind.startswith("dep")
                   else p.penalty_transmission_usd_per_mwh)
            b.costs.append(pen * (sp_ + sm_))
        if keys and hasattr(m, "obj"):   # the new slacks' penalties enter the objective
            m.obj.expr = b.objective_expr()

    def seed(self, keys) -> int:
        """Enforce from the start the rows of `keys` (kind, branch, hour) that this monitor
        checks (other kinds and branches are ignored), in sorted order; how many were added."""
        allowed = {k: set(self.sets.get(k, [])) for k in self.kinds}
        keys = sorted({key for key in keys if key[1] in allowed.get(key[0], ())})
        before = len(self.rows)
        self.add_rows(keys)
        return len(self.rows) - before


def make_monitor(b: ModelBundle, ptdf: PTDF, kinds: tuple[str, ...]) -> FlowMonitor:
    d = b.d
    br = d.branches
    mon = br[br["monitored"]]
    sets = {"base": sorted(mon.index[mon["enforce_base"]]),
            "ruc": sorted(mon.index[mon["enforce_in_ruc"]]),
            "dep_up": list(d.deployment_ids), "dep_down": list(d.deployment_ids)}
    lp = ldf_ptdf(ptdf, d.ldf, d.bus_baa)
    lp = lp.reindex(columns=d.baas).fillna(0.0)
    return FlowMonitor(b=b, ptdf=ptdf, ldf_ptdf=lp, kinds=kinds, sets=sets)


# ---------------------------------------------------------------------------------------------
# read-back (clearing/market/readback.py)
# ---------------------------------------------------------------------------------------------
def branch_shadows(rb) -> dict:
    """(kind, branch, period) -> μ+ − μ− of every enforced branch row (spec §6 sign note),
    computed once per run."""
    def compute():
        out = {}
        for key, (con, _, _) in rb.sm.monitor.rows.items():
            y = rb.dual(con)
            out[key] = max(0.0, -y) - max(0.0, y)
        return out
    return rb.memo("branch_shadows", compute)


def congestion(rb) -> pd.DataFrame:
    """Network congestion per bus and period: −Σ_l PTDF_ln (μ+ − μ−) over every enforced row
    (base and deployment scenarios; spec §6.1), bus x period."""
    def compute():
        T, ptdf = rb.d.hours, rb.ptdf
        bus_cong = np.zeros((len(ptdf.bus_ids), len(T)))
        for (kind, l, t), mu in branch_shadows(rb).items():
            if mu != 0:
                row = ptdf.matrix.getrow(ptdf.branch_index(l))
                bus_cong[row.indices, T.index(t)] -= row.data * mu
        return pd.DataFrame(bus_cong, index=ptdf.bus_ids, columns=T)
    return rb.memo("congestion", compute)


def deployment_shadows(rb) -> dict:
    """(branch, up|down, period) -> η+ − η− of the IR deployment scenarios' rows (spec §6.3)."""
    return {(l, "up" if kind == "dep_up" else "down", t): mu
            for (kind, l, t), mu in branch_shadows(rb).items() if kind != "base"}


def extract(rb) -> None:
    """Read back the network rows (spec §5.3, §5.9): `binding_constraints` branch_<kind> rows
    (shadow μ+ + μ−, flow, rating) and `relaxations` of branch slacks at their penalty."""
    d, sm, p = rb.d, rb.sm, rb.d.params
    T = d.hours
    congestion(rb)
    bind, relax = [], []
    flows = sm.monitor.flows()
    for (kind, l, t), (con, sp_, sm_) in sm.monitor.rows.items():
        y = rb.dual(con)
        mp, mm = max(0.0, -y), max(0.0, y)
        fl = flows["base" if kind == "base" else kind][rb.ptdf.branch_index(l), T.index(t)]
        if mp + mm > 1e-9:
            bind.append(dict(constraint=l, hour=t, kind=f"branch_{kind}", shadow_price=mp + mm,
                             flow_mw=float(fl), limit_mw=float(d.rating.at[l, t])))
        over = (pyo.value(sp_, exception=False) or 0.0) + (pyo.value(sm_, exception=False) or 0.0)
        if over > 1e-6:
            pen = (p.penalty_deployment_transmission_usd_per_mwh if kind.startswith("dep")
                   else p.penalty_transmission_usd_per_mwh)
            relax.append(dict(requirement=f"branch_{kind}:{l}", baa="", hour=t, relaxed_mw=over,
                              penalty_usd_per_mwh=pen, cost_usd=over * pen))
    rb.rows("binding_constraints", bind)
    rb.rows("relaxations", relax)
