"""Shared settlement machinery (spec §8): tier 1 / tier 2 allocation and the charge table.

Sign convention of every settlement line (the `settlement` table of the results contract)
----------------------------------------------------------------------------------------------
``amount_usd > 0`` is a payment TO the party (the ISO pays it: an award payment, a credit);
``amount_usd < 0`` is a charge TO the party (the party pays the ISO: a no-pay, a tier-1 or tier-2
allocation, an RSE surcharge). Where a line has a quantity and a price,
``amount_usd = ±quantity × price`` with the sign of the line's direction (payments +, charges −);
the exceptions are named in the charge's documentation (the RC payment floor, and a tier 2 sent
to the EDAM entity of a BAA without metered demand, whose quantity and price are blank).

Lines (one row each): ``charge, party, baa, hour, quantity, price, amount_usd`` (the contract
columns, in that order) plus ``resource`` (the resource of a resource-level line, "" for lines of
a party as a whole). A party is a scheduling coordinator (resource lines, tier-1 and tier-2
allocations), an EDAM entity (tier 2 of a BAA without metered demand, RSE lines) or an SC inside
the CISO RSE sub-allocation. The rows are unique on (charge, party, baa, hour, resource).

`tier_allocation` implements §8.3 for one BAA, product and hour; `tier_prices` the prices it uses.
`SettlementOptions` names every [A]/[D] choice of §8 that this engine makes configurable.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from scenarios.errors import Problem, ScenarioError

__all__ = ["SETTLEMENT_COLUMNS", "LINE_COLUMNS", "STATEMENT_COLUMNS", "ZERO_MW", "ZERO_USD",
           "SettlementOptions", "TierPrices", "safe_div", "tier_prices", "tier_allocation",
           "charge_line", "charge_lines", "allocation_lines", "settlement_table",
           "daily_statement", "allocate", "exact_split", "ALLOCATION_SUMMARY_COLUMNS",
           "RESOURCE_FRAME_COLUMNS", "GENERATION_TYPES"]

SETTLEMENT_COLUMNS = ("charge", "party", "baa", "hour", "quantity", "price", "amount_usd")
LINE_COLUMNS = SETTLEMENT_COLUMNS + ("resource",)
STATEMENT_COLUMNS = ("party", "charge", "lines", "quantity", "amount_usd")
ZERO_MW = 1e-9    # a denominator (MW) at or below this is zero (§8.3 division by zero)
ZERO_USD = 1e-9   # a requirement cost (USD) this close to 0 is 0

GENERATION_TYPES = ("thermal", "ver", "storage", "hydro")

# The per resource-hour frame every product's settlement reads (built by clearing/analysis/settle.py from
# the run's `schedules` and `resource_prices`, the scenario and the settlement inputs):
RESOURCE_FRAME_COLUMNS = (
    "resource", "hour", "baa", "sc", "type",
    # DA awards (schedules): energy_mw is the net injection (virtual demand / exports negative)
    "energy_mw", "reg_up_mw", "reg_down_mw", "spin_mw", "nonspin_mw",
    "iru_mw", "ird_mw", "rcu_mw", "rcd_mw",
    # DA resource prices (resource_prices): IRUMP, IRDMP, RCUMP, RCDMP
    "iru_usd_per_mwh", "ird_usd_per_mwh", "rcu_usd_per_mwh", "rcd_usd_per_mwh",
    # proxy awards: the resource's RCU / RCD availability bid is ISO-inserted (§2.5, §8.2)
    "rcu_proxy", "rcd_proxy",
    # real-time / metering inputs (settlement_inputs, §2.7)
    "daen_mw", "fmm_schedule_mw", "fmm_max_ex_cap_mw", "fmm_uel_mw", "fmm_lel_mw", "uie_mw",
    "metered_mw", "etag_mw", "iru5_mw", "ird5_mw", "fmm_fru_price_usd_per_mwh",
    "fmm_frd_price_usd_per_mwh", "fru_uncertainty_mw",
)


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------
_CHOICES: dict[str, tuple] = {
    "iru_import_tier1": ("directional", "as_published"),
    "ird_generation_tier1": ("ver_only", "all_generation"),
    "rc_tier1_netting": ("sc", "resource"),
    "negative_requirement_cost": ("tier2_credit", "unallocated"),
    "fru_uncertainty_floor": (True, False),
    "fixed_demand_uie": ("lse", "off"),
}


@dataclass(frozen=True)
class SettlementOptions:
    """The configurable [A]/[D] choices of spec §8 (each listed in the run's manifest).

    - ``iru_import_tier1`` (§8.3 [A], `MarketParameters.iru_import_tier1`): the import term of IRU
      tier 1: ``directional`` = max(0, DAEN − FMMSS) (imports cut in RT, the default),
      ``as_published`` = max(0, FMMMaxExCap − DAEN) (the slide as printed).
    - ``ird_generation_tier1`` (§8.3 [A]): which generators enter IRDG = max(0, FMMMaxExCap − DAEN).
      ``ver_only`` (default): VERs only. With FMMMaxExCap of a non-VER = its RT Pmax (§8.3), the
      literal term would charge every non-VER with head-room above its DA schedule, contradicting
      §8.3's own "a non-VER contributes only when derated below its DA schedule";
      ``all_generation`` is the literal reading.
    - ``rc_tier1_netting`` (§8.3 [A], "i resource or SC"): ``sc`` (default) nets virtual supply
      against virtual demand, and load UIE, over the SC's resources in the BAA before the max(0, ·);
      ``resource`` applies max(0, ·) per resource and sums.
    - ``negative_requirement_cost`` (§8.3 [A]): ``tier2_credit`` (default): tier 1 = 0 and the
      whole negative cost is credited through tier 2 pro rata to metered demand (conservation for
      every sign); ``unallocated``: the published max(0, cost − tier 1) = 0, the negative amount
      stays unallocated (reported in the BAA details).
    - ``fru_uncertainty_floor`` (§8.4 [A]): True (default) pays max(0, FRU − IRU5) × price;
      False the unfloored difference (IRU5 above the FRU award is then charged).
    - ``fixed_demand_uie`` [A]: fixed (self-scheduled) demand is no resource; with ``lse``
      (default) it is settled as a load of the party ``LSE_<baa>`` whose UIE is its DA fixed
      demand minus its metered load, whenever that metered load is measured (supplied
      `metered_load` rows for ``LSE_<baa>``, or `baa_hours.metered_demand_mw`); ``off`` ignores it.
    - ``rse_suballocate_baa`` (§7.5 [S]): the BAA whose RSE surcharge and credit are
      sub-allocated to its SCs by metered demand: ``auto`` (default) = the BAA named CISO, else the
      reference BAA (as clearing/market/rse.py); ``none``; or a BAA id.
    """

    iru_import_tier1: str = "directional"
    ird_generation_tier1: str = "ver_only"
    rc_tier1_netting: str = "sc"
    negative_requirement_cost: str = "tier2_credit"
    fru_uncertainty_floor: bool = True
    fixed_demand_uie: str = "lse"
    rse_suballocate_baa: str = "auto"

    def __post_init__(self) -> None:
        problems = []
        for name, choices in _CHOICES.items():
            v = getattr(self, name)
            if v not in choices or (isinstance(choices[0], bool) != isinstance(v, bool)):
                problems.append(Problem("settlement options", None, name, repr(v),
                                        "one of " + ", ".join(map(str, choices))))
        if not isinstance(self.rse_suballocate_baa, str) or not self.rse_suballocate_baa:
            problems.append(Problem("settlement options", None, "rse_suballocate_baa",
                                    repr(self.rse_suballocate_baa), "auto, none or a BAA id"))
        if problems:
            raise ScenarioError(problems)

    @classmethod
    def from_parameters(cls, parameters: Any = None,
                        overrides: dict[str, Any] | None = None) -> "SettlementOptions":
        """Defaults, then the same-named fields of `parameters` (a `MarketParameters`: today
        `iru_import_tier1`; any other option added there is picked up too), then `overrides`
        (strings such as 'false' are coerced for the boolean option)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        if parameters is not None:
            values = {n: getattr(parameters, n) for n in sorted(names) if hasattr(parameters, n)}
        problems = []
        for k, v in (overrides or {}).items():
            if k not in names:
                problems.append(Problem("settlement options", None, k, f"unknown option '{k}'",
                                        "one of " + ", ".join(sorted(names))))
                continue
            if k == "fru_uncertainty_floor" and isinstance(v, str):
                v = {"true": True, "1": True, "yes": True, "false": False, "0": False,
                     "no": False}.get(v.strip().lower(), v)
            values[k] = v
        if problems:
            raise ScenarioError(problems)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------------------------------
# tier 1 / tier 2 (§8.3)
# ------------------------------------------------------------------------------------------------
def safe_div(num: float, den: float, tol: float = ZERO_MW) -> float:
    """num / den, or NaN when |den| <= tol (§8.3: division by zero makes the price undefined)."""
    den = float(den)
    return float(num) / den if abs(den) > tol else math.nan


@dataclass(frozen=True)
class TierPrices:
    """Prices of one BAA-hour allocation (§8.3). NaN = undefined (zero denominator)."""

    cap_price: float       # requirement price (IR) or average price (RC)
    derived_price: float   # cost / tier-1 quantity
    tier1_price: float     # min(cap, derived) when the cost is positive and both are defined


def tier_prices(cost: float, tier1_qty_total: float, price_cap: float | None) -> TierPrices:
    """§8.3 prices: derived = cost / tier-1 quantity; tier-1 price = min(price_cap, derived).

    The tier-1 price is NaN (tier 1 = 0) when the cost is not positive, the tier-1 quantity is 0,
    the cap is undefined (None/NaN: requirement minus shortfall, or the RC award, is 0), or the
    resulting price is not positive."""
    cost = float(cost)
    derived = safe_div(cost, tier1_qty_total)
    cap = math.nan if price_cap is None else float(price_cap)
    t1 = math.nan
    if cost > ZERO_USD and not math.isnan(derived) and not math.isnan(cap):
        t1 = min(cap, derived)
        if not t1 > 0:
            t1 = math.nan
    return TierPrices(cap, derived, t1)


def _party_series(s: Any, name: str) -> pd.Series:
    if s is None:
        return pd.Series(dtype=float)
    if isinstance(s, dict):
        s = pd.Series(s, dtype=float)
    s = pd.Series(s).astype(float).fillna(0.0)
    s.index = s.index.map(str)
    s = s.groupby(level=0, sort=True).sum()
    return s.clip(lower=0.0).rename(name)


def tier_allocation(cost: float, tier1_qty_by_party: pd.Series | dict | None,
                    price_cap: float | None, metered_by_party: pd.Series | dict | None,
                    fallback_party: str, *, negative_cost: str = "tier2_credit") -> pd.DataFrame:
    """Allocate one BAA-hour requirement cost `cost` (USD) in two tiers (spec §8.3).

    - `tier1_qty_by_party`: tier-1 quantity (MW) per party (index = party). Negative entries are
      taken as 0.
    - `price_cap`: the requirement price (IR: cost / (IRUR − IRUS)) or the average price (RC:
      Σ payments / Σ awards); None/NaN when its denominator is 0.
    - `metered_by_party`: metered demand ML (MW) per party, for tier 2.
    - `fallback_party`: receives the whole tier 2 when the BAA's metered demand is 0
      (generation-only BAA → its EDAM entity).

    Rules: tier-1 price = min(price_cap, cost / Σ tier-1 qty); each party's tier 1 = its quantity ×
    that price; tier 2 = max(0, cost − tier 1) pro rata to metered demand. A zero denominator
    (no tier-1 quantity, undefined cap) → tier 1 = 0, all to tier 2. A negative cost → tier 1 = 0
    and (``negative_cost='tier2_credit'``) the whole negative amount through tier 2, or
    (``'unallocated'``) nothing allocated. Tier 1 + tier 2 = cost except in the latter case.

    Returns one row per party and tier with columns ``party, tier (1|2), quantity, price,
    allocation_usd``: allocation_usd > 0 is cost the party bears (a charge; see
    `allocation_lines` for the settlement sign). Tier-2 rows carry ML as quantity and
    remainder / Σ ML as price; a fallback row has NaN quantity and price. Rows with a zero
    allocation are left out. ``.attrs`` holds the BAA-level figures: cost_usd, tier1_qty_mw,
    cap_price, derived_price, tier1_price, tier1_usd, tier2_usd, unallocated_usd, metered_mw,
    tier2_to ('metered', 'fallback' or '').
    """
    if negative_cost not in ("tier2_credit", "unallocated"):
        raise ValueError("negative_cost must be tier2_credit or unallocated, "
                         f"not {negative_cost!r}")
    q = _party_series(tier1_qty_by_party, "qty")
    ml = _party_series(metered_by_party, "ml")
    rows, attrs = _allocate_one(float(cost), dict(q.items()), price_cap, dict(ml.items()),
                                str(fallback_party), negative_cost)
    out = pd.DataFrame(rows, columns=["party", "tier", "quantity", "price", "allocation_usd"])
    out.attrs = attrs
    return out


def _allocate_one(cost: float, q: dict[str, float], price_cap: float | None,
                  ml: dict[str, float], fallback_party: str,
                  negative_cost: str) -> tuple[list[tuple], dict[str, Any]]:
    """The §8.3 rules on plain dicts (parties → non-negative MW); see `tier_allocation`."""
    if abs(cost) <= ZERO_USD:
        cost = 0.0
    q_tot = math.fsum(q.values())
    ml_tot = math.fsum(ml.values())
    prices = tier_prices(cost, q_tot, price_cap)
    rows: list[tuple] = []
    t1_total = 0.0
    if not math.isnan(prices.tier1_price):
        p1 = prices.tier1_price
        t1 = {party: qty * p1 for party, qty in q.items() if qty > ZERO_MW}
        if p1 == prices.derived_price:
            # tier 1 takes the whole cost: make the parts add up to it exactly
            t1 = exact_split(cost, {k: q[k] for k in t1})
        t1_total = math.fsum(t1.values())
        rows += [(party, 1, float(q[party]), p1, amt) for party, amt in t1.items()]
    unallocated = 0.0
    if cost >= 0.0:
        remainder = max(0.0, cost - t1_total)
        if remainder <= ZERO_USD:  # rounding left over by a tier 1 that took (nearly) all
            remainder = 0.0
    elif negative_cost == "tier2_credit":
        remainder = cost
    else:
        remainder, unallocated = 0.0, cost
    tier2_to = ""
    if remainder != 0.0:
        if ml_tot > ZERO_MW:
            tier2_to = "metered"
            rate = remainder / ml_tot
            parts = exact_split(remainder, {k: v for k, v in ml.items() if v > 0.0})
            rows += [(party, 2, float(ml[party]), rate, amt) for party, amt in parts.items()]
        else:
            tier2_to = "fallback"
            rows.append((fallback_party, 2, math.nan, math.nan, remainder))
    rows = [r for r in rows if r[4] != 0.0]
    attrs = dict(cost_usd=cost, tier1_qty_mw=q_tot, cap_price=prices.cap_price,
                 derived_price=prices.derived_price, tier1_price=prices.tier1_price,
                 tier1_usd=t1_total, tier2_usd=remainder, unallocated_usd=unallocated,
                 metered_mw=ml_tot, tier2_to=tier2_to)
    return rows, attrs


def exact_split(total: float, weights: dict[str, float]) -> dict[str, float]:
    """Split `total` pro rata to positive `weights` so the parts sum to `total` in floating point
    (the largest part takes the rounding residue)."""
    if not weights:
        return {}
    wsum = math.fsum(weights.values())
    parts = {k: total * w / wsum for k, w in weights.items()}
    top = max(weights, key=lambda k: (weights[k], k))
    parts[top] = total - math.fsum(v for k, v in parts.items() if k != top)
    return parts


# ------------------------------------------------------------------------------------------------
# charge lines
# ------------------------------------------------------------------------------------------------
def charge_line(charge: str, party: str, baa: str, hour: int, quantity: float, price: float,
                amount_usd: float, resource: str = "") -> dict[str, Any]:
    """One settlement line as a dict (sign convention in the module docstring)."""
    return dict(charge=str(charge), party=str(party), baa=str(baa), hour=int(hour),
                quantity=float(quantity), price=float(price), amount_usd=float(amount_usd),
                resource=str(resource))


DUST_MW = 1e-6    # a quantity at or below this is solver dust, not a settled MW
DUST_USD = 1e-6   # likewise for an amount


def charge_lines(charge: str | Iterable[str], party: Any, baa: Any, hour: Any, quantity: Any,
                 price: Any, amount_usd: Any, resource: Any = "",
                 drop_zero: bool = True) -> pd.DataFrame:
    """Vectorised `charge_line`: array-likes (or scalars) of equal length → a line frame.
    With `drop_zero`, lines whose amount and quantity are both 0 are left out, 0 meaning within
    solver dust (|amount| ≤ DUST_USD and |quantity| ≤ DUST_MW): a 5e-13 MW no-pay quantity left by
    floating point is no charge, and the written run settles to the same lines."""
    amount = np.atleast_1d(np.asarray(amount_usd, dtype=float))
    n = len(amount)

    def col(v: Any, kind: type) -> np.ndarray:
        if np.ndim(v) == 0:
            return np.full(n, v, dtype=float if kind is float else object)
        a = np.asarray(v, dtype=float if kind is float else object)
        if len(a) != n:
            raise ValueError(f"charge_lines: {len(a)} values where {n} were expected")
        return a

    df = pd.DataFrame({
        "charge": col(charge, str), "party": col(party, str), "baa": col(baa, str),
        "hour": np.asarray(col(hour, float), dtype=np.int64),
        "quantity": col(quantity, float), "price": col(price, float), "amount_usd": amount,
        "resource": col(resource, str),
    })
    for c in ("charge", "party", "baa", "resource"):
        df[c] = df[c].map(str)
    if drop_zero:
        q = df["quantity"].fillna(0.0).abs()
        df = df[(df["amount_usd"].abs() > DUST_USD) | (q > DUST_MW)]
    return df.reset_index(drop=True)


def allocation_lines(product: str, baa: str, hour: int, allocation: pd.DataFrame) -> pd.DataFrame:
    """Settlement lines of a `tier_allocation` result: charges ``<product>_tier1`` and
    ``<product>_tier2`` with amount_usd = −allocation_usd (a cost borne is a charge; a negative
    cost credited through tier 2 is a payment)."""
    if allocation.empty:
        return _empty_lines()
    charge = [f"{product}_tier{int(t)}" for t in allocation["tier"]]
    return charge_lines(charge, allocation["party"].to_numpy(), baa, hour,
                        allocation["quantity"].to_numpy(), allocation["price"].to_numpy(),
                        -allocation["allocation_usd"].to_numpy(), "", drop_zero=False)


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=(np.int64 if c == "hour" else
                                             float if c in ("quantity", "price", "amount_usd")
                                             else object))
                         for c in LINE_COLUMNS})


