"""New requests from a BCU or specialist unit (story 1), and the unit's own requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, WriteSession
from api.web.core import (
    PostedForm,
    WebRoute,
    WebUser,
    highest_marking,
    needs,
    redirect,
    render,
    text,
    texts,
    with_query,
)
from api.web.rows import rows
from workflow import access, reads, service
from workflow.access import MARKINGS, Forbidden, Principal
from workflow.db import utcnow
from workflow.errors import InvalidInput
from workflow.models import Hub
from workflow.rulebook import active_rulebook

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


# The form's fields in the order they appear, so the summary of errors reads top to bottom.
ORDER = (
    "requesting_unit",
    "title",
    "target_type",
    "target_name",
    "target_aliases",
    "target_locations",
    "themes",
    "capabilities",
    "summary",
    "tags",
    "protective_marking",
)


def staff_message(name: str, data: Mapping[str, Any], *, unknown: set[str]) -> str:
    """What to do about a field the service refused, in the centre's words: the validator's own wording
    ("List should have at least 1 item after validation") never reaches the form. Each message states
    the whole rule for the field, so it is right whichever part of the rule was broken."""
    value = data.get(name)
    empty = not value
    if name == "title":
        return "Give the request a title." if empty else TITLE_RULE
    if name == "summary":
        return "Describe what is known, what you need and why." if empty else SUMMARY_RULE
    if name == "target_type":
        if empty:
            return "Choose the type of target."
        return "Choose the type of target from the list (the one given is not one the centre uses)."
    if name == "target_name":
        return "Name the target: the OCG, the person, the location or the theme." if empty else NAME_RULE
    if name in ("themes", "capabilities"):
        one = "theme" if name == "themes" else "capability"
        if empty:
            return f"Tick at least one {one}."
        if any(f.startswith(f"{name}.") for f in unknown):
            return f"Tick {name} from the list only."
        return f"Tick between one and {MAX_CHOICES} {name}."
    if name == "tags":
        return TAGS_RULE
    if name in ("target_aliases", "target_locations"):
        return NAMES_RULE
    if name == "requesting_unit":
        return (
            "Your account has no requesting unit, so the request cannot say who it is from: "
            "ask an administrator to set it."
        )
    return "Check this field."


TITLE_RULE = "The title must be 3 to 200 characters long, with no control characters."
SUMMARY_RULE = "The summary must be at most 20,000 characters, with no control characters."
NAME_RULE = "The target name must be at most 200 characters, with no control characters."
TAGS_RULE = "Give at most 20 tags, separated by commas, each at most 64 characters."
NAMES_RULE = "Give at most 10, one a line, each at most 200 characters, with no control characters."
MAX_CHOICES = 20
EXTRA_NAMES = ("target_aliases", "target_locations")


def _form_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    ruleset = active_rulebook(session).ruleset
    return render(
        request,
        "request_new.html",
        {
            "title": "New request",
            "values": values or {"themes": [], "capabilities": [], "protective_marking": "OFFICIAL"},
            "errors": errors or {},
            "target_types": ruleset.target_types,
            "themes": ruleset.themes,
            "capabilities": ruleset.capabilities,
            "markings": who.markings(),
            "unit": ruleset.units.get(who.unit_code or ""),
        },
        status=status,
        marking=highest_marking([(values or {}).get("protective_marking")]),
    )


@router.get("/requests/new")
def new_request(request: Request, session: SessionDep, who: WebUser) -> Response:
    needs(who, "requester")
    return _form_page(request, session, who)


@router.post("/requests/new")
def submit(request: Request, session: WriteSession, who: WebUser, form: PostedForm) -> Response:
    needs(who, "requester")
    access.require(who, "submit", {"requesting_unit": who.unit_code})
    values: dict[str, Any] = {
        "title": text(form, "title", 400),
        "summary": text(form, "summary", 40000),
        "target_type": text(form, "target_type", 64),
        "target_name": text(form, "target_name", 400),
        "themes": texts(form, "themes"),
        "capabilities": texts(form, "capabilities"),
        "tags": text(form, "tags", 2000),
        "target_aliases": text(form, "target_aliases", 4000),
        "target_locations": text(form, "target_locations", 4000),
        "protective_marking": text(form, "protective_marking", 32) or "OFFICIAL",
    }
    errors: dict[str, str] = {}
    marking = values["protective_marking"]
    if marking not in MARKINGS:
        errors["protective_marking"] = "Choose the protective marking: " + " or ".join(MARKINGS) + "."
    elif not access.covers(who, marking):
        errors["protective_marking"] = (
            f"Your clearance ({who.clearance}) does not cover {marking}: choose a marking it covers, or ask "
            "someone cleared for it to submit the request."
        )
    data = {
        **values,
        "tags": [t.strip() for t in values["tags"].split(",") if t.strip()],
        # Other names and places, one a line (deconfliction matches them too).
        **{k: [n.strip() for n in values[k].splitlines() if n.strip()] for k in EXTRA_NAMES},
        "requesting_unit": who.unit_code,
    }
    if not errors:
        try:
            done = service.submit_case(session, request=data, by=who)
        except InvalidInput as exc:
            session.rollback()
            book = active_rulebook(session)
            # The service stops at the first kind of problem (shape, then vocabulary); the form shows both.
            vocabulary = book.vocabulary_problems(
                target_type=data["target_type"], themes=data["themes"], capabilities=data["capabilities"]
            )
            # themes.2 is the third theme ticked: the message belongs beside the themes group.
            fields = {p.field.split(".", 1)[0] for p in exc.problems}
            fields |= {p.field.split(".", 1)[0] for p in vocabulary}
            for name in sorted(fields, key=lambda f: ORDER.index(f) if f in ORDER else len(ORDER)):
                errors[name] = staff_message(name, data, unknown={p.field for p in vocabulary})
        else:
            return redirect(f"/requests/{done.case_id}/submitted")
    return _form_page(request, session, who, values=values, errors=errors, status=422)


@router.get("/requests/{case_id}/submitted")
def submitted(
    request: Request, session: SessionDep, who: WebUser, case_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    case = reads.visible_case(session, who=who, case_id=case_id)
    if case.created_by != who.username:
        raise Forbidden("this confirmation is for the person who submitted the request")
    hub = session.get(Hub, case.hub) if case.hub else None
    return render(
        request,
        "request_done.html",
        {"title": f"Request {case.reference} submitted", "case": case, "hub": hub},
        marking=case.protective_marking,
    )


@router.get("/requests")
def unit_requests(request: Request, session: SessionDep, who: WebUser, cursor: str | None = None) -> Response:
    needs(who, "requester")
    page = reads.search_cases(session, who=who, unit=who.unit_code, cursor=cursor or None, limit=50)
    shown = rows(page.items, utcnow())
    return render(
        request,
        "requests.html",
        {
            "title": "My unit's requests",
            "rows": shown,
            "next_url": with_query("/requests", cursor=page.next_cursor) if page.next_cursor else None,
            "first_url": "/requests" if cursor else None,
        },
        marking=highest_marking([r.case.protective_marking for r in shown]),
    )
