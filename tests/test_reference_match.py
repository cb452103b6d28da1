"""benchmarks/reference_match.py: the engine-vs-reference objective check (issue 10)."""

from __future__ import annotations

import pytest

from benchmarks.pglib_reference import load_reference
from benchmarks.reference_match import match_row, recorded_matches

REF = dict(objective=100.0, bound=99.9, hours=48, status="convergenceCriteriaSatisfied")


def test_match_within_gap_and_consistent_bounds():
    r = match_row("x", 1e-3, objective=100.05, bound=99.95, hours=48, reference=REF)
    assert r["match"] and r["consistent"]
    assert r["objective_rel_diff"] == pytest.approx(0.0005)


def test_objective_below_the_reference_bound_is_flagged():
    # 0.2 % below the reference's objective and below its proven bound 99.9: a looser model
    r = match_row("x", 1e-3, objective=99.8, bound=99.7, hours=48, reference=REF)
    assert not r["match"] and not r["consistent"]


def test_reference_above_our_bound_only_is_inconsistent():
    # ours within the gap of the reference, but our proven bound is above the reference value
    r = match_row("x", 1e-3, objective=100.09, bound=100.02, hours=48, reference=REF)
    assert r["match"] and not r["consistent"]


def test_other_horizon_or_no_reference_is_not_compared():
    assert match_row("x", 1e-3, 100.0, 99.9, hours=12, reference=REF) is None
    assert match_row("x", 1e-3, 100.0, 99.9, hours=48, reference=None) is None


def test_recorded_matches_reads_the_recorded_reference():
    ref = load_reference("rts_gmlc/2020-07-06", 0.001)
    summary = [dict(case="pglib:rts_gmlc/2020-07-06", engine="edam", runs=1, mip_rel_gap=0.001,
                    objective=ref["objective"] * (1 - 4e-4), bound=ref["bound"], hours=48),
               dict(case="tiled:3", engine="edam", runs=1, mip_rel_gap=0.001, objective=1.0,
                    bound=1.0, hours=24)]
    (r,) = recorded_matches(summary)
    assert r["instance"] == "rts_gmlc/2020-07-06" and r["match"] and r["consistent"]
    assert r["objective_rel_diff"] == pytest.approx(-4e-4)
