"""The life of one dossier, from its arrival to its result, as far as it has got by `now`.

Shares of the story (how many dossiers are late, padded, never typed in, ...) are constants
below. Every event is drawn from the caller's random generator, in a fixed order, so a dossier
is the same for the same generator state.
"""

import random
from datetime import date, datetime, time, timedelta

from sandbox.simulator.applicants import applicant_name, citizen_id
from sandbox.simulator.catalogue import (
    PROVINCE_SUFFIX,
    UNKNOWN_PROCEDURE_CODES,
    Procedure,
    TimeLimit,
)
from sandbox.simulator.dossier import Apology, Dossier, Payment, Supplement
from sandbox.simulator.workdays import (
    DAY_END,
    WORKING_SECONDS_PER_DAY,
    add_working_hours,
    effective_receipt_day,
    is_working_day,
    working_day_after,
    working_day_before,
    working_days_between,
    working_moment,
)

SAME_DAY_CUTOFF = time(15, 0)
UNKNOWN_LIMIT_APPOINTMENT_DAYS = 10  # what the counter promises when the law says nothing clear

SHARE_SUFFIXED_CODE = 0.10  # MaTTHC written with the province suffix
SHARE_PADDED = 0.04  # NgayHenTra later than the law allows
SHARE_STOPPED = 0.05  # refused, withdrawn or stopped
SHARE_SUPPLEMENT = 0.10  # asked for a supplement
SHARE_OVERLAPPING = 0.25  # of those, asked a second time before the first answer
SHARE_NEVER_ANSWERED = 0.15  # a supplement request the applicant never answers
SHARE_LATE = 0.12
SHARE_ON_TIME = 0.18
SHARE_RETURNED = 0.92  # results handed back once ready (the others wait, status 9)
SHARE_WAITING_FEES = 0.25  # in progress, fee-bearing, waiting for the payment (status 6)
SHARE_APOLOGISED = 0.55  # late or overdue with an apology letter
SHARE_LATE_APOLOGY = 0.25  # of those, written after the due date
SHARE_ENTERED_LATE = 0.04  # received on paper, typed in days later
SHARE_COUNTER_NEVER_ENTERED = 0.015
SHARE_ONLINE_NEVER_ENTERED = 0.01  # on the portal, never in the one-stop system
SHARE_UNSYNCED = 0.025  # in the one-stop system, never synchronised to the portal
SHARE_UNKNOWN_PROCEDURE = 0.005
SHARE_BAD_FINISH = 0.04  # of resolved dossiers: finish data missing or impossible


def live_dossier(
    rng: random.Random,
    *,
    code: str,
    procedure: Procedure,
    channel: int,
    arrival: datetime,
    now: datetime,
) -> Dossier:
    """A dossier that arrived at `arrival` (submitted online, or handed in at the counter or
    by post), with everything that happened to it by `now`."""
    online = channel == 2
    dossier = Dossier(
        code=code,
        procedure_code=procedure.code + (PROVINCE_SUFFIX if rng.random() < SHARE_SUFFIXED_CODE else ""),
        agency=procedure.agency,
        channel=channel,
        applicant=applicant_name(rng),
        applicant_id=citizen_id(rng),
        summary=procedure.name if rng.random() < 0.8 else "",
        submitted=arrival if online else None,
        received=None,
        appointment=None,
        finished=None,
        returned=None,
        refused=None,
        status=1,
        created=arrival,
        updated=arrival,
    )
    received = add_working_hours(arrival, rng.uniform(0.1, 2.5)) if online else arrival
    if received <= now:
        _process(rng, dossier, procedure, received, now)
    _place_in_sources(rng, dossier, now)
    if dossier.in_onestop:
        _spoil_data(rng, dossier)
    dossier.updated = max(_event_times(dossier))
    return dossier


def legal_due(limit: TimeLimit, received: datetime) -> datetime:
    """The appointment the law gives: the end of office hours on the due date, or for a limit
    in hours the moment the last hour ends."""
    if limit.kind == "working_hours":
        return add_working_hours(received, limit.amount)
    if limit.kind == "same_day":
        day = received.date()
        if not (is_working_day(day) and received.time() <= SAME_DAY_CUTOFF):
            day = working_day_after(day)
    elif limit.kind == "working_days":
        day = working_day_after(effective_receipt_day(received), limit.amount)
    else:  # calendar days
        day = effective_receipt_day(received) + timedelta(days=limit.amount)
        if not is_working_day(day):
            day = working_day_after(day)
    return _end_of(day)


