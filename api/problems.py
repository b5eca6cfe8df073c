"""Every error the API returns, as RFC 9457 problem details: the one place errors become HTTP.

Typed domain errors carry their own status, kind and words (workflow/errors.py: the same ones the pages
and the CLI use); request validation to 422 with every field
path; HTTP errors raised by the framework (404 route, 405 method, ...) keep their status; database
conflicts become 409; an unreachable or locked database 503; anything else a 500 that names nothing
internal (the traceback goes to the log, with an id the caller can quote).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow.errors import (
    ConfigError,
    Conflict,
    DomainError,
    Forbidden,
    GuardFailed,
    IllegalTransition,
    InvalidInput,
    NotAuthenticated,
)

log = logging.getLogger("sctac.api")
PROBLEM = "application/problem+json"

_HTTP_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    411: "Length required",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    428: "Precondition required",
    429: "Too many requests",
}


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending field, e.g. body.assessment.harm.physical")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; extra members depend on the type."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    legal_triggers: list[str] | None = None
    current_version: int | None = None
    current_state: str | None = None
    needed_roles: list[str] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries declaring the problem body for the given statuses."""
    return {
        s: {
            "description": _HTTP_TITLES.get(s, "Error"),
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


def problem(
    status: int,
    title: str,
    detail: str,
    kind: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": f"/problems/{kind}", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=dict(headers or {}))


def _field_errors(problems: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": p.field, "message": p.message} for p in problems]


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem+json of a domain error: its status, kind and words come from its class."""
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput | GuardFailed):
        extra["errors"] = _field_errors(exc.problems)
    if isinstance(exc, IllegalTransition):
        extra["legal_triggers"] = exc.legal
    if isinstance(exc, Conflict):
        extra.update(current_version=exc.current_version, current_state=exc.current_state)
        headers["ETag"] = f'"{exc.current_version}"'
    if isinstance(exc, Forbidden):
        extra["needed_roles"] = exc.needed
    if isinstance(exc, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, ConfigError):
        log.error("configuration error while serving a request: %s", exc.detail)
    return problem(exc.status, exc.title, exc.public_detail(), exc.kind, headers=headers, **extra)


def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_problem(exc)


def _loc(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        kind = err.get("type", "")
        if kind == "json_invalid":
            message = f"malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse')}"
        elif kind == "extra_forbidden":
            message = "unknown field"
        else:
            message = str(err.get("msg", "invalid"))
        errors.append({"field": _loc(err.get("loc", ())), "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)[:2000]
    return problem(422, "Invalid input", detail, "invalid-input", errors=errors)


# What FastAPI says when a body cannot be decoded at all (not UTF-8, say): a mistake of input like any
# other, so it is answered as one, naming the body, with the status every operation documents.
_UNPARSABLE_BODY = "There was an error parsing the body"


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods.update(m.upper() for m in operations if m in _METHODS)
    return sorted(methods)


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and detail == _UNPARSABLE_BODY:
        errors = [
            {"field": "body", "message": "the body cannot be read: send UTF-8 JSON (or the form it takes)"}
        ]
        return problem(422, "Invalid input", f"body: {errors[0]['message']}", "invalid-input", errors=errors)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such resource: see /docs for the API's paths"
    if exc.status_code == 405:
        detail = "this path does not take that method: see /docs"
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem(exc.status_code, title, detail, "http", headers=headers)


def _integrity(_: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key collision that the service did not anticipate: someone else wrote first.
    log.warning("integrity error mapped to 409: %s", str(exc).splitlines()[0][:300])
    return problem(
        409,
        "Conflict",
        "the change collides with data written at the same time; reload and retry",
        "conflict",
    )


def _stale(_: Request, exc: Exception) -> JSONResponse:
    return problem(409, "Conflict", "the record changed under you; reload and retry", "conflict")


def _database(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", str(exc).splitlines()[0][:300])
    return problem(
        503,
        "Service unavailable",
        "the database is unavailable or busy; retry shortly",
        "unavailable",
        headers={"Retry-After": "2"},
    )


def _dbapi(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OperationalError):
        return _database(request, exc)
    return _unhandled(request, exc)


def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(6)
    log.error("unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "Internal server error",
        f"the server failed to handle this request; quote incident {incident} to the operators",
        "internal",
        incident=incident,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(DBAPIError, _dbapi)
    app.add_exception_handler(Exception, _unhandled)
