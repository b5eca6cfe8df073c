"""Issue 12 items 3 and 5 on the API: sign-in throttled and locked out, every attempt logged, passwords
changed by their owner, sessions listed and ended, and the transport and caching headers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from tests.api.clients import PROBLEM, add_cast, assert_problem, auth
from tests.web.pages import PASSWORD, set_password
from workflow import accounts
from workflow.db import utcnow
from workflow.errors import ConfigError
from workflow.settings import Settings, load_settings

TOKEN = "/api/v1/auth/token"
SCTAC = str(Path(sys.executable).parent / "sctac")


def client(engine: Engine, **settings: Any) -> TestClient:
    return TestClient(create_app(engine=engine, settings=Settings(**settings)), raise_server_exceptions=False)


def sign_in(c: TestClient, username: str, password: str) -> Any:
    return c.post(TOKEN, data={"username": username, "password": password})


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# -- throttling ------------------------------------------------------------------------------------------


def test_guessing_one_account_is_throttled_with_retry_after(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, signin_rate_account="3/minute", signin_rate_address="100/minute")
    for _ in range(3):
        assert sign_in(c, "req.ne", "wrong guess").status_code == 401
    refused = sign_in(c, "req.ne", "wrong guess")
    body = assert_problem(refused, 429)
    assert body["type"] == "/problems/too-many-attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The right password is refused too while the window is spent: the throttle checks no password.
    assert sign_in(c, "req.ne", PASSWORD).status_code == 429
    # Another account from the same address is not held up by this one's window.
    set_password(engine, "analyst.centre")
    assert sign_in(c, "analyst.centre", PASSWORD).status_code == 200


def test_one_address_cycling_through_names_is_throttled(engine: Engine) -> None:
    add_cast(engine)
    c = client(engine, signin_rate_account="100/minute", signin_rate_address="4/minute")
    for name in ("a1", "a2", "a3", "a4"):
        assert sign_in(c, name, "guess").status_code == 401
    assert_problem(sign_in(c, "a5", "guess"), 429)


def test_a_success_clears_the_accounts_window(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, signin_rate_account="3/minute", signin_rate_address="100/minute")
    assert sign_in(c, "req.ne", "typo").status_code == 401
    assert sign_in(c, "req.ne", "typo").status_code == 401
    assert sign_in(c, "req.ne", PASSWORD).status_code == 200
    assert sign_in(c, "req.ne", "typo").status_code == 401
    assert sign_in(c, "req.ne", PASSWORD).status_code == 200


# -- lock-out --------------------------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_across_processes(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    first = client(engine, lockout_after=3, lockout_minutes=15)
    assert sign_in(first, "req.ne", "wrong 1").status_code == 401
    assert sign_in(first, "req.ne", "wrong 2").status_code == 401
    locking = sign_in(first, "req.ne", "wrong 3")
    body = assert_problem(locking, 429)
    assert body["type"] == "/problems/account-locked" and body["locked_until"]
    assert 14 * 60 <= int(locking.headers["Retry-After"]) <= 15 * 60
    # A second process (or this one restarted: a new app, an empty throttle) sees the same lock.
    second = client(engine, lockout_after=3, lockout_minutes=15)
    assert_problem(sign_in(second, "req.ne", PASSWORD), 429)


def test_an_admin_unlocks_through_the_api(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, lockout_after=2)
    for _ in range(2):
        sign_in(c, "req.ne", "wrong")
    assert sign_in(c, "req.ne", PASSWORD).status_code == 429
    admin = auth(engine, "admin")
    state = c.get("/api/v1/admin/users/req.ne/lock", headers=admin)
    assert state.status_code == 200 and state.json()["locked_until"] is not None
    assert_problem(c.post("/api/v1/admin/users/req.ne/unlock", headers=auth(engine, "req.ne")), 403)
    done = c.post("/api/v1/admin/users/req.ne/unlock", headers=admin)
    assert done.status_code == 200 and done.json()["was_locked"] is True
    assert sign_in(c, "req.ne", PASSWORD).status_code == 200
    assert_problem(c.post("/api/v1/admin/users/nobody/unlock", headers=admin), 404)


def test_a_lock_times_out(session: Session, engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    policy = accounts.Lockout(after=2, period=timedelta(minutes=10))
    start = utcnow()
    for _ in range(2):
        with pytest.raises((accounts.NotAuthenticated, accounts.AccountLocked)):
            accounts.sign_in(session, username="req.ne", password="wrong", now=start, policy=policy)
    with pytest.raises(accounts.AccountLocked):
        accounts.sign_in(
            session, username="req.ne", password=PASSWORD, now=start + timedelta(minutes=9), policy=policy
        )
    later = start + timedelta(minutes=11)
    assert accounts.sign_in(session, username="req.ne", password=PASSWORD, now=later, policy=policy).token
    # The count started again after the lock: one more failure does not lock at once.
    with pytest.raises(accounts.NotAuthenticated):
        accounts.sign_in(session, username="req.ne", password="wrong", now=later, policy=policy)


def test_unknown_names_lock_like_real_ones(engine: Engine) -> None:
    """The answer to a guess must not tell which names exist."""
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, lockout_after=2)
    answers = {}
    for name in ("req.ne", "no.such.person"):
        answers[name] = [sign_in(c, name, "wrong").status_code for _ in range(3)]
    assert answers["req.ne"] == answers["no.such.person"] == [401, 429, 429]


# -- the sign-in log ---------------------------------------------------------------------------------------


def test_every_attempt_is_logged_and_admins_read_the_log(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, signin_rate_account="2/minute")
    assert sign_in(c, "req.ne", PASSWORD).status_code == 200
    assert sign_in(c, "req.ne", "wrong").status_code == 401
    assert sign_in(c, "req.ne", "wrong").status_code == 401
    assert sign_in(c, "req.ne", "wrong").status_code == 429
    assert sign_in(c, "ghost", "x").status_code == 401
    assert_problem(c.get("/api/v1/admin/sign-ins", headers=auth(engine, "req.ne")), 403)
    page = c.get("/api/v1/admin/sign-ins?username=req.ne", headers=auth(engine, "admin"))
    assert page.status_code == 200
    items = page.json()["items"]
    assert [i["outcome"] for i in items] == ["throttled", "failed", "failed", "ok"]
    assert {i["channel"] for i in items} == {"api"} and items[0]["address"] == "testclient"
    assert items[1]["reason"] == "wrong password"
    ghost = c.get("/api/v1/admin/sign-ins?username=ghost", headers=auth(engine, "admin")).json()["items"]
    assert [(g["outcome"], g["reason"]) for g in ghost] == [("failed", "unknown user")]
    first = c.get("/api/v1/admin/sign-ins?limit=2", headers=auth(engine, "admin")).json()
    rest = c.get(
        f"/api/v1/admin/sign-ins?limit=2&cursor={first['next_cursor']}", headers=auth(engine, "admin")
    ).json()
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in rest["items"])
    assert_problem(c.get("/api/v1/admin/sign-ins?outcome=maybe", headers=auth(engine, "admin")), 422)


def _cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_unlocks_and_lists_sign_ins(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine, lockout_after=2)
    for _ in range(2):
        sign_in(c, "req.ne", "wrong")
    assert sign_in(c, "req.ne", PASSWORD).status_code == 429
    done = _cli(engine, "user", "unlock", "req.ne")
    assert done.returncode == 0 and done.stdout.strip() == "unlocked req.ne", done.stderr
    assert sign_in(c, "req.ne", PASSWORD).status_code == 200
    log = _cli(engine, "user", "sign-ins", "--user", "req.ne")
    assert log.returncode == 0, log.stderr
    lines = [line.split("\t") for line in log.stdout.splitlines()]
    assert [(f[2], f[3]) for f in lines] == [
        ("sign-in", "ok"),
        ("unlock", "ok"),
        ("sign-in", "locked"),
        ("sign-in", "failed"),
        ("sign-in", "failed"),
    ]
    missing = _cli(engine, "user", "unlock", "nobody")
    assert missing.returncode != 0 and missing.stderr.startswith("sctac: ") and "nobody" in missing.stderr
    bad = _cli(engine, "user", "sign-ins", "--outcome", "maybe")
    assert bad.returncode != 0 and "--outcome" in bad.stderr


# -- password and sessions ---------------------------------------------------------------------------------


def test_changing_my_password_needs_the_current_one_and_ends_my_other_sessions(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine)
    mine = bearer(sign_in(c, "req.ne", PASSWORD))
    other = bearer(sign_in(c, "req.ne", PASSWORD))
    wrong = c.post(
        "/api/v1/me/password",
        json={"current_password": "not it", "new_password": "a brand new passphrase"},
        headers=mine,
    )
    assert assert_problem(wrong, 422)["errors"][0]["field"] == "current_password"
    short = c.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=mine
    )
    assert any(e["field"].endswith("new_password") for e in assert_problem(short, 422)["errors"])
    same = c.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=mine
    )
    assert assert_problem(same, 422)["errors"][0]["field"] == "new_password"
    done = c.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=mine,
    )
    assert done.status_code == 204, done.text
    assert c.get("/api/v1/me", headers=mine).status_code == 200
    assert_problem(c.get("/api/v1/me", headers=other), 401)
    assert sign_in(c, "req.ne", PASSWORD).status_code == 401
    assert sign_in(c, "req.ne", "a brand new passphrase").status_code == 200
    assert_problem(c.post("/api/v1/me/password", json={"current_password": PASSWORD}), 401)


def test_i_list_and_end_my_sessions_and_an_admin_ends_anyones(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    c = client(engine)
    mine = bearer(sign_in(c, "req.ne", PASSWORD))
    other = bearer(sign_in(c, "req.ne", PASSWORD))
    listed = c.get("/api/v1/me/sessions", headers=mine)
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2 and [r["current"] for r in rows] == [False, True]
    assert {r["channel"] for r in rows} == {"api"} and rows[0]["address"] == "testclient"
    # Someone else's session id is not mine to end, and reads as missing.
    theirs = c.get("/api/v1/me/sessions", headers=auth(engine, "analyst.centre")).json()[0]["id"]
    assert_problem(c.delete(f"/api/v1/me/sessions/{theirs}", headers=mine), 404)
    assert c.delete(f"/api/v1/me/sessions/{rows[0]['id']}", headers=mine).status_code == 204
    assert_problem(c.get("/api/v1/me", headers=other), 401)
    assert_problem(c.delete(f"/api/v1/me/sessions/{rows[0]['id']}", headers=mine), 404)
    admin = auth(engine, "admin")
    assert_problem(c.get("/api/v1/admin/users/req.ne/sessions", headers=mine), 403)
    seen = c.get("/api/v1/admin/users/req.ne/sessions", headers=admin).json()
    assert [s["id"] for s in seen] == [rows[1]["id"]]
    assert c.delete(f"/api/v1/admin/users/req.ne/sessions/{rows[1]['id']}", headers=admin).status_code == 204
    assert_problem(c.get("/api/v1/me", headers=mine), 401)
    assert_problem(c.get("/api/v1/admin/users/nobody/sessions", headers=admin), 404)


# -- transport and caching -----------------------------------------------------------------------------


def test_api_json_is_never_cached_nor_sniffed(engine: Engine) -> None:
    add_cast(engine)
    c = client(engine)
    for response in (
        c.get("/api/v1/me", headers=auth(engine, "req.ne")),
        c.get("/api/v1/cases", headers=auth(engine, "req.ne")),
        c.get("/api/v1/me"),  # a problem answer too
        c.get("/healthz"),
    ):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["x-content-type-options"] == "nosniff"


def test_forwarded_headers_count_only_from_a_trusted_proxy(engine: Engine) -> None:
    add_cast(engine)
    set_password(engine, "req.ne")
    forwarded = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    untrusted = TestClient(
        create_app(engine=engine, settings=Settings(trusted_proxies="10.0.0.1")), client=("203.0.113.9", 5000)
    )
    trusted = TestClient(
        create_app(engine=engine, settings=Settings(trusted_proxies="10.0.0.0/24")), client=("10.0.0.1", 5000)
    )
    for c in (untrusted, trusted):
        c.post(TOKEN, data={"username": "req.ne", "password": PASSWORD}, headers=forwarded)
    rows = c.get("/api/v1/admin/sign-ins?username=req.ne", headers=auth(engine, "admin")).json()["items"]
    assert [r["address"] for r in rows] == ["198.51.100.7", "203.0.113.9"]


def test_bad_transport_settings_stop_the_process_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("SCTAC_TRUSTED_PROXIES", "proxy.example"),
        ("SCTAC_SIGNIN_RATE_ACCOUNT", "lots"),
        ("SCTAC_RATE_LIMIT_STORAGE", "ftp://x"),
        ("SCTAC_LOCKOUT_AFTER", "0"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError) as raised:
            load_settings()
        assert name in raised.value.detail and "\n" not in raised.value.detail
        monkeypatch.delenv(name)


def test_the_token_endpoint_declares_its_429(engine: Engine) -> None:
    spec = client(engine).get("/openapi.json").json()
    assert PROBLEM in spec["paths"][TOKEN]["post"]["responses"]["429"]["content"]
