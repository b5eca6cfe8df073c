"""Retention rules as data: MoPI-style groups, each with a review period, and what disposal removes.

A retention file (rules/default/retention.yaml) sits beside the other rule files but is its own
document: the ruleset loader leaves its sections alone (so the routing ruleset's version does not
move when the retention schedule does), and `load_retention` validates it with every error as
`file:line:col: field: message`, like the rules. It has three sections:

- `retention_groups`: a list, first match wins; each has a `name`, a `when` (any of `state`, `band`,
  `outcome`: a value or a list of values, all given must match), a `review_after` duration in years,
  months or days, and an optional `description`;
- `retention_default`: the group of an ended case no group matches (`name`, `review_after`);
- `retention_redact`: what a disposal removes: `payload` (dotted paths into every event's payload, e.g.
  `request.summary`; generic, so any trigger's fields can be listed), `case` (case columns blanked) and
  `reason` (true: every event's free-text reason too).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rules.errors import RuleError, RuleFileErrors
from rules.vocab import BANDS
from rules.yamlsrc import Pos, Reader, describe, join, plain

SECTIONS = ("retention_groups", "retention_default", "retention_redact")
FILE_NAME = "retention.yaml"
ENDED_STATES = ("closed", "rejected", "withdrawn")
# Case columns a disposal may blank (personal data about the target and the request's wording).
REDACTABLE_COLUMNS = ("title", "summary", "target_name", "awaiting_reason", "deferred_reason")
_UNITS = ("years", "months", "days")
_CONDITIONS = {"state": ENDED_STATES, "band": BANDS, "outcome": None}


@dataclass(frozen=True)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, start: datetime) -> datetime:
        """`start` moved on by the period (calendar years and months; the 29th Feb becomes the 28th)."""
        month = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month // 12, month % 12 + 1
        day = start.day
        while True:
            try:
                moved = start.replace(year=year, month=month, day=day)
                break
            except ValueError:
                day -= 1
        return moved + timedelta(days=self.days)

    def __str__(self) -> str:
        parts = [f"{n} {u if n != 1 else u[:-1]}" for n, u in zip(self.values(), _UNITS, strict=True) if n]
        return ", ".join(parts) or "0 days"

    def values(self) -> tuple[int, int, int]:
        return (self.years, self.months, self.days)


@dataclass(frozen=True)
class Group:
    name: str
    review_after: Period
    when: Mapping[str, tuple[str, ...]]
    description: str = ""

    def matches(self, case: Mapping[str, Any]) -> bool:
        return all(case.get(k) in values for k, values in self.when.items())


@dataclass(frozen=True)
class Retention:
    groups: tuple[Group, ...]
    default: Group
    redact_paths: tuple[tuple[str, ...], ...]
    redact_columns: tuple[str, ...]
    redact_reasons: bool
    version: str
    source: str

    def group_for(self, case: Mapping[str, Any]) -> Group:
        """The first group whose conditions the ended case meets, else the default."""
        return next((g for g in self.groups if g.matches(case)), self.default)


def is_retention_doc(doc: Any) -> bool:
    return isinstance(doc, Mapping) and bool(doc) and all(str(k) in SECTIONS for k in doc)


def retention_file(rules_path: str | Path) -> Path | None:
    """The retention file of a ruleset folder (or the file itself), if there is one."""
    path = Path(rules_path)
    if path.is_dir():
        found = path / FILE_NAME
        return found if found.is_file() else None
    if path.is_file() and is_retention_doc(Reader(str(path), []).load(path)):
        return path
    return None


def load_retention(path: str | Path) -> Retention:
    """Validate a retention file; raise RuleFileErrors with every problem (file:line:col)."""
    return _Loader(Path(path)).load()


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[RuleError] = []
        self.r = Reader(str(path), self.errors)

    def load(self) -> Retention:
        doc = self.r.load(self.path)
        if self.errors:
            raise RuleFileErrors(self.errors)
        top = self.r.mapping(doc, (1, 1), "")
        if top is None:
            raise RuleFileErrors(self.errors)
        self.r.fields(top, "", required=SECTIONS)
        groups = self.groups(top)
        default = self.default(top)
        paths, columns, reasons = self.redact(top)
        if self.errors or default is None:
            raise RuleFileErrors(sorted(self.errors))
        text = json.dumps(plain(top), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        version = "rt-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        return Retention(tuple(groups), default, paths, columns, reasons, version, str(self.path))

    def period(self, node: Any, pos: Pos, field: str) -> Period | None:
        m = self.r.mapping(node, pos, field)
        if m is None:
            return None
        if not m:
            self.r.error(pos, field, f"expected a period such as {{years: 6}} ({', '.join(_UNITS)})")
            return None
        if not self.r.fields(m, field, optional=_UNITS):
            return None
        values = {}
        for unit in _UNITS:
            if unit in m:
                n = self.r.integer(m[unit], self.r.value_pos(m, unit, pos), join(field, unit), minimum=0)
                if n is None:
                    return None
                values[unit] = n
        return Period(**values)

    def group(self, m: Any, pos: Pos, field: str, *, conditions: bool) -> Group | None:
        optional = ("description", "when") if conditions else ("description",)
        if not self.r.fields(m, field, required=("name", "review_after"), optional=optional):
            return None
        name = self.r.string(m["name"], self.r.value_pos(m, "name", pos), join(field, "name"))
        period = self.period(
            m["review_after"], self.r.value_pos(m, "review_after", pos), join(field, "review_after")
        )
        when = (
            self.when(m.get("when"), self.r.value_pos(m, "when", pos), join(field, "when"))
            if conditions
            else {}
        )
        if name is None or period is None or when is None:
            return None
        return Group(name, period, when, str(m.get("description") or ""))

    def when(self, node: Any, pos: Pos, field: str) -> dict[str, tuple[str, ...]] | None:
        if node is None:
            return {}
        m = self.r.mapping(node, pos, field)
        if m is None or not self.r.fields(m, field, optional=tuple(_CONDITIONS)):
            return None
        out: dict[str, tuple[str, ...]] = {}
        ok = True
        for key, allowed in _CONDITIONS.items():
            if key not in m:
                continue
            vpos, vfield = self.r.value_pos(m, key, pos), join(field, key)
            raw = m[key]
            values: Sequence[Any] = raw if isinstance(raw, list) else [raw]
            for i, value in enumerate(values):
                ipos = self.r.item_pos(raw, i, vpos) if isinstance(raw, list) else vpos
                ifield = join(vfield, i) if isinstance(raw, list) else vfield
                if not isinstance(value, str) or not value:
                    self.r.error(ipos, ifield, f"expected a name, got {describe(value)}")
                    ok = False
                elif allowed is not None and value not in allowed:
                    self.r.error(
                        ipos, ifield, f"unknown {key} {describe(value)} (allowed: {', '.join(allowed)})"
                    )
                    ok = False
            out[key] = tuple(str(v) for v in values)
        return out if ok else None

    def groups(self, top: Any) -> list[Group]:
        if "retention_groups" not in top:
            return []
        pos = self.r.value_pos(top, "retention_groups", (1, 1))
        seq = self.r.sequence(top["retention_groups"], pos, "retention_groups")
        out: list[Group] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(seq or []):
            ipos, field = self.r.item_pos(seq, i, pos), join("retention_groups", i)
            m = self.r.mapping(item, ipos, field)
            group = self.group(m, ipos, field, conditions=True) if m is not None else None
            if group is None:
                continue
            if group.name in seen:
                self.r.error(
                    self.r.value_pos(m, "name", ipos),
                    join(field, "name"),
                    f"duplicate group {describe(group.name)} (first at line {seen[group.name]})",
                )
                continue
            seen[group.name] = self.r.value_pos(m, "name", ipos)[0]
            out.append(group)
        return out

    def default(self, top: Any) -> Group | None:
        if "retention_default" not in top:
            return None
        pos = self.r.value_pos(top, "retention_default", (1, 1))
        m = self.r.mapping(top["retention_default"], pos, "retention_default")
        return self.group(m, pos, "retention_default", conditions=False) if m is not None else None

    def redact(self, top: Any) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...], bool]:
        if "retention_redact" not in top:
            return (), (), False
        pos = self.r.value_pos(top, "retention_redact", (1, 1))
        m = self.r.mapping(top["retention_redact"], pos, "retention_redact")
        allowed = ("case", "reason")
        if m is None or not self.r.fields(m, "retention_redact", required=("payload",), optional=allowed):
            return (), (), False
        paths = tuple(tuple(p.split(".")) for p in self.names(m, "payload", pos, None))
        columns = tuple(self.names(m, "case", pos, REDACTABLE_COLUMNS)) if "case" in m else ()
        reasons = False
        if "reason" in m:
            where = self.r.value_pos(m, "reason", pos)
            reasons = bool(self.r.boolean(m["reason"], where, "retention_redact.reason"))
        return paths, columns, reasons

    def names(self, m: Any, key: str, pos: Pos, allowed: Sequence[str] | None) -> list[str]:
        field, vpos = join("retention_redact", key), self.r.value_pos(m, key, pos)
        seq = self.r.sequence(m[key], vpos, field)
        out: list[str] = []
        for i, value in enumerate(seq or []):
            ipos = self.r.item_pos(seq, i, vpos)
            if not isinstance(value, str) or not value or any(not part for part in value.split(".")):
                self.r.error(ipos, join(field, i), f"expected a dotted field name, got {describe(value)}")
            elif allowed is not None and value not in allowed:
                self.r.error(
                    ipos,
                    join(field, i),
                    f"not a case column disposal may blank (allowed: {', '.join(allowed)})",
                )
            else:
                out.append(str(value))
        return out
