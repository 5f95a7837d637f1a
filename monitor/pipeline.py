"""`motcua nightly`: sync → audit → report → send, as one run under the database lock; and
`motcua report`, the audit → report (→ send) part of it on demand.

Each stage is recorded in a NightlyRun row as it ends, so a run that dies leaves a record of how
far it got. A failed source does not stop the run: the audit skips what needs it and the
reports say which data is stale. A stage that raises stops the stages that need its result, but
the send stage always runs, so messages waiting from earlier runs still go out.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy import Engine, update

from connectors.sync import sync_sources
from monitor import runlock
from monitor.config import Settings
from monitor.db import session_scope
from monitor.models import NightlyRun
from monitor.outputs import OutputFolder, protected_files
from monitor.statuses import INTERRUPTED, RunStatus
from reports.content import PROVINCE, ReportBuilder, periods_needed
from reports.delivery import (OPERATOR, DeliveryReport, Due, Queued, Rendered, due_messages, earliest_comparison,
                              earliest_site_comparison, not_yet_queued, periods_of, previous_agency_report_time,
                              queue_reports, render_due, send_due, write_eml)
from reports.periods import ReportPeriod, report_period
from reports.site import Site, write_site
from rules.audit import AuditResult, run_audit
from rules.publish import publish

log = logging.getLogger(__name__)

DRY_RUN_FOLDER = "report-output"  # where --dry-run writes without --output
T = TypeVar("T")


@dataclass(frozen=True)
class Stage:
    """A stage's line in the run record."""
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.name} {self.status} {self.detail}".rstrip()


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a stage gives the next stages (`value`), and how it went."""
    value: T
    status: str
    detail: str


@dataclass(frozen=True)
class Audited:
    """The audit stage's result: the audit at the present moment, the snapshot it stored for the
    reports, and the messages due, of which `todo` are not queued yet."""
    audit: AuditResult
    snapshot: int
    due: list[Due]
    todo: list[Due]


@dataclass
class NightlyOutcome:
    status: str                                   # ok, partial, failed, or locked (did not run)
    run_id: int | None = None
    stages: list[Stage] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)
    audit: AuditResult | None = None              # the audit at the present moment
    delivery: DeliveryReport | None = None        # what the send stage did
    holder: runlock.Holder | None = None          # who held the lock, when locked (None: released since)

    def summary(self) -> str:
        if self.status == RunStatus.LOCKED:
            who = (f" ({self.holder.holder}, since {self.holder.acquired_at}, its lease renewed until "
                   f"{self.holder.expires_at})" if self.holder else "")
            return f"another nightly run holds the lock{who}: not running"
        return f"nightly run {self.run_id}: {self.status}\n" + "\n".join(f"  {s.line()}" for s in self.stages)


def run_nightly(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> NightlyOutcome:
    lease = runlock.take(engine, runlock.NIGHTLY, clock)
    if lease is None:
        outcome = NightlyOutcome(status=RunStatus.LOCKED, holder=runlock.current_holder(engine, runlock.NIGHTLY))
        log.warning(outcome.summary())
        return outcome
    with lease:
        return _NightlyRun(engine, settings, clock, lease).run()


def send_outbox(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> DeliveryReport | None:
    """Send what is due in the outbox, under the nightly lock (a nightly run sending the same
    messages would repeat them): the scheduler's retries. None when another run holds the lock;
    its send stage sends what is due anyway."""
    lease = runlock.take(engine, runlock.NIGHTLY, clock)
    if lease is None:
        return None
    with lease:
        return send_due(engine, settings.mail, clock(), _mail_credentials(settings))


def audit_and_publish(engine: Engine, settings: Settings, now: datetime, due: list[Due],
                      todo: list[Due], sites: Iterable[ReportPeriod] = ()) -> Audited:
    """The audit at `now` (which updates the findings history), then what the reports of `todo`
    and the sites of the periods `sites` need stored for them: the reports only read that."""
    sites = set(sites)
    audit = run_audit(engine, settings, as_of=now, now=now)
    periods = periods_of(todo) | periods_needed((PROVINCE, p) for p in sites)
    # What was resolved since the oldest report these reports compare with.
    comparisons = [t for t in [earliest_comparison(engine, todo),
                               *(earliest_site_comparison(engine, p) for p in sites)] if t is not None]
    snapshot = publish(engine, settings, audit, [(p.start, p.end) for p in periods],
                       resolved_since=min(comparisons, default=None))
    return Audited(audit, snapshot, due, todo)


def site_periods(settings: Settings, due: Iterable[Due]) -> set[ReportPeriod]:
    """The periods whose site the nightly run writes into `[report] site_dir` (none without it):
    those of the reports due."""
    if not settings.report.site_dir:
        return set()
    return {d.period for d in due if d.recipient.agency != OPERATOR}


def write_report_site(engine: Engine, settings: Settings, folder: OutputFolder, builder: ReportBuilder,
                      period: ReportPeriod) -> Site:
    """The site of `period`: an agency's page compares with the last report about it before this period."""
    return write_site(folder, builder, period,
                      since=lambda agency: previous_agency_report_time(engine, agency, period),
                      dossier_url=settings.report.dossier_url, contact=settings.report.contact)


