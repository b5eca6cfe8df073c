"""What every `sctac` command shares: one-line failures, database sessions, and the error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from workflow import accounts
from workflow.db import make_engine
from workflow.errors import DomainError, FileProblems
from workflow.principals import OPERATOR, Principal
from workflow.settings import get_settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"sctac: {message}", err=True)
    return typer.Exit(code)


def engine_from_settings() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, echo=settings.sql_echo)


@contextmanager
def cli_session() -> Iterator[Session]:
    engine = engine_from_settings()
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


AS_HELP = "act as this account (its roles, unit, hub and clearance are checked); without it, the operator"


def acting_as(session: Session, username: str | None) -> Principal:
    """Who a command acts as: a named account, checked like a signed-in person, or else the operator (a
    system principal: whoever runs the CLI already holds the database and the server's settings)."""
    if username is None:
        return OPERATOR
    user = accounts.get_user(session, username=username)
    if not user.active:
        raise fail(f"--as: the account {username!r} is disabled")
    return accounts.principal_of(user)


def guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Map every expected failure to one readable line (the CLI's half of the error mapping)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except FileProblems as exc:  # rule files, import sheets: every problem on its own line
            for line in exc.lines:
                typer.echo(line, err=True)
            raise fail(f"{len(exc.lines)} {exc.counted}") from None
        except DomainError as exc:
            # The operator sees the whole detail (configuration errors included): they can fix it.
            raise fail(exc.detail) from None
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig) if exc.orig is not None else str(exc)
            if "no such table" in text or "does not exist" in text:
                raise fail("the database has no sctac tables yet: run `sctac db upgrade`") from None
            raise fail(f"database error: {text.splitlines()[0]}") from None

    return wrapper


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))
