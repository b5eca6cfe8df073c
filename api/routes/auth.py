"""Signing in and out, who am I, my password and my sessions; and for admins, locks and the sign-in log.

Sign-in is throttled per name and per client address (api.throttle) and a name is locked after repeated
failures (workflow.accounts, counted in the database); both answer 429 with Retry-After. Every attempt
is logged, and admins read the log at /api/v1/admin/sign-ins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import Admin, SessionDep, Who, bearer
from api.problems import problem, problem_responses
from api.throttle import SignInThrottle
from api.views import Json, MeOut, TokenOut
from workflow import accounts
from workflow.db import utcnow
from workflow.models import SignInAttempt
from workflow.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["auth"])

Username = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the id from the sessions list")]


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


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    expires_at: datetime
    channel: str | None
    address: str | None
    current: bool


class SignInOut(BaseModel):
    id: int
    username: str
    action: str
    outcome: str
    reason: str | None
    channel: str
    address: str | None
    at: datetime


class SignInPage(BaseModel):
    items: list[SignInOut]
    next_cursor: int | None


class LockOut(BaseModel):
    username: str
    failures: int
    locked_until: datetime | None
    was_locked: bool | None = None


# -- shared with the pages -------------------------------------------------------------------------------


def client_address(request: Request) -> str | None:
    """The client's address: the proxy's unless the proxy is trusted (SCTAC_TRUSTED_PROXIES), in which
    case ProxyHeadersMiddleware has already put the forwarded client here."""
    return request.client.host if request.client else None


def throttle_of(request: Request) -> SignInThrottle:
    found: SignInThrottle = request.app.state.signin_throttle
    return found


def policy_of(request: Request) -> accounts.Lockout:
    settings: Settings = request.app.state.settings
    return accounts.Lockout(after=settings.lockout_after, period=timedelta(minutes=settings.lockout_minutes))


def seconds_until(moment: datetime) -> int:
    return max(1, int((moment - utcnow()).total_seconds() + 0.999))


def too_many(retry_after: int) -> JSONResponse:
    return problem(
        429,
        "Too many sign-in attempts",
        f"too many sign-in attempts for this account or from this address; retry in {retry_after} s",
        "too-many-attempts",
        headers={"Retry-After": str(retry_after)},
    )


def locked(exc: accounts.AccountLocked) -> JSONResponse:
    return problem(
        429,
        exc.title,
        exc.detail,
        "account-locked",
        headers={"Retry-After": str(seconds_until(exc.until))},
        locked_until=exc.until.isoformat().replace("+00:00", "Z"),
    )


def session_view(s: accounts.LiveSession) -> dict[str, Any]:
    return {
        "id": s.id,
        "created_at": s.created_at,
        "expires_at": s.expires_at,
        "channel": s.channel,
        "address": s.address,
        "current": s.current,
    }


def attempt_view(a: SignInAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "username": a.username,
        "action": a.action,
        "outcome": a.outcome,
        "reason": a.reason,
        "channel": a.channel,
        "address": a.address,
        "at": a.at,
    }


# -- signing in and out ----------------------------------------------------------------------------------


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses=problem_responses(401, 422, 429),
    summary="Sign in with username and password (OAuth2 password form); returns a bearer token",
    description="Throttled per account and per client address, and an account is locked after repeated "
    "failures: both answer 429 with Retry-After.",
)
def token(request: Request, session: SessionDep, form: Annotated[LoginForm, Depends()]) -> Response:
    address = client_address(request)
    throttle = throttle_of(request)
    refused = throttle.attempt(username=form.username, address=address)
    if refused is not None:
        accounts.record_throttled(session, username=form.username, channel="api", address=address)
        return too_many(refused.retry_after)
    try:
        issued = accounts.sign_in(
            session,
            username=form.username,
            password=form.password,
            ttl=request.app.state.token_ttl,
            channel="api",
            address=address,
            policy=policy_of(request),
        )
    except accounts.AccountLocked as exc:
        return locked(exc)
    throttle.succeeded(username=form.username)
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


# -- my password and my sessions -------------------------------------------------------------------------


@router.post(
    "/me/password",
    status_code=204,
    responses=problem_responses(401, 422, 429),
    summary="Change my password (needs the current one); every other session and token of mine ends",
)
def change_password(
    request: Request,
    session: SessionDep,
    who: Who,
    body: accounts.PasswordChange,
    token: Annotated[str | None, Depends(bearer)],
) -> Response:
    address = client_address(request)
    refused = throttle_of(request).attempt(username=who.username, address=address)
    if refused is not None:
        accounts.record_throttled(
            session, username=who.username, channel="api", address=address, action="password"
        )
        return too_many(refused.retry_after)
    try:
        accounts.change_password(
            session,
            username=who.username,
            current_password=body.current_password,
            new_password=body.new_password,
            keep_token=token,
            channel="api",
            address=address,
            policy=policy_of(request),
        )
    except accounts.AccountLocked as exc:
        return locked(exc)
    return Response(status_code=204)


@router.get(
    "/me/sessions",
    response_model=list[SessionOut],
    responses=problem_responses(401),
    summary="My open sessions and API tokens, newest first (`current` is the one making this request)",
)
def my_sessions(session: SessionDep, who: Who, token: Annotated[str | None, Depends(bearer)]) -> Json:
    rows = accounts.list_sessions(session, username=who.username, current_token=token)
    return Json([session_view(s) for s in rows])


@router.delete(
    "/me/sessions/{session_id}",
    status_code=204,
    responses=problem_responses(401, 404, 422),
    summary="End one of my sessions or API tokens",
)
def end_my_session(session: SessionDep, who: Who, session_id: SessionId) -> Response:
    accounts.revoke_session(session, username=who.username, session_id=session_id)
    return Response(status_code=204)


# -- admins: sessions of anyone, locks, the sign-in log ---------------------------------------------------

admin = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=problem_responses(401, 403, 422))


@admin.get(
    "/users/{username}/sessions",
    response_model=list[SessionOut],
    responses=problem_responses(404),
    summary="A user's open sessions and API tokens",
)
def user_sessions(session: SessionDep, _: Admin, username: Username) -> Json:
    user = accounts.get_user(session, username=username)
    return Json([session_view(s) for s in accounts.list_sessions(session, username=user.username)])


@admin.delete(
    "/users/{username}/sessions/{session_id}",
    status_code=204,
    responses=problem_responses(404),
    summary="End one of a user's sessions or API tokens",
)
def end_user_session(session: SessionDep, _: Admin, username: Username, session_id: SessionId) -> Response:
    accounts.revoke_session(session, username=username, session_id=session_id)
    return Response(status_code=204)


@admin.get(
    "/users/{username}/lock",
    response_model=LockOut,
    responses=problem_responses(404),
    summary="A user's consecutive failed sign-ins and the end of their lock, if locked",
)
def user_lock(session: SessionDep, _: Admin, username: Username) -> Json:
    user = accounts.get_user(session, username=username)
    state = accounts.lock_state(session, username=user.username)
    return Json({"username": state.username, "failures": state.failures, "locked_until": state.locked_until})


@admin.post(
    "/users/{username}/unlock",
    response_model=LockOut,
    responses=problem_responses(404),
    summary="Release a locked account and clear its failed sign-ins",
)
def unlock_user(request: Request, session: SessionDep, who: Admin, username: Username) -> Json:
    was = accounts.unlock_user(
        session, username=username, by=who.username, channel="api", address=client_address(request)
    )
    return Json({"username": username, "failures": 0, "locked_until": None, "was_locked": was})


@admin.get(
    "/sign-ins",
    response_model=SignInPage,
    summary="The sign-in log: every sign-in, failure, refusal, password change and unlock, newest first",
)
def sign_ins(
    session: SessionDep,
    _: Admin,
    username: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|failed|locked|throttled)$")] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Json:
    rows = accounts.sign_in_log(session, username=username, outcome=outcome, before_id=cursor, limit=limit)
    next_cursor = rows[-1].id if len(rows) == limit else None
    return Json({"items": [attempt_view(r) for r in rows], "next_cursor": next_cursor})
