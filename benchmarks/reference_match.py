"""Does our engine reproduce the pglib-uc reference objective? (issue 10, "Done when")

The reference values are recorded in `benchmarks/results/pglib_reference.json` by
`python -m benchmarks.pglib_reference` (pglib-uc's own formulation, re-implemented and solved
with HiGHS; benchmarks/README.md, "Reference"). Each engine run of a `pglib:<instance>` case
on the whole instance is compared with the recorded reference run at the same relative MIP
gap:

* **match** — both objectives are feasible values within their MIP gap of the same optimum,
  so they differ by at most the gap: |ours − reference| <= gap · |reference|;
* **consistent** — neither objective lies below the other model's proven lower bound (up to
  1e-6 relative): ours >= bound_reference and reference >= bound_ours. A model that is looser
  somewhere shows here first: its objective drops below the other's bound.
"""

from __future__ import annotations

import math

from benchmarks.pglib_reference import load_reference

#: relative slack for the bound test (floating point and HiGHS's feasibility tolerance)
BOUND_SLACK = 1e-6


def match_row(instance: str, gap: float, objective: float, bound: float, hours: int,
              reference: dict | None) -> dict | None:
    """The comparison of one engine run with the recorded `reference` run (None when none
    is recorded for this instance, gap and horizon)."""
    if reference is None or int(reference.get("hours", -1)) != int(hours):
        return None
    ref_obj, ref_bound = float(reference["objective"]), float(reference["bound"])
    scale = max(abs(ref_obj), 1e-9)
    rel = (objective - ref_obj) / scale
    slack = BOUND_SLACK * scale
    bound = objective if bound is None or not math.isfinite(bound) else bound
    return dict(
        instance=instance, mip_rel_gap=gap, ours_objective=objective, ours_bound=bound,
        reference_objective=ref_obj, reference_bound=ref_bound,
        reference_status=reference.get("status"), objective_rel_diff=rel,
        match=abs(rel) <= gap + 1e-12,
        consistent=objective >= ref_bound - slack and ref_obj >= bound - slack)


def recorded_matches(summary: list[dict]) -> list[dict]:
    """`match_row` for every engine case `pglib:<instance>` of a harness summary."""
    out = []
    for s in summary:
        if s.get("engine") != "edam" or not str(s.get("case", "")).startswith("pglib:") \
                or not s.get("runs"):
            continue
        instance = s["case"].split(":", 1)[1]
        gap = float(s["mip_rel_gap"])
        row = match_row(instance, gap, float(s["objective"]), _float(s.get("bound")),
                        int(s["hours"]), load_reference(instance, gap))
        if row is not None:
            out.append(row)
    return out


def _float(x) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
