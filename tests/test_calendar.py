"""rules.md "The working-day calendar", clause by clause, on real dates."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.calendar import WorkingCalendar

CALENDAR = WorkingCalendar()


# --- precedence, first match wins -------------------------------------------------------

def test_extra_days_off_beat_a_swapped_saturday():
    # 26 Apr 2025 was a Saturday swapped into a working day; an administrator's decision wins.
    calendar = WorkingCalendar(extra_days_off=[date(2025, 4, 26)], extra_working_days=[date(2025, 4, 26)])
    assert not calendar.is_working_day(date(2025, 4, 26))


def test_extra_working_days_beat_a_holiday():
    calendar = WorkingCalendar(extra_working_days=[date(2026, 2, 16)])
    assert calendar.is_working_day(date(2026, 2, 16))
    assert not calendar.is_working_day(date(2026, 2, 17))


def test_extra_working_days_beat_the_weekend():
    calendar = WorkingCalendar(extra_working_days=[date(2025, 9, 6)])
    assert calendar.is_working_day(date(2025, 9, 6))


def test_published_holidays_are_days_off_tet_2026():
    assert [CALENDAR.is_working_day(date(2026, 2, d)) for d in range(13, 24)] == [
        True,  # Fri 13
        False, False,  # the weekend
        False, False, False, False, False,  # Tết, Mon 16 to Fri 20
        False, False,  # the weekend
        True,  # Mon 23
    ]


def test_published_holidays_are_days_off_national_day_2025():
    assert not CALENDAR.is_working_day(date(2025, 9, 1))
    assert not CALENDAR.is_working_day(date(2025, 9, 2))
    assert CALENDAR.is_working_day(date(2025, 9, 3))


def test_published_substituted_day_off_2_may_2025():
    assert not CALENDAR.is_working_day(date(2025, 5, 2))


def test_published_observed_day_off_27_april_2026():
    # Hùng Kings' day fell on Sunday 26 Apr 2026; Monday is observed.
    assert not CALENDAR.is_working_day(date(2026, 4, 27))


def test_swapped_saturday_26_april_2025_is_a_working_day():
    assert date(2025, 4, 26).weekday() == 5
    assert CALENDAR.is_working_day(date(2025, 4, 26))


def test_swapped_saturday_is_a_working_day_whatever_the_weekend():
    assert WorkingCalendar(weekend=["fri", "sat"]).is_working_day(date(2025, 4, 26))


def test_weekend_days_are_days_off():
    assert not CALENDAR.is_working_day(date(2025, 9, 6))  # Saturday
    assert not CALENDAR.is_working_day(date(2025, 9, 7))  # Sunday


def test_other_days_are_working_days():
    assert all(CALENDAR.is_working_day(date(2025, 9, d)) for d in range(8, 13))


def test_custom_weekend():
    calendar = WorkingCalendar(weekend=["fri", "sat"])
    assert not calendar.is_working_day(date(2025, 9, 5))  # Friday
    assert not calendar.is_working_day(date(2025, 9, 6))  # Saturday
    assert calendar.is_working_day(date(2025, 9, 7))  # Sunday


def test_holidays_stay_days_off_with_a_custom_weekend():
    assert not WorkingCalendar(weekend=["sun"]).is_working_day(date(2026, 2, 16))


# --- configuration ----------------------------------------------------------------------

@pytest.mark.parametrize("weekend", [["saturday"], ["Sat"], "sat"])
def test_weekend_names_are_mon_to_sun(weekend):
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar(weekend=weekend)


@pytest.mark.parametrize(
    "working_hours",
    [
        [],
        [(time(11, 30), time(7, 0))],
        [(time(13, 30), time(17, 0)), (time(7, 0), time(11, 30))],
        [(time(7, 0), time(12, 0)), (time(11, 30), time(17, 0))],
    ],
    ids=["none", "ends-before-start", "unordered", "overlapping"],
)
def test_working_periods_are_ordered_and_do_not_overlap(working_hours):
    with pytest.raises(ValueError, match="working period"):
        WorkingCalendar(working_hours=working_hours)


def test_extra_days_must_be_dates():
    with pytest.raises(ValueError, match="extra_days_off"):
        WorkingCalendar(extra_days_off=[datetime(2026, 1, 2)])
    with pytest.raises(ValueError, match="^extra_working_days must hold dates, got '2026-01-03'$"):
        WorkingCalendar(extra_working_days=["2026-01-03"])


def test_end_of_day_is_the_end_of_the_last_period():
    assert CALENDAR.end_of_day == time(17, 0)
    assert WorkingCalendar(working_hours=[(time(7, 30), time(16, 30))]).end_of_day == time(16, 30)


# --- counting working days --------------------------------------------------------------

def test_next_working_day_skips_tet():
    assert CALENDAR.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)


def test_working_day_on_or_after():
    assert CALENDAR.working_day_on_or_after(date(2025, 9, 8)) == date(2025, 9, 8)
    assert CALENDAR.working_day_on_or_after(date(2025, 9, 6)) == date(2025, 9, 8)


def test_working_days_after_across_tet():
    assert CALENDAR.working_days_after(date(2026, 2, 12), 3) == date(2026, 2, 24)


def test_working_days_after_across_new_year():
    # 31 Dec 2025 (Wed), 1 Jan 2026 is a holiday: Fri 2, Mon 5, Tue 6.
    assert CALENDAR.working_days_after(date(2025, 12, 31), 3) == date(2026, 1, 6)


def test_working_days_after_zero_is_the_day_itself():
    assert CALENDAR.working_days_after(date(2025, 9, 6), 0) == date(2025, 9, 6)


def test_working_days_before_across_tet():
    assert CALENDAR.working_days_before(date(2026, 2, 24), 3) == date(2026, 2, 12)
    assert CALENDAR.working_days_before(date(2026, 1, 2), 1) == date(2025, 12, 31)
    assert CALENDAR.working_days_before(date(2025, 9, 6), 0) == date(2025, 9, 6)


def test_working_days_between_counts_the_end_not_the_start():
    assert CALENDAR.working_days_between(date(2026, 2, 12), date(2026, 2, 24)) == 3
    assert CALENDAR.working_days_between(date(2025, 12, 31), date(2026, 1, 6)) == 3
    assert CALENDAR.working_days_between(date(2025, 9, 8), date(2025, 9, 8)) == 0
    assert CALENDAR.working_days_between(date(2025, 9, 10), date(2025, 9, 8)) == 0


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        CALENDAR.working_days_after(date(2025, 9, 8), -1)
    with pytest.raises(ValueError):
        CALENDAR.working_days_before(date(2025, 9, 8), -1)


def test_ordinals_count_working_days_from_the_start():
    rows = list(CALENDAR.ordinals(date(2026, 2, 13), date(2026, 2, 24)))
    assert rows[0] == (date(2026, 2, 13), 1, True)
    assert rows[1] == (date(2026, 2, 14), 1, False)
    assert rows[-2] == (date(2026, 2, 23), 2, True)
    assert rows[-1] == (date(2026, 2, 24), 3, True)
    assert len(rows) == 12


dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@given(day=dates, n=st.integers(min_value=0, max_value=300))
def test_ordinals_agree_with_working_days_after(day, n):
    table = {d: (ordinal, working) for d, ordinal, working in CALENDAR.ordinals(day, day + timedelta(days=500))}
    target = CALENDAR.working_days_after(day, n)
    ordinal, working = table[target]
    assert ordinal == table[day][0] + n
    assert working or n == 0
    assert CALENDAR.working_days_between(day, target) == n


@given(day=dates, n=st.integers(min_value=1, max_value=300))
def test_working_days_after_agrees_with_counting_day_by_day(day, n):
    counted, current = 0, day
    while counted < n:
        current += timedelta(days=1)
        counted += CALENDAR.is_working_day(current)
    assert CALENDAR.working_days_after(day, n) == current


@given(day=dates, n=st.integers(min_value=1, max_value=300))
def test_working_days_before_undoes_working_days_after(day, n):
    start = CALENDAR.working_day_on_or_after(day)
    assert CALENDAR.working_days_before(CALENDAR.working_days_after(start, n), n) == start


# --- effective receipt day R ------------------------------------------------------------

def test_receipt_at_the_end_of_the_last_period_counts_that_day():
    assert CALENDAR.effective_receipt_day(datetime(2025, 9, 8, 17, 0, 0)) == date(2025, 9, 8)


def test_receipt_after_the_end_of_the_last_period_counts_the_next_working_day():
    assert CALENDAR.effective_receipt_day(datetime(2025, 9, 8, 17, 0, 1)) == date(2025, 9, 9)
    assert CALENDAR.effective_receipt_day(datetime(2026, 2, 13, 17, 0, 1)) == date(2026, 2, 23)


def test_receipt_times_are_compared_to_the_second():
    assert CALENDAR.effective_receipt_day(datetime(2025, 9, 8, 17, 0, 0, 500000)) == date(2025, 9, 8)


def test_receipt_on_a_day_off_counts_the_next_working_day():
    assert CALENDAR.effective_receipt_day(datetime(2025, 9, 7, 9, 0)) == date(2025, 9, 8)  # Sunday
    assert CALENDAR.effective_receipt_day(datetime(2025, 9, 2, 9, 0)) == date(2025, 9, 3)  # National Day


def test_receipt_without_a_time_is_the_start_of_that_day():
    assert CALENDAR.effective_receipt_day(date(2025, 9, 5)) == date(2025, 9, 5)
    assert CALENDAR.effective_receipt_day(date(2025, 9, 6)) == date(2025, 9, 8)


# --- H working hours --------------------------------------------------------------------

def test_hours_start_at_receipt_inside_a_working_period():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 8, 0), 2) == datetime(2025, 9, 8, 10, 0)


def test_hours_received_in_the_lunch_break_start_at_13_30():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 12, 0), Decimal(4)) == datetime(2025, 9, 9, 7, 30)
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 12, 0), Decimal(3)) == datetime(2025, 9, 8, 16, 30)


def test_hours_skip_the_lunch_break():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 10, 30), 2) == datetime(2025, 9, 8, 14, 30)


def test_hours_received_at_16_00_end_the_next_working_day():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 16, 0), 4) == datetime(2025, 9, 9, 10, 0)


def test_hours_skip_days_off():
    # Friday 13 Feb 2026 16:00, then Tết: the remaining 3 hours run on Monday 23 Feb.
    assert CALENDAR.add_working_hours(datetime(2026, 2, 13, 16, 0), 4) == datetime(2026, 2, 23, 10, 0)


def test_hours_received_before_opening_or_on_a_day_off_start_at_the_next_opening():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 6, 0), 1) == datetime(2025, 9, 8, 8, 0)
    assert CALENDAR.add_working_hours(datetime(2025, 9, 6, 10, 0), 1) == datetime(2025, 9, 8, 8, 0)
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 18, 0), 1) == datetime(2025, 9, 9, 8, 0)


def test_hours_ending_exactly_at_17_00_end_that_day():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 9, 0), 6) == datetime(2025, 9, 8, 17, 0)
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 7, 0), 8) == datetime(2025, 9, 8, 17, 0)


def test_hours_ending_exactly_at_a_break_end_at_the_break():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 7, 0), Decimal("12.5")) == datetime(2025, 9, 9, 11, 30)


def test_fractional_hours():
    assert CALENDAR.add_working_hours(datetime(2025, 9, 8, 11, 0), Decimal("1.5")) == datetime(2025, 9, 8, 14, 30)
