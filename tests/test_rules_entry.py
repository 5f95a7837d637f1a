"""entry.*: one test per clause of rules.md, each with a case that just breaches and one that
just does not. March 2026: Monday 2 to Friday 6 are working days, 7 and 8 the weekend."""
from __future__ import annotations

import unicodedata
from datetime import datetime

import pytest

from audit_helpers import AGENCY, Store, at, end_of_day, finding, make_settings, province, subjects

OTHER_AGENCY = "000.00.16.H59"


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    return store


# entry.missing ------------------------------------------------------------------------------------

def test_missing_online_portal_row_after_the_entry_grace(store):
    store.portal_row("P-1", at(2, 9))  # R = Monday 2; the grace ends on Tuesday 3
    assert "P-1" not in subjects(store.audit(end_of_day(3)), "entry.missing")
    result = store.audit(datetime(2026, 3, 4, 0, 0, 0))
    found = finding(result, "entry.missing", "P-1")
    assert found.agency == AGENCY and found.procedure == "1.000001" and found.status == "open"


def test_missing_counts_only_online_rows_of_the_portal(store):
    store.portal_row("P-1", at(2, 9), channel="1")  # a counter dossier shows once synced: never missing
    assert subjects(store.audit(end_of_day(20)), "entry.missing") == set()


def test_missing_tracking_book_row_received_after_closing_time(store):
    store.book_row("B-1", at(2, 17, 0, 1))  # after 17:00:00: R = Tuesday 3, the grace ends Wednesday 4
    assert "B-1" not in subjects(store.audit(end_of_day(4)), "entry.missing")
    assert "B-1" in subjects(store.audit(datetime(2026, 3, 5)), "entry.missing")


def test_missing_book_row_with_a_date_only_is_received_at_the_start_of_that_day(store):
    store.book_row("B-1", datetime(2026, 3, 6), has_time=False)  # Friday 6: R = 6, grace ends Monday 9
    assert "B-1" not in subjects(store.audit(end_of_day(9)), "entry.missing")
    assert "B-1" in subjects(store.audit(datetime(2026, 3, 10)), "entry.missing")


def test_missing_matches_codes_trimmed_and_upper_cased_and_prints_the_row_as_written(store):
    store.dossier("000.00.31.H59-260302-0001", at(2))
    store.book_row(" 000.00.31.h59-260302-0001 ", at(2))          # the same dossier, typed by hand
    store.book_row(" 000.00.31.h59-260302-0002", at(2))           # not in the system
    assert subjects(store.audit(end_of_day(20)), "entry.missing") == {" 000.00.31.h59-260302-0002"}


def test_missing_matches_codes_in_unicode_nfc(store):
    # A district's code typed with diacritics; the book's spreadsheet wrote it decomposed (NFD).
    store.dossier("TP.THỦ-ĐỨC-260302-0001", at(2))
    store.book_row(unicodedata.normalize("NFD", "TP.THỦ-ĐỨC-260302-0001"), at(2))
    store.book_row(unicodedata.normalize("NFD", "TP.THỦ-ĐỨC-260302-0002"), at(2))
    assert subjects(store.audit(end_of_day(20)), "entry.missing") == {
        unicodedata.normalize("NFD", "TP.THỦ-ĐỨC-260302-0002")}


def test_missing_whatever_the_ngay_tao_of_the_one_stop_record(store):
    # Received on paper Monday 2, typed in Thursday 19: at Tuesday 10 it is in the system as
    # synced, only entered late.
    store.dossier("B-1", at(2), created_at=at(19))
    store.book_row("B-1", at(2))
    store.portal_row("P-1", at(2))
    store.dossier("P-1", at(2), created_at=at(19), channel="2", on_portal=False)
    result = store.audit(end_of_day(10))
    assert subjects(result, "entry.missing") == set()
    assert subjects(result, "entry.late") == {"B-1", "P-1"}


def test_missing_is_one_finding_per_dossier_with_every_part_that_found_it(store):
    store.portal_row("X-1", at(2, 9), agency=OTHER_AGENCY)
    store.book_row("x-1", at(2, 10))
    store.book_row("X-1", at(2, 10), source="so-theo-doi-2")
    result = store.audit(end_of_day(20))
    found = finding(result, "entry.missing", "X-1")  # the portal's row speaks for it
    assert found.agency == OTHER_AGENCY
    assert "Cổng DVC, sổ theo dõi so-theo-doi, sổ theo dõi so-theo-doi-2" in found.detail


def test_missing_counts_a_code_two_files_of_a_book_list_once_by_its_earliest_receipt(store):
    store.book_row("B-1", at(3, 9), file="2026/03.xlsx", row_number=12, agency=OTHER_AGENCY)
    store.book_row("b-1", at(2, 9), file="2026/02.xlsx", row_number=40)
    store.book_row("B-2", at(2, 9), file="2026/02.xlsx", row_number=41)
    store.book_row("B-2", at(2, 9), file="2026/03.xlsx", row_number=5)
    result = store.audit(end_of_day(20))
    missing = [f for f in result.findings if f.rule == "entry.missing"]
    assert sorted(f.subject for f in missing) == ["B-2", "b-1"]
    found = finding(result, "entry.missing", "b-1")  # received first: that row speaks for the dossier
    assert found.agency == AGENCY
    assert "(nhận 02/03/2026 09:00, tệp 2026/02.xlsx dòng 40)" in found.detail
    # The same receipt in both files: the first file by path speaks.
    assert "tệp 2026/02.xlsx dòng 41" in finding(result, "entry.missing", "B-2").detail


