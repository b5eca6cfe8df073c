"""The pathfinder evaluation rendered for people: JSON, CSV for a spreadsheet, or an HTML page with
server-drawn SVG charts (no script, no CDN). Shared by `sctac report`, the report page and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from api.charts import series_chart
from workflow import reports
from workflow.access import Forbidden, Principal
from workflow.errors import FieldProblem, InvalidInput

TEMPLATES = Path(__file__).parent / "templates"
CSV_HEADER = ("section", "measure", "key1", "key2", "key3", "value")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def figures_for(session: Session, who: Principal, start: date | None, end: date | None) -> dict[str, Any]:
    """The evaluation for days [start, end), for someone who may see every case (it counts them all)."""
    if not who.sees_everything:
        raise Forbidden("the evaluation covers every case: it is for centre staff and admins")
    if start and end and start >= end:
        raise InvalidInput([FieldProblem("from", "must be before `to`")])
    return reports.evaluation(session, start=_midnight(start), end=_midnight(end))


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def download(figures: Mapping[str, Any], fmt: str, start: date | None, end: date | None) -> Response:
    """The figures as a file to save (CSV or JSON), named for the period."""
    name = f"sctac-evaluation-{start or 'start'}-{end or 'now'}.{fmt}"
    return Response(
        render(figures, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def render(figures: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(figures, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(figures)
    return render_html(figures)


def render_csv(figures: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(reports.flatten(dict(figures)))
    return buffer.getvalue()


# --- HTML ------------------------------------------------------------------------------------------------


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters["label"] = lambda s: str(s).replace("_", " ")


def render_html(figures: Mapping[str, Any], *, controls: Mapping[str, Any] | None = None) -> str:
    """The report as one self-contained page. `controls` (the web page's period form and download
    links: their `from` and `to` days) are left out of the file `sctac report` writes."""
    demand = figures["demand"]
    charts = {
        "requests": series_chart("Requests per week", demand["requests_per_week"]),
        "backlog": series_chart("Open cases at week end", demand["backlog_at_week_end"], kind="line"),
        "bands": series_chart("First assessment band", figures["morile"]["first_assessment_bands"]),
        "outcomes": series_chart("Closed cases by outcome", figures["outcomes"]["closed_by_outcome"]),
    }
    return _env.get_template("report.html").render(r=figures, charts=charts, controls=controls)
