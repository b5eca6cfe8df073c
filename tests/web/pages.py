"""Helpers for the page tests: the app with its pages, signed-in visitors, and reading pages back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app as create_api_app
from api.web import install
from api.web import session as sessions
from tests.api.clients import add_cast, make_case, token
from workflow import accounts
from workflow.accounts import UserChanges

__all__ = ["Visitor", "add_cast", "create_app", "make_case", "visitor"]

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_app(*, engine: Engine) -> FastAPI:
    """The API app with the pages installed (until create_app installs them itself)."""
    app = create_api_app(engine=engine)
    install(app)
    return app


@dataclass
class Visitor:
    """A browser stand-in: a TestClient holding a page session cookie."""

    client: TestClient
    app: FastAPI
    token: str

    @property
    def csrf(self) -> str:
        return sessions.csrf_for(self.token)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, follow_redirects=False, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.client.post(url, data=body, follow_redirects=False, **kwargs)


def visitor(engine: Engine, username: str, app: FastAPI | None = None) -> Visitor:
    """Someone signed in to the pages (their session made as /login makes it, without the KDF's cost)."""
    app = app or create_app(engine=engine)
    client = TestClient(app, raise_server_exceptions=True)
    issued = token(engine, username)
    client.cookies.set(sessions.COOKIE, sessions.encode(app, issued))
    return Visitor(client, app, issued)


def anonymous(engine: Engine, app: FastAPI | None = None) -> TestClient:
    return TestClient(app or create_app(engine=engine), raise_server_exceptions=True)


def set_password(engine: Engine, username: str, password: str = PASSWORD) -> None:
    with Session(engine, expire_on_commit=False) as s:
        accounts.update_user(s, username=username, changes=UserChanges(password=password))


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)
