"""The error types of ``rules/``: every loader and evaluator reports all problems at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RuleError:
    """One problem in a rule or matrix file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RuleFileErrors(Exception):
    """Every problem found while loading a ruleset or a matrix (never just the first)."""

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors: tuple[RuleError, ...] = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class _ProblemList(ValueError):
    """Base of the input errors: a list of ``(field_path, message)`` pairs."""

    kind = "input"

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = "\n".join(f"  {path}: {message}" for path, message in self.problems)
        super().__init__(f"{len(self.problems)} invalid {self.kind}(s):\n{lines}")


class ScoreInputError(_ProblemList):
    """MoRiLE inputs that are missing, of the wrong type, out of range or unknown."""

    kind = "MoRiLE input"


class FactError(_ProblemList):
    """Case facts that cannot be evaluated: unknown facts, wrong types, values outside the vocabularies.

    Facts are typed before any backend sees them because durable_rules compares strings with numbers
    as text (``"high" >= 80`` is true there): a bad fact must fail loudly, never match silently.
    """

    kind = "fact"


class RuleEngineError(RuntimeError):
    """The rule engine itself failed (never carries case facts: they may be OFFICIAL-SENSITIVE)."""


class BackendUnavailable(RuleEngineError):
    """The requested backend cannot be imported on this interpreter."""
