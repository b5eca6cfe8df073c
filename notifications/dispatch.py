"""Outbox -> deliveries: turn case events into one delivery row per (event, recipient, channel).

workflow/ writes an ``event_outbox`` row in the same transaction as each event (the transactional
outbox). Here a worker claims a batch of those rows, works out who is told on which channel, writes the
delivery rows and deletes the outbox rows, all in one transaction: an event is dispatched entirely or
not at all, and the unique key on (event, recipient, channel) makes a second dispatch of the same event
an error rather than a second message. Rendering and sending happen later (notifications.delivery), so
a template problem or a dead mail server never holds an event here.

On PostgreSQL the claim skips outbox rows another worker has locked (``FOR UPDATE SKIP LOCKED``), so
several workers share the outbox. SQLite ignores that clause: run one worker there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from notifications import recipients
from notifications.messages import kind_for_role, message_kind
from notifications.models import DeliveryStatus
from notifications.tables import DELIVERY
from workflow.db import utcnow
from workflow.tables import CASE, EVENT, OUTBOX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchReport:
    events: int
    deliveries: int


def plan_deliveries(
    *,
    event: Mapping[Any, Any],
    case: Mapping[Any, Any],
    people: Mapping[str, recipients.Person],
    subscriptions: list[recipients.Subscription],
    email_enabled: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """The delivery rows one event calls for (pure: reads nothing, writes nothing)."""
    payload = event["payload"] or {}
    kind = message_kind(event["trigger"], payload)
    base = {
        "event_id": event["id"],
        "case_id": case["id"],
        "trigger": event["trigger"],
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "subject": "",
        "body_text": "",
        # Every row carries every key: one executemany needs the same columns in each.
        "address": None,
        "subscription_id": None,
    }
    roles = [r for r in payload.get("notify") or [] if r in recipients.ROLES]
    unknown = set(payload.get("notify") or []) - set(roles)
    if unknown:
        # A role the workflow names but nobody here knows: tell who we can, and say so once in the log.
        log.warning("event %s names unknown notify roles %s", event["id"], sorted(unknown))
    rows: list[dict[str, Any]] = []
    told = {**case, "previous_hub": payload.get("from_hub")} if "from_hub" in payload else case
    for r in recipients.resolve(roles, case=told, people=people):
        row = {**base, "recipient": r.person.username, "kind": kind_for_role(kind, r.role)}
        rows.append({**row, "channel": "inapp"})
        if email_enabled and r.person.email:
            rows.append({**row, "channel": "email", "address": r.person.email})
    for s in recipients.matching(subscriptions, case=case, kind=kind, trigger=event["trigger"]):
        rows.append(
            {
                **base,
                "recipient": f"subscription:{s.id}",
                "channel": "webhook",
                "kind": kind,
                "address": s.url,
                "subscription_id": s.id,
            }
        )
    return rows


def dispatch(
    session: Session, *, email_enabled: bool, now: datetime | None = None, limit: int = 500
) -> DispatchReport:
    """Dispatch up to `limit` outbox events in one transaction (which this call commits)."""
    at = now or utcnow()
    try:
        claim = select(OUTBOX.c.event_id).order_by(OUTBOX.c.event_id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        ids = list(session.execute(claim).scalars())
        if not ids:
            session.rollback()
            return DispatchReport(0, 0)
        events = session.execute(select(EVENT).where(EVENT.c.id.in_(ids))).mappings().all()
        case_ids = {e["case_id"] for e in events}
        cases = {c["id"]: c for c in session.execute(select(CASE).where(CASE.c.id.in_(case_ids))).mappings()}
        people = recipients.active_people(session)
        subscriptions = recipients.active_subscriptions(session)
        rows: list[dict[str, Any]] = []
        for event in events:
            rows += plan_deliveries(
                event=event,
                case=cases[event["case_id"]],
                people=people,
                subscriptions=subscriptions,
                email_enabled=email_enabled,
                now=at,
            )
        if rows:
            session.execute(insert(DELIVERY), rows)
        session.execute(delete(OUTBOX).where(OUTBOX.c.event_id.in_(ids)))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return DispatchReport(len(ids), len(rows))
