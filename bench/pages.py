"""How fast the pages answer with a large caseload.

    .venv/bin/python bench/pages.py [--cases 100000] [--url DATABASE_URL] [--repeats 7]

Fills a fresh database (a SQLite file in the temp folder unless --url names one; an existing seeded
database is measured as it is) with cases in every state by bulk insert (tests/web/seeded.py), then
times each page in-process with the TestClient: the first request and the median of several after it.
Issue 12's goal is every page under 300 ms on the 2,000-case demo; the ratio printed last is the
slowest page's median against that budget (<= 1.0 meets it). tests/web/test_seeded_pages.py opens the
same pages on a small seed and checks that each answers; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.web.pages import create_app, visitor
from tests.web.seeded import CASE, page_plan, seed
from workflow.db import make_engine
from workflow.migrate import upgrade

BUDGET_MS = 300.0


def measure(engine: Engine, repeats: int = 7) -> list[tuple[str, str, int, float, float]]:
    """(user, page, status, first ms, median ms) for every page of the plan."""
    app = create_app(engine=engine)
    results = []
    for username, paths in page_plan(engine):
        v = visitor(engine, username, app)
        for path in paths:
            first_started = time.perf_counter()
            response = v.get(path)
            first = time.perf_counter() - first_started
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                v.get(path)
                times.append(time.perf_counter() - started)
            results.append(
                (username, path, response.status_code, first * 1000, statistics.median(times) * 1000)
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Time every page on a large seeded caseload.")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--url", default=None, help="database URL (default: a SQLite file in the temp folder)"
    )
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.gettempdir()) / 'sctac-pages-bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(CASE)).scalar_one()
    if existing:
        print(f"measuring the {existing:,} cases already in {url}")
    else:
        started = time.perf_counter()
        seed(engine, args.cases)
        took = time.perf_counter() - started
        print(f"seeded {args.cases:,} cases on {engine.dialect.name} in {took:.0f} s")
    print(f"{'user':<16} {'page':<34} {'status':>6} {'first ms':>9} {'median ms':>10}")
    results = measure(engine, args.repeats)
    for username, path, status, first, median in results:
        print(f"{username:<16} {path:<34} {status:>6} {first:9.1f} {median:10.1f}")
    engine.dispose()
    worst = max(results, key=lambda r: r[4])
    print(
        f"slowest page {worst[1]} ({worst[0]}): median {worst[4]:.1f} ms; "
        f"ratio to the {BUDGET_MS:.0f} ms budget: {worst[4] / BUDGET_MS:.2f}"
    )


if __name__ == "__main__":
    main()
