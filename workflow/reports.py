"""The pathfinder's evaluation figures (story 9), every one computed from the case event log.

`evaluation` reads `case_event` rows — trigger, from/to state, actor, time and the few payload fields it
needs (pulled out by the database, so the large decision traces never reach Python) — in (case, seq)
order, streamed in batches, and folds them case by case. Nothing is read from counters or case columns
kept on the side, so anyone holding the event log can recompute and check each figure; memory holds one
case's history at a time plus the aggregates.

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

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from workflow import service
from workflow.clocks import SLA_STAGES
from workflow.lifecycle import TERMINAL, State

EVENT = service.EVENT
BATCH = 5000
UNSCORED = "unscored"
STAGES = tuple(s.value for s in State if s not in TERMINAL)
THROUGHPUT = ("submit", "assess", "prioritise", "task", "review", "close", "reject", "withdraw")
HARM_BINS = ((0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 61))
LIKELIHOOD_TOTALS = (1, 2, 3, 4, 5, 6)
_ASSESSING = ("assess", "rescore", "reassess")
_ROUTABLE = frozenset(s.value for s in service.ROUTABLE)
_TERMINAL = frozenset(s.value for s in TERMINAL)
_ESCALATION_ACTIONS = (
    "escalation_acknowledged",
    "escalation_snoozed",
    "escalation_step",
    "escalation_resolved",
)

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


def _payload(path: tuple[str, ...] | str, triggers: Iterable[str], kind: str) -> ColumnElement[Any]:
    """One payload field, extracted by the database only on rows of `triggers` (NULL elsewhere)."""
    element = EVENT.c.payload[path]
    value = {
        "str": element.as_string(),
        "int": element.as_integer(),
        "float": element.as_float(),
        "bool": element.as_boolean(),
        "json": element,
    }[kind]
    return case((EVENT.c.trigger.in_(tuple(triggers)), value), else_=None)


_SCORING = (*_ASSESSING, "submit")
_RAISING = ("assess", "rescore", "reassess", "sla_breached", "review_overdue")
COLUMNS = (
    EVENT.c.case_id,
    EVENT.c.trigger,
    EVENT.c.from_state,
    EVENT.c.to_state,
    EVENT.c.actor,
    EVENT.c.created_at,
    _payload(("request", "requesting_unit"), ["submit"], "str").label("unit"),
    _payload(("request", "themes"), ["submit"], "json").label("themes"),
    _payload(("request", "capabilities"), ["submit"], "json").label("capabilities"),
    _payload(("decisions", "route", "hub"), _SCORING, "str").label("route_hub"),
    _payload(("decisions", "policy", "review_days"), _SCORING, "int").label("review_days"),
    _payload(("assessment", "score", "band"), _ASSESSING, "str").label("band"),
    _payload(("assessment", "score", "harm_total"), _ASSESSING, "float").label("harm_total"),
    _payload(("assessment", "score", "likelihood_total"), _ASSESSING, "float").label("likelihood_total"),
    _payload(("assessment", "score", "response_escalated"), _ASSESSING, "bool").label("response_escalated"),
    _payload("hub", ["task"], "str").label("task_hub"),
    _payload("owner", ["task"], "str").label("owner"),
    _payload("outcome", ["close"], "str").label("outcome"),
    _payload("strands", ["review", "close"], "json").label("strands"),
    _payload("stage", ["sla_breached"], "str").label("stage"),
    _payload(("escalation", "source"), _RAISING, "str").label("esc_source"),
    _payload(("escalation", "level"), _RAISING, "int").label("esc_level"),
    _payload("escalation_id", _ESCALATION_ACTIONS, "int").label("escalation_id"),
    _payload("notify", ["escalation_step"], "json").label("notify"),
)


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


@dataclass
class _Escalation:
    source: str
    level: int
    raised_at: datetime
    id: int | None = None
    resolved: bool = False
    acknowledged: bool = False


@dataclass
class _Track:
    """One case's history so far, as the fold needs it."""

    state: str | None = None
    entered: datetime | None = None
    band: str | None = None
    hub: str | None = None
    owner: str | None = None
    review_days: int | None = None
    cycle_start: datetime | None = None
    breached: bool = False
    assessed_in_period: bool = False
    latest: tuple[float, float] | None = None  # (harm total, likelihood total) of the latest assessment
    strands: set[str] = field(default_factory=set)
    escalations: list[_Escalation] = field(default_factory=list)


