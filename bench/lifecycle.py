"""Full lifecycles through the service layer against the raw commit rate of the same driver.

    python bench/lifecycle.py [--cases 400]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/lifecycle.py

Each lifecycle is submit -> assess -> prioritise -> task -> review -> close: six transactions, each a
compare-and-set, a hash-chained event and (submit, assess) the rules' decisions. The raw figure is one
single-row UPDATE + one INSERT per commit with the same driver and pragmas: the floor of any design
that records an event per state change.

Beside the rate it counts, as the driver reports them (SQLite's trace callback, a psycopg cursor that
counts), the SQL statements each transition sends and how many of them read the case table (per
trigger too), and the pool checkouts: each is one ``SELECT 1`` round trip on PostgreSQL, where the
engine pre-pings (counted apart from the statements). Goals: <= 6 statements and 1 case read per
transition; transitions/s over raw commits/s >= 0.5 on PostgreSQL, >= 0.1 on SQLite. Ends with one
line per database: ``ratio sqlite: N transitions/s, raw M commits/s, ratio R (goal >= G)``.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bench.scratch import postgres_database
from tests.factories import DEFAULT_DATA, request_data
from workflow import service
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.models import User
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

CYCLE = ["assess", "prioritise", "task", "review", "close"]


GOAL_STATEMENTS = 6
GOAL_CASE_READS = 1
GOAL_RATIO = {"sqlite": 0.1, "postgresql": 0.5}
# A statement that reads the case table: a SELECT (or CTE) naming "case" after FROM or JOIN.
_READS_CASE = re.compile(r'^\s*(SELECT|WITH)\b.*\b(FROM|JOIN)\s+"?case"?(\s|$|,)', re.I | re.S)


# Named system principals act here: the bench measures the write path, not who may use it.
REQUESTER, CENTRE = system("ds.ne"), system("analyst1")


def step(session: Session, *, trigger: str, case_id: int | None, rules: Any) -> int:
    """One transition through the service, the only place this script calls it: returns the case id.

    `submit` makes a new case; every other trigger fires on `case_id` with the fixtures' data.
    """
    if trigger == "submit":
        return service.submit_case(session, request=request_data(), by=REQUESTER, rules=rules).case_id
    assert case_id is not None
    done = service.fire(
        session, case_id=case_id, trigger=trigger, by=CENTRE, data=DEFAULT_DATA[trigger], rules=rules
    )
    return done.case_id


@dataclass
class Counts:
    """SQL the engine sent while counting was on, by the trigger being fired."""

    trigger: str = ""
    statements: Counter[str] = field(default_factory=Counter)
    case_reads: Counter[str] = field(default_factory=Counter)
    checkouts: Counter[str] = field(default_factory=Counter)


# Said by the driver around every transaction, and by the pool's pre-ping (an empty statement on
# psycopg): not statements of ours.
_BOOKKEEPING = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SELECT 1\b|;?\s*$)", re.I)


def _on_driver(dbapi_connection: Any, hear: Callable[[str], None]) -> None:
    """Have the driver itself report every statement it runs: the service runs its hot path on the
    driver's cursor, past SQLAlchemy's events, so only the driver sees everything."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # SQLite reports a statement again as each trigger program inside it starts (the outbox
        # trigger), with the same expanded text: a repeat of the text just heard is the same statement.
        last = [""]

        def once(statement: str) -> None:
            if statement != last[0]:
                hear(statement)
            last[0] = statement

        dbapi_connection.set_trace_callback(once)
        return

    class Heard(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            hear(str(query))
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            hear(str(query))
            return super().executemany(query, *args, **kwargs)

    dbapi_connection.cursor_factory = Heard


@contextmanager
def counting(engine: Engine) -> Iterator[Counts]:
    counts = Counts()

    def hear(statement: str) -> None:
        if _BOOKKEEPING.match(statement):
            return
        counts.statements[counts.trigger] += 1
        if _READS_CASE.match(statement):
            counts.case_reads[counts.trigger] += 1

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _on_driver(dbapi_connection, hear)

    def on_checkout(*_args: Any) -> None:
        counts.checkouts[counts.trigger] += 1

    engine.dispose()  # every connection from here on is a new one, heard from its first statement
    event.listen(engine, "connect", on_connect)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield counts
    finally:
        event.remove(engine, "connect", on_connect)
        event.remove(engine.pool, "checkout", on_checkout)


@dataclass
class Measured:
    rate: float
    counts: Counts
    transitions: int
    # This process's CPU per transition: under load, wall-clock rates fall with the machine's other
    # work, and this does not.
    cpu_ms: float = 0.0


def run_lifecycles(engine: Engine, cases: int) -> Measured:
    rules = get_rulebook()
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s, rules=rules)
        s.add(
            User(
                username="owner.east",
                display_name="Owner",
                roles=["case_owner"],
                hub_code="EAST",
                # The fixtures' requests are OFFICIAL-SENSITIVE: only an owner cleared for them can be tasked.
                clearance="OFFICIAL-SENSITIVE",
            )
        )
        s.commit()
        step(s, trigger="submit", case_id=None, rules=rules)  # warm caches
        # Hearing a statement costs about a microsecond, against a millisecond per transition.
        with counting(engine) as counts:
            t0, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(cases):
                case_id = None
                for trigger in ["submit", *CYCLE]:
                    counts.trigger = trigger
                    case_id = step(s, trigger=trigger, case_id=case_id, rules=rules)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    transitions = cases * (1 + len(CYCLE))
    return Measured(transitions / elapsed, counts, transitions, 1000 * cpu / transitions)


