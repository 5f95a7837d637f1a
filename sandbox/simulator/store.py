"""The live dossiers of the simulated province, kept in the two orders the sources serve.

The one-stop API serves its records by (NgayCapNhat, MaHoSo); the portal lists its rows newest
first. Both orders are sorted once, then kept up to date as records change or arrive while
being served: a changed record moves to the end, a new one is added at the end. Every change
happens at `next_moment()`, a clock that runs on from the latest time in the store, so a
changed or new record is always later than every other.
"""

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from sandbox.simulator.dossier import Dossier

UpdateKey = tuple[datetime, str]  # (NgayCapNhat, MaHoSo)


class DossierStore:
    def __init__(self, dossiers: Iterable[Dossier], now: datetime):
        # Servers run a thread per request; they hold this lock across a change and the
        # answer built from it.
        self.lock = threading.RLock()
        self._by_code: dict[str, Dossier] = {}
        self._last_sequence: dict[str, int] = {}  # "agency-yymmdd" -> its last daily number
        self._by_update: list[UpdateKey] = []  # one-stop records, ascending
        self._by_listing: list[UpdateKey] = []  # portal rows by (Ngày nộp, code), ascending
        for dossier in dossiers:
            self._remember(dossier)
        self._by_update.sort()
        self._by_listing.sort()
        latest = [keys[-1][0] for keys in (self._by_update, self._by_listing) if keys]
        self._clock = max([now, *latest])

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Dossier]:
        return iter(list(self._by_code.values()))  # a copy: a server may add dossiers meanwhile

    def __getitem__(self, code: str) -> Dossier:
        return self._by_code[code]

    def updated_since(self, since: datetime) -> int:
        """Position in the (NgayCapNhat, MaHoSo) order of the first record updated at or after `since`."""
        return bisect_left(self._by_update, (since, ""))

    def onestop_count(self) -> int:
        return len(self._by_update)

    def onestop_slice(self, begin: int, end: int) -> list[Dossier]:
        """One-stop records at positions [begin, end) of the (NgayCapNhat, MaHoSo) order."""
        return [self._by_code[code] for _, code in self._by_update[begin:end]]

    def portal_count(self) -> int:
        return len(self._by_listing)

    def portal_slice(self, begin: int, end: int) -> list[Dossier]:
        """Portal rows at positions [begin, end) counted from the newest."""
        size = len(self._by_listing)
        keys = self._by_listing[max(0, size - end):max(0, size - begin)]
        return [self._by_code[code] for _, code in reversed(keys)]

    def next_moment(self) -> datetime:
        """A moment later than every time in the store: when the next change happens."""
        with self.lock:
            self._clock += timedelta(seconds=1)
            return self._clock

    def next_code(self, agency: str, day: date) -> str:
        prefix = f"{agency}-{day:%y%m%d}"
        return f"{prefix}-{self._last_sequence.get(prefix, 0) + 1:04d}"

    def touch(self, code: str, *, status: int | None = None) -> Dossier:
        """Record a change of a one-stop record now: it gets a new NgayCapNhat and moves to
        the end of the update order."""
        with self.lock:
            dossier = self._by_code[code]
            self._by_update.pop(bisect_left(self._by_update, (dossier.updated, code)))
            dossier.updated = self.next_moment()
            if status is not None:
                dossier.status = status
            self._by_update.append((dossier.updated, code))
            return dossier

    def add(self, dossier: Dossier) -> None:
        """Add a dossier that arrived just now (its times are the latest in the store)."""
        with self.lock:
            self._remember(dossier)

    def _remember(self, dossier: Dossier) -> None:
        self._by_code[dossier.code] = dossier
        prefix, sequence = dossier.code.rsplit("-", 1)
        self._last_sequence[prefix] = max(self._last_sequence.get(prefix, 0), int(sequence))
        if dossier.in_onestop:
            self._by_update.append((dossier.updated, dossier.code))
        if dossier.on_portal:
            self._by_listing.append((dossier.listed_at, dossier.code))
