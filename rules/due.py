"""The dossiers as of T, one row each, with their due dates and state: `audit_dossier`.

Built once per audit into a temporary table, set-wise in SQL; the dossier rules and the figures
are then filters and counts over it. For every one-stop dossier received by T it holds:

- the legal due date D (rules.md "The legal due date of a dossier") and the effective due date
  D' after the supplement pauses, and whether the dossier is paused at T; none for a status 9
  or 10 dossier with neither finish nor return date, which is in no ontime rule;
- its state at T: early, on_time or late (status 9, 10 resolved by T), stopped (status 3, 7, 8
  resolved by T: counted as on time), within or overdue (in progress), or no_finish_date
  (status 9 or 10 with neither finish nor return date, or a stream dossier with status 3, 7 or 8
  and no end date: in no figure);
- the facts the entry and payment rules need: the ordinal of the effective receipt day R,
  whether the portal lists it, and for a fee-bearing dossier whether it was paid, and paid
  online, by T; and the one-stop source it came from.

Stream dossiers (sources.md section 4; those with a `stream_dossier` row) are read with the facts
the stream loader derived (connectors.stream_facts): `created_at` from the first status-2 step
(NULL while there is none), `updated_at` from the latest step with the dossier's status (NULL
while there is none: a status 3, 7 or 8 dossier without NgayTuChoi and NgayKetThucXuLy then has
no end date), and supplement requests. They have no payments: a stream dossier is paid online
when DuocThanhToanTrucTuyen is 1 or 2, and paid at all when paid online or resolved with status
9 or 10 by T.

Every due date is a lookup in the working-day tables (rules.workdays).

This is the legal due-date engine the audit runs. Beside it, rules.due_reference states the same
law in plain Python, one dossier at a time; it is never run by the audit, only by the tests,
which check on random dossiers that this SQL agrees with it (tests/test_rules_due.py). A change
to the law is made in both.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Boolean, Column, ColumnElement, Connection, Date, DateTime, Integer, MetaData, String, Table, and_, case, cast,
    false, func, insert, literal, null, or_, select, update,
)

from monitor.calendar import WorkingCalendar
from monitor.time_limits import TimeLimitKind
from monitor.models import BookRow, Dossier, Payment, PortalDossier, Procedure, StreamDossier, SupplementRequest
from monitor.statuses import FeeStatus
from rules.base import Parameter
from rules.sql import ceiling, create_scratch, date_of, days_after, flag, scanned, seconds, seconds_of_day
from rules.workdays import WorkdayTables, calendar_day, receipt_ordinal, working_day

metadata = MetaData()

# States at T. Resolved: early, on_time, late, stopped. In progress: within, overdue.
EARLY, ON_TIME, LATE, STOPPED = "early", "on_time", "late", "stopped"
WITHIN, OVERDUE = "within", "overdue"
NO_FINISH_DATE = "no_finish_date"
RESOLVED = (EARLY, ON_TIME, LATE, STOPPED)
IN_PROGRESS = (WITHIN, OVERDUE)

FINISHED_STATUSES = (9, 10)       # processed, result returned
STOPPED_STATUSES = (3, 7, 8)      # refused, withdrawn, processing stopped
WORKING_DAYS, CALENDAR_DAYS = TimeLimitKind.WORKING_DAYS.value, TimeLimitKind.CALENDAR_DAYS.value
WORKING_HOURS, SAME_DAY = TimeLimitKind.WORKING_HOURS.value, TimeLimitKind.SAME_DAY.value
KNOWN_LIMITS = (WORKING_DAYS, CALENDAR_DAYS, WORKING_HOURS, SAME_DAY)
# A "Trong ngày" dossier received later than this on a working day is due the next working day.
SAME_DAY_CUTOFF = Parameter("same_day_cutoff", time, time(15, 0))
ONLINE_PAYMENT = "truc-tuyen"
PAID_OFFLINE, PAID_ONLINE = 0, 1
# DuocThanhToanTrucTuyen of a stream dossier paid online: on the national portal, or through the
# province's payment gateway.
STREAM_PAID_ONLINE = ("1", "2")

audit_dossier = Table(
    "audit_dossier", metadata,
    Column("code", String(80), nullable=False),  # one row per dossier; no index: every join on it is set-wise
    Column("agency", String(64)),
    Column("procedure", String(64)),
    Column("channel", String(2)),
    Column("status", Integer),
    Column("received_at", DateTime, nullable=False),
    Column("received_on", Date, nullable=False),        # its date
    Column("created_at", DateTime),
    Column("appointment_at", DateTime),
    Column("finished_at", DateTime),
    Column("returned_at", DateTime),
    Column("known_procedure", Boolean, nullable=False),  # its MaTTHC is in the catalogue
    Column("known_limit", Boolean, nullable=False),      # and the catalogue gives its time limit
    Column("receipt_ordinal", Integer, nullable=False),  # ordinal of R, the effective receipt day
    Column("on_portal", Boolean, nullable=False),
    Column("source", String(64), nullable=False),  # the one-stop source it came from
    # Fee-bearing dossiers only: NULL not paid by T, PAID_OFFLINE paid by T but never online,
    # PAID_ONLINE some truc-tuyen payment made by T (a stream dossier: see the module's doc).
    # NULL for the other dossiers.
    Column("payment", Integer),
    Column("end_at", DateTime),        # finish date (9, 10) or end date (3, 7, 8), whenever it is (NULL: none)
    Column("end_on", Date),            # its date, or the receipt date when earlier (for the figures)
    Column("legal_due", Date),         # D (NULL: no due date, or in no ontime rule)
    Column("due_date", Date),          # D'
    Column("paused", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    prefixes=["TEMPORARY"],
)

# The supplement requests made by T, numbered in order per dossier (with the dossier's D);
# `extension` is E, the working days the request stopped the clock, or NULL while it is
# unanswered at T.
audit_request = Table(
    "audit_request", metadata,
    Column("code", String(80), primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("legal_due", Date, nullable=False),
    Column("asked_on", Date, nullable=False),
    Column("extension", Integer),
    prefixes=["TEMPORARY"],
)

# D' and paused of the dossiers with requests.
due_fix = Table(
    "audit_due_fix", metadata,
    Column("code", String(80), primary_key=True),
    Column("due_date", Date),
    Column("paused", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)

SCRATCH = (audit_dossier, audit_request, due_fix)


def build(connection: Connection, workdays: WorkdayTables, *, as_of: datetime,
          working_hours: tuple[tuple[time, time], ...], same_day_cutoff: time) -> None:
    """Fill `audit_dossier` for T = as_of: D first, then D' for the dossiers with requests."""
    for table in SCRATCH:
        create_scratch(connection, table)
    connection.execute(insert(audit_dossier).from_select(
        [c.name for c in audit_dossier.columns],
        _dossiers_at(workdays.calendar, as_of, working_hours, same_day_cutoff, connection.dialect.name)))
    connection.execute(insert(audit_request).from_select(
        [c.name for c in audit_request.columns], _requests_made_by(as_of)))
    totals = select(func.sum(audit_request.c.extension).label("total")).group_by(audit_request.c.code).subquery()
    workdays.extend_by(connection.execute(select(func.max(totals.c.total))).scalar() or 0)
    connection.execute(insert(due_fix).from_select([c.name for c in due_fix.columns], _supplement_walk()))
    connection.execute(
        update(audit_dossier).where(audit_dossier.c.code == due_fix.c.code).values(
            due_date=due_fix.c.due_date, paused=due_fix.c.paused,
            state=state_at(as_of, audit_dossier.c.status, audit_dossier.c.end_at, due_fix.c.due_date,
                           due_fix.c.paused)))


