"""Phase 3's inputs: the RT load of each BAA and the forecast of each VER per fifteen-minute
interval (spec §2.7; clearing/market/rt.py, module docstring "RT inputs").

From the scenario's optional subfolder ``rt/`` (the scenario loader only reads top-level CSVs)
with ``rt/ver_forecast.csv`` (resource, hour, interval, forecast_mw) and
``rt/demand_forecast.csv`` (baa, hour, interval, demand_mw), validated with a clear error per
file, row and column (`load_rt_folder`); a BAA or VER the folder does not list keeps its
baseline (the BAA's D^F of the hour, the VER's DA forecast of the hour, held over its four
intervals). Without an ``rt/`` folder a seeded AR(1) deviation generator perturbs the baselines
(`generate_rt_forecasts`, seed `rt_seed`) [A].
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from clearing.market.data import MarketData
from scenarios.errors import Problem, ScenarioError
from scenarios.scenario import Scenario

INTERVALS_PER_HOUR = 4
INTERVAL_MINUTES = 15
RT_DIR = "rt"
RT_FILES = {
    "ver_forecast.csv": ("resource", "hour", "interval", "forecast_mw"),
    "demand_forecast.csv": ("baa", "hour", "interval", "demand_mw"),
}
# seeded deviation generator (no rt/ folder) [A]: AR(1) relative deviations around the baselines
DEMAND_DEVIATION_SD = 0.015   # stationary standard deviation of the load deviation
DEMAND_DEVIATION_AR = 0.9     # AR(1) coefficient between consecutive intervals
VER_DEVIATION_SD = 0.08
VER_DEVIATION_AR = 0.95

__all__ = ["RTInputs", "rt_inputs", "load_rt_folder", "generate_rt_forecasts", "rt_seed",
           "interval_k", "INTERVALS_PER_HOUR", "INTERVAL_MINUTES", "RT_DIR"]


@dataclass
class RTInputs:
    """RT forecasts per interval k = 1..K (K = 4·H): `demand` BAA x k (total load of the BAA, MW),
    `ver` VER resource x k (MW); `sources` says where each came from."""

    demand: pd.DataFrame
    ver: pd.DataFrame
    sources: dict = field(default_factory=dict)
    seed: int | None = None
    files: dict = field(default_factory=dict)  # rt file -> sha256


def interval_k(hour: int, interval: int) -> int:
    """The FMM's interval index k = 4·(hour − 1) + interval."""
    return INTERVALS_PER_HOUR * (int(hour) - 1) + int(interval)


#: (table, column) pairs the RT seed's hash leaves out (rt_seed)
RT_SEED_LEAVES_OUT: tuple[tuple[str, str], ...] = (("branches", "resistance_pu"),)


def rt_seed(scenario: Scenario) -> int:
    """The generator's seed: the first 8 bytes of SHA-256(input_hash + '|phase3-rt'), so the same
    inputs always give the same RT day and no parameter is needed.

    The hash leaves out `branches.resistance_pu` (`RT_SEED_LEAVES_OUT`): network resistance
    (used only by the marginal-loss option) does not drive the RT forecast deviations, and
    scenarios written before the column existed, or given it later (the bundled RTS-GMLC day),
    keep their draws."""
    h = hashlib.sha256((scenario.input_hash(leave_out=RT_SEED_LEAVES_OUT)
                        + "|phase3-rt").encode()).digest()
    return int.from_bytes(h[:8], "big")


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float) -> np.ndarray:
    """n values of a stationary AR(1) with standard deviation sd and coefficient phi."""
    out = np.empty(n)
    x = rng.normal(0.0, sd)
    innov = sd * math.sqrt(max(0.0, 1.0 - phi * phi))
    for i in range(n):
        if i:
            x = phi * x + rng.normal(0.0, innov)
        out[i] = x
    return out


