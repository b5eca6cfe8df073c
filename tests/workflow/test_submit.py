"""Submitting a request: validation names each bad field, and nothing is half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.factories import request_data, unchecked
from workflow import service
from workflow.errors import InvalidInput
from workflow.models import Case, CaseEvent


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.exec(select(func.count()).select_from(Case)).one()[0],
        session.exec(select(func.count()).select_from(CaseEvent)).one()[0],
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"requesting_unit": "ZZ"}, ["requesting_unit: unknown or inactive unit 'ZZ'"]),
        ({"themes": ["drugs", "knif_crime"]}, ["themes.1: unknown 'knif_crime'"]),
        ({"themes": []}, ["themes: List should have at least 1 item after validation, not 0"]),
        ({"target_type": "boat"}, ["target_type: unknown 'boat'"]),
        (
            {"protective_marking": "SECRET"},
            ["protective_marking: Input should be 'OFFICIAL' or 'OFFICIAL-SENSITIVE'"],
        ),
        ({"title": "x"}, ["title: String should have at least 3 characters"]),
        ({"summary": "a\x00b"}, ["summary: Value error, contains control characters"]),
        ({"colour": "red"}, ["colour: unknown field"]),
        ({"capabilities": "surveillance"}, ["capabilities: Input should be a valid list"]),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(
    session: Session, overrides: dict, expected: list[str]
) -> None:
    with pytest.raises(InvalidInput) as err:
        service.submit_case(session, request=request_data(**overrides), by=unchecked("ds.ne"))
    messages = [str(p) for p in err.value.problems]
    assert len(messages) == len(expected)
    for got, want in zip(messages, expected, strict=True):
        assert got.startswith(want), got
    assert _counts(session) == (0, 0)


def test_every_problem_is_reported_at_once(session: Session) -> None:
    data = request_data(requesting_unit="ZZ", themes=["nope"], target_type="boat")
    with pytest.raises(InvalidInput) as err:
        service.submit_case(session, request=data, by=unchecked("ds.ne"))
    assert [p.field for p in err.value.problems] == ["requesting_unit", "target_type", "themes.0"]


def test_missing_fields_are_all_named(session: Session) -> None:
    with pytest.raises(InvalidInput) as err:
        service.submit_case(session, request={}, by=unchecked("ds.ne"))
    assert {p.field for p in err.value.problems} == {
        "title",
        "summary",
        "requesting_unit",
        "target_type",
        "target_name",
        "themes",
        "capabilities",
    }


def test_duplicate_themes_are_folded(session: Session) -> None:
    done = service.submit_case(
        session, request=request_data(themes=["drugs", "drugs", "gangs"]), by=unchecked("ds.ne")
    )
    assert session.get(Case, done.case_id).themes == ["drugs", "gangs"]  # type: ignore[union-attr]
