"""The day-ahead run: IFM (MIP + pricing LP), RUC (MIP + pricing LP), results tables and
manifest (spec §1.1 steps 3–5; architecture.md data flow)."""

from __future__ import annotations

import time
from typing import Callable

import pandas as pd
import pyomo.environ as pyo

from clearing.market.bundle import ModelBundle
from clearing.market.data import MarketData, prepare
from clearing.market import ghg_reference, lmpm
from clearing.market.ifm import Component, SolvedModel, build_ifm, read_back, solve_and_price
from clearing.market.manifest import build_manifest
from clearing.market.mpm import mitigate_bids, pivotal_supplier_test
from clearing.results import RunResult
from clearing.market.solver import RunBudget
from network import losses, ties
from network.ptdf import PTDF, scenario_ptdf
from network.transfers import net_model_cycles
from network import transmission
from products.reliability_capacity import build_ruc
from products.reliability_capacity import component as reliability_capacity
from scenarios.scenario import Scenario

Progress = Callable[[str], None]


def _add(timings: dict, key: str, seconds: float) -> None:
    """Add to a timing (under lmpm a pass that runs twice counts both times)."""
    timings[key] = timings.get(key, 0.0) + seconds


def run_day_ahead(scenario: Scenario, progress: Progress | None = None,
                  commitment: pd.DataFrame | None = None) -> RunResult:
    """Clear the day-ahead market for `scenario` and return the results tables + manifest.

    `commitment` (a `schedules` table of an earlier run: resource, hour, committed,
    ruc_committed) fixes the IFM and RUC commitment: a what-if re-solve at fixed commitment
    (architecture.md: change coefficients, not the commitment), whose LP prices are comparable
    across parameter values."""
    say = progress or (lambda s: None)
    t_start = time.perf_counter()
    budget = RunBudget(scenario.parameters.run_time_limit_s, start=t_start,
                       on_mip_progress=getattr(progress, "live", None))
    timings: dict[str, float] = {}
    submitted = scenario  # the manifest hashes the inputs as submitted, before mitigation
    say("market power mitigation of IRU/RCU bids (spec §5.12)")
    test = pivotal_supplier_test(scenario)
    scenario, mitigations = mitigate_bids(scenario, test)   # lmpm: after the MPM passes below
    lmpm_on = scenario.parameters.mpm_mode == "lmpm"
    steps: list[lmpm.LmpmStep] = []
    ptdf = scenario_ptdf(scenario)

    loss_runs: list[losses.LossIteration] = []
    ghg_ref: list = []   # the GHG reference pass, solved once (§5.13)

    def clear_ifm(sc: Scenario) -> tuple[MarketData, SolvedModel, dict, dict]:
        say("prepare data")
        t0 = time.perf_counter()
        d = prepare(sc)
        _add(timings, "prepare_s", time.perf_counter() - t0)
        if ghg_reference.needed(d):
            if not ghg_ref:
                say(f"GHG reference pass ({d.params.ghg_reference}, §5.13)")
                ghg_ref.append(ghg_reference.solve_reference(d, ptdf, budget))
                _add(timings, "ghg_reference_s", ghg_ref[0].record["seconds"])
            ghg_reference.attach(d, ghg_ref[0])

        def solve(cuts: losses.LossCuts | None, fixed: SolvedModel | None = None) -> SolvedModel:
            say("build IFM" if cuts is None else "build IFM with the branch losses")
            t0 = time.perf_counter()
            b = build_ifm(d)
            if commitment is not None:
                fix_commitment(b, commitment, "committed")
            if fixed is not None:   # the loss iteration keeps the lossless IFM's commitment
                losses.fix_binaries_as(b, fixed.bundle)
            if cuts is not None:
                losses.add_loss_rows(b, ptdf, cuts)
            _add(timings, "build_s", time.perf_counter() - t0)
            say("solve IFM (MIP, lazy network rounds) and price (fixed-commitment LP)")
            sm = solve_and_price(b, ptdf, ("base", "dep_up", "dep_down"), "IFM", budget=budget)
            _add(timings, "solve_s", sm.timings["solve_s"])
            _add(timings, "pricing_s", sm.timings["pricing_s"])
            return sm

        ifm = solve(None)
        if d.params.marginal_losses:   # docs/market-model.md, Marginal losses
            lossless = ifm
            ifm, it = losses.iterate(
                lambda cuts: solve(cuts, fixed=lossless), lambda sm: sm.bundle,
                lambda sm: sm.monitor.flows()["base"], ptdf,
                losses.tangent_grid(d.branches, ptdf.branch_ids),
                d.params.loss_max_iterations, d.params.loss_tolerance_mw)
            loss_runs.append(it)
        tables, ifm_vals = extract_ifm(d, ifm, ptdf)
        return d, ifm, tables, ifm_vals

    def clear_ruc(d: MarketData, ifm: SolvedModel, ifm_vals: dict) -> SolvedModel:
        say("build and solve RUC")
        t0 = time.perf_counter()
        rb = build_ruc(d, ifm_vals)
        if commitment is not None:
            fix_commitment(rb, commitment, "ruc_committed", prefix="R")
        _add(timings, "ruc_build_s", time.perf_counter() - t0)
        seed = ([("ruc", l, t) for (kind, l, t) in ifm.monitor.rows if kind == "base"]
                if d.params.ruc_seed_ifm_rows else None)
        ruc = solve_and_price(rb, ptdf, ("ruc",), "RUC", seed_rows=seed, budget=budget)
        _add(timings, "ruc_solve_s", ruc.timings["solve_s"])
        _add(timings, "ruc_pricing_s", ruc.timings["pricing_s"])
        return ruc

    d, ifm, ifm_tables, ifm_vals = clear_ifm(scenario)
    if lmpm_on:  # that IFM was the MPM pass: cleared again only if it mitigates a bid
        steps.append(lmpm.mitigate_after_ifm(scenario, ifm_tables, ptdf))
        if steps[-1].changed:
            say("market power mitigation: clear the IFM with the mitigated bids (§5.12)")
            scenario = steps[-1].scenario
            d, ifm, ifm_tables, ifm_vals = clear_ifm(scenario)
    ruc = None
    ruc_skipped = d.params.run_ruc and budget.spent()
    if d.params.run_ruc and not ruc_skipped:
        ruc = clear_ruc(d, ifm, ifm_vals)
    tables = extract_ruc(d, ruc, ptdf, ifm_vals, ifm_tables)
    if lmpm_on and ruc is not None:  # that RUC was the unmitigated RUC pass: likewise
        steps.append(lmpm.mitigate_after_ruc(scenario, tables, ptdf))
        if steps[-1].changed:
            say("market power mitigation: clear the RUC with the mitigated RCU bids (§5.12)")
            scenario = steps[-1].scenario
            d = prepare(scenario)
            ruc = clear_ruc(d, ifm, ifm_vals)
            tables = extract_ruc(d, ruc, ptdf, ifm_vals, ifm_tables)
    say("RSE")
    t0 = time.perf_counter()
    try:
        from clearing.market.rse import evaluate_rse
        rse = evaluate_rse(scenario, prices=tables["nodal_prices"], transfers=tables["transfers"])
        tables["rse"] = rse.table
        tables["rse_distribution"] = rse.distribution
    except ImportError:  # pragma: no cover - RSE module is part of the package
        pass
    timings["rse_s"] = time.perf_counter() - t0
    tables["mpm_test"] = test
    if ghg_ref:
        tables["ghg_reference"] = ghg_ref[0].table
    if lmpm_on:
        tables["mpm_mitigations"], tables["mpm_constraints"] = lmpm.combine(steps)
    else:
        tables["mpm_mitigations"] = lmpm.with_lmpm_columns(mitigations)
        tables["mpm_constraints"] = lmpm.empty_constraints()
    timings["total_s"] = time.perf_counter() - t_start
    manifest = build_manifest(submitted, ifm, ruc, timings)
    manifest["completion"], manifest["warnings"] = completion(ifm, ruc, budget, ruc_skipped)
    manifest["relaxation_summary"] = relaxation_summary(tables["relaxations"])
    if loss_runs:
        manifest["losses"] = loss_manifest(loss_runs, scenario.parameters)
        it = loss_runs[-1]
        if not it.converged:
            manifest["warnings"].append(
                f"marginal losses: a BAA-hour's losses r f²/base at the flows differ from the "
                f"modelled losses by {it.loss_gap_mw[-1]:.4g} MW (loss_tolerance_mw "
                f"{scenario.parameters.loss_tolerance_mw:g}) after {it.solves} IFM solves "
                "(loss_max_iterations); a negative gap means losses above the physical ones "
                "where a BAA's price is below zero")
    if ghg_ref:
        manifest["ghg"] = dict(ghg_ref[0].record)
    manifest["mpm"] = {"mode": scenario.parameters.mpm_mode,
                       "mitigated_bids": int(len(tables["mpm_mitigations"])),
                       "ifm_recleared": any(s.changed for s in steps[:1]),
                       "ruc_recleared": any(s.changed for s in steps[1:])}
    return RunResult(tables=tables, manifest=manifest)


