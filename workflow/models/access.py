"""Access and accountability rows: API tokens, the case read log, idempotency records, the sign-in log
and the failed-sign-in counters that lock an account."""

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
    what: str = Field(max_length=16, description="detail | events | assessments | list")
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


class SignInAttempt(SQLModel, table=True):
    """Every sign-in, failure, refusal, password change and unlock: the sign-in log admins read.

    ``username`` is the name as typed (bounded), so guesses at names that do not exist are logged too.
    A successful sign-in names the token it issued, which is how a user's sessions show where and how
    they were opened.
    """

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_username_id", "username", "id"),
        Index("ix_sign_in_attempt_token_id", "token_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No foreign keys: unknown names are logged as well, and the log outlives the rows it names.
    username: str = Field(max_length=64)
    action: str = Field(max_length=16, description="sign-in | password | unlock")
    outcome: str = Field(max_length=16, description="ok | failed | locked | throttled")
    reason: str | None = Field(default=None, max_length=80)
    channel: str = Field(max_length=8, description="api | web | cli")
    address: str | None = Field(default=None, max_length=64)
    token_id: int | None = None
    at: datetime = utc_timestamp()


class AccountLock(SQLModel, table=True):
    """Consecutive failed sign-ins of one name, and until when it is locked.

    Kept in the database, not in memory, so a lock survives a restart and holds across every process
    serving the centre. Names that do not exist get a row too: the answer to a guess must not reveal
    which names are real.
    """

    __tablename__ = "account_lock"

    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime | None = utc_optional()
    locked_until: datetime | None = utc_optional()
