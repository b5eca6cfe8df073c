"""Refusals: every action or read the service turned down for who was asking (the log admins audit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class Refusal(SQLModel, table=True):
    """Who was refused what, when and why. Mistakes of input are not here: only refusals of a person's
    standing (not allowed to see the case, lacking the role or the clearance)."""

    __table_args__ = (
        Index("ix_refusal_at", "at"),
        Index("ix_refusal_username_at", "username", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No foreign keys, like the read log: a refusal must be recorded whatever it points at.
    at: datetime = utc_timestamp()
    username: str = Field(max_length=64)
    action: str = Field(max_length=64, description="e.g. fire:prioritise, submit, read:detail")
    case_id: int | None = None
    kind: str = Field(max_length=32, description="not-visible | forbidden")
    detail: str = Field(max_length=500)
