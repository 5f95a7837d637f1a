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

from connectors import validation as check
from connectors.base import Batch, Connector, HeldKey, Rejection, Rows, SourceError, SyncStart
from connectors.http import HttpClient
from connectors.loader import read_cursor
from connectors.parsing import parse_onestop_datetime, strip_province_suffix
from connectors.validation import BadValue
from monitor.codes import code_key
from monitor.kinds.onestop_api import OneStopSettings
from monitor.models import Agency, ApologyLetter, Dossier, Fee, Payment, SupplementRequest
from monitor.statuses import Channel
from monitor.urls import shown

log = logging.getLogger(__name__)

OK, SESSION_EXPIRED = 0, 2
ONESTOP_FORMAT = "%Y%m%d%H%M%S"
# The cursor of a first run: before any record.
BEGINNING = "19000101000000"
# A call whose fresh session expires at once this often is an error, not a reason to loop.
MAX_LOGINS_PER_CALL = 3

STATUSES = frozenset(str(status) for status in range(1, 11))
PAYMENT_METHODS = frozenset({"truc-tuyen", "truc-tiep", "chuyen-khoan"})
# A dossier code is unique across the one-stop sources: one another source holds is rejected.
HELD_CODE = HeldKey(column="code_key", label="MaHoSo", shown="code")
# Fields a dossier record must carry: what the monitor reads. Personal data may be withheld.
REQUIRED = ("MaHoSo", "MaTTHC", "MaDonViXuLy", "KenhThucHien", "TrangThaiHoSo", "NgayNopHoSo",
            "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "NgayTao",
            "NgayCapNhat", "DanhSachHoSoBoSung", "DanhSachVanBanXinLoi", "DanhSachLePhi",
            "DanhSachThanhToan")


