"""Worker heartbeats: each worker process rewrites its own row once a pass, so readiness can ask the
database whether any worker is alive (a worker on another host included)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from workflow.db import utcnow
from workflow.tables import HEARTBEAT

# Rows of workers gone this long are removed by the next beat of any worker, so the table stays small.
FORGET_AFTER = timedelta(days=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def beat(session: Session, *, name: str, now: datetime | None = None) -> None:
    """Record that the worker `name` has finished a pass (its own transaction)."""
    at = now or utcnow()
    try:
        done = session.execute(
            update(HEARTBEAT)
            .where(HEARTBEAT.c.name == name)
            .values(beat_at=at, passes=HEARTBEAT.c.passes + 1)
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            # Only this process writes this name, so no other insert can race this one.
            session.execute(insert(HEARTBEAT).values(name=name, started_at=at, beat_at=at, passes=1))
            session.execute(delete(HEARTBEAT).where(HEARTBEAT.c.beat_at < at - FORGET_AFTER))
        session.commit()
    except BaseException:
        session.rollback()
        raise


def latest_beat(session: Session) -> datetime | None:
    """When any worker last finished a pass (None: no worker ever has)."""
    # ORDER BY ... LIMIT 1 rather than max(): an aggregate loses the column's type (text on SQLite).
    latest: datetime | None = session.execute(
        select(HEARTBEAT.c.beat_at).order_by(HEARTBEAT.c.beat_at.desc()).limit(1)
    ).scalar()
    return latest
