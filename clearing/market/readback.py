"""Reading a solved model back into the results tables, one component at a time
(architecture.md "Results contract"; issue 18: a product is one place).

Each component of a registry (`IFM_COMPONENTS` in clearing/market/ifm.py, `RUC_COMPONENTS` in
clearing/market/engine.py, `RT_COMPONENTS` in clearing/market/rt.py) may have an
``extract(rb)`` that reads its own variables and duals from the solved model and hands back its
part of the tables through the `Readback` it is given:

- `Readback.columns(table, frame)`: columns of a table with one row per key (schedules,
  baa_summary, resource_prices, baa_prices): `frame` holds the table's key columns and the
  component's own columns;
- `Readback.rows(table, frame)`: rows of a table that every component appends to
  (product_prices, binding_constraints, relaxations) or that one component owns (transfers,
  nodal_prices);
- `Readback.slack_relaxations(index, slacks)`: the `relaxations` rows of balance slacks;
- `Readback.memo(name, fn)`: a value several components read (the BAA energy prices π, the
  network congestion per bus), computed once by the component that owns it;
- `Readback.keep(name, value)`: a value a later run needs (the IFM solution the RUC starts
  from) or a later component of the same read-back uses (RT: the energy per resource and
  interval).

A read-back may start from what came before it:

- `given`: the values the run was built from (the RUC: the IFM solution `keep` recorded; RT: its
  plan, the day-ahead awards and the RT load forecast);
- `into`: the tables of an earlier read-back this one adds to (the RUC adds its RC columns and
  rows to the IFM's tables: a column it reads back replaces the earlier one in place, new
  columns follow, rows are appended);
- `intervals_per_hour`: the time grid. The day ahead reads back hours; RT (4) reads back
  `d.hours` = its fifteen-minute intervals k (clearing/market/rt.py publishes them with hour
  and interval), and `hours()` and `hourly(a)` give the hours the settlement inputs are kept
  in.

`assemble()` joins the pieces: column pieces on the table's key, in `COLUMN_ORDER` (the
order the tables have always had; columns a new product adds follow), row pieces one after the
other. The engine only sequences: build, solve, read back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from clearing.market.data import MarketData
from clearing.results import table_keys

#: column order of the tables components fill column-wise (the contract's order, then extras)
COLUMN_ORDER: dict[str, tuple[str, ...]] = {
    "schedules": ("resource", "hour", "baa", "bus", "committed", "energy_mw", "reg_up_mw",
                  "reg_down_mw", "spin_mw", "nonspin_mw", "iru_mw", "ird_mw", "rcu_mw",
                  "rcd_mw", "type", "sc", "soc_mwh", "charge_mw", "discharge_mw"),
    "baa_summary": ("baa", "hour", "demand_mw", "generation_mw", "net_export_mw", "export_mw",
                    "virtual_net_mw", "power_balance_relaxed_mw", "demand_forecast_mw",
                    "iru_requirement_mw", "iru_cleared_mw", "iru_relaxed_mw",
                    "ird_requirement_mw", "ird_cleared_mw", "ird_relaxed_mw"),
    "resource_prices": ("resource", "hour", "baa", "bus", "iru_usd_per_mwh", "ird_usd_per_mwh"),
    "baa_prices": ("baa", "hour", "energy_price", "transfer_component", "elap_price",
                   "ruc_price"),
}
#: columns of the tables components fill row-wise (so an empty table keeps its columns)
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "binding_constraints": ("constraint", "hour", "kind", "shadow_price", "flow_mw", "limit_mw"),
    "relaxations": ("requirement", "baa", "hour", "relaxed_mw", "penalty_usd_per_mwh",
                    "cost_usd"),
    "product_prices": ("baa", "product", "hour", "price_usd_per_mwh"),
}


def value(x) -> float:
    """The value of a Pyomo expression or variable, 0.0 when it has none."""
    val = pyo.value(x, exception=False)
    return 0.0 if val is None else float(val)


@dataclass
class Readback:
    """The solved model (`sm`: clearing.market.ifm.SolvedModel), its data and PTDF, and the pieces of
    the tables the components have read back so far (module docstring)."""

    d: MarketData
    sm: Any
    ptdf: Any
    given: dict = field(default_factory=dict)
    into: dict | None = None
    intervals_per_hour: int = 1
    _columns: dict = field(default_factory=lambda: defaultdict(list))
    _rows: dict = field(default_factory=lambda: defaultdict(list))
    _memo: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)

    @property
    def m(self) -> pyo.ConcreteModel:
        return self.sm.bundle.m

    @property
    def b(self):
        return self.sm.bundle

    def dual(self, con) -> float:
        """Raw dual ∂objective/∂rhs of a constraint (0 when absent)."""
        return float(self.sm.duals.get(con, 0.0))

    # ---- the time grid ------------------------------------------------------------------------
    def hours(self) -> list[int]:
        """The hours the grid's periods fall in, 1..H."""
        return list(range(1, len(self.d.hours) // self.intervals_per_hour + 1))

    def hourly(self, a: np.ndarray) -> np.ndarray:
        """n x K values per period -> n x H means over each hour's periods."""
        n, k = a.shape
        return a.reshape(n, k // self.intervals_per_hour, self.intervals_per_hour).mean(axis=2)

    # ---- the pieces ---------------------------------------------------------------------------
    def columns(self, table: str, frame: pd.DataFrame) -> None:
        self._columns[table].append(frame)

    def rows(self, table: str, frame: pd.DataFrame | list[dict]) -> None:
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame, columns=list(ROW_COLUMNS.get(table, ())) or None)
        self._rows[table].append(frame)

    def slack_relaxations(self, index, slacks) -> None:
        """`relaxations` rows of the balance slacks above 1e-6 MW (spec §4.3): for each (BAA,
        period) of `index` and each (slack variable, requirement name, penalty $/MWh) of
        `slacks`, the MW relaxed and its cost."""
        rows = []
        for (a, t) in index:
            for var, name, pen in slacks:
                v = value(var[a, t])
                if v > 1e-6:
                    rows.append(dict(requirement=name, baa=a, hour=t, relaxed_mw=v,
                                     penalty_usd_per_mwh=pen, cost_usd=v * pen))
        self.rows("relaxations", rows)

    def memo(self, name: str, fn: Callable[[], Any]) -> Any:
        if name not in self._memo:
            self._memo[name] = fn()
        return self._memo[name]

    def keep(self, name: str, val: Any) -> None:
        self.kept[name] = val

    def assemble(self) -> dict[str, pd.DataFrame]:
        """The tables: column pieces joined on the key, row pieces concatenated; with `into`,
        that read-back's tables with these pieces added (module docstring)."""
        out: dict[str, pd.DataFrame] = dict(self.into or {})
        for table, frames in self._columns.items():
            keys = list(table_keys(table))
            earlier = out.get(table)
            df = frames[0] if earlier is None else earlier
            for f in (frames[1:] if earlier is None else frames):
                df = _join(df, f, keys)
            if earlier is None:
                order = [c for c in COLUMN_ORDER.get(table, ()) if c in df.columns]
                df = df[order + [c for c in df.columns if c not in order]]
            out[table] = df
        for table, frames in self._rows.items():
            earlier = [] if out.get(table) is None else [out[table]]
            full = [f for f in frames if len(f)]
            if earlier and not full:
                continue
            out[table] = (pd.concat(earlier + full, ignore_index=True) if earlier or full
                          else frames[0].iloc[0:0].reset_index(drop=True))
        for table, cols in ROW_COLUMNS.items():
            out.setdefault(table, pd.DataFrame(columns=list(cols)))
        return out


def _join(df: pd.DataFrame, piece: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`df` with the columns of `piece` joined on `keys` (one row per key on both sides); a
    column `df` already has is replaced in its place, new ones follow."""
    new = [c for c in piece.columns if c not in keys]
    order = list(df.columns) + [c for c in new if c not in df.columns]
    df = df.drop(columns=[c for c in new if c in df.columns])
    return df.merge(piece[keys + new], on=keys, how="left", sort=False, validate="1:1")[order]