def test_missing_ignores_rows_received_after_t_and_dossiers_entered_late(store):
    store.portal_row("P-2", at(10))
    store.dossier("P-3", at(2), created_at=at(19))  # typed in late (and listed): entry.late, never missing
    assert subjects(store.audit(end_of_day(9)), "entry.missing") == set()


# entry.late ---------------------------------------------------------------------------------------

def test_late_entry_created_after_the_grace_day(store):
    store.dossier("L-1", at(2, 9), created_at=at(3, 16))  # created on the grace day itself
    store.dossier("L-2", at(2, 9), created_at=at(4, 7))   # the day after
    assert subjects(store.audit(end_of_day(20)), "entry.late") == {"L-2"}


def test_late_entry_counts_from_the_effective_receipt_day(store):
    store.dossier("L-1", at(6, 17, 0, 0), created_at=at(9, 8))   # Friday 17:00:00 is still Friday
    store.dossier("L-2", at(6, 17, 0, 1), created_at=at(10, 8))  # after closing: R = Monday 9, grace Tuesday 10
    store.dossier("L-3", at(7, 10), created_at=at(11, 8))        # Saturday: R = Monday 9, grace Tuesday 10
    assert subjects(store.audit(end_of_day(20)), "entry.late") == {"L-3"}


def test_late_entry_at_a_past_t_waits_for_the_end_of_the_grace(store):
    store.dossier("L-1", at(2, 9), created_at=at(5, 9))
    assert subjects(store.audit(end_of_day(3)), "entry.late") == set()
    assert subjects(store.audit(datetime(2026, 3, 4, 8)), "entry.late") == {"L-1"}


def test_late_entry_with_more_grace_days(store):
    store.dossier("L-1", at(2, 9), created_at=at(4, 9))
    result = store.audit(end_of_day(20), settings=make_settings(entry_grace_days=2))
    assert subjects(result, "entry.late") == set()


# entry.unsynced -----------------------------------------------------------------------------------

def test_unsynced_after_the_sync_grace(store):
    store.dossier("U-1", at(2, 9), on_portal=False)
    store.dossier("U-2", at(2, 9))
    assert subjects(store.audit(end_of_day(3)), "entry.unsynced") == set()
    assert subjects(store.audit(datetime(2026, 3, 4)), "entry.unsynced") == {"U-1"}


def test_unsynced_grace_is_a_parameter(store):
    store.dossier("U-1", at(2, 9), on_portal=False)
    result = store.audit(datetime(2026, 3, 4), settings=make_settings(sync_grace_days=2))
    assert subjects(result, "entry.unsynced") == set()


def test_unsynced_matches_portal_codes_by_key(store):
    store.dossier("U-1", at(2, 9), on_portal=False)
    store.portal_row(" u-1", at(2, 9), channel="1")
    assert subjects(store.audit(end_of_day(20)), "entry.unsynced") == set()


# entry.invalid ------------------------------------------------------------------------------------

def test_invalid_unknown_procedure(store):
    store.dossier("I-1", at(2), procedure="9.999999")
    store.dossier("I-2", at(2))
    result = store.audit(end_of_day(20))
    assert subjects(result, "entry.invalid") == {"I-1"}
    assert finding(result, "entry.invalid", "I-1").reason == "unknown_procedure"


def test_invalid_missing_finish_date(store):
    store.dossier("I-1", at(2), status=9, returned_at=at(5))   # NgayTra stands in for figures, still invalid
    store.dossier("I-2", at(2), status=9, finished_at=at(5))
    result = store.audit(end_of_day(20))
    assert subjects(result, "entry.invalid") == {"I-1"}
    assert finding(result, "entry.invalid", "I-1").reason == "missing_finish_date"


def test_invalid_missing_return_date(store):
    store.dossier("I-1", at(2), status=10, finished_at=at(5))
    store.dossier("I-2", at(2), status=10, finished_at=at(5), returned_at=at(6))
    store.dossier("I-3", at(2), status=9, finished_at=at(5))
    result = store.audit(end_of_day(20))
    assert subjects(result, "entry.invalid") == {"I-1"}
    assert finding(result, "entry.invalid", "I-1").reason == "missing_return_date"


def test_invalid_finish_before_receipt_to_the_second(store):
    store.dossier("I-1", at(2, 9, 0, 0), status=9, finished_at=at(2, 8, 59, 59))
    store.dossier("I-2", at(2, 9, 0, 0), status=9, finished_at=at(2, 9, 0, 0))
    result = store.audit(end_of_day(20))
    assert subjects(result, "entry.invalid") == {"I-1"}
    assert finding(result, "entry.invalid", "I-1").reason == "finish_before_receipt"


def test_invalid_gives_the_first_reason_that_applies(store):
    store.dossier("I-1", at(2), procedure="9.999999", status=10)
    store.dossier("I-2", at(2), status=10)
    result = store.audit(end_of_day(20))
    assert finding(result, "entry.invalid", "I-1").reason == "unknown_procedure"
    assert finding(result, "entry.invalid", "I-2").reason == "missing_finish_date"


# monitor_from -------------------------------------------------------------------------------------

def test_dossiers_received_before_go_live_give_no_dossier_findings_but_count(store):
    store.dossier("G-1", at(1, 23, 59, 59), on_portal=False)
    store.dossier("G-2", at(2, 0, 0, 0), on_portal=False)
    store.procedure("1.000002", fee_status="fee_bearing", online_payment=False)
    result = store.audit(end_of_day(20), settings=make_settings(monitor_from=datetime(2026, 3, 2).date()))
    assert subjects(result, "entry.unsynced") == {"G-2"}
    assert subjects(result, "payment.not_enabled") == {"1.000002"}  # procedure rules are not dossier rules
    assert province(result)["received_total"] == 2
