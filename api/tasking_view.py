"""The tasking list as the JSON API, the spreadsheet and the meeting pack give it: one shape for all
three, so every way out of the screen carries the same ranking, parts, reasons and flags as the page."""

from __future__ import annotations

from typing import Any

import rules
from workflow.reads.tasking import AgendaCase, HubAgenda

COLUMNS = (
    ("hub", "Hub"),
    ("rank", "Rank"),
    ("reference", "Reference"),
    ("title", "Title"),
    ("priority", "Priority"),
    ("reason", "Why it ranks here"),
    ("band", "Band"),
    ("risk", "Risk"),
    ("state", "State"),
    ("requesting_unit", "Unit"),
    ("themes", "Themes"),
    ("sla_due_at", "SLA due"),
    ("created_at", "Submitted"),
    ("flags", "Flags"),
    ("deferred_reason", "Deferred because"),
    ("protective_marking", "Marking"),
)


def case_json(c: AgendaCase) -> dict[str, Any]:
    assert c.priority is not None
    return {
        "id": c.id,
        "reference": c.reference,
        "rank": c.rank,
        "title": c.title,
        "band": c.band,
        "risk": c.risk,
        "state": c.state,
        "version": c.version,
        "hub": c.hub,
        "team": c.team,
        "owner": c.owner,
        "requesting_unit": c.requesting_unit,
        "themes": c.themes,
        "protective_marking": c.protective_marking,
        "created_at": c.created_at,
        "sla_due_at": c.sla_due_at,
        "deferred_at": c.deferred_at,
        "deferred_reason": c.deferred_reason,
        "flags": c.flags,
        "priority": c.priority.total,
        "reason": c.priority.reason,
        # Each part's points (its weight is the strategy's, given once above the hubs).
        "parts": dict(zip(rules.PARTS, c.priority.points, strict=True)),
    }


def hub_json(h: HubAgenda) -> dict[str, Any]:
    return {
        "hub": {"code": h.hub.code, "name": h.hub.name, "capacity": h.hub.capacity},
        "load": h.load,
        "tasked": h.tasked,
        "free": h.free,
        "waiting": h.waiting,
        "cases": [case_json(c) for c in h.cases],
    }


def listing_json(hubs: list[HubAgenda], strategy: rules.Strategy) -> dict[str, Any]:
    return {
        "strategy": {"version": strategy.version, "name": strategy.name, "weights": dict(strategy.weights)},
        "hubs": [hub_json(h) for h in hubs],
    }


def table(hubs: list[HubAgenda], strategy: rules.Strategy) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of every case, hub by hub in rank order, with each part's points."""
    headers = [label for _, label in COLUMNS] + [
        f"{rules.PART_LABELS[p]} (of {strategy.weights[p]:g})" for p in rules.PARTS
    ]
    out = []
    for h in hubs:
        for c in h.cases:
            assert c.priority is not None
            values = {
                **{k: getattr(c, k, None) for k, _ in COLUMNS},
                "hub": h.hub.code,
                "priority": c.priority.total,
                "reason": c.priority.reason,
            }
            out.append([values[k] for k, _ in COLUMNS] + list(c.priority.points))
    return headers, out
