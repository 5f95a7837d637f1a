"""The national sync stream into the store (sources.md section 4), on SQLite and PostgreSQL: the
facts it carries, those derived from its steps, and the sloppiness of real senders."""
from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy

from sqlalchemy import select
from sqlmodel import SQLModel

from connectors.stream_loader import DOSSIERS, STEPS, StreamBatch, StreamLoader
from monitor.models import Dossier, StreamState, SupplementRequest
from sync_support import NOW, clock, rejected_input, store_content

SAMPLES = Path("/work/shared/spec/samples")
SOURCE = "luong-dvcqg"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"dvcqg-{name}.json").read_text(encoding="utf-8"))


def send(engine, body: dict, source: str = SOURCE) -> StreamBatch:
    batch = StreamBatch(body["service"], copy.deepcopy(body["data"]), agency=body.get("madonvi"))
    StreamLoader(engine, source, None, clock).load(batch)
    return batch


def dossiers_body(*records: dict, agency: str | None = "000.00.31.H59") -> dict:
    body = {"service": DOSSIERS, "isUpdating": "False", "data": list(records)}
    return body | ({"madonvi": agency} if agency else {})


def steps_body(*steps: dict) -> dict:
    return {"service": STEPS, "data": list(steps)}


def record(code: str = "000.00.31.H59-260112-0007", **fields) -> dict:
    base = {"MaHoSo": code, "MaTTHC": "1.001235", "KenhThucHien": "1", "ChuHoSo": "Ngô Văn Hải",
            "NgayTiepNhan": "20260112090000", "NgayHenTra": "20260116170000", "NgayKetThucXuLy": "",
            "NgayTra": "", "NgayTuChoi": "", "TrangThaiHoSo": "4", "DonViXuLy": "Sở Tư pháp",
            "DanhSachLePhi": [], "DanhSachHoSoBoSung": []}
    return base | fields


def step(at: str, status: str, code: str = "000.00.31.H59-260112-0007", content: str = "Xử lý") -> dict:
    return {"MaHoSo": code, "NguoiXuLy": "Phạm Thị Dung", "ChucDanh": "Chuyên viên", "ThoiDiemXuLy": at,
            "PhongBanXuLy": "", "NoiDungXuLy": content, "TrangThai": status, "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": ""}


def dossier(engine, code: str = "000.00.31.H59-260112-0007") -> dict:
    d = Dossier.__table__
    with engine.connect() as connection:
        return dict(connection.execute(select(d).where(d.c.code_key == code.upper())).mappings().one())


def supplements(engine, code: str = "000.00.31.H59-260112-0007") -> list[tuple]:
    s = SupplementRequest.__table__
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(s.c.requested_at, s.c.answered_at).where(s.c.dossier_code == code).order_by(s.c.seq))]


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S")


def test_the_sample_bodies_are_taken_whole(engine):
    assert send(engine, sample("DongBoHoSoMC")).refused == []
    assert send(engine, sample("CapNhatTienDoHoSoMC")).refused == []

    resolved, waiting = dossier(engine, "000.00.31.H59-260105-0001"), dossier(engine, "000.00.31.H59-260106-0002")
    assert (resolved["agency_code"], resolved["procedure_code"], resolved["channel"], resolved["status"]) == \
        ("000.00.31.H59", "1.001234", "2", 10)
    # An empty KenhThucHien is the counter; the entry time is the first status-2 step.
    assert (waiting["channel"], waiting["created_at"]) == ("1", datetime(2026, 1, 6, 14, 5))
    # No step of the resolved dossier came: its entry time is unknown.
    assert resolved["created_at"] is None
    # Its empty DanhSachHoSoBoSung leaves the status-5 step as its one request, unanswered.
    assert supplements(engine, "000.00.31.H59-260106-0002") == [(datetime(2026, 1, 9, 10, 30), None)]
    content = store_content(engine)
    assert content["fee"] == [("000.00.31.H59-260105-0001", 1, "LP01", "Phí cung cấp thông tin lý lịch tư pháp", 200000)]
    assert content["stream_dossier"] == [("000.00.31.H59-260105-0001", "Sở Tư pháp", "2", True, False),
                                         ("000.00.31.H59-260106-0002", "Sở Tư pháp", None, False, False)]
    assert [row[4] for row in content["result_document"]] == ["https://motcua.example.gov.vn/kq/KQ-0001.pdf"]
    assert [row[5:] for row in content["submitted_file"]] == [(True, False, False)]
    assert sorted((row[4], row[8]) for row in content["processing_step"]) == [
        (2, "Bộ phận Một cửa"), (4, "Phòng Hành chính tư pháp"), (5, None)]


def test_without_madonvi_the_agency_is_the_code_before_its_first_dash(engine):
    send(engine, dossiers_body(record("000.29.31.H59-260112-0001"), agency=None))
    assert dossier(engine, "000.29.31.H59-260112-0001")["agency_code"] == "000.29.31.H59"


