"""The case as it stood at an event: what a message about that event may say.

A delivery is sent some time after its event (seconds usually, hours when a mail server was down), and
the case may have moved on meanwhile: a request submitted and rejected before the worker ran must still
get a "received" mail that says what was true at submission. So a message is built from its event's own
row and the records written up to that event, never from the case row as it is at send time:

    hub, owner           the latest hub / owner fact (workflow/facts.py) among the case's events up to it
    band, risk, grade    the latest MoRiLE assessment recorded by an event up to it
    policy               the latest rule decision recorded by an event up to it (SLA targets, ladder)
    title, marking       the request as submitted (the submit event's payload); the marking shown is the
                         stricter of that and today's, so a case marked up since is handled as it is now
    sla_due_at           for a submission: the assessment target that submission set
    review_due_at        for a tasking: the first review date that tasking set
    state                the event's own `to_state`

Due dates are worked out again from the event's time and the policy then in force, by the same planner
(workflow.clocks) that set them: the event log holds when and under which policy, and the plan is a pure
function of those. The reference and the requesting unit are the case's identity and never change.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import RowMapping
from sqlmodel import Session

from notifications.rendering import MARKINGS
from workflow import clocks, triggers
from workflow.calendar import calendar_for
from workflow.tables import ASSESSMENT, DECISION, EVENT


@dataclass(frozen=True)
class CaseAsOf:
    """The fields of a case a message may mention, as they were when one event happened."""

    id: int
    reference: str
    requesting_unit: str
    title: str
    protective_marking: str
    state: str
    band: str | None
    risk: float | None
    capability: str | None  # the MoRiLE organisational capability grade
    hub: str | None
    owner: str | None
    policy: Mapping[str, Any]
    sla_due_at: datetime | None = None
    review_due_at: datetime | None = None


class _Timeline:
    """Values of one case keyed by the event seq that recorded them; `at(seq)` is the latest up to seq."""

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._values: list[Any] = []

    def add(self, seq: int, value: Any) -> None:  # added in seq order
        self._seqs.append(seq)
        self._values.append(value)

    def at(self, seq: int) -> Any:
        i = bisect_right(self._seqs, seq)
        return self._values[i - 1] if i else None


def _stricter(a: str, b: str) -> str:
    known = [m for m in (a, b) if m in MARKINGS]
    if not known:
        return a
    return max(known, key=MARKINGS.index)


def cases_as_of(
    session: Session, *, events: Sequence[Mapping[Any, Any]], cases: Mapping[int, RowMapping]
) -> dict[int, CaseAsOf]:
    """The case as of each event (keyed by event id), read in four queries for the whole batch."""
    case_ids = sorted({int(e["case_id"]) for e in events})
    if not case_ids:
        return {}
    hubs: dict[int, _Timeline] = defaultdict(_Timeline)
    owners: dict[int, _Timeline] = defaultdict(_Timeline)
    for case_id, seq, hub, owner in session.execute(
        select(EVENT.c.case_id, EVENT.c.seq, EVENT.c.hub, EVENT.c.owner)
        .where(EVENT.c.case_id.in_(case_ids), or_(EVENT.c.hub.is_not(None), EVENT.c.owner.is_not(None)))
        .order_by(EVENT.c.case_id, EVENT.c.seq)
    ):
        if hub is not None:
            hubs[case_id].add(seq, hub)
        if owner is not None:
            owners[case_id].add(seq, owner)
    scores: dict[int, _Timeline] = defaultdict(_Timeline)
    for case_id, seq, band, risk, grade in session.execute(
        select(ASSESSMENT.c.case_id, ASSESSMENT.c.event_seq, ASSESSMENT.c.band, ASSESSMENT.c.risk,
               ASSESSMENT.c.org_grade)
        .where(ASSESSMENT.c.case_id.in_(case_ids))
        .order_by(ASSESSMENT.c.case_id, ASSESSMENT.c.event_seq, ASSESSMENT.c.seq)
    ):  # fmt: skip
        scores[case_id].add(seq, (band, risk, grade))
    policies: dict[int, _Timeline] = defaultdict(_Timeline)
    for case_id, seq, decisions in session.execute(
        select(DECISION.c.case_id, DECISION.c.event_seq, DECISION.c.decisions)
        .where(DECISION.c.case_id.in_(case_ids))
        .order_by(DECISION.c.case_id, DECISION.c.event_seq, DECISION.c.id)
    ):
        policies[case_id].add(seq, (decisions or {}).get("policy") or {})
    requests: dict[int, Mapping[str, Any]] = {}
    for case_id, payload in session.execute(
        select(EVENT.c.case_id, EVENT.c.payload).where(
            EVENT.c.case_id.in_(case_ids), EVENT.c.trigger == "submit"
        )
    ):
        requests[case_id] = (payload or {}).get("request") or {}

    found: dict[int, CaseAsOf] = {}
    for event in events:
        case_id, seq = int(event["case_id"]), int(event["seq"])
        case = cases[case_id]
        request = requests.get(case_id, {})
        band, risk, grade = scores[case_id].at(seq) or (None, None, None)
        policy = policies[case_id].at(seq) or {}
        as_of = CaseAsOf(
            id=case_id,
            reference=case["reference"],
            requesting_unit=case["requesting_unit"],
            title=str(request.get("title") or case["title"]),
            protective_marking=_stricter(
                str(request.get("protective_marking") or case["protective_marking"]),
                case["protective_marking"],
            ),
            state=event["to_state"],
            band=band,
            risk=risk,
            capability=grade,
            hub=hubs[case_id].at(seq),
            owner=owners[case_id].at(seq),
            policy=policy,
        )
        found[int(event["id"])] = _with_due_dates(as_of, event)
    return found


def _with_due_dates(case: CaseAsOf, event: Mapping[Any, Any]) -> CaseAsOf:
    """The clock a submission or a tasking started, planned again from the event's time and policy."""
    trigger = event["trigger"]
    if trigger not in ("submit", "task") or not case.policy:
        return case
    state = event["to_state"]
    after = {
        "state": state,
        "awaiting_since": None,
        "sla_started_at": None,
        "sla_paused_seconds": 0.0,
        "sla_breached": False,
        "review_cycle_started_at": None,
        "review_overdue": False,
    }
    before = {"state": event["from_state"], "sla_stage": None}
    try:
        plan = clocks.plan(
            case=after,
            before=before,
            clock=triggers.REGISTRY[trigger].clock,
            policy=case.policy,
            now=event["created_at"],
            calendar=calendar_for(),
        )
    except (KeyError, TypeError, ValueError):
        return case  # a policy this planner cannot read: the message says less rather than guess
    return replace(
        case, sla_due_at=plan.changes.get("sla_due_at"), review_due_at=plan.changes.get("review_due_at")
    )
