"""The JSON API under load: 50 concurrent clients firing transitions over loopback against 100k cases.

    python bench/api.py [--cases 100000] [--clients 50] [--seconds 15]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/api.py
    SCTAC_BENCH_DATABASE_URL=... python bench/api.py --scale [--processes 1,2,4]

``--scale`` runs the same load at 1, 2 and 4 API processes on PostgreSQL and measures what scraping
/metrics once a second costs: see bench/api_scale.py.

For each database: seed the cases with bulk inserts through the real tables (every case with its
``submit`` event on a valid hash chain, so `sctac audit verify` passes on the result), start one uvicorn
process serving ``create_app`` as a subprocess, and drive it from a second process: an asyncio + httpx
load generator with one connection per client, each client firing ``reject`` (If-Match and a reason,
the full authenticated path: token lookup, visibility check, permission, compare-and-set, event, and
the updated case read back) on cases nobody else touches, back to back (closed loop). httpx rather than
wrk: it speaks the same HTTP/1.1 keep-alive as the real clients, needs no Lua to hand each request its own
case and If-Match, and is already a dependency; its own cost is inside the measured latency, so the
figures are, if anything, pessimistic.

Beside the latencies it reads the server process's own CPU time (psutil) before and after the load and
divides by the requests: server CPU per transition request. Then the same clients run the same number of
seconds against the same server's bare ``/healthz`` (framework, one pooled connection, ``SELECT 1``):
transitions/s over healthz/s says how much of the server's capacity a transition costs beyond HTTP and
the framework. Needs the `bench` extra for psutil (`make bench` installs it).

Prints one line per database: ``sqlite: N req/s, p50 X ms, p99 Y ms (C clients, R requests); server CPU
Z ms per transition request; /healthz H req/s, W ms server CPU per request``, then, last, the ratios:
``ratio sqlite: transitions N req/s / bare /healthz H req/s = R; by server CPU per request W/Z; p99 Y ms
(goal < 50 ms)``. The CPU ratio is the throughput ratio a CPU-bound server reaches; on a shared machine
the two loads can get different shares of the CPU, and then only the CPU ratio compares them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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
GOAL_P99_MS = 50.0


def seed(engine: Engine, count: int) -> None:
    """`count` submitted cases, each with its submit event, in batches of plain multi-row INSERTs."""
    at = utcnow()
    request: dict[str, Any] = {
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
                event: dict[str, Any] = {
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


async def drive(
    base: str,
    token: str,
    clients: int,
    seconds: float,
    cases: int,
    target: str,
    server_pid: int,
    first: int = 1,
    scrape: bool = False,
) -> dict[str, Any]:
    """Closed-loop load: each client fires `reject` on its own cases, or (target healthz) GETs /healthz.

    Every client opens its connection and makes one warm-up request (and one transition warms the
    server's path, on case 1), then all start together: the clock and the server's CPU count from there.
    """
    import httpx
    import psutil

    # The server and, under `sctac serve --workers N`, the processes its supervisor started.
    server = psutil.Process(server_pid)
    tree = [server, *server.children(recursive=True)]

    def tree_cpu() -> float:
        return sum(t.user + t.system for t in (p.cpu_times() for p in tree))

    next_case = iter(range(first + 1, first + cases))
    scrapes: list[float] = []
    latencies: list[float] = []
    failures: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"1"'}
    body = {"reason": "Not a specialist crime matter; BCU to progress."}
    warmed = asyncio.Barrier(clients + 1)
    go = asyncio.Event()
    window: dict[str, float] = {}

    async def client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:
            await http.get("/healthz")
            await warmed.wait()
            await go.wait()
            while time.perf_counter() < window["stop_at"]:
                if target == "healthz":
                    started = time.perf_counter()
                    r = await http.get("/healthz")
                else:
                    case_id = next(next_case, None)
                    if case_id is None:
                        return
                    started = time.perf_counter()
                    r = await http.post(f"/api/v1/cases/{case_id}/transitions/reject", json=body)
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    failures[r.status_code] = failures.get(r.status_code, 0) + 1

    async def conductor() -> None:
        if target == "transition":
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
                await http.post(f"/api/v1/cases/{first}/transitions/reject", json=body)
        await warmed.wait()
        window["cpu"] = tree_cpu()
        window["began"] = time.perf_counter()
        window["stop_at"] = window["began"] + seconds
        go.set()

    async def scraper() -> None:
        """GET /metrics once a second through the window, as a Prometheus server would."""
        await go.wait()
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while time.perf_counter() < window["stop_at"]:
                started = time.perf_counter()
                r = await http.get("/metrics")
                scrapes.append(time.perf_counter() - started)
                if r.status_code != 200:
                    failures[r.status_code] = failures.get(r.status_code, 0) + 1
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))

    extra = [scraper()] if scrape else []
    await asyncio.gather(conductor(), *(client() for _ in range(clients)), *extra)
    elapsed = time.perf_counter() - window["began"]
    cpu = tree_cpu() - window["cpu"]
    latencies.sort()
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
        "failures": failures,
        "server_cpu": cpu,
        "scrapes": len(scrapes),
        "scrape_ms": sorted(scrapes)[len(scrapes) // 2] * 1000 if scrapes else 0.0,
    }


def load(
    base: str,
    token: str,
    args: argparse.Namespace,
    target: str,
    server_pid: int,
    *,
    first: int = 1,
    cases: int | None = None,
    scrape: bool = False,
) -> dict[str, Any]:
    # The load generator is its own process, so client and server do not share a GIL.
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--drive",
            base,
            "--target",
            target,
            "--server-pid",
            str(server_pid),
            f"--token={token}",  # a token may begin with "-"
            "--clients",
            str(args.clients),
            "--seconds",
            str(args.seconds),
            "--cases",
            str(cases or args.cases),
            "--first",
            str(first),
            *(["--scrape"] if scrape else []),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"the load generator failed ({target}):\n{out.stderr.strip()}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["failures"]:
        print(f"  {target}: non-200 responses: {result['failures']}", flush=True)
    return result


def run(name: str, url: str, args: argparse.Namespace) -> tuple[str, str]:
    print(f"{name}: preparing {url}", flush=True)
    token = prepare(url, args.cases)
    port = free_port()
    server = serve(url, port)
    base = f"http://127.0.0.1:{port}"
    measured: dict[str, tuple[dict[str, Any], float]] = {}
    try:
        for target in ("transition", "healthz"):
            result = load(base, token, args, target, server.pid)
            measured[target] = (result, result["server_cpu"] / max(1, result["requests"]) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=10)
    (fired, fired_cpu), (health, health_cpu) = measured["transition"], measured["healthz"]
    rate = fired["requests"] / fired["elapsed"]
    health_rate = health["requests"] / health["elapsed"]
    line = (
        f"{name}: {rate:,.0f} req/s, p50 {fired['p50']:.1f} ms, p99 {fired['p99']:.1f} ms "
        f"({args.clients} clients, {fired['requests']:,} requests); server CPU {fired_cpu:.2f} ms per "
        f"transition request; /healthz {health_rate:,.0f} req/s, {health_cpu:.2f} ms server CPU per request"
    )
    share = rate / health_rate if health_rate else float("nan")
    # Throughputs compare fairly only if the server got the same share of the CPU in both windows (not
    # so on a shared machine); the CPU per request does not depend on that share.
    cpu_share = health_cpu / fired_cpu if fired_cpu else float("nan")
    ratio = (
        f"ratio {name}: transitions {rate:,.0f} req/s / bare /healthz {health_rate:,.0f} req/s = "
        f"{share:.2f}; by server CPU per request {cpu_share:.2f}; "
        f"p99 {fired['p99']:.1f} ms (goal < {GOAL_P99_MS:.0f} ms)"
    )
    return line, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument(
        "--target", choices=["transition", "healthz"], default="transition", help=argparse.SUPPRESS
    )
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--scrape", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="PostgreSQL only: the same load at 1, 2 and 4 API processes (`sctac serve --workers N`), "
        "and the cost of scraping /metrics once a second",
    )
    parser.add_argument("--processes", default="1,2,4", help="with --scale: the process counts to run")
    args = parser.parse_args()
    if importlib.util.find_spec("psutil") is None:  # the server's CPU time is read through it
        raise SystemExit(
            "bench/api.py needs psutil: run `make bench`, or `.venv/bin/pip install -e '.[test,bench]'`"
        )
    if args.drive:
        result = asyncio.run(
            drive(
                args.drive,
                args.token,
                args.clients,
                args.seconds,
                args.cases,
                args.target,
                args.server_pid,
                first=args.first,
                scrape=args.scrape,
            )
        )
        print(json.dumps(result))
        return
    if args.scale:
        import secrets

        from bench.api_scale import scale
        from workflow.chain import chain_key
        from workflow.settings import get_settings

        pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
        if not pg:
            raise SystemExit("--scale needs PostgreSQL: set SCTAC_BENCH_DATABASE_URL")
        # The keys every process shares (the seeded chains must verify under the servers' key).
        os.environ.setdefault("SCTAC_CHAIN_KEY", secrets.token_hex(32))
        os.environ.setdefault("SCTAC_SECRET_KEY", secrets.token_hex(32))
        get_settings.cache_clear()
        chain_key.cache_clear()
        with postgres_database(pg) as url:
            for line in scale(url, args, prepare=prepare, load=load):
                print(line, flush=True)
        return

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run("sqlite", f"sqlite:///{tmp}/bench.db", args))
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        with postgres_database(pg) as url:
            results.append(run("postgresql", url, args))
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to run it)", flush=True)
    for line, _ in results:
        print(line)
    for _, ratio in results:
        print(ratio)


if __name__ == "__main__":
    main()
