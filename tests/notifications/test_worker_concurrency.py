"""Two workers over the same due timers on PostgreSQL: every timer fires, none twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications.worker import Limits, run_once
from tests.factories import request_data, unchecked
from tests.notifications.outbox_support import channels, clone_cases, deliveries, trigger_counts
from workflow import service
from workflow.db import utcnow
from workflow.models import EventOutbox, Timer

CASES = 400


def test_two_workers_share_due_timers_without_firing_any_twice(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one worker (it ignores SKIP LOCKED)")
    with Session(engine, expire_on_commit=False) as session:
        month_ago = utcnow() - timedelta(days=30)
        template = service.submit_case(
            session, request=request_data(protective_marking="OFFICIAL"), by=unchecked("ds.ne"), now=month_ago
        )
    clone_cases(engine, template_id=template.case_id, count=CASES - 1)
    # Small batches, so the two workers interleave many claims over the same rows.
    limits = Limits(timer_batch=25, event_batch=25, delivery_batch=25)
    start = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            fired = 0
            while True:
                report = run_once(engine, channels=channels(), limits=limits)
                fired += report.timers["fired"]
                if report.idle:
                    break
            done.append(fired)
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert sum(done) == CASES and all(n > 0 for n in done)  # both worked, together exactly once each
    breaches = trigger_counts(engine, "sla_breached")
    assert len(breaches) == CASES and set(breaches.values()) == {1}
    with Session(engine) as session:
        sla = session.execute(
            select(Timer.status, func.count()).where(Timer.kind == "sla").group_by(Timer.status)  # type: ignore[call-overload]
        ).all()
        assert [tuple(r) for r in sla] == [("fired", CASES)]
        assert session.scalar(select(func.count()).select_from(EventOutbox)) == 0
    rows = deliveries(engine)
    assert len({(d.event_id, d.recipient, d.channel) for d in rows}) == len(rows) == 2 * CASES
    assert {d.status for d in rows} == {"sent"}
