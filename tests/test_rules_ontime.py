"""ontime.*: one test per clause of rules.md, each with a case that just breaches and one that
just does not. The default procedure has 5 working days: received Monday 2 March 2026 at 09:00,
a dossier is due on Monday 9."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from audit_helpers import Store, at, end_of_day, finding, make_settings, province, subjects
from monitor.config import CalendarSettings

D = date(2026, 3, 9)


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    return store


# ontime.late --------------------------------------------------------------------------------------

def test_late_when_finished_after_the_due_date_comparing_dates_only(store):
    store.dossier("E-1", at(2), status=9, finished_at=at(6))
    store.dossier("O-1", at(2), status=9, finished_at=at(9, 23, 59, 59))
    store.dossier("L-1", at(2), status=10, finished_at=at(10, 0, 0, 0), returned_at=at(10, 9))
    result = store.audit(end_of_day(20))
    assert subjects(result, "ontime.late") == {"L-1"}
    late = finding(result, "ontime.late", "L-1")
    assert (late.due_date, late.days_late) == (D, 1)


def test_late_uses_the_return_date_when_the_finish_date_is_empty(store):
    store.dossier("L-1", at(2), status=10, returned_at=at(11))
    store.dossier("O-1", at(2), status=10, returned_at=at(9))
    assert subjects(store.audit(end_of_day(20)), "ontime.late") == {"L-1"}


def test_late_counts_working_days_past_the_due_date(store):
    store.dossier("L-1", at(2), status=9, finished_at=at(16))  # Tue 10 .. Mon 16: 5 working days
    assert finding(store.audit(end_of_day(20)), "ontime.late", "L-1").days_late == 5


def test_late_is_judged_against_the_due_date_extended_by_answered_supplements(store):
    # Asked Tuesday 3, answered Thursday 5: Wednesday 4 and Thursday 5 are added, D' = Wednesday 11.
    supplement = ((at(3, 10), at(5, 8)),)
    store.dossier("O-1", at(2), status=9, finished_at=at(11), supplements=supplement)
    store.dossier("L-1", at(2), status=9, finished_at=at(12), supplements=supplement)
    result = store.audit(end_of_day(20))
    assert subjects(result, "ontime.late") == {"L-1"}
    assert finding(result, "ontime.late", "L-1").due_date == date(2026, 3, 11)


def test_late_a_request_after_the_running_due_date_buys_no_time(store):
    store.dossier("L-1", at(2), status=9, finished_at=at(11), supplements=((at(10, 8), at(11, 8)),))
    store.dossier("O-1", at(2), status=9, finished_at=at(10), supplements=((at(9, 16), at(10, 8)),))
    assert subjects(store.audit(end_of_day(20)), "ontime.late") == {"L-1"}


def test_late_a_supplement_answered_after_t_has_not_moved_the_due_date_at_t(store):
    store.dossier("L-1", at(2), status=9, finished_at=at(10), supplements=((at(3), at(12)),))
    assert subjects(store.audit(end_of_day(11)), "ontime.late") == {"L-1"}
    assert subjects(store.audit(end_of_day(12)), "ontime.late") == set()


def test_late_only_once_finished_by_t(store):
    store.dossier("L-1", at(2), status=9, finished_at=at(12))
    assert subjects(store.audit(end_of_day(11)), "ontime.late") == set()
    assert subjects(store.audit(end_of_day(11)), "ontime.overdue") == {"L-1"}  # in progress at T
    assert subjects(store.audit(end_of_day(12)), "ontime.late") == {"L-1"}


def test_late_refused_withdrawn_and_stopped_dossiers_count_as_on_time(store):
    store.dossier("S-1", at(2), status=3, refused_at=at(16))
    store.dossier("S-2", at(2), status=7, updated_at=at(16))
    store.dossier("S-3", at(2), status=8, updated_at=at(16))  # processing stopped
    result = store.audit(end_of_day(20))
    assert subjects(result, "ontime.late") | subjects(result, "ontime.overdue") == set()


def test_late_with_an_unknown_time_limit_uses_the_appointment(store):
    store.procedure("1.000009", kind="unknown", amount=None)
    store.dossier("L-1", at(2), procedure="1.000009", status=9, appointment_at=at(4, 17), finished_at=at(5))
    store.dossier("O-1", at(2), procedure="1.000009", status=9, appointment_at=at(5, 17), finished_at=at(5))
    result = store.audit(end_of_day(20))
    assert subjects(result, "ontime.late") == {"L-1"}
    assert subjects(result, "catalogue.unknown_time_limit") == {"1.000009"}


def test_late_the_finish_date_is_ngay_ket_thuc_xu_ly_and_ngay_tra_only_when_it_is_empty(store):
    # rules.md "Resolved, in progress...": NgayKetThucXuLy, or NgayTra when that is empty.
    store.dossier("O-1", at(2), status=10, finished_at=at(9, 16), returned_at=at(11, 9))  # returned 2 days on
    store.dossier("L-1", at(2), status=10, finished_at=at(10, 8), returned_at=at(9, 9))   # NgayTra typed early
    assert subjects(store.audit(end_of_day(20)), "ontime.late") == {"L-1"}


def test_late_and_overdue_of_an_unknown_procedure_are_judged_against_its_appointment(store):
    # rules.md: an unknown procedure's D is the date of the recorded NgayHenTra (and entry.invalid).
    store.dossier("L-1", at(2), procedure="9.999999", status=9, appointment_at=at(4, 17), finished_at=at(5, 8))
    store.dossier("O-1", at(2), procedure="9.999999", status=9, appointment_at=at(5, 17), finished_at=at(5, 8))
    store.dossier("V-1", at(2), procedure="9.999999", status=4, appointment_at=at(5, 17))
    result = store.audit(end_of_day(6))
    assert subjects(result, "ontime.late") == {"L-1"}
    assert finding(result, "ontime.late", "L-1").due_date == date(2026, 3, 4)
    assert subjects(result, "ontime.overdue") == {"V-1"}
    assert finding(result, "ontime.overdue", "V-1").due_date == date(2026, 3, 5)
    assert subjects(result, "entry.invalid") == {"L-1", "O-1", "V-1"}


def test_stopped_the_end_date_is_ngay_tu_choi_else_ngay_ket_thuc_xu_ly_else_ngay_cap_nhat(store):
    # Each is stopped (resolved, on time) by its end date 4, 5 or 6 March; the later dates, after T,
    # are edits. Taken in another order, the end would be after T: in progress, and overdue at T.
    store.dossier("S-1", at(2), status=3, refused_at=at(4), finished_at=at(16), updated_at=at(25))
    store.dossier("S-2", at(2), status=7, finished_at=at(5), updated_at=at(25))
    store.dossier("S-3", at(2), status=8, updated_at=at(6))
    result = store.audit(end_of_day(10))
    assert subjects(result, "ontime.overdue") == set()
    assert province(result)["resolved_on_time"] == 3


# ontime.overdue -----------------------------------------------------------------------------------

def test_overdue_when_t_is_a_later_date_than_the_due_date(store):
    store.dossier("V-1", at(2), status=4)
    assert subjects(store.audit(end_of_day(9)), "ontime.overdue") == set()
    result = store.audit(datetime(2026, 3, 10, 0, 0, 0))
    assert subjects(result, "ontime.overdue") == {"V-1"}
    assert finding(result, "ontime.overdue", "V-1").days_late == 1


def test_overdue_never_while_paused(store):
    store.dossier("P-1", at(2), status=5, supplements=((at(4), None),))
    store.dossier("P-2", at(2), status=5, supplements=((at(4), at(30)),))  # answered after T: paused at T
    store.dossier("V-1", at(2), status=5)  # status 5 alone pauses nothing
    assert subjects(store.audit(end_of_day(20)), "ontime.overdue") == {"V-1"}


def test_overdue_after_an_extension_runs_out(store):
    store.dossier("V-1", at(2), status=4, supplements=((at(3, 10), at(5, 8)),))  # D' = Wednesday 11
    assert subjects(store.audit(end_of_day(11)), "ontime.overdue") == set()
    assert subjects(store.audit(end_of_day(12)), "ontime.overdue") == {"V-1"}


def test_overdue_ignores_dossiers_not_yet_received(store):
    store.dossier("N-1", None, status=1)
    store.dossier("N-2", at(21), status=2)
    assert subjects(store.audit(end_of_day(20)), "ontime.overdue") == set()


# ontime.due_date_padded ---------------------------------------------------------------------------

def test_padded_appointment_later_than_the_legal_due_date(store):
    store.dossier("A-1", at(2), appointment_at=at(9, 17))
    store.dossier("A-2", at(2), appointment_at=at(10, 8), status=10, finished_at=at(5), returned_at=at(5))
    result = store.audit(end_of_day(20))
    assert subjects(result, "ontime.due_date_padded") == {"A-2"}
    assert finding(result, "ontime.due_date_padded", "A-2").due_date == D


def test_padded_only_with_a_known_time_limit(store):
    store.procedure("1.000009", kind="unknown", amount=None)
    store.procedure("1.000010", kind=None, amount=None)  # the page lacked the label
    store.dossier("A-1", at(2), procedure="1.000009", appointment_at=at(30))
    store.dossier("A-2", at(2), procedure="1.000010", appointment_at=at(30))
    store.dossier("A-3", at(2), procedure="9.999999", appointment_at=at(30))
    assert subjects(store.audit(end_of_day(20)), "ontime.due_date_padded") == set()


def test_padded_never_for_a_finished_dossier_with_neither_finish_nor_return_date(engine):
    # rules.md: a status 9 or 10 dossier with neither date is in no ontime rule. With Saturday a
    # working day (weekend = ["sun"]), 5 working days from Monday 2 end on Saturday 7, and an
    # appointment typed for Monday 9, as a Monday-to-Friday office would, is padded.
    store = Store(engine)
    store.procedure()
    saturdays_worked = replace(make_settings(), calendar=CalendarSettings(weekend=("sun",)))
    store.dossier("A-1", at(2), status=4, appointment_at=at(9, 17))
    store.dossier("A-2", at(2), status=9, appointment_at=at(9, 17))
    store.dossier("A-3", at(2), status=10, appointment_at=at(9, 17))
    result = store.audit(end_of_day(20), settings=saturdays_worked)
    assert subjects(result, "ontime.due_date_padded") == {"A-1"}
    assert finding(result, "ontime.due_date_padded", "A-1").due_date == date(2026, 3, 7)
    assert {f.rule for f in result.findings if f.subject in ("A-2", "A-3")} == {"entry.invalid"}


def test_padded_for_an_hour_limit(store):
    store.procedure("1.000004", kind="working_hours", amount=8)
    store.dossier("A-1", at(2, 16), procedure="1.000004", appointment_at=at(3, 17))  # due Tuesday 3 at 16:00
    store.dossier("A-2", at(2, 16), procedure="1.000004", appointment_at=at(4, 8))
    assert subjects(store.audit(end_of_day(20)), "ontime.due_date_padded") == {"A-2"}


# ontime.no_apology --------------------------------------------------------------------------------

def test_no_apology_when_the_letter_comes_after_the_due_date(store):
    store.dossier("A-1", at(2), status=9, finished_at=at(12), apologies=(at(9, 16),))
    store.dossier("A-2", at(2), status=9, finished_at=at(12), apologies=(at(10, 8),))
    store.dossier("A-3", at(2), status=4, apologies=(at(9, 8),))
    store.dossier("A-4", at(2), status=4)
    store.dossier("A-5", at(2), status=9, finished_at=at(6))  # not late: nothing to apologise for
    assert subjects(store.audit(end_of_day(20)), "ontime.no_apology") == {"A-2", "A-4"}


def test_no_apology_a_letter_issued_after_t_was_not_issued_at_t(store):
    store.dossier("A-1", at(2), status=4, apologies=(at(9, 16),))
    assert subjects(store.audit(end_of_day(20)), "ontime.no_apology") == set()
    assert subjects(store.audit(datetime(2026, 3, 9, 15)), "ontime.no_apology") == set()  # not overdue yet
    store.dossier("A-2", at(2), status=9, finished_at=at(10), apologies=(at(16),))
    assert subjects(store.audit(end_of_day(13)), "ontime.no_apology") == {"A-2"}


def test_no_apology_with_lead_days(store):
    settings = make_settings(apology_lead_days=1)  # the letter is due by Friday 6
    store.dossier("A-1", at(2), status=4, apologies=(at(6, 16),))
    store.dossier("A-2", at(2), status=4, apologies=(at(9, 8),))
    assert subjects(store.audit(end_of_day(20), settings=settings), "ontime.no_apology") == {"A-2"}


# The legal due date D at its cut-offs -------------------------------------------------------------

def overdue_due_dates(result) -> dict[str, date]:
    return {f.subject: f.due_date for f in result.findings if f.rule == "ontime.overdue"}


def test_effective_receipt_day_is_the_receipt_date_up_to_17_00_00_inclusive(store):
    # Friday 13 February 2026 is the last working day before Tết (16 to 20 February off).
    store.dossier("R-1", at(13, 17, 0, 0, month=2))  # R = Friday 13: D = Friday 27 February
    store.dossier("R-2", at(13, 17, 0, 1, month=2))  # R = Monday 23, after Tết: D = Monday 2 March
    assert overdue_due_dates(store.audit(end_of_day(3))) == {"R-1": date(2026, 2, 27), "R-2": date(2026, 3, 2)}


def test_same_day_limit_is_the_receipt_date_up_to_the_cutoff_inclusive(store):
    store.procedure("1.000003", kind="same_day", amount=None, time_limit_text="Trong ngày")
    store.dossier("S-1", at(13, 15, 0, 0, month=2), procedure="1.000003")  # due Friday 13 February
    store.dossier("S-2", at(13, 15, 0, 1, month=2), procedure="1.000003")  # due Monday 23, after Tết
    result = store.audit(end_of_day(24, month=2))
    assert overdue_due_dates(result) == {"S-1": date(2026, 2, 13), "S-2": date(2026, 2, 23)}


def test_hour_limit_ending_exactly_at_closing_time_is_due_that_day(store):
    # Saturday 22 August 2026 is a swapped working Saturday (for Monday 31 August).
    store.procedure("1.000004", kind="working_hours", amount=8, time_limit_text="8 giờ làm việc")
    store.dossier("H-1", at(21, 7, 0, 0, month=8), procedure="1.000004")  # 8 hours end Friday 21 at 17:00
    store.dossier("H-2", at(21, 7, 0, 1, month=8), procedure="1.000004")  # one second into Saturday 22
    result = store.audit(end_of_day(24, month=8))
    assert overdue_due_dates(result) == {"H-1": date(2026, 8, 21), "H-2": date(2026, 8, 22)}
