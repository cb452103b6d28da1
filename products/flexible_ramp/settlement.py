"""Flexible ramp (FRU) settlement lines that interact with imbalance reserves (spec §8.4).

Capacity that serves both IR and FRP is paid once [S settlement training]:
```
FRUUncertaintySettlement_it = max(0, FRUUncertaintyQty_it − IRU5_it) × FMMFRUMP_it   (max(0,·) [A])
```
where IRU5 is the five-minute-ramp-capable part of the IRU award, already paid through the IRU
award (§8.1). This is the only new line of §8.4: the IRU award settlement is the §8.1 award
payment (lines ``iru_award`` + ``iru_no_pay``) and the IRU non-compliance charge is the §8.1 no-pay
(line ``iru_no_pay``), so neither is repeated here.

Line ``fru_uncertainty`` (party = the resource's SC, resource filled): quantity = the FRU MW paid
(FRU uncertainty award minus IRU5, floored at 0 unless ``fru_uncertainty_floor`` is False),
price = FMMFRUMP, amount = quantity × price (> 0: paid to the resource). The FMM forecast-movement
payment and the FRD side are outside this engine (no RT forecast-movement inputs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from products.settlement_core import charge_lines

__all__ = ["fru_uncertainty", "fru_uncertainty_lines"]


def _f(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float) if col in frame.columns else np.zeros(len(frame))


def fru_uncertainty(frame: pd.DataFrame, floor: bool = True) -> pd.DataFrame:
    """Per resource-hour FRU uncertainty settlement (§8.4). Columns: resource, hour, baa, sc,
    fru_uncertainty_mw, iru5_mw, paid_mw, price, amount_usd."""
    fru = _f(frame, "fru_uncertainty_mw")
    iru5 = _f(frame, "iru5_mw")
    paid = fru - iru5
    if floor:
        paid = np.maximum(0.0, paid)
    price = _f(frame, "fmm_fru_price_usd_per_mwh")
    return pd.DataFrame({"resource": frame["resource"].to_numpy(),
                         "hour": frame["hour"].to_numpy(), "baa": frame["baa"].to_numpy(),
                         "sc": frame["sc"].to_numpy(), "fru_uncertainty_mw": fru,
                         "iru5_mw": iru5, "paid_mw": paid, "price": price,
                         "amount_usd": paid * price})


def fru_uncertainty_lines(frame: pd.DataFrame, floor: bool = True) -> tuple[pd.DataFrame,
                                                                           pd.DataFrame]:
    """(settlement lines ``fru_uncertainty``, per resource-hour details) for the resource frame."""
    d = fru_uncertainty(frame, floor)
    # a line wherever there is an FRU uncertainty award or an amount (unfloored: IRU5 > FRU)
    d = d[(d["fru_uncertainty_mw"] != 0.0) | (d["amount_usd"] != 0.0)].reset_index(drop=True)
    lines = charge_lines("fru_uncertainty", d["sc"].to_numpy(), d["baa"].to_numpy(),
                         d["hour"].to_numpy(), d["paid_mw"].to_numpy(), d["price"].to_numpy(),
                         d["amount_usd"].to_numpy(), d["resource"].to_numpy())
    return lines, d
