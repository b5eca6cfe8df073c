"""Reference data and people: hubs, units, users."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workflow.models.columns import json_list, utc_timestamp


class Hub(SQLModel, table=True):
    """An SC Hub (or the centre queue) that specialist assets are tasked from."""

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=120)
    capacity: int = Field(default=0, description="concurrent tasked cases the hub can carry")
    active: bool = True


class Unit(SQLModel, table=True):
    """A requesting unit: one of the BCUs or a specialist unit."""

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16, description="bcu or specialist")
    boroughs: list[str] = json_list()
    active: bool = True


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254, description="where e-mail notifications go")
    roles: list[str] = json_list()
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=16)
    hub_code: str | None = Field(default=None, foreign_key="hub.code", max_length=16)
    clearance: str = Field(default="OFFICIAL", max_length=32)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = utc_timestamp()
