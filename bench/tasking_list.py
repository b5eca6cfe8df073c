"""The tasking list ranked by the Control Strategy, and its files, on a large open caseload.

    .venv/bin/python bench/tasking_list.py [--cases 10000] [--export-cases 2000] [--repeats 5]

Fills two fresh SQLite databases in the temp folder by bulk insert (tests/web/seeded.py), every case
awaiting a tasking decision (assessed or prioritised) with varied themes, bands, risks and SLA dates:
`--cases` for the list, `--export-cases` for the files. Times in-process with the TestClient, as the
tasking chair (who sees every hub): the JSON (`/api/v1/tasking`, every case ranked, with its parts), the
page (`/tasking`, every case ranked, the top 30 of each hub drawn), the xlsx and the PDF meeting pack
(every case). Issue 13's goals: JSON and page < 300 ms over 10,000 open cases, xlsx and PDF of 2,000
cases < 5 s. Each ratio printed is the median against its goal (<= 1.0 meets it); nothing asserts a time.
The documented sizes are the defaults (about a minute); `--cases 2000 --export-cases 500` is a quick look.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine

from tests.web.pages import create_app, visitor
from tests.web.seeded import CASE, seed
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade

THEMES = [
    "county_lines",
    "knife_crime",
    "vawg",
    "gangs",
    "drugs",
    "firearms",
    "fraud",
    "cyber",
    "acquisitive",
]
BANDS = ["P1", "P2", "P3", "P4"]


def fill(folder: Path, n: int) -> Engine:
    """`n` cases, all awaiting a tasking decision, in a fresh SQLite file."""
    url = f"sqlite:///{folder / f'tasking-{n}.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, n)
    rnd = random.Random(13)
    now = utcnow()
    rows = [
        {
            "p_id": i,
            "state": rnd.choice(["assessed", "prioritised"]),
            "themes": rnd.sample(THEMES, rnd.randint(1, 3)),
            "band": rnd.choice(BANDS),
            "risk": round(rnd.uniform(5, 95), 1),
            "sla_due_at": now + timedelta(days=rnd.uniform(-10, 20)),
        }
        for i in range(1, n + 1)
    ]
    statement = (
        update(CASE)
        .where(CASE.c.id == bindparam("p_id"))
        .values(
            state=bindparam("state"),
            themes=bindparam("themes"),
            band=bindparam("band"),
            risk=bindparam("risk"),
            sla_due_at=bindparam("sla_due_at"),
        )
    )
    with engine.begin() as conn:
        conn.execute(statement, rows)
    return engine


def timed(engine: Engine, paths: list[str], repeats: int) -> dict[str, tuple[int, float, float, int]]:
    """path -> (status, median wall ms, median CPU ms, bytes). The TestClient serves in this process, so
    its CPU time is the request's whole cost: on a machine others share, the figure to compare."""
    app = create_app(engine=engine)
    v = visitor(engine, "chair", app)
    headers = {"Authorization": f"Bearer {v.token}"}
    out = {}
    for path in paths:
        first = v.client.get(path, headers=headers)  # warm: the strategy and templates load once
        times, cpu = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            v.client.get(path, headers=headers)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        median = statistics.median
        out[path] = (first.status_code, median(times) * 1000, median(cpu) * 1000, len(first.content))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the ranked tasking list and its exports.")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--export-cases", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sctac-bench-tasking-") as folder:
        started = time.perf_counter()
        big = fill(Path(folder), args.cases)
        small = fill(Path(folder), args.export_cases)
        took = time.perf_counter() - started
        print(f"seeded {args.cases:,} and {args.export_cases:,} open cases in {took:.1f} s")
        lists = timed(big, ["/api/v1/tasking", "/tasking"], args.repeats)
        files = timed(small, ["/tasking/export.xlsx", "/tasking/pack.pdf"], max(1, args.repeats // 2))
        big.dispose()
        small.dispose()
    goals = {
        "/api/v1/tasking": 300.0,
        "/tasking": 300.0,
        "/tasking/export.xlsx": 5000.0,
        "/tasking/pack.pdf": 5000.0,
    }
    sizes = {"/api/v1/tasking": args.cases, "/tasking": args.cases}
    heads = f"{'what':<22}{'cases':>7}{'status':>7}{'wall ms':>9}{'CPU ms':>9}{'KB':>7}"
    print(f"{heads}{'goal':>6}{'wall':>6}{'CPU':>6}")
    rows = {**lists, **files}
    for path, (status, ms, cpu, size) in rows.items():
        n = sizes.get(path, args.export_cases)
        goal = goals[path]
        line = f"{path:<22}{n:>7,}{status:>7}{ms:>9.0f}{cpu:>9.0f}{size / 1024:>7.0f}{goal:>6.0f}"
        print(f"{line}{ms / goal:>6.2f}{cpu / goal:>6.2f}")
    load = os.getloadavg()[0]
    worst_wall = max(ms / goals[p] for p, (_, ms, _, _) in rows.items())
    worst_cpu = max(cpu / goals[p] for p, (_, _, cpu, _) in rows.items())
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"ratio (slowest against its goal, <= 1.0 meets it): wall {worst_wall:.2f}, CPU {worst_cpu:.2f}")


if __name__ == "__main__":
    main()
