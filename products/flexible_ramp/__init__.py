"""Flexible ramp up/down (FRU/FRD): the real-time product of the phase-3 FMM run (spec §10, §8.4).

- `component`: what is bought (per-BAA FRU/FRD requirement per 15-minute interval on a one-segment
  demand curve capped at `penalty_fru_usd_per_mwh`), who may hold it (ramp-limited, inside the RT
  economic range), the requirement rows and the FMM FRU/FRD prices (`frp_prices`). Used by
  clearing/market/rt.py.
- `settlement`: the FRU uncertainty settlement line that interacts with imbalance reserves (§8.4).

Nothing is imported here, so the settlement can be used without loading Pyomo.
"""
