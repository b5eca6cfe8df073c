"""The fold: one pass over the event log, case by case, into the aggregates every figure is made from.

Rows arrive as the scan hands them (`scan.py`: positions as in `READ`, in (case, seq) order); `Fold.case`
folds one case's history, keeping only that case in memory plus the aggregates. Nothing here reads the
database or knows about periods beyond the two bounds it compares with; turning the aggregates into the
report is `assemble.py`'s job.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow import triggers
from workflow.clocks import SLA_STAGES
from workflow.lifecycle import ROUTABLE, TERMINAL, LiveTuple, State
from workflow.states import IMPORTED

UNSCORED = "unscored"
STAGES = tuple(s.value for s in State if s not in TERMINAL)
_SUBMITTED = State.SUBMITTED.value
# Triggers counted per week in the flow table: those whose definition says `counted`.
THROUGHPUT: Sequence[str] = LiveTuple(lambda: tuple(s.name for s in triggers.REGISTRY.values() if s.counted))
HARM_BINS = ((0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 61))
LIKELIHOOD_TOTALS = (1, 2, 3, 4, 5, 6)
_ROUTABLE = frozenset(s.value for s in ROUTABLE)
_TERMINAL = frozenset(s.value for s in TERMINAL)

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
CASE_ID = _CASE  # the position the scan groups rows by


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


class Fold:
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
        # Latest event time. A sentinel instead of None saves a test per event; `events` says whether it
        # was ever replaced.
        self.last_at = datetime.min.replace(tzinfo=start.tzinfo)
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
        last_at = self.last_at
        events = 0
        for row in rows:
            events += 1
            at: datetime = parse(row[_AT]) if parse is not None else row[_AT]
            trigger, frm, to = row[_TRIGGER], row[_FROM], row[_TO]
            if at > last_at:
                last_at = at
            inside = start <= at < end
            week = (at.toordinal() - 1) // 7  # _week, inlined
            if frm is None and (trigger == "submit" or trigger == IMPORTED):  # a case begins
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
                if row[_HARM] is not None and row[_LIKELIHOOD] is not None:  # imported ones may lack them
                    latest = (float(row[_HARM]), float(row[_LIKELIHOOD]))
                if inside:
                    assessed_in_period = True
                    self._assessed(before, row, week)
            if trigger == "task" or (trigger == IMPORTED and to == "tasked"):
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
            elif trigger == "close" or (trigger == IMPORTED and to == "closed"):
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
        self.last_at = last_at
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

    def to_aware(self) -> None:
        """Back to aware UTC (SQLite's times were naive) for the assembly, which compares with the period."""
        self.last_at = self.last_at.replace(tzinfo=UTC)
        self.open_review_due = [due.replace(tzinfo=UTC) for due in self.open_review_due]

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
