"""Rule files -> one small intermediate form (JSON-like), the input of both backends.

::

    {"version": "rs-...",
     "rules": [{"id": 0, "section": "routing", "name": "east-bcus", "rank": 1, "priority": 0,
                "specificity": 1, "reads": ["unit"],
                "when": {"fact": "unit", "op": "in", "value": ["EA", "NE"]},
                "then": {"hub": "EAST", "team": null}}, ...],
     "escalation_levels": [{"level": 1, "name": "hub supervisor", "handler": "hub_supervisor"}, ...],
     "policy_defaults": {"sla.submitted": {"working_days": 5}, ...}}

``rank`` orders rules inside a section: higher priority first, then file order. The default route is
the last routing rule, named ``default_route``, whose condition ``{"all": []}`` always holds.
"""

from __future__ import annotations

from typing import Any

from rules.conditions import reads, specificity
from rules.model import EscalationAction, RouteTarget, Rule, Ruleset

DEFAULT_ROUTE = "default_route"
ALWAYS: dict[str, Any] = {"all": []}


def _then(rule: Rule) -> dict[str, Any]:
    if isinstance(rule.then, RouteTarget | EscalationAction):
        return rule.then.as_dict()
    return dict(rule.then)


def to_ir(ruleset: Ruleset) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for section in (ruleset.routing, ruleset.escalation, ruleset.policy):
        ordered = sorted(section, key=lambda r: (-r.priority, r.index))
        for rank, rule in enumerate(ordered):
            rules.append(
                {
                    "section": rule.section,
                    "name": rule.name,
                    "rank": rank,
                    "priority": rule.priority,
                    "specificity": specificity(rule.when),
                    "reads": list(reads(rule.when)),
                    "when": rule.when,
                    "then": _then(rule),
                }
            )
        if section is ruleset.routing:
            rules.append(
                {
                    "section": "routing",
                    "name": DEFAULT_ROUTE,
                    "rank": len(ordered),
                    "priority": None,
                    "specificity": 0,
                    "reads": [],
                    "when": ALWAYS,
                    "then": ruleset.default_route.as_dict(),
                }
            )
    for rule_id, entry in enumerate(rules):
        entry["id"] = rule_id
    return {
        "version": ruleset.version,
        "rules": rules,
        "escalation_levels": [
            {"level": lv.level, "name": lv.name, "handler": lv.handler}
            for lv in ruleset.escalation_levels.values()
        ],
        "policy_defaults": dict(ruleset.policy_defaults),
        "vocabularies": {k: list(v) for k, v in ruleset.vocabularies.items()},
        "unit_kinds": ruleset.unit_kinds,
    }
