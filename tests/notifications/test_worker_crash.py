"""Story 10: the worker is killed (SIGKILL) at random moments; on restart nothing is lost or done twice.

2,000 cases are submitted a month ago, so each has an assessment SLA timer long past due. A worker
*process* fires them, dispatches the events and sends the deliveries (in-app and e-mail to a real SMTP
server); the test kills it at random moments and starts it again, until nothing is left to do. Then:
every timer fired exactly once (one breach event per case), every delivery row exists exactly once and
was sent, and every e-mail reached the server (at least once, as the SMTP boundary promises).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from notifications.delivery import delivery_key
from notifications.models import Delivery
from tests.conftest import USERS
from tests.factories import request_data, unchecked
from tests.notifications.outbox_support import clone_cases, deliveries, set_user, trigger_counts
from tests.notifications.servers import smtp_server
from workflow import audit, service
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade
from workflow.models import EventOutbox, Timer, User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

CASES = 2000
KILLS = 6
ROOT = Path(__file__).resolve().parents[2]
SUP_EAST = "sup.east@met.example"
TIMER = Timer.__table__  # type: ignore[attr-defined]
DELIVERY = Delivery.__table__  # type: ignore[attr-defined]


def _start_worker(url: str, smtp_port: int, *, drain: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SCTAC_DATABASE_URL": url,
        "SCTAC_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SCTAC_MAIL_FROM": "sctac@centre.example",
    }
    # A one-second lease: a killed worker's claims come free quickly for the next one.
    args = ["--interval", "0.05", "--lease", "1"] + (["--drain"] if drain else [])
    return subprocess.Popen(
        [sys.executable, "-m", "notifications.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_until_started(proc: subprocess.Popen[bytes]) -> None:
    """Read the worker's log until it says it started (importing takes a while; killing before is moot).

    Only a few lines follow (one per batch), well within the pipe's buffer, so the worker never blocks.
    """
    assert proc.stderr is not None
    for line in proc.stderr:
        if b"worker started" in line:
            return
    raise AssertionError("the worker exited before it started")


def _work_left(session: Session) -> int:
    now = utcnow()
    timers = session.scalar(
        select(func.count()).select_from(TIMER).where(TIMER.c.status == "pending", TIMER.c.due_at <= now)
    )
    outbox = session.scalar(select(func.count()).select_from(EventOutbox))
    unsent = session.scalar(select(func.count()).select_from(DELIVERY).where(DELIVERY.c.status != "sent"))
    session.rollback()
    return int(timers or 0) + int(outbox or 0) + int(unsent or 0)


@pytest.mark.slow
def test_killing_the_worker_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(20261127)
    with Session(engine, expire_on_commit=False) as session:
        rules = get_rulebook()
        sync_reference(session, rules=rules)
        for user in USERS:
            session.add(User(**user))
        session.commit()
        set_user(engine, "sup.east", email=SUP_EAST)
        month_ago = utcnow() - timedelta(days=30)
        request = request_data(protective_marking="OFFICIAL")
        template = service.submit_case(
            session, request=request, by=unchecked("ds.ne"), now=month_ago, rules=rules
        )
        clone_cases(engine, template_id=template.case_id, count=CASES - 1)
        due = session.scalar(select(func.count()).select_from(TIMER).where(TIMER.c.due_at <= utcnow()))
        assert due == CASES

        kills = 0
        with smtp_server() as mail:
            while kills < KILLS and _work_left(session):
                proc = _start_worker(url, mail.port, drain=False)
                _wait_until_started(proc)
                time.sleep(rng.uniform(0.1, 3.0))  # somewhere in the middle of a batch
                proc.kill()  # SIGKILL: no clean-up, no last commit
                proc.wait()
                kills += 1
            for _ in range(10):
                time.sleep(1.1)  # the killed worker's leases run out
                proc = _start_worker(url, mail.port, drain=True)
                _wait_until_started(proc)
                assert proc.wait(timeout=600) == 0
                if not _work_left(session):
                    break
            assert _work_left(session) == 0, "the workers did not finish"
            received = [m.message["X-Sctac-Delivery"] for m in mail.received]

        assert kills >= 3
        timers = session.execute(
            select(TIMER.c.kind, TIMER.c.status, func.count()).group_by(TIMER.c.kind, TIMER.c.status)
        ).all()
        assert ("sla", "fired", CASES) in [tuple(t) for t in timers]
        assert not [t for t in timers if t[0] == "sla" and t[1] != "fired"]
        breaches = trigger_counts(engine, "sla_breached")
        assert len(breaches) == CASES and set(breaches.values()) == {1}

        rows = deliveries(engine)
        keys = {(d.event_id, d.recipient, d.channel) for d in rows}
        assert (
            len(keys) == len(rows) == 3 * CASES
        )  # submit -> requester; breach -> supervisor in-app + e-mail
        assert {d.status for d in rows} == {"sent"}
        emails = {delivery_key(d.id or 0) for d in rows if d.channel == "email"}
        assert len(emails) == CASES and set(received) == emails  # at least once each at the SMTP boundary
        assert len(received) - len(emails) <= kills  # a resend only where a kill fell between send and commit
        assert audit.verify(session).ok  # every hash chain intact
    engine.dispose()
