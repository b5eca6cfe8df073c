"""Writing notes and attachments: the service calls behind the API, the pages and the CLI.

A note is one `note` firing. An attachment is stored first (workflow/blobs.py: sized, hashed and sniffed
as it streams in) and then referenced by one `attach` firing; the person's standing is checked before
the file is taken, so someone who may not attach leaves nothing in the store. If the firing fails after
the file is stored (a conflict, a crash), the file is an orphan until `sctac attachments sweep`.
"""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlmodel import Session

from workflow import access, blobs, refusals, service
from workflow.errors import DomainError, FieldProblem, Forbidden, InvalidInput
from workflow.principals import MARKINGS, Principal
from workflow.reads import visible_case
from workflow.service import Written
from workflow.settings import get_settings
from workflow.tables import EVENT


def add_note(
    session: Session,
    *,
    case_id: int,
    by: Principal,
    text: str,
    marking: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Written:
    data: dict[str, str] = {"note": text}
    if marking:
        data["note_marking"] = marking
    return service.fire(
        session, case_id=case_id, trigger="note", by=by, expected_version=expected_version, data=data, now=now
    )


def _may_attach(session: Session, *, case_id: int, by: Principal) -> str:
    """The case's marking, once `by` is known to see it and to be allowed to attach (else refused, logged)."""
    case = visible_case(session, who=by, case_id=case_id)
    try:
        access.require(by, "attach", access.case_facts(case))
    except Forbidden as exc:
        session.rollback()
        refusals.record(session, who=by, action="fire:attach", case_id=case_id, exc=exc)
        raise
    session.rollback()  # the read took no lock worth keeping; the firing reads the case again
    return case.protective_marking


def attach(
    session: Session,
    *,
    case_id: int,
    by: Principal,
    stream: BinaryIO,
    name: str | None,
    declared_type: str | None = None,
    marking: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Written:
    """Store the file, then record it on the case; every refusal names its field and keeps nothing."""
    if marking is not None and marking not in MARKINGS:
        raise InvalidInput([FieldProblem("marking", f"one of {', '.join(MARKINGS)}")])
    case_marking = _may_attach(session, case_id=case_id, by=by)
    settings = get_settings()
    store = blobs.store_for(session)
    stored = blobs.put(
        stream,
        name=name,
        declared_type=declared_type,
        store=store,
        max_bytes=settings.attachment_max_bytes,
        allowed=settings.attachment_type_list,
    )
    data = {"attachment": stored.as_payload(marking or case_marking)}
    try:
        return service.fire(
            session,
            case_id=case_id,
            trigger="attach",
            by=by,
            expected_version=expected_version,
            data=data,
            now=now,
        )
    except DomainError as exc:
        # An input problem of the reference (its marking) is the upload's: say so under the form's name.
        if isinstance(exc, InvalidInput):
            raise InvalidInput(
                [FieldProblem(p.field.replace("attachment.", "", 1), p.message) for p in exc.problems]
            ) from None
        raise


def referenced_digests(session: Session) -> set[str]:
    """Every digest an `attach` event references (what `sweep` must keep)."""
    found: set[str] = set()
    for (payload,) in session.execute(select(EVENT.c.payload).where(EVENT.c.trigger == "attach")):
        sha = ((payload or {}).get("attachment") or {}).get("sha256")
        if sha:
            found.add(sha)
    return found


def sweep_orphans(session: Session, *, older_than_seconds: float = 3600.0) -> list[str]:
    """Remove stored files no event references (uploads whose firing never committed)."""
    store = blobs.store_for(session)
    return blobs.sweep(store, referenced=referenced_digests(session), older_than_seconds=older_than_seconds)
