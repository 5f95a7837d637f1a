"""Stream dossiers in every rule and figure (rules.md "More rules (second round)", sources.md
section 4), a stream's staleness, and several one-stop sources in one config, on both stores.

The stream dossiers are sent through the stream loader (stream_support), so their entry time and
end date come from their steps as in production. The default procedure has 5 working days:
received Monday 2 March 2026 at 09:00, a dossier is due on Monday 9."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from audit_helpers import AGENCY, ONESTOP, Store, at, end_of_day, finding, make_settings, province, subjects
from monitor.kinds.dvcqg_stream import StreamSettings
from monitor.models import Dossier
from monitor.models import Finding as FindingRow
from stream_support import STREAM, Stream

FEE = "1.000002"
OTHER = "000.00.16.H59"
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


def history(engine) -> dict[tuple[str, str], FindingRow]:
    with engine.connect() as connection:
        return {(row.rule, row.subject): row for row in connection.execute(select(FindingRow.__table__))}


def figures_of(result, agency: str) -> dict:
    return next(f.to_json() for f in result.figures if f.agency == agency)


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


# ontime.no_apology: the stream has no apology letters -----------------------------------------------

def test_no_apology_is_skipped_for_stream_dossiers_named_and_their_history_left_as_it_was(store, stream, engine):
    settings = make_settings(sources=(ONESTOP, STREAM))
    store.sync(ONESTOP, NOW - timedelta(hours=1))
    store.dossier("P-1", at(2))                                   # overdue since 9 March, no letter
    store.dossier("P-2", at(2), apologies=(at(6),))               # overdue, apologised in time
    stream.dossier("S-1", at(2), sent_at=NOW - timedelta(hours=1))  # overdue: no letter can be known
    earlier = NOW - timedelta(days=1)
    store.add(*(FindingRow(rule="ontime.no_apology", subject=code, agency_code=AGENCY, first_seen=earlier,
                           last_seen=earlier, status="open") for code in ("S-1", "P-2")))

    result = store.audit(NOW, settings=settings, now=NOW)
    assert result.stale == []
    assert result.skipped_rules == {f"ontime.no_apology:{S}"}
    assert result.to_json()["skipped_rules"] == [f"ontime.no_apology:{S}"]
    assert subjects(result, "ontime.no_apology") == {"P-1"}
    assert subjects(result, "ontime.overdue") == {"P-1", "P-2", "S-1"}   # the stream's dossier is judged otherwise
    rows = history(engine)
    assert (rows["ontime.no_apology", "S-1"].status, rows["ontime.no_apology", "S-1"].last_seen) == ("open", earlier)
    assert (rows["ontime.no_apology", "P-2"].status, rows["ontime.no_apology", "P-2"].resolved_at) == ("resolved", NOW)


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
                 "ontime.due_date_padded", "ontime.no_apology", "payment.offline", "supplement.repeated",
                 "process.step_late"]


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


# several one-stop sources: each stale on its own -----------------------------------------------------

def test_one_stale_one_stop_source_of_two_skips_only_its_dossiers_and_leaves_their_history(store, stream, engine):
    settings = make_settings(sources=(ONESTOP, STREAM))
    first, second, third = NOW, NOW + timedelta(days=3), NOW + timedelta(days=5)
    store.dossier("P-1", at(2))                                          # overdue since 9 March
    stream.dossier("S-1", at(2), agency=OTHER, sent_at=first - timedelta(hours=1))  # overdue; not on the portal
    store.sync(ONESTOP, first - timedelta(hours=1))
    both = store.audit(first, settings=settings, now=first)
    assert (both.stale, subjects(both, "ontime.overdue"), subjects(both, "entry.unsynced")) == (
        [], {"P-1", "S-1"}, {"S-1"})

    # Three days later the stream's sender has stopped; P-1 was resolved late on 21 March.
    with engine.begin() as connection:
        connection.execute(update(Dossier).where(Dossier.code == "P-1").values(status=9, finished_at=at(21)))
    store.sync(ONESTOP, second - timedelta(hours=1))
    result = store.audit(second, settings=settings, now=second)
    # process.step_late judges the stream's dossiers only: with its one stream stale it is skipped whole.
    skipped = ["entry.missing", *(f"{rule}:{S}" for rule in DOSSIER_RULES[1:-1]), "process.step_late"]
    assert result.stale == [{"source": S, "kind": "dvcqg_stream",
                             "last_success": (first - timedelta(hours=1)).isoformat(timespec="seconds"),
                             "reason": "no batch accepted for more than 36 hours", "skipped_rules": skipped}]
    assert result.skipped_rules == set(skipped)
    assert (subjects(result, "ontime.overdue"), subjects(result, "ontime.late")) == (set(), {"P-1"})
    assert not [f for f in result.findings if f.subject == "S-1"]
    rows = history(engine)
    assert (rows["ontime.overdue", "P-1"].status, rows["ontime.overdue", "P-1"].resolved_at) == ("resolved", second)
    for rule in ("ontime.overdue", "entry.unsynced"):
        assert (rows[rule, "S-1"].status, rows[rule, "S-1"].last_seen) == ("open", first)
    # The figures of the agency whose dossiers all come from the fresh source are computed; those of
    # the agency with a dossier of the stale one, and the province's, are not. entry_rate needs
    # every one-stop source (a code missing from the fresh one may be in the stale one).
    fresh, mixed = figures_of(result, AGENCY), figures_of(result, OTHER)
    assert (fresh["resolved_late"], fresh["on_time_rate"], fresh["sync_rate"], fresh["entry_rate"]) == (1, 0.0, 1.0, None)
    assert (mixed["received_total"], mixed["in_progress_total"]) == (1, 1)
    for figures in (mixed, province(result)):
        assert (figures["resolved_late"], figures["in_progress_overdue"], figures["on_time_rate"],
                figures["sync_rate"], figures["entry_rate"]) == (None, None, None, None, None)

    # Both stale: every dossier rule is skipped whole, as with one source.
    everything = store.audit(third, settings=settings, now=third)
    assert everything.skipped_rules == set(DOSSIER_RULES)
    assert not [f for f in everything.findings if f.rule in DOSSIER_RULES]
