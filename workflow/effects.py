"""What each trigger does to a case beyond moving its state: the `effect` named in its definition.

An effect reads the case as it was and the validated input, and adds to the `Change` the service is
about to write: column values, payload, and rows that follow the event (an assessment, a decision, an
escalation). Effects run inside the service's transaction; none of them commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from workflow import capacity, clocks, ladders, redaction, retention, strategies
from workflow import rulebook as rb
from workflow.calendar import calendar_for
from workflow.change import AfterEvent, CaseRecord, Change
from workflow.errors import FieldProblem, InvalidInput
from workflow.prepared import Prepared
from workflow.principals import Principal
from workflow.priority import Ranker
from workflow.schemas import TransitionInput
from workflow.states import ROUTABLE, TERMINAL
from workflow.statuses import EscalationStatus
from workflow.tables import ASSESSMENT, DECISION, ESCALATION, HUB, USER

# Run on the driver's cursor, like the service's own write path (workflow.prepared).
_INSERT_DECISION = Prepared(insert(DECISION))
# The assessment's number is the case's next, counted in the same statement that appends it.
_INSERT_ASSESSMENT = Prepared(
    insert(ASSESSMENT).values(
        seq=select(func.coalesce(func.max(ASSESSMENT.c.seq), 0) + 1)
        .where(ASSESSMENT.c.case_id == bindparam("p_case"))
        .scalar_subquery()
    )
)
# Whether the tasking decision's hub and owner exist and are active, in one statement.
_ACTIVE_HUB_AND_USER = select(
    select(HUB.c.code)
    .where(HUB.c.code == bindparam("p_code"), HUB.c.active.is_(True))
    .scalar_subquery()
    .label("hub"),
    select(USER.c.username)
    .where(USER.c.username == bindparam("p_name"), USER.c.active.is_(True))
    .scalar_subquery()
    .label("owner"),
)


@dataclass
class Acting:
    """One firing as an effect sees it."""

    session: Session
    row: CaseRecord
    inp: TransitionInput
    change: Change
    by: Principal
    at: datetime
    rules: rb.Rulebook | None


Effect = Callable[[Acting], None]


def case_facts(case: Mapping[str, Any]) -> dict[str, Any]:
    """The rule facts a case carries before any scoring (the rules fill in the unit's kind, bcu or
    specialist, from their own reference data: rules/facts.py)."""
    return {
        "unit": case["requesting_unit"],
        "themes": list(case["themes"]),
        "capabilities": list(case["capabilities"]),
        "target_type": case["target_type"],
        "marking": case["protective_marking"],
        "tags": list(case["tags"]),
        "stage": case["state"],
    }


def decision_writer(case_id: int, event_seq: int, decided: rb.Decided, at: datetime) -> AfterEvent:
    def write(session: Session, _event_id: int) -> None:
        _INSERT_DECISION.rowcount(
            session,
            {
                "case_id": case_id,
                "event_seq": event_seq,
                "ruleset_version": decided.ruleset_version,
                "backend": decided.backend,
                "hub": decided.hub,
                "route_rule": decided.route_rule,
                "escalation_level": decided.escalation_level,
                "decisions": decided.payload,
                "created_at": at,
            },
        )

    return write


def _passed(due: datetime | None, at: datetime) -> bool:
    """Whether a due moment has come (only then can a timer have raised an escalation for it)."""
    return due is not None and due <= at


# -- the effects -----------------------------------------------------------------------------------------


def score(a: Acting) -> None:
    """Score the assessment, ask the rules, and record both: the assessment row is appended, never edited.
    A trigger that only may carry an assessment (reassess) changes nothing without one."""
    assessment = a.inp.assessment
    if assessment is None:
        return
    session, row, inp, change = a.session, a.row, a.inp, a.change
    rules = a.rules or rb.active_rulebook(session)
    scored = rules.score(assessment)
    previous = row.band
    if previous and rules.is_downgrade(previous, scored.band) and not inp.rationale:
        raise InvalidInput(
            [FieldProblem("rationale", f"the band falls from {previous} to {scored.band}: record why")]
        )
    values = row.as_dict()
    decided = rules.decide({**case_facts(values), **scored.facts})
    change.changes.update(
        band=scored.band,
        risk=scored.risk,
        escalation_level=decided.escalation_level,
        ruleset_version=decided.ruleset_version,
        policy=decided.policy,
    )
    if row.state in ROUTABLE:
        change.changes.update(hub=decided.hub, team=decided.team)
    change.payload.update(
        assessment={"inputs": assessment, "score": scored.payload}, decisions=decided.payload
    )
    event_seq = row.event_seq + 1
    assessor = a.by.username

    def write_rows(session: Session, _event_id: int) -> None:
        _INSERT_ASSESSMENT.rowcount(
            session,
            {
                "case_id": row.id,
                "p_case": row.id,
                "event_seq": event_seq,
                "matrix_id": scored.matrix_id,
                "matrix_version": scored.matrix_version,
                "inputs": assessment,
                "result": scored.payload,
                "band": scored.band,
                "risk": scored.risk,
                "harm_total": scored.harm_total,
                "likelihood_total": scored.likelihood_total,
                "confidence": scored.confidence,
                "org_grade": scored.org_grade,
                "floor_applied": scored.facts["harm_floor"],
                "response_level": scored.facts["response_level"],
                "rationale": inp.rationale,
                "assessor": assessor,
                "created_at": a.at,
            },
        )

    change.after.append(write_rows)
    change.after.append(decision_writer(row.id, event_seq, decided, a.at))
    if decided.escalation is not None:
        raised = ladders.rule_escalation_if_new(
            session, row=values, decided=decided, at=a.at, event_seq=event_seq
        )
        if raised is not None:
            change.payload["escalation"] = raised.summary
            change.payload["notify"] = [raised.summary["notify"]]
            change.after.append(raised.write)


def rank(a: Acting) -> None:
    """Record on the event the case's tasking priority under the strategy in force when it was decided
    (total, each part with its weight, the reason line and the strategy version): why it ranked where
    it did stays in the history after the strategy changes."""
    ranker = Ranker(strategies.active_strategy(a.session, book=a.rules))
    a.change.payload["priority"] = ranker.weigh(a.row, a.at).as_dict()


def task(a: Acting) -> None:
    """The tasking decision: hub (the routed one unless chosen), an owner of that hub cleared for the case,
    one of its teams, room for what the case asks (or a supervisor's override, with a reason), and the
    priority it was tasked at."""
    problems: list[FieldProblem] = []
    hub_code = a.inp.hub or a.row.hub
    found = a.session.connection().execute(_ACTIVE_HUB_AND_USER, {"p_code": hub_code, "p_name": a.inp.owner})
    hub, owner = found.one()
    if hub is None:
        problems.append(FieldProblem("hub", f"unknown or inactive hub {hub_code!r}"))
    if owner is None:
        problems.append(FieldProblem("owner", f"unknown or inactive user {a.inp.owner!r}"))
    if problems:
        raise InvalidInput(problems)
    assert hub_code is not None  # the trigger's guard holds it to a hub
    team = placed(a, hub=hub_code, owner=a.inp.owner, team=a.inp.team, keep_team=a.row.team)
    a.change.changes.update(hub=hub_code, owner=a.inp.owner, team=team)
    rank(a)


def placed(a: Acting, *, hub: str, owner: str | None, team: str | None, keep_team: str | None) -> str | None:
    """Check a case's placing in `hub` (its owner, team and the hub's room for it) and return the team.

    A team chosen must be one of the hub's; a team the case already carried (from the routing rules, or
    its old hub) is kept only if the hub has it. Over capacity needs `override` (the trigger's guard holds
    it to a reason), recorded on the event with the shortfall it overrode."""
    problems: list[FieldProblem] = []
    marking = a.row.protective_marking
    if owner is not None and (
        p := capacity.owner_problem(a.session, username=owner, hub=hub, marking=marking)
    ):
        problems.append(p)
    if team:
        if (p := capacity.team_problem(a.session, hub=hub, team=team)) is not None:
            problems.append(p)
    elif team is None and keep_team and capacity.team_problem(a.session, hub=hub, team=keep_team) is None:
        team = keep_team
    short_problem, short = capacity.capacity_problem(a.session, hub=hub, capabilities=a.row.capabilities)
    if short_problem is not None and not a.inp.override:
        problems.append(short_problem)
    if problems:
        raise InvalidInput(problems)
    if short:
        a.change.payload["capacity_override"] = {
            "hub": hub,
            "short": [{"capability": r.capability, "capacity": r.capacity, "load": r.load} for r in short],
        }
    return team or None


def transfer(a: Acting) -> None:
    """Move a tasked case to another active hub: owner and team of the new hub, its room, and the open
    escalations (the hub's supervisors handle them) with it."""
    to, was = a.inp.hub, a.row.hub
    assert to is not None  # the trigger needs it
    owner_name = a.inp.owner or a.row.owner
    found = a.session.connection().execute(_ACTIVE_HUB_AND_USER, {"p_code": to, "p_name": owner_name})
    hub, owner = found.one()
    problems: list[FieldProblem] = []
    if hub is None:
        problems.append(FieldProblem("hub", f"unknown or inactive hub {to!r}"))
    elif to == was:
        problems.append(FieldProblem("hub", f"the case is already with {to}"))
    if a.inp.owner is not None and owner is None:
        problems.append(FieldProblem("owner", f"unknown or inactive user {a.inp.owner!r}"))
    if problems:
        raise InvalidInput(problems)
    try:
        team = placed(a, hub=to, owner=owner_name, team=a.inp.team, keep_team=None)
    except InvalidInput as exc:
        if a.inp.owner is not None:
            raise
        # The owner it had may not follow it: say how to put that right.
        raise InvalidInput(
            [
                FieldProblem(p.field, f"{p.message}; choose an owner of {to}") if p.field == "owner" else p
                for p in exc.problems
            ]
        ) from None
    a.change.changes.update(hub=to, owner=owner_name, team=team)
    a.change.payload.update(from_hub=was, to_hub=to, previous_owner=a.row.owner)
    case_id = a.row.id

    def move_escalations(session: Session, _event_id: int) -> None:
        session.connection().execute(
            update(ESCALATION)
            .where(ESCALATION.c.case_id == case_id, ESCALATION.c.status != EscalationStatus.RESOLVED)
            .values(hub=to)
        )

    a.change.after.append(move_escalations)


def review(a: Acting) -> None:
    if _passed(a.row.review_due_at, a.at):
        a.change.resolves = ("review",)  # the review ends its missed-review escalation


def close(a: Acting) -> None:
    a.change.changes["outcome"] = a.inp.outcome


def await_information(a: Acting) -> None:
    a.change.changes.update(clocks.pause(now=a.at, reason=a.inp.reason or ""))


def information_received(a: Acting) -> None:
    a.change.changes.update(clocks.resume(a.row.as_dict(), now=a.at, calendar=calendar_for()))


def defer(a: Acting) -> None:
    a.change.changes.update(deferred_at=a.at, deferred_reason=a.inp.reason)


def retain(a: Acting) -> None:
    """A records officer keeps an ended case: the decision, and its next review date."""
    nxt = a.inp.next_review
    if nxt is None or retention.start_of(nxt) <= a.at:
        raise InvalidInput([FieldProblem("next_review", "the next review date must be in the future")])
    due = retention.start_of(nxt)
    decision = retention.record_decision(
        a.session.connection(),
        case_id=a.row.id,
        decision=retention.RETAIN,
        reason=a.inp.reason,
        by=a.by.username,
        at=a.at,
        event_seq=a.row.event_seq + 1,
        group=a.row.retention_group,
        next_review_at=due,
    )
    a.change.changes["retention_review_at"] = due
    a.change.payload["decision"] = decision  # (the next review is on the event already: it is the input)


def dispose(a: Acting) -> None:
    """A records officer disposes of an ended case: the decision first, then its history redacted
    under it (workflow/redaction.py) and its personal columns blanked, all in this transaction."""
    schedule = retention.schedule()
    seq = a.row.event_seq + 1
    decision = retention.record_decision(
        a.session.connection(),
        case_id=a.row.id,
        decision=retention.DISPOSE,
        reason=a.inp.reason,
        by=a.by.username,
        at=a.at,
        event_seq=seq,
        group=a.row.retention_group,
    )
    declared, blobs, write = redaction.redact_events(
        a.session,
        case_id=a.row.id,
        decision_id=decision,
        paths=schedule.redact_paths,
        before_seq=seq,
        reasons=schedule.redact_reasons,
    )
    a.change.payload.update(decision=decision, schedule=schedule.version, redacted=declared, blobs=blobs)
    a.change.changes.update({c: redaction.REDACTED for c in schedule.redact_columns if a.row[c]})
    a.change.changes.update(disposed_at=a.at, retention_review_at=None)
    a.change.after.append(lambda _session, _event_id: write())
    if ("assessment", "rationale") in schedule.redact_paths:  # the assessments' copy of the rationale
        a.change.after.append(_redact_rationales(a.row.id))


def _redact_rationales(case_id: int) -> AfterEvent:
    def write(session: Session, _event_id: int) -> None:
        session.connection().execute(
            update(ASSESSMENT)
            .where(ASSESSMENT.c.case_id == case_id, ASSESSMENT.c.rationale.is_not(None))
            .values(rationale=redaction.REDACTED)
        )

    return write


def leaving_a_stage(a: Acting) -> None:
    """What every change of state does, whichever trigger causes it."""
    row, change = a.row, a.change
    if change.to_state in TERMINAL:  # ended: due for a retention review after its group's period
        ended = {**row.as_dict(), **change.changes, "state": change.to_state}
        change.changes.update(retention.on_ending(ended, ended_at=a.at))
    if _passed(row.sla_due_at, a.at):
        change.resolves = (*change.resolves, "sla")  # leaving a stage ends its breached-SLA escalation
    if row.deferred_at is not None:  # decided at last (prioritised, tasked, withdrawn ...)
        change.changes.update(deferred_at=None, deferred_reason=None)
