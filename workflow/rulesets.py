"""Publishing rulesets (story 8): check, preview against the open caseload, publish; old versions stay.

The active ruleset is the newest published one; until anything is published, the rule files named by the
settings are active. Published rule text is stored in the database, so every process of a scale-out
deployment decides with the same version, and a decision's version can always be shown as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlmodel import Session, col

import rules
from workflow import caseload, ladders, service
from workflow.db import utcnow
from workflow.errors import Conflict, NotFound, RulesInvalid
from workflow.lifecycle import OPEN_STATES, ROUTABLE
from workflow.models import RulesetVersion
from workflow.rulebook import active_rulebook, active_version
from workflow.tables import CASE, VERSION

# Which ruleset is active is answered by workflow.rulebook; it is re-exported as part of this module's
# publishing API (check, preview, publish, apply, and what is active now).
__all__ = [
    "Applied",
    "Published",
    "active_rulebook",
    "active_version",
    "apply_to_open_cases",
    "check",
    "preview",
    "publish",
    "publish_and_apply",
    "published",
    "rule_files",
    "what_publishing_changes",
]


def rule_files(path: Path) -> dict[str, str]:
    """The rule files at `path` (a file or a folder of .yaml/.yml files) by relative name."""
    if path.is_file():
        return {path.name: path.read_text(encoding="utf-8")}
    return {
        p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(path.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file() and p.name not in rules.STRATEGY_FILES
    }


def check(path: Path) -> rules.CheckResult:
    return rules.check(path)


def _candidate(path: Path) -> rules.Ruleset:
    result = rules.check(path)
    if not result.ok or result.ruleset is None:
        raise RulesInvalid([str(e) for e in result.errors])
    return result.ruleset


def preview(session: Session, *, path: Path) -> rules.Preview:
    """What publishing the candidate rules at `path` would change on the open caseload, changing nothing.

    Each open case is compared as it stands (its hub, team, escalation level and policy) with what the
    candidate decides for it, by `what_publishing_changes`, the comparison publishing itself applies."""
    candidate = _candidate(path)
    current = active_rulebook(session)
    compiled = rules.compile_rules(candidate, backend=current.compiled.backend)
    held = _standings(session)
    cases = []
    standing = {}
    for case_id, reference, facts in caseload.open_cases(session):
        if case_id in held:  # a case closed between the two reads is simply not open any more
            cases.append((reference, facts))
            standing[reference] = _standing(held[case_id], facts)
    return rules.preview(current=current.compiled, candidate=compiled, cases=cases, standing=standing)


def _standings(session: Session) -> dict[int, RowMapping]:
    query = select(CASE.c.id, CASE.c.state, CASE.c.hub, CASE.c.team, CASE.c.escalation_level, CASE.c.policy)
    rows = session.connection().execute(query.where(CASE.c.state.in_(OPEN_STATES))).mappings()
    return {r["id"]: r for r in rows}


def _standing(row: Mapping[Any, Any], facts: Mapping[Any, Any]) -> rules.Standing:
    """What a case holds, and which of it the rules may still change."""
    return rules.Standing(
        hub=row["hub"],
        team=row["team"],
        level=row["escalation_level"] or None,
        policy=row["policy"] or {},
        routable=row["state"] in ROUTABLE,
        scored="band" in facts,
    )


def what_publishing_changes(
    *, reference: str, row: Mapping[Any, Any], facts: Mapping[Any, Any], decisions: rules.Decisions
) -> rules.CaseChange | None:
    """The one answer to "what does publishing change on this case": the preview shows it, publishing
    applies it. A tasked or reviewed case keeps its hub and team (they belong to the tasking decision);
    an unscored case keeps its escalation level; everything else follows the new decisions."""
    return rules.compare(
        reference, _standing(row, facts), decisions, rules_to=tuple(f.rule for f in decisions.trace)
    )


def _written(row: Mapping[Any, Any], facts: Mapping[Any, Any]) -> set[str]:
    """The case columns publishing sets on a case it changes (the policy always goes with the version)."""
    standing = _standing(row, facts)
    columns = {"policy", "ruleset_version"}
    if standing.scored:
        columns.add("escalation_level")
    if standing.routable:
        columns.update(("hub", "team"))
    return columns


@dataclass(frozen=True)
class Published:
    """A ruleset made active, as plain values (nothing that needs the session that wrote it)."""

    version: str
    published_at: datetime
    published_by: str
    note: str | None


def publish(session: Session, *, path: Path, actor: str, note: str | None = None) -> Published:
    """Make the rules at `path` the active ruleset (one transaction); earlier versions are kept.
    Open cases are not touched here: `apply_to_open_cases` brings them under the new rules."""
    candidate = _candidate(path)
    files = rule_files(path)
    try:
        session.execute(update(VERSION).where(VERSION.c.active.is_(True)).values(active=False))
        existing = session.get(RulesetVersion, candidate.version)
        if existing is None:
            existing = RulesetVersion(version=candidate.version, files=files, published_by=actor, note=note)
            session.add(existing)
        existing.active = True
        existing.published_at = utcnow()
        session.flush()
        done = Published(existing.version, existing.published_at, existing.published_by, existing.note)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return done


def publish_and_apply(
    session: Session, *, path: Path, actor: str, note: str | None = None
) -> tuple[Published, Applied]:
    """What `sctac rules publish` and the rules page do: publish, then re-decide the open cases."""
    done = publish(session, path=path, actor=actor, note=note)
    return done, apply_to_open_cases(session, actor=actor)


def published(session: Session, *, version: str) -> RulesetVersion:
    found = session.get(RulesetVersion, version)
    if found is None:
        raise NotFound(f"no published ruleset {version}")
    return found


@dataclass(frozen=True)
class Applied:
    changes: tuple[rules.CaseChange, ...]  # what was changed, in the form the preview promised it
    conflicts: list[str]  # cases that changed under us: publish again to include them
    errors: list[tuple[str, str]] = field(default_factory=list)  # (reference, why the rules cannot decide)

    @property
    def changed(self) -> list[str]:
        return [c.reference for c in self.changes]


def apply_to_open_cases(session: Session, *, actor: str, now: datetime | None = None) -> Applied:
    """Re-decide every open case under the active rules; each case `what_publishing_changes` names gets a
    `rules_applied` event in its own transaction."""
    book = active_rulebook(session)
    at = now or utcnow()
    todo = list(caseload.open_cases(session))
    session.rollback()
    changes: list[rules.CaseChange] = []
    conflicts: list[str] = []
    errors: list[tuple[str, str]] = []
    for case_id, reference, facts in todo:
        try:
            row = service.load_case(session, case_id)
            if row["state"] not in OPEN_STATES:
                session.rollback()
                continue
            try:
                decisions = book.compiled.evaluate(facts)
            except rules.FactError as exc:
                session.rollback()
                errors.append((reference, "; ".join(f"{path}: {msg}" for path, msg in exc.problems)))
                continue
            found = what_publishing_changes(reference=reference, row=row, facts=facts, decisions=decisions)
            if found is None:
                session.rollback()
                continue
            decided = book.decide(facts)
            every = {
                "policy": decided.policy,
                "ruleset_version": decided.ruleset_version,
                "escalation_level": decided.escalation_level,
                "hub": decided.hub,
                "team": decided.team,
            }
            values = {k: v for k, v in every.items() if k in _written(row, facts)}
            change = service.Change(
                "rules_applied",
                row["state"],
                reason=f"ruleset {decided.ruleset_version} published",
                payload={"decisions": decided.payload, "previous": {k: row[k] for k in values}},
                changes=values,
            )
            seq = row["event_seq"] + 1
            change.after.append(service.decision_writer(row["id"], seq, decided, at))
            if decided.escalation is not None and "band" in facts:
                raised = ladders.rule_escalation_if_new(
                    session, row=row, decided=decided, at=at, event_seq=seq
                )
                if raised is not None:
                    change.payload.update(escalation=raised.summary, notify=[raised.summary["notify"]])
                    change.after.append(raised.write)
            service.write_change(session, row=row, change=change, actor=actor, at=at)
            session.commit()
            changes.append(found)
        except Conflict:
            session.rollback()
            conflicts.append(reference)
    return Applied(tuple(changes), conflicts, errors)


def recent_versions(session: Session, *, limit: int = 20) -> Sequence[RulesetVersion]:
    """The latest published rulesets, newest first (the rules page's history)."""
    query = select(RulesetVersion).order_by(col(RulesetVersion.published_at).desc()).limit(limit)
    return session.execute(query).scalars().all()
