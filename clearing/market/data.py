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
    # bids by resource and hour (scenarios.bids: day-constant bids with the hourly overrides)
    supply_curves: dict[tuple[str, int], tuple[tuple[float, float], ...]]  # (r, t) -> ((w, c),)
    demand_curves: dict[tuple[str, int], tuple[tuple[float, float], ...]]
    # (r, prod, t) -> (mw, price, iso_inserted)
    avail_bids: dict[tuple[str, str, int], tuple[float, float, bool]]
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

    # -- bids: "the bid of resource r in hour t" (spec §2.5; scenarios.bids) --------------------
    def supply_bid(self, r: str, t: int) -> tuple[tuple[float, float], ...]:
        """The offer segments (width MW, $/MWh) of `r` in hour `t`, positive widths only; ()
        when it has none that hour (a price taker at $0, docs/market-model.md §2.5)."""
        return self.supply_curves.get((r, t), ())

    def demand_bid(self, r: str, t: int) -> tuple[tuple[float, float], ...]:
        """The bid segments (width MW, $/MWh) of `r` in hour `t` (demand side, storage charge)."""
        return self.demand_curves.get((r, t), ())

    def avail_bid(self, r: str, product: str, t: int) -> tuple[float, float, bool] | None:
        """(mw, price, iso_inserted) of `r`'s `product` bid in hour `t`, None without one."""
        return self.avail_bids.get((r, product, t))

    def avail_mw(self, r: str, product: str, t: int) -> float:
        """The MW `r` offers of `product` in hour `t` (0 without a bid)."""
        got = self.avail_bids.get((r, product, t))
        return got[0] if got is not None else 0.0

    def avail_price(self, r: str, product: str, t: int) -> float:
        """The $/MWh of `r`'s `product` bid in hour `t` (0 without a bid: it has no MW)."""
        got = self.avail_bids.get((r, product, t))
        return got[1] if got is not None else 0.0

    def avail_products(self) -> list[tuple[str, str]]:
        """(resource, product) pairs with a positive MW bid in some hour, sorted."""
        return sorted({(r, p) for (r, p, _), v in self.avail_bids.items() if v[0] > 0})

    def bids_product(self, product: str, types: tuple[str, ...] | None = None) -> list[str]:
        """Resources with a positive `product` bid in some hour, sorted."""
        out = [r for (r, p) in self.avail_products() if p == product]
        if types is not None:
            out = [r for r in out if self.resources.at[r, "type"] in types]
        return out

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
    supply, demand, avail = _bids_by_hour(scenario, hours)
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
        supply_curves=supply, demand_curves=demand, avail_bids=avail, thermal=thermal,
        startup_tiers=tiers, storage=storage, hydro=hydro, fixed_demand_bus=dem,
        baa_hours=bh, interfaces=itf, interface_hours=ih, ir_curves=curves, branches=br,
        rating=rating, deployment_ids=dep, ldf=scenario.ldf.reindex(buses).fillna(0.0),
        extra={"reverse": reverse})


def _bids_by_hour(scenario: Scenario, hours: list[int]) -> tuple[dict, dict, dict]:
    """(supply curves, demand curves, availability bids) per resource and hour from the
    scenario's `BidBook` (scenarios.bids: the hourly tables override the day-constant bids).
    Zero-width segments are dropped (a curve of only zero widths is no bid). A day-constant
    curve is filtered once and shared by the hours that use it."""
    book = scenario.bids
    supply: dict = {}
    demand: dict = {}
    kept: dict[int, tuple] = {}  # id(submitted curve) -> positive segments
    for (r, side) in book.energy_sides():
        out = supply if side == "supply" else demand
        for t in hours:
            curve = book.energy(r, side, t)
            got = kept.get(id(curve))
            if got is None:
                got = kept[id(curve)] = tuple((w, c) for w, c in curve if w > 0)
            if got:
                out[(r, t)] = got
    avail = {}
    for (r, prod) in book.availability_keys():
        for t in hours:
            bid = book.availability(r, prod, t)
            if bid is not None:
                avail[(r, prod, t)] = (bid.mw, bid.price_usd_per_mwh, bid.iso_inserted)
    return supply, demand, avail


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
