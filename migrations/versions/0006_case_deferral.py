"""case deferral by the tasking meeting (story 4)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 21:40:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('case', sa.Column('deferred_at', workflow.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('case', sa.Column('deferred_reason', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True))


def downgrade() -> None:
    op.drop_column('case', 'deferred_reason')
    op.drop_column('case', 'deferred_at')
