"""Capacity files (issue 13, bad input): every problem at once as `file:line:col: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import RuleFileErrors, load_capacity

HUBS = ("EAST", "NORTH")
CAPABILITIES = ("surveillance", "covert")


def test_a_good_file_gives_each_hubs_figures_and_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "capacity.yaml"
    path.write_text(
        "reason: 2027 establishment\n"
        "capacity:\n  EAST: {surveillance: 2, covert: 0}\n  NORTH:\n    surveillance: 1\n"
    )
    loaded = load_capacity(path, hubs=HUBS, capabilities=CAPABILITIES)
    assert loaded.capacity == {"EAST": {"surveillance": 2, "covert": 0}, "NORTH": {"surveillance": 1}}
    assert loaded.reason == "2027 establishment"


def test_every_error_is_reported_with_its_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "capacity.yaml"
    path.write_text(
        "capacity:\n"
        "  EAST: {surveillance: -1, telepathy: 2}\n"
        "  MOON: {surveillance: 1}\n"
        "  NORTH:\n"
        "    covert: lots\n"
        "extra: 1\n"
    )
    with pytest.raises(RuleFileErrors) as err:
        load_capacity(path, hubs=HUBS, capabilities=CAPABILITIES)
    assert [str(e).removeprefix(f"{path}:") for e in err.value.errors] == [
        "2:24: capacity.EAST.surveillance: must be at least 0, got -1",
        '2:28: capacity.EAST.telepathy: unknown capability "telepathy" (known: covert, surveillance)',
        '3:3: capacity.MOON: unknown hub "MOON" (known: EAST, NORTH)',
        '5:13: capacity.NORTH.covert: expected an integer, got "lots"',
        "6:1: extra: unknown field (allowed: capacity, reason)",
    ]


def test_a_file_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "capacity.yaml"
    path.write_text("capacity:\n  EAST: {surveillance: 2\n")
    with pytest.raises(RuleFileErrors) as err:
        load_capacity(path, hubs=HUBS, capabilities=CAPABILITIES)
    (only,) = err.value.errors
    assert (only.file, only.message.startswith("YAML syntax error")) == (str(path), True)
