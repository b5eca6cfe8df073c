"""The case page's notes and attachments: add a note, attach a document, download one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from api import disclosure_render
from api.deps import SessionDep, WriteSession
from api.downloads import attachment_response
from api.web.cases import CaseId, _after_change, _case_page
from api.web.core import PostedForm, WebRoute, WebUser, highest_marking, render, text
from workflow import disclosure, records
from workflow.errors import Conflict, FieldProblem, GuardFailed, InvalidInput
from workflow.reads.records import attachment_file, search_records

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


def _refused(request: Request, session: Any, who: Any, case_id: int, exc: Exception, what: str) -> Response:
    status = getattr(exc, "status", 422)
    banner = {
        "kind": "conflict" if isinstance(exc, Conflict) else "error",
        "detail": f"{what}: {exc}. Nothing was saved.",
    }
    return _case_page(request, session, who, case_id, status=status, banner=banner)


@router.post("/cases/{case_id}/notes")
def add_note(
    request: Request, session: WriteSession, who: WebUser, form: PostedForm, case_id: CaseId
) -> Response:
    try:
        records.add_note(
            session,
            case_id=case_id,
            by=who,
            text=text(form, "note", 9000),
            marking=text(form, "note_marking", 32) or None,
        )
    except (InvalidInput, GuardFailed, Conflict) as exc:
        return _refused(request, session, who, case_id, exc, "The note was not added")
    return _after_change(session, who, case_id, "note", "")


@router.post("/cases/{case_id}/attachments")
def attach(
    request: Request, session: WriteSession, who: WebUser, form: PostedForm, case_id: CaseId
) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput([FieldProblem("file", "choose a file to attach")])
        records.attach(
            session,
            case_id=case_id,
            by=who,
            stream=upload.file,
            name=upload.filename,
            declared_type=upload.content_type,
            marking=text(form, "marking", 32) or None,
        )
    except (InvalidInput, GuardFailed, Conflict) as exc:
        return _refused(request, session, who, case_id, exc, "The document was not attached")
    return _after_change(session, who, case_id, "attach", "")


@router.get("/records/search")
def search(request: Request, session: SessionDep, who: WebUser, q: str = "") -> Response:
    q = q.strip()[:200]
    found: list[Any] = []
    error = ""
    if q:
        try:
            found = list(search_records(session, who=who, q=q))
        except InvalidInput as exc:
            error = exc.detail
    markings = [f.record.marking for f in found]
    context = {"title": "Search notes and documents", "q": q, "found": found, "error": error}
    return render(request, "records_search.html", context, marking=highest_marking(markings))


@router.get("/dpo/subjects")
def subjects_page(request: Request, session: SessionDep, who: WebUser, name: str = "") -> Response:
    name = name.strip()[:200]
    items: list[Any] = []
    error = ""
    if name:
        try:
            items = disclosure.search(session, by=who, name=name)
        except InvalidInput as exc:
            error = exc.detail
    else:
        disclosure.require_dpo(session, who, "subject:page")
    context = {"title": "Subject access", "name": name, "items": items, "error": error}
    return render(request, "dpo_subjects.html", context, marking=highest_marking([i.marking for i in items]))


@router.get("/dpo/subjects/export")
def subjects_export(session: SessionDep, who: WebUser, name: str = "", format: str = "json") -> Response:
    fmt = "pdf" if format == "pdf" else "json"
    bundle = disclosure.bundle(session, by=who, name=name, fmt=fmt)
    return disclosure_render.response(bundle, fmt)


@router.get("/cases/{case_id}/attachments/{sha256}")
def download(session: SessionDep, who: WebUser, case_id: CaseId, sha256: Digest) -> Response:
    return attachment_response(attachment_file(session, who=who, case_id=case_id, sha256=sha256))
