"""Faults the simulated sources can show, and the seeded dice that decide when they fire.

Every fault is switched on its own. Failures (an HTTP 5xx, a connection dropped mid-answer, a
proxy's HTML page, a page cut off mid-table) are transient: the same request fails at most
`max_consecutive_failures` times in a row, so a client that retries a few times always gets
through. Live changes (records updated mid-crawl, new rows pushed onto the portal list) really
change the province, so its final state is the truth a clean sync must reach. The other faults
(odd markup, NFD text) change how every answer is written.

The dice are seeded: the same requests in the same order meet the same faults.

`StreamFaults` are the faults of the other direction: a provincial system pushing the national
sync stream (stream.py, stream_sender.py) the way real senders do it, sloppily.
"""

import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Self


class _Switches:
    """Boolean fault switches on a frozen dataclass, each switched on its own by name."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of the switches."""
        return tuple(f.name for f in fields(cls) if f.type is bool)

    @classmethod
    def none(cls, **tuning) -> Self:
        return cls(**tuning)

    @classmethod
    def all(cls, **tuning) -> Self:
        return cls.named(cls.names(), **tuning)

    @classmethod
    def named(cls, names: Iterable[str], **tuning) -> Self:
        """The faults named switched on, e.g. Faults.named(["server_error", "nfd_text"])."""
        faults = cls(**tuning)
        for name in names:
            if name not in cls.names():
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(cls.names())}")
            faults = replace(faults, **{name: True})
        return faults


@dataclass(frozen=True)
class Faults(_Switches):
    server_error: bool = False  # HTTP 500, 502, 503 or 504 with an HTML body
    dropped_connection: bool = False  # headers and part of the body, then the socket closes
    proxy_error_page: bool = False  # one-stop API: a proxy's HTML page (status 200 or 502)
    truncated_page: bool = False  # portal: a page cut off mid-table, without </html>
    expiring_sessions: bool = False  # one-stop API: a session expires after `session_calls` calls
    changing_records: bool = False  # one-stop API: served records are updated during a crawl
    pushed_rows: bool = False  # portal: new dossiers at the top of the list during a crawl
    odd_markup: bool = False  # portal: extra columns, attributes, <span>s, another column order
    nfd_text: bool = False  # text in Unicode NFD (decomposed diacritics)
    seed: int = 0
    rate: float = 0.25  # chance that a request fails, or that a crawl request brings a change
    max_consecutive_failures: int = 2
    session_calls: int = 3


class FaultDice:
    """Decides, request by request, which fault a server shows."""

    def __init__(self, faults: Faults, failures: Iterable[str]):
        self.faults = faults
        self._failures = tuple(name for name in failures if getattr(faults, name))
        self._failed_in_a_row: Counter[str] = Counter()  # request key -> failures so far
        self._throws: Counter[str] = Counter()  # change -> times asked
        self._lock = threading.Lock()

    def failure(self, request_key: str) -> tuple[str, random.Random] | None:
        """The failure to show for this request now, with the random generator that decides
        its details (which status code, ...); None to answer the request properly."""
        if not self._failures:
            return None
        with self._lock:
            in_a_row = self._failed_in_a_row[request_key]
            rng = random.Random(f"{self.faults.seed}|{request_key}|{in_a_row}")
            if in_a_row < self.faults.max_consecutive_failures and rng.random() < self.faults.rate:
                self._failed_in_a_row[request_key] += 1
                return rng.choice(self._failures), rng
            self._failed_in_a_row.pop(request_key, None)
            return None

    def change(self, name: str) -> random.Random | None:
        """Whether the live change `name` happens at this request: None if not, else the
        random generator that decides what changes."""
        if not getattr(self.faults, name):
            return None
        with self._lock:
            self._throws[name] += 1
            rng = random.Random(f"{self.faults.seed}|{name}|{self._throws[name]}")
        return rng if rng.random() < self.faults.rate else None


@dataclass(frozen=True)
class StreamFaults(_Switches):
    """What a sloppy sender of the national sync stream does. The first ten change the request
    bodies (and so the files written as well); the last two are how the sender meets the
    receiver over HTTP. A switch fires for a share `rate` of the things it can touch, chosen by
    seeded dice keyed by the thing (a dossier code, a step, a batch), so a switch fires on the
    same things whichever other switches are on."""

    duplicate_batch: bool = False  # a batch sent again right after itself
    out_of_order: bool = False  # an old batch of unresolved versions re-sent after they were resolved
    steps_first: bool = False  # a round's steps sent before its dossiers
    wrong_is_updating: bool = False  # isUpdating "True" for new dossiers, "False" for updates
    empty_supplement_list: bool = False  # DanhSachHoSoBoSung [] (the status-5 steps still tell)
    empty_departments: bool = False  # steps with PhongBanXuLy ""
    empty_step_dates: bool = False  # steps with NgayBatDau and NgayKetThucTheoQuyDinh ""
    status_rewritten_to_9: bool = False  # TrangThaiHoSo 5, 6 and 8 written as 9
    nfd_names: bool = False  # records in Unicode NFD (decomposed diacritics)
    cut_officer_names: bool = False  # NguoiXuLy cut at 50 characters, every step
    dropped_answer: bool = False  # sender: closes the connection before the answer, then retries
    expired_session: bool = False  # sender: sends with an expired session, logs in again, resends
    seed: int = 0
    rate: float = 0.25

    def fires(self, name: str, key: str) -> bool:
        """Whether switch `name` fires for the thing `key`: always the same answer for the
        same seed, name and key."""
        return getattr(self, name) and random.Random(f"{self.seed}|{name}|{key}").random() < self.rate
