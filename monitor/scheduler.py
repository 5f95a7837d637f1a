"""`motcua scheduler`: the long-running process that runs the nightly job on [schedule] nightly,
and sends what is due in the outbox every [mail] retry_after_minutes.

APScheduler 3.x, with its jobs kept in the monitor's own database (SQLAlchemyJobStore), so that
a run missed while the machine was off is known when it comes back: it then runs once
(coalesce), however many runs were missed, if the latest of them is within the grace time.
The outbox job sends the messages a failed send left pending, so that mail goes out soon after
the mail server is back, without waiting for the next night. Jobs run one at a time in this
process (one worker thread: a retry never makes the nightly run find the lock taken), and the
nightly lock keeps them apart from other processes.
"""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.events import (EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED,
                                EVENT_JOB_SUBMITTED, EVENT_SCHEDULER_STARTED, SchedulerEvent)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from monitor.clock import LOCAL_ZONE
from monitor.config import Settings, load_settings
from monitor.db import make_engine
from monitor.pipeline import run_nightly, send_outbox

log = logging.getLogger(__name__)

JOB_ID = "motcua-nightly"
OUTBOX_JOB_ID = "motcua-outbox"
# A machine that was off at 02:00 still runs when it comes back the same day; with a daily
# schedule the latest missed run is always less than a day old.
MISFIRE_GRACE = timedelta(hours=24)


def nightly_job(config_path: str, clock: Callable[[], datetime]) -> str:
    """The scheduled job: exactly what `motcua nightly` does. Module-level, so that the SQL job
    store can keep a reference to it; the config is read again at every run, so an edited
    config.toml applies from the next run on."""
    settings = load_settings(config_path)
    engine = make_engine(settings.database_url)
    try:
        return run_nightly(engine, settings, clock).summary()
    finally:
        engine.dispose()


def outbox_job(config_path: str, clock: Callable[[], datetime]) -> str:
    """The scheduled retry: send what is due in the outbox, under the nightly lock."""
    settings = load_settings(config_path)
    engine = make_engine(settings.database_url)
    try:
        report = send_outbox(engine, settings, clock)
    finally:
        engine.dispose()
    if report is None:
        return "another run holds the nightly lock; its send stage sends what is due"
    return report.summary()


class NightlyScheduler(BlockingScheduler):
    """APScheduler's BlockingScheduler, less one pass of its loop after shutdown.

    shutdown() wakes the loop once more; that pass would hand a due job to the stopped executor,
    fail, and still store the job's next run time: the due run would be lost instead of being
    found missed at the next start."""

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def build_scheduler(settings: Settings, engine: Engine, config_path: str,
                    clock: Callable[[], datetime]) -> NightlyScheduler:
    """A scheduler that, once started, runs the nightly job on the configured cron."""
    scheduler = NightlyScheduler(timezone=settings.schedule.timezone, executors={"default": ThreadPoolExecutor(1)})
    scheduler.add_jobstore(SQLAlchemyJobStore(engine=engine), "default")
    trigger = CronTrigger.from_crontab(settings.schedule.nightly, timezone=settings.schedule.timezone)

    def install_job(_event: SchedulerEvent) -> None:
        # The job store is open only once the scheduler has started. replace_existing=True
        # alone would recompute the next run from now and silently drop a run missed while the
        # machine was off, so a stored next run time that has passed is kept.
        now = clock().replace(tzinfo=LOCAL_ZONE)
        stored = scheduler.get_job(JOB_ID)
        missed = stored is not None and stored.next_run_time is not None and stored.next_run_time <= now
        next_run_time = stored.next_run_time if missed else trigger.get_next_fire_time(None, now)
        scheduler.add_job(
            nightly_job, trigger, id=JOB_ID, name="nightly", kwargs={"config_path": config_path, "clock": clock},
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=int(MISFIRE_GRACE.total_seconds()), next_run_time=next_run_time,
        )
        if missed:
            log.info("a nightly run scheduled for %s was missed; it runs now", next_run_time)
        else:
            log.info("next nightly run at %s", next_run_time)
        # At once (what is due after a restart goes out now), then every retry_after_minutes.
        retry = timedelta(minutes=settings.mail.retry_after_minutes)
        scheduler.add_job(
            outbox_job, IntervalTrigger(seconds=int(retry.total_seconds()), timezone=settings.schedule.timezone),
            id=OUTBOX_JOB_ID, name="outbox retry", kwargs={"config_path": config_path, "clock": clock},
            replace_existing=True, coalesce=True, max_instances=1,
            # Late behind a long nightly run is still worth running (None: no grace limit).
            misfire_grace_time=None, next_run_time=now,
        )

    scheduler.add_listener(install_job, EVENT_SCHEDULER_STARTED)
    scheduler.add_listener(_log_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
                           | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def run_scheduler(settings: Settings, config_path: str, clock: Callable[[], datetime]) -> None:
    """Run until SIGTERM or SIGINT; a nightly run under way finishes before the process ends."""
    engine = make_engine(settings.database_url)
    scheduler = build_scheduler(settings, engine, config_path, clock)

    def stop(signum, _frame) -> None:
        log.info("%s received: stopping the scheduler", signal.Signals(signum).name)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: nightly %r (%s)", settings.schedule.nightly, settings.schedule.timezone)
    scheduler.start()  # blocks until stop()
    log.info("scheduler stopped")
    engine.dispose()


def _log_event(event) -> None:
    what = "nightly run" if event.job_id == JOB_ID else "outbox retry"
    if event.code == EVENT_JOB_SUBMITTED:
        log.info("%s starting (scheduled for %s)", what, event.scheduled_run_times[-1])
    elif event.code == EVENT_JOB_EXECUTED:
        log.info("%s done: %s", what, event.retval)
    elif event.code == EVENT_JOB_ERROR:
        log.error("%s failed: %s: %s", what, type(event.exception).__name__, event.exception,
                  exc_info=event.exception)
    elif event.code == EVENT_JOB_MISSED:
        log.warning("%s scheduled for %s was missed by more than its grace time; skipped",
                    what, event.scheduled_run_time)
    else:
        log.warning("%s skipped: the previous one is still running", what)
