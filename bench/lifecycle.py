"""Full lifecycles through the service layer against the raw commit rate of the same driver.

    python bench/lifecycle.py [--cases 400]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/lifecycle.py

Each lifecycle is submit -> assess -> prioritise -> task -> review -> close: six transactions, each a
compare-and-set, a hash-chained event and (submit, assess) the rules' decisions. The raw figure is one
single-row UPDATE + one INSERT per commit with the same driver and pragmas: the floor of any design
that records an event per state change. Ends with one line per database:
``sqlite: N transitions/s, raw M commits/s, ratio R``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bench.scratch import postgres_database
from tests.factories import DEFAULT_DATA, request_data
from workflow import service
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.models import User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

CYCLE = ["assess", "prioritise", "task", "review", "close"]


def run_lifecycles(engine: Engine, cases: int) -> float:
    rules = get_rulebook()
    request = request_data()
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s, rules=rules)
        s.add(User(username="owner.east", display_name="Owner", roles=["case_owner"], hub_code="EAST"))
        s.commit()
        service.submit_case(s, request=request, actor="warm", rules=rules)  # warm caches
        t0 = time.perf_counter()
        for _ in range(cases):
            done = service.submit_case(s, request=request, actor="ds.ne", rules=rules)
            for trigger in CYCLE:
                done = service.fire(
                    s,
                    case_id=done.case_id,
                    trigger=trigger,
                    actor="analyst1",
                    data=DEFAULT_DATA[trigger],
                    rules=rules,
                )
        elapsed = time.perf_counter() - t0
    return cases * (1 + len(CYCLE)) / elapsed


def raw_rate(execute: Callable[[int], None], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        execute(i)
    return n / (time.perf_counter() - t0)


def raw_sqlite(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, state TEXT, version INT)")
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, case_id INT, seq INT, payload TEXT)")
    conn.execute("INSERT INTO c VALUES (1, 'a', 0)")

    def one(i: int) -> None:
        conn.execute("BEGIN")
        conn.execute("UPDATE c SET state = ?, version = version + 1 WHERE id = 1 AND version = ?", ("b", i))
        conn.execute("INSERT INTO e (case_id, seq, payload) VALUES (1, ?, '{}')", (i,))
        conn.execute("COMMIT")

    rate = raw_rate(one, n)
    conn.close()
    return rate


def raw_postgres(url: str, n: int) -> float:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE bench_c (id INT PRIMARY KEY, state TEXT, version INT)")
        conn.execute("CREATE TABLE bench_e (id SERIAL PRIMARY KEY, case_id INT, seq INT, payload JSON)")
        conn.execute("INSERT INTO bench_c VALUES (1, 'a', 0)")
        conn.commit()

        def one(i: int) -> None:
            conn.execute(
                "UPDATE bench_c SET state = %s, version = version + 1 WHERE id = 1 AND version = %s", ("b", i)
            )
            conn.execute("INSERT INTO bench_e (case_id, seq, payload) VALUES (1, %s, '{}')", (i,))
            conn.commit()

        return raw_rate(one, n)


def bench_sqlite(cases: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        ours = run_lifecycles(engine, cases)
        engine.dispose()
        raw = raw_sqlite(Path(tmp) / "raw.db", cases * 6)
    return f"sqlite: {ours:.0f} transitions/s, raw {raw:.0f} commits/s, ratio {ours / raw:.2f}"


def bench_postgres(url: str, cases: int) -> str:
    with postgres_database(url) as db_url:
        engine = make_engine(db_url)
        upgrade(engine)
        ours = run_lifecycles(engine, cases)
        engine.dispose()
        raw = raw_postgres(db_url, cases * 6)
    return f"postgresql: {ours:.0f} transitions/s, raw {raw:.0f} commits/s, ratio {ours / raw:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=int, default=400, help="lifecycles per database (6 transactions each)"
    )
    args = parser.parse_args()
    rules = get_rulebook()
    backend = rules.compiled.backend
    print(f"rules backend: {backend}, ruleset {rules.version}; {args.cases} lifecycles per database")
    lines = [bench_sqlite(args.cases)]
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        lines.append(bench_postgres(pg, args.cases))
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to include it)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
