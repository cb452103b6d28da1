"""RTS-GMLC importer: the NREL three-area test system as a three-BAA EDAM day.

`import_rts_gmlc(date)` reads the bundled copy of RTS-GMLC (``scenarios/data/rts_gmlc``; the
NOTICE.md there travels with every copy) and returns a validated `Scenario` for one trade date of
2020 (the data year). `main(date, out)` writes it as a scenario folder with a copy of NOTICE.md.
Nothing here reads outside the repository. docs/rts-gmlc-import.md is the long form of this
docstring; every number below is a module constant so a what-if can change it.

Profiles: what follows is the 'edam' profile (the default). `import_rts_gmlc(date,
profile="reference")` applies the data set's own reference production-cost choices on top
(`reference_profile`, REFERENCE_CHOICES; docs/rts-gmlc-import.md, "Reference profile").

Mapping (each choice is [A], an engineering assumption of this importer, unless it is a plain
copy of an RTS-GMLC field):

BAAs
    Area 1 -> ``CISO`` (the reference BAA, spec §2.1), area 2 -> ``PACW``, area 3 -> ``PGE``; all
    ``is_edam``; hubs SP15 / COB / MIDC; entity CAISO / PacifiCorp / PGE; NEC off, GHG flag off,
    CF 0. Bus ids keep their RTS number, so area n is the BAA of buses n01..n25.
Network
    Every bus of bus.csv (id as text, name, base kV). Every AC branch of branch.csv with
    reactance ``X`` (p.u.) and rating ``Cont Rating`` (MW, both directions); all monitored,
    enforced in the base case and in RUC. Inter-area AC ties stay in the network (they carry the
    physical flow).
ETSRs
    One directed interface per ordered BAA pair joined by a tie: ``CISO_PACW``, ``PACW_CISO``,
    ``CISO_PGE``, ``PGE_CISO``, ``PACW_PGE``, ``PGE_PACW``. Hourly limit = the sum of the
    continuous ratings of the AC ties between the two areas (the same both ways), plus, for
    CISO<->PGE, the 100 MW of the DC line DC1 (bus 113 -> 316, ``MW Load`` of dc_branch.csv),
    which is not part of the AC network and is represented only as ETSR capacity. Base transfer 0,
    hurdle 0.
Thermal units (CT, CC, STEAM, NUCLEAR)
    Pmin/Pmax, ramp (MW/min, both directions), min up/down rounded *up* to whole hours (>= 1).
    Energy offer: one segment per heat-rate point above Pmin, width (Output_pct_k -
    Output_pct_{k-1}) x Pmax (the widths sum to Pmax - Pmin), price HR_incr_k x fuel price / 1000
    + VOM, made non-decreasing by a running maximum (RTS-GMLC curves already are).
    Min-load cost = HR_avg_0 x Output_pct_0 x Pmax x fuel price / 1000 + VOM x Pmin.
    startup_cost_usd = Start Heat Hot x fuel price + Non Fuel Start Cost. Downtime-dependent tiers
    (startup_costs) when the data are well formed (heats hot <= warm <= cold, times warm <= cold,
    no 9999 sentinel): the warm cost applies after ceil(Start Time Warm Hr) hours off line, the
    cold cost after ceil(Start Time Cold Hr); a threshold at or below the minimum down time folds
    into tier 1 (after_offline_h = min_down_h), so e.g. CTs and CCs, whose data make them cold
    within their minimum down time, get one tier at the cold cost. Start Time Hot Hr is not used
    (it is never above the minimum down time in RTS-GMLC). The nuclear unit's start data are
    sentinels, so it has no tiers. Start-up and shut-down ramps = max(Pmin, min(Pmax, 60 x ramp)).
    Nuclear is must-run. long_start for steam, nuclear and CC; CTs are fast-start (off-line
    non-spin up to Pmax) and not long-start.
Initial state (hour 0)
    A priority list per BAA, using the hour-1 data as the proxy of hour 0: must-run units first,
    then in ascending full-load average cost, units are on until their Pmax covers the hour-1
    forecast plus RU + SR minus the hour-1 VER forecasts and hydro series. On units are at Pmin
    plus an economic fill of the remaining energy (forecast minus VER and hydro), so
    initial_mw is in [Pmin, Pmax]. initial_hours = max(min up, min down) for on units (free to
    stop) and max(min up, min down, 24) for off units (free to start).
VERs
    WIND, PV, RTPV, CSP and the run-of-river unit (ROR) are ``ver`` with the DA series as the
    hourly forecast (resource_hours.pmax_mw), clipped to [0, Pmax]. Energy bids: wind -$5/MWh
    (production-credit-like), utility PV $0, CSP $0, ROR $0, rooftop PV -$10 and not
    dispatchable (must-take). CSP uses its DA ``Natural_Inflow`` (solar field output) clipped to
    its 200 MW Pmax; its 1.2 GWh thermal store is ignored.
Hydro (HYDRO)
    ``hydro`` with hourly pmax = the day's maximum of its DA series (what the unit demonstrably
    can produce that day) and daily_energy_mwh = the sum of the day's series, so the market can
    shift the day's water between hours. Flat energy bid $5/MWh.
Storage (313_STORAGE_1)
    Discharge Pmax 50 MW, charge limit = Pump Load MW (50), SOC 0..Max Volume (0.15 GWh = 150 MWh)
    from storage.csv (head reservoir), initial SOC = Initial Volume (75 MWh), end SOC >= initial.
    Round-trip efficiency 85 % from gen.csv split evenly: sqrt(0.85) each way (0.9 / 0.9 if the
    field is absent). Offer 50 MW at $28, charge bid 50 MW at $21 (a spread above the round-trip
    loss at the trial prices, so it charges at night and discharges in the evening peak).
Skipped
    Synchronous condensers (Pmax 0).
Demand
    The DA regional load of area n is the BAA forecast D^F. It is spread to buses by the bus.csv
    ``MW Load`` shares (also written as load_distribution). The self-scheduled fixed demand is 97 %
    of the forecast in every hour, so the IFM clears below the forecast and RUC buys the gap.
    One price-sensitive demand per BAA at its largest load bus, 2 % of the BAA's daily peak
    forecast at $100/MWh; one 50 MW virtual supply offer at $25/MWh and one 50 MW virtual demand bid
    at $21.5/MWh per BAA at that bus. A trial clearing of 2020-07-09 gave energy prices of about
    $20-23/MWh at night and midday and $25-90/MWh in the evening peak, so each virtual bid
    clears in some hours only.
Requirements (baa_hours)
    Reg_Up / Reg_Down / Flex_Up / Flex_Down are system-wide in RTS-GMLC (one value per hour for
    regions 1-3): RU, RD, IRU, IRD of a BAA are the system value times the BAA's share of the
    hour's total load. Spin_Up_R1..R3 is the SR requirement of the BAA of region 1..3. NR = 50 % of
    SR. All MW.
Availability bids (RTS-GMLC has none)
    MW: RU/RD/SR = min(10 x ramp, Pmax - Pmin) (10-minute products); IRU/IRD = min(15 x ramp,
    Pmax - Pmin) (T^IR = 15 min); NR (CTs only) = Pmax; RCU = Pmax (a unit committed in RUC
    offers all its capacity); RCD = Pmax - Pmin. Prices by technology in `AS_PRICES` (RU highest,
    RC lowest; every AS/RC price <= $250 and IR price <= $55). Hydro and storage offer RU/RD/SR/
    IRU/IRD; wind, utility PV and CSP offer IRU/IRD; rooftop PV, ROR and nuclear offer nothing.
    Resource adequacy: every CC and every 350 MW coal unit is ``must_offer_ra``; their RCU bid is
    ISO-inserted at $0 (RA must-offer). Wind and utility PV get ISO-inserted $0 RCU bids (VER
    must-offer) up to nameplate (the model limits VER RCU by the forecast).
Hourly bids (none)
    RTS-GMLC has no bids and no hourly cost data (fuel prices, heat rates and VOM are static),
    so the importer writes no energy_bids_hourly / availability_bids_hourly: every bid above is
    day-constant. Its hourly series are capacities and requirements, already hourly in
    resource_hours and baa_hours; an availability MW following the VER forecast would change
    nothing, since the stacks, the RSE and the MPM cap it by the hour's forecast anyway.
Scheduling coordinators
    Per BAA: SC_<BAA>_GAS (CC, gas CT), SC_<BAA>_STEAM (coal, oil steam, oil CT, nuclear),
    SC_<BAA>_CLEAN (wind, PV, RTPV, CSP, hydro, ROR, storage), SC_<BAA>_LSE (price-sensitive
    demand), SC_<BAA>_FIN (virtual bids).
RSE inputs
    additional margin 0, RSE-eligible net import 0, metered demand blank; hub price on-peak
    (HE7-HE22) / off-peak: SP15 $48/$32, COB $45/$30, MIDC $42/$28.
Dates
    Any day of 2020 (the data year; every RTS-GMLC day has 24 periods, no DST change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.build import make_scenario
from scenarios.errors import ScenarioError
from scenarios.scenario import Scenario

BUNDLED_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "rts_gmlc"
DEFAULT_DATE = "2020-07-09"
SCENARIO_NAME = "rts_gmlc_edam"
HOURS = 24
DATA_YEAR = 2020

# --- BAAs -------------------------------------------------------------------------------------
AREA_BAA = {1: "CISO", 2: "PACW", 3: "PGE"}
BAA_ENTITY = {"CISO": "CAISO", "PACW": "PacifiCorp", "PGE": "PGE"}
BAA_HUB = {"CISO": "SP15", "PACW": "COB", "PGE": "MIDC"}
REFERENCE_BAA = "CISO"
HUB_PRICE_ON_OFF = {"SP15": (48.0, 32.0), "COB": (45.0, 30.0), "MIDC": (42.0, 28.0)}
ON_PEAK_HOURS = range(7, 23)  # HE7..HE22

# --- demand -----------------------------------------------------------------------------------
FIXED_DEMAND_SHARE = 0.97
PS_DEMAND_SHARE_OF_PEAK = 0.02
PS_DEMAND_PRICE = 100.0
VIRTUAL_MW = 50.0
VIRTUAL_SUPPLY_PRICE = 25.0
VIRTUAL_DEMAND_PRICE = 21.5

# --- requirements -----------------------------------------------------------------------------
NR_SHARE_OF_SPIN = 0.5

# --- energy bids of non-thermal resources ($/MWh) ---------------------------------------------
VER_PRICE = {"wind": -5.0, "pv": 0.0, "rtpv": -10.0, "csp": 0.0, "ror": 0.0}
HYDRO_PRICE = 5.0
STORAGE_DISCHARGE_PRICE = 28.0
STORAGE_CHARGE_PRICE = 21.0
DEFAULT_EFFICIENCY = 0.9

# --- availability bids ($/MWh) by technology --------------------------------------------------
AS_PRICES: dict[str, dict[str, float]] = {
    "gas_cc": dict(ru=7.0, rd=5.0, sr=4.0, iru=3.0, ird=2.0, rcu=1.5, rcd=1.0),
    "gas_ct": dict(ru=9.0, rd=7.0, sr=5.0, nr=3.0, iru=4.0, ird=3.0, rcu=2.0, rcd=1.5),
    "oil_ct": dict(ru=12.0, rd=10.0, sr=8.0, nr=6.0, iru=8.0, ird=6.0, rcu=3.0, rcd=2.5),
    "coal": dict(ru=6.0, rd=5.0, sr=3.5, iru=2.5, ird=2.0, rcu=1.0, rcd=0.75),
    "oil_st": dict(ru=10.0, rd=8.0, sr=6.0, iru=6.0, ird=5.0, rcu=2.5, rcd=2.0),
    "hydro": dict(ru=4.0, rd=3.0, sr=2.0, iru=1.5, ird=1.0),
    "storage": dict(ru=3.0, rd=2.0, sr=2.0, iru=1.0, ird=0.5),
    "wind": dict(iru=2.0, ird=0.5),
    "pv": dict(iru=2.0, ird=0.5),
    "csp": dict(iru=2.0, ird=0.5),
}
AS_MINUTES = 10.0  # RU/RD/SR/NR are 10-minute products (spec §5.6)
IR_MINUTES = 15.0  # T^IR (spec §5.8)
RA_RCU_PRICE = 0.0  # ISO-inserted RA / VER must-offer RCU bid
RA_TECHS = ("gas_cc",)
RA_COAL_MIN_PMAX_MW = 350.0
VER_MUST_OFFER_RCU = ("wind", "pv")

THERMAL_TECHS = ("gas_cc", "gas_ct", "oil_ct", "coal", "oil_st", "nuclear")
VER_TECHS = ("wind", "pv", "rtpv", "csp", "ror")
SC_GROUP = {"gas_cc": "GAS", "gas_ct": "GAS", "coal": "STEAM", "oil_st": "STEAM",
            "oil_ct": "STEAM", "nuclear": "STEAM", "wind": "CLEAN", "pv": "CLEAN",
            "rtpv": "CLEAN", "csp": "CLEAN", "ror": "CLEAN", "hydro": "CLEAN",
            "storage": "CLEAN"}
STARTUP_SENTINEL_H = 9999.0

_SOURCE_CSVS = ("bus", "branch", "dc_branch", "gen", "storage", "reserves",
                "timeseries_pointers", "simulation_objects")


# =============================================================================================
# reading the source
# =============================================================================================
def _read_csv(path: Path) -> pd.DataFrame:
    """Read `path` or, if absent, `path.gz` (files over 1 MB are stored gzipped)."""
    if path.exists():
        return pd.read_csv(path)
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        return pd.read_csv(gz, compression="gzip")
    raise FileNotFoundError(f"RTS-GMLC file not found: {path} (or {gz.name})")


def _resolve_ci(root: Path, rel: str) -> Path:
    """Resolve `rel` under `root` matching each folder name case-insensitively (the pointer
    file says HYDRO/, the data folder is Hydro/)."""
    cur = root
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    for i, part in enumerate(parts):
        cand = cur / part
        if not cand.exists() and cur.is_dir():
            names = {p.name.lower(): p for p in cur.iterdir()}
            hit = names.get(part.lower()) or names.get(part.lower() + ".gz")
            if hit is not None and (i < len(parts) - 1 or not hit.name.endswith(".gz")):
                cand = hit
        cur = cand
    return cur


class _Source:
    """The RTS-GMLC tables and the day's DA series."""

    def __init__(self, data_dir: Path, date: dt.date):
        self.dir = data_dir
        self.date = date
        src = data_dir / "SourceData"
        for name in _SOURCE_CSVS:
            setattr(self, name, _read_csv(src / f"{name}.csv"))
        ptr = self.timeseries_pointers
        self.pointers = ptr[ptr["Simulation"] == "DAY_AHEAD"].copy()
        self._cache: dict[str, pd.DataFrame] = {}

    # -- time series ----------------------------------------------------------------------------
    def _file(self, pointer_path: str) -> pd.DataFrame:
        rel = pointer_path.replace("../timeseries_data_files/", "")
        if rel not in self._cache:
            self._cache[rel] = _read_csv(_resolve_ci(self.dir / "timeseries", rel))
        return self._cache[rel]

    def _day(self, df: pd.DataFrame, column: str | None) -> np.ndarray:
        d = self.date
        day = df[(df["Year"] == d.year) & (df["Month"] == d.month) & (df["Day"] == d.day)]
        if "Period" in df.columns:
            day = day.sort_values("Period")
            if len(day) != HOURS or column not in day.columns:
                raise ValueError(f"RTS-GMLC: no {HOURS}-period DA data for {column} on {d}")
            return day[column].to_numpy(dtype=float)
        # wide layout: one row per day, one column per hour 1..24 (system-wide reserves)
        if len(day) != 1:
            raise ValueError(f"RTS-GMLC: no DA reserve row for {d}")
        return day[[str(h) for h in range(1, HOURS + 1)]].iloc[0].to_numpy(dtype=float)

    def series(self, category: str, obj: str, parameter: str | None = None,
               column: str | None = None) -> np.ndarray:
        """The day's 24 DA values of the series the DAY_AHEAD pointer of (category, obj,
        parameter) names; `column` is the file's column (default: the object id)."""
        p = self.pointers
        sel = (p["Category"] == category) & (p["Object"].astype(str) == str(obj))
        if parameter is not None:
            sel &= p["Parameter"] == parameter
        rows = p[sel]
        if rows.empty:
            raise KeyError(f"RTS-GMLC: no DAY_AHEAD time-series pointer for {category} {obj}")
        df = self._file(rows["Data File"].iloc[0])
        return self._day(df, str(column if column is not None else obj))


