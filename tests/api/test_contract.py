"""The JSON API's contract, path by path, on both databases."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from tests.api.clients import CAST, SENSITIVE, add_cast, app_client, assert_problem, auth, make_case
from tests.factories import P1_CAPABILITY_D, morile_inputs, request_data
from workflow import accounts, audit
from workflow.models import User


@pytest.fixture
def api(engine: Engine) -> TestClient:
    add_cast(engine)
    return app_client(engine)


def _new_request(**overrides: object) -> dict[str, object]:
    data = request_data(**overrides)
    data.pop("requesting_unit")
    return data


# -- health and sign-in ---------------------------------------------------------------------------------


def test_healthz(api: TestClient) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database() -> None:
    from workflow.db import make_engine

    client = TestClient(create_app(engine=make_engine("sqlite:////nonexistent/dir/db.sqlite")))
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


def test_sign_in_use_and_sign_out(api: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        accounts.update_user(s, username="req.ne", changes={"password": "correct horse battery"})
    r = api.post("/api/v1/auth/token", data={"username": "req.ne", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 12 * 3600
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.get("/api/v1/me", headers=headers).json()["unit_code"] == "NE"
    assert api.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert_problem(api.get("/api/v1/me", headers=headers), 401)


def test_wrong_password_and_unknown_user_get_the_same_401(api: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        accounts.update_user(s, username="req.ne", changes={"password": "correct horse battery"})
    wrong = api.post("/api/v1/auth/token", data={"username": "req.ne", "password": "not the password"})
    unknown = api.post("/api/v1/auth/token", data={"username": "nobody", "password": "not the password"})
    passwordless = api.post("/api/v1/auth/token", data={"username": "analyst1", "password": "whatever123"})
    bodies = [assert_problem(r, 401) for r in (wrong, unknown, passwordless)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_unknown_user_costs_a_hash_like_a_known_one(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown name, a wrong password and an account without one each run the same KDF at the same
    cost, so they take about the same time (bench/signin.py measures that ratio; no clock here)."""
    add_cast(engine)
    verified: list[str] = []
    real_verify = PasswordHash.verify

    def recording(self: PasswordHash, password: str | bytes, hash: str | bytes) -> bool:
        verified.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, password, hash)  # the real argon2 check runs

    with Session(engine) as s:
        accounts.update_user(s, username="req.ne", changes={"password": "correct horse battery"})
        stored = s.execute(select(User.password_hash).where(User.username == "req.ne")).scalar_one()  # type: ignore[call-overload]
        monkeypatch.setattr(PasswordHash, "verify", recording)
        for name in ("req.ne", "nobody", "analyst1"):  # wrong password, unknown name, no password set
            with pytest.raises(accounts.NotAuthenticated):
                accounts.authenticate(s, username=name, password="wrong password!")
    assert stored is not None and len(verified) == 3

    def cost(encoded: str) -> str:  # "$argon2id$v=19$m=65536,t=3,p=4": algorithm, version and cost
        return encoded.rsplit("$", 2)[0]

    assert verified[0] == stored and stored not in verified[1:]
    assert {cost(h) for h in verified} == {cost(stored)} and cost(stored).startswith("$argon2")


