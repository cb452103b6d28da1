"""docs/ covers what the project ships (issue 17): every CLI command and option (docs/cli.md),
every table and column the engine writes with its type (docs/results.md, against COLUMN_TYPES),
every § the code cites and every [A] parameter (docs/market-model.md), and the Python API page's
examples run as written (docs/python-api.md)."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from clearing.cli import build_parser
from clearing.results import COLUMN_TYPES, RESULT_TABLES
from scenarios.parameters import MarketParameters

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def _sections(text: str, level: str) -> dict[str, str]:
    """heading text -> body, for headings of exactly `level` ('##' or '###')."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_cli_command_and_option_is_documented():
    text = (DOCS / "cli.md").read_text()
    sections = _sections(text, "##")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for verb, parser in sub.choices.items():
        body = sections.get(f"`edam {verb}`")
        if body is None:
            missing.append(f"section `edam {verb}`")
            continue
        for a in parser._actions:
            if a.dest == "help":
                continue
            names = a.option_strings or [a.dest, a.dest.upper(), str(a.metavar)]
            if not any(f"`{n}`" in body or f" {n} " in body for n in names):
                missing.append(f"edam {verb} {names[0]}")
    assert not missing, missing
    assert "--version" in text


def test_every_table_and_column_is_documented_with_its_type():
    sections = _sections((DOCS / "results.md").read_text(), "###")
    documented = {h.strip("`") for h in sections}
    assert documented == set(COLUMN_TYPES), documented ^ set(COLUMN_TYPES)
    assert set(RESULT_TABLES) <= documented
    for table, kinds in COLUMN_TYPES.items():
        body = sections[f"`{table}`"]
        rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| (str|int|float|bool) \|", body, re.M))
        assert rows == kinds, (table, set(rows.items()) ^ set(kinds.items()))


def test_code_section_references_resolve_in_market_model():
    """Every 'spec §X.Y' / '§X.Y' in the packages is a heading of docs/market-model.md."""
    headings = set(re.findall(r"^#+ (\d+(?:\.\d+)?)[ .]", (DOCS / "market-model.md").read_text(),
                              re.M))
    headings |= {"11.5", "11.6", "11.7", "11.8", "11.9"}  # one heading covers 11.5 to 11.9
    cited = set()
    for pkg in ("clearing", "network", "products", "scenarios"):
        for f in (REPO / pkg).rglob("*.py"):
            cited |= set(re.findall(r"§ ?(\d+(?:\.\d+)?)", f.read_text(encoding="utf-8")))
    assert len(cited) > 30
    assert not cited - headings, sorted(cited - headings)
    for pkg in ("clearing", "network", "products", "scenarios"):
        assert "docs/market-model.md" in (REPO / pkg / "__init__.py").read_text()


def test_market_model_names_every_assumption_parameter():
    text = (DOCS / "market-model.md").read_text()
    assumed = [f.name for f in dataclasses.fields(MarketParameters) if f.metadata["tag"] == "A"]
    assert len(assumed) > 20
    assert not [n for n in assumed if f"`{n}`" not in text]
    from products.settlement_core import SettlementOptions
    assert not [f.name for f in dataclasses.fields(SettlementOptions) if f"`{f.name}`" not in text]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("i", range(len(_python_blocks(DOCS / "python-api.md"))))
def test_python_api_examples_run(i, tmp_path, monkeypatch):
    """Each block of docs/python-api.md, executed as written from an empty folder."""
    monkeypatch.chdir(tmp_path)
    block = _python_blocks(DOCS / "python-api.md")[i]
    exec(compile(block, f"python-api.md block {i}", "exec"), {})  # noqa: S102 - our own docs


def test_docs_index_links_the_new_pages():
    readme = (REPO / "README.md").read_text()
    for page in ("market-model.md", "cli.md", "results.md", "python-api.md"):
        assert page in readme and (DOCS / page).is_file()
