"""The pathfinder's evaluation figures (story 9), every one computed from the case event log.

`evaluation` reads `case_event` rows — trigger, from/to state, actor, time and the event's facts (the
few payload fields it needs, kept as columns: see workflow/facts.py) — in (case, seq) order, in one scan
of the covering index `ix_case_event_report`, and folds them case by case. Nothing is read from counters
or case columns kept on the side, so anyone holding the event log can recompute and check each figure;
memory holds one case's history at a time plus the aggregates.

Conventions (stated once here, and in the report's `definitions`):

* The period is [from, to). Events before `from` are read too (a case's stage started then), events at
  or after `to` are not: the report is the log *as at* `to`. Each figure counts things that happened in
  the period: a stage is counted when it ends, a review when it is recorded, a case's outcome when it
  closes.
* Weeks start on Monday (UTC) and are named by that Monday's date.
* Times are in hours. Median: the middle value (mean of the two middle ones); p90: nearest rank, the
  value at position ceil(0.9 n) of the sorted values.
* A stage's band is the band the case held just after the event that ended it (for `submitted`, the band
  of its first assessment), `unscored` if it had none.
* A review is on time if recorded no later than its cycle start (task or continue) plus the policy's
  review days, the same arithmetic the clocks use.
* Escalations are linked to their acknowledgements by case and raising order (an escalation's id is not
  in the event that raises it; ids grow in the order escalations are raised).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from workflow import triggers
from workflow.clocks import SLA_STAGES
from workflow.lifecycle import ROUTABLE, TERMINAL, LiveTuple, State
from workflow.tables import EVENT

BATCH = 20000  # rows a fetch: fewer round trips to a PostgreSQL server-side cursor
UNSCORED = "unscored"
STAGES = tuple(s.value for s in State if s not in TERMINAL)
_SUBMITTED = State.SUBMITTED.value
# Triggers counted per week in the flow table: those whose definition says `counted`.
THROUGHPUT: Sequence[str] = LiveTuple(lambda: tuple(s.name for s in triggers.REGISTRY.values() if s.counted))
HARM_BINS = ((0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 61))
LIKELIHOOD_TOTALS = (1, 2, 3, 4, 5, 6)
_ROUTABLE = frozenset(s.value for s in ROUTABLE)
_TERMINAL = frozenset(s.value for s in TERMINAL)

DEFINITIONS = {
    "period": "[from, to): figures count what happened in the period; the log is read as at `to`",
    "week": "Monday (UTC) that starts the week",
    "hours": "elapsed wall-clock hours",
    "median": "middle value (mean of the two middle ones)",
    "p90": "nearest rank: value at position ceil(0.9 n) of the sorted values",
    "stage band": "band held just after the event that ended the stage; 'unscored' if none",
    "review on time": "recorded by cycle start (task/continue) + the policy's review days",
    "backlog": "cases submitted and not yet closed, rejected or withdrawn at the end of the week",
    "time to acknowledge": "from the event that raised an escalation to its acknowledgement",
}


# What the report reads, in this order (the row positions below follow it). All of it is in the index
# ix_case_event_report, so the scan never reads a row's payload.
READ = (
    "case_id",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "created_at",
    "unit",
    "themes",
    "capabilities",
    "hub",
    "review_days",
    "band",
    "harm_total",
    "likelihood_total",
    "response_escalated",
    "owner",
    "outcome",
    "strands",
    "escalation_source",
    "escalation_level",
    "escalation_id",
    "step_notify",
)
(
    _CASE,
    _TRIGGER,
    _FROM,
    _TO,
    _ACTOR,
    _AT,
    _UNIT,
    _THEMES,
    _CAPABILITIES,
    _HUB,
    _REVIEW_DAYS,
    _BAND,
    _HARM,
    _LIKELIHOOD,
    _RESPONSE_ESCALATED,
    _OWNER,
    _OUTCOME,
    _STRANDS,
    _ESC_SOURCE,
    _ESC_LEVEL,
    _ESC_ID,
    _STEP_NOTIFY,
) = range(len(READ))


def stats(values: list[float]) -> dict[str, Any]:
    """n, median and p90 (nearest rank) of `values`, in hours rounded to 0.1."""
    if not values:
        return {"n": 0, "median": None, "p90": None}
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    p90 = ordered[max(0, math.ceil(0.9 * n) - 1)]
    return {"n": n, "median": round(median, 1), "p90": round(p90, 1)}


def _week(at: datetime) -> int:
    # Day 1 of the proleptic calendar (0001-01-01) is a Monday: integer weeks, cheap per event.
    return (at.toordinal() - 1) // 7


def _week_name(week: int) -> str:
    return date.fromordinal(week * 7 + 1).isoformat()


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


class _Lists:
    """The facts' lists arrive as JSON text; the same few lists recur, so each text is parsed once."""

    def __init__(self) -> None:
        self.parsed: dict[str | None, tuple[str, ...]] = {None: ()}

    def __call__(self, text: str | None) -> tuple[str, ...]:
        found = self.parsed.get(text)
        if found is None:
            found = self.parsed[text] = tuple(json.loads(text)) if text else ()
        return found


