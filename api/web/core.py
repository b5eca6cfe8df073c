"""What every page shares: the route class that turns errors into pages, the signed-in user, rendering.

Pages call the same service functions and access checks as the JSON API; only the shape of the answer
differs. Errors raised anywhere in a page's handling (its dependencies included) become an HTML page
with the status the API would give: a case the user may not see is a 404 page, exactly like a missing
one. A POST without its CSRF token is refused before the page's code runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.exc import OperationalError
from starlette.datastructures import FormData, UploadFile

from api import logs
from api.deps import SessionDep
from api.web import session as sessions
from workflow import accounts, localtime, spoofing
from workflow.access import MARKINGS, STAFF_ROLES, Forbidden, Principal
from workflow.errors import ConfigError, DomainError, FieldProblem
from workflow.errors import problems_of as problems_of

log = logging.getLogger("sctac.web")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"
LONDON = localtime.ZONE

# Scripts and styles come from this server only (the centre's network may have no internet); no inline
# script anywhere, so a stored value that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# -- formatting --------------------------------------------------------------------------------------


def when(value: datetime | None, fmt: str = "%a %d %b %Y %H:%M") -> str:
    """A moment on the London wall clock, as the centre's staff read time."""
    if value is None:
        return "—"
    return localtime.strftime(value, fmt)


def duration(seconds: float | None) -> str:
    """A span in days and hours (or minutes when short): '2 d 3 h', '45 min'."""
    if seconds is None:
        return "—"
    total = abs(int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {rest // 60} min" if rest // 60 else f"{hours} h"
    return f"{max(rest // 60, 0)} min"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "—"
    now = now or datetime.now(UTC)
    delta = (value - now).total_seconds()
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(delta)} ago"


def label(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "—"


def field_label(name: str) -> str:
    """A form field as staff call it: 'assessment.harm.physical' -> 'physical harm'."""
    parts = name.removeprefix("assessment.").split(".")
    if len(parts) == 2 and parts[0] in ("harm", "intelligence"):
        noun = "harm" if parts[0] == "harm" else "intelligence grading"
        return f"{label(parts[1])} {noun}" if parts[0] == "harm" else f"{noun}: {label(parts[1])}"
    return label(" ".join(parts))


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=spoofing.shown,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration, relative=relative, label=label, field_label=field_label)
    env.globals.update(markings=MARKINGS)
    return env


templates = Jinja2Templates(env=_env())


# -- who is signed in ----------------------------------------------------------------------------------


def page_user(request: Request, session: SessionDep) -> Principal:
    app = request.app
    cookie = sessions.decode(app, request.cookies.get(sessions.COOKIE))
    if cookie is None:
        raise sessions.LoginRequired
    if sessions.idle(app, cookie):
        # The token dies with the idle session, so a copy of the cookie is no use afterwards either.
        accounts.revoke_token(session, token=cookie.token)
        raise sessions.LoginRequired(expired=True)
    try:
        who = accounts.principal_for_token(session, token=cookie.token)
    except accounts.NotAuthenticated:
        raise sessions.LoginRequired(expired=True) from None
    session.commit()  # hand the lookup's connection back before the page's write session (api.deps)
    request.state.who = who
    request.state.web_token = cookie.token
    logs.note(actor=who.username)
    return who


WebUser = Annotated[Principal, Depends(page_user)]


def needs(who: Principal, *roles: str) -> None:
    """Refuse a page to anyone holding none of `roles` (admins pass only where named)."""
    if not any(who.has(r) for r in roles):
        raise Forbidden(f"this page is for {' or '.join(roles)}", needed=list(roles))


def is_staff(who: Principal) -> bool:
    return bool(who.roles & STAFF_ROLES) or who.is_admin


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=20, max_fields=500)


PostedForm = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str, limit: int = 20000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def uploads(form: FormData, name: str) -> list[UploadFile]:
    return [v for v in form.getlist(name) if isinstance(v, UploadFile) and v.filename]


# -- rendering -------------------------------------------------------------------------------------------


def nav(who: Principal | None) -> list[tuple[str, str]]:
    """The menu: only pages this person may open."""
    if who is None:
        return []
    items = [("/", "My work"), ("/cases", "Cases")]
    if who.has("requester"):
        items += [("/requests/new", "New request"), ("/requests", "My unit's requests")]
    if who.has("supervisor"):
        items.append(("/escalations", "Escalations"))
    if is_staff(who):
        items.append(("/tasking", "Tasking list"))
    items.append(("/dashboard", "Dashboard"))
    if who.has("records_officer") or who.is_admin:
        items.append(("/records/retention", "Retention review"))
    if who.is_admin:
        items += [("/admin/rules", "Rules"), ("/admin/import", "Import"), ("/admin/capacity", "Capacity")]
    if who.has("dpo"):
        items.append(("/dpo/subjects", "Subject access"))
    return items


