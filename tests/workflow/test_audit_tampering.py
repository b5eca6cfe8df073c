"""Issue 12 item 2: the tamperings someone with write access to the database tries, each named by
`sctac audit verify`, and the signed checkpoints that anchor the chains (workflow/audit.py says what
each measure defends against)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from tests.factories import case_in, unchecked
from tests.workflow.test_audit_cli import run
from workflow import audit, checkpoints, service
from workflow.chain import ChainKey, event_hash, payload_digest, unkeyed_event_hash
from workflow.tables import CASE, EVENT, OUTBOX

Hasher = Callable[..., str]


def rechain(conn: Connection, case_id: int, *, from_seq: int, hasher: Hasher) -> None:
    """What a tamperer does after editing a row: recompute every hash from there on and the case head."""
    events = conn.execute(select(EVENT).where(EVENT.c.case_id == case_id).order_by(EVENT.c.seq)).all()
    prev = events[from_seq - 2].hash if from_seq > 1 else "0" * 64
    for ev in events[from_seq - 1 :]:
        fields: dict[str, Any] = {
            k: getattr(ev, k)
            for k in ("case_id", "seq", "trigger", "from_state", "to_state", "actor", "reason", "payload")
        }
        digest = hasher(**fields, created_at=ev.created_at, prev_hash=prev)
        # The payload's digest column too, as a tamperer who read workflow/chain.py would.
        conn.execute(
            update(EVENT)
            .where(EVENT.c.id == ev.id)
            .values(prev_hash=prev, hash=digest, payload_digest=payload_digest(ev.payload, reason=ev.reason))
        )
        prev = digest
    conn.execute(update(CASE).where(CASE.c.id == case_id).values(last_event_hash=prev))


def forge_payload(conn: Connection, case_id: int, seq: int) -> int:
    """Add a made-up note to an event's payload (no report fact changes); returns the event's row id."""
    row = conn.execute(
        select(EVENT.c.id, EVENT.c.payload).where(EVENT.c.case_id == case_id, EVENT.c.seq == seq)
    ).one()
    conn.execute(
        update(EVENT).where(EVENT.c.id == row.id).values(payload={**row.payload, "note": "approved by ACC"})
    )
    return int(row.id)


def delete_last_event_and_rewind(conn: Connection, case_id: int) -> None:
    """Remove the case's last event (and its outbox row) and make the case row agree with the one before."""
    last = conn.execute(
        select(EVENT.c.id, EVENT.c.seq)
        .where(EVENT.c.case_id == case_id)
        .order_by(EVENT.c.seq.desc())
        .limit(1)
    ).one()
    conn.execute(delete(OUTBOX).where(OUTBOX.c.event_id == last.id))
    conn.execute(delete(EVENT).where(EVENT.c.id == last.id))
    before = conn.execute(
        select(EVENT.c.seq, EVENT.c.hash, EVENT.c.to_state).where(
            EVENT.c.case_id == case_id, EVENT.c.seq == last.seq - 1
        )
    ).one()
    conn.execute(
        update(CASE)
        .where(CASE.c.id == case_id)
        .values(state=before.to_state, version=before.seq, event_seq=before.seq, last_event_hash=before.hash)
    )


def test_a_state_closed_by_hand_with_no_event_is_named(engine: Engine, session: Session) -> None:
    victim = case_in(session, "assessed")
    with engine.begin() as conn:  # closed, and the version bumped as if a change had been made
        conn.execute(
            text("UPDATE \"case\" SET state = 'closed', version = 3 WHERE id = :c"), {"c": victim.case_id}
        )
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert f"BROKEN {victim.reference} event 2: case says closed but its events end in assessed" in bad.stderr
    assert (
        f"BROKEN {victim.reference} event 2: case row is at version 3 but its chain ends at event 2"
        " (row altered)" in bad.stderr
    )
    assert "audit failed: 1 broken chain(s), 2 problem(s); 1 cases, 2 events checked" in bad.stderr


def test_a_payload_forged_and_rechained_with_the_public_hash_is_named(
    engine: Engine, session: Session
) -> None:
    case_in(session, "tasked")
    victim = case_in(session, "prioritised")
    with engine.begin() as conn:
        row_id = forge_payload(conn, victim.case_id, 2)
        rechain(conn, victim.case_id, from_seq=2, hasher=unkeyed_event_hash)
    bad = run(engine, "audit", "verify")
    assert bad.returncode == 1
    assert (
        f"BROKEN {victim.reference} event 2 (row id {row_id}): hashed without the chain key (forged with the"
        " public hash function, or written by code older than migration 0008)" in bad.stderr
    )
    assert "audit failed: 1 broken chain(s), 1 problem(s)" in bad.stderr


