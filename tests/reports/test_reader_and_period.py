"""Issue 12 items 1 and 4: a report counts only what its reader may see, covers a bounded number of
weeks (the log's own span, at most 262), and stops part-way when told to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from tests.factories import DEFAULT_DATA, request_data, unchecked
from workflow import reports, service
from workflow.access import Forbidden, Principal
from workflow.errors import InvalidInput
from workflow.reports import scan

OFFICIAL_ANALYST = Principal("analyst.official", frozenset({"analyst"}), clearance="OFFICIAL")
SENSITIVE_ANALYST = Principal("analyst.sensitive", frozenset({"analyst"}), clearance="OFFICIAL-SENSITIVE")
EAST_SUPERVISOR = Principal(
    "sup.east", frozenset({"supervisor"}), hub_code="EAST", clearance="OFFICIAL-SENSITIVE"
)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def _submit(session: Session, when: datetime, marking: str = "OFFICIAL-SENSITIVE") -> int:
    request = request_data(protective_marking=marking)
    return service.submit_case(session, request=request, by=unchecked("ds.ne"), now=when).case_id


def test_a_report_counts_only_the_markings_its_reader_is_cleared_for(session: Session) -> None:
    _submit(session, at(2026, 1, 5, 9))
    official = _submit(session, at(2026, 1, 6, 9), marking="OFFICIAL")
    _submit(session, at(2026, 1, 7, 9))
    service.fire(
        session,
        case_id=official,
        trigger="assess",
        by=unchecked("analyst1"),
        data=DEFAULT_DATA["assess"],
        now=at(2026, 1, 7, 12),
    )
    period = {"start": at(2026, 1, 5), "end": at(2026, 1, 12)}

    narrow = reports.evaluation(session, who=OFFICIAL_ANALYST, **period)
    assert narrow["demand"]["requests_total"] == 1
    assert narrow["source"] == {"events_read": 2, "cases_read": 1}  # submit and assess of the OFFICIAL case
    assert narrow["morile"]["assessments_by_band"] == {"P4": 1}
    assert narrow["workload"]["open_by_state"] == {"assessed": 1}

    for everyone in (SENSITIVE_ANALYST, reports.OPERATOR):
        wide = reports.evaluation(session, who=everyone, **period)
        assert wide["demand"]["requests_total"] == 3
        assert wide["source"] == {"events_read": 4, "cases_read": 3}
        assert wide["workload"]["open_by_state"] == {"assessed": 1, "submitted": 2}


def test_a_hub_reader_is_refused_the_whole_centres_evaluation(session: Session) -> None:
    _submit(session, at(2026, 1, 5, 9))
    with pytest.raises(Forbidden, match="centre staff"):
        reports.evaluation(session, who=EAST_SUPERVISOR)


def test_the_weeks_stop_at_the_log_and_a_far_future_end_costs_nothing(session: Session) -> None:
    """The request that locked a server (`to=4715-08-05`) covers only the weeks the log has."""
    _submit(session, at(2026, 1, 7, 9))
    now = at(2026, 1, 21, 12)  # a Wednesday: weeks of 5, 12 and 19 January
    far = reports.evaluation(session, who=reports.OPERATOR, end=at(4715, 8, 5), now=now)
    assert far["period"]["to"] == "4715-08-05T00:00:00+00:00" and far["period"]["from"] is None
    assert far["period"]["weeks"] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert far["demand"]["requests_per_week"] == {"2026-01-05": 1, "2026-01-12": 0, "2026-01-19": 0}
    early = reports.evaluation(session, who=reports.OPERATOR, start=at(1990, 1, 1), end=at(2026, 1, 12))
    assert early["period"]["weeks"] == ["2026-01-05"]  # none before the log's first event
    before = reports.evaluation(session, who=reports.OPERATOR, start=at(2000, 1, 1), end=at(2000, 1, 8))
    assert before["period"]["weeks"] == [] and before["demand"]["requests_total"] == 0


def test_more_than_five_years_of_the_log_is_refused_naming_the_field(session: Session) -> None:
    _submit(session, at(2018, 1, 8, 9))
    _submit(session, at(2026, 1, 7, 9))
    now = at(2026, 1, 21)

    def refused(field: str, **period: datetime) -> str:
        with pytest.raises(InvalidInput) as caught:
            reports.evaluation(session, who=reports.OPERATOR, now=now, **period)
        (problem,) = caught.value.problems
        assert problem.field == field, problem
        assert "at most 262 weeks (5 years)" in problem.message
        return problem.message

    assert "give `from` and `to`" in refused("from")  # the whole log is 8 years
    assert "give a `to` closer to `from`" in refused("to", start=at(2018, 1, 1), end=at(4715, 8, 5))
    assert "give a later `from`" in refused("from", start=at(2018, 1, 1))
    assert "give a `from`" in refused("from", end=at(2026, 1, 12))
    five_years = reports.evaluation(
        session, who=reports.OPERATOR, start=at(2021, 1, 11), end=at(2026, 1, 12), now=now
    )
    assert len(five_years["period"]["weeks"]) == 261
    assert five_years["demand"]["requests_total"] == 1
    with pytest.raises(InvalidInput, match="from: must be before `to`"):
        reports.evaluation(session, who=reports.OPERATOR, start=at(2026, 2, 1), end=at(2026, 1, 1))


def test_a_cancelled_report_stops_between_fetches(session: Session) -> None:
    for day in (5, 6, 7):
        _submit(session, at(2026, 1, day, 9))
    cancel = reports.Cancel()
    rows = scan.batches(session, reports.OPERATOR, end=None, batch=1, cancel=cancel)
    assert len(next(rows)) == 1
    cancel.set("the reader went away")
    with pytest.raises(reports.ReportCancelled, match="the reader went away"):
        next(rows)
    session.rollback()

    with pytest.raises(reports.ReportCancelled, match="the reader went away"):
        reports.evaluation(session, who=reports.OPERATOR, cancel=cancel)
    overdue = reports.Cancel(deadline_seconds=0)
    with pytest.raises(reports.ReportCancelled, match="took longer than 0 s"):
        reports.evaluation(session, who=reports.OPERATOR, cancel=overdue)
    # Nothing is left half-done: the same session reports in full afterwards.
    whole = reports.evaluation(session, who=reports.OPERATOR, cancel=reports.Cancel(deadline_seconds=600))
    assert whole["demand"]["requests_total"] == 3
