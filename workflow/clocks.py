"""SLA clocks and review cycles, derived from a case and its policy (pure: no database here).

Given the case as it will be after a change, `plan` says what its clock columns become and which
timers it should have. The service cancels the case's pending clock timers and writes these in the same
transaction as the change, so timers always follow the case: a new stage, a new band, a pause or a
resume re-plans them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from workflow.calendar import DAY, Calendar

SLA_STAGES = ("submitted", "assessed", "prioritised")
CLOCK_TIMERS = ("sla", "review_reminder", "review_due")


class Clock(StrEnum):
    """What a change does to the case's clocks (each trigger names one in its definition)."""

    # Re-planned when the state changes, left alone otherwise: reminders, breaches and escalation steps
    # use this, so they can never re-arm their own timer.
    FOLLOW = "follow"
    # Re-planned even when the case stays where it is (a new band, a pause, a resume, new rules).
    REPLAN = "replan"
    # The current stage's SLA clock starts again (new intelligence sends the case back to assessment).
    RESTART = "restart"
    # A new review cycle starts (the case is tasked, or a review decides to continue).
    NEW_CYCLE = "new_cycle"


def replans(*, clock: Clock, state_before: str | None, state_after: str) -> bool:
    return state_before != state_after or clock is not Clock.FOLLOW


@dataclass(frozen=True)
class TimerSpec:
    kind: str
    due_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None


@dataclass(frozen=True)
class Plan:
    changes: dict[str, Any]
    timers: list[TimerSpec]


def _duration(policy: Mapping[Any, Any], stage: str) -> tuple[float, bool] | None:
    target = policy.get("sla", {}).get(stage)
    if not target:
        return None
    ((unit, amount),) = target.items()
    return Calendar.seconds(amount, unit), unit == "working_days"


def _unit(policy: Mapping[Any, Any], stage: str) -> str:
    ((unit, _),) = policy["sla"][stage].items()
    return str(unit)


def plan(
    *,
    case: Mapping[Any, Any],
    before: Mapping[Any, Any],
    clock: Clock,
    policy: Mapping[Any, Any],
    now: datetime,
    calendar: Calendar,
) -> Plan:
    """The clock columns and timers of `case` (its values after the change; `before` = prior row)."""
    state = case["state"]
    changes: dict[str, Any] = {}
    timers: list[TimerSpec] = []
    sources = policy.get("sources", {})

    # --- SLA clock of the current stage --------------------------------------------------------
    if state in SLA_STAGES and (target := _duration(policy, state)) is not None:
        seconds, working = target
        if before.get("sla_stage") != state or clock is Clock.RESTART or before.get("state") != state:
            started, paused, breached = now, 0.0, False
        else:
            started, paused = case["sla_started_at"], case["sla_paused_seconds"]
            breached = bool(case["sla_breached"])
        due = calendar.advance(started, seconds + paused, working=working)
        if _unit(policy, state) == "days":  # calendar days keep the wall-clock time, pauses are added on
            due = calendar.add_days(started, int(seconds // DAY)) + timedelta(seconds=paused)
        changes.update(
            sla_stage=state,
            sla_started_at=started,
            sla_target_seconds=seconds,
            sla_working=working,
            sla_paused_seconds=paused,
            sla_due_at=due,
            sla_breached=breached,
        )
        # A paused clock has no timer until it resumes; a breached one has already had its say.
        if case.get("awaiting_since") is None and not breached:
            timers.append(TimerSpec("sla", due, {"stage": state}, sources.get(f"sla.{state}")))
    else:
        changes.update(
            sla_stage=None,
            sla_started_at=None,
            sla_target_seconds=None,
            sla_working=False,
            sla_paused_seconds=0.0,
            sla_due_at=None,
            sla_breached=False,
            awaiting_since=None,
            awaiting_reason=None,
        )

    # --- Review cycle while tasked ---------------------------------------------------------------
    if state == "tasked":
        new_cycle = clock is Clock.NEW_CYCLE or case["review_cycle_started_at"] is None
        started = now if new_cycle else case["review_cycle_started_at"]
        overdue = False if new_cycle else bool(case["review_overdue"])
        # Review periods are calendar days on the London wall clock (the same time of day across a
        # clock change), and so are reminders given in days.
        due = calendar.add_days(started, int(policy["review_days"]))
        changes.update(review_cycle_started_at=started, review_due_at=due, review_overdue=overdue)
        rule = sources.get("review_days")
        for reminder in policy.get("reminders", []):
            ((unit, amount),) = reminder.items()
            remind_at = calendar.shift(due, -int(amount), unit)
            # A zero offset is the due moment itself, which the review_due timer already marks.
            if amount > 0 and remind_at > now:
                timers.append(
                    TimerSpec(
                        "review_reminder", remind_at, {"due_at": due.isoformat()}, sources.get("reminders")
                    )
                )
        if not overdue:
            timers.append(TimerSpec("review_due", due, {"due_at": due.isoformat()}, rule))
    else:
        changes.update(review_cycle_started_at=None, review_due_at=None, review_overdue=False)
    return Plan(changes, timers)


def pause(*, now: datetime, reason: str) -> dict[str, Any]:
    """Stop the stage clock while the centre waits on the requester (story 6)."""
    return {"awaiting_since": now, "awaiting_reason": reason}


def resume(case: Mapping[Any, Any], *, now: datetime, calendar: Calendar) -> dict[str, Any]:
    """Credit the paused time (counted the way the target counts) and move the due date on."""
    paused = case["sla_paused_seconds"] or 0.0
    if case.get("sla_started_at") is not None and case.get("awaiting_since") is not None:
        paused += calendar.elapsed(case["awaiting_since"], now, working=bool(case["sla_working"]))
    return {"awaiting_since": None, "awaiting_reason": None, "sla_paused_seconds": paused}


def time_used(case: Mapping[Any, Any], *, now: datetime, calendar: Calendar) -> tuple[float, float] | None:
    """(used, left) seconds of the current SLA, counted as the target counts; None without a clock."""
    if case.get("sla_started_at") is None or case.get("sla_target_seconds") is None:
        return None
    working = bool(case["sla_working"])
    until = case.get("awaiting_since") or now
    used = calendar.elapsed(case["sla_started_at"], until, working=working) - (
        case["sla_paused_seconds"] or 0.0
    )
    return used, case["sla_target_seconds"] - used
