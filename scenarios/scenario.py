"""The `Scenario` object: typed, immutable-by-convention tidy tables plus parameters."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from scenarios.parameters import MarketParameters
from scenarios.schema import TABLES


@dataclass(frozen=True, eq=False)
class Scenario:
    """A loaded, validated scenario (spec §2). Tables are pandas DataFrames with the schema's
    columns in schema order, sorted by their keys, with a RangeIndex."""

    name: str
    trade_date: str
    hours: int
    tables: dict[str, pd.DataFrame]
    parameters: MarketParameters = field(default_factory=MarketParameters)
    description: str = ""
    reference_bus: str | None = None
    metadata: dict = field(default_factory=dict)
    source_dir: str | None = None  # where it was loaded from (resolves parameter files)

    # -- table access -------------------------------------------------------------------------
    def __getattr__(self, item: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables")
        if tables is not None and item in tables:
            return tables[item]
        raise AttributeError(item)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def hour_list(self) -> list[int]:
        return list(range(1, self.hours + 1))

    # -- derived views (pure) -----------------------------------------------------------------
    @cached_property
    def reference_baa(self) -> str:
        ref = self.tables["baas"].loc[self.tables["baas"]["is_reference"], "baa"]
        return str(ref.iloc[0])

    @cached_property
    def bus_baa(self) -> dict[str, str]:
        b = self.tables["buses"]
        return dict(zip(b["bus"], b["baa"]))

    @cached_property
    def resource_frame(self) -> pd.DataFrame:
        """resources with baa and a default sc filled in."""
        r = self.tables["resources"].copy()
        r["baa"] = r["bus"].map(self.bus_baa)
        r["sc"] = np.where(r["sc"] == "", "SC_" + r["baa"], r["sc"])
        return r

    @cached_property
    def ldf(self) -> pd.Series:
        """Load distribution factor by bus (spec §2.2); default from the day's fixed demand."""
        buses = self.tables["buses"]
        if "load_distribution" in self.tables and len(self.tables["load_distribution"]):
            s = self.tables["load_distribution"].set_index("bus")["ldf"]
            return s.reindex(buses["bus"]).fillna(0.0)
        d = self.tables["demand"].groupby("bus")["fixed_demand_mw"].sum()
        d = d.reindex(buses["bus"]).fillna(0.0)
        baa = buses.set_index("bus")["baa"]
        tot = d.groupby(baa).transform("sum")
        ldf = (d / tot.replace(0.0, np.nan))
        # a BAA with no fixed demand spreads evenly over its buses
        even = 1.0 / baa.groupby(baa).transform("count")
        return ldf.fillna(even).rename("ldf")

    def with_parameters(self, **updates) -> "Scenario":
        return replace(self, parameters=self.parameters.with_updates(updates, "parameters"))

    def with_tables(self, **tables: pd.DataFrame) -> "Scenario":
        new = dict(self.tables)
        new.update(tables)
        return replace(self, tables=new)

    # -- identity -------------------------------------------------------------------------------
    def input_hash(self) -> str:
        """SHA-256 of the canonical CSV text of every table plus the header fields (not the
        parameters, which the manifest lists separately)."""
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.trade_date}|{self.hours}|{self.reference_bus}".encode())
        for t in TABLES:
            if t.name in self.tables:
                h.update(t.name.encode())
                h.update(self.tables[t.name].to_csv(index=False, lineterminator="\n").encode())
        return h.hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        if (self.name, self.trade_date, self.hours, self.parameters, self.description,
                self.reference_bus) != (other.name, other.trade_date, other.hours,
                                        other.parameters, other.description, other.reference_bus):
            return False
        if set(self.tables) != set(other.tables):
            return False
        return all(self.tables[k].equals(other.tables[k]) for k in self.tables)

    __hash__ = None  # type: ignore[assignment]
