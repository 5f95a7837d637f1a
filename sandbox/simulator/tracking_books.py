"""The counters' tracking books (sổ theo dõi hồ sơ), one file per counter per month, written
as the counters keep them (sources.md, section 3).

Counters alternate between Excel (.xlsx) and CSV books. In every book the first row has the
agency's name before its code, the second a code typed by hand (a leading space, lower case)
and the third a receipt date without its time. Excel books hold real date-time cells (but the
hand-typed row has its date as text); CSV books are UTF-8, every other one with a byte-order
mark. Each book starts with title rows and ends with a blank row and a signature row.
"""

import calendar
import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from sandbox.simulator.dossier import Dossier
from sandbox.simulator.province import Province

HEADERS = ("STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ", "Tên cá nhân, tổ chức",
           "Cơ quan chủ trì giải quyết", "Ngày, giờ nhận hồ sơ", "Hẹn trả kết quả", "Ghi chú")
HEADER_ROW = 5  # after the three title rows and a blank row; rows count from 1
CODE_COLUMN, RECEIVED_COLUMN = 2, 7  # columns count from 1, as a spreadsheet counts
SIGNATURE = "Người lập sổ (ký, ghi rõ họ tên)"
EXCEL_DATE_TIME = "dd/mm/yyyy hh:mm"
TEXT_DATE_TIME, TEXT_DATE = "%d/%m/%Y %H:%M", "%d/%m/%Y"
IMPOSSIBLE_ROW_SEQUENCE = "9999"


@dataclass(frozen=True)
class BookRow:
    code: str  # as typed
    procedure_name: str
    applicant: str
    agency: str  # as written: a code alone, or a name with the code in brackets
    received: datetime | str  # a date-time (a date-time cell in Excel), or text as typed
    appointment: str = ""  # dd/mm/yyyy
    note: str = ""


def write_tracking_books(province: Province, folder: Path, *,
                         impossible_date: bool = False) -> list[Path]:
    """Write the books of every counter for every month it received dossiers; return the
    files, sorted. With `impossible_date`, each book gets one more row, dated a day that does
    not exist (like 31/09/2025), with a made-up code ending in -9999."""
    folder.mkdir(parents=True, exist_ok=True)
    books: dict[tuple[str, int, int], list[Dossier]] = defaultdict(list)
    for dossier in province.dossiers:
        if dossier.in_book:
            books[dossier.agency, dossier.received.year, dossier.received.month].append(dossier)
    counters = sorted({agency for agency, _, _ in books})
    paths = []
    for index, (agency, year, month) in enumerate(sorted(books)):
        rows = [_book_row(province, dossier, position) for position, dossier
                in enumerate(sorted(books[agency, year, month], key=lambda d: (d.received, d.code)))]
        if impossible_date:
            rows.append(_impossible_row(agency, year, month))
        titles = ("SỔ THEO DÕI HỒ SƠ", f"Bộ phận Một cửa - {province.agency(agency).name}",
                  f"Tháng {month:02d}/{year}")
        name = f"so-theo-doi-{agency}-{year}-{month:02d}"
        if counters.index(agency) % 2 == 0:
            paths.append(_write_excel(folder / f"{name}.xlsx", titles, rows))
        else:
            paths.append(_write_csv(folder / f"{name}.csv", titles, rows, bom=index % 2 == 0))
    return sorted(paths)


def append_rows(path: Path, rows: Iterable[BookRow]) -> None:
    """Add rows at the end of a book written by `write_tracking_books`, above its signature,
    as a counter officer does during the month."""
    rows = list(rows)
    if path.suffix == ".xlsx":
        workbook = load_workbook(path)
        sheet = workbook.active
        last = max(cell.row for cell in sheet[get_column_letter(CODE_COLUMN)] if cell.value)
        number = 1 if last == HEADER_ROW else sheet.cell(last, 1).value + 1
        sheet.insert_rows(last + 1, len(rows))
        for offset, row in enumerate(rows):
            for column, value in enumerate(_cells(number + offset, row), start=1):
                _set(sheet.cell(last + 1 + offset, column), value)
        workbook.save(path)
        return
    bom = path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file))
    last = max(i for i, line in enumerate(lines) if len(line) >= CODE_COLUMN and line[CODE_COLUMN - 1])
    number = 1 if last == HEADER_ROW - 1 else int(lines[last][0]) + 1
    new_lines = [_csv_cells(number + offset, row) for offset, row in enumerate(rows)]
    _save_csv(path, lines[:last + 1] + new_lines + lines[last + 1:], bom)


