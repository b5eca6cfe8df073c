"""The facts rules can read, their types, and the typing of a case's facts before evaluation.

The workflow builds one flat dict per case, for example::

    {"unit": "NE", "themes": ["drugs", "county_lines"], "capabilities": ["surveillance"],
     "target_type": "ocg", "marking": "OFFICIAL-SENSITIVE", "tags": [], "stage": "assessed",
     **score.facts()}   # band, risk, harm_total, likelihood_total, harm_floor, org_grade, ...

Absent facts are left out or set to ``None`` (no band before assessment); an empty list counts as
absent, so ``exists: true`` on a list fact means "at least one". ``unit_kind`` is filled in from the
unit when not given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules.errors import FactError
from rules.vocab import (
    BANDS,
    CONFIDENCE_LEVELS,
    MARKINGS,
    ORG_GRADES,
    RESPONSE_LEVELS,
    STAGES,
    UNIT_KINDS,
)
from rules.yamlsrc import DASH, describe


@dataclass(frozen=True)
class FactSpec:
    """``kind`` is enum (one string from a vocabulary), number, bool or list (strings)."""

    name: str
    kind: str
    vocabulary: str | None = None  # a ruleset vocabulary name (units, themes, ...) or None
    values: tuple[str, ...] = ()  # a fixed vocabulary
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


FACTS: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        FactSpec("unit", "enum", vocabulary="units", description="requesting unit code"),
        FactSpec("unit_kind", "enum", values=UNIT_KINDS, description="bcu or specialist"),
        FactSpec("themes", "list", vocabulary="themes", description="control strategy themes"),
        FactSpec("capabilities", "list", vocabulary="capabilities", description="capabilities requested"),
        FactSpec("target_type", "enum", vocabulary="target_types"),
        FactSpec("marking", "enum", values=MARKINGS, description="protective marking"),
        FactSpec("tags", "list", description="free tags"),
        FactSpec("stage", "enum", values=STAGES, description="case state"),
        FactSpec("band", "enum", values=BANDS, description="MoRiLE band"),
        FactSpec("risk", "number", minimum=0, maximum=100, description="normalised MoRiLE risk"),
        FactSpec("harm_total", "number", minimum=0),
        FactSpec("likelihood_total", "number", minimum=0),
        FactSpec("harm_floor", "bool", description="the critical-harm floor raised the band"),
        FactSpec("org_grade", "enum", values=ORG_GRADES),
        FactSpec("confidence", "enum", values=CONFIDENCE_LEVELS),
        FactSpec("response_level", "enum", values=RESPONSE_LEVELS),
    )
}

OPERATORS: dict[str, tuple[str, ...]] = {
    "enum": ("==", "!=", "in", "exists"),
    "number": ("==", "!=", "<", "<=", ">", ">=", "exists"),
    "bool": ("==", "!=", "exists"),
    "list": ("contains", "exists"),
}
"""Which comparisons each kind of fact allows (ordering on numbers only: "P1 < P2" would be ambiguous)."""


def allowed_values(spec: FactSpec, vocabularies: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The closed set of values of an enum or list fact, or None for free text (tags)."""
    if spec.vocabulary is not None:
        return vocabularies.get(spec.vocabulary, ())
    return spec.values or None


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values) if len(values) <= 20 else ", ".join(values[:20]) + ", ..."


_BAD = object()
_ABSENT = object()


