"""Recording refusals: who was turned away from what, when and why (DESIGN §7: refusals are logged).

A refusal is written in a transaction of its own, after the refused change has been rolled back, so
nothing of the refused action survives but the record that it was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session, col

from workflow.db import utcnow
from workflow.errors import DomainError, Forbidden, NotFound
from workflow.models import Refusal
from workflow.principals import Principal
from workflow.tables import REFUSAL


def kind_of(exc: DomainError) -> str:
    return "not-visible" if isinstance(exc, NotFound) else "forbidden"


def record(
    session: Session,
    *,
    who: Principal,
    action: str,
    case_id: int | None,
    exc: DomainError,
    now: datetime | None = None,
) -> None:
    """Write one refusal and commit it (the caller has rolled back whatever it was doing)."""
    session.execute(
        insert(REFUSAL).values(
            at=now or utcnow(),
            username=who.username[:64],
            action=action[:64],
            case_id=case_id,
            kind=kind_of(exc),
            detail=exc.detail[:500],
        )
    )
    session.commit()


def list_refusals(
    session: Session,
    *,
    who: Principal,
    username: str | None = None,
    case_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[Refusal]:
    """Refusals, newest first: for admins (and the operator) only."""
    if not who.is_admin and not who.is_system:
        raise Forbidden("the refusal log is for admins", needed=["admin"])
    query = select(Refusal)
    if username is not None:
        query = query.where(col(Refusal.username) == username)
    if case_id is not None:
        query = query.where(col(Refusal.case_id) == case_id)
    if before_id is not None:
        query = query.where(col(Refusal.id) < before_id)
    query = query.order_by(col(Refusal.id).desc()).limit(max(1, min(limit, 1000)))
    return session.execute(query).scalars().all()
