"""Deconfliction against the database: every case's target names filed under their blocking keys, the
search for candidates among open and recently closed cases of every unit, and the candidate links.

At submission the names are filed and the candidates recorded inside the submission's own transaction
(an after-step of its event), not by a later event-driven step: one transaction per state change holds,
no request is ever on file unchecked, and the links are derived data (the submission event holds every
name, so they can be rebuilt from the log). The search is a single aggregate over the key index, so it
costs milliseconds whatever the caseload (bench/coordination.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, union_all
from sqlmodel import Session

from workflow.change import AfterEvent
from workflow.deconfliction.matcher import Candidate, Known, Name, match
from workflow.deconfliction.names import keys, kind_of, stored
from workflow.settings import get_settings
from workflow.states import OPEN_STATES, State
from workflow.tables import CASE, EVENT, LINK, TARGET_KEY, TARGET_NAME

# The request fields deconfliction reads beyond the target's name (not case columns: the submission
# event holds them, and the name index below).
EXTRA_FIELDS = ("target_aliases", "target_locations")
# Names sharing the most keys with the ones searched for, scored in full; the rest are too far apart
# (a true match shares most of its keys: bench/coordination.py measures the recall this keeps).
SHORTLIST = 50
# A key filed under more names than this says little (a first name, "boys", "road"): it is left out of
# the shortlist while the name has rarer keys, so a search never walks tens of thousands of rows.
COMMON = 1_000
# Pairs of names kept as the reasons of one link (the best first).
REASONS_KEPT = 5

_INSERT_NAME = insert(TARGET_NAME).returning(TARGET_NAME.c.id)
_INSERT_KEY = insert(TARGET_KEY)
_INSERT_LINK = insert(LINK)


def names_of(request: Mapping[str, Any]) -> list[Name]:
    """The names of a request's target that are matched: its name and aliases (as the target's kind;
    a crime theme is no name) and the places tied to it."""
    kind = kind_of(str(request.get("target_type", "")))
    found: list[Name] = []
    if kind is not None:
        found.append(Name(str(request["target_name"]), kind, "target_name"))
        found += [
            Name(a, kind, f"target_aliases[{i}]") for i, a in enumerate(request.get("target_aliases") or ())
        ]
    found += [
        Name(p, "place", f"target_locations[{i}]")
        for i, p in enumerate(request.get("target_locations") or ())
    ]
    return found


def keys_of(name: Name) -> frozenset[str]:
    """The blocking keys `name` is filed and searched under."""
    return keys(name.norm, name.kind)


def file_names(session: Session, *, case_id: int, names: Sequence[Name]) -> None:
    """Add a case's names and their keys to the index."""
    conn = session.connection()
    for n in names:
        norm = n.norm
        target_id = conn.execute(
            _INSERT_NAME,
            {
                "case_id": case_id,
                "field": n.field,
                "kind": n.kind,
                "name": n.value,
                "normalised": norm.text,
                "phonetic": norm.phonetic,
                "metaphone": norm.metaphone,
            },
        ).scalar_one()
        rows = [{"key": k, "target_id": target_id, "case_id": case_id} for k in sorted(keys(norm, n.kind))]
        if rows:
            conn.execute(_INSERT_KEY, rows)


# Two statements: the shortlist reads the key index alone (its primary key covers it), then the names
# of the shortlisted, each joined to its case to keep only open and recent ones. Joining the case in
# the aggregate would look up a case for every key row, most of them for names that never make it.
_SHORTLIST = (
    select(TARGET_KEY.c.target_id)
    .where(TARGET_KEY.c.key.in_(bindparam("p_keys", expanding=True)))
    .group_by(TARGET_KEY.c.target_id)
    .order_by(func.count().desc(), TARGET_KEY.c.target_id)
    .limit(SHORTLIST)
)


def _postings(count: int) -> Any:
    """One statement counting, for each of `count` keys (bound as k0, k1, ...), how many names it is
    filed under, no further than COMMON + 1: one round trip however many keys a request has."""
    found = _POSTINGS.get(count)
    if found is None:
        parts = [
            select(literal(i).label("i"), func.count().label("n")).select_from(
                select(TARGET_KEY.c.target_id)
                .where(TARGET_KEY.c.key == bindparam(f"k{i}"))
                .limit(COMMON + 1)
                .subquery()
            )
            for i in range(count)
        ]
        found = _POSTINGS[count] = union_all(*parts)
    return found


