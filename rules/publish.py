"""The stage after the audit: store what the reports show, so that a report only reads.

One snapshot per audit at the present moment (report_snapshot): its findings with the names, the
masked applicant, the fees and the exemption that covers each (report_finding), the names of the
agencies (report_agency), the late processing steps summed per agency and department
(report_department: where dossiers get stuck), the figures as of that moment (kept night after night, for trends),
and the figures of each report period asked for, each as of the end of its period
(report_figures), with the national index of that period (report_index, rules.index). Of
snapshots older than a day only the figures as of their moment are kept.

Two more kinds of findings come from the history, for "compared with before": the open findings
of a rule (or part of one) that the audit skipped because a source is stale, carried forward with
the moment they were last checked (`checked_at`), since a missing source must never look like a
fix; and the findings resolved after `resolved_since` (status resolved, `resolved_at`).

Applicant names are masked here, as they are read, so a full name is never stored twice and never
reaches a template or an attachment; ID numbers are never read.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from monitor.config import Settings
from monitor.models import (Agency, Dossier, Fee, Finding, Procedure, ReportAgency, ReportDepartment, ReportFigures,
                            ReportFinding, ReportIndex, ReportSnapshot)
from monitor.statuses import FindingStatus
from rules.audit import AuditResult, audit_figures
from rules.exemptions import Exemptions
from rules.index import IndexRow
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
            periods: Iterable[tuple[date, date]], resolved_since: datetime | None = None) -> int:
    """Store the snapshot of `audit` (an audit at the present moment, after it updated the
    findings history) with the figures of `periods`, each as of its end, and the findings resolved
    after `resolved_since` (none without it); the id of the snapshot."""
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
        connection.execute(delete(ReportIndex).where(ReportIndex.snapshot_id.in_(older)))
        _store_agencies(connection, snapshot)
        _store_findings(connection, snapshot, audit, resolved_since)
        _store_departments(connection, snapshot, audit)
        _store_figures(connection, snapshot, None, audit.figures)
        for period, result in period_figures.items():
            _store_figures(connection, snapshot, period, result.figures)
            _store_index(connection, snapshot, period, result.index or [])
    return snapshot


def _store_agencies(connection: Connection, snapshot: int) -> None:
    rows = [{"snapshot_id": snapshot, "code": code, "name": name}
            for code, name in connection.execute(select(Agency.code, Agency.name))]
    if rows:
        connection.execute(insert(ReportAgency), rows)


def _store_findings(connection: Connection, snapshot: int, audit: AuditResult,
                    resolved_since: datetime | None) -> None:
    procedure_names = dict(connection.execute(select(Procedure.code, Procedure.name)).all())
    exemptions = Exemptions(connection, audit.as_of)
    carried = _carried_forward(connection, audit)
    resolved = _resolved(connection, audit.as_of, resolved_since)
    # (finding, status, checked_at, resolved_at)
    found = [(f, f.status, None, None) for f in audit.findings]
    found += [(f, FindingStatus.EXEMPTED if exemptions.cover(f.rule, f.subject, f.agency_code) else FindingStatus.OPEN,
               f.last_seen, None) for f in carried]
    found += [(f, FindingStatus.RESOLVED, None, f.resolved_at) for f in resolved]
    applicants, fees = _dossier_facts(connection, [f.subject for f, *_ in found
                                                      if registry.by_id(f.rule).subject == "dossier"])
    rows = []
    for f, status, checked_at, resolved_at in found:
        agency = f.agency if checked_at is None and resolved_at is None else f.agency_code
        procedure = f.procedure if checked_at is None and resolved_at is None else f.procedure_code
        exemption = exemptions.covering(f.rule, f.subject, agency) if status == FindingStatus.EXEMPTED else None
        rows.append({
            "snapshot_id": snapshot, "rule": f.rule, "subject": f.subject, "agency": agency,
            "procedure": procedure, "procedure_name": procedure_names.get(procedure) if procedure else None,
            "applicant": applicants.get(f.subject, ""), "due_date": f.due_date,
            "days_late": getattr(f, "days_late", None), "detail": f.detail or "", "status": status,
            "reason": getattr(f, "reason", None), "first_seen": f.first_seen,
            "fee": fees.get(f.subject) if registry.by_id(f.rule).shows_fee else None,
            "exemption_reason": exemption.reason if exemption else None,
            "exemption_until": exemption.until if exemption else None,
            "checked_at": checked_at, "resolved_at": resolved_at,
        })
    for start in range(0, len(rows), 10 * BATCH):
        connection.execute(insert(ReportFinding), rows[start:start + 10 * BATCH])


def _carried_forward(connection: Connection, audit: AuditResult) -> list:
    """The history's open findings that the audit did not find because their rule, or the part of
    it that found them, was skipped: the last known breaches, not checked again."""
    skipped_rules = {name for name in audit.skipped_rules if ":" not in name}
    skipped_parts = {tuple(name.split(":", 1)) for name in audit.skipped_rules if ":" in name}
    if not audit.skipped_rules:
        return []
    rules = sorted({rule for rule in skipped_rules} | {rule for rule, _ in skipped_parts})
    found = {(f.rule, f.subject) for f in audit.findings if f.rule in rules}
    history = Finding.__table__
    rows = connection.execute(select(history).where(history.c.status == FindingStatus.OPEN,
                                                    history.c.rule.in_(rules))
                              .order_by(history.c.rule, history.c.subject)).all()
    known = set(registry.rule_ids())
    return [row for row in rows
            if row.rule in known and (row.rule, row.subject) not in found
            and (row.rule in skipped_rules
                 or any((row.rule, part) in skipped_parts for part in (row.parts or "").split(",") if part))]


def _resolved(connection: Connection, now: datetime, since: datetime | None) -> list:
    """The history's findings resolved after `since` (and by `now`)."""
    if since is None:
        return []
    history = Finding.__table__
    known = set(registry.rule_ids())
    rows = connection.execute(select(history).where(history.c.status == FindingStatus.RESOLVED,
                                                    history.c.resolved_at > since, history.c.resolved_at <= now)
                              .order_by(history.c.rule, history.c.subject)).all()
    return [row for row in rows if row.rule in known]


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


def finding_names(connection: Connection, findings: Iterable) -> tuple[dict[str, str], dict[str, str]]:
    """The procedures' names by code and the applicants' masked names by dossier code, of these
    findings (for the workbook of `motcua audit --format xlsx`)."""
    findings = list(findings)
    procedures = {f.procedure for f in findings if f.procedure}
    names = {code: name for code, name in connection.execute(select(Procedure.code, Procedure.name))
             if code in procedures}
    applicants, _ = _dossier_facts(connection, [f.subject for f in findings
                                                if registry.by_id(f.rule).subject == "dossier"])
    return names, applicants


def _store_index(connection: Connection, snapshot: int, period: tuple[date, date], rows: list[IndexRow]) -> None:
    stored = [{"snapshot_id": snapshot, "period_start": period[0], "period_end": period[1], "agency": row.agency,
               "indicators": {name: score.to_json() for name, score in row.scores.items()},
               "points_total": row.points_total, "max_total": row.max_total,
               "law_on_time_rate": row.law_on_time_rate,
               "on_time_for_index_late_in_law": row.on_time_for_index_late_in_law} for row in rows]
    if stored:
        connection.execute(insert(ReportIndex), stored)


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
