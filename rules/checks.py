"""The checker an admin runs before publishing: errors, plus warnings about overlaps and gaps.

A MoRiLE matrix file is checked on its own by :func:`check_matrix`; :func:`is_matrix_file` recognises
one (its top-level fields are a matrix's, none a ruleset section), as `sctac rules check` does.

Warnings are found by trying every combination of representative fact values (rules/partition.py):
a routing rule is *shadowed* when every case it matches is taken first by higher-ranked rules, and a
unit has a *gap* when some of its cases match no routing rule and fall to the default route.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.compiler import to_ir
from rules.conditions import Predicate, compile_condition
from rules.errors import RuleError, RuleFileErrors
from rules.loader import load_ruleset, looks_like_matrix
from rules.model import Ruleset
from rules.morile import Matrix, load_matrix
from rules.partition import Partition
from rules.retention import Retention, load_retention, retention_file
from rules.yamlsrc import Reader

MAX_POINTS = 200_000  # beyond this many combinations the search gives up (no warning rather than a guess)


@dataclass(frozen=True, order=True)
class RuleWarning:
    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message}"


@dataclass(frozen=True)
class CheckResult:
    errors: tuple[RuleError, ...]
    warnings: tuple[RuleWarning, ...]
    ruleset: Ruleset | None = None
    matrix: Matrix | None = None
    retention: Retention | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        return [f"error: {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]


def check(path: str | Path) -> CheckResult:
    """Load and lint a ruleset without raising: errors and warnings, each with file:line:col.

    The retention schedule beside the rules (rules/retention.py) is checked too; a retention file
    given on its own is checked alone.
    """
    retention: Retention | None = None
    retention_errors: tuple[RuleError, ...] = ()
    found = retention_file(path)
    if found is not None:
        try:
            retention = load_retention(found)
        except RuleFileErrors as exc:
            retention_errors = exc.errors
        if Path(path).is_file():
            return CheckResult(tuple(retention_errors), (), retention=retention)
    try:
        ruleset = load_ruleset(path)
    except RuleFileErrors as exc:
        return CheckResult((*exc.errors, *retention_errors), ())
    if retention_errors:
        return CheckResult(tuple(retention_errors), ())
    return CheckResult((), tuple(lint(ruleset)), ruleset, retention=retention)


def check_matrix(path: str | Path) -> CheckResult:
    """Load a MoRiLE matrix file without raising: every error with file:line:col."""
    try:
        matrix = load_matrix(path)
    except RuleFileErrors as exc:
        return CheckResult(exc.errors, ())
    return CheckResult((), (), matrix=matrix)


def is_matrix_file(path: str | Path) -> bool:
    """A single file whose top-level fields include a matrix's and no ruleset section."""
    path = Path(path)
    if not path.is_file():
        return False
    return looks_like_matrix(Reader(str(path), []).load(path))


class _Space:
    def __init__(self, ruleset: Ruleset, partition: Partition) -> None:
        self.partition = partition
        self.vocab = ruleset.vocabularies
        self.kinds = ruleset.unit_kinds

    def points(self, facts: Sequence[str], fixed: dict[str, Any]) -> Iterator[dict[str, Any]] | None:
        names = [f for f in sorted(set(facts)) if f not in fixed]
        domains = [self.partition.representatives(f, self.vocab) for f in names]
        size = 1
        for d in domains:
            size *= len(d)
        if size > MAX_POINTS:
            return None
        return self._iter(names, domains, fixed)

    def _iter(
        self, names: list[str], domains: list[list[Any]], fixed: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        for values in itertools.product(*domains):
            point = {
                k: v
                for k, v in itertools.chain(zip(names, values, strict=True), fixed.items())
                if v is not None
            }
            unit = point.get("unit")
            if unit is not None:  # typed facts always carry the unit's own kind
                point["unit_kind"] = self.kinds[unit]
            yield point


def lint(ruleset: Ruleset) -> list[RuleWarning]:
    ir = to_ir(ruleset)
    routing = sorted((r for r in ir["rules"] if r["section"] == "routing"), key=lambda r: r["rank"])
    rules = [r for r in routing if r["name"] != "default_route"]
    by_name = {r.name: r for r in ruleset.routing}
    space = _Space(ruleset, Partition(r["when"] for r in rules))
    preds: list[Predicate] = [compile_condition(r["when"]) for r in rules]
    reads = [set(r["reads"]) | ({"unit"} if "unit_kind" in r["reads"] else set()) for r in rules]
    warnings: list[RuleWarning] = []

    for index, rule in enumerate(rules):
        if index == 0:
            continue
        facts = set(reads[index]).union(*reads[:index])
        points = space.points(sorted(facts), {})
        if points is None:
            continue
        fires = False
        takers: set[int] = set()
        for point in points:
            if not preds[index](point):
                continue
            winner = next((j for j in range(index) if preds[j](point)), None)
            if winner is None:
                fires = True
                break
            takers.add(winner)
        if not fires:
            source = by_name[rule["name"]]
            names = ", ".join(rules[j]["name"] for j in sorted(takers)) or "no case at all"
            message = (
                f'routing rule "{rule["name"]}" can never fire: '
                f"every case it matches is taken first by {names}"
                if takers
                else f'routing rule "{rule["name"]}" can never match any case'
            )
            warnings.append(
                RuleWarning(source.file, source.line, source.column, f"routing[{source.index}]", message)
            )

    default = ruleset.default_route.hub
    all_reads = set().union(*reads) if reads else set()
    anchor = ruleset.routing[0] if ruleset.routing else None
    for code, unit in ruleset.units.items():
        points = space.points(sorted(all_reads - {"unit", "unit_kind"}), {"unit": code})
        if points is None:
            continue
        if any(not any(p(point) for p in preds) for point in points):
            file, line, col = (anchor.file, anchor.line, anchor.column) if anchor else (ruleset.source, 1, 1)
            warnings.append(
                RuleWarning(
                    file,
                    line,
                    col,
                    "routing",
                    f"unit {code} ({unit.name}) has cases no routing rule takes: "
                    f"they fall to the default route ({default})",
                )
            )
    return warnings
