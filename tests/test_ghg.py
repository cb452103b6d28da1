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


INDICATOR = {  # Σ_{i∉A} max(0, g − P^ref) of each §11.11 case (P^ref of the area pass)
    ("A", "none", 250.0): 200.0,   # coal 300 − 100 (coal ramps behind the hydro)
    ("A", "area", 250.0): 0.0,
    ("A", "none", 150.0): 150.0,   # coal 250 − 100
    ("B", "area", 250.0): 200.0,   # hydro 200 − 0 (new hydro output, coal stays at 300)
    ("B", "area", 150.0): 150.0,   # hydro 150 − 0
}


@pytest.mark.parametrize("case", CASES[:2] + CASES[4:], ids=["A-none-T250", "A-area-T250",
                                                             "B-area-T150"])
def test_secondary_dispatch_indicator_and_the_checker(case):
    """baa_summary.ghg_secondary_dispatch_mw of N is the INDICATOR value worked out above (the
    `none` option still reports it against the area pass: N alone is hydro 200 + coal 100 in
    case A, coal 300 in case B); C, inside the area, has 0. `edam check` passes: every §5.13
    rule and the prices with μ."""
    from clearing.analysis.check import check_run
    c, ref, T = case[:3]
    sc = _market(c, T, ref)
    r = solve(sc)
    bs = r.baa_summary.set_index("baa")
    assert float(bs.at["N", "ghg_secondary_dispatch_mw"]) == pytest.approx(
        INDICATOR[(c, ref, T)], abs=TOL)
    assert float(bs.at["C", "ghg_secondary_dispatch_mw"]) == 0.0
    v = check_run(sc, r)
    assert v.empty, v.to_dict("records")
    # attributed emissions: e × rate (hydro 0 t/MWh, coal 1 t/MWh: nothing of coal attributed)
    assert float(r.tables["ghg_prices"]["attributed_emissions_t"].iloc[0]) == 0.0


def test_zero_mw_bid_is_no_bid():
    """Case A `none`, T = 250, with hydro's GHG bid at 0 MW: a transfer into C now needs coal
    attributed at 15 + 30 = 45 > 32, so x = 0, CCGT 550, hydro 200 + coal 100 in N; nothing is
    attributed and μ is the wedge π_C − π_N = 32 − 15 = 17."""
    bids = [dict(resource="COAL", area="CA", hour=1, adder_usd_per_mwh=30.0, mw=400.0),
            dict(resource="HYDRO", area="CA", hour=1, adder_usd_per_mwh=1.0, mw=0.0)]
    r = solve(_market("A", 250.0, "none", ghg_bids=bids))
    assert _x(r) == pytest.approx(0.0, abs=TOL)
    assert _energy(r, "CCGT") == pytest.approx(550.0, abs=TOL)
    assert _energy(r, "COAL") == pytest.approx(100.0, abs=TOL)
    assert float(r.tables["ghg_attribution"]["attributed_mw"].abs().sum()) == 0.0
    assert _mu(r) == pytest.approx(17.0, abs=TOL)
    assert _bus(r, "C", "lmp") == pytest.approx(32.0, abs=TOL)


def test_export_out_of_the_area_needs_no_attribution():
    """Both directions declared (N→C and C→N, 250 MW each), case B with the CCGT at $12: C's
    CCGT (600 MW) serves C's 550 and exports 50 to N, where coal serves 250. NI_CA = −50 < 0:
    the coverage row has slack, μ = 0, nothing attributed; one price π_C = π_N = 15 (an extra
    MW in C displaces 1 MW of export, replaced by coal at 15; the ETSR is not at its limit)."""
    r2 = solve(_market("B", 250.0, etsrs={("N", "C"): 250.0, ("C", "N"): 250.0},
                       energy_bids=[dict(resource="CCGT", side="supply", segment=1, mw=600.0,
                                         price_usd_per_mwh=12.0),
                                    dict(resource="COAL", side="supply", segment=1, mw=400.0,
                                         price_usd_per_mwh=15.0),
                                    dict(resource="HYDRO", side="supply", segment=1, mw=200.0,
                                         price_usd_per_mwh=18.0)]))
    assert _x(r2, "C_N") == pytest.approx(50.0, abs=TOL)
    assert _x(r2, "N_C") == pytest.approx(0.0, abs=TOL)
    assert _energy(r2, "COAL") == pytest.approx(250.0, abs=TOL)
    assert _mu(r2) == 0.0
    assert float(r2.tables["ghg_attribution"]["attributed_mw"].abs().sum()) == 0.0
    for bus in ("C", "N"):
        assert _bus(r2, bus, "lmp") == pytest.approx(15.0, abs=TOL)
        assert _bus(r2, bus, "ghg") == 0.0


