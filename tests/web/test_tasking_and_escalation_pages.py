"""The escalations page's default view and confirmations (issue 12 item 19), the tasking list's load,
confirmations and in-place redraw (item 21), and the request form's words (item 17)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tests.factories import P1_CAPABILITY_D, morile_inputs, unchecked
from tests.web.pages import add_cast, make_case, visitor
from workflow import service
from workflow.models import Escalation
from workflow.tables import HUB

P2_CAPABILITY_D = morile_inputs(harm=(3, 3, 3, 3, 0), scope=4, likelihood=5, vulnerability=1, capability=4)


def _escalate(engine: Engine, assessment: dict[str, Any], **request: Any) -> tuple[int, int, str]:
    made = make_case(engine, "submitted", **request)
    with Session(engine) as s:
        service.fire(
            s, case_id=made.id, trigger="assess", by=unchecked("analyst1"), data={"assessment": assessment}
        )
        esc = s.execute(select(Escalation).where(col(Escalation.case_id) == made.id)).scalar_one()
        assert esc.id is not None
        return made.id, esc.id, made.reference


def _cards(html: str) -> list[str]:
    """The case references on the escalation cards, top to bottom."""
    return re.findall(r'<article class="escalation panel"[^>]*>\s*<h3><a href="/cases/\d+">([^<]+)</a>', html)


# -- escalations -------------------------------------------------------------------------------------------


def test_escalations_put_the_most_urgent_first_not_the_oldest(engine: Engine) -> None:
    add_cast(engine)
    _, _, older_p2 = _escalate(engine, P2_CAPABILITY_D)
    _, _, newer_p1 = _escalate(engine, P1_CAPABILITY_D)
    page = visitor(engine, "sup.centre").get("/escalations").text
    cards = _cards(page)
    assert cards.index(newer_p1) < cards.index(older_p2), cards
    api = visitor(engine, "sup.centre").client.get(
        "/api/v1/escalations", headers={"Authorization": f"Bearer {visitor(engine, 'sup.centre').token}"}
    )
    listed = [item["case"]["reference"] for item in api.json()["items"]]
    assert listed.index(newer_p1) < listed.index(older_p2), "the API lists in the same order"


def test_escalations_open_on_the_readers_hub_and_can_show_all(engine: Engine) -> None:
    add_cast(engine)
    _, _, east = _escalate(engine, P1_CAPABILITY_D)  # North East BCU: the EAST hub
    _, _, centre = _escalate(engine, P1_CAPABILITY_D, requesting_unit="AS")  # a Central BCU: CENTRE
    v = visitor(engine, "sup.east2")
    default = v.get("/escalations").text
    assert east in _cards(default) and centre not in _cards(default)
    assert "(your hub)" in default
    everything = v.get("/escalations?hub=all").text
    assert "all hubs</strong>" in everything and east in _cards(everything)
    # A supervisor with no hub of their own (the tasking chair) opens on every hub.
    chair = visitor(engine, "sup.centre").get("/escalations").text
    assert {east, centre} <= set(_cards(chair)) and "all hubs</strong>" in chair


def test_an_action_is_confirmed_naming_the_case_and_keeps_the_hub_filter(engine: Engine) -> None:
    add_cast(engine)
    _, esc_id, reference = _escalate(engine, P1_CAPABILITY_D)
    v = visitor(engine, "sup.east2")
    done = v.post(f"/escalations/{esc_id}/acknowledge", {"note": "ROCU asked", "hub": "all"})
    assert done.status_code == 303
    assert "hub=all" in done.headers["location"]
    page = v.get(done.headers["location"]).text
    notice = re.search(r'<p class="notice notice-ok"[^>]*>([^<]+)</p>', page)
    assert notice, page
    assert reference in notice.group(1) and "acknowledged" in notice.group(1)
    assert f"Escalation {esc_id}" not in page
    # The words come from the escalation as it is: a made-up address claiming a resolve says nothing.
    forged = v.get(f"/escalations?done=resolve&escalation={esc_id}").text
    assert "notice-ok" not in forged


# -- tasking -----------------------------------------------------------------------------------------------


def _set_capacity(engine: Engine, hub: str, capacity: int) -> None:
    with Session(engine) as s:
        s.execute(update(HUB).where(HUB.c.code == hub).values(capacity=capacity))
        s.commit()


def _east(html: str) -> str:
    return html.split('id="hub-EAST"')[1].split("</section>")[0]


def test_the_load_says_within_near_or_over_capacity(engine: Engine) -> None:
    add_cast(engine)
    for _ in range(3):
        make_case(engine, "tasked", owner="owner.east2")
    v = visitor(engine, "sup.centre")
    _set_capacity(engine, "EAST", 12)
    within = _east(v.get("/tasking").text)
    assert "within capacity" in within and 'class="capacity load-within"' in within
    _set_capacity(engine, "EAST", 3)
    near = _east(v.get("/tasking").text)
    assert "near capacity" in near and "(0 free)" in near
    _set_capacity(engine, "EAST", 1)
    over = _east(v.get("/tasking").text)
    assert "over capacity" in over and "3.0\u00d7 its capacity" in over and "load-over" in over
    assert 'optimum="0"' in over  # the meter itself marks the region as bad, not only the text


def test_tasking_actions_are_confirmed_naming_the_case(engine: Engine) -> None:
    add_cast(engine)
    case = make_case(engine, "assessed")
    v = visitor(engine, "sup.centre")
    page = v.get("/tasking").text
    back = re.search(
        rf'action="/cases/{case.id}/actions/prioritise".*?name="next" value="([^"]+)"', page, re.S
    )
    assert back, "the form says where to come back to"
    nxt = back.group(1).replace("&amp;", "&")
    done = v.post(f"/cases/{case.id}/actions/prioritise", {"version": str(case.version), "next": nxt})
    assert done.status_code == 303 and done.headers["location"] == nxt
    after = v.get(nxt).text
    notice = re.search(r'<p class="notice notice-ok"[^>]*>([^<]+)</p>', after)
    assert notice and case.reference in notice.group(1) and "prioritised" in notice.group(1)
    tasked = v.post(
        f"/cases/{case.id}/actions/task",
        {
            "version": str(case.version + 1),
            "hub": "EAST",
            "owner": "owner.east2",
            "next": f"/tasking?done=task&case={case.id}",
        },
    )
    assert tasked.status_code == 303
    said = v.get(tasked.headers["location"]).text
    assert f"{case.reference} tasked to EAST, owner owner.east2" in said
    # A confirmation is only what the case shows: claiming a deferral of a tasked case says nothing.
    assert "notice-ok" not in v.get(f"/tasking?done=defer&case={case.id}").text


def test_one_hubs_part_is_served_alone_for_the_script(engine: Engine) -> None:
    add_cast(engine)
    case = make_case(engine, "assessed")
    v = visitor(engine, "sup.centre")
    part = v.get(f"/tasking/hubs/EAST?done=prioritise&case={case.id}")
    assert part.status_code == 200
    assert "<html" not in part.text
    assert 'id="section-EAST"' in part.text and case.reference in part.text
    assert 'id="section-NORTH"' not in part.text
    assert part.headers["X-Protective-Marking"] in ("OFFICIAL", "OFFICIAL-SENSITIVE")
    assert "notice-ok" not in part.text  # not prioritised yet: nothing to confirm
    assert v.get("/tasking/hubs/NOWHERE").status_code == 404
    assert visitor(engine, "req.ne").get("/tasking/hubs/EAST").status_code == 403


# -- the request form's words -------------------------------------------------------------------------------

PYDANTIC_WORDS = ("should have", "validation", "Input should", "String should", "List should", "Value error")


def test_request_form_errors_are_written_for_staff(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    response = v.post(
        "/requests/new",
        {
            "title": "x",
            "summary": "",
            "target_type": "nonsense",
            "target_name": "",
            "themes": [],
            "capabilities": ["no_such_capability"],
            "tags": ",".join(["t"] * 25),
        },
    )
    assert response.status_code == 422
    errors = dict(
        re.findall(
            r'<p class="error" id="([a-z_]+)-error"><span[^>]*>Error: </span>([^<]+)</p>', response.text
        )
    )
    assert errors["title"] == "The title must be 3 to 200 characters long, with no control characters."
    assert errors["summary"] == "Describe what is known, what you need and why."
    assert errors["target_type"].startswith("Choose the type of target from the list")
    assert errors["target_name"].startswith("Name the target")
    assert errors["themes"] == "Tick at least one theme."
    assert errors["capabilities"] == "Tick capabilities from the list only."
    assert errors["tags"].startswith("Give at most 20 tags")
    for word in PYDANTIC_WORDS:
        assert word not in response.text, word
