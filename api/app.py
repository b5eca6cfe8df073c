"""The FastAPI application: JSON API under /api/v1, health at /healthz, docs at /docs."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api import problems, web
from api.middleware import RequestGuard
from api.routes import admin, auth, cases, escalations, reports
from workflow.accounts import TOKEN_TTL
from workflow.db import make_engine
from workflow.settings import get_settings


def create_app(*, engine: Engine | None = None, token_ttl: timedelta = TOKEN_TTL) -> FastAPI:
    app = FastAPI(
        title="sctac",
        version="0.1.0",
        description=(
            "Specialist Crime Tasking and Co-ordination case engine. Sign in at POST /api/v1/auth/token and "
            "send the token as `Authorization: Bearer ...`. Every error is RFC 9457 problem+json. "
            "Send `Idempotency-Key` on a POST to make retries safe, and `If-Match` with a case's ETag "
            "when you change it."
        ),
    )
    app.state.engine = engine or make_engine(get_settings().database_url)
    app.state.token_ttl = token_ttl
    # SQLite has one writer at a time and makes the others poll with growing sleeps (busy_timeout), which
    # under load turns a 5 ms write into a 500 ms one. Queueing this process's writers on a lock hands
    # the database over without sleeping; PostgreSQL needs no such thing (row locks).
    app.state.write_lock = threading.Lock() if app.state.engine.dialect.name == "sqlite" else nullcontext()
    problems.install(app)
    app.add_middleware(RequestGuard, engine_of=lambda: app.state.engine)
    app.include_router(auth.router)
    app.include_router(cases.router)
    app.include_router(admin.router)
    app.include_router(escalations.router)
    app.include_router(reports.router)
    web.install(app)

    # The problem body's schema, referenced by every route's error responses.
    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                {
                    "Problem": problems.Problem.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    ),
                    "FieldError": problems.FieldError.model_json_schema(),
                }
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["health"], summary="Liveness and database reachability")
    def healthz(request: Request) -> JSONResponse:
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database is "unavailable", never a 500
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
