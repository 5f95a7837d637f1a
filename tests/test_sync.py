"""`motcua sync` end to end against the simulated province, on SQLite and PostgreSQL.

The truth a sync must reach is what a clean sync (no faults) of the same province reads
afterwards: live faults really change the province, so the clean sync runs after the faulty one.
"""
from __future__ import annotations

import io
import random
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy
from sqlmodel import SQLModel

from connectors.sync import TerminalProgress, format_summary, progress_for, sync_source, sync_sources
from monitor.statuses import INTERRUPTED
from monitor.cli import EXIT_SOURCE_FAILED, EXIT_USAGE, main
from monitor.db import session_scope
from monitor.models import SyncRun
from sandbox.simulator import Faults, OneStopServer, PortalServer, write_tracking_books
from sync_support import (NOW, PASSWORD, PASSWORD_ENV, USER_ENV, USERNAME, book_source, clock, onestop_source,
                          portal_source, rejected_input, small_province, store_content, sync_runs, write_settings)

MOTCUA = Path(sys.executable).parent / "motcua"


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv(USER_ENV, USERNAME)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def serve(stack: ExitStack, province, faults: Faults = Faults.none()) -> tuple[str, str]:
    """Start the one-stop API and the portal of `province`; their URLs."""
    onestop = stack.enter_context(OneStopServer(province, faults=faults, username=USERNAME, password=PASSWORD))
    portal = stack.enter_context(PortalServer(province, faults=faults, page_size=20))
    return onestop.url, portal.url


def province_settings(tmp_path: Path, database_url: str, onestop_url: str, portal_url: str, **portal_extra):
    # The portal first: rows pushed onto its list during its crawl are new online dossiers,
    # which the one-stop system holds too; read after it, the one-stop read has them as well.
    return write_settings(tmp_path, database_url, [
        portal_source(portal_url, **portal_extra), onestop_source(onestop_url), book_source(tmp_path / "books")])


def clean_sync_content(tmp_path: Path, engine, database_url: str, province) -> dict:
    """The store a fault-free sync of `province`, as it is now, gives in an empty database."""
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    with ExitStack() as stack:
        settings = province_settings(tmp_path, database_url, *serve(stack, province))
        outcomes = sync_sources(engine, settings, clock)
    assert [o.status for o in outcomes] == ["ok"] * 3, [o.error for o in outcomes]
    return store_content(engine)


@pytest.mark.parametrize("fault", [*Faults.names(), "all"])
def test_each_fault_ends_with_the_store_of_a_clean_sync(fault, tmp_path, engine, database_url):
    province = small_province()
    write_tracking_books(province, tmp_path / "books", impossible_date=True)  # one bad row a book
    faults = Faults.all(seed=5) if fault == "all" else Faults.named([fault], seed=5)
    with ExitStack() as stack:
        settings = province_settings(tmp_path, database_url, *serve(stack, province, faults))
        outcomes = sync_sources(engine, settings, clock)
    assert [(o.source, o.status, o.error) for o in outcomes] == [
        ("cong-dvc", "ok", None), ("motcua", "ok", None), ("so-theo-doi", "ok", None)]
    faulty, faulty_rejections = store_content(engine), rejected_input(engine)
    assert len(faulty["dossier"]) > 250 and len(faulty["portal_dossier"]) > 250 and faulty["book_row"]
    assert len(faulty_rejections) == len(list((tmp_path / "books").iterdir()))
    assert all("impossible date" in reason for _, _, reason in faulty_rejections)

    assert faulty == clean_sync_content(tmp_path, engine, database_url, province)
    assert faulty_rejections == rejected_input(engine)


def test_a_second_sync_changes_nothing(tmp_path, engine, database_url):
    province = small_province()
    write_tracking_books(province, tmp_path / "books")
    with ExitStack() as stack:
        settings = province_settings(tmp_path, database_url, *serve(stack, province))
        sync_sources(engine, settings, clock)
        first = store_content(engine)
        again = sync_sources(engine, settings, clock)

    assert store_content(engine) == first
    assert [(o.status, o.counts.inserted, o.counts.updated, o.counts.rejected) for o in again] == [("ok", 0, 0, 0)] * 3
    assert [len(runs) for runs in _runs_by_source(engine).values()] == [2, 2, 2]


