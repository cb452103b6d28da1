"""Honest completion (issue 22): the run's wall-clock budget (run_time_limit_s), the manifest's
`completion`, `warnings` and `relaxation_summary`, and the exit code of `edam solve`
(docs/exit-codes.md).

The budget case is spec §11.3 (line 1->2 limit 100; G1 $20 at bus 1, G2 $50 at bus 2, load 150
at bus 2) with the LP-relaxation rounds off, so the network rows are found by MIP rounds: without
a budget the first MIP round overloads the line (G1 150 MW) and a second one enforces it. A
budget of 1 ms is spent before the first solve: that round still runs (there must be an
incumbent), the second does not, the RUC is skipped, and the pricing LP at the incumbent's
commitment enforces the row the first round found: G1 100, G2 50, LMPs 20 / 50 as by hand."""

from __future__ import annotations

import json

import pytest

from clearing.api import solve
from clearing.cli import EXIT_AT_LIMIT, EXIT_SOLVED, main
from clearing.market.engine import relaxation_summary
from clearing.market.solver import RunBudget
from scenarios.examples import example_11_2, example_11_3
from scenarios.writer import write_scenario

TOL = 1e-6


def _case(**params):
    return example_11_3().with_parameters(lazy_lp_rounds=0, **params)


def _mip_rounds(run) -> list[dict]:
    return [r for r in run.manifest["solver"]["lazy"]["round_log"] if r["mip"]]


def test_without_budget_the_run_is_solved():
    r = solve(_case())
    c = r.manifest["completion"]
    assert c["status"] == "solved" and c["ifm_status"] == c["ruc_status"] == "solved"
    assert r.manifest["warnings"] == [] and c["run_time_limit_s"] is None
    assert len(_mip_rounds(r)) == 2   # the round the budget case cannot afford


def test_a_spent_budget_stops_the_lazy_rounds_and_says_so():
    r = solve(_case(run_time_limit_s=1e-3))
    c = r.manifest["completion"]
    assert c["status"] == "time_limit" and c["ifm_status"] == "time_limit"
    assert c["ruc_status"] == "skipped" and c["run_time_limit_s"] == 1e-3
    rounds = _mip_rounds(r)
    # line L12 at 150 MW > 100 in its base row and both deployment rows (L^dep = base, no IR)
    assert len(rounds) == 1 and rounds[0]["rows_added"] == 3 and rounds[0]["stopped_by_budget"]
    assert r.manifest["solver"]["lazy"]["relaxation_rounds"] == 0
    text = " ".join(r.manifest["warnings"])
    assert "run budget stopped the lazy network rounds after MIP round 1" in text
    assert "RUC skipped" in text
    # pricing still ran on the incumbent: the LP at its commitment enforces the row found
    g = r.schedules.set_index("resource")["energy_mw"]
    assert g["G1"] == pytest.approx(100, abs=TOL) and g["G2"] == pytest.approx(50, abs=TOL)
    lmp = r.nodal_prices.set_index("bus")["lmp"]
    assert lmp["1"] == pytest.approx(20, abs=TOL) and lmp["2"] == pytest.approx(50, abs=TOL)


def test_run_budget_with_a_clock():
    """The budget's arithmetic on a clock the test sets: 10 s budget started at t = 100."""
    now = [100.0]
    b = RunBudget(10.0, clock=lambda: now[0])
    assert b.limited and b.remaining() == 10.0 and not b.spent()
    now[0] = 107.5
    assert b.remaining() == 2.5
    now[0] = 111.0
    assert b.remaining() == 0.0 and b.spent()
    assert not RunBudget(0.0).limited and RunBudget(0.0).remaining() == float("inf")
    assert RunBudget(float("inf")).remaining() == float("inf")


def test_relaxation_summary_of_11_2():
    """§11.2: the IRU requirement 80 MW is met by 45 MW (G1 30 + G2 15, their ramp limits), so
    35 MW are relaxed in one BAA-hour at the $55 cap: cost 35 * 55 = 1925."""
    r = solve(example_11_2())
    s = r.manifest["relaxation_summary"]
    assert set(s) == {"iru"}
    assert s["iru"]["count"] == 1
    assert s["iru"]["relaxed_mw"] == pytest.approx(35.0)
    assert s["iru"]["cost_usd"] == pytest.approx(1925.0)


