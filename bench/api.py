"""The JSON API under load: 50 concurrent clients firing transitions over loopback against 100k cases.

    python bench/api.py [--cases 100000] [--clients 50] [--seconds 15]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/api.py

For each database: seed the cases with bulk inserts through the real tables (every case with its
``submit`` event on a valid hash chain, so `sctac audit verify` passes on the result), start one uvicorn
process serving ``create_app`` as a subprocess, and drive it from a second process: an asyncio + httpx
load generator with one connection per client, each client firing ``reject`` (If-Match and a reason,
the full authenticated path: token lookup, visibility check, permission, compare-and-set, event, and
the updated case read back) on cases nobody else touches, back to back (closed loop). httpx rather than
wrk: it speaks the same HTTP/1.1 keep-alive as the real clients, needs no Lua to hand each request its own
case and If-Match, and is already a dependency; its own cost is inside the measured latency, so the
figures are, if anything, pessimistic.

Ends with one line per database: ``sqlite: N req/s, p50 X ms, p99 Y ms (C clients, R requests)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.scratch import postgres_database  # noqa: E402
from workflow import accounts  # noqa: E402
from workflow.chain import GENESIS, event_hash  # noqa: E402
from workflow.db import make_engine, utcnow  # noqa: E402
from workflow.facts import facts_of  # noqa: E402
from workflow.migrate import upgrade  # noqa: E402
from workflow.models import Case  # noqa: E402
from workflow.reference import sync_reference  # noqa: E402
from workflow.service import reference_for  # noqa: E402
from workflow.tables import CASE, EVENT  # noqa: E402

BATCH = 5000


def seed(engine: Engine, count: int) -> None:
    """`count` submitted cases, each with its submit event, in batches of plain multi-row INSERTs."""
    at = utcnow()
    request = {
        "title": "County line run from Newham into Essex",
        "summary": "Line holder supplying class A into Basildon using children as runners.",
        "requesting_unit": "NE",
        "target_type": "ocg",
        "target_name": "The Forest Gate line",
        "themes": ["county_lines", "drugs"],
        "capabilities": ["surveillance"],
        "tags": [],
        "protective_marking": "OFFICIAL",
    }
    # Every column the model defaults in Python, so the rows are what the ORM would have written.
    defaults = Case(
        **request, state="submitted", created_by="bench", created_at=at, updated_at=at
    ).model_dump(exclude={"id"})
    with engine.begin() as conn:
        for start in range(1, count + 1, BATCH):
            ids = range(start, min(start + BATCH, count + 1))
            cases, events = [], []
            for case_id in ids:
                event = {
                    "case_id": case_id,
                    "seq": 1,
                    "trigger": "submit",
                    "from_state": None,
                    "to_state": "submitted",
                    "actor": "bench",
                    "reason": None,
                    "payload": {"request": request},
                    "created_at": at,
                    "prev_hash": GENESIS,
                }
                event["hash"] = event_hash(**event)
                events.append({**event, **facts_of("submit", event["payload"])})
                cases.append(
                    {
                        **defaults,
                        "id": case_id,
                        "reference": reference_for(case_id, at),
                        "hub": "EAST",
                        "version": 1,
                        "event_seq": 1,
                        "last_event_hash": event["hash"],
                    }
                )
            conn.execute(insert(CASE), cases)
            conn.execute(insert(EVENT), events)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), :n)"), {"n": count})
            conn.execute(text("ANALYZE"))


def prepare(url: str, count: int) -> str:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        sync_reference(s)
        accounts.create_user(s, data={"username": "bench.analyst", "roles": ["analyst"]})
    started = time.perf_counter()
    seed(engine, count)
    took = time.perf_counter() - started
    print(f"  seeded {count:,} cases with their events in {took:.1f}s ({count / took:,.0f}/s)", flush=True)
    with Session(engine, expire_on_commit=False) as s:
        token = accounts.issue_token(s, username="bench.analyst").token
    engine.dispose()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER = """
import sys, uvicorn
sys.path.insert(0, {root!r})
from api.app import create_app
from workflow.db import make_engine
uvicorn.run(create_app(engine=make_engine({url!r})), host="127.0.0.1", port={port}, log_level="warning",
            access_log=False)
"""


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT), url=url, port=port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the API server did not start")


async def drive(base: str, token: str, clients: int, seconds: float, cases: int) -> dict[str, Any]:
    import httpx

    next_case = iter(range(1, cases + 1))
    latencies: list[float] = []
    failures: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"1"'}
    body = {"reason": "Not a specialist crime matter; BCU to progress."}
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:
            # One warm-up request per connection, outside the measurement.
            await http.get("/healthz")
            while time.perf_counter() < stop_at:
                case_id = next(next_case, None)
                if case_id is None:
                    return
                started = time.perf_counter()
                r = await http.post(f"/api/v1/cases/{case_id}/transitions/reject", json=body)
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    failures[r.status_code] = failures.get(r.status_code, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
        "failures": failures,
    }


def run(name: str, url: str, args: argparse.Namespace) -> str:
    print(f"{name}: preparing {url}", flush=True)
    token = prepare(url, args.cases)
    port = free_port()
    server = serve(url, port)
    try:
        # The load generator is its own process, so client and server do not share a GIL.
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--drive",
                f"http://127.0.0.1:{port}",
                "--token",
                token,
                "--clients",
                str(args.clients),
                "--seconds",
                str(args.seconds),
                "--cases",
                str(args.cases),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["failures"]:
        print(f"  non-200 responses: {result['failures']}", flush=True)
    rate = result["requests"] / result["elapsed"]
    return (
        f"{name}: {rate:,.0f} req/s, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms "
        f"({args.clients} clients, {result['requests']:,} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        result = asyncio.run(drive(args.drive, args.token, args.clients, args.seconds, args.cases))
        print(json.dumps(result))
        return

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        lines.append(run("sqlite", f"sqlite:///{tmp}/bench.db", args))
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        with postgres_database(pg) as url:
            lines.append(run("postgresql", url, args))
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to run it)", flush=True)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
