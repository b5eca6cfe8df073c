"""The views derived from the trigger definitions: built once, rebuilt when the registry changes, and the
same lifecycle after the rebuild; the replay the audit uses; the diagram; system events in next_state."""

from __future__ import annotations

import pytest

from workflow import lifecycle, triggers
from workflow.lifecycle import LiveMap, LiveTuple, Transit, next_state, replay, scoring_trigger
from workflow.principals import Grant
from workflow.states import State
from workflow.triggers import Need, Page, TriggerSpec

STATES = {"submitted", "assessed", "prioritised", "tasked", "reviewed", "closed", "rejected", "withdrawn"}
# A test-only trigger with a destination, defined after every real one.
FAST_TRACK = TriggerSpec(
    name="fast_track",
    sources=(State.SUBMITTED,),
    dest=State.PRIORITISED,
    grants=(Grant("supervisor"),),
    page=Page("Fast-track", ("reason",)),
    needs=(Need("reason", "say why it skips assessment"),),
)


def moved(trigger: str, state: str, data: dict[str, object] | None = None) -> Transit:
    transit = Transit(
        state=state, case={"state": state, "awaiting_since": None, "hub": "EAST"}, data=data or {}
    )
    lifecycle.machine().events[trigger].trigger(transit)
    return transit


def test_the_machine_is_built_once_and_again_when_the_registry_changes() -> None:
    first = lifecycle.machine()
    assert lifecycle.machine() is first
    with triggers.registered(FAST_TRACK):
        inside = lifecycle.machine()
        assert inside is not first and lifecycle.machine() is inside
        # The rebuilt machine is the whole lifecycle: its states, its people's triggers and nothing else.
        assert set(inside.states) == STATES
        assert set(inside.events) == {*lifecycle.TRIGGERS} and "fast_track" in inside.events
        assert moved("prioritise", "assessed").state == "prioritised"
        assert moved("rescore", "tasked", {"assessment": {"x": 1}}).state == "tasked"  # internal
        refused = moved("fast_track", "submitted")
        assert (refused.state, [p.field for p in refused.problems]) == ("submitted", ["reason"])
        assert moved("fast_track", "submitted", {"reason": "a child at risk tonight"}).state == "prioritised"
        assert "    submitted --> prioritised: fast_track\n" in lifecycle.mermaid()
    after = lifecycle.machine()
    assert after is not inside and "fast_track" not in after.events


def test_live_views_follow_the_registry() -> None:
    names = LiveTuple(lambda: tuple(triggers.REGISTRY))
    fields = LiveMap(lambda: {s.name: s.fields for s in triggers.REGISTRY.values()})
    count = len(triggers.REGISTRY)
    assert (len(names), len(fields), names[0], "fast_track" in names) == (count, count, "submit", False)
    with triggers.registered(FAST_TRACK):
        assert (len(names), names[-1], list(names)[-1], "fast_track" in names) == (
            count + 1,
            "fast_track",
            "fast_track",
            True,
        )
        assert fields["fast_track"] == frozenset({"reason"}) and list(fields)[-1] == "fast_track"
        assert repr(names) == repr(tuple(triggers.REGISTRY))
        assert repr(fields) == repr({s.name: s.fields for s in triggers.REGISTRY.values()})
    assert len(names) == count and "fast_track" not in fields


def test_a_trigger_cannot_be_defined_twice() -> None:
    with (
        pytest.raises(ValueError, match="trigger 'assess' is already defined"),
        triggers.registered(triggers.REGISTRY["assess"]),
    ):
        pass
    assert triggers.spec("assess") is triggers.REGISTRY["assess"] and triggers.spec("explode") is None


def test_the_diagram_begins_and_ends_as_mermaid_reads_it() -> None:
    lines = lifecycle.mermaid().split("\n")
    assert lines[:2] == ["stateDiagram-v2", "    [*] --> submitted"]
    assert lines[-4:] == ["    closed --> [*]", "    rejected --> [*]", "    withdrawn --> [*]", ""]


@pytest.mark.parametrize(("state", "expected"), [("submitted", "assess"), ("assessed", "rescore")])
def test_a_score_assesses_a_submitted_case_and_rescores_the_rest(state: str, expected: str) -> None:
    assert scoring_trigger(state) == expected
    assert scoring_trigger("tasked") == "rescore"


def test_system_events_keep_an_open_case_where_it_is() -> None:
    assert next_state("tasked", "review_overdue") == "tasked"
    assert next_state("submitted", "rules_applied") == "submitted"
    assert next_state("closed", "sla_breached") is None
    assert next_state("withdrawn", "escalation_step") is None


def test_replay_folds_a_log_and_refuses_a_step_the_lifecycle_does_not_allow() -> None:
    steps = [
        ("assess", "assessed"),
        ("defer", "assessed"),
        ("sla_breached", "assessed"),
        ("prioritise", "prioritised"),
        ("task", "tasked"),
        ("review", "reviewed"),
        ("close", "closed"),
    ]
    assert replay(steps) == "closed"
    assert replay([]) == "submitted"
    with pytest.raises(ValueError, match=r"^prioritise from submitted cannot lead to prioritised$"):
        replay([("prioritise", "prioritised")])
    with pytest.raises(ValueError, match=r"^assess from submitted cannot lead to tasked$"):
        replay([("assess", "tasked")])
    with pytest.raises(ValueError, match=r"^close from closed cannot lead to closed$"):
        replay([*steps, ("close", "closed")])
