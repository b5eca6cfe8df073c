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
hub staff: analyst, case_owner or            their hub's cases, cases not yet routed to any hub, and
supervisor with a hub                        any case they own
requester                                    their own unit's requests
records_officer                              every ended case (closed, rejected, withdrawn): the
                                             retention review is their need to know, open work is not
===========================================  =====================================================

The centre's own queue (hub ``CENTRE``: unrouted, central and specialist requests) is the centre's work:
its staff (no hub, or hub ``CENTRE``) see it; another hub's staff do not (it is not their need to know).
A person holding several roles sees the union. On top of that, their clearance must cover the case's
marking (``OFFICIAL-SENSITIVE`` clearance covers both markings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from workflow import triggers
from workflow.errors import Forbidden as Forbidden
from workflow.lifecycle import TRIGGERS, LiveMap, offered_triggers
from workflow.principals import MARKINGS as MARKINGS
from workflow.principals import ROLES as ROLES
from workflow.principals import STAFF_ROLES as STAFF_ROLES
from workflow.principals import Grant as Grant
from workflow.principals import Principal as Principal
from workflow.states import TERMINAL
from workflow.tables import CASE

_ENDED = tuple(sorted(s.value for s in TERMINAL))

# Actions on a case that are not lifecycle triggers, and who may take them.
ACTIONS: dict[str, tuple[Grant, ...]] = {
    # Story 3: supervisors acknowledge, snooze and resolve escalations on the cases they can see.
    "handle_escalation": (Grant("supervisor"),),
}

# Who may fire which trigger: each trigger's `grants`, from its definition (workflow/triggers.py).
PERMISSIONS: Mapping[str, tuple[Grant, ...]] = LiveMap(
    lambda: {s.name: s.grants for s in triggers.REGISTRY.values()}
)


def grants(action: str) -> tuple[Grant, ...]:
    """Who may take `action`: a trigger, or one of ACTIONS (none for anything else)."""
    return PERMISSIONS.get(action) or ACTIONS.get(action, ())


def unassigned_triggers() -> list[str]:
    """Lifecycle triggers nobody may fire through the API yet (a test keeps this empty)."""
    return [t for t in TRIGGERS if t not in PERMISSIONS]


def case_facts(case: Any) -> dict[str, Any]:
    """What the permission checks read of a case (a `Case` row, or anything with those attributes)."""
    return {
        "state": case.state,
        "owner": case.owner,
        "requesting_unit": case.requesting_unit,
        "hub": case.hub,
        "protective_marking": case.protective_marking,
        "awaiting_since": case.awaiting_since,
    }


def _in_scope(who: Principal, grant: Grant, case: Mapping[str, Any]) -> bool:
    if grant.scope == "owner":
        return case.get("owner") == who.username
    if grant.scope == "unit":
        return who.unit_code is not None and case.get("requesting_unit") == who.unit_code
    return True


def may(who: Principal, action: str, case: Mapping[str, Any]) -> bool:
    if who.is_system:  # timers, the worker, the operator's CLI: they hold the database already
        return bool(grants(action))
    return any(who.has(g.role) and _in_scope(who, g, case) for g in grants(action))


def require(who: Principal, action: str, case: Mapping[str, Any]) -> None:
    """Raise Forbidden naming the roles that could do `action` on this case."""
    if may(who, action, case):
        return
    allowed = grants(action)
    needed = " or ".join(g.describe() for g in allowed) or "no role"
    held = ", ".join(sorted(who.roles)) or "no roles"
    raise Forbidden(f"{action} needs {needed}; you have {held}", needed=[g.role for g in allowed])


def allowed_triggers(who: Principal, case: Mapping[str, Any]) -> list[str]:
    """Triggers offered on the case in its state and condition that this person may fire."""
    return [t for t in offered_triggers(case) if may(who, t, case)]


def can_see(who: Principal, case: Mapping[str, Any]) -> bool:
    """The Python twin of :func:`visible` (the tests hold the two to the same answers)."""
    if case.get("protective_marking") not in who.markings():
        return False
    if who.sees_everything:
        return True
    if who.roles & STAFF_ROLES and who.hub_code is not None:
        hub = case.get("hub")
        if hub in (who.hub_code, None) or case.get("owner") == who.username:
            return True
    if who.has("records_officer") and case.get("state") in _ENDED:
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
                CASE.c.hub == who.hub_code,
                CASE.c.hub.is_(None),
                CASE.c.owner == who.username,
            )
        )
    if who.has("requester") and who.unit_code is not None:
        reach.append(CASE.c.requesting_unit == who.unit_code)
    if who.has("records_officer"):
        reach.append(CASE.c.state.in_(_ENDED))
    if not reach:
        return false()
    return and_(cleared, or_(*reach))


def covers(who: Principal, marking: str) -> bool:
    return marking in who.markings()
