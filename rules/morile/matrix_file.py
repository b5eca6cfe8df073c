"""Reading a MoRiLE matrix file: every problem reported at once with file, line, column and field."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rules.errors import RuleFileErrors
from rules.morile.matrix import (
    DEFAULT_MATRIX_PATH,
    HANDLING_CODES,
    INTELLIGENCE_GRADES,
    INTELLIGENCE_SOURCES,
    BandDef,
    Matrix,
    ScopeLevel,
    level_span,
)
from rules.vocab import BANDS, CONFIDENCE_LEVELS, ORG_GRADES, RESPONSE_LEVELS
from rules.yamlsrc import START, Reader, describe, join

# The top-level fields of a matrix file (none of them is a ruleset section: rules/checks.py tells the
# two kinds of file apart by them).
REQUIRED_FIELDS = (
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
)
OPTIONAL_FIELDS = ("description",)


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
        top = r.mapping(doc, START, "")
        if top is None:
            return None
        r.fields(top, "", required=REQUIRED_FIELDS, optional=OPTIONAL_FIELDS)
        vpos = functools.partial(r.value_pos, top)
        mid = r.string(top.get("id"), vpos("id"), "id") if "id" in top else None
        version = r.string(top.get("version"), vpos("version"), "version") if "version" in top else None
        placeholder = r.boolean(top.get("placeholder"), vpos("placeholder"), "placeholder")
        label = r.string(top.get("label"), vpos("label"), "label") if "label" in top else None

        harm_levels: dict[int, str] = {}
        dimensions: dict[str, tuple[str, float]] = {}
        harm = r.mapping(top.get("harm"), vpos("harm"), "harm") if "harm" in top else None
        if harm is not None and r.fields(harm, "harm", required=("levels", "dimensions")):
            harm_levels = self.levels(harm, "levels", "harm.levels", start=0)
            dims = r.mapping(harm["dimensions"], r.value_pos(harm, "dimensions"), "harm.dimensions")
            for name, spec in (dims or {}).items():
                field = join("harm.dimensions", str(name))
                d = r.mapping(spec, r.value_pos(dims, name), field)
                if d is None or not r.fields(d, field, required=("label", "weight")):
                    continue
                dlabel = r.string(d["label"], r.value_pos(d, "label"), join(field, "label"))
                weight = r.number(d["weight"], r.value_pos(d, "weight"), join(field, "weight"))
                if weight is not None and weight <= 0:
                    r.error(r.value_pos(d, "weight"), join(field, "weight"), "must be above 0")
                elif dlabel is not None and weight is not None:
                    dimensions[str(name)] = (dlabel, float(weight))
            if dims is not None and not dims:
                r.error(r.value_pos(harm, "dimensions"), "harm.dimensions", "needs at least one")

        scope: dict[int, ScopeLevel] = {}
        sc = r.mapping(top.get("scope"), vpos("scope"), "scope") if "scope" in top else None
        for key, spec in (sc or {}).items():
            field = join("scope", str(key))
            kpos = r.key_pos(sc, key)
            if isinstance(key, bool) or not isinstance(key, int) or key < 1:
                r.error(kpos, field, f"scope levels must be integers from 1, got {describe(key)}")
                continue
            s = r.mapping(spec, r.value_pos(sc, key), field)
            if s is None or not r.fields(s, field, required=("label", "multiplier")):
                continue
            slabel = r.string(s["label"], r.value_pos(s, "label"), join(field, "label"))
            mult = r.number(s["multiplier"], r.value_pos(s, "multiplier"), join(field, "multiplier"))
            if mult is not None and mult <= 0:
                r.error(r.value_pos(s, "multiplier"), join(field, "multiplier"), "must be above 0")
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
            up = r.mapping(vu["uplift"], r.value_pos(vu, "uplift"), "vulnerability.uplift")
            if up is not None and r.fields(up, "vulnerability.uplift", required=("at_least", "add")):
                a = r.integer(up["at_least"], r.value_pos(up, "at_least"), "vulnerability.uplift.at_least")
                b = r.integer(up["add"], r.value_pos(up, "add"), "vulnerability.uplift.add", minimum=0)
                at_least, add = a or 0, b or 0
                if a is not None and vulnerability and a not in vulnerability:
                    r.error(
                        r.value_pos(up, "at_least"),
                        "vulnerability.uplift.at_least",
                        f"must be one of the vulnerability levels {level_span(vulnerability)}, got {a}",
                    )

        bands = self.bands(top, vpos("bands"))

        floor_level, floor_band = 0, "P2"
        fl = r.mapping(top.get("floor"), vpos("floor"), "floor") if "floor" in top else None
        if fl is not None and r.fields(fl, "floor", required=("harm_level", "band")):
            lvl = r.integer(fl["harm_level"], r.value_pos(fl, "harm_level"), "floor.harm_level")
            if lvl is not None and harm_levels and lvl not in harm_levels:
                r.error(
                    r.value_pos(fl, "harm_level"),
                    "floor.harm_level",
                    f"must be one of the harm levels {level_span(harm_levels)}, got {lvl}",
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
        node = r.mapping(parent[key], r.value_pos(parent, key), field)
        out: dict[int, str] = {}
        for k, v in (node or {}).items():
            kpos = r.key_pos(node, k)
            if isinstance(k, bool) or not isinstance(k, int):
                r.error(kpos, join(field, str(k)), f"levels must be integers, got {describe(k)}")
                continue
            name = r.string(v, r.value_pos(node, k), join(field, str(k)))
            if name is not None:
                out[int(k)] = name
        if node is not None:
            self.consecutive(node, out, field, start)
        return dict(sorted(out.items()))

    def consecutive(self, node: Any, levels: Mapping[int, Any], field: str, start: int) -> None:
        if levels and sorted(levels) != list(range(start, start + len(levels))):
            self.r.error(
                self.r.node_pos(node),
                field,
                f"levels must run {start}, {start + 1}, ... without gaps, "
                f"got {', '.join(map(str, sorted(levels)))}",
            )
        elif not levels and not self.r.errors:
            self.r.error(self.r.node_pos(node), field, "needs at least one level")

    def choice(self, parent: Any, key: Any, field: str, allowed: tuple[str, ...]) -> str | None:
        value = parent[key]
        if isinstance(value, str) and value in allowed:
            return str(value)
        self.r.error(
            self.r.value_pos(parent, key),
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
            m = r.mapping(item, r.item_pos(seq, i), field)
            if m is None or not r.fields(m, field, required=("band", "label", "min_risk")):
                continue
            band = self.choice(m, "band", join(field, "band"), BANDS)
            blabel = r.string(m["label"], r.value_pos(m, "label"), join(field, "label"))
            minimum = r.number(m["min_risk"], r.value_pos(m, "min_risk"), join(field, "min_risk"))
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
        node = r.mapping(parent[key], r.value_pos(parent, key), field)
        if node is None:
            return {}
        out: dict[str, str] = {}
        for k, v in node.items():
            if not isinstance(k, str) or k not in codes:
                r.error(
                    r.key_pos(node, k),
                    join(field, str(k)),
                    f"unknown code {describe(k)} (allowed: {', '.join(codes)})",
                )
                continue
            value = r.string(v, r.value_pos(node, k), join(field, k))
            if value is not None:
                out[k] = value
        missing = [c for c in codes if c not in node]
        if missing:
            r.error(r.node_pos(node), field, f"missing codes: {', '.join(missing)}")
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
        table = r.mapping(node["suggest"], r.value_pos(node, "suggest"), "confidence.suggest")
        for src in INTELLIGENCE_SOURCES if table is not None else ():
            assert table is not None
            field = join("confidence.suggest", src)
            if src not in table:
                r.error(r.node_pos(table), field, "missing row for this source grade")
                continue
            row = r.mapping(table[src], r.value_pos(table, src), field)
            if row is None:
                continue
            suggest[src] = {}
            for grade in INTELLIGENCE_GRADES:
                if grade not in row:
                    r.error(r.node_pos(row), join(field, grade), "missing suggestion")
                    continue
                level = self.choice(row, grade, join(field, grade), CONFIDENCE_LEVELS)
                if level:
                    suggest[src][grade] = level
            for extra in row:
                if extra not in INTELLIGENCE_GRADES:
                    r.error(
                        r.key_pos(row, extra),
                        join(field, str(extra)),
                        f"unknown intelligence grade (allowed: {', '.join(INTELLIGENCE_GRADES)})",
                    )
        for extra in table or {}:
            if extra not in INTELLIGENCE_SOURCES:
                r.error(
                    r.key_pos(table, extra),
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
        gnode = r.mapping(node["grades"], r.value_pos(node, "grades"), f"{field}.grades")
        for lvl in levels if gnode is not None else ():
            assert gnode is not None
            if lvl not in gnode:
                r.error(r.node_pos(gnode), join(f"{field}.grades", str(lvl)), "missing grade for this level")
                continue
            grade = self.choice(gnode, lvl, join(f"{field}.grades", str(lvl)), ORG_GRADES)
            if grade:
                grades[lvl] = grade
        esc = r.mapping(node["escalate"], r.value_pos(node, "escalate"), f"{field}.escalate")
        esc_bands: tuple[str, ...] = ()
        esc_grades: tuple[str, ...] = ()
        if esc is not None and r.fields(esc, f"{field}.escalate", required=("bands", "grades")):
            esc_bands = self.codes(esc, "bands", f"{field}.escalate.bands", BANDS)
            esc_grades = self.codes(esc, "grades", f"{field}.escalate.grades", ORG_GRADES)
        responses = self.codes(node, "response_levels", f"{field}.response_levels", RESPONSE_LEVELS)
        base: dict[int, str] = {}
        bnode = r.mapping(node["base_response"], r.value_pos(node, "base_response"), f"{field}.base_response")
        for lvl in scope if bnode is not None else ():
            assert bnode is not None
            bfield = join(f"{field}.base_response", str(lvl))
            if lvl not in bnode:
                r.error(r.node_pos(bnode), bfield, "missing response level for this scope")
                continue
            value = bnode[lvl]
            if value in responses:
                base[lvl] = str(value)
            else:
                r.error(
                    r.value_pos(bnode, lvl),
                    bfield,
                    f"must be one of {', '.join(responses)}, got {describe(value)}",
                )
        return levels, grades, esc_bands, esc_grades, responses, base

    def codes(self, parent: Any, key: str, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        r = self.r
        seq = r.sequence(parent[key], r.value_pos(parent, key), field)
        out: list[str] = []
        for i, item in enumerate(seq or []):
            if isinstance(item, str) and item in allowed:
                out.append(str(item))
            else:
                r.error(
                    r.item_pos(seq, i),
                    join(field, i),
                    f"must be one of {', '.join(allowed)}, got {describe(item)}",
                )
        return tuple(out)
