"""Independent solution checker (issue "Parallel-operations validation"; docs/validation.md).

`check_run(scenario, run)` re-derives the rules of the market-design spec from the scenario's input
tables and a run's result tables only (results contract, `clearing/results.py`). It never touches
the Pyomo model or the engine's data preparation, so it can vet this engine's runs and reference
results alike; the one piece of engine code it uses is the PTDF of `network/ptdf.py` (network
algebra, not market data). Each rule that needs a table the run does not have is skipped (listed
in `violations.attrs["skipped"]`), so a reference folder holding a subset of the tables is vetted
on what it has.

Rule families, one module each: `physical` (resources), `flows` (balance, ETSRs, NEC, network,
cycles), `ties` (import/export tie limits), `reserves` (AS, IR, RC requirements and credit, RUC
balance), `prices` (§6 relations), `profit` (prices support the schedules: per-resource profit
LPs and the dual objective).

Sign conventions read from the run: `schedules.energy_mw` is the net injection g of spec §3
(exports, demand bids and virtual demand negative; storage discharge − charge); `transfers.mw` is
the economic EDAM transfer x_k of the directed ETSR (base transfers X^base come from the
scenario's `interface_hours`); relaxations (slacks) are read from the `relaxations` table, whose
`requirement` names are classified by `classify_relaxation` (documented in docs/validation.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from clearing.analysis.check import (flows, ghg, mitigation, physical, prices, profit, reserves,
                                    ties)
from clearing.analysis.check.context import (VIOLATION_COLUMNS, Context, classify_relaxation,  # noqa: F401
                                    relaxation_frame)
from clearing.results import RunResult, read_run
from scenarios.scenario import Scenario

__all__ = ["RULES", "VIOLATION_COLUMNS", "check_run", "check_command", "classify_relaxation",
           "format_violation", "main", "relaxation_frame"]

# rule -> what it checks (spec reference). The order is the order of the report.
RULES: dict[str, str] = {
    "coverage": "schedules has exactly one row per scenario resource and hour (results contract)",
    "balance": "per-BAA power balance with ETSR and base transfers (and the published "
               "losses.loss_mw with marginal losses); a gap equal to the reported "
               "power-balance relaxation is allowed (§5.1)",
    "transfer_limit": "0 ≤ x_k ≤ X^max_k and x_k − x_k̄ ≤ X^max_k − (X^base_k − X^base_k̄) for IFM "
                      "(transfers) and RUC (ruc_transfers) transfers; phase 1: x = 0 (§5.2, §10)",
    "nec": "net export of EDAM energy + IRU ≤ NEC_bt for BAAs with nec_enabled, IFM (x) and RUC "
           "(x^R) (§5.2, §5.11)",
    "transfer_cycle": "no directed cycle of positive transfers in any hour that could be "
                      "cancelled without breaking an ETSR row, IFM and RUC (§5.2)",
    "branch_limit": "|PTDF·inj| ≤ rating (+ reported overload) for branches in L^base; inj by bus "
                    "= Σ energy_mw − fixed demand + LDF·(power-balance slack − withdrawn losses); a "
                    "branch-hour "
                    "rated 0 MW is out of service, not checked (§5.3)",
    "deployment_flow": "deployment-scenario flows fU = f + δ·PTDF·(IRU − LDF·CU), fD = f − "
                       "δ·PTDF·(IRD − LDF·CD) within rating + reported overload on L^dep; "
                       "rating 0 = out of service (§5.9)",
    "losses": "marginal losses: per BAA-hour Σ_l share·r_l f_l²/base from the checker's own "
              "flows (withdrawn losses by LDF) and the scenario's resistances ≈ losses.loss_mw "
              "within loss_tolerance_mw + 1e-3 MW (the engine's stopping rule); baa_summary.loss_mw "
              "= losses.loss_mw (docs/market-model.md, Marginal losses)",
    "commitment": "thermal committed ∈ {0,1}; must-run units committed (§5.4)",
    "energy_limits": "thermal Pmin·u ≤ p ≤ Pmax_t·u; VER 0 ≤ p ≤ forecast; storage −Pch ≤ p ≤ "
                     "Pdis; hydro, imports, exports, demand and virtual bids within their MW; "
                     "hydro daily energy (§5.4, §5.5)",
    "self_schedule": "supply resources produce at least min(self-schedule, Pmax_t) (§5.4)",
    "tie_limit": "per import/export tie (tie_resources) and hour, Σ imports − Σ exports ≤ TL^imp "
                 "and Σ exports − Σ imports ≤ TL^exp (tie_limits) on the IFM schedule "
                 "(energy_mw) and the RUC schedule (energy_mw + rcu_mw − rcd_mw) (§5.5, §5.11)",
    "ramp": "hourly ramps: p_t − p_t−1 ≤ 60 RR^up u_t−1 + SU v_t, p_t−1 − p_t ≤ 60 RR^dn u_t + "
            "SD w_t (SU/SD = start-up/shut-down ramp, default Pmax), initial output from "
            "thermal.csv; with as_in_hourly_ramp, an on-line thermal unit's RU + SR + NR are "
            "added to p_t in the ramp-up (§5.4)",
    "min_up": "on-line runs last at least min_up_h, initial conditions from thermal.csv (§5.4)",
    "min_down": "off-line runs last at least min_down_h, initial conditions from thermal.csv "
                "(§5.4)",
    "storage_soc": "SOC recomputed from energy_mw with the efficiencies stays in [soc_min, "
                   "soc_max] and ends ≥ soc_end_min; IR envelopes E^L (μU·IRU/η_d deployed) ≥ "
                   "soc_min and E^H (μD·η_c·IRD) ≤ soc_max; AS sustain from the hour's opening SOC "
                   "(§5.10)",
    "headroom": "upward stack p + RU + SR + NR + IRU ≤ Pmax_t·u and downward stack p − RD − IRD ≥ "
                "Pmin·u (type-specific bounds; off-line NR of fast-start units); thermal upward "
                "stack ≤ SU in a start-up hour and ≤ SD in the hour before a shut-down "
                "(docs/market-model.md §5.4 [A]); RUC stacks with r = p + RCU − RCD (§5.4, §5.5, "
                "§5.10, §5.11)",
    "reserve_ramp": "RU+SR+NR ≤ as_ramp_minutes·RR^up, RD ≤ as_ramp_minutes·RR^dn, IRU/IRD ≤ "
                    "T^IR·RR, AS+IR ≤ T^IR2·RR, RCU − new Pmin ≤ 60 RR^up, RCD ≤ 60 RR^dn "
                    "(§5.6, §5.8, §5.11)",
    "award_bid": "AS/IR/RC awards ≥ 0, only where the resource bid that product in the hour, and "
                 "≤ the hour's bid MW; the RCU bid the ISO inserts for an RA resource or a "
                 "certified VER without one (Pmax_t at iso_inserted_rcu_bid_usd_per_mwh) counts "
                 "as its bid (§2.5, §5.11)",
    "rc_proxy": "schedules.rcu_proxy / rcd_proxy true exactly where the award is positive and "
                "the hour's RCU / RCD bid is ISO-inserted (proxy awards, no no-pay) (§5.11, "
                "§8.2)",
    "rc_exclusive": "at most one of RCU and RCD per resource-hour (§5.11)",
    "as_requirement": "cumulative AS requirements met inside each BAA or relaxed (§5.6)",
    "ir_rc_requirement": "IRU/IRD/RCU/RCD cleared + relaxed (+ RC transfers) ≥ requirement "
                         "(baa_summary); IR requirement equals the input; awards + relaxed cover "
                         "the requirement per BAA in phase 1 and, for IR, over the footprint "
                         "(§5.7, §5.11)",
    "reserve_credit": "every BAA-hour: IR awards + IR transfers in − out ≥ the cleared requirement; "
                      "RCU + RC net import (+ slack) ≥ the forecast gap, RCD − RC net import "
                      "(+ slack) ≥ −gap (§5.7, §5.11)",
    "ruc_balance": "physical schedule + RCU − RCD + RUC transfers meets the demand forecast within "
                   "the reported RUC relaxation (§5.11)",
    "ir_price_cap": "IRU/IRD requirement price ≤ ir_demand_curve_cap_usd_per_mwh when the "
                    "requirement is relaxed and the BAA exports no IR of that product (§5.7, "
                    "§11.10; an exporter's ρ is the exported IR's value)",
    "etsr_price": "§6.1 ETSR price separation: the reduced cost hurdle + ν − ν̄ + β − (π_e − π_o) of "
                  "each transfer ≥ 0, = 0 where x > 0; ν, β ≥ 0 and 0 off binding constraints; "
                  "shadow_price = ν + β; without duals, the complementary-slackness inequalities",
    "transfer_revenue": "transfers.transfer_revenue_usd = x·(π_e − π_o) (§6.1, results contract)",
    "reserve_price": "AS σ's from the cascaded ASMPs in [0, penalty], = penalty where relaxed; IR "
                     "requirement price = cap where relaxed, ≤ cap where cleared; IRUMP/IRDMP = ρ "
                     "∓ δ·Ση·(PTDF − PTDF^LDF); RCUMP = −RCDMP = π^R − Σ PTDF·μR (both 0 without an "
                     "RC award); "
                     "RUC price = penalty where relaxed (§6.2–6.4, §11.10)",
    "revenue_adequacy": "rent Σ_n LMP_n·withdrawal_n − Σ_k X^base_k·(π_e − π_o) ≥ 0 per hour (§5.3, §6.1)",
    "price_range": "a price outside its bids' range — LMP, BAA price [min(floor, −P^PB−), "
                   "max(cap, P^PB+)], AS [0, AS cap], IR [0, Cap^IR], RUC/RC ± RC cap — only with "
                   "a relaxation (or a binding deployment / RUC branch row, for IRUMP/IRDMP, "
                   "RCUMP/RCDMP) in that hour; IR requirement prices never (issue 22)",
    "profit": "prices support the schedules: per resource, an LP over the day (its bids of each "
              "hour, stacks "
              "incl. the start-up/shut-down capacity rows, ramps, SOC) at the published LMP, "
              "ASMPs and IRUMP/IRDMP earns no more than its "
              "published schedule; RUC side: RCU/RCD at ± the RUC price at the bus within RC bids, "
              "RUC stacks and RC ramps (§6, §6.4, §11.10)",
    "dual_objective": "LP duality at fixed commitment: the dual objective rebuilt from the published "
                      "prices, the scenario's right-hand sides and the per-resource best profits "
                      "equals manifest solver.objective_lp (§6)",
    "lmp_components": "LMP = energy + congestion + loss (+ ghg) within 1e-6; the energy "
                      "component (SMEC) is one value per hour; congestion = BAA transfer + "
                      "network congestion and energy + BAA transfer = π_b where published (§6.1)",
    "elap_bounds": "BAA load-aggregate price Σ LDF·LMP within [−P^PB−, P^PB+] (the balance "
                   "slacks' reduced costs) and equal to the penalty where balance is relaxed "
                   "(§4.3, §5.3, §6.1)",
    "ghg_bid": "GHG attribution 0 ≤ e_iat ≤ Ē_iat, only where ghg_bids has a bid (§5.13)",
    "ghg_dispatch": "Σ_a e_iat ≤ g_it: no more attributed than dispatched (§5.13)",
    "ghg_headroom": "Σ_a e_iat ≤ max(0, Pmax_it − P^ref_it), P^ref from the published "
                    "ghg_reference (or ghg_base_schedule); not with ghg_reference none (§5.13)",
    "ghg_coverage": "Σ_i e_iat ≥ NI_at, the net economic transfer into the area from "
                    "transfers (§5.13)",
    "ghg_price": "μ_at ≥ 0, μ_at > 0 only where the coverage row binds; the nodal ghg "
                 "component = μ of the bus's area, 0 outside every area (§5.13)",
    "ghg_revenue": "each GHG payment = μ·e; per area-hour Σ payments = μ·NI; per hour "
                   "Σ x·(π_e − π_o) = Σ transfer_revenue_usd (net of μ) + Σ GHG payments: the "
                   "loads pay the generators' energy, the congestion rent and the GHG payments "
                   "(§5.13)",
    "mpm_mitigation": "every mpm_mitigations row lowers the scenario's bid of its hour (hour 0, "
                      "ir_rc/cap_all: the day's highest price, to DAB); an lmpm row has NCC > "
                      "$0.01 equal to −Σ μ·c over the non-competitive rows of mpm_constraints "
                      "(IRU c = δ(PTDF − PTDF^LDF), RCU and energy c = PTDF), competitive price "
                      "= pass price − NCC and price min(bid, max(DAB, competitive)) (energy: "
                      "max(DEB, competitive)); each mpm_constraints test consistent: supply = "
                      "largest + residual, competitive iff residual ≥ needed (or not listed in "
                      "noncompetitive_constraints) (§5.12)",
}

# (function, needs schedules) in the order they run
_FAMILY_RULES = [
    (physical.check_coverage, True), (flows.check_balance, True), (flows.check_transfers, False),
    (flows.check_nec, False), (flows.check_cycles, False), (flows.check_branches, True),
    (flows.check_deployment, True), (flows.check_losses, True), (physical.check_unit_limits, True), (physical.check_ramps, True),
    (physical.check_min_up_down, True), (physical.check_storage, True),
    (ties.check_tie_limits, True),
    (physical.check_headroom, True), (physical.check_reserve_ramp, True),
    (physical.check_awards, True), (physical.check_proxy_awards, True),
    (reserves.check_as_requirements, True),
    (reserves.check_ir_rc, False), (reserves.check_reserve_credit, True),
    (reserves.check_ruc, True), (prices.check_prices, False),
    (prices.check_etsr_prices, False), (prices.check_transfer_revenue, False),
    (prices.check_reserve_prices, False), (prices.check_revenue_adequacy, False),
    (prices.check_price_range, False), (profit.check_profit, True),
    (profit.check_dual_objective, True), (profit.check_rc_profit, True),
    (mitigation.check_mitigations, False), (ghg.check_ghg, False),
]


def check_run(scenario: Scenario, run: RunResult | str | Path, tol: float = 1e-4) -> pd.DataFrame:
    """Every violation of the rules in `RULES` found in `run` against `scenario`, one row each:
    rule, table, kind (resource/bus/branch/interface/baa/...), id, hour (None for daily rules),
    amount (the value found), limit (the bound it broke), excess (|amount − limit|), message.
    Empty when the run passes. `attrs["skipped"]` lists rules (or parts) not checked and why."""
    if isinstance(run, (str, Path)):
        run = read_run(run)
    ctx = Context(scenario, run, tol)
    if ctx.sched is None:
        ctx.skipped.append("all schedule rules: no schedules table")
    for fn, needs_schedules in _FAMILY_RULES:
        if needs_schedules and ctx.sched is None:
            continue
        fn(ctx)
    out = pd.DataFrame(ctx.rows, columns=VIOLATION_COLUMNS)
    if len(out):
        order = {r: i for i, r in enumerate(RULES)}
        out = out.assign(_o=out["rule"].map(order)).sort_values(
            ["_o", "id", "hour"], kind="stable", na_position="first").drop(columns="_o")
        out = out.reset_index(drop=True)
        out["hour"] = out["hour"].astype("Int64")
    out.attrs["skipped"] = list(ctx.skipped)
    out.attrs["parameters"] = {"phase": ctx.p.phase, "run_ruc": ctx.p.run_ruc}
    return out


def format_violation(v: dict) -> str:
    """One line per violation: `[rule] table: kind id hour h: message`."""
    hour = "" if v.get("hour") is None or pd.isna(v.get("hour")) else f" hour {int(v['hour'])}"
    return f"[{v['rule']}] {v['table']}: {v['kind']} {v['id']}{hour}: {v['message']}"
def check_command(run_dir: str | Path, scenario: str | Path | Scenario | None = None,
                  tol: float = 1e-4) -> int:
    """`edam check RUN_DIR [--scenario PATH]`: print each violation; 0 when none, 1 otherwise,
    2 when the scenario cannot be found."""
    run = read_run(run_dir)
    sc = scenario
    if sc is None:
        sc = (run.manifest or {}).get("scenario_dir")
        if not sc:
            print(f"edam check: {run_dir}: the manifest names no scenario_dir; pass --scenario",
                  file=sys.stderr)
            return 2
    if not isinstance(sc, Scenario):
        from scenarios import load_scenario
        if not Path(sc).is_dir():
            print(f"edam check: scenario folder {sc} not found; pass --scenario", file=sys.stderr)
            return 2
        sc = load_scenario(sc)
    v = check_run(sc, run, tol=tol)
    for rec in v.to_dict("records"):
        print(format_violation(rec))
    for note in v.attrs.get("skipped", []):
        print(f"skipped {note}")
    if len(v):
        print(f"{len(v)} violation{'s' if len(v) != 1 else ''} in {run_dir}")
        return 1
    print(f"OK: no violations in {run_dir} ({len(RULES)} rules)")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="edam check", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args(argv)
    return check_command(a.run_dir, a.scenario, a.tol)

