"""The pathfinder evaluation page (story 9): the figures for a chosen period, with the same figures to
download as CSV (for the Full Business Case spreadsheet) or JSON. The figures count only the cases the
reader may see, and the page is for centre staff and admins. The report runs in a worker thread that
stops if the reader goes away or the server shuts down."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.report_render import download, figures_in_thread, render_html
from api.web import session as sessions
from api.web.core import WebRoute, WebUser, nav
from workflow.errors import FieldProblem, InvalidInput

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
# The report is a self-contained document with its own stylesheet inline; its one form is a plain GET.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"
)


@router.get("/reports/evaluation")
async def evaluation(
    request: Request,
    session: SessionDep,
    who: WebUser,
    start_text: Annotated[str, Query(alias="from")] = "",
    end_text: Annotated[str, Query(alias="to")] = "",
    format: Literal["html", "csv", "json"] = "html",
) -> Response:
    # Read by hand, so a mistyped day is named on the page rather than taken for a missing page.
    start, end = _day("from", start_text), _day("to", end_text)
    figures = await figures_in_thread(request, session, who, start, end)
    if format != "html":
        return download(figures, format, start, end)
    controls = {"from": start.isoformat() if start else "", "to": end.isoformat() if end else ""}
    # The site's own menu and sign-out, as on every other page (the report document has its own styles).
    token = getattr(request.state, "web_token", None)
    site = {"nav": nav(who), "username": who.username, "csrf": sessions.csrf_for(token) if token else ""}
    html = await anyio.to_thread.run_sync(lambda: render_html(figures, controls=controls, site=site))
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})


def _day(field: str, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput([FieldProblem(field, f"{text!r} is not a day like 2026-05-01")]) from None
