"""How fast the pages answer with a large caseload: `python -m tests.web.timing [--cases 100000] [--url ...]`.

Not a test (it takes a minute to seed): it fills a fresh database with cases in every state, their
assessments, events and escalations by bulk insert (the service path would take an hour), then times
each page in-process with the TestClient, the median of several requests after a warm-up.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people, morile_inputs
from tests.web.pages import create_app, visitor
from workflow import rulebook
from workflow.db import make_engine, utcnow
from workflow.migrate import upgrade
from workflow.models import Assessment, Case, CaseEvent, Escalation
from workflow.reference import sync_reference

CASE = Case.__table__  # type: ignore[attr-defined]
EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
ASSESSMENT = Assessment.__table__  # type: ignore[attr-defined]
ESCALATION = Escalation.__table__  # type: ignore[attr-defined]
STATES = ["submitted"] * 15 + ["assessed"] * 10 + ["prioritised"] * 10 + ["tasked"] * 25 + ["reviewed"] * 5
STATES += ["closed"] * 25 + ["rejected"] * 5 + ["withdrawn"] * 5
HUBS = ["NORTH", "SOUTH", "EAST", "WEST", "CENTRE"]
UNITS = ["CE", "CN", "AS", "AW", "EA", "NA", "NE", "NW", "SN", "SE", "SW", "WA"]
PEOPLE = [
    ("req.ne", ["requester"], "NE", None),
    ("analyst.centre", ["analyst"], None, None),
    ("sup.east", ["supervisor"], None, "EAST"),
    ("chair", ["supervisor"], None, None),
    ("admin", ["admin"], None, None),
] + [(f"owner{i}", ["case_owner"], None, HUBS[i % 4]) for i in range(200)]


def seed(engine: Engine, n: int, *, seed_value: int = 7) -> None:
    rnd = random.Random(seed_value)
    book = rulebook.get_rulebook()
    with Session(engine) as s:
        sync_reference(s)
        add_people(s, PEOPLE)
    now = utcnow()
    batch = 5000
    with engine.begin() as conn:
        next_id = 1
        while next_id <= n:
            cases, events, scores = [], [], []
            for case_id in range(next_id, min(next_id + batch, n + 1)):
                state = rnd.choice(STATES)
                created = now - timedelta(days=rnd.uniform(0, 720))
                inputs = morile_inputs(
                    harm=tuple(rnd.randint(0, 4) for _ in range(5)),  # type: ignore[arg-type]
                    scope=rnd.randint(1, 4),
                    likelihood=rnd.randint(1, 5),
                    vulnerability=rnd.randint(0, 4),
                    capability=rnd.randint(1, 4),
                )
                scored = book.score(inputs) if state != "submitted" else None
                tasked = state in ("tasked", "reviewed", "closed")
                sla = state in ("submitted", "assessed", "prioritised")
                cases.append(
                    {
                        "id": case_id,
                        "reference": f"SCT-{created.year}-{case_id:06d}",
                        "title": f"Request {case_id} about a {rnd.choice(['line', 'group', 'network'])}",
                        "summary": "Seeded for timing.",
                        "requesting_unit": rnd.choice(UNITS),
                        "target_type": "ocg",
                        "target_name": f"Target {case_id}",
                        "themes": ["drugs"],
                        "capabilities": ["surveillance"],
                        "tags": [],
                        "protective_marking": rnd.choice(["OFFICIAL", "OFFICIAL-SENSITIVE"]),
                        "state": state,
                        "version": 3,
                        "hub": rnd.choice(HUBS),
                        "team": None,
                        "owner": f"owner{rnd.randrange(200)}" if tasked else None,
                        "band": scored.band if scored else None,
                        "risk": scored.risk if scored else None,
                        "escalation_level": 0,
                        "policy": {},
                        "sla_stage": state if sla else None,
                        "sla_started_at": created if sla else None,
                        "sla_target_seconds": 5 * 86400.0 if sla else None,
                        "sla_working": False,
                        "sla_paused_seconds": 0.0,
                        "sla_due_at": now + timedelta(days=rnd.uniform(-10, 20)) if sla else None,
                        "sla_breached": False,
                        "review_due_at": (
                            now + timedelta(days=rnd.uniform(-10, 60)) if state == "tasked" else None
                        ),
                        "review_overdue": False,
                        "created_by": "req.ne",
                        "created_at": created,
                        "updated_at": created,
                        "event_seq": 1,
                        "last_event_hash": "0" * 64,
                    }
                )
                events.append(
                    {
                        "case_id": case_id,
                        "seq": 1,
                        "trigger": "submit",
                        "from_state": None,
                        "to_state": "submitted",
                        "actor": "req.ne",
                        "reason": None,
                        "payload": {},
                        "created_at": created,
                        "prev_hash": "0" * 64,
                        "hash": "0" * 64,
                    }
                )
                if scored is not None:
                    scores.append(
                        {
                            "case_id": case_id,
                            "seq": 1,
                            "event_seq": 2,
                            "matrix_id": scored.matrix_id,
                            "matrix_version": scored.matrix_version,
                            "inputs": inputs,
                            "result": scored.payload,
                            "band": scored.band,
                            "risk": scored.risk,
                            "harm_total": scored.harm_total,
                            "likelihood_total": scored.likelihood_total,
                            "confidence": scored.confidence,
                            "org_grade": scored.org_grade,
                            "floor_applied": False,
                            "response_level": "force",
                            "rationale": None,
                            "assessor": "analyst.centre",
                            "created_at": created,
                        }
                    )
            conn.execute(insert(CASE), cases)
            conn.execute(insert(EVENT), events)
            if scores:
                conn.execute(insert(ASSESSMENT), scores)
            next_id += batch
        open_ids = conn.execute(
            select(CASE.c.id, CASE.c.hub).where(CASE.c.state.in_(("assessed", "prioritised", "tasked")))
        ).all()
        conn.execute(
            insert(ESCALATION),
            [
                {
                    "case_id": cid,
                    "source": "rule",
                    "level": rnd.randint(1, 2),
                    "level_name": "hub_supervisor",
                    "handler": "hub_supervisor",
                    "hub": hub,
                    "reason": "seeded",
                    "rules": [],
                    "status": "open",
                    "step": 0,
                    "snoozes": 0,
                    "raised_at": now - timedelta(hours=rnd.uniform(0, 200)),
                    "event_seq": 2,
                }
                for cid, hub in rnd.sample(open_ids, min(2000, len(open_ids)))
            ],
        )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # fresh statistics, as a database in service would have


def measure(engine: Engine, repeats: int = 7) -> list[tuple[str, str, float, float]]:
    app = create_app(engine=engine)
    with Session(engine) as s:
        some_case = s.execute(select(CASE.c.id).where(CASE.c.state == "tasked").limit(1)).scalar_one()
        owner = s.execute(select(CASE.c.owner).where(CASE.c.id == some_case)).scalar_one()
        unit_case = s.execute(
            select(CASE.c.id).where(CASE.c.requesting_unit == "NE", CASE.c.state == "tasked").limit(1)
        ).scalar_one()
    plan: list[tuple[str, list[str]]] = [
        ("req.ne", ["/", "/cases", "/requests", f"/cases/{unit_case}", "/requests/new"]),
        ("analyst.centre", ["/", "/cases", "/cases?state=submitted&band=", "/cases?q=network", "/tasking"]),
        ("sup.east", ["/", "/escalations", "/tasking", "/cases?sort=-risk"]),
        ("chair", ["/", "/escalations", f"/cases/{some_case}", "/dashboard"]),
        (owner, ["/", f"/cases/{some_case}"]),
        ("admin", ["/admin/rules", "/cases"]),
    ]
    results = []
    for username, paths in plan:
        v = visitor(engine, username, app)
        for path in paths:
            first_started = time.perf_counter()
            response = v.get(path)
            first = time.perf_counter() - first_started
            assert response.status_code == 200, (username, path, response.status_code)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                v.get(path)
                times.append(time.perf_counter() - started)
            results.append((username, path, first * 1000, statistics.median(times) * 1000))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument(
        "--url", default=None, help="database URL (default: a SQLite file in the temp folder)"
    )
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.gettempdir()) / 'sctac-timing.db'}"
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
    print(f"{'user':<16} {'page':<34} {'first ms':>9} {'median ms':>10}")
    for username, path, first, median in measure(engine):
        print(f"{username:<16} {path:<34} {first:9.1f} {median:10.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()
