"""Published Control Strategies: every version ever published is kept, so the priority recorded on a
prioritise or task event can be traced back to the strategy text that weighed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class StrategyVersion(SQLModel, table=True):
    __tablename__ = "strategy_version"

    version: str = Field(primary_key=True, max_length=32, description="content hash, e.g. cs-1a2b3c4d5e6f")
    name: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(default=False, index=True)
    published_by: str = Field(max_length=64)
    published_at: datetime = utc_timestamp()
    note: str | None = Field(default=None, max_length=2000)
