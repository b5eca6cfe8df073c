"""Time as people read it: on the London wall clock, with GMT or BST said where it matters.

Everything stored, hashed and served by the API is UTC (ISO 8601); everything a person reads (pages,
e-mails, CLI output, reasons written into case events) goes through this module, so a review due at
10:07 in winter reads 10:07, not 10:07 UTC one day and 11:07 BST the next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ZONE_NAME = "Europe/London"
ZONE = ZoneInfo(ZONE_NAME)


def to_local(value: datetime, zone: ZoneInfo = ZONE) -> datetime:
    """The instant on the London wall clock; a naive value is taken as UTC (how SQLite hands times back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def local_date(value: datetime, zone: ZoneInfo = ZONE) -> date:
    """The London calendar day the instant falls on (not UTC's, which differs after 23:00 in summer)."""
    return to_local(value, zone).date()


def strftime(value: datetime, fmt: str, zone: ZoneInfo = ZONE) -> str:
    """`fmt` applied on the London wall clock (for pages with a layout of their own)."""
    return to_local(value, zone).strftime(fmt)


def moment(value: datetime, zone: ZoneInfo = ZONE) -> str:
    """For sentences: ``Mon 26 Oct 2026, 10:07 GMT``."""
    local = to_local(value, zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def day(value: datetime | date, zone: ZoneInfo = ZONE) -> str:
    """A calendar day: ``Mon 26 Oct 2026`` (an instant is first put on the London clock)."""
    d = to_local(value, zone).date() if isinstance(value, datetime) else value
    return f"{d:%a} {d.day} {d:%b %Y}"


def stamp(value: datetime, zone: ZoneInfo = ZONE) -> str:
    """For CLI columns: London time with its offset, ``2026-07-01 11:07:00+01:00`` (one word per part,
    exact, and in winter the same digits as UTC)."""
    return to_local(value, zone).isoformat(sep=" ", timespec="seconds")
