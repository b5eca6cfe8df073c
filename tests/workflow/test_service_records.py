"""What the service leaves behind beyond the case and its event: the timers and escalations a change
settles (and only those), an event log the audit can verify, what it announces, the rulebook and unit it
decides with, and errors that name what was wrong. Expected values are written out from the stories
(SCENARIOS.md story 3: the SLA and the P1 escalation ladders) and DESIGN §5, not read back from the code.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import (
    DEFAULT_DATA,
    case_in,
    morile_inputs,
    p1_escalated,
    request_data,
    score_p1,
    submit,
    unchecked,
)
from workflow import audit, observe, queries, service, subjects, timers
from workflow.errors import Forbidden, GuardFailed, IllegalTransition, InvalidInput, NotFound, StaleVersion
from workflow.models import Escalation, Refusal, Timer
from workflow.principals import Principal
from workflow.rulebook import load_rulebook
from workflow.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 (GMT, so UTC)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def timer_rows(session: Session, case_id: int) -> list[tuple[str, str, datetime | None]]:
    rows = session.exec(select(Timer).where(Timer.case_id == case_id).order_by(col(Timer.id))).all()
    return [(t.kind, t.status, aware(t.settled_at)) for t in rows]


def escalation_rows(session: Session, case_id: int) -> list[tuple[str, str, str | None, Any, str | None]]:
    rows = session.exec(select(Escalation).where(Escalation.case_id == case_id).order_by(col(Escalation.id)))
    return [(e.source, e.status, e.resolved_by, aware(e.resolved_at), e.note) for e in rows.all()]


def test_a_change_settles_its_own_cases_pending_timers_and_escalations_and_nothing_else(
    session: Session,
) -> None:
    # Two requests from the same BCU on Monday 2 November at 09:00; neither is assessed in time, so each
    # gets a breached-SLA escalation with a ladder.
    ours, theirs = (
        service.submit_case(
            session, request=request_data(title=t), by=unchecked("ds.ne"), now=at(2, 9)
        ).case_id
        for t in ("Ours", "Theirs")
    )
    timers.run_due(session, now=at(9, 10))  # the SLA timers fire; each escalation's ladder is due on the 11th
    # Ours is assessed at noon on the 10th: that ends its SLA escalation (and stops that ladder), and the
    # P1 score with capability D raises a rule escalation whose ladder steps an hour on (story 3).
    score_p1(session, ours, now=at(10, 12))
    timers.run_due(session, now=at(10, 13, 1))  # the rule ladder's first step
    theirs_timers = timer_rows(session, theirs)
    theirs_escalations = escalation_rows(session, theirs)
    # Rejected at 13:30: ended, so every timer still pending stops and the open escalation is resolved.
    service.fire(
        session,
        case_id=ours,
        trigger="reject",
        by=unchecked("analyst1"),
        data={"reason": "The BCU keeps it."},
        now=at(10, 13, 30),
    )
    assert timer_rows(session, ours) == [
        ("sla", "fired", at(9, 10)),
        ("ladder", "cancelled", at(10, 12)),  # the SLA escalation's ladder, stopped by the assessment
        ("sla", "cancelled", at(10, 13, 30)),  # the assessed stage's SLA, stopped by the rejection
        ("ladder", "fired", at(10, 13, 1)),  # fired before the rejection: stays as it was
        ("ladder", "cancelled", at(10, 13, 30)),  # the rule ladder's next step
    ]
    assert escalation_rows(session, ours) == [
        ("sla", "resolved", "system", at(10, 12), "ended by assess"),
        ("rule", "resolved", "system", at(10, 13, 30), "case rejected"),
    ]
    # The other case's timers and escalation are as they were.
    assert (
        timer_rows(session, theirs)
        == theirs_timers
        == [("sla", "fired", at(9, 10)), ("ladder", "pending", None)]
    )
    assert escalation_rows(session, theirs) == theirs_escalations == [("sla", "open", None, None, None)]
    # And the log all this wrote verifies: every event's hash, payload digest and facts.
    assert audit.verify(session).ok


def test_a_change_that_keeps_its_clock_keeps_its_timers(session: Session) -> None:
    done = submit(session)
    before = session.exec(select(Timer.id, Timer.status).where(Timer.case_id == done.case_id)).all()
    service.fire(
        session,
        case_id=done.case_id,
        trigger="note",
        by=unchecked("analyst1"),
        data={"note": "Called the DS."},
    )
    after = session.exec(select(Timer.id, Timer.status).where(Timer.case_id == done.case_id)).all()
    assert after == before and len(before) == 1  # the same SLA timer, still pending: nothing replanned


def test_the_log_of_a_whole_lifecycle_verifies(session: Session) -> None:
    case_in(session, "closed")
    report = audit.verify(session)
    assert report.ok, report


@pytest.fixture
def announced() -> Iterator[list[tuple[str, dict[str, str], float]]]:
    heard: list[tuple[str, dict[str, str], float]] = []

    def listener(what: str, labels: dict[str, str], value: float) -> None:
        heard.append((what, labels, value))

    observe.listen(listener)
    yield heard
    observe.unlisten(listener)


def test_a_firing_is_announced_once_by_its_trigger_and_a_refused_one_not_at_all(
    session: Session, announced: list[tuple[str, dict[str, str], float]]
) -> None:
    done = submit(session)
    announced.clear()
    with pytest.raises(GuardFailed):
        service.fire(session, case_id=done.case_id, trigger="reject", by=unchecked("analyst1"))
    assert announced == []
    service.fire(
        session,
        case_id=done.case_id,
        trigger="reject",
        by=unchecked("analyst1"),
        data={"reason": "BCU matter"},
    )
    assert announced == [("transition", {"trigger": "reject"}, 1.0)]


def test_errors_name_the_case_the_trigger_and_what_would_do(session: Session) -> None:
    done = submit(session)
    analyst = unchecked("analyst1")
    with pytest.raises(NotFound) as missing:
        service.fire(session, case_id=987654, trigger="reject", by=analyst)
    assert missing.value.detail == "no case 987654"
    with pytest.raises(IllegalTransition) as unknown:
        service.fire(session, case_id=done.case_id, trigger="promote", by=analyst)
    assert (unknown.value.trigger, unknown.value.state) == ("promote", "submitted")
    assert unknown.value.legal == [
        "assess",
        "reject",
        "withdraw",
        "await_information",
        "information_received",
        "note",
        "attach",
        "confirm_link",
        "dismiss_link",
    ]
    with pytest.raises(StaleVersion) as stale:
        service.fire(session, case_id=done.case_id, trigger="reject", by=analyst, expected_version=7)
    assert stale.value.reference == done.reference
    with pytest.raises(GuardFailed) as guard:
        service.fire(session, case_id=done.case_id, trigger="reject", by=analyst, data={"reason": "  "})
    assert guard.value.trigger == "reject"
    with pytest.raises(InvalidInput) as extra:
        service.fire(
            session, case_id=done.case_id, trigger="reject", by=analyst, data={"reason": "x", "owner": "y"}
        )
    assert [(p.field, p.message) for p in extra.value.problems] == [
        ("owner", "not used by reject (it takes: reason)")
    ]
    assert queries.get_case(session, case_id=done.case_id).version == 1  # none of them wrote anything


def test_a_refusal_is_logged_under_a_trigger_name_cut_to_its_column(session: Session) -> None:
    done = submit(session)  # a North East request
    other_unit = Principal(username="req.as", roles=frozenset({"requester"}), unit_code="AS")
    long_name = "x" * 100
    with pytest.raises(NotFound):
        service.fire(session, case_id=done.case_id, trigger=long_name, by=other_unit)
    refusal = session.exec(select(Refusal).where(Refusal.username == "req.as")).one()
    assert (refusal.action, refusal.case_id, refusal.kind) == (
        "fire:" + "x" * 59,
        done.case_id,
        "not-visible",
    )


def test_a_specialist_units_request_is_routed_by_its_unit_kind(session: Session) -> None:
    done = submit(session, requesting_unit="SCO-OCG")
    service.fire(
        session,
        case_id=done.case_id,
        trigger="assess",
        by=unchecked("analyst1"),
        data={"assessment": morile_inputs()},
    )
    event = queries.history(session, case_id=done.case_id)[-1]
    assert event.payload["decisions"]["route"]["rule"] == "specialist-units"


@pytest.fixture
def north_east_to_north(tmp_path: Path) -> Any:
    """The shipped rules with one change: North East requests go to NORTH instead of EAST."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "default", folder)
    routing = folder / "routing.yaml"
    text = routing.read_text()
    north = "      unit: [NA, NW]\n    then: {hub: NORTH}"
    assert north in text
    routing.write_text(
        text.replace(north, "      unit: [NA, NW, NE]\n    then: {hub: NORTH, team: surveillance}")
    )
    return load_rulebook(folder, get_settings().matrix_path)


