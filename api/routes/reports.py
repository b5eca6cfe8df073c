"""The pathfinder evaluation (story 9) as data: JSON, or CSV for a spreadsheet. Every figure is computed
from the event log at request time, so it always matches the case histories."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import SessionDep, Who
from api.problems import problem_responses
from api.report_render import filename, period, render_csv
from api.views import Json
from workflow import reports
from workflow.access import Forbidden

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
    if not who.sees_everything:
        raise Forbidden("the evaluation covers every case: it is for centre staff and admins")
    first, last = period(start, end)
    figures = reports.evaluation(session, start=first, end=last)
    if format == "csv":
        name = filename(start, end, "csv")
        return Response(
            render_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Json(figures)