def test_resource_without_a_ghg_bid_and_a_transfer_between_non_ghg_baas():
    """Case B, T = 250, with a third BAA M (no load, outside every area) whose MGEN (100 MW at
    $5, no GHG bid) exports over M→N (100 MW). The area pass fixes only N→C: N's 300 MW load is
    MGEN 100 + coal 200 (headroom coal 200, hydro 200). In the IFM M→N carries 100 MW with no
    attribution (neither end is in an area); into C, hydro is attributed as in case B (19 <
    32): x N→C = 200, hydro 200, coal 200, CCGT 350, μ = 32 − 15 = 17. MGEN, cheapest but
    without a bid, is never attributed. Indicator: N's hydro 200 − 0 = 200, M's 100 − 100 = 0."""
    extra = [_thermal("MGEN", "M", 100.0, 5.0)]
    r = solve(_market("B", 250.0, baas=("C", "M", "N"), extra_gens=extra,
                      etsrs={("N", "C"): 250.0, ("M", "N"): 100.0},
                      loads={"C": 550.0, "N": 300.0, "M": 0.0}))
    assert _x(r, "M_N") == pytest.approx(100.0, abs=TOL)
    assert _x(r, "N_C") == pytest.approx(200.0, abs=TOL)
    assert _energy(r, "COAL") == pytest.approx(200.0, abs=TOL)
    assert float(_attr(r, "HYDRO")["attributed_mw"]) == pytest.approx(200.0, abs=TOL)
    assert "MGEN" not in set(r.tables["ghg_attribution"]["resource"])
    assert _mu(r) == pytest.approx(17.0, abs=TOL)
    assert float(r.tables["ghg_prices"]["net_import_mw"].iloc[0]) == pytest.approx(200.0, abs=TOL)
    assert _bus(r, "M", "ghg") == 0.0 and _bus(r, "N", "ghg") == 0.0
    bs = r.baa_summary.set_index("baa")["ghg_secondary_dispatch_mw"]
    assert float(bs["N"]) == pytest.approx(200.0, abs=TOL)
    assert float(bs["M"]) == pytest.approx(0.0, abs=TOL)


