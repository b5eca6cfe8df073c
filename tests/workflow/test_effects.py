"""What each trigger's effect writes beyond the state, through the real service: the assessment row and
the case's score columns, the tasking decision, the pause and its credit, the deferral and its end.
Scores are worked out by hand on the shipped placeholder matrix (weights 1, scope 2 x1.5, scope 4 x3.0,
risk out of 360)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from tests.factories import (
    DEFAULT_DATA,
    P1_CAPABILITY_D,
    add_people,
    case_in,
    morile_inputs,
    submit,
    unchecked,
)
from workflow import hub_resources, queries, service
from workflow.errors import InvalidInput

AT = datetime(2026, 5, 6, 9, 30, tzinfo=UTC)


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def test_an_assessment_is_recorded_in_full(session: Session) -> None:
    done = submit(session)
    scored = service.fire(
        session,
        case_id=done.case_id,
        trigger="assess",
        by=unchecked("analyst1"),
        data={**DEFAULT_DATA["assess"], "rationale": "first look"},
        now=AT,
    )
    (row,) = queries.assessments(session, case_id=done.case_id)
    # harm 2+2+1+1+0 = 6, x1.5 = 9; likelihood 3 (vulnerability 1: no uplift); 27/360 = 7.5 -> P4;
    # source 1 grade B suggests high; capacity and capability 2 -> grade B; scope 2 starts at force.
    assert (row.seq, row.event_seq, row.matrix_id, row.matrix_version) == (1, 2, "tactical-default", "0.1")
    assert (row.band, row.risk, row.harm_total, row.likelihood_total) == ("P4", 7.5, 9.0, 3)
    assert (row.confidence, row.org_grade, row.floor_applied, row.response_level) == (
        "high",
        "B",
        False,
        "force",
    )
    assert (row.rationale, row.assessor, aware(row.created_at)) == ("first look", "analyst1", AT)
    assert row.inputs == DEFAULT_DATA["assess"]["assessment"]
    assert row.result["risk"] == 7.5 and row.result["band"] == "P4"
    assert (scored.case.band, scored.case.risk) == ("P4", 7.5)
    event = queries.history(session, case_id=done.case_id)[-1]
    assert event.payload["assessment"]["inputs"] == row.inputs
    assert event.payload["assessment"]["score"] == row.result
    assert event.payload["decisions"]["route"]["hub"] == scored.case.hub
    (decision, first) = sorted(queries.decisions(session, case_id=done.case_id), key=lambda d: -d.event_seq)
    assert (decision.event_seq, first.event_seq) == (2, 1)
    assert decision.ruleset_version == scored.case.ruleset_version


def test_a_p1_the_force_cannot_handle_moves_the_response_up(session: Session) -> None:
    done = submit(session)
    service.fire(
        session,
        case_id=done.case_id,
        trigger="assess",
        by=unchecked("a"),
        data={"assessment": P1_CAPABILITY_D},
    )
    (row,) = queries.assessments(session, case_id=done.case_id)
    # harm 15 x3.0 = 45; likelihood 5 + 1 = 6; 270/360 = 75.0 -> P1; capability 4 -> grade D -> regional.
    assert (row.band, row.risk, row.harm_total, row.likelihood_total) == ("P1", 75.0, 45.0, 6)
    assert (row.org_grade, row.response_level, row.floor_applied) == ("D", "regional", False)
    case = queries.get_case(session, case_id=done.case_id)
    assert case.escalation_level >= 1  # the rules escalate a P1 with grade D (story 3)


def test_a_critical_harm_lifts_the_band_and_is_recorded(session: Session) -> None:
    done = submit(session)
    # harm 4+0+0+0+0 = 4, x1.0 = 4; likelihood 1; 4/360 = 1.1 -> P4, lifted to P2 by the critical harm.
    inputs = morile_inputs(harm=(4, 0, 0, 0, 0), scope=1, likelihood=1, vulnerability=0)
    service.fire(
        session, case_id=done.case_id, trigger="assess", by=unchecked("a"), data={"assessment": inputs}
    )
    (row,) = queries.assessments(session, case_id=done.case_id)
    assert (row.band, row.risk, row.floor_applied) == ("P2", 1.1, True)


def test_a_lower_band_needs_a_rationale_and_the_second_score_is_numbered_two(session: Session) -> None:
    done = submit(session)
    service.fire(
        session,
        case_id=done.case_id,
        trigger="assess",
        by=unchecked("a"),
        data={"assessment": P1_CAPABILITY_D},
    )
    with pytest.raises(InvalidInput) as err:
        service.fire(
            session, case_id=done.case_id, trigger="rescore", by=unchecked("a"), data=DEFAULT_DATA["assess"]
        )
    assert [str(p) for p in err.value.problems] == ["rationale: the band falls from P1 to P4: record why"]
    assert len(queries.assessments(session, case_id=done.case_id)) == 1
    service.fire(
        session,
        case_id=done.case_id,
        trigger="rescore",
        by=unchecked("a"),
        data={**DEFAULT_DATA["assess"], "rationale": "the firearm was a replica"},
    )
    second = queries.assessments(session, case_id=done.case_id)[-1]
    assert (second.seq, second.band, second.rationale) == (2, "P4", "the firearm was a replica")


def test_a_tasked_case_keeps_its_hub_when_rescored(session: Session) -> None:
    tasked = case_in(session, "tasked")
    service.fire(
        session,
        case_id=tasked.case_id,
        trigger="rescore",
        by=unchecked("a"),
        data=DEFAULT_DATA["rescore"],
    )
    case = queries.get_case(session, case_id=tasked.case_id)
    assert (case.state, case.hub, case.team, case.owner) == (
        "tasked",
        tasked.case.hub,
        tasked.case.team,
        "owner.east",
    )


def test_reassessing_without_a_new_score_changes_no_score(session: Session) -> None:
    tasked = case_in(session, "tasked")
    service.fire(
        session, case_id=tasked.case_id, trigger="reassess", by=unchecked("a"), data=DEFAULT_DATA["reassess"]
    )
    case = queries.get_case(session, case_id=tasked.case_id)
    assert (case.state, case.band, case.risk) == ("assessed", tasked.case.band, tasked.case.risk)
    assert len(queries.assessments(session, case_id=tasked.case_id)) == 1


def test_tasking_keeps_the_routed_team_unless_one_is_chosen(session: Session) -> None:
    before = case_in(session, "prioritised")
    done = service.fire(
        session, case_id=before.case_id, trigger="task", by=unchecked("chair"), data={"owner": "owner.east"}
    )
    assert (done.case.hub, done.case.team, done.case.owner) == (
        before.case.hub,
        before.case.team,
        "owner.east",
    )


def test_waiting_on_the_requester_pauses_and_the_answer_credits_the_wait(session: Session) -> None:
    before = submit(session)
    asked = service.fire(
        session,
        case_id=before.case_id,
        trigger="await_information",
        by=unchecked("a"),
        data={"reason": "source grading"},
        now=AT,
    )
    assert (aware(asked.case.awaiting_since), asked.case.awaiting_reason) == (AT, "source grading")
    back = service.fire(
        session,
        case_id=before.case_id,
        trigger="information_received",
        by=unchecked("a"),
        now=AT + timedelta(hours=1),
    )
    assert (back.case.awaiting_since, back.case.awaiting_reason) == (None, None)
    assert back.case.sla_paused_seconds > before.case.sla_paused_seconds


def test_a_decision_ends_a_deferral(session: Session) -> None:
    before = case_in(session, "assessed")
    deferred = service.fire(
        session,
        case_id=before.case_id,
        trigger="defer",
        by=unchecked("chair"),
        data={"reason": "full"},
        now=AT,
    )
    assert (aware(deferred.case.deferred_at), deferred.case.deferred_reason) == (AT, "full")
    withdrawn = service.fire(
        session, case_id=before.case_id, trigger="withdraw", by=unchecked("chair"), data={"reason": "charged"}
    )
    assert (withdrawn.case.deferred_at, withdrawn.case.deferred_reason) == (None, None)


def test_the_tasking_meeting_may_choose_another_hub(session: Session) -> None:
    before = case_in(session, "prioritised")
    assert before.case.hub == "EAST"
    # WEST's own team and owner: only they can take a case tasked there (workflow.capacity).
    hub_resources.add_team(
        session, hub="WEST", data={"code": "West 1", "name": "West team 1"}, by=unchecked("admin")
    )
    add_people(session, [("owner.west", ["case_owner"], None, "WEST")])
    done = service.fire(
        session,
        case_id=before.case_id,
        trigger="task",
        by=unchecked("chair"),
        data={"owner": "owner.west", "hub": "WEST", "team": "West 1"},
    )
    case = queries.get_case(session, case_id=before.case_id)
    assert (done.case.hub, case.hub, case.team) == ("WEST", "WEST", "West 1")
