"""`MarketParameters`: every tunable market parameter with its default, unit and spec reference.

Names are the contract of architecture.md ("Parameters"); the five parallel-operations parameters
are spec §9. Every [A] option of the spec has a name here and is listed in each run's manifest.
Values come from `scenario.yaml` (`parameters:`), then `--set name=value`, then a sweep.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from scenarios.errors import Problem, ScenarioError
from scenarios.schema import AS_RC_BID_CAP_USD_PER_MWH


#: Upper bound of every penalty and price parameter ($/MWh): HiGHS treats coefficients of
#: about 1e20 as infinite and loses accuracy far below, and no market price is near it
MAX_PRICE_USD_PER_MWH = 1e5


def _p(default: Any, unit: str, ref: str, tag: str, doc: str, choices: tuple | None = None,
       lo: float | None = None, hi: float | None = None, inf_ok: bool = False) -> Any:
    """A parameter field. Numbers must be finite unless `inf_ok` (then .inf means "no limit")."""
    return field(default=default, metadata=dict(unit=unit, ref=ref, tag=tag, doc=doc,
                                                choices=choices, lo=lo, hi=hi, inf_ok=inf_ok))


@dataclass(frozen=True)
class MarketParameters:
    """Tunable market parameters (spec §2.6, §4.3, §9; architecture.md "Parameters")."""

    # --- the five parallel-operations parameters (spec §9) ---
    deployment_constraint_set: str = _p(
        "base", "-", "§9 #1, §5.9", "A",
        "Transmission constraints enforced in the IR deployment scenarios: none, base, all, or "
        "a file listing constraint (branch) ids, one per line")
    ir_deployed_proportion: float = _p(
        0.45, "fraction", "§9 #2, §5.9", "S",
        "Share of IRU/IRD awards deployed in the deployment scenarios (the DIR factor)", lo=0, hi=1)
    storage_envelope_multiplier_up: float = _p(
        0.45, "fraction", "§9 #3, §5.10", "S",
        "Share of a storage resource's IRU award whose SOC effect must fit its lower envelope",
        lo=0, hi=1)
    storage_envelope_multiplier_down: float = _p(
        0.45, "fraction", "§9 #3, §5.10", "S",
        "Share of a storage resource's IRD award whose SOC effect must fit its upper envelope",
        lo=0, hi=1)
    ir_demand_curve_cap_usd_per_mwh: float = _p(
        55.0, "$/MWh", "§9 #4, §5.7", "S", "Cap on every IRU/IRD demand-curve price", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    ir_rc_default_availability_bid_usd_per_mwh: float = _p(
        55.0, "$/MWh", "§9 #5, §5.12", "S",
        "Default availability bid (DAB): price IRU/RCU bids are mitigated to", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)

    # --- run set-up ---
    phase: int = _p(2, "-", "§10", "S",
                    "1: no economic transfer, 2: economic transfer, 3: DA followed by RT",
                    choices=(1, 2, 3))
    mip_rel_gap: float = _p(0.001, "fraction", "§2.6", "A", "Relative MIP gap", lo=0, hi=1)
    time_limit_s: float = _p(600.0, "s", "§2.6", "A", "Time limit of each MIP solve (.inf: none)",
                             lo=0, inf_ok=True)
    solver_threads: int = _p(1, "-", "§2.6", "A",
                             "HiGHS threads of each MIP solve: above 1, HiGHS's parallel tree "
                             "search (deterministic: results depend on this value, not on the "
                             "machine or its load, but differ from a 1-thread run's among "
                             "solutions within the gap); LPs (lazy rounds, pricing) stay "
                             "serial. Measured on RTS-GMLC July days it did not speed up the "
                             "IFM, whose time is the serial root node (benchmarks/README.md)",
                             lo=1, hi=64)
    mip_start: str = _p("previous_round", "-", "§2.6", "A",
                        "The MIP start handed to HiGHS (issue 20): `previous_round` = a later "
                        "lazy round starts from the previous round's integer solution (still "
                        "feasible: flow rows are soft); `rounded` = the first round too, from "
                        "the LP relaxation's commitment rounded up from 0.05 with minimum "
                        "up/down times repaired; `none` = HiGHS's own heuristics only. "
                        "Deterministic; results may differ among solutions within the gap "
                        "(`rounded` measured no faster on RTS-GMLC days: benchmarks/README.md)",
                        choices=("previous_round", "rounded", "none"))
    run_time_limit_s: float = _p(0.0, "s", "§2.6", "A",
                                 "Wall-clock budget of the day-ahead run from its start (IFM and "
                                 "RUC, every lazy round): each HiGHS call gets the smaller of its "
                                 "own limit and what is left; once it is spent, lazy rounds stop "
                                 "and the incumbent is priced (each stage's first MIP round and "
                                 "first pricing LP always run), the RUC is skipped, and the "
                                 "manifest's completion status is time_limit (exit code 3). "
                                 "Phase 3's RT keeps its own limits. 0 or .inf: no budget",
                                 lo=0, inf_ok=True)
    ir_ramp_minutes: float = _p(15.0, "min", "§5.8", "A",
                                "IR ramp horizon T^IR: IRU <= T^IR x RR^up", lo=0, hi=1440)
    ir_as_ramp_minutes: float = _p(30.0, "min", "§5.8", "A",
                                   "Joint AS+IR ramp horizon T^IR2: RU+SR+NR+IRU <= T^IR2 x "
                                   "RR^up for every resource with an AS award or IR bid; .inf "
                                   "disables it", lo=0, hi=1440, inf_ok=True)
    as_ramp_minutes: float = _p(10.0, "min", "§5.6", "A",
                                "AS ramp horizon: RU+SR+NR <= as_ramp_minutes x RR^up (10-minute "
                                "products); .inf disables it", lo=0, hi=1440,
                                inf_ok=True)
    as_in_hourly_ramp: bool = _p(False, "-", "§5.4, §5.6", "A",
                                 "Count a thermal unit's RU+SR+NR awards in its hourly ramp-up "
                                 "limit: p_t + RU_t + SR_t + NR_t - p_t-1 <= 60 RR^up u_t-1 + "
                                 "SU v_t (pglib-uc's joint energy+reserve ramp; off in EDAM, "
                                 "set by the pglib-uc importer)")
    storage_as_sustain_hours: float = _p(0.5, "h", "§2.6, §5.10", "A",
                                         "Hours a storage AS award must be sustainable (h^AS)", lo=0,
                                         hi=48)
    storage_mode_binary: bool = _p(False, "-", "§5.10", "A",
                                   "Use a binary to forbid simultaneous charge and discharge")
    rc_exclusivity_binary: bool = _p(False, "-", "§3, §5.11", "A",
                                     "Enforce one of RCU/RCD per resource-hour with a binary ζ; "
                                     "off: the LP's RCU and RCD are netted (exact for bid "
                                     "prices >= 0)")
    iso_inserted_rcu_bid_usd_per_mwh: float = _p(
        0.0, "$/MWh", "§5.11, §8.2", "A",
        "Price of the RCU bid the ISO inserts for an RA resource (resources.must_offer_ra) or a "
        "certified VER (resources.rc_certified) in an hour without an RCU bid of positive MW: "
        "Pmax_t MW (a VER's forecast), flagged iso_inserted, its awards proxy awards (no no-pay)",
        lo=0, hi=AS_RC_BID_CAP_USD_PER_MWH)
    mpm_mode: str = _p("lmpm", "-", "§5.12", "A",
                       "Market power mitigation of IRU/RCU bids: lmpm (an MPM pass of the IFM, "
                       "then of the RUC, finds the non-competitive binding constraints and "
                       "mitigates each resource-hour whose price they raise by more than $0.01 "
                       "to min(bid, max(DAB, price - NCC))), off, ir_rc (three-pivotal-supplier "
                       "test per BAA and hour on the IR/RC requirement, before the market), "
                       "cap_all (mitigate every bid)",
                       choices=("off", "lmpm", "ir_rc", "cap_all"))
    mpm_pivotal_suppliers: int = _p(3, "-", "§5.12", "A",
                                    "Number of largest suppliers removed in the pivotal-supplier "
                                    "test (ir_rc: of a BAA's IR/RC supply; lmpm: of a binding "
                                    "constraint's counter-flow)", lo=1, hi=1000)
    mpm_energy: bool = _p(False, "-", "§5.12", "A",
                          "lmpm also mitigates energy offers: every supply segment of a "
                          "resource-hour whose LMP the non-competitive constraints raise by more "
                          "than $0.01 is lowered to max(DEB, LMP - NCC)")
    mpm_default_energy_bid_usd_per_mwh: float = _p(
        0.0, "$/MWh", "§5.12", "A",
        "Default energy bid (DEB) of energy LMPM (mpm_energy), one value for every resource (the "
        "scenario format has no cost-based default energy bids)", lo=-150.0, hi=1000.0)
    iru_import_tier1: str = _p("directional", "-", "§8.3", "A",
                               "Import term of IRU tier 1: directional (DAEN-FMMSS) or as_published",
                               choices=("directional", "as_published"))
    rse_surcharge_price_basis: str = _p("max", "-", "§7.4", "A",
                                        "Price the RSE surcharge uses: lmp, hub or the max of both",
                                        choices=("lmp", "hub", "max"))
    rse_combined_includes_am: bool = _p(False, "-", "§7.2 S4, §5.2", "A",
                                        "Add the additional margin AM (baa_hours."
                                        "additional_margin_mw) to the requirement of the RSE's "
                                        "combined upward test S4; off (the spec): S4 = D^F + "
                                        "Req^RU + Req^SR + Req^NR + R^IRU - S^RSE, AM enters "
                                        "only the NEC of §5.2")
    rse_as_group_joint_cap: bool = _p(False, "-", "§7.1, §7.2 S2, §5.6", "A",
                                      "Cap a resource's RSE capability for the cumulative AS "
                                      "groups {RU,SR} and {RU,SR,NR} at min(group sum, "
                                      "as_ramp_minutes x RR^up, Pmax_t) (the joint 10-minute "
                                      "limit of §5.6); off (the spec): a group's capability is "
                                      "the sum of its per-product CapAS")
    transfer_revenue_share_from: float = _p(0.5, "fraction", "§6.1", "A",
                                            "Share of ETSR transfer revenue to the from-BAA",
                                            lo=0, hi=1)
    ghg_reference: str = _p("area", "-", "§5.13", "A",
                            "GHG reference dispatch P^ref that limits attribution to "
                            "headroom max(0, Pmax - P^ref) (only with ghg_areas): area (a "
                            "reference pass before the IFM with every economic transfer into "
                            "a GHG area fixed at 0), baa (a reference pass with no economic "
                            "transfers at all), base_schedule (the scenario's "
                            "ghg_base_schedule.csv), none (no headroom row: shows secondary "
                            "dispatch; the area pass still runs for the indicator)",
                            choices=("area", "baa", "base_schedule", "none"))
    ghg_reference_solve: str = _p("mip", "-", "§5.13", "A",
                                  "How the GHG reference pass is solved: mip (the IFM's MIP "
                                  "with its lazy network rounds, to mip_rel_gap) or lp (its LP "
                                  "relaxation, commitment relaxed: a cheaper reference; the "
                                  "lazy network rows are added the same way)",
                                  choices=("mip", "lp"))
    transfer_cycle_netting: bool = _p(True, "-", "§5.2, §6.1", "A",
                                      "Cancel transfers that go round in circles (A->B->C->A, "
                                      "or both directions of one ETSR pair) after the solve, in "
                                      "x, yU, yD, x^R and RT x: each BAA's net positions, the "
                                      "prices and the objective are unchanged; the zero-hurdle "
                                      "optimum is otherwise degenerate")
    lazy_transmission: bool = _p(True, "-", "§5.3", "A",
                                 "Add violated branch limits in rounds instead of all at once")
    lazy_max_rounds: int = _p(20, "-", "§5.3", "A", "Maximum lazy transmission rounds", lo=1,
                           hi=1000)
    lazy_lp_rounds: int = _p(3, "-", "§5.3", "A",
                             "LP-relaxation rounds that add violated branch rows before the "
                             "first MIP round", lo=0, hi=100)
    ruc_seed_ifm_rows: bool = _p(True, "-", "§5.11", "A",
                                 "RUC starts with the branch rows the IFM added (for L^ruc)")
    flow_tolerance_mw: float = _p(1e-4, "MW", "§5.3", "A",
                                  "A flow above its limit by more than this is a violation", lo=0,
                                  hi=1000)
    ptdf_threshold: float = _p(1e-5, "-", "§2.3", "A",
                               "PTDF entries smaller in magnitude are dropped. At most 0.05 (the "
                               "usual flowgate-participation cut-off): a larger one drops shift "
                               "factors that carry real flow, up to every branch limit", lo=0,
                               hi=0.05)
    run_ruc: bool = _p(True, "-", "§5.11", "S", "Run the residual unit commitment after IFM")

    # --- marginal losses (issue 19 part 6; spec §5.1 "a loss-factor extension", §6.1 loss) ---
    marginal_losses: bool = _p(False, "-", "§5.1, §6.1", "A",
                               "Marginal losses in the IFM: branch losses r·f²/base, bounded "
                               "below by tangents (the losses linearised around flows: a grid, "
                               "then each solution's flows, iterated until they settle), enter "
                               "each BAA's balance; LMPs get a loss component "
                               "(docs/market-model.md, Marginal losses). Off: lossless DC")
    loss_base_mva: float = _p(100.0, "MVA", "§5.1", "A",
                              "Per-unit base of branches.resistance_pu (losses r·f²/base MW)",
                              lo=1e-3, hi=1e6)
    loss_max_iterations: int = _p(5, "-", "§5.1", "A",
                                  "Most IFM solves of the loss iteration (the first, on the "
                                  "tangent grid, included); reaching it with a BAA-hour's losses "
                                  "still off by more than loss_tolerance_mw is a manifest "
                                  "warning", lo=1, hi=50)
    loss_tolerance_mw: float = _p(0.01, "MW", "§5.1", "A",
                                  "The loss iteration stops when every BAA-hour's modelled "
                                  "losses are within this of r f²/base at the solution's flows",
                                  lo=0, hi=1000)

    # --- penalty prices (spec §4.3) ---
    penalty_power_balance_under_usd_per_mwh: float = _p(1000.0, "$/MWh", "§4.3", "S",
                                                        "IFM under-supply P^PB+", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_power_balance_over_usd_per_mwh: float = _p(150.0, "$/MWh", "§4.3", "S",
                                                       "IFM over-supply P^PB-", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_reg_up_usd_per_mwh: float = _p(250.0, "$/MWh", "§4.3", "A", "RU shortfall", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_spin_usd_per_mwh: float = _p(100.0, "$/MWh", "§4.3", "A", "SR shortfall", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_nonspin_usd_per_mwh: float = _p(50.0, "$/MWh", "§4.3", "A", "NR shortfall", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_reg_down_usd_per_mwh: float = _p(250.0, "$/MWh", "§4.3", "A", "RD shortfall", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_transmission_usd_per_mwh: float = _p(1500.0, "$/MWh", "§4.3", "A",
                                                 "Base-case branch overload", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_deployment_transmission_usd_per_mwh: float = _p(1500.0, "$/MWh", "§4.3", "A",
                                                            "Deployment-scenario overload", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_ruc_under_usd_per_mwh: float = _p(1000.0, "$/MWh", "§4.3", "A",
                                              "RUC forecast under-supply P^R+", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_ruc_over_usd_per_mwh: float = _p(250.0, "$/MWh", "§4.3", "A",
                                             "RUC forecast over-supply P^R-", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)
    penalty_fru_usd_per_mwh: float = _p(247.0, "$/MWh", "§10", "A",
                                        "RT flexible ramp up/down demand-curve cap", lo=0,
        hi=MAX_PRICE_USD_PER_MWH)

    # ------------------------------------------------------------------
    def __post_init__(self) -> None:
        problems = [p for p in (_check(f, getattr(self, f.name), "parameters")
                                for f in dataclasses.fields(self)) if p]
        if problems:
            raise ScenarioError(problems)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per parameter: name, default, unit, spec reference, tag, meaning."""
        return [dict(name=f.name, default=f.default, unit=f.metadata["unit"],
                     ref=f.metadata["ref"], tag=f.metadata["tag"], doc=f.metadata["doc"])
                for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def assumption_options(self) -> dict[str, Any]:
        """The [A] options in force, for the manifest (spec preamble)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.metadata["tag"] == "A"}

    def with_updates(self, updates: dict[str, Any], source: str = "--set") -> "MarketParameters":
        """A copy with `updates` applied; values may be strings (CLI) and are coerced."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        problems: list[Problem] = []
        coerced: dict[str, Any] = {}
        for name, raw in updates.items():
            if name not in fields:
                problems.append(Problem(source, None, name, f"unknown parameter '{name}'",
                                        "one of: " + ", ".join(fields)))
                continue
            try:
                coerced[name] = _coerce(fields[name], raw)
            except ValueError as exc:
                problems.append(Problem(source, None, name, repr(raw), str(exc)))
        if problems:
            raise ScenarioError(problems)
        try:
            return dataclasses.replace(self, **coerced)
        except ScenarioError as exc:
            raise ScenarioError([dataclasses.replace(p, file=source) for p in exc.problems])


def _coerce(f: dataclasses.Field, raw: Any) -> Any:
    default = f.default
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        s = str(raw).strip().lower()
        if s in ("true", "1", "yes", "on"):
            return True
        if s in ("false", "0", "no", "off"):
            return False
        raise ValueError("true or false")
    if isinstance(default, int):
        try:
            v = float(raw)
        except (TypeError, ValueError):
            raise ValueError("an integer") from None
        if not math.isfinite(v) or v != int(v):  # int(inf) would raise OverflowError
            raise ValueError("an integer")
        return int(v)
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError("a number") from None
    return str(raw)


def _range(md: dict) -> str:
    bounds = [f">= {md['lo']:g}" if md["lo"] is not None else "",
              f"<= {md['hi']:g}" if md["hi"] is not None else ""]
    text = " and ".join(x for x in bounds if x)
    unit = md["unit"] if md["unit"] not in ("", "-") else ""
    return " ".join(x for x in (text, unit) if x) or "any value"


def _check(f: dataclasses.Field, value: Any, source: str) -> Problem | None:
    md = f.metadata
    if md["choices"] is not None and value not in md["choices"]:
        return Problem(source, None, f.name, repr(value), "one of " + ", ".join(map(str, md["choices"])))
    if f.name == "deployment_constraint_set":
        if not isinstance(value, str) or not value:
            return Problem(source, None, f.name, repr(value), "none, base, all or a file path")
        return None
    if isinstance(f.default, (int, float)) and not isinstance(f.default, bool):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            return Problem(source, None, f.name, repr(value), "a number")
        if math.isinf(value) and md["inf_ok"] and value > 0:
            return None   # .inf = no limit, where the parameter says so
        if math.isinf(value):
            return Problem(source, None, f.name, repr(value),
                           f"a finite number ({_range(md)})")
        if md["lo"] is not None and value < md["lo"]:
            return Problem(source, None, f.name, repr(value), f"a value >= {md['lo']} ({md['unit']})")
        if md["hi"] is not None and value > md["hi"]:
            return Problem(source, None, f.name, repr(value), f"a value <= {md['hi']} ({md['unit']})")
    return None
