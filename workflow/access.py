"""Who may see and do what: the access policy as data, with its SQL form for lists and counts.

Two questions, answered the same way in Python (one case in hand) and in SQL (a whole caseload):

* **May this person see this case?** (need-to-know plus the protective marking). A case they may not see
  is reported exactly like a case that does not exist, so ids, counts and search results leak nothing.
* **May this person fire this trigger on a case they can see?** Answered by ``PERMISSIONS`` below; a
  refusal names the roles that could.

Need-to-know (DESIGN §7):

===========================================  =====================================================
who                                          sees
===========================================  =====================================================
admin                                        every case
centre staff: analyst, case_owner or         every case
supervisor with no hub
hub staff: analyst, case_owner or            their hub's cases, the centre queue (hub ``CENTRE``
supervisor with a hub                        or not yet routed) and any case they own
requester                                    their own unit's requests
===========================================  =====================================================

A person holding several roles sees the union. On top of that, their clearance must cover the case's
marking (``OFFICIAL-SENSITIVE`` clearance covers both markings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from workflow.errors import DomainError
from workflow.lifecycle import TRIGGERS, legal_triggers
from workflow.tables import CASE

ROLES = ("requester", "case_owner", "analyst", "supervisor", "admin")
STAFF_ROLES = frozenset({"analyst", "case_owner", "supervisor"})
CENTRE_QUEUE = "CENTRE"
# Lowest first: a clearance covers its own marking and every one before it.
MARKINGS = ("OFFICIAL", "OFFICIAL-SENSITIVE")


@dataclass(frozen=True)
class Principal:
    """The signed-in person as the policy needs them (built from the user row at each request)."""

    username: str
    roles: frozenset[str]
    unit_code: str | None = None
    hub_code: str | None = None
    clearance: str = "OFFICIAL"

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def sees_everything(self) -> bool:
        return self.is_admin or (self.hub_code is None and bool(self.roles & STAFF_ROLES))

    def markings(self) -> tuple[str, ...]:
        """The markings this person's clearance covers (none for an unknown clearance)."""
        if self.clearance not in MARKINGS:
            return ()
        return MARKINGS[: MARKINGS.index(self.clearance) + 1]


class Forbidden(DomainError):
    """The caller may see the case (or has no case to see) but lacks the role for the action."""

    title = "Forbidden"

    def __init__(self, detail: str, *, needed: Iterable[str] = ()) -> None:
        super().__init__(detail)
        self.needed = list(needed)


@dataclass(frozen=True)
class Grant:
    """One way of being allowed to fire a trigger: holding `role`, within `scope`.

    scope ``any``: on any case the person may see; ``owner``: only on cases they own; ``unit``: only on
    their own unit's requests.
    """

    role: str
    scope: str = "any"

    def describe(self) -> str:
        return {
            "any": self.role,
            "owner": f"{self.role} (as the case's owner)",
            "unit": f"{self.role} (of the requesting unit)",
        }[self.scope]


# Which roles may fire which triggers. Analysts score; supervisors (hub leads, the tasking chair)
# prioritise, defer and task; the case's owner reviews, continues, reassesses and closes it, with supervisors
# able to act for an absent owner; requesters submit and withdraw their own unit's requests, and a
# supervisor may withdraw one on the unit's behalf. Admins run the system and act on no case.
PERMISSIONS: dict[str, tuple[Grant, ...]] = {
    "submit": (Grant("requester", "unit"),),
    "assess": (Grant("analyst"),),
    "rescore": (Grant("analyst"), Grant("case_owner", "owner")),
    "reject": (Grant("analyst"), Grant("supervisor")),
    "prioritise": (Grant("supervisor"),),
    "task": (Grant("supervisor"),),
    "defer": (Grant("supervisor"),),
    "review": (Grant("case_owner", "owner"), Grant("supervisor")),
    "continue": (Grant("case_owner", "owner"), Grant("supervisor")),
    "reassess": (Grant("case_owner", "owner"), Grant("supervisor")),
    "close": (Grant("case_owner", "owner"), Grant("supervisor")),
    "withdraw": (Grant("requester", "unit"), Grant("supervisor")),
    # Story 6: the centre asks the requesting unit for missing information (pausing the SLA clock) and
    # the unit, or whoever took the answer by phone, records that it arrived.
    "await_information": (Grant("analyst"), Grant("case_owner", "owner"), Grant("supervisor")),
    "information_received": (
        Grant("requester", "unit"),
        Grant("analyst"),
        Grant("case_owner", "owner"),
        Grant("supervisor"),
    ),
}


def unassigned_triggers() -> list[str]:
    """Lifecycle triggers nobody may fire through the API yet (a test keeps this empty)."""
    return [t for t in TRIGGERS if t not in PERMISSIONS]


def case_facts(case: Any) -> dict[str, Any]:
    """What the permission checks read of a case (a `Case` row, or anything with those attributes)."""
    return {"state": case.state, "owner": case.owner, "requesting_unit": case.requesting_unit}


def _in_scope(who: Principal, grant: Grant, case: Mapping[str, Any]) -> bool:
    if grant.scope == "owner":
        return case.get("owner") == who.username
    if grant.scope == "unit":
        return who.unit_code is not None and case.get("requesting_unit") == who.unit_code
    return True


def may(who: Principal, action: str, case: Mapping[str, Any]) -> bool:
    return any(who.has(g.role) and _in_scope(who, g, case) for g in PERMISSIONS.get(action, ()))


def require(who: Principal, action: str, case: Mapping[str, Any]) -> None:
    """Raise Forbidden naming the roles that could do `action` on this case."""
    if may(who, action, case):
        return
    grants = PERMISSIONS.get(action, ())
    needed = " or ".join(g.describe() for g in grants) or "no role"
    held = ", ".join(sorted(who.roles)) or "no roles"
    raise Forbidden(f"{action} needs {needed}; you have {held}", needed=[g.role for g in grants])


def allowed_triggers(who: Principal, case: Mapping[str, Any]) -> list[str]:
    """Triggers legal from the case's state that this person may fire (guards not evaluated)."""
    return [t for t in legal_triggers(case["state"]) if may(who, t, case)]


def can_see(who: Principal, case: Mapping[str, Any]) -> bool:
    """The Python twin of :func:`visible` (the tests hold the two to the same answers)."""
    if case.get("protective_marking") not in who.markings():
        return False
    if who.sees_everything:
        return True
    if who.roles & STAFF_ROLES and who.hub_code is not None:
        hub = case.get("hub")
        if hub in (who.hub_code, CENTRE_QUEUE, None) or case.get("owner") == who.username:
            return True
    return who.has("requester") and who.unit_code is not None and case.get("requesting_unit") == who.unit_code


def visible(who: Principal) -> ColumnElement[bool]:
    """A WHERE clause over the case table selecting exactly the cases `who` may see."""
    markings = who.markings()
    if not markings:
        return false()
    cleared: ColumnElement[bool] = CASE.c.protective_marking.in_(markings)
    if who.sees_everything:
        return cleared
    reach: list[ColumnElement[bool]] = []
    if who.roles & STAFF_ROLES and who.hub_code is not None:
        reach.append(
            or_(
                CASE.c.hub.in_((who.hub_code, CENTRE_QUEUE)),
                CASE.c.hub.is_(None),
                CASE.c.owner == who.username,
            )
        )
    if who.has("requester") and who.unit_code is not None:
        reach.append(CASE.c.requesting_unit == who.unit_code)
    if not reach:
        return false()
    return and_(cleared, or_(*reach))


def covers(who: Principal, marking: str) -> bool:
    return marking in who.markings()
