"""The counters' tracking books (kind `tracking_book`): .xlsx and .csv files matching a glob.

Each file has title rows, then a header row (the first with a cell `Mã hồ sơ`), then one row per
dossier; columns are found by their header text. A file is known by its path relative to the
glob's root (the folder before the first wildcard), so `2025/so.csv` and `2026/so.csv` are two
books. A file already read and unchanged is not read again; a changed file is read again and
its rows replace those it gave before (a code corrected by hand must not leave the wrong one
behind), and the rows of a file gone from the glob are removed. A file that cannot be read, for
whatever reason, fails the source once the other files are read.
"""
from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import openpyxl

from connectors import validation as check
from connectors.base import (Batch, Connector, Prune, Rejection, Rows, SourceError, SyncStart, agency_code_in,
                             glob_root)
from connectors.loader import read_book_files
from connectors.parsing import normalize_text, parse_vn_datetime
from monitor.codes import code_key, folded
from monitor.kinds.tracking_book import TrackingBookSettings
from monitor.models import BookFile, BookRow

log = logging.getLogger(__name__)

SUFFIXES = (".xlsx", ".csv")
CODE = "mã hồ sơ"
PROCEDURE = "tên thủ tục hành chính"
AGENCY = "cơ quan chủ trì giải quyết"
RECEIVED = "ngày, giờ nhận hồ sơ"
APPOINTMENT = "hẹn trả kết quả"
# No hand-kept book has a cell this long (Excel itself stops at 32,767 characters): a longer
# one is a damaged or hostile file, and the CSV reader cannot tell where the rows after it begin.
CELL_LIMIT = 1024 * 1024  # characters


class UnreadableFile(Exception):
    """A file that cannot be opened, or holds no tracking book; `row` where the reading stopped."""

    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.row = row


@dataclass(frozen=True)
class FileState:
    """What identifies a file's content: unchanged size and mtime, or failing those, its hash."""
    name: str  # the path relative to the glob's root
    size: int
    mtime: float
    sha256: str


