"""The solve display (issue 17): the status line ticks and shows the running MIP's incumbent,
bound and gap, fed by HiGHS's MIP callback (clearing/market/solver.py `MipProgress`)."""

from __future__ import annotations

import math
import time

import numpy as np

from clearing.cli import SolveDisplay
from clearing.market.solver import MipProgress, _mip_listener


class _Status:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def update(self, text: str) -> None:
        self.texts.append(text)


class _Con:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, text: str) -> None:
        self.lines.append(text)


def test_mip_progress_describes_incumbent_bound_and_gap():
    mp = MipProgress("IFM MIP round 1", 929_503.98, 928_574.48, 0.001, 12.4)
    assert mp.describe() == ("IFM MIP round 1: incumbent $929,503.98, bound $928,574.48, "
                             "gap 0.100% (12 s)")
    assert "no incumbent yet" in MipProgress("RUC", math.inf, 10.0, math.inf, 1.0).describe()


def test_highs_callback_feeds_live_progress_on_a_real_mip():
    """A 60-item knapsack solved by HiGHS: the listener receives snapshots whose last one has an
    incumbent no better than the bound (minimisation: bound ≤ incumbent)."""
    import highspy
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    rng = np.random.default_rng(0)
    n = 60
    w, v = rng.integers(10, 100, n), rng.integers(10, 100, n)
    for _ in range(n):
        h.addVar(0, 1)
    idx = np.arange(n, dtype=np.int32)
    h.changeColsIntegrality(n, idx, np.ones(n, dtype=np.uint8))
    h.changeColsCost(n, idx, -v.astype(float))
    h.addRow(-highspy.kHighsInf, float(w.sum() / 3), n, idx, w.astype(float))
    seen: list[MipProgress] = []
    import clearing.market.solver as solver
    every = solver.MIP_PROGRESS_EVERY_S
    solver.MIP_PROGRESS_EVERY_S = 0.0   # every callback, for the test
    try:
        listener = _mip_listener("knapsack", seen.append)
        h.cbMipInterrupt.subscribe(listener)
        h.run()
        h.cbMipInterrupt.unsubscribe(listener)
    finally:
        solver.MIP_PROGRESS_EVERY_S = every
    assert seen and all(s.label == "knapsack" for s in seen)
    last = [s for s in seen if math.isfinite(s.incumbent)][-1]
    assert last.bound <= last.incumbent + 1e-9
    assert last.incumbent >= h.getInfo().objective_function_value - 1e-9


def test_status_line_ticks_and_shows_the_mip():
    con, status = _Con(), _Status()
    with SolveDisplay(con, status, time.perf_counter() - 5.0) as show:
        show("solve IFM")
        show.live(MipProgress("IFM MIP round 1", 100.0, 99.0, 0.01, 3.0))
        time.sleep(1.2)  # the ticker refreshes the elapsed time without any message
    assert con.lines and "solve IFM" in con.lines[0]
    assert any("incumbent $100.00, bound $99.00, gap 1.000%" in t for t in status.texts)
    elapsed = [float(t.split("(")[1].split(" s)")[0]) for t in status.texts]
    assert len(status.texts) >= 3 and elapsed[-1] > elapsed[1]  # not a frozen start time