class FactTyper:
    """``type_facts`` compiled for one ruleset's vocabularies: a fast path for valid facts (the common
    case, checked by exact class so ``True`` is no number and ``"80"`` no number either), falling back
    to :func:`type_facts` to word every problem when anything is off."""

    def __init__(self, vocabularies: Mapping[str, tuple[str, ...]], unit_kinds: Mapping[str, str]) -> None:
        self.vocabularies = vocabularies
        self.unit_kinds = dict(unit_kinds)
        self.checks: dict[str, Any] = {name: self._check(spec) for name, spec in FACTS.items()}

    def _check(self, spec: FactSpec) -> Any:
        if spec.kind == "number":
            lo = spec.minimum if spec.minimum is not None else -math.inf
            hi = spec.maximum if spec.maximum is not None else math.inf

            def number(v: Any) -> Any:
                cls = v.__class__
                if (cls is int or cls is float) and lo <= v <= hi and v not in (math.inf, -math.inf):
                    return v
                return _BAD

            return number
        if spec.kind == "bool":
            return lambda v: v if v.__class__ is bool else _BAD
        allowed = allowed_values(spec, self.vocabularies)
        if spec.kind == "enum":
            options = frozenset(allowed or ())
            return lambda v: v if v.__class__ is str and v in options else _BAD
        members = frozenset(allowed) if allowed is not None else None

        def items(v: Any) -> Any:
            if v.__class__ not in (list, tuple):
                return _BAD
            found = set(v)
            if members is not None:
                if not found <= members:
                    return _BAD
            elif not all(x.__class__ is str and x for x in found):
                return _BAD
            return tuple(sorted(found)) if found else _ABSENT

        return items

    def __call__(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        checks = self.checks
        out: dict[str, Any] = {}
        try:
            for name, value in facts.items():
                if value is None:
                    if name not in checks:
                        break
                    continue
                typed = checks[name](value)
                if typed is _BAD:
                    break
                if typed is not _ABSENT:
                    out[name] = typed
            else:
                unit = out.get("unit")
                if unit is not None:
                    kind = self.unit_kinds[unit]
                    if out.setdefault("unit_kind", kind) != kind:
                        raise KeyError(unit)
                return out
        except (KeyError, TypeError, AttributeError):
            pass
        return type_facts(facts, self.vocabularies, self.unit_kinds)


def type_facts(
    facts: Mapping[str, Any],
    vocabularies: Mapping[str, tuple[str, ...]],
    unit_kinds: Mapping[str, str],
) -> dict[str, Any]:
    """Check and normalise one case's facts; raise :class:`FactError` listing every problem.

    The result holds present facts only: numbers as int/float, lists as sorted tuples of unique
    strings. Values are never coerced ("80" is not a number), so no backend can compare text with
    numbers.
    """
    if not isinstance(facts, Mapping):
        raise FactError([("", f"facts must be a mapping, got {describe(facts)}")])
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for name, value in facts.items():
        spec = FACTS.get(name) if isinstance(name, str) else None
        if spec is None:
            problems.append((str(name), f"unknown fact (known: {', '.join(FACTS)})"))
            continue
        if value is None:
            continue
        if spec.kind == "enum":
            allowed = allowed_values(spec, vocabularies) or ()
            if not isinstance(value, str) or value not in allowed:
                problems.append((name, f"must be one of {_choices(allowed)}, got {describe(value)}"))
            else:
                out[name] = value
        elif spec.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                problems.append((name, f"expected a number, got {describe(value)}"))
            elif (spec.minimum is not None and value < spec.minimum) or (
                spec.maximum is not None and value > spec.maximum
            ):
                span = (
                    f"{spec.minimum:g}{DASH}{spec.maximum:g}"
                    if spec.maximum is not None
                    else f"≥ {spec.minimum:g}"
                )
                problems.append((name, f"must be a number {span}, got {describe(value)}"))
            else:
                out[name] = value
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                problems.append((name, f"expected true or false, got {describe(value)}"))
            else:
                out[name] = value
        else:
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
                problems.append((name, f"expected a list of strings, got {describe(value)}"))
                continue
            allowed_list = allowed_values(spec, vocabularies)
            items: set[str] = set()
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item:
                    problems.append((f"{name}[{i}]", f"expected a non-empty string, got {describe(item)}"))
                elif allowed_list is not None and item not in allowed_list:
                    problems.append(
                        (f"{name}[{i}]", f"must be one of {_choices(allowed_list)}, got {describe(item)}")
                    )
                else:
                    items.add(item)
            if items:
                out[name] = tuple(sorted(items))
    unit = out.get("unit")
    if unit is not None and unit in unit_kinds:
        kind = unit_kinds[unit]
        if "unit_kind" in out and out["unit_kind"] != kind:
            problems.append(("unit_kind", f"unit {unit} is of kind {kind}, got {describe(out['unit_kind'])}"))
        out["unit_kind"] = kind
    if problems:
        raise FactError(problems)
    return out
