"""What the operators of the service read: readiness, and the gauges /metrics computes at scrape time.

Aggregates only (counts, ages in seconds, labels from the definitions): no case, person or payload, so
they may be shown to a monitoring system. Still read as a named principal: a system one (the metrics
endpoint, after its own token or address check) or an admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from workflow import heartbeats
from workflow.access import Principal
from workflow.db import reachable, utcnow
from workflow.errors import ConfigError, Forbidden
from workflow.ladders import OPEN
from workflow.rulebook import active_rulebook
from workflow.statuses import TimerStatus
from workflow.tables import ESCALATION, OUTBOX, TIMER

# A pending timer due longer ago than this is overdue: a live worker passes every few seconds.
OVERDUE_AFTER = timedelta(minutes=1)


def _require_operator(who: Principal) -> None:
    if not (who.is_system or who.is_admin):
        raise Forbidden("only the service's operators read its operational figures", needed=["admin"])


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or what is wrong

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


def readiness(engine: Engine, *, who: Principal, worker_within: timedelta) -> Readiness:
    """Whether this process can serve: the database answers, its schema is at head, the active rules and
    matrix load, and some worker finished a pass within `worker_within`. Never raises."""
    _require_operator(who)
    from workflow.migrate import at_head

    checks: dict[str, str] = {}
    if not reachable(engine):
        return Readiness({"database": "unreachable"})
    checks["database"] = "ok"
    try:
        checks["migrations"] = "ok" if at_head(engine) else "behind: run `sctac db upgrade`"
    except Exception:  # an unmigrated database has no version table: not ready, not a 500
        checks["migrations"] = "unknown: run `sctac db upgrade`"
    with Session(engine) as session:
        try:
            book = active_rulebook(session)
            checks["rules"] = "ok" if book.ruleset.rules and book.matrix else "no rules loaded"
        except ConfigError:
            checks["rules"] = "the active rules or matrix do not load"
        except Exception:
            checks["rules"] = "unknown: the ruleset table cannot be read"
        try:
            last = heartbeats.latest_beat(session)
        except Exception:
            last = None
    if last is None:
        checks["worker"] = "no worker has run"
    else:
        age = (utcnow() - last).total_seconds()
        limit = worker_within.total_seconds()
        checks["worker"] = "ok" if age <= limit else f"last worker pass {age:.0f} s ago (limit {limit:.0f} s)"
    return Readiness(checks)


@dataclass(frozen=True)
class Gauges:
    timers_due: int
    timers_overdue: int
    oldest_due_seconds: float  # how long the longest-waiting due timer has waited (0: none due)
    outbox_pending: int
    outbox_lag_seconds: float  # age of the oldest event not yet turned into deliveries (0: none)
    escalations_open: dict[int, int]  # ladder level -> unresolved escalations


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def gauges(session: Session, *, who: Principal, now: datetime | None = None) -> Gauges:
    """Timers due and overdue, the outbox's backlog and lag, unresolved escalations by level."""
    _require_operator(who)
    at = now or utcnow()
    pending = TIMER.c.status == TimerStatus.PENDING
    due = session.execute(
        select(func.count()).select_from(TIMER).where(pending, TIMER.c.due_at <= at)
    ).scalar_one()
    overdue = session.execute(
        select(func.count()).select_from(TIMER).where(pending, TIMER.c.due_at <= at - OVERDUE_AFTER)
    ).scalar_one()
    # ORDER BY ... LIMIT 1 rather than min(): an aggregate loses the column's type (text on SQLite).
    oldest = session.execute(
        select(TIMER.c.due_at).where(pending, TIMER.c.due_at <= at).order_by(TIMER.c.due_at).limit(1)
    ).scalar()
    outbox = session.execute(select(func.count()).select_from(OUTBOX)).scalar_one()
    first = session.execute(select(OUTBOX.c.created_at).order_by(OUTBOX.c.created_at).limit(1)).scalar()
    levels = session.execute(
        select(ESCALATION.c.level, func.count())
        .where(ESCALATION.c.status.in_([s.value for s in OPEN]))
        .group_by(ESCALATION.c.level)
    ).all()
    session.rollback()  # read-only: end the transaction so the connection goes back clean
    return Gauges(
        timers_due=int(due),
        timers_overdue=int(overdue),
        oldest_due_seconds=_age(at, oldest),
        outbox_pending=int(outbox),
        outbox_lag_seconds=_age(at, first),
        escalations_open={int(level): int(n) for level, n in levels},
    )
