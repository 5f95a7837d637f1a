"""The XLSX for officials (reports/workbook.py), opened with openpyxl: the statistics form first,
Vietnamese headings and values, real dates, the most urgent breaches first, print setup,
frozen panes, document properties; and through `motcua audit --format xlsx`, the procedure
names and the masked applicants from the store."""
from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook
from sqlalchemy import update

from audit_helpers import AGENCY, Store, at
from cli_helpers import run_cli, write_config
from monitor.models import Dossier
from monitor.statuses import FindingStatus
from reports.workbook import FindingNames, row_height, text_lines, write_workbook
from rules.audit import AuditFinding, AuditResult
from rules.figures import Figures

AS_OF = datetime(2026, 3, 31, 17, 0)
OPEN, EXEMPTED = FindingStatus.OPEN, FindingStatus.EXEMPTED
HEADINGS = ("STT", "Quy tắc", "Mã hồ sơ", "Cơ quan", "Thủ tục", "Người nộp", "Hạn giải quyết", "Số ngày trễ",
            "Trạng thái", "Phát hiện từ", "Chi tiết", "Cần làm")


def figures(agency: str) -> Figures:
    return Figures(agency=agency, received_total=10, received_online=4, received_offline=6, carried_over=2,
                   resolved_total=9, resolved_early=5, resolved_on_time=3, resolved_late=1, in_progress_total=3,
                   in_progress_within=2, in_progress_overdue=1, on_time_rate=0.888, entry_rate=1.0, sync_rate=None,
                   online_payment_rate=0.5)


def finding(rule: str, subject: str, *, days_late=None, due=None, status=OPEN, procedure="1.000001") -> AuditFinding:
    return AuditFinding(rule=rule, subject=subject, agency=AGENCY, procedure=procedure, due_date=due,
                        detail=f"chi tiết {subject}", status=status, days_late=days_late,
                        first_seen=datetime(2026, 3, 20, 8, 15))


FINDINGS = [
    # In rule and code order, as the audit gives them; the workbook puts the most urgent first.
    finding("catalogue.unknown_fee", "1.000001"),
    finding("entry.unsynced", "HS-4"),
    finding("ontime.late", "HS-1", days_late=2, due=date(2026, 3, 9)),
    finding("ontime.late", "HS-2", days_late=7, due=date(2026, 3, 2), status=EXEMPTED),
    finding("ontime.overdue", "HS-3", days_late=1, due=date(2026, 3, 30)),
]
STALE = {"source": "cong-dvc", "kind": "portal_html", "last_success": "2026-03-30T02:04:11",
         "reason": "HTTP 503 on /tra-cuu-ho-so?trang=4", "skipped_rules": ["entry.missing:portal", "entry.unsynced"]}


def workbook(findings=FINDINGS, stale=(), names=None):
    result = AuditResult(as_of=AS_OF, period=(date(2026, 3, 1), date(2026, 3, 31)), findings=list(findings),
                         stale=list(stale), figures=[figures(AGENCY)], skipped_rules=set())
    data = io.BytesIO()
    write_workbook(result, data, agency_names={AGENCY: "Sở Tư pháp"},
                   names=names or FindingNames(procedures={"1.000001": "Cấp phiếu lý lịch tư pháp"},
                                               applicants={"HS-1": "Nguyễn V. A."}))
    return load_workbook(io.BytesIO(data.getvalue()))


def test_the_statistics_form_comes_first_then_the_breaches():
    assert workbook().sheetnames == ["Thống kê", "Vi phạm"]


def test_breaches_have_vietnamese_headings_and_values():
    sheet = workbook()["Vi phạm"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADINGS
    first = dict(zip(HEADINGS, rows[1]))
    assert first == {
        "STT": 1, "Quy tắc": "Hồ sơ đang giải quyết đã quá hạn", "Mã hồ sơ": "HS-3", "Cơ quan": "Sở Tư pháp",
        "Thủ tục": "Cấp phiếu lý lịch tư pháp (1.000001)", "Người nộp": None,
        "Hạn giải quyết": datetime(2026, 3, 30), "Số ngày trễ": 1, "Trạng thái": "Vi phạm",
        "Phát hiện từ": datetime(2026, 3, 20), "Chi tiết": "chi tiết HS-3",
        "Cần làm": "Khẩn trương giải quyết; gửi văn bản xin lỗi và hẹn lại ngày trả kết quả.",
    }
    late = {row[2]: dict(zip(HEADINGS, row)) for row in rows[1:]}
    assert late["HS-1"]["Người nộp"] == "Nguyễn V. A."          # masked as the store gives it
    assert late["HS-2"]["Trạng thái"] == "Miễn trừ"
    procedure = next(row for row in rows[1:] if row[1] == "Phí, lệ phí của thủ tục không ghi rõ mức thu")
    assert (procedure[2], procedure[4]) == (None, "Cấp phiếu lý lịch tư pháp (1.000001)")
    assert not any(isinstance(value, str) and ("_" in value or value in ("open", "exempted"))
                   for row in rows for value in row[:10])    # no snake_case, no machine status


def test_dates_are_date_cells_written_dd_mm_yyyy():
    sheet = workbook()["Vi phạm"]
    due, seen = sheet["G2"], sheet["J2"]
    assert due.is_date and due.number_format == "dd/mm/yyyy" and due.value == datetime(2026, 3, 30)
    assert seen.is_date and seen.number_format == "dd/mm/yyyy"
    assert sheet["H2"].data_type == "n"


def test_breaches_come_by_the_rules_urgency_then_the_most_days_late():
    rows = list(workbook()["Vi phạm"].iter_rows(min_row=2, values_only=True))
    # ontime.overdue (10), ontime.late (60: 7 days before 2), entry.unsynced is 40, catalogue.unknown_fee 130
    assert [row[2] or row[4] for row in rows] == ["HS-3", "HS-4", "HS-2", "HS-1",
                                                  "Cấp phiếu lý lịch tư pháp (1.000001)"]
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]


