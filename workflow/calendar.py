"""Counting time for SLA clocks: plain hours and days, or working days that skip weekends and UK bank
holidays (England and Wales by default; the region is a setting).

Working time is counted on the London wall clock, a working day counting whole (24 wall-clock hours):
"2 working days" from Friday 16:00 ends Tuesday 16:00, and a bank holiday Monday does not count. Wall-clock
arithmetic keeps a working day one day long across the clock changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAY = 86400.0
UNITS = ("hours", "days", "working_days")


class Calendar:
    def __init__(self, *, region: str = "ENG", timezone: str = "Europe/London") -> None:
        self.zone = ZoneInfo(timezone)
        self._holidays = holidays.country_holidays("GB", subdiv=region)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day)

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def _instant(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def elapsed(self, start: datetime, end: datetime, *, working: bool) -> float:
        """Counted seconds from start to end (0 if end is not after start).

        Working time is the part of the first and last day that is a working day, plus a whole day for
        each working day between: constant work per call, however old the clock (a case left for years
        must not cost a loop over every day on each page that shows its SLA)."""
        if end <= start:
            return 0.0
        if not working:
            return (end - start).total_seconds()
        a, b = self._local(start), self._local(end)
        if b <= a:  # within the hour the clocks go back: no wall-clock time passed
            return 0.0
        if a.date() == b.date():
            return (b - a).total_seconds() if self.is_working_day(a.date()) else 0.0
        first_full = a.date() + timedelta(days=1)
        total = 0.0
        if self.is_working_day(a.date()):
            total += (datetime.combine(first_full, datetime.min.time()) - a).total_seconds()
        if self.is_working_day(b.date()):
            total += (b - datetime.combine(b.date(), datetime.min.time())).total_seconds()
        return total + DAY * self.working_days(first_full, b.date())

    def working_days(self, first: date, stop: date) -> int:
        """Working days from `first` up to but not including `stop`."""
        days = (stop - first).days
        if days <= 0:
            return 0
        weeks, rest = divmod(days, 7)
        weekdays = weeks * 5 + sum(1 for i in range(rest) if (first.weekday() + i) % 7 < 5)
        for year in range(first.year, stop.year + 1):
            _ = date(year, 1, 1) in self._holidays  # loads that year's holidays (the library is lazy)
        off = sum(1 for day in self._holidays if first <= day < stop and day.weekday() < 5)
        return weekdays - off

    def advance(self, start: datetime, seconds: float, *, working: bool) -> datetime:
        """The instant at which `seconds` of counted time have passed since start."""
        if not working:
            return start + timedelta(seconds=seconds)
        at, left = self._local(start), seconds
        while True:
            next_midnight = datetime.combine(at.date() + timedelta(days=1), datetime.min.time())
            if self.is_working_day(at.date()):
                room = (next_midnight - at).total_seconds()
                if left <= room:
                    return self._instant(at + timedelta(seconds=left))
                left -= room
            at = next_midnight

    def add_days(self, start: datetime, days: int) -> datetime:
        """`days` calendar days on from `start` at the same London wall-clock time: a review set at
        11:07 in summer for 14 days on falls due at 11:07 after the clocks go back, not 10:07."""
        return self._instant(self._local(start) + timedelta(days=days))

    def shift(self, start: datetime, amount: int, unit: str) -> datetime:
        """`start` moved by a rule's duration (negative to go back): hours are elapsed time; days and
        working days are counted on the London calendar and keep the wall-clock time."""
        if unit == "hours":
            return start + timedelta(hours=amount)
        if unit == "days":
            return self.add_days(start, amount)
        if unit == "working_days":
            if amount >= 0:
                return self.advance(start, amount * DAY, working=True)
            local, left = self._local(start), -amount
            while left:
                local -= timedelta(days=1)
                left -= self.is_working_day(local.date())
            return self._instant(local)
        raise ValueError(f"unknown duration unit {unit!r}; one of {', '.join(UNITS)}")

    @staticmethod
    def seconds(amount: float, unit: str) -> float:
        if unit == "hours":
            return amount * 3600.0
        if unit in ("days", "working_days"):
            return amount * DAY
        raise ValueError(f"unknown duration unit {unit!r}; one of {', '.join(UNITS)}")


@lru_cache(maxsize=4)
def calendar_for(region: str = "ENG") -> Calendar:
    return Calendar(region=region)