def highest_marking(markings: Sequence[str | None]) -> str:
    """The marking a page carries: the highest of what it shows (UK practice), OFFICIAL at least."""
    ranked = [MARKINGS.index(m) for m in markings if m in MARKINGS]
    return MARKINGS[max(ranked)] if ranked else MARKINGS[0]


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    marking: str | None = None,
) -> HTMLResponse:
    who: Principal | None = getattr(request.state, "who", None)
    token: str | None = getattr(request.state, "web_token", None)
    full = {
        "who": who,
        "csrf": sessions.csrf_for(token) if token else "",
        "nav": nav(who),
        "path": request.url.path,
        "marking": marking or "OFFICIAL",
        "now": datetime.now(UTC),
        "title": "",
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, full, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def with_query(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def errors_by_field(
    problems: Sequence[FieldProblem], aliases: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Field problems keyed by form field name (several on one field joined), for display beside it."""
    out: dict[str, str] = {}
    for p in problems:
        name = (aliases or {}).get(p.field, p.field)
        out[name] = f"{out[name]}; {p.message}" if name in out else p.message
    return out


# -- the route class -----------------------------------------------------------------------------------


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "detail": detail, "status": status}, status=status)


def domain_error_page(request: Request, exc: DomainError) -> HTMLResponse:
    """The page for a domain error: the status and words its class gives it (as the API does)."""
    if isinstance(exc, ConfigError):
        log.error("configuration error while serving %s: %s", request.url.path, exc.detail)
    return error_page(request, exc.status, exc.page_title, exc.public_detail())


async def _check_csrf(request: Request) -> None:
    if request.url.path == "/login":
        form = await request.form()
        sent = form.get(sessions.CSRF_FIELD)
        sessions.check_login_csrf(request, sent if isinstance(sent, str) else None)
        return
    cookie = sessions.decode(request.app, request.cookies.get(sessions.COOKIE))
    if cookie is None:
        raise sessions.LoginRequired
    sent_value = request.headers.get(sessions.CSRF_HEADER)
    if sent_value is None:
        form = await request.form(max_files=20, max_fields=500)
        field = form.get(sessions.CSRF_FIELD)
        sent_value = field if isinstance(field, str) else None
    sessions.check_csrf(cookie.token, sent_value)


def _to_login(request: Request, expired: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    # After a POST the form is gone: come back to the page it was posted from (on this site only).
    if request.method != "GET":
        ref = urlsplit(request.headers.get("referer", ""))
        same_site = ref.netloc in ("", request.url.netloc)
        target = (ref.path or "/") + (f"?{ref.query}" if ref.query else "") if same_site else "/"
    query = {"next": sessions.safe_next(target)}
    if expired:
        query["expired"] = "1"
    response = redirect("/login?" + urlencode(query, quote_via=quote))
    if expired:
        sessions.clear_session(request, response)
    return response


class WebRoute(APIRoute):
    """An APIRoute whose errors are pages, whose POSTs need a CSRF token and whose sessions slide."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await _check_csrf(request)
                response = await original(request)
            except sessions.LoginRequired as exc:
                return _to_login(request, exc.expired)
            except sessions.CsrfRefused:
                return error_page(
                    request,
                    403,
                    "Form expired",
                    "This form's security token is missing or out of date (perhaps you signed in again in "
                    "another tab). Go back, reload the page and submit it again; nothing was saved.",
                )
            except RequestValidationError:
                # Only path and query parameters are validated by the framework here (forms are read by
                # hand), so a malformed address is simply a page that does not exist.
                return error_page(request, 404, "Not found", "There is no such page.")
            except OperationalError:
                log.exception("database unavailable while serving %s", request.url.path)
                return error_page(
                    request, 503, "Service unavailable", "The database is busy or unavailable; try again."
                )
            except DomainError as exc:
                return domain_error_page(request, exc)
            token = getattr(request.state, "web_token", None)
            if token is not None and "set-cookie" not in response.headers:
                sessions.set_session(request, response, token)  # the idle clock restarts
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handler
