"""The bid of a resource in an hour (spec §2.5; SIBR bids vary by hour): the one lookup that the
clearing engine (clearing/market/data.py, resources, RT), the MPM, the RSE, settlement and the
independent checker all use, so they cannot read the bids two ways.

Day-constant bids sit in `energy_bids` and `availability_bids`; the optional tables
`energy_bids_hourly` and `availability_bids_hourly` replace them hour by hour:

- energy: the rows of (resource, side, hour) in `energy_bids_hourly` are that side's whole curve
  in that hour (every segment of the day curve is replaced, whatever the segment numbers);
  the other side of a storage resource keeps its own curve;
- availability: the row of (resource, product, hour) in `availability_bids_hourly` is that
  product's bid (MW, price, iso_inserted) in that hour;
- an hour without hourly rows keeps the day-constant bid (none if there is none);
- ISO-inserted RCU bids (spec §5.11, `iso_inserted_rcu_bids`): an RA resource
  (`resources.must_offer_ra`) or a certified VER (`resources.rc_certified`) of a type that may
  provide RC, with no RCU bid in an hour (hourly row, else day-constant row), gets an
  RCU bid in that hour for its available capacity Pmax_t (`resource_hours.pmax_mw`, else
  `resources.pmax_mw`: a thermal or hydro unit's hourly Pmax, a storage unit's discharge limit,
  a VER's DA forecast) at `parameters.iso_inserted_rcu_bid_usd_per_mwh` [A], flagged
  `iso_inserted` (its awards are proxy awards, §8.2). "No RCU bid" means no row in force in
  the hour or one of 0 MW (the SC offers nothing); a bid of positive MW is the SC's and is
  never topped up [A]; an hour with Pmax_t = 0 gets no bid.

A blank `side` means supply, or demand for the demand types (export, demand, virtual demand),
as in `energy_bids`. Segments are returned as submitted (sorted by segment number, zero
widths included); readers that ignore zero-width segments filter them themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from scenarios.schema import DEMAND_TYPES

#: types that may hold reliability capacity (the RUC's: clearing/market and
#: products/reliability_capacity; an import only when 15-minute dispatchable)
RC_INSERT_TYPES = ("thermal", "storage", "hydro", "ver", "import")

Curve = tuple[tuple[float, float], ...]  # ((mw, price_usd_per_mwh), ...) by segment


@dataclass(frozen=True)
class AvailabilityBid:
    """One availability bid in one hour (spec §2.5)."""

    mw: float
    price_usd_per_mwh: float
    iso_inserted: bool = False


def resolve_side(side: str, resource_type: str | None) -> str:
    """`supply` or `demand` for a bid row's `side` (blank: demand for the demand types)."""
    if side:
        return side
    return "demand" if resource_type in DEMAND_TYPES else "supply"