def test_two_areas():
    """Areas CA = {C} and WA = {W}; W: load 100, WGEN 200 MW at $40. N as case A (coal $15,
    hydro $10). Bids: hydro → CA $1 (200 MW), coal → CA $30 and → WA $3 (400 MW each). ETSRs
    N→C and N→W, 250 MW. Area pass (both transfers fixed at 0): N alone is hydro 200 + coal 100
    (headroom hydro 0, coal 300, shared by both areas). CA: hydro has no headroom, coal costs
    15 + 30 = 45 > 32: no transfer, μ_CA = the wedge 17. WA: coal at 15 + 3 = 18 < 40 serves W:
    x N→W = 100 (interior), e_coal,WA = 100 ≤ 300, μ_WA = π_W − π_N = 18 − 15 = 3. Revenue:
    loads 550·32 + 300·15 + 100·18 = $23,900 = generators 200·15 + 200·15 + 550·32 = $23,600 +
    GHG payment 3·100 = $300. Emissions: 100 MW × 1 t/MWh = 100 t into WA."""
    from clearing.analysis.check import check_run
    extra = [_thermal("WGEN", "W", 200.0, 40.0)]
    bids = [dict(resource="HYDRO", area="CA", hour=1, adder_usd_per_mwh=1.0, mw=200.0),
            dict(resource="COAL", area="CA", hour=1, adder_usd_per_mwh=30.0, mw=400.0),
            dict(resource="COAL", area="WA", hour=1, adder_usd_per_mwh=3.0, mw=400.0)]
    sc = _market("A", 250.0, baas=("C", "N", "W"), extra_gens=extra, ghg_bids=bids,
                 areas={"C": "CA", "W": "WA"}, etsrs={("N", "C"): 250.0, ("N", "W"): 250.0},
                 loads={"C": 550.0, "N": 300.0, "W": 100.0})
    r = solve(sc)
    assert _x(r, "N_C") == pytest.approx(0.0, abs=TOL)
    assert _x(r, "N_W") == pytest.approx(100.0, abs=TOL)
    assert _energy(r, "COAL") == pytest.approx(200.0, abs=TOL)
    assert _energy(r, "WGEN") == pytest.approx(0.0, abs=TOL)
    assert float(_attr(r, "COAL", "WA")["attributed_mw"]) == pytest.approx(100.0, abs=TOL)
    assert _mu(r, "WA") == pytest.approx(3.0, abs=TOL)
    assert _mu(r, "CA") == pytest.approx(17.0, abs=TOL)
    assert _bus(r, "W", "lmp") == pytest.approx(18.0, abs=TOL)
    assert _bus(r, "W", "ghg") == pytest.approx(3.0, abs=TOL)
    assert _bus(r, "W", "congestion") == pytest.approx(0.0, abs=TOL)
    loads = sum(mw * _bus(r, b, "lmp") for b, mw in (("C", 550.0), ("N", 300.0), ("W", 100.0)))
    gens = sum(_energy(r, g) * _bus(r, b, "lmp") for g, b in (("COAL", "N"), ("HYDRO", "N"),
                                                              ("CCGT", "C"), ("WGEN", "W")))
    pay = float(r.tables["ghg_attribution"]["ghg_payment_usd"].sum())
    assert pay == pytest.approx(300.0, abs=1e-4)
    assert loads == pytest.approx(23900.0, abs=1e-4) and gens + pay == pytest.approx(loads, abs=1e-4)
    gp = r.tables["ghg_prices"].set_index("area")
    assert float(gp.at["WA", "attributed_emissions_t"]) == pytest.approx(100.0, abs=TOL)
    v = check_run(sc, r)
    assert v.empty, v.to_dict("records")


def test_base_schedule_reference():
    """Case A, T = 250, `base_schedule` with hydro's reference at 200 (its Pmax) and coal's at
    100: the same headroom as the area pass (hydro 0, coal 300), so the same result as case A
    `area`: x = 0, CCGT 550, μ = 17; the published reference is the supplied one and no
    reference pass runs (manifest ghg.solved false)."""
    bs = [dict(resource="HYDRO", hour=1, mw=200.0), dict(resource="COAL", hour=1, mw=100.0)]
    r = solve(_market("A", 250.0, "base_schedule", ghg_base_schedule=bs))
    assert _x(r) == pytest.approx(0.0, abs=TOL)
    assert _mu(r) == pytest.approx(17.0, abs=TOL)
    assert float(_attr(r, "HYDRO")["headroom_mw"]) == pytest.approx(0.0, abs=TOL)
    assert r.manifest["ghg"]["solved"] is False


def test_baa_reference_fixes_every_transfer():
    """`baa`: the reference pass fixes every economic transfer (here M→N too): N alone is
    hydro 200 + coal 100 with M's MGEN (100 MW at $5, no load) at 0, so MGEN's reference is 0
    and coal's 100: in case A the headroom of hydro is 0 and of coal 300, as with `area`."""
    extra = [_thermal("MGEN", "M", 100.0, 5.0)]
    r = solve(_market("A", 250.0, "baa", baas=("C", "M", "N"), extra_gens=extra,
                      etsrs={("N", "C"): 250.0, ("M", "N"): 100.0},
                      loads={"C": 550.0, "N": 300.0, "M": 0.0}))
    g = r.tables["ghg_reference"].set_index("resource")
    assert float(g.at["MGEN", "reference_mw"]) == pytest.approx(0.0, abs=TOL)
    assert float(g.at["HYDRO", "reference_mw"]) == pytest.approx(200.0, abs=TOL)
    assert float(g.at["COAL", "reference_mw"]) == pytest.approx(100.0, abs=TOL)


