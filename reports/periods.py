"""Report periods (interface.md, `report --period`).

A report always covers a period that is over: `day` is the previous calendar day (the nightly
run at 02:00 reports yesterday), `week` the previous Monday to Sunday, `month` and `quarter` the
previous complete ones. A period's label is part of the outbox key, so one recipient gets one
message per period whatever the number of runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from monitor.config import PERIODS

_ROMAN = ("I", "II", "III", "IV")
# The running totals beside a report's period: from the first of its month (day and week
# reports) or of its year (month and quarter reports) to its end.
MONTH_TO_DATE, YEAR_TO_DATE = "month_to_date", "year_to_date"
TO_DATE = {MONTH_TO_DATE: "từ đầu tháng", YEAR_TO_DATE: "từ đầu năm"}


@dataclass(frozen=True)
class ReportPeriod:
    kind: str
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        """A stable machine label: 2026-03-30, 2026-W13, 2026-03, 2026-Q1."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind in TO_DATE:
            return f"{self.start.isoformat()}_{self.end.isoformat()}"
        return f"{self.start.year}-Q{_quarter(self.start)}"

    @property
    def title(self) -> str:
        """How a report names the period, in Vietnamese."""
        if self.kind == "day":
            return f"ngày {self.start:%d/%m/%Y}"
        if self.kind == "week":
            return f"tuần {self.start:%d/%m} – {self.end:%d/%m/%Y}"
        if self.kind == "month":
            return f"tháng {self.start:%m/%Y}"
        if self.kind in TO_DATE:
            return f"từ {self.start:%d/%m} đến {self.end:%d/%m/%Y}"
        return f"quý {_ROMAN[_quarter(self.start) - 1]}/{self.start.year}"

    @property
    def short_title(self) -> str:
        """A short label for a chart row."""
        if self.kind == "day":
            return f"{self.start:%d/%m}"
        if self.kind == "week":
            return f"{self.start:%d/%m}–{self.end:%d/%m}"
        if self.kind == "month":
            return f"{self.start:%m/%Y}"
        if self.kind in TO_DATE:
            return f"{self.start:%d/%m}–{self.end:%d/%m}"
        return f"Q{_quarter(self.start)}/{self.start.year}"

    @property
    def end_moment(self) -> datetime:
        """The end of the last day: a period's figures are always as of this moment."""
        return datetime.combine(self.end, time(23, 59, 59))

    @property
    def name(self) -> str:
        """What the period is, for a column heading: "Kỳ này" is said by the caller."""
        return TO_DATE.get(self.kind, self.title)

    def previous(self) -> ReportPeriod:
        return _period_containing(self.kind, self.start - timedelta(days=1))

    def to_date(self) -> ReportPeriod:
        """The running total that ends with this period: month-to-date for a day or a week,
        year-to-date for a month or a quarter."""
        if self.kind in ("day", "week"):
            return ReportPeriod(MONTH_TO_DATE, self.end.replace(day=1), self.end)
        return ReportPeriod(YEAR_TO_DATE, date(self.end.year, 1, 1), self.end)


def report_period(kind: str, today: date) -> ReportPeriod:
    """The last complete period of `kind` before `today`."""
    if kind not in PERIODS:
        raise ValueError(f"unknown report period {kind!r}; expected one of {', '.join(PERIODS)}")
    current = _period_containing(kind, today)
    return current.previous()


def recent_periods(last: ReportPeriod, count: int) -> list[ReportPeriod]:
    """`count` periods ending with `last`, oldest first (for the trend chart)."""
    periods = [last]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods[::-1]


def _period_containing(kind: str, day: date) -> ReportPeriod:
    if kind == "day":
        return ReportPeriod(kind, day, day)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return ReportPeriod(kind, monday, monday + timedelta(days=6))
    if kind == "month":
        start = day.replace(day=1)
        return ReportPeriod(kind, start, _next_month(start) - timedelta(days=1))
    start = date(day.year, 3 * (_quarter(day) - 1) + 1, 1)
    end = _next_month(_next_month(_next_month(start))) - timedelta(days=1)
    return ReportPeriod(kind, start, end)


def _quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)
