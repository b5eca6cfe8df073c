"""Page sessions: an HttpOnly cookie holding an opaque API token, an idle timeout, and CSRF tokens.

The cookie carries the token that ``accounts.issue_token`` made, so signing out, an expired token or a
disabled user ends a page session exactly as it ends an API session (one lookup decides both). Beside it
the cookie carries the moment of the last request, signed with an HMAC so it cannot be pushed forward by
hand: a session left alone for longer than the idle timeout is revoked at its next request.

Every POST carries a CSRF token. Signed in, it is derived from the session token (a hash of it: unknown
to another site, which cannot read the HttpOnly cookie, and useless for recovering the token). On the
sign-in form, before any session exists, the cookie holds a random nonce and the form the same nonce,
each signed with the app's key and timestamped (itsdangerous): a value planted by someone else is
refused because they cannot sign it, and a pair copied from a real form dies within LOGIN_CSRF_MAX_AGE.

The cookies are Secure when the request came over https (directly, or through a trusted proxy that
said so) or when SCTAC_SECURE_COOKIES says the deployment is behind TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from itsdangerous import BadSignature, TimestampSigner

COOKIE = "sctac_session"
PRE_COOKIE = "sctac_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
IDLE_TIMEOUT = timedelta(minutes=30)
# Long enough to type a password after a coffee; a copied token is useless after it.
LOGIN_CSRF_MAX_AGE = timedelta(hours=1)


class LoginRequired(Exception):
    """No usable page session: the page answers with a redirect to /login."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign in first")
        self.expired = expired


class CsrfRefused(Exception):
    """A POST without the CSRF token of its session (or of the sign-in form)."""


@dataclass(frozen=True)
class Cookie:
    token: str
    last_seen: int


def _key(app: FastAPI) -> bytes:
    key: bytes = app.state.web_secret
    return key


def _sign(app: FastAPI, token: str, last_seen: int) -> str:
    return hmac.new(_key(app), f"{token}|{last_seen}".encode(), hashlib.sha256).hexdigest()[:32]


def encode(app: FastAPI, token: str, last_seen: int | None = None) -> str:
    at = int(time.time()) if last_seen is None else last_seen
    return f"{token}.{at}.{_sign(app, token, at)}"


def decode(app: FastAPI, value: str | None) -> Cookie | None:
    """The cookie's token and last-seen time, or None when it is missing, malformed or tampered with."""
    if not value or len(value) > 512:
        return None
    token, _, rest = value.partition(".")
    seen, _, signature = rest.partition(".")
    if not token or not seen.isdigit() or not signature:
        return None
    if not hmac.compare_digest(signature, _sign(app, token, int(seen))):
        return None
    return Cookie(token, int(seen))


def idle(app: FastAPI, cookie: Cookie, now: float | None = None) -> bool:
    timeout: timedelta = app.state.web_idle_timeout
    return (now if now is not None else time.time()) - cookie.last_seen > timeout.total_seconds()


def csrf_for(token: str) -> str:
    return hashlib.sha256(f"sctac-csrf:{token}".encode()).hexdigest()[:40]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(getattr(request.app.state, "secure_cookies", False))


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        encode(request.app, token),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        # No max-age: a session cookie dies with the browser; the server's idle and absolute limits rule.
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def _signer(app: FastAPI, purpose: str) -> TimestampSigner:
    return TimestampSigner(_key(app), salt=f"sctac-login-csrf-{purpose}")


def _nonce(app: FastAPI, purpose: str, value: str | None) -> str | None:
    """The nonce inside a signed value, or None when it is missing, forged, malformed or too old."""
    if not value or len(value) > 200:
        return None
    try:
        raw = _signer(app, purpose).unsign(value, max_age=int(LOGIN_CSRF_MAX_AGE.total_seconds()))
    except BadSignature:  # also SignatureExpired, its subclass
        return None
    return raw.decode("ascii", "replace")


@dataclass(frozen=True)
class LoginCsrf:
    cookie: str  # the signed nonce for the cookie
    field: str  # the signed nonce for the form


def login_csrf(request: Request) -> LoginCsrf:
    """The sign-in form's pair: the browser's nonce when its cookie is ours and fresh (so two open tabs
    both work), else a new one; both halves signed afresh."""
    app = request.app
    nonce = _nonce(app, "cookie", request.cookies.get(PRE_COOKIE)) or secrets.token_urlsafe(24)
    return LoginCsrf(_signer(app, "cookie").sign(nonce).decode(), _signer(app, "form").sign(nonce).decode())


def set_login_csrf(request: Request, response: Response, value: LoginCsrf) -> None:
    response.set_cookie(
        PRE_COOKIE,
        value.cookie,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
        max_age=int(LOGIN_CSRF_MAX_AGE.total_seconds()),
    )


def check_login_csrf(request: Request, sent: str | None) -> None:
    expected = _nonce(request.app, "cookie", request.cookies.get(PRE_COOKIE))
    got = _nonce(request.app, "form", sent)
    if expected is None or got is None or not hmac.compare_digest(expected, got):
        raise CsrfRefused


def check_csrf(token: str, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(csrf_for(token), sent):
        raise CsrfRefused


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //host or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]
