"""Time-driven rows: timers (SLA, reviews, reminders, ladder steps, snooze ends), escalations, and the
outbox of events waiting to be turned into notifications.

Timers are rows, never threads: a worker claims the due ones and fires each in one transaction with its
effect, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from workflow.db import UTCDateTime
from workflow.models.columns import json_list, utc_optional, utc_timestamp
from workflow.statuses import EscalationStatus, TimerStatus


class Timer(SQLModel, table=True):
    __table_args__ = (
        # The worker's claim query: pending rows by due time. Partial on PostgreSQL would be smaller,
        # but one portable index keeps SQLite and PostgreSQL plans alike.
        Index("ix_timer_status_due", "status", "due_at"),
        Index("ix_timer_case_status", "case_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=24, description="sla | review_reminder | review_due | ladder | snooze_end")
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default=TimerStatus.PENDING, max_length=12, description=" | ".join(TimerStatus))
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id")
    step: int | None = Field(default=None, description="ladder step index")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rule: str | None = Field(
        default=None, max_length=120, description="the rule that set this timer's policy"
    )
    ruleset_version: str | None = Field(default=None, max_length=32)
    # A worker leases the rows it claims; a worker that dies leaves them to be claimed again after the lease.
    claimed_until: datetime | None = utc_optional()
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = utc_timestamp()
    settled_at: datetime | None = utc_optional()


class Escalation(SQLModel, table=True):
    __table_args__ = (Index("ix_escalation_status_level", "status", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    source: str = Field(max_length=16, description="rule | sla | review")
    level: int
    level_name: str = Field(max_length=64)
    handler: str = Field(max_length=32, description="role that must act: hub_supervisor, tasking_chair, ...")
    hub: str | None = Field(default=None, max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    rules: list[str] = json_list()
    ruleset_version: str | None = Field(default=None, max_length=32)
    status: str = Field(
        default=EscalationStatus.OPEN, max_length=16, description=" | ".join(EscalationStatus)
    )
    step: int = Field(default=0, description="the ladder step reached")
    snoozes: int = 0
    snoozed_until: datetime | None = utc_optional()
    raised_at: datetime = utc_timestamp()
    event_seq: int = Field(description="the case event that raised it")
    acknowledged_by: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = utc_optional()
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = utc_optional()
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class EventOutbox(SQLModel, table=True):
    """Events not yet turned into deliveries. Written in the event's own transaction (the transactional
    outbox), so notifications/ never misses an event and workflow/ never needs to know who is told."""

    __tablename__ = "event_outbox"

    event_id: int = Field(primary_key=True, foreign_key="case_event.id")
    case_id: int = Field(foreign_key="case.id")
    created_at: datetime = utc_timestamp()
