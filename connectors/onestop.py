"""The electronic one-stop system (kind `onestop_api`): JSON over HTTP, national sync schema.

Dossiers are read incrementally by moving the `TuNgayCapNhat` cursor (sources.md, section 1):
the system is live while it is read, and paging alone would lose a record each time one moves
to the end. The cursor reached is committed with every page, and the next run starts from it
less an overlap, for records that a slow transaction commits late.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from connectors.base import Batch, Connector, Rejection, Rows, SourceError
from connectors.http import HttpClient
from connectors.parsing import normalize_text, parse_onestop_datetime, strip_province_suffix
from monitor.codes import code_key
from monitor.config import SourceSettings
from monitor.models import Agency, ApologyLetter, Dossier, Fee, Payment, SupplementRequest
from monitor.urls import shown

log = logging.getLogger(__name__)

OK, SESSION_EXPIRED = 0, 2
ONESTOP_FORMAT = "%Y%m%d%H%M%S"
# The cursor of a first run: before any record.
BEGINNING = "19000101000000"
# A call whose fresh session expires at once this often is an error, not a reason to loop.
MAX_LOGINS_PER_CALL = 3

CHANNELS = ("1", "2", "3")
STATUSES = frozenset(str(status) for status in range(1, 11))
PAYMENT_METHODS = frozenset({"truc-tuyen", "truc-tiep", "chuyen-khoan"})
# Fields a dossier record must carry: what the monitor reads. Personal data may be withheld.
REQUIRED = ("MaHoSo", "MaTTHC", "MaDonViXuLy", "KenhThucHien", "TrangThaiHoSo", "NgayNopHoSo",
            "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "NgayTao",
            "NgayCapNhat", "DanhSachHoSoBoSung", "DanhSachVanBanXinLoi", "DanhSachLePhi",
            "DanhSachThanhToan")


class BadRecord(ValueError):
    """A record that cannot be stored as it is: rejected, and the rest still read."""


class OneStopConnector(Connector):

    def __init__(self, source: SourceSettings, synced_at: datetime, username: str, password: str,
                 stored_cursor: str | None, http: HttpClient | None = None):
        super().__init__(source, synced_at)
        self.username = username
        self.password = password
        self.stored_cursor = stored_cursor
        self.http = http or HttpClient(source)
        self.session: str | None = None

    def batches(self) -> Iterator[Batch]:
        try:
            yield self._agencies()
            yield from self._dossiers()
        finally:
            self.http.close()

    def start_cursor(self) -> str:
        """Where this run starts: the stored cursor less the overlap, or the beginning."""
        if self.stored_cursor is None:
            return BEGINNING
        start = datetime.strptime(self.stored_cursor, ONESTOP_FORMAT) - timedelta(minutes=self.source.overlap_minutes)
        return start.strftime(ONESTOP_FORMAT)

    # --- the API -----------------------------------------------------------------------------

    def _login(self) -> None:
        answer = self.http.post_json(
            self.source.base_url, {"service": "LayPhien", "username": self.username, "password": self.password},
            label="LayPhien")
        if answer.get("error_code") != OK or not isinstance(answer.get("session"), str):
            raise SourceError(f"log-in refused by {shown(self.source.base_url)}: {_message(answer)}")
        self.session = answer["session"]

    def _call(self, service: str, label: str, **parameters) -> dict:
        """One service call; an expired session is renewed and the call repeated."""
        for _ in range(MAX_LOGINS_PER_CALL):
            if self.session is None:
                self._login()
            answer = self.http.post_json(
                self.source.base_url, {"service": service, "session": self.session, **parameters}, label=label)
            if answer.get("error_code") == OK:
                return answer
            if answer.get("error_code") != SESSION_EXPIRED:
                raise SourceError(f"{label}: the system answered {_message(answer)}")
            log.debug("%s: session expired, logging in again", self.source.name)
            self.session = None
        raise SourceError(f"{label}: the session expired {MAX_LOGINS_PER_CALL} times in a row")

    # --- agencies ----------------------------------------------------------------------------

    def _agencies(self) -> Batch:
        answer = self._call("LayDanhSachDonVi", "LayDanhSachDonVi")
        rows, rejected = [], []
        for record in _list(answer, "LayDanhSachDonVi"):
            try:
                rows.append({
                    "code": _required_text(record, "MaDonVi"),
                    "name": _required_text(record, "TenDonVi"),
                    "parent_code": _text(record.get("MaDonViCha")) or None,
                    "level": _text(record.get("CapDonVi")) or None,
                })
            except (BadRecord, AttributeError) as exc:
                rejected.append(Rejection(f"MaDonVi {_code_of(record, 'MaDonVi')}", str(exc), _raw(record)))
        return Batch(records=Rows(Agency, ("code",), rows), rejected=rejected)

    # --- dossiers ----------------------------------------------------------------------------

    def _dossiers(self) -> Iterator[Batch]:
        size = self.source.page_size
        cursor, page = self.start_cursor(), 1
        newest = self.stored_cursor
        # Versions read: a record changed mid-crawl comes back as a new one.
        seen: set[tuple[str, str]] = set()
        rejected: set[tuple[str, str]] = set()  # a version read twice in a run is rejected once
        expected = None
        while True:
            label = f"LayDanhSachHoSo TuNgayCapNhat={cursor} Trang={page}"
            answer = self._call("LayDanhSachHoSo", label, TuNgayCapNhat=cursor, Trang=page, SoBanGhi=size)
            records = _list(answer, label)
            if expected is None and isinstance(answer.get("TongSoBanGhi"), int):
                expected = answer["TongSoBanGhi"]
            batch = self._page(records, rejected)
            updates = [r["NgayCapNhat"] for r in records if _is_onestop_time(_field(r, "NgayCapNhat"))]
            if updates:
                newest = max(updates + ([newest] if newest else []))
            batch.cursor = newest
            batch.expected = expected
            fresh = {_version(r) for r in records} - seen
            seen |= fresh
            yield batch
            if len(records) < size or not fresh:
                return
            if not updates:
                raise SourceError(f"{label}: no record of a full page has a readable NgayCapNhat to go on from")
            cursor, page = _next_page(cursor, page, updates)

    def _page(self, records: list, rejected_before: set[tuple[str, str]]) -> Batch:
        dossiers, rejected = [], []
        children: dict[type, list[dict]] = {SupplementRequest: [], ApologyLetter: [], Fee: [], Payment: []}
        for record in records:
            try:
                dossier, its_children = self._dossier(record)
            except (BadRecord, AttributeError, TypeError) as exc:
                if _version(record) in rejected_before:
                    continue
                rejected_before.add(_version(record))
                reason = str(exc) if isinstance(exc, BadRecord) else f"malformed record: {exc}"
                rejected.append(Rejection(f"MaHoSo {_code_of(record, 'MaHoSo')}", reason, _raw(record)))
                continue
            dossiers.append(dossier)
            for table, rows in its_children.items():
                children[table].extend(rows)
        return Batch(
            records=Rows(Dossier, ("code",), dossiers),
            children=[Rows(table, ("dossier_code", "seq"), rows) for table, rows in children.items()],
            rejected=rejected,
        )

    def _dossier(self, record: dict) -> tuple[dict, dict[type, list[dict]]]:
        if not isinstance(record, dict):
            raise BadRecord("a record that is not a JSON object")
        missing = [name for name in REQUIRED if name not in record]
        if missing:
            raise BadRecord(f"missing fields: {', '.join(missing)}")
        code = _required_text(record, "MaHoSo")
        procedure = _required_text(record, "MaTTHC")
        channel = _text(record["KenhThucHien"])
        status = _text(record["TrangThaiHoSo"])
        if channel not in CHANNELS:
            raise BadRecord(f"KenhThucHien {record['KenhThucHien']!r} is not 1, 2 or 3")
        if status not in STATUSES:
            raise BadRecord(f"TrangThaiHoSo {record['TrangThaiHoSo']!r} is not 1 to 10")
        dossier = {
            "code": code,
            "code_key": code_key(code),
            "procedure_code": strip_province_suffix(procedure),
            "procedure_code_raw": procedure,
            "agency_code": _required_text(record, "MaDonViXuLy"),
            "channel": channel,
            "applicant_name": _text(record.get("ChuHoSo")) or None,
            "applicant_id": _text(record.get("SoGiayToChuHoSo")) or None,
            "summary": _text(record.get("TrichYeuHoSo")) or None,
            "status": int(status),
            "submitted_at": _time(record, "NgayNopHoSo"),
            "received_at": _time(record, "NgayTiepNhan"),
            "appointment_at": _time(record, "NgayHenTra"),
            "finished_at": _time(record, "NgayKetThucXuLy"),
            "returned_at": _time(record, "NgayTra"),
            "refused_at": _time(record, "NgayTuChoi"),
            "created_at": _time(record, "NgayTao", required=True),
            "updated_at": _time(record, "NgayCapNhat", required=True),
            "source": self.source.name,
            "synced_at": self.synced_at,
        }
        children = {
            SupplementRequest: [
                {"dossier_code": code, "seq": seq, "requested_at": _time(item, "NgayYeuCauBoSung", required=True),
                 "answered_at": _time(item, "NgayNhanBoSung")}
                for seq, item in _items(record, "DanhSachHoSoBoSung")],
            ApologyLetter: [
                {"dossier_code": code, "seq": seq, "issued_at": _time(item, "NgayBanHanh", required=True),
                 "new_appointment_at": _time(item, "NgayHenTraMoi")}
                for seq, item in _items(record, "DanhSachVanBanXinLoi")],
            Fee: [
                {"dossier_code": code, "seq": seq, "fee_code": _text(item.get("MaPhiLePhi")) or None,
                 "name": _text(item.get("TenPhiLePhi")) or None, "amount": _amount(item, "DanhSachLePhi")}
                for seq, item in _items(record, "DanhSachLePhi")],
            Payment: [
                {"dossier_code": code, "seq": seq, "transaction_code": _text(item.get("MaGiaoDich")) or None,
                 "amount": _amount(item, "DanhSachThanhToan"), "method": _payment_method(item),
                 "paid_at": _time(item, "ThoiGianGD")}
                for seq, item in _items(record, "DanhSachThanhToan")],
        }
        return dossier, children


def _next_page(cursor: str, page: int, updates: list[str]) -> tuple[str, int]:
    """The next request after a full page (sources.md): move the cursor to the last `NgayCapNhat`
    read and start again at page 1; only while a whole page shares one `NgayCapNhat` go on to
    the next page with that cursor (page 1 at it would bring back the same records)."""
    last = updates[-1]
    if updates[0] != last:
        return last, 1
    # The whole page is at `last`: the next records at it follow on the next page at that cursor.
    # When the cursor was earlier than `last`, nothing lay between, so this page was page 1 at it.
    return last, page + 1 if last == cursor else 2


def _list(answer: dict, label: str) -> list:
    data = answer.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise SourceError(f"{label}: the answer's data is not a list")
    return data


def _message(answer: dict) -> str:
    return f"error_code {answer.get('error_code')!r}: {answer.get('message') or '(no message)'}"


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRecord(f"{value!r} where text belongs")
    return normalize_text(value)


def _required_text(record: dict, name: str) -> str:
    value = _text(record.get(name))
    if not value:
        raise BadRecord(f"{name} is empty")
    return value


def _is_onestop_time(value) -> bool:
    try:
        return parse_onestop_datetime(value) is not None
    except ValueError:
        return False


def _time(record: dict, name: str, required: bool = False) -> datetime | None:
    try:
        value = parse_onestop_datetime(record[name])
    except KeyError:
        raise BadRecord(f"missing field {name}") from None
    except ValueError:
        raise BadRecord(f"{name}: unparseable date {record[name]!r} (not yyyyMMddHHmmss)") from None
    if value is None and required:
        raise BadRecord(f"{name} is empty")
    return value


def _items(record: dict, name: str) -> list[tuple[int, dict]]:
    items = record[name]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadRecord(f"{name} is not a list of objects")
    return list(enumerate(items, start=1))


def _amount(item: dict, name: str) -> int:
    amount = item.get("SoTien")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise BadRecord(f"{name}: SoTien {amount!r} is not a whole number of đồng")
    return amount


def _payment_method(item: dict) -> str:
    method = _text(item.get("HinhThucThanhToan"))
    if method not in PAYMENT_METHODS:
        raise BadRecord(f"HinhThucThanhToan {item.get('HinhThucThanhToan')!r} is not one of "
                        f"{', '.join(sorted(PAYMENT_METHODS))}")
    return method


def _version(record) -> tuple[str, str]:
    """(MaHoSo, NgayCapNhat): a record as it was at one change."""
    return _code_of(record, "MaHoSo"), str(_field(record, "NgayCapNhat"))


def _field(record, name: str):
    return record.get(name) if isinstance(record, dict) else None


def _code_of(record, name: str) -> str:
    value = _field(record, name)
    return normalize_text(value) if isinstance(value, str) and value.strip() else "(no code)"


def _raw(record) -> str:
    return json.dumps(record, ensure_ascii=False)
