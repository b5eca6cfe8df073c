"""`checkpoint_if_due`, the worker's one-line call: writes when due, is a no-op otherwise, never raises."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import case_in
from tests.workflow.test_audit_tampering import delete_last_event_and_rewind
from workflow import checkpoints
from workflow.db import utcnow


def test_the_worker_checkpoint_is_written_when_due_and_refused_after_a_loss(
    engine: Engine, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    done = case_in(session, "prioritised")
    path = checkpoints.checkpoint_path(database_url=engine.url)
    with Session(engine) as s:
        first = checkpoints.checkpoint_if_due(s)
    if path is None:  # PostgreSQL with no SCTAC_CHECKPOINT_PATH: nowhere to write, nothing done
        assert first is None
        return
    assert first is not None and first.heads == {done.case_id: (3, first.heads[done.case_id][1])}
    assert path.exists()
    with Session(engine) as s:
        assert checkpoints.checkpoint_if_due(s) is None  # written moments ago: not due
    with engine.begin() as conn:
        delete_last_event_and_rewind(conn, done.case_id)
    before = path.read_bytes()
    later = utcnow() + timedelta(hours=2)
    with Session(engine) as s, caplog.at_level(logging.ERROR, logger="workflow.checkpoints"):
        assert checkpoints.checkpoint_if_due(s, now=later) is None
    assert path.read_bytes() == before
    assert "audit checkpoint not written: not writing a checkpoint: 1 chain(s) lost events" in caplog.text