def test_relaxation_summary_groups_branch_rows_by_kind():
    import pandas as pd
    rel = pd.DataFrame([dict(requirement="branch_base:L1", relaxed_mw=2.0, cost_usd=3000.0),
                        dict(requirement="branch_base:L2", relaxed_mw=1.0, cost_usd=1500.0),
                        dict(requirement="as_ru", relaxed_mw=4.0, cost_usd=1000.0)])
    assert relaxation_summary(rel) == {
        "as_ru": {"count": 1, "relaxed_mw": 4.0, "cost_usd": 1000.0},
        "branch_base": {"count": 2, "relaxed_mw": 3.0, "cost_usd": 4500.0}}


def test_cli_exit_codes_and_warning(tmp_path, capsys):
    """`edam solve` exits 0 when solved to the gap and 3 when the budget stopped it, after
    writing the results with the warning on the console and the status in manifest.json."""
    folder = tmp_path / "case"
    write_scenario(_case(), folder)
    assert main(["solve", str(folder), "--out", str(tmp_path / "ok")]) == EXIT_SOLVED
    capsys.readouterr()
    rc = main(["solve", str(folder), "--out", str(tmp_path / "cut"),
               "--set", "run_time_limit_s=0.001"])
    err = capsys.readouterr().err
    assert rc == EXIT_AT_LIMIT == 3
    assert "warning" in err and "run budget stopped" in err and "status time_limit" in err
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["completion"]["status"] == "time_limit"
    assert manifest["parameters"]["run_time_limit_s"] == 0.001


def test_a_mip_stopped_at_its_time_limit_is_reported_with_its_gap():
    """The classifier on a real §11.2 IFM whose MIP record is marked as HiGHS reports a MIP
    stopped at time_limit_s (termination maxTimeLimit, gap 2 %): status time_limit, and the
    warning quotes the achieved gap 2.0000 % against mip_rel_gap 0.1000 %."""
    import dataclasses

    from clearing.market.data import prepare
    from clearing.market.engine import completion
    from clearing.market.ifm import build_ifm, solve_and_price
    from network.ptdf import scenario_ptdf
    sc = example_11_2()
    sm = solve_and_price(build_ifm(prepare(sc)), scenario_ptdf(sc),
                         ("base", "dep_up", "dep_down"), "IFM")
    done, warnings = completion(sm, None, RunBudget())
    assert done["status"] == "solved" and warnings == []
    sm.mip = dataclasses.replace(sm.mip, termination="maxTimeLimit", gap=0.02)
    done, warnings = completion(sm, None, RunBudget())
    assert done["status"] == done["ifm_status"] == "time_limit" and done["ifm_gap"] == 0.02
    assert done["ruc_status"] == "not_run"
    assert len(warnings) == 1 and "2.0000%" in warnings[0] and "0.1000%" in warnings[0]
    assert "time_limit_s = 600 s" in warnings[0]


def test_phase3_completion_includes_the_rt_stage():
    """Phase 3: the RT stage joins `completion` (rt_status, rt_gap). example_11_1 is one hour
    with nothing to branch on, so every stage solves to the gap and the run's status stays
    `solved`."""
    from clearing.api import solve
    from scenarios import load_scenario
    r = solve(load_scenario("example_11_1", {"phase": 3}))
    c = r.manifest["completion"]
    assert c["status"] == "solved" and c["rt_status"] == "solved"
    assert c["rt_gap"] is not None and c["rt_gap"] <= r.manifest["parameters"]["mip_rel_gap"]


def test_rt_stopped_at_its_cap_makes_the_run_not_solved():
    """An FMM MIP round that stops at its time limit with a feasible result turns a solved day
    ahead into status `time_limit` (exit 3) with a warning naming RT's cap (90 s)."""
    from types import SimpleNamespace

    from clearing.market.rt import RT_MIP_TIME_LIMIT_S, rt_completion
    from clearing.market.solver import RunBudget
    from scenarios.parameters import MarketParameters
    p = MarketParameters()
    sm = SimpleNamespace(
        mip=SimpleNamespace(termination="maxTimeLimit", gap=0.0014),
        lp=SimpleNamespace(termination="convergenceCriteriaSatisfied"),
        bundle=SimpleNamespace(kind="rt", lazy_rounds=[], d=SimpleNamespace(params=p)))
    c, w = rt_completion({"status": "solved", "ifm_status": "solved"}, ["earlier"], sm,
                         RunBudget())
    assert c["status"] == "time_limit" and c["rt_status"] == "time_limit"
    assert c["rt_gap"] == 0.0014 and c["ifm_status"] == "solved"
    assert w[0] == "earlier" and len(w) == 2
    assert f"RT_MIP_TIME_LIMIT_S) = {min(p.time_limit_s, RT_MIP_TIME_LIMIT_S):g} s" in w[1]
    assert "0.1400%" in w[1]
