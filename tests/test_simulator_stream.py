"""Tests of the simulated province's national sync stream (sandbox/simulator/stream.py) and of
its sender (stream_sender.py): the bodies have the samples' shape, tell the same facts as the
pull API, bring a correct receiver to the province's final state, each fault does what it says
and nothing when off, and the sender meets a receiver's answers as it should. Provinces are
small so that the file runs in a few seconds."""

import json
import re
import select
import socket
import threading
import unicodedata
from collections import Counter
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sandbox.simulator import generate_province
from sandbox.simulator.__main__ import main as simulator_main
from sandbox.simulator.catalogue import AGENCIES, Fee
from sandbox.simulator.dossier import (
    Dossier,
    Payment,
    Progress,
    ResultDocument,
    Step,
    SubmittedFile,
    Supplement,
)
from sandbox.simulator.faults import StreamFaults
from sandbox.simulator.offices import DEPARTMENTS, OFFICES, RECEPTION
from sandbox.simulator.onestop_server import onestop_record
from sandbox.simulator.stream import (
    OMIT_MADONVI,
    final_records,
    final_steps,
    stream_bodies,
    stream_deliveries,
    stream_record,
    stream_step,
    write_stream_files,
)
from sandbox.simulator.stream_sender import StreamPushError, StreamSender, push_stream

START, NOW = date(2025, 8, 1), datetime(2025, 10, 15, 10, 30)
RESOLVED = {"3", "7", "8", "9", "10"}
STAMP_OR_EMPTY = r"(\d{14})?"

# /work/shared/spec/samples/dvcqg-DongBoHoSoMC.json and dvcqg-CapNhatTienDoHoSoMC.json: the
# first dossier (every field a sender fills) and the first step, verbatim.
SAMPLE_DOSSIER = json.loads("""{
      "MaHoSo": "000.00.31.H59-260105-0001",
      "MaTTHC": "1.001234.000.00.00.H59",
      "TenTTHC": "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam",
      "KenhThucHien": "2",
      "ChuHoSo": "Nguyễn Văn An",
      "SoGiayToChuHoSo": "082198004512",
      "NgayNopHoSo": "20260105081500",
      "NgayTiepNhan": "20260105093000",
      "NgayHenTra": "20260115170000",
      "NgayKetThucXuLy": "20260114160000",
      "NgayTra": "20260115090000",
      "NgayTuChoi": "",
      "TrangThaiHoSo": "10",
      "DonViXuLy": "Sở Tư pháp",
      "DuocThanhToanTrucTuyen": "2",
      "HoSoCoThanhPhanSoHoa": "1",
      "DanhSachLePhi": [{"MaPhiLePhi": "LP01", "TenPhiLePhi": "Phí cung cấp thông tin lý lịch tư pháp", "HinhThucThu": "1", "Gia": "200000", "LoaiPhiLePhi": "1"}],
      "DanhSachHoSoBoSung": [],
      "DanhSachGiayToKetQua": [{"TenGiayTo": "Phiếu lý lịch tư pháp số 1", "MaGiayToKetQua": "KQ-0001", "DuongDanTepTinKetQua": "https://motcua.example.gov.vn/kq/KQ-0001.pdf"}],
      "TaiLieuNop": [{"TepDinhKemId": "f-1", "TenTepDinhKem": "to-khai.pdf", "MaThanhPhanHoSo": "TP1", "DuocSoHoa": "1", "DuocTaiSuDung": "0", "DuocLayTuKhoDMQG": "0"}]
    }""")
SAMPLE_STEP = json.loads("""
    {"MaHoSo": "000.00.31.H59-260106-0002", "NguoiXuLy": "Lê Văn Cường", "ChucDanh": "Cán bộ tiếp nhận",
     "ThoiDiemXuLy": "20260106140500", "PhongBanXuLy": "Bộ phận Một cửa", "NoiDungXuLy": "Tiếp nhận hồ sơ",
     "TrangThai": "2", "NgayBatDau": "20260106140000", "NgayKetThucTheoQuyDinh": "20260107170000"}""")
SAMPLE_HEADS = {"DongBoHoSoMC": ["session", "madonvi", "service", "isUpdating", "data"],
                "CapNhatTienDoHoSoMC": ["session", "madonvi", "service", "data"]}
# sources.md, section 4: the fields of a supplement round (the samples have none).
APPRAISALS = ("Thẩm định hồ sơ", "Trình lãnh đạo phê duyệt")  # progress.py's appraisal steps
SUPPLEMENT_FIELDS = ["HoSoBoSungId", "NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc",
                     "NgayHenTraMoi", "TrangThaiBoSung"]


def small_province(seed: int = 3, dossiers: int = 300):
    return generate_province(seed=seed, dossiers=dossiers, start=START, now=NOW)


@pytest.fixture(scope="module")
def province():
    return small_province()


@pytest.fixture(scope="module")
def clean(province) -> list[dict]:
    return list(stream_bodies(province))


def faulty(province, name: str) -> list[dict]:
    return list(stream_bodies(province, faults=StreamFaults.named([name], seed=4, rate=0.3)))


def step_key(step: dict) -> tuple[str, str, str, str]:
    return step["MaHoSo"], step["ThoiDiemXuLy"], step["TrangThai"], step["NoiDungXuLy"]