def state_at(as_of: datetime, status, end_at, due_date, paused: ColumnElement | None) -> ColumnElement:
    """rules.md "Resolved, in progress, early, on time, late", as a SQL expression."""
    finish_day = date_of(end_at)
    split = case((due_date.is_(None), ON_TIME),  # no due date can be computed: not late
                 (finish_day < due_date, EARLY),
                 (finish_day == due_date, ON_TIME),
                 else_=LATE)
    overdue = and_(due_date.is_not(None), due_date < as_of.date())
    if paused is not None:
        overdue = and_(overdue, ~paused)  # never overdue while paused
    return case(
        (_no_finish_date(status, end_at), NO_FINISH_DATE),
        (and_(status.in_(FINISHED_STATUSES), end_at <= as_of), split),
        (and_(status.in_(STOPPED_STATUSES), end_at <= as_of), STOPPED),
        (overdue, OVERDUE),
        else_=WITHIN,
    )


def _no_finish_date(status, end_at) -> ColumnElement:
    """Status 9 or 10 with neither finish nor return date, or status 3, 7 or 8 with no end date
    (a stream dossier with neither NgayTuChoi nor NgayKetThucXuLy nor a step of its status; a
    pull-API record always has NgayCapNhat): in no figure and in no ontime rule."""
    return and_(status.in_(FINISHED_STATUSES + STOPPED_STATUSES), end_at.is_(None))


