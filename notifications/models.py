"""Rows notifications/ keeps: one delivery per (event, recipient, channel), and webhook subscriptions.

A delivery is derived from a case event by the dispatcher (outbox -> deliveries, one transaction) and
then sent by the worker; its status, attempts and last error are the visible record of what was told to
whom (see DeliveryStatus for what each status promises). The in-app deliveries are the inbox.
Importing this module registers both tables on SQLModel.metadata (Alembic's env.py imports it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from workflow.models.columns import json_list, utc_optional, utc_timestamp

CHANNELS = ("inapp", "email", "webhook")


class DeliveryStatus(StrEnum):
    """Where a delivery stands. Stored as its value; a StrEnum so it compares equal to that text."""

    PENDING = "pending"  # written by the dispatcher, not yet attempted
    # An attempt at an external channel (e-mail, webhook) was recorded before the message left, and its
    # outcome has not been: the message may or may not have reached the server. A worker that finds one
    # whose lease has lapsed (its sender died) sends it again with the same Message-ID / delivery key.
    SENDING = "sending"
    SENT = "sent"  # the channel accepted it (the inbox: it was rendered into the row)
    FAILED = "failed"  # the last attempt failed; tried again at next_attempt_at
    DEAD = "dead"  # attempts used up, or a permanent failure: waits for `sctac deliveries retry`


STATUSES = tuple(DeliveryStatus)


class WebhookSubscription(SQLModel, table=True):
    """A partner system told of case events by signed POSTs (see notifications.channels.webhook)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    url: str = Field(max_length=2000)
    # Kept in clear: an HMAC needs the secret itself to sign, not a hash of it.
    secret: str = Field(max_length=255)
    # Message kinds (case_escalated, ...) or triggers (prioritise, ...) to send; empty means every event.
    events: list[str] = json_list()
    hub: str | None = Field(default=None, max_length=16, description="only cases of this hub")
    unit: str | None = Field(default=None, max_length=16, description="only cases of this requesting unit")
    # A partner is cleared like a person: it never hears of a case whose marking its clearance does not cover.
    clearance: str = Field(default="OFFICIAL", max_length=32)
    active: bool = True
    created_by: str = Field(default="system", max_length=64)
    created_at: datetime = utc_timestamp()


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        # What makes "each (event, recipient, channel) is delivered at most once" a database fact.
        UniqueConstraint("event_id", "recipient", "channel", name="uq_delivery_event_recipient_channel"),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_delivery_inbox", "recipient", "channel", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="case_event.id")
    case_id: int = Field(foreign_key="case.id", index=True)
    recipient: str = Field(max_length=64, description="a username, or subscription:<id> for a webhook")
    channel: str = Field(max_length=8, description="inapp | email | webhook")
    address: str | None = Field(default=None, max_length=2000, description="e-mail address or webhook URL")
    subscription_id: int | None = Field(default=None, foreign_key="webhook_subscription.id")
    kind: str = Field(max_length=32, description="the message template kind")
    trigger: str = Field(max_length=32)
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(
        default=DeliveryStatus.PENDING, max_length=8, description="pending | sending | sent | failed | dead"
    )
    attempts: int = 0
    next_attempt_at: datetime | None = utc_optional()
    # When the latest attempt began: recorded (with status sending) before an e-mail or webhook leaves,
    # so that after a crash the row tells "maybe sent" from "not sent".
    attempted_at: datetime | None = utc_optional()
    # The sender leases rows it is sending; a sender that dies leaves them to be sent after the lease.
    claimed_until: datetime | None = utc_optional()
    # The latest failure, kept after a later success: the record of what went wrong on the way.
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_status: int | None = Field(default=None, description="SMTP reply code or HTTP status")
    created_at: datetime = utc_timestamp()
    sent_at: datetime | None = utc_optional()
    read_at: datetime | None = utc_optional()
