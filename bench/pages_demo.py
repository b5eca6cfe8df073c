"""How fast the busiest pages answer on the 2,000-case demo (`sctac demo`), against a bare /healthz.

    python bench/pages_demo.py [--database sqlite:////tmp/sctac-pages-demo.db] [--repeats 9]

Seeds the simulated 26-week pathfinder once into a scratch SQLite file (about a minute on an idle
machine; an existing file with cases in it is reused, so later runs measure at once), then times each
page in-process through the whole app (middleware, session cookie, page route, templates) with
Starlette's TestClient: one warm-up request, then the median and the slowest of `--repeats`. Each page
is printed with its ratio to /healthz on the same client, which takes out this machine's speed of the
day. Goal (issue 12): every page under 300 ms. Measurements, not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.app import create_app  # noqa: E402
from api.web import session as sessions  # noqa: E402
from demo.simulation import run_demo  # noqa: E402
from workflow import accounts  # noqa: E402
from workflow.db import make_engine  # noqa: E402
from workflow.migrate import upgrade  # noqa: E402
from workflow.tables import CASE  # noqa: E402

GOAL_MS = 300.0
# (who, pages): the tasking chair and a hub supervisor see the most; an analyst and a requester the rest.
PLAN: list[tuple[str, list[str]]] = [
    ("chair", ["/tasking", "/escalations", "/", "/dashboard"]),
    ("sup.east", ["/tasking", "/tasking/hubs/EAST", "/escalations", "/escalations?hub=all", "/"]),
    ("analyst.1", ["/tasking", "/", "/cases"]),
    ("req.ne", ["/", "/requests", "/requests/new"]),
]


def prepare(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        existing = s.execute(select(func.count()).select_from(CASE)).scalar_one()
    if existing:
        print(f"reusing the {existing:,} cases already in {url}")
    else:
        started = time.perf_counter()
        summary = run_demo(engine, passwords=False)
        print(f"seeded the demo ({summary.cases:,} cases) in {time.perf_counter() - started:.0f} s")
    return engine


def client_for(app: object, engine: Engine, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    with Session(engine, expire_on_commit=False) as s:
        issued = accounts.issue_token(s, username=username).token
    client.cookies.set(sessions.COOKIE, sessions.encode(app, issued))  # type: ignore[arg-type]
    return client


def timed(client: TestClient, path: str, repeats: int) -> tuple[float, float]:
    response = client.get(path, follow_redirects=False)
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(path, follow_redirects=False)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    default = f"sqlite:///{Path(tempfile.gettempdir()) / 'sctac-pages-demo.db'}"
    parser.add_argument("--database", default=default, help="database URL (reused when it holds cases)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    engine = prepare(args.database)
    app = create_app(engine=engine)
    base, _ = timed(TestClient(app), "/healthz", args.repeats * 3)
    print(f"/healthz median {base:.1f} ms")
    head = f"{'user':<12} {'page':<20} {'median ms':>10} {'max ms':>8} {'/ healthz':>10}"
    print(f"{head}  goal < {GOAL_MS:.0f} ms")
    worst = 0.0
    for username, paths in PLAN:
        client = client_for(app, engine, username)
        for path in paths:
            median, slowest = timed(client, path, args.repeats)
            worst = max(worst, median)
            mark = "ok" if median < GOAL_MS else "MISSED"
            print(f"{username:<12} {path:<20} {median:10.1f} {slowest:8.1f} {median / base:10.1f}  {mark}")
    print(
        f"slowest page median {worst:.1f} ms = {worst / base:.1f} x /healthz; "
        f"goal/slowest = {GOAL_MS / worst:.2f}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
