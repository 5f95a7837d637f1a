"""What a report says: the data of an agency report and of the province summary.

Read from what the audit stage stored (rules/publish.py): the findings at the present moment with
their names, masked applicants, fees and exemptions, and the figures of each report period. A
report never runs the engine nor reads the sources' tables.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import Engine, Row, select

from monitor.db import session_scope
from monitor.models import ReportAgency, ReportFigures, ReportFinding, ReportSnapshot
from monitor.sources import kind_label
from monitor.statuses import FindingStatus
from reports.links import Links
from reports.periods import ReportPeriod, recent_periods
from reports.render import vn_datetime
from reports.workbook import FindingNames, write_workbook
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
    agency: str | None = None
    # Carried forward from the history while its rule is skipped (a stale source): when it was
    # last checked. None: the audit found it.
    checked_at: datetime | None = None
    resolved_at: datetime | None = None  # a breach resolved since the last report: when

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
class RateLine:
    """One rate of the province's commitments: the report's period beside the period before it,
    the running total (month- or year-to-date) and the target, with the trend over the last
    periods. `note` says why the period's rate is not given, in words."""
    key: str
    label: str
    target: float
    current: float | None
    previous: float | None
    to_date: float | None
    note: str | None
    trend: tuple[tuple[ReportPeriod, float | None], ...] = ()

    @property
    def met(self) -> bool | None:
        return None if self.current is None else self.current >= self.target

    @property
    def change(self) -> float | None:
        """Points gained since the period before (a rate difference); None when either is unknown."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


@dataclass(frozen=True)
class StaleNotice:
    source: str
    kind: str
    last_success: datetime | None
    reason: str | None
    skipped_rules: tuple[str, ...]

    @property
    def what(self) -> str:
        return f"{kind_label(self.kind)} «{self.source}»"

    @property
    def sentence(self) -> str:
        """One Vietnamese sentence a head can act on: what could not be checked, why, and as of
        when the figures below are. No rule id, no technical error (those go to the operator)."""
        skipped = [_skipped_title(r) for r in self.skipped_rules]
        as_of = (f"số liệu dưới đây tính đến {vn_datetime(self.last_success)}" if self.last_success
                 else f"số liệu dưới đây chưa có dữ liệu của {self.what}")
        cause = _cause(self.reason, self.what, ever_synced=self.last_success is not None)
        if not skipped:
            return f"Chưa cập nhật được dữ liệu từ {self.what} vì {cause}; {as_of}."
        if len(skipped) <= 2:
            checks = " và ".join(f"«{title}»" for title in skipped)
        else:
            checks = (f"{len(skipped)} loại vi phạm («{skipped[0]}», «{skipped[1]}» và "
                      f"{len(skipped) - 2} loại khác)")
        return f"Chưa kiểm tra được {checks} vì {cause}; {as_of}."

    @property
    def technical(self) -> str:
        """For the operator only: the source, its error as the sync recorded it, the rule ids skipped."""
        last = self.last_success.isoformat(sep=" ", timespec="minutes") if self.last_success else "never"
        return (f"{self.source} ({self.kind}): {self.reason or 'stale'}; last successful sync: {last}; "
                f"skipped: {', '.join(self.skipped_rules) or 'nothing'}")


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
    resolved: list[Breach] = field(default_factory=list)  # resolved since the previous report
    rates: list[RateLine] = field(default_factory=list)
    links: Links = field(default_factory=Links)
    technical: bool = False           # show the sources' technical errors (never to an agency head)

    @property
    def targets(self) -> list[TargetLine]:
        return _targets(self.figures)

    @property
    def open_count(self) -> int:
        return len(self.new) + len(self.still_open)

    @property
    def unchecked_count(self) -> int:
        """Open breaches carried forward, not checked again (their source is stale)."""
        return sum(1 for b in [*self.new, *self.still_open] if b.checked_at is not None)

    @property
    def previous_period(self) -> ReportPeriod:
        return self.period.previous()

    @property
    def to_date_period(self) -> ReportPeriod:
        return self.period.to_date()

    @property
    def open_by_rule(self) -> list[tuple[str, str, int]]:
        """(rule, title, open breaches) for every rule with any, the most frequent first."""
        counts = Counter(b.rule for b in [*self.new, *self.still_open])
        return [(rule, registry.by_id(rule).title, n) for rule, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


@dataclass(frozen=True)
class AgencyRank:
    """An agency in the province's ranking. Ranked on `score`, the share of its dossiers due in
    the ranking window that were resolved on time: (early + on time) / (resolved + in progress
    overdue at the window's end), so a backlog of overdue dossiers counts against it. Only
    agencies with at least `[report] ranking_min_dossiers` dossiers due are ranked (`rank` None
    for the others); agencies whose scores are equal as shown (to 0.1%) share a rank (`tied`)."""
    rank: int | None
    agency_code: str
    agency_name: str
    figures: Figures
    open_breaches: int
    tied: bool = False

    @property
    def due(self) -> int:
        """The dossiers due in the window: resolved in it, or in progress and overdue at its end."""
        return self.figures.resolved_total + (self.figures.in_progress_overdue or 0)

    @property
    def on_time(self) -> int | None:
        f = self.figures
        if f.resolved_early is None or f.resolved_on_time is None or f.in_progress_overdue is None:
            return None
        return f.resolved_early + f.resolved_on_time

    @property
    def score(self) -> float | None:
        return None if self.on_time is None or not self.due else self.on_time / self.due


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
    resolved: int = 0                 # since the previous report
    unchecked: int = 0                # of the open ones, carried forward without a check (stale source)


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
    rates: list[RateLine] = field(default_factory=list)
    ranking_window: ReportPeriod | None = None
    ranking_min_dossiers: int = 0
    links: Links = field(default_factory=Links)
    technical: bool = False           # show the sources' technical errors: the operator reads this one

    @property
    def targets(self) -> list[TargetLine]:
        return _targets(self.figures)

    @property
    def open_count(self) -> int:
        return sum(r.open for r in self.rules)

    @property
    def new_count(self) -> int:
        return sum(r.new for r in self.rules)

    @property
    def resolved_count(self) -> int:
        return sum(r.resolved for r in self.rules)

    @property
    def still_open_count(self) -> int:
        return self.open_count - self.new_count

    @property
    def ranked(self) -> list[AgencyRank]:
        return [r for r in self.ranking if r.rank is not None]

    @property
    def unranked(self) -> list[AgencyRank]:
        return [r for r in self.ranking if r.rank is None]

    @property
    def previous_period(self) -> ReportPeriod:
        return self.period.previous()

    @property
    def to_date_period(self) -> ReportPeriod:
        return self.period.to_date()


class ReportBuilder:
    """Builds the reports of one run from a snapshot the audit stage stored (rules/publish.py):
    the findings at its moment, and the figures of each report period, counted once per period.
    It reads those tables and nothing else."""

    def __init__(self, engine: Engine, snapshot: int, now: datetime, *, ranking_min_dossiers: int = 20):
        self.now = now
        self.ranking_min_dossiers = ranking_min_dossiers
        with session_scope(engine) as session:
            self.stale_json = session.get(ReportSnapshot, snapshot).stale
            self._agency_names = dict(session.execute(
                select(ReportAgency.code, ReportAgency.name).where(ReportAgency.snapshot_id == snapshot)).all())
            # Rows, not model objects: a province has hundreds of thousands of findings.
            findings = ReportFinding.__table__
            rows = session.execute(
                select(findings).where(findings.c.snapshot_id == snapshot).order_by(findings.c.id)).all()
            # The findings at the snapshot's moment (open or exempted, those carried forward
            # included), and apart those resolved since the oldest report compared with.
            self.findings = [f for f in rows if f.status != FindingStatus.RESOLVED]
            self.resolved_findings = [f for f in rows if f.status == FindingStatus.RESOLVED]
            self._figures: dict[tuple[date, date] | None, list[Figures]] = {}
            figures = ReportFigures.__table__
            for row in session.execute(select(figures).where(figures.c.snapshot_id == snapshot)
                                       .order_by(figures.c.id)):
                period = (row.period_start, row.period_end) if row.period_start else None
                self._figures.setdefault(period, []).append(
                    Figures(**{name: getattr(row, name) for name in FIGURE_NAMES}))

    def agency_name(self, code: str | None) -> str:
        return self._agency_names.get(code, code or "")

    def period_audit(self, period: ReportPeriod) -> AuditResult:
        """The figures of a period, as the audit stage stored them (its findings are not needed:
        the reports show those of now)."""
        figures = self._figures.get((period.start, period.end))
        if figures is None:
            raise LookupError(f"the audit stage stored no figures for the period {period.label}")
        return AuditResult(as_of=period.end_moment, period=(period.start, period.end), findings=[],
                           stale=self.stale_json, figures=figures, skipped_rules=set())

    def agency_report(self, agency_code: str, period: ReportPeriod, since: datetime | None,
                      links: Links | None = None, *, technical: bool = False) -> AgencyReport:
        findings = [f for f in self.findings if f.agency == agency_code]
        breaches = [self._breach(f) for f in findings]
        open_ = [b for b, f in zip(breaches, findings) if f.status == FindingStatus.OPEN]
        new = sorted((b for b in open_ if _is_new(b, since)), key=_most_urgent_first)
        still_open = sorted((b for b in open_ if not _is_new(b, since)), key=_oldest_first)
        exempted = sorted((b for b, f in zip(breaches, findings) if f.status == FindingStatus.EXEMPTED),
                          key=_most_urgent_first)
        resolved = sorted((self._breach(f) for f in self.resolved_findings
                           if f.agency == agency_code and _resolved_after(f, since)),
                          key=lambda b: (b.resolved_at, b.subject), reverse=True)
        return AgencyReport(
            agency_code=agency_code, agency_name=self.agency_name(agency_code),
            period=period, generated_at=self.now, since=since,
            figures=self._figures_or_none(period, agency_code),
            new=new, still_open=still_open, exempted=exempted, stale=self.stale,
            resolved=resolved, rates=self.rates(agency_code, period), links=links or Links(), technical=technical,
        )

    def province_report(self, period: ReportPeriod, since: datetime | None, links: Links | None = None, *,
                        technical: bool = False) -> ProvinceReport:
        window = ranking_window(period)
        open_by_agency = Counter(f.agency for f in self.findings if f.status == FindingStatus.OPEN)
        rows = [f for f in self._stored(window) if f.agency != PROVINCE]
        ranking = rank_agencies([AgencyRank(None, f.agency, self.agency_name(f.agency), f, open_by_agency[f.agency])
                                 for f in rows], self.ranking_min_dossiers)
        trend = [TrendPoint(p, self._figures_or_none(p, PROVINCE)) for p in trend_periods(period)]
        return ProvinceReport(
            period=period, generated_at=self.now, since=since, figures=self._figures_or_none(period, PROVINCE),
            ranking=ranking, trend=trend, rules=self._rule_counts(since), stale=self.stale,
            rates=self.rates(PROVINCE, period), ranking_window=window,
            ranking_min_dossiers=self.ranking_min_dossiers, links=links or Links(), technical=technical,
        )

    def rates(self, agency: str, period: ReportPeriod) -> list[RateLine]:
        """Each rate of the commitments for the period, the period before, the running total and
        the trend, as far as the audit stage stored their figures."""
        current = self._figures_or_none(period, agency)
        previous = self._figures_or_none(period.previous(), agency)
        to_date = self._figures_or_none(period.to_date(), agency)
        trend = [(p, self._figures_or_none(p, agency)) for p in trend_periods(period)]
        lines = []
        for key, label, target in TARGETS:
            lines.append(RateLine(
                key=key, label=label, target=target, current=_rate(current, key), previous=_rate(previous, key),
                to_date=_rate(to_date, key), note=self._why_not(key, current),
                trend=tuple((p, _rate(f, key)) for p, f in trend)))
        return lines

    def open_breaches(self) -> list[Breach]:
        """Every open breach now (carried-forward ones included), for the site's rule and procedure pages."""
        return [self._breach(f) for f in self.findings if f.status == FindingStatus.OPEN]

    def workbook(self, period: ReportPeriod, agency: str | None = None) -> bytes:
        """The attachment: the open breaches now and the statistics form of the period, for one
        agency or (without `agency`) for the province and every agency."""
        audit = self.period_audit(period)
        stored = [f for f in self.findings if f.status == FindingStatus.OPEN and (agency is None or f.agency == agency)]
        attached = replace(audit, findings=[_audit_finding(f) for f in stored],
                           figures=[f for f in audit.figures if agency is None or f.agency == agency])
        # The published findings carry the procedure's name and the applicant, already masked.
        names = FindingNames(procedures={f.procedure: f.procedure_name for f in stored if f.procedure_name},
                             applicants={f.subject: f.applicant for f in stored if f.applicant})
        data = io.BytesIO()
        write_workbook(attached, data, agency_names=self._agency_names, names=names)
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

    @cached_property
    def unavailable_figures(self) -> set[str]:
        """The figures a stale source leaves uncomputable (rules.md, "When a source is stale")."""
        skipped = {name.partition(":")[0] for s in self.stale_json for name in s.get("skipped_rules") or ()}
        return {figure for rule in registry.rules() if rule.id in skipped for figure in rule.figures_needing_it}

    def _why_not(self, key: str, figures: Figures | None) -> str | None:
        """Why a rate of the period is not given, in words a head can act on; None when it is."""
        if figures is not None and getattr(figures, key) is not None:
            return None
        if key in self.unavailable_figures:
            return "chưa kiểm tra được (dữ liệu nguồn chưa đầy đủ)"
        if figures is None or not figures.received_total and key in ("entry_rate", "sync_rate"):
            return "không có hồ sơ tiếp nhận trong kỳ"
        if key == "sync_rate":
            # Dossiers were received, none of them is past its sync grace yet: a day's report is
            # made before the day's dossiers are due on the portal.
            return "chưa hết thời hạn đồng bộ"
        if key == "on_time_rate":
            return "chưa có hồ sơ giải quyết trong kỳ"
        if key == "online_payment_rate":
            return "không có hồ sơ có phí đã thanh toán trong kỳ"
        return "không tính được"

    def _stored(self, period: ReportPeriod) -> list[Figures]:
        return self._figures.get((period.start, period.end), [])

    def _figures_or_none(self, period: ReportPeriod, agency: str) -> Figures | None:
        return next((f for f in self._stored(period) if f.agency == agency), None)

    def _rule_counts(self, since: datetime | None) -> list[RuleCount]:
        open_, new, exempted, resolved, unchecked = Counter(), Counter(), Counter(), Counter(), Counter()
        for f in self.findings:
            if f.status == FindingStatus.OPEN:
                open_[f.rule] += 1
                new[f.rule] += since is None or (f.first_seen or self.now) > since
                unchecked[f.rule] += f.checked_at is not None
            else:
                exempted[f.rule] += 1
        for f in self.resolved_findings:
            resolved[f.rule] += _resolved_after(f, since)
        rules = sorted(open_.keys() | exempted.keys() | (+resolved).keys(),
                       key=lambda rule: (-open_[rule], registry.by_id(rule).urgency))
        return [RuleCount(rule, registry.by_id(rule).title, open_[rule], new[rule], exempted[rule], resolved[rule],
                          unchecked[rule]) for rule in rules]

    def _breach(self, f: Row) -> Breach:
        return Breach(
            rule=f.rule, subject=f.subject, procedure_code=f.procedure, procedure_name=f.procedure_name,
            applicant=f.applicant, due_date=f.due_date, days_late=f.days_late, detail=f.detail,
            # The history knows every finding of an audit at the present moment; one it does
            # not know yet is first seen now.
            first_seen=f.first_seen or self.now, fee=f.fee,
            exemption=_exemption_text(f) if f.status == FindingStatus.EXEMPTED else None,
            agency=f.agency, checked_at=f.checked_at, resolved_at=f.resolved_at,
        )


def rank_agencies(rows: Iterable[AgencyRank], min_dossiers: int) -> list[AgencyRank]:
    """The agencies with at least `min_dossiers` dossiers due and a known score, best first, those
    with equal scores as shown (to 0.1%) sharing a rank (1, 2, 2, 4); then the others, unranked,
    by name."""
    rows = list(rows)
    eligible = [r for r in rows if r.score is not None and r.due >= min_dossiers]
    others = sorted((r for r in rows if r not in eligible), key=lambda r: (r.agency_name, r.agency_code))
    eligible.sort(key=lambda r: (-_shown(r.score), r.agency_name, r.agency_code))
    counts = Counter(_shown(r.score) for r in eligible)
    ranked, rank = [], 0
    for position, row in enumerate(eligible, start=1):
        if position == 1 or _shown(row.score) != _shown(eligible[position - 2].score):
            rank = position
        ranked.append(replace(row, rank=rank, tied=counts[_shown(row.score)] > 1))
    return ranked + [replace(r, rank=None, tied=False) for r in others]


def ranking_window(period: ReportPeriod) -> ReportPeriod:
    """What the province ranks on: a day's or a week's dossiers are too few, so day and week
    reports rank on the month to date; month and quarter reports on their own period."""
    return period.to_date() if period.kind in ("day", "week") else period


def periods_needed(due: Iterable[tuple[str, ReportPeriod]]) -> set[ReportPeriod]:
    """The periods whose figures the reports of `due` (agency code, period) show: each report's
    period, the one before it, its running total and its trend; for the province's report also
    its ranking window."""
    periods: set[ReportPeriod] = set()
    for agency, period in due:
        periods |= {period, period.previous(), period.to_date(), *trend_periods(period)}
        if agency == PROVINCE:
            periods.add(ranking_window(period))
    return periods


def trend_periods(period: ReportPeriod) -> list[ReportPeriod]:
    """The periods the trend shows, ending with `period`."""
    return recent_periods(period, TREND_LENGTH[period.kind])


def _shown(rate: float) -> int:
    """A rate as it is shown, in tenths of a percent: the precision ties are judged at."""
    return round(rate * 1000)


def _rate(figures: Figures | None, key: str) -> float | None:
    return getattr(figures, key) if figures is not None else None


def _resolved_after(finding: Row, since: datetime | None) -> bool:
    return since is not None and finding.resolved_at is not None and finding.resolved_at > since


def _cause(reason: str | None, what: str, *, ever_synced: bool = True) -> str:
    """The sync's technical error (in English) as its cause in Vietnamese words."""
    text = (reason or "").lower()
    if "never synced" in text or not text and not ever_synced:
        return f"chưa lấy được dữ liệu từ {what} lần nào"
    if not text:
        return f"dữ liệu từ {what} chưa được cập nhật"
    older = re.search(r"older than ([\d.]+) hours", text)
    if older:
        return f"dữ liệu từ {what} đã hơn {older.group(1)} giờ chưa được cập nhật"
    if "interrupted" in text:
        return f"lần lấy dữ liệu gần nhất từ {what} bị gián đoạn"
    if "log-in refused" in text or re.search(r"http 40[13]\b", text):
        return f"{what} từ chối đăng nhập của hệ thống giám sát"
    if "certificate" in text or "tls" in text:
        return f"không xác minh được kết nối an toàn tới {what}"
    if re.search(r"http 5\d\d", text) or "answered" in text:
        return f"{what} đang gặp sự cố"
    if "connection" in text or "time-out" in text or "timed out" in text:
        return f"không kết nối được tới {what}"
    if "could not be read" in text or "matches" in text:
        return f"không đọc được {what}"
    return f"lần lấy dữ liệu gần nhất từ {what} không thành công"


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
