"""One definition per trigger: every part is there, and a new trigger defined in one place is found in the
machine, the permissions, the API, the case page and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import add_cast, app_client, auth, make_case
from tests.factories import request_data, unchecked
from tests.web.pages import visitor
from workflow import access, facts, lifecycle, queries, reports, service, triggers
from workflow.clocks import Clock
from workflow.principals import ROLES, Grant, Principal
from workflow.schemas import TransitionInput
from workflow.states import State
from workflow.triggers import Need, Page, TriggerSpec

SCOPES = ("any", "owner", "unit")
NOTIFIED_ROLES = {"requester", "owner", "hub_supervisor", "previous_hub_supervisor"}


def test_every_trigger_is_defined_completely() -> None:
    inputs = set(TransitionInput.model_fields)
    for spec in triggers.REGISTRY.values():
        where = f"trigger {spec.name}"
        assert spec.grants, f"{where}: nobody may fire it"
        for grant in spec.grants:
            assert grant.role in ROLES and grant.scope in SCOPES, f"{where}: grant {grant}"
        assert spec.page.label.strip(), f"{where}: no label for the pages"
        assert "{reference}" in spec.page.confirm, f"{where}: its confirmation does not name the case"
        assert spec.fields <= inputs, f"{where}: fields {spec.fields - inputs} are no input"
        assert spec.required <= spec.fields, f"{where}: needs fields it does not accept"
        if spec.page.form == "action":
            assert set(spec.page.fields) <= spec.fields, f"{where}: its form shows fields it does not take"
            assert spec.required <= set(spec.page.fields), f"{where}: its form lacks a required field"
        assert set(spec.notify) <= NOTIFIED_ROLES, f"{where}: told to unknown roles {spec.notify}"
        assert set(spec.facts) <= set(facts.COLUMNS), f"{where}: facts in no column"
        assert isinstance(spec.clock, Clock)
        assert spec.dest is not None or spec.sources, f"{where}: neither an edge nor the first event"


def test_views_of_the_lifecycle_are_derived_from_the_definitions() -> None:
    assert set(access.PERMISSIONS) >= set(triggers.REGISTRY)
    assert access.unassigned_triggers() == []
    assert set(lifecycle.machine().events) == set(lifecycle.TRIGGERS)
    assert dict(lifecycle.TRIGGER_FIELDS) == {s.name: s.fields for s in triggers.fireable()}


# A trigger that exists only in this test: the centre notes a concern about an assessed case.
CONCERN = TriggerSpec(
    name="note_concern",
    sources=(State.ASSESSED,),
    dest=None,
    grants=(Grant("analyst"),),
    page=Page(
        "Note a concern", ("reason",), confirm="{reference}: concern noted.", reason_label="The concern"
    ),
    needs=(Need("reason", "say what the concern is"),),
    notify=("requester",),
    counted=True,
)


def test_a_trigger_defined_in_one_place_is_found_everywhere(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    with triggers.registered(CONCERN):
        # The machine and the legal moves.
        assert "note_concern" in lifecycle.machine().events
        assert "note_concern" in lifecycle.legal_triggers("assessed")
        assert "note_concern" not in lifecycle.legal_triggers("tasked")
        assert lifecycle.next_state("assessed", "note_concern") == "assessed"
        # The permissions.
        analyst = Principal("analyst.centre", frozenset({"analyst"}), clearance="OFFICIAL-SENSITIVE")
        requester = Principal("req.ne", frozenset({"requester"}), unit_code="NE")
        case = {"state": "assessed", "requesting_unit": "NE", "owner": None}
        assert access.PERMISSIONS["note_concern"] == (Grant("analyst"),)
        assert access.may(analyst, "note_concern", case) and not access.may(requester, "note_concern", case)

        # The API: fired over HTTP, refused to a requester, its guard answered with its own words.
        api = app_client(engine)
        url = f"/api/v1/cases/{made.id}/transitions/note_concern"
        analyst_auth = {**auth(engine, "analyst.centre"), "If-Match": f'"{made.version}"'}
        refused = api.post(url, headers={**auth(engine, "req.ne"), "If-Match": f'"{made.version}"'}, json={})
        assert refused.status_code == 403 and "note_concern needs analyst" in refused.json()["detail"]
        missing = api.post(url, headers=analyst_auth, json={})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
        done = api.post(url, headers=analyst_auth, json={"reason": "Source may be compromised"})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "assessed" and done.json()["version"] == made.version + 1
        with Session(engine) as s:
            event = queries.history(s, case_id=made.id)[-1]
        assert (event.trigger, event.reason, event.actor) == (
            "note_concern",
            "Source may be compromised",
            "analyst.centre",
        )
        assert event.payload["notify"] == ["requester"]

        # The case page: the action's form, with its label and the reason box named for what it holds.
        page = visitor(engine, "analyst.centre").get(f"/cases/{made.id}")
        assert page.status_code == 200
        assert (
            "Note a concern" in page.text and f'action="/cases/{made.id}/actions/note_concern"' in page.text
        )
        assert "The concern" in page.text
        posted = visitor(engine, "analyst.centre").post(
            f"/cases/{made.id}/actions/note_concern", {"version": str(made.version + 1), "reason": "Again"}
        )
        assert posted.status_code == 303
        assert "concern noted" in visitor(engine, "analyst.centre").get(posted.headers["location"]).text

        # The report: counted per week in the flow table.
        with Session(engine) as s:
            now = datetime.now(UTC)
            figures = reports.evaluation(
                s, who=reports.OPERATOR, start=now - timedelta(days=7), end=now + timedelta(days=1)
            )
        counted = figures["flow"]["throughput_per_week"]["note_concern"]
        assert sum(counted.values()) == 2
    # Gone again with its definition.
    assert "note_concern" not in lifecycle.legal_triggers("assessed")
    assert "note_concern" not in access.PERMISSIONS


def test_a_condition_on_the_case_decides_what_is_offered(session: Session) -> None:
    """information_received is offered only while the case waits on the requester (and vice versa)."""
    done = service.submit_case(session, request=request_data(), by=unchecked("ds.ne"))
    assert "information_received" not in lifecycle.offered_triggers(done.case)
    assert "await_information" in lifecycle.offered_triggers(done.case)
    asked = service.fire(
        session,
        case_id=done.case_id,
        trigger="await_information",
        by=unchecked("analyst1"),
        data={"reason": "the source grading"},
    )
    assert "information_received" in lifecycle.offered_triggers(asked.case)
    assert "await_information" not in lifecycle.offered_triggers(asked.case)
