"""The compiled condition form, the compiler's intermediate form and the engine interface, literally."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rules import BACKENDS, compile_rules, load_ruleset
from rules.compiler import ALWAYS, DEFAULT_ROUTE, to_ir
from rules.conditions import compile_condition, leaves, reads, specificity
from rules.engine import CACHE_SIZE, _cache
from rules.engine_native import NativeMatcher
from tests.rules.factories import BACKEND_PARAMS, default_ruleset, story1_facts, story2_facts, write_ruleset


def leaf(fact: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"fact": fact, "op": op} if op == "exists" else {"fact": fact, "op": op, "value": value}


# (condition, facts, expected): absent facts make every comparison false; `exists` tests presence.
TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    (leaf("risk", "==", 50), {"risk": 50}, True),
    (leaf("risk", "==", 50), {"risk": 51}, False),
    (leaf("risk", "==", 50), {}, False),
    (leaf("band", "!=", "P1"), {"band": "P2"}, True),
    (leaf("band", "!=", "P1"), {"band": "P1"}, False),
    (leaf("band", "!=", "P1"), {}, False),
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
    (leaf("unit", "in", ["NA", "NE"]), {"unit": "NE"}, True),
    (leaf("unit", "in", ["NA", "NE"]), {"unit": "SW"}, False),
    (leaf("unit", "in", ["NA", "NE"]), {}, False),
    (leaf("themes", "contains", "drugs"), {"themes": ("drugs", "gangs")}, True),
    (leaf("themes", "contains", "drugs"), {"themes": ("gangs",)}, False),
    (leaf("themes", "contains", "drugs"), {}, False),
    (leaf("team", "exists"), {"team": "x"}, True),
    (leaf("team", "exists"), {}, False),
    ({"not": leaf("team", "exists")}, {}, True),
    ({"not": leaf("team", "exists")}, {"team": "x"}, False),
    ({"all": []}, {}, True),
    ({"all": [leaf("risk", ">", 1)]}, {"risk": 2}, True),
    ({"all": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 2, "band": "P1"}, True),
    ({"all": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 2, "band": "P2"}, False),
    ({"all": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 0, "band": "P1"}, False),
    (
        {"all": [leaf("risk", ">", 1), leaf("band", "==", "P1"), leaf("unit", "==", "NE")]},
        {"risk": 2, "band": "P1", "unit": "NE"},
        True,
    ),
    (
        {"all": [leaf("risk", ">", 1), leaf("band", "==", "P1"), leaf("unit", "==", "NE")]},
        {"risk": 2, "band": "P1", "unit": "NA"},
        False,
    ),
    ({"any": [leaf("risk", ">", 1)]}, {"risk": 0}, False),
    ({"any": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 0, "band": "P1"}, True),
    ({"any": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 5, "band": "P3"}, True),
    ({"any": [leaf("risk", ">", 1), leaf("band", "==", "P1")]}, {"risk": 0, "band": "P3"}, False),
]


@pytest.mark.parametrize(("cond", "facts", "expected"), TABLE)
def test_compiled_conditions(cond: dict[str, Any], facts: dict[str, Any], expected: bool) -> None:
    assert compile_condition(cond)(facts) is expected


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown operator '~'"):
        compile_condition(leaf("risk", "~", 1))


def test_leaves_reads_and_specificity() -> None:
    cond = {
        "all": [
            leaf("unit", "in", ["NE"]),
            {"any": [leaf("risk", ">", 50), {"not": leaf("team", "exists")}]},
            leaf("risk", "<", 90),
        ]
    }
    assert list(leaves(cond)) == [
        leaf("unit", "in", ["NE"]),
        leaf("risk", ">", 50),
        leaf("team", "exists"),
        leaf("risk", "<", 90),
    ]
    assert reads(cond) == ("risk", "team", "unit")
    assert specificity(cond) == 4
    assert (reads(ALWAYS), specificity(ALWAYS)) == ((), 0)


ROUTING = """routing:
  - name: east
    when: {unit: [EA, NE]}
    then: {hub: EAST}
  - name: north-drugs
    priority: 5
    when:
      unit: NA
      themes: drugs
    then: {hub: NORTH, team: surveillance}
default_route: {hub: CENTRE}
"""
ESCALATION = """escalation_levels:
  - {level: 1, name: hub supervisor, handler: hub_supervisor}
  - {level: 2, name: tasking chair, handler: tasking_chair}
escalation:
  - name: high
    when: {risk: {">=": 75}}
    then: {level: 2, reason: "risk {risk}"}
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_ruleset(
        write_ruleset(tmp_path_factory.mktemp("small"), routing=ROUTING, escalation=ESCALATION)
    )


