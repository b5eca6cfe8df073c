"""What admins keep about each hub's resources: its capacity per capability (with history) and its teams.

Both are reference data an admin edits through the API or the admin page. A capacity change appends a
row (who, when, why), so the history answers "what was East's surveillance capacity when this case was
tasked over it, and who set it"; teams are edited in place (a team is renamed or stood down, never
deleted, so old cases still name it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import insert, select, update
from sqlmodel import Session

import rules
from workflow import refusals
from workflow import rulebook as rb
from workflow.capacity import current as capacity_now
from workflow.db import utcnow
from workflow.errors import (
    AlreadyExists,
    CapacityFileInvalid,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
)
from workflow.principals import Principal
from workflow.schemas import Code, M, Note, OneLine, Team, parse
from workflow.tables import HUB, HUB_CAPACITY, HUB_TEAM

Name = Annotated[OneLine, Field(min_length=1, max_length=120)]


class CapacityInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    capability: Code
    capacity: Annotated[StrictInt, Field(ge=0, le=10_000)]
    reason: Annotated[Note, Field(max_length=500)] | None = None


class TeamInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # What the tasking decision names (`TransitionInput.team`), so any team a case names can be defined.
    code: Annotated[Team, Field(min_length=1)]
    name: Name
    capability: Code | None = None
    active: StrictBool = True


class TeamChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    capability: Code | None = None
    active: StrictBool | None = None


def require_admin(session: Session, by: Principal, action: str) -> None:
    """Admins (and system principals) only; anyone else is refused, and the refusal logged."""
    if by.is_admin or by.is_system:
        return
    exc = Forbidden(
        f"{action} needs admin; you have {', '.join(sorted(by.roles)) or 'no roles'}", needed=["admin"]
    )
    session.rollback()
    refusals.record(session, who=by, action=action, case_id=None, exc=exc)
    raise exc


def _hub_exists(session: Session, hub: str) -> None:
    if session.execute(select(HUB.c.code).where(HUB.c.code == hub)).first() is None:
        raise NotFound(f"no hub {hub!r}")


def _check_capability(session: Session, capability: str | None) -> None:
    if capability is None:
        return
    known = rb.active_rulebook(session).ruleset.capabilities
    if capability not in known:
        message = f"unknown capability {capability!r} (known: {', '.join(known)})"
        raise InvalidInput([FieldProblem("capability", message)])


def _checked(session: Session, by: Principal, action: str, hub: str, schema: type[M], data: Any) -> M:
    """The admin's input for one of `hub`'s resources, checked: who asks, its fields, hub and capability."""
    require_admin(session, by, action)
    inp = parse(schema, data)
    if hub:
        _hub_exists(session, hub)
    _check_capability(session, getattr(inp, "capability", None))
    return inp


def set_capacity(session: Session, *, hub: str, data: Mapping[str, Any], by: Principal) -> dict[str, Any]:
    """Record a hub's new capacity for one capability (appended: the old figure stays in the history)."""
    inp = _checked(session, by, "capacity:set", hub, CapacityInput, data)
    row = {
        "hub": hub,
        "capability": inp.capability,
        "capacity": inp.capacity,
        "reason": inp.reason,
        "changed_by": by.username,
        "changed_at": utcnow(),
    }
    try:
        row["id"] = session.execute(
            insert(HUB_CAPACITY).values(row).returning(HUB_CAPACITY.c.id)
        ).scalar_one()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def set_capacities(
    session: Session, *, hub: str, capacities: Mapping[str, int], by: Principal, reason: str | None = None
) -> list[dict[str, Any]]:
    """Several capabilities at once (each its own history row), e.g. sizing a new hub."""
    return [
        set_capacity(session, hub=hub, data={"capability": c, "capacity": n, "reason": reason}, by=by)
        for c, n in sorted(capacities.items())
    ]


