"""clearing/'s three jobs keep their import rules (issue 18; clearing/README.md and the README of
each sub-package): market/ imports nothing from analysis/, runs/ or the entry points; analysis/
nothing from runs/; analysis/check/ nothing from market/ (the checker stays independent of the
engine's model and data preparation); the shared ground (results, outputs, progress) no
sub-package. Imports are read with `ast`, lazy ones inside functions and
`importlib.import_module("...")` literals included."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLEARING = REPO / "clearing"

# (module prefix that is constrained, imported prefixes it must not use, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("clearing.market", ("clearing.analysis", "clearing.runs", "clearing.api", "clearing.cli"),
     "a market run does not know who reads it"),
    ("clearing.analysis", ("clearing.runs", "clearing.cli"), "analysis does not use the run store"),
    ("clearing.analysis.check", ("clearing.market",),
     "the checker is independent of the engine's model and data preparation"),
    ("clearing.results", ("clearing.market", "clearing.analysis", "clearing.runs", "clearing.api",
                          "clearing.cli"), "the results contract is the ground"),
    ("clearing.outputs", ("clearing.market", "clearing.analysis", "clearing.runs", "clearing.api",
                          "clearing.cli"), "safe output paths are the ground"),
    ("clearing.progress", ("clearing.market", "clearing.analysis", "clearing.runs", "clearing.api",
                           "clearing.cli"), "progress lines are the ground"),
)


def module_name(path: Path) -> str:
    """clearing/market/ifm.py -> clearing.market.ifm; a package's __init__.py -> the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module `source` imports: `import a.b`, `from a.b import c` (as a.b and a.b.c),
    relative imports resolved against `module`, and `importlib.import_module("a.b")` literals."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imports: set[str]) -> list[str]:
    """The rule breaks of one module's imports, one line each."""
    out = []
    for owner, forbidden, why in RULES:
        if not _under(module, owner):
            continue
        for name in sorted(imports):
            out += [f"{module} imports {name} ({why})" for f in forbidden if _under(name, f)]
    return out


def _clearing_modules() -> list[tuple[str, Path]]:
    return [(module_name(p), p) for p in sorted(CLEARING.rglob("*.py"))]


def test_the_three_sub_packages_exist_with_their_readmes():
    """The layout of issue 18: market/, analysis/ (with check/), runs/, each a package with a
    README.md, and the shared top holds only the entry points and the ground."""
    for pkg in ("market", "analysis", "analysis/check", "runs"):
        assert (CLEARING / pkg / "__init__.py").is_file(), pkg
        assert (CLEARING / pkg / "README.md").is_file(), pkg
    assert (CLEARING / "README.md").is_file()
    top = {p.name for p in CLEARING.glob("*.py")}
    assert top == {"__init__.py", "api.py", "cli.py", "results.py", "outputs.py", "progress.py"}


def test_no_module_breaks_the_import_rules():
    broken = []
    for module, path in _clearing_modules():
        imports = imported_modules(path.read_text(encoding="utf-8"), module,
                                   path.name == "__init__.py")
        broken += violations(module, imports)
    assert not broken, "\n".join(broken)


def test_the_rules_see_every_clearing_module():
    """The walk reaches the modules it constrains (else the rule test could pass on nothing)."""
    names = {m for m, _ in _clearing_modules()}
    for expected in ("clearing.market.engine", "clearing.market.data", "clearing.analysis.check",
                     "clearing.analysis.check.flows", "clearing.runs.store", "clearing.results"):
        assert expected in names


@pytest.mark.parametrize("module, source, is_package, expected", [
    # a lazy import inside a function in market/ of the run store
    ("clearing.market.engine", "def f():\n    from clearing.runs.store import Store\n", False,
     ["clearing.market.engine imports clearing.runs.store"]),
    # `from clearing.market import data` inside the checker (the engine's data preparation)
    ("clearing.analysis.check.flows", "from clearing.market import data\n", False,
     ["clearing.analysis.check.flows imports clearing.market"]),
    # a relative import from the checker's package up into market/
    ("clearing.analysis.check", "from ...market.engine import run_day_ahead\n", True,
     ["clearing.analysis.check imports clearing.market.engine"]),
    # a string-named import of analysis/ from market/
    ("clearing.market.rt", "import importlib\nimportlib.import_module('clearing.analysis.settle')\n",
     False, ["clearing.market.rt imports clearing.analysis.settle"]),
    # the ground importing a sub-package
    ("clearing.results", "import clearing.market.rse\n", False,
     ["clearing.results imports clearing.market.rse"]),
])
def test_a_violating_import_is_caught(module, source, is_package, expected):
    """Each rule fires on a hand-written violating import (the message starts with the pair)."""
    found = violations(module, imported_modules(source, module, is_package))
    for e in expected:
        assert any(v.startswith(e + " ") for v in found), (e, found)


@pytest.mark.parametrize("module, source", [
    ("clearing.analysis.compare", "from clearing.analysis.check import check_run\n"),
    ("clearing.analysis.phases", "importlib.import_module('clearing.market.rt')\n"),
    ("clearing.runs.sweep", "import clearing.api as api\nfrom clearing.analysis import settle\n"),
    ("clearing.market.ifm", "from clearing.market.solver import PersistentHighs\n"),
])
def test_allowed_imports_pass(module, source):
    assert violations(module, imported_modules(source, module, False)) == []
