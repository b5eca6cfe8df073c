"""Service functions: the only way cases change. Each call is one transaction and owns its commit.

Every service call takes the acting principal (`by`: a person, or a named system principal for timers,
the worker and the operator's CLI) and checks, itself, that they may see the case, hold a role the
trigger grants and a clearance for its marking, and that the move is legal: routes, pages and the CLI
repeat none of it. Each refusal of a person's standing is logged (`workflow.refusals`).

Every change to a case, whoever causes it (a person firing a trigger, a timer, a supervisor handling an
escalation), goes through `write_change`: a compare-and-set on (id, version) with the new values, one
hash-chained event (its outbox row written by the database's own trigger), and the case's timers
re-planned — all or nothing. The hot path runs fixed statements on the driver's cursor
(`workflow.prepared`): SQLAlchemy's per-call machinery costs more than the database does here. A
call returns what it wrote (`Written`: the case as it now is), so callers need not read it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlmodel import Session
from transitions import MachineError

from workflow import access, clocks, effects, observe, refusals, subjects, triggers
from workflow import rulebook as rb
from workflow.calendar import Calendar, calendar_for
from workflow.chain import GENESIS, event_hash, payload_digest
from workflow.change import AfterEvent as AfterEvent
from workflow.change import CaseRecord, Written
from workflow.change import Change as Change
from workflow.db import utcnow
from workflow.deconfliction import index as deconfliction
from workflow.effects import decision_writer as decision_writer
from workflow.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    GuardFailed,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    StaleVersion,
)
from workflow.facts import facts_of
from workflow.lifecycle import (
    TERMINAL,
    TRIGGER_FIELDS,
    State,
    Transit,
    legal_triggers,
    machine,
    scoring_trigger,
)
from workflow.prepared import Prepared
from workflow.principals import Principal
from workflow.reference import unit_is_active
from workflow.schemas import CaseRequest, TransitionInput, parse
from workflow.statuses import EscalationStatus, TimerStatus
from workflow.tables import CASE, ESCALATION, EVENT, TIMER
from workflow.timer_rows import add_timers

# What callers called the result before it carried the whole case.
Fired = Written

# Hot-path statements, compiled once per dialect and run on the driver's cursor (workflow.prepared): the
# SQL and stored values are SQLAlchemy's, without its per-execution cost (bench/lifecycle.py).
_SELECT_CASE = Prepared(select(CASE).where(CASE.c.id == bindparam("p_id")))
# Never change after submission. (The reference is written by the submission's own compare-and-set, so it
# is among the columns the CAS writes: one statement fewer than setting it apart.)
_KEPT = ("id", "created_by", "created_at")
_CAS_COLUMNS = [c.name for c in CASE.columns if c.name not in _KEPT]
# The compare-and-set writes the columns the change changed (the version check makes the rest safe:
# nothing else can have changed them). Each set of columns is one prepared statement; a lifecycle
# meets a dozen or so, and past _CAS_SHAPES the statement writes every mutable column instead.
_ALWAYS = ("state", "version", "event_seq", "last_event_hash", "updated_at")
_CAS_SHAPES = 64
_cas_by_columns: dict[frozenset[str], Prepared] = {}


def _cas(columns: frozenset[str]) -> tuple[Prepared, frozenset[str]]:
    """The compare-and-set writing `columns` (or, past _CAS_SHAPES of them, every mutable column)."""
    if columns not in _cas_by_columns and len(_cas_by_columns) >= _CAS_SHAPES:
        columns = frozenset(_CAS_COLUMNS)
    found = _cas_by_columns.get(columns)
    if found is None:
        found = _cas_by_columns[columns] = Prepared(
            update(CASE)
            .where(CASE.c.id == bindparam("p_id"), CASE.c.version == bindparam("p_expected"))
            .values({name: bindparam(f"v_{name}") for name in _CAS_COLUMNS if name in columns})
        )
    return found, columns


_INSERT_EVENT = Prepared(insert(EVENT).returning(EVENT.c.id))
_INSERT_CASE = insert(CASE).returning(CASE.c.id)
_CANCEL_CLOCK_TIMERS = Prepared(
    update(TIMER)
    .where(
        TIMER.c.case_id == bindparam("p_case"),
        TIMER.c.status == TimerStatus.PENDING,
        # Spelt out, not IN (...): a prepared statement's SQL cannot depend on a list's length.
        or_(*(TIMER.c.kind == kind for kind in clocks.CLOCK_TIMERS)),
    )
    .values(status=TimerStatus.CANCELLED, settled_at=bindparam("p_at"))
)


def reference_for(case_id: int, created_at: datetime) -> str:
    return f"SCT-{created_at.year}-{case_id:06d}"


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
    digest = payload_digest(payload, reason=reason)
    return {
        **fields,
        "payload_digest": digest,
        "hash": event_hash(**fields, digest=digest),
        **facts_of(trigger, payload),
    }


def load_case(session: Session, case_id: int) -> CaseRecord:
    row = _SELECT_CASE.first(session, {"p_id": case_id})
    if row is None:
        raise NotFound(f"no case {case_id}")
    return CaseRecord.of(row)


def _insert_event(session: Session, event: dict[str, Any]) -> int:
    # Its outbox row is written by the database, in the same statement (migration 0011's trigger).
    return int(_INSERT_EVENT.scalar(session, event))


def cancel_timers(session: Session, *, case_id: int, at: datetime, clocks_only: bool = False) -> None:
    """Cancel the case's pending timers: all of them, or (`clocks_only`) those of its clocks."""
    if clocks_only:
        _CANCEL_CLOCK_TIMERS.rowcount(session, {"p_case": case_id, "p_at": at})
        return
    session.execute(
        update(TIMER)
        .where(TIMER.c.case_id == case_id, TIMER.c.status == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED, settled_at=at)
    )


