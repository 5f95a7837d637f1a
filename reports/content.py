"""What a report says: the data of an agency report and of the province summary.

Read from what the audit stage stored (rules/publish.py): the findings at the present moment with
their names, masked applicants, fees and exemptions, and the figures of each report period. A
report never runs the engine nor reads the sources' tables.
"""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import Engine, Row, select

from monitor.db import session_scope
from monitor.models import ReportAgency, ReportFigures, ReportFinding, ReportSnapshot
from monitor.sources import kind_label
from monitor.statuses import FindingStatus
from reports.periods import ReportPeriod, recent_periods
from reports.render import vn_datetime
from reports.workbook import write_workbook
from rules import registry
from rules.audit import AuditFinding, AuditResult
from rules.figures import FIGURE_NAMES, Figures

PROVINCE = "*"

# The province's commitments (rules.md): every dossier entered and synchronised, resolved on
# time, paid online where a fee is due.
TARGETS = (
    ("entry_rate", "Hồ sơ cập nhật vào hệ thống một cửa điện tử", 1.0),
    ("sync_rate", "Hồ sơ đồng bộ lên Cổng dịch vụ công", 1.0),
    ("on_time_rate", "Hồ sơ giải quyết đúng hạn", 1.0),
    ("online_payment_rate", "Hồ sơ có phí được thanh toán trực tuyến", 1.0),
)

# How many past periods the province trend shows, the current one included.
TREND_LENGTH = {"day": 7, "week": 8, "month": 6, "quarter": 4}


@dataclass(frozen=True)
class Breach:
    """One finding as a report shows it."""
    rule: str
    subject: str
    procedure_code: str | None
    procedure_name: str | None
    applicant: str                # masked
    due_date: date | None
    days_late: int | None
    detail: str | None
    first_seen: datetime
    fee: int | None = None         # the dossier's fees, for the payment rules
    exemption: str | None = None   # why it is exempted, when it is

    @property
    def title(self) -> str:
        return registry.by_id(self.rule).title

    @property
    def action(self) -> str:
        """"Cần làm": the next step."""
        return registry.by_id(self.rule).action

    @property
    def about_procedure(self) -> bool:
        """The subject is a procedure code, not a dossier code."""
        return registry.by_id(self.rule).subject == "procedure"


@dataclass(frozen=True)
class TargetLine:
    key: str
    label: str
    rate: float | None
    target: float

    @property
    def met(self) -> bool | None:
        return None if self.rate is None else self.rate >= self.target


@dataclass(frozen=True)
class StaleNotice:
    source: str
    kind: str
    last_success: datetime | None
    reason: str | None
    skipped_rules: tuple[str, ...]

    @property
    def sentence(self) -> str:
        """"Dữ liệu cổng DVC cũ từ ...; các kiểm tra sau đã bỏ qua ...", never hidden."""
        what = f"{kind_label(self.kind)} «{self.source}»"
        if self.last_success is None:
            text = f"Dữ liệu {what} chưa từng được đồng bộ thành công"
        else:
            text = f"Dữ liệu {what} cũ từ {vn_datetime(self.last_success)}"
        if self.reason:
            text += f" (lỗi: {self.reason})"
        if self.skipped_rules:
            text += "; các kiểm tra sau đã bỏ qua: " + "; ".join(_skipped_title(r) for r in self.skipped_rules)
        return text + "."


