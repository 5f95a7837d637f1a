"""The receiver's log-ins: random tokens held in memory, each expiring `session_minutes` after the
log-in that made it (sources.md section 4). A restart forgets them: the sender's next batch is
answered error_code 2 and it logs in again, which every sender does on that answer."""
from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

# More live sessions than any sender needs (one per log-in, a log-in per hour or per batch);
# past it the oldest is forgotten, so a sender that logs in before every batch cannot grow memory.
MAX_SESSIONS = 10_000


class Sessions:
    """The sessions of one source: its credentials, and the tokens handed out for them."""

    def __init__(self, username: str, password: str, minutes: float, clock: Callable[[], datetime]):
        self._username = username.encode("utf-8")
        self._password = password.encode("utf-8")
        self._lifetime = timedelta(minutes=minutes)
        self._clock = clock
        self._expiry: OrderedDict[str, datetime] = OrderedDict()   # in log-in order
        self._lock = threading.Lock()

    def log_in(self, username, password) -> str | None:
        """A new token for the right credentials, else None. Both are compared in constant time."""
        given_user = username.encode("utf-8") if isinstance(username, str) else b""
        given_password = password.encode("utf-8") if isinstance(password, str) else b""
        # `&`, not `and`: the password is compared whether or not the user name was right.
        if not (hmac.compare_digest(given_user, self._username)
                & hmac.compare_digest(given_password, self._password)):
            return None
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            while len(self._expiry) >= MAX_SESSIONS:
                self._expiry.popitem(last=False)
            self._expiry[token] = now + self._lifetime
        return token

    def valid(self, token) -> bool:
        """Whether `token` is a session of this source that has not expired."""
        if not isinstance(token, str):
            return False
        with self._lock:
            expiry = self._expiry.get(token)
            if expiry is None:
                return False
            if self._clock() >= expiry:
                del self._expiry[token]
                return False
            return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: datetime) -> None:
        # Log-in order is expiry order: the expired ones are at the front.
        while self._expiry:
            token, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                break
            del self._expiry[token]
