"""The SQL due dates of rules.due agree with their Python reference, rules.due_reference.

Random dossiers (every kind of time limit, receipts around cut-offs, holidays and weekends,
supplement requests answered before and after T, or never) are written to the store; the audit's
audit_dossier table must hold, for each, D = legal_due_date(...) and D', paused =
effective_due_date(...).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select
from sqlmodel import Session

from monitor.codes import code_key
from audit_helpers import AGENCY, SYNCED, make_settings
from monitor.config import CalendarSettings
from monitor.time_limits import TimeLimit, TimeLimitKind
from monitor.models import Dossier, Procedure
from monitor.models import SupplementRequest as SupplementRow
from rules import due
from rules.due_reference import SupplementRequest, effective_due_date, legal_due_date
from rules.workdays import WorkdayTables, calendar_of

T = datetime(2026, 5, 15, 12, 0, 0)
CALENDARS = (
    CalendarSettings(),
    CalendarSettings(working_hours=((time(8, 0), time(12, 0)), (time(13, 0), time(17, 30))),
                     extra_days_off=(date(2026, 3, 13),), extra_working_days=(date(2026, 3, 14),)),
)
EDGE_TIMES = (time(0, 0), time(7, 0), time(11, 30), time(12, 0), time(13, 30), time(15, 0), time(15, 0, 1),
              time(17, 0), time(17, 0, 1), time(17, 30), time(23, 59, 59))

limits = st.one_of(
    st.tuples(st.just("working_days"), st.integers(1, 30).map(Decimal)),
    st.tuples(st.just("calendar_days"), st.integers(1, 30).map(Decimal)),
    st.tuples(st.just("working_hours"), st.sampled_from([1, 2, 4, 8, 12, 16, 20, 40]).map(Decimal)
              | st.integers(1, 80).map(lambda n: Decimal(n) / 2)),
    st.tuples(st.just("same_day"), st.none()),
    st.tuples(st.just("unknown"), st.none()),
    st.tuples(st.none(), st.none()),          # the detail page lacked the label
)
moments = st.builds(
    datetime.combine,
    st.dates(date(2026, 1, 20), date(2026, 5, 14)),
    st.sampled_from(EDGE_TIMES) | st.times().map(lambda t: t.replace(microsecond=0)),
)


def reference_limit(kind: str | None, amount: Decimal | None) -> TimeLimit | None:
    """The stored catalogue values as the reference functions take them."""
    if kind in (None, "unknown"):
        return None
    return TimeLimit(TimeLimitKind(kind), amount)


@st.composite
def dossiers(draw):
    received = draw(moments)
    requests = []
    for _ in range(draw(st.integers(0, 3))):
        asked = received + timedelta(days=draw(st.integers(-3, 40)), seconds=draw(st.integers(0, 86399)))
        answered = draw(st.none() | st.integers(0, 25).map(lambda d: asked + timedelta(days=d, hours=2)))
        requests.append((asked, answered))
    appointment = draw(st.none() | st.integers(0, 60).map(lambda d: received + timedelta(days=d)))
    return received, draw(limits), appointment, requests


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(dossiers(), min_size=1, max_size=25), calendar_settings=st.sampled_from(CALENDARS),
       cutoff=st.sampled_from((time(15, 0), time(16, 30))))
def test_sql_due_dates_agree_with_the_python_reference(engine, cases, calendar_settings, cutoff):
    calendar = calendar_of(calendar_settings)
    with Session(engine) as session:
        for i, (received, (kind, amount), appointment, requests) in enumerate(cases):
            code = f"D-{i:03d}"
            session.add(Procedure(code=f"P{i}", agency_code=AGENCY, time_limit_kind=kind, time_limit_amount=amount,
                                  source="cong-dvc", synced_at=SYNCED))
            session.add(Dossier(code=code, code_key=code_key(code), procedure_code=f"P{i}", procedure_code_raw=f"P{i}",
                                agency_code=AGENCY, channel="1", status=4, received_at=received,
                                appointment_at=appointment, created_at=received, updated_at=received, source="motcua",
                                synced_at=SYNCED))
            session.flush()
            session.add_all(SupplementRow(dossier_code=code, seq=n, requested_at=asked, answered_at=answered)
                            for n, (asked, answered) in enumerate(requests))
        session.commit()
    try:
        with engine.connect() as connection, connection.begin():
            workdays = WorkdayTables(connection, calendar, *due.calendar_range(connection, T))
            due.build(connection, workdays, as_of=T, working_hours=calendar_settings.working_hours,
                      same_day_cutoff=cutoff)
            rows = {row.code: row for row in connection.execute(select(due.audit_dossier))}
        for i, (received, (kind, amount), appointment, requests) in enumerate(cases):
            row = rows[f"D-{i:03d}"]
            legal = legal_due_date(calendar, reference_limit(kind, amount), received, appointment,
                                   same_day_cutoff=cutoff)
            assert row.legal_due == legal, (received, kind, amount, appointment)
            made = [SupplementRequest(*r) for r in requests]
            expected = effective_due_date(calendar, legal, made, T) if legal else None
            assert row.due_date == (expected.due_date if expected else None), (received, kind, amount, requests)
            assert row.paused == (expected.paused if expected else False), (received, kind, amount, requests)
    finally:
        with engine.begin() as connection:
            for table in (SupplementRow, Dossier, Procedure):
                connection.execute(delete(table))


def test_a_receipt_after_t_is_not_in_the_audit(engine):
    with Session(engine) as session:
        session.add(Dossier(code="LATER", code_key="LATER", procedure_code="P", procedure_code_raw="P",
                            agency_code=AGENCY, channel="1", status=4, received_at=T + timedelta(seconds=1),
                            created_at=T, updated_at=T, source="motcua", synced_at=SYNCED))
        session.commit()
    settings_ = make_settings()
    with engine.connect() as connection, connection.begin():
        workdays = WorkdayTables(connection, calendar_of(settings_.calendar), *due.calendar_range(connection, T))
        due.build(connection, workdays, as_of=T, working_hours=settings_.calendar.working_hours,
                  same_day_cutoff=due.SAME_DAY_CUTOFF.value(settings_.rules))
        assert connection.execute(select(due.audit_dossier)).all() == []


def test_an_appointment_within_ten_years_is_moved_by_a_pause_and_a_further_one_is_kept(engine):
    # Unknown time limit: D is the appointment's date. An answered request moves D' by E
    # working days, counted in the working-day tables; an appointment beyond them (more than
    # eleven years after T) is a typing error and keeps D' = D.
    received, asked, answered = datetime(2026, 5, 4, 9, 0), datetime(2026, 5, 5, 9, 0), datetime(2026, 5, 8, 9, 0)
    near, far = datetime(2035, 12, 10, 17, 0), datetime(2038, 1, 5, 17, 0)
    with Session(engine) as session:
        session.add(Procedure(code="P", agency_code=AGENCY, time_limit_kind="unknown", source="cong-dvc",
                              synced_at=SYNCED))
        for code, appointment in (("NEAR", near), ("FAR", far)):
            session.add(Dossier(code=code, code_key=code, procedure_code="P", procedure_code_raw="P",
                                agency_code=AGENCY, channel="1", status=4, received_at=received,
                                appointment_at=appointment, created_at=received, updated_at=received,
                                source="motcua", synced_at=SYNCED))
            session.flush()
            session.add(SupplementRow(dossier_code=code, seq=0, requested_at=asked, answered_at=answered))
        session.commit()
    settings_ = make_settings()
    calendar = calendar_of(settings_.calendar)
    with engine.connect() as connection, connection.begin():
        workdays = WorkdayTables(connection, calendar, *due.calendar_range(connection, T))
        due.build(connection, workdays, as_of=T, working_hours=settings_.calendar.working_hours,
                  same_day_cutoff=due.SAME_DAY_CUTOFF.value(settings_.rules))
        rows = {row.code: row for row in connection.execute(select(due.audit_dossier))}
    pause = calendar.working_days_between(asked.date(), answered.date())  # Wed, Thu, Fri: 3
    assert rows["NEAR"].due_date == calendar.working_days_after(near.date(), pause)
    assert (rows["FAR"].legal_due, rows["FAR"].due_date) == (far.date(), far.date())
