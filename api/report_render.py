"""The pathfinder evaluation rendered for people: JSON, CSV for a spreadsheet, or an HTML page with
server-drawn SVG charts (no script, no CDN). Shared by `sctac report`, the report page and the API.

A report over a long log is seconds of CPU, so the API and the page run it in a worker thread
(`figures_in_thread`) that stops when the reader disconnects, when the server shuts down (the waiting
request is cancelled: uvicorn does that at its graceful-shutdown timeout) or at `DEADLINE_SECONDS`.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from api.charts import series_chart
from workflow import reports
from workflow.access import Principal

T = TypeVar("T")
# Seconds a report may run for a request; a million events take about 5 s. Longer is not a page's job.
DEADLINE_SECONDS = 120.0
# How often the watcher asks the server whether the client is still there.
DISCONNECT_POLL_SECONDS = 0.2
# At most this long a cancelled request waits for its report to stop (one fetch of rows is far less).
STOP_WAIT_SECONDS = 5.0
TEMPLATES = Path(__file__).parent / "templates"
CSV_HEADER = ("section", "measure", "key1", "key2", "key3", "value")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def figures_for(
    session: Session,
    who: Principal,
    start: date | None,
    end: date | None,
    *,
    cancel: reports.Cancel | None = None,
) -> dict[str, Any]:
    """The evaluation for days [start, end), counting the cases `who` may see (centre staff only)."""
    return reports.evaluation(session, who=who, start=_midnight(start), end=_midnight(end), cancel=cancel)


async def figures_in_thread(
    request: Request, session: Session, who: Principal, start: date | None, end: date | None
) -> dict[str, Any]:
    """`figures_for` in a worker thread, stopped (ReportCancelled) when the client goes away, when this
    request is cancelled (server shutdown) or after DEADLINE_SECONDS."""
    cancel = reports.Cancel(deadline_seconds=DEADLINE_SECONDS)
    return await run_cancellable(
        request, cancel, lambda: figures_for(session, who, start, end, cancel=cancel)
    )


async def run_cancellable(request: Request, cancel: reports.Cancel, work: Callable[[], T]) -> T:
    """Run `work` (which checks `cancel`) in a worker thread while watching for the client to go away.

    If this coroutine is cancelled (the server shutting down cancels its requests), `cancel` is set and
    the thread is waited for (up to STOP_WAIT_SECONDS): it stops at its next check, so no report
    outlives its request.
    """

    async def watch() -> None:
        try:
            while not await request.is_disconnected():
                await anyio.sleep(DISCONNECT_POLL_SECONDS)
            cancel.set("the client disconnected before the report was ready")
        finally:
            # Cancelled: the work is done (nothing to stop) or the request itself is being cancelled.
            cancel.set("the server stopped the report (shutting down)")

    done = threading.Event()

    def run() -> T:
        try:
            return work()
        finally:
            done.set()

    results: list[T] = []
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            results.append(await anyio.to_thread.run_sync(run))
        except Exception as exc:  # raised below, outside the group (which would wrap it in a group)
            failure = exc
        except BaseException:
            # Cancelled (uvicorn cancels running requests at shutdown; a native cancel goes through
            # anyio's shield): stop the thread and wait the moment it takes to reach its next check,
            # so the request's database session is never closed under a report still reading.
            cancel.set("the server stopped the report (shutting down)")
            done.wait(STOP_WAIT_SECONDS)
            raise
        finally:
            group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return results[0]


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
# The same environment (filters, autoescape) renders the forecast page (api/forecast_render.py).
ENV = _env


def render_html(
    figures: Mapping[str, Any],
    *,
    controls: Mapping[str, Any] | None = None,
    site: Mapping[str, Any] | None = None,
) -> str:
    """The report as one self-contained page. `controls` (the web page's period form and download
    links: their `from` and `to` days) and `site` (the site's menu, the reader's name and the sign-out
    form's token) are left out of the file `sctac report` writes."""
    demand = figures["demand"]
    charts = {
        "requests": series_chart("Requests per week", demand["requests_per_week"]),
        "backlog": series_chart("Open cases at week end", demand["backlog_at_week_end"], kind="line"),
        "bands": series_chart("First assessment band", figures["morile"]["first_assessment_bands"]),
        "outcomes": series_chart("Closed cases by outcome", figures["outcomes"]["closed_by_outcome"]),
    }
    return _env.get_template("report.html").render(r=figures, charts=charts, controls=controls, site=site)
