"""Timer rows: writing the ones a plan asks for (clock timers, reminders, escalation ladder steps)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import Session

from workflow import clocks
from workflow.db import utcnow
from workflow.prepared import Prepared
from workflow.statuses import TimerStatus
from workflow.tables import TIMER

_COLUMNS = (
    "case_id", "kind", "due_at", "status", "attempts", "detail", "rule", "ruleset_version",
    "escalation_id", "step", "created_at",
)  # fmt: skip


@cache
def _insert(rows: int) -> Prepared:
    """One INSERT of `rows` timers (multi-row VALUES): a plan sets one to four at once."""
    # Typed here: SQLAlchemy types the first row's parameters by their columns, not the rest.
    values = [{c: bindparam(f"{c}_{i}", type_=TIMER.c[c].type) for c in _COLUMNS} for i in range(rows)]
    return Prepared(insert(TIMER).values(values))


def add_timers(
    session: Session, *, case_id: int, specs: list[clocks.TimerSpec], ruleset_version: str | None
) -> None:
    if not specs:
        return
    at = utcnow()
    params: dict[str, Any] = {}
    for i, s in enumerate(specs):
        row = {
            "case_id": case_id,
            "kind": s.kind,
            "due_at": s.due_at,
            "status": TimerStatus.PENDING,
            "attempts": 0,
            "detail": s.detail,
            "rule": s.rule,
            "ruleset_version": ruleset_version,
            "escalation_id": s.detail.get("escalation_id"),
            "step": s.detail.get("step"),
            "created_at": at,
        }
        params.update({f"{c}_{i}": row[c] for c in _COLUMNS})
    _insert(len(specs)).rowcount(session, params)
