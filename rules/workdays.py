"""The working-day calendar as lookup tables, so that SQL counts working days with joins.

The Python calendar (monitor.calendar) is the reference; for one audit it is written out over
the needed date range into two temporary tables:

- `audit_calendar_day(day, ordinal, working)`: every date, with its ordinal, the number of
  working days from the start of the range up to and including it;
- `audit_working_day(ordinal, day)`: every working day by its ordinal.

"The n-th working day after d" is then the working day whose ordinal is ordinal(d) + n, and
"working days d with a < d <= b" is ordinal(b) - ordinal(a): a due date is two index lookups.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Column, ColumnElement, Connection, Date, Integer, MetaData, Table, and_, case, insert

from monitor.calendar import WorkingCalendar
from monitor.config import CalendarSettings
from rules.sql import create_scratch, seconds

metadata = MetaData()

calendar_day = Table(
    "audit_calendar_day", metadata,
    Column("day", Date, primary_key=True),
    Column("ordinal", Integer, nullable=False),   # working days in [range start, day]
    Column("working", Integer, nullable=False),   # 1 working day, 0 day off (an integer: it is added)
    prefixes=["TEMPORARY"],
)

working_day = Table(
    "audit_working_day", metadata,
    Column("ordinal", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    prefixes=["TEMPORARY"],
)


def calendar_of(settings: CalendarSettings) -> WorkingCalendar:
    return WorkingCalendar(
        weekend=settings.weekend,
        working_hours=settings.working_hours,
        extra_days_off=settings.extra_days_off,
        extra_working_days=settings.extra_working_days,
    )


class WorkdayTables:
    """The two lookup tables on one connection, for the dates [start, end]."""

    def __init__(self, connection: Connection, calendar: WorkingCalendar, start: date, end: date):
        self.connection = connection
        self.calendar = calendar
        self.start = start
        self.end = start - timedelta(days=1)
        for table in (calendar_day, working_day):
            create_scratch(connection, table)
        self.extend_to(end)

    def extend_to(self, end: date) -> None:
        """Cover the dates up to `end` too (ordinals continue where the table stopped)."""
        if end <= self.end:
            return
        offset = self.ordinal(self.end)
        days = [{"day": day, "ordinal": offset + ordinal, "working": int(working)}
                for day, ordinal, working in self.calendar.ordinals(self.end + timedelta(days=1), end)]
        self.connection.execute(insert(calendar_day), days)
        self.connection.execute(insert(working_day),
                                [{"ordinal": d["ordinal"], "day": d["day"]} for d in days if d["working"]])
        self.end = end

    def extend_by(self, working_days: int) -> None:
        """Cover `working_days` more working days past the current end (and a month's margin)."""
        if working_days > 0:
            self.extend_to(self.calendar.working_days_after(self.end, working_days) + timedelta(days=31))

    def ordinal(self, day: date) -> int:
        """The ordinal of a date, computed in Python (for constants such as the audit date)."""
        return self.calendar.working_days_between(self.start - timedelta(days=1), day)

    def first_ordinal_from(self, day: date) -> int:
        """The ordinal of the first working day on or after `day`: a working day is before `day`
        exactly when its ordinal is smaller."""
        return self.ordinal(day) + (0 if self.calendar.is_working_day(day) else 1)


def receipt_ordinal(day_ordinal: ColumnElement, day_working: ColumnElement, seconds_of_receipt: ColumnElement,
                    calendar: WorkingCalendar) -> ColumnElement:
    """The ordinal of the effective receipt day R (rules.md), from the calendar row of the receipt
    date and the receipt's time of day in seconds. R is that date when it is a working day and the
    time is no later than the end of the last working period, else the next working day, whose
    ordinal is one more."""
    in_time = and_(day_working == 1, seconds_of_receipt <= seconds(calendar.end_of_day))
    return day_ordinal + case((in_time, 0), else_=1)
