"""The scenario format: one schema per CSV table (docs/scenario-format.md is generated from it).

A scenario is a folder with `scenario.yaml` and the CSV tables below (spec §2). Each table is
tidy (one row per key). Hours are 1..H (hour-ending). Optional tables may be absent; optional
columns may be absent or blank (blank = the default).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

RESOURCE_TYPES = ("thermal", "ver", "storage", "hydro", "import", "export", "demand",
                  "virtual_supply", "virtual_demand")
SUPPLY_TYPES = ("thermal", "ver", "storage", "hydro", "import", "virtual_supply")
DEMAND_TYPES = ("export", "demand", "virtual_demand")
PHYSICAL_TYPES = ("thermal", "ver", "storage", "hydro", "import", "export", "demand")
PRODUCTS = ("ru", "rd", "sr", "nr", "iru", "ird", "rcu", "rcd")
AS_PRODUCTS = ("ru", "rd", "sr", "nr")

# Bid price limits (spec §2.5): energy floor/cap; IR bid cap; AS and RC bid cap [A].
ENERGY_BID_FLOOR_USD_PER_MWH = -150.0
ENERGY_BID_CAP_USD_PER_MWH = 1000.0
IR_BID_CAP_USD_PER_MWH = 55.0
AS_RC_BID_CAP_USD_PER_MWH = 250.0
MAX_ENERGY_BID_SEGMENTS = 10

# Magnitude bounds (issue 22): a number beyond them is a typo or a unit slip, and near 1e20
# HiGHS treats a coefficient as infinite (or clears at cost_usd = inf). Each column gets the
# bound of its unit unless it states its own; `inf` is accepted only where the column's default
# is inf ("no limit", e.g. ramp rates).
MAX_MW = 1e6                     # MW, MW/min, and signed MW (nec_mw, rse_net_import_mw) both ways
MAX_MWH = 1e8                    # MWh (storage SOC, hydro daily energy)
MAX_PRICE_USD_PER_MWH = 1e5      # $/MWh both ways, where no bid cap is tighter
MAX_USD = 1e10                   # $ (start-up costs)
MAX_USD_PER_H = 1e8              # $/h (minimum-load cost) both ways
MAX_HOURS = 8760                 # h (minimum up/down, hours in the initial state)
MAX_REACTANCE_PU = 1e6           # p.u.
MAX_KV = 1e4                     # kV
MAX_SEGMENTS = 1000              # IR demand-curve segments, start-up tiers
_UNIT_BOUNDS = {"MW": (-MAX_MW, MAX_MW), "MW/min": (None, MAX_MW), "MWh": (None, MAX_MWH),
                "$/MWh": (-MAX_PRICE_USD_PER_MWH, MAX_PRICE_USD_PER_MWH),
                "$": (-MAX_USD, MAX_USD), "$/h": (-MAX_USD_PER_H, MAX_USD_PER_H),
                "h": (None, MAX_HOURS), "p.u.": (None, MAX_REACTANCE_PU), "kV": (None, MAX_KV)}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "bool"
    required: bool = True
    default: object = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""
    ref: tuple[str, str] | None = None  # (table, column) it must exist in
    #: False for an optional column added after scenarios existed: `Scenario.input_hash` leaves
    #: it out while every row holds its default, so the hash (run ids, the phase-3 RT seed) of
    #: a scenario that does not use it stays what it was
    hashed_at_default: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = True
    doc: str = ""
    hourly: bool = False  # has an 'hour' column that must cover 1..H for every key
    extra: dict = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _hour() -> Column:
    return Column("hour", "int", lo=1, doc="Hour ending, 1..H")


TABLES: tuple[Table, ...] = (
    Table("baas", ("baa",), (
        Column("baa", "str", doc="Balancing authority area id"),
        Column("is_edam", "bool", False, True, doc="Participates in EDAM (RSE, transfers)"),
        Column("is_reference", "bool", False, False,
               doc="The reference BAA whose price is the SMEC (exactly one; default CISO)"),
        Column("entity", "str", False, "", doc="EDAM entity (default: the BAA id); receives the "
               "tier 2 of a generation-only BAA"),
        Column("ghg_regulated", "bool", False, False, doc="GHG-regulated BAA (spec §5.2)"),
        Column("nec_enabled", "bool", False, False,
               doc="Net export constraint active (§5.2); a BAA without ETSRs exports 0, so "
                   "its NEC must be >= 0 and constrains nothing"),
        Column("confidence_factor", "float", False, 0.0, 0, 1,
               doc="CF in the NEC formula: 0 no risk .. 1 max risk"),
        Column("hub", "str", False, "", doc="Trading hub whose index prices the RSE surcharge"),
    ), doc="Balancing authority areas (spec §2.1, §2.2)."),
    Table("buses", ("bus",), (
        Column("bus", "str", doc="Bus id"),
        Column("baa", "str", ref=("baas", "baa"), doc="BAA the bus belongs to"),
        Column("name", "str", False, "", doc="Display name"),
        Column("base_kv", "float", False, float("nan"), 0, unit="kV"),
    ), doc="Network buses (spec §2.3)."),
    Table("branches", ("branch",), (
        Column("branch", "str", doc="Branch (or flowgate) id"),
        Column("from_bus", "str", ref=("buses", "bus")),
        Column("to_bus", "str", ref=("buses", "bus")),
        Column("reactance_pu", "float", lo=1e-9, unit="p.u.", doc="Series reactance (> 0)"),
        Column("resistance_pu", "float", False, 0.0, lo=0, unit="p.u.",
               doc="Series resistance on the `loss_base_mva` base (≥ 0); used only with "
                   "marginal_losses (losses r·f²/base MW)", hashed_at_default=False),
        Column("rating_mw", "float", lo=0, unit="MW",
               doc="Normal rating, each direction; 0 = out of service: no limit is enforced "
                   "on it (its reactance stays in the PTDF)"),
        Column("monitored", "bool", False, True, doc="In the monitored set L"),
        Column("enforce_base", "bool", False, True, doc="In L^base (enforced in the base case)"),
        Column("enforce_in_ruc", "bool", False, True, doc="In L^ruc (enforced in RUC)"),
    ), doc="AC branches modelled as DC (spec §2.3). The deployment-scenario set L^dep is chosen "
       "by the parameter deployment_constraint_set, not by a flag."),
    Table("branch_ratings", ("branch", "hour"), (
        Column("branch", "str", ref=("branches", "branch")),
        _hour(),
        Column("rating_mw", "float", lo=0, unit="MW",
               doc="0 = out of service in that hour (no limit enforced)"),
    ), required=False, doc="Hourly rating overrides (derates)."),
    Table("interfaces", ("interface",), (
        Column("interface", "str", doc="Directed ETSR id (o -> e)"),
        Column("from_baa", "str", ref=("baas", "baa")),
        Column("to_baa", "str", ref=("baas", "baa")),
        Column("hurdle_usd_per_mwh", "float", False, 0.0, unit="$/MWh",
               doc="Hurdle (e.g. simplified GHG cost) on economic transfers"),
    ), doc="EDAM transfer system resources: directed scheduling paths between BAAs (spec §2.4). "
       "A direction the scenario does not declare is an ETSR with limit 0 (spec §5.2): it "
       "carries no energy or IRU of its own, but its row still binds the IRD transferred over "
       "the declared direction (IRD held in the from-BAA for the to-BAA is deployed as a flow "
       "to -> from), so that IRD transfer is at most the scheduled transfer plus the base "
       "transfer. Declare both directions (the reverse with its own limit) to allow more. A "
       "second ETSR for the same direction (parallel ETSRs) holds its IRD transfer to its own "
       "scheduled plus base transfer [A]; the reverse row takes the first one's."),
    Table("interface_hours", ("interface", "hour"), (
        Column("interface", "str", ref=("interfaces", "interface")),
        _hour(),
        Column("limit_mw", "float", lo=0, unit="MW", doc="Hourly ETSR limit X^max"),
        Column("base_transfer_mw", "float", False, 0.0, lo=0, unit="MW",
               doc="Fixed non-economic (base) transfer X^base"),
    ), hourly=True, doc="Hourly ETSR limits and base transfers; every interface needs all hours."),
    Table("resources", ("resource",), (
        Column("resource", "str", doc="Resource id"),
        Column("type", "str", choices=RESOURCE_TYPES),
        Column("bus", "str", ref=("buses", "bus"), doc="Bus (BAA follows from the bus)"),
        Column("sc", "str", False, "", doc="Scheduling coordinator (default SC_<baa>)"),
        Column("pmin_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("pmax_mw", "float", lo=0, unit="MW",
               doc="Maximum output; for storage the discharge limit; for demand/export/virtual "
                   "the largest bid MW"),
        Column("ramp_up_mw_per_min", "float", False, float("inf"), lo=0, unit="MW/min"),
        Column("ramp_down_mw_per_min", "float", False, float("inf"), lo=0, unit="MW/min"),
        Column("must_offer_ra", "bool", False, False,
               doc="Resource adequacy must-offer: without an RCU bid in an hour the ISO "
                   "inserts one for Pmax_t (spec §5.11)"),
        Column("rc_certified", "bool", False, False,
               doc="VER certified for reliability capacity: without an RCU bid in an hour the "
                   "ISO inserts one for its forecast (spec §5.11); other types: ignored",
               hashed_at_default=False),
        Column("dispatchable", "bool", False, True, doc="VER: dispatchable (may provide IR)"),
        Column("fifteen_minute", "bool", False, False,
               doc="Import/export: 15-minute dispatchable (may provide AS/IR) [A]"),
    ), doc="Every resource (spec §2.5). Type-specific data sit in thermal, storage, hydro."),
    Table("thermal", ("resource",), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("min_load_cost_usd_per_h", "float", False, 0.0, unit="$/h", doc="MLC at Pmin"),
        Column("startup_cost_usd", "float", False, 0.0, lo=0, unit="$",
               doc="Start-up cost (hot); see startup_costs for downtime-dependent costs"),
        Column("min_up_h", "int", False, 1, lo=1, unit="h"),
        Column("min_down_h", "int", False, 1, lo=1, unit="h"),
        Column("initial_on", "bool", False, False, doc="On at the end of hour 0"),
        Column("initial_hours", "int", False, 24, lo=0, unit="h",
               doc="Hours in the initial state by the end of hour 0"),
        Column("initial_mw", "float", False, 0.0, lo=0, unit="MW", doc="Output in hour 0"),
        Column("startup_ramp_mw", "float", False, float("nan"), lo=0, unit="MW",
               doc="Most output in a start hour (blank: Pmax)"),
        Column("shutdown_ramp_mw", "float", False, float("nan"), lo=0, unit="MW",
               doc="Most output in the hour before a stop (blank: Pmax)"),
        Column("must_run", "bool", False, False, doc="Self-committed every hour"),
        Column("fast_start", "bool", False, False, doc="May provide off-line non-spin"),
        Column("nonspin_offline_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("long_start", "bool", False, True,
               doc="Commitment fixed from DA in the real-time run (phase 3)"),
    ), required=False, doc="Thermal unit commitment data (spec §2.5, §5.4)."),
    Table("startup_costs", ("resource", "tier"), (
        Column("resource", "str", ref=("thermal", "resource")),
        Column("tier", "int", lo=1, doc="1 = hottest"),
        Column("after_offline_h", "int", lo=1, unit="h",
               doc="This cost applies when off-line at least this long (tier 1 = min_down_h; "
                   "a start after a shorter spell costs tier 1)"),
        Column("cost_usd", "float", lo=0, unit="$"),
    ), required=False, doc="Downtime-dependent start-up costs (non-decreasing in tier)."),
    Table("storage", ("resource",), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("charge_max_mw", "float", lo=0, unit="MW"),
        Column("soc_min_mwh", "float", False, 0.0, lo=0, unit="MWh"),
        Column("soc_max_mwh", "float", lo=0, unit="MWh"),
        Column("soc_initial_mwh", "float", lo=0, unit="MWh"),
        Column("soc_end_min_mwh", "float", False, float("nan"), lo=0, unit="MWh",
               doc="Minimum SOC at the end of the day (blank: none)"),
        Column("charge_efficiency", "float", False, 1.0, 1e-6, 1.0),
        Column("discharge_efficiency", "float", False, 1.0, 1e-6, 1.0),
    ), required=False, doc="Storage (spec §5.10). Discharge limit = resources.pmax_mw."),
    Table("hydro", ("resource",), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("daily_energy_mwh", "float", lo=0, unit="MWh", doc="E^day"),
    ), required=False, doc="Hydro daily energy limits (spec §5.5)."),
    Table("tie_resources", ("resource",), (
        Column("resource", "str", ref=("resources", "resource"),
               doc="An import or export resource scheduled at the tie"),
        Column("tie", "str", doc="Tie (intertie scheduling point) id"),
    ), required=False, doc="Import/export resources by tie (spec §2.5, §5.5): the resources "
       "whose schedules count against the tie's limits in tie_limits.csv. A resource not "
       "listed is on no tie (no limit beyond its own bid)."),
    Table("tie_limits", ("tie", "hour"), (
        Column("tie", "str", ref=("tie_resources", "tie"), doc="Tie of tie_resources.csv"),
        Column("hour", "int", False, 0, lo=0,
               doc="Hour ending 1..H; blank (or 0) = every hour. A row for an hour replaces "
                   "the tie's blank-hour row in that hour"),
        Column("import_limit_mw", "float", False, float("inf"), lo=0, unit="MW",
               doc="TL^imp: Σ imports − Σ exports on the tie at most this (blank: no limit)"),
        Column("export_limit_mw", "float", False, float("inf"), lo=0, unit="MW",
               doc="TL^exp: Σ exports − Σ imports on the tie at most this (blank: no limit)"),
    ), required=False, doc="Import/export tie limits (spec §5.5): per tie and hour, "
       "Σ m − Σ ex ≤ TL^imp and Σ ex − Σ m ≤ TL^exp over the tie's resources "
       "(tie_resources.csv), hard limits on their schedules in the IFM, the RUC and the RT run."),
    Table("resource_hours", ("resource", "hour"), (
        Column("resource", "str", ref=("resources", "resource")),
        _hour(),
        Column("pmax_mw", "float", False, float("nan"), lo=0, unit="MW",
               doc="Hourly Pmax (derate); for a VER the DA forecast F^V"),
        Column("self_schedule_mw", "float", False, float("nan"), lo=0, unit="MW",
               doc="Self-schedule (price taker) MW"),
    ), required=False, doc="Hourly resource data; blank = static value from resources."),
    Table("energy_bids", ("resource", "side", "segment"), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("side", "str", False, "", choices=("", "supply", "demand"),
               doc="supply (offer) or demand (bid; storage charging). Default by type"),
        Column("segment", "int", lo=1, hi=MAX_ENERGY_BID_SEGMENTS),
        Column("mw", "float", lo=0, unit="MW", doc="Segment width (thermal: above Pmin)"),
        Column("price_usd_per_mwh", "float", lo=ENERGY_BID_FLOOR_USD_PER_MWH,
               hi=ENERGY_BID_CAP_USD_PER_MWH, unit="$/MWh"),
    ), doc="Energy bid curves: offers non-decreasing, bids non-increasing in segment (§2.5)."),
    Table("energy_bids_hourly", ("resource", "hour", "side", "segment"), (
        Column("resource", "str", ref=("resources", "resource")),
        _hour(),
        Column("side", "str", False, "", choices=("", "supply", "demand"),
               doc="supply (offer) or demand (bid; storage charging). Default by type"),
        Column("segment", "int", lo=1, hi=MAX_ENERGY_BID_SEGMENTS),
        Column("mw", "float", lo=0, unit="MW", doc="Segment width (thermal: above Pmin)"),
        Column("price_usd_per_mwh", "float", lo=ENERGY_BID_FLOOR_USD_PER_MWH,
               hi=ENERGY_BID_CAP_USD_PER_MWH, unit="$/MWh"),
    ), required=False, doc="Hourly energy bid curves (SIBR bids vary by hour): the rows of a "
       "resource, side and hour are that side's whole curve in that hour and replace its "
       "energy_bids curve there; an hour without rows keeps the energy_bids curve. Offers "
       "non-decreasing, bids non-increasing in segment within each hour (§2.5)."),
    Table("availability_bids", ("resource", "product"), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("product", "str", choices=PRODUCTS),
        Column("mw", "float", lo=0, unit="MW"),
        Column("price_usd_per_mwh", "float", lo=0, hi=AS_RC_BID_CAP_USD_PER_MWH, unit="$/MWh",
               doc="AS and RC <= $250 [A]; IRU/IRD <= $55"),
        Column("iso_inserted", "bool", False, False,
               doc="Bid created by the ISO (RA/VER must-offer RCU): awards are proxy awards"),
    ), required=False, doc="Availability bids for RU, RD, SR, NR, IRU, IRD, RCU, RCD (§2.5)."),
    Table("availability_bids_hourly", ("resource", "hour", "product"), (
        Column("resource", "str", ref=("resources", "resource")),
        _hour(),
        Column("product", "str", choices=PRODUCTS),
        Column("mw", "float", lo=0, unit="MW", doc="Capacity offered in that hour (0: none)"),
        Column("price_usd_per_mwh", "float", lo=0, hi=AS_RC_BID_CAP_USD_PER_MWH, unit="$/MWh",
               doc="AS and RC <= $250 [A]; IRU/IRD <= $55"),
        Column("iso_inserted", "bool", False, False,
               doc="Bid created by the ISO (RA/VER must-offer RCU): awards are proxy awards"),
    ), required=False, doc="Hourly availability bids (SIBR bids vary by hour): the row of a "
       "resource, product and hour replaces its availability_bids row in that hour; an hour "
       "without a row keeps the availability_bids row (or no bid)."),
    Table("demand", ("bus", "hour"), (
        Column("bus", "str", ref=("buses", "bus")),
        _hour(),
        Column("fixed_demand_mw", "float", lo=0, unit="MW", doc="Self-scheduled demand D^fix"),
    ), doc="Fixed (self-scheduled) demand by bus and hour; missing rows are 0."),
    Table("baa_hours", ("baa", "hour"), (
        Column("baa", "str", ref=("baas", "baa")),
        _hour(),
        Column("demand_forecast_mw", "float", lo=0, unit="MW", doc="D^F (RUC, RSE)"),
        Column("ru_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("rd_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("sr_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("nr_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("iru_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("ird_requirement_mw", "float", False, 0.0, lo=0, unit="MW"),
        Column("nec_mw", "float", False, float("nan"), unit="MW",
               doc="Submitted NEC (blank: computed by the §5.2 formula when enabled)"),
        Column("additional_margin_mw", "float", False, 0.0, lo=0, unit="MW",
               doc="AM: in the NEC (§5.2); in the RSE's S4 only with rse_combined_includes_am"),
        Column("rse_net_import_mw", "float", False, 0.0, unit="MW",
               doc="RSE-eligible non-EDAM net import NSI"),
        Column("hub_price_usd_per_mwh", "float", False, float("nan"), unit="$/MWh",
               doc="Hub index price for the RSE surcharge (§7.4)"),
        Column("metered_demand_mw", "float", False, float("nan"), lo=0, unit="MW",
               doc="Metered demand ML for settlement (blank: from the RT run or forecast)"),
        Column("etc_tor_mw", "float", False, 0.0, lo=0, unit="MW",
               doc="Balanced ETC/TOR self-schedules (CISO RSE revenue sub-allocation)"),
    ), hourly=True, doc="Per BAA and hour: forecast, requirements, RSE inputs (§2.2)."),
    Table("ir_demand_curves", ("baa", "product", "hour", "segment"), (
        Column("baa", "str", ref=("baas", "baa")),
        Column("product", "str", choices=("iru", "ird")),
        _hour(),
        Column("segment", "int", lo=1),
        Column("mw", "float", lo=0, unit="MW"),
        Column("price_usd_per_mwh", "float", lo=0, unit="$/MWh",
               doc="Non-increasing in segment; clipped to ir_demand_curve_cap_usd_per_mwh"),
    ), required=False, doc="Optional IR demand-curve segments; widths sum to the requirement. "
       "Without them: one segment of the requirement at the cap (§5.7)."),
    Table("noncompetitive_constraints", ("constraint", "hour"), (
        Column("constraint", "str", ref=("branches", "branch"),
               doc="Branch (or flowgate) whose binding rows are non-competitive"),
        Column("hour", "int", False, 0, lo=0,
               doc="Hour ending 1..H; blank (or 0) = every hour"),
    ), required=False, doc="The non-competitive constraints of local market power mitigation "
       "(mpm_mode lmpm, spec §5.12), supplied instead of tested: when this table is given "
       "(even empty), a binding base, deployment-scenario or RUC row of a listed branch and "
       "hour is non-competitive and every other binding row is competitive; without it the "
       "pivotal-supplier test on counter-flow decides (docs/market-model.md §5.12)."),
    Table("ghg_areas", ("baa",), (
        Column("baa", "str", ref=("baas", "baa"), doc="A BAA of the area (each BAA in at most "
               "one area: the key)"),
        Column("area", "str", doc="GHG regulation area id (e.g. CA, WA)"),
    ), required=False, doc="GHG regulation areas (spec §5.13): which BAAs each area holds. "
       "Energy transferred into an area is attributed to resources outside it that bid in "
       "ghg_bids.csv. Without this table (or with it empty) there is no GHG attribution."),
    Table("ghg_bids", ("resource", "area", "hour"), (
        Column("resource", "str", ref=("resources", "resource"),
               doc="A supply resource (thermal, ver, hydro, storage, import) outside the area"),
        Column("area", "str", ref=("ghg_areas", "area")),
        _hour(),
        Column("adder_usd_per_mwh", "float", lo=0, unit="$/MWh",
               doc="GHG bid adder γ_iat (≥ 0): its cost of being deemed delivered to the area"),
        Column("mw", "float", lo=0, unit="MW",
               doc="Ē_iat: the most MW it is willing to have deemed delivered (0: none)"),
    ), required=False, doc="Hourly GHG bids (spec §5.13): a resource outside a GHG area offers "
       "up to `mw` of its output to be attributed to the area at `adder_usd_per_mwh`. An hour "
       "without a row is no bid (no attribution to that area in that hour)."),
    Table("ghg_emission_rates", ("resource",), (
        Column("resource", "str", ref=("resources", "resource")),
        Column("emission_rate_t_per_mwh", "float", lo=0, hi=10.0, unit="t/MWh",
               doc="CO2 emitted per MWh of output (reporting: attributed emissions)"),
    ), required=False, doc="Emission rates for GHG reporting (spec §5.13): attributed MWh × "
       "rate = the attributed emissions per area and hour. A resource not listed emits 0 t/MWh."),
    Table("ghg_base_schedule", ("resource", "hour"), (
        Column("resource", "str", ref=("resources", "resource")),
        _hour(),
        Column("mw", "float", lo=0, unit="MW", doc="Reference output P^ref_it"),
    ), required=False, doc="Supplied GHG reference dispatch (spec §5.13, ghg_reference = "
       "base_schedule, the WEIM 2018 rule): the headroom of resource i in hour t is "
       "max(0, Pmax_it − mw). A resource-hour without a row has P^ref = 0 (all of its Pmax is "
       "headroom). Ignored under the other ghg_reference options."),
    Table("load_distribution", ("bus",), (
        Column("bus", "str", ref=("buses", "bus")),
        Column("ldf", "float", lo=0, hi=1, doc="Load distribution factor; sums to 1 per BAA"),
    ), required=False, doc="LDF (§2.2). Default: each bus's share of its BAA's daily fixed "
       "demand."),
)



def _bounded(c: Column) -> Column:
    """`c` with the magnitude bounds of its unit where it states none (lo only where it has no
    lower bound: a signed quantity). Integer ids without a unit (segment, tier) get
    MAX_SEGMENTS."""
    lo, hi = _UNIT_BOUNDS.get(c.unit, (None, None))
    if c.kind == "int" and not c.unit and c.name != "hour" and c.hi is None:
        hi = MAX_SEGMENTS
    if c.kind not in ("int", "float"):
        return c
    return replace(c, lo=c.lo if c.lo is not None else lo, hi=c.hi if c.hi is not None else hi)


TABLES = tuple(replace(t, columns=tuple(_bounded(c) for c in t.columns)) for t in TABLES)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
