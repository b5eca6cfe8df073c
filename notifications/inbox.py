"""The in-app inbox: a person's in-app deliveries, newest first, and marking them read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from notifications.models import Delivery, DeliveryStatus
from notifications.tables import DELIVERY
from workflow.db import utcnow
from workflow.errors import NotFound


def inbox(session: Session, *, username: str, unread_only: bool = False, limit: int = 100) -> list[Delivery]:
    """The rendered in-app messages for `username` (a message shows once the worker has rendered it)."""
    query = select(Delivery).where(
        DELIVERY.c.recipient == username,
        DELIVERY.c.channel == "inapp",
        DELIVERY.c.status == DeliveryStatus.SENT,
    )
    if unread_only:
        query = query.where(DELIVERY.c.read_at.is_(None))
    # populate_existing: the worker writes these rows with Core statements the identity map does not see.
    query = query.order_by(DELIVERY.c.id.desc()).limit(limit).execution_options(populate_existing=True)
    return list(session.execute(query).scalars())


def mark_read(session: Session, *, username: str, delivery_id: int, now: datetime | None = None) -> None:
    """Mark one of `username`'s inbox items read (again is harmless: the first reading time is kept)."""
    try:
        found = session.execute(
            select(DELIVERY.c.read_at).where(
                DELIVERY.c.id == delivery_id,
                DELIVERY.c.recipient == username,
                DELIVERY.c.channel == "inapp",
                DELIVERY.c.status == DeliveryStatus.SENT,
            )
        ).first()
        # Someone else's item is reported exactly like a missing one: no probing other people's inboxes.
        if found is None:
            raise NotFound(f"no inbox item {delivery_id}")
        if found.read_at is None:
            session.execute(
                update(DELIVERY).where(DELIVERY.c.id == delivery_id).values(read_at=now or utcnow())
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