def test_runs_without_ghg_areas_have_no_ghg_tables():
    """Without ghg_areas: no GHG tables, a ghg column of zeros in nodal_prices, no baa_summary
    indicator; the bids alone (without areas) attribute nothing."""
    sc = _market("B", 250.0, ghg_areas=[], ghg_bids=[])
    r = solve(sc)
    assert not {"ghg_attribution", "ghg_prices", "ghg_reference"} & set(r.tables)
    assert (r.nodal_prices["ghg"] == 0.0).all()
    assert "ghg_secondary_dispatch_mw" not in r.baa_summary.columns
    assert "ghg" not in r.manifest


# --- validation (file, row, column) --------------------------------------------------------------
def _problem(exc, file):
    return [(p.row, p.column) for p in exc.value.problems if p.file == file]


def test_bid_inside_its_own_area_and_from_a_load_are_rejected():
    """ghg_bids row 2 (header = row 1): CCGT is in C, the area CA it bids into; row 3: a demand
    resource cannot be attributed (not a supply resource)."""
    load = (dict(resource="LOAD", type="demand", bus="N", pmax_mw=10.0), None,
            dict(resource="LOAD", side="demand", segment=1, mw=10.0, price_usd_per_mwh=50.0))
    bids = [dict(resource="CCGT", area="CA", hour=1, adder_usd_per_mwh=1.0, mw=10.0),
            dict(resource="LOAD", area="CA", hour=1, adder_usd_per_mwh=1.0, mw=10.0)]
    with pytest.raises(ScenarioError) as exc:
        _market("A", 250.0, extra_gens=[load], ghg_bids=bids)
    assert _problem(exc, "ghg_bids.csv") == [(2, "area"), (3, "resource")]


def test_unknown_area_and_resource_are_rejected():
    """ghg_bids: an area not in ghg_areas (row 2), an unknown resource in ghg_emission_rates
    (row 2) and in ghg_base_schedule (row 2)."""
    with pytest.raises(ScenarioError) as exc:
        _market("A", 250.0,
                ghg_bids=[dict(resource="COAL", area="WA", hour=1, adder_usd_per_mwh=1.0,
                               mw=10.0)],
                rates=[dict(resource="NOPE", emission_rate_t_per_mwh=1.0)],
                ghg_base_schedule=[dict(resource="NOPE", hour=1, mw=1.0)])
    assert _problem(exc, "ghg_bids.csv") == [(2, "area")]
    assert _problem(exc, "ghg_emission_rates.csv") == [(2, "resource")]
    assert _problem(exc, "ghg_base_schedule.csv") == [(2, "resource")]


@pytest.mark.parametrize("file, edit, where", [
    ("ghg_areas.csv", lambda rows: rows + [["C", "WA"]], (3, "baa")),   # a BAA in two areas
    ("ghg_bids.csv", lambda rows: [rows[0], rows[1][:3] + ["-1"] + rows[1][4:]] + rows[2:],
     (2, "adder_usd_per_mwh")),
    ("ghg_bids.csv", lambda rows: [rows[0], rows[1][:4] + ["-5"]] + rows[2:], (2, "mw")),
    ("ghg_emission_rates.csv", lambda rows: [rows[0], [rows[1][0], "-0.5"]] + rows[2:],
     (2, "emission_rate_t_per_mwh")),
    ("ghg_bids.csv", lambda rows: [rows[0], rows[1][:2] + ["2"] + rows[1][3:]] + rows[2:],
     (2, "hour")),
])
def test_bad_ghg_csv_cells_name_file_row_and_column(tmp_path, file, edit, where):
    """A scenario folder with one bad GHG cell: the loader names the file, the row as seen in
    the CSV (header = row 1) and the column (a BAA in a second area is a duplicate key; a
    negative adder, MW or rate; an hour beyond the scenario's 1 hour)."""
    import csv

    from scenarios import load_scenario, write_scenario
    folder = write_scenario(_market("A", 250.0), tmp_path / "sc")
    path = folder / file
    rows = list(csv.reader(path.open()))
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(edit(rows))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder)
    assert where in _problem(exc, file), exc.value.problems


