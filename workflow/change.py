"""The values one change works with: the case as read (`CaseRecord`), what the change does (`Change`),
and what the service hands back once it is written (`Written`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from workflow.clocks import Clock


@dataclass(frozen=True, slots=True)
class CaseRecord(Mapping[str, Any]):
    """One case row, typed: what the write path reads, and the case as written that callers get back.

    Its fields are the `case` table's columns (a test holds the two equal), so a row maps onto it by
    name; it also reads as a mapping of them, for the pure planners (clocks, ladders) that take any.
    """

    id: int
    reference: str
    title: str
    summary: str
    requesting_unit: str
    target_type: str
    target_name: str
    themes: list[str]
    capabilities: list[str]
    tags: list[str]
    protective_marking: str
    state: str
    version: int
    hub: str | None
    team: str | None
    owner: str | None
    band: str | None
    risk: float | None
    escalation_level: int
    outcome: str | None
    ruleset_version: str | None
    policy: dict[str, Any]
    sla_stage: str | None
    sla_started_at: datetime | None
    sla_target_seconds: float | None
    sla_working: bool
    sla_paused_seconds: float
    sla_due_at: datetime | None
    sla_breached: bool
    awaiting_since: datetime | None
    awaiting_reason: str | None
    deferred_at: datetime | None
    deferred_reason: str | None
    review_cycle_started_at: datetime | None
    review_due_at: datetime | None
    review_overdue: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    event_seq: int
    last_event_hash: str
    retention_group: str | None
    retention_review_at: datetime | None
    disposed_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> CaseRecord:
        return cls(**{name: row[name] for name in FIELDS})

    def as_dict(self) -> dict[str, Any]:
        """Every column's value by name (a fresh dict: callers may change it)."""
        return {name: getattr(self, name) for name in FIELDS}

    def with_values(self, **changes: Any) -> CaseRecord:
        return dataclasses.replace(self, **changes)

    def __getitem__(self, name: str) -> Any:
        if name not in _FIELD_SET:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)


FIELDS = tuple(f.name for f in dataclasses.fields(CaseRecord))
_FIELD_SET = frozenset(FIELDS)

AfterEvent = Callable[[Session, int], None]


@dataclass
class Change:
    """One event's worth of change: new column values, the event's record, and rows that follow it."""

    trigger: str
    to_state: str
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    after: list[AfterEvent] = field(default_factory=list)
    # What the change does to the clocks, and who is told (from the trigger's definition).
    clock: Clock = Clock.FOLLOW
    notify: tuple[str, ...] = ()
    # Escalations of these sources end with this change (e.g. a review ends a missed-review escalation).
    resolves: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    """What one successful call wrote: the case as it now is, and the event that recorded it."""

    case: CaseRecord
    trigger: str
    from_state: str | None
    event_seq: int

    # The names callers used before the service returned the whole case.
    @property
    def case_id(self) -> int:
        return self.case.id

    @property
    def reference(self) -> str:
        return self.case.reference

    @property
    def to_state(self) -> str:
        return self.case.state

    @property
    def version(self) -> int:
        return self.case.version
