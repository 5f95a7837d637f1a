"""Stream dossiers in every rule and figure (rules.md "More rules (second round)", sources.md
section 4) and a stream's staleness, on both stores.

The stream dossiers are sent through the stream loader (stream_support), so their entry time and
end date come from their steps as in production. The default procedure has 5 working days:
received Monday 2 March 2026 at 09:00, a dossier is due on Monday 9."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from audit_helpers import AGENCY, Store, at, end_of_day, finding, make_settings, province, subjects
from monitor.kinds.dvcqg_stream import StreamSettings
from stream_support import STREAM, Stream

FEE = "1.000002"
NOW = at(20, 12)
S = STREAM.name


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    store.procedure(FEE, fee_status="fee_bearing", online_payment=True)
    return store


@pytest.fixture
def stream(engine) -> Stream:
    return Stream(engine)


# payments: DuocThanhToanTrucTuyen, or resolved with 9 or 10 by T --------------------------------

def test_offline_a_stream_dossier_is_paid_when_resolved_with_9_or_10_by_t_and_online_only_by_its_flag(store, stream):
    online = dict(channel="2", procedure=FEE)
    stream.dossier("S-1", at(2), status=9, finished_at=at(5), **online)                    # paid, not online
    stream.dossier("S-2", at(2), status=9, finished_at=at(5), paid_online="2", **online)   # the province's gateway
    stream.dossier("S-3", at(2), status=4, **online)                                       # not resolved: not paid
    stream.dossier("S-4", at(2), status=10, finished_at=at(24), returned_at=at(24), **online)  # resolved after T
    stream.dossier("S-5", at(2), status=9, finished_at=at(5), channel="1", procedure=FEE)  # at the counter
    stream.dossier("S-6", at(2), status=9, finished_at=at(5), channel="2")                 # a free procedure
    stream.dossier("S-7", at(2), status=9, paid_online="0", **online)                      # 9 without a finish date
    stream.dossier("S-8", at(2), status=4, paid_online="1", **online)                      # the national portal
    assert subjects(store.audit(end_of_day(20)), "payment.offline") == {"S-1"}
    later = store.audit(end_of_day(24))
    assert subjects(later, "payment.offline") == {"S-1", "S-4"}
    assert finding(later, "payment.offline", "S-4").agency == AGENCY


def test_online_payment_rate_counts_stream_dossiers_paid_online_or_resolved_by_the_end_of_the_period(store, stream):
    store.dossier("P-1", at(10), procedure=FEE, payments=(("truc-tuyen", at(10, 10)),))   # paid online
    stream.dossier("S-1", at(10), procedure=FEE, paid_online="1")                         # paid online, any channel
    stream.dossier("S-2", at(10), procedure=FEE, channel="2", status=10, finished_at=at(12),
                   returned_at=at(12))                                                    # paid, not online
    stream.dossier("S-3", at(10), procedure=FEE)                                          # not paid
    stream.dossier("S-4", at(10), procedure=FEE, status=9, finished_at=at(23))            # paid after `to`
    stream.dossier("S-5", at(2), procedure=FEE, paid_online="2")                          # received before `from`
    result = store.audit(end_of_day(20), period=(date(2026, 3, 9), date(2026, 3, 20)))
    assert province(result)["online_payment_rate"] == 2 / 3


# the end date of 3, 7, 8: NgayTuChoi, NgayKetThucXuLy, else the latest step with that status ---------

def test_stopped_stream_dossier_without_a_step_of_its_status_has_no_end_date_and_is_in_no_figure(store, stream):
    period = (date(2026, 3, 9), date(2026, 3, 20))
    stream.dossier("X-1", at(10), status=8, steps=((at(10, 9, 30), 2), (at(12, 10), 8)))   # end: its status-8 step
    stream.dossier("X-2", at(10), status=3, appointment_at=at(31), steps=((at(10, 9, 30), 2),))
    stream.dossier("X-3", at(10), status=7, refused_at=at(11))                            # NgayTuChoi: no step needed
    store.dossier("P-7", at(10), status=7, updated_at=at(13))                             # pull API: NgayCapNhat
    result = store.audit(end_of_day(20), period=period)
    figures = province(result)
    assert (figures["received_total"], figures["resolved_total"], figures["resolved_on_time"],
            figures["in_progress_total"]) == (3, 3, 3, 0)
    # X-2 would be padded (appointment 31/03, legal due date 17/03) and overdue, were it in a rule.
    assert not {f.subject for f in result.findings if f.rule.startswith("ontime.")}

    stream.steps("X-2", (at(13, 15), 3))            # its end date arrives: resolved, on time
    result = store.audit(end_of_day(20), period=period)
    figures = province(result)
    assert (figures["received_total"], figures["resolved_total"], figures["resolved_on_time"]) == (4, 4, 4)
    assert subjects(result, "ontime.due_date_padded") == {"X-2"}
    assert finding(result, "ontime.due_date_padded", "X-2").due_date == date(2026, 3, 17)


# entry.late: the entry time is the first status-2 step --------------------------------------------

def test_late_entry_of_a_stream_dossier_is_its_first_status_2_step_and_none_is_skipped(store, stream):
    # Received Friday 13 February 2026; Tết takes 16 to 20 February: the grace day is Monday 23.
    received = at(13, 10, month=2)
    stream.dossier("E-1", received, steps=((at(23, 16, month=2), 2), (at(24, 9, month=2), 2)))
    stream.dossier("E-2", received, steps=((at(24, 8, month=2), 2),))
    stream.dossier("E-3", received, steps=((at(13, 10, 5, month=2), 4),))   # no status-2 step: unknown
    result = store.audit(end_of_day(27, month=2))
    assert subjects(result, "entry.late") == {"E-2"}
    assert finding(result, "entry.late", "E-2").detail == (
        "Nhận 13/02/2026 10:00, nhập vào hệ thống 24/02/2026 08:00; hạn nhập 23/02/2026")

    stream.steps("E-3", (at(25, 9, month=2), 2))
    assert subjects(store.audit(end_of_day(27, month=2)), "entry.late") == {"E-2", "E-3"}


# a stream's staleness: its last batch, its file read -------------------------------------------------

DOSSIER_RULES = ["entry.missing", "entry.late", "entry.unsynced", "entry.invalid", "ontime.late", "ontime.overdue",
                 "ontime.due_date_padded", "ontime.no_apology", "payment.offline"]


def test_a_stream_is_stale_only_when_its_last_batch_is_older_than_max_age_hours(store, stream):
    last_batch = NOW - timedelta(hours=1)
    stream.dossier("S-1", at(2), sent_at=last_batch)
    settings = make_settings(sources=(STREAM,))
    # Exactly 36 hours after the last batch: fresh, as a sync exactly max_age_hours old is.
    assert store.audit(NOW, settings=settings, now=last_batch + timedelta(hours=36)).stale == []
    late = store.audit(NOW, settings=settings, now=last_batch + timedelta(hours=36, seconds=1))
    assert late.stale == [{"source": S, "kind": "dvcqg_stream",
                           "last_success": last_batch.isoformat(timespec="seconds"),
                           "reason": "no batch accepted for more than 36 hours", "skipped_rules": DOSSIER_RULES}]
    assert late.skipped_rules == set(DOSSIER_RULES)
    assert [f for f in late.findings if f.subject == "S-1"] == []


def test_a_stream_that_never_had_a_batch_is_stale(store):
    result = store.audit(NOW, settings=make_settings(sources=(STREAM,)), now=NOW)
    assert result.stale == [{"source": S, "kind": "dvcqg_stream", "last_success": None,
                             "reason": "never received a batch", "skipped_rules": DOSSIER_RULES}]


def test_a_stream_whose_last_file_read_failed_is_stale_though_its_last_batch_is_recent(store, stream):
    from_files = StreamSettings(name=S, path="/srv/lgsp/*.jsonl")
    last_batch = NOW - timedelta(hours=1)
    stream.dossier("S-1", at(2), sent_at=last_batch)
    store.sync(from_files, NOW - timedelta(minutes=30), status="failed", error="1 of 3 files could not be read")
    result = store.audit(NOW, settings=make_settings(sources=(from_files,)), now=NOW)
    assert [(s["reason"], s["last_success"]) for s in result.stale] == [
        ("1 of 3 files could not be read", last_batch.isoformat(timespec="seconds"))]
    # A stream without a file glob is not read by `motcua sync`: its runs say nothing.
    assert store.audit(NOW, settings=make_settings(sources=(STREAM,)), now=NOW).stale == []
    store.sync(from_files, NOW - timedelta(minutes=10))
    assert store.audit(NOW, settings=make_settings(sources=(from_files,)), now=NOW).stale == []
