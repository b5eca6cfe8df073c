"""Deconfliction through the API and the pages: links listed for staff, decided through the trigger
path (an event on both cases), and a requester told only that the centre co-ordinates their request —
never the other unit's reference, target or summary, in the API, the history or the case page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import dispatch
from notifications.models import Delivery
from tests.api.clients import add_cast, app_client, assert_problem, auth, make_case
from tests.factories import unchecked
from tests.web.pages import visitor
from workflow import queries, service

COORDINATING = "The centre is co-ordinating this request with other work."
THEIRS = {
    "title": "Brixton Boys supplying Lambeth lines",
    "summary": "CHIS reports the Brixton Boys store firearms at a Coldharbour Lane address.",
    "requesting_unit": "AS",
    "target_name": "Brixton Boys",
}
MINE = {
    "title": "County line run from Newham",
    "summary": "Line holder supplying class A into Basildon.",
    "requesting_unit": "NE",
    "target_name": "The Brixton Boyz OCG",
}


@pytest.fixture
def pair(engine: Engine) -> dict[str, Any]:
    add_cast(engine)
    theirs = make_case(engine, **THEIRS)
    mine = make_case(engine, **MINE)
    client = app_client(engine)
    listed = client.get(f"/api/v1/cases/{mine.id}/links", headers=auth(engine, "analyst.centre"))
    assert listed.status_code == 200, listed.text
    [link] = listed.json()["links"]
    return {"client": client, "theirs": theirs, "mine": mine, "link": link}


def _confirm(engine: Engine, pair: dict[str, Any], who: str = "analyst.centre", **body: Any) -> Any:
    mine = pair["mine"]
    with Session(engine) as s:
        version = queries.get_case(s, case_id=mine.id).version
    return pair["client"].post(
        f"/api/v1/cases/{mine.id}/transitions/confirm_link",
        headers={**auth(engine, who), "If-Match": f'"{version}"'},
        json={"link": pair["link"]["id"], **body},
    )


def _leaks(text: str, theirs: Any) -> list[str]:
    secrets = [theirs.reference, THEIRS["title"], THEIRS["summary"], THEIRS["target_name"], "Coldharbour"]
    return [s for s in secrets if s in text]


def test_staff_see_the_candidate_and_why(engine: Engine, pair: dict[str, Any]) -> None:
    link = pair["link"]
    assert link["status"] == "candidate" and link["may_decide"] is True
    assert link["other"]["reference"] == pair["theirs"].reference
    [reason] = link["reasons"]
    assert (reason["name"], reason["other_name"]) == ("The Brixton Boyz OCG", "Brixton Boys")
    assert (reason["normalised"], reason["other_normalised"]) == ("brixton boyz", "brixton boys")


def test_confirming_writes_both_cases_and_the_requester_learns_only_of_coordination(
    engine: Engine, pair: dict[str, Any]
) -> None:
    client, theirs, mine = pair["client"], pair["theirs"], pair["mine"]
    requester = auth(engine, "req.ne")
    before = client.get(f"/api/v1/cases/{mine.id}/links", headers=requester).json()
    assert (before["coordinated"], before["links"], before["note"]) == (False, [], None)
    done = _confirm(
        engine, pair, reason=f"Same OCG as {theirs.reference}: one line phone.", lead_case=theirs.id
    )
    assert done.status_code == 200, done.text
    for case_id in (mine.id, theirs.id):
        events = client.get(f"/api/v1/cases/{case_id}/events", headers=auth(engine, "analyst.centre")).json()
        assert events[-1]["trigger"] == "confirm_link" and events[-1]["payload"]["decision"] == "confirmed"
        assert "notify" not in events[-1]["payload"]  # nobody is notified of it (requesters least of all)
    told = client.get(f"/api/v1/cases/{mine.id}/links", headers=requester)
    assert told.json() == {
        "case_id": mine.id,
        "coordinated": True,
        "note": COORDINATING,
        "names": [],
        "links": [],
    }
    history = client.get(f"/api/v1/cases/{mine.id}/events", headers=requester)
    assert history.json()[-1]["reason"] == COORDINATING
    page = visitor(engine, "req.ne").get(f"/cases/{mine.id}")
    assert page.status_code == 200 and COORDINATING in page.text
    for text in (
        told.text,
        history.text,
        page.text,
        client.get(f"/api/v1/cases/{mine.id}", headers=requester).text,
    ):
        assert _leaks(text, theirs) == []
    # The centre's analyst sees the link from either side, with the lead case nominated.
    staff_page = visitor(engine, "analyst.centre").get(f"/cases/{theirs.id}")
    assert mine.reference in staff_page.text and "confirmed" in staff_page.text


def test_the_other_requester_cannot_see_the_link_or_decide_it(engine: Engine, pair: dict[str, Any]) -> None:
    client, theirs = pair["client"], pair["theirs"]
    refused = _confirm(engine, pair, who="req.ne", reason="mine")
    assert_problem(refused, 403)
    elsewhere = client.get(f"/api/v1/cases/{pair['mine'].id}/links", headers=auth(engine, "req.cs"))
    assert_problem(elsewhere, 404)
    assert (
        client.get(f"/api/v1/cases/{theirs.id}/links", headers=auth(engine, "req.cs")).json()["links"] == []
    )


def test_a_decision_without_a_reason_is_a_422_naming_it(engine: Engine, pair: dict[str, Any]) -> None:
    body = assert_problem(_confirm(engine, pair), 422)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    body = assert_problem(_confirm(engine, pair, reason="same", lead_case=999999), 422)
    assert [e["field"] for e in body["errors"]] == ["lead_case"]
    assert (
        pair["client"]
        .get(f"/api/v1/cases/{pair['mine'].id}/links", headers=auth(engine, "analyst.centre"))
        .json()["links"][0]["status"]
        == "candidate"
    )


def test_hub_staff_see_no_details_of_a_case_outside_their_view(engine: Engine, pair: dict[str, Any]) -> None:
    with Session(engine) as s:
        hubs = {c: queries.get_case(s, case_id=c).hub for c in (pair["mine"].id, pair["theirs"].id)}
    mine_hub = hubs[pair["mine"].id]
    if mine_hub == hubs[pair["theirs"].id] or mine_hub not in ("EAST", "NORTH"):
        pytest.skip(f"the rules routed both to {mine_hub}")
    staff = {"EAST": "sup.east2", "NORTH": "sup.north"}[mine_hub]
    seen = pair["client"].get(f"/api/v1/cases/{pair['mine'].id}/links", headers=auth(engine, staff))
    [link] = seen.json()["links"]
    assert link["other"] is None and link["may_decide"] is False
    assert "other_name" not in link["reasons"][0]
    assert _leaks(seen.text, pair["theirs"]) == []
    body = assert_problem(_confirm(engine, pair, who=staff, reason="same"), 422)
    assert body["errors"][0]["field"] == "link"


def test_no_one_is_notified_of_a_link(engine: Engine, pair: dict[str, Any]) -> None:
    theirs, mine = pair["theirs"], pair["mine"]
    done = _confirm(engine, pair, reason=f"Same OCG as {theirs.reference}.")
    assert done.status_code == 200, done.text
    with Session(engine) as s:
        asked = {"reason": "Source grading missing."}
        service.fire(s, case_id=mine.id, trigger="await_information", by=unchecked("analyst1"), data=asked)
        dispatch.dispatch(s, email_enabled=True)
        told = [(d.recipient, d.trigger) for d in s.execute(select(Delivery)).scalars()]
    assert ("req.ne", "await_information") in told  # the requester hears of what they are told of ...
    assert [t for t in told if t[1] == "confirm_link"] == []  # ... and nobody of the link
