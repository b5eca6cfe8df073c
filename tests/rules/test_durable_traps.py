"""Each durable_rules trap of LIBRARY-NOTES.md, shown to be handled."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import rules.engine as engine_module
from rules import BackendUnavailable, FactError, RuleEngineError, compile_rules
from rules.compiler import to_ir
from tests.rules.factories import (
    DURABLE,
    compiled,
    default_ruleset,
    story1_facts,
    story2_facts,
    story8_candidate,
    write_ruleset,
)

pytestmark = pytest.mark.skipif(not DURABLE, reason="durable_rules cannot be imported on this Python")


def matcher_of(rules: Any) -> Any:
    return rules._matcher


def test_text_is_never_compared_with_numbers() -> None:
    rules = compiled("durable")
    very_high = next(r["id"] for r in rules.ir["rules"] if r["name"] == "very-high-risk")
    # The trap itself: durable_rules, given the raw fact, compares "high" with 90 as text and matches.
    (raw,) = matcher_of(rules).match([{"risk": "high", "unit": "NA"}])
    assert very_high in raw
    # Through our interface the fact is typed first and refused with a clear error.
    with pytest.raises(FactError) as raised:
        rules.evaluate({"unit": "NA", "risk": "high"})
    assert raised.value.problems == (("risk", 'expected a number, got "high"'),)
    with pytest.raises(FactError):
        rules.evaluate({"unit": "NA", "risk": "95"})
    with pytest.raises(FactError):
        rules.evaluate({"unit": "NA", "harm_floor": "true"})


def test_five_thousand_evaluations_never_leak_sessions() -> None:
    rules = compiled("durable")
    facts = [story1_facts(), story2_facts(), {"unit": "SW", "band": "P4", "risk": 3.3}]
    expected = [compiled("native").evaluate(f) for f in facts]
    # 1,024 live sessions is the ceiling: one fixed session id, deleted after every batch.
    for i in range(5000):
        assert rules.evaluate(facts[i % 3]) == expected[i % 3]
    m = matcher_of(rules)
    native_engine = pytest.importorskip("durable_rules_engine")
    with pytest.raises(native_engine.error):  # no session is left alive between evaluations
        m._host.get_state(m.ruleset_name, "0")


def test_or_double_fire_appears_once_in_the_trace(tmp_path: Path) -> None:
    path = write_ruleset(
        tmp_path,
        escalation="""escalation_levels:
  - {level: 1, name: hub supervisor, handler: hub_supervisor}
escalation:
  - name: drugs-or-gangs
    when:
      any:
        - themes: drugs
        - themes: gangs
    then: {level: 1, reason: drugs or gangs}
