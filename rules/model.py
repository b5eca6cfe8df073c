"""Typed view of a loaded ruleset: reference data, rules and policy settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.vocab import SLA_STAGES


@dataclass(frozen=True)
class Hub:
    code: str
    name: str
    capacity: int  # concurrent tasked cases (placeholder until the centre sets it)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str  # bcu | specialist
    boroughs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary (theme, capability, target type)."""

    code: str
    label: str


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # hours | days | working_days

    def as_dict(self) -> dict[str, int]:
        return {self.unit: self.amount}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Duration:
        ((unit, amount),) = data.items()
        return cls(int(amount), unit)

    def __str__(self) -> str:
        name = self.unit.replace("_", " ")
        return f"{self.amount} {name[:-1] if self.amount == 1 else name}"


@dataclass(frozen=True)
class RouteTarget:
    hub: str
    team: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "team": self.team}


@dataclass(frozen=True)
class EscalationLevel:
    level: int
    name: str
    handler: str


@dataclass(frozen=True)
class EscalationAction:
    level: int
    reason: str  # may name facts in braces: "risk {risk}/100"
    handler: str | None = None  # None: the level's handler

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reason": self.reason, "handler": self.handler}


@dataclass(frozen=True)
class OnScoring:
    action: str
    forum: str

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "forum": self.forum}


@dataclass(frozen=True)
class LadderStep:
    step: str
    after: Duration  # after the due date for the first step, after the previous step for the others
    notify: str  # a role

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "after": self.after.as_dict(), "notify": self.notify}


@dataclass(frozen=True)
class SnoozeLimit:
    times: int
    longest: Duration

    def as_dict(self) -> dict[str, Any]:
        return {"times": self.times, "longest": self.longest.as_dict()}


POLICY_FIELDS: tuple[str, ...] = (
    *(f"sla.{stage}" for stage in SLA_STAGES),
    "review_days",
    "on_scoring",
    "reminders",
    "ladder",
    "snooze_limit",
)
"""Fields resolved one by one: the most specific matching policy rule that sets a field wins it."""


@dataclass(frozen=True)
class Rule:
    section: str  # routing | escalation | policy
    name: str
    index: int  # position in its section (files in name order, then file order)
    priority: int
    when: dict[str, Any]  # condition in the compiled JSON form (see rules/README.md)
    then: RouteTarget | EscalationAction | dict[str, Any]  # policy: field -> JSON value
    description: str = ""
    file: str = ""
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Ruleset:
    version: str
    source: str
    hubs: dict[str, Hub]
    units: dict[str, Unit]
    themes: dict[str, Term]
    capabilities: dict[str, Term]
    target_types: dict[str, Term]
    routing: tuple[Rule, ...]
    default_route: RouteTarget
    escalation_levels: dict[int, EscalationLevel]
    escalation: tuple[Rule, ...]
    policy_defaults: dict[str, Any]  # every POLICY_FIELDS key -> JSON value
    policy: tuple[Rule, ...]
    files: tuple[str, ...] = field(default=())

    @property
    def vocabularies(self) -> dict[str, tuple[str, ...]]:
        return {
            "units": tuple(self.units),
            "themes": tuple(self.themes),
            "capabilities": tuple(self.capabilities),
            "target_types": tuple(self.target_types),
            "hubs": tuple(self.hubs),
        }

    @property
    def unit_kinds(self) -> dict[str, str]:
        return {code: unit.kind for code, unit in self.units.items()}

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.routing + self.escalation + self.policy
