"""Service functions: the only way cases change. Each call is one transaction and owns its commit.

Every change to a case, whoever causes it (a person firing a trigger, a timer, a supervisor handling an
escalation), goes through `write_change`: a compare-and-set on (id, version) with the new values, one
hash-chained event, its outbox row, and the case's timers re-planned — all or nothing. The hot path uses
SQLAlchemy Core: the ORM's unit of work costs more than the database does here (bench/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlmodel import Session
from transitions import MachineError

from workflow import clocks, ladders
from workflow import rulebook as rb
from workflow.calendar import Calendar, calendar_for
from workflow.chain import GENESIS, event_hash
from workflow.db import utcnow
from workflow.errors import (
    Conflict,
    FieldProblem,
    GuardFailed,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleVersion,
)
from workflow.facts import facts_of
from workflow.lifecycle import MACHINE, ROUTABLE, TERMINAL, TRIGGERS, State, Transit, legal_triggers
from workflow.schemas import TRIGGER_FIELDS, CaseRequest, TransitionInput, parse
from workflow.tables import ASSESSMENT, CASE, DECISION, ESCALATION, EVENT, HUB, OUTBOX, TIMER, UNIT, USER
from workflow.timer_rows import add_timers

# Who is told of each trigger by default (roles; notifications/ turns them into people and channels).
NOTIFY: dict[str, list[str]] = {
    "submit": ["requester"],
    "assess": ["requester"],
    "task": ["owner", "requester"],
    "close": ["requester", "hub_supervisor"],
    "reject": ["requester"],
    "await_information": ["requester"],
    "defer": ["requester"],
}

AfterEvent = Callable[[Session, int], None]

# Hot-path statements, built once: building a statement costs more than SQLite takes to run it, and a
# fixed statement hits SQLAlchemy's compiled cache every time (see bench/lifecycle.py).
_SELECT_CASE = select(CASE).where(CASE.c.id == bindparam("p_id"))
_KEPT = ("id", "reference", "created_by", "created_at")  # never change after submission
_CAS_COLUMNS = [c.name for c in CASE.columns if c.name not in _KEPT]
# The compare-and-set writes every mutable column from the row it read: the version check makes that
# safe (nothing else can have changed), and one fixed statement beats one shaped per change.
_CAS = (
    update(CASE)
    .where(CASE.c.id == bindparam("p_id"), CASE.c.version == bindparam("p_expected"))
    .values({name: bindparam(f"v_{name}") for name in _CAS_COLUMNS})
)
_INSERT_EVENT = insert(EVENT).returning(EVENT.c.id)
_INSERT_CASE = insert(CASE).returning(CASE.c.id)
_SET_REFERENCE = update(CASE).where(CASE.c.id == bindparam("p_id")).values(reference=bindparam("p_ref"))
_INSERT_DECISION = insert(DECISION)
_INSERT_ASSESSMENT = insert(ASSESSMENT)
_LAST_ASSESSMENT_SEQ = select(func.max(ASSESSMENT.c.seq)).where(ASSESSMENT.c.case_id == bindparam("p_case"))
_UNIT_KIND = select(UNIT.c.kind).where(UNIT.c.code == bindparam("p_code"), UNIT.c.active.is_(True))
_ACTIVE_HUB = select(HUB.c.code).where(HUB.c.code == bindparam("p_code"), HUB.c.active.is_(True))
_ACTIVE_USER = select(USER.c.username).where(USER.c.username == bindparam("p_name"), USER.c.active.is_(True))
_INSERT_OUTBOX = insert(OUTBOX)
_CANCEL_CLOCK_TIMERS = (
    update(TIMER)
    .where(
        TIMER.c.case_id == bindparam("p_case"),
        TIMER.c.status == "pending",
        TIMER.c.kind.in_(clocks.CLOCK_TIMERS),
    )
    .values(status="cancelled", settled_at=bindparam("p_at"))
)


@dataclass(frozen=True)
class Fired:
    """What one successful call changed (the case itself is re-read by whoever needs all of it)."""

    case_id: int
    reference: str
    trigger: str
    from_state: str | None
    to_state: str
    version: int
    event_seq: int


@dataclass
class Change:
    """One event's worth of change: new column values, the event's record, and rows that follow it."""

    trigger: str
    to_state: str
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    after: list[AfterEvent] = field(default_factory=list)
    # Escalations of these sources end with this change (e.g. a review ends a missed-review escalation).
    resolves: tuple[str, ...] = ()


def reference_for(case_id: int, created_at: datetime) -> str:
    return f"SCT-{created_at.year}-{case_id:06d}"


def case_facts(case: Mapping[Any, Any], unit_kind: str) -> dict[str, Any]:
    """The rule facts a case carries before any scoring."""
    return {
        "unit": case["requesting_unit"],
        "unit_kind": unit_kind,
        "themes": list(case["themes"]),
        "capabilities": list(case["capabilities"]),
        "target_type": case["target_type"],
        "marking": case["protective_marking"],
        "tags": list(case["tags"]),
        "stage": case["state"],
    }


def _unit_kind(session: Session, code: str) -> str | None:
    """The kind (bcu, specialist) of an active unit, or None if there is no such active unit."""
    kind = session.connection().execute(_UNIT_KIND, {"p_code": code}).scalar_one_or_none()
    return str(kind) if kind is not None else None


def _event_row(
    *,
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: dict[str, Any],
    at: datetime,
    prev_hash: str,
) -> dict[str, Any]:
    """The event's column values, hash included (computed before any write, so the CAS can store it)."""
    fields: dict[str, Any] = dict(
        case_id=case_id,
        seq=seq,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        payload=payload,
        created_at=at,
        prev_hash=prev_hash,
    )
    return {**fields, "hash": event_hash(**fields), **facts_of(trigger, payload)}


