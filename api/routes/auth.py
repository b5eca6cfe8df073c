"""Signing in and out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import SessionDep, Who, bearer
from api.problems import problem_responses
from api.views import Json, MeOut, TokenOut
from workflow import accounts

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, with lengths bounded so no input reaches the hasher unchecked."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1, max_length=64)],
        password: Annotated[str, Form(min_length=1, max_length=1024)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=1000)] = "",
    ) -> None:
        super().__init__(grant_type=grant_type, username=username, password=password, scope=scope)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses=problem_responses(401, 422),
    summary="Sign in with username and password (OAuth2 password form); returns a bearer token",
)
def token(request: Request, session: SessionDep, form: Annotated[LoginForm, Depends()]) -> Json:
    issued = accounts.sign_in(
        session, username=form.username, password=form.password, ttl=request.app.state.token_ttl
    )
    return Json(
        {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.expires_in},
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/auth/logout",
    status_code=204,
    responses=problem_responses(401),
    summary="Revoke the token this request carries",
)
def logout(session: SessionDep, who: Who, token: Annotated[str | None, Depends(bearer)]) -> Response:
    assert token is not None  # `who` resolved, so a token was sent
    accounts.revoke_token(session, token=token)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, responses=problem_responses(401), summary="The signed-in user")
def me(who: Who) -> Json:
    return Json(
        {
            "username": who.username,
            "roles": sorted(who.roles),
            "unit_code": who.unit_code,
            "hub_code": who.hub_code,
            "clearance": who.clearance,
            "sees_all_cases": who.sees_everything,
        }
    )
