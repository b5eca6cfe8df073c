"""Webhook channel: JSON POSTs signed the way Stripe signs its events.

Headers: ``X-Sctac-Delivery`` (the delivery id, the same on every retry so receivers can deduplicate),
``Idempotency-Key`` (the same value, under the name the IETF httpapi draft gives it),
``X-Sctac-Timestamp`` (Unix seconds) and ``X-Sctac-Signature: sha256=<hex>``, an HMAC-SHA256 with the
subscription's secret over ``"<timestamp>.<body>"``. Signing the timestamp with the body lets a receiver
refuse a captured request replayed later: :func:`verify_signature` does both checks.

The body is canonical JSON (sorted keys, no spaces, UTF-8), so the same payload always has the same
bytes and signature. Redirects are not followed: a signed delivery goes to the URL that was registered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from notifications.channels.errors import DeliveryError

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300
# 408 Request Timeout and 429 Too Many Requests are the receiver asking us to come back later.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})
_ERROR_SNIPPET_BYTES = 200


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value.isoformat()} in a webhook payload; give it a time zone")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Sorted keys, compact separators, UTF-8; NaN and infinities refused (they are not JSON)."""
    text = json.dumps(
        payload,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )
    return text.encode()


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Sctac-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if ``signature`` signs ``body`` at ``timestamp`` and the timestamp is within the tolerance of now.

    A timestamp too far in the future is refused like a stale one, so a sender's clock cannot mint
    requests that stay replayable for longer than the tolerance.
    """
    _require_aware(now)
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - sent_at) > tolerance_seconds:
        return False
    # compare_digest on the whole header value: the comparison time does not reveal how much matched.
    return hmac.compare_digest(sign(secret, sent_at, body).encode(), signature.strip().encode())


class WebhookSender:
    """Posts signed payloads; holds one connection pool, so close it (or use it as a context manager)."""

    def __init__(self, timeout: float, *, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "sctac-webhook/1"},
        )

    def send(
        self,
        url: str,
        secret: str,
        payload: Mapping[str, Any],
        *,
        delivery_id: str,
        now: datetime,
    ) -> int:
        """POST ``payload`` to ``url``; returns the 2xx status or raises :class:`DeliveryError`."""
        _require_aware(now)
        body = canonical_json(payload)
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Sctac-Delivery": delivery_id,
            "Idempotency-Key": delivery_id,
            "X-Sctac-Timestamp": timestamp,
            "X-Sctac-Signature": sign(secret, timestamp, body),
        }
        try:
            # Streamed so a receiver's large reply is never read in full: we only need its status.
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
                if 200 <= status < 300:
                    return status
                snippet = _first_bytes(response)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"POST {_safe(url)} timed out: {type(exc).__name__}", True) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            # A subscription with a bad URL will not get better by waiting.
            raise DeliveryError(f"POST {_safe(url)}: invalid webhook URL: {exc}", False) from exc
        except httpx.TransportError as exc:
            # Connection refused, DNS failure, connection reset, TLS handshake: the receiver may come back.
            raise DeliveryError(f"POST {_safe(url)} failed: {str(exc) or type(exc).__name__}", True) from exc
        retryable = status >= 500 or status in _RETRYABLE_CLIENT_STATUSES
        raise DeliveryError(f"POST {_safe(url)} answered {status}: {snippet}", retryable, status=status)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _require_aware(now: datetime) -> None:
    # A naive "now" would be read as the host's local time and shift every timestamp by the UTC offset.
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _first_bytes(response: httpx.Response) -> str:
    chunk = b""
    for piece in response.iter_bytes():
        chunk += piece
        if len(chunk) >= _ERROR_SNIPPET_BYTES:
            break
    return chunk[:_ERROR_SNIPPET_BYTES].decode(errors="replace").strip()


def _safe(url: str) -> str:
    # Webhook URLs sometimes carry a token in the query string or credentials before the host;
    # keep both out of errors and logs.
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