def resolve_escalations(
    session: Session, *, case_id: int, at: datetime, note: str, sources: tuple[str, ...] | None = None
) -> None:
    """End open escalations that the change made moot, and stop their ladders."""
    open_ids = select(ESCALATION.c.id).where(
        ESCALATION.c.case_id == case_id, ESCALATION.c.status != EscalationStatus.RESOLVED
    )
    if sources is not None:
        open_ids = open_ids.where(ESCALATION.c.source.in_(sources))
    ids = list(session.execute(open_ids).scalars())
    if not ids:
        return
    session.execute(
        update(TIMER)
        .where(TIMER.c.escalation_id.in_(ids), TIMER.c.status == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED, settled_at=at)
    )
    session.execute(
        update(ESCALATION)
        .where(ESCALATION.c.id.in_(ids))
        .values(status=EscalationStatus.RESOLVED, resolved_by="system", resolved_at=at, note=note)
    )


def write_change(
    session: Session,
    *,
    row: CaseRecord | Mapping[str, Any],
    change: Change,
    actor: str,
    at: datetime,
    calendar: Calendar | None = None,
) -> Written:
    """Write one change inside the caller's transaction (the caller commits or rolls back).

    The compare-and-set comes first: a racer that lost finds 0 rows here (after waiting for the winner's
    row lock on PostgreSQL, or the write lock on SQLite) instead of colliding on the (case_id, seq) key.
    """
    # Read only: every value below is a new mapping built from it.
    before: Mapping[str, Any] = row.as_dict() if isinstance(row, CaseRecord) else row
    changes = dict(change.changes)
    after = {**before, **changes, "state": change.to_state}
    terminal = change.to_state in TERMINAL
    replan = clocks.replans(clock=change.clock, state_before=before["state"], state_after=change.to_state)
    plan = None
    if replan:
        plan = clocks.plan(
            case=after,
            before=before,
            clock=change.clock,
            policy=after["policy"] or {},
            now=at,
            calendar=calendar or calendar_for(),
        )
        changes.update(plan.changes)
    seq = before["event_seq"] + 1
    payload = dict(change.payload)
    if change.notify and "notify" not in payload:
        payload["notify"] = list(change.notify)
    event = _event_row(
        case_id=before["id"],
        seq=seq,
        trigger=change.trigger,
        from_state=before["state"],
        to_state=change.to_state,
        actor=actor,
        reason=change.reason,
        payload=payload,
        at=at,
        prev_hash=before["last_event_hash"],
    )
    new = {
        **before,
        **changes,
        "state": change.to_state,
        "version": before["version"] + 1,
        "event_seq": seq,
        "last_event_hash": event["hash"],
        "updated_at": at,
    }
    columns = frozenset(_ALWAYS).union(k for k in changes if k not in _KEPT and changes[k] != before[k])
    cas, columns = _cas(columns)
    params = {f"v_{name}": new[name] for name in columns}
    if cas.rowcount(session, {"p_id": before["id"], "p_expected": before["version"], **params}) != 1:
        current = session.execute(select(CASE.c.version, CASE.c.state).where(CASE.c.id == before["id"])).one()
        raise Conflict(new["reference"], current.version, current.state)
    event_id = _insert_event(session, event)
    had_clock = before["sla_due_at"] is not None or before["review_due_at"] is not None
    if terminal:
        cancel_timers(session, case_id=before["id"], at=at)
        resolve_escalations(session, case_id=before["id"], at=at, note=f"case {change.to_state}")
    else:
        if plan is not None:
            if had_clock:
                cancel_timers(session, case_id=before["id"], at=at, clocks_only=True)
            version = after["ruleset_version"]
            add_timers(session, case_id=before["id"], specs=plan.timers, ruleset_version=version)
        if change.resolves:
            note = f"ended by {change.trigger}"
            resolve_escalations(session, case_id=before["id"], at=at, note=note, sources=change.resolves)
    for follow in change.after:
        follow(session, event_id)
    return Written(CaseRecord.of(new), change.trigger, before["state"], seq)


