"""A case as a row of a page's table: what is due next, whether it is overdue, how much SLA is left."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from workflow import clocks
from workflow.calendar import Calendar, calendar_for
from workflow.models import Case

STAGE_NAMES = {"submitted": "assessment", "assessed": "prioritisation", "prioritised": "tasking"}


@lru_cache(maxsize=1)
def calendar() -> Calendar:
    return calendar_for()


@dataclass(frozen=True)
class CaseRow:
    case: Case
    due_at: datetime | None
    due_what: str
    overdue: bool
    sla_left: float | None
    paused: bool


def row(c: Case, now: datetime) -> CaseRow:
    due_at, what = None, ""
    if c.sla_due_at is not None:
        due_at, what = c.sla_due_at, f"{STAGE_NAMES.get(c.sla_stage or '', c.sla_stage or 'stage')} SLA"
    if c.review_due_at is not None and (due_at is None or c.review_due_at < due_at):
        due_at, what = c.review_due_at, "review"
    paused = c.awaiting_since is not None
    used = clocks.time_used(
        {
            "sla_started_at": c.sla_started_at,
            "sla_target_seconds": c.sla_target_seconds,
            "sla_working": c.sla_working,
            "sla_paused_seconds": c.sla_paused_seconds,
            "awaiting_since": c.awaiting_since,
        },
        now=now,
        calendar=calendar(),
    )
    overdue = bool(c.sla_breached or c.review_overdue) or (due_at is not None and due_at < now and not paused)
    return CaseRow(c, due_at, what, overdue, used[1] if used else None, paused)


def rows(cases: Iterable[Case], now: datetime) -> list[CaseRow]:
    return [row(c, now) for c in cases]