def receive(bodies) -> tuple[dict[str, dict], dict[tuple, dict], int, dict[str, str]]:
    """What a correct receiver stores (sources.md, "The receiver"): dossiers by code, a resolved
    one never replaced by an unresolved one; steps once each. Also how many stale updates it
    kept out, and each dossier's agency code (madonvi, or the code's prefix)."""
    records, steps, agencies, stale = {}, {}, {}, 0
    for body in bodies:
        if body["service"] == "DongBoHoSoMC":
            for record in body["data"]:
                code = record["MaHoSo"]
                if code in records and records[code]["TrangThaiHoSo"] in RESOLVED \
                        and record["TrangThaiHoSo"] not in RESOLVED:
                    stale += 1
                    continue
                records[code] = record
                agencies[code] = body.get("madonvi") or code.split("-", 1)[0]
        else:
            steps.update((step_key(step), step) for step in body["data"])
    return records, steps, stale, agencies


def leaves(value, path=()):
    """Every scalar in a JSON value, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def differences(clean: list[dict], other: list[dict]) -> list[tuple[tuple, object, object]]:
    """(path, clean value, other value) of every scalar that differs between two sequences of
    bodies of the same shape (a path ends with the field's name)."""
    assert len(clean) == len(other)
    found = []
    for index, (a, b) in enumerate(zip(clean, other)):
        left, right = dict(leaves(a)), dict(leaves(b))
        for path in left.keys() | right.keys():
            if left.get(path, "<none>") != right.get(path, "<none>"):
                found.append(((index, *path), left.get(path, "<none>"), right.get(path, "<none>")))
    return found


def derived_supplements(steps: list[dict]) -> list[tuple[str, str]]:
    """Supplement requests read from the steps as sources.md says, for an empty list: each
    status-5 step is a request, answered by the earliest strictly later step of another status."""
    steps = sorted(steps, key=lambda s: s["ThoiDiemXuLy"])
    found = []
    for step in steps:
        if step["TrangThai"] == "5":
            answer = next((s["ThoiDiemXuLy"] for s in steps if s["ThoiDiemXuLy"] > step["ThoiDiemXuLy"]
                           and s["TrangThai"] != "5"), "")
            found.append((step["ThoiDiemXuLy"], answer))
    return found


# --- the bodies, as the samples ----------------------------------------------------------

def test_bodies_have_the_samples_fields_in_their_order_all_values_text(clean):
    stamp = re.compile(STAMP_OR_EMPTY)
    dates = {"NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi",
             "ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh", "NgayBoSung",
             "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"}
    seen = Counter()
    for body in clean:
        head = SAMPLE_HEADS[body["service"]]
        assert list(body) == [key for key in head if key in body] and set(head) - set(body) <= {"madonvi"}
        assert body["session"] == "" and body.get("isUpdating", "False") in ("True", "False")
        for record in body["data"]:
            sample = SAMPLE_DOSSIER if body["service"] == "DongBoHoSoMC" else SAMPLE_STEP
            assert list(record) == [key for key in sample if key in record]
            if body["service"] == "CapNhatTienDoHoSoMC":
                assert list(record) == list(SAMPLE_STEP)
            else:
                assert set(sample) - set(record) <= {"TenTTHC", "DuocThanhToanTrucTuyen"}
                for name, fields in (("DanhSachLePhi", list(SAMPLE_DOSSIER["DanhSachLePhi"][0])),
                                     ("DanhSachGiayToKetQua", list(SAMPLE_DOSSIER["DanhSachGiayToKetQua"][0])),
                                     ("TaiLieuNop", list(SAMPLE_DOSSIER["TaiLieuNop"][0])),
                                     ("DanhSachHoSoBoSung", SUPPLEMENT_FIELDS)):
                    assert all(list(item) == fields for item in record[name])
                    seen[name] += bool(record[name])
            for path, value in leaves(record):
                assert isinstance(value, str), path
                if path[-1] in dates:
                    assert stamp.fullmatch(value), (path, value)
    assert min(seen.values()) > 0 and len(seen) == 4  # every list is filled somewhere


def test_a_dossier_and_its_steps_are_written_exactly_from_its_facts(province):
    dossier = Dossier(
        code="000.00.31.H59-250902-0003", procedure_code="2.000635.000.00.00.H59",
        agency="000.00.31.H59", channel=2, applicant="Nguyễn Văn An", applicant_id="082198004512",
        summary="", submitted=datetime(2025, 9, 2, 8, 15), received=datetime(2025, 9, 2, 9, 30),
        appointment=datetime(2025, 9, 16, 17), finished=datetime(2025, 9, 15, 16),
        returned=datetime(2025, 9, 16, 9), refused=None, status=10,
        created=datetime(2025, 9, 2, 8, 15), updated=datetime(2025, 9, 16, 9),
        supplements=(Supplement(datetime(2025, 9, 4, 10), datetime(2025, 9, 8, 14, 5)),),
        fees=(Fee("LP01", "Phí cung cấp thông tin lý lịch tư pháp", 200_000),),
        payments=(Payment("PG1", 200_000, "truc-tuyen", datetime(2025, 9, 2, 8, 20)),))
    reception = Step(datetime(2025, 9, 2, 8, 15), 2, "Lê Văn Cường", "Cán bộ tiếp nhận", "Bộ phận Một cửa",
                     "Tiếp nhận hồ sơ", datetime(2025, 9, 2, 8, 15), datetime(2025, 9, 3, 17))
    appraisal = Step(datetime(2025, 9, 4, 9), 4, "Phạm Thị Dung", "Chuyên viên", "Phòng Hành chính - Tư pháp",
                     "Thẩm định hồ sơ", datetime(2025, 9, 2, 8, 15), datetime(2025, 9, 3, 17))
    dossier.progress = Progress(
        steps=(reception, appraisal,
               Step(datetime(2025, 9, 4, 10), 5, "Phạm Thị Dung", "Chuyên viên", "Phòng Hành chính - Tư pháp",
                    "Yêu cầu bổ sung hồ sơ (lần 1)")),
        files=(SubmittedFile("f-1", "to-khai.pdf", "TP1", True, False, False),),
        digitised=True,
        results=(ResultDocument("Phiếu lý lịch tư pháp số 1", "KQ-0001", "https://kq.example/KQ-0001.pdf"),),
        paid_online_via="2")
    assert stream_record(province, dossier) == {
        "MaHoSo": "000.00.31.H59-250902-0003", "MaTTHC": "2.000635.000.00.00.H59",
        "TenTTHC": "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam", "KenhThucHien": "2",
        "ChuHoSo": "Nguyễn Văn An", "SoGiayToChuHoSo": "082198004512",
        "NgayNopHoSo": "20250902081500", "NgayTiepNhan": "20250902093000", "NgayHenTra": "20250916170000",
        "NgayKetThucXuLy": "20250915160000", "NgayTra": "20250916090000", "NgayTuChoi": "",
        "TrangThaiHoSo": "10", "DonViXuLy": "Sở Tư pháp", "DuocThanhToanTrucTuyen": "2",
        "HoSoCoThanhPhanSoHoa": "1",
        "DanhSachLePhi": [{"MaPhiLePhi": "LP01", "TenPhiLePhi": "Phí cung cấp thông tin lý lịch tư pháp",
                           "HinhThucThu": "1", "Gia": "200000", "LoaiPhiLePhi": "1"}],
        "DanhSachHoSoBoSung": [{"HoSoBoSungId": "000.00.31.H59-250902-0003-BS1", "NgayBoSung": "20250904100000",
                                "NgayTiepNhanBoSung": "20250908140500", "NgayHenTraTruoc": "20250916170000",
                                "NgayHenTraMoi": "", "TrangThaiBoSung": "1"}],
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Phiếu lý lịch tư pháp số 1", "MaGiayToKetQua": "KQ-0001",
                                  "DuongDanTepTinKetQua": "https://kq.example/KQ-0001.pdf"}],
        "TaiLieuNop": [{"TepDinhKemId": "f-1", "TenTepDinhKem": "to-khai.pdf", "MaThanhPhanHoSo": "TP1",
                        "DuocSoHoa": "1", "DuocTaiSuDung": "0", "DuocLayTuKhoDMQG": "0"}]}
    # As it stood after the supplement request: received, paid, waiting, no result yet.
    earlier = stream_record(province, dossier, as_of=datetime(2025, 9, 5, 12))
    assert (earlier["TrangThaiHoSo"], earlier["NgayKetThucXuLy"], earlier["NgayTra"]) == ("5", "", "")
    assert earlier["DanhSachHoSoBoSung"][0]["NgayTiepNhanBoSung"] == ""
    assert earlier["DanhSachGiayToKetQua"] == [] and earlier["DuocThanhToanTrucTuyen"] == "2"
    before_receipt = stream_record(province, dossier, as_of=datetime(2025, 9, 2, 8, 16))
    assert (before_receipt["TrangThaiHoSo"], before_receipt["NgayTiepNhan"], before_receipt["NgayHenTra"],
            before_receipt["DanhSachLePhi"]) == ("1", "", "", [])
    assert "DuocThanhToanTrucTuyen" not in before_receipt \
        or before_receipt["DuocThanhToanTrucTuyen"] in ("0", "")
    assert stream_step(dossier, appraisal) == {
        "MaHoSo": "000.00.31.H59-250902-0003", "NguoiXuLy": "Phạm Thị Dung", "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": "20250904090000", "PhongBanXuLy": "Phòng Hành chính - Tư pháp",
        "NoiDungXuLy": "Thẩm định hồ sơ", "TrangThai": "4", "NgayBatDau": "20250902081500",
        "NgayKetThucTheoQuyDinh": "20250903170000"}


