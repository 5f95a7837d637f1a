"""Bad data at the edge (issue 10): every record is stored or rejected with a reason, no record
contents in any error text, capped answers, and a crawl that ends against a hostile server."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
import sqlalchemy
from sqlmodel import Session, select

from connectors.base import Batch, Rows
from connectors.loader import Loader
from connectors.sync import format_summary, sync_sources
from monitor.cli import main
from monitor.models import Dossier, Fee, RejectedInput, SyncCursor
from sandbox.simulator import OneStopServer
from sandbox.simulator.onestop_server import onestop_record
from sandbox.simulator.serving import JSON, Answer
from sync_support import (NOW, PASSWORD, PASSWORD_ENV, USER_ENV, USERNAME, clock, onestop_source, small_province,
                          sync_runs, write_settings)

NAME, ID_NUMBER = "Nguyễn Thị Bíchngọc Độcnhất", "079123456789012345678901234567890"  # 33 digits


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


class PoisoningServer(OneStopServer):
    """The simulated API, with the records whose code is in `poison` rewritten by it, and a
    count of requests."""

    def __init__(self, province, poison=None, **kwargs):
        super().__init__(province, username=USERNAME, password=PASSWORD, **kwargs)
        self.poison = poison or {}
        self.requests = 0

    def answer(self, request):
        self.requests += 1
        answer = super().answer(request)
        body = json.loads(answer.body)
        for record in body.get("data") or []:
            if record.get("MaHoSo") in self.poison:
                self.poison[record["MaHoSo"]](record)
        return replace(answer, body=json.dumps(body, ensure_ascii=False).encode())


def sync(tmp_path, engine, database_url, url, **extra):
    settings = write_settings(tmp_path, database_url, [onestop_source(url, **extra)])
    [outcome] = sync_sources(engine, settings, clock)
    return settings, outcome


def stored(engine, table) -> list:
    with Session(engine) as session:
        return list(session.exec(select(table)))


def error_texts(engine, outcome, caplog) -> str:
    """Every error text the monitor keeps or shows of a sync."""
    with engine.connect() as connection:
        runs = connection.execute(sqlalchemy.text("select error from sync_run")).scalars().all()
        rejections = connection.execute(sqlalchemy.text("select location, reason from rejected_input")).all()
    return "\n".join([*map(str, runs), *(f"{loc} {reason}" for loc, reason in rejections),
                      caplog.text, format_summary([outcome])])


def with_name(record):
    record.update(ChuHoSo=NAME, SoGiayToChuHoSo=ID_NUMBER)


POISONS = {
    "overlong code": lambda r: (with_name(r), r.update(MaHoSo=r["MaHoSo"] + "-" + "9" * 78)),
    "overlong agency code": lambda r: (with_name(r), r.update(MaDonViXuLy="000." * 20)),
    "control character in a code": lambda r: (with_name(r), r.update(MaTTHC="1.00\x1b[0m2")),
    "year 1": lambda r: (with_name(r), r.update(NgayTiepNhan="00010101080000")),
    "year 1900": lambda r: (with_name(r), r.update(NgayNopHoSo="19000101080000")),
    "year 2999": lambda r: (with_name(r), r.update(NgayHenTra="29990101080000")),
    "negative fee": lambda r: (with_name(r), r.update(DanhSachLePhi=[{"MaPhiLePhi": "LP", "TenPhiLePhi": NAME,
                                                                      "SoTien": -50000}])),
    "object where text belongs": lambda r: (with_name(r), r.update(TrichYeuHoSo={"x": NAME})),
}


def test_poisoned_records_are_rejected_the_good_ones_stored_and_no_name_or_id_reaches_an_error(
        tmp_path, engine, database_url, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    province = small_province()
    codes = sorted(d.code for d in province.dossiers if d.in_onestop)
    poisoned = dict(zip(codes[5::30], POISONS.values()))
    free_text_only = codes[7]  # an overlong ID number and control characters in free text: stored
    poisoned[free_text_only] = lambda r: r.update(ChuHoSo="Trần\tVăn\r\nAn\x1b[31m", SoGiayToChuHoSo=ID_NUMBER,
                                                  KenhThucHien=1, TrichYeuHoSo=12345)
    with PoisoningServer(province, poisoned) as server:
        settings, outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "ok"
    dossiers = {d.code: d for d in stored(engine, Dossier)}
    assert set(dossiers) == set(codes) - set(poisoned) | {free_text_only}
    kept = dossiers[free_text_only]
    assert (kept.applicant_name, kept.applicant_id, kept.channel, kept.summary) == (
        "Trần Văn  An[31m", ID_NUMBER[:32], "1", "12345")
    reasons = {r.location: r.reason for r in stored(engine, RejectedInput)}
    assert len(reasons) == len(POISONS) and outcome.counts.rejected == len(POISONS)
    assert sorted(reasons.values()) == sorted([
        "MaHoSo is 104 characters long, more than the 80 its column holds",
        "MaDonViXuLy is 80 characters long, more than the 64 its column holds",
        "MaTTHC holds a control character",
        "NgayTiepNhan is an impossible date (before 2000 or more than 10 years after the sync)",
        "NgayNopHoSo is an impossible date (before 2000 or more than 10 years after the sync)",
        "NgayHenTra is an impossible date (before 2000 or more than 10 years after the sync)",
        "DanhSachLePhi: SoTien is negative",
        "TrichYeuHoSo is a object where text belongs"])
    assert "MaHoSo (no usable code)" in reasons
    assert all(len(r.raw) < 70_000 for r in stored(engine, RejectedInput))
    texts = error_texts(engine, outcome, caplog)
    assert NAME not in texts and ID_NUMBER[:12] not in texts

    # The audit reads what was stored: a year-1 receipt would overflow its date arithmetic.
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--config", str(settings.path), "--format", "json"])
    assert exited.value.code in (0, 1)
    output = capsys.readouterr()
    assert NAME not in output.out + output.err


def test_motcua_sync_prints_no_name_or_id_number(tmp_path, engine, database_url, capsys, caplog):
    province = small_province()
    codes = sorted(d.code for d in province.dossiers if d.in_onestop)
    poisoned = dict(zip(codes[::40], POISONS.values()))
    with PoisoningServer(province, poisoned) as server:
        settings = write_settings(tmp_path, database_url, [onestop_source(server.url)])
        with pytest.raises(SystemExit) as exited:
            main(["sync", "--config", str(settings.path), "--verbose"])

    assert exited.value.code == 0
    output = capsys.readouterr()
    assert "rejected (all in table rejected_input" in output.out
    for text in (output.out, output.err, caplog.text):
        assert NAME not in text and ID_NUMBER[:12] not in text


def test_a_record_the_store_refuses_is_rejected_and_the_rest_of_its_batch_stored_with_the_cursor(engine):
    # A record the edge checks let through but the store refuses (here: no sync time; no creation
    # time is no longer one, since a stream dossier's entry time may be unknown).
    def dossier(code, **extra):
        return {"code": code, "code_key": code, "procedure_code": "1.1", "procedure_code_raw": "1.1",
                "agency_code": "A", "channel": "1", "applicant_name": NAME, "status": 2, "created_at": NOW,
                "updated_at": NOW, "source": "motcua", "synced_at": NOW, **extra}

    with engine.begin() as connection:
        run_id = connection.execute(sqlalchemy.text(
            "insert into sync_run (source, kind, started_at, status, records_read, records_inserted, "
            "records_updated, records_rejected) values ('motcua', 'onestop_api', :t, 'running', 0, 0, 0, 0) "
            "returning id"), {"t": NOW}).scalar()
    loader = Loader(engine, "motcua", run_id, clock)
    fees = [{"dossier_code": code, "seq": 1, "name": "lệ phí", "amount": 1} for code in ("D1", "D2", "D3")]
    loader.load(Batch(records=Rows(Dossier, ("code",), [dossier("D1"), dossier("D2", synced_at=None), dossier("D3")]),
                      children=[Rows(Fee, ("dossier_code", "seq"), fees)], cursor="20260331170000"))

    assert {d.code for d in stored(engine, Dossier)} == {"D1", "D3"}
    assert {f.dossier_code for f in stored(engine, Fee)} == {"D1", "D3"}
    [rejected] = stored(engine, RejectedInput)
    assert (rejected.location, rejected.reason) == ("dossier D2", "the store refused the record: IntegrityError")
    assert [c.cursor for c in stored(engine, SyncCursor)] == ["20260331170000"]
    assert (loader.counts.read, loader.counts.rejected) == (2, 1)


def test_two_new_records_the_store_refuses_together_keep_the_first(engine):
    # One code written two ways in one batch: each alone is fine, together they share a code_key.
    def dossier(code):
        return {"code": code, "code_key": code.upper(), "procedure_code": "1.1", "procedure_code_raw": "1.1",
                "agency_code": "A", "channel": "1", "applicant_name": NAME, "status": 2, "created_at": NOW,
                "updated_at": NOW, "source": "motcua", "synced_at": NOW}

    with engine.begin() as connection:
        run_id = connection.execute(sqlalchemy.text(
            "insert into sync_run (source, kind, started_at, status, records_read, records_inserted, "
            "records_updated, records_rejected) values ('motcua', 'onestop_api', :t, 'running', 0, 0, 0, 0) "
            "returning id"), {"t": NOW}).scalar()
    loader = Loader(engine, "motcua", run_id, clock)
    loader.load(Batch(records=Rows(Dossier, ("code",), [dossier("D-1"), dossier("d-1"), dossier("D-2")]),
                      cursor="20260331170000"))

    assert {d.code for d in stored(engine, Dossier)} == {"D-1", "D-2"}
    [rejected] = stored(engine, RejectedInput)
    assert (rejected.location, rejected.reason) == ("dossier d-1", "the store refused the record: IntegrityError")
    assert (loader.counts.read, loader.counts.inserted, loader.counts.rejected) == (2, 2, 1)


def test_an_answer_over_max_answer_mb_fails_the_source_and_is_not_kept(tmp_path, engine, database_url):
    with PoisoningServer(small_province()) as server:
        _, outcome = sync(tmp_path, engine, database_url, server.url, page_size=500, max_answer_mb=0.05)

    assert outcome.status == "failed"
    assert outcome.error == ("the answer to LayDanhSachHoSo TuNgayCapNhat=19000101000000 Trang=1 is larger than "
                             "max_answer_mb = 0.05 MB")
    assert stored(engine, RejectedInput) == [] and stored(engine, Dossier) == []


# --- servers that do not move on --------------------------------------------------------------

class HostileServer(PoisoningServer):
    """Answers LayDanhSachHoSo with `page(cursor, page)`: (TongSoBanGhi, records)."""

    def __init__(self, province, page):
        super().__init__(province)
        self.page = page
        self.template = onestop_record(next(d for d in province.dossiers if d.in_onestop))

    def answer(self, request):
        params = json.loads(request.body)
        if params.get("service") != "LayDanhSachHoSo":
            return OneStopServer.answer(self, request)
        self.requests += 1
        total, records = self.page(params["TuNgayCapNhat"], params["Trang"], params["SoBanGhi"])
        body = {"error_code": 0, "message": "OK", "TongSoBanGhi": total, "data": records}
        return Answer(200, JSON, json.dumps(body, ensure_ascii=False).encode())

    def record(self, code: str, updated: str) -> dict:
        return {**self.template, "MaHoSo": code, "NgayCapNhat": updated}


def test_a_server_stamping_new_codes_with_the_cursors_own_time_fails_in_bounded_requests(
        tmp_path, engine, database_url):
    moment = "20260105080000"
    served = iter(range(10**9))

    def page(cursor, number, size):  # new codes every time, all at the cursor's time: no end
        return 100, [server.record(f"H-{next(served):06d}", max(cursor, moment)) for _ in range(size)]

    with HostileServer(small_province(), page) as server:
        _, outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "failed"
    assert outcome.error == (f"LayDanhSachHoSo TuNgayCapNhat={moment} Trang=5: page 6 at one NgayCapNhat, beyond "
                             f"the 5 pages the system counts from it: the system does not move on")
    assert server.requests == 5


def test_a_server_that_ignores_the_page_number_fails_the_sync(tmp_path, engine, database_url):
    def page(cursor, number, size):  # 50 records in one second; always the first 10
        return 50, [server.record(f"T-{i:03d}", "20260105080000") for i in range(10)]

    with HostileServer(small_province(), page) as server:
        _, outcome = sync(tmp_path, engine, database_url, server.url, page_size=10)

    assert outcome.status == "failed"
    assert outcome.error.endswith("Trang=2: the same records as the request before: the system does not move on")
    assert server.requests == 2 and len(stored(engine, Dossier)) == 10
    assert sync_runs(engine)[-1]["status"] == "failed"


def test_fewer_records_than_the_system_counted_is_a_failed_sync(tmp_path, engine, database_url):
    def page(cursor, number, size):  # counts 50, serves 10 and says that was all
        return 50, [server.record(f"S-{i:03d}", f"202601050800{i:02d}") for i in range(10)]

    with HostileServer(small_province(), page) as server:
        _, outcome = sync(tmp_path, engine, database_url, server.url)

    assert outcome.status == "failed"
    assert outcome.error == ("LayDanhSachHoSo: 10 records read, fewer than the 50 the system counted (TongSoBanGhi): "
                             "the read is incomplete")
    assert len(stored(engine, Dossier)) == 10