def settlement_table(lines: Iterable[dict | pd.DataFrame]) -> pd.DataFrame:
    """Concatenate lines (dicts from `charge_line` and/or frames from `charge_lines`) into the
    `settlement` table: contract columns then ``resource``, sorted by
    (charge, party, baa, hour, resource), RangeIndex."""
    frames: list[pd.DataFrame] = []
    dicts: list[dict] = []
    for x in lines:
        if isinstance(x, pd.DataFrame):
            if len(x):
                frames.append(x)
        else:
            dicts.append(x)
    if dicts:
        frames.append(pd.DataFrame(dicts))
    if not frames:
        return _empty_lines()
    df = pd.concat([f.reindex(columns=list(LINE_COLUMNS)) for f in frames], ignore_index=True)
    df["resource"] = df["resource"].fillna("").map(str)
    for c in ("charge", "party", "baa"):
        df[c] = df[c].map(str)
    df["hour"] = df["hour"].astype(np.int64)
    for c in ("quantity", "price", "amount_usd"):
        df[c] = df[c].astype(float)
    return (df.sort_values(["charge", "party", "baa", "hour", "resource"], kind="stable")
            .reset_index(drop=True))


def daily_statement(settlement: pd.DataFrame) -> pd.DataFrame:
    """Per party and charge over the day: number of lines, Σ quantity (MW·h) and Σ amount_usd,
    then one ``net`` row per party (Σ amount_usd over its charges; quantity blank). Same sign
    convention as the settlement table (> 0: the ISO pays the party)."""
    cols = list(STATEMENT_COLUMNS)
    if settlement is None or settlement.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("party", "charge") else float)
                             for c in cols})
    g = settlement.groupby(["party", "charge"], sort=True)
    by = pd.DataFrame({"lines": g.size(), "quantity": g["quantity"].sum(min_count=1),
                       "amount_usd": g["amount_usd"].sum()}).reset_index()
    net = (settlement.groupby("party", sort=True)
           .agg(lines=("amount_usd", "size"), amount_usd=("amount_usd", "sum")).reset_index())
    net["charge"] = "net"
    net["quantity"] = np.nan
    out = pd.concat([by, net[cols]], ignore_index=True)
    out["_net"] = (out["charge"] == "net").astype(int)
    out = out.sort_values(["party", "_net", "charge"], kind="stable").drop(columns="_net")
    out["lines"] = out["lines"].astype(np.int64)
    return out[cols].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# one product over every BAA-hour
