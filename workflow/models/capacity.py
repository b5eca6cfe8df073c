"""Hub capacity per capability, and the teams each hub tasks work to: reference data admins keep.

Capacity is kept as history, never edited in place: each change appends a row (who, when, why, the new
figure), and a hub's capacity for a capability is its latest row. The tasking meeting can then say what
the capacity was when a case was tasked over it, and an auditor who changed it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class HubCapacity(SQLModel, table=True):
    """One change of a hub's capacity for one capability (append-only; the latest row is current)."""

    __tablename__ = "hub_capacity"
    __table_args__ = (Index("ix_hub_capacity_hub_capability_id", "hub", "capability", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    hub: str = Field(foreign_key="hub.code", max_length=16)
    capability: str = Field(max_length=64, description="a capability code of the rules' vocabulary")
    capacity: int = Field(description="concurrent tasked cases asking for it the hub can carry")
    reason: str | None = Field(default=None, max_length=500)
    changed_by: str = Field(max_length=64)
    changed_at: datetime = utc_timestamp()


class HubTeam(SQLModel, table=True):
    """A team of a hub that cases are tasked to (chosen from these, never typed in)."""

    __tablename__ = "hub_team"

    hub: str = Field(primary_key=True, foreign_key="hub.code", max_length=16)
    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=120)
    capability: str | None = Field(default=None, max_length=64, description="what the team mainly does")
    active: bool = True
    updated_by: str = Field(max_length=64)
    updated_at: datetime = utc_timestamp()
