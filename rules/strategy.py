"""The Control Strategy as data (format: rules/README.md, "Control Strategy"): its period, priority
themes in rank order, intelligence requirements, local priorities per BCU, and the weight of each named
part of the tasking list's priority.

Checked like the rule files (every problem as ``file:line:col: field: message``, all at once) against
the ruleset's vocabularies when they are given, and versioned by a content hash of what it says (``cs-``
and 12 hex digits), so comments and layout never change the version. Kept apart from the ruleset: a
strategy is published on its own, and changing it never changes a ruleset version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from rules.errors import RuleError, RuleFileErrors
from rules.yamlsrc import Pos, Reader, describe, join, plain

# The named parts of a case's priority, in the order a reason line tells them.
PARTS = ("band", "risk", "priority", "requirement", "local", "urgency", "age")
PART_LABELS = {
    "band": "MoRiLE band",
    "risk": "MoRiLE risk",
    "priority": "Control Strategy priority",
    "requirement": "intelligence requirement",
    "local": "local priority",
    "urgency": "SLA urgency",
    "age": "age",
}
_TOP_REQUIRED = ("name", "period", "weights", "priorities")
_TOP_OPTIONAL = ("requirements", "local_priorities", "urgency_horizon_days", "age_full_days")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")


@dataclass(frozen=True)
class StrategyPriority:
    rank: int
    theme: str
    label: str
    weight: float  # 0..1, the share of the "priority" part a case of this theme earns


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    themes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()  # matched as whole words, case-insensitively, in title, target and tags


@dataclass(frozen=True)
class LocalPriority:
    unit: str
    themes: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class Strategy:
    version: str
    name: str
    period_from: date
    period_to: date
    weights: Mapping[str, float]  # every PARTS name -> the most points that part can give
    priorities: tuple[StrategyPriority, ...]
    requirements: tuple[Requirement, ...] = ()
    local_priorities: Mapping[str, LocalPriority] = field(default_factory=dict)
    urgency_horizon_days: float = 14.0  # due further off than this: no urgency points
    age_full_days: float = 56.0  # waiting this long earns all the age points
    source: str = ""

    @property
    def by_theme(self) -> dict[str, StrategyPriority]:
        return {p.theme: p for p in self.priorities}


@dataclass(frozen=True)
class StrategyCheck:
    errors: tuple[RuleError, ...]
    strategy: Strategy | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def load_strategy(
    path: str | Path, *, themes: Mapping[str, str] | None = None, units: Collection[str] | None = None
) -> Strategy:
    """Load and check a strategy file; raise :class:`RuleFileErrors` with every problem.

    `themes` (code -> label) and `units` (the BCU codes) are the ruleset's vocabularies; without them
    theme and unit codes are not checked and labels are made from the codes."""
    path = Path(path)
    errors: list[RuleError] = []
    reader = Reader(str(path), errors)
    doc = reader.load(path)
    return _finish(reader, doc, themes, units)


def parse_strategy(
    text: str, *, file: str, themes: Mapping[str, str] | None = None, units: Collection[str] | None = None
) -> Strategy:
    """As :func:`load_strategy`, for text held elsewhere (a published version), named `file`."""
    errors: list[RuleError] = []
    reader = Reader(file, errors)
    doc = reader.parse(text)
    return _finish(reader, doc, themes, units)


def check_strategy(
    path: str | Path, *, themes: Mapping[str, str] | None = None, units: Collection[str] | None = None
) -> StrategyCheck:
    try:
        return StrategyCheck((), load_strategy(path, themes=themes, units=units))
    except RuleFileErrors as exc:
        return StrategyCheck(exc.errors)


def _finish(
    reader: Reader, doc: Any, themes: Mapping[str, str] | None, units: Collection[str] | None
) -> Strategy:
    if doc is None and not reader.errors:
        reader.error((1, 1), "", "the strategy file is empty")
    strategy = None
    if doc is not None:
        strategy = _Parse(reader, themes, units).strategy(doc)
    if reader.errors or strategy is None:
        raise RuleFileErrors(sorted(reader.errors))
    return strategy


def version_of(doc: Any) -> str:
    digest = hashlib.sha256(
        json.dumps(plain(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    return f"cs-{digest[:12]}"


class _Parse:
    def __init__(self, r: Reader, themes: Mapping[str, str] | None, units: Collection[str] | None) -> None:
        self.r = r
        self.themes = themes
        self.units = units

    def strategy(self, doc: Any) -> Strategy | None:
        r = self.r
        top = r.mapping(doc, (1, 1), "")
        if top is None:
            return None
        r.fields(top, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)
        here = r.node_pos(top, (1, 1))
        name = r.string(top.get("name"), r.value_pos(top, "name", here), "name") if "name" in top else None
        period = self.period(top, here) if "period" in top else None
        weights = self.weights(top, here) if "weights" in top else None
        priorities = self.priorities(top, here) if "priorities" in top else None
        requirements = self.requirements(top, here)
        local = self.local(top, here)
        horizon = self.days(top, "urgency_horizon_days", 14.0, here)
        full_age = self.days(top, "age_full_days", 56.0, here)
        if r.errors or name is None or period is None or weights is None or priorities is None:
            return None
        return Strategy(
            version=version_of(top),
            name=name,
            period_from=period[0],
            period_to=period[1],
            weights=weights,
            priorities=priorities,
            requirements=requirements,
            local_priorities=local,
            urgency_horizon_days=horizon,
            age_full_days=full_age,
            source=r.file,
        )

    # -- parts -----------------------------------------------------------------------------------------
    def period(self, top: CommentedMap, here: Pos) -> tuple[date, date] | None:
        r = self.r
        m = r.mapping(top["period"], r.value_pos(top, "period", here), "period")
        if m is None or not r.fields(m, "period", required=("from", "to")):
            return None
        at = r.node_pos(m, here)
        start = self.date(m, "from", at)
        end = self.date(m, "to", at)
        if start is None or end is None:
            return None
        if end < start:
            r.error(r.value_pos(m, "to", at), "period.to", f"ends before it starts ({start.isoformat()})")
            return None
        return start, end

    def date(self, m: CommentedMap, key: str, at: Pos) -> date | None:
        value = m[key]
        pos = self.r.value_pos(m, key, at)
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.r.error(pos, f"period.{key}", f"expected a date (YYYY-MM-DD), got {describe(value)}")
        return None

    def weights(self, top: CommentedMap, here: Pos) -> dict[str, float] | None:
        r = self.r
        m = r.mapping(top["weights"], r.value_pos(top, "weights", here), "weights")
        if m is None or not r.fields(m, "weights", required=PARTS):
            return None
        at = r.node_pos(m, here)
        out: dict[str, float] = {}
        for part in PARTS:
            pos = r.value_pos(m, part, at)
            value = r.number(m[part], pos, f"weights.{part}")
            if value is None:
                continue
            if value < 0:
                r.error(pos, f"weights.{part}", f"must be at least 0, got {value}")
                continue
            out[part] = float(value)
        if len(out) == len(PARTS) and sum(out.values()) <= 0:
            r.error(at, "weights", "at least one part must weigh more than 0")
        return out if len(out) == len(PARTS) else None

    def theme(self, value: Any, pos: Pos, field: str) -> str | None:
        code = self.r.string(value, pos, field)
        if code is None:
            return None
        if self.themes is not None and code not in self.themes:
            known = ", ".join(sorted(self.themes))
            self.r.error(pos, field, f"unknown theme {describe(code)} (known: {known})")
            return None
        return code

    def theme_list(self, m: CommentedMap, key: str, at: Pos, field: str) -> tuple[str, ...] | None:
        r = self.r
        seq = r.sequence(m[key], r.value_pos(m, key, at), join(field, key))
        if seq is None:
            return None
        out = []
        for i, item in enumerate(seq):
            code = self.theme(item, r.item_pos(seq, i, at), join(join(field, key), i))
            if code is not None:
                out.append(code)
        return tuple(out) if len(out) == len(seq) else None

    def label(self, code: str) -> str:
        if self.themes is not None and code in self.themes:
            return self.themes[code]
        return code.replace("_", " ")

    def priorities(self, top: CommentedMap, here: Pos) -> tuple[StrategyPriority, ...] | None:
        r = self.r
        seq = r.sequence(top["priorities"], r.value_pos(top, "priorities", here), "priorities")
        if seq is None:
            return None
        out: list[StrategyPriority] = []
        ranks: dict[int, str] = {}
        seen: dict[str, str] = {}
        for i, item in enumerate(seq):
            field = join("priorities", i)
            pos = r.item_pos(seq, i, here)
            m = r.mapping(item, pos, field)
            if m is None or not r.fields(m, field, required=("rank", "theme"), optional=("label", "weight")):
                continue
            at = r.node_pos(m, pos)
            rank = r.integer(m["rank"], r.value_pos(m, "rank", at), f"{field}.rank", minimum=1)
            theme = self.theme(m["theme"], r.value_pos(m, "theme", at), f"{field}.theme")
            label = self.label(theme) if theme else ""
            if "label" in m:
                label = r.string(m["label"], r.value_pos(m, "label", at), f"{field}.label") or label
            weight: float | None = None
            if "weight" in m:
                wpos = r.value_pos(m, "weight", at)
                w = r.number(m["weight"], wpos, f"{field}.weight")
                if w is not None and not 0 <= w <= 1:
                    r.error(wpos, f"{field}.weight", f"must be between 0 and 1, got {w}")
                elif w is not None:
                    weight = float(w)
            if rank is None or theme is None:
                continue
            if rank in ranks:
                r.error(r.value_pos(m, "rank", at), f"{field}.rank", f"rank {rank} is also {ranks[rank]}")
                continue
            if theme in seen:
                r.error(r.value_pos(m, "theme", at), f"{field}.theme", f"theme already at {seen[theme]}")
                continue
            ranks[rank] = field
            seen[theme] = field
            out.append(StrategyPriority(rank, theme, label, -1.0 if weight is None else weight))
        if not out and not r.errors:
            r.error(r.value_pos(top, "priorities", here), "priorities", "name at least one priority theme")
        # Without a weight of its own a priority earns by rank: the first all, the last 1/n of it.
        n = len(out)
        ordered = sorted(out, key=lambda p: p.rank)
        return tuple(
            p if p.weight >= 0 else StrategyPriority(p.rank, p.theme, p.label, (n - i) / n)
            for i, p in enumerate(ordered)
        )

    def requirements(self, top: CommentedMap, here: Pos) -> tuple[Requirement, ...]:
        r = self.r
        if "requirements" not in top:
            return ()
        seq = r.sequence(top["requirements"], r.value_pos(top, "requirements", here), "requirements")
        out: list[Requirement] = []
        ids: dict[str, str] = {}
        for i, item in enumerate(seq or []):
            field = join("requirements", i)
            pos = r.item_pos(seq, i, here)
            m = r.mapping(item, pos, field)
            if m is None or not r.fields(m, field, required=("id", "text"), optional=("themes", "keywords")):
                continue
            at = r.node_pos(m, pos)
            rid = r.string(m["id"], r.value_pos(m, "id", at), f"{field}.id")
            if rid is not None and not _ID.match(rid):
                r.error(r.value_pos(m, "id", at), f"{field}.id", "ids are letters, digits, . _ - (up to 32)")
                rid = None
            elif rid is not None and rid in ids:
                r.error(r.value_pos(m, "id", at), f"{field}.id", f"id already used at {ids[rid]}")
                rid = None
            text = r.string(m["text"], r.value_pos(m, "text", at), f"{field}.text")
            themes = self.theme_list(m, "themes", at, field) if "themes" in m else ()
            keywords = self.keywords(m, at, field) if "keywords" in m else ()
            if themes == () and keywords == () and themes is not None and keywords is not None:
                r.error(at, field, "a requirement matches by themes or keywords: give at least one")
                continue
            if rid is None or text is None or themes is None or keywords is None:
                continue
            ids[rid] = field
            out.append(Requirement(rid, text, themes, keywords))
        return tuple(out)

    def keywords(self, m: CommentedMap, at: Pos, field: str) -> tuple[str, ...] | None:
        r = self.r
        seq = r.sequence(m["keywords"], r.value_pos(m, "keywords", at), f"{field}.keywords")
        if seq is None:
            return None
        out = []
        for i, item in enumerate(seq):
            word = r.string(item, r.item_pos(seq, i, at), f"{field}.keywords[{i}]")
            if word is not None:
                out.append(word.strip().casefold())
        return tuple(out) if len(out) == len(seq) else None

    def local(self, top: CommentedMap, here: Pos) -> dict[str, LocalPriority]:
        r = self.r
        if "local_priorities" not in top:
            return {}
        seq = r.sequence(
            top["local_priorities"], r.value_pos(top, "local_priorities", here), "local_priorities"
        )
        out: dict[str, LocalPriority] = {}
        for i, item in enumerate(seq or []):
            field = join("local_priorities", i)
            pos = r.item_pos(seq, i, here)
            m = r.mapping(item, pos, field)
            if m is None or not r.fields(m, field, required=("unit", "themes"), optional=("note",)):
                continue
            at = r.node_pos(m, pos)
            upos = r.value_pos(m, "unit", at)
            unit = r.string(m["unit"], upos, f"{field}.unit")
            if unit is not None and self.units is not None and unit not in self.units:
                known = ", ".join(sorted(self.units))
                r.error(upos, f"{field}.unit", f"unknown BCU {describe(unit)} (known: {known})")
                unit = None
            elif unit is not None and unit in out:
                r.error(upos, f"{field}.unit", f"BCU {unit} already has local priorities above")
                unit = None
            themes = self.theme_list(m, "themes", at, field)
            note = r.string(m["note"], r.value_pos(m, "note", at), f"{field}.note") if "note" in m else None
            if unit is not None and themes is not None:
                out[unit] = LocalPriority(unit, themes, note)
        return out

    def days(self, top: CommentedMap, key: str, default: float, here: Pos) -> float:
        if key not in top:
            return default
        pos = self.r.value_pos(top, key, here)
        value = self.r.number(top[key], pos, key)
        if value is None:
            return default
        if value <= 0:
            self.r.error(pos, key, f"must be more than 0, got {value}")
            return default
        return float(value)
