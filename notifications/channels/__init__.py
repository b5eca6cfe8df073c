"""Delivery channels: e-mail over SMTP and signed webhooks (the in-app inbox needs no channel)."""

from notifications.channels.email import SmtpSender, build_email
from notifications.channels.errors import DeliveryError
from notifications.channels.webhook import WebhookSender, canonical_json, sign, verify_signature

__all__ = [
    "DeliveryError",
    "SmtpSender",
    "WebhookSender",
    "build_email",
    "canonical_json",
    "sign",
    "verify_signature",
]
