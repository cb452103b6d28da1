"""The shared commitment pieces the IFM, the RUC and the RT run use (issue 18, spec §5.4):
`clearing.market.resources.forced_commitment` and `add_commitment_logic` with a period length."""

from __future__ import annotations

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