class _Fold:
    """Aggregates over the whole log; `event` takes one row, `finish` one case."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.events = 0
        self.cases = 0
        self.demand: dict[str, Counter[tuple[str, int]]] = {
            k: Counter() for k in ("unit", "theme", "capability", "hub")
        }
        self.requests: Counter[int] = Counter()
        self.opened: Counter[int] = Counter()
        self.ended: Counter[int] = Counter()
        self.throughput: Counter[tuple[str, int]] = Counter()
        self.stage_hours: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.sla: Counter[tuple[str, str, str]] = Counter()
        self.reviews: Counter[tuple[str, str]] = Counter()
        self.open_review_due: list[datetime] = []  # open cases' review due dates, judged at the end
        self.last_at: datetime | None = None
        self.first_week: int | None = None
        self.last_week: int | None = None
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

    def event(self, t: _Track, row: Any, at: datetime) -> None:
        self.events += 1
        trigger, frm, to = row.trigger, row.from_state, row.to_state
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        inside = self.start <= at < self.end
        week = _week(at)
        if inside:
            self.first_week = week if self.first_week is None else min(self.first_week, week)
            self.last_week = week if self.last_week is None else max(self.last_week, week)
        if trigger == "submit":
            self._submitted(t, row, at, week, inside)
        if row.route_hub is not None and (frm is None or frm in _ROUTABLE):
            t.hub = row.route_hub  # the service routes only before tasking
        if row.review_days is not None:
            t.review_days = row.review_days
        if row.band is not None:
            self._assessed(t, row, inside, week)
        if trigger == "task":
            t.hub = row.task_hub or t.hub
            t.owner = row.owner
        if frm is not None and frm != to:
            self._stage_ended(t, frm, at, inside)
            t.state, t.entered, t.breached = to, at, False
            if to in _TERMINAL:
                self.ended[week] += 1
                for esc in t.escalations:
                    esc.resolved = True
            elif any(e.source == "sla" and not e.resolved for e in t.escalations):
                self._auto_resolve(t, "sla", inside)
        if inside and trigger in THROUGHPUT:
            self.throughput[(trigger, week)] += 1
        if trigger in ("task", "continue"):
            t.cycle_start = at
        elif trigger == "review":
            self._reviewed(t, row, at, inside)
        elif trigger == "close" and inside:
            self.outcomes[row.outcome or "unknown"] += 1
            t.strands.update(row.strands or ())
            for strand in t.strands:
                self.closed_strands[strand] += 1
            self.action_strands.update(row.strands or ())
        elif trigger == "sla_breached":
            t.breached = True
        if row.esc_source is not None:
            t.escalations.append(_Escalation(row.esc_source, int(row.esc_level or 0), at))
            if inside:
                self.raised[(row.esc_source, int(row.esc_level or 0))] += 1
        elif row.escalation_id is not None:
            self._escalation_action(t, row, at, inside)

    def _submitted(self, t: _Track, row: Any, at: datetime, week: int, inside: bool) -> None:
        self.opened[week] += 1
        t.state, t.entered = State.SUBMITTED.value, at
        if not inside:
            return
        self.requests[week] += 1
        self.demand["unit"][(row.unit, week)] += 1
        self.demand["hub"][(row.route_hub, week)] += 1
        for theme in row.themes or ():
            self.demand["theme"][(theme, week)] += 1
        for capability in row.capabilities or ():
            self.demand["capability"][(capability, week)] += 1

    def _assessed(self, t: _Track, row: Any, inside: bool, week: int) -> None:
        before, band = t.band, row.band
        t.band = band
        t.latest = (float(row.harm_total), float(row.likelihood_total))
        if not inside:
            return
        t.assessed_in_period = True
        self.assessment_bands[band] += 1
        self.workload[(row.actor, week)] += 1
        if before is None:
            self.first_bands[band] += 1
        else:
            self.movement[(before, band)] += 1
        if row.response_escalated:
            self.response_escalated[band] += 1

    def _stage_ended(self, t: _Track, stage: str, at: datetime, inside: bool) -> None:
        if not inside or t.entered is None:
            return
        band = t.band or UNSCORED
        self.stage_hours[(stage, band)].append(_hours(at - t.entered))
        if stage in SLA_STAGES:
            self.sla[(stage, band, "breached" if t.breached else "met")] += 1

    def _reviewed(self, t: _Track, row: Any, at: datetime, inside: bool) -> None:
        if any(e.source == "review" and not e.resolved for e in t.escalations):
            self._auto_resolve(t, "review", inside)
        if inside:
            on_time = t.cycle_start is None or t.review_days is None
            if not on_time:
                assert t.cycle_start is not None and t.review_days is not None
                on_time = at <= t.cycle_start + timedelta(days=t.review_days)
            self.reviews[(t.band or UNSCORED, "on_time" if on_time else "late")] += 1
            self.action_strands.update(row.strands or ())
        t.strands.update(row.strands or ())
        t.cycle_start = None

    def _auto_resolve(self, t: _Track, source: str, inside: bool) -> None:
        for esc in t.escalations:
            if esc.source == source and not esc.resolved:
                esc.resolved = True
                if inside:
                    self.esc_counts["resolved_by_case_change"] += 1

    def _escalation_action(self, t: _Track, row: Any, at: datetime, inside: bool) -> None:
        esc = next((e for e in t.escalations if e.id == row.escalation_id), None)
        if esc is None:
            esc = next((e for e in t.escalations if e.id is None and not e.resolved), None)
            if esc is None:
                return
            esc.id = row.escalation_id
        trigger = row.trigger
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
            if "tasking_chair" in (row.notify or ()):
                self.esc_counts["reached_tasking_chair"] += 1

    def finish(self, t: _Track) -> None:
        """A case's history is complete (as at `to`): record its open state."""
        self.cases += 1
        if t.latest is not None and t.assessed_in_period:
            harm, likelihood = t.latest
            last = len(HARM_BINS) - 1
            index = next(i for i, (lo, hi) in enumerate(HARM_BINS) if lo <= harm < hi or i == last)
            self.cells[(index, int(likelihood))] += 1
        if t.state is None or t.state in _TERMINAL:
            return
        self.open_state[t.state] += 1
        self.open_hub[t.hub or "unrouted"] += 1
        if t.owner is not None and t.state in ("tasked", "reviewed"):
            self.open_owner[t.owner] += 1
        if t.state == "tasked" and t.cycle_start is not None and t.review_days is not None:
            self.open_review_due.append(t.cycle_start + timedelta(days=t.review_days))


