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
