"""Helpers for the API tests: an app on the test database, people with real tokens, ready-made cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from tests.factories import DEFAULT_DATA, PATHS, add_people, request_data, task_owner, unchecked
from workflow import accounts, service

PROBLEM = "application/problem+json"
SENSITIVE = "OFFICIAL-SENSITIVE"

# The cast of the API tests, beside the conftest's USERS (which have no passwords and OFFICIAL clearance).
# Each is (username, roles, unit, hub, clearance).
CAST: list[tuple[str, list[str], str | None, str | None, str]] = [
    ("req.ne", ["requester"], "NE", None, SENSITIVE),
    ("req.ne.official", ["requester"], "NE", None, "OFFICIAL"),
    ("req.cs", ["requester"], "AS", None, SENSITIVE),
    ("analyst.centre", ["analyst"], None, None, SENSITIVE),
    ("owner.centre", ["case_owner"], None, None, SENSITIVE),
    ("sup.centre", ["supervisor"], None, None, SENSITIVE),
    ("analyst.east", ["analyst"], None, "EAST", SENSITIVE),
    ("owner.east2", ["case_owner"], None, "EAST", SENSITIVE),
    ("sup.east2", ["supervisor"], None, "EAST", SENSITIVE),
    ("sup.north", ["supervisor"], None, "NORTH", SENSITIVE),
    ("owner.north", ["case_owner"], None, "NORTH", SENSITIVE),
    ("admin", ["admin"], None, None, SENSITIVE),
    ("admin.official", ["admin"], None, None, "OFFICIAL"),
]


def app_client(engine: Engine) -> TestClient:
    return TestClient(create_app(engine=engine), raise_server_exceptions=False)


def add_cast(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        add_people(s, CAST)


def token(engine: Engine, username: str) -> str:
    with Session(engine, expire_on_commit=False) as s:
        return accounts.issue_token(s, username=username).token


def auth(engine: Engine, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(engine, username)}"}


@dataclass(frozen=True)
class Made:
    id: int
    reference: str
    version: int


def make_case(
    engine: Engine, state: str = "submitted", *, owner: str = "owner.east", **overrides: Any
) -> Made:
    """A case driven through the real service into `state` (task gives it `owner`)."""
    with Session(engine, expire_on_commit=False) as s:
        done = service.submit_case(s, request=request_data(**overrides), by=unchecked("req.ne"))
        for trigger in PATHS[state]:
            data = dict(DEFAULT_DATA[trigger])
            if trigger == "task":
                # The default owner is of EAST: a case the rules route elsewhere goes to one of its own.
                data["owner"] = task_owner(s, done.case, owner) if owner == "owner.east" else owner
            done = service.fire(s, case_id=done.case_id, trigger=trigger, by=unchecked("analyst1"), data=data)
    return Made(done.case_id, done.reference, done.version)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, body
    assert body["status"] == status
    return body
