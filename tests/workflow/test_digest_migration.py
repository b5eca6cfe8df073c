"""Migration `retention` (0015): chains sealed the keyed-inline way are re-sealed over payload digests
once they check out, the signed checkpoint's heads are re-signed to the same events' new hashes, a chain
already broken stays named (its checkpointed head is not laundered), and cases that had already ended
get their retention review date."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import USERS
from tests.factories import case_in
from tests.workflow.test_chain_migration import _migrate
from workflow import audit, checkpoints
from workflow.migrate import upgrade
from workflow.models import User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook


def _heads(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text('SELECT id, last_event_hash FROM "case"')).all())  # type: ignore[arg-type]


def test_inline_chains_are_resealed_by_digest_with_their_checkpoint(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    with Session(blank_engine, expire_on_commit=False) as s:
        sync_reference(s, rules=get_rulebook())
        s.add_all(User(**u) for u in USERS)
        s.commit()
        intact = case_in(s, "closed")
        tampered = case_in(s, "tasked")
    path = checkpoints.checkpoint_path(database_url=blank_engine.url)
    if path is not None:
        with Session(blank_engine) as s:
            checkpoints.write_checkpoint(s, path=path)
    digest_heads = _heads(blank_engine)

    _migrate(blank_engine, "downgrade", "0010")  # back to the chain of older databases
    inline_heads = _heads(blank_engine)
    assert inline_heads[intact.case_id] != digest_heads[intact.case_id]
    if path is not None:  # the checkpoint followed the downgrade, so it still anchors every chain
        signed = checkpoints.read_checkpoint(path)
        assert signed is not None and signed.heads[intact.case_id][1] == inline_heads[intact.case_id]
    with blank_engine.begin() as conn:  # someone edited an old event before the upgrade
        conn.execute(
            text("UPDATE case_event SET reason = 'hmm' WHERE case_id = :c AND seq = 2"),
            {"c": tampered.case_id},
        )

    upgrade(blank_engine)
    assert _heads(blank_engine)[intact.case_id] == digest_heads[intact.case_id]  # the same seal as new
    with blank_engine.connect() as conn:  # the case that ended before the upgrade has its review date
        group = conn.execute(
            text('SELECT retention_group FROM "case" WHERE id = :c'), {"c": intact.case_id}
        ).scalar_one()
    assert group == "mopi-3-closed-p4"
    with Session(blank_engine) as s:
        after = audit.verify(s, checkpoint_file=path)
    assert [(b.reference, b.seq, b.problem) for b in after.breaks] == [
        (tampered.reference, 2, "contents do not match its hash (row altered)")
    ]
    assert after.checkpoint_problem is None
    if path is not None:
        assert after.checkpoint is not None and intact.case_id in after.checkpoint.heads