def _book_row(province: Province, dossier: Dossier, position: int) -> BookRow:
    procedure = province.procedure(dossier.procedure_code)
    agency = province.agency(dossier.agency)
    row = BookRow(
        code=dossier.code,
        procedure_name=procedure.name if procedure else dossier.summary,
        applicant=dossier.applicant,
        agency=f"{agency.name} ({agency.code})" if position == 0 else agency.code,
        received=dossier.received,
        appointment=f"{dossier.appointment:{TEXT_DATE}}" if dossier.appointment else "",
        note="" if dossier.in_onestop else "Chưa nhập phần mềm",
    )
    if position == 1:
        return replace(row, code=" " + row.code.lower(), note="Mã gõ tay",
                       received=f"{dossier.received:{TEXT_DATE_TIME}}")
    if position == 2:
        return replace(row, received=f"{dossier.received:{TEXT_DATE}}", appointment="",
                       note="Không ghi giờ")
    return row


def _impossible_row(agency: str, year: int, month: int) -> BookRow:
    """A row dated a day that does not exist: the 31st of a short month, else 30 February."""
    day, bad_month = (31, month) if calendar.monthrange(year, month)[1] < 31 else (30, 2)
    return BookRow(f"{agency}-{year % 100:02d}{month:02d}01-{IMPOSSIBLE_ROW_SEQUENCE}",
                   "Đăng ký khai sinh", "Phạm Văn Tài", agency,
                   f"{day:02d}/{bad_month:02d}/{year} 08:05")


def _cells(number: int, row: BookRow) -> list:
    return [number, row.code, row.procedure_name, 1, row.applicant, row.agency, row.received,
            row.appointment, row.note]


def _csv_cells(number: int, row: BookRow) -> list:
    cells = _cells(number, row)
    if isinstance(row.received, datetime):
        cells[RECEIVED_COLUMN - 1] = f"{row.received:{TEXT_DATE_TIME}}"
    return [str(cell) for cell in cells]


def _write_excel(path: Path, titles: tuple[str, ...], rows: list[BookRow]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "So theo doi"
    for row_number, title in enumerate(titles, start=1):
        sheet.cell(row_number, 1, title)
    for column, header in enumerate(HEADERS, start=1):
        sheet.cell(HEADER_ROW, column, header)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(_cells(number, row), start=1):
            _set(sheet.cell(HEADER_ROW + number, column), value)
    sheet.cell(HEADER_ROW + len(rows) + 2, 3, SIGNATURE)  # below a blank row
    workbook.save(path)
    return path


def _write_csv(path: Path, titles: tuple[str, ...], rows: list[BookRow], bom: bool) -> Path:
    lines = [[title] for title in titles] + [[], list(HEADERS)]
    lines += [_csv_cells(number, row) for number, row in enumerate(rows, start=1)]
    lines += [[], ["", "", SIGNATURE] + [""] * (len(HEADERS) - 3)]
    _save_csv(path, lines, bom)
    return path


def _save_csv(path: Path, lines: list[list[str]], bom: bool) -> None:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as file:
        csv.writer(file, lineterminator="\n").writerows(lines)


def _set(cell, value) -> None:
    """Write a value into an Excel cell; a date-time shows as Excel shows it."""
    cell.value = value if value != "" else None
    if isinstance(value, datetime):
        cell.number_format = EXCEL_DATE_TIME

