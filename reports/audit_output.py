"""`motcua audit` output: json (interface.md), csv (the findings), and a table for people.

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

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_SLICE = 10_000

FINDING_COLUMNS = ("rule", "subject", "agency", "procedure", "due_date", "days_late", "reason", "status",
                   "first_seen", "detail")

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
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FINDING_COLUMNS)
    for finding in result.findings:
        row = finding_row(finding)
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in FINDING_COLUMNS])


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
