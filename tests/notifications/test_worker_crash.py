"""Story 10: the worker is killed (SIGKILL) at chosen points of a batch; nothing is lost or done twice.

Sixty cases are submitted a month ago, so each has an assessment SLA timer long past due. A worker
*process* fires them, dispatches the events and sends the deliveries (in-app, and e-mail to a real SMTP
server). Each run is armed to stop at one point of its batch (notifications.crashpoints): after a claim,
inside a timer's firing transaction, inside a dispatch, after an e-mail attempt is recorded, after the
mail server accepted a message. It tells the test through a pipe that it is there, and the test kills
it there with SIGKILL. Once the dead worker's lease has lapsed (SCTAC_LEASE_SECONDS=1 here) the next run
goes on; a last one drains what is left. Then: every timer fired exactly once (one breach event per
case), every delivery row exists once and was sent, every e-mail reached the server, and the only one
that reached it twice is the one whose send the kill fell after, with the same Message-ID both times.
"""

from __future__ import annotations

import os
import select as selectors
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications.delivery import delivery_key
from notifications.models import DeliveryStatus
from notifications.tables import DELIVERY
from tests.factories import request_data, unchecked
from tests.notifications.outbox_support import clone_cases, deliveries, set_user, trigger_counts
from tests.notifications.servers import smtp_server
from workflow import audit, service
from workflow.db import utcnow
from workflow.tables import OUTBOX, TIMER

CASES = 60
ROOT = Path(__file__).resolve().parents[2]
SUP_EAST = "sup.east@met.example"
APP_NAME = "sctac-crash-test-worker"  # how the test finds the dead worker's PostgreSQL sessions
# (point, on which arrival): each leaves work behind for the next run, in the order a batch meets them.
KILLS = [
    ("timers.claimed", 1),  # every due timer leased, none fired
    ("timers.commit", 10),  # nine fired and committed, the tenth written but not committed
    ("dispatch.commit", 1),  # every event's deliveries written, not committed
    ("delivery.sending", 5),  # four e-mails sent; the fifth recorded as an attempt, not sent
    ("delivery.sent", 7),  # the seventh accepted by the mail server, its row not marked sent
]


def _worker(
    url: str, smtp_port: int, crashpoint: tuple[str, int] | None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `python -m notifications.worker` armed at `crashpoint`; returns it and the pipe to read."""
    read_end, write_end = os.pipe()
    env = {
        **os.environ,
        "SCTAC_DATABASE_URL": url,
        "SCTAC_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SCTAC_MAIL_FROM": "sctac@centre.example",
        "SCTAC_LEASE_SECONDS": "1",  # a dead worker's rows come free a second after its last heartbeat
        "PGAPPNAME": APP_NAME,
    }
    if crashpoint is not None:
        env["SCTAC_TEST_CRASHPOINT"] = f"{crashpoint[0]}:{crashpoint[1]}"
        env["SCTAC_TEST_CRASHPOINT_FD"] = str(write_end)
    args = ["--interval", "0.05"] + (["--drain"] if crashpoint is None else [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifications.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
    )
    os.close(write_end)  # the worker holds the only write end: its death reads as end-of-file
    return proc, read_end


def _kill_at(proc: subprocess.Popen[bytes], pipe: int, point: str) -> None:
    """Wait (on the pipe, not a clock) until the worker stands at `point`, then SIGKILL it."""
    try:
        ready, _, _ = selectors.select([pipe], [], [], 120)
        said = os.read(pipe, 100).decode().strip() if ready else ""
    finally:
        os.close(pipe)
        proc.kill()  # SIGKILL: no clean-up, no last commit
        _, err = proc.communicate()
    assert said == point, f"the worker never reached {point}: {err.decode()[-2000:]}"


def _wait_for_leases_to_lapse(engine: Engine) -> None:
    """Let go of the dead worker: its database sessions end, then its leases run out (one second)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # The server notices the killed client's closed socket and rolls its transaction back; until
            # then its row locks are held (and a SKIP LOCKED claim would pass those rows by).
            for _ in range(600):
                alive = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APP_NAME},
                ).scalar_one()
                # A backend reads the others' status once per transaction and keeps that snapshot until
                # it ends: without this, a first look that saw the sessions would see them forever.
                conn.rollback()
                if not alive:
                    break
                time.sleep(0.05)  # polling a condition, with a bound
            else:
                raise AssertionError("the killed worker's database sessions never ended")
        last = max(
            (
                u
                for table in (TIMER, DELIVERY)
                for u in [conn.execute(select(func.max(table.c.claimed_until))).scalar_one()]
                if u is not None
            ),
            default=None,
        )
    if last is not None and (left := (last - utcnow()).total_seconds()) > 0:
        time.sleep(left + 0.01)  # the lease is the behaviour under test: it ends at a known moment


