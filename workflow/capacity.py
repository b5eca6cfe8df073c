"""Hub capacity by capability: what each hub can carry, what it carries now, and who may own its cases.

A hub's capacity for a capability is the latest row of its history (`hub_capacity`, kept by admins in
`workflow.hub_resources`). Its load is computed, never stored: every case the hub has tasked or under
review holds one of each capability it asked for, so a case asking for surveillance and financial
investigation counts once against each. Nothing here can drift from the cases themselves.

A hub with no capacity recorded at all has not been sized yet and limits nothing; once an admin sizes
it, a capability it has no row for has no capacity there (the hub does not offer it).

Load counts every case, whoever asks: capacity is a fact about the hub's people, and a tasking decision
made on the part of the load the chair happens to see would be made on the wrong figures. Only counts
leave this module, never a case.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlmodel import Session

from workflow.errors import FieldProblem
from workflow.principals import MARKINGS
from workflow.tables import CASE, HUB, HUB_CAPACITY, HUB_TEAM, USER

# Cases holding their hub's capacity: tasked, or reviewed and not yet continued or closed.
HOLDING = ("tasked", "reviewed")
OWNER_ROLE = "case_owner"


@dataclass(frozen=True)
class Room:
    """One hub's capacity for one capability, against its load."""

    hub: str
    capability: str
    capacity: int
    load: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)

    @property
    def over(self) -> bool:
        return self.load > self.capacity

    def describe(self) -> str:
        return f"{self.capability} {self.load} of {self.capacity} in use"


def current(session: Session, *, hubs: Iterable[str] | None = None) -> dict[tuple[str, str], int]:
    """The capacity now of every (hub, capability) with a recorded capacity: each pair's latest row."""
    latest = select(func.max(HUB_CAPACITY.c.id)).group_by(HUB_CAPACITY.c.hub, HUB_CAPACITY.c.capability)
    query = select(HUB_CAPACITY.c.hub, HUB_CAPACITY.c.capability, HUB_CAPACITY.c.capacity).where(
        HUB_CAPACITY.c.id.in_(latest)
    )
    if hubs is not None:
        query = query.where(HUB_CAPACITY.c.hub.in_(list(hubs)))
    return {(h, c): int(n) for h, c, n in session.execute(query).all()}


def load(session: Session, *, hubs: Iterable[str] | None = None) -> Counter[tuple[str, str]]:
    """How many holding cases ask for each capability, per hub."""
    # Grouped by the capabilities list as text: a submission stores it sorted, so the database returns a
    # row per hub and combination (tens) rather than per case (thousands), decoded here.
    asks = cast(CASE.c.capabilities, Text)
    query = (
        select(CASE.c.hub, asks, func.count())
        .where(CASE.c.state.in_(HOLDING), CASE.c.hub.is_not(None))
        .group_by(CASE.c.hub, asks)
    )
    if hubs is not None:
        query = query.where(CASE.c.hub.in_(list(hubs)))
    counts: Counter[tuple[str, str]] = Counter()
    for hub, text, n in session.execute(query).all():
        for capability in set(json.loads(text) if text else ()):
            counts[(hub, capability)] += n
    return counts


def rooms(session: Session, *, hubs: Iterable[str] | None = None) -> dict[str, list[Room]]:
    """Every sized hub's capacity and load per capability (capabilities it has capacity for, and any
    it carries without), by hub; hubs not yet sized are absent."""
    wanted = list(hubs) if hubs is not None else None
    sized = current(session, hubs=wanted)
    held = load(session, hubs=wanted)
    out: dict[str, dict[str, Room]] = {}
    for (hub, capability), capacity in sized.items():
        out.setdefault(hub, {})[capability] = Room(hub, capability, capacity, held.get((hub, capability), 0))
    for (hub, capability), n in held.items():
        if hub in out and capability not in out[hub]:
            out[hub][capability] = Room(hub, capability, 0, n)
    return {hub: sorted(by.values(), key=lambda r: r.capability) for hub, by in sorted(out.items())}


def shortfall(session: Session, *, hub: str, capabilities: Sequence[str], hold: bool = False) -> list[Room]:
    """The capabilities a case asks for that `hub` has no free capacity for (none if it is not sized).

    `hold`: first take the hub's row lock (a no-op update of it) for the rest of the transaction, so two
    chairs tasking into the same hub at once are counted one after the other, never both into its last
    free place (on SQLite the update takes the database's write lock, with the same effect)."""
    sized = current(session, hubs=[hub])
    if not sized:
        return []
    if hold:
        session.connection().execute(update(HUB).where(HUB.c.code == hub).values(code=HUB.c.code))
    held = load(session, hubs=[hub])
    found = [Room(hub, c, sized.get((hub, c), 0), held.get((hub, c), 0)) for c in sorted(set(capabilities))]
    return [r for r in found if r.free <= 0]