def _refused(session: Session, *, by: Principal, action: str, case_id: int | None, exc: DomainError) -> None:
    """Roll back what was under way and log the refusal in a transaction of its own."""
    session.rollback()
    refusals.record(session, who=by, action=action, case_id=case_id, exc=exc)


def _may_submit(by: Principal, unit: Any, marking: Any) -> None:
    """Checked before the request's shape: who may not submit at all hears that first."""
    if by.has("requester") and not by.is_system and unit != by.unit_code:
        raise Forbidden(
            f"requesters submit for their own unit ({by.unit_code or 'none set'}), not {unit}",
            needed=["requester"],
        )
    access.require(by, "submit", {"requesting_unit": unit})
    if marking in access.MARKINGS and not access.covers(by, marking):
        raise Forbidden(f"your clearance ({by.clearance}) does not cover {marking}")


def submit_case(
    session: Session,
    *,
    request: Mapping[str, Any] | CaseRequest,
    by: Principal,
    now: datetime | None = None,
    rules: rb.Rulebook | None = None,
) -> Written:
    """Record a new request, route it by the rules, start its assessment clock and history (story 1).
    A requester's request is for their own unit unless it names one."""
    raw = request.model_dump() if isinstance(request, CaseRequest) else dict(request)
    if raw.get("requesting_unit") in (None, "") and by.unit_code:
        raw["requesting_unit"] = by.unit_code
    try:
        _may_submit(by, raw.get("requesting_unit"), raw.get("protective_marking", "OFFICIAL"))
    except Forbidden as exc:
        _refused(session, by=by, action="submit", case_id=None, exc=exc)
        raise
    req = request if isinstance(request, CaseRequest) else parse(CaseRequest, raw)
    rules = rules or rb.active_rulebook(session)
    problems = rules.vocabulary_problems(
        target_type=req.target_type, themes=req.themes, capabilities=req.capabilities
    )
    if not unit_is_active(session, req.requesting_unit):
        problems.insert(
            0, FieldProblem("requesting_unit", f"unknown or inactive unit {req.requesting_unit!r}")
        )
    if problems:
        raise InvalidInput(problems)
    at = now or utcnow()
    values = req.model_dump()
    # Aliases and locations are no case columns: the event holds them (when given) and deconfliction
    # files them.
    extras = {k: values.pop(k) for k in deconfliction.EXTRA_FIELDS}
    values["themes"] = sorted(set(req.themes))
    values["capabilities"] = sorted(set(req.capabilities))
    decided = rules.decide(effects.case_facts({**values, "state": State.SUBMITTED.value}))
    spec = triggers.REGISTRY["submit"]
    try:
        conn = session.connection()
        inserted = {
            **values,
            "state": State.SUBMITTED.value,
            "version": 0,
            "hub": decided.hub,
            "team": decided.team,
            "escalation_level": 0,
            "ruleset_version": decided.ruleset_version,
            "policy": decided.policy,
            "created_by": by.username,
            "created_at": at,
            "updated_at": at,
            "event_seq": 0,
            "last_event_hash": GENESIS,
        }
        case_id = conn.execute(_INSERT_CASE, inserted).scalar_one()
        reference = reference_for(case_id, at)
        # The submission is the case's first event, written like every other change (version 0 -> 1),
        # from the row as inserted: the clock planner sees a case with no stage yet.
        row = {**_NEW_CASE_DEFAULTS, **inserted, "id": case_id, "reference": None, "state": None}
        request_record = {**values, **{k: v for k, v in extras.items() if v}}
        change = Change(
            trigger=spec.name,
            to_state=State.SUBMITTED.value,
            changes={"reference": reference},
            payload={"request": request_record, "decisions": decided.payload},
            after=[
                decision_writer(case_id, 1, decided, at),
                _subject_indexer(row),
                deconfliction.at_submission(case_id, request_record, at),
            ],
            clock=spec.clock,
            notify=spec.notify,
        )
        written = write_change(session, row=row, change=change, actor=by.username, at=at)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    observe.announce(observe.TRANSITION, {"trigger": spec.name})
    return written


def _subject_indexer(case: Mapping[str, Any]) -> AfterEvent:
    """Index the names a new case holds (workflow/subjects.py) in the submission's own transaction."""
    return lambda session, _event_id: subjects.index_case(session.connection(), case)


