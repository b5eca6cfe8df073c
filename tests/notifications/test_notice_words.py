"""Issue 12 item 18: the notice of a request for information shows the question asked, in the words the
trigger's definition gives it (not "Reason")."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications.as_of import CaseAsOf
from notifications.messages import build_context
from notifications.rendering import Renderer

AT = datetime(2026, 5, 22, 16, tzinfo=UTC)
CASE = CaseAsOf(
    id=1,
    reference="SCT-2026-000412",
    requesting_unit="NE",
    title="County line into Essex",
    protective_marking="OFFICIAL",
    state="submitted",
    band=None,
    risk=None,
    capability=None,
    hub="EAST",
    owner=None,
    policy={},
)


def _notice(trigger: str, reason: str) -> str:
    event = {
        "trigger": trigger,
        "actor": "analyst1",
        "reason": reason,
        "created_at": AT,
        "from_state": "submitted",
        "to_state": "submitted",
        "payload": {},
    }
    context = build_context(
        event=event,
        case=CASE,
        kind="case_state_changed",
        hub_name="East hub",
        owner_name=None,
        escalation=None,
        base_url="http://127.0.0.1:8000",
    )
    context["recipient"] = {"username": "ds.ne", "display_name": "DS North East", "role": "requester"}
    return Renderer().render("case_state_changed", context).text


def test_the_request_for_information_shows_the_question() -> None:
    text = _notice("await_information", "The source grading of the 12 May report")
    assert "What the centre needs from the requester: The source grading of the 12 May report" in text
    assert "Ask the requester for information (pauses the SLA)" in text
    assert "Reason:" not in text


def test_a_trigger_without_its_own_words_keeps_reason() -> None:
    assert "Reason: Not specialist work" in _notice("reject", "Not specialist work")
