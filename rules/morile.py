"""MoRiLE scoring against a versioned matrix file (see shared MORILE.md).

A matrix is data with an id and a version; the shipped ``tactical-default`` is a clearly labelled
placeholder. :func:`score` is a pure function of a matrix and the assessor's inputs::

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

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from rules.errors import RuleFileErrors, ScoreInputError
from rules.vocab import BANDS, CONFIDENCE_LEVELS, ORG_GRADES, RESPONSE_LEVELS, band_rank
from rules.yamlsrc import DASH, Reader, describe, join

DEFAULT_MATRIX_PATH = Path(__file__).parent / "matrices" / "tactical-default.yaml"

INTELLIGENCE_SOURCES = ("1", "2", "3")
INTELLIGENCE_GRADES = ("A", "B", "C", "D", "E")
HANDLING_CODES = ("P", "C")


@dataclass(frozen=True)
class ScopeLevel:
    label: str
    multiplier: float


@dataclass(frozen=True)
class BandDef:
    band: str
    label: str
    min_risk: float


@dataclass(frozen=True)
class Matrix:
    """A MoRiLE matrix: every number of the method as data."""

    id: str
    version: str
    placeholder: bool
    label: str
    harm_levels: dict[int, str]
    dimensions: dict[str, tuple[str, float]]  # name -> (label, weight)
    scope: dict[int, ScopeLevel]
    likelihood_levels: dict[int, str]
    vulnerability_levels: dict[int, str]
    uplift_at_least: int
    uplift_add: int
    bands: tuple[BandDef, ...]
    floor_harm_level: int
    floor_band: str
    sources: dict[str, str]
    grades: dict[str, str]
    handling: dict[str, str]
    suggest: dict[str, dict[str, str]]
    org_levels: dict[int, str]
    org_grades: dict[int, str]
    escalate_bands: tuple[str, ...]
    escalate_grades: tuple[str, ...]
    response_levels: tuple[str, ...]
    base_response: dict[int, str]

    @property
    def harm_max(self) -> float:
        return sum(w for _, w in self.dimensions.values()) * max(self.harm_levels)

    @property
    def harm_total_max(self) -> float:
        return self.harm_max * max(s.multiplier for s in self.scope.values())

    @property
    def likelihood_total_max(self) -> int:
        return max(self.likelihood_levels) + self.uplift_add

    @property
    def risk_raw_max(self) -> float:
        return self.harm_total_max * self.likelihood_total_max

    def band_label(self, band: str) -> str:
        return next(b.label for b in self.bands if b.band == band)


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


# -- loading -------------------------------------------------------------------------------------------


@functools.cache
def default_matrix() -> Matrix:
    """The shipped placeholder matrix (loaded once per process)."""
    return load_matrix(DEFAULT_MATRIX_PATH)


def load_matrix(path: str | Path) -> Matrix:
    """Load and validate a matrix file; raise :class:`RuleFileErrors` listing every problem."""
    path = Path(path)
    errors: list = []
    reader = Reader(str(path), errors)
    doc = reader.load(path)
    if errors:
        raise RuleFileErrors(errors)
    matrix = _MatrixParser(reader).parse(doc)
    if errors or matrix is None:
        raise RuleFileErrors(sorted(errors, key=lambda e: (e.line, e.column, e.field)))
    return matrix


class _MatrixParser:
    def __init__(self, reader: Reader) -> None:
        self.r = reader

    def parse(self, doc: Any) -> Matrix | None:
        r = self.r
        top = r.mapping(doc, (1, 1), "")
        if top is None:
            return None
        r.fields(
            top,
            "",
            required=(
                "id",
                "version",
                "placeholder",
                "label",
                "harm",
                "scope",
                "likelihood",
                "vulnerability",
                "bands",
                "floor",
                "confidence",
                "organisational_position",
            ),
            optional=("description",),
        )
        here = (1, 1)
        vpos = functools.partial(r.value_pos, top, fallback=here)
        mid = r.string(top.get("id"), vpos("id"), "id") if "id" in top else None
        version = r.string(top.get("version"), vpos("version"), "version") if "version" in top else None
        placeholder = r.boolean(top.get("placeholder"), vpos("placeholder"), "placeholder")
        label = r.string(top.get("label"), vpos("label"), "label") if "label" in top else None

        harm_levels: dict[int, str] = {}
        dimensions: dict[str, tuple[str, float]] = {}
        harm = r.mapping(top.get("harm"), vpos("harm"), "harm") if "harm" in top else None
        if harm is not None and r.fields(harm, "harm", required=("levels", "dimensions")):
            harm_levels = self.levels(harm, "levels", "harm.levels", start=0)
            dims = r.mapping(harm["dimensions"], r.value_pos(harm, "dimensions", here), "harm.dimensions")
            for name, spec in (dims or {}).items():
                field = join("harm.dimensions", str(name))
                d = r.mapping(spec, r.value_pos(dims, name, here), field)
                if d is None or not r.fields(d, field, required=("label", "weight")):
                    continue
                dlabel = r.string(d["label"], r.value_pos(d, "label", here), join(field, "label"))
                weight = r.number(d["weight"], r.value_pos(d, "weight", here), join(field, "weight"))
                if weight is not None and weight <= 0:
                    r.error(r.value_pos(d, "weight", here), join(field, "weight"), "must be above 0")
                elif dlabel is not None and weight is not None:
                    dimensions[str(name)] = (dlabel, float(weight))
            if dims is not None and not dims:
                r.error(r.value_pos(harm, "dimensions", here), "harm.dimensions", "needs at least one")

        scope: dict[int, ScopeLevel] = {}
        sc = r.mapping(top.get("scope"), vpos("scope"), "scope") if "scope" in top else None
        for key, spec in (sc or {}).items():
            field = join("scope", str(key))
            kpos = r.key_pos(sc, key, here)
            if isinstance(key, bool) or not isinstance(key, int) or key < 1:
                r.error(kpos, field, f"scope levels must be integers from 1, got {describe(key)}")
                continue
            s = r.mapping(spec, r.value_pos(sc, key, here), field)
            if s is None or not r.fields(s, field, required=("label", "multiplier")):
                continue
            slabel = r.string(s["label"], r.value_pos(s, "label", here), join(field, "label"))
            mult = r.number(s["multiplier"], r.value_pos(s, "multiplier", here), join(field, "multiplier"))
            if mult is not None and mult <= 0:
                r.error(r.value_pos(s, "multiplier", here), join(field, "multiplier"), "must be above 0")
            elif slabel is not None and mult is not None:
                scope[int(key)] = ScopeLevel(slabel, float(mult))
        if sc is not None:
            self.consecutive(sc, scope, "scope", 1)

        likelihood: dict[int, str] = {}
        lk = (
            r.mapping(top.get("likelihood"), vpos("likelihood"), "likelihood")
            if "likelihood" in top
            else None
        )
        if lk is not None and r.fields(lk, "likelihood", required=("levels",)):
            likelihood = self.levels(lk, "levels", "likelihood.levels", start=1)

        vulnerability: dict[int, str] = {}
        at_least, add = 0, 0
        vu = (
            r.mapping(top["vulnerability"], vpos("vulnerability"), "vulnerability")
            if "vulnerability" in top
            else None
        )
        if vu is not None and r.fields(vu, "vulnerability", required=("levels", "uplift")):
            vulnerability = self.levels(vu, "levels", "vulnerability.levels", start=0)
            up = r.mapping(vu["uplift"], r.value_pos(vu, "uplift", here), "vulnerability.uplift")
            if up is not None and r.fields(up, "vulnerability.uplift", required=("at_least", "add")):
                a = r.integer(
                    up["at_least"], r.value_pos(up, "at_least", here), "vulnerability.uplift.at_least"
                )
                b = r.integer(up["add"], r.value_pos(up, "add", here), "vulnerability.uplift.add", minimum=0)
                at_least, add = a or 0, b or 0
                if a is not None and vulnerability and a not in vulnerability:
                    r.error(
                        r.value_pos(up, "at_least", here),
                        "vulnerability.uplift.at_least",
                        f"must be one of the vulnerability levels {_span(vulnerability)}, got {a}",
                    )

        bands = self.bands(top, vpos("bands"))

        floor_level, floor_band = 0, "P2"
        fl = r.mapping(top.get("floor"), vpos("floor"), "floor") if "floor" in top else None
        if fl is not None and r.fields(fl, "floor", required=("harm_level", "band")):
            lvl = r.integer(fl["harm_level"], r.value_pos(fl, "harm_level", here), "floor.harm_level")
            if lvl is not None and harm_levels and lvl not in harm_levels:
                r.error(
                    r.value_pos(fl, "harm_level", here),
                    "floor.harm_level",
                    f"must be one of the harm levels {_span(harm_levels)}, got {lvl}",
                )
            floor_level = lvl or 0
            floor_band = self.choice(fl, "band", "floor.band", BANDS) or "P2"

        conf = self.confidence(top, vpos("confidence"))
        org = self.organisation(top, vpos("organisational_position"), scope)

        if r.errors or None in (mid, version, placeholder, label) or conf is None or org is None:
            return None
        assert mid is not None and version is not None and label is not None and placeholder is not None
        return Matrix(
            id=mid,
            version=version,
            placeholder=placeholder,
            label=label,
            harm_levels=harm_levels,
            dimensions=dimensions,
            scope=dict(sorted(scope.items())),
            likelihood_levels=likelihood,
            vulnerability_levels=vulnerability,
            uplift_at_least=at_least,
            uplift_add=add,
            bands=bands,
            floor_harm_level=floor_level,
            floor_band=floor_band,
            sources=conf[0],
            grades=conf[1],
            handling=conf[2],
            suggest=conf[3],
            org_levels=org[0],
            org_grades=org[1],
            escalate_bands=org[2],
            escalate_grades=org[3],
            response_levels=org[4],
            base_response=org[5],
        )

    # -- pieces ----------------------------------------------------------------------------------------
    def levels(self, parent: Any, key: str, field: str, *, start: int) -> dict[int, str]:
        r = self.r
        node = r.mapping(parent[key], r.value_pos(parent, key, (1, 1)), field)
        out: dict[int, str] = {}
        for k, v in (node or {}).items():
            kpos = r.key_pos(node, k, (1, 1))
            if isinstance(k, bool) or not isinstance(k, int):
                r.error(kpos, join(field, str(k)), f"levels must be integers, got {describe(k)}")
                continue
            name = r.string(v, r.value_pos(node, k, kpos), join(field, str(k)))
            if name is not None:
                out[int(k)] = name
        if node is not None:
            self.consecutive(node, out, field, start)
        return dict(sorted(out.items()))

    def consecutive(self, node: Any, levels: Mapping[int, Any], field: str, start: int) -> None:
        if levels and sorted(levels) != list(range(start, start + len(levels))):
            self.r.error(
                self.r.node_pos(node, (1, 1)),
                field,
                f"levels must run {start}, {start + 1}, ... without gaps, "
                f"got {', '.join(map(str, sorted(levels)))}",
            )
        elif not levels and not self.r.errors:
            self.r.error(self.r.node_pos(node, (1, 1)), field, "needs at least one level")

    def choice(self, parent: Any, key: Any, field: str, allowed: tuple[str, ...]) -> str | None:
        value = parent[key]
        if isinstance(value, str) and value in allowed:
            return str(value)
        self.r.error(
            self.r.value_pos(parent, key, (1, 1)),
            field,
            f"must be one of {', '.join(allowed)}, got {describe(value)}",
        )
        return None

    def bands(self, top: Any, pos: tuple[int, int]) -> tuple[BandDef, ...]:
        r = self.r
        if "bands" not in top:
            return ()
        seq = r.sequence(top["bands"], pos, "bands")
        out: list[BandDef] = []
        for i, item in enumerate(seq or []):
            field = join("bands", i)
            m = r.mapping(item, r.item_pos(seq, i, pos), field)
            if m is None or not r.fields(m, field, required=("band", "label", "min_risk")):
                continue
            band = self.choice(m, "band", join(field, "band"), BANDS)
            blabel = r.string(m["label"], r.value_pos(m, "label", pos), join(field, "label"))
            minimum = r.number(m["min_risk"], r.value_pos(m, "min_risk", pos), join(field, "min_risk"))
            if band and blabel and minimum is not None:
                out.append(BandDef(band, blabel, float(minimum)))
        if seq is not None and not r.errors:
            if [b.band for b in out] != list(BANDS):
                r.error(pos, "bands", f"must list {', '.join(BANDS)} in that order")
            elif any(a.min_risk <= b.min_risk for a, b in itertools.pairwise(out)):
                r.error(pos, "bands", "min_risk must fall from one band to the next")
            elif out[-1].min_risk != 0:
                r.error(pos, "bands", f"the last band must have min_risk 0, got {out[-1].min_risk:g}")
        return tuple(out)

    def code_map(self, parent: Any, key: str, field: str, codes: tuple[str, ...]) -> dict[str, str]:
        """A mapping whose keys must be exactly ``codes`` (each with a label)."""
        r = self.r
        node = r.mapping(parent[key], r.value_pos(parent, key, (1, 1)), field)
        if node is None:
            return {}
        out: dict[str, str] = {}
        for k, v in node.items():
            if not isinstance(k, str) or k not in codes:
                r.error(
                    r.key_pos(node, k, (1, 1)),
                    join(field, str(k)),
                    f"unknown code {describe(k)} (allowed: {', '.join(codes)})",
                )
                continue
            value = r.string(v, r.value_pos(node, k, (1, 1)), join(field, k))
            if value is not None:
                out[k] = value
        missing = [c for c in codes if c not in node]
        if missing:
            r.error(r.node_pos(node, (1, 1)), field, f"missing codes: {', '.join(missing)}")
        return out

    def confidence(self, top: Any, pos: tuple[int, int]) -> tuple[Any, Any, Any, Any] | None:
        r = self.r
        if "confidence" not in top:
            return None
        node = r.mapping(top["confidence"], pos, "confidence")
        if node is None or not r.fields(
            node, "confidence", required=("source", "intelligence", "handling", "suggest")
        ):
            return None
        sources = self.code_map(node, "source", "confidence.source", INTELLIGENCE_SOURCES)
        grades = self.code_map(node, "intelligence", "confidence.intelligence", INTELLIGENCE_GRADES)
        handling = self.code_map(node, "handling", "confidence.handling", HANDLING_CODES)
        suggest: dict[str, dict[str, str]] = {}
        table = r.mapping(node["suggest"], r.value_pos(node, "suggest", pos), "confidence.suggest")
        for src in INTELLIGENCE_SOURCES if table is not None else ():
            assert table is not None
            field = join("confidence.suggest", src)
            if src not in table:
                r.error(r.node_pos(table, pos), field, "missing row for this source grade")
                continue
            row = r.mapping(table[src], r.value_pos(table, src, pos), field)
            if row is None:
                continue
            suggest[src] = {}
            for grade in INTELLIGENCE_GRADES:
                if grade not in row:
                    r.error(r.node_pos(row, pos), join(field, grade), "missing suggestion")
                    continue
                level = self.choice(row, grade, join(field, grade), CONFIDENCE_LEVELS)
                if level:
                    suggest[src][grade] = level
            for extra in row:
                if extra not in INTELLIGENCE_GRADES:
                    r.error(
                        r.key_pos(row, extra, pos),
                        join(field, str(extra)),
                        f"unknown intelligence grade (allowed: {', '.join(INTELLIGENCE_GRADES)})",
                    )
        for extra in table or {}:
            if extra not in INTELLIGENCE_SOURCES:
                r.error(
                    r.key_pos(table, extra, pos),
                    join("confidence.suggest", str(extra)),
                    f"unknown source grade {describe(extra)} (allowed: {', '.join(INTELLIGENCE_SOURCES)})",
                )
        return sources, grades, handling, suggest

    def organisation(self, top: Any, pos: tuple[int, int], scope: Mapping[int, ScopeLevel]) -> Any:
        r = self.r
        field = "organisational_position"
        if field not in top:
            return None
        node = r.mapping(top[field], pos, field)
        if node is None or not r.fields(
            node, field, required=("levels", "grades", "escalate", "response_levels", "base_response")
        ):
            return None
        levels = self.levels(node, "levels", f"{field}.levels", start=1)
        grades: dict[int, str] = {}
        gnode = r.mapping(node["grades"], r.value_pos(node, "grades", pos), f"{field}.grades")
        for lvl in levels if gnode is not None else ():
            assert gnode is not None
            if lvl not in gnode:
                r.error(r.node_pos(gnode, pos), join(f"{field}.grades", lvl), "missing grade for this level")
                continue
            grade = self.choice(gnode, lvl, join(f"{field}.grades", str(lvl)), ORG_GRADES)
            if grade:
                grades[lvl] = grade
        esc = r.mapping(node["escalate"], r.value_pos(node, "escalate", pos), f"{field}.escalate")
        esc_bands: tuple[str, ...] = ()
        esc_grades: tuple[str, ...] = ()
        if esc is not None and r.fields(esc, f"{field}.escalate", required=("bands", "grades")):
            esc_bands = self.codes(esc, "bands", f"{field}.escalate.bands", BANDS)
            esc_grades = self.codes(esc, "grades", f"{field}.escalate.grades", ORG_GRADES)
        responses = self.codes(node, "response_levels", f"{field}.response_levels", RESPONSE_LEVELS)
        base: dict[int, str] = {}
        bnode = r.mapping(
            node["base_response"], r.value_pos(node, "base_response", pos), f"{field}.base_response"
        )
        for lvl in scope if bnode is not None else ():
            assert bnode is not None
            bfield = join(f"{field}.base_response", str(lvl))
            if lvl not in bnode:
                r.error(r.node_pos(bnode, pos), bfield, "missing response level for this scope")
                continue
            value = bnode[lvl]
            if value in responses:
                base[lvl] = str(value)
            else:
                r.error(
                    r.value_pos(bnode, lvl, pos),
                    bfield,
                    f"must be one of {', '.join(responses)}, got {describe(value)}",
                )
        return levels, grades, esc_bands, esc_grades, responses, base

    def codes(self, parent: Any, key: str, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        r = self.r
        seq = r.sequence(parent[key], r.value_pos(parent, key, (1, 1)), field)
        out: list[str] = []
        for i, item in enumerate(seq or []):
            if isinstance(item, str) and item in allowed:
                out.append(str(item))
            else:
                r.error(
                    r.item_pos(seq, i, (1, 1)),
                    join(field, i),
                    f"must be one of {', '.join(allowed)}, got {describe(item)}",
                )
        return tuple(out)


def _span(levels: Mapping[int, str]) -> str:
    keys = sorted(levels)
    return f"{keys[0]}{DASH}{keys[-1]}" if keys else "(none)"


# -- scoring -------------------------------------------------------------------------------------------


def _levels_text(levels: Mapping[int, str]) -> str:
    return f"an integer {_span(levels)} ({', '.join(levels.values())})"


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
