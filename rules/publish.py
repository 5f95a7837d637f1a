"""The stage after the audit: store what the reports show, so that a report only reads.

One snapshot per audit at the present moment (report_snapshot): its findings with the names, the
masked applicant, the fees and the exemption that covers each (report_finding), the names of the
agencies (report_agency), the late processing steps summed per agency and department
(report_department: where dossiers get stuck), the figures as of that moment (kept night after night, for trends),
and the figures of each report period asked for, each as of the end of its period
(report_figures). Of snapshots older than a day only the figures as of their moment are kept.

Applicant names are masked here, as they are read, so a full name is never stored twice and never
reaches a template or an attachment; ID numbers are never read.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from monitor.config import Settings
from monitor.models import (Agency, Dossier, Fee, Procedure, ReportAgency, ReportDepartment, ReportFigures,
                            ReportFinding, ReportSnapshot)
from monitor.statuses import FindingStatus
from rules.audit import AuditResult, audit_figures
from rules.exemptions import Exemptions
from rules import registry
from rules.sql import end_of

BATCH = 500
KEPT_WHOLE = timedelta(days=1)


def mask_name(name: str | None) -> str:
    """An applicant's name as a report may show it: the family name, then initials.

    "Nguyễn Văn An" -> "Nguyễn V. A."; a one-word name keeps only its initial.
    """
    words = unicodedata.normalize("NFC", name or "").split()
    if not words:
        return ""
    initials = [f"{word[0]}." for word in words[1:]]
    if not initials:
        return f"{words[0][0]}."
    return " ".join([words[0], *initials])


def publish(engine: Engine, settings: Settings, audit: AuditResult,
            periods: Iterable[tuple[date, date]]) -> int:
    """Store the snapshot of `audit` (an audit at the present moment) with the figures of
    `periods`, each as of its end; the id of the snapshot."""
    now = audit.as_of
    period_figures = {period: audit_figures(engine, settings, as_of=end_of(period[1]), now=now, period=period)
                      for period in sorted(set(periods))}
    with engine.begin() as connection:
        snapshot = connection.execute(insert(ReportSnapshot).values(made_at=now, stale=audit.stale)
                                      .returning(ReportSnapshot.id)).scalar_one()
        # Snapshots older than a day keep only their figures as of their moment: one set a night,
        # for trends. A younger one may still be rendering (a `motcua report` beside the night's run).
        older = select(ReportSnapshot.id).where(ReportSnapshot.made_at < now - KEPT_WHOLE)
        connection.execute(delete(ReportFinding).where(ReportFinding.snapshot_id.in_(older)))
        connection.execute(delete(ReportDepartment).where(ReportDepartment.snapshot_id.in_(older)))
        connection.execute(delete(ReportFigures).where(ReportFigures.snapshot_id.in_(older),
                                                       ReportFigures.period_start.is_not(None)))
        _store_agencies(connection, snapshot)
        _store_findings(connection, snapshot, audit)
        _store_departments(connection, snapshot, audit)
        _store_figures(connection, snapshot, None, audit.figures)
        for period, result in period_figures.items():
            _store_figures(connection, snapshot, period, result.figures)
    return snapshot


def _store_agencies(connection: Connection, snapshot: int) -> None:
    rows = [{"snapshot_id": snapshot, "code": code, "name": name}
            for code, name in connection.execute(select(Agency.code, Agency.name))]
    if rows:
        connection.execute(insert(ReportAgency), rows)


def _store_findings(connection: Connection, snapshot: int, audit: AuditResult) -> None:
    procedure_names = dict(connection.execute(select(Procedure.code, Procedure.name)).all())
    applicants, fees = _dossier_facts(connection, [f.subject for f in audit.findings
                                                      if registry.by_id(f.rule).subject == "dossier"])
    exemptions = Exemptions(connection, audit.as_of)
    rows = []
    for f in audit.findings:
        exemption = exemptions.covering(f.rule, f.subject, f.agency) if f.status == FindingStatus.EXEMPTED else None
        rows.append({
            "snapshot_id": snapshot, "rule": f.rule, "subject": f.subject, "agency": f.agency,
            "procedure": f.procedure, "procedure_name": procedure_names.get(f.procedure) if f.procedure else None,
            "applicant": applicants.get(f.subject, ""), "due_date": f.due_date, "days_late": f.days_late,
            "detail": f.detail, "status": f.status, "reason": f.reason, "first_seen": f.first_seen,
            "fee": fees.get(f.subject) if registry.by_id(f.rule).shows_fee else None,
            "exemption_reason": exemption.reason if exemption else None,
            "exemption_until": exemption.until if exemption else None,
        })
    for start in range(0, len(rows), 10 * BATCH):
        connection.execute(insert(ReportFinding), rows[start:start + 10 * BATCH])


def _store_departments(connection: Connection, snapshot: int, audit: AuditResult) -> None:
    """process.step_late per agency and department (rules.process.department_overruns), in the
    audit's order: a report reads an agency's rows by `id`."""
    rows = [{"snapshot_id": snapshot, **d.to_json()} for d in audit.departments]
    if rows:
        connection.execute(insert(ReportDepartment), rows)


def _store_figures(connection: Connection, snapshot: int, period: tuple[date, date] | None, figures) -> None:
    start, end = period or (None, None)
    rows = [{"snapshot_id": snapshot, "period_start": start, "period_end": end, **f.to_json()} for f in figures]
    if rows:
        connection.execute(insert(ReportFigures), rows)


def _dossier_facts(connection: Connection, codes: Iterable[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Masked applicant names and total fees of the dossiers, read in batches."""
    codes = sorted(set(codes))
    applicants: dict[str, str] = {}
    fees: dict[str, int] = {}
    for start in range(0, len(codes), BATCH):
        batch = codes[start:start + BATCH]
        for code, name in connection.execute(
                select(Dossier.code, Dossier.applicant_name).where(Dossier.code.in_(batch))):
            applicants[code] = mask_name(name)
        fees.update(connection.execute(
            select(Fee.dossier_code, func.sum(Fee.amount))
            .where(Fee.dossier_code.in_(batch)).group_by(Fee.dossier_code)).all())
    return applicants, fees
