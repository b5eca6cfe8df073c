"""Signing in and out of the pages."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.web import session as sessions
from api.web.core import PostedForm, WebRoute, redirect, render, text
from workflow import accounts

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


def _login_page(
    request: Request, *, username: str = "", error: str = "", status: int = 200, next_url: str = "/"
) -> Response:
    token = sessions.login_csrf(request)
    response = render(
        request,
        "login.html",
        {
            "title": "Sign in",
            "username": username,
            "error": error,
            "login_csrf": token,
            "next_url": sessions.safe_next(next_url),
            "expired": request.query_params.get("expired") == "1",
        },
        status=status,
    )
    sessions.set_login_csrf(request, response, token)
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
    try:
        issued = accounts.sign_in(
            session, username=username, password=password, ttl=request.app.state.token_ttl
        )
    except accounts.NotAuthenticated:
        return _login_page(
            request,
            username=username,
            error="Wrong username or password, or the account is disabled.",
            status=401,
            next_url=next_url,
        )
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
