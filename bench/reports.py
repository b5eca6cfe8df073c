"""Evaluation report time over a large event log, against a raw scan of the same table.

    python bench/reports.py [--events 1000000] [--database sqlite:///path.db]

Seeds a fresh SQLite database with a short simulated pathfinder (real service functions, so the events
carry real payloads), then doubles the log with bulk INSERT ... SELECT (case ids shifted; only
case_event is copied, the only table the report reads) until it holds at least --events rows. Then times
`workflow.reports.evaluation` over all of it, a raw `SELECT count(*)` and a raw sqlite3 fetch of the
event columns in (case_id, seq) order. Last line: ``report: T s for N events (E events/s), ratio R``
where R is report time over the raw ordered scan.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from workflow.db import make_engine
from workflow.facts import COLUMNS as FACT_COLUMNS
from workflow.migrate import upgrade
from workflow.reports import evaluation
from workflow.simulation import run_demo

COLUMNS = ", ".join(
    [
        "case_id",
        "seq",
        "trigger",
        "from_state",
        "to_state",
        "actor",
        "reason",
        "payload",
        "created_at",
        "prev_hash",
        "hash",
        *FACT_COLUMNS,
    ]
)


def seed(path: Path, events: int) -> int:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    run_demo(engine, seed=11, weeks=6, requests=400, passwords=False)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")  # the copies' cases are not copied: the report reads events only
    total = conn.execute("SELECT count(*) FROM case_event").fetchone()[0]
    while total < events:
        shift = conn.execute("SELECT max(case_id) FROM case_event").fetchone()[0]
        conn.execute(
            f"INSERT INTO case_event ({COLUMNS}) SELECT case_id + {shift}, "
            f"{COLUMNS.split(', ', 1)[1]} FROM case_event"
        )
        conn.commit()
        total = conn.execute("SELECT count(*) FROM case_event").fetchone()[0]
        print(f"seeded {total} events", flush=True)
    # Whole cases beyond the first `events` rows go, so the log holds about --events rows, not up to twice.
    last = conn.execute(
        "SELECT case_id FROM case_event ORDER BY case_id LIMIT 1 OFFSET ?", (events,)
    ).fetchone()
    if last is not None:
        conn.execute("DELETE FROM case_event WHERE case_id >= ?", (last[0],))
        conn.commit()
        total = conn.execute("SELECT count(*) FROM case_event").fetchone()[0]
    conn.execute("ANALYZE")
    conn.close()
    return int(total)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="sctac-bench-")) / "reports.db"
    total = seed(path, args.events)

    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    conn.execute("SELECT count(*) FROM case_event").fetchone()
    count_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cursor = conn.execute(
        "SELECT case_id, trigger, from_state, to_state, actor, created_at "
        "FROM case_event ORDER BY case_id, seq"
    )
    while cursor.fetchmany(5000):
        pass
    scan_s = time.perf_counter() - t0
    conn.close()

    engine = make_engine(f"sqlite:///{path}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    with Session(engine) as session:
        figures = evaluation(session)
    report_s = time.perf_counter() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    assert figures["source"]["events_read"] == total
    print(f"raw count(*): {count_s:.3f} s; raw ordered scan of the event columns: {scan_s:.2f} s")
    print(f"peak RSS before the report {rss_before:.0f} MB, after {rss_after:.0f} MB")
    print(
        f"report: {report_s:.2f} s for {total} events ({total / report_s:,.0f} events/s), "
        f"ratio {report_s / scan_s:.1f}x the raw ordered scan, {report_s / count_s:.0f}x count(*)"
    )


if __name__ == "__main__":
    main()