def test_a_seed_gives_the_same_stream_and_another_seed_another(clean):
    assert list(stream_bodies(small_province())) == clean
    assert list(stream_bodies(small_province(seed=4))) != clean


# --- what is sent, and in which order ------------------------------------------------------

def test_a_correct_receiver_ends_with_the_provinces_final_state(province, clean):
    records, steps, stale, agencies = receive(clean)
    assert stale == 0
    assert set(records) == {d.code for d in province.dossiers if d.in_onestop} == set(final_records(province))
    assert records == final_records(province)
    assert steps == {step_key(s): s for s in final_steps(province)}
    assert len(steps) == len(final_steps(province)) > 3 * len(records)  # no two steps share a key
    assert all(agencies[d.code] == d.agency for d in province.dossiers if d.in_onestop)


def test_dossiers_come_first_as_inserts_then_as_updates_each_time_they_change(clean):
    sent: Counter[str] = Counter()
    for body in clean:
        if body["service"] == "DongBoHoSoMC":
            codes = [r["MaHoSo"] for r in body["data"]]
            assert body["isUpdating"] == ("True" if sent[codes[0]] else "False")
            assert all(bool(sent[c]) == bool(sent[codes[0]]) for c in codes)
            sent.update(codes)
    assert Counter(sent.values())[1] < len(sent) / 4  # most dossiers are sent more than once
    assert max(sent.values()) >= 4


