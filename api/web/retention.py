"""Records pages: the retention review queue (records officer) and the bulk import (admins).

The queue lists ended cases due for review; each links to its case page, where the `retain` and
`dispose` forms appear (derived from their trigger definitions). The import page takes a sheet and an
optional column mapping, checks it (dry run) or imports it, and lists every problem as
`file:sheet:row:column: message`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, WriteSession
from api.web.core import PostedForm, WebRoute, WebUser, needs, render, text, uploads
from workflow import importing
from workflow.errors import ImportRejected
from workflow.reads import retention as reads

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
MAX_BYTES = 50_000_000  # a 50,000-row workbook is a few MB
SUFFIXES = (".csv", ".xlsx")


@router.get("/records/retention")
def retention_page(request: Request, session: SessionDep, who: WebUser, coming: str = "") -> Response:
    needs(who, "records_officer", "admin")
    rows = reads.retention_queue(session, by=who, due_only=not coming)
    decisions = reads.recent_decisions(session, by=who, limit=20)
    context = {"title": "Retention review", "rows": rows, "decisions": decisions, "coming": bool(coming)}
    return render(request, "retention.html", context, marking=_marking(rows))


def _marking(rows: list[dict[str, Any]]) -> str:
    from api.web.core import highest_marking

    return highest_marking([r["protective_marking"] for r in rows])


@router.get("/admin/import")
def import_page(request: Request, who: WebUser) -> Response:
    needs(who, "admin")
    return render(request, "import.html", {"title": "Import legacy requests", "problems": [], "result": None})


@router.post("/admin/import")
def import_action(request: Request, session: WriteSession, who: WebUser, form: PostedForm) -> Response:
    needs(who, "admin")
    dry_run = text(form, "action", 16) != "import"
    skip = text(form, "skip_bad_rows", 8) == "on"
    sheets = uploads(form, "file")
    context: dict[str, Any] = {"title": "Import legacy requests", "problems": [], "result": None}
    if not sheets:
        return render(
            request, "import.html", {**context, "problems": ["file: choose a .csv or .xlsx file"]}, status=422
        )
    sheet = sheets[0]
    name = Path(sheet.filename or "").name
    if Path(name).suffix.lower() not in SUFFIXES:
        problem = f"file: {name!r} is not a .csv or .xlsx file"
        return render(request, "import.html", {**context, "problems": [problem]}, status=422)
    with tempfile.TemporaryDirectory(prefix="sctac-import-") as folder:
        root = Path(folder)
        path = root / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(sheet.file.read(MAX_BYTES))
        try:
            mapping = None
            for up in uploads(form, "mapping")[:1]:
                (root / "mapping.yaml").write_bytes(up.file.read(1_000_000))
                mapping = importing.load_mapping(root / "mapping.yaml")
            result = importing.import_file(
                session, path=path, by=who, mapping=mapping, dry_run=dry_run, skip_bad_rows=skip, name=name
            )
        except ImportRejected as exc:
            lines = [line.replace(str(root / "mapping.yaml"), "mapping") for line in exc.lines]
            return render(request, "import.html", {**context, "problems": lines}, status=422)
    return render(request, "import.html", {**context, "result": result})
