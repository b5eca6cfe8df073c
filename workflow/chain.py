"""The tamper-evident hash chain over each case's events.

Each event's hash covers its own fields and the previous event's hash, so altering, deleting or
reordering any row breaks every hash after it. The canonical form is explicit (sorted-key JSON, UTC
timestamps with microseconds) so SQLite and PostgreSQL give byte-identical input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: Mapping[str, Any],
    created_at: datetime,
    prev_hash: str,
) -> str:
    body = json.dumps(
        [case_id, seq, trigger, from_state, to_state, actor, reason, payload, canonical_time(created_at)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(prev_hash.encode("ascii") + body.encode("utf-8")).hexdigest()
