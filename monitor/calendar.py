"""The working-day calendar of rules.md: which dates are working days, and counting over them.

A date is a working day unless it is a day off; the first matching step decides:
1. ``extra_days_off`` (an administrator's decision) -> day off
2. ``extra_working_days`` -> working day
3. a date the pinned ``holidays`` package publishes for VN -> day off
4. a weekend day the government swapped into a working day (``holidays``' weekend workdays) -> working day
5. a weekday in ``weekend`` -> day off
6. otherwise -> working day

Counting is done over per-year tables built once and cached, so that the rule engine can ask
the same questions millions of times: a date's index in its year gives, in constant time,
whether it is a working day and how many working days of the year come before it.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

import holidays

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_WORKING_HOURS = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))


@lru_cache(maxsize=None)
def _vietnam_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


@lru_cache(maxsize=None)
def _published_days_off(year: int) -> frozenset[date]:
    """Every date of `year` that the package publishes for VN as a day off.

    The neighbouring years are read too: a holiday observed or substituted across New Year
    is listed under the year of the holiday, not of the date.
    """
    return frozenset(
        day for y in (year - 1, year, year + 1) for day in _vietnam_holidays(y) if day.year == year
    )


@lru_cache(maxsize=None)
def _published_weekend_workdays(year: int) -> frozenset[date]:
    """Every weekend date of `year` that the government swapped into a working day."""
    return frozenset(
        day
        for y in (year - 1, year, year + 1)
        for day in _vietnam_holidays(y).weekend_workdays
        if day.year == year
    )


@dataclass(frozen=True)
class _Year:
    """One year of a calendar, indexed by day of the year (0 = 1 January)."""

    number: int
    first_ordinal: int
    is_working: tuple[bool, ...]
    working_days: tuple[date, ...]  # in order
    working_before: tuple[int, ...]  # working days of the year strictly before each index

    def index(self, day: date) -> int:
        return day.toordinal() - self.first_ordinal

    def count_before(self, day: date) -> int:
        return self.working_before[self.index(day)]

    def count_through(self, day: date) -> int:
        i = self.index(day)
        return self.working_before[i] + self.is_working[i]


class WorkingCalendar:
    """Working days and working hours, configured as in config.toml's ``[calendar]``."""

    def __init__(
        self,
        *,
        weekend: Iterable[str] = ("sat", "sun"),
        working_hours: Iterable[tuple[time, time]] = DEFAULT_WORKING_HOURS,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self._weekend = _weekday_numbers(weekend)
        self._periods = _checked_periods(working_hours)
        self._extra_days_off = _checked_dates(extra_days_off, "extra_days_off")
        self._extra_working_days = _checked_dates(extra_working_days, "extra_working_days")
        self._years: dict[int, _Year] = {}

    # --- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        year = self._year(day.year)
        return year.is_working[year.index(day)]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.working_days_after(day, 1)

    def working_day_on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def working_days_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (`day` itself not counted); `day` when n is 0."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        if n == 0:
            return day
        year = self._year(day.year)
        index = year.count_through(day) + n - 1
        while index >= len(year.working_days):
            index -= len(year.working_days)
            year = self._year(year.number + 1)
        return year.working_days[index]

    def working_days_before(self, day: date, n: int) -> date:
        """The n-th working day before `day` (`day` itself not counted); `day` when n is 0."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        if n == 0:
            return day
        year = self._year(day.year)
        index = year.count_before(day) - n
        while index < 0:
            year = self._year(year.number - 1)
            index += len(year.working_days)
        return year.working_days[index]

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d have start < d <= end (0 when end <= start)."""
        if end <= start:
            return 0
        whole_years = sum(len(self._year(y).working_days) for y in range(start.year, end.year))
        return whole_years + self._year(end.year).count_through(end) - self._year(start.year).count_through(start)

    def ordinals(self, start: date, end: date) -> Iterator[tuple[date, int, bool]]:
        """(date, ordinal, is_working) for every date in [start, end].

        The ordinal is the number of working days in [start, date], so the n-th working day
        after d is the working date whose ordinal is ordinal(d) + n: the rule engine loads this
        into a lookup table to count in SQL.
        """
        ordinal = 0
        day = start
        while day <= end:
            working = self.is_working_day(day)
            ordinal += working
            yield day, ordinal, working
            day += timedelta(days=1)

    # --- receipt and hours --------------------------------------------------------------

    @property
    def end_of_day(self) -> time:
        """The end of the last working period: the receipt cut-off."""
        return self._periods[-1][1]

    def effective_receipt_day(self, received_at: datetime | date) -> date:
        """rules.md "Effective receipt day R"; a bare date is the start of that day."""
        if isinstance(received_at, datetime):
            day, at = received_at.date(), _to_the_second(received_at.time())
        else:
            day, at = received_at, time(0, 0)
        if self.is_working_day(day) and at <= self.end_of_day:
            return day
        return self.next_working_day(day)

    def add_working_hours(self, start: datetime, hours: Decimal | float) -> datetime:
        """The moment `hours` of working time after `start`, skipping breaks and days off.

        Counting starts at `start` when it falls inside a working period, else at the start of
        the next one. An end that falls exactly on the end of a period stays there (a limit
        ending at 17:00 ends that day, not at the next opening).
        """
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours}")
        remaining = timedelta(hours=float(hours))
        day, cursor = start.date(), start
        while True:
            if self.is_working_day(day):
                for opens, closes in self._periods:
                    period_end = datetime.combine(day, closes)
                    if cursor >= period_end:
                        continue
                    cursor = max(cursor, datetime.combine(day, opens))
                    if remaining <= period_end - cursor:
                        return cursor + remaining
                    remaining -= period_end - cursor
                    cursor = period_end
            day = self.next_working_day(day)
            cursor = datetime.combine(day, time(0, 0))

    # --- the tables ---------------------------------------------------------------------

    def _is_working_by_precedence(self, day: date) -> bool:
        if day in self._extra_days_off:
            return False
        if day in self._extra_working_days:
            return True
        if day in _published_days_off(day.year):
            return False
        if day in _published_weekend_workdays(day.year):
            return True
        return day.weekday() not in self._weekend

    def _year(self, number: int) -> _Year:
        year = self._years.get(number)
        if year is None:
            year = self._years[number] = self._build_year(number)
        return year

    def _build_year(self, number: int) -> _Year:
        first = date(number, 1, 1)
        days = [first + timedelta(days=i) for i in range(date(number, 12, 31).toordinal() - first.toordinal() + 1)]
        is_working = tuple(self._is_working_by_precedence(day) for day in days)
        working_before, count = [], 0
        for working in is_working:
            working_before.append(count)
            count += working
        return _Year(
            number=number,
            first_ordinal=first.toordinal(),
            is_working=is_working,
            working_days=tuple(day for day, working in zip(days, is_working) if working),
            working_before=tuple(working_before),
        )


