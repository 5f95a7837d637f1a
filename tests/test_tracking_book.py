"""Tracking books: .xlsx and .csv files read into book_row, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import sqlalchemy
from sqlmodel import Session, select

from connectors.sync import sync_sources
from monitor.models import BookRow
from sync_support import clock, rejected_input, store_content, sync_runs, write_settings

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
    assert files == [(str(book), book.stat().st_size, 2)]


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
