"""Both backends give identical decisions, traces included: a property test over generated facts, on
the shipped rules and on generated rulesets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import BANDS, compile_rules, load_ruleset
from rules.vocab import CONFIDENCE_LEVELS, MARKINGS, ORG_GRADES, RESPONSE_LEVELS, STAGES
from tests.rules.factories import DURABLE, compiled, default_ruleset, write_ruleset

pytestmark = pytest.mark.skipif(not DURABLE, reason="durable_rules cannot be imported on this Python")

RULESET = default_ruleset()
UNITS = sorted(RULESET.units)
THEMES = sorted(RULESET.themes)
CAPABILITIES = sorted(RULESET.capabilities)
TARGETS = sorted(RULESET.target_types)
# Constants the rules use, so generated numbers often sit exactly on a threshold.
EDGES = [0, 25, 50, 70, 75, 90, 100]


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


numbers = st.one_of(
    st.sampled_from(EDGES),
    st.sampled_from([e + d for e in EDGES for d in (-0.1, 0.1) if 0 <= e + d <= 100]),
    st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: round(x, 1)),
    st.integers(min_value=0, max_value=100),
)

facts_strategy = st.fixed_dictionaries(
    {},
    optional={
        "unit": maybe(st.sampled_from(UNITS)),
        "themes": st.lists(st.sampled_from(THEMES), max_size=4),
        "capabilities": st.lists(st.sampled_from(CAPABILITIES), max_size=3),
        "target_type": maybe(st.sampled_from(TARGETS)),
        "marking": st.sampled_from(MARKINGS),
        "tags": st.lists(st.sampled_from(["urgent", "op-x", "repeat"]), max_size=2),
        "stage": st.sampled_from(STAGES),
        "band": maybe(st.sampled_from(BANDS)),
        "risk": maybe(numbers),
        "harm_total": st.integers(min_value=0, max_value=60),
        "likelihood_total": st.integers(min_value=1, max_value=6),
        "harm_floor": st.booleans(),
        "org_grade": st.sampled_from(ORG_GRADES),
        "confidence": st.sampled_from(CONFIDENCE_LEVELS),
        "response_level": st.sampled_from(RESPONSE_LEVELS),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(facts_strategy, min_size=1, max_size=12))
def test_default_rules_native_equals_durable(batch: list[dict[str, Any]]) -> None:
    native, durable = compiled("native"), compiled("durable")
    expected = [native.evaluate(f) for f in batch]
    assert [durable.evaluate(f) for f in batch] == expected
    assert durable.evaluate_many(batch) == expected  # the per-class cache changes nothing
    assert durable.evaluate_many(batch, cache=False) == expected
    assert [d.backend for d in durable.evaluate_many(batch)] == ["durable"] * len(batch)


# -- generated rulesets ------------------------------------------------------------------------------


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    enum = st.one_of(
        st.builds(lambda v: {"unit": v}, st.sampled_from(UNITS)),
        st.builds(
            lambda v: {"unit": v}, st.lists(st.sampled_from(UNITS), min_size=1, max_size=3, unique=True)
        ),
        st.builds(lambda v: {"band": {"!=": v}}, st.sampled_from(BANDS)),
        st.builds(
            lambda v: {"band": {"in": v}},
            st.lists(st.sampled_from(BANDS), min_size=1, max_size=2, unique=True),
        ),
        st.builds(lambda b: {"band": {"exists": b}}, st.booleans()),
        st.builds(lambda v: {"unit_kind": v}, st.sampled_from(["bcu", "specialist"])),
        st.builds(lambda v: {"org_grade": v}, st.sampled_from(ORG_GRADES)),
    )
    number = st.builds(
        lambda f, op, v: {f: {op: v}},
        st.sampled_from(["risk", "harm_total"]),
        st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        st.sampled_from([0, 25, 50, 50.5, 75, 90]),
    )
    listy = st.one_of(
        st.builds(lambda v: {"themes": v}, st.sampled_from(THEMES[:5])),
        st.builds(lambda v: {"capabilities": {"contains": v}}, st.sampled_from(CAPABILITIES[:4])),
        st.builds(lambda b: {"themes": {"exists": b}}, st.booleans()),
        st.builds(lambda v: {"tags": v}, st.sampled_from(["urgent", "op-x"])),
    )
    flag = st.builds(lambda b: {"harm_floor": b}, st.booleans())
    return st.one_of(enum, number, listy, flag)


conditions = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=5,
)


def rule_list(section: str, then: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.tuples(conditions, then, st.integers(min_value=0, max_value=3)), min_size=1, max_size=5
    ).map(
        lambda rows: [
            {"name": f"{section}-{i}", "priority": p, "when": w, "then": t}
            for i, (w, t, p) in enumerate(rows)
        ]
    )


rulesets = st.tuples(
    rule_list("route", st.builds(lambda h: {"hub": h}, st.sampled_from(["NORTH", "SOUTH", "EAST", "WEST"]))),
    rule_list(
        "esc",
        st.builds(lambda lv: {"level": lv, "reason": "risk {risk} band {band}"}, st.sampled_from([1, 2])),
    ),
    rule_list("pol", st.builds(lambda d: {"review_days": d}, st.sampled_from([7, 14, 28]))),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rulesets, st.lists(facts_strategy, min_size=1, max_size=25))
def test_generated_rulesets_native_equals_durable(
    tmp_path: Path, spec: Any, batch: list[dict[str, Any]]
) -> None:
    routing, escalation, policy = spec
    levels = [
        {"level": 1, "name": "one", "handler": "hub_supervisor"},
        {"level": 2, "name": "two", "handler": "tasking_chair"},
    ]
    path = write_ruleset(
        tmp_path,
        routing=json.dumps({"routing": routing, "default_route": {"hub": "CENTRE"}}),
        escalation=json.dumps({"escalation_levels": levels, "escalation": escalation}),
        policy=(Path(__file__).resolve().parents[2] / "rules" / "default" / "policy.yaml")
        .read_text()
        .split("policy:\n")[0]
        + "policy: "
        + json.dumps(policy),
    )
    ruleset = load_ruleset(path)
    native, durable = compile_rules(ruleset, "native"), compile_rules(ruleset, "durable")
    expected = [native.evaluate(f) for f in batch]
    assert durable.evaluate_many(batch, cache=False) == expected
    assert durable.evaluate_many(batch) == expected
