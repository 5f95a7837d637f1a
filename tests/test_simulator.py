"""Tests of the simulated province: the generator, the two servers and their faults, and the
tracking books. Provinces are small so that the whole file runs in a few seconds."""

import csv
import json
import re
import unicodedata
from datetime import date, datetime, time
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from sandbox.simulator import (
    BookRow,
    Faults,
    OneStopServer,
    PortalServer,
    append_rows,
    generate_province,
    write_tracking_books,
)
from sandbox.simulator.catalogue import AGENCIES, PROCEDURES, Fee
from sandbox.simulator.dossier import Apology, Dossier, Payment, Supplement
from sandbox.simulator.lifecycle import legal_due
from sandbox.simulator.onestop_server import onestop_record
from sandbox.simulator.portal_pages import catalogue_page, dossier_list_page, procedure_page
from sandbox.simulator.tracking_books import HEADERS

START, NOW = date(2025, 8, 1), datetime(2025, 10, 15, 10, 30)
LOGIN = {"service": "LayPhien", "username": "canbo", "password": "matkhau"}
STAMP = re.compile(r"^(\d{14})?$")
CODE = re.compile(r"^000\.\d\d\.\d\d\.H59-\d{6}-\d{4}$")


def province(seed: int = 3, dossiers: int = 400):
    return generate_province(seed=seed, dossiers=dossiers, start=START, now=NOW)


def always(**switches) -> Faults:
    """Faults that fire on every request they can, each at most twice in a row."""
    return Faults(rate=1.0, max_consecutive_failures=2, **switches)


def log_in(server: OneStopServer) -> str:
    return requests.post(server.url, json=LOGIN, timeout=5).json()["session"]


def ask(server: OneStopServer, session: str, **params) -> dict:
    body = {"service": "LayDanhSachHoSo", "session": session, **params}
    return requests.post(server.url, json=body, timeout=5).json()


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=5)


def stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S}"


def crawl_by_cursor(server: OneStopServer, size: int = 50) -> dict[str, dict]:
    """Every record, read as sources.md says: move the cursor, page only within one NgayCapNhat."""
    session, cursor, records = log_in(server), "", {}
    while True:
        page, fresh = 1, False
        while True:
            data = ask(server, session, TuNgayCapNhat=cursor, Trang=page, SoBanGhi=size)["data"]
            fresh = any(r["MaHoSo"] not in records for r in data)
            records.update((r["MaHoSo"], r) for r in data)
            if len(data) == size and data[0]["NgayCapNhat"] == data[-1]["NgayCapNhat"]:
                page += 1
                continue
            break
        if len(data) < size or not fresh:
            return records
        cursor = data[-1]["NgayCapNhat"]


def table_rows(html: str, css_class: str) -> list[dict[str, str]]:
    """The rows of a table as {header text: cell text}, columns found by their header."""
    table = BeautifulSoup(html, "html.parser").find("table", class_=css_class)
    headers = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    return [dict(zip(headers, (td.get_text(strip=True) for td in tr.find_all("td"))))
            for tr in table.find("tbody").find_all("tr")]


def next_link(html: str) -> str | None:
    link = BeautifulSoup(html, "html.parser").select_one("a.trang-sau")
    return link["href"] if link else None


def portal_dossier_codes(server: PortalServer) -> list[str]:
    url, codes = server.url + "/tra-cuu-ho-so", []
    while url:
        html = get(url).text
        codes += [row["Mã hồ sơ"] for row in table_rows(html, "danh-sach-ho-so")]
        href = next_link(html)
        url = urljoin(url, href) if href else None
    return codes


# --- the formats, exactly as the samples ---------------------------------------------------

