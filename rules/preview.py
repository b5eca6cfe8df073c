"""What publishing a candidate ruleset would change for the open caseload (pure; the workflow feeds
it the open cases as ``(reference, facts)`` pairs, and what each case holds now as a `Standing`).

`compare` is the one comparison: the workflow's preview and its publish both ask it what changes for a
case, so what the preview promises is what publishing does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rules.decisions import Decisions
from rules.engine import CompiledRules
from rules.errors import FactError
from rules.model import Duration

KINDS = ("reroute", "team", "escalate", "de-escalate", "level", "sla", "review", "policy")
# Policy fields with a kind of their own; any other policy difference (reminders, ladder, snooze limit,
# what to do on scoring, or which rule set a field) is kind "policy".
_OWN_KIND = ("sla", "review_days")


@dataclass(frozen=True)
class Standing:
    """What a case holds now, as publishing compares it: its hub and team, its escalation level, the
    policy it runs under (``Policy.as_dict()`` form), and which of these the rules may still change."""

    hub: str
    team: str | None
    level: int | None  # None: not escalated
    policy: Mapping[str, Any]
    routable: bool = True  # before tasking the rules decide the hub; afterwards the tasking decision does
    scored: bool = True  # without a MoRiLE score the escalation level is not the rules' to set

    @classmethod
    def decided(cls, d: Decisions) -> Standing:
        """A case that holds exactly what `d` decided (the rule-against-rule comparison)."""
        level = d.escalation.level if d.escalation else None
        return cls(d.route.hub, d.route.team, level, d.policy.as_dict())


def _sla_text(sla: Mapping[str, Any]) -> dict[str, str]:
    return {stage: str(Duration.from_dict(dict(d))) for stage, d in sla.items()}


def compare(
    reference: str, before: Standing, after: Decisions, *, rules_to: tuple[str, ...] = ()
) -> CaseChange | None:
    """What `after` changes on a case that holds `before`; None when nothing changes."""
    kinds: list[str] = []
    routed = before.routable and (before.hub, before.team) != (after.route.hub, after.route.team)
    if routed and before.hub != after.route.hub:
        kinds.append("reroute")
    elif routed:
        kinds.append("team")
    lv_old = before.level or None
    lv_new = (after.escalation.level if after.escalation else None) if before.scored else lv_old
    if lv_old is None and lv_new is not None:
        kinds.append("escalate")
    elif lv_old is not None and lv_new is None:
        kinds.append("de-escalate")
    elif lv_old != lv_new:
        kinds.append("level")
    old, new = before.policy, after.policy.as_dict()
    if old.get("sla") != new["sla"]:
        kinds.append("sla")
    if old.get("review_days") != new["review_days"]:
        kinds.append("review")
    if any(old.get(k) != v for k, v in new.items() if k not in _OWN_KIND):
        kinds.append("policy")
    if not kinds:
        return None
    sla_old, sla_new = _sla_text(old.get("sla") or {}), _sla_text(new["sla"])
    return CaseChange(
        reference=reference,
        kinds=tuple(kinds),
        route_from=before.hub,
        route_to=after.route.hub if before.routable else before.hub,
        level_from=lv_old,
        level_to=lv_new,
        sla_from={k: v for k, v in sla_old.items() if sla_new.get(k) != v},
        sla_to={k: v for k, v in sla_new.items() if sla_old.get(k) != v},
        review_from=old.get("review_days"),
        review_to=after.policy.review_days,
        rules_to=rules_to,
        team_from=before.team,
        team_to=after.route.team if before.routable else before.team,
    )


@dataclass(frozen=True)
class CaseChange:
    reference: str
    kinds: tuple[str, ...]  # of KINDS
    route_from: str
    route_to: str
    level_from: int | None
    level_to: int | None
    sla_from: dict[str, str] = field(default_factory=dict)
    sla_to: dict[str, str] = field(default_factory=dict)
    review_from: int | None = None
    review_to: int | None = None
    rules_to: tuple[str, ...] = ()  # the candidate rules behind the new decisions
    team_from: str | None = None
    team_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kinds": list(self.kinds),
            "route": {"from": self.route_from, "to": self.route_to},
            "team": {"from": self.team_from, "to": self.team_to},
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
        out = {k: len(self.of_kind(k)) for k in KINDS}
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
        teams = counts["team"]
        if teams:
            parts.append(f"{teams} {'case changes' if teams == 1 else 'cases change'} team within its hub")
        other = counts["policy"]
        if other:
            what = "case changes" if other == 1 else "cases change"
            parts.append(f"{other} {what} reminders, ladder or other policy")
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


def preview(
    *,
    current: CompiledRules,
    candidate: CompiledRules,
    cases: Iterable[tuple[str, Mapping[str, Any]]],
    standing: Mapping[str, Standing] | None = None,
) -> Preview:
    """Compare the candidate's decisions for each case with what the case holds: its `standing` where
    given (what publishing would change), else what the current rules decide (rule against rule)."""
    held = standing or {}
    refs: list[str] = []
    facts: list[Mapping[str, Any]] = []
    for reference, case_facts in cases:
        refs.append(reference)
        facts.append(case_facts)
    unheld = [i for i, ref in enumerate(refs) if ref not in held]
    before: dict[int, Decisions | str] = dict(
        zip(unheld, _evaluate(current, [facts[i] for i in unheld]), strict=True)
    )
    after = _evaluate(candidate, facts)
    changed: list[tuple[int, CaseChange]] = []
    errors: list[tuple[str, str]] = []
    for index, (ref, new) in enumerate(zip(refs, after, strict=True)):
        if isinstance(new, str):
            errors.append((ref, new))
            continue
        if ref in held:
            was = held[ref]
        else:
            old = before[index]
            if isinstance(old, str):
                continue  # the current rules could not evaluate it either: nothing to compare
            was = Standing.decided(old)
        change = compare(ref, was, new)
        if change is not None:
            changed.append((index, change))
    # Only changed cases need the candidate's trace: one batch for all of them.
    traces = candidate.evaluate_many([facts[index] for index, _ in changed])
    changes = tuple(
        replace(change, rules_to=tuple(f.rule for f in traced.trace))
        for (_, change), traced in zip(changed, traces, strict=True)
    )
    names = {code: hub.name for rules in (current, candidate) for code, hub in rules.ruleset.hubs.items()}
    return Preview(current.version, candidate.version, len(refs), changes, tuple(errors), names)
