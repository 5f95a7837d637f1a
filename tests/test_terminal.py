"""What an inspector sees at a terminal: numbers written one way for people, dates accepted as
dd/mm/yyyy, tables within 80 columns (checked in a real pseudo-terminal), a count summary
instead of thousands of lines, `--version`, --config and --verbose before or after the command
name, the log in local time, and the sync's progress with a total and a time left."""
from __future__ import annotations

import logging
import os
import pty
import select
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import click
import pytest
from rich.cells import cell_len

from audit_helpers import AGENCY, Store, at
from cli_helpers import run_cli, write_config
from connectors.sync import Reckoning, RetryCounter, SourceOutcome, duration, http_log
from monitor.cli import Day, parse_day
from monitor.clock import LocalTimeFormatter
from monitor.models import Agency
from monitor.terminal import number, percent, render_table, shown
from reports import render

ROOT = Path(__file__).resolve().parent.parent
LONG_NAME = "Sở Nông nghiệp và Phát triển nông thôn tỉnh Bình Dương, văn phòng đại diện"


# --- numbers for people ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (2948, "2.948"), (0, "0"), (7, "7"), (1_234_567, "1.234.567"), (-1500, "-1.500"), (None, "—"),
])
def test_numbers_are_grouped_with_dots(value, text):
    assert number(value) == text


@pytest.mark.parametrize("rate, text", [
    (0.974, "97,4%"), (0.9745, "97,5%"), (0.97449, "97,4%"), (1.0, "100,0%"), (0.0, "0,0%"),
    (0.99996, "99,9%"),   # below the target is never shown as 100,0%
    (0.00004, "0,1%"),    # something is never shown as 0,0%
    (0.5, "50,0%"), (None, "—"),
])
def test_rates_have_a_decimal_comma(rate, text):
    assert percent(rate) == text


def test_the_mails_write_numbers_with_the_same_helpers():
    assert render.number is number and render.percent is percent


def test_cells_for_people_never_show_none():
    assert [shown(v) for v in (None, 2948, date(2026, 12, 31), datetime(2026, 3, 31, 17, 5), "x")] == [
        "—", "2.948", "31/12/2026", "31/03/2026 17:05", "x"]
    lines = render_table(("a", "b"), [(None, 1234)], right=(1,))
    assert lines[-1].split() == ["—", "1.234"] and "None" not in "\n".join(lines)


def test_a_table_shrinks_its_long_columns_to_the_width_and_keeps_the_others():
    rows = [("000.00.31.H59-260105-0001", LONG_NAME, 1234, "hạn 12/01/2026, trả 20/01/2026, " * 4)]
    lines = render_table(("Mã", "Tên", "Số", "Chi tiết"), rows, right=(2,), cut=(1,), wrap=(3,), width=80)
    assert max(cell_len(line) for line in lines) <= 80
    assert "000.00.31.H59-260105-0001" in lines[2] and "…" in lines[2] and "1.234" in lines[2]
    assert len(lines) > 3  # the detail wrapped onto more lines


# --- dates ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, day", [
    ("2026-12-31", date(2026, 12, 31)), ("31/12/2026", date(2026, 12, 31)), ("1/2/2026", date(2026, 2, 1)),
    (" 31/12/2026 ", date(2026, 12, 31)),
    ("31-12-2026", None), ("31/13/2026", None), ("29/02/2026", None), ("12/31/2026", None), ("2026", None), ("", None),
])
def test_a_day_is_iso_or_dd_mm_yyyy(text, day):
    assert parse_day(text) == day


def test_a_bad_date_is_an_error_naming_the_option():
    with pytest.raises(click.BadParameter) as error:
        Day().convert("31-12-2026", click.Option(["--until"]), None)
    assert "'31-12-2026' is not a date: write 2026-12-31 or 31/12/2026" in str(error.value)


