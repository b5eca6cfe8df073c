"""The compiled condition form evaluated on its own, against a literal table of (condition, facts, holds):
every operator at, below and above its value and on an absent fact, and every combinator with none, one,
two and three parts (the evaluator builds each of those shapes differently)."""

from __future__ import annotations

from typing import Any

import pytest

from rules.conditions import compile_condition, reads, specificity


def leaf(fact: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"fact": fact, "op": op, "value": value} if op != "exists" else {"fact": fact, "op": op}


T = leaf("risk", ">=", 50)  # holds on RISK_60
F = leaf("risk", "<", 50)  # fails on RISK_60
RISK_60 = {"risk": 60}

TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    (leaf("risk", "exists"), {"risk": 0}, True),
    (leaf("risk", "exists"), {}, False),
    (leaf("hub", "==", "EAST"), {"hub": "EAST"}, True),
    (leaf("hub", "==", "EAST"), {"hub": "WEST"}, False),
    (leaf("hub", "==", None), {}, False),  # absent is not equal to anything, not even None
    (leaf("hub", "!=", "EAST"), {"hub": "WEST"}, True),
    (leaf("hub", "!=", "EAST"), {"hub": "EAST"}, False),
    (leaf("hub", "!=", "EAST"), {}, False),
    (leaf("unit", "in", ["EA", "NE"]), {"unit": "NE"}, True),
    (leaf("unit", "in", ["EA", "NE"]), {"unit": "CS"}, False),
    (leaf("unit", "in", ["EA", "NE"]), {}, False),
    (leaf("themes", "contains", "drugs"), {"themes": ("county_lines", "drugs")}, True),
    (leaf("themes", "contains", "drugs"), {"themes": ("fraud",)}, False),
    (leaf("themes", "contains", "drugs"), {}, False),
    (leaf("risk", "<", 50), {"risk": 49.9}, True),
    (leaf("risk", "<", 50), {"risk": 50}, False),
    (leaf("risk", "<", 50), {}, False),
    (leaf("risk", "<=", 50), {"risk": 50}, True),
    (leaf("risk", "<=", 50), {"risk": 50.1}, False),
    (leaf("risk", "<=", 50), {}, False),
    (leaf("risk", ">", 50), {"risk": 50.1}, True),
    (leaf("risk", ">", 50), {"risk": 50}, False),
    (leaf("risk", ">", 50), {}, False),
    (leaf("risk", ">=", 50), {"risk": 50}, True),
    (leaf("risk", ">=", 50), {"risk": 49.9}, False),
    (leaf("risk", ">=", 50), {}, False),
    ({"all": []}, {}, True),
    ({"all": [T]}, RISK_60, True),
    ({"all": [F]}, RISK_60, False),
    ({"all": [T, T]}, RISK_60, True),
    ({"all": [T, F]}, RISK_60, False),
    ({"all": [F, T]}, RISK_60, False),
    ({"all": [T, T, T]}, RISK_60, True),
    ({"all": [T, T, F]}, RISK_60, False),
    ({"any": [T]}, RISK_60, True),
    ({"any": [F]}, RISK_60, False),
    ({"any": [F, T]}, RISK_60, True),
    ({"any": [F, F]}, RISK_60, False),
    ({"any": [F, F, T]}, RISK_60, True),
    ({"not": T}, RISK_60, False),
    ({"not": F}, RISK_60, True),
]


@pytest.mark.parametrize(("cond", "facts", "holds"), TABLE)
def test_each_operator_and_combinator(cond: dict[str, Any], facts: dict[str, Any], holds: bool) -> None:
    assert compile_condition(cond)(facts) is holds


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown operator 'like'"):
        compile_condition(leaf("hub", "like", "E%"))


def test_what_a_condition_reads_and_how_specific_it_is() -> None:
    cond = {"all": [leaf("unit", "in", ["NE"]), {"any": [T, {"not": leaf("hub", "exists")}]}, T]}
    assert reads(cond) == ("hub", "risk", "unit")
    assert specificity(cond) == 4
    assert (reads({"all": []}), specificity({"all": []})) == ((), 0)
