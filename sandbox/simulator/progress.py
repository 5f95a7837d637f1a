"""What happens to a dossier inside the agency, as only the national sync stream tells it: its
processing steps, the files submitted, the result documents, and which gateway took an online
payment (sources.md, section 4).

The facts agree with the dossier's story (lifecycle.py), so that the stream and the pull API
tell the same thing where they overlap:
- the first step is the reception, status 2, at the entry into the system (`created`, the pull
  API's `NgayTao`);
- each supplement request is a status-5 step at the request, and each answer a status-4 step at
  the answer; no other step falls between a request and its answer, so reading the requests
  back from the steps (sources.md) finds the recorded ones, except where the steps cannot tell
  them (a second request made before the first was answered, a dossier stopped or typed in
  while a request was open);
- the outcome is a step at its time: 9 at the finish, 10 at the return, 3, 7 or 8 at the
  refusal or stop; 6 when the dossier waits for the fees;
- appraisal steps (status 4) fall in between.

Reception, appraisal and finish steps have a start (`NgayBatDau`) and a due date under the
agency's internal procedure (`NgayKetThucTheoQuyDinh`); a seeded share of them is taken after
their due date, and so is every reception of a dossier typed in days after it was received.

Drawn from a generator of their own (seeded from the province seed and the dossier code), so
that adding them changed nothing else the province generates; and on first use
(`Province.progress`), since most users of a province never need them.
"""

import random
from bisect import insort
from datetime import datetime, timedelta

from sandbox.simulator.catalogue import Procedure
from sandbox.simulator.dossier import Dossier, Progress, ResultDocument, Step, SubmittedFile
from sandbox.simulator.offices import OFFICES, Office, Officer
from sandbox.simulator.workdays import (
    DAY_END,
    WORKING_SECONDS_PER_DAY,
    effective_receipt_day,
    is_working_day,
    working_day_after,
    working_day_before,
    working_moment,
)

SHARE_LATE_STEP = 0.15  # reception, appraisal and finish steps taken after their due date
SHARE_SECOND_STEP = 0.4  # dossiers appraised in two steps rather than one
SHARE_REFUSED_AT_ONCE = 0.5  # refusals with no appraisal step before them
SHARE_E_RESULT = 0.6  # of resolved dossiers with a result listed: an electronic result
SHARE_NO_RESULT_LISTED = 0.1  # resolved dossiers whose system lists no result document
# Online payments through the national portal ("1"); the others through the province's gateway ("2").
SHARE_PORTAL_PAYMENT = 0.35
SHARE_FILE_DIGITISED = {1: 0.3, 2: 0.6, 3: 0.2}  # by channel
SHARE_FILE_REUSED = 0.15
SHARE_FILE_FROM_NATIONAL_DB = 0.08
SHARE_FLAG_FORGOTTEN = 0.15  # digitised files, but the dossier is not flagged HoSoCoThanhPhanSoHoa
SHARE_FLAG_ONLY = 0.05  # flagged, with no file flagged DuocSoHoa
COMPONENTS = (("TP1", "to-khai.pdf"), ("TP2", "giay-to-tuy-than.pdf"),
              ("TP3", "giay-to-chung-minh.pdf"), ("TP4", "ban-ve-hien-trang.pdf"))
RESULT_URL = "https://motcua.h59.gov.vn/ketqua/{code}.pdf"
STOP_ACTIONS = {3: "Từ chối giải quyết hồ sơ", 7: "Công dân rút hồ sơ", 8: "Dừng xử lý hồ sơ"}


def dossier_progress(seed: int, dossier: Dossier, procedure: Procedure | None,
                     now: datetime) -> Progress:
    """The steps, files, results and payment gateway of a dossier as it stands at `now`, drawn
    from a generator seeded from the province seed and the dossier code."""
    if not dossier.in_onestop:
        return Progress()
    rng = random.Random(f"{seed}|progress|{dossier.code}")
    files, digitised = _files(rng, dossier)
    paid_online_via = ""
    if any(p.method == "truc-tuyen" for p in dossier.payments):
        paid_online_via = "1" if rng.random() < SHARE_PORTAL_PAYMENT else "2"
    if dossier.received is None:
        return Progress((), files, digitised, (), paid_online_via)
    steps = _steps(rng, dossier, OFFICES[dossier.agency], now)
    results = ()
    if dossier.status in (9, 10) and rng.random() >= SHARE_NO_RESULT_LISTED:
        url = RESULT_URL.format(code=dossier.code) if rng.random() < SHARE_E_RESULT else ""
        name = procedure.name if procedure else "hồ sơ"
        results = (ResultDocument(f"Kết quả giải quyết: {name}", f"KQ-{dossier.code}", url),)
    return Progress(steps, files, digitised, results, paid_online_via)


def _files(rng: random.Random, dossier: Dossier) -> tuple[tuple[SubmittedFile, ...], bool]:
    files = []
    for k in range(rng.randint(1, 3)):
        component, name = COMPONENTS[k]
        files.append(SubmittedFile(
            f"{dossier.code}-F{k + 1}", name, component,
            digitised=rng.random() < SHARE_FILE_DIGITISED[dossier.channel],
            reused=rng.random() < SHARE_FILE_REUSED,
            from_national_db=rng.random() < SHARE_FILE_FROM_NATIONAL_DB))
    digitised = any(f.digitised for f in files)
    draw = rng.random()
    if digitised and draw < SHARE_FLAG_FORGOTTEN:
        digitised = False
    elif not digitised and draw < SHARE_FLAG_ONLY:
        digitised = True
    return tuple(files), digitised


