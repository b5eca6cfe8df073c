"""The engine interface around a backend, literally: which backend ``compile_rules`` picks when none is
named (and the one warning when it has to fall back), what a batch asks its backend (once per class of
cases with ``cache``, every case without it), and that a backend answering the wrong number of cases is
an error rather than a shorter list of decisions."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rules import BackendUnavailable, FactError, engine_durable, load_ruleset
from rules import engine as engine_module
from rules.compiler import to_ir
from rules.engine import CompiledRules, compile_rules, durable_available
from rules.engine_native import NativeMatcher
from rules.model import Ruleset
from tests.rules.factories import DURABLE, write_ruleset

FALLBACK_NOTE = "durable_rules cannot be imported on this Python; using the native backend"

ROUTING = """routing:
  - name: east
    when: {unit: [EA, NE]}
    then: {hub: EAST}
default_route: {hub: CENTRE}
"""
ESCALATION = """escalation_levels:
  - {level: 1, name: hub supervisor, handler: hub_supervisor}
escalation:
  - name: high
    when: {risk: {">=": 75}}
    then: {level: 1, reason: "risk {risk}"}
"""
# The defaults only: no policy rule, so no policy fact splits a batch.
POLICY = """policy_defaults:
  sla:
    submitted: {working_days: 5}
    assessed: {working_days: 20}
    prioritised: {working_days: 30}
  review_days: 90
  on_scoring: {action: record, forum: none required}
  reminders: [{days: 3}]
  ladder:
    - {step: remind_owner, after: {days: 0}, notify: owner}
  snooze_limit: {times: 2, longest: {days: 7}}
