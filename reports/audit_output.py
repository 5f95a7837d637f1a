"""`motcua audit` output: json (interface.md), csv (the findings, or with --index-detail the
dossiers that cost the national index points), and a table for people.

JSON and CSV are machine formats (their field names never change; CSV starts with a byte-order
mark for Excel); the table is for people, in Vietnamese, its numbers written as people write them
(monitor/terminal.py), 80 columns wide unless asked for every column.

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
from collections.abc import Callable, Mapping
from typing import TextIO

from monitor.sources import kind_label
from monitor.statuses import FindingStatus
from monitor.terminal import DEFAULT_WIDTH, NOT_KNOWN, UNLIMITED, day, number, percent, render_table, wrapped
from rules import registry
from rules.audit import AuditFinding, AuditResult, finding_json
from rules.base import Rule
from rules.figures import COUNTS, PROVINCE, RATES, Figures
from rules.index import INDICATORS, REASON_LABELS, IndexDossier, IndexRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
JSON_SLICE = 10_000

FINDING_COLUMNS = ("rule", "subject", "agency", "procedure", "due_date", "days_late", "reason", "status",
                   "first_seen", "detail")

BOM = "\ufeff"

INDEX_DETAIL_COLUMNS = ("agency", "subject", "procedure", "reason", "received_at", "appointment_at", "legal_due",
                        "due_date", "index_end", "supplement_requests")


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
    """The findings, one row each, under their machine header (FINDING_COLUMNS); with
    --index-detail (result.index_detail) the dossiers that cost the index points instead, one row
    each with the machine code of why. The first character is a byte-order mark, without which
    Excel on Windows reads the UTF-8 as another code page and garbles the Vietnamese; a program
    reads it with `encoding="utf-8-sig"`."""
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    if result.index_detail is not None:
        columns, rows = INDEX_DETAIL_COLUMNS, [d.to_json() for d in result.index_detail]
    else:
        columns, rows = FINDING_COLUMNS, map(finding_row, result.findings)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in columns])


# --- the table, for people ------------------------------------------------------------------------

def write_table(result: AuditResult, out: TextIO, *, agency_names: Mapping[str, str] | None = None,
                width: int = DEFAULT_WIDTH, wide: bool = False, every_finding: bool = True) -> None:
    """For people: what was skipped, the figures per agency, the findings per rule, then every
    finding by rule (or, without `every_finding`, the findings per agency and how to see them all)."""
    lines = table_lines(result, agency_names=agency_names or {}, width=width, wide=wide,
                        every_finding=every_finding)
    out.write("\n".join(lines) + "\n")


def table_lines(result: AuditResult, *, agency_names: Mapping[str, str], width: int = DEFAULT_WIDTH,
                wide: bool = False, every_finding: bool = True) -> list[str]:
    """The lines of `write_table`, none wider than `width` unless `wide` (every column, unlimited)."""
    width = UNLIMITED if wide else width
    period = f"kỳ {day(result.period[0])} – {day(result.period[1])}, " if result.period else ""
    lines = [f"Kiểm tra {period}tính đến {result.as_of:%d/%m/%Y %H:%M:%S}", ""]
    for stale in result.stale:
        skipped = "; ".join(registry.skipped_title(name) for name in stale["skipped_rules"])
        lines += wrapped(f"Nguồn chưa cập nhật: {stale['source']} ({kind_label(stale['kind'])}): "
                         f"{stale['reason']}; chưa kiểm tra: {skipped or NOT_KNOWN}.", width, "  ")
    if result.stale:
        lines.append("")
    lines += _figures(result.figures, agency_names, width, wide)
    if result.index is not None:
        lines += ["", *index_lines(result.index)]
    if result.index_detail is not None:
        lines += ["", *index_detail_lines(result.index_detail)]
    lines += ["", "Vi phạm theo quy tắc:"]
    lines += _rule_counts(result.findings, width)
    if not result.findings:
        return lines + ["", "Không có vi phạm."]
    if every_finding:
        for rule, findings in _by_rule(result.findings):
            lines += [""] + wrapped(f"{rule.id} — {rule.title} ({number(len(findings))})", width)
            lines += wrapped(f"Cần làm: {rule.action}", width, "  ")
            lines += _finding_table(rule, findings, agency_names, width, wide)
        return lines
    lines += ["", "Vi phạm theo đơn vị:"]
    lines += _agency_counts(result.findings, agency_names, width)
    lines += [""] + wrapped(
        f"{number(len(result.findings))} vi phạm không in ra đây từng dòng. Xem từng vi phạm: motcua audit "
        "--all (qua trình xem từng trang), --rule ID hoặc --agency MÃ; hoặc ghi ra tệp: --format csv "
        "--output vi-pham.csv, --format xlsx --output vi-pham.xlsx.", width)
    return lines


# Compact figures (80 columns): the headings are abbreviated, and explained once under the table.
COMPACT_FIGURES = (
    ("Nhận", lambda f: number(f.received_total)),
    ("Đã GQ", lambda f: number(f.resolved_total)),
    ("Đúng hạn", lambda f: percent(f.on_time_rate)),
    ("Nhập", lambda f: percent(f.entry_rate)),
    ("Đồng bộ", lambda f: percent(f.sync_rate)),
    ("TTTT", lambda f: percent(f.online_payment_rate)),
)
COMPACT_LEGEND = ("Nhận: hồ sơ tiếp nhận; Đã GQ: đã giải quyết; tỷ lệ Đúng hạn: giải quyết đúng hạn, "
                  "Nhập: nhập vào hệ thống một cửa, Đồng bộ: đồng bộ lên Cổng DVC, TTTT: thanh toán trực "
                  "tuyến; —: không tính được. Mọi cột: --wide.")


def _agency_label(code: str | None, agency_names: Mapping[str, str]) -> str:
    if code == PROVINCE:
        return "Toàn tỉnh"
    return agency_names.get(code, "") if code else ""


def _figures(figures: list[Figures], agency_names: Mapping[str, str], width: int, wide: bool) -> list[str]:
    if wide:
        headings = Figures.headings()
        return render_table(["Mã đơn vị", "Tên đơn vị", *list(headings.values())[1:]], [
            [f.agency, _agency_label(f.agency, agency_names), *(number(getattr(f, k)) for k in COUNTS),
             *(percent(getattr(f, k)) for k in RATES)] for f in figures], right=range(2, len(headings) + 1))
    lines = render_table(["Mã đơn vị", "Tên đơn vị", *(heading for heading, _ in COMPACT_FIGURES)], [
        [f.agency, _agency_label(f.agency, agency_names), *(value(f) for _, value in COMPACT_FIGURES)]
        for f in figures], right=range(2, 2 + len(COMPACT_FIGURES)), cut=(1,), width=width)
    return lines + wrapped(COMPACT_LEGEND, width)


def _by_rule(findings: list[AuditFinding]) -> list[tuple[Rule, list[AuditFinding]]]:
    """The findings per rule, the most urgent rule first, and in a rule the most days late first."""
    grouped: dict[str, list[AuditFinding]] = {}
    for finding in findings:
        grouped.setdefault(finding.rule, []).append(finding)
    rules = sorted((registry.by_id(rule) for rule in grouped), key=lambda rule: (rule.urgency, rule.id))
    return [(rule, sorted(grouped[rule.id], key=most_late_first)) for rule in rules]


def most_late_first(finding: AuditFinding) -> tuple:
    return (-(finding.days_late or 0), finding.subject)


def _rule_counts(findings: list[AuditFinding], width: int) -> list[str]:
    rows = []
    for rule, found in _by_rule(findings):
        counts = Counter(f.status for f in found)
        rows.append([rule.id, rule.title, counts[FindingStatus.OPEN], counts[FindingStatus.EXEMPTED]])
    if not rows:
        return []
    rows.append(["Tổng", "", sum(r[2] for r in rows), sum(r[3] for r in rows)])
    return render_table(("Quy tắc", "Nội dung", "Vi phạm", "Miễn trừ"), rows, right=(2, 3), cut=(1,), width=width)


def _agency_counts(findings: list[AuditFinding], agency_names: Mapping[str, str], width: int) -> list[str]:
    counts: dict[str | None, Counter] = {}
    for finding in findings:
        counts.setdefault(finding.agency, Counter())[finding.status] += 1
    rows = [[code or NOT_KNOWN, _agency_label(code, agency_names), c[FindingStatus.OPEN], c[FindingStatus.EXEMPTED]]
            for code, c in sorted(counts.items(), key=lambda item: (-item[1][FindingStatus.OPEN], item[0] or ""))]
    return render_table(("Mã đơn vị", "Tên đơn vị", "Vi phạm", "Miễn trừ"), rows, right=(2, 3), cut=(1,),
                        width=width)


def _finding_table(rule: Rule, findings: list[AuditFinding], agency_names: Mapping[str, str], width: int,
                   wide: bool) -> list[str]:
    """One rule's findings. Compact: the code, the due date and days late where the rule has
    them, the status when some are exempted, and the detail, wrapped. Wide: every column."""
    def status(f: AuditFinding) -> str:
        return "miễn trừ" if f.status == FindingStatus.EXEMPTED else "vi phạm"
    columns: list[tuple[str, Callable[[AuditFinding], object]]] = [("Mã hồ sơ" if rule.subject == "dossier"
                                                                   else "Mã thủ tục", lambda f: f.subject)]
    if wide:
        columns += [("Mã đơn vị", lambda f: f.agency), ("Tên đơn vị", lambda f: _agency_label(f.agency, agency_names)),
                    ("Thủ tục", lambda f: f.procedure)]
    if wide or rule.shows_due_date:
        columns.append(("Hạn", lambda f: day(f.due_date) if f.due_date else None))
    if wide or any(f.days_late is not None for f in findings):
        columns.append(("Trễ", lambda f: f.days_late))
    if wide or any(f.status == FindingStatus.EXEMPTED for f in findings):
        columns.append(("Trạng thái", status))
    if wide:
        columns += [("Phát hiện", lambda f: f.first_seen), ("Lý do", lambda f: f.reason)]
    columns.append(("Chi tiết", lambda f: f.detail))
    headings = [heading for heading, _ in columns]
    right = [i for i, heading in enumerate(headings) if heading == "Trễ"]
    return render_table(headings, [[value(f) for _, value in columns] for f in findings], right=right,
                        wrap=(len(columns) - 1,), cut=(0,), width=width)


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
        [row.agency, *(percent(row.scores[i.id].rate) for i in INDICATORS), _points(row)] for row in rows],
        right=range(1, len(headings)))
    lines += ["  " + "; ".join(f"{i.number} {i.short}" for i in INDICATORS[:4]) + ";",
              "  " + "; ".join(f"{i.number} {i.short}" for i in INDICATORS[4:]) + ".",
              "  Điểm: tổng điểm / điểm tối đa của các chỉ số tính được; —: không tính được.", ""]
    lines.append("Chỉ số 2.1 (so với ngày hẹn trả) và tỷ lệ đúng hạn theo luật (hạn luật định)")
    lines += render_table(INDEX_GAP_HEADINGS, [
        [row.agency, percent(row.scores["idx_2_1_on_time"].rate), percent(row.law_on_time_rate),
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
    return f"{row.points_total:.1f}/{row.max_total:g}".replace(".", ",")


def _moment(value) -> str:
    return "—" if value is None else f"{value:%d/%m/%Y %H:%M}"
