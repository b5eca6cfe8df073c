"""Hub capacity and teams for admins (issue 13): each hub's capacity per capability against its load, a
form to change one figure (with why), the history of changes, and the hubs' teams (add, stand down)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, WriteSession
from api.web.core import (
    PostedForm,
    WebRoute,
    WebUser,
    errors_by_field,
    needs,
    problems_of,
    redirect,
    render,
    text,
)
from workflow import capacity, hub_resources, reference
from workflow import rulebook as rb
from workflow.access import Principal
from workflow.errors import AlreadyExists, InvalidInput, NotFound

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
DONE = {"capacity": "Capacity changed; the old figure stays in the history.", "team": "Team added.",
        "team_active": "Team changed."}  # fmt: skip


def _page(request: Request, session: Session, *, status: int = 200, **context: Any) -> Response:
    hubs = reference.list_hubs(session)
    full = {
        "title": "Hub capacity and teams",
        "hubs": hubs,
        "rooms": capacity.rooms(session),
        "history": hub_resources.capacity_history(session, limit=50),
        "teams": capacity.teams(session, active_only=False),
        "capabilities": rb.active_rulebook(session).ruleset.capabilities,
        "errors": {},
        "values": {},
        "done": "",
        "form": "",
        **context,
    }
    return render(request, "admin_capacity.html", full, status=status)


@router.get("/admin/capacity")
def capacity_page(request: Request, session: SessionDep, who: WebUser, done: str | None = None) -> Response:
    needs(who, "admin")
    return _page(request, session, done=DONE.get(done or "", ""))


def _act(session: Session, who: Principal, action: str, form: Any) -> None:
    hub = text(form, "hub", 16)
    if action == "capacity":
        raw = text(form, "capacity", 8)
        data = {
            "capability": text(form, "capability", 64),
            "capacity": int(raw) if raw.isdigit() else raw,
            "reason": text(form, "reason", 500) or None,
        }
        hub_resources.set_capacity(session, hub=hub, data=data, by=who)
    elif action == "team":
        data = {"code": text(form, "code", 64), "name": text(form, "name", 120)}
        if text(form, "capability", 64):
            data["capability"] = text(form, "capability", 64)
        hub_resources.add_team(session, hub=hub, data=data, by=who)
    elif action == "team_active":
        changes = {"active": text(form, "active", 8) == "true"}
        hub_resources.change_team(session, hub=hub, code=text(form, "code", 64), changes=changes, by=who)
    else:
        raise NotFound(f"no action {action!r}")


@router.post("/admin/capacity")
def capacity_action(request: Request, session: WriteSession, who: WebUser, form: PostedForm) -> Response:
    needs(who, "admin")
    action = text(form, "action", 16)
    try:
        _act(session, who, action, form)
    except (InvalidInput, AlreadyExists, NotFound) as exc:
        errors = errors_by_field(problems_of(exc)) or {"hub": exc.public_detail()}
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return _page(request, session, status=exc.status, errors=errors, values=values, form=action)
    return redirect(f"/admin/capacity?done={action}")
