"""MoRiLE scoring against the shipped placeholder matrix, checked against hand-computed values."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rules import ScoreInputError, band_rank, default_matrix, is_downgrade, score
from rules.morile import DEFAULT_MATRIX_PATH, BandDef, ScopeLevel, load_matrix


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


# -- boundaries, stated by hand from MORILE.md and rules/matrices/tactical-default.yaml ---------------

EVEN = ("physical", "psychological", "financial", "community", "environmental")


def even_harm(level: int) -> dict[str, int]:
    return {d: level for d in EVEN}


# Scores that land exactly on each default threshold (risk = harm x scope multiplier x likelihood total
# x 100 / 360), with likelihood 5 + 1 (vulnerability 3 adds 1) = 6 and scope 4 (x3.0):
#   harm 5 x 1 -> 15 x 6 = 90 -> 25.0; 5 x 2 -> 30 x 6 = 180 -> 50.0; 5 x 3 -> 45 x 6 = 270 -> 75.0
ON_THRESHOLD = [(1, 25.0, "P3", "P4"), (2, 50.0, "P2", "P3"), (3, 75.0, "P1", "P2")]


def with_bands(m: Any, p1: float, p2: float, p3: float) -> Any:
    return replace(
        m,
        bands=(
            BandDef("P1", "Very High", p1),
            BandDef("P2", "High", p2),
            BandDef("P3", "Moderate", p3),
            BandDef("P4", "Standard", 0.0),
        ),
    )


@pytest.mark.parametrize(("level", "risk", "band", "below"), ON_THRESHOLD)
def test_each_band_threshold_and_a_hair_either_side(level: int, risk: float, band: str, below: str) -> None:
    m = default_matrix()
    case = inputs(harm=even_harm(level), scope=4, likelihood=5, vulnerability=3)
    s = score(m, case)
    assert (s.risk, s.band_computed, s.band, s.floor_applied) == (risk, band, band, False)
    assert s.harm_floor_dimensions == ()  # no dimension at critical
    thresholds = {"P1": 75.0, "P2": 50.0, "P3": 25.0}
    for shift, expected in ((+0.05, below), (-0.05, band)):
        moved = dict(thresholds)
        moved[band] = risk + shift
        assert score(with_bands(m, moved["P1"], moved["P2"], moved["P3"]), case).band_computed == expected


def test_the_lowest_score_is_the_last_band() -> None:
    s = score(default_matrix(), inputs(harm=even_harm(0), scope=1, likelihood=1, vulnerability=0))
    assert (s.harm, s.risk_raw, s.risk, s.band, s.band_label) == (0, 0, 0.0, "P4", "Standard")


def test_the_floor_changes_nothing_when_the_score_is_already_p2() -> None:
    # physical 4 with 2, 2, 1, 1: harm 10 x3.0 = 30 x 6 = 180 -> 50.0 -> P2 on the score itself.
    harm = {"physical": 4, "psychological": 2, "financial": 2, "community": 1, "environmental": 1}
    s = score(default_matrix(), inputs(harm=harm, scope=4, likelihood=5, vulnerability=3))
    assert (s.risk, s.band_computed, s.band) == (50.0, "P2", "P2")
    assert s.harm_floor_dimensions == ("physical",)
    assert s.floor_applied is False and s.facts()["harm_floor"] is False


def test_the_floor_lifts_p3_and_names_every_critical_dimension() -> None:
    # 4 + 4 + 0 + 0 + 0 = 8 x1.0 = 8 x 1 = 8 raw -> 2.2 -> P4, floored to P2 by physical and community.
    harm = {"physical": 4, "psychological": 0, "financial": 0, "community": 4, "environmental": 0}
    s = score(default_matrix(), inputs(harm=harm, scope=1, likelihood=1, vulnerability=0))
    assert (s.risk, s.band_computed, s.band, s.floor_applied) == (2.2, "P4", "P2", True)
    assert s.harm_floor_dimensions == ("physical", "community")
    assert s.facts()["harm_floor"] is True and s.facts()["band"] == "P2"
    three = score(default_matrix(), inputs(harm=even_harm(3), scope=1, likelihood=1, vulnerability=0))
    assert (three.band, three.floor_applied, three.harm_floor_dimensions) == ("P4", False, ())


@pytest.mark.parametrize(
    ("x", "expected"),
    # harm 3 x1.5 (scope 2) = 4.5 x likelihood 1 = 4.5 raw -> 1.25 exactly -> 1.3 (half up; a banker's or
    # binary round gives 1.2); x3 (likelihood 3) = 13.5 -> 3.75 -> 3.8; harm 5 x1.5 x 1 = 7.5 -> 2.083 -> 2.1.
    [((3, 2, 1), 1.3), ((3, 2, 3), 3.8), ((5, 2, 1), 2.1)],
)
def test_rounding_is_half_up_at_x5(x: tuple[int, int, int], expected: float) -> None:
    harm_sum, scope, likelihood = x
    harm = {"physical": min(harm_sum, 3), "psychological": max(harm_sum - 3, 0)}
    harm |= {"financial": 0, "community": 0, "environmental": 0}
    s = score(default_matrix(), inputs(harm=harm, scope=scope, likelihood=likelihood, vulnerability=0))
    assert s.risk == expected


def test_decimal_weights_are_exact() -> None:
    # Weights of 0.1 and a multiplier of 1.1 read as written, not as the nearest binary fraction:
    # harm 0.1 x 1 (physical only) = 0.1, x1.1 = 0.11; harm_total_max = 0.5 x 4 x 3.0 = 6.0; x likelihood 3
    # = 0.33 of 36 -> 0.9166.. -> 0.9.
    m = default_matrix()
    tenth = replace(
        m,
        dimensions={d: (d.title(), 0.1) for d in EVEN},
        scope={**m.scope, 2: ScopeLevel("local or BCU", 1.1)},
    )
    harm = {"physical": 1, "psychological": 0, "financial": 0, "community": 0, "environmental": 0}
    s = score(tenth, inputs(harm=harm, scope=2, likelihood=3, vulnerability=0))
    assert (s.harm, s.scope_multiplier, s.harm_total) == (0.1, 1.1, 0.11)
    assert (s.harm_total_max, s.risk_raw_max, s.risk) == (6.0, 36.0, 0.9)
    assert s.risk_raw == 0.33


P1_WEAK = {
    "harm": {"physical": 4, "psychological": 4, "financial": 3, "community": 3, "environmental": 2},
    "scope": 4,
    "likelihood": 5,
    "vulnerability": 4,
}


@pytest.mark.parametrize(
    ("base", "capability", "response", "escalated"),
    [
        ("force", 4, "regional", True),
        ("regional", 4, "national", True),
        ("national", 4, "national", False),  # nowhere higher to go: recorded as not escalated
        ("regional", 2, "regional", False),  # grade B: the force can respond
        ("regional", 3, "national", True),  # grade C escalates too
    ],
)
def test_each_response_level_escalates_one_step(
    base: str, capability: int, response: str, escalated: bool
) -> None:
    m = default_matrix()
    started = replace(m, base_response={1: "force", 2: "force", 3: "force", 4: base})
    s = score(started, inputs(**P1_WEAK, capacity=1, capability=capability))
    assert s.band == "P1"
    assert (s.response_level, s.response_escalated) == (response, escalated)
    assert s.facts()["response_level"] == response


def test_p2_escalates_and_p3_does_not() -> None:
    # 2 x 5 = 10 x3.0 = 30 x 6 = 180 -> 50.0 -> P2 with capacity 4 (grade D): force -> regional.
    p2 = score(
        default_matrix(), inputs(harm=even_harm(2), scope=4, likelihood=5, vulnerability=3, capacity=4)
    )
    assert (p2.band, p2.org_grade, p2.response_level, p2.response_escalated) == ("P2", "D", "regional", True)
    # 1 x 5 = 5 x3.0 = 15 x 6 = 90 -> 25.0 -> P3 with grade D: no escalation.
    p3 = score(
        default_matrix(), inputs(harm=even_harm(1), scope=4, likelihood=5, vulnerability=3, capacity=4)
    )
    assert (p3.band, p3.response_level, p3.response_escalated) == ("P3", "force", False)


def test_a_floored_p2_escalates_like_a_scored_one() -> None:
    # physical 4 alone: 1.1 -> P4, floored to P2; capability 3 (grade C) then moves the response up.
    harm = {"physical": 4, "psychological": 0, "financial": 0, "community": 0, "environmental": 0}
    s = score(default_matrix(), inputs(harm=harm, scope=1, likelihood=1, vulnerability=0, capability=3))
    assert (s.band, s.org_grade, s.response_level, s.response_escalated) == ("P2", "C", "regional", True)


def test_vulnerability_uplift_starts_at_three() -> None:
    at = score(default_matrix(), inputs(vulnerability=3))
    below = score(default_matrix(), inputs(vulnerability=2))
    assert (at.vulnerability_uplift, at.likelihood_total) == (1, 5)
    assert (below.vulnerability_uplift, below.likelihood_total) == (0, 4)


# -- what a score records (the audit of an assessment) --------------------------------------------------


def test_every_recorded_field_of_a_score() -> None:
    # The hand-computed case above: harm 10, x2.0 = 20, likelihood 4 + 1 = 5, raw 100 of 360 -> 27.8, P3.
    assert score(default_matrix(), inputs()).as_dict() == {
        "matrix_id": "tactical-default",
        "matrix_version": "0.1",
        "placeholder": True,
        "harm_levels": {
            "physical": 3,
            "psychological": 3,
            "financial": 2,
            "community": 2,
            "environmental": 0,
        },
        "harm": 10.0,
        "harm_floor_dimensions": [],
        "scope": 3,
        "scope_multiplier": 2.0,
        "harm_total": 20.0,
        "harm_total_max": 60.0,
        "likelihood": 4,
        "vulnerability": 3,
        "vulnerability_uplift": 1,
        "likelihood_total": 5,
        "likelihood_total_max": 6,
        "risk_raw": 100.0,
        "risk_raw_max": 360.0,
        "risk": 27.8,
        "band_computed": "P3",
        "floor_applied": False,
        "band": "P3",
        "band_label": "Moderate",
        "intelligence": {"source": "1", "grade": "B", "handling": "P"},
        "confidence": "high",
        "confidence_suggested": "high",
        "confidence_overridden": False,
        "confidence_reason": None,
        "capacity": 2,
        "capability": 1,
        "org_grade": "B",
        "response_level": "force",
        "response_escalated": False,
    }


def test_a_score_records_the_matrix_that_made_it() -> None:
    issued = replace(default_matrix(), id="force-x", version="2.3", placeholder=False, label="issued")
    s = score(
        issued, inputs(capacity=3, capability=4, intelligence={"source": "2", "grade": "D", "handling": "C"})
    )
    assert (s.matrix_id, s.matrix_version, s.placeholder) == ("force-x", "2.3", False)
    assert (s.capacity, s.capability, s.org_grade) == (3, 4, "D")
    assert s.intelligence == {"source": "2", "grade": "D", "handling": "C"}
    assert (s.confidence, s.confidence_suggested) == ("low", "low")


def test_the_facts_handed_to_the_rules() -> None:
    assert score(default_matrix(), inputs()).facts() == {
        "band": "P3",
        "risk": 27.8,
        "harm_total": 20.0,
        "likelihood_total": 5,
        "harm_floor": False,
        "org_grade": "B",
        "confidence": "high",
        "response_level": "force",
    }


# -- input problems not covered above ---------------------------------------------------------------------


def problems(value: Any) -> list[tuple[str, str]]:
    with pytest.raises(ScoreInputError) as raised:
        score(default_matrix(), value)
    return list(raised.value.problems)


def test_inputs_must_be_a_mapping() -> None:
    assert problems([1, 2]) == [("", "inputs must be a mapping, got a list")]


def test_harm_missing_or_not_a_mapping() -> None:
    dims = "physical, psychological, financial, community, environmental"
    no_harm = inputs()
    del no_harm["harm"]
    assert problems(no_harm) == [("harm", f"must be a mapping of {dims} to levels; missing")]
    assert problems(inputs(harm=3)) == [("harm", f"must be a mapping of {dims} to levels; got 3")]


def test_intelligence_must_be_a_mapping_with_all_three_grades() -> None:
    assert problems(inputs(intelligence="1B")) == [
        ("intelligence", 'must be a mapping of source, grade, handling; got "1B"')
    ]
    partial = problems(inputs(intelligence={"source": "1", "grade": "B"}))
    assert partial == [
        (
            "intelligence.handling",
            'missing; must be one of "P" (lawful sharing permitted), '
            '"C" (lawful sharing permitted subject to conditions)',
        )
    ]


def test_confidence_given_as_nothing() -> None:
    assert problems(inputs(confidence=None)) == [
        ("confidence", "must be one of low, medium, high, got nothing")
    ]
    no_grades = inputs(intelligence=None)
    assert problems(no_grades) == [
        ("confidence", "required when no intelligence grades are given (low, medium, high)")
    ]
    given = score(default_matrix(), inputs(intelligence=None, confidence="low"))
    assert (given.intelligence, given.confidence, given.confidence_overridden) == (None, "low", False)


def test_the_reason_for_an_override() -> None:
    assert problems(inputs(confidence="low", confidence_reason="   ")) == [
        (
            "confidence_reason",
            'a reason is required when confidence (low) differs from the suggested high, got "   "',
        )
    ]
    assert problems(inputs(confidence_reason=5)) == [("confidence_reason", "must be text, got 5")]
    s = score(default_matrix(), inputs(confidence="medium", confidence_reason="  one source only  "))
    assert (s.confidence, s.confidence_overridden, s.confidence_reason) == ("medium", True, "one source only")
    ignored = score(default_matrix(), inputs(confidence_reason="not needed"))  # no override: not recorded
    assert ignored.confidence_reason is None


def test_confidence_given_as_nothing_without_grades_is_one_problem() -> None:
    assert problems(inputs(intelligence=None, confidence=None)) == [
        ("confidence", "must be one of low, medium, high, got nothing")
    ]
