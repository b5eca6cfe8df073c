"""Matrix-file details the broken corpus does not show: a whole-file error names no field, and zero is a
value (not a missing one) for the uplift and the floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import RuleFileErrors, load_matrix
from tests.rules.factories import BROKEN

COMPACT = Path(__file__).resolve().parent / "matrices" / "compact.yaml"


def test_a_file_that_is_not_a_mapping_is_one_error_about_the_whole_file() -> None:
    with pytest.raises(RuleFileErrors) as raised:
        load_matrix(BROKEN / "25-matrix-not-a-mapping" / "matrix.yaml")
    assert [(e.line, e.column, e.field) for e in raised.value.errors] == [(1, 1, "")]


def test_an_uplift_and_a_floor_of_zero_are_read_as_zero(tmp_path: Path) -> None:
    text = COMPACT.read_text()
    edited = text.replace("uplift: {at_least: 2, add: 1}", "uplift: {at_least: 0, add: 0}").replace(
        "floor: {harm_level: 4, band: P2}", "floor: {harm_level: 0, band: P1}"
    )
    assert edited.count(": 0, ") == text.count(": 0, ") + 2
    path = tmp_path / "matrix.yaml"
    path.write_text(edited)
    m = load_matrix(path)
    assert (m.uplift_at_least, m.uplift_add, m.floor_harm_level, m.floor_band) == (0, 0, 0, "P1")
