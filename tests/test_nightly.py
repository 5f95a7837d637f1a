"""`motcua nightly` against the simulated province: sync → audit → report → send, on both stores.

The province is served on loopback, the tracking books are files, and the mail goes to a real
SMTP server (aiosmtpd) that keeps what it receives.
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlmodel import Session, select

from monitor import runlock
from monitor.clock import now_local
from monitor.config import load_settings
from monitor.db import init_schema, make_engine, session_scope
from sandbox.mailcatcher import MailCatcher
from monitor.models import Dossier, NightlyRun, OutboxMessage, Procedure
from monitor.pipeline import run_nightly
from monitor.statuses import RunStatus
from monitor.scheduler import outbox_job
from nightly_support import FORMULA_CODE, HEALTH, MARKUP_CODE, RECIPIENTS, World, motcua, received_by, simulated_world
from reports.workbook import FINDINGS_SHEET, FORM_COLUMNS, FORM_SHEET
from rules import registry
from rules.audit import run_audit

NOW = datetime(2026, 3, 31, 2, 0)       # a Tuesday at 02:00: the nightly run reports Monday 30/03
YESTERDAY = (date(2026, 3, 30), date(2026, 3, 30))


def clock() -> datetime:
    return NOW


@pytest.fixture
def world(tmp_path, monkeypatch):
    with simulated_world(tmp_path, monkeypatch, NOW) as world:
        yield world


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    init_schema(engine)
    yield engine
    engine.dispose()


def settings_of(world: World, engine, **changes):
    return load_settings(world.config(engine.url.render_as_string(hide_password=False), **changes))


def attachment_of(message) -> openpyxl.Workbook:
    [part] = [p for p in message.iter_attachments() if p.get_filename().endswith(".xlsx")]
    return openpyxl.load_workbook(io.BytesIO(part.get_content()))


def nightly_runs(engine) -> list[NightlyRun]:
    with session_scope(engine) as session:
        return list(session.scalars(select(NightlyRun).order_by(NightlyRun.id)))


def test_each_recipient_gets_one_message_with_text_html_and_the_workbook(world, store):
    settings = settings_of(world, store)

    outcome = run_nightly(store, settings, clock)

    assert outcome.status == RunStatus.OK, outcome.summary()
    messages = received_by(world.mailbox)
    assert sorted(messages) == sorted(RECIPIENTS.values())
    assert all(len(received) == 1 for received in messages.values())
    health = messages[RECIPIENTS[HEALTH]][0]
    assert health["Subject"].startswith("[Giám sát một cửa] Sở Y tế: báo cáo ngày 30/03/2026 – ")
    assert messages[RECIPIENTS["*"]][0]["Subject"].startswith(
        "[Giám sát một cửa] Tổng hợp toàn tỉnh: báo cáo ngày 30/03/2026 – ")
    for [message] in messages.values():
        assert [part.get_content_type() for part in message.walk()] == [
            "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
        assert message.get_body(("plain",)).get_content().startswith("GIÁM SÁT GIẢI QUYẾT")
        assert "<!DOCTYPE html>" in message.get_body(("html",)).get_content()
    [run] = nightly_runs(store)
    assert run.status == "ok" and run.finished_at == NOW
    assert [line.split()[:2] for line in run.stages.splitlines()] == [
        ["sync", "ok"], ["audit", "ok"], ["report", "ok"], ["send", "ok"]]


def procedure_code(cell: str) -> str:
    """The code in "Thủ tục": `Name (code)`, or the code alone when the catalogue has no name."""
    return cell[cell.rindex("(") + 1:-1] if cell.endswith(")") else cell


def test_the_attached_workbook_holds_the_audits_open_breaches_and_figures(world, store):
    settings = settings_of(world, store)
    run_nightly(store, settings, clock)
    # What the nightly audit found and counted, computed again: nothing changed in between.
    now = run_audit(store, settings, as_of=NOW, now=NOW)
    yesterday = run_audit(store, settings, as_of=datetime(2026, 3, 30, 23, 59, 59), now=NOW, period=YESTERDAY)
    [message] = received_by(world.mailbox)[RECIPIENTS[HEALTH]]

    workbook = attachment_of(message)

    findings = [row for row in workbook[FINDINGS_SHEET].iter_rows(min_row=2, values_only=True)]
    expected = [f for f in now.open_findings if f.agency == HEALTH]
    assert len(findings) == len(expected) > 0
    # (the rule's title, the dossier's code, or the procedure's in "Thủ tục", after its name)
    assert sorted((row[1], row[2] or procedure_code(row[4])) for row in findings) == sorted(
        (registry.by_id(f.rule).title, ("'" + f.subject if f.subject.startswith("=") else f.subject)
         if registry.by_id(f.rule).subject == "dossier" else f.procedure) for f in expected)
    with Session(store) as session:
        names = dict(session.exec(select(Procedure.code, Procedure.name)).all())
    assert {row[4] for row in findings if row[4]} == {f"{names[f.procedure]} ({f.procedure})" if names.get(f.procedure)
                                                      else f.procedure for f in expected if f.procedure}
    [figures] = [f for f in yesterday.figures if f.agency == HEALTH]
    form = workbook[FORM_SHEET]
    [health_row] = [row for row in form.iter_rows(values_only=True) if row[1] and HEALTH in str(row[1])]
    assert list(health_row[2:2 + len(FORM_COLUMNS)]) == [value(figures) for _, _, value in FORM_COLUMNS]


def test_markup_and_formulas_from_a_source_arrive_as_inert_text(world, store):
    run_nightly(store, settings_of(world, store), clock)
    [message] = received_by(world.mailbox)[RECIPIENTS[HEALTH]]

    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;bam&#34;)" in html
    assert MARKUP_CODE in text and FORMULA_CODE in text  # text/plain runs nothing
    cells = [cell for row in attachment_of(message)[FINDINGS_SHEET].iter_rows(min_row=2) for cell in row]
    formula_like = [cell for cell in cells if "HYPERLINK" in str(cell.value)]
    assert formula_like and all(cell.data_type == "s" and cell.value.startswith("'") for cell in formula_like)
    assert not any(cell.data_type == "f" for cell in cells)


def test_applicant_names_are_masked_and_id_numbers_never_shown(world, store):
    run_nightly(store, settings_of(world, store), clock)
    with session_scope(store) as session:
        applicants = session.execute(select(Dossier.applicant_name, Dossier.applicant_id)
                                     .where(Dossier.agency_code == HEALTH)).all()
    [message] = received_by(world.mailbox)[RECIPIENTS[HEALTH]]
    text = message.get_body(("plain",)).get_content()
    cells = [str(value) for sheet in attachment_of(message) for row in sheet.iter_rows(values_only=True)
             for value in row if value is not None]
    everything = "\n".join([text, message.get_body(("html",)).get_content(), *cells])

    assert "Người nộp: " in text
    masked = [line.split("Người nộp: ")[1] for line in text.splitlines() if "Người nộp: " in line]
    assert all(word.endswith(".") for name in masked for word in name.split()[1:])
    assert not any(name in everything for name, _ in applicants if len(name.split()) > 1)
    assert not any(number in everything for _, number in applicants if number)


def test_two_nightly_runs_the_same_day_send_each_message_once(world, store):
    settings = settings_of(world, store)
    run_nightly(store, settings, clock)

    second = run_nightly(store, settings, lambda: NOW + timedelta(hours=2))

    assert second.status == RunStatus.OK
    assert len(world.mailbox.received) == len(RECIPIENTS)
    stages = {stage.name: stage.detail for stage in second.stages}
    assert stages["report"] == f"0 queued, {len(RECIPIENTS)} already queued"
    assert stages["send"] == "0 sent"


def test_with_smtp_down_the_outbox_keeps_the_messages_and_the_next_run_sends_them_once(world, store):
    with MailCatcher() as stopped:
        down_port = stopped.port
    down = run_nightly(store, settings_of(world, store, mail_port=down_port), clock)

    assert down.status == RunStatus.PARTIAL and len(down.delivery.retrying) == len(RECIPIENTS)
    with session_scope(store) as session:
        assert {(m.status, m.attempts) for m in session.scalars(select(OutboxMessage))} == {("pending", 1)}

    back = run_nightly(store, settings_of(world, store), lambda: NOW + timedelta(minutes=20))
    again = run_nightly(store, settings_of(world, store), lambda: NOW + timedelta(hours=3))

    assert len(back.delivery.sent) == len(RECIPIENTS) and again.delivery.sent == []
    assert sorted(received_by(world.mailbox)) == sorted(RECIPIENTS.values())
    assert len(world.mailbox.received) == len(RECIPIENTS)


def test_a_failed_source_does_not_stop_the_reports_which_name_the_stale_data(world, store):
    with MailCatcher() as stopped:  # nothing listens there any more: the portal is down
        dead_url = f"http://127.0.0.1:{stopped.port}"

    outcome = run_nightly(store, settings_of(world, store, portal_url=dead_url), clock)

    assert outcome.failed_sources == ["cong-dvc"] and outcome.status == RunStatus.PARTIAL
    assert len(world.mailbox.received) == len(RECIPIENTS)
    for [message] in received_by(world.mailbox).values():
        for body in (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()):
            assert "Chưa kiểm tra được " in body
            assert " vì không kết nối được tới Cổng dịch vụ công «cong-dvc»; số liệu dưới đây chưa có dữ " \
                   "liệu của Cổng dịch vụ công «cong-dvc»." in body
        assert message["Subject"].endswith("(dữ liệu nguồn chưa đầy đủ)")


def test_the_cli_exits_3_when_a_source_failed(world, store):
    with MailCatcher() as stopped:
        config = world.config(store.url.render_as_string(hide_password=False),
                              portal_url=f"http://127.0.0.1:{stopped.port}")

    done = motcua("nightly", "--config", str(config))

    assert done.returncode == 3, done.stderr
    assert "sync partial" in done.stdout and "cong-dvc failed" in done.stdout
    assert len(world.mailbox.received) == len(RECIPIENTS)


def test_two_nightly_processes_at_once_one_runs_and_one_exits_saying_so(world, store):
    settings = settings_of(world, store)
    release = threading.Event()
    with MailCatcher(hold=release) as slow_mailbox:
        slow = settings_of(world, store, mail_port=slow_mailbox.port)
        first = {}
        # On the real clock, as the command line reads it: the lock's expiry is judged by it.
        running = threading.Thread(target=lambda: first.update(outcome=run_nightly(store, slow, now_local)))
        running.start()
        try:
            # The first run is now inside its send stage, holding the lock.
            assert slow_mailbox.holding.wait(timeout=120)
            second = motcua("nightly", "--config", str(settings.path))
        finally:
            release.set()
            running.join()

    assert second.returncode == 5
    assert "another nightly run holds the lock" in second.stderr
    assert first["outcome"].status == RunStatus.OK
    assert len(nightly_runs(store)) == 1
    assert runlock.current_holder(store, runlock.NIGHTLY) is None  # released at the end


def test_exactly_one_of_two_runs_taking_the_lock_at_once_gets_it(store):
    barrier = threading.Barrier(2)
    results = []

    def take(holder: str) -> None:
        barrier.wait()
        results.append(runlock.acquire(store, runlock.NIGHTLY, holder, NOW))

    threads = [threading.Thread(target=take, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]


def test_a_crashed_run_on_another_host_loses_the_lock_within_one_lease(world, store):
    # Its lease was renewed last 2 minutes before NOW, then the host went down.
    assert runlock.acquire(store, runlock.NIGHTLY, "crashed-host:1:0", NOW - timedelta(minutes=2))
    with session_scope(store) as session:
        session.add(NightlyRun(started_at=NOW - timedelta(hours=1), status="running", stages="sync ok"))
    settings = settings_of(world, store)

    assert run_nightly(store, settings, lambda: NOW - timedelta(minutes=1)).status == RunStatus.LOCKED
    outcome = run_nightly(store, settings, lambda: NOW + runlock.LEASE)

    assert outcome.status == RunStatus.OK
    crashed, this = nightly_runs(store)
    assert crashed.status == "failed"
    assert crashed.stages.endswith("interrupted: the process ended before the run finished")
    assert this.status == "ok"


def a_process_that_is_gone() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)  # run() has reaped it: no such process any more


def test_a_lock_whose_process_is_gone_from_this_host_is_taken_over_at_once(store):
    dead = f"{socket.gethostname()}:{a_process_that_is_gone()}:0"
    alive = f"{socket.gethostname()}:{os.getpid()}:1"
    assert runlock.acquire(store, runlock.NIGHTLY, dead, NOW)

    assert runlock.acquire(store, runlock.NIGHTLY, alive, NOW + timedelta(seconds=1))
    # A live holder of this host keeps its lease.
    assert not runlock.acquire(store, runlock.NIGHTLY, "other-run", NOW + timedelta(seconds=2))
    assert runlock.current_holder(store, runlock.NIGHTLY).holder == alive


def test_a_lease_is_renewed_in_the_background_until_released(store):
    clock = {"now": NOW}
    ttl = timedelta(seconds=0.3)
    lease = runlock.take(store, runlock.NIGHTLY, lambda: clock["now"], ttl=ttl)
    clock["now"] = NOW + timedelta(hours=1)
    try:
        for _ in range(300):  # the renewal runs every 0.1 s; this waits for it, it does not time it
            if runlock.current_holder(store, runlock.NIGHTLY).expires_at == clock["now"] + ttl:
                break
            threading.Event().wait(0.1)
        # Its lease ran out an hour ago by the clock, but it was renewed: still held.
        assert not runlock.acquire(store, runlock.NIGHTLY, "other-run", clock["now"])
    finally:
        lease.release()
    assert runlock.current_holder(store, runlock.NIGHTLY) is None
    assert runlock.acquire(store, runlock.NIGHTLY, "other-run", clock["now"])


def test_after_a_kill_9_mid_send_the_next_nightly_runs_at_once_and_sends_each_message_once(world, store):
    release = threading.Event()
    try:
        # The first message is accepted; the second waits in the server, mid-send, when the run is killed.
        with MailCatcher(hold=release, hold_from=1) as slow_mailbox:
            config = world.config(store.url.render_as_string(hide_password=False), mail_port=slow_mailbox.port)
            killed = subprocess.Popen([sys.executable, "-m", "monitor", "nightly", "--config", str(config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                assert slow_mailbox.holding.wait(timeout=240)
            finally:
                killed.kill()  # SIGKILL: no clean-up of any kind
                killed.wait()
        # The server never answered the second message: the client vanished before it was accepted.
        first_night = received_by(slow_mailbox)
    finally:
        release.set()

    config = world.config(store.url.render_as_string(hide_password=False))
    done = motcua("nightly", "--config", str(config))

    assert done.returncode == 0, done.stderr
    assert "took over the nightly lock" in done.stderr
    second_night = received_by(world.mailbox)
    assert len(first_night) == 1 and len(second_night) == len(RECIPIENTS) - 1
    assert sorted([*first_night, *second_night]) == sorted(RECIPIENTS.values())
    assert all(len(messages) == 1 for messages in [*first_night.values(), *second_night.values()])
    killed_run, this = nightly_runs(store)
    assert killed_run.status == "failed" and this.status == "ok"
    assert runlock.current_holder(store, runlock.NIGHTLY) is None


def test_with_smtp_down_nightly_exits_6_and_the_schedulers_retry_sends_once_smtp_is_back(world, store):
    with MailCatcher() as stopped:
        config = world.config(store.url.render_as_string(hide_password=False), mail_port=stopped.port)
    started = now_local()

    down = motcua("nightly", "--config", str(config))

    assert down.returncode == 6, down.stderr
    assert f"send partial 0 sent, {len(RECIPIENTS)} to retry" in down.stdout
    config = world.config(store.url.render_as_string(hide_password=False))  # the server is back
    too_soon = outbox_job(str(config), lambda: started + timedelta(minutes=10))
    retried = outbox_job(str(config), lambda: now_local() + timedelta(minutes=15))
    again = outbox_job(str(config), lambda: now_local() + timedelta(minutes=30))

    assert (too_soon, retried, again) == ("0 sent", f"{len(RECIPIENTS)} sent", "0 sent")
    assert sorted(received_by(world.mailbox)) == sorted(RECIPIENTS.values())
    assert len(world.mailbox.received) == len(RECIPIENTS)
    assert len(nightly_runs(store)) == 1  # no new nightly run sent them
