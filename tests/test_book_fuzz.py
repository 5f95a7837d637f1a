"""Fuzzing the tracking-book connector (issue 10): hostile cells in otherwise good books, on both
stores. Whatever a cell holds, the sync of the book finishes, every row with a code is stored or
rejected with a reason naming its file and row, and the audit finishes."""
from __future__ import annotations

import csv
import io

import openpyxl
import sqlalchemy
from hypothesis import HealthCheck, given, settings, strategies as st

from connectors.parsing import normalize_text
from connectors.sync import sync_sources
from rules.audit import run_audit
from sync_support import NOW, clock, write_settings
from test_edge_fuzz import empty
from test_tracking_book import HEADER, TITLE

ROWS = 12
COLUMNS = {"Mã hồ sơ": 1, "Tên thủ tục hành chính": 2, "Cơ quan chủ trì giải quyết": 5,
           "Ngày, giờ nhận hồ sơ": 6, "Hẹn trả kết quả": 7}
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9f), max_size=20),   # control characters, C1 too
    st.text(min_size=81, max_size=300),                                   # longer than any code column
    st.sampled_from(["01/01/0001 08:00", "31/02/2026", "02/03/2999 08:00", "1900-01-01", "45000", "  ",
                     "Sở Tư pháp (000.00.31.H59\x1b[31m)", "=HYPERLINK(\"x\")"]),
    st.integers(min_value=-10**15, max_value=10**15).map(str),
)
POISON = st.tuples(st.integers(min_value=0, max_value=ROWS - 1), st.sampled_from(sorted(COLUMNS)), HOSTILE)


def good_row(number: int) -> list[str]:
    return [str(number), f"000.00.31.H59-260302-{number:04d}", "Cấp phiếu lý lịch tư pháp", "1", "",
            "Sở Tư pháp (000.00.31.H59)", f"02/03/2026 {8 + number % 8:02d}:15", "09/03/2026", ""]


def poisoned_rows(poisons) -> list[list[str]]:
    rows = [good_row(number) for number in range(1, ROWS + 1)]
    for row, column, value in poisons:
        # A hostile code keeps the row's own code before it, so that no two rows share a code.
        rows[row][COLUMNS[column]] = rows[row][1] + value if column == "Mã hồ sơ" else value
    return rows


def write_book(folder, rows, as_xlsx: bool) -> None:
    if as_xlsx:
        workbook = openpyxl.Workbook()
        for line in [*TITLE, HEADER, *rows]:
            # openpyxl refuses XML-illegal characters, as Excel does: such a cell cannot be in an .xlsx.
            workbook.active.append([openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in line])
        workbook.save(folder / "so.xlsx")
        return
    text = io.StringIO()
    csv.writer(text).writerows([*TITLE, HEADER, *rows])
    (folder / "so.csv").write_bytes(text.getvalue().encode("utf-8"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(poisons=st.lists(POISON, min_size=1, max_size=4), as_xlsx=st.booleans())
def test_hostile_cells_never_stop_the_sync_of_a_book(poisons, as_xlsx, tmp_path, engine, database_url):
    empty(engine)
    folder = tmp_path / "books"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    rows = poisoned_rows(poisons)
    write_book(folder, rows, as_xlsx)
    config = write_settings(tmp_path, database_url, [{"name": "so", "kind": "tracking_book", "path": "books/*"}])

    [outcome] = sync_sources(engine, config, clock)

    assert outcome.status == "ok", outcome.error
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("select count(*) from book_row")).scalar()
        rejected = connection.execute(sqlalchemy.text("select location, reason from rejected_input")).all()
    assert all(reason and location.startswith("so.") for location, reason in rejected)
    # Rows whose code is blank are skipped (blank and signature lines); every other row is accounted for.
    with_code = sum(1 for row in rows if normalize_text(openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", row[1])
                                                        if as_xlsx else row[1]))
    assert stored + len(rejected) == with_code
    run_audit(engine, config, as_of=NOW, now=NOW)
