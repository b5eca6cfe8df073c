"""Decisions from the default rules: golden files replayed on both backends, and the preview (story 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from rules import Decisions, FactError, compile_rules, preview
from tests.rules.factories import BACKEND_PARAMS, GOLDEN, compiled, default_ruleset, story8_candidate

GOLDEN_FILES = sorted(GOLDEN.glob("*.yaml"))


def read(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def test_there_are_golden_files_for_the_stories() -> None:
    names = {p.stem for p in GOLDEN_FILES}
    assert {"story1-north-east-county-lines", "story2-3-p1-capability-d"} <= names
    assert (GOLDEN / "story8" / "preview.yaml").exists()


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_golden_decisions(path: Path, backend: str) -> None:
    golden = read(path)
    decisions = compiled(backend).evaluate(golden["facts"])
    got = decisions.as_dict()
    assert got.pop("backend") == backend
    assert got == golden["expected"]
    assert Decisions.from_dict(decisions.as_dict()) == decisions


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_story3_escalates_to_the_east_hub_supervisor_naming_the_rule(backend: str) -> None:
    golden = read(GOLDEN / "story2-3-p1-capability-d.yaml")
    d = compiled(backend).evaluate(golden["facts"])
    assert d.route.hub == "EAST"
    assert d.escalation is not None
    assert (d.escalation.level, d.escalation.handler) == (1, "hub_supervisor")
    assert d.escalation.rules == ("weak-position-on-high-band",)
    assert "needs regional support decision" in d.escalation.reasons[0]
    assert d.policy.review_days == 14  # P1: first review in 14 days (story 4)
    assert d.ruleset_version == default_ruleset().version


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_story8_preview(backend: str, tmp_path: Path) -> None:
    golden = read(GOLDEN / "story8" / "preview.yaml")
    current = compiled(backend)
    candidate = compile_rules(story8_candidate(tmp_path), backend)
    result = preview(
        current=current, candidate=candidate, cases=[(c["reference"], c["facts"]) for c in golden["cases"]]
    )
    assert result.summary() == golden["expected"]["summary"]
    assert [c.reference for c in result.of_kind("reroute")] == golden["expected"]["rerouted"]
    assert all(golden["expected"]["rules"] in c.rules_to for c in result.changes)
    assert result.counts["escalation_changes"] == 0
    assert (result.current_version, result.candidate_version) == (current.version, candidate.version)
    assert result.as_dict()["summary"] == result.summary()


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_preview_reports_escalation_and_timing_changes(backend: str, tmp_path: Path) -> None:
    rules_dir = tmp_path / "stricter"
    rules_dir.mkdir()
    for f in (GOLDEN.parent.parent.parent / "rules" / "default").glob("*.yaml"):
        text = f.read_text()
        if f.name == "escalation.yaml":
            text = text.replace('risk: {">=": 90}', 'risk: {">=": 70}')
        if f.name == "policy.yaml":
            text = text.replace("review_days: 28", "review_days: 21")
        (rules_dir / f.name).write_text(text)
    from rules import load_ruleset

    candidate = compile_rules(load_ruleset(rules_dir), backend)
    cases = [
        (
            "A",
            {"unit": "NA", "band": "P1", "risk": 80.0, "org_grade": "A", "confidence": "high"},
        ),  # new level 2
        (
            "B",
            {"unit": "NA", "band": "P2", "risk": 55.0, "org_grade": "A", "confidence": "high"},
        ),  # review 28 -> 21
        ("C", {"unit": "NA", "band": "P3", "risk": 30.0}),  # unchanged
        ("D", {"unit": "NA", "risk": "high"}),  # cannot be evaluated
    ]
    result = preview(current=compiled(backend), candidate=candidate, cases=cases)
    assert [(c.reference, c.kinds) for c in result.changes] == [("A", ("escalate",)), ("B", ("review",))]
    assert result.errors == (("D", 'risk: expected a number, got "high"'),)
    assert result.summary() == (
        "0 open cases would re-route; 1 escalation changes; 1 case changes SLA or review targets; "
        "1 cannot be evaluated by the candidate"
    )


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_bad_facts_raise_fact_error_with_every_problem(backend: str) -> None:
    with pytest.raises(FactError) as raised:
        compiled(backend).evaluate(
            {"unit": "XX", "risk": "high", "harm_floor": 1, "themes": ["drugs", "cake"], "colour": "red"}
        )
    problems = dict(raised.value.problems)
    assert problems["risk"] == 'expected a number, got "high"'
    assert problems["harm_floor"] == "expected true or false, got 1"
    assert problems["themes[1]"].endswith('got "cake"')
    assert problems["colour"].startswith("unknown fact")
    assert problems["unit"].startswith("must be one of CE, CN, AS")


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_absent_facts_and_defaults(backend: str) -> None:
    d = compiled(backend).evaluate({})
    assert (d.route.hub, d.route.rule) == ("CENTRE", "default_route")
    assert d.escalation is None
    assert d.policy.sources["review_days"] == "policy_defaults"
    assert d.trace[0].rule == "default_route" and d.trace[0].matched == ()
