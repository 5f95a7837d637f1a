"""The national index (rules.md "What the national index will say"): one test per clause, with
values computed by hand on a small province, on both stores; the points and config [index]; the
audit's outputs; what the audit stage stores for the reports.

The province is built once per store: each clause has an agency of its own (its dossiers, its row
of the index), audited once for the period Monday 9 to Friday 20 March 2026 (T = 20 March
23:59:59). The default procedure has 5 working days: received Tuesday 10 March at 09:00, a
dossier is legally due Tuesday 17."""
from __future__ import annotations

import csv
import io
import json
import os
import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy
from sqlalchemy import select
from sqlmodel import SQLModel

from audit_helpers import AGENCY, ONESTOP, PORTAL, Store, at, end_of_day, make_settings, province
from cli_helpers import run_cli, write_config
from conftest import PG_URL
from connectors.stream_loader import DOSSIERS
from monitor.config import ConfigError, Settings, load_settings
from monitor.db import make_engine
from monitor.models import Fee, ReportIndex
from rules.index import INDICATOR_IDS, IndexRow
from rules.publish import publish
from stream_support import STREAM, Stream, wire

FEE = "1.000002"
OTHER = "000.00.16.H59"
PERIOD = (date(2026, 3, 9), date(2026, 3, 20))
T = end_of_day(20)

# One agency per clause.
SYNC, COUNTED, DATETIMES, STOPPED = "idx-sync", "idx-counted", "idx-datetimes", "idx-stopped"
REQUESTS, WAITING, ANSWERED, NO_APPOINTMENT = "idx-requests", "idx-waiting", "idx-answered", "idx-no-appointment"
BEFORE_RECEIPT, GAP, GAP_OTHER, PAYMENT = "idx-before-receipt", "idx-gap", "idx-gap-other", "idx-payment"
RESULTS, ZERO, POINTS = "idx-results", "idx-zero", "idx-points"


