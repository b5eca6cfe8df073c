"""Errors about a whole matrix file name no field (the empty path), not a missing one."""

from __future__ import annotations

import pytest

from rules import RuleFileErrors, load_matrix
from tests.rules.factories import BROKEN


def test_a_file_that_is_not_a_mapping_is_one_error_about_the_whole_file() -> None:
    with pytest.raises(RuleFileErrors) as raised:
        load_matrix(BROKEN / "25-matrix-not-a-mapping" / "matrix.yaml")
    assert [(e.line, e.column, e.field) for e in raised.value.errors] == [(1, 1, "")]