@dataclass
class _Escalation:
    source: str
    level: int
    raised_at: datetime
    id: int | None = None
    resolved: bool = False
    acknowledged: bool = False


class _Fold:
    """Aggregates over the whole log, one case at a time (`case`).

    Times are whatever the database hands back (naive UTC on SQLite, aware on PostgreSQL); `start` and
    `end` are given in the same form, so no row's time is converted.
    """

    def __init__(self, start: datetime, end: datetime, parse: Callable[[Any], datetime] | None) -> None:
        self.start, self.end, self.parse = start, end, parse
        self.events = 0
        self.cases = 0
        self.lists = _Lists()
        # Requests in the period by (week, unit, hub, themes, capabilities): one count per submission,
        # split into the demand tables once, at the end (`demand`).
        self.submissions: Counter[tuple[int, str, str, str, str]] = Counter()
        self.opened: Counter[int] = Counter()
        self.ended: Counter[int] = Counter()
        self.throughput: Counter[tuple[str, int]] = Counter()
        self.stage_hours: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.sla: Counter[tuple[str, str, str]] = Counter()
        self.reviews: Counter[tuple[str, str]] = Counter()
        self.open_review_due: list[datetime] = []  # open cases' review due dates, judged at the end
        # Latest event time, and the first and last inside the period. Sentinels instead of None save a
        # test per event; `events` and `any_inside` say whether they were ever replaced.
        self.last_at = datetime.min.replace(tzinfo=start.tzinfo)
        self.first_inside, self.last_inside = end, start
        self.any_inside = False
        self.raised: Counter[tuple[str, int]] = Counter()
        self.ack_hours: list[float] = []
        self.esc_counts: Counter[str] = Counter()
        self.first_bands: Counter[str] = Counter()
        self.assessment_bands: Counter[str] = Counter()
        self.movement: Counter[tuple[str, str]] = Counter()
        self.cells: Counter[tuple[int, int]] = Counter()
        self.response_escalated: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.closed_strands: Counter[str] = Counter()
        self.action_strands: Counter[str] = Counter()
        self.workload: Counter[tuple[str, int]] = Counter()
        self.open_owner: Counter[str] = Counter()
        self.open_hub: Counter[str] = Counter()
        self.open_state: Counter[str] = Counter()

    def case(self, rows: Iterable[Sequence[Any]]) -> None:
        """Fold one case's events, in order, then record where the case stands at the end.

        The hot loop of a report over millions of events, so the case's history is kept in local
        variables and rows are read by position; the rarer events (reviews, closures, escalation
        actions) go to helpers.
        """
        start, end, parse = self.start, self.end, self.parse
        state: str | None = None
        entered: datetime | None = None
        band: str | None = None
        hub: str | None = None
        owner: str | None = None
        review_days: int | None = None
        cycle_start: datetime | None = None
        latest: tuple[float, float] | None = None  # (harm total, likelihood total), latest assessment
        breached = assessed_in_period = False
        escalations: list[_Escalation] = []
        strands: set[str] = set()
        last_at, first_inside, last_inside = self.last_at, self.first_inside, self.last_inside
        events = 0
        for row in rows:
            events += 1
            at: datetime = parse(row[_AT]) if parse is not None else row[_AT]
            trigger, frm, to = row[_TRIGGER], row[_FROM], row[_TO]
            if at > last_at:
                last_at = at
            inside = start <= at < end
            if inside:
                if at < first_inside:
                    first_inside = at
                if at > last_inside:
                    last_inside = at
            week = (at.toordinal() - 1) // 7  # _week, inlined
            if trigger == "submit":
                self.opened[week] += 1
                state, entered = _SUBMITTED, at
                if inside:
                    self.submissions[(week, row[_UNIT], row[_HUB], row[_THEMES], row[_CAPABILITIES])] += 1
            if row[_HUB] is not None:
                if trigger == "task":
                    hub = row[_HUB] or hub
                elif frm is None or frm in _ROUTABLE:  # the service routes only before tasking
                    hub = row[_HUB]
            if row[_REVIEW_DAYS] is not None:
                review_days = row[_REVIEW_DAYS]
            if row[_BAND] is not None:  # an assessment
                before, band = band, row[_BAND]
                latest = (float(row[_HARM]), float(row[_LIKELIHOOD]))
                if inside:
                    assessed_in_period = True
                    self._assessed(before, row, week)
            if trigger == "task":
                owner = row[_OWNER]
            if frm is not None and frm != to:
                if inside and entered is not None:  # a stage ended in the period
                    stage_band = band or UNSCORED
                    self.stage_hours[(frm, stage_band)].append((at - entered).total_seconds() / 3600)
                    if frm in SLA_STAGES:
                        self.sla[(frm, stage_band, "breached" if breached else "met")] += 1
                state, entered, breached = to, at, False
                if to in _TERMINAL:
                    self.ended[week] += 1
                    for esc in escalations:
                        esc.resolved = True
                elif escalations:
                    self._auto_resolve(escalations, "sla", inside)
            if inside and trigger in THROUGHPUT:
                self.throughput[(trigger, week)] += 1
            if trigger == "task" or trigger == "continue":
                cycle_start = at
            elif trigger == "review":
                if escalations:
                    self._auto_resolve(escalations, "review", inside)
                if inside:
                    self._reviewed(row, at, band, cycle_start, review_days)
                strands.update(self.lists(row[_STRANDS]))
                cycle_start = None
            elif trigger == "close":
                if inside:
                    self._closed(row, strands)
            elif trigger == "sla_breached":
                breached = True
            if row[_ESC_SOURCE] is not None:
                level = int(row[_ESC_LEVEL] or 0)
                escalations.append(_Escalation(row[_ESC_SOURCE], level, at))
                if inside:
                    self.raised[(row[_ESC_SOURCE], level)] += 1
            elif row[_ESC_ID] is not None:
                self._escalation_action(escalations, row, at, inside)
        self.last_at, self.first_inside, self.last_inside = last_at, first_inside, last_inside
        self.any_inside = self.any_inside or first_inside < end
        self.events += events
        self.cases += 1
        # The case as at the end of the log (or of the period).
        if latest is not None and assessed_in_period:
            harm, likelihood = latest
            # HARM_BINS are 10 wide from 0; the last one takes everything else.
            index = int(harm // 10) if 0 <= harm < 50 else len(HARM_BINS) - 1
            self.cells[(index, int(likelihood))] += 1
        if state is None or state in _TERMINAL:
            return
        self.open_state[state] += 1
        self.open_hub[hub or "unrouted"] += 1
        if owner is not None and state in ("tasked", "reviewed"):
            self.open_owner[owner] += 1
        if state == "tasked" and cycle_start is not None and review_days is not None:
            self.open_review_due.append(cycle_start + timedelta(days=review_days))

    def demand(self) -> dict[str, Counter[tuple[str, int]]]:
        """Requests per week by unit, hub, theme and capability (a request counts once per theme)."""
        tables: dict[str, Counter[tuple[str, int]]] = {
            k: Counter() for k in ("requests", "unit", "hub", "theme", "capability")
        }
        for (week, unit, hub, themes, capabilities), n in self.submissions.items():
            tables["requests"][("", week)] += n
            tables["unit"][(unit, week)] += n
            tables["hub"][(hub, week)] += n
            for theme in self.lists(themes):
                tables["theme"][(theme, week)] += n
            for capability in self.lists(capabilities):
                tables["capability"][(capability, week)] += n
        return tables

    def _assessed(self, before: str | None, row: Sequence[Any], week: int) -> None:
        band = row[_BAND]
        self.assessment_bands[band] += 1
        self.workload[(row[_ACTOR], week)] += 1
        if before is None:
            self.first_bands[band] += 1
        else:
            self.movement[(before, band)] += 1
        if row[_RESPONSE_ESCALATED]:
            self.response_escalated[band] += 1

    def _reviewed(
        self,
        row: Sequence[Any],
        at: datetime,
        band: str | None,
        cycle_start: datetime | None,
        review_days: int | None,
    ) -> None:
        on_time = (
            cycle_start is None or review_days is None or at <= cycle_start + timedelta(days=review_days)
        )
        self.reviews[(band or UNSCORED, "on_time" if on_time else "late")] += 1
        self.action_strands.update(self.lists(row[_STRANDS]))

    def _closed(self, row: Sequence[Any], strands: set[str]) -> None:
        closing = self.lists(row[_STRANDS])
        self.outcomes[row[_OUTCOME] or "unknown"] += 1
        strands.update(closing)
        for strand in strands:
            self.closed_strands[strand] += 1
        self.action_strands.update(closing)

    def _auto_resolve(self, escalations: list[_Escalation], source: str, inside: bool) -> None:
        """The case moved on: its open escalations from `source` are moot."""
        for esc in escalations:
            if esc.source == source and not esc.resolved:
                esc.resolved = True
                if inside:
                    self.esc_counts["resolved_by_case_change"] += 1

    def _escalation_action(
        self, escalations: list[_Escalation], row: Sequence[Any], at: datetime, inside: bool
    ) -> None:
        escalation_id = row[_ESC_ID]
        esc = next((e for e in escalations if e.id == escalation_id), None)
        if esc is None:
            esc = next((e for e in escalations if e.id is None and not e.resolved), None)
            if esc is None:
                return
            esc.id = escalation_id
        trigger = row[_TRIGGER]
        if trigger == "escalation_acknowledged":
            if inside and not esc.acknowledged:
                self.ack_hours.append(_hours(at - esc.raised_at))
                self.esc_counts["acknowledged"] += 1
            esc.acknowledged = True
        elif trigger == "escalation_resolved":
            esc.resolved = True
            if inside:
                self.esc_counts["resolved_by_supervisor"] += 1
        elif inside and trigger == "escalation_snoozed":
            self.esc_counts["snoozed"] += 1
        elif inside and trigger == "escalation_step":
            self.esc_counts["ladder_steps"] += 1
            if "tasking_chair" in self.lists(row[_STEP_NOTIFY]):
                self.esc_counts["reached_tasking_chair"] += 1


def _batches(session: Session, *, end: datetime, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """Lists of rows (positions as in READ) in (case, seq) order, straight from the driver's cursor.

    The driver's own tuples, not SQLAlchemy rows: over a million rows the result layer alone cost about
    0.7 s of a 5 s budget. So the bound `end` is given in the driver's form here (SQLite keeps times as
    naive ISO text, with microseconds, which orders like the times), times come back as text on SQLite,
    and booleans as 0/1.
    """
    conn = session.connection()
    dialect = conn.dialect
    query = (
        select(*(EVENT.c[name] for name in READ))
        .where(EVENT.c.created_at < bindparam("end"))
        .order_by(EVENT.c.case_id, EVENT.c.seq)
    )
    compiled = query.compile(dialect=dialect)
    bound: dict[str, Any] = {
        "end": _naive(end).strftime("%Y-%m-%d %H:%M:%S.%f") if dialect.name == "sqlite" else end
    }
    args = tuple(bound[k] for k in compiled.positiontup or ()) if compiled.positional else bound
    driver = conn.connection.driver_connection
    assert driver is not None
    # A named cursor is a server-side cursor on PostgreSQL (rows stream in batches); SQLite's cursor
    # steps through the index as rows are fetched.
    cursor = (
        driver.cursor(name="sctac_report", binary=True) if dialect.name == "postgresql" else driver.cursor()
    )
    try:
        if dialect.name == "postgresql":
            # Times come back in the session's time zone; weeks and days are UTC's. For this read only.
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
        cursor.execute(compiled.string, args)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def evaluation(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, batch: int = BATCH
) -> dict[str, Any]:
    """Every evaluation figure for the period [start, end) (defaults: all of the log), as plain JSON data."""
    start = start or datetime(1970, 1, 1, tzinfo=UTC)
    end = end or datetime(9999, 1, 1, tzinfo=UTC)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give the report period as timezone-aware datetimes")
    if session.get_bind().dialect.name == "sqlite":
        # Times arrive as naive UTC text: parse each once, and compare with a naive period.
        fold = _Fold(_naive(start), _naive(end), datetime.fromisoformat)
    else:
        # Times arrive with tzinfo datetime.UTC (the read sets the session to UTC); a period with the
        # same tzinfo object keeps every comparison on Python's fast path.
        fold = _Fold(start.astimezone(UTC), end.astimezone(UTC), None)
    rows = chain.from_iterable(_batches(session, end=end, batch=batch))
    for _case_id, events in groupby(rows, key=itemgetter(_CASE)):
        fold.case(events)
    session.rollback()  # end the read transaction
    if fold.parse is not None:  # SQLite's naive times
        _aware(fold)
    first = _week(fold.first_inside) if fold.any_inside else None
    last = _week(fold.last_inside) if fold.any_inside else None
    weeks = _weeks(start, end, first, last)
    return _assemble(fold, start=start, end=end, weeks=weeks)


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _aware(fold: _Fold) -> None:
    """Back to aware UTC for the assembly, which compares with the (aware) period."""
    fold.last_at = fold.last_at.replace(tzinfo=UTC)
    fold.open_review_due = [due.replace(tzinfo=UTC) for due in fold.open_review_due]


def _weeks(start: datetime, end: datetime, first: int | None, last: int | None) -> list[int]:
    """The weeks the period covers, clipped to weeks with events when the period is open-ended."""
    lo = _week(start) if start.year > 1970 else first
    hi = _week(end - timedelta(microseconds=1)) if end.year < 9999 else last
    if lo is None or hi is None:
        return []
    return list(range(lo, hi + 1))


def _by_week(counter: Counter[tuple[str, int]], weeks: list[int]) -> dict[str, dict[str, int]]:
    keys = sorted({k for k, _ in counter if k is not None})
    return {k: {_week_name(w): counter[(k, w)] for w in weeks} for k in keys}


def _assemble(fold: _Fold, *, start: datetime, end: datetime, weeks: list[int]) -> dict[str, Any]:
    names = [_week_name(w) for w in weeks]
    demand = fold.demand()
    # "As at" the end of the period, or the last event of an open-ended report.
    as_at = end if end.year < 9999 or not fold.events else fold.last_at
    # The backlog at each week's end counts every case opened and not ended by then, including before
    # the period: the log is read from its beginning.
    backlog: dict[str, int] = {}
    horizon = sorted(set(fold.opened) | set(fold.ended) | set(weeks))
    running = 0
    for w in horizon:
        running += fold.opened[w] - fold.ended[w]
        if w in weeks:
            backlog[_week_name(w)] = running
    bands = sorted({b for _, b in fold.stage_hours} | {b for _, b, _ in fold.sla})
    flow_stages = {
        stage: {
            band: stats(fold.stage_hours[(stage, band)])
            for band in bands
            if (stage, band) in fold.stage_hours
        }
        for stage in STAGES
    }
    sla = {
        stage: {
            band: {k: fold.sla[(stage, band, k)] for k in ("met", "breached")}
            for band in bands
            if fold.sla[(stage, band, "met")] or fold.sla[(stage, band, "breached")]
        }
        for stage in SLA_STAGES
    }
    review_bands = sorted({b for b, _ in fold.reviews})
    all_bands = sorted(set(fold.assessment_bands) | {b for pair in fold.movement for b in pair})
    return {
        "period": {
            "from": start.isoformat() if start.year > 1970 else None,
            "to": end.isoformat() if end.year < 9999 else None,
            "weeks": names,
        },
        "source": {"events_read": fold.events, "cases_read": fold.cases},
        "definitions": DEFINITIONS,
        "demand": {
            "requests_per_week": {_week_name(w): demand["requests"][("", w)] for w in weeks},
            "requests_total": sum(demand["requests"][("", w)] for w in weeks),
            "by_unit": _by_week(demand["unit"], weeks),
            "by_theme": _by_week(demand["theme"], weeks),
            "by_capability": _by_week(demand["capability"], weeks),
            "by_hub": _by_week(demand["hub"], weeks),
            "backlog_at_week_end": backlog,
        },
        "flow": {
            "time_in_stage_hours": flow_stages,
            "throughput_per_week": {
                trig: {_week_name(w): fold.throughput[(trig, w)] for w in weeks} for trig in THROUGHPUT
            },
        },
        "compliance": {
            "sla": sla,
            "reviews": {
                band: {k: fold.reviews[(band, k)] for k in ("on_time", "late")} for band in review_bands
            },
            "reviews_overdue_open": sum(1 for due in fold.open_review_due if due < as_at),
            "escalations": {
                "raised": sum(fold.raised.values()),
                "raised_by_source": _count_by(fold.raised, 0),
                "raised_by_level": _count_by(fold.raised, 1),
                "acknowledged": fold.esc_counts["acknowledged"],
                "time_to_acknowledge_hours": stats(fold.ack_hours),
                "snoozed": fold.esc_counts["snoozed"],
                "ladder_steps": fold.esc_counts["ladder_steps"],
                "reached_tasking_chair": fold.esc_counts["reached_tasking_chair"],
                "resolved_by_supervisor": fold.esc_counts["resolved_by_supervisor"],
                "resolved_by_case_change": fold.esc_counts["resolved_by_case_change"],
            },
        },
        "morile": {
            "first_assessment_bands": dict(sorted(fold.first_bands.items())),
            "assessments_by_band": dict(sorted(fold.assessment_bands.items())),
            "band_movement": {
                b: {a: fold.movement[(b, a)] for a in all_bands}
                for b in all_bands
                if any(fold.movement[(b, a)] for a in all_bands)
            },
            "risk_matrix": {
                "cases": {
                    _bin_name(i): {str(lt): fold.cells[(i, lt)] for lt in LIKELIHOOD_TOTALS}
                    for i in range(len(HARM_BINS))
                },
            },
            "response_escalated": {
                "assessments": sum(fold.response_escalated.values()),
                "of": sum(fold.assessment_bands.values()),
                "by_band": dict(sorted(fold.response_escalated.items())),
            },
        },
        "outcomes": {
            "closed_by_outcome": dict(sorted(fold.outcomes.items())),
            "closed_by_strand": dict(sorted(fold.closed_strands.items())),
            "actions_by_strand": dict(sorted(fold.action_strands.items())),
        },
        "workload": {
            "assessments_per_analyst_per_week": _by_week(fold.workload, weeks),
            "open_by_owner": dict(sorted(fold.open_owner.items())),
            "open_by_hub": dict(sorted(fold.open_hub.items())),
            "open_by_state": {s: fold.open_state[s] for s in STAGES if fold.open_state[s]},
        },
    }


def _bin_name(index: int) -> str:
    lo, hi = HARM_BINS[index]
    return f"harm {lo}-{min(hi, 60)}"


def _count_by(counter: Counter[tuple[str, int]], index: int) -> dict[str, int]:
    out: Counter[str] = Counter()
    for key, n in counter.items():
        out[str(key[index])] += n
    return dict(sorted(out.items()))


def flatten(report: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str, Any]]:
    """The report as long-form rows (section, measure, key1, key2, key3, value) for CSV."""
    for section, body in report.items():
        if section in ("period", "definitions") or not isinstance(body, dict):
            continue
        for measure, value in body.items():
            yield from _leaves(section, measure, [], value)


def _leaves(
    section: str, measure: str, keys: list[str], value: Any
) -> Iterator[tuple[str, str, str, str, str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(section, measure, [*keys, str(k)], v)
    else:
        padded = [*keys, "", "", ""][:3]
        if len(keys) > 3:
            padded[2] = "/".join(keys[2:])
        yield (section, measure, padded[0], padded[1], padded[2], value)