# --- the checker's GHG rules fire on a broken table ----------------------------------------------
@pytest.fixture(scope="module")
def case_b_150():
    """§11.11 case B `area`, T = 150: x = 150 at the limit, e_hydro = g_hydro = 150, μ = 4,
    ETSR dual 13 (both parts of the wedge non-zero)."""
    sc = _market("B", 150.0)
    return sc, solve(sc)


def _broken(case, table, edit):
    from clearing.analysis.check import check_run
    from clearing.results import RunResult
    sc, r = case
    tables = {k: v.copy() for k, v in r.tables.items()}
    tables[table] = edit(tables[table])
    return check_run(sc, RunResult(tables=tables, manifest=r.manifest))


def _fired(v, rule):
    return v[v["rule"] == rule]


def _set(df, mask, **cols):
    df = df.copy()
    for c, val in cols.items():
        df.loc[mask(df), c] = val
    return df


def test_unbroken_case_passes(case_b_150):
    from clearing.analysis.check import check_run
    assert check_run(*case_b_150).empty


def test_ghg_bid_fires(case_b_150):
    """HYDRO attributed 250 MW > its 200 MW bid."""
    v = _broken(case_b_150, "ghg_attribution",
                lambda a: _set(a, lambda d: d["resource"] == "HYDRO", attributed_mw=250.0))
    r = _fired(v, "ghg_bid")
    assert list(r["id"]) == ["HYDRO"] and float(r["limit"].iloc[0]) == 200.0


def test_ghg_dispatch_fires(case_b_150):
    """HYDRO dispatched 100 MW but 150 attributed."""
    v = _broken(case_b_150, "schedules",
                lambda s: _set(s, lambda d: d["resource"] == "HYDRO", energy_mw=100.0))
    r = _fired(v, "ghg_dispatch")
    assert list(r["id"]) == ["HYDRO"] and float(r["amount"].iloc[0]) == pytest.approx(150.0)


def test_ghg_headroom_fires(case_b_150):
    """A published reference of 100 MW for HYDRO leaves 200 − 100 = 100 MW of headroom < 150."""
    v = _broken(case_b_150, "ghg_reference",
                lambda g: _set(g, lambda d: d["resource"] == "HYDRO", reference_mw=100.0))
    r = _fired(v, "ghg_headroom")
    assert list(r["id"]) == ["HYDRO"] and float(r["limit"].iloc[0]) == pytest.approx(100.0)


def test_ghg_coverage_fires(case_b_150):
    """150 MW flows into CA but only 100 attributed."""
    v = _broken(case_b_150, "ghg_attribution",
                lambda a: _set(a, lambda d: d["resource"] == "HYDRO", attributed_mw=100.0))
    r = _fired(v, "ghg_coverage")
    assert list(r["id"]) == ["CA"] and float(r["limit"].iloc[0]) == pytest.approx(150.0)


def test_ghg_price_fires_on_the_component_and_the_sign(case_b_150):
    """The ghg component at C set to 0 (μ = 4); and μ published as −1."""
    v = _broken(case_b_150, "nodal_prices",
                lambda n: _set(n, lambda d: d["bus"] == "C", ghg=0.0))
    assert list(_fired(v, "ghg_price")["id"]) == ["C"]
    v = _broken(case_b_150, "ghg_prices", lambda g: g.assign(ghg_price_usd_per_mwh=-1.0))
    assert "CA" in set(_fired(v, "ghg_price")["id"])


def test_ghg_price_fires_on_slack_coverage(case_b_150):
    """μ = 4 while 200 MW are attributed against a 150 MW net import (a slack row)."""
    v = _broken(case_b_150, "ghg_attribution",
                lambda a: _set(a, lambda d: d["resource"] == "HYDRO", attributed_mw=200.0,
                               ghg_payment_usd=800.0))
    assert "CA" in set(_fired(v, "ghg_price")["id"])


def test_ghg_revenue_fires(case_b_150):
    """HYDRO's GHG payment $900 instead of μ·e = 4·150 = $600."""
    v = _broken(case_b_150, "ghg_attribution",
                lambda a: _set(a, lambda d: d["resource"] == "HYDRO", ghg_payment_usd=900.0))
    r = _fired(v, "ghg_revenue")
    assert {"HYDRO", "CA"} <= set(r["id"])