# samples/onestop-LayDanhSachHoSo.json, one record a line, verbatim.
SAMPLE_RECORDS = [
    '{"MaHoSo": "000.00.16.H59-250903-0007", "MaTTHC": "1.002467", "MaDonViXuLy": "000.00.16.H59", "KenhThucHien": "2", "ChuHoSo": "Nguyễn Thị Hồng", "SoGiayToChuHoSo": "082198004512", "NgayNopHoSo": "20250902211530", "NgayTiepNhan": "20250903080512", "NgayHenTra": "20250917170000", "NgayKetThucXuLy": "20250915103000", "NgayTra": "20250916090000", "NgayTuChoi": "", "TrangThaiHoSo": "10", "NgayTao": "20250902211530", "NgayCapNhat": "20250916090000", "DanhSachHoSoBoSung": [], "DanhSachVanBanXinLoi": [], "DanhSachLePhi": [{"MaPhiLePhi": "LP01", "TenPhiLePhi": "Phí thẩm định cấp chứng chỉ hành nghề", "SoTien": 360000}], "DanhSachThanhToan": [{"MaGiaoDich": "PG250903A1B2C3", "SoTien": 360000, "HinhThucThanhToan": "truc-tuyen", "ThoiGianGD": "20250903081144"}], "TrichYeuHoSo": "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh"}',
    '{"MaHoSo": "000.29.31.H59-250905-0031", "MaTTHC": "2.000908.000.00.00.H59", "MaDonViXuLy": "000.29.31.H59", "KenhThucHien": "1", "ChuHoSo": "Trần Văn Lộc", "SoGiayToChuHoSo": "082090001233", "NgayNopHoSo": "", "NgayTiepNhan": "20250905154500", "NgayHenTra": "20250912170000", "NgayKetThucXuLy": "20250923141000", "NgayTra": "", "NgayTuChoi": "", "TrangThaiHoSo": "9", "NgayTao": "20250908093000", "NgayCapNhat": "20250923141000", "DanhSachHoSoBoSung": [{"NgayYeuCauBoSung": "20250909100000", "NgayNhanBoSung": "20250915080000"}], "DanhSachVanBanXinLoi": [{"NgayBanHanh": "20250919150000", "NgayHenTraMoi": "20250923170000"}], "DanhSachLePhi": [], "DanhSachThanhToan": [], "TrichYeuHoSo": ""}',
    '{"MaHoSo": "000.00.12.H59-250918-0002", "MaTTHC": "1.005092", "MaDonViXuLy": "000.00.12.H59", "KenhThucHien": "3", "ChuHoSo": "Công ty TNHH Giáo dục Ánh Dương", "SoGiayToChuHoSo": "1201234567", "NgayNopHoSo": "", "NgayTiepNhan": "20250918093000", "NgayHenTra": "20251016170000", "NgayKetThucXuLy": "", "NgayTra": "", "NgayTuChoi": "", "TrangThaiHoSo": "4", "NgayTao": "20250918094210", "NgayCapNhat": "20250925110000", "DanhSachHoSoBoSung": [], "DanhSachVanBanXinLoi": [], "DanhSachLePhi": [], "DanhSachThanhToan": [], "TrichYeuHoSo": "Cho phép trung tâm ngoại ngữ hoạt động giáo dục"}',
    '{"MaHoSo": "000.00.16.H59-250901-0004", "MaTTHC": "1.002467", "MaDonViXuLy": "000.00.16.H59", "KenhThucHien": "2", "ChuHoSo": "Lê Minh Khoa", "SoGiayToChuHoSo": "082201009876", "NgayNopHoSo": "20250901075812", "NgayTiepNhan": "", "NgayHenTra": "", "NgayKetThucXuLy": "", "NgayTra": "", "NgayTuChoi": "", "TrangThaiHoSo": "1", "NgayTao": "20250901075812", "NgayCapNhat": "20250926160000", "DanhSachHoSoBoSung": [], "DanhSachVanBanXinLoi": [], "DanhSachLePhi": [], "DanhSachThanhToan": [], "TrichYeuHoSo": "Cấp lại chứng chỉ hành nghề"}'
]

SAMPLE_DOSSIER_LIST = """\
<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Tra cứu hồ sơ</title></head>
<body><header class="top"><a href="/">Cổng Dịch vụ công tỉnh</a></header><main>
<h1>Tra cứu hồ sơ</h1>
<table class="danh-sach-ho-so">
<thead><tr><th>Mã hồ sơ</th><th>Mã thủ tục</th><th>Đơn vị</th><th>Kênh</th><th>Ngày nộp</th><th>Trạng thái</th></tr></thead>
<tbody>
<tr><td><span>000.00.12.H59-250918-0002</span></td><td>1.005092</td><td>000.00.12.H59</td><td>Bưu chính</td><td>18/09/2025 09:30</td><td>Đang xử lý</td></tr>
<tr><td><span>000.29.31.H59-250905-0031</span></td><td>2.000908</td><td>000.29.31.H59</td><td>Trực tiếp</td><td>05/09/2025 15:45</td><td>Đã xử lý xong</td></tr>
<tr><td><span>000.00.16.H59-250903-0007</span></td><td>1.002467</td><td>000.00.16.H59</td><td>Trực tuyến</td><td>02/09/2025 21:15</td><td>Đã trả kết quả</td></tr>
<tr><td><span>000.00.16.H59-250901-0004</span></td><td>1.002467</td><td>000.00.16.H59</td><td>Trực tuyến</td><td>01/09/2025 07:58</td><td>Mới đăng ký</td></tr>
</tbody></table>
<div class="phan-trang"><a class="trang-sau" href="/tra-cuu-ho-so?trang=2">Trang sau</a></div>
</main><footer>© Cổng Dịch vụ công</footer></body></html>
"""

SAMPLE_CATALOGUE = """\
<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Thủ tục hành chính</title></head>
<body><header class="top"><a href="/">Cổng Dịch vụ công tỉnh</a></header><main>
<h1>Danh sách thủ tục hành chính</h1>
<table class="danh-sach-thu-tuc">
<thead><tr><th>Mã thủ tục</th><th>Tên thủ tục</th><th>Lĩnh vực</th><th>Cơ quan thực hiện</th></tr></thead>
<tbody>
<tr><td>1.002467</td><td><a href="/thu-tuc-hanh-chinh/1.002467">Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh</a></td><td>Khám bệnh, chữa bệnh</td><td>Sở Y tế</td></tr>
<tr><td>1.005092</td><td><a href="/thu-tuc-hanh-chinh/1.005092">Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục</a></td><td>Giáo dục và Đào tạo</td><td>Sở Giáo dục và Đào tạo</td></tr>
<tr><td>2.000908</td><td><a href="/thu-tuc-hanh-chinh/2.000908">Chứng thực chữ ký trong các giấy tờ, văn bản</a></td><td>Chứng thực</td><td>UBND xã Châu Thành</td></tr>
</tbody></table>
<nav class="phan-trang"><a class="trang-sau" href="?trang=2">Trang sau »</a></nav>
</main><footer>© Cổng Dịch vụ công</footer></body></html>
"""

