"""My work (the landing page): what is waiting for me, most urgent first, and my unread notices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlmodel import col

from api.deps import SessionDep
from api.web import session as sessions
from api.web.core import PostedForm, WebRoute, WebUser, highest_marking, redirect, render, text
from api.web.rows import CASE, NEXT_DUE, rows
from notifications import inbox
from workflow import access, reads
from workflow.access import Principal
from workflow.db import utcnow
from workflow.ladders import OPEN as OPEN_ESCALATION
from workflow.lifecycle import OPEN_STATES
from workflow.models import Case, Escalation

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
LIMIT = 50


def open_escalations(
    session: SessionDep, who: Principal, *, hub: str | None = None, limit: int = LIMIT
) -> Any:
    """Unresolved escalations on cases `who` may see: highest level first, then the oldest."""
    query = (
        select(Escalation, Case)
        .join(Case, col(Case.id) == col(Escalation.case_id))
        .where(col(Escalation.status).in_(OPEN_ESCALATION), access.visible(who))
    )
    if hub:
        query = query.where(col(Escalation.hub) == hub)
    return session.execute(
        query.order_by(col(Escalation.level).desc(), col(Escalation.raised_at)).limit(limit)
    ).all()


@router.get("/")
def my_work(request: Request, session: SessionDep, who: WebUser) -> Response:
    now = utcnow()
    sections: dict[str, Any] = {}
    if who.has("supervisor"):
        sections["escalations"] = open_escalations(session, who)
    owned = session.execute(
        select(Case)
        .where(CASE.c.owner == who.username, CASE.c.state.in_(OPEN_STATES), access.visible(who))
        .order_by(NEXT_DUE.is_(None), NEXT_DUE, CASE.c.id)
        .limit(LIMIT)
    ).scalars()
    sections["mine"] = rows(owned, now)
    if who.has("analyst"):
        queue = session.execute(
            select(Case)
            .where(CASE.c.state == "submitted", access.visible(who))
            .order_by(CASE.c.sla_due_at.is_(None), CASE.c.sla_due_at, CASE.c.id)
            .limit(LIMIT)
        ).scalars()
        sections["queue"] = rows(queue, now)
    if who.has("requester") and who.unit_code:
        page = reads.search_cases(session, who=who, unit=who.unit_code, limit=LIMIT)
        sections["unit"] = rows(page.items, now)
    notices = inbox.inbox(session, username=who.username, unread_only=True, limit=20)
    shown = [r.case.protective_marking for key in ("mine", "queue", "unit") for r in sections.get(key, [])]
    shown += [c.protective_marking for _, c in sections.get("escalations", [])]
    return render(
        request,
        "work.html",
        {"title": "My work", "notices": notices, **sections},
        marking=highest_marking(shown),
    )


@router.post("/notifications/{delivery_id}/read")
def mark_read(
    request: Request, session: SessionDep, who: WebUser, form: PostedForm, delivery_id: int
) -> Response:
    inbox.mark_read(session, username=who.username, delivery_id=delivery_id)
    return redirect(sessions.safe_next(text(form, "next", 500)))
