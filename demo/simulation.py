"""The pathfinder simulation behind `sctac demo`: months of a tasking centre's work on a simulated clock.

Nothing here writes a row directly (apart from the demo users, through workflow.accounts): every request
is submitted, scored, prioritised, tasked, reviewed and closed through the real service functions, the
timers fire through `workflow.timers.run_due`, and supervisors handle escalations through
`workflow.escalations`. The evaluation reports then read the event log this leaves, exactly as they would
read a real pathfinder's.

Every random draw comes from one `random.Random(seed)` and every `now` from the simulated clock, and the
work is done in a fixed order (a heap keyed on time and insertion order), so the same seed on a fresh
database writes the same event log.

The simulated clock never passes the real one: a run whose weeks reach beyond now stops at now (nothing
is written after it, no timer fires after it), so a demo seeded "up to this week" reads like a live
centre's log rather than one that has seen the next few days.
"""

from __future__ import annotations

import heapq
import math
import random
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from workflow import accounts, capacity, escalations, hub_resources, service, timers
from workflow.calendar import Calendar, calendar_for
from workflow.errors import DomainError
from workflow.lifecycle import OUTCOMES, State
from workflow.principals import system
from workflow.reference import sync_reference
from workflow.rulebook import Rulebook, get_rulebook

# The real pathfinder ran from November 2018 to May 2019 (seed document, para 7): about 26 weeks.
PATHFINDER_START = date(2018, 11, 5)
LONDON = ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HUBS = ("NORTH", "SOUTH", "EAST", "WEST", "CENTRE")
ANALYSTS = ("analyst.1", "analyst.2", "analyst.3", "analyst.4", "mi.analyst.1", "mi.analyst.2")
CHAIR = "chair"
_DEFER_REASONS = (
    "Hub at capacity this week; back to the next meeting.",
    "Awaiting the outcome of a linked operation before committing assets.",
    "Surveillance team committed to a P1 job; revisit next week.",
)
_OVERRIDE_REASON = "Waited two meetings for room; the chair commits the hub above its capacity."
# How long, on average, a tasked case holds its hub's capacity in this simulation (weeks, measured from
# runs of it: P3 and P4 reviews come 8 and 13 weeks apart), and the share of requests that are tasked:
# what the demo sizes each hub's capacity by. With these, the default 26-week run ends with each hub's
# load within about 80-120% of its capacity per capability (the kidnap team aside: P1s never wait).
HOLDING_WEEKS = 13.0
TASKED_SHARE = 0.7

