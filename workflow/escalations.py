"""Escalations: raised by a MoRiLE rule, a breached SLA or a missed review, all through one mechanism.

Each escalation climbs the policy's ladder (e.g. remind the owner, then tell the hub supervisor, then
the tasking chair) by timer rows until a supervisor acknowledges, snoozes (with a reason, within the
policy's limits) or resolves it. Every step is a case event, so the case history shows who was told,
who acted and what they wrote (story 3). Raising one and planning its ladder is in `ladders`; the
supervisors' actions are here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from workflow import access, clocks, refusals, service
from workflow.calendar import Calendar
from workflow.db import utcnow
from workflow.errors import FieldProblem, Forbidden, InvalidInput, NotFound, Settled
from workflow.principals import Principal
from workflow.statuses import EscalationStatus, TimerStatus
from workflow.tables import ESCALATION, TIMER
from workflow.timer_rows import add_timers


def _act(
    session: Session,
    *,
    escalation_id: int,
    by: Principal,
    trigger: str,
    reason: str | None,
    values: dict[str, Any],
    payload: dict[str, Any],
    at: datetime,
    snooze_until: datetime | None = None,
    check: Callable[[Mapping[Any, Any], Mapping[Any, Any]], dict[str, Any]] | None = None,
) -> service.Fired:
    """Record a supervisor's action on an escalation as a case event. `check(escalation, case)` may refuse
    it (raising) or add values, from the same rows the action is written against."""
    try:
        esc = session.execute(select(ESCALATION).where(ESCALATION.c.id == escalation_id)).mappings().first()
        if esc is None:
            raise NotFound(f"no escalation {escalation_id}")
        row = service.load_case(session, esc["case_id"])
        try:
            # An escalation on a case the caller may not see does not exist for them.
            if not access.can_see(by, row):
                raise NotFound(f"no escalation {escalation_id}")
            access.require(by, "handle_escalation", row)
        except (NotFound, Forbidden) as exc:
            session.rollback()
            refusals.record(session, who=by, action=trigger, case_id=row["id"], exc=exc)
            raise
        if esc["status"] == EscalationStatus.RESOLVED:
            raise Settled(f"escalation {escalation_id} is already resolved")
        if check is not None:
            values = {**values, **check(esc, row)}

        def settle(session: Session, _event_id: int) -> None:
            session.execute(
                update(TIMER)
                .where(TIMER.c.escalation_id == escalation_id, TIMER.c.status == TimerStatus.PENDING)
                .values(status=TimerStatus.CANCELLED, settled_at=at)
            )
            session.execute(update(ESCALATION).where(ESCALATION.c.id == escalation_id).values(**values))
            if snooze_until is not None:
                spec = clocks.TimerSpec(
                    "snooze_end", snooze_until, {"escalation_id": escalation_id, "step": esc["step"]}, None
                )
                add_timers(session, case_id=row["id"], specs=[spec], ruleset_version=row["ruleset_version"])

        change = service.Change(
            trigger=trigger,
            to_state=row["state"],
            reason=reason,
            # raised_seq ties this action to the event that raised the escalation (for the reports).
            payload={
                "escalation_id": escalation_id,
                "level": esc["level"],
                "raised_seq": esc["event_seq"],
                **payload,
            },
            after=[settle],
        )
        fired = service.write_change(session, row=row, change=change, actor=by.username, at=at)
        session.commit()
        return fired
    except BaseException:
        session.rollback()
        raise


def acknowledge(
    session: Session,
    *,
    escalation_id: int,
    by: Principal,
    note: str | None = None,
    now: datetime | None = None,
) -> service.Fired:
    at = now or utcnow()
    values = {
        "status": EscalationStatus.ACKNOWLEDGED,
        "acknowledged_by": by.username,
        "acknowledged_at": at,
        "snoozed_until": None,
    }
    if note:
        values["note"] = note
    return _act(
        session,
        escalation_id=escalation_id,
        by=by,
        trigger="escalation_acknowledged",
        reason=note,
        values=values,
        payload={"notify": ["owner"]},
        at=at,
    )


def snooze(
    session: Session,
    *,
    escalation_id: int,
    by: Principal,
    until: datetime,
    reason: str,
    now: datetime | None = None,
) -> service.Fired:
    at = now or utcnow()
    problems: list[FieldProblem] = []
    if not reason or not reason.strip():
        problems.append(FieldProblem("reason", "a snooze needs a reason"))
    if until.tzinfo is None:
        problems.append(FieldProblem("until", "give a time zone (e.g. 2026-12-01T09:00:00Z)"))
    elif until <= at:
        problems.append(FieldProblem("until", "must be in the future"))
    if problems:
        raise InvalidInput(problems)

    def within_limits(esc: Mapping[Any, Any], case: Mapping[Any, Any]) -> dict[str, Any]:
        limit = (case["policy"] or {}).get("snooze_limit") or {}
        refused: list[FieldProblem] = []
        if limit:
            ((unit, amount),) = limit["longest"].items()
            longest = timedelta(seconds=Calendar.seconds(amount, unit))
            if until - at > longest:
                word = unit.replace("_", " ")
                word = word[:-1] if amount == 1 else word
                refused.append(FieldProblem("until", f"at most {amount} {word} ahead"))
            if esc["snoozes"] >= int(limit["times"]):
                times = f"already snoozed {esc['snoozes']} times (limit {limit['times']})"
                refused.append(FieldProblem("until", times))
        if refused:
            raise InvalidInput(refused)
        return {"snoozes": esc["snoozes"] + 1}

    return _act(
        session,
        escalation_id=escalation_id,
        by=by,
        trigger="escalation_snoozed",
        reason=reason,
        values={"status": EscalationStatus.SNOOZED, "snoozed_until": until, "note": reason},
        payload={"until": until.isoformat()},
        at=at,
        snooze_until=until,
        check=within_limits,
    )


def resolve(
    session: Session, *, escalation_id: int, by: Principal, reason: str, now: datetime | None = None
) -> service.Fired:
    if not reason or not reason.strip():
        raise InvalidInput([FieldProblem("reason", "say how the escalation was resolved")])
    at = now or utcnow()
    return _act(
        session,
        escalation_id=escalation_id,
        by=by,
        trigger="escalation_resolved",
        reason=reason,
        values={
            "status": EscalationStatus.RESOLVED,
            "resolved_by": by.username,
            "resolved_at": at,
            "note": reason,
            "snoozed_until": None,
        },
        payload={},
        at=at,
    )