def test_disabled_user_cannot_sign_in_and_loses_tokens(api: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        accounts.update_user(s, username="req.ne", changes={"password": "correct horse battery"})
    headers = auth(engine, "req.ne")
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    admin = auth(engine, "admin")
    r = api.post("/api/v1/admin/users/req.ne/disable", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert_problem(api.get("/api/v1/me", headers=headers), 401)
    r = api.post("/api/v1/auth/token", data={"username": "req.ne", "password": "correct horse battery"})
    assert_problem(r, 401)


def test_tokens_expire(engine: Engine) -> None:
    add_cast(engine)
    from workflow.db import utcnow

    with Session(engine) as s:
        issued = accounts.issue_token(s, username="req.ne", now=utcnow() - timedelta(hours=13))
    client = app_client(engine)
    body = assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.token}"}), 401)
    assert "expired" in body["detail"]


def test_no_token_is_401(api: TestClient) -> None:
    assert_problem(api.get("/api/v1/cases"), 401)
    assert_problem(api.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"}), 401)


# -- submitting ------------------------------------------------------------------------------------------


def test_submit_defaults_to_own_unit(api: TestClient, engine: Engine) -> None:
    r = api.post("/api/v1/cases", json=_new_request(), headers=auth(engine, "req.ne"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/cases/{body['id']}"
    assert r.headers["etag"] == '"1"'
    assert body["reference"].startswith("SCT-") and body["state"] == "submitted" and body["version"] == 1
    assert body["requesting_unit"] == "NE" and body["protective_marking"] == SENSITIVE
    assert body["hub"] and body["decisions"] and body["decisions"][0]["rules_fired"]


def test_submit_for_another_unit_is_forbidden(api: TestClient, engine: Engine) -> None:
    body = assert_problem(
        api.post(
            "/api/v1/cases", json={**_new_request(), "requesting_unit": "AS"}, headers=auth(engine, "req.ne")
        ),
        403,
    )
    assert "own unit" in body["detail"]


def test_submit_needs_requester_role_and_clearance(api: TestClient, engine: Engine) -> None:
    body = assert_problem(
        api.post("/api/v1/cases", json=_new_request(), headers=auth(engine, "analyst.centre")), 403
    )
    assert body["needed_roles"] == ["requester"]
    body = assert_problem(
        api.post("/api/v1/cases", json=_new_request(), headers=auth(engine, "req.ne.official")), 403
    )
    assert "clearance" in body["detail"]


def test_submit_validation_names_fields(api: TestClient, engine: Engine) -> None:
    bad = {**_new_request(), "title": "x", "themes": ["nonsense"], "protective_marking": "SECRET", "extra": 1}
    body = assert_problem(api.post("/api/v1/cases", json=bad, headers=auth(engine, "req.ne")), 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"body.title", "body.protective_marking", "body.extra"} <= fields
    body = assert_problem(
        api.post(
            "/api/v1/cases", json={**_new_request(), "themes": ["nonsense"]}, headers=auth(engine, "req.ne")
        ),
        422,
    )
    assert body["errors"][0]["field"] == "themes.0"


# -- reading ---------------------------------------------------------------------------------------------


def test_case_detail(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "assessed")
    r = api.get(f"/api/v1/cases/{made.id}", headers=auth(engine, "analyst.centre"))
    assert r.status_code == 200
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"' and body["version"] == made.version
    assert body["state"] == "assessed" and body["band"] and body["hub"]
    assert body["assessment"]["matrix"] == {"id": "tactical-default", "version": "0.1", "placeholder": True}
    assert body["assessment"]["band"] == body["band"]
    why = body["decisions"][-1]
    assert why["ruleset_version"] and why["rules_fired"] and why["route_rule"]
    # `note` and `attach` (issue 14) are legal in every state; confirm_link and dismiss_link: an
    # analyst decides deconfliction links on any open case (issue 13).
    assert set(body["legal_triggers"]) <= {
        "reject",
        "rescore",
        "await_information",
        "information_received",
        "note",
        "attach",
        "confirm_link",
        "dismiss_link",
    }
    assert "reject" in body["legal_triggers"] and "prioritise" not in body["legal_triggers"]


def test_a_deferred_case_says_when_and_why_until_it_is_decided(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "assessed")
    url = f"/api/v1/cases/{made.id}"
    analyst, sup = auth(engine, "analyst.centre"), auth(engine, "sup.centre")
    match = {"If-Match": f'"{made.version}"'}
    denied = assert_problem(api.post(f"{url}/transitions/defer", headers={**analyst, **match}, json={}), 403)
    assert "supervisor" in denied["detail"]
    body = assert_problem(api.post(f"{url}/transitions/defer", headers={**sup, **match}, json={}), 422)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    r = api.post(f"{url}/transitions/defer", headers={**sup, **match}, json={"reason": "Hub over capacity"})
    assert r.status_code == 200, r.text
    detail = api.get(url, headers=analyst).json()
    assert detail["state"] == "assessed" and detail["version"] == made.version + 1
    assert detail["deferred"]["reason"] == "Hub over capacity" and detail["deferred"]["at"]
    again = {"If-Match": f'"{made.version + 1}"'}
    assert api.post(f"{url}/transitions/prioritise", headers={**sup, **again}, json={}).status_code == 200
    assert api.get(url, headers=analyst).json()["deferred"] is None


def test_events_are_the_hash_chain_oldest_first(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "tasked")
    r = api.get(f"/api/v1/cases/{made.id}/events", headers=auth(engine, "analyst.centre"))
    events = r.json()
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert [e["trigger"] for e in events] == ["submit", "assess", "prioritise", "task"]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))


def test_list_filters_search_sort_and_pages(api: TestClient, engine: Engine) -> None:
    made = [make_case(engine, "submitted", target_name=f"Target {n}") for n in range(5)]
    scored = make_case(engine, "assessed", target_name="Scored line")
    headers = auth(engine, "analyst.centre")
    r = api.get("/api/v1/cases", params={"limit": 2}, headers=headers)
    first = r.json()
    assert [c["id"] for c in first["items"]] == [scored.id, made[4].id]
    seen = [c["id"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/api/v1/cases", params={"limit": 2, "cursor": cursor}, headers=headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen, reverse=True) and len(seen) == 6
    assert [c["id"] for c in api.get("/api/v1/cases?state=assessed", headers=headers).json()["items"]] == [
        scored.id
    ]
    assert [c["id"] for c in api.get("/api/v1/cases?q=scored", headers=headers).json()["items"]] == [
        scored.id
    ]
    assert len(api.get("/api/v1/cases?q=SCT-", headers=headers).json()["items"]) == 6
    by_risk = api.get("/api/v1/cases?sort=-risk&limit=1", headers=headers).json()
    assert by_risk["items"][0]["id"] == scored.id
    rest = api.get(
        f"/api/v1/cases?sort=-risk&limit=10&cursor={by_risk['next_cursor']}", headers=headers
    ).json()
    assert len(rest["items"]) == 5 and scored.id not in [c["id"] for c in rest["items"]]
    assert api.get("/api/v1/cases?q=100%25_", headers=headers).json()["items"] == []


def test_bad_cursor_is_400_naming_cursor(api: TestClient, engine: Engine) -> None:
    headers = auth(engine, "analyst.centre")
    for cursor in ("garbage", "W1tdXQ", "WyItcmlzayIsMSwxXQ"):  # junk, [[]], a cursor for another sort
        body = assert_problem(api.get("/api/v1/cases", params={"cursor": cursor}, headers=headers), 400)
        assert body["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    "query",
    ["limit=-1", "limit=0", "limit=100000", "state=open", "sort=risky", "q=%00", "hub=%00", "q=" + "x" * 500],
)
def test_bad_list_parameters_are_422(api: TestClient, engine: Engine, query: str) -> None:
    body = assert_problem(api.get(f"/api/v1/cases?{query}", headers=auth(engine, "analyst.centre")), 422)
    assert body["errors"][0]["field"].startswith("query.")


# -- assessing and moving ------------------------------------------------------------------------------------


def test_assess_then_rescore(api: TestClient, engine: Engine) -> None:
    made = make_case(engine)
    headers = auth(engine, "analyst.centre")
    r = api.post(
        f"/api/v1/cases/{made.id}/assessments", json={"assessment": P1_CAPABILITY_D}, headers=headers
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["band"] == "P1" and body["org_grade"] == "D" and body["matrix"]["placeholder"] is True
    assert body["scores"]["risk"] == body["risk"] and body["case"]["state"] == "assessed"
    assert r.headers["location"] == f"/api/v1/cases/{made.id}/assessments/1" and r.headers["etag"] == '"2"'
    stale = api.post(
        f"/api/v1/cases/{made.id}/assessments",
        json={"assessment": morile_inputs(), "rationale": "new grading"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert_problem(stale, 412)
    r = api.post(
        f"/api/v1/cases/{made.id}/assessments",
        json={"assessment": morile_inputs(), "rationale": "source regraded"},
        headers={**headers, "If-Match": '"2"'},
    )
    assert r.status_code == 201 and r.json()["seq"] == 2 and r.json()["case"]["state"] == "assessed"
    assert len(api.get(f"/api/v1/cases/{made.id}/assessments", headers=headers).json()) == 2
    assert api.get(f"/api/v1/cases/{made.id}/assessments/2", headers=headers).json()["band"] == "P4"
    assert_problem(api.get(f"/api/v1/cases/{made.id}/assessments/3", headers=headers), 404)


def test_assessment_input_errors_name_fields(api: TestClient, engine: Engine) -> None:
    made = make_case(engine)
    r = api.post(
        f"/api/v1/cases/{made.id}/assessments",
        json={"assessment": {**morile_inputs(), "scope": 9}},
        headers=auth(engine, "analyst.centre"),
    )
    assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["assessment.scope"]


def test_transition_contract(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "assessed")
    sup = auth(engine, "sup.centre")
    url = f"/api/v1/cases/{made.id}/transitions"
    assert_problem(api.post(f"{url}/prioritise", headers=sup, json={}), 428)
    assert_problem(api.post(f"{url}/prioritise", headers={**sup, "If-Match": "banana"}, json={}), 422)
    body = assert_problem(api.post(f"{url}/prioritise", headers={**sup, "If-Match": '"1"'}, json={}), 412)
    assert body["current_version"] == made.version
    body = assert_problem(
        api.post(f"{url}/close", headers={**sup, "If-Match": f'"{made.version}"'}, json={}), 409
    )
    assert "reject" in body["legal_triggers"] and "close" not in body["legal_triggers"]
    body = assert_problem(
        api.post(f"{url}/fly", headers={**sup, "If-Match": f'"{made.version}"'}, json={}), 409
    )
    assert body["legal_triggers"]
    r = api.post(
        f"{url}/prioritise", headers={**sup, "If-Match": f'"{made.version}"'}, json={"reason": "P1 list"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "prioritised" and r.headers["etag"] == f'"{made.version + 1}"'
    version = made.version + 1
    body = assert_problem(api.post(f"{url}/task", headers={**sup, "If-Match": f'"{version}"'}, json={}), 422)
    assert [e["field"] for e in body["errors"]] == ["owner"]
    body = assert_problem(
        api.post(f"{url}/task", headers={**sup, "If-Match": f'"{version}"'}, json={"outcome": "charged"}), 422
    )
    assert body["errors"][0]["field"] == "outcome"
    r = api.post(f"{url}/task", headers={**sup, "If-Match": f'W/"{version}"'}, json={"owner": "owner.east2"})
    assert r.status_code == 200 and r.json()["owner"] == "owner.east2"
    assert_problem(
        api.post(f"{url}/review", headers={**auth(engine, "analyst.centre"), "If-Match": "4"}), 403
    )
    owner = auth(engine, "owner.east2")
    r = api.post(
        f"{url}/review", headers={**owner, "If-Match": '"4"'}, json={"progress": "Warrants executed"}
    )
    assert r.status_code == 200 and r.json()["state"] == "reviewed"
    r = api.post(f"{url}/close", headers={**owner, "If-Match": '"5"'}, json={"outcome": "disrupted"})
    assert (
        r.status_code == 200
        and r.json()["state"] == "closed"
        and r.json()["legal_triggers"] == ["note", "attach"]
    )
    with Session(engine) as s:
        assert audit.verify(s).ok


def test_withdraw_by_the_requesting_unit(api: TestClient, engine: Engine) -> None:
    made = make_case(engine)
    url = f"/api/v1/cases/{made.id}/transitions/withdraw"
    body = assert_problem(api.post(url, headers={**auth(engine, "req.ne"), "If-Match": '"1"'}, json={}), 422)
    assert body["errors"][0]["field"] == "reason"
    r = api.post(
        url, headers={**auth(engine, "req.ne"), "If-Match": '"1"'}, json={"reason": "BCU charged him"}
    )
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"


# -- errors in general -------------------------------------------------------------------------------------


def test_malformed_and_hostile_bodies_are_4xx(api: TestClient, engine: Engine) -> None:
    headers = {**auth(engine, "req.ne"), "Content-Type": "application/json"}
    body = assert_problem(api.post("/api/v1/cases", content=b"{not json", headers=headers), 422)
    assert "JSON" in body["detail"]
    assert_problem(api.post("/api/v1/cases", content=b"[1, 2]", headers=headers), 422)
    assert_problem(
        api.post("/api/v1/cases", json={**_new_request(), "title": "bad\x00title"}, headers=headers), 422
    )
    assert_problem(
        api.post("/api/v1/cases", json={**_new_request(), "summary": "y" * 30_000}, headers=headers), 422
    )
    assert_problem(api.post("/api/v1/cases", content=b"x" * 2_000_000, headers=headers), 413)
    # A lone surrogate, legal in JSON's \\u escapes but not in UTF-8, must not reach the database.
    lone = json.dumps({**_new_request(), "title": "\ud800 lone surrogate"}).encode()
    assert_problem(api.post("/api/v1/cases", content=lone, headers=headers), 422)


def test_unknown_paths_and_methods_are_problems(api: TestClient, engine: Engine) -> None:
    headers = auth(engine, "req.ne")
    assert_problem(api.get("/api/v1/nothing", headers=headers), 404)
    assert_problem(api.delete("/api/v1/cases", headers=headers), 405)
    assert_problem(api.get("/api/v1/cases/abc", headers=headers), 422)
    assert_problem(api.get(f"/api/v1/cases/{2**40}", headers=headers), 422)
    assert_problem(api.get("/api/v1/cases/999999", headers=headers), 404)


# -- administration ---------------------------------------------------------------------------------------


def test_admin_users_units_hubs(api: TestClient, engine: Engine) -> None:
    admin = auth(engine, "admin")
    r = api.post(
        "/api/v1/admin/users",
        json={
            "username": "new.analyst",
            "roles": ["analyst"],
            "password": "long enough pw",
            "clearance": SENSITIVE,
        },
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["has_password"] and "password_hash" not in r.json()
    assert_problem(
        api.post(
            "/api/v1/admin/users", json={"username": "new.analyst", "roles": ["analyst"]}, headers=admin
        ),
        409,
    )
    body = assert_problem(
        api.post("/api/v1/admin/users", json={"username": "x", "roles": ["god"]}, headers=admin), 422
    )
    assert body["errors"][0]["field"].startswith("body.roles")
    body = assert_problem(
        api.post("/api/v1/admin/users", json={"username": "r", "roles": ["requester"]}, headers=admin), 422
    )
    assert body["errors"][0]["field"] == "unit_code"
    r = api.patch(
        "/api/v1/admin/users/new.analyst",
        json={"roles": ["analyst", "supervisor"], "hub_code": "EAST"},
        headers=admin,
    )
    assert r.json()["roles"] == ["analyst", "supervisor"] and r.json()["hub_code"] == "EAST"
    assert {u["username"] for u in api.get("/api/v1/admin/users", headers=admin).json()} >= {
        c[0] for c in CAST
    }
    assert_problem(api.get("/api/v1/admin/users/nobody", headers=admin), 404)

    r = api.post(
        "/api/v1/admin/units", json={"code": "MO7", "name": "Taskforce", "kind": "specialist"}, headers=admin
    )
    assert r.status_code == 201 and r.headers["location"] == "/api/v1/admin/units/MO7"
    assert (
        api.patch("/api/v1/admin/units/MO7", json={"active": False}, headers=admin).json()["active"] is False
    )
    assert_problem(api.post("/api/v1/admin/units", json={"code": "MO7", "name": "Again"}, headers=admin), 409)
    r = api.post(
        "/api/v1/admin/hubs", json={"code": "CITY", "name": "City hub", "capacity": 4}, headers=admin
    )
    assert r.status_code == 201
    assert api.patch("/api/v1/admin/hubs/CITY", json={"capacity": 6}, headers=admin).json()["capacity"] == 6
    assert_problem(api.patch("/api/v1/admin/hubs/NOPE", json={"capacity": 6}, headers=admin), 404)
    assert "CITY" in {h["code"] for h in api.get("/api/v1/admin/hubs", headers=admin).json()}
    assert "MO7" in {u["code"] for u in api.get("/api/v1/admin/units", headers=admin).json()}


def test_admin_paths_need_admin(api: TestClient, engine: Engine) -> None:
    for path in ("/api/v1/admin/users", "/api/v1/admin/units", "/api/v1/admin/hubs", "/api/v1/admin/reads"):
        body = assert_problem(api.get(path, headers=auth(engine, "sup.centre")), 403)
        assert body["needed_roles"] == ["admin"]


def test_reads_are_logged_and_visible_to_admins(api: TestClient, engine: Engine) -> None:
    made = make_case(engine, "assessed")
    other = make_case(engine)
    api.get(f"/api/v1/cases/{made.id}", headers=auth(engine, "analyst.centre"))
    api.get(f"/api/v1/cases/{made.id}/events", headers=auth(engine, "req.ne"))
    api.get(f"/api/v1/cases/{made.id}/assessments", headers=auth(engine, "sup.east2"))
    api.get(f"/api/v1/cases/{other.id}", headers=auth(engine, "req.ne"))
    api.get(f"/api/v1/cases/{made.id}", headers=auth(engine, "req.cs"))  # not visible: 404, not a read
    admin = auth(engine, "admin")
    log = api.get("/api/v1/admin/reads", params={"case_id": made.id}, headers=admin).json()["items"]
    assert [(e["username"], e["what"]) for e in log] == [
        ("sup.east2", "assessments"),
        ("req.ne", "events"),
        ("analyst.centre", "detail"),
    ]
    page = api.get("/api/v1/admin/reads", params={"limit": 2}, headers=admin).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get(
        "/api/v1/admin/reads", params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
    ).json()
    assert len(rest["items"]) == 2
