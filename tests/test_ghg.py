"""GHG attribution into GHG regulation areas (spec §5.13; docs/ghg.md): the §11.11 worked
example solved by hand, and the edge cases of the issue.

§11.11: one hour, one bus per BAA joined by an unmonitored tie, lossless, reference bus in N.
BAA C (GHG area "CA"): load 550 MW, CCGT Pmax 600 at $32. BAA N: load 300 MW; COAL Pmax 400 at
$15 with a GHG bid of $30 for 400 MW; HYDRO Pmax 200 at $10 (case A) or $18 (case B) with a GHG
bid of $1 for 200 MW. ETSR N→C limit T (one-way). mpm off, no RUC.
"""

from __future__ import annotations

import pandas as pd
import pytest

from clearing.api import solve
from clearing.analysis.settle import settle
from scenarios.build import make_scenario
from scenarios.errors import ScenarioError

TOL = 1e-6


def _thermal(rid, bus, pmax, price, typ="thermal"):
    res = dict(resource=rid, type=typ, bus=bus, pmin_mw=0.0, pmax_mw=pmax)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price)
    th = (dict(resource=rid, initial_on=True, initial_hours=24, initial_mw=0.0)
          if typ == "thermal" else None)
    return res, th, eb


def _market(case: str, T: float, reference: str = "area", *, baas=("C", "N"), areas=None,
            extra_gens=(), ghg_bids=None, etsrs=None, loads=None, rates=None, **tables):
    """The §11.11 market (module docstring); `case` A or B sets the hydro energy bid."""
    hydro_price = {"A": 10.0, "B": 18.0}[case]
    gens = [_thermal("CCGT", "C", 600.0, 32.0), _thermal("COAL", "N", 400.0, 15.0),
            _thermal("HYDRO", "N", 200.0, hydro_price, typ="hydro")] + list(extra_gens)
    loads = loads or {"C": 550.0, "N": 300.0}
    names = sorted(baas)
    t = dict(
        baas=[dict(baa=a, is_reference=(a == "N")) for a in names],
        buses=[dict(bus=a, baa=a) for a in names],
        branches=[dict(branch=f"{a}_{b}", from_bus=a, to_bus=b, reactance_pu=0.1,
                       rating_mw=99999.0, monitored=False, enforce_base=False,
                       enforce_in_ruc=False) for a, b in zip(names, names[1:])],
        interfaces=[dict(interface=f"{o}_{e}", from_baa=o, to_baa=e)
                    for (o, e) in (etsrs or {("N", "C"): T})],
        interface_hours=[dict(interface=f"{o}_{e}", hour=1, limit_mw=lim)
                         for (o, e), lim in (etsrs or {("N", "C"): T}).items()],
        resources=[g[0] for g in gens], thermal=[g[1] for g in gens if g[1] is not None],
        hydro=[dict(resource=g[0]["resource"], daily_energy_mwh=1e5) for g in gens
               if g[0]["type"] == "hydro"],
        energy_bids=[g[2] for g in gens],
        demand=[dict(bus=a, hour=1, fixed_demand_mw=v) for a, v in loads.items()],
        baa_hours=[dict(baa=a, hour=1, demand_forecast_mw=loads.get(a, 0.0)) for a in names],
        ghg_areas=[dict(baa=b, area=a) for b, a in (areas or {"C": "CA"}).items()],
        ghg_bids=ghg_bids if ghg_bids is not None else [
            dict(resource="COAL", area="CA", hour=1, adder_usd_per_mwh=30.0, mw=400.0),
            dict(resource="HYDRO", area="CA", hour=1, adder_usd_per_mwh=1.0, mw=200.0)],
        ghg_emission_rates=rates if rates is not None else [
            dict(resource="COAL", emission_rate_t_per_mwh=1.0),
            dict(resource="CCGT", emission_rate_t_per_mwh=0.4)],
    )
    t.update(tables)
    return make_scenario(t, name="ghg_case", trade_date="2026-06-01", hours=1,
                         parameters=dict(mpm_mode="off", run_ruc=False, ghg_reference=reference))


def _energy(r, rid):
    s = r.schedules
    return float(s.loc[s["resource"] == rid, "energy_mw"].iloc[0])


