"""Faults the simulated sources can show, and the seeded dice that decide when they fire.

Every fault is switched on its own. Failures (an HTTP 5xx, a connection dropped mid-answer, a
proxy's HTML page, a page cut off mid-table) are transient: the same request fails at most
`max_consecutive_failures` times in a row, so a client that retries a few times always gets
through. Live changes (records updated mid-crawl, new rows pushed onto the portal list) really
change the province, so its final state is the truth a clean sync must reach. The other faults
(odd markup, NFD text) change how every answer is written.

The dice are seeded: the same requests in the same order meet the same faults.
"""

import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Faults:
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

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of the switches."""
        return tuple(f.name for f in fields(cls) if f.type is bool)

    @classmethod
    def none(cls, **tuning) -> "Faults":
        return cls(**tuning)

    @classmethod
    def all(cls, **tuning) -> "Faults":
        return cls.named(cls.names(), **tuning)

    @classmethod
    def named(cls, names: Iterable[str], **tuning) -> "Faults":
        """The faults named switched on, e.g. Faults.named(["server_error", "nfd_text"])."""
        faults = cls(**tuning)
        for name in names:
            if name not in cls.names():
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(cls.names())}")
            faults = replace(faults, **{name: True})
        return faults


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
