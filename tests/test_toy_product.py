"""A product is one place (issue 18): a toy product — a regulation-mileage placeholder — is
one small module (`add_to_model` + `extract`, below) and one registry line, and the run's
tables carry its awards and prices without any change to the engine."""

from __future__ import annotations

import types

import pandas as pd
import pyomo.environ as pyo
import pytest

from clearing.market import ifm
from clearing.api import solve
from clearing.market.ifm import IFM_COMPONENTS, Component
from scenarios.examples import example_11_1

MILEAGE_REQUIREMENT_MW = {"A": 60.0}   # per BAA, every hour
MILEAGE_BID_USD_PER_MWH = 3.0
TOL = 1e-6


# ---- the toy product's module -----------------------------------------------------------------
def _add_to_model(b) -> list:
    """Mileage awards of the thermal units of each BAA with a requirement, counted in their
    upward capacity stack, bought at a flat bid against the requirement (no shortfall)."""
    m, d, T = b.m, b.d, b.T
    idx = [(r, t) for r in d.of_type("thermal") if d.resources.at[r, "baa"] in
           MILEAGE_REQUIREMENT_MW for t in T]
    m.MILEAGE_IDX = pyo.Set(initialize=idx, dimen=2, ordered=True)
    m.mileage = pyo.Var(m.MILEAGE_IDX, within=pyo.NonNegativeReals)
    for key in idx:
        b.up_reserve[key].append(m.mileage[key])
    req = [(a, t) for a in MILEAGE_REQUIREMENT_MW for t in T]
    m.mileage_requirement = pyo.Constraint(
        pyo.Set(initialize=req, dimen=2, ordered=True),
        rule=lambda _m, a, t: sum(_m.mileage[r, tt] for (r, tt) in idx if tt == t
                                  and d.resources.at[r, "baa"] == a) >= MILEAGE_REQUIREMENT_MW[a])
    cost = MILEAGE_BID_USD_PER_MWH * sum(m.mileage.values())
    b.costs.append(cost)
    return [cost]


def _extract(rb) -> None:
    """`schedules` mileage_mw and `product_prices` rows 'mileage' (the requirement's dual)."""
    m, d = rb.m, rb.d
    rb.columns("schedules", pd.DataFrame(
        [dict(resource=r, hour=t, mileage_mw=pyo.value(m.mileage[r, t]) if (r, t) in
              m.MILEAGE_IDX else 0.0) for r in d.resources.index for t in d.hours]))
    rb.rows("product_prices", [dict(baa=a, product="mileage", hour=t,
                                    price_usd_per_mwh=rb.dual(m.mileage_requirement[a, t]))
                               for a in MILEAGE_REQUIREMENT_MW for t in d.hours])


toy = types.SimpleNamespace(add_to_model=_add_to_model, extract=_extract)


# ---- the test ---------------------------------------------------------------------------------
def test_toy_product_needs_its_module_and_one_registry_line(monkeypatch):
    """§11.1 (G1 200 MW @ $20 in A with 50 MW load; G2 @ $50 in B with 250 MW; ETSR A→B
    100 MW) plus 60 MW of mileage in A at $3 from G1's upward stack:
    G1 energy ≤ 200 − 60 = 140, so A exports 140 − 50 = 90 < 100 (the ETSR no longer binds),
    G2 = 250 − 90 = 160. Cost = 140·20 + 160·50 + 60·3 = 2,800 + 8,000 + 180 = 10,980.
    π_A = π_B = 50 (one more MW anywhere comes from G2). Mileage price = 3 + (50 − 20) = 33:
    one more MW of mileage takes a MW of G1's energy, replaced by G2."""
    monkeypatch.setattr(ifm, "IFM_COMPONENTS",
                        IFM_COMPONENTS + (Component("reg_mileage", toy.add_to_model, toy.extract),))
    r = solve(example_11_1(limit_mw=100))
    s = r.schedules.set_index("resource")
    assert s.at["G1", "mileage_mw"] == pytest.approx(60, abs=TOL)
    assert s.at["G2", "mileage_mw"] == pytest.approx(0, abs=TOL)
    assert s.at["G1", "energy_mw"] == pytest.approx(140, abs=TOL)
    assert s.at["G2", "energy_mw"] == pytest.approx(160, abs=TOL)
    assert r.transfers.set_index("interface").at["A_B", "mw"] == pytest.approx(90, abs=TOL)
    pp = r.product_prices.set_index(["baa", "product"])["price_usd_per_mwh"]
    assert pp[("A", "mileage")] == pytest.approx(33, abs=TOL)
    assert pp[("A", "energy")] == pytest.approx(50, abs=TOL)
    assert pp[("B", "energy")] == pytest.approx(50, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(10_980, abs=1e-4)
    # the contract's columns keep their place; the new one follows
    assert list(r.schedules.columns[:14]) == [
        "resource", "hour", "baa", "bus", "committed", "energy_mw", "reg_up_mw", "reg_down_mw",
        "spin_mw", "nonspin_mw", "iru_mw", "ird_mw", "rcu_mw", "rcd_mw"]


def test_registry_without_the_toy_has_no_mileage():
    """The same case without the registry line: the §11.1 answer (G1 150, cost 10,500) and no
    mileage column or price: nothing of the toy lives outside its module and its line."""
    r = solve(example_11_1(limit_mw=100))
    assert "mileage_mw" not in r.schedules.columns
    assert "mileage" not in set(r.product_prices["product"])
    assert r.schedules.set_index("resource").at["G1", "energy_mw"] == pytest.approx(150, abs=TOL)
    assert r.manifest["solver"]["objective_lp"] == pytest.approx(10_500, abs=1e-4)