class BidBook:
    """Every bid of a scenario, looked up by resource and hour (module docstring)."""

    def __init__(self, hours: int, energy_day: dict, energy_hour: dict, avail_day: dict,
                 avail_hour: dict, avail_inserted: dict | None = None) -> None:
        self.hours = int(hours)
        self._energy_day: dict[tuple[str, str], Curve] = energy_day
        self._energy_hour: dict[tuple[str, str, int], Curve] = energy_hour
        self._avail_day: dict[tuple[str, str], AvailabilityBid] = avail_day
        self._avail_hour: dict[tuple[str, str, int], AvailabilityBid] = avail_hour
        # bids the ISO inserts where the SC bid nothing (§5.11): only in hours without a bid
        self._avail_inserted: dict[tuple[str, str, int], AvailabilityBid] = avail_inserted or {}
        self._frames: dict[str, pd.DataFrame] = {}

    # -- the rule ------------------------------------------------------------------------------
    def energy(self, resource: str, side: str, hour: int) -> Curve:
        """The `side` ("supply"/"demand") curve of `resource` in `hour`: its hourly rows if it
        has any in that hour, else its day-constant curve; () when it has neither."""
        got = self._energy_hour.get((resource, side, hour))
        if got is not None:
            return got
        return self._energy_day.get((resource, side), ())

    def availability(self, resource: str, product: str, hour: int) -> AvailabilityBid | None:
        """The `product` bid of `resource` in `hour`: its hourly row if any, else its
        day-constant bid; the bid the ISO inserted where neither offers MW (RCU of an RA
        resource or certified VER, module docstring); None when it has none."""
        got = self._avail_inserted.get((resource, product, hour))  # only where none is bid
        if got is not None:
            return got
        got = self._avail_hour.get((resource, product, hour))
        if got is not None:
            return got
        return self._avail_day.get((resource, product))

    def inserted_by_engine(self, resource: str, product: str, hour: int) -> bool:
        """Whether the bid in force is one this lookup inserted (no row of the scenario's
        tables holds it; `iso_inserted` rows written in the tables are not)."""
        return (resource, product, hour) in self._avail_inserted

    # -- what exists ---------------------------------------------------------------------------
    @property
    def hour_list(self) -> list[int]:
        return list(range(1, self.hours + 1))

    @property
    def varies_by_hour(self) -> bool:
        """Whether any hourly row is given (bids the ISO inserts are not rows)."""
        return bool(self._energy_hour or self._avail_hour)

    def energy_sides(self) -> list[tuple[str, str]]:
        """(resource, side) pairs with a curve in at least one hour, sorted."""
        keys = set(self._energy_day) | {(r, s) for (r, s, _) in self._energy_hour}
        return sorted(keys)

    def availability_keys(self) -> list[tuple[str, str]]:
        """(resource, product) pairs with a bid in at least one hour, sorted."""
        keys = set(self._avail_day) | {(r, p) for (r, p, _) in self._avail_hour} \
            | {(r, p) for (r, p, _) in self._avail_inserted}
        return sorted(keys)

    def inserted_frame(self) -> pd.DataFrame:
        """The bids this lookup inserted, as rows of `availability_bids_hourly` (resource,
        hour, product, mw, price_usd_per_mwh, iso_inserted = true), sorted: what a reader that
        rewrites bid tables (the MPM) writes to change them."""
        rows = sorted((r, h, p, b.mw, b.price_usd_per_mwh, True)
                      for (r, p, h), b in self._avail_inserted.items())
        return pd.DataFrame(rows, columns=["resource", "hour", "product", "mw",
                                           "price_usd_per_mwh", "iso_inserted"]).astype(
            {"hour": "int64", "mw": "float64", "price_usd_per_mwh": "float64",
             "iso_inserted": "bool"})

    # -- tidy views (for the vectorised readers: RSE, MPM, settlement) ---------------------------
    def energy_frame(self) -> pd.DataFrame:
        """The curve in force in every hour: resource, hour, side, segment (1.. in order),
        mw, price_usd_per_mwh (a copy: the caller may change it)."""
        if "energy" not in self._frames:
            self._frames["energy"] = self._energy_frame()
        return self._frames["energy"].copy()

    def availability_frame(self) -> pd.DataFrame:
        """The bid in force in every hour that has one: resource, hour, product, mw,
        price_usd_per_mwh, iso_inserted (a copy: the caller may change it)."""
        if "availability" not in self._frames:
            self._frames["availability"] = self._availability_frame()
        return self._frames["availability"].copy()

    def _energy_frame(self) -> pd.DataFrame:
        rows = [(r, h, side, s, mw, c) for (r, side) in self.energy_sides()
                for h in self.hour_list
                for s, (mw, c) in enumerate(self.energy(r, side, h), start=1)]
        return pd.DataFrame(rows, columns=["resource", "hour", "side", "segment", "mw",
                                           "price_usd_per_mwh"]).astype(
            {"hour": "int64", "segment": "int64", "mw": "float64", "price_usd_per_mwh": "float64"})

    def _availability_frame(self) -> pd.DataFrame:
        rows = []
        for (r, p) in self.availability_keys():
            for h in self.hour_list:
                b = self.availability(r, p, h)
                if b is not None:
                    rows.append((r, h, p, b.mw, b.price_usd_per_mwh, b.iso_inserted))
        return pd.DataFrame(rows, columns=["resource", "hour", "product", "mw",
                                           "price_usd_per_mwh", "iso_inserted"]).astype(
            {"hour": "int64", "mw": "float64", "price_usd_per_mwh": "float64",
             "iso_inserted": "bool"})


def _curves(df: pd.DataFrame | None, rtype: Mapping[str, str], hourly: bool) -> dict:
    """{(resource, side[, hour]): ((mw, price), ...) sorted by segment}."""
    out: dict = {}
    if df is None or not len(df):
        return out
    side = df["side"] if "side" in df.columns else pd.Series("", index=df.index)
    hours: Iterable = df["hour"] if hourly else [None] * len(df)
    resources = df["resource"].astype(str).tolist()
    sides = [resolve_side(s, rtype.get(r)) for r, s in zip(resources, side.fillna("").astype(str))]
    rows = sorted(zip(resources, sides, hours, df["segment"].astype(int),
                      df["mw"].astype(float), df["price_usd_per_mwh"].astype(float)),
                  key=lambda x: (x[0], x[1], -1 if x[2] is None else int(x[2]), x[3]))
    acc: dict = {}
    for r, s, h, _, mw, c in rows:
        key = (r, s) + (() if h is None else (int(h),))
        acc.setdefault(key, []).append((float(mw), float(c)))
    for key, segs in acc.items():
        out[key] = tuple(segs)
    return out


