"""The simulated province: its agencies, its catalogue and a seeded stream of dossiers.

Dossiers are generated day by day from `start` to `now`. Each day has its own random generator
(seeded from the province seed and the date) and a fixed number of dossiers, so the stream is
the same for a seed and can be produced one record at a time, however long it is. Within a day
the dossiers are numbered per agency in order of arrival, as a one-stop system numbers them.
What only the national sync stream tells (steps, files, results) is drawn on first use, for each
dossier from a generator of its own (`progress()`), so it changes nothing else.

The dossiers the servers serve are held in `Province.dossiers`, a live store built from the
stream on first use: faults that change records mid-crawl change them there, so that a
fault-free server started afterwards on the same province serves the true final data.
"""

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from itertools import accumulate

from sandbox.simulator.catalogue import AGENCIES, PROCEDURES, Agency, Procedure
from sandbox.simulator.dossier import Dossier, Progress
from sandbox.simulator.lifecycle import live_dossier
from sandbox.simulator.progress import dossier_progress
from sandbox.simulator.store import DossierStore
from sandbox.simulator.workdays import WORKING_SECONDS_PER_DAY, is_working_day, working_moment

# Relative number of dossiers on a working day, a Saturday, and a Sunday or public holiday.
WORKING_DAY_WEIGHT, SATURDAY_WEIGHT, DAY_OFF_WEIGHT = 1.0, 0.3, 0.1
# Channel shares (counter, online, post) by kind of day: nobody receives on a day off.
CHANNEL_WEIGHTS = {"working": (47, 45, 8), "saturday": (50, 50, 0), "day_off": (0, 1, 0)}
# How online submissions spread over the 24 hours of a day.
HOURLY_SUBMISSIONS = (1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 6, 7, 9, 10, 10, 9, 7, 6, 6, 5, 3, 2)
SHARE_AT_CLOSING = 0.03  # counter receipts stamped exactly 17:00:00
SHARE_AFTER_CLOSING = 0.03  # counter receipts after 17:00


