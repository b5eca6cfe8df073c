"""The tasking list for the tactical tasking meeting (story 4): open requests by priority, per hub, with
each hub's load against its capacity. Printable.

The chair's actions post to the case's own action route, which sends the browser back here with the
case and what was done; the page then says so, naming the case, from the case as it is now. With the
script, the same forms post in the background and only the hub's part of the page is redrawn (from
`/tasking/hubs/{code}`); without it, the whole page comes back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep
from api.web.core import WebRoute, WebUser, highest_marking, is_staff, render, when
from workflow import accounts
from workflow.access import Forbidden, Principal
from workflow.errors import NotFound
from workflow.lifecycle import STRANDS_4P
from workflow.reads import links as link_reads
from workflow.reads import tasking as reads_tasking
from workflow.reads.tasking import PER_HUB, HubAgenda

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
HubCode = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")]
DONE = ("prioritise", "task", "defer")


def _staff_only(who: Principal) -> None:
    if not is_staff(who):
        raise Forbidden(
            "the tasking list is for centre and hub staff", needed=["analyst", "case_owner", "supervisor"]
        )


def confirmation(session: Session, who: Principal, done: str | None, case_id: str | None) -> str:
    """What the last action did, said from the case as it is now (nothing if it does not show it)."""
    if done not in DONE or not case_id or not case_id.isdigit() or not 0 < int(case_id) < 2**31:
        return ""
    c = reads_tasking.agenda_case(session, who=who, case_id=int(case_id))
    if c is None:
        return ""
    if done == "prioritise" and c.state == "prioritised":
        return f"{c.reference} prioritised: it stays on the list, ready to task to a team and an owner."
    if done == "task" and c.state == "tasked":
        team = f", team {c.team}" if c.team else ""
        return (
            f"{c.reference} tasked to {c.hub}{team}, owner {c.owner}: it leaves the list and counts "
            f"against {c.hub}'s load."
        )
    if done == "defer" and c.deferred_at is not None and c.state in reads_tasking.AGENDA:
        return (
            f"{c.reference} deferred {when(c.deferred_at)}: it stays on the list in its rank, saying why; "
            "the requester is told."
        )
    return ""


def _context(session: Session, who: Principal, hubs: list[HubAgenda]) -> dict[str, object]:
    may_task = who.has("supervisor")
    staff = (
        [u for u in accounts.list_users(session) if u.active and "case_owner" in u.roles] if may_task else []
    )
    return {
        "title": "Tasking list",
        "hubs": hubs,
        "staff": staff,
        "strands": STRANDS_4P,
        "per_hub": PER_HUB,
        "may_task": may_task,
        "groups": link_reads.groups_for(session, who=who, case_ids=[c.id for h in hubs for c in h.cases]),
    }


def _marking(hubs: list[HubAgenda]) -> str:
    return highest_marking([c.protective_marking for h in hubs for c in h.cases])


@router.get("/tasking")
def tasking(
    request: Request, session: SessionDep, who: WebUser, done: str | None = None, case: str | None = None
) -> Response:
    _staff_only(who)
    hubs = reads_tasking.agenda(session, who=who)
    context = _context(session, who, hubs)
    context["done"] = confirmation(session, who, done, case)
    return render(request, "tasking.html", context, marking=_marking(hubs))


@router.get("/tasking/hubs/{code}")
def hub_part(
    request: Request,
    session: SessionDep,
    who: WebUser,
    code: HubCode,
    done: str | None = None,
    case: str | None = None,
) -> Response:
    """One hub's section of the list, as the script redraws it in place after an action."""
    _staff_only(who)
    hubs = reads_tasking.agenda(session, who=who, hub=code)
    if not hubs:
        raise NotFound(f"no active hub {code!r}")
    context = _context(session, who, hubs)
    context.update(h=hubs[0], part_done=confirmation(session, who, done, case))
    marking = _marking(hubs)
    response = render(request, "_tasking_hub.html", context, marking=marking)
    # The part carries the marking of what it shows, for the script to raise the page's banners with.
    response.headers["X-Protective-Marking"] = marking
    return response
