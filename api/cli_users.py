"""`sctac user ...`: create, disable and list accounts (no account exists until an operator makes one)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli_support import cli_session, fail, guarded
from workflow import access, accounts

user_app = typer.Typer(no_args_is_help=True, help="Create, disable and list user accounts.")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="sign-in name, e.g. ds.smith")],
    role: Annotated[list[str], typer.Option("--role", help=f"repeat for several: {', '.join(access.ROLES)}")],
    unit: Annotated[
        str | None, typer.Option(help="requesting unit code (requesters need one), e.g. NE")
    ] = None,
    hub: Annotated[str | None, typer.Option(help="SC Hub code for hub staff; none for centre staff")] = None,
    clearance: Annotated[str, typer.Option(help="OFFICIAL or OFFICIAL-SENSITIVE")] = "OFFICIAL",
    display_name: Annotated[str | None, typer.Option(help="name shown to others")] = None,
    email: Annotated[str | None, typer.Option(help="where e-mail notifications go")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create a user; the password is read from standard input so it never sits in shell history."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("--password-stdin: no password on standard input")

    @guarded
    def create() -> None:
        data = {
            "username": username,
            "roles": role,
            "unit_code": unit,
            "hub_code": hub,
            "clearance": clearance,
            "display_name": display_name,
            "email": email,
            "password": password,
        }
        with cli_session() as session:
            user = accounts.create_user(session, data={k: v for k, v in data.items() if v is not None})
        where = user.unit_code or user.hub_code or "the centre"
        typer.echo(f"created {user.username} ({', '.join(user.roles)}; {where}; cleared {user.clearance})")

    create()


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: they cannot sign in and their tokens stop working at once."""

    @guarded
    def disable() -> None:
        with cli_session() as session:
            accounts.disable_user(session, username=username)
        typer.echo(f"disabled {username}")

    disable()


@user_app.command("list")
def user_list() -> None:
    """List users with their roles, unit or hub, and clearance."""

    @guarded
    def show() -> None:
        with cli_session() as session:
            for u in accounts.list_users(session):
                state = "active" if u.active else "disabled"
                where = u.unit_code or u.hub_code or "centre"
                typer.echo(f"{u.username}\t{','.join(u.roles)}\t{where}\t{u.clearance}\t{state}")

    show()


@user_app.command("unlock")
def user_unlock(username: Annotated[str, typer.Argument()]) -> None:
    """Release an account locked after repeated failed sign-ins, and clear its count of failures."""

    @guarded
    def unlock() -> None:
        with cli_session() as session:
            was_locked = accounts.unlock_user(session, username=username, by="operator (CLI)", channel="cli")
        typer.echo(f"unlocked {username}" if was_locked else f"{username} was not locked; failures cleared")

    unlock()


@user_app.command("sign-ins")
def user_sign_ins(
    user: Annotated[str | None, typer.Option("--user", help="only this name")] = None,
    outcome: Annotated[str | None, typer.Option(help="ok, failed, locked or throttled")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many, newest first")] = 50,
) -> None:
    """The sign-in log: sign-ins, failures, refusals, password changes and unlocks, newest first."""
    if outcome is not None and outcome not in ("ok", "failed", "locked", "throttled"):
        raise fail(f"--outcome: expected ok, failed, locked or throttled, got {outcome!r}")

    @guarded
    def show() -> None:
        with cli_session() as session:
            rows = accounts.sign_in_log(session, username=user, outcome=outcome, limit=limit)
        for r in rows:
            typer.echo(
                f"{r.at.isoformat(timespec='seconds')}\t{r.username}\t{r.action}\t{r.outcome}\t"
                f"{r.channel}\t{r.address or '-'}\t{r.reason or ''}"
            )

    show()
