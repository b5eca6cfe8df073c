"""What the forecast reads from the event log: requests per week (overall, by theme, BCU and hub) and the
effort people recorded on each step (#16).

One read of the report's covering index (`ix_case_event_report` holds every column below, so no payload
is parsed), in (case, seq) order so each step can be given the band its case held at the time; the
reader's need-to-know is the same clause every list uses (`workflow.access.visible`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from workflow.access import Principal
from workflow.reports.fold import UNSCORED
from workflow.reports.scan import BATCH, batches
from workflow.tables import HUB, UNIT

# The steps whose effort is staffed, and the pool of people who do each.
STAGES = {
    "assess": "analysts",
    "rescore": "analysts",
    "prioritise": "owners",
    "task": "owners",
    "review": "owners",
}
_READ = ("case_id", "trigger", "created_at", "unit", "themes", "hub", "band", "minutes")
# A log that stopped this long before now (a demo, an archive) is forecast from where it stops.
STALE = timedelta(weeks=4)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def monday(at: datetime | date) -> date:
    day = at.astimezone(UTC).date() if isinstance(at, datetime) else at
    return day - timedelta(days=day.weekday())


@dataclass
class Demand:
    weeks: list[date]  # the Monday of each complete week, oldest first
    overall: list[int]
    by: dict[str, dict[str, list[int]]]  # "theme" | "bcu" | "hub" -> key -> weekly counts
    names: dict[str, dict[str, str]]
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage, band) -> steps done
    minutes: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    p1_share: float = 0.0
    as_at: datetime | None = None
    log_ends: datetime | None = None


def read(session: Session, *, who: Principal, now: datetime) -> Demand:
    """Weekly requests in the complete weeks from the log's first request up to `now` (or up to the
    log's last event, where the log stopped more than STALE before now), and every recorded effort."""
    bcus = {code: kind for code, kind in session.execute(select(UNIT.c.code, UNIT.c.kind)).all()}
    hubs = {code: name for code, name in session.execute(select(HUB.c.code, HUB.c.name)).all()}
    # (week, unit, themes, hub) -> requests: far fewer keys than requests, so the breakdowns below
    # parse each themes list once per key, not once per request.
    submitted: Counter[tuple[date, str | None, str | None, str | None]] = Counter()
    steps: Counter[tuple[str, str]] = Counter()
    minutes: dict[tuple[str, str], list[int]] = defaultdict(list)
    first_bands: Counter[str] = Counter()
    case = band = None
    last_seen: Any = None
    mondays: dict[Any, date] = {}
    rows = batches(
        session, who, end=now, batch=BATCH, cancel=None, columns=_READ, triggers=("submit", *STAGES)
    )
    try:
        for case_id, trigger, at, unit, themes, hub, row_band, spent in chain.from_iterable(rows):
            # The driver's own values (scan.py): times are ISO text on SQLite (which orders like the
            # times, and whose first ten characters are the UTC day), datetimes on PostgreSQL.
            if case_id != case:
                case, band = case_id, None
            if last_seen is None or at > last_seen:
                last_seen = at
            if trigger == "submit":
                day = at[:10] if isinstance(at, str) else at.astimezone(UTC).date()
                week = mondays.get(day)
                if week is None:  # a day's Monday, worked out once a day rather than once a request
                    week = mondays[day] = monday(date.fromisoformat(day) if isinstance(day, str) else day)
                submitted[week, unit, themes, hub] += 1
                continue
            if row_band is not None:
                if band is None:
                    first_bands[row_band] += 1
                band = row_band
            key = (trigger, band or UNSCORED)
            steps[key] += 1
            if spent is not None:
                minutes[key].append(int(spent))
    finally:
        session.rollback()  # end the read transaction
    last_at = _moment(last_seen)
    as_at = now
    end = monday(as_at)  # the week in progress is not complete: it is left out
    if last_at is not None and now - last_at > STALE:
        # A log that stopped (a demo, an archive) is taken to have stopped at the end of its last week.
        end = monday(last_at) + timedelta(weeks=1)
        as_at = datetime.combine(end, time.min, UTC)
    if not submitted:
        return Demand([], [], {}, {}, steps, minutes, 0, 0.0, as_at, last_at)
    start = min(w for w, *_ in submitted)
    weeks = [start + timedelta(weeks=i) for i in range(max(0, (end - start).days // 7))]
    index = {w: i for i, w in enumerate(weeks)}
    overall = [0] * len(weeks)
    by: dict[str, dict[str, list[int]]] = {"theme": {}, "bcu": {}, "hub": {}}

    def bump(kind: str, key: str, i: int, n: int) -> None:
        counts = by[kind].get(key)
        if counts is None:
            counts = by[kind][key] = [0] * len(weeks)
        counts[i] += n

    for (week, unit, themes, hub), n in submitted.items():
        i = index.get(week)
        if i is None:
            continue
        overall[i] += n
        for theme in json.loads(themes) if themes else []:
            bump("theme", theme, i, n)
        if unit is not None:
            bump("bcu", unit if bcus.get(unit) == "bcu" else "specialist units", i, n)
        bump("hub", hub or "unrouted", i, n)
    names = {
        "theme": {k: k.replace("_", " ") for k in by["theme"]},
        "bcu": {k: k for k in by["bcu"]},
        "hub": {k: hubs.get(k, k) for k in by["hub"]},
    }
    scored = sum(first_bands.values())
    return Demand(
        weeks=weeks,
        overall=overall,
        by={k: dict(sorted(v.items())) for k, v in by.items()},
        names=names,
        steps=steps,
        minutes=minutes,
        requests=sum(submitted.values()),
        p1_share=first_bands.get("P1", 0) / scored if scored else 0.0,
        as_at=as_at,
        log_ends=last_at,
    )
