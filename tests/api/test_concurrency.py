"""Idempotency-Key and If-Match: retries change nothing twice, racers never lose an update (story 7)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from tests.api.clients import add_cast, app_client, assert_problem, auth, make_case
from tests.factories import request_data
from workflow import audit, queries
from workflow.models import Case


@pytest.fixture
def api(engine: Engine) -> TestClient:
    add_cast(engine)
    return app_client(engine)


def _count_cases(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.execute(select(func.count()).select_from(Case)).scalar_one())


def _request() -> dict[str, Any]:
    data = request_data()
    data.pop("requesting_unit")
    return data


def test_retried_submit_returns_the_first_response(api: TestClient, engine: Engine) -> None:
    headers = {**auth(engine, "req.ne"), "Idempotency-Key": "4b1f-submit-1"}
    first = api.post("/api/v1/cases", json=_request(), headers=headers)
    again = api.post("/api/v1/cases", json=_request(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert _count_cases(engine) == 1
    # A new sign-in is the same person: the key still holds.
    assert api.post(
        "/api/v1/cases", json=_request(), headers={**headers, **auth(engine, "req.ne")}
    ).json() == (first.json())
    assert _count_cases(engine) == 1


def test_same_key_different_body_is_422(api: TestClient, engine: Engine) -> None:
    headers = {**auth(engine, "req.ne"), "Idempotency-Key": "k-2"}
    assert api.post("/api/v1/cases", json=_request(), headers=headers).status_code == 201
    body = assert_problem(
        api.post("/api/v1/cases", json={**_request(), "title": "Another"}, headers=headers), 422
    )
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert _count_cases(engine) == 1


def test_keys_belong_to_their_user(api: TestClient, engine: Engine) -> None:
    api.post(
        "/api/v1/cases", json=_request(), headers={**auth(engine, "req.ne"), "Idempotency-Key": "shared"}
    )
    other = {**auth(engine, "req.cs"), "Idempotency-Key": "shared"}
    r = api.post("/api/v1/cases", json={**_request(), "requesting_unit": "AS"}, headers=other)
    assert r.status_code == 201 and _count_cases(engine) == 2


def test_a_failed_request_frees_its_key(api: TestClient, engine: Engine) -> None:
    headers = {**auth(engine, "req.ne"), "Idempotency-Key": "k-3"}
    assert_problem(api.post("/api/v1/cases", json={**_request(), "title": "x"}, headers=headers), 422)
    assert api.post("/api/v1/cases", json=_request(), headers=headers).status_code == 201


def test_bad_key_is_422(api: TestClient, engine: Engine) -> None:
    headers = {**auth(engine, "req.ne"), "Idempotency-Key": "x" * 300}
    assert assert_problem(api.post("/api/v1/cases", json=_request(), headers=headers), 422)["errors"]


def test_retried_transition_is_replayed_not_refused(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "assessed")
    headers = {**auth(engine, "sup.centre"), "If-Match": f'"{made.version}"', "Idempotency-Key": "prio-1"}
    url = f"/api/v1/cases/{made.id}/transitions/prioritise"
    first = api.post(url, json={}, headers=headers)
    again = api.post(url, json={}, headers=headers)
    assert first.status_code == again.status_code == 200  # not 412: the retry is the same request
    assert again.json()["version"] == first.json()["version"] == made.version + 1
    with Session(engine) as s:
        assert len(queries.history(s, case_id=made.id)) == made.version + 1


def test_concurrent_copies_of_one_request_run_once(engine: Engine) -> None:
    add_cast(engine)
    app = create_app(engine=engine)
    headers = {**auth(engine, "req.ne"), "Idempotency-Key": "together"}
    start = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            statuses.append(client.post("/api/v1/cases", json=_request(), headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert _count_cases(engine) == 1


def test_two_clients_racing_on_one_case(engine: Engine) -> None:
    """Each round, two supervisors prioritise (or withdraw) the same case from the same version."""
    add_cast(engine)
    app = create_app(engine=engine)
    rounds = 6
    made = [make_case(engine, "assessed") for _ in range(rounds)]
    people = [auth(engine, "sup.centre"), auth(engine, "sup.east2")]
    outcomes: Counter[int] = Counter()
    lock = threading.Lock()

    def act(n: int, case_id: int, version: int, barrier: threading.Barrier) -> None:
        trigger, body = ("prioritise", {}) if n == 0 else ("withdraw", {"reason": "duplicate request"})
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait()
            r = client.post(
                f"/api/v1/cases/{case_id}/transitions/{trigger}",
                json=body,
                headers={**people[n], "If-Match": f'"{version}"'},
            )
        if r.status_code != 200:
            assert_problem(r, r.status_code)
        with lock:
            outcomes[r.status_code] += 1

    for case in made:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=act, args=(n, case.id, case.version, barrier)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert outcomes[200] == rounds  # exactly one winner per case
    assert outcomes[409] + outcomes[412] == rounds and set(outcomes) <= {200, 409, 412}
    with Session(engine) as s:
        for case in made:
            events = queries.history(s, case_id=case.id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))  # gapless
            assert len(events) == case.version + 1
            assert queries.get_case(s, case_id=case.id).version == case.version + 1
        assert audit.verify(s).ok
