"""Shared fixtures.

- `tiny_case`: a hand-made scenario (2 BAAs, 3 buses, 4 hours) with a hand-made *valid* run in the
  results contract, for the checker and comparison tests (no solver needed).
- `rts_day_run`: ONE session-scoped solve of the bundled RTS-GMLC day, (scenario, RunResult),
  shared by every slow end-to-end test.
- `rts_phase3_run`: ONE session-scoped phase-3 run of the same day (the DA run above plus the
  real-time follow-up), (scenario, RunResult).

Parallel runs (pytest-xdist; pyproject.toml addopts `-n auto --maxprocesses 4 --dist loadfile
--no-loadscope-reorder`; README, Set-up): each test file runs on one worker, its tests in a row
(a module-scoped fixture is built once); the session fixtures above are built once per worker
that needs them (measured 2026-12-07 on two workers: the DA run, 22 s, and the phase-3 run,
25 s, each solved on both, about 24 s of a 7 min 22 s run; not worth sharing them between
processes). `--dist loadgroup` could keep them on one worker, but pytest-xdist 3.8 no longer
applies its groups under pytest 9.2 (pytest-xdist issue 1386: the tests are spread as if
unmarked). The hooks at the end of this file size `-n auto`, start the files with long tests
first, and let the suite run serially when xdist is off (`-p no:xdist`) or not installed.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from clearing.results import RunResult
from scenarios.build import make_scenario

TINY_HOURS = [1, 2, 3, 4]


def _tiny_scenario():
    """BAA A (reference): G1 thermal at a1, wind W1 at a2, load at a2. BAA B: G2 thermal and
    storage S1 at b1, load at b1. ETSR A->B (limit 100, base 10, hurdle $20) and B->A (limit
    50). S1 offers and bids at $40, B's price, so any schedule of it is as good as another."""
    h = TINY_HOURS
    tables = dict(
        baas=[dict(baa="A", is_reference=True), dict(baa="B")],
        buses=[dict(bus="a1", baa="A"), dict(bus="a2", baa="A"), dict(bus="b1", baa="B")],
        branches=[dict(branch="l1", from_bus="a1", to_bus="a2", reactance_pu=0.1, rating_mw=500.0),
                  dict(branch="l2", from_bus="a2", to_bus="b1", reactance_pu=0.1, rating_mw=500.0),
                  dict(branch="l3", from_bus="a1", to_bus="b1", reactance_pu=0.2, rating_mw=500.0)],
        interfaces=[dict(interface="AB", from_baa="A", to_baa="B", hurdle_usd_per_mwh=20.0),
                    dict(interface="BA", from_baa="B", to_baa="A")],
        interface_hours=[dict(interface="AB", hour=t, limit_mw=100.0, base_transfer_mw=10.0)
                         for t in h] + [dict(interface="BA", hour=t, limit_mw=50.0) for t in h],
        resources=[
            dict(resource="G1", type="thermal", bus="a1", pmin_mw=20.0, pmax_mw=200.0,
                 ramp_up_mw_per_min=2.0, ramp_down_mw_per_min=2.0),
            dict(resource="W1", type="ver", bus="a2", pmax_mw=100.0),
            dict(resource="G2", type="thermal", bus="b1", pmin_mw=50.0, pmax_mw=300.0,
                 ramp_up_mw_per_min=1.0, ramp_down_mw_per_min=1.0),
            dict(resource="S1", type="storage", bus="b1", pmax_mw=50.0)],
        thermal=[dict(resource="G1", min_up_h=2, min_down_h=2, initial_on=True, initial_hours=5,
                      initial_mw=100.0),
                 dict(resource="G2", min_up_h=3, min_down_h=2, initial_on=False,
                      initial_hours=24)],
        storage=[dict(resource="S1", charge_max_mw=50.0, soc_max_mwh=100.0, soc_initial_mwh=20.0,
                      charge_efficiency=0.9, discharge_efficiency=0.9)],
        resource_hours=[dict(resource="W1", hour=t, pmax_mw=f)
                        for t, f in zip(h, [30, 40, 50, 60])],
        energy_bids=[dict(resource="G1", segment=1, mw=180.0, price_usd_per_mwh=20.0),
                     dict(resource="W1", segment=1, mw=100.0, price_usd_per_mwh=0.0),
                     dict(resource="G2", segment=1, mw=250.0, price_usd_per_mwh=40.0),
                     dict(resource="S1", side="supply", segment=1, mw=50.0, price_usd_per_mwh=40.0),
                     dict(resource="S1", side="demand", segment=1, mw=50.0,
                          price_usd_per_mwh=40.0)],
        availability_bids=[dict(resource="G1", product="iru", mw=50.0, price_usd_per_mwh=0.0),
                           dict(resource="G2", product="ru", mw=40.0, price_usd_per_mwh=5.0)],
        demand=[dict(bus="a2", hour=t, fixed_demand_mw=d) for t, d in zip(h, [100, 120, 140, 130])]
        + [dict(bus="b1", hour=t, fixed_demand_mw=d) for t, d in zip(h, [150, 150, 160, 170])],
        baa_hours=[dict(baa="A", hour=t, demand_forecast_mw=d, iru_requirement_mw=20.0)
                   for t, d in zip(h, [100, 120, 140, 130])]
        + [dict(baa="B", hour=t, demand_forecast_mw=d, ru_requirement_mw=10.0)
           for t, d in zip(h, [150, 150, 160, 170])],
    )
    return make_scenario(tables, name="tiny", trade_date="2026-06-01", hours=len(h))


