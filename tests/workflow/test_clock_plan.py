"""The clock planner on its own (pure: a case, its policy, a moment), with every expected value worked out
by hand on the London calendar: which columns a change sets, and which timers the case should have."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workflow.calendar import calendar_for
from workflow.clocks import Clock, TimerSpec, plan, resume, time_used

LONDON = calendar_for()
# Friday 27 March 2026, 10:00 in London (GMT, so 10:00 UTC); the clocks go forward on Sunday the 29th.
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
EARLIER = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
SOURCES = {"sla.submitted": "sla from rule A", "review_days": "review from rule B", "reminders": "rule C"}
NO_REVIEW = {"review_cycle_started_at": None, "review_due_at": None, "review_overdue": False}


def policy(**sla: dict[str, float]) -> dict[str, Any]:
    reminders = [{"days": 3}, {"days": 1}, {"days": 0}]
    return {"sla": sla, "review_days": 90, "reminders": reminders, "sources": SOURCES}


def sla(
    stage: str,
    started: datetime,
    seconds: float,
    due: datetime,
    *,
    working: bool = False,
    paused: float = 0.0,
) -> dict[str, Any]:
    return {
        "sla_stage": stage,
        "sla_started_at": started,
        "sla_target_seconds": seconds,
        "sla_working": working,
        "sla_paused_seconds": paused,
        "sla_due_at": due,
        "sla_breached": False,
    }


def test_a_calendar_day_target_keeps_the_wall_clock_across_the_clock_change() -> None:
    done = plan(
        case={"state": "submitted", "awaiting_since": None},
        before={},
        clock=Clock.REPLAN,
        policy=policy(submitted={"days": 3}),
        now=NOW,
        calendar=LONDON,
    )
    due = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 BST, not 10:00 UTC
    assert done.changes == {**sla("submitted", NOW, 3 * 86400.0, due), **NO_REVIEW}
    assert done.timers == [TimerSpec("sla", due, {"stage": "submitted"}, "sla from rule A")]


def test_an_hours_target_counts_elapsed_time() -> None:
    done = plan(
        case={"state": "submitted", "awaiting_since": None},
        before={},
        clock=Clock.REPLAN,
        policy={"sla": {"submitted": {"hours": 4}}, "review_days": 90},
        now=NOW,
        calendar=LONDON,
    )
    due = datetime(2026, 3, 27, 14, 0, tzinfo=UTC)
    assert done.changes == {**sla("submitted", NOW, 4 * 3600.0, due), **NO_REVIEW}
    assert done.timers == [TimerSpec("sla", due, {"stage": "submitted"}, None)]  # no sources: no rule named


def test_a_working_day_target_is_marked_working() -> None:
    done = plan(
        case={"state": "submitted", "awaiting_since": None},
        before={},
        clock=Clock.REPLAN,
        policy=policy(submitted={"working_days": 1}),
        now=NOW,
        calendar=LONDON,
    )
    assert done.changes["sla_working"] is True
    assert done.changes["sla_target_seconds"] == 86400.0
    # One working day from Friday 10:00 is Monday 10:00 in London (BST by then).
    assert done.changes["sla_due_at"] == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_a_stage_without_a_target_has_no_clock() -> None:
    for rules in ({"review_days": 90}, policy(assessed={"days": 5})):
        done = plan(
            case={"state": "submitted", "awaiting_since": None},
            before={},
            clock=Clock.REPLAN,
            policy=rules,
            now=NOW,
            calendar=LONDON,
        )
        assert done.changes == {
            "sla_stage": None,
            "sla_started_at": None,
            "sla_target_seconds": None,
            "sla_working": False,
            "sla_paused_seconds": 0.0,
            "sla_due_at": None,
            "sla_breached": False,
            "awaiting_since": None,
            "awaiting_reason": None,
            **NO_REVIEW,
        }
        assert done.timers == []


def running(**extra: Any) -> dict[str, Any]:
    """A submitted case whose clock started EARLIER with an hour paused (not breached, not waiting)."""
    return {
        "state": "submitted",
        "sla_stage": "submitted",
        "sla_started_at": EARLIER,
        "sla_paused_seconds": 3600.0,
        "sla_breached": False,
        "awaiting_since": None,
        **extra,
    }


def test_a_replan_in_the_same_stage_keeps_the_clock_it_has() -> None:
    case = running()
    done = plan(
        case=case,
        before=case,
        clock=Clock.REPLAN,
        policy=policy(submitted={"days": 3}),
        now=NOW,
        calendar=LONDON,
    )
    # Three calendar days from Thursday 09:00 GMT is Sunday 09:00 BST (08:00 UTC), plus the paused hour.
    due = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    assert done.changes == {**sla("submitted", EARLIER, 3 * 86400.0, due, paused=3600.0), **NO_REVIEW}
    assert [t.kind for t in done.timers] == ["sla"]


def test_new_intelligence_restarts_the_clock_and_forgets_the_pause() -> None:
    case = running(sla_breached=True)
    done = plan(
        case=case,
        before=case,
        clock=Clock.RESTART,
        policy=policy(submitted={"days": 3}),
        now=NOW,
        calendar=LONDON,
    )
    due = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert done.changes == {**sla("submitted", NOW, 3 * 86400.0, due), **NO_REVIEW}
    assert [t.kind for t in done.timers] == ["sla"]


def test_a_new_stage_starts_a_new_clock() -> None:
    for before in (running(sla_stage="assessed"), running(state="assessed")):
        done = plan(
            case=running(),
            before=before,
            clock=Clock.FOLLOW,
            policy=policy(submitted={"days": 3}),
            now=NOW,
            calendar=LONDON,
        )
        assert (done.changes["sla_started_at"], done.changes["sla_paused_seconds"]) == (NOW, 0.0)


def test_a_breached_or_paused_clock_has_no_timer() -> None:
    for case in (running(sla_breached=True), running(awaiting_since=NOW)):
        done = plan(
            case=case,
            before=case,
            clock=Clock.REPLAN,
            policy=policy(submitted={"days": 3}),
            now=NOW,
            calendar=LONDON,
        )
        assert done.changes["sla_breached"] is case["sla_breached"]
        assert done.timers == []


def tasked(**extra: Any) -> dict[str, Any]:
    return {
        "state": "tasked",
        "awaiting_since": None,
        "review_cycle_started_at": EARLIER,
        "review_overdue": False,
        **extra,
    }


def test_a_new_review_cycle_with_its_reminder_and_due_timer() -> None:
    done = plan(
        case=tasked(), before=tasked(), clock=Clock.NEW_CYCLE, policy=policy(), now=NOW, calendar=LONDON
    )
    due = datetime(2026, 6, 25, 9, 0, tzinfo=UTC)  # 90 days on: 10:00 BST
    assert {k: done.changes[k] for k in NO_REVIEW} == {
        "review_cycle_started_at": NOW,
        "review_due_at": due,
        "review_overdue": False,
    }
    assert done.changes["sla_stage"] is None
    detail = {"due_at": due.isoformat()}
    # The zero-day reminder is the due moment itself: the review_due timer marks it, no reminder does.
    assert done.timers == [
        TimerSpec("review_reminder", datetime(2026, 6, 22, 9, 0, tzinfo=UTC), detail, "rule C"),
        TimerSpec("review_reminder", datetime(2026, 6, 24, 9, 0, tzinfo=UTC), detail, "rule C"),
        TimerSpec("review_due", due, detail, "review from rule B"),
    ]


def test_a_review_cycle_carries_on_and_an_overdue_one_has_no_due_timer() -> None:
    case = tasked(review_overdue=True)
    done = plan(case=case, before=case, clock=Clock.REPLAN, policy=policy(), now=NOW, calendar=LONDON)
    due = datetime(2026, 6, 24, 8, 0, tzinfo=UTC)  # 90 days from Thursday 09:00 GMT: 09:00 BST
    assert (done.changes["review_cycle_started_at"], done.changes["review_due_at"]) == (EARLIER, due)
    assert done.changes["review_overdue"] is True
    assert [t.kind for t in done.timers] == ["review_reminder", "review_reminder"]
    # A reminder whose moment has come (three days before, 21 June 08:00 UTC) is not set again.
    late = plan(
        case=tasked(),
        before=tasked(),
        clock=Clock.REPLAN,
        policy=policy(),
        now=datetime(2026, 6, 21, 8, 0, tzinfo=UTC),
        calendar=LONDON,
    )
    assert [(t.kind, t.due_at) for t in late.timers] == [
        ("review_reminder", datetime(2026, 6, 23, 8, 0, tzinfo=UTC)),
        ("review_due", due),
    ]


def test_a_first_review_cycle_starts_now_whatever_the_clock() -> None:
    case = tasked(review_cycle_started_at=None, review_overdue=True)
    done = plan(case=case, before=case, clock=Clock.FOLLOW, policy=policy(), now=NOW, calendar=LONDON)
    assert (done.changes["review_cycle_started_at"], done.changes["review_overdue"]) == (NOW, False)


# Saturday 28 March 2026, 10:00 GMT, to Sunday 10:00 BST: 23 hours of time, none of it working time.
SATURDAY = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)


def test_an_answer_credits_the_wait_the_way_the_target_counts() -> None:
    waited = {"sla_paused_seconds": 600.0, "sla_started_at": EARLIER, "awaiting_since": SATURDAY}
    assert resume({**waited, "sla_working": False}, now=SUNDAY, calendar=LONDON) == {
        "awaiting_since": None,
        "awaiting_reason": None,
        "sla_paused_seconds": 600.0 + 23 * 3600,
    }
    assert resume({**waited, "sla_working": True}, now=SUNDAY, calendar=LONDON)["sla_paused_seconds"] == 600.0
    # No clock running (or no wait): nothing to credit; a pause never recorded counts as none.
    unclocked = {**waited, "sla_started_at": None, "sla_working": False}
    assert resume(unclocked, now=SUNDAY, calendar=LONDON)["sla_paused_seconds"] == 600.0
    never = {
        "sla_paused_seconds": None,
        "sla_started_at": EARLIER,
        "awaiting_since": None,
        "sla_working": False,
    }
    assert resume(never, now=SUNDAY, calendar=LONDON)["sla_paused_seconds"] == 0.0


def test_time_used_stops_while_waiting_and_leaves_out_the_pauses() -> None:
    clock = {"sla_started_at": SATURDAY, "sla_target_seconds": 86400.0, "sla_working": False}
    assert time_used({**clock, "sla_paused_seconds": None}, now=SUNDAY, calendar=LONDON) == (82800.0, 3600.0)
    paused = {**clock, "sla_paused_seconds": 3600.0, "awaiting_since": SATURDAY + (SUNDAY - SATURDAY) / 2}
    assert time_used(paused, now=SUNDAY, calendar=LONDON) == (41400.0 - 3600.0, 86400.0 - 37800.0)
    assert time_used({**clock, "sla_started_at": None}, now=SUNDAY, calendar=LONDON) is None
    assert time_used({**clock, "sla_target_seconds": None}, now=SUNDAY, calendar=LONDON) is None


def test_a_policy_without_reminders_sets_only_the_due_timer() -> None:
    rules = {k: v for k, v in policy().items() if k != "reminders"}
    done = plan(case=tasked(), before=tasked(), clock=Clock.NEW_CYCLE, policy=rules, now=NOW, calendar=LONDON)
    assert [t.kind for t in done.timers] == ["review_due"]
