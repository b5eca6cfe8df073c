"""Request-scoped dependencies: the database session, the signed-in principal, If-Match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from api import logs
from workflow import accounts
from workflow.access import Forbidden, Principal
from workflow.errors import FieldProblem, InvalidInput, PreconditionRequired

TOKEN_URL = "/api/v1/auth/token"
bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_VERSION = re.compile(r'^\s*(?:W/)?"?([0-9]{1,9})"?\s*$')


def get_session(request: Request) -> Iterator[Session]:
    # expire_on_commit=False: the service functions commit, and the route still serialises what it read.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def write_session(request: Request) -> Iterator[Session]:
    """A session for a request that writes: on SQLite it holds this process's writer lock for the
    request (see create_app), so no route repeats `with lock:` around its service call."""
    with request.app.state.write_lock, Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


# For routes that change something: the service call inside commits; the lock is released afterwards.
WriteSession = Annotated[Session, Depends(write_session)]


def current_user(session: SessionDep, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    if not token:
        raise accounts.NotAuthenticated(
            f"sign in first: POST {TOKEN_URL}, then send Authorization: Bearer <token>"
        )
    who = accounts.principal_for_token(session, token=token)
    # End the lookup's read transaction, handing its connection back to the pool: a route that then
    # writes takes a second session (WriteSession), and a request holding one connection while it waits
    # for another lets a full thread pool (40) exhaust the connection pool (40) and stall for its
    # 30 s timeout under load (found by bench/api.py --scale at 50 clients).
    session.commit()
    logs.note(actor=who.username)
    return who


Who = Annotated[Principal, Depends(current_user)]


def admin_user(who: Who) -> Principal:
    if not who.is_admin:
        raise Forbidden(
            f"this needs the admin role; you have {', '.join(sorted(who.roles)) or 'no roles'}",
            needed=["admin"],
        )
    return who


Admin = Annotated[Principal, Depends(admin_user)]


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    """The case version an If-Match header names ("3", W/"3" or 3), None when absent and optional."""
    if value is None:
        if required:
            raise PreconditionRequired.if_match()
        return None
    match = _VERSION.match(value)
    if match is None:
        raise InvalidInput(
            [FieldProblem("If-Match", f'expected the case\'s ETag, e.g. "3"; got {value[:40]!r}')]
        )
    return int(match.group(1))


# An operation's openapi_extra marker: it answers 428 without If-Match, so the document marks it required.
REQUIRES_IF_MATCH = "x-sctac-requires-if-match"
IF_MATCH_REQUIRED: dict[str, Any] = {REQUIRES_IF_MATCH: True}

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=64, description='the case version you acted on, as its ETag: "3"'),
]
