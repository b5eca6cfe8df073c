"""Column helpers shared by the table modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from workflow.db import UTCDateTime, utcnow


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def utc_timestamp(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def utc_optional(*, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))
