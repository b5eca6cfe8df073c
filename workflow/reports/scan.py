"""The scan: the event rows a report reads, for one reader, in (case, seq) order, straight from the driver.

One scan of the covering index `ix_case_event_report` (every column in `fold.READ` is in it, so no
row's payload is read). The reader's need-to-know is the same WHERE clause every list uses
(`workflow.access.visible`), applied as a semi-join on the case table; someone who may see every case at
every marking gets the bare scan, with no join at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlmodel import Session

from workflow.access import MARKINGS, Principal, visible
from workflow.reports.cancel import Cancel
from workflow.reports.fold import READ
from workflow.tables import CASE, EVENT

BATCH = 20000  # rows a fetch: fewer round trips to a PostgreSQL server-side cursor; a cancel check each


def sees_all(who: Principal) -> bool:
    """Whether `who` may see every case at every marking (then the report needs no filter)."""
    return who.sees_everything and set(who.markings()) == set(MARKINGS)


def query(
    who: Principal,
    *,
    end: datetime | None,
    columns: Sequence[str] = READ,
    triggers: Sequence[str] | None = None,
) -> Select[Any]:
    """The report's read for `who`, as at `end` (exclusive; None for the whole log): `columns` (all in
    the covering index) of the events with one of `triggers` (None: every event)."""
    statement = select(*(EVENT.c[name] for name in columns))
    if triggers is not None:
        statement = statement.where(EVENT.c.trigger.in_(triggers))
    if end is not None:
        statement = statement.where(EVENT.c.created_at < bindparam("end", end))
    if not sees_all(who):
        statement = statement.where(EVENT.c.case_id.in_(select(CASE.c.id).where(visible(who))))
    return statement.order_by(EVENT.c.case_id, EVENT.c.seq)


def batches(
    session: Session,
    who: Principal,
    *,
    end: datetime | None,
    batch: int,
    cancel: Cancel | None,
    columns: Sequence[str] = READ,
    triggers: Sequence[str] | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """Lists of rows (positions as in READ) in (case, seq) order, straight from the driver's cursor.

    The driver's own tuples, not SQLAlchemy rows: over a million rows the result layer alone cost about
    0.7 s of a 5 s budget. So the bound `end` is given in the driver's form here (SQLite keeps times as
    naive ISO text, with microseconds, which orders like the times), times come back as text on SQLite,
    and booleans as 0/1. `cancel` is checked before every fetch.
    """
    conn = session.connection()
    dialect = conn.dialect
    statement = query(who, end=end, columns=columns, triggers=triggers)
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params: dict[str, Any] = dict(compiled.params)
    if end is not None and dialect.name == "sqlite":
        params["end"] = _naive(end).isoformat(sep=" ", timespec="microseconds")
    args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    driver = conn.connection.driver_connection
    assert driver is not None
    # A named cursor is a server-side cursor on PostgreSQL (rows stream in batches); SQLite's cursor
    # steps through the index as rows are fetched.
    postgres = dialect.name == "postgresql"
    cursor = driver.cursor(name="sctac_report", binary=True) if postgres else driver.cursor()
    try:
        if postgres:
            # Times come back in the session's time zone; weeks and days are UTC's. For this read only.
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
        if cancel is not None:
            cancel.check()
        cursor.execute(compiled.string, args)
        while True:
            if cancel is not None:
                cancel.check()
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield rows
    finally:
        cursor.close()


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)
