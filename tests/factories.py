"""Builders for realistic test inputs (story 1's request, MoRiLE inputs, a case in any state)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from workflow import accounts, capacity, service
from workflow.principals import Principal, system


def unchecked(name: str) -> Principal:
    """A principal the access policy does not restrict, recorded under the test's actor name: for tests of
    the lifecycle, clocks, timers and reports, where who may act is not the question (the access tests
    and tests/workflow/test_acting.py ask it, with real accounts)."""
    return system(name)


COUNTY_LINES = {
    "title": "County line run from Newham into Essex",
    "summary": "Line holder supplying class A into Basildon using children as runners.",
    "requesting_unit": "NE",
    "target_type": "ocg",
    "target_name": "The Forest Gate line",
    "themes": ["drugs", "county_lines", "child_exploitation"],
    "capabilities": ["surveillance", "financial_investigation"],
    "protective_marking": "OFFICIAL-SENSITIVE",
}


def request_data(**overrides: Any) -> dict[str, Any]:
    return {**COUNTY_LINES, **overrides}


def morile_inputs(
    *,
    harm: tuple[int, int, int, int, int] = (2, 2, 1, 1, 0),
    scope: int = 2,
    likelihood: int = 3,
    vulnerability: int = 1,
    capacity: int = 2,
    capability: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    names = ("physical", "psychological", "financial", "community", "environmental")
    return {
        "harm": dict(zip(names, harm, strict=True)),
        "scope": scope,
        "likelihood": likelihood,
        "vulnerability": vulnerability,
        "capacity": capacity,
        "capability": capability,
        "intelligence": {"source": "1", "grade": "B", "handling": "P"},
        **extra,
    }


# harm 4+4+3+4+0 = 15, scope 4 (x3.0) = 45; likelihood 5 + 1 (vulnerability 3) = 6; 270/360 = 75.0 -> P1;
# capability 4 -> organisational grade D (story 3's escalation).
P1_CAPABILITY_D = morile_inputs(harm=(4, 4, 3, 4, 0), scope=4, likelihood=5, vulnerability=3, capability=4)

DEFAULT_DATA: dict[str, dict[str, Any]] = {
    "assess": {"assessment": morile_inputs()},
    "rescore": {"assessment": morile_inputs(likelihood=4)},
    "prioritise": {},
    "task": {"owner": "owner.east"},
    "review": {"progress": "Two warrants executed; line phone seized.", "strands": ["pursue", "protect"]},
    "continue": {},
    "reassess": {"reason": "New intelligence links the line to a firearm."},
    "close": {"outcome": "disrupted", "strands": ["pursue"]},
    "reject": {"reason": "Not a specialist crime matter; BCU to progress."},
    "withdraw": {"reason": "Suspect charged by the BCU."},
    "await_information": {"reason": "Source grading of the line-holder intelligence is missing."},
    "defer": {"reason": "EAST is over capacity; back to next week's meeting."},
    "information_received": {},
    "note": {"note": "Line phone handed to the exhibits officer."},
    "retain": {"reason": "Linked to a live OCG investigation.", "next_review": "2099-01-01"},
    "dispose": {"reason": "Past its review with no continuing need."},
    "transfer": {"hub": "CENTRE", "owner": "owner.queue", "reason": "The centre's kidnap team takes it on."},
}
# Triggers that only make sense after another (e.g. information arrives after the centre asked for it).
PREPARE: dict[str, list[str]] = {"information_received": ["await_information"]}

PATHS: dict[str, list[str]] = {
    "submitted": [],
    "assessed": ["assess"],
    "prioritised": ["assess", "prioritise"],
    "tasked": ["assess", "prioritise", "task"],
    "reviewed": ["assess", "prioritise", "task", "review"],
    "closed": ["assess", "prioritise", "task", "review", "close"],
    "rejected": ["reject"],
    "withdrawn": ["withdraw"],
}


def submit(session: Session, **overrides: Any) -> service.Fired:
    return service.submit_case(session, request=request_data(**overrides), by=unchecked("ds.ne"))


def p1_escalated(
    session: Session, *, submitted: datetime | None = None, assessed: datetime | None = None
) -> service.Fired:
    """Story 3's case: submitted, then scored P1 with capability grade D, which raises a rule escalation."""
    done = service.submit_case(session, request=request_data(), by=unchecked("ds.ne"), now=submitted)
    return score_p1(session, done.case_id, now=assessed)


def score_p1(
    session: Session, case_id: int, *, trigger: str = "assess", now: datetime | None = None
) -> service.Fired:
    """Score a case P1 with capability grade D (story 3's escalation), by `trigger` (assess or rescore)."""
    return service.fire(
        session,
        case_id=case_id,
        trigger=trigger,
        by=unchecked("analyst1"),
        data={"assessment": P1_CAPABILITY_D},
        now=now,
    )


def task_owner(session: Session, case: Any, preferred: str) -> str:
    """`preferred` if they may own the case (of its hub, cleared for it), else the first who may: only a
    cleared owner of the hub can be given a case, and the rules route some cases away from EAST."""
    found = capacity.eligible_owners(session, hub=case.hub, marking=case.protective_marking)
    eligible = [u["username"] for u in found]
    return preferred if preferred in eligible or not eligible else eligible[0]


def case_in(session: Session, state: str, **overrides: Any) -> service.Fired:
    """A new case driven through the real service into `state`."""
    return drive(session, submit(session, **overrides), state)


def drive(session: Session, done: service.Fired, state: str) -> service.Fired:
    """A just-submitted case driven through the real service into `state`."""
    for trigger in PATHS[state]:
        data = DEFAULT_DATA[trigger]
        if trigger == "task":
            data = {**data, "owner": task_owner(session, done.case, data["owner"])}
        done = service.fire(
            session,
            case_id=done.case_id,
            trigger=trigger,
            by=unchecked("analyst1"),
            data=data,
        )
    return done


def add_people(
    session: Session,
    people: Iterable[Sequence[Any]],
    *,
    clearance: str = "OFFICIAL-SENSITIVE",
    password: str | None = None,
) -> None:
    """Accounts from (username, roles, unit, hub[, clearance]) rows, through the real account service."""
    for username, roles, unit, hub, *own in people:
        data = {"username": username, "roles": roles, "unit_code": unit, "hub_code": hub}
        data["clearance"] = own[0] if own else clearance
        if password is not None:
            data["password"] = password
        accounts.create_user(session, data=data)
