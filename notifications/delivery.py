"""Sending deliveries: render each from its event, hand it to its channel, record what happened.

A sender leases a batch of due rows (``pending`` or ``failed`` whose ``next_attempt_at`` has come, and
``sending`` rows whose sender died) and keeps the lease alive with a heartbeat while it works through
them. For an e-mail or a webhook it first records the attempt (``sending``, ``attempted_at``, the
attempt count) in a transaction of its own, then hands the message to the channel, then settles the row
in another: ``sent``; ``failed`` with the error, and the next attempt from notifications.backoff; or
``dead`` once the attempts are used up or the failure is permanent. An in-app delivery has no outside
side to it: rendering it into the row and marking it sent is one transaction. A channel's failure is
recorded on its row and nothing else waits on it: case transitions never touch this module, and one
bad address never holds up the rest of the batch. ``last_error`` keeps the latest failure even after a
later attempt succeeds: the row is the record of what went wrong on the way.

Delivery guarantee (story 10):
- The delivery *row* exists exactly once per (event, recipient, channel) (a unique key), and it is
  marked sent at most once. In-app messages are therefore delivered exactly once.
- E-mail and webhooks are delivered at least once, and more than once only after a crash between the
  moment the attempt was recorded and the moment its outcome was. Such a row stays ``sending``; when
  its lease lapses the next worker cannot know whether the server got the message (the crash may have
  come before or after it left), so it sends it again, with the same e-mail ``Message-ID`` and the
  same webhook ``X-Sctac-Delivery`` / ``Idempotency-Key`` header, and notes the unknown outcome in
  ``last_error``. Receivers de-duplicate on those: a mail client shows one message per Message-ID, and
  a partner system ignores a delivery key it has already processed. A row that was never recorded as
  ``sending`` was never handed to a channel, so "not sent" rows are never duplicated.
- We re-send rather than drop a maybe-sent message because a missed escalation costs more than a
  duplicate that carries its own de-duplication key.

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

from notifications import backoff, crashpoints
from notifications.as_of import CaseAsOf, cases_as_of
from notifications.channels.email import SmtpSender
from notifications.channels.errors import DeliveryError
from notifications.channels.webhook import WebhookSender
from notifications.messages import build_context, webhook_payload
from notifications.models import Delivery, DeliveryStatus
from notifications.rendering import RenderedMessage, RenderError, render_message
from notifications.tables import DELIVERY, SUBSCRIPTION
from workflow.db import utcnow
from workflow.errors import DomainError, NotFound
from workflow.leases import Heartbeat, Lease, claim_lease, default_lease
from workflow.tables import CASE, ESCALATION, EVENT, HUB, USER

log = logging.getLogger(__name__)

# What a sender may pick up: never attempted, failed and due again, or recorded as sending by a sender
# whose lease has lapsed (it died mid-attempt: maybe sent).
DUE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.SENDING)
# Channels with a side outside the database, whose attempts are recorded before the message leaves.
EXTERNAL = ("email", "webhook")


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


def lease_deliveries(
    session: Session, *, now: datetime, limit: int = 200, lease: timedelta | None = None
) -> Lease:
    """Lease up to `limit` due deliveries for this sender (committed at once)."""
    return claim_lease(
        session,
        table=DELIVERY,
        due=[DELIVERY.c.status.in_(DUE), DELIVERY.c.next_attempt_at <= now],
        order_by=[DELIVERY.c.next_attempt_at, DELIVERY.c.id],
        now=now,
        lease=lease or default_lease(),
        limit=limit,
    )


def claim_deliveries(
    session: Session, *, now: datetime, limit: int = 200, lease: timedelta | None = None
) -> list[int]:
    """Lease up to `limit` due deliveries for this sender and return their ids (committed at once)."""
    return lease_deliveries(session, now=now, limit=limit, lease=lease).ids


@dataclass
class _Sources:
    """Everything the messages of one batch are built from, read in a handful of queries."""

    events: dict[int, RowMapping]
    cases: dict[int, CaseAsOf]  # by event id: the case as it stood at that event
    hubs: dict[str, str]
    users: dict[str, RowMapping]
    escalations: dict[int, RowMapping]
    subscriptions: dict[int, RowMapping]


def _load_sources(session: Session, rows: Sequence[RowMapping]) -> _Sources:
    event_ids = {r["event_id"] for r in rows}
    events = {e["id"]: e for e in session.execute(select(EVENT).where(EVENT.c.id.in_(event_ids))).mappings()}
    case_ids = {r["case_id"] for r in rows}
    # Only the case's identity is read from its row; everything a message says comes from the events.
    cases = {c["id"]: c for c in session.execute(select(CASE).where(CASE.c.id.in_(case_ids))).mappings()}
    as_of = cases_as_of(session, events=list(events.values()), cases=cases)
    hubs = {h.code: h.name for h in session.execute(select(HUB.c.code, HUB.c.name))}
    users = {u["username"]: u for u in session.execute(select(USER)).mappings()}
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
        as_of,
        hubs,
        users,
        {e["id"]: e for e in escalation_rows},
        {s["id"]: s for s in subscriptions},
    )


def _render(row: RowMapping, src: _Sources, base_url: str) -> RenderedMessage:
    event, case = src.events[row["event_id"]], src.cases[row["event_id"]]
    escalation_id = (event["payload"] or {}).get("escalation_id")
    owner = src.users.get(case.owner) if case.owner else None
    context = build_context(
        event=event,
        case=case,
        kind=row["kind"],
        hub_name=src.hubs.get(case.hub, case.hub) if case.hub else None,
        owner_name=owner["display_name"] if owner is not None else case.owner,
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


def _begin_attempt(session: Session, row: RowMapping, now: datetime) -> bool:
    """Record, and commit, that an attempt at an external channel starts now (before anything leaves).

    From this commit until the outcome is settled the row says "maybe sent": a crash in between leaves
    it ``sending`` for the next worker, which can tell it from a row that was never handed to a channel.
    """
    try:
        begun = session.execute(
            update(DELIVERY)
            .where(DELIVERY.c.id == row["id"], DELIVERY.c.status.in_(DUE))
            .values(status=DeliveryStatus.SENDING, attempted_at=now, attempts=row["attempts"] + 1)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return bool(begun.rowcount == 1)  # type: ignore[attr-defined]


def _failure(row: RowMapping, exc: DeliveryError | RenderError, now: datetime) -> dict[str, Any]:
    attempts = row["attempts"] + 1
    retryable = isinstance(exc, DeliveryError) and exc.retryable
    when = backoff.retry_at(attempts, now, retryable=retryable)
    return {
        "attempts": attempts,
        "status": DeliveryStatus.FAILED if when is not None else DeliveryStatus.DEAD,
        "next_attempt_at": when,
        "last_error": str(exc)[:4000],
        "last_status": exc.status if isinstance(exc, DeliveryError) else None,
    }


def _maybe_sent_note(row: RowMapping) -> str:
    began = row["attempted_at"]
    when = f" at {began:%Y-%m-%d %H:%M:%S} UTC" if began is not None else ""
    key = "Message-ID" if row["channel"] == "email" else "delivery key"
    return (
        f"attempt {row['attempts']} began{when} and its outcome was never recorded (the worker stopped); "
        f"sent again with the same {key}"
    )


def _attempt(row: RowMapping, src: _Sources, channels: Channels, now: datetime) -> dict[str, Any]:
    """Send one delivery and return the column values that record the outcome."""
    channel = row["channel"]
    attempts = row["attempts"] + 1
    try:
        if channel == "webhook":
            sub = src.subscriptions.get(row["subscription_id"])
            if sub is None or not sub["active"]:
                raise DeliveryError("the webhook subscription is no longer active", False)
            payload = webhook_payload(
                event=src.events[row["event_id"]],
                case=src.cases[row["event_id"]],
                kind=row["kind"],
                base_url=channels.base_url,
            )
            # The signature's timestamp is the wall clock, whatever `now` the worker schedules by:
            # receivers compare it with their own clock.
            status = channels.webhook.send(
                sub["url"], sub["secret"], payload, delivery_id=delivery_key(row["id"]), now=utcnow()
            )
            crashpoints.reach("delivery.sent")
            return {
                "status": DeliveryStatus.SENT,
                "sent_at": now,
                "attempts": attempts,
                "last_status": status,
            }
        user = src.users.get(row["recipient"])
        if user is None or not user["active"]:
            raise DeliveryError(f"{row['recipient']} is no longer an active user", False)
        message = _render(row, src, channels.base_url)
        done = {
            "status": DeliveryStatus.SENT,
            "sent_at": now,
            "attempts": attempts,
            "subject": message.subject,
            "body_text": message.text,
            "body_html": message.html,
        }
        if channel == "email":
            if channels.email is None:
                raise DeliveryError("no SMTP server is configured (SCTAC_SMTP_URL)", True)
            channels.email.send([row["address"]], message, delivery_key=delivery_key(row["id"]))
            crashpoints.reach("delivery.sent")
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
    lease: timedelta | None = None,
) -> SendReport:
    """Claim and send what is due now; each delivery is settled in its own transaction."""
    at = now or utcnow()
    report = SendReport()
    claim = lease_deliveries(session, now=at, limit=limit, lease=lease)
    if not claim.ids:
        return report
    with Heartbeat(session.get_bind(), claim):
        _send_claimed(session, claim.ids, channels=channels, at=at, report=report)
    return report


def _send_claimed(
    session: Session, ids: list[int], *, channels: Channels, at: datetime, report: SendReport
) -> None:
    try:
        rows = session.execute(select(DELIVERY).where(DELIVERY.c.id.in_(ids))).mappings().all()
        src = _load_sources(session, rows)
    finally:
        session.rollback()  # no transaction stays open while a channel talks to the network
    for row in rows:
        if row["status"] not in DUE:
            continue
        note = None
        if row["status"] == DeliveryStatus.SENDING:
            note = _maybe_sent_note(row)
            log.warning("delivery %s (%s): %s", row["id"], row["channel"], note)
        if row["channel"] in EXTERNAL:
            if not _begin_attempt(session, row, at):
                continue  # someone settled or retried it meanwhile
            crashpoints.reach("delivery.sending")
        values = _attempt(row, src, channels, at)
        if note is not None and values["status"] == DeliveryStatus.SENT:
            values["last_error"] = note  # the unknown outcome stays on record beside the success
        try:
            _settle(session, row["id"], values)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        status = values["status"]
        if status == DeliveryStatus.SENT:
            report.sent += 1
        else:
            report.failed += status == DeliveryStatus.FAILED
            report.dead += status == DeliveryStatus.DEAD
            report.errors.append(f"delivery {row['id']} ({row['channel']}): {values['last_error']}")


# --- Dead letters ---------------------------------------------------------------------------------------


def list_deliveries(
    session: Session,
    *,
    status: DeliveryStatus | str | None = None,
    case_id: int | None = None,
    limit: int = 100,
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
        query = update(DELIVERY).values(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=at, claimed_until=None
        )
        if delivery_ids is None:
            query = query.where(DELIVERY.c.status == DeliveryStatus.DEAD)
        else:
            found = dict(
                session.execute(
                    select(DELIVERY.c.id, DELIVERY.c.status).where(DELIVERY.c.id.in_(delivery_ids))
                ).all()
            )
            missing = sorted(set(delivery_ids) - set(found))
            if missing:
                raise NotFound(f"no delivery {', '.join(map(str, missing))}")
            sent = sorted(i for i, s in found.items() if s == DeliveryStatus.SENT)
            if sent:
                raise DomainError(f"delivery {', '.join(map(str, sent))} was already sent; not sending again")
            query = query.where(
                DELIVERY.c.id.in_(delivery_ids),
                DELIVERY.c.status.in_((DeliveryStatus.DEAD, DeliveryStatus.FAILED)),
            )
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


def channel_status_counts(session: Session) -> dict[tuple[str, str], int]:
    """How many deliveries each channel has in each status (for /metrics: no recipients, no bodies)."""
    rows = session.execute(
        select(DELIVERY.c.channel, DELIVERY.c.status, func.count()).group_by(
            DELIVERY.c.channel, DELIVERY.c.status
        )
    ).all()
    return {(channel, status): int(n) for channel, status, n in rows}
