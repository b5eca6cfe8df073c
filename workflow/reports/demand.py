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
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from workflow.access import Principal, visible
from workflow.reports.fold import UNSCORED
from workflow.reports.scan import sees_all
from workflow.tables import CASE, EVENT, HUB, UNIT

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
    statement = select(*(EVENT.c[c] for c in _READ)).where(
        EVENT.c.trigger.in_(("submit", *STAGES)), EVENT.c.created_at < now
    )
    if not sees_all(who):
        statement = statement.where(EVENT.c.case_id.in_(select(CASE.c.id).where(visible(who))))
    statement = statement.order_by(EVENT.c.case_id, EVENT.c.seq)
    bcus = {code: kind for code, kind in session.execute(select(UNIT.c.code, UNIT.c.kind)).all()}
    hubs = {code: name for code, name in session.execute(select(HUB.c.code, HUB.c.name)).all()}
    submitted: list[tuple[date, str | None, str | None, str | None]] = []
    steps: Counter[tuple[str, str]] = Counter()
    minutes: dict[tuple[str, str], list[int]] = defaultdict(list)
    first_bands: Counter[str] = Counter()
    last_at: datetime | None = None
    case = band = None
    try:
        for case_id, trigger, at, unit, themes, hub, row_band, spent in session.execute(statement):
            if case_id != case:
                case, band = case_id, None
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            last_at = at if last_at is None or at > last_at else last_at
            if trigger == "submit":
                submitted.append((monday(at), unit, themes, hub))
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
    as_at = now
    if last_at is not None and now - last_at > STALE:
        as_at = last_at + timedelta(days=1)
    end = monday(as_at)  # the week as_at falls in is not complete: it is left out
    if not submitted:
        return Demand([], [], {}, {}, steps, minutes, 0, 0.0, as_at, last_at)
    start = min(w for w, *_ in submitted)
    weeks = [start + timedelta(weeks=i) for i in range(max(0, (end - start).days // 7))]
    index = {w: i for i, w in enumerate(weeks)}
    overall = [0] * len(weeks)
    by: dict[str, dict[str, list[int]]] = {"theme": {}, "bcu": {}, "hub": {}}

    def bump(kind: str, key: str, i: int) -> None:
        by[kind].setdefault(key, [0] * len(weeks))[i] += 1

    for week, unit, themes, hub in submitted:
        i = index.get(week)
        if i is None:
            continue
        overall[i] += 1
        for theme in json.loads(themes) if themes else []:
            bump("theme", theme, i)
        if unit is not None:
            bump("bcu", unit if bcus.get(unit) == "bcu" else "specialist units", i)
        bump("hub", hub or "unrouted", i)
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
        requests=len(submitted),
        p1_share=first_bands.get("P1", 0) / scored if scored else 0.0,
        as_at=as_at,
        log_ends=last_at,
    )
