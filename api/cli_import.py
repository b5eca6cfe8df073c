"""`sctac import FILE.csv|FILE.xlsx`: legacy requests from the pathfinder's spreadsheets, as cases.

Registered with one line in api/cli.py. The work is workflow/importing.py's; this prints its problems
(`file:sheet:row:column: message`, one a line), a progress bar while it reads and writes, and a summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli_support import AS_HELP, acting_as, cli_session, fail, guarded
from workflow import importing
from workflow.errors import ImportRejected


@guarded
def import_command(
    file: Annotated[Path, typer.Argument(help="the spreadsheet: .csv, or .xlsx (its first sheet)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check every row and say what would come in")
    ] = False,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="import the clean rows and list the others")
    ] = False,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="column-mapping YAML (the sheet's own headings)")
    ] = None,
    as_user: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
) -> None:
    """Import legacy requests with their original dates, states, MoRiLE scores and owners; nothing is
    written unless every row is clean (or --skip-bad-rows); re-importing a file adds nothing twice."""
    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        columns = importing.load_mapping(mapping) if mapping is not None else None
    except ImportRejected as exc:
        _print_lines(exc.lines)
        raise fail(f"{len(exc.lines)} error(s) in the mapping {mapping}") from None
    with cli_session() as session, _bar() as bar:
        by = acting_as(session, as_user)
        task = bar.add_task("checking and importing", total=None)
        try:
            result = importing.import_file(
                session,
                path=file,
                by=by,
                mapping=columns,
                dry_run=dry_run,
                skip_bad_rows=skip_bad_rows,
                progress=lambda n: bar.advance(task, n),
            )
        except ImportRejected as exc:
            bar.stop()
            _print_lines(exc.lines)
            raise fail(f"{file.name}: {len(exc.lines)} problem(s); nothing imported") from None
    for problem in result.skipped:
        typer.echo(f"skipped {problem}", err=True)
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{result.file}:{result.sheet}: {result.rows} rows; {verb} {result.imported}"
        + ("" if dry_run else f" ({result.events} events)")
        + f"; {result.already} already imported; {len(result.skipped)} problem(s) skipped"
    )


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line, err=True)


def _bar() -> Progress:
    # On stderr, so the summary on stdout stays machine-readable; drawn only on a terminal.
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=console,
        disable=not console.is_terminal,
    )
