"""Import pglib-uc unit commitment instances into our scenario format.

pglib-uc (https://github.com/power-grid-lib/pglib-uc, CC-BY 4.0) instances are JSON files with
a system demand and spinning reserve series, thermal generators and renewable generators (its
model: `benchmarks/pglib_reference.py`). `import_pglib_uc(path)` turns one into a `Scenario`
with one BAA and one bus, whose market clearing (all EDAM products off) is the pglib-uc problem:

| pglib-uc | scenario |
|---|---|
| `time_periods` | `hours` (48 for the bundled instances) |
| `demand[t]` | `demand.fixed_demand_mw` and `baa_hours.demand_forecast_mw` |
| `reserves[t]` | `baa_hours.sr_requirement_mw` (spinning reserve) |
| thermal `power_output_minimum/maximum` | `resources.pmin_mw/pmax_mw` |
| `piecewise_production[0]` (Pmin, c0) | `thermal.min_load_cost_usd_per_h = c0` (paid when on) |
| later points | `energy_bids` segments above Pmin, price = slope between points |
| `startup` [{lag, cost}] | `startup_costs` tiers: `after_offline_h = lag`, `cost_usd = cost` |
| `ramp_up_limit`, `ramp_down_limit` (MW/h) | `resources.ramp_up/down_mw_per_min` = value / 60 |
| `ramp_startup_limit`, `ramp_shutdown_limit` | `thermal.startup_ramp_mw` (min(SU, Pmin + RU)), `shutdown_ramp_mw` |
| `time_up_minimum`, `time_down_minimum` | `thermal.min_up_h`, `min_down_h` |
| `must_run` | `thermal.must_run` |
| `unit_on_t0`, `time_up_t0`/`time_down_t0`, `power_output_t0` | `thermal.initial_on`, `initial_hours`, `initial_mw` |
| renewable `power_output_maximum[t]`/`minimum[t]` | VER: `resource_hours.pmax_mw` / `self_schedule_mw`, offered at $0 |
| spinning reserve (free, limited by headroom) | an `sr` availability bid at $0 for Pmax - Pmin per thermal unit |

Parameters: phase 1, `run_ruc = false`, `mpm_mode = off`, no IRU/IRD/RU/RD/NR requirements,
`as_ramp_minutes = .inf` and `ir_as_ramp_minutes = .inf` (pglib-uc has no 10- or 30-minute
reserve ramp limit), `as_in_hourly_ramp = true`
(pglib-uc's reserve shares the *hourly* ramp-up with energy, `p~(t) + r(t) - p~(t-1) <= RU`
on output above Pmin, equations (8) and (19) of its MODEL.tex: this parameter adds the unit's
spin award to our thermal ramp-up row; it is off in EDAM), and the power-balance and spin
shortfall penalties raised to `PENALTY_USD_PER_MWH` (pglib-uc has no slacks: its demand and
reserve constraints are hard, and some of its offers exceed our $1000/MWh default penalty).

Why `as_in_hourly_ramp` matters: without it our market is a relaxation of pglib-uc that lets a
unit ramp its energy by RU in an hour *and* hold spinning reserve on top. On rts_gmlc that is
worth < 1e-4 of the objective, but not on ferc/2015-01-01_lw (934 units, many with RU well
below Pmax - Pmin). Without it, ferc on its first 12 hours cleared at 21,684,987.63, 2.5 %
below the reference's bound 22,232,498.59 (the reference model *without* reserve in the ramp
gives 21,687,481.54; our schedule, fixed in the reference model, breaks only its ramp-up rows
(8) and (19), and costs exactly our objective there), and on all 48 hours at 84,189,148.52,
0.71 % below the bound 84,785,676.85. With it (HiGHS 1.15.1, gap 1e-3): ferc 12 h
22,241,739.24 (bound 22,232,527.30) vs the reference 22,235,240.81 (bound 22,232,498.59);
ferc 48 h 84,796,912.99 (bound 84,786,101.17, gap 1.3e-4, 647 s of HiGHS: the joint ramp makes
ferc harder, the run without it took about 5 minutes in all) vs the
reference 84,792,631.01 (bound 84,785,676.85); rts_gmlc 3,729,983.53 (bound 3,726,436.72)
vs 3,729,194.92. `tests/test_pglib.py::test_tiny_joint_reserve_ramp_by_hand` pins the
effect on a hand-solved instance ($3400 with the joint ramp, $2500 without).

Differences forced by the scenario format (each recorded in `metadata.import_notes`):
offer prices are clipped to the energy bid cap ($1000/MWh; some ferc peakers have slopes up to
$1046.89/MWh); a non-convex cost curve is replaced by its lower convex envelope (what
pglib-uc's convex-combination cost model computes anyway: exact); more than 10 segments are
merged (the two adjacent segments with the closest prices first, keeping the cost at the kept
break points); a start-up category costlier than the coldest is given the coldest's cost
(exact: pglib-uc always allows the coldest category; if costs then still fall with downtime,
the hotter tiers are lowered to the suffix minimum, an approximation).

    python -m benchmarks.pglib_uc           # (re)write benchmarks/instances/scenarios/*
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pandas as pd

from benchmarks.pglib_reference import BUNDLED, INSTANCE_DIR, instance_path, load_instance
from scenarios.build import make_scenario
from scenarios.scenario import Scenario
from scenarios.schema import (ENERGY_BID_CAP_USD_PER_MWH, ENERGY_BID_FLOOR_USD_PER_MWH,
                              MAX_ENERGY_BID_SEGMENTS)
from scenarios.writer import write_scenario

HERE = Path(__file__).resolve().parent
SCENARIO_DIR = HERE / "instances" / "scenarios"
BAA = "SYSTEM"
BUS = "BUS1"
PENALTY_USD_PER_MWH = 100_000.0


def scenario_name(instance: str) -> str:
    """'rts_gmlc/2020-07-06' -> 'rts_gmlc_2020-07-06' (the converted folder's name)."""
    return instance.replace("/", "_")


def source_commit() -> str:
    f = INSTANCE_DIR / "SOURCE_COMMIT"
    return f.read_text().split()[0] if f.exists() else ""


# --------------------------------------------------------------------------------------------
def cost_segments(points: list[dict]) -> tuple[float, list[tuple[float, float]], list[str]]:
    """(c0, [(width MW, price $/MWh)], notes) of a pglib-uc piecewise production curve.

    c0 is the cost at the first point (Pmin). Segments run between consecutive points of the
    curve's lower convex envelope (zero-width pieces dropped); prices are the slopes, clipped
    to the bid limits; at most MAX_ENERGY_BID_SEGMENTS (closest-price neighbours merged)."""
    notes: list[str] = []
    pts = sorted(((float(p["mw"]), float(p["cost"])) for p in points), key=lambda x: x[0])
    c0 = pts[0][1]
    # drop zero-width pieces (keep the cheaper cost at a repeated MW)
    uniq: list[tuple[float, float]] = []
    for mw, c in pts:
        if uniq and abs(mw - uniq[-1][0]) <= 1e-9:
            uniq[-1] = (uniq[-1][0], min(uniq[-1][1], c))
            continue
        uniq.append((mw, c))
    # lower convex envelope (monotone chain)
    hull: list[tuple[float, float]] = []
    for p in uniq:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (y2 - y1) * (p[0] - x1) >= (p[1] - y1) * (x2 - x1) - 1e-12 * max(1.0, abs(p[1])):
                hull.pop()  # hull[-1] lies on or above the chord: not on the envelope
            else:
                break
        hull.append(p)
    if len(hull) < len(uniq):
        notes.append(f"non-convex cost curve: {len(uniq) - len(hull)} point(s) below the "
                     "lower convex envelope dropped (exact)")
    c0 = hull[0][1]
    segs = [(x2 - x1, (y2 - y1) / (x2 - x1)) for (x1, y1), (x2, y2) in zip(hull, hull[1:])]
    while len(segs) > MAX_ENERGY_BID_SEGMENTS:
        k = min(range(len(segs) - 1), key=lambda i: segs[i + 1][1] - segs[i][1])
        (w1, p1), (w2, p2) = segs[k], segs[k + 1]
        segs[k:k + 2] = [(w1 + w2, (w1 * p1 + w2 * p2) / (w1 + w2))]
        notes.append(f"segments {k + 1}-{k + 2} merged (more than {MAX_ENERGY_BID_SEGMENTS})")
    out = []
    for w, p in segs:
        q = min(max(p, ENERGY_BID_FLOOR_USD_PER_MWH), ENERGY_BID_CAP_USD_PER_MWH)
        if q != p:
            notes.append(f"offer price {p:.6g} $/MWh clipped to {q:g} $/MWh ({w:.6g} MW)")
        out.append((w, q))
    return c0, out, notes


def startup_tiers(startup: list[dict]) -> tuple[list[tuple[int, float]], list[str]]:
    """[(after_offline_h, cost)] from pglib-uc start-up categories (hottest first).

    pglib-uc lets any start-up use its coldest category, and a hotter one only after a downtime
    in that category's lag window; so a category costlier than the coldest is in effect the
    coldest's cost (exact). If costs still fall with downtime after that (a cheap intermediate
    category), they are lowered to the suffix minimum, which our non-decreasing tiers need
    (an approximation, noted)."""
    notes = []
    st = sorted(startup, key=lambda s: s["lag"])
    costs = [float(s["cost"]) for s in st]
    eff = [min(c, costs[-1]) for c in costs]
    if eff != costs:
        notes.append("start-up category costlier than the coldest: lowered to the coldest's "
                     "cost (exact)")
    suffix = eff[:]
    for i in range(len(eff) - 2, -1, -1):
        suffix[i] = min(eff[i], suffix[i + 1])
    if suffix != eff:
        notes.append("start-up cost falling with downtime to an intermediate category: hotter "
                     "tiers lowered to it (approximation)")
    return [(max(1, int(s["lag"])), c) for s, c in zip(st, suffix)], notes


def startup_shutdown_ramps(gen: dict) -> tuple[float, float, list[str]]:
    """(SU, SD, notes): `thermal.startup_ramp_mw`, `shutdown_ramp_mw` of a pglib-uc unit.

    pglib-uc's ramp limits act on output above Pmin, which is 0 while the unit is off, so in a
    start-up hour its output plus reserve is limited by both SU (17) and Pmin + RU (19): the
    importer gives SU' = min(SU, Pmin + RU) (exact, with `as_in_hourly_ramp`). The hour before
    a shut-down has output plus reserve <= SD (18) and output <= Pmin + RD (20); SD is kept
    (a unit with SD > Pmin + RD is approximated: noted). SU < Pmin forbids any start-up in
    pglib-uc, our engine raises SU to Pmin (noted). None of these occur in the bundled
    instances (every unit has Pmin <= SU <= Pmin + RU and Pmin <= SD <= Pmin + RD)."""
    pmin = float(gen["power_output_minimum"])
    su, sd = float(gen["ramp_startup_limit"]), float(gen["ramp_shutdown_limit"])
    ru, rd = float(gen["ramp_up_limit"]), float(gen["ramp_down_limit"])
    notes = []
    if su > pmin + ru:
        notes.append(f"start-up ramp {su:.6g} MW above Pmin + ramp-up = {pmin + ru:.6g} MW: "
                     "lowered to it (exact)")
        su = pmin + ru
    if su < pmin:
        notes.append(f"start-up ramp {su:.6g} MW below Pmin {pmin:.6g} MW: pglib-uc forbids "
                     "start-ups, our engine allows them at Pmin (approximation)")
    if sd > pmin + rd:
        notes.append(f"shut-down ramp {sd:.6g} MW above Pmin + ramp-down = {pmin + rd:.6g} MW: "
                     "pglib-uc also limits the output before a shut-down to Pmin + ramp-down, "
                     "not modelled (approximation)")
    if sd < pmin:
        notes.append(f"shut-down ramp {sd:.6g} MW below Pmin {pmin:.6g} MW: pglib-uc forbids "
                     "shut-downs, our engine allows them from Pmin (approximation)")
    return su, sd, notes


def import_pglib_uc(path: str | Path, *, name: str | None = None,
                    penalty_usd_per_mwh: float = PENALTY_USD_PER_MWH) -> Scenario:
    """Convert the pglib-uc instance at `path` (.json or .json.gz) into a validated Scenario."""
    path = Path(path)
    data = load_instance(path)
    H = int(data["time_periods"])
    try:  # a bundled instance is named by its upstream path, e.g. rts_gmlc/2020-07-06
        rel = path.resolve().relative_to(INSTANCE_DIR.resolve()).as_posix()
    except ValueError:
        rel = path.name
    instance = rel.split(".json")[0]
    m = re.search(r"\d{4}-\d{2}-\d{2}", instance)
    thermal = data["thermal_generators"]
    renewable = data.get("renewable_generators") or {}
    clash = set(thermal) & set(renewable)
    if clash:
        raise ValueError(f"{path.name}: names used by a thermal and a renewable generator: "
                         f"{sorted(clash)[:5]}")
    demand = [float(x) for x in data["demand"]]
    reserves = [float(x) for x in (data.get("reserves") or [0.0] * H)]
    notes: dict[str, list[str]] = {}

    resources, th_rows, sc_rows, eb_rows, ab_rows, rh_rows = [], [], [], [], [], []
    for g, gen in thermal.items():
        pmin, pmax = float(gen["power_output_minimum"]), float(gen["power_output_maximum"])
        c0, segs, n1 = cost_segments(gen["piecewise_production"])
        tiers, n2 = startup_tiers(gen["startup"])
        su, sd, n3 = startup_shutdown_ramps(gen)
        if n1 + n2 + n3:
            notes[g] = n1 + n2 + n3
        resources.append(dict(resource=g, type="thermal", bus=BUS, pmin_mw=pmin, pmax_mw=pmax,
                              ramp_up_mw_per_min=float(gen["ramp_up_limit"]) / 60.0,
                              ramp_down_mw_per_min=float(gen["ramp_down_limit"]) / 60.0))
        on = bool(gen["unit_on_t0"])
        th_rows.append(dict(
            resource=g, min_load_cost_usd_per_h=c0, startup_cost_usd=tiers[0][1],
            min_up_h=max(1, int(gen["time_up_minimum"])),
            min_down_h=max(1, int(gen["time_down_minimum"])),
            initial_on=on,
            initial_hours=int(gen["time_up_t0"] if on else gen["time_down_t0"]),
            initial_mw=float(gen["power_output_t0"]) if on else 0.0,
            startup_ramp_mw=su, shutdown_ramp_mw=sd,
            must_run=bool(gen["must_run"])))
        for k, (lag, cost) in enumerate(tiers, start=1):
            sc_rows.append(dict(resource=g, tier=k, after_offline_h=lag, cost_usd=cost))
        for k, (w, p) in enumerate(segs, start=1):
            eb_rows.append(dict(resource=g, side="supply", segment=k, mw=w, price_usd_per_mwh=p))
        if pmax - pmin > 0:
            ab_rows.append(dict(resource=g, product="sr", mw=pmax - pmin, price_usd_per_mwh=0.0))
    for w, gen in renewable.items():
        hi = [float(x) for x in gen["power_output_maximum"]]
        lo = [float(x) for x in gen["power_output_minimum"]]
        pmax = max(hi) if hi else 0.0
        resources.append(dict(resource=w, type="ver", bus=BUS, pmin_mw=0.0, pmax_mw=pmax))
        for t in range(1, H + 1):
            rh_rows.append(dict(resource=w, hour=t, pmax_mw=hi[t - 1], self_schedule_mw=lo[t - 1]))
        eb_rows.append(dict(resource=w, side="supply", segment=1, mw=pmax, price_usd_per_mwh=0.0))

    hours = list(range(1, H + 1))
    tables = dict(
        baas=[dict(baa=BAA, is_edam=True, is_reference=True)],
        buses=[dict(bus=BUS, baa=BAA, name="pglib-uc system bus")],
        branches=pd.DataFrame(columns=["branch", "from_bus", "to_bus", "reactance_pu",
                                       "rating_mw"]),
        interfaces=pd.DataFrame(columns=["interface", "from_baa", "to_baa"]),
        interface_hours=pd.DataFrame(columns=["interface", "hour", "limit_mw"]),
        resources=resources, thermal=th_rows, startup_costs=sc_rows,
        energy_bids=eb_rows, availability_bids=ab_rows,
        demand=[dict(bus=BUS, hour=t, fixed_demand_mw=demand[t - 1]) for t in hours],
        baa_hours=[dict(baa=BAA, hour=t, demand_forecast_mw=demand[t - 1],
                        sr_requirement_mw=reserves[t - 1]) for t in hours],
    )
    if rh_rows:
        tables["resource_hours"] = rh_rows
    params = dict(phase=1, run_ruc=False, mpm_mode="off", as_ramp_minutes=math.inf,
                  ir_as_ramp_minutes=math.inf, as_in_hourly_ramp=True,
                  penalty_power_balance_under_usd_per_mwh=penalty_usd_per_mwh,
                  penalty_power_balance_over_usd_per_mwh=penalty_usd_per_mwh,
                  penalty_spin_usd_per_mwh=penalty_usd_per_mwh)
    metadata = dict(
        source="pglib-uc (IEEE PES PGLib-UC), https://github.com/power-grid-lib/pglib-uc",
        source_file=instance + ".json", source_commit=source_commit(),
        license="CC-BY-4.0 (http://creativecommons.org/licenses/by/4.0/); see "
                "benchmarks/instances/pglib-uc/NOTICE.md",
        changes="converted by benchmarks/pglib_uc.py (format conversion; see "
                "benchmarks/README.md, pglib-uc section)",
        thermal_units=len(thermal), renewable_units=len(renewable),
        import_notes={k: v for k, v in sorted(notes.items())})
    return make_scenario(
        tables, name=name or f"pglib_uc_{scenario_name(instance)}",
        trade_date=m.group(0) if m else "",
        hours=H, parameters=params, reference_bus=BUS, metadata=metadata,
        description=f"pglib-uc instance {instance} ({len(thermal)} thermal, "
                    f"{len(renewable)} renewable units, {H} hours) as a one-bus, one-BAA "
                    "market with all EDAM products off")


def write_bundled_scenarios(out_dir: Path = SCENARIO_DIR, instances=BUNDLED) -> list[Path]:
    """Convert each bundled instance into out_dir/<name>/ (see scenario_name)."""
    written = []
    for inst in instances:
        sc = import_pglib_uc(instance_path(inst))
        written.append(write_scenario(sc, out_dir / scenario_name(inst), overwrite=True))
    return written


if __name__ == "__main__":
    for p in write_bundled_scenarios():
        size = sum(f.stat().st_size for f in p.iterdir())
        print(f"{p.relative_to(HERE.parent)}  {size / 1e6:.2f} MB", file=sys.stdout)
