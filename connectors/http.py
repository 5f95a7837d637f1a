"""HTTP for the connectors: time-outs always set, failed requests retried with backoff and jitter.

Retried: connect and read time-outs, dropped connections, HTTP 5xx, 408 and 429, and answers
the connector finds incomplete (`Transient`: a body that is not JSON, a page cut off before
`</html>`). urllib3's `Retry`, mounted on a requests adapter, sees only the connection and the
status line: requests reads the body after it has returned, so a body cut off mid-answer or an
HTML error page would escape it, and a second retry loop around it would multiply the bounds.
So one loop here covers them all, bounded by a number of retries and by a total time.

Bodies are read streamed and given up past `max_answer_mb`: a huge answer is an error naming
the call, never held in memory whole (nor retried: it would only be as large again).
"""
from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from connectors.base import SourceError
from monitor.sources import HttpSourceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIED_STATUSES = frozenset({408, 429})
RETRY_PROBLEM = "retry_problem"  # the attribute of a retry's log record that names its problem
RETRIED_ERRORS = (requests.Timeout, requests.ConnectionError,
                  requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class Transient(Exception):
    """A failed answer worth asking for again: HTTP 5xx, cut off, not JSON."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff_seconds: float
    max_retry_seconds: float

    @classmethod
    def of(cls, source: HttpSourceSettings) -> RetryPolicy:
        return cls(source.max_retries, source.backoff_seconds, source.max_retry_seconds)

    def delay(self, retry: int) -> float:
        """Exponential backoff with jitter: retries of many clients do not arrive in step."""
        return self.backoff_seconds * 2 ** (retry - 1) * random.uniform(0.5, 1.5)


class HttpClient:
    """One requests session per source, so connections are reused across pages."""

    def __init__(self, source: HttpSourceSettings):
        self.timeout = (source.timeout_seconds, source.timeout_seconds)  # (connect, read)
        self.policy = RetryPolicy.of(source)
        self.max_answer_mb = source.max_answer_mb
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "motcua-monitor"

    def close(self) -> None:
        self.session.close()

    def post_json(self, url: str, body: dict, label: str) -> dict:
        """POST a JSON body; the answer must be a JSON object."""
        return self.request("POST", url, lambda response: _json_object(self._body(response, label)), label,
                            json=body, stream=True)

    def get_page(self, url: str) -> str:
        """GET an HTML page; a page without `</html>` was cut off and is fetched again."""
        label = _where(url)
        return self.request("GET", url, lambda response: _complete_page(response, self._body(response, label)),
                            label, stream=True)

    def _body(self, response: requests.Response, label: str) -> bytes:
        """The whole body, read in chunks; more than `max_answer_mb` is an error."""
        chunks, size = [], 0
        with response:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > self.max_answer_mb * 2 ** 20:
                    raise SourceError(f"the answer to {label} is larger than max_answer_mb = {self.max_answer_mb:g} MB")
                chunks.append(chunk)
        return b"".join(chunks)

    def request(self, method: str, url: str, read: Callable[[requests.Response], T], label: str,
                **kwargs: Any) -> T:
        """Send a request until `read` accepts its answer, or the retries are spent."""
        # A monotonic clock bounds the total time: it measures, it is never stored.
        give_up_at = time.monotonic() + self.policy.max_retry_seconds
        retry = 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
                if response.status_code >= 500 or response.status_code in RETRIED_STATUSES:
                    raise Transient(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise SourceError(f"HTTP {response.status_code} on {label}")
                return read(response)
            except requests.exceptions.SSLError as exc:
                # Not retried: a certificate that cannot be verified will not become valid in a few seconds.
                raise SourceError(_tls_failure(url, exc)) from None
            except (Transient, *RETRIED_ERRORS) as exc:
                problem = _describe(exc)
            retry += 1
            delay = self.policy.delay(retry)
            if retry > self.policy.max_retries or time.monotonic() + delay > give_up_at:
                raise SourceError(f"{problem} on {label} (gave up after {retry} attempt{'s' * (retry > 1)})")
            # connectors.sync counts these per source and shows one line (RETRY_PROBLEM names the problem).
            log.warning("%s on %s: retry %d of %d in %.1f s", problem, label, retry, self.policy.max_retries, delay,
                        extra={RETRY_PROBLEM: problem})
            time.sleep(delay)


def _json_object(body: bytes) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        raise Transient("an answer that is not JSON") from None
    if not isinstance(answer, dict):
        raise Transient("a JSON answer that is not an object")
    return answer


def _complete_page(response: requests.Response, body: bytes) -> str:
    # Without a charset in Content-Type requests would guess ISO-8859-1; the portal writes UTF-8.
    charset = requests.utils.get_encoding_from_headers(response.headers)
    if "charset" not in response.headers.get("Content-Type", "").lower():
        charset = "utf-8"
    text = body.decode(charset or "utf-8", errors="replace")
    if "</html>" not in text[-256:].lower():
        raise Transient("a page cut off before </html>")
    return text


def _where(url: str) -> str:
    """`/tra-cuu-ho-so?trang=4`: what an error message needs to say which page failed."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _tls_failure(url: str, exc: requests.exceptions.SSLError) -> str:
    """`the certificate of 127.0.0.1:8443 could not be verified (self-signed certificate)`."""
    parts = urlsplit(url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    verify = re.search(r"certificate verify failed: ([^(')\"]+)", str(exc))
    if verify:
        return f"the certificate of {host} could not be verified ({verify.group(1).strip()})"
    reason = re.search(r"\[SSL: ([A-Z_]+)\]", str(exc))
    return f"a TLS error with {host} ({reason.group(1) if reason else type(exc).__name__})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Transient):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return "a time-out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "a connection dropped mid-answer"
    # The system's own words are the most useful: "[Errno 111] Connection refused".
    reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    return f"a connection error ({reason.group(1) if reason else type(exc).__name__})"
