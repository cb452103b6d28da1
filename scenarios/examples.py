"""The hand-solvable worked examples of spec §11.1-11.4 as scenarios.

One function per case builds the `Scenario` with `make_scenario`; its arguments are the variants
the spec discusses. `write_examples()` (or ``python -m scenarios.examples``) regenerates the
bundled folders ``scenarios/example_11_1`` .. ``example_11_4`` with the default variants.

Conventions shared by every case (spec §11 preamble: one hour, no AS/IR/RC requirements unless
stated, one bus per BAA, no binding network limits, Pmin = 0, no commitment costs, flat bids):

- hours = 1; the BAA demand forecast equals the fixed demand, so RUC has nothing to buy.
- A generator is a ``thermal`` resource with Pmin 0, min-load cost 0, start-up cost 0, min up/down
  1 h and ``initial_on`` true, so commitment is free and irrelevant. Its energy offer is one
  segment of width Pmax at the case's price. Where the case says "ample ramp" (or says nothing)
  the ramp rate is `AMPLE_RAMP_MW_PER_MIN` (IR and AS ramp limits never bind); ``initial_mw`` is
  chosen so that the hour-0 -> hour-1 ramp cannot bind either.
- A network element the case does not limit is ``monitored`` false (with a large rating).
- IR bids are availability bids of product ``iru`` with MW = Pmax at the case's price; the IRU
  requirement has no ir_demand_curves rows, so it is one segment at the cap (§5.7 default).
- The expected results the spec states for a variant are stored in ``metadata['expected']``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scenarios.build import make_scenario
from scenarios.scenario import Scenario

EXAMPLE_DATE = "2026-06-01"
AMPLE_RAMP_MW_PER_MIN = 1000.0
LARGE_RATING_MW = 99999.0
BUNDLED_DIR = Path(__file__).resolve().parent


def _generator(rid: str, bus: str, pmax: float, price: float, *,
               ramp: float = AMPLE_RAMP_MW_PER_MIN, initial_mw: float = 0.0) -> tuple[dict, dict, dict]:
    """(resources row, thermal row, energy_bids row) of a commitment-free generator."""
    res = dict(resource=rid, type="thermal", bus=bus, pmin_mw=0.0, pmax_mw=pmax,
               ramp_up_mw_per_min=ramp, ramp_down_mw_per_min=ramp)
    th = dict(resource=rid, min_load_cost_usd_per_h=0.0, startup_cost_usd=0.0, min_up_h=1,
              min_down_h=1, initial_on=True, initial_hours=24, initial_mw=initial_mw)
    eb = dict(resource=rid, side="supply", segment=1, mw=pmax, price_usd_per_mwh=price)
    return res, th, eb


def _tables(gens: list[tuple[dict, dict, dict]], **tables) -> dict:
    tables["resources"] = [g[0] for g in gens]
    tables["thermal"] = [g[1] for g in gens]
    tables["energy_bids"] = [g[2] for g in gens]
    return tables


def _baa_hour(baa: str, forecast: float, **req) -> dict:
    return dict(baa=baa, hour=1, demand_forecast_mw=forecast, **req)


# ---------------------------------------------------------------------------------------------
def example_11_1(limit_mw: float = 100.0, phase: int = 2,
                 reverse_limit_mw: float = 0.0) -> Scenario:
    """§11.1 Two BAAs, binding transfer limit. BAA A: G1 200 MW @ $20, load 50. BAA B (the
    reference BAA, 'CISO' of the spec's SMEC remark): G2 300 MW @ $50, load 250. ETSR A->B limit
    `limit_mw` (spec: 100; variant 500), B->A `reverse_limit_mw` (0). `phase` 2 (economic
    transfers) or 1 (none). The AC tie between the two buses is unmonitored."""
    gens = [_generator("G1", "A1", 200.0, 20.0), _generator("G2", "B1", 300.0, 50.0)]
    tables = _tables(
        gens,
        baas=[dict(baa="A", is_reference=False), dict(baa="B", is_reference=True)],
        buses=[dict(bus="A1", baa="A"), dict(bus="B1", baa="B")],
        branches=[dict(branch="A1_B1", from_bus="A1", to_bus="B1", reactance_pu=0.1,
                       rating_mw=LARGE_RATING_MW, monitored=False, enforce_base=False,
                       enforce_in_ruc=False)],
        interfaces=[dict(interface="A_B", from_baa="A", to_baa="B"),
                    dict(interface="B_A", from_baa="B", to_baa="A")],
        interface_hours=[dict(interface="A_B", hour=1, limit_mw=limit_mw),
                         dict(interface="B_A", hour=1, limit_mw=reverse_limit_mw)],
        demand=[dict(bus="A1", hour=1, fixed_demand_mw=50.0),
                dict(bus="B1", hour=1, fixed_demand_mw=250.0)],
        baa_hours=[_baa_hour("A", 50.0), _baa_hour("B", 250.0)],
    )
    expected = None
    if phase == 1:
        expected = dict(x_A_B=0.0, G1=50.0, G2=250.0, lmp_A=20.0, lmp_B=50.0, cost=13500.0)
    elif reverse_limit_mw == 0.0 and limit_mw == 100.0:
        expected = dict(x_A_B=100.0, G1=150.0, G2=150.0, lmp_A=20.0, lmp_B=50.0,
                        etsr_shadow_price=30.0, transfer_revenue=3000.0, cost=10500.0,
                        transfer_component_A_smec_at_B=-30.0)
    elif reverse_limit_mw == 0.0 and limit_mw == 500.0:
        expected = dict(x_A_B=150.0, G1=200.0, G2=100.0, lmp_A=50.0, lmp_B=50.0,
                        etsr_shadow_price=0.0, cost=9000.0)
    return make_scenario(
        tables, name="example_11_1", trade_date=EXAMPLE_DATE, hours=1,
        parameters={"phase": phase},
        description=f"Spec section 11.1: two BAAs, ETSR A->B limit {limit_mw:g} MW "
                    f"(B->A {reverse_limit_mw:g}), phase {phase}.",
        metadata=_meta("11.1", dict(limit_mw=limit_mw, phase=phase,
                                     reverse_limit_mw=reverse_limit_mw), expected))


def example_11_2(cap: float = 55.0) -> Scenario:
    """§11.2 IR relaxed and priced at the cap. One BAA, load 150, IRU requirement 80 on one
    segment at the cap `cap` (parameter ir_demand_curve_cap_usd_per_mwh; spec: 55, what-if 15).
    G1: Pmax 100 @ $20, IRU bid $0, ramp 2 MW/min (IRU <= 30 at T^IR = 15 min); G2: Pmax 100 @
    $40, IRU bid $0, ramp 1 MW/min (IRU <= 15). initial_mw 75 each: any dispatch meeting the load
    (50..100 MW per unit) is within one hour's ramp of it."""
    gens = [_generator("G1", "A1", 100.0, 20.0, ramp=2.0, initial_mw=75.0),
            _generator("G2", "A1", 100.0, 40.0, ramp=1.0, initial_mw=75.0)]
    tables = _tables(
        gens,
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="A1", baa="A")],
        demand=[dict(bus="A1", hour=1, fixed_demand_mw=150.0)],
        baa_hours=[_baa_hour("A", 150.0, iru_requirement_mw=80.0)],
        availability_bids=[dict(resource="G1", product="iru", mw=100.0, price_usd_per_mwh=0.0),
                           dict(resource="G2", product="iru", mw=100.0, price_usd_per_mwh=0.0)],
    )
    expected = None
    if cap == 55.0:
        expected = dict(IRU_G1=30.0, IRU_G2=15.0, IRUS=35.0, G1=70.0, G2=80.0, IRURMP=55.0,
                        IRUMP_G1=55.0, IRUMP_G2=55.0, lmp=40.0, objective=2125.0,
                        objective_shortfall_form=6525.0)
    elif cap == 15.0:
        expected = dict(IRU_G1=0.0, IRU_G2=15.0, IRUS=65.0, G1=100.0, G2=50.0, IRURMP=15.0,
                        IRUMP_G1=15.0, lmp=40.0, objective=3775.0,
                        objective_shortfall_form=4975.0)
    return make_scenario(
        tables, name="example_11_2", trade_date=EXAMPLE_DATE, hours=1,
        parameters={"ir_demand_curve_cap_usd_per_mwh": cap},
        description=f"Spec section 11.2: IRU requirement 80 MW relaxed on one segment at the cap "
                    f"${cap:g}/MWh.",
        metadata=_meta("11.2", dict(cap=cap), expected))