class OneStopConnector(Connector):

    source: OneStopSettings

    def __init__(self, source: OneStopSettings, synced_at: datetime, username: str, password: str,
                 stored_cursor: str | None, http: HttpClient | None = None):
        super().__init__(source, synced_at)
        self.username = username
        self.password = password
        self.stored_cursor = stored_cursor
        self.http = http or HttpClient(source)
        self.session: str | None = None

    @classmethod
    def for_run(cls, source: OneStopSettings, start: SyncStart) -> OneStopConnector:
        """Logs in with the credentials the environment holds, from the cursor the last run reached."""
        username = start.settings.secret(f"sources[{source.name}].username_env", source.username_env)
        password = start.settings.secret(f"sources[{source.name}].password_env", source.password_env)
        start.secrets.append(password)
        return cls(source, start.started_at, username, password, read_cursor(start.engine, source.name))

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
                if not isinstance(record, dict):
                    raise BadValue("a record that is not a JSON object")
                name = check.free_text(record.get("TenDonVi"), "TenDonVi", Agency.name)
                if name is None:
                    raise BadValue("TenDonVi is empty")
                rows.append({
                    "code": check.code(record.get("MaDonVi"), "MaDonVi", Agency.code),
                    "name": name,
                    "parent_code": check.code(record.get("MaDonViCha"), "MaDonViCha", Agency.parent_code, required=False),
                    "level": check.code(record.get("CapDonVi"), "CapDonVi", Agency.level, required=False),
                })
            except BadValue as exc:
                rejected.append(Rejection(_location(record, "MaDonVi", Agency.code), str(exc), _raw(record)))
        return Batch(records=Rows(Agency, ("code",), rows), rejected=rejected)

    # --- dossiers ----------------------------------------------------------------------------

    def _dossiers(self) -> Iterator[Batch]:
        """The crawl of sources.md, guarded against a system that does not move on: the same
        page twice, or more pages at one cursor than the records it counts from that cursor
        (`TongSoBanGhi`; `max_pages` when it gives none), is an error, never a loop; and a crawl
        that ends having read fewer records than the first answer counted has failed."""
        size = self.source.page_size
        cursor, page = self.start_cursor(), 1
        newest = self.stored_cursor
        # Versions read: a record changed mid-crawl comes back as a new one.
        seen: set[tuple[str, str]] = set()
        rejected: set[tuple[str, str]] = set()  # a version read twice in a run is rejected once
        records_read: set = set()  # distinct records, stored or rejected, to compare with TongSoBanGhi
        expected = None
        pages_here = (None, 0)  # (cursor, how many pages it may have)
        previous: list[tuple[str, str]] | None = None
        while True:
            label = f"LayDanhSachHoSo TuNgayCapNhat={cursor} Trang={page}"
            answer = self._call("LayDanhSachHoSo", label, TuNgayCapNhat=cursor, Trang=page, SoBanGhi=size)
            records = _list(answer, label)
            total = _count(answer.get("TongSoBanGhi"))
            if expected is None:
                expected = total
            if pages_here[0] != cursor:
                pages_here = (cursor, -(-total // size) if total is not None else self.source.max_pages)
            versions = [_version(r) for r in records]
            if versions and versions == previous:
                raise SourceError(f"{label}: the same records as the request before: the system does not move on")
            previous = versions
            batch = self._page(records, rejected)
            records_read |= {_identity(r, (cursor, page, number)) for number, r in enumerate(records)}
            updates = [r["NgayCapNhat"] for r in records if self._is_update_time(_field(r, "NgayCapNhat"))]
            if updates:
                newest = max(updates + ([newest] if newest else []))
            batch.cursor = newest
            batch.expected = expected
            fresh = set(versions) - seen
            seen |= fresh
            yield batch
            if len(records) < size or not fresh:
                break
            if not updates:
                raise SourceError(f"{label}: no record of a full page has a readable NgayCapNhat to go on from")
            cursor, page = _next_page(cursor, page, updates)
            if page > pages_here[1]:
                raise SourceError(f"{label}: page {page} at one NgayCapNhat, beyond the {pages_here[1]} pages the "
                                  f"system counts from it: the system does not move on")
        if expected is not None and len(records_read) < expected:
            raise SourceError(f"LayDanhSachHoSo: {len(records_read):,} records read, fewer than the {expected:,} "
                              f"the system counted (TongSoBanGhi): the read is incomplete")

    def _page(self, records: list, rejected_before: set[tuple[str, str]]) -> Batch:
        dossiers, rejected = [], []
        children: dict[type, list[dict]] = {SupplementRequest: [], ApologyLetter: [], Fee: [], Payment: []}
        for record in records:
            try:
                dossier, its_children = self._dossier(record)
            except BadValue as exc:
                if _version(record) in rejected_before:
                    continue
                rejected_before.add(_version(record))
                rejected.append(Rejection(_location(record, "MaHoSo", Dossier.code), str(exc), _raw(record)))
                continue
            dossiers.append(dossier)
            for table, rows in its_children.items():
                children[table].extend(rows)
        return Batch(
            records=Rows(Dossier, ("code",), dossiers),
            children=[Rows(table, ("dossier_code", "seq"), rows) for table, rows in children.items()],
            rejected=rejected,
            held=HELD_CODE,
        )

    def _dossier(self, record: dict) -> tuple[dict, dict[type, list[dict]]]:
        if not isinstance(record, dict):
            raise BadValue("a record that is not a JSON object")
        missing = [name for name in REQUIRED if name not in record]
        if missing:
            raise BadValue(f"missing fields: {', '.join(missing)}")
        code = check.code(record["MaHoSo"], "MaHoSo", Dossier.code)
        procedure = check.code(record["MaTTHC"], "MaTTHC", Dossier.procedure_code_raw)
        channel = check.text(record["KenhThucHien"], "KenhThucHien").strip()
        status = check.text(record["TrangThaiHoSo"], "TrangThaiHoSo").strip()
        if channel not in tuple(Channel):
            raise BadValue("KenhThucHien is not 1, 2 or 3")
        if status not in STATUSES:
            raise BadValue("TrangThaiHoSo is not 1 to 10")
        time = self._time
        dossier = {
            "code": code,
            "code_key": check.fitting(code_key(code), "MaHoSo", Dossier.code_key),
            "procedure_code": check.fitting(strip_province_suffix(procedure), "MaTTHC", Dossier.procedure_code),
            "procedure_code_raw": procedure,
            "agency_code": check.code(record["MaDonViXuLy"], "MaDonViXuLy", Dossier.agency_code),
            "channel": channel,
            "applicant_name": check.free_text(record.get("ChuHoSo"), "ChuHoSo", Dossier.applicant_name),
            "applicant_id": check.free_text(record.get("SoGiayToChuHoSo"), "SoGiayToChuHoSo", Dossier.applicant_id),
            "summary": check.free_text(record.get("TrichYeuHoSo"), "TrichYeuHoSo", Dossier.summary),
            "status": int(status),
            "submitted_at": time(record, "NgayNopHoSo"),
            "received_at": time(record, "NgayTiepNhan"),
            "appointment_at": time(record, "NgayHenTra"),
            "finished_at": time(record, "NgayKetThucXuLy"),
            "returned_at": time(record, "NgayTra"),
            "refused_at": time(record, "NgayTuChoi"),
            "created_at": time(record, "NgayTao", required=True),
            "updated_at": time(record, "NgayCapNhat", required=True),
            "source": self.source.name,
            "synced_at": self.synced_at,
        }
        children = {
            SupplementRequest: [
                {"dossier_code": code, "seq": seq, "requested_at": time(item, "NgayYeuCauBoSung", required=True),
                 "answered_at": time(item, "NgayNhanBoSung")}
                for seq, item in _items(record, "DanhSachHoSoBoSung")],
            ApologyLetter: [
                {"dossier_code": code, "seq": seq, "issued_at": time(item, "NgayBanHanh", required=True),
                 "new_appointment_at": time(item, "NgayHenTraMoi")}
                for seq, item in _items(record, "DanhSachVanBanXinLoi")],
            Fee: [
                {"dossier_code": code, "seq": seq,
                 "fee_code": check.code(item.get("MaPhiLePhi"), "MaPhiLePhi", Fee.fee_code, required=False),
                 "name": check.free_text(item.get("TenPhiLePhi"), "TenPhiLePhi", Fee.name),
                 "amount": check.amount(item.get("SoTien"), "DanhSachLePhi: SoTien", Fee.amount)}
                for seq, item in _items(record, "DanhSachLePhi")],
            Payment: [
                {"dossier_code": code, "seq": seq,
                 "transaction_code": check.code(item.get("MaGiaoDich"), "MaGiaoDich", Payment.transaction_code,
                                                required=False),
                 "amount": check.amount(item.get("SoTien"), "DanhSachThanhToan: SoTien", Payment.amount),
                 "method": _payment_method(item), "paid_at": time(item, "ThoiGianGD")}
                for seq, item in _items(record, "DanhSachThanhToan")],
        }
        return dossier, children

    def _is_update_time(self, value) -> bool:
        """Whether `value` is an NgayCapNhat the cursor may move to: an impossible one (year
        2999) would leave the next runs reading nothing."""
        try:
            return check.moment(parse_onestop_datetime(value), "NgayCapNhat", self.synced_at) is not None
        except ValueError:
            return False

    def _time(self, record: dict, name: str, required: bool = False) -> datetime | None:
        if name not in record:
            raise BadValue(f"missing field {name}")
        try:
            value = parse_onestop_datetime(check.text(record[name], name).strip())
        except ValueError:
            raise BadValue(f"{name}: unparseable date (not yyyyMMddHHmmss)") from None
        if value is None and required:
            raise BadValue(f"{name} is empty")
        return check.moment(value, name, self.synced_at)


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
    # The system's own message, cleaned and kept short: it goes into the run's error.
    message = check.clean(str(answer.get("message") or "(no message)"))[:200]
    return f"error_code {check.clean(repr(answer.get('error_code')))[:20]}: {message}"


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _items(record: dict, name: str) -> list[tuple[int, dict]]:
    items = record[name]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadValue(f"{name} is not a list of objects")
    return list(enumerate(items, start=1))


def _payment_method(item: dict) -> str:
    method = check.text(item.get("HinhThucThanhToan"), "HinhThucThanhToan").strip()
    if method not in PAYMENT_METHODS:
        raise BadValue(f"HinhThucThanhToan is not one of {', '.join(sorted(PAYMENT_METHODS))}")
    return method


def _version(record) -> tuple[str, str]:
    """(MaHoSo, NgayCapNhat): a record as it was at one change."""
    return str(_field(record, "MaHoSo")), str(_field(record, "NgayCapNhat"))


def _identity(record, place: tuple):
    """What tells records apart when counting them: the code, or for a record without one
    its place in the crawl."""
    code = _field(record, "MaHoSo")
    return code if isinstance(code, str) and code.strip() else place


def _field(record, name: str):
    return record.get(name) if isinstance(record, dict) else None


def _location(record, name: str, column) -> str:
    """`MaHoSo 000.00.31.H59-260105-0001`: the record's code when it is a usable one, never
    other contents."""
    try:
        return f"{name} {check.code(_field(record, name), name, column)}"
    except BadValue:
        return f"{name} (no usable code)"


def _raw(record) -> str:
    return check.raw(json.dumps(record, ensure_ascii=False))
