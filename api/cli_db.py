"""`sctac db backup PATH` and `sctac db restore PATH`: copies of the database, taken while it serves.

SQLite: SQLite's online backup API (`workflow/backups.py`), a consistent snapshot taken while the
service keeps writing. PostgreSQL: the right tool is `pg_dump`, run where the database's credentials
live; this prints the command for the configured database (the password never: pg_dump reads it
from PGPASSWORD or ~/.pgpass). A restore onto SQLite replaces the configured database and then
verifies the audit chains of what was restored.

Registered on the `db` group by `register(db_app)` in api/cli.py.
"""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL, make_url

from api.cli_support import cli_session, fail, guarded
from workflow import audit, backups, checkpoints
from workflow.settings import get_settings


def _pg_args(url: URL) -> list[str]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args


@guarded
def db_backup(
    path: Annotated[
        Path, typer.Argument(help="the file to write (SQLite), or the dump file to name (PostgreSQL)")
    ],
    force: Annotated[bool, typer.Option("--force", help="replace PATH if it exists")] = False,
) -> None:
    """Back up the database while it serves: SQLite's online backup into PATH; on PostgreSQL, print the
    pg_dump command that does it."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "postgresql":
        command = ["pg_dump", "--format=custom", "--file", str(path), *_pg_args(url), url.database or ""]
        typer.echo(shlex.join(command))
        typer.echo(
            "sctac: note: run it where the password is in PGPASSWORD or ~/.pgpass (never printed here); "
            "restore with pg_restore --clean --if-exists --dbname ...",
            err=True,
        )
        return
    source = backups.sqlite_file(url)
    if source is None:
        raise fail("the configured database is in memory: nothing to back up")
    if not source.exists():
        raise fail(f"{source}: no such database (SCTAC_DATABASE_URL)")
    if path.exists() and not force:
        raise fail(f"{path}: exists; choose another file or pass --force to replace it")
    if path.resolve() == source.resolve():
        raise fail(f"{path}: is the database itself")
    if path.exists():
        path.unlink()
    try:
        pages = backups.copy(source, path)
    except (sqlite3.Error, OSError) as exc:
        path.unlink(missing_ok=True)
        raise fail(f"{path}: backup failed: {exc}") from None
    typer.echo(f"backed up {source} to {path} ({pages} pages)")
    typer.echo(
        "sctac: note: the chain key and the checkpoint are kept outside the database on purpose: "
        "back them up too, somewhere else",
        err=True,
    )


@guarded
def db_restore(
    path: Annotated[Path, typer.Argument(help="a backup made by `sctac db backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace the configured database if it exists")
    ] = False,
) -> None:
    """Replace the configured SQLite database with a backup (stop the service first), then verify the
    audit chains of what was restored. On PostgreSQL, print the pg_restore command."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "postgresql":
        command = [
            "pg_restore",
            "--clean",
            "--if-exists",
            *_pg_args(url),
            "--dbname",
            url.database or "",
            str(path),
        ]
        typer.echo(shlex.join(command))
        typer.echo(
            "sctac: note: stop every API process and worker first; then run `sctac audit verify`", err=True
        )
        return
    target = backups.sqlite_file(url)
    if target is None:
        raise fail("the configured database is in memory: nothing to restore into")
    if not path.exists():
        raise fail(f"{path}: no such backup")
    why = backups.not_an_sctac_database(path)
    if why is not None:
        raise fail(f"{path}: {why}")
    if target.exists() and not force:
        raise fail(
            f"{target}: a database is there (perhaps in use): stop the service, then --force replaces it"
        )
    if target.exists() and path.resolve() == target.resolve():
        raise fail(f"{path}: is the configured database itself")
    try:
        pages = backups.copy(path, target)
    except (sqlite3.Error, OSError) as exc:
        raise fail(f"{target}: restore failed: {exc}") from None
    typer.echo(f"restored {path} into {target} ({pages} pages)")
    with cli_session() as session:
        report = audit.verify(session, checkpoint_file=checkpoints.checkpoint_path())
    for brk in report.breaks:
        typer.echo(f"BROKEN {brk}", err=True)
    if report.checkpoint_problem:
        typer.echo(f"BROKEN checkpoint {report.checkpoint_problem}", err=True)
    if not report.ok:
        raise fail(
            f"audit verify after the restore: {report.broken_cases} broken chain(s)"
            + (f"; checkpoint: {report.checkpoint_problem}" if report.checkpoint_problem else "")
            + " (a backup older than the checkpoint lacks the events checkpointed since: see README)"
        )
    typer.echo(f"audit ok: {report.cases} cases, {report.events} events checked")


def register(db_app: typer.Typer) -> None:
    """Add `backup` and `restore` to the `sctac db` group."""
    db_app.command("backup")(db_backup)
    db_app.command("restore")(db_restore)
