"""Logs: one JSON object per line (python-json-logger), each carrying the request it belongs to.

Every request gets an id (the caller's X-Request-ID if it is a sane token, else a new one), returned in
the X-Request-ID header and put on every record logged while the request runs, with the signed-in actor
and the case id in the path once they are known. One access line per request at INFO: method, route
*template* (never the raw path or the query string, which may hold a name searched for), status and
duration. No payloads, no bodies, no personal data beyond the acting account's name.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from workflow.settings import Settings

# The ASGI shapes (as in api/middleware.py, not imported from there: api.deps imports this module).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Told of every finished request: its scope, status and duration in seconds (api.metrics times them).
Observer = Callable[[Scope, int, float], None]

log = logging.getLogger("sctac.http")

# What is known about the request being served. A dict set once per request by the middleware and
# filled in by the dependencies: they run in worker threads, whose context is a copy, so they must
# change the object, not the variable.
_request: ContextVar[dict[str, Any] | None] = ContextVar("sctac_request", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
FIELDS = ("request_id", "actor", "case_id")


def note(**facts: Any) -> None:
    """Add facts (actor=..., case_id=...) to the current request's log context (no-op outside one)."""
    current = _request.get()
    if current is not None:
        current.update({k: v for k, v in facts.items() if v is not None})


class RequestFields(logging.Filter):
    """Puts the current request's id, actor and case on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _request.get() or {}
        for name in FIELDS:
            if name in current and not hasattr(record, name):
                setattr(record, name, current[name])
        return True


class Formatter(JsonFormatter):
    """JSON, leaving out request fields that are unknown (a record outside any request)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in log_data.items() if not (k in FIELDS and v is None)}


class TextFormatter(logging.Formatter):
    """Plain lines for a person at a terminal (SCTAC_LOG_FORMAT=text), "-" where no request is known."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s",
            defaults={"request_id": "-", "actor": "-"},
        )


def logging_config(settings: Settings) -> dict[str, Any]:
    """The dictConfig for sctac and uvicorn alike (uvicorn takes it as its log_config in every process)."""
    json_fmt = {
        "()": Formatter,
        "fmt": ["asctime", "levelname", "name", "message"],
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        # uvicorn's copy of each message with terminal colour codes: noise in a log store.
        "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
    }
    text_fmt = {"()": TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestFields}},
        "formatters": {"main": json_fmt if settings.log_format == "json" else text_fmt},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            # uvicorn's own handlers would print a second, unstructured copy: send theirs to the root.
            "uvicorn": {"handlers": [], "propagate": True, "level": settings.log_level},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # The access line comes from RequestLog below (a route template, not the raw path).
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))


class RequestLog:
    """ASGI middleware: the request id, its context for every record, one access line, and each
    request's status and duration handed to the observers."""

    def __init__(self, app: ASGIApp, *, observers: Sequence[Observer] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        context: dict[str, Any] = {"request_id": request_id}
        token = _request.set(context)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Only a number: whatever else a caller put in the path is theirs, not a case id to log.
            case_id = str((scope.get("path_params") or {}).get("case_id", ""))
            if case_id.isdigit() and len(case_id) < 12:
                context.setdefault("case_id", int(case_id))
            seconds = time.perf_counter() - started
            for observer in self.observers:
                observer(scope, status, seconds)
            log.info(
                "%s %s %s",
                scope["method"],
                route_template(scope),
                status,
                extra={"status": status, "duration_ms": round(seconds * 1000, 1)},
            )
            _request.reset(token)


def route_template(scope: Scope) -> str:
    """The route's path template (/api/v1/cases/{case_id}), never the raw path; "unmatched" if none."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
