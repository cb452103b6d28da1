"""Synthetic EDAM footprints for scaling studies: the bundled RTS-GMLC day tiled K/3 times.

`tiled_footprint(k_baas, seed, hours)` builds a footprint of K BAAs (K a multiple of 3) from
K/3 copies of the bundled three-BAA day (`scenarios/rts_gmlc_edam`: CISO, PACW, PGE):

* **Copies.** Copy c (c = 0 .. K/3 - 1) holds every bus, branch, resource, bid and table row
  of the day, with every id suffixed `_c<c>` (bus `121` -> `121_c1`, resource `101_CT_1` ->
  `101_CT_1_c1`, branch `A1` -> `A1_c1`, ETSR `CISO_PACW` -> `CISO_PACW_c1`, scheduling
  coordinator `SC_CISO_GAS` -> `SC_CISO_GAS_c1`, entity `CAISO` -> `CAISO_c1`) and its BAAs
  renamed `CISO_c1`, `PACW_c1`, `PGE_c1`. Copy 0 keeps the original names; CISO (copy 0) stays
  the one reference BAA. Trading hubs (`baas.hub`) are shared: hubs are market places, not
  areas.
* **Ties.** Neighbouring copies c and c+1 are joined (a chain, so the network stays one island)
  by one AC tie branch per area between corresponding buses, at the buses the RTS-GMLC
  inter-area ties already use: `121` (CISO), `223` (PACW), `325` (PGE); branch id
  `TIE_<bus>_c<c>_c<c+1>`, reactance `TIE_REACTANCE_PU` = 0.1 p.u. and rating `TIE_RATING_MW`
  = 500 MW (the RTS-GMLC inter-area ties CA-1 and CB-1 have 0.097 / 0.104 p.u. and 500 MW).
* **ETSRs.** Corresponding BAAs of neighbouring copies get a pair of directed ETSRs
  (`CISO_c1_CISO_c2` and `CISO_c2_CISO_c1`; copy 0's BAAs have no suffix: `CISO_CISO_c1`)
  with `ETSR_LIMIT_MW` = 500 MW every hour (the day's smallest ETSR, PACW <-> PGE, and the tie
  rating), no base transfer and no hurdle.
* **Perturbation.** Every copy, copy 0 included, draws from `numpy.random.default_rng(seed +
  c)`: each VER's hourly forecast (`resource_hours.pmax_mw` of type `ver`) is multiplied by a
  per-resource level (1 + `VER_LEVEL_SIGMA` N(0,1)) times an hourly factor (1 +
  `VER_HOURLY_SIGMA` N(0,1)), clipped to [0, the resource's static Pmax]; each BAA's demand
  is multiplied by a per-BAA level (1 + `DEMAND_LEVEL_SIGMA` N) times an hourly factor (1 +
  `DEMAND_HOURLY_SIGMA` N), applied consistently to the BAA's bus demand
  (`demand.fixed_demand_mw`), its forecast (`baa_hours.demand_forecast_mw`, and
  `metered_demand_mw` where given), its requirements (`ru/rd/sr/nr/iru/ird_requirement_mw`) and
  IR demand-curve widths. So tiled:3 is a perturbed variant of the bundled day (the `rts_day`
  benchmark case is the day itself).
* **Horizon.** `hours` < 24 keeps the rows with hour <= hours (`truncate_hours`).

Everything else (costs, ramps, ratings, LDFs, parameters) is copied unchanged, so the size
grows in proportion to K: buses, branches (+3 ties per joint), resources, bids, binaries and
variables are K/3 times the day's (`tests/test_benchmarks.py`). Same (K, seed, hours) ->
identical tables. Ids and rows are sorted by key (`make_scenario`), so the model the engine
builds does not depend on Python's hash seed.

    python -m benchmarks.scaling 12 --hours 24 --out /tmp/tiled12   # write one as a folder
"""

from __future__ import annotations

import argparse
from functools import lru_cache

import numpy as np
import pandas as pd

from scenarios import DEFAULT_SCENARIO, load_scenario
from scenarios.build import make_scenario
from scenarios.scenario import Scenario
from scenarios.schema import TABLES

