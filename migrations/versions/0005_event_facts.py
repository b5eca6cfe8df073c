"""event facts: payload fields the report reads, as columns, with the report's covering index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:20:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# The facts are defined once, in workflow/facts.py; backfilling with anything else could make the
# audit (which recomputes them with the same function) report events that were never touched.
from workflow.facts import FACTS, facts_of


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 5000

COLUMNS = (
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('themes', sa.Text(), nullable=True),
    sa.Column('capabilities', sa.Text(), nullable=True),
    sa.Column('hub', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('review_days', sa.Integer(), nullable=True),
    sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('harm_total', sa.Float(), nullable=True),
    sa.Column('likelihood_total', sa.Float(), nullable=True),
    sa.Column('response_escalated', sa.Boolean(), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('strands', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('escalation_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=True),
    sa.Column('escalation_id', sa.Integer(), nullable=True),
    sa.Column('step_notify', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
)
INDEX = ['case_id', 'seq', 'created_at', 'trigger', 'from_state', 'to_state', 'actor', *(c.name for c in COLUMNS)]


def upgrade() -> None:
    # Plain ADD COLUMN (nullable): no table rebuild on SQLite, however long the log already is.
    for column in COLUMNS:
        op.add_column('case_event', column)
    _backfill()
    op.create_index('ix_case_event_report', 'case_event', INDEX, unique=False)


def _backfill() -> None:
    conn = op.get_bind()
    event = sa.table(
        'case_event',
        sa.column('id', sa.Integer()),
        sa.column('trigger', sa.String()),
        sa.column('payload', sa.JSON()),
        *(sa.column(c.name, c.type) for c in COLUMNS),
    )
    triggers = sorted({t for _, paths in FACTS.values() for t in paths})
    update = (
        event.update()
        .where(event.c.id == sa.bindparam('p_id'))
        .values({c.name: sa.bindparam(f'p_{c.name}') for c in COLUMNS})
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(event.c.id, event.c.trigger, event.c.payload)
            .where(event.c.id > last, event.c.trigger.in_(triggers))
            .order_by(event.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            update,
            [
                {'p_id': r.id, **{f'p_{k}': v for k, v in facts_of(r.trigger, r.payload or {}).items()}}
                for r in rows
            ],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index('ix_case_event_report', table_name='case_event')
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would trip the outbox's foreign key to events.
    for column in reversed(COLUMNS):
        op.drop_column('case_event', column.name)
