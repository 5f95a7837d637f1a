"""Stale sources skip exactly what rules.md lists, give no findings from the skipped parts, and
null the figures that need them. Staleness is judged at `now`, not at T."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete

from audit_helpers import ALL_SOURCES, BOOK, ONESTOP, PORTAL, Store, at, make_settings, province, subjects
from monitor.models import SyncRun

NOW = at(20, 12)
SETTINGS = make_settings(sources=ALL_SOURCES)
DOSSIER_RULES = ["entry.missing", "entry.late", "entry.unsynced", "entry.invalid", "ontime.late", "ontime.overdue",
                 "ontime.due_date_padded", "ontime.no_apology", "payment.offline", "supplement.repeated"]
CATALOGUE_RULES = ["entry.missing:portal", "entry.unsynced", "entry.invalid:unknown_procedure", "ontime.late",
                   "ontime.overdue", "ontime.due_date_padded", "ontime.no_apology", "payment.not_enabled",
                   "payment.offline", "service.not_full_online", "catalogue.unknown_time_limit",
                   "catalogue.unknown_fee"]
NULL_WHEN_ONTIME_SKIPPED = ("resolved_early", "resolved_on_time", "resolved_late", "in_progress_within",
                            "in_progress_overdue", "on_time_rate")


@pytest.fixture
def store(engine) -> Store:
    """Something for every rule to find, and every source synced an hour before NOW."""
    store = Store(engine)
    store.procedure()
    store.procedure("1.000002", fee_status="fee_bearing", online_payment=False)
    store.procedure("1.000003", kind="unknown", amount=None, fee_status="unknown", full_online_eligible=True,
                    service_level="Một phần")
    store.dossier("LATE", at(2), status=9, finished_at=at(12), created_at=at(6), on_portal=False,
                  appointment_at=at(13))
    store.dossier("UNKNOWN", at(2), procedure="9.999999", status=10)   # unknown procedure and no finish date
    store.dossier("PAID", at(2), channel="2", procedure="1.000002", payments=(("truc-tiep", at(3)),))
    store.portal_row("ON-PORTAL-ONLY", at(3))
    store.book_row("IN-BOOK-ONLY", at(3))
    for source in ALL_SOURCES:
        store.sync(source, NOW - timedelta(hours=1))
    return store


def audit(store: Store, *, as_of: datetime = NOW, now: datetime = NOW):
    return store.audit(as_of, settings=SETTINGS, now=now)


def test_fresh_sources_skip_nothing(store):
    result = audit(store)
    assert (result.stale, result.skipped_rules) == ([], set())
    assert {f.rule for f in result.findings} >= {"entry.missing", "entry.late", "entry.unsynced", "entry.invalid",
                                                 "ontime.late", "ontime.no_apology", "ontime.due_date_padded",
                                                 "ontime.overdue", "payment.offline", "payment.not_enabled",
                                                 "service.not_full_online", "catalogue.unknown_time_limit",
                                                 "catalogue.unknown_fee"}


def test_a_failed_one_stop_sync_skips_every_dossier_rule(store):
    store.sync(ONESTOP, NOW - timedelta(minutes=10), status="failed", error="HTTP 503 on page 4")
    result = audit(store)
    assert result.stale == [{"source": "motcua", "kind": "onestop_api",
                             "last_success": (NOW - timedelta(hours=1)).isoformat(timespec="seconds"),
                             "reason": "HTTP 503 on page 4", "skipped_rules": DOSSIER_RULES}]
    assert {f.rule for f in result.findings} == {"payment.not_enabled", "service.not_full_online",
                                                 "catalogue.unknown_time_limit", "catalogue.unknown_fee"}
    figures = province(result)
    assert figures["received_total"] == 2 and figures["in_progress_total"] == 1   # totals still counted
    assert all(figures[name] is None for name in NULL_WHEN_ONTIME_SKIPPED)
    assert (figures["entry_rate"], figures["sync_rate"], figures["online_payment_rate"]) == (None, None, None)


def test_a_portal_that_never_synced_skips_the_catalogue_and_its_dossier_list(engine, store):
    with engine.begin() as connection:
        connection.execute(delete(SyncRun).where(SyncRun.source == PORTAL.name))
    store.sync(PORTAL, NOW - timedelta(minutes=10), status="failed", error="cut off")
    result = audit(store)
    assert result.stale == [{"source": "cong-dvc", "kind": "portal_html", "last_success": None, "reason": "cut off",
                             "skipped_rules": CATALOGUE_RULES}]
    assert result.skipped_rules == set(CATALOGUE_RULES)
    assert {f.rule for f in result.findings} == {"entry.missing", "entry.late", "entry.invalid"}
    assert subjects(result, "entry.missing") == {"IN-BOOK-ONLY"}       # the books' part still runs
    invalid = next(f for f in result.findings if f.subject == "UNKNOWN")
    assert invalid.reason == "missing_finish_date"                      # the next reason that applies
    figures = province(result)
    assert all(figures[name] is None for name in NULL_WHEN_ONTIME_SKIPPED)
    assert (figures["entry_rate"], figures["sync_rate"], figures["online_payment_rate"]) == (None, None, None)


def test_a_portal_synced_before_keeps_its_catalogue(store):
    result = audit(store, now=NOW + timedelta(hours=36))  # the last good sync is now 37 hours old
    assert [s["source"] for s in result.stale] == ["motcua", "cong-dvc", "so-theo-doi"]
    portal = result.stale[1]
    assert portal["skipped_rules"] == ["entry.missing:portal", "entry.unsynced"]
    assert portal["reason"] == "the last successful sync is older than 36 hours"


def test_only_the_portal_stale_skips_its_list_but_not_its_catalogue(store):
    store.sync(PORTAL, NOW - timedelta(minutes=5), status="failed", error="HTTP 500")
    result = audit(store)
    assert result.skipped_rules == {"entry.missing:portal", "entry.unsynced"}
    assert subjects(result, "entry.missing") == {"IN-BOOK-ONLY"}
    assert subjects(result, "entry.unsynced") == set()
    assert {"ontime.late", "payment.not_enabled", "catalogue.unknown_fee"} <= {f.rule for f in result.findings}
    figures = province(result)
    assert (figures["entry_rate"], figures["sync_rate"]) == (None, None)
    assert figures["on_time_rate"] is not None


def test_a_stale_tracking_book_skips_its_part_of_entry_missing(store):
    store.sync(BOOK, NOW - timedelta(minutes=5), status="failed", error="no file matches")
    result = audit(store)
    assert result.stale[0]["skipped_rules"] == ["entry.missing:so-theo-doi"]
    assert subjects(result, "entry.missing") == {"ON-PORTAL-ONLY"}
    assert province(result)["entry_rate"] is None


def test_staleness_is_judged_at_now_not_at_t(store):
    assert audit(store, as_of=at(10)).stale == []                           # T before the last sync
    later = audit(store, as_of=NOW, now=NOW + timedelta(hours=34, minutes=59))  # 35:59 after the sync
    assert later.stale == []
    assert len(audit(store, as_of=NOW, now=NOW + timedelta(hours=37)).stale) == 3


def test_stale_only_when_the_last_success_is_older_than_max_age_hours(store):
    # Synced an hour before NOW: exactly 36 hours old at NOW + 35 h, one second older after that.
    assert audit(store, now=NOW + timedelta(hours=35)).stale == []
    assert len(audit(store, now=NOW + timedelta(hours=35, seconds=1)).stale) == 3


def test_a_sync_still_running_says_nothing_and_a_later_success_clears_a_failure(store):
    store.sync(ONESTOP, NOW - timedelta(minutes=30), status="failed", error="timeout")
    store.sync(ONESTOP, NOW - timedelta(minutes=20), status="ok")
    store.sync(ONESTOP, NOW - timedelta(minutes=10), status="running")
    assert audit(store).stale == []


def test_a_source_that_never_synced_at_all_is_stale(engine):
    store = Store(engine)
    result = store.audit(NOW, settings=make_settings(sources=(BOOK,)), now=NOW)
    assert result.stale == [{"source": "so-theo-doi", "kind": "tracking_book", "last_success": None,
                             "reason": "never synced successfully", "skipped_rules": ["entry.missing:so-theo-doi"]}]
