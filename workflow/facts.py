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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# Events that record a rule decision: route and policy.
DECIDING_FACTS: Mapping[str, tuple[str, ...]] = {
    "hub": ("decisions", "route", "hub"),
    "review_days": ("decisions", "policy", "review_days"),
}
# Events that may raise an escalation.
RAISING_FACTS: Mapping[str, tuple[str, ...]] = {
    "escalation_source": ("escalation", "source"),
    "escalation_level": ("escalation", "level"),
}
SCORING_FACTS: Mapping[str, tuple[str, ...]] = {
    **DECIDING_FACTS,
    "band": ("assessment", "score", "band"),
    "harm_total": ("assessment", "score", "harm_total"),
    "likelihood_total": ("assessment", "score", "likelihood_total"),
    "response_escalated": ("assessment", "score", "response_escalated"),
    **RAISING_FACTS,
}

# Events the system records (their facts are defined here; a person's triggers define theirs in
# workflow/triggers.py, and FACTS below is the union of the two).
_SYSTEM_FACTS: dict[str, Mapping[str, tuple[str, ...]]] = {
    # Publishing a ruleset re-decides open cases, and may raise escalations by its thresholds.
    "rules_applied": {**DECIDING_FACTS, **RAISING_FACTS},
    "sla_breached": RAISING_FACTS,
    "review_overdue": RAISING_FACTS,
    **{
        t: {"escalation_id": ("escalation_id",)}
        for t in ("escalation_acknowledged", "escalation_snoozed", "escalation_resolved")
    },
    "escalation_step": {"escalation_id": ("escalation_id",), "step_notify": ("notify",)},
    # A legacy row brought in by `sctac import` (workflow/importing.py): each of its events carries
    # the part of the row its stage recorded.
    "imported": {
        "unit": ("request", "requesting_unit"),
        "themes": ("request", "themes"),
        "capabilities": ("request", "capabilities"),
        "hub": ("hub",),
        "band": ("score", "band"),
        "harm_total": ("score", "harm_total"),
        "likelihood_total": ("score", "likelihood_total"),
        "owner": ("owner",),
        "outcome": ("outcome",),
    },
}


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


# How each fact column's value is read; the columns are fixed (they are columns of case_event).
READERS: dict[str, Callable[[Any], Any]] = {
    "unit": _text,
    "themes": _texts,
    "capabilities": _texts,
    "hub": _text,  # the hub the rules routed the case to (deciding events), or the hub it was tasked to
    "review_days": _int,
    "band": _text,
    "harm_total": _float,
    "likelihood_total": _float,
    "response_escalated": _flag,
    "owner": _text,
    "outcome": _text,
    "strands": _texts,
    "escalation_source": _text,
    "escalation_level": _int,
    "escalation_id": _int,
    "step_notify": _texts,
    "minutes": _int,  # effort recorded on the step (the forecast's staffing model)
}


Table = dict[str, tuple[Callable[[Any], Any], dict[str, tuple[str, ...]]]]


def _facts() -> Table:
    # Imported here, not above: the models import COLUMNS from this module, and the triggers import the
    # models (through their effects).
    from workflow import triggers

    by_event = {**{s.name: s.facts for s in triggers.REGISTRY.values()}, **_SYSTEM_FACTS}
    table: Table = {c: (r, {}) for c, r in READERS.items()}
    for event, facts in by_event.items():
        for column, path in facts.items():
            table[column][1][event] = path
    return table


# column -> (how its value is read, {trigger: path into the payload}); NULL on every other trigger.
class _Facts(Mapping[str, tuple[Callable[[Any], Any], dict[str, tuple[str, ...]]]]):
    """FACTS, derived from the trigger definitions when first read (and again if they change)."""

    def _table(self) -> Table:
        from workflow.lifecycle import derived

        return derived(_facts)

    def __getitem__(self, column: str) -> tuple[Callable[[Any], Any], dict[str, tuple[str, ...]]]:
        return self._table()[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


FACTS: Mapping[str, tuple[Callable[[Any], Any], dict[str, tuple[str, ...]]]] = _Facts()
COLUMNS = tuple(READERS)


def _at(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def facts_of(trigger: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every fact column of an event with this trigger and payload (None where it does not apply)."""
    from workflow.lifecycle import derived

    facts: dict[str, Any] = {}
    # The derived table itself, read once: going through the live Mapping re-derives it per column.
    for column, (read, paths) in derived(_facts).items():
        path = paths.get(trigger)
        facts[column] = read(_at(payload, path)) if path is not None else None
    return facts