# =============================================================================================
# helpers
# =============================================================================================
def _hours_up(x: float) -> int:
    """Whole hours, rounded up, at least 1."""
    return max(1, int(math.ceil(float(x) - 1e-9)))


def _r(x: float, nd: int = 4) -> float:
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def _tech(row: pd.Series) -> str | None:
    ut, fuel = str(row["Unit Type"]).upper(), str(row["Fuel"])
    if ut == "CC":
        return "gas_cc"
    if ut == "CT":
        return "oil_ct" if fuel.lower() == "oil" else "gas_ct"
    if ut == "STEAM":
        return "oil_st" if fuel.lower() == "oil" else "coal"
    if ut == "NUCLEAR":
        return "nuclear"
    if ut in ("HYDRO",):
        return "hydro"
    if ut == "ROR":
        return "ror"
    if ut in ("WIND", "PV", "RTPV", "CSP"):
        return ut.lower()
    if ut == "STORAGE":
        return "storage"
    if ut == "SYNC_COND":
        return None
    raise ValueError(f"RTS-GMLC: unknown Unit Type {ut!r} for {row['GEN UID']}")


def _offer_segments(g: pd.Series) -> tuple[list[float], list[float]]:
    """Energy offer above Pmin: widths (MW) and prices ($/MWh) from the heat-rate curve."""
    pmax, pmin = float(g["PMax MW"]), float(g["PMin MW"])
    fuel, vom = float(g["Fuel Price $/MMBTU"]), float(g.get("VOM", 0.0) or 0.0)
    pts, hrs = [], []
    prev = float(g["Output_pct_0"])
    for k in range(1, 5):
        pc, hr = g.get(f"Output_pct_{k}"), g.get(f"HR_incr_{k}")
        if pc is None or hr is None or pd.isna(pc) or pd.isna(hr) or float(pc) <= prev + 1e-12:
            continue
        pts.append(float(pc))
        hrs.append(float(hr))
        prev = float(pc)
    head = pmax - pmin
    if head <= 1e-9:
        return [], []
    if not pts:  # flat curve at the average heat rate
        pts, hrs = [1.0], [float(g["HR_avg_0"])]
    bps = [pmin] + [p * pmax for p in pts[:-1]] + [pmax]
    widths = [_r(bps[i + 1] - bps[i], 6) for i in range(len(pts))]
    widths[-1] = _r(head - sum(widths[:-1]), 6)
    prices, run = [], -math.inf
    for hr in hrs:
        run = max(run, _r(hr * fuel / 1000.0 + vom, 4))  # running max keeps the offer monotone
        prices.append(run)
    keep = [(w, p) for w, p in zip(widths, prices) if w > 1e-9]
    return [w for w, _ in keep], [p for _, p in keep]


