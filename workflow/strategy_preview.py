"""What publishing a candidate Control Strategy would do to the tasking list, changing nothing: each
awaiting case's place in its hub's list under the strategy in force and under the candidate, at one
moment, so the list after publishing is exactly the preview's "after" (for the same cases and time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

import rules
from workflow import reference, strategies
from workflow.db import utcnow
from workflow.principals import system
from workflow.reads import tasking as reads_tasking

# The preview is the whole centre's list, whoever asks: only admins and the operator reach it.
PREVIEWER = system("system:strategy-preview")


@dataclass(frozen=True)
class Move:
    reference: str
    hub: str  # the hub's name, as staff know it
    before: int  # place in its hub's list, from 1
    after: int
    reason_before: str
    reason_after: str

    @property
    def direction(self) -> str:
        return "up" if self.after < self.before else "down"


@dataclass(frozen=True)
class StrategyPreview:
    current: str
    candidate: str
    name: str
    at: datetime
    moves: tuple[Move, ...]  # the cases whose place changes, biggest move first
    unchanged: int

    @property
    def up(self) -> list[Move]:
        return [m for m in self.moves if m.after < m.before]

    @property
    def down(self) -> list[Move]:
        return [m for m in self.moves if m.after > m.before]

    @property
    def summary(self) -> str:
        up, down = len(self.up), len(self.down)
        return (
            f"this strategy would move {up} case{'s' if up != 1 else ''} up the tasking list, {down} down"
            f" ({self.unchanged} keep their place)"
        )


def compare(
    session: Session, *, current: rules.Strategy, candidate: rules.Strategy, now: datetime | None = None
) -> StrategyPreview:
    at = now or utcnow()
    hubs = {h.code: h.name for h in reference.list_hubs(session) if h.active}
    before = reads_tasking.ranked(session, who=PREVIEWER, hubs=list(hubs), strategy=current, now=at)
    after = reads_tasking.ranked(session, who=PREVIEWER, hubs=list(hubs), strategy=candidate, now=at)
    moves: list[Move] = []
    unchanged = 0
    for hub, cases in after.items():
        was = {c.id: c for c in before.get(hub, [])}
        for c in cases:
            old = was.get(c.id)
            if old is None:  # arrived between the two reads: not a move the strategy made
                continue
            if old.rank == c.rank:
                unchanged += 1
                continue
            moves.append(Move(c.reference, hubs[hub], old.rank, c.rank, old.reason, c.reason))
    moves.sort(key=lambda m: (-abs(m.before - m.after), m.hub, m.after))
    return StrategyPreview(current.version, candidate.version, candidate.name, at, tuple(moves), unchanged)


def preview(session: Session, *, path: Path, now: datetime | None = None) -> StrategyPreview:
    """The candidate at `path` (checked; StrategyInvalid with every error) against the one in force."""
    candidate = strategies.candidate(session, path=path)
    return compare(session, current=strategies.active_strategy(session), candidate=candidate, now=now)