"""


def small_ruleset(tmp: Path, hub: str = "EAST") -> Ruleset:
    return load_ruleset(
        write_ruleset(tmp, routing=ROUTING.replace("EAST", hub), escalation=ESCALATION, policy=POLICY)
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    return small_ruleset(tmp_path_factory.mktemp("small"))


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> OrderedDict[tuple[str, str], CompiledRules]:
    """A cache of compiled rulesets of this test's own (the module's is left as it was)."""
    fresh: OrderedDict[tuple[str, str], CompiledRules] = OrderedDict()
    monkeypatch.setattr(engine_module, "_cache", fresh)
    return fresh


class Recording:
    """A backend that answers as the native one does and records every batch it is asked."""

    name = "native"

    def __init__(self, ir: dict[str, Any], cacheable: bool, drop_last: bool = False) -> None:
        self.cacheable = cacheable
        self._native = NativeMatcher(ir)
        self._drop_last = drop_last
        self.batches: list[list[dict[str, Any]]] = []

    def match(self, batch: Sequence[dict[str, Any]]) -> list[set[int]]:
        self.batches.append(list(batch))
        answers = self._native.match(batch)
        return answers[:-1] if self._drop_last else answers


def recorded(ruleset: Ruleset, cacheable: bool, drop_last: bool = False) -> tuple[CompiledRules, Recording]:
    ir = to_ir(ruleset)
    matcher = Recording(ir, cacheable, drop_last)
    return CompiledRules(ruleset, matcher, ir), matcher


# Five cases, three classes no rule of the small ruleset can tell apart: {A, B} (NE, risk under 75),
# {C} (NE, risk 75 or more), {D, E} (a unit no rule names, risk under 75).
BASE = {"target_type": "ocg", "marking": "OFFICIAL", "tags": [], "stage": "assessed"}
CASES = [
    {**BASE, "unit": "NE", "risk": 10},  # A
    {**BASE, "unit": "NE", "risk": 20},  # B
    {**BASE, "unit": "NE", "risk": 80},  # C
    {**BASE, "unit": "SW", "risk": 5},  # D
    {**BASE, "unit": "NW", "risk": 30},  # E
]


def asked(matcher: Recording) -> list[list[tuple[str, float]]]:
    return [[(case["unit"], case["risk"]) for case in batch] for batch in matcher.batches]


def test_a_cacheable_backend_is_asked_once_per_class_of_cases(small: Ruleset) -> None:
    rules, matcher = recorded(small, cacheable=True)
    decisions = rules.evaluate_many(CASES)  # cache is the default
    assert len(matcher.batches) == 1
    assert sorted(asked(matcher)[0]) == [("NE", 10), ("NE", 80), ("SW", 5)]  # the first of each class
    # ... and still every case gets its own decision, its trace and reasons showing its own values.
    assert [(d.route.hub, d.route.rule) for d in decisions] == [
        ("EAST", "east"),
        ("EAST", "east"),
        ("EAST", "east"),
        ("CENTRE", "default_route"),
        ("CENTRE", "default_route"),
    ]
    assert [d.escalation.reasons if d.escalation else None for d in decisions] == [
        None,
        None,
        ("risk 80",),
        None,
        None,
    ]
    assert [d.trace[0].matched for d in decisions] == [
        (("unit", "NE"),),
        (("unit", "NE"),),
        (("unit", "NE"),),
        (),
        (),
    ]


def test_without_cache_a_cacheable_backend_is_asked_every_case(small: Ruleset) -> None:
    rules, matcher = recorded(small, cacheable=True)
    decisions = rules.evaluate_many(CASES, cache=False)
    assert asked(matcher) == [[("NE", 10), ("NE", 20), ("NE", 80), ("SW", 5), ("NW", 30)]]
    assert [d.route.hub for d in decisions] == ["EAST", "EAST", "EAST", "CENTRE", "CENTRE"]


def test_a_backend_that_is_not_cacheable_is_asked_every_case(small: Ruleset) -> None:
    rules, matcher = recorded(small, cacheable=False)
    decisions = rules.evaluate_many(CASES)  # cache asked for, but the backend says it is not worth it
    assert asked(matcher) == [[("NE", 10), ("NE", 20), ("NE", 80), ("SW", 5), ("NW", 30)]]
    assert [d.route.hub for d in decisions] == ["EAST", "EAST", "EAST", "CENTRE", "CENTRE"]


@pytest.mark.parametrize("cacheable", [False, True])
def test_a_backend_answering_fewer_cases_than_asked_is_an_error(small: Ruleset, cacheable: bool) -> None:
    rules, _ = recorded(small, cacheable=cacheable, drop_last=True)
    with pytest.raises(ValueError) as raised:  # never a shorter list of decisions than cases
        rules.evaluate_many(CASES)
    assert not isinstance(raised.value, FactError)  # the facts are fine: the backend's answer is not


def test_a_compiled_ruleset_has_no_note_unless_given_one(small: Ruleset) -> None:
    ir = to_ir(small)
    assert CompiledRules(small, NativeMatcher(ir), ir).note == ""
    assert CompiledRules(small, NativeMatcher(ir), ir, "why").note == "why"


@pytest.mark.skipif(not DURABLE, reason="durable_rules cannot be imported on this Python")
def test_no_backend_named_means_durable_when_it_imports(
    small: Ruleset, empty_cache: OrderedDict[tuple[str, str], CompiledRules], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rules"):
        rules = compile_rules(small)
    assert (rules.backend, rules.note) == ("durable", "")
    assert list(empty_cache) == [(small.version, "durable")]
    assert compile_rules(small, "durable") is rules
    assert caplog.records == []


def test_no_backend_named_falls_back_to_native_and_warns_once(
    tmp_path: Path,
    small: Ruleset,
    empty_cache: OrderedDict[tuple[str, str], CompiledRules],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(engine_module, "durable_available", lambda: False)
    monkeypatch.setattr(engine_module, "_warned", False)
    other = small_ruleset(tmp_path, hub="WEST")
    assert other.version != small.version
    with caplog.at_level(logging.WARNING, logger="rules"):
        first = compile_rules(small)
        again = compile_rules(small)
        second = compile_rules(other)
    assert (first.backend, first.note) == ("native", FALLBACK_NOTE)
    assert (second.backend, second.note) == ("native", FALLBACK_NOTE)
    assert again is first
    assert list(empty_cache) == [(small.version, "native"), (other.version, "native")]
    warnings = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert warnings == [("rules", logging.WARNING, FALLBACK_NOTE)]  # once, not once per ruleset


def test_durable_is_available_exactly_when_it_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_durable, "import_durable", lambda: (object(), object()))
    assert durable_available() is True

    def refuse() -> tuple[Any, Any]:
        raise BackendUnavailable("durable_rules cannot be imported here (ImportError: no)")

    monkeypatch.setattr(engine_durable, "import_durable", refuse)
    assert durable_available() is False
