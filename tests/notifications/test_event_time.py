"""Messages state what was true at their event, not at send time (the case may move on before the worker
runs), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import inbox
from notifications.worker import run_once
from tests.factories import DEFAULT_DATA, P1_CAPABILITY_D, case_in, request_data, unchecked
from tests.notifications.outbox_support import channels
from workflow import service
from workflow.db import utcnow
from workflow.tables import CASE

LONDON = ZoneInfo("Europe/London")


def _when(moment: datetime) -> str:
    """How a person reads a moment in a message: centre time, e.g. "Mon 7 Dec 2026, 14:05 GMT"."""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON).date()
    return f"{local:%a} {local.day} {local:%b %Y}"


def _case(session: Session, case_id: int) -> dict[str, object]:
    row = dict(session.execute(select(CASE).where(CASE.c.id == case_id)).mappings().one())
    session.rollback()
    return row


def test_a_submission_rejected_before_the_worker_ran_is_received_as_it_was(engine: Engine) -> None:
    submitted = utcnow() - timedelta(days=2)
    with Session(engine, expire_on_commit=False) as session:
        done = service.submit_case(
            session, request=request_data(protective_marking="OFFICIAL"), by=unchecked("ds.ne"), now=submitted
        )
        at_submission = _case(session, done.case_id)
        assessment_due = at_submission["sla_due_at"]
        assert isinstance(assessment_due, datetime) and at_submission["hub"] == "EAST"
        service.fire(
            session,
            case_id=done.case_id,
            trigger="reject",
            by=unchecked("analyst1"),
            data=DEFAULT_DATA["reject"],
            now=submitted + timedelta(hours=3),
        )
        assert _case(session, done.case_id)["sla_due_at"] is None  # rejected: no clock any more

        sent_at = utcnow()
        run_once(engine, channels=channels(), now=sent_at)
        items = {i.kind: i for i in inbox.inbox(session, username="ds.ne")}
    received = items["case_submitted"]
    # What was true at submission: routed to East, assessment due five working days on.
    assert received.subject == (
        f"[OFFICIAL] Request {done.reference} received: gone to East hub, "
        f"assessment due by {_when(assessment_due)}"
    )
    assert f"The centre will have assessed it by: {_when(assessment_due)}" in received.body_text
    assert _when(sent_at) not in received.body_text
    # And the rejection is its own message, sent in the same pass.
    rejected = items["case_state_changed"]
    assert "moved from submitted to rejected" in rejected.body_text
    assert _when(submitted + timedelta(hours=3)) in rejected.body_text


def test_a_tasking_mail_keeps_its_band_and_review_date_after_a_reassessment(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        tasked = case_in(session, "tasked", protective_marking="OFFICIAL")
        at_tasking = _case(session, tasked.case_id)
        band, review_due = at_tasking["band"], at_tasking["review_due_at"]
        assert isinstance(review_due, datetime) and band != "P1"
        # Before the worker runs: new intelligence, back to assessment, rescored P1.
        for trigger, data in (
            ("reassess", DEFAULT_DATA["reassess"]),
            ("rescore", {"assessment": P1_CAPABILITY_D}),
        ):
            service.fire(
                session, case_id=tasked.case_id, trigger=trigger, by=unchecked("analyst1"), data=data
            )
        now = _case(session, tasked.case_id)
        assert (now["band"], now["review_due_at"], now["state"]) == ("P1", None, "assessed")

        run_once(engine, channels=channels())
        (item,) = [i for i in inbox.inbox(session, username="owner.east") if i.kind == "case_tasked"]
    assert f"{band} request {tasked.reference}" in item.body_text
    assert "in the East hub" in item.body_text
    assert f"First review due: {_day(review_due)}" in item.body_text
