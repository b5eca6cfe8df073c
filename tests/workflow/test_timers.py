"""Timers as rows, fired by time travel: SLA clocks across a bank holiday, reviews, ladders, snoozes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from tests.factories import (
    DEFAULT_DATA,
    P1_CAPABILITY_D,
    morile_inputs,
    p1_escalated,
    request_data,
    unchecked,
)
from workflow import clocks, escalations, queries, service, timers
from workflow.calendar import calendar_for
from workflow.errors import InvalidInput
from workflow.models import CaseEvent, Escalation, Timer

LONDON = ZoneInfo("Europe/London")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LONDON).astimezone(UTC)


def pending(session: Session, case_id: int) -> list[tuple[str, datetime]]:
    rows = session.exec(
        select(Timer).where(Timer.case_id == case_id, Timer.status == "pending").order_by(col(Timer.due_at))
    ).all()
    return [(t.kind, t.due_at) for t in rows]


def fire_all(session: Session, now: datetime) -> list[str]:
    """Run the worker's pass at `now` and return the triggers of the events it recorded."""
    outcomes = timers.run_due(session, now=now)
    return [o.result for o in outcomes]


def triggers(session: Session, case_id: int) -> list[str]:
    return [e.trigger for e in queries.history(session, case_id=case_id)]


def last(session: Session, case_id: int, trigger: str) -> CaseEvent:
    return [e for e in queries.history(session, case_id=case_id) if e.trigger == trigger][-1]


def test_assessment_sla_skips_the_bank_holiday_and_pauses_while_waiting(session: Session) -> None:
    # Friday before the Spring Bank Holiday, 16:00. Child exploitation: 2 working days to assess.
    done = service.submit_case(
        session, request=request_data(), by=unchecked("ds.ne"), now=at(2026, 5, 22, 16)
    )
    case = queries.get_case(session, case_id=done.case_id)
    # Fri 8h + (Sat, Sun, bank holiday Mon skipped) + Tue 24h + Wed 16h = 48 working hours.
    assert case.sla_due_at == at(2026, 5, 27, 16)
    assert pending(session, done.case_id) == [("sla", at(2026, 5, 27, 16))]

    service.fire(
        session,
        case_id=done.case_id,
        trigger="await_information",
        by=unchecked("analyst1"),
        data={"reason": "Source grading missing"},
        now=at(2026, 5, 26, 10),
    )
    case = queries.get_case(session, case_id=done.case_id)
    assert case.awaiting_since == at(2026, 5, 26, 10) and case.awaiting_reason == "Source grading missing"
    assert pending(session, done.case_id) == []  # a paused clock has no timer
    assert fire_all(session, at(2026, 5, 28, 9)) == []  # the old due date passes quietly

    service.fire(
        session,
        case_id=done.case_id,
        trigger="information_received",
        by=unchecked("ds.ne"),
        now=at(2026, 5, 28, 10),
    )
    case = queries.get_case(session, case_id=done.case_id)
    # 48 working hours paused (Tue 10:00 to Thu 10:00) are credited: due moves to Fri 29 May 16:00.
    assert case.sla_paused_seconds == 48 * 3600
    assert case.sla_due_at == at(2026, 5, 29, 16)
    assert pending(session, done.case_id) == [("sla", at(2026, 5, 29, 16))]
    used, left = clocks.time_used(case.model_dump(), now=at(2026, 5, 29, 10), calendar=calendar_for())  # type: ignore[misc]
    assert (used, left) == (42 * 3600, 6 * 3600)


def test_breached_sla_raises_an_escalation_that_assessment_ends(session: Session) -> None:
    done = service.submit_case(
        session, request=request_data(), by=unchecked("ds.ne"), now=at(2026, 11, 23, 9)
    )
    assert fire_all(session, at(2026, 11, 25, 9, 1)) == ["fired"]
    assert triggers(session, done.case_id)[-1] == "sla_breached"
    esc = session.exec(select(Escalation).where(Escalation.case_id == done.case_id)).one()
    assert (esc.source, esc.status, esc.handler) == ("sla", "open", "hub_supervisor")
    event = queries.history(session, case_id=done.case_id)[-1]
    # No owner yet, so the ladder starts at the hub supervisor's rung.
    assert event.payload["notify"] == ["hub_supervisor"] and event.payload["stage"] == "submitted"

    service.fire(
        session,
        case_id=done.case_id,
        trigger="assess",
        by=unchecked("analyst1"),
        data=DEFAULT_DATA["assess"],
        now=at(2026, 11, 25, 10),
    )
    session.refresh(esc)
    assert (esc.status, esc.resolved_by, esc.note) == ("resolved", "system", "ended by assess")
    assert [k for k, _ in pending(session, done.case_id)] == ["sla"]  # only the new stage's clock


