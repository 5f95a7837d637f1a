"""The receiver of one `dvcqg_stream` source: the national sync stream's three calls over HTTP
(sources.md section 4), as a Starlette app.

- `POST /auth` {"username", "password"} → a session token (a `dstcode` header is ignored);
- `POST /` {"session", "madonvi"?, "service", ...}: `DongBoHoSoMC` and `CapNhatTienDoHoSoMC` with
  `data`, stored by connectors.stream_loader; `TraCuuHoSo` with `MaHoSo` (connectors.receiver.lookup).

Every answer is JSON {"error_code", "message", "result"}. error_code 0 is sent only once the batch
is committed. The protocol's codes are 0 to 3; the answers a sender must not take for a success
carry an HTTP status besides their own code: 4 a request that is not one (HTTP 400: not JSON, not
an object, `data` not a list, `TraCuuHoSo` without a `MaHoSo`, another path or method), 5 a body
over `max_body_mb` (HTTP 413, refused as soon as it is known, by its Content-Length or while it is
read), 6 the store unreachable or busy (HTTP 503 with Retry-After: send it again), 9 an unexpected
error (HTTP 500). No answer and no log line quotes a record: a rejected record is named by its
code, with a reason that names the field and the problem.

Writes are serialized in the process (SQLite has one writer; PostgreSQL gains nothing from two
loaders racing on the same codes): the loader runs in a worker thread, under a lock every
source's app of the process shares, while the event loop goes on reading other requests.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.receiver.lookup import stored_dossier
from connectors.receiver.sessions import Sessions
from connectors.stream_files import body_agency
from connectors.stream_loader import DOSSIERS, STEPS, StreamBatch, StreamLoader, store_unreachable
from monitor.kinds.dvcqg_stream import StreamSettings

LOOKUP = "TraCuuHoSo"
RETRY_AFTER_SECONDS = 30

log = logging.getLogger(__name__)


class Code(IntEnum):
    OK = 0
    BAD_LOGIN = 1
    SESSION_EXPIRED = 2
    UNKNOWN_SERVICE = 3
    BAD_REQUEST = 4          # HTTP 400 (404, 405 for another path or method)
    TOO_LARGE = 5            # HTTP 413
    STORE_UNAVAILABLE = 6    # HTTP 503
    UNEXPECTED = 9           # HTTP 500


class Refused(Exception):
    """A request answered with an error before it reached the store."""

    def __init__(self, code: Code, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def answer(code: Code, message: str, result=None, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error_code": int(code), "message": message, "result": result},
                        status_code=status, headers=headers)


@dataclass
class Receiver:
    """One source's receiver: its settings, its sessions, the store and the process's write lock."""
    engine: Engine
    source: StreamSettings
    sessions: Sessions
    clock: Callable[[], datetime]
    write_lock: threading.Lock

    @property
    def max_body_bytes(self) -> int:
        return int(self.source.max_body_mb * 2 ** 20)

    async def auth(self, request: Request) -> JSONResponse:
        try:
            body = await self._body(request)
        except Refused as refused:
            return answer(refused.code, refused.message, status=refused.status)
        token = self.sessions.log_in(body.get("username"), body.get("password"))
        if token is None:
            log.warning("%s: a log-in with wrong credentials", self.source.name)
            return answer(Code.BAD_LOGIN, "Sai tên đăng nhập hoặc mật khẩu")
        # The protocol puts the session beside error_code, not in result.
        return JSONResponse({"error_code": int(Code.OK), "message": "OK", "session": token, "result": None})

    async def call(self, request: Request) -> JSONResponse:
        began = time.perf_counter()
        service = None
        try:
            body = await self._body(request)
            if not self.sessions.valid(body.get("session")):
                return answer(Code.SESSION_EXPIRED, "Phiên làm việc hết hạn")
            service = body.get("service")
            if service in (DOSSIERS, STEPS):
                return await self._store(body, service, began)
            if service == LOOKUP:
                return await self._lookup(body)
            return answer(Code.UNKNOWN_SERVICE, "Dịch vụ không được hỗ trợ")
        except Refused as refused:
            log.warning("%s: %s answered HTTP %d (%s)", self.source.name, _named(service), refused.status,
                        refused.code.name.lower())
            return answer(refused.code, refused.message, status=refused.status)
        except SQLAlchemyError as exc:
            if not store_unreachable(exc):
                return self._unexpected(exc, service)
            log.warning("%s: %s answered HTTP 503: the store is unreachable (%s)", self.source.name,
                        _named(service), type(exc).__name__)
            return answer(Code.STORE_UNAVAILABLE, "Kho dữ liệu tạm thời không truy cập được, vui lòng gửi lại sau",
                          status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        except Exception as exc:  # noqa: BLE001  one answer, one line, and the server goes on
            return self._unexpected(exc, service)

    async def _store(self, body: dict, service: str, began: float) -> JSONResponse:
        records = body.get("data")
        if not isinstance(records, list):
            raise Refused(Code.BAD_REQUEST, "data không phải là danh sách", 400)
        batch = StreamBatch(service, records, agency=body_agency(body))
        await run_in_threadpool(self._load, batch)
        result = [{"MaHoSo": code, "message": reason} for code, reason in batch.refused]
        log.info("%s: %s, %d records, %d rejected, %d ms", self.source.name, service, len(records),
                 len(result), round((time.perf_counter() - began) * 1000))
        message = "OK" if not result else f"Đã lưu; {len(result)} bản ghi bị từ chối (xem result)"
        return answer(Code.OK, message, result)

    def _load(self, batch: StreamBatch) -> None:
        with self.write_lock:
            StreamLoader(self.engine, self.source.name, None, self.clock).load(batch)

    async def _lookup(self, body: dict) -> JSONResponse:
        code = body.get("MaHoSo")
        if not isinstance(code, str) or not code.strip():
            raise Refused(Code.BAD_REQUEST, "Thiếu MaHoSo", 400)
        record = await run_in_threadpool(stored_dossier, self.engine, self.source.name, code)
        log.debug("%s: %s, %s", self.source.name, LOOKUP, "found" if record else "not found")
        return answer(Code.OK, "OK", record)

    async def _body(self, request: Request) -> dict:
        """The request's JSON object, read in chunks and given up past `max_body_mb`."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large()
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise self._too_large()
                chunks.append(chunk)
        except ClientDisconnect:
            raise Refused(Code.BAD_REQUEST, "Kết nối bị ngắt khi đang gửi dữ liệu", 400) from None
        try:
            body = await run_in_threadpool(json.loads, b"".join(chunks))
        except (ValueError, RecursionError):   # not JSON, not UTF-8, nested beyond reason
            raise Refused(Code.BAD_REQUEST, "Dữ liệu gửi lên không phải JSON", 400) from None
        if not isinstance(body, dict):
            raise Refused(Code.BAD_REQUEST, "Dữ liệu gửi lên không phải một đối tượng JSON", 400)
        return body

    def _too_large(self) -> Refused:
        return Refused(Code.TOO_LARGE, f"Dữ liệu gửi lên lớn hơn {self.source.max_body_mb:g} MB", 413)

    def _unexpected(self, exc: Exception, service) -> JSONResponse:
        # An exception's text can quote a record: its class only; the traceback at debug level.
        log.error("%s: %s answered HTTP 500: an unexpected %s", self.source.name, _named(service), type(exc).__name__)
        log.debug("the traceback", exc_info=exc)
        return answer(Code.UNEXPECTED, "Lỗi không mong đợi, vui lòng gửi lại sau", status=500)


def _named(service) -> str:
    """A service for a log line: one of the stream's names, never what a sender typed."""
    return service if service in (DOSSIERS, STEPS, LOOKUP) else "a request"


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    message = {404: "Không có địa chỉ này", 405: "Chỉ nhận POST"}.get(exc.status_code, "Yêu cầu không hợp lệ")
    return answer(Code.BAD_REQUEST, message, status=exc.status_code)


def receiver_app(engine: Engine, source: StreamSettings, username: str, password: str,
                 clock: Callable[[], datetime], write_lock: threading.Lock | None = None) -> Starlette:
    """The app of one source. `clock` gives the time of log-ins and of the batches' `synced_at`;
    `write_lock` is shared by every source's app of a process."""
    receiver = Receiver(engine, source, Sessions(username, password, source.session_minutes, clock), clock,
                        write_lock or threading.Lock())
    app = Starlette(routes=[Route("/auth", receiver.auth, methods=["POST"]),
                            Route("/", receiver.call, methods=["POST"])],
                    exception_handlers={HTTPException: _http_error})
    app.state.receiver = receiver
    return app
