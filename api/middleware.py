"""ASGI middleware in front of every route: a request-size limit, Idempotency-Key on POST, and the
security headers every response carries.

Written as plain ASGI (not BaseHTTPMiddleware) so the body is read once, replayed to the route, and the
response can be captured and stored before the client sees it: a retry that arrives after the client
got the first answer always finds that answer stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from anyio import to_thread
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.datastructures import Headers, MutableHeaders

from api.deps import TOKEN_URL
from api.problems import domain_problem, problem
from workflow import accounts, idempotency
from workflow.errors import DomainError
from workflow.settings import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1_048_576  # 1 MiB: the longest case summary is 20,000 characters
REPLAYED_HEADERS = ("content-type", "location", "etag")


class RequestGuard:
    def __init__(self, app: ASGIApp, *, engine_of: Callable[[], Engine], max_body: int = MAX_BODY) -> None:
        self.app = app
        self.engine_of = engine_of
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        limit = _limit_for(scope["path"], self.max_body)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _respond(scope, receive, send, _too_large(limit))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > limit:
                await _respond(scope, receive, send, _too_large(limit))
                return
        replay = _replayer(bytes(body), receive)
        key = headers.get("idempotency-key")
        if key is None or scope["method"] != "POST" or scope["path"] == TOKEN_URL:
            # Signing in is left out on purpose: storing its response would store a live token.
            await self.app(scope, replay, send)
            return
        await self._idempotent(scope, replay, send, headers, key, bytes(body))

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, key: str, body: bytes
    ) -> None:
        engine = self.engine_of()
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        fingerprint = hashlib.sha256(
            b"\0".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode("utf-8", "surrogateescape"),
                    scope.get("query_string", b""),
                    headers.get("if-match", "").encode("latin-1", "replace"),
                    body,
                ]
            )
        ).hexdigest()

        def claim() -> tuple[str | None, idempotency.Stored | None]:
            with Session(engine) as session:
                try:
                    who = accounts.principal_for_token(session, token=token)
                except accounts.NotAuthenticated:
                    return None, None  # the route itself answers 401
                return who.username, idempotency.claim(
                    session, username=who.username, key=key, fingerprint=fingerprint
                )

        try:
            username, stored = await to_thread.run_sync(claim)
        except DomainError as exc:
            await _respond(scope, receive, send, domain_problem(exc))
            return
        if username is None:
            await self.app(scope, receive, send)
            return
        if stored is not None:
            await _send_stored(send, stored)
            return

        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await to_thread.run_sync(_release, engine, username, key)
            raise
        start = next((m for m in captured if m["type"] == "http.response.start"), None)
        status = start["status"] if start else 500
        if 200 <= status < 300 and start is not None:
            raw = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
            kept = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in start.get("headers", [])
                if k.decode("latin-1").lower() in REPLAYED_HEADERS
            }
            await to_thread.run_sync(_complete, engine, username, key, status, kept, raw.decode("utf-8"))
        else:
            # Nothing was written by a failed request, so a retry may run it again.
            await to_thread.run_sync(_release, engine, username, key)
        for message in captured:
            await send(message)


def _complete(
    engine: Engine, username: str, key: str, status: int, headers: dict[str, str], body: str
) -> None:
    with Session(engine) as session:
        idempotency.complete(
            session, username=username, key=key, status_code=status, headers=headers, body=body
        )


def _release(engine: Engine, username: str, key: str) -> None:
    with Session(engine) as session:
        idempotency.release(session, username=username, key=key)


def _replayer(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# Document uploads (API and pages) may carry a file up to its own limit (SCTAC_ATTACHMENT_MAX_BYTES),
# plus room for the multipart framing and the form's other fields; the route then names `file` if the
# file itself is over. Everything else keeps the 1 MiB limit.
_UPLOAD = re.compile(r"^(/api/v1)?/cases/\d+/attachments$")
_UPLOAD_FRAMING = 65_536


def _limit_for(path: str, default: int) -> int:
    if _UPLOAD.match(path):
        return max(default, get_settings().attachment_max_bytes + _UPLOAD_FRAMING)
    return default


def _too_large(limit: int) -> Any:
    return problem(413, "Request too large", f"the request body is over {limit:,} bytes", "too-large")


async def _respond(scope: Scope, receive: Receive, send: Send, response: Any) -> None:
    await response(scope, receive, send)


async def _send_stored(send: Send, stored: idempotency.Stored) -> None:
    body = stored.body.encode("utf-8")
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers.items()]
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class SecurityHeaders:
    """Headers every response needs whatever route made it: `nosniff` everywhere, and `no-store` on the
    API, whose answers carry case data and tokens that no browser or proxy cache should keep. A route
    that sets its own Cache-Control keeps it (pages set theirs, docs assets may be cached)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics", "/openapi.json")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
