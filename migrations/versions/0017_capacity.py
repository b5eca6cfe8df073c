"""hub capacity per capability (append-only history) and hub teams

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 13:45:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0017'
down_revision: Union[str, None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'hub_capacity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hub', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('capability', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('changed_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['hub'], ['hub.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_hub_capacity_hub_capability_id', 'hub_capacity', ['hub', 'capability', 'id'], unique=False
    )
    op.create_table(
        'hub_team',
        sa.Column('hub', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('capability', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('updated_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['hub'], ['hub.code']),
        sa.PrimaryKeyConstraint('hub', 'code'),
    )


def downgrade() -> None:
    op.drop_table('hub_team')
    op.drop_index('ix_hub_capacity_hub_capability_id', table_name='hub_capacity')
    op.drop_table('hub_capacity')