def capacity_history(
    session: Session, *, hub: str | None = None, limit: int = 200
) -> Sequence[Mapping[str, Any]]:
    """Capacity changes, newest first."""
    query = select(HUB_CAPACITY).order_by(HUB_CAPACITY.c.id.desc()).limit(limit)
    if hub is not None:
        query = query.where(HUB_CAPACITY.c.hub == hub)
    return [dict(r) for r in session.execute(query).mappings()]


def add_team(session: Session, *, hub: str, data: Mapping[str, Any], by: Principal) -> dict[str, Any]:
    inp = _checked(session, by, "team:add", hub, TeamInput, data)
    exists = select(HUB_TEAM.c.code).where(HUB_TEAM.c.hub == hub, HUB_TEAM.c.code == inp.code)
    if session.execute(exists).first() is not None:
        session.rollback()
        raise AlreadyExists(f"team {inp.code!r} of hub {hub} already exists")
    row = {**inp.model_dump(), "hub": hub, "updated_by": by.username, "updated_at": utcnow()}
    try:
        session.execute(insert(HUB_TEAM).values(row))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def change_team(
    session: Session, *, hub: str, code: str, changes: Mapping[str, Any], by: Principal
) -> dict[str, Any]:
    inp = _checked(session, by, "team:change", "", TeamChanges, changes)
    values = inp.model_dump(exclude_unset=True)
    where = (HUB_TEAM.c.hub == hub, HUB_TEAM.c.code == code)
    try:
        done = session.connection().execute(
            update(HUB_TEAM).where(*where).values(**values, updated_by=by.username, updated_at=utcnow())
        )
        if done.rowcount != 1:
            raise NotFound(f"no team {code!r} in hub {hub!r}")
        found = dict(session.execute(select(HUB_TEAM).where(*where)).mappings().one())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return found


def seed_routed_teams(session: Session, *, rules: rb.Rulebook) -> int:
    """Add the teams the routing rules send cases to (if missing), so every routed team is a real one.
    Called by `workflow.reference.sync_reference`; the caller commits."""
    targets = [rules.ruleset.default_route, *(r.then for r in rules.ruleset.routing)]
    added = 0
    seen: set[tuple[str, str]] = set()
    for t in targets:
        team = getattr(t, "team", None)
        hub = getattr(t, "hub", None)
        if not team or not hub or (hub, team) in seen:
            continue
        seen.add((hub, team))
        exists = select(HUB_TEAM.c.code).where(HUB_TEAM.c.hub == hub, HUB_TEAM.c.code == team)
        if session.execute(exists).first() is not None:
            continue
        term = rules.ruleset.capabilities.get(team)
        name = f"{term.label} team" if term is not None else team
        session.execute(
            insert(HUB_TEAM).values(
                hub=hub,
                code=team,
                name=name,
                capability=team if term else None,
                active=True,
                updated_by="system:reference",
                updated_at=utcnow(),
            )
        )
        added += 1
    return added


def load_capacity_file(session: Session, *, path: Path, by: Principal) -> list[dict[str, Any]]:
    """Apply a capacity file (rules.capacity_file): every figure it gives that differs from the hub's
    current one is appended to the history, with the file's reason; a file with errors changes nothing."""
    require_admin(session, by, "capacity:load")
    hubs = list(session.execute(select(HUB.c.code)).scalars())
    known = rb.active_rulebook(session).ruleset.capabilities
    try:
        loaded = rules.load_capacity(path, hubs=hubs, capabilities=known)
    except rules.RuleFileErrors as exc:
        raise CapacityFileInvalid([str(e) for e in exc.errors]) from None
    now = capacity_now(session)
    reason = loaded.reason or f"capacity file {path.name}"
    changed = []
    for hub, figures in sorted(loaded.capacity.items()):
        for capability, n in sorted(figures.items()):
            if now.get((hub, capability)) != n:
                data = {"capability": capability, "capacity": n, "reason": reason[:500]}
                changed.append(set_capacity(session, hub=hub, data=data, by=by))
    return changed
