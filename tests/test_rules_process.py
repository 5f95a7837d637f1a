"""process.step_late (rules.md "More rules (second round)"): a stream's processing step taken after
its own due time (NgayKetThucTheoQuyDinh), one finding per dossier naming each late step's
department and the working days it overran, and the overrun summed per department for the
reports; on both stores.

Overrun: the working days d with date(due) < d <= date(taken) (rules/process.py). Tết 2026 takes
Monday 16 to Friday 20 February; Saturday 22 August 2026 is a working day swapped for Monday 31
August, and 1-2 September is National Day. March 2026 has no public holiday."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from audit_helpers import AGENCY, ONESTOP, Store, at, end_of_day, finding, make_settings, subjects
from monitor.models import Exemption, ReportDepartment
from rules.process import UNKNOWN_DEPARTMENT, DepartmentOverrun
from rules.publish import publish
from stream_support import STREAM, Stream

RULE = "process.step_late"
OTHER = "000.00.16.H59"
S = STREAM.name


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    return store


@pytest.fixture
def stream(engine) -> Stream:
    return Stream(engine)


def feb(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return at(day, hour, minute, month=2)


def test_a_step_taken_after_its_due_time_is_late_by_the_working_days_after_the_due_date_across_tet(store, stream):
    stream.dossier("TET", feb(2), steps=((feb(24, 9), 4, "Phòng Hộ tịch", feb(13, 16)),))
    result = store.audit(end_of_day(27, month=2))
    late = finding(result, RULE, "TET")
    # 16-20 February are Tết, 21-22 a weekend: only 23 and 24 February are working days after the 13th.
    assert late.detail == ("1 bước xử lý trễ hạn: Phòng Hộ tịch trễ 2 ngày làm việc "
                           "(hạn 13/02/2026 16:00, xử lý 24/02/2026 09:00)")
    assert (late.agency, late.procedure, late.days_late, late.due_date) == (AGENCY, "1.000001", 2, None)
    assert "due_date" not in late.to_json()


def test_a_step_late_within_its_due_date_or_into_the_days_off_after_it_overran_0_working_days(store, stream):
    stream.dossier("SAME-DAY", feb(2), steps=((feb(13, 16, 30), 4, "Phòng A", feb(13, 16)),))
    stream.dossier("INTO-TET", feb(2), steps=((feb(22, 10), 4, "Phòng A", feb(13, 16)),))   # a Sunday after Tết
    result = store.audit(end_of_day(27, month=2))
    assert subjects(result, RULE) == {"SAME-DAY", "INTO-TET"}
    assert finding(result, RULE, "SAME-DAY").detail == (
        "1 bước xử lý trễ hạn: Phòng A trễ 0 ngày làm việc (hạn 13/02/2026 16:00, xử lý 13/02/2026 16:30)")
    assert finding(result, RULE, "INTO-TET").days_late == 0


def test_a_swapped_working_saturday_counts_and_a_substituted_day_off_does_not(store, stream):
    stream.dossier("AUG", at(17, month=8), steps=(
        (at(22, 9, month=8), 4, "Phòng A", at(21, 10, month=8)),     # Saturday 22 August is a working day
        (at(3, 8, month=9), 6, "Phòng B", at(28, 16, month=8)),      # 29-30 weekend, 31 off, 1-2 National Day
    ))
    late = finding(store.audit(end_of_day(4, month=9)), RULE, "AUG")
    assert late.detail == ("2 bước xử lý trễ hạn: "
                           "Phòng A trễ 1 ngày làm việc (hạn 21/08/2026 10:00, xử lý 22/08/2026 09:00); "
                           "Phòng B trễ 1 ngày làm việc (hạn 28/08/2026 16:00, xử lý 03/09/2026 08:00)")
    assert late.days_late == 2


def test_a_step_on_or_before_its_due_time_or_without_one_is_not_late(store, stream):
    stream.dossier("ON-TIME", at(2), steps=((at(5, 17), 4, "Phòng A", at(5, 17)),         # exactly at the due time
                                            (at(4, 9), 4, "Phòng A", at(5, 17))))
    stream.dossier("NO-DUE", at(2), steps=((at(12), 4, "Phòng A", None),))               # NgayKetThucTheoQuyDinh ""
    stream.dossier("A-SECOND", at(2), steps=((at(5, 17, 0), 4, "Phòng A", at(5, 16, 59)),))  # one minute late
    result = store.audit(end_of_day(20))
    assert subjects(result, RULE) == {"A-SECOND"}
    assert finding(result, RULE, "A-SECOND").days_late == 0


def test_a_step_without_a_department_is_named_khong_ro_phong_ban(store, stream):
    stream.dossier("NO-DEPT", at(2), steps=((at(10, 8), 4, "", at(6, 17)),))
    stream.dossier("BLANK-DEPT", at(2), steps=((at(10, 8), 4, "   ", at(6, 17)),))
    result = store.audit(end_of_day(20))
    expected = ("1 bước xử lý trễ hạn: không rõ phòng ban trễ 2 ngày làm việc "
                "(hạn 06/03/2026 17:00, xử lý 10/03/2026 08:00)")
    assert finding(result, RULE, "NO-DEPT").detail == expected
    assert finding(result, RULE, "BLANK-DEPT").detail == expected
    assert UNKNOWN_DEPARTMENT == "không rõ phòng ban"


def test_a_step_taken_after_t_is_not_judged_yet(store, stream):
    stream.dossier("AFTER-T", at(2), steps=((at(12, 10), 4, "Phòng A", at(10, 17)),))
    assert subjects(store.audit(at(12, 9, 59, 59)), RULE) == set()
    assert finding(store.audit(at(12, 10)), RULE, "AFTER-T").days_late == 2   # taken at T exactly: by T


def test_several_late_steps_of_a_dossier_are_one_finding_listing_each_in_the_order_taken(store, stream):
    stream.dossier("MANY", at(2), steps=(
        (at(16, 8), 6, "Văn phòng", at(13, 17)),           # 1 working day (16)
        (at(5, 9), 4, "Phòng Hộ tịch", at(3, 17)),         # 2 (4, 5)
        (at(9, 14), 4, "Phòng Hộ tịch", at(10, 17)),       # on time
        (at(11, 10), 4, "", at(6, 11)),                    # 3 (9, 10, 11)
        (at(12, 10), 5, "Phòng Hộ tịch", None),            # no due time
    ))
    late = finding(store.audit(end_of_day(20)), RULE, "MANY")
    assert late.detail == (
        "3 bước xử lý trễ hạn: "
        "Phòng Hộ tịch trễ 2 ngày làm việc (hạn 03/03/2026 17:00, xử lý 05/03/2026 09:00); "
        "không rõ phòng ban trễ 3 ngày làm việc (hạn 06/03/2026 11:00, xử lý 11/03/2026 10:00); "
        "Văn phòng trễ 1 ngày làm việc (hạn 13/03/2026 17:00, xử lý 16/03/2026 08:00)")
    assert late.days_late == 6


def test_steps_whose_dossier_is_not_in_the_store_or_not_received_by_t_give_nothing(store, stream):
    stream.steps("GHOST", (at(10, 8), 4, "Phòng A", at(6, 17)))        # a step may arrive before its dossier
    stream.dossier("FUTURE", at(18), steps=((at(10, 8), 4, "Phòng A", at(6, 17)),))   # received after T
    result = store.audit(end_of_day(13))
    assert subjects(result, RULE) == set()
    assert result.departments == []
    stream.dossier("GHOST", at(2))
    assert finding(store.audit(end_of_day(13)), RULE, "GHOST").days_late == 2


def test_the_agency_is_the_dossier_s(store, stream):
    stream.dossier("ELSEWHERE", at(2), agency=OTHER, steps=((at(10, 8), 4, "Phòng A", at(6, 17)),))
    assert finding(store.audit(end_of_day(20)), RULE, "ELSEWHERE").agency == OTHER


# only the stream carries steps: the pull API's dossiers have no part of the rule ---------------------

def test_the_rule_has_a_part_per_stream_only_and_a_stale_stream_skips_it(store, stream, engine):
    now = at(20, 12)
    settings = make_settings(sources=(ONESTOP, STREAM))
    store.sync(ONESTOP, now - timedelta(hours=1))
    store.dossier("P-1", at(2))
    stream.dossier("S-1", at(2), steps=((at(10, 8), 4, "Phòng A", at(6, 17)),), sent_at=now - timedelta(hours=1))
    fresh = store.audit(now, settings=settings, now=now)
    assert fresh.skipped_rules == {f"ontime.no_apology:{S}"}      # no process.step_late:motcua
    assert subjects(fresh, RULE) == {"S-1"}

    later = now + timedelta(days=2)                                  # the stream's sender stopped
    store.sync(ONESTOP, later - timedelta(hours=1))
    stale = store.audit(now, settings=settings, now=later)
    assert RULE in stale.skipped_rules and subjects(stale, RULE) == set() and stale.departments == []
    assert [s["source"] for s in stale.stale] == [S] and RULE in stale.stale[0]["skipped_rules"]

    # The pull API stale and the stream fresh: nothing of the rule is skipped.
    stream.dossier("S-2", at(2), sent_at=later - timedelta(hours=1))
    store.sync(ONESTOP, later - timedelta(minutes=5), status="failed", error="HTTP 503")
    result = store.audit(now, settings=settings, now=later)
    assert [s["source"] for s in result.stale] == ["motcua"]
    assert not any(name.startswith(RULE) for name in result.skipped_rules | set(result.stale[0]["skipped_rules"]))
    assert subjects(result, RULE) == {"S-1"}


# the overrun summed per department, for the reports ---------------------------------------------------

@pytest.fixture
def departments(store, stream):
    stream.dossier("D-1", at(2), steps=(
        (at(5, 9), 4, "Phòng X", at(3, 17)),          # 2 working days
        (at(6, 11), 4, "Phòng X", at(6, 10)),         # 0
        (at(10, 9), 4, "", at(9, 9)),                 # 1
    ))
    stream.dossier("D-2", at(2), steps=(
        (at(11, 8), 4, "Phòng X", at(10, 12)),        # 1
        (at(16, 9), 4, "Phòng Y", at(11, 17)),        # 3 (12, 13, 16)
        (at(17, 8), 4, "Phòng Y", at(17, 17)),        # on time
    ))
    stream.dossier("D-3", at(2), agency=OTHER, steps=((at(9, 9), 4, "Phòng X", at(2, 17)),))   # 5
    stream.dossier("D-0", at(27, month=2), steps=((at(3, 9), 4, "Phòng X", at(2, 9)),))       # before go-live
    store.add(Exemption(rule=RULE, subject="D-2", reason="Chờ ý kiến", author="t", until=date(2026, 12, 31),
                        created_at=at(1)))
    return make_settings(monitor_from=date(2026, 3, 2))


def test_the_overrun_is_summed_per_agency_and_department_over_the_findings(store, departments):
    result = store.audit(end_of_day(20), settings=departments)
    assert subjects(result, RULE) == {"D-1", "D-2", "D-3"}            # D-0 was received before monitor_from
    assert result.departments == [
        DepartmentOverrun(OTHER, "Phòng X", 1, 5),
        DepartmentOverrun(AGENCY, "Phòng X", 3, 3),                   # the most days first, then the most steps
        DepartmentOverrun(AGENCY, "Phòng Y", 1, 3),
        DepartmentOverrun(AGENCY, UNKNOWN_DEPARTMENT, 1, 1),          # an exempted finding still counts
    ]
    only = store.audit(end_of_day(20), settings=departments, agency=AGENCY)
    assert only.departments == result.departments[1:]
    # At the end of 9 March, without the go-live: D-0's step counts, the steps taken later do not.
    earlier = store.audit(end_of_day(9), settings=make_settings())
    assert earlier.departments == [DepartmentOverrun(OTHER, "Phòng X", 1, 5),
                                   DepartmentOverrun(AGENCY, "Phòng X", 3, 3)]


def test_the_sums_are_published_for_the_reports(store, departments, engine):
    audit = store.audit(end_of_day(20), settings=departments)
    snapshot = publish(engine, departments, audit, [])
    with engine.connect() as connection:
        rows = connection.execute(select(ReportDepartment.agency, ReportDepartment.department,
                                         ReportDepartment.late_steps, ReportDepartment.overrun_days)
                                  .where(ReportDepartment.snapshot_id == snapshot)
                                  .order_by(ReportDepartment.id)).all()
    assert [DepartmentOverrun(*row) for row in rows] == audit.departments
    # A snapshot more than a day older loses its sums with its findings.
    publish(engine, departments, store.audit(end_of_day(22), settings=departments), [])
    with engine.connect() as connection:
        kept = set(connection.execute(select(ReportDepartment.snapshot_id)).scalars())
    assert snapshot not in kept and len(kept) == 1
