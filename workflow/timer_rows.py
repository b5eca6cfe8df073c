"""Timer rows: writing the ones a plan asks for (clock timers, reminders, escalation ladder steps)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from workflow import clocks
from workflow.db import utcnow
from workflow.statuses import TimerStatus
from workflow.tables import TIMER

_INSERT_TIMERS = insert(TIMER)


def add_timers(
    session: Session, *, case_id: int, specs: list[clocks.TimerSpec], ruleset_version: str | None
) -> None:
    if specs:
        session.connection().execute(
            _INSERT_TIMERS,
            [
                {
                    "case_id": case_id,
                    "kind": s.kind,
                    "due_at": s.due_at,
                    "status": TimerStatus.PENDING,
                    "detail": s.detail,
                    "rule": s.rule,
                    "ruleset_version": ruleset_version,
                    "escalation_id": s.detail.get("escalation_id"),
                    "step": s.detail.get("step"),
                    "created_at": utcnow(),
                }
                for s in specs
            ],
        )