def test_every_sheet_prints_a4_landscape_fitted_to_the_width_with_its_headings_repeated():
    book = workbook()
    for sheet, title_rows in ((book["Thống kê"], "$4:$6"), (book["Vi phạm"], "$1:$1")):
        setup = sheet.page_setup
        assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9)  # 9: A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == title_rows
        assert "&P" in sheet.oddFooter.center.text


def test_frozen_panes_borders_and_bold_headings():
    book = workbook()
    form, breaches = book["Thống kê"], book["Vi phạm"]
    assert form.freeze_panes == "C7" and breaches.freeze_panes == "D2"
    assert form["C4"].font.b and form["C5"].font.b and breaches["A1"].font.b
    assert form["C7"].border.left.style == "thin" and breaches["K2"].border.bottom.style == "thin"
    assert form["C4"].value == "Số hồ sơ nhận giải quyết" and form["N7"].number_format == "0.0%"
    assert [form.cell(7, c).value for c in (2, 3, 14, 16)] == ["Sở Tư pháp (000.00.31.H59)", 12, 0.888, None]


def test_columns_are_sized_and_rows_as_tall_as_their_wrapped_text():
    sheet = workbook()["Vi phạm"]
    assert sheet.column_dimensions["K"].width == 40 and sheet.column_dimensions["C"].width == 25
    assert sheet["K2"].alignment.wrap_text and sheet["L2"].alignment.wrap_text
    # "Khẩn trương giải quyết; gửi văn bản xin lỗi và hẹn lại ngày trả kết quả." takes two lines of 36.
    assert sheet.row_dimensions[2].height == 2 * 14 + 2


def test_text_lines_wrap_at_words_in_the_columns_width():
    assert text_lines("", 10) == 1
    assert text_lines("0123456789", 10) == 1
    assert text_lines("0123456789 0", 10) == 2
    assert text_lines("01234567890123456789012", 10) == 3   # a word longer than the column breaks
    assert text_lines("iiiiiiiiiiiiiiiiiiii", 10) == 1        # narrow letters: 20 fit in 10 digits
    assert text_lines("mmmmmmmmmm", 10) == 2
    assert text_lines("một\nhai", 30) == 2
    assert row_height([("0123456789 0", 10), ("x", 5)]) == 2 * 14 + 2


def test_document_properties_name_the_monitor():
    properties = workbook().properties
    assert properties.creator == "motcua-monitor" and properties.lastModifiedBy == "motcua-monitor"
    assert properties.title == "Vi phạm và tình hình giải quyết thủ tục hành chính — Sở Tư pháp"
    assert properties.subject == "Kỳ báo cáo: từ ngày 01/03/2026 đến ngày 31/03/2026"


def test_a_stale_source_is_told_in_words_without_the_technical_error():
    form = workbook(stale=[STALE])["Thống kê"]
    notes = [row[0] for row in form.iter_rows(min_row=9, values_only=True) if row[0]]
    assert notes[-1] == ("Chưa kiểm tra được: Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử (phần dựa trên "
                         "Cổng dịch vụ công); Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công, vì dữ liệu Cổng dịch "
                         "vụ công «cong-dvc» chưa cập nhật (lần cập nhật thành công gần nhất 30/03/2026 02:04); số "
                         "liệu trong bảng tính đến 31/03/2026 17:00.")
    assert not any("HTTP" in str(value) for row in form.iter_rows(values_only=True) for value in row)


def test_the_cli_workbook_names_procedures_and_masks_applicants(engine, database_url, tmp_path, capsys):
    store = Store(engine)
    store.procedure()
    store.dossier("000.00.31.H59-260302-0001", at(2), status=9, finished_at=at(10))  # late
    with engine.begin() as connection:
        connection.execute(update(Dossier).values(applicant_name="Nguyễn Văn An"))
    path = tmp_path / "audit.xlsx"
    code, _, err = run_cli(capsys, "audit", "--config", write_config(tmp_path, database_url), "--as-of",
                           "20/03/2026", "--rule", "ontime.late", "--format", "xlsx", "--output", str(path))
    assert code == 0, err
    [row] = load_workbook(path)["Vi phạm"].iter_rows(min_row=2, values_only=True)
    assert row[1:9] == ("Hồ sơ giải quyết quá hạn", "000.00.31.H59-260302-0001", AGENCY,
                        "Thủ tục 1.000001 (1.000001)", "Nguyễn V. A.", datetime(2026, 3, 9), 1, "Vi phạm")
