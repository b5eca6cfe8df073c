"""Idempotency keys: a retried POST gets the first response back and changes nothing twice.

The key is claimed (a committed ``pending`` row) *before* the request runs, so two copies of one request
arriving together cannot both run: the second is told the first is still in flight. When the first
finishes with a success its response is stored and replayed to every retry. A failure wrote nothing, so
its claim is released: re-sending it (perhaps corrected) is harmless and runs again.

Keys belong to the user who sent them and are forgotten after ``KEEP``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from workflow.db import utcnow
from workflow.errors import FieldProblem, InvalidInput, KeyInFlight, KeyReused
from workflow.models import IdempotencyRecord
from workflow.tables import RECORD

KEEP = timedelta(hours=24)
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Stored:
    status_code: int
    headers: dict[str, str]
    body: str


def check_key(key: str) -> None:
    if not KEY.match(key):
        raise InvalidInput(
            [FieldProblem("Idempotency-Key", "1 to 255 visible ASCII characters (a UUID is a good choice)")]
        )


def claim(
    session: Session, *, username: str, key: str, fingerprint: str, now: datetime | None = None
) -> Stored | None:
    """Claim `key` for this request (None: go ahead), or return the stored first response."""
    check_key(key)
    at = now or utcnow()
    for _attempt in range(2):
        row = session.get(IdempotencyRecord, (username, key), populate_existing=True)
        if row is not None and row.created_at < at - KEEP:
            session.execute(delete(RECORD).where(RECORD.c.username == username, RECORD.c.key == key))
            row = None
        if row is not None:
            session.rollback()
            if row.fingerprint != fingerprint:
                raise KeyReused(
                    [
                        FieldProblem(
                            "Idempotency-Key",
                            "already used for a different request (method, path, If-Match or body differ); "
                            "use a new key for a new request",
                        )
                    ]
                )
            if row.status == "done" and row.status_code is not None:
                return Stored(row.status_code, dict(row.headers), row.body or "")
            raise KeyInFlight(
                f"a request with Idempotency-Key {key!r} is still being processed; retry in a moment"
            )
        try:
            session.execute(
                insert(RECORD).values(
                    username=username,
                    key=key,
                    fingerprint=fingerprint,
                    status="pending",
                    headers={},
                    created_at=at,
                )
            )
            session.commit()
            return None
        except IntegrityError:  # the same key claimed by a concurrent copy: report on its row
            session.rollback()
    raise KeyInFlight(f"a request with Idempotency-Key {key!r} is still being processed; retry in a moment")


def complete(
    session: Session, *, username: str, key: str, status_code: int, headers: dict[str, Any], body: str
) -> None:
    session.execute(
        update(RECORD)
        .where(RECORD.c.username == username, RECORD.c.key == key)
        .values(status="done", status_code=status_code, headers=headers, body=body)
    )
    session.commit()


def release(session: Session, *, username: str, key: str) -> None:
    session.execute(delete(RECORD).where(RECORD.c.username == username, RECORD.c.key == key))
    session.commit()
