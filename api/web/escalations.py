"""Escalations for supervisors (story 3): what waits, most urgent first, opening on the reader's own hub;
acknowledge, snooze or resolve, each confirmed naming the case."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, WriteSession
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
    when,
    with_query,
)
from workflow import escalations, reads, reference
from workflow.access import Principal
from workflow.errors import Conflict, FieldProblem, InvalidInput, NotFound, Settled
from workflow.reads import escalations as reads_escalations
from workflow.reads.escalations import EscalationItem

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
EscalationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,16}$")
ACTIONS = ("acknowledge", "snooze", "resolve")


LIMIT = 200
ALL = "all"  # the hub filter's value for every hub (a hub supervisor's page opens on their own hub)
PAST = {"acknowledge": "acknowledged", "snooze": "snoozed", "resolve": "resolved"}


def _hub_filter(who: Principal, raw: str | None) -> str | None:
    """The hub whose escalations to show: the one asked for, all of them, or by default the reader's."""
    if raw is None:
        return who.hub_code
    if raw in ("", ALL) or not CODE.match(raw):
        return None
    return raw


def _confirmation(session: Session, who: Principal, done: str, raw_id: str) -> str:
    """What the last action did, said from the escalation as it is now (nothing if it has changed since)."""
    if done not in PAST or not raw_id.isdigit() or not 0 < int(raw_id) < 2**31:
        return ""
    try:
        esc, case = reads.visible_escalation(session, who=who, escalation_id=int(raw_id))
    except NotFound:
        return ""
    if esc.status != PAST[done]:
        return ""
    what = f"Escalation of {case.reference} ({esc.level_name.replace('_', ' ')}, level {esc.level})"
    if done == "acknowledge":
        return f"{what} acknowledged: the owner is told and the ladder stops."
    if done == "snooze":
        return f"{what} snoozed until {when(esc.snoozed_until)}: the ladder resumes then."
    return f"{what} resolved: it has left this list."


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
    found = reads_escalations.list_escalations(session, who=who, hub=hub, limit=LIMIT + 1)
    items = found[:LIMIT]
    by_level: dict[int, list[EscalationItem]] = {}
    for item in items:
        by_level.setdefault(item.escalation.level, []).append(item)
    hubs = reference.list_hubs(session)
    done = request.query_params.get("done", "")
    return render(
        request,
        "escalations.html",
        {
            "title": "Escalations",
            "levels": sorted(by_level.items(), key=lambda kv: -kv[0]),
            "count": len(items),
            "more": len(found) > LIMIT,
            "hub": hub or "",
            "hub_value": hub or ALL,
            "hub_name": next((h.name for h in hubs if h.code == hub), hub or ""),
            "own_hub": who.hub_code,
            "hubs": hubs,
            "failed": failed or {},
            "banner": banner,
            "done": _confirmation(session, who, done, request.query_params.get("escalation", ""))
            if done
            else "",
        },
        status=status,
        marking=highest_marking([i.case.protective_marking for i in items]),
    )


@router.get("/escalations")
def escalation_list(request: Request, session: SessionDep, who: WebUser, hub: str | None = None) -> Response:
    needs(who, "supervisor")
    return _page(request, session, who, _hub_filter(who, hub))


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
    session: WriteSession,
    who: WebUser,
    form: PostedForm,
    escalation_id: EscalationId,
    action: Annotated[str, Path(max_length=16)],
) -> Response:
    needs(who, "supervisor")
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r}")
    reads.visible_escalation(session, who=who, escalation_id=escalation_id)
    hub = _hub_filter(who, text(form, "hub", 16))
    note = text(form, "note", 4000)
    reason = text(form, "reason", 4000)
    until = text(form, "until", 40)
    try:
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
        return _page(request, session, who, hub, status=422, failed=failed)
    except (Conflict, Settled) as exc:
        session.rollback()
        failed = {
            "id": escalation_id,
            "action": action,
            "values": {"note": note, "reason": reason, "until": until},
            "errors": {},
        }
        banner = f"Nothing was saved: {exc.detail} The list below is as it is now."
        return _page(request, session, who, hub, status=409, failed=failed, banner=banner)
    # The page says what happened from the escalation itself (naming its case), not from text in the URL.
    after = with_query("/escalations", hub=hub or ALL, done=action, escalation=escalation_id)
    return redirect(f"{after}#confirmation")