def _startup(g: pd.Series, min_down_h: int) -> tuple[float, list[tuple[int, float]]]:
    """(hot start cost, downtime-dependent tiers or [])."""
    fuel = float(g["Fuel Price $/MMBTU"])
    nonfuel = float(g.get("Non Fuel Start Cost $", 0.0) or 0.0)
    heat = [float(g[f"Start Heat {s} MBTU"]) for s in ("Hot", "Warm", "Cold")]
    tw, tc = float(g["Start Time Warm Hr"]), float(g["Start Time Cold Hr"])
    cost = [_r(h * fuel + nonfuel, 2) for h in heat]
    hot = cost[0]
    well_formed = (heat[0] <= heat[1] <= heat[2] and 0 <= tw <= tc < STARTUP_SENTINEL_H
                   and heat[2] > 0)
    if not well_formed:
        return hot, []
    tiers: list[tuple[int, float]] = [(min_down_h, cost[0])]
    for thr, c in ((tw, cost[1]), (tc, cost[2])):
        h = int(math.ceil(thr - 1e-9))
        if h <= tiers[-1][0]:
            tiers[-1] = (tiers[-1][0], c)  # already reached within the previous tier's time
        elif c > tiers[-1][1]:
            tiers.append((h, c))
    return hot, tiers


