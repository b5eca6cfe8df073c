"""`sctac forecast`: the FBC demand forecast and staffing (#16) from the command line.

Registered in api/cli.py; rendering is api/forecast_render.py's (shared with the page and the API). It
reads as the system operator, like `sctac report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from api.cli_support import fail, guarded
from api.forecast_render import render
from workflow import reports
from workflow.db import make_engine
from workflow.errors import InvalidInput
from workflow.reports import fbc
from workflow.reports.staffing import Assumptions
from workflow.settings import get_settings

# Option names for the input fields the outlook names in its refusals.
_OPTION = {
    "weeks": "--weeks",
    "target": "--target",
    "demand_growth": "--demand-growth",
    "new_theme": "--new-theme",
    "assessment_effort": "--assessment-effort",
    "productive_share": "--productive-share",
    "open_hours": "--open-hours",
    "current.analysts": "--analysts",
    "current.owners": "--owners",
}


@guarded
def forecast_command(
    weeks: Annotated[int, typer.Option(help="weeks to forecast (1-104)")] = 26,
    target: Annotated[
        list[str] | None,
        typer.Option(help="STAGE=PERCENT@HOURS, e.g. assess=90@24 or review=90@72 (repeatable)"),
    ] = None,
    demand_growth: Annotated[float, typer.Option(help="scenario: % added to every forecast week")] = 0.0,
    new_theme: Annotated[
        float, typer.Option(help="scenario: requests a week from a new priority theme")
    ] = 0.0,
    assessment_effort: Annotated[float, typer.Option(help="scenario: % change in assessment minutes")] = 0.0,
    analysts: Annotated[int, typer.Option(help="analysts now (FTE)")] = fbc.PATHFINDER["analysts"],
    owners: Annotated[int, typer.Option(help="case owners now (FTE)")] = fbc.PATHFINDER["owners"],
    productive_share: Annotated[float, typer.Option(help="share of an FTE's time on case work")] = 0.65,
    open_hours: Annotated[float, typer.Option(help="working hours a week")] = 45.0,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or html")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
    database: Annotated[str | None, typer.Option(help="database URL (default: SCTAC_DATABASE_URL)")] = None,
) -> None:
    """Requests per week for the coming weeks (overall, by theme, BCU and hub, with 80% and 95%
    intervals and the backtest's errors), the effort recorded, and the analysts and owners a target needs."""
    if fmt not in ("csv", "json", "html"):
        raise fail(f"--format: one of csv, json, html (not {fmt!r})")
    try:
        inputs = fbc.Inputs(
            horizon=weeks,
            targets=tuple(fbc.parse_target(t) for t in target) if target else fbc.DEFAULT_TARGETS,
            scenario=fbc.Scenario(demand_growth, new_theme, assessment_effort),
            assumptions=Assumptions(open_hours=open_hours, productive_share=productive_share),
            current={"analysts": analysts, "owners": owners},
        )
        engine = make_engine(database or get_settings().database_url)
        try:
            with Session(engine) as session:
                out = fbc.outlook(session, who=reports.OPERATOR, inputs=inputs)
        finally:
            engine.dispose()
    except InvalidInput as exc:
        raise fail("; ".join(f"{_OPTION.get(p.field, p.field)}: {p.message}" for p in exc.problems)) from None
    rendered = render(out, fmt)
    if output is None:
        typer.echo(rendered, nl=False)
    else:
        output.write_text(rendered, encoding="utf-8")
        typer.echo(f"wrote {output} ({out['history']['weeks']} weeks of history)", err=True)
