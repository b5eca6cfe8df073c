"""The service's write path, field by field: what one firing writes (the case, its event, the outbox row),
the compare-and-set that refuses a racer, the version a caller must name, and what the input becomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from tests.factories import DEFAULT_DATA, case_in, submit, unchecked
from workflow import queries, service
from workflow.chain import event_hash
from workflow.change import Change
from workflow.errors import Conflict, NotFound, PreconditionRequired, StaleVersion
from workflow.models import EventOutbox

AT = datetime(2026, 5, 6, 9, 30, tzinfo=UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive (they are stored as UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_one_firing_writes_the_case_its_event_and_its_outbox_row(session: Session) -> None:
    first = submit(session)
    done = service.fire(
        session,
        case_id=first.case_id,
        trigger="reject",
        by=unchecked("analyst.centre"),
        expected_version=1,
        data={"reason": "Not a specialist crime matter."},
        now=AT,
    )
    assert (done.trigger, done.from_state, done.to_state, done.event_seq, done.version) == (
        "reject",
        "submitted",
        "rejected",
        2,
        2,
    )
    case = queries.get_case(session, case_id=first.case_id)
    assert (case.state, case.version, case.event_seq, aware(case.updated_at)) == ("rejected", 2, 2, AT)
    opening, event = queries.history(session, case_id=first.case_id)
    assert (event.case_id, event.seq, event.trigger, event.from_state, event.to_state) == (
        first.case_id,
        2,
        "reject",
        "submitted",
        "rejected",
    )
    assert (event.actor, event.reason, aware(event.created_at)) == (
        "analyst.centre",
        "Not a specialist crime matter.",
        AT,
    )
    assert event.payload == {"notify": ["requester"]}  # the reason is the event's, not the payload's
    # Chained to the submission's event, and the case remembers the newest hash.
    assert event.prev_hash == opening.hash == first.case.last_event_hash
    assert event.hash == case.last_event_hash == done.case.last_event_hash
    assert event.hash == event_hash(
        case_id=first.case_id,
        seq=2,
        trigger="reject",
        from_state="submitted",
        to_state="rejected",
        actor="analyst.centre",
        reason="Not a specialist crime matter.",
        payload={"notify": ["requester"]},
        created_at=AT,
        prev_hash=opening.hash,
    )
    outbox = (
        session.execute(select(EventOutbox).where(col(EventOutbox.case_id) == first.case_id)).scalars().all()
    )
    assert sorted((o.event_id, aware(o.created_at)) for o in outbox)[-1] == (event.id, AT)
    assert len(outbox) == 2
    # What the call returned is the case as written.
    for name in ("state", "version", "event_seq", "reference", "hub", "owner"):
        assert done.case[name] == getattr(case, name)


def test_the_input_becomes_the_payload_but_the_reason_is_the_events_own(session: Session) -> None:
    before = case_in(session, "prioritised")
    service.fire(
        session,
        case_id=before.case_id,
        trigger="task",
        by=unchecked("chair"),
        data={"owner": "owner.east", "team": "East 2", "reason": "Chair's decision"},
    )
    event = queries.history(session, case_id=before.case_id)[-1]
    payload = dict(event.payload)
    # The priority it was tasked at, under the Control Strategy (tests/workflow/test_priority.py).
    assert {"total", "reason", "parts", "strategy"} <= set(payload.pop("priority"))
    assert payload == {"owner": "owner.east", "team": "East 2", "notify": ["owner", "requester"]}
    assert event.reason == "Chair's decision"


def test_a_trigger_nobody_is_told_of_leaves_no_notify(session: Session) -> None:
    before = case_in(session, "reviewed")
    service.fire(session, case_id=before.case_id, trigger="continue", by=unchecked("chair"))
    event = queries.history(session, case_id=before.case_id)[-1]
    assert (event.payload, event.reason) == ({}, None)


def test_a_racer_that_lost_the_compare_and_set_writes_nothing(session: Session) -> None:
    done = case_in(session, "assessed")
    stale = service.load_case(session, done.case_id)
    session.rollback()
    service.fire(session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"))
    with pytest.raises(Conflict) as err:
        service.write_change(
            session,
            row=stale,
            change=Change(trigger="defer", to_state="assessed", reason="late"),
            actor="chair",
            at=AT,
        )
    session.rollback()
    assert (err.value.current_version, err.value.current_state) == (done.version + 1, "prioritised")
    assert err.value.reference == done.reference
    assert [e.trigger for e in queries.history(session, case_id=done.case_id)][-1] == "prioritise"
    assert queries.get_case(session, case_id=done.case_id).version == done.version + 1


def test_a_caller_that_must_name_the_version_is_told_to(session: Session) -> None:
    done = case_in(session, "assessed")
    with pytest.raises(PreconditionRequired) as err:
        service.fire(
            session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"), require_version=True
        )
    assert [p.field for p in err.value.problems] == ["If-Match"]
    named = service.fire(
        session,
        case_id=done.case_id,
        trigger="prioritise",
        by=unchecked("chair"),
        require_version=True,
        expected_version=done.version,
    )
    assert named.version == done.version + 1


def test_a_score_assesses_a_submitted_case_and_rescores_an_assessed_one(session: Session) -> None:
    done = submit(session)
    first = service.score(
        session, case_id=done.case_id, by=unchecked("analyst1"), data=DEFAULT_DATA["assess"], now=AT
    )
    again = service.score(
        session, case_id=done.case_id, by=unchecked("analyst1"), data=DEFAULT_DATA["rescore"], now=AT
    )
    assert [(w.trigger, w.from_state, w.to_state) for w in (first, again)] == [
        ("assess", "submitted", "assessed"),
        ("rescore", "assessed", "assessed"),
    ]
    assert [a.seq for a in queries.assessments(session, case_id=done.case_id)] == [1, 2]


def test_a_score_names_its_version_and_moment(session: Session) -> None:
    done = submit(session)
    with pytest.raises(StaleVersion):
        service.score(
            session, case_id=done.case_id, by=unchecked("a"), expected_version=7, data=DEFAULT_DATA["assess"]
        )
    scored = service.score(
        session,
        case_id=done.case_id,
        by=unchecked("a"),
        expected_version=1,
        data=DEFAULT_DATA["assess"],
        now=AT,
    )
    assert aware(queries.history(session, case_id=done.case_id)[-1].created_at) == AT
    assert scored.version == 2


def test_loading_a_case_that_does_not_exist(session: Session) -> None:
    with pytest.raises(NotFound, match=r"^no case 999999$"):
        service.load_case(session, 999999)
