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

import rules
from api import exports, pack, tasking_view
from api.deps import SessionDep
from api.web.core import WebRoute, WebUser, highest_marking, render, templates, when
from workflow import strategies
from workflow.access import Principal
from workflow.db import utcnow
from workflow.errors import NotFound
from workflow.lifecycle import STRANDS_4P
from workflow.reads import capacity as reads_capacity
from workflow.reads import links as link_reads
from workflow.reads import tasking as reads_tasking
from workflow.reads.tasking import PER_HUB, HubAgenda

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
HubCode = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_.\-]+$")]
DONE = ("prioritise", "task", "defer")


# Each hub's part of the page includes these after its load line (capacity by capability, the
# deconfliction groups): adding one is a template and its name here.
HUB_PARTS: list[str] = ["_capacity_hub.html"]


def _staff_only(who: Principal) -> None:
    reads_tasking.require_staff(who)


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
    strategy = strategies.active_strategy(session)
    may_task = who.has("supervisor")
    listed = [c.id for h in hubs for c in h.cases]
    return {
        "title": "Tasking list",
        "capacity": reads_capacity.for_tasking(session, who=who, case_ids=listed, forms=may_task),
        "hubs": hubs,
        "strands": STRANDS_4P,
        "per_hub": PER_HUB,
        "may_task": may_task,
        "strategy": strategy,
        "hub_parts": HUB_PARTS,
        "groups": link_reads.groups_for(session, who=who, case_ids=listed),
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


def _every_open_case(session: Session, who: Principal) -> tuple[list[HubAgenda], rules.Strategy]:
    _staff_only(who)
    strategy = strategies.active_strategy(session)
    return reads_tasking.agenda(session, who=who, per_hub=None, strategy=strategy), strategy


@router.get("/tasking/export.xlsx")
def tasking_xlsx(session: SessionDep, who: WebUser) -> Response:
    """Every open case of the list as a spreadsheet, in rank order with its reason and parts."""
    hubs, strategy = _every_open_case(session, who)
    headers, rows = tasking_view.table(hubs, strategy)
    weights = [(rules.PART_LABELS[p], strategy.weights[p]) for p in rules.PARTS]
    about = [("Strategy", strategy.name), ("Version", strategy.version), *weights]
    body = exports.xlsx_bytes([("Tasking list", headers, rows), ("Strategy", ("What", "Value"), about)])
    name = f"tasking-list-{utcnow():%Y-%m-%d}.xlsx"
    return Response(body, media_type=exports.XLSX_TYPE, headers=exports.attachment(name))


@router.get("/tasking/pack.pdf")
def tasking_pack(request: Request, session: SessionDep, who: WebUser) -> Response:
    """The meeting pack: every open case, hub by hub, with each rank's reason, as a printable PDF."""
    hubs, strategy = _every_open_case(session, who)
    context = {
        "who": who,
        "now": utcnow(),
        "hubs": hubs,
        "strategy": strategy,
        "parts": rules.PARTS,
        "part_labels": rules.PART_LABELS,
        "total": sum(len(h.cases) for h in hubs),
        "marking": highest_marking([c.protective_marking for h in hubs for c in h.cases]),
    }
    body = pack.render_pdf(templates.env, context)
    name = f"tasking-pack-{utcnow():%Y-%m-%d}.pdf"
    return Response(body, media_type=pack.PDF_TYPE, headers=exports.attachment(name))
