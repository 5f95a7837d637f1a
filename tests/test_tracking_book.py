"""Tracking books: .xlsx and .csv files read into book_row, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import sqlalchemy
from sqlmodel import Session, select

from connectors.sync import sync_sources
from monitor.models import BookRow
from sync_support import NOW, clock, rejected_input, store_content, sync_runs, write_settings

SAMPLES = Path("/work/shared/spec/samples")
HEADER = ["STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ", "Tên cá nhân, tổ chức",
          "Cơ quan chủ trì giải quyết", "Ngày, giờ nhận hồ sơ", "Hẹn trả kết quả", "Ghi chú"]
HEADER_LINE = ",".join(f'"{name}"' for name in HEADER)
TITLE = [["SỔ THEO DÕI HỒ SƠ"], ["Bộ phận Một cửa - Sở Tư pháp"], ["Tháng 03/2026"], []]


def book_settings(tmp_path: Path, database_url: str, *folders: str):
    sources = [{"name": folder, "kind": "tracking_book", "path": f"{folder}/*"} for folder in folders]
    for folder in folders:
        (tmp_path / folder).mkdir(exist_ok=True)
    return write_settings(tmp_path, database_url, sources)


def book_rows(engine, source: str | None = None) -> dict[str, dict]:
    query = select(BookRow).where(BookRow.source == source) if source else select(BookRow)
    with Session(engine) as session:
        return {row.code_key: row.model_dump() for row in session.exec(query)}


def write_xlsx(path: Path, rows: list[list]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                cell = sheet.cell(row=number, column=column, value=value)
                if isinstance(value, datetime):
                    cell.number_format = "dd/mm/yyyy hh:mm"
    workbook.save(path)


def write_csv(path: Path, lines: list[str], bom: bool = False) -> None:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + "\r\n".join(lines).encode("utf-8") + b"\r\n")


def test_the_sample_books(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "so-theo-doi")
    for sample in SAMPLES.glob("so-theo-doi-*"):
        shutil.copy(sample, tmp_path / "so-theo-doi" / sample.name)

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    rows = book_rows(engine)
    assert sorted(rows) == ["000.00.16.H59-250903-0007", "000.00.16.H59-250904-0002", "000.00.16.H59-250905-0001",
                            "000.29.31.H59-250905-0031", "000.29.31.H59-250905-0032"]
    typed_by_hand = rows["000.00.16.H59-250904-0002"]
    assert typed_by_hand["code"] == "000.00.16.h59-250904-0002"
    assert typed_by_hand["received_at"] == datetime(2025, 9, 4, 14, 20) and typed_by_hand["received_has_time"]
    without_time = rows["000.00.16.H59-250905-0001"]
    assert without_time["received_at"] == datetime(2025, 9, 5) and not without_time["received_has_time"]
    assert without_time["row_number"] == 8
    excel_date = rows["000.00.16.H59-250903-0007"]
    assert excel_date["received_at"] == datetime(2025, 9, 3, 8, 5) and excel_date["received_has_time"]
    assert excel_date["agency_code"] == "000.00.16.H59"
    assert excel_date["appointment_date"] == date(2025, 9, 17)
    assert rows["000.29.31.H59-250905-0031"]["agency_code"] == "000.29.31.H59"
    [(source, location, reason)] = rejected_input(engine)
    assert location == "so-theo-doi-000.29.31.H59-2025-09.csv:8"
    assert reason == "unreadable receipt date (Ngày, giờ nhận hồ sơ): impossible date: day is out of range for month"
    assert (outcome.counts.read, outcome.counts.inserted, outcome.counts.rejected) == (5, 5, 1)


def test_title_rows_blank_rows_odd_columns_bad_date_and_signature(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    # Columns in another order with one the monitor does not use; the header wraps a line.
    header = ["Ghi chú", "Ngày, giờ\nnhận hồ sơ", "Mã hồ sơ", "Cơ quan chủ trì giải quyết", "Hẹn trả kết quả"]
    write_xlsx(tmp_path / "books" / "2026-03.xlsx", TITLE + [header] + [
        ["", datetime(2026, 3, 2, 9, 15), "000.00.31.H59-260302-0001", "Sở Tư pháp (000.00.31.H59)", "09/03/2026"],
        [None, None, None, None, None],
        ["", "03/03/2026 10:00", "  000.00.31.h59-260303-0002 ", "000.00.31.H59", "bad"],
        ["", "32/03/2026 10:00", "000.00.31.H59-260303-0003", "000.00.31.H59", None],
        ["", 46000, "000.00.31.H59-260303-0004", "000.00.31.H59", None],
        ["", None, "000.00.31.H59-260303-0005", "000.00.31.H59", None],
        ["", datetime(2026, 3, 4), "000.00.31.H59-260304-0001", "", None],
        [],
        ["Người lập sổ (ký, ghi rõ họ tên)", None, None, None, None],
    ])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    rows = book_rows(engine)
    assert sorted(rows) == ["000.00.31.H59-260302-0001", "000.00.31.H59-260303-0002", "000.00.31.H59-260304-0001"]
    assert rows["000.00.31.H59-260302-0001"]["row_number"] == 6
    assert rows["000.00.31.H59-260302-0001"]["appointment_date"] == date(2026, 3, 9)
    assert rows["000.00.31.H59-260303-0002"]["row_number"] == 8
    assert rows["000.00.31.H59-260303-0002"]["code"] == "000.00.31.h59-260303-0002"
    assert rows["000.00.31.H59-260303-0002"]["appointment_date"] is None  # informative only
    assert rows["000.00.31.H59-260304-0001"]["received_has_time"] is False
    assert rows["000.00.31.H59-260304-0001"]["agency_code"] is None
    assert [location for _, location, _ in rejected_input(engine)] == ["2026-03.xlsx:10", "2026-03.xlsx:11", "2026-03.xlsx:9"]


def test_csv_with_and_without_byte_order_mark(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "with-bom", "without-bom")
    lines = ["SỔ THEO DÕI HỒ SƠ", "", HEADER_LINE,
             '1,000.29.31.H59-260302-0001,"Chứng thực chữ ký",1,Lê Thị Mai,000.29.31.H59,02/03/2026 08:30,02/03/2026,',
             ",,,,,,,,",
             '2,000.29.31.H59-260302-0002,"Đăng ký khai sinh",1,"Trần Văn\nLộc",000.29.31.H59,02/03/2026,,',
             '3,000.29.31.H59-260302-0003,"Đăng ký khai sinh",1,Phạm Tài,000.29.31.H59,hôm qua,,']
    write_csv(tmp_path / "with-bom" / "book.csv", lines, bom=True)
    write_csv(tmp_path / "without-bom" / "book.csv", lines, bom=False)

    outcomes = sync_sources(engine, settings, clock)

    assert [o.status for o in outcomes] == ["ok", "ok"]
    with_bom, without_bom = book_rows(engine, "with-bom"), book_rows(engine, "without-bom")
    assert sorted(with_bom) == ["000.29.31.H59-260302-0001", "000.29.31.H59-260302-0002"]
    for rows in (with_bom, without_bom):
        assert rows["000.29.31.H59-260302-0001"]["row_number"] == 4
        assert rows["000.29.31.H59-260302-0001"]["received_at"] == datetime(2026, 3, 2, 8, 30)
        assert rows["000.29.31.H59-260302-0002"]["received_has_time"] is False
    # The quoted name spans two lines: the next row starts on line 8.
    assert sorted(location for _, location, _ in rejected_input(engine)) == ["book.csv:8", "book.csv:8"]


def test_a_file_read_before_is_read_again_only_when_it_changed(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    book = tmp_path / "books" / "book.csv"
    lines = [HEADER_LINE, "1,000.29.31.H59-260302-0001,,1,,000.29.31.H59,02/03/2026 08:30,,"]
    write_csv(book, lines)
    [first] = sync_sources(engine, settings, clock)
    before = store_content(engine)

    [unchanged] = sync_sources(engine, settings, clock)
    assert unchanged.status == "ok"
    assert (unchanged.counts.read, unchanged.counts.inserted, unchanged.counts.updated) == (0, 0, 0)
    assert store_content(engine) == before

    # Touched, same content: not parsed again, the new mtime is remembered.
    os.utime(book, (book.stat().st_atime, book.stat().st_mtime + 60))
    [touched] = sync_sources(engine, settings, clock)
    assert touched.counts.read == 0
    assert store_content(engine) == before

    write_csv(book, lines + ["2,000.29.31.H59-260302-0002,,1,,000.29.31.H59,02/03/2026 09:00,,"])
    [grown] = sync_sources(engine, settings, clock)
    assert (first.counts.inserted, grown.counts.read, grown.counts.inserted, grown.counts.updated) == (1, 2, 1, 0)
    assert sorted(book_rows(engine)) == ["000.29.31.H59-260302-0001", "000.29.31.H59-260302-0002"]
    with engine.connect() as connection:
        files = connection.execute(sqlalchemy.text("select path, size, rows from book_file")).all()
    assert files == [("book.csv", book.stat().st_size, 2)]  # the path relative to the glob's root


def test_a_code_corrected_by_hand_replaces_the_wrong_one(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    book = tmp_path / "books" / "book.csv"
    write_csv(book, [HEADER_LINE, "1,000.29.31.H59-260302-001,,1,,000.29.31.H59,02/03/2026 08:30,,"])
    sync_sources(engine, settings, clock)
    write_csv(book, [HEADER_LINE, "1,000.29.31.H59-260302-0001,,1,,000.29.31.H59,02/03/2026 08:30,,"])

    sync_sources(engine, settings, clock)

    assert sorted(book_rows(engine)) == ["000.29.31.H59-260302-0001"]


def test_a_file_that_cannot_be_opened_fails_the_source_and_the_others_are_read(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    (tmp_path / "books" / "a-broken.xlsx").write_bytes(b"this is not a workbook")
    (tmp_path / "books" / "b-utf16.csv").write_bytes(HEADER_LINE.encode("utf-16"))
    (tmp_path / "books" / "c-no-header.csv").write_text("SỔ THEO DÕI HỒ SƠ\n1,2,3\n", encoding="utf-8")
    (tmp_path / "books" / "notes.txt").write_text("not a book", encoding="utf-8")
    write_csv(tmp_path / "books" / "d-good.csv",
              [HEADER_LINE, "1,000.29.31.H59-260302-0001,,1,,000.29.31.H59,02/03/2026 08:30,,"])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "failed"
    assert "3 of 4 files could not be read" in outcome.error
    for name in ("a-broken.xlsx", "b-utf16.csv", "c-no-header.csv"):
        assert name in outcome.error
    assert sorted(book_rows(engine)) == ["000.29.31.H59-260302-0001"]
    [run] = sync_runs(engine)
    assert (run["status"], run["error"], run["records_read"]) == ("failed", outcome.error, 1)
    # The unreadable files are tried again on the next run: they were not recorded as read.
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("select count(*) from book_file")).scalar() == 1


def test_a_glob_that_matches_no_file_fails_the_source(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "empty")

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "failed"
    assert "no .xlsx or .csv file matches" in outcome.error and str(tmp_path / "empty") in outcome.error
    assert sync_runs(engine)[0]["status"] == "failed"


def test_each_tracking_book_source_keeps_its_own_rows(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "counter-a", "counter-b")
    row = "1,000.00.31.H59-260302-0001,,1,,000.00.31.H59,02/03/2026 08:30,,"
    write_csv(tmp_path / "counter-a" / "book.csv", [HEADER_LINE, row])
    write_csv(tmp_path / "counter-b" / "book.csv", [HEADER_LINE, row.replace("08:30", "09:30")])

    outcomes = sync_sources(engine, settings, clock)

    assert [(o.source, o.status) for o in outcomes] == [("counter-a", "ok"), ("counter-b", "ok")]
    assert book_rows(engine, "counter-a")["000.00.31.H59-260302-0001"]["received_at"] == datetime(2026, 3, 2, 8, 30)
    assert book_rows(engine, "counter-b")["000.00.31.H59-260302-0001"]["received_at"] == datetime(2026, 3, 2, 9, 30)


def good_line(code: str, received: str = "02/03/2026 08:30", note: str = "") -> str:
    return f'1,{code},,1,,000.29.31.H59,{received},,"{note}"'


def recursive_settings(tmp_path: Path, database_url: str, **keys):
    (tmp_path / "books").mkdir()
    return write_settings(tmp_path, database_url,
                          [{"name": "books", "kind": "tracking_book", "path": "books/**/*.csv", **keys}])


def replace_in_zip(path: Path, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, data.replace(old, new))


def book_files(engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return sorted(map(tuple, connection.execute(sqlalchemy.text("select path, rows from book_file")).all()))


def stored_rows(engine) -> list[tuple[str, str, int]]:
    with Session(engine) as session:
        return sorted((row.file, row.code_key, row.row_number) for row in session.exec(select(BookRow)))


def test_two_files_of_the_same_name_in_two_folders_are_two_books(tmp_path, engine, database_url):
    settings = recursive_settings(tmp_path, database_url)
    for year in ("2025", "2026"):
        (tmp_path / "books" / year).mkdir()
    write_csv(tmp_path / "books" / "2025" / "so.csv", [HEADER_LINE, good_line("A-1"), good_line("A-2", "32/12/2025")])
    write_csv(tmp_path / "books" / "2026" / "so.csv", [HEADER_LINE, good_line("B-1")])

    [first] = sync_sources(engine, settings, clock)

    assert first.status == "ok", first.error
    assert stored_rows(engine) == [("2025/so.csv", "A-1", 2), ("2026/so.csv", "B-1", 2)]
    assert book_files(engine) == [("2025/so.csv", 1), ("2026/so.csv", 1)]
    assert [r.location for r in first.rejected] == ["2025/so.csv:3"]

    # Re-reading one of them replaces exactly the rows it gave before.
    write_csv(tmp_path / "books" / "2026" / "so.csv", [HEADER_LINE, good_line("B-2")])
    [second] = sync_sources(engine, settings, clock)
    assert second.status == "ok", second.error
    assert stored_rows(engine) == [("2025/so.csv", "A-1", 2), ("2026/so.csv", "B-2", 2)]


def test_a_code_stays_while_any_file_lists_it(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    write_csv(tmp_path / "books" / "2026-02.csv", [HEADER_LINE, good_line("X-1", "27/02/2026 16:00")])
    write_csv(tmp_path / "books" / "2026-03.csv", [HEADER_LINE, good_line("Y-1"), good_line("X-1")])
    sync_sources(engine, settings, clock)
    assert stored_rows(engine) == [("2026-02.csv", "X-1", 2), ("2026-03.csv", "X-1", 3), ("2026-03.csv", "Y-1", 2)]

    write_csv(tmp_path / "books" / "2026-03.csv", [HEADER_LINE, good_line("Y-1")])  # X-1 moved to February only
    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    assert stored_rows(engine) == [("2026-02.csv", "X-1", 2), ("2026-03.csv", "Y-1", 2)]


def test_a_cell_over_the_limit_fails_its_file_and_the_other_files_are_read(tmp_path, engine, database_url):
    from connectors.tracking_book import CELL_LIMIT
    settings = book_settings(tmp_path, database_url, "books")
    books = tmp_path / "books"
    (books / "a-broken.xlsx").write_bytes(b"this is not a workbook")
    write_csv(books / "b-rejects.csv", [HEADER_LINE, good_line("B-1"), good_line("B-2", "31/02/2026")])
    write_csv(books / "c-at-the-limit.csv", [HEADER_LINE, good_line("C-1", note="x" * CELL_LIMIT)])
    write_csv(books / "d-huge.csv", [HEADER_LINE, good_line("D-1"), good_line("D-2", note="x" * 10_000_000),
                                     good_line("D-3")])
    write_csv(books / "e-good.csv", [HEADER_LINE, good_line("E-1")])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "failed"
    assert outcome.error.startswith("2 of 5 files could not be read: a-broken.xlsx: not a readable .xlsx file")
    assert outcome.error.endswith("; d-huge.csv:3: a cell over 1,048,576 characters")
    # The files after it are read; the failed file gives nothing and is read again next time.
    assert stored_rows(engine) == [("b-rejects.csv", "B-1", 2), ("c-at-the-limit.csv", "C-1", 2),
                                   ("e-good.csv", "E-1", 2)]
    assert [path for path, _ in book_files(engine)] == ["b-rejects.csv", "c-at-the-limit.csv", "e-good.csv"]
    # The earlier file's rejection is kept, in the store and in the summary.
    assert [location for _, location, _ in rejected_input(engine)] == ["b-rejects.csv:3"]
    assert [r.location for r in outcome.rejected] == ["b-rejects.csv:3"]
    [run] = sync_runs(engine)
    assert (run["status"], run["error"], run["records_rejected"]) == ("failed", outcome.error, 1)


def test_an_unreadable_xlsx_between_good_files(tmp_path, engine, database_url):
    from connectors.tracking_book import CELL_LIMIT
    settings = book_settings(tmp_path, database_url, "books")
    books = tmp_path / "books"
    write_xlsx(books / "a-good.xlsx", [HEADER, [1, "A-1", None, 1, None, "000.29.31.H59", datetime(2026, 3, 2, 8)]])
    write_xlsx(books / "b-huge-cell.xlsx", TITLE + [HEADER, [1, "B-1", "LONG", 1, None, "000.29.31.H59",
                                                              datetime(2026, 3, 2, 8)]])
    # openpyxl cuts a cell it writes at Excel's 32,767 characters; other tools need not.
    replace_in_zip(books / "b-huge-cell.xlsx", b"LONG", b"x" * (CELL_LIMIT + 1))
    (books / "c-cut-short.xlsx").write_bytes((books / "a-good.xlsx").read_bytes()[:300])
    write_csv(books / "d-good.csv", [HEADER_LINE, good_line("D-1", "31/02/2026"), good_line("D-2")])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "failed"
    assert "2 of 4 files could not be read: b-huge-cell.xlsx:6: a cell over 1,048,576 characters; " \
           "c-cut-short.xlsx: not a readable .xlsx file" in outcome.error
    assert stored_rows(engine) == [("a-good.xlsx", "A-1", 2), ("d-good.csv", "D-2", 3)]
    assert [r.location for r in outcome.rejected] == ["d-good.csv:2"]


def test_a_file_over_max_file_mb_fails_and_names_the_file(tmp_path, engine, database_url):
    settings = recursive_settings(tmp_path, database_url, max_file_mb=0.001)  # 1,048 bytes
    (tmp_path / "books" / "2026").mkdir()
    write_csv(tmp_path / "books" / "2026" / "big.csv", [HEADER_LINE, good_line("B-1", note="x" * 900)])
    write_csv(tmp_path / "books" / "small.csv", [HEADER_LINE, good_line("S-1", note="x" * 700)])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.error == ("1 of 2 files could not be read: 2026/big.csv: 0.0 MB, over the 0.001 MB "
                             "a book may hold (max_file_mb)")
    assert stored_rows(engine) == [("small.csv", "S-1", 2)]


def test_the_rows_of_a_deleted_file_no_longer_count(tmp_path, engine, database_url):
    settings = recursive_settings(tmp_path, database_url)
    (tmp_path / "books" / "2026").mkdir()
    kept, deleted, damaged = (tmp_path / "books" / "kept.csv", tmp_path / "books" / "2026" / "deleted.csv",
                              tmp_path / "books" / "damaged.csv")
    write_csv(kept, [HEADER_LINE, good_line("K-1"), good_line("X-1")])
    write_csv(deleted, [HEADER_LINE, good_line("X-1"), good_line("D-1")])
    write_csv(damaged, [HEADER_LINE, good_line("M-1")])
    sync_sources(engine, settings, clock)

    deleted.unlink()
    damaged.write_bytes(b"\xff\xfe not UTF-8 any more")
    [outcome] = sync_sources(engine, settings, clock)

    # The deleted file's rows and bookkeeping are gone; a file that is there but cannot be
    # read keeps the rows it gave before (its source fails instead).
    assert stored_rows(engine) == [("damaged.csv", "M-1", 2), ("kept.csv", "K-1", 2), ("kept.csv", "X-1", 3)]
    assert book_files(engine) == [("damaged.csv", 1), ("kept.csv", 2)]
    assert outcome.notices == ["2026/deleted.csv: gone from the folder, its 2 rows no longer count"]
    assert outcome.status == "failed" and "damaged.csv: not UTF-8 text" in outcome.error

    # Put back, it is read again as a new file.
    write_csv(deleted, [HEADER_LINE, good_line("D-1")])
    sync_sources(engine, settings, clock)
    assert ("2026/deleted.csv", "D-1", 2) in stored_rows(engine)


def test_a_store_keyed_by_file_name_is_rekeyed_by_path_at_the_first_sync_after_the_upgrade(tmp_path, database_url):
    from alembic import command
    from monitor.db import alembic_config, make_engine
    settings = recursive_settings(tmp_path, database_url)
    (tmp_path / "books" / "2026").mkdir()
    write_csv(tmp_path / "books" / "2026" / "so.csv", [HEADER_LINE, good_line("A-1")])
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as connection:  # as 0.1.2 stored that file: by name, with its absolute path
        connection.execute(sqlalchemy.text(
            "insert into book_row (source, code, code_key, received_at, received_has_time, file, row_number,"
            " synced_at) values ('books', 'A-0', 'A-0', :t, true, 'so.csv', 2, :t)"), {"t": datetime(2026, 3, 2)})
        connection.execute(sqlalchemy.text("insert into book_file values ('books', :path, 1, 1.0, 'x', 1, :t)"),
                           {"path": str(tmp_path / "books" / "2026" / "so.csv"), "t": datetime(2026, 3, 2)})
    command.upgrade(alembic_config(engine), "head")

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    assert stored_rows(engine) == [("2026/so.csv", "A-1", 2)]
    assert book_files(engine) == [("2026/so.csv", 1)]
    engine.dispose()


# --- the edge checks of a book row (issue 10) -----------------------------------------------------

def test_a_book_code_over_its_column_is_rejected_and_the_files_after_it_are_read(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    overlong = "000.00.31.H59-260302-" + "9" * 79  # 100 characters: PostgreSQL would refuse the file's batch
    write_csv(tmp_path / "books" / "a.csv", [HEADER_LINE, good_line("A-1"), good_line(overlong), good_line("A-2")])
    write_csv(tmp_path / "books" / "b.csv", [HEADER_LINE, good_line("B-1")])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    assert stored_rows(engine) == [("a.csv", "A-1", 2), ("a.csv", "A-2", 4), ("b.csv", "B-1", 2)]
    assert rejected_input(engine) == [
        ("books", "a.csv:3", "Mã hồ sơ is 100 characters long, more than the 80 its column holds")]


def test_a_control_character_in_a_book_code_rejects_the_row(tmp_path, engine, database_url):
    settings = book_settings(tmp_path, database_url, "books")
    write_csv(tmp_path / "books" / "a.csv", [HEADER_LINE, good_line("A-\x1b[31m1"), good_line("A-2")])

    [outcome] = sync_sources(engine, settings, clock)

    assert outcome.status == "ok", outcome.error
    assert stored_rows(engine) == [("a.csv", "A-2", 3)]
    assert rejected_input(engine) == [("books", "a.csv:2", "Mã hồ sơ holds a control character")]


def test_a_receipt_in_year_1_is_rejected_and_the_audit_runs(tmp_path, engine, database_url):
    from rules.audit import run_audit
    settings = book_settings(tmp_path, database_url, "books")
    write_csv(tmp_path / "books" / "a.csv", [HEADER_LINE, good_line("A-1", "01/01/0001 08:00"), good_line("A-2")])

    [outcome] = sync_sources(engine, settings, clock)
    audit = run_audit(engine, settings, as_of=NOW, now=NOW)

    assert outcome.status == "ok", outcome.error
    assert stored_rows(engine) == [("a.csv", "A-2", 3)]
    assert rejected_input(engine) == [("books", "a.csv:2", "Ngày, giờ nhận hồ sơ is an impossible date "
                                                           "(before 2000 or more than 10 years after the sync)")]
    assert audit.as_of == NOW  # a year-1 receipt stored would overflow the audit's date arithmetic
