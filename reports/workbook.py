"""`motcua audit --format xlsx` and the mails' attachment: a workbook written for officials.

Two sheets. First the statistics form (`Thống kê`), laid out like the official form for reporting
dossier processing ("Tình hình, kết quả giải quyết TTHC"): numbered columns, received = (2) + (3)
+ (4) and received = resolved + in progress, so an officer can check it against the form they
know. Then the breaches (`Vi phạm`), in Vietnamese: the rule's title, the dossier, the agency and
procedure by name, the applicant masked, the due date as a real date, the working days late, the
status and what to do ("Cần làm"), the most urgent first (the rule's urgency, then the most days
late). Both print on A4 landscape, fitted to the page's width, the heading rows repeated on every
page, with borders, bold headings and frozen panes.

Every text cell goes through the formula-injection guard, and loses the characters XML forbids
(reports/safe_text.py), so no code typed at a counter can stop the workbook. CSV and JSON stay
the machine formats (reports/audit_output.py); this one is for people.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from monitor.sources import kind_label
from monitor.statuses import FindingStatus
from reports.audit_output import neutralise
from reports.safe_text import cell_text
from rules import registry
from rules.audit import AuditFinding, AuditResult
from rules.figures import PROVINCE

CREATOR = "motcua-monitor"
LINE_HEIGHT = 14             # points, a line of the default font (Calibri 11), spacing included
# Calibri's advance widths in digits (a column's width unit): the narrow and wide letters; a
# lower-case letter not listed is about a digit, an upper-case one 1.2.
ADVANCE = {**dict.fromkeys("ijlI'|!.,:;", 0.5), **dict.fromkeys("frt()[]/-", 0.68), **dict.fromkeys("sz", 0.77),
           **dict.fromkeys("cxkvyg", 0.88), **dict.fromkeys("mwMW", 1.6), **dict.fromkeys("0123456789", 1.0)}
SPACE = 0.45
FORM_SHEET = "Thống kê"
FINDINGS_SHEET = "Vi phạm"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
DAY_FORMAT = "dd/mm/yyyy"
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"

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
FORM_FIRST = 3       # the first column of FORM_COLUMNS (after STT and Đơn vị)
FORM_HEADER = 4      # rows 4 and 5: the headings; row 6: the column numbers
FORM_NUMBERS = 6
FORM_WIDTH = 11      # each numbered column of the form


@dataclass(frozen=True)
class Column:
    heading: str
    width: float
    number_format: str | None = None
    wrap: bool = True
    centred: bool = False


# The breaches sheet. Widths in digits of the default font, chosen so that the sheet fitted
# to an A4 landscape page stays readable (about 65 %) and most rows take two lines.
FINDING_COLUMNS = (
    Column("STT", 5, centred=True, wrap=False),
    Column("Quy tắc", 24),
    Column("Mã hồ sơ", 25, wrap=False),
    Column("Cơ quan", 16),
    Column("Thủ tục", 26),
    Column("Người nộp", 13),
    Column("Hạn giải quyết", 11, DAY_FORMAT, centred=True),
    Column("Số ngày trễ", 9, centred=True),
    Column("Trạng thái", 9, centred=True),
    Column("Phát hiện từ", 11, DAY_FORMAT, centred=True),
    Column("Chi tiết", 40),
    Column("Cần làm", 36),
)
STATUS = {FindingStatus.OPEN: "Vi phạm", FindingStatus.EXEMPTED: "Miễn trừ"}

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
BOLD = Font(bold=True)
HEADING_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADING = Alignment(wrap_text=True, vertical="center", horizontal="center")
TEXT = Alignment(wrap_text=True, vertical="top")
ONE_LINE = Alignment(vertical="top")
CENTRED = Alignment(vertical="top", horizontal="center", wrap_text=True)


@dataclass(frozen=True)
class FindingNames:
    """What the audit's findings do not carry and the breaches sheet shows: procedure names by
    code, and applicants' names by dossier code, already masked (rules.publish.mask_name)."""
    procedures: Mapping[str, str] = field(default_factory=dict)
    applicants: Mapping[str, str] = field(default_factory=dict)


def write_workbook(result: AuditResult, path: Path | str | BinaryIO, *,
                   agency_names: Mapping[str, str] | None = None, names: FindingNames | None = None) -> None:
    """The workbook, written to a path or a binary file; `agency_names` names the agencies,
    `names` the procedures and (masked) applicants."""
    agency_names = agency_names or {}
    workbook = Workbook()
    _form_sheet(workbook.active, result, agency_names)
    _findings_sheet(workbook.create_sheet(FINDINGS_SHEET), result, agency_names, names or FindingNames())
    _properties(workbook, result, agency_names)
    workbook.save(path)


def most_urgent_first(finding: AuditFinding) -> tuple:
    """The rule's urgency, then the most working days late, then the rule and the code."""
    return (registry.by_id(finding.rule).urgency, -(finding.days_late or 0), finding.rule, finding.subject)


