"""The run manifest (architecture.md, results contract; developers' guide: reproducible runs):
input hash, parameters and [A] options, versions, solver status, gap, timings, model counts."""

from __future__ import annotations

import platform
from importlib import metadata

import pyomo.environ as pyo


def versions() -> dict:
    """Versions of the solver stack and the table libraries (pinned in pyproject.toml)."""
    out = {"python": platform.python_version()}
    for pkg in ("pyomo", "highspy", "numpy", "scipy", "pandas", "networkx", "edam-clearing"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    try:
        import highspy
        h = highspy.Highs()
        out["highs"] = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    except Exception:  # pragma: no cover
        pass
    return out


def model_counts(m: pyo.ConcreteModel) -> dict:
    nvar = nbin = ncon = 0
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        nvar += 1
        if v.is_binary():
            nbin += 1
    for _ in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        ncon += 1
    return {"variables": nvar, "binaries": nbin, "constraints": ncon}


def _solve_block(sm) -> dict:
    if sm is None:
        return {}
    return {"termination": sm.mip.termination, "objective_mip": sm.mip.objective,
            "bound_mip": sm.mip.bound, "mip_gap": sm.mip.gap,
            "time_limit_hit": sm.mip.termination == "maxTimeLimit",
            "objective_lp": sm.lp.objective, "lp_termination": sm.lp.termination,
            "lazy": {"rounds": len([r for r in sm.bundle.lazy_rounds if r["mip"]]),
                     "relaxation_rounds": len([r for r in sm.bundle.lazy_rounds
                                               if r.get("relaxation")]),
                     "lp_rounds": len([r for r in sm.bundle.lazy_rounds
                                       if not r["mip"] and not r.get("relaxation")]),
                     "seeded_rows": sm.bundle.info.get("seeded_rows", 0),
                     "constraints_added": len(sm.monitor.rows),
                     "round_log": sm.bundle.lazy_rounds},
            "counts": sm.bundle.info.get("counts", {}),
            # transfer cycles cancelled after the solve (network/transfers.py, §5.2 [A]):
            # {hour: MW removed over the cycles' arcs}
            "transfer_cycles_netted_mw": {str(t): round(v, 6) for t, v in
                                          sm.bundle.info.get("transfer_cycles_netted", {}).items()}}


def build_manifest(scenario, ifm, ruc, timings: dict) -> dict:
    p = scenario.parameters
    total = timings.get("total_s", 0.0)
    build = timings.get("build_s", 0.0) + timings.get("ruc_build_s", 0.0)
    solve = sum(timings.get(k, 0.0) for k in ("solve_s", "pricing_s", "ruc_solve_s", "ruc_pricing_s"))
    return {
        "engine": "edam-clearing",
        "input_hash": scenario.input_hash(),
        "scenario_dir": scenario.source_dir,
        "scenario": {"name": scenario.name, "trade_date": scenario.trade_date,
                     "hours": scenario.hours},
        "parameters": p.to_dict(),
        "assumption_options": p.assumption_options(),
        "versions": versions(),
        "solver": {"name": "highs", **_solve_block(ifm)},
        "ruc": _solve_block(ruc),
        "counts": ifm.bundle.info.get("counts", {}),
        "timings": {**timings, "build_over_solve": build / solve if solve else None,
                    "build_share": build / total if total else None},
    }
