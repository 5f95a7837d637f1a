"""Working days and hours, done simply, so that generated dossiers get realistic due dates.

This is test data, not the monitor's reference calendar: Monday to Friday minus a short,
hard-coded list of Vietnamese public holidays, and the usual office hours. The functions are
cached because the generator asks the same few questions (this date, N days later) very often.
"""

from datetime import date, datetime, time, timedelta
from functools import cache

HOLIDAYS = frozenset(
    date.fromisoformat(day)
    for day in (
        "2024-01-01", "2024-02-08", "2024-02-09", "2024-02-12", "2024-02-13", "2024-02-14",
        "2024-04-18", "2024-04-29", "2024-04-30", "2024-05-01", "2024-09-02", "2024-09-03",
        "2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
        "2025-04-07", "2025-04-30", "2025-05-01", "2025-09-01", "2025-09-02",
        "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
        "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01", "2026-09-02",
        "2027-01-01", "2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",
        "2027-04-16", "2027-04-30", "2027-05-03", "2027-09-02", "2027-09-03",
    )
)

# Office hours: (start, end) of each working period of a day.
PERIODS = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
DAY_END = PERIODS[-1][1]
WORKING_SECONDS_PER_DAY = sum(
    (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds
    for start, end in PERIODS
)


@cache
def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


@cache
def working_day_after(day: date, n: int = 1) -> date:
    """The n-th working day after `day` (n >= 0; n = 0 gives `day` itself)."""
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@cache
def working_day_before(day: date, n: int = 1) -> date:
    """The n-th working day before `day` (n >= 0; n = 0 gives `day` itself)."""
    while n > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@cache
def working_days_between(first: date, last: date) -> int:
    """How many working days d there are with first < d <= last (0 when last <= first)."""
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def effective_receipt_day(received: datetime) -> date:
    """The day the legal clock starts from: the receipt date, or the next working day when
    the dossier came in after office hours or on a day off."""
    day = received.date()
    if is_working_day(day) and received.time() <= DAY_END:
        return day
    return working_day_after(day)


def working_moment(day: date, seconds_into_day: float) -> datetime:
    """The moment `seconds_into_day` seconds of working time after the start of `day`."""
    for start, end in PERIODS:
        period_start = datetime.combine(day, start)
        length = (datetime.combine(day, end) - period_start).total_seconds()
        if seconds_into_day < length:
            return period_start + timedelta(seconds=int(seconds_into_day))
        seconds_into_day -= length
    return datetime.combine(day, DAY_END)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment `hours` of working time after `start`, skipping breaks and days off.

    A start outside office hours counts from the start of the next working period.
    """
    left = timedelta(hours=hours)
    moment = start
    while True:
        day = moment.date()
        if is_working_day(day):
            for period_start, period_end in PERIODS:
                begin = max(moment, datetime.combine(day, period_start))
                end = datetime.combine(day, period_end)
                if begin >= end:
                    continue
                if begin + left <= end:
                    return begin + left
                left -= end - begin
        moment = datetime.combine(day + timedelta(days=1), time(0))
