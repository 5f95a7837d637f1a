"""Delivery through the outbox, against a real SMTP server (aiosmtpd) on loopback, on both stores."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlmodel import select

from monitor.config import MailSettings, Recipient, Settings
from monitor.db import session_scope
from sandbox.mailcatcher import MailCatcher
from monitor.models import OutboxMessage
from monitor.outputs import OutputFolder
from reports.compose import compose
from reports.delivery import (Due, Rendered, due_messages, not_yet_queued, previous_report_time, send_due, store,
                              write_eml)
from reports.periods import report_period

NOW = datetime(2026, 3, 31, 2, 0)
PERIOD = report_period("day", NOW.date())
HEAD = Recipient(agency="000.00.16.H59", to=("giamdoc.syt@example.gov.vn",))
OFFICE = Recipient(agency="*", to=("vanphong.ubnd@example.gov.vn", "chanhvanphong@example.gov.vn"))


def workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "Mã hồ sơ"
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def rendered(recipient: Recipient, period=PERIOD, subject: str | None = None) -> Rendered:
    subject = subject or f"[Giám sát một cửa] báo cáo {period.title} cho {recipient.agency}"
    message = compose(sender="giamsat@example.gov.vn", to=recipient.to, subject=subject, sent_at=NOW,
                      html="<p>Báo cáo</p>", text="Báo cáo", workbook=workbook(), workbook_name="vi-pham.xlsx")
    return Rendered(Due(recipient, period), message)


def mail_to(catcher_or_port, **changes) -> MailSettings:
    port = catcher_or_port if isinstance(catcher_or_port, int) else catcher_or_port.port
    return MailSettings(host="127.0.0.1", port=port, sender="giamsat@example.gov.vn", timeout_seconds=10,
                        **changes)


def outbox(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def catcher():
    with MailCatcher() as catcher:
        yield catcher


def a_port_nobody_listens_on() -> int:
    with MailCatcher() as stopped:
        return stopped.port


def test_each_recipient_gets_one_message_over_smtp(engine, catcher):
    assert store(engine, [rendered(HEAD), rendered(OFFICE)], NOW) == 2

    report = send_due(engine, mail_to(catcher), NOW)

    assert sorted(report.sent) == sorted([Due(HEAD, PERIOD).key, Due(OFFICE, PERIOD).key])
    assert sorted(m.recipients for m in catcher.received) == [HEAD.to, OFFICE.to]
    assert all(m.sent_at == NOW and m.status == "sent" and m.attempts == 1 for m in outbox(engine))


def test_a_message_already_sent_is_never_sent_again(engine, catcher):
    store(engine, [rendered(HEAD)], NOW)
    send_due(engine, mail_to(catcher), NOW)

    # The next run finds the key in the outbox and neither queues nor sends it again.
    assert not_yet_queued(engine, [Due(HEAD, PERIOD)]) == []
    assert store(engine, [rendered(HEAD, subject="a second rendering")], NOW + timedelta(hours=1)) == 1
    report = send_due(engine, mail_to(catcher), NOW + timedelta(hours=1))

    assert report.sent == []
    assert len(catcher.received) == 1
    assert [m.subject for m in outbox(engine)] == [str(rendered(HEAD).message["Subject"])]


def test_a_new_period_is_a_new_message(engine, catcher):
    store(engine, [rendered(HEAD)], NOW)
    send_due(engine, mail_to(catcher), NOW)
    tomorrow = NOW + timedelta(days=1)
    next_period = report_period("day", tomorrow.date())

    assert not_yet_queued(engine, [Due(HEAD, next_period)]) == [Due(HEAD, next_period)]
    store(engine, [rendered(HEAD, next_period)], tomorrow)
    send_due(engine, mail_to(catcher), tomorrow)

    assert len(catcher.received) == 2


def test_smtp_down_keeps_the_messages_and_a_later_run_sends_them_once(engine):
    store(engine, [rendered(HEAD), rendered(OFFICE)], NOW)
    mail = mail_to(a_port_nobody_listens_on(), retry_after_minutes=15)

    down = send_due(engine, mail, NOW)

    assert down.sent == [] and len(down.retrying) == 2
    assert all(m.status == "pending" and m.attempts == 1 and m.next_attempt_at == NOW + timedelta(minutes=15)
               and "ConnectionRefusedError" in m.last_error for m in outbox(engine))

    with MailCatcher() as catcher:
        # Before the retry time nothing is tried, even with the server back.
        assert send_due(engine, replace(mail, port=catcher.port), NOW + timedelta(minutes=10)).sent == []
        later = send_due(engine, replace(mail, port=catcher.port), NOW + timedelta(minutes=15))
        again = send_due(engine, replace(mail, port=catcher.port), NOW + timedelta(days=1))

    assert len(later.sent) == 2 and again.sent == []
    assert sorted(m.recipients for m in catcher.received) == [HEAD.to, OFFICE.to]
    assert all(m.status == "sent" and m.attempts == 2 for m in outbox(engine))


def test_the_retry_delay_doubles_and_the_message_is_undeliverable_after_the_limit(engine):
    store(engine, [rendered(HEAD)], NOW)
    mail = mail_to(a_port_nobody_listens_on(), retry_after_minutes=15, max_attempts=3)

    send_due(engine, mail, NOW)
    assert outbox(engine)[0].next_attempt_at == NOW + timedelta(minutes=15)
    send_due(engine, mail, NOW + timedelta(minutes=15))
    assert outbox(engine)[0].next_attempt_at == NOW + timedelta(minutes=15 + 30)
    third = send_due(engine, mail, NOW + timedelta(minutes=45))

    [message] = outbox(engine)
    assert (message.status, message.attempts, message.next_attempt_at) == ("undeliverable", 3, None)
    assert third.undeliverable == [(Due(HEAD, PERIOD).key, message.last_error)]
    assert send_due(engine, mail, NOW + timedelta(days=1)).undeliverable == []


def test_a_refused_recipient_is_recorded_and_the_others_get_the_message(engine):
    both = Recipient(agency="000.00.16.H59", to=("giamdoc.syt@example.gov.vn", "nghiviec@example.gov.vn"))
    with MailCatcher(refuse=("nghiviec@example.gov.vn",)) as catcher:
        store(engine, [rendered(both)], NOW)
        report = send_due(engine, mail_to(catcher), NOW)

    [message] = outbox(engine)
    assert message.status == "sent"
    assert message.refused.startswith("nghiviec@example.gov.vn (550")
    assert report.refused == [(Due(both, PERIOD).key, message.refused)]
    assert [m.recipients for m in catcher.received] == [("giamdoc.syt@example.gov.vn",)]


def test_a_message_whose_every_recipient_is_refused_is_undeliverable_at_once(engine):
    gone = Recipient(agency="000.00.16.H59", to=("nghiviec@example.gov.vn",))
    with MailCatcher(refuse=gone.to) as catcher:
        store(engine, [rendered(gone)], NOW)
        report = send_due(engine, mail_to(catcher), NOW)

    [message] = outbox(engine)
    assert (message.status, message.attempts) == ("undeliverable", 1)
    assert "nghiviec@example.gov.vn (550" in message.refused
    assert report.undeliverable and catcher.received == []


def test_the_login_uses_the_credentials_given(engine):
    store(engine, [rendered(HEAD)], NOW)
    with MailCatcher(login=("giamsat", "mat-khau")) as catcher:
        wrong = send_due(engine, mail_to(catcher), NOW, credentials=("giamsat", "sai"))
        right = send_due(engine, mail_to(catcher), NOW + timedelta(hours=1), credentials=("giamsat", "mat-khau"))

    assert wrong.sent == [] and "535" in wrong.retrying[0][1]
    assert right.sent == [Due(HEAD, PERIOD).key] and len(catcher.received) == 1


def test_the_previous_report_time_is_that_of_the_last_message_to_the_recipient(engine):
    assert previous_report_time(engine, HEAD) is None
    store(engine, [rendered(HEAD, report_period("day", date(2026, 3, 30)))], NOW - timedelta(days=1))
    store(engine, [rendered(HEAD), rendered(OFFICE)], NOW)

    assert previous_report_time(engine, HEAD) == NOW
    assert previous_report_time(engine, Recipient(agency="000.00.16.H59", to=("other@example.gov.vn",))) is None
    # The report of a period compares with the one before that period: rendering the same period
    # again (`motcua report` in the morning) says what the night's message said.
    assert previous_report_time(engine, HEAD, PERIOD) == NOW - timedelta(days=1)
    assert previous_report_time(engine, HEAD, report_period("day", date(2026, 4, 1))) == NOW


def test_each_recipient_is_due_one_message_for_its_own_period(tmp_path):
    settings = Settings(path=tmp_path / "config.toml", database_url="sqlite://", recipients=(
        HEAD, replace(OFFICE, period="month")))

    due = due_messages(settings, NOW.date())
    weekly = due_messages(settings, NOW.date(), period_kind="week")

    assert [(d.recipient.agency, d.period.label) for d in due] == [("000.00.16.H59", "2026-03-30"), ("*", "2026-02")]
    assert [d.period.label for d in weekly] == ["2026-W13", "2026-W13"]


def test_a_dry_run_writes_eml_files_and_queues_nothing(engine, tmp_path):
    paths = write_eml(OutputFolder.open(tmp_path / "mail", {}), [rendered(HEAD), rendered(OFFICE)])

    assert sorted(p.name for p in paths) == [
        "000.00.16.H59-2026-03-30-giamdoc.syt_example.gov.vn.eml",
        "toan-tinh-2026-03-30-vanphong.ubnd_example.gov.vn.eml"]
    assert all(p.read_bytes().startswith(b"From: giamsat@example.gov.vn") for p in paths)
    assert outbox(engine) == []


def test_the_retry_delay_stops_doubling_at_an_hour(engine):
    store(engine, [rendered(HEAD)], NOW)
    mail = mail_to(a_port_nobody_listens_on(), retry_after_minutes=15, max_attempts=10)

    delays, at = [], NOW
    for _ in range(5):
        send_due(engine, mail, at)
        next_at = outbox(engine)[0].next_attempt_at
        delays.append(next_at - at)
        at = next_at

    assert delays == [timedelta(minutes=m) for m in (15, 30, 60, 60, 60)]
