"""The `Scenario` object: typed, immutable-by-convention tidy tables plus parameters."""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scenarios.parameters import MarketParameters
from scenarios.schema import TABLES

if TYPE_CHECKING:
    from scenarios.bids import BidBook


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
    #: True when the tables passed the loader's rules (load, make_scenario, validate());
    #: False after with_tables/edit until validate() runs (clearing.api.solve runs it)
    validated: bool = field(default=False, repr=False, compare=False)

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
    def bids(self) -> "BidBook":
        """Every bid by resource and hour: day-constant bids with the hourly tables' overrides
        and the RCU bids the ISO inserts for RA resources and certified VERs (scenarios.bids;
        the one lookup of "the bid of resource r in hour t")."""
        from scenarios.bids import bid_book
        return bid_book(self.tables, self.hours,
                        self.parameters.iso_inserted_rcu_bid_usd_per_mwh)

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
        """A copy with parameters updated (names and values checked as in scenario.yaml)."""
        params = self.parameters.with_updates(updates, "parameters")
        same_files = params.deployment_constraint_set == self.parameters.deployment_constraint_set
        return replace(self, parameters=params, validated=self.validated and same_files)

    def with_tables(self, **tables: pd.DataFrame) -> "Scenario":
        """A copy with whole tables replaced (not yet validated: see `validate`)."""
        new = dict(self.tables)
        new.update(tables)
        return replace(self, tables=new, validated=False)

    def validate(self) -> "Scenario":
        """This scenario checked by the loader's rules and messages, as if it had been written
        to a folder (file, row, column, found, expected): returns it with typed, default-filled
        tables, or raises `ScenarioError` listing every problem (scenarios.loader)."""
        from scenarios.loader import validate_scenario
        return validate_scenario(self)

    # -- what-if edits (pure: each returns a new, not yet validated Scenario) -------------------
    def edit(self, table: str, where: dict | None = None, set: dict | None = None,  # noqa: A002
             scale: dict | None = None) -> "Scenario":
        """Edit the rows of `table` matching `where` (column -> value or list of values; all rows
        if None): `set` assigns column -> value, `scale` multiplies column -> factor.
        E.g. ``sc.edit("resources", where={"resource": "G1"}, set={"pmax_mw": 150})``."""
        if table not in self.tables:
            raise KeyError(f"no table {table!r}; tables: {', '.join(sorted(self.tables))}")
        df = self.tables[table].copy()
        mask = pd.Series(True, index=df.index)
        for col, value in (where or {}).items():
            values = value if isinstance(value, (list, tuple, builtins.set)) else [value]
            mask &= df[_column(df, table, col)].isin(list(values))
        for col, value in (set or {}).items():
            df.loc[mask, _column(df, table, col)] = value
        for col, factor in (scale or {}).items():
            c = _column(df, table, col)
            df[c] = df[c].astype(float)
            df.loc[mask, c] = df.loc[mask, c] * float(factor)
        return self.with_tables(**{table: df})

    def scale_load(self, factor: float, baa: str | None = None) -> "Scenario":
        """Load × `factor` (in one BAA or all): `demand.fixed_demand_mw`,
        `baa_hours.demand_forecast_mw` and `baa_hours.metered_demand_mw` (spec §2.2; reserve
        requirements are inputs of their own and stay as they are)."""
        where_bus = None if baa is None else {
            "bus": [b for b, a in self.bus_baa.items() if a == baa]}
        where_baa = None if baa is None else {"baa": baa}
        out = self.edit("demand", where=where_bus, scale={"fixed_demand_mw": factor})
        return out.edit("baa_hours", where=where_baa,
                        scale={"demand_forecast_mw": factor, "metered_demand_mw": factor})

    def scale_etsr(self, factor: float, interface: str | None = None) -> "Scenario":
        """EDAM transfer limits (`interface_hours.limit_mw`, spec §4) × `factor`, on one
        interface or all; 0 closes the transfers."""
        where = None if interface is None else {"interface": interface}
        return self.edit("interface_hours", where=where, scale={"limit_mw": factor})

    def without_resource(self, *resources: str) -> "Scenario":
        """The scenario with `resources` out of service: their rows removed from every table
        with a `resource` column (resources, bids, thermal, storage, hours, ...)."""
        known = set(self.tables["resources"]["resource"])
        unknown = [r for r in resources if r not in known]
        if unknown:
            raise KeyError(f"unknown resource(s) {unknown}")
        new = {name: df[~df["resource"].isin(resources)].reset_index(drop=True)
               for name, df in self.tables.items() if "resource" in df.columns}
        return self.with_tables(**new)

    # -- identity -------------------------------------------------------------------------------
    def input_hash(self, leave_out: tuple[tuple[str, str], ...] = ()) -> str:
        """SHA-256 of the canonical CSV text of every table plus the header fields (not the
        parameters, which the manifest lists separately). A column marked
        `hashed_at_default=False` (added after scenarios existed) is left out while every row
        holds its default, so adding it changed no scenario's hash. `leave_out`: (table,
        column) pairs hashed as if absent whatever their values (the phase-3 RT seed,
        clearing.market.rt_inputs.rt_seed)."""
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.trade_date}|{self.hours}|{self.reference_bus}".encode())
        for t in TABLES:
            if t.name in self.tables:
                df = self.tables[t.name]
                skip = [c.name for c in t.columns if c.name in df.columns
                        and ((t.name, c.name) in leave_out
                             or (not c.hashed_at_default and (df[c.name] == c.default).all()))]
                h.update(t.name.encode())
                h.update(df.drop(columns=skip).to_csv(index=False, lineterminator="\n").encode())
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


def _column(df: pd.DataFrame, table: str, col: str) -> str:
    if col not in df.columns:
        raise KeyError(f"table {table!r} has no column {col!r}; columns: {', '.join(df.columns)}")
    return col
