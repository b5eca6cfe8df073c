"""Reference data: the hubs and units cases are routed to and requested from, kept by admins.

They are seeded from the active rule files' reference section: only missing rows are added, so once a
hub or unit exists the admins own it and a restart never overwrites their edits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from workflow import hub_resources
from workflow import rulebook as rb
from workflow.errors import AlreadyExists, NotFound
from workflow.models import Hub, Unit
from workflow.prepared import Prepared
from workflow.schemas import Code, OneLine, parse
from workflow.tables import UNIT

Name = Annotated[OneLine, Field(min_length=1, max_length=120)]

# On every submission's path: compiled once (workflow.prepared).
_ACTIVE_UNIT = Prepared(
    select(UNIT.c.code).where(UNIT.c.code == bindparam("p_code"), UNIT.c.active.is_(True))
)


def sync_reference(session: Session, *, rules: rb.Rulebook | None = None) -> int:
    rules = rules or rb.get_rulebook()
    ref = rules.ruleset
    added = 0
    for hub in ref.hubs.values():
        if session.get(Hub, hub.code) is None:
            session.add(Hub(code=hub.code, name=hub.name, capacity=hub.capacity))
            added += 1
    for unit in ref.units.values():
        if session.get(Unit, unit.code) is None:
            session.add(Unit(code=unit.code, name=unit.name, kind=unit.kind, boroughs=list(unit.boroughs)))
            added += 1
    session.flush()  # the hubs first: the routed teams belong to them
    added += hub_resources.seed_routed_teams(session, rules=rules)
    session.commit()
    return added


class UnitInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[Code, Field(max_length=16)]
    name: Name
    kind: Annotated[str, Field(pattern="^(bcu|specialist)$")] = "bcu"
    boroughs: Annotated[list[Name], Field(max_length=20)] = []
    active: StrictBool = True


class HubInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[Code, Field(max_length=16)]
    name: Name
    capacity: Annotated[StrictInt, Field(ge=0, le=100_000)] = 0
    active: StrictBool = True


def unit_is_active(session: Session, code: str) -> bool:
    """Whether `code` is a unit that may request (one that exists and is active)."""
    return _ACTIVE_UNIT.scalar(session, {"p_code": code}) is not None


def list_units(session: Session) -> Sequence[Unit]:
    return session.execute(select(Unit).order_by(col(Unit.code))).scalars().all()


def list_hubs(session: Session) -> Sequence[Hub]:
    return session.execute(select(Hub).order_by(col(Hub.code))).scalars().all()


def _put(session: Session, row: Unit | Hub, *, create: bool) -> Any:
    kind = type(row).__name__.lower()
    if create and session.get(type(row), row.code) is not None:
        raise AlreadyExists(f"{kind} {row.code!r} already exists")
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AlreadyExists(f"{kind} {row.code!r} already exists") from None
    session.refresh(row)
    return row


def _update(
    session: Session,
    model: type[Unit] | type[Hub],
    schema: type[BaseModel],
    code: str,
    changes: Mapping[str, Any],
) -> Any:
    row = cast(Unit | Hub | None, session.get(model, code))
    if row is None:
        raise NotFound(f"no {model.__name__.lower()} {code!r}")
    inp = parse(schema, {**row.model_dump(), **changes, "code": code})
    for name, value in inp.model_dump().items():
        setattr(row, name, value)
    return _put(session, row, create=False)


def create_unit(session: Session, *, data: Mapping[str, Any]) -> Unit:
    unit: Unit = _put(session, Unit(**parse(UnitInput, data).model_dump()), create=True)
    return unit


def update_unit(session: Session, *, code: str, changes: Mapping[str, Any]) -> Unit:
    unit: Unit = _update(session, Unit, UnitInput, code, changes)
    return unit


def create_hub(session: Session, *, data: Mapping[str, Any]) -> Hub:
    hub: Hub = _put(session, Hub(**parse(HubInput, data).model_dump()), create=True)
    return hub


def update_hub(session: Session, *, code: str, changes: Mapping[str, Any]) -> Hub:
    hub: Hub = _update(session, Hub, HubInput, code, changes)
    return hub
