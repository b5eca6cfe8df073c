"""Story 3 over HTTP: a P1 with capability D escalates to the East hub supervisor, who sees it in his
list and acknowledges it; others cannot see or touch it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tests.api.clients import PROBLEM, add_cast, app_client, auth
from tests.factories import P1_CAPABILITY_D


def _escalated_case(engine: Engine) -> tuple[int, int]:
    add_cast(engine)
    client = app_client(engine)
    made = client.post("/api/v1/cases", json={**_request()}, headers=auth(engine, "req.ne")).json()
    scored = client.post(
        f"/api/v1/cases/{made['id']}/assessments",
        json={"assessment": P1_CAPABILITY_D},
        headers=auth(engine, "analyst.centre"),
    )
    assert scored.status_code == 201, scored.text
    listing = client.get("/api/v1/escalations?status=open", headers=auth(engine, "sup.east2")).json()
    return made["id"], listing["items"][0]["id"]


def _request() -> dict[str, object]:
    from tests.factories import request_data

    body = request_data()
    body.pop("requesting_unit")
    return body


def test_supervisor_sees_acknowledges_and_history_records_it(engine: Engine) -> None:
    case_id, esc_id = _escalated_case(engine)
    client = app_client(engine)
    sup = auth(engine, "sup.east2")
    item = client.get(f"/api/v1/escalations/{esc_id}", headers=sup).json()
    assert (item["level_name"], item["handler"], item["hub"], item["status"]) == (
        "hub supervisor",
        "hub_supervisor",
        "EAST",
        "open",
    )
    assert item["rules"] == ["weak-position-on-high-band"] and "regional support" in item["reason"]
    assert item["case"]["band"] == "P1"

    done = client.post(
        f"/api/v1/escalations/{esc_id}/acknowledge", json={"note": "Calling ROCU now"}, headers=sup
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["acknowledged_by"]) == ("acknowledged", "sup.east2")
    events = client.get(f"/api/v1/cases/{case_id}/events", headers=sup).json()
    items = events["items"] if isinstance(events, dict) else events
    last = items[-1]
    assert (last["trigger"], last["actor"], last["reason"]) == (
        "escalation_acknowledged",
        "sup.east2",
        "Calling ROCU now",
    )


def test_other_hubs_and_non_supervisors_are_kept_out(engine: Engine) -> None:
    _, esc_id = _escalated_case(engine)
    client = app_client(engine)
    north = client.get(f"/api/v1/escalations/{esc_id}", headers=auth(engine, "sup.north"))
    missing = client.get("/api/v1/escalations/999999", headers=auth(engine, "sup.north"))
    assert north.status_code == missing.status_code == 404
    assert north.json()["detail"].replace(str(esc_id), "N") == missing.json()["detail"].replace("999999", "N")
    assert client.get("/api/v1/escalations", headers=auth(engine, "sup.north")).json()["items"] == []
    analyst = client.post(f"/api/v1/escalations/{esc_id}/acknowledge", headers=auth(engine, "analyst.east"))
    assert analyst.status_code == 403 and analyst.headers["content-type"].startswith(PROBLEM)


def test_snooze_and_resolve_need_reasons_and_resolved_is_final(engine: Engine) -> None:
    _, esc_id = _escalated_case(engine)
    client = app_client(engine)
    sup = auth(engine, "sup.centre")
    soon = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
    bad = client.post(f"/api/v1/escalations/{esc_id}/snooze", json={"until": soon, "reason": ""}, headers=sup)
    assert bad.status_code == 422 and "reason" in bad.text
    ok = client.post(
        f"/api/v1/escalations/{esc_id}/snooze", json={"until": soon, "reason": "ROCU at 17:00"}, headers=sup
    )
    assert ok.status_code == 200 and ok.json()["status"] == "snoozed"
    assert client.post(f"/api/v1/escalations/{esc_id}/resolve", json={}, headers=sup).status_code == 422
    res = client.post(f"/api/v1/escalations/{esc_id}/resolve", json={"reason": "ROCU took it"}, headers=sup)
    assert res.status_code == 200 and res.json()["status"] == "resolved"
    again = client.post(f"/api/v1/escalations/{esc_id}/acknowledge", headers=sup)
    assert again.status_code == 409 and again.json()["title"] == "Already settled"
