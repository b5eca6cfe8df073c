"""Story 8: change the rules, check, preview the effect on open cases, publish; old decisions keep
the version that made them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.conftest import GOLDEN
from tests.factories import request_data, submit
from workflow import queries, reports, rulesets
from workflow.errors import RulesInvalid
from workflow.settings import get_settings

KNIFE = {
    "requesting_unit": "AS",
    "themes": ["knife_crime"],
    "target_type": "theme",
    "target_name": "Stockwell",
}


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    folder = tmp_path / "candidate"
    shutil.copytree(get_settings().rules_path, folder)
    shutil.copy(GOLDEN / "rules" / "story8" / "routing.yaml", folder / "routing.yaml")
    return folder


def test_preview_publish_and_apply(session: Session, candidate: Path) -> None:
    knife = [submit(session, **KNIFE) for _ in range(3)]
    other = submit(session)  # North East: stays with EAST
    before_version = queries.get_case(session, case_id=knife[0].case_id).ruleset_version

    preview = rulesets.preview(session, path=candidate)
    assert (
        preview.summary()
        == "3 open cases would re-route from Centre queue (CENTRE) to South hub (SOUTH); 0 escalations change"
    )
    assert sorted(c.reference for c in preview.changes) == sorted(k.reference for k in knife)
    assert all(queries.get_case(session, case_id=k.case_id).hub == "CENTRE" for k in knife)  # nothing moved

    published = rulesets.publish(session, path=candidate, actor="admin")
    assert rulesets.active_version(session) == published.version != before_version
    applied = rulesets.apply_to_open_cases(session, actor="admin")
    assert sorted(applied.changed) == sorted(k.reference for k in knife) and applied.conflicts == []

    for k in knife:
        case = queries.get_case(session, case_id=k.case_id)
        assert (case.hub, case.ruleset_version) == ("SOUTH", published.version)
        event = queries.history(session, case_id=k.case_id)[-1]
        assert event.trigger == "rules_applied" and event.payload["previous"]["hub"] == "CENTRE"
        assert event.payload["decisions"]["route"]["rule"] == "knife-crime-central-south"
        first, last = queries.decisions(session, case_id=k.case_id)
        assert (first.ruleset_version, first.hub) == (before_version, "CENTRE")  # old decision kept
        assert (last.ruleset_version, last.hub) == (published.version, "SOUTH")
    assert queries.get_case(session, case_id=other.case_id).hub == "EAST"

    newcomer = submit(session, **KNIFE)
    assert queries.get_case(session, case_id=newcomer.case_id).hub == "SOUTH"
    assert rulesets.apply_to_open_cases(session, actor="admin").changed == []  # nothing left to change


def test_the_evaluation_follows_cases_a_published_ruleset_re_routes(
    session: Session, candidate: Path
) -> None:
    """Open cases per hub come from the event log: a re-route by publishing is an event like any other."""
    for _ in range(3):
        submit(session, **KNIFE)
    submit(session)  # North East: stays with EAST
    everything = reports.OPERATOR  # the report counts what its reader may see: here, every case
    assert reports.evaluation(session, who=everything)["workload"]["open_by_hub"] == {"CENTRE": 3, "EAST": 1}
    rulesets.publish(session, path=candidate, actor="admin")
    rulesets.apply_to_open_cases(session, actor="admin")
    assert reports.evaluation(session, who=everything)["workload"]["open_by_hub"] == {"EAST": 1, "SOUTH": 3}
    demand = reports.evaluation(session, who=everything)["demand"][
        "by_hub"
    ]  # demand stays where it was first routed
    assert {hub: sum(weeks.values()) for hub, weeks in demand.items()} == {"CENTRE": 3, "EAST": 1}


def test_broken_candidate_names_file_and_line(session: Session, candidate: Path) -> None:
    broken = "routing:\n  - name: x\n    when: {risk: high}\n    then: {hub: MOON}\n"
    (candidate / "routing.yaml").write_text(broken)
    with pytest.raises(RulesInvalid) as err:
        rulesets.publish(session, path=candidate, actor="admin")
    lines = [line.replace(f"{candidate}/", "") for line in err.value.lines]
    unknown_hub = 'routing[0].then.hub: unknown hub "MOON" (known: NORTH, SOUTH, EAST, WEST, CENTRE)'
    assert f"routing.yaml:4:17: {unknown_hub}" in lines
    assert any(line.startswith("routing.yaml:3:") and "routing[0].when.risk" in line for line in lines), lines
    assert rulesets.active_version(session) is None  # nothing published
    assert submit(session, **request_data()).reference
