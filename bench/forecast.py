"""The FBC forecast (#16): forecast + staffing for 26 weeks x every breakdown, on the 2,000-case demo and
on a 100,000-case history.

    python bench/forecast.py                      # documented sizes: the 2,000-case demo, 100,000 cases
    python bench/forecast.py --demo-requests 600 --cases 30000   # a quicker look

The demo is `run_demo` (26 weeks, 2,000 requests, real service functions: about two minutes to seed on a
loaded 2-core machine). The long history copies a short simulated pathfinder (6 weeks, 400 requests)
again and again, each copy's case ids shifted and its times moved on by a whole number of weeks, into
about --cases cases over --span weeks, so every series has a level to find and the breakdowns are as
many as the demo's. SQLite. Each size prints the outlook's best-of-3 time against its goal and against
the driver fetching the same columns in the same order (the floor of any read in Python), and the
share of the time the read takes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select, text
from sqlmodel import Session

from demo.simulation import run_demo
from workflow.db import make_engine
from workflow.facts import COLUMNS as FACT_COLUMNS
from workflow.migrate import upgrade
from workflow.reports import OPERATOR, demand, fbc
from workflow.tables import CASE, EVENT

COPIED = [
    *("seq", "trigger", "from_state", "to_state", "actor", "reason", "payload"),
    *("prev_hash", "hash", *FACT_COLUMNS),
]
_READ = ("case_id", "trigger", "created_at", "unit", "themes", "hub", "band", "minutes")


def seed_long(engine: Engine, cases: int, span: int) -> tuple[int, int]:
    upgrade(engine)
    run_demo(engine, seed=11, weeks=6, requests=400, passwords=False)
    columns = ", ".join(COPIED)
    case_columns = ", ".join(f'"{c.name}"' for c in CASE.c if c.name not in ("id", "reference"))
    with engine.begin() as conn:
        base = conn.execute(text('SELECT max(id) FROM "case"')).scalar_one()
        copies = max(0, cases // base - 1)
        for k in range(1, copies + 1):
            shift, days = base * k, 7 * ((k * 5) % (span - 6))  # copies start all over the span
            moved = f"strftime('%Y-%m-%d %H:%M:%f', created_at, '+{days} days')"
            conn.execute(
                text(
                    f'INSERT INTO "case" (id, reference, {case_columns}) '
                    f"SELECT id + {shift}, 'C' || CAST(id + {shift} AS TEXT), {case_columns} "
                    f'FROM "case" WHERE id <= {base}'
                )
            )
            conn.execute(
                text(
                    f"INSERT INTO case_event (case_id, created_at, {columns}) "
                    f"SELECT case_id + {shift}, {moved}, {columns} FROM case_event WHERE case_id <= {base}"
                )
            )
        n_cases = conn.execute(text('SELECT count(*) FROM "case"')).scalar_one()
        n_events = conn.execute(text("SELECT count(*) FROM case_event")).scalar_one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return int(n_cases), int(n_events)


def raw_read(engine: Engine) -> float:
    query = (
        select(*(EVENT.c[c] for c in _READ))
        .where(EVENT.c.trigger.in_(("submit", *demand.STAGES)))
        .order_by(EVENT.c.case_id, EVENT.c.seq)
    )
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        t0 = time.perf_counter()
        cursor.execute(sql)
        while cursor.fetchmany(20_000):
            pass
        seconds = time.perf_counter() - t0
        cursor.close()
    return seconds


def measure(engine: Engine, label: str, goal: float, repeat: int) -> str:
    now = datetime.now(UTC) + timedelta(days=1)
    raw = min(raw_read(engine) for _ in range(repeat))
    reads, runs = [], []
    for _ in range(repeat):
        with Session(engine) as session:
            t0 = time.perf_counter()
            demand.read(session, who=OPERATOR, now=now)
            reads.append(time.perf_counter() - t0)
        with Session(engine) as session:
            t0 = time.perf_counter()
            out = fbc.outlook(session, who=OPERATOR, now=now)
            runs.append(time.perf_counter() - t0)
    best, read = min(runs), min(reads)
    series = len(out["series"])
    models = {m: sum(s["model"] == m for s in out["series"]) for m in ("ets", "count")}
    overall = out["series"][0]
    chosen = overall["backtest"]["errors"][overall["model"]]
    baseline = overall["backtest"]["errors"]["baseline"]
    print(
        f"{label}: {out['history']['requests']:,} requests over {out['history']['weeks']} weeks, "
        f"{series} series ({models['ets']} ETS, {models['count']} count); overall MAE {chosen['mae']} "
        f"(MAPE {chosen['mape']}%) against the baseline's {baseline['mae']} ({baseline['mape']}%); "
        f"analysts needed at peak {out['staffing']['pools']['analysts']['needed_peak']}, owners "
        f"{out['staffing']['pools']['owners']['needed_peak']}",
        flush=True,
    )
    return (
        f"{label}: outlook {best:.2f} s (runs {', '.join(f'{t:.2f}' for t in runs)}); goal {goal:g} s, "
        f"{best / goal:.2f} of it; read {read:.2f} s ({read / best:.0%} of the run); raw fetch {raw:.2f} s, "
        f"outlook / raw {best / raw:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo-requests", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--span", type=int, default=120, help="weeks the long history covers")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/demo.db")
        upgrade(engine)
        t0 = time.perf_counter()
        run_demo(engine, weeks=26, requests=args.demo_requests, passwords=False)
        print(f"demo: seeded {args.demo_requests:,} requests in {time.perf_counter() - t0:.0f} s", flush=True)
        lines.append(measure(engine, f"demo {args.demo_requests:,}", 2.0, args.repeat))
        engine.dispose()
        engine = make_engine(f"sqlite:///{tmp}/long.db")
        t0 = time.perf_counter()
        n_cases, n_events = seed_long(engine, args.cases, args.span)
        print(f"history: seeded {n_cases:,} cases, {n_events:,} events in {time.perf_counter() - t0:.0f} s")
        lines.append(measure(engine, f"history {n_cases:,} cases", 10.0, args.repeat))
        engine.dispose()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
