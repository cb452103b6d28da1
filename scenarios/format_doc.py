"""Generate docs/scenario-format.md, the documented scenario format, from the code.

    python -m scenarios.format_doc > docs/scenario-format.md

Every table and column (kind, default, bounds, choices, unit, reference, meaning) comes from
`scenarios.schema`, the scenario.yaml keys from `scenarios.loader.YAML_KEYS`, the accepted
booleans and bid limits from the loader and schema constants, and the parameter table from
`MarketParameters.describe()` (via `scenarios.parameters_doc`). A test compares the committed
document with `render()`, so the document cannot go stale: after changing the schema, rerun
the command above.
"""

from __future__ import annotations

import math
import sys

from scenarios import loader
from scenarios.parameters import MarketParameters
from scenarios.parameters_doc import parameter_table
from scenarios.schema import (AS_PRODUCTS, AS_RC_BID_CAP_USD_PER_MWH, DEMAND_TYPES,
                              ENERGY_BID_CAP_USD_PER_MWH, ENERGY_BID_FLOOR_USD_PER_MWH,
                              IR_BID_CAP_USD_PER_MWH, MAX_ENERGY_BID_SEGMENTS, MAX_HOURS,
                              MAX_MW, MAX_MWH, MAX_PRICE_USD_PER_MWH, MAX_USD, MAX_USD_PER_H,
                              RESOURCE_TYPES,
                              SUPPLY_TYPES, TABLES, Column, Table)

COMMAND = "python -m scenarios.format_doc > docs/scenario-format.md"

KIND = {"str": "text", "int": "integer", "float": "number", "bool": "boolean"}

# scenario.yaml: key -> (type, default, meaning). Must list exactly loader.YAML_KEYS.
YAML_DOC: dict[str, tuple[str, str, str]] = {
    "name": ("identifier", "the folder name", "Scenario name; names the run directory "
             "(`runs/<name>`) and appears in the manifest. Letters, digits, `.`, `_` and `-`, "
             "starting with a letter or digit, at most 100 characters "
             "(`^[A-Za-z0-9][A-Za-z0-9._-]*$`): no path separators, no `..`."),
    "description": ("text", "empty", "Free text describing the scenario and its sources."),
    "trade_date": ("text (YYYY-MM-DD)", "empty", "Trade date of the day-ahead market; a calendar "
                   "date or blank. Quote it (`'2020-07-09'`) to keep it text."),
    "hours": ("integer", "24", "Number of hours H; every `hour` column runs 1..H (hour ending). "
              "24, or 23/25 on daylight-saving days; 1..48 is accepted for hand-solvable cases "
              "and benchmarks."),
    "reference_bus": ("bus id", "the first bus (by id) of the reference BAA",
                      "System reference bus of the PTDFs (spec §2.3); must be a bus of "
                      "buses.csv. Prices do not depend on it, their components do."),
    "parameters": ("mapping", "empty (all defaults)", "Market parameter values, `name: value` "
                   "(see [Parameters](#parameters)); overridden by `--set name=value` on the "
                   "command line and by sweeps."),
    "metadata": ("mapping", "empty", "Free-form information (source, importer, expected "
                 "results of a worked example); kept with the scenario, not validated."),
    "notice": ("text", "none", "Name of the licence or attribution notice file of the data "
               "(e.g. `NOTICE.md`); informational, not part of the loaded scenario."),
}

