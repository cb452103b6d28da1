"""The shared commitment pieces the IFM, the RUC and the RT run use (issue 18, spec §5.4):
`clearing.market.resources.forced_commitment` and `add_commitment_logic` with a period length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from clearing.market.resources import add_commitment_logic, forced_commitment


def _th(**kw) -> pd.DataFrame:
    row = dict(initial_on=True, min_up_h=4, min_down_h=3, initial_hours=1)
    row.update(kw)
    return pd.DataFrame([row], index=["G"])


@pytest.mark.parametrize("th, t, must_run, derated, kept_on, expected", [
    # on for 1 h with a 4 h minimum up time: forced on in hours 1..3, free in hour 4
    (dict(), 3, False, True, False, 1),
    (dict(), 4, False, False, False, None),
    # off for 1 h with a 3 h minimum down time: forced off in hours 1..2, even when must-run
    (dict(initial_on=False), 2, True, False, True, 0),
    # free hour: must-run / self-schedule wins over a derate below Pmin
    (dict(), 5, True, True, False, 1),
    # free hour: RT's DA-award rule keeps the unit on, else the derate takes it off
    (dict(), 5, False, True, True, 1),
    (dict(), 5, False, True, False, 0),
])
def test_forced_commitment_by_hand(th, t, must_run, derated, kept_on, expected):
    """Spec §5.4 carry-over then must-run, then the RT award rule, then the derate."""
    assert forced_commitment(_th(**th), "G", t, must_run, derated, kept_on) == expected


def test_commitment_logic_counts_minimum_times_in_periods():
    """A 4 h minimum up time on quarter-hour periods spans ⌈4 / 0.25⌉ = 16 periods; a 3 h
    minimum down time 12; on hourly periods 4 and 3 (the IFM's rows)."""
    for period_h, n_up, n_down in ((0.25, 16, 12), (1.0, 4, 3)):
        m = pyo.ConcreteModel()
        m.I = pyo.Set(initialize=[("G", t) for t in range(1, 21)], dimen=2, ordered=True)
        m.u = pyo.Var(m.I, within=pyo.Binary)
        m.v = pyo.Var(m.I, within=pyo.Binary)
        m.w = pyo.Var(m.I, within=pyo.Binary)
        add_commitment_logic(m, m.I, _th(), m.u, m.v, m.w, "uc", period_h=period_h)
        up_terms = [v for v in pyo.expr.identify_variables(m.uc_min_up["G", 20].body)
                    if v.parent_component() is m.v]
        down_terms = [v for v in pyo.expr.identify_variables(m.uc_min_down["G", 20].body)
                      if v.parent_component() is m.w]
        assert (len(up_terms), len(down_terms)) == (n_up, n_down)


# ---- the read-back's extensions: `into` (the RUC adds to the IFM tables) and the time grid ----
def test_readback_into_an_earlier_read_back():
    """The RUC reads back into the IFM's tables (clearing/market/readback.py, `into`). Earlier:
    schedules G1 (committed 1, rcu 0, 100 MW), G2 (0, 0, 0 MW); one energy price row; one
    relaxation. Pieces: rcu_mw and ruc_committed for G2 then G1 (the other order), one rcu
    price row, no relaxation row. By hand: rcu_mw is replaced in its place by key (G1 0, G2 5),
    ruc_committed follows the earlier columns (1, 1), the rows keep G1, G2; product_prices is
    the energy row then the rcu row; the relaxation and the untouched transfers stay."""
    from clearing.market.readback import Readback

    earlier = {
        "schedules": pd.DataFrame({"resource": ["G1", "G2"], "hour": [1, 1], "committed": [1, 0],
                                   "rcu_mw": [0.0, 0.0], "energy_mw": [100.0, 0.0]}),
        "product_prices": pd.DataFrame([dict(baa="A", product="energy", hour=1,
                                             price_usd_per_mwh=30.0)]),
        "relaxations": pd.DataFrame([dict(requirement="iru", baa="A", hour=1, relaxed_mw=2.0,
                                          penalty_usd_per_mwh=10.0, cost_usd=20.0)]),
        "transfers": pd.DataFrame({"interface": ["AB"], "hour": [1], "mw": [7.0]}),
    }
    rb = Readback(d=None, sm=None, ptdf=None, into=earlier)
    rb.columns("schedules", pd.DataFrame({"resource": ["G2", "G1"], "hour": [1, 1],
                                          "rcu_mw": [5.0, 0.0], "ruc_committed": [1, 1]}))
    rb.rows("product_prices", [dict(baa="A", product="rcu", hour=1, price_usd_per_mwh=12.0)])
    rb.rows("relaxations", [])
    out = rb.assemble()
    sch = out["schedules"]
    assert list(sch.columns) == ["resource", "hour", "committed", "rcu_mw", "energy_mw",
                                 "ruc_committed"]
    assert sch["resource"].tolist() == ["G1", "G2"]
    assert sch["rcu_mw"].tolist() == [0.0, 5.0]
    assert sch["ruc_committed"].tolist() == [1, 1]
    assert sch["energy_mw"].tolist() == [100.0, 0.0]
    pp = out["product_prices"]
    assert list(zip(pp["product"], pp["price_usd_per_mwh"])) == [("energy", 30.0), ("rcu", 12.0)]
    assert out["relaxations"]["relaxed_mw"].tolist() == [2.0]
    pd.testing.assert_frame_equal(out["transfers"], earlier["transfers"])
    assert earlier["schedules"].columns.tolist()[-1] == "energy_mw"   # the earlier table is kept


def test_readback_time_grid():
    """RT reads back on quarter-hours (4 per hour): eight periods fall in hours 1, 2; the
    hourly means of 1, 2, 3, 4 | 10, 10, 10, 14 are 2.5 and 11."""
    import types

    from clearing.market.readback import Readback

    rb = Readback(d=types.SimpleNamespace(hours=list(range(1, 9))), sm=None, ptdf=None,
                  intervals_per_hour=4)
    assert rb.hours() == [1, 2]
    assert rb.hourly(np.array([[1.0, 2, 3, 4, 10, 10, 10, 14]])).tolist() == [[2.5, 11.0]]
