"""rules.md "The legal due date of a dossier" and "Supplement requests stop the clock", clause by
clause, on the Python reference of the due dates (rules.due_reference)."""
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from monitor.calendar import WorkingCalendar
from monitor.time_limits import TimeLimit, TimeLimitKind
from rules.due_reference import EffectiveDueDate, SupplementRequest, effective_due_date, legal_due_date

CALENDAR = WorkingCalendar()


def working_days(n):
    return TimeLimit(TimeLimitKind.WORKING_DAYS, Decimal(n))


def calendar_days(n):
    return TimeLimit(TimeLimitKind.CALENDAR_DAYS, Decimal(n))


def working_hours(n):
    return TimeLimit(TimeLimitKind.WORKING_HOURS, Decimal(n))


SAME_DAY = TimeLimit(TimeLimitKind.SAME_DAY, None)
UNKNOWN = TimeLimit(TimeLimitKind.UNKNOWN, None)


def due(limit, received_at, appointment_at=None, **options):
    return legal_due_date(CALENDAR, limit, received_at, appointment_at, **options)


# --- the time limit ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "kind, amount",
    [
        (TimeLimitKind.WORKING_DAYS, None),
        (TimeLimitKind.WORKING_DAYS, Decimal(0)),
        (TimeLimitKind.WORKING_DAYS, Decimal("1.5")),
        (TimeLimitKind.CALENDAR_DAYS, Decimal("-3")),
        (TimeLimitKind.WORKING_HOURS, Decimal(0)),
        (TimeLimitKind.SAME_DAY, Decimal(1)),
        (TimeLimitKind.UNKNOWN, Decimal(1)),
    ],
)
def test_a_time_limit_has_an_amount_that_fits_its_kind(kind, amount):
    with pytest.raises(ValueError):
        TimeLimit(kind, amount)


# --- N working days ---------------------------------------------------------------------

def test_n_working_days_is_the_nth_working_day_after_receipt():
    # The sample dossier 000.00.16.H59-250903-0007: 10 working days from Wed 3 Sep 2025.
    assert due(working_days(10), datetime(2025, 9, 3, 8, 5, 12)) == date(2025, 9, 17)


def test_n_working_days_across_tet():
    assert due(working_days(5), datetime(2026, 2, 13, 9, 0)) == date(2026, 2, 27)


def test_n_working_days_after_the_cut_off_count_from_the_next_working_day():
    assert due(working_days(1), datetime(2025, 9, 8, 17, 0, 0)) == date(2025, 9, 9)
    assert due(working_days(1), datetime(2025, 9, 8, 17, 0, 1)) == date(2025, 9, 10)


def test_n_working_days_received_on_a_sunday():
    assert due(working_days(1), datetime(2025, 9, 7, 9, 0)) == date(2025, 9, 9)


# --- N calendar days --------------------------------------------------------------------

def test_n_calendar_days_is_receipt_plus_n():
    assert due(calendar_days(3), datetime(2025, 9, 8, 10, 0)) == date(2025, 9, 11)


def test_n_calendar_days_ending_on_a_weekend_move_to_the_next_working_day():
    assert due(calendar_days(5), datetime(2025, 9, 8, 10, 0)) == date(2025, 9, 15)


def test_n_calendar_days_ending_on_tet_move_to_the_next_working_day():
    assert due(calendar_days(5), datetime(2026, 2, 11, 10, 0)) == date(2026, 2, 23)


def test_n_calendar_days_count_from_the_effective_receipt_day():
    # Received on Saturday 6 Sep 2025: R is Monday 8 Sep.
    assert due(calendar_days(3), datetime(2025, 9, 6, 10, 0)) == date(2025, 9, 11)


# --- H working hours --------------------------------------------------------------------

def test_h_working_hours_received_in_the_lunch_break_count_from_13_30():
    assert due(working_hours(3), datetime(2025, 9, 8, 12, 0)) == date(2025, 9, 8)
    assert due(working_hours(4), datetime(2025, 9, 8, 12, 0)) == date(2025, 9, 9)


def test_h_working_hours_received_at_16_00_end_the_next_working_day():
    assert due(working_hours(4), datetime(2025, 9, 8, 16, 0)) == date(2025, 9, 9)


def test_h_working_hours_ending_exactly_at_17_00_end_that_day():
    assert due(working_hours(1), datetime(2025, 9, 8, 16, 0)) == date(2025, 9, 8)


def test_h_working_hours_skip_days_off():
    assert due(working_hours(4), datetime(2026, 2, 13, 16, 0)) == date(2026, 2, 23)


# --- same day ---------------------------------------------------------------------------

def test_same_day_received_by_the_cut_off_is_that_day():
    assert due(SAME_DAY, datetime(2025, 9, 8, 15, 0, 0)) == date(2025, 9, 8)


def test_same_day_received_after_the_cut_off_is_the_next_working_day():
    assert due(SAME_DAY, datetime(2025, 9, 8, 15, 0, 1)) == date(2025, 9, 9)
    assert due(SAME_DAY, datetime(2025, 9, 8, 15, 1)) == date(2025, 9, 9)


def test_same_day_received_on_a_saturday_is_the_next_working_day():
    assert due(SAME_DAY, datetime(2025, 9, 6, 9, 0)) == date(2025, 9, 8)


def test_same_day_cut_off_is_a_setting():
    assert due(SAME_DAY, datetime(2025, 9, 8, 16, 0), same_day_cutoff=time(16, 30)) == date(2025, 9, 8)


# --- unknown ----------------------------------------------------------------------------

def test_unknown_time_limit_takes_the_appointment_date():
    appointment = datetime(2025, 9, 12, 17, 0)
    assert due(UNKNOWN, datetime(2025, 9, 5, 15, 45), appointment) == date(2025, 9, 12)
    assert due(None, datetime(2025, 9, 5, 15, 45), appointment) == date(2025, 9, 12)


