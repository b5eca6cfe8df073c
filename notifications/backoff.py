"""When to try a failed delivery again, and when to stop.

Exponential back-off: 30 s, 1 min, 2 min, ... capped at an hour, each shortened by up to ``jitter`` at
random so deliveries that failed together (the mail server went down) do not all retry in the same
second. With the defaults, ``MAX_ATTEMPTS`` = 10 spreads the attempts over about three hours, so an
outage of an hour (SCENARIOS story 10) is ridden out with time to spare; after that the delivery is
``dead`` and shows so, for someone to look at.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_ATTEMPTS = 10


def next_attempt_at(
    attempts: int,
    now: datetime,
    *,
    base_seconds: float = 30,
    factor: float = 2,
    ceiling_seconds: float = 3600,
    jitter: float = 0.1,
    rng: random.Random | None = None,
) -> datetime:
    """The time of the next attempt after ``attempts`` failed ones (``attempts`` >= 1).

    The delay is ``base * factor ** (attempts - 1)``, capped at ``ceiling_seconds``, then reduced by a
    random fraction of at most ``jitter`` (so the ceiling is never exceeded). Pass ``rng`` for
    repeatable results.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts failed attempts and starts at 1, got {attempts}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if base_seconds <= 0 or factor < 1 or ceiling_seconds < base_seconds:
        raise ValueError("need base_seconds > 0, factor >= 1 and ceiling_seconds >= base_seconds")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter is a fraction in [0, 1), got {jitter}")
    try:
        delay = min(float(ceiling_seconds), base_seconds * factor ** (attempts - 1))
    except OverflowError:  # factor ** huge: long past the ceiling anyway
        delay = float(ceiling_seconds)
    delay *= 1 - jitter * (rng or random).random()
    return now + timedelta(seconds=delay)


def is_dead(attempts: int, *, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """True once ``attempts`` failed attempts have used up the allowance."""
    return attempts >= max_attempts


def retry_at(
    attempts: int,
    now: datetime,
    *,
    retryable: bool,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
) -> datetime | None:
    """The outbox's decision after a failure: when to try again, or ``None`` for dead.

    A permanent failure (``retryable`` false, e.g. an address the server rejects) is dead at once.
    """
    if not retryable or is_dead(attempts, max_attempts=max_attempts):
        return None
    return next_attempt_at(attempts, now, rng=rng)