def test_steps_come_after_their_dossier_and_in_time_order(clean):
    sent, last_step = set(), {}
    for body in clean:
        if body["service"] == "DongBoHoSoMC":
            sent.update(r["MaHoSo"] for r in body["data"])
            continue
        for step in body["data"]:
            assert step["MaHoSo"] in sent
            assert step["ThoiDiemXuLy"] >= last_step.get(step["MaHoSo"], "") or step["TrangThai"] == "9"
            last_step[step["MaHoSo"]] = max(step["ThoiDiemXuLy"], last_step.get(step["MaHoSo"], ""))


def test_batches_hold_at_most_batch_size_records_of_the_agency_they_name(province):
    bodies = list(stream_bodies(province, batch_size=2, round_minutes=24 * 60))
    assert max(len(b["data"]) for b in bodies) == 2
    without = [b for b in bodies if "madonvi" not in b]
    assert without and len(without) < len(bodies)
    for body in bodies:
        prefixes = {r["MaHoSo"].split("-", 1)[0] for r in body["data"]}
        if "madonvi" in body:
            assert prefixes == {body["madonvi"]}
        else:
            assert prefixes <= OMIT_MADONVI
    assert receive(bodies)[0] == final_records(province)
    assert len(list(stream_bodies(province))) > len(bodies)  # hourly rounds send more batches


def test_deliveries_are_sent_at_the_end_of_their_round_in_time_order(province):
    deliveries = list(stream_deliveries(province, round_minutes=120))
    times = [d.at for d in deliveries]
    assert times == sorted(times) and times[-1] <= NOW
    assert times[-1] == NOW  # the last round ends now
    assert all(d.at.minute == 0 and d.at.hour % 2 == 0 for d in deliveries if d.at != NOW)


# --- the facts, as the pull API tells them --------------------------------------------------

@pytest.fixture(scope="module")
def both(province):
    """(pull API record, final stream record, the stream's steps) of every dossier sent."""
    records = final_records(province)
    steps: dict[str, list[dict]] = {}
    for step in final_steps(province):
        steps.setdefault(step["MaHoSo"], []).append(step)
    return [(onestop_record(d), records[d.code], steps.get(d.code, []))
            for d in province.dossiers if d.in_onestop]


