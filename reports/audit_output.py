"""`motcua audit` output: json (interface.md), csv (the findings, or with --index-detail the
dossiers that cost the national index points), and a table for people.

JSON and CSV keep every value exact; the table shows control characters visibly
(reports/safe_text.py).

Text that a spreadsheet would read as a formula (a cell beginning with =, +, -, @, or a tab or
carriage return) is neutralised with a leading apostrophe in CSV and XLSX: the findings carry
codes and texts copied from the sources, which anyone can type.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from typing import TextIO

from monitor.statuses import FindingStatus
from monitor.terminal import render_table, terminal_text
from rules.audit import AuditFinding, AuditResult, finding_json
from rules.figures import COUNTS, RATES, Figures
from rules.index import INDICATORS, REASON_LABELS, IndexDossier, IndexRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_SLICE = 10_000

FINDING_COLUMNS = ("rule", "subject", "agency", "procedure", "due_date", "days_late", "reason", "status",
                   "first_seen", "detail")

INDEX_DETAIL_COLUMNS = ("agency", "subject", "procedure", "reason", "received_at", "appointment_at", "legal_due",
                        "due_date", "index_end", "supplement_requests")

RULE_HEADINGS = ("Quy tắc", "Vi phạm", "Miễn trừ")
FINDING_HEADINGS = ("Mã", "Đơn vị", "Hạn", "Trễ (ngày LV)", "Trạng thái", "Chi tiết")


def neutralise(value):
    """A text cell made safe for spreadsheets; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def finding_row(finding: AuditFinding) -> dict:
    """A finding as one flat row (CSV and the workbook's findings sheet)."""
    return {
        "rule": finding.rule, "subject": finding.subject, "agency": finding.agency,
        "procedure": finding.procedure,
        "due_date": finding.due_date.isoformat() if finding.due_date else None,
        "days_late": finding.days_late, "reason": finding.reason, "status": finding.status,
        "first_seen": finding.first_seen.isoformat(timespec="seconds") if finding.first_seen else None,
        "detail": finding.detail,
    }


def write_json(result: AuditResult, out: TextIO) -> None:
    """The JSON object of interface.md, compact. The findings are written in slices, so that
    hundreds of thousands of them never sit in memory twice more."""
    head, _, tail = _dumps(result.summary_json()).partition('"findings":[]')
    out.write(head + '"findings":[')
    for start in range(0, len(result.findings), JSON_SLICE):
        if start:
            out.write(",")
        out.write(",".join(map(finding_json, result.findings[start:start + JSON_SLICE])))
    out.write("]" + tail + "\n")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_csv(result: AuditResult, out: TextIO) -> None:
    """The findings, one row each; with --index-detail (result.index_detail) the dossiers that
    cost the index points instead, one row each with the machine code of why."""
    writer = csv.writer(out, lineterminator="\n")
    if result.index_detail is not None:
        columns, rows = INDEX_DETAIL_COLUMNS, [d.to_json() for d in result.index_detail]
    else:
        columns, rows = FINDING_COLUMNS, map(finding_row, result.findings)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in columns])