def _tiny_run() -> RunResult:
    """A valid run of `_tiny_scenario` worked out by hand (balances, ramps, SOC, stacks) and
    priced consistently (§6): LMP = each marginal offer (A $20: G1; B $40: G2), π_B − π_A = $20 =
    AB's hurdle with AB at neither limit (shadow price 0), transfer revenue x·$20, IR prices $0
    (G1's $0 IRU bid clears A's whole requirement; no deployment constraint binds), RU $5 (G2's
    bid)."""
    h = TINY_HOURS
    x_ab = [0.0, 20.0, 30.0, 40.0]
    energy = {"G1": [80, 110, 130, 120], "W1": [30, 40, 50, 60], "G2": [140, 130, 110, 120],
              "S1": [0, -10, 10, 0]}
    where = {"G1": ("A", "a1"), "W1": ("A", "a2"), "G2": ("B", "b1"), "S1": ("B", "b1")}
    rows = []
    for r, es in energy.items():
        for t, e in zip(h, es):
            rows.append(dict(resource=r, hour=t, baa=where[r][0], bus=where[r][1], committed=1,
                             energy_mw=float(e), reg_up_mw=10.0 if r == "G2" else 0.0,
                             reg_down_mw=0.0, spin_mw=0.0, nonspin_mw=0.0,
                             iru_mw=20.0 if r == "G1" else 0.0, ird_mw=0.0, rcu_mw=0.0,
                             rcd_mw=0.0, rcu_proxy=False, rcd_proxy=False))
    schedules = pd.DataFrame(rows)
    nodal = pd.DataFrame([dict(bus=b, hour=t, baa=a, lmp=lmp, energy=20.0, congestion=lmp - 20.0,
                               loss=0.0)
                          for b, a, lmp in (("a1", "A", 20.0), ("a2", "A", 20.0), ("b1", "B", 40.0))
                          for t in h])
    product = pd.DataFrame([dict(baa=a, product=p, hour=t, price_usd_per_mwh=v)
                            for a, p, v in (("A", "iru", 0.0), ("A", "ird", 0.0), ("B", "ru", 5.0),
                                            ("B", "iru", 0.0), ("B", "ird", 0.0))
                            for t in h])
    transfers = pd.DataFrame([dict(interface=k, hour=t, from_baa=f, to_baa=to, mw=x if k == "AB"
                                   else 0.0, limit_mw=lim, shadow_price=0.0,
                                   transfer_revenue_usd=20.0 * x if k == "AB" else 0.0)
                              for k, f, to, lim in (("AB", "A", "B", 100.0), ("BA", "B", "A", 50.0))
                              for t, x in zip(h, x_ab)])
    dem = {"A": [100, 120, 140, 130], "B": [150, 150, 160, 170]}
    summary = []
    for a in ("A", "B"):
        for i, t in enumerate(h):
            gen = sum(energy[r][i] for r in energy if where[r][0] == a)
            row = dict(baa=a, hour=t, demand_mw=float(dem[a][i]), generation_mw=float(gen),
                       net_export_mw=(x_ab[i] + 10.0) * (1 if a == "A" else -1))
            for p in ("iru", "ird", "rcu", "rcd"):
                req = 20.0 if (a, p) == ("A", "iru") else 0.0
                row.update({f"{p}_requirement_mw": req, f"{p}_cleared_mw": req,
                            f"{p}_relaxed_mw": 0.0})
            summary.append(row)
    ruc = transfers[["interface", "hour", "from_baa", "to_baa", "mw"]].assign(rc_transfer_mw=0.0)
    baa_prices = pd.DataFrame([dict(baa=a, hour=t, energy_price=pi, transfer_component=pi - 20.0,
                                    elap_price=pi, ruc_price=0.0)
                               for a, pi in (("A", 20.0), ("B", 40.0)) for t in h])
    resource_prices = schedules[["resource", "hour", "baa", "bus"]].assign(
        iru_usd_per_mwh=0.0, ird_usd_per_mwh=0.0, rcu_usd_per_mwh=0.0, rcd_usd_per_mwh=0.0)
    tables = dict(schedules=schedules, nodal_prices=nodal, product_prices=product,
                  baa_prices=baa_prices, resource_prices=resource_prices,
                  binding_constraints=pd.DataFrame(columns=["constraint", "hour", "kind",
                                                            "shadow_price", "flow_mw",
                                                            "limit_mw"]),
                  transfers=transfers, baa_summary=pd.DataFrame(summary),
                  relaxations=pd.DataFrame(columns=["requirement", "baa", "hour", "relaxed_mw",
                                                    "penalty_usd_per_mwh", "cost_usd"]),
                  ruc_transfers=ruc,
                  rse=pd.DataFrame([dict(baa=a, test="up", hour=t, requirement_mw=100.0,
                                         capacity_mw=200.0, deficiency_mw=0.0, passed=True, tier=1,
                                         surcharge_usd=0.0) for a in ("A", "B") for t in h]),
                  settlement=pd.DataFrame([dict(charge="energy", party=f"SC_{a}", resource="",
                                                baa=a, hour=t, quantity=100.0, price=20.0,
                                                amount_usd=2000.0)
                                           for a in ("A", "B") for t in h]))
    manifest = {"scenario": {"name": "tiny", "trade_date": "2026-06-01", "hours": 4},
                "parameters": {"phase": 2}, "solver": {"objective_mip": 12345.0}}
    return RunResult(tables=tables, manifest=manifest)


