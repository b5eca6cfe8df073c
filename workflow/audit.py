"""`sctac audit verify`: walk every case's chain, check each case row against it, and compare both with
the latest signed checkpoint; name every event, row or head that does not hold.

What each measure defends against (and what it does not):

- **The hash chain** (each event's hash covers its fields and the previous hash): an edited, deleted,
  inserted or reordered event breaks the chain from there on. Alone, it does not stop someone who can
  write to the database from recomputing every hash after a forgery with the project's own code.
- **The chain key** (HMAC-SHA256 under `SCTAC_CHAIN_KEY` or the key file, workflow/chain.py): someone
  with write access to the database *only* cannot recompute a hash, so a forged payload, a made-up
  event or a chain "repaired" with the unkeyed hash function is named. Someone who also holds the key
  (reads the key file or the process environment) can recompute chains: only the checkpoints remain.
- **Each case row checked against its last event** (state, version, event count, head hash): a state
  set by hand (e.g. to `closed`) with no event, or a row whose head was moved, is named.
- **Signed checkpoints** (workflow/checkpoints.py, a file outside the database): deleting the last
  events of a case and rewinding its row to match leaves a valid, shorter chain that the key cannot
  catch; a checkpoint written before the deletion still holds the old head, so it is named — even by
  someone holding the key who recomputed everything. Not caught: events deleted after the latest
  checkpoint, by someone who also holds the key (write checkpoints often, and copy them somewhere the
  database host cannot write). Someone who can replace the checkpoint file but not sign one can only
  substitute an *older* checkpoint of theirs; an edited or forged one is named.

**Payload digests** (migration 0015): the hash covers each payload's SHA-256 digest, stored beside it.
A payload that no longer matches its digest is named as altered, unless a later, intact event of the
same chain (a disposal under a recorded retention decision, workflow/redaction.py) declares that event
redacted and the payload now has exactly the digest that disposal recorded: then it is reported apart,
as "redacted by X on D under decision R". Someone without the key cannot forge that declaration.

Events hashed before migration 0008 (the unkeyed scheme) were re-sealed under the key by that migration
once their chain checked out; a chain already broken then keeps its old hashes from the break on, so
it stays named. Any event hashed the unkeyed way afterwards is named as forged, never accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import inspect, select
from sqlmodel import Session

from workflow import localtime
from workflow.chain import (
    GENESIS,
    ChainKey,
    chain_key,
    event_hash,
    inline_event_hash,
    payload_digest,
    unkeyed_event_hash,
)
from workflow.checkpoints import Checkpoint, CheckpointInvalid, checkpoint_path, head_problem, read_checkpoint
from workflow.facts import facts_of
from workflow.lifecycle import next_state
from workflow.states import IMPORTED
from workflow.tables import CASE, EVENT

BreakKind = Literal["event", "row", "checkpoint"]


@dataclass(frozen=True)
class ChainBreak:
    reference: str
    case_id: int
    seq: int
    event_id: int | None
    problem: str
    # event: a stored event is altered, forged or missing; row: the case row disagrees with its last
    # event; checkpoint: the chain no longer holds a head the latest checkpoint signed.
    kind: BreakKind = "event"

    def __str__(self) -> str:
        where = f"event {self.seq}" + (f" (row id {self.event_id})" if self.event_id is not None else "")
        return f"{self.reference} {where}: {self.problem}"


@dataclass(frozen=True)
class Redacted:
    """An event whose personal data was removed under a recorded decision: not a break."""

    reference: str
    case_id: int
    seq: int
    by: str
    at: datetime
    decision: Any

    def __str__(self) -> str:
        return (
            f"{self.reference} event {self.seq}: redacted by {self.by} on {self.at:%Y-%m-%d}"
            f" under decision {self.decision}"
        )


@dataclass(frozen=True)
class AuditReport:
    cases: int
    events: int
    breaks: list[ChainBreak]
    redacted: list[Redacted] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    checkpoint_problem: str | None = None  # the checkpoint file itself does not verify

    @property
    def ok(self) -> bool:
        return not self.breaks and self.checkpoint_problem is None

    @property
    def broken_cases(self) -> int:
        return len({b.case_id for b in self.breaks})


# The trigger whose events declare redactions of earlier events of their chain (workflow/redaction.py).
REDACTING = "dispose"


def _declared(events: Sequence[Any]) -> dict[int, tuple[Any, str]]:
    """seq -> (the declaring event, the digest the redacted payload must have), from the chain itself."""
    found: dict[int, tuple[Any, str]] = {}
    for ev in events:
        if ev.trigger != REDACTING or not isinstance(ev.payload, Mapping):
            continue
        for item in ev.payload.get("redacted") or ():
            if isinstance(item, Mapping) and isinstance(item.get("seq"), int) and ev.seq > item["seq"]:
                found[item["seq"]] = (ev, str(item.get("digest")))
    return found


def _fields(ev: Any) -> dict[str, Any]:
    return dict(
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


def _chain_break(
    ref: str, cid: int, events: Sequence[Any], key: ChainKey, redacted: list[Redacted] | None = None
) -> ChainBreak | None:
    """The first event of the chain that does not hold (the rest depend on it, so stop there).

    Events redacted under a decision the chain records are added to `redacted`, not named as breaks.
    """
    prev, state = GENESIS, None
    declared: dict[int, tuple[Any, str]] | None = None
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return ChainBreak(ref, cid, expected_seq, None, f"event missing (next stored is {ev.seq})")
        # Contents before the link: an altered row is named as altered, not as a broken link.
        fields = _fields(ev)
        actual = payload_digest(ev.payload, reason=ev.reason)
        sealed = ev.payload_digest or actual
        if event_hash(**fields, key=key, digest=sealed) != ev.hash:
            if unkeyed_event_hash(**fields) == ev.hash:
                problem = (
                    "hashed without the chain key (forged with the public hash function, or written"
                    " by code older than migration 0008)"
                )
            elif inline_event_hash(**fields, key=key) == ev.hash:
                problem = "sealed the way before migration 0015 (its payload not by digest): not re-sealed"
            else:
                problem = "contents do not match its hash (row altered)"
            return ChainBreak(ref, cid, ev.seq, ev.id, problem)
        is_redacted = False
        if actual != sealed:
            declared = _declared(events) if declared is None else declared
            by = declared.get(ev.seq)
            if by is None or by[1] != actual:
                return ChainBreak(
                    ref,
                    cid,
                    ev.seq,
                    ev.id,
                    "reason or payload does not match its sealed digest (row altered)",
                )
            is_redacted = True
            if redacted is not None:
                decl = by[0]
                decision = decl.payload.get("decision") if isinstance(decl.payload, Mapping) else None
                redacted.append(Redacted(ref, cid, ev.seq, decl.actor, decl.created_at, decision))
        if ev.prev_hash != prev:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, "previous-hash link broken (an event was removed or moved)"
            )
        if ev.from_state != state:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, f"starts from {ev.from_state}, but the case was in {state}"
            )
        legal = (
            True
            if ev.trigger == IMPORTED
            else ev.to_state == "submitted"
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
        # A redaction may remove a payload field a fact was read from; the fact column keeps it.
        wrong = [
            k
            for k, v in facts_of(ev.trigger, ev.payload).items()
            if getattr(ev, k, None) != v and not (is_redacted and v is None)
        ]
        if wrong:
            return ChainBreak(
                ref, cid, ev.seq, ev.id, f"facts disagree with its payload: {', '.join(wrong)} (row altered)"
            )
        prev, state = ev.hash, ev.to_state
    return None


def _row_breaks(ref: str, cid: int, case: Mapping[str, Any], events: Sequence[Any]) -> list[ChainBreak]:
    """Every way the case row disagrees with its last stored event (each change is one event, so the
    row's version and event count both equal the last event's seq, its head is that event's hash and
    its state where that event left the case)."""
    last = events[-1] if events else None
    last_seq = last.seq if last is not None else 0
    last_hash = last.hash if last is not None else GENESIS
    last_state = last.to_state if last is not None else None
    found: list[ChainBreak] = []
    if case["event_seq"] > last_seq:
        found.append(
            ChainBreak(
                ref,
                cid,
                last_seq + 1,
                None,
                f"case head does not match its last event (event removed): the row counts"
                f" {case['event_seq']} events, the chain ends at event {last_seq}",
                "row",
            )
        )
    elif case["event_seq"] < last_seq:
        found.append(
            ChainBreak(
                ref,
                cid,
                last_seq,
                None,
                f"case row counts {case['event_seq']} events but its chain ends at event {last_seq}"
                " (row rewound)",
                "row",
            )
        )
    elif case["last_event_hash"] != last_hash:
        found.append(
            ChainBreak(
                ref, cid, last_seq, None, "case head is not the hash of its last event (row altered)", "row"
            )
        )
    if case["version"] != last_seq:
        found.append(
            ChainBreak(
                ref,
                cid,
                last_seq,
                None,
                f"case row is at version {case['version']} but its chain ends at event {last_seq}"
                " (row altered)",
                "row",
            )
        )
    if case["state"] != last_state and last is not None:
        found.append(
            ChainBreak(
                ref,
                cid,
                last_seq,
                None,
                f"case says {case['state']} but its events end in {last_state}",
                "row",
            )
        )
    return found


def _checkpoint_break(
    ref: str, cid: int, events: Sequence[Any], checkpoint: Checkpoint | None
) -> ChainBreak | None:
    if checkpoint is None or cid not in checkpoint.heads:
        return None
    seq = checkpoint.heads[cid][0]
    at_seq = events[seq - 1] if len(events) >= seq and events[seq - 1].seq == seq else None
    if at_seq is None:
        at_seq = next((e for e in events if e.seq == seq), None)
    found = head_problem(
        checkpoint,
        case_id=cid,
        last_seq=events[-1].seq if events else 0,
        hash_at_seq=at_seq.hash if at_seq is not None else None,
    )
    if found is None:
        return None
    event_id = at_seq.id if at_seq is not None and found.seq == seq else None
    return ChainBreak(ref, cid, found.seq, event_id, found.problem, "checkpoint")


def check_case(
    case: Mapping[str, Any],
    events: Sequence[Any],
    *,
    key: ChainKey,
    checkpoint: Checkpoint | None = None,
    redacted: list[Redacted] | None = None,
) -> list[ChainBreak]:
    """Every problem of one case: its chain's first break, its row's mismatches, its checkpoint's
    (and, into `redacted`, its events redacted under a recorded decision)."""
    ref, cid = case["reference"] or f"case {case['id']}", case["id"]
    found: list[ChainBreak] = []
    if not events:
        found.append(ChainBreak(ref, cid, 1, None, "case has no events"))
    else:
        broken = _chain_break(ref, cid, events, key, redacted)
        if broken:
            found.append(broken)
    if events:
        found.extend(_row_breaks(ref, cid, case, events))
    lost = _checkpoint_break(ref, cid, events, checkpoint)
    if lost:
        found.append(lost)
    return found


def _event_columns(session: Session) -> list[Any]:
    """The event columns this database has: one not yet upgraded lacks the newest fact columns (their
    facts read as None, which is what events written before them hold)."""
    present = {c["name"] for c in inspect(session.connection()).get_columns("case_event")}
    return [c for c in EVENT.c if c.name in present]


_CASE_COLUMNS = (
    CASE.c.id,
    CASE.c.reference,
    CASE.c.state,
    CASE.c.version,
    CASE.c.event_seq,
    CASE.c.last_event_hash,
)


def _load_checkpoint(path: Path | None, key: ChainKey) -> tuple[Checkpoint | None, str | None]:
    if path is None:
        return None, None
    try:
        return read_checkpoint(path, key=key), None
    except CheckpointInvalid as exc:
        return None, exc.detail


def verify(
    session: Session,
    *,
    stop_at_first: bool = False,
    batch: int = 5000,
    key: ChainKey | None = None,
    checkpoint_file: Path | None = None,
) -> AuditReport:
    """Recompute every chain, streaming events in (case, seq) order so memory stays flat.

    With `checkpoint_file`, every chain must also still hold the head that checkpoint signed (the CLI
    passes the configured file; callers checking only the chains leave it out).
    """
    key = key or chain_key()
    checkpoint, checkpoint_problem = _load_checkpoint(checkpoint_file, key)
    breaks: list[ChainBreak] = []
    redacted: list[Redacted] = []
    n_cases = n_events = 0
    cases = session.execute(select(*_CASE_COLUMNS).order_by(CASE.c.id)).mappings()
    case_rows = {r["id"]: dict(r) for r in cases}
    stream = session.execute(
        select(*_event_columns(session))
        .order_by(EVENT.c.case_id, EVENT.c.seq)
        .execution_options(yield_per=batch)
    )
    current_id: int | None = None
    bucket: list[Any] = []
    seen: set[int] = set()

    def flush() -> None:
        nonlocal n_cases
        if current_id is None:
            return
        n_cases += 1
        seen.add(current_id)
        case = case_rows.pop(current_id, None)
        if case is None:
            breaks.append(
                ChainBreak(f"case {current_id}", current_id, 1, None, "events of a case that is gone")
            )
            return
        breaks.extend(check_case(case, bucket, key=key, checkpoint=checkpoint, redacted=redacted))

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
            breaks.extend(check_case(case, [], key=key, checkpoint=checkpoint))
            seen.add(case["id"])
            n_cases += 1
    if checkpoint is not None and not (stop_at_first and breaks):
        for cid in sorted(set(checkpoint.heads) - seen):  # case row and every event gone
            lost = head_problem(checkpoint, case_id=cid, last_seq=0, hash_at_seq=None)
            if lost:
                breaks.append(
                    ChainBreak(f"case {cid}", cid, lost.seq, None, f"case {lost.problem}", "checkpoint")
                )
    return AuditReport(
        cases=n_cases,
        events=n_events,
        breaks=breaks,
        redacted=redacted,
        checkpoint=checkpoint,
        checkpoint_problem=checkpoint_problem,
    )


@dataclass(frozen=True)
class ChainStatus:
    """The audit status of one case's history, for the case page (issue 12, item 23)."""

    case_id: int
    events: int
    breaks: tuple[ChainBreak, ...]
    checkpoint_at: datetime | None = None  # the checkpoint the chain was compared with, if any
    checkpoint_problem: str | None = None  # the checkpoint file itself does not verify
    redacted: tuple[Redacted, ...] = ()  # events redacted under a recorded retention decision

    @property
    def ok(self) -> bool:
        return not self.breaks and self.checkpoint_problem is None

    @property
    def altered_seqs(self) -> tuple[int, ...]:
        """Events of the case that are altered, forged or missing (the first break of the chain)."""
        return tuple(sorted({b.seq for b in self.breaks if b.kind == "event"}))

    @property
    def row_mismatch(self) -> bool:
        return any(b.kind == "row" for b in self.breaks)

    @property
    def lost_since_checkpoint(self) -> bool:
        return any(b.kind == "checkpoint" for b in self.breaks)

    @property
    def lines(self) -> list[str]:
        """One sentence per problem, for the centre's staff."""
        out = [f"Event {b.seq}: {b.problem}." for b in self.breaks]
        if self.checkpoint_problem:
            out.append(f"The audit checkpoint cannot be trusted: {self.checkpoint_problem}.")
        return out

    @property
    def summary(self) -> str:
        if self.ok:
            anchored = (
                f", and it matches the audit checkpoint of {localtime.moment(self.checkpoint_at)}"
                if self.checkpoint_at
                else ""
            )
            redacted = (
                f" Personal data was removed from {len(self.redacted)} of them under retention decision"
                f" {self.redacted[0].decision}, which the history records."
                if self.redacted
                else ""
            )
            return f"History verified: all {self.events} events are sealed and linked{anchored}.{redacted}"
        return (
            "This case's history does not verify: it has been altered outside sctac or damaged."
            " Tell the system administrator (they can run `sctac audit verify`)."
        )


