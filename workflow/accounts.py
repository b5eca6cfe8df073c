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
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from workflow.access import MARKINGS, ROLES, Principal
from workflow.db import utcnow
from workflow.errors import AccountLocked as AccountLocked
from workflow.errors import AlreadyExists as AlreadyExists
from workflow.errors import FieldProblem, InvalidInput, NotFound
from workflow.errors import NotAuthenticated as NotAuthenticated
from workflow.models import AccountLock, ApiToken, Hub, SignInAttempt, Unit, User
from workflow.schemas import Code, OneLine, parse
from workflow.settings import get_settings
from workflow.tables import TOKEN, USER, table_of

# A shift and a half: long enough not to interrupt a working day, short enough that a lost laptop's
# token dies overnight. Signing out or disabling the user ends it at once.
TOKEN_TTL = timedelta(hours=12)
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
LOCK = table_of(AccountLock)
LOG = table_of(SignInAttempt)


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
    active: StrictBool | None = None


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


@dataclass(frozen=True)
class Lockout:
    """After `after` consecutive failures a name is locked for `period` (or until an admin unlocks it)."""

    after: int = 10
    period: timedelta = timedelta(minutes=15)


def lockout_policy() -> Lockout:
    settings = get_settings()
    return Lockout(after=settings.lockout_after, period=timedelta(minutes=settings.lockout_minutes))


def _check_password(session: Session, username: str, password: str) -> tuple[User | None, str | None]:
    """The user and None, or None and why not (for the admins' log only; callers say nothing of it).
    Costs one KDF verification whatever the outcome, so a name's existence does not show in timing."""
    user = None
    if USERNAME.match(username):
        user = session.execute(select(User).where(col(User.username) == username)).scalars().first()
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        ok = hasher().verify(password, stored or _dummy_hash())
    except ValueError:  # a password the hasher cannot encode (lone surrogates): simply not a match
        ok = False
    if user is None:
        return None, "unknown user"
    if stored is None:
        return None, "account has no password"
    if not ok:
        return None, "wrong password"
    if not user.active:
        return None, "account disabled"
    return user, None


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user whose password this is, or NotAuthenticated: the same error and about the same time for
    an unknown name, a wrong password, an account without a password and a disabled account."""
    user, _ = _check_password(session, username, password)
    if user is None:
        raise NotAuthenticated("wrong username or password, or the account is disabled")
    return user


def _new_token(session: Session, username: str, ttl: timedelta, at: datetime) -> tuple[ApiToken, Issued]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=token_digest(token), username=username, created_at=at, expires_at=at + ttl)
    session.add(row)
    session.flush()
    return row, Issued(token=token, expires_at=at + ttl, expires_in=int(ttl.total_seconds()))


def issue_token(
    session: Session, *, username: str, ttl: timedelta = TOKEN_TTL, now: datetime | None = None
) -> Issued:
    _, issued = _new_token(session, username, ttl, now or utcnow())
    session.commit()
    return issued


@dataclass(frozen=True)
class _Attempt:
    """What the sign-in log says of one attempt, beside its outcome."""

    username: str
    action: str
    channel: str
    address: str | None
    at: datetime


def _log(
    session: Session,
    attempt: _Attempt,
    outcome: str,
    reason: str | None = None,
    token_id: int | None = None,
) -> None:
    session.add(
        SignInAttempt(
            username=attempt.username[:64],
            action=attempt.action,
            outcome=outcome,
            reason=reason[:80] if reason else None,
            channel=attempt.channel[:8],
            address=attempt.address[:64] if attempt.address else None,
            token_id=token_id,
            at=attempt.at,
        )
    )


def record_throttled(
    session: Session, *, username: str, channel: str, address: str | None, action: str = "sign-in"
) -> None:
    """Log an attempt the throttle refused before any password was checked."""
    _log(session, _Attempt(username, action, channel, address, utcnow()), "throttled", "too many attempts")
    session.commit()


def _locked_until(session: Session, username: str, at: datetime) -> datetime | None:
    """When the name's lock ends, or None when it is not locked (an expired lock starts the count anew)."""
    if not USERNAME.match(username):
        return None
    until = session.execute(select(LOCK.c.locked_until).where(LOCK.c.username == username)).scalar()
    if until is None:
        return None
    if until > at:
        return cast(datetime, until)
    _clear_failures(session, username)
    return None


