"""An event's facts: the few payload fields the evaluation report reads, kept in plain `case_event` columns.

A submission or an assessment carries about 2 KB of request, decisions and rule trace. A report over a
million events that pulls its fields out of those payloads spends nearly all its time parsing JSON (the
first report took 266 s over 1.5M events, against about 1 s to scan the plain columns). So when an event is
written, `facts_of` copies the fields the report needs into columns of the same row, and the report reads
only columns (through one covering index, see `CaseEvent`).

The facts are derived from the payload alone, and the payload is covered by the event's hash:
`sctac audit verify` recomputes them and names any event whose facts disagree with its payload. They are
part of the event log, not counters kept beside it.

Changing FACTS changes what every past event should hold: ship a migration that refills the columns for
the triggers concerned (as 0005 does for all), or the audit will name the events written before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

# Events that record a rule decision: route and policy (publishing a ruleset re-decides open cases).
_DECIDING = ("submit", "assess", "rescore", "reassess", "rules_applied")
_ASSESSING = ("assess", "rescore", "reassess")
# Events that may raise an escalation (assessment thresholds, a published ruleset's thresholds, SLA
# breaches, overdue reviews).
_RAISING = ("assess", "rescore", "reassess", "rules_applied", "sla_breached", "review_overdue")
_ESCALATION_ACTIONS = (
    "escalation_acknowledged",
    "escalation_snoozed",
    "escalation_step",
    "escalation_resolved",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _texts(value: Any) -> str | None:
    # Lists are kept as compact JSON text: PostgreSQL cannot put a json column in a b-tree index.
    if not isinstance(value, list):
        return None
    return json.dumps([v for v in value if isinstance(v, str)], separators=(",", ":"), ensure_ascii=False)


# column -> (how its value is read, {trigger: path into the payload}); NULL on every other trigger.
FACTS: dict[str, tuple[Callable[[Any], Any], dict[str, tuple[str, ...]]]] = {
    "unit": (_text, {"submit": ("request", "requesting_unit")}),
    "themes": (_texts, {"submit": ("request", "themes")}),
    "capabilities": (_texts, {"submit": ("request", "capabilities")}),
    # The hub the rules routed the case to (deciding events), or the hub it was tasked to.
    "hub": (_text, {**{t: ("decisions", "route", "hub") for t in _DECIDING}, "task": ("hub",)}),
    "review_days": (_int, {t: ("decisions", "policy", "review_days") for t in _DECIDING}),
    "band": (_text, {t: ("assessment", "score", "band") for t in _ASSESSING}),
    "harm_total": (_float, {t: ("assessment", "score", "harm_total") for t in _ASSESSING}),
    "likelihood_total": (_float, {t: ("assessment", "score", "likelihood_total") for t in _ASSESSING}),
    "response_escalated": (_flag, {t: ("assessment", "score", "response_escalated") for t in _ASSESSING}),
    "owner": (_text, {"task": ("owner",)}),
    "outcome": (_text, {"close": ("outcome",)}),
    "strands": (_texts, {"review": ("strands",), "close": ("strands",)}),
    "escalation_source": (_text, {t: ("escalation", "source") for t in _RAISING}),
    "escalation_level": (_int, {t: ("escalation", "level") for t in _RAISING}),
    "escalation_id": (_int, {t: ("escalation_id",) for t in _ESCALATION_ACTIONS}),
    "step_notify": (_texts, {"escalation_step": ("notify",)}),
}
COLUMNS = tuple(FACTS)


def _at(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def facts_of(trigger: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every fact column of an event with this trigger and payload (None where it does not apply)."""
    facts: dict[str, Any] = {}
    for column, (read, paths) in FACTS.items():
        path = paths.get(trigger)
        facts[column] = read(_at(payload, path)) if path is not None else None
    return facts
