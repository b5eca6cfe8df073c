"""The pathfinder evaluation (story 9) as data: JSON, or CSV for a spreadsheet. Every figure is computed
from the event log at request time, so it always matches the case histories, and counts only the cases
the reader may see. The report runs in a worker thread that stops if the client goes away or the server
shuts down (api/report_render.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, Who
from api.problems import problem_responses
from api.report_render import download, figures_in_thread
from api.views import Json

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get(
    "/evaluation",
    responses=problem_responses(401, 403, 422, 503),
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
    start: Annotated[date | None, Query(alias="from", description="first day, inclusive")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, exclusive")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Response:
    figures = await figures_in_thread(request, session, who, start, end)
    return download(figures, "csv", start, end) if format == "csv" else Json(figures)
