"""Delivery through the outbox, in stages: group per recipient, skip what was already queued,
render, store, send, and retry later.

The outbox is a table keyed by (recipient, agency, period). Rendering and storing happen before
any sending, and a message is marked sent in its own transaction right after the server took it:
a crash between the send and the mark can at worst repeat one message (with the same
Message-ID), never lose one, and the key stops every later run from queueing it again. A failed
send stays pending and is retried (by the scheduler's outbox job, and by later runs) with a
doubling delay of at most an hour, until `max_attempts`, after which it is undeliverable and
said so.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, func, or_, select, true

from monitor.config import MailSettings, Recipient, Settings
from monitor.db import session_scope, upsert
from monitor.models import OutboxMessage
from monitor.outputs import OutputFolder
from monitor.statuses import OutboxStatus
from reports.compose import agency_message, operator_message, province_message, wire_bytes
from reports.content import PROVINCE, ReportBuilder, periods_needed
from reports.links import Links
from reports.periods import ReportPeriod, report_period
from reports.safe_text import distinct_file_stem, file_name_part

log = logging.getLogger(__name__)

# The doubling delay stops growing here, so that mail goes out within the hour once the server
# is back, however long it was down.
MAX_RETRY_DELAY = timedelta(hours=1)
# The agency of the operator's notice in the outbox: no agency code has this form.
OPERATOR = "!operator"


@dataclass(frozen=True)
class Due:
    """One message a recipient is due for: its report of one period."""
    recipient: Recipient
    period: ReportPeriod

    @property
    def key(self) -> str:
        return f"{','.join(self.recipient.to)}|{self.recipient.agency}|{self.period.label}"


@dataclass(frozen=True)
class Rendered:
    due: Due
    message: EmailMessage


@dataclass
class DeliveryReport:
    """What a send stage did, for the run record and the operator."""
    sent: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)       # key, error
    undeliverable: list[tuple[str, str]] = field(default_factory=list)  # key, error
    refused: list[tuple[str, str]] = field(default_factory=list)        # key, refused recipients

    @property
    def left_undelivered(self) -> bool:
        """Mail that did not go out: waiting for a retry, or given up on."""
        return bool(self.retrying or self.undeliverable)

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.retrying:
            parts.append(f"{len(self.retrying)} to retry ({self.retrying[0][1]})")
        if self.undeliverable:
            parts.append(f"{len(self.undeliverable)} undeliverable ({self.undeliverable[0][1]})")
        if self.refused:
            parts.append(f"refused: {'; '.join(r for _, r in self.refused)}")
        return ", ".join(parts)


# --- 1. group per recipient ---------------------------------------------------------------------

def due_messages(settings: Settings, today: date, period_kind: str | None = None) -> list[Due]:
    """One message per [[recipients]] entry, for its period (or `period_kind` for all); and, with
    `[mail] operator`, the operator's notice of the day (sent only when a source is stale)."""
    due = [Due(r, report_period(period_kind or r.period, today)) for r in settings.recipients]
    if settings.mail.operator:
        due.append(Due(Recipient(agency=OPERATOR, to=(settings.mail.operator,)), report_period("day", today)))
    return due


# --- 2. skip what was already queued ------------------------------------------------------------

def not_yet_queued(engine: Engine, due: Iterable[Due]) -> list[Due]:
    due = list(due)
    with session_scope(engine) as session:
        queued = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_([d.key for d in due]))))
    return [d for d in due if d.key not in queued]


def previous_report_time(engine: Engine, recipient: Recipient, period: ReportPeriod | None = None) -> datetime | None:
    """When the last report to this recipient about this agency was made (one not given up on),
    before the report of `period`: what was first seen after it is new to them, what was resolved
    after it is resolved since. A report of the same period made earlier (the nightly one, when
    `motcua report` renders it again) is not "before": the same period says the same."""
    with session_scope(engine) as session:
        return session.scalar(
            select(OutboxMessage.created_at)
            .where(OutboxMessage.recipients == ",".join(recipient.to), OutboxMessage.agency == recipient.agency,
                   OutboxMessage.status != OutboxStatus.UNDELIVERABLE,
                   OutboxMessage.period != period.label if period is not None else true())
            .order_by(OutboxMessage.created_at.desc()).limit(1))


def previous_agency_report_time(engine: Engine, agency: str, period: ReportPeriod) -> datetime | None:
    """The last report about `agency` to anyone before the report of `period`: what the site's
    page of the agency compares with, so that it says what the agency's mail says."""
    with session_scope(engine) as session:
        return session.scalar(
            select(OutboxMessage.created_at)
            .where(OutboxMessage.agency == agency, OutboxMessage.status != OutboxStatus.UNDELIVERABLE,
                   OutboxMessage.period != period.label)
            .order_by(OutboxMessage.created_at.desc()).limit(1))