def _avail(df: pd.DataFrame | None, hourly: bool) -> dict:
    out: dict = {}
    if df is None or not len(df):
        return out
    iso = df["iso_inserted"] if "iso_inserted" in df.columns else pd.Series(False, index=df.index)
    hours: Iterable = df["hour"] if hourly else [None] * len(df)
    for r, p, h, mw, c, i in zip(df["resource"].astype(str), df["product"].astype(str), hours,
                                 df["mw"].astype(float), df["price_usd_per_mwh"].astype(float),
                                 iso):
        key = (r, p) + (() if h is None else (int(h),))
        out[key] = AvailabilityBid(float(mw), float(c), bool(i) if i == i else False)
    return out


def _flag(res: pd.DataFrame, col: str) -> list[bool]:
    """A boolean column of `resources` (False where absent or blank)."""
    if col not in res.columns:
        return [False] * len(res)
    return [bool(v) if v == v and v is not None else False for v in res[col].tolist()]


def pmax_by_hour(tables: Mapping[str, pd.DataFrame], hours: int) -> dict[tuple[str, int], float]:
    """Pmax_t of every resource and hour (spec §2.5): `resource_hours.pmax_mw` where given,
    else `resources.pmax_mw` (a VER's hourly value is its DA forecast F^V; storage: the
    discharge limit)."""
    res = tables["resources"]
    out = {(str(r), h): float(v) for r, v in zip(res["resource"], res["pmax_mw"])
           for h in range(1, int(hours) + 1)}
    rh = tables.get("resource_hours")
    if rh is not None and len(rh) and "pmax_mw" in rh.columns:
        for r, h, v in zip(rh["resource"], rh["hour"], rh["pmax_mw"]):
            if v == v and (str(r), int(h)) in out:
                out[(str(r), int(h))] = float(v)
    return out


def iso_inserted_rcu_bids(tables: Mapping[str, pd.DataFrame], hours: int, price_usd_per_mwh: float,
                          avail_day: Mapping, avail_hour: Mapping
                          ) -> dict[tuple[str, str, int], AvailabilityBid]:
    """The RCU bids the ISO inserts (spec §5.11 [S PO plan]; module docstring): for each RA
    resource (`must_offer_ra`) and certified VER (`rc_certified`) of a type in
    `RC_INSERT_TYPES` (an import only when `fifteen_minute`), in each hour whose submitted RCU
    bid (`avail_hour` row, else `avail_day` row: the tables' bids) is missing or of 0 MW, an
    RCU bid of Pmax_t MW at `price_usd_per_mwh`, `iso_inserted`; none where Pmax_t <= 0.
    {(resource, "rcu", hour): AvailabilityBid}."""
    res = tables.get("resources")
    if res is None or not len(res):
        return {}
    pmax = None
    out: dict[tuple[str, str, int], AvailabilityBid] = {}
    for r, typ, ra, cert, fifteen in zip(res["resource"].astype(str), res["type"].astype(str),
                                         _flag(res, "must_offer_ra"), _flag(res, "rc_certified"),
                                         _flag(res, "fifteen_minute")):
        if typ not in RC_INSERT_TYPES or (typ == "import" and not fifteen):
            continue
        if not (ra or (cert and typ == "ver")):
            continue
        if pmax is None:
            pmax = pmax_by_hour(tables, hours)
        day = avail_day.get((r, "rcu"))
        for h in range(1, int(hours) + 1):
            bid = avail_hour.get((r, "rcu", h), day)
            mw = pmax[(r, h)]
            if (bid is None or bid.mw <= 0) and mw > 0:
                out[(r, "rcu", h)] = AvailabilityBid(mw, float(price_usd_per_mwh), True)
    return out


def bid_book(tables: Mapping[str, pd.DataFrame], hours: int,
             iso_inserted_rcu_price_usd_per_mwh: float = 0.0) -> BidBook:
    """The `BidBook` of a scenario's tables (`energy_bids`, `availability_bids` and the optional
    hourly tables; `resources` resolves blank sides and names the RA resources and certified
    VERs whose missing RCU bids the ISO inserts at `iso_inserted_rcu_price_usd_per_mwh`)."""
    res = tables.get("resources")
    rtype = {} if res is None else dict(zip(res["resource"].astype(str), res["type"].astype(str)))
    day = _avail(tables.get("availability_bids"), False)
    hourly = _avail(tables.get("availability_bids_hourly"), True)
    return BidBook(hours,
                   _curves(tables.get("energy_bids"), rtype, False),
                   _curves(tables.get("energy_bids_hourly"), rtype, True),
                   day, hourly,
                   iso_inserted_rcu_bids(tables, hours, iso_inserted_rcu_price_usd_per_mwh,
                                         day, hourly))