@pytest.fixture
def tiny_case():
    """(scenario, valid hand-made RunResult); fresh copies for every test."""
    return _tiny_scenario(), _tiny_run()


@pytest.fixture(scope="session")
def rts_day_run():
    """ONE solve of the bundled RTS-GMLC day for every slow test: (scenario, RunResult)."""
    api = pytest.importorskip("clearing.api")
    from scenarios import DEFAULT_SCENARIO, load_scenario
    scenario = load_scenario(DEFAULT_SCENARIO)
    return scenario, api.solve(scenario)


@pytest.fixture(scope="session")
def rts_phase3_run(rts_day_run):
    """ONE phase-3 run of the bundled RTS-GMLC day (with its rt/ folder of RT wind). Phase 3's
    day-ahead part is the phase-2 DA market, so the shared DA run is reused (copied: the RT run
    adds tables) and only the real-time follow-up is solved here."""
    from clearing.market.rt import run_phase3
    from scenarios import DEFAULT_SCENARIO, load_scenario
    _, da = rts_day_run
    # the RT MIP of this day stops at its cap with a feasible result either way (gap ~0.2 % at
    # 90 s); the tests read invariants, so a 20 s cap spares the suite about a minute
    sc = load_scenario(DEFAULT_SCENARIO, {"phase": 3, "time_limit_s": 20})
    copy = RunResult(tables={k: v.copy() for k, v in da.tables.items()},
                     manifest=json.loads(json.dumps(da.manifest, default=str)))
    return sc, run_phase3(sc, copy)


