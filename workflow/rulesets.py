"""Publishing rulesets (story 8): check, preview against the open caseload, publish; old versions stay.

The active ruleset is the newest published one; until anything is published, the rule files named by the
settings are active. Published rule text is stored in the database, so every process of a scale-out
deployment decides with the same version, and a decision's version can always be shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

import rules
from workflow import caseload, ladders, service
from workflow.db import utcnow
from workflow.errors import Conflict, NotFound, RulesInvalid
from workflow.lifecycle import ROUTABLE
from workflow.models import RulesetVersion
from workflow.rulebook import active_rulebook, active_version
from workflow.tables import VERSION

# Which ruleset is active is answered by workflow.rulebook; it is re-exported as part of this module's
# publishing API (check, preview, publish, apply, and what is active now).
__all__ = [
    "Applied",
    "active_rulebook",
    "active_version",
    "apply_to_open_cases",
    "check",
    "preview",
    "publish",
    "published",
    "rule_files",
]


def rule_files(path: Path) -> dict[str, str]:
    """The rule files at `path` (a file or a folder of .yaml/.yml files) by relative name."""
    if path.is_file():
        return {path.name: path.read_text(encoding="utf-8")}
    return {
        p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(path.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file()
    }


def check(path: Path) -> rules.CheckResult:
    return rules.check(path)


def _candidate(path: Path) -> rules.Ruleset:
    result = rules.check(path)
    if not result.ok or result.ruleset is None:
        raise RulesInvalid([str(e) for e in result.errors])
    return result.ruleset


def preview(session: Session, *, path: Path) -> rules.Preview:
    """What the candidate rules at `path` would change on every open case, without changing anything."""
    candidate = _candidate(path)
    current = active_rulebook(session)
    compiled = rules.compile_rules(candidate, backend=current.compiled.backend)
    return rules.preview(
        current=current.compiled, candidate=compiled, cases=caseload.open_case_facts(session)
    )


def publish(session: Session, *, path: Path, actor: str, note: str | None = None) -> RulesetVersion:
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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return existing


def published(session: Session, *, version: str) -> RulesetVersion:
    found = session.get(RulesetVersion, version)
    if found is None:
        raise NotFound(f"no published ruleset {version}")
    return found


@dataclass(frozen=True)
class Applied:
    changed: list[str]
    conflicts: list[str]


def apply_to_open_cases(session: Session, *, actor: str, now: datetime | None = None) -> Applied:
    """Re-decide every open case under the active rules; each case whose route (before tasking),
    escalation level or policy changes gets a `rules_applied` event in its own transaction."""
    book = active_rulebook(session)
    at = now or utcnow()
    todo = list(caseload.open_cases(session))
    session.rollback()
    changed: list[str] = []
    conflicts: list[str] = []
    for case_id, reference, facts in todo:
        try:
            row = service.load_case(session, case_id)
            decided = book.decide(facts)
            values: dict[str, Any] = {"policy": decided.policy, "ruleset_version": decided.ruleset_version}
            if "band" in facts:
                values["escalation_level"] = decided.escalation_level
            if row["state"] in ROUTABLE:
                values.update(hub=decided.hub, team=decided.team)
            if all(row[k] == v for k, v in values.items() if k != "ruleset_version"):
                session.rollback()
                continue
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
            changed.append(reference)
        except Conflict:
            session.rollback()
            conflicts.append(reference)
    return Applied(changed, conflicts)
