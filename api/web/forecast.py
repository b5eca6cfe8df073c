"""The FBC forecast page (#16): demand for the coming weeks, the effort recorded, the staff a target
needs, with the scenario inputs on the page and the same figures as CSV or JSON. For the same readers as
the evaluation (centre staff and admins); under 8 weeks of log it says so and draws nothing."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.forecast_render import controls_of, download, inputs_from, render_html
from api.web import session as sessions
from api.web.core import WebRoute, WebUser, nav
from api.web.evaluation import CSP
from workflow.reports import fbc

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/reports/forecast")
async def forecast(
    request: Request,
    session: SessionDep,
    who: WebUser,
    target: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies the default)
    format: Literal["html", "csv", "json"] = "html",
) -> Response:
    # Numbers are read by hand from the query, so a mistyped one is named on the page.
    inputs = inputs_from(request.query_params, target)
    out = await anyio.to_thread.run_sync(lambda: fbc.outlook(session, who=who, inputs=inputs))
    if format != "html":
        return download(out, format)
    token = getattr(request.state, "web_token", None)
    site = {"nav": nav(who), "username": who.username, "csrf": sessions.csrf_for(token) if token else ""}
    html = await anyio.to_thread.run_sync(lambda: render_html(out, controls=controls_of(inputs), site=site))
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})
