"""The model bundle: the Pyomo model plus the few shared names components meet through.

Like Egret's formulation hooks, the core publishes: `g[r,t]` net injection (spec §3), the
upward/downward reserve registries that feed the capacity stacks (spec §5.4, §5.10), and the
per-BAA IR credit expressions (spec §5.7). Every component appends its cost terms to `costs`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyomo.environ as pyo

from clearing.market.data import MarketData


@dataclass
class ModelBundle:
    m: pyo.ConcreteModel
    d: MarketData
    kind: str = "ifm"  # "ifm" or "ruc"
    costs: list = field(default_factory=list)
    # (resource, hour) -> list of Pyomo terms counting against the upward / downward stack
    up_reserve: dict = field(default_factory=lambda: defaultdict(list))
    down_reserve: dict = field(default_factory=lambda: defaultdict(list))
    # per-resource-hour AS-only terms (for storage sustain and the 10-minute ramp limits)
    as_up: dict = field(default_factory=lambda: defaultdict(list))
    as_down: dict = field(default_factory=lambda: defaultdict(list))
    # (baa, hour) -> list of terms of credited IRU / IRD (spec §5.7 CU_b, CD_b)
    ir_credit_up: dict = field(default_factory=lambda: defaultdict(list))
    ir_credit_down: dict = field(default_factory=lambda: defaultdict(list))
    # (baa, hour) -> terms of economic transfer into the BAA (positive in) for the balance
    transfer_in: dict = field(default_factory=lambda: defaultdict(list))
    # lazily added network rows: key -> constraint data; bookkeeping for the report
    lazy_rows: dict = field(default_factory=dict)
    lazy_rounds: list = field(default_factory=list)
    binaries: list = field(default_factory=list)  # Var components holding binaries
    # the 3-binary commitments of the model (resources.Commitment), for the MIP start
    commitments: list = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def T(self) -> list[int]:
        return self.d.hours

    def objective_expr(self):
        return sum(self.costs)