def test_a_payload_rechained_under_a_guessed_key_is_named(engine: Engine, session: Session) -> None:
    victim = case_in(session, "prioritised")
    guessed = ChainKey(b"sctac" * 8, source="a guess")
    with Session(engine) as s, s.begin():
        conn = s.connection()
        row_id = forge_payload(conn, victim.case_id, 3)
        rechain(conn, victim.case_id, from_seq=3, hasher=lambda **f: event_hash(**f, key=guessed))
    with Session(engine) as s:
        report = audit.verify(s)
    assert [str(b) for b in report.breaks] == [
        f"{victim.reference} event 3 (row id {row_id}): contents do not match its hash (row altered)"
    ]


def test_a_deleted_last_event_with_the_row_rewound_is_named_by_the_checkpoint(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "heads.checkpoint"
    case_in(session, "assessed")
    victim = case_in(session, "prioritised")
    written = run(engine, "audit", "checkpoint", "--checkpoint", str(checkpoint))
    assert written.returncode == 0, written.stderr
    with engine.begin() as conn:
        delete_last_event_and_rewind(conn, victim.case_id)

    # The database alone is consistent again: only the checkpoint still knows the old head.
    with Session(engine) as s:
        assert audit.verify(s).ok
    bad = run(engine, "audit", "verify", "--checkpoint", str(checkpoint))
    assert bad.returncode == 1
    when = checkpoints.read_checkpoint(checkpoint)
    assert when is not None
    assert (
        f"BROKEN {victim.reference} event 3: removed since the checkpoint of {when.when} (it holds this case"
        " up to event 3; the database ends at event 2)" in bad.stderr
    )
    assert "audit failed: 1 broken chain(s), 1 problem(s); 2 cases, 4 events checked" in bad.stderr

    # ...and the next checkpoint refuses to anchor the shortened chain, leaving the old one in place.
    before = checkpoint.read_bytes()
    again = run(engine, "audit", "checkpoint", "--checkpoint", str(checkpoint))
    assert again.returncode == 1
    assert "no checkpoint written" in again.stderr
    assert checkpoint.read_bytes() == before
    with Session(engine) as s, pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.write_checkpoint(s, path=checkpoint)
    assert [(p.case_id, p.seq) for p in refused.value.problems] == [(victim.case_id, 3)]


def test_a_chain_recomputed_with_the_key_itself_is_named_by_the_checkpoint(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    """Someone holding the key can rewrite a chain that verifies; the older signed head still differs."""
    checkpoint = tmp_path / "heads.checkpoint"
    victim = case_in(session, "tasked")
    with Session(engine) as s:
        checkpoints.write_checkpoint(s, path=checkpoint)
    with engine.begin() as conn:
        forge_payload(conn, victim.case_id, 2)
        rechain(conn, victim.case_id, from_seq=2, hasher=event_hash)
    with Session(engine) as s:
        assert audit.verify(s).ok
        report = audit.verify(s, checkpoint_file=checkpoint)
        head = s.execute(
            select(EVENT.c.id).where(EVENT.c.case_id == victim.case_id, EVENT.c.seq == 4)
        ).scalar_one()
    assert [(str(b), b.kind) for b in report.breaks] == [
        (
            f"{victim.reference} event 4 (row id {head}): differs from the checkpoint of"
            f" {report.checkpoint.when if report.checkpoint else '?'} (the chain was rewritten up to here)",
            "checkpoint",
        )
    ]


def test_a_case_deleted_outright_is_named_by_the_checkpoint(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "heads.checkpoint"
    victim = case_in(session, "submitted")
    with Session(engine) as s:
        checkpoints.write_checkpoint(s, path=checkpoint)
    with engine.begin() as conn:
        for table in ("event_outbox", "decision", "timer", "case_event", "target_key", "target_name"):
            conn.execute(text(f'DELETE FROM "{table}" WHERE case_id = :c'), {"c": victim.case_id})
        conn.execute(text('DELETE FROM "case" WHERE id = :c'), {"c": victim.case_id})
    with Session(engine) as s:
        assert audit.verify(s).ok  # nothing left in the database to disagree
        report = audit.verify(s, checkpoint_file=checkpoint)
    assert [str(b) for b in report.breaks] == [
        f"case {victim.case_id} event 1: case removed since the checkpoint of"
        f" {report.checkpoint.when if report.checkpoint else '?'} (it holds this case up to event 1; the"
        " database holds none of them)"
    ]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda doc: doc["heads"][0].__setitem__(1, doc["heads"][0][1] - 1),
            "its signature does not match its contents (the file was altered)",
        ),
        (lambda doc: doc["heads"].pop(), "its signature does not match its contents (the file was altered)"),
        (
            lambda doc: doc.__setitem__("key_id", "0123456789abcdef"),
            "signed with another chain key (key id 0123456789abcdef; this process holds ",
        ),
    ],
    ids=["seq lowered", "head removed", "key id changed"],
)
def test_a_hand_edited_checkpoint_is_named(
    engine: Engine, session: Session, tmp_path: Path, edit: Callable[[dict[str, Any]], None], problem: str
) -> None:
    checkpoint = tmp_path / "heads.checkpoint"
    case_in(session, "assessed")
    case_in(session, "submitted")
    with Session(engine) as s:
        checkpoints.write_checkpoint(s, path=checkpoint)
    doc = json.loads(checkpoint.read_text())
    edit(doc)
    checkpoint.write_text(json.dumps(doc))
    bad = run(engine, "audit", "verify", "--checkpoint", str(checkpoint))
    assert bad.returncode == 1
    assert f"BROKEN checkpoint {checkpoint}: {problem}" in bad.stderr
    assert "audit failed: 0 broken chain(s), 1 problem(s); 2 cases, 3 events checked" in bad.stderr
    # Evidence is not overwritten: a new checkpoint is refused while this one does not verify.
    with Session(engine) as s, pytest.raises(checkpoints.CheckpointInvalid):
        checkpoints.write_checkpoint(s, path=checkpoint)


