"""sctac's write path beside a peer: the same six-step lifecycle in SpiffWorkflow, on the same database.

    python bench/peers.py [--cases 500] [--rounds 5]
    SCTAC_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/peers.py

Needs the `bench` extra (`make bench` installs it; or `.venv/bin/pip install -e '.[test,bench]'`).

The peer is what a team might build instead: SpiffWorkflow (the Python BPMN engine) running
bench/case_lifecycle.bpmn, six user tasks (submit, assess, prioritise, task, review, close) with one
exclusive gateway on the assessed risk. After every step the whole workflow is serialised with
SpiffWorkflow's `BpmnWorkflowSerializer` (JSON, definition included) and written, with an event row
holding the step's data, in one transaction per step: a compare-and-set UPDATE of the instance row (or
the INSERT that creates it) and the event INSERT, on the bare driver (sqlite3 with sctac's pragmas, or
psycopg 3), the cheapest way to write it. It runs two ways:

- **reloading**: the workflow is read back from the database and deserialised at every step, as a
  service handling one request per step must (the fair comparison);
- **in memory**: the workflow object is kept between steps (a single long-lived process owning every
  case: the peer's best case, not a design a multi-process service can use).

The peer does no MoRiLE scoring (the risk is computed once, outside the timing, by sctac's scorer),
no routing rules, no clocks or timers, no hash chain and no outbox: it is a floor for a BPMN design,
not its equal. sctac runs its real service path (bench/lifecycle.py's `step`: submit_case, then fire).

Engines alternate within each round (A B C, then C B A, ...) so drift on a shared machine falls on all
of them; each figure is the median over rounds, each ratio the median of the rounds' own ratios.
Ends with the ratios: ``ratio sqlite: sctac / reloading peer R (goal >= 2)`` and so on.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.util.task import TaskState
except ImportError:
    raise SystemExit(
        "bench/peers.py needs SpiffWorkflow: run `make bench`, or `.venv/bin/pip install -e '.[test,bench]'`"
    ) from None

import psycopg
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bench.lifecycle import CYCLE, counting, step
from bench.scratch import postgres_database
from tests.factories import DEFAULT_DATA, morile_inputs, request_data
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.models import User
from workflow.reference import sync_reference
from workflow.rulebook import get_rulebook

BPMN = Path(__file__).resolve().parent / "case_lifecycle.bpmn"
PROCESS = "case_lifecycle"
STEPS = ["submit", *CYCLE]
GOAL_RELOADING = 2.0
GOAL_IN_MEMORY = 1.0


def peer_inputs() -> dict[str, dict[str, Any]]:
    """Each step's data for the peer: what sctac's fixtures give its service, and the risk for the gateway."""
    scored = get_rulebook().score(morile_inputs())
    inputs = {trigger: dict(DEFAULT_DATA[trigger]) for trigger in CYCLE}
    inputs["assess"].update(risk=scored.risk, band=scored.band)
    return {"submit": {"request": request_data()}, **inputs}


# --- the peer's storage: one instance row holding the serialised workflow, one event row per step ---


class PeerStore:
    """The bare driver: one connection, statements counted here since no engine sees them."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.statements = 0
        p = "?" if dialect == "sqlite" else "%s"
        self.sql = {
            "load": f"SELECT workflow, version FROM peer_case WHERE id = {p}",
            "create": f"INSERT INTO peer_case (state, version, workflow) VALUES ({p}, 1, {p}) RETURNING id",
            "cas": (
                f"UPDATE peer_case SET state = {p}, version = version + 1, workflow = {p} "
                f"WHERE id = {p} AND version = {p}"
            ),
            "event": (
                f"INSERT INTO peer_event (case_id, seq, step, payload, created_at) "
                f"VALUES ({p}, {p}, {p}, {p}, {p})"
            ),
        }

    def create_tables(self) -> None:
        key = "INTEGER PRIMARY KEY" if self.dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
        stamp = "TEXT" if self.dialect == "sqlite" else "TIMESTAMPTZ"
        self.conn.execute(
            f"CREATE TABLE peer_case (id {key}, state TEXT NOT NULL, version INT NOT NULL, "
            "workflow TEXT NOT NULL)"
        )
        self.conn.execute(
            f"CREATE TABLE peer_event (id {key}, case_id BIGINT NOT NULL REFERENCES peer_case (id), "
            f"seq INT NOT NULL, step TEXT NOT NULL, payload TEXT NOT NULL, created_at {stamp} NOT NULL, "
            "UNIQUE (case_id, seq))"
        )
        self.conn.commit()

    def execute(self, name: str, params: tuple[Any, ...]) -> Any:
        self.statements += 1
        return self.conn.execute(self.sql[name], params)

    def now(self) -> Any:
        at = datetime.now(UTC)
        return at.isoformat() if self.dialect == "sqlite" else at


