"""MoRiLE scoring against the shipped placeholder matrix, checked against hand-computed values."""

from __future__ import annotations

from typing import Any

import pytest

from rules import ScoreInputError, band_rank, default_matrix, is_downgrade, score
from rules.morile import DEFAULT_MATRIX_PATH, load_matrix


def inputs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "harm": {"physical": 3, "psychological": 3, "financial": 2, "community": 2, "environmental": 0},
        "scope": 3,
        "likelihood": 4,
        "vulnerability": 3,
        "capacity": 2,
        "capability": 1,
        "intelligence": {"source": "1", "grade": "B", "handling": "P"},
    }
    base.update(overrides)
    return base


def test_default_matrix_is_a_labelled_placeholder() -> None:
    m = default_matrix()
    assert (m.id, m.version, m.placeholder) == ("tactical-default", "0.1", True)
    assert "PLACEHOLDER" in m.label and "replace" in m.label
    assert (m.harm_total_max, m.likelihood_total_max, m.risk_raw_max) == (60, 6, 360)
    assert default_matrix() is default_matrix()  # cached
    assert load_matrix(DEFAULT_MATRIX_PATH) == m


def test_hand_computed_score() -> None:
    # harm 3+3+2+2+0 = 10 (weights 1.0); scope 3 x2.0 -> harm total 20; likelihood 4 + 1 (vulnerability
    # 3 >= 3) = 5; raw 20 x 5 = 100; normalised 100 / 360 x 100 = 27.77... -> 27.8 -> P3 Moderate.
    s = score(default_matrix(), inputs())
    assert (s.harm, s.scope_multiplier, s.harm_total) == (10, 2.0, 20)
    assert (s.likelihood, s.vulnerability_uplift, s.likelihood_total) == (4, 1, 5)
    assert (s.risk_raw, s.risk) == (100, 27.8)
    assert (s.band_computed, s.band, s.band_label, s.floor_applied) == ("P3", "P3", "Moderate", False)
    assert (s.org_grade, s.response_level, s.response_escalated) == ("B", "force", False)
    assert s.as_dict()["risk"] == 27.8 and s.as_dict()["matrix_id"] == "tactical-default"


def test_p1_with_capability_d_escalates_the_response() -> None:
    # Story 2/3: harm 4+4+3+3+2 = 16, scope 4 x3.0 = 48; likelihood 5 + 1 = 6; raw 288 -> 80.0 -> P1.
    # Capacity 2 (B) and capability 4 (D): the worse is D, so the force response moves up to regional.
    s = score(
        default_matrix(),
        inputs(
            harm={"physical": 4, "psychological": 4, "financial": 3, "community": 3, "environmental": 2},
            scope=4,
            likelihood=5,
            vulnerability=4,
            capability=4,
        ),
    )
    assert (s.harm_total, s.likelihood_total, s.risk_raw, s.risk, s.band) == (48, 6, 288, 80.0, "P1")
    assert (s.org_grade, s.response_level, s.response_escalated) == ("D", "regional", True)
    assert s.floor_applied is False  # already above the floor
    assert s.facts()["harm_floor"] is False


def test_band_thresholds() -> None:
    # harm 5 x scope 1 x likelihood 5 (no uplift) = 25 raw = 6.9 -> P4; the boundaries come from the file.
    m = default_matrix()
    low = score(
        m,
        inputs(
            harm={"physical": 2, "psychological": 1, "financial": 1, "community": 1, "environmental": 0},
            scope=1,
            likelihood=5,
            vulnerability=0,
        ),
    )
    assert (low.risk, low.band, low.band_label) == (6.9, "P4", "Standard")
    # 20 x 3.0 = 60 x 3 = 180 raw -> exactly 50.0 -> P2 (>= 50).
    edge = score(m, inputs(harm={d: 4 for d in m.dimensions}, scope=4, likelihood=3, vulnerability=0))
    assert (edge.risk, edge.band_computed) == (50.0, "P2")


def test_critical_harm_floor_lifts_to_p2() -> None:
    # physical 4 alone: harm 4 x1.0 = 4 x likelihood 1 = 4 raw -> 1.1 -> P4 computed, floored to P2.
    s = score(
        default_matrix(),
        inputs(
            harm={"physical": 4, "psychological": 0, "financial": 0, "community": 0, "environmental": 0},
            scope=1,
            likelihood=1,
            vulnerability=0,
        ),
    )
    assert (s.risk, s.band_computed, s.band, s.floor_applied) == (1.1, "P4", "P2", True)
    assert s.harm_floor_dimensions == ("physical",)
    assert s.band_label == "High"


@pytest.mark.parametrize(
    ("source", "grade", "expected"),
    [
        ("1", "A", "high"),
        ("1", "B", "high"),
        ("1", "C", "medium"),
        ("2", "A", "medium"),
        ("2", "D", "low"),
        ("3", "A", "low"),
        ("1", "E", "low"),
    ],
)
def test_confidence_suggested_from_3x5x2(source: str, grade: str, expected: str) -> None:
    for handling in ("P", "C"):  # handling governs sharing, not belief
        s = score(
            default_matrix(), inputs(intelligence={"source": source, "grade": grade, "handling": handling})
        )
        assert (s.confidence, s.confidence_suggested, s.confidence_overridden) == (expected, expected, False)


