"""Reliability capacity up/down (RCU/RCD): the residual-unit-commitment product that makes each
BAA's physical schedule meet its demand forecast (spec §5.11, §6.4, §8.2, §8.3).

- `component.build_ruc`: the RUC model (commitment on top of IFM, RC awards, RC transfers).
- prices: RUC price_n = π^R_b − Σ_l PTDF_ln (μR+ − μR−); RCUMP = price, RCDMP = −price; a BAA-hour
  with no RC award reports 0 (spec §6.4 [A]).
- proxy awards: `component.proxy_awards` flags `schedules.rcu_proxy`/`rcd_proxy`, awards of
  ISO-inserted bids (scenarios.bids inserts the RCU bids of RA resources and certified VERs that
  bid none, §5.11).
- `settlement`: award payments, no-pay (none for proxy awards), tier 1 / tier 2 allocation.
"""

from products.reliability_capacity.component import build_ruc  # noqa: F401