# =============================================================================================
# the importer
# =============================================================================================
def import_rts_gmlc(date: str = DEFAULT_DATE, data_dir: Path | str | None = None,
                    profile: str = "edam",
                    reference_choices: tuple[str, ...] | list[str] | None = None) -> Scenario:
    """The RTS-GMLC system on trade date `date` (YYYY-MM-DD, a day of 2020) as a validated
    three-BAA EDAM `Scenario` (mapping: module docstring, docs/rts-gmlc-import.md).

    `profile` 'edam' (the default: the mapping above) or 'reference': the data set's own
    reference production-cost choices (`reference_profile`; docs/rts-gmlc-import.md,
    "Reference profile"); `reference_choices` (a subset of REFERENCE_CHOICES, default all)
    selects which of them the reference profile applies, the others staying 'edam'."""
    if profile not in PROFILES:
        raise ValueError(f"RTS-GMLC: profile {profile!r}: expected one of {', '.join(PROFILES)}")
    sc = _import_edam(date, data_dir)
    if profile == "reference":
        root = Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR
        sc = reference_profile(sc, _Source(root, dt.date.fromisoformat(str(date))),
                               REFERENCE_CHOICES if reference_choices is None
                               else tuple(reference_choices))
    return sc


def _import_edam(date: str, data_dir: Path | str | None) -> Scenario:
    """The 'edam' profile (module docstring)."""
    try:
        day = dt.date.fromisoformat(str(date))
    except ValueError:
        raise ValueError(f"RTS-GMLC: date {date!r} is not YYYY-MM-DD") from None
    if day.year != DATA_YEAR:
        raise ValueError(f"RTS-GMLC: date {date} outside the data year {DATA_YEAR}")
    root = Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR
    src = _Source(root, day)
    hours = np.arange(1, HOURS + 1)

    # ---- BAAs, buses, branches ------------------------------------------------------------
    bus = src.bus.copy()
    bus["baa"] = bus["Area"].map(AREA_BAA)
    if bus["baa"].isna().any():
        raise ValueError("RTS-GMLC: bus.csv has areas outside 1..3")
    bus_baa = dict(zip(bus["Bus ID"].astype(int), bus["baa"]))
    baas = [AREA_BAA[a] for a in sorted(AREA_BAA)]
    baas_tbl = [dict(baa=b, is_edam=True, is_reference=(b == REFERENCE_BAA),
                     entity=BAA_ENTITY[b], ghg_regulated=False, nec_enabled=False,
                     confidence_factor=0.0, hub=BAA_HUB[b]) for b in baas]
    buses_tbl = pd.DataFrame({"bus": bus["Bus ID"].astype(int).astype(str), "baa": bus["baa"],
                              "name": bus["Bus Name"].astype(str),
                              "base_kv": bus["BaseKV"].astype(float)})
    br = src.branch
    branches_tbl = pd.DataFrame({
        "branch": br["UID"].astype(str), "from_bus": br["From Bus"].astype(int).astype(str),
        "to_bus": br["To Bus"].astype(int).astype(str), "reactance_pu": br["X"].astype(float),
        "resistance_pu": br["R"].astype(float),
        "rating_mw": br["Cont Rating"].astype(float), "monitored": True, "enforce_base": True,
        "enforce_in_ruc": True})

    # ---- ETSRs: AC ties + DC line ----------------------------------------------------------
    pair_mw: dict[tuple[str, str], float] = {}
    for f, t, mw in zip(br["From Bus"].astype(int), br["To Bus"].astype(int), br["Cont Rating"]):
        a, b = bus_baa[f], bus_baa[t]
        if a != b:
            key = tuple(sorted((a, b)))
            pair_mw[key] = pair_mw.get(key, 0.0) + float(mw)
    for f, t, mw in zip(src.dc_branch["From Bus"].astype(int), src.dc_branch["To Bus"].astype(int),
                        src.dc_branch["MW Load"]):
        a, b = bus_baa[f], bus_baa[t]
        if a != b:
            key = tuple(sorted((a, b)))
            pair_mw[key] = pair_mw.get(key, 0.0) + abs(float(mw))
    itf_tbl, itf_hours = [], []
    for (a, b), mw in sorted(pair_mw.items()):
        for o, e in ((a, b), (b, a)):
            k = f"{o}_{e}"
            itf_tbl.append(dict(interface=k, from_baa=o, to_baa=e, hurdle_usd_per_mwh=0.0))
            itf_hours += [dict(interface=k, hour=int(h), limit_mw=mw, base_transfer_mw=0.0)
                          for h in hours]

    # ---- loads and requirements ------------------------------------------------------------
    area_load = {AREA_BAA[a]: src.series("Area", str(a), "MW Load") for a in sorted(AREA_BAA)}
    total_load = sum(area_load.values())
    share_t = {b: area_load[b] / total_load for b in baas}
    sys_req = {name: src.series("Reserve", name)
               for name in ("Reg_Up", "Reg_Down", "Flex_Up", "Flex_Down")}
    spin = {AREA_BAA[a]: src.series("Reserve", f"Spin_Up_R{a}") for a in sorted(AREA_BAA)}
    bus["share"] = bus["MW Load"] / bus.groupby("baa")["MW Load"].transform("sum")
    demand_rows = []
    for _, r in bus.iterrows():
        if r["MW Load"] <= 0:
            continue
        d = FIXED_DEMAND_SHARE * area_load[r["baa"]] * r["share"]
        demand_rows += [dict(bus=str(int(r["Bus ID"])), hour=int(h), fixed_demand_mw=_r(v))
                        for h, v in zip(hours, d)]
    ldf_tbl = pd.DataFrame({"bus": bus["Bus ID"].astype(int).astype(str), "ldf": bus["share"]})
    baa_hours = []
    for b in baas:
        on, off = HUB_PRICE_ON_OFF[BAA_HUB[b]]
        for i, h in enumerate(hours):
            sr = float(spin[b][i])
            baa_hours.append(dict(
                baa=b, hour=int(h), demand_forecast_mw=_r(area_load[b][i]),
                ru_requirement_mw=_r(sys_req["Reg_Up"][i] * share_t[b][i], 3),
                rd_requirement_mw=_r(sys_req["Reg_Down"][i] * share_t[b][i], 3),
                sr_requirement_mw=_r(sr, 3), nr_requirement_mw=_r(NR_SHARE_OF_SPIN * sr, 3),
                iru_requirement_mw=_r(sys_req["Flex_Up"][i] * share_t[b][i], 3),
                ird_requirement_mw=_r(sys_req["Flex_Down"][i] * share_t[b][i], 3),
                additional_margin_mw=0.0, rse_net_import_mw=0.0,
                hub_price_usd_per_mwh=on if h in ON_PEAK_HOURS else off,
                metered_demand_mw=float("nan"), etc_tor_mw=0.0))
    bh = pd.DataFrame(baa_hours).set_index(["baa", "hour"])

    # ---- generators -----------------------------------------------------------------------
    gen = src.gen.copy()
    gen["tech"] = [_tech(r) for _, r in gen.iterrows()]
    gen = gen[gen["tech"].notna()].reset_index(drop=True)
    gen["bus"] = gen["Bus ID"].astype(int).astype(str)
    gen["baa"] = gen["Bus ID"].astype(int).map(bus_baa)
    st_csv = src.storage

    resources, thermal, startup_costs, storage_tbl, hydro_tbl = [], [], [], [], []
    res_hours, energy_bids, avail = [], [], []
    ver_fc: dict[str, np.ndarray] = {}
    hydro_day: dict[str, np.ndarray] = {}
    thermal_info: list[dict] = []

    def add_avail(rid: str, product: str, mw: float, price: float, iso: bool = False) -> None:
        if mw > 1e-6:
            avail.append(dict(resource=rid, product=product, mw=_r(mw, 4),
                              price_usd_per_mwh=price, iso_inserted=iso))

    for _, g in gen.iterrows():
        rid, tech, baa = str(g["GEN UID"]), g["tech"], g["baa"]
        pmax, pmin = float(g["PMax MW"]), float(g["PMin MW"])
        ramp = float(g["Ramp Rate MW/Min"])
        sc = f"SC_{baa}_{SC_GROUP[tech]}"
        base = dict(resource=rid, bus=g["bus"], sc=sc, pmax_mw=pmax, ramp_up_mw_per_min=ramp,
                    ramp_down_mw_per_min=ramp)
        prices = AS_PRICES.get(tech, {})
        if tech in THERMAL_TECHS:
            ra = tech in RA_TECHS or (tech == "coal" and pmax >= RA_COAL_MIN_PMAX_MW)
            resources.append(dict(base, type="thermal", pmin_mw=pmin, must_offer_ra=ra))
            min_up, min_down = _hours_up(g["Min Up Time Hr"]), _hours_up(g["Min Down Time Hr"])
            fuel, vom = float(g["Fuel Price $/MMBTU"]), float(g.get("VOM", 0.0) or 0.0)
            mlc = _r(float(g["HR_avg_0"]) * float(g["Output_pct_0"]) * pmax * fuel / 1000.0
                     + vom * pmin, 2)
            hot, tiers = _startup(g, min_down)
            widths, seg_prices = _offer_segments(g)
            for s, (w, p) in enumerate(zip(widths, seg_prices), start=1):
                energy_bids.append(dict(resource=rid, side="supply", segment=s, mw=w,
                                        price_usd_per_mwh=p))
            for k, (h, c) in enumerate(tiers, start=1):
                startup_costs.append(dict(resource=rid, tier=k, after_offline_h=h, cost_usd=c))
            sramp = _r(max(pmin, min(pmax, 60.0 * ramp)), 4)
            is_ct = tech in ("gas_ct", "oil_ct")
            thermal.append(dict(resource=rid, min_load_cost_usd_per_h=mlc, startup_cost_usd=hot,
                                min_up_h=min_up, min_down_h=min_down, startup_ramp_mw=sramp,
                                shutdown_ramp_mw=sramp, must_run=(tech == "nuclear"),
                                fast_start=is_ct, nonspin_offline_mw=pmax if is_ct else 0.0,
                                long_start=not is_ct))
            full_cost = (mlc + sum(w * p for w, p in zip(widths, seg_prices))) / pmax
            thermal_info.append(dict(resource=rid, baa=baa, pmin=pmin, pmax=pmax,
                                     must_run=(tech == "nuclear"), avg_cost=full_cost,
                                     segs=list(zip(widths, seg_prices)), min_up=min_up,
                                     min_down=min_down))
            head = pmax - pmin
            if tech != "nuclear":
                for prod in ("ru", "rd", "sr"):
                    add_avail(rid, prod, min(AS_MINUTES * ramp, head), prices[prod])
                if "nr" in prices:
                    add_avail(rid, "nr", pmax, prices["nr"])
                for prod in ("iru", "ird"):
                    add_avail(rid, prod, min(IR_MINUTES * ramp, head), prices[prod])
                if ra:
                    add_avail(rid, "rcu", pmax, RA_RCU_PRICE, iso=True)
                else:
                    add_avail(rid, "rcu", pmax, prices["rcu"])
                add_avail(rid, "rcd", head, prices["rcd"])
        elif tech in VER_TECHS:
            if tech == "csp":
                head_store = st_csv[(st_csv["GEN UID"] == rid)]["Storage"]
                obj = str(head_store.iloc[0]) if len(head_store) else rid
                fc = src.series("Generator", obj, "Natural_Inflow", column=rid)
            else:
                fc = src.series("Generator", rid, "PMax MW")
            fc = np.clip(fc, 0.0, pmax)
            ver_fc[rid] = fc
            disp = tech != "rtpv"
            resources.append(dict(base, type="ver", pmin_mw=0.0, dispatchable=disp))
            res_hours += [dict(resource=rid, hour=int(h), pmax_mw=_r(v)) for h, v in zip(hours, fc)]
            energy_bids.append(dict(resource=rid, side="supply", segment=1, mw=pmax,
                                    price_usd_per_mwh=VER_PRICE[tech]))
            if disp:
                for prod in ("iru", "ird"):
                    if prod in prices:
                        add_avail(rid, prod, min(IR_MINUTES * ramp, pmax), prices[prod])
                if tech in VER_MUST_OFFER_RCU:
                    add_avail(rid, "rcu", pmax, RA_RCU_PRICE, iso=True)
        elif tech == "hydro":
            series = np.clip(src.series("Generator", rid, "PMax MW"), 0.0, pmax)
            hydro_day[rid] = series
            cap = _r(float(series.max()))
            resources.append(dict(base, type="hydro", pmin_mw=0.0))
            res_hours += [dict(resource=rid, hour=int(h), pmax_mw=cap) for h in hours]
            hydro_tbl.append(dict(resource=rid, daily_energy_mwh=_r(float(series.sum()))))
            energy_bids.append(dict(resource=rid, side="supply", segment=1, mw=pmax,
                                    price_usd_per_mwh=HYDRO_PRICE))
            for prod in ("ru", "rd", "sr"):
                add_avail(rid, prod, min(AS_MINUTES * ramp, cap), prices[prod])
            for prod in ("iru", "ird"):
                add_avail(rid, prod, min(IR_MINUTES * ramp, cap), prices[prod])
        elif tech == "storage":
            rows = st_csv[(st_csv["GEN UID"] == rid)]
            head_rows = rows[rows["position"].astype(str).str.lower() == "head"] \
                if "position" in rows.columns else rows
            srow = (head_rows if len(head_rows) else rows).iloc[0]
            emax = float(srow["Max Volume GWh"]) * 1000.0
            e0 = float(srow["Initial Volume GWh"]) * 1000.0
            rte = float(g.get("Storage Roundtrip Efficiency", 0) or 0)
            rte = rte / 100.0 if rte > 1 else rte  # gen.csv gives percent
            eff = _r(math.sqrt(rte), 6) if rte > 0 else DEFAULT_EFFICIENCY
            pch = float(g.get("Pump Load MW", 0) or 0) or pmax
            resources.append(dict(base, type="storage", pmin_mw=0.0))
            storage_tbl.append(dict(resource=rid, charge_max_mw=pch, soc_min_mwh=0.0,
                                    soc_max_mwh=_r(emax), soc_initial_mwh=_r(e0),
                                    soc_end_min_mwh=_r(e0), charge_efficiency=eff,
                                    discharge_efficiency=eff))
            energy_bids.append(dict(resource=rid, side="supply", segment=1, mw=pmax,
                                    price_usd_per_mwh=STORAGE_DISCHARGE_PRICE))
            energy_bids.append(dict(resource=rid, side="demand", segment=1, mw=pch,
                                    price_usd_per_mwh=STORAGE_CHARGE_PRICE))
            add_avail(rid, "ru", min(AS_MINUTES * ramp, pmax), prices["ru"])
            add_avail(rid, "sr", min(AS_MINUTES * ramp, pmax), prices["sr"])
            add_avail(rid, "rd", min(AS_MINUTES * ramp, pch), prices["rd"])
            add_avail(rid, "iru", min(IR_MINUTES * ramp, pmax), prices["iru"])
            add_avail(rid, "ird", min(IR_MINUTES * ramp, pch), prices["ird"])

    # ---- demand-side and virtual bids -------------------------------------------------------
    for b in baas:
        bb = bus[bus["baa"] == b].sort_values(["MW Load", "Bus ID"], ascending=[False, True])
        site = str(int(bb["Bus ID"].iloc[0]))
        ps_mw = _r(PS_DEMAND_SHARE_OF_PEAK * float(area_load[b].max()), 1)
        for rid, typ, sc, mw, price in (
                (f"{b}_PSD_{site}", "demand", f"SC_{b}_LSE", ps_mw, PS_DEMAND_PRICE),
                (f"{b}_VS_{site}", "virtual_supply", f"SC_{b}_FIN", VIRTUAL_MW,
                 VIRTUAL_SUPPLY_PRICE),
                (f"{b}_VD_{site}", "virtual_demand", f"SC_{b}_FIN", VIRTUAL_MW,
                 VIRTUAL_DEMAND_PRICE)):
            resources.append(dict(resource=rid, type=typ, bus=site, sc=sc, pmin_mw=0.0,
                                  pmax_mw=mw))
            side = "supply" if typ == "virtual_supply" else "demand"
            energy_bids.append(dict(resource=rid, side=side, segment=1, mw=mw,
                                    price_usd_per_mwh=price))

    # ---- initial commitment (priority list on hour-1 data) ----------------------------------
    init = _initial_state(thermal_info, baas, bh, gen, ver_fc, hydro_day)
    for row in thermal:
        row.update(init[row["resource"]])

    tables = {
        "baas": baas_tbl, "buses": buses_tbl, "branches": branches_tbl,
        "interfaces": itf_tbl, "interface_hours": itf_hours, "resources": resources,
        "thermal": thermal, "startup_costs": startup_costs, "storage": storage_tbl,
        "hydro": hydro_tbl, "resource_hours": res_hours, "energy_bids": energy_bids,
        "availability_bids": avail, "demand": demand_rows, "baa_hours": baa_hours,
        "load_distribution": ldf_tbl,
    }
    commit = ""
    sc_file = root / "SOURCE_COMMIT"
    if sc_file.exists():
        commit = sc_file.read_text().split()[0] if sc_file.read_text().split() else ""
    meta = {"source": "RTS-GMLC (NREL / DOE / Alliance); see NOTICE.md",
            "source_commit": commit, "importer": "scenarios.importers.rts_gmlc",
            "source_date": day.isoformat(), "notice": "NOTICE.md"}
    desc = (f"RTS-GMLC three-area test system (NREL) as three EDAM BAAs: area 1 = CISO "
            f"(reference), area 2 = PACW, area 3 = PGE; day-ahead data of {day.isoformat()}. "
            f"Mapping and assumptions: docs/rts-gmlc-import.md.")
    return make_scenario(tables, name=SCENARIO_NAME, trade_date=day.isoformat(), hours=HOURS,
                         description=desc, metadata=meta)