def report_stage(engine: Engine, settings: Settings, audited: Audited, now: datetime) -> tuple[Queued, set[ReportPeriod]]:
    """The nightly report stage: the site of each period due into `[report] site_dir` (when set),
    and the messages not yet queued, rendered and stored in the outbox."""
    builder = report_builder(engine, settings, audited.snapshot, now)
    sites = site_periods(settings, audited.due)
    if sites:
        folder = OutputFolder.open(Path(settings.report.site_dir), protected_files(settings))
        for period in sorted(sites, key=lambda p: (p.end, p.kind)):
            write_report_site(engine, settings, folder, builder, period)
    return queue_reports(engine, builder, audited.due, audited.todo, settings, now), sites


def report_builder(engine: Engine, settings: Settings, snapshot: int, now: datetime) -> ReportBuilder:
    return ReportBuilder(engine, snapshot, now, ranking_min_dossiers=settings.report.ranking_min_dossiers)


class _NightlyRun:
    """The stages, each a method that takes what the stages before it gave and returns a `Done`.
    The run record gets a line per stage as it ends."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime], lease: runlock.Lease):
        self.engine, self.settings, self.clock, self.lease = engine, settings, clock, lease
        self.stages: list[Stage] = []
        self.run_id: int | None = None

    def run(self) -> NightlyOutcome:
        self._start_record()
        failed_sources = self._stage("sync", self._sync)
        audited = self._stage("audit", self._audit)
        if audited is not None:
            self._stage("report", self._report, audited)
        else:
            self._record(Stage("report", RunStatus.SKIPPED, "no audit"))
        delivery = self._stage("send", self._send)
        status = self._finish_record()
        return NightlyOutcome(status=status, run_id=self.run_id, stages=list(self.stages),
                              failed_sources=failed_sources or [], audit=audited.audit if audited else None,
                              delivery=delivery)

    # --- the stages ------------------------------------------------------------------------------

    def _sync(self) -> Done[list[str]]:
        outcomes = sync_sources(self.engine, self.settings, self.clock)
        failed = [o.source for o in outcomes if o.status == RunStatus.FAILED]
        detail = "; ".join(f"{o.source} {o.status}" + (f" ({o.error})" if o.error else "") for o in outcomes)
        return Done(failed, RunStatus.PARTIAL if failed else RunStatus.OK, detail or "no source configured")

    def _audit(self) -> Done[Audited]:
        # As of now, complete: the audit that updates the findings history.
        now = self.clock()
        due = due_messages(self.settings, now.date())
        audited = audit_and_publish(self.engine, self.settings, now, due, not_yet_queued(self.engine, due),
                                    site_periods(self.settings, due))
        audit = audited.audit
        stale = f", stale: {', '.join(s['source'] for s in audit.stale)}" if audit.stale else ""
        exempted = len(audit.findings) - len(audit.open_findings)
        return Done(audited, RunStatus.OK, f"{len(audit.open_findings)} open findings, {exempted} exempted{stale}")

    def _report(self, audited: Audited) -> Done[Queued]:
        queued, sites = report_stage(self.engine, self.settings, audited, self.clock())
        site = f"; site of {', '.join(sorted(p.label for p in sites))} written" if sites else ""
        return Done(queued, RunStatus.OK, f"{len(queued.queued)} queued, {len(queued.already)} already queued{site}")

    def _send(self) -> Done[DeliveryReport]:
        report = send_due(self.engine, self.settings.mail, self.clock(), _mail_credentials(self.settings))
        trouble = report.retrying or report.undeliverable or report.refused
        return Done(report, RunStatus.PARTIAL if trouble else RunStatus.OK, report.summary())

    # --- bookkeeping ---------------------------------------------------------------------------

    def _stage(self, name: str, body: Callable[..., Done[T]], *inputs) -> T | None:
        """Run a stage on the results of earlier ones; its result, or None when it raised."""
        self.lease.check()
        log.info("nightly: %s", name)
        try:
            done = body(*inputs)
        except Exception as exc:  # noqa: BLE001  recorded; the stages that do not need this one still run
            log.exception("nightly: %s failed", name)
            self._record(Stage(name, RunStatus.FAILED, f"{type(exc).__name__}: {exc}"))
            return None
        self._record(Stage(name, done.status, done.detail))
        return done.value

    def _record(self, stage: Stage) -> None:
        self.stages.append(stage)
        quiet = stage.status in (RunStatus.OK, RunStatus.SKIPPED)
        log.log(logging.INFO if quiet else logging.WARNING, "nightly: %s", stage.line())
        with session_scope(self.engine) as session:
            session.execute(update(NightlyRun).where(NightlyRun.id == self.run_id)
                            .values(stages="\n".join(s.line() for s in self.stages)))

    def _start_record(self) -> None:
        with session_scope(self.engine) as session:
            # Holding the lock, no other run is alive: a run still "running" died before it ended.
            session.execute(update(NightlyRun).where(NightlyRun.status == RunStatus.RUNNING)
                            .values(status=RunStatus.FAILED, stages=NightlyRun.stages + "\n" + INTERRUPTED))
            run = NightlyRun(started_at=self.clock(), status=RunStatus.RUNNING)
            session.add(run)
            session.flush()
            self.run_id = run.id

    def _finish_record(self) -> str:
        statuses = {s.status for s in self.stages}
        status = next((s for s in (RunStatus.FAILED, RunStatus.PARTIAL) if s in statuses), RunStatus.OK)
        with session_scope(self.engine) as session:
            session.execute(update(NightlyRun).where(NightlyRun.id == self.run_id)
                            .values(status=status, finished_at=self.clock()))
        return status


@dataclass
class ReportOutcome:
    audit: AuditResult
    rendered: list[Rendered] = field(default_factory=list)   # rendered only (neither --send nor --dry-run)
    eml: list[Path] = field(default_factory=list)            # --dry-run
    queued: Queued | None = None                              # --send
    delivery: DeliveryReport | None = None                    # --send
    site: Site | None = None                                  # --output
    locked: bool = False                                      # --send: another run held the lock; nothing sent
    holder: runlock.Holder | None = None                      # who held it


def run_report(engine: Engine, settings: Settings, clock: Callable[[], datetime], *, period_kind: str | None = None,
               send: bool = False, dry_run: bool = False, output: Path | None = None) -> ReportOutcome:
    """Render the reports of the last complete period; with `send`, queue and mail them (each key once);
    with `dry_run`, write them as .eml files under `output` and send or queue nothing.

    Like the nightly run, it runs the audit stage (which updates the findings history and stores
    a snapshot for the reports), then renders from that snapshot."""
    # The folder first: a missing parent is a usage error before any work is done.
    folder = (OutputFolder.open(output or Path(DRY_RUN_FOLDER), protected_files(settings))
              if output is not None or dry_run else None)
    now = clock()
    due = due_messages(settings, now.date(), period_kind)
    site_period = report_period(period_kind or "day", now.date()) if output is not None else None
    # The site shows the province's report and every agency's of its period.
    audited = audit_and_publish(engine, settings, now, due, due, [site_period] if site_period else ())
    outcome = ReportOutcome(audit=audited.audit)
    builder = report_builder(engine, settings, audited.snapshot, now)
    if site_period is not None:
        outcome.site = write_report_site(engine, settings, folder, builder, site_period)
    if dry_run:
        outcome.eml = write_eml(folder.subfolder("mail"), render_due(engine, builder, due, settings))
    elif send:
        # The outbox's sender must be alone: a nightly run sending the same messages would repeat them.
        lease = runlock.take(engine, runlock.NIGHTLY, clock)
        if lease is None:
            outcome.locked, outcome.holder = True, runlock.current_holder(engine, runlock.NIGHTLY)
            return outcome
        with lease:
            outcome.queued = queue_reports(engine, builder, due, not_yet_queued(engine, due), settings, now)
            outcome.delivery = send_due(engine, settings.mail, clock(), _mail_credentials(settings))
    else:
        outcome.rendered = render_due(engine, builder, due, settings)
    return outcome


def _mail_credentials(settings: Settings) -> tuple[str, str] | None:
    """The SMTP login, from the environment variables [mail] names; None when there is none."""
    mail = settings.mail
    username = settings.secret("mail.username_env", mail.username_env)
    if not username:
        return None
    return username, settings.secret("mail.password_env", mail.password_env) or ""