# Statements by number of keys (built once each: building costs more than running them).
_POSTINGS: dict[int, Any] = {}
_NAMES = (
    select(
        TARGET_NAME.c.case_id,
        TARGET_NAME.c.field,
        TARGET_NAME.c.kind,
        TARGET_NAME.c.name,
        TARGET_NAME.c.normalised,
        TARGET_NAME.c.phonetic,
        TARGET_NAME.c.metaphone,
    )
    .join(CASE, CASE.c.id == TARGET_NAME.c.case_id)
    .where(
        TARGET_NAME.c.id.in_(bindparam("p_ids", expanding=True)),
        CASE.c.id != bindparam("p_self"),
        # Open cases, and cases closed since p_since (rejected and withdrawn requests were no work).
        or_(
            CASE.c.state.in_(OPEN_STATES),
            and_(CASE.c.state == State.CLOSED.value, CASE.c.updated_at >= bindparam("p_since")),
        ),
    )
)


def search(
    session: Session,
    *,
    names: Sequence[Name],
    now: datetime,
    days: int | None = None,
    exclude_case: int = 0,
) -> list[Candidate]:
    """Cases of every unit, open or closed in the last `days`, with a target name matching one of
    `names`; each candidate's owner is its case id."""
    wanted = sorted({k for n in names for k in keys(n.norm, n.kind)})
    if not wanted:
        return []
    days = get_settings().deconfliction_days if days is None else days
    conn = session.connection()
    postings = conn.execute(_postings(len(wanted)), {f"k{i}": k for i, k in enumerate(wanted)})
    counts = {i: n for i, n in postings}
    rare = [k for i, k in enumerate(wanted) if counts[i] <= COMMON]
    ids = list(conn.execute(_SHORTLIST, {"p_keys": rare or wanted}).scalars())
    if not ids:
        return []
    since = now - timedelta(days=days)
    rows = conn.execute(_NAMES, {"p_ids": ids, "p_self": exclude_case, "p_since": since})
    known = [
        Known(r.case_id, Name(r.name, r.kind, r.field), stored(r.normalised, r.phonetic, r.metaphone))
        for r in rows
    ]
    return match(names, known)


def record_links(session: Session, *, case_id: int, found: Iterable[Candidate], at: datetime) -> int:
    """Record candidate links from `case_id` to each found case (older first); returns how many."""
    rows = [
        {
            "older_case_id": min(case_id, int(c.owner)),  # type: ignore[call-overload]
            "newer_case_id": max(case_id, int(c.owner)),  # type: ignore[call-overload]
            "score": c.score,
            "reasons": [r.as_dict() for r in c.reasons[:REASONS_KEPT]],
            "status": "candidate",
            "raised_at": at,
        }
        for c in found
    ]
    if rows:
        session.connection().execute(_INSERT_LINK, rows)
    return len(rows)


def at_submission(case_id: int, request: Mapping[str, Any], at: datetime) -> AfterEvent:
    """The submission's after-step: file the new case's names and record its candidate links."""
    names = names_of(request)

    def run(session: Session, _event_id: int) -> None:
        if not names:
            return
        found = search(session, names=names, now=at, exclude_case=case_id)
        file_names(session, case_id=case_id, names=names)
        record_links(session, case_id=case_id, found=found, at=at)

    return run


def index_unfiled(session: Session, *, now: datetime, limit: int | None = None) -> int:
    """File the names of cases that have none on file (cases submitted before deconfliction existed),
    oldest first, recording each one's candidate links against those filed before it, as its submission
    would have. Reads each request from its submission event (the truth); commits once. Returns how many."""
    filed = select(TARGET_NAME.c.case_id).distinct()
    unfiled = (
        select(EVENT.c.case_id, EVENT.c.payload)
        .where(EVENT.c.seq == 1, EVENT.c.trigger == "submit", EVENT.c.case_id.not_in(filed))
        .order_by(EVENT.c.case_id)
    )
    if limit is not None:
        unfiled = unfiled.limit(limit)
    done = 0
    for case_id, payload in session.connection().execute(unfiled).all():
        at_submission(case_id, (payload or {}).get("request") or {}, now)(session, 0)
        done += 1
    session.commit()
    return done
