"""What the rules decide for one case, and how both backends turn matched rules into it.

The backends only answer "which rules' conditions hold for these facts"; ordering and resolution
(first routing match, highest escalation level, most specific policy per field) happen here, once, so
the two backends cannot drift apart.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rules.model import POLICY_FIELDS, Duration, LadderStep, OnScoring, SnoozeLimit
from rules.vocab import SLA_STAGES


@dataclass(frozen=True, slots=True)
class Route:
    hub: str
    team: str | None
    rule: str

    def as_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "team": self.team, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Escalation:
    level: int
    level_name: str
    handler: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "level_name": self.level_name,
            "handler": self.handler,
            "reasons": list(self.reasons),
            "rules": list(self.rules),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    sla: dict[str, Duration]  # stage -> target (submitted: to assess, assessed: to prioritise, ...)
    review_days: int
    on_scoring: OnScoring
    reminders: tuple[Duration, ...]  # before a due date
    ladder: tuple[LadderStep, ...]
    snooze_limit: SnoozeLimit
    sources: dict[str, str]  # field -> rule name that set it ("policy_defaults" for the base)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sla": {stage: d.as_dict() for stage, d in self.sla.items()},
            "review_days": self.review_days,
            "on_scoring": self.on_scoring.as_dict(),
            "reminders": [d.as_dict() for d in self.reminders],
            "ladder": [s.as_dict() for s in self.ladder],
            "snooze_limit": self.snooze_limit.as_dict(),
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        return cls(
            sla={stage: Duration.from_dict(d) for stage, d in data["sla"].items()},
            review_days=int(data["review_days"]),
            on_scoring=OnScoring(**data["on_scoring"]),
            reminders=tuple(Duration.from_dict(d) for d in data["reminders"]),
            ladder=tuple(
                LadderStep(s["step"], Duration.from_dict(s["after"]), s["notify"]) for s in data["ladder"]
            ),
            snooze_limit=SnoozeLimit(
                int(data["snooze_limit"]["times"]), Duration.from_dict(data["snooze_limit"]["longest"])
            ),
            sources=dict(data["sources"]),
        )


class Fired(NamedTuple):
    """One rule that took part in a decision, with the facts its conditions read (a named tuple:
    a trace is built for every case, and tuples are the cheapest immutable records)."""

    rule: str
    section: str
    matched: tuple[tuple[str, Any], ...]  # (fact, value or None when absent); lists as tuples

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "section": self.section,
            "matched": {k: list(v) if isinstance(v, tuple) else v for k, v in self.matched},
        }


@dataclass(frozen=True, slots=True)
class Decisions:
    ruleset_version: str
    route: Route
    escalation: Escalation | None
    policy: Policy
    trace: tuple[Fired, ...]
    backend: str = field(default="", compare=False)  # identical decisions from either backend

    def as_dict(self) -> dict[str, Any]:
        return {
            "ruleset_version": self.ruleset_version,
            "backend": self.backend,
            "route": self.route.as_dict(),
            "escalation": self.escalation.as_dict() if self.escalation else None,
            "policy": self.policy.as_dict(),
            "trace": [f.as_dict() for f in self.trace],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decisions:
        esc = data.get("escalation")
        return cls(
            ruleset_version=data["ruleset_version"],
            backend=data.get("backend", ""),
            route=Route(**data["route"]),
            escalation=(
                Escalation(
                    level=int(esc["level"]),
                    level_name=esc["level_name"],
                    handler=esc["handler"],
                    reasons=tuple(esc["reasons"]),
                    rules=tuple(esc["rules"]),
                )
                if esc
                else None
            ),
            policy=Policy.from_dict(data["policy"]),
            trace=tuple(
                Fired(
                    f["rule"],
                    f["section"],
                    tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in f["matched"].items()),
                )
                for f in data["trace"]
            ),
        )


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


class Decider:
    """Built once per compiled ruleset from the intermediate form; turns matched rule ids into
    :class:`Decisions`. Pure: the same facts and matches always give the same result."""

    def __init__(self, ir: Mapping[str, Any]) -> None:
        self.version: str = ir["version"]
        self.rules: dict[int, dict[str, Any]] = {r["id"]: r for r in ir["rules"]}
        by_rank = sorted(ir["rules"], key=lambda r: r["rank"])
        self.routing = [r["id"] for r in by_rank if r["section"] == "routing"]
        self.escalation = [r["id"] for r in by_rank if r["section"] == "escalation"]
        self.policy = [r["id"] for r in by_rank if r["section"] == "policy"]
        self.policy_set = frozenset(self.policy)
        # Policy precedence per field: more tests first, then priority, then file order.
        self.policy_precedence = sorted(
            self.policy, key=lambda i: (-self.rules[i]["specificity"], self.rules[i]["rank"])
        )
        self.levels: dict[int, dict[str, Any]] = {lv["level"]: lv for lv in ir["escalation_levels"]}
        self.defaults: dict[str, Any] = ir["policy_defaults"]
        self.reads: dict[int, tuple[str, ...]] = {r["id"]: tuple(r["reads"]) for r in ir["rules"]}
        self.templates: dict[int, list[tuple[str, str | None]]] = {
            r["id"]: [(lit, name) for lit, name, _, _ in string.Formatter().parse(r["then"]["reason"])]
            for r in ir["rules"]
            if r["section"] == "escalation"
        }
        self.labels = {r["id"]: (r["name"], r["section"], tuple(r["reads"])) for r in ir["rules"]}
        self.routes = {
            i: Route(self.rules[i]["then"]["hub"], self.rules[i]["then"]["team"], self.rules[i]["name"])
            for i in self.routing
        }
        self._escalation_cache: dict[tuple[int, ...], tuple[int, str, str, tuple[str, ...]]] = {}
        self._policy_cache: dict[frozenset[int], tuple[Policy, tuple[int, ...]]] = {}

    def _fired(self, rule_id: int, facts: Mapping[str, Any]) -> Fired:
        name, section, reads = self.labels[rule_id]
        return Fired(name, section, tuple(zip(reads, map(facts.get, reads), strict=True)))

    def _reason(self, rule_id: int, facts: Mapping[str, Any]) -> str:
        return "".join(
            lit + (_show(facts.get(name)) if name else "") for lit, name in self.templates[rule_id]
        )

    def _policy(self, matched: frozenset[int]) -> tuple[Policy, tuple[int, ...]]:
        cached = self._policy_cache.get(matched)
        if cached is not None:
            return cached
        values = dict(self.defaults)
        sources = dict.fromkeys(POLICY_FIELDS, "policy_defaults")
        taken: set[str] = set()
        for rule_id in self.policy_precedence:
            if rule_id not in matched:
                continue
            for name, value in self.rules[rule_id]["then"].items():
                if name not in taken:
                    taken.add(name)
                    values[name] = value
                    sources[name] = self.rules[rule_id]["name"]
        policy = Policy(
            sla={stage: Duration.from_dict(values[f"sla.{stage}"]) for stage in SLA_STAGES},
            review_days=values["review_days"],
            on_scoring=OnScoring(**values["on_scoring"]),
            reminders=tuple(Duration.from_dict(d) for d in values["reminders"]),
            ladder=tuple(
                LadderStep(s["step"], Duration.from_dict(s["after"]), s["notify"]) for s in values["ladder"]
            ),
            snooze_limit=SnoozeLimit(
                values["snooze_limit"]["times"], Duration.from_dict(values["snooze_limit"]["longest"])
            ),
            sources=sources,
        )
        fired = tuple(i for i in self.policy if i in matched)
        if len(self._policy_cache) < 4096:  # distinct policy outcomes are few; stay bounded anyway
            self._policy_cache[matched] = (policy, fired)
        return policy, fired

    def _escalation_head(self, esc_ids: tuple[int, ...]) -> tuple[int, str, str, tuple[str, ...]]:
        head = self._escalation_cache.get(esc_ids)
        if head is None:
            top = max(self.rules[i]["then"]["level"] for i in esc_ids)
            first_top = next(i for i in esc_ids if self.rules[i]["then"]["level"] == top)
            level = self.levels[top]
            handler = self.rules[first_top]["then"]["handler"] or level["handler"]
            head = (top, level["name"], handler, tuple(self.rules[i]["name"] for i in esc_ids))
            if len(self._escalation_cache) < 4096:
                self._escalation_cache[esc_ids] = head
        return head

    def decide(
        self, facts: Mapping[str, Any], matched: Collection[int], backend: str, trace: bool = True
    ) -> Decisions:
        fired = self._fired
        route_id = next(i for i in self.routing if i in matched)  # the default route always matches
        steps = [fired(route_id, facts)] if trace else []
        escalation = None
        esc_ids = tuple([i for i in self.escalation if i in matched])
        if esc_ids:
            top, name, handler, names = self._escalation_head(esc_ids)
            reasons = tuple([self._reason(i, facts) for i in esc_ids])
            escalation = Escalation(top, name, handler, reasons, names)
            if trace:
                steps.extend([fired(i, facts) for i in esc_ids])
        policy, policy_ids = self._policy(self.policy_set.intersection(matched))
        if trace:
            steps.extend([fired(i, facts) for i in policy_ids])
        return Decisions(self.version, self.routes[route_id], escalation, policy, tuple(steps), backend)
