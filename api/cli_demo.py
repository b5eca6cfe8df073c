"""`sctac demo` (simulate a pathfinder into a fresh database) and `sctac report` (the evaluation figures).

Registered on the main app in api/cli.py:

    app.command("demo")(cli_demo.demo_command)
    app.command("report")(cli_demo.report_command)

Rendering (JSON, CSV, self-contained HTML with server-drawn SVG) lives in api/report_render.py, shared
with the report page and the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from api.cli_support import fail
from api.report_render import render
from demo.simulation import PATHFINDER_START, DemoSummary, run_demo
from workflow import queries, reports
from workflow.db import make_engine
from workflow.errors import DomainError, InvalidInput
from workflow.settings import get_settings

TEMPLATES = Path(__file__).parent / "templates"


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
    if first >= date.today():
        raise fail(f"--start: the simulation ends at now, so it must start before today (not {first})")
    engine = _engine(database)
    try:
        upgrade(engine)
        with Session(engine) as session:
            existing = queries.count_cases(session)
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
    """Write the pathfinder evaluation (demand, flow, compliance, MoRiLE, outcomes, workload).

    Counts every case: the command line reads the database as the system operator. A period covers at
    most 262 weeks (5 years).
    """
    if fmt not in ("csv", "json", "html"):
        raise fail(f"--format: one of csv, json, html (not {fmt!r})")
    since, until = _moment(start, "--from"), _moment(end, "--to")
    if since and until and since >= until:
        raise fail("--from must be before --to")
    engine = _engine(database)
    try:
        with Session(engine) as session:
            figures = reports.evaluation(session, who=reports.OPERATOR, start=since, end=until)
    except InvalidInput as exc:
        # The report names its fields as the API does (`from`, `to`): here they are options.
        problem = exc.problems[0]
        message = problem.message.replace("`from`", "--from").replace("`to`", "--to")
        raise fail(f"--{problem.field}: {message}") from None
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