def test_a_malformed_checkpoint_is_named_with_file_line_and_column(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "heads.checkpoint"
    case_in(session, "submitted")
    with Session(engine) as s:
        checkpoints.write_checkpoint(s, path=checkpoint)
    checkpoint.write_text('{"format": "sctac-checkpoint/1",\n  heads: []}')  # an edit gone wrong
    with Session(engine) as s:
        report = audit.verify(s, checkpoint_file=checkpoint)
    assert not report.ok and report.breaks == []
    assert report.checkpoint_problem == (
        f"{checkpoint}:2:3: not a sctac checkpoint: malformed JSON"
        " (Expecting property name enclosed in double quotes)"
    )


def test_a_clean_database_verifies_clean_against_its_checkpoint(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "heads.checkpoint"
    case_in(session, "tasked")
    first = case_in(session, "reviewed")
    written = run(engine, "audit", "checkpoint", "--checkpoint", str(checkpoint))
    assert written.returncode == 0, written.stderr
    assert written.stdout.startswith(
        f"checkpoint written: {checkpoint}: 2 chain heads, 9 events, signed with"
    )
    assert checkpoint.stat().st_mode & 0o077 == 0

    # The cases move on after the checkpoint: still clean, and the next checkpoint accepts the growth.
    case_in(session, "submitted")
    service.fire(session, case_id=first.case_id, trigger="continue", by=unchecked("analyst1"), data={})
    ok = run(engine, "audit", "verify", "--checkpoint", str(checkpoint))
    assert ok.returncode == 0, ok.stderr
    signed = checkpoints.read_checkpoint(checkpoint)
    assert signed is not None
    assert ok.stdout.strip() == (
        f"audit ok: 3 cases, 11 events checked; every head of the checkpoint of {signed.when} is present"
    )
    with Session(engine) as s:
        again = checkpoints.write_checkpoint(s, path=checkpoint)
    assert len(again.heads) == 3 and again.events == 11


def test_verify_without_a_checkpoint_says_so(engine: Engine, session: Session, tmp_path: Path) -> None:
    case_in(session, "submitted")
    missing = tmp_path / "none-yet.checkpoint"
    out = run(engine, "audit", "verify")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "audit ok: 1 cases, 1 events checked"
    assert "sctac: note:" in out.stderr and "checkpoint" in out.stderr
    named = run(engine, "audit", "verify", "--checkpoint", str(missing))
    assert named.returncode == 1
    assert named.stderr.strip() == f"sctac: {missing}: no such checkpoint file"