def test_review_reminders_then_the_ladder_then_acknowledgement(session: Session) -> None:
    done = service.submit_case(session, request=request_data(), by=unchecked("ds.ne"), now=at(2026, 11, 2, 9))
    for trigger, day in (("assess", 2), ("prioritise", 3), ("task", 4)):
        data = {"assessment": P1_CAPABILITY_D} if trigger == "assess" else DEFAULT_DATA[trigger]
        service.fire(
            session,
            case_id=done.case_id,
            trigger=trigger,
            by=unchecked("chair"),
            data=data,
            now=at(2026, 11, day, 10),
        )
    case = queries.get_case(session, case_id=done.case_id)
    due = at(2026, 11, 4, 10) + timedelta(days=14)  # P1: review every 14 days
    assert case.review_due_at == due
    # Story 5: the owner is reminded three days before; the due moment itself is the review_due timer.
    assert pending(session, done.case_id)[-2:] == [
        ("review_reminder", due - timedelta(days=3)),
        ("review_due", due),
    ]

    fire_all(session, due - timedelta(days=3) + timedelta(minutes=1))
    reminder = last(session, done.case_id, "review_reminder")
    assert (reminder.trigger, reminder.payload["notify"], reminder.payload["days_remaining"]) == (
        "review_reminder",
        ["owner"],
        3,
    )

    fire_all(session, due + timedelta(minutes=1))
    overdue = last(session, done.case_id, "review_overdue")
    assert overdue.payload["notify"] == ["owner"]
    esc = session.exec(select(Escalation).where(Escalation.source == "review")).one()
    assert pending(session, done.case_id)[-1] == ("ladder", due + timedelta(minutes=1, days=1))

    fire_all(session, due + timedelta(days=1, minutes=2))  # a day late: the supervisor is told
    step = last(session, done.case_id, "escalation_step")
    assert (step.trigger, step.payload["notify"], step.payload["step"]) == (
        "escalation_step",
        ["hub_supervisor"],
        1,
    )

    escalations.acknowledge(
        session,
        escalation_id=esc.id or 0,
        by=unchecked("sup.east"),
        note="Owner on leave; covering.",
        now=due + timedelta(days=1, hours=1),
    )
    session.refresh(esc)
    assert (esc.status, esc.acknowledged_by) == ("acknowledged", "sup.east")
    ack = queries.history(session, case_id=done.case_id)[-1]
    assert (ack.trigger, ack.actor, ack.reason) == (
        "escalation_acknowledged",
        "sup.east",
        "Owner on leave; covering.",
    )
    assert "ladder" not in [k for k, _ in pending(session, done.case_id)]  # the chair is not troubled
    assert fire_all(session, due + timedelta(days=10)) == []

    service.fire(
        session,
        case_id=done.case_id,
        trigger="review",
        by=unchecked("owner.east"),
        data=DEFAULT_DATA["review"],
        now=due + timedelta(days=2),
    )
    session.refresh(esc)
    assert (esc.status, esc.note) == ("resolved", "ended by review")


def test_rule_escalation_climbs_to_the_chair_unless_acknowledged(session: Session) -> None:
    t0 = at(2026, 11, 2, 11)
    done = p1_escalated(session, submitted=at(2026, 11, 2, 9), assessed=t0)
    assess = queries.history(session, case_id=done.case_id)[-1]
    assert assess.payload["escalation"]["rules"] == ["weak-position-on-high-band"]
    assert assess.payload["notify"] == ["hub_supervisor"]
    esc = session.exec(select(Escalation).where(Escalation.case_id == done.case_id)).one()
    assert (esc.source, esc.level, esc.handler, esc.hub, esc.step) == ("rule", 1, "hub_supervisor", "EAST", 1)
    assert "regional support decision" in esc.reason
    assert queries.get_case(session, case_id=done.case_id).escalation_level == 1

    # Story 3: a P1 escalation is acknowledged within the hour; unacknowledged, the ladder reminds the
    # supervisor at the hour, then goes to the tasking chair an hour after that.
    assert fire_all(session, t0 + timedelta(minutes=59)) == []
    fire_all(session, t0 + timedelta(hours=1, minutes=1))
    step = queries.history(session, case_id=done.case_id)[-1]
    assert (step.trigger, step.payload["notify"]) == ("escalation_step", ["hub_supervisor"])
    fire_all(session, t0 + timedelta(hours=2, minutes=2))
    step = queries.history(session, case_id=done.case_id)[-1]
    assert (step.trigger, step.payload["notify"]) == ("escalation_step", ["tasking_chair"])
    session.refresh(esc)
    assert esc.step == 3

    # Re-scoring at the same level does not raise a second rule escalation (the SLA may have its own).
    service.fire(
        session,
        case_id=done.case_id,
        trigger="rescore",
        by=unchecked("analyst1"),
        data={"assessment": P1_CAPABILITY_D},
        now=t0 + timedelta(days=3),
    )
    assert len(session.exec(select(Escalation).where(Escalation.source == "rule")).all()) == 1


