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
- an hour without hourly rows keeps the day-constant bid (none if there is none).

A blank `side` means supply, or demand for the demand types (export, demand, virtual demand),
as in `energy_bids`. Segments are returned as submitted (sorted by segment number, zero
widths included); readers that ignore zero-width segments filter them themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from scenarios.schema import DEMAND_TYPES

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
                 avail_hour: dict) -> None:
        self.hours = int(hours)
        self._energy_day: dict[tuple[str, str], Curve] = energy_day
        self._energy_hour: dict[tuple[str, str, int], Curve] = energy_hour
        self._avail_day: dict[tuple[str, str], AvailabilityBid] = avail_day
        self._avail_hour: dict[tuple[str, str, int], AvailabilityBid] = avail_hour
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
        day-constant bid; None when it has neither."""
        got = self._avail_hour.get((resource, product, hour))
        if got is not None:
            return got
        return self._avail_day.get((resource, product))

    # -- what exists ---------------------------------------------------------------------------
    @property
    def hour_list(self) -> list[int]:
        return list(range(1, self.hours + 1))

    @property
    def varies_by_hour(self) -> bool:
        """Whether any hourly row is given."""
        return bool(self._energy_hour or self._avail_hour)

    def energy_sides(self) -> list[tuple[str, str]]:
        """(resource, side) pairs with a curve in at least one hour, sorted."""
        keys = set(self._energy_day) | {(r, s) for (r, s, _) in self._energy_hour}
        return sorted(keys)

    def availability_keys(self) -> list[tuple[str, str]]:
        """(resource, product) pairs with a bid in at least one hour, sorted."""
        keys = set(self._avail_day) | {(r, p) for (r, p, _) in self._avail_hour}
        return sorted(keys)

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


def bid_book(tables: Mapping[str, pd.DataFrame], hours: int) -> BidBook:
    """The `BidBook` of a scenario's tables (`energy_bids`, `availability_bids` and the optional
    hourly tables; `resources` resolves blank sides)."""
    res = tables.get("resources")
    rtype = {} if res is None else dict(zip(res["resource"].astype(str), res["type"].astype(str)))
    return BidBook(hours,
                   _curves(tables.get("energy_bids"), rtype, False),
                   _curves(tables.get("energy_bids_hourly"), rtype, True),
                   _avail(tables.get("availability_bids"), False),
                   _avail(tables.get("availability_bids_hourly"), True))