def load_case(session: Session, case_id: int) -> RowMapping:
    row = session.connection().execute(_SELECT_CASE, {"p_id": case_id}).mappings().first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def _insert_event(session: Session, event: dict[str, Any]) -> int:
    conn = session.connection()
    event_id = conn.execute(_INSERT_EVENT, event).scalar_one()
    conn.execute(
        _INSERT_OUTBOX, {"event_id": event_id, "case_id": event["case_id"], "created_at": event["created_at"]}
    )
    return int(event_id)


def cancel_timers(
    session: Session, *, case_id: int, at: datetime, kinds: tuple[str, ...] | None = None
) -> None:
    if kinds == clocks.CLOCK_TIMERS:
        session.connection().execute(_CANCEL_CLOCK_TIMERS, {"p_case": case_id, "p_at": at})
        return
    query = update(TIMER).where(TIMER.c.case_id == case_id, TIMER.c.status == "pending")
    if kinds is not None:
        query = query.where(TIMER.c.kind.in_(kinds))
    session.execute(query.values(status="cancelled", settled_at=at))


def resolve_escalations(
    session: Session, *, case_id: int, at: datetime, note: str, sources: tuple[str, ...] | None = None
) -> None:
    """End open escalations that the change made moot, and stop their ladders."""
    open_ids = select(ESCALATION.c.id).where(
        ESCALATION.c.case_id == case_id, ESCALATION.c.status != "resolved"
    )
    if sources is not None:
        open_ids = open_ids.where(ESCALATION.c.source.in_(sources))
    ids = list(session.execute(open_ids).scalars())
    if not ids:
        return
    session.execute(
        update(TIMER)
        .where(TIMER.c.escalation_id.in_(ids), TIMER.c.status == "pending")
        .values(status="cancelled", settled_at=at)
    )
    session.execute(
        update(ESCALATION)
        .where(ESCALATION.c.id.in_(ids))
        .values(status="resolved", resolved_by="system", resolved_at=at, note=note)
    )