def _baselines(scenario: Scenario, d: MarketData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demand baseline (BAA x k: D^F of the hour) and VER baseline (VER x k: DA forecast)."""
    K = INTERVALS_PER_HOUR * len(d.hours)
    cols = list(range(1, K + 1))
    bh = d.baa_hours["demand_forecast_mw"].unstack("hour").reindex(index=d.baas, columns=d.hours)
    dem = pd.DataFrame(np.repeat(bh.fillna(0.0).to_numpy(float), INTERVALS_PER_HOUR, axis=1),
                       index=d.baas, columns=cols)
    vers = d.of_type("ver")
    ver = pd.DataFrame(np.repeat(d.pmax.loc[vers].to_numpy(float).reshape(len(vers), len(d.hours)),
                                 INTERVALS_PER_HOUR, axis=1), index=vers, columns=cols)
    return dem, ver


def generate_rt_forecasts(scenario: Scenario, d: MarketData, seed: int | None = None
                          ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Seeded RT forecasts around the baselines [A]: for each BAA (sorted) the load baseline times
    (1 + e_k), e an AR(1) of standard deviation 1.5 % and coefficient 0.9 over the day's
    intervals; then for each VER (sorted) its DA forecast times (1 + e_k), e an AR(1) of 8 % and
    0.95, clipped to [0, Pmax]. numpy default_rng(seed), seed = `rt_seed(scenario)` unless
    given. Returns (demand BAA x k, ver VER x k, seed)."""
    seed = rt_seed(scenario) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    dem, ver = _baselines(scenario, d)
    K = dem.shape[1]
    for a in dem.index:
        e = _ar1(rng, K, DEMAND_DEVIATION_SD, DEMAND_DEVIATION_AR)
        dem.loc[a] = np.maximum(0.0, dem.loc[a].to_numpy(float) * (1.0 + e))
    pmax = d.resources["pmax_mw"]
    for r in ver.index:
        e = _ar1(rng, K, VER_DEVIATION_SD, VER_DEVIATION_AR)
        ver.loc[r] = np.clip(ver.loc[r].to_numpy(float) * (1.0 + e), 0.0, float(pmax[r]))
    return dem, ver, seed


def _read_rt_csv(path: Path, columns: tuple[str, ...], rel: str) -> tuple[pd.DataFrame | None,
                                                                          list[Problem]]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # empty or unreadable file
        return None, [Problem(rel, None, None, f"an unreadable CSV ({type(exc).__name__}: {exc})",
                              "a CSV with header " + ",".join(columns))]
    df.columns = [str(c).strip() for c in df.columns]
    problems = [Problem(rel, 1, c, "column missing", f"a '{c}' column")
                for c in columns if c not in df.columns]
    problems += [Problem(rel, 1, c, f"unknown column '{c}'", "only " + ", ".join(columns))
                 for c in df.columns if c not in columns]
    return (None if problems else df), problems


def load_rt_folder(scenario: Scenario, rt_dir: str | Path, d: MarketData | None = None
                   ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict]:
    """Read and validate an RT input folder (module docstring). Returns (demand BAA x k or None,
    ver VER x k or None, {file: sha256}). Bad input raises `ScenarioError` naming the file, row
    (header = row 1), column, what was found and what was expected."""
    root = Path(rt_dir)
    H = scenario.hours
    K = INTERVALS_PER_HOUR * H
    problems: list[Problem] = []
    for p in sorted(root.glob("*.csv")):
        if p.name not in RT_FILES:
            problems.append(Problem(f"{RT_DIR}/{p.name}", None, None, "unknown RT input file",
                                    "rt/ver_forecast.csv or rt/demand_forecast.csv"))
    rf = scenario.resource_frame.set_index("resource")
    vers = set(rf.index[rf["type"] == "ver"])
    baas = set(map(str, scenario.tables["baas"]["baa"]))
    out: dict[str, pd.DataFrame | None] = {"ver_forecast.csv": None, "demand_forecast.csv": None}
    files = {}
    for name, cols in RT_FILES.items():
        path = root / name
        if not path.exists():
            continue
        rel = f"{RT_DIR}/{name}"
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        df, probs = _read_rt_csv(path, cols, rel)
        problems += probs
        if df is None:
            continue
        idc, valc = cols[0], cols[3]
        ids = df[idc].str.strip()
        known = vers if idc == "resource" else baas
        expect_id = "a VER (type ver) of the scenario" if idc == "resource" else "a BAA of the scenario"
        rows_ok = np.ones(len(df), dtype=bool)
        for i, v in enumerate(ids):
            if v not in known:
                what = (f"'{v}' (type {rf.at[v, 'type']})" if idc == "resource" and v in rf.index
                        else f"unknown {idc} '{v}'")
                problems.append(Problem(rel, i + 2, idc, what, expect_id))
                rows_ok[i] = False
        hour = pd.to_numeric(df["hour"].str.strip(), errors="coerce")
        itv = pd.to_numeric(df["interval"].str.strip(), errors="coerce")
        val = pd.to_numeric(df[valc].str.strip(), errors="coerce")
        for i in np.flatnonzero((hour.isna() | (hour != np.floor(hour)) | (hour < 1)
                                 | (hour > H)).to_numpy()):
            problems.append(Problem(rel, int(i) + 2, "hour", repr(df["hour"].iloc[i]),
                                    f"an integer hour 1..{H}"))
            rows_ok[i] = False
        for i in np.flatnonzero((itv.isna() | (itv != np.floor(itv)) | (itv < 1)
                                 | (itv > INTERVALS_PER_HOUR)).to_numpy()):
            problems.append(Problem(rel, int(i) + 2, "interval", repr(df["interval"].iloc[i]),
                                    f"an integer interval 1..{INTERVALS_PER_HOUR} (15 minutes each)"))
            rows_ok[i] = False
        for i in np.flatnonzero((val.isna() | ~np.isfinite(val.fillna(0.0)) | (val < 0)).to_numpy()):
            problems.append(Problem(rel, int(i) + 2, valc, repr(df[valc].iloc[i]),
                                    "a number >= 0 (MW)"))
            rows_ok[i] = False
        if idc == "resource":
            for i in np.flatnonzero(rows_ok):
                r = ids.iloc[i]
                cap = float(rf.at[r, "pmax_mw"])
                if val.iloc[i] > cap + 1e-6:
                    problems.append(Problem(rel, int(i) + 2, valc, repr(df[valc].iloc[i]),
                                            f"at most the VER's pmax_mw {cap:g}"))
                    rows_ok[i] = False
        ok = np.flatnonzero(rows_ok)
        if not len(ok):
            continue
        tab = pd.DataFrame({"id": ids.iloc[ok].to_numpy(),
                            "k": [interval_k(h, j) for h, j in zip(hour.iloc[ok], itv.iloc[ok])],
                            "v": val.iloc[ok].to_numpy(float), "row": ok + 2})
        dup = tab.duplicated(["id", "k"], keep="first")
        for _, r in tab[dup].iterrows():
            problems.append(Problem(rel, int(r["row"]), idc, f"a second row for '{r['id']}' "
                                    f"hour {(r['k'] - 1) // 4 + 1} interval {(r['k'] - 1) % 4 + 1}",
                                    "one row per id, hour and interval"))
        tab = tab[~dup]
        wide = tab.pivot(index="id", columns="k", values="v").reindex(columns=range(1, K + 1))
        for rid, row in wide.iterrows():
            missing = [k for k, v in row.items() if v != v]
            if missing:
                first = missing[0]
                problems.append(Problem(rel, None, idc, f"'{rid}' without a value for "
                                        f"{len(missing)} of {K} intervals (first: hour "
                                        f"{(first - 1) // 4 + 1} interval {(first - 1) % 4 + 1})",
                                        f"every hour 1..{H} and interval 1..4 for each listed id"))
        wide.index = wide.index.map(str)
        out[name] = wide.sort_index()
    if problems:
        raise ScenarioError(problems[:50] + ([Problem(RT_DIR, None, None,
                                                      f"{len(problems) - 50} more problems",
                                                      "valid RT inputs")]
                                             if len(problems) > 50 else []))
    return out["demand_forecast.csv"], out["ver_forecast.csv"], files


def rt_inputs(scenario: Scenario, d: MarketData, rt_dir: str | Path | None = None) -> RTInputs:
    """The RT forecasts of the run: `rt_dir` (default: the scenario folder's ``rt/``) when it
    exists — listed ids from its files, the others at their baselines — else the seeded
    generator (`generate_rt_forecasts`)."""
    if rt_dir is None and scenario.source_dir:
        rt_dir = Path(scenario.source_dir) / RT_DIR
    if rt_dir is not None and Path(rt_dir).is_dir():
        dem_in, ver_in, files = load_rt_folder(scenario, rt_dir, d)
        dem, ver = _baselines(scenario, d)
        src = {}
        if dem_in is not None:
            dem.loc[dem_in.index] = dem_in.to_numpy(float)
        if ver_in is not None:
            ver.loc[ver_in.index] = ver_in.to_numpy(float)
        src["demand"] = (f"{RT_DIR}/demand_forecast.csv for {len(dem_in)} of {len(dem)} BAAs"
                         if dem_in is not None else "baseline (demand_forecast_mw)")
        src["ver"] = (f"{RT_DIR}/ver_forecast.csv for {len(ver_in)} of {len(ver)} VERs"
                      if ver_in is not None else "baseline (DA VER forecast)")
        if dem_in is not None and len(dem_in) < len(dem):
            src["demand"] += "; the others at baseline (demand_forecast_mw)"
        if ver_in is not None and len(ver_in) < len(ver):
            src["ver"] += "; the others at baseline (DA forecast)"
        return RTInputs(demand=dem, ver=ver, sources=src, seed=None, files=files)
    dem, ver, seed = generate_rt_forecasts(scenario, d)
    src = {"demand": f"generator: baseline × (1 + AR(1) sd {DEMAND_DEVIATION_SD:g}, "
                     f"phi {DEMAND_DEVIATION_AR:g})",
           "ver": f"generator: DA forecast × (1 + AR(1) sd {VER_DEVIATION_SD:g}, "
                  f"phi {VER_DEVIATION_AR:g}), clipped to [0, Pmax]"}
    return RTInputs(demand=dem, ver=ver, sources=src, seed=seed, files={})
