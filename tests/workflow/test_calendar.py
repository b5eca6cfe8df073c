"""Working-day arithmetic against the real England and Wales bank holidays (story 6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflow.calendar import DAY, Calendar


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar(region="ENG")


def london(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def test_two_working_days_from_friday_afternoon_end_on_tuesday(cal: Calendar) -> None:
    assert cal.advance(london(2026, 11, 27, 16), 2 * DAY, working=True) == london(2026, 12, 1, 16)


def test_bank_holiday_monday_does_not_count(cal: Calendar) -> None:
    # Friday 22 May 2026 16:00; Monday 25 May is the Spring Bank Holiday.
    assert cal.holiday_name(london(2026, 5, 25, 12).date()) == "Spring Bank Holiday"
    assert cal.advance(london(2026, 5, 22, 16), 2 * DAY, working=True) == london(2026, 5, 27, 16)


def test_christmas_skips_the_holidays_and_the_weekend(cal: Calendar) -> None:
    # Thu 24 Dec 2026 09:00 + 1 working day: Fri 25 (Christmas), Sat, Sun, Mon 28 (Boxing Day observed) skip.
    assert cal.advance(london(2026, 12, 24, 9), DAY, working=True) == london(2026, 12, 29, 9)


def test_elapsed_is_the_inverse_of_advance(cal: Calendar) -> None:
    start = london(2026, 3, 27, 10, 30)  # across the clocks going forward on 29 March
    end = cal.advance(start, 3.25 * DAY, working=True)
    assert cal.elapsed(start, end, working=True) == pytest.approx(3.25 * DAY)


def test_weekend_time_does_not_count(cal: Calendar) -> None:
    assert cal.elapsed(london(2026, 11, 28, 9), london(2026, 11, 29, 18), working=True) == 0
    assert cal.elapsed(london(2026, 11, 28, 9), london(2026, 11, 29, 18), working=False) == 33 * 3600


def test_plain_hours_ignore_the_calendar(cal: Calendar) -> None:
    start = london(2026, 12, 25, 8)
    assert cal.advance(start, cal.seconds(24, "hours"), working=False) == london(2026, 12, 26, 8)
    with pytest.raises(ValueError, match="unknown duration unit 'weeks'"):
        cal.seconds(1, "weeks")


def _elapsed_day_by_day(cal: Calendar, start: datetime, end: datetime) -> float:
    """The definition, walked one London day at a time (the oracle for the constant-time count)."""
    from datetime import timedelta

    a, b = cal._local(start), cal._local(end)
    total = 0.0
    while a < b:
        stop = min(b, datetime.combine(a.date() + timedelta(days=1), datetime.min.time()))
        if cal.is_working_day(a.date()):
            total += (stop - a).total_seconds()
        a = stop
    return total


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (london(2026, 11, 27, 16), london(2026, 12, 1, 16)),  # Friday afternoon to Tuesday
        (london(2026, 12, 24, 9), london(2027, 1, 4, 9)),  # Christmas and New Year
        (london(2026, 5, 22, 16, 30), london(2026, 5, 26, 8)),  # the Spring Bank Holiday
        (london(2026, 3, 27, 10, 30), london(2026, 4, 2, 11)),  # clocks forward
        (london(2026, 10, 23, 10), london(2026, 10, 27, 10)),  # clocks back
        (london(2026, 11, 28, 9), london(2026, 11, 29, 18)),  # a weekend only
        (london(2026, 11, 30, 9), london(2026, 11, 30, 17)),  # within one day
        (london(2018, 11, 5, 9, 18), london(2026, 12, 1, 10, 15)),  # a clock left running for years
    ],
)
def test_elapsed_working_time_equals_the_day_by_day_count(
    cal: Calendar, start: datetime, end: datetime
) -> None:
    assert cal.elapsed(start, end, working=True) == pytest.approx(_elapsed_day_by_day(cal, start, end))


def test_elapsed_on_every_start_and_length_over_two_years(cal: Calendar) -> None:
    from datetime import timedelta

    start = london(2025, 12, 1, 7, 45)
    for offset in range(0, 730, 7):
        for length in (0.5, 1, 3, 10, 45, 400):
            a = start + timedelta(days=offset, hours=offset % 24)
            b = a + timedelta(days=length)
            assert cal.elapsed(a, b, working=True) == pytest.approx(_elapsed_day_by_day(cal, a, b)), (a, b)