def write_change(
    session: Session,
    *,
    row: RowMapping,
    change: Change,
    actor: str,
    at: datetime,
    calendar: Calendar | None = None,
) -> Fired:
    """Write one change inside the caller's transaction (the caller commits or rolls back).

    The compare-and-set comes first: a racer that lost finds 0 rows here (after waiting for the winner's
    row lock on PostgreSQL, or the write lock on SQLite) instead of colliding on the (case_id, seq) key.
    """
    changes = dict(change.changes)
    after = {**row, **changes, "state": change.to_state}
    terminal = change.to_state in TERMINAL
    replan = clocks.replans(trigger=change.trigger, state_before=row["state"], state_after=change.to_state)
    plan = None
    if replan:
        plan = clocks.plan(
            case=after,
            before=row,
            trigger=change.trigger,
            policy=after["policy"] or {},
            now=at,
            calendar=calendar or calendar_for(),
        )
        changes.update(plan.changes)
    seq = row["event_seq"] + 1
    payload = dict(change.payload)
    if change.trigger in NOTIFY and "notify" not in payload:
        payload["notify"] = NOTIFY[change.trigger]
    event = _event_row(
        case_id=row["id"],
        seq=seq,
        trigger=change.trigger,
        from_state=row["state"],
        to_state=change.to_state,
        actor=actor,
        reason=change.reason,
        payload=payload,
        at=at,
        prev_hash=row["last_event_hash"],
    )
    new = {
        **row,
        **changes,
        "state": change.to_state,
        "version": row["version"] + 1,
        "event_seq": seq,
        "last_event_hash": event["hash"],
        "updated_at": at,
    }
    params = {f"v_{name}": new[name] for name in _CAS_COLUMNS}
    result = session.connection().execute(_CAS, {"p_id": row["id"], "p_expected": row["version"], **params})
    if result.rowcount != 1:
        current = session.execute(select(CASE.c.version, CASE.c.state).where(CASE.c.id == row["id"])).one()
        raise Conflict(row["reference"], current.version, current.state)
    event_id = _insert_event(session, event)
    had_clock = row["sla_due_at"] is not None or row["review_due_at"] is not None
    if terminal:
        cancel_timers(session, case_id=row["id"], at=at)
        resolve_escalations(session, case_id=row["id"], at=at, note=f"case {change.to_state}")
    else:
        if plan is not None:
            if had_clock:
                cancel_timers(session, case_id=row["id"], at=at, kinds=clocks.CLOCK_TIMERS)
            version = after["ruleset_version"]
            add_timers(session, case_id=row["id"], specs=plan.timers, ruleset_version=version)
        if change.resolves:
            note = f"ended by {change.trigger}"
            resolve_escalations(session, case_id=row["id"], at=at, note=note, sources=change.resolves)
    for follow in change.after:
        follow(session, event_id)
    return Fired(
        row["id"], row["reference"], change.trigger, row["state"], change.to_state, row["version"] + 1, seq
    )


def submit_case(
    session: Session,
    *,
    request: Mapping[str, Any] | CaseRequest,
    actor: str,
    now: datetime | None = None,
    rules: rb.Rulebook | None = None,
) -> Fired:
    """Record a new request, route it by the rules, start its assessment clock and history (story 1)."""
    req = request if isinstance(request, CaseRequest) else parse(CaseRequest, request)
    rules = rules or rb.active_rulebook(session)
    problems = rules.vocabulary_problems(
        target_type=req.target_type, themes=req.themes, capabilities=req.capabilities
    )
    unit_kind = _unit_kind(session, req.requesting_unit)
    if unit_kind is None:
        problems.insert(
            0, FieldProblem("requesting_unit", f"unknown or inactive unit {req.requesting_unit!r}")
        )
    if problems:
        raise InvalidInput(problems)
    assert unit_kind is not None
    at = now or utcnow()
    values = req.model_dump()
    values["themes"] = sorted(set(req.themes))
    values["capabilities"] = sorted(set(req.capabilities))
    decided = rules.decide(case_facts({**values, "state": State.SUBMITTED.value}, unit_kind))
    try:
        conn = session.connection()
        case_id = conn.execute(
            _INSERT_CASE,
            {
                **values,
                "state": State.SUBMITTED.value,
                "version": 0,
                "hub": decided.hub,
                "team": decided.team,
                "escalation_level": 0,
                "ruleset_version": decided.ruleset_version,
                "policy": decided.policy,
                "created_by": actor,
                "created_at": at,
                "updated_at": at,
                "event_seq": 0,
                "last_event_hash": GENESIS,
            },
        ).scalar_one()
        reference = reference_for(case_id, at)
        conn.execute(_SET_REFERENCE, {"p_id": case_id, "p_ref": reference})
        # The submission is the case's first event, written like every other change (version 0 -> 1).
        row = load_case(session, case_id)
        change = Change(
            trigger="submit",
            to_state=State.SUBMITTED.value,
            payload={"request": values, "decisions": decided.payload},
            after=[decision_writer(case_id, 1, decided, at)],
        )
        fired = write_change(session, row=_as_before_submit(row), change=change, actor=actor, at=at)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return fired