BASE_BAAS = ("CISO", "PACW", "PGE")
#: (area BAA, bus) of the tie branches between neighbouring copies
TIE_BUSES = (("CISO", "121"), ("PACW", "223"), ("PGE", "325"))
TIE_REACTANCE_PU = 0.1
TIE_RATING_MW = 500.0
ETSR_LIMIT_MW = 500.0
VER_LEVEL_SIGMA = 0.10
VER_HOURLY_SIGMA = 0.05
DEMAND_LEVEL_SIGMA = 0.03
DEMAND_HOURLY_SIGMA = 0.01
#: baa_hours columns that scale with the BAA's demand
DEMAND_SCALED = ("demand_forecast_mw", "metered_demand_mw", "ru_requirement_mw",
                 "rd_requirement_mw", "sr_requirement_mw", "nr_requirement_mw",
                 "iru_requirement_mw", "ird_requirement_mw")

# which id space each column of the schema belongs to
_ID_KIND = {"bus": "bus", "from_bus": "bus", "to_bus": "bus", "branch": "branch",
            "resource": "resource", "baa": "baa", "from_baa": "baa", "to_baa": "baa",
            "interface": "interface", "sc": "sc", "entity": "entity", "name": "name"}


def suffix(c: int) -> str:
    return "" if c == 0 else f"_c{c}"


@lru_cache(maxsize=1)
def _base() -> Scenario:
    return load_scenario(DEFAULT_SCENARIO)


def base_day() -> Scenario:
    """The bundled RTS-GMLC day (loaded once per process)."""
    return _base()


def truncate_hours(scenario: Scenario, hours: int | None) -> Scenario:
    """`scenario` on hours 1..`hours` (rows with hour <= hours kept), validated by
    make_scenario. None or hours >= scenario.hours returns it unchanged."""
    if hours is None or hours >= scenario.hours:
        return scenario
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    tables = {n: (df[df["hour"] <= hours] if "hour" in df.columns else df)
              for n, df in scenario.tables.items()}
    return make_scenario(tables, name=scenario.name, trade_date=scenario.trade_date,
                         hours=hours, parameters=scenario.parameters,
                         description=scenario.description, reference_bus=scenario.reference_bus,
                         metadata={**scenario.metadata, "truncated_to_hours": hours})


def _rename(df: pd.DataFrame, sfx: str) -> pd.DataFrame:
    if not sfx:
        return df.copy()
    out = df.copy()
    for col in out.columns:
        if col in _ID_KIND:
            s = out[col].astype(str)
            out[col] = s.where(s == "", s + sfx)  # blank (= default) stays blank
    return out