# Meanings of the columns whose schema entry has no `doc` (the schema's own text wins).
COLUMN_DOC: dict[tuple[str, str], str] = {
    ("buses", "base_kv"): "Nominal voltage (information only)",
    ("branches", "from_bus"): "From bus; positive flow runs from from_bus to to_bus",
    ("branches", "to_bus"): "To bus",
    ("branch_ratings", "branch"): "Branch whose rating is overridden",
    ("branch_ratings", "rating_mw"): "Rating in that hour, each direction",
    ("interfaces", "from_baa"): "Exporting BAA o(k)",
    ("interfaces", "to_baa"): "Importing BAA e(k); different from from_baa",
    ("interface_hours", "interface"): "ETSR",
    ("resources", "type"): "Resource type; thermal, storage and hydro need a row in the "
                           "table of that name",
    ("resources", "pmin_mw"): "Minimum output when on (<= pmax_mw)",
    ("resources", "ramp_up_mw_per_min"): "Ramp-up rate RR^up (blank: unlimited)",
    ("resources", "ramp_down_mw_per_min"): "Ramp-down rate RR^dn (blank: unlimited)",
    ("thermal", "resource"): "A resource of type thermal",
    ("thermal", "min_up_h"): "Minimum up time UT",
    ("thermal", "min_down_h"): "Minimum down time DT",
    ("thermal", "nonspin_offline_mw"): "Off-line non-spin a fast-start unit can provide",
    ("startup_costs", "resource"): "A resource of thermal.csv",
    ("startup_costs", "cost_usd"): "Start-up cost of this tier",
    ("storage", "resource"): "A resource of type storage",
    ("storage", "charge_max_mw"): "Charging limit Pch^max",
    ("storage", "soc_min_mwh"): "Lowest state of charge E^min",
    ("storage", "soc_max_mwh"): "Highest state of charge E^max",
    ("storage", "soc_initial_mwh"): "State of charge at the start of the day E_0 "
                                    "(between soc_min_mwh and soc_max_mwh)",
    ("storage", "charge_efficiency"): "Charging efficiency eta_c (0 < eta_c <= 1)",
    ("storage", "discharge_efficiency"): "Discharging efficiency eta_d (0 < eta_d <= 1)",
    ("hydro", "resource"): "A resource of type hydro",
    ("resource_hours", "resource"): "Resource",
    ("energy_bids", "resource"): "Resource making the offer or bid",
    ("energy_bids", "segment"): "Segment number, 1 = first (cheapest offer / highest bid)",
    ("energy_bids", "price_usd_per_mwh"): "Segment price between the energy bid floor and cap",
    ("availability_bids", "resource"): "A physical supply resource",
    ("availability_bids", "product"): "ru, rd, sr, nr (AS), iru, ird (imbalance reserves), "
                                      "rcu, rcd (reliability capacity)",
    ("availability_bids", "mw"): "Capacity offered",
    ("energy_bids_hourly", "resource"): "Resource making the offer or bid",
    ("energy_bids_hourly", "segment"): "Segment number within the hour's curve, 1 = first "
                                       "(cheapest offer / highest bid)",
    ("energy_bids_hourly", "price_usd_per_mwh"): "Segment price between the energy bid floor "
                                                 "and cap",
    ("availability_bids_hourly", "resource"): "A physical supply resource",
    ("availability_bids_hourly", "product"): "ru, rd, sr, nr (AS), iru, ird (imbalance "
                                             "reserves), rcu, rcd (reliability capacity)",
    ("demand", "bus"): "Bus of the demand",
    ("baa_hours", "baa"): "BAA",
    ("baa_hours", "ru_requirement_mw"): "Regulation-up requirement Req^RU",
    ("baa_hours", "rd_requirement_mw"): "Regulation-down requirement Req^RD",
    ("baa_hours", "sr_requirement_mw"): "Spinning reserve requirement Req^SR",
    ("baa_hours", "nr_requirement_mw"): "Non-spinning reserve requirement Req^NR",
    ("baa_hours", "iru_requirement_mw"): "Imbalance reserve up requirement R^IRU",
    ("baa_hours", "ird_requirement_mw"): "Imbalance reserve down requirement R^IRD",
    ("ir_demand_curves", "baa"): "BAA",
    ("ir_demand_curves", "product"): "iru or ird",
    ("ir_demand_curves", "segment"): "Segment number, 1 = highest price",
    ("ir_demand_curves", "mw"): "Segment width",
    ("load_distribution", "bus"): "Bus; the factors of a BAA's buses sum to 1",
}

