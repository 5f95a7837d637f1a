"""What a report says: the data of an agency report and of the province summary.

Gathered from the audit (findings at the present moment, figures per period) and from the store
(names of agencies and procedures, applicants, fees). Applicant names are masked here, as they
are read, so a full name never reaches a template or an attachment; ID numbers are never read.
"""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import Engine, func, select

from monitor.config import Settings
from monitor.db import session_scope
from monitor.models import Agency, Dossier, Fee, Procedure
from reports.guidance import RuleGuidance, guidance, urgency
from reports.periods import ReportPeriod, recent_periods
from reports.render import mask_name, vn_datetime
from reports.workbook import write_workbook
from rules.audit import AuditResult, audit_figures
from rules.exemptions import Exemptions
from rules.figures import Figures

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

_SOURCE_KINDS = {
    "onestop_api": "hệ thống một cửa điện tử",
    "portal_html": "Cổng dịch vụ công",
    "tracking_book": "sổ theo dõi hồ sơ",
}
# The parts of a rule that a stale source skips (rules.md: `entry.missing:portal`, ...).
_PARTS = {
    "portal": "phần dựa trên Cổng dịch vụ công",
    "unknown_procedure": "phần kiểm tra mã thủ tục",
}


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
    def guidance(self) -> RuleGuidance:
        return guidance(self.rule)


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
        what = f"{_SOURCE_KINDS.get(self.kind, self.kind)} «{self.source}»"
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
        return [(rule, guidance(rule).title, n) for rule, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


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
    """Builds the reports of one run from the audit at the present moment (`current`).

    Figures come from the figures of each report period, as of its end, counted once per period.
    """

    def __init__(self, engine: Engine, settings: Settings, current: AuditResult, now: datetime):
        self.engine = engine
        self.settings = settings
        self.current = current
        self.now = now
        self._period_audits: dict[ReportPeriod, AuditResult] = {}

    def period_audit(self, period: ReportPeriod) -> AuditResult:
        """The figures of a period (its findings are not needed: the reports show those of now)."""
        if period not in self._period_audits:
            self._period_audits[period] = audit_figures(
                self.engine, self.settings, as_of=period.end_moment, now=self.now,
                period=(period.start, period.end))
        return self._period_audits[period]

    def agency_report(self, agency_code: str, period: ReportPeriod, since: datetime | None) -> AgencyReport:
        findings = [f for f in self.current.findings if f.agency == agency_code]
        breaches = self._breaches(findings)
        open_ = [b for b, f in zip(breaches, findings) if f.status == "open"]
        new = sorted((b for b in open_ if _is_new(b, since)), key=_most_urgent_first)
        still_open = sorted((b for b in open_ if not _is_new(b, since)), key=_oldest_first)
        exempted = sorted((b for b, f in zip(breaches, findings) if f.status != "open"), key=_most_urgent_first)
        return AgencyReport(
            agency_code=agency_code, agency_name=self._agency_names.get(agency_code, agency_code),
            period=period, generated_at=self.now, since=since,
            figures=_figures_of(self.period_audit(period), agency_code),
            new=new, still_open=still_open, exempted=exempted, stale=self.stale,
        )

    def province_report(self, period: ReportPeriod, since: datetime | None) -> ProvinceReport:
        audit = self.period_audit(period)
        open_by_agency = Counter(f.agency for f in self.current.findings if f.status == "open")
        rows = [f for f in audit.figures if f.agency != PROVINCE]
        rows.sort(key=lambda f: (_descending(f.on_time_rate), _descending(f.entry_rate), f.agency))
        ranking = [AgencyRank(rank=i, agency_code=f.agency, figures=f, open_breaches=open_by_agency[f.agency],
                              agency_name=self._agency_names.get(f.agency, f.agency))
                   for i, f in enumerate(rows, start=1)]
        trend = [TrendPoint(p, _figures_of(self.period_audit(p), PROVINCE))
                 for p in recent_periods(period, TREND_LENGTH[period.kind])]
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
            findings=[f for f in self.current.open_findings if agency is None or f.agency == agency],
            figures=[f for f in audit.figures if agency is None or f.agency == agency],
        )
        data = io.BytesIO()
        write_workbook(attached, data, agency_names=self._agency_names)
        return data.getvalue()

    def agencies(self, period: ReportPeriod) -> list[str]:
        """Every agency with a dossier in the period or a finding now: the site's pages."""
        codes = {f.agency for f in self.period_audit(period).figures if f.agency != PROVINCE}
        codes |= {f.agency for f in self.current.findings if f.agency}
        return sorted(codes)

    @cached_property
    def stale(self) -> list[StaleNotice]:
        return [StaleNotice(source=s["source"], kind=s["kind"], last_success=_as_datetime(s.get("last_success")),
                            reason=s.get("reason"), skipped_rules=tuple(s.get("skipped_rules") or ()))
                for s in self.current.stale]

    @cached_property
    def _agency_names(self) -> dict[str, str]:
        with session_scope(self.engine) as session:
            return dict(session.execute(select(Agency.code, Agency.name)).all())

    @cached_property
    def _procedure_names(self) -> dict[str, str | None]:
        with session_scope(self.engine) as session:
            return dict(session.execute(select(Procedure.code, Procedure.name)).all())

    def _rule_counts(self, since: datetime | None) -> list[RuleCount]:
        open_, new, exempted = Counter(), Counter(), Counter()
        for f in self.current.findings:
            if f.status == "open":
                open_[f.rule] += 1
                new[f.rule] += since is None or (f.first_seen or self.now) > since
            else:
                exempted[f.rule] += 1
        rules = sorted(open_.keys() | exempted.keys(), key=lambda rule: (-open_[rule], urgency(rule)))
        return [RuleCount(rule, guidance(rule).title, open_[rule], new[rule], exempted[rule]) for rule in rules]

    def _breaches(self, findings: list) -> list[Breach]:
        dossier_codes = [f.subject for f in findings if not guidance(f.rule).about_procedure]
        applicants, fees = self._dossier_facts(dossier_codes)
        return [
            Breach(
                rule=f.rule, subject=f.subject, procedure_code=f.procedure,
                procedure_name=self._procedure_names.get(f.procedure) if f.procedure else None,
                applicant=applicants.get(f.subject, ""), due_date=f.due_date, days_late=f.days_late,
                detail=f.detail,
                # The history knows every finding of an audit at the present moment; one it does
                # not know yet is first seen now.
                first_seen=f.first_seen or self.now,
                fee=fees.get(f.subject) if f.rule.startswith("payment.") else None,
                exemption=self._exemption_reason(f) if f.status != "open" else None,
            )
            for f in findings
        ]

    def _exemption_reason(self, finding) -> str:
        """Why a finding is exempted: the exemption in force now that covers it."""
        exemption = self._exemptions.covering(finding.rule, finding.subject, finding.agency)
        if exemption is None:
            return "được miễn trừ"
        return f"{exemption.reason} (đến hết ngày {exemption.until:%d/%m/%Y})"

    @cached_property
    def _exemptions(self) -> Exemptions:
        with self.engine.connect() as connection:
            return Exemptions(connection, self.now)

    def _dossier_facts(self, codes: Iterable[str]) -> tuple[dict[str, str], dict[str, int]]:
        """Masked applicant names and total fees of the dossiers, read in batches."""
        codes = sorted(set(codes))
        applicants: dict[str, str] = {}
        fees: dict[str, int] = {}
        with session_scope(self.engine) as session:
            for start in range(0, len(codes), 500):
                batch = codes[start:start + 500]
                for code, name in session.execute(
                        select(Dossier.code, Dossier.applicant_name).where(Dossier.code.in_(batch))):
                    applicants[code] = mask_name(name)
                fees.update(session.execute(
                    select(Fee.dossier_code, func.sum(Fee.amount))
                    .where(Fee.dossier_code.in_(batch)).group_by(Fee.dossier_code)).all())
        return applicants, fees


def _targets(figures: Figures | None) -> list[TargetLine]:
    return [TargetLine(key, label, getattr(figures, key) if figures else None, target)
            for key, label, target in TARGETS]


def _figures_of(audit: AuditResult, agency: str) -> Figures | None:
    return next((f for f in audit.figures if f.agency == agency), None)


def _is_new(breach: Breach, since: datetime | None) -> bool:
    return since is None or breach.first_seen > since


def _most_urgent_first(breach: Breach):
    return urgency(breach.rule), breach.due_date or date.max, breach.subject


def _oldest_first(breach: Breach):
    return breach.first_seen, breach.due_date or date.max, breach.subject


def _descending(rate: float | None) -> float:
    # Unknown rates rank last, after every known one.
    return 1.0 if rate is None else -rate


def _skipped_title(rule: str) -> str:
    """A skipped rule as its title; `entry.missing:portal` skips only the part that needs the portal."""
    rule_id, _, part = rule.partition(":")
    title = guidance(rule_id).title
    if not part:
        return title
    return f"{title} ({_PARTS.get(part, f'phần dựa trên nguồn «{part}»')})"


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