""",
    )
    rules = compile_rules(__import__("rules").load_ruleset(path), "durable")
    m = matcher_of(rules)
    rule_id = next(r["id"] for r in rules.ir["rules"] if r["name"] == "drugs-or-gangs")
    # The trap: a fact matching both branches of the $or runs the action twice.
    m._host.assert_facts(m.ruleset_name, [{"sid": "0", "_i": 0, "themes": ["drugs", "gangs"]}])
    assert [entry for entry in m._sink if entry[0] == rule_id] == [(rule_id, 0), (rule_id, 0)]
    m._host.delete_state(m.ruleset_name, "0")
    m._sink.clear()
    d = rules.evaluate({"themes": ["drugs", "gangs"]})
    assert [f.rule for f in d.trace if f.section == "escalation"] == ["drugs-or-gangs"]
    assert d.escalation is not None and d.escalation.reasons == ("drugs or gangs",)


def test_facts_not_events_every_matching_rule_is_seen() -> None:
    # As events only the first matching rule would fire; escalation needs all of them.
    d = compiled("durable").evaluate(
        {"unit": "NA", "band": "P1", "risk": 95.0, "org_grade": "D", "confidence": "low", "harm_floor": True}
    )
    assert d.escalation is not None
    assert d.escalation.rules == (
        "weak-position-on-high-band",
        "low-confidence-high-band",
        "harm-floor-applied",
        "very-high-risk",
    )


def test_unhandled_message_never_leaks_the_payload(caplog: pytest.LogCaptureFixture) -> None:
    from rules.engine_durable import DurableMatcher

    m = DurableMatcher(to_ir(default_ruleset()), catch_all=False)
    secret = {"unit": "NA", "tags": ["operation-nightjar"]}
    matched_nothing = {"tags": ["operation-nightjar"], "stage": "closed"}
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RuleEngineError) as raised:
        m.match([matched_nothing])
    assert "nightjar" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "nightjar" not in caplog.text
    assert m.match([secret])  # the session was reset: the next batch works


def test_exception_inside_an_action_does_not_stick(monkeypatch: pytest.MonkeyPatch) -> None:
    from durable import engine

    rules = compile_rules(default_ruleset(), "durable")
    m = matcher_of(rules)
    route = next(r["id"] for r in rules.ir["rules"] if r["name"] == "east-bcus")
    actions = m._host.get_ruleset(m.ruleset_name)._actions

    def failing(c: Any) -> None:
        raise RuntimeError("boom")

    # durable_rules does not raise an action's exception: it parks it in the session state.
    monkeypatch.setitem(actions, f"r{route}", engine.Promise(failing))
    with pytest.raises(RuleEngineError, match="a rule action failed"):
        rules.evaluate(story1_facts())
    monkeypatch.undo()
    assert rules.evaluate(story1_facts()) == compiled("native").evaluate(story1_facts())


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_recompiling_versions_reuses_them_and_memory_stays_flat(tmp_path: Path) -> None:
    a = default_ruleset()
    b = story8_candidate(tmp_path)
    assert a.version != b.version
    first = {a.version: compile_rules(a, "durable"), b.version: compile_rules(b, "durable")}
    for i in range(50):  # warm up allocator pools
        compile_rules((a, b)[i % 2], "durable").evaluate(story1_facts())
    before = rss_bytes()
    for i in range(1000):  # publish / preview alternating versions
        ruleset = (a, b)[i % 2]
        rules = compile_rules(ruleset, "durable")
        assert rules is first[ruleset.version]  # compiled once per process
        rules.evaluate(story1_facts())
    assert rss_bytes() - before < 4 * 1024 * 1024  # a new durable ruleset per compile would leak far more


def test_cache_is_bounded(tmp_path: Path) -> None:
    for i in range(engine_module.CACHE_SIZE + 3):
        path = write_ruleset(
            tmp_path / str(i), routing=f"default_route: {{hub: CENTRE}}\n# {i}\nrouting: []\n"
        )
        compile_rules(__import__("rules").load_ruleset(path), "native")
    assert len(engine_module._cache) <= engine_module.CACHE_SIZE


def test_threads_get_the_same_decisions_as_serial() -> None:
    rules = compiled("durable")
    cases = [
        story1_facts(),
        story2_facts(),
        {"unit": "SCO-INT", "band": "P2", "confidence": "low"},
        {"unit": "AS", "themes": ["knife_crime"], "band": "P3", "risk": 40.0},
    ]
    serial = rules.evaluate_many(cases * 25, cache=False)
    failures: list[str] = []

    def work() -> None:
        for _ in range(20):  # 20 batches x 100 = 2,000 evaluations per thread
            if rules.evaluate_many(cases * 25, cache=False) != serial:
                failures.append("different decisions")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_fallback_when_durable_cannot_import(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import rules.engine_durable as durable_module

    def broken() -> Any:
        raise BackendUnavailable("durable_rules cannot be imported here (ImportError: undefined symbol)")

    monkeypatch.setattr(durable_module, "import_durable", broken)
    monkeypatch.setattr(engine_module, "_warned", False)
    monkeypatch.setattr(engine_module, "_cache", engine_module.OrderedDict())
    caplog.set_level(logging.WARNING, logger="rules")
    rules = compile_rules(default_ruleset())
    assert rules.backend == "native"
    assert "using the native backend" in rules.note and "native backend" in caplog.text
    with pytest.raises(BackendUnavailable):
        compile_rules(
            default_ruleset().__class__(**{**default_ruleset().__dict__, "version": "rs-other"}), "durable"
        )
    with pytest.raises(ValueError, match="unknown rules backend"):
        compile_rules(default_ruleset(), "drools")


def test_absence_only_condition_does_not_loop_on_session_state(tmp_path: Path) -> None:
    # Found by the property test: "no band yet" alone matched durable's own state message, and every
    # action's state update fired it again. Each rule now also requires the posted case's index.
    path = write_ruleset(
        tmp_path,
        routing="""routing:
  - name: unscored-to-north
    when:
      band: {exists: false}
    then: {hub: NORTH}
default_route: {hub: CENTRE}
""",
    )
    rules = compile_rules(__import__("rules").load_ruleset(path), "durable")
    assert rules.evaluate({"unit": "NE"}).route.hub == "NORTH"
    assert rules.evaluate({"unit": "NE", "band": "P2"}).route.hub == "CENTRE"


def test_a_runaway_evaluation_is_stopped_not_hung(monkeypatch: pytest.MonkeyPatch) -> None:
    """durable_rules can re-fire a rule on its own session-state output forever (a rule made only of
    absences, without our case-index guard, does). Such a loop must end in an error, never a hang, and
    leave the engine usable."""
    import rules.engine_durable as durable_backend

    monkeypatch.setattr(
        durable_backend,
        "durable_ruleset",
        lambda ir: {"r0": {"all": [{"m": {"$nex": {"band": 1}}}], "run": "r0"}},
    )
    looping = durable_backend.DurableMatcher({"rules": [{"id": 0, "when": {"all": []}}], "version": "loop"})
    for _ in range(2):  # and again: the matcher does not wedge
        with pytest.raises(
            RuleEngineError, match=r"durable_rules kept firing r0: runaway evaluation stopped"
        ):
            looping.match([{"unit": "NE"}])
    monkeypatch.undo()
    decisions = compile_rules(default_ruleset(), backend="durable").evaluate(story1_facts())
    assert decisions.route.hub == "EAST"