def _dossiers_at(calendar: WorkingCalendar, as_of: datetime, working_hours: tuple[tuple[time, time], ...],
                 same_day_cutoff: time, dialect: str):
    """The SELECT that fills audit_dossier (D' = D and paused false, for now)."""
    d, p, portal = Dossier.__table__, Procedure.__table__, PortalDossier.__table__

    # 1. The dossier with its procedure, its receipt date's calendar row and the facts joined in.
    receipt_date = calendar_day.alias("receipt_date")
    # What the dossiers need of their procedure, worked out once per procedure.
    limits = select(
        p.c.code, p.c.time_limit_kind.label("kind"),
        flag(p.c.time_limit_kind.in_(KNOWN_LIMITS)).label("known_limit"),
        flag(p.c.fee_status == FeeStatus.FEE_BEARING).label("fee_bearing"),
        cast(p.c.time_limit_amount, Integer).label("days"),
        ceiling(p.c.time_limit_amount * 3600).label("limit_seconds"),
    ).subquery("limits")
    finish = func.coalesce(d.c.finished_at, d.c.returned_at)
    stop = func.coalesce(d.c.refused_at, d.c.finished_at, d.c.updated_at)
    payment, payments = _payment_by(as_of, d, finish, dialect)
    source = (d.join(receipt_date, receipt_date.c.day == date_of(d.c.received_at))
              .outerjoin(limits, limits.c.code == d.c.procedure_code)
              .outerjoin(portal, portal.c.code_key == d.c.code_key))
    for joined_table, on in payments:
        source = source.outerjoin(joined_table, on)
    joined = (
        select(
            d.c.code, d.c.agency_code.label("agency"), d.c.procedure_code.label("procedure"),
            d.c.channel, d.c.status, d.c.received_at, receipt_date.c.day.label("received_on"), d.c.created_at,
            d.c.appointment_at, d.c.finished_at, d.c.returned_at,
            flag(limits.c.code.is_not(None)).label("known_procedure"),
            func.coalesce(limits.c.known_limit, false()).label("known_limit"),
            limits.c.kind, limits.c.days, limits.c.limit_seconds,
            receipt_date.c.ordinal.label("day_ordinal"),
            receipt_date.c.working.label("day_working"),
            seconds_of_day(d.c.received_at).label("seconds"),
            flag(portal.c.code_key.is_not(None)).label("on_portal"),
            d.c.source,
            case((limits.c.fee_bearing, payment)).label("payment"),
            case((d.c.status.in_(FINISHED_STATUSES), finish),
                 (d.c.status.in_(STOPPED_STATUSES), stop)).label("end_at"),
        )
        .select_from(source)
        .where(scanned(d.c.received_at) <= as_of)
    )
    if dialect == "postgresql":
        # OFFSET 0 keeps PostgreSQL from inlining this subquery into the next ones, where it would
        # compute its expressions (the time of day, the calendar row) again at every use: 0.4 s.
        joined = joined.offset(0)
    joined = joined.subquery("joined")

    # 2. Ordinals: of R, and of D for the limits counted in working days, hours or the same day.
    j = joined.c
    r_ordinal = receipt_ordinal(j.day_ordinal, j.day_working, j.seconds, calendar)
    same_day_in_time = and_(j.day_working == 1, j.seconds <= seconds(same_day_cutoff))
    end_on = date_of(j.end_at)
    timed = select(
        joined,
        r_ordinal.label("receipt_ordinal"),
        # rules.md: for the figures' periods, an end earlier than the receipt is taken as the receipt.
        case((end_on < j.received_on, j.received_on), else_=end_on).label("end_on"),
        case((j.kind == WORKING_DAYS, r_ordinal + j.days),
             (j.kind == SAME_DAY, j.day_ordinal + case((same_day_in_time, 0), else_=1)),
             (j.kind == WORKING_HOURS, _hours_due_ordinal(j, working_hours))).label("due_ordinal"),
    ).subquery("timed")

    # 3. The due day: one lookup by its ordinal.
    t = timed.c
    due_day = working_day.alias("due_day")
    # A dossier in no ontime rule gets no D, so that no rule reading D (due_date_padded reads it
    # whatever the status) can judge it.
    legal_due = case((_no_finish_date(t.status, t.end_at), null()), (t.known_limit, due_day.c.day),
                     else_=date_of(t.appointment_at))
    return select(
        *(t[c.name] for c in audit_dossier.columns if c.name not in ("legal_due", "due_date", "paused", "state")),
        legal_due.label("legal_due"),
        legal_due.label("due_date"),
        false().label("paused"),
        state_at(as_of, t.status, t.end_at, legal_due, None).label("state"),
    ).select_from(
        timed.outerjoin(due_day, due_day.c.ordinal == func.coalesce(
            t.due_ordinal, case((t.kind == CALENDAR_DAYS, _calendar_days_due_ordinal(t)))))
    )


