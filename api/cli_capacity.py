"""`sctac capacity`: hub capacity per capability from the command line (issue 13).

`load FILE` applies a capacity file (rules/capacity_file.py); a file with errors prints each as
`file:line:col: field: message` and changes nothing. `show` prints each hub's capacity against its load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import AS_HELP, acting_as, cli_session, fail, guarded
from workflow import capacity, hub_resources
from workflow.errors import CapacityFileInvalid

capacity_app = typer.Typer(no_args_is_help=True, help="Hub capacity per capability.")


@capacity_app.command("load")
@guarded
def capacity_load(
    path: Annotated[Path, typer.Argument(help="a capacity file (YAML: capacity: {HUB: {capability: n}})")],
    as_user: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
) -> None:
    """Set the capacities a file gives (each change kept in the history, with the file's reason)."""
    with cli_session() as session:
        try:
            changed = hub_resources.load_capacity_file(session, path=path, by=acting_as(session, as_user))
        except CapacityFileInvalid as exc:
            for line in exc.lines:
                typer.echo(line, err=True)
            raise fail(f"{len(exc.lines)} error(s) in the capacity file; nothing was changed") from None
    for c in changed:
        typer.echo(f"{c['hub']}\t{c['capability']}\t{c['capacity']}")
    typer.echo(f"{len(changed)} capacity figure(s) changed")


@capacity_app.command("show")
@guarded
def capacity_show() -> None:
    """Each sized hub's capacity, load and free places per capability."""
    with cli_session() as session:
        for hub, rooms in capacity.rooms(session).items():
            for r in rooms:
                typer.echo(f"{hub}\t{r.capability}\t{r.load}/{r.capacity}\tfree {r.free}")


def register(app: typer.Typer) -> None:
    app.add_typer(capacity_app, name="capacity")
