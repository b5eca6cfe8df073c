"""The case list out of the screen (issue 13): the search as it stands on /cases, with the same filters
and sort, as a spreadsheet or CSV. Every row is a case the reader may see (the same read as the page,
which logs each case as read), and every cell is neutralised (api/exports.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api import exports
from api.deps import SessionDep
from api.web.cases import filters_of
from api.web.core import WebRoute, WebUser
from workflow import reads
from workflow.db import utcnow
from workflow.errors import FieldProblem, InvalidInput
from workflow.models import Case

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
BATCH = 500
MOST = 20_000  # an export holds at most this many cases; past it the last row says so
HEADERS = (
    "Reference",
    "Title",
    "State",
    "Band",
    "Risk",
    "Hub",
    "Team",
    "Owner",
    "Requesting unit",
    "Themes",
    "Capabilities",
    "Target type",
    "Target",
    "Marking",
    "Submitted",
    "SLA due",
    "Last changed",
)


def _row(c: Case) -> list[Any]:
    return [
        c.reference,
        c.title,
        c.state,
        c.band,
        c.risk,
        c.hub,
        c.team,
        c.owner,
        c.requesting_unit,
        c.themes,
        c.capabilities,
        c.target_type,
        c.target_name,
        c.protective_marking,
        c.created_at,
        c.sla_due_at,
        c.updated_at,
    ]


def _rows(request: Request, session: SessionDep, who: WebUser) -> list[list[Any]]:
    filters, messages = filters_of(request, session)
    if messages:
        raise InvalidInput([FieldProblem("filters", m) for m in messages])
    sort = request.query_params.get("sort") or "-created_at"
    out: list[list[Any]] = []
    cursor = None
    while len(out) < MOST:
        page = reads.search_cases(session, who=who, sort=sort, cursor=cursor, limit=BATCH, **filters)
        out.extend(_row(c) for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return out
    out.append([f"More cases match than the {MOST:,} an export holds: narrow the search and export again."])
    return out


@router.get("/cases/export.csv")
def cases_csv(request: Request, session: SessionDep, who: WebUser) -> Response:
    body = exports.csv_bytes(HEADERS, _rows(request, session, who))
    return Response(
        body, media_type=exports.CSV_TYPE, headers=exports.attachment(f"cases-{utcnow():%Y-%m-%d}.csv")
    )


@router.get("/cases/export.xlsx")
def cases_xlsx(request: Request, session: SessionDep, who: WebUser) -> Response:
    body = exports.xlsx_bytes([("Cases", HEADERS, _rows(request, session, who))])
    name = f"cases-{utcnow():%Y-%m-%d}.xlsx"
    return Response(body, media_type=exports.XLSX_TYPE, headers=exports.attachment(name))