def test_a_firing_decides_with_the_rulebook_it_is_given(session: Session, north_east_to_north: Any) -> None:
    given = north_east_to_north
    first, second = submit(session).case_id, submit(session).case_id
    service.fire(
        session,
        case_id=first,
        trigger="assess",
        by=unchecked("analyst1"),
        data={"assessment": morile_inputs()},
        rules=given,
    )
    service.score(
        session, case_id=second, by=unchecked("analyst1"), data={"assessment": morile_inputs()}, rules=given
    )
    for case_id in (first, second):
        case = queries.get_case(session, case_id=case_id)
        assert (case.state, case.hub, case.team) == ("assessed", "NORTH", "surveillance")
        assert case.ruleset_version == given.ruleset.version


def test_a_replan_replaces_the_clock_timers_and_leaves_the_escalation_ladder_running(
    session: Session,
) -> None:
    t0 = at(2, 11)
    done = p1_escalated(session, submitted=at(2, 9), assessed=t0)
    ladder_before = [r for r in timer_rows(session, done.case_id) if r[0] == "ladder"]
    assert ladder_before == [("ladder", "pending", None)]
    # Re-scored ten minutes later (the same P1): its clocks are planned again, its escalation stands.
    score_p1(session, done.case_id, trigger="rescore", now=at(2, 11, 10))
    case = queries.get_case(session, case_id=done.case_id)
    rows = session.exec(select(Timer).where(Timer.case_id == done.case_id).order_by(col(Timer.id))).all()
    assert [(t.kind, t.status, aware(t.settled_at)) for t in rows] == [
        ("sla", "cancelled", at(2, 11)),  # the submitted stage's, ended by the assessment
        ("sla", "cancelled", at(2, 11, 10)),  # the assessed stage's, replaced by the re-score's plan
        ("ladder", "pending", None),  # the rule escalation's ladder, untouched
        ("sla", "pending", None),
    ]
    assert rows[-1].ruleset_version == case.ruleset_version is not None
    assert escalation_rows(session, done.case_id) == [("rule", "open", None, None, None)]