def build(store: Store) -> None:
    """The province of the clause tests."""
    store.procedure()
    store.procedure(FEE, fee_status="fee_bearing", online_payment=True)
    add = store.dossier

    # 1.4 and 3.3: every dossier started in the period.
    add("S-1", at(10), agency=SYNC, channel="2")
    add("S-2", at(10), agency=SYNC, on_portal=False)
    add("S-3", at(11), agency=SYNC, status=10)              # no finish nor return date: in no figure
    add("S-4", at(2), agency=SYNC)                          # started before the period
    add("S-5", at(23), agency=SYNC)                         # after it
    add("N-1", None, agency=SYNC, status=1, channel="2")    # registered, never received

    # 2.1 counts the dossiers of the figures.
    add("C-1", at(2), agency=COUNTED, status=9, finished_at=at(6), appointment_at=at(9, 17))   # resolved before
    add("C-2", at(2), agency=COUNTED, status=9, finished_at=at(11), appointment_at=at(9, 17))  # carried over, late
    add("C-3", at(2), agency=COUNTED, appointment_at=at(27, 17))                              # carried over
    add("R-1", at(10), agency=COUNTED, status=9, finished_at=at(12), appointment_at=at(17, 17))
    add("X-1", at(10), agency=COUNTED, status=10)                                             # in no figure

    # 2.1: the finish date against NgayHenTra, as date-times.
    appointment = at(17, 17)
    add("T-1", at(10), agency=DATETIMES, status=9, finished_at=at(17, 16, 59, 59), appointment_at=appointment)
    add("T-2", at(10), agency=DATETIMES, status=9, finished_at=at(17, 17), appointment_at=appointment)  # exactly
    add("T-3", at(10), agency=DATETIMES, status=9, finished_at=at(17, 17, 0, 1), appointment_at=appointment)
    add("T-4", at(10), agency=DATETIMES, status=10, returned_at=at(16, 10), appointment_at=at(16, 9))  # NgayTra

    # 2.1: status 3, 7 and 8 by their end date.
    appointment = at(12, 17)
    add("K-3", at(10), agency=STOPPED, status=3, refused_at=at(13), appointment_at=appointment)
    add("K-7", at(10), agency=STOPPED, status=7, refused_at=at(11), appointment_at=appointment)
    add("K-8", at(10), agency=STOPPED, status=8, updated_at=at(13), appointment_at=appointment)  # NgayCapNhat

    # 2.1: more than one supplement request made by T.
    early = dict(agency=REQUESTS, status=9, finished_at=at(12), appointment_at=at(17, 17))
    add("Q-1", at(10), supplements=((at(10, 10), at(10, 14)), (at(11, 9), at(11, 10))), **early)
    add("Q-2", at(10), supplements=((at(10, 10), at(10, 14)), (at(23), None)), **early)   # the second after T
    add("Q-3", at(10), agency=REQUESTS, status=5, appointment_at=at(27, 17),
        supplements=((at(11), at(12)), (at(13), None)))

    # 2.1: waiting for its only supplement at T.
    waiting = dict(agency=WAITING, status=5, appointment_at=at(17, 17))
    add("W-1", at(10), supplements=((at(16, 10), None),), **waiting)        # asked before NgayHenTra
    add("W-2", at(10), supplements=((at(18, 10), None),), **waiting)        # asked after it
    add("W-3", at(10), supplements=((at(16, 10), at(23, 9)),), **waiting)   # answered after T
    add("W-4", at(10), agency=WAITING, status=4, appointment_at=at(17, 17))  # no request: it ends at T

    # 2.1: the time of the requests answered by T is subtracted.
    answered = dict(agency=ANSWERED, appointment_at=at(17, 17))
    add("U-1", at(10), status=9, finished_at=at(20, 15), supplements=((at(12, 9), at(16, 9)),), **answered)
    add("U-2", at(10), status=9, finished_at=at(20, 15), supplements=((at(12, 9), at(13, 9)),), **answered)
    add("U-3", at(10), status=4, supplements=((at(12, 9), at(16, 9)),), **answered)
    add("U-4", at(10), status=9, finished_at=at(18, 17), supplements=((at(11, 9), at(12, 9)),), **answered)

    # 2.1 without NgayHenTra.
    add("H-1", at(10), agency=NO_APPOINTMENT, status=9, finished_at=at(17, 20))       # D = 17, to 23:59:59
    add("H-2", at(10), agency=NO_APPOINTMENT, status=9, finished_at=at(18, 8))
    add("H-3", at(10), agency=NO_APPOINTMENT, status=4)                               # in progress past D
    add("H-4", at(10), agency=NO_APPOINTMENT, status=9, finished_at=at(18, 8), supplements=((at(12, 9), at(13, 9)),))
    add("H-5", at(10), agency=NO_APPOINTMENT, procedure="9.999")   # no limit, no NgayHenTra: no due date

    # 2.1: resolved before its receipt.
    add("B-1", at(12, 10), agency=BEFORE_RECEIPT, status=9, finished_at=at(12, 9), appointment_at=at(19, 17))
    add("B-2", at(12, 10), agency=BEFORE_RECEIPT, status=9, finished_at=at(11, 9), appointment_at=at(11, 8))

    # The gap to the law.
    add("G-1", at(10), agency=GAP, status=9, finished_at=at(19), appointment_at=at(20, 17))   # padded, late in law
    add("G-2", at(10), agency=GAP, status=4, appointment_at=at(27, 17))                      # padded, overdue
    add("G-3", at(10), agency=GAP, status=9, finished_at=at(16), appointment_at=at(20, 17))  # padded, early in law
    add("G-4", at(10), agency=GAP, status=9, finished_at=at(18), appointment_at=at(17, 17))  # late both ways
    add("G-5", at(10), agency=GAP_OTHER, status=9, finished_at=at(12), appointment_at=at(17, 17))

    # 3.6: fee-bearing dossiers paid online.
    paid = dict(agency=PAYMENT, procedure=FEE)
    add("P-1", at(10), payments=(("truc-tuyen", at(10, 10)),), **paid)
    add("P-2", at(10), payments=(("truc-tiep", at(10, 10)),), **paid)
    add("P-3", at(10), payments=(("truc-tuyen", at(23)),), **paid)          # paid after T
    add("P-4", at(10), payments=(("truc-tuyen", at(10, 10)),), **paid)      # its fees are all 0
    add("P-5", at(10), **paid)                                              # fees 0 and 20,000
    add("P-6", at(10), agency=PAYMENT, payments=(("truc-tuyen", at(10, 10)),))  # a free procedure
    add("P-7", at(2), payments=(("truc-tuyen", at(3)),), **paid)            # started before
    store.add(Fee(dossier_code="P-4", seq=1, amount=0), Fee(dossier_code="P-4", seq=2, amount=0),
              Fee(dossier_code="P-5", seq=1, amount=0), Fee(dossier_code="P-5", seq=2, amount=20_000))
    stream = Stream(store.engine)
    stream.dossier("PS-1", at(11), agency=PAYMENT, procedure=FEE, paid_online="2", fees=(50_000,))  # a gateway
    stream.dossier("PS-2", at(11), agency=PAYMENT, procedure=FEE, paid_online="1", fees=(0,))       # zeros

    # 4.1, 4.2, 4.3: what only the stream carries.
    url = "https://motcua.h59.gov.vn/ketqua/1.pdf"
    stream.send(DOSSIERS, [
        stream_record("E-1", at(10), status=9, finished=at(12), results=(url,), files=((True, False),)),
        stream_record("E-2", at(10), status=10, finished=at(13), results=("",), flagged=True),  # a paper result
        stream_record("E-3", at(10), files=((False, True),)),                                  # reused, in progress
        stream_record("E-4", at(11), flagged=True),                                            # digitised
        stream_record("E-5", at(2), status=9, finished=at(11), results=(url,)),                # started before
        stream_record("E-6", at(2), status=9, finished=at(6), results=(url,)),                 # finished before
        stream_record("E-7", at(9, 10), status=9, finished=at(6, 9)),        # finished before its receipt
        stream_record("E-8", at(10), status=3, refused=at(12), results=(url,)),               # not 9 or 10
        stream_record("E-9", at(10), status=9, finished=at(23), results=(url,), flagged=True),  # after T
    ], agency=RESULTS)
    add("D-1", at(10), agency=RESULTS, status=9, finished_at=at(12))                          # not from the stream

    # A zero denominator.
    add("Z-1", at(16), agency=ZERO, appointment_at=at(23, 17))      # D = 23: within, not padded
    add("Z-2", at(2), agency=ZERO + "-carried")                     # carried over only: nothing started

    # Points.
    for code, finished in (("V-1", at(12)), ("V-2", at(18)), ("V-3", at(19)), ("V-4", at(20))):
        add(code, at(10), agency=POINTS, status=9, finished_at=finished, appointment_at=at(17, 17))


