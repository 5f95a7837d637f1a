"""ontime.*: dossiers resolved by their due date, honest appointments, apologies when late."""
from __future__ import annotations

from sqlalchemy import Select, exists, select

from monitor.models import ApologyLetter
from rules.base import APOLOGY_LETTERS, CATALOGUE, AuditContext, Parameter, Rule, finding
from rules.due import LATE, OVERDUE, audit_dossier as ad
from rules.sql import date_of, day_text, moment_text, text_of
from rules.workdays import calendar_day, working_day

NEEDS = frozenset({CATALOGUE})

# Working days before D' by which an apology letter must be issued.
APOLOGY_LEAD_DAYS = Parameter("apology_lead_days", int, 0)


class OnTimeRule(Rule):
    """What the ontime rules share: they judge due dates, which their findings show."""
    subject = "dossier"
    needs = NEEDS
    per_source = True
    shows_due_date = True


class Late(OnTimeRule):
    """Resolved (status 9 or 10) after its effective due date D'."""
    id = "ontime.late"
    title = "Hồ sơ giải quyết quá hạn"
    action = "Làm rõ nguyên nhân chậm và trách nhiệm của bộ phận, cá nhân liên quan."
    urgency = 60
    # The split of the resolved and in-progress dossiers by their due dates (rules.md "When a
    # source is stale": the figures that need what the ontime rules need).
    figures_needing_it = ("resolved_early", "resolved_on_time", "resolved_late", "in_progress_within",
                          "in_progress_overdue", "on_time_rate")

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


class Overdue(OnTimeRule):
    """In progress at T, not paused, and date(T) is after D'."""
    id = "ontime.overdue"
    title = "Hồ sơ đang giải quyết đã quá hạn"
    action = "Khẩn trương giải quyết; gửi văn bản xin lỗi và hẹn lại ngày trả kết quả."
    urgency = 10

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


class DueDatePadded(OnTimeRule):
    """The receipt's appointment (NgayHenTra, as it stands) is a later date than the legal D."""
    id = "ontime.due_date_padded"
    title = "Ngày hẹn trả dài hơn thời hạn giải quyết theo quy định"
    action = "Điều chỉnh ngày hẹn trả theo đúng thời hạn giải quyết của thủ tục."
    urgency = 70

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, due_date=ad.c.legal_due,
                received=ad.c.received_on,
                detail=text_of("Phiếu hẹn trả ", day_text(ad.c.appointment_at), ", muộn hơn hạn theo quy định ",
                               day_text(ad.c.legal_due))))
            .where(ad.c.known_limit, date_of(ad.c.appointment_at) > ad.c.legal_due)
        )


class NoApology(OnTimeRule):
    """Late or overdue, with no apology letter issued (by T) on or before the apology_lead_days-th
    working day before D'. The stream carries no apology letters: its dossiers are not judged
    (the part of each stream source is skipped, and named)."""
    id = "ontime.no_apology"
    title = "Hồ sơ quá hạn chưa có văn bản xin lỗi"
    action = "Ban hành văn bản xin lỗi tổ chức, cá nhân và hẹn lại thời gian trả kết quả."
    urgency = 20
    dossier_facts = frozenset({APOLOGY_LETTERS})
    parameters = (APOLOGY_LEAD_DAYS,)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        letters = ApologyLetter.__table__
        lead = context.value(APOLOGY_LEAD_DAYS)
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