def test_etsr_identity_with_mu_fires(case_b_150):
    """μ published as 5 instead of 4: π_C − π_N = 17 ≠ ν + μ = 13 + 5 (etsr_price), and the
    transfer revenue 13·150 no longer equals x·(π_C − π_N − μ) (transfer_revenue)."""
    v = _broken(case_b_150, "ghg_prices", lambda g: g.assign(ghg_price_usd_per_mwh=5.0))
    assert list(_fired(v, "etsr_price")["id"]) == ["N_C"]
    assert list(_fired(v, "transfer_revenue")["id"]) == ["N_C"]


def test_phase3_attributes_per_interval_and_settles_deviations():
    """Phase 3 on §11.11 case B `area`, T = 150 (RT load drawn by the seeded generator):
    invariants of the RT rows (§5.13 [A]). Per interval, Σ e_RT ≥ the net RT transfer into CA
    (coverage) and every e_RT ≤ min(its bid, headroom of the DA reference: hydro 200 − 0, coal
    400 − 300) and ≤ its RT output; the rt_prices ghg component at C is the interval's μ_RT
    and 0 at N, and LMP = energy + congestion + loss + ghg; the deviation is
    μ_RT (e_RT − e_DA) / 4 with e_DA = 150 (hydro) from the day ahead, and the settlement's
    rt_ghg_deviation line of HYDRO is their sum over the hour's intervals."""
    sc = _market("B", 150.0).with_parameters(phase=3)
    r = solve(sc)
    att, gp = r.tables["rt_ghg_attribution"], r.tables["rt_ghg_prices"]
    rs = r.tables["rt_schedules"]
    assert len(gp) == 4 and len(att) == 8
    for (k, row) in gp.set_index("interval").iterrows():
        sub = att[att["interval"] == k].set_index("resource")
        assert float(sub["attributed_mw"].sum()) >= float(row["net_import_mw"]) - TOL
        out = rs[rs["interval"] == k].set_index("resource")["energy_mw"]
        for rid, room in (("HYDRO", 200.0), ("COAL", 100.0)):
            e = float(sub.at[rid, "attributed_mw"])
            assert e <= min(room, float(out[rid])) + TOL
        rp = r.tables["rt_prices"]
        c = rp[(rp["interval"] == k) & (rp["bus"] == "C")].iloc[0]
        n = rp[(rp["interval"] == k) & (rp["bus"] == "N")].iloc[0]
        assert float(c["ghg"]) == pytest.approx(float(row["ghg_price_usd_per_mwh"]), abs=TOL)
        assert float(n["ghg"]) == 0.0
        assert float(c["lmp"]) == pytest.approx(
            float(c["energy"] + c["congestion"] + c["loss"] + c["ghg"]), abs=1e-6)
    hydro = att[att["resource"] == "HYDRO"]
    assert hydro["da_attributed_mw"].to_numpy() == pytest.approx([150.0] * 4, abs=TOL)
    dev = hydro["ghg_price_usd_per_mwh"] * (hydro["attributed_mw"] - 150.0) / 4
    assert hydro["deviation_payment_usd"].to_numpy() == pytest.approx(dev.to_numpy(), abs=1e-6)
    st = settle(sc, r, r.tables["settlement_inputs"]).table
    line = st[(st["charge"] == "rt_ghg_deviation") & (st["resource"] == "HYDRO")]
    assert float(line["amount_usd"].sum()) == pytest.approx(float(dev.sum()), abs=1e-6)


