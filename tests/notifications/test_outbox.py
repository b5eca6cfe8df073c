"""Outbox -> deliveries -> real SMTP and webhook servers on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from notifications import delivery, inbox, subscriptions
from notifications.channels.email import message_id
from notifications.delivery import delivery_key
from notifications.models import Delivery
from notifications.worker import run_once, start_background_worker
from tests.factories import case_in, p1_escalated, submit, unchecked
from tests.notifications.outbox_support import (
    BASE_URL,
    MAIL_FROM,
    channels,
    deliveries,
    set_user,
    smtp_on,
)
from tests.notifications.servers import RecordingHandler, free_port, smtp_server, webhook_receiver
from workflow import service
from workflow.db import utcnow
from workflow.errors import DomainError
from workflow.models import CaseEvent, EventOutbox

SUP_EAST = "sup.east@met.example"


def test_story3_escalation_reaches_the_east_supervisor_by_email_and_inbox(engine: Engine) -> None:
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    with smtp_server() as mail, Session(engine, expire_on_commit=False) as session:
        done = p1_escalated(session)
        report = run_once(engine, channels=channels(mail.port))

        wording = (
            f"[OFFICIAL-SENSITIVE] P1 request {done.reference} escalated to you: risk 75/100, "
            "capability D — needs regional support decision"
        )
        (email_row,) = deliveries(engine, channel="email")
        assert (email_row.recipient, email_row.status, email_row.kind) == (
            "sup.east",
            "sent",
            "case_escalated",
        )
        (mail_in,) = mail.received
        assert mail_in.rcpt_tos == [SUP_EAST]
        assert mail_in.message["Subject"] == wording
        assert mail_in.message["Message-ID"] == message_id(delivery_key(email_row.id or 0), "centre.example")
        assert f"{BASE_URL}/cases/{done.case_id}" in mail_in.part("text/plain")
        assert "weak-position-on-high-band" in mail_in.part("text/plain")

        (item,) = inbox.inbox(session, username="sup.east", unread_only=True)
        assert item.subject == wording and "Hello Supervisor East" in item.body_text
        inbox.mark_read(session, username="sup.east", delivery_id=item.id or 0)
        assert inbox.inbox(session, username="sup.east", unread_only=True) == []
        assert [i.id for i in inbox.inbox(session, username="sup.east")] == [item.id]
        # The requester's clearance (OFFICIAL) does not cover this OFFICIAL-SENSITIVE case: need-to-know.
        assert inbox.inbox(session, username="ds.ne") == []
        assert report.events == 2 and report.sent.sent == 2

        # Nobody else's item, and nothing twice: a second pass finds no work.
        with pytest.raises(DomainError):
            inbox.mark_read(session, username="ds.ne", delivery_id=item.id or 0)
        assert run_once(engine, channels=channels(mail.port)).idle
        assert len(mail.received) == 1


def test_roles_resolve_to_cleared_active_people_once_each(engine: Engine) -> None:
    set_user(engine, "owner.east", email="owner.east@met.example")
    with Session(engine, expire_on_commit=False) as session:
        tasked = case_in(session, "tasked", protective_marking="OFFICIAL")
        run_once(engine, channels=channels())
        rows = deliveries(engine, event_id=_last_event_id(session, tasked.case_id))
        # task tells the owner (tasked to you) and the requester (a state change); no SMTP, no e-mail.
        assert sorted((d.recipient, d.channel, d.kind) for d in rows) == [
            ("ds.ne", "inapp", "case_state_changed"),
            ("owner.east", "inapp", "case_tasked"),
        ]
        closed = service.fire(
            session,
            case_id=tasked.case_id,
            trigger="review",
            by=unchecked("owner.east"),
            data={"progress": "done", "strands": ["pursue"]},
        )
        closed = service.fire(
            session,
            case_id=tasked.case_id,
            trigger="close",
            by=unchecked("owner.east"),
            data={"outcome": "disrupted", "strands": ["pursue"]},
        )
        run_once(engine, channels=channels())
        rows = deliveries(engine, event_id=_last_event_id(session, closed.case_id))
        assert sorted(d.recipient for d in rows) == ["ds.ne", "sup.east"]  # requester + hub supervisor


def test_an_event_without_notify_reaches_only_matching_webhooks(engine: Engine) -> None:
    secret = "s3cret-for-the-partner-system"
    with webhook_receiver(secret) as (url, received), Session(engine, expire_on_commit=False) as session:
        wanted = subscriptions.add_subscription(
            session,
            name="partner",
            url=url,
            actor="admin",
            events=["prioritise"],
            secret=secret,
            clearance="OFFICIAL-SENSITIVE",
        )
        subscriptions.add_subscription(
            session, name="south only", url=url, actor="admin", hub="SOUTH", clearance="OFFICIAL-SENSITIVE"
        )
        subscriptions.add_subscription(session, name="uncleared", url=url, actor="admin")
        done = case_in(session, "prioritised")  # OFFICIAL-SENSITIVE; prioritise names nobody to notify
        report = run_once(engine, channels=channels())
        hooks = deliveries(engine, channel="webhook")
        assert [(d.subscription_id, d.trigger, d.status) for d in hooks] == [
            (wanted.id, "prioritise", "sent")
        ]
        prioritised = _last_event_id(session, done.case_id)
        assert deliveries(engine, event_id=prioritised) == hooks  # no person is told of it
        (request,) = received.accepted
        assert request.headers["x-sctac-delivery"] == delivery_key(hooks[0].id or 0)
        body = json.loads(request.body)
        assert body["case"]["reference"] == done.reference and body["event"]["trigger"] == "prioritise"
        assert "summary" not in body["case"] and "title" not in body["case"]
        assert received.refused == [] and report.sent.dead == 0


def test_mail_server_down_then_back_sends_each_email_once(engine: Engine) -> None:
    """Story 10: nothing blocks while the mail server is down; when it returns, each e-mail goes once."""
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    port = free_port()  # nobody listens: connection refused
    with Session(engine, expire_on_commit=False) as session:
        done = p1_escalated(session)
        now = utcnow()
        first = run_once(engine, channels=channels(port), now=now)
        (row,) = deliveries(engine, channel="email")
        assert (row.status, row.attempts) == ("failed", 1) and first.sent.failed == 1
        assert row.last_error is not None and "cannot reach" in row.last_error
        assert row.next_attempt_at is not None and row.next_attempt_at > now
        assert [d.status for d in deliveries(engine, channel="inapp")] == ["sent"]  # the inbox is unaffected
        # The case moves on meanwhile.
        service.fire(session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"))

        with smtp_on(port) as mail:
            assert run_once(engine, channels=channels(port), now=now + timedelta(seconds=1)).sent.total == 0
            later = row.next_attempt_at + timedelta(seconds=1)
            back = run_once(engine, channels=channels(port), now=later)
            assert back.sent.sent == 1
            # Nothing goes twice. (Checked within the hour: at the hour the P1 ladder rightly sends the
            # supervisor a reminder, story 3, which is a new e-mail, not this one again.)
            within_the_hour = later + timedelta(minutes=50)
            assert run_once(engine, channels=channels(port), now=within_the_hour).sent.total == 0
            assert [m.rcpt_tos for m in mail.received] == [[SUP_EAST]]
        (row,) = deliveries(engine, channel="email")
        assert (row.status, row.attempts) == ("sent", 2)


def test_a_refused_address_is_dead_at_once_and_retried_from_the_dead_letters(engine: Engine) -> None:
    set_user(engine, "sup.east", email=SUP_EAST, clearance="OFFICIAL-SENSITIVE")
    handler = RecordingHandler(rejections={SUP_EAST: "550 5.1.1 no such user"})
    with smtp_server(handler) as mail, Session(engine, expire_on_commit=False) as session:
        p1_escalated(session)
        assert run_once(engine, channels=channels(mail.port)).sent.dead == 1
        (dead,) = delivery.list_deliveries(session, status="dead")
        assert dead.last_status == 550 and dead.attempts == 1 and "no such user" in (dead.last_error or "")

        handler.rejections.clear()  # the address is fixed
        assert delivery.retry(session, delivery_ids=None) == 1
        assert run_once(engine, channels=channels(mail.port)).sent.sent == 1
        assert len(mail.received) == 1
        with pytest.raises(DomainError, match="already sent"):
            delivery.retry(session, delivery_ids=[dead.id or 0])


def test_each_event_recipient_channel_exists_once(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        done = submit(session, protective_marking="OFFICIAL")
        run_once(engine, channels=channels())
        (row,) = deliveries(engine, case_id=done.case_id)
        assert session.scalar(select(func.count()).select_from(EventOutbox)) == 0
        session.add(Delivery(event_id=row.event_id, case_id=row.case_id, recipient=row.recipient,
                             channel=row.channel, kind=row.kind, trigger=row.trigger))  # fmt: skip
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


def test_the_background_worker_delivers_and_stops(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        submit(session, protective_marking="OFFICIAL")
        handle = start_background_worker(engine, interval=0.05, channels=channels())
        try:
            for _ in range(400):  # waits for the work, asserts nothing about how long it took
                if inbox.inbox(session, username="ds.ne"):
                    break
                handle.stop_event.wait(0.05)
        finally:
            handle.stop()
        assert not handle.thread.is_alive()
        (item,) = inbox.inbox(session, username="ds.ne")
        assert item.kind == "case_submitted" and "gone to East" in item.subject
        assert MAIL_FROM not in item.body_text


def _last_event_id(session: Session, case_id: int) -> int:
    events = CaseEvent.__table__  # type: ignore[attr-defined]
    event_id = session.scalar(select(func.max(events.c.id)).where(events.c.case_id == case_id))
    session.rollback()
    assert event_id is not None
    return int(event_id)
