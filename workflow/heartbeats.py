"""Worker heartbeats: each worker process rewrites its own row once a pass, so readiness can ask the
database whether any worker is alive (a worker on another host included)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
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
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # One upsert, not an update then an insert: two worker loops of one process share its name, and
    # their first beats may come at the same moment.
    first = dialect.insert(HEARTBEAT).values(name=name, started_at=at, beat_at=at, passes=1)
    upsert = first.on_conflict_do_update(
        index_elements=[HEARTBEAT.c.name],
        set_={"beat_at": at, "passes": HEARTBEAT.c.passes + 1},
    ).returning(HEARTBEAT.c.passes)
    try:
        passes = session.execute(upsert).scalar_one()
        if passes == 1:  # a worker's first beat clears the rows of those gone a day
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
