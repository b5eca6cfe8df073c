"""Evaluation report time over a ~1M-event log, against a raw scan of the same columns.

    python bench/reports.py [--events 1000000]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/reports.py

Seeds a fresh database with a short simulated pathfinder (real service functions, so the events carry
real payloads and facts), then doubles the log with bulk INSERT ... SELECT (case ids shifted; the case
rows are copied with their events, since the report reads the case's marking and hub to apply the
reader's need-to-know) and trims it to whole cases, about --events rows.
Then times `workflow.reports.evaluation` over all of it (best of --repeat) against the raw driver
fetching the same columns in the same order (the floor any report in Python pays). SQLite always;
PostgreSQL too when SCTAC_BENCH_DATABASE_URL is set (a scratch database, dropped afterwards).
Last lines: ``<database> report: T s for N events (E events/s); goal 5 s; raw scan S s, ratio R``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from bench.scratch import postgres_database
from demo.simulation import run_demo
from workflow.access import Principal
from workflow.db import make_engine
from workflow.facts import COLUMNS as FACT_COLUMNS
from workflow.migrate import upgrade
from workflow.reports import OPERATOR, READ, evaluation
from workflow.tables import CASE, EVENT

OFFICIAL_READER = Principal("bench.analyst", frozenset({"analyst"}), clearance="OFFICIAL")
COPIED = [
    *("seq", "trigger", "from_state", "to_state", "actor", "reason", "payload", "created_at"),
    *("prev_hash", "hash", *FACT_COLUMNS),
]


def seed(engine: Engine, events: int) -> int:
    upgrade(engine)
    run_demo(engine, seed=11, weeks=6, requests=400, passwords=False)
    columns = ", ".join(COPIED)
    case_columns = ", ".join(f'"{c.name}"' for c in CASE.c if c.name not in ("id", "reference"))
    with engine.begin() as conn:
        total = conn.execute(text("SELECT count(*) FROM case_event")).scalar_one()
        while total < events:
            shift = conn.execute(text('SELECT max(id) FROM "case"')).scalar_one()
            # A copy's reference only has to be unique; the report never reads it.
            conn.execute(
                text(
                    f'INSERT INTO "case" (id, reference, {case_columns}) '
                    f"SELECT id + {shift}, 'C' || CAST(id + {shift} AS TEXT), {case_columns} "
                    'FROM "case"'
                )
            )
            conn.execute(
                text(
                    f"INSERT INTO case_event (case_id, {columns}) "
                    f"SELECT case_id + {shift}, {columns} FROM case_event"
                )
            )
            total = conn.execute(text("SELECT count(*) FROM case_event")).scalar_one()
        # Whole cases beyond the first `events` rows go: the log holds about --events rows, not up to twice.
        last = conn.execute(
            text("SELECT case_id FROM case_event ORDER BY case_id LIMIT 1 OFFSET :n"), {"n": events}
        ).scalar_one_or_none()
        if last is not None:
            conn.execute(text("DELETE FROM case_event WHERE case_id >= :c"), {"c": last})
            conn.execute(text('DELETE FROM "case" WHERE id >= :c'), {"c": last})
        total = conn.execute(text("SELECT count(*) FROM case_event")).scalar_one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Fresh statistics (and, on PostgreSQL, the visibility map an index-only scan needs).
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("VACUUM ANALYZE case_event")
            conn.exec_driver_sql('VACUUM ANALYZE "case"')
    return int(total)


def raw_scan(engine: Engine) -> float:
    """The driver alone fetching what the report reads, in its order (no Python beyond the fetch)."""
    query = select(*(EVENT.c[name] for name in READ)).order_by(EVENT.c.case_id, EVENT.c.seq)
    sql = str(query.compile(dialect=engine.dialect))
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        postgres = engine.dialect.name == "postgresql"
        cursor = driver.cursor(name="raw", binary=True) if postgres else driver.cursor()
        t0 = time.perf_counter()
        cursor.execute(sql)
        while cursor.fetchmany(20_000):
            pass
        seconds = time.perf_counter() - t0
        cursor.close()
    return seconds


def bench(url: str, events: int, repeat: int) -> str:
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        total = seed(engine, events)
        dialect = engine.dialect.name
        print(f"{dialect}: seeded {total:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
        raw = min(raw_scan(engine) for _ in range(repeat))
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with Session(engine) as session:
                figures = evaluation(session, who=OPERATOR)
            times.append(time.perf_counter() - t0)
            assert figures["source"]["events_read"] == total
        print(
            f"{dialect}: report runs {', '.join(f'{t:.2f}' for t in times)} s; raw scan {raw:.2f} s",
            flush=True,
        )
        # The same report for a reader cleared for OFFICIAL only: the need-to-know semi-join on the case
        # table, and fewer cases to fold (about 40% of the demo's requests are OFFICIAL).
        narrow = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with Session(engine) as session:
                seen = evaluation(session, who=OFFICIAL_READER)["source"]["events_read"]
            narrow.append(time.perf_counter() - t0)
        print(f"{dialect}: OFFICIAL reader runs {', '.join(f'{t:.2f}' for t in narrow)} s", flush=True)
    finally:
        engine.dispose()
    best = min(times)
    return (
        f"{dialect} report: {best:.2f} s for {total:,} events ({total / best:,.0f} events/s); goal 5 s; "
        f"raw scan {raw:.2f} s, ratio {best / raw:.1f}x; OFFICIAL-only reader {min(narrow):.2f} s for "
        f"{seen:,} of those events, ratio {min(narrow) / raw:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="report runs per database (best counts)")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="sctac-bench-") as tmp:
        lines.append(bench(f"sqlite:///{tmp}/reports.db", args.events, args.repeat))
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        with postgres_database(pg) as url:
            lines.append(bench(url, args.events, args.repeat))
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to run it)", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
