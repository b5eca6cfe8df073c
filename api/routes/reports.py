"""The pathfinder evaluation (story 9) as data: JSON, or CSV for a spreadsheet. Every figure is computed
from the event log at request time, so it always matches the case histories, and counts only the cases
the reader may see. The report runs in a worker thread that stops if the client goes away or the server
shuts down (api/report_render.py)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator

from api.deps import SessionDep, Who
from api.forecast_render import download as forecast_download
from api.forecast_render import inputs_from
from api.problems import problem_responses
from api.report_render import download, figures_in_thread
from api.views import Json
from workflow.reports import fbc

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: object) -> object:
    """Only a day written as 2026-05-01 is a day here (pydantic alone would take "0" as 1970-01-01)."""
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise ValueError("not a day like 2026-05-01")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get(
    "/evaluation",
    responses={
        200: {
            "description": "the figures as JSON, or as CSV with format=csv",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 422, 503),
    },
    summary="Demand, flow, compliance, MoRiLE, outcomes and workload for a period",
    description=(
        "Counts only the cases the caller may see (need-to-know and protective marking); for centre staff "
        "and admins. A period covers at most 262 weeks (5 years); an open end stands for the log's first "
        "or last event. A longer period is a 422 naming `from` or `to`."
    ),
)
async def evaluation(
    request: Request,
    session: SessionDep,
    who: Who,
    start: Annotated[Day | None, Query(alias="from", description="first day, inclusive")] = None,
    end: Annotated[Day | None, Query(alias="to", description="last day, exclusive")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Response:
    figures = await figures_in_thread(request, session, who, start, end)
    return download(figures, "csv", start, end) if format == "csv" else Json(figures)


@router.get(
    "/forecast",
    responses={
        200: {
            "description": "the forecast as JSON, or as CSV with format=csv",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 409, 422),
    },
    summary="Demand forecast, recorded effort and the staff a service level needs (the Full Business Case)",
    description=(
        "Requests per week for the next `weeks` weeks, overall and by theme, BCU and hub, with 80% and 95% "
        "intervals and each model's backtest error beside a naive baseline; the minutes recorded per stage "
        "and band; the analysts and owners each target needs (Erlang C), against the current staff. For "
        "centre staff and admins. Under 8 weeks of history is a 422 (too-little-history); a target no "
        "staffing can meet (e.g. assess=100@0) is a 422 naming `target`."
    ),
)
async def forecast(
    request: Request,
    session: SessionDep,
    who: Who,
    weeks: Annotated[str | None, Query(description="weeks to forecast, 1-104 (default 26)")] = None,
    target: Annotated[list[str], Query(description="STAGE=PERCENT@HOURS, e.g. assess=90@24")] = [],  # noqa: B006
    demand_growth: Annotated[str | None, Query(description="scenario: % added to demand")] = None,
    new_theme: Annotated[str | None, Query(description="scenario: requests a week, new theme")] = None,
    assessment_effort: Annotated[
        str | None, Query(description="scenario: % change in assessment minutes")
    ] = None,
    analysts: Annotated[str | None, Query(description="analysts now (FTE, default 2)")] = None,
    owners: Annotated[str | None, Query(description="owners now (FTE, default 10)")] = None,
    productive_share: Annotated[str | None, Query(description="share of time on case work (0.65)")] = None,
    open_hours: Annotated[str | None, Query(description="working hours a week (45)")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Response:
    inputs = inputs_from(request.query_params, target)
    out = await anyio.to_thread.run_sync(lambda: fbc.outlook(session, who=who, inputs=inputs))
    return forecast_download(out, "csv") if format == "csv" else Json(out)