def hubs_with_room(
    session: Session, *, capabilities: Sequence[str], exclude: Iterable[str] = ()
) -> list[str]:
    """Active sized hubs with free capacity for every capability asked for, most room first."""
    skip = set(exclude)
    active = [h for h in session.execute(select(HUB.c.code).where(HUB.c.active.is_(True))).scalars()]
    wanted = [h for h in active if h not in skip]
    return room_in(rooms(session, hubs=wanted), wanted, capabilities)


def room_in(
    by_hub: Mapping[str, Sequence[Room]], hubs: Iterable[str], capabilities: Sequence[str]
) -> list[str]:
    """Of `hubs`, the sized ones with free capacity for every capability asked for, most room first."""
    wanted = sorted(set(capabilities))
    fits: list[tuple[int, str]] = []
    for hub in hubs:
        if hub not in by_hub:
            continue
        free = {r.capability: r.free for r in by_hub[hub]}
        least = min((free.get(c, 0) for c in wanted), default=0)
        if least > 0:
            fits.append((-least, hub))
    return [hub for _, hub in sorted(fits)]


def capacity_problem(
    session: Session, *, hub: str, capabilities: Sequence[str], field: str = "hub"
) -> tuple[FieldProblem | None, list[Room]]:
    """Why tasking a case asking for `capabilities` into `hub` needs an override (None if it fits)."""
    short = shortfall(session, hub=hub, capabilities=capabilities, hold=True)
    if not short:
        return None, []
    elsewhere = hubs_with_room(session, capabilities=capabilities, exclude=[hub])
    suggest = f"; hubs with room: {', '.join(elsewhere)}" if elsewhere else "; no hub has room for all of it"
    message = (
        f"{hub} has no free capacity for {', '.join(r.capability for r in short)} "
        f"({'; '.join(r.describe() for r in short)}){suggest}. "
        "A supervisor may override with a reason"
    )
    return FieldProblem(field, message), short


# -- owners and teams ------------------------------------------------------------------------------------


def _covers(clearance: str, marking: str) -> bool:
    return clearance in MARKINGS and marking in MARKINGS[: MARKINGS.index(clearance) + 1]


def _of_hub(user_hub: str | None, hub: str) -> bool:
    # Owners with no hub are the centre's own (DESIGN 1: centre staff and Met Intelligence analysts own
    # cases wherever they sit), as they see every case (workflow.access).
    return user_hub is None or user_hub == hub


def eligible_owners(session: Session, *, hub: str, marking: str) -> list[Mapping[str, Any]]:
    """Active case owners of `hub` (or of the whole centre) cleared for `marking`: the only people a
    case there may be given to (anyone else could not see the case, or is not the hub's to task)."""
    rows = session.execute(
        select(USER.c.username, USER.c.display_name, USER.c.roles, USER.c.hub_code, USER.c.clearance)
        .where(USER.c.active.is_(True))
        .order_by(USER.c.username)
    ).mappings()
    return [
        dict(u)
        for u in rows
        if OWNER_ROLE in (u["roles"] or ())
        and _of_hub(u["hub_code"], hub)
        and _covers(u["clearance"], marking)
    ]


def owner_problem(session: Session, *, username: str, hub: str, marking: str) -> FieldProblem | None:
    """Why `username` may not own a case of `hub` marked `marking` (None if they may)."""
    u = (
        session.execute(
            select(USER.c.roles, USER.c.hub_code, USER.c.clearance).where(
                USER.c.username == username, USER.c.active.is_(True)
            )
        )
        .mappings()
        .first()
    )
    if u is None:
        return FieldProblem("owner", f"unknown or inactive user {username!r}")
    if OWNER_ROLE not in (u["roles"] or ()):
        return FieldProblem("owner", f"{username} is not a case owner")
    if not _of_hub(u["hub_code"], hub):
        return FieldProblem(
            "owner", f"{username} is not of hub {hub} (they are of {u['hub_code'] or 'the centre'})"
        )
    if not _covers(u["clearance"], marking):
        return FieldProblem(
            "owner", f"{username} is cleared for {u['clearance']}, not {marking}: they could not see the case"
        )
    return None


def teams(session: Session, *, hub: str | None = None, active_only: bool = True) -> list[Mapping[str, Any]]:
    query = select(HUB_TEAM).order_by(HUB_TEAM.c.hub, HUB_TEAM.c.code)
    if hub is not None:
        query = query.where(HUB_TEAM.c.hub == hub)
    if active_only:
        query = query.where(HUB_TEAM.c.active.is_(True))
    return [dict(t) for t in session.execute(query).mappings()]


def team_problem(session: Session, *, hub: str, team: str) -> FieldProblem | None:
    known = [t["code"] for t in teams(session, hub=hub)]
    if team in known:
        return None
    listed = ", ".join(known) if known else "none defined"
    return FieldProblem("team", f"no active team {team!r} in hub {hub} (its teams: {listed})")
