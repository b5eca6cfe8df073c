"""Need-to-know as a table: who sees which case, written out by hand from DESIGN §7 (workflow/access.py's
docstring), and held against both forms of the policy, the Python one (`can_see`, one case in hand) and
the SQL one (`visible`, a whole caseload).

tests/api/test_access.py walks the same policy through every endpoint with real accounts; this table
adds the placements and people that matrix does not hold: a case not yet routed to any hub, ended cases
and the records officer, a requester who also carries a hub code, an unknown clearance.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from tests.factories import submit
from workflow import access
from workflow.principals import Principal
from workflow.tables import CASE

OS = "OFFICIAL-SENSITIVE"

# name: (requesting unit, hub, owner, state, marking)
CASES = {
    "east": ("NE", "EAST", None, "tasked", "OFFICIAL"),
    "east_sensitive": ("NE", "EAST", None, "tasked", OS),
    "unrouted": ("NE", None, None, "submitted", "OFFICIAL"),
    "north_owned_by_east": ("AS", "NORTH", "owner.east", "tasked", "OFFICIAL"),
    "south_closed": ("AS", "SOUTH", None, "closed", "OFFICIAL"),
    "unrouted_withdrawn": ("NE", None, None, "withdrawn", "OFFICIAL"),
}


def person(
    username: str, *roles: str, unit: str | None = None, hub: str | None = None, cleared: str = OS
) -> Principal:
    return Principal(
        username=username, roles=frozenset(roles), unit_code=unit, hub_code=hub, clearance=cleared
    )


# Who sees what, by hand: centre staff (no hub) and admins see every case their clearance covers; hub
# staff see their hub's cases, unrouted ones and those they own; requesters their unit's; the records
# officer ended cases only; a clearance of OFFICIAL hides the sensitive case; an unknown one hides all.
SEES: list[tuple[Principal, set[str]]] = [
    (person("analyst.centre", "analyst"), set(CASES)),
    (person("admin.official", "admin", cleared="OFFICIAL"), set(CASES) - {"east_sensitive"}),
    (
        person("analyst.east", "analyst", hub="EAST"),
        {"east", "east_sensitive", "unrouted", "unrouted_withdrawn"},
    ),
    (
        person("owner.east", "case_owner", hub="EAST", cleared="OFFICIAL"),
        {"east", "unrouted", "north_owned_by_east", "unrouted_withdrawn"},
    ),
    (person("sup.south", "supervisor", hub="SOUTH"), {"south_closed", "unrouted", "unrouted_withdrawn"}),
    (person("req.ne", "requester", unit="NE"), {"east", "east_sensitive", "unrouted", "unrouted_withdrawn"}),
    # A hub code on a requester's account gives no hub's cases: only staff roles read by hub.
    (person("req.as", "requester", unit="AS", hub="EAST"), {"north_owned_by_east", "south_closed"}),
    (person("req.none", "requester"), set()),
    (person("records", "records_officer"), {"south_closed", "unrouted_withdrawn"}),
    (
        person("records.official", "records_officer", cleared="OFFICIAL"),
        {"south_closed", "unrouted_withdrawn"},
    ),
    (person("dpo", "dpo"), set()),
    (person("nobody", unit="NE", hub="EAST"), set()),
    (person("analyst.unknown_clearance", "analyst", cleared="SECRET"), set()),
]


@pytest.fixture
def placed(session: Session) -> dict[int, str]:
    """One case per row of CASES (submitted through the service, then placed by hand: routing and the
    lifecycle are not the question here), by id."""
    ids: dict[int, str] = {}
    for name, (unit, hub, owner, state, marking) in CASES.items():
        case_id = submit(session, requesting_unit=unit, protective_marking=marking).case_id
        session.execute(update(CASE).where(CASE.c.id == case_id).values(hub=hub, owner=owner, state=state))
        ids[case_id] = name
    session.commit()
    return ids


@pytest.mark.parametrize("who, expected", SEES, ids=[who.username for who, _ in SEES])
def test_who_sees_which_case(
    session: Session, placed: dict[int, str], who: Principal, expected: set[str]
) -> None:
    rows = [dict(r) for r in session.execute(select(CASE)).mappings()]
    in_python = {placed[r["id"]] for r in rows if access.can_see(who, r)}
    in_sql = {placed[i] for i in session.execute(select(CASE.c.id).where(access.visible(who))).scalars()}
    assert in_python == expected
    assert in_sql == expected


def test_every_trigger_has_someone_who_may_fire_it() -> None:
    assert access.unassigned_triggers() == []
