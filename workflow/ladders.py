"""Raising an escalation and planning its ladder: shared by the service (MoRiLE thresholds crossed at
assessment), the timers (breached SLAs, missed reviews) and the supervisors' actions in `escalations`.

It writes only the escalation row and its ladder timer, handed back as an after-event writer so they go
in the same transaction as the event that raised them; it knows nothing of case transitions, so the
modules above can all build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from workflow import clocks
from workflow import rulebook as rb
from workflow.calendar import calendar_for
from workflow.states import ROUTABLE
from workflow.statuses import UNRESOLVED, EscalationStatus
from workflow.tables import ESCALATION
from workflow.timer_rows import add_timers

OPEN = UNRESOLVED


@dataclass(frozen=True)
class Raised:
    summary: dict[str, Any]
    write: Callable[[Session, int], None]  # run after the raising event is written


def _ladder(policy: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return list(policy.get("ladder") or [])


def _after(step: Mapping[Any, Any], at: datetime) -> datetime:
    """When a rung is due after `at`: hours elapse, days keep the London wall-clock time."""
    ((unit, amount),) = step["after"].items()
    return calendar_for().shift(at, int(amount), unit)


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
    return clocks.TimerSpec("ladder", _after(nxt, at), detail, policy.get("sources", {}).get("ladder"))


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
                status=EscalationStatus.OPEN,
                step=step,
                snoozes=0,
                raised_at=at,
                event_seq=event_seq,
            )
            .returning(ESCALATION.c.id)
        ).scalar_one()
        timer = next_step_timer(policy, escalation_id=escalation_id, step=step, at=at)
        add_timers(
            session, case_id=row["id"], specs=[timer] if timer else [], ruleset_version=ruleset_version
        )

    return Raised(summary, write)


def rule_escalation_if_new(
    session: Session, *, row: Mapping[str, Any], decided: rb.Decided, at: datetime, event_seq: int
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
        "hub": decided.hub if row["state"] in ROUTABLE else row["hub"],
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