# Hypothesis profiles for the random-market properties (tests/test_random_markets.py, issue 16):
# `ci` (default): derandomized, deadline off, a few hundred examples over all properties;
# `deep`: HYPOTHESIS_PROFILE=deep, ≥ 5,000 examples, for a long run off CI.
# Properties set their own max_examples for `ci`; the `deep` profile's max_examples overrides it.
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking in CI
                         
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
# HYPOTHESIS_DEEP_EXAMPLES splits a deep run over processes (each with its own
# --hypothesis-seed; the counts add up): two processes of 2,500 make the 5,000
settings.register_profile("deep", deadline=None, print_blob=True,
                          max_examples=int(os.environ.get("HYPOTHESIS_DEEP_EXAMPLES", "5000")),
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------------------------
# Parallel runs with pytest-xdist (README, Set-up)
#: the most workers `-n auto` starts (also --maxprocesses in pyproject.toml): every worker
#: solves the bundled day of the session fixtures it needs and holds ~1 GB while it does
MAX_WORKERS = 4


def pytest_addoption(parser, pluginmanager):
    """Without xdist (`-p no:xdist`, or the dev extra not installed) the options that
    pyproject.toml's addopts pass it are accepted and ignored, so `python -m pytest` runs the
    suite serially instead of stopping at "unrecognized arguments: -n"."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is off or not installed: these options "
                                     "(from addopts) are ignored and the tests run serially")
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None, metavar="N")
    group.addoption("--maxprocesses", dest="maxprocesses", default=None)
    group.addoption("--dist", dest="dist", default="no")
    group.addoption("--no-loadscope-reorder", dest="loadscopereorder", action="store_false")


def pytest_report_header(config):
    if not config.pluginmanager.has_plugin("xdist"):
        return "pytest-xdist off or not installed: the tests run serially"
    return None


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker per CPU this process may run on (CI: 2), none (a serial run in
    this process) on one CPU; `--maxprocesses` caps it at MAX_WORKERS. xdist's own count is
    of physical cores, 1 on a 2-vCPU machine whose two vCPUs are one core's hyperthreads.
    PYTEST_XDIST_AUTO_NUM_WORKERS still sets the number (xdist reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return min(n, MAX_WORKERS) if n > 1 else 0


def _long(item) -> bool:
    """Known to take long: a bundled-day test (marked slow) or a property test (hypothesis
    runs it on many examples)."""
    return (item.get_closest_marker("slow") is not None
            or getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """On an xdist worker: the test files that hold a long test (`_long`) first, each file's
    tests in a row and in their order, the other files after them in theirs. With `--dist
    loadfile --no-loadscope-reorder` xdist hands the files out in this order, so the longest
    work starts at once and the short files fill both workers at the end. The order is the same
    on every worker, as xdist requires. A serial run keeps the files' order."""
    if not hasattr(config, "workerinput"):
        return
    path = {item.nodeid: item.nodeid.split("::")[0] for item in items}
    long_files = {path[i.nodeid] for i in items if _long(i)}
    first = {}
    for n, item in enumerate(items):
        first.setdefault(path[item.nodeid], n)
    items.sort(key=lambda i: (path[i.nodeid] not in long_files, first[path[i.nodeid]]))
