"""Published rulesets: every version ever published is kept, so each stored decision can be traced back
to the exact rule text that made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class RulesetVersion(SQLModel, table=True):
    __tablename__ = "ruleset_version"

    version: str = Field(primary_key=True, max_length=32, description="content hash, e.g. rs-1a2b3c4d5e6f")
    files: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=False, index=True)
    published_by: str = Field(max_length=64)
    published_at: datetime = utc_timestamp()
    note: str | None = Field(default=None, max_length=2000)