def _process(rng: random.Random, dossier: Dossier, procedure: Procedure, received: datetime,
             now: datetime) -> None:
    """Receipt, appointment, supplements, outcome, fees and apologies of a received dossier."""
    dossier.received = received
    dossier.fees = procedure.fees
    receipt_day = effective_receipt_day(received)
    if procedure.time_limit is None:
        due = _end_of(working_day_after(receipt_day, UNKNOWN_LIMIT_APPOINTMENT_DAYS))
    else:
        due = legal_due(procedure.time_limit, received)
    dossier.appointment = due
    if rng.random() < SHARE_PADDED:
        dossier.appointment = _end_of(working_day_after(due.date(), rng.randint(1, 5)))

    dossier.supplements = _supplements(rng, received, receipt_day, due.date(), now)
    due_day = _effective_due(due.date(), dossier.supplements, now)
    paused = any(s.answered is None for s in dossier.supplements)

    if rng.random() < SHARE_STOPPED:
        end = _working_time(rng, working_day_after(receipt_day, rng.randint(0, 3)), after=received)
        if end <= now:
            dossier.status = rng.choice((3, 3, 7, 8))
            dossier.refused = end
    elif not paused:
        finish = _finish(rng, received, receipt_day, due_day, dossier.supplements)
        if finish <= now:
            dossier.status, dossier.finished = 9, finish
            returned = _working_time(rng, working_day_after(finish.date(), rng.randint(0, 3)),
                                     after=finish)
            if returned <= now and rng.random() < SHARE_RETURNED:
                dossier.status, dossier.returned = 10, returned

    if dossier.status == 1:  # neither resolved nor stopped: still in progress
        dossier.status = _in_progress_status(rng, procedure, receipt_day, paused, now)
    if procedure.fees and dossier.status != 6:
        dossier.payments = _payments(rng, procedure, dossier, now)

    late = dossier.finished is not None and dossier.finished.date() > due_day
    overdue = dossier.status in (2, 4, 5, 6) and not paused and now.date() > due_day
    if (late or overdue) and rng.random() < SHARE_APOLOGISED:
        dossier.apologies = _apology(rng, due_day, received, now)


def _supplements(rng: random.Random, received: datetime, receipt_day: date, due_day: date,
                 now: datetime) -> tuple[Supplement, ...]:
    if rng.random() >= SHARE_SUPPLEMENT:
        return ()
    span = max(1, working_days_between(receipt_day, due_day))
    asked = [_working_time(rng, working_day_after(receipt_day, rng.randrange(span)), after=received)]
    if rng.random() < SHARE_OVERLAPPING:  # asked again the next day, before the first answer
        asked.append(_working_time(rng, working_day_after(asked[0].date()), after=asked[0]))
    requests = []
    for requested in asked:
        if requested > now:
            break
        answered = _working_time(rng, working_day_after(requested.date(), rng.randint(1, 6)),
                                 after=requested)
        if answered > now or rng.random() < SHARE_NEVER_ANSWERED:
            answered = None
        requests.append(Supplement(requested, answered))
    return tuple(requests)


def _effective_due(due_day: date, supplements: tuple[Supplement, ...], now: datetime) -> date:
    """The due date moved on by answered supplement requests (the rule of rules.md, done
    simply), so that the generator can plan early, on-time and late results."""
    running = due_day
    for request in sorted(supplements, key=lambda s: s.requested):
        if request.requested.date() > running or request.answered is None:
            continue
        if request.answered <= now:
            paused_days = working_days_between(request.requested.date(), request.answered.date())
            running = working_day_after(running, paused_days)
    return running


def _finish(rng: random.Random, received: datetime, receipt_day: date, due_day: date,
            supplements: tuple[Supplement, ...]) -> datetime:
    """When the result will be ready: early, on the due date or late."""
    draw = rng.random()
    if draw < SHARE_LATE:
        day = working_day_after(due_day, rng.randint(1, 10))
    elif draw < SHARE_LATE + SHARE_ON_TIME:
        day = due_day
    else:
        span = working_days_between(receipt_day, due_day)
        day = working_day_after(receipt_day, rng.randrange(span)) if span else due_day
    last_answer = max((s.answered for s in supplements if s.answered), default=None)
    if last_answer is not None and day <= last_answer.date():
        day = working_day_after(last_answer.date(), rng.randint(1, 2))
    return _working_time(rng, day, after=received)


