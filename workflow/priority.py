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
from typing import Any, NamedTuple, Protocol

import rules
from rules import Strategy

DAY = 86400.0
_BAND_SHARE = {"P1": 1.0, "P2": 0.75, "P3": 0.5, "P4": 0.25}
SEPARATOR = " · "
NOTHING = (0.0, "")  # a part that gave nothing, and has nothing to say


class _Gets(Protocol):
    def get(self, key: str, default: Any = None, /) -> Any: ...


# A case as the priority reads it: a mapping of its columns, or a row object with the same `get`.
Columns = Mapping[Any, Any] | _Gets


class Part(NamedTuple):
    """One named part of a priority (a tuple: ten thousand cases weigh seven each in one request)."""

    name: str  # one of rules.PARTS
    points: float  # what it gave: its share times its weight, to 2 places
    weight: float  # the most it could give (from the strategy file)
    why: str  # what earned it, as staff say it ("" when it gave nothing)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points, "weight": self.weight, "why": self.why}


@dataclass(frozen=True, slots=True)
class Priority:
    total: float
    points: tuple[float, ...]  # what each part gave, in rules.PARTS order
    whys: tuple[str, ...]  # what earned each ("" where it gave nothing)
    weights: tuple[float, ...]  # the most each could give (the strategy's, shared by every case)
    reason: str
    strategy: str  # the strategy version that weighed it

    @property
    def parts(self) -> tuple[Part, ...]:
        # Made when asked: the list weighs every awaiting case, and shows the parts of a few.
        return tuple(map(Part, rules.PARTS, self.points, self.weights, self.whys))

    def as_dict(self) -> dict[str, Any]:
        """As recorded on an event."""
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
    """A strategy made ready to weigh many cases (keyword patterns compiled, labels made, once)."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.version = strategy.version
        w = strategy.weights
        self.w_band, self.w_risk, self.w_priority = w["band"], w["risk"], w["priority"]
        self.w_requirement, self.w_local = w["requirement"], w["local"]
        self.w_urgency, self.w_age = w["urgency"], w["age"]
        self.weights = tuple(w[p] for p in rules.PARTS)
        self.band_points = {band: share * w["band"] for band, share in _BAND_SHARE.items()}
        # theme -> (rank, points, why)
        self.themes = {
            p.theme: (
                p.rank,
                round(p.weight * w["priority"], 2),
                f"Control Strategy priority {p.rank}: {p.label}",
            )
            for p in strategy.priorities
        }
        self.requirements = [
            (req.id, frozenset(req.themes), _words(req.keywords) if req.keywords else None)
            for req in strategy.requirements
        ]
        self.local = {unit: frozenset(lp.themes) for unit, lp in strategy.local_priorities.items()}
        self.horizon = strategy.urgency_horizon_days * DAY
        self.full_age = strategy.age_full_days * DAY

    def weigh(self, case: Columns, now: datetime) -> Priority:
        """The priority of one case; `case` holds band, risk, themes, tags, title, target_name,
        requesting_unit, sla_due_at, sla_breached and created_at (absent ones count as nothing)."""
        band = case.get("band")
        themes = case.get("themes") or ()
        earned = (  # (points, why) of each part, in rules.PARTS order
            (round(self.band_points.get(band or "", 0.0), 2), band or ""),
            self._risk(case.get("risk")),
            self._priority(themes),
            self._requirement(case, themes),
            self._local(case.get("requesting_unit") or "", themes),
            self._urgency(case.get("sla_due_at"), bool(case.get("sla_breached")), now),
            self._age(case.get("created_at"), now),
        )
        points = tuple(p for p, _ in earned)
        # The reason line: the band always, then each part between it and the age that has something
        # to say (the age is in every row's own column, so it is not repeated there).
        said = [band or "not scored", *(why for _, why in earned[1:-1] if why)]
        whys = tuple(why for _, why in earned)
        return Priority(round(sum(points), 2), points, whys, self.weights, SEPARATOR.join(said), self.version)

    def _risk(self, risk: float | None) -> tuple[float, str]:
        if risk is None:
            return NOTHING
        return round(min(max(float(risk), 0.0), 100.0) / 100.0 * self.w_risk, 2), f"risk {risk:g}"

    def _priority(self, themes: Iterable[str]) -> tuple[float, str]:
        best = None
        for theme in themes:
            found = self.themes.get(theme)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return (best[1], best[2]) if best is not None else NOTHING

    def _requirement(self, case: Columns, themes: Iterable[str]) -> tuple[float, str]:
        answered = []
        text = None
        for rid, req_themes, pattern in self.requirements:
            if not req_themes.isdisjoint(themes):
                answered.append(rid)
            elif pattern is not None:
                if text is None:
                    text = _text_of(case)
                if pattern.search(text):
                    answered.append(rid)
        if not answered:
            return NOTHING
        return self.w_requirement, f"intelligence requirement {', '.join(answered)}"

    def _local(self, unit: str, themes: Iterable[str]) -> tuple[float, str]:
        local = self.local.get(unit)
        hit = [t for t in themes if t in local] if local is not None else []
        if not hit:
            return NOTHING
        return self.w_local, f"local priority of {unit}: {', '.join(t.replace('_', ' ') for t in hit)}"

    def _urgency(self, due: datetime | None, breached: bool, now: datetime) -> tuple[float, str]:
        if due is None:
            return NOTHING
        left = (due - now).total_seconds()
        urgency = 1.0 if left <= 0 or breached else max(0.0, 1.0 - left / self.horizon)
        why = f"overdue by {_days(left)}" if left <= 0 else f"due in {_days(left)}"
        return round(urgency * self.w_urgency, 2), why

    def _age(self, created: datetime | None, now: datetime) -> tuple[float, str]:
        if created is None:
            return NOTHING
        waited = max((now - created).total_seconds(), 0.0)
        return round(min(waited / self.full_age, 1.0) * self.w_age, 2), f"waiting {_days(waited)}"


def _words(keywords: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


def _text_of(case: Columns) -> str:
    tags = " ".join(str(t) for t in case.get("tags") or ())
    return f"{case.get('title') or ''} {case.get('target_name') or ''} {tags}".casefold()


def order_key(priority: Priority, case: Columns) -> tuple[Any, ...]:
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
