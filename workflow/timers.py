"""Firing due timers: each in one transaction with its effect, so a crash loses nothing and repeats nothing.

A worker first *leases* a batch of due rows (``claimed_until``), then fires them one by one. The firing
transaction marks the row fired only if it is still pending, together with the event and whatever the
timer causes (an escalation, the next ladder rung), so two workers can never fire the same timer, and a
worker killed mid-batch leaves the rest to be claimed again when its lease runs out. On PostgreSQL the
lease query skips rows another worker has locked (``FOR UPDATE SKIP LOCKED``), so workers share the load.
The lease's length is ``SCTAC_LEASE_SECONDS`` (workflow/leases.py); the worker keeps it alive with a
heartbeat while it fires a long batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from workflow import ladders, localtime, observe, service
from workflow.db import utcnow
from workflow.errors import Conflict
from workflow.leases import Lease, claim_lease, default_lease
from workflow.lifecycle import TERMINAL
from workflow.statuses import EscalationStatus, TimerStatus
from workflow.timer_rows import add_timers

TIMER = service.TIMER
ESCALATION = service.ESCALATION


@dataclass(frozen=True)
class Outcome:
    timer_id: int
    result: str  # fired | skipped | conflict
    event_seq: int | None = None


def lease_due(session: Session, *, now: datetime, limit: int = 500, lease: timedelta | None = None) -> Lease:
    """Lease up to `limit` due timers for this worker (committed at once); the lease names their ids."""
    return claim_lease(
        session,
        table=TIMER,
        due=[TIMER.c.status == TimerStatus.PENDING, TIMER.c.due_at <= now],
        order_by=[TIMER.c.due_at, TIMER.c.id],
        now=now,
        lease=lease or default_lease(),
        limit=limit,
        also={"attempts": TIMER.c.attempts + 1},
    )


def claim_due(
    session: Session, *, now: datetime, limit: int = 500, lease: timedelta | None = None
) -> list[int]:
    """Lease up to `limit` due timers for this worker and return their ids (committed at once)."""
    return lease_due(session, now=now, limit=limit, lease=lease).ids


def fire_timer(session: Session, *, timer_id: int, now: datetime | None = None) -> Outcome:
    """Fire one leased timer and record its effect, in one transaction."""
    at = now or utcnow()
    try:
        timer = session.execute(select(TIMER).where(TIMER.c.id == timer_id)).mappings().first()
        if timer is None or timer["status"] != TimerStatus.PENDING:
            session.rollback()
            return Outcome(timer_id, "skipped")
        # Settle the row first, and only if it is still pending: the guard against a second worker or a
        # re-run, and it keeps this timer out of the re-planning its own effect may cause.
        settled = session.execute(
            update(TIMER)
            .where(TIMER.c.id == timer_id, TIMER.c.status == TimerStatus.PENDING)
            .values(status=TimerStatus.FIRED, settled_at=at, claimed_until=None)
        )
        if settled.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return Outcome(timer_id, "skipped")
        row = service.load_case(session, timer["case_id"])
        change = _effect(session, timer=timer, row=row, at=at)
        if change is None:  # what it waited for has happened: settle it as cancelled, record nothing
            session.execute(update(TIMER).where(TIMER.c.id == timer_id).values(status=TimerStatus.CANCELLED))
            session.commit()
            return Outcome(timer_id, "skipped")
        fired = service.write_change(session, row=row, change=change, actor="system", at=at)
        session.commit()
        observe.announce(observe.TRANSITION, {"trigger": change.trigger})
        lag = max((at - timer["due_at"]).total_seconds(), 0.0)
        observe.announce(observe.TIMER_FIRED, {"kind": timer["kind"]}, lag)
        return Outcome(timer_id, "fired", fired.event_seq)
    except Conflict:
        # Someone changed the case meanwhile; release the lease so the next pass fires it afresh.
        session.rollback()
        session.execute(update(TIMER).where(TIMER.c.id == timer_id).values(claimed_until=None))
        session.commit()
        return Outcome(timer_id, "conflict")
    except BaseException as exc:
        session.rollback()
        session.execute(update(TIMER).where(TIMER.c.id == timer_id).values(last_error=repr(exc)[:2000]))
        session.commit()
        raise


def run_due(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[Outcome]:
    """Claim and fire what is due now (one pass of the worker loop)."""
    at = now or utcnow()
    return [fire_timer(session, timer_id=i, now=at) for i in claim_due(session, now=at, limit=limit)]


def _effect(
    session: Session, *, timer: Mapping[Any, Any], row: Mapping[Any, Any], at: datetime
) -> service.Change | None:
    """The change a due timer makes, or None when what it was waiting for has already happened."""
    if row["state"] in TERMINAL:
        return None
    kind, detail, state = timer["kind"], timer["detail"] or {}, row["state"]
    if kind == "sla":
        if row["sla_stage"] != detail.get("stage") or row["awaiting_since"] is not None:
            return None
        work = _STAGE_WORK[detail["stage"]]
        reason = f"{work} is overdue (target set by {timer['rule'] or 'policy'})"
        extra = {"stage": detail["stage"], "due_at": _iso(row["sla_due_at"])}
        return _missed(
            "sla_breached", "sla", reason, {"sla_breached": True}, extra, timer=timer, row=row, at=at
        )
    if kind == "review_reminder":
        if state != "tasked":
            return None
        due = row["review_due_at"]
        days = max(0, (localtime.local_date(due) - localtime.local_date(at)).days) if due else 0
        payload = {"due_at": _iso(due), "days_remaining": days, "notify": ["owner"]}
        return service.Change("review_reminder", state, payload=payload)
    if kind == "review_due":
        if state != "tasked":
            return None
        reason = f"review was due {localtime.moment(row['review_due_at'])} and has not been recorded"
        extra = {"due_at": _iso(row["review_due_at"])}
        changes = {"review_overdue": True}
        return _missed("review_overdue", "review", reason, changes, extra, timer=timer, row=row, at=at)
    if kind in ("ladder", "snooze_end"):
        return _ladder_effect(session, timer=timer, row=row, at=at)
    raise ValueError(f"unknown timer kind {kind!r}")


def _missed(
    trigger: str,
    source: str,
    reason: str,
    changes: dict[str, Any],
    extra: dict[str, Any],
    *,
    timer: Mapping[Any, Any],
    row: Mapping[Any, Any],
    at: datetime,
) -> service.Change:
    """A missed deadline (SLA or review): record it and raise an escalation that climbs the ladder."""
    raised = ladders.raise_escalation(
        row=row,
        source=source,
        level=1,
        level_name="hub supervisor",
        handler="hub_supervisor",
        reason=reason,
        rules=[timer["rule"]] if timer["rule"] else [],
        ruleset_version=timer["ruleset_version"],
        at=at,
        event_seq=row["event_seq"] + 1,
    )
    payload = {**extra, "escalation": raised.summary, "notify": [raised.summary["notify"]]}
    return service.Change(trigger, row["state"], changes=changes, payload=payload, after=[raised.write])


def _ladder_effect(
    session: Session, *, timer: Mapping[Any, Any], row: Mapping[Any, Any], at: datetime
) -> service.Change | None:
    esc = (
        session.execute(select(ESCALATION).where(ESCALATION.c.id == timer["escalation_id"])).mappings().one()
    )
    if timer["kind"] == "ladder" and esc["status"] != EscalationStatus.OPEN:
        return None
    if timer["kind"] == "snooze_end" and esc["status"] != EscalationStatus.SNOOZED:
        return None
    policy = row["policy"] or {}
    ladder = policy.get("ladder") or []
    step = int(timer["step"] if timer["kind"] == "ladder" else esc["step"])
    notify = ladder[step]["notify"] if step < len(ladder) else esc["handler"]
    escalation_id = int(esc["id"])

    def advance(session: Session, _event_id: int) -> None:
        session.execute(
            update(ESCALATION)
            .where(ESCALATION.c.id == escalation_id)
            .values(status=EscalationStatus.OPEN, step=step, snoozed_until=None)
        )
        nxt = ladders.next_step_timer(policy, escalation_id=escalation_id, step=step, at=at)
        add_timers(
            session, case_id=row["id"], specs=[nxt] if nxt else [], ruleset_version=row["ruleset_version"]
        )

    trigger = "escalation_step" if timer["kind"] == "ladder" else "snooze_ended"
    payload = {
        "escalation_id": escalation_id,
        "level": esc["level"],
        "step": step,
        "notify": [notify],
        "reason": esc["reason"],
    }
    return service.Change(trigger, row["state"], payload=payload, after=[advance])


_STAGE_WORK = {
    "submitted": "assessment",
    "assessed": "prioritisation",
    "prioritised": "tasking",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
