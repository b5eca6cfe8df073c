"""Claims and their leases (workflow/leases.py), and what a delivery records around its send, on SQLite
and PostgreSQL: the lease length is a setting, a heartbeat keeps a live claim, a renewal never touches
rows another claim holds, an attempt is on record before the message leaves, and a failure stays on
record after a later success."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import delivery
from notifications.models import DeliveryStatus
from notifications.tables import DELIVERY
from notifications.worker import run_once
from tests.factories import p1_escalated
from tests.notifications.outbox_support import channels, deliveries, set_user, smtp_on
from tests.notifications.servers import RecordingHandler, free_port, smtp_server
from workflow import leases, timers
from workflow.db import utcnow
from workflow.settings import get_settings, load_settings
from workflow.tables import TIMER

SUP_EAST = "sup.east@met.example"


def test_the_lease_is_a_setting_fifteen_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCTAC_LEASE_SECONDS", raising=False)
    assert load_settings().lease_seconds == 15
    monkeypatch.setenv("SCTAC_LEASE_SECONDS", "2.5")
    get_settings.cache_clear()
    try:
        assert leases.default_lease() == timedelta(seconds=2.5)
    finally:
        get_settings.cache_clear()
    monkeypatch.setenv("SCTAC_LEASE_SECONDS", "0")
    with pytest.raises(Exception, match="SCTAC_LEASE_SECONDS"):
        load_settings()


def _due_timers(engine: Engine, count: int) -> None:
    with Session(engine, expire_on_commit=False) as session:
        for _ in range(count):
            p1_escalated(
                session, submitted=utcnow() - timedelta(days=30), assessed=utcnow() - timedelta(days=29)
            )


def _stamps(engine: Engine, ids: list[int]) -> dict[int, object]:
    with engine.connect() as conn:
        rows = conn.execute(select(TIMER.c.id, TIMER.c.claimed_until).where(TIMER.c.id.in_(ids))).all()
    return {int(i): u for i, u in rows}


def test_a_renewal_extends_only_the_rows_this_claim_still_holds(engine: Engine) -> None:
    _due_timers(engine, 3)
    now = utcnow()
    with Session(engine) as session:
        claim = timers.lease_due(session, now=now, lease=timedelta(seconds=10))
    assert len(claim.ids) >= 3 and claim.until == now + timedelta(seconds=10)
    settled, taken, *held = claim.ids
    with engine.begin() as conn:
        conn.execute(update(TIMER).where(TIMER.c.id == settled).values(claimed_until=None))
        # Another worker took this row after (as it would see it) our lease lapsed: its stamp differs.
        conn.execute(update(TIMER).where(TIMER.c.id == taken).values(claimed_until=now + timedelta(hours=1)))
    claim._started -= 30  # as if the batch had been running for half a minute
    assert claim.renew(engine) == len(held)
    stamps = _stamps(engine, claim.ids)
    assert stamps[settled] is None and stamps[taken] == now + timedelta(hours=1)
    assert {stamps[i] for i in held} == {claim.until}
    assert claim.until >= now + timedelta(seconds=40)
    # A worker restarted now finds none of the held rows free; the settled one is due again.
    with Session(engine) as session:
        again = timers.claim_due(session, now=now + timedelta(seconds=20), lease=timedelta(seconds=10))
    assert set(again).isdisjoint(held) and taken not in again


def test_the_heartbeat_keeps_a_long_batch_leased(engine: Engine) -> None:
    _due_timers(engine, 2)
    now = utcnow()
    with Session(engine) as session:
        claim = timers.lease_due(session, now=now, lease=timedelta(seconds=1))
    first = claim.until
    with leases.Heartbeat(engine, claim, every=0.05) as beat:
        assert beat.renewed.wait(30), "no renewal"
        # After the original lease has run out, the rows are still this worker's.
        while utcnow() < first + timedelta(seconds=0.1):
            beat.renewed.clear()
            assert beat.renewed.wait(30)
        with Session(engine) as session:
            assert timers.claim_due(session, now=utcnow(), lease=timedelta(seconds=1)) == []
    stamps = _stamps(engine, claim.ids)
    assert all(u is not None and u > first for u in stamps.values())


class _Inspecting(RecordingHandler):
    """A mail server that, as each message arrives, reads how the sender's row stands at that moment."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.seen: list[tuple[str, bool, int]] = []

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(DELIVERY.c.status, DELIVERY.c.attempted_at, DELIVERY.c.attempts).where(
                    DELIVERY.c.channel == "email"
                )
            ).one()
        self.seen.append((row.status, row.attempted_at is not None, row.attempts))
        return await super().handle_DATA(server, session, envelope)


def test_an_attempt_is_on_record_before_the_message_leaves(engine: Engine) -> None:
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    handler = _Inspecting(engine)
    with smtp_server(handler) as mail, Session(engine, expire_on_commit=False) as session:
        p1_escalated(session)
        now = utcnow()
        assert run_once(engine, channels=channels(mail.port), now=now).sent.sent == 2
    # While the server held the message, the row already said "maybe sent", with the attempt counted.
    assert handler.seen == [(DeliveryStatus.SENDING, True, 1)]
    (row,) = deliveries(engine, channel="email")
    assert (row.status, row.attempts, row.attempted_at, row.last_error) == (DeliveryStatus.SENT, 1, now, None)


def test_a_failure_stays_on_record_after_a_later_success(engine: Engine) -> None:
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    port = free_port()  # nobody listens yet
    with Session(engine, expire_on_commit=False) as session:
        p1_escalated(session)
        now = utcnow()
        run_once(engine, channels=channels(port), now=now)
        (row,) = deliveries(engine, channel="email")
        assert row.status == DeliveryStatus.FAILED and "cannot reach" in (row.last_error or "")
        failure = row.last_error
        assert row.next_attempt_at is not None
        with smtp_on(port) as mail:
            later = row.next_attempt_at + timedelta(seconds=1)
            assert run_once(engine, channels=channels(port), now=later).sent.sent == 1
            assert len(mail.received) == 1
    (row,) = deliveries(engine, channel="email")
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, failure)


def test_a_maybe_sent_delivery_is_sent_again_under_its_key_and_says_so(engine: Engine) -> None:
    """What a restart does with a row a dead worker left `sending` (the crash test does it with a kill)."""
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    with smtp_server() as mail, Session(engine, expire_on_commit=False) as session:
        p1_escalated(session)
        run_once(engine, channels=channels(free_port()), now=utcnow())  # the mail server is down
        (row,) = deliveries(engine, channel="email")
        assert row.status == DeliveryStatus.FAILED
        began = utcnow()
        with engine.begin() as conn:  # a sender recorded its attempt and died (its lease has lapsed)
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == row.id)
                .values(
                    status=DeliveryStatus.SENDING,
                    attempted_at=began,
                    attempts=2,
                    next_attempt_at=began,
                    claimed_until=began - timedelta(seconds=1),
                )
            )
        assert delivery.send_due(session, channels=channels(mail.port), now=began).sent == 1
        (message,) = mail.received
    (row,) = deliveries(engine, channel="email")
    assert message.message["X-Sctac-Delivery"] == delivery.delivery_key(row.id or 0)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 3)
    assert "attempt 2 began" in (row.last_error or "") and "same Message-ID" in (row.last_error or "")
