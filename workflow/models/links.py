"""Deconfliction: every case's target names as the matcher files them, and the links found between
cases (candidates an analyst confirms or dismisses). Derived from the cases' events: the submission
event holds the names, the confirm_link and dismiss_link events the decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_optional, utc_timestamp


class TargetName(SQLModel, table=True):
    """One name of a case's target (its name, an alias, a location) in the matcher's form."""

    __tablename__ = "target_name"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    field: str = Field(max_length=32, description="target_name, target_aliases[i], target_locations[i]")
    kind: str = Field(max_length=8, description="group, person or place")
    name: str = Field(max_length=200)
    normalised: str = Field(max_length=400)
    # The words' sound codes as the matcher compares them, kept so a search never re-derives them.
    phonetic: str = Field(max_length=400)
    metaphone: str = Field(max_length=400)


class TargetKey(SQLModel, table=True):
    """A blocking key a target name is filed under: candidates are the names sharing keys with it.
    The key leads the primary key, so a look-up reads only the index; the case id is here too, so the
    open-or-recent filter joins the case without touching the name rows."""

    __tablename__ = "target_key"

    key: str = Field(primary_key=True, max_length=64)
    target_id: int = Field(primary_key=True, foreign_key="target_name.id")
    case_id: int = Field(foreign_key="case.id", index=True)


class CaseLink(SQLModel, table=True):
    """Two cases whose targets matched: a candidate until an analyst confirms or dismisses it."""

    __tablename__ = "case_link"
    __table_args__ = (
        UniqueConstraint("older_case_id", "newer_case_id", name="uq_case_link_pair"),
        Index("ix_case_link_newer", "newer_case_id"),
        Index("ix_case_link_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    older_case_id: int = Field(foreign_key="case.id")
    newer_case_id: int = Field(foreign_key="case.id")
    score: float
    # Every pair of names that matched: field, name, normalised form of each side, algorithm, score.
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="candidate", max_length=16, description="candidate | confirmed | dismissed")
    raised_at: datetime = utc_timestamp()
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = utc_optional()
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Nominated when the link is confirmed: which case leads the joint work, and which hub co-ordinates.
    lead_case_id: int | None = Field(default=None, foreign_key="case.id")
    coordinating_hub: str | None = Field(default=None, foreign_key="hub.code", max_length=16)
