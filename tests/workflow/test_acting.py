"""The service knows who acts: it checks visibility, clearance, permission and legality itself, logs each
refusal, and the same mistake gets the same status and words in the API, the pages and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import add_cast, app_client, auth, make_case
from tests.factories import request_data
from tests.web.pages import visitor
from workflow import accounts, queries, service
from workflow.errors import Forbidden, NotFound
from workflow.models import Refusal, RulesetVersion


def person(session: Session, username: str) -> accounts.Principal:
    return accounts.principal_of(accounts.get_user(session, username=username))


def refusals_of(session: Session, username: str) -> list[tuple[str, int | None, str]]:
    rows = session.execute(select(Refusal).where(Refusal.username == username).order_by(Refusal.id))
    return [(r.action, r.case_id, r.kind) for r in rows.scalars()]


def test_a_case_out_of_sight_is_not_found_and_the_refusal_is_logged(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")  # North East's request, OFFICIAL-SENSITIVE, routed to EAST
    with Session(engine, expire_on_commit=False) as s:
        for who in ("req.cs", "sup.north"):  # another unit's requester; a hub that is not EAST
            with pytest.raises(NotFound, match=f"no case {made.id}"):
                service.fire(s, case_id=made.id, trigger="prioritise", by=person(s, who))
            assert refusals_of(s, who) == [("fire:prioritise", made.id, "not-visible")]
        # Cleared only for OFFICIAL: an OFFICIAL-SENSITIVE case is out of sight too.
        with pytest.raises(NotFound):
            service.fire(
                s, case_id=made.id, trigger="reject", by=person(s, "req.ne.official"), data={"reason": "x"}
            )
        assert queries.get_case(s, case_id=made.id).version == made.version  # nothing written


def test_a_role_the_trigger_does_not_grant_is_forbidden_and_logged(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    with Session(engine, expire_on_commit=False) as s:
        with pytest.raises(Forbidden, match="prioritise needs supervisor; you have requester"):
            service.fire(s, case_id=made.id, trigger="prioritise", by=person(s, "req.ne"))
        assert refusals_of(s, "req.ne") == [("fire:prioritise", made.id, "forbidden")]
        # A requester submits for their own unit only, and within their clearance.
        with pytest.raises(Forbidden, match="requesters submit for their own unit"):
            service.submit_case(s, request=request_data(requesting_unit="AS"), by=person(s, "req.ne"))
        with pytest.raises(Forbidden, match="does not cover OFFICIAL-SENSITIVE"):
            service.submit_case(s, request=request_data(), by=person(s, "req.ne.official"))
        assert [a for a, _, _ in refusals_of(s, "req.ne")] == ["fire:prioritise", "submit"]
        # The person the trigger grants may: the service needs nothing more from its caller.
        done = service.fire(s, case_id=made.id, trigger="prioritise", by=person(s, "sup.centre"))
        assert (done.case.state, done.case.version, done.event_seq) == ("prioritised", made.version + 1, 3)


def test_admins_list_refusals_and_refused_reads_are_among_them(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    api = app_client(engine)
    assert api.get(f"/api/v1/cases/{made.id}", headers=auth(engine, "req.cs")).status_code == 404
    assert api.get(f"/api/v1/cases/{made.id}/events", headers=auth(engine, "req.cs")).status_code == 404
    assert api.get("/api/v1/cases/999999", headers=auth(engine, "req.cs")).status_code == 404  # no such case
    assert api.get("/api/v1/admin/refusals", headers=auth(engine, "req.cs")).status_code == 403
    listed = api.get("/api/v1/admin/refusals", headers=auth(engine, "admin"), params={"username": "req.cs"})
    assert listed.status_code == 200
    assert [(r["action"], r["case_id"], r["kind"]) for r in listed.json()["items"]] == [
        ("read:events", made.id, "not-visible"),
        ("read:detail", made.id, "not-visible"),
    ]


def test_the_same_mistake_gets_the_same_status_in_the_api_and_the_pages(engine: Engine) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    api = app_client(engine)
    sup = auth(engine, "sup.centre")
    url = f"/api/v1/cases/{made.id}/transitions"
    page = visitor(engine, "sup.centre")
    cases = [
        # (trigger, the version acted on, expected status)
        ("prioritise", made.version - 1, 412),  # the case changed since it was read
        ("close", made.version, 409),  # not legal from assessed
        ("fly", made.version, 409),  # no such trigger
        ("defer", made.version, 422),  # a guard: no reason given
    ]
    for trigger, version, status in cases:
        answered = api.post(f"{url}/{trigger}", headers={**sup, "If-Match": f'"{version}"'}, json={})
        shown = page.post(f"/cases/{made.id}/actions/{trigger}", {"version": str(version)})
        assert (answered.status_code, shown.status_code) == (status, status), trigger
    requester = visitor(engine, "req.ne")
    refused_api = api.post(
        f"{url}/prioritise", headers={**auth(engine, "req.ne"), "If-Match": f'"{made.version}"'}, json={}
    )
    refused_page = requester.post(f"/cases/{made.id}/actions/prioritise", {"version": str(made.version)})
    assert refused_api.status_code == refused_page.status_code == 403
    assert refused_api.json()["detail"] in refused_page.text


def test_rules_that_do_not_load_are_a_plain_message_never_loader_text(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine) as s:  # a hand edit of the published rules in the database
        s.add(
            RulesetVersion(version="rs-broken", files={"routing.yaml": "routes: [unclosed"}, published_by="x")
        )
        s.commit()
        s.execute(text("UPDATE ruleset_version SET active = (version = 'rs-broken')"))
        s.commit()
    api = app_client(engine)
    answered = api.post("/api/v1/cases", headers=auth(engine, "req.ne"), json=request_data())
    assert answered.status_code == 503
    assert answered.json()["detail"].startswith("The centre's rules could not be loaded")
    assert "routing.yaml" not in answered.text and "unclosed" not in answered.text
    shown = visitor(engine, "analyst.centre").get("/cases")
    form = visitor(engine, "req.ne").post("/requests/new", {**_form(), "title": "A request title"})
    for response in (shown, form):
        if response.status_code == 503:
            assert "rules could not be loaded; the operators have been told" in response.text
            assert "unclosed" not in response.text
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Refusal)).scalar_one() == 0


def _form() -> dict[str, str]:
    data = request_data()
    return {
        "summary": str(data["summary"]),
        "target_type": str(data["target_type"]),
        "target_name": str(data["target_name"]),
        "themes": "drugs",
        "capabilities": "surveillance",
        "protective_marking": "OFFICIAL",
        "tags": "",
    }


def test_the_cli_acts_as_the_named_account_and_is_refused_like_it(engine: Engine, tmp_path: Path) -> None:
    add_cast(engine)
    made = make_case(engine, "assessed")
    env = {**os.environ, "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    sctac = str(Path(sys.executable).with_name("sctac"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sctac, *args], capture_output=True, text=True, env=env, timeout=120)

    refused = run("case", "fire", made.reference, "prioritise", "--as", "req.ne")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "sctac: prioritise needs supervisor; you have requester"
    unknown = run("case", "fire", made.reference, "prioritise", "--as", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    done = run("case", "fire", made.reference, "prioritise", "--as", "sup.centre")
    assert done.returncode == 0, done.stderr
    listed = run("audit", "refusals", "--user", "req.ne")
    assert listed.returncode == 0 and "fire:prioritise case" in listed.stdout and "forbidden" in listed.stdout
