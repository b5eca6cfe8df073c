"""Capacity as the tasking list shows it (story 13): each hub's free capacity per capability, for each
listed case the hubs with room for all it asks and what its own hub lacks, and the owners and teams its
task form may offer (only cleared owners of the hub; only the hub's teams).

Cases are read only as `who` may see them (their capabilities, hub and marking, nothing more); the
hubs' capacity and load are counts over every case (see workflow.capacity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow import access, capacity
from workflow.access import Principal
from workflow.capacity import Room
from workflow.tables import CASE, HUB


@dataclass(frozen=True)
class CaseRoom:
    """What the tasking list says of one case's placing."""

    short: list[Room]  # capabilities its hub has no free capacity for
    room_in: list[str]  # other hubs with room for all it asks


@dataclass(frozen=True)
class TaskingCapacity:
    rooms: dict[str, list[Room]]  # per sized hub
    cases: dict[int, CaseRoom]
    owners: dict[tuple[str, str], list[Mapping[str, Any]]] = field(default_factory=dict)  # (hub, marking)
    teams: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def of_hub(self, hub: str) -> list[Room]:
        return self.rooms.get(hub, [])

    def of_case(self, case_id: int) -> CaseRoom | None:
        return self.cases.get(case_id)

    def owners_for(self, hub: str, marking: str) -> list[Mapping[str, Any]]:
        return self.owners.get((hub, marking), [])

    def teams_for(self, hub: str) -> list[Mapping[str, Any]]:
        return self.teams.get(hub, [])


def for_tasking(
    session: Session, *, who: Principal, case_ids: Sequence[int], forms: bool = False
) -> TaskingCapacity:
    """The capacity picture of the listed cases (`forms`: also the owners and teams their forms offer)."""
    rooms = capacity.rooms(session)
    active = list(session.execute(select(HUB.c.code).where(HUB.c.active.is_(True))).scalars())
    found = session.execute(
        select(CASE.c.id, CASE.c.hub, CASE.c.capabilities, CASE.c.protective_marking).where(
            CASE.c.id.in_(list(case_ids)), access.visible(who)
        )
    ).all()
    cases: dict[int, CaseRoom] = {}
    for case_id, hub, asks, _marking in found:
        wanted = sorted(set(asks or ()))
        by_cap = {r.capability: r for r in rooms.get(hub, ())}
        short = [by_cap.get(c, Room(hub, c, 0, 0)) for c in wanted] if hub in rooms else []
        short = [r for r in short if r.free <= 0]
        others = [h for h in active if h != hub]
        cases[case_id] = CaseRoom(short, capacity.room_in(rooms, others, wanted) if short else [])
    if not forms:
        return TaskingCapacity(rooms, cases)
    pairs = {(hub, marking) for _, hub, _, marking in found if hub is not None}
    owners = {(h, m): capacity.eligible_owners(session, hub=h, marking=m) for h, m in sorted(pairs)}
    teams: dict[str, list[Mapping[str, Any]]] = {}
    for t in capacity.teams(session):
        teams.setdefault(t["hub"], []).append(t)
    return TaskingCapacity(rooms, cases, owners, teams)