# ---------------------------------------------------------------------------------------------
def _stage_status(sm: SolvedModel, budget: RunBudget) -> tuple[str, list[str]]:
    """(status, warnings) of one stage: its MIP's termination and its lazy rounds."""
    label = sm.bundle.kind.upper()
    rounds = sm.bundle.lazy_rounds
    warn = []
    status = "solved"
    term = sm.mip.termination
    by_budget = any(x.startswith(f"{label} MIP round") for x in budget.stopped)
    if term == "maxTimeLimit":
        status = "time_limit"
        which = (f"the run budget (run_time_limit_s = {budget.seconds:g} s)" if by_budget
                 else f"its time limit (time_limit_s = {sm.bundle.d.params.time_limit_s:g} s)")
        warn.append(f"{label} MIP stopped at {which} with a feasible solution at gap "
                    f"{sm.mip.gap:.4%} (mip_rel_gap {sm.bundle.d.params.mip_rel_gap:.4%}); "
                    "the result is not proven within the gap")
    elif term != "convergenceCriteriaSatisfied":
        status = "iteration_limit" if term == "iterationLimit" else term
        warn.append(f"{label} MIP stopped with termination {term} at gap {sm.mip.gap:.4%}")
    stopped = [r for r in rounds if r.get("stopped_by_budget")]
    unresolved = [r for r in rounds if r.get("unresolved")]
    for r in stopped:
        status = "time_limit"
        if r["mip"]:
            warn.append(f"{label}: the run budget stopped the lazy network rounds after MIP "
                        f"round {r['round']}: the commitment was chosen without "
                        f"{r['rows_added']} violated branch rows (the pricing LP enforces them "
                        "at that commitment)")
        else:
            warn.append(f"{label}: the run budget stopped the pricing LP's lazy rounds after "
                        f"round {r['round']}: {r['rows_added']} violated branch rows were not "
                        "enforced, so flows may exceed their limits unpenalised")
    if unresolved and not stopped:
        status = "lazy_round_limit" if status == "solved" else status
        warn.append(f"{label}: lazy_max_rounds ({sm.bundle.d.params.lazy_max_rounds}) reached "
                    f"with {unresolved[-1]['rows_added']} violated branch rows not enforced")
    if sm.lp.termination != "convergenceCriteriaSatisfied":
        status = "time_limit" if sm.lp.termination == "maxTimeLimit" else status
        warn.append(f"{label} pricing LP stopped with termination {sm.lp.termination}: "
                    "prices may not be optimal duals")
    return status, warn


