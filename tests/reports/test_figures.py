"""Report figures against values computed by hand from a handful of cases driven with explicit times.

All times are UTC in January/February 2026 (GMT, so London wall time too). Every case is submitted with
the factory's request (North East BCU -> EAST hub; child exploitation, so assessment is due within two
working days). `morile_inputs()` scores P4 (risk 7.5); P1_CAPABILITY_D scores P1 and raises a rule
escalation. The report period is [2026-01-05, 2026-03-02).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from tests.factories import DEFAULT_DATA, P1_CAPABILITY_D, request_data, unchecked
from workflow import escalations, reports, service, timers
from workflow.access import Principal
from workflow.reads import escalations as reads_escalations

CHAIR = Principal("chair", frozenset({"supervisor"}), clearance="OFFICIAL-SENSITIVE")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _fire(session: Session, case_id: int, trigger: str, when: datetime, **data: Any) -> None:
    service.fire(
        session,
        case_id=case_id,
        trigger=trigger,
        by=unchecked("owner.east" if trigger in ("review", "continue", "close") else "analyst1"),
        data=data or DEFAULT_DATA[trigger],
        now=when,
    )


def _submit(session: Session, when: datetime) -> int:
    return service.submit_case(session, request=request_data(), by=unchecked("ds.ne"), now=when).case_id


def _drive(session: Session) -> None:
    """Five cases, in time order (timers fire when run_due is called, as a worker would)."""
    a = _submit(session, at(1, 5, 9))  # A: Mon 09:00
    b = _submit(session, at(1, 5, 10))  # B: Mon 10:00
    e = _submit(session, at(1, 5, 11))  # E: Mon 11:00
    _fire(session, a, "assess", at(1, 5, 15))  # A submitted 6 h, P4
    _fire(session, a, "prioritise", at(1, 6, 10))  # A assessed 19 h
    c = _submit(session, at(1, 6, 9))  # C: Tue 09:00
    _fire(session, a, "task", at(1, 6, 12))  # A prioritised 2 h; review due in 90 days
    _fire(session, c, "withdraw", at(1, 6, 13))  # C submitted 4 h, unscored
    _fire(session, b, "assess", at(1, 7, 10))  # B submitted 48 h (due Wed 10:00: met), P4
    d = _submit(session, at(1, 7, 9))  # D: Wed 09:00
    _fire(session, d, "assess", at(1, 7, 12), assessment=P1_CAPABILITY_D)  # D submitted 3 h, P1: escalation
    _fire(session, d, "prioritise", at(1, 7, 13))  # D assessed 1 h
    (rule_escalation,) = reads_escalations.list_escalations(session, who=CHAIR, statuses=["open"])
    escalations.acknowledge(
        session, escalation_id=rule_escalation.escalation.id, by=unchecked("sup.east"), now=at(1, 7, 14)
    )  # 2 h
    _fire(session, d, "task", at(1, 7, 15))  # D prioritised 2 h; P1 review due 14 days on: Wed 21 Jan 15:00
    # E's assessment was due Wed 7 Jan 11:00 (two working days): the worker finds it breached.
    timers.run_due(session, now=at(1, 8, 9))
    _fire(session, b, "reject", at(1, 8, 10), reason="Not a specialist crime matter.")  # B assessed 24 h
    _fire(session, e, "assess", at(1, 8, 10))  # E submitted 71 h, breached; ends its SLA escalation; P4
    # D's review is overdue: the worker reminds (18 Jan) and raises a review escalation.
    timers.run_due(session, now=at(1, 22, 9))
    _fire(session, d, "review", at(1, 22, 12))  # D tasked 357 h (14 d 21 h), late; ends the escalation
    _fire(session, d, "continue", at(1, 22, 12, 30))  # D reviewed 0.5 h
    _fire(session, a, "review", at(2, 5, 12))  # A tasked 720 h (30 days), on time
    _fire(session, a, "close", at(2, 5, 13))  # A reviewed 1 h; disrupted, pursue


@pytest.fixture
def figures(session: Session) -> dict[str, Any]:
    _drive(session)
    return reports.evaluation(session, who=reports.OPERATOR, start=at(1, 5, 0), end=at(3, 2, 0))


def test_demand_and_backlog(figures: dict[str, Any]) -> None:
    demand = figures["demand"]
    assert demand["requests_per_week"]["2026-01-05"] == 5
    assert demand["requests_total"] == 5
    assert demand["by_unit"]["NE"]["2026-01-05"] == 5
    assert demand["by_hub"]["EAST"]["2026-01-05"] == 5
    assert demand["by_theme"]["county_lines"]["2026-01-05"] == 5
    assert demand["by_capability"]["surveillance"]["2026-01-12"] == 0
    # Week of 5 Jan: 5 opened, B (rejected) and C (withdrawn) ended -> 3 open; A closes in week of 2 Feb.
    assert demand["backlog_at_week_end"]["2026-01-05"] == 3
    assert demand["backlog_at_week_end"]["2026-01-26"] == 3
    assert demand["backlog_at_week_end"]["2026-02-02"] == 2
    assert len(figures["period"]["weeks"]) == 8


def test_time_in_stage(figures: dict[str, Any]) -> None:
    flow = figures["flow"]["time_in_stage_hours"]
    # submitted, P4: A 6, B 48, E 71 -> median 48; p90 = value at ceil(0.9*3) = 3rd = 71.
    assert flow["submitted"]["P4"] == {"n": 3, "median": 48.0, "p90": 71.0}
    assert flow["submitted"]["P1"] == {"n": 1, "median": 3.0, "p90": 3.0}  # D
    assert flow["submitted"]["unscored"] == {"n": 1, "median": 4.0, "p90": 4.0}  # C
    # assessed, P4: A 19, B 24 -> median (19+24)/2 = 21.5; p90 = ceil(1.8) = 2nd = 24.
    assert flow["assessed"]["P4"] == {"n": 2, "median": 21.5, "p90": 24.0}
    assert flow["assessed"]["P1"] == {"n": 1, "median": 1.0, "p90": 1.0}
    assert flow["prioritised"]["P4"]["median"] == 2.0
    assert flow["prioritised"]["P1"]["median"] == 2.0
    assert flow["tasked"]["P4"]["median"] == 720.0
    assert flow["tasked"]["P1"]["median"] == 357.0
    assert flow["reviewed"]["P4"]["median"] == 1.0
    assert flow["reviewed"]["P1"]["median"] == 0.5
    throughput = figures["flow"]["throughput_per_week"]
    assert throughput["assess"]["2026-01-05"] == 4
    assert throughput["close"]["2026-02-02"] == 1


def test_compliance(figures: dict[str, Any]) -> None:
    compliance = figures["compliance"]
    assert compliance["sla"]["submitted"]["P4"] == {"met": 2, "breached": 1}  # E breached
    assert compliance["sla"]["submitted"]["unscored"] == {"met": 1, "breached": 0}
    assert compliance["sla"]["assessed"]["P4"] == {"met": 2, "breached": 0}  # A prioritised, B rejected
    assert compliance["reviews"] == {"P1": {"on_time": 0, "late": 1}, "P4": {"on_time": 1, "late": 0}}
    assert (
        compliance["reviews_overdue_open"] == 1
    )  # D: continued 22 Jan 12:30, next review due 5 Feb, none by 2 Mar
    esc = compliance["escalations"]
    assert esc["raised_by_source"] == {"review": 1, "rule": 1, "sla": 1}
    assert esc["acknowledged"] == 1
    assert esc["time_to_acknowledge_hours"] == {"n": 1, "median": 2.0, "p90": 2.0}
    assert esc["resolved_by_case_change"] == 2  # E's SLA one (assessed), D's review one (reviewed)


def test_morile_outcomes_workload(figures: dict[str, Any]) -> None:
    morile = figures["morile"]
    assert morile["first_assessment_bands"] == {"P1": 1, "P4": 3}
    assert morile["band_movement"] == {}
    cells = morile["risk_matrix"]["cases"]
    # A, B, E: harm total 9.0, likelihood total 3; D: 45.0 x 6.
    assert cells["harm 0-10"]["3"] == 3
    assert cells["harm 40-50"]["6"] == 1
    assert morile["response_escalated"]["of"] == 4
    outcomes = figures["outcomes"]
    assert outcomes["closed_by_outcome"] == {"disrupted": 1}
    assert outcomes["closed_by_strand"] == {"protect": 1, "pursue": 1}  # A's review and close
    assert outcomes["actions_by_strand"] == {"protect": 2, "pursue": 3}  # reviews of A and D, close of A
    workload = figures["workload"]
    assert workload["assessments_per_analyst_per_week"]["analyst1"]["2026-01-05"] == 4
    assert workload["open_by_owner"] == {"owner.east": 1}  # D
    assert workload["open_by_hub"] == {"EAST": 2}  # D and E
    assert workload["open_by_state"] == {"assessed": 1, "tasked": 1}


def test_period_clips_what_happened_outside_it(session: Session) -> None:
    _drive(session)
    february = reports.evaluation(session, who=reports.OPERATOR, start=at(2, 1, 0), end=at(3, 1, 0))
    assert february["demand"]["requests_total"] == 0
    assert february["flow"]["time_in_stage_hours"]["tasked"] == {
        "P4": {"n": 1, "median": 720.0, "p90": 720.0}
    }
    assert february["outcomes"]["closed_by_outcome"] == {"disrupted": 1}
    # As at 1 Feb the backlog still counts the cases opened in January.
    assert february["demand"]["backlog_at_week_end"]["2026-02-02"] == 2


def test_figures_are_in_utc_whatever_the_database_session_time_zone(session: Session) -> None:
    """Weeks start on Monday UTC: a PostgreSQL session set to UTC-12 (where Monday 09:00 UTC is still
    Sunday) must not move Monday's requests into the week before."""
    _drive(session)
    utc = reports.evaluation(session, who=reports.OPERATOR, start=at(1, 5, 0), end=at(3, 2, 0))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TIME ZONE 'Etc/GMT+12'"))  # POSIX sign: UTC-12
    elsewhere = reports.evaluation(session, who=reports.OPERATOR, start=at(1, 5, 0), end=at(3, 2, 0))
    assert elsewhere == utc
    assert elsewhere["demand"]["requests_per_week"]["2026-01-05"] == 5


def test_stats_by_hand() -> None:
    # 10 values: median (5+6)/2 = 5.5; p90 = 9th value = 9.
    assert reports.stats([float(v) for v in range(10, 0, -1)]) == {"n": 10, "median": 5.5, "p90": 9.0}
    assert reports.stats([]) == {"n": 0, "median": None, "p90": None}
