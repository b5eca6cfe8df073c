"""Capacity and teams through the API (issue 13): admins only, history kept, bad input a 422 naming the
field, and tasking over capacity a 422 unless a supervisor overrides with a reason."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.api.clients import add_cast, app_client, assert_problem, auth, make_case

HUB = "/api/v1/admin/hubs/EAST"


def test_admins_set_capacity_and_teams_and_the_history_is_kept(engine: Engine) -> None:
    add_cast(engine)
    api, admin = app_client(engine), auth(engine, "admin")
    for n, why in ((2, "two teams"), (1, "one team on leave")):
        r = api.post(
            f"{HUB}/capacity",
            headers=admin,
            json={"capability": "surveillance", "capacity": n, "reason": why},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["capacity"], r.json()["changed_by"]) == (n, "admin")
    body = api.get(f"{HUB}/capacity", headers=admin).json()
    assert body["sized"] is True
    assert body["rooms"] == [
        {"capability": "surveillance", "capacity": 1, "load": 0, "free": 1, "over": False}
    ]
    assert [(h["capacity"], h["reason"]) for h in body["history"]] == [
        (1, "one team on leave"),
        (2, "two teams"),
    ]
    r = api.post(f"{HUB}/teams", headers=admin, json={"code": "E-SURV-1", "name": "East surveillance 1"})
    assert r.status_code == 201, r.text
    r = api.patch(f"{HUB}/teams/E-SURV-1", headers=admin, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False


def test_non_admins_are_refused_and_bad_input_names_the_field(engine: Engine) -> None:
    add_cast(engine)
    api = app_client(engine)
    sup = auth(engine, "sup.centre")
    assert_problem(
        api.post(f"{HUB}/capacity", headers=sup, json={"capability": "covert", "capacity": 3}), 403
    )
    assert_problem(api.get(f"{HUB}/capacity", headers=sup), 403)
    assert_problem(api.post(f"{HUB}/teams", headers=sup, json={"code": "X", "name": "X"}), 403)
    admin = auth(engine, "admin")
    body = assert_problem(
        api.post(f"{HUB}/capacity", headers=admin, json={"capability": "telepathy", "capacity": 3}), 422
    )
    assert [e["field"] for e in body["errors"]] == ["capability"]
    body = assert_problem(api.post(f"{HUB}/capacity", headers=admin, json={"capability": "covert"}), 422)
    assert [e["field"] for e in body["errors"]] == ["body.capacity"]
    assert_problem(
        api.post(
            "/api/v1/admin/hubs/MOON/capacity", headers=admin, json={"capability": "covert", "capacity": 1}
        ),
        404,
    )
    assert api.get(f"{HUB}/capacity", headers=admin).json()["history"] == []


def test_tasking_over_capacity_is_a_422_naming_the_hub_until_overridden_with_a_reason(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "tasked")  # EAST: surveillance and financial investigation
    made = make_case(engine, "prioritised")
    api, admin, sup = app_client(engine), auth(engine, "admin"), auth(engine, "sup.centre")
    for capability in ("surveillance", "financial_investigation"):
        api.post(f"{HUB}/capacity", headers=admin, json={"capability": capability, "capacity": 1})
    url = f"/api/v1/cases/{made.id}/transitions/task"
    match = {**sup, "If-Match": f'"{made.version}"'}
    body = assert_problem(api.post(url, headers=match, json={"owner": "owner.east2"}), 422)
    assert [e["field"] for e in body["errors"]] == ["hub"]
    assert (
        "EAST has no free capacity for financial_investigation, surveillance" in body["errors"][0]["message"]
    )
    body = assert_problem(api.post(url, headers=match, json={"owner": "owner.east2", "override": True}), 422)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    r = api.post(
        url, headers=match, json={"owner": "owner.east2", "override": True, "reason": "threat to life"}
    )
    assert r.status_code == 200 and r.json()["state"] == "tasked", r.text
