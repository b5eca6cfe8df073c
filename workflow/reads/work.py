"""My work (the landing page): the open cases a person owns and the assessment queue, as they may see
them, what is due first at the top. Their open escalations come from `reads.escalations`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, select
from sqlmodel import Session

from workflow import access
from workflow.access import Principal
from workflow.lifecycle import OPEN_STATES
from workflow.models import Case
from workflow.tables import CASE

LIMIT = 50

# The earlier of the SLA and review due dates (either may be missing), for "what is due first" orders.
NEXT_DUE: ColumnElement[Any] = case(
    (CASE.c.sla_due_at.is_(None), CASE.c.review_due_at),
    (CASE.c.review_due_at.is_(None), CASE.c.sla_due_at),
    (CASE.c.sla_due_at < CASE.c.review_due_at, CASE.c.sla_due_at),
    else_=CASE.c.review_due_at,
)


def owned_cases(session: Session, *, who: Principal, limit: int = LIMIT) -> Sequence[Case]:
    """Open cases `who` owns (and may still see), the soonest due first, undated last."""
    return (
        session.execute(
            select(Case)
            .where(CASE.c.owner == who.username, CASE.c.state.in_(OPEN_STATES), access.visible(who))
            .order_by(NEXT_DUE.is_(None), NEXT_DUE, CASE.c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def assessment_queue(session: Session, *, who: Principal, limit: int = LIMIT) -> Sequence[Case]:
    """Submitted requests `who` may see, waiting for a MoRiLE assessment, the soonest SLA first."""
    return (
        session.execute(
            select(Case)
            .where(CASE.c.state == "submitted", access.visible(who))
            .order_by(CASE.c.sla_due_at.is_(None), CASE.c.sla_due_at, CASE.c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
