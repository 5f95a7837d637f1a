"""The one-stop connector against the simulated one-stop API, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import random
import socket
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, SQLModel, select

from connectors.sync import sync_sources
from monitor.models import Agency, ApologyLetter, Dossier, Fee, Payment, RejectedInput, SupplementRequest, SyncCursor
from sandbox.simulator import Faults, OneStopServer
from sandbox.simulator.store import DossierStore
from stream_support import Stream
from sync_support import (NOW, PASSWORD, PASSWORD_ENV, USER_ENV, USERNAME, clock, onestop_source, rejected_input,
                          small_province, store_content, sync_runs, write_settings)


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


class RewritingServer(OneStopServer):
    """The simulated API with some records written as a faulty system writes them, and a count
    of log-ins."""

    def __init__(self, province, rewrite=None, **kwargs):
        super().__init__(province, username=USERNAME, password=PASSWORD, **kwargs)
        self.rewrite = rewrite or {}
        self.logins = 0

    def answer(self, request):
        answer = super().answer(request)
        self.logins += json.loads(request.body).get("service") == "LayPhien"
        body = json.loads(answer.body)
        for record in body.get("data") or []:
            if record.get("MaHoSo") in self.rewrite:
                self.rewrite[record["MaHoSo"]](record)
        return replace(answer, body=json.dumps(body, ensure_ascii=False).encode())


def set_dossiers(province, dossiers) -> None:
    """Make the province serve these dossiers (`Province.dossiers` is a cached property)."""
    province.__dict__["dossiers"] = DossierStore(dossiers, province.now)


def sync(tmp_path, engine, database_url, url, **extra):
    settings = write_settings(tmp_path, database_url, [onestop_source(url, **extra)])
    [outcome] = sync_sources(engine, settings, clock)
    return outcome


def second(moment):
    """A simulated time as the wire carries it: to the second."""
    return moment.replace(microsecond=0) if moment else None


def stored(engine, table) -> list:
    with Session(engine) as session:
        return list(session.exec(select(table)))


def test_every_dossier_is_read_as_the_system_holds_it(tmp_path, engine, database_url):
    province = small_province()
    with RewritingServer(province) as server:
        outcome = sync(tmp_path, engine, database_url, server.url)

    truth = {d.code: d for d in province.dossiers if d.in_onestop}
    dossiers = {d.code: d for d in stored(engine, Dossier)}
    assert outcome.status == "ok" and dossiers.keys() == truth.keys()
    assert (outcome.counts.read, outcome.counts.inserted, outcome.counts.rejected) == (len(truth) + 11, len(truth) + 11, 0)
    for code, dossier in dossiers.items():
        expected = truth[code]
        assert dossier.procedure_code == expected.procedure_code.split(".000.")[0]
        assert dossier.procedure_code_raw == expected.procedure_code
        assert (dossier.agency_code, dossier.channel, dossier.status) == (expected.agency, str(expected.channel),
                                                                           expected.status)
        assert (dossier.applicant_name, dossier.applicant_id) == (expected.applicant, expected.applicant_id)
        assert (dossier.submitted_at, dossier.received_at, dossier.appointment_at) == (
            second(expected.submitted), second(expected.received), second(expected.appointment))
        assert (dossier.finished_at, dossier.returned_at, dossier.refused_at) == (
            second(expected.finished), second(expected.returned), second(expected.refused))
        assert (dossier.created_at, dossier.updated_at) == (second(expected.created), second(expected.updated))
    assert any(d.procedure_code != d.procedure_code_raw for d in dossiers.values())  # some carry the suffix
    supplements = sorted((s.dossier_code, s.seq, s.requested_at, s.answered_at) for s in stored(engine, SupplementRequest))
    assert supplements == sorted((d.code, seq, second(s.requested), second(s.answered)) for d in truth.values()
                                 for seq, s in enumerate(d.supplements, start=1))
    assert len(stored(engine, ApologyLetter)) == sum(len(d.apologies) for d in truth.values()) > 0
    assert len(stored(engine, Fee)) == sum(len(d.fees) for d in truth.values()) > 0
    payments = sorted((p.dossier_code, p.transaction_code, p.amount, p.method, p.paid_at) for p in stored(engine, Payment))
    assert payments == sorted((d.code, p.transaction, p.amount, p.method, second(p.at))
                              for d in truth.values() for p in d.payments)
    agencies = {a.code: a for a in stored(engine, Agency)}
    assert agencies["000.30.05.H59"].parent_code == "000.30.00.H59" and agencies["000.30.05.H59"].level == "xa"
    [cursor] = stored(engine, SyncCursor)
    assert cursor.cursor == max(d.updated for d in truth.values()).strftime("%Y%m%d%H%M%S")


def test_a_bad_record_is_rejected_with_its_code_reason_and_raw_text_and_the_rest_is_read(tmp_path, engine, database_url):
    province = small_province()
    codes = sorted(d.code for d in province.dossiers if d.in_onestop)
    missing, bad_date, bad_status, bad_amount = codes[3], codes[50], codes[100], codes[150]

    def pay_in_text(record):
        record["DanhSachThanhToan"] = [{"MaGiaoDich": "X1", "SoTien": "100.000", "HinhThucThanhToan": "truc-tuyen",
                                        "ThoiGianGD": ""}]

    rewrite = {missing: lambda record: record.pop("NgayTiepNhan"),
               bad_date: lambda record: record.update(NgayHenTra="2026-02-30"),
               bad_status: lambda record: record.update(TrangThaiHoSo="11"),
               bad_amount: pay_in_text}
    with RewritingServer(province, rewrite) as server:
        outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "ok"
    rejected = {r.location: r for r in stored(engine, RejectedInput)}
    assert sorted(rejected) == sorted(f"MaHoSo {code}" for code in rewrite)
    assert rejected[f"MaHoSo {missing}"].reason == "missing fields: NgayTiepNhan"
    assert rejected[f"MaHoSo {bad_date}"].reason == "NgayHenTra: unparseable date (not yyyyMMddHHmmss)"
    assert rejected[f"MaHoSo {bad_status}"].reason == "TrangThaiHoSo is not 1 to 10"
    assert rejected[f"MaHoSo {bad_amount}"].reason == "DanhSachThanhToan: SoTien is not a whole number of đồng"
    assert json.loads(rejected[f"MaHoSo {bad_date}"].raw)["NgayHenTra"] == "2026-02-30"
    assert {r.run_id for r in rejected.values()} == {sync_runs(engine)[0]["id"]}
    codes_stored = {d.code for d in stored(engine, Dossier)}
    assert codes_stored == set(codes) - set(rewrite)
    assert outcome.counts.rejected == 4


def test_a_code_another_one_stop_source_holds_is_rejected_never_merged(tmp_path, engine, database_url):
    # A merged province: the stream of its other system already brought two of these codes, one
    # written in lower case. A code is unique across the one-stop sources (sources.md section 4).
    province = small_province()
    truth = {d.code: d for d in province.dossiers if d.in_onestop}
    same, other_case = sorted(truth)[10], sorted(truth)[20]
    stream = Stream(engine)
    for code in (same, other_case.lower()):
        stream.dossier(code, datetime(2026, 1, 12, 9), procedure="1.009999", fees=(50_000,), sent_at=NOW)
    with RewritingServer(province) as server:
        outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "ok"
    reason = "duplicate_code: the code is already held by source luong-dvcqg"
    assert sorted((r.location, r.reason) for r in outcome.rejected) == sorted(
        [(f"MaHoSo {same}", reason), (f"MaHoSo {other_case}", reason)])
    assert rejected_input(engine) == [("motcua", f"MaHoSo {code}", reason) for code in sorted((same, other_case))]
    dossiers = {d.code_key: d for d in stored(engine, Dossier)}
    assert dossiers.keys() == truth.keys()
    for code in (same, other_case):
        held = dossiers[code]
        assert (held.source, held.procedure_code, held.status) == ("luong-dvcqg", "1.009999", 4)
    assert sorted((f.dossier_code, f.amount) for f in stored(engine, Fee) if f.dossier_code.upper() in (same, other_case)) \
        == sorted([(same, 50_000), (other_case.lower(), 50_000)])
    assert not [p for p in stored(engine, Payment) if p.dossier_code.upper() in (same, other_case)]
    assert (outcome.counts.read, outcome.counts.rejected) == (len(truth) + 11 - 2, 2)


def test_an_expired_session_is_renewed_and_the_call_repeated(tmp_path, engine, database_url):
    province = small_province()
    with RewritingServer(province, faults=Faults.named(["expiring_sessions"], session_calls=1)) as server:
        outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "ok"
    assert len(stored(engine, Dossier)) == sum(d.in_onestop for d in province.dossiers)
    calls = 1 + -(-len(stored(engine, Dossier)) // 20)  # agencies, then pages of 20
    assert server.logins >= calls  # every call after the first one on a session logged in again


def test_an_error_code_is_a_clear_error_with_the_message_of_the_system(tmp_path, engine, database_url):
    with RewritingServer(small_province()) as server:
        outcome = sync(tmp_path, engine, database_url, server.url, page_size=6000)  # more than it serves

    assert outcome.status == "failed"
    assert outcome.error == ("LayDanhSachHoSo TuNgayCapNhat=19000101000000 Trang=1: the system answered "
                             "error_code 3: Tham số không hợp lệ")
    assert stored(engine, Dossier) == [] and len(stored(engine, Agency)) == 11


def test_retries_are_bounded_in_number(tmp_path, engine, database_url):
    faults = Faults.named(["proxy_error_page"], rate=1.0, max_consecutive_failures=100)
    with RewritingServer(small_province(), faults=faults) as server:
        outcome = sync(tmp_path, engine, database_url, server.url, max_retries=3)

    assert outcome.status == "failed"
    assert outcome.error.endswith(" on LayPhien (gave up after 4 attempts)")
    assert sync_runs(engine)[0]["status"] == "failed"


def test_retries_are_bounded_in_total_time(tmp_path, engine, database_url):
    faults = Faults.named(["server_error"], rate=1.0, max_consecutive_failures=100)
    with RewritingServer(small_province(), faults=faults) as server:
        # Without the time bound it would try 11 times; the second delay alone passes 0.3 s.
        outcome = sync(tmp_path, engine, database_url, server.url, max_retries=10, backoff_seconds=0.2,
                       max_retry_seconds=0.3)

    assert outcome.status == "failed"
    assert outcome.error.endswith(("(gave up after 1 attempt)", "(gave up after 2 attempts)"))


def test_the_next_run_reads_only_what_changed_and_catches_a_late_commit(tmp_path, engine, database_url):
    province = small_province()
    dossiers = [d for d in province.iter_dossiers()]
    # A record that a slow transaction commits late: stamped 5 minutes before the newest record
    # the first run reads, but visible only after that run.
    late = next(d for d in dossiers if d.in_onestop)
    dossiers.remove(late)
    late.updated = max(d.updated for d in dossiers if d.in_onestop) - timedelta(minutes=5)
    set_dossiers(province, dossiers)
    with RewritingServer(province) as server:
        first = sync(tmp_path, engine, database_url, server.url)
        set_dossiers(province, dossiers + [late])
        touched = [d.code for d in dossiers if d.in_onestop][10:13]
        for code in touched:
            province.dossiers.touch(code, status=8)
        rng = random.Random(1)
        submitted = [province.submit_online_dossier(rng).code for _ in range(2)]
        second = sync(tmp_path, engine, database_url, server.url)
        after_two_runs = store_content(engine)
        SQLModel.metadata.drop_all(engine)
        SQLModel.metadata.create_all(engine)
        sync(tmp_path, engine, database_url, server.url)

    assert first.counts.read > 250 and second.status == "ok"
    assert second.counts.inserted == 1 + len(submitted)
    assert second.counts.updated == len(touched)
    assert second.counts.read < 30  # agencies, the overlap window and the changes: not everything
    assert {d.code: d.status for d in stored(engine, Dossier) if d.code in touched} == dict.fromkeys(touched, 8)
    assert after_two_runs == store_content(engine)  # the same as one clean run now


# Runs of records updated in the same second, as (first position, length): more than a page of
# 20 shares one NgayCapNhat. Back to back, a run of exactly two pages is followed by another run.
@pytest.mark.parametrize("runs", [[(0, 45)], [(100, 45)], [(100, 40), (140, 45)]],
                         ids=["first", "middle", "back-to-back"])
def test_pages_that_share_one_update_time_are_all_read(runs, tmp_path, engine, database_url):
    province = small_province()
    dossiers = sorted((d for d in province.iter_dossiers() if d.in_onestop), key=lambda d: (d.updated, d.code))
    for start, length in runs:
        moment = dossiers[start].updated
        for dossier in dossiers[start:start + length]:
            dossier.updated = moment
    set_dossiers(province, dossiers)
    with RewritingServer(province) as server:
        outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "ok"
    assert {d.code for d in stored(engine, Dossier)} == {d.code for d in dossiers}


def test_a_system_that_never_answers_times_out(tmp_path, engine, database_url):
    # A socket that takes connections and never answers: without a read time-out, a hang.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        host, port = silent.getsockname()
        outcome = sync(tmp_path, engine, database_url, f"http://{host}:{port}/api", timeout_seconds=0.2, max_retries=1)

    assert outcome.status == "failed"
    assert outcome.error == "a time-out on LayPhien (gave up after 2 attempts)"
