"""`sctac strategy check|preview|publish|show`: the Control Strategy from the command line, as the rules
are (`sctac rules ...`). Registered as the `strategy` group in api/cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_support import cli_session, fail, guarded

strategy_app = typer.Typer(no_args_is_help=True, help="Check, preview and publish the Control Strategy.")
PathArg = Annotated[Path, typer.Argument(help="the strategy file (e.g. rules/default/strategy.yaml)")]


def _file(path: Path) -> Path:
    if not path.is_file():
        raise fail(f"{path}: no such file")
    return path


@strategy_app.command("check")
@guarded
def strategy_check(path: PathArg) -> None:
    """Validate a strategy file against the active rules: every error as file:line:col: field: message."""
    from workflow import strategies

    with cli_session() as session:
        result = strategies.check(session, path=_file(path))
    for error in result.errors:
        typer.echo(str(error), err=True)
    if result.strategy is None:
        raise fail(f"{len(result.errors)} error(s) in {path}")
    s = result.strategy
    typer.echo(
        f"ok: {path} is strategy {s.version} ({len(s.priorities)} priorities, "
        f"{len(s.requirements)} intelligence requirements, "
        f"{len(s.local_priorities)} BCUs with local priorities)"
    )


@strategy_app.command("preview")
@guarded
def strategy_preview(
    path: PathArg, limit: Annotated[int, typer.Option(help="list at most this many moves")] = 50
) -> None:
    """Show how the candidate strategy would reorder the tasking list (nothing is changed)."""
    from workflow import strategy_preview as sp

    with cli_session() as session:
        result = sp.preview(session, path=_file(path))
    typer.echo(f"{result.current} -> {result.candidate}: {result.summary}")
    for m in result.moves[:limit]:
        typer.echo(f"  {m.reference} ({m.hub}): {m.direction} from {m.before} to {m.after}: {m.reason_after}")
    if len(result.moves) > limit:
        typer.echo(f"  ... and {len(result.moves) - limit} more")


@strategy_app.command("publish")
@guarded
def strategy_publish(
    path: PathArg,
    actor: Annotated[str, typer.Option("--as", help="who is publishing")] = "cli",
    note: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Make this strategy the one the tasking list ranks by; earlier versions are kept."""
    from workflow import strategies

    with cli_session() as session:
        done = strategies.publish(session, path=_file(path), actor=actor, note=note)
    typer.echo(f"published {done.version} ({done.name}); the tasking list ranks by it from now")


@strategy_app.command("show")
@guarded
def strategy_show() -> None:
    """Print the strategy in force (its version, then its text)."""
    from workflow import strategies

    with cli_session() as session:
        version, text = strategies.active_text(session)
    typer.echo(f"# {version}")
    typer.echo(text, nl=False)
