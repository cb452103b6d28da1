"""RTS-GMLC real-time inputs for the phase-3 RT run (clearing/market/rt.py, spec §10, §2.7).

`rt_wind_forecast(date)` returns the day's real-time wind of RTS-GMLC (the 5-minute
``timeseries/WIND/REAL_TIME_wind.csv.gz`` of the bundled copy, 288 periods a day) aggregated to
the FMM's fifteen-minute intervals by the mean of each three consecutive periods, as the tidy
table ``resource, hour, interval, forecast_mw`` (hour 1..24, interval 1..4), clipped to
[0, PMax] of gen.csv. These are actuals used as the RT (FMM) VER forecast [A]: RTS-GMLC has no
intra-day forecast.

`write_rt_folder(date, scenario_dir)` writes them as ``<scenario_dir>/rt/ver_forecast.csv``, the
optional RT input folder that clearing/market/rt.py reads (the scenario loader reads only top-level
CSVs, so the folder does not change the scenario itself). Only wind has RT data in the bundled
copy: BAAs and other VERs keep their RT baselines (see clearing/market/rt.py). The scenario writer
replaces the whole scenario folder, so call this after writing the scenario
(`scenarios.importers.rts_gmlc.main`), e.g.::

    from scenarios.importers.rts_gmlc import main
    from scenarios.importers.rts_gmlc_rt import write_rt_folder
    path = main("2020-07-09", "scenarios/rts_gmlc_edam")
    write_rt_folder("2020-07-09", path)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.importers.rts_gmlc import (BUNDLED_DATA_DIR, DATA_YEAR, DEFAULT_DATE, HOURS,
                                          _read_csv, _resolve_ci)

PERIODS_PER_DAY = 288            # 5-minute periods
PERIODS_PER_INTERVAL = 3         # 3 x 5 minutes = one 15-minute FMM interval
INTERVALS_PER_HOUR = 4
RT_SUBFOLDER = "rt"
VER_FILE = "ver_forecast.csv"

__all__ = ["rt_wind_forecast", "write_rt_folder"]


def _rt_pointers(root: Path) -> pd.DataFrame:
    ptr = _read_csv(root / "SourceData" / "timeseries_pointers.csv")
    sel = ptr[(ptr["Simulation"] == "REAL_TIME") & (ptr["Category"] == "Generator")
              & (ptr["Parameter"] == "PMax MW")
              & ptr["Data File"].str.contains("WIND", case=False, na=False)]
    return sel


def rt_wind_forecast(date: str = DEFAULT_DATE, data_dir: Path | str | None = None) -> pd.DataFrame:
    """The day's 15-minute RT wind (MW) per wind unit: columns resource, hour, interval,
    forecast_mw (mean of the three 5-minute values of each interval, clipped to [0, PMax])."""
    try:
        day = dt.date.fromisoformat(str(date))
    except ValueError:
        raise ValueError(f"RTS-GMLC: date {date!r} is not YYYY-MM-DD") from None
    if day.year != DATA_YEAR:
        raise ValueError(f"RTS-GMLC: date {date} outside the data year {DATA_YEAR}")
    root = Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR
    ptr = _rt_pointers(root)
    if ptr.empty:
        raise KeyError("RTS-GMLC: no REAL_TIME wind pointers in timeseries_pointers.csv")
    gen = _read_csv(root / "SourceData" / "gen.csv").set_index("GEN UID")
    frames = []
    cache: dict[str, pd.DataFrame] = {}
    for obj, path in zip(ptr["Object"].astype(str), ptr["Data File"]):
        rel = str(path).replace("../timeseries_data_files/", "")
        if rel not in cache:
            cache[rel] = _read_csv(_resolve_ci(root / "timeseries", rel))
        df = cache[rel]
        sel = df[(df["Year"] == day.year) & (df["Month"] == day.month) & (df["Day"] == day.day)]
        sel = sel.sort_values("Period")
        if len(sel) != PERIODS_PER_DAY or obj not in sel.columns:
            raise ValueError(f"RTS-GMLC: no {PERIODS_PER_DAY}-period REAL_TIME data for {obj} "
                             f"on {day}")
        v = sel[obj].to_numpy(dtype=float).reshape(-1, PERIODS_PER_INTERVAL).mean(axis=1)
        pmax = float(gen.at[obj, "PMax MW"]) if obj in gen.index else np.inf
        v = np.clip(v, 0.0, pmax)
        k = np.arange(len(v))
        frames.append(pd.DataFrame({"resource": obj, "hour": k // INTERVALS_PER_HOUR + 1,
                                    "interval": k % INTERVALS_PER_HOUR + 1,
                                    "forecast_mw": np.round(v, 4)}))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["hour"] <= HOURS]
    return out.sort_values(["resource", "hour", "interval"], kind="stable").reset_index(drop=True)


def write_rt_folder(date: str, scenario_dir: str | Path, data_dir: Path | str | None = None
                    ) -> Path:
    """Write ``<scenario_dir>/rt/ver_forecast.csv`` (RT wind of `date`) for the wind units the
    scenario has; returns the file's path."""
    sd = Path(scenario_dir)
    if not sd.is_dir():
        raise FileNotFoundError(f"scenario folder {sd} does not exist")
    fc = rt_wind_forecast(date, data_dir)
    res_file = sd / "resources.csv"
    if res_file.exists():
        known = set(pd.read_csv(res_file, dtype=str)["resource"])
        fc = fc[fc["resource"].isin(known)]
    out = sd / RT_SUBFOLDER
    out.mkdir(exist_ok=True)
    path = out / VER_FILE
    tmp = out / f".{VER_FILE}.tmp"
    fc.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g")
    tmp.replace(path)
    return path


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m scenarios.importers.rts_gmlc_rt",
                                 description="Write the RT wind of one RTS-GMLC day into a "
                                             "scenario's rt/ folder (phase 3)")
    ap.add_argument("--date", default=DEFAULT_DATE, help="trade date YYYY-MM-DD in 2020")
    ap.add_argument("--scenario", default=None,
                    help="scenario folder (default scenarios/rts_gmlc_edam)")
    ap.add_argument("--data-dir", default=None, help="RTS-GMLC folder (default: bundled copy)")
    return ap.parse_args(argv)


if __name__ == "__main__":
    _a = _parse_args()
    _sd = _a.scenario or str(Path(__file__).resolve().parents[1] / "rts_gmlc_edam")
    try:
        print(f"wrote {write_rt_folder(_a.date, _sd, _a.data_dir)}")
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: RTS-GMLC RT import failed: {exc}", file=sys.stderr)
        sys.exit(2)