def _put(sheet, row: int, column: int, value):
    cell = sheet.cell(row=row, column=column, value=neutralise(cell_text(value)))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever openpyxl guesses from the text
    return cell


def row_height(cells: Iterable[tuple[str, float]], bold: bool = False) -> float:
    """The height of a row whose wrapped cells hold these texts in columns of these widths: the
    lines of its tallest cell. A spreadsheet sizes such rows itself only when it is edited, and
    LibreOffice never: without a height the lines print over each other."""
    lines = max((text_lines(text, width, bold) for text, width in cells), default=1)
    return LINE_HEIGHT * lines + 2


def text_lines(text: str, width: float, bold: bool = False) -> int:
    """How many lines `text` takes, wrapped at words, in a column `width` units wide (a unit is
    the width of a digit), measured with Calibri's advance widths."""
    capacity = float(width)  # a unit is a digit; the cell's padding comes on top of its width
    lines, used = 1, 0.0
    for paragraph_number, paragraph in enumerate(text.split("\n")):
        if paragraph_number:
            lines, used = lines + 1, 0.0
        for word in paragraph.split():
            size = sum(_advance(c) for c in word) * (1.07 if bold else 1)
            if used and used + SPACE + size <= capacity:
                used += SPACE + size
                continue
            if used:
                lines += 1
            extra = max(0, math.ceil(size / capacity) - 1)  # a word longer than the column breaks
            lines, used = lines + extra, size - extra * capacity
    return lines


def _advance(character: str) -> float:
    base = unicodedata.normalize("NFD", character)[0]  # a Vietnamese letter is as wide as its base letter
    if base in ADVANCE:
        return ADVANCE[base]
    if base.isupper():
        return 1.2
    return 1.0


