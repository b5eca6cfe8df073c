"""The states a case can be in, and the vocabularies the lifecycle's triggers take (pure data).

Kept apart from the triggers and the machine so that both can name states without importing each
other; `workflow.lifecycle` re-exports everything here.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "submitted"
    ASSESSED = "assessed"
    PRIORITISED = "prioritised"
    TASKED = "tasked"
    REVIEWED = "reviewed"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TERMINAL = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN})
# Before tasking, the rules decide the hub; afterwards it belongs to the tasking decision.
ROUTABLE = frozenset({State.SUBMITTED, State.ASSESSED, State.PRIORITISED})
OPEN = tuple(s for s in State if s not in TERMINAL)
OPEN_STATES = tuple(s.value for s in OPEN)
# Stages that run an SLA clock, and so can wait on the requester.
CLOCKED = (State.SUBMITTED, State.ASSESSED, State.PRIORITISED)

OUTCOMES = (
    "charged",
    "disrupted",
    "safeguarded",
    "intelligence_developed",
    "referred_regional",
    "referred_national",
    "no_further_action",
)
STRANDS_4P = ("pursue", "prevent", "protect", "prepare")

# Events the system and the escalation handlers record on open cases; people cannot fire them as
# triggers, but the audit checks them against the lifecycle like any other event.
SYSTEM_EVENTS = (
    "sla_breached",
    "review_reminder",
    "review_overdue",
    "escalation_step",
    "escalation_acknowledged",
    "escalation_snoozed",
    "snooze_ended",
    "escalation_resolved",
    "rules_applied",
)

# A legacy request brought in by `sctac import` (workflow/importing.py): its history is recorded as
# `imported` events with their original dates and states, which need not follow the lifecycle's edges
# (the old spreadsheets skipped stages). The audit checks their chain and from-states, not their edges.
IMPORTED = "imported"