def test_a_sync_killed_at_random_points_resumes_to_the_store_of_a_clean_sync(tmp_path, engine, database_url):
    province = small_province(dossiers=1500)
    write_tracking_books(province, tmp_path / "books")
    rng = random.Random(20260331)
    with ExitStack() as stack:
        settings = province_settings(tmp_path, database_url, *serve(stack, province))
        command = [str(MOTCUA), "sync", "--verbose", "--config", str(settings.path)]
        kills = []
        for _ in range(6):
            # Killed after a random number of committed batches, plus a moment, so that the kill
            # lands anywhere: between batches, mid-transaction, mid-request.
            batches, moment = rng.randint(1, 120), rng.uniform(0, 0.02)
            kills.append((batches, round(moment, 3), _killed_after(command, batches, moment)))
        finished = subprocess.run(command[:2] + command[3:], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert any(killed for *_, killed in kills), f"no run was killed: {kills}"
    resumed = store_content(engine)
    runs = _runs_by_source(engine)
    # Every killed run is recorded as failed by the next sync; none is left running.
    assert all(run["status"] in ("ok", "failed") for source_runs in runs.values() for run in source_runs)
    assert [source_runs[-1]["status"] for source_runs in runs.values()] == ["ok"] * 3

    assert resumed == clean_sync_content(tmp_path, engine, database_url, province), f"kills (delay, exit code): {kills}"


def test_a_failed_source_fails_the_sync_with_exit_3_and_the_others_still_run(tmp_path, engine, database_url, capsys):
    province = small_province()
    write_tracking_books(province, tmp_path / "books")
    with ExitStack() as stack:
        onestop_url, portal_url = serve(stack, province)
        # Every portal request fails, more often than the retries allow.
        portal = stack.enter_context(PortalServer(province, faults=Faults.named(
            ["server_error"], rate=1.0, max_consecutive_failures=100)))
        settings = province_settings(tmp_path, database_url, onestop_url, portal.url, max_retries=2)
        with pytest.raises(SystemExit) as exited:
            main(["sync", "--config", str(settings.path)])

    assert exited.value.code == EXIT_SOURCE_FAILED
    captured = capsys.readouterr()
    output = captured.out
    # The retries in one line per source, not a warning per retry.
    assert "cong-dvc: 2 retries (HTTP 50" in output and "retry 1 of 2" not in captured.err
    # The summary: its headings, a rule under them, then a row per source.
    assert set(output.splitlines()[1]) <= {"─", " "}
    assert output.splitlines()[2].split()[:3] == ["cong-dvc", "portal_html", "failed"]
    assert "cong-dvc: FAILED: HTTP 50" in output and "/thu-tuc-hanh-chinh?trang=1 (gave up after 3 attempts)" in output
    latest = {source: runs[-1] for source, runs in _runs_by_source(engine).items()}
    assert {source: run["status"] for source, run in latest.items()} == {
        "cong-dvc": "failed", "motcua": "ok", "so-theo-doi": "ok"}
    assert latest["cong-dvc"]["error"].startswith("HTTP 50")
    assert latest["cong-dvc"]["finished_at"] is not None
    assert latest["motcua"]["records_read"] > 250


def test_wrong_credentials_fail_clearly_write_nothing_and_the_password_is_nowhere(
        tmp_path, engine, database_url, capsys, caplog, monkeypatch):
    wrong = "Sai-9d8c7b6a-mật-khẩu"
    monkeypatch.setenv(PASSWORD_ENV, wrong)
    with ExitStack() as stack:
        settings = write_settings(tmp_path, database_url, [onestop_source(serve(stack, small_province())[0])])
        with pytest.raises(SystemExit) as exited:
            main(["sync", "--verbose", "--config", str(settings.path)])

    assert exited.value.code == EXIT_SOURCE_FAILED
    output = capsys.readouterr()
    assert "log-in refused" in output.out and "Sai tên đăng nhập hoặc mật khẩu" in output.out
    assert store_content(engine)["dossier"] == [] and store_content(engine)["agency"] == []
    [run] = sync_runs(engine)
    assert run["status"] == "failed" and "Sai tên đăng nhập" in run["error"]
    for text in (output.out, output.err, caplog.text, _everything_stored(engine)):
        assert wrong not in text


def test_the_right_password_is_nowhere_either(tmp_path, engine, database_url, capsys, caplog):
    with ExitStack() as stack:
        onestop_url, portal_url = serve(stack, small_province(), Faults.named(["expiring_sessions"]))
        settings = write_settings(tmp_path, database_url, [onestop_source(onestop_url)])
        with pytest.raises(SystemExit) as exited:
            main(["sync", "--verbose", "--config", str(settings.path)])

    assert exited.value.code == 0
    output = capsys.readouterr()
    for text in (output.out, output.err, caplog.text, _everything_stored(engine)):
        assert PASSWORD not in text


def test_an_unknown_source_name_is_a_usage_error(tmp_path, database_url, capsys):
    settings = write_settings(tmp_path, database_url, [book_source(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        main(["sync", "--source", "so-theo-doi-typo", "--config", str(settings.path)])
    assert exited.value.code == EXIT_USAGE
    assert "so-theo-doi-typo" in capsys.readouterr().err


def test_a_database_without_its_schema_is_a_usage_error(tmp_path, database_url, capsys):
    settings = write_settings(tmp_path, database_url, [book_source(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        main(["sync", "--config", str(settings.path)])
    assert exited.value.code == EXIT_USAGE
    assert "motcua init" in capsys.readouterr().err


def test_only_the_named_source_is_synced(tmp_path, engine, database_url):
    (tmp_path / "books").mkdir()
    settings = write_settings(tmp_path, database_url, [
        book_source(tmp_path / "books"), book_source(tmp_path / "books", name="other")])
    [outcome] = sync_sources(engine, settings, clock, only="other")
    assert outcome.source == "other"
    assert list(_runs_by_source(engine)) == ["other"]


def test_a_run_stopped_by_an_exception_is_recorded_as_failed(tmp_path, engine, database_url):
    province = small_province()
    with ExitStack() as stack:
        settings = write_settings(tmp_path, database_url, [onestop_source(serve(stack, province)[0])])

        class Interrupting(TerminalProgress):
            def advanced(self, source, counts, expected, position=None):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            sync_source(engine, settings, settings.sources[0], clock, Interrupting(io.StringIO()))

    [run] = sync_runs(engine)
    assert (run["status"], run["error"]) == ("failed", INTERRUPTED)
    assert run["finished_at"] is not None


def test_a_run_left_running_by_a_killed_process_is_failed_by_the_next_sync(tmp_path, engine, database_url):
    (tmp_path / "books").mkdir()
    settings = write_settings(tmp_path, database_url, [book_source(tmp_path / "books")])
    with session_scope(engine) as session:
        session.add(SyncRun(source="so-theo-doi", kind="tracking_book", started_at=NOW, status="running"))

    sync_sources(engine, settings, clock)

    killed, latest = sync_runs(engine)
    assert (killed["status"], killed["error"]) == ("failed", INTERRUPTED)
    assert latest["status"] == "failed"  # the folder is empty: no file matches


def test_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere(tmp_path, engine, database_url, caplog):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    province = small_province()
    with ExitStack() as stack:
        settings = write_settings(tmp_path, database_url, [onestop_source(serve(stack, province)[0])])
        terminal = Terminal()
        sync_sources(engine, settings, clock, progress=progress_for(terminal))
        caplog.set_level("INFO")
        outcomes = sync_sources(engine, settings, clock, progress=progress_for(io.StringIO()))

    drawn = terminal.getvalue()
    assert "\r" in drawn and "motcua [####" in drawn and "records" in drawn
    assert "\rmotcua: ok, " in drawn.replace("\x1b[K", "") and drawn.endswith(" records read\n")
    assert "motcua: sync started (onestop_api)" in caplog.text and "motcua: sync ok" in caplog.text
    summary = format_summary(outcomes).splitlines()
    assert summary[0].split() == ["source", "kind", "status", "read", "inserted", "updated", "rejected", "seconds"]
    assert set(summary[1]) <= {"─", " "}
    assert summary[2].split()[:3] == ["motcua", "onestop_api", "ok"]


def _killed_after(command: list[str], batches: int, moment: float) -> bool:
    """Run `command`, SIGKILL it `moment` seconds after its `batches`-th committed batch; whether
    it was killed (it may finish first)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    committed = 0
    for line in process.stderr:
        committed += "batch committed" in line
        if committed == batches:
            time.sleep(moment)
            process.send_signal(signal.SIGKILL)
            break
    process.stderr.close()
    return process.wait() == -signal.SIGKILL


def _runs_by_source(engine) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {}
    for run in sync_runs(engine):
        runs.setdefault(run["source"], []).append(run)
    return runs


def _everything_stored(engine) -> str:
    """Every value of every table, as text: what a search of the database would find."""
    lines = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            lines += [repr(tuple(row)) for row in connection.execute(sqlalchemy.select(table))]
    return "\n".join(lines)
