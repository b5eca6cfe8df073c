"""The explainable priority (workflow/priority.py), pure: each named part, its weight from the strategy,
the total, the reason line and the order, with expected values worked out by hand from the weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rules
from workflow.priority import Ranker, rank

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STRATEGY = """\
name: Test strategy
period: {from: 2026-04-01, to: 2027-03-31}
weights: {band: 40, risk: 20, priority: 20, requirement: 10, local: 4, urgency: 10, age: 8}
urgency_horizon_days: 10
age_full_days: 40
priorities:
  - {rank: 1, theme: county_lines, label: county lines}
  - {rank: 2, theme: knife_crime, weight: 0.25}
requirements:
  - {id: IR-7, text: Who runs the Basildon line, keywords: [basildon]}
local_priorities:
  - {unit: NE, themes: [knife_crime]}
"""


def _strategy(tmp_path: Path, text: str = STRATEGY) -> rules.Strategy:
    path = tmp_path / "strategy.yaml"
    path.write_text(text, encoding="utf-8")
    return rules.load_strategy(path)


def _case(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "band": "P2",
        "risk": 65.0,
        "themes": [],
        "tags": [],
        "title": "A request",
        "target_name": "Someone",
        "requesting_unit": "CE",
        "sla_due_at": None,
        "sla_breached": False,
        "created_at": NOW,
    }
    return {**base, **over}


def test_each_part_is_its_share_of_its_weight(tmp_path: Path) -> None:
    ranker = Ranker(_strategy(tmp_path))
    p = ranker.weigh(
        _case(
            themes=["county_lines"],
            title="Line into Basildon",
            sla_due_at=NOW + timedelta(days=2),
            created_at=NOW - timedelta(days=10),
        ),
        NOW,
    )
    points = {part.name: part.points for part in p.parts}
    # P2 is 3/4 of 40; risk 65 is 0.65 of 20; priority 1 earns all 20; IR-7 by keyword 10; no local;
    # due in 2 of a 10-day horizon: (1 - 0.2) of 10; 10 of 40 days waited: a quarter of 8.
    assert points == {
        "band": 30.0,
        "risk": 13.0,
        "priority": 20.0,
        "requirement": 10.0,
        "local": 0.0,
        "urgency": 8.0,
        "age": 2.0,
    }
    assert p.total == 83.0
    assert p.reason == (
        "P2 · risk 65 · Control Strategy priority 1: county lines · intelligence requirement IR-7"
        " · due in 2 days"
    )
    assert p.strategy.startswith("cs-")
    assert [part.weight for part in p.parts] == [40, 20, 20, 10, 4, 10, 8]


def test_a_priority_weight_of_its_own_and_the_bcus_local_priority(tmp_path: Path) -> None:
    p = Ranker(_strategy(tmp_path)).weigh(
        _case(band="P4", risk=None, themes=["knife_crime"], requesting_unit="NE"), NOW
    )
    points = {part.name: part.points for part in p.parts}
    assert points["band"] == 10.0 and points["risk"] == 0.0
    assert points["priority"] == 5.0  # its own weight, 0.25 of 20, not the rank's share
    assert points["local"] == 4.0
    assert p.reason == "P4 · Control Strategy priority 2: knife crime · local priority of NE: knife crime"


def test_overdue_takes_all_the_urgency_and_keywords_match_whole_words(tmp_path: Path) -> None:
    ranker = Ranker(_strategy(tmp_path))
    late = ranker.weigh(_case(sla_due_at=NOW - timedelta(days=3), title="Basildonian"), NOW)
    parts = {part.name: part for part in late.parts}
    assert parts["urgency"].points == 10.0 and parts["urgency"].why == "overdue by 3 days"
    assert parts["requirement"].points == 0.0  # "Basildonian" is not the word "basildon"
    unscored = ranker.weigh(_case(band=None, risk=None), NOW)
    assert unscored.total == 0.0 and unscored.reason == "not scored"


def test_the_order_is_by_total_then_band_risk_and_age(tmp_path: Path) -> None:
    ranker = Ranker(_strategy(tmp_path))
    cases = [
        _case(id=1, band="P3", risk=40.0),
        _case(id=2, band="P3", risk=40.0, themes=["county_lines"]),  # +20 for the strategy
        _case(id=3, band="P1", risk=40.0),  # +20 for the band (40 against 20)
        _case(id=4, band="P3", risk=40.0, created_at=NOW - timedelta(days=1)),  # older: ties go to it
    ]
    order = [c["id"] for c, _ in rank(ranker, cases, NOW)]
    # 3 and 2 both total 48 (P1: 40 + 8 against P3: 20 + 8 + 20): the better band goes first; 4 and 1
    # differ by a day's age points (0.2), 4 first.
    assert order == [3, 2, 4, 1]


def test_changing_a_weight_in_the_file_changes_the_order(tmp_path: Path) -> None:
    cases = [_case(id=1, band="P1", risk=50.0), _case(id=2, band="P3", risk=50.0, themes=["county_lines"])]
    before = [c["id"] for c, _ in rank(Ranker(_strategy(tmp_path)), cases, NOW)]
    heavier = STRATEGY.replace("priority: 20, requirement", "priority: 60, requirement")
    after = [c["id"] for c, _ in rank(Ranker(_strategy(tmp_path, heavier)), cases, NOW)]
    assert before == [1, 2] and after == [2, 1]
