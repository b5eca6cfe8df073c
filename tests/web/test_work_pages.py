"""My work, new requests, escalations, the tasking list, rules and the dashboard."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from api.web.core import LONDON
from notifications.delivery import Channels
from notifications.worker import run_once
from tests.factories import P1_CAPABILITY_D, unchecked
from tests.web.pages import add_cast, make_case, visitor
from workflow import hub_resources, queries, rulesets, service
from workflow.db import utcnow
from workflow.models import Escalation
from workflow.settings import get_settings

REQUEST = {
    "title": "County line run from Newham into Essex",
    "summary": "Line holder supplying class A into Basildon.",
    "target_type": "ocg",
    "target_name": "The Forest Gate line",
    "themes": ["drugs", "county_lines"],
    "capabilities": ["surveillance"],
    "protective_marking": "OFFICIAL-SENSITIVE",
}


def escalated(engine: Engine) -> tuple[int, int, str]:
    """A case scored P1 with capability D (story 3): (case id, escalation id, reference)."""
    made = make_case(engine, "submitted")
    with Session(engine) as s:
        service.fire(
            s,
            case_id=made.id,
            trigger="assess",
            by=unchecked("analyst1"),
            data={"assessment": P1_CAPABILITY_D},
        )
        esc = s.execute(select(Escalation).where(col(Escalation.case_id) == made.id)).scalar_one()
        assert esc.id is not None
        return made.id, esc.id, made.reference


# -- new requests ------------------------------------------------------------------------------------------


def test_a_requester_submits_and_sees_reference_hub_and_due_date(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    form = v.get("/requests/new")
    assert form.status_code == 200
    for name in ("title", "target_type", "target_name", "summary", "tags"):
        assert f'<label for="{name}">' in form.text, name
    response = v.post("/requests/new", REQUEST)
    assert response.status_code == 303
    done = v.get(response.headers["location"])
    reference = re.search(r'id="reference">(SCT-\d{4}-\d{6})<', done.text)
    assert reference
    assert 'id="routed-hub">' in done.text and 'id="assessment-due">' in done.text
    assert "—" not in done.text.split('id="assessment-due">')[1][:10]
    mine = v.get("/requests")
    assert reference.group(1) in mine.text
    assert reference.group(1) not in visitor(engine, "req.cs").get("/requests").text


def test_a_bad_request_keeps_values_and_marks_each_field(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne")
    response = v.post("/requests/new", {**REQUEST, "title": "x", "themes": [], "target_type": "nonsense"})
    assert response.status_code == 422
    for name in ("title", "themes", "target_type"):
        assert f'id="{name}-error"' in response.text, name
    assert 'value="The Forest Gate line"' in response.text
    assert 'value="surveillance" checked' in response.text


def test_clearance_limits_the_marking_a_requester_may_choose(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "req.ne.official")
    assert 'value="OFFICIAL-SENSITIVE"' not in v.get("/requests/new").text
    response = v.post("/requests/new", REQUEST)
    assert response.status_code == 422
    assert "does not cover OFFICIAL-SENSITIVE" in response.text


def test_only_requesters_make_requests(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "analyst.centre")
    assert v.get("/requests/new").status_code == 403
    assert v.post("/requests/new", REQUEST).status_code == 403


# -- my work ---------------------------------------------------------------------------------------------


def test_my_work_fits_each_role(engine: Engine) -> None:
    add_cast(engine)
    submitted = make_case(engine, "submitted")
    owned = make_case(engine, "tasked", owner="owner.centre")
    _, _, escalated_ref = escalated(engine)
    requester = visitor(engine, "req.ne").get("/").text
    assert "My unit&#39;s requests" in requester and submitted.reference in requester
    analyst = visitor(engine, "analyst.centre").get("/").text
    assert "Assessment queue" in analyst and submitted.reference in analyst
    owner = visitor(engine, "owner.centre").get("/").text
    mine = owner.split('id="mine-h"')[1]
    assert owned.reference in mine and "review" in mine and submitted.reference not in mine
    supervisor = visitor(engine, "sup.centre").get("/").text
    assert supervisor.index('id="esc-h"') < supervisor.index('id="mine-h"')
    assert escalated_ref in supervisor.split('id="esc-h"')[1].split('id="mine-h"')[0]


def test_unread_notifications_show_and_can_be_marked_read(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "submitted")
    run_once(engine, channels=Channels.from_settings(get_settings()))
    v = visitor(engine, "req.ne")
    page = v.get("/")
    found = re.search(r'action="/notifications/(\d+)/read"', page.text)
    if found is None:  # the default recipients may not include this requester: nothing to mark
        assert "No unread notifications" in page.text
        return
    assert v.post(f"/notifications/{found.group(1)}/read", {"next": "/"}).status_code == 303
    assert f"/notifications/{found.group(1)}/read" not in v.get("/").text


# -- escalations -------------------------------------------------------------------------------------------


def test_supervisor_acknowledges_and_the_history_shows_it(engine: Engine) -> None:
    add_cast(engine)
    case_id, esc_id, reference = escalated(engine)
    v = visitor(engine, "sup.centre")
    page = v.get("/escalations")
    assert page.status_code == 200 and reference in page.text and "Level 1" in page.text
    done = v.post(f"/escalations/{esc_id}/acknowledge", {"note": "ROCU asked for support"})
    assert done.status_code == 303
    assert "acknowledged" in v.get(done.headers["location"]).text
    history = v.get(f"/cases/{case_id}").text
    assert "escalation acknowledged" in history and "ROCU asked for support" in history


def test_snooze_needs_a_reason_and_a_time(engine: Engine) -> None:
    add_cast(engine)
    _, esc_id, _ = escalated(engine)
    v = visitor(engine, "sup.centre")
    response = v.post(f"/escalations/{esc_id}/snooze", {"until": "", "reason": ""})
    assert response.status_code == 422
    assert f'id="e{esc_id}-snooze-until-error"' in response.text
    soon = (utcnow() + timedelta(hours=3)).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")
    response = v.post(f"/escalations/{esc_id}/snooze", {"until": soon, "reason": ""})
    assert response.status_code == 422 and f'id="e{esc_id}-snooze-reason-error"' in response.text
    assert f'value="{soon}"' in response.text
    assert (
        v.post(f"/escalations/{esc_id}/snooze", {"until": soon, "reason": "Chair back at 2"}).status_code
        == 303
    )


def test_resolving_twice_says_it_is_settled(engine: Engine) -> None:
    add_cast(engine)
    _, esc_id, _ = escalated(engine)
    v = visitor(engine, "sup.centre")
    assert v.post(f"/escalations/{esc_id}/resolve", {"reason": "Regional unit took it"}).status_code == 303
    again = v.post(f"/escalations/{esc_id}/resolve", {"reason": "again"})
    assert again.status_code == 409 and "already resolved" in again.text


def test_escalations_follow_need_to_know_and_role(engine: Engine) -> None:
    add_cast(engine)
    _, esc_id, reference = escalated(engine)  # routed to the EAST hub
    north = visitor(engine, "sup.north")
    assert reference not in north.get("/escalations").text
    assert north.post(f"/escalations/{esc_id}/acknowledge", {}).status_code == 404
    assert visitor(engine, "analyst.centre").get("/escalations").status_code == 403
    east = visitor(engine, "sup.east2")
    assert reference in east.get("/escalations?hub=EAST").text
    assert reference not in east.get("/escalations?hub=NORTH").text


# -- tasking ---------------------------------------------------------------------------------------------


def test_tasking_list_ranks_by_band_and_shows_capacity(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine) as s:  # teams are reference data (issue 13): the chair picks one of the hub's
        team = {"code": "East surveillance 2", "name": "East surveillance 2"}
        hub_resources.add_team(s, hub="EAST", data=team, by=unchecked("admin"))
    low = make_case(engine, "assessed")
    high_id, _, high_ref = escalated(engine)
    v = visitor(engine, "sup.centre")
    page = v.get("/tasking")
    assert page.status_code == 200
    east = page.text.split('id="hub-EAST"')[1].split("</section>")[0]
    assert east.index(high_ref) < east.index(low.reference)
    assert "tasked of capacity 12" in east
    response = v.post(f"/cases/{high_id}/actions/prioritise", {"version": "2", "next": "/tasking#hub-EAST"})
    assert response.status_code == 303 and response.headers["location"] == "/tasking#hub-EAST"
    # Story 4: each prioritised case is tasked to a hub team and an owner from the list itself.
    assert f'id="team-{high_id}"' in v.get("/tasking").text
    tasked = v.post(
        f"/cases/{high_id}/actions/task",
        {
            "version": "3",
            "next": "/tasking",
            "hub": "EAST",
            "team": "East surveillance 2",
            "owner": "owner.east",
        },
    )
    assert tasked.status_code == 303
    with Session(engine) as s:
        case = queries.get_case(s, case_id=high_id)
    assert (case.state, case.team, case.owner) == ("tasked", "East surveillance 2", "owner.east")
    assert visitor(engine, "req.ne").get("/tasking").status_code == 403


def test_tasking_meeting_defers_a_case_with_a_reason(engine: Engine) -> None:
    """Story 4: the chair defers one with a reason; it stays on the list, in its rank, saying why."""
    add_cast(engine)
    case = make_case(engine, "assessed")
    v = visitor(engine, "sup.centre")
    form = f'action="/cases/{case.id}/actions/defer"'
    assert form in v.get("/tasking").text
    back = {"version": str(case.version), "next": "/tasking#hub-EAST"}
    refused = v.post(f"/cases/{case.id}/actions/defer", back)
    assert refused.status_code == 422 and "say why the meeting deferred it" in refused.text
    done = v.post(f"/cases/{case.id}/actions/defer", {**back, "reason": "EAST over capacity this week"})
    assert done.status_code == 303 and done.headers["location"] == "/tasking#hub-EAST"
    east = v.get("/tasking").text.split('id="hub-EAST"')[1].split("</section>")[0]
    assert case.reference in east and "EAST over capacity this week" in east and "Deferred" in east
    assert "deferred by the tasking meeting" in v.get(f"/cases/{case.id}").text
    assert visitor(engine, "analyst.centre").get("/tasking").text.count(form) == 0  # supervisors decide
    run_once(engine, channels=Channels.from_settings(get_settings()))
    assert f"Request {case.reference}: defer" in visitor(engine, "req.ne").get("/").text  # the BCU is told


# -- rules -----------------------------------------------------------------------------------------------


def _rule_form(page: str) -> dict[str, list[str]]:
    names = re.findall(r'<input type="hidden" name="name" value="([^"]+)">', page)
    bodies = re.findall(r'<textarea id="file-\d+" name="text"[^>]*>(.*?)</textarea>', page, re.S)
    import html

    return {"name": names, "text": [html.unescape(b) for b in bodies]}


def test_rules_check_reports_file_and_line(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "admin")
    page = v.get("/admin/rules")
    assert page.status_code == 200 and 'id="active-version">rs-' in page.text
    form = _rule_form(page.text)
    i = form["name"].index("routing.yaml")
    form["text"][i] = form["text"][i].replace("default_route:", "default_rout:", 1)
    response = v.post("/admin/rules", {**form, "action": "check"})
    assert response.status_code == 422
    table = response.text.split('id="rule-problems"')[1]
    assert re.search(r"<td>routing\.yaml</td><td>\d+</td>", table)
    assert "default_rout" in table


def test_rules_preview_then_publish(engine: Engine) -> None:
    add_cast(engine)
    make_case(
        engine, "submitted", requesting_unit="AS", themes=["knife_crime"], capabilities=["surveillance"]
    )
    v = visitor(engine, "admin")
    page = v.get("/admin/rules")
    form = _rule_form(page.text)
    i = form["name"].index("routing.yaml")
    rule = (
        "routing:\n  - name: knife-crime-central-south\n    priority: 1\n"
        "    when: {unit: AS, themes: knife_crime}\n    then: {hub: SOUTH}\n"
    )
    form["text"][i] = form["text"][i].replace("routing:\n", rule, 1)
    checked = v.post("/admin/rules", {**form, "action": "check"})
    assert checked.status_code == 200, re.findall(r"<td>error</td>.*?</tr>", checked.text)[:3]
    assert 'id="preview-summary"' in checked.text and "to South hub (SOUTH)" in checked.text
    published = v.post("/admin/rules", {**form, "action": "publish", "note": "story 8"})
    assert published.status_code == 200 and "Published" in published.text
    with Session(engine) as s:
        assert rulesets.active_version(s) is not None


def test_rules_upload_replaces_a_file(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "admin")
    form = _rule_form(v.get("/admin/rules").text)
    response = v.client.post(
        "/admin/rules",
        data={**form, "action": "check", "csrf_token": v.csrf},
        files={"upload": ("routing.yaml", b"routing: [\n", "application/yaml")},
        follow_redirects=False,
    )
    assert response.status_code == 422 and "<td>routing.yaml</td>" in response.text


def test_rules_are_for_admins(engine: Engine) -> None:
    add_cast(engine)
    v = visitor(engine, "sup.centre")
    assert v.get("/admin/rules").status_code == 403
    assert v.post("/admin/rules", {"action": "check"}).status_code == 403


# -- dashboard -------------------------------------------------------------------------------------------


def test_dashboard_draws_the_matrix_and_counts_only_visible_cases(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "assessed")
    make_case(engine, "assessed", requesting_unit="AS")
    centre = visitor(engine, "analyst.centre").get("/dashboard")
    assert centre.status_code == 200
    assert "<svg" in centre.text and "placeholder matrix" in centre.text
    assert re.search(r'class="cell-count">2<', centre.text)
    unit = visitor(engine, "req.ne").get("/dashboard")
    assert re.search(r'class="cell-count">1<', unit.text) and not re.search(
        r'class="cell-count">2<', unit.text
    )
    assert "/reports/evaluation" not in unit.text


def test_evaluation_report_is_for_those_who_see_every_case(engine: Engine) -> None:
    add_cast(engine)
    make_case(engine, "closed")
    centre = visitor(engine, "sup.centre")
    report = centre.get("/reports/evaluation")
    assert report.status_code == 200 and "pathfinder evaluation" in report.text
    assert visitor(engine, "req.ne").get("/reports/evaluation").status_code == 403


def test_evaluation_page_takes_a_period_and_downloads_its_figures(engine: Engine) -> None:
    """Story 9: the programme manager picks the period and exports the same figures for the FBC."""
    add_cast(engine)
    make_case(engine, "closed")
    centre = visitor(engine, "sup.centre")
    today = utcnow().date()
    week = {"from": (today - timedelta(days=7)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    page = centre.get("/reports/evaluation", params=week)
    assert page.status_code == 200
    assert f"Period: {week['from']} to\n  {week['to']}" in page.text
    assert f'name="from" value="{week["from"]}"' in page.text  # the form keeps the chosen period
    as_csv = centre.get("/reports/evaluation", params={**week, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert (
        f'filename="sctac-evaluation-{week["from"]}-{week["to"]}.csv"'
        in as_csv.headers["content-disposition"]
    )
    rows = as_csv.text.splitlines()
    assert rows[0] == "section,measure,key1,key2,key3,value"
    assert "demand,requests_total,,,,1" in rows
    as_json = centre.get("/reports/evaluation", params={**week, "format": "json"})
    assert as_json.json()["demand"]["requests_total"] == 1
    before = centre.get("/reports/evaluation", params={"from": "2000-01-01", "to": "2000-01-08"})
    assert (
        before.status_code == 200
        and "demand,requests_total,,,,0"
        in centre.get(
            "/reports/evaluation", params={"from": "2000-01-01", "to": "2000-01-08", "format": "csv"}
        ).text.splitlines()
    )
    backwards = centre.get("/reports/evaluation", params={"from": week["to"], "to": week["from"]})
    assert backwards.status_code == 422 and "must be before" in backwards.text
    mistyped = centre.get("/reports/evaluation", params={"from": "31/12/2026"})
    assert mistyped.status_code == 422 and "not a day like 2026-05-01" in mistyped.text


def test_case_in_state(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "reviewed", owner="owner.centre")
    with Session(engine) as s:
        assert queries.get_case(s, case_id=made.id).state == "reviewed"
    page = visitor(engine, "owner.centre").get(f"/cases/{made.id}")
    assert f"/cases/{made.id}/actions/close" in page.text and 'id="close-outcome"' in page.text
