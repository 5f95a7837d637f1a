"""The figures of rules.md per agency and for the province ("*"), counted over audit_dossier.

They count dossiers, never findings: exemptions and monitor_from do not change them. Without a
period they cover everything received by T (nothing is carried over).

A figure that needs a skipped rule or part is null (rules.md "When a source is stale"). When the
part skipped is that of one of several one-stop sources (it is stale), the figure is null for the
province and for every agency with a dossier of that source, and computed for the agencies whose
dossiers all come from the fresh ones (README, "Choices where rules.md is silent").

The form's identity received_total + carried_over = resolved_total + in_progress_total is checked
on every audit; a failure is a bug in the monitor, so it raises.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date

from sqlalchemy import case, func, literal, select, true

from monitor.statuses import Channel
from rules import registry
from rules.base import AuditContext, audit_finding
from rules.due import (
    EARLY, IN_PROGRESS, LATE, NO_FINISH_DATE, ON_TIME, OVERDUE, PAID_ONLINE, RESOLVED, STOPPED, WITHIN,
)
from rules.due import audit_dossier as ad
from rules.entry import SYNC_GRACE_DAYS

PROVINCE = "*"



def _heading(label: str):
    return field(metadata={"label": label})


@dataclass(frozen=True)
class Figures:
    """The figures of one agency (or of the province, "*"). Fields in the order of interface.md's
    JSON; each with its heading as the official statistics form words it."""
    agency: str = _heading("Đơn vị")
    # The counts that need the due dates (SPLITS) are None when the on-time rules are skipped.
    received_total: int = _heading("Tiếp nhận")
    received_online: int = _heading("Trực tuyến")
    received_offline: int = _heading("Trực tiếp, BCCI")
    carried_over: int = _heading("Kỳ trước chuyển qua")
    resolved_total: int = _heading("Đã giải quyết")
    resolved_early: int | None = _heading("Trả trước hạn")
    resolved_on_time: int | None = _heading("Trả đúng hạn")
    resolved_late: int | None = _heading("Trả quá hạn")
    in_progress_total: int = _heading("Đang giải quyết")
    in_progress_within: int | None = _heading("Trong hạn")
    in_progress_overdue: int | None = _heading("Quá hạn")
    # Rates: None when they cannot be computed (no denominator, or a stale source).
    on_time_rate: float | None = _heading("Tỷ lệ đúng hạn")
    entry_rate: float | None = _heading("Tỷ lệ nhập")
    sync_rate: float | None = _heading("Tỷ lệ đồng bộ")
    online_payment_rate: float | None = _heading("Tỷ lệ TT trực tuyến")

    @classmethod
    def headings(cls) -> dict[str, str]:
        """Field name → Vietnamese heading, in order."""
        return {f.name: f.metadata["label"] for f in fields(cls)}

    def to_json(self) -> dict:
        return asdict(self)


FIGURE_NAMES = tuple(Figures.headings())
COUNTS = FIGURE_NAMES[1:12]
RATES = FIGURE_NAMES[12:]


class IdentityError(AssertionError):
    """received_total + carried_over != resolved_total + in_progress_total: a bug, never bad data."""


def compute(context: AuditContext, period: tuple[date, date] | None, skipped: Iterable[str],
            dossier_sources: tuple[str, ...] = ()) -> list[Figures]:
    """The figures of each agency with any dossier counted, sorted by code, then the province's.
    Reads audit_dossier and the entry.missing rows of audit_finding (before monitor_from).
    `dossier_sources` are the one-stop sources, whose names a skipped `rule:part` may be."""
    start = period[0] if period else None
    unavailable, partly, left_out = _unavailable_figures(set(skipped), dossier_sources)
    per_agency = _counts(context, start, left_out)
    missing = (select(audit_finding.c.agency, func.count().label("missing"))
               .where(audit_finding.c.rule.in_([r.id for r in registry.rules() if r.counts_as_unentered]),
                      audit_finding.c.received >= start if start else true())
               .group_by(audit_finding.c.agency))
    for agency, count in context.connection.execute(missing):  # by their row's receipt date
        per_agency.setdefault(agency, Counter())["missing"] += count
    province = sum(per_agency.values(), Counter())
    rows = [(agency, counts) for agency, counts in sorted(per_agency.items(), key=lambda item: item[0] or "")
            if agency is not None and any(n for name, n in counts.items() if name != LEFT_OUT_TERM)]
    figures = [_figures(agency, counts, unavailable | (partly if counts[LEFT_OUT_TERM] else set()))
               for agency, counts in rows + [(PROVINCE, province)]]
    for figure in figures:
        _check_identity(figure)
    return figures


# What the figures need to know of a dossier besides its agency and state, one bit each, so that
# one GROUP BY (agency, state, facts) counts every kind of dossier and Python adds the counts up
# into the figures. (SQLite groups by sorting: sorting a narrow key and counting costs half of
# summing sixteen conditions over every row, 0.65 s of a 1M-dossier audit.)
IN_PERIOD = 1          # received in the period (every dossier without a period)
ENDED_IN_PERIOD = 2    # its end (finish or stop) in the period
PAST_SYNC_GRACE = 4    # the sync grace after R is over at T
ON_PORTAL = 8
PAID = 16              # fee-bearing and paid by T ...
PAID_ONLINE_TOO = 32   # ... online
CHANNEL_ONLINE = 64
CHANNEL_OFFLINE = 128  # at the counter or by post
LEFT_OUT = 256         # of a one-stop source whose part of a rule is skipped (a stale one of several)
LEFT_OUT_TERM = "left_out"


def _counts(context: AuditContext, start: date | None, left_out: frozenset[str]) -> dict[str | None, Counter]:
    def bit(condition, value: int):
        return case((condition, value), else_=0)

    past_sync_grace = (ad.c.receipt_ordinal + context.value(SYNC_GRACE_DAYS)
                       < context.workdays.first_ordinal_from(context.day))
    facts = sum((
        bit(ad.c.received_on >= start, IN_PERIOD) if start else literal(IN_PERIOD),
        bit(ad.c.end_on >= start, ENDED_IN_PERIOD) if start else literal(0),
        bit(past_sync_grace, PAST_SYNC_GRACE),
        bit(ad.c.on_portal, ON_PORTAL),
        bit(ad.c.payment.is_not(None), PAID),
        bit(ad.c.payment == PAID_ONLINE, PAID_ONLINE_TOO),
        bit(ad.c.channel == Channel.ONLINE, CHANNEL_ONLINE),
        bit(ad.c.channel.in_((Channel.COUNTER, Channel.POST)), CHANNEL_OFFLINE),
        bit(ad.c.source.in_(sorted(left_out)), LEFT_OUT) if left_out else literal(0),
    ), literal(0))
    dossiers = select(ad.c.agency, ad.c.state, facts.label("facts")).subquery("dossiers")
    query = (select(dossiers.c.agency, dossiers.c.state, dossiers.c.facts, func.count().label("dossiers"))
             .group_by(dossiers.c.agency, dossiers.c.state, dossiers.c.facts))
    per_agency: dict[str | None, Counter] = {}
    for agency, state, facts, dossiers in context.connection.execute(query):
        per_agency.setdefault(agency, Counter()).update(
            {name: dossiers for name in _terms(state, facts, with_period=start is not None)})
    return per_agency


def _terms(state: str, facts: int, *, with_period: bool) -> list[str]:
    """The counts of rules.md a dossier in `state` with these facts adds one to."""
    counted = state != NO_FINISH_DATE
    in_period = bool(facts & IN_PERIOD)
    resolved = state in RESOLVED
    resolved_in_period = resolved and (bool(facts & ENDED_IN_PERIOD) or not with_period)
    terms = {
        "received_total": counted and in_period,
        "received_online": counted and in_period and bool(facts & CHANNEL_ONLINE),
        "received_offline": counted and in_period and bool(facts & CHANNEL_OFFLINE),
        "carried_over": with_period and counted and not in_period and not (resolved and not facts & ENDED_IN_PERIOD),
        "resolved_total": counted and resolved_in_period,
        "resolved_early": resolved_in_period and state == EARLY,
        "resolved_on_time": resolved_in_period and state in (ON_TIME, STOPPED),
        "resolved_late": resolved_in_period and state == LATE,
        "in_progress_total": state in IN_PROGRESS,
        "in_progress_within": state == WITHIN,
        "in_progress_overdue": state == OVERDUE,
        # For the rates: one-stop records received in the period (any status, any data quality),
        # those past their sync grace and of them those not on the portal, fee-bearing dossiers
        # paid by T and of them those paid online.
        "entered": in_period,
        "sync_due": in_period and bool(facts & PAST_SYNC_GRACE),
        "unsynced": in_period and bool(facts & PAST_SYNC_GRACE) and not facts & ON_PORTAL,
        "paid": in_period and bool(facts & PAID),
        "paid_online": in_period and bool(facts & PAID_ONLINE_TOO),
        # Any dossier, in the period or not, of a source left out of a rule whose figures it nulls.
        LEFT_OUT_TERM: bool(facts & LEFT_OUT),
    }
    return [name for name, counts in terms.items() if counts]


def _unavailable_figures(skipped: set[str], dossier_sources: tuple[str, ...]) -> tuple[set[str], set[str], frozenset[str]]:
    """The figures that the skipped rules, or parts of rules (`rule:part`), leave uncomputable:
    everywhere; only where dossiers of a left-out one-stop source count; and those sources."""
    everywhere, partly, sources = set(), set(), set()
    for name in skipped:
        rule_id, _, part = name.partition(":")
        needing = registry.by_id(rule_id).figures_needing_it
        if part and part in dossier_sources:
            if needing:
                partly.update(needing)
                sources.add(part)
        else:
            everywhere.update(needing)
    return everywhere, partly - everywhere, frozenset(sources)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _figures(agency: str, c: Counter, unavailable: set[str]) -> Figures:
    figure = {"agency": agency, **{name: c[name] for name in COUNTS}}
    figure["on_time_rate"] = _rate(c["resolved_early"] + c["resolved_on_time"], c["resolved_total"])
    figure["entry_rate"] = _rate(c["entered"], c["entered"] + c["missing"])
    figure["sync_rate"] = None if not c["sync_due"] else 1 - c["unsynced"] / c["sync_due"]
    figure["online_payment_rate"] = _rate(c["paid_online"], c["paid"])
    for name in unavailable:
        figure[name] = None
    return Figures(**figure)


def _check_identity(figure: Figures) -> None:
    left = figure.received_total + figure.carried_over
    right = figure.resolved_total + figure.in_progress_total
    if left != right:
        raise IdentityError(
            f"figures of {figure.agency}: received_total {figure.received_total} + carried_over "
            f"{figure.carried_over} = {left}, but resolved_total {figure.resolved_total} + "
            f"in_progress_total {figure.in_progress_total} = {right}; this is a bug in the monitor, "
            "please report it with the database")