class TrackingBookConnector(Connector):

    source: TrackingBookSettings

    def __init__(self, source: TrackingBookSettings, synced_at: datetime, known_files: dict[str, BookFile]):
        super().__init__(source, synced_at)
        self.known_files = known_files

    @classmethod
    def for_run(cls, source: TrackingBookSettings, start: SyncStart) -> TrackingBookConnector:
        """Knows the files the last runs read, so that an unchanged file is not read again."""
        return cls(source, start.started_at, read_book_files(start.engine, source.name))

    def batches(self) -> Iterator[Batch]:
        files = self._matching_files()
        failures = []
        for number, (name, path) in enumerate(files.items(), start=1):
            try:
                batch = self._read_if_changed(name, path)
            except UnreadableFile as exc:
                failures.append(f"{name}: {exc}" if exc.row is None else f"{name}:{exc.row}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001  one file's fault never stops the files after it
                # The type only: an exception's text may quote the file's contents.
                failures.append(f"{name}: unexpected {type(exc).__name__} while reading it")
                continue
            if batch is not None:
                batch.position = (number, len(files))
                yield batch
        yield self._prune_gone(files)
        if failures:
            raise SourceError(f"{len(failures)} of {len(files)} files could not be read: " + "; ".join(failures))

    def _matching_files(self) -> dict[str, Path]:
        """The books the glob matches, by their path relative to its root, sorted."""
        root = glob_root(self.source.path)
        matches = sorted(Path(p) for p in glob.glob(self.source.path, recursive=True))
        # Excel's lock files (~$name.xlsx) sit next to every open workbook.
        paths = [p for p in matches if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("~$")]
        for ignored in sorted(set(matches) - set(paths)):
            if ignored.is_file():
                log.info("%s: %s is not a tracking book (.xlsx or .csv), skipped", self.source.name, ignored)
        if not paths:
            raise SourceError(f"no .xlsx or .csv file matches {self.source.path}")
        return {path.relative_to(root).as_posix(): path for path in paths}

    def _read_if_changed(self, name: str, path: Path) -> Batch | None:
        try:
            stat = path.stat()
            known = self.known_files.get(name)
            if known is not None and (known.size, known.mtime) == (stat.st_size, stat.st_mtime):
                return None
            if stat.st_size > self.source.max_file_mb * 1024 * 1024:
                raise UnreadableFile(f"{stat.st_size / 1024 / 1024:,.1f} MB, over the {self.source.max_file_mb:g} MB "
                                     "a book may hold (max_file_mb)")
            content = path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(exc.strerror or str(exc)) from None
        state = FileState(name, len(content), stat.st_mtime, hashlib.sha256(content).hexdigest())
        if known is not None and (known.size, known.sha256) == (state.size, state.sha256):
            # Touched or copied, same content: only the new mtime is worth saving.
            return self._batch(state, [], [], rows_in_file=known.rows, replace=False)
        rows, rejected = self._read(name, path.suffix.lower(), content)
        return self._batch(state, rows, rejected, rows_in_file=len(rows), replace=True)

    def _batch(self, state: FileState, rows: list[dict], rejected: list[Rejection], rows_in_file: int,
               replace: bool) -> Batch:
        book_file = {"source": self.source.name, "path": state.name, "size": state.size, "mtime": state.mtime,
                     "sha256": state.sha256, "rows": rows_in_file, "read_at": self.synced_at}
        return Batch(
            records=Rows(BookRow, ("source", "file", "code_key"), rows),
            replaces={"source": self.source.name, "file": state.name} if replace else None,
            bookkeeping=[Rows(BookFile, ("source", "path"), [book_file])],
            rejected=rejected,
        )

    def _prune_gone(self, files: dict[str, Path]) -> Batch:
        """The rows of the files the glob no longer matches stop counting. A file that matched
        but could not be read keeps the rows it gave before."""
        listed = frozenset(files)
        gone = sorted(set(self.known_files) - listed)
        return Batch(
            records=Rows(BookRow, ("source", "file", "code_key"), []),
            prunes=[Prune(BookRow, {"source": self.source.name}, "file", listed),
                    Prune(BookFile, {"source": self.source.name}, "path", listed)],
            notices=[f"{name}: gone from the folder, its {self.known_files[name].rows:,} rows no longer count"
                     for name in gone],
        )

    def _read(self, name: str, suffix: str, content: bytes) -> tuple[list[dict], list[Rejection]]:
        lines = _xlsx_lines(content) if suffix == ".xlsx" else _csv_lines(content)
        rows, rejected = [], []
        columns = None
        for number, cells in lines:
            if any(isinstance(cell, str) and len(cell) > CELL_LIMIT for cell in cells):
                raise UnreadableFile(f"a cell over {CELL_LIMIT:,} characters", number)
            if columns is None:
                columns = _header(cells)
                continue
            code = _text(_cell(cells, columns[CODE]))
            if not code:
                continue  # blank lines, signature lines
            try:
                rows.append(self._row(code, cells, columns, name, number))
            except ValueError as exc:
                rejected.append(Rejection(f"{name}:{number}", str(exc),
                                          check.raw(json.dumps([_text(cell) for cell in cells], ensure_ascii=False))))
        if columns is None:
            raise UnreadableFile("no header row with a cell 'Mã hồ sơ'")
        return rows, rejected

    def _row(self, written_code: str, cells: list, columns: dict[str, int], file_name: str, number: int) -> dict:
        """The row's values, checked (connectors.validation); a ValueError rejects the row."""
        code = check.code(written_code, "Mã hồ sơ", BookRow.code)
        received = _cell(cells, columns[RECEIVED])
        if _text(received) == "":
            raise ValueError("no receipt date (Ngày, giờ nhận hồ sơ)")
        try:
            received_at, has_time = _date_time(received)
        except ValueError as exc:
            raise ValueError(f"unreadable receipt date (Ngày, giờ nhận hồ sơ): {exc}") from None
        check.moment(received_at, "Ngày, giờ nhận hồ sơ", self.synced_at)
        appointment = _cell(cells, columns.get(APPOINTMENT))
        try:
            appointment_date = _date_time(appointment)[0].date() if _text(appointment) else None
            check.moment(appointment_date and datetime.combine(appointment_date, time(0, 0)), "Hẹn trả kết quả",
                         self.synced_at)
        except ValueError:
            appointment_date = None  # informative only: an unreadable or impossible one does not reject the row
        return {
            "source": self.source.name,
            "code": code,
            "code_key": check.fitting(code_key(code), "Mã hồ sơ", BookRow.code_key),
            "agency_code": check.code(agency_code_in(_text(_cell(cells, columns.get(AGENCY)))),
                                      "Cơ quan chủ trì giải quyết", BookRow.agency_code, required=False),
            "procedure_name": check.free_text(_text(_cell(cells, columns.get(PROCEDURE))), "Tên thủ tục hành chính",
                                              BookRow.procedure_name),
            "received_at": received_at,
            "received_has_time": has_time,
            "appointment_date": appointment_date,
            "file": file_name,
            "row_number": number,
            "synced_at": self.synced_at,
        }


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, tuple]]:
    """(row number as Excel shows it, cell values) of the first sheet."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  openpyxl raises many kinds for a file that is not a workbook
        raise UnreadableFile(f"not a readable .xlsx file ({type(exc).__name__}: {exc})") from None
    try:
        rows = list(workbook.worksheets[0].iter_rows())
    except Exception as exc:  # noqa: BLE001  a damaged sheet fails like a file that does not open
        raise UnreadableFile(f"a damaged .xlsx file ({type(exc).__name__}: {exc})") from None
    finally:
        workbook.close()
    for cells in rows:
        row_number = next((cell.row for cell in cells if hasattr(cell, "row")), None)
        if row_number is not None:  # a row with no cell at all is blank
            yield row_number, tuple(cell.value for cell in cells)


def _csv_lines(content: bytes) -> Iterator[tuple[int, list]]:
    """(line number where the row starts, cells); UTF-8 with or without a byte-order mark."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    # csv's limit is process-wide; one over CELL_LIMIT (the reader's own check) is a damaged file.
    csv.field_size_limit(CELL_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # Past a cell over the limit the reader has lost its place: the file stops here.
            too_long = "field limit" in str(exc)
            raise UnreadableFile(f"a cell over {CELL_LIMIT:,} characters" if too_long else f"unreadable CSV ({exc})",
                                 line) from None
        yield line, cells
        line = reader.line_num + 1  # a quoted cell can span lines: the next row starts after them


def _header(cells) -> dict[str, int] | None:
    """Column positions by header text, when this is the header row."""
    names = {folded(_text(cell)): index for index, cell in reversed(list(enumerate(cells))) if _text(cell)}
    if CODE not in names:
        return None
    if RECEIVED not in names:
        raise UnreadableFile(f"the header row has no column '{RECEIVED}'")
    return names


def _cell(cells, index: int | None):
    return cells[index] if index is not None and index < len(cells) else None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize_text(str(value))


def _date_time(value) -> tuple[datetime, bool]:
    """A receipt time: a real Excel date cell, or `dd/mm/yyyy HH:MM` / `dd/mm/yyyy` text."""
    if isinstance(value, datetime):
        # An Excel date cell without a time holds midnight: the book gave no time.
        return value.replace(microsecond=0), value.time() != time(0, 0)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0)), False
    if isinstance(value, str):
        return parse_vn_datetime(value)
    raise ValueError("a number, not a date")
