"""The province's electronic one-stop system, as its JSON integration API (sources.md, section 1).

One endpoint, POST {url}, with the services LayPhien, LayDanhSachDonVi and LayDanhSachHoSo.
Faults it can show: HTTP 5xx, a connection dropped mid-answer, a proxy's HTML page instead of
JSON, sessions that expire after a few calls, records updated during a crawl (they move to the
end of the order, as in the live system) and text in NFD.
"""

import json
import threading
import unicodedata
import uuid
import zlib
from datetime import datetime
from typing import Any

from sandbox.simulator.catalogue import Agency
from sandbox.simulator.dossier import Dossier
from sandbox.simulator.faults import Faults
from sandbox.simulator.province import Province
from sandbox.simulator.serving import HTML, JSON, Answer, LoopbackServer, Request

MAX_PAGE_SIZE = 5000
STAMP = "%Y%m%d%H%M%S"
MESSAGES = {
    1: "Sai tên đăng nhập hoặc mật khẩu",
    2: "Phiên làm việc hết hạn",
    3: "Tham số không hợp lệ",
    4: "Dịch vụ không tồn tại: {service}",
}


class OneStopServer(LoopbackServer):
    path = "/api"
    failures = ("server_error", "dropped_connection", "proxy_error_page")

    def __init__(self, province: Province, *, faults: Faults = Faults(), username: str = "canbo",
                 password: str = "matkhau", host: str = "127.0.0.1", port: int = 0):
        super().__init__(faults, host, port)
        self.province = province
        self._credentials = (username, password)
        self._sessions: dict[str, int | None] = {}  # token -> calls left (None: no limit)
        self._sessions_lock = threading.Lock()

    def request_key(self, request: Request) -> str:
        """The request without its session: a retry after logging in again is the same request."""
        try:
            params = json.loads(request.body)
        except ValueError:
            return request.body.decode(errors="replace")
        if isinstance(params, dict):
            params.pop("session", None)
        return json.dumps(params, sort_keys=True)

    def answer(self, request: Request) -> Answer:
        if request.method != "POST" or request.path != self.path:
            return Answer(404, HTML, b"<html><body><h1>404 Not Found</h1></body></html>")
        try:
            params = json.loads(request.body)
        except ValueError:
            return _error(3)
        if not isinstance(params, dict):
            return _error(3)
        service = params.get("service")
        if service == "LayPhien":
            return self._log_in(params)
        if service not in ("LayDanhSachDonVi", "LayDanhSachHoSo"):
            return _error(4, service=service)
        if not self._use_session(params.get("session")):
            return _error(2)
        if service == "LayDanhSachDonVi":
            return _json({"error_code": 0, "message": "OK",
                          "data": [self._text(_agency(a), a.code) for a in self.province.agencies]})
        return self._dossiers(params)

    def _log_in(self, params: dict[str, Any]) -> Answer:
        if (params.get("username"), params.get("password")) != self._credentials:
            return _error(1)
        token = str(uuid.uuid4())
        with self._sessions_lock:
            self._sessions[token] = self.faults.session_calls if self.faults.expiring_sessions else None
        return _json({"error_code": 0, "message": "OK", "session": token})

    def _use_session(self, token: Any) -> bool:
        """Count a call on the session; False when it is unknown or has expired."""
        with self._sessions_lock:
            if not isinstance(token, str) or token not in self._sessions:
                return False
            calls_left = self._sessions[token]
            if calls_left == 0:
                del self._sessions[token]
                return False
            if calls_left is not None:
                self._sessions[token] = calls_left - 1
            return True

    def _dossiers(self, params: dict[str, Any]) -> Answer:
        since, page, size = (params.get("TuNgayCapNhat", ""), params.get("Trang", 1),
                             params.get("SoBanGhi", 100))
        if not (_is_count(page) and _is_count(size) and size <= MAX_PAGE_SIZE):
            return _error(3)
        try:
            cursor = datetime.strptime(since, STAMP) if since else datetime.min
        except (TypeError, ValueError):
            return _error(3)
        store = self.province.dossiers
        with store.lock:
            first = store.updated_since(cursor) + (page - 1) * size
            served = range(max(0, first - size), min(first, store.onestop_count()))
            if served and (rng := self.dice.change("changing_records")):
                # A record served before this page changes: it moves to the end, and the
                # records behind it move up a place.
                position = rng.choice(served)
                changed = store.onestop_slice(position, position + 1)[0]
                store.touch(changed.code, status=4 if changed.status == 2 else None)
                first = store.updated_since(cursor) + (page - 1) * size
            total = store.onestop_count() - store.updated_since(cursor)
            records = [self._text(onestop_record(d), d.code)
                       for d in store.onestop_slice(first, first + size)]
        return _json({"error_code": 0, "message": "OK", "TongSoTrang": -(-total // size),
                      "TongSoBanGhi": total, "data": records})

    def _text(self, record: dict[str, Any], code: str) -> dict[str, Any]:
        """The record as the system writes it: with the NFD fault, every other record is in NFD."""
        if self.faults.nfd_text and zlib.crc32(code.encode()) % 2:
            return decomposed(record)
        return record


def onestop_record(dossier: Dossier) -> dict[str, Any]:
    """A dossier in the national sync schema, fields in the order of the sample."""
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "MaDonViXuLy": dossier.agency,
        "KenhThucHien": str(dossier.channel),
        "ChuHoSo": dossier.applicant,
        "SoGiayToChuHoSo": dossier.applicant_id,
        "NgayNopHoSo": stamp(dossier.submitted),
        "NgayTiepNhan": stamp(dossier.received),
        "NgayHenTra": stamp(dossier.appointment),
        "NgayKetThucXuLy": stamp(dossier.finished),
        "NgayTra": stamp(dossier.returned),
        "NgayTuChoi": stamp(dossier.refused),
        "TrangThaiHoSo": str(dossier.status),
        "NgayTao": stamp(dossier.created),
        "NgayCapNhat": stamp(dossier.updated),
        "DanhSachHoSoBoSung": [{"NgayYeuCauBoSung": stamp(s.requested),
                                "NgayNhanBoSung": stamp(s.answered)} for s in dossier.supplements],
        "DanhSachVanBanXinLoi": [{"NgayBanHanh": stamp(a.issued),
                                  "NgayHenTraMoi": stamp(a.new_appointment)}
                                 for a in dossier.apologies],
        "DanhSachLePhi": [{"MaPhiLePhi": f.code, "TenPhiLePhi": f.name, "SoTien": f.amount}
                          for f in dossier.fees],
        "DanhSachThanhToan": [{"MaGiaoDich": p.transaction, "SoTien": p.amount,
                               "HinhThucThanhToan": p.method, "ThoiGianGD": stamp(p.at)}
                              for p in dossier.payments],
        "TrichYeuHoSo": dossier.summary,
    }


def _agency(agency: Agency) -> dict[str, str]:
    return {"MaDonVi": agency.code, "TenDonVi": agency.name, "MaDonViCha": agency.parent,
            "CapDonVi": agency.level}


def _json(answer: dict[str, Any]) -> Answer:
    return Answer(200, JSON, json.dumps(answer, ensure_ascii=False).encode())


def _error(code: int, **details: Any) -> Answer:
    return _json({"error_code": code, "message": MESSAGES[code].format(**details)})


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 1


def stamp(moment: datetime | None) -> str:
    """A time as the one-stop system and the stream write it (yyyyMMddHHmmss), or "" when unset."""
    return moment.strftime(STAMP) if moment else ""


def decomposed(value: Any) -> Any:
    """`value` with every string in it in Unicode NFD."""
    if isinstance(value, str):
        return unicodedata.normalize("NFD", value)
    if isinstance(value, list):
        return [decomposed(item) for item in value]
    if isinstance(value, dict):
        return {key: decomposed(item) for key, item in value.items()}
    return value
