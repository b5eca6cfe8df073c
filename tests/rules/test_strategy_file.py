"""The Control Strategy file (rules/strategy.py): the shipped one loads against the shipped rules, and
every mistake is reported at its file:line:col with the field named, all in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

import rules

RULESET = rules.load_ruleset(rules.DEFAULT_RULESET_PATH)
THEMES = {code: t.label for code, t in RULESET.themes.items()}
BCUS = [code for code, u in RULESET.units.items() if u.kind == "bcu"]
SHIPPED = rules.DEFAULT_RULESET_PATH / "strategy.yaml"

GOOD = """\
name: Test strategy
period: {from: 2026-04-01, to: 2027-03-31}
weights: {band: 30, risk: 20, priority: 20, requirement: 10, local: 5, urgency: 10, age: 5}
priorities:
  - {rank: 1, theme: county_lines}
  - {rank: 2, theme: knife_crime}
requirements:
  - {id: IR-1, text: Lines out of Newham, keywords: [newham]}
local_priorities:
  - {unit: NE, themes: [gangs]}
"""


def _load(tmp_path: Path, text: str) -> rules.Strategy:
    path = tmp_path / "strategy.yaml"
    path.write_text(text, encoding="utf-8")
    return rules.load_strategy(path, themes=THEMES, units=BCUS)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(rules.RuleFileErrors) as err:
        _load(tmp_path, text)
    prefix = str(tmp_path / "strategy.yaml") + ":"
    return [str(e).removeprefix(prefix) for e in err.value.errors]


def test_the_shipped_strategy_loads_against_the_shipped_rules() -> None:
    strategy = rules.load_strategy(SHIPPED, themes=THEMES, units=BCUS)
    assert strategy.version.startswith("cs-") and len(strategy.version) == 15
    assert strategy.priorities[0].theme == "county_lines" and strategy.priorities[0].label == "County lines"
    assert set(strategy.weights) == set(rules.PARTS)


def test_the_strategy_is_not_part_of_the_ruleset(tmp_path: Path) -> None:
    # A strategy beside the rules is skipped by the rule loader: its version does not move the ruleset's.
    assert all(not f.endswith("strategy.yaml") for f in RULESET.files)


def test_priorities_without_weights_earn_by_rank(tmp_path: Path) -> None:
    strategy = _load(tmp_path, GOOD)
    assert [(p.rank, p.weight) for p in strategy.priorities] == [(1, 1.0), (2, 0.5)]
    assert strategy.requirements[0].keywords == ("newham",)
    assert strategy.local_priorities["NE"].themes == ("gangs",)


def test_the_version_follows_content_not_layout(tmp_path: Path) -> None:
    one = _load(tmp_path, GOOD).version
    assert _load(tmp_path, "# a comment\n" + GOOD).version == one
    assert _load(tmp_path, GOOD.replace("rank: 2, theme: knife_crime", "rank: 2, theme: vawg")).version != one


def test_every_mistake_is_named_at_its_line_and_column(tmp_path: Path) -> None:
    text = """\
name: Bad strategy
period: {from: 2027-04-01, to: 2026-03-31}
weights: {band: 30, risk: -1, priority: 20, requirement: 10, local: 5, urgency: ten, age: 5}
priorities:
  - {rank: 1, theme: county_lines}
  - {rank: 1, theme: knife_crime}
  - {rank: 3, theme: no_such_theme}
requirements:
  - {id: IR-1, text: Nothing to match by}
local_priorities:
  - {unit: ZZ, themes: [gangs]}
colour: blue
"""
    assert _errors(tmp_path, text) == [
        "2:32: period.to: ends before it starts (2027-04-01)",
        "3:27: weights.risk: must be at least 0, got -1",
        '3:81: weights.urgency: expected a number, got "ten"',
        "6:12: priorities[1].rank: rank 1 is also priorities[0]",
        '7:22: priorities[2].theme: unknown theme "no_such_theme" (known: ' + ", ".join(sorted(THEMES)) + ")",
        "9:5: requirements[0]: a requirement matches by themes or keywords: give at least one",
        '11:12: local_priorities[0].unit: unknown BCU "ZZ" (known: ' + ", ".join(sorted(BCUS)) + ")",
        "12:1: colour: unknown field (allowed: age_full_days, local_priorities, name, period, priorities, "
        "requirements, urgency_horizon_days, weights)",
    ]


def test_missing_parts_and_syntax_errors(tmp_path: Path) -> None:
    assert _errors(tmp_path, "name: x\nweights: {band: 1}\n")[:3] == [
        "1:1: period: required field is missing",
        "1:1: priorities: required field is missing",
        "2:10: weights.age: required field is missing",
    ]
    assert _errors(tmp_path, "name: [unclosed\n")[0].startswith("2:1: YAML syntax error")
