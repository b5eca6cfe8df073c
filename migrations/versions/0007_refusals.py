"""refusal log: who was refused what, when and why

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:40:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'refusal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_refusal_at', 'refusal', ['at'], unique=False)
    op.create_index('ix_refusal_username_at', 'refusal', ['username', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_refusal_username_at', table_name='refusal')
    op.drop_index('ix_refusal_at', table_name='refusal')
    op.drop_table('refusal')
