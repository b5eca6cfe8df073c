"""`sctac audit verify`: walk every case's hash chain and name the first event that does not hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from workflow.chain import GENESIS, event_hash
from workflow.facts import facts_of
from workflow.lifecycle import next_state
from workflow.tables import CASE, EVENT


@dataclass(frozen=True)
class ChainBreak:
    reference: str
    case_id: int
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.seq}" + (f" (row id {self.event_id})" if self.event_id is not None else "")
        return f"{self.reference} {where}: {self.problem}"


@dataclass(frozen=True)
class AuditReport:
    cases: int
    events: int
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def _check_case(case: dict, events: list) -> ChainBreak | None:
    ref, cid = case["reference"] or f"case {case['id']}", case["id"]
    prev, state = GENESIS, None
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return ChainBreak(ref, cid, expected_seq, None, f"event missing (next stored is {ev.seq})")
        if ev.prev_hash != prev:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, "previous-hash link broken (an event was removed or moved)"
            )
        if ev.from_state != state:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, f"starts from {ev.from_state}, but the case was in {state}"
            )
        legal = (
            ev.to_state == "submitted"
            if ev.seq == 1
            else next_state(ev.from_state, ev.trigger) == ev.to_state
        )
        if not legal:
            return ChainBreak(
                ref,
                cid,
                ev.seq,
                ev.id,
                f"{ev.trigger} from {ev.from_state} to {ev.to_state} is not in the lifecycle",
            )
        recomputed = event_hash(
            case_id=ev.case_id,
            seq=ev.seq,
            trigger=ev.trigger,
            from_state=ev.from_state,
            to_state=ev.to_state,
            actor=ev.actor,
            reason=ev.reason,
            payload=ev.payload,
            created_at=ev.created_at,
            prev_hash=ev.prev_hash,
        )
        if recomputed != ev.hash:
            return ChainBreak(ref, cid, ev.seq, ev.id, "contents do not match its hash (row altered)")
        wrong = [k for k, v in facts_of(ev.trigger, ev.payload).items() if getattr(ev, k) != v]
        if wrong:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, f"facts disagree with its payload: {', '.join(wrong)} (row altered)"
            )
        prev, state = ev.hash, ev.to_state
    if case["event_seq"] != len(events) or case["last_event_hash"] != prev:
        return ChainBreak(
            ref, cid, len(events) + 1, None, "case head does not match its last event (event removed)"
        )
    if case["state"] != state:
        return ChainBreak(
            ref, cid, len(events), None, f"case says {case['state']} but its events end in {state}"
        )
    return None


def verify(session: Session, *, stop_at_first: bool = False, batch: int = 5000) -> AuditReport:
    """Recompute every chain, streaming events in (case, seq) order so memory stays flat."""
    breaks: list[ChainBreak] = []
    n_cases = n_events = 0
    cases = session.execute(
        select(CASE.c.id, CASE.c.reference, CASE.c.state, CASE.c.event_seq, CASE.c.last_event_hash).order_by(
            CASE.c.id
        )
    ).mappings()
    case_rows = {r["id"]: dict(r) for r in cases}
    stream = session.execute(
        select(EVENT).order_by(EVENT.c.case_id, EVENT.c.seq).execution_options(yield_per=batch)
    )
    current_id: int | None = None
    bucket: list = []

    def flush() -> None:
        nonlocal n_cases
        if current_id is None:
            return
        n_cases += 1
        case = case_rows.pop(current_id, None)
        if case is None:
            breaks.append(
                ChainBreak(f"case {current_id}", current_id, 1, None, "events of a case that is gone")
            )
            return
        broken = _check_case(case, bucket)
        if broken:
            breaks.append(broken)

    for ev in stream:
        n_events += 1
        if ev.case_id != current_id:
            flush()
            current_id, bucket = ev.case_id, []
            if stop_at_first and breaks:
                break
        bucket.append(ev)
    else:
        flush()
    for case in case_rows.values():  # cases whose every event was deleted
        if not (stop_at_first and breaks):
            breaks.append(ChainBreak(case["reference"] or "?", case["id"], 1, None, "case has no events"))
            n_cases += 1
    return AuditReport(cases=n_cases, events=n_events, breaks=breaks)
