"""`python bench/api.py --scale`: the 50-client transition load at 1, 2 and 4 API processes on PostgreSQL
(`sctac serve --workers N`, uvicorn's multi-process mode), and what scraping /metrics once a second costs.

    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/api.py --scale \\
        [--cases 100000] [--clients 50] [--seconds 15] [--processes 1,2,4]

Each run gets its own slice of the seeded cases (a transition is fired once per case), a fresh server
and the same load generator as the rest of bench/api.py (its own process, closed loop, one connection
per client). Server CPU is summed over the supervisor and every process it started. Prints one line per
process count, then ``ratio scale: N processes X req/s / 1 process Y req/s = R (p99 ...)`` lines and
``ratio metrics: with /metrics scraped once a second X req/s / without Y req/s = R``. On a 2-core
machine more than 2 processes cannot scale further; on a shared one the ratios carry its noise.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

SCTAC = str(Path(sys.executable).with_name("sctac"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, processes: int) -> Iterator[tuple[str, int]]:
    """`sctac serve --workers N --no-worker` on a free port, ready once each of its N processes has
    answered (each writes its own metrics files from its first request); yields (base URL, pid)."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "metrics"
        env = {
            **os.environ,
            "SCTAC_DATABASE_URL": url,
            "SCTAC_READY_WORKER_SECONDS": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(folder),
        }
        log = (Path(tmp) / "server.log").open("wb")
        args = ["serve", "--port", str(port), "--workers", str(processes), "--no-worker"]
        proc = subprocess.Popen([SCTAC, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"the server exited: {(Path(tmp) / 'server.log').read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"{processes} API processes did not all start within 120 s")
                with suppress(httpx.HTTPError):
                    httpx.get(f"{base}/healthz", timeout=2)
                pids = {p.stem.rsplit("_", 1)[-1] for p in folder.glob("histogram_*.db")}
                if len(pids) >= processes:
                    break
                time.sleep(0.05)
            yield base, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def scale(
    url: str,
    args: argparse.Namespace,
    *,
    prepare: Callable[[str, int], str],
    load: Callable[..., dict[str, Any]],
) -> list[str]:
    counts = [int(n) for n in args.processes.split(",")]
    runs = len(counts) + 2  # and /metrics without, then with, scraping (1 process)
    span = args.cases // runs
    print(f"postgresql: preparing {args.cases:,} cases, {span:,} for each of {runs} runs", flush=True)
    token = prepare(url, args.cases)
    slots = iter(range(runs))
    measured: dict[str, dict[str, Any]] = {}

    def one(name: str, processes: int, scrape: bool = False) -> None:
        with server(url, processes) as (base, pid):
            first = next(slots) * span + 1
            result = load(base, token, args, "transition", pid, first=first, cases=span, scrape=scrape)
        result["rate"] = result["requests"] / result["elapsed"]
        result["cpu_ms"] = result["server_cpu"] / max(1, result["requests"]) * 1000
        measured[name] = result
        print(
            f"  {name}: {result['rate']:,.0f} req/s, p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, "
            f"{result['cpu_ms']:.1f} ms server CPU per request ({result['requests']:,} requests)"
            + (f"; {result['scrapes']} scrapes, median {result['scrape_ms']:.0f} ms" if scrape else ""),
            flush=True,
        )

    for n in counts:
        one(f"{n} process{'es' if n > 1 else ''}", n)
    one("1 process, no scraping", 1)
    one("1 process, /metrics scraped once a second", 1, scrape=True)

    load_avg = os.getloadavg()[0]
    lines = [
        f"machine: {os.cpu_count()} cores, load average {load_avg:.1f} at the end (shared: other suites)"
    ]
    base_rate = measured["1 process"]["rate"]
    for n in counts:
        r = measured[f"{n} process{'es' if n > 1 else ''}"]
        lines.append(
            f"ratio scale: {n} processes {r['rate']:,.0f} req/s / 1 process {base_rate:,.0f} req/s = "
            f"{r['rate'] / base_rate:.2f}; p99 {r['p99']:,.0f} ms; {r['cpu_ms']:.1f} ms server CPU/request"
        )
    without = measured["1 process, no scraping"]
    with_ = measured["1 process, /metrics scraped once a second"]
    lines.append(
        f"ratio metrics: with /metrics scraped once a second {with_['rate']:,.0f} req/s / without "
        f"{without['rate']:,.0f} req/s = {with_['rate'] / without['rate']:.2f}; by server CPU per request "
        f"{without['cpu_ms'] / with_['cpu_ms']:.2f}; median scrape {with_['scrape_ms']:.0f} ms"
    )
    return lines
