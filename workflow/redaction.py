"""Redaction of a case's history under a recorded disposal decision, keeping the chain verifiable.

The chain hashes each payload's digest (workflow/chain.py), so removing fields from a payload leaves the
event's hash and stored digest as they were. The disposal event itself lists every event it redacted
with the digest the payload has afterwards (`redacted: [{seq, digest, fields}]`) and the decision's id;
that event is hashed like any other, so `sctac audit verify` can tell "redacted by X on D under
decision R" from a hand edit, which no intact event declares.

Generic over payloads: the fields removed are dotted paths from the retention schedule, so any
trigger's payload (a note's text, an imported row's wording) is covered by listing its path.
Attachments are files named by their SHA-256 in a payload (`{"sha256": ...}` anywhere in it): their
digests stay in the history and the files are removed after the transaction commits, by whatever
store registered a remover (`register_blob_remover`), never before (a rollback must not lose a file).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlmodel import Session

from workflow.chain import payload_digest
from workflow.errors import FieldProblem, InvalidInput
from workflow.tables import EVENT, RETENTION

REDACTED = "[redacted]"
# The retention decisions' own reasons are the record of why data was kept or erased: never redacted.
KEPT_REASONS = ("retain", "dispose")
_PENDING = "sctac_blobs_to_remove"
BlobRemover = Callable[[str], object]
_REMOVERS: list[BlobRemover] = []

_UPDATE_PAYLOAD = (
    update(EVENT)
    .where(EVENT.c.id == bindparam("p_id"))
    .values(payload=bindparam("p_payload"), reason=bindparam("p_reason"))
)


def register_blob_remover(remover: BlobRemover) -> BlobRemover:
    """Called with each disposed attachment's SHA-256 after the disposal commits (the notes' store)."""
    if remover not in _REMOVERS:
        _REMOVERS.append(remover)
    return remover


def unregister_blob_remover(remover: BlobRemover) -> None:
    if remover in _REMOVERS:
        _REMOVERS.remove(remover)


def blobs_in(payload: Any) -> Iterator[str]:
    """Every SHA-256 an attachment reference in the payload names (`{"sha256": "<64 hex>"}`)."""
    if isinstance(payload, Mapping):
        digest = payload.get("sha256")
        if isinstance(digest, str) and len(digest) == 64:
            yield digest
        for value in payload.values():
            yield from blobs_in(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from blobs_in(value)


def _remove(payload: dict[str, Any], path: Sequence[str]) -> bool:
    node: Any = payload
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return False
    if isinstance(node, dict) and path[-1] in node and node[path[-1]] not in (None, "", [], REDACTED):
        node[path[-1]] = REDACTED
        return True
    return False


Planned = list[tuple[int, int, dict[str, Any], str | None, list[str]]]


def plan(events: Sequence[Any], paths: Sequence[Sequence[str]], *, reasons: bool = False) -> Planned:
    """(event row id, seq, redacted payload, reason, fields removed) for each event holding any of
    `paths` (or, with `reasons`, a reason: its free text)."""
    out: Planned = []
    for ev in events:
        payload = copy.deepcopy(dict(ev.payload or {}))
        removed = [".".join(p) for p in paths if _remove(payload, p)]
        reason = ev.reason
        if reasons and reason not in (None, "", REDACTED) and ev.trigger not in KEPT_REASONS:
            reason = REDACTED
            removed.append("reason")
        if removed:
            out.append((ev.id, ev.seq, payload, reason, removed))
    return out


def require_decision(session: Session, decision_id: int | None, *, case_id: int) -> None:
    """Nothing is erased without a recorded disposal decision on this very case."""
    if decision_id is None:
        raise InvalidInput(
            [FieldProblem("decision", "a disposal must name the recorded decision it carries out")]
        )
    row = session.execute(
        select(RETENTION.c.case_id, RETENTION.c.decision).where(RETENTION.c.id == decision_id)
    ).first()
    if row is None or row.case_id != case_id or row.decision != "dispose":
        raise InvalidInput(
            [FieldProblem("decision", f"no recorded disposal decision {decision_id} for this case")]
        )


def redact_events(
    session: Session,
    *,
    case_id: int,
    decision_id: int | None,
    paths: Sequence[Sequence[str]],
    before_seq: int,
    reasons: bool = False,
) -> tuple[list[dict[str, Any]], list[str], Callable[[], None]]:
    """Work out the redaction of the case's events before `before_seq` (the disposal's own event).

    Returns the declarations for the disposal event's payload, the attachment digests it disposes of,
    and the write to run once that event is in place (same transaction). Raises InvalidInput naming
    `decision` when no recorded disposal decision backs it.
    """
    require_decision(session, decision_id, case_id=case_id)
    events = session.execute(
        select(EVENT.c.id, EVENT.c.seq, EVENT.c.trigger, EVENT.c.reason, EVENT.c.payload)
        .where(EVENT.c.case_id == case_id, EVENT.c.seq < before_seq)
        .order_by(EVENT.c.seq)
    ).all()
    planned = plan(events, paths, reasons=reasons)
    declared = [
        {"seq": seq, "digest": payload_digest(payload, reason=reason), "fields": removed}
        for _, seq, payload, reason, removed in planned
    ]
    blobs = sorted({d for ev in events for d in blobs_in(ev.payload)})

    def write() -> None:
        if planned:
            session.connection().execute(
                _UPDATE_PAYLOAD,
                [{"p_id": eid, "p_payload": p, "p_reason": r} for eid, _, p, r, _ in planned],
            )
        if blobs:
            session.info.setdefault(_PENDING, set()).update(blobs)

    return declared, blobs, write


@event.listens_for(Session, "after_commit")
def _remove_blobs(session: Session) -> None:
    for digest in sorted(session.info.pop(_PENDING, ())):
        for remover in list(_REMOVERS):
            remover(digest)


@event.listens_for(Session, "after_rollback")
def _keep_blobs(session: Session) -> None:
    session.info.pop(_PENDING, None)