def _work_left(engine: Engine) -> int:
    with engine.connect() as conn:
        now = utcnow()
        timers = conn.execute(
            select(func.count()).select_from(TIMER).where(TIMER.c.status == "pending", TIMER.c.due_at <= now)
        ).scalar_one()
        outbox = conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one()
        unsent = conn.execute(
            select(func.count()).select_from(DELIVERY).where(DELIVERY.c.status != DeliveryStatus.SENT)
        ).scalar_one()
    return int(timers) + int(outbox) + int(unsent)


def _in_flight(engine: Engine) -> list[str]:
    """Delivery keys of the rows a killed worker left "maybe sent"."""
    with engine.connect() as conn:
        ids = conn.execute(select(DELIVERY.c.id).where(DELIVERY.c.status == DeliveryStatus.SENDING)).scalars()
        return [delivery_key(i) for i in ids]


@pytest.mark.slow  # six worker processes: most of its time is their start-up
def test_killing_the_worker_at_each_point_of_a_batch_loses_nothing_and_repeats_nothing(
    engine: Engine,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    set_user(engine, "sup.east", email=SUP_EAST)
    with Session(engine, expire_on_commit=False) as session:
        month_ago = utcnow() - timedelta(days=30)
        request = request_data(protective_marking="OFFICIAL")
        template = service.submit_case(session, request=request, by=unchecked("ds.ne"), now=month_ago)
    clone_cases(engine, template_id=template.case_id, count=CASES - 1)

    with smtp_server() as mail:
        in_flight: dict[str, list[str]] = {}
        last_received = ""
        for point, nth in KILLS:
            assert _work_left(engine), f"nothing left to do before the kill at {point}"
            proc, pipe = _worker(url, mail.port, (point, nth))
            _kill_at(proc, pipe, point)
            in_flight[point] = _in_flight(engine)
            if point == "delivery.sent":
                last_received = mail.received[-1].message["X-Sctac-Delivery"]
            _wait_for_leases_to_lapse(engine)
        proc, pipe = _worker(url, mail.port, None)
        os.close(pipe)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert _work_left(engine) == 0, "the drain left work behind"
        received = Counter(m.message["X-Sctac-Delivery"] for m in mail.received)
        message_ids = {(m.message["X-Sctac-Delivery"], m.message["Message-ID"]) for m in mail.received}

    # Timers: each fired once, one breach event per case, whatever the kills interrupted.
    with engine.connect() as conn:
        sla = conn.execute(
            select(TIMER.c.status, func.count()).where(TIMER.c.kind == "sla").group_by(TIMER.c.status)
        ).all()
    assert [tuple(r) for r in sla] == [("fired", CASES)]
    breaches = trigger_counts(engine, "sla_breached")
    assert len(breaches) == CASES and set(breaches.values()) == {1}

    # Deliveries: submit -> requester in-app; breach -> supervisor in-app and e-mail. Each once, all sent.
    rows = deliveries(engine)
    assert len({(d.event_id, d.recipient, d.channel) for d in rows}) == len(rows) == 3 * CASES
    assert {d.status for d in rows} == {DeliveryStatus.SENT}

    # A kill before any attempt leaves nothing "maybe sent"; a kill after an attempt is recorded leaves
    # exactly that one row so, whether the message had left (delivery.sent) or not (delivery.sending).
    for point in ("timers.claimed", "timers.commit", "dispatch.commit"):
        assert in_flight[point] == [], point
    (not_sent,) = in_flight["delivery.sending"]
    # The row the previous kill left may still wait for its retry when this kill falls (its lease and
    # backoff decide when it is taken again): this kill itself leaves exactly one more.
    (sent_unrecorded,) = [key for key in in_flight["delivery.sent"] if key != not_sent]
    assert sent_unrecorded == last_received

    # E-mail: every one reached the server; the only one that reached it twice is the one the kill fell
    # after, both copies under one Message-ID (what receivers de-duplicate on).
    emails = {delivery_key(d.id or 0): d for d in rows if d.channel == "email"}
    assert len(emails) == CASES and set(received) == set(emails)
    assert {key: n for key, n in received.items() if n > 1} == {sent_unrecorded: 2}
    assert received[not_sent] == 1
    assert len(message_ids) == len(emails)  # one Message-ID per delivery, however often it went
    # The rows re-sent after an unknown outcome say so, and keep saying so after their success.
    for key in (not_sent, sent_unrecorded):
        assert "outcome was never recorded" in (emails[key].last_error or "")
        assert emails[key].attempts == 2
    others = [d for key, d in emails.items() if key not in (not_sent, sent_unrecorded)]
    assert {d.attempts for d in others} == {1} and {d.last_error for d in others} == {None}
    with Session(engine) as session:
        assert audit.verify(session).ok  # every hash chain intact
