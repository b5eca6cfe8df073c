"""Issue 12 item 14: periods in days are planned on the London wall clock, and every time a person reads
is London time. British Summer Time ends on Sunday 25 October 2026 and starts on Sunday 29 March 2026."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tests.factories import DEFAULT_DATA, P1_CAPABILITY_D, request_data, unchecked
from workflow import localtime, queries, service, timers
from workflow.calendar import calendar_for
from workflow.models import Escalation, Timer

LONDON = ZoneInfo("Europe/London")


def london(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LONDON).astimezone(UTC)


def wall(instant: datetime) -> tuple[int, int, int, int, int]:
    t = instant.astimezone(LONDON)
    return (t.year, t.month, t.day, t.hour, t.minute)


def test_days_keep_the_wall_clock_time_across_both_clock_changes() -> None:
    cal = calendar_for()
    autumn = cal.add_days(london(2026, 10, 12, 11, 7), 14)  # tasked 11:07 BST
    assert wall(autumn) == (2026, 10, 26, 11, 7)  # due 11:07 GMT, not 10:07
    assert autumn - london(2026, 10, 12, 11, 7) == timedelta(days=14, hours=1)
    spring = cal.add_days(london(2026, 3, 20, 9, 0), 14)
    assert wall(spring) == (2026, 4, 3, 9, 0)
    assert wall(cal.shift(autumn, -3, "days")) == (2026, 10, 23, 11, 7)  # a reminder three days before
    assert cal.shift(autumn, -1, "hours") == autumn - timedelta(hours=1)  # hours are elapsed time
    # Working days backwards skip the weekend: two working days before Monday 26 Oct is Thursday 22nd.
    assert wall(cal.shift(autumn, -2, "working_days")) == (2026, 10, 22, 11, 7)
    assert wall(cal.shift(london(2026, 10, 23, 11, 7), 1, "working_days")) == (2026, 10, 26, 11, 7)


def test_a_review_tasked_in_summer_is_due_and_told_at_the_same_local_time(session: Session) -> None:
    done = service.submit_case(
        session, request=request_data(), by=unchecked("ds.ne"), now=london(2026, 10, 5, 9)
    )
    for trigger, when in (
        ("assess", london(2026, 10, 6, 10)),
        ("prioritise", london(2026, 10, 7, 10)),
        ("task", london(2026, 10, 12, 11, 7)),
    ):
        data = {"assessment": P1_CAPABILITY_D} if trigger == "assess" else DEFAULT_DATA[trigger]
        service.fire(
            session, case_id=done.case_id, trigger=trigger, by=unchecked("chair"), data=data, now=when
        )
    case = queries.get_case(session, case_id=done.case_id)
    assert case.review_due_at is not None
    assert wall(case.review_due_at) == (2026, 10, 26, 11, 7)  # P1: 14 days, same time on the wall

    pending = session.exec(
        select(Timer)
        .where(Timer.case_id == done.case_id, Timer.status == "pending")
        .order_by(col(Timer.due_at))
    ).all()
    reminders = [wall(t.due_at) for t in pending if t.kind == "review_reminder"]
    assert reminders == [(2026, 10, 23, 11, 7)]  # three days before, still in BST

    due = case.review_due_at
    timers.run_due(session, now=due + timedelta(minutes=1))
    overdue = [e for e in queries.history(session, case_id=done.case_id) if e.trigger == "review_overdue"][-1]
    reason = overdue.payload["escalation"]["reason"]
    assert reason == "review was due Mon 26 Oct 2026, 11:07 GMT and has not been recorded"
    missed = session.exec(select(Escalation).where(Escalation.source == "review")).one()
    ladder = session.exec(
        select(Timer).where(Timer.escalation_id == missed.id, Timer.status == "pending")
    ).one()
    assert wall(ladder.due_at) == (2026, 10, 27, 11, 8)  # "a day late, his supervisor is told"


def test_times_people_read_are_london_time() -> None:
    summer = datetime(2026, 7, 1, 10, 7, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
    assert localtime.moment(summer) == "Wed 1 Jul 2026, 11:07 BST"
    assert localtime.moment(winter) == "Tue 1 Dec 2026, 10:07 GMT"
    assert localtime.stamp(summer) == "2026-07-01 11:07:00+01:00"
    assert localtime.strftime(summer.replace(tzinfo=None), "%H:%M") == "11:07"  # naive is UTC
    # 23:30 UTC on 1 July is already 2 July in London: days are London's.
    assert localtime.local_date(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)).isoformat() == "2026-07-02"
    assert localtime.day(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == "Thu 2 Jul 2026"
