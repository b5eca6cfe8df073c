"""The effects' records in detail: the team a routed case keeps (or loses) when it is tasked, a transfer's
refusals and the escalations it moves (this case's open ones only), and what a retention decision or a
disposal writes (the decision row, the event's payload, the case's review date, this case's rationales).
Expected values come from the shipped rule files (rules/default/routing.yaml sends kidnap work to the
centre's kidnap_extortion team; retention.yaml's groups) and the stories, written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from rules.retention import load_retention
from tests.factories import (
    add_people,
    case_in,
    drive,
    morile_inputs,
    request_data,
    score_p1,
    submit,
    unchecked,
)
from workflow import accounts, queries, redaction, service, timers
from workflow.errors import InvalidInput
from workflow.principals import Principal
from workflow.tables import ASSESSMENT, CASE, ESCALATION, EVENT, RETENTION

ROOT = Path(__file__).resolve().parents[2]
RECORDS = Principal(username="records1", roles=frozenset({"records_officer"}), clearance="OFFICIAL-SENSITIVE")
KIDNAP = ["kidnap_extortion", "surveillance"]


def fire(session: Session, case_id: int, trigger: str, **data: object) -> service.Written:
    return service.fire(session, case_id=case_id, trigger=trigger, by=unchecked("chair"), data=data)


def test_a_kidnap_request_is_routed_to_the_centres_kidnap_team(session: Session) -> None:
    done = case_in(session, "assessed", capabilities=KIDNAP)
    case = queries.get_case(session, case_id=done.case_id)
    assert (case.hub, case.team) == ("CENTRE", "kidnap_extortion")


def test_tasked_without_a_team_it_keeps_the_routed_team_only_where_the_hub_has_it(session: Session) -> None:
    kept = case_in(session, "prioritised", capabilities=KIDNAP).case_id
    fire(session, kept, "task", owner="owner.queue")  # the centre has the kidnap team
    assert queries.get_case(session, case_id=kept).team == "kidnap_extortion"
    moved = case_in(session, "prioritised", capabilities=KIDNAP).case_id
    fire(session, moved, "task", hub="EAST", owner="owner.east")  # EAST has no kidnap team
    case = queries.get_case(session, case_id=moved)
    assert (case.hub, case.team) == ("EAST", None)


@pytest.fixture
def north(session: Session) -> None:
    add_people(session, [("owner.north", ["case_owner"], None, "NORTH")])


@pytest.mark.usefixtures("north")
def test_a_transfer_naming_an_unknown_owner_is_refused_naming_them(session: Session) -> None:
    done = case_in(session, "tasked")
    with pytest.raises(InvalidInput) as refused:
        fire(session, done.case_id, "transfer", hub="NORTH", owner="nobody", reason="Moved to Enfield.")
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("owner", "unknown or inactive user 'nobody'")
    ]
    assert queries.get_case(session, case_id=done.case_id).hub == "EAST"


@pytest.mark.usefixtures("north")
def test_an_owner_who_has_left_cannot_follow_a_transfer_and_the_refusal_says_whom_to_choose(
    session: Session,
) -> None:
    done = case_in(session, "tasked")  # owned by owner.east
    accounts.update_user(session, username="owner.east", changes={"active": False})
    with pytest.raises(InvalidInput) as refused:
        fire(session, done.case_id, "transfer", hub="NORTH", team="No such team", reason="Moved to Enfield.")
    problems = {p.field: p.message for p in refused.value.problems}
    assert sorted(problems) == ["owner", "team"]
    assert problems["owner"].endswith("; choose an owner of NORTH")
    assert "choose an owner" not in problems["team"]


@pytest.mark.usefixtures("north")
def test_a_transfer_moves_its_own_open_escalations_only(session: Session) -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    ours = service.submit_case(session, request=request_data(), by=unchecked("ds.ne"), now=at).case_id
    timers.run_due(session, now=datetime(2026, 11, 9, 10, tzinfo=UTC))  # its SLA breaches: an escalation
    # Assessed P1: the SLA escalation ends and the score raises a rule escalation (story 3).
    score_p1(session, ours, now=datetime(2026, 11, 9, 11, tzinfo=UTC))
    fire(session, ours, "prioritise")
    fire(session, ours, "task", owner="owner.east")
    theirs = drive(session, submit(session), "assessed").case_id
    score_p1(session, theirs, trigger="rescore")  # an open rule escalation at EAST of another case
    fire(session, ours, "transfer", hub="NORTH", owner="owner.north", reason="The line has moved to Enfield.")
    rows = session.execute(
        select(ESCALATION.c.case_id, ESCALATION.c.source, ESCALATION.c.status, ESCALATION.c.hub).order_by(
            ESCALATION.c.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (ours, "sla", "resolved", "EAST"),  # ended before the transfer: stays where it was handled
        (ours, "rule", "open", "NORTH"),
        (theirs, "rule", "open", "EAST"),
    ]


def _closed(session: Session, *, rescored: bool = False) -> int:
    reviewed = case_in(session, "reviewed")
    if rescored:  # a second assessment row
        fire(session, reviewed.case_id, "rescore", assessment=morile_inputs(likelihood=4))
    return service.fire(
        session,
        case_id=reviewed.case_id,
        trigger="close",
        by=unchecked("owner.east"),
        data={"outcome": "disrupted"},
        now=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    ).case_id


def test_a_next_review_must_fall_after_the_moment_of_the_decision(session: Session) -> None:
    case_id = _closed(session)
    with pytest.raises(InvalidInput) as refused:
        service.fire(
            session,
            case_id=case_id,
            trigger="retain",
            by=RECORDS,
            data={"reason": "Linked to an OCG investigation", "next_review": "2031-01-15"},
            now=datetime(2031, 1, 15, 0, 0, tzinfo=UTC),  # the very start of that day: not in the future
        )
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("next_review", "the next review date must be in the future")
    ]


def test_retaining_records_the_decision_on_the_event_and_under_the_cases_group(session: Session) -> None:
    case_id = _closed(session)
    done = service.fire(
        session,
        case_id=case_id,
        trigger="retain",
        by=RECORDS,
        data={"reason": "Linked to an OCG investigation", "next_review": "2031-01-15"},
        now=datetime(2029, 3, 11, tzinfo=UTC),
    )
    decision = session.execute(select(RETENTION)).mappings().one()
    # rules/default/retention.yaml: a closed P4 is in mopi-3-closed-p4.
    assert (decision["event_seq"], decision["retention_group"]) == (done.event_seq, "mopi-3-closed-p4")
    event = queries.history(session, case_id=case_id)[-1]
    assert {k: event.payload[k] for k in ("decision", "next_review")} == {
        "decision": decision["id"],
        "next_review": "2031-01-15",
    }


def test_a_disposal_records_its_schedule_and_redacts_this_cases_rationales_only(
    engine: Engine, session: Session
) -> None:
    ours, theirs = _closed(session, rescored=True), _closed(session)
    with engine.begin() as conn:  # every first assessment names a person; our re-score has no rationale
        conn.execute(
            update(ASSESSMENT).where(ASSESSMENT.c.event_seq == 2).values(rationale="Nominal: J. Doe")
        )
    done = service.fire(
        session,
        case_id=ours,
        trigger="dispose",
        by=RECORDS,
        data={"reason": "Past review; no link"},
        now=datetime(2029, 4, 1, 10, tzinfo=UTC),
    )
    rationale = {
        case_id: set(
            session.execute(select(ASSESSMENT.c.rationale).where(ASSESSMENT.c.case_id == case_id)).scalars()
        )
        for case_id in (ours, theirs)
    }
    assert rationale == {ours: {redaction.REDACTED, None}, theirs: {"Nominal: J. Doe"}}
    assert redaction.REDACTED == "[redacted]"
    decision = session.execute(select(RETENTION)).mappings().one()
    assert (decision["event_seq"], decision["retention_group"]) == (done.event_seq, "mopi-3-closed-p4")
    payload = session.execute(
        select(EVENT.c.payload).where(EVENT.c.case_id == ours, EVENT.c.seq == done.event_seq)
    ).scalar_one()
    schedule = load_retention(ROOT / "rules" / "default" / "retention.yaml")
    assert (payload["decision"], payload["schedule"], payload["blobs"]) == (
        decision["id"],
        schedule.version,
        [],
    )
    assert payload["redacted"]  # what it redacted, by event (tests/workflow/test_retention.py has the detail)
    case = session.execute(
        select(CASE.c.retention_review_at, CASE.c.disposed_at).where(CASE.c.id == ours)
    ).one()
    assert (case.retention_review_at, case.disposed_at is not None) == (None, True)