def _in_progress_status(rng: random.Random, procedure: Procedure, receipt_day: date,
                        paused: bool, now: datetime) -> int:
    if paused:
        return 5
    if procedure.fees and rng.random() < SHARE_WAITING_FEES:
        return 6
    if working_days_between(receipt_day, now.date()) == 0 and rng.random() < 0.6:
        return 2  # received today, not yet handed to a department
    return 4


def _payments(rng: random.Random, procedure: Procedure, dossier: Dossier,
              now: datetime) -> tuple[Payment, ...]:
    received = dossier.received
    if dossier.channel == 2 and procedure.online_payment and rng.random() < 0.85:
        method, at = "truc-tuyen", dossier.submitted + timedelta(seconds=rng.randint(60, 900))
    elif dossier.channel == 2:
        method = rng.choice(("chuyen-khoan", "truc-tiep"))
        at = _working_time(rng, working_day_after(received.date(), rng.randint(0, 2)), after=received)
    else:
        method = rng.choices(("truc-tiep", "chuyen-khoan", "truc-tuyen"),
                             weights=(75, 20, 5 if procedure.online_payment else 0))[0]
        at = received + timedelta(seconds=rng.randint(120, 1200))
    if at > now:
        return ()
    amount = sum(fee.amount for fee in procedure.fees)
    return (Payment(f"PG{at:%y%m%d}{rng.getrandbits(24):06X}", amount, method, at),)


def _apology(rng: random.Random, due_day: date, received: datetime,
             now: datetime) -> tuple[Apology, ...]:
    if rng.random() < SHARE_LATE_APOLOGY:
        day = working_day_after(due_day, rng.randint(1, 3))
    else:
        day = working_day_before(due_day, rng.randint(0, 2))
    issued = _working_time(rng, day, after=received)
    if issued > now:
        return ()
    return (Apology(issued, _end_of(working_day_after(due_day, rng.randint(3, 10)))),)


def _place_in_sources(rng: random.Random, dossier: Dossier, now: datetime) -> None:
    """Which systems hold the dossier: online ones are on the portal from their submission;
    the others are in the tracking book, and on the portal once typed in and synchronised."""
    if dossier.channel == 2:
        dossier.in_onestop = rng.random() >= SHARE_ONLINE_NEVER_ENTERED
        return
    dossier.in_book = True
    received = dossier.received
    if rng.random() < SHARE_ENTERED_LATE:
        day = working_day_after(received.date(), rng.randint(2, 6))
        entry = _working_time(rng, day, after=received)
    else:
        entry = received + timedelta(seconds=rng.randint(60, 1500))
    dossier.in_onestop = entry <= now and rng.random() >= SHARE_COUNTER_NEVER_ENTERED
    if dossier.in_onestop:  # else there is no record, and `created` stays the arrival
        dossier.created = entry
    dossier.on_portal = dossier.in_onestop and rng.random() >= SHARE_UNSYNCED


def _spoil_data(rng: random.Random, dossier: Dossier) -> None:
    """A few records as real systems hold them: an unknown procedure code, a resolved
    dossier without its finish or return date, a finish before the receipt."""
    if rng.random() < SHARE_UNKNOWN_PROCEDURE:
        dossier.procedure_code = rng.choice(UNKNOWN_PROCEDURE_CODES)
    if dossier.status not in (9, 10) or rng.random() >= SHARE_BAD_FINISH:
        return
    spoil = rng.choice(("no_finish", "finish_before_receipt", "no_return"))
    if spoil == "no_finish":
        dossier.finished = None  # status 9: no date at all; status 10: only NgayTra
    elif spoil == "no_return" and dossier.status == 10:
        dossier.returned = None
    else:
        dossier.finished = dossier.received - timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))


def _event_times(dossier: Dossier) -> list[datetime]:
    times = [dossier.created]
    times += [t for t in (dossier.submitted, dossier.received, dossier.finished,
                          dossier.returned, dossier.refused) if t is not None]
    for request in dossier.supplements:
        times += [t for t in (request.requested, request.answered) if t is not None]
    times += [apology.issued for apology in dossier.apologies]
    times += [payment.at for payment in dossier.payments]
    return times


def _working_time(rng: random.Random, day: date, *, after: datetime) -> datetime:
    """A moment during office hours on `day`, but later than `after`."""
    moment = working_moment(day, rng.uniform(0, WORKING_SECONDS_PER_DAY))
    if moment <= after:
        moment = after + timedelta(seconds=rng.randint(600, 5400))
    return moment


def _end_of(day: date) -> datetime:
    return datetime.combine(day, DAY_END)