@pytest.mark.slow
def test_bundled_day_with_ciso_as_ghg_area():
    """The bundled RTS-GMLC day with CISO as GHG area CA at $30/t (the importer's option): it
    clears, only resources outside CISO are attributed, within their bids, μ ≥ 0, and the
    checker's GHG and price rules pass (docs/ghg.md).

    Solved without the RUC and at a 3 % MIP gap. The RUC has no GHG rows (§5.13: attribution is
    the IFM's) and none of the rules checked here reads its tables. Every assertion is an
    invariant of the IFM's pricing LP at whatever commitment the MIP returns, not a number of
    the optimum, so the gap only picks which commitment is checked: both MIPs (the GHG
    reference pass, the IFM) stop at HiGHS's first incumbent within 3 % (about 7 s each, the
    same commitment whatever the load: one thread, seed 0), where at the default 0.1 % each spent
    30–50 s in root cuts (the whole test: 112 s on an idle machine)."""
    from clearing.analysis.check import check_run
    from scenarios import load_scenario
    from scenarios.importers.rts_gmlc_ghg import add_ghg_area
    sc = add_ghg_area(load_scenario("rts_gmlc_edam", {"run_ruc": False, "mip_rel_gap": 0.03}),
                      30.0)
    r = solve(sc)
    assert r.manifest["completion"]["status"] in ("solved", "time_limit")
    att = r.tables["ghg_attribution"]
    assert set(att.loc[att["attributed_mw"] > 0, "baa"]) <= {"PACW", "PGE"}
    assert (r.tables["ghg_prices"]["ghg_price_usd_per_mwh"] >= 0).all()
    v = check_run(sc, r)
    ghg_rules = v[v["rule"].str.startswith("ghg_") | v["rule"].isin(
        ["etsr_price", "transfer_revenue", "lmp_components"])]
    assert ghg_rules.empty, ghg_rules.to_dict("records")


def test_phase1_has_no_attribution():
    """Phase 1 (no economic transfers, §10): nothing flows into C, so there is no GHG
    attribution, no reference pass and no GHG tables; every ghg component is 0; C clears on
    its CCGT alone (LMP 32) and N on its own units (case A: coal marginal, 15)."""
    r = solve(_market("A", 250.0).with_parameters(phase=1))
    assert not {"ghg_attribution", "ghg_prices", "ghg_reference"} & set(r.tables)
    assert (r.nodal_prices["ghg"] == 0.0).all()
    assert _bus(r, "C", "lmp") == pytest.approx(32.0, abs=TOL)
    assert _bus(r, "N", "lmp") == pytest.approx(15.0, abs=TOL)


@pytest.mark.parametrize("case, T, ref", [("B", 150.0, "area"), ("A", 250.0, "none")])
def test_checker_with_both_directions_checks_duality(case, T, ref):
    """With both ETSR directions declared (C→N 250 MW, unused), no rule is skipped: LP duality
    (`dual_objective`) holds with the GHG bids in the per-resource profit LPs (each earns
    μ − γ per attributed MW), and every rule passes."""
    from clearing.analysis.check import check_run
    sc = _market(case, T, ref, etsrs={("N", "C"): T, ("C", "N"): 250.0})
    v = check_run(sc, solve(sc))
    assert v.empty and v.attrs["skipped"] == [], (v.to_dict("records"), v.attrs["skipped"])


# --- the RTS-GMLC option and the sweep variation -------------------------------------------------
def test_rts_emission_rates_from_the_data_set():
    """gen.csv, 221_CC_1 (gas CC, 118 lb CO2/MMBTU): full-load heat rate 6887·0.478873 +
    5950·0.173709 + 6772·0.173709 + 9293·0.173709 = 7122.27 BTU/kWh, so 118 · 7.12227 ·
    0.000453592 = 0.38121 t/MWh; 201_STEAM_3 (coal, 210 lb/MMBTU): 12989·0.394737 +
    (10495 + 11090 + 12185)·0.201754 = 11940.5 BTU/kWh → 1.13739 t/MWh; 121_NUCLEAR_1: 0."""
    from scenarios.importers.rts_gmlc_ghg import emission_rates_t_per_mwh
    rates = emission_rates_t_per_mwh()
    assert rates["221_CC_1"] == pytest.approx(0.38121, abs=2e-5)
    assert rates["201_STEAM_3"] == pytest.approx(1.13739, abs=2e-5)
    assert rates["121_NUCLEAR_1"] == 0.0   # the data set gives nuclear 0 lb CO2/MMBTU


