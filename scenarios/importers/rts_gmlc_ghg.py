"""RTS-GMLC with a GHG regulation area (spec §5.13; docs/ghg.md, docs/rts-gmlc-import.md).

`add_ghg_area(scenario, allowance_usd_per_t)` turns an RTS-GMLC day (the bundled scenario or an
`import_rts_gmlc` day) into one with CISO as the GHG regulation area `CA`:

- emission rates (`ghg_emission_rates`) of every thermal unit from the data set's own fields:
  ``Emissions CO2 Lbs/MMBTU`` × the full-load average heat rate (BTU/kWh: HR_avg_0 at
  Output_pct_0, then HR_incr_k on each further block, averaged over Pmax) / 1000 × 0.000453592
  t/lb, in t/MWh (coal steam ≈ 0.9-1.0, gas CC ≈ 0.4, CT ≈ 0.6-0.9, nuclear 0);
- GHG bids (`ghg_bids`) into CA in every hour for every resource outside CISO that can be
  attributed: thermal units at adder = rate × the allowance price ($/t), for their Pmax;
  hydro and VERs (emission 0) at `ZERO_EMISSION_ADDER_USD_PER_MWH` [A] (a small positive adder:
  the public design lets a clean resource bid 0, but a tie at 0 makes the attribution among
  them arbitrary, and a real clean resource's bid reflects the opportunity of selling its
  attribute elsewhere), for their Pmax. Storage and the nuclear unit (must-run, rate 0 but
  always at Pmax) bid too: storage no [A], nuclear as a zero-emission resource.

The bundled scenario is unchanged: the area exists only where this function is called (the
importer's `--ghg-allowance-usd-per-t`, `edam import ... --ghg-allowance-usd-per-t`, the sweep
input variation `ghg_allowance_usd_per_t`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.build import normalise_table
from scenarios.errors import Problem, ScenarioError
from scenarios.scenario import Scenario

GHG_AREA = "CA"
GHG_AREA_BAAS = ("CISO",)
ZERO_EMISSION_ADDER_USD_PER_MWH = 0.5   # [A] hydro, VER and nuclear outside the area
T_PER_LB = 0.000453592
BID_TYPES = ("thermal", "hydro", "ver")


def _data_dir(data_dir: Path | str | None) -> Path:
    from scenarios.importers.rts_gmlc import BUNDLED_DATA_DIR
    return Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR


def full_load_heat_rate_btu_per_kwh(row: pd.Series) -> float:
    """Average heat rate at Pmax (BTU/kWh) from RTS-GMLC's curve: HR_avg_0 on the first
    Output_pct_0 of Pmax, HR_incr_k on each further block (Output_pct_k − Output_pct_{k−1});
    NaN without heat-rate data."""
    pcts = [row.get(f"Output_pct_{k}") for k in range(5)]
    hr0 = row.get("HR_avg_0")
    if pd.isna(hr0) or pd.isna(pcts[0]):
        return float("nan")
    fuel = float(hr0) * float(pcts[0])
    last = float(pcts[0])
    for k in range(1, 5):
        p, hr = pcts[k], row.get(f"HR_incr_{k}")
        if pd.isna(p) or pd.isna(hr) or float(p) <= last:
            continue
        fuel += float(hr) * (float(p) - last)
        last = float(p)
    return fuel / last if last > 0 else float("nan")


def emission_rates_t_per_mwh(data_dir: Path | str | None = None) -> dict[str, float]:
    """GEN UID -> t CO2/MWh of every generator with heat-rate data (module docstring)."""
    gen = pd.read_csv(_data_dir(data_dir) / "SourceData" / "gen.csv")
    out = {}
    for _, row in gen.iterrows():
        hr = full_load_heat_rate_btu_per_kwh(row)
        co2 = row.get("Emissions CO2 Lbs/MMBTU")
        if np.isfinite(hr) and not pd.isna(co2):
            out[str(row["GEN UID"])] = round(float(co2) * hr / 1000.0 * T_PER_LB, 6)
    return out


def ghg_tables(scenario: Scenario, allowance_usd_per_t: float,
               data_dir: Path | str | None = None,
               zero_emission_adder_usd_per_mwh: float = ZERO_EMISSION_ADDER_USD_PER_MWH
               ) -> dict[str, pd.DataFrame]:
    """The `ghg_areas`, `ghg_emission_rates` and `ghg_bids` tables of CISO as GHG area CA
    (module docstring)."""
    if not allowance_usd_per_t >= 0 or not np.isfinite(allowance_usd_per_t):
        raise ScenarioError(Problem("ghg_allowance_usd_per_t", None, None,
                                    repr(allowance_usd_per_t), "a finite price >= 0 ($/t)"))
    baas = set(scenario.tables["baas"]["baa"])
    missing = [b for b in GHG_AREA_BAAS if b not in baas]
    if missing:
        raise ScenarioError(Problem("baas.csv", None, "baa", f"no BAA {missing[0]}",
                                    "an RTS-GMLC scenario (CISO, PACW, PGE)"))
    rates = emission_rates_t_per_mwh(data_dir)
    res = scenario.resource_frame
    rate_rows = [dict(resource=r, emission_rate_t_per_mwh=rates[r])
                 for r in res["resource"] if r in rates and res.set_index("resource").at[r, "type"]
                 == "thermal"]
    rate_of = {d["resource"]: d["emission_rate_t_per_mwh"] for d in rate_rows}
    outside = res[~res["baa"].isin(GHG_AREA_BAAS) & res["type"].isin(BID_TYPES)]
    bids = []
    for r, typ, pmax in zip(outside["resource"], outside["type"], outside["pmax_mw"]):
        rate = rate_of.get(r, 0.0)
        adder = rate * allowance_usd_per_t if rate > 0 else zero_emission_adder_usd_per_mwh
        if typ == "thermal" and r not in rate_of:
            continue   # a thermal unit without emission data: no bid
        bids += [dict(resource=r, area=GHG_AREA, hour=h, adder_usd_per_mwh=round(adder, 4),
                      mw=float(pmax)) for h in scenario.hour_list]
    return {"ghg_areas": normalise_table("ghg_areas", [dict(baa=b, area=GHG_AREA)
                                                       for b in GHG_AREA_BAAS]),
            "ghg_emission_rates": normalise_table("ghg_emission_rates", rate_rows),
            "ghg_bids": normalise_table("ghg_bids", bids)}


def add_ghg_area(scenario: Scenario, allowance_usd_per_t: float,
                 data_dir: Path | str | None = None,
                 zero_emission_adder_usd_per_mwh: float = ZERO_EMISSION_ADDER_USD_PER_MWH
                 ) -> Scenario:
    """`scenario` (an RTS-GMLC day) with CISO as GHG area CA and GHG bids at
    `allowance_usd_per_t` (module docstring), validated."""
    tables = ghg_tables(scenario, allowance_usd_per_t, data_dir,
                        zero_emission_adder_usd_per_mwh)
    return scenario.with_tables(**tables).validate()


def main(date: str, out: str | Path, allowance_usd_per_t: float,
         data_dir: Path | str | None = None, overwrite: bool = False,
         profile: str = "edam") -> Path:
    """Import `date` (scenarios.importers.rts_gmlc.import_rts_gmlc, import `profile`) with CISO
    as a GHG area at `allowance_usd_per_t` and write the folder `out` with a copy of
    NOTICE.md."""
    import shutil

    from clearing.outputs import check_output_target
    from scenarios.importers.rts_gmlc import import_rts_gmlc
    from scenarios.writer import write_scenario

    root = _data_dir(data_dir)
    check_output_target(out, "scenario", overwrite=overwrite, forbid_inside=[root])
    scenario = add_ghg_area(import_rts_gmlc(date, root, profile=profile), allowance_usd_per_t,
                            root)
    path = Path(write_scenario(scenario, out, overwrite=overwrite, forbid_inside=[root]))
    path.chmod(0o755)
    shutil.copyfile(root / "NOTICE.md", path / "NOTICE.md")
    return path


def cli_import(date: str, out: str, allowance_usd_per_t: float, data_dir: str | None = None,
               overwrite: bool = False, profile: str = "edam") -> int:
    """`edam import rts-gmlc ... --ghg-allowance-usd-per-t P`: 0 on success, 2 on bad input."""
    import sys

    from clearing.outputs import OutputPathError
    try:
        path = main(date, out, allowance_usd_per_t, data_dir, overwrite=overwrite,
                    profile=profile)
    except OutputPathError:
        raise
    except (ScenarioError, ValueError, KeyError, FileNotFoundError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: RTS-GMLC import failed: {first}", file=sys.stderr)
        return 2
    print(f"wrote {path} (GHG area {GHG_AREA} = {', '.join(GHG_AREA_BAAS)}, allowance "
          f"${allowance_usd_per_t:g}/t)")
    return 0
