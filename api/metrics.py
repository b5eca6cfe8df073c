"""/metrics in the Prometheus text format (prometheus-client).

Two kinds of figure:
- counted where it happens, in whichever process it happens: request latency by route template (timed
  by api.logs' middleware), transitions by trigger, rule decisions by backend, timer firing lag (announced by
  workflow.observe, which this module listens to: workflow never imports api). With several processes
  (`sctac serve --workers N`) each writes its own files under PROMETHEUS_MULTIPROC_DIR and a scrape of
  any process adds them all up (prometheus-client's multi-process mode); a `sctac worker` given the same
  directory on the same host is added up too.
- computed from the database at scrape time, so they are the same whichever process answers: timers
  due and overdue, the oldest due timer's wait, the outbox backlog and lag, deliveries by channel and
  status, unresolved escalations by level (workflow.reads.operations, notifications.delivery).

Who may read it: with SCTAC_METRICS_TOKEN set, a request bearing that token; without, only a client on
this host (loopback), e.g. a Prometheus agent beside the server, or the proxy refusing /metrics.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api import problems
from api.logs import Scope, route_template
from api.serving import MULTIPROC_ENV
from notifications import delivery
from workflow import observe, principals
from workflow.reads import operations
from workflow.settings import Settings

SCRAPER = principals.system("system:metrics")

REQUESTS = Histogram(
    "sctac_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TRANSITIONS = Counter("sctac_transitions", "Case transitions committed, by trigger", ["trigger"])
RULE_DECISIONS = Counter("sctac_rule_decisions", "Routing and escalation rule evaluations", ["backend"])
TIMER_LAG = Histogram(
    "sctac_timer_firing_lag_seconds",
    "How late a timer fired after it fell due, by kind",
    ["kind"],
    buckets=(0.5, 1, 5, 15, 30, 60, 300, 900, 3600),
)


def _count(what: str, labels: dict[str, str], value: float) -> None:
    if what == observe.TRANSITION:
        TRANSITIONS.labels(trigger=labels["trigger"]).inc()
    elif what == observe.RULE_DECISION:
        RULE_DECISIONS.labels(backend=labels["backend"]).inc()
    elif what == observe.TIMER_FIRED:
        TIMER_LAG.labels(kind=labels["kind"]).observe(value)


def listen() -> None:
    """Count what workflow/ announces in this process (the API's processes and `sctac worker`)."""
    observe.listen(_count)


class DatabaseFigures(Collector):
    """Gauges read from the database at each scrape (the same answer from every process)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            g = operations.gauges(session, who=SCRAPER)
            by_channel = delivery.channel_status_counts(session)
        yield GaugeMetricFamily("sctac_timers_due", "Pending timers due now", value=g.timers_due)
        yield GaugeMetricFamily(
            "sctac_timers_overdue",
            f"Pending timers due over {operations.OVERDUE_AFTER.total_seconds():.0f} s ago",
            value=g.timers_overdue,
        )
        yield GaugeMetricFamily(
            "sctac_timer_oldest_due_seconds",
            "How long the longest-waiting due timer has waited",
            value=g.oldest_due_seconds,
        )
        yield GaugeMetricFamily(
            "sctac_outbox_pending", "Events not yet turned into deliveries", value=g.outbox_pending
        )
        yield GaugeMetricFamily(
            "sctac_outbox_lag_seconds",
            "Age of the oldest event not yet dispatched",
            value=g.outbox_lag_seconds,
        )
        deliveries = GaugeMetricFamily(
            "sctac_deliveries", "Notification deliveries by channel and status", labels=["channel", "status"]
        )
        for (channel, status), n in sorted(by_channel.items()):
            deliveries.add_metric([channel, status], n)
        yield deliveries
        escalations = GaugeMetricFamily(
            "sctac_escalations_open", "Unresolved escalations by ladder level", labels=["level"]
        )
        for level, n in sorted(g.escalations_open.items()):
            escalations.add_metric([str(level)], n)
        yield escalations


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """One request's duration, labelled with its route template (bounded labels: a caller inventing
    methods or paths adds no series); api.logs calls it."""
    method = scope["method"] if scope["method"] in _METHODS else "other"
    REQUESTS.labels(method=method, route=route_template(scope), status=str(status)).observe(seconds)


def _allowed(request: Request, settings: Settings) -> bool:
    if settings.metrics_token is not None:
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        return hmac.compare_digest(given.encode(), settings.metrics_token.get_secret_value().encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposition(engine: Engine) -> bytes:
    """Every figure as Prometheus text: this process's (or, in multi-process mode, all processes')
    counters and histograms, then the database's gauges."""
    if os.environ.get(MULTIPROC_ENV):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    from_db = CollectorRegistry(auto_describe=False)
    from_db.register(DatabaseFigures(engine))
    return generate_latest(counted) + generate_latest(from_db)


def install(app: FastAPI, settings: Settings) -> None:
    listen()

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not _allowed(request, settings):
            detail = (
                "send Authorization: Bearer <SCTAC_METRICS_TOKEN>"
                if settings.metrics_token is not None
                else "metrics are served to this host only (or set SCTAC_METRICS_TOKEN)"
            )
            return problems.problem(403, "Forbidden", detail, "forbidden")
        return Response(exposition(request.app.state.engine), media_type=CONTENT_TYPE_LATEST)
