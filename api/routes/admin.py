"""Administration: users, units, hubs and the case read log. Every path needs the admin role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from api.deps import Admin, SessionDep
from api.problems import problem_responses
from api.views import (
    HubOut,
    Json,
    ReadPage,
    RefusalPage,
    UnitOut,
    UserOut,
    hub_view,
    read_view,
    refusal_view,
    unit_view,
    user_view,
)
from workflow import accounts, reads, reference, refusals
from workflow.accounts import UserChanges, UserInput
from workflow.reference import HubInput, UnitInput

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 403, 422))

Username = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
CodePath = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")]


class UnitChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    kind: str | None = None
    boroughs: list[str] | None = None
    active: bool | None = None


class HubChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    capacity: int | None = None
    active: bool | None = None


# -- users ----------------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut], summary="Every user")
def users(session: SessionDep, _: Admin) -> Json:
    return Json([user_view(u) for u in accounts.list_users(session)])


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses=problem_responses(409),
    summary="Create a user",
)
def create_user(session: SessionDep, _: Admin, body: UserInput) -> Json:
    user = accounts.create_user(session, data=body)
    return Json(
        user_view(user), status_code=201, headers={"Location": f"/api/v1/admin/users/{user.username}"}
    )


@router.get("/users/{username}", response_model=UserOut, responses=problem_responses(404), summary="One user")
def user(session: SessionDep, _: Admin, username: Username) -> Json:
    return Json(user_view(accounts.get_user(session, username=username)))


@router.patch(
    "/users/{username}",
    response_model=UserOut,
    responses=problem_responses(404),
    summary="Change roles, unit, hub, clearance, password or active; disabling revokes every token",
)
def change_user(session: SessionDep, _: Admin, username: Username, body: UserChanges) -> Json:
    return Json(user_view(accounts.update_user(session, username=username, changes=body)))


@router.post(
    "/users/{username}/disable",
    response_model=UserOut,
    responses=problem_responses(404),
    summary="Disable a user: they cannot sign in and their tokens stop working at once",
)
def disable_user(session: SessionDep, _: Admin, username: Username) -> Json:
    return Json(user_view(accounts.disable_user(session, username=username)))


# -- units and hubs -------------------------------------------------------------------------------------


@router.get("/units", response_model=list[UnitOut], summary="Requesting units")
def units(session: SessionDep, _: Admin) -> Json:
    return Json([unit_view(u) for u in reference.list_units(session)])


@router.post(
    "/units", status_code=201, response_model=UnitOut, responses=problem_responses(409), summary="Add a unit"
)
def create_unit(session: SessionDep, _: Admin, body: UnitInput) -> Json:
    unit = reference.create_unit(session, data=body.model_dump())
    return Json(unit_view(unit), status_code=201, headers={"Location": f"/api/v1/admin/units/{unit.code}"})


@router.patch(
    "/units/{code}", response_model=UnitOut, responses=problem_responses(404), summary="Change a unit"
)
def change_unit(session: SessionDep, _: Admin, code: CodePath, body: UnitChanges) -> Json:
    return Json(
        unit_view(reference.update_unit(session, code=code, changes=body.model_dump(exclude_unset=True)))
    )


@router.get("/hubs", response_model=list[HubOut], summary="SC Hubs and the centre queue")
def hubs(session: SessionDep, _: Admin) -> Json:
    return Json([hub_view(h) for h in reference.list_hubs(session)])


@router.post(
    "/hubs", status_code=201, response_model=HubOut, responses=problem_responses(409), summary="Add a hub"
)
def create_hub(session: SessionDep, _: Admin, body: HubInput) -> Json:
    hub = reference.create_hub(session, data=body.model_dump())
    return Json(hub_view(hub), status_code=201, headers={"Location": f"/api/v1/admin/hubs/{hub.code}"})


@router.patch("/hubs/{code}", response_model=HubOut, responses=problem_responses(404), summary="Change a hub")
def change_hub(session: SessionDep, _: Admin, code: CodePath, body: HubChanges) -> Json:
    return Json(
        hub_view(reference.update_hub(session, code=code, changes=body.model_dump(exclude_unset=True)))
    )


# -- the read log ---------------------------------------------------------------------------------------


@router.get("/reads", response_model=ReadPage, summary="Who read which case and when, newest first")
def read_log(
    session: SessionDep,
    _: Admin,
    case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    username: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    rows = reads.read_log(session, case_id=case_id, username=username, before_id=cursor, limit=limit)
    next_cursor = rows[-1].id if len(rows) == limit else None
    return Json({"items": [read_view(r) for r in rows], "next_cursor": next_cursor})


@router.get("/refusals", response_model=RefusalPage, summary="Who was refused what and why, newest first")
def refusal_log(
    session: SessionDep,
    who: Admin,
    case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    username: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    rows = refusals.list_refusals(
        session, who=who, username=username, case_id=case_id, before_id=cursor, limit=limit
    )
    next_cursor = rows[-1].id if len(rows) == limit else None
    return Json({"items": [refusal_view(r) for r in rows], "next_cursor": next_cursor})
