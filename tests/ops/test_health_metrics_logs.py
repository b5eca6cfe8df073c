"""Running it for real (issue 15): /readyz, /metrics and the JSON access log, on both databases."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api import logs
from api.app import create_app
from tests.api.clients import add_cast, assert_problem, auth, make_case
from tests.factories import p1_escalated
from workflow import heartbeats
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade
from workflow.settings import Settings
from workflow.statuses import TimerStatus
from workflow.tables import TIMER

TOKEN = "metrics-token-" + "m" * 20


def client(engine: Engine, **settings: object) -> TestClient:
    return TestClient(create_app(engine=engine, settings=Settings(**settings)), raise_server_exceptions=False)  # type: ignore[arg-type]


def figures(c: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


# -- readiness ------------------------------------------------------------------------------------------


def test_readyz_wants_a_recent_worker_pass(engine: Engine) -> None:
    c = client(engine, ready_worker_seconds=60)
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "unavailable",
        "database": "ok",
        "migrations": "ok",
        "rules": "ok",
        "worker": "no worker has run",
    }
    with Session(engine) as s:
        heartbeats.beat(s, name="host-a:1", now=utcnow() - timedelta(minutes=5))
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["worker"].startswith("last worker pass 300 s ago")
    with Session(engine) as s:
        heartbeats.beat(s, name="host-b:2")
    r = c.get("/readyz")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "ok" and r.headers["cache-control"] == "no-store"


def test_readyz_can_leave_the_worker_out(engine: Engine) -> None:
    r = client(engine, ready_worker_seconds=0).get("/readyz")
    assert r.status_code == 200 and "worker" not in r.json()


def test_readyz_names_an_unmigrated_database(blank_engine: Engine) -> None:
    r = client(blank_engine, ready_worker_seconds=0).get("/readyz")
    assert r.status_code == 503
    assert r.json()["migrations"] == "unknown: run `sctac db upgrade`" or r.json()["migrations"].startswith(
        "behind"
    )


def test_a_heartbeat_row_counts_its_passes(engine: Engine) -> None:
    with Session(engine) as s:
        heartbeats.beat(s, name="w:1")
        heartbeats.beat(s, name="w:1")
        assert heartbeats.latest_beat(s) is not None
    from sqlalchemy import select

    from workflow.tables import HEARTBEAT

    with engine.connect() as conn:
        assert conn.execute(select(HEARTBEAT.c.passes).where(HEARTBEAT.c.name == "w:1")).scalar_one() == 2


# -- metrics --------------------------------------------------------------------------------------------


def test_metrics_are_refused_without_the_token_or_from_elsewhere(engine: Engine) -> None:
    # TestClient's peer is "testclient", not a loopback address: refused without a token.
    assert_problem(client(engine).get("/metrics"), 403)
    with_token = client(engine, metrics_token=TOKEN)
    assert_problem(with_token.get("/metrics"), 403)
    assert_problem(with_token.get("/metrics", headers={"Authorization": "Bearer wrong"}), 403)
    assert with_token.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_count_transitions_decisions_and_requests_by_route(engine: Engine) -> None:
    add_cast(engine)
    c = client(engine, metrics_token=TOKEN)
    before = figures(c)
    made = make_case(engine, "submitted")  # submit (one rule decision)
    headers = {**auth(engine, "analyst.centre"), "If-Match": f'"{made.version}"'}
    r = c.post(f"/api/v1/cases/{made.id}/transitions/reject", json={"reason": "not ours"}, headers=headers)
    assert r.status_code == 200, r.text
    after = figures(c)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("sctac_transitions_total", trigger="submit") == 1
    assert delta("sctac_transitions_total", trigger="reject") == 1
    assert delta("sctac_rule_decisions_total", backend=engine_backend()) >= 1
    route = "/api/v1/cases/{case_id}/transitions/{trigger}"
    assert delta("sctac_http_request_duration_seconds_count", method="POST", route=route, status="200") == 1
    # Labelled by template, never by the raw path of one case.
    assert not any(f"/cases/{made.id}/" in dict(k[1]).get("route", "") for k in after)


def engine_backend() -> str:
    from workflow.rulebook import get_rulebook

    return get_rulebook().compiled.backend


def test_metrics_gauges_come_from_the_database(engine: Engine) -> None:
    c = client(engine, metrics_token=TOKEN)
    with Session(engine, expire_on_commit=False) as s:
        p1_escalated(s)  # one rule escalation at level 1, and its timers
    with engine.begin() as conn:
        # Two pending timers made due: one just now, one over the overdue threshold (a minute) ago.
        ids = [r[0] for r in conn.execute(TIMER.select().where(TIMER.c.status == TimerStatus.PENDING))][:2]
        assert len(ids) == 2
        conn.execute(update(TIMER).where(TIMER.c.id == ids[0]).values(due_at=utcnow() - timedelta(seconds=5)))
        conn.execute(
            update(TIMER).where(TIMER.c.id == ids[1]).values(due_at=utcnow() - timedelta(minutes=10))
        )
    got = figures(c)
    assert got[("sctac_timers_due", ())] == 2
    assert got[("sctac_timers_overdue", ())] == 1
    assert 590 <= got[("sctac_timer_oldest_due_seconds", ())] < 900
    assert got[("sctac_outbox_pending", ())] == 2  # submit and assess, not yet dispatched
    assert got[("sctac_outbox_lag_seconds", ())] >= 0
    assert got[("sctac_escalations_open", (("level", "1"),))] == 1


# -- logs -----------------------------------------------------------------------------------------------


@pytest.fixture
def access_log() -> io.StringIO:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.Formatter(["asctime", "levelname", "name", "message"]))
    handler.addFilter(logs.RequestFields())
    logger = logging.getLogger("sctac.http")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_request_id_actor_and_case_in_one_json_line(engine: Engine, access_log: io.StringIO) -> None:
    add_cast(engine)
    made = make_case(engine, "submitted")
    c = client(engine)
    r = c.get(
        f"/api/v1/cases/{made.id}?q=Jane+Doe", headers={**auth(engine, "admin"), "X-Request-ID": "req-42"}
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-42"
    line = json.loads(access_log.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "req-42" and line["actor"] == "admin" and line["case_id"] == made.id
    assert line["message"] == "GET /api/v1/cases/{case_id} 200" and line["status"] == 200
    assert "Jane" not in access_log.getvalue()  # no query string, no raw path


def test_a_request_id_that_could_forge_a_line_is_replaced(engine: Engine, access_log: io.StringIO) -> None:
    r = client(engine).get("/healthz", headers={"X-Request-ID": "x\r forged line"})
    given = r.headers["x-request-id"]
    assert given != "x\r forged line" and len(given) == 32
    assert json.loads(access_log.getvalue().strip().splitlines()[-1])["request_id"] == given
    assert "actor" not in json.loads(access_log.getvalue().strip().splitlines()[-1])


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_worker_logs_in_the_format_set(fmt: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    blank = make_engine(url)
    upgrade(blank)
    blank.dispose()
    out = subprocess.run(
        [str(Path(sys.executable).with_name("sctac")), "worker", "--once"],
        env={**os.environ, "SCTAC_DATABASE_URL": url, "SCTAC_LOG_FORMAT": fmt},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    summary = "timers: 0; outbox: 0 events -> 0 deliveries; sent 0, failed 0, dead 0"
    if fmt == "json":
        line = json.loads(last)
        assert {k: line[k] for k in ("level", "logger", "message")} == {
            "level": "INFO",
            "logger": "sctac.worker",
            "message": summary,
        }
        assert "request_id" not in line  # no request, no empty field
    else:
        assert last.endswith(f" INFO sctac.worker [- -] {summary}")


def test_made_up_paths_and_methods_add_no_series(engine: Engine) -> None:
    c = client(engine, metrics_token=TOKEN)
    for n in range(3):
        assert c.get(f"/no/such/page/{n}").status_code == 404
        c.request("BREW", f"/coffee/{n}")
    routes = {dict(labels).get("route") for name, labels in figures(c) if name.startswith("sctac_http_")}
    methods = {dict(labels).get("method") for name, labels in figures(c) if name.startswith("sctac_http_")}
    assert not any(r and r.startswith(("/no/", "/coffee/")) for r in routes)
    assert "unmatched" in routes and "BREW" not in methods and "other" in methods
