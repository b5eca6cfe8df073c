"""What the case page's notes and attachments panel shows (`_records.html`): the records the reader may
see, and the note and attachment forms when they may add them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from workflow import access
from workflow.models import Case
from workflow.principals import MARKINGS, Principal
from workflow.reads.records import case_records


def records_context(session: Session, who: Principal, case: Case) -> dict[str, Any]:
    assert case.id is not None
    shown = case_records(session, who=who, case_id=case.id, log=False)
    allowed = access.allowed_triggers(who, access.case_facts(case))
    floor = MARKINGS.index(case.protective_marking)
    return {
        "records": list(reversed(shown)),
        # The page carries the highest marking it shows (what is withheld is not shown).
        "records_markings": sorted({r.marking for r in shown if not r.withheld}),
        "may_note": "note" in allowed,
        "may_attach": "attach" in allowed,
        "record_markings": [m for m in MARKINGS[floor:] if m in who.markings()],
    }
