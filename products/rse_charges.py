"""RSE surcharge charges and distribution credits as settlement lines (spec §7.3–§7.5).

Inputs are the tables of clearing/market/rse.py:
- `rse` (baa, test, hour, …, deficiency_mw, surcharge_usd): only the overall rows, test ``up`` and
  ``down``, carry money;
- `rse_distribution` (direction, hour, baa, pool_usd, net_transfer_mw, share, credit_usd,
  undistributed_usd): one row per BAA, direction and hour; pool_usd and undistributed_usd are
  hour-level values repeated on that hour's rows.

Lines (sign convention of products/settlement_core.py):
- ``rse_surcharge_up`` / ``rse_surcharge_down``: −surcharge_usd to the failing BAA's EDAM entity
  (`baas.entity`, default the BAA id); quantity = the deficiency MW, price = surcharge / deficiency
  (surcharge price × tier factor);
- ``rse_credit_up`` / ``rse_credit_down``: +credit_usd to each passing BAA's entity; quantity =
  its net TSR export (up) / import (down), price = credit / that MW.
Per direction and hour, Σ surcharge lines = the pool and Σ credit lines = pool − undistributed; the
undistributed part is not a line (it is reported in `rse_distribution` and in the pools summary).

Inside CISO [S]: the surcharge is sub-allocated by metered demand and the credit by metered
demand minus balanced ETC/TOR. The BAA chosen by ``rse_suballocate_baa`` gets its lines split over
its SCs pro rata to their metered demand ML (quantity = the SC's ML, price = the BAA amount per MWh
of ML). ETC/TOR is known per BAA only (`baa_hours.etc_tor_mw`); deducted pro rata to ML it leaves
the shares unchanged, so both are split by ML [A]. A BAA-hour without metered demand keeps the
BAA-level line.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from products.settlement_core import charge_lines, exact_split, settlement_table
from scenarios.errors import Problem, ScenarioError

__all__ = ["RSE_REQUIRED", "DISTRIBUTION_REQUIRED", "rse_lines", "rse_pools"]

RSE_REQUIRED = ("baa", "test", "hour", "surcharge_usd")
DISTRIBUTION_REQUIRED = ("direction", "hour", "baa", "pool_usd", "credit_usd", "undistributed_usd")
DIRECTIONS = ("up", "down")


def _check(df: pd.DataFrame, name: str, required: tuple[str, ...]) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ScenarioError([Problem(name, 1, c, "column missing", f"a '{c}' column")
                             for c in missing])


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(len(a), np.nan), where=np.abs(np.nan_to_num(b)) > 1e-9)


def rse_lines(rse: pd.DataFrame | None, rse_distribution: pd.DataFrame | None = None,
              entity: dict[str, str] | None = None, metered: pd.DataFrame | None = None,
              suballocate_baa: str | None = None) -> pd.DataFrame:
    """Settlement lines of the RSE surcharges and their distribution (module docstring).

    `entity`: BAA → EDAM entity (default the BAA id); `metered`: rows (party, baa, hour,
    metered_mw) used to sub-allocate the lines of `suballocate_baa` (None: no sub-allocation)."""
    entity = entity or {}
    frames = []
    if rse is not None and len(rse):
        _check(rse, "rse", RSE_REQUIRED)
        r = rse[rse["test"].astype(str).isin(DIRECTIONS)]
        sur = _num(r, "surcharge_usd")
        keep = np.nan_to_num(sur) != 0.0
        r, sur = r[keep], sur[keep]
        deficiency = _num(r, "deficiency_mw")
        baa = r["baa"].astype(str).to_numpy()
        frames.append(charge_lines(["rse_surcharge_" + str(t) for t in r["test"]],
                                   [entity.get(b) or b for b in baa], baa,
                                   r["hour"].to_numpy(), deficiency, _ratio(sur, deficiency),
                                   -sur, ""))
    if rse_distribution is not None and len(rse_distribution):
        _check(rse_distribution, "rse_distribution", DISTRIBUTION_REQUIRED)
        d = rse_distribution
        credit = _num(d, "credit_usd")
        keep = np.nan_to_num(credit) != 0.0
        d, credit = d[keep], credit[keep]
        mw = _num(d, "net_transfer_mw")
        baa = d["baa"].astype(str).to_numpy()
        frames.append(charge_lines(["rse_credit_" + str(x) for x in d["direction"]],
                                   [entity.get(b) or b for b in baa], baa, d["hour"].to_numpy(),
                                   mw, _ratio(credit, mw), credit, ""))
    lines = settlement_table(frames)
    if suballocate_baa and metered is not None and len(metered) and len(lines):
        lines = _suballocate(lines, str(suballocate_baa), metered)
    return lines


def _suballocate(lines: pd.DataFrame, baa: str, metered: pd.DataFrame) -> pd.DataFrame:
    ml = metered[metered["baa"].astype(str) == baa]
    ml_by = {int(h): g.groupby("party")["metered_mw"].sum().clip(lower=0.0)
             for h, g in ml.groupby("hour")}
    out = []
    for row in lines.itertuples(index=False):
        w = ml_by.get(int(row.hour)) if row.baa == baa else None
        tot = math.fsum(w.to_numpy()) if w is not None else 0.0
        if w is None or tot <= 1e-9:
            out.append(row._asdict())
            continue
        parts = exact_split(row.amount_usd, {str(k): float(v) for k, v in w.items() if v > 0})
        rate = abs(row.amount_usd) / tot
        for party, amt in parts.items():
            out.append(dict(charge=row.charge, party=party, baa=row.baa, hour=row.hour,
                            quantity=float(w[party]), price=rate, amount_usd=amt, resource=""))
    return settlement_table(out)


def rse_pools(rse: pd.DataFrame | None, rse_distribution: pd.DataFrame | None) -> pd.DataFrame:
    """Per direction and hour: surcharged_usd (Σ of the rse up/down rows), pool_usd, credited_usd
    and undistributed_usd (from the distribution) and residual_usd = pool − credited −
    undistributed (0 when the tables agree)."""
    cols = ["direction", "hour", "surcharged_usd", "pool_usd", "credited_usd",
            "undistributed_usd", "residual_usd"]
    parts = []
    if rse is not None and len(rse):
        _check(rse, "rse", RSE_REQUIRED)
        r = rse[rse["test"].astype(str).isin(DIRECTIONS)]
        parts.append(pd.DataFrame({"direction": r["test"].astype(str).to_numpy(),
                                   "hour": r["hour"].astype(np.int64).to_numpy(),
                                   "surcharged_usd": np.nan_to_num(_num(r, "surcharge_usd"))})
                     .groupby(["direction", "hour"]).sum())
    if rse_distribution is not None and len(rse_distribution):
        _check(rse_distribution, "rse_distribution", DISTRIBUTION_REQUIRED)
        d = rse_distribution.assign(direction=rse_distribution["direction"].astype(str),
                                    hour=rse_distribution["hour"].astype(np.int64))
        g = d.groupby(["direction", "hour"])
        parts.append(pd.DataFrame({"pool_usd": g["pool_usd"].max(),
                                   "credited_usd": g["credit_usd"].sum(),
                                   "undistributed_usd": g["undistributed_usd"].max()}))
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, axis=1).fillna(0.0).reset_index()
    for c in ("surcharged_usd", "pool_usd", "credited_usd", "undistributed_usd"):
        if c not in out.columns:
            out[c] = 0.0
    out["residual_usd"] = out["pool_usd"] - out["credited_usd"] - out["undistributed_usd"]
    return out[cols].sort_values(["direction", "hour"], kind="stable").reset_index(drop=True)