@dataclass
class Instance:
    case_id: int
    version: int
    workflow: BpmnWorkflow | None  # None when the peer reloads at every step


class Peer:
    """SpiffWorkflow driving the lifecycle, writing after every step; `reload` decides where it lives."""

    def __init__(self, store: PeerStore, *, reload: bool) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS)
        self.serializer = BpmnWorkflowSerializer()
        self.store = store
        self.reload = reload
        self.json_bytes = 0

    def _run(self, workflow: BpmnWorkflow, name: str, data: dict[str, Any]) -> str:
        """Complete the ready user task `name` with `data`; return the next one's name (or 'closed')."""
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.name != name:
            raise RuntimeError(f"peer expected user task {name!r}, found {task and task.task_spec.name!r}")
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
        following = workflow.get_next_task(state=TaskState.READY, manual=True)
        return following.task_spec.name if following is not None else "closed"

    def _write_event(self, case_id: int, seq: int, name: str, data: dict[str, Any]) -> None:
        self.store.execute("event", (case_id, seq, name, json.dumps(data), self.store.now()))

    def submit(self, data: dict[str, Any]) -> Instance:
        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        state = self._run(workflow, "submit", data)
        doc = self.serializer.serialize_json(workflow)
        self.json_bytes += len(doc)
        try:
            case_id = int(self.store.execute("create", (state, doc)).fetchone()[0])
            self._write_event(case_id, 1, "submit", data)
            self.store.conn.commit()
        except BaseException:
            self.store.conn.rollback()
            raise
        return Instance(case_id, 1, None if self.reload else workflow)

    def fire(self, instance: Instance, name: str, data: dict[str, Any]) -> None:
        try:
            if instance.workflow is None:
                doc, version = self.store.execute("load", (instance.case_id,)).fetchone()
                if version != instance.version:
                    raise RuntimeError(f"peer case {instance.case_id} moved under us")
                workflow = self.serializer.deserialize_json(doc)
            else:
                workflow = instance.workflow
            state = self._run(workflow, name, data)
            doc = self.serializer.serialize_json(workflow)
            self.json_bytes += len(doc)
            cur = self.store.execute("cas", (state, doc, instance.case_id, instance.version))
            if cur.rowcount != 1:
                raise RuntimeError(f"peer case {instance.case_id}: compare-and-set lost")
            instance.version += 1
            self._write_event(instance.case_id, instance.version, name, data)
            self.store.conn.commit()
        except BaseException:
            self.store.conn.rollback()
            raise

    def lifecycle(self, inputs: dict[str, dict[str, Any]]) -> None:
        instance = self.submit(inputs["submit"])
        for name in CYCLE:
            self.fire(instance, name, inputs[name])


# --- the engines under one interface: run N lifecycles, report steps, statements and CPU ---


@dataclass
class Round:
    rate: float  # steps/s
    cpu_us: float  # this process's CPU per step (the database server's is not in it)
    statements: float  # per step
    json_kb: float = 0.0  # serialised workflow written per step


@dataclass
class Contender:
    name: str
    run: Callable[[int], Round]
    rounds: list[Round] = field(default_factory=list)


