"""Hub capacity per capability and hub teams (issue 13), for admins: the service checks the role itself
and logs a refusal, so these routes take whoever is signed in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import SessionDep, Who
from api.problems import problem_responses
from api.views import Json
from workflow import capacity, hub_resources
from workflow.hub_resources import CapacityInput, TeamChanges, TeamInput

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 403, 422))
CodePath = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")]
TeamPath = Annotated[str, Path(max_length=64)]


class RoomOut(BaseModel):
    capability: str
    capacity: int
    load: int
    free: int
    over: bool


class CapacityChangeOut(BaseModel):
    id: int
    hub: str
    capability: str
    capacity: int
    reason: str | None
    changed_by: str
    changed_at: datetime


class HubCapacityOut(BaseModel):
    hub: str
    sized: bool
    rooms: list[RoomOut]
    history: list[CapacityChangeOut]


class TeamOut(BaseModel):
    hub: str
    code: str
    name: str
    capability: str | None
    active: bool
    updated_by: str
    updated_at: datetime


def _change(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in CapacityChangeOut.model_fields}


def _team(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in TeamOut.model_fields}


def _admin_read(session: SessionDep, who: Who) -> None:
    # Reading is the admin's too: the history names who changed what.
    hub_resources.require_admin(session, who, "capacity:read")


@router.get(
    "/hubs/{code}/capacity",
    response_model=HubCapacityOut,
    responses=problem_responses(404),
    summary="A hub's capacity per capability, its load, and the history of changes (newest first)",
)
def hub_capacity(session: SessionDep, who: Who, code: CodePath) -> Json:
    _admin_read(session, who)
    rooms = capacity.rooms(session, hubs=[code]).get(code, [])
    history = hub_resources.capacity_history(session, hub=code)
    return Json(
        {
            "hub": code,
            "sized": bool(history),
            "rooms": [
                {
                    "capability": r.capability,
                    "capacity": r.capacity,
                    "load": r.load,
                    "free": r.free,
                    "over": r.over,
                }
                for r in rooms
            ],
            "history": [_change(h) for h in history],
        }
    )


@router.post(
    "/hubs/{code}/capacity",
    status_code=201,
    response_model=CapacityChangeOut,
    responses=problem_responses(404),
    summary="Set a hub's capacity for one capability (appended to its history)",
)
def set_capacity(session: SessionDep, who: Who, code: CodePath, body: CapacityInput) -> Json:
    row = hub_resources.set_capacity(session, hub=code, data=body.model_dump(), by=who)
    return Json(_change(row), status_code=201)


@router.get("/hubs/{code}/teams", response_model=list[TeamOut], summary="A hub's teams, stood-down ones too")
def teams(session: SessionDep, who: Who, code: CodePath) -> Json:
    _admin_read(session, who)
    return Json([_team(t) for t in capacity.teams(session, hub=code, active_only=False)])


@router.post(
    "/hubs/{code}/teams",
    status_code=201,
    response_model=TeamOut,
    responses=problem_responses(404, 409),
    summary="Add a team to a hub",
)
def add_team(session: SessionDep, who: Who, code: CodePath, body: TeamInput) -> Json:
    return Json(
        _team(hub_resources.add_team(session, hub=code, data=body.model_dump(), by=who)), status_code=201
    )


@router.patch(
    "/hubs/{code}/teams/{team}",
    response_model=TeamOut,
    responses=problem_responses(404),
    summary="Rename a team, change what it does, or stand it down (active: false)",
)
def change_team(session: SessionDep, who: Who, code: CodePath, team: TeamPath, body: TeamChanges) -> Json:
    changed = hub_resources.change_team(
        session, hub=code, code=team, changes=body.model_dump(exclude_unset=True), by=who
    )
    return Json(_team(changed))
