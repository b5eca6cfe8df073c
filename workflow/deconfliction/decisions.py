"""What confirm_link and dismiss_link do (the effects named in their definitions, workflow/triggers.py).

The case the trigger is fired on records the event the service writes; the other case of the link gets
the same event (same trigger, reason and decision, naming this case as the other) in an after-step of
the same transaction, through the same compare-and-set write as every change, so both histories say it
or neither does. The person must be able to see both cases: a link to a case they may not see is, to
them, no link at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update

from workflow.change import Change
from workflow.effects import Acting
from workflow.errors import FieldProblem, InvalidInput
from workflow.tables import HUB, LINK

CONFIRMED = "confirmed"
DISMISSED = "dismissed"


def _decide(a: Acting, status: str) -> None:
    # The triggers name this effect, and the access policy and the service are built from the triggers:
    # import them late.
    from workflow import access, triggers
    from workflow.service import load_case, write_change

    session, case_id = a.session, a.row.id
    link = (
        session.connection()
        .execute(
            select(LINK).where(
                LINK.c.id == a.inp.link, or_(LINK.c.older_case_id == case_id, LINK.c.newer_case_id == case_id)
            )
        )
        .mappings()
        .first()
    )
    unknown = InvalidInput([FieldProblem("link", f"case {a.row.reference} has no link {a.inp.link}")])
    if link is None:
        raise unknown
    other_id = link["newer_case_id"] if link["older_case_id"] == case_id else link["older_case_id"]
    other = load_case(session, other_id)
    if not access.can_see(a.by, other):
        raise unknown
    if other.state not in triggers.LINKABLE:
        raise InvalidInput(
            [FieldProblem("link", f"the other case is {other.state}: its links can no longer be decided")]
        )
    if link["status"] == status:
        raise InvalidInput([FieldProblem("link", f"link {link['id']} is already {status}")])
    problems = []
    lead = a.inp.lead_case if status == CONFIRMED else None
    hub = a.inp.hub if status == CONFIRMED else None
    if lead is not None and lead not in (case_id, other_id):
        problems.append(
            FieldProblem("lead_case", f"the lead case must be one of the two linked ({case_id}, {other_id})")
        )
    if hub is not None:
        active = session.connection().execute(
            select(HUB.c.code).where(HUB.c.code == hub, HUB.c.active.is_(True))
        )
        if active.first() is None:
            problems.append(FieldProblem("hub", f"unknown or inactive hub {hub!r}"))
    if problems:
        raise InvalidInput(problems)
    decision: dict[str, Any] = {"link": link["id"], "decision": status, "score": link["score"]}
    if lead is not None:
        decision["lead_case"] = lead
    if hub is not None:
        decision["coordinating_hub"] = hub
    a.change.payload.update(decision, other_case=other_id)
    mirrored = Change(
        trigger=a.change.trigger,
        to_state=other.state,
        reason=a.inp.reason,
        payload={**decision, "other_case": case_id},
    )
    by, at = a.by.username, a.at

    def write(session_: Any, _event_id: int) -> None:
        session_.connection().execute(
            update(LINK)
            .where(LINK.c.id == link["id"])
            .values(
                status=status,
                decided_by=by,
                decided_at=at,
                decision_reason=a.inp.reason,
                lead_case_id=lead,
                coordinating_hub=hub,
            )
        )
        write_change(session_, row=other, change=mirrored, actor=by, at=at)

    a.change.after.append(write)


def confirm(a: Acting) -> None:
    _decide(a, CONFIRMED)


def dismiss(a: Acting) -> None:
    _decide(a, DISMISSED)


__all__ = ["CONFIRMED", "DISMISSED", "confirm", "dismiss"]
