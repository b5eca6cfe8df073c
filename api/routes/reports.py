"""The pathfinder evaluation (story 9) as data: JSON, or CSV for a spreadsheet. Every figure is computed
from the event log at request time, so it always matches the case histories."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import SessionDep, Who
from api.problems import problem_responses
from api.report_render import download, figures_for
from api.views import Json

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.get(
    "/evaluation",
    responses=problem_responses(401, 403, 422),
    summary="Demand, flow, compliance, MoRiLE, outcomes and workload for a period",
)
def evaluation(
    session: SessionDep,
    who: Who,
    start: Annotated[date | None, Query(alias="from", description="first day, inclusive")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, exclusive")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Response:
    figures = figures_for(session, who, start, end)
    return download(figures, "csv", start, end) if format == "csv" else Json(figures)
