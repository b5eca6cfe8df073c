"""Webhook subscriptions: which partner systems hear of which case events (admins configure them)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlmodel import Session

from notifications.models import WebhookSubscription
from notifications.rendering import KINDS, MARKINGS
from notifications.tables import SUBSCRIPTION
from workflow.errors import FieldProblem, InvalidInput, NotFound
from workflow.lifecycle import TRIGGERS

# System events a subscription may name besides the people's triggers.
SYSTEM_TRIGGERS = frozenset(
    {
        "sla_breached",
        "review_reminder",
        "review_overdue",
        "escalation_step",
        "snooze_ended",
        "escalation_acknowledged",
        "escalation_snoozed",
        "escalation_resolved",
    }
)


def add_subscription(
    session: Session,
    *,
    name: str,
    url: str,
    actor: str,
    events: Sequence[str] = (),
    hub: str | None = None,
    unit: str | None = None,
    clearance: str = "OFFICIAL",
    secret: str | None = None,
) -> WebhookSubscription:
    """Register a webhook; the secret is generated when not given (show it once to whoever registers)."""
    problems: list[FieldProblem] = []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(FieldProblem("url", "must be an http:// or https:// URL with a host"))
    known = KINDS | set(TRIGGERS) | SYSTEM_TRIGGERS
    unknown = sorted(set(events) - known)
    if unknown:
        problems.append(FieldProblem("events", f"unknown event kinds {', '.join(unknown)}"))
    if clearance not in MARKINGS:
        problems.append(FieldProblem("clearance", f"must be one of {', '.join(MARKINGS)}"))
    if secret is not None and len(secret) < 16:
        problems.append(FieldProblem("secret", "at least 16 characters"))
    if problems:
        raise InvalidInput(problems)
    sub = WebhookSubscription(
        name=name,
        url=url,
        secret=secret or secrets.token_urlsafe(32),
        events=sorted(set(events)),
        hub=hub,
        unit=unit,
        clearance=clearance,
        created_by=actor,
    )
    try:
        session.add(sub)
        session.commit()
        session.refresh(sub)
    except BaseException:
        session.rollback()
        raise
    return sub


def list_subscriptions(session: Session, *, active_only: bool = False) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).order_by(SUBSCRIPTION.c.id)
    if active_only:
        query = query.where(SUBSCRIPTION.c.active.is_(True))
    return list(session.execute(query).scalars())


def deactivate_subscription(session: Session, *, subscription_id: int) -> None:
    """Stop a webhook; its pending deliveries die at their next attempt rather than reach it."""
    try:
        result = session.execute(
            update(SUBSCRIPTION).where(SUBSCRIPTION.c.id == subscription_id).values(active=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound(f"no webhook subscription {subscription_id}")
        session.commit()
    except BaseException:
        session.rollback()
        raise
