"""Issue 12 item 23 (data half): the audit status of one case's chain, for the case page."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import case_in
from tests.workflow.test_audit_tampering import delete_last_event_and_rewind
from workflow import checkpoints
from workflow.audit import case_chain_status


def test_an_untouched_case_is_verified(engine: Engine, session: Session, tmp_path: Path) -> None:
    done = case_in(session, "tasked")
    status = case_chain_status(session, case_id=done.case_id, checkpoint_file=tmp_path / "none.checkpoint")
    assert status.ok and status.events == 4 and status.lines == []
    assert (status.altered_seqs, status.row_mismatch, status.lost_since_checkpoint) == ((), False, False)
    assert status.summary == "History verified: all 4 events are sealed and linked."


def test_an_altered_event_and_a_hand_set_state_are_shown(engine: Engine, session: Session) -> None:
    done = case_in(session, "reviewed")
    other = case_in(session, "assessed")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE case_event SET actor = 'chair' WHERE case_id = :c AND seq = 3"), {"c": done.case_id}
        )
        conn.execute(text("UPDATE \"case\" SET state = 'closed' WHERE id = :c"), {"c": done.case_id})
    status = case_chain_status(session, case_id=done.case_id)
    assert not status.ok
    assert status.altered_seqs == (3,)
    assert status.row_mismatch
    assert status.lines == [
        "Event 3: contents do not match its hash (row altered).",
        "Event 5: case says closed but its events end in reviewed.",
    ]
    assert status.summary.startswith("This case's history does not verify")
    assert case_chain_status(session, case_id=other.case_id).ok  # one case's damage is its own


def test_a_tail_removed_since_the_checkpoint_is_shown(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "heads.checkpoint"
    done = case_in(session, "prioritised")
    with Session(engine) as s:
        signed = checkpoints.write_checkpoint(s, path=path)
    assert case_chain_status(session, case_id=done.case_id, checkpoint_file=path).checkpoint_at == (
        signed.written_at
    )
    with engine.begin() as conn:
        delete_last_event_and_rewind(conn, done.case_id)
    status = case_chain_status(session, case_id=done.case_id, checkpoint_file=path)
    assert (status.ok, status.lost_since_checkpoint, status.altered_seqs, status.row_mismatch) == (
        False,
        True,
        (),
        False,
    )
    assert status.lines == [
        f"Event 3: removed since the checkpoint of {signed.when} (it holds this case up to event 3;"
        " the database ends at event 2)."
    ]
