"""Imbalance reserves up/down (IRU/IRD): DAME's day-ahead product covering DA-to-RT net-load
uncertainty (spec §5.7–5.10, §6.3, §8.1, §8.3).

- `component`: what is bought (per-BAA requirement on a stepped demand curve capped at
  `ir_demand_curve_cap_usd_per_mwh`), how awards are limited (ramp within T^IR, capacity stacks,
  storage envelopes), IR transfers between BAAs, and the deployment scenarios' network rows.
- `component.ir_prices`: IRURMP/IRDRMP (requirement prices) and the resource-specific
  IRUMP/IRDMP with the deployment-scenario congestion part.
- `settlement`: award payments, no-pay and the tier 1 / tier 2 allocation of the requirement cost.
"""

from products.imbalance_reserves.component import add_to_model, extract, ir_prices  # noqa: F401