def test_the_body_agency_code_wins_over_the_code_prefix(engine):
    send(engine, dossiers_body(record("000.29.31.H59-260112-0001"), agency="000.00.31.H59"))
    assert dossier(engine, "000.29.31.H59-260112-0001")["agency_code"] == "000.00.31.H59"


def test_a_batch_sent_twice_changes_nothing(engine):
    for body in (sample("DongBoHoSoMC"), sample("CapNhatTienDoHoSoMC")):
        send(engine, body)
    once = store_content(engine)
    for body in (sample("DongBoHoSoMC"), sample("CapNhatTienDoHoSoMC")):
        assert send(engine, body).refused == []
    assert store_content(engine) == once


def test_steps_before_their_dossier_give_the_same_store(engine, database_url, tmp_path):
    send(engine, sample("CapNhatTienDoHoSoMC"))
    send(engine, sample("DongBoHoSoMC"))
    steps_first = store_content(engine)
    other = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    SQLModel.metadata.create_all(other)
    send(other, sample("DongBoHoSoMC"))
    send(other, sample("CapNhatTienDoHoSoMC"))
    assert steps_first == store_content(other)
    assert dossier(engine, "000.00.31.H59-260106-0002")["created_at"] == datetime(2026, 1, 6, 14, 5)


def test_is_updating_is_ignored_every_dossier_is_an_insert_or_update(engine):
    body = dossiers_body(record(TrangThaiHoSo="2"))
    body["isUpdating"] = "True"  # wrong: the dossier is new
    send(engine, body)
    body = dossiers_body(record(TrangThaiHoSo="4"))  # wrong the other way: an update
    send(engine, body)
    assert dossier(engine)["status"] == 4


def test_an_update_replaces_the_record_whole_with_the_agency_of_its_body(engine):
    send(engine, dossiers_body(record(DanhSachLePhi=[{"MaPhiLePhi": "L1", "Gia": "50000"}])))
    send(engine, dossiers_body(record(TrangThaiHoSo="9", NgayKetThucXuLy="20260115100000"), agency="000.00.16.H59"))
    stored = dossier(engine)
    assert (stored["status"], stored["finished_at"], stored["agency_code"]) == (9, at("20260115100000"), "000.00.16.H59")
    assert store_content(engine)["fee"] == []


def test_a_code_written_another_way_updates_the_same_dossier_and_keeps_its_first_spelling(engine):
    send(engine, dossiers_body(record("000.00.31.H59-260112-0007")))
    send(engine, dossiers_body(record(" 000.00.31.h59-260112-0007", TrangThaiHoSo="9",
                                      NgayKetThucXuLy="20260115100000")))
    content = store_content(engine)["dossier"]
    assert [(row[0], row[9]) for row in content] == [("000.00.31.H59-260112-0007", 9)]


def test_a_dossier_never_moves_back_from_resolved(engine):
    send(engine, dossiers_body(record(TrangThaiHoSo="10", NgayKetThucXuLy="20260115100000",
                                      NgayTra="20260116090000")))
    old = send(engine, dossiers_body(record(TrangThaiHoSo="4")))  # a retried old batch
    assert dossier(engine)["status"] == 10
    assert [reason.split(":")[0] for _, reason in old.refused] == ["stale_update"]
    assert [r[2].split(":")[0] for r in rejected_input(engine)] == ["stale_update"]
    # A resolved version still replaces a resolved one (a corrected return date).
    send(engine, dossiers_body(record(TrangThaiHoSo="10", NgayKetThucXuLy="20260115100000",
                                      NgayTra="20260116150000")))
    assert dossier(engine)["returned_at"] == at("20260116150000")


def test_an_unresolved_update_replaces_an_unresolved_one(engine):
    send(engine, dossiers_body(record(TrangThaiHoSo="5")))
    send(engine, dossiers_body(record(TrangThaiHoSo="4")))
    assert dossier(engine)["status"] == 4


def test_a_code_another_source_holds_is_rejected_not_merged(engine):
    send(engine, dossiers_body(record(TrangThaiHoSo="4")), source="he-thong-cu")
    batch = send(engine, dossiers_body(record(TrangThaiHoSo="9", NgayKetThucXuLy="20260115100000")))
    stored = dossier(engine)
    assert (stored["source"], stored["status"]) == ("he-thong-cu", 4)
    assert batch.refused == [("000.00.31.H59-260112-0007",
                              "duplicate_code: the code is already held by source he-thong-cu")]


