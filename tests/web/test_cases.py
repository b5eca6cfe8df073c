"""The case pages: lists, need-to-know, the case page, its actions, MoRiLE scoring and conflicts."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import P1_CAPABILITY_D, morile_inputs, unchecked
from tests.web.pages import add_cast, make_case, visitor
from workflow import hub_resources, queries, service

MORILE_FORM = {
    "assessment.harm.physical": "4",
    "assessment.harm.psychological": "4",
    "assessment.harm.financial": "3",
    "assessment.harm.community": "4",
    "assessment.harm.environmental": "0",
    "assessment.scope": "4",
    "assessment.likelihood": "5",
    "assessment.vulnerability": "3",
    "assessment.capacity": "2",
    "assessment.capability": "4",
    "assessment.intelligence.source": "1",
    "assessment.intelligence.grade": "B",
    "assessment.intelligence.handling": "P",
}


def version_of(engine: Engine, case_id: int) -> tuple[int, str]:
    with Session(engine) as s:
        case = queries.get_case(s, case_id=case_id)
        return case.version, case.state


def test_case_list_shows_only_what_the_user_may_see(engine: Engine) -> None:
    add_cast(engine)
    ne = make_case(engine, "submitted")
    cs = make_case(engine, "submitted", requesting_unit="AS", title="Knife crime in Lambeth")
    page = visitor(engine, "req.ne").get("/cases")
    assert page.status_code == 200
    assert ne.reference in page.text and cs.reference not in page.text
    other = visitor(engine, "req.cs").get("/cases")
    assert cs.reference in other.text and ne.reference not in other.text
    centre = visitor(engine, "analyst.centre").get("/cases?q=Lambeth")
    assert cs.reference in centre.text and ne.reference not in centre.text


def test_case_list_filters_and_pages(engine: Engine) -> None:
    add_cast(engine)
    made = [make_case(engine, "submitted") for _ in range(51)]
    assessed = make_case(engine, "assessed")
    v = visitor(engine, "analyst.centre")
    first = v.get("/cases")
    assert first.text.count("<tr") == 51  # header + 50 rows
    next_url = re.search(r'href="(/cases\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert next_url, "a next page link"
    second = v.get(next_url.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert made[0].reference in second.text and "First page" in second.text
    only = v.get("/cases?state=assessed")
    assert assessed.reference in only.text and made[0].reference not in only.text
    # Nonsense filters are not a server error, nor silently ignored: the page says what is wrong (issue 12).
    nonsense = v.get("/cases?state=nonsense&hub=%00&sort=bogus")
    assert nonsense.status_code == 422 and 'id="search-problems"' in nonsense.text
    assert "There is no state \u201cnonsense\u201d." in nonsense.text


def test_another_units_case_is_a_404_page(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "req.cs")
    hidden = v.get(f"/cases/{made.id}")
    missing = v.get("/cases/999999")
    assert hidden.status_code == missing.status_code == 404
    assert "text/html" in hidden.headers["content-type"]
    assert made.reference not in hidden.text
    assert v.get("/cases/not-a-number").status_code == 404
    # An OFFICIAL-cleared member of the same unit cannot see an OFFICIAL-SENSITIVE request either.
    assert visitor(engine, "req.ne.official").get(f"/cases/{made.id}").status_code == 404


def test_case_page_shows_marking_score_decisions_history_and_allowed_actions(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    analyst = visitor(engine, "analyst.centre").get(f"/cases/{made.id}")
    assert analyst.status_code == 200
    text = analyst.text
    assert text.count(">OFFICIAL-SENSITIVE</div>") == 2  # banner top and bottom
    assert "placeholder matrix" in text and "tactical-default version 0.1" in text
    assert "Rules fired" in text and "rs-" in text
    assert "submit" in text and "assess" in text  # the timeline
    assert f"/cases/{made.id}/actions/reject" in text  # analysts may reject
    assert f"/cases/{made.id}/actions/prioritise" not in text  # only supervisors prioritise
    assert "Re-score with MoRiLE" in text
    requester = visitor(engine, "req.ne").get(f"/cases/{made.id}").text
    assert f"/cases/{made.id}/actions/withdraw" in requester
    assert f"/cases/{made.id}/actions/reject" not in requester and "assess-form" not in requester


def test_reading_a_case_page_is_logged(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    visitor(engine, "analyst.centre").get(f"/cases/{made.id}")
    admin = visitor(engine, "admin")
    log = admin.client.get(
        f"/api/v1/admin/reads?case_id={made.id}", headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert [r["username"] for r in log.json()["items"]] == ["analyst.centre"]


def test_assessment_without_javascript_previews_then_saves(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    preview = v.post(f"/cases/{made.id}/assess", {**MORILE_FORM, "version": "1", "action": "preview"})
    assert preview.status_code == 200
    assert "P1 Very High" in preview.text and "risk <strong>75.0</strong>/100" in preview.text
    assert version_of(engine, made.id) == (1, "submitted"), "a preview stores nothing"
    saved = v.post(f"/cases/{made.id}/assess", {**MORILE_FORM, "version": "1", "action": "save"})
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/cases/{made.id}?done=assess")
    assert version_of(engine, made.id)[1] == "assessed"
    page = v.get(saved.headers["location"])
    assert "Done: Assess" in page.text and "weak-position-on-high-band" in page.text


def test_bad_assessment_keeps_values_and_puts_errors_beside_fields(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    form = {**MORILE_FORM, "assessment.scope": "", "assessment.harm.physical": "9", "version": "1"}
    response = v.post(f"/cases/{made.id}/assess", {**form, "action": "save"})
    assert response.status_code == 422
    assert 'id="assessment-scope-error"' in response.text
    assert 'id="assessment-harm-physical-error"' in response.text
    assert re.search(
        r'<option value="4" selected>4 \u2013 critical</option>', response.text
    )  # community kept
    assert version_of(engine, made.id) == (1, "submitted")


def test_an_incomplete_preview_names_what_is_missing(engine: Engine) -> None:
    """Issue 12 item 16: the preview says which fields are missing, in the form's own words."""
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    partial = {
        k: v for k, v in MORILE_FORM.items() if k not in ("assessment.harm.financial", "assessment.scope")
    }
    answer = v.client.post(f"/cases/{made.id}/score-preview", data=partial, headers={"X-CSRF-Token": v.csrf})
    assert answer.status_code == 422
    html = answer.json()["html"]
    assert "To see the score, complete the fields marked with an error:" in html
    assert "financial harm" in html and "scope" in html
    assert "physical harm" not in html


