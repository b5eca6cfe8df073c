"""The workflow's view of the active rules: MoRiLE scoring, the compiled ruleset and its vocabulary.

rules/ is pure and knows nothing of cases; this module hands it facts and turns its answers into what
the workflow stores (column values, and the JSON that records the "why" of each decision).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

import rules
from workflow import observe
from workflow.errors import ConfigError, FieldProblem, InvalidInput
from workflow.settings import get_settings
from workflow.tables import VERSION


@dataclass(frozen=True)
class Scored:
    """A MoRiLE score as the workflow stores it."""

    band: str
    risk: float
    harm_total: float
    likelihood_total: float
    confidence: str
    org_grade: str
    matrix_id: str
    matrix_version: str
    payload: dict[str, Any]
    facts: dict[str, Any]


@dataclass(frozen=True)
class Decided:
    """The rules' decisions for one case, flattened for columns, with the full record in `payload`."""

    ruleset_version: str
    backend: str
    hub: str
    team: str | None
    route_rule: str
    escalation_level: int
    escalation: dict[str, Any] | None
    policy: dict[str, Any]
    payload: dict[str, Any]


class Rulebook:
    def __init__(self, ruleset: rules.Ruleset, matrix: rules.Matrix, backend: str | None = None) -> None:
        self.ruleset = ruleset
        self.matrix = matrix
        self.compiled = rules.compile_rules(ruleset, backend=backend)

    @property
    def version(self) -> str:
        return self.ruleset.version

    def vocabulary_problems(
        self, *, target_type: str, themes: Iterable[str], capabilities: Iterable[str]
    ) -> list[FieldProblem]:
        rs = self.ruleset
        problems = []
        if target_type not in rs.target_types:
            problems.append(
                FieldProblem("target_type", f"unknown {target_type!r}; one of {', '.join(rs.target_types)}")
            )
        for name, values, known in (
            ("themes", themes, rs.themes),
            ("capabilities", capabilities, rs.capabilities),
        ):
            for i, value in enumerate(values):
                if value not in known:
                    problems.append(
                        FieldProblem(f"{name}.{i}", f"unknown {value!r}; one of {', '.join(known)}")
                    )
        return problems

    def score(self, inputs: Mapping[str, Any]) -> Scored:
        try:
            s = rules.score(self.matrix, inputs)
        except rules.ScoreInputError as exc:
            raise InvalidInput([FieldProblem(f"assessment.{f}", m) for f, m in exc.problems]) from None
        return Scored(
            band=s.band,
            risk=s.risk,
            harm_total=s.harm_total,
            likelihood_total=s.likelihood_total,
            confidence=s.confidence,
            org_grade=s.org_grade,
            matrix_id=s.matrix_id,
            matrix_version=s.matrix_version,
            payload=s.as_dict(),
            facts=s.facts(),
        )

    def is_downgrade(self, before: str, after: str) -> bool:
        return rules.is_downgrade(before, after)

    def decide(self, facts: Mapping[str, Any]) -> Decided:
        d = self.compiled.evaluate(facts)
        observe.announce(observe.RULE_DECISION, {"backend": d.backend})
        payload = d.as_dict()
        return Decided(
            ruleset_version=d.ruleset_version,
            backend=d.backend,
            hub=d.route.hub,
            team=d.route.team,
            route_rule=d.route.rule,
            escalation_level=d.escalation.level if d.escalation else 0,
            escalation=payload["escalation"],
            policy=payload["policy"],
            payload=payload,
        )


def load_rulebook(rules_path: Path, matrix_path: Path, backend: str | None = None) -> Rulebook:
    try:
        return Rulebook(rules.load_ruleset(rules_path), rules.load_matrix(matrix_path), backend)
    except rules.RuleFileErrors as exc:
        raise ConfigError(f"the active rules do not load:\n{exc}") from None


@lru_cache(maxsize=1)
def get_rulebook() -> Rulebook:
    settings = get_settings()
    return load_rulebook(settings.rules_path, settings.matrix_path, settings.rules_backend)


# --- The active ruleset: the newest published one (workflow/rulesets.py), else the configured files ----

_ACTIVE = select(VERSION.c.version).where(VERSION.c.active.is_(True))
_loaded: dict[str, Rulebook] = {}
_lock = threading.Lock()


def active_version(session: Session) -> str | None:
    return session.connection().execute(_ACTIVE).scalar_one_or_none()


def active_rulebook(session: Session) -> Rulebook:
    """The rulebook decisions are made with now: the published one, else the configured files."""
    version = active_version(session)
    if version is None:
        return get_rulebook()
    with _lock:
        book = _loaded.get(version)
    if book is None:
        files = (
            session.connection()
            .execute(select(VERSION.c.files).where(VERSION.c.version == version))
            .scalar_one()
        )
        book = _materialise(version, files)
        with _lock:
            _loaded[version] = book
    return book


def _materialise(version: str, files: dict[str, str]) -> Rulebook:
    # rules/ loads from files (so its errors can name them); a private folder per version keeps that.
    folder = Path(tempfile.mkdtemp(prefix=f"sctac-{version}-"))
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    settings = get_settings()
    return load_rulebook(folder, settings.matrix_path, settings.rules_backend)
