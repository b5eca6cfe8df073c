"""Who is told: the roles an event names (``payload["notify"]``) turned into people, and the webhook
subscriptions that want the event.

Roles are resolved against the case as it is when the event is dispatched:
    requester       the user who submitted the case, and the active requesters of its requesting unit
    owner           the case owner
    hub_supervisor  active supervisors of the case's hub
    previous_hub_supervisor  active supervisors of the hub a transfer took the case from
    tasking_chair   active supervisors with no hub (the centre)
Nobody is told of a case whose protective marking their clearance does not cover, and inactive users
are never told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from notifications.rendering import MARKINGS
from notifications.tables import SUBSCRIPTION
from workflow.tables import USER

ROLES = ("requester", "owner", "hub_supervisor", "previous_hub_supervisor", "tasking_chair")


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    email: str | None
    roles: tuple[str, ...]
    unit_code: str | None
    hub_code: str | None
    clearance: str


@dataclass(frozen=True)
class Recipient:
    person: Person
    role: str  # the first role in the event's notify list that named this person


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    secret: str
    events: tuple[str, ...]
    hub: str | None
    unit: str | None
    clearance: str


def covers(clearance: str, marking: str) -> bool:
    """Whether a clearance covers a marking (OFFICIAL-SENSITIVE covers both); unknown values cover nothing."""
    if clearance not in MARKINGS or marking not in MARKINGS:
        return False
    return MARKINGS.index(marking) <= MARKINGS.index(clearance)


def active_people(session: Session) -> dict[str, Person]:
    """Every active user by username: a small table, read once per dispatch batch rather than per event."""
    rows = session.execute(select(USER).where(USER.c.active.is_(True))).mappings()
    return {
        r["username"]: Person(
            r["username"],
            r["display_name"],
            r["email"] or None,
            tuple(r["roles"] or ()),
            r["unit_code"],
            r["hub_code"],
            r["clearance"],
        )
        for r in rows
    }


def active_subscriptions(session: Session) -> list[Subscription]:
    rows = session.execute(
        select(SUBSCRIPTION).where(SUBSCRIPTION.c.active.is_(True)).order_by(SUBSCRIPTION.c.id)
    ).mappings()
    return [
        Subscription(
            r["id"], r["url"], r["secret"], tuple(r["events"] or ()), r["hub"], r["unit"], r["clearance"]
        )
        for r in rows
    ]


def _holders(role: str, case: Mapping[Any, Any], people: Mapping[str, Person]) -> list[Person]:
    everyone = sorted(people.values(), key=lambda p: p.username)
    if role == "requester":
        found = [people[case["created_by"]]] if case["created_by"] in people else []
        found += [p for p in everyone if "requester" in p.roles and p.unit_code == case["requesting_unit"]]
        return found
    if role == "owner":
        return [people[case["owner"]]] if case["owner"] in people else []
    if role == "hub_supervisor":
        if case["hub"] is None:
            return []
        return [p for p in everyone if "supervisor" in p.roles and p.hub_code == case["hub"]]
    if role == "previous_hub_supervisor":
        # Named by the event (workflow.effects.transfer's `from_hub`), set into the case by dispatch.
        was = case.get("previous_hub")
        return [p for p in everyone if "supervisor" in p.roles and was is not None and p.hub_code == was]
    if role == "tasking_chair":
        return [p for p in everyone if "supervisor" in p.roles and p.hub_code is None]
    raise ValueError(f"unknown notify role {role!r}; known: {', '.join(ROLES)}")


def resolve(
    roles: Iterable[str], *, case: Mapping[Any, Any], people: Mapping[str, Person]
) -> list[Recipient]:
    """The people to tell, once each, in the order of the roles; only those cleared for the case."""
    marking = case["protective_marking"]
    seen: set[str] = set()
    found: list[Recipient] = []
    for role in roles:
        for person in _holders(role, case, people):
            if person.username in seen or not covers(person.clearance, marking):
                continue
            seen.add(person.username)
            found.append(Recipient(person, role))
    return found


def matching(
    subscriptions: Sequence[Subscription], *, case: Mapping[Any, Any], kind: str, trigger: str
) -> list[Subscription]:
    """The subscriptions that want this event of this case."""
    return [
        s
        for s in subscriptions
        if (not s.events or kind in s.events or trigger in s.events)
        and (s.hub is None or s.hub == case["hub"])
        and (s.unit is None or s.unit == case["requesting_unit"])
        and covers(s.clearance, case["protective_marking"])
    ]
