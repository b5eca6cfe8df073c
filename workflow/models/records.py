"""Records rows beside the case log: the subject index (normalised name tokens of cases, notes and
attachment names, with their fuzzy-lookup keys) and the subject-access log the DPO's work leaves.

The notes and attachments themselves are case events (the chain is their truth); the index is derived
from them and can be rebuilt (`workflow.subjects.reindex`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class SubjectToken(SQLModel, table=True):
    """One normalised word of one item (a case's title, summary or target; a note; an attachment name)."""

    __tablename__ = "subject_token"
    __table_args__ = (
        # Covering for the search's intersection (workflow.subjects.find): token -> the items holding it.
        Index("ix_subject_token_token_item", "token", "case_id", "event_seq"),
        Index("ix_subject_token_case_seq", "case_id", "event_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64)
    # No foreign key: the index is rebuilt from the log and must not block a disposal.
    case_id: int
    # 0 for the case's own fields (written by the submission), else the note's or attachment's event.
    event_seq: int = 0
    source: str = Field(max_length=12, description="target | title | summary | note | attachment")
    marking: str = Field(max_length=24)


class SubjectKey(SQLModel, table=True):
    """A fuzzy-lookup key of a distinct token: the token itself and each of its one-letter deletions, so
    two words within two edits of each other share a key (a misspelling is found by index, not by scan)."""

    __tablename__ = "subject_key"

    key: str = Field(primary_key=True, max_length=64)
    token: str = Field(primary_key=True, max_length=64)


class SubjectAccess(SQLModel, table=True):
    """Every subject search and disclosure export (who, what name, how many items): admins read it."""

    __tablename__ = "subject_access"
    __table_args__ = (Index("ix_subject_access_username_at", "username", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_timestamp(index=True)
    username: str = Field(max_length=64)
    action: str = Field(max_length=16, description="search | export-json | export-pdf | records-search")
    query: str = Field(max_length=200)
    matches: int = 0