def completion(ifm: SolvedModel, ruc: SolvedModel | None, budget: RunBudget,
               ruc_skipped: bool = False) -> tuple[dict, list[str]]:
    """The manifest's `completion` block and `warnings` (issue 22: honest completion).

    status: `solved` (every stage to its MIP gap, every violated branch row enforced),
    `time_limit` (a time limit or the run budget stopped a stage with a feasible result),
    `lazy_round_limit` (lazy_max_rounds reached with rows not enforced), or another HiGHS
    termination. The CLI exits 3 unless the status is `solved` (docs/exit-codes.md)."""
    stages = {"ifm": ifm, "ruc": ruc}
    out: dict = {}
    warnings: list[str] = []
    worst = "solved"
    for name, sm in stages.items():
        if sm is None:
            out[f"{name}_status"] = "skipped" if (name == "ruc" and ruc_skipped) else "not_run"
            out[f"{name}_gap"] = None
            continue
        st, w = _stage_status(sm, budget)
        out[f"{name}_status"] = st
        out[f"{name}_gap"] = sm.mip.gap
        warnings += w
        if worst == "solved":
            worst = st
    if ruc_skipped:
        worst = "time_limit"
        warnings.append(f"RUC skipped: the run budget (run_time_limit_s = {budget.seconds:g} s) "
                        "was spent by the IFM; no reliability capacity was procured")
    out["status"] = worst
    out["run_time_limit_s"] = budget.seconds if budget.limited else None
    out["budget_stopped"] = list(budget.stopped)
    return {"status": out.pop("status"), **out}, warnings