# =============================================================================================
# the reference profile (docs/rts-gmlc-import.md, "Reference profile")
# =============================================================================================
PROFILES = ("edam", "reference")
#: the reference production-cost setup's choices, each one switchable (benchmarks/rts_profiles.py
#: reverts them one at a time)
REFERENCE_CHOICES = ("demand", "hydro", "storage", "reserves", "reliability_capacity",
                     "renewable_offers")
#: reserves.csv "Eligible Device SubCategories" of every DA product, as importer technologies
REFERENCE_RESERVE_TECHS = ("gas_ct", "gas_cc", "oil_ct", "oil_st", "coal", "pv", "wind", "csp")
#: the reference products mapped onto ours (Spin_Up_Rn -> SR of area n's BAA; Reg_Up/Down ->
#: RU/RD; Flex_Up/Down -> IRU/IRD); NR, RCU and RCD have no reference counterpart
REFERENCE_PRODUCTS = ("ru", "rd", "sr", "iru", "ird")


def fixed_series_units(src: "_Source") -> list[str]:
    """The units whose DAY_AHEAD PMin and PMax pointers name the same series: the reference
    runs them at that series (HYDRO, the ROR unit 201_HYDRO_4, rooftop PV)."""
    p = src.pointers[src.pointers["Category"] == "Generator"]
    lo = p[p["Parameter"] == "PMin MW"].set_index("Object")["Data File"]
    hi = p[p["Parameter"] == "PMax MW"].set_index("Object")["Data File"]
    return sorted(str(o) for o in lo.index if o in hi.index and lo[o] == hi[o])


