"""`sctac demo` (simulate a pathfinder into a fresh database) and `sctac report` (the evaluation figures).

Registered on the main app in api/cli.py:

    app.command("demo")(cli_demo.demo_command)
    app.command("report")(cli_demo.report_command)

The HTML report is rendered here from api/templates/report.html (autoescaped); its charts are SVG drawn
on the server, so the file is self-contained: no scripts, no CDN, fit to mail or archive.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from api.cli_support import fail
from workflow import reports, service
from workflow.db import make_engine
from workflow.errors import DomainError
from workflow.settings import get_settings
from workflow.simulation import PATHFINDER_START, DemoSummary, run_demo

TEMPLATES = Path(__file__).parent / "templates"
CSV_HEADER = ("section", "measure", "key1", "key2", "key3", "value")


def _engine(database: str | None) -> Engine:
    return make_engine(database or get_settings().database_url)


def demo_command(
    seed: Annotated[int, typer.Option(help="same seed, same event log")] = 2018,
    weeks: Annotated[int, typer.Option(min=1, max=104, help="simulated weeks")] = 26,
    requests: Annotated[int, typer.Option(min=0, max=200_000, help="requests over the whole run")] = 2000,
    start: Annotated[
        str, typer.Option(help="Monday the simulated clock starts (YYYY-MM-DD)")
    ] = PATHFINDER_START.isoformat(),
    database: Annotated[str | None, typer.Option(help="database URL (default: SCTAC_DATABASE_URL)")] = None,
) -> None:
    """Seed a fresh database with reference data and demo users, then simulate a pathfinder."""
    from workflow.migrate import upgrade

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise fail(f"--start: not a date: {start!r}") from None
    engine = _engine(database)
    try:
        upgrade(engine)
        with Session(engine) as session:
            existing = session.execute(select(func.count()).select_from(service.CASE)).scalar_one()
        if existing:
            raise fail(f"the database already holds {existing} cases: give a fresh one with --database")
        summary = run_demo(engine, seed=seed, weeks=weeks, requests=requests, progress=True, start=first)
    except DomainError as exc:
        raise fail(exc.detail) from None
    except (OperationalError, ProgrammingError) as exc:
        raise fail(f"database error: {str(exc.orig or exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    print_summary(summary)


def print_summary(summary: DemoSummary) -> None:
    """The run's figures and the demo logins (their passwords are shown here once and never again)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"simulated {summary.weeks} weeks from {summary.start:%Y-%m-%d} (seed {summary.seed}): "
        f"{summary.cases} requests, {summary.events} events, {summary.timers_fired} timers fired, "
        f"in {summary.seconds:.0f} s"
    )
    console.print("cases by state: " + ", ".join(f"{k} {v}" for k, v in summary.by_state.items()))
    console.print(
        "supervisors: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.escalations.items())
    )
    table = Table(title="Demo users (passwords shown once)")
    for column in ("username", "roles", "unit", "hub", "password"):
        table.add_column(column)
    for user in summary.users:
        table.add_row(
            user.username, ", ".join(user.roles), user.unit or "", user.hub or "", user.password or "-"
        )
    console.print(table)


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: not a date or time: {value!r} (e.g. 2019-05-01)") from None
    if len(value) == 10:  # a plain date means its midnight, UTC
        parsed = datetime.combine(parsed.date(), time(), tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def report_command(
    start: Annotated[str | None, typer.Option("--from", help="period start, inclusive (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="period end, exclusive (YYYY-MM-DD)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or html")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
    database: Annotated[str | None, typer.Option(help="database URL (default: SCTAC_DATABASE_URL)")] = None,
) -> None:
    """Write the pathfinder evaluation (demand, flow, compliance, MoRiLE, outcomes, workload)."""
    if fmt not in ("csv", "json", "html"):
        raise fail(f"--format: one of csv, json, html (not {fmt!r})")
    since, until = _moment(start, "--from"), _moment(end, "--to")
    if since and until and since >= until:
        raise fail("--from must be before --to")
    engine = _engine(database)
    try:
        with Session(engine) as session:
            figures = reports.evaluation(session, start=since, end=until)
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig or exc)
        if "no such table" in text or "does not exist" in text:
            raise fail("the database has no sctac tables yet: run `sctac db upgrade`") from None
        raise fail(f"database error: {text.splitlines()[0]}") from None
    finally:
        engine.dispose()
    rendered = render(figures, fmt)
    if output is None:
        typer.echo(rendered, nl=False)
    else:
        output.write_text(rendered, encoding="utf-8")
        typer.echo(f"wrote {output} ({figures['source']['events_read']} events read)", err=True)


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


def render_html(figures: Mapping[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["label"] = lambda s: str(s).replace("_", " ")
    demand = figures["demand"]
    charts = {
        "requests": bar_chart(demand["requests_per_week"], title="Requests per week"),
        "backlog": line_chart(demand["backlog_at_week_end"], title="Open cases at week end"),
        "bands": bar_chart(figures["morile"]["first_assessment_bands"], title="First assessment band"),
        "outcomes": bar_chart(figures["outcomes"]["closed_by_outcome"], title="Closed cases by outcome"),
    }
    return env.get_template("report.html").render(r=figures, charts=charts)


def _labels(keys: Sequence[str]) -> list[str]:
    # Week names are dates: show day and month only; thin them so they never overlap.
    short = [k[5:] if len(k) == 10 and k[4] == "-" else k for k in keys]
    step = max(1, len(short) // 13)
    return [s if i % step == 0 else "" for i, s in enumerate(short)]


def bar_chart(series: Mapping[str, int], *, title: str, width: int = 640, height: int = 220) -> Markup:
    """A bar chart as inline SVG; every label is escaped."""
    keys = list(series)
    peak = max([*series.values(), 1])
    left, bottom, top = 40, 40, 24
    inner_w, inner_h = width - left - 10, height - bottom - top
    slot = inner_w / max(len(keys), 1)
    parts = [_svg_open(width, height, title), _axis(left, top, inner_h, peak)]
    for i, (key, label) in enumerate(zip(keys, _labels(keys), strict=True)):
        value = series[key]
        h = inner_h * value / peak
        x = left + i * slot + slot * 0.15
        y = top + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(key)}: {value}</title></rect>"
        )
        if label:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 14}" class="tick" '
                f'text-anchor="middle">{escape(label.replace("_", " "))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(series: Mapping[str, int], *, title: str, width: int = 640, height: int = 220) -> Markup:
    keys = list(series)
    peak = max([*series.values(), 1])
    left, bottom, top = 40, 40, 24
    inner_w, inner_h = width - left - 10, height - bottom - top
    step = inner_w / max(len(keys) - 1, 1)
    points = " ".join(
        f"{left + i * step:.1f},{top + inner_h - inner_h * series[k] / peak:.1f}" for i, k in enumerate(keys)
    )
    parts = [_svg_open(width, height, title), _axis(left, top, inner_h, peak)]
    parts.append(f'<polyline points="{points}" class="line" fill="none"/>')
    for i, label in enumerate(_labels(keys)):
        if label:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 14}" class="tick" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
        f'<text x="4" y="14" class="chart-title">{escape(title)}</text>'
    )


def _axis(left: int, top: int, inner_h: float, peak: int) -> str:
    return (
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" class="axis"/>'
        f'<text x="{left - 4}" y="{top + 4}" class="tick" text-anchor="end">{peak}</text>'
        f'<text x="{left - 4}" y="{top + inner_h}" class="tick" text-anchor="end">0</text>'
    )