def _calendar_days_due_ordinal(t) -> ColumnElement:
    """For a limit of N calendar days: the ordinal of the first working day on or after R + N
    days. A subquery in a CASE, so that only the dossiers with such a limit look it up (two
    joins for every dossier cost a tenth of the build)."""
    receipt_day = working_day.alias("receipt_day")
    last_day = calendar_day.alias("last_day")
    return (select(last_day.c.ordinal + 1 - last_day.c.working)
            .select_from(receipt_day.join(last_day, last_day.c.day == days_after(receipt_day.c.day, t.days)))
            .where(receipt_day.c.ordinal == t.receipt_ordinal)
            .scalar_subquery())


def _payment_by(as_of: datetime, d, finish: ColumnElement, dialect: str) -> tuple[ColumnElement, list[tuple]]:
    """The `payment` of a dossier (PAID_ONLINE, PAID_OFFLINE or NULL), and what to outer-join
    for it (tables with their ON clauses).

    A pull-API dossier: from its payments made by T. PostgreSQL hashes the payments, grouped per
    dossier, against the dossiers. SQLite has no hash join: it would build an index over the
    grouped payments first, where looking up each fee-bearing dossier's own payments by the
    payment key costs a fifth of the build less.

    A stream dossier has no payments (its `stream_dossier` row says so): PAID_ONLINE when
    DuocThanhToanTrucTuyen is 1 or 2, else PAID_OFFLINE once resolved with status 9 or 10 by T,
    else not paid. (Hashed on PostgreSQL too; on SQLite looked up by its key, and only for the
    fee-bearing dossiers without payments.)"""
    pay, sd = Payment.__table__, StreamDossier.__table__
    online = func.max(case((pay.c.method == ONLINE_PAYMENT, PAID_ONLINE), else_=PAID_OFFLINE))

    def from_stream(paid_online: ColumnElement) -> ColumnElement:
        return case((paid_online.in_(STREAM_PAID_ONLINE), PAID_ONLINE),
                    (and_(d.c.status.in_(FINISHED_STATUSES), finish <= as_of), PAID_OFFLINE))
    if dialect == "sqlite":
        paid = select(online).where(pay.c.dossier_code == d.c.code, pay.c.paid_at <= as_of).scalar_subquery()
        streamed = select(from_stream(sd.c.paid_online)).where(sd.c.code == d.c.code).scalar_subquery()
        # COALESCE stops at the first value that is not NULL: a dossier with payments is never looked up.
        return func.coalesce(paid, streamed), []
    payments = (select(pay.c.dossier_code, online.label("online")).where(pay.c.paid_at <= as_of)
                .group_by(pay.c.dossier_code).subquery("payments"))
    stream = sd.alias("stream")
    paid = func.coalesce(payments.c.online, case((stream.c.code.is_not(None), from_stream(stream.c.paid_online))))
    return paid, [(payments, payments.c.dossier_code == d.c.code), (stream, stream.c.code == d.c.code)]


def _hours_due_ordinal(j, working_hours: tuple[tuple[time, time], ...]) -> ColumnElement:
    """The ordinal of the day on which H working hours from the receipt end.

    Working time is counted in seconds from the start of the tables: a working day whose ordinal
    is k covers (k - 1) * W to k * W, W being the working seconds of a day. Counting starts at the
    receipt (inside a period), at the next period's start (between periods), or at the next
    working day's start; it ends on the day whose slice holds start + H (an end exactly at the
    close of the day is that day)."""
    day_seconds = sum(seconds(close) - seconds(opens) for opens, close in working_hours)
    worked_today = sum(
        case((j.seconds <= seconds(opens), 0), (j.seconds >= seconds(close), seconds(close) - seconds(opens)),
             else_=j.seconds - seconds(opens))
        for opens, close in working_hours)
    start = (j.day_ordinal - j.day_working) * day_seconds + j.day_working * worked_today
    return (start + j.limit_seconds + day_seconds - 1) // day_seconds