# The cross-table rules of loader.check_semantics (and the header checks of load_scenario).
RULES: tuple[tuple[str, str], ...] = (
    ("BAAs", "Exactly one BAA has `is_reference = true` (`baas.csv`, column `is_reference`)."),
    ("BAAs", "Every BAA has at least one bus in `buses.csv` (reported on its row of "
     "`baas.csv`)."),
    ("Network", "No islanded bus: every bus is connected to the main network through "
     "branches (reported on the bus's row of `buses.csv`); a branch joins two different "
     "buses."),
    ("ETSRs", "An ETSR (`interfaces.csv`) runs between two different BAAs that both exist in "
     "`baas.csv` (`from_baa` ≠ `to_baa`)."),
    ("Hours", "Every `hour` is in 1..H (`hours` of scenario.yaml; in `tie_limits.csv` and "
     "`noncompetitive_constraints.csv` also 0 or blank: every hour). The hourly tables "
     "`baa_hours.csv` and `interface_hours.csv` have one row for every hour 1..H of every BAA "
     "and every ETSR; a gap is reported on the first row of that id. Other tables with an "
     "`hour` column may leave hours out (`demand.csv`: missing = 0 MW; `resource_hours.csv`, "
     "`branch_ratings.csv`: missing = the static value; `energy_bids_hourly.csv`, "
     "`availability_bids_hourly.csv`: missing = the day-constant bid)."),
    ("References", "Every column marked *references* names an id that exists in that table "
     "(e.g. a resource's bus, a bus's BAA, a bid's resource)."),
    ("Resources", "`pmin_mw` ≤ `pmax_mw` (reported on column `pmin_mw`)."),
    ("Resources", "Every `thermal`, `storage` and `hydro` resource has exactly one row in "
     "`thermal.csv`, `storage.csv`, `hydro.csv` respectively, and those tables hold only "
     "resources of their type."),
    ("Thermal", "An initially on-line unit (`initial_on`) has `initial_mw` in [Pmin, Pmax]."),
    ("Storage", "SOC bounds: `soc_min_mwh` ≤ `soc_initial_mwh` ≤ `soc_max_mwh`, and "
     "`soc_end_min_mwh` (when given) ≤ `soc_max_mwh`."),
    ("Energy bids", "`side` matches the resource type: `supply` for "
     + ", ".join(SUPPLY_TYPES) + "; `demand` for " + ", ".join(DEMAND_TYPES)
     + "; storage may have both (supply = discharge offer, demand = charge bid). "
     "Blank side = supply, or demand for " + ", ".join(DEMAND_TYPES) + "; a blank side "
     "and the side it stands for are one curve, so a segment number appears once per "
     "resource and resolved side (per hour in `energy_bids_hourly.csv`)."),
    ("Energy bids", "Bid monotonicity: offer (supply) prices are non-decreasing and bid "
     "(demand) prices non-increasing in `segment`, at most "
     f"{MAX_ENERGY_BID_SEGMENTS} segments (reported on the first segment that breaks the "
     "order); in `energy_bids_hourly.csv` per resource, side and hour."),
    ("Hourly bids", "The rows of a resource, side and hour in `energy_bids_hourly.csv` are "
     "that side's whole curve in that hour (they replace every segment of its "
     "`energy_bids.csv` curve there); the row of a resource, product and hour in "
     "`availability_bids_hourly.csv` replaces its `availability_bids.csv` row in that hour. "
     "Other hours keep the day-constant bid. A resource side with hourly rows but no "
     "`energy_bids.csv` curve needs rows for every hour 1..H (a missing hour would leave it "
     "without a bid, a $0 price taker). The hourly tables obey the same side, monotonicity, "
     "cap and resource rules as the day-constant ones. To offer nothing in an hour, derate "
     "the resource (`resource_hours.pmax_mw`) or bid 0 MW of a product (an RA resource or "
     "certified VER without an RCU bid of positive MW gets an ISO-inserted one for Pmax_t, "
     "spec §5.11: derate it instead)."),
    ("Bid caps (spec §2.5)", f"Energy bid prices lie in {ENERGY_BID_FLOOR_USD_PER_MWH:g}.."
     f"{ENERGY_BID_CAP_USD_PER_MWH:g} $/MWh; IRU/IRD availability bids ≤ "
     f"{IR_BID_CAP_USD_PER_MWH:g} $/MWh; AS ({', '.join(p.upper() for p in AS_PRODUCTS)}) and "
     f"RC (RCU, RCD) availability bids ≤ {AS_RC_BID_CAP_USD_PER_MWH:g} $/MWh; all availability "
     "bids ≥ 0."),
    ("Availability bids", "Only physical supply resources bid AS, IR or RC: no availability "
     "bid (day-constant or hourly) for demand, virtual supply or virtual demand resources."),
    ("IR demand curves", "Per BAA, product and hour, the segment widths (`mw`) sum to the "
     "requirement (`iru_requirement_mw` / `ird_requirement_mw` of `baa_hours.csv`) and prices "
     "are non-increasing in `segment`; prices above the parameter "
     "`ir_demand_curve_cap_usd_per_mwh` are clipped to it when the market clears."),
    ("Load distribution", "When `load_distribution.csv` is given, the factors of the buses of "
     "every BAA sum to 1."),
    ("Start-up costs", "Start-up tiers are increasing: by `tier`, `after_offline_h` strictly "
     "increases and `cost_usd` does not decrease."),
    ("Ties", "`tie_resources.csv` lists only `import` and `export` resources (reported on its "
     "column `resource`); every tie of `tie_limits.csv` has resources in `tie_resources.csv`. "
     "A tie's limits leave room for its self-schedules (`resource_hours.csv`, capped at the "
     "hour's Pmax): in every hour, Σ self-scheduled imports − Σ export Pmax ≤ "
     "`import_limit_mw` and Σ self-scheduled exports − Σ import Pmax ≤ `export_limit_mw` "
     "(reported on the `tie_limits.csv` row that sets the limit, e.g. `tie_limits.csv, row 2, "
     "column 'import_limit_mw': found 100 on tie 'T' in hour 3, below the net import of 120 MW "
     "its self-scheduled imports force; expected a limit >= 120 MW (or smaller self-schedules "
     "in resource_hours.csv)`), so the hard tie rows keep every run feasible."),
    ("scenario.yaml", "Only the keys listed above; `reference_bus` names a bus of `buses.csv`; "
     "every parameter is known and within its allowed values (reported on its line of "
     "scenario.yaml, or on `--set`)."),
    ("Deployment constraints", "When `deployment_constraint_set` names a file, it is a path "
     "relative to the scenario folder that stays inside it (no absolute path, no `..` or "
     "symbolic link leading out; the working directory plays no part), the file exists, is "
     "UTF-8 text, and every non-blank line (text after `#` is a comment) is a branch id of "
     "`branches.csv`; an unknown id is reported on its line of that file (at most 20 lines, "
     "each id cut to 60 characters)."),
)


