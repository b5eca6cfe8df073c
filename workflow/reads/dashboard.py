"""The dashboard's counts of the caseload `who` may see: cases per state and hub, overdue reviews per
hub, open escalations per level, and open cases per MoRiLE matrix cell. Counts only: no case content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlmodel import Session

from workflow import access
from workflow.access import Principal
from workflow.ladders import OPEN as OPEN_ESCALATION
from workflow.lifecycle import OPEN_STATES, State
from workflow.tables import ASSESSMENT, CASE, ESCALATION


@dataclass(frozen=True)
class Caseload:
    by_state: dict[str, int]
    open_by_hub: dict[str | None, int]
    overdue_by_hub: dict[str | None, int]
    escalations_by_level: dict[str, int]
    # (harm total, likelihood total) of each open case's latest assessment -> number of cases
    cells: dict[tuple[float, int], int]


def caseload(session: Session, *, who: Principal, now: datetime) -> Caseload:
    seen = access.visible(who)
    # One pass over the (state, hub) index gives both the states and the open load per hub.
    by_state: dict[str, int] = {}
    open_by_hub: dict[str | None, int] = {}
    for state, hub, n in session.execute(
        select(CASE.c.state, CASE.c.hub, func.count()).where(seen).group_by(CASE.c.state, CASE.c.hub)
    ).all():
        by_state[state] = by_state.get(state, 0) + n
        if state in OPEN_STATES:
            open_by_hub[hub] = open_by_hub.get(hub, 0) + n
    overdue = {
        hub: n
        for hub, n in session.execute(
            select(CASE.c.hub, func.count())
            .where(CASE.c.state == State.TASKED.value, CASE.c.review_due_at < now, seen)
            .group_by(CASE.c.hub)
        ).all()
    }
    levels = {
        str(level): n
        for level, n in session.execute(
            select(ESCALATION.c.level_name, func.count())
            .select_from(ESCALATION.join(CASE, CASE.c.id == ESCALATION.c.case_id))
            .where(ESCALATION.c.status.in_(OPEN_ESCALATION), seen)
            .group_by(ESCALATION.c.level_name)
        ).all()
    }
    # The latest assessment of each open case (the one its band comes from), found by the unique
    # (case_id, seq) index; grouped by exact totals, which take few distinct values.
    newer = ASSESSMENT.alias("newer")
    latest = (
        select(func.max(newer.c.seq)).where(newer.c.case_id == CASE.c.id).correlate(CASE).scalar_subquery()
    )
    cells = {
        (float(h), int(lk)): n
        for h, lk, n in session.execute(
            select(ASSESSMENT.c.harm_total, ASSESSMENT.c.likelihood_total, func.count())
            .select_from(
                CASE.join(ASSESSMENT, and_(ASSESSMENT.c.case_id == CASE.c.id, ASSESSMENT.c.seq == latest))
            )
            .where(CASE.c.state.in_(OPEN_STATES), seen)
            .group_by(ASSESSMENT.c.harm_total, ASSESSMENT.c.likelihood_total)
        ).all()
    }
    return Caseload(by_state, open_by_hub, overdue, levels, cells)
