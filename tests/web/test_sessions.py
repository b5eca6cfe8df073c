"""Signing in and out of the pages: redirects, the session cookie, CSRF, idle timeout, revocation."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app as create_api_app
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
from workflow.settings import Settings

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
    "/admin/import",
    "/records/retention",
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


# -- issue 12: the sign-in CSRF token, Secure by setting, throttling, lock-out, password, sessions --------


def _login(client: Any, username: str, password: str) -> Any:
    """Sign in as a browser would, sending the form's cookie back even when it is Secure and this
    client speaks plain HTTP (as a browser on https to a TLS proxy would)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_in(page.text)},
        headers={"Cookie": page.headers["set-cookie"].split(";")[0]},
        follow_redirects=False,
    )


def test_a_planted_sign_in_cookie_and_token_are_refused(engine: Engine) -> None:
    """Someone who can set a cookie on the browser cannot choose the sign-in form's token."""
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    client.cookies.set(sessions.PRE_COOKIE, "attacker-chosen-value-1234567890", path="/login")
    response = client.post(
        "/login",
        data={"username": "req.ne", "password": PASSWORD, "csrf_token": "attacker-chosen-value-1234567890"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "security token" in response.text
    # Nor is a planted value adopted by the next sign-in page: its token is of a fresh, signed nonce.
    page = client.get("/login")
    assert "attacker-chosen-value" not in page.text
    assert "attacker-chosen-value" not in page.headers["set-cookie"]


def test_a_sign_in_token_from_another_app_or_past_its_age_is_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    other = anonymous(engine)  # another app: another key
    foreign = csrf_in(other.get("/login").text)
    client = anonymous(engine)
    client.get("/login")
    refused = client.post("/login", data={"username": "req.ne", "password": PASSWORD, "csrf_token": foreign})
    assert refused.status_code == 403
    page = client.get("/login")
    token = csrf_in(page.text)
    later = time.time() + sessions.LOGIN_CSRF_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    stale = client.post("/login", data={"username": "req.ne", "password": PASSWORD, "csrf_token": token})
    assert stale.status_code == 403


def test_the_cookie_is_secure_when_the_setting_says_tls_is_in_front(engine: Engine) -> None:
    """Behind a TLS-terminating proxy the app sees plain HTTP; the setting still marks every cookie."""
    add_cast(engine)
    set_password(engine, "req.ne")
    app = create_api_app(engine=engine, settings=Settings(secure_cookies=True))
    client = anonymous(engine, app)
    assert "Secure" in client.get("/login").headers["set-cookie"]
    response = _login(client, "req.ne", PASSWORD)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    app = create_api_app(engine=engine, settings=Settings(trusted_proxies="10.0.0.1"))
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    trusted = _login(TestClient(app, client=("10.0.0.1", 4000), headers=https), "req.ne", PASSWORD)
    assert trusted.status_code == 303 and "Secure" in trusted.headers["set-cookie"]
    stranger = _login(TestClient(app, client=("203.0.113.5", 4000), headers=https), "req.ne", PASSWORD)
    assert stranger.status_code == 303 and "Secure" not in stranger.headers["set-cookie"]


def test_page_sign_in_is_throttled_with_a_message_for_staff(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    app = create_api_app(engine=engine, settings=Settings(signin_rate_account="2/minute"))
    client = anonymous(engine, app)
    assert _login(client, "req.ne", "wrong").status_code == 401
    assert _login(client, "req.ne", "wrong").status_code == 401
    refused = _login(client, "req.ne", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many sign-in attempts" in refused.text and "wait a minute" in refused.text
    assert sessions.COOKIE not in refused.headers.get("set-cookie", "")


def test_a_locked_account_is_told_when_it_unlocks(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    app = create_api_app(engine=engine, settings=Settings(lockout_after=2, lockout_minutes=20))
    client = anonymous(engine, app)
    _login(client, "req.ne", "wrong")
    locked = _login(client, "req.ne", "wrong")
    assert locked.status_code == 429
    assert "This account is locked" in locked.text and "administrator can unlock it" in locked.text
    assert _login(client, "req.ne", PASSWORD).status_code == 429
    with Session(engine) as s:
        assert accounts.unlock_user(s, username="req.ne", by="test") is True
    assert _login(client, "req.ne", PASSWORD).status_code == 303


def test_a_page_sign_in_is_logged_as_web(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    client = anonymous(engine)
    assert _login(client, "req.ne", PASSWORD).status_code == 303
    with Session(engine) as s:
        (row,) = accounts.sign_in_log(s, username="req.ne")
    assert (row.channel, row.outcome, row.address) == ("web", "ok", "testclient") and row.token_id


def test_changing_my_password_on_the_page(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    v = visitor(engine, "req.ne")
    with Session(engine) as s:
        elsewhere = accounts.issue_token(s, username="req.ne").token
    page = v.get("/account/password")
    assert page.status_code == 200 and 'for="current"' in page.text
    wrong = v.post(
        "/account/password", {"current": "not it", "new": "new passphrase 1", "repeat": "new passphrase 1"}
    )
    assert wrong.status_code == 422 and "That is not your current password." in wrong.text
    mismatch = v.post(
        "/account/password", {"current": PASSWORD, "new": "new passphrase 1", "repeat": "other one"}
    )
    assert mismatch.status_code == 422 and "are not the same" in mismatch.text
    refused = v.post("/account/password", {"current": PASSWORD, "new": "x", "repeat": "x"}, csrf=False)
    assert refused.status_code == 403
    done = v.post(
        "/account/password", {"current": PASSWORD, "new": "new passphrase 1", "repeat": "new passphrase 1"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/password?done=1"
    assert "Your password is changed" in v.get("/account/password?done=1").text
    with Session(engine) as s, pytest.raises(accounts.NotAuthenticated):
        accounts.principal_for_token(s, token=elsewhere)
    with Session(engine) as s:
        assert accounts.authenticate(s, username="req.ne", password="new passphrase 1").username == "req.ne"


def test_my_sessions_page_lists_and_ends_them(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    with Session(engine) as s:
        elsewhere = accounts.issue_token(s, username="req.ne").token
        other_id = next(
            x.id for x in accounts.list_sessions(s, username="req.ne", current_token=v.token) if not x.current
        )
    page = v.get("/account/sessions")
    assert page.status_code == 200 and "this session" in page.text
    assert f'action="/account/sessions/{other_id}/end"' in page.text
    assert v.post(f"/account/sessions/{other_id}/end", csrf=False).status_code == 403
    ended = v.post(f"/account/sessions/{other_id}/end")
    assert ended.status_code == 303 and ended.headers["location"] == "/account/sessions?ended=1"
    with Session(engine) as s, pytest.raises(accounts.NotAuthenticated):
        accounts.principal_for_token(s, token=elsewhere)
    assert v.post(f"/account/sessions/{other_id}/end").status_code == 404
    assert v.get("/").status_code == 200  # my own session goes on
