"""Reading notes and attachments through need-to-know: a case's records, one attachment's file, and a
search of notes and attachment names across the cases a person may see.

Every read is logged like any other read of a case (the read log, `what` = records | attachment |
search); a note or attachment above the reader's clearance is shown as existing, never its content, and
asking for such a file is a refusal, logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from workflow import access, blobs, notes, refusals, subjects
from workflow.db import utcnow
from workflow.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from workflow.models import CaseEvent
from workflow.principals import Principal
from workflow.reads import _find, _log
from workflow.tables import CASE, EVENT, READ


@dataclass(frozen=True)
class Record:
    """One note or attachment as a reader may see it (`withheld`: above their clearance)."""

    case_id: int
    seq: int
    kind: str  # note | attachment
    at: datetime
    actor: str
    marking: str
    withheld: bool
    text: str | None = None  # a note's text (None when withheld or redacted)
    file: dict[str, Any] | None = None  # an attachment's sha256, name, size, media_type

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "actor": self.actor,
            "marking": self.marking,
            "withheld": self.withheld,
            "text": self.text,
            "file": self.file,
        }


def record_of(e: CaseEvent, who: Principal) -> Record:
    payload = notes.shown_payload(e.trigger, e.payload, who)
    marking = notes.item_marking(e.trigger, payload) or ""
    withheld = bool(payload.get("withheld"))
    if e.trigger == "note":
        return Record(e.case_id, e.seq, "note", e.created_at, e.actor, marking, withheld, payload.get("note"))
    file = (
        None if withheld else {k: v for k, v in (payload.get("attachment") or {}).items() if k != "marking"}
    )
    return Record(e.case_id, e.seq, "attachment", e.created_at, e.actor, marking, withheld, file=file)


def case_records(
    session: Session, *, who: Principal, case_id: int, now: datetime | None = None, log: bool = True
) -> Sequence[Record]:
    """The case's notes and attachments, oldest first (`log` False: part of a read logged already, the
    case page's)."""
    _find(session, who, case_id, "records")
    events = (
        session.execute(
            select(CaseEvent)
            .where(col(CaseEvent.case_id) == case_id, col(CaseEvent.trigger).in_(notes.TRIGGERS))
            .order_by(col(CaseEvent.seq))
        )
        .scalars()
        .all()
    )
    records = [record_of(e, who) for e in events]
    if log:
        _log(session, who, case_id, "records", now)
    return records


@dataclass(frozen=True)
class Download:
    path: Path
    name: str
    media_type: str
    size: int
    sha256: str


def attachment_file(
    session: Session, *, who: Principal, case_id: int, sha256: str, now: datetime | None = None
) -> Download:
    """The stored file of one of the case's attachments, if `who` may see the case and is cleared for
    the attachment's marking; the download is logged as a read of the case."""
    _find(session, who, case_id, "attachment")
    found = None
    for (payload,) in session.execute(
        select(EVENT.c.payload).where(EVENT.c.case_id == case_id, EVENT.c.trigger == "attach")
    ):
        file = (payload or {}).get("attachment") or {}
        if file.get("sha256") == sha256:
            found = file
    if found is None:
        raise NotFound(f"case {case_id} has no attachment {sha256[:12]}")
    if not access.covers(who, found.get("marking", "")):
        refused = Forbidden(f"your clearance ({who.clearance}) does not cover {found.get('marking')}")
        session.rollback()
        refusals.record(session, who=who, action="read:attachment", case_id=case_id, exc=refused)
        raise refused
    store = blobs.store_for(session)
    path = blobs.blob_path(store, sha256)
    if not path.is_file():
        raise NotFound(f"the file of attachment {sha256[:12]} has been removed (its digest is kept)")
    _log(session, who, case_id, "attachment", now)
    return Download(path, blobs.safe_name(found.get("name")), found["media_type"], found["size"], sha256)


@dataclass(frozen=True)
class Found:
    case_id: int
    reference: str
    title: str
    record: Record


def search_records(session: Session, *, who: Principal, q: str, limit: int = 50) -> Sequence[Found]:
    """Notes and attachment names naming every word of `q` (fuzzily), in cases `who` may see and at
    markings they are cleared for; each case shown is logged as read (`search`)."""
    if not subjects.tokens(q):
        raise InvalidInput([FieldProblem("q", "give at least one word of two letters or more to search for")])
    hits = [
        h
        for h in subjects.find(session.connection(), q, limit=limit * 4)
        if h.event_seq > 0 and h.markings <= set(who.markings())
    ]
    if not hits:
        return []
    ids = sorted({h.case_id for h in hits})
    cases = {
        r.id: r
        for r in session.execute(
            select(CASE.c.id, CASE.c.reference, CASE.c.title).where(CASE.c.id.in_(ids), access.visible(who))
        )
    }
    wanted = [(h.case_id, h.event_seq) for h in hits if h.case_id in cases][:limit]
    if not wanted:
        return []
    events = {
        (e.case_id, e.seq): e
        for e in session.execute(
            select(CaseEvent).where(
                col(CaseEvent.case_id).in_({c for c, _ in wanted}), col(CaseEvent.trigger).in_(notes.TRIGGERS)
            )
        ).scalars()
    }
    out = [
        Found(c, cases[c].reference, cases[c].title, record_of(events[(c, s)], who))
        for c, s in wanted
        if (c, s) in events
    ]
    if out:
        at = utcnow()
        seen = sorted({f.case_id for f in out})
        session.execute(
            insert(READ),
            [{"case_id": c, "username": who.username, "what": "search", "read_at": at} for c in seen],
        )
        session.commit()
    return out
