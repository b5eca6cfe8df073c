"""What deconfliction may tell whom. Centre and hub staff see candidate and confirmed links (and the
other case's details only where they may see that case); a requester is told only that the centre is
co-ordinating their request with other work: never the other unit's reference, target or summary, in
the pages, the API or the history of their own case."""

from __future__ import annotations

from collections.abc import Iterable

from workflow.models import CaseEvent
from workflow.principals import STAFF_ROLES, Principal

COORDINATING = "The centre is co-ordinating this request with other work."
LINK_TRIGGERS = frozenset({"confirm_link", "dismiss_link"})


def sees_links(who: Principal) -> bool:
    """Whether `who` is told of links at all (staff, admins, system principals), not only of co-ordination."""
    return bool(who.roles & STAFF_ROLES) or who.is_admin or who.is_system


def shown_events(who: Principal, events: Iterable[CaseEvent]) -> list[CaseEvent]:
    """A case's history as `who` may read it: a link decision, to a requester, says only that the centre
    co-ordinates the request (a dismissal, not even that). Copies: the rows read stay as they are."""
    events = list(events)
    if sees_links(who):
        return events
    shown: list[CaseEvent] = []
    for e in events:
        if e.trigger not in LINK_TRIGGERS:
            shown.append(e)
            continue
        told = e.trigger == "confirm_link" and e.payload.get("decision") == "confirmed"
        shown.append(
            CaseEvent(
                **{
                    **e.model_dump(),
                    "trigger": "coordination" if told else "centre_note",
                    "reason": COORDINATING if told else None,
                    "payload": {"note": COORDINATING} if told else {},
                }
            )
        )
    return shown
