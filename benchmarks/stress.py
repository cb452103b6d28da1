"""Stressed variants of a scenario for the day sample (issue 20): named pure transforms.

Each transform takes a `Scenario` and returns a new, validated one (the input is not changed).
A variant is written after a case with `+` (`day:2020-07-05+load120`, `rts_day+stressed:PACW`)
and several chain left to right (`+load120+ratings_half`). `apply_variants(sc, "a+b:X")`
applies a chain; `VARIANTS` names them.

* `load120[:<BAA>]` — demand × `LOAD_FACTOR` (1.2), in every BAA or in `<BAA>` only:
  `demand.fixed_demand_mw` (bus demand), `baa_hours.demand_forecast_mw` (the RUC's D^F) and
  `baa_hours.metered_demand_mw` where given (`Scenario.scale_load`), plus the price-sensitive
  demand bids, i.e. resources of type `demand` (not `virtual_demand`, not storage charging,
  not exports): their `energy_bids` and `energy_bids_hourly` rows with side `demand` (segment
  `mw`), their `resources.pmax_mw` (for a demand resource the largest bid MW) and
  `resource_hours.pmax_mw`. Reserve, IR and RSE requirements are inputs of their own and stay
  as they are.
* `units_out:<BAA>` — the BAA's largest thermal units out of service: its thermal units
  sorted by `resources.pmax_mw`, largest first (ties by resource id), taken until their
  Pmax adds up to at least `UNITS_OUT_SHARE` (one third) of the BAA's thermal Pmax (the unit
  that crosses the third is included; `largest_thermal_units`). They are removed from every
  table (`Scenario.without_resource`: the format's way to put a resource out of service; an
  hourly Pmax of 0 would contradict a unit's Pmin, initial output and must-run flag).
* `ratings_half[:<BAA>]` — every branch rating × `RATINGS_FACTOR` (0.5): `branches.rating_mw`
  and the hourly overrides `branch_ratings.rating_mw` (a 0 stays 0 = out of service); with
  `<BAA>`, only branches with an end at a bus of that BAA. ETSR limits are not ratings and
  stay.
* `stressed:<BAA>` — the three together, the stressed day of issue 20: `load120` (every BAA)
  then `units_out:<BAA>` then `ratings_half` (every branch).
"""

from __future__ import annotations

from typing import Callable

from scenarios.scenario import Scenario

LOAD_FACTOR = 1.2
RATINGS_FACTOR = 0.5
UNITS_OUT_SHARE = 1.0 / 3.0


def _baa_buses(sc: Scenario, baa: str) -> list[str]:
    if baa not in set(sc.baas["baa"]):
        raise ValueError(f"unknown BAA {baa!r}; BAAs: {', '.join(sorted(sc.baas['baa']))}")
    return [b for b, a in sc.bus_baa.items() if a == baa]


def load120(sc: Scenario, baa: str | None = None) -> Scenario:
    """Demand × 1.2 (module docstring: bus demand, forecast, metered demand and the
    `demand`-type resources' bids and Pmax), in every BAA or in `baa` only."""
    if baa is not None:
        _baa_buses(sc, baa)
    out = sc.scale_load(LOAD_FACTOR, baa)
    res = sc.resource_frame
    psd = res[(res["type"] == "demand") & ((res["baa"] == baa) if baa else True)]["resource"]
    psd = sorted(psd)
    if psd:
        out = out.edit("resources", where={"resource": psd}, scale={"pmax_mw": LOAD_FACTOR})
        for table in ("energy_bids", "energy_bids_hourly"):
            if table in out.tables:
                out = out.edit(table, where={"resource": psd, "side": ["demand", ""]},
                               scale={"mw": LOAD_FACTOR})
        if "resource_hours" in out.tables:
            out = out.edit("resource_hours", where={"resource": psd},
                           scale={"pmax_mw": LOAD_FACTOR})
    return out.validate()


def largest_thermal_units(sc: Scenario, baa: str, share: float = UNITS_OUT_SHARE) -> list[str]:
    """The BAA's thermal units by Pmax, largest first (ties by id), until their Pmax adds up to
    at least `share` of the BAA's thermal Pmax (the crossing unit included)."""
    _baa_buses(sc, baa)
    res = sc.resource_frame
    th = res[(res["type"] == "thermal") & (res["baa"] == baa)]
    if th.empty:
        raise ValueError(f"BAA {baa!r} has no thermal units")
    th = th.assign(neg=-th["pmax_mw"]).sort_values(["neg", "resource"], kind="mergesort")
    need = share * float(th["pmax_mw"].sum())
    out, total = [], 0.0
    for r, p in zip(th["resource"], th["pmax_mw"]):
        if total >= need - 1e-9 and out:
            break
        out.append(str(r))
        total += float(p)
    return out


def units_out(sc: Scenario, baa: str) -> Scenario:
    """`baa`'s largest thermal units (`largest_thermal_units`) out of service."""
    return sc.without_resource(*largest_thermal_units(sc, baa)).validate()


def ratings_half(sc: Scenario, baa: str | None = None) -> Scenario:
    """Every branch rating × 0.5 (`branches` and `branch_ratings`), or only those of branches
    with an end in `baa`."""
    br = sc.branches
    if baa is None:
        ids = None
    else:
        buses = set(_baa_buses(sc, baa))
        ids = sorted(br.loc[br["from_bus"].isin(buses) | br["to_bus"].isin(buses), "branch"])
    where = None if ids is None else {"branch": ids}
    out = sc.edit("branches", where=where, scale={"rating_mw": RATINGS_FACTOR})
    if "branch_ratings" in out.tables:
        out = out.edit("branch_ratings", where=where, scale={"rating_mw": RATINGS_FACTOR})
    return out.validate()


def stressed(sc: Scenario, baa: str) -> Scenario:
    """load120 (every BAA), units_out:<baa>, ratings_half (every branch)."""
    return ratings_half(units_out(load120(sc), baa))


#: name -> (transform, whether the BAA argument is required, optional or not taken)
VARIANTS: dict[str, tuple[Callable[..., Scenario], str]] = {
    "load120": (load120, "optional"),
    "units_out": (units_out, "required"),
    "ratings_half": (ratings_half, "optional"),
    "stressed": (stressed, "required"),
}


def parse_variants(text: str) -> list[tuple[str, str | None]]:
    """'load120+units_out:PACW' -> [('load120', None), ('units_out', 'PACW')]; a ValueError
    names a bad one."""
    out = []
    for part in (p.strip() for p in text.split("+")):
        if not part:
            continue
        name, _, arg = part.partition(":")
        if name not in VARIANTS:
            raise ValueError(f"unknown variant {part!r} (known: "
                             + ", ".join(f"{n}:<BAA>" if k == "required" else
                                         f"{n}[:<BAA>]" for n, (_, k) in VARIANTS.items()) + ")")
        if VARIANTS[name][1] == "required" and not arg:
            raise ValueError(f"variant {name!r} needs a BAA: {name}:<BAA>")
        out.append((name, arg or None))
    return out


def apply_variants(sc: Scenario, text: str) -> Scenario:
    """`sc` with the chain of variants in `text` applied left to right (validated)."""
    for name, arg in parse_variants(text):
        fn = VARIANTS[name][0]
        sc = fn(sc, arg) if arg is not None else fn(sc)
    return sc


def split_case(case: str) -> tuple[str, str]:
    """'day:2020-07-05+load120+ratings_half' -> ('day:2020-07-05', 'load120+ratings_half')."""
    base, _, variants = case.partition("+")
    return base.strip(), variants.strip()

