"""Cases and what happened to them: events, assessments, rule decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from workflow.facts import COLUMNS as FACT_COLUMNS
from workflow.models.columns import json_list, utc_optional, utc_timestamp


class Case(SQLModel, table=True):
    """A request for specialist crime assets, from submission to closure."""

    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_state_hub", "state", "hub"),
        Index("ix_case_unit_state", "requesting_unit", "state"),
        # The need-to-know filter reads the marking of every open case in a hub (tasking list, dashboard).
        Index("ix_case_state_hub_marking", "state", "hub", "protective_marking"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Filled from the id in the submitting transaction, so no reader ever sees it empty.
    reference: str | None = Field(default=None, max_length=32, unique=True)
    title: str = Field(max_length=200)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    requesting_unit: str = Field(foreign_key="unit.code", max_length=16)
    target_type: str = Field(max_length=32)
    target_name: str = Field(max_length=200)
    themes: list[str] = json_list()
    capabilities: list[str] = json_list()
    tags: list[str] = json_list()
    protective_marking: str = Field(max_length=32)
    state: str = Field(max_length=16)
    version: int = 1
    hub: str | None = Field(default=None, foreign_key="hub.code", max_length=16, index=True)
    team: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, foreign_key="user.username", max_length=64, index=True)
    band: str | None = Field(default=None, max_length=4, index=True)
    risk: float | None = None
    escalation_level: int = 0
    outcome: str | None = Field(default=None, max_length=64)
    ruleset_version: str | None = Field(default=None, max_length=32)
    # The policy (SLA targets, review period, reminders, ladder) from the latest rule decision, kept on
    # the case so a transition can re-plan its timers without another query.
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The SLA clock of the current stage (see workflow/clocks.py); counted in wall-clock working time
    # when the target is in working days. Paused while the case awaits the requester.
    sla_stage: str | None = Field(default=None, max_length=16)
    sla_started_at: datetime | None = utc_optional()
    sla_target_seconds: float | None = None
    sla_working: bool = False
    sla_paused_seconds: float = 0.0
    sla_due_at: datetime | None = utc_optional(index=True)
    sla_breached: bool = Field(default=False, description="this stage's clock has already run out")
    awaiting_since: datetime | None = utc_optional()
    awaiting_reason: str | None = Field(default=None, max_length=4000)
    # Story 4: put off by the tasking meeting (when, and why); cleared when the case next changes state.
    deferred_at: datetime | None = utc_optional()
    deferred_reason: str | None = Field(default=None, max_length=4000)
    review_cycle_started_at: datetime | None = utc_optional()
    review_due_at: datetime | None = utc_optional(index=True)
    review_overdue: bool = Field(default=False, description="this cycle's review date has already passed")
    created_by: str = Field(max_length=64)
    created_at: datetime = utc_timestamp(index=True)
    updated_at: datetime = utc_timestamp()
    # The head of the case's event chain, so a transition needs no extra query to extend it.
    # `sctac audit verify` checks these against the events themselves.
    event_seq: int = 0
    last_event_hash: str = Field(default="", max_length=64)
    # Retention (rules/default/retention.yaml): the group a case fell into when it ended, and when the
    # records officer must next review it (set when it ends; moved by a "retain" decision).
    retention_group: str | None = Field(default=None, max_length=64)
    retention_review_at: datetime | None = utc_optional(index=True)
    disposed_at: datetime | None = utc_optional()


class CaseEvent(SQLModel, table=True):
    """Append-only, hash-chained history of a case: the source of truth for its state."""

    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_event_case_seq"),
        # Everything the evaluation report reads, in the order it reads it: the report is one scan of
        # this index and never touches the rows (whose payloads run to kilobytes).
        Index(
            "ix_case_event_report",
            "case_id",
            "seq",
            "created_at",
            "trigger",
            "from_state",
            "to_state",
            "actor",
            *FACT_COLUMNS,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    seq: int
    trigger: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # SHA-256 of the payload as written (workflow/chain.py): the hash covers this, not the payload, so a
    # redaction keeps the event's place and hash and the audit tells it from an alteration.
    payload_digest: str | None = Field(default=None, max_length=64)
    created_at: datetime = utc_timestamp(index=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The event's facts (workflow/facts.py): payload fields copied into columns when the event is
    # written, so reports never parse payloads. Not hashed: the audit checks them against the payload.
    unit: str | None = Field(default=None, max_length=16)
    themes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    capabilities: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    hub: str | None = Field(default=None, max_length=16)
    review_days: int | None = None
    band: str | None = Field(default=None, max_length=4)
    harm_total: float | None = None
    likelihood_total: float | None = None
    response_escalated: bool | None = None
    owner: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=64)
    strands: str | None = Field(default=None, max_length=200)
    escalation_source: str | None = Field(default=None, max_length=16)
    escalation_level: int | None = None
    escalation_id: int | None = None
    step_notify: str | None = Field(default=None, max_length=200)
    minutes: int | None = None


class Assessment(SQLModel, table=True):
    """One MoRiLE scoring of a case. Never edited: a new assessment is appended."""

    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_assessment_case_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    event_seq: int = Field(description="the case event that recorded this assessment")
    matrix_id: str = Field(max_length=64)
    matrix_version: str = Field(max_length=32)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    band: str = Field(max_length=4)
    risk: float
    harm_total: float
    likelihood_total: float
    confidence: str = Field(max_length=16)
    org_grade: str = Field(max_length=1)
    floor_applied: bool = False
    response_level: str = Field(default="force", max_length=16)
    rationale: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    assessor: str = Field(max_length=64)
    created_at: datetime = utc_timestamp()


class Decision(SQLModel, table=True):
    """What the rules decided for a case at one event, with the trace that says why."""

    __table_args__ = (Index("ix_decision_case_event", "case_id", "event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    event_seq: int
    ruleset_version: str = Field(max_length=32)
    backend: str = Field(max_length=16)
    hub: str | None = Field(default=None, max_length=16)
    route_rule: str | None = Field(default=None, max_length=120)
    escalation_level: int = 0
    decisions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_timestamp()
