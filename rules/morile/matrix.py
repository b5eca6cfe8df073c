"""The MoRiLE matrix model: every number of the method as data (see shared MORILE.md).

A matrix has an id and a version; the shipped ``tactical-default`` is a clearly labelled placeholder.
Files are read by rules/morile/matrix_file.py; scores are made by rules/morile/scoring.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rules.yamlsrc import DASH

DEFAULT_MATRIX_PATH = Path(__file__).resolve().parent.parent / "matrices" / "tactical-default.yaml"

INTELLIGENCE_SOURCES = ("1", "2", "3")
INTELLIGENCE_GRADES = ("A", "B", "C", "D", "E")
HANDLING_CODES = ("P", "C")


@dataclass(frozen=True)
class ScopeLevel:
    label: str
    multiplier: float


@dataclass(frozen=True)
class BandDef:
    band: str
    label: str
    min_risk: float


@dataclass(frozen=True)
class Matrix:
    """A MoRiLE matrix: every number of the method as data."""

    id: str
    version: str
    placeholder: bool
    label: str
    harm_levels: dict[int, str]
    dimensions: dict[str, tuple[str, float]]  # name -> (label, weight)
    scope: dict[int, ScopeLevel]
    likelihood_levels: dict[int, str]
    vulnerability_levels: dict[int, str]
    uplift_at_least: int
    uplift_add: int
    bands: tuple[BandDef, ...]
    floor_harm_level: int
    floor_band: str
    sources: dict[str, str]
    grades: dict[str, str]
    handling: dict[str, str]
    suggest: dict[str, dict[str, str]]
    org_levels: dict[int, str]
    org_grades: dict[int, str]
    escalate_bands: tuple[str, ...]
    escalate_grades: tuple[str, ...]
    response_levels: tuple[str, ...]
    base_response: dict[int, str]

    @property
    def harm_max(self) -> float:
        return sum(w for _, w in self.dimensions.values()) * max(self.harm_levels)

    @property
    def harm_total_max(self) -> float:
        return self.harm_max * max(s.multiplier for s in self.scope.values())

    @property
    def likelihood_total_max(self) -> int:
        return max(self.likelihood_levels) + self.uplift_add

    @property
    def risk_raw_max(self) -> float:
        return self.harm_total_max * self.likelihood_total_max

    def band_label(self, band: str) -> str:
        return next(b.label for b in self.bands if b.band == band)


def level_span(levels: Mapping[int, str]) -> str:
    """The range of the levels as users read it (0 to 4 with an en dash). Never empty: a matrix file
    needs at least one level of each kind, and the reader only asks for the span of loaded levels."""
    keys = sorted(levels)
    return f"{keys[0]}{DASH}{keys[-1]}"
