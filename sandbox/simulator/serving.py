"""HTTP plumbing shared by the simulated sources: a server on loopback running in a background
thread, and what a failed exchange looks like on the wire."""

import random
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox.simulator.faults import FaultDice, Faults

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"

PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    sent: int | None = None  # when set, only this much of the body is sent, then the connection drops


class LoopbackServer(ABC):
    """A simulated source: `start()` serves it on `url` from a background thread until
    `stop()`; also a context manager. Subclasses say how to answer a request."""

    path = ""  # the part of `url` after host and port
    failures: tuple[str, ...] = ()  # the failures (Faults names) this source can show

    def __init__(self, faults: Faults, host: str, port: int):
        self.faults = faults
        self.dice = FaultDice(faults, self.failures)
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def answer(self, request: Request) -> Answer:
        """The proper answer to a request."""

    @abstractmethod
    def request_key(self, request: Request) -> str:
        """What makes two requests the same request, for counting failures in a row."""

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self) -> Self:
        self._httpd = _HTTPServer(self._address, self)
        # A short poll interval makes stop() quick: tests start and stop many servers.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name=type(self).__name__)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def respond(self, request: Request) -> Answer:
        """The answer as the wire shows it: proper, or broken by a failure."""
        failure = self.dice.failure(self.request_key(request))
        if failure is None:
            return self.answer(request)
        kind, rng = failure
        if kind == "server_error":
            return _server_error(rng)
        if kind == "proxy_error_page":
            return Answer(rng.choice((200, 502)), HTML, PROXY_PAGE.encode())
        answer = self.answer(request)
        if kind == "dropped_connection":
            return replace(answer, sent=len(answer.body) // 2)
        return replace(answer, body=_cut_mid_table(answer.body))  # truncated_page


def _server_error(rng: random.Random) -> Answer:
    status = HTTPStatus(rng.choice((500, 502, 503, 504)))
    title = f"{status.value} {status.phrase}"
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return Answer(status.value, HTML, page.encode())


def _cut_mid_table(body: bytes) -> bytes:
    """The page up to a tag in the middle of its table, as a failing proxy passes it on."""
    start, end = body.find(b"<table"), body.find(b"</table>")
    middle = (start + end) // 2 if 0 <= start < end else len(body) // 2
    cut = body.rfind(b"<", start + 1, middle)
    return body[:cut if cut > 0 else middle]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], source: LoopbackServer):
        self.source = source
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so every answer carries its Content-Length
    # Headers and body go out in two writes: with Nagle's algorithm on, each answer on a
    # kept-alive connection would wait for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(self.command, unquote(url.path), dict(parse_qsl(url.query)), body)
        answer = self.server.source.respond(request)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.sent is None:
            self.wfile.write(answer.body)
        else:
            self.wfile.write(answer.body[:answer.sent])
            self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        """Quiet: a crawl would print a line per page."""