SAMPLE_PROCEDURE = """\
<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh</title></head>
<body><header class="top"><a href="/">Cổng Dịch vụ công tỉnh</a></header><main>
<h1>Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh</h1>
<table class="thong-tin-thu-tuc">
<tr><th>Mã thủ tục</th><td><span class="v">1.002467</span></td></tr>
<tr><th>Tên thủ tục</th><td><span class="v">Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh</span></td></tr>
<tr><th>Lĩnh vực</th><td><span class="v">Khám bệnh, chữa bệnh</span></td></tr>
<tr><th>Cơ quan thực hiện</th><td><span class="v">Sở Y tế (000.00.16.H59)</span></td></tr>
<tr><th>Thời hạn giải quyết</th><td><span class="v">10 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ</span></td></tr>
<tr><th>Phí, lệ phí</th><td><span class="v">Phí thẩm định: 360.000 đồng/hồ sơ</span></td></tr>
<tr><th>Mức độ dịch vụ công trực tuyến</th><td><span class="v">Toàn trình</span></td></tr>
<tr><th>Đủ điều kiện cung cấp toàn trình</th><td><span class="v">Có</span></td></tr>
<tr><th>Thanh toán trực tuyến</th><td><span class="v">Có</span></td></tr>
</table>
</main><footer>© Cổng Dịch vụ công</footer></body></html>
"""


def sample_dossier(text: str) -> Dossier:
    """A Dossier holding exactly what a sample record says."""
    record = json.loads(text)

    def moment(value: str) -> datetime | None:
        return datetime.strptime(value, "%Y%m%d%H%M%S") if value else None

    return Dossier(
        code=record["MaHoSo"], procedure_code=record["MaTTHC"], agency=record["MaDonViXuLy"],
        channel=int(record["KenhThucHien"]), applicant=record["ChuHoSo"],
        applicant_id=record["SoGiayToChuHoSo"], summary=record["TrichYeuHoSo"],
        submitted=moment(record["NgayNopHoSo"]), received=moment(record["NgayTiepNhan"]),
        appointment=moment(record["NgayHenTra"]), finished=moment(record["NgayKetThucXuLy"]),
        returned=moment(record["NgayTra"]), refused=moment(record["NgayTuChoi"]),
        status=int(record["TrangThaiHoSo"]), created=moment(record["NgayTao"]),
        updated=moment(record["NgayCapNhat"]),
        supplements=tuple(Supplement(moment(s["NgayYeuCauBoSung"]), moment(s["NgayNhanBoSung"]))
                          for s in record["DanhSachHoSoBoSung"]),
        apologies=tuple(Apology(moment(a["NgayBanHanh"]), moment(a["NgayHenTraMoi"]))
                        for a in record["DanhSachVanBanXinLoi"]),
        fees=tuple(Fee(f["MaPhiLePhi"], f["TenPhiLePhi"], f["SoTien"]) for f in record["DanhSachLePhi"]),
        payments=tuple(Payment(p["MaGiaoDich"], p["SoTien"], p["HinhThucThanhToan"], moment(p["ThoiGianGD"]))
                       for p in record["DanhSachThanhToan"]),
    )


def test_onestop_records_are_written_as_the_sample():
    for text in SAMPLE_RECORDS:
        assert json.dumps(onestop_record(sample_dossier(text)), ensure_ascii=False) == text


def test_dossier_list_page_is_written_as_the_sample():
    dossiers = sorted((sample_dossier(text) for text in SAMPLE_RECORDS),
                      key=lambda d: d.listed_at, reverse=True)
    assert dossier_list_page(dossiers, page=1, has_next=True) == SAMPLE_DOSSIER_LIST


def test_catalogue_and_procedure_pages_are_written_as_the_samples():
    procedures = {p.code: p for p in PROCEDURES}
    agencies = {a.code: a for a in AGENCIES}
    rows = [(procedures[code], agencies[procedures[code].agency])
            for code in ("1.002467", "1.005092", "2.000908")]
    assert catalogue_page(rows, page=1, has_next=True) == SAMPLE_CATALOGUE
    medical = procedures["1.002467"]
    assert procedure_page(medical, agencies[medical.agency]) == SAMPLE_PROCEDURE


# --- the generator -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def large() -> list[Dossier]:
    """Enough dossiers for every kind of story to happen at least once."""
    return list(province(seed=11, dossiers=4000).iter_dossiers())


def test_a_seed_gives_the_same_province_and_another_seed_another():
    assert list(province(seed=5).iter_dossiers()) == list(province(seed=5).iter_dossiers())
    assert list(province(seed=5).iter_dossiers()) != list(province(seed=6).iter_dossiers())