def _copy(base: Scenario, c: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Copy c of the day's tables: ids suffixed, renewables and demand perturbed."""
    sfx = suffix(c)
    t = {name: _rename(df, sfx) for name, df in base.tables.items()}
    if c > 0:
        t["baas"]["is_reference"] = False
    # --- renewables: per-resource level x hourly factor, within [0, static Pmax] ------------
    res = t["resources"]
    ver = res.loc[res["type"] == "ver", "resource"].tolist()  # sorted by key: deterministic
    rh = t.get("resource_hours")
    if rh is not None and ver:
        hours = sorted(rh["hour"].unique())
        level = 1.0 + VER_LEVEL_SIGMA * rng.standard_normal(len(ver))
        hourly = 1.0 + VER_HOURLY_SIGMA * rng.standard_normal((len(ver), len(hours)))
        f = pd.Series((level[:, None] * hourly).ravel(),
                      index=pd.MultiIndex.from_product([ver, hours], names=["resource", "hour"]))
        is_ver = rh["resource"].isin(ver).to_numpy()
        key = pd.MultiIndex.from_arrays([rh["resource"], rh["hour"]])
        fac = f.reindex(key).to_numpy()
        cap = rh["resource"].map(dict(zip(res["resource"], res["pmax_mw"]))).to_numpy()
        new = np.clip(rh["pmax_mw"].to_numpy() * fac, 0.0, cap)
        rh = rh.copy()
        rh["pmax_mw"] = np.where(is_ver & ~np.isnan(rh["pmax_mw"].to_numpy()), new,
                                 rh["pmax_mw"].to_numpy())
        t["resource_hours"] = rh
    # --- demand: per-BAA level x hourly factor, applied to everything demand-shaped ----------
    bh = t["baa_hours"]
    baas = t["baas"]["baa"].tolist()
    hours = sorted(bh["hour"].unique())
    level = 1.0 + DEMAND_LEVEL_SIGMA * rng.standard_normal(len(baas))
    hourly = 1.0 + DEMAND_HOURLY_SIGMA * rng.standard_normal((len(baas), len(hours)))
    f = pd.Series((level[:, None] * hourly).ravel(),
                  index=pd.MultiIndex.from_product([baas, hours], names=["baa", "hour"]))

    def factor(baa: pd.Series, hour: pd.Series) -> np.ndarray:
        return f.reindex(pd.MultiIndex.from_arrays([baa, hour])).to_numpy()

    bh = bh.copy()
    fb = factor(bh["baa"], bh["hour"])
    for col in DEMAND_SCALED:
        if col in bh.columns:
            bh[col] = bh[col] * fb  # NaN (blank) stays NaN
    t["baa_hours"] = bh
    bus_baa = dict(zip(t["buses"]["bus"], t["buses"]["baa"]))
    dem = t["demand"].copy()
    dem["fixed_demand_mw"] = dem["fixed_demand_mw"] * factor(dem["bus"].map(bus_baa), dem["hour"])
    t["demand"] = dem
    ir = t.get("ir_demand_curves")
    if ir is not None and len(ir):
        ir = ir.copy()
        ir["mw"] = ir["mw"] * factor(ir["baa"], ir["hour"])
        t["ir_demand_curves"] = ir
    return t


def _joints(n_copies: int, hours: list[int]) -> dict[str, list[dict]]:
    """Tie branches and ETSR pairs between copies c and c+1."""
    branches, interfaces, ih = [], [], []
    for c in range(n_copies - 1):
        a, b = suffix(c), suffix(c + 1)
        for _, bus in TIE_BUSES:
            branches.append(dict(branch=f"TIE_{bus}_c{c}_c{c + 1}", from_bus=bus + a,
                                 to_bus=bus + b, reactance_pu=TIE_REACTANCE_PU,
                                 rating_mw=TIE_RATING_MW))
        for baa, _ in TIE_BUSES:
            for o, e in ((baa + a, baa + b), (baa + b, baa + a)):
                k = f"{o}_{e}"
                interfaces.append(dict(interface=k, from_baa=o, to_baa=e,
                                       hurdle_usd_per_mwh=0.0))
                ih += [dict(interface=k, hour=h, limit_mw=ETSR_LIMIT_MW, base_transfer_mw=0.0)
                       for h in hours]
    return dict(branches=branches, interfaces=interfaces, interface_hours=ih)


def tiled_footprint(k_baas: int, seed: int = 0, hours: int = 24) -> Scenario:
    """A footprint of `k_baas` BAAs (a multiple of 3): k_baas/3 perturbed copies of the bundled
    RTS-GMLC day joined by tie branches and ETSR pairs (module docstring), on hours 1..hours."""
    if k_baas < 3 or k_baas % 3:
        raise ValueError(f"k_baas must be a positive multiple of 3, got {k_baas}")
    base = truncate_hours(base_day(), hours)
    if set(base.baas["baa"]) != set(BASE_BAAS):
        raise ValueError(f"the bundled day's BAAs changed: {sorted(base.baas['baa'])}")
    n = k_baas // 3
    unknown = [c for name, df in base.tables.items() for c in df.columns
               if c not in _ID_KIND and c.endswith(("bus", "baa", "branch", "resource"))]
    if unknown:  # a new id column in the schema must be added to _ID_KIND
        raise ValueError(f"columns of unknown id kind: {unknown}")
    copies = [_copy(base, c, np.random.default_rng(seed + c)) for c in range(n)]
    joints = _joints(n, base.hour_list)
    tables = {}
    for t in TABLES:
        parts = [cp[t.name] for cp in copies if t.name in cp]
        if t.name in joints and joints[t.name]:
            parts.append(pd.DataFrame(joints[t.name]))
        if parts:
            tables[t.name] = pd.concat(parts, ignore_index=True)
    meta = {k: v for k, v in base.metadata.items() if k != "notice"}
    meta.update(generator="benchmarks.scaling.tiled_footprint", k_baas=k_baas, seed=seed,
                copies=n, tie_reactance_pu=TIE_REACTANCE_PU, tie_rating_mw=TIE_RATING_MW,
                etsr_limit_mw=ETSR_LIMIT_MW)
    return make_scenario(
        tables, name=f"tiled_{k_baas}", trade_date=base.trade_date, hours=base.hours,
        parameters=base.parameters, reference_bus=base.reference_bus, metadata=meta,
        description=f"{k_baas} BAAs: {n} perturbed copies (seed {seed}) of the RTS-GMLC "
                    "three-BAA day joined by tie branches and ETSR pairs "
                    "(benchmarks/scaling.py)")


def main(argv: list[str] | None = None) -> int:
    from scenarios.writer import write_scenario
    ap = argparse.ArgumentParser(description="write a tiled footprint as a scenario folder")
    ap.add_argument("k_baas", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    sc = tiled_footprint(a.k_baas, a.seed, a.hours)
    print(write_scenario(sc, a.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