def _to_the_second(at: time) -> time:
    # rules.md: times are compared to the second, so 17:00:00.5 is still 17:00:00.
    return at.replace(microsecond=0)


def _weekday_numbers(weekend: Iterable[str]) -> frozenset[int]:
    if isinstance(weekend, str):
        raise ValueError(f"weekend must be a list of day names, got the string {weekend!r}")
    numbers = set()
    for name in weekend:
        if name not in WEEKDAY_NAMES:
            raise ValueError(f"weekend day {name!r} is not one of {', '.join(WEEKDAY_NAMES)}")
        numbers.add(WEEKDAY_NAMES.index(name))
    return frozenset(numbers)


def _checked_periods(working_hours: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    periods = tuple((opens, closes) for opens, closes in working_hours)
    if not periods:
        raise ValueError("working_hours needs at least one working period")
    for opens, closes in periods:
        if not (isinstance(opens, time) and isinstance(closes, time)):
            raise ValueError(f"working period {opens!r}-{closes!r} must be two times")
        if opens >= closes:
            raise ValueError(f"working period {opens:%H:%M}-{closes:%H:%M} must end after it starts")
    for (_, previous_end), (opens, _) in zip(periods, periods[1:]):
        if opens < previous_end:
            raise ValueError(
                f"working period starting {opens:%H:%M} overlaps or precedes the one ending {previous_end:%H:%M}"
            )
    return periods


def _checked_dates(days: Iterable[date], name: str) -> frozenset[date]:
    checked = frozenset(days)
    for day in checked:
        # A datetime would never equal the dates it is compared with, silently doing nothing.
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"{name} must hold dates, got {day!r}")
    return checked
