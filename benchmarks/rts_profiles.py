"""The effect of each choice of the reference RTS-GMLC import profile on one day (issue 21).

    nice -n 10 python -m benchmarks.rts_profiles [--date 2020-07-09] [--phase 2]
        [--out benchmarks/results/rts_profiles] [--cases edam,reference,...]

Clears the day with the 'edam' profile, the 'reference' profile, and the reference profile with
each of its choices (scenarios.importers.rts_gmlc.REFERENCE_CHOICES) reverted to 'edam' one at
a time: 2 + 6 = 8 runs. Per run: the thermal production cost (below), the IFM objective, the
average LMP per BAA, the EDAM transfers, the committed thermal unit-hours and start-ups, and
the wall time. Writes `results.json` and `results.md` (with the commands) into --out after each
run; a rerun recomputes only the cases missing from results.json (--fresh: all).

Production cost: the same measure for every profile, from the thermal units' offers (cost based
in both profiles: heat rate x fuel price + VOM): the min-load cost in each committed hour
(max of IFM and RUC commitment), the energy above Pmin priced along the offer segments, and the
start-up cost of each start by the tier of its hours off line (thermal.initial_hours before
hour 1). VER, hydro and storage have no fuel cost.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "results" / "rts_profiles"


def cases() -> dict[str, tuple[str, tuple[str, ...] | None]]:
    """case name -> (profile, reference choices)."""
    from scenarios.importers.rts_gmlc import REFERENCE_CHOICES
    out: dict[str, tuple[str, tuple[str, ...] | None]] = {
        "edam": ("edam", None), "reference": ("reference", REFERENCE_CHOICES)}
    for c in REFERENCE_CHOICES:
        out[f"reference, {c} as edam"] = ("reference",
                                          tuple(x for x in REFERENCE_CHOICES if x != c))
    return out


def production_cost_usd(sc, schedules: pd.DataFrame) -> float:
    """Thermal production cost of a run (module docstring)."""
    th = sc.thermal.set_index("resource")
    res = sc.resources.set_index("resource")
    eb = sc.energy_bids[sc.energy_bids["side"].isin(["supply", ""])]
    tiers = sc.tables.get("startup_costs")
    s = schedules[schedules["resource"].isin(th.index)].copy()
    u = s["committed"].astype(float)
    if "ruc_committed" in s.columns:
        u = np.maximum(u, s["ruc_committed"].astype(float).fillna(0.0))
    s["u"] = (u > 0.5).astype(int)
    total = 0.0
    for rid, g in s.sort_values("hour").groupby("resource"):
        on = g["u"].to_numpy()
        mw = g["energy_mw"].astype(float).to_numpy()
        pmin = float(res.at[rid, "pmin_mw"])
        total += float(th.at[rid, "min_load_cost_usd_per_h"]) * on.sum()
        segs = eb[eb["resource"] == rid].sort_values("segment")
        for above in np.clip(mw - pmin, 0.0, None) * on:
            left = above
            for w, p in zip(segs["mw"], segs["price_usd_per_mwh"]):
                take = min(left, float(w))
                total += take * float(p)
                left -= take
                if left <= 1e-9:
                    break
        prev = int(bool(th.at[rid, "initial_on"]))
        off = 0 if prev else int(th.at[rid, "initial_hours"])
        for x in on:
            if x and not prev:
                cost = float(th.at[rid, "startup_cost_usd"])
                if tiers is not None and len(tiers):
                    t = tiers[tiers["resource"] == rid].sort_values("after_offline_h")
                    hit = t[t["after_offline_h"] <= off]
                    if len(hit):
                        cost = float(hit["cost_usd"].iloc[-1])
                total += cost
            off = 0 if x else off + 1
            prev = x
    return total


def measure(sc, result, wall_s: float) -> dict:
    """The row of one run (module docstring)."""
    t = result.tables
    sched = t["schedules"]
    th = sched[sched["resource"].isin(sc.thermal["resource"])]
    u = th["committed"].astype(float)
    if "ruc_committed" in th.columns:
        u = np.maximum(u, th["ruc_committed"].astype(float).fillna(0.0))
    th = th.assign(u=(u > 0.5).astype(int)).sort_values(["resource", "hour"])
    init = sc.thermal.set_index("resource")["initial_on"].astype(int)
    starts = 0
    for rid, g in th.groupby("resource"):
        seq = [int(init[rid])] + g["u"].tolist()
        starts += sum(1 for a, b in zip(seq, seq[1:]) if b and not a)
    lmp = t["nodal_prices"].groupby("baa")["lmp"].mean()
    tr = t.get("transfers")
    return {
        "production_cost_usd": round(production_cost_usd(sc, sched), 2),
        "ifm_objective_usd": None if result.objective is None else round(result.objective, 2),
        "avg_lmp_usd_per_mwh": {str(b): round(float(v), 3) for b, v in lmp.items()},
        "transfer_mwh": None if tr is None else round(float(tr["mw"].abs().sum()), 1),
        "committed_unit_hours": int(th["u"].sum()),
        "startups": int(starts),
        "status": (result.manifest.get("completion") or {}).get("status", "solved"),
        "wall_s": round(wall_s, 1),
    }


def run_case(date: str, phase: int, profile: str, choices) -> dict:
    import clearing.api as api
    from scenarios.importers.rts_gmlc import import_rts_gmlc
    sc = import_rts_gmlc(date, profile=profile, reference_choices=choices).with_parameters(
        phase=phase)
    t0 = time.perf_counter()
    result = api.solve(sc)
    row = measure(sc, result, time.perf_counter() - t0)
    row.update(profile=profile, reference_choices=None if choices is None else list(choices),
               run_ruc=bool(sc.parameters.run_ruc))
    return row


def write_md(record: dict, out: Path) -> None:
    baas = sorted({b for r in record["runs"].values() for b in r["avg_lmp_usd_per_mwh"]})
    lines = [f"# RTS-GMLC import profiles on {record['date']} (phase {record['phase']})", "",
             "Made by `benchmarks/rts_profiles.py` (its docstring defines every column); "
             "the profiles: docs/rts-gmlc-import.md.", "", "```bash", *record["commands"],
             "```", "", f"Machine: {record['machine']}. Wall times are on a shared machine "
             "(other work running), not a timing benchmark.", "",
             "| case | production cost $ | IFM objective $ | "
             + " | ".join(f"avg LMP {b} $/MWh" for b in baas)
             + " | transfers MWh | committed unit-hours | start-ups | RUC | wall s |",
             "|---|---:|---:|" + "---:|" * len(baas) + "---:|---:|---:|---|---:|"]
    for name, r in record["runs"].items():
        obj = "" if r["ifm_objective_usd"] is None else f"{r['ifm_objective_usd']:,.0f}"
        lines.append(f"| {name} | {r['production_cost_usd']:,.0f} | {obj} | "
                     + " | ".join(f"{r['avg_lmp_usd_per_mwh'].get(b, float('nan')):.2f}"
                                  for b in baas)
                     + f" | {r['transfer_mwh'] or 0:,.0f} | {r['committed_unit_hours']} | "
                       f"{r['startups']} | {'yes' if r['run_ruc'] else 'no'} | "
                       f"{r['wall_s']:.0f} |")
    ref = record["runs"].get("reference")
    if ref:
        lines += ["", "Effect of each choice (reference minus the run with that choice "
                  "reverted to edam):", "", "| choice | production cost $ | "
                  + " | ".join(f"avg LMP {b}" for b in baas) + " |",
                  "|---|---:|" + "---:|" * len(baas)]
        for name, r in record["runs"].items():
            if not name.startswith("reference, "):
                continue
            c = name.split(", ", 1)[1].removesuffix(" as edam")
            d_cost = ref["production_cost_usd"] - r["production_cost_usd"]
            d_lmp = [ref["avg_lmp_usd_per_mwh"][b] - r["avg_lmp_usd_per_mwh"][b] for b in baas]
            lines.append(f"| {c} | {d_cost:+,.0f} | "
                         + " | ".join(f"{v:+.2f}" for v in d_lmp) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.rts_profiles")
    ap.add_argument("--date", default="2020-07-09")
    ap.add_argument("--phase", type=int, default=2, choices=(1, 2))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--cases", help="comma-separated case names (default: all 8)")
    ap.add_argument("--fresh", action="store_true", help="recompute every case")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    record = json.loads(path.read_text()) if path.is_file() and not a.fresh else {}
    if record.get("date") != a.date or record.get("phase") != a.phase:
        record = {}
    record.update(date=a.date, phase=a.phase, machine=f"{platform.machine()}, "
                  f"{__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
                  commands=[f"nice -n 10 python -m benchmarks.rts_profiles --date {a.date} "
                            f"--phase {a.phase}"])
    record.setdefault("runs", {})
    todo = cases()
    names = a.cases.split(",") if a.cases else list(todo)
    for name in names:
        if name in record["runs"] and not a.fresh:
            print(f"{name}: done before, kept", flush=True)
            continue
        profile, choices = todo[name]
        print(f"{name}: solving", flush=True)
        record["runs"][name] = run_case(a.date, a.phase, profile, choices)
        print(f"{name}: {record['runs'][name]}", flush=True)
        record["runs"] = {k: record["runs"][k] for k in todo if k in record["runs"]}
        path.write_text(json.dumps(record, indent=2) + "\n")
        write_md(record, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