def stream_record(code: str, received: datetime, *, status: int = 4, finished: datetime | None = None,
                  refused: datetime | None = None, results: tuple[str, ...] = (),
                  files: tuple[tuple[bool, bool], ...] = (), flagged: bool = False) -> dict:
    """A DongBoHoSoMC record with its result documents (their links, "" for paper) and submitted
    files (DuocSoHoa, DuocTaiSuDung), and HoSoCoThanhPhanSoHoa."""
    def flag(value: bool) -> str:
        return "1" if value else "0"
    return {
        "MaHoSo": code, "MaTTHC": "1.000001", "KenhThucHien": "2", "NgayTiepNhan": wire(received),
        "NgayHenTra": wire(received + timedelta(days=7)), "NgayKetThucXuLy": wire(finished),
        "NgayTra": wire(finished), "NgayTuChoi": wire(refused), "TrangThaiHoSo": str(status),
        "HoSoCoThanhPhanSoHoa": flag(flagged),
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy phép", "MaGiayToKetQua": f"KQ-{code}-{i}",
                                  "DuongDanTepTinKetQua": url} for i, url in enumerate(results)],
        "TaiLieuNop": [{"TepDinhKemId": f"{code}-{i}", "TenTepDinhKem": "to-khai.pdf", "MaThanhPhanHoSo": "TP1",
                        "DuocSoHoa": flag(digitised), "DuocTaiSuDung": flag(reused)}
                       for i, (digitised, reused) in enumerate(files)],
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request, tmp_path_factory) -> Store:
    """The province, once per store (a module's database, like conftest's `engine`)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('index') / 'motcua.db'}"
    else:
        admin = request.getfixturevalue("postgres_admin")
        schema = f"motcua_test_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
        url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    store = Store(engine)
    build(store)
    yield store
    engine.dispose()
    if schema:
        with request.getfixturevalue("postgres_admin").begin() as connection:
            connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))


@pytest.fixture
def store(engine) -> Store:
    """An empty province of its own, for the tests that change the sources or the snapshots."""
    store = Store(engine)
    store.procedure()
    return store


@pytest.fixture(scope="module")
def result(built):
    return built.audit(T, period=PERIOD, index_detail=True)


def audit(store: Store, settings: Settings | None = None, **options):
    return store.audit(T, period=PERIOD, settings=settings, **options)


def index_of(result, agency: str = "*") -> dict:
    return next(row.to_json() for row in result.index if row.agency == agency)


def rates(result, agency: str = "*") -> dict:
    row = index_of(result, agency)
    return {name: row[name]["rate"] for name in INDICATOR_IDS}


def figures_of(result, agency: str) -> dict:
    return next(f.to_json() for f in result.figures if f.agency == agency)


def why(result, agency: str) -> dict[str, str]:
    return {d.subject: d.reason for d in result.index_detail if d.agency == agency}


def test_the_index_has_a_row_per_agency_with_a_dossier_by_code_then_the_province(result):
    agencies = [row.agency for row in result.index]
    assert agencies == sorted({SYNC, COUNTED, DATETIMES, STOPPED, REQUESTS, WAITING, ANSWERED, NO_APPOINTMENT,
                               BEFORE_RECEIPT, GAP, GAP_OTHER, PAYMENT, RESULTS, ZERO, ZERO + "-carried",
                               POINTS}) + ["*"]


# 1.4 and 3.3: every dossier started in the period ------------------------------------------------

def test_1_4_and_3_3_count_every_dossier_started_in_the_period_those_in_no_figure_included(result):
    assert figures_of(result, SYNC)["received_total"] == 2        # S-3 is in no figure
    row = index_of(result, SYNC)
    assert row["idx_1_4_sync"] == {"rate": 2 / 3, "points": 6 * (2 / 3), "max": 6}
    # 3.3 = started online / started, × 1.4, full at 50%.
    assert row["idx_3_3_online"]["rate"] == (1 / 3) * (2 / 3)
    assert row["idx_3_3_online"]["points"] == pytest.approx(6 * (2 / 9) / 0.5)


# 2.1: whom it counts, and when a dossier is on time -----------------------------------------------

def test_2_1_counts_only_the_dossiers_of_the_figures_received_or_carried_over(result):
    figures = figures_of(result, COUNTED)
    assert figures["received_total"] + figures["carried_over"] == 3     # C-2, C-3, R-1
    assert rates(result, COUNTED)["idx_2_1_on_time"] == 2 / 3
    # C-3, overdue in law since 9 March, is on time for its appointment of 27 March.
    assert why(result, COUNTED) == {"C-2": "end_after_appointment", "C-3": "on_time_for_index_late_in_law"}


def test_2_1_compares_the_finish_date_with_ngay_hen_tra_as_date_times(result):
    assert rates(result, DATETIMES)["idx_2_1_on_time"] == 2 / 4
    assert why(result, DATETIMES) == {"T-3": "end_after_appointment", "T-4": "end_after_appointment"}
    # T-3 finished on its legal due date: on time in law, late for the index.
    assert figures_of(result, DATETIMES)["on_time_rate"] == 1.0


def test_2_1_judges_refused_withdrawn_and_stopped_dossiers_by_their_end_date(result):
    assert rates(result, STOPPED)["idx_2_1_on_time"] == 1 / 3
    assert figures_of(result, STOPPED)["on_time_rate"] == 1.0          # the law counts them on time
    assert why(result, STOPPED) == {"K-3": "end_after_appointment", "K-8": "end_after_appointment"}


def test_2_1_more_than_one_supplement_request_made_by_the_end_of_to_is_late(result):
    assert rates(result, REQUESTS)["idx_2_1_on_time"] == 1 / 3
    assert why(result, REQUESTS) == {"Q-1": "second_supplement_request", "Q-3": "second_supplement_request"}
    assert [d.supplement_requests for d in result.index_detail if d.agency == REQUESTS] == [2, 2]


def test_2_1_a_dossier_waiting_for_its_only_supplement_ends_at_the_request(result):
    assert rates(result, WAITING)["idx_2_1_on_time"] == 2 / 4
    assert why(result, WAITING) == {"W-2": "in_progress_past_appointment", "W-4": "in_progress_past_appointment"}
    assert {d.subject: d.index_end for d in result.index_detail if d.agency == WAITING} == {
        "W-2": at(18, 10), "W-4": T}


def test_2_1_subtracts_the_time_of_the_supplement_requests_answered_by_the_end_of_to(result):
    # U-1: 4 days off its finish, 16 15:00; U-2: 1 day, 19 15:00, late; U-3 in progress: T − 4 days;
    # U-4: 1 day, 17 17:00, exactly NgayHenTra.
    assert rates(result, ANSWERED)["idx_2_1_on_time"] == 3 / 4
    assert [(d.subject, d.index_end) for d in result.index_detail if d.agency == ANSWERED] == [("U-2", at(19, 15))]
    # U-1 and U-3 are late in law (D' 19 March), but their appointment is no later than D (17): not padded.
    assert index_of(result, ANSWERED)["law_gap"]["on_time_for_index_late_in_law"] == 0


def test_2_1_without_ngay_hen_tra_compares_with_the_end_of_the_legal_due_date(result):
    assert rates(result, NO_APPOINTMENT)["idx_2_1_on_time"] == 3 / 5
    assert why(result, NO_APPOINTMENT) == {"H-2": "end_after_appointment", "H-3": "in_progress_past_appointment"}
    assert {d.subject: d.legal_due for d in result.index_detail if d.agency == NO_APPOINTMENT} == {
        "H-2": date(2026, 3, 17), "H-3": date(2026, 3, 17)}


def test_2_1_counts_a_dossier_resolved_before_its_receipt(result):
    assert figures_of(result, BEFORE_RECEIPT)["received_total"] == 2
    assert rates(result, BEFORE_RECEIPT)["idx_2_1_on_time"] == 1 / 2
    assert why(result, BEFORE_RECEIPT) == {"B-2": "end_after_appointment"}


# the gap to the law ----------------------------------------------------------------------------

def test_the_gap_counts_the_dossiers_on_time_for_the_index_but_late_in_law_with_a_padded_appointment(result):
    assert index_of(result, GAP)["law_gap"] == {"on_time_rate": 1 / 3, "on_time_for_index_late_in_law": 2}
    assert index_of(result, GAP)["idx_2_1_on_time"]["rate"] == 3 / 4
    assert index_of(result, GAP_OTHER)["law_gap"] == {"on_time_rate": 1.0, "on_time_for_index_late_in_law": 0}
    assert why(result, GAP) == {"G-1": "on_time_for_index_late_in_law", "G-2": "on_time_for_index_late_in_law",
                                "G-4": "end_after_appointment"}
    padded = next(d for d in result.index_detail if d.subject == "G-1")
    assert (padded.legal_due, padded.appointment_at, padded.index_end) == (date(2026, 3, 17), at(20, 17), at(19))
    # The province's: its figures' on_time_rate, and every agency's padded dossiers.
    assert index_of(result)["law_gap"] == {
        "on_time_rate": province(result)["on_time_rate"],
        "on_time_for_index_late_in_law": sum(row.on_time_for_index_late_in_law for row in result.index[:-1])}


# 3.6: fee-bearing dossiers paid online ------------------------------------------------------------

def test_3_6_counts_fee_bearing_dossiers_paid_online_less_fee_lists_of_zeros(result):
    # P-1 and PS-1 of P-1, P-2, P-3 (paid after T), P-5 (fees 0 and 20,000) and PS-1.
    assert rates(result, PAYMENT)["idx_3_6_payment"] == 2 / 5


# 4.1, 4.2, 4.3: what only the stream carries ------------------------------------------------------

def test_4_x_count_stream_dossiers_by_their_results_and_submitted_files(result):
    row = index_of(result, RESULTS)
    # 4.1: E-1, E-2, E-5, E-7 resolved with 9 or 10 in the period (E-7, finished on 6 March, by its
    # receipt on the 9th); E-1 and E-5 with an electronic result.
    assert row["idx_4_1_e_result"] == {"rate": 2 / 4, "points": 6 * (2 / 4), "max": 6}
    # 4.2: of the seven started in the period, E-1 (a digitised file, an electronic result), E-4 and
    # E-9 (digitised, not resolved by T); E-2 is digitised but its result is on paper.
    assert row["idx_4_2_digitised"]["rate"] == 3 / 7
    assert row["idx_4_2_digitised"]["points"] == pytest.approx(4 * (3 / 7) / 0.8)
    assert row["idx_4_3_reuse"]["rate"] == 1 / 7
    assert row["idx_4_3_reuse"]["points"] == pytest.approx(2 * (1 / 7) / 0.8)


def test_a_zero_denominator_is_null_and_scores_nothing_and_4_x_are_null_without_stream_dossiers(result):
    assert index_of(result, ZERO) == {
        "agency": ZERO,
        "idx_1_4_sync": {"rate": 1.0, "points": 6.0, "max": 6},
        "idx_2_1_on_time": {"rate": 1.0, "points": 20.0, "max": 20},
        "idx_3_3_online": {"rate": 0.0, "points": 0.0, "max": 6},
        "idx_3_6_payment": {"rate": None, "points": None, "max": 6},
        "idx_4_1_e_result": {"rate": None, "points": None, "max": 6},
        "idx_4_2_digitised": {"rate": None, "points": None, "max": 4},
        "idx_4_3_reuse": {"rate": None, "points": None, "max": 2},
        "points_total": 26.0, "max_total": 32,
        "law_gap": {"on_time_rate": None, "on_time_for_index_late_in_law": 0},
    }
    carried = index_of(result, ZERO + "-carried")
    assert rates(result, ZERO + "-carried") == {**dict.fromkeys(INDICATOR_IDS), "idx_2_1_on_time": 0.0}
    assert (carried["points_total"], carried["max_total"]) == (0.0, 20)


def test_a_period_with_no_dossier_has_only_the_province_with_nothing_computed(built):
    empty = built.audit(end_of_day(6, month=2), period=(date(2026, 2, 2), date(2026, 2, 6)))
    assert [row.agency for row in empty.index] == ["*"]
    assert rates(empty) == dict.fromkeys(INDICATOR_IDS)
    assert (index_of(empty)["points_total"], index_of(empty)["max_total"]) == (None, 0)


# points and config [index] -------------------------------------------------------------------------

def test_points_follow_the_index_settings(built):
    settings = replace(make_settings(), index={"idx_2_1_on_time": {"max": 10, "full_at": 0.5},
                                               "idx_1_4_sync": {"max": 3}, "idx_3_3_online": {"full_at": 1.0}})
    changed = audit(built, settings)
    row = index_of(changed, POINTS)       # V-1 on time; V-2, V-3, V-4 late
    assert row["idx_2_1_on_time"] == {"rate": 1 / 4, "points": 10 * (1 / 4) / 0.5, "max": 10}
    assert row["idx_1_4_sync"] == {"rate": 1.0, "points": 3.0, "max": 3}
    assert row["idx_3_3_online"] == {"rate": 0.0, "points": 0.0, "max": 6}
    assert (row["points_total"], row["max_total"]) == (8.0, 19)
    # Above its full_at a rate scores the maximum, no more.
    assert index_of(changed, COUNTED)["idx_2_1_on_time"] == {"rate": 2 / 3, "points": 10.0, "max": 10}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n' + text, encoding="utf-8")
    return path


def test_config_index_is_read_per_indicator_with_defaults_for_what_it_leaves_out(tmp_path):
    settings = load_settings(write(tmp_path, "[index]\nidx_2_1_on_time = { max = 25, full_at = 0.9 }\n"
                                             "idx_4_3_reuse = { max = 1.5 }\n"))
    assert settings.index == {"idx_2_1_on_time": {"max": 25, "full_at": 0.9}, "idx_4_3_reuse": {"max": 1.5}}


@pytest.mark.parametrize("text, key", [
    ("idx_2_2_on_time = { max = 20 }", "index.idx_2_2_on_time: unknown key"),
    ("idx_2_1_on_time = { max = 20, full = 1.0 }", "index.idx_2_1_on_time.full: unknown key"),
    ("idx_2_1_on_time = { max = 0 }", "index.idx_2_1_on_time.max: must be a positive number"),
    ("idx_2_1_on_time = { max = -3 }", "index.idx_2_1_on_time.max: must be a positive number"),
    ("idx_2_1_on_time = { max = inf }", "index.idx_2_1_on_time.max: must be a positive number"),
    ("idx_2_1_on_time = { full_at = 0 }", "index.idx_2_1_on_time.full_at: must be a rate in (0, 1]"),
    ("idx_2_1_on_time = { full_at = 1.2 }", "index.idx_2_1_on_time.full_at: must be a rate in (0, 1]"),
    ("idx_2_1_on_time = { full_at = nan }", "index.idx_2_1_on_time.full_at: must be a rate in (0, 1]"),
    ("idx_2_1_on_time = { max = \"20\" }", "index.idx_2_1_on_time.max: must be int or float"),
    ("idx_2_1_on_time = 20", "index.idx_2_1_on_time: must be a table"),
])
def test_config_index_errors_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError, match=key.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_settings(write(tmp_path, f"[index]\n{text}\n"))


# stale sources ------------------------------------------------------------------------------------

def test_a_stale_portal_list_leaves_1_4_and_3_3_uncomputed_and_a_stale_one_stop_source_its_agencies(store, engine):
    now = T
    store.dossier("P-1", at(10), appointment_at=at(27, 17))
    Stream(engine).dossier("S-1", at(10), agency=OTHER, appointment_at=at(27, 17), sent_at=now - timedelta(days=3))
    store.sync(ONESTOP, now - timedelta(hours=1))
    store.sync(PORTAL, now - timedelta(days=2))             # synced before, now too old: its list is stale
    result = store.audit(T, period=PERIOD, now=now, settings=make_settings(sources=(ONESTOP, PORTAL, STREAM)))
    assert {s["source"] for s in result.stale} == {PORTAL.name, STREAM.name}
    assert rates(result, AGENCY) == {**dict.fromkeys(INDICATOR_IDS), "idx_2_1_on_time": 1.0, "idx_3_6_payment": None}
    assert index_of(result, AGENCY)["max_total"] == 20
    # The stream's agency, and the province, count a dossier of the stale stream: nothing is computed.
    for agency in (OTHER, "*"):
        assert rates(result, agency) == dict.fromkeys(INDICATOR_IDS)
        assert index_of(result, agency)["law_gap"]["on_time_for_index_late_in_law"] is None


# the command line --------------------------------------------------------------------------------

def test_audit_prints_the_index_and_with_index_detail_the_dossiers_that_cost_points(store, database_url, tmp_path,
                                                                                      capsys):
    store.dossier("000.00.31.H59-260310-0001", at(10), status=9, finished_at=at(19), appointment_at=at(20, 17))
    store.dossier("000.00.31.H59-260310-0002", at(10), status=9, finished_at=at(18), appointment_at=at(17, 17))
    store.dossier("=cmd|' /C calc'!A0", at(10), status=4, appointment_at=at(12, 17))
    config = write_config(tmp_path, database_url, "[index]\nidx_2_1_on_time = { max = 10 }\n")
    period = ("--from", "2026-03-09", "--to", "2026-03-20")

    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json", *period)
    output = json.loads(out)
    assert list(output) == ["as_of", "period", "findings", "stale", "figures", "index", "skipped_rules"]
    assert [row["agency"] for row in output["index"]] == [AGENCY, "*"]
    assert list(output["index"][0]) == ["agency", *INDICATOR_IDS, "points_total", "max_total", "law_gap"]
    assert output["index"][-1]["idx_2_1_on_time"] == {"rate": 1 / 3, "points": 10 * (1 / 3), "max": 10}

    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json", "--index-detail", *period)
    detail = json.loads(out)["index_detail"]
    assert [(d["subject"], d["reason"]) for d in detail] == [
        ("000.00.31.H59-260310-0001", "on_time_for_index_late_in_law"),
        ("000.00.31.H59-260310-0002", "end_after_appointment"),
        ("=cmd|' /C calc'!A0", "in_progress_past_appointment")]
    assert detail[1] == {"agency": AGENCY, "subject": "000.00.31.H59-260310-0002", "procedure": "1.000001",
                         "reason": "end_after_appointment", "received_at": "2026-03-10T09:00:00",
                         "appointment_at": "2026-03-17T17:00:00", "legal_due": "2026-03-17",
                         "due_date": "2026-03-17", "index_end": "2026-03-18T09:00:00", "supplement_requests": 0}

    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "csv", "--index-detail", *period)
    assert out.startswith("\ufeff")  # for Excel, as the findings CSV
    rows = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))
    assert rows[0] == ["agency", "subject", "procedure", "reason", "received_at", "appointment_at", "legal_due",
                       "due_date", "index_end", "supplement_requests"]
    assert [row[1] for row in rows[1:]] == ["000.00.31.H59-260310-0001", "000.00.31.H59-260310-0002",
                                            "'=cmd|' /C calc'!A0"]

    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "table", "--index-detail", *period)
    assert code == 0, err
    section = out[out.index("Chỉ số phục vụ"):out.index("Quy tắc")]
    assert all(len(line) <= 80 for line in section[:section.index("Hồ sơ làm giảm")].splitlines())
    assert "kết thúc sau ngày hẹn trả" in section and "đúng hạn theo chỉ số, trễ theo luật" in section
    assert "—" in section                                           # 3.6 and the 4.x: not computed

    code, out, err = run_cli(capsys, "audit", "--config", config, "--index-detail", "--as-of", "2026-03-20")
    assert (code, out) == (2, "") and "--index-detail needs a period" in err
    code, out, err = run_cli(capsys, "audit", "--config", config, "--format", "json", "--as-of", "2026-03-20")
    assert "index" not in json.loads(out)


# what the reports can read -----------------------------------------------------------------------

def test_the_audit_stage_stores_the_index_of_each_report_period(store, engine):
    store.dossier("I-1", at(10), status=9, finished_at=at(19), appointment_at=at(20, 17))
    store.dossier("I-2", at(10), agency=OTHER, status=9, finished_at=at(18), appointment_at=at(17, 17))
    now = datetime(2026, 3, 21, 2, 0)
    week = (date(2026, 3, 16), date(2026, 3, 20))
    snapshot = publish(engine, make_settings(), store.audit(now, now=now), [PERIOD, week])
    with engine.connect() as connection:
        stored = connection.execute(select(ReportIndex.__table__).where(ReportIndex.snapshot_id == snapshot)
                                    .order_by(ReportIndex.id)).all()
    assert [(r.period_start, r.period_end, r.agency) for r in stored] == [
        (*PERIOD, OTHER), (*PERIOD, AGENCY), (*PERIOD, "*"), (*week, OTHER), (*week, AGENCY), (*week, "*")]
    assert [IndexRow.from_stored(r) for r in stored[:3]] == audit(store).index
    assert [IndexRow.from_stored(r) for r in stored[3:]] == store.audit(end_of_day(20), period=week).index
    assert (stored[2].points_total, stored[2].max_total, stored[2].on_time_for_index_late_in_law) == (
        audit(store).index[-1].points_total, 32, 1)


# An independent computation on a simulated province ------------------------------------------------
#
# The province's one-stop system pushes the national sync stream (captured as files) and its portal
# serves the catalogue and the list of synchronised dossiers; `motcua sync` reads both. The index is
# then computed here in plain Python from what the sources say (the stream's final records and
# steps, the portal's list as the province holds it, the catalogue as synced), clause by clause of
# rules.md, and must equal the audit's to the last bit. The legal due dates of the gap come from the
# Python reference of the law (rules.due_reference), not from the audit's SQL.

SIMULATED_PERIOD = (date(2026, 2, 2), date(2026, 3, 13))
DEFAULTS = {"idx_1_4_sync": (6, 1.0), "idx_2_1_on_time": (20, 1.0), "idx_3_3_online": (6, 0.5),
            "idx_3_6_payment": (6, 1.0), "idx_4_1_e_result": (6, 1.0), "idx_4_2_digitised": (4, 0.8),
            "idx_4_3_reuse": (2, 0.8)}


def stamp(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y%m%d%H%M%S") if text else None


def expected_index(province, catalogue: dict, period: tuple[date, date]) -> list[dict]:
    from collections import Counter, defaultdict

    from monitor.calendar import WorkingCalendar
    from monitor.time_limits import TimeLimit, TimeLimitKind
    from rules.due_reference import SupplementRequest, effective_due_date, legal_due_date
    from sandbox.simulator import final_records, final_steps

    start, end = period
    as_of = end_of_day(end.day, month=end.month)
    calendar = WorkingCalendar()
    dossiers = {d.code: d for d in province.dossiers}
    steps = defaultdict(list)
    for step in final_steps(province):
        steps[step["MaHoSo"]].append((stamp(step["ThoiDiemXuLy"]), int(step["TrangThai"])))
    counts: dict[str, Counter] = defaultdict(Counter)
    for code, record in final_records(province).items():
        received = stamp(record["NgayTiepNhan"])
        if received is None or received > as_of:
            continue
        status = int(record["TrangThaiHoSo"])
        appointment = stamp(record["NgayHenTra"])
        if status in (9, 10):
            ended = stamp(record["NgayKetThucXuLy"]) or stamp(record["NgayTra"])
        elif status in (3, 7, 8):
            ended = (stamp(record["NgayTuChoi"]) or stamp(record["NgayKetThucXuLy"])
                     or max((at for at, s in steps[code] if s == status), default=None))
        else:
            ended = None
        in_no_figure = status in (3, 7, 8, 9, 10) and ended is None
        resolved = ended is not None and ended <= as_of
        ended_on = max(ended.date(), received.date()) if ended else None
        started = start <= received.date() <= end
        in_progress = not in_no_figure and not resolved
        if not (started or in_progress or (ended_on is not None and ended_on >= start)):
            continue
        counted = not in_no_figure and (started or not (resolved and ended_on < start))
        # Supplement requests: the listed ones, else each status-5 step (sources.md section 4).
        listed = [(stamp(r["NgayBoSung"]), stamp(r["NgayTiepNhanBoSung"]))
                  for r in record["DanhSachHoSoBoSung"] if r["NgayBoSung"]]
        if not listed:
            ordered = sorted(steps[code])
            listed = [(at, next((later for later, s in ordered if later > at and s != 5), None))
                      for at, s in ordered if s == 5]
        made = [(asked, answer) for asked, answer in listed if asked <= as_of]
        answered = [(asked, answer) for asked, answer in made if answer is not None and answer <= as_of]
        # The legal due date D (and D' for the law's state), from the catalogue as synced.
        procedure = catalogue.get(record["MaTTHC"].partition(".000.")[0])
        limit = None
        if procedure is not None and procedure[1] not in (None, "unknown"):
            kind = TimeLimitKind(procedure[1])
            limit = TimeLimit(kind, None if kind is TimeLimitKind.SAME_DAY else procedure[2])
        legal = legal_due_date(calendar, limit, received, appointment)
        # 2.1: the end, the supplement time subtracted, against NgayHenTra (else the end of D).
        if len(made) > 1:
            on_time = False
        else:
            if resolved:
                moment = ended
            elif len(made) == 1 and not answered:
                moment = made[0][0]
            else:
                moment = as_of
            moment -= sum((max(answer - asked, timedelta(0)) for asked, answer in answered), timedelta(0))
            if appointment is not None:
                on_time = moment <= appointment
            elif legal is not None:
                on_time = moment.date() <= legal
            else:
                on_time = True
        # The law's state, for the gap: late (9, 10 finished after D') or overdue at T.
        law_late = law_on_time = False
        if legal is not None and not in_no_figure:
            effective = effective_due_date(calendar, legal, [SupplementRequest(a, b) for a, b in listed], as_of)
            if resolved and status in (9, 10):
                law_late = ended.date() > effective.due_date
            elif not resolved:
                law_late = as_of.date() > effective.due_date and not effective.paused
        if resolved and ended_on >= start:
            law_on_time = status in (3, 7, 8) or legal is None or ended.date() <= effective.due_date
        padded = law_late and appointment is not None and appointment.date() > legal
        fees = record["DanhSachLePhi"]
        fee_bearing = procedure is not None and procedure[0] == "fee_bearing"
        zero_fees = bool(fees) and all(int(fee["Gia"]) == 0 for fee in fees)
        electronic = any((r["DuongDanTepTinKetQua"] or "").strip() for r in record["DanhSachGiayToKetQua"])
        digitised = (record["HoSoCoThanhPhanSoHoa"] == "1"
                     or any(f["DuocSoHoa"] == "1" for f in record["TaiLieuNop"]))
        finished = status in (9, 10) and resolved
        terms = {
            "started": started,
            "synced": started and dossiers[code].on_portal,
            "online": started and (record["KenhThucHien"] or "1") == "2",
            "counted": counted,
            "on_time": counted and on_time,
            "padded": counted and on_time and padded,
            "fees_due": started and fee_bearing and not zero_fees,
            "paid_online": (started and fee_bearing and not zero_fees
                            and record.get("DuocThanhToanTrucTuyen") in ("1", "2")),
            "results_due": finished and ended_on >= start,
            "e_results": finished and ended_on >= start and electronic,
            "stream_started": started,
            "digitised": started and digitised and (not finished or electronic),
            "reused": started and any(f["DuocTaiSuDung"] == "1" for f in record["TaiLieuNop"]),
            "resolved_in_period": resolved and ended_on >= start,
            "law_on_time": law_on_time,
        }
        counts[dossiers[code].agency].update(name for name, counts_it in terms.items() if counts_it)
    counts["*"] = sum(counts.values(), Counter())

    def rate(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    rows = []
    for agency in sorted(set(counts) - {"*"}) + ["*"]:
        c = counts[agency]
        sync, online = rate(c["synced"], c["started"]), rate(c["online"], c["started"])
        rates = {"idx_1_4_sync": sync, "idx_2_1_on_time": rate(c["on_time"], c["counted"]),
                 "idx_3_3_online": None if online is None else online * sync,
                 "idx_3_6_payment": rate(c["paid_online"], c["fees_due"]),
                 "idx_4_1_e_result": rate(c["e_results"], c["results_due"]),
                 "idx_4_2_digitised": rate(c["digitised"], c["stream_started"]),
                 "idx_4_3_reuse": rate(c["reused"], c["stream_started"])}
        row = {"agency": agency}
        for name, value in rates.items():
            maximum, full_at = DEFAULTS[name]
            row[name] = {"rate": value, "points": None if value is None else maximum * min(1.0, value / full_at),
                         "max": maximum}
        computed = [row[name] for name in rates if row[name]["rate"] is not None]
        row["points_total"] = sum(s["points"] for s in computed) if computed else None
        row["max_total"] = sum(s["max"] for s in computed)
        row["law_gap"] = {"on_time_rate": rate(c["law_on_time"], c["resolved_in_period"]),
                          "on_time_for_index_late_in_law": c["padded"]}
        rows.append(row)
    return rows


def write_final_stream(province, path: Path) -> None:
    """The stream as a log of a sender that sends each dossier as it stands and then its steps, in
    bodies of an agency each (a receiver ends with the same records as with the round-by-round
    stream, sandbox.simulator.stream, in a tenth of the time: the tests stay quick)."""
    from collections import defaultdict

    from sandbox.simulator import final_records, final_steps

    agencies = {d.code: d.agency for d in province.dossiers}
    records, steps = defaultdict(list), defaultdict(list)
    for code, record in final_records(province).items():
        records[agencies[code]].append(record)
    for step in final_steps(province):
        steps[agencies[step["MaHoSo"]]].append(step)
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="utf-8") as log:
        for service, bodies in ((DOSSIERS, records), ("CapNhatTienDoHoSoMC", steps)):
            for agency, data in sorted(bodies.items()):
                log.write(json.dumps({"session": "s", "service": service, "madonvi": agency, "isUpdating": "False",
                                      "data": data}, ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def simulated():
    from sync_support import small_province

    return small_province(seed=1, dossiers=400)


def test_an_independent_computation_on_a_simulated_province_equals_the_audit_s_index(
        simulated, engine, database_url, tmp_path):
    from connectors.sync import sync_sources
    from monitor.models import Procedure
    from sandbox.simulator import PortalServer
    from sync_support import clock, portal_source, write_settings

    write_final_stream(simulated, tmp_path / "logs" / "dvcqg.jsonl")
    with PortalServer(simulated) as portal:
        settings = write_settings(tmp_path, database_url, [
            {"name": "luong", "kind": "dvcqg_stream", "path": "logs/*.jsonl"}, portal_source(portal.url)])
        outcomes = sync_sources(engine, settings, clock)      # what `motcua sync` runs
    assert [(o.source, o.status, o.counts.rejected) for o in outcomes] == [("luong", "ok", 0), ("cong-dvc", "ok", 0)]
    with engine.connect() as connection:
        catalogue = {row.code: (row.fee_status, row.time_limit_kind, row.time_limit_amount)
                     for row in connection.execute(select(Procedure.__table__))}
    expected = expected_index(simulated, catalogue, SIMULATED_PERIOD)
    end = SIMULATED_PERIOD[1]
    result = Store(engine).audit(end_of_day(end.day, month=end.month), period=SIMULATED_PERIOD)
    assert [row.to_json() for row in result.index] == expected
    # The province is varied enough for that to say something.
    totals = expected[-1]
    assert all(totals[name]["rate"] not in (None, 0.0, 1.0) for name in INDICATOR_IDS)
    assert totals["law_gap"]["on_time_for_index_late_in_law"] > 0