def _two_bus(load_mw: float) -> dict:
    return dict(
        baas=[dict(baa="A", is_reference=True)],
        buses=[dict(bus="1", baa="A"), dict(bus="2", baa="A")],
        branches=[dict(branch="L12", from_bus="1", to_bus="2", reactance_pu=0.1, rating_mw=100.0,
                       monitored=True, enforce_base=True, enforce_in_ruc=True)],
        demand=[dict(bus="2", hour=1, fixed_demand_mw=load_mw)],
        load_distribution=[dict(bus="1", ldf=0.0), dict(bus="2", ldf=1.0)],
    )


def example_11_3(reference_bus: str = "2") -> Scenario:
    """§11.3 Congestion inside a BAA (reference dependence). Buses 1-2, line 1->2 limit 100;
    G1 at bus 1 (200 MW @ $20), G2 at bus 2 (200 MW @ $50), load 150 at bus 2. `reference_bus`
    '2' (spec first) or '1' sets scenario.reference_bus; LMPs are identical, components differ."""
    gens = [_generator("G1", "1", 200.0, 20.0), _generator("G2", "2", 200.0, 50.0)]
    tables = _tables(gens, baa_hours=[_baa_hour("A", 150.0)], **_two_bus(150.0))
    reference_bus = str(reference_bus)
    expected = None
    if reference_bus == "2":
        expected = dict(G1=100.0, G2=50.0, smec=50.0, mu_L12=30.0, lmp_1=20.0, lmp_2=50.0,
                        congestion_1=-30.0, congestion_2=0.0)
    elif reference_bus == "1":
        expected = dict(G1=100.0, G2=50.0, smec=20.0, mu_L12=30.0, lmp_1=20.0, lmp_2=50.0,
                        congestion_1=0.0, congestion_2=30.0)
    return make_scenario(
        tables, name="example_11_3", trade_date=EXAMPLE_DATE, hours=1,
        reference_bus=reference_bus,
        description=f"Spec section 11.3: congestion inside one BAA, line 1->2 limit 100 MW, "
                    f"reference bus {reference_bus}.",
        metadata=_meta("11.3", dict(reference_bus=reference_bus), expected))


