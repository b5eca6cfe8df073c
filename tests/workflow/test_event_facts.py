"""The facts the evaluation report reads (workflow/facts.py): written with every event, filled in for
events written before they existed (migration 0005), and always equal to what the event's payload says."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from demo.simulation import run_demo
from workflow import audit
from workflow.facts import COLUMNS, facts_of
from workflow.migrate import alembic_config, upgrade
from workflow.tables import CASE, EVENT

# Six weeks of a small pathfinder reach every kind of event the report reads (closures with outcomes
# and 4P strands, reviews, escalation ladders), so every fact column is exercised.
DEMO = {"seed": 3, "weeks": 6, "requests": 80, "passwords": False}


def _stored(engine: Engine) -> dict[int, tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every event: (trigger, payload, the facts as stored)."""
    with Session(engine) as session:
        rows = session.execute(
            select(EVENT.c.id, EVENT.c.trigger, EVENT.c.payload, *(EVENT.c[c] for c in COLUMNS))
        ).all()
    return {r.id: (r.trigger, r.payload, {c: getattr(r, c) for c in COLUMNS}) for r in rows}


def test_every_event_is_written_with_the_facts_of_its_payload(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    run_demo(blank_engine, **DEMO)  # type: ignore[arg-type]
    events = _stored(blank_engine)
    assert len(events) > 200
    assert all(facts == facts_of(trigger, payload) for trigger, payload, facts in events.values())
    filled = {c for _, _, facts in events.values() for c, v in facts.items() if v is not None}
    # The simulated pathfinder records no effort (minutes are never guessed, and its log is golden):
    # tests/reports/test_effort.py writes and reads that fact.
    assert filled == set(COLUMNS) - {"minutes"}

    # And they say what the case says: a submission's unit, themes and first hub.
    with Session(blank_engine) as session:
        case = session.execute(select(CASE).order_by(CASE.c.id).limit(1)).one()
        submit = session.execute(select(EVENT).where(EVENT.c.case_id == case.id, EVENT.c.seq == 1)).one()
    assert submit.unit == case.requesting_unit
    assert json.loads(submit.themes) == case.themes
    assert json.loads(submit.capabilities) == case.capabilities
    assert submit.hub is not None and submit.hub == submit.payload["decisions"]["route"]["hub"]


def test_upgrading_a_database_from_before_the_facts_fills_them_in(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    run_demo(blank_engine, **DEMO)  # type: ignore[arg-type]
    written = _stored(blank_engine)
    cfg = alembic_config(blank_engine.url.render_as_string(hide_password=False))
    with blank_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")  # the columns and their index go: a log from before 0005

    upgrade(blank_engine)

    assert _stored(blank_engine) == written
    with Session(blank_engine) as session:
        checked = audit.verify(session)
    assert checked.ok, checked.breaks
    assert checked.events == len(written)