def test_confidence_override_needs_a_reason() -> None:
    m = default_matrix()
    with pytest.raises(ScoreInputError) as raised:
        score(m, inputs(confidence="low"))
    assert raised.value.problems == (
        ("confidence_reason", "a reason is required when confidence (low) differs from the suggested high"),
    )
    s = score(m, inputs(confidence="low", confidence_reason="single uncorroborated report"))
    assert (s.confidence, s.confidence_suggested, s.confidence_overridden) == ("low", "high", True)
    assert s.confidence_reason == "single uncorroborated report"
    same = score(m, inputs(confidence="high"))  # agreeing with the suggestion is no override
    assert same.confidence_overridden is False and same.confidence_reason is None


def test_confidence_without_grades_must_be_given() -> None:
    m = default_matrix()
    no_intel = inputs()
    del no_intel["intelligence"]
    with pytest.raises(ScoreInputError) as raised:
        score(m, no_intel)
    assert raised.value.problems == (
        ("confidence", "required when no intelligence grades are given (low, medium, high)"),
    )
    s = score(m, {**no_intel, "confidence": "medium"})
    assert (s.confidence, s.confidence_suggested, s.intelligence) == ("medium", None, None)


@pytest.mark.parametrize(
    ("capacity", "capability", "grade"), [(1, 1, "A"), (2, 1, "B"), (1, 3, "C"), (4, 2, "D")]
)
def test_org_grade_is_the_worse_of_capacity_and_capability(
    capacity: int, capability: int, grade: str
) -> None:
    assert score(default_matrix(), inputs(capacity=capacity, capability=capability)).org_grade == grade


def test_low_band_with_weak_position_stays_at_force() -> None:
    s = score(default_matrix(), inputs(capacity=4))  # P3 with grade D: no escalation (P1/P2 only)
    assert (s.band, s.org_grade, s.response_level, s.response_escalated) == ("P3", "D", "force", False)


def test_every_input_problem_is_reported_at_once() -> None:
    bad = {
        "harm": {"physical": 7, "psychological": True, "financial": "3", "community": -1, "flood": 2},
        "scope": 5,
        "likelihood": 0,
        "vulnerability": 2.0,
        "capacity": None,
        "intelligence": {"source": 1, "grade": "F", "handling": "X", "age": 3},
        "confidence": "certain",
        "extra": 1,
    }
    with pytest.raises(ScoreInputError) as raised:
        score(default_matrix(), bad)
    harm = "an integer 0–4 (none, low, moderate, substantial, critical)"  # noqa: RUF001 - as users read it
    assert list(raised.value.problems) == [
        (
            "extra",
            "unknown field (allowed: capability, capacity, confidence, confidence_reason, harm, "
            "intelligence, likelihood, scope, vulnerability)",
        ),
        ("harm.physical", f"must be {harm}, got 7"),
        ("harm.psychological", f"must be {harm}, got true"),
        ("harm.financial", f'must be {harm}, got "3"'),
        ("harm.community", f"must be {harm}, got -1"),
        ("harm.environmental", f"missing; must be {harm}"),
        (
            "harm.flood",
            "unknown harm dimension (allowed: physical, psychological, financial, community, environmental)",
        ),
        (
            "scope",
            "must be an integer 1–4 (individual or location x1, local or BCU x1.5, "  # noqa: RUF001
            "force-wide or regional x2, national or international x3), got 5",
        ),
        (
            "likelihood",
            "must be an integer 1–5 (remote, unlikely, realistic possibility, likely, "  # noqa: RUF001
            "almost certain or occurring now), got 0",
        ),
        ("vulnerability", "must be an integer 0–4 (none, low, moderate, high, very high), got 2.0"),  # noqa: RUF001
        ("capacity", "must be an integer 1–4 (strong, adequate, limited, none), got nothing"),  # noqa: RUF001
        ("capability", "missing; must be an integer 1–4 (strong, adequate, limited, none)"),  # noqa: RUF001
        ("intelligence.source", 'must be one of "1" (reliable), "2" (untested), "3" (not reliable), got 1'),
        (
            "intelligence.grade",
            'must be one of "A" (known directly to the source), "B" (known indirectly to the '
            'source but corroborated), "C" (known indirectly to the source), "D" (not known), '
            '"E" (suspected to be false or malicious), got "F"',
        ),
        (
            "intelligence.handling",
            'must be one of "P" (lawful sharing permitted), "C" (lawful sharing permitted '
            'subject to conditions), got "X"',
        ),
        ("intelligence.age", "unknown field (allowed: grade, handling, source)"),
        ("confidence", 'must be one of low, medium, high, got "certain"'),
    ]


def test_band_helpers() -> None:
    assert band_rank("P1") > band_rank("P2") > band_rank("P3") > band_rank("P4")
    assert is_downgrade("P1", "P3") and not is_downgrade("P3", "P1") and not is_downgrade("P2", "P2")
    with pytest.raises(ValueError, match="unknown band"):
        band_rank("P9")
