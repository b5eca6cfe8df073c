"""What a case event says to the people told of it: the message kind and the template context.

The context follows the contract in notifications.rendering. It is built from the event row and the
case *as it stood at that event* (notifications.as_of), never from the case row at send time, so an
inbox item or an e-mail describes the event that caused it even if the case has moved on since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from notifications.as_of import CaseAsOf
from workflow import ladders, triggers

# The events a trigger of its own has a template for; everything else is a plain state change.
_KINDS = {
    "submit": "case_submitted",
    "task": "case_tasked",
    "sla_breached": "sla_breached",
    "review_reminder": "review_reminder",
    "review_overdue": "review_overdue",
    "escalation_step": "case_escalated",
    "snooze_ended": "case_escalated",
    "escalation_acknowledged": "escalation_acknowledged",
}
# Kinds worded for one role ("tasked to you", "your request"); anyone else told gets a state change.
_ADDRESSED_TO = {"case_tasked": "owner", "case_submitted": "requester"}
_STAGE_WORK = {"submitted": "assessment", "assessed": "prioritisation", "prioritised": "tasking"}


def message_kind(trigger: str, payload: Mapping[Any, Any]) -> str:
    """The template kind of an event (an assessment that raised an escalation is an escalation)."""
    if trigger == "assess" and payload.get("escalation"):
        return "case_escalated"
    return _KINDS.get(trigger, "case_state_changed")


def kind_for_role(kind: str, role: str | None) -> str:
    addressed = _ADDRESSED_TO.get(kind)
    return "case_state_changed" if addressed is not None and role != addressed else kind


def _risk(value: float | None) -> int | float | str:
    if value is None:
        return "n/a"
    return int(value) if float(value).is_integer() else round(value, 1)


def _decision(reason: str, level_name: str) -> str:
    # Escalation rules phrase their reason "... - needs <decision>"; other sources get the level's action.
    _, sep, tail = reason.rpartition("needs ")
    if sep and tail:
        return tail.strip().rstrip(".")
    return f"{level_name} action: {reason}"


def _parse(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def build_context(
    *,
    event: Mapping[Any, Any],
    case: CaseAsOf,
    kind: str,
    hub_name: str | None,
    owner_name: str | None,
    escalation: Mapping[Any, Any] | None,
    base_url: str,
) -> dict[str, Any]:
    """The template context of one event, for every recipient (``recipient`` is added per person)."""
    spec = triggers.spec(event["trigger"])
    payload: Mapping[Any, Any] = event["payload"] or {}
    at: datetime = event["created_at"]
    context: dict[str, Any] = {
        "case": {
            "id": case.id,
            "reference": case.reference,
            "title": case.title,
            "protective_marking": case.protective_marking,
            "state": event["to_state"],
            "band": case.band or "unscored",
            "risk": _risk(case.risk),
            "hub": hub_name,
            "owner": owner_name,
            "capability": case.capability or "n/a",
        },
        "event": {
            "trigger": event["trigger"],
            # How the trigger's definition names the action and what its reason holds (e.g. the question
            # the centre asked the requester), so a notice says it in the pages' words.
            "action": spec.page.label if spec is not None else event["trigger"].replace("_", " "),
            "reason_label": spec.page.reason_label if spec is not None else "Reason",
            "actor": event["actor"],
            "reason": event["reason"],
            "at": at,
            "from_state": event["from_state"],
            "to_state": event["to_state"],
        },
        "base_url": base_url,
    }
    if kind == "case_submitted":
        context["due_at"] = case.sla_due_at or at
    elif kind == "case_tasked":
        context["due_at"] = case.review_due_at or at
    elif kind == "review_reminder":
        context["due_at"] = _parse(payload.get("due_at")) or at
        context["days_remaining"] = int(payload.get("days_remaining", 0))
    elif kind == "review_overdue":
        due = _parse(payload.get("due_at")) or at
        context["due_at"] = due
        # The timer fires at the due moment: that is already "a day late" for the supervisor's purposes.
        context["days_overdue"] = max(1, (at.date() - due.date()).days)
    elif kind == "sla_breached":
        context["due_at"] = _parse(payload.get("due_at")) or at
        stage = str(payload.get("stage") or event["from_state"] or "")
        context["sla"] = {"stage": _STAGE_WORK.get(stage, stage)}
        rules = (payload.get("escalation") or {}).get("rules") or []
        if rules:
            context["why"] = list(rules)
    elif kind == "case_escalated":
        context.update(_escalation_context(payload=payload, case=case, escalation=escalation, at=at))
    if payload.get("to_hub"):  # a transfer (workflow.effects.transfer): say where from and where to
        context["moved"] = {"from_hub": payload.get("from_hub"), "to_hub": payload["to_hub"]}
    return context


def _escalation_context(
    *,
    payload: Mapping[Any, Any],
    case: CaseAsOf,
    escalation: Mapping[Any, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    summary: Mapping[Any, Any] = payload.get("escalation") or escalation or {}
    reason = str(summary.get("reason") or payload.get("reason") or "")
    level_name = str(summary.get("level_name") or "supervisor")
    rules = list(summary.get("rules") or []) or ["(none recorded)"]
    step = int(payload.get("step", summary.get("step", 0)) or 0)
    # "Acknowledge by": when the ladder will take its next step if nobody acts; the top rung has no
    # next step, so the answer is now.
    nxt = ladders.next_step_timer(case.policy, escalation_id=0, step=step, at=at)
    return {
        "why": rules,
        "escalation": {"decision": _decision(reason, level_name)},
        "due_at": nxt.due_at if nxt is not None else at,
    }


def webhook_payload(*, event: Mapping[Any, Any], case: CaseAsOf, kind: str, base_url: str) -> dict[str, Any]:
    """What a partner system is told: references and states, never the request's free text."""
    return {
        "kind": kind,
        "event": {
            "id": event["id"],
            "seq": event["seq"],
            "trigger": event["trigger"],
            "actor": event["actor"],
            "at": event["created_at"],
            "from_state": event["from_state"],
            "to_state": event["to_state"],
        },
        "case": {
            "id": case.id,
            "reference": case.reference,
            "protective_marking": case.protective_marking,
            "band": case.band,
            "hub": case.hub,
            "requesting_unit": case.requesting_unit,
            "url": f"{base_url.rstrip('/')}/cases/{case.id}",
        },
    }