def test_the_stream_tells_the_pull_apis_dates_statuses_and_names(both):
    names = {a.code: a.name for a in AGENCIES}
    same = ("MaHoSo", "MaTTHC", "ChuHoSo", "SoGiayToChuHoSo", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra",
            "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "TrangThaiHoSo")
    empty_channel = 0
    for pulled, streamed, _ in both:
        assert {k: streamed[k] for k in same} == {k: pulled[k] for k in same}
        assert streamed["DonViXuLy"] == names[pulled["MaDonViXuLy"]]
        channels = streamed["KenhThucHien"], pulled["KenhThucHien"]
        assert channels[0] == channels[1] or channels == ("", "1")
        empty_channel += streamed["KenhThucHien"] == ""
    assert empty_channel > 0


def test_the_entry_time_is_the_first_reception_step(both):
    checked = 0
    for pulled, _, steps in both:
        receptions = sorted(s["ThoiDiemXuLy"] for s in steps if s["TrangThai"] == "2")
        if pulled["NgayTiepNhan"]:
            assert receptions[0] == pulled["NgayTao"]
            checked += 1
        else:
            assert steps == []  # not received yet: nothing done
    assert checked > 200


def test_supplements_fees_and_online_payments_are_the_pull_apis(both):
    paid = zero = 0
    for pulled, streamed, _ in both:
        assert [(s["NgayBoSung"], s["NgayTiepNhanBoSung"]) for s in streamed["DanhSachHoSoBoSung"]] == \
            [(s["NgayYeuCauBoSung"], s["NgayNhanBoSung"]) for s in pulled["DanhSachHoSoBoSung"]]
        fees = [(f["MaPhiLePhi"], f["Gia"]) for f in streamed["DanhSachLePhi"] if f["Gia"] != "0"]
        assert fees == [(f["MaPhiLePhi"], str(f["SoTien"])) for f in pulled["DanhSachLePhi"]]
        if any(f["Gia"] == "0" for f in streamed["DanhSachLePhi"]):
            assert pulled["DanhSachLePhi"] == [] and fees == []
            zero += 1
        online = any(p["HinhThucThanhToan"] == "truc-tuyen" for p in pulled["DanhSachThanhToan"])
        assert (streamed.get("DuocThanhToanTrucTuyen") in ("1", "2")) == online
        paid += online
    assert paid > 10 and zero > 5
    assert {s.get("DuocThanhToanTrucTuyen", "missing") for _, s, _ in both} == {"0", "1", "2", "", "missing"}


def test_the_outcome_is_a_step_at_its_time(both):
    for pulled, streamed, steps in both:
        at = {(s["TrangThai"], s["ThoiDiemXuLy"]) for s in steps}
        status = pulled["TrangThaiHoSo"]
        if status in ("3", "7", "8"):
            assert (status, pulled["NgayTuChoi"]) in at
        if status in ("9", "10") and pulled["NgayKetThucXuLy"]:
            assert ("9", pulled["NgayKetThucXuLy"]) in at
        if status == "10" and pulled["NgayTra"]:
            assert ("10", pulled["NgayTra"]) in at
        if status == "5":
            waiting = [s["NgayYeuCauBoSung"] for s in pulled["DanhSachHoSoBoSung"] if not s["NgayNhanBoSung"]]
            assert all(("5", moment) in at for moment in waiting)
        if status in ("4", "6"):
            assert status in {s["TrangThai"] for s in steps}


def test_the_status_5_steps_tell_the_supplement_requests(both):
    """Every request is a status-5 step; read back as sources.md says, the answers are the
    recorded ones, but where steps cannot tell (a second request before the first answer)."""
    simple = 0
    for pulled, _, steps in both:
        recorded = [(s["NgayYeuCauBoSung"], s["NgayNhanBoSung"]) for s in pulled["DanhSachHoSoBoSung"]]
        derived = derived_supplements(steps)
        assert [r for r, _ in derived] == [r for r, _ in recorded]
        if len(recorded) == 1 and pulled["TrangThaiHoSo"] not in ("3", "7", "8") \
                and pulled["NgayTao"] < recorded[0][0]:
            assert derived == recorded
            simple += 1
    assert simple > 5


def test_steps_have_officers_departments_and_some_are_late(province, both):
    steps = [(pulled["MaDonViXuLy"], s) for pulled, _, ss in both for s in ss]
    late = [s for _, s in steps
            if s["NgayKetThucTheoQuyDinh"] and s["ThoiDiemXuLy"] > s["NgayKetThucTheoQuyDinh"]]
    with_due = [s for _, s in steps if s["NgayKetThucTheoQuyDinh"]]
    assert 0.08 < len(late) / len(with_due) < 0.3
    assert {s["TrangThai"] for s in late} == {"2", "4", "9"}
    for agency, step in steps:
        office = OFFICES[agency]
        people = office.reception + office.specialists + office.leaders
        assert (step["NguoiXuLy"], step["ChucDanh"], step["PhongBanXuLy"]) in \
            {(o.name, o.title, o.department) for o in people}
        assert step["PhongBanXuLy"] in (RECEPTION["tinh"], RECEPTION["xa"], *DEPARTMENTS[agency]) \
            or step["TrangThai"] in ("3", "8", "9")
        internal = step["TrangThai"] in ("2", "9") or step["NoiDungXuLy"] in APPRAISALS
        assert bool(step["NgayBatDau"]) == bool(step["NgayKetThucTheoQuyDinh"]) == internal
    assert any(len(s["NguoiXuLy"]) > 50 for _, s in steps)


def test_results_files_and_digitised_flags_vary(both):
    resolved = [s for _, s, _ in both if s["TrangThaiHoSo"] in ("9", "10")]
    electronic = [s for s in resolved if any(r["DuongDanTepTinKetQua"] for r in s["DanhSachGiayToKetQua"])]
    assert 0.3 < len(electronic) / len(resolved) < 0.8
    assert any(s["DanhSachGiayToKetQua"] and not electronic.count(s) for s in resolved)
    assert any(not s["DanhSachGiayToKetQua"] for s in resolved)
    assert all(not s["DanhSachGiayToKetQua"] for _, s, _ in both if s["TrangThaiHoSo"] not in ("9", "10"))
    files = [f for _, s, _ in both for f in s["TaiLieuNop"]]
    for flag in ("DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG"):
        assert {f[flag] for f in files} == {"0", "1"}
    assert {s["HoSoCoThanhPhanSoHoa"] for _, s, _ in both} == {"0", "1"}


# --- faults: each does what it says, and nothing when off ---------------------------------

def test_stream_faults_are_switched_on_by_name_and_seeded():
    assert not any(getattr(StreamFaults.none(), n) for n in StreamFaults.names())
    assert all(getattr(StreamFaults.all(), n) for n in StreamFaults.names())
    assert "dropped_answer" in StreamFaults.names() and "seed" not in StreamFaults.names()
    with pytest.raises(ValueError):
        StreamFaults.named(["server_error"])
    on = StreamFaults.named(["nfd_names"], seed=2, rate=0.5)
    fired = [on.fires("nfd_names", str(k)) for k in range(40)]
    assert fired == [StreamFaults.named(["nfd_names"], seed=2, rate=0.5).fires("nfd_names", str(k))
                     for k in range(40)]
    assert fired != [StreamFaults.named(["nfd_names"], seed=3, rate=0.5).fires("nfd_names", str(k))
                     for k in range(40)]
    assert 5 < sum(fired) < 35
    assert not any(on.fires("duplicate_batch", str(k)) for k in range(40))


@pytest.mark.parametrize("name", ["dropped_answer", "expired_session"])
def test_the_senders_own_faults_leave_the_bodies_alone(province, clean, name):
    assert faulty(province, name) == clean


def test_a_batch_sent_twice_is_sent_again_right_after_itself(province, clean):
    bodies = faulty(province, "duplicate_batch")
    again = [i for i in range(1, len(bodies)) if bodies[i] == bodies[i - 1]]
    assert len(again) > len(clean) / 5
    assert [b for i, b in enumerate(bodies) if i not in again] == clean
    assert receive(bodies)[:2] == receive(clean)[:2]


def test_old_batches_of_unresolved_versions_come_again_after_they_were_resolved(province, clean):
    bodies = faulty(province, "out_of_order")
    extra, position, sent_resolved = [], 0, set()
    for body in bodies:  # the clean bodies, in order, with some old ones again
        if position < len(clean) and body == clean[position]:
            position += 1
        else:
            assert body in clean[:position] and body["service"] == "DongBoHoSoMC"
            assert all(r["TrangThaiHoSo"] not in RESOLVED and r["MaHoSo"] in sent_resolved
                       for r in body["data"])
            extra.append(body)
        if body["service"] == "DongBoHoSoMC":
            sent_resolved.update(r["MaHoSo"] for r in body["data"] if r["TrangThaiHoSo"] in RESOLVED)
    assert position == len(clean) and len(extra) > 20
    records, steps, stale, _ = receive(bodies)
    assert (records, steps) == receive(clean)[:2] and stale >= len(extra)


def test_steps_first_sends_a_rounds_steps_before_its_dossiers(province, clean):
    bodies = faulty(province, "steps_first")
    assert sorted(map(json.dumps, bodies)) == sorted(map(json.dumps, clean)) and bodies != clean
    sent, early = set(), 0
    for body in bodies:
        if body["service"] == "DongBoHoSoMC":
            sent.update(r["MaHoSo"] for r in body["data"])
        else:
            early += sum(s["MaHoSo"] not in sent for s in body["data"])
    assert early > 10
    assert receive(bodies)[:2] == receive(clean)[:2]


@pytest.mark.parametrize("name, fields", [
    ("wrong_is_updating", {"isUpdating"}),
    ("empty_supplement_list", {"HoSoBoSungId", "NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc",
                               "NgayHenTraMoi", "TrangThaiBoSung"}),
    ("empty_departments", {"PhongBanXuLy"}),
    ("empty_step_dates", {"NgayBatDau", "NgayKetThucTheoQuyDinh"}),
    ("status_rewritten_to_9", {"TrangThaiHoSo"}),
    ("cut_officer_names", {"NguoiXuLy"}),
])
def test_a_fault_changes_only_its_fields(province, clean, name, fields):
    bodies = faulty(province, name)
    changed = differences(clean, bodies)
    assert changed and {path[-1] for path, _, _ in changed} == fields
    for path, before, after in changed:
        if name == "wrong_is_updating":
            assert {before, after} == {"True", "False"}
        elif name == "empty_supplement_list":
            assert after == "<none>"  # the list is empty
        elif name in ("empty_departments", "empty_step_dates"):
            assert before and after == ""
        elif name == "status_rewritten_to_9":
            assert before in ("5", "6", "8") and after == "9"
        else:
            assert len(before) > 50 and after == before[:50]


def test_an_emptied_supplement_list_leaves_the_requests_in_the_status_5_steps(province, clean):
    bodies = faulty(province, "empty_supplement_list")
    emptied = {r["MaHoSo"] for b in bodies if b["service"] == "DongBoHoSoMC"
               for r in b["data"] if not r["DanhSachHoSoBoSung"]}
    records, steps, _, _ = receive(bodies)
    asked = [code for code, r in receive(clean)[0].items() if r["DanhSachHoSoBoSung"]]
    assert any(code in emptied for code in asked) and any(code not in emptied for code in asked)
    assert steps == receive(clean)[1]
    for code in asked:
        if records[code]["DanhSachHoSoBoSung"] == []:
            requests_ = [s["NgayBoSung"] for s in receive(clean)[0][code]["DanhSachHoSoBoSung"]]
            its_steps = [s for s in steps.values() if s["MaHoSo"] == code]
            assert [r for r, _ in derived_supplements(its_steps)] == requests_


def test_a_rewriting_senders_5_6_and_8_are_stored_as_9_without_a_finish(province, clean):
    """A version rewritten to 9 reads as resolved: the receiver keeps it over the dossier's
    later true versions (stale updates), so the dossier stays a 9 without a finish date."""
    records, _, stale, _ = receive(faulty(province, "status_rewritten_to_9"))
    true = receive(clean)[0]
    sent_as = {}
    for body in clean:
        for record in body["data"] if body["service"] == "DongBoHoSoMC" else ():
            sent_as.setdefault(record["MaHoSo"], set()).add(record["TrangThaiHoSo"])
    rewritten = [c for c in records if records[c]["TrangThaiHoSo"] != true[c]["TrangThaiHoSo"]]
    assert rewritten and all(records[c]["TrangThaiHoSo"] == "9" and sent_as[c] & {"5", "6", "8"}
                             for c in rewritten)
    assert {true[c]["TrangThaiHoSo"] for c in rewritten} > {"5", "6", "8"} and stale > 0
    assert all(records[c]["NgayKetThucXuLy"] == "" for c in rewritten)


def test_names_in_nfd_are_the_same_text_decomposed(province, clean):
    bodies = faulty(province, "nfd_names")
    composed = [json.loads(unicodedata.normalize("NFC", json.dumps(b, ensure_ascii=False))) for b in bodies]
    assert composed == clean and bodies != clean
    decomposed = [r for b in bodies for r in b["data"] if r != json.loads(unicodedata.normalize(
        "NFC", json.dumps(r, ensure_ascii=False)))]
    assert {("ChuHoSo" in r) for r in decomposed} == {True, False}  # dossiers and steps


# --- files --------------------------------------------------------------------------------

def test_stream_files_are_the_bodies_one_a_line_in_name_order(province, clean, tmp_path):
    paths = write_stream_files(province, tmp_path / "lgsp")
    assert paths == sorted((tmp_path / "lgsp").glob("*.jsonl")) and len(paths) > 60
    assert all(p.name.startswith("dvcqg-2025") for p in paths)
    lines = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines()]
    assert [{**b, "session": ""} for b in lines] == clean
    for path in paths:
        sessions = {json.loads(line)["session"] for line in path.read_text(encoding="utf-8").splitlines()}
        assert len(sessions) == 1 and len(sessions.pop()) == 36


