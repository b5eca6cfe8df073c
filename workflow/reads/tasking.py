"""The tasking list (story 4): open requests awaiting a tasking decision, ranked within each hub, and
each hub's load against its capacity, all as `who` may see them.

Two statements whatever the number of hubs: the ranked rows of every hub at once (a window function
numbers each hub's cases, the database keeps the top `per_hub`), and one grouped count of the waiting
and tasked cases per hub. Rows carry the columns the list shows, never a summary or a payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session

from workflow import access, reference
from workflow.access import Principal
from workflow.models import Hub
from workflow.tables import CASE

# Awaiting a tasking decision; tasked and reviewed cases are each hub's current load.
AGENDA = ("assessed", "prioritised")
LOAD = ("tasked", "reviewed")
PER_HUB = 30
# A hub is "near" capacity once its load reaches this share of it (and "over" past all of it).
NEAR = 0.8

Load = Literal["within", "near", "over"]


@dataclass(frozen=True)
class AgendaCase:
    id: int
    reference: str
    title: str
    band: str | None
    risk: float | None
    state: str
    version: int
    hub: str | None
    team: str | None
    owner: str | None
    requesting_unit: str
    created_at: datetime
    deferred_at: datetime | None
    deferred_reason: str | None
    protective_marking: str


_COLUMNS = [getattr(CASE.c, name) for name in AgendaCase.__dataclass_fields__]
# Bands sort as text in priority order (P1 < P2 ...); unscored last; then risk, then the oldest.
_RANK = (CASE.c.band.is_(None), CASE.c.band, CASE.c.risk.desc(), CASE.c.created_at, CASE.c.id)


@dataclass(frozen=True)
class HubAgenda:
    hub: Hub
    cases: list[AgendaCase]
    waiting: int
    tasked: int

    @property
    def free(self) -> int:
        return max(self.hub.capacity - self.tasked, 0)

    @property
    def over(self) -> bool:
        return self.tasked > self.hub.capacity

    @property
    def load(self) -> Load:
        if self.over:
            return "over"
        if self.tasked >= NEAR * self.hub.capacity:
            return "near"
        return "within"

    @property
    def times_capacity(self) -> float | None:
        """The load as a multiple of the capacity (None for a hub with no capacity)."""
        return self.tasked / self.hub.capacity if self.hub.capacity else None


def _counts(session: Session, who: Principal) -> tuple[dict[str | None, int], dict[str | None, int]]:
    # Grouped by (state, hub), the order of the (state, hub) index: grouped by hub alone, SQLite may
    # choose to walk the hub index over the whole table to avoid a sort, forty times slower at 100k cases.
    waiting: dict[str | None, int] = {}
    tasked: dict[str | None, int] = {}
    for state, hub, n in session.execute(
        select(CASE.c.state, CASE.c.hub, func.count())
        .where(CASE.c.state.in_(AGENDA + LOAD), access.visible(who))
        .group_by(CASE.c.state, CASE.c.hub)
    ).all():
        into = waiting if state in AGENDA else tasked
        into[hub] = into.get(hub, 0) + n
    return waiting, tasked


def _ranked(session: Session, who: Principal, hubs: Sequence[str], per_hub: int) -> list[AgendaCase]:
    rank = func.row_number().over(partition_by=CASE.c.hub, order_by=_RANK).label("rank")
    inner = (
        select(*_COLUMNS, rank)
        .where(CASE.c.state.in_(AGENDA), CASE.c.hub.in_(hubs), access.visible(who))
        .subquery()
    )
    names = list(AgendaCase.__dataclass_fields__)
    top = select(*[inner.c[n] for n in names]).where(inner.c.rank <= per_hub)
    found = session.execute(top.order_by(inner.c.hub, inner.c.rank)).all()
    return [AgendaCase(*r) for r in found]


def agenda(
    session: Session, *, who: Principal, per_hub: int = PER_HUB, hub: str | None = None
) -> list[HubAgenda]:
    """Each active hub (or only `hub`) with its top `per_hub` cases awaiting a decision, and its waiting
    and tasked counts."""
    hubs = [h for h in reference.list_hubs(session) if h.active and (hub is None or h.code == hub)]
    if not hubs:
        return []
    waiting, tasked = _counts(session, who)
    by_hub: dict[str | None, list[AgendaCase]] = {}
    for c in _ranked(session, who, [h.code for h in hubs], per_hub):
        by_hub.setdefault(c.hub, []).append(c)
    return [HubAgenda(h, by_hub.get(h.code, []), waiting.get(h.code, 0), tasked.get(h.code, 0)) for h in hubs]


def agenda_case(session: Session, *, who: Principal, case_id: int) -> AgendaCase | None:
    """One case as the list shows it, if `who` may see it (for the confirmation after an action)."""
    found = session.execute(select(*_COLUMNS).where(CASE.c.id == case_id, access.visible(who))).first()
    return AgendaCase(*found) if found is not None else None
