"""People and the directory they belong to: users, passwords, API tokens, units and hubs.

Passwords are hashed with argon2id (pwdlib's recommended hasher). Tokens are opaque random strings; the
database keeps only their SHA-256 with an expiry, so signing out or disabling a user takes effect on the
very next request, which a self-contained signed token could not offer without a revocation list anyway.
Every function here is a service function: keyword-only arguments, the session passed in, and it owns
its commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, cast

from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from workflow.access import MARKINGS, ROLES, Principal
from workflow.db import utcnow
from workflow.errors import AlreadyExists as AlreadyExists
from workflow.errors import FieldProblem, InvalidInput, NotFound
from workflow.errors import NotAuthenticated as NotAuthenticated
from workflow.models import ApiToken, Hub, Unit, User
from workflow.schemas import Code, OneLine, parse
from workflow.tables import TOKEN, USER

# A shift and a half: long enough not to interrupt a working day, short enough that a lost laptop's
# token dies overnight. Signing out or disabling the user ends it at once.
TOKEN_TTL = timedelta(hours=12)
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the user is unknown, so an unknown name costs the same time as a known one.
    return hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(
        username=user.username,
        roles=frozenset(user.roles),
        unit_code=user.unit_code,
        hub_code=user.hub_code,
        clearance=user.clearance,
    )


# -- inputs ---------------------------------------------------------------------------------------------

Text = OneLine
Role = Annotated[str, Field(pattern="^(" + "|".join(ROLES) + ")$")]
Marking = Annotated[str, Field(pattern="^(" + "|".join(re.escape(m) for m in MARKINGS) + ")$")]
Password = Annotated[Text, Field(min_length=10, max_length=1024)]
Username = Annotated[str, Field(pattern=USERNAME.pattern)]
Name = Annotated[Text, Field(min_length=1, max_length=120)]
# Deliberately loose: the mail server is the judge of deliverability; this only catches typing slips.
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class UserInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Username
    display_name: Name | None = None
    email: Email | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(ROLES))]
    unit_code: Code | None = None
    hub_code: Code | None = None
    clearance: Marking = "OFFICIAL"
    password: Password | None = None


class UserChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: Name | None = None
    email: Email | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(ROLES))] | None = None
    unit_code: Code | None = None
    hub_code: Code | None = None
    clearance: Marking | None = None
    password: Password | None = None
    active: bool | None = None


class UnitInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[Code, Field(max_length=16)]
    name: Name
    kind: Annotated[str, Field(pattern="^(bcu|specialist)$")] = "bcu"
    boroughs: Annotated[list[Name], Field(max_length=20)] = []
    active: bool = True


class HubInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[Code, Field(max_length=16)]
    name: Name
    capacity: Annotated[int, Field(ge=0, le=100_000)] = 0
    active: bool = True


# -- users ----------------------------------------------------------------------------------------------


def _check_memberships(session: Session, unit_code: str | None, hub_code: str | None) -> None:
    problems = []
    if unit_code is not None and session.get(Unit, unit_code) is None:
        problems.append(FieldProblem("unit_code", f"unknown unit {unit_code!r}"))
    if hub_code is not None and session.get(Hub, hub_code) is None:
        problems.append(FieldProblem("hub_code", f"unknown hub {hub_code!r}"))
    if problems:
        raise InvalidInput(problems)


def _requester_needs_unit(roles: Sequence[str], unit_code: str | None) -> None:
    if "requester" in roles and unit_code is None:
        raise InvalidInput([FieldProblem("unit_code", "a requester must belong to a unit")])


def get_user(session: Session, *, username: str) -> User:
    user = None
    if USERNAME.match(username):
        user = session.execute(select(User).where(col(User.username) == username)).scalars().first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.execute(select(User).order_by(col(User.username))).scalars().all()


def create_user(session: Session, *, data: Mapping[str, Any] | UserInput) -> User:
    inp = data if isinstance(data, UserInput) else parse(UserInput, data)
    roles = sorted(set(inp.roles), key=ROLES.index)
    _requester_needs_unit(roles, inp.unit_code)
    _check_memberships(session, inp.unit_code, inp.hub_code)
    if session.execute(select(USER.c.id).where(USER.c.username == inp.username)).first() is not None:
        raise AlreadyExists(f"user {inp.username!r} already exists")
    user = User(
        username=inp.username,
        display_name=inp.display_name or inp.username,
        email=inp.email,
        roles=roles,
        unit_code=inp.unit_code,
        hub_code=inp.hub_code,
        clearance=inp.clearance,
        password_hash=hash_password(inp.password) if inp.password else None,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a racer created the same name between our check and our insert
        session.rollback()
        raise AlreadyExists(f"user {inp.username!r} already exists") from None
    session.refresh(user)
    return user


def update_user(session: Session, *, username: str, changes: Mapping[str, Any] | UserChanges) -> User:
    inp = changes if isinstance(changes, UserChanges) else parse(UserChanges, changes)
    user = get_user(session, username=username)
    given = inp.model_dump(exclude_unset=True)
    if given.get("roles") is not None:
        given["roles"] = sorted(set(given["roles"]), key=ROLES.index)
    for name in ("display_name", "roles", "clearance", "active"):
        if given.get(name) is None:
            given.pop(name, None)
    roles = given.get("roles", user.roles)
    unit_code = given.get("unit_code", user.unit_code)
    hub_code = given.get("hub_code", user.hub_code)
    _requester_needs_unit(roles, unit_code)
    _check_memberships(session, unit_code, hub_code)
    password = given.pop("password", None)
    for name, value in given.items():
        setattr(user, name, value)
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    if given.get("active") is False or password:
        # A disabled account or a changed password ends every session it had.
        _revoke_all(session, username)
    session.commit()
    session.refresh(user)
    return user


def disable_user(session: Session, *, username: str) -> User:
    return update_user(session, username=username, changes=UserChanges(active=False))


def _revoke_all(session: Session, username: str) -> None:
    session.execute(
        update(TOKEN)
        .where(TOKEN.c.username == username, TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# -- signing in -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime
    expires_in: int


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user whose password this is, or NotAuthenticated: the same error and about the same time for
    an unknown name, a wrong password, an account without a password and a disabled account."""
    user = None
    if USERNAME.match(username):
        user = session.execute(select(User).where(col(User.username) == username)).scalars().first()
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        ok = hasher().verify(password, stored or _dummy_hash())
    except ValueError:  # a password the hasher cannot encode (lone surrogates): simply not a match
        ok = False
    if not ok or stored is None or user is None or not user.active:
        raise NotAuthenticated("wrong username or password, or the account is disabled")
    return user


