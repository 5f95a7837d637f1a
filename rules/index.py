"""The national service index (Decision 766/QĐ-TTg) as the national portal computes it, per
agency and for the province ("*"), for a period [from, to] as of the end of `to` (rules.md "What
the national index will say").

Like the figures (rules.figures), the index counts dossiers set-wise over audit_dossier
(rules.due) and the store: one SELECT gives each dossier that can count (started in the period,
or counted by the figures as received or carried over) its facts, one bit each; one GROUP BY
(agency, facts) counts them; Python adds the counts up into the indicators and their points.

- "Started in the period": NgayTiepNhan's date in [from, to], every such dossier (those in no
  figure, a status 9 or 10 without dates, included).
- 2.1 counts the dossiers of the figures (received_total or carried_over). A dossier's end for
  the index is its finish (9, 10) or end date (3, 7, 8) when that is by T; else, with exactly one
  supplement request made and unanswered at T, the request; else T. The time of the requests
  answered by T (answer − request) is subtracted. On time when that is no later than NgayHenTra
  (without one: the end of the legal due date D; without either: on time, as the legal state
  counts a dossier with no due date); late whatever the dates with more than one request made by T.
- 4.x read what only the stream carries (stream_dossier, result_document, submitted_file): only
  stream dossiers count, so without a stream source every 4.x rate has a 0 denominator (null).

Rates are unrounded, null with a 0 denominator. points = max × min(1, rate / full_at) from
config [index]; the totals add the indicators whose rate is computed.

An indicator that needs an input a stale source took away (the portal's dossier list for 1.4 and
3.3, the catalogue for 2.1 and 3.6) is null everywhere; one that counts a dossier of a stale
one-stop source (one of several) is null for that dossier's agency and the province, as the
figures are (README, "Choices where rules.md is silent").

Beside 2.1 each agency's row carries the legal figures' on_time_rate and the dossiers on time for
the index but late in law (resolved late, or overdue at T) whose appointment NgayHenTra is a later
date than the legal due date D: what a padded appointment buys. `detail()` lists, for
`motcua audit --index-detail`, the dossiers late for the index, each with why, and those.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal, or_, select, text, true

from monitor.models import Fee, Procedure, ResultDocument, StreamDossier, SubmittedFile, SupplementRequest
from monitor.sources import CATALOGUE, PORTAL_LIST, dossiers_of
from monitor.statuses import Channel, FeeStatus
from rules.base import AuditContext
from rules.due import EARLY, IN_PROGRESS, LATE, NO_FINISH_DATE, ON_TIME, OVERDUE, PAID_ONLINE, RESOLVED
from rules.due import audit_dossier as ad
from rules.figures import PROVINCE, Figures
from rules.sql import date_of, epoch, epoch_of

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Indicator:
    """An indicator of the index: its id (the JSON key and the config's [index] key), its number
    in Decision 766, its Vietnamese label (and a short one for tables), its default maximum and
    "full at" rate, and the inputs without which it cannot be computed."""
    id: str
    number: str
    label: str
    short: str
    max: float
    full_at: float
    needs: frozenset[str] = frozenset()


INDICATORS: tuple[Indicator, ...] = (
    Indicator("idx_1_4_sync", "1.4", "Hồ sơ đồng bộ lên Cổng DVC quốc gia", "đồng bộ", 6, 1.0,
              frozenset({PORTAL_LIST})),
    Indicator("idx_2_1_on_time", "2.1", "Hồ sơ giải quyết đúng hạn (so với ngày hẹn trả)", "đúng hạn", 20, 1.0,
              frozenset({CATALOGUE})),
    Indicator("idx_3_3_online", "3.3", "Hồ sơ trực tuyến (nhân với tỷ lệ đồng bộ)", "trực tuyến", 6, 0.5,
              frozenset({PORTAL_LIST})),
    Indicator("idx_3_6_payment", "3.6", "Hồ sơ thanh toán trực tuyến", "thanh toán trực tuyến", 6, 1.0,
              frozenset({CATALOGUE})),
    Indicator("idx_4_1_e_result", "4.1", "Hồ sơ có kết quả điện tử", "kết quả điện tử", 6, 1.0),
    Indicator("idx_4_2_digitised", "4.2", "Hồ sơ số hóa thành phần", "số hóa", 4, 0.8),
    Indicator("idx_4_3_reuse", "4.3", "Hồ sơ tái sử dụng dữ liệu số hóa", "tái sử dụng", 2, 0.8),
)
INDICATOR_IDS = tuple(i.id for i in INDICATORS)
SETTING_KEYS = ("max", "full_at")


def _indicator(indicator_id: str) -> Indicator:
    return next(i for i in INDICATORS if i.id == indicator_id)


def weights(given: Mapping[str, Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    """(max, full_at) of each indicator: config [index] (Settings.index), else the defaults."""
    return {i.id: (given.get(i.id, {}).get("max", i.max), given.get(i.id, {}).get("full_at", i.full_at))
            for i in INDICATORS}


@dataclass(frozen=True)
class Score:
    rate: float | None
    points: float | None
    max: float

    def to_json(self) -> dict:
        return {"rate": self.rate, "points": self.points, "max": self.max}


@dataclass(frozen=True)
class IndexRow:
    """The index of one agency (or of the province, "*") for a period."""
    agency: str
    scores: Mapping[str, Score]                 # by indicator id, in INDICATORS' order
    law_on_time_rate: float | None              # on_time_rate of the legal figures
    on_time_for_index_late_in_law: int | None   # null when 2.1 cannot be computed (a stale source)

    @property
    def max_total(self) -> float:
        """The maximum of the indicators computed (never 100 by default)."""
        return sum(s.max for s in self.scores.values() if s.rate is not None)

    @property
    def points_total(self) -> float | None:
        computed = [s.points for s in self.scores.values() if s.rate is not None]
        return sum(computed) if computed else None

    def to_json(self) -> dict:
        return {"agency": self.agency, **{name: score.to_json() for name, score in self.scores.items()},
                "points_total": self.points_total, "max_total": self.max_total,
                "law_gap": {"on_time_rate": self.law_on_time_rate,
                            "on_time_for_index_late_in_law": self.on_time_for_index_late_in_law}}

    @classmethod
    def from_stored(cls, row: Any) -> IndexRow:
        """The row the audit stage stored (a `report_index` row: monitor.models.ReportIndex), as
        the reports read it back."""
        scores = {i: Score(**row.indicators[i]) for i in INDICATOR_IDS if i in row.indicators}
        return cls(agency=row.agency, scores=scores, law_on_time_rate=row.law_on_time_rate,
                   on_time_for_index_late_in_law=row.on_time_for_index_late_in_law)


# Why a dossier costs points (machine codes; the table shows REASON_LABELS).
END_AFTER_APPOINTMENT = "end_after_appointment"
SECOND_SUPPLEMENT_REQUEST = "second_supplement_request"
IN_PROGRESS_PAST_APPOINTMENT = "in_progress_past_appointment"
PADDED = "on_time_for_index_late_in_law"
REASON_LABELS = {
    END_AFTER_APPOINTMENT: "kết thúc sau ngày hẹn trả",
    SECOND_SUPPLEMENT_REQUEST: "yêu cầu bổ sung lần thứ hai",
    IN_PROGRESS_PAST_APPOINTMENT: "đang giải quyết, đã quá ngày hẹn trả",
    PADDED: "đúng hạn theo chỉ số, trễ theo luật (hẹn trả sau hạn luật định)",
}


@dataclass(frozen=True)
class IndexDossier:
    """A dossier late for the index (2.1), or on time for it but late in law with a padded
    appointment (PADDED)."""
    agency: str
    subject: str
    procedure: str | None
    reason: str
    received_at: datetime
    appointment_at: datetime | None
    legal_due: date | None        # D
    due_date: date | None         # D' (the law's, after the supplement pauses)
    index_end: datetime           # the end the index compares, the supplement time subtracted
    supplement_requests: int      # made by T

    def to_json(self) -> dict:
        def moment(value):
            return value.isoformat(timespec="seconds") if value else None
        return {"agency": self.agency, "subject": self.subject, "procedure": self.procedure, "reason": self.reason,
                "received_at": moment(self.received_at), "appointment_at": moment(self.appointment_at),
                "legal_due": self.legal_due.isoformat() if self.legal_due else None,
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "index_end": moment(self.index_end), "supplement_requests": self.supplement_requests}


# A dossier's facts, one bit each (as in rules.figures).
STARTED = 1               # NgayTiepNhan in the period
COUNTED = 2               # in received_total or carried_over of the figures: 2.1's denominator
INDEX_ON_TIME = 4
PADDED_LATE_IN_LAW = 8    # late or overdue in law, its appointment a later date than D
ON_PORTAL = 16
ONLINE = 32
FEES_DUE = 64             # fee-bearing procedure, and not a fee list of zeros only
PAID_ONLINE_BIT = 128
STREAM = 256
FINISHED = 512            # resolved with status 9 or 10 by T
ENDED_IN_PERIOD = 1024    # its finish or end date (or receipt, if later) in the period
E_RESULT = 2048
DIGITISED = 4096
REUSED = 8192
LEFT_OUT = 16384          # of a stale one-stop source


def compute(context: AuditContext, period: tuple[date, date], figures: list[Figures], *,
            unavailable: frozenset[str], dossier_sources: tuple[str, ...],
            given: Mapping[str, Mapping[str, float]]) -> list[IndexRow]:
    """The index of each agency with a dossier it counts, sorted by code, then the province's."""
    left_out = frozenset(s for s in dossier_sources if dossiers_of(s) in unavailable)
    facts = _facts(context, period[0], left_out).subquery("facts")
    query = (select(facts.c.agency, facts.c.facts, func.count().label("dossiers"))
             .group_by(facts.c.agency, facts.c.facts))
    per_agency: dict[str, Counter] = {}
    for agency, bits, dossiers in _counted(context.connection, query):
        per_agency.setdefault(agency, Counter()).update({term: dossiers for term in _terms(bits)})
    province = sum(per_agency.values(), Counter())
    legal = {f.agency: f.on_time_rate for f in figures}
    scales = weights(given)
    never = {i.id for i in INDICATORS if i.needs & unavailable}
    return [_row(agency, counts, scales, never, legal.get(agency))
            for agency, counts in sorted(per_agency.items()) + [(PROVINCE, province)]]


def _counted(connection: Connection, query: Select) -> list:
    """The rows of `query`. PostgreSQL's planner, which has no statistics of the audit's temporary
    tables, takes the joins for tens of millions of rows: it would spend longer compiling the
    query (JIT, 3 s on a province of a million dossiers) than running it, and sort the rows to
    group them where a hash of the few hundred groups is enough (0.5 s). Both are turned off for
    this query alone (ANALYZE of audit_dossier would cost more than it saves)."""
    if connection.dialect.name != "postgresql":
        return connection.execute(query).all()
    names = ("jit", "enable_sort")
    before = {name: connection.execute(text(f"SELECT current_setting('{name}')")).scalar() for name in names}
    for name in names:
        connection.execute(text(f"SELECT set_config('{name}', 'off', true)"))
    try:
        return connection.execute(query).all()
    finally:
        for name, value in before.items():
            connection.execute(text(f"SELECT set_config('{name}', :value, true)"), {"value": value})


def _terms(bits: int) -> list[str]:
    def has(bit: int) -> bool:
        return bool(bits & bit)
    started, stream = has(STARTED), has(STREAM)
    results_due = stream and has(FINISHED) and has(ENDED_IN_PERIOD)
    terms = {
        "started": started,
        "synced": started and has(ON_PORTAL),
        "online": started and has(ONLINE),
        "counted": has(COUNTED),
        "on_time": has(COUNTED) and has(INDEX_ON_TIME),
        "padded": has(COUNTED) and has(INDEX_ON_TIME) and has(PADDED_LATE_IN_LAW),
        "fees_due": started and has(FEES_DUE),
        "paid_online": started and has(FEES_DUE) and has(PAID_ONLINE_BIT),
        "results_due": results_due,
        "e_results": results_due and has(E_RESULT),
        "stream_started": stream and started,
        "digitised": stream and started and has(DIGITISED) and (not has(FINISHED) or has(E_RESULT)),
        "reused": stream and started and has(REUSED),
        "left_out": has(LEFT_OUT),
    }
    return [name for name, counts in terms.items() if counts]


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """The rate of each indicator from the counts of one agency (or of the province)."""
    sync = _rate(c["synced"], c["started"])
    online = _rate(c["online"], c["started"])
    return {
        "idx_1_4_sync": sync,
        "idx_2_1_on_time": _rate(c["on_time"], c["counted"]),
        "idx_3_3_online": None if online is None or sync is None else online * sync,
        "idx_3_6_payment": _rate(c["paid_online"], c["fees_due"]),
        "idx_4_1_e_result": _rate(c["e_results"], c["results_due"]),
        "idx_4_2_digitised": _rate(c["digitised"], c["stream_started"]),
        "idx_4_3_reuse": _rate(c["reused"], c["stream_started"]),
    }


def points(rate: float | None, maximum: float, full_at: float) -> float | None:
    """max × min(1, rate / full_at); null when the rate is."""
    return None if rate is None else maximum * min(1.0, rate / full_at)


def _row(agency: str, counts: Counter, scales: dict[str, tuple[float, float]], never: set[str],
         law_on_time_rate: float | None) -> IndexRow:
    # A stale one-stop source (one of several) leaves every indicator of a row counting its
    # dossiers uncomputable; an input a stale source took away, the indicators needing it.
    unknown = set(INDICATOR_IDS) if counts["left_out"] else never
    scores = {}
    for name, rate in rates(counts).items():
        rate = None if name in unknown else rate
        maximum, full_at = scales[name]
        scores[name] = Score(rate, points(rate, maximum, full_at), maximum)
    gap = None if "idx_2_1_on_time" in unknown else counts["padded"]
    return IndexRow(agency, scores, law_on_time_rate, gap)


def _facts(context: AuditContext, start: date, left_out: frozenset[str]) -> Select:
    """One row per dossier the index can count: its agency and facts (bits), and what the
    detail shows of it."""
    as_of = context.as_of
    s, f, p = SupplementRequest.__table__, Fee.__table__, Procedure.__table__
    sd, rd, sf = StreamDossier.__table__, ResultDocument.__table__, SubmittedFile.__table__

    answered_by_t = s.c.answered_at <= as_of
    requests = (
        select(s.c.dossier_code.label("code"), func.count().label("made"),
               func.min(s.c.requested_at).label("first_at"),
               func.sum(case((answered_by_t, 1), else_=0)).label("answered"),
               # answer − request of those answered by T (none can be negative)
               func.sum(case((and_(answered_by_t, s.c.answered_at > s.c.requested_at),
                              epoch(s.c.answered_at) - epoch(s.c.requested_at)), else_=0)).label("waited"))
        .where(s.c.requested_at <= as_of).group_by(s.c.dossier_code).subquery("requests"))
    results = (select(rd.c.dossier_code.label("code")).where(func.trim(rd.c.file_url) != "")
               .group_by(rd.c.dossier_code).subquery("results"))
    files = (select(sf.c.dossier_code.label("code"),
                    func.max(case((sf.c.digitised, 1), else_=0)).label("digitised"),
                    func.max(case((sf.c.reused, 1), else_=0)).label("reused"))
             .group_by(sf.c.dossier_code).subquery("files"))

    started = ad.c.received_on >= start
    resolved = ad.c.state.in_(RESOLVED)
    counted = and_(ad.c.state != NO_FINISH_DATE, or_(started, ~resolved, ad.c.end_on >= start))
    made = func.coalesce(requests.c.made, 0)
    waited = func.coalesce(requests.c.waited, 0)
    waiting_once = and_(made == 1, requests.c.answered == 0)
    end = case((resolved, ad.c.end_at), (waiting_once, requests.c.first_at), else_=literal(as_of))
    # Compared as date-times; in seconds only when supplement time is subtracted (few dossiers).
    end_seconds = case((resolved, epoch(ad.c.end_at)), (waiting_once, epoch(requests.c.first_at)),
                       else_=epoch_of(as_of)) - waited
    by_appointment = case((waited == 0, end <= ad.c.appointment_at),
                          else_=end_seconds <= epoch(ad.c.appointment_at))
    by_legal_due = case((waited == 0, date_of(end) <= ad.c.legal_due),
                        else_=end_seconds <= epoch(ad.c.legal_due) + (DAY_SECONDS - 1))
    on_time = and_(made <= 1, case((ad.c.appointment_at.is_not(None), by_appointment),
                                   (ad.c.legal_due.is_not(None), by_legal_due), else_=true()))
    # A fee list whose amounts are all 0 (amounts are never negative): its largest is 0, looked
    # up by the dossier's key only for the fee-bearing dossiers started in the period.
    fees_top = select(func.max(f.c.amount)).where(f.c.dossier_code == ad.c.code).scalar_subquery()
    padded = and_(ad.c.state.in_((LATE, OVERDUE)), date_of(ad.c.appointment_at) > ad.c.legal_due)
    stream = sd.c.code.is_not(None)

    def bit(condition, value: int):
        return case((condition, value), else_=0)

    facts = sum((
        bit(started, STARTED),
        bit(counted, COUNTED),
        bit(on_time, INDEX_ON_TIME),
        bit(padded, PADDED_LATE_IN_LAW),
        bit(ad.c.on_portal, ON_PORTAL),
        bit(ad.c.channel == Channel.ONLINE, ONLINE),
        # Only the fee-bearing dossiers started in the period look their fee list up (by its key).
        case((and_(started, p.c.fee_status == FeeStatus.FEE_BEARING),
              case((fees_top == 0, 0), else_=FEES_DUE)), else_=0),
        bit(ad.c.payment == PAID_ONLINE, PAID_ONLINE_BIT),
        bit(stream, STREAM),
        bit(ad.c.state.in_((EARLY, ON_TIME, LATE)), FINISHED),
        bit(ad.c.end_on >= start, ENDED_IN_PERIOD),
        bit(results.c.code.is_not(None), E_RESULT),
        bit(or_(sd.c.digitised, files.c.digitised == 1), DIGITISED),
        bit(files.c.reused == 1, REUSED),
        bit(ad.c.source.in_(sorted(left_out)), LEFT_OUT) if left_out else literal(0),
    ), literal(0))
    return (
        select(ad.c.agency, facts.label("facts"), ad.c.code, ad.c.procedure, ad.c.received_at,
               ad.c.appointment_at, ad.c.legal_due, ad.c.due_date, resolved.label("resolved"),
               made.label("made"), end.label("end_at"), waited.label("waited"))
        .select_from(ad.outerjoin(requests, requests.c.code == ad.c.code)
                     .outerjoin(p, p.c.code == ad.c.procedure)
                     .outerjoin(sd, sd.c.code == ad.c.code)
                     .outerjoin(results, results.c.code == ad.c.code)
                     .outerjoin(files, files.c.code == ad.c.code))
        .where(or_(started, ad.c.state.in_(IN_PROGRESS), ad.c.end_on >= start))
    )


def detail(context: AuditContext, period: tuple[date, date], *, unavailable: frozenset[str],
           dossier_sources: tuple[str, ...], agency: str | None = None) -> list[IndexDossier]:
    """The dossiers of 2.1 late for the index, each with why, and those on time for it but late
    in law with a padded appointment; by agency, then code. None of a stale source: where 2.1
    cannot be computed, nothing is listed (a stale source's gaps are never shown as costs)."""
    if _indicator("idx_2_1_on_time").needs & unavailable:
        return []
    left_out = frozenset(s for s in dossier_sources if dossiers_of(s) in unavailable)
    facts = _facts(context, period[0], left_out).subquery("facts")
    c = facts.c
    wanted = and_(c.facts.op("&")(COUNTED) != 0, c.facts.op("&")(LEFT_OUT) == 0,
                  or_(c.facts.op("&")(INDEX_ON_TIME) == 0, c.facts.op("&")(PADDED_LATE_IN_LAW) != 0))
    query = select(facts).where(wanted, c.agency == agency if agency is not None else literal(True))
    rows = []
    for row in context.connection.execute(query):
        if row.facts & INDEX_ON_TIME:
            reason = PADDED
        elif row.made > 1:
            reason = SECOND_SUPPLEMENT_REQUEST
        elif row.resolved:
            reason = END_AFTER_APPOINTMENT
        else:
            reason = IN_PROGRESS_PAST_APPOINTMENT
        rows.append(IndexDossier(
            agency=row.agency, subject=row.code, procedure=row.procedure, reason=reason,
            received_at=row.received_at, appointment_at=row.appointment_at, legal_due=row.legal_due,
            due_date=row.due_date, index_end=row.end_at - timedelta(seconds=int(row.waited)),
            supplement_requests=int(row.made)))
    rows.sort(key=lambda d: (d.agency, d.subject))
    return rows


def agencies(rows: Iterable[IndexRow], agency: str | None) -> list[IndexRow]:
    """The rows of the index an --agency filter keeps (no province row), or all."""
    return [r for r in rows if agency is None or r.agency == agency]

