"""Subject access (DPA 2018 Part 3, UK GDPR Art. 15): the data-protection officer finds every case, note
and attachment naming a person and exports a disclosure bundle with what must be withheld marked.

Only the `dpo` role may search or export (a refusal is logged like any other); the search reaches every
case, whatever its unit or hub, because a subject-access answer must be complete. The DPO's clearance
still holds: an item above it is listed (that it exists, where) with its content withheld. Every search
and export is written to `subject_access`, which admins read (`access_log`).

Marked for review, never silently dropped: items above OFFICIAL (sensitive material, possible
exemptions), items that name other people (third parties: the case's target when it is not the
subject, and other capitalised names), and items withheld for clearance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from workflow import notes, refusals, subjects
from workflow.db import utcnow
from workflow.errors import FieldProblem, Forbidden, InvalidInput
from workflow.models import SubjectAccess
from workflow.principals import MARKINGS, Principal
from workflow.tables import CASE, EVENT, SUBJECT_ACCESS

ROLE = "dpo"
_CAPITALISED = re.compile(r"\b[A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z'\u2019-]+)+\b")


@dataclass
class Item:
    """One place the subject is named."""

    case_id: int
    reference: str
    kind: str  # case | note | attachment
    seq: int
    at: datetime
    marking: str
    score: float
    matched: dict[str, str]  # query word -> the word found
    where: list[str]  # target | title | summary | note | attachment
    content: dict[str, Any] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "kind": self.kind,
            "seq": self.seq,
            "at": self.at,
            "marking": self.marking,
            "score": self.score,
            "matched": self.matched,
            "where": self.where,
            "content": self.content,
            "review": self.review,
            "withhold_for_review": bool(self.review),
        }


def require_dpo(session: Session, who: Principal, action: str) -> None:
    if who.has(ROLE) or who.is_system:
        return
    exc = Forbidden(
        f"{action} needs the dpo role; you have {', '.join(sorted(who.roles)) or 'no roles'}", needed=[ROLE]
    )
    session.rollback()
    refusals.record(session, who=who, action=action, case_id=None, exc=exc)
    raise exc


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) > 200 or not subjects.tokens(name):
        raise InvalidInput([FieldProblem("name", "give the subject's name (at most 200 characters)")])
    return name


def _log(session: Session, who: Principal, action: str, name: str, matches: int) -> None:
    session.execute(
        insert(SUBJECT_ACCESS).values(
            at=utcnow(), username=who.username, action=action, query=name, matches=matches
        )
    )
    session.commit()


def _others(text: str, subject: set[str]) -> list[str]:
    """Capitalised multi-word names in `text` that are not the subject (possible third parties)."""
    found: dict[str, None] = {}
    for m in _CAPITALISED.finditer(text or ""):
        words = set(subjects.tokens(m.group()))
        if words and not any(subjects.similarity(w, s) for w in words for s in subject):
            found.setdefault(m.group())
    return list(found)


def _items(session: Session, who: Principal, name: str) -> list[Item]:
    hits = subjects.find(session.connection(), name, limit=2000)
    if not hits:
        return []
    ids = sorted({h.case_id for h in hits})
    wanted_columns = [
        CASE.c[c]
        for c in ("id", "reference", "title", "summary", "target_type", "target_name", "protective_marking")
    ]
    cases = {
        r["id"]: r
        for r in session.execute(
            select(*wanted_columns, CASE.c.created_at).where(CASE.c.id.in_(ids))
        ).mappings()
    }
    wanted = {(h.case_id, h.event_seq) for h in hits if h.event_seq > 0}
    events = {}
    if wanted:
        for e in session.execute(
            select(EVENT.c.case_id, EVENT.c.seq, EVENT.c.trigger, EVENT.c.payload, EVENT.c.created_at).where(
                EVENT.c.case_id.in_(sorted({c for c, _ in wanted})), EVENT.c.trigger.in_(notes.TRIGGERS)
            )
        ).mappings():
            events[(e["case_id"], e["seq"])] = e
    subject = set(subjects.tokens(name))
    cleared = set(who.markings())
    items: list[Item] = []
    for h in hits:
        case = cases.get(h.case_id)
        if case is None:
            continue
        matched = {q: t for q, (t, _) in h.matched.items()}
        if h.event_seq == 0:
            marking = case["protective_marking"]
            content = {
                "title": case["title"],
                "target": f"{case['target_type']}: {case['target_name']}",
                "summary": case["summary"],
            }
            kind, at, text = "case", case["created_at"], f"{case['title']}. {case['summary']}"
        else:
            found = events.get((h.case_id, h.event_seq))
            if found is None:
                continue
            e = found
            payload = e["payload"] or {}
            marking = notes.item_marking(e["trigger"], payload) or case["protective_marking"]
            if e["trigger"] == "note":
                kind, content, text = "note", {"text": payload.get("note")}, str(payload.get("note") or "")
            else:
                file = payload.get("attachment") or {}
                kind = "attachment"
                content = {k: file.get(k) for k in ("name", "sha256", "size", "media_type")}
                text = str(file.get("name") or "")
            at = e["created_at"]
        review: list[str] = []
        if marking not in cleared:
            content = {}
            review.append(
                f"withheld: marked {marking}, above your clearance; a cleared officer must review it"
            )
        else:
            if MARKINGS.index(marking) > 0:
                review.append(f"marked {marking}: review for exemptions before disclosure")
            others = _others(text, subject)
            if kind == "case" and not any(
                subjects.similarity(w, s) for w in subjects.tokens(case["target_name"]) for s in subject
            ):
                others.insert(0, case["target_name"])
            if others:
                review.append("may name third parties: " + ", ".join(dict.fromkeys(others)))
        items.append(
            Item(
                case_id=h.case_id,
                reference=case["reference"],
                kind=kind,
                seq=h.event_seq,
                at=at,
                marking=marking,
                score=h.score,
                matched=matched,
                where=sorted(h.sources),
                content=content,
                review=review,
            )
        )
    return items


def search(session: Session, *, by: Principal, name: str) -> list[Item]:
    """Every case, note and attachment naming `name` (normalised, fuzzy), logged."""
    require_dpo(session, by, "subject:search")
    name = _check_name(name)
    items = _items(session, by, name)
    _log(session, by, "search", name, len(items))
    return items


def bundle(session: Session, *, by: Principal, name: str, fmt: str = "json") -> dict[str, Any]:
    """The disclosure bundle: every item found, each with what must be reviewed before it is disclosed."""
    require_dpo(session, by, f"subject:export-{fmt}"[:64])
    name = _check_name(name)
    items = _items(session, by, name)
    at = utcnow()
    _log(session, by, f"export-{fmt}", name, len(items))
    return {
        "subject": name,
        "normalised": " ".join(subjects.tokens(name)),
        "generated_at": at,
        "generated_by": by.username,
        "clearance": by.clearance,
        "counts": {
            "items": len(items),
            "cases": len({i.case_id for i in items}),
            "for_review": sum(1 for i in items if i.review),
        },
        "items": [i.as_dict() for i in items],
        "notice": (
            "Draft for the data-protection officer. Items marked withhold_for_review must be reviewed "
            "(exemptions, third-party data, markings) before anything is disclosed to the subject."
        ),
    }


def access_log(
    session: Session, *, by: Principal, username: str | None = None, limit: int = 100
) -> Sequence[SubjectAccess]:
    """Subject searches and exports, newest first (admins only)."""
    if not (by.is_admin or by.is_system):
        exc = Forbidden("the subject-access log needs the admin role", needed=["admin"])
        session.rollback()
        refusals.record(session, who=by, action="read:subject-access", case_id=None, exc=exc)
        raise exc
    query = select(SubjectAccess)
    if username is not None:
        query = query.where(col(SubjectAccess.username) == username)
    return session.execute(query.order_by(col(SubjectAccess.id).desc()).limit(limit)).scalars().all()