@pytest.fixture
def config(engine, database_url, tmp_path) -> str:
    """Findings of three rules, one with a long detail, and an agency with a long name."""
    store = Store(engine)
    store.procedure()
    store.add(Agency(code=AGENCY, name=LONG_NAME))
    store.dossier("000.00.31.H59-260302-0001", at(2), status=9, finished_at=at(10))   # late
    store.dossier("000.00.31.H59-260303-0001", at(3), status=4)                         # overdue by T
    for n in range(1, 31):
        store.dossier(f"000.00.31.H59-260304-{n:04d}", at(4), status=4, on_portal=False)  # unsynced
    return write_config(tmp_path, database_url)


def test_dates_as_dd_mm_yyyy_on_the_command_line(config, capsys):
    iso = run_cli(capsys, "audit", "--config", config, "--from", "2026-03-01", "--to", "2026-03-20", "--format", "json")
    vietnamese = run_cli(capsys, "audit", "--config", config, "--from", "01/03/2026", "--to", "20/03/2026",
                         "--format", "json")
    assert iso == vietnamese and iso[0] == 0
    as_of = run_cli(capsys, "audit", "--config", config, "--as-of", "20/03/2026 17:00", "--format", "json")
    assert '"as_of":"2026-03-20T17:00:00"' in as_of[1]
    code, _, err = run_cli(capsys, "audit", "--config", config, "--to", "20.03.2026", "--from", "2026-03-01")
    assert code == 2 and "'--to'" in err and "2026-12-31 or 31/12/2026" in err
    code, out, err = run_cli(capsys, "exempt", "add", "--config", config, "--rule", "ontime.late", "--subject",
                             "000.00.31.H59-260302-0001", "--reason", "r", "--until", "31/12/2099")
    assert code == 0, err
    assert "until 2099-12-31" in out


# --- the table in an 80-column pseudo-terminal -------------------------------------------------------

def _in_a_terminal(arguments: list[str], columns: int = 80, lines: int = 1000, **environment) -> str:
    """What `motcua ARGUMENTS` shows on a pseudo-terminal of that size."""
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(lines), "PYTHONPATH": str(ROOT),
           "PAGER": "cat", **environment}
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "monitor", *arguments], stdin=child, stdout=child,
                               stderr=subprocess.DEVNULL, env=env, cwd=ROOT, close_fds=True)
    os.close(child)
    output = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(main)
    return output.decode("utf-8").replace("\r\n", "\n")


def test_audit_fits_an_80_column_terminal(config):
    out = _in_a_terminal(["audit", "--config", config, "--as-of", "2026-03-20"])
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80, "\n".join(l for l in lines if cell_len(l) > 80)
    assert "Sở Nông nghiệp và" in out and "…" in out               # the name beside the code, cut to fit
    assert "ontime.late — Hồ sơ giải quyết quá hạn (1)" in out      # every finding: they fit on the screen
    assert "000.00.31.H59-260304-0030" in out and "None" not in out
    assert "Cần làm:" in out and "Mọi cột: --wide" in out


def test_a_long_audit_on_a_small_terminal_is_a_count_summary_with_a_hint(config):
    out = _in_a_terminal(["audit", "--config", config, "--as-of", "2026-03-20"], lines=30)
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    assert "Vi phạm theo đơn vị:" in out and "không in ra đây từng dòng" in out and "--format csv" in out
    assert "000.00.31.H59-260304-0030" not in out
    paged = _in_a_terminal(["audit", "--config", config, "--as-of", "2026-03-20", "--all"], lines=30)
    assert "000.00.31.H59-260304-0030" in paged and max(cell_len(line) for line in paged.splitlines()) <= 80


def test_audit_into_a_pipe_prints_every_finding(config, capsys):
    code, out, _ = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--format", "table")
    assert code == 0 and "000.00.31.H59-260304-0030" in out and "không in ra đây" not in out
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    wide = run_cli(capsys, "audit", "--config", config, "--as-of", "2026-03-20", "--format", "table", "--wide")[1]
    assert LONG_NAME in wide and "Tỷ lệ TT trực tuyến" in wide and max(cell_len(line) for line in wide.splitlines()) > 80


# --- options ------------------------------------------------------------------------------------------

