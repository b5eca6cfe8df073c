"""Access and accountability rows: API tokens, the case read log, and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from workflow.db import UTCDateTime
from workflow.models.columns import utc_optional, utc_timestamp


class ApiToken(SQLModel, table=True):
    """A bearer token. Only its SHA-256 is stored, so a copy of the table signs nobody in; a row can be
    revoked at once (sign-out, user disabled), which a self-contained signed token could not be."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_username", "username"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    username: str = Field(foreign_key="user.username", max_length=64)
    created_at: datetime = utc_timestamp()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = utc_optional()


class CaseRead(SQLModel, table=True):
    """Who read which case, when and what part of it (the read log admins audit)."""

    __tablename__ = "case_read"
    __table_args__ = (
        Index("ix_case_read_case_at", "case_id", "read_at"),
        Index("ix_case_read_username_at", "username", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No foreign keys: the log is written on the read path and must never block on, or be lost with,
    # the rows it points at.
    case_id: int
    username: str = Field(max_length=64)
    what: str = Field(max_length=16, description="detail | events | assessments")
    read_at: datetime = utc_timestamp()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a POST that carried an Idempotency-Key, replayed to any retry."""

    __tablename__ = "idempotency_record"

    username: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64, description="SHA-256 of method, path, If-Match and body")
    status: str = Field(default="pending", max_length=12, description="pending | done")
    status_code: int | None = None
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the response as sent
    created_at: datetime = utc_timestamp(index=True)