def loss_manifest(runs: list[losses.LossIteration], params) -> dict:
    """The manifest's `losses` block: the final IFM's loss iteration (solves, flow change per
    re-solve, converged, seconds) and the seconds of every IFM clearing's iteration (under
    lmpm the MPM pass iterates too)."""
    last = runs[-1].manifest()
    return {**last, "tolerance_mw": params.loss_tolerance_mw,
            "max_iterations": params.loss_max_iterations,
            "total_seconds": float(sum(r.seconds for r in runs)), "ifm_clearings": len(runs)}


def relaxation_summary(relaxations: pd.DataFrame) -> dict:
    """Per requirement kind (the `requirement` column up to a ':'; branch rows grouped by kind):
    rows (BAA-hours or branch-hours) relaxed, total MW and penalty cost (spec §4.3)."""
    if relaxations is None or relaxations.empty:
        return {}
    kind = relaxations["requirement"].astype(str).str.split(":").str[0]
    g = relaxations.assign(kind=kind).groupby("kind", sort=True)
    return {str(k): {"count": int(len(grp)), "relaxed_mw": float(grp["relaxed_mw"].sum()),
                     "cost_usd": float(grp["cost_usd"].sum())} for k, grp in g}


def fix_commitment(b: ModelBundle, commitment: pd.DataFrame, column: str, prefix: str = "") -> None:
    """Fix u (and the start/stop binaries it implies) at a given commitment (spec §5.4 logic)."""
    m, d = b.m, b.d
    u, v, w = (getattr(m, n + prefix) for n in ("u", "v", "w"))
    c = commitment.set_index(["resource", "hour"])[column]
    for i in d.of_type("thermal"):
        prev = 1 if d.thermal.at[i, "initial_on"] else 0
        for t in d.hours:
            on = int(round(float(c.get((i, t), prev))))
            u[i, t].fix(on)
            v[i, t].fix(1 if on and not prev else 0)
            w[i, t].fix(1 if prev and not on else 0)
            prev = on


# ---------------------------------------------------------------------------------------------
def extract_ifm(d: MarketData, sm: SolvedModel, ptdf: PTDF,
                components: tuple[Component, ...] | None = None) -> tuple[dict, dict]:
    """IFM results tables (schedules without RC, prices, transfers, summaries) and the IFM
    solution the RUC needs (u, g, up, dn, x, yU, yD, soc, nr_off): each component of the
    registry reads back its own part (clearing/market/readback.py)."""
    return read_back(d, sm, ptdf, components)


def net_ifm_cycles(d: MarketData, m: pyo.ConcreteModel) -> dict:
    """Cancel IFM transfer cycles of x, yU and yD in place (§5.2, §6.1 [A],
    network.transfers.net_model_cycles); {hour: MW removed}."""
    return net_model_cycles(d, m, {"x": m.x, "yU": m.yU, "yD": m.yD})


# The RUC's read-back into the IFM tables (clearing/market/readback.py, `into`): its branch rows
# (kind ruc) by the network component, the rest by the RC product; without a RUC, the RC
# product's zero columns.
RUC_COMPONENTS: tuple[Component, ...] = (
    Component("network", None, transmission.extract),
    Component("ties", None, ties.extract_ruc),  # import/export tie rows on the RUC schedule
    Component("reliability_capacity", None, reliability_capacity.extract_ruc),
)
NO_RUC_COMPONENTS: tuple[Component, ...] = (
    Component("reliability_capacity", None, reliability_capacity.extract_without_ruc),
)


def extract_ruc(d: MarketData, sm: SolvedModel | None, ptdf: PTDF, ifm: dict,
                tables: dict) -> dict:
    """The IFM tables with the RUC's awards, RC prices and RC relaxations added (spec §5.11,
    §6.4), read back by `RUC_COMPONENTS` from the IFM solution `ifm`; `sm` None: no RUC ran
    (`NO_RUC_COMPONENTS`)."""
    components = RUC_COMPONENTS if sm is not None else NO_RUC_COMPONENTS
    out, _ = read_back(d, sm, ptdf, components, given=ifm, into=tables)
    return out