def earliest_site_comparison(engine: Engine, period: ReportPeriod) -> datetime | None:
    """The oldest of the agencies' last reports before `period`: what the site compares with."""
    with session_scope(engine) as session:
        last = (select(OutboxMessage.agency, func.max(OutboxMessage.created_at).label("at"))
                .where(OutboxMessage.status != OutboxStatus.UNDELIVERABLE, OutboxMessage.period != period.label,
                       OutboxMessage.agency != OPERATOR)
                .group_by(OutboxMessage.agency).subquery())
        return session.scalar(select(func.min(last.c.at)))


def earliest_comparison(engine: Engine, due: Iterable[Due]) -> datetime | None:
    """The oldest previous report the reports of `due` compare with: the audit stage stores the
    findings resolved since then."""
    times = [t for d in due if d.recipient.agency != OPERATOR
             and (t := previous_report_time(engine, d.recipient, d.period)) is not None]
    return min(times, default=None)


# --- 3. render ----------------------------------------------------------------------------------

def mail_links(settings: Settings, period: ReportPeriod) -> Links:
    report = settings.report
    return Links.for_mail(report.site_url, period.label, report.dossier_url, report.contact)


def render_message(builder: ReportBuilder, due: Due, settings: Settings, since: datetime | None) -> EmailMessage | None:
    """The report a recipient is due, as a mail with its workbook attached; the operator's notice
    (None when no source is stale: nothing to say)."""
    agency = due.recipient.agency
    mail = settings.mail
    links = mail_links(settings, due.period)
    if agency == OPERATOR:
        if not builder.stale:
            return None
        return operator_message(builder.stale, builder.now, sender=mail.sender, to=due.recipient.to,
                                from_name=mail.from_name, links=links)
    if agency == PROVINCE:
        # The technical errors go to the operator: the province office, unless [mail] operator names one.
        report = builder.province_report(due.period, since, links, technical=not mail.operator)
        return province_message(report, sender=mail.sender, from_name=mail.from_name, to=due.recipient.to,
                                workbook=builder.workbook(due.period))
    return agency_message(builder.agency_report(agency, due.period, since, links), sender=mail.sender,
                          from_name=mail.from_name, to=due.recipient.to, workbook=builder.workbook(due.period, agency))


def render_due(engine: Engine, builder: ReportBuilder, due: Iterable[Due], settings: Settings) -> list[Rendered]:
    rendered = [Rendered(d, render_message(builder, d, settings, previous_report_time(engine, d.recipient, d.period)))
                for d in due]
    return [r for r in rendered if r.message is not None]


def write_eml(folder: OutputFolder, rendered: Iterable[Rendered]) -> list[Path]:
    """--dry-run: each message as an .eml file; nothing is stored, nothing is sent."""
    paths = []
    for item in rendered:
        agency = {PROVINCE: "toan-tinh", OPERATOR: "van-hanh"}.get(item.due.recipient.agency) \
            or distinct_file_stem(item.due.recipient.agency)
        name = f"{agency}-{item.due.period.label}-{file_name_part(item.due.recipient.to[0])}.eml"
        paths.append(folder.write(name, wire_bytes(item.message)))
    return paths


# --- 4. store -----------------------------------------------------------------------------------