def _rows(session: Session, *, end: datetime, batch: int) -> Iterator[tuple[Any, datetime]]:
    """(row, its time) in (case, seq) order, `batch` rows at a time."""
    columns = list(COLUMNS)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite keeps times as ISO text; datetime.fromisoformat reads it several times faster than the
        # generic DateTime result processor, which is most of the per-row cost on a long log.
        columns[5] = type_coerce(EVENT.c.created_at, String).label("created_at")
    query = (
        select(*columns)
        .where(EVENT.c.created_at < end)
        .order_by(EVENT.c.case_id, EVENT.c.seq)
        .execution_options(yield_per=batch)
    )
    # A server-side cursor on PostgreSQL; on SQLite rows are fetched from the cursor as they are read.
    result = session.connection().execution_options(yield_per=batch).execute(query)
    try:
        if sqlite:
            parse = datetime.fromisoformat
            for row in result:
                yield row, parse(row[5]).replace(tzinfo=UTC)
        else:
            for row in result:
                yield row, row[5]
    finally:
        result.close()


def evaluation(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, batch: int = BATCH
) -> dict[str, Any]:
    """Every evaluation figure for the period [start, end) (defaults: all of the log), as plain JSON data."""
    start = start or datetime(1970, 1, 1, tzinfo=UTC)
    end = end or datetime(9999, 1, 1, tzinfo=UTC)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give the report period as timezone-aware datetimes")
    fold = _Fold(start, end)
    current: int | None = None
    track = _Track()
    for row, at in _rows(session, end=end, batch=batch):
        if row[0] != current:
            if current is not None:
                fold.finish(track)
            current, track = row[0], _Track()
        fold.event(track, row, at)
    if current is not None:
        fold.finish(track)
    session.rollback()  # end the read transaction
    weeks = _weeks(start, end, fold.first_week, fold.last_week)
    return _assemble(fold, start=start, end=end, weeks=weeks)


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
    # "As at" the end of the period, or the last event of an open-ended report.
    as_at = end if end.year < 9999 else (fold.last_at or end)
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
            "requests_per_week": {_week_name(w): fold.requests[w] for w in weeks},
            "requests_total": sum(fold.requests[w] for w in weeks),
            "by_unit": _by_week(fold.demand["unit"], weeks),
            "by_theme": _by_week(fold.demand["theme"], weeks),
            "by_capability": _by_week(fold.demand["capability"], weeks),
            "by_hub": _by_week(fold.demand["hub"], weeks),
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
