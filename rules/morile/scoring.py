"""MoRiLE scoring: :func:`score` is a pure function of a matrix and the assessor's inputs::

    {
      "harm": {"physical": 0-4, "psychological": 0-4, "financial": 0-4,
               "community": 0-4, "environmental": 0-4},   # one entry per matrix dimension
      "scope": 1-4, "likelihood": 1-5, "vulnerability": 0-4,
      "capacity": 1-4, "capability": 1-4,                   # 1 strong ... 4 none
      "intelligence": {"source": "1"|"2"|"3", "grade": "A".."E", "handling": "P"|"C"},  # optional
      "confidence": "low"|"medium"|"high",                  # optional override of the suggestion
      "confidence_reason": str,                             # required when the override differs
    }

Integers must be real integers (``True`` and ``"3"`` are rejected); every problem is reported at once
in a :class:`ScoreInputError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from rules.errors import ScoreInputError
from rules.morile.matrix import Matrix, level_span
from rules.vocab import CONFIDENCE_LEVELS, band_rank
from rules.yamlsrc import describe


@dataclass(frozen=True)
class Score:
    """Every component of one MoRiLE assessment (JSON form: :meth:`as_dict`)."""

    matrix_id: str
    matrix_version: str
    placeholder: bool
    harm_levels: dict[str, int]
    harm: float
    harm_floor_dimensions: tuple[str, ...]
    scope: int
    scope_multiplier: float
    harm_total: float
    harm_total_max: float
    likelihood: int
    vulnerability: int
    vulnerability_uplift: int
    likelihood_total: int
    likelihood_total_max: int
    risk_raw: float
    risk_raw_max: float
    risk: float
    band_computed: str
    floor_applied: bool
    band: str
    band_label: str
    intelligence: dict[str, str] | None
    confidence: str
    confidence_suggested: str | None
    confidence_overridden: bool
    confidence_reason: str | None
    capacity: int
    capability: int
    org_grade: str
    response_level: str
    response_escalated: bool

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["harm_floor_dimensions"] = list(self.harm_floor_dimensions)
        return data

    def facts(self) -> dict[str, Any]:
        """The MoRiLE facts the rules read (merge them into the case facts)."""
        return {
            "band": self.band,
            "risk": self.risk,
            "harm_total": self.harm_total,
            "likelihood_total": self.likelihood_total,
            "harm_floor": self.floor_applied,
            "org_grade": self.org_grade,
            "confidence": self.confidence,
            "response_level": self.response_level,
        }


def _levels_text(levels: Mapping[int, str]) -> str:
    return f"an integer {level_span(levels)} ({', '.join(levels.values())})"


def _round1(value: Fraction) -> float:
    """Round half up to one decimal, exactly (no binary floating-point drift at .x5)."""
    return math.floor(value * 10 + Fraction(1, 2)) / 10


def _frac(value: float) -> Fraction:
    return Fraction(str(value))


def score(matrix: Matrix, inputs: Mapping[str, Any]) -> Score:
    """Score one assessment. Pure; raises :class:`ScoreInputError` with every problem found."""
    problems: list[tuple[str, str]] = []

    def level(container: Mapping[str, Any], key: str, path: str, levels: Mapping[int, str]) -> int:
        if key not in container:
            problems.append((path, f"missing; must be {_levels_text(levels)}"))
            return min(levels)
        value = container[key]
        if isinstance(value, bool) or not isinstance(value, int) or value not in levels:
            problems.append((path, f"must be {_levels_text(levels)}, got {describe(value)}"))
            return min(levels)
        return int(value)

    if not isinstance(inputs, Mapping):
        raise ScoreInputError([("", f"inputs must be a mapping, got {describe(inputs)}")])
    allowed = {
        "harm",
        "scope",
        "likelihood",
        "vulnerability",
        "capacity",
        "capability",
        "intelligence",
        "confidence",
        "confidence_reason",
    }
    for key in inputs:
        if key not in allowed:
            problems.append((str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})"))

    harm_levels: dict[str, int] = {}
    harm_in = inputs.get("harm")
    dims = list(matrix.dimensions)
    if not isinstance(harm_in, Mapping):
        what = "missing" if "harm" not in inputs else f"got {describe(harm_in)}"
        problems.append(("harm", f"must be a mapping of {', '.join(dims)} to levels; {what}"))
    else:
        for dim in dims:
            harm_levels[dim] = level(harm_in, dim, f"harm.{dim}", matrix.harm_levels)
        for key in harm_in:
            if key not in matrix.dimensions:
                problems.append((f"harm.{key}", f"unknown harm dimension (allowed: {', '.join(dims)})"))

    scope_names = {k: f"{v.label} x{v.multiplier:g}" for k, v in matrix.scope.items()}
    scope_level = level(inputs, "scope", "scope", scope_names)
    likelihood = level(inputs, "likelihood", "likelihood", matrix.likelihood_levels)
    vulnerability = level(inputs, "vulnerability", "vulnerability", matrix.vulnerability_levels)
    capacity = level(inputs, "capacity", "capacity", matrix.org_levels)
    capability = level(inputs, "capability", "capability", matrix.org_levels)

    intelligence: dict[str, str] | None = None
    intel_in = inputs.get("intelligence")
    if "intelligence" in inputs and intel_in is not None:
        if not isinstance(intel_in, Mapping):
            problems.append(
                ("intelligence", f"must be a mapping of source, grade, handling; got {describe(intel_in)}")
            )
        else:
            intelligence = {}
            for key, codes in (
                ("source", matrix.sources),
                ("grade", matrix.grades),
                ("handling", matrix.handling),
            ):
                value = intel_in.get(key)
                choices = ", ".join(f"{describe(code)} ({label})" for code, label in codes.items())
                if key not in intel_in:
                    problems.append((f"intelligence.{key}", f"missing; must be one of {choices}"))
                elif not isinstance(value, str) or value not in codes:
                    problems.append(
                        (f"intelligence.{key}", f"must be one of {choices}, got {describe(value)}")
                    )
                else:
                    intelligence[key] = value
            for key in intel_in:
                if key not in ("source", "grade", "handling"):
                    problems.append(
                        (f"intelligence.{key}", "unknown field (allowed: grade, handling, source)")
                    )

    confidence_in = inputs.get("confidence")
    levels_text = ", ".join(CONFIDENCE_LEVELS)
    if confidence_in is not None and confidence_in not in CONFIDENCE_LEVELS:
        problems.append(("confidence", f"must be one of {levels_text}, got {describe(confidence_in)}"))
        confidence_in = None
    elif "confidence" in inputs and confidence_in is None:
        problems.append(("confidence", f"must be one of {levels_text}, got nothing"))
    if confidence_in is None and intel_in is None and "confidence" not in inputs:
        problems.append(("confidence", f"required when no intelligence grades are given ({levels_text})"))

    suggested: str | None = None
    if intelligence is not None and len(intelligence) == 3:
        suggested = matrix.suggest[intelligence["source"]][intelligence["grade"]]
    overridden = confidence_in is not None and suggested is not None and confidence_in != suggested
    reason_in = inputs.get("confidence_reason")
    reason: str | None = None
    if overridden:
        if not isinstance(reason_in, str) or not reason_in.strip():
            got = "" if reason_in is None else f", got {describe(reason_in)}"
            problems.append(
                (
                    "confidence_reason",
                    f"a reason is required when confidence ({confidence_in}) differs from the "
                    f"suggested {suggested}{got}",
                )
            )
        else:
            reason = reason_in.strip()
    elif reason_in is not None and not isinstance(reason_in, str):
        problems.append(("confidence_reason", f"must be text, got {describe(reason_in)}"))

    if problems:
        raise ScoreInputError(problems)

    weights = {d: _frac(w) for d, (_, w) in matrix.dimensions.items()}
    harm = sum((weights[d] * harm_levels[d] for d in dims), Fraction(0))
    multiplier = _frac(matrix.scope[scope_level].multiplier)
    harm_total = harm * multiplier
    uplift = matrix.uplift_add if vulnerability >= matrix.uplift_at_least else 0
    likelihood_total = likelihood + uplift
    risk_raw = harm_total * likelihood_total
    risk_max = _frac(matrix.harm_total_max) * matrix.likelihood_total_max
    risk = _round1(risk_raw * 100 / risk_max)

    band_computed = next(b.band for b in matrix.bands if risk >= b.min_risk)
    floor_dims = tuple(d for d in dims if harm_levels[d] >= matrix.floor_harm_level)
    floor_applied = bool(floor_dims) and band_rank(band_computed) < band_rank(matrix.floor_band)
    band = matrix.floor_band if floor_applied else band_computed

    confidence = confidence_in if confidence_in is not None else suggested
    assert confidence is not None
    org_level = max(capacity, capability)
    org_grade = matrix.org_grades[org_level]
    base = matrix.base_response[scope_level]
    escalated = band in matrix.escalate_bands and org_grade in matrix.escalate_grades
    response = base
    if escalated:
        index = matrix.response_levels.index(base)
        response = matrix.response_levels[min(index + 1, len(matrix.response_levels) - 1)]

    return Score(
        matrix_id=matrix.id,
        matrix_version=matrix.version,
        placeholder=matrix.placeholder,
        harm_levels=harm_levels,
        harm=float(harm),
        harm_floor_dimensions=floor_dims,
        scope=scope_level,
        scope_multiplier=float(multiplier),
        harm_total=float(harm_total),
        harm_total_max=float(matrix.harm_total_max),
        likelihood=likelihood,
        vulnerability=vulnerability,
        vulnerability_uplift=uplift,
        likelihood_total=likelihood_total,
        likelihood_total_max=matrix.likelihood_total_max,
        risk_raw=float(risk_raw),
        risk_raw_max=float(risk_max),
        risk=risk,
        band_computed=band_computed,
        floor_applied=floor_applied,
        band=band,
        band_label=matrix.band_label(band),
        intelligence=intelligence,
        confidence=confidence,
        confidence_suggested=suggested,
        confidence_overridden=overridden,
        confidence_reason=reason,
        capacity=capacity,
        capability=capability,
        org_grade=org_grade,
        response_level=response,
        response_escalated=escalated and response != base,
    )
