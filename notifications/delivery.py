"""Sending deliveries: render each from its event, hand it to its channel, record what happened.

A sender leases a batch of due rows (``pending`` or ``failed`` whose ``next_attempt_at`` has come), then
settles each in its own transaction after the channel has answered: ``sent``; ``failed`` with the error,
the attempt count and the next attempt from notifications.backoff; or ``dead`` once the attempts are used
up or the failure is permanent. A channel's failure is recorded on its row and nothing else waits on it:
case transitions never touch this module, and one bad address never holds up the rest of the batch.

Delivery guarantee: the delivery *row* exists exactly once per (event, recipient, channel), and is marked
sent at most once. At the SMTP and HTTP boundary it is at-least-once: if the worker dies after the
server accepted a message but before the row is marked sent, the lease runs out and the message goes
again. The e-mail ``Message-ID`` and the webhook ``X-Sctac-Delivery`` header are derived from the
delivery id, so that second copy is recognisable as the same message (mail clients and receivers
deduplicate on them).

In-app deliveries are the inbox: "sending" one is rendering it into the row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlmodel import Session

from notifications import backoff
from notifications.channels.email import SmtpSender
from notifications.channels.errors import DeliveryError
from notifications.channels.webhook import WebhookSender
from notifications.messages import build_context, webhook_payload
from notifications.models import Delivery
from notifications.rendering import RenderedMessage, RenderError, render_message
from notifications.tables import DELIVERY, SUBSCRIPTION
from workflow.db import utcnow
from workflow.errors import DomainError, NotFound
from workflow.leases import claim_leased
from workflow.tables import ASSESSMENT, CASE, ESCALATION, EVENT, HUB, USER

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
DUE = ("pending", "failed")


@dataclass
class Channels:
    """The senders a worker uses; ``email`` is None when no SMTP server is configured."""

    webhook: WebhookSender
    base_url: str
    email: SmtpSender | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Channels:
        email = None
        if settings.smtp_url:
            email = SmtpSender(settings.smtp_url, sender=settings.mail_from, timeout=settings.smtp_timeout)
        return cls(WebhookSender(settings.webhook_timeout), settings.base_url, email)

    def close(self) -> None:
        self.webhook.close()


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.dead


def claim_deliveries(
    session: Session, *, now: datetime, limit: int = 200, lease: timedelta = LEASE
) -> list[int]:
    """Lease up to `limit` due deliveries for this sender and return their ids (committed at once)."""
    return claim_leased(
        session,
        table=DELIVERY,
        due=[DELIVERY.c.status.in_(DUE), DELIVERY.c.next_attempt_at <= now],
        order_by=[DELIVERY.c.next_attempt_at, DELIVERY.c.id],
        now=now,
        lease=lease,
        limit=limit,
    )


@dataclass
class _Sources:
    """Everything the messages of one batch are built from, read in a handful of queries."""

    events: dict[int, RowMapping]
    cases: dict[int, RowMapping]
    hubs: dict[str, str]
    users: dict[str, RowMapping]
    grades: dict[int, str]
    escalations: dict[int, RowMapping]
    subscriptions: dict[int, RowMapping]


def _load_sources(session: Session, rows: Sequence[RowMapping]) -> _Sources:
    event_ids = {r["event_id"] for r in rows}
    events = {e["id"]: e for e in session.execute(select(EVENT).where(EVENT.c.id.in_(event_ids))).mappings()}
    case_ids = {r["case_id"] for r in rows}
    cases = {c["id"]: c for c in session.execute(select(CASE).where(CASE.c.id.in_(case_ids))).mappings()}
    hubs = {h.code: h.name for h in session.execute(select(HUB.c.code, HUB.c.name))}
    users = {u["username"]: u for u in session.execute(select(USER)).mappings()}
    grades: dict[int, str] = {}
    for case_id, grade in session.execute(
        select(ASSESSMENT.c.case_id, ASSESSMENT.c.org_grade)
        .where(ASSESSMENT.c.case_id.in_(case_ids))
        .order_by(ASSESSMENT.c.case_id, ASSESSMENT.c.seq)
    ):
        grades[case_id] = grade  # the latest assessment wins
    escalation_ids = {int(i) for e in events.values() if (i := (e["payload"] or {}).get("escalation_id"))}
    escalation_rows = session.execute(
        select(ESCALATION).where(ESCALATION.c.id.in_(escalation_ids))
    ).mappings()
    subscription_ids = {r["subscription_id"] for r in rows if r["subscription_id"] is not None}
    subscriptions = session.execute(
        select(SUBSCRIPTION).where(SUBSCRIPTION.c.id.in_(subscription_ids))
    ).mappings()
    return _Sources(
        events,
        cases,
        hubs,
        users,
        grades,
        {e["id"]: e for e in escalation_rows},
        {s["id"]: s for s in subscriptions},
    )


def _render(row: RowMapping, src: _Sources, base_url: str) -> RenderedMessage:
    event, case = src.events[row["event_id"]], src.cases[row["case_id"]]
    escalation_id = (event["payload"] or {}).get("escalation_id")
    owner = src.users.get(case["owner"]) if case["owner"] else None
    context = build_context(
        event=event,
        case=case,
        kind=row["kind"],
        hub_name=src.hubs.get(case["hub"], case["hub"]) if case["hub"] else None,
        owner_name=owner["display_name"] if owner is not None else case["owner"],
        capability=src.grades.get(case["id"]),
        escalation=src.escalations.get(int(escalation_id)) if escalation_id else None,
        base_url=base_url,
    )
    user = src.users[row["recipient"]]
    context["recipient"] = {"username": user["username"], "display_name": user["display_name"]}
    return render_message(row["kind"], context)


def delivery_key(delivery_id: int) -> str:
    """The same key on every attempt: the e-mail Message-ID and the webhook delivery header derive from it."""
    return f"sctac-delivery-{delivery_id}"


def _settle(session: Session, delivery_id: int, values: dict[str, Any]) -> None:
    # Only a row still due is settled: a row someone marked dead or retried meanwhile is theirs.
    session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status.in_(DUE))
        .values(claimed_until=None, **values)
    )


def _failure(row: RowMapping, exc: DeliveryError | RenderError, now: datetime) -> dict[str, Any]:
    attempts = row["attempts"] + 1
    retryable = isinstance(exc, DeliveryError) and exc.retryable
    when = backoff.retry_at(attempts, now, retryable=retryable)
    return {
        "attempts": attempts,
        "status": "failed" if when is not None else "dead",
        "next_attempt_at": when,
        "last_error": str(exc)[:4000],
        "last_status": exc.status if isinstance(exc, DeliveryError) else None,
    }


def _attempt(row: RowMapping, src: _Sources, channels: Channels, now: datetime) -> dict[str, Any]:
    """Send one delivery and return the column values that record the outcome."""
    channel = row["channel"]
    try:
        if channel == "webhook":
            sub = src.subscriptions.get(row["subscription_id"])
            if sub is None or not sub["active"]:
                raise DeliveryError("the webhook subscription is no longer active", False)
            payload = webhook_payload(
                event=src.events[row["event_id"]],
                case=src.cases[row["case_id"]],
                kind=row["kind"],
                base_url=channels.base_url,
            )
            # The signature's timestamp is the wall clock, whatever `now` the worker schedules by:
            # receivers compare it with their own clock.
            status = channels.webhook.send(
                sub["url"], sub["secret"], payload, delivery_id=delivery_key(row["id"]), now=utcnow()
            )
            return {"status": "sent", "sent_at": now, "attempts": row["attempts"] + 1, "last_status": status}
        user = src.users.get(row["recipient"])
        if user is None or not user["active"]:
            raise DeliveryError(f"{row['recipient']} is no longer an active user", False)
        message = _render(row, src, channels.base_url)
        done = {
            "status": "sent",
            "sent_at": now,
            "attempts": row["attempts"] + 1,
            "subject": message.subject,
            "body_text": message.text,
            "body_html": message.html,
            "last_error": None,
        }
        if channel == "email":
            if channels.email is None:
                raise DeliveryError("no SMTP server is configured (SCTAC_SMTP_URL)", True)
            # At-least-once from here: a crash before this row is settled sends it again, same Message-ID.
            channels.email.send([row["address"]], message, delivery_key=delivery_key(row["id"]))
        return done
    except (DeliveryError, RenderError) as exc:
        return _failure(row, exc, now)
    except Exception as exc:
        # Whatever else one delivery trips over (a malformed address, a bug) is recorded on that row and
        # retried with back-off like any failure, instead of stopping the batch behind it.
        log.exception("delivery %s", row["id"])
        return _failure(row, DeliveryError(f"{type(exc).__name__}: {exc}", True), now)


def send_due(
    session: Session,
    *,
    channels: Channels,
    now: datetime | None = None,
    limit: int = 200,
    lease: timedelta = LEASE,
) -> SendReport:
    """Claim and send what is due now; each delivery is settled in its own transaction."""
    at = now or utcnow()
    report = SendReport()
    ids = claim_deliveries(session, now=at, limit=limit, lease=lease)
    if not ids:
        return report
    try:
        rows = session.execute(select(DELIVERY).where(DELIVERY.c.id.in_(ids))).mappings().all()
        src = _load_sources(session, rows)
    finally:
        session.rollback()  # no transaction stays open while a channel talks to the network
    for row in rows:
        if row["status"] not in DUE:
            continue
        values = _attempt(row, src, channels, at)
        try:
            _settle(session, row["id"], values)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        status = values["status"]
        if status == "sent":
            report.sent += 1
        else:
            report.failed += status == "failed"
            report.dead += status == "dead"
            report.errors.append(f"delivery {row['id']} ({row['channel']}): {values['last_error']}")
    return report


# --- Dead letters ---------------------------------------------------------------------------------------


def list_deliveries(
    session: Session, *, status: str | None = None, case_id: int | None = None, limit: int = 100
) -> list[Delivery]:
    query = select(Delivery)
    if status is not None:
        query = query.where(DELIVERY.c.status == status)
    if case_id is not None:
        query = query.where(DELIVERY.c.case_id == case_id)
    return list(session.execute(query.order_by(DELIVERY.c.id.desc()).limit(limit)).scalars())


def retry(session: Session, *, delivery_ids: Sequence[int] | None = None, now: datetime | None = None) -> int:
    """Give dead (or failed) deliveries a fresh set of attempts, due now; `None` means every dead one.

    Returns how many were re-queued. A sent delivery is never re-sent: that would break "once each".
    """
    at = now or utcnow()
    try:
        query = update(DELIVERY).values(status="pending", attempts=0, next_attempt_at=at, claimed_until=None)
        if delivery_ids is None:
            query = query.where(DELIVERY.c.status == "dead")
        else:
            found = dict(
                session.execute(
                    select(DELIVERY.c.id, DELIVERY.c.status).where(DELIVERY.c.id.in_(delivery_ids))
                ).all()
            )
            missing = sorted(set(delivery_ids) - set(found))
            if missing:
                raise NotFound(f"no delivery {', '.join(map(str, missing))}")
            sent = sorted(i for i, s in found.items() if s == "sent")
            if sent:
                raise DomainError(f"delivery {', '.join(map(str, sent))} was already sent; not sending again")
            query = query.where(DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status.in_(("dead", "failed")))
        count = session.execute(query).rowcount  # type: ignore[attr-defined]
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return int(count)


def status_counts(session: Session) -> dict[str, int]:
    """How many deliveries are in each status (for the CLI)."""
    rows = session.execute(select(DELIVERY.c.status, func.count()).group_by(DELIVERY.c.status)).all()
    return {status: int(n) for status, n in rows}