def test_leaving_a_stage_ends_its_sla_escalation_but_not_a_rule_escalation(session: Session) -> None:
    done = p1_escalated(session, submitted=at(2, 9), assessed=at(2, 11))
    service.fire(session, case_id=done.case_id, trigger="prioritise", by=unchecked("chair"), now=at(2, 12))
    assert escalation_rows(session, done.case_id) == [("rule", "open", None, None, None)]


def test_a_submission_fills_in_the_requesters_unit_and_the_default_marking_and_tidies_its_lists(
    session: Session, announced: list[tuple[str, dict[str, str], float]]
) -> None:
    requester = Principal(username="ds.ne", roles=frozenset({"requester"}), unit_code="NE")
    request = request_data(capabilities=["surveillance", "financial_investigation", "surveillance"])
    del request["requesting_unit"], request["protective_marking"]
    done = service.submit_case(session, request=request, by=requester)
    case = queries.get_case(session, case_id=done.case_id)
    assert (case.requesting_unit, case.protective_marking) == ("NE", "OFFICIAL")
    assert case.capabilities == ["financial_investigation", "surveillance"]
    assert (case.escalation_level, case.state, case.hub) == (0, "submitted", "EAST")
    assert [a for a in announced if a[0] == "transition"] == [("transition", {"trigger": "submit"}, 1.0)]
    # Story 1: the requester is told it was received.
    assert queries.history(session, case_id=done.case_id)[0].payload["notify"] == ["requester"]
    # Its target is on file for the subject search from the moment it is submitted.
    found = subjects.find(session.connection(), "Forest Gate")
    assert [hit.case_id for hit in found] == [done.case_id]


@pytest.mark.parametrize(
    "who, request_fields, detail, needed",
    [
        (
            Principal(username="ds.ne", roles=frozenset({"requester"}), unit_code="NE"),
            {"requesting_unit": "AS"},
            "requesters submit for their own unit (NE), not AS",
            ["requester"],
        ),
        (
            Principal(username="ds.nowhere", roles=frozenset({"requester"})),
            {"requesting_unit": "AS"},
            "requesters submit for their own unit (none set), not AS",
            ["requester"],
        ),
        (
            Principal(username="ds.ne", roles=frozenset({"requester"}), unit_code="NE", clearance="OFFICIAL"),
            {"protective_marking": "OFFICIAL-SENSITIVE"},
            "your clearance (OFFICIAL) does not cover OFFICIAL-SENSITIVE",
            [],
        ),
        (  # a request that names no marking is OFFICIAL, which this account's clearance does not cover
            Principal(username="ds.ne", roles=frozenset({"requester"}), unit_code="NE", clearance="UNKNOWN"),
            {"protective_marking": None},
            "your clearance (UNKNOWN) does not cover OFFICIAL",
            [],
        ),
    ],
    ids=["another-unit", "no-unit", "marking-above-clearance", "no-marking-and-no-clearance"],
)
def test_a_submission_refused_says_why_and_who_could(
    session: Session, who: Principal, request_fields: dict[str, str], detail: str, needed: list[str]
) -> None:
    request = {k: v for k, v in request_data(**request_fields).items() if v is not None}
    with pytest.raises(Forbidden) as refused:
        service.submit_case(session, request=request, by=who)
    assert (refused.value.detail, refused.value.needed) == (detail, needed)


