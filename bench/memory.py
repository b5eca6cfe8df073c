"""Resident memory of a serve-like process after touching 1k, 100k (and, with --million, 1M) cases.

    python bench/memory.py [--million]

For each N: a fresh SQLite database gets one case submitted through the service and N - 1 copies of it
made by one INSERT ... SELECT (hubs, units, bands and states varied), then a *fresh* Python process
builds the FastAPI app on it (`api.app.create_app(engine=...)`, so every module a server loads is
loaded), pages through every case with the query layer's keyset pagination (`queries.list_cases`),
opens every hundredth one with `queries.get_case` and its history, and reports its RSS. The goal is under
300 MB and flat in N. Last line: ``rss ratio 1M/1k`` (or 100k/1k).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
from sqlmodel import Session
from api.app import create_app
from workflow import queries
from workflow.db import make_engine

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                yield line.split()[0].rstrip(":"), int(line.split()[1]) / 1024

engine = make_engine(sys.argv[1])
app = create_app(engine=engine)
touched = opened = 0
t0 = time.perf_counter()
after = None
with Session(engine, expire_on_commit=False) as session:
    while True:
        page = queries.list_cases(session, after_id=after, limit=500)
        if not page:
            break
        for case in page:
            touched += 1
            if case.id % 100 == 0:
                queries.get_case(session, case_id=case.id)
                queries.history(session, case_id=case.id)
                opened += 1
        after = page[-1].id
        session.expunge_all()  # a request's session ends with the request
spent = time.perf_counter() - t0
print(json.dumps({"touched": touched, "opened": opened, "seconds": spent, **dict(rss_mb())}))
"""


def seed(path: Path, n: int) -> str:
    from sqlalchemy import text
    from sqlmodel import Session

    from tests.factories import request_data
    from workflow import service
    from workflow.db import make_engine
    from workflow.migrate import upgrade
    from workflow.principals import system
    from workflow.reference import sync_reference

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        sync_reference(session)
        service.submit_case(session, request=request_data(), by=system("ds.ne"))
    columns = [
        c.name for c in service.CASE.columns if c.name not in ("id", "reference", "hub", "state", "band")
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    copied = ", ".join(f't."{c}"' for c in columns)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) "
                f'INSERT INTO "case" (id, reference, hub, state, band, {names}) '
                f"SELECT i, 'SCT-2026-' || printf('%07d', i), "
                f"CASE i % 5 WHEN 0 THEN 'NORTH' WHEN 1 THEN 'SOUTH' WHEN 2 THEN 'EAST' WHEN 3 THEN 'WEST' "
                f"ELSE 'CENTRE' END, "
                f"CASE i % 4 WHEN 0 THEN 'tasked' WHEN 1 THEN 'assessed' WHEN 2 THEN 'closed' "
                f"ELSE 'submitted' END, "
                f"'P' || (1 + i % 4), {copied} FROM n, \"case\" t WHERE t.id = 1"
            )
        )
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--million", action="store_true", help="also run N = 1,000,000 (slow to seed)")
    args = parser.parse_args()
    sizes = [1_000, 100_000] + ([1_000_000] if args.million else [])
    results = {}
    for n in sizes:
        path = Path(tempfile.mkdtemp(prefix="sctac-mem-")) / "mem.db"
        t0 = time.perf_counter()
        url = seed(path, n)
        seeded = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, "-c", CHILD, url], capture_output=True, text=True, check=True, cwd=ROOT
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        results[n] = figures
        print(
            f"N={n:>9,}: seeded in {seeded:.1f} s; touched {figures['touched']:,} cases "
            f"(opened {figures['opened']:,}) in {figures['seconds']:.1f} s; "
            f"RSS {figures['VmRSS']:.0f} MB, peak {figures['VmHWM']:.0f} MB",
            flush=True,
        )
    small, large = results[sizes[0]], results[sizes[-1]]
    ratio = large["VmHWM"] / small["VmHWM"]
    print(f"rss ratio {sizes[-1] // 1000}k/1k: {ratio:.2f} (peak {large['VmHWM']:.0f} MB)")


if __name__ == "__main__":
    main()