@dataclass(frozen=True)
class AgencyReport:
    agency_code: str
    agency_name: str
    period: ReportPeriod
    generated_at: datetime
    since: datetime | None            # the previous report to this recipient; None for the first
    figures: Figures | None              # the period's figures (None: no dossier in the period)
    new: list[Breach]                 # first seen since the previous report
    still_open: list[Breach]          # open since before it, the oldest first
    exempted: list[Breach]
    stale: list[StaleNotice]

    @property
    def targets(self) -> list[TargetLine]:
        return _targets(self.figures)

    @property
    def open_count(self) -> int:
        return len(self.new) + len(self.still_open)

    @property
    def open_by_rule(self) -> list[tuple[str, str, int]]:
        """(rule, title, open breaches) for every rule with any, the most frequent first."""
        counts = Counter(b.rule for b in [*self.new, *self.still_open])
        return [(rule, registry.by_id(rule).title, n) for rule, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


@dataclass(frozen=True)
class AgencyRank:
    rank: int
    agency_code: str
    agency_name: str
    figures: Figures
    open_breaches: int


@dataclass(frozen=True)
class TrendPoint:
    period: ReportPeriod
    figures: Figures | None

    @property
    def on_time_rate(self) -> float | None:
        return self.figures.on_time_rate if self.figures else None

    @property
    def entry_rate(self) -> float | None:
        return self.figures.entry_rate if self.figures else None


@dataclass(frozen=True)
class RuleCount:
    rule: str
    title: str
    open: int
    new: int
    exempted: int


@dataclass(frozen=True)
class ProvinceReport:
    period: ReportPeriod
    generated_at: datetime
    since: datetime | None
    figures: Figures | None
    ranking: list[AgencyRank]
    trend: list[TrendPoint]
    rules: list[RuleCount]
    stale: list[StaleNotice]

    @property
    def targets(self) -> list[TargetLine]:
        return _targets(self.figures)

    @property
    def open_count(self) -> int:
        return sum(r.open for r in self.rules)

    @property
    def new_count(self) -> int:
        return sum(r.new for r in self.rules)


class ReportBuilder:
    """Builds the reports of one run from a snapshot the audit stage stored (rules/publish.py):
    the findings at its moment, and the figures of each report period, counted once per period.
    It reads those tables and nothing else."""

    def __init__(self, engine: Engine, snapshot: int, now: datetime):
        self.now = now
        with session_scope(engine) as session:
            self.stale_json = session.get(ReportSnapshot, snapshot).stale
            self._agency_names = dict(session.execute(
                select(ReportAgency.code, ReportAgency.name).where(ReportAgency.snapshot_id == snapshot)).all())
            # Rows, not model objects: a province has hundreds of thousands of findings.
            findings = ReportFinding.__table__
            self.findings = session.execute(
                select(findings).where(findings.c.snapshot_id == snapshot).order_by(findings.c.id)).all()
            self._figures: dict[tuple[date, date] | None, list[Figures]] = {}
            figures = ReportFigures.__table__
            for row in session.execute(select(figures).where(figures.c.snapshot_id == snapshot)
                                       .order_by(figures.c.id)):
                period = (row.period_start, row.period_end) if row.period_start else None
                self._figures.setdefault(period, []).append(
                    Figures(**{name: getattr(row, name) for name in FIGURE_NAMES}))

    def period_audit(self, period: ReportPeriod) -> AuditResult:
        """The figures of a period, as the audit stage stored them (its findings are not needed:
        the reports show those of now)."""
        figures = self._figures.get((period.start, period.end))
        if figures is None:
            raise LookupError(f"the audit stage stored no figures for the period {period.label}")
        return AuditResult(as_of=period.end_moment, period=(period.start, period.end), findings=[],
                           stale=self.stale_json, figures=figures, skipped_rules=set())

    def agency_report(self, agency_code: str, period: ReportPeriod, since: datetime | None) -> AgencyReport:
        findings = [f for f in self.findings if f.agency == agency_code]
        breaches = [self._breach(f) for f in findings]
        open_ = [b for b, f in zip(breaches, findings) if f.status == FindingStatus.OPEN]
        new = sorted((b for b in open_ if _is_new(b, since)), key=_most_urgent_first)
        still_open = sorted((b for b in open_ if not _is_new(b, since)), key=_oldest_first)
        exempted = sorted((b for b, f in zip(breaches, findings) if f.status != FindingStatus.OPEN), key=_most_urgent_first)
        return AgencyReport(
            agency_code=agency_code, agency_name=self._agency_names.get(agency_code, agency_code),
            period=period, generated_at=self.now, since=since,
            figures=_figures_of(self.period_audit(period), agency_code),
            new=new, still_open=still_open, exempted=exempted, stale=self.stale,
        )

    def province_report(self, period: ReportPeriod, since: datetime | None) -> ProvinceReport:
        audit = self.period_audit(period)
        open_by_agency = Counter(f.agency for f in self.findings if f.status == FindingStatus.OPEN)
        rows = [f for f in audit.figures if f.agency != PROVINCE]
        rows.sort(key=lambda f: (_descending(f.on_time_rate), _descending(f.entry_rate), f.agency))
        ranking = [AgencyRank(rank=i, agency_code=f.agency, figures=f, open_breaches=open_by_agency[f.agency],
                              agency_name=self._agency_names.get(f.agency, f.agency))
                   for i, f in enumerate(rows, start=1)]
        trend = [TrendPoint(p, _figures_of(self.period_audit(p), PROVINCE)) for p in trend_periods(period)]
        return ProvinceReport(
            period=period, generated_at=self.now, since=since, figures=_figures_of(audit, PROVINCE),
            ranking=ranking, trend=trend, rules=self._rule_counts(since), stale=self.stale,
        )

    def workbook(self, period: ReportPeriod, agency: str | None = None) -> bytes:
        """The attachment: the open breaches now and the statistics form of the period, for one
        agency or (without `agency`) for the province and every agency."""
        audit = self.period_audit(period)
        attached = replace(
            audit,
            findings=[_audit_finding(f) for f in self.findings
                      if f.status == FindingStatus.OPEN and (agency is None or f.agency == agency)],
            figures=[f for f in audit.figures if agency is None or f.agency == agency],
        )
        data = io.BytesIO()
        write_workbook(attached, data, agency_names=self._agency_names)
        return data.getvalue()

    def agencies(self, period: ReportPeriod) -> list[str]:
        """Every agency with a dossier in the period or a finding now: the site's pages."""
        codes = {f.agency for f in self.period_audit(period).figures if f.agency != PROVINCE}
        codes |= {f.agency for f in self.findings if f.agency}
        return sorted(codes)

    @cached_property
    def stale(self) -> list[StaleNotice]:
        return [StaleNotice(source=s["source"], kind=s["kind"], last_success=_as_datetime(s.get("last_success")),
                            reason=s.get("reason"), skipped_rules=tuple(s.get("skipped_rules") or ()))
                for s in self.stale_json]

    def _rule_counts(self, since: datetime | None) -> list[RuleCount]:
        open_, new, exempted = Counter(), Counter(), Counter()
        for f in self.findings:
            if f.status == FindingStatus.OPEN:
                open_[f.rule] += 1
                new[f.rule] += since is None or (f.first_seen or self.now) > since
            else:
                exempted[f.rule] += 1
        rules = sorted(open_.keys() | exempted.keys(), key=lambda rule: (-open_[rule], registry.by_id(rule).urgency))
        return [RuleCount(rule, registry.by_id(rule).title, open_[rule], new[rule], exempted[rule]) for rule in rules]

    def _breach(self, f: Row) -> Breach:
        return Breach(
            rule=f.rule, subject=f.subject, procedure_code=f.procedure, procedure_name=f.procedure_name,
            applicant=f.applicant, due_date=f.due_date, days_late=f.days_late, detail=f.detail,
            # The history knows every finding of an audit at the present moment; one it does
            # not know yet is first seen now.
            first_seen=f.first_seen or self.now, fee=f.fee,
            exemption=_exemption_text(f) if f.status != FindingStatus.OPEN else None,
        )


def periods_needed(due: Iterable[tuple[str, ReportPeriod]]) -> set[ReportPeriod]:
    """The periods whose figures the reports of `due` (agency code, period) show: each report's
    period, and for the province's report the periods of its trend."""
    periods: set[ReportPeriod] = set()
    for agency, period in due:
        periods |= set(trend_periods(period)) if agency == PROVINCE else {period}
    return periods


def trend_periods(period: ReportPeriod) -> list[ReportPeriod]:
    """The periods the province trend shows, ending with `period`."""
    return recent_periods(period, TREND_LENGTH[period.kind])


def _exemption_text(finding: Row) -> str:
    """Why a finding is exempted: the exemption in force that covers it."""
    if finding.exemption_reason is None:
        return "được miễn trừ"
    return f"{finding.exemption_reason} (đến hết ngày {finding.exemption_until:%d/%m/%Y})"


def _audit_finding(f: Row) -> AuditFinding:
    return AuditFinding(f.rule, f.subject, f.agency, f.procedure, f.due_date, f.detail, f.status, f.reason,
                        f.days_late, f.first_seen)


def _targets(figures: Figures | None) -> list[TargetLine]:
    return [TargetLine(key, label, getattr(figures, key) if figures else None, target)
            for key, label, target in TARGETS]


def _figures_of(audit: AuditResult, agency: str) -> Figures | None:
    return next((f for f in audit.figures if f.agency == agency), None)


def _is_new(breach: Breach, since: datetime | None) -> bool:
    return since is None or breach.first_seen > since


def _most_urgent_first(breach: Breach):
    return registry.by_id(breach.rule).urgency, breach.due_date or date.max, breach.subject


def _oldest_first(breach: Breach):
    return breach.first_seen, breach.due_date or date.max, breach.subject


def _descending(rate: float | None) -> float:
    # Unknown rates rank last, after every known one.
    return 1.0 if rate is None else -rate


def _skipped_title(rule: str) -> str:
    """A skipped rule as its title; `entry.missing:portal` skips only the part that needs the portal."""
    rule_id, _, part = rule.partition(":")
    skipped = registry.by_id(rule_id)
    if not part:
        return skipped.title
    return f"{skipped.title} ({skipped.part_title(part)})"


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
