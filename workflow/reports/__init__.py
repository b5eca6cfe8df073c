"""The pathfinder's evaluation figures (story 9), every one computed from the case event log.

`evaluation` reads `case_event` rows — trigger, from/to state, actor, time and the event's facts (the
few payload fields it needs, kept as columns: see workflow/facts.py) — in (case, seq) order, in one scan
of the covering index `ix_case_event_report` (`scan.py`), and folds them case by case (`fold.py`) into
aggregates that are then laid out week by week (`assemble.py`). Nothing is read from counters or case
columns kept on the side, so anyone holding the event log can recompute and check each figure; memory
holds one case's history at a time plus the aggregates.

The reader matters: a report counts only the cases its reader may see (need-to-know and marking, the same
rule as every list: `workflow.access.visible`), and is for centre staff and admins. The command line,
which has no signed-in person, reads as `OPERATOR`, a named system principal that sees every case.

Conventions (stated once here, and in the report's `definitions`):

* The period is [from, to). Events before `from` are read too (a case's stage started then), events at
  or after `to` are not: the report is the log *as at* `to`. Each figure counts things that happened in
  the period: a stage is counted when it ends, a review when it is recorded, a case's outcome when it
  closes. The weekly tables cover the period's weeks from the log's first event to now (an open end
  stands for the log's first or last event), at most 5 years of them (`MAX_WEEKS`); see `period.py`.
* Weeks start on Monday (UTC) and are named by that Monday's date.
* Times are in hours. Median: the middle value (mean of the two middle ones); p90: nearest rank, the
  value at position ceil(0.9 n) of the sorted values.
* A stage's band is the band the case held just after the event that ended it (for `submitted`, the band
  of its first assessment), `unscored` if it had none.
* A review is on time if recorded no later than its cycle start (task or continue) plus the policy's
  review days, the same arithmetic the clocks use.
* Escalations are linked to their acknowledgements by case and raising order (an escalation's id is not
  in the event that raises it; ids grow in the order escalations are raised).
* A long report can be stopped from outside (`Cancel`): the scan checks it between fetches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from sqlmodel import Session

from workflow import principals
from workflow.access import Forbidden, Principal
from workflow.reports.assemble import DEFINITIONS, assemble, flatten, stats
from workflow.reports.cancel import Cancel, ReportCancelled
from workflow.reports.fold import (
    CASE_ID,
    HARM_BINS,
    LIKELIHOOD_TOTALS,
    READ,
    STAGES,
    THROUGHPUT,
    UNSCORED,
    Fold,
)
from workflow.reports.period import MAX_WEEKS, MAX_YEARS, Period
from workflow.reports.scan import BATCH, batches

__all__ = [
    "BATCH",
    "DEFINITIONS",
    "HARM_BINS",
    "LIKELIHOOD_TOTALS",
    "MAX_WEEKS",
    "MAX_YEARS",
    "OPERATOR",
    "READ",
    "STAGES",
    "THROUGHPUT",
    "UNSCORED",
    "Cancel",
    "Period",
    "ReportCancelled",
    "evaluation",
    "flatten",
    "may_read",
    "stats",
]

# The command line's reader: whoever can run `sctac report` against the database can read every row
# anyway, so the report names that plainly instead of pretending to a person.
# The CLI's reader: the operator's system principal (workflow/principals.py), which sees every case.
OPERATOR = principals.OPERATOR
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


def may_read(who: Principal) -> bool:
    """The evaluation is for people who may see every case of the centre (centre staff and admins)."""
    return who.sees_everything


def evaluation(
    session: Session,
    *,
    who: Principal,
    start: datetime | None = None,
    end: datetime | None = None,
    batch: int = BATCH,
    cancel: Cancel | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every evaluation figure for the period [start, end) (None: that end of the log) as plain JSON data,
    counting only the cases `who` may see.

    Raises Forbidden for someone who is not centre staff, InvalidInput (naming `from` or `to`) for a
    period that is backwards or covers more than MAX_WEEKS weeks of the log, and ReportCancelled if
    `cancel` is set (or its deadline passes) before the report is done.
    """
    if not may_read(who):
        raise Forbidden(
            "the evaluation covers every case: it is for centre staff and admins",
            needed=["analyst", "case_owner", "supervisor", "admin"],
        )
    now = now or datetime.now(UTC)
    period = Period.of(start, end)
    weeks = period.weeks(session, now=now)  # refuses a period of more than MAX_WEEKS weeks, before any scan
    if session.get_bind().dialect.name == "sqlite":
        # Times arrive as naive UTC text: parse each once, and compare with a naive period.
        fold = Fold(
            (period.start or _MIN).replace(tzinfo=None),
            (period.end or _MAX).replace(tzinfo=None),
            datetime.fromisoformat,
        )
    else:
        # Times arrive with tzinfo datetime.UTC (the read sets the session to UTC); a period with the
        # same tzinfo object keeps every comparison on Python's fast path.
        fold = Fold(period.start or _MIN, period.end or _MAX, None)
    try:
        rows = chain.from_iterable(batches(session, who, end=period.end, batch=batch, cancel=cancel))
        for _case_id, events in groupby(rows, key=itemgetter(CASE_ID)):
            fold.case(events)
    finally:
        session.rollback()  # end the read transaction, finished or not
    if fold.parse is not None:  # SQLite's naive times
        fold.to_aware()
    return assemble(fold, period=period, weeks=weeks, now=now)
