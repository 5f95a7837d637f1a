"""The Python reference of the due dates (rules.md "The legal due date of a dossier" and
"Supplement requests stop the clock"), one dossier at a time.

The audit does not run it: rules.due computes the same dates set-wise in SQL, for every dossier
at once. This is the readable statement of the law that the SQL is checked against
(tests/test_rules_due.py, on random dossiers; tests/test_due_reference.py, clause by clause).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from monitor.calendar import WorkingCalendar
from monitor.time_limits import TimeLimit, TimeLimitKind


def legal_due_date(
    calendar: WorkingCalendar,
    limit: TimeLimit | None,
    received_at: datetime,
    appointment_at: datetime | None,
    *,
    same_day_cutoff: time = time(15, 0),
) -> date | None:
    """The legal due date D of a dossier received at `received_at` (`NgayTiepNhan`).

    With no known time limit, D is the date of the recorded appointment (`NgayHenTra`), or None
    when there is none.
    """
    kind = limit.kind if limit is not None else TimeLimitKind.UNKNOWN
    if kind is TimeLimitKind.UNKNOWN:
        return appointment_at.date() if appointment_at is not None else None
    if kind is TimeLimitKind.WORKING_DAYS:
        return calendar.working_days_after(calendar.effective_receipt_day(received_at), int(limit.amount))
    if kind is TimeLimitKind.CALENDAR_DAYS:
        last_day = calendar.effective_receipt_day(received_at) + timedelta(days=int(limit.amount))
        return calendar.working_day_on_or_after(last_day)
    if kind is TimeLimitKind.WORKING_HOURS:
        return calendar.add_working_hours(received_at, limit.amount).date()
    # Same day: received by the cut-off on a working day, else the next working day.
    day = received_at.date()
    # Times are compared to the second (rules.md).
    if calendar.is_working_day(day) and received_at.time().replace(microsecond=0) <= same_day_cutoff:
        return day
    return calendar.next_working_day(day)


@dataclass(frozen=True)
class SupplementRequest:
    """A recorded request for supplements (`DanhSachHoSoBoSung`); answered_at None while waiting."""

    requested_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class EffectiveDueDate:
    """D' after the supplement pauses; `paused` when a request is still unanswered at the audit time."""

    due_date: date
    paused: bool


def effective_due_date(
    calendar: WorkingCalendar,
    legal_due: date,
    requests: Iterable[SupplementRequest],
    as_of: datetime,
) -> EffectiveDueDate:
    """rules.md "Supplement requests stop the clock", as seen at the audit time `as_of`."""
    due, paused = legal_due, False
    made = sorted((r for r in requests if r.requested_at <= as_of), key=lambda r: r.requested_at)
    for request in made:
        asked_on = request.requested_at.date()
        if asked_on > due:
            continue  # a late dossier cannot buy time
        if request.answered_at is not None and request.answered_at <= as_of:
            # Each request extends on its own, even when requests overlap.
            waited = calendar.working_days_between(asked_on, request.answered_at.date())
            due = calendar.working_days_after(due, waited)
        else:
            paused = True
    return EffectiveDueDate(due_date=due, paused=paused)
