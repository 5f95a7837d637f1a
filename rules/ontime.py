"""ontime.*: dossiers resolved by their due date, honest appointments, apologies when late."""
from __future__ import annotations

from sqlalchemy import Select, exists, select

from monitor.models import ApologyLetter
from rules.base import CATALOGUE, ONESTOP, AuditContext, Rule, finding
from rules.due import LATE, OVERDUE, audit_dossier as ad
from rules.sql import date_of, day_text, moment_text, text_of
from rules.workdays import calendar_day, working_day

NEEDS = frozenset({ONESTOP, CATALOGUE})


class Late(Rule):
    """Resolved (status 9 or 10) after its effective due date D'."""
    id = "ontime.late"
    subject = "dossier"
    needs = NEEDS

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        finish_day = calendar_day.alias("finish_day")
        due_day = calendar_day.alias("due_day")
        days_late = finish_day.c.ordinal - due_day.c.ordinal
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.due_date,
                days_late=days_late, received=ad.c.received_on,
                detail=text_of("Giải quyết xong ", moment_text(ad.c.end_at), ", trễ ", days_late,
                               " ngày làm việc so với hạn ", day_text(ad.c.due_date))))
            .select_from(ad.outerjoin(finish_day, finish_day.c.day == date_of(ad.c.end_at))
                         .outerjoin(due_day, due_day.c.day == ad.c.due_date))
            .where(ad.c.state == LATE)
        )


class Overdue(Rule):
    """In progress at T, not paused, and date(T) is after D'."""
    id = "ontime.overdue"
    subject = "dossier"
    needs = NEEDS

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        due_day = calendar_day.alias("due_day")
        days_late = context.workdays.ordinal(context.day) - due_day.c.ordinal
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.due_date,
                days_late=days_late, received=ad.c.received_on,
                detail=text_of("Đang giải quyết, quá hạn ", days_late, " ngày làm việc (hạn ",
                               day_text(ad.c.due_date), ")")))
            .select_from(ad.outerjoin(due_day, due_day.c.day == ad.c.due_date))
            .where(ad.c.state == OVERDUE)
        )


class DueDatePadded(Rule):
    """The receipt's appointment (NgayHenTra, as it stands) is a later date than the legal D."""
    id = "ontime.due_date_padded"
    subject = "dossier"
    needs = NEEDS

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.legal_due,
                received=ad.c.received_on,
                detail=text_of("Phiếu hẹn trả ", day_text(ad.c.appointment_at), ", muộn hơn hạn theo quy định ",
                               day_text(ad.c.legal_due))))
            .where(ad.c.known_limit, date_of(ad.c.appointment_at) > ad.c.legal_due)
        )


class NoApology(Rule):
    """Late or overdue, with no apology letter issued (by T) on or before the apology_lead_days-th
    working day before D'."""
    id = "ontime.no_apology"
    subject = "dossier"
    needs = NEEDS
    parameters = ("apology_lead_days",)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        letters = ApologyLetter.__table__
        lead = context.settings.apology_lead_days
        source, deadline = ad, ad.c.due_date
        if lead:
            # The lead-th working day before D' (D' itself not counted, whether or not it is a working day).
            due_day = calendar_day.alias("due_day")
            before = working_day.alias("apology_deadline")
            source = ad.join(due_day, due_day.c.day == ad.c.due_date).outerjoin(
                before, before.c.ordinal == due_day.c.ordinal - due_day.c.working - lead + 1)
            deadline = before.c.day
        apologised = exists().where(letters.c.dossier_code == ad.c.code, letters.c.issued_at <= context.as_of,
                                    date_of(letters.c.issued_at) <= deadline)
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.due_date,
                received=ad.c.received_on,
                detail=text_of("Trễ hạn (hạn ", day_text(ad.c.due_date),
                               ") mà không có văn bản xin lỗi ban hành đến ", day_text(deadline))))
            .select_from(source)
            .where(ad.c.state.in_((LATE, OVERDUE)), ~apologised)
        )
