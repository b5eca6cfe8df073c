"""Contexts for the templates, built as the outbox worker will build them (see notifications.rendering)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

BASE_URL = "https://sctac.example.police.uk"
ESCALATION_WORDING = (
    "P1 request SCT-2026-000412 escalated to you: risk 81/100, capability D — needs regional support decision"
)

_CONTEXT: dict[str, Any] = {
    "recipient": {"username": "east.supervisor", "display_name": "East hub supervisor"},
    "case": {
        "id": 412,
        "reference": "SCT-2026-000412",
        "title": "County lines from Newham into Essex",
        "state": "assessed",
        "band": "P1",
        "risk": 81,
        "capability": "D",
        "hub": "East",
        "owner": "Analyst Ahmed",
        "protective_marking": "OFFICIAL-SENSITIVE",
    },
    "event": {
        "trigger": "assess",
        "action": "Assess (score with MoRiLE)",
        "reason_label": "Reason",
        "actor": "sctac escalation rules",
        "reason": None,
        "at": datetime(2026, 4, 13, 8, 40, tzinfo=UTC),
        "from_state": "submitted",
        "to_state": "assessed",
    },
    "why": ["escalate-p1-capability-d"],
    "escalation": {"decision": "regional support decision"},
    "due_at": datetime(2026, 4, 13, 9, 40, tzinfo=UTC),
    "base_url": BASE_URL,
    "days_remaining": 3,
    "days_overdue": 1,
    "sla": {"stage": "assessment"},
}


def context(**overrides: Any) -> dict[str, Any]:
    """A full context (valid for every kind); ``case=`` / ``event=`` overrides merge into the defaults."""
    result = copy.deepcopy(_CONTEXT)
    for key, value in overrides.items():
        if key in ("case", "event", "recipient"):
            result[key].update(value)
        else:
            result[key] = value
    return result