@dataclass
class Province:
    seed: int
    dossier_count: int
    start: date
    now: datetime
    agencies: tuple[Agency, ...] = AGENCIES
    procedures: tuple[Procedure, ...] = PROCEDURES
    _online_weights: list[float] = field(init=False, repr=False)
    _counter_weights: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.now.date() < self.start:
            raise ValueError(f"now ({self.now}) is before start ({self.start})")
        # Cumulative weights for choosing a procedure: full online ones draw more online dossiers.
        self._online_weights = list(accumulate(
            p.volume * (2 if p.level == "Toàn trình" else 1) if p.online else 0
            for p in self.procedures))
        self._counter_weights = list(accumulate(p.volume for p in self.procedures))

    def agency(self, code: str) -> Agency:
        return next(a for a in self.agencies if a.code == code)

    def procedure(self, code: str) -> Procedure | None:
        """The procedure a recorded code names (with or without the province suffix)."""
        base = code.split(".000.")[0]
        return next((p for p in self.procedures if p.code == base), None)

    def progress(self, dossier: Dossier) -> Progress:
        """What only the national sync stream tells of the dossier (its steps, files, results):
        drawn on first use from a generator of its own, seeded from the province seed and the
        dossier code, and kept on the dossier: it tells the dossier as it stood then (a record a
        server's fault changes afterwards keeps its steps). Drawn eagerly it would triple the
        time it takes to generate a province, for every user that never needs it."""
        if dossier.progress is None:
            dossier.progress = dossier_progress(self.seed, dossier, self.procedure(dossier.procedure_code),
                                                max(self.now, dossier.updated))
        return dossier.progress

    def iter_dossiers(self) -> Iterator[Dossier]:
        """Every dossier as generated, oldest arrival day first, one at a time."""
        for day, count in self._daily_counts():
            yield from self._dossiers_of(day, count)

    @cached_property
    def dossiers(self) -> DossierStore:
        """The live dossiers, as the servers serve them, with the changes made while serving."""
        return DossierStore(self.iter_dossiers(), self.now)

    def submit_online_dossier(self, rng: random.Random) -> Dossier:
        """A dossier submitted online just now (later than anything else), added to the store."""
        store = self.dossiers
        with store.lock:
            at = store.next_moment()
            procedure = rng.choices(self.procedures, cum_weights=self._online_weights)[0]
            code = store.next_code(procedure.agency, at.date())
            dossier = live_dossier(rng, code=code, procedure=procedure, channel=2,
                                   arrival=at, now=at)
            dossier.in_onestop = True  # an online submission is in the one-stop system at once
            store.add(dossier)
        return dossier

    def _daily_counts(self) -> Iterator[tuple[date, int]]:
        """How many dossiers arrive each day: proportional to the day's weight, rounded so
        that the counts add up to exactly `dossier_count`."""
        days = [self.start + timedelta(days=k) for k in range((self.now.date() - self.start).days + 1)]
        weights = [_day_weight(day) for day in days]
        elapsed = self.now - datetime.combine(self.now.date(), time(0))
        weights[-1] *= elapsed / timedelta(days=1)  # today is not over yet
        total = sum(weights)
        running, given = 0.0, 0
        for day, weight in zip(days, weights):
            running += weight
            target = round(running * self.dossier_count / total) if total else 0
            yield day, target - given
            given = target

    def _dossiers_of(self, day: date, count: int) -> Iterator[Dossier]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        arrivals = sorted((self._arrival(rng, day) for _ in range(count)), key=lambda a: a[2])
        sequence: Counter[str] = Counter()
        for procedure, channel, moment in arrivals:
            sequence[procedure.agency] += 1
            code = f"{procedure.agency}-{day:%y%m%d}-{sequence[procedure.agency]:04d}"
            yield live_dossier(rng, code=code, procedure=procedure, channel=channel,
                               arrival=moment, now=self.now)

    def _arrival(self, rng: random.Random, day: date) -> tuple[Procedure, int, datetime]:
        """Which procedure, by which channel, and when a dossier arrives on `day`."""
        channel = rng.choices((1, 2, 3), weights=CHANNEL_WEIGHTS[_day_kind(day)])[0]
        weights = self._online_weights if channel == 2 else self._counter_weights
        procedure = rng.choices(self.procedures, cum_weights=weights)[0]
        if channel == 2:
            moment = _submission_time(rng, day)
        elif channel == 1:
            moment = _counter_time(rng, day)
        else:
            moment = working_moment(day, rng.uniform(0, WORKING_SECONDS_PER_DAY))
        if moment >= self.now:  # today's arrivals are all in the past
            moment = self.now - timedelta(seconds=rng.randint(60, 5400))
        return procedure, channel, moment


def generate_province(*, seed: int, dossiers: int, start: date, now: datetime) -> Province:
    """A province with `dossiers` dossiers arriving between `start` and `now`. Cheap: the
    dossiers are generated when first iterated or served."""
    return Province(seed=seed, dossier_count=dossiers, start=start, now=now)


def _day_kind(day: date) -> str:
    if is_working_day(day):
        return "working"
    return "saturday" if day.weekday() == 5 else "day_off"


def _day_weight(day: date) -> float:
    return {"working": WORKING_DAY_WEIGHT, "saturday": SATURDAY_WEIGHT,
            "day_off": DAY_OFF_WEIGHT}[_day_kind(day)]


def _submission_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=HOURLY_SUBMISSIONS)[0]
    return datetime.combine(day, time(hour)) + timedelta(seconds=rng.randrange(3600))


def _counter_time(rng: random.Random, day: date) -> datetime:
    """Counter receipts: office hours, Saturday mornings, and some at or after closing time."""
    if day.weekday() == 5:
        return datetime.combine(day, time(7, 30)) + timedelta(seconds=rng.randrange(4 * 3600))
    draw = rng.random()
    if draw < SHARE_AT_CLOSING:
        return datetime.combine(day, time(17, 0))
    if draw < SHARE_AT_CLOSING + SHARE_AFTER_CLOSING:
        return datetime.combine(day, time(17, 0)) + timedelta(seconds=rng.randint(1, 45 * 60))
    return working_moment(day, rng.uniform(0, WORKING_SECONDS_PER_DAY))
