"""What publishing a candidate ruleset would change for the open caseload (pure; the workflow feeds
it the open cases as ``(reference, facts)`` pairs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.decisions import Decisions
from rules.engine import CompiledRules
from rules.errors import FactError


@dataclass(frozen=True)
class CaseChange:
    reference: str
    kinds: tuple[str, ...]  # "reroute", "escalate", "de-escalate", "level", "sla", "review"
    route_from: str
    route_to: str
    level_from: int | None
    level_to: int | None
    sla_from: dict[str, str] = field(default_factory=dict)
    sla_to: dict[str, str] = field(default_factory=dict)
    review_from: int | None = None
    review_to: int | None = None
    rules_to: tuple[str, ...] = ()  # the candidate rules behind the new decisions

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kinds": list(self.kinds),
            "route": {"from": self.route_from, "to": self.route_to},
            "level": {"from": self.level_from, "to": self.level_to},
            "sla": {"from": self.sla_from, "to": self.sla_to},
            "review_days": {"from": self.review_from, "to": self.review_to},
            "rules": list(self.rules_to),
        }


@dataclass(frozen=True)
class Preview:
    current_version: str
    candidate_version: str
    cases: int
    changes: tuple[CaseChange, ...]
    errors: tuple[tuple[str, str], ...]  # (reference, why the candidate cannot evaluate it)
    hub_names: Mapping[str, str] = field(default_factory=dict)  # code -> name, for people to read

    def of_kind(self, kind: str) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if kind in c.kinds)

    @property
    def reroutes(self) -> Counter[tuple[str, str]]:
        return Counter((c.route_from, c.route_to) for c in self.of_kind("reroute"))

    @property
    def counts(self) -> dict[str, int]:
        kinds = ("reroute", "escalate", "de-escalate", "level", "sla", "review")
        out = {k: len(self.of_kind(k)) for k in kinds}
        out["escalation_changes"] = out["escalate"] + out["de-escalate"] + out["level"]
        out["cases"] = self.cases
        out["errors"] = len(self.errors)
        return out

    def summary(self) -> str:
        """For example ``7 open cases would re-route from Centre queue (CENTRE) to South hub (SOUTH);
        0 escalations change``."""
        pairs = self.reroutes.most_common()
        if pairs:
            (src, dst), n = pairs[0]
            name = self._hub
            text = f"{n} open {'case' if n == 1 else 'cases'} would re-route from {name(src)} to {name(dst)}"
            text += "".join(f", {m} from {name(a)} to {name(b)}" for (a, b), m in pairs[1:])
        else:
            text = "0 open cases would re-route"
        counts = self.counts
        esc = counts["escalation_changes"]
        parts = [text, f"{esc} {'escalation changes' if esc == 1 else 'escalations change'}"]
        timing = len({c.reference for c in self.changes if "sla" in c.kinds or "review" in c.kinds})
        if timing:
            parts.append(
                f"{timing} {'case changes' if timing == 1 else 'cases change'} SLA or review targets"
            )
        if self.errors:
            parts.append(f"{len(self.errors)} cannot be evaluated by the candidate")
        return "; ".join(parts)

    def _hub(self, code: str) -> str:
        name = self.hub_names.get(code)
        return f"{name} ({code})" if name and name != code else code

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_version": self.current_version,
            "candidate_version": self.candidate_version,
            "summary": self.summary(),
            "counts": self.counts,
            "changes": [c.as_dict() for c in self.changes],
            "errors": [{"reference": r, "error": e} for r, e in self.errors],
        }


def _evaluate(rules: CompiledRules, facts: list[Mapping[str, Any]]) -> list[Decisions | str]:
    try:
        # No trace in bulk: only changed cases need one, and they are re-evaluated below.
        return list(rules.evaluate_many(facts, trace=False))
    except FactError:
        pass
    out: list[Decisions | str] = []
    for f in facts:
        try:
            out.append(rules.evaluate(f))
        except FactError as exc:
            out.append("; ".join(f"{path}: {msg}" for path, msg in exc.problems))
    return out


def _sla(d: Decisions) -> dict[str, str]:
    return {stage: str(duration) for stage, duration in d.policy.sla.items()}


def preview(
    *, current: CompiledRules, candidate: CompiledRules, cases: Iterable[tuple[str, Mapping[str, Any]]]
) -> Preview:
    refs: list[str] = []
    facts: list[Mapping[str, Any]] = []
    for reference, case_facts in cases:
        refs.append(reference)
        facts.append(case_facts)
    before = _evaluate(current, facts)
    after = _evaluate(candidate, facts)
    changed: list[tuple[int, str, tuple[str, ...], Decisions, Decisions]] = []
    errors: list[tuple[str, str]] = []
    for index, (ref, old, new) in enumerate(zip(refs, before, after, strict=True)):
        if isinstance(new, str):
            errors.append((ref, new))
            continue
        if isinstance(old, str):
            continue  # the current rules could not evaluate it either: nothing to compare
        kinds: list[str] = []
        if old.route.hub != new.route.hub:
            kinds.append("reroute")
        lv_old = old.escalation.level if old.escalation else None
        lv_new = new.escalation.level if new.escalation else None
        if lv_old is None and lv_new is not None:
            kinds.append("escalate")
        elif lv_old is not None and lv_new is None:
            kinds.append("de-escalate")
        elif lv_old != lv_new:
            kinds.append("level")
        if old.policy.sla != new.policy.sla:
            kinds.append("sla")
        if old.policy.review_days != new.policy.review_days:
            kinds.append("review")
        if kinds:
            changed.append((index, ref, tuple(kinds), old, new))
    # Only changed cases need the candidate's trace: one batch for all of them.
    traces = candidate.evaluate_many([facts[index] for index, *_ in changed])
    changes: list[CaseChange] = []
    for (_, ref, what, old, new), traced in zip(changed, traces, strict=True):
        sla_old, sla_new = _sla(old), _sla(new)
        changes.append(
            CaseChange(
                reference=ref,
                kinds=what,
                route_from=old.route.hub,
                route_to=new.route.hub,
                level_from=old.escalation.level if old.escalation else None,
                level_to=new.escalation.level if new.escalation else None,
                sla_from={k: v for k, v in sla_old.items() if sla_new[k] != v},
                sla_to={k: v for k, v in sla_new.items() if sla_old[k] != v},
                review_from=old.policy.review_days,
                review_to=new.policy.review_days,
                rules_to=tuple(f.rule for f in traced.trace),
            )
        )
    names = {code: hub.name for rules in (current, candidate) for code, hub in rules.ruleset.hubs.items()}
    return Preview(current.version, candidate.version, len(refs), tuple(changes), tuple(errors), names)