def test_unknown_time_limit_without_an_appointment_has_no_due_date():
    assert due(UNKNOWN, datetime(2025, 9, 5, 15, 45), None) is None


# --- supplement requests stop the clock -------------------------------------------------

def effective(legal_due, requests, as_of):
    return effective_due_date(CALENDAR, legal_due, requests, as_of)


def test_no_request_leaves_the_legal_due_date():
    assert effective(date(2025, 9, 17), [], datetime(2025, 9, 30, 17, 0)) == EffectiveDueDate(date(2025, 9, 17), False)


def test_an_answered_request_moves_the_due_date_by_the_working_days_waited():
    # The sample dossier 000.29.31.H59-250905-0031: asked Tue 9 Sep, answered Mon 15 Sep:
    # 10, 11, 12, 15 Sep are 4 working days, so 12 Sep moves to Thu 18 Sep.
    request = SupplementRequest(datetime(2025, 9, 9, 10, 0), datetime(2025, 9, 15, 8, 0))
    assert effective(date(2025, 9, 12), [request], datetime(2025, 9, 30, 17, 0)) == EffectiveDueDate(
        date(2025, 9, 18), False
    )


def test_a_pause_spanning_tet():
    # Asked Thu 12 Feb 2026, answered Tue 24 Feb: 13, 23, 24 Feb are 3 working days.
    request = SupplementRequest(datetime(2026, 2, 12, 9, 0), datetime(2026, 2, 24, 9, 0))
    assert effective(date(2026, 2, 27), [request], datetime(2026, 3, 31, 17, 0)).due_date == date(2026, 3, 4)


def test_overlapping_requests_each_extend_on_their_own():
    first = SupplementRequest(datetime(2025, 9, 15, 9, 0), datetime(2025, 9, 19, 10, 0))  # 4 working days
    second = SupplementRequest(datetime(2025, 9, 17, 9, 0), datetime(2025, 9, 22, 10, 0))  # 3 working days
    assert effective(date(2025, 9, 30), [first, second], datetime(2025, 10, 31, 17, 0)).due_date == date(2025, 10, 9)


def test_a_request_dated_after_the_running_due_date_is_ignored():
    request = SupplementRequest(datetime(2025, 9, 15, 9, 0), datetime(2025, 9, 17, 9, 0))
    assert effective(date(2025, 9, 12), [request], datetime(2025, 9, 30, 17, 0)) == EffectiveDueDate(
        date(2025, 9, 12), False
    )


def test_a_request_on_the_due_date_counts():
    request = SupplementRequest(datetime(2025, 9, 12, 16, 0), datetime(2025, 9, 15, 9, 0))
    assert effective(date(2025, 9, 12), [request], datetime(2025, 9, 30, 17, 0)).due_date == date(2025, 9, 15)


def test_the_running_due_date_decides_whether_a_later_request_counts():
    # The first request moves 12 Sep to 16 Sep, so the second one, on 15 Sep, still counts,
    # even when the requests are listed out of order.
    first = SupplementRequest(datetime(2025, 9, 10, 9, 0), datetime(2025, 9, 12, 9, 0))  # 2 working days
    second = SupplementRequest(datetime(2025, 9, 15, 9, 0), datetime(2025, 9, 16, 9, 0))  # 1 working day
    assert effective(date(2025, 9, 12), [second, first], datetime(2025, 9, 30, 17, 0)).due_date == date(2025, 9, 17)


def test_a_request_dated_before_the_receipt_still_counts():
    # Received 3 Sep 2025, legal due 17 Sep; asked 2 Sep (a holiday), answered 4 Sep: 3 and 4 Sep.
    request = SupplementRequest(datetime(2025, 9, 2, 10, 0), datetime(2025, 9, 4, 9, 0))
    assert effective(date(2025, 9, 17), [request], datetime(2025, 9, 30, 17, 0)).due_date == date(2025, 9, 19)


def test_an_unanswered_request_pauses_without_moving_the_due_date():
    request = SupplementRequest(datetime(2025, 9, 15, 9, 0), None)
    assert effective(date(2025, 9, 30), [request], datetime(2025, 10, 31, 17, 0)) == EffectiveDueDate(
        date(2025, 9, 30), True
    )


def test_an_open_request_followed_by_an_answered_one():
    still_open = SupplementRequest(datetime(2025, 9, 15, 9, 0), None)
    answered = SupplementRequest(datetime(2025, 9, 22, 9, 0), datetime(2025, 9, 24, 9, 0))  # 23, 24 Sep
    assert effective(date(2025, 9, 30), [still_open, answered], datetime(2025, 9, 25, 12, 0)) == EffectiveDueDate(
        date(2025, 10, 2), True
    )


def test_a_request_answered_after_the_audit_time_is_open_at_that_time():
    request = SupplementRequest(datetime(2025, 9, 15, 9, 0), datetime(2025, 9, 26, 8, 0))
    assert effective(date(2025, 9, 30), [request], datetime(2025, 9, 25, 17, 0)) == EffectiveDueDate(
        date(2025, 9, 30), True
    )
    # Once answered, its 9 working days (16 to 26 Sep) move 30 Sep to 13 Oct.
    assert effective(date(2025, 9, 30), [request], datetime(2025, 9, 26, 8, 0)) == EffectiveDueDate(
        date(2025, 10, 13), False
    )


def test_requests_made_after_the_audit_time_are_ignored():
    request = SupplementRequest(datetime(2025, 9, 26, 9, 0), None)
    assert effective(date(2025, 9, 30), [request], datetime(2025, 9, 25, 17, 0)) == EffectiveDueDate(
        date(2025, 9, 30), False
    )