def _gen_tech(src: "_Source") -> dict[str, str]:
    return {str(g["GEN UID"]): t for _, g in src.gen.iterrows()
            if (t := _tech(g)) is not None}


def reference_profile(sc: Scenario, src: "_Source", choices: tuple[str, ...]) -> Scenario:
    """The 'edam' scenario `sc` with the reference production-cost choices `choices` applied
    [A] (docs/rts-gmlc-import.md, "Reference profile", table by table):

    demand
        fixed demand = the full DA forecast (100 %, not 97 %) spread by the bus shares; no
        price-sensitive demand, no virtual bids (the resources and their bids are removed).
    hydro
        every unit whose DA PMin and PMax pointers name the same series (`fixed_series_units`:
        the 19 HYDRO units, the ROR unit 201_HYDRO_4, rooftop PV) runs at that series: a
        HYDRO unit by resource_hours pmax_mw = self_schedule_mw = the series; ROR (a VER at
        its series already) made must-take (not dispatchable), as rooftop PV already is.
    storage
        the two storage.csv objects: 313_STORAGE_1 dispatched on cost (discharge offer and
        charge bid $0: it moves energy whenever the price spread covers its losses, as a
        production-cost model does); the CSP plant, which the data set gives a 1.2 GWh head
        storage fed by its Natural_Inflow, as an energy-limited resource (hydro type, Pmax
        200 MW in every hour, daily energy = the day's inflow, offer $0) that can move the
        day's solar energy between hours.
    reserves
        the DA products of simulation_objects.csv (Reg_Up, Reg_Down, Spin_Up R1-R3, Flex_Up,
        Flex_Down) as RU, RD, SR, IRU, IRD (requirements as the 'edam' profile already maps
        them); no NR requirement (the reference has no non-spinning product); offers only from
        the eligible technologies of reserves.csv (thermal but nuclear, wind, PV, CSP: not
        hydro, storage, rooftop PV or ROR) at $0 (a production-cost model has no reserve
        bids), MW as the 'edam' profile sizes them.
    reliability_capacity
        no RCU/RCD (an EDAM product the reference does not have): no RC availability bids, no
        RA must-offer or VER certification (the engine would insert RCU bids), and
        run_ruc = false (the reference is one day-ahead unit commitment on the full forecast).
    renewable_offers
        wind and utility PV offered at $0 (wind: not -$5): curtailable at no cost, no
        production credit. Rooftop PV stays must-take at its series in both profiles.
    Validated."""
    unknown = sorted(set(choices) - set(REFERENCE_CHOICES))
    if unknown:
        raise ValueError(f"RTS-GMLC: unknown reference choice(s) {unknown}: expected "
                         f"{', '.join(REFERENCE_CHOICES)}")
    t = {k: v.copy() for k, v in sc.tables.items()}
    tech = _gen_tech(src)
    res = t["resources"]
    params: dict = {}
    if "demand" in choices:
        drop = set(res.loc[res["type"].isin(["demand", "virtual_supply", "virtual_demand"]),
                           "resource"])
        for name in ("resources", "energy_bids", "energy_bids_hourly", "availability_bids",
                     "availability_bids_hourly", "resource_hours"):
            if name in t:
                t[name] = t[name][~t[name]["resource"].isin(drop)].reset_index(drop=True)
        dem, bh = t["demand"], t["baa_hours"].set_index(["baa", "hour"])["demand_forecast_mw"]
        share = t["load_distribution"].set_index("bus")["ldf"]
        baa_of = t["buses"].set_index("bus")["baa"]
        dem["fixed_demand_mw"] = [
            _r(float(bh[(baa_of[b], int(h))]) * float(share[b]))
            for b, h in zip(dem["bus"], dem["hour"])]
        res = t["resources"]
    hours = np.arange(1, HOURS + 1)
    rh = t["resource_hours"]
    if "hydro" in choices:
        rows = []
        for rid in fixed_series_units(src):
            kind = tech.get(rid)
            if kind == "hydro":
                pmax = float(res.loc[res["resource"] == rid, "pmax_mw"].iloc[0])
                series = np.clip(src.series("Generator", rid, "PMax MW"), 0.0, pmax)
                rows += [dict(resource=rid, hour=int(h), pmax_mw=_r(v), self_schedule_mw=_r(v))
                         for h, v in zip(hours, series)]
            elif kind in ("ror", "rtpv"):  # a VER at its series already: made must-take
                res.loc[res["resource"] == rid, "dispatchable"] = False
        fixed = pd.DataFrame(rows)
        rh = pd.concat([rh[~rh["resource"].isin(fixed["resource"])], fixed], ignore_index=True)
    eb = t["energy_bids"]
    if "storage" in choices:
        stor = [r for r, k in tech.items() if k == "storage"]
        eb.loc[eb["resource"].isin(stor), "price_usd_per_mwh"] = 0.0
        for rid in [r for r, k in tech.items() if k == "csp"]:
            pmax = float(res.loc[res["resource"] == rid, "pmax_mw"].iloc[0])
            store = src.storage[src.storage["GEN UID"] == rid]["Storage"]
            inflow = np.clip(src.series("Generator", str(store.iloc[0]) if len(store) else rid,
                                        "Natural_Inflow", column=rid), 0.0, None)
            res.loc[res["resource"] == rid, "type"] = "hydro"
            res.loc[res["resource"] == rid, "dispatchable"] = True
            rh = pd.concat([rh[rh["resource"] != rid], pd.DataFrame(
                [dict(resource=rid, hour=int(h), pmax_mw=pmax) for h in hours])],
                ignore_index=True)
            hy = pd.DataFrame([dict(resource=rid, daily_energy_mwh=_r(float(inflow.sum())))])
            t["hydro"] = pd.concat([t["hydro"], hy], ignore_index=True)
            eb.loc[eb["resource"] == rid, "price_usd_per_mwh"] = 0.0
    if "renewable_offers" in choices:
        ren = [r for r, k in tech.items() if k in ("wind", "pv")]
        eb.loc[eb["resource"].isin(ren), "price_usd_per_mwh"] = 0.0
    ab = t["availability_bids"]
    if "reserves" in choices:
        t["baa_hours"]["nr_requirement_mw"] = 0.0
        ab = ab[~ab["product"].isin(REFERENCE_PRODUCTS + ("nr",))]
        gen = src.gen.set_index(src.gen["GEN UID"].astype(str))
        rows = []
        for rid, k in sorted(tech.items()):
            if k not in REFERENCE_RESERVE_TECHS or rid not in set(res["resource"]):
                continue
            r = res.set_index("resource").loc[rid]
            ramp = float(gen.at[rid, "Ramp Rate MW/Min"])
            head = float(r["pmax_mw"]) - float(r["pmin_mw"])
            for prod, minutes in (("ru", AS_MINUTES), ("rd", AS_MINUTES), ("sr", AS_MINUTES),
                                  ("iru", IR_MINUTES), ("ird", IR_MINUTES)):
                mw = min(minutes * ramp, head)
                if mw > 1e-6:
                    rows.append(dict(resource=rid, product=prod, mw=_r(mw, 4),
                                     price_usd_per_mwh=0.0, iso_inserted=False))
        ab = pd.concat([ab, pd.DataFrame(rows, columns=ab.columns)], ignore_index=True)
    if "reliability_capacity" in choices:
        ab = ab[~ab["product"].isin(["rcu", "rcd"])]
        res["must_offer_ra"] = False
        res["rc_certified"] = False
        params["run_ruc"] = False
    t["availability_bids"] = ab.reset_index(drop=True)
    t["resources"], t["resource_hours"], t["energy_bids"] = res, rh, eb
    meta = dict(sc.metadata, profile="reference", reference_choices=list(choices))
    from dataclasses import replace
    out = replace(sc, tables=t, metadata=meta, validated=False,
                  description=sc.description + " Reference profile: "
                  + ", ".join(choices) + " (docs/rts-gmlc-import.md).")
    if params:
        out = out.with_parameters(**params)
    return out.validate()


