"""Leasing due rows to a worker: the one claim mechanism behind timers and notification deliveries.

A worker stamps `claimed_until` on up to `limit` due rows and commits at once; it then settles each row
in its own transaction. A worker that dies leaves its rows to be claimed again when the lease runs out.
On PostgreSQL the claim skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED`), so workers
share the load; SQLite silently ignores SKIP LOCKED, which is why it runs a single worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlmodel import Session


def claim_leased(
    session: Session,
    *,
    table: Table,
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    now: datetime,
    lease: timedelta,
    limit: int,
    also: Mapping[str, Any] | None = None,
) -> list[int]:
    """Lease up to `limit` rows of `table` matching `due` (and not leased now); return their ids."""
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    candidates = select(table.c.id).where(*due, free).order_by(*order_by).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    try:
        ids = session.execute(
            update(table)
            .where(table.c.id.in_(candidates.scalar_subquery()))
            .values(claimed_until=now + lease, **(also or {}))
            .returning(table.c.id)
        ).scalars()
        claimed = sorted(ids)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return claimed