# Weights of the request mix. Not published anywhere: chosen so the demo looks like a London caseload
# (Central and East BCUs busiest, drugs/county lines and violence the commonest themes).
UNIT_WEIGHTS = {
    "CE": 10, "CN": 8, "AS": 11, "AW": 9, "EA": 8, "NA": 9, "NE": 11, "NW": 9,
    "SN": 8, "SE": 9, "SW": 7, "WA": 8, "SCO-FIN": 2, "SCO-INT": 3, "SCO-OCG": 3,
}  # fmt: skip
THEME_WEIGHTS = {
    "drugs": 20, "county_lines": 14, "violence": 14, "knife_crime": 10, "gangs": 11, "vawg": 7,
    "child_exploitation": 7, "modern_slavery": 4, "firearms": 6, "fraud": 5, "acquisitive": 4, "cyber": 2,
}  # fmt: skip
CAPABILITY_WEIGHTS = {
    "surveillance": 22, "technical_surveillance": 10, "covert": 9, "firearms": 6,
    "financial_investigation": 14, "intelligence_development": 20, "digital_forensics": 10,
    "kidnap_extortion": 1,
}  # fmt: skip
TARGET_WEIGHTS = {"ocg": 45, "individual": 30, "location": 15, "theme": 10}
# Which MoRiLE harm dimensions a theme bears on (level 0-4 raised by these amounts).
THEME_HARM: dict[str, dict[str, float]] = {
    "drugs": {"physical": 1, "community": 1.5, "financial": 1},
    "county_lines": {"physical": 1, "psychological": 1, "community": 1.5},
    "violence": {"physical": 2, "psychological": 1, "community": 1},
    "knife_crime": {"physical": 2.5, "community": 1.5},
    "gangs": {"physical": 1.5, "community": 2},
    "vawg": {"physical": 1.5, "psychological": 2.5},
    "child_exploitation": {"physical": 1.5, "psychological": 2.5, "community": 1},
    "modern_slavery": {"physical": 1.5, "psychological": 2, "financial": 1},
    "firearms": {"physical": 3, "community": 1.5},
    "fraud": {"financial": 2.5, "psychological": 1},
    "acquisitive": {"financial": 1.5, "community": 1},
    "cyber": {"financial": 2, "psychological": 1},
}
VULNERABLE_THEMES = frozenset({"child_exploitation", "vawg", "modern_slavery", "county_lines"})
THEME_STRANDS = {
    "child_exploitation": "protect",
    "vawg": "protect",
    "modern_slavery": "protect",
    "gangs": "prevent",
    "knife_crime": "prevent",
    "cyber": "prepare",
    "fraud": "prepare",
}
TARGET_NAMES = {
    "ocg": ("the {b} line", "the {b} crew", "{b} OCG", "the {b} network"),
    "individual": ("priority nominal {n} ({b})", "line holder {n} ({b})"),
    "location": ("{b} estate", "{b} car wash", "{b} high street premises"),
    "theme": ("{t} across {b}",),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    unit: str | None = None
    hub: str | None = None
    password: str | None = None


@dataclass
class DemoSummary:
    seed: int
    weeks: int
    requests: int
    start: datetime
    end: datetime
    users: list[DemoUser]
    cases: int = 0
    events: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    timers_fired: int = 0
    skipped: int = 0  # planned actions the case had moved past (e.g. withdrawn first): not errors
    seconds: float = 0.0


@dataclass
class _Case:
    """What the simulation remembers of a case between its actions (the database has the rest)."""

    id: int
    unit: str
    hub: str
    themes: list[str]
    target_type: str
    inputs: dict[str, Any] = field(default_factory=dict)
    reviews: int = 0
    strands: set[str] = field(default_factory=set)
    tasked_once: bool = False
    waits: int = 0  # tasking meetings it waited for room at


Job = Callable[[datetime], None]


class _Clock:
    """Working hours on the London wall clock: when people act (the timers keep their own hours)."""

    def __init__(self, rng: random.Random, calendar: Calendar) -> None:
        self.rng = rng
        self.calendar = calendar

    def working(self, at: datetime) -> datetime:
        """`at`, or the start of the next working period (08:00-18:00, working days) plus a little."""
        local = at.astimezone(LONDON)
        if self.calendar.is_working_day(local.date()) and 8 <= local.hour < 18:
            return at
        day = local.date() if local.hour < 8 else local.date() + DAY
        while not self.calendar.is_working_day(day):
            day += DAY
        start = datetime(day.year, day.month, day.day, 8, tzinfo=LONDON)
        return (start + timedelta(minutes=self.rng.randint(0, 90))).astimezone(UTC)

    def after_working_hours(self, at: datetime, hours: float) -> datetime:
        """`hours` of working time (10 a day) after `at`."""
        at = self.working(at)
        left = hours
        while True:
            local = at.astimezone(LONDON)
            day_end = local.replace(hour=18, minute=0, second=0, microsecond=0)
            room = (day_end - local).total_seconds() / 3600
            if left <= room:
                return at + timedelta(hours=left)
            left -= room
            at = self.working(day_end.astimezone(UTC) + timedelta(minutes=1))

    def meeting(self, at: datetime, *, skip: int = 0) -> datetime:
        """The tactical tasking meeting (Tuesdays 10:00) after `at`; `skip` defers it by weeks."""
        local = at.astimezone(LONDON)
        days = (1 - local.weekday()) % 7
        day = local.date() + timedelta(days=days)
        if days == 0 and local.hour >= 10:
            day += timedelta(days=7)
        day += timedelta(days=7 * skip)
        return datetime(day.year, day.month, day.day, 10, tzinfo=LONDON).astimezone(UTC)


def demo_users(*, passwords: bool) -> list[DemoUser]:
    """One login for every role: a requester per unit, analysts, owners and a supervisor per hub."""

    def pw() -> str | None:
        # Passwords are not part of the event log, so they need not follow the seed: fresh each run.
        return secrets.token_urlsafe(12) if passwords else None

    users = [DemoUser("admin", ("admin",), password=pw()), DemoUser(CHAIR, ("supervisor",), password=pw())]
    for unit in UNIT_WEIGHTS:
        users.append(DemoUser(f"req.{unit.lower()}", ("requester",), unit=unit, password=pw()))
    users.extend(DemoUser(name, ("analyst",), password=pw()) for name in ANALYSTS)
    for hub in HUBS:
        users.append(DemoUser(_supervisor(hub), ("supervisor",), hub=hub, password=pw()))
        users.extend(DemoUser(o, ("case_owner",), hub=hub, password=pw()) for o in _owners(hub))
    return users


def _supervisor(hub: str | None) -> str:
    return f"sup.{(hub or 'CENTRE').lower()}"


def _owners(hub: str) -> tuple[str, ...]:
    return tuple(f"owner.{hub.lower()}.{i}" for i in (1, 2, 3))


def _create_users(session: Session, users: Sequence[DemoUser]) -> list[DemoUser]:
    """Create the demo logins; a name that already exists is kept as it is (its owner's password too)."""
    existing = set(session.execute(select(accounts.USER.c.username)).scalars())
    session.rollback()
    created = []
    for u in users:
        if u.username in existing:
            continue
        created.append(u)
        data: dict[str, Any] = {
            "username": u.username,
            "roles": list(u.roles),
            "clearance": "OFFICIAL-SENSITIVE",
        }
        data.update(unit_code=u.unit, hub_code=u.hub)
        if u.password:
            data["password"] = u.password
        accounts.create_user(session, data=data)
    return created


class Pathfinder:
    """One simulated pathfinder. `run` drives it to the end; the state lives in the database."""

    def __init__(
        self,
        session: Session,
        *,
        seed: int,
        weeks: int,
        requests: int,
        start: date,
        rules: Rulebook,
        now: datetime,
    ) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self.rules = rules
        self.calendar = calendar_for()
        self.clock = _Clock(self.rng, self.calendar)
        self.start = datetime(start.year, start.month, start.day, tzinfo=LONDON).astimezone(UTC)
        # The simulated weeks, cut at the real now: nothing is planned, done or fired at or after `end`.
        self.end = min(self.start + timedelta(weeks=weeks), now)
        self.weeks = weeks
        self.requests = requests
        self.heap: list[tuple[datetime, int, Job]] = []
        self.order = 0
        self.cases: dict[int, _Case] = {}
        self.seen_escalation = 0
        self.counts: dict[str, int] = {
            "acknowledged": 0,
            "snoozed": 0,
            "left_to_climb": 0,
            "resolved_by_supervisor": 0,
        }
        self.timers_fired = 0
        self.skipped = 0

    # --- scheduling ------------------------------------------------------------------------------

    def at(self, when: datetime, job: Job) -> None:
        if when < self.end:
            self.order += 1
            heapq.heappush(self.heap, (when, self.order, job))

    def run(self, *, on_week: Callable[[int], None] | None = None) -> None:
        for when in self._arrivals():
            self.at(when, self._submit)
        now = self.start
        week = 0
        while now < self.end:
            step = min(now + HOUR, self.end)  # the last step stops at the end (timers too)
            while self.heap and self.heap[0][0] < step:
                when, _, job = heapq.heappop(self.heap)
                job(when)
            self._handle_new_escalations(step)
            self.timers_fired += sum(1 for o in timers.run_due(self.session, now=step) if o.result == "fired")
            self._handle_new_escalations(step)
            now = step
            done = int((now - self.start) / timedelta(weeks=1))
            if done > week:
                week = done
                if on_week is not None:
                    on_week(week)

    def _arrivals(self) -> list[datetime]:
        """Submission times: demand ramps up over the first weeks as BCUs learn of the centre, dips
        over Christmas, and falls on weekday working hours (a few out of hours)."""
        weights = []
        for w in range(self.weeks):
            ramp = min(1.0, 0.45 + 0.11 * w)
            monday = (self.start + timedelta(weeks=w)).date()
            holidays = sum(1 for d in range(5) if not self.calendar.is_working_day(monday + timedelta(d)))
            weights.append(ramp * (1 - 0.15 * holidays) * self.rng.uniform(0.85, 1.15))
        total = sum(weights)
        per_week = [int(self.requests * w / total) for w in weights]
        for i in range(self.requests - sum(per_week)):
            per_week[i % self.weeks] += 1
        times = []
        for w, n in enumerate(per_week):
            monday = self.start + timedelta(weeks=w)
            for _ in range(n):
                if self.rng.random() < 0.06:
                    offset = timedelta(hours=self.rng.uniform(0, 24 * 7))
                    times.append(monday + offset)
                    continue
                day = self.rng.choices(range(5), weights=(24, 22, 20, 19, 15))[0]
                local = (monday + timedelta(days=day)).astimezone(LONDON)
                hour = self.rng.triangular(7.5, 18.5, 10)
                stamp = local.replace(hour=0, minute=0) + timedelta(hours=hour)
                times.append(stamp.astimezone(UTC))
        times.sort()
        return times

    # --- people's actions ------------------------------------------------------------------------

    def _fire(self, case: _Case, trigger: str, actor: str, at: datetime, data: dict[str, Any]) -> bool:
        try:
            service.fire(
                self.session,
                case_id=case.id,
                trigger=trigger,
                by=system(actor),
                data=data,
                now=at,
                rules=self.rules,
            )
        except DomainError:
            # The plan was made earlier (e.g. a review planned before the case was withdrawn): people
            # in the centre would notice and move on, so does the simulation.
            self.skipped += 1
            return False
        return True

    def _state(self, case: _Case) -> str:
        return str(service.load_case(self.session, case.id)["state"])

    def _submit(self, at: datetime) -> None:
        rng = self.rng
        unit = _pick(rng, UNIT_WEIGHTS)
        themes = _sample(rng, THEME_WEIGHTS, rng.choices((1, 2, 3), weights=(45, 40, 15))[0])
        if "county_lines" in themes and "drugs" not in themes:
            themes.append("drugs")
        capabilities = _sample(rng, CAPABILITY_WEIGHTS, rng.choices((1, 2, 3), weights=(40, 45, 15))[0])
        target_type = _pick(rng, TARGET_WEIGHTS)
        borough = self.rules.ruleset.units[unit].boroughs
        place = rng.choice(borough) if borough else "London"
        name = rng.choice(TARGET_NAMES[target_type]).format(b=place, n=rng.randint(100, 999), t=themes[0])
        request = {
            "title": f"{themes[0].replace('_', ' ').capitalize()}: {name}"[:200],
            "summary": (
                f"Request from {unit} for {', '.join(capabilities)} against {name}. "
                f"Themes: {', '.join(themes)}."
            ),
            "requesting_unit": unit,
            "target_type": target_type,
            "target_name": name,
            "themes": themes,
            "capabilities": capabilities,
            "protective_marking": "OFFICIAL-SENSITIVE" if rng.random() < 0.6 else "OFFICIAL",
        }
        fired = service.submit_case(
            self.session, request=request, by=system(f"req.{unit.lower()}"), now=at, rules=self.rules
        )
        row = service.load_case(self.session, fired.case_id)
        case = _Case(fired.case_id, unit, str(row["hub"]), sorted(set(themes)), target_type)
        self.cases[case.id] = case
        r = rng.random()
        if r < 0.04:
            when = self.clock.after_working_hours(at, rng.uniform(4, 60))
            self.at(when, lambda t: self._withdraw(case, t))
        elif r < 0.09:
            when = self.clock.after_working_hours(at, rng.uniform(3, 30))
            self.at(when, lambda t: self._reject(case, t, "Not a specialist crime matter; BCU to progress."))
        elif r < 0.21:
            when = self.clock.after_working_hours(at, rng.uniform(2, 16))
            self.at(when, lambda t: self._await_information(case, t))
        else:
            self.at(self._assessment_time(case, at), lambda t: self._assess(case, t))

    def _assessment_time(self, case: _Case, at: datetime) -> datetime:
        # Mostly inside the SLA (two or five working days); a tail runs late and breaches it.
        urgent = VULNERABLE_THEMES & {"child_exploitation", "modern_slavery"} & set(case.themes)
        median = 6.0 if urgent else 14.0
        hours = min(self.rng.lognormvariate(math.log(median), 0.75), 120.0)
        return self.clock.after_working_hours(at, hours)

    def _await_information(self, case: _Case, at: datetime) -> None:
        reason = self.rng.choice(
            (
                "Source grading of the intelligence is missing.",
                "Need the BCU's current risk assessment for the victims.",
                "Need the crime reference numbers linked to the target.",
            )
        )
        if not self._fire(case, "await_information", _analyst(self.rng), at, {"reason": reason}):
            return
        when = self.clock.after_working_hours(at, self.rng.lognormvariate(math.log(20), 0.8))

        def received(t: datetime) -> None:
            if self._fire(case, "information_received", f"req.{case.unit.lower()}", t, {}):
                self.at(self._assessment_time(case, t), lambda t2: self._assess(case, t2))

        self.at(when, received)

    def _assess(
        self, case: _Case, at: datetime, *, trigger: str = "assess", reason: str | None = None
    ) -> None:
        case.inputs = _morile_inputs(self.rng, case)
        data: dict[str, Any] = {"assessment": case.inputs}
        if reason:
            data.update(reason=reason, rationale=reason)
        if not self._fire(case, trigger, _analyst(self.rng), at, data):
            return
        band = str(service.load_case(self.session, case.id)["band"])
        r = self.rng.random()
        if band == "P4" and r < 0.35 and trigger == "assess":
            when = self.clock.after_working_hours(at, self.rng.uniform(1, 20))
            self.at(when, lambda t: self._reject(case, t, "Standard risk: local ownership by the BCU."))
        elif r < 0.03:
            when = self.clock.after_working_hours(at, self.rng.uniform(2, 40))
            self.at(when, lambda t: self._withdraw(case, t))
        elif band == "P1":
            self.at(at + timedelta(hours=self.rng.uniform(1, 10)), lambda t: self._prioritise(case, t))
        else:
            deferred = self.rng.random() < 0.12  # deferred at the meeting for want of capacity
            minutes = self.rng.randint(0, 90)
            if deferred:
                first = self.clock.meeting(at) + timedelta(minutes=minutes)
                self.at(first, lambda t: self._defer(case, t))
            meeting = self.clock.meeting(at, skip=1 if deferred else 0)
            self.at(meeting + timedelta(minutes=minutes), lambda t: self._prioritise(case, t))

    def _defer(self, case: _Case, at: datetime) -> None:
        # The reason comes from the case, not the random stream, so adding deferrals moved nothing else.
        self._fire(case, "defer", CHAIR, at, {"reason": _DEFER_REASONS[case.id % len(_DEFER_REASONS)]})

    def _rescore(self, case: _Case, at: datetime) -> None:
        if self._state(case) != State.TASKED.value:
            self.skipped += 1
            return
        case.inputs = _perturb(self.rng, case.inputs)
        reason = self.rng.choice(
            (
                "New intelligence links the target to a firearm.",
                "Victim vulnerability reassessed after safeguarding visit.",
                "4P action completed: key nominal charged.",
            )
        )
        data = {"assessment": case.inputs, "reason": reason, "rationale": reason}
        self._fire(case, "rescore", _analyst(self.rng), at, data)

    def _prioritise(self, case: _Case, at: datetime) -> None:
        if not self._fire(case, "prioritise", CHAIR, at, {}):
            return
        band = str(service.load_case(self.session, case.id)["band"])
        if band == "P1":
            when = at + timedelta(hours=self.rng.uniform(0.5, 6))
        elif self.rng.random() < 0.15:
            when = self.clock.meeting(at) + timedelta(minutes=self.rng.randint(0, 120))
        else:
            when = at + timedelta(minutes=self.rng.randint(10, 120))
        self.at(when, lambda t: self._task(case, t))

    def _task(self, case: _Case, at: datetime) -> None:
        row = service.load_case(self.session, case.id)
        hub = str(row["hub"])
        owner = self.rng.choice(_owners(hub))
        data: dict[str, Any] = {"owner": owner}
        # A full hub: the chair puts the case off to the next meeting (twice at most), then commits the
        # hub anyway with a recorded override; a P1 is never made to wait for room.
        if capacity.shortfall(self.session, hub=hub, capabilities=row["capabilities"]):
            self.session.rollback()
            if row["band"] != "P1" and case.waits < 2:
                case.waits += 1
                self.at(self.clock.meeting(at), lambda t: self._task(case, t))
                return
            data.update(override=True, reason=_OVERRIDE_REASON)
        if not self._fire(case, "task", CHAIR, at, data):
            return
        case.hub = hub
        self._plan_review(case, at, owner)

    def _plan_review(self, case: _Case, at: datetime, owner: str) -> None:
        row = service.load_case(self.session, case.id)
        due = row["review_due_at"]
        assert due is not None
        if self.rng.random() < 0.06:
            middle = at + (due - at) * self.rng.uniform(0.2, 0.8)
            self.at(self.clock.working(middle), lambda t: self._rescore(case, t))
        if self.rng.random() < 0.84:  # on time: in the last few days before it is due
            when = self.clock.working(due - timedelta(hours=self.rng.uniform(4, 96)))
            if when > due:
                when = due - timedelta(hours=1)
        else:  # late: the reminder and then the supervisor chase it
            when = self.clock.after_working_hours(due, self.rng.uniform(6, 80))
        self.at(max(when, at + HOUR), lambda t: self._review(case, t, owner))

    def _review(self, case: _Case, at: datetime, owner: str) -> None:
        if self._state(case) != State.TASKED.value:
            self.skipped += 1
            return
        strands = self._strands(case)
        progress = self.rng.choice(
            (
                "Surveillance deployed; target's associates identified.",
                "Two warrants executed; phones seized for examination.",
                "Safeguarding referrals made for three young people.",
                "Financial profile complete; restraint order sought.",
                "Intelligence picture developed; partners briefed.",
            )
        )
        if not self._fire(case, "review", owner, at, {"progress": progress, "strands": strands}):
            return
        case.reviews += 1
        case.strands.update(strands)
        r = self.rng.random()
        close_p = min(0.9, 0.45 + 0.2 * case.reviews)  # most cases close within two or three reviews
        later = at + timedelta(minutes=self.rng.randint(5, 60))
        if r < 0.07:
            reason = "New intelligence changes the picture: reassess."
            self.at(later, lambda t: self._reassess(case, t, reason))
        elif r < 0.07 + close_p:
            self.at(
                self.clock.after_working_hours(at, self.rng.uniform(0.2, 12)), lambda t: self._close(case, t)
            )
        else:

            def cont(t: datetime) -> None:
                if self._fire(case, "continue", owner, t, {}):
                    self._plan_review(case, t, owner)

            self.at(later, cont)

    def _reassess(self, case: _Case, at: datetime, reason: str) -> None:
        self._assess(case, at, trigger="reassess", reason=reason)

    def _strands(self, case: _Case) -> list[str]:
        strands = {"pursue"} if self.rng.random() < 0.8 else set()
        for theme in case.themes:
            if theme in THEME_STRANDS and self.rng.random() < 0.6:
                strands.add(THEME_STRANDS[theme])
        if self.rng.random() < 0.1:
            strands.add("prepare")
        return sorted(strands or {"pursue"})

    def _close(self, case: _Case, at: datetime) -> None:
        if "protect" in case.strands and self.rng.random() < 0.5:
            outcome = "safeguarded"
        else:
            outcome = _pick(
                self.rng,
                dict(
                    zip(OUTCOMES, (22, 30, 8, 18, 6, 2, 14), strict=True),
                ),
            )
        strands = self._strands(case)
        data = {"outcome": outcome, "strands": strands}
        if self._fire(case, "close", _owner_of(self.session, case), at, data):
            case.strands.update(strands)

    def _withdraw(self, case: _Case, at: datetime) -> None:
        reason = self.rng.choice(("Suspect charged by the BCU.", "Request superseded by a joint operation."))
        self._fire(case, "withdraw", f"req.{case.unit.lower()}", at, {"reason": reason})

    def _reject(self, case: _Case, at: datetime, reason: str) -> None:
        self._fire(case, "reject", _analyst(self.rng), at, {"reason": reason})

    # --- supervisors and escalations -------------------------------------------------------------

    def _handle_new_escalations(self, now: datetime) -> None:
        esc = escalations.ESCALATION
        rows = self.session.execute(
            select(esc.c.id, esc.c.hub, esc.c.handler, esc.c.level)
            .where(esc.c.id > self.seen_escalation)
            .order_by(esc.c.id)
        ).all()
        self.session.rollback()  # end the read transaction: SQLite would otherwise hold a snapshot
        for row in rows:
            self.seen_escalation = row.id
            self._plan_supervisor(row.id, row.hub, row.handler, row.level, now)

    def _plan_supervisor(self, esc_id: int, hub: str | None, handler: str, level: int, now: datetime) -> None:
        rng = self.rng
        who = CHAIR if handler == "tasking_chair" else _supervisor(hub)
        r = rng.random()
        if r < 0.72:
            hours = rng.lognormvariate(math.log(1.5 if level > 1 else 3.0), 0.9)
            self.at(self.clock.after_working_hours(now, hours), lambda t: self._acknowledge(esc_id, who, t))
        elif r < 0.84:
            self.at(
                self.clock.after_working_hours(now, rng.uniform(0.2, 3)),
                lambda t: self._snooze(esc_id, who, t),
            )
        else:
            self.counts["left_to_climb"] += 1
            # Nobody acts until the ladder reaches the chair, who picks it up a few days in.
            when = self.clock.after_working_hours(now, rng.uniform(25, 45))
            self.at(when, lambda t: self._acknowledge(esc_id, CHAIR, t))

    def _open(self, esc_id: int) -> str | None:
        status = self.session.execute(
            select(escalations.ESCALATION.c.status).where(escalations.ESCALATION.c.id == esc_id)
        ).scalar_one()
        self.session.rollback()
        return None if status == "resolved" else str(status)

    def _acknowledge(self, esc_id: int, who: str, at: datetime) -> None:
        if self._open(esc_id) in (None, "acknowledged"):
            return
        if self.rng.random() < 0.08:
            escalations.resolve(
                self.session,
                escalation_id=esc_id,
                by=system(who),
                reason="Handled at the daily review.",
                now=at,
            )
            self.counts["resolved_by_supervisor"] += 1
            return
        note = self.rng.choice(("Seen; regional support requested.", "Agreed, proceed.", "Owner briefed."))
        escalations.acknowledge(self.session, escalation_id=esc_id, by=system(who), note=note, now=at)
        self.counts["acknowledged"] += 1

    def _snooze(self, esc_id: int, who: str, at: datetime) -> None:
        if self._open(esc_id) != "open":
            return
        until = at + timedelta(hours=self.rng.uniform(4, 23))
        reason = "Waiting for the hub team's update this afternoon."
        try:
            escalations.snooze(
                self.session, escalation_id=esc_id, by=system(who), until=until, reason=reason, now=at
            )
        except DomainError:  # over the policy's snooze limit: the supervisor acknowledges instead
            self._acknowledge(esc_id, who, at)
            return
        self.counts["snoozed"] += 1
        later = self.clock.after_working_hours(until, self.rng.uniform(0.5, 4))
        self.at(later, lambda t: self._acknowledge(esc_id, who, t))


def _size_hubs(session: Session, *, rules: Rulebook, requests: int, weeks: int) -> None:
    """Give each hub a capacity per capability sized to the demand this run will route to it: the hub a
    typical request from each unit goes to, the share of requests asking for each capability, how many
    are tasked and how long they hold it. A hub already sized (a database seeded before) is kept."""
    if capacity.current(session):
        session.rollback()
        return
    share: dict[str, float] = {}
    total = sum(UNIT_WEIGHTS.values())
    for unit, weight in UNIT_WEIGHTS.items():
        kind = rules.ruleset.units[unit].kind
        facts = {"unit": unit, "unit_kind": kind, "themes": ["drugs"], "capabilities": ["surveillance"],
                 "target_type": "ocg", "marking": "OFFICIAL", "tags": [], "stage": "submitted"}  # fmt: skip
        hub = rules.decide(facts).hub or "CENTRE"
        share[hub] = share.get(hub, 0.0) + weight / total
    per_request = 1.75 / sum(CAPABILITY_WEIGHTS.values())  # capabilities asked for per request, by weight
    per_week = requests / weeks
    admin = system("system:demo")
    for hub, part in sorted(share.items()):
        sizes = {
            c: max(1, round(per_week * part * TASKED_SHARE * HOLDING_WEEKS * w * per_request))
            for c, w in CAPABILITY_WEIGHTS.items()
        }
        hub_resources.set_capacities(
            session, hub=hub, capacities=sizes, by=admin, reason="sized by the demo to its simulated demand"
        )


def _analyst(rng: random.Random) -> str:
    # The two Met Intelligence analysts carry a larger share of the scoring (para 7's demand question).
    return rng.choices(ANALYSTS, weights=(14, 14, 12, 10, 25, 25))[0]


def _owner_of(session: Session, case: _Case) -> str:
    row = service.load_case(session, case.id)
    return str(row["owner"] or _owners(case.hub)[0])


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _sample(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < k:
        value = _pick(rng, weights)
        if value not in chosen:
            chosen.append(value)
    return chosen


def _level(rng: random.Random, mean: float, spread: float = 0.9) -> int:
    return max(0, min(4, round(rng.gauss(mean, spread))))


def _morile_inputs(rng: random.Random, case: _Case) -> dict[str, Any]:
    """MoRiLE inputs from the themes and target: harm where the themes bite, scope from the target."""
    base = {"physical": 2.0, "psychological": 1.9, "financial": 1.5, "community": 2.0, "environmental": 0.0}
    for theme in case.themes:
        for dim, lift in THEME_HARM[theme].items():
            base[dim] = max(base[dim], 1.9 + 0.65 * lift)
    # Critical harm (level 4) is rare: it floors the band at P2, so it is kept for the worst requests.
    harm = {dim: min(_level(rng, mean, 0.7), 4 if rng.random() < 0.12 else 3) for dim, mean in base.items()}
    harm["environmental"] = 1 if rng.random() < 0.05 else 0
    scope_mean = {"ocg": 3.5, "individual": 2.5, "location": 2.2, "theme": 3.5}[case.target_type]
    vulnerable = bool(VULNERABLE_THEMES & set(case.themes))
    scope = max(1, min(4, round(rng.gauss(scope_mean, 0.7))))
    likelihood = max(1, min(5, round(rng.gauss(4.0, 0.8))))
    vulnerability = _level(rng, 2.6 if vulnerable else 1.0, 1.0)
    if rng.random() < 0.05:
        # The few threat-to-life requests: under the placeholder matrix only these reach P1.
        harm = {dim: (rng.choice((3, 4, 4)) if dim != "environmental" else 0) for dim in harm}
        scope, likelihood, vulnerability = 4, 5, rng.choice((3, 4))
    return {
        "harm": harm,
        "scope": scope,
        "likelihood": likelihood,
        "vulnerability": vulnerability,
        "capacity": max(1, min(4, round(rng.gauss(1.7, 0.8)))),
        "capability": max(1, min(4, round(rng.gauss(1.6, 0.8)))),
        "intelligence": {
            "source": rng.choices(("1", "2", "3"), weights=(35, 55, 10))[0],
            "grade": rng.choices("ABCDE", weights=(10, 35, 35, 12, 8))[0],
            "handling": rng.choices(("P", "C"), weights=(85, 15))[0],
        },
    }


def _perturb(rng: random.Random, inputs: dict[str, Any]) -> dict[str, Any]:
    """New intelligence moves a score a step either way."""
    changed = {**inputs, "harm": dict(inputs["harm"])}
    dim = rng.choice(sorted(changed["harm"]))
    changed["harm"][dim] = max(0, min(4, changed["harm"][dim] + rng.choice((-1, 1, 1))))
    changed["likelihood"] = max(1, min(5, changed["likelihood"] + rng.choice((-1, 0, 1))))
    changed["vulnerability"] = max(0, min(4, changed["vulnerability"] + rng.choice((-1, 0, 0, 1))))
    return changed


@contextmanager
def _progress_bar(enabled: bool, weeks: int) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]pathfinder[/bold] week"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("weeks", total=weeks)
        yield lambda week: bar.update(task, completed=week)


def run_demo(
    engine: Engine,
    *,
    seed: int = 2018,
    weeks: int = 26,
    requests: int = 2000,
    progress: bool = False,
    start: date = PATHFINDER_START,
    passwords: bool = True,
    rules: Rulebook | None = None,
    now: datetime | None = None,
) -> DemoSummary:
    """Seed reference data and demo users into a migrated, empty database, then simulate a pathfinder.

    `start` is the Monday the simulated clock starts; the default is the real pathfinder's start so the
    same seed always writes the same log. The run stops at `now` (default: the real time now) if its
    weeks reach beyond it. `passwords=False` creates the users without passwords (faster: argon2 is
    deliberately slow), e.g. for tests.
    """
    if weeks < 1 or requests < 0:
        raise ValueError("weeks must be at least 1 and requests not negative")
    now = now or datetime.now(UTC)
    if datetime(start.year, start.month, start.day, tzinfo=LONDON) >= now:
        raise ValueError("the simulation must start before now")
    began = time.perf_counter()
    rules = rules or get_rulebook()
    users = demo_users(passwords=passwords)
    with Session(engine, expire_on_commit=False) as session:
        sync_reference(session, rules=rules)
        users = _create_users(session, users)
        _size_hubs(session, rules=rules, requests=requests, weeks=weeks)
        sim = Pathfinder(
            session, seed=seed, weeks=weeks, requests=requests, start=start, rules=rules, now=now
        )
        with _progress_bar(progress, weeks) as on_week:
            sim.run(on_week=on_week)
        case, event = service.CASE, service.EVENT
        states = session.execute(select(case.c.state, func.count()).group_by(case.c.state)).all()
        events = session.execute(select(func.count()).select_from(event)).scalar_one()
        session.rollback()
    return DemoSummary(
        seed=seed,
        weeks=weeks,
        requests=requests,
        start=sim.start,
        end=sim.end,
        users=users,
        cases=len(sim.cases),
        events=int(events),
        by_state={str(s): int(n) for s, n in sorted(states)},
        escalations=dict(sim.counts),
        timers_fired=sim.timers_fired,
        skipped=sim.skipped,
        seconds=time.perf_counter() - began,
    )