def test_dossiers_stream_one_at_a_time_with_unique_well_formed_codes():
    stream = province(dossiers=300).iter_dossiers()
    first = next(stream)
    dossiers = [first, *stream]
    assert len(dossiers) == 300
    assert len({d.code for d in dossiers}) == 300
    assert all(CODE.match(d.code) for d in dossiers)
    assert all(d.code.startswith(d.agency + "-") for d in dossiers)
    assert all(START <= d.listed_at.date() <= NOW.date() for d in dossiers)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10**6), hour=st.integers(0, 23))
def test_every_story_is_consistent_with_now(seed, hour):
    now = NOW.replace(hour=hour)
    for d in generate_province(seed=seed, dossiers=150, start=date(2025, 9, 1), now=now).iter_dossiers():
        times = [d.created, d.submitted, d.received, d.finished, d.returned, d.refused]
        times += [t for s in d.supplements for t in (s.requested, s.answered)]
        times += [a.issued for a in d.apologies] + [p.at for p in d.payments]
        assert max(t for t in times if t) == d.updated <= now
        assert (d.status == 1) == (d.received is None)
        assert d.channel == 2 or d.received is not None
        if d.status in (2, 4, 5, 6):
            assert (d.finished, d.returned, d.refused) == (None, None, None)
        if d.status == 5:
            assert any(s.answered is None for s in d.supplements)
        if d.status in (3, 7, 8):
            assert d.refused is not None
        if d.status == 9:
            assert d.returned is None
        if d.channel == 2:
            assert d.on_portal and d.created == d.submitted
        else:
            assert d.in_book
            assert d.created > d.received if d.in_onestop else not d.on_portal


def test_the_province_has_every_kind_of_dossier(large):
    assert {d.status for d in large} == set(range(1, 11))
    assert {d.channel for d in large} == {1, 2, 3}
    counter = [d for d in large if d.channel == 1]
    assert any(d.received.time() == time(17) for d in counter)
    assert any(d.received.time() > time(17) for d in counter)
    assert any(d.received.weekday() == 5 for d in counter)
    assert any(d.procedure_code.endswith(".000.00.00.H59") for d in large)
    assert all(re.fullmatch(r"\d{12}", d.applicant_id) for d in large)
    assert any(unicodedata.normalize("NFD", d.applicant) != d.applicant for d in large)


def test_the_province_has_supplements_apologies_and_payments(large):
    asked = [s for d in large for s in d.supplements]
    assert any(s.answered for s in asked) and any(s.answered is None for s in asked)
    assert any(len(d.supplements) == 2 and d.supplements[0].answered
               and d.supplements[0].answered > d.supplements[1].requested for d in large)
    assert any(d.apologies for d in large)
    assert {p.method for d in large for p in d.payments} == {"truc-tuyen", "truc-tiep", "chuyen-khoan"}
    assert any(d.fees and not d.payments and d.status == 6 for d in large)


def test_the_province_has_late_overdue_and_padded_dossiers(large):
    assert any(d.finished and d.finished.date() > d.appointment.date() for d in large)
    assert any(d.status == 4 and d.appointment.date() < NOW.date() for d in large)
    procedures = {p.code: p for p in PROCEDURES}
    checked = as_the_law = padded = 0
    for d in large:
        procedure = procedures.get(d.procedure_code.split(".000.")[0])
        if d.received and procedure and procedure.time_limit:
            due = legal_due(procedure.time_limit, d.received)
            checked += 1
            as_the_law += d.appointment == due
            padded += d.appointment.date() > due.date()
    assert as_the_law > 0.9 * checked and 0 < padded < 0.1 * checked


def test_the_province_has_bad_data(large):
    known = {p.code for p in PROCEDURES}
    entered = [d for d in large if d.in_onestop]
    assert any(d.procedure_code.split(".000.")[0] not in known for d in entered)
    assert any(d.status == 9 and d.finished is None and d.returned is None for d in entered)
    assert any(d.finished and d.finished < d.received for d in entered)
    assert any(d.channel != 2 and (d.created - d.received).days >= 2 for d in entered)


def test_the_province_has_dossiers_missing_from_one_source_or_another(large):
    assert any(d.in_onestop and not d.on_portal for d in large)  # never synchronised
    assert any(d.channel == 2 and d.on_portal and not d.in_onestop for d in large)
    assert any(d.in_book and not d.in_onestop for d in large)  # only on paper


def test_the_catalogue_uses_every_phrasing():
    limits = {p.time_limit_text for p in PROCEDURES}
    for text in ("05 ngày làm việc", "45 NGÀY LÀM VIỆC", "0,5 ngày làm việc", "1,5 ngày làm việc",
                 "30 ngày", "8 giờ làm việc", "4 giờ", "Trong ngày", "Ngay trong ngày",
                 "Theo quy định của pháp luật", "1,5 ngày"):
        assert text in limits
    assert "10 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ" in limits
    assert any("; trường hợp phải xác minh: 10 ngày làm việc" in text for text in limits)
    fees = {p.fee_text for p in PROCEDURES}
    for text in ("Không", "Không thu", "Miễn phí", "Miễn lệ phí", "", "50.000 đồng/hồ sơ",
                 "Lệ phí: 100.000 đồng; Phí: 20.000đ", "1.500.000 VNĐ", "0,05% tổng mức đầu tư",
                 "Theo quy định tại Thông tư số 85/2019/TT-BTC"):
        assert text in fees
    assert {p.level for p in PROCEDURES} == {"Toàn trình", "Một phần", "Cung cấp thông tin"}
    assert any(p.fees and not p.online_payment for p in PROCEDURES)
    assert any(p.full_online_eligible and p.level != "Toàn trình" for p in PROCEDURES)
    assert sum(p.missing_label is not None for p in PROCEDURES) == 2


