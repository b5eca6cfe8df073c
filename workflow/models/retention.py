"""Records management: rows brought in by bulk import, and retention decisions on ended cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_optional, utc_timestamp


class ImportedRow(SQLModel, table=True):
    """One spreadsheet row imported as a case: its stable source key makes a re-import a no-op."""

    __tablename__ = "imported_row"

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=200, unique=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    file: str = Field(max_length=255)
    sheet: str = Field(max_length=100)
    row: int
    imported_by: str = Field(max_length=64)
    imported_at: datetime = utc_timestamp()


class RetentionDecision(SQLModel, table=True):
    """A records officer's decision on an ended case: retain (why, and until when) or dispose.

    Recorded before anything is erased: a disposal names the decision it carries out, and the case's
    event log records the decision's id, so `sctac audit verify` says under which decision an event
    was redacted.
    """

    __tablename__ = "retention_decision"
    __table_args__ = (Index("ix_retention_decision_case", "case_id", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    decision: str = Field(max_length=16, description="retain | dispose")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    next_review_at: datetime | None = utc_optional()
    retention_group: str | None = Field(default=None, max_length=64)
    decided_by: str = Field(max_length=64)
    decided_at: datetime = utc_timestamp()
    event_seq: int | None = Field(default=None, description="the case event that carried it out")
