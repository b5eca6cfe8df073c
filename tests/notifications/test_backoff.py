from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifications.backoff import MAX_ATTEMPTS, is_dead, next_attempt_at, retry_at

NOW = datetime(2026, 4, 13, 9, 0, tzinfo=UTC)


def delay(
    attempts: int, *, jitter: float = 0.1, factor: float = 2, rng: random.Random | None = None
) -> float:
    return (next_attempt_at(attempts, NOW, jitter=jitter, factor=factor, rng=rng) - NOW).total_seconds()


def test_waits_grow_exponentially_without_jitter() -> None:
    assert [delay(n, jitter=0) for n in range(1, 8)] == [30, 60, 120, 240, 480, 960, 1920]


def test_waits_are_capped_by_the_ceiling() -> None:
    assert delay(8, jitter=0) == 3600
    assert delay(10_000, jitter=0) == 3600
    assert delay(10_000, jitter=0, factor=2.5) == 3600, "a float factor must not overflow"


def test_jitter_only_shortens_and_stays_within_its_fraction() -> None:
    rng = random.Random(7)
    for attempts in range(1, 15):
        nominal = delay(attempts, jitter=0)
        jittered = delay(attempts, rng=rng)
        assert 0.9 * nominal <= jittered <= nominal


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(1)
    assert len({delay(3, rng=rng) for _ in range(20)}) > 1


def test_same_rng_seed_same_schedule() -> None:
    first = [next_attempt_at(n, NOW, rng=random.Random(42)) for n in range(1, 9)]
    second = [next_attempt_at(n, NOW, rng=random.Random(42)) for n in range(1, 9)]
    assert first == second


def test_schedule_rides_out_an_hour_long_mail_outage() -> None:
    # Story 10: the mail server is down for an hour; the last attempt must come after it is back,
    # even when every wait is shortened by the full jitter.
    shortest_total = sum(delay(n, jitter=0) * 0.9 for n in range(1, MAX_ATTEMPTS))
    assert shortest_total > timedelta(hours=1).total_seconds()


def test_dead_after_max_attempts() -> None:
    assert not is_dead(MAX_ATTEMPTS - 1)
    assert is_dead(MAX_ATTEMPTS)
    assert retry_at(MAX_ATTEMPTS - 1, NOW, retryable=True) is not None
    assert retry_at(MAX_ATTEMPTS, NOW, retryable=True) is None


def test_permanent_failure_is_dead_at_once() -> None:
    assert retry_at(1, NOW, retryable=False) is None


def test_retry_is_scheduled_in_the_future() -> None:
    when = retry_at(2, NOW, retryable=True, rng=random.Random(3))
    assert when is not None and NOW < when <= NOW + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("attempts", "now", "kwargs", "problem"),
    [
        (0, NOW, {}, "starts at 1"),
        (1, NOW.replace(tzinfo=None), {}, "timezone-aware"),
        (1, NOW, {"jitter": 1.0}, "jitter"),
        (1, NOW, {"factor": 0.5}, "factor"),
    ],
)
def test_bad_arguments_are_refused(
    attempts: int, now: datetime, kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        next_attempt_at(attempts, now, **kwargs)