def timed(steps: int, body: Callable[[], None]) -> tuple[float, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    body()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return steps / elapsed, cpu / steps * 1e6


def sctac_contender(engine: Engine) -> Contender:
    rules = get_rulebook()
    session = Session(engine, expire_on_commit=False)
    sync_reference(session, rules=rules)
    session.add(
        User(
            username="owner.east",
            display_name="Owner",
            roles=["case_owner"],
            hub_code="EAST",
            # The fixtures' requests are OFFICIAL-SENSITIVE: only an owner cleared for them can be tasked.
            clearance="OFFICIAL-SENSITIVE",
        )
    )
    session.commit()

    def lifecycles(n: int) -> None:
        for _ in range(n):
            case_id = None
            for trigger in STEPS:
                case_id = step(session, trigger=trigger, case_id=case_id, rules=rules)

    lifecycles(1)  # warm caches

    def run(n: int) -> Round:
        with counting(engine) as counts:
            rate, cpu = timed(n * len(STEPS), lambda: lifecycles(n))
        return Round(rate, cpu, sum(counts.statements.values()) / (n * len(STEPS)))

    return Contender("sctac service", run)


def peer_contender(store: PeerStore, *, reload: bool) -> Contender:
    peer = Peer(store, reload=reload)
    inputs = peer_inputs()
    peer.lifecycle(inputs)  # warm caches

    def run(n: int) -> Round:
        store.statements, peer.json_bytes = 0, 0
        steps = n * len(STEPS)

        def body() -> None:
            for _ in range(n):
                peer.lifecycle(inputs)

        rate, cpu = timed(steps, body)
        return Round(rate, cpu, store.statements / steps, peer.json_bytes / steps / 1024)

    return Contender("spiff reloading" if reload else "spiff in memory", run)


def alternate(contenders: list[Contender], cases: int, rounds: int) -> None:
    per_round = max(1, cases // rounds)
    for r in range(rounds):
        order = contenders if r % 2 == 0 else contenders[::-1]
        for c in order:
            c.rounds.append(c.run(per_round))


def report(db: str, contenders: list[Contender], cases: int, rounds: int) -> list[str]:
    """Print each engine's medians now; return the ratio lines (printed last of all)."""
    print(f"{db}: {rounds} rounds of {max(1, cases // rounds)} lifecycles per engine, medians", flush=True)
    for c in contenders:
        med = {
            k: statistics.median(getattr(r, k) for r in c.rounds) for k in ("rate", "cpu_us", "statements")
        }
        spread = " ".join(f"{r.rate:.0f}" for r in c.rounds)
        json_kb = (
            f", {statistics.median(r.json_kb for r in c.rounds):.1f} KB JSON/step"
            if c.rounds[0].json_kb
            else ""
        )
        print(
            f"  {c.name:<16} {med['rate']:7,.0f} steps/s (rounds {spread}); "
            f"{med['statements']:.2f} statements/step, {med['cpu_us']:,.0f} µs client CPU/step{json_kb}",
            flush=True,
        )
    ours, reloading, in_memory = contenders

    def ratio(peer: Contender) -> float:
        return statistics.median(a.rate / b.rate for a, b in zip(ours.rounds, peer.rounds, strict=True))

    return [
        f"ratio {db}: sctac / reloading peer {ratio(reloading):.2f} (goal >= {GOAL_RELOADING})",
        f"ratio {db}: sctac / in-memory peer {ratio(in_memory):.2f} (goal >= {GOAL_IN_MEMORY})",
    ]


@contextmanager
def sqlite_store(path: Path) -> Iterator[PeerStore]:
    # sqlite3's default (legacy) transactions, as pysqlite under SQLAlchemy: BEGIN before the first write.
    conn = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    store = PeerStore(conn, "sqlite")
    store.create_tables()
    try:
        yield store
    finally:
        conn.close()


@contextmanager
def postgres_store(url: str) -> Iterator[PeerStore]:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        store = PeerStore(conn, "postgresql")
        store.create_tables()
        yield store


def bench_sqlite(cases: int, rounds: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/sctac.db")
        upgrade(engine)
        with (
            sqlite_store(Path(tmp) / "reload.db") as reload_db,
            sqlite_store(Path(tmp) / "memory.db") as mem_db,
        ):
            contenders = [
                sctac_contender(engine),
                peer_contender(reload_db, reload=True),
                peer_contender(mem_db, reload=False),
            ]
            alternate(contenders, cases, rounds)
        engine.dispose()
    return report("sqlite", contenders, cases, rounds)


def bench_postgres(url: str, cases: int, rounds: int) -> list[str]:
    with postgres_database(url) as db_url:
        engine = make_engine(db_url)
        upgrade(engine)
        with postgres_store(db_url) as store:
            # Both peer runs share one connection and its tables: they run one after the other.
            contenders = [
                sctac_contender(engine),
                peer_contender(store, reload=True),
                peer_contender(store, reload=False),
            ]
            alternate(contenders, cases, rounds)
        engine.dispose()
    return report("postgresql", contenders, cases, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=int, default=500, help="lifecycles per engine per database (6 steps each)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the cases are split into")
    args = parser.parse_args()
    if not 1 <= args.cases <= 100_000:
        parser.error("--cases must be between 1 and 100,000")
    if not 1 <= args.rounds <= min(args.cases, 100):
        parser.error("--rounds must be between 1 and the number of cases (at most 100)")
    rules = get_rulebook()
    print(
        f"sctac rules backend {rules.compiled.backend}, ruleset {rules.version}; peer SpiffWorkflow "
        f"{spiff_version()} on {BPMN.name}; {args.cases} lifecycles per engine per database",
        flush=True,
    )
    ratios = bench_sqlite(args.cases, args.rounds)
    pg = os.environ.get("SCTAC_BENCH_DATABASE_URL")
    if pg:
        ratios += bench_postgres(pg, args.cases, args.rounds)
    else:
        print("postgresql: skipped (set SCTAC_BENCH_DATABASE_URL to include it)")
    print("\n".join(ratios))


def spiff_version() -> str:
    from importlib.metadata import version

    return version("spiffworkflow")


if __name__ == "__main__":
    main()
