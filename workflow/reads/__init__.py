"""Reading cases through the access policy, with every read of a case written to the read log.

Each function that opens one case checks visibility in the same SELECT that finds it (so an invisible
case and a missing one are the same NotFound), and records the read with one INSERT committed in the
read's own transaction: no second round trip, no background queue that could lose it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, func, insert, or_, select
from sqlmodel import Session, col

from workflow import access, notes, refusals
from workflow.access import Principal
from workflow.db import utcnow
from workflow.deconfliction import need_to_know
from workflow.errors import BadCursor, FieldProblem, Forbidden, InvalidInput, NotFound
from workflow.lifecycle import TERMINAL, State, scoring_trigger
from workflow.models import Assessment, Case, CaseEvent, CaseRead, Decision, Escalation
from workflow.rulebook import active_rulebook
from workflow.tables import CASE, READ


@dataclass(frozen=True)
class CaseView:
    case: Case
    assessments: Sequence[Assessment]
    decisions: Sequence[Decision]


def _find(session: Session, who: Principal, case_id: int, what: str = "case") -> Case:
    case = session.execute(select(Case).where(CASE.c.id == case_id, access.visible(who))).scalars().first()
    if case is None:
        refused = NotFound(f"no case {case_id}")
        # A case that exists but is not theirs to see is a refused read, logged; the answer is the same.
        if session.execute(select(CASE.c.id).where(CASE.c.id == case_id)).first() is not None:
            session.rollback()
            refusals.record(session, who=who, action=f"read:{what}", case_id=case_id, exc=refused)
        raise refused
    return case


def _log(session: Session, who: Principal, case_id: int, what: str, now: datetime | None) -> None:
    session.execute(
        insert(READ).values(case_id=case_id, username=who.username, what=what, read_at=now or utcnow())
    )
    session.commit()


def visible_case(session: Session, *, who: Principal, case_id: int) -> Case:
    """The case if `who` may see it (not logged: for checks ahead of a write, which the event records)."""
    return _find(session, who, case_id)


def read_case(session: Session, *, who: Principal, case_id: int, now: datetime | None = None) -> CaseView:
    case = _find(session, who, case_id, "detail")
    view = CaseView(
        case=case,
        assessments=session.execute(
            select(Assessment).where(col(Assessment.case_id) == case_id).order_by(col(Assessment.seq))
        )
        .scalars()
        .all(),
        decisions=session.execute(
            select(Decision).where(col(Decision.case_id) == case_id).order_by(col(Decision.event_seq))
        )
        .scalars()
        .all(),
    )
    _log(session, who, case_id, "detail", now)
    return view


def read_events(
    session: Session, *, who: Principal, case_id: int, now: datetime | None = None
) -> Sequence[CaseEvent]:
    _find(session, who, case_id, "events")
    events = (
        session.execute(
            select(CaseEvent).where(col(CaseEvent.case_id) == case_id).order_by(col(CaseEvent.seq))
        )
        .scalars()
        .all()
    )
    # Notes and attachments above the reader's clearance show that they exist, not what they hold.
    shown = notes.masked_events(events, who)
    _log(session, who, case_id, "events", now)
    # A requester reads link decisions only as "the centre is co-ordinating this request".
    return need_to_know.shown_events(who, shown)


def read_assessments(
    session: Session, *, who: Principal, case_id: int, seq: int | None = None, now: datetime | None = None
) -> Sequence[Assessment]:
    _find(session, who, case_id, "assessments")
    query = select(Assessment).where(col(Assessment.case_id) == case_id)
    if seq is not None:
        query = query.where(col(Assessment.seq) == seq)
    rows = session.execute(query.order_by(col(Assessment.seq))).scalars().all()
    if seq is not None and not rows:
        raise NotFound(f"case {case_id} has no assessment {seq}")
    _log(session, who, case_id, "assessments", now)
    return rows


# -- searching the caseload -----------------------------------------------------------------------------

# Sort keys a list may use; each is paired with the id so the order is total and the cursor exact.
# A missing risk sorts as -1, below every score, so unscored cases come last in `-risk`.
SORTS: dict[str, Any] = {
    "created_at": CASE.c.created_at,
    "updated_at": CASE.c.updated_at,
    "risk": func.coalesce(CASE.c.risk, -1.0),
    "reference": CASE.c.id,
}
SORT_CHOICES = tuple(s for name in SORTS for s in (name, f"-{name}"))
STATE_VALUES = tuple(s.value for s in State)


@dataclass(frozen=True)
class Page:
    items: Sequence[Case]
    next_cursor: str | None


def _encode_cursor(sort: str, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, last_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor(
            [FieldProblem("cursor", "not a cursor this server made: use next_cursor as given")]
        ) from None
    if made_for != sort:
        raise BadCursor(
            [
                FieldProblem(
                    "cursor", f"made for sort={made_for}, not sort={sort}: keep the sort or start over"
                )
            ]
        )
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 < last_id < 2**31:
        raise BadCursor([FieldProblem("cursor", "damaged cursor: use next_cursor as given")])
    key = sort.lstrip("-")
    try:
        if key in ("created_at", "updated_at"):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
        elif key == "risk":
            if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1000:
                raise ValueError
            value = float(value)
        else:
            value = last_id
    except (TypeError, ValueError):
        raise BadCursor([FieldProblem("cursor", "damaged cursor: use next_cursor as given")]) from None
    return value, last_id


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, code: str) -> ColumnElement[bool]:
    """A JSON list column holding `code`. The lists hold vocabulary codes (letters, digits, _ . -), which
    the JSON text shows quoted, so the quoted code matches exactly that element on either database."""
    return cast(column, Text).like(_like(f'"{code}"'), escape="\\")


def _vocabulary_problem(name: str, value: str, known: Collection[str]) -> FieldProblem | None:
    if value in known:
        return None
    return FieldProblem(name, f"unknown {name} {value!r}; one of {', '.join(known)}")


def search_cases(
    session: Session,
    *,
    who: Principal,
    state: str | None = None,
    is_open: bool | None = None,
    hub: str | None = None,
    band: str | None = None,
    unit: str | None = None,
    owner: str | None = None,
    theme: str | None = None,
    capability: str | None = None,
    q: str | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """A page of the cases `who` may see, filtered and sorted in the database, keyset-paginated.

    `is_open` True keeps cases not yet closed, rejected or withdrawn (False: only those); `theme` and
    `capability` are codes of the active rules' vocabularies (an unknown one is refused, not ignored);
    `q` finds words in the reference, title, summary or target."""
    problems: list[FieldProblem] = []
    if sort not in SORTS and sort.lstrip("-") not in SORTS:
        problems.append(FieldProblem("sort", f"unknown sort {sort!r}; one of {', '.join(SORT_CHOICES)}"))
    if state is not None and state not in STATE_VALUES:
        problems.append(FieldProblem("state", f"unknown state {state!r}; one of {', '.join(STATE_VALUES)}"))
    if theme is not None or capability is not None:
        vocab = active_rulebook(session).ruleset
        for name, value, known in (
            ("theme", theme, vocab.themes),
            ("capability", capability, vocab.capabilities),
        ):
            if value is not None and (found := _vocabulary_problem(name, value, known)) is not None:
                problems.append(found)
    if problems:
        raise InvalidInput(problems)
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    expr = SORTS[key]
    where: list[ColumnElement[bool]] = [access.visible(who)]
    for column, wanted in (
        (CASE.c.state, state),
        (CASE.c.hub, hub),
        (CASE.c.band, band),
        (CASE.c.requesting_unit, unit),
        (CASE.c.owner, owner),
    ):
        if wanted is not None:
            where.append(column == wanted)
    if is_open is not None:
        terminal = CASE.c.state.in_(sorted(t.value for t in TERMINAL))
        where.append(~terminal if is_open else terminal)
    if theme is not None:
        where.append(_contains(CASE.c.themes, theme))
    if capability is not None:
        where.append(_contains(CASE.c.capabilities, capability))
    if q and q.strip():
        pattern = _like(q.strip())
        where.append(
            or_(
                CASE.c.reference.ilike(pattern, escape="\\"),
                CASE.c.title.ilike(pattern, escape="\\"),
                CASE.c.summary.ilike(pattern, escape="\\"),
                CASE.c.target_name.ilike(pattern, escape="\\"),
            )
        )
    if cursor:
        value, last_id = _decode_cursor(cursor, sort)
        if key == "reference":
            where.append(CASE.c.id < last_id if descending else CASE.c.id > last_id)
        elif descending:
            where.append(or_(expr < value, and_(expr == value, CASE.c.id < last_id)))
        else:
            where.append(or_(expr > value, and_(expr == value, CASE.c.id > last_id)))
    order = [expr.desc(), CASE.c.id.desc()] if descending else [expr.asc(), CASE.c.id.asc()]
    rows = session.execute(select(Case).where(*where).order_by(*order).limit(limit + 1)).scalars().all()
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        keys: dict[str, Any] = {
            "created_at": last.created_at,
            "updated_at": last.updated_at,
            "risk": last.risk,
        }
        after = keys.get(key)
        next_cursor = _encode_cursor(sort, -1.0 if key == "risk" and after is None else after, last.id or 0)
    # Which cases a list or search showed is a read of each (DESIGN §7), logged in one statement.
    if items:
        at = utcnow()
        rows = [{"case_id": c.id, "username": who.username, "what": "list", "read_at": at} for c in items]
        session.execute(insert(READ), rows)
        session.commit()
    return Page(items=items, next_cursor=next_cursor)


def read_log(
    session: Session,
    *,
    case_id: int | None = None,
    username: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[CaseRead]:
    """The read log, newest first (for admins)."""
    query = select(CaseRead)
    if case_id is not None:
        query = query.where(col(CaseRead.case_id) == case_id)
    if username is not None:
        query = query.where(col(CaseRead.username) == username)
    if before_id is not None:
        query = query.where(col(CaseRead.id) < before_id)
    return session.execute(query.order_by(col(CaseRead.id).desc()).limit(limit)).scalars().all()


def visible_escalation(session: Session, *, who: Principal, escalation_id: int) -> tuple[Escalation, Case]:
    """An escalation and its case, if `who` may see the case (else NotFound, as for a missing one)."""
    found = session.execute(
        select(Escalation, Case)
        .join(Case, col(Case.id) == col(Escalation.case_id))
        .where(col(Escalation.id) == escalation_id, access.visible(who))
    ).first()
    if found is None:
        raise NotFound(f"no escalation {escalation_id}")
    return found[0], found[1]


def assessment_of_event(session: Session, *, case_id: int, event_seq: int) -> Assessment:
    """The assessment a scoring event recorded (the caller has just written it)."""
    return session.execute(
        select(Assessment).where(col(Assessment.case_id) == case_id, col(Assessment.event_seq) == event_seq)
    ).scalar_one()


def scoring_trigger_for(session: Session, *, who: Principal, case_id: int) -> str:
    """The scoring trigger `who` would fire on this case (assess or rescore), if they may score it at all:
    for the scoring form and its live preview, which store nothing but must not show what they may not."""
    case = _find(session, who, case_id)
    trigger = scoring_trigger(case.state)
    try:
        access.require(who, trigger, access.case_facts(case))
    except Forbidden as exc:
        session.rollback()
        refusals.record(session, who=who, action=f"score:{trigger}", case_id=case_id, exc=exc)
        raise
    return trigger
