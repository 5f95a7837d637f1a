"""The simulated province pushing its national sync stream to a receiver over HTTP, as a
provincial one-stop system or its LGSP does (sources.md, section 4, "The receiver").

`POST {url}/auth` with `{"username", "password"}` answers `{"error_code": 0, "session": ...}`;
then every body goes to `POST {url}/` with that session. The answer
`{"error_code", "message", "result"}`:
- 0: the batch is committed; `result` may list rejected records `{"MaHoSo", "message"}`;
- 2: the session expired: log in again and send the same body again;
- 3 (unknown service) or anything else: the body is given up, and named in the summary.
HTTP 5xx, a time-out, a dropped connection or an answer that is not JSON: the same body again
after a short backoff, at most `max_attempts` sendings of a body in all. HTTP 4xx (a body that
is not JSON, too large): given up.

Two faults of StreamFaults are the sender's own:
- `dropped_answer`: the sender sends the whole request, then closes its connection without
  reading the answer (http.client: `request()` then `close()`, no `getresponse()`), as a
  sender whose read timed out does. The receiver has read the whole body and commits it before
  answering (its answer meets a closed socket), so the same body sent again is a replay, which
  a correct receiver takes without change.
- `expired_session`: the sender sends with a session that has expired (the one it had before
  its last log-in, or one from an earlier run): the receiver answers error_code 2, and the
  sender logs in again and sends the same body again.
Both fire on the first sending of a body, chosen by the seeded dice (the key is the body's
place in the sequence), so a push is the same for the same seed.
"""

import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from sandbox.simulator.faults import StreamFaults
from sandbox.simulator.province import Province
from sandbox.simulator.stream import DEFAULT_BATCH_SIZE, DEFAULT_ROUND_MINUTES, stream_bodies

RETRY_STATUSES = frozenset({500, 502, 503, 504})
JSON_TYPE = "application/json; charset=utf-8"


class StreamPushError(Exception):
    """The receiver refused the log-in, or could not be reached at all for it."""


@dataclass
class PushSummary:
    batches: int = 0  # bodies the receiver accepted (error_code 0)
    records: int = 0  # records in those bodies
    rejected: list[dict[str, str]] = field(default_factory=list)  # {"service", "MaHoSo", "message"}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"batch", "service", "reason"}: given up
    retries: int = 0  # sendings of a body again (after a drop, a 5xx, a time-out, an expired session)
    logins: int = 0
    dropped: int = 0  # answers the sender did not wait for (dropped_answer)

    def as_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "records": self.records, "rejected": self.rejected,
                "failed": self.failed, "retries": self.retries, "logins": self.logins,
                "dropped": self.dropped}


class StreamSender:
    """Sends request bodies one by one, in order, each until it is accepted or given up."""

    def __init__(self, url: str, username: str, password: str, *,
                 faults: StreamFaults = StreamFaults(), timeout: float = 30.0,
                 max_attempts: int = 5, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep):
        self.base = url.rstrip("/")
        self.credentials = {"username": username, "password": password}
        self.faults, self.timeout, self.max_attempts = faults, timeout, max_attempts
        self.backoff, self.sleep = backoff, sleep
        self.summary = PushSummary()
        self._http = requests.Session()
        self._session: str | None = None
        self._expired: str = f"expired-{uuid.uuid4()}"  # a session from an earlier run

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "StreamSender":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def push(self, bodies: Iterable[dict[str, Any]]) -> PushSummary:
        """Send every body; the summary counts this sender's pushes so far."""
        for index, body in enumerate(bodies):
            self.send(body, key=str(index))
        return self.summary

    def send(self, body: dict[str, Any], *, key: str) -> None:
        """Send one body until the receiver accepts it or it is given up. `key` names it for the
        sender's faults."""
        service = body.get("service", "")
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self.summary.retries += 1
            if self._session is None:
                self._log_in()
            session = self._session
            if attempt == 1 and self.faults.fires("expired_session", key):
                session = self._expired
            payload = json.dumps({**body, "session": session}, ensure_ascii=False).encode()
            if attempt == 1 and self.faults.fires("dropped_answer", key):
                self._send_and_hang_up(payload)
                self.summary.dropped += 1
                self._wait(attempt)
                continue
            try:
                response = self._http.post(f"{self.base}/", data=payload, timeout=self.timeout,
                                           headers={"Content-Type": JSON_TYPE})
            except (requests.ConnectionError, requests.Timeout):
                self._wait(attempt)
                continue
            if response.status_code in RETRY_STATUSES:
                self._wait(attempt)
                continue
            if response.status_code != 200:
                return self._give_up(key, service, f"HTTP {response.status_code}")
            try:
                answer = response.json()
                code = answer.get("error_code")
            except (ValueError, AttributeError):  # a proxy's page, or not an object
                self._wait(attempt)
                continue
            if code == 0:
                self.summary.batches += 1
                self.summary.records += len(body.get("data") or ())
                for item in answer.get("result") or ():
                    if isinstance(item, dict):
                        self.summary.rejected.append({"service": service, "MaHoSo": item.get("MaHoSo"),
                                                      "message": item.get("message")})
                return None
            if code == 2:  # log in again, then the same body again
                if session == self._session:
                    self._expired = session
                self._session = None
                continue
            return self._give_up(key, service, f"error_code {code}: {answer.get('message')}")
        return self._give_up(key, service, f"no answer after {self.max_attempts} attempts")

    def _log_in(self) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.post(f"{self.base}/auth", json=self.credentials,
                                           timeout=self.timeout)
                if response.status_code in RETRY_STATUSES:
                    raise requests.ConnectionError(f"HTTP {response.status_code}")
                answer = response.json()
            except (requests.ConnectionError, requests.Timeout, ValueError):
                self._wait(attempt)
                continue
            if answer.get("error_code") == 0 and answer.get("session"):
                self._session = answer["session"]
                self.summary.logins += 1
                return
            raise StreamPushError(f"log-in refused: {answer.get('message')}")
        raise StreamPushError(f"no answer to the log-in at {self.base}/auth")

    def _send_and_hang_up(self, payload: bytes) -> None:
        """Send the whole request and close the connection without reading the answer."""
        url = urlsplit(f"{self.base}/")
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.hostname, url.port, timeout=self.timeout)
        try:
            connection.request("POST", url.path, body=payload, headers={"Content-Type": JSON_TYPE})
        except OSError:
            pass  # it did not get through: the retry sends it
        finally:
            connection.close()

    def _wait(self, attempt: int) -> None:
        self.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))

    def _give_up(self, key: str, service: str, reason: str) -> None:
        self.summary.failed.append({"batch": key, "service": service, "reason": reason})


def push_stream(province: Province, url: str, username: str, password: str, *,
                faults: StreamFaults = StreamFaults(), batch_size: int = DEFAULT_BATCH_SIZE,
                round_minutes: int = DEFAULT_ROUND_MINUTES, **sender_options: Any) -> PushSummary:
    """Push the province's whole stream (stream.stream_bodies) to the receiver at `url`.
    `sender_options` go to StreamSender (timeout, max_attempts, backoff, sleep)."""
    bodies = stream_bodies(province, faults=faults, batch_size=batch_size, round_minutes=round_minutes)
    with StreamSender(url, username, password, faults=faults, **sender_options) as sender:
        return sender.push(bodies)
