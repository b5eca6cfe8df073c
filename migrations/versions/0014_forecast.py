"""effort: the minutes a person recorded on a step, as an event fact (#16, the FBC staffing model)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:40:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The report's covering index holds every fact column (workflow/models/cases.py), so it is rebuilt with
# the new one. No backfill: no event written before could carry minutes (the input refused the field).
_BEFORE = [
    'case_id', 'seq', 'created_at', 'trigger', 'from_state', 'to_state', 'actor', 'unit', 'themes',
    'capabilities', 'hub', 'review_days', 'band', 'harm_total', 'likelihood_total', 'response_escalated',
    'owner', 'outcome', 'strands', 'escalation_source', 'escalation_level', 'escalation_id', 'step_notify',
]


def upgrade() -> None:
    op.add_column('case_event', sa.Column('minutes', sa.Integer(), nullable=True))
    op.drop_index('ix_case_event_report', table_name='case_event')
    op.create_index('ix_case_event_report', 'case_event', [*_BEFORE, 'minutes'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_event_report', table_name='case_event')
    op.create_index('ix_case_event_report', 'case_event', _BEFORE, unique=False)
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would trip the outbox's foreign key to events.
    op.drop_column('case_event', 'minutes')
