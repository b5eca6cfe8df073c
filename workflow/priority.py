"""The tasking list's explainable priority: a sum of named parts, each weighted by the Control Strategy.

Pure: it reads a few columns of a case, the strategy and the time, nothing else. Each part is a share
(0..1) of what it may give times its weight from the strategy file (`rules.PARTS`): the MoRiLE band and
risk, the case's best Control Strategy priority theme, an intelligence requirement it answers, a local
priority of its BCU, how soon its SLA falls due, and how long it has waited. The reason line names what
placed the case ("P2 · risk 65 · Control Strategy priority 1: County lines · due in 2 days"), so a chair
can say why one case ranks above another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rules
from rules import Strategy

DAY = 86400.0
_BAND_SHARE = {"P1": 1.0, "P2": 0.75, "P3": 0.5, "P4": 0.25}
SEPARATOR = " · "


@dataclass(frozen=True)
class Part:
    name: str  # one of rules.PARTS
    points: float  # what it gave: share times weight
    weight: float  # the most it could give (from the strategy file)
    why: str  # what earned it, as staff say it ("" when it gave nothing)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points, "weight": self.weight, "why": self.why}


@dataclass(frozen=True)
class Priority:
    total: float
    parts: tuple[Part, ...]
    reason: str
    strategy: str  # the strategy version that weighed it

    def as_dict(self) -> dict[str, Any]:
        """As recorded on an event and served by the API."""
        return {
            "total": self.total,
            "reason": self.reason,
            "strategy": self.strategy,
            "parts": [p.as_dict() for p in self.parts],
        }


def _days(seconds: float) -> str:
    days = int(abs(seconds) // DAY)
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(abs(seconds) // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours else "under an hour"


class Ranker:
    """A strategy made ready to weigh many cases (keyword patterns compiled once)."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.w = dict(strategy.weights)
        self.by_theme = strategy.by_theme
        self.requirements = [
            (req, set(req.themes), _words(req.keywords) if req.keywords else None)
            for req in strategy.requirements
        ]
        self.local = {unit: (lp, set(lp.themes)) for unit, lp in strategy.local_priorities.items()}

    def weigh(self, case: Mapping[Any, Any], now: datetime) -> Priority:
        """The priority of one case; `case` holds band, risk, themes, tags, title, target_name,
        requesting_unit, sla_due_at, sla_breached and created_at (absent ones count as nothing)."""
        w = self.w
        parts: list[Part] = []
        said: list[str] = []

        band = case.get("band")
        share = _BAND_SHARE.get(band or "", 0.0)
        parts.append(Part("band", share * w["band"], w["band"], band or ""))
        said.append(band or "not scored")

        risk = case.get("risk")
        risk_share = min(max(float(risk), 0.0), 100.0) / 100.0 if risk is not None else 0.0
        risk_text = f"risk {risk:g}" if risk is not None else ""
        parts.append(Part("risk", risk_share * w["risk"], w["risk"], risk_text))
        if risk_text:
            said.append(risk_text)

        themes = list(case.get("themes") or ())
        best = None
        for theme in themes:
            found = self.by_theme.get(theme)
            if found is not None and (best is None or found.rank < best.rank):
                best = found
        if best is not None:
            why = f"Control Strategy priority {best.rank}: {best.label}"
            parts.append(Part("priority", best.weight * w["priority"], w["priority"], why))
            said.append(why)
        else:
            parts.append(Part("priority", 0.0, w["priority"], ""))

        text = None
        answered = []
        theme_set = set(themes)
        for req, req_themes, pattern in self.requirements:
            if req_themes & theme_set:
                answered.append(req.id)
                continue
            if pattern is not None:
                if text is None:
                    text = _text_of(case)
                if pattern.search(text):
                    answered.append(req.id)
        if answered:
            why = f"intelligence requirement {', '.join(answered)}"
            parts.append(Part("requirement", w["requirement"], w["requirement"], why))
            said.append(why)
        else:
            parts.append(Part("requirement", 0.0, w["requirement"], ""))

        local = self.local.get(case.get("requesting_unit") or "")
        hit = [t for t in themes if local is not None and t in local[1]]
        if local is not None and hit:
            why = f"local priority of {local[0].unit}: {', '.join(t.replace('_', ' ') for t in hit)}"
            parts.append(Part("local", w["local"], w["local"], why))
            said.append(why)
        else:
            parts.append(Part("local", 0.0, w["local"], ""))

        due = case.get("sla_due_at")
        if due is not None:
            left = (due - now).total_seconds()
            horizon = self.strategy.urgency_horizon_days * DAY
            urgency = 1.0 if left <= 0 or case.get("sla_breached") else max(0.0, 1.0 - left / horizon)
            why = f"overdue by {_days(left)}" if left <= 0 else f"due in {_days(left)}"
            parts.append(Part("urgency", urgency * w["urgency"], w["urgency"], why))
            said.append(why)
        else:
            parts.append(Part("urgency", 0.0, w["urgency"], ""))

        created = case.get("created_at")
        if created is not None:
            waited = max((now - created).total_seconds(), 0.0)
            age = min(waited / (self.strategy.age_full_days * DAY), 1.0)
            parts.append(Part("age", age * w["age"], w["age"], f"waiting {_days(waited)}"))
        else:
            parts.append(Part("age", 0.0, w["age"], ""))

        total = round(sum(p.points for p in parts), 2)
        rounded = tuple(Part(p.name, round(p.points, 2), p.weight, p.why) for p in parts)
        return Priority(total, rounded, SEPARATOR.join(said), self.strategy.version)


def _words(keywords: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


def _text_of(case: Mapping[Any, Any]) -> str:
    tags = " ".join(str(t) for t in case.get("tags") or ())
    return f"{case.get('title') or ''} {case.get('target_name') or ''} {tags}".casefold()


def order_key(priority: Priority, case: Mapping[Any, Any]) -> tuple[Any, ...]:
    """Highest priority first; ties by band, then risk, then the oldest, then the id (stable)."""
    band = case.get("band")
    risk = case.get("risk")
    return (
        -priority.total,
        rules.BANDS.index(band) if band in rules.BANDS else len(rules.BANDS),
        -(risk if risk is not None else -1.0),
        case.get("created_at"),
        case.get("id"),
    )


def rank(
    ranker: Ranker, cases: Sequence[Mapping[str, Any]], now: datetime
) -> list[tuple[Mapping[str, Any], Priority]]:
    """The cases weighed and in tasking order."""
    weighed = [(c, ranker.weigh(c, now)) for c in cases]
    weighed.sort(key=lambda pair: order_key(pair[1], pair[0]))
    return weighed
