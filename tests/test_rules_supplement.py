"""supplement.repeated (rules.md "More rules (second round)"): more than one supplement request made
by T, for the pull API's recorded requests and the stream's listed or derived ones, on both stores.

Dates are in March 2026 (no public holiday); the default procedure has 5 working days."""
from __future__ import annotations

from datetime import date

import pytest

from audit_helpers import AGENCY, Store, at, end_of_day, finding, make_settings, subjects
from stream_support import Stream

RULE = "supplement.repeated"
OTHER = "000.00.16.H59"


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    return store


@pytest.fixture
def stream(engine) -> Stream:
    return Stream(engine)


def test_exactly_one_request_is_no_breach(store):
    store.dossier("ONE", at(2), supplements=((at(3), at(4)),))
    store.dossier("NONE", at(2))
    assert subjects(store.audit(end_of_day(20)), RULE) == set()


def test_two_requests_made_by_t_are_a_breach_named_with_both_moments(store):
    store.dossier("TWO", at(2), supplements=((at(3, 10), at(4)), (at(5, 14, 30), None)), agency=OTHER)
    store.dossier("THREE", at(2), supplements=((at(9), at(10)), (at(3), at(4)), (at(6), at(6, 15))))
    result = store.audit(end_of_day(20))
    assert subjects(result, RULE) == {"TWO", "THREE"}
    two = finding(result, RULE, "TWO")
    assert (two.agency, two.procedure, two.due_date, two.days_late) == (OTHER, "1.000001", None, None)
    assert two.detail == "Đã yêu cầu bổ sung 2 lần: lần đầu 03/03/2026 10:00, lần thứ hai 05/03/2026 14:30"
    # In order of the request dates, whatever order the system listed them in.
    assert finding(result, RULE, "THREE").detail == (
        "Đã yêu cầu bổ sung 3 lần: lần đầu 03/03/2026 09:00, lần thứ hai 06/03/2026 09:00")
    assert "due_date" not in two.to_json()


def test_a_second_request_made_after_t_is_no_breach_yet(store):
    store.dossier("LATER", at(2), supplements=((at(3), at(4)), (at(12, 10), None)))
    assert subjects(store.audit(at(12, 9, 59, 59)), RULE) == set()
    assert subjects(store.audit(at(12, 10)), RULE) == {"LATER"}   # made at T exactly: by T


def test_answered_or_not_and_dated_before_the_receipt_every_request_counts(store):
    store.dossier("EARLY", at(5), supplements=((at(3), at(4)), (at(4, 16), None)))
    store.dossier("RESOLVED", at(2), status=10, finished_at=at(12), returned_at=at(12),
                  supplements=((at(3), at(4)), (at(5), at(6))))
    assert subjects(store.audit(end_of_day(20)), RULE) == {"EARLY", "RESOLVED"}


def test_only_dossiers_received_by_t_and_from_monitor_from_are_judged(store):
    store.dossier("FUTURE", at(16), supplements=((at(3), at(4)), (at(5), None)))       # received after T
    store.dossier("OLD", at(2), supplements=((at(3), at(4)), (at(5), None)))
    store.dossier("NEW", at(9), supplements=((at(10), at(11)), (at(12), None)))
    assert subjects(store.audit(end_of_day(13)), RULE) == {"OLD", "NEW"}
    settings = make_settings(monitor_from=date(2026, 3, 9))
    assert subjects(store.audit(end_of_day(13), settings=settings), RULE) == {"NEW"}


def test_a_stream_dossier_with_two_status_5_steps_has_two_derived_requests(store, stream):
    stream.dossier("S-STEPS", at(2), steps=((at(3, 10), 5), (at(4, 9), 4), (at(5, 11), 5), (at(6, 9), 4)))
    stream.dossier("S-ONE-STEP", at(2), steps=((at(3, 10), 5), (at(4, 9), 4)))
    result = store.audit(end_of_day(20))
    assert subjects(result, RULE) == {"S-STEPS"}
    assert finding(result, RULE, "S-STEPS").detail == (
        "Đã yêu cầu bổ sung 2 lần: lần đầu 03/03/2026 10:00, lần thứ hai 05/03/2026 11:00")
    assert finding(result, RULE, "S-STEPS").agency == AGENCY


def test_a_stream_dossier_s_listed_requests_count_and_replace_its_status_5_steps(store, stream):
    stream.dossier("S-LISTED", at(2), supplements=((at(3, 8), at(4, 8)), (at(9, 8), None)))
    # One listed request: the two status-5 steps are not requests then (sources.md section 4).
    stream.dossier("S-LIST-WINS", at(2), supplements=((at(3, 8), at(4, 8)),),
                   steps=((at(3, 10), 5), (at(5, 11), 5)))
    result = store.audit(end_of_day(20))
    assert subjects(result, RULE) == {"S-LISTED"}
    assert finding(result, RULE, "S-LISTED").detail == (
        "Đã yêu cầu bổ sung 2 lần: lần đầu 03/03/2026 08:00, lần thứ hai 09/03/2026 08:00")
