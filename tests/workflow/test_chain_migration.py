"""Migration 0008: chains hashed the old, unkeyed way are re-sealed under the chain key once they check
out; a chain already broken stays named; and nothing unkeyed is accepted afterwards."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import USERS
from tests.factories import case_in
from workflow import audit
from workflow.migrate import alembic_config, upgrade
from workflow.models import User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook


def _migrate(engine: Engine, direction: str, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        getattr(command, direction)(cfg, revision)


def test_unkeyed_chains_are_resealed_and_a_broken_one_stays_named(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    with Session(blank_engine, expire_on_commit=False) as s:
        sync_reference(s, rules=get_rulebook())
        s.add_all(User(**u) for u in USERS)
        s.commit()
        intact = case_in(s, "tasked")
        tampered = case_in(s, "prioritised")
        untouched = case_in(s, "submitted")

    _migrate(blank_engine, "downgrade", "0008-1")  # back to the unkeyed chain of older databases
    with Session(blank_engine) as s:
        before = audit.verify(s)
    assert {(b.reference, b.seq) for b in before.breaks} == {
        (c.reference, 1) for c in (intact, tampered, untouched)
    }
    assert all("hashed without the chain key" in b.problem for b in before.breaks)
    with blank_engine.begin() as conn:  # someone edited an old event before the upgrade
        conn.execute(
            text("UPDATE case_event SET reason = 'hmm' WHERE case_id = :c AND seq = 2"),
            {"c": tampered.case_id},
        )

    upgrade(blank_engine)
    with Session(blank_engine) as s:
        after = audit.verify(s)
    assert [str(b).split(" (row id")[0] + " " + b.problem for b in after.breaks] == [
        f"{tampered.reference} event 2 contents do not match its hash (row altered)"
    ]
    assert (after.cases, after.events) == (3, 4 + 3 + 1)