def _print_setup(sheet, title_rows: str) -> None:
    """A4 landscape, fitted to the page's width (as many pages down as it takes), the heading
    rows on every page, the page number in the footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = title_rows
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.2, footer=0.3)
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = "Trang &P/&N"


def _scope(result: AuditResult) -> str:
    if result.period:
        return f"Kỳ báo cáo: từ ngày {result.period[0]:%d/%m/%Y} đến ngày {result.period[1]:%d/%m/%Y}"
    return f"Số liệu tính đến {result.as_of:%d/%m/%Y %H:%M}"


def _agency_name(code: str | None, agency_names: Mapping[str, str]) -> str | None:
    if code is None:
        return None
    return "Toàn tỉnh" if code == PROVINCE else agency_names.get(code, code)


def _findings_sheet(sheet, result: AuditResult, agency_names: Mapping[str, str], names: FindingNames) -> None:
    for column, spec in enumerate(FINDING_COLUMNS, start=1):
        cell = _put(sheet, 1, column, spec.heading)
        cell.font, cell.alignment, cell.border, cell.fill = BOLD, HEADING, BORDER, HEADING_FILL
        sheet.column_dimensions[get_column_letter(column)].width = spec.width
    for row, finding in enumerate(sorted(result.findings, key=most_urgent_first), start=2):
        rule = registry.by_id(finding.rule)
        procedure_name = names.procedures.get(finding.procedure) if finding.procedure else None
        values = (
            row - 1,
            rule.title,
            finding.subject if rule.subject == "dossier" else None,
            _agency_name(finding.agency, agency_names),
            f"{procedure_name} ({finding.procedure})" if procedure_name else finding.procedure,
            names.applicants.get(finding.subject) or None if rule.subject == "dossier" else None,
            finding.due_date,
            finding.days_late,
            STATUS.get(finding.status, str(finding.status)),
            finding.first_seen.date() if finding.first_seen else None,
            finding.detail,
            rule.action,
        )
        for column, (spec, value) in enumerate(zip(FINDING_COLUMNS, values), start=1):
            if value is None:
                continue
            cell = _put(sheet, row, column, value)
            cell.border = BORDER
            cell.alignment = CENTRED if spec.centred else (TEXT if spec.wrap else ONE_LINE)
            if spec.number_format:
                cell.number_format = spec.number_format
        sheet.row_dimensions[row].height = row_height(
            (str(value), spec.width) for spec, value in zip(FINDING_COLUMNS, values) if spec.wrap and value)
    last = len(result.findings) + 1
    for row in range(2, last + 1):  # borders on the empty cells too: the grid prints whole
        for column in range(1, len(FINDING_COLUMNS) + 1):
            sheet.cell(row=row, column=column).border = BORDER
    # Headings in bold wrap sooner than the measure says: a line more, so that none is cut off.
    sheet.row_dimensions[1].height = row_height(((spec.heading, spec.width) for spec in FINDING_COLUMNS),
                                                bold=True) + LINE_HEIGHT
    sheet.freeze_panes = "D2"  # the heading row, and STT, the rule and the code beside every column
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_COLUMNS))}{max(1, last)}"
    _print_setup(sheet, "1:1")


def _form_sheet(sheet, result: AuditResult, agency_names: Mapping[str, str]) -> None:
    sheet.title = FORM_SHEET
    last_column = FORM_FIRST + len(FORM_COLUMNS) - 1
    title = _put(sheet, 1, 1, FORM_TITLE)
    title.font, title.alignment = Font(bold=True, size=13), Alignment(horizontal="center")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_column)
    _put(sheet, 2, 1, _scope(result)).alignment = Alignment(horizontal="center")
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last_column)
    header, sub, numbers = FORM_HEADER, FORM_HEADER + 1, FORM_NUMBERS
    for column, heading in ((1, "STT"), (2, "Đơn vị")):
        _put(sheet, header, column, heading)
        sheet.merge_cells(start_row=header, start_column=column, end_row=sub, end_column=column)
    for offset, (group, heading, _) in enumerate(FORM_COLUMNS):
        column = FORM_FIRST + offset
        _put(sheet, sub, column, heading)
        if offset == 0 or FORM_COLUMNS[offset - 1][0] != group:
            _put(sheet, header, column, group)
            span = sum(1 for g, _, _ in FORM_COLUMNS if g == group)
            sheet.merge_cells(start_row=header, start_column=column, end_row=header, end_column=column + span - 1)
    for column in range(1, last_column + 1):
        _put(sheet, numbers, column, f"({column})")
        for row in (header, sub, numbers):
            cell = sheet.cell(row=row, column=column)
            cell.font, cell.alignment, cell.border, cell.fill = BOLD, HEADING, BORDER, HEADING_FILL
    rate_from = last_column - RATE_COLUMNS + 1
    for index, figure in enumerate(result.figures, start=1):
        row = numbers + index
        province = figure.agency == PROVINCE
        name = _agency_name(figure.agency, agency_names)
        _put(sheet, row, 1, None if province else index)
        _put(sheet, row, 2, name if province or name == figure.agency else f"{name} ({figure.agency})")
        for offset, (_, _, value) in enumerate(FORM_COLUMNS):
            cell = _put(sheet, row, FORM_FIRST + offset, value(figure))
            cell.number_format = RATE_FORMAT if FORM_FIRST + offset >= rate_from else COUNT_FORMAT
        for column in range(1, last_column + 1):
            cell = sheet.cell(row=row, column=column)
            cell.border = BORDER
            cell.alignment = TEXT if column == 2 else CENTRED
            if province:
                cell.font = BOLD
    notes = numbers + len(result.figures) + 2
    _put(sheet, notes, 1, "(3) = (4) + (5) + (6) và (3) = (7) + (11). Ô tỷ lệ để trống: không tính được "
                          "(mẫu số bằng 0, hoặc nguồn dữ liệu chưa cập nhật).")
    for offset, stale in enumerate(result.stale, start=1):
        _put(sheet, notes + offset, 1, stale_sentence(stale, result.as_of))
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 30
    for column in range(FORM_FIRST, last_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = FORM_WIDTH
    sheet.row_dimensions[sub].height = row_height(((heading, FORM_WIDTH) for _, heading, _ in FORM_COLUMNS),
                                                  bold=True) + LINE_HEIGHT
    sheet.freeze_panes = sheet.cell(row=numbers + 1, column=FORM_FIRST).coordinate
    _print_setup(sheet, f"{header}:{numbers}")


def stale_sentence(stale: Mapping, as_of: datetime) -> str:
    """A stale source in words an official can act on: what could not be checked, why, and as of
    when the figures are; the technical error is the operator's (the sync summary, the logs)."""
    skipped = "; ".join(registry.skipped_title(name) for name in stale.get("skipped_rules") or ())
    last = stale.get("last_success")
    since = (f"lần cập nhật thành công gần nhất {datetime.fromisoformat(last):%d/%m/%Y %H:%M}" if last
             else "chưa từng cập nhật thành công")
    what = f"{kind_label(stale['kind'])} «{stale['source']}»"
    checks = f"Chưa kiểm tra được: {skipped}, vì" if skipped else "Lưu ý:"
    return f"{checks} dữ liệu {what} chưa cập nhật ({since}); số liệu trong bảng tính đến {as_of:%d/%m/%Y %H:%M}."


def _properties(workbook: Workbook, result: AuditResult, agency_names: Mapping[str, str]) -> None:
    agencies = {f.agency for f in result.figures} | {f.agency for f in result.findings if f.agency}
    whom = _agency_name(agencies.pop(), agency_names) if len(agencies) == 1 else "Toàn tỉnh"
    properties = workbook.properties
    properties.creator = properties.lastModifiedBy = CREATOR
    properties.title = f"Vi phạm và tình hình giải quyết thủ tục hành chính — {whom}"
    properties.subject = _scope(result)
    properties.description = ("Lập tự động bởi motcua-monitor, hệ thống giám sát việc giải quyết thủ tục "
                              "hành chính theo cơ chế một cửa.")
    properties.keywords = "một cửa; thủ tục hành chính; vi phạm"
    properties.language = "vi-VN"
