"""The scale-out story end to end (issue 15): two API processes and two workers on a fresh PostgreSQL
database, real subprocesses on real ports. A case goes through its life over HTTP, each step on the
other process than the last (a page sign-in too: made on one, used on the other, so the shared
SCTAC_SECRET_KEY is what makes it work); its timers are made due in the database and fired by whichever
worker claims them. Then: every event once and in order, every delivery once (a webhook receiver counts
them), `sctac audit verify` clean.

Conditions are awaited by polling with a deadline, never by fixed sleeps.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import subscriptions
from notifications.tables import DELIVERY
from tests.conftest import _new_postgresql_database
from tests.factories import DEFAULT_DATA, add_people, request_data
from tests.notifications.servers import free_port, webhook_receiver
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade
from workflow.reference import sync_reference
from workflow.statuses import TimerStatus
from workflow.tables import EVENT, HEARTBEAT, OUTBOX, TIMER

pytestmark = pytest.mark.postgres

SCTAC = str(Path(sys.executable).with_name("sctac"))
PASSWORD = "correct horse battery staple"
PEOPLE = [
    ("req.ne", ["requester"], "NE", None),
    ("analyst.centre", ["analyst"], None, None),
    ("sup.centre", ["supervisor"], None, None),
    ("owner.east2", ["case_owner"], None, "EAST"),
]
# Who fires each step of the life (the roles workflow/triggers.py grants it).
STEPS = [
    ("assess", "analyst.centre"),
    ("prioritise", "sup.centre"),
    ("task", "sup.centre"),
    ("review", "owner.east2"),
    ("close", "owner.east2"),
]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def until(what: str, check: Callable[[], Any], seconds: float = 40.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting {seconds:.0f} s for: {what}")
        time.sleep(0.05)  # a poll interval, not a wait for something to happen


@pytest.fixture
def database() -> Iterator[Engine]:
    with _new_postgresql_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as s:
            sync_reference(s)
            add_people(s, PEOPLE, password=PASSWORD)
        try:
            yield engine
        finally:
            engine.dispose()


class Processes:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        out = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen([SCTAC, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        self.running.append((name, proc))

    def check_alive(self) -> None:
        for name, proc in self.running:
            if proc.poll() is not None:
                log = (self.folder / f"{name}.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log}")

    def stop(self) -> None:
        for _, proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self.running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def _ready(base: str, procs: Processes) -> bool:
    procs.check_alive()
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_api_processes_and_two_workers_on_postgresql(
    database: Engine, processes: Processes, tmp_path: Path
) -> None:
    engine = database
    env = {
        **os.environ,
        "SCTAC_DATABASE_URL": engine.url.render_as_string(hide_password=False).replace("+psycopg", ""),
        "SCTAC_SECRET_KEY": "shared-session-key-" + "s" * 32,
        "SCTAC_CHECKPOINT_PATH": str(tmp_path / "checkpoint"),
        "SCTAC_WORKER_INTERVAL": "0.2",
        "SCTAC_LOG_FORMAT": "json",
    }
    with webhook_receiver("set-below") as (hook_url, receiver):
        with Session(engine, expire_on_commit=False) as s:
            sub = subscriptions.add_subscription(
                s, name="partner", url=hook_url, actor="test", clearance="OFFICIAL-SENSITIVE"
            )
        receiver.secret = sub.secret

        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            processes.start(f"api{i}", ["serve", "--port", str(port), "--no-worker"], env)
        for i in range(2):
            processes.start(f"worker{i}", ["worker", "--interval", "0.2"], env)
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            until(f"{base}/readyz", lambda base=base: _ready(base, processes), seconds=90)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(HEARTBEAT)).scalar_one() == 2

        http = httpx.Client(timeout=30)
        turn = iter(range(1000))

        def other() -> str:
            return bases[next(turn) % 2]

        # A page sign-in: the form from one process, posted to the other, the session used on the first.
        form = http.get(f"{bases[0]}/login")
        assert form.status_code == 200
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        signed_in = http.post(
            f"{bases[1]}/login",
            data={
                "username": "req.ne",
                "password": PASSWORD,
                "csrf_token": csrf.group(1),
                "next": "/requests",
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        page = http.get(f"{bases[0]}/requests", follow_redirects=False)
        assert page.status_code == 200, (page.status_code, page.headers.get("location"))

        tokens = {}
        for username, *_ in PEOPLE:
            r = http.post(f"{other()}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        body = request_data()
        body.pop("requesting_unit")
        r = http.post(f"{other()}/api/v1/cases", json=body, headers=tokens["req.ne"])
        assert r.status_code == 201, r.text
        case_id, etag = r.json()["id"], r.headers["etag"]
        assert r.json()["hub"] == "EAST"

        fired = ["submit"]
        for trigger, who in STEPS:
            if trigger == "review":
                timers_fire(engine, case_id, processes)
                # The version moved on with the timers' events: read it on one process, act on the other.
                r = http.get(f"{other()}/api/v1/cases/{case_id}", headers=tokens[who])
                assert r.status_code == 200, r.text
                etag = r.headers["etag"]
            data = dict(DEFAULT_DATA[trigger])
            if trigger == "task":
                data["owner"] = "owner.east2"
            r = http.post(
                f"{other()}/api/v1/cases/{case_id}/transitions/{trigger}",
                json=data,
                headers={**tokens[who], "If-Match": etag},
            )
            assert r.status_code == 200, (trigger, r.text)
            etag = r.headers["etag"]
            fired.append(trigger)
        assert r.json()["state"] == "closed"

        def settled() -> bool:
            processes.check_alive()
            with engine.connect() as conn:
                outbox = conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one()
                unsent = conn.execute(
                    select(func.count()).select_from(DELIVERY).where(DELIVERY.c.status != "sent")
                ).scalar_one()
            return outbox == 0 and unsent == 0

        until("every event dispatched and every delivery sent", settled)

        with engine.connect() as conn:
            events = conn.execute(
                select(EVENT.c.seq, EVENT.c.trigger, EVENT.c.actor)
                .where(EVENT.c.case_id == case_id)
                .order_by(EVENT.c.seq)
            ).all()
            timers_fired = conn.execute(
                select(func.count())
                .select_from(TIMER)
                .where(TIMER.c.case_id == case_id, TIMER.c.status == TimerStatus.FIRED)
            ).scalar_one()
            deliveries = conn.execute(select(DELIVERY.c.id, DELIVERY.c.channel, DELIVERY.c.event_id)).all()

    # Every event once, in order: seq 1..n with no gap or repeat; each person's step once, in the order
    # fired; one system event for each timer that fired (no timer fired twice by the two workers).
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    people_events = [e.trigger for e in events if e.actor != "system"]
    assert people_events == fired
    assert sum(1 for e in events if e.actor == "system") == timers_fired >= 1

    # Every delivery once: one webhook POST accepted per webhook delivery row, none twice, none refused.
    hooks = [d for d in deliveries if d.channel == "webhook"]
    assert len(hooks) == len(events)  # the subscription wants every event of every case
    keys = Counter(req.headers["x-sctac-delivery"] for req in receiver.accepted)
    assert set(keys) == {f"sctac-delivery-{d.id}" for d in hooks}, (keys, hooks)
    assert all(n == 1 for n in keys.values()), keys
    assert receiver.refused == []
    assert {d.channel for d in deliveries} >= {"inapp", "webhook"}

    audit = subprocess.run([SCTAC, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.strip().startswith(f"audit ok: 1 cases, {len(events)} events checked")


def timers_fire(engine: Engine, case_id: int, processes: Processes) -> None:
    """Make every pending timer of the case due now (as a clock moved on would) and wait until a worker
    has fired or settled each; new timers their effects plan fall due later and stay pending."""
    with engine.begin() as conn:
        due = conn.execute(
            update(TIMER)
            .where(TIMER.c.case_id == case_id, TIMER.c.status == TimerStatus.PENDING)
            .values(due_at=utcnow() - timedelta(seconds=1))
            .returning(TIMER.c.id)
        ).all()
    ids = [row.id for row in due]
    assert ids, "a tasked case has review and SLA timers"

    def all_settled() -> bool:
        processes.check_alive()
        with engine.connect() as conn:
            left = conn.execute(
                select(func.count())
                .select_from(TIMER)
                .where(TIMER.c.id.in_(ids), TIMER.c.status == TimerStatus.PENDING)
            ).scalar_one()
        return left == 0

    until(f"timers {ids} fired by a worker", all_settled)


def test_serve_workers_2_adds_up_the_metrics_of_both_processes(
    database: Engine, processes: Processes, tmp_path: Path
) -> None:
    """uvicorn's multi-process mode from `sctac serve --workers 2`: whichever process answers a scrape,
    the request counts are those of both (prometheus-client's files, one set per process)."""
    folder = tmp_path / "metrics"
    env = {
        **os.environ,
        "SCTAC_DATABASE_URL": database.url.render_as_string(hide_password=False).replace("+psycopg", ""),
        "SCTAC_SECRET_KEY": "shared-session-key-" + "s" * 32,
        "SCTAC_READY_WORKER_SECONDS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    port = free_port()
    processes.start("api", ["serve", "--port", str(port), "--workers", "2", "--no-worker"], env)
    base = f"http://127.0.0.1:{port}"
    until("the supervisor's processes ready", lambda: _ready(base, processes), seconds=90)

    def both_serving() -> bool:
        # Each process writes its own files, named by its pid, from its first counted request on.
        httpx.get(f"{base}/healthz", timeout=5)
        return len({p.stem.rsplit("_", 1)[-1] for p in folder.glob("histogram_*.db")}) == 2

    until("both processes answering", both_serving)
    with httpx.Client(timeout=5) as http:
        before = _healthz_count(http.get(f"{base}/metrics").text)
        for _ in range(20):
            assert http.get(f"{base}/healthz").status_code == 200
        after = _healthz_count(http.get(f"{base}/metrics").text)
    assert after - before == 20


def _healthz_count(text: str) -> float:
    line = next(
        x
        for x in text.splitlines()
        if x.startswith("sctac_http_request_duration_seconds_count{") and '"/healthz"' in x
    )
    return float(line.rsplit(" ", 1)[1])