# ------------------------------------------------------------------------------------------------
ALLOCATION_SUMMARY_COLUMNS = ("baa", "hour", "product", "cost_usd", "tier1_qty_mw", "cap_price",
                              "derived_price", "tier1_price", "tier1_usd", "tier2_usd",
                              "unallocated_usd", "metered_mw", "tier2_to")


def allocate(product: str, costs: pd.DataFrame, tier1: pd.DataFrame, metered: pd.DataFrame | None,
             entity: dict[str, str] | None = None, *,
             negative_cost: str = "tier2_credit") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run `tier_allocation` for every BAA-hour of one product.

    - `costs`: one row per (baa, hour) with ``cost_usd`` and ``cap_price`` (NaN = undefined);
    - `tier1`: rows (baa, hour, party, tier1_mw), summed per party;
    - `metered`: rows (party, baa, hour, metered_mw);
    - `entity`: BAA → EDAM entity, the tier-2 party of a BAA-hour without metered demand
      (default: the BAA id).

    Returns (settlement lines ``<product>_tier1`` / ``<product>_tier2``, one summary row per
    BAA-hour with the `tier_allocation` attrs)."""
    entity = entity or {}

    def by_key(df: pd.DataFrame | None, col: str) -> dict[tuple[str, int], dict[str, float]]:
        out: dict[tuple[str, int], dict[str, float]] = {}
        if df is None or not len(df):
            return out
        g = df.groupby(["baa", "hour", "party"], sort=True)[col].sum()
        for (b, h, party), v in zip(g.index, g.to_numpy(dtype=float)):
            v = 0.0 if math.isnan(v) else max(0.0, float(v))
            out.setdefault((str(b), int(h)), {})[str(party)] = v
        return out

    q_by, ml_by = by_key(tier1, "tier1_mw"), by_key(metered, "metered_mw")
    line_rows: list[tuple] = []
    rows = []
    for baa, hour, cost, cap in zip(costs["baa"], costs["hour"], costs["cost_usd"],
                                    costs["cap_price"]):
        key = (str(baa), int(hour))
        alloc, a = _allocate_one(float(cost), q_by.get(key, {}), cap, ml_by.get(key, {}),
                                 entity.get(key[0]) or key[0], negative_cost)
        line_rows += [(f"{product}_tier{tier}", party, key[0], key[1], qty, price, -amt, "")
                      for party, tier, qty, price, amt in alloc]
        rows.append((key[0], key[1], product, a["cost_usd"], a["tier1_qty_mw"], a["cap_price"],
                     a["derived_price"], a["tier1_price"], a["tier1_usd"], a["tier2_usd"],
                     a["unallocated_usd"], a["metered_mw"], a["tier2_to"]))
    lines = pd.DataFrame(line_rows, columns=list(LINE_COLUMNS))
    summary = pd.DataFrame(rows, columns=list(ALLOCATION_SUMMARY_COLUMNS))
    return settlement_table([lines]), summary