def test_version():
    done = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (done.returncode, done.stdout) == (0, f"motcua {project['version']}\n")


def test_config_and_verbose_before_or_after_the_command_name(config, capsys):
    after = run_cli(capsys, "audit", "--config", config, "--verbose", "--as-of", "2026-03-20", "--format", "json")
    before = run_cli(capsys, "--config", config, "--verbose", "audit", "--as-of", "2026-03-20", "--format", "json")
    assert after[0] == before[0] == 0 and after[1] == before[1]
    listed = run_cli(capsys, "--config", config, "exempt", "list")
    assert listed == run_cli(capsys, "exempt", "--config", config, "list") == run_cli(capsys, "exempt", "list",
                                                                                     "--config", config)
    code, _, err = run_cli(capsys, "--config", "other.toml", "audit", "--config", config)
    assert code == 2 and "--config is given twice" in err


def test_the_log_is_in_local_time_with_its_offset():
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", None, None)
    record.created = datetime(2026, 3, 30, 19, 0, 4, 120000, tzinfo=timezone.utc).timestamp()
    assert LocalTimeFormatter("%(asctime)s").format(record) == "2026-03-31 02:00:04.120+07:00"


# --- the sync's progress ------------------------------------------------------------------------------

def test_progress_has_a_total_and_a_time_left():
    source_said = Reckoning(started=0.0, done=500, expected=2000)
    assert (source_said.fraction, source_said.total(), source_said.time_left(10.0)) == (
        0.25, "500/2.000 records", "ETA 0:30")
    by_files = Reckoning(started=0.0, done=1234, position=(3, 12))
    assert (by_files.fraction, by_files.total(), by_files.time_left(30.0)) == (
        0.25, "file 3/12, 1.234 records", "ETA 1:30")
    estimated = Reckoning(started=0.0, estimate=1000, done=1500)
    assert (estimated.fraction, estimated.total()) == (0.99, "1.500/~1.000 records")
    first = Reckoning(started=0.0, done=40)
    assert (first.fraction, first.total(), first.time_left(5.0)) == (
        None, "40 records (first sync: no total yet)", "ETA —")
    assert [duration(s) for s in (0, 7, 65, 3723)] == ["0:00", "0:07", "1:05", "1:02:03"]


def test_retries_are_counted_per_source_and_told_in_one_line(caplog):
    class Seen:
        def __init__(self):
            self.problems = []

        def retried(self, source, problem):
            self.problems.append(problem)

    outcome = SourceOutcome("cong-dvc", "portal_html", 1, datetime(2026, 3, 31))
    progress = Seen()
    counter = RetryCounter(object(), progress, outcome.retries)
    http_log.addFilter(counter)
    try:
        caplog.set_level(logging.INFO)
        for problem in ("HTTP 503", "a time-out", "HTTP 503"):
            http_log.warning("%s on /x: retry 1 of 5 in 1.0 s", problem, extra={"retry_problem": problem})
        http_log.warning("something else")
    finally:
        http_log.removeFilter(counter)
    assert progress.problems == ["HTTP 503", "a time-out", "HTTP 503"]
    assert outcome.retries == Counter({"HTTP 503": 2, "a time-out": 1})
    assert outcome.retries_line() == "cong-dvc: 3 retries (HTTP 503 ×2, a time-out ×1)"
    assert "retry 1 of 5" not in caplog.text and "something else" in caplog.text


def test_in_a_log_retries_going_on_are_told_at_most_every_few_seconds(caplog):
    from connectors.sync import LogProgress

    class Source:
        name, kind = "cong-dvc", "portal_html"

    progress = LogProgress(every_seconds=3600)
    caplog.set_level(logging.INFO)
    progress.started(Source(), estimate=537)
    progress._last -= 3600  # an hour without a line
    for _ in range(3):
        progress.retried(Source(), "HTTP 503")
    assert caplog.text.count("cong-dvc: 1 retry so far (the latest: HTTP 503)") == 1
    assert "2 retries" not in caplog.text and progress.retries == 3
