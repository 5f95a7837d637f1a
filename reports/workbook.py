"""`motcua audit --format xlsx`: a workbook with the findings and the statistics form.

The statistics sheet is laid out like the official form for reporting dossier processing
("Tình hình, kết quả giải quyết TTHC"): numbered columns, received = (2) + (3) + (4) and
received = resolved + in progress, so an officer can check it against the form they know.
Every text cell goes through the formula-injection guard, and loses the characters XML forbids
(reports/safe_text.py), so no code typed at a counter can stop the workbook.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from reports.audit_output import FINDING_COLUMNS, finding_row, neutralise
from reports.safe_text import cell_text
from rules.audit import AuditResult

FINDINGS_SHEET = "Vi phạm"
FORM_SHEET = "Thống kê"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"

# (group heading, column heading, value of a figure); groups span their consecutive columns.
FORM_COLUMNS = (
    ("Số hồ sơ nhận giải quyết", "Tổng số", lambda f: f.received_total + f.carried_over),
    ("Số hồ sơ nhận giải quyết", "Mới tiếp nhận trực tuyến", lambda f: f.received_online),
    ("Số hồ sơ nhận giải quyết", "Mới tiếp nhận trực tiếp và qua dịch vụ bưu chính",
     lambda f: f.received_offline),
    ("Số hồ sơ nhận giải quyết", "Kỳ trước chuyển qua", lambda f: f.carried_over),
    ("Số hồ sơ đã giải quyết", "Tổng số", lambda f: f.resolved_total),
    ("Số hồ sơ đã giải quyết", "Trả trước hạn", lambda f: f.resolved_early),
    ("Số hồ sơ đã giải quyết", "Trả đúng hạn", lambda f: f.resolved_on_time),
    ("Số hồ sơ đã giải quyết", "Trả quá hạn", lambda f: f.resolved_late),
    ("Số hồ sơ đang giải quyết", "Tổng số", lambda f: f.in_progress_total),
    ("Số hồ sơ đang giải quyết", "Trong hạn", lambda f: f.in_progress_within),
    ("Số hồ sơ đang giải quyết", "Quá hạn", lambda f: f.in_progress_overdue),
    ("Tỷ lệ", "Đúng hạn", lambda f: f.on_time_rate),
    ("Tỷ lệ", "Nhập vào hệ thống một cửa", lambda f: f.entry_rate),
    ("Tỷ lệ", "Đồng bộ lên Cổng DVC", lambda f: f.sync_rate),
    ("Tỷ lệ", "Thanh toán trực tuyến", lambda f: f.online_payment_rate),
)
RATE_COLUMNS = 4
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")


def write_workbook(result: AuditResult, path: Path | str | BinaryIO, *,
                   agency_names: Mapping[str, str] | None = None) -> None:
    """The workbook, written to a path or a binary file; `agency_names` names the agencies on the form."""
    workbook = Workbook()
    _findings_sheet(workbook.active, result)
    _form_sheet(workbook.create_sheet(FORM_SHEET), result, agency_names or {})
    workbook.save(path)


def _put(sheet, row: int, column: int, value):
    cell = sheet.cell(row=row, column=column, value=neutralise(cell_text(value)))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever openpyxl guesses from the text
    return cell


def _findings_sheet(sheet, result: AuditResult) -> None:
    sheet.title = FINDINGS_SHEET
    for column, name in enumerate(FINDING_COLUMNS, start=1):
        _put(sheet, 1, column, name).font = BOLD
    for row, finding in enumerate(result.findings, start=2):
        values = finding_row(finding)
        for column, name in enumerate(FINDING_COLUMNS, start=1):
            _put(sheet, row, column, values[name])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_COLUMNS))}{max(1, len(result.findings) + 1)}"
    for column, width in zip("ABCDEFGHIJ", (28, 28, 16, 12, 12, 10, 22, 10, 20, 80)):
        sheet.column_dimensions[column].width = width


def _form_sheet(sheet, result: AuditResult, agency_names: Mapping[str, str]) -> None:
    _put(sheet, 1, 1, FORM_TITLE).font = BOLD
    if result.period:
        scope = f"Kỳ báo cáo: từ ngày {result.period[0]:%d/%m/%Y} đến ngày {result.period[1]:%d/%m/%Y}"
    else:
        scope = f"Số liệu tính đến {result.as_of:%d/%m/%Y %H:%M:%S}"
    _put(sheet, 2, 1, scope)
    header, sub, numbers = 4, 5, 6
    for column, heading in ((1, "STT"), (2, "Đơn vị")):
        _put(sheet, header, column, heading).font = BOLD
        sheet.merge_cells(start_row=header, start_column=column, end_row=sub, end_column=column)
    start = 3
    for offset, (group, heading, _) in enumerate(FORM_COLUMNS):
        column = start + offset
        _put(sheet, sub, column, heading).font = BOLD
        if offset == 0 or FORM_COLUMNS[offset - 1][0] != group:
            _put(sheet, header, column, group).font = BOLD
            span = sum(1 for g, _, _ in FORM_COLUMNS if g == group)
            sheet.merge_cells(start_row=header, start_column=column, end_row=header, end_column=column + span - 1)
    for column in range(1, start + len(FORM_COLUMNS)):
        _put(sheet, numbers, column, f"({column})")
        for row in (header, sub, numbers):
            sheet.cell(row=row, column=column).alignment = WRAP
    rate_from = start + len(FORM_COLUMNS) - RATE_COLUMNS
    for index, figure in enumerate(result.figures, start=1):
        row = numbers + index
        province = figure.agency == "*"
        _put(sheet, row, 1, "" if province else index)
        name = "Toàn tỉnh" if province else agency_names.get(figure.agency, figure.agency)
        _put(sheet, row, 2, name if province or name == figure.agency else f"{name} ({figure.agency})")
        for offset, (_, _, value) in enumerate(FORM_COLUMNS):
            cell = _put(sheet, row, start + offset, value(figure))
            if start + offset >= rate_from:
                cell.number_format = "0.0%"
        if province:
            for column in range(1, start + len(FORM_COLUMNS)):
                sheet.cell(row=row, column=column).font = BOLD
    notes = numbers + len(result.figures) + 2
    _put(sheet, notes, 1, "(3) = (4) + (5) + (6) và (3) = (7) + (11). Ô tỷ lệ để trống: không tính được "
                          "(mẫu số bằng 0, hoặc nguồn dữ liệu chưa cập nhật).")
    for offset, stale in enumerate(result.stale, start=1):
        _put(sheet, notes + offset, 1, f"Nguồn chưa cập nhật: {stale['source']} ({stale['reason']}); "
                                       f"bỏ qua: {', '.join(stale['skipped_rules'])}")
    sheet.column_dimensions["B"].width = 36
    for column in range(start, start + len(FORM_COLUMNS)):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    sheet.row_dimensions[sub].height = 60
