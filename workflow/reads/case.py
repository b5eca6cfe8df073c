"""What the case page shows beside the case itself: its pending timers and its escalations.

Callers have opened the case through `read_case` (which checked visibility and logged the read), so
these take the case's id as given.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from workflow.models import Escalation, Timer
from workflow.statuses import TimerStatus


def pending_timers(session: Session, *, case_id: int) -> Sequence[Timer]:
    query = (
        select(Timer)
        .where(col(Timer.case_id) == case_id, col(Timer.status) == TimerStatus.PENDING)
        .order_by(col(Timer.due_at))
    )
    return session.execute(query).scalars().all()


def escalations_of(session: Session, *, case_id: int) -> Sequence[Escalation]:
    query = (
        select(Escalation)
        .where(col(Escalation.case_id) == case_id)
        .order_by(col(Escalation.raised_at).desc())
    )
    return session.execute(query).scalars().all()