def _num(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


def _default(c: Column) -> str:
    if c.required:
        return "required"
    d = c.default
    if isinstance(d, bool):
        return "`true`" if d else "`false`"
    if isinstance(d, float):
        if math.isnan(d):
            return "blank"
        return f"`{_num(d)}`"
    if d == "" or d is None:
        return "blank"
    return f"`{d}`"


def _allowed(c: Column) -> str:
    parts = []
    if c.choices is not None:
        parts.append("one of " + ", ".join(f"`{x}`" for x in c.choices if x != ""))
        if "" in c.choices:
            parts[-1] += " or blank"
    if c.name == "hour":
        parts.append("1 .. H" if c.lo != 0 else "0 .. H (blank or 0: every hour)")
    elif c.lo is not None and c.hi is not None:
        parts.append(f"{_num(c.lo)} .. {_num(c.hi)}")
        if isinstance(c.default, float) and math.isinf(c.default):
            parts[-1] += " or `inf` (no limit)"
    elif c.lo is not None:
        parts.append(f"≥ {_num(c.lo)}")
    elif c.hi is not None:
        parts.append(f"≤ {_num(c.hi)}")
    if c.ref is not None:
        parts.append(f"an id of `{c.ref[0]}.csv` `{c.ref[1]}`")
    return "; ".join(parts)


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _table_section(t: Table) -> list[str]:
    out = [f"### `{t.file}`", ""]
    status = "required" if t.required else "optional (the file may be absent)"
    out.append(f"{t.doc} *{status.capitalize()}.* One row per "
               + ", ".join(f"`{k}`" for k in t.key) + ".")
    if t.hourly:
        out.append("Every id needs a row for every hour 1..H.")
    out += ["", "| column | type | default | unit | allowed | meaning |",
            "|---|---|---|---|---|---|"]
    for c in t.columns:
        name = f"`{c.name}`" + (" (key)" if c.name in t.key else "")
        doc = c.doc or COLUMN_DOC.get((t.name, c.name), "")
        out.append(f"| {name} | {KIND[c.kind]} | {_default(c)} | {_cell(c.unit)} | "
                   f"{_cell(_allowed(c))} | {_cell(doc)} |")
    out.append("")
    return out


def render() -> str:
    """The whole document (Markdown)."""
    names = {(t.name, c.name) for t in TABLES for c in t.columns}
    if not set(COLUMN_DOC) <= names:
        raise RuntimeError(f"COLUMN_DOC names unknown columns: {sorted(set(COLUMN_DOC) - names)}")
    if set(YAML_DOC) != set(loader.YAML_KEYS):
        raise RuntimeError("YAML_DOC does not match scenarios.loader.YAML_KEYS: "
                           f"{sorted(set(YAML_DOC) ^ set(loader.YAML_KEYS))}")
    true_words = ", ".join(f"`{w}`" for w in sorted(loader._TRUE))
    false_words = ", ".join(f"`{w}`" for w in sorted(loader._FALSE))
    L: list[str] = [
        "# Scenario format",
        "",
        f"<!-- Generated from scenarios/schema.py by `{COMMAND}`; do not edit by hand "
        "(tests/test_scenario_validation.py checks it is current). -->",
        "",
        "A scenario is one folder: `scenario.yaml` (name, date, hours, parameters) and the CSV "
        "tables below (spec §2). `edam validate FOLDER` loads and checks it and prints a "
        "summary; every engine command loads scenarios the same way.",
        "",
        "## Conventions",
        "",
        "- **Files.** UTF-8 CSV (a byte-order mark is accepted), comma-separated, first line "
        "the header. Columns may come in any order; every column must be one of the table's, "
        "required columns must be present, optional ones may be left out. A CSV file that is "
        "not one of the tables below is an error; other files (a notice, a constraint list) "
        "are ignored unless a parameter names them.",
        "- **Rows.** One row per key (the key columns together are unique); rows may come in "
        "any order (the loader sorts by key). Blank lines are skipped.",
        "- **Cells.** A blank cell in an optional column means its default; a blank cell in a "
        "required column is an error. Numbers are decimal (`1.5`, `-20`, `1e3`); `inf` is "
        "accepted only where the default is infinite (ramp rates). Integers must be whole "
        f"numbers. Booleans: {true_words} for true, {false_words} for false (any case).",
        "- **Units.** MW, MWh, $/MWh and hours, as named in the column names and the unit "
        "column below; hours are hour ending, 1..H.",
        "- **Magnitudes.** Every number has a range (column *allowed*): where a column states "
        "none, its unit's bound applies (`scenarios/schema.py`): MW and MW/min within "
        f"±{_num(MAX_MW)} (≥ 0 where the column says so), MWh ≤ {_num(MAX_MWH)}, $/MWh within "
        f"±{_num(MAX_PRICE_USD_PER_MWH)} (bids: their caps), $ ≤ {_num(MAX_USD)}, $/h within "
        f"±{_num(MAX_USD_PER_H)}, hours ≤ {MAX_HOURS}. A larger value is a typo or a unit slip, "
        "and near 1e20 HiGHS reads a coefficient as infinite.",
        "- **Errors.** Every problem is reported, not just the first, each naming the file, "
        "the row as seen in the CSV (the header is row 1; for scenario.yaml and constraint "
        "files, the line), the column, what was found and what was expected, e.g. "
        "`resources.csv, row 3, column 'pmax_mw': found -5; expected a number >= 0 MW`. The "
        "command line prints them and exits with status 1 (docs/exit-codes.md).",
        "",
        "## Files",
        "",
        "| file | required | key | meaning |",
        "|---|---|---|---|",
        "| `scenario.yaml` | required | | header: name, date, hours, parameters "
        "([below](#scenarioyaml)) |",
    ]
    for t in TABLES:
        L.append(f"| [`{t.file}`](#{t.name}csv) | "
                 f"{'required' if t.required else 'optional'} | "
                 + ", ".join(f"`{k}`" for k in t.key) + f" | {_cell(t.doc)} |")
    L += ["", "## scenario.yaml", "",
          "A YAML mapping with these keys (any other key, and a key given twice at any level, "
          "is an error naming its line):", "",
          "| key | type | default | meaning |", "|---|---|---|---|"]
    for k in YAML_DOC:
        typ, default, doc = YAML_DOC[k]
        L.append(f"| `{k}` | {typ} | {default} | {_cell(doc)} |")
    L += ["", "Example:", "", "```yaml", "name: example_11_2", "trade_date: '2026-06-01'",
          "hours: 1", "description: IRU requirement relaxed at the demand-curve cap",
          "parameters:", "  ir_demand_curve_cap_usd_per_mwh: 55", "metadata:",
          "  spec: market-design.md section 11.2", "```", "",
          "## Tables", "",
          "Columns in schema order (the order the writer uses). *default* `required` means the "
          "column must be present and every cell filled; `blank` means an empty cell (for a "
          "number: none / computed, as the meaning says). *allowed* gives bounds (inclusive), "
          "choices and references to other tables. Resource types: "
          + ", ".join(f"`{x}`" for x in RESOURCE_TYPES) + ".", ""]
    for t in TABLES:
        L += _table_section(t)
    L += ["## Cross-table rules", "",
          "Checked once every file has been read and typed without problems (a file's own "
          "problems are reported first; these rules are checked when they are fixed), in "
          "`scenarios/loader.py` (`check_semantics`); "
          "`scenarios.build.make_scenario` applies the same table rules to scenarios built in "
          "code.",
          ""]
    for i, (topic, text) in enumerate(RULES, start=1):
        L.append(f"{i}. **{topic}.** {text}")
    L += ["", "## Parameters", "",
          "Set under `parameters:` in scenario.yaml or with `--set name=value`; unknown names "
          "and values outside the allowed range are errors. Generated from "
          "`MarketParameters.describe()`; the five parallel-operations parameters of spec §9 "
          "come first. More on each: docs/parameters.md.", ""]
    L.append(parameter_table().rstrip("\n"))
    L.append("")
    n = len(MarketParameters.names())
    L.append(f"{n} parameters. Tags: S = sourced from the spec or a CAISO document, A = an "
             "assumption of this engine (listed in each run's manifest).")
    L.append("")
    return "\n".join(L)


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