def _bus(r, bus, col):
    n = r.nodal_prices
    return float(n.loc[n["bus"] == bus, col].iloc[0])


def _attr(r, rid, area="CA"):
    a = r.tables["ghg_attribution"]
    return a[(a["resource"] == rid) & (a["area"] == area)].iloc[0]


def _mu(r, area="CA"):
    g = r.tables["ghg_prices"]
    return float(g.loc[g["area"] == area, "ghg_price_usd_per_mwh"].iloc[0])


def _x(r, k="N_C"):
    tr = r.transfers
    return float(tr.loc[tr["interface"] == k, "mw"].iloc[0])


# --- §11.11, the five cases ---------------------------------------------------------------------
CASES = [
    # case, reference, T, coal, hydro, ccgt, x, e_hydro, LMP_N, LMP_C, mu, congestion at C
    ("A", "none", 250.0, 300.0, 200.0, 350.0, 200.0, 200.0, 15.0, 32.0, 17.0, 0.0),
    ("A", "area", 250.0, 100.0, 200.0, 550.0, 0.0, 0.0, 15.0, 32.0, 17.0, 0.0),
    ("A", "none", 150.0, 250.0, 200.0, 400.0, 150.0, 150.0, 15.0, 32.0, 1.0, 16.0),
    ("B", "area", 250.0, 300.0, 200.0, 350.0, 200.0, 200.0, 15.0, 32.0, 17.0, 0.0),
    ("B", "area", 150.0, 300.0, 150.0, 400.0, 150.0, 150.0, 15.0, 32.0, 4.0, 13.0),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-T{c[2]:g}" for c in CASES])
def test_section_11_11_cases(case):
    """§11.11, worked out by hand (spec table).

    Reference pass (`area`): N serves its 300 MW alone: case A hydro 200 + coal 100 (headroom
    coal 300, hydro 0); case B coal 300 + hydro 0 (headroom coal 100, hydro 200). A transfer
    into C needs as much attributed MW (coverage); hydro's $1 adder makes a transfer cost the
    N marginal energy + $1 (hydro attributed, e ≤ its output), coal's $30 makes it 45 > 32.
    A none T=250: x = 200 (hydro's output), coal 300, CCGT 350; x is inside (0, T) so
    μ = π_C − π_N = 32 − 15 = 17, congestion 0. A area: hydro has no headroom, coal costs
    45 > 32: x = 0, CCGT 550, μ = the wedge 17 (the smallest dual-feasible value). A none
    T=150: x = T, e_hydro = 150 < g_hydro = 200 so μ = γ_hydro = 1 and the ETSR dual 16.
    B area T=250: hydro 200 at 18 + 1 = 19 < 32, x = 200 < T, μ = 17. B area T=150: x = T,
    e_hydro = g_hydro = 150, hydro interior: 18 − 15 − λ = 0, 1 − μ + λ = 0 → μ = 4; ETSR
    dual 32 − 15 − 4 = 13. LMP_C = energy (π_N) + congestion + ghg (μ)."""
    c, ref, T, coal, hydro, ccgt, x, e, lmp_n, lmp_c, mu, cong = case
    r = solve(_market(c, T, ref))
    assert _energy(r, "COAL") == pytest.approx(coal, abs=TOL)
    assert _energy(r, "HYDRO") == pytest.approx(hydro, abs=TOL)
    assert _energy(r, "CCGT") == pytest.approx(ccgt, abs=TOL)
    assert _x(r) == pytest.approx(x, abs=TOL)
    assert float(_attr(r, "HYDRO")["attributed_mw"]) == pytest.approx(e, abs=TOL)
    assert float(_attr(r, "COAL")["attributed_mw"]) == pytest.approx(0.0, abs=TOL)
    assert _bus(r, "N", "lmp") == pytest.approx(lmp_n, abs=TOL)
    assert _bus(r, "C", "lmp") == pytest.approx(lmp_c, abs=TOL)
    assert _mu(r) == pytest.approx(mu, abs=TOL)
    for bus in ("N", "C"):
        assert _bus(r, bus, "energy") == pytest.approx(15.0, abs=TOL)
        assert _bus(r, bus, "loss") == pytest.approx(0.0, abs=TOL)
    assert _bus(r, "C", "ghg") == pytest.approx(mu, abs=TOL)
    assert _bus(r, "N", "ghg") == pytest.approx(0.0, abs=TOL)
    assert _bus(r, "C", "congestion") == pytest.approx(cong, abs=TOL)
    assert _bus(r, "N", "congestion") == pytest.approx(0.0, abs=TOL)
    tr = r.transfers
    assert float(tr["shadow_price"].iloc[0]) == pytest.approx(cong, abs=TOL)
    # payments: hydro energy at LMP_N + μ·e; the revenue identity (loads pay = generators'
    # energy + GHG payments + congestion rent ν·x)
    assert float(_attr(r, "HYDRO")["ghg_payment_usd"]) == pytest.approx(mu * e, abs=1e-4)
    loads = 550.0 * lmp_c + 300.0 * lmp_n
    gens = coal * lmp_n + hydro * lmp_n + ccgt * lmp_c
    assert loads == pytest.approx(gens + mu * e + cong * x, abs=1e-4)
    # the published transfer revenue is the congestion rent (the GHG wedge funds the payments)
    assert float(tr["transfer_revenue_usd"].iloc[0]) == pytest.approx(cong * x, abs=1e-4)


def test_case_b_payments_and_settlement():
    """§11.11 case B: T = 250: hydro paid 200·15 + 200·17 = $6,400, coal 300·15 = $4,500,
    CCGT 350·32 = $11,200; loads 550·32 + 300·15 = $22,100 = the payments. T = 150: hydro
    150·15 + 4·150 = $2,850, CCGT 400·32 = $12,800, coal $4,500; congestion rent 13·150 =
    $1,950; GHG payments 4·150 = $600. The settlement's ghg_payment line to SC_N is μ·e, the
    transfer revenue line the congestion rent only."""
    for T, hydro_usd, ccgt_usd, rent, ghg_usd in ((250.0, 6400.0, 11200.0, 0.0, 3400.0),
                                                  (150.0, 2850.0, 12800.0, 1950.0, 600.0)):
        r = solve(_market("B", T))
        lmp = {b: _bus(r, b, "lmp") for b in ("N", "C")}
        hydro_paid = _energy(r, "HYDRO") * lmp["N"] + float(_attr(r, "HYDRO")["ghg_payment_usd"])
        assert hydro_paid == pytest.approx(hydro_usd, abs=1e-4)
        assert _energy(r, "CCGT") * lmp["C"] == pytest.approx(ccgt_usd, abs=1e-4)
        assert _energy(r, "COAL") * lmp["N"] == pytest.approx(4500.0, abs=1e-4)
        assert 550 * lmp["C"] + 300 * lmp["N"] == pytest.approx(22100.0, abs=1e-4)
        st = settle(_market("B", T), r, None).table
        ghg = st[st["charge"] == "ghg_payment"]
        assert list(ghg["resource"]) == ["HYDRO"] and list(ghg["party"]) == ["SC_N"]
        assert float(ghg["amount_usd"].sum()) == pytest.approx(ghg_usd, abs=1e-4)
        trl = st[st["charge"] == "transfer_revenue"]
        assert float(trl["amount_usd"].sum()) == pytest.approx(rent, abs=1e-4)


def test_reference_pass_schedules_are_reported():
    """Case A `area`: the reference pass has N alone: hydro 200 (at $10) + coal 100; headroom
    hydro 0, coal 300 (ghg_reference and ghg_attribution). Case B: coal 300, hydro 0."""
    for case, ref in (("A", {"HYDRO": 200.0, "COAL": 100.0}), ("B", {"HYDRO": 0.0, "COAL": 300.0})):
        r = solve(_market(case, 250.0))
        g = r.tables["ghg_reference"].set_index("resource")
        pmax = {"HYDRO": 200.0, "COAL": 400.0}
        for rid, mw in ref.items():
            assert float(g.at[rid, "reference_mw"]) == pytest.approx(mw, abs=TOL)
            assert float(_attr(r, rid)["reference_mw"]) == pytest.approx(mw, abs=TOL)
            assert float(_attr(r, rid)["headroom_mw"]) == pytest.approx(pmax[rid] - mw, abs=TOL)
        assert "CCGT" not in g.index   # inside the area: P^ref = 0, not listed
        assert r.manifest["ghg"]["option"] == "area"
