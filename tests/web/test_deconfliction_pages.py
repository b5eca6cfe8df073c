"""Deconfliction on the pages: the assessment queue flags requests that matched other work, the case
page decides a link (a form per link, errors beside its fields), and the tasking list shows the group
with its lead case and co-ordinating hub."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import add_cast, make_case
from tests.web.pages import visitor
from workflow import queries
from workflow.principals import system
from workflow.reads import links as link_reads
from workflow.tables import LINK

THEIRS = {"requesting_unit": "AS", "target_name": "Brixton Boys", "title": "Brixton Boys in Lambeth"}
MINE = {"requesting_unit": "NE", "target_name": "The Brixton Boyz OCG", "title": "Line from Newham"}


def _pair(engine: Engine, state: str = "submitted") -> tuple[Any, Any, int]:
    add_cast(engine)
    theirs = make_case(engine, state, **THEIRS)
    mine = make_case(engine, state, **MINE)
    with Session(engine) as s:
        link = s.execute(LINK.select()).mappings().one()
    return theirs, mine, int(link["id"])


def _version(engine: Engine, case_id: int) -> int:
    with Session(engine) as s:
        return queries.get_case(s, case_id=case_id).version


def test_the_queue_flags_a_request_that_matched_other_work(engine: Engine) -> None:
    _theirs, mine, _link = _pair(engine)
    page = visitor(engine, "analyst.centre").get("/")
    assert page.status_code == 200
    assert "Matched other work" in page.text and f"/cases/{mine.id}#links" in page.text
    assert "1 candidate link to decide" in page.text


def test_a_link_is_decided_on_the_case_page_and_shows_on_both(engine: Engine) -> None:
    theirs, mine, link = _pair(engine)
    analyst = visitor(engine, "analyst.centre")
    page = analyst.get(f"/cases/{mine.id}")
    assert theirs.reference in page.text and "brixton boys" in page.text  # the other side's normalised form
    refused = analyst.post(
        f"/cases/{mine.id}/actions/confirm_link", {"version": _version(engine, mine.id), "link": link}
    )
    assert refused.status_code == 422 and "say why the two cases are the same target" in refused.text
    done = analyst.post(
        f"/cases/{mine.id}/actions/confirm_link",
        {"version": _version(engine, mine.id), "link": link, "reason": "One OCG.", "hub": "SOUTH"},
    )
    assert done.status_code == 303, done.text
    for case_id, other in ((mine.id, theirs.reference), (theirs.id, mine.reference)):
        shown = analyst.get(f"/cases/{case_id}").text
        assert other in shown and "co-ordinated by SOUTH" in shown
        assert "<strong>confirm link</strong>" in shown  # the event, in the case's history
    requester = visitor(engine, "req.ne").get(f"/cases/{mine.id}").text
    assert "co-ordinating this request with other work" in requester and theirs.reference not in requester
    assert 'name="link"' not in requester


def test_the_tasking_list_groups_linked_cases(engine: Engine) -> None:
    theirs, mine, link = _pair(engine, "assessed")
    chair = visitor(engine, "sup.centre")
    done = chair.post(
        f"/cases/{mine.id}/actions/confirm_link",
        {"version": _version(engine, mine.id), "link": link, "reason": "One OCG.", "lead_case": theirs.id},
    )
    assert done.status_code == 303, done.text
    page = chair.get("/tasking")
    assert page.status_code == 200
    assert "Linked work (2 cases)" in page.text and "lead case" in page.text
    assert f'lead <a href="/cases/{theirs.id}">{theirs.reference}</a>' in page.text
    with Session(engine) as s:
        groups = link_reads.groups_for(s, who=system("t"), case_ids=[mine.id, theirs.id])
    assert groups[mine.id] is groups[theirs.id]
    assert (groups[mine.id].lead_case_id, groups[mine.id].members) == (theirs.id, (theirs.id, mine.id))


def test_a_request_gives_other_names_and_places_one_a_line(engine: Engine) -> None:
    add_cast(engine)
    theirs = make_case(engine, **THEIRS)
    v = visitor(engine, "req.ne")
    form = v.get("/requests/new").text
    assert '<label for="target_aliases">' in form and '<label for="target_locations">' in form
    request = {
        "title": "Line from Newham",
        "target_type": "ocg",
        "target_name": "Stockwell Crew",
        "target_aliases": "Brixtin Boyz\n\n  SW9 Mandem  \n",
        "target_locations": "14 Acre Ln, Brixton",
        "themes": ["drugs"],
        "capabilities": ["surveillance"],
        "summary": "Line holder supplying class A.",
        "protective_marking": "OFFICIAL",
    }
    done = v.post("/requests/new", request)
    assert done.status_code == 303, done.text
    with Session(engine) as s:
        [link] = s.execute(LINK.select()).mappings().all()
        assert link["older_case_id"] == theirs.id
        assert link["reasons"][0]["name"] == "Brixtin Boyz"
    mine = int(link["newer_case_id"])
    page = v.get(f"/cases/{mine}").text
    assert "SW9 Mandem" in page and "14 Acre Ln, Brixton" in page  # their own request's other names
    assert theirs.reference not in page
    too_many = v.post(
        "/requests/new", {**request, "target_aliases": "\n".join(f"name {i}" for i in range(11))}
    )
    assert too_many.status_code == 422 and 'id="target_aliases-error"' in too_many.text
