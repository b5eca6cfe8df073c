"""Leasing due rows to a worker: the one claim mechanism behind timers and notification deliveries.

A worker stamps `claimed_until` on up to `limit` due rows and commits at once; it then settles each row
in its own transaction (settling clears `claimed_until`). A worker that dies leaves its rows to be
claimed again when the lease runs out, so the lease is how long a crash delays that work: it is a
setting (``SCTAC_LEASE_SECONDS``, see workflow/settings.py) and short by default. A batch that takes
longer than the lease keeps it with a :class:`Heartbeat`, which pushes `claimed_until` forward from a
thread of its own while the worker is alive; only a dead (or frozen) worker lets its lease lapse.

The stamp is also the claim's identity: a renewal only touches rows whose `claimed_until` is still
the value this claim wrote, so a worker can never extend (or take back) rows that another worker
claimed after its own lease ran out.

On PostgreSQL the claim skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED`), so workers
share the load; SQLite silently ignores SKIP LOCKED, which is why it runs a single worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from workflow.settings import get_settings

log = logging.getLogger(__name__)


def default_lease() -> timedelta:
    """The lease a claim takes unless its caller says otherwise (``SCTAC_LEASE_SECONDS``)."""
    return timedelta(seconds=get_settings().lease_seconds)


@dataclass
class Lease:
    """What one claim holds: the rows, the `claimed_until` it stamped on them, and for how long."""

    table: Table
    ids: list[int]
    claimed_at: datetime
    until: datetime
    length: timedelta
    # Wall-clock reference for renewals: the claim's `now` may be a simulated time (tests, simulation).
    _started: float = field(default_factory=time.monotonic, repr=False)

    def renew(self, engine: Engine) -> int:
        """Push the lease of the rows this claim still holds to `length` from now; returns how many.

        Runs on a connection of its own (it is called from the heartbeat thread), in its own short
        transaction; rows settled meanwhile (claimed_until cleared) or claimed by another worker after
        a lapse (a different stamp) are left alone.
        """
        if not self.ids:
            return 0
        elapsed = timedelta(seconds=time.monotonic() - self._started)
        until = max(self.claimed_at + elapsed + self.length, self.until)
        t = self.table
        with engine.begin() as conn:
            renewed = conn.execute(
                update(t)
                .where(t.c.id.in_(self.ids), t.c.claimed_until == self.until)
                .values(claimed_until=until)
            ).rowcount
        self.until = until
        return int(renewed)


def claim_lease(
    session: Session,
    *,
    table: Table,
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    now: datetime,
    lease: timedelta,
    limit: int,
    also: Mapping[str, Any] | None = None,
) -> Lease:
    """Lease up to `limit` rows of `table` matching `due` (and not leased now), committed at once."""
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    candidates = select(table.c.id).where(*due, free).order_by(*order_by).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    until = now + lease
    try:
        ids = session.execute(
            update(table)
            .where(table.c.id.in_(candidates.scalar_subquery()))
            .values(claimed_until=until, **(also or {}))
            .returning(table.c.id)
        ).scalars()
        claimed = sorted(ids)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Lease(table, claimed, now, until, lease)


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
    """:func:`claim_lease` for callers that only need the ids (and finish well within the lease)."""
    return claim_lease(
        session, table=table, due=due, order_by=order_by, now=now, lease=lease, limit=limit, also=also
    ).ids


class Heartbeat:
    """Keep a lease alive while its batch is worked through: ``with Heartbeat(engine, lease): ...``.

    A daemon thread renews the lease every third of its length, so a batch may take as long as it
    needs (a slow mail server, a thousand timers) while a worker killed mid-batch still frees its rows
    within one lease. A renewal that fails (the database is briefly away) is logged and tried again at
    the next beat; the rows stay safe either way, since every settle re-checks the row's status.
    """

    def __init__(self, bind: Engine | Connection, lease: Lease, *, every: float | None = None) -> None:
        # The beat needs connections of its own: a session bound to one connection gets no heartbeat
        # (its caller keeps the batch within the lease).
        self.engine = bind if isinstance(bind, Engine) else None
        self.lease = lease
        self.every = every if every is not None else max(lease.length.total_seconds() / 3, 0.05)
        self.beats = 0
        self.renewed = threading.Event()  # set at each renewal (what a test waits on, not a clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sctac-lease-heartbeat", daemon=True)

    def _run(self) -> None:
        assert self.engine is not None
        while not self._stop.wait(self.every):
            try:
                self.lease.renew(self.engine)
                self.beats += 1
                self.renewed.set()
            except Exception:
                log.exception(
                    "could not renew the lease of %d %s rows", len(self.lease.ids), self.lease.table
                )

    def __enter__(self) -> Heartbeat:
        if self.lease.ids and self.engine is not None:
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