def test_a_refused_trigger_names_the_roles_held(session: Session) -> None:
    done = submit(session)
    both = Principal(
        username="two.hats",
        roles=frozenset({"requester", "dpo"}),
        unit_code="NE",
        clearance="OFFICIAL-SENSITIVE",
    )
    with pytest.raises(Forbidden) as refused:
        service.fire(session, case_id=done.case_id, trigger="assess", by=both)
    assert refused.value.detail.endswith("; you have dpo, requester")


def test_an_unknown_field_is_named_with_every_field_the_trigger_takes(session: Session) -> None:
    done = case_in(session, "reviewed")
    with pytest.raises(InvalidInput) as extra:
        service.fire(
            session,
            case_id=done.case_id,
            trigger="close",
            by=unchecked("chair"),
            data={"outcome": "disrupted", "owner": "owner.east"},
        )
    assert [(p.field, p.message) for p in extra.value.problems] == [
        ("owner", "not used by close (it takes: outcome, reason, strands)")
    ]


def test_past_its_shapes_the_compare_and_set_writes_every_column(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two shapes of change get a statement each; a third shape is written with the every-column one.
    monkeypatch.setattr(service, "_CAS_SHAPES", 2)
    monkeypatch.setattr(service, "_cas_by_columns", {})
    done = case_in(session, "tasked")  # submit, assess, prioritise, task: four shapes of change
    cached = service._cas_by_columns
    everything = frozenset(service._CAS_COLUMNS)
    assert len(cached) == 3 and everything in cached
    shapes = [c for c in cached if c != everything]
    assert all(set(service._ALWAYS) < c for c in shapes)
    # Each statement is built once and reused: the same shape again finds the same statement.
    statement = cached[everything]
    assert service._cas(frozenset({"hub"})) == (statement, everything)
    case = queries.get_case(session, case_id=done.case_id)
    assert (case.state, case.owner, case.version) == ("tasked", "owner.east", 4)


def test_a_blank_unit_on_a_requesters_request_is_their_own(session: Session) -> None:
    requester = Principal(
        username="ds.ne", roles=frozenset({"requester"}), unit_code="NE", clearance="OFFICIAL-SENSITIVE"
    )
    done = service.submit_case(session, request=request_data(requesting_unit=""), by=requester)
    assert queries.get_case(session, case_id=done.case_id).requesting_unit == "NE"


def test_a_requester_withdraws_their_own_units_request(session: Session) -> None:
    done = submit(session)  # North East's
    requester = Principal(
        username="ds.ne", roles=frozenset({"requester"}), unit_code="NE", clearance="OFFICIAL-SENSITIVE"
    )
    service.fire(
        session,
        case_id=done.case_id,
        trigger="withdraw",
        by=requester,
        data={"reason": "Charged by the BCU."},
    )
    assert queries.get_case(session, case_id=done.case_id).state == "withdrawn"


def _tasked_p4(session: Session, tasked_at: datetime) -> int:
    """A drugs request scored P4 (the factories' default inputs: reviewed every 90 days), tasked then."""
    done = service.submit_case(
        session, request=request_data(themes=["drugs"]), by=unchecked("ds.ne"), now=at(2, 9)
    )
    for trigger, when in (("assess", at(3, 9)), ("prioritise", at(3, 12)), ("task", tasked_at)):
        service.fire(
            session,
            case_id=done.case_id,
            trigger=trigger,
            by=unchecked("chair"),
            data=DEFAULT_DATA[trigger],
            now=when,
        )
    return done.case_id


def test_continuing_after_a_review_starts_a_new_review_cycle(session: Session) -> None:
    case_id = _tasked_p4(session, at(4, 10))
    review = DEFAULT_DATA["review"]
    service.fire(
        session, case_id=case_id, trigger="review", by=unchecked("chair"), data=review, now=at(20, 10)
    )
    service.fire(session, case_id=case_id, trigger="continue", by=unchecked("chair"), now=at(20, 11))
    assert aware(queries.get_case(session, case_id=case_id).review_due_at) == at(20, 11) + timedelta(days=90)


def test_a_review_at_the_very_moment_it_falls_due_ends_the_missed_review_escalation(session: Session) -> None:
    case_id = _tasked_p4(session, at(4, 10))
    due = at(4, 10) + timedelta(days=90)
    timers.run_due(session, now=due)  # the review is due: the missed-review escalation is raised
    assert [r[:2] for r in escalation_rows(session, case_id)] == [("review", "open")]
    review = DEFAULT_DATA["review"]
    service.fire(session, case_id=case_id, trigger="review", by=unchecked("chair"), data=review, now=due)
    assert escalation_rows(session, case_id) == [("review", "resolved", "system", due, "ended by review")]
