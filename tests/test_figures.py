"""The figures of rules.md, per agency and for the province, and the form's identity."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete

from audit_helpers import AGENCY, Store, at, end_of_day, make_settings, province
from monitor.models import (
    ApologyLetter, BookRow, Dossier, Exemption, Payment, PortalDossier, Procedure, SupplementRequest,
)
from rules.audit import audit_figures
from rules.figures import COUNTS

OTHER = "000.00.16.H59"
FEE = "1.000002"
PERIOD = (date(2026, 3, 9), date(2026, 3, 20))


@pytest.fixture
def store(engine) -> Store:
    """A fortnight: Monday 9 to Friday 20 March 2026, with dossiers before, in and after it.
    The default procedure gives 5 working days (received Monday 2: due Monday 9)."""
    store = Store(engine)
    store.procedure()
    store.procedure(FEE, fee_status="fee_bearing")
    store.dossier("C1", at(2), status=9, finished_at=at(6))                  # resolved before the period
    store.dossier("C2", at(2), status=9, finished_at=at(11))                 # carried over, resolved late
    store.dossier("C3", at(2), status=4)                                     # carried over, still overdue
    store.dossier("R1", at(10), channel="2", procedure=FEE, status=9, finished_at=at(12),
                  payments=(("truc-tuyen", at(10, 10)),))                    # early
    store.dossier("R2", at(10), channel="3", procedure=FEE, status=3, refused_at=at(13))  # refused: on time
    store.dossier("R3", at(10), procedure=FEE, status=4, payments=(("truc-tiep", at(11)),))  # due 17: overdue
    store.dossier("R4", at(18), procedure=FEE, status=4, on_portal=False,
                  payments=(("truc-tiep", at(23)),))                         # within; paid after T
    store.dossier("R5", at(11), status=5, supplements=((at(12), None),))    # overdue but paused: within
    store.dossier("R6", at(9), agency=OTHER, status=9, finished_at=at(16))   # due 16: on time
    store.dossier("B1", at(12, 10), status=9, finished_at=at(12, 9))         # finished before its receipt: early
    store.dossier("X1", at(9), status=10)                                    # no finish date: in no figure
    store.dossier("F1", at(23), status=4)                                    # after the period
    store.dossier("N1", None, status=1, channel="2")                         # registered, not received: nowhere
    store.book_row("M1", at(10))                                             # missing from the system
    store.portal_row("M2", at(2, 9))                                         # missing, received before the period
    return store


def figures_of(result, agency: str) -> dict:
    return next(f.to_json() for f in result.figures if f.agency == agency)


def test_each_figure_of_a_period(store):
    result = store.audit(end_of_day(20), period=PERIOD)
    assert province(result) == {
        "agency": "*",
        "received_total": 7, "received_online": 1, "received_offline": 6, "carried_over": 2,
        "resolved_total": 5, "resolved_early": 2, "resolved_on_time": 2, "resolved_late": 1,
        "in_progress_total": 4, "in_progress_within": 2, "in_progress_overdue": 2,
        "on_time_rate": 4 / 5,
        "entry_rate": 8 / 9,         # 8 one-stop records received in the period, M1 missing
        "sync_rate": 1 - 1 / 8,      # R4 is not on the portal
        "online_payment_rate": 1 / 2,  # R1 paid online, R3 at the counter; R4 paid after T
    }
    alone = audit_figures(store.engine, make_settings(), as_of=end_of_day(20), now=end_of_day(20), period=PERIOD)
    assert (alone.figures, alone.findings) == (result.figures, [])


def test_figures_per_agency_add_up_to_the_province(store):
    result = store.audit(end_of_day(20), period=PERIOD)
    assert [f.agency for f in result.figures] == [OTHER, AGENCY, "*"]
    other = figures_of(result, OTHER)
    assert (other["received_total"], other["resolved_on_time"], other["carried_over"]) == (1, 1, 0)
    for name in COUNTS:
        assert figures_of(result, OTHER)[name] + figures_of(result, AGENCY)[name] == province(result)[name]


def test_figures_without_a_period_cover_everything_received_by_t(store):
    result = store.audit(end_of_day(20))
    figures = province(result)
    assert (figures["received_total"], figures["carried_over"]) == (10, 0)
    assert (figures["resolved_total"], figures["in_progress_total"]) == (6, 4)
    assert figures["entry_rate"] == 11 / 13


def test_figures_at_a_past_t(store):
    result = store.audit(end_of_day(11), period=(date(2026, 3, 9), date(2026, 3, 11)))
    figures = province(result)
    # C2 finished on 11, R1 on 12: at the end of 11, R1 is still in progress.
    assert (figures["received_total"], figures["carried_over"]) == (5, 2)
    assert (figures["resolved_total"], figures["in_progress_total"]) == (1, 6)
    assert figures["resolved_late"] == 1


def test_rates_with_nothing_to_count_are_null(engine):
    store = Store(engine)
    store.procedure()
    store.dossier("A", at(2), status=4)
    figures = province(store.audit(end_of_day(2)))
    assert (figures["on_time_rate"], figures["online_payment_rate"], figures["sync_rate"]) == (None, None, None)
    assert figures["entry_rate"] == 1.0


def test_refused_withdrawn_and_stopped_dossiers_are_resolved_on_time(engine):
    store = Store(engine)
    store.procedure()
    store.dossier("S3", at(10), status=3, refused_at=at(11))
    store.dossier("S7", at(10), status=7, updated_at=at(12))
    store.dossier("S8", at(10), status=8, updated_at=at(13))  # processing stopped
    figures = province(store.audit(end_of_day(20), period=PERIOD))
    assert (figures["resolved_total"], figures["resolved_on_time"], figures["in_progress_total"]) == (3, 3, 0)


def test_an_end_before_the_receipt_is_taken_as_the_receipt_for_the_period(engine):
    # Received Monday 9 March, the first day of the period; its finish typed as Friday 6, before it.
    # Taken as the receipt, it ends in the period, and the form's identity holds (1 + 0 = 1 + 0).
    store = Store(engine)
    store.procedure()
    store.dossier("B1", at(9, 10), status=9, finished_at=at(6, 16))
    figures = province(store.audit(end_of_day(20), period=PERIOD))
    assert [figures[name] for name in ("received_total", "carried_over", "resolved_total", "resolved_early",
                                       "in_progress_total")] == [1, 0, 1, 1, 0]


def test_sync_rate_counts_dossiers_past_the_sync_grace_not_the_entry_grace(engine):
    store = Store(engine)
    store.procedure()
    store.dossier("U1", at(2), on_portal=False)
    store.dossier("U2", at(2))
    settings_ = make_settings(entry_grace_days=1, sync_grace_days=3)  # the sync grace ends Thursday 5
    assert province(store.audit(end_of_day(5), settings=settings_))["sync_rate"] is None
    assert province(store.audit(datetime(2026, 3, 6), settings=settings_))["sync_rate"] == 1 / 2


def test_exemptions_do_not_change_the_figures(store):
    before = store.audit(end_of_day(20), period=PERIOD).figures
    with store.engine.begin() as connection:
        connection.execute(Exemption.__table__.insert().values(
            rule="ontime.late", agency_code=AGENCY, reason="test", author="t", until=date(2026, 12, 31),
            created_at=at(20)))
    result = store.audit(end_of_day(20), period=PERIOD)
    assert result.figures == before
    assert {f.status for f in result.findings if f.rule == "ontime.late" and f.agency == AGENCY} == {"exempted"}


# The identity on random provinces ------------------------------------------------------------------

DAY0 = date(2026, 1, 5)


@st.composite
def dossiers(draw):
    received = datetime.combine(DAY0, datetime.min.time()) + timedelta(
        days=draw(st.integers(0, 80)), seconds=draw(st.integers(0, 86399)))
    status = draw(st.integers(2, 10))
    offset = st.integers(-5, 60).map(lambda d: received + timedelta(days=d, hours=draw(st.integers(0, 23))))
    finished = draw(st.none() | offset)
    returned = draw(st.none() | offset)
    refused = draw(st.none() | offset)
    return dict(received_at=received, status=status, finished_at=finished, returned_at=returned,
                refused_at=refused, updated_at=draw(offset), channel=draw(st.sampled_from("123")),
                agency=draw(st.sampled_from((AGENCY, OTHER))),
                supplements=tuple(draw(st.lists(st.tuples(offset, st.none() | offset), max_size=2))))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(dossiers(), min_size=1, max_size=30), start=st.integers(0, 80), length=st.integers(0, 40))
def test_the_identity_holds_on_random_provinces(engine, cases, start, length):
    store = Store(engine)
    store.procedure()
    try:
        for i, case in enumerate(cases):
            store.dossier(f"D{i}", **case)
        first = DAY0 + timedelta(days=start)
        last = first + timedelta(days=length)
        result = store.audit(end_of_day(last.day, last.month), period=(first, last))  # raises on a broken identity
        alone = audit_figures(engine, make_settings(), as_of=result.as_of, now=result.as_of, period=(first, last))
        assert (alone.figures, alone.stale, alone.findings) == (result.figures, result.stale, [])
        for figure in (f.to_json() for f in result.figures):
            assert figure["received_total"] + figure["carried_over"] == (figure["resolved_total"]
                                                                         + figure["in_progress_total"])
            assert figure["received_online"] + figure["received_offline"] == figure["received_total"]
            assert figure["resolved_early"] + figure["resolved_on_time"] + figure["resolved_late"] == (
                figure["resolved_total"])
            assert figure["in_progress_within"] + figure["in_progress_overdue"] == figure["in_progress_total"]
    finally:
        with engine.begin() as connection:
            for table in (SupplementRequest, ApologyLetter, Payment, PortalDossier, BookRow, Dossier, Procedure):
                connection.execute(delete(table))
