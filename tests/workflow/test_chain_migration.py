"""Migration 0008: chains hashed the old, unkeyed way are re-sealed under the chain key once they check
out; a chain already broken stays named; and nothing unkeyed is accepted afterwards."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import USERS
from tests.factories import case_in
from workflow import audit
from workflow.chain import unkeyed_event_hash
from workflow.db import UTCDateTime
from workflow.migrate import alembic_config, upgrade
from workflow.models import User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

_OLD_FIELDS = (
    "case_id",
    "seq",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "reason",
    "payload",
    "created_at",
    "prev_hash",
)
# case_event as it was before migration 0015 (no payload digest).
_OLD_EVENT = sa.table(
    "case_event",
    *(sa.column(n) for n in _OLD_FIELDS if n not in ("payload", "created_at")),
    sa.column("payload", sa.JSON),
    sa.column("created_at", UTCDateTime(timezone=True)),
    sa.column("hash"),
)


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
    # The audit reads today's schema (payload digests, migration 0015), so the old chains are checked
    # here with the old, unkeyed hash itself: every event of every case was hashed that way.
    with blank_engine.connect() as conn:
        rows = conn.execute(sa.select(_OLD_EVENT)).all()
    assert {r.case_id for r in rows} == {c.case_id for c in (intact, tampered, untouched)}
    assert all(unkeyed_event_hash(**{k: getattr(r, k) for k in _OLD_FIELDS}) == r.hash for r in rows), (
        "the downgrade left a chain not hashed the unkeyed way"
    )
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
