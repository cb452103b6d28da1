"""The two exception types of the engine (architecture.md, Conventions).

`ScenarioError` is bad input: it carries one or more `Problem`s, each naming the file, the row as
the user sees it in the CSV (header = line 1), the column, what was found and what was expected.
`SolverError` is solver trouble (HiGHS failed, or the pricing LP failed where the MIP succeeded).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    file: str
    row: int | None
    column: str | None
    found: str
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: found {self.found}; expected {self.expected}"


class ScenarioError(ValueError):
    """Bad input. Holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class SolverError(RuntimeError):
    """The solver could not produce a solution (or a priced solution) and why."""
