"""Helpers for the outbox and worker tests: channels pointed at loopback servers, users with addresses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications.channels.email import SmtpSender
from notifications.channels.webhook import WebhookSender
from notifications.delivery import Channels
from notifications.models import Delivery
from tests.notifications.servers import LOOPBACK, RecordingHandler, SmtpServerInfo
from workflow.models import CaseEvent, User

BASE_URL = "https://sctac.test"
MAIL_FROM = "sctac@centre.example"
USER = User.__table__  # type: ignore[attr-defined]


def channels(smtp_port: int | None = None) -> Channels:
    email = None
    if smtp_port is not None:
        email = SmtpSender(f"smtp://{LOOPBACK}:{smtp_port}", sender=MAIL_FROM, timeout=5)
    return Channels(WebhookSender(5), BASE_URL, email)


@contextmanager
def smtp_on(port: int, handler: RecordingHandler | None = None) -> Iterator[SmtpServerInfo]:
    """An aiosmtpd server on a given port (to bring a 'down' mail server back where the worker expects it)."""
    handler = handler or RecordingHandler()
    controller = Controller(handler, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield SmtpServerInfo(port=port, handler=handler)
    finally:
        controller.stop()


def set_user(engine: Engine, username: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(USER).where(USER.c.username == username).values(**values))


def deliveries(engine: Engine, **where: Any) -> list[Delivery]:
    with Session(engine) as s:
        query = select(Delivery).order_by(Delivery.id)  # type: ignore[arg-type]
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return list(s.execute(query).scalars())


def trigger_counts(engine: Engine, trigger: str) -> dict[int, int]:
    """Events of `trigger` per case id."""
    with Session(engine) as s:
        rows = s.execute(
            select(CaseEvent.case_id, func.count())  # type: ignore[call-overload]
            .where(CaseEvent.trigger == trigger)
            .group_by(CaseEvent.case_id)
        ).all()
    return {int(case_id): int(n) for case_id, n in rows}


def clone_cases(engine: Engine, *, template_id: int, count: int) -> list[int]:
    """`count` copies of a just-submitted case, written in bulk: the same row, submit event (hash-chained
    for its new id; the database adds its outbox row) and timers. Submitting thousands through the
    service takes too long for a test; the copies are what the service would have written for the same
    request at the same moment."""
    from workflow.chain import GENESIS, event_hash
    from workflow.models import Case, Timer
    from workflow.service import reference_for

    case_t, event_t = Case.__table__, CaseEvent.__table__  # type: ignore[attr-defined]
    timer_t = Timer.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        case = dict(conn.execute(select(case_t).where(case_t.c.id == template_id)).mappings().one())
        (event,) = [
            dict(e) for e in conn.execute(select(event_t).where(event_t.c.case_id == template_id)).mappings()
        ]
        timers = [
            dict(t) for t in conn.execute(select(timer_t).where(timer_t.c.case_id == template_id)).mappings()
        ]
        first = int(conn.execute(select(func.max(case_t.c.id))).scalar_one()) + 1
        first_event = int(conn.execute(select(func.max(event_t.c.id))).scalar_one()) + 1
        ids = list(range(first, first + count))
        cases, events, clocks = [], [], []
        for n, case_id in enumerate(ids):
            fields = {k: event[k] for k in ("seq", "trigger", "from_state", "to_state", "actor", "reason")}
            fields.update(payload=event["payload"], created_at=event["created_at"], prev_hash=GENESIS)
            digest = event_hash(case_id=case_id, **fields)
            reference = reference_for(case_id, case["created_at"])
            cases.append({**case, "id": case_id, "reference": reference, "last_event_hash": digest})
            events.append({**event, "id": first_event + n, "case_id": case_id, "hash": digest})
            clocks += [{**{k: v for k, v in t.items() if k != "id"}, "case_id": case_id} for t in timers]
        conn.execute(case_t.insert(), cases)
        conn.execute(event_t.insert(), events)
        conn.execute(timer_t.insert(), clocks)
        if conn.dialect.name == "postgresql":  # explicit ids bypass the sequences: move them past the copies
            for table in ("case", "case_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                  f'(SELECT max(id) FROM "{table}"))'))  # fmt: skip
    return ids
