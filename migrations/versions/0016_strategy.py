"""published Control Strategy versions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 14:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('strategy_version',
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('published_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('strategy_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_strategy_version_active'), ['active'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('strategy_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_strategy_version_active'))
    op.drop_table('strategy_version')