def test_sweep_variation_makes_ciso_a_ghg_area():
    """`ghg_allowance_usd_per_t: 30` on the bundled day (no solve): CISO is area CA; every
    bid is from PACW or PGE, 24 hours each; 221_CC_1 bids 0.38121 · 30 = $11.44/MWh, hydro and
    VERs $0.50; the bundled scenario itself keeps its tables (no GHG table) and its input hash;
    the sweep file parses into 13 runs."""
    from clearing.runs.sweep import apply_variations, parse_sweep
    from scenarios import load_scenario
    base = load_scenario("rts_gmlc_edam")
    h0 = base.input_hash()
    sc = apply_variations(base, {"ghg_allowance_usd_per_t": 30.0})
    assert list(sc.tables["ghg_areas"]["baa"]) == ["CISO"]
    b = sc.tables["ghg_bids"]
    baa = sc.resource_frame.set_index("resource")["baa"]
    assert set(b["resource"].map(baa)) == {"PACW", "PGE"}
    assert (b.groupby("resource").size() == 24).all()
    cc = b[b["resource"] == "221_CC_1"]["adder_usd_per_mwh"]
    assert float(cc.iloc[0]) == pytest.approx(11.4363, abs=1e-3)
    typ = sc.resource_frame.set_index("resource")["type"]
    clean = b[b["resource"].map(typ).isin(["hydro", "ver"])]
    assert len(clean) and (clean["adder_usd_per_mwh"] == 0.5).all()
    assert not any(t.startswith("ghg") for t in base.tables) and base.input_hash() == h0
    assert sc.input_hash() != h0
    from pathlib import Path
    sw = parse_sweep(Path(__file__).parents[1] / "scenarios" / "sweeps"
                     / "ghg_allowance_and_reference.yaml")
    assert len(sw.points) == 13


def test_sweep_store_metrics_and_report(tmp_path):
    """An in-process sweep of §11.11 case A (T = 250) over `ghg_reference` none / area: the
    catalogue's GHG metrics are the hand values of test_section_11_11_cases: μ = 17 in both;
    none: 200 MWh transferred into CA and attributed (hydro), indicator 200 MWh (coal 300 −
    100); area: 0, 0 and 0 MWh; emissions 0 t (hydro 0 t/MWh). The store report plots them."""
    import duckdb

    from clearing.runs.report import build_store_report
    from clearing.runs.store import Store, rebuild_catalogue
    from clearing.runs.sweep import run_sweep
    from scenarios import write_scenario
    write_scenario(_market("A", 250.0), tmp_path / "ghg_a")
    f = tmp_path / "sweep.yaml"
    f.write_text("scenarios: [ghg_a]\ngrid:\n  ghg_reference: [none, area]\n")
    run_sweep(f, tmp_path / "store", workers=0, progress=False)
    path = rebuild_catalogue(Store(tmp_path / "store"))
    with duckdb.connect(str(path), read_only=True) as con:
        runs = con.execute("SELECT ghg_reference, avg_ghg_price, ghg_net_import_mwh, "
                           "ghg_attributed_mwh, ghg_secondary_dispatch_mwh, ghg_emissions_t "
                           "FROM runs ORDER BY ghg_reference").df().set_index("ghg_reference")
    assert runs.loc["none"].tolist() == pytest.approx([17.0, 200.0, 200.0, 200.0, 0.0], abs=1e-6)
    assert runs.loc["area"].tolist() == pytest.approx([17.0, 0.0, 0.0, 0.0, 0.0], abs=1e-6)
    page = build_store_report(Store(tmp_path / "store"))
    assert "GHG attributed energy" in page and "secondary-dispatch indicator" in page


def test_reference_pass_as_lp():
    """`ghg_reference_solve = lp`: the reference pass's LP relaxation. The hand market has no
    commitment costs and Pmin 0, so its relaxation is the same dispatch (case A: hydro 200 +
    coal 100 in N) and the IFM result is case A `area`'s (x = 0, μ = 17)."""
    sc = _market("A", 250.0).with_parameters(ghg_reference_solve="lp")
    r = solve(sc)
    g = r.tables["ghg_reference"].set_index("resource")
    assert float(g.at["COAL", "reference_mw"]) == pytest.approx(100.0, abs=TOL)
    assert float(g.at["HYDRO", "reference_mw"]) == pytest.approx(200.0, abs=TOL)
    assert _x(r) == pytest.approx(0.0, abs=TOL) and _mu(r) == pytest.approx(17.0, abs=TOL)
    assert r.manifest["ghg"]["solve"] == "lp"
