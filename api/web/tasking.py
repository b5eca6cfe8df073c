"""The tasking list for the tactical tasking meeting (story 4): open requests by priority, per hub, with
each hub's load against its capacity. Printable."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlmodel import Session

from api.deps import SessionDep
from api.web.core import WebRoute, WebUser, highest_marking, is_staff, render
from api.web.rows import CASE, CaseRow, rows
from workflow import access, accounts
from workflow.access import Forbidden, Principal
from workflow.db import utcnow
from workflow.lifecycle import STRANDS_4P
from workflow.models import Case, Hub

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
# Awaiting a tasking decision; tasked and reviewed cases are each hub's current load.
AGENDA = ("assessed", "prioritised")
LOAD = ("tasked", "reviewed")
PER_HUB = 30


@dataclass(frozen=True)
class HubAgenda:
    hub: Hub
    rows: list[CaseRow]
    waiting: int
    tasked: int

    @property
    def free(self) -> int:
        return self.hub.capacity - self.tasked

    @property
    def over(self) -> bool:
        return self.tasked > self.hub.capacity


def _counts(session: Session, who: Principal, states: tuple[str, ...]) -> dict[str | None, int]:
    # Grouped by (state, hub), the order of the (state, hub) index: grouped by hub alone, SQLite may
    # choose to walk the hub index over the whole table to avoid a sort, forty times slower at 100k cases.
    found = session.execute(
        select(CASE.c.state, CASE.c.hub, func.count())
        .where(CASE.c.state.in_(states), access.visible(who))
        .group_by(CASE.c.state, CASE.c.hub)
    ).all()
    out: dict[str | None, int] = {}
    for _, hub, n in found:
        out[hub] = out.get(hub, 0) + n
    return out


def agenda(session: Session, who: Principal, per_hub: int = PER_HUB) -> list[HubAgenda]:
    now = utcnow()
    waiting = _counts(session, who, AGENDA)
    tasked = _counts(session, who, LOAD)
    out = []
    for hub in accounts.list_hubs(session):
        if not hub.active:
            continue
        # Bands sort as text in priority order (P1 < P2 ...); unscored last; then risk, then the oldest.
        ranked = session.execute(
            select(Case)
            .where(CASE.c.state.in_(AGENDA), CASE.c.hub == hub.code, access.visible(who))
            .order_by(CASE.c.band.is_(None), CASE.c.band, CASE.c.risk.desc(), CASE.c.created_at, CASE.c.id)
            .limit(per_hub)
        ).scalars()
        out.append(HubAgenda(hub, rows(ranked, now), waiting.get(hub.code, 0), tasked.get(hub.code, 0)))
    return out


@router.get("/tasking")
def tasking(request: Request, session: SessionDep, who: WebUser) -> Response:
    if not is_staff(who):
        raise Forbidden(
            "the tasking list is for centre and hub staff", needed=["analyst", "case_owner", "supervisor"]
        )
    hubs = agenda(session, who)
    staff = [u for u in accounts.list_users(session) if u.active and "case_owner" in u.roles]
    return render(
        request,
        "tasking.html",
        {
            "title": "Tasking list",
            "hubs": hubs,
            "staff": staff,
            "all_hubs": [h.hub for h in hubs],
            "strands": STRANDS_4P,
            "per_hub": PER_HUB,
            "may_task": who.has("supervisor"),
        },
        marking=highest_marking([r.case.protective_marking for h in hubs for r in h.rows]),
    )