def case_chain_status(
    session: Session, *, case_id: int, key: ChainKey | None = None, checkpoint_file: Path | None = None
) -> ChainStatus:
    """Check one case's chain, row and checkpointed head: two indexed queries and one HMAC per event.

    `checkpoint_file` defaults to the configured checkpoint (parsed once per version of the file).
    """
    key = key or chain_key()
    path = (
        checkpoint_file
        if checkpoint_file is not None
        else checkpoint_path(database_url=session.get_bind().engine.url)
    )
    checkpoint, checkpoint_problem = _load_checkpoint(path, key)
    case = session.execute(select(*_CASE_COLUMNS).where(CASE.c.id == case_id)).mappings().first()
    events = list(
        session.execute(
            select(*_event_columns(session)).where(EVENT.c.case_id == case_id).order_by(EVENT.c.seq)
        )
    )
    if case is None:
        gone = ChainBreak(f"case {case_id}", case_id, 1, None, "events of a case that is gone")
        found = [gone] if events else []
        return ChainStatus(case_id, len(events), tuple(found), None, checkpoint_problem)
    redacted: list[Redacted] = []
    breaks = check_case(dict(case), events, key=key, checkpoint=checkpoint, redacted=redacted)
    compared = checkpoint.written_at if checkpoint is not None and case_id in checkpoint.heads else None
    return ChainStatus(case_id, len(events), tuple(breaks), compared, checkpoint_problem, tuple(redacted))