def example_11_4(delta: float = 1.0, reference_bus: str = "2") -> Scenario:
    """§11.4 IR deployment scenario binds (δ sensitivity). The two buses of §11.3, line limit 100
    in L^base and L^dep (deployment_constraint_set 'base'), load 90 at bus 2 (LDF 1 at bus 2).
    G1 (bus 1): 200 MW @ $20, IRU bid $0; G2 (bus 2): 200 MW @ $50, IRU bid $5; ample ramp; IRU
    requirement 30 on one segment at $55. `delta` is ir_deployed_proportion (spec: 1 and 0.5)."""
    gens = [_generator("G1", "1", 200.0, 20.0), _generator("G2", "2", 200.0, 50.0)]
    tables = _tables(
        gens, baa_hours=[_baa_hour("A", 90.0, iru_requirement_mw=30.0)],
        availability_bids=[dict(resource="G1", product="iru", mw=200.0, price_usd_per_mwh=0.0),
                           dict(resource="G2", product="iru", mw=200.0, price_usd_per_mwh=5.0)],
        **_two_bus(90.0))
    reference_bus = str(reference_bus)
    expected = None
    if reference_bus == "2" and delta == 1.0:
        expected = dict(G1=90.0, G2=0.0, IRU_G1=10.0, IRU_G2=20.0, mu_L12=0.0, etaU_plus_L12=5.0,
                        IRURMP=5.0, IRUMP_G1=0.0, IRUMP_G2=5.0, lmp_1=20.0, lmp_2=25.0,
                        objective=250.0)
    elif reference_bus == "2" and delta == 0.5:
        expected = dict(G1=90.0, G2=0.0, IRU_G1=20.0, IRU_G2=10.0, mu_L12=0.0,
                        etaU_plus_L12=10.0, IRURMP=5.0, IRUMP_G1=0.0, IRUMP_G2=5.0, lmp_1=20.0,
                        lmp_2=30.0, objective=200.0)
    return make_scenario(
        tables, name="example_11_4", trade_date=EXAMPLE_DATE, hours=1,
        reference_bus=reference_bus,
        parameters={"ir_deployed_proportion": delta, "deployment_constraint_set": "base",
                    "ir_demand_curve_cap_usd_per_mwh": 55.0},
        description=f"Spec section 11.4: IR deployment scenario binds on line 1->2, "
                    f"delta = {delta:g}.",
        metadata=_meta("11.4", dict(delta=delta, reference_bus=reference_bus), expected))


def _meta(ref: str, variant: dict, expected: dict | None) -> dict:
    m = {"spec": f"market-design.md section {ref}", "variant": variant}
    if expected is not None:
        m["expected"] = expected
    return m


EXAMPLES = {
    "example_11_1": example_11_1,
    "example_11_2": example_11_2,
    "example_11_3": example_11_3,
    "example_11_4": example_11_4,
}


def write_examples(root: str | Path = BUNDLED_DIR) -> list[Path]:
    """Write every example (default variant) to `root`/example_11_n; returns the folders."""
    from scenarios.writer import write_scenario

    out = []
    for name, build in EXAMPLES.items():
        path = Path(write_scenario(build(), Path(root) / name, overwrite=True))  # regenerate
        path.chmod(0o755)
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLED_DIR):
        print(f"wrote {p}")
