"""The access matrix: every kind of user x marking x endpoint, allow or deny, and 404 never 403 for a case
the caller may not see (no existence leak through ids, lists, search or events)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import CAST, SENSITIVE, add_cast, app_client, assert_problem, auth, make_case
from workflow import access, accounts
from workflow.lifecycle import TRIGGERS
from workflow.models import Case, User

CASE = Case.__table__  # type: ignore[attr-defined]
CASE_USER = User.__table__  # type: ignore[attr-defined]

# Four placements of a case (unit, hub, owner), each made in both markings.
PLACES = {
    "ne_east": ("NE", "EAST", None),
    "ne_centre": ("NE", "CENTRE", None),
    "as_south": ("AS", "SOUTH", None),
    "as_north_owned": ("AS", "NORTH", "owner.east2"),
}
MARKINGS = ("OFFICIAL", SENSITIVE)

# Who may see which placement, written out by hand from DESIGN §7 (the oracle, independent of the code).
# The centre queue (CENTRE) is the centre's work: hub staff elsewhere do not see it (issue 12, item 11).
SEES = {
    "req.ne": {"ne_east", "ne_centre"},
    "req.ne.official": {"ne_east", "ne_centre"},
    "req.cs": {"as_south", "as_north_owned"},
    "analyst.centre": set(PLACES),
    "owner.centre": set(PLACES),
    "sup.centre": set(PLACES),
    "analyst.east": {"ne_east"},
    "owner.east2": {"ne_east", "as_north_owned"},
    "sup.east2": {"ne_east"},
    "sup.north": {"as_north_owned"},
    "owner.north": {"as_north_owned"},
    "admin": set(PLACES),
    "admin.official": set(PLACES),
    "ds.ne": {"ne_east", "ne_centre"},  # from the conftest, OFFICIAL clearance
}
CLEARED = {name: clearance for name, _, _, _, clearance in CAST} | {"ds.ne": "OFFICIAL"}

# Who may withdraw a submitted case at each placement (requesters of the unit, supervisors who see it).
WITHDRAWS = {
    "req.ne": {"ne_east", "ne_centre"},
    "req.ne.official": {"ne_east", "ne_centre"},
    "req.cs": {"as_south", "as_north_owned"},
    "sup.centre": set(PLACES),
    "sup.east2": {"ne_east"},
    "sup.north": {"as_north_owned"},
    "ds.ne": {"ne_east", "ne_centre"},
}
# Who may assess: analysts only.
ASSESSES = {"analyst.centre": set(PLACES), "analyst.east": {"ne_east"}}


@pytest.fixture
def world(engine: Engine) -> tuple[TestClient, dict[tuple[str, str], int]]:
    add_cast(engine)
    cases: dict[tuple[str, str], int] = {}
    for place, (unit, _hub, _owner) in PLACES.items():
        for marking in MARKINGS:
            cases[(place, marking)] = make_case(engine, requesting_unit=unit, protective_marking=marking).id
    with engine.begin() as conn:
        for (place, _), case_id in cases.items():
            # Placed by hand: routing is the rules' business; this test is about who sees what.
            unit, hub, owner = PLACES[place]
            conn.execute(update(CASE).where(CASE.c.id == case_id).values(hub=hub, owner=owner))
    return app_client(engine), cases


def _visible(user: str, place: str, marking: str) -> bool:
    clearance = CLEARED[user]
    return place in SEES[user] and (marking == "OFFICIAL" or clearance == SENSITIVE)


@pytest.mark.parametrize("user", sorted(SEES))
def test_access_matrix(
    engine: Engine, world: tuple[TestClient, dict[tuple[str, str], int]], user: str
) -> None:
    client, cases = world
    headers = auth(engine, user)
    listed = {c["id"] for c in client.get("/api/v1/cases?limit=200", headers=headers).json()["items"]}
    expected_ids = {cid for (place, marking), cid in cases.items() if _visible(user, place, marking)}
    assert listed == expected_ids, user
    for (place, marking), case_id in cases.items():
        visible = _visible(user, place, marking)
        base = f"/api/v1/cases/{case_id}"
        reads = [base, f"{base}/events", f"{base}/assessments"]
        writes: list[tuple[str, dict[str, object], bool, int]] = [
            (f"{base}/transitions/withdraw", {}, place in WITHDRAWS.get(user, set()), 428),
            (f"{base}/transitions/assess", {}, place in ASSESSES.get(user, set()), 428),
            (f"{base}/assessments", {"assessment": {}}, place in ASSESSES.get(user, set()), 422),
        ]
        if not visible:
            missing = assert_problem(client.get("/api/v1/cases/2147483647", headers=headers), 404)
            for url in reads:
                body = assert_problem(client.get(url, headers=headers), 404)
                assert body == {**missing, "detail": f"no case {case_id}"}
            for url, payload, _, _ in writes:
                assert_problem(client.post(url, json=payload, headers=headers), 404)
            reference = client.get("/api/v1/cases", params={"q": f"{case_id:06d}"}, headers=headers).json()
            assert case_id not in {c["id"] for c in reference["items"]}
            continue
        for url in reads:
            assert client.get(url, headers=headers).status_code == 200, (user, place, marking, url)
        for url, payload, allowed, status in writes:
            r = client.post(url, json=payload, headers=headers)
            if allowed:
                assert r.status_code == status, (user, place, marking, url, r.text)
            else:
                body = assert_problem(r, 403)
                assert body["needed_roles"], body


def test_python_and_sql_visibility_agree(
    engine: Engine, world: tuple[TestClient, dict[tuple[str, str], int]]
) -> None:
    from sqlalchemy import select

    with Session(engine) as s:
        rows = [dict(r) for r in s.execute(select(CASE)).mappings()]
        for user in SEES:
            row = s.execute(select(User).where(CASE_USER.c.username == user)).scalar_one()
            who = accounts.principal_of(row)
            in_sql = set(s.execute(select(CASE.c.id).where(access.visible(who))).scalars())
            in_python = {r["id"] for r in rows if access.can_see(who, r)}
            assert in_sql == in_python, user


def test_disabled_user_sees_nothing(engine: Engine) -> None:
    add_cast(engine)
    client = app_client(engine)
    assert_problem(client.get("/api/v1/cases", headers=auth(engine, "gone")), 401)


def test_every_trigger_has_a_rule() -> None:
    assert access.unassigned_triggers() == []
    assert set(access.PERMISSIONS) == {"submit", *TRIGGERS}


def test_a_list_logs_which_cases_it_showed(
    world: tuple[TestClient, dict[tuple[str, str], int]], engine: Engine
) -> None:
    """Issue 12 item 4: a list or a search is a read of every case it returns (and of none it hides)."""
    api, cases = world
    shown = api.get("/api/v1/cases", headers=auth(engine, "req.cs")).json()["items"]
    assert shown
    with engine.connect() as conn:
        logged = set(
            conn.execute(
                text("SELECT case_id FROM case_read WHERE username = 'req.cs' AND what = 'list'")
            ).scalars()
        )
    assert logged == {c["id"] for c in shown}
    assert logged <= {case_id for (place, _), case_id in cases.items() if place in SEES["req.cs"]}
