"""The compiled condition form and the plain-Python evaluation of it.

A condition is JSON-like (see rules/README.md): ``{"all": [...]}``, ``{"any": [...]}``,
``{"not": c}``, ``{"fact": f, "op": op, "value": v}`` or ``{"fact": f, "op": "exists"}``. Facts are
already typed (rules/facts.py): absent facts are missing keys, lists are sorted tuples. A comparison
on an absent fact is false; ``exists`` tests presence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


def leaves(cond: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "all" in cond:
        for c in cond["all"]:
            yield from leaves(c)
    elif "any" in cond:
        for c in cond["any"]:
            yield from leaves(c)
    elif "not" in cond:
        yield from leaves(cond["not"])
    else:
        yield cond


def reads(cond: dict[str, Any]) -> tuple[str, ...]:
    """The facts a condition reads, sorted (the trace shows these with their values)."""
    return tuple(sorted({leaf["fact"] for leaf in leaves(cond)}))


def specificity(cond: dict[str, Any]) -> int:
    """How many tests a condition makes: the most specific policy rule wins a field."""
    return sum(1 for _ in leaves(cond))


def compile_condition(cond: dict[str, Any]) -> Predicate:
    """A closure evaluating the condition on typed facts (the native backend and the checker)."""
    if "all" in cond:
        parts = tuple(compile_condition(c) for c in cond["all"])
        if not parts:
            return lambda facts: True
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            a, b = parts
            return lambda facts: a(facts) and b(facts)
        return lambda facts: all(p(facts) for p in parts)
    if "any" in cond:
        parts = tuple(compile_condition(c) for c in cond["any"])
        if len(parts) == 1:
            return parts[0]
        return lambda facts: any(p(facts) for p in parts)
    if "not" in cond:
        inner = compile_condition(cond["not"])
        return lambda facts: not inner(facts)
    name: str = cond["fact"]
    op: str = cond["op"]
    value: Any = cond.get("value")
    if op == "exists":
        return lambda facts: name in facts
    if op == "==":
        return lambda facts: name in facts and facts[name] == value
    if op == "!=":
        return lambda facts: name in facts and facts[name] != value
    if op == "in":
        options = frozenset(value)
        return lambda facts: facts.get(name) in options
    if op == "contains":
        return lambda facts: value in facts.get(name, ())
    if op == "<":
        return lambda facts: name in facts and facts[name] < value
    if op == "<=":
        return lambda facts: name in facts and facts[name] <= value
    if op == ">":
        return lambda facts: name in facts and facts[name] > value
    if op == ">=":
        return lambda facts: name in facts and facts[name] >= value
    raise ValueError(f"unknown operator {op!r}")