def _initial_state(info: list[dict], baas: list[str], bh: pd.DataFrame, gen: pd.DataFrame,
                   ver_fc: dict[str, np.ndarray], hydro_day: dict[str, np.ndarray]
                   ) -> dict[str, dict]:
    """Hour-0 commitment by a priority list per BAA (module docstring)."""
    res_baa = dict(zip(gen["GEN UID"].astype(str), gen["baa"]))
    out: dict[str, dict] = {}
    for b in baas:
        units = [u for u in info if u["baa"] == b]
        units.sort(key=lambda u: (not u["must_run"], u["avg_cost"], u["resource"]))
        other = sum(float(v[0]) for r, v in ver_fc.items() if res_baa[r] == b)
        other += sum(float(v[0]) for r, v in hydro_day.items() if res_baa[r] == b)
        row = bh.loc[(b, 1)]
        energy = max(0.0, float(row["demand_forecast_mw"]) - other)
        need = energy + float(row["ru_requirement_mw"]) + float(row["sr_requirement_mw"])
        on, cap = [], 0.0
        for u in units:
            if u["must_run"] or cap < need:
                on.append(u)
                cap += u["pmax"]
        mw = {u["resource"]: u["pmin"] for u in on}
        rest = energy - sum(mw.values())
        segs = sorted(((p, u["resource"], w) for u in on for w, p in u["segs"]))
        for p, rid, w in segs:
            if rest <= 1e-9:
                break
            take = min(w, rest)
            mw[rid] += take
            rest -= take
        on_ids = {u["resource"] for u in on}
        for u in units:
            rid = u["resource"]
            if rid in on_ids:
                out[rid] = dict(initial_on=True, initial_hours=max(u["min_up"], u["min_down"]),
                                initial_mw=_r(min(u["pmax"], max(u["pmin"], mw[rid])), 4))
            else:
                out[rid] = dict(initial_on=False,
                                initial_hours=max(u["min_up"], u["min_down"], 24),
                                initial_mw=0.0)
    return out


