"""`motcua scheduler`: a run missed while the machine was off runs once when it comes back.

The scheduler keeps its job in the monitor's database. A first scheduler, on a clock set three
days back, stores the job; the machine is then "off" for three nightly runs; a second scheduler,
on today's clock, starts and must run the nightly job exactly once, then wait for the next one.
The nightly hour is set twelve hours away from the real time, so that no scheduled run falls
due while a test runs.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, EVENT_SCHEDULER_STARTED
from sqlmodel import select

from monitor.clock import LOCAL_ZONE, now_local
from monitor.config import Recipient, load_settings
from monitor.db import init_schema, make_engine, session_scope
from sandbox.mailcatcher import MailCatcher
from monitor.models import NightlyRun
from monitor.scheduler import JOB_ID, OUTBOX_JOB_ID, build_scheduler
from reports.compose import compose
from reports.delivery import Due, Rendered, store
from reports.periods import report_period


class FixedClock:
    """A clock stopped at one moment; a class, so that the SQL job store can keep it."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


HOUR = (now_local().hour + 12) % 24


@pytest.fixture
def config(tmp_path, database_url):
    """A monitor with no source and no recipient: its nightly run is quick and still recorded."""
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n\n[schedule]\nnightly = "0 {HOUR} * * *"\n',
                    encoding="utf-8")
    engine = make_engine(database_url)
    init_schema(engine)
    yield path
    engine.dispose()


class Session:
    """One life of the scheduler process: started in a thread, stopped when the test says."""

    def __init__(self, config_path, clock, *, paused: bool = False, job_id: str = JOB_ID):
        self.job_id = job_id  # the job whose runs the test watches
        self.settings = load_settings(config_path)
        self.engine = make_engine(self.settings.database_url)
        self.scheduler = build_scheduler(self.settings, self.engine, str(config_path), clock)
        self.started, self.finished = threading.Event(), threading.Event()
        self.events = []
        self.scheduler.add_listener(lambda event: self.started.set(), EVENT_SCHEDULER_STARTED)
        self.scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self.thread = threading.Thread(target=self.scheduler.start, kwargs={"paused": paused})

    def _finished(self, event) -> None:
        if event.job_id == self.job_id:
            self.events.append(event)
            self.finished.set()

    def __enter__(self) -> Session:
        self.thread.start()
        assert self.started.wait(timeout=60)
        return self

    def __exit__(self, *exc) -> None:
        self.scheduler.shutdown(wait=True)
        self.thread.join()
        self.engine.dispose()


def nightly_runs(config_path) -> int:
    engine = make_engine(load_settings(config_path).database_url)
    with session_scope(engine) as session:
        count = len(session.scalars(select(NightlyRun)).all())
    engine.dispose()
    return count


def nightly_on_or_before(moment: datetime) -> datetime:
    at = datetime.combine(moment.date(), time(HOUR, 0))
    return at if at <= moment else at - timedelta(days=1)


def test_a_run_missed_while_the_machine_was_off_runs_once_when_it_comes_back(config):
    three_days_ago = now_local() - timedelta(days=3)
    with Session(config, FixedClock(three_days_ago), paused=True) as before:
        stored = before.scheduler.get_job(JOB_ID)
        assert stored.next_run_time.replace(tzinfo=None) == nightly_on_or_before(three_days_ago) + timedelta(days=1)
        assert stored.func_ref == "monitor.scheduler:nightly_job"  # stored by reference, importable

    with Session(config, now_local) as back:
        assert back.finished.wait(timeout=120)
        now = now_local().replace(tzinfo=LOCAL_ZONE)
        job = back.scheduler.get_job(JOB_ID)

    [ran] = back.events
    assert ran.code == EVENT_JOB_EXECUTED, ran.exception
    # Coalesced: the three missed runs run as one, the latest.
    assert ran.scheduled_run_time.replace(tzinfo=None) == nightly_on_or_before(now.replace(tzinfo=None))
    assert now < job.next_run_time <= now + timedelta(days=1)
    assert nightly_runs(config) == 1

    # Started again the same day: the job waits for the next run time and nothing runs twice.
    with Session(config, now_local) as again:
        assert again.scheduler.get_job(JOB_ID).next_run_time == job.next_run_time
    assert again.events == [] and nightly_runs(config) == 1


def test_a_run_missed_by_more_than_the_grace_time_is_skipped_and_logged(config, caplog):
    # Once a year, on the first of a month half a year away: the last run it missed is months old.
    month = (now_local().month + 5) % 12 + 1
    config.write_text(config.read_text(encoding="utf-8").replace(f'"0 {HOUR} * * *"', f'"0 2 1 {month} *"'),
                      encoding="utf-8")
    two_years_ago = now_local() - timedelta(days=2 * 366)
    with Session(config, FixedClock(two_years_ago), paused=True):
        pass

    with Session(config, now_local) as back:
        assert back.finished.wait(timeout=120)

    assert [event.code for event in back.events] == [EVENT_JOB_MISSED]
    assert nightly_runs(config) == 0
    assert "was missed by more than" in caplog.text


def test_the_scheduler_stops_cleanly_on_sigterm(config):
    process = subprocess.Popen([sys.executable, "-m", "monitor", "scheduler", "--config", str(config)],
                               stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "next nightly run at" in line:
                break
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0
    assert "SIGTERM received: stopping the scheduler" in rest and "scheduler stopped" in rest


def test_the_outbox_job_sends_what_is_due_when_the_scheduler_starts_and_every_retry_interval(config):
    head = Recipient(agency="000.00.16.H59", to=("giamdoc.syt@example.gov.vn",))
    now = now_local()
    message = compose(sender="giamsat@example.gov.vn", to=head.to, subject="Báo cáo", sent_at=now,
                      html="<p>Báo cáo</p>", text="Báo cáo", workbook=b"", workbook_name="vi-pham.xlsx")
    engine = make_engine(load_settings(config).database_url)
    store(engine, [Rendered(Due(head, report_period("day", now.date())), message)], now)  # left pending
    engine.dispose()
    with MailCatcher() as mailbox:
        config.write_text(config.read_text(encoding="utf-8")
                          + f'\n[mail]\nport = {mailbox.port}\nretry_after_minutes = 20\n', encoding="utf-8")
        with Session(config, now_local, job_id=OUTBOX_JOB_ID) as session:
            assert session.finished.wait(timeout=120)
            job = session.scheduler.get_job(OUTBOX_JOB_ID)

    [ran] = session.events
    assert ran.code == EVENT_JOB_EXECUTED and ran.retval == "1 sent", ran.exception
    assert [mail.recipients for mail in mailbox.received] == [head.to]
    assert job.trigger.interval == timedelta(minutes=20)
    assert nightly_runs(config) == 0  # the nightly job did not run
