"""The deliveries caused by one case's events, newest first, for its page (the case is already opened
through workflow.reads, which checked that the reader may see it)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from notifications.models import Delivery


def deliveries_of(session: Session, *, case_id: int, limit: int = 100) -> Sequence[Delivery]:
    query = select(Delivery).where(col(Delivery.case_id) == case_id).order_by(col(Delivery.id).desc())
    return session.execute(query.limit(limit)).scalars().all()