# =============================================================================================
# writing and the command line
# =============================================================================================
def main(date: str = DEFAULT_DATE, out: str | Path = "scenarios/rts_gmlc_edam",
         data_dir: Path | str | None = None, overwrite: bool = False,
         profile: str = "edam") -> Path:
    """Import `date` and write the scenario folder `out` with a copy of NOTICE.md (an earlier
    imported scenario there is replaced only with `overwrite`; anything else is refused)."""
    from clearing.outputs import check_output_target
    from scenarios.writer import write_scenario

    root = Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR
    check_output_target(out, "scenario", overwrite=overwrite, forbid_inside=[root])  # first
    scenario = (import_rts_gmlc(date, root) if profile == "edam"
                else import_rts_gmlc(date, root, profile=profile))
    path = Path(write_scenario(scenario, out, overwrite=overwrite, forbid_inside=[root]))
    path.chmod(0o755)  # the writer's temporary folder is created 0700
    shutil.copyfile(root / "NOTICE.md", path / "NOTICE.md")
    return path


def cli_import(date: str, out: str, data_dir: str | None = None, overwrite: bool = False,
               profile: str = "edam") -> int:
    """CLI entry: import `date` into folder `out`; 0 on success, 2 on bad input (a refused
    output folder raises OutputPathError: `edam` prints it, exit 1)."""
    from clearing.outputs import OutputPathError
    try:
        path = main(date, out, data_dir, overwrite=overwrite, profile=profile)
    except OutputPathError:
        raise
    except (ScenarioError, ValueError, KeyError, FileNotFoundError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: RTS-GMLC import failed: {first}", file=sys.stderr)
        if isinstance(exc, ScenarioError):
            for p in exc.problems[:20]:
                print(f"  - {p}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m scenarios.importers.rts_gmlc",
                                 description="Import one RTS-GMLC day as a three-BAA EDAM scenario")
    ap.add_argument("--date", default=DEFAULT_DATE, help="trade date YYYY-MM-DD in 2020")
    ap.add_argument("--out", default=None, help="output folder (default scenarios/rts_gmlc_edam)")
    ap.add_argument("--data-dir", default=None, help="RTS-GMLC folder (default: bundled copy)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace --out if it holds an earlier imported scenario")
    ap.add_argument("--profile", choices=PROFILES, default="edam",
                    help="edam (default) or reference (the data set's own production-cost "
                         "choices, docs/rts-gmlc-import.md)")
    return ap.parse_args(argv)


if __name__ == "__main__":
    _a = _parse_args()
    _out = _a.out or str(Path(__file__).resolve().parents[1] / SCENARIO_NAME)
    try:
        sys.exit(cli_import(_a.date, _out, _a.data_dir, overwrite=_a.overwrite,
                            profile=_a.profile))
    except ValueError as _exc:  # a refused output folder (clearing.outputs.OutputPathError)
        print(f"error: {_exc}", file=sys.stderr)
        sys.exit(1)