def test_the_intermediate_form(small: Any) -> None:
    ir = to_ir(small)
    assert ir["version"] == small.version
    routing = [r for r in ir["rules"] if r["section"] == "routing"]
    assert routing == [
        {
            "id": 0,
            "section": "routing",
            "name": "north-drugs",  # priority 5 ranks first
            "rank": 0,
            "priority": 5,
            "specificity": 2,
            "reads": ["themes", "unit"],
            "when": {"all": [leaf("unit", "==", "NA"), leaf("themes", "contains", "drugs")]},
            "then": {"hub": "NORTH", "team": "surveillance"},
        },
        {
            "id": 1,
            "section": "routing",
            "name": "east",
            "rank": 1,
            "priority": 0,
            "specificity": 1,
            "reads": ["unit"],
            "when": leaf("unit", "in", ["EA", "NE"]),
            "then": {"hub": "EAST", "team": None},
        },
        {
            "id": 2,
            "section": "routing",
            "name": DEFAULT_ROUTE,
            "rank": 2,
            "priority": None,
            "specificity": 0,
            "reads": [],
            "when": {"all": []},
            "then": {"hub": "CENTRE", "team": None},
        },
    ]
    escalation = [r for r in ir["rules"] if r["section"] == "escalation"]
    assert escalation == [
        {
            "id": 3,
            "section": "escalation",
            "name": "high",
            "rank": 0,
            "priority": 0,
            "specificity": 1,
            "reads": ["risk"],
            "when": leaf("risk", ">=", 75),
            "then": {"level": 2, "reason": "risk {risk}", "handler": None},
        }
    ]
    policy = [r for r in ir["rules"] if r["section"] == "policy"]
    assert [r["id"] for r in policy] == list(range(4, 4 + len(policy)))
    assert [r["rank"] for r in policy] == list(range(len(policy)))
    assert ir["escalation_levels"] == [
        {"level": 1, "name": "hub supervisor", "handler": "hub_supervisor"},
        {"level": 2, "name": "tasking chair", "handler": "tasking_chair"},
    ]
    assert ir["policy_defaults"]["review_days"] == 90
    assert ir["policy_defaults"]["sla.submitted"] == {"working_days": 5}
    assert ir["vocabularies"]["hubs"] == ["NORTH", "SOUTH", "EAST", "WEST", "CENTRE"]
    assert ir["unit_kinds"]["NE"] == "bcu"


def test_native_routing_takes_the_first_match_and_every_other_match(small: Any) -> None:
    ir = to_ir(small)
    matcher = NativeMatcher(ir)
    both = {"unit": "NA", "themes": ("drugs",), "risk": 80}
    assert matcher.match_one(both) == {0, 3}  # north-drugs, not the default route too; and 'high'
    assert matcher.match([{"unit": "NE", "themes": (), "risk": 10}, {"unit": "SW", "themes": ()}]) == [
        {1},
        {2},
    ]
    assert (matcher.name, matcher.cacheable) == ("native", False)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_decisions_of_the_small_ruleset(small: Any, backend: str) -> None:
    rules = compile_rules(small, backend)
    assert (rules.version, rules.backend, rules.note) == (small.version, backend, "")
    assert repr(rules) == f"CompiledRules(version={small.version!r}, backend={backend!r})"
    base = {"target_type": "ocg", "marking": "OFFICIAL", "tags": [], "stage": "assessed", "capabilities": []}
    d = rules.evaluate({**base, "unit": "NA", "themes": ["drugs"], "risk": 80, "band": "P1"})
    assert (d.route.hub, d.route.team, d.route.rule) == ("NORTH", "surveillance", "north-drugs")
    assert d.escalation is not None and (d.escalation.level, d.escalation.rules) == (2, ("high",))
    assert (d.escalation.handler, d.escalation.reasons) == ("tasking_chair", ("risk 80",))
    east = rules.evaluate({**base, "unit": "EA", "themes": [], "risk": 74.9, "band": "P2"})
    assert (east.route.hub, east.route.rule, east.escalation) == ("EAST", "east", None)
    centre = rules.evaluate({**base, "unit": "SW", "themes": ["drugs"]})
    assert (centre.route.hub, centre.route.rule) == ("CENTRE", DEFAULT_ROUTE)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_a_batch_decides_each_case_as_alone(backend: str) -> None:
    rules = compile_rules(default_ruleset(), backend)
    cases = [story1_facts(), story2_facts(), {**story2_facts(), "unit": "SW"}, story1_facts()]
    alone = [rules.evaluate(f).as_dict() for f in cases]
    assert [d.as_dict() for d in rules.evaluate_many(cases)] == alone
    assert [d.as_dict() for d in rules.evaluate_many(cases, cache=False)] == alone
    bare = rules.evaluate_many(cases, trace=False)
    assert [d.route.hub for d in bare] == [d["route"]["hub"] for d in alone]
    assert all(not d.trace for d in bare)
    assert [d.route.hub for d in rules.evaluate_many([])] == []


def test_compiled_rulesets_are_cached_per_version_and_backend(small: Any) -> None:
    first = compile_rules(small, "native")
    assert compile_rules(small, "native") is first
    assert _cache[(small.version, "native")] is first
    assert len(_cache) <= CACHE_SIZE == 16
    with pytest.raises(ValueError, match=r"unknown rules backend 'zen' \(choose from durable, native\)"):
        compile_rules(small, "zen")
    assert BACKENDS == ("durable", "native")


def test_the_cache_forgets_the_least_recently_used(tmp_path: Path) -> None:
    versions = []
    for i in range(CACHE_SIZE + 1):
        routing = (
            f"routing:\n  - name: r{i}\n    when: {{unit: NE}}\n    then: {{hub: EAST}}\n"
            "default_route: {hub: CENTRE}\n"
        )
        versions.append(load_ruleset(write_ruleset(tmp_path / str(i), routing=routing)))
    oldest = compile_rules(versions[0], "native")
    for rs in versions[1:CACHE_SIZE]:
        compile_rules(rs, "native")
    assert compile_rules(versions[0], "native") is oldest  # used again: now the most recent
    compile_rules(versions[CACHE_SIZE], "native")  # one too many: the least recently used goes
    assert (versions[1].version, "native") not in _cache
    assert (versions[0].version, "native") in _cache
    assert len(_cache) == CACHE_SIZE
