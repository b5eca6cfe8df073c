"""Closed vocabularies shared by the MoRiLE matrix and the rule facts.

These are fixed by the method and the lifecycle rather than by a force, so they live in code; the
open vocabularies (hubs, units, themes, capabilities, target types) are rule-file data.
"""

from __future__ import annotations

BANDS: tuple[str, ...] = ("P1", "P2", "P3", "P4")
"""Priority bands, most serious first."""

CONFIDENCE_LEVELS: tuple[str, ...] = ("low", "medium", "high")
ORG_GRADES: tuple[str, ...] = ("A", "B", "C", "D")
"""Organisational position grades, strongest first (D: no capacity or capability to respond)."""

RESPONSE_LEVELS: tuple[str, ...] = ("force", "regional", "national")
MARKINGS: tuple[str, ...] = ("OFFICIAL", "OFFICIAL-SENSITIVE")
UNIT_KINDS: tuple[str, ...] = ("bcu", "specialist")
STAGES: tuple[str, ...] = (
    "submitted",
    "assessed",
    "prioritised",
    "tasked",
    "reviewed",
    "closed",
    "rejected",
    "withdrawn",
)
SLA_STAGES: tuple[str, ...] = ("submitted", "assessed", "prioritised")
"""Stages with an SLA target: submitted = time to assess, assessed = time to prioritise,
prioritised = time to task."""


def band_rank(band: str) -> int:
    """Seriousness of a band: P1 → 4 (highest) … P4 → 1, so ``band_rank(a) > band_rank(b)`` means
    ``a`` is the more serious band."""
    try:
        return len(BANDS) - BANDS.index(band)
    except ValueError:
        raise ValueError(f"unknown band {band!r} (known: {', '.join(BANDS)})") from None


def is_downgrade(old: str, new: str) -> bool:
    """True when moving from ``old`` to ``new`` lowers the priority (the workflow then needs a
    recorded rationale)."""
    return band_rank(new) < band_rank(old)


ROLES: tuple[str, ...] = ("owner", "requester", "hub_supervisor", "tasking_chair", "tasking_secretariat")
"""Who an escalation or a ladder step goes to; the workflow resolves a role to people (the hub
supervisor of the case's hub, and so on)."""

DURATION_UNITS: tuple[str, ...] = ("hours", "days", "working_days")
