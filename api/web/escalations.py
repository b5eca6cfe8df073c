"""Escalations for supervisors (story 3): what waits, by level and age; acknowledge, snooze or resolve."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, Writer
from api.web.core import (
    LONDON,
    PostedForm,
    WebRoute,
    WebUser,
    errors_by_field,
    highest_marking,
    needs,
    redirect,
    render,
    text,
    with_query,
)
from api.web.work import open_escalations
from workflow import accounts, escalations, reads
from workflow.access import Principal
from workflow.errors import Conflict, FieldProblem, InvalidInput, NotFound, Settled
from workflow.models import Case, Escalation

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
EscalationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,16}$")
ACTIONS = ("acknowledge", "snooze", "resolve")


def _page(
    request: Request,
    session: Session,
    who: Principal,
    hub: str | None,
    *,
    status: int = 200,
    failed: dict[str, Any] | None = None,
    banner: str = "",
) -> Response:
    items = open_escalations(session, who, hub=hub, limit=200)
    by_level: dict[int, list[tuple[Escalation, Case]]] = {}
    for esc, case in items:
        by_level.setdefault(esc.level, []).append((esc, case))
    return render(
        request,
        "escalations.html",
        {
            "title": "Escalations",
            "levels": sorted(by_level.items(), key=lambda kv: -kv[0]),
            "count": len(items),
            "hub": hub or "",
            "hubs": accounts.list_hubs(session),
            "failed": failed or {},
            "banner": banner,
            "done": request.query_params.get("done", ""),
        },
        status=status,
        marking=highest_marking([c.protective_marking for _, c in items]),
    )


@router.get("/escalations")
def escalation_list(request: Request, session: SessionDep, who: WebUser, hub: str | None = None) -> Response:
    needs(who, "supervisor")
    return _page(request, session, who, hub if hub and CODE.match(hub) else None)


def _until(raw: str) -> datetime:
    """A datetime-local value is London wall-clock time (what the supervisor's clock shows)."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput([FieldProblem("until", "give a date and time, e.g. 2026-03-02 09:00")]) from None
    return parsed.replace(tzinfo=LONDON) if parsed.tzinfo is None else parsed


@router.post("/escalations/{escalation_id}/{action}")
def act(
    request: Request,
    session: SessionDep,
    who: WebUser,
    lock: Writer,
    form: PostedForm,
    escalation_id: EscalationId,
    action: Annotated[str, Path(max_length=16)],
) -> Response:
    needs(who, "supervisor")
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r}")
    reads.visible_escalation(session, who=who, escalation_id=escalation_id)
    hub = text(form, "hub", 16)
    hub = hub if CODE.match(hub) else ""
    note = text(form, "note", 4000)
    reason = text(form, "reason", 4000)
    until = text(form, "until", 40)
    try:
        with lock:
            if action == "acknowledge":
                escalations.acknowledge(session, escalation_id=escalation_id, by=who, note=note or None)
            elif action == "snooze":
                if not until:
                    raise InvalidInput([FieldProblem("until", "say until when")])
                escalations.snooze(
                    session,
                    escalation_id=escalation_id,
                    by=who,
                    until=_until(until),
                    reason=reason,
                )
            else:
                escalations.resolve(session, escalation_id=escalation_id, by=who, reason=reason)
    except InvalidInput as exc:
        session.rollback()
        failed = {
            "id": escalation_id,
            "action": action,
            "values": {"note": note, "reason": reason, "until": until},
            "errors": errors_by_field(exc.problems),
        }
        return _page(request, session, who, hub or None, status=422, failed=failed)
    except (Conflict, Settled) as exc:
        session.rollback()
        failed = {
            "id": escalation_id,
            "action": action,
            "values": {"note": note, "reason": reason, "until": until},
            "errors": {},
        }
        banner = f"Nothing was saved: {exc.detail} The list below is as it is now."
        return _page(request, session, who, hub or None, status=409, failed=failed, banner=banner)
    past = {"acknowledge": "acknowledged", "snooze": "snoozed", "resolve": "resolved"}[action]
    return redirect(with_query("/escalations", hub=hub, done=f"Escalation {escalation_id} {past}"))
