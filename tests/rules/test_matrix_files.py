"""Matrix files read into the model they describe, checked on their own, and told apart from rule files.

One broken matrix per check lives in tests/rules/broken/NN-matrix-*/ (run by test_rule_files.py); each
is tests/rules/matrices/compact.yaml with one edit, so each check runs alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules import (
    RuleFileErrors,
    check,
    check_matrix,
    default_matrix,
    is_matrix_file,
    load_matrix,
    load_ruleset,
)
from rules.morile import BandDef, ScopeLevel
from tests.rules.factories import BROKEN, DEFAULT_RULES

HERE = Path(__file__).resolve().parent
COMPACT = HERE / "matrices" / "compact.yaml"
SHIPPED = HERE.parents[1] / "rules" / "matrices" / "tactical-default.yaml"


def test_compact_matrix_reads_into_exactly_what_it_says() -> None:
    m = load_matrix(COMPACT)
    assert (m.id, m.version, m.placeholder, m.label) == ("force-x", "1", False, "test matrix")
    assert m.harm_levels == {0: "none", 1: "low", 2: "moderate", 3: "substantial", 4: "critical"}
    assert m.dimensions == {"physical": ("Physical", 1.0), "financial": ("Financial", 1.0)}
    assert m.scope == {1: ScopeLevel("individual", 1.0), 2: ScopeLevel("national", 3.0)}
    assert m.likelihood_levels == {1: "remote", 2: "likely", 3: "almost certain"}
    assert m.vulnerability_levels == {0: "none", 1: "low", 2: "high"}
    assert (m.uplift_at_least, m.uplift_add) == (2, 1)
    assert m.bands == (
        BandDef("P1", "Very High", 75.0),
        BandDef("P2", "High", 50.0),
        BandDef("P3", "Moderate", 25.0),
        BandDef("P4", "Standard", 0.0),
    )
    assert (m.floor_harm_level, m.floor_band) == (4, "P2")
    assert m.sources == {"1": "reliable", "2": "untested", "3": "not reliable"}
    assert m.grades == {"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"}
    assert m.handling == {"P": "p", "C": "c"}
    assert m.suggest == {
        "1": {"A": "high", "B": "high", "C": "medium", "D": "low", "E": "low"},
        "2": {"A": "medium", "B": "medium", "C": "medium", "D": "low", "E": "low"},
        "3": {"A": "low", "B": "low", "C": "low", "D": "low", "E": "low"},
    }
    assert m.org_levels == {1: "strong", 2: "adequate", 3: "limited", 4: "none"}
    assert m.org_grades == {1: "A", 2: "B", 3: "C", 4: "D"}
    assert (m.escalate_bands, m.escalate_grades) == (("P1", "P2"), ("C", "D"))
    assert m.response_levels == ("force", "regional", "national")
    assert m.base_response == {1: "force", 2: "regional"}
    # Two dimensions at most 4 each = 8; x3.0 = 24; likelihood 3 + uplift 1 = 4; 24 x 4 = 96.
    assert (m.harm_max, m.harm_total_max, m.likelihood_total_max, m.risk_raw_max) == (8, 24, 4, 96)
    assert m.band_label("P3") == "Moderate"


def test_keys_are_sorted_whatever_the_file_order(tmp_path: Path) -> None:
    text = COMPACT.read_text()
    swapped = text.replace(
        "  1: {label: individual, multiplier: 1.0}\n  2: {label: national, multiplier: 3.0}\n",
        "  2: {label: national, multiplier: 3.0}\n  1: {label: individual, multiplier: 1.0}\n",
    ).replace("{0: none, 1: low, 2: high}", "{2: high, 0: none, 1: low}")
    assert swapped != text
    path = tmp_path / "m.yaml"
    path.write_text(swapped)
    m = load_matrix(path)
    assert list(m.scope) == [1, 2] and list(m.vulnerability_levels) == [0, 1, 2]


def test_matrix_file_errors_come_sorted_by_position() -> None:
    with pytest.raises(RuleFileErrors) as raised:
        load_matrix(BROKEN / "23-matrix-bad-bands" / "matrix.yaml")
    positions = [(e.line, e.column) for e in raised.value.errors]
    assert positions == sorted(positions) and len(positions) == 8


def test_an_unreadable_matrix_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileErrors) as raised:
        load_matrix(tmp_path / "absent.yaml")
    assert [str(e) for e in raised.value.errors] == [
        f"{tmp_path / 'absent.yaml'}:1:1: cannot read file: FileNotFoundError"
    ]


def test_a_matrix_file_is_recognised_and_a_rule_file_is_not(tmp_path: Path) -> None:
    assert is_matrix_file(COMPACT) and is_matrix_file(SHIPPED)
    assert not is_matrix_file(DEFAULT_RULES / "routing.yaml")
    assert not is_matrix_file(DEFAULT_RULES)  # a folder is a ruleset
    assert not is_matrix_file(tmp_path / "absent.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- harm\n")
    assert not is_matrix_file(listed)
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("harm: {}\nrouting: []\n")  # a ruleset section makes it a rule file
    assert not is_matrix_file(mixed)


def test_check_matrix_reports_without_raising() -> None:
    good = check_matrix(SHIPPED)
    assert good.ok and good.errors == () and good.warnings == () and good.ruleset is None
    assert good.matrix == default_matrix()
    bad = check_matrix(BROKEN / "29-matrix-last-band-not-zero" / "matrix.yaml")
    assert not bad.ok and bad.matrix is None
    assert [e.message for e in bad.errors] == ["the last band must have min_risk 0, got 5"]
    assert bad.lines() == [f"error: {bad.errors[0]}"]


def test_a_matrix_given_as_rules_is_one_clear_error(tmp_path: Path) -> None:
    shutil.copy(COMPACT, tmp_path / "matrix.yaml")
    result = check(tmp_path / "matrix.yaml")
    message = "a MoRiLE matrix file, not a rule file: check it on its own as a matrix"
    assert [str(e) for e in result.errors] == [f"{tmp_path / 'matrix.yaml'}:1:1: {message}"]


def test_a_matrix_inside_a_ruleset_folder_is_named_and_the_rules_still_load(tmp_path: Path) -> None:
    for f in DEFAULT_RULES.glob("*.yaml"):
        shutil.copy(f, tmp_path)
    shutil.copy(COMPACT, tmp_path / "matrix.yaml")
    with pytest.raises(RuleFileErrors) as raised:
        load_ruleset(tmp_path)
    assert [(Path(e.file).name, e.line, e.column, e.field) for e in raised.value.errors] == [
        ("matrix.yaml", 1, 1, "")
    ]


@pytest.mark.parametrize(
    ("emptied", "sections"),
    [
        ("routing.yaml", ["default_route"]),
        ("escalation.yaml", ["escalation_levels"]),
        ("policy.yaml", ["policy_defaults"]),
        ("reference.yaml", ["capabilities", "hubs", "target_types", "themes", "units"]),
    ],
)
def test_a_missing_section_is_reported_at_the_file_that_should_hold_it(
    tmp_path: Path, emptied: str, sections: list[str]
) -> None:
    for f in DEFAULT_RULES.glob("*.yaml"):
        shutil.copy(f, tmp_path)
    (tmp_path / emptied).write_text("")
    with pytest.raises(RuleFileErrors) as raised:
        load_ruleset(tmp_path)
    missing = [
        (Path(e.file).name, e.line, e.column, e.field)
        for e in raised.value.errors
        if e.message == "required section is missing from the ruleset"
    ]
    assert missing == [(emptied, 1, 1, name) for name in sections]


def test_a_missing_section_without_its_usual_file_is_reported_at_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "b-rules.yaml").write_text("routing: []\n")
    (tmp_path / "a-notes.yaml").write_text("")
    with pytest.raises(RuleFileErrors) as raised:
        load_ruleset(tmp_path)
    files = {Path(e.file).name for e in raised.value.errors if e.field == "hubs"}
    assert files == {"a-notes.yaml"}
