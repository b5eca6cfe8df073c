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
from workflow import access, reads, reference, service
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
from workflow.rulebook import active_rulebook

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
STATES = tuple(s.value for s in State)
PAGE = 50


def _code(value: str | None) -> str | None:
    return value if value and CODE.match(value) else None


# What the search form sends, and how each is named to the centre's staff when it is wrong.
FILTER_NAMES = {
    "q": "words",
    "state": "state",
    "open": "open or finished",
    "hub": "hub",
    "band": "band",
    "unit": "requesting unit",
    "owner": "owner",
    "theme": "theme",
    "capability": "capability",
    "sort": "sort",
    "cursor": "page",
}
YES = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _shown(value: str) -> str:
    """Part of what the address said, safe to repeat back: printable characters only, kept short."""
    return "".join(ch for ch in value[:40] if ch.isprintable())


def _filters(request: Request, session: SessionDep) -> tuple[dict[str, Any], list[str]]:
    """The search's filters from the address, and a message for each one that cannot be used: an
    unknown name or value is said, never silently dropped (which would show every case instead)."""
    params = request.query_params
    messages = [
        f"This search has no filter called \u201c{_shown(name)}\u201d; it can filter by "
        + ", ".join(FILTER_NAMES[k] for k in FILTER_NAMES if k != "cursor")
        + "."
        for name in dict.fromkeys(params.keys())
        if name not in FILTER_NAMES
    ]
    raw = {k: (params.get(k) or "").strip() or None for k in FILTER_NAMES}
    vocab = active_rulebook(session).ruleset
    filters: dict[str, Any] = {"q": raw["q"][:200] if raw["q"] else None}
    if raw["state"] is not None and raw["state"] not in STATES:
        messages.append(f"There is no state \u201c{_shown(raw['state'])}\u201d.")
    filters["state"] = raw["state"] if raw["state"] in STATES else None
    if raw["open"] is not None and raw["open"].lower() not in YES:
        messages.append("\u201cOpen or finished\u201d is either open or finished.")
    filters["is_open"] = YES.get((raw["open"] or "").lower())
    for name in ("hub", "band", "unit", "owner"):
        code = raw[name]
        if code is not None and _code(code) is None:
            messages.append(f"\u201c{_shown(code)}\u201d is not a {FILTER_NAMES[name]} code.")
        filters[name] = _code(code)
    for name, known in (("theme", vocab.themes), ("capability", vocab.capabilities)):
        code = raw[name]
        if code is not None and code not in known:
            messages.append(f"There is no {name} \u201c{_shown(code)}\u201d in the current rules.")
        filters[name] = code if code in known else None
    return filters, messages


# The exports (api/web/case_exports.py) read the same filters from the same address.
filters_of = _filters


def _link(filters: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The filters as they appear in the address (`is_open` is `open` there)."""
    shown = {k: v for k, v in filters.items() if k != "is_open"}
    if filters.get("is_open") is not None:
        shown["open"] = "true" if filters["is_open"] else "false"
    return {**shown, **more}


@router.get("/cases")
def case_list(request: Request, session: SessionDep, who: WebUser) -> Response:
    filters, messages = _filters(request, session)
    sort = request.query_params.get("sort") or "-created_at"
    if sort not in reads.SORT_CHOICES:
        messages.append("That sort order is not one this page offers.")
        sort = "-created_at"
    cursor = request.query_params.get("cursor") or None
    vocab = active_rulebook(session).ruleset
    context: dict[str, Any] = {
        "title": "Cases",
        "filters": filters,
        "sort": sort,
        "sorts": reads.SORT_CHOICES,
        "states": STATES,
        "hubs": reference.list_hubs(session),
        "themes": vocab.themes.values(),
        "capabilities": vocab.capabilities.values(),
        "messages": messages,
        "rows": [],
        "next_url": None,
        "first_url": None,
        "export_csv": None,
        "export_xlsx": None,
    }
    if messages:  # a search that cannot be run as asked shows no cases rather than the wrong ones
        return render(request, "cases.html", context, status=422)
    try:
        page = reads.search_cases(session, who=who, sort=sort, cursor=cursor, limit=PAGE, **filters)
    except InvalidInput:  # only a damaged page link gets here: every filter was checked above
        context["messages"] = ["That page link has expired or was altered: search again from the first page."]
        return render(request, "cases.html", context, status=422)
    shown = rows(page.items, utcnow())
    context.update(
        rows=shown,
        next_url=with_query("/cases", **_link(filters, sort=sort, cursor=page.next_cursor))
        if page.next_cursor
        else None,
        first_url=with_query("/cases", **_link(filters, sort=sort)) if cursor else None,
        # Every case of this search, not only this page, with the same filters and sort.
        export_csv=with_query("/cases/export.csv", **_link(filters, sort=sort)),
        export_xlsx=with_query("/cases/export.xlsx", **_link(filters, sort=sort)),
    )
    return render(
        request, "cases.html", context, marking=highest_marking([r.case.protective_marking for r in shown])
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
    marking = highest_marking([view.case.protective_marking, *context["records_markings"]])
    return render(request, "case.html", context, status=status, marking=marking)


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
    for name in ("rationale", "reason", "minutes"):
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
