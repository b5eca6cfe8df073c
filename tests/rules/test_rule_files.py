"""Rule and matrix files: the checker's errors name file, line, column and field exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules import STRATEGY_FILES, RuleFileErrors, check, load_matrix, load_ruleset
from rules.checks import lint
from tests.rules.factories import BROKEN, DEFAULT_RULES, write_ruleset

CASES = sorted(p for p in BROKEN.iterdir() if p.is_dir())


def test_the_broken_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_file_reports_every_error_exactly(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = case.joinpath("expected.txt").read_text().splitlines()
    files = sorted(case.glob("*.yaml"))
    with pytest.raises(RuleFileErrors) as raised:
        if [f.name for f in files] == ["matrix.yaml"]:
            monkeypatch.chdir(case)
            load_matrix("matrix.yaml")
        else:
            # The broken file replaces (or joins) the default ones, as when an admin edits one file.
            for f in DEFAULT_RULES.glob("*.yaml"):
                shutil.copy(f, tmp_path)
            for f in files:
                shutil.copy(f, tmp_path)
            monkeypatch.chdir(tmp_path)
            load_ruleset(".")
    assert [str(e) for e in raised.value.errors] == expected
    assert str(raised.value).splitlines() == expected


def test_error_format_matches_the_documented_shape() -> None:
    line = (BROKEN / "05-risk-not-a-number" / "expected.txt").read_text().strip()
    assert line == 'escalation.yaml:8:20: escalation[0].when.risk: expected a number, got "high"'


def test_default_ruleset_loads_clean_with_no_warnings() -> None:
    result = check(DEFAULT_RULES)
    assert result.ok and result.errors == ()
    assert result.warnings == ()
    ruleset = result.ruleset
    assert ruleset is not None
    assert set(ruleset.hubs) == {"NORTH", "SOUTH", "EAST", "WEST", "CENTRE"}
    bcus = {code for code, unit in ruleset.units.items() if unit.kind == "bcu"}
    assert bcus == {"CE", "CN", "AS", "AW", "EA", "NA", "NE", "NW", "SN", "SE", "SW", "WA"}
    assert ruleset.units["AW"].boroughs == ("Westminster", "Kensington and Chelsea", "Hammersmith and Fulham")
    assert {"SCO-FIN", "SCO-INT", "SCO-OCG"} <= set(ruleset.units)
    assert len(ruleset.themes) == 12 and ruleset.themes["vawg"].label == "Violence against women and girls"
    assert "kidnap_extortion" in ruleset.capabilities
    assert set(ruleset.target_types) == {"ocg", "individual", "location", "theme"}


def test_version_is_a_stable_content_hash(tmp_path: Path) -> None:
    first = load_ruleset(DEFAULT_RULES).version
    assert first.startswith("rs-") and len(first) == 15
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_RULES, copy)
    routing = copy / "routing.yaml"
    # Comments and layout do not change the version; content does.
    routing.write_text("# a new comment\n" + routing.read_text())
    assert load_ruleset(copy).version == first
    routing.write_text(routing.read_text().replace("unit: [WA]", "unit: [WA, SW]"))
    assert load_ruleset(copy).version != first


def test_single_file_ruleset(tmp_path: Path) -> None:
    single = tmp_path / "all.yaml"
    # Every rule file of the folder (the Control Strategy beside them is not one: rules/strategy.py).
    files = [f for f in sorted(DEFAULT_RULES.glob("*.yaml")) if f.name not in STRATEGY_FILES]
    single.write_text("\n".join(f.read_text() for f in files))
    assert load_ruleset(single).version == load_ruleset(DEFAULT_RULES).version


def test_missing_sections_are_reported(tmp_path: Path) -> None:
    (tmp_path / "only.yaml").write_text("routing: []\n")
    with pytest.raises(RuleFileErrors) as raised:
        load_ruleset(tmp_path)
    missing = [
        e.field for e in raised.value.errors if e.message == "required section is missing from the ruleset"
    ]
    assert sorted(missing) == sorted(
        [
            "hubs",
            "units",
            "themes",
            "capabilities",
            "target_types",
            "default_route",
            "escalation_levels",
            "policy_defaults",
        ]
    )


def test_shadowed_routing_rule_is_a_warning(tmp_path: Path) -> None:
    path = write_ruleset(
        tmp_path,
        routing="""routing:
  - name: all-north-east
    when: {unit: [NA, NE, NW]}
    then: {hub: NORTH}
  - name: north-east-drugs
    when:
      unit: NE
      themes: drugs
    then: {hub: EAST}
default_route: {hub: CENTRE}
""",
    )
    result = check(path)
    assert result.ok
    shadow = [w for w in result.warnings if "never fire" in w.message]
    assert [str(w) for w in shadow] == [
        f'{path / "routing.yaml"}:5:5: routing[1]: routing rule "north-east-drugs" can never fire: '
        "every case it matches is taken first by all-north-east"
    ]


def test_units_falling_to_the_default_route_are_warnings(tmp_path: Path) -> None:
    path = write_ruleset(
        tmp_path,
        routing="""routing:
  - name: north
    when: {unit: [NA, NW]}
    then: {hub: NORTH}
  - name: everything-else-with-drugs
    when: {themes: drugs}
    then: {hub: EAST}
default_route: {hub: CENTRE}
""",
    )
    gaps = [w.message for w in check(path).warnings if "default route" in w.message]
    assert len(gaps) == 13  # every unit but NA and NW: a case without drugs reaches the default route
    assert (
        "unit NE (North East) has cases no routing rule takes: they fall to the default route (CENTRE)"
        in gaps
    )


def test_lint_of_default_is_empty() -> None:
    assert lint(load_ruleset(DEFAULT_RULES)) == []
