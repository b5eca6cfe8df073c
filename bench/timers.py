"""Claiming and firing due timers among a million open cases, and what a second worker adds.

    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/timers.py [--cases N]
    python bench/timers.py --sqlite [--cases 100000]

Seeds N open cases, each with its SLA timer, straight into the tables with one INSERT ... SELECT over
``generate_series`` (copies of one case submitted through the service; the copies' hash chains are not
valid, which claim and fire do not look at, and their ladder is empty so firing adds no new timers).
Three groups of timers are due at three moments in the past; every other timer is due in the future:

  A  claim 1,000 at a time (claim alone), then fire the claimed ones     -> ms per 1,000 claimed / fired
  B  one worker process claims and fires its group until none is due    -> timers/s
  C  two worker processes do the same for a group of the same size      -> timers/s, speed-up over one

Goals: < 100 ms per 1,000 claimed; >= 1.8x with two workers. Ratios print last.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.scratch import postgres_database
from tests.conftest import USERS
from tests.factories import request_data
from workflow import service, timers
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade
from workflow.models import Case, Timer, User
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

CASE, TIMER = Case.__table__, Timer.__table__  # type: ignore[attr-defined]
NOW = utcnow().replace(microsecond=0)
MOMENTS = {"A": NOW - timedelta(days=30), "B": NOW - timedelta(days=20), "C": NOW - timedelta(days=10)}


def seed(engine: Engine, *, cases: int, group: int) -> None:
    with Session(engine) as s:
        rules = get_rulebook()
        sync_reference(s, rules=rules)
        for user in USERS:
            s.add(User(**user))
        s.commit()
        template = service.submit_case(
            s, request=request_data(protective_marking="OFFICIAL"), by=system("ds.ne"), now=NOW, rules=rules
        ).case_id
        s.execute(text("UPDATE timer SET status = 'cancelled' WHERE case_id = :t"), {"t": template})
        s.commit()
    columns = [c.name for c in CASE.columns if c.name not in ("id", "reference")]
    copied = ", ".join(f'"{c}"' for c in columns)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        recursive = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n)"
        series = "generate_series(1, :n) AS g(i)" if pg else f"({recursive} SELECT i FROM g) AS g"
        # Copies of the template with no escalation ladder: firing one raises its escalation and stops.
        policy = "(t.policy::jsonb - 'ladder')::json" if pg else "json_remove(t.policy, '$.ladder')"
        selected = ", ".join("policy" if c == "policy" else f't."{c}"' for c in columns)
        selected = selected.replace("policy", f"{policy} AS policy", 1)
        conn.execute(
            text(
                f'INSERT INTO "case" ({copied}, reference) SELECT {selected}, '
                f"'BENCH-' || g.i FROM \"case\" t, {series} WHERE t.id = :t"
            ),
            {"n": cases, "t": template},
        )
        # Groups A, B and C are due at three moments in the past; everything else tomorrow or later.
        due = (
            "CASE WHEN c.id % :k = 0 AND c.id / :k % 3 = 0 THEN :a "
            "WHEN c.id % :k = 0 AND c.id / :k % 3 = 1 THEN :b "
            "WHEN c.id % :k = 0 THEN :c ELSE :later END"
        )
        conn.execute(
            text(
                "INSERT INTO timer (case_id, kind, due_at, status, detail, rule, ruleset_version, attempts, "
                f"created_at) SELECT c.id, t.kind, {due}, 'pending', t.detail, t.rule, t.ruleset_version, 0, "
                ':now FROM "case" c, timer t WHERE t.case_id = :t AND c.id <> :t'
            ),
            {
                "t": template,
                "k": max(1, cases // (3 * group)),
                "a": _bind(conn, MOMENTS["A"]),
                "b": _bind(conn, MOMENTS["B"]),
                "c": _bind(conn, MOMENTS["C"]),
                "later": _bind(conn, NOW + timedelta(days=1)),
                "now": _bind(conn, NOW),
            },
        )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"seeded {cases:,} cases and timers in {time.perf_counter() - t0:.1f} s", flush=True)


def _bind(conn: Any, moment: Any) -> Any:
    # Raw SQL bypasses the UTCDateTime column type: SQLite stores naive UTC text, PostgreSQL takes aware.
    return moment.replace(tzinfo=None).isoformat(sep=" ") if conn.dialect.name == "sqlite" else moment


def claim_and_fire(engine: Engine, *, rounds: int) -> tuple[list[float], list[float]]:
    claim_ms: list[float] = []
    fire_ms: list[float] = []
    with Session(engine) as s:
        for _ in range(rounds):
            t0 = time.perf_counter()
            ids = timers.claim_due(s, now=MOMENTS["A"], limit=1000)
            t1 = time.perf_counter()
            assert len(ids) == 1000, f"only {len(ids)} due"
            for timer_id in ids:
                assert timers.fire_timer(s, timer_id=timer_id, now=MOMENTS["A"]).result == "fired"
            t2 = time.perf_counter()
            claim_ms.append((t1 - t0) * 1000)
            fire_ms.append((t2 - t1) * 1000)
    return claim_ms, fire_ms


def _worker(url: str, group: str, ready: Any, go: Any, results: Any) -> None:
    engine = make_engine(url)
    fired = 0
    with Session(engine) as s:
        s.execute(text("SELECT 1"))
        s.rollback()
        ready.put(True)
        go.wait()
        while ids := timers.claim_due(s, now=MOMENTS[group], limit=100):
            fired += sum(timers.fire_timer(s, timer_id=i, now=MOMENTS[group]).result == "fired" for i in ids)
    engine.dispose()
    results.put(fired)


def workers(url: str, *, group: str, count: int) -> tuple[int, float]:
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(url, group, ready, go, results)) for _ in range(count)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    t0 = time.perf_counter()
    go.set()
    fired = sum(results.get() for _ in procs)
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return fired, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--group", type=int, default=3000, help="timers due in each of groups A, B, C")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    with ExitStack() as stack:
        if args.sqlite or not base:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='sctac-timers-')}/bench.db"
            cases = args.cases or 100_000
        else:
            url = stack.enter_context(postgres_database(base))
            cases = args.cases or 1_000_000
        engine = make_engine(url)
        stack.callback(engine.dispose)
        for line in run(engine, url, cases=cases, group=args.group):
            print(line)


def run(engine: Engine, url: str, *, cases: int, group: int) -> list[str]:
    upgrade(engine)
    seed(engine, cases=cases, group=group)
    dialect = engine.dialect.name
    rounds = max(1, group // 1000)
    claim_ms, fire_ms = claim_and_fire(engine, rounds=rounds)
    claim, fire = statistics.median(claim_ms), statistics.median(fire_ms)
    print(f"{dialect}, {cases:,} open cases: claim {claim:.1f} ms per 1,000 claimed, "
          f"fire {fire:.0f} ms per 1,000 fired (median of {rounds})", flush=True)  # fmt: skip
    lines = [f"{dialect} claim: {claim:.1f} ms per 1,000; goal 100 ms; goal/measured {100 / claim:.2f}"]
    if dialect == "postgresql":
        one, t1 = workers(url, group="B", count=1)
        two, t2 = workers(url, group="C", count=2)
        print(f"1 worker: {one} fired in {t1:.2f} s = {one / t1:.0f}/s; "
              f"2 workers: {two} fired in {t2:.2f} s = {two / t2:.0f}/s", flush=True)  # fmt: skip
        lines.append(f"{dialect} 2 workers over 1: {(two / t2) / (one / t1):.2f}x (goal >= 1.8x)")
    else:
        lines.append("sqlite: one worker by design (no SKIP LOCKED); no two-worker figure")
    return lines


if __name__ == "__main__":
    main()
