"""Every legal transition, every illegal one, and every guard, through the real service on real databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from tests.factories import DEFAULT_DATA, PREPARE, case_in, submit, unchecked
from workflow import queries, service, triggers
from workflow.errors import GuardFailed, IllegalTransition, InvalidInput, NotFound, StaleVersion
from workflow.lifecycle import TRANSITIONS, TRIGGERS, State, legal_triggers, mermaid, next_state

# The lifecycle as the centre runs it (DESIGN §2, README), written out here rather than read from the
# definitions under test: (state, trigger, where it leads). Internal transitions lead where they start.
LEGAL = [
    ("submitted", "assess", "assessed"),
    ("submitted", "reject", "rejected"),
    ("submitted", "withdraw", "withdrawn"),
    ("submitted", "await_information", "submitted"),
    ("submitted", "information_received", "submitted"),
    ("assessed", "prioritise", "prioritised"),
    ("assessed", "reject", "rejected"),
    ("assessed", "withdraw", "withdrawn"),
    ("assessed", "rescore", "assessed"),
    ("assessed", "await_information", "assessed"),
    ("assessed", "defer", "assessed"),
    ("assessed", "information_received", "assessed"),
    ("prioritised", "task", "tasked"),
    ("prioritised", "withdraw", "withdrawn"),
    ("prioritised", "rescore", "prioritised"),
    ("prioritised", "await_information", "prioritised"),
    ("prioritised", "defer", "prioritised"),
    ("prioritised", "information_received", "prioritised"),
    ("tasked", "review", "reviewed"),
    ("tasked", "reassess", "assessed"),
    ("tasked", "rescore", "tasked"),
    ("tasked", "transfer", "tasked"),
    ("reviewed", "continue", "tasked"),
    ("reviewed", "reassess", "assessed"),
    ("reviewed", "close", "closed"),
    ("reviewed", "rescore", "reviewed"),
    # Retention review of ended cases (issue 14): internal, by the records officer.
    *(
        (ended, decision, ended)
        for ended in ("closed", "rejected", "withdrawn")
        for decision in ("retain", "dispose")
    ),
    ("reviewed", "transfer", "reviewed"),
]
STATES = ("submitted", "assessed", "prioritised", "tasked", "reviewed", "closed", "rejected", "withdrawn")
# Case log notes and attachments (issue 14) are recorded in every state, closed cases included. An
# attachment needs a stored file first, so its firings are tested in tests/workflow/test_notes.py.
LEGAL += [(s, "note", s) for s in STATES]
DEFINED = [*LEGAL, *((s, "attach", s) for s in STATES)]
PEOPLES_TRIGGERS = (
    "assess",
    "prioritise",
    "task",
    "review",
    "continue",
    "reassess",
    "close",
    "reject",
    "withdraw",
    "rescore",
    "await_information",
    "defer",
    "information_received",
    "note",
    "attach",
    "retain",
    "dispose",
    "transfer",
)
# Deconfliction (issue 13): deciding a candidate link leaves a case where it is, open or closed. They are
# fired only with a link deconfliction raised, so tests/workflow/test_deconfliction.py fires them.
LINK_DECISIONS = [
    (s, t, s)
    for s in ("submitted", "assessed", "prioritised", "tasked", "reviewed", "closed")
    for t in ("confirm_link", "dismiss_link")
]
DEFINED += LINK_DECISIONS
ILLEGAL = [(s, t) for s in STATES for t in PEOPLES_TRIGGERS if (s, t) not in {(a, b) for a, b, _ in DEFINED}]


def test_the_definitions_hold_exactly_the_expected_lifecycle() -> None:
    defined = {(src.value, t, (dest or src).value) for t, sources, dest in TRANSITIONS for src in sources}
    assert defined == set(DEFINED)
    assert set(TRIGGERS) == set(PEOPLES_TRIGGERS) | {t for _s, t, _d in LINK_DECISIONS}
    assert {s.value for s in State} == set(STATES)
    for state in STATES:
        assert set(legal_triggers(state)) == {t for s, t, _ in DEFINED if s == state}
        for trigger in PEOPLES_TRIGGERS:
            expected = next((d for s, t, d in DEFINED if (s, t) == (state, trigger)), None)
            assert next_state(state, trigger) == expected


def test_submit_gives_reference_route_and_first_event(session: Session) -> None:
    done = submit(session)
    case = queries.get_case(session, case_id=done.case_id)
    assert case.reference == f"SCT-{case.created_at.year}-{case.id:06d}"
    assert case.state == "submitted" and case.version == 1
    assert case.hub == "EAST"  # North East BCU routes to the East hub (story 1)
    events = queries.history(session, case_id=done.case_id)
    assert [(e.seq, e.trigger, e.from_state, e.to_state, e.actor) for e in events] == [
        (1, "submit", None, "submitted", "ds.ne")
    ]
    assert events[0].payload["decisions"]["route"]["hub"] == "EAST"


@pytest.mark.parametrize(("source", "trigger", "dest"), LEGAL, ids=[f"{s}-{t}" for s, t, _ in LEGAL])
def test_every_legal_transition(session: Session, source: str, trigger: str, dest: str) -> None:
    before = case_in(session, source)
    for step in PREPARE.get(trigger, []):
        before = service.fire(
            session, case_id=before.case_id, trigger=step, by=unchecked("analyst1"), data=DEFAULT_DATA[step]
        )
    done = service.fire(
        session, case_id=before.case_id, trigger=trigger, by=unchecked("analyst1"), data=DEFAULT_DATA[trigger]
    )
    case = queries.get_case(session, case_id=before.case_id)
    assert (done.from_state, done.to_state, case.state) == (source, dest, dest)
    assert case.version == before.version + 1
    last = queries.history(session, case_id=before.case_id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.seq) == (
        trigger,
        source,
        dest,
        before.event_seq + 1,
    )


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL, ids=[f"{s}-{t}" for s, t in ILLEGAL])
def test_every_illegal_transition_names_the_legal_ones(session: Session, state: str, trigger: str) -> None:
    before = case_in(session, state)
    with pytest.raises(IllegalTransition) as err:
        service.fire(
            session,
            case_id=before.case_id,
            trigger=trigger,
            by=unchecked("analyst1"),
            data=DEFAULT_DATA[trigger],
        )
    legal = legal_triggers(state)
    expected = ", ".join(legal) if legal else "none (the case is finished)"
    assert str(err.value) == f"cannot {trigger} a case that is {state}; legal from {state}: {expected}"
    case = queries.get_case(session, case_id=before.case_id)
    assert (case.state, case.version) == (state, before.version)  # nothing written


def test_unknown_trigger_is_illegal(session: Session) -> None:
    done = submit(session)
    with pytest.raises(
        IllegalTransition, match="cannot explode a case that is submitted; legal from submitted: "
    ):
        service.fire(session, case_id=done.case_id, trigger="explode", by=unchecked("analyst1"))


@pytest.mark.parametrize(
    ("state", "trigger", "field", "message"),
    [
        ("submitted", "assess", "assessment", "a complete MoRiLE assessment is required to assess a case"),
        ("prioritised", "task", "owner", "an owner is required to task a case"),
        ("tasked", "review", "progress", "a review records the progress made"),
        ("reviewed", "close", "outcome", "an outcome is required to close a case"),
        ("submitted", "reject", "reason", "a reason is required to reject a request"),
        ("assessed", "withdraw", "reason", "a reason is required to withdraw a request"),
        ("tasked", "reassess", "reason", "say what new intelligence or change calls for reassessment"),
        ("assessed", "defer", "reason", "say why the meeting deferred it"),
        ("assessed", "rescore", "assessment", "a complete MoRiLE assessment is required to re-score a case"),
        ("submitted", "await_information", "reason", "say what the centre is waiting for from the requester"),
        ("assessed", "information_received", "state", "the case is not awaiting information"),
    ],
)
def test_guards_say_what_is_missing(
    session: Session, state: str, trigger: str, field: str, message: str
) -> None:
    before = case_in(session, state)
    with pytest.raises(GuardFailed) as err:
        service.fire(session, case_id=before.case_id, trigger=trigger, by=unchecked("analyst1"), data={})
    assert [p.field for p in err.value.problems] == [field]
    assert err.value.problems[0].message.startswith(message)
    assert queries.get_case(session, case_id=before.case_id).version == before.version


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_a_blank_reason_is_no_reason(session: Session, blank: str) -> None:
    before = case_in(session, "submitted")
    with pytest.raises(GuardFailed) as err:
        service.fire(
            session,
            case_id=before.case_id,
            trigger="reject",
            by=unchecked("analyst1"),
            data={"reason": blank},
        )
    assert [p.field for p in err.value.problems] == ["reason"]


def test_asking_twice_for_information_is_refused_until_it_arrives(session: Session) -> None:
    before = case_in(session, "submitted")
    asked = service.fire(
        session,
        case_id=before.case_id,
        trigger="await_information",
        by=unchecked("analyst1"),
        data={"reason": "source grading"},
    )
    with pytest.raises(GuardFailed) as err:
        service.fire(
            session,
            case_id=before.case_id,
            trigger="await_information",
            by=unchecked("analyst1"),
            data={"reason": "again"},
        )
    assert [p.field for p in err.value.problems] == ["state"]
    assert err.value.problems[0].message.startswith("already awaiting information since ")
    assert asked.case.awaiting_reason == "source grading"


def test_task_needs_a_hub_from_the_rules_or_the_tasking_decision() -> None:
    task = triggers.spec("task")
    assert task is not None
    assert [str(p) for p in task.problems({"hub": None}, {"owner": "owner.east"})] == [
        "hub: a hub is required to task a case (the rules routed it nowhere)"
    ]
    assert task.problems({"hub": None}, {"owner": "owner.east", "hub": "EAST"}) == []
    assert task.problems({"hub": "EAST"}, {"owner": "owner.east"}) == []


@pytest.mark.parametrize("trigger", ["task", "transfer"])
def test_an_override_of_capacity_needs_a_reason(trigger: str) -> None:
    spec = triggers.spec(trigger)
    assert spec is not None
    case = {"hub": "EAST"}
    placing = {"owner": "owner.east", "hub": "NORTH"}
    overriding = {**placing, "override": True}
    assert "reason: an override of the hub's capacity needs a reason" in [
        str(p) for p in spec.problems(case, overriding)
    ]
    reasons = [str(p) for p in spec.problems(case, {**overriding, "reason": "Life at risk."})]
    assert not any("override" in r for r in reasons)
    assert not any("override" in str(p) for p in spec.problems(case, placing))


@pytest.mark.parametrize("trigger", ["retain", "dispose"])
def test_a_disposed_case_is_offered_no_retention_decision(trigger: str) -> None:
    spec = triggers.spec(trigger)
    assert spec is not None
    disposed = {"state": "closed", "disposed_at": datetime(2029, 4, 1, 10, 0, tzinfo=UTC)}
    data = {"reason": "Past review", "next_review": "2031-01-15"}
    assert [str(p) for p in spec.problems(disposed, data)] == [
        "state: already disposed of on Sun 1 Apr 2029, 11:00 BST"
    ]
    assert spec.problems({**disposed, "disposed_at": None}, data) == []


def test_task_needs_a_real_active_owner_and_hub(session: Session) -> None:
    before = case_in(session, "prioritised")
    with pytest.raises(InvalidInput) as err:
        service.fire(
            session,
            case_id=before.case_id,
            trigger="task",
            by=unchecked("chair"),
            data={"owner": "gone", "hub": "MOON"},
        )
    assert [str(p) for p in err.value.problems] == [
        "hub: unknown or inactive hub 'MOON'",
        "owner: unknown or inactive user 'gone'",
    ]
    done = service.fire(
        session,
        case_id=before.case_id,
        trigger="task",
        by=unchecked("chair"),
        data={"owner": "owner.east", "team": "East 2"},
    )
    case = queries.get_case(session, case_id=done.case_id)
    assert (case.state, case.owner, case.hub, case.team) == ("tasked", "owner.east", "EAST", "East 2")


def test_fields_a_trigger_does_not_take_are_refused(session: Session) -> None:
    done = submit(session)
    with pytest.raises(InvalidInput, match=r"outcome: not used by reject"):
        service.fire(
            session,
            case_id=done.case_id,
            trigger="reject",
            by=unchecked("a"),
            data={"reason": "x", "outcome": "charged"},
        )


def test_close_records_the_outcome(session: Session) -> None:
    before = case_in(session, "reviewed")
    service.fire(
        session,
        case_id=before.case_id,
        trigger="close",
        by=unchecked("owner.east"),
        data=DEFAULT_DATA["close"],
    )
    case = queries.get_case(session, case_id=before.case_id)
    assert (case.state, case.outcome) == ("closed", "disrupted")
    assert queries.history(session, case_id=before.case_id)[-1].payload["strands"] == ["pursue"]


def test_the_tasking_meeting_defers_a_case_until_it_is_decided(session: Session) -> None:
    """Story 4: deferred with a reason, the case stays where it is, clock running, until it is decided."""
    before = case_in(session, "assessed")
    assessed = queries.get_case(session, case_id=before.case_id)
    done = service.fire(
        session,
        case_id=before.case_id,
        trigger="defer",
        by=unchecked("chair"),
        data={"reason": "EAST is over capacity; back next week."},
    )
    case = queries.get_case(session, case_id=before.case_id)
    assert (case.state, case.version) == ("assessed", before.version + 1)
    assert case.deferred_reason == "EAST is over capacity; back next week."
    assert case.deferred_at is not None
    assert (case.sla_stage, case.sla_due_at) == (assessed.sla_stage, assessed.sla_due_at)  # still running
    event = queries.history(session, case_id=before.case_id)[-1]
    assert (event.trigger, event.actor, event.reason) == ("defer", "chair", case.deferred_reason)
    assert event.payload["notify"] == ["requester"]  # the BCU hears why its request waits

    service.fire(session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"))
    decided = queries.get_case(session, case_id=before.case_id)
    assert (decided.state, decided.deferred_at, decided.deferred_reason) == ("prioritised", None, None)
    with pytest.raises(IllegalTransition, match="cannot defer a case that is tasked"):
        tasked = case_in(session, "tasked")
        service.fire(
            session, case_id=tasked.case_id, trigger="defer", by=unchecked("chair"), data={"reason": "x"}
        )


def test_unknown_outcome_is_refused_with_the_allowed_values(session: Session) -> None:
    before = case_in(session, "reviewed")
    with pytest.raises(InvalidInput, match=r"^outcome: Input should be 'charged', 'disrupted'"):
        service.fire(
            session, case_id=before.case_id, trigger="close", by=unchecked("o"), data={"outcome": "solved"}
        )


def test_stale_expected_version_is_refused(session: Session) -> None:
    done = case_in(session, "assessed")
    with pytest.raises(StaleVersion) as err:
        service.fire(
            session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"), expected_version=1
        )
    assert err.value.current_version == 2 and err.value.current_state == "assessed"
    assert "is at version 2 (assessed), not 1" in str(err.value)


def test_missing_case(session: Session) -> None:
    with pytest.raises(NotFound):
        service.fire(session, case_id=999999, trigger="assess", by=unchecked("a"))
    with pytest.raises(NotFound, match="no case SCT-2026-999999"):
        queries.find_case(session, key="sct-2026-999999")


def test_diagram_is_generated_from_the_machine() -> None:
    text = mermaid()
    moves = [(s, t, d) for s, t, d in LEGAL if s != d]
    for source, trigger, dest in moves:
        assert f"    {source} --> {dest}: {trigger}\n" in text
    assert text.count(" --> ") == len(moves) + 1 + 3  # transitions, start, three terminal states
