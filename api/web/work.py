"""My work (the landing page): what is waiting for me, most urgent first, and my unread notices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.web import session as sessions
from api.web.core import PostedForm, WebRoute, WebUser, highest_marking, redirect, render, text
from api.web.rows import rows
from notifications import inbox
from workflow import reads
from workflow.db import utcnow
from workflow.reads import escalations as reads_escalations
from workflow.reads import links as link_reads
from workflow.reads import work as reads_work

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
LIMIT = reads_work.LIMIT


@router.get("/")
def my_work(request: Request, session: SessionDep, who: WebUser) -> Response:
    now = utcnow()
    sections: dict[str, Any] = {}
    if who.has("supervisor"):
        sections["escalations"] = reads_escalations.list_escalations(session, who=who, limit=LIMIT)
    sections["mine"] = rows(reads_work.owned_cases(session, who=who), now)
    if who.has("analyst"):
        queue = reads_work.assessment_queue(session, who=who)
        sections["queue"] = rows(queue, now)
        sections["queue_links"] = link_reads.counts_for(
            session, who=who, case_ids=[c.id for c in queue if c.id is not None]
        )
    if who.has("requester") and who.unit_code:
        page = reads.search_cases(session, who=who, unit=who.unit_code, limit=LIMIT)
        sections["unit"] = rows(page.items, now)
    notices = inbox.inbox(session, username=who.username, unread_only=True, limit=20)
    shown = [r.case.protective_marking for key in ("mine", "queue", "unit") for r in sections.get(key, [])]
    shown += [e.case.protective_marking for e in sections.get("escalations", [])]
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
