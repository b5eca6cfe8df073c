"""Issue 12 item 24: the OpenAPI document and the behaviour agree."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.clients import add_cast, app_client, assert_problem, auth, make_case


def test_if_match_is_required_where_its_absence_is_a_428(engine: Engine) -> None:
    api = app_client(engine)
    paths = api.get("/openapi.json").json()["paths"]
    transition = paths["/api/v1/cases/{case_id}/transitions/{trigger}"]["post"]
    (if_match,) = [p for p in transition["parameters"] if p["name"] == "If-Match"]
    assert if_match["required"] is True and "428" in transition["responses"]
    scoring = paths["/api/v1/cases/{case_id}/assessments"]["post"]
    assert [p["required"] for p in scoring["parameters"] if p["name"] == "If-Match"] == [False]


def test_a_body_that_cannot_be_read_is_a_422_naming_the_body(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    api: TestClient = app_client(engine)
    headers = {
        **auth(engine, "sup.centre"),
        "Content-Type": "application/json",
        "If-Match": f'"{made.version}"',
    }
    for url in ("/api/v1/cases", f"/api/v1/cases/{made.id}/transitions/prioritise"):
        body = assert_problem(api.post(url, content=b'{"reason": "\xff\xfe"}', headers=headers), 422)
        assert body["errors"] == [
            {"field": "body", "message": "the body cannot be read: send UTF-8 JSON (or the form it takes)"}
        ]


def test_a_405_names_every_method_the_path_takes(engine: Engine) -> None:
    api = app_client(engine)
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/cases", "/api/v1/escalations"):
        documented = sorted(m.upper() for m in paths[path])
        refused = api.request("PUT", path)
        assert refused.status_code == 405
        assert refused.headers["allow"] == ", ".join(documented)
