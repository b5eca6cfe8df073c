"""A request holds one database connection at a time: authenticating hands its connection back before
the route's write session takes one. Else, under load, a full thread pool (40) could hold the whole
connection pool (40) in half-finished requests, each waiting on a second connection (issue 15's bench)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, create_engine

from api.app import create_app
from tests.api.clients import add_cast, auth, make_case
from tests.factories import DEFAULT_DATA
from workflow.db import _sqlite_pragmas
from workflow.migrate import upgrade
from workflow.reference import sync_reference


def test_a_transition_needs_only_one_pooled_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    # One connection and no overflow: a request wanting a second waits, then fails (pool_timeout).
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=5, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    with Session(engine) as s:
        sync_reference(s)
    add_cast(engine)
    made = make_case(engine, "submitted")
    client = TestClient(create_app(engine=engine), raise_server_exceptions=False)
    r = client.post(
        f"/api/v1/cases/{made.id}/transitions/assess",
        json=DEFAULT_DATA["assess"],
        headers={**auth(engine, "analyst.centre"), "If-Match": f'"{made.version}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "assessed"
    engine.dispose()