def describe(name: str, m: Measured, cases: int) -> list[str]:
    c = m.counts
    per = sum(c.statements.values()) / m.transitions
    reads = sum(c.case_reads.values()) / m.transitions
    checkouts = sum(c.checkouts.values()) / m.transitions
    by_trigger = ", ".join(
        f"{t} {c.statements[t] / cases:.1f}/{c.case_reads[t] / cases:.1f}" for t in ["submit", *CYCLE]
    )
    return [
        f"{name}: {m.rate:,.0f} transitions/s, {m.cpu_ms:.2f} ms client CPU each; {per:.2f} SQL "
        f"statements per transition (goal <= {GOAL_STATEMENTS}), {reads:.2f} case-row reads "
        f"(goal {GOAL_CASE_READS}), {checkouts:.2f} pool checkouts",
        f"  statements/case reads by trigger: {by_trigger}",
    ]


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


def ratio_line(name: str, ours: float, raw: float) -> str:
    return (
        f"ratio {name}: {ours:,.0f} transitions/s, raw {raw:,.0f} commits/s, ratio {ours / raw:.2f} "
        f"(goal >= {GOAL_RATIO[name]})"
    )


def bench_sqlite(cases: int) -> tuple[list[str], str]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        ours = run_lifecycles(engine, cases)
        engine.dispose()
        raw = raw_sqlite(Path(tmp) / "raw.db", cases * 6)
    return describe("sqlite", ours, cases), ratio_line("sqlite", ours.rate, raw)


def bench_postgres(url: str, cases: int) -> tuple[list[str], str]:
    with postgres_database(url) as db_url:
        engine = make_engine(db_url)
        upgrade(engine)
        ours = run_lifecycles(engine, cases)
        engine.dispose()
        raw = raw_postgres(db_url, cases * 6)
    return describe("postgresql", ours, cases), ratio_line("postgresql", ours.rate, raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=int, default=400, help="lifecycles per database (6 transactions each)"
    )
    args = parser.parse_args()
    if not 1 <= args.cases <= 1_000_000:
        parser.error("--cases must be between 1 and 1,000,000")
    rules = get_rulebook()
    backend = rules.compiled.backend
    print(f"rules backend: {backend}, ruleset {rules.version}; {args.cases} lifecycles per database")
    details, ratios = bench_sqlite(args.cases)
    print("\n".join(details), flush=True)
    ratio_lines = [ratios]
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        details, ratios = bench_postgres(pg, args.cases)
        print("\n".join(details), flush=True)
        ratio_lines.append(ratios)
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to include it)")
    print("\n".join(ratio_lines))


if __name__ == "__main__":
    main()