def _count_failure(session: Session, username: str, at: datetime, policy: Lockout) -> datetime | None:
    """Add one failure to the name's count in one statement (so racing failures all count), and lock the
    name when the count reaches the policy's limit. Returns the end of the lock it set, if it set one."""
    if not USERNAME.match(username):
        return None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    failures = session.execute(
        insert(LOCK)
        .values(username=username, failures=1, last_failure_at=at)
        .on_conflict_do_update(
            index_elements=[LOCK.c.username],
            set_={"failures": LOCK.c.failures + 1, "last_failure_at": at},
        )
        .returning(LOCK.c.failures)
    ).scalar_one()
    if failures < policy.after:
        return None
    until = at + policy.period
    session.execute(update(LOCK).where(LOCK.c.username == username).values(locked_until=until))
    return until


def _clear_failures(session: Session, username: str) -> None:
    session.execute(update(LOCK).where(LOCK.c.username == username).values(failures=0, locked_until=None))


def _locked(until: datetime) -> AccountLocked:
    return AccountLocked(
        "this account is locked after repeated failed sign-ins; it unlocks by itself at "
        f"{until.isoformat(timespec='minutes')}, or an admin can unlock it now",
        until=until,
    )


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    ttl: timedelta = TOKEN_TTL,
    now: datetime | None = None,
    channel: str = "api",
    address: str | None = None,
    policy: Lockout | None = None,
) -> Issued:
    """Check the password and issue a token, logging the attempt either way (one transaction).

    A locked name is refused without checking the password; each failure counts towards the lock, and a
    success clears the count. Raises NotAuthenticated or AccountLocked."""
    at = now or utcnow()
    policy = policy or lockout_policy()
    log = _Attempt(username, "sign-in", channel, address, at)
    until = _locked_until(session, username, at)
    if until is not None:
        _log(session, log, "locked", "account locked")
        session.commit()
        raise _locked(until)
    user, why = _check_password(session, username, password)
    if user is None:
        until = _count_failure(session, username, at, policy)
        _log(session, log, "failed", why)
        session.commit()
        if until is not None:
            raise _locked(until)
        raise NotAuthenticated("wrong username or password, or the account is disabled")
    _clear_failures(session, user.username)
    row, issued = _new_token(session, user.username, ttl, at)
    _log(session, log, "ok", token_id=row.id)
    session.commit()
    return issued


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


# -- the account's owner: password and sessions -----------------------------------------------------


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


def change_password(
    session: Session,
    *,
    username: str,
    current_password: str,
    new_password: str,
    keep_token: str | None = None,
    channel: str = "api",
    address: str | None = None,
    policy: Lockout | None = None,
    now: datetime | None = None,
) -> None:
    """Set a new password after checking the current one; every other session and token of the user
    ends (the one in `keep_token`, the request's own, stays). A wrong current password counts towards
    the lock-out like a failed sign-in: it is the same guess."""
    inp = parse(PasswordChange, {"current_password": current_password, "new_password": new_password})
    at = now or utcnow()
    policy = policy or lockout_policy()
    log = _Attempt(username, "password", channel, address, at)
    until = _locked_until(session, username, at)
    if until is not None:
        _log(session, log, "locked", "account locked")
        session.commit()
        raise _locked(until)
    user, why = _check_password(session, username, inp.current_password)
    if user is None:
        until = _count_failure(session, username, at, policy)
        _log(session, log, "failed", why)
        session.commit()
        if until is not None:
            raise _locked(until)
        raise InvalidInput([FieldProblem("current_password", "this is not your current password")])
    if inp.new_password == inp.current_password:
        raise InvalidInput([FieldProblem("new_password", "choose a password different from the current one")])
    user.password_hash = hash_password(inp.new_password)
    session.add(user)
    _clear_failures(session, username)
    revoke = update(TOKEN).where(TOKEN.c.username == username, TOKEN.c.revoked_at.is_(None))
    if keep_token is not None:
        revoke = revoke.where(TOKEN.c.token_hash != token_digest(keep_token))
    session.execute(revoke.values(revoked_at=at))
    _log(session, log, "ok", "password changed; other sessions ended")
    session.commit()