def test_snooze_is_limited_by_policy_and_ends_by_timer(session: Session) -> None:
    t0 = at(2026, 11, 2, 11)
    done = p1_escalated(session, submitted=at(2026, 11, 2, 9), assessed=t0)
    esc = session.exec(select(Escalation).where(Escalation.source == "rule")).one()
    with pytest.raises(InvalidInput, match=r"until: at most 1 day ahead"):  # P1: snoozes of a day at most
        escalations.snooze(
            session,
            escalation_id=esc.id or 0,
            by=unchecked("sup.east"),
            until=t0 + timedelta(days=3),
            reason="Waiting on ROCU",
            now=t0,
        )
    with pytest.raises(InvalidInput, match=r"reason: a snooze needs a reason"):
        escalations.snooze(
            session,
            escalation_id=esc.id or 0,
            by=unchecked("sup.east"),
            until=t0 + timedelta(hours=12),
            reason=" ",
            now=t0,
        )
    escalations.snooze(
        session,
        escalation_id=esc.id or 0,
        by=unchecked("sup.east"),
        until=t0 + timedelta(hours=12),
        reason="ROCU call at 21:00",
        now=t0,
    )
    session.refresh(esc)
    assert (esc.status, esc.snoozes) == ("snoozed", 1)
    assert [k for k, _ in pending(session, done.case_id)] == ["sla", "snooze_end"]

    fire_all(session, t0 + timedelta(hours=12, minutes=1))
    session.refresh(esc)
    ended = last(session, done.case_id, "snooze_ended")
    assert (esc.status, ended.trigger, ended.payload["notify"]) == (
        "open",
        "snooze_ended",
        ["hub_supervisor"],
    )
    with pytest.raises(InvalidInput, match=r"already snoozed 1 times \(limit 1\)"):
        escalations.snooze(
            session,
            escalation_id=esc.id or 0,
            by=unchecked("sup.east"),
            until=t0 + timedelta(hours=20),
            reason="again",
            now=t0 + timedelta(hours=13),
        )


def test_each_timer_fires_once_and_closing_cancels_the_rest(session: Session) -> None:
    done = service.submit_case(
        session, request=request_data(themes=["drugs"]), by=unchecked("ds.ne"), now=at(2026, 11, 2, 9)
    )
    assert fire_all(session, at(2026, 11, 20)) == ["fired"]  # 5 working days: breached
    assert fire_all(session, at(2026, 11, 20)) == []  # nothing fires twice
    assert triggers(session, done.case_id).count("sla_breached") == 1
    service.fire(
        session,
        case_id=done.case_id,
        trigger="withdraw",
        by=unchecked("ds.ne"),
        data={"reason": "Charged"},
        now=at(2026, 11, 20, 1),
    )
    assert pending(session, done.case_id) == []
    assert {e.status for e in session.exec(select(Escalation)).all()} == {"resolved"}
    case = queries.get_case(session, case_id=done.case_id)
    assert (case.sla_due_at, case.review_due_at) == (None, None)


def test_a_band_change_replans_the_review(session: Session) -> None:
    done = service.submit_case(
        session, request=request_data(themes=["drugs"]), by=unchecked("ds.ne"), now=at(2026, 11, 2, 9)
    )
    t_task = at(2026, 11, 4, 10)
    for trigger, when in (("assess", at(2026, 11, 3)), ("prioritise", at(2026, 11, 3, 12)), ("task", t_task)):
        service.fire(
            session,
            case_id=done.case_id,
            trigger=trigger,
            by=unchecked("chair"),
            data=DEFAULT_DATA[trigger],
            now=when,
        )
    assert queries.get_case(session, case_id=done.case_id).review_due_at == t_task + timedelta(days=90)  # P4
    service.fire(
        session,
        case_id=done.case_id,
        trigger="rescore",
        by=unchecked("analyst1"),
        data={"assessment": morile_inputs(harm=(3, 3, 2, 2, 0), scope=4, likelihood=4)},
        now=at(2026, 11, 6),
    )
    case = queries.get_case(session, case_id=done.case_id)
    assert case.band == "P3" and case.review_due_at == t_task + timedelta(days=56)
    assert pending(session, done.case_id)[-1] == ("review_due", t_task + timedelta(days=56))
