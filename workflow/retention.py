"""Retention: each ended case's review date from the schedule, and the records officer's decisions.

The schedule is data (rules/default/retention.yaml, validated by rules/retention.py), read from the
rules folder in the settings. When a case ends, `on_ending` puts it in its group and sets its review
date (in the same transaction as the ending, through effects.leaving_a_stage; the importer calls it
for cases that arrive already ended). At the review the records officer fires `retain` (a reason and
the next review date) or `dispose` (a reason): both record a `RetentionDecision` row and an event
naming it; a disposal then redacts the case's history (workflow/redaction.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import insert

import rules
from rules.retention import Retention, load_retention, retention_file
from workflow.errors import ConfigError, FieldProblem, InvalidInput
from workflow.settings import get_settings
from workflow.tables import RETENTION

RETAIN, DISPOSE = "retain", "dispose"


def schedule(rules_path: Path | None = None) -> Retention:
    """The retention schedule of the configured rules folder (else the shipped default), parsed once
    per version of the file."""
    path = retention_file(rules_path or get_settings().rules_path) or retention_file(
        rules.DEFAULT_RULESET_PATH
    )
    if path is None:
        raise ConfigError("no retention schedule (retention.yaml) in the rules folder or the default rules")
    info = path.stat()
    return _load(path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _load(path: Path, _mtime_ns: int, _size: int) -> Retention:
    try:
        return load_retention(path)
    except rules.RuleFileErrors as exc:
        raise ConfigError(f"retention schedule does not check: {exc.errors[0]}") from None


def on_ending(
    case: Mapping[str, Any], *, ended_at: datetime, policy: Retention | None = None
) -> dict[str, Any]:
    """The retention columns of a case that has just ended (its state, band and outcome as they end)."""
    policy = policy or schedule()
    group = policy.group_for(case)
    return {"retention_group": group.name, "retention_review_at": group.review_after.after(ended_at)}


def start_of(day: date) -> datetime:
    """A review date as the moment it falls due (midnight UTC at its start)."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def record_decision(
    conn: Any,
    *,
    case_id: int,
    decision: str,
    reason: str | None,
    by: str,
    at: datetime,
    event_seq: int,
    group: str | None,
    next_review_at: datetime | None = None,
) -> int:
    """Write the decision row (before anything it decides is done) and return its id."""
    if not reason:
        raise InvalidInput([FieldProblem("reason", f"a {decision} decision records its reason")])
    result = conn.execute(
        insert(RETENTION).returning(RETENTION.c.id),
        {
            "case_id": case_id,
            "decision": decision,
            "reason": reason,
            "next_review_at": next_review_at,
            "retention_group": group,
            "decided_by": by,
            "decided_at": at,
            "event_seq": event_seq,
        },
    )
    return int(result.scalar_one())
