"""Tests of network/ (spec §2.3 PTDF and topology, §5.3 DC flows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from network.ptdf import (PTDF, compute_ptdf, default_reference_bus, ldf_ptdf,
                          scenario_ptdf)
from network.topology import baa_graph, baa_membership, islands, tie_lines
from scenarios import bundled, load_scenario
from scenarios.build import make_scenario

SEED = 20240601


def _branches(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["branch", "from_bus", "to_bus", "reactance_pu"]).assign(
        rating_mw=100.0)


def btheta_flows(buses: list[str], branches: pd.DataFrame, ref: str,
                 inj: np.ndarray) -> np.ndarray:
    """Independent DC power flow: dense B θ = P with θ_ref = 0, f = (θ_from − θ_to)/x."""
    pos = {b: i for i, b in enumerate(buses)}
    n = len(buses)
    bmat = np.zeros((n, n))
    for f, t, x in zip(branches["from_bus"], branches["to_bus"], branches["reactance_pu"]):
        i, j = pos[f], pos[t]
        bmat[i, i] += 1 / x
        bmat[j, j] += 1 / x
        bmat[i, j] -= 1 / x
        bmat[j, i] -= 1 / x
    keep = [k for k in range(n) if k != pos[ref]]
    theta = np.zeros(n)
    theta[keep] = np.linalg.solve(bmat[np.ix_(keep, keep)], inj[keep])
    return np.array([(theta[pos[f]] - theta[pos[t]]) / x for f, t, x in
                     zip(branches["from_bus"], branches["to_bus"], branches["reactance_pu"])])


def balanced_injections(rng: np.random.Generator, n: int) -> np.ndarray:
    p = rng.normal(scale=100.0, size=n)
    return p - p.mean()


# A small meshed network with a pair of parallel branches (b-c) of different reactance.
HAND_BUSES = ["a", "b", "c", "d", "e"]
HAND_BRANCHES = _branches([
    ("ab", "a", "b", 0.10), ("bc1", "b", "c", 0.20), ("bc2", "b", "c", 0.05),
    ("cd", "c", "d", 0.10), ("da", "d", "a", 0.30), ("be", "b", "e", 0.15),
    ("ed", "e", "d", 0.25), ("ca", "c", "a", 0.40),
])

TRIANGLE = _branches([("L12", "1", "2", 0.1), ("L23", "2", "3", 0.1), ("L31", "3", "1", 0.1)])


# ---------------------------------------------------------------------------------------------
# (a) agreement with an independent B-theta DC power flow
# ---------------------------------------------------------------------------------------------
def test_ptdf_matches_btheta_on_hand_network_with_parallel_branch():
    rng = np.random.default_rng(SEED)
    p = compute_ptdf(HAND_BUSES, HAND_BRANCHES, "a", threshold=0.0)
    for _ in range(20):
        inj = balanced_injections(rng, len(HAND_BUSES))
        ref = btheta_flows(HAND_BUSES, HAND_BRANCHES, "a", inj)
        np.testing.assert_allclose(p.flows(inj), ref, atol=1e-6, rtol=0)
    # parallel branches split in inverse proportion to reactance
    r1, r2 = p.row("bc1"), p.row("bc2")
    for bus in r1:
        assert r2[bus] == pytest.approx(4.0 * r1[bus])


def test_ptdf_matches_btheta_on_rts_gmlc_edam():
    s = load_scenario(bundled("rts_gmlc_edam"))
    buses = [str(b) for b in s.buses["bus"]]
    ref = default_reference_bus(s)
    exact = compute_ptdf(buses, s.branches, ref, threshold=0.0)
    thr = scenario_ptdf(s)
    assert thr.branch_ids == [str(b) for b in s.branches["branch"]]
    assert thr.bus_ids == buses and thr.reference_bus == ref
    eps = s.parameters.ptdf_threshold
    rng = np.random.default_rng(SEED)
    for _ in range(20):
        inj = balanced_injections(rng, len(buses))
        ref_flows = btheta_flows(buses, s.branches, ref, inj)
        np.testing.assert_allclose(exact.flows(inj), ref_flows, atol=1e-6, rtol=0)
        # the thresholded matrix is off by at most eps per unit of injection
        assert np.all(np.abs(thr.flows(inj) - ref_flows) <= eps * np.abs(inj).sum() + 1e-9)


def test_flows_accepts_matrix_of_injections():
    rng = np.random.default_rng(SEED)
    p = compute_ptdf(HAND_BUSES, HAND_BRANCHES, "c", threshold=0.0)
    inj = np.column_stack([balanced_injections(rng, 5) for _ in range(3)])
    f = p.flows(inj)
    assert f.shape == (len(HAND_BRANCHES), 3)
    for k in range(3):
        np.testing.assert_allclose(f[:, k], p.flows(inj[:, k]), atol=1e-12)
    with pytest.raises(ValueError):
        p.flows(np.zeros(4))


# ---------------------------------------------------------------------------------------------
# (b) reference independence
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("r1, r2", [("a", "e"), ("b", "d"), ("c", "a")])
def test_flows_reference_independent_for_balanced_injections(r1, r2):
    p1 = compute_ptdf(HAND_BUSES, HAND_BRANCHES, r1, threshold=0.0)
    p2 = compute_ptdf(HAND_BUSES, HAND_BRANCHES, r2, threshold=0.0)
    m1, m2 = p1.matrix.toarray(), p2.matrix.toarray()
    assert np.all(m1[:, p1.bus_index(r1)] == 0) and np.all(m2[:, p2.bus_index(r2)] == 0)
    assert not np.allclose(m1, m2)  # the factors themselves differ ...
    # ... by a column shift: PTDF^{r2}_{l,n} = PTDF^{r1}_{l,n} − PTDF^{r1}_{l,r2}
    np.testing.assert_allclose(m2, m1 - m1[:, [p1.bus_index(r2)]], atol=1e-12)
    rng = np.random.default_rng(SEED)
    for _ in range(20):
        inj = balanced_injections(rng, len(HAND_BUSES))
        np.testing.assert_allclose(p1.flows(inj), p2.flows(inj), atol=1e-9)


# ---------------------------------------------------------------------------------------------
# (c) threshold
# ---------------------------------------------------------------------------------------------
def test_threshold_drops_small_entries():
    # 1-2 and 2-3 are strong; 1-3 is very weak (x = 1e6): bus 2's factor on it is ~1e-6
    br = _branches([("L12", "1", "2", 1.0), ("L23", "2", "3", 1.0), ("L13", "1", "3", 1e6)])
    full = compute_ptdf(["1", "2", "3"], br, "1", threshold=0.0)
    cut = compute_ptdf(["1", "2", "3"], br, "1", threshold=1e-5)
    assert 0 < abs(full.row("L13")["2"]) < 1e-5
    assert "2" not in cut.row("L13")
    assert full.matrix.nnz > cut.matrix.nnz


def test_threshold_keeps_exactly_the_large_entries():
    full = compute_ptdf(HAND_BUSES, HAND_BRANCHES, "a", threshold=0.0)
    t = float(np.median(np.abs(full.matrix.data)))
    cut = compute_ptdf(HAND_BUSES, HAND_BRANCHES, "a", threshold=t)
    dense = full.matrix.toarray()
    np.testing.assert_allclose(cut.matrix.toarray(), np.where(np.abs(dense) >= t, dense, 0.0),
                               atol=1e-14)
    assert np.all(np.abs(cut.matrix.data) >= t)
    assert 0 < cut.matrix.nnz < full.matrix.nnz


# ---------------------------------------------------------------------------------------------
# (d) hand-computed 3-bus example
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["1", "2", "3"])
def test_triangle_hand_values(ref):
    p = compute_ptdf(["1", "2", "3"], TRIANGLE, ref)
    f = p.flows(np.array([1.0, 0.0, -1.0]))  # inject 1 at bus 1, withdraw at bus 3
    # direct path 1-3 carries 2/3, the path 1-2-3 carries 1/3; L31 is oriented 3 -> 1
    np.testing.assert_allclose(f, [1 / 3, 1 / 3, -2 / 3], atol=1e-12)


def test_triangle_rows_and_indices():
    p = compute_ptdf(["1", "2", "3"], TRIANGLE, "3")
    assert isinstance(p, PTDF) and p.shape == (3, 3)
    assert p.branch_index("L31") == 2 and p.bus_index("2") == 1
    assert p.row("L12") == pytest.approx({"1": 1 / 3, "2": -1 / 3})
    assert p.row("L23") == pytest.approx({"1": 1 / 3, "2": 2 / 3})
    assert p.row("L31") == pytest.approx({"1": -2 / 3, "2": -1 / 3})


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        compute_ptdf(["1", "2", "3"], TRIANGLE, "9")
    with pytest.raises(ValueError):
        compute_ptdf(["1", "2"], TRIANGLE, "1")  # branch to an unknown bus
    with pytest.raises(ValueError, match="islands"):
        compute_ptdf(["1", "2", "3", "4"], TRIANGLE, "1")


def test_single_bus_network():
    p = compute_ptdf(["1"], TRIANGLE.iloc[:0], "1")
    assert p.shape == (0, 1) and p.flows(np.zeros(1)).shape == (0,)


# ---------------------------------------------------------------------------------------------
# (e) topology: islands, tie lines, BAA graph; scenario helpers
# ---------------------------------------------------------------------------------------------
def test_islands_with_separated_pair():
    buses = ["1", "2", "3", "4", "5", "6"]
    br = _branches([("a", "1", "2", 1.0), ("b", "2", "3", 1.0), ("c", "3", "1", 1.0),
                    ("d", "4", "5", 1.0), ("e", "5", "4", 2.0)])
    assert islands(buses, br) == [{"1", "2", "3"}, {"4", "5"}, {"6"}]
    assert islands(buses[:3], br.iloc[:3]) == [{"1", "2", "3"}]
    # ties in size are broken by the smallest bus id
    assert islands(["z", "y", "b", "a"], _branches([("p", "z", "y", 1.0),
                                                    ("q", "b", "a", 1.0)])) == [{"a", "b"},
                                                                                 {"y", "z"}]


def _two_baa_scenario(reference_bus: str | None = None):
    """BAA A = {1, 2}, BAA B = {3, 4}; ties 2-3 (two circuits) and 4-1."""
    return make_scenario({
        "baas": [{"baa": "A", "is_reference": True}, {"baa": "B"}, {"baa": "C"}],
        "buses": [{"bus": "1", "baa": "A"}, {"bus": "2", "baa": "A"}, {"bus": "3", "baa": "B"},
                  {"bus": "4", "baa": "B"}, {"bus": "5", "baa": "C"}],
        "branches": [
            {"branch": "A12", "from_bus": "1", "to_bus": "2", "reactance_pu": 0.1,
             "rating_mw": 300},
            {"branch": "T23a", "from_bus": "2", "to_bus": "3", "reactance_pu": 0.2,
             "rating_mw": 100},
            {"branch": "T23b", "from_bus": "2", "to_bus": "3", "reactance_pu": 0.2,
             "rating_mw": 120},
            {"branch": "B34", "from_bus": "3", "to_bus": "4", "reactance_pu": 0.1,
             "rating_mw": 300, "monitored": False},
            {"branch": "T41", "from_bus": "4", "to_bus": "1", "reactance_pu": 0.3,
             "rating_mw": 80},
            {"branch": "T45", "from_bus": "4", "to_bus": "5", "reactance_pu": 0.3,
             "rating_mw": 50},
        ],
        "baa_hours": [{"baa": b, "hour": 1, "demand_forecast_mw": 0.0} for b in "ABC"],
        "load_distribution": [{"bus": "1", "ldf": 0.25}, {"bus": "2", "ldf": 0.75},
                              {"bus": "3", "ldf": 1.0}, {"bus": "4", "ldf": 0.0},
                              {"bus": "5", "ldf": 1.0}],
    }, hours=1, reference_bus=reference_bus)


def test_tie_lines_and_baa_graph():
    s = _two_baa_scenario()
    assert baa_membership(s) == {"1": "A", "2": "A", "3": "B", "4": "B", "5": "C"}
    tl = tie_lines(s)
    assert list(tl.columns) == ["branch", "from_bus", "to_bus", "from_baa", "to_baa",
                                "rating_mw"]
    assert list(tl["branch"]) == ["T23a", "T23b", "T41", "T45"]
    assert list(zip(tl["from_baa"], tl["to_baa"])) == [("A", "B"), ("A", "B"), ("B", "A"),
                                                        ("B", "C")]
    assert list(tl["rating_mw"]) == [100.0, 120.0, 80.0, 50.0]
    g = baa_graph(s)
    assert sorted(g.nodes) == ["A", "B", "C"]
    assert sorted(tuple(sorted(e)) for e in g.edges) == [("A", "B"), ("B", "C")]
    assert sorted(g["A"]["B"]["branches"]) == ["T23a", "T23b", "T41"]
    assert g["A"]["B"]["rating_mw"] == pytest.approx(300.0)


def test_scenario_ptdf_reference_and_all_rows():
    s = _two_baa_scenario()
    assert default_reference_bus(s) == "1"  # first bus of the reference BAA A
    assert default_reference_bus(_two_baa_scenario(reference_bus="4")) == "4"
    p = scenario_ptdf(s)
    assert p.reference_bus == "1"
    assert p.branch_ids == ["A12", "B34", "T23a", "T23b", "T41", "T45"]  # unmonitored included
    assert scenario_ptdf(s, reference_bus="3").reference_bus == "3"
    assert scenario_ptdf(_two_baa_scenario(reference_bus="4")).reference_bus == "4"


def test_ldf_ptdf_is_ldf_weighted_sum():
    s = _two_baa_scenario()
    p = scenario_ptdf(s)
    out = ldf_ptdf(p, s.ldf, s.bus_baa)
    assert list(out.columns) == ["A", "B", "C"] and list(out.index) == p.branch_ids
    m = p.matrix.toarray()
    col = p.bus_index
    np.testing.assert_allclose(out["A"], 0.25 * m[:, col("1")] + 0.75 * m[:, col("2")])
    np.testing.assert_allclose(out["B"], m[:, col("3")])
    np.testing.assert_allclose(out["C"], m[:, col("5")])