# Columns a new case starts with at their defaults (the insert names the rest).
_NEW_CASE_DEFAULTS: dict[str, Any] = {
    "owner": None,
    "band": None,
    "risk": None,
    "outcome": None,
    "sla_stage": None,
    "sla_started_at": None,
    "sla_target_seconds": None,
    "sla_working": False,
    "sla_paused_seconds": 0.0,
    "sla_due_at": None,
    "sla_breached": False,
    "awaiting_since": None,
    "awaiting_reason": None,
    "deferred_at": None,
    "deferred_reason": None,
    "review_cycle_started_at": None,
    "review_due_at": None,
    "review_overdue": False,
    "retention_group": None,
    "retention_review_at": None,
    "disposed_at": None,
}


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


def _standing(by: Principal, trigger: str, facts: Mapping[str, Any]) -> None:
    """May `by` fire `trigger` on this case at all? (Seeing it first: an unseen case does not exist.)"""
    if not access.can_see(by, facts):
        raise NotFound(f"no case {facts['id']}")
    if trigger in TRIGGER_FIELDS:
        access.require(by, trigger, facts)


def fire(
    session: Session,
    *,
    case_id: int,
    trigger: str,
    by: Principal,
    expected_version: int | None = None,
    require_version: bool = False,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    rules: rb.Rulebook | None = None,
) -> Written:
    """Fire a person's `trigger` on a case in one transaction, or raise a typed error and write nothing.

    Checked in this order, so each answer leaks nothing the caller may not know: the case is visible to
    them (else NotFound, as if it did not exist), they hold a role the trigger grants, the trigger
    exists, the version they acted on is current (`require_version`: they must name one), the trigger is
    legal from the state, its input and guards hold."""
    return _fire(
        session,
        case_id=case_id,
        pick=lambda _state: trigger,
        by=by,
        expected_version=expected_version,
        require_version=require_version,
        data=data,
        now=now,
        rules=rules,
    )


def score(
    session: Session,
    *,
    case_id: int,
    by: Principal,
    expected_version: int | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    rules: rb.Rulebook | None = None,
) -> Written:
    """Record a MoRiLE score: it assesses a submitted case and re-scores one already assessed."""
    return _fire(
        session,
        case_id=case_id,
        pick=scoring_trigger,
        by=by,
        expected_version=expected_version,
        require_version=False,
        data=data,
        now=now,
        rules=rules,
    )


def _fire(
    session: Session,
    *,
    case_id: int,
    pick: Callable[[str], str],
    by: Principal,
    expected_version: int | None,
    require_version: bool,
    data: Mapping[str, Any] | None,
    now: datetime | None,
    rules: rb.Rulebook | None,
) -> Written:
    try:
        # On SQLite this read takes no lock (pysqlite begins at the first write); on PostgreSQL it runs
        # at READ COMMITTED: either way a racer is caught by the compare-and-set, not by this read.
        found = _SELECT_CASE.first(session, {"p_id": case_id})
        if found is None:
            raise NotFound(f"no case {case_id}")
        row = CaseRecord.of(found)
        # The case's columns as one mapping, built once for the checks, the guards and the write.
        values = row.as_dict()
        trigger = pick(row.state)
        try:
            _standing(by, trigger, values)
        except (NotFound, Forbidden) as exc:
            _refused(session, by=by, action=f"fire:{trigger}", case_id=case_id, exc=exc)
            raise
        state, version = row.state, row.version
        if expected_version is None and require_version:
            raise PreconditionRequired.if_match()
        spec = triggers.spec(trigger)
        if spec is None or not spec.sources:
            raise IllegalTransition(trigger, state, legal_triggers(state))
        if expected_version is not None and expected_version != version:
            raise StaleVersion(row.reference, expected_version, version, state)
        raw = dict(data or {})
        _check_fields(trigger, raw)
        inp = parse(TransitionInput, raw)
        given = inp.model_dump(exclude_defaults=True)
        transit = Transit(state=state, case=values, data=given)
        try:
            moved = machine().events[trigger].trigger(transit)
        except MachineError:
            raise IllegalTransition(trigger, state, legal_triggers(state)) from None
        if not moved:
            raise GuardFailed(trigger, transit.problems)
        at = now or utcnow()
        change = Change(
            trigger=trigger,
            to_state=transit.state,
            reason=inp.reason,
            clock=spec.clock,
            notify=spec.notify,
        )
        acting = effects.Acting(
            session=session,
            row=row,
            inp=inp,
            change=change,
            by=by,
            at=at,
            rules=rules,
        )
        if spec.effect is not None:
            spec.effect(acting)
        if change.to_state != state:
            effects.leaving_a_stage(acting)
        recorded = inp.model_dump(mode="json", exclude_defaults=True)  # dates as text: payloads are JSON
        change.payload.update({k: v for k, v in recorded.items() if k not in ("reason", "assessment")})
        written = write_change(session, row=values, change=change, actor=by.username, at=at)
        session.commit()
        observe.announce(observe.TRANSITION, {"trigger": trigger})
        return written
    except BaseException:
        session.rollback()
        raise
