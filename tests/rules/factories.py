"""Shared helpers for the rules tests (no conftest: import what you need from here)."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest

from rules import compile_rules, default_matrix, durable_available, load_ruleset, score
from rules.engine import CompiledRules
from rules.model import Ruleset

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "rules" / "default"
GOLDEN = ROOT / "tests" / "golden" / "rules"
BROKEN = Path(__file__).resolve().parent / "broken"

DURABLE = durable_available()
BACKEND_PARAMS = [
    "native",
    pytest.param(
        "durable",
        marks=pytest.mark.skipif(not DURABLE, reason="durable_rules cannot be imported on this Python"),
    ),
]


@functools.cache
def default_ruleset() -> Ruleset:
    return load_ruleset(DEFAULT_RULES)  # frozen: safe to share between tests


def compiled(backend: str, ruleset: Ruleset | None = None) -> CompiledRules:
    return compile_rules(ruleset or default_ruleset(), backend)


def overlay(tmp: Path, *files: Path) -> Path:
    """A copy of the default ruleset with some files replaced (or added)."""
    target = tmp / "ruleset"
    target.mkdir(exist_ok=True)
    for f in DEFAULT_RULES.glob("*.yaml"):
        shutil.copy(f, target)
    for f in files:
        shutil.copy(f, target)
    return target


def story8_candidate(tmp: Path) -> Ruleset:
    return load_ruleset(overlay(tmp, GOLDEN / "story8" / "routing.yaml"))


def write_ruleset(tmp: Path, routing: str = "", escalation: str = "", policy: str = "") -> Path:
    """The default reference data with the given rule sections (YAML text) in their own files."""
    target = tmp / "generated"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULT_RULES / "reference.yaml", target)
    (target / "routing.yaml").write_text(routing or "default_route: {hub: CENTRE}\n")
    (target / "escalation.yaml").write_text(
        escalation or "escalation_levels:\n  - {level: 1, name: hub supervisor, handler: hub_supervisor}\n"
    )
    (target / "policy.yaml").write_text(policy or (DEFAULT_RULES / "policy.yaml").read_text())
    return target


STORY_INPUTS: dict[str, Any] = {
    # Story 2/3: county lines run from Newham, P1 with capability D.
    "harm": {"physical": 4, "psychological": 4, "financial": 3, "community": 3, "environmental": 2},
    "scope": 4,
    "likelihood": 5,
    "vulnerability": 4,
    "capacity": 2,
    "capability": 4,
    "intelligence": {"source": "2", "grade": "B", "handling": "C"},
}


def story1_facts() -> dict[str, Any]:
    return {
        "unit": "NE",
        "themes": ["drugs", "county_lines", "child_exploitation"],
        "capabilities": ["surveillance", "financial_investigation"],
        "target_type": "ocg",
        "marking": "OFFICIAL-SENSITIVE",
        "tags": [],
        "stage": "submitted",
    }


def story2_facts() -> dict[str, Any]:
    return {**story1_facts(), "stage": "assessed", **score(default_matrix(), STORY_INPUTS).facts()}
