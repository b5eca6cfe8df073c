"""Signing in and out of the pages: redirects, the session cookie, CSRF, idle timeout, revocation."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.web import session as sessions
from tests.web.pages import (
    PASSWORD,
    add_cast,
    anonymous,
    create_app,
    csrf_in,
    make_case,
    set_password,
    visitor,
)
from workflow import accounts

PAGES = [
    "/",
    "/cases",
    "/cases/1",
    "/requests/new",
    "/requests",
    "/escalations",
    "/tasking",
    "/dashboard",
    "/admin/rules",
    "/reports/evaluation",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_anonymous_to_sign_in(engine: Engine, path: str) -> None:
    response = anonymous(engine).get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=" + path.replace("/", "%2F"))


def test_sign_in_sets_a_safe_cookie_and_lands_where_asked(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    page = client.get("/login?next=/requests")
    assert page.status_code == 200
    assert 'for="username"' in page.text and 'for="password"' in page.text
    response = client.post(
        "/login",
        data={
            "username": "req.ne",
            "password": PASSWORD,
            "csrf_token": csrf_in(page.text),
            "next": "/requests",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/requests"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # served over plain HTTP here; https sets it
    assert client.get("/requests", follow_redirects=False).status_code == 200


def test_the_cookie_is_secure_over_tls(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    client.base_url = client.base_url.copy_with(scheme="https")
    page = client.get("https://testserver/login")
    response = client.post(
        "https://testserver/login",
        data={"username": "req.ne", "password": PASSWORD, "csrf_token": csrf_in(page.text)},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_keeps_the_username_and_says_so(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": "req.ne", "password": "nope", "csrf_token": csrf_in(page.text)}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert 'value="req.ne"' in response.text
    assert sessions.COOKIE not in response.headers.get("set-cookie", "")


def test_sign_in_without_its_csrf_token_is_refused(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    client.get("/login")
    response = client.post("/login", data={"username": "req.ne", "password": PASSWORD})
    assert response.status_code == 403
    assert "security token" in response.text


def test_next_never_leaves_the_site(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text
    response = client.post(
        "/login",
        data={
            "username": "req.ne",
            "password": PASSWORD,
            "csrf_token": csrf_in(page.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_sign_out_revokes_the_token(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    assert v.get("/").status_code == 200
    refused = v.post("/logout", csrf=False)
    assert refused.status_code == 403
    assert v.get("/").status_code == 200
    out = v.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # Even with the old cookie put back, the token is dead.
    v.client.cookies.set(sessions.COOKIE, sessions.encode(v.app, v.token))
    assert v.get("/").status_code == 303
    with Session(engine) as s, pytest.raises(accounts.NotAuthenticated):
        accounts.principal_for_token(s, token=v.token)


def test_disabling_a_user_ends_their_page_session(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    assert v.get("/").status_code == 200
    with Session(engine) as s:
        accounts.disable_user(s, username="req.ne")
    response = v.get("/")
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]


def test_an_idle_session_ends_and_its_token_is_revoked(engine: Engine) -> None:
    add_cast(engine)
    app = create_app(engine=engine)
    v = visitor(engine, "req.ne", app)
    stale = int(time.time() - sessions.IDLE_TIMEOUT.total_seconds() - 5)
    v.client.cookies.set(sessions.COOKIE, sessions.encode(app, v.token, stale))
    response = v.get("/cases")
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    with Session(engine) as s, pytest.raises(accounts.NotAuthenticated):
        accounts.principal_for_token(s, token=v.token)


def test_each_page_view_slides_the_idle_clock(engine: Engine) -> None:
    add_cast(engine)
    app = create_app(engine=engine)
    v = visitor(engine, "req.ne", app)
    earlier = int(time.time() - 600)
    v.client.cookies.set(sessions.COOKIE, sessions.encode(app, v.token, earlier))
    response = v.get("/")
    refreshed = sessions.decode(app, response.cookies.get(sessions.COOKIE))
    assert refreshed is not None and refreshed.token == v.token and refreshed.last_seen > earlier


def test_a_forged_last_seen_is_refused(engine: Engine) -> None:
    add_cast(engine)
    app = create_app(engine=engine)
    v = visitor(engine, "req.ne", app)
    good = sessions.encode(app, v.token)
    token, seen, signature = good.split(".")
    v.client.cookies.set(sessions.COOKIE, f"{token}.{int(seen) + 3600}.{signature}")
    assert v.get("/").status_code == 303


def test_a_post_without_csrf_changes_nothing(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    for data in ({}, {"csrf_token": "forged"}):
        response = v.post(
            f"/cases/{made.id}/actions/reject", {"version": made.version, "reason": "x", **data}, csrf=False
        )
        assert response.status_code == 403
    page = v.get(f"/cases/{made.id}")
    assert "version 1" in page.text and "rejected" not in page.text.split("<h1>")[1].split("</p>")[0]


def test_pages_carry_security_headers(engine: Engine) -> None:
    add_cast(engine)
    response = visitor(engine, "req.ne").get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_served_by_the_app(engine: Engine) -> None:
    client = anonymous(engine)
    assert client.get("/static/app.css").status_code == 200
    assert "score-preview" in client.get("/static/app.js").text
