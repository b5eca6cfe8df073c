"""Cases: search what you may see, open one, act on it, score it (with a live preview)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import SessionDep, WriteSession
from api.web.casepage import (
    ACTION_FIELDS,
    ASSESSING,
    LABELS,
    ActionForm,
    AssessForm,
    action_values,
    assessment_form_values,
    assessment_inputs,
    case_context,
    confirmation,
    matrix_of,
    required_fields,
    score_preview,
)
from api.web.core import (
    PostedForm,
    WebRoute,
    WebUser,
    errors_by_field,
    highest_marking,
    problems_of,
    redirect,
    render,
    templates,
    text,
    with_query,
)
from api.web.rows import rows
from workflow import access, accounts, reads, service
from workflow.access import Forbidden, Principal
from workflow.db import utcnow
from workflow.errors import (
    Conflict,
    GuardFailed,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from workflow.lifecycle import TRIGGERS, State

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
STATES = tuple(s.value for s in State)
PAGE = 50


def _code(value: str | None) -> str | None:
    return value if value and CODE.match(value) else None


@router.get("/cases")
def case_list(
    request: Request,
    session: SessionDep,
    who: WebUser,
    state: str | None = None,
    hub: str | None = None,
    band: str | None = None,
    unit: str | None = None,
    owner: str | None = None,
    q: str | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
) -> Response:
    filters = {
        "state": state if state in STATES else None,
        "hub": _code(hub),
        "band": _code(band),
        "unit": _code(unit),
        "owner": _code(owner),
        "q": (q or "").strip()[:200] or None,
    }
    sort = sort if sort in reads.SORT_CHOICES else "-created_at"
    page = reads.search_cases(session, who=who, sort=sort, cursor=cursor or None, limit=PAGE, **filters)
    now = utcnow()
    shown = rows(page.items, now)
    return render(
        request,
        "cases.html",
        {
            "title": "Cases",
            "rows": shown,
            "filters": filters,
            "sort": sort,
            "sorts": reads.SORT_CHOICES,
            "states": STATES,
            "hubs": accounts.list_hubs(session),
            "next_url": with_query("/cases", **filters, sort=sort, cursor=page.next_cursor)
            if page.next_cursor
            else None,
            "first_url": with_query("/cases", **filters, sort=sort) if cursor else None,
        },
        marking=highest_marking([r.case.protective_marking for r in shown]),
    )


def _case_page(
    request: Request,
    session: SessionDep,
    who: Principal,
    case_id: int,
    *,
    status: int = 200,
    forms: dict[str, ActionForm] | None = None,
    assess: AssessForm | None = None,
    banner: dict[str, Any] | None = None,
) -> Response:
    view = reads.read_case(session, who=who, case_id=case_id)
    context = case_context(session, who, view, forms=forms, assess=assess)
    done = request.query_params.get("done")
    context["done"] = confirmation(done, view.case.reference or "") if done else ""
    context["banner"] = banner
    return render(request, "case.html", context, status=status, marking=view.case.protective_marking)


@router.get("/cases/{case_id}")
def case_page(request: Request, session: SessionDep, who: WebUser, case_id: CaseId) -> Response:
    return _case_page(request, session, who, case_id)


def _version(form: Any) -> int | None:
    raw = text(form, "version", 12)
    return int(raw) if raw.isdigit() else None


def _conflict_banner(exc: Conflict | IllegalTransition, what: str) -> dict[str, Any]:
    if isinstance(exc, Conflict):
        detail = (
            f"{exc.reference} was changed by someone else while you were working on it: it is now "
            f"{exc.current_state} (version {exc.current_version}). Nothing was saved. The case below is "
            f"as it is now; what you typed is kept{what}."
        )
    else:
        detail = (
            f"The case is {exc.state} now, so {exc.trigger} is no longer possible. Nothing was saved; "
            f"what you typed is kept{what}."
        )
    return {"kind": "conflict", "detail": detail}


def _after_change(session: SessionDep, who: Principal, case_id: int, trigger: str, next_url: str) -> Response:
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    try:
        reads.visible_case(session, who=who, case_id=case_id)
    except NotFound:
        # The change took the case out of this person's sight (tasked to another hub): go home.
        return redirect(with_query("/", done=trigger))
    return redirect(with_query(f"/cases/{case_id}", done=trigger) + "#top")


@router.post("/cases/{case_id}/actions/{trigger}")
def fire(
    request: Request,
    session: WriteSession,
    who: WebUser,
    form: PostedForm,
    case_id: CaseId,
    trigger: Annotated[str, Path(max_length=32)],
) -> Response:
    if trigger in ASSESSING:  # scored on the MoRiLE form, which posts to /assess
        return redirect(f"/cases/{case_id}#assess")
    data = action_values(trigger, form)
    kept = ActionForm(
        trigger, LABELS.get(trigger, trigger), ACTION_FIELDS.get(trigger, ()), required_fields(trigger), data
    )
    kept.open = True
    try:
        service.fire(
            session,
            case_id=case_id,
            trigger=trigger,
            by=who,
            expected_version=_version(form),
            data=data,
        )
    except (InvalidInput, GuardFailed) as exc:
        kept.errors = errors_by_field(problems_of(exc))
        banner: dict[str, Any] = {"kind": "error", "detail": f"{LABELS.get(trigger, trigger)}: {exc.detail}"}
        return _case_page(
            request, session, who, case_id, status=exc.status, forms={trigger: kept}, banner=banner
        )
    except (Conflict, IllegalTransition) as exc:
        if isinstance(exc, IllegalTransition) and trigger not in TRIGGERS:
            raise  # no such action at all: the error page says which there are
        banner = _conflict_banner(
            exc, " in the form below" if _still_allowed(session, who, case_id, trigger) else ""
        )
        banner["typed"] = data
        return _case_page(
            request, session, who, case_id, status=exc.status, forms={trigger: kept}, banner=banner
        )
    return _after_change(session, who, case_id, trigger, text(form, "next", 500))


def _still_allowed(session: SessionDep, who: Principal, case_id: int, trigger: str) -> bool:
    session.expire_all()
    case = reads.visible_case(session, who=who, case_id=case_id)
    return trigger in access.allowed_triggers(who, access.case_facts(case))


@router.post("/cases/{case_id}/assess")
def assess(
    request: Request, session: WriteSession, who: WebUser, form: PostedForm, case_id: CaseId
) -> Response:
    trigger = reads.scoring_trigger_for(session, who=who, case_id=case_id)
    values = assessment_form_values(form)
    kept = AssessForm(trigger, values)
    if text(form, "action") == "preview":
        # Without JavaScript the preview is a round trip: score, store nothing, show the same page.
        kept.preview, kept.errors = score_preview(session, values)
        return _case_page(request, session, who, case_id, assess=kept, status=200 if kept.preview else 422)
    data: dict[str, Any] = {"assessment": assessment_inputs(values, matrix_of(session))}
    for name in ("rationale", "reason"):
        if values.get(name):
            data[name] = values[name]
    try:
        service.score(session, case_id=case_id, by=who, expected_version=_version(form), data=data)
    except (InvalidInput, GuardFailed) as exc:
        kept.errors = errors_by_field(problems_of(exc))
        kept.preview, _ = score_preview(session, values)
        banner: dict[str, Any] = {"kind": "error", "detail": "The assessment was not saved: " + exc.detail}
        return _case_page(request, session, who, case_id, status=exc.status, assess=kept, banner=banner)
    except (Conflict, IllegalTransition) as exc:
        kept.preview, _ = score_preview(session, values)
        banner = _conflict_banner(exc, " in the assessment form below")
        try:
            kept.trigger = reads.scoring_trigger_for(session, who=who, case_id=case_id)
            still = _still_allowed(session, who, case_id, kept.trigger)
        except Forbidden:
            still = False
        if not still:
            banner["typed"] = values
        return _case_page(request, session, who, case_id, status=exc.status, assess=kept, banner=banner)
    return _after_change(session, who, case_id, trigger, "")


@router.post("/cases/{case_id}/score-preview")
def preview(
    request: Request, session: SessionDep, who: WebUser, form: PostedForm, case_id: CaseId
) -> Response:
    """The live preview's endpoint: the score and its breakdown as HTML, nothing stored."""
    reads.scoring_trigger_for(session, who=who, case_id=case_id)
    values = assessment_form_values(form)
    payload, errors = score_preview(session, values)
    html = templates.get_template("_score.html").render(
        score=payload, matrix=matrix_of(session), errors=errors
    )
    body = {"ok": payload is not None, "errors": errors, "html": html}
    if payload is not None:
        body.update(band=payload["band"], band_label=payload["band_label"], risk=payload["risk"])
    return JSONResponse(body, status_code=200 if payload else 422)
