"""The findings history: only a complete audit at the present moment writes it; a finding not found
again is resolved only when its rule, and the part of it that found it, ran."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from audit_helpers import ALL_SOURCES, BOOK, ONESTOP, PORTAL, Store, at, end_of_day, finding, make_settings
from monitor.models import Exemption
from monitor.models import Finding as FindingRow

NOW = at(20, 12)
LATER = at(23, 12)
SETTINGS = make_settings(sources=ALL_SOURCES)


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    store.dossier("U-1", at(2), status=9, finished_at=at(5), on_portal=False)  # entry.unsynced
    store.dossier("U-2", at(2), status=9, finished_at=at(5), on_portal=False)  # entry.unsynced
    store.portal_row("M-1", at(3))   # entry.missing, by the portal
    store.book_row("M-2", at(3))     # entry.missing, by the book
    synced(store, NOW)
    return store


def history(engine) -> dict[tuple[str, str], FindingRow]:
    with engine.connect() as connection:
        return {(row.rule, row.subject): row for row in connection.execute(select(FindingRow.__table__))}


def synced(store: Store, now) -> None:
    for source in ALL_SOURCES:
        store.sync(source, now - timedelta(hours=1))


def audit(store: Store, now, **options):
    return store.audit(options.pop("as_of", now), settings=SETTINGS, now=now, **options)


def test_a_complete_audit_records_new_findings(store, engine):
    result = audit(store, NOW)
    rows = history(engine)
    assert set(rows) == {("entry.unsynced", "U-1"), ("entry.unsynced", "U-2"), ("entry.missing", "M-1"),
                         ("entry.missing", "M-2")}
    row = rows["entry.missing", "M-1"]
    assert (row.first_seen, row.last_seen, row.status, row.resolved_at, row.parts) == (NOW, NOW, "open", None, "portal")
    assert finding(result, "entry.missing", "M-1").first_seen == NOW


def test_persisting_findings_keep_first_seen_and_gone_ones_are_resolved(store, engine):
    audit(store, NOW)
    store.portal_row("U-1", at(2), channel="1")  # synced at last
    synced(store, LATER)
    result = audit(store, LATER)
    rows = history(engine)
    assert (rows["entry.unsynced", "U-1"].status, rows["entry.unsynced", "U-1"].resolved_at) == ("resolved", LATER)
    kept = rows["entry.unsynced", "U-2"]
    assert (kept.first_seen, kept.last_seen, kept.status) == (NOW, LATER, "open")
    assert finding(result, "entry.unsynced", "U-2").first_seen == NOW


def test_a_finding_seen_again_is_reopened_with_its_first_seen(store, engine):
    audit(store, NOW)
    with engine.begin() as connection:
        connection.execute(FindingRow.__table__.update().where(FindingRow.subject == "U-2")
                           .values(status="resolved", resolved_at=NOW))
    synced(store, LATER)
    audit(store, LATER)
    row = history(engine)["entry.unsynced", "U-2"]
    assert (row.status, row.resolved_at, row.first_seen, row.last_seen) == ("open", None, NOW, LATER)


@pytest.mark.parametrize("options", [{"as_of": at(20, 11)}, {"agency": "000.00.31.H59"},
                                     {"rule": "entry.unsynced"}])
def test_past_and_filtered_audits_leave_the_history_alone(store, engine, options):
    audit(store, NOW)
    before = {key: (row.last_seen, row.status) for key, row in history(engine).items()}
    store.portal_row("U-1", at(2), channel="1")
    synced(store, LATER)
    result = audit(store, LATER, **options)
    assert {key: (row.last_seen, row.status) for key, row in history(engine).items()} == before
    if "as_of" not in options:
        assert finding(result, "entry.unsynced", "U-2").first_seen == NOW


def test_a_past_audit_shows_only_first_seen_times_it_could_know(store, engine):
    audit(store, NOW)
    synced(store, LATER)
    result = audit(store, LATER, as_of=end_of_day(19))
    assert finding(result, "entry.unsynced", "U-2").first_seen is None


def test_a_skipped_rule_leaves_its_findings_as_they_were(store, engine):
    audit(store, NOW)
    store.portal_row("U-1", at(2), channel="1")
    store.sync(ONESTOP, LATER - timedelta(minutes=5), status="failed", error="down")
    for source in (PORTAL, BOOK):
        store.sync(source, LATER - timedelta(hours=1))
    audit(store, LATER)
    rows = history(engine)
    assert {row.status for row in rows.values()} == {"open"}
    assert {row.last_seen for row in rows.values()} == {NOW}


def test_a_skipped_part_leaves_the_findings_it_made_as_they_were(store, engine):
    audit(store, NOW)
    store.dossier("M-1", at(3), on_portal=False)   # entered at last...
    store.dossier("M-2", at(3))                    # ...both of them
    store.sync(PORTAL, LATER - timedelta(minutes=5), status="failed", error="HTTP 503")
    for source in (ONESTOP, BOOK):
        store.sync(source, LATER - timedelta(hours=1))
    audit(store, LATER)
    rows = history(engine)
    assert rows["entry.missing", "M-1"].status == "open"      # found by the portal, which did not run
    assert rows["entry.missing", "M-2"].status == "resolved"  # found by the book, which ran
    assert rows["entry.unsynced", "U-1"].status == "open"     # entry.unsynced was skipped whole


def test_exempted_findings_are_recorded_too(store, engine):
    with engine.begin() as connection:
        connection.execute(Exemption.__table__.insert().values(
            rule="entry.unsynced", subject="U-1", reason="r", author="a", until=date(2026, 12, 31), created_at=NOW))
    result = audit(store, NOW)
    assert finding(result, "entry.unsynced", "U-1").status == "exempted"
    assert history(engine)["entry.unsynced", "U-1"].status == "open"