def _as_before_submit(row: RowMapping) -> Any:
    """The inserted row as the clock planner should see it: a case with no stage yet."""
    return {**row, "state": None}


def decision_writer(case_id: int, event_seq: int, decided: rb.Decided, at: datetime) -> AfterEvent:
    def write(session: Session, _event_id: int) -> None:
        session.connection().execute(
            _INSERT_DECISION,
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


def _check_fields(trigger: str, data: Mapping[str, Any]) -> None:
    allowed = TRIGGER_FIELDS[trigger]
    extra = sorted(k for k in data if k not in allowed)
    if extra:
        raise InvalidInput(
            [
                FieldProblem(k, f"not used by {trigger} (it takes: {', '.join(sorted(allowed))})")
                for k in extra
            ]
        )


def fire(
    session: Session,
    *,
    case_id: int,
    trigger: str,
    actor: str,
    expected_version: int | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    rules: rb.Rulebook | None = None,
) -> Fired:
    """Fire a person's `trigger` on a case in one transaction, or raise a typed error and write nothing."""
    try:
        # On SQLite this read takes no lock (pysqlite begins at the first write); on PostgreSQL it runs
        # at READ COMMITTED: either way a racer is caught by the compare-and-set, not by this read.
        row = load_case(session, case_id)
        state, version = row["state"], row["version"]
        if expected_version is not None and expected_version != version:
            raise StaleVersion(row["reference"], expected_version, version, state)
        if trigger not in TRIGGERS:
            raise IllegalTransition(trigger, state, legal_triggers(state))
        raw = dict(data or {})
        _check_fields(trigger, raw)
        inp = parse(TransitionInput, raw)
        given = inp.model_dump(exclude_defaults=True)
        transit = Transit(state=state, case=row, data=given)
        try:
            moved = MACHINE.events[trigger].trigger(transit)
        except MachineError:
            raise IllegalTransition(trigger, state, legal_triggers(state)) from None
        if not moved:
            raise GuardFailed(trigger, transit.problems)
        at = now or utcnow()
        change = _change_for(
            session,
            trigger=trigger,
            row=row,
            inp=inp,
            to_state=transit.state,
            actor=actor,
            at=at,
            rules=rules,
        )
        change.payload.update({k: v for k, v in given.items() if k not in ("reason", "assessment")})
        fired = write_change(session, row=row, change=change, actor=actor, at=at)
        session.commit()
        return fired
    except BaseException:
        session.rollback()
        raise


def _change_for(
    session: Session,
    *,
    trigger: str,
    row: RowMapping,
    inp: TransitionInput,
    to_state: str,
    actor: str,
    at: datetime,
    rules: rb.Rulebook | None,
) -> Change:
    """What a person's trigger changes on the case, beyond the state."""
    change = Change(trigger=trigger, to_state=to_state, reason=inp.reason)
    if inp.assessment is not None:
        _assessment_change(session, change=change, row=row, inp=inp, actor=actor, at=at, rules=rules)
    if trigger == "task":
        change.changes.update(_task_changes(session, row=row, inp=inp))
    elif trigger == "close":
        change.changes["outcome"] = inp.outcome
    elif trigger == "review" and _passed(row["review_due_at"], at):
        change.resolves = ("review",)  # the review ends its missed-review escalation
    elif trigger == "await_information":
        change.changes.update(clocks.pause(row, now=at, reason=inp.reason or ""))
    elif trigger == "information_received":
        change.changes.update(clocks.resume(row, now=at, calendar=calendar_for()))
    elif trigger == "defer":
        change.changes.update(deferred_at=at, deferred_reason=inp.reason)
    if to_state != row["state"]:
        if _passed(row["sla_due_at"], at):
            change.resolves = (*change.resolves, "sla")  # leaving a stage ends its breached-SLA escalation
        if row["deferred_at"] is not None:  # decided at last (prioritised, tasked, withdrawn ...)
            change.changes.update(deferred_at=None, deferred_reason=None)
    return change


def _passed(due: datetime | None, at: datetime) -> bool:
    """Whether a due moment has come (only then can a timer have raised an escalation for it)."""
    return due is not None and due <= at


def _task_changes(session: Session, *, row: RowMapping, inp: TransitionInput) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    hub_code = inp.hub or row["hub"]
    conn = session.connection()
    if conn.execute(_ACTIVE_HUB, {"p_code": hub_code}).first() is None:
        problems.append(FieldProblem("hub", f"unknown or inactive hub {hub_code!r}"))
    if conn.execute(_ACTIVE_USER, {"p_name": inp.owner}).first() is None:
        problems.append(FieldProblem("owner", f"unknown or inactive user {inp.owner!r}"))
    if problems:
        raise InvalidInput(problems)
    return {"hub": hub_code, "owner": inp.owner, "team": inp.team if inp.team is not None else row["team"]}


def _assessment_change(
    session: Session,
    *,
    change: Change,
    row: RowMapping,
    inp: TransitionInput,
    actor: str,
    at: datetime,
    rules: rb.Rulebook | None,
) -> None:
    """Score the assessment, ask the rules, and record both: the assessment row is appended, never edited."""
    rules = rules or rb.active_rulebook(session)
    assert inp.assessment is not None
    score = rules.score(inp.assessment)
    previous = row["band"]
    if previous and rules.is_downgrade(previous, score.band) and not inp.rationale:
        raise InvalidInput(
            [FieldProblem("rationale", f"the band falls from {previous} to {score.band}: record why")]
        )
    unit_kind = _unit_kind(session, row["requesting_unit"])
    last_seq = session.connection().execute(_LAST_ASSESSMENT_SEQ, {"p_case": row["id"]}).scalar_one_or_none()
    decided = rules.decide({**case_facts(row, unit_kind or "bcu"), **score.facts})
    change.changes.update(
        band=score.band,
        risk=score.risk,
        escalation_level=decided.escalation_level,
        ruleset_version=decided.ruleset_version,
        policy=decided.policy,
    )
    if row["state"] in ROUTABLE:
        change.changes.update(hub=decided.hub, team=decided.team)
    change.payload.update(
        assessment={"inputs": inp.assessment, "score": score.payload}, decisions=decided.payload
    )
    event_seq = row["event_seq"] + 1

    def write_rows(session: Session, _event_id: int) -> None:
        session.connection().execute(
            _INSERT_ASSESSMENT,
            {
                "case_id": row["id"],
                "seq": (last_seq or 0) + 1,
                "event_seq": event_seq,
                "matrix_id": score.matrix_id,
                "matrix_version": score.matrix_version,
                "inputs": inp.assessment,
                "result": score.payload,
                "band": score.band,
                "risk": score.risk,
                "harm_total": score.harm_total,
                "likelihood_total": score.likelihood_total,
                "confidence": score.confidence,
                "org_grade": score.org_grade,
                "floor_applied": score.facts["harm_floor"],
                "response_level": score.facts["response_level"],
                "rationale": inp.rationale,
                "assessor": actor,
                "created_at": at,
            },
        )

    change.after.append(write_rows)
    change.after.append(decision_writer(row["id"], event_seq, decided, at))
    if decided.escalation is not None:
        raised = ladders.rule_escalation_if_new(session, row=row, decided=decided, at=at, event_seq=event_seq)
        if raised is not None:
            change.payload["escalation"] = raised.summary
            change.payload["notify"] = [raised.summary["notify"]]
            change.after.append(raised.write)
