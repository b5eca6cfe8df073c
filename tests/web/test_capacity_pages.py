"""Capacity on the pages (issue 13, story 13): the tasking list shows each hub's free capacity per
capability, says which hubs have room for a case its hub cannot take, and offers only cleared owners of
the hub and its teams; admins keep capacity and teams on their page, with history."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people, unchecked
from tests.web.pages import add_cast, make_case, visitor
from workflow import hub_resources

ADMIN = unchecked("admin")


def size(engine: Engine, hub: str, **capacities: int) -> None:
    with Session(engine) as s:
        hub_resources.set_capacities(s, hub=hub, capacities=capacities, by=ADMIN, reason="tests")


def test_the_tasking_list_shows_free_capacity_and_suggests_hubs_with_room(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "tasked")  # EAST: surveillance and financial investigation
    waiting = make_case(engine, "prioritised")
    size(engine, "EAST", surveillance=1, financial_investigation=4)
    size(engine, "NORTH", surveillance=2, financial_investigation=1)
    with Session(engine) as s:
        add_people(s, [("owner.east.o", ["case_owner"], None, "EAST", "OFFICIAL")])
        hub_resources.add_team(
            s, hub="EAST", data={"code": "E-SURV-1", "name": "East surveillance 1"}, by=ADMIN
        )
    page = visitor(engine, "sup.centre").get("/tasking").text
    east = page[page.index('id="section-EAST"') : page.index("</section>", page.index('id="section-EAST"'))]
    free = dict(
        re.findall(
            r'data-capability="([a-z_]+)">\s*<th scope="row">[^<]+</th><td data-label="Free"><strong>(\d+)',
            east,
        )
    )
    assert free == {"financial_investigation": "3", "surveillance": "0"}
    row = east[east.index(f'id="row-{waiting.id}"') :]
    assert (
        "<strong>No free capacity</strong> in EAST for surveillance; room in <strong>NORTH</strong>." in row
    )
    owners = re.findall(
        r'<option value="([^"]+)">',
        row[row.index('name="owner"') : row.index("</select>", row.index('name="owner"'))],
    )
    # owner.centre owns centre-wide; owner.east.o is not cleared for the case's OFFICIAL-SENSITIVE.
    assert owners == ["owner.centre", "owner.east", "owner.east2"]
    assert '<option value="E-SURV-1">East surveillance 1</option>' in row
    assert 'name="override"' in row


def test_admins_change_capacity_and_teams_on_their_page_with_history(engine: Engine) -> None:
    add_cast(engine)
    admin = visitor(engine, "admin")
    posted = admin.post(
        "/admin/capacity",
        {
            "action": "capacity",
            "hub": "EAST",
            "capability": "surveillance",
            "capacity": "2",
            "reason": "two teams",
        },
    )
    assert (posted.status_code, posted.headers["location"]) == (303, "/admin/capacity?done=capacity")
    done = admin.get(posted.headers["location"])
    assert done.status_code == 200 and "Capacity changed" in done.text
    assert re.search(
        r"<td>EAST</td><td>surveillance</td><td>2</td><td>admin</td><td>two teams</td>", done.text
    )
    bad = admin.post(
        "/admin/capacity", {"action": "capacity", "hub": "EAST", "capability": "telepathy", "capacity": "2"}
    )
    assert bad.status_code == 422 and "unknown capability &#39;telepathy&#39;" in bad.text
    admin.post(
        "/admin/capacity",
        {"action": "team", "hub": "EAST", "code": "E-SURV-1", "name": "East surveillance 1"},
    )
    added = admin.get("/admin/capacity")
    assert "<td>E-SURV-1</td><td>East surveillance 1</td>" in added.text
    again = admin.post(
        "/admin/capacity", {"action": "team", "hub": "EAST", "code": "E-SURV-1", "name": "Again"}
    )
    assert again.status_code == 409
    assert visitor(engine, "sup.centre").get("/admin/capacity").status_code == 403


def test_a_supervisor_transfers_a_case_from_its_page(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "tasked")  # EAST, owner.east
    v = visitor(engine, "sup.east2")
    page = v.get(f"/cases/{made.id}").text
    assert "Transfer to another hub" in page and 'name="override" value="true"' in page
    refused = v.post(
        f"/cases/{made.id}/actions/transfer",
        {"version": str(made.version), "hub": "NORTH", "reason": "moves"},
    )
    assert refused.status_code == 422
    assert "owner.east is not of hub NORTH (they are of EAST); choose an owner of NORTH" in refused.text
    moved = v.post(
        f"/cases/{made.id}/actions/transfer",
        {"version": str(made.version), "hub": "NORTH", "owner": "owner.north", "reason": "North has room"},
    )
    assert moved.status_code == 303, moved.text
    assert v.get(f"/cases/{made.id}").status_code == 404  # East no longer sees it
    assert visitor(engine, "sup.north").get(f"/cases/{made.id}").status_code == 200
