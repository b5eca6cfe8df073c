"""The tasking list (story 4, issue 13): open requests awaiting a tasking decision, ranked within each
hub by the explainable priority of the Control Strategy in force (workflow/priority.py), and each hub's
load against its capacity, all as `who` may see them.

Two statements whatever the number of hubs or cases: every awaiting case `who` may see, on a lean column
set (never a summary or a payload), weighed and ordered in Python; and one grouped count of the tasked
cases per hub. The page shows the top `per_hub` of each hub; the JSON API and the exports every case, in
the same order with the same reasons.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlmodel import Session

import rules
from workflow import access, reference, strategies
from workflow.access import Forbidden, Principal
from workflow.db import utcnow
from workflow.models import Hub
from workflow.principals import STAFF_ROLES
from workflow.priority import Priority, Ranker, order_key
from workflow.tables import CASE

# Awaiting a tasking decision; tasked and reviewed cases are each hub's current load.
AGENDA = ("assessed", "prioritised")
LOAD = ("tasked", "reviewed")
PER_HUB = 30
# A hub is "near" capacity once its load reaches this share of it (and "over" past all of it).
NEAR = 0.8

Load = Literal["within", "near", "over"]


# Not frozen: a frozen dataclass sets each of its 22 fields through object.__setattr__, and the list
# makes one per awaiting case on every read.
@dataclass(slots=True)
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
    themes: list[str]
    tags: list[str]
    target_name: str
    sla_due_at: datetime | None
    sla_breached: bool
    # Filled by the ranking, not read from a column.
    priority: Priority | None = None
    rank: int = 0  # its place in its hub's list, from 1

    def get(self, name: str, default: Any = None) -> Any:
        """Read as a mapping of its columns, as the priority weighs any case (workflow/priority.py)."""
        return getattr(self, name, default)

    @property
    def reason(self) -> str:
        return self.priority.reason if self.priority is not None else ""

    @property
    def flags(self) -> list[str]:
        """What the list marks a row with, beside its reason."""
        out = []
        if self.deferred_at is not None:
            out.append("deferred")
        if self.sla_breached:
            out.append("sla_breached")
        return out


_COLUMN_NAMES = [n for n in AgendaCase.__dataclass_fields__ if n not in ("priority", "rank")]
_COLUMNS = [getattr(CASE.c, name) for name in _COLUMN_NAMES]


@dataclass(frozen=True)
class HubAgenda:
    hub: Hub
    cases: list[AgendaCase]
    waiting: int
    tasked: int
    # Room for the deconfliction groups and the capacity by capability others add to each hub's part.
    extra: dict[str, Any] = field(default_factory=dict)

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


def require_staff(who: Principal) -> None:
    """The list is the tasking meeting's: centre and hub staff (and admins) read it, requesters never."""
    if not (who.roles & STAFF_ROLES or who.is_admin or who.sees_everything):
        raise Forbidden(
            "the tasking list is for centre and hub staff", needed=["analyst", "case_owner", "supervisor"]
        )


def _tasked(session: Session, who: Principal) -> dict[str | None, int]:
    # Grouped by (state, hub), the order of the (state, hub) index: grouped by hub alone, SQLite may
    # choose to walk the hub index over the whole table to avoid a sort, forty times slower at 100k cases.
    tasked: dict[str | None, int] = {}
    for _state, hub, n in session.execute(
        select(CASE.c.state, CASE.c.hub, func.count())
        .where(CASE.c.state.in_(LOAD), access.visible(who))
        .group_by(CASE.c.state, CASE.c.hub)
    ).all():
        tasked[hub] = tasked.get(hub, 0) + n
    return tasked


def ranked(
    session: Session,
    *,
    who: Principal,
    hubs: Sequence[str],
    strategy: rules.Strategy | None = None,
    now: datetime | None = None,
) -> dict[str, list[AgendaCase]]:
    """Every awaiting case of `hubs` that `who` may see, by hub, in tasking order, each with its priority
    under `strategy` (the active one unless given) at `now`."""
    ranker = Ranker(strategy or strategies.active_strategy(session))
    at = now or utcnow()
    by_hub: dict[str, list[AgendaCase]] = {}
    with _no_cycle_collection():
        rows = session.execute(
            select(*_COLUMNS).where(CASE.c.state.in_(AGENDA), CASE.c.hub.in_(hubs), access.visible(who))
        ).all()
        for row in rows:
            case = AgendaCase(*row)
            case.priority = ranker.weigh(case, at)
            by_hub.setdefault(row.hub, []).append(case)
    for cases in by_hub.values():
        cases.sort(key=_order)
        for i, case in enumerate(cases, start=1):
            case.rank = i
    return by_hub


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Reading and weighing 10,000 cases makes some 100,000 small objects, none in a cycle; the cyclic
    collector would scan the growing heap again and again meanwhile (40% of the list's time, measured
    with bench/tasking_list.py). Paused for the read and the loop only, and left as it was found."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _order(case: AgendaCase) -> tuple[Any, ...]:
    assert case.priority is not None
    return order_key(case.priority, case)


def agenda(
    session: Session,
    *,
    who: Principal,
    per_hub: int | None = PER_HUB,
    hub: str | None = None,
    strategy: rules.Strategy | None = None,
    now: datetime | None = None,
) -> list[HubAgenda]:
    """Each active hub (or only `hub`) with its top `per_hub` cases awaiting a decision (every one when
    `per_hub` is None), in tasking order, and its waiting and tasked counts."""
    require_staff(who)
    hubs = [h for h in reference.list_hubs(session) if h.active and (hub is None or h.code == hub)]
    if not hubs:
        return []
    tasked = _tasked(session, who)
    by_hub = ranked(session, who=who, hubs=[h.code for h in hubs], strategy=strategy, now=now)
    out = []
    for h in hubs:
        cases = by_hub.get(h.code, [])
        shown = cases if per_hub is None else cases[:per_hub]
        out.append(HubAgenda(h, shown, len(cases), tasked.get(h.code, 0)))
    return out


def agenda_case(session: Session, *, who: Principal, case_id: int) -> AgendaCase | None:
    """One case as the list shows it, if `who` may see it (for the confirmation after an action)."""
    found = session.execute(select(*_COLUMNS).where(CASE.c.id == case_id, access.visible(who))).first()
    return AgendaCase(*found) if found is not None else None
