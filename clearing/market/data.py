"""Model-ready data derived from a `Scenario` (pure functions, no Pyomo).

Everything the components read is here, in ordered containers (lists sorted by id), so the model
is built the same way every time whatever Python's hash seed (architecture.md, Performance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from scenarios.loader import deployment_constraint_ids
from scenarios.parameters import MarketParameters
from scenarios.scenario import Scenario
from scenarios.schema import DEMAND_TYPES

UP_PRODUCTS = ("ru", "sr", "nr")
IR_ELIGIBLE = ("thermal", "storage", "hydro", "ver", "import")


class Cells:
    """A frame's cells as dicts, `cells.at[row, col]` ≈ `frame.at[row, col]` at dict speed
    (Python scalars). pandas' `.at` costs microseconds a call, and the model rules make a
    hundred thousand of them on a 48-hour pglib-uc day (profiled: most of the build time). A
    snapshot: take it after the frame is final (MarketData's frames are not changed after
    `prepare`)."""

    __slots__ = ("_cols",)

    def __init__(self, frame: pd.DataFrame) -> None:
        self._cols = {c: dict(zip(frame.index, frame[c].tolist())) for c in frame.columns}

    @property
    def at(self) -> "Cells":
        return self

    def column(self, col: str) -> dict:
        """{row: value} of one column (shared: do not modify)."""
        return self._cols[col]

    def __getitem__(self, key: tuple):
        row, col = key
        return self._cols[col][row]


@dataclass
class MarketData:
    """Ordered, typed views of a scenario for the model components (spec §2)."""

    scenario: Scenario
    params: MarketParameters
    hours: list[int]
    baas: list[str]
    buses: list[str]
    bus_baa: dict[str, str]
    resources: pd.DataFrame          # indexed by resource id (sorted), with baa, sc, type, ...
    pmax: pd.DataFrame               # resource x hour, hourly Pmax (VER: forecast)
    self_schedule: pd.DataFrame      # resource x hour, NaN = none
    supply_bids: dict[str, list[tuple[float, float]]]   # resource -> [(width, price)]
    demand_bids: dict[str, list[tuple[float, float]]]
    avail: dict[tuple[str, str], tuple[float, float, bool]]  # (resource, product) -> (mw, price, iso)
    thermal: pd.DataFrame            # indexed by resource
    startup_tiers: dict[str, list[tuple[int, float]]]
    storage: pd.DataFrame
    hydro: pd.DataFrame
    fixed_demand_bus: pd.DataFrame   # bus x hour
    baa_hours: pd.DataFrame          # (baa, hour) index
    interfaces: pd.DataFrame         # indexed by interface
    interface_hours: pd.DataFrame    # (interface, hour) index
    ir_curves: dict[tuple[str, str, int], list[tuple[float, float]]]  # (baa, prod, hour) -> segs
    branches: pd.DataFrame           # indexed by branch
    rating: pd.DataFrame             # branch x hour
    deployment_ids: list[str]
    ldf: pd.Series
    extra: dict = field(default_factory=dict)

    # ---------------------------------------------------------------------------------------
    def of_type(self, *types: str) -> list[str]:
        r = self.resources
        return list(r.index[r["type"].isin(types)])

    def in_baa(self, baa: str) -> list[str]:
        r = self.resources
        return list(r.index[r["baa"] == baa])

    def bids_product(self, product: str, types: tuple[str, ...] | None = None) -> list[str]:
        out = [r for (r, p) in self.avail if p == product and self.avail[(r, p)][0] > 0]
        if types is not None:
            out = [r for r in out if self.resources.at[r, "type"] in types]
        return sorted(out)

    @cached_property
    def fixed_demand_baa(self) -> pd.DataFrame:
        d = self.fixed_demand_bus.copy()
        d.index = d.index.map(self.bus_baa)
        return d.groupby(level=0).sum().reindex(self.baas).fillna(0.0)

    @cached_property
    def reference_baa(self) -> str:
        return self.scenario.reference_baa

    def cells(self, name: str) -> Cells:
        """`Cells` of the frame field `name` (resources, thermal, pmax, self_schedule, storage,
        …), made once per MarketData (a `dataclasses.replace` copy makes its own)."""
        cache = self.__dict__.setdefault("_cells", {})
        frame = getattr(self, name)
        got = cache.get(name)
        if got is None or got[0] is not frame:
            got = cache[name] = (frame, Cells(frame))
        return got[1]

    def ramp_up(self, r: str) -> float:
        return float(self.cells("resources").at[r, "ramp_up_mw_per_min"])

    def ramp_down(self, r: str) -> float:
        return float(self.cells("resources").at[r, "ramp_down_mw_per_min"])

    def reverse(self, k: str) -> str | None:
        """The reverse ETSR k̄ (same BAAs, opposite direction), if one exists."""
        return self.extra["reverse"].get(k)


def prepare(scenario: Scenario) -> MarketData:
    """Derive `MarketData` from a scenario (spec §2)."""
    p = scenario.parameters
    hours = scenario.hour_list
    t = scenario.tables
    res = scenario.resource_frame.set_index("resource").sort_index()
    # hourly Pmax and self-schedules
    pmax = pd.DataFrame(np.repeat(res["pmax_mw"].to_numpy()[:, None], len(hours), axis=1),
                        index=res.index, columns=hours)
    ss = pd.DataFrame(np.nan, index=res.index, columns=hours)
    rh = t.get("resource_hours")
    if rh is not None and len(rh):
        pm = rh.dropna(subset=["pmax_mw"]).pivot(index="resource", columns="hour", values="pmax_mw")
        for h in pm.columns:
            col = pm[h].dropna()
            pmax.loc[col.index, h] = col.to_numpy()
        sv = rh.dropna(subset=["self_schedule_mw"]).pivot(index="resource", columns="hour",
                                                          values="self_schedule_mw")
        for h in sv.columns:
            col = sv[h].dropna()
            ss.loc[col.index, h] = col.to_numpy()
    # energy bids
    eb = t["energy_bids"].copy()
    eb["side"] = [s or ("demand" if res.at[r, "type"] in DEMAND_TYPES else "supply")
                  for r, s in zip(eb["resource"], eb["side"])]
    supply: dict[str, list] = {}
    demand: dict[str, list] = {}
    for (r, side), g in eb.sort_values(["resource", "side", "segment"]).groupby(["resource", "side"], sort=True):
        segs = [(float(w), float(c)) for w, c in zip(g["mw"], g["price_usd_per_mwh"]) if w > 0]
        (supply if side == "supply" else demand)[r] = segs
    avail = {}
    ab = t.get("availability_bids")
    if ab is not None:
        for r, prod, mw, c, iso in zip(ab["resource"], ab["product"], ab["mw"],
                                       ab["price_usd_per_mwh"], ab["iso_inserted"]):
            avail[(r, prod)] = (float(mw), float(c), bool(iso))
    thermal = (t["thermal"].set_index("resource").sort_index() if "thermal" in t
               else pd.DataFrame())
    tiers: dict[str, list] = {}
    sc = t.get("startup_costs")
    if sc is not None and len(sc):
        for r, g in sc.sort_values(["resource", "tier"]).groupby("resource", sort=True):
            tiers[r] = [(int(a), float(c)) for a, c in zip(g["after_offline_h"], g["cost_usd"])]
    storage = t["storage"].set_index("resource").sort_index() if "storage" in t else pd.DataFrame()
    hydro = t["hydro"].set_index("resource").sort_index() if "hydro" in t else pd.DataFrame()
    buses = sorted(t["buses"]["bus"])
    dem = t["demand"].pivot_table(index="bus", columns="hour", values="fixed_demand_mw",
                                  aggfunc="sum")
    dem = dem.reindex(index=buses, columns=hours).fillna(0.0)
    bh = t["baa_hours"].set_index(["baa", "hour"]).sort_index()
    itf = t["interfaces"].set_index("interface").sort_index()
    ih = t["interface_hours"].set_index(["interface", "hour"]).sort_index()
    reverse = {}
    for k, row in itf.iterrows():
        rev = itf[(itf["from_baa"] == row["to_baa"]) & (itf["to_baa"] == row["from_baa"])]
        if len(rev):
            reverse[k] = str(rev.index[0])
    curves = _ir_curves(scenario, p)
    br = t["branches"].set_index("branch").sort_index()
    rating = pd.DataFrame(np.repeat(br["rating_mw"].to_numpy()[:, None], len(hours), axis=1),
                          index=br.index, columns=hours)
    bro = t.get("branch_ratings")
    if bro is not None and len(bro):
        for b, h, v in zip(bro["branch"], bro["hour"], bro["rating_mw"]):
            rating.at[b, h] = v
    dep = deployment_constraint_ids(scenario.source_dir, p, t["branches"])
    return MarketData(
        scenario=scenario, params=p, hours=hours, baas=sorted(t["baas"]["baa"]), buses=buses,
        bus_baa=scenario.bus_baa, resources=res, pmax=pmax, self_schedule=ss,
        supply_bids=supply, demand_bids=demand, avail=avail, thermal=thermal,
        startup_tiers=tiers, storage=storage, hydro=hydro, fixed_demand_bus=dem,
        baa_hours=bh, interfaces=itf, interface_hours=ih, ir_curves=curves, branches=br,
        rating=rating, deployment_ids=dep, ldf=scenario.ldf.reindex(buses).fillna(0.0),
        extra={"reverse": reverse})


def _ir_curves(scenario: Scenario, p: MarketParameters) -> dict:
    """IR demand-curve segments per (baa, product, hour), prices clipped to the cap (§5.7).
    Default: one segment of the whole requirement at the cap [A]."""
    cap = p.ir_demand_curve_cap_usd_per_mwh
    out: dict = {}
    bh = scenario.tables["baa_hours"]
    for b, h, ru, rd in zip(bh["baa"], bh["hour"], bh["iru_requirement_mw"], bh["ird_requirement_mw"]):
        out[(b, "iru", int(h))] = [(float(ru), cap)] if ru > 0 else []
        out[(b, "ird", int(h))] = [(float(rd), cap)] if rd > 0 else []
    cur = scenario.tables.get("ir_demand_curves")
    if cur is not None and len(cur):
        for (b, prod, h), g in cur.sort_values("segment").groupby(["baa", "product", "hour"], sort=True):
            out[(b, prod, int(h))] = [(float(w), min(float(c), cap))
                                      for w, c in zip(g["mw"], g["price_usd_per_mwh"]) if w > 0]
    return out
