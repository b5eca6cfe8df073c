"""The write path's prepared statements read and write exactly what SQLAlchemy would, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import case_in
from workflow.db import utcnow
from workflow.prepared import Prepared
from workflow.tables import CASE, TIMER


def test_a_case_read_through_the_driver_equals_the_same_read_through_sqlalchemy(engine: Engine) -> None:
    with Session(engine) as s:
        made = case_in(s, "tasked")  # every kind of column set: JSON lists, times, floats, booleans
        query = select(CASE).where(CASE.c.id == bindparam("p_id"))
        expected = dict(s.execute(query, {"p_id": made.case_id}).mappings().one())
        assert Prepared(query).first(s, {"p_id": made.case_id}) == expected
        assert expected["sla_due_at"] is None or expected["sla_due_at"].tzinfo is not None
        assert Prepared(query).first(s, {"p_id": -1}) is None


def test_values_written_through_the_driver_read_back_as_given(engine: Engine) -> None:
    with Session(engine) as s:
        made = case_in(s, "submitted")
        row = dict(s.execute(select(TIMER).where(TIMER.c.case_id == made.case_id)).mappings().first() or {})
        del row["id"]
        row.update(kind="test", detail={"nested": [1, "two"]}, attempts=3)
        Prepared(insert(TIMER)).executemany(s, [row])
        back = s.execute(select(TIMER).where(TIMER.c.kind == "test")).mappings().one()
        assert {k: back[k] for k in row} == row


def test_a_prepared_insert_refuses_what_it_would_get_wrong(engine: Engine) -> None:
    with Session(engine) as s:
        made = case_in(s, "submitted")
        now = utcnow()
        row = {"case_id": made.case_id, "kind": "test", "due_at": now, "status": "pending", "detail": {}}
        row["created_at"] = now
        # SQLAlchemy fills a Python-side default (the timer's `attempts`) itself; the driver would not.
        with pytest.raises(ValueError, match="attempts"):
            Prepared(insert(TIMER)).executemany(s, [row])
        prepared = Prepared(insert(TIMER))
        prepared.executemany(s, [{**row, "attempts": 0}])
        with pytest.raises(KeyError, match="attempts"):
            prepared.executemany(s, [{**row, "rule": "r"}])  # same number of keys, one of them different
        with pytest.raises(ValueError, match="expected exactly"):
            prepared.executemany(s, [{**row, "attempts": 0, "rule": "r"}])  # one more: it would be lost
