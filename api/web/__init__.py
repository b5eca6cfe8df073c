"""The server-rendered pages staff use (issue 6): sign in, my work, cases, requests, escalations, the
tasking list, rules and the dashboard. ``install(app)`` adds them to the JSON API's app."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import session as sessions
from api.web.core import STATIC
from workflow.settings import get_settings


def install(app: FastAPI, *, idle_timeout: timedelta = sessions.IDLE_TIMEOUT) -> None:
    """Add the pages and their static files to `app` (a second call changes nothing)."""
    if getattr(app.state, "web_installed", False):
        return
    from api.web import (
        admin_capacity,
        admin_rules,
        admin_strategy,
        auth,
        case_exports,
        cases,
        dashboard,
        escalations,
        evaluation,
        forecast,
        records,
        requests,
        retention,
        tasking,
        work,
    )

    secret = get_settings().secret_key
    # Without a configured secret each process makes its own: sessions then end when the process
    # restarts, and several processes behind one address need SCTAC_SECRET_KEY set to share them.
    app.state.web_secret = (
        hashlib.sha256(b"sctac-web-session:" + secret.encode()).digest()
        if secret
        else secrets.token_bytes(32)
    )
    app.state.web_idle_timeout = idle_timeout
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The exports before the case pages: /cases/export.csv is not the case /cases/{id}.
    for module in (
        auth,
        work,
        case_exports,
        cases,
        records,
        requests,
        escalations,
        tasking,
        dashboard,
        evaluation,
        forecast,
        admin_rules,
        admin_strategy,
        admin_capacity,
        retention,
    ):
        app.include_router(module.router)
    app.state.web_installed = True
