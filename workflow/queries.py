"""Read-side queries over cases and their history (no writes here)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from workflow.errors import NotFound
from workflow.models import Assessment, Case, CaseEvent, Decision

_REFERENCE = re.compile(r"^SCT-(\d{4})-(\d{1,9})$", re.IGNORECASE)


def get_case(session: Session, *, case_id: int) -> Case:
    # Cases change through Core statements (workflow.service), which the identity map does not see:
    # always load afresh.
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def find_case(session: Session, *, key: str) -> Case:
    """A case by reference (SCT-2026-000123) or by numeric id."""
    key = key.strip()
    if key.isdigit():
        return get_case(session, case_id=int(key))
    if not _REFERENCE.match(key):
        raise NotFound(f"{key!r} is neither a case reference (SCT-YYYY-NNNNNN) nor an id")
    query = select(Case).where(Case.reference == key.upper()).execution_options(populate_existing=True)
    case = session.exec(query).first()
    if case is None:
        raise NotFound(f"no case {key.upper()}")
    return case


def list_cases(
    session: Session,
    *,
    state: str | None = None,
    hub: str | None = None,
    unit: str | None = None,
    band: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Sequence[Case]:
    """Newest first, keyset-paginated on id so deep pages cost the same as the first."""
    query = select(Case)
    if state:
        query = query.where(Case.state == state)
    if hub:
        query = query.where(Case.hub == hub)
    if unit:
        query = query.where(Case.requesting_unit == unit)
    if band:
        query = query.where(Case.band == band)
    if after_id is not None:
        query = query.where(col(Case.id) < after_id)
    return session.exec(query.order_by(col(Case.id).desc()).limit(limit)).all()


def history(session: Session, *, case_id: int) -> Sequence[CaseEvent]:
    return session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
    ).all()


def assessments(session: Session, *, case_id: int) -> Sequence[Assessment]:
    return session.exec(
        select(Assessment).where(Assessment.case_id == case_id).order_by(col(Assessment.seq))
    ).all()


def decisions(session: Session, *, case_id: int) -> Sequence[Decision]:
    return session.exec(
        select(Decision).where(Decision.case_id == case_id).order_by(col(Decision.event_seq))
    ).all()


def count_cases(session: Session) -> int:
    """How many cases the database holds (the demo fills only an empty one)."""
    return int(session.execute(select(func.count()).select_from(Case)).scalar_one())