# --- the sender ---------------------------------------------------------------------------

class Receiver:
    """A receiver on loopback that answers as sources.md says and records what it is sent.
    `expire_after`: a session expires after that many bodies; `unavailable`: the positions
    (counting every POST /) answered HTTP 503; `watch_hang_ups`: note the bodies whose sender
    closed its connection before the answer (waits a little before every answer)."""

    def __init__(self, *, expire_after: int | None = None, unavailable: frozenset[int] = frozenset(),
                 watch_hang_ups: bool = False, reject: str | None = None):
        self.expire_after, self.unavailable, self.watch_hang_ups = expire_after, unavailable, watch_hang_ups
        self.reject = reject  # a MaHoSo to reject in every batch
        self.sessions: dict[str, int] = {}
        self.logins = 0
        self.posts = 0
        self.committed: list[dict] = []  # bodies accepted, in order
        self.hung_up: list[int] = []  # positions in `committed` whose sender did not wait
        self.answers: list[int] = []  # error_code or HTTP status of every POST /
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/auth":
                    answer = receiver.log_in(body)
                else:
                    answer = receiver.take(body, self.connection)
                if isinstance(answer, int):
                    self.send_error(answer)
                    return
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender hung up

            def log_message(self, format, *args) -> None:
                pass

        class Server(HTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a hung-up sender's connection

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def log_in(self, body: dict) -> dict:
        if (body.get("username"), body.get("password")) != ("lgsp", "matkhau"):
            return {"error_code": 1, "message": "Sai tên đăng nhập hoặc mật khẩu"}
        self.logins += 1
        token = f"session-{self.logins}"
        self.sessions[token] = 0
        return {"error_code": 0, "message": "OK", "session": token}

    def take(self, body: dict, connection: socket.socket) -> dict | int:
        self.posts += 1
        if self.posts in self.unavailable:
            self.answers.append(503)
            return 503
        token = body.get("session")
        if token not in self.sessions or (self.expire_after is not None
                                          and self.sessions[token] >= self.expire_after):
            self.sessions.pop(token, None)
            self.answers.append(2)
            return {"error_code": 2, "message": "Phiên làm việc hết hạn", "result": []}
        if body.get("service") not in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC"):
            self.answers.append(3)
            return {"error_code": 3, "message": "Dịch vụ không tồn tại", "result": []}
        self.sessions[token] += 1
        self.committed.append({**body, "session": ""})  # committed before the answer
        if self.watch_hang_ups and _hung_up(connection):
            self.hung_up.append(len(self.committed) - 1)
        self.answers.append(0)
        rejected = [{"MaHoSo": r["MaHoSo"], "message": "invalid_date"} for r in body["data"]
                    if r.get("MaHoSo") == self.reject]
        return {"error_code": 0, "message": "OK", "result": rejected}


def _hung_up(connection: socket.socket) -> bool:
    """Whether the client closed its side: readable, and nothing to read."""
    readable, _, _ = select.select([connection], [], [], 0.1)
    return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""


def bodies_of(count: int) -> list[dict]:
    return [{"session": "", "madonvi": "000.00.31.H59", "service": "DongBoHoSoMC", "isUpdating": "False",
             "data": [{"MaHoSo": f"000.00.31.H59-250902-{n:04d}", "TrangThaiHoSo": "2"}]}
            for n in range(count)]


def sender(url: str, **options) -> StreamSender:
    return StreamSender(url, "lgsp", "matkhau", backoff=0, timeout=5, **options)


def test_the_sender_logs_in_once_and_sends_every_body_in_order():
    bodies = bodies_of(5)
    with Receiver(reject="000.00.31.H59-250902-0003") as receiver, sender(receiver.url) as client:
        summary = client.push(bodies)
    assert receiver.committed == bodies and receiver.logins == 1
    assert (summary.batches, summary.records, summary.retries, summary.logins) == (5, 5, 0, 1)
    assert summary.failed == []
    assert summary.rejected == [{"service": "DongBoHoSoMC", "MaHoSo": "000.00.31.H59-250902-0003",
                                 "message": "invalid_date"}]


def test_an_expired_session_is_renewed_and_the_same_body_sent_again():
    bodies = bodies_of(5)
    with Receiver(expire_after=2) as receiver, sender(receiver.url) as client:
        summary = client.push(bodies)
    assert receiver.committed == bodies
    assert receiver.answers == [0, 0, 2, 0, 0, 2, 0]
    assert (summary.logins, summary.retries, summary.batches) == (3, 2, 5)


def test_a_503_or_a_proxys_page_is_retried_with_the_same_body():
    bodies = bodies_of(4)
    waits = []
    with Receiver(unavailable=frozenset({2, 3, 5})) as receiver, \
            sender(receiver.url, sleep=waits.append) as client:
        summary = client.push(bodies)
    assert receiver.committed == bodies
    assert receiver.answers == [0, 503, 503, 0, 503, 0, 0]
    assert summary.retries == 3 and waits == [0, 0, 0] and summary.failed == []


def test_a_body_is_given_up_after_max_attempts_or_an_unknown_service():
    with Receiver(unavailable=frozenset(range(1, 10))) as receiver, \
            sender(receiver.url, max_attempts=3) as client:
        summary = client.push(bodies_of(1))
    assert receiver.committed == [] and summary.failed == [
        {"batch": "0", "service": "DongBoHoSoMC", "reason": "no answer after 3 attempts"}]
    with Receiver() as receiver, sender(receiver.url) as client:
        summary = client.push([{"session": "", "service": "TraCuuHoSo", "data": []}])
    assert summary.failed == [{"batch": "0", "service": "TraCuuHoSo",
                               "reason": "error_code 3: Dịch vụ không tồn tại"}]


def test_wrong_credentials_stop_the_push():
    with Receiver() as receiver, StreamSender(receiver.url, "lgsp", "sai", backoff=0) as client:
        with pytest.raises(StreamPushError, match="Sai tên đăng nhập"):
            client.push(bodies_of(1))


def test_a_dropped_answer_is_a_hang_up_then_the_same_body_again():
    faults = StreamFaults.named(["dropped_answer"], seed=1, rate=0.5)
    dropped = [k for k in range(8) if faults.fires("dropped_answer", str(k))]
    assert 0 < len(dropped) < 8
    bodies = bodies_of(8)
    with Receiver(watch_hang_ups=True) as receiver, sender(receiver.url, faults=faults) as client:
        summary = client.push(bodies)
    expected = [b for k, b in enumerate(bodies) for _ in range(2 if k in dropped else 1)]
    assert receiver.committed == expected  # each dropped one committed, then replayed
    hung_up = [expected.index(bodies[k]) for k in dropped]
    assert receiver.hung_up == hung_up
    assert (summary.dropped, summary.retries, summary.batches) == (len(dropped), len(dropped), 8)


def test_an_expired_session_fault_sends_a_stale_session_then_logs_in_again():
    faults = StreamFaults.named(["expired_session"], seed=1, rate=0.5)
    stale = [k for k in range(6) if faults.fires("expired_session", str(k))]
    assert 0 < len(stale) < 6
    with Receiver() as receiver, sender(receiver.url, faults=faults) as client:
        summary = client.push(bodies_of(6))
    assert receiver.committed == bodies_of(6)
    assert receiver.answers.count(2) == len(stale) and summary.logins == 1 + len(stale)


def test_a_whole_province_pushed_with_every_fault_on_reaches_a_correct_receiver(tmp_path):
    tiny = generate_province(seed=8, dossiers=40, start=date(2025, 10, 1), now=datetime(2025, 10, 15, 10, 30))
    faults = StreamFaults.named(["duplicate_batch", "out_of_order", "steps_first", "wrong_is_updating",
                                 "dropped_answer", "expired_session"], seed=3)
    with Receiver(expire_after=7) as receiver:
        summary = push_stream(tiny, receiver.url, "lgsp", "matkhau", faults=faults, round_minutes=240,
                              backoff=0, timeout=5)
    records, steps, stale, _ = receive(receiver.committed)
    assert records == final_records(tiny) and len(steps) == len(final_steps(tiny))
    # A dropped body is committed and then replayed, unless it went with an expired session.
    assert summary.batches < len(receiver.committed) <= summary.batches + summary.dropped
    assert summary.dropped > 0 and summary.failed == [] and summary.logins > 2


def test_the_command_line_writes_files_and_pushes(tmp_path, capsys):
    common = ["--seed", "8", "--dossiers", "30", "--start", "2025-10-06", "--now", "2025-10-15T10:30"]
    simulator_main(["stream-files", "--out", str(tmp_path), *common, "--faults", "duplicate_batch"])
    assert "files of request bodies" in capsys.readouterr().out
    written = [json.loads(line) for p in sorted(tmp_path.glob("*.jsonl"))
               for line in p.read_text(encoding="utf-8").splitlines()]
    with Receiver() as receiver:
        simulator_main(["push", "--url", receiver.url + "/", "--username", "lgsp", "--password", "matkhau",
                        *common, "--batch-size", "3", "--backoff", "0"])
    summary = json.loads(capsys.readouterr().out.split("...\n", 1)[1])
    assert summary["batches"] == len(receiver.committed) and summary["failed"] == []
    assert receive(receiver.committed)[0] == receive(written)[0]
    assert max(len(b["data"]) for b in receiver.committed) == 3
    with pytest.raises(SystemExit) as exit_:  # a fault of the servers, not of the stream
        simulator_main(["push", "--url", "http://127.0.0.1:1", "--username", "u", "--password", "p",
                        "--faults", "server_error", *common])
    assert exit_.value.code == 2 and "unknown fault 'server_error'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # nobody listening
        simulator_main(["push", "--url", "http://127.0.0.1:1", "--username", "u", "--password", "p",
                        "--backoff", "0", *common])
    assert exit_.value.code == "error: no answer to the log-in at http://127.0.0.1:1/auth"