@pytest.mark.parametrize(("fields", "reason"), [
    ({"MaHoSo": ""}, "MaHoSo is empty"),
    ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo is not 1 to 10"),
    ({"TrangThaiHoSo": ""}, "TrangThaiHoSo is not 1 to 10"),
    ({"KenhThucHien": "4"}, "KenhThucHien is not 1, 2 or 3"),
    ({"NgayTiepNhan": "12/01/2026"}, "NgayTiepNhan: unparseable date (not yyyyMMddHHmmss)"),
    ({"NgayHenTra": "19900101000000"}, "NgayHenTra is an impossible date"),
    ({"DanhSachLePhi": [{"Gia": "50.000"}]}, "DanhSachLePhi: Gia is not a whole number of đồng"),
    ({"DanhSachLePhi": "none"}, "DanhSachLePhi is not a list of objects"),
    ({"MaTTHC": None}, "MaTTHC is empty"),
])
def test_a_bad_record_is_rejected_alone_with_its_reason(engine, fields, reason):
    bad = record("000.00.31.H59-260112-0008") | fields
    batch = send(engine, dossiers_body(record(), bad))
    assert [dossier(engine)["code"]] == ["000.00.31.H59-260112-0007"]
    assert len(batch.refused) == 1 and batch.refused[0][1].startswith(reason)
    [(source, location, stored_reason)] = rejected_input(engine)
    assert (source, stored_reason) == (SOURCE, batch.refused[0][1])
    assert location.startswith("DongBoHoSoMC ")


def test_a_bad_step_is_rejected_alone(engine):
    batch = send(engine, steps_body(step("20260112093000", "2"), step("", "4"), step("20260113093000", "12")))
    assert [reason for _, reason in batch.refused] == ["ThoiDiemXuLy is empty", "TrangThai is not 1 to 10"]
    assert len(store_content(engine)["processing_step"]) == 1


def test_a_step_sent_twice_is_stored_once(engine):
    send(engine, steps_body(step("20260112093000", "2")))
    send(engine, steps_body(step("20260112093000", "2"), step("20260112093000", "2")))
    assert len(store_content(engine)["processing_step"]) == 1


def test_two_status_5_steps_in_a_row_are_two_requests_answered_by_the_next_other_step(engine):
    send(engine, dossiers_body(record()))
    send(engine, steps_body(step("20260112093000", "2"), step("20260113100000", "5", content="Bổ sung lần 1"),
                            step("20260113110000", "5", content="Bổ sung lần 2"), step("20260114080000", "4")))
    answered = at("20260114080000")
    assert supplements(engine) == [(at("20260113100000"), answered), (at("20260113110000"), answered)]


def test_a_step_at_the_same_moment_does_not_answer_a_request(engine):
    send(engine, dossiers_body(record()))
    send(engine, steps_body(step("20260113100000", "5"), step("20260113100000", "4", content="Ghi chú")))
    assert supplements(engine) == [(at("20260113100000"), None)]


def test_a_listed_supplement_request_wins_over_the_steps(engine):
    listed = [{"HoSoBoSungId": "1", "NgayBoSung": "20260113100000", "NgayTiepNhanBoSung": "20260114150000"},
              {"HoSoBoSungId": "2", "NgayBoSung": "", "NgayTiepNhanBoSung": ""}]  # no request time: ignored
    send(engine, dossiers_body(record(DanhSachHoSoBoSung=listed)))
    send(engine, steps_body(step("20260113090000", "5"), step("20260113093000", "4")))
    assert supplements(engine) == [(at("20260113100000"), at("20260114150000"))]


def test_a_list_without_any_request_time_leaves_the_requests_to_the_steps(engine):
    listed = [{"HoSoBoSungId": "2", "NgayBoSung": "", "NgayTiepNhanBoSung": ""}]
    send(engine, dossiers_body(record(DanhSachHoSoBoSung=listed)))
    send(engine, steps_body(step("20260113090000", "5")))
    assert supplements(engine) == [(at("20260113090000"), None)]


def test_the_end_of_a_stopped_dossier_is_its_latest_step_with_that_status(engine):
    send(engine, dossiers_body(record(TrangThaiHoSo="8")))
    assert dossier(engine)["updated_at"] is None  # no such step yet: no end date
    send(engine, steps_body(step("20260113090000", "8"), step("20260114090000", "8", content="Dừng lần 2"),
                            step("20260115090000", "4")))
    assert dossier(engine)["updated_at"] == at("20260114090000")


def test_the_first_status_2_step_is_the_entry_time(engine):
    send(engine, steps_body(step("20260112103000", "2", content="Nhập lại"), step("20260112093000", "2")))
    send(engine, dossiers_body(record()))
    assert dossier(engine)["created_at"] == at("20260112093000")


def test_every_accepted_batch_moves_the_stream_s_last_batch_time(engine):
    send(engine, dossiers_body(record()))
    s = StreamState.__table__
    with engine.connect() as connection:
        state = connection.execute(select(s.c.last_batch_at, s.c.batches, s.c.records)).one()
    assert tuple(state) == (NOW, 1, 1)
