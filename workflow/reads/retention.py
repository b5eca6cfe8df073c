"""The records officer's retention review queue: ended cases due for review, need-to-know applied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow import access
from workflow.db import utcnow
from workflow.errors import Forbidden
from workflow.principals import Principal
from workflow.tables import CASE, RETENTION

QUEUE_COLUMNS = (
    CASE.c.id,
    CASE.c.reference,
    CASE.c.title,
    CASE.c.state,
    CASE.c.band,
    CASE.c.outcome,
    CASE.c.protective_marking,
    CASE.c.retention_group,
    CASE.c.retention_review_at,
    CASE.c.updated_at,
)


def may_review(by: Principal) -> None:
    if not (by.has("records_officer") or by.is_admin or by.is_system):
        raise Forbidden("the retention queue is for records_officer", needed=["records_officer"])


def retention_queue(
    session: Session, *, by: Principal, now: datetime | None = None, due_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """Ended, undisposed cases the reader may see, by review date (only those due, unless `due_only`
    is off: then the coming ones too)."""
    may_review(by)
    at = now or utcnow()
    query = (
        select(*QUEUE_COLUMNS)
        .where(access.visible(by), CASE.c.disposed_at.is_(None), CASE.c.retention_review_at.is_not(None))
        .order_by(CASE.c.retention_review_at, CASE.c.id)
        .limit(limit)
    )
    if due_only:
        query = query.where(CASE.c.retention_review_at <= at)
    return [{**r, "due": r["retention_review_at"] <= at} for r in session.execute(query).mappings()]


def recent_decisions(session: Session, *, by: Principal, limit: int = 50) -> Sequence[dict[str, Any]]:
    """The latest retention decisions on cases the reader may see."""
    may_review(by)
    query = (
        select(RETENTION, CASE.c.reference)
        .join(CASE, CASE.c.id == RETENTION.c.case_id)
        .where(access.visible(by))
        .order_by(RETENTION.c.decided_at.desc(), RETENTION.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(query).mappings()]
