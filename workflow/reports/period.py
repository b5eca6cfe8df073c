"""The report's period: its weeks, clipped to the log's own span, and the bound on how many there are.

A report's work and size grow with its weeks (every weekly table has a column per week), so the weeks
are settled before anything is read. They are the period's weeks that the log can speak for: none
before the log's first event, none after now (or after its last event, if that is later); an open end
stands for the log's first or last event. Those weeks may number at most `MAX_WEEKS` (5 years): a longer
span is refused with a 422 naming the field to change. Settling them reads only the two ends of the
`created_at` index, whatever the size of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from workflow.errors import FieldProblem, InvalidInput
from workflow.tables import EVENT

MAX_YEARS = 5
# Weeks (Monday to Sunday) that a period of 5 years can touch, counting a part week at either end.
MAX_WEEKS = 262
_TICK = timedelta(microseconds=1)


def week_of(at: datetime) -> int:
    """The week number of `at` (its own calendar: UTC for aware times, as stored for naive ones)."""
    # Day 1 of the proleptic calendar (0001-01-01) is a Monday: integer weeks, cheap per event.
    return (at.toordinal() - 1) // 7


def week_name(week: int) -> str:
    """A week named by its Monday's date."""
    return date.fromordinal(week * 7 + 1).isoformat()


@dataclass(frozen=True)
class Period:
    """[start, end) in aware UTC; None is an open end (the log's first or last event)."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None) -> Period:
        for name, at in (("from", start), ("to", end)):
            if at is not None and at.tzinfo is None:
                raise ValueError(f"give the report period's `{name}` as a timezone-aware datetime")
        period = cls(
            start.astimezone(UTC) if start is not None else None,
            end.astimezone(UTC) if end is not None else None,
        )
        if period.start is not None and period.end is not None and period.start >= period.end:
            raise InvalidInput([FieldProblem("from", "must be before `to`")])
        return period

    def weeks(self, session: Session, *, now: datetime) -> range:
        """The weeks the report covers (see the module's docstring); InvalidInput if more than MAX_WEEKS."""
        query = select(func.min(EVENT.c.created_at), func.max(EVENT.c.created_at))
        if self.end is not None:
            query = query.where(EVENT.c.created_at < self.end)
        first, last = (_utc(at) for at in session.execute(query).one())
        session.rollback()  # end the read transaction
        if first is None or last is None:
            return range(0)
        lo_at = max(self.start, first) if self.start is not None else first
        hi_at = min(self.end - _TICK, max(now, last)) if self.end is not None else last
        weeks = range(week_of(lo_at), week_of(hi_at) + 1)
        if len(weeks) > MAX_WEEKS:
            raise InvalidInput([FieldProblem(*self._too_long(len(weeks)))])
        return weeks

    def _too_long(self, covered: int) -> tuple[str, str]:
        if self.start is not None and self.end is not None:
            field, advice = "to", "give a `to` closer to `from`"
        elif self.start is not None:
            field, advice = "from", "give a later `from`, or a `to`"
        elif self.end is not None:
            field, advice = "from", "give a `from`"
        else:
            field, advice = "from", "give `from` and `to`"
        return field, (
            f"a report covers at most {MAX_WEEKS} weeks ({MAX_YEARS} years) of the log, "
            f"and this period covers {covered}: {advice}"
        )


def _utc(at: datetime | str | None) -> datetime | None:
    if at is None:
        return None
    if isinstance(at, str):  # a driver that hands back text
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