@dataclass(frozen=True)
class LiveSession:
    """A token that still works: where and how it was opened, and whether it is the reader's own."""

    id: int
    created_at: datetime
    expires_at: datetime
    channel: str | None
    address: str | None
    current: bool


def list_sessions(
    session: Session, *, username: str, current_token: str | None = None, now: datetime | None = None
) -> list[LiveSession]:
    """The user's unexpired, unrevoked tokens, newest first (page sessions and API tokens alike)."""
    at = now or utcnow()
    mine = token_digest(current_token) if current_token else None
    rows = session.execute(
        select(
            TOKEN.c.id,
            TOKEN.c.token_hash,
            TOKEN.c.created_at,
            TOKEN.c.expires_at,
            LOG.c.channel,
            LOG.c.address,
        )
        .outerjoin(LOG, (LOG.c.token_id == TOKEN.c.id) & (LOG.c.outcome == "ok"))
        .where(TOKEN.c.username == username, TOKEN.c.revoked_at.is_(None), TOKEN.c.expires_at > at)
        .order_by(TOKEN.c.id.desc())
        .limit(500)
    ).all()
    return [
        LiveSession(r.id, r.created_at, r.expires_at, r.channel, r.address, r.token_hash == mine)
        for r in rows
    ]


def revoke_session(session: Session, *, username: str, session_id: int) -> None:
    """End one of the user's sessions by its id; NotFound when it is not theirs or already ended."""
    done = session.execute(
        update(TOKEN)
        .where(TOKEN.c.id == session_id, TOKEN.c.username == username, TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.rollback()
        raise NotFound(f"{username} has no open session {session_id}")
    session.commit()


# -- admins: locks and the sign-in log --------------------------------------------------------------


@dataclass(frozen=True)
class LockState:
    username: str
    failures: int
    locked_until: datetime | None


def lock_state(session: Session, *, username: str, now: datetime | None = None) -> LockState:
    at = now or utcnow()
    row = (
        session.execute(
            select(LOCK.c.failures, LOCK.c.locked_until).where(LOCK.c.username == username)
        ).first()
        if USERNAME.match(username)
        else None
    )
    if row is None:
        return LockState(username, 0, None)
    until = row.locked_until if row.locked_until is not None and row.locked_until > at else None
    return LockState(username, row.failures, until)


def unlock_user(
    session: Session, *, username: str, by: str, channel: str = "cli", address: str | None = None
) -> bool:
    """Release a locked account and clear its failure count; True when it was locked. NotFound when no
    such user (a lock on a name that does not exist simply times out)."""
    user = get_user(session, username=username)
    was_locked = lock_state(session, username=user.username).locked_until is not None
    _clear_failures(session, user.username)
    note = f"by {by}" + ("" if was_locked else " (was not locked)")
    _log(session, _Attempt(user.username, "unlock", channel, address, utcnow()), "ok", note)
    session.commit()
    return was_locked


def sign_in_log(
    session: Session,
    *,
    username: str | None = None,
    outcome: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[SignInAttempt]:
    """The sign-in log, newest first, a page of at most `limit` rows before the id `before_id`."""
    query = select(SignInAttempt).order_by(col(SignInAttempt.id).desc()).limit(max(1, min(limit, 1000)))
    if username is not None:
        query = query.where(col(SignInAttempt.username) == username)
    if outcome is not None:
        query = query.where(col(SignInAttempt.outcome) == outcome)
    if before_id is not None:
        query = query.where(col(SignInAttempt.id) < before_id)
    return session.execute(query).scalars().all()
