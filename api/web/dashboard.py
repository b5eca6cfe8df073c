"""The dashboard: the MoRiLE risk matrix heatmap of the open caseload, cases per state and per hub,
overdue reviews and open escalations, as server-made SVG. Counts cover only what the viewer may see.

Each viewer's figures are kept for a short while: they aggregate the whole open caseload, a picture a
few seconds old is as good as a fresh one, and a room of people reloading it must not each re-count it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.charts import BarChart, Heatmap, bar_chart, heatmap
from api.deps import SessionDep
from api.web.core import WebRoute, WebUser, label, render
from workflow.access import STAFF_ROLES, Principal
from workflow.db import utcnow
from workflow.lifecycle import State
from workflow.reads import dashboard as reads_dashboard
from workflow.rulebook import active_rulebook

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
FRESH_FOR = 20.0  # seconds


@dataclass(frozen=True)
class Figures:
    at: datetime
    heatmap: Heatmap
    states: BarChart
    hubs: BarChart
    overdue: BarChart
    escalations: BarChart
    overdue_total: int
    escalations_total: int
    open_total: int


_cache: dict[tuple[Any, ...], tuple[float, Figures]] = {}
_lock = threading.Lock()


def _figures(session: Session, who: Principal) -> Figures:
    now = utcnow()
    counts = reads_dashboard.caseload(session, who=who, now=now)
    matrix = active_rulebook(session).matrix
    return Figures(
        at=now,
        heatmap=heatmap(matrix, counts.cells),
        states=bar_chart("Cases per state", {label(s.value): counts.by_state.get(s.value, 0) for s in State}),
        hubs=bar_chart(
            "Open cases per hub",
            {(h or "not routed"): n for h, n in sorted(counts.open_by_hub.items(), key=_hub_key)},
        ),
        overdue=bar_chart(
            "Overdue reviews per hub",
            {(h or "none"): n for h, n in sorted(counts.overdue_by_hub.items(), key=_hub_key)},
        ),
        escalations=bar_chart(
            "Open escalations per level", dict(sorted(counts.escalations_by_level.items()))
        ),
        overdue_total=sum(counts.overdue_by_hub.values()),
        escalations_total=sum(counts.escalations_by_level.values()),
        open_total=sum(counts.open_by_hub.values()),
    )


def _hub_key(item: tuple[Any, int]) -> str:
    return item[0] or ""


def scope_key(who: Principal) -> tuple[Any, ...]:
    """Everything `access.visible` looks at, so people who see the same cases share one set of figures
    (every centre analyst shares one) and people who see different ones never do."""
    if who.sees_everything:
        return ("all", who.markings())
    hub_staff = bool(who.roles & STAFF_ROLES) and who.hub_code is not None
    return (
        who.markings(),
        who.hub_code if hub_staff else None,
        who.username if hub_staff else None,  # hub staff also see the cases they own
        who.unit_code if who.has("requester") else None,
    )


def forget() -> None:
    """Drop every kept set of figures (the tests wipe one database under a running process)."""
    with _lock:
        _cache.clear()


def figures(session: Session, who: Principal) -> Figures:
    key = scope_key(who)
    with _lock:
        kept = _cache.get(key)
    if kept is not None and time.monotonic() - kept[0] < FRESH_FOR:
        return kept[1]
    made = _figures(session, who)
    with _lock:
        if len(_cache) > 1000:  # many distinct viewers: start over rather than grow without bound
            _cache.clear()
        _cache[key] = (time.monotonic(), made)
    return made


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, who: WebUser) -> Response:
    matrix = active_rulebook(session).matrix
    return render(
        request,
        "dashboard.html",
        {
            "title": "Dashboard",
            "f": figures(session, who),
            "matrix": matrix,
            "reports": who.sees_everything,
        },
        # Counts only: no case's content is on this page.
        marking="OFFICIAL",
    )
