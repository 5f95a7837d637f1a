"""The text every rule's finding carries (`detail`, and how a skipped part is named): what an agency
head reads in the reports, pinned word for word on both stores. A mutation run (README "Mutation
testing") found these texts free to change with no test failing.

One province: the default procedure has 5 working days, so a dossier received Monday 2 March 2026
at 09:00 is due Monday 9 March; T is the end of Friday 20 March (9 working days after the 9th)."""
from __future__ import annotations

import pytest

from audit_helpers import Store, at, end_of_day, finding, make_settings
from rules import registry


@pytest.fixture(scope="function")
def result(engine):
    store = Store(engine)
    store.procedure()
    store.procedure("1.000002", fee_status="fee_bearing", online_payment=False)
    store.procedure("1.000003", kind="unknown", amount=None, fee_status="unknown", full_online_eligible=True,
                    service_level="Một phần", time_limit_text="Theo quy định", fee_text="Theo quy định của HĐND")
    store.dossier("LATE", at(2), status=9, finished_at=at(12, 14, 5))
    store.dossier("OVERDUE", at(2))
    store.dossier("PADDED", at(2), appointment_at=at(10, 16), status=9, finished_at=at(6))
    store.dossier("ENTERED-LATE", at(2, 9), created_at=at(5, 8, 30), status=9, finished_at=at(6))
    store.dossier("UNSYNCED", at(2, 9), on_portal=False, status=9, finished_at=at(6))
    store.dossier("I-PROC", at(2), procedure="9.999999")
    store.dossier("I-FINISH", at(2), status=9)
    store.dossier("I-RETURN", at(2), status=10, finished_at=at(5))
    store.dossier("I-BEFORE", at(2, 10), status=9, finished_at=at(2, 8))
    store.dossier("PAID", at(2, 10, 15), channel="2", procedure="1.000002", status=9, finished_at=at(6),
                  payments=(("truc-tiep", at(3)),))
    store.portal_row("ON-PORTAL", at(3, 14, 20))
    store.book_row("IN-BOOK", at(3, 10), file="2026/03.xlsx", row_number=12)
    return store, store.audit(end_of_day(20))


def detail(result, rule: str, subject: str) -> str:
    return finding(result[1], rule, subject).detail


def test_entry_details(result):
    assert detail(result, "entry.missing", "ON-PORTAL") == (
        "Có trên Cổng DVC (nhận 03/03/2026 14:20) nhưng không có trong hệ thống một cửa điện tử; hạn nhập 04/03/2026")
    assert detail(result, "entry.missing", "IN-BOOK") == (
        "Có trên sổ theo dõi so-theo-doi (nhận 03/03/2026 10:00, tệp 2026/03.xlsx dòng 12) nhưng không có "
        "trong hệ thống một cửa điện tử; hạn nhập 04/03/2026")
    assert detail(result, "entry.late", "ENTERED-LATE") == (
        "Nhận 02/03/2026 09:00, nhập vào hệ thống 05/03/2026 08:30; hạn nhập 03/03/2026")
    assert detail(result, "entry.unsynced", "UNSYNCED") == (
        "Nhận 02/03/2026 09:00, chưa đồng bộ lên Cổng dịch vụ công; hạn đồng bộ 03/03/2026")


def test_entry_invalid_details_and_reasons(result):
    _, audit = result
    found = {f.subject: (f.reason, f.procedure, f.detail) for f in audit.findings if f.rule == "entry.invalid"}
    assert found == {
        "I-PROC": ("unknown_procedure", "9.999999", "Mã thủ tục 9.999999 không có trong danh mục thủ tục hành chính"),
        "I-FINISH": ("missing_finish_date", "1.000001",
                     "Trạng thái 9 nhưng thiếu ngày kết thúc xử lý (NgayKetThucXuLy)"),
        "I-RETURN": ("missing_return_date", "1.000001", "Trạng thái 10 nhưng thiếu ngày trả kết quả (NgayTra)"),
        "I-BEFORE": ("finish_before_receipt", "1.000001",
                     "Ngày kết thúc xử lý 02/03/2026 08:00 trước ngày tiếp nhận 02/03/2026 10:00"),
    }


def test_ontime_details(result):
    assert detail(result, "ontime.late", "LATE") == (
        "Giải quyết xong 12/03/2026 14:05, trễ 3 ngày làm việc so với hạn 09/03/2026")
    assert detail(result, "ontime.overdue", "OVERDUE") == "Đang giải quyết, quá hạn 9 ngày làm việc (hạn 09/03/2026)"
    assert detail(result, "ontime.due_date_padded", "PADDED") == (
        "Phiếu hẹn trả 10/03/2026, muộn hơn hạn theo quy định 09/03/2026")
    assert detail(result, "ontime.no_apology", "OVERDUE") == (
        "Trễ hạn (hạn 09/03/2026) mà không có văn bản xin lỗi ban hành đến 09/03/2026")
    store, _ = result
    # With apology_lead_days = 2 the letter was due by the 2nd working day before D': Thursday 5 March.
    lead = store.audit(end_of_day(20), settings=make_settings(apology_lead_days=2))
    assert finding(lead, "ontime.no_apology", "OVERDUE").detail == (
        "Trễ hạn (hạn 09/03/2026) mà không có văn bản xin lỗi ban hành đến 05/03/2026")


def test_payment_service_and_catalogue_details(result):
    assert detail(result, "payment.not_enabled", "1.000002") == (
        "Thủ tục có thu phí, lệ phí nhưng chưa cung cấp thanh toán trực tuyến")
    assert detail(result, "payment.offline", "PAID") == (
        "Nộp trực tuyến (nhận 02/03/2026 10:15), thủ tục có thu phí, lệ phí nhưng không thanh toán trực tuyến")
    assert detail(result, "service.not_full_online", "1.000003") == (
        "Đủ điều kiện cung cấp toàn trình nhưng chỉ cung cấp: Một phần")
    assert detail(result, "catalogue.unknown_time_limit", "1.000003") == (
        "Thời hạn giải quyết không xác định được: «Theo quy định»")
    assert detail(result, "catalogue.unknown_fee", "1.000003") == (
        "Phí, lệ phí không xác định được: «Theo quy định của HĐND»")


def test_a_skipped_part_is_named_in_vietnamese():
    missing, invalid = registry.by_id("entry.missing"), registry.by_id("entry.invalid")
    assert missing.part_title("portal") == "phần dựa trên Cổng dịch vụ công"
    assert missing.part_title("so-theo-doi") == "phần dựa trên nguồn «so-theo-doi»"
    assert invalid.part_title("unknown_procedure") == "phần kiểm tra mã thủ tục"
    assert registry.by_id("process.step_late").part_title("luong-dvcqg") == "phần dựa trên nguồn «luong-dvcqg»"
