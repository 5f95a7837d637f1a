"""process.*: where a dossier got stuck, from the stream's processing steps (rules.md "More rules
(second round)"), and the overrun per department that the reports add up.

A step of `CapNhatTienDoHoSoMC` (a `processing_step` row) is **late** when it has a due time
(NgayKetThucTheoQuyDinh, `due_at`) and was taken (ThoiDiemXuLy, `acted_at`, <= T) after it,
compared as date-times. How far it **overran** is counted on the working-day calendar: the number
of working days d with date(due_at) < d <= date(acted_at), i.e. the ordinal of date(acted_at)
minus that of date(due_at) in the audit's working-day tables, as ontime.late counts its days. A
step taken later on its due date, or on the days off right after it, is late by 0 working days.

Only the stream carries steps (sources.md section 4): a one-stop kind whose dossiers lack
PROCESSING_STEPS has no part of the rule, and the rule judges the dossiers of the parts that run
(the fresh streams). A step is matched to its dossier by the code key; a step whose dossier is
not in the store, or not received by T, gives nothing.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Select, String, exists, func, literal, select

from monitor.models import Dossier, ProcessingStep
from rules.base import PROCESSING_STEPS, AuditContext, Rule, audit_finding, finding
from rules.due import audit_dossier as ad
from rules.sql import date_of, moment_text, text_list, text_of
from rules.workdays import calendar_day

# How a step without a department (PhongBanXuLy empty) is named, in the findings and the sums.
UNKNOWN_DEPARTMENT = "không rõ phòng ban"


class StepLate(Rule):
    """A processing step taken after its own due time; one finding per dossier, listing each late
    step with its department and the working days it overran (days_late: their sum)."""
    id = "process.step_late"
    title = "Bước xử lý hồ sơ trễ hạn theo quy trình nội bộ"
    action = ("Rà soát các phòng ban xử lý trễ (xem tổng hợp theo phòng ban), làm rõ nguyên nhân và "
              "điều chỉnh phân công hoặc quy trình nội bộ để hồ sơ không bị ách tắc.")
    urgency = 65
    subject = "dossier"
    needs = frozenset()
    per_source = True
    only_with_facts = frozenset({PROCESSING_STEPS})

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select | None:
        if not parts:
            return None  # no fresh source carries steps
        steps = late_steps(context, parts).subquery("late_steps")
        s = steps.c
        in_order = dict(partition_by=s.code, order_by=(s.acted_at, s.department, s.identity))
        piece = text_of(s.department, " trễ ", s.overrun, " ngày làm việc (hạn ", moment_text(s.due_at),
                        ", xử lý ", moment_text(s.acted_at), ")")
        listed = select(
            s.code, s.agency, s.procedure, s.received_on,
            text_list(piece, literal("; ", String)).over(**in_order, rows=(None, None)).label("listing"),
            func.count().over(partition_by=s.code).label("late_steps"),
            func.sum(s.overrun).over(partition_by=s.code).label("overrun_days"),
            func.row_number().over(**in_order).label("n"),
        ).subquery("listed")
        x = listed.c
        return (
            select(*finding(
                self.id, subject=x.code, agency=x.agency, procedure=x.procedure, received=x.received_on,
                days_late=x.overrun_days,
                detail=text_of(x.late_steps, " bước xử lý trễ hạn: ", x.listing)))
            .where(x.n == 1)
        )


def late_steps(context: AuditContext, sources: frozenset[str]) -> Select:
    """One row per late step (taken by T, after its non-empty due time) of a dossier of `sources`
    received by T: the dossier's code, agency, procedure and receipt date, the step's department
    (UNKNOWN_DEPARTMENT when empty), times, identity and overrun in working days (NULL only when a
    date lies outside the audit's working-day tables: a due time more than eleven years before T)."""
    step, dossier = ProcessingStep.__table__, Dossier.__table__
    due_day = calendar_day.alias("step_due_day")
    acted_day = calendar_day.alias("step_acted_day")
    department = func.coalesce(func.nullif(func.trim(step.c.department), ""), literal(UNKNOWN_DEPARTMENT, String))
    return (
        select(ad.c.code, ad.c.agency, ad.c.procedure, ad.c.received_on, department.label("department"),
               step.c.acted_at, step.c.due_at, step.c.identity,
               (acted_day.c.ordinal - due_day.c.ordinal).label("overrun"))
        .select_from(step.join(dossier, dossier.c.code_key == step.c.dossier_key)
                     .join(ad, ad.c.code == dossier.c.code)
                     .outerjoin(due_day, due_day.c.day == date_of(step.c.due_at))
                     .outerjoin(acted_day, acted_day.c.day == date_of(step.c.acted_at)))
        .where(step.c.due_at.is_not(None), step.c.acted_at <= context.as_of, step.c.acted_at > step.c.due_at,
               ad.c.source.in_(sorted(sources)))
    )


class DepartmentOverrun(NamedTuple):
    """The late steps of one department of an agency: "Phòng X: 14 bước trễ, 31 ngày làm việc"."""
    agency: str
    department: str
    late_steps: int
    overrun_days: int     # working days overrun, summed over its late steps

    def to_json(self) -> dict:
        return self._asdict()


def department_overruns(context: AuditContext, running: dict[str, frozenset[str]],
                        agency: str | None = None) -> list[DepartmentOverrun]:
    """Per agency (or for `agency` only) and department, the late steps and the working days they
    overran, over the dossiers that have a process.step_late finding in this audit (so after
    monitor_from and the skipped parts, like the findings; exemptions do not change a count).
    Set-wise: one GROUP BY on the audit's connection, after the rules ran. Ordered by agency, then
    the most working days overrun, the most late steps, and the department's name (code points).
    Empty when the rule did not run."""
    parts = running.get(StepLate.id)
    if not parts:
        return []
    steps = late_steps(context, parts).subquery("late_steps")
    s, f = steps.c, audit_finding
    query = (
        select(s.agency, s.department, func.count().label("late_steps"),
               func.coalesce(func.sum(s.overrun), 0).label("overrun_days"))
        .where(exists().where(f.c.rule == StepLate.id, f.c.subject == s.code))
        .group_by(s.agency, s.department)
    )
    if agency is not None:
        query = query.where(s.agency == agency)
    rows = [DepartmentOverrun(a, d, int(n), int(days)) for a, d, n, days in context.connection.execute(query)]
    return sorted(rows, key=lambda r: (r.agency, -r.overrun_days, -r.late_steps, r.department))
