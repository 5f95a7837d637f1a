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
from json.encoder import encode_basestring
from collections import Counter
from typing import TextIO

from reports.safe_text import terminal_text
from rules.audit import EXEMPTED, OPEN, AuditFinding, AuditResult
from rules.figures import COUNTS, RATES

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_SLICE = 10_000

FINDING_COLUMNS = ("rule", "subject", "agency", "procedure", "due_date", "days_late", "reason", "status",
                   "first_seen", "detail")

# Headings of the figures, in Vietnamese as on the official statistics form.
FIGURE_HEADINGS = {
    "agency": "Đơn vị",
    "received_total": "Tiếp nhận",
    "received_online": "Trực tuyến",
    "received_offline": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước chuyển qua",
    "resolved_total": "Đã giải quyết",
    "resolved_early": "Trả trước hạn",
    "resolved_on_time": "Trả đúng hạn",
    "resolved_late": "Trả quá hạn",
    "in_progress_total": "Đang giải quyết",
    "in_progress_within": "Trong hạn",
    "in_progress_overdue": "Quá hạn",
    "on_time_rate": "Tỷ lệ đúng hạn",
    "entry_rate": "Tỷ lệ nhập",
    "sync_rate": "Tỷ lệ đồng bộ",
    "online_payment_rate": "Tỷ lệ TT trực tuyến",
}
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


def finding_json(finding: AuditFinding) -> str:
    """`json.dumps(finding.to_json())`, compact, to the character, written directly: a dict per
    finding through the encoder takes three times as long, and an audit has hundreds of
    thousands of findings."""
    f = finding
    text = (f'{{"rule":{_string(f.rule)},"subject":{_string(f.subject)},"agency":{_string(f.agency)},'
            f'"procedure":{_string(f.procedure)}')
    if f.shows_due_date:
        text += f',"due_date":{_string(f.due_date.isoformat() if f.due_date else None)}'
    text += f',"detail":{_string(f.detail)},"status":{_string(f.status)}'
    if f.reason is not None:
        text += f',"reason":{_string(f.reason)}'
    if f.days_late is not None:
        text += f',"days_late":{int(f.days_late)!r}'
    if f.first_seen is not None:
        text += f',"first_seen":{_string(f.first_seen.isoformat(timespec="seconds"))}'
    return text + "}"


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


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
    lines += _grid([FIGURE_HEADINGS[k] for k in FIGURE_HEADINGS],
                   [[f["agency"], *(f[k] for k in COUNTS), *(_percent(f[k]) for k in RATES)] for f in result.figures])
    by_rule: dict[str, list[AuditFinding]] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    lines.append("")
    counts = {rule: Counter(f.status for f in findings) for rule, findings in by_rule.items()}
    lines += _grid(RULE_HEADINGS, [[rule, c[OPEN], c[EXEMPTED]] for rule, c in counts.items()])
    for rule, findings in by_rule.items():
        lines += ["", f"{rule} ({len(findings)})"]
        lines += _grid(FINDING_HEADINGS, [
            [f.subject, f.agency or "", f.due_date.isoformat() if f.due_date else "",
             "" if f.days_late is None else f.days_late,
             "miễn trừ" if f.status == EXEMPTED else "vi phạm", f.detail] for f in findings])
    if not result.findings:
        lines += ["", "Không có vi phạm."]
    # Source text reaches a terminal here: its control characters are shown, never obeyed.
    out.write("\n".join(map(terminal_text, lines)) + "\n")


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, str) and (value.endswith("%") or value == "—"))


def _grid(headings, rows) -> list[str]:
    """Columns padded to their widest cell; numbers to the right."""
    cells = [[str(h) for h in headings]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headings))]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headings))]

    def line(row):
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric)).rstrip()
    return [line(cells[0]), line(["-" * w for w in widths]), *(line(row) for row in cells[1:])]
