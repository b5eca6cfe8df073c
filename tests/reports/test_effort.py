"""Effort where it is spent (#16): minutes recorded on a step are an event fact the forecast reads, never
guessed, and a bad value is refused naming the field with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import add_cast, make_case
from tests.factories import DEFAULT_DATA, submit, unchecked
from tests.web.pages import visitor
from tests.web.test_cases import MORILE_FORM
from workflow import service
from workflow.db import utcnow
from workflow.errors import InvalidInput
from workflow.reports import OPERATOR, demand
from workflow.tables import EVENT


def _fire(session: Session, case_id: int, trigger: str, **extra: object) -> service.Written:
    data = {**DEFAULT_DATA[trigger], **extra}
    return service.fire(session, case_id=case_id, trigger=trigger, by=unchecked("analyst1"), data=data)


def test_minutes_are_recorded_as_a_fact_and_read_per_stage_and_band(session: Session) -> None:
    case = submit(session).case_id
    _fire(session, case, "assess", minutes=40)
    _fire(session, case, "prioritise")  # nothing recorded: stays unrecorded
    _fire(session, case, "task", minutes=12)
    _fire(session, case, "review", minutes=55)
    rows = session.execute(select(EVENT.c.trigger, EVENT.c.minutes).where(EVENT.c.case_id == case)).all()
    stored = {t: m for t, m in rows}
    assert stored == {"submit": None, "assess": 40, "prioritise": None, "task": 12, "review": 55}

    log = demand.read(session, who=OPERATOR, now=utcnow() + timedelta(minutes=1))
    band = next(b for (s, b) in log.steps if s == "assess")
    assert band.startswith("P")  # the assessment's band, carried to the later steps of the case
    assert log.steps == {("assess", band): 1, ("prioritise", band): 1, ("task", band): 1, ("review", band): 1}
    assert dict(log.minutes) == {("assess", band): [40], ("task", band): [12], ("review", band): [55]}


@pytest.mark.parametrize("minutes", [0, -5, 24 * 60 + 1, "forty", 12.5])
def test_bad_minutes_are_refused_naming_the_field_and_nothing_is_written(
    session: Session, minutes: object
) -> None:
    case = submit(session).case_id
    before = session.execute(select(func.count()).select_from(EVENT)).scalar_one()
    with pytest.raises(InvalidInput) as refused:
        _fire(session, case, "assess", minutes=minutes)
    assert [p.field for p in refused.value.problems] == ["minutes"]
    assert session.execute(select(func.count()).select_from(EVENT)).scalar_one() == before


def test_minutes_belong_to_the_staffed_steps_only(session: Session) -> None:
    case = submit(session).case_id
    with pytest.raises(InvalidInput) as refused:
        _fire(session, case, "withdraw", minutes=5)
    assert [p.field for p in refused.value.problems] == ["minutes"]


def test_the_review_form_takes_minutes_and_names_a_bad_value(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "tasked", owner="owner.east2")
    v = visitor(engine, "owner.east2")
    page = v.get(f"/cases/{made.id}")
    assert 'name="minutes" type="number"' in page.text
    form = {"version": str(made.version), "progress": "Premises searched.", "minutes": "0"}
    refused = v.post(f"/cases/{made.id}/actions/review", form)
    assert refused.status_code == 422 and "minutes" in refused.text.lower()
    done = v.post(f"/cases/{made.id}/actions/review", {**form, "minutes": "35"})
    assert done.status_code == 303
    with Session(engine) as s:
        spent = s.execute(
            select(EVENT.c.minutes).where(EVENT.c.case_id == made.id, EVENT.c.trigger == "review")
        ).scalar_one()
    assert spent == 35


def test_the_assessment_form_takes_minutes(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    assert 'id="assess-minutes" name="minutes"' in v.get(f"/cases/{made.id}").text
    saved = v.post(
        f"/cases/{made.id}/assess", {**MORILE_FORM, "version": "1", "action": "save", "minutes": "50"}
    )
    assert saved.status_code == 303, saved.text
    with Session(engine) as s:
        spent = s.execute(
            select(EVENT.c.minutes).where(EVENT.c.case_id == made.id, EVENT.c.trigger == "assess")
        ).scalar_one()
    assert spent == 50
