"""The Control Strategy for admins (issue 13): the one in force, a candidate edited here, the checker's
errors at their line and column, the preview ("would move 12 cases up the tasking list, 3 down", naming
each case and its hub), then publish. Like the rules page (api/web/admin_rules.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep, WriteSession
from api.web.core import PostedForm, WebRoute, WebUser, needs, render, text
from workflow import strategies
from workflow import strategy_preview as sp
from workflow.errors import StrategyInvalid

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
MAX_TEXT = 200_000
FILE = "strategy.yaml"
SHOWN_MOVES = 200


def _page(request: Request, session: Session, **context: Any) -> Response:
    version, body = strategies.active_text(session)
    status = context.pop("status", 200)
    full = {
        "title": "Control Strategy",
        "version": version,
        "active": strategies.active_strategy(session),
        "body": context.pop("body", None) or body,
        "history": strategies.recent_versions(session),
        "errors": [],
        "preview": None,
        "published": None,
        "note": "",
        "shown_moves": SHOWN_MOVES,
        **context,
    }
    return render(request, "strategy.html", full, status=status)


@router.get("/admin/strategy")
def strategy_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    needs(who, "admin")
    return _page(request, session)


@router.post("/admin/strategy")
def strategy_action(request: Request, session: WriteSession, who: WebUser, form: PostedForm) -> Response:
    needs(who, "admin")
    action = text(form, "action", 16)
    note = text(form, "note", 2000)
    raw = form.get("text")
    body = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
    if not body.strip() or len(body) > MAX_TEXT:
        why = "give the strategy file's text" if not body.strip() else f"longer than {MAX_TEXT:,} characters"
        return _page(request, session, body=body, errors=[f"{FILE}: {why}"], status=422, note=note)
    with tempfile.TemporaryDirectory(prefix="sctac-strategy-") as folder:
        path = Path(folder) / FILE
        path.write_text(body, encoding="utf-8")
        prefix = folder + "/"
        try:
            preview = sp.preview(session, path=path)
            if action != "publish":
                return _page(request, session, body=body, preview=preview, note=note)
            done = strategies.publish(session, path=path, actor=who.username, note=note or None)
        except StrategyInvalid as exc:
            errors = [line.removeprefix(prefix) for line in exc.lines]
            return _page(request, session, body=body, errors=errors, status=422, note=note)
    return _page(request, session, published=done, preview=preview)
