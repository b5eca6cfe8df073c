from __future__ import annotations

from pathlib import Path

import pytest

from notifications.rendering import (
    KINDS,
    Renderer,
    TemplateContextError,
    TemplateSecurityError,
    UnknownMessageKind,
    default_renderer,
    render_message,
)
from tests.notifications.samples import BASE_URL, ESCALATION_WORDING, context


def test_every_event_kind_has_templates() -> None:
    assert default_renderer().kinds == KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("marking", ["OFFICIAL", "OFFICIAL-SENSITIVE"])
def test_every_message_carries_its_marking_and_a_link_to_the_case(kind: str, marking: str) -> None:
    message = render_message(kind, context(case={"protective_marking": marking}))

    assert message.subject.startswith(f"[{marking}] ")
    assert message.text.splitlines()[0] == marking
    assert message.text.rstrip().splitlines()[-1] == marking
    body = message.html.split("<body", 1)[1]
    assert body.index(marking) < body.index("SCT-2026-000412"), "the marking comes before the content"
    assert f"{BASE_URL}/cases/412" in message.text
    assert f'href="{BASE_URL}/cases/412"' in message.html


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_subject_and_text_are_usable_as_an_inbox_entry(kind: str) -> None:
    message = render_message(kind, context(case={"title": "Line run\nfrom Newham"}))

    assert "\n" not in message.subject
    assert "<" not in message.text and "&" not in message.text
    assert "SCT-2026-000412" in message.subject


def test_escalation_says_what_happened_why_and_what_is_due() -> None:
    message = render_message(
        "case_escalated", context(why=["escalate-p1-capability-d", "route-newham-to-east"])
    )

    assert message.subject == f"[OFFICIAL-SENSITIVE] {ESCALATION_WORDING}"
    assert ESCALATION_WORDING.replace("P1 request SCT-2026-000412 escalated", "") in message.text
    assert "rules escalate-p1-capability-d, route-newham-to-east fired" in message.text
    # 09:40 UTC in April is 10:40 in London: staff read local time.
    assert "acknowledge by Mon 13 Apr 2026, 10:40 BST" in message.text
    assert "escalated by sctac escalation rules at Mon 13 Apr 2026, 09:40 BST" in message.text


def test_submission_tells_the_requester_reference_hub_and_assessment_date() -> None:
    message = render_message("case_submitted", context())

    assert "Reference: SCT-2026-000412" in message.text
    assert "Gone to: East" in message.text
    assert "assessed it by: Mon 13 Apr 2026, 10:40 BST" in message.text


@pytest.mark.parametrize(("days", "wording"), [(3, "due in 3 days"), (1, "due tomorrow"), (0, "due today")])
def test_review_reminder_counts_down(days: int, wording: str) -> None:
    message = render_message("review_reminder", context(days_remaining=days))

    assert message.subject.endswith(wording)
    assert f"is {wording}, on Mon 13 Apr 2026" in message.text


def test_overdue_review_tells_the_supervisor_whose_review_slipped() -> None:
    message = render_message("review_overdue", context(days_overdue=2))

    assert "(Analyst Ahmed) is 2 days late" in message.subject
    assert "owned by Analyst Ahmed" in message.text


def test_tasked_owner_sees_the_first_review_date() -> None:
    message = render_message("case_tasked", context(due_at="2026-04-27T09:00:00+01:00"))

    assert message.subject.endswith("tasked to you: first review due Mon 27 Apr 2026")


def test_optional_reason_is_shown_when_given() -> None:
    message = render_message(
        "escalation_acknowledged",
        context(event={"actor": "East supervisor", "reason": "Regional support requested from ROCU"}),
    )

    assert "Note: Regional support requested from ROCU" in message.text
    assert "Note:" not in render_message("escalation_acknowledged", context()).text


def test_a_transfer_says_from_which_hub_to_which_and_who_owns_it_now() -> None:
    moved = context(
        case={"reference": "SCT-2026-000042", "state": "tasked", "owner": "Owner North"},
        event={"trigger": "transfer", "from_state": "tasked", "to_state": "tasked"},
        moved={"from_hub": "EAST", "to_hub": "NORTH"},
    )
    message = render_message("case_state_changed", moved)
    assert message.subject.endswith("Request SCT-2026-000042 moved to hub NORTH")
    assert "It moved from hub EAST to hub NORTH; its owner is now Owner North." in message.text
    assert (
        "<strong>EAST</strong> to hub <strong>NORTH</strong>; its owner is now Owner North." in message.html
    )
    assert "moved from hub" not in render_message("case_state_changed", context()).text


def test_html_escapes_case_data_and_text_keeps_it_verbatim() -> None:
    title = "<script>alert(1)</script> & co"
    message = render_message("case_escalated", context(case={"title": title}))

    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in message.html
    assert title in message.text


def test_template_syntax_in_case_data_is_shown_not_run() -> None:
    message = render_message("case_state_changed", context(case={"title": "{{ 7 * 7 }}"}))

    assert "{{ 7 * 7 }}" in message.text
    assert "49" not in message.text


def test_sandbox_stops_a_template_reaching_python_internals(tmp_path: Path) -> None:
    (tmp_path / "evil.subject.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    (tmp_path / "evil.txt").write_text("x")
    (tmp_path / "evil.html").write_text("x")

    with pytest.raises(TemplateSecurityError, match="__class__"):
        Renderer(tmp_path).render("evil", context())


def test_missing_context_variable_is_an_error_not_a_blank() -> None:
    ctx = context()
    del ctx["escalation"]

    with pytest.raises(TemplateContextError, match="escalation"):
        render_message("case_escalated", ctx)


def test_missing_case_field_is_an_error() -> None:
    ctx = context()
    del ctx["case"]["capability"]

    with pytest.raises(TemplateContextError, match="capability"):
        render_message("case_escalated", ctx)


@pytest.mark.parametrize("marking", ["SECRET", "official", ""])
def test_unknown_marking_is_refused(marking: str) -> None:
    with pytest.raises(TemplateContextError, match="protective marking"):
        render_message("case_submitted", context(case={"protective_marking": marking}))


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(TemplateContextError, match="time zone"):
        render_message("case_submitted", context(due_at="2026-04-13T09:40:00"))


def test_unknown_kind_is_a_typed_error() -> None:
    with pytest.raises(UnknownMessageKind, match="case_exploded") as caught:
        render_message("case_exploded", context())
    assert caught.value.kind == "case_exploded"
