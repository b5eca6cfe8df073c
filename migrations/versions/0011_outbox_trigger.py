"""the database writes each event's outbox row itself (one statement fewer per transition)

Every event must reach the outbox in its own transaction (the transactional outbox: no reminder is ever
lost). A trigger on the event table does that inside the INSERT, so no path that appends an event can
forget it, and the write path sends one statement fewer per transition (bench/lifecycle.py).

Imported events (`sctac import`: a legacy case's history at its own dates) are history, not news: they
get no outbox row, so no person or webhook subscription is told of years-old moves.

SQLite drops a table's triggers when a later migration rebuilds the table (batch mode): a migration that
rebuilds case_event must create this trigger again (tests/notifications/test_outbox.py would fail).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 13:45:00.000000
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SQLITE = """
CREATE TRIGGER case_event_outbox AFTER INSERT ON case_event
WHEN NEW."trigger" <> 'imported'
BEGIN
    INSERT INTO event_outbox (event_id, case_id, created_at) VALUES (NEW.id, NEW.case_id, NEW.created_at);
END
"""
POSTGRESQL = (
    """
CREATE FUNCTION case_event_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_outbox (event_id, case_id, created_at) VALUES (NEW.id, NEW.case_id, NEW.created_at);
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER case_event_outbox AFTER INSERT ON case_event
FOR EACH ROW WHEN (NEW."trigger" <> 'imported') EXECUTE FUNCTION case_event_outbox()
""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE)
    else:
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER case_event_outbox")
    else:
        op.execute("DROP TRIGGER case_event_outbox ON case_event")
        op.execute("DROP FUNCTION case_event_outbox()")
