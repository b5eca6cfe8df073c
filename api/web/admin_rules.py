"""Rules for admins (story 8): the active version, a candidate edited or uploaded here, the checker's
errors with file and line, the preview of its effect on the open caseload, then publish and apply."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, WriteSession
from api.web.core import PostedForm, WebRoute, WebUser, needs, render, text, uploads
from workflow import rulesets
from workflow.errors import RulesInvalid
from workflow.settings import get_settings

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
FILE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}\.ya?ml$")
MAX_FILES = 20
MAX_TEXT = 500_000


@dataclass(frozen=True)
class Problem:
    kind: str  # error | warning
    file: str
    line: int
    column: int
    field: str
    message: str


def current_files(session: Session) -> tuple[str, dict[str, str]]:
    """The active version and its rule files' text (published, else the configured files)."""
    version = rulesets.active_version(session)
    if version is not None:
        return version, dict(rulesets.published(session, version=version).files)
    book = rulesets.active_rulebook(session)
    return book.version, rulesets.rule_files(get_settings().rules_path)


def _page(request: Request, session: Session, **context: Any) -> Response:
    version, files = current_files(session)
    history = rulesets.recent_versions(session, limit=20)
    status = context.pop("status", 200)
    full = {
        "title": "Rules",
        "version": version,
        "files": context.pop("files", None) or files,
        "history": history,
        "problems": [],
        "file_errors": {},
        "preview": None,
        "checked": False,
        "published": None,
        "note": "",
        **context,
    }
    return render(request, "rules.html", full, status=status)


@router.get("/admin/rules")
def rules_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    needs(who, "admin")
    return _page(request, session)


@router.post("/admin/rules")
def rules_action(request: Request, session: WriteSession, who: WebUser, form: PostedForm) -> Response:
    needs(who, "admin")
    action = text(form, "action", 16)
    note = text(form, "note", 2000)
    files: dict[str, str] = {}
    file_errors: dict[str, str] = {}
    names = form.getlist("name")
    bodies = form.getlist("text")
    for name, body in zip(names, bodies, strict=False):
        if isinstance(name, str) and isinstance(body, str) and name.strip():
            files[name.strip()] = body.replace("\r\n", "\n")
    for upload in uploads(form, "upload")[:MAX_FILES]:
        # An uploaded file replaces the text area of the same name, or adds a file.
        raw = upload.file.read(MAX_TEXT + 1)
        name = Path(upload.filename or "").name
        try:
            files[name] = raw.decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError:
            file_errors[name] = "not UTF-8 text"
    for name, body in files.items():
        if not FILE_NAME.match(name):
            file_errors[name] = "file names are letters, digits, . _ - and end in .yaml or .yml"
        elif len(body) > MAX_TEXT:
            file_errors[name] = f"longer than {MAX_TEXT:,} characters"
    if len(files) > MAX_FILES:
        file_errors["(all)"] = f"at most {MAX_FILES} files"
    if not files:
        file_errors["(all)"] = "give at least one rule file"
    if file_errors:
        return _page(request, session, files=files, file_errors=file_errors, status=422, note=note)
    with tempfile.TemporaryDirectory(prefix="sctac-candidate-") as folder:
        root = Path(folder)
        for name, body in files.items():
            (root / name).write_text(body, encoding="utf-8")
        result = rulesets.check(root)
        prefix = str(root) + "/"
        problems = [
            Problem(kind, str(e.file).removeprefix(prefix), e.line, e.column, e.field, e.message)
            for kind, found in (("error", result.errors), ("warning", result.warnings))
            for e in found
        ]
        if not result.ok:
            return _page(
                request, session, files=files, problems=problems, checked=True, status=422, note=note
            )
        preview = rulesets.preview(session, path=root)
        if action != "publish":
            return _page(
                request, session, files=files, problems=problems, checked=True, preview=preview, note=note
            )
        try:
            published, applied = rulesets.publish_and_apply(
                session, path=root, actor=who.username, note=note or None
            )
        except RulesInvalid as exc:  # the files changed under us between check and publish: say so
            problems = [Problem("error", "", 0, 0, "", line) for line in exc.lines]
            return _page(request, session, files=files, problems=problems, checked=True, status=422)
    return _page(
        request,
        session,
        published={
            "version": published.version,
            "changed": applied.changed,
            "conflicts": applied.conflicts,
            "errors": applied.errors,
        },
    )
