"""A report as a mail: HTML with a plain-text alternative, and the XLSX attached.

The message is built once, stored whole in the outbox and sent byte for byte, so a send that is
repeated after a crash carries the same Message-ID and a mail client shows it once.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from monitor.clock import LOCAL_ZONE
from reports.content import AgencyReport, ProvinceReport, StaleNotice
from reports.links import Links
from reports.periods import ReportPeriod
from reports.render import number, render
from reports.safe_text import file_name_part, header_text, mailbox

# Python 3.11 folds a long non-ASCII Subject into encoded words with the space between two of
# them outside both, and readers drop such a space ("báo cáo" arrives as "báocáo"). Headers are
# therefore written unfolded; bodies are encoded with short lines by then, whatever this says.
WIRE = SMTP.clone(max_line_length=998)

SUBJECT_PREFIX = "[Giám sát một cửa]"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
LIST_LIMIT = 50  # breaches listed per section in a mail; the attachment has them all


def agency_message(report: AgencyReport, *, sender: str, to: Sequence[str], workbook: bytes,
                   from_name: str = "") -> EmailMessage:
    subject = _subject(report.agency_name, report.period, len(report.new), report.open_count, report.stale)
    return compose(
        sender=sender, from_name=from_name, to=to, subject=subject, sent_at=report.generated_at,
        html=render("agency.html.j2", report=report, limit=LIST_LIMIT),
        text=render("agency.txt.j2", report=report, limit=LIST_LIMIT),
        workbook=workbook, workbook_name=f"vi-pham-{report.agency_code}-{report.period.label}.xlsx",
    )


def province_message(report: ProvinceReport, *, sender: str, to: Sequence[str], workbook: bytes,
                     from_name: str = "") -> EmailMessage:
    subject = _subject("Tổng hợp toàn tỉnh", report.period, report.new_count, report.open_count, report.stale)
    return compose(
        sender=sender, from_name=from_name, to=to, subject=subject, sent_at=report.generated_at,
        html=render("province.html.j2", report=report),
        text=render("province.txt.j2", report=report),
        workbook=workbook, workbook_name=f"vi-pham-toan-tinh-{report.period.label}.xlsx",
    )


def operator_message(stale: Sequence[StaleNotice], made_at: datetime, *, sender: str, to: Sequence[str],
                     from_name: str = "", links: Links | None = None) -> EmailMessage:
    """`[mail] operator`: the sources' technical errors, which no agency head is sent."""
    subject = (f"{SUBJECT_PREFIX} Nguồn dữ liệu lỗi lúc {made_at:%d/%m/%Y %H:%M}: "
               + ", ".join(notice.source for notice in stale))
    return compose(
        sender=sender, from_name=from_name, to=to, subject=subject, sent_at=made_at,
        html=render("operator.html.j2", stale=stale, made_at=made_at, links=links or Links()),
        text=render("operator.txt.j2", stale=stale, made_at=made_at, links=links or Links()),
        workbook=None,
    )


def compose(*, sender: str, to: Sequence[str], subject: str, sent_at: datetime, html: str, text: str,
            workbook: bytes | None, workbook_name: str = "", from_name: str = "") -> EmailMessage:
    # Headers from objects and folded text, never pasted strings: an agency name with a CR LF
    # stays one line, a display name with a comma is quoted by the policy.
    message = EmailMessage(policy=SMTP)
    sender_address = mailbox(sender)
    if from_name and not sender_address.display_name:
        # `[mail] from_name`, unless `sender` names itself ("Văn phòng <giamsat@...>").
        sender_address = Address(display_name=header_text(from_name), addr_spec=sender_address.addr_spec)
    message["From"] = sender_address
    message["To"] = [mailbox(address) for address in to]
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(sent_at.replace(tzinfo=LOCAL_ZONE))
    message["Message-ID"] = make_msgid(domain=sender_address.domain or None)
    # Made by a program (RFC 3834): no out-of-office or other automatic answer should come back.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    if workbook is not None:
        message.add_attachment(workbook, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                               filename=file_name_part(workbook_name))
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it is stored in the outbox and sent."""
    return message.as_bytes(policy=WIRE)


def _subject(whom: str, period: ReportPeriod, new: int, open_: int, stale: list) -> str:
    # Stale data is said in the subject too: a reader who sees only the subject must not trust it.
    return (f"{SUBJECT_PREFIX} {whom}: báo cáo {period.title} – {number(new)} vi phạm mới, {number(open_)} đang tồn tại"
            + (" (dữ liệu nguồn chưa đầy đủ)" if stale else ""))