# --- the one-stop API --------------------------------------------------------------------

@pytest.fixture(scope="module")
def onestop():
    with OneStopServer(province()) as server:
        yield server


def test_log_in_answers_a_session_or_error_1(onestop):
    answer = requests.post(onestop.url, json=LOGIN, timeout=5).json()
    assert answer["error_code"] == 0 and answer["message"] == "OK" and answer["session"]
    wrong = requests.post(onestop.url, json={**LOGIN, "password": "sai"}, timeout=5)
    assert wrong.status_code == 200
    assert wrong.json() == {"error_code": 1, "message": "Sai tên đăng nhập hoặc mật khẩu"}


def test_agencies_are_listed_as_the_sample(onestop):
    body = {"service": "LayDanhSachDonVi", "session": log_in(onestop)}
    answer = requests.post(onestop.url, json=body, timeout=5).json()
    assert answer["error_code"] == 0
    assert all(list(a) == ["MaDonVi", "TenDonVi", "MaDonViCha", "CapDonVi"] for a in answer["data"])
    assert {"MaDonVi": "000.00.00.H59", "TenDonVi": "Ủy ban nhân dân tỉnh", "MaDonViCha": "",
            "CapDonVi": "tinh"} in answer["data"]
    assert {a["CapDonVi"] for a in answer["data"]} == {"tinh", "huyen", "xa"}