def store(engine: Engine, rendered: Iterable[Rendered], now: datetime) -> int:
    """Queue the messages; a key already queued (by a concurrent run) keeps its first message."""
    rows = [dict(key=r.due.key, recipients=",".join(r.due.recipient.to), agency=r.due.recipient.agency,
                 period=r.due.period.label, subject=str(r.message["Subject"]), message=wire_bytes(r.message),
                 created_at=now, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            for r in rendered]
    with session_scope(engine) as session:
        return upsert(session, OutboxMessage, rows, key=["key"], update=[])


@dataclass
class Queued:
    queued: list[str]    # keys rendered and stored by this run
    already: list[str]   # keys an earlier run had queued: not rendered again


def queue_reports(engine: Engine, builder: ReportBuilder, due: list[Due], todo: list[Due], settings: Settings,
                  now: datetime) -> Queued:
    """Stages 3 and 4: what each recipient is due and not yet queued (`todo`, stage 2), rendered and stored."""
    rendered = render_due(engine, builder, todo, settings)
    store(engine, rendered, now)
    return Queued(queued=[r.due.key for r in rendered], already=[d.key for d in due if d not in todo])


def periods_of(due: Iterable[Due]) -> set[ReportPeriod]:
    """The periods whose figures the messages show (the audit stage stores those)."""
    return periods_needed((d.recipient.agency, d.period) for d in due if d.recipient.agency != OPERATOR)


# --- 5. send, mark, retry later -----------------------------------------------------------------

def send_due(engine: Engine, mail: MailSettings, now: datetime,
             credentials: tuple[str, str] | None = None) -> DeliveryReport:
    """Send every pending message whose time has come, over one SMTP session."""
    report = DeliveryReport()
    with session_scope(engine) as session:
        due = list(session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING,
                                        or_(OutboxMessage.next_attempt_at.is_(None),
                                            OutboxMessage.next_attempt_at <= now))
            .order_by(OutboxMessage.id)))
    if not due:
        return report
    try:
        smtp = _connect(mail, credentials)
    except (OSError, smtplib.SMTPException) as exc:
        for message in due:
            _failed(engine, mail, message, _describe(exc), now, report)
        return report
    with smtp:
        for message in due:
            try:
                refused = smtp.sendmail(mail.sender, message.recipients.split(","), message.message)
            except smtplib.SMTPRecipientsRefused as exc:
                _refused_all(engine, mail, message, exc.recipients, now, report)
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                # The session is gone: this message failed; the rest were not tried and stay due.
                _failed(engine, mail, message, _describe(exc), now, report)
                break
            except smtplib.SMTPException as exc:
                _failed(engine, mail, message, _describe(exc), now, report)
            else:
                _sent(engine, message, refused, now, report)
    return report


def _connect(mail: MailSettings, credentials: tuple[str, str] | None) -> smtplib.SMTP:
    # A default context verifies the server's certificate and its name.
    if mail.ssl:
        smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout_seconds,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout_seconds)
    try:
        if mail.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if credentials:
            smtp.login(*credentials)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _sent(engine: Engine, message: OutboxMessage, refused: dict, now: datetime, report: DeliveryReport) -> None:
    refused_text = _refused_text(refused) if refused else None
    _mark(engine, message.id, status=OutboxStatus.SENT, sent_at=now, attempts=message.attempts + 1,
          refused=refused_text, next_attempt_at=None)
    report.sent.append(message.key)
    if refused_text:
        report.refused.append((message.key, refused_text))
        log.warning("%s: sent, but the server refused %s", message.key, refused_text)


def _refused_all(engine: Engine, mail: MailSettings, message: OutboxMessage, refused: dict, now: datetime,
                 report: DeliveryReport) -> None:
    refused_text = _refused_text(refused)
    report.refused.append((message.key, refused_text))
    if all(code >= 500 for code, _ in refused.values()):
        # A permanent refusal of every address: retrying cannot help.
        _mark(engine, message.id, status=OutboxStatus.UNDELIVERABLE, attempts=message.attempts + 1,
              refused=refused_text, last_error=f"every recipient refused: {refused_text}", next_attempt_at=None)
        report.undeliverable.append((message.key, f"every recipient refused: {refused_text}"))
        log.error("%s: undeliverable, every recipient refused: %s", message.key, refused_text)
    else:
        _failed(engine, mail, message, f"recipients refused for now: {refused_text}", now, report, refused_text)


def _failed(engine: Engine, mail: MailSettings, message: OutboxMessage, error: str, now: datetime,
            report: DeliveryReport, refused: str | None = None) -> None:
    attempts = message.attempts + 1
    if attempts >= mail.max_attempts:
        _mark(engine, message.id, status=OutboxStatus.UNDELIVERABLE, attempts=attempts, last_error=error,
              refused=refused, next_attempt_at=None)
        report.undeliverable.append((message.key, error))
        log.error("%s: undeliverable after %d attempts: %s", message.key, attempts, error)
        return
    first = timedelta(minutes=mail.retry_after_minutes)
    retry_at = now + min(first * 2 ** (attempts - 1), max(first, MAX_RETRY_DELAY))
    _mark(engine, message.id, attempts=attempts, last_error=error, refused=refused, next_attempt_at=retry_at)
    report.retrying.append((message.key, error))
    log.warning("%s: send failed (attempt %d of %d), retrying after %s: %s",
                message.key, attempts, mail.max_attempts, retry_at, error)


def _mark(engine: Engine, message_id: int, **values) -> None:
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, message_id)
        for name, value in values.items():
            setattr(row, name, value)


def _refused_text(refused: dict) -> str:
    return ", ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in sorted(refused.items()))


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
