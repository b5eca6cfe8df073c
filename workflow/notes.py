"""Case log notes and attachments: what firing `note` and `attach` does, and what a reader may see of them.

Both are case events (workflow/triggers.py, dest None), so they sit in the hash chain and the history.
Their personal data is kept apart in the payload, so redaction can blank exactly that and keep the rest:

    note    payload["note"] (the text), payload["note_marking"]
    attach  payload["attachment"] = {sha256, size, media_type, name, marking} (the file lives in the
            content-addressed store, workflow/blobs.py; redaction deletes it and keeps the digest)

Each carries its own marking, never lower than the case's and never above its author's clearance. A
reader whose clearance does not cover it sees that a note or attachment exists (when, by whom, its
marking), never its text, name or digest: `shown_payload` is applied wherever events are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import Session

from workflow import blobs, subjects
from workflow.effects import Acting
from workflow.errors import FieldProblem, InvalidInput
from workflow.models import CaseEvent
from workflow.principals import MARKINGS, Principal

TRIGGERS = ("note", "attach")
WITHHELD = "withheld: marked {marking}, above your clearance"


def _rank(marking: str) -> int:
    return MARKINGS.index(marking) if marking in MARKINGS else len(MARKINGS)


def _check_marking(a: Acting, marking: str, field: str) -> None:
    case_marking = a.row.protective_marking
    if _rank(marking) < _rank(case_marking):
        raise InvalidInput(
            [FieldProblem(field, f"may not be lower than the case's marking ({case_marking})")]
        )
    if not a.by.is_system and marking not in a.by.markings():
        raise InvalidInput(
            [FieldProblem(field, f"your clearance ({a.by.clearance}) does not cover {marking}")]
        )


def _index_after(a: Acting, trigger: str) -> None:
    """Index the item in the same transaction as its event (so search never finds a note that is not)."""
    case_id, seq = a.row.id, a.row.event_seq + 1
    payload = a.change.payload

    def follow(session: Session, _event_id: int) -> None:
        subjects.index_event(session.connection(), case_id=case_id, seq=seq, trigger=trigger, payload=payload)

    a.change.after.append(follow)


def note(a: Acting) -> None:
    marking = a.inp.note_marking or a.row.protective_marking
    _check_marking(a, marking, "note_marking")
    a.change.payload["note"] = a.inp.note
    a.change.payload["note_marking"] = marking
    _index_after(a, "note")


def attach(a: Acting) -> None:
    ref = a.inp.attachment
    if ref is None:  # the spec's Need says so first; kept for the type checker
        raise InvalidInput([FieldProblem("attachment", "an attachment is required")])
    _check_marking(a, ref.marking, "attachment.marking")
    store = blobs.store_for(a.session)
    held = blobs.describe(store, ref.sha256)
    # The event may only reference a file the store holds, as it holds it (a hand-made reference with a
    # made-up size or type is refused): upload it first (workflow.records.attach does both).
    if held is None:
        raise InvalidInput([FieldProblem("attachment.sha256", "no uploaded file has this digest")])
    if held != (ref.size, ref.media_type):
        raise InvalidInput(
            [FieldProblem("attachment", f"the stored file is {held[0]} bytes of {held[1]}, not as given")]
        )
    a.change.payload["attachment"] = ref.model_dump()
    _index_after(a, "attach")


# -- what a reader sees --------------------------------------------------------------------------------


def item_marking(trigger: str, payload: Mapping[str, Any]) -> str | None:
    if trigger == "note":
        return payload.get("note_marking")
    if trigger == "attach":
        return (payload.get("attachment") or {}).get("marking")
    return None


def shown_payload(trigger: str, payload: Mapping[str, Any] | None, who: Principal) -> dict[str, Any]:
    """The payload as `who` may see it: a note or attachment above their clearance keeps only its marking."""
    shown = dict(payload or {})
    marking = item_marking(trigger, shown)
    if marking is None or marking in who.markings():
        return shown
    withheld = WITHHELD.format(marking=marking)
    if trigger == "note":
        return {"note": None, "note_marking": marking, "withheld": withheld}
    return {"attachment": {"marking": marking}, "withheld": withheld}


def masked_events(events: Iterable[CaseEvent], who: Principal) -> Sequence[CaseEvent]:
    """The events with every note and attachment `who` is not cleared for reduced to its marking. A
    withheld one is a detached copy (never the session's row: a change to it must not be flushed)."""
    out: list[CaseEvent] = []
    for e in events:
        if e.trigger in TRIGGERS and item_marking(e.trigger, e.payload or {}) not in who.markings():
            copy = CaseEvent(**{c: getattr(e, c) for c in CaseEvent.model_fields})
            copy.payload = shown_payload(e.trigger, e.payload, who)
            out.append(copy)
        else:
            out.append(e)
    return out


def summary(trigger: str, payload: Mapping[str, Any]) -> str:
    """One line for the history: the note's text, or the file's name, size and type (or that it is
    withheld from this reader)."""
    if payload.get("withheld"):
        return str(payload["withheld"])
    if trigger == "note":
        return f"[{payload.get('note_marking')}] {payload.get('note') or '(text removed)'}"
    file = payload.get("attachment") or {}
    return f"[{file.get('marking')}] {file.get('name')} ({file.get('size')} bytes, {file.get('media_type')})"