def test_dossiers_come_in_pages_ordered_by_update_time_and_code(onestop):
    session = log_in(onestop)
    expected = sorted((d for d in onestop.province.dossiers if d.in_onestop),
                      key=lambda d: (d.updated, d.code))
    first = ask(onestop, session, TuNgayCapNhat="", Trang=1, SoBanGhi=50)
    assert first["TongSoBanGhi"] == len(expected)
    assert first["TongSoTrang"] == -(-len(expected) // 50)
    records = []
    for page in range(1, first["TongSoTrang"] + 1):
        answer = ask(onestop, session, TuNgayCapNhat="", Trang=page, SoBanGhi=50)
        records += answer["data"]
    assert [r["MaHoSo"] for r in records] == [d.code for d in expected]
    assert all(list(r) == list(json.loads(SAMPLE_RECORDS[0])) for r in records)
    assert all(STAMP.match(r[key]) for r in records for key in r if key.startswith("Ngay"))
    past = ask(onestop, session, TuNgayCapNhat="", Trang=first["TongSoTrang"] + 1, SoBanGhi=50)
    assert past["data"] == [] and past["TongSoBanGhi"] == len(expected)


def test_the_cursor_keeps_records_updated_at_or_after_it(onestop):
    session = log_in(onestop)
    everything = ask(onestop, session, TuNgayCapNhat="", Trang=1, SoBanGhi=5000)["data"]
    cursor = everything[len(everything) // 2]["NgayCapNhat"]
    answer = ask(onestop, session, TuNgayCapNhat=cursor, Trang=1, SoBanGhi=5000)
    assert answer["data"] == [r for r in everything if r["NgayCapNhat"] >= cursor]
    assert answer["data"][0]["NgayCapNhat"] == cursor


@pytest.mark.parametrize("params", [
    {"TuNgayCapNhat": "2025-10-01", "Trang": 1, "SoBanGhi": 50},
    {"TuNgayCapNhat": "20251399000000", "Trang": 1, "SoBanGhi": 50},
    {"TuNgayCapNhat": "", "Trang": 0, "SoBanGhi": 50},
    {"TuNgayCapNhat": "", "Trang": 1, "SoBanGhi": "50"},
    {"TuNgayCapNhat": "", "Trang": 1, "SoBanGhi": 0},
])
def test_bad_parameters_answer_error_3(onestop, params):
    assert ask(onestop, log_in(onestop), **params) == {"error_code": 3, "message": "Tham số không hợp lệ"}


def test_unknown_service_session_or_body_answer_their_errors(onestop):
    unknown = {"service": "LayDanhSachHoSoX", "session": log_in(onestop)}
    assert requests.post(onestop.url, json=unknown, timeout=5).json() == {
        "error_code": 4, "message": "Dịch vụ không tồn tại: LayDanhSachHoSoX"}
    assert ask(onestop, "khong-co-phien", Trang=1, SoBanGhi=10) == {
        "error_code": 2, "message": "Phiên làm việc hết hạn"}
    not_json = requests.post(onestop.url, data=b"service=LayPhien", timeout=5).json()
    assert not_json["error_code"] == 3


def test_sessions_expire_after_a_few_calls_with_the_fault_on():
    with OneStopServer(province(), faults=Faults(expiring_sessions=True, session_calls=3)) as server:
        session = log_in(server)
        codes = [ask(server, session, Trang=1, SoBanGhi=10)["error_code"] for _ in range(4)]
        assert codes == [0, 0, 0, 2]
        assert ask(server, log_in(server), Trang=1, SoBanGhi=10)["error_code"] == 0


# --- the portal --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def portal():
    with PortalServer(province(), page_size=15) as server:
        yield server


def test_the_catalogue_pages_list_every_procedure(portal):
    url, codes = portal.url + "/thu-tuc-hanh-chinh", []
    while url:
        html = get(url).text
        assert html.endswith("</html>\n")
        rows = table_rows(html, "danh-sach-thu-tuc")
        assert all(set(row) == {"Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cơ quan thực hiện"}
                   for row in rows)
        codes += [row["Mã thủ tục"] for row in rows]
        href = next_link(html)
        assert href is None or href.startswith("?trang=")
        url = urljoin(url, href) if href else None
    assert codes == sorted(p.code for p in PROCEDURES)
    assert len(codes) == 40


def test_procedure_pages_have_their_labels(portal):
    for procedure in PROCEDURES:
        html = get(f"{portal.url}/thu-tuc-hanh-chinh/{procedure.code}").text
        table = BeautifulSoup(html, "html.parser").find("table", class_="thong-tin-thu-tuc")
        labels = {th.get_text(strip=True): th.find_next("td").get_text() for th in table.find_all("th")}
        assert len(labels) == (8 if procedure.missing_label else 9)
        assert procedure.missing_label not in labels
        assert labels["Mã thủ tục"] == procedure.code
        assert labels.get("Thời hạn giải quyết", procedure.time_limit_text) == procedure.time_limit_text
    assert get(portal.url + "/thu-tuc-hanh-chinh/9.999999").status_code == 404


def test_the_dossier_list_is_newest_first_in_pages(portal):
    listed = sorted((d for d in portal.province.dossiers if d.on_portal),
                    key=lambda d: (d.listed_at, d.code), reverse=True)
    assert portal_dossier_codes(portal) == [d.code for d in listed]
    rows = table_rows(get(portal.url + "/tra-cuu-ho-so?trang=2").text, "danh-sach-ho-so")
    assert len(rows) == 15
    assert list(rows[0]) == ["Mã hồ sơ", "Mã thủ tục", "Đơn vị", "Kênh", "Ngày nộp", "Trạng thái"]
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", row["Ngày nộp"]) for row in rows)
    assert {row["Kênh"] for row in table_rows(get(portal.url + "/tra-cuu-ho-so").text,
                                               "danh-sach-ho-so")} <= {"Trực tiếp", "Trực tuyến", "Bưu chính"}
    assert get(portal.url + "/tra-cuu-ho-so?trang=abc").status_code == 400


# --- faults ------------------------------------------------------------------------------

def test_faults_are_switched_on_by_name():
    assert not any(getattr(Faults.none(), name) for name in Faults.names())
    assert all(getattr(Faults.all(), name) for name in Faults.names())
    named = Faults.named(["server_error", "nfd_text"])
    assert [name for name in Faults.names() if getattr(named, name)] == ["server_error", "nfd_text"]
    with pytest.raises(ValueError):
        Faults.named(["no_such_fault"])


def test_a_server_error_fires_then_lets_the_request_through():
    with OneStopServer(province(), faults=always(server_error=True)) as server:
        statuses = [requests.post(server.url, json=LOGIN, timeout=5).status_code for _ in range(3)]
        assert statuses[0] >= 500 and statuses[1] >= 500 and statuses[2] == 200


def test_a_dropped_connection_breaks_the_answer_then_lets_it_through():
    with (OneStopServer(province(), faults=always(dropped_connection=True)) as onestop,
          PortalServer(province(), faults=always(dropped_connection=True)) as portal):
        for attempt in range(2):
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                requests.post(onestop.url, json=LOGIN, timeout=5)
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                get(portal.url + "/tra-cuu-ho-so")
        assert requests.post(onestop.url, json=LOGIN, timeout=5).json()["error_code"] == 0
        assert get(portal.url + "/tra-cuu-ho-so").text.endswith("</html>\n")


def test_a_proxy_page_comes_instead_of_json_with_status_200_or_502():
    with OneStopServer(province(), faults=always(proxy_error_page=True)) as server:
        statuses = set()
        for user in ("a", "b", "c", "d", "e", "f"):  # different requests, different pages
            answer = requests.post(server.url, json={**LOGIN, "username": user}, timeout=5)
            assert answer.headers["Content-Type"].startswith("text/html")
            assert answer.text.rstrip().endswith("</html>")
            statuses.add(answer.status_code)
        assert statuses == {200, 502}


def test_a_portal_page_is_cut_off_mid_table_then_served_whole():
    with PortalServer(province(), faults=always(truncated_page=True)) as server:
        for attempt in range(2):
            cut = get(server.url + "/tra-cuu-ho-so")
            assert cut.status_code == 200
            assert '<table class="danh-sach-ho-so">' in cut.text and "</html>" not in cut.text
        assert get(server.url + "/tra-cuu-ho-so").text.endswith("</html>\n")


def test_failures_are_seeded_and_transient_for_a_retrying_client():
    def outcomes(seed: int) -> list[int | str]:
        seen = []
        with OneStopServer(province(), faults=Faults.all(seed=seed)) as server:
            for user in range(40):
                body = {**LOGIN, "username": f"u{user}"}
                for attempt in range(3):  # max_consecutive_failures + 1 attempts always suffice
                    try:
                        answer = requests.post(server.url, json=body, timeout=5)
                        seen.append(answer.json()["error_code"])
                        break
                    except (requests.RequestException, ValueError) as error:
                        seen.append(type(error).__name__)
                else:
                    pytest.fail("a request failed three times in a row")
        return seen

    first = outcomes(seed=9)
    assert first == outcomes(seed=9)
    assert first != outcomes(seed=10)
    assert len(first) > 40  # some failed


def test_records_changed_mid_crawl_move_to_the_end_and_a_clean_sync_gets_them():
    live = province()
    with OneStopServer(live, faults=always(changing_records=True)) as server:
        session = log_in(server)
        total = ask(server, session, Trang=1, SoBanGhi=50)["TongSoBanGhi"]
        by_page_number = []
        for page in range(1, -(-total // 50) + 1):
            by_page_number += ask(server, session, Trang=page, SoBanGhi=50)["data"]
    changed = [d for d in live.dossiers if d.updated > NOW]
    assert changed  # the province itself changed
    codes = [r["MaHoSo"] for r in by_page_number]
    in_onestop = {d.code for d in live.dossiers if d.in_onestop}
    assert set(codes) != in_onestop or len(codes) != len(set(codes))  # page numbers miss or repeat
    with OneStopServer(live) as clean:
        records = crawl_by_cursor(clean)
        last = ask(clean, log_in(clean), Trang=1, SoBanGhi=5000)["data"][-len(changed):]
    assert set(records) == in_onestop
    assert all(records[d.code]["NgayCapNhat"] == stamp(d.updated) for d in changed)
    assert {r["MaHoSo"] for r in last} == {d.code for d in changed}


def test_the_cursor_crawl_survives_records_changing_mid_crawl():
    live = province()
    with OneStopServer(live, faults=always(changing_records=True)) as server:
        records = crawl_by_cursor(server)
    assert set(records) == {d.code for d in live.dossiers if d.in_onestop}


def test_changes_mid_crawl_leave_pages_past_the_last_empty():
    with OneStopServer(province(), faults=always(changing_records=True)) as server:
        session = log_in(server)
        assert ask(server, session, Trang=99, SoBanGhi=50)["data"] == []
        assert ask(server, session, TuNgayCapNhat="20991231000000", Trang=2, SoBanGhi=50)["data"] == []


def test_rows_pushed_down_mid_crawl_are_new_dossiers_of_the_province():
    live = province()
    before = len(live.dossiers)
    with PortalServer(live, faults=always(pushed_rows=True), page_size=20) as server:
        first_page = [row["Mã hồ sơ"] for row in table_rows(get(server.url + "/tra-cuu-ho-so").text,
                                                            "danh-sach-ho-so")]
        second_page = [row["Mã hồ sơ"] for row in table_rows(get(server.url + "/tra-cuu-ho-so?trang=2").text,
                                                             "danh-sach-ho-so")]
    assert set(first_page) & set(second_page)  # the bottom of page 1 was pushed onto page 2
    new = [d for d in live.dossiers if d.submitted and d.submitted > NOW]
    assert len(live.dossiers) == before + len(new) and new
    assert all(d.status == 1 and d.channel == 2 and d.in_onestop and d.on_portal for d in new)
    with PortalServer(live, page_size=20) as clean:
        top = portal_dossier_codes(clean)[:len(new)]
    assert set(top) == {d.code for d in new}


def test_odd_markup_holds_the_same_data_under_other_columns_and_spans():
    live = province()
    with PortalServer(live, page_size=15) as plain, \
            PortalServer(live, faults=Faults(odd_markup=True), page_size=15) as odd:
        for path, css_class in (("/tra-cuu-ho-so?trang=2", "danh-sach-ho-so"),
                                ("/thu-tuc-hanh-chinh", "danh-sach-thu-tuc")):
            plain_html, odd_html = get(plain.url + path).text, get(odd.url + path).text
            odd_rows = table_rows(odd_html, css_class)
            assert list(odd_rows[0]) != list(table_rows(plain_html, css_class)[0])
            assert {"STT", "Thao tác"} <= set(odd_rows[0])
            assert "<span" in odd_html and "data-stt" in odd_html
            assert [{k: row[k] for k in plain_row} for row, plain_row
                    in zip(odd_rows, table_rows(plain_html, css_class))] == table_rows(plain_html, css_class)
            assert urljoin(plain.url + path, next_link(odd_html)) == urljoin(plain.url + path, next_link(plain_html))
        html = get(odd.url + "/thu-tuc-hanh-chinh/1.002467").text
        table = BeautifulSoup(html, "html.parser").find("table", class_="thong-tin-thu-tuc")
        labels = {th.get_text(strip=True): th.find_next("td").get_text(strip=True) for th in table.find_all("th")}
        assert labels["Thời hạn giải quyết"] == "10 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ"
        assert labels["Cơ quan thực hiện"] == "Sở Y tế (000.00.16.H59)"


def test_nfd_text_decomposes_some_records_and_every_page():
    live = province()
    with OneStopServer(live, faults=Faults(nfd_text=True)) as onestop, \
            PortalServer(live, faults=Faults(nfd_text=True)) as portal:
        names = [r["ChuHoSo"] for r in ask(onestop, log_in(onestop), Trang=1, SoBanGhi=200)["data"]]
        decomposed = [n for n in names if not unicodedata.is_normalized("NFC", n)]
        assert decomposed and len(decomposed) < len(names)
        assert {unicodedata.normalize("NFC", n) for n in names} <= {d.applicant for d in live.dossiers}
        html = get(portal.url + "/thu-tuc-hanh-chinh/1.002467").text
        assert unicodedata.is_normalized("NFD", html) and not unicodedata.is_normalized("NFC", html)
        assert "Thời hạn giải quyết" in unicodedata.normalize("NFC", html)


# --- tracking books ----------------------------------------------------------------------

def read_book(path: Path) -> list[list]:
    """A book's rows as cell values, whatever its format."""
    if path.suffix == ".xlsx":
        return [list(row) for row in load_workbook(path).active.iter_rows(values_only=True)]
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def book_rows(path: Path) -> list[list]:
    """The rows under the header that carry a dossier code."""
    rows = read_book(path)
    header = next(i for i, row in enumerate(rows) if "Mã hồ sơ" in row)
    return [row for row in rows[header + 1:] if len(row) > 1 and row[1]]


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    live = province(dossiers=600)
    return live, write_tracking_books(live, tmp_path_factory.mktemp("so-theo-doi"))


def test_books_are_one_file_per_counter_per_month_in_both_formats(books):
    live, paths = books
    assert {p.suffix for p in paths} == {".xlsx", ".csv"}
    assert all(re.fullmatch(r"so-theo-doi-000\.\d\d\.\d\d\.H59-\d{4}-\d\d\.(xlsx|csv)", p.name) for p in paths)
    written = [row[1].strip().upper() for p in paths for row in book_rows(p)]
    assert sorted(written) == sorted(d.code.upper() for d in live.dossiers if d.in_book)


def test_books_have_titles_header_and_signature(books):
    live, paths = books
    for path in paths:
        rows = read_book(path)
        agency = path.name.removeprefix("so-theo-doi-")[:13]
        assert rows[0][0] == "SỔ THEO DÕI HỒ SƠ"
        assert rows[1][0] == f"Bộ phận Một cửa - {live.agency(agency).name}"
        assert rows[2][0] == f"Tháng {path.stem[-2:]}/{path.stem[-7:-3]}"
        assert [cell for cell in rows[4] if cell] == list(HEADERS)
        assert not any(rows[-2]) and "Người lập sổ" in rows[-1][2]


def test_excel_books_hold_date_time_cells_and_hand_typed_rows(books):
    _, paths = books
    excel = [p for p in paths if p.suffix == ".xlsx" and len(book_rows(p)) >= 4]
    assert excel
    for path in excel:
        rows = book_rows(path)
        assert isinstance(rows[0][6], datetime) and isinstance(rows[3][6], datetime)
        assert rows[1][1].startswith(" ") and rows[1][1] != rows[1][1].upper()  # typed by hand
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", rows[2][6])  # a date without its time
    cell = load_workbook(excel[0]).active.cell(6, 7)
    assert cell.is_date and cell.number_format == "dd/mm/yyyy hh:mm"


def test_csv_books_are_utf8_some_with_a_byte_order_mark(books):
    _, paths = books
    csv_paths = [p for p in paths if p.suffix == ".csv"]
    marks = {p.read_bytes().startswith(b"\xef\xbb\xbf") for p in csv_paths}
    assert marks == {True, False}
    dates = [row[6] for p in csv_paths for row in book_rows(p)]
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}( \d\d:\d\d)?", d) for d in dates)
    assert any(len(d) == 10 for d in dates) and any(len(d) == 16 for d in dates)


def test_an_impossible_date_is_written_only_when_asked(tmp_path):
    live = province(dossiers=200)
    assert not any(row[1].endswith("-9999") for p in write_tracking_books(live, tmp_path / "plain")
                   for row in book_rows(p))
    for path in write_tracking_books(live, tmp_path / "bad", impossible_date=True):
        bad = [row for row in book_rows(path) if row[1].endswith("-9999")]
        assert len(bad) == 1 and re.match(r"(31/(02|04|06|09|11)|30/02)/", bad[0][6])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_rows_appended_go_above_the_signature(books, suffix, tmp_path):
    _, paths = books
    path = tmp_path / next(p for p in paths if p.suffix == suffix).name
    path.write_bytes(next(p for p in paths if p.suffix == suffix).read_bytes())
    before = book_rows(path)
    new = [BookRow("000.29.31.H59-251015-0101", "Đăng ký khai sinh", "Lê Thị Mai", "000.29.31.H59",
                   datetime(2025, 10, 15, 9, 5), "15/10/2025"),
           BookRow("000.29.31.H59-251015-0102", "Đăng ký khai sinh", "Phạm Văn Tài", "000.29.31.H59",
                   "15/10/2025")]
    append_rows(path, new)
    after = book_rows(path)
    assert after[:len(before)] == before
    assert [row[1] for row in after[len(before):]] == [row.code for row in new]
    assert [int(row[0]) for row in after] == list(range(1, len(after) + 1))
    assert "Người lập sổ" in read_book(path)[-1][2]
