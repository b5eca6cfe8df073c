"""Reference data (hubs, units) seeded from the active rule files' reference section.

Only missing rows are added: once a hub or unit exists, the admins own it and a restart never
overwrites their edits.
"""

from __future__ import annotations

from sqlmodel import Session

from workflow import rulebook as rb
from workflow.models import Hub, Unit


def sync_reference(session: Session, *, rules: rb.Rulebook | None = None) -> int:
    rules = rules or rb.get_rulebook()
    ref = rules.ruleset
    added = 0
    for hub in ref.hubs.values():
        if session.get(Hub, hub.code) is None:
            session.add(Hub(code=hub.code, name=hub.name, capacity=hub.capacity))
            added += 1
    for unit in ref.units.values():
        if session.get(Unit, unit.code) is None:
            session.add(Unit(code=unit.code, name=unit.name, kind=unit.kind, boroughs=list(unit.boroughs)))
            added += 1
    session.commit()
    return added
