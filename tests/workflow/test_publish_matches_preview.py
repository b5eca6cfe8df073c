"""Issue 12 items 8 and 9: what the rules preview promises is exactly what publishing does, on a caseload
with cases in every open state (tasked cases keep their hub), and `sctac rules publish` works end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.conftest import GOLDEN
from tests.factories import DEFAULT_DATA, case_in, unchecked
from workflow import queries, rulesets, service
from workflow.settings import get_settings
from workflow.tables import CASE

SCTAC = str(Path(sys.executable).parent / "sctac")
KNIFE = {
    "requesting_unit": "AS",
    "themes": ["knife_crime"],
    "target_type": "theme",
    "target_name": "Stockwell",
}
OPEN = ("submitted", "assessed", "prioritised", "tasked", "reviewed")


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    """Story 8's routing change, plus a lower 'very high risk' threshold (every scored case escalates to
    the chair) and a shorter review for the default band (so tasked cases change too)."""
    folder = tmp_path / "candidate"
    shutil.copytree(get_settings().rules_path, folder)
    shutil.copy(GOLDEN / "rules" / "story8" / "routing.yaml", folder / "routing.yaml")
    escalation = (folder / "escalation.yaml").read_text()
    assert 'risk: {">=": 90}' in escalation
    (folder / "escalation.yaml").write_text(escalation.replace('risk: {">=": 90}', 'risk: {">=": 1}'))
    return folder


def caseload(session: Session) -> dict[str, dict[str, str]]:
    """Central South knife-crime cases in every open state, two waiting or deferred, and North East
    cases (which no candidate rule re-routes) in every open state. Returns reference -> what it is."""
    made: dict[str, dict[str, str]] = {}
    for state in OPEN:
        made[case_in(session, state, **KNIFE).reference] = {"state": state, "kind": "knife"}
        made[case_in(session, state).reference] = {"state": state, "kind": "north-east"}
    waiting = case_in(session, "submitted", **KNIFE)
    service.fire(
        session,
        case_id=waiting.case_id,
        trigger="await_information",
        by=unchecked("analyst1"),
        data=DEFAULT_DATA["await_information"],
    )
    made[waiting.reference] = {"state": "submitted", "kind": "knife"}
    deferred = case_in(session, "assessed", **KNIFE)
    service.fire(
        session, case_id=deferred.case_id, trigger="defer", by=unchecked("chair"), data=DEFAULT_DATA["defer"]
    )
    made[deferred.reference] = {"state": "assessed", "kind": "knife"}
    closed = case_in(session, "closed", **KNIFE)  # not open: neither previewed nor touched
    made[closed.reference] = {"state": "closed", "kind": "knife"}
    return made


def rows(session: Session) -> dict[str, dict[str, Any]]:
    query = select(
        CASE.c.reference, CASE.c.state, CASE.c.hub, CASE.c.team, CASE.c.escalation_level, CASE.c.policy
    )
    session.rollback()
    return {r["reference"]: dict(r) for r in session.connection().execute(query).mappings()}


def test_publishing_does_exactly_what_the_preview_said(session: Session, candidate: Path) -> None:
    made = caseload(session)
    before = rows(session)
    routable = {"submitted", "assessed", "prioritised"}
    scored = {"assessed", "prioritised", "tasked", "reviewed"}

    preview = rulesets.preview(session, path=candidate)
    # Stated from the caseload, not from the code: knife cases before tasking move to SOUTH; tasked and
    # reviewed ones stay where the tasking put them; every scored open case escalates to level 2.
    knife_routable = sorted(r for r, m in made.items() if m["kind"] == "knife" and m["state"] in routable)
    assert len(knife_routable) == 5
    assert sorted(c.reference for c in preview.of_kind("reroute")) == knife_routable
    escalating = sorted(r for r, m in made.items() if m["state"] in scored)
    assert sorted(c.reference for c in preview.of_kind("escalate")) == escalating
    assert preview.summary().startswith(
        "5 open cases would re-route from Centre queue (CENTRE) to South hub (SOUTH); 9 escalations change"
    )
    assert rows(session) == before  # a preview changes nothing

    published, applied = rulesets.publish_and_apply(session, path=candidate, actor="admin")
    assert applied.conflicts == [] and applied.errors == []
    assert applied.changes == preview.changes  # the same cases, the same changes, in the same order

    after = rows(session)
    changed = {c.reference: c for c in applied.changes}
    for reference, was in before.items():
        now = after[reference]
        if reference not in changed:
            assert now == was, reference
            continue
        change = changed[reference]
        assert (now["hub"], change.route_from) == (change.route_to, was["hub"]), reference
        assert now["escalation_level"] == (change.level_to or 0), reference
        assert now["policy"]["review_days"] == change.review_to, reference
        assert now["state"] == was["state"]
        event = queries.history(session, case_id=_case_id(session, reference))[-1]
        assert event.trigger == "rules_applied" and event.payload["previous"]["policy"] == was["policy"]
    for reference, what in made.items():
        if what["state"] in ("tasked", "reviewed"):
            assert after[reference]["hub"] == before[reference]["hub"], "tasked cases stay put"
    closed = [r for r, m in made.items() if m["state"] == "closed"]
    assert len(closed) == 1 and closed[0] not in changed

    again = rulesets.preview(session, path=candidate)  # the candidate is active now: nothing left
    assert again.changes == () and again.candidate_version == published.version


def _case_id(session: Session, reference: str) -> int:
    return int(
        session.connection().execute(select(CASE.c.id).where(CASE.c.reference == reference)).scalar_one()
    )


def run(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    return subprocess.run([SCTAC, *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_preview_then_publish_end_to_end(engine: Engine, session: Session, candidate: Path) -> None:
    """Item 9: `sctac rules publish` used to save the rules and then crash reading the version."""
    case_in(session, "submitted", **KNIFE)
    tasked = case_in(session, "tasked", **KNIFE)

    shown = run(engine, "rules", "preview", str(candidate))
    assert shown.returncode == 0, shown.stderr
    head, *lines = shown.stdout.splitlines()
    assert head.endswith(
        ": 1 open case would re-route from Centre queue (CENTRE) to South hub (SOUTH); 1 escalation changes"
    ), head

    done = run(engine, "rules", "publish", str(candidate), "--as", "admin", "--note", "story 8")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stderr == ""
    first, *published_lines = done.stdout.splitlines()
    version = rulesets.check(candidate).ruleset
    assert version is not None
    assert first == f"published {version.version}; 2 open case(s) re-decided"
    assert published_lines == lines  # the same case lines the preview printed
    session.rollback()
    assert rulesets.active_version(session) == version.version
    assert queries.get_case(session, case_id=tasked.case_id).hub == "CENTRE"  # tasked: stays put

    again = run(engine, "rules", "publish", str(candidate))  # publishing the active version again
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [f"published {version.version}; 0 open case(s) re-decided"]
