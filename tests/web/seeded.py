"""A large caseload written in bulk, and the pages each kind of user opens on it.

`seed` fills a fresh database with cases in every state, their assessments, events and escalations by
bulk insert (the service path would take an hour for 100,000). tests/web/test_seeded_pages.py opens
every page of `page_plan` on a small seed and expects each to answer; bench/pages.py times the same
pages on a large one.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import add_people, morile_inputs
from workflow import rulebook
from workflow.db import utcnow
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
                        "summary": "Seeded in bulk.",
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


def page_plan(engine: Engine) -> list[tuple[str, list[str]]]:
    """(username, the pages that user opens) on a seeded database."""
    with Session(engine) as s:
        some_case = s.execute(select(CASE.c.id).where(CASE.c.state == "tasked").limit(1)).scalar_one()
        owner = s.execute(select(CASE.c.owner).where(CASE.c.id == some_case)).scalar_one()
        unit_case = s.execute(
            select(CASE.c.id).where(CASE.c.requesting_unit == "NE", CASE.c.state == "tasked").limit(1)
        ).scalar_one()
    return [
        ("req.ne", ["/", "/cases", "/requests", f"/cases/{unit_case}", "/requests/new"]),
        ("analyst.centre", ["/", "/cases", "/cases?state=submitted&band=", "/cases?q=network", "/tasking"]),
        ("sup.east", ["/", "/escalations", "/tasking", "/cases?sort=-risk"]),
        ("chair", ["/", "/escalations", f"/cases/{some_case}", "/dashboard"]),
        (owner, ["/", f"/cases/{some_case}"]),
        ("admin", ["/admin/rules", "/cases"]),
    ]
