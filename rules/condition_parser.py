"""Parsing ``when`` blocks of rule files into the compiled condition form (evaluated by conditions.py).

Every fact, operator and value is checked against rules/facts.py and the ruleset's own vocabularies;
each problem is reported through the file's :class:`Reader` with its line, column and field.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from rules.facts import FACTS, OPERATORS, FactSpec, allowed_values
from rules.yamlsrc import DASH, Pos, Reader, describe, join

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "contains", "exists")


class ConditionParser:
    """Parses ``when`` blocks into the compiled condition form::

    {"all": [c, ...]} | {"any": [c, ...]} | {"not": c}
    | {"fact": name, "op": "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "contains", "value": v}
    | {"fact": name, "op": "exists"}
    """

    def __init__(self, reader: Reader, vocab: dict[str, tuple[str, ...]]) -> None:
        self.r = reader
        self.vocab = vocab

    def parse(self, node: Any, pos: Pos, field: str) -> dict[str, Any] | None:
        m = self.r.mapping(node, pos, field)
        if m is None:
            return None
        if not m:
            self.r.error(pos, field, "needs at least one condition")
            return None
        parts: list[dict[str, Any] | None] = []
        for key, value in m.items():
            kpos = self.r.key_pos(m, key, pos)
            vpos = self.r.value_pos(m, key, kpos)
            if key in ("all", "any"):
                sub = join(field, str(key))
                seq = self.r.sequence(value, vpos, sub)
                if seq is None:
                    parts.append(None)
                    continue
                if not seq:
                    self.r.error(vpos, sub, "needs at least one condition")
                    parts.append(None)
                    continue
                items = [
                    self.parse(v, self.r.item_pos(seq, i, vpos), join(sub, i)) for i, v in enumerate(seq)
                ]
                parts.append(None if None in items else {str(key): items})
            elif key == "not":
                inner = self.parse(value, vpos, join(field, "not"))
                parts.append(None if inner is None else {"not": inner})
            elif isinstance(key, str) and key in FACTS:
                parts.extend(self.fact(FACTS[key], value, vpos, join(field, key)))
            else:
                self.r.error(
                    kpos, join(field, str(key)), f"unknown fact (known: {', '.join(FACTS)}; or all, any, not)"
                )
                parts.append(None)
        if None in parts:
            return None
        good = [p for p in parts if p is not None]
        return good[0] if len(good) == 1 else {"all": good}

    def fact(self, spec: FactSpec, value: Any, pos: Pos, field: str) -> list[dict[str, Any] | None]:
        if isinstance(value, CommentedMap):
            if not value:
                self.r.error(pos, field, f"needs an operator ({', '.join(OPERATORS[spec.kind])})")
                return [None]
            out: list[dict[str, Any] | None] = []
            for op, operand in value.items():
                opos = self.r.value_pos(value, op, pos)
                if op not in COMPARISONS:
                    self.r.error(
                        self.r.key_pos(value, op, pos),
                        field,
                        f"unknown operator {describe(op)} (allowed: {', '.join(COMPARISONS)})",
                    )
                    out.append(None)
                elif op not in OPERATORS[spec.kind]:
                    self.r.error(
                        self.r.key_pos(value, op, pos),
                        field,
                        f'operator "{op}" does not apply to {spec.kind} fact {spec.name} '
                        f"(allowed: {', '.join(OPERATORS[spec.kind])})",
                    )
                    out.append(None)
                else:
                    out.append(self.leaf(spec, str(op), operand, opos, field))
            return out
        if isinstance(value, CommentedSeq):
            if spec.kind == "list":
                self.r.error(
                    pos, field, "a list fact takes {contains: value} (or any: [...] of several), got a list"
                )
                return [None]
            if spec.kind != "enum":
                self.r.error(
                    pos,
                    field,
                    f"a list of values means 'in', which applies to enum facts only; "
                    f"{spec.name} is a {spec.kind}",
                )
                return [None]
            return [self.leaf(spec, "in", value, pos, field)]
        return [self.leaf(spec, "contains" if spec.kind == "list" else "==", value, pos, field)]

    def leaf(self, spec: FactSpec, op: str, operand: Any, pos: Pos, field: str) -> dict[str, Any] | None:
        if op == "exists":
            if not isinstance(operand, bool):
                self.r.error(pos, field, f"exists takes true or false, got {describe(operand)}")
                return None
            test = {"fact": spec.name, "op": "exists"}
            return test if operand else {"not": test}
        if op == "in":
            seq = self.r.sequence(operand, pos, field)
            if seq is None:
                return None
            if not seq:
                self.r.error(pos, field, "in needs at least one value")
                return None
            values = [self.value(spec, v, self.r.item_pos(seq, i, pos), field) for i, v in enumerate(seq)]
            if None in values:
                return None
            return {"fact": spec.name, "op": "in", "value": list(dict.fromkeys(values))}
        checked = self.value(spec, operand, pos, field)
        if checked is None:
            return None
        return {"fact": spec.name, "op": op, "value": checked}

    def value(self, spec: FactSpec, value: Any, pos: Pos, field: str) -> Any:
        r = self.r
        if spec.kind == "number":
            number = r.number(value, pos, field)
            if number is not None and (
                (spec.minimum is not None and number < spec.minimum)
                or (spec.maximum is not None and number > spec.maximum)
            ):
                span = (
                    f"{spec.minimum:g}{DASH}{spec.maximum:g}"
                    if spec.maximum is not None
                    else f"at least {spec.minimum:g}"
                )
                r.error(pos, field, f"{spec.name} is {span}, got {describe(number)}")
                return None
            return number
        if spec.kind == "bool":
            return r.boolean(value, pos, field)
        if not isinstance(value, str) or not value:
            r.error(pos, field, f"expected a string, got {describe(value)}")
            return None
        allowed = allowed_values(spec, self.vocab)
        if allowed is not None and value not in allowed:
            noun = {
                "units": "unit",
                "themes": "theme",
                "capabilities": "capability",
                "target_types": "target type",
            }.get(spec.vocabulary or "", f"{spec.name} value")
            r.error(pos, field, f'unknown {noun} "{value}" (known: {", ".join(allowed)})')
            return None
        return str(value)
