"""Signing in and out of the pages; changing one's password; seeing and ending one's sessions.

Sign-in here goes through the same throttle, lock-out and log as the API's (api.routes.auth); the
refusals are pages written for the centre's staff, with the status and Retry-After the API would give.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.routes.auth import client_address, policy_of, seconds_until, throttle_of
from api.web import session as sessions
from api.web.core import PostedForm, WebRoute, WebUser, redirect, render, text, when
from workflow import accounts
from workflow.errors import InvalidInput, NotFound

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


def _wait(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "a minute" if minutes <= 1 else f"{minutes} minutes"


def _login_page(
    request: Request,
    *,
    username: str = "",
    error: str = "",
    status: int = 200,
    next_url: str = "/",
    retry_after: int | None = None,
) -> Response:
    token = sessions.login_csrf(request)
    response = render(
        request,
        "login.html",
        {
            "title": "Sign in",
            "username": username,
            "error": error,
            "login_csrf": token.field,
            "next_url": sessions.safe_next(next_url),
            "expired": request.query_params.get("expired") == "1",
        },
        status=status,
    )
    sessions.set_login_csrf(request, response, token)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_url=next)


@router.post("/login")
def login(request: Request, session: SessionDep, form: PostedForm) -> Response:
    username = text(form, "username", 64)
    password = form.get("password")
    next_url = sessions.safe_next(text(form, "next", 500))
    if not username or not isinstance(password, str) or not password or len(password) > 1024:
        return _login_page(
            request,
            username=username,
            error="Enter your username and password.",
            status=422,
            next_url=next_url,
        )
    address = client_address(request)
    throttle = throttle_of(request)
    refused = throttle.attempt(username=username, address=address)
    if refused is not None:
        accounts.record_throttled(session, username=username, channel="web", address=address)
        return _login_page(
            request,
            username=username,
            error=f"Too many sign-in attempts. For your security, wait {_wait(refused.retry_after)} "
            "before trying again.",
            status=429,
            next_url=next_url,
            retry_after=refused.retry_after,
        )
    try:
        issued = accounts.sign_in(
            session,
            username=username,
            password=password,
            ttl=request.app.state.token_ttl,
            channel="web",
            address=address,
            policy=policy_of(request),
        )
    except accounts.AccountLocked as exc:
        return _login_page(
            request,
            username=username,
            error="This account is locked after too many failed sign-ins. It unlocks by itself at "
            f"{when(exc.until, '%H:%M')}, or an administrator can unlock it now.",
            status=429,
            next_url=next_url,
            retry_after=seconds_until(exc.until),
        )
    except accounts.NotAuthenticated:
        return _login_page(
            request,
            username=username,
            error="Wrong username or password, or the account is disabled.",
            status=401,
            next_url=next_url,
        )
    throttle.succeeded(username=username)
    response = redirect(next_url)
    sessions.set_session(request, response, issued.token)
    response.delete_cookie(sessions.PRE_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    cookie = sessions.decode(request.app, request.cookies.get(sessions.COOKIE))
    if cookie is not None:
        accounts.revoke_token(session, token=cookie.token)
    response = redirect("/login")
    sessions.clear_session(request, response)
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    # Signing out changes state, so it is a POST (with its CSRF token); a plain visit offers the button.
    cookie = sessions.decode(request.app, request.cookies.get(sessions.COOKIE))
    if cookie is None:
        return redirect("/login")
    # The token is not put on request.state: that would slide the idle clock of a session not checked here.
    return render(request, "logout.html", {"title": "Sign out", "csrf": sessions.csrf_for(cookie.token)})


# -- my password ---------------------------------------------------------------------------------------

_PASSWORD_FIELDS = {"current_password": "current", "new_password": "new"}


def _password_page(
    request: Request, *, errors: dict[str, str] | None = None, done: bool = False, status: int = 200
) -> Response:
    return render(
        request,
        "account_password.html",
        {"title": "Change your password", "errors": errors or {}, "done": done},
        status=status,
    )


@router.get("/account/password")
def password_form(request: Request, who: WebUser) -> Response:
    return _password_page(request, done=request.query_params.get("done") == "1")


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, who: WebUser, form: PostedForm) -> Response:
    current = form.get("current")
    new = form.get("new")
    repeat = form.get("repeat")
    errors: dict[str, str] = {}
    if not isinstance(current, str) or not current:
        errors["current"] = "Enter your current password."
    if not isinstance(new, str) or len(new) < 10:
        errors["new"] = "Choose a new password of at least 10 characters."
    elif len(new) > 1024:
        errors["new"] = "That password is too long (1,024 characters at most)."
    elif new != repeat:
        errors["repeat"] = "The two new passwords are not the same."
    if errors:
        return _password_page(request, errors=errors, status=422)
    assert isinstance(current, str) and isinstance(new, str)
    address = client_address(request)
    refused = throttle_of(request).attempt(username=who.username, address=address)
    if refused is not None:
        accounts.record_throttled(
            session, username=who.username, channel="web", address=address, action="password"
        )
        response = _password_page(
            request,
            errors={"current": f"Too many attempts. Wait {_wait(refused.retry_after)} and try again."},
            status=429,
        )
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    try:
        accounts.change_password(
            session,
            username=who.username,
            current_password=current,
            new_password=new,
            keep_token=request.state.web_token,
            channel="web",
            address=address,
            policy=policy_of(request),
        )
    except accounts.AccountLocked as exc:
        # The lock stops signing in, not this session; the person is told what happens next.
        message = (
            "Too many wrong passwords: your account is locked for signing in until "
            f"{when(exc.until, '%H:%M')}, or until an administrator unlocks it. This session stays open."
        )
        return _password_page(request, errors={"current": message}, status=429)
    except InvalidInput as exc:
        messages = {
            "current_password": "That is not your current password.",
            "new_password": "Choose a new password that is different from the current one.",
        }
        found = {_PASSWORD_FIELDS.get(p.field, "new"): messages.get(p.field, p.message) for p in exc.problems}
        return _password_page(request, errors=found, status=422)
    return redirect("/account/password?done=1")


# -- my sessions -----------------------------------------------------------------------------------------


@router.get("/account/sessions")
def my_sessions(request: Request, session: SessionDep, who: WebUser) -> Response:
    rows = accounts.list_sessions(session, username=who.username, current_token=request.state.web_token)
    return render(
        request,
        "account_sessions.html",
        {
            "title": "Your sessions",
            "sessions": rows,
            "ended": request.query_params.get("ended") == "1",
        },
    )


@router.post("/account/sessions/{session_id}/end")
def end_session(
    request: Request, session: SessionDep, who: WebUser, session_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    try:
        accounts.revoke_session(session, username=who.username, session_id=session_id)
    except NotFound:
        raise NotFound("That session has already ended, or is not yours.") from None
    return redirect("/account/sessions?ended=1")
