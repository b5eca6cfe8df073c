"""records: the subject index (tokens and fuzzy keys) and the subject-access log

Notes and attachments are case events (no table of their own); the index is derived from the cases and
those events and is filled here for the cases already stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 14:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('subject_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('marking', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subject_token', schema=None) as batch_op:
        batch_op.create_index('ix_subject_token_token_item', ['token', 'case_id', 'event_seq'], unique=False)
        batch_op.create_index('ix_subject_token_case_seq', ['case_id', 'event_seq'], unique=False)

    op.create_table('subject_key',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('key', 'token')
    )

    op.create_table('subject_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('matches', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subject_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subject_access_at'), ['at'], unique=False)
        batch_op.create_index('ix_subject_access_username_at', ['username', 'at'], unique=False)

    # The cases already stored get their index entries now (new ones are indexed as they are written).
    from workflow.subjects import reindex

    reindex(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('subject_access', schema=None) as batch_op:
        batch_op.drop_index('ix_subject_access_username_at')
        batch_op.drop_index(batch_op.f('ix_subject_access_at'))
    op.drop_table('subject_access')
    op.drop_table('subject_key')
    with op.batch_alter_table('subject_token', schema=None) as batch_op:
        batch_op.drop_index('ix_subject_token_case_seq')
        batch_op.drop_index('ix_subject_token_token_item')
    op.drop_table('subject_token')