def write_table(result: AuditResult, out: TextIO) -> None:
    """For people: what was skipped, the figures per agency, then the findings by rule, counts first."""
    period = (f"kỳ {result.period[0]:%d/%m/%Y} – {result.period[1]:%d/%m/%Y}, " if result.period else "")
    lines = [f"Kiểm tra {period}tính đến {result.as_of:%d/%m/%Y %H:%M:%S}", ""]
    for stale in result.stale:
        lines.append(f"Nguồn chưa cập nhật: {stale['source']} ({stale['kind']}): {stale['reason']}; "
                     f"bỏ qua: {', '.join(stale['skipped_rules'])}")
    if result.stale:
        lines.append("")
    headings = Figures.headings()
    lines += render_table(list(headings.values()), [
        [f.agency, *(getattr(f, k) for k in COUNTS), *(_percent(getattr(f, k)) for k in RATES)]
        for f in result.figures], right=range(1, len(headings)))
    if result.index is not None:
        lines += ["", *index_lines(result.index)]
    if result.index_detail is not None:
        lines += ["", *index_detail_lines(result.index_detail)]
    by_rule: dict[str, list[AuditFinding]] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    lines.append("")
    counts = {rule: Counter(f.status for f in findings) for rule, findings in by_rule.items()}
    lines += render_table(RULE_HEADINGS, [[rule, c[FindingStatus.OPEN], c[FindingStatus.EXEMPTED]] for rule, c in counts.items()], right=(1, 2))
    for rule, findings in by_rule.items():
        lines += ["", f"{rule} ({len(findings)})"]
        lines += render_table(FINDING_HEADINGS, [
            [f.subject, f.agency or "", f.due_date.isoformat() if f.due_date else "",
             "" if f.days_late is None else f.days_late,
             "miễn trừ" if f.status == FindingStatus.EXEMPTED else "vi phạm", f.detail] for f in findings], right=(3,))
    if not result.findings:
        lines += ["", "Không có vi phạm."]
    # Source text reaches a terminal here: its control characters are shown, never obeyed.
    out.write("\n".join(map(terminal_text, lines)) + "\n")


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


# The index for people, within 80 columns: the rates of the indicators (their numbers as the
# headings, the legend below), the points against the maximum of those computed, then the gap
# between the index's 2.1 and the law.
INDEX_TITLE = "Chỉ số phục vụ (Quyết định 766/QĐ-TTg), tính như Cổng DVC quốc gia"
INDEX_GAP_HEADINGS = ("Đơn vị", "2.1 (chỉ số)", "Đúng hạn (luật)", "Đúng hạn chỉ số, trễ luật")
NO_APPOINTMENT = " (không có ngày hẹn trả: so với hạn luật định)"
INDEX_DETAIL_HEADINGS = ("Mã hồ sơ", "Đơn vị", "Lý do", "Hẹn trả", "Hạn luật định", "Kết thúc (chỉ số)")


def index_lines(rows: list[IndexRow]) -> list[str]:
    lines = [INDEX_TITLE]
    headings = ["Đơn vị", *(i.number for i in INDICATORS), "Điểm"]
    lines += render_table(headings, [
        [row.agency, *(_percent(row.scores[i.id].rate) for i in INDICATORS), _points(row)] for row in rows],
        right=range(1, len(headings)))
    lines += ["  " + "; ".join(f"{i.number} {i.short}" for i in INDICATORS[:4]) + ";",
              "  " + "; ".join(f"{i.number} {i.short}" for i in INDICATORS[4:]) + ".",
              "  Điểm: tổng điểm / điểm tối đa của các chỉ số tính được; —: không tính được.", ""]
    lines.append("Chỉ số 2.1 (so với ngày hẹn trả) và tỷ lệ đúng hạn theo luật (hạn luật định)")
    lines += render_table(INDEX_GAP_HEADINGS, [
        [row.agency, _percent(row.scores["idx_2_1_on_time"].rate), _percent(row.law_on_time_rate),
         "—" if row.on_time_for_index_late_in_law is None else row.on_time_for_index_late_in_law]
        for row in rows], right=(1, 2, 3))
    return lines


def index_detail_lines(dossiers: list[IndexDossier]) -> list[str]:
    lines = [f"Hồ sơ làm giảm điểm 2.1, và hồ sơ đúng hạn theo chỉ số nhưng trễ theo luật ({len(dossiers)})"]
    if not dossiers:
        return lines + ["Không có."]
    return lines + render_table(INDEX_DETAIL_HEADINGS, [
        [d.subject, d.agency, REASON_LABELS[d.reason] + ("" if d.appointment_at else NO_APPOINTMENT),
         _moment(d.appointment_at),
         d.legal_due.strftime("%d/%m/%Y") if d.legal_due else "—", _moment(d.index_end)] for d in dossiers])


def _points(row: IndexRow) -> str:
    if row.points_total is None:
        return "—"
    return f"{row.points_total:.1f}/{row.max_total:g}"


def _moment(value) -> str:
    return "—" if value is None else f"{value:%d/%m/%Y %H:%M}"
