"""The statuses of timer and escalation rows, each defined once (they are stored as their values)."""

from __future__ import annotations

from enum import StrEnum


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


# Escalations still waiting on a person.
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED, EscalationStatus.SNOOZED)