class _Planned:
    """A step before its start and due date are set."""

    __slots__ = ("at", "status", "officer", "action", "internal")

    def __init__(self, at: datetime, status: int, officer: Officer, action: str, internal: bool):
        self.at, self.status, self.officer, self.action, self.internal = at, status, officer, action, internal

    def __lt__(self, other: "_Planned") -> bool:
        return self.at < other.at


def _steps(rng: random.Random, dossier: Dossier, office: Office, now: datetime) -> tuple[Step, ...]:
    received, entry = dossier.received, dossier.created
    clerk, specialist, leader = (rng.choice(office.reception), rng.choice(office.specialists),
                                 rng.choice(office.leaders))
    planned: list[_Planned] = [_Planned(entry, 2, clerk, "Tiếp nhận hồ sơ", True)]

    # Supplement requests and answers, and the moments they keep other steps out of.
    blocked = []
    for number, request in enumerate(dossier.supplements, start=1):
        insort(planned, _Planned(request.requested, 5, specialist,
                                 f"Yêu cầu bổ sung hồ sơ (lần {number})", False))
        if request.answered is not None:
            insort(planned, _Planned(request.answered, 4, clerk,
                                     f"Tiếp nhận hồ sơ bổ sung (lần {number})", False))
        blocked.append((request.requested, request.answered or datetime.max))

    # The outcome.
    status = dossier.status
    if status in (9, 10):
        end = dossier.finished or dossier.returned or now
    elif status in (3, 7, 8):
        end = dossier.refused
    else:
        end = now
    if status != 2:
        count = 1 + (rng.random() < SHARE_SECOND_STEP)
        if status == 3 and rng.random() < SHARE_REFUSED_AT_ONCE:
            count = 0
        actions = ("Thẩm định hồ sơ", "Trình lãnh đạo phê duyệt")[:count]
        for action in actions:
            moment = _free_moment(rng, max(entry, received), end, blocked)
            if moment is not None:
                insort(planned, _Planned(moment, 4, specialist, action, True))
    if status == 4 and not any(p.status == 4 for p in planned):
        insort(planned, _Planned(max(now, entry), 4, specialist, "Thẩm định hồ sơ", True))
    if status == 6:
        last = planned[-1].at
        if last < now:
            moment = _free_moment(rng, last, now + timedelta(seconds=1), []) or now
            planned.append(_Planned(moment, 6, specialist, "Thông báo thực hiện nghĩa vụ tài chính",
                                    False))
    if status in (9, 10) and dossier.finished is not None:
        insort(planned, _Planned(dossier.finished, 9, leader, "Phê duyệt, ký kết quả giải quyết", True))
    if status == 10 and dossier.returned is not None:
        insort(planned, _Planned(dossier.returned, 10, clerk, "Trả kết quả cho tổ chức, công dân",
                                 False))
    if status in (3, 7, 8):
        insort(planned, _Planned(dossier.refused, status, clerk if status == 7 else leader,
                                 STOP_ACTIONS[status], False))

    # Start and due date of the steps of the internal procedure, in time order.
    typed_in_late = entry.date() > working_day_after(effective_receipt_day(received))
    steps, previous = [], min(received, entry)
    for plan in planned:
        started = due = None
        if plan.internal:
            started = min(previous, plan.at)
            forced = plan.status == 2 and typed_in_late
            due = _due(rng, started, plan.at, late=rng.random() < SHARE_LATE_STEP or forced)
            previous = plan.at
        steps.append(Step(plan.at, plan.status, plan.officer.name, plan.officer.title,
                          plan.officer.department, plan.action, started, due))
    return tuple(steps)


def _free_moment(rng: random.Random, low: datetime, high: datetime,
                 blocked: list[tuple[datetime, datetime]]) -> datetime | None:
    """A moment strictly between `low` and `high` and outside every blocked [start, end],
    in office hours when it can be; None when there is no room."""
    free, begin = [], low
    for start, end in sorted(blocked):
        if start > begin:
            free.append((begin, min(start, high)))
        begin = max(begin, end)
    free.append((begin, high))
    free = [(a, b) for a, b in free if (b - a).total_seconds() >= 2]
    if not free:
        return None
    a, b = rng.choices(free, weights=[(b - a).total_seconds() for a, b in free])[0]
    for _ in range(3):
        day = a.date() + timedelta(days=rng.randint(0, (b.date() - a.date()).days))
        if is_working_day(day):
            moment = working_moment(day, rng.uniform(0, WORKING_SECONDS_PER_DAY))
            if a < moment < b:
                return moment
    return a + timedelta(seconds=rng.randint(1, int((b - a).total_seconds()) - 1))


def _due(rng: random.Random, started: datetime, at: datetime, *, late: bool) -> datetime:
    """The due date of a step taken at `at`: the end of a working day, before `at` for a late
    step (and not before its start, when there is room), else on or after it."""
    if not late:
        return _end_of(working_day_after(effective_receipt_day(at), rng.randint(0, 2)))
    due = _end_of(working_day_before(at.date(), rng.randint(1, 2)))
    if due < started < at:
        due = started + (at - started) / 2
    elif due >= at:
        due = at - timedelta(hours=1)
    return due.replace(microsecond=0)


def _end_of(day) -> datetime:
    return datetime.combine(day, DAY_END)