def issue_token(
    session: Session, *, username: str, ttl: timedelta = TOKEN_TTL, now: datetime | None = None
) -> Issued:
    at = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(token_hash=token_digest(token), username=username, created_at=at, expires_at=at + ttl)
    )
    session.commit()
    return Issued(token=token, expires_at=at + ttl, expires_in=int(ttl.total_seconds()))


def sign_in(
    session: Session, *, username: str, password: str, ttl: timedelta = TOKEN_TTL, now: datetime | None = None
) -> Issued:
    user = authenticate(session, username=username, password=password)
    return issue_token(session, username=user.username, ttl=ttl, now=now)


def principal_for_token(session: Session, *, token: str, now: datetime | None = None) -> Principal:
    """Who holds this bearer token: one indexed lookup joining the user, so a disabled user's tokens
    stop working on their next request even before they are revoked."""
    at = now or utcnow()
    user = session.execute(
        select(User)
        .join(TOKEN, TOKEN.c.username == USER.c.username)
        .where(
            TOKEN.c.token_hash == token_digest(token),
            TOKEN.c.revoked_at.is_(None),
            TOKEN.c.expires_at > at,
            USER.c.active.is_(True),
        )
    ).scalar_one_or_none()
    if user is None:
        raise NotAuthenticated("the token is unknown, expired or revoked: sign in again")
    return principal_of(user)


def revoke_token(session: Session, *, token: str) -> None:
    session.execute(
        update(TOKEN)
        .where(TOKEN.c.token_hash == token_digest(token), TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


# -- units and hubs -------------------------------------------------------------------------------------


def list_units(session: Session) -> Sequence[Unit]:
    return session.execute(select(Unit).order_by(col(Unit.code))).scalars().all()


def list_hubs(session: Session) -> Sequence[Hub]:
    return session.execute(select(Hub).order_by(col(Hub.code))).scalars().all()


def _put(session: Session, row: Unit | Hub, *, create: bool) -> Any:
    kind = type(row).__name__.lower()
    if create and session.get(type(row), row.code) is not None:
        raise AlreadyExists(f"{kind} {row.code!r} already exists")
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AlreadyExists(f"{kind} {row.code!r} already exists") from None
    session.refresh(row)
    return row


def _update(
    session: Session,
    model: type[Unit] | type[Hub],
    schema: type[BaseModel],
    code: str,
    changes: Mapping[str, Any],
) -> Any:
    row = cast(Unit | Hub | None, session.get(model, code))
    if row is None:
        raise NotFound(f"no {model.__name__.lower()} {code!r}")
    inp = parse(schema, {**row.model_dump(), **changes, "code": code})
    for name, value in inp.model_dump().items():
        setattr(row, name, value)
    return _put(session, row, create=False)


def create_unit(session: Session, *, data: Mapping[str, Any]) -> Unit:
    unit: Unit = _put(session, Unit(**parse(UnitInput, data).model_dump()), create=True)
    return unit


def update_unit(session: Session, *, code: str, changes: Mapping[str, Any]) -> Unit:
    unit: Unit = _update(session, Unit, UnitInput, code, changes)
    return unit


def create_hub(session: Session, *, data: Mapping[str, Any]) -> Hub:
    hub: Hub = _put(session, Hub(**parse(HubInput, data).model_dump()), create=True)
    return hub


def update_hub(session: Session, *, code: str, changes: Mapping[str, Any]) -> Hub:
    hub: Hub = _update(session, Hub, HubInput, code, changes)
    return hub