def test_live_preview_endpoint_scores_without_storing(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    url = f"/cases/{made.id}/score-preview"
    ok = v.client.post(url, data=MORILE_FORM, headers={"X-CSRF-Token": v.csrf})
    assert ok.status_code == 200
    body = ok.json()
    assert body["band"] == "P1" and body["risk"] == 75.0 and "placeholder matrix" in body["html"]
    bad = v.client.post(url, data={"assessment.scope": "7"}, headers={"X-CSRF-Token": v.csrf})
    assert bad.status_code == 422 and "assessment.scope" in bad.json()["errors"]
    assert v.client.post(url, data=MORILE_FORM).status_code == 403  # no CSRF token
    assert (
        visitor(engine, "req.ne")
        .client.post(url, data=MORILE_FORM, headers={"X-CSRF-Token": "x"})
        .status_code
        == 403
    )
    assert version_of(engine, made.id) == (1, "submitted")


def test_a_guard_failure_puts_the_message_beside_the_field(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    v = visitor(engine, "analyst.centre")
    response = v.post(f"/cases/{made.id}/actions/reject", {"version": "1", "reason": ""})
    assert response.status_code == 422
    assert 'id="reject-reason-error"' in response.text
    assert "a reason is required to reject a request" in response.text
    assert re.search(r"<details class=\"action\" open>\s*<summary>Reject", response.text)


def test_task_needs_an_owner_and_keeps_the_team_typed(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "prioritised")
    with Session(engine) as s:  # teams are reference data now (issue 13): chosen, no longer typed
        team = {"code": "Team Blue", "name": "Blue"}
        hub_resources.add_team(s, hub="EAST", data=team, by=unchecked("admin"))
    v = visitor(engine, "sup.centre")
    response = v.post(f"/cases/{made.id}/actions/task", {"version": str(made.version), "team": "Team Blue"})
    assert response.status_code == 422
    assert 'id="task-owner-error"' in response.text and 'value="Team Blue"' in response.text
    done = v.post(f"/cases/{made.id}/actions/task", {"version": str(made.version), "owner": "owner.centre"})
    assert done.status_code == 303
    assert version_of(engine, made.id)[1] == "tasked"


def test_a_conflict_says_so_shows_the_new_state_and_keeps_the_typing(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    first = visitor(engine, "analyst.centre")
    second = visitor(engine, "sup.centre")
    # Both opened the case at version 1; the analyst asks the BCU for information first.
    assert (
        first.post(
            f"/cases/{made.id}/actions/await_information", {"version": "1", "reason": "Grading missing"}
        ).status_code
        == 303
    )
    response = second.post(
        f"/cases/{made.id}/actions/reject", {"version": "1", "reason": "Not specialist work"}
    )
    assert response.status_code == 412  # a stale version: the same status as the API's (issue 11)
    assert "changed by someone else" in response.text and "Nothing was saved" in response.text
    assert "Not specialist work" in response.text
    assert "version 2" in response.text and "awaiting information" in response.text
    assert version_of(engine, made.id) == (2, "submitted")


def test_a_conflict_on_assessment_keeps_the_scores(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    with Session(engine) as s:
        service.fire(
            s,
            case_id=made.id,
            trigger="assess",
            by=unchecked("analyst1"),
            data={"assessment": morile_inputs()},
        )
    v = visitor(engine, "analyst.centre")
    response = v.post(f"/cases/{made.id}/assess", {**MORILE_FORM, "version": "1", "action": "save"})
    assert response.status_code == 412  # a stale version: the same status as the API's (issue 11)
    assert "changed by someone else" in response.text
    assert re.search(r'<option value="4" selected>4 \u2013 national or international', response.text)


def test_an_action_the_role_may_not_take_is_a_403_page(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    response = visitor(engine, "req.ne").post(f"/cases/{made.id}/actions/prioritise", {"version": "2"})
    assert response.status_code == 403
    assert "prioritise needs supervisor" in response.text
    assert (
        # No such action: an illegal transition, as in the API (issue 11: one status everywhere).
        visitor(engine, "req.ne").post(f"/cases/{made.id}/actions/fly", {"version": "2"}).status_code == 409
    )


def test_owner_reviews_and_the_case_history_shows_it(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "tasked", owner="owner.east2")
    v = visitor(engine, "owner.east2")
    work = v.get("/")
    assert made.reference in work.text and "review" in work.text
    response = v.post(
        f"/cases/{made.id}/actions/review",
        {
            "version": str(made.version),
            "progress": "Two warrants executed.",
            "strands": ["pursue", "protect"],
        },
    )
    assert response.status_code == 303
    page = v.get(f"/cases/{made.id}")
    assert "Two warrants executed." in page.text and "4P: pursue, protect" in page.text


def test_escalation_shows_on_the_case_with_its_rules(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    with Session(engine) as s:
        service.fire(
            s,
            case_id=made.id,
            trigger="assess",
            by=unchecked("analyst1"),
            data={"assessment": P1_CAPABILITY_D},
        )
    page = visitor(engine, "sup.centre").get(f"/cases/{made.id}")
    assert "weak-position-on-high-band" in page.text and "needs regional support decision" in page.text
    assert "Pending timers" in page.text and "ladder" in page.text


def test_the_case_page_shows_whether_its_history_verifies(engine: Engine) -> None:
    """Issue 12 item 23: a tampered event is not shown as if nothing were wrong."""
    add_cast(engine)
    made = make_case(engine, "assessed")
    v = visitor(engine, "analyst.centre")
    assert "History verified: all 2 events are sealed and linked" in v.get(f"/cases/{made.id}").text
    with engine.begin() as conn:  # a hand edit of the database, as someone with write access might make
        conn.execute(
            text("UPDATE case_event SET reason = 'edited' WHERE case_id = :c AND seq = 2"), {"c": made.id}
        )
    page = v.get(f"/cases/{made.id}").text
    assert "does not verify" in page and "Event 2:" in page
