"""Generate the parameter reference table of docs/parameters.md from `MarketParameters`.

    python -m scenarios.parameters_doc            # rewrite the table in docs/parameters.md
    python -m scenarios.parameters_doc --check    # exit 1 if the table is out of date
    python -m scenarios.parameters_doc --print    # print the table only

The table sits between the two marker lines below; the hand-written text around it is kept.
One row per field of `MarketParameters` (its `describe()`: name, default, unit, spec reference,
tag, meaning), plus the allowed values from the field metadata (choices or range).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

from scenarios.parameters import MarketParameters

BEGIN = "<!-- BEGIN GENERATED PARAMETER TABLE (python -m scenarios.parameters_doc) -->"
END = "<!-- END GENERATED PARAMETER TABLE -->"
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "parameters.md"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isinf(v):
            return ".inf"
        return f"{v:g}"
    return str(v)


def _allowed(name: str, default, md: dict) -> str:
    if name == "deployment_constraint_set":
        return "`none`, `base`, `all`, or a file of branch ids in the scenario folder"
    if isinstance(default, bool):
        return "`true`, `false`"
    if md.get("choices") is not None:
        return ", ".join(f"`{_value(c)}`" for c in md["choices"])
    lo, hi = md.get("lo"), md.get("hi")
    inf = " or `.inf`" if md.get("inf_ok") else ""
    if lo is not None and hi is not None:
        return f"{_value(lo)} .. {_value(hi)}{inf}"
    if lo is not None:
        return f">= {_value(lo)}{inf}"
    if hi is not None:
        return f"<= {_value(hi)}{inf}"
    return ""


def parameter_table() -> str:
    """The Markdown table (one row per MarketParameters field, in declaration order)."""
    meta = {f.name: f.metadata for f in dataclasses.fields(MarketParameters)}
    lines = ["| name | default | unit | allowed | spec | tag | meaning |",
             "|---|---|---|---|---|---|---|"]
    for row in MarketParameters.describe():
        doc = str(row["doc"]).replace("|", "\\|")
        lines.append(f"| `{row['name']}` | `{_value(row['default'])}` | {row['unit']} | "
                     f"{_allowed(row['name'], row['default'], meta[row['name']])} | {row['ref']} | {row['tag']} | {doc} |")
    return "\n".join(lines) + "\n"


def render(text: str | None) -> str:
    """`text` (the current document, or None) with the generated table replaced."""
    block = f"{BEGIN}\n{parameter_table()}{END}"
    if not text or BEGIN not in text or END not in text:
        head = (text.rstrip() + "\n\n") if text else "# Market parameters\n\n"
        return head + block + "\n"
    pre, rest = text.split(BEGIN, 1)
    _, post = rest.split(END, 1)
    return pre + block + post


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scenarios.parameters_doc",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=DOC_PATH)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="fail if the table is out of date")
    g.add_argument("--print", action="store_true", help="print the table only")
    a = ap.parse_args(argv)
    if a.print:
        sys.stdout.write(parameter_table())
        return 0
    old = a.path.read_text() if a.path.exists() else None
    new = render(old)
    if a.check:
        if new != old:
            print(f"{a.path}: parameter table out of date; run python -m scenarios.parameters_doc",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        a.path.parent.mkdir(parents=True, exist_ok=True)
        a.path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
