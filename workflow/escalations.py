"""Escalations: raised by a MoRiLE rule, a breached SLA or a missed review, all through one mechanism.

Each escalation climbs the policy's ladder (e.g. remind the owner, then tell the hub supervisor, then
the tasking chair) by timer rows until a supervisor acknowledges, snoozes (with a reason, within the
policy's limits) or resolves it. Every step is a case event, so the case history shows who was told,
who acted and what they wrote (story 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from workflow import clocks, service
from workflow import rulebook as rb
from workflow.calendar import Calendar
from workflow.db import utcnow
from workflow.errors import FieldProblem, InvalidInput, NotFound, Settled
from workflow.models import Escalation

ESCALATION = service.ESCALATION
OPEN = ("open", "acknowledged", "snoozed")


@dataclass(frozen=True)
class Raised:
    summary: dict[str, Any]
    write: service.AfterEvent


def _ladder(policy: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return list(policy.get("ladder") or [])


def _after(step: Mapping[Any, Any]) -> timedelta:
    ((unit, amount),) = step["after"].items()
    return timedelta(seconds=Calendar.seconds(amount, unit))


def first_step(policy: Mapping[Any, Any], *, handler: str | None, has_owner: bool) -> int:
    """Where an escalation joins the ladder: at its handler's rung, else the first rung with someone
    to tell (a case with no owner yet skips 'remind the owner')."""
    ladder = _ladder(policy)
    if handler is not None:
        for i, step in enumerate(ladder):
            if step["notify"] == handler:
                return i
    for i, step in enumerate(ladder):
        if step["notify"] != "owner" or has_owner:
            return i
    return 0


def next_step_timer(
    policy: Mapping[Any, Any], *, escalation_id: int, step: int, at: datetime
) -> clocks.TimerSpec | None:
    ladder = _ladder(policy)
    if step + 1 >= len(ladder):
        return None
    nxt = ladder[step + 1]
    detail = {"escalation_id": escalation_id, "step": step + 1, "notify": nxt["notify"]}
    return clocks.TimerSpec("ladder", at + _after(nxt), detail, policy.get("sources", {}).get("ladder"))


def raise_escalation(
    *,
    row: Mapping[Any, Any],
    source: str,
    level: int,
    level_name: str,
    handler: str,
    reason: str,
    rules: Sequence[str],
    ruleset_version: str | None,
    at: datetime,
    event_seq: int,
) -> Raised:
    """An escalation to record with the event at `event_seq`, and its first ladder timer."""
    policy = row["policy"] or {}
    step = first_step(
        policy, handler=handler if source == "rule" else None, has_owner=row["owner"] is not None
    )
    ladder = _ladder(policy)
    notify = ladder[step]["notify"] if ladder else handler
    summary = {
        "source": source,
        "level": level,
        "level_name": level_name,
        "handler": handler,
        "reason": reason,
        "rules": list(rules),
        "step": step,
        "notify": notify,
    }

    def write(session: Session, _event_id: int) -> None:
        escalation_id = session.execute(
            insert(ESCALATION)
            .values(
                case_id=row["id"],
                source=source,
                level=level,
                level_name=level_name,
                handler=handler,
                hub=row["hub"],
                reason=reason,
                rules=list(rules),
                ruleset_version=ruleset_version,
                status="open",
                step=step,
                snoozes=0,
                raised_at=at,
                event_seq=event_seq,
            )
            .returning(ESCALATION.c.id)
        ).scalar_one()
        timer = next_step_timer(policy, escalation_id=escalation_id, step=step, at=at)
        service.add_timers(
            session, case_id=row["id"], specs=[timer] if timer else [], ruleset_version=ruleset_version
        )

    return Raised(summary, write)


def rule_escalation_if_new(
    session: Session, *, row: RowMapping, decided: rb.Decided, at: datetime, event_seq: int
) -> Raised | None:
    """A MoRiLE threshold crossing raises an escalation unless one at that level or higher is open."""
    esc = decided.escalation
    assert esc is not None
    highest = session.execute(
        select(ESCALATION.c.level)
        .where(
            ESCALATION.c.case_id == row["id"], ESCALATION.c.source == "rule", ESCALATION.c.status.in_(OPEN)
        )
        .order_by(ESCALATION.c.level.desc())
        .limit(1)
    ).scalar_one_or_none()
    if highest is not None and highest >= esc["level"]:
        return None
    # The ladder and hub of the escalation follow the decision being recorded with it.
    target = {
        **row,
        "policy": decided.policy,
        "hub": decided.hub if row["state"] in service.ROUTABLE else row["hub"],
    }
    return raise_escalation(
        row=target,
        source="rule",
        level=esc["level"],
        level_name=esc["level_name"],
        handler=esc["handler"],
        reason="; ".join(esc["reasons"]),
        rules=esc["rules"],
        ruleset_version=decided.ruleset_version,
        at=at,
        event_seq=event_seq,
    )


# --- Supervisors' actions ---------------------------------------------------------------------------


def list_escalations(
    session: Session, *, status: str | None = None, hub: str | None = None, limit: int = 100
) -> Sequence[Escalation]:
    query = sm_select(Escalation)
    if status:
        query = query.where(Escalation.status == status)
    if hub:
        query = query.where(Escalation.hub == hub)
    return session.exec(
        query.order_by(col(Escalation.level).desc(), col(Escalation.raised_at)).limit(limit)
    ).all()


def _act(
    session: Session,
    *,
    escalation_id: int,
    actor: str,
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
        if esc["status"] == "resolved":
            raise Settled(f"escalation {escalation_id} is already resolved")
        row = service.load_case(session, esc["case_id"])
        if check is not None:
            values = {**values, **check(esc, row)}

        def settle(session: Session, _event_id: int) -> None:
            session.execute(
                update(service.TIMER)
                .where(service.TIMER.c.escalation_id == escalation_id, service.TIMER.c.status == "pending")
                .values(status="cancelled", settled_at=at)
            )
            session.execute(update(ESCALATION).where(ESCALATION.c.id == escalation_id).values(**values))
            if snooze_until is not None:
                spec = clocks.TimerSpec(
                    "snooze_end", snooze_until, {"escalation_id": escalation_id, "step": esc["step"]}, None
                )
                service.add_timers(
                    session, case_id=row["id"], specs=[spec], ruleset_version=row["ruleset_version"]
                )

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
        fired = service.write_change(session, row=row, change=change, actor=actor, at=at)
        session.commit()
        return fired
    except BaseException:
        session.rollback()
        raise


def acknowledge(
    session: Session, *, escalation_id: int, actor: str, note: str | None = None, now: datetime | None = None
) -> service.Fired:
    at = now or utcnow()
    values = {
        "status": "acknowledged",
        "acknowledged_by": actor,
        "acknowledged_at": at,
        "snoozed_until": None,
    }
    if note:
        values["note"] = note
    return _act(
        session,
        escalation_id=escalation_id,
        actor=actor,
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
    actor: str,
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
        actor=actor,
        trigger="escalation_snoozed",
        reason=reason,
        values={"status": "snoozed", "snoozed_until": until, "note": reason},
        payload={"until": until.isoformat()},
        at=at,
        snooze_until=until,
        check=within_limits,
    )


def resolve(
    session: Session, *, escalation_id: int, actor: str, reason: str, now: datetime | None = None
) -> service.Fired:
    if not reason or not reason.strip():
        raise InvalidInput([FieldProblem("reason", "say how the escalation was resolved")])
    at = now or utcnow()
    return _act(
        session,
        escalation_id=escalation_id,
        actor=actor,
        trigger="escalation_resolved",
        reason=reason,
        values={
            "status": "resolved",
            "resolved_by": actor,
            "resolved_at": at,
            "note": reason,
            "snoozed_until": None,
        },
        payload={},
        at=at,
    )
