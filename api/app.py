"""The FastAPI application: JSON API under /api/v1, health at /healthz and /readyz, figures at /metrics,
docs at /docs.

/docs is Swagger UI 5 served from this server's own copy (the `swagger-ui-bundle-v2` package: the
centre's network has no internet, so never a CDN), under a Content-Security-Policy that admits only this
server and the hashes of the page's own inline scripts. ReDoc is not served: no maintained package bundles it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy.engine import Engine
from swagger_ui_bundle import swagger_ui_path
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import logs, metrics, problems, web
from api.deps import REQUIRES_IF_MATCH
from api.middleware import RequestGuard, SecurityHeaders
from api.routes import admin, auth, capacity, cases, escalations, links, records, reports, tasking
from api.throttle import SignInThrottle
from workflow import principals
from workflow.accounts import TOKEN_TTL
from workflow.db import make_engine, reachable
from workflow.reads.operations import readiness
from workflow.settings import Settings, get_settings

DOCS_ASSETS = "/docs/assets"
# The only files of the bundle /docs needs; the rest (its demo index page among them) stay unserved.
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
READINESS = principals.system("system:readiness")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: str) -> str:
    """A CSP for a docs page: this server only, plus the hash of each inline script the page holds.
    Swagger UI sets style attributes from script, hence 'unsafe-inline' for styles (never scripts)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _install_docs(app: FastAPI) -> None:
    swagger = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title="sctac API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
        # Swagger UI would otherwise send the document to a public validator for its badge.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    ).body
    redirect = get_swagger_ui_oauth2_redirect_html().body
    headers = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
    pages = {"docs": bytes(swagger).decode(), "redirect": bytes(redirect).decode()}
    policies = {name: docs_csp(html) for name, html in pages.items()}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(pages["docs"], headers={"Content-Security-Policy": policies["docs"], **headers})

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_redirect() -> HTMLResponse:
        csp = policies["redirect"]
        return HTMLResponse(pages["redirect"], headers={"Content-Security-Policy": csp, **headers})

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        media = SWAGGER_FILES.get(name)
        if media is None:
            return problems.problem(404, "Not found", "no such documentation file", "http")
        return FileResponse(
            Path(swagger_ui_path) / name, media_type=media, headers={"Cache-Control": "public, max-age=86400"}
        )


def _mark_required_headers(schema: dict[str, Any]) -> None:
    """Operations that refuse to run without If-Match (428) say so in the document: the header is declared
    optional in Python only so that its absence gets the 428 problem rather than a generic 422."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.pop(REQUIRES_IF_MATCH, False):
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "header" and parameter.get("name") == "If-Match":
                        parameter["required"] = True


def create_app(
    *, engine: Engine | None = None, token_ttl: timedelta = TOKEN_TTL, settings: Settings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        title="sctac",
        version="0.1.0",
        description=(
            "Specialist Crime Tasking and Co-ordination case engine. Sign in at POST /api/v1/auth/token and "
            "send the token as `Authorization: Bearer ...`. Every error is RFC 9457 problem+json. "
            "Send `Idempotency-Key` on a POST to make retries safe, and `If-Match` with a case's ETag "
            "when you change it."
        ),
    )
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.token_ttl = token_ttl
    app.state.settings = settings
    app.state.secure_cookies = settings.secure_cookies
    app.state.signin_throttle = SignInThrottle.from_settings(settings)
    # SQLite has one writer at a time and makes the others poll with growing sleeps (busy_timeout), which
    # under load turns a 5 ms write into a 500 ms one. Queueing this process's writers on a lock hands
    # the database over without sleeping; PostgreSQL needs no such thing (row locks).
    app.state.write_lock = threading.Lock() if app.state.engine.dialect.name == "sqlite" else nullcontext()
    problems.install(app)
    app.add_middleware(RequestGuard, engine_of=lambda: app.state.engine)
    app.add_middleware(SecurityHeaders)
    metrics.install(app, settings)
    app.add_middleware(logs.RequestLog, observers=[metrics.observe_request])
    if settings.trusted_proxy_list:
        # Added last, so outermost: everything inside sees the forwarded client and scheme, and only
        # when the connection comes from a listed proxy (anyone else's X-Forwarded-* is ignored).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    app.include_router(auth.router)
    app.include_router(auth.admin)
    app.include_router(cases.router)
    app.include_router(links.router)
    app.include_router(admin.router)
    app.include_router(capacity.router)
    app.include_router(escalations.router)
    app.include_router(reports.router)
    for router in (records.router, records.search_router, records.dpo_router, records.admin_router):
        app.include_router(router)
    app.include_router(tasking.router)
    web.install(app)
    _install_docs(app)

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
            _mark_required_headers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/healthz", tags=["health"], summary="Liveness and database reachability")
    def healthz(request: Request) -> JSONResponse:
        if not reachable(request.app.state.engine):
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    # Readiness is for the balancer and the supervisor (README, "Running on PostgreSQL with several
    # processes"), not part of the API: left out of the OpenAPI document, as /metrics is, since a 503 is
    # its ordinary answer while no worker runs.
    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        """Readiness: database, migrations at head, rules and matrix loaded, a worker alive. Names what
        is wrong, never how: no URL, no host, no exception text."""
        within = timedelta(seconds=settings.ready_worker_seconds)
        found = readiness(request.app.state.engine, who=READINESS, worker_within=within)
        checks = dict(found.checks)
        if settings.ready_worker_seconds == 0:
            checks.pop("worker", None)
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ready else "unavailable", **checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    return app