def _requests_made_by(as_of: datetime):
    """rules.md "Supplement requests stop the clock": the requests made by T, in order, with E."""
    s = SupplementRequest.__table__
    asked = calendar_day.alias("asked")
    answered = calendar_day.alias("answered")
    answered_by_t = s.c.answered_at <= as_of
    # E: the working days d with date(asked) < d <= date(answered); NULL while unanswered at T.
    extension = case((and_(answered_by_t, answered.c.ordinal > asked.c.ordinal), answered.c.ordinal - asked.c.ordinal),
                     (answered_by_t, 0))
    order = func.row_number().over(partition_by=s.c.dossier_code, order_by=(s.c.requested_at, s.c.seq))
    return (
        select(s.c.dossier_code, order, audit_dossier.c.legal_due, date_of(s.c.requested_at), extension)
        .select_from(s.join(audit_dossier, audit_dossier.c.code == s.c.dossier_code)
                     .join(asked, asked.c.day == date_of(s.c.requested_at))
                     .outerjoin(answered, answered.c.day == date_of(s.c.answered_at)))
        .where(s.c.requested_at <= as_of, audit_dossier.c.legal_due.is_not(None))
    )


def _supplement_walk():
    """D' and paused for each dossier with requests: a walk through its requests in order, with a
    running due date that starts at D (a recursive query, one step per request)."""
    r = audit_request
    due_row = calendar_day.alias("due_row")
    dossiers = (select(r.c.code, func.max(r.c.n).label("total"), func.max(r.c.legal_due).label("legal_due"))
                .group_by(r.c.code).subquery("dossiers"))
    walk = (
        select(dossiers.c.code, literal(0).label("n"), dossiers.c.total, dossiers.c.legal_due.label("due_date"),
               due_row.c.ordinal.label("due_ordinal"), false().label("paused"))
        .select_from(dossiers.join(due_row, due_row.c.day == dossiers.c.legal_due))
        .cte("walk", recursive=True)
    )
    next_due = working_day.alias("next_due")
    counted = r.c.asked_on <= walk.c.due_date        # a request after the running due date is ignored
    extended = and_(counted, r.c.extension > 0)      # answered by T: the due date moves E working days
    step = (
        select(walk.c.code, walk.c.n + 1, walk.c.total,
               case((extended, next_due.c.day), else_=walk.c.due_date),
               case((extended, next_due.c.ordinal), else_=walk.c.due_ordinal),
               or_(walk.c.paused, and_(counted, r.c.extension.is_(None))))  # unanswered at T: paused
        .select_from(walk.join(r, and_(r.c.code == walk.c.code, r.c.n == walk.c.n + 1))
                     .outerjoin(next_due, next_due.c.ordinal == walk.c.due_ordinal + r.c.extension))
    )
    walk = walk.union_all(step)
    return select(walk.c.code, walk.c.due_date, walk.c.paused).where(walk.c.n == walk.c.total)


def calendar_range(connection: Connection, as_of: datetime) -> tuple[date, date]:
    """The dates the working-day tables must cover for an audit at T, before the supplement
    pauses extend them: from a year before the earliest receipt or request, or before ten years
    before T, to a year after ten years after T, or after T plus twice the longest time limit.
    Every appointment within ten years of T is inside (an appointment date is the due date of
    a dossier whose time limit is unknown; one beyond the tables is a typing error, and such a
    dossier keeps D as D'). Each bound is an index lookup: no pass over the dossiers."""
    earliest = [connection.execute(select(func.min(c))).scalar()
                for c in (Dossier.received_at, PortalDossier.submitted_at, BookRow.received_at,
                          SupplementRequest.requested_at)]
    longest = connection.execute(select(func.max(Procedure.time_limit_amount))
                                 .where(Procedure.time_limit_kind.in_(KNOWN_LIMITS))).scalar() or 0
    today, decade, year = as_of.date(), timedelta(days=3653), timedelta(days=366)
    start = min([today - decade, *(e.date() for e in earliest if e is not None)])
    end = max(today + decade, today + timedelta(days=2 * int(longest)))
    return start - year, end + year
