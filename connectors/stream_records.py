"""The records of the national sync stream (sources.md, section 4) read into rows of the store.

A dossier of `DongBoHoSoMC` becomes a `dossier` row with its children (fees, listed supplement
requests, result documents, submitted files) and its `stream_dossier` facts; a step of
`CapNhatTienDoHoSoMC` a `processing_step` row. Every value goes through connectors.validation, so
a bad record raises `BadValue` (naming the field, never the value) and the rest of its batch is
still taken. The facts the stream lacks are derived from the steps later (connectors.stream_facts).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from connectors import validation as check
from connectors.parsing import strip_province_suffix
from connectors.validation import BadValue
from monitor.codes import code_key
from monitor.models import (Dossier, Fee, ProcessingStep, ResultDocument, StreamDossier, SubmittedFile,
                            SupplementRequest)
from monitor.statuses import Channel

STATUSES = frozenset(str(status) for status in range(1, 11))
PAID_ONLINE = frozenset({"1", "2"})   # DuocThanhToanTrucTuyen: on the national portal, or the province's gateway
YES = "1"


def _lengths(model) -> SimpleNamespace:
    """A table's columns as connectors.validation reads them (`column.type.length`), each length
    read once: read through the models' attributes and their types' proxies at every value, that
    was a third of the time spent parsing a record."""
    return SimpleNamespace(**{
        column.name: SimpleNamespace(type=SimpleNamespace(length=getattr(column.type, "length", None)))
        for column in model.__table__.c})


_DOSSIER, _STREAM, _FEE, _RESULT, _FILE, _STEP = map(_lengths, (
    Dossier, StreamDossier, Fee, ResultDocument, SubmittedFile, ProcessingStep))


@dataclass
class StreamDossierRows:
    """One dossier of the stream as the store holds it."""
    dossier: dict
    stream: dict
    children: dict[type, list[dict]]


def dossier_rows(record, body_agency: str | None, source: str, synced_at: datetime) -> StreamDossierRows:
    """The rows of one `DongBoHoSoMC` record; `body_agency` is the body's `madonvi`, if any."""
    if not isinstance(record, dict):
        raise BadValue("a record that is not a JSON object")
    code = check.code(record.get("MaHoSo"), "MaHoSo", _DOSSIER.code)
    procedure = check.code(record.get("MaTTHC"), "MaTTHC", _DOSSIER.procedure_code_raw)
    # A missing or empty KenhThucHien is the counter.
    channel = check.text(record.get("KenhThucHien"), "KenhThucHien").strip() or Channel.COUNTER
    status = check.text(record.get("TrangThaiHoSo"), "TrangThaiHoSo").strip()
    if channel not in tuple(Channel):
        raise BadValue("KenhThucHien is not 1, 2 or 3")
    if status not in STATUSES:
        raise BadValue("TrangThaiHoSo is not 1 to 10")
    agency = body_agency or code.split("-", 1)[0]

    def time(item: dict, name: str, required: bool = False) -> datetime | None:
        return _time(item, name, synced_at, required)

    dossier = {
        "code": code,
        "code_key": check.fitting(code_key(code), "MaHoSo", _DOSSIER.code_key),
        "procedure_code": check.fitting(strip_province_suffix(procedure), "MaTTHC", _DOSSIER.procedure_code),
        "procedure_code_raw": procedure,
        "agency_code": check.code(agency, "madonvi" if body_agency else "MaHoSo's agency prefix", _DOSSIER.agency_code),
        "channel": channel,
        "applicant_name": check.free_text(record.get("ChuHoSo"), "ChuHoSo", _DOSSIER.applicant_name),
        "applicant_id": check.free_text(record.get("SoGiayToChuHoSo"), "SoGiayToChuHoSo", _DOSSIER.applicant_id),
        "summary": check.free_text(record.get("TrichYeuHoSo"), "TrichYeuHoSo", _DOSSIER.summary),
        "status": int(status),
        "submitted_at": time(record, "NgayNopHoSo"),
        "received_at": time(record, "NgayTiepNhan"),
        "appointment_at": time(record, "NgayHenTra"),
        "finished_at": time(record, "NgayKetThucXuLy"),
        "returned_at": time(record, "NgayTra"),
        "refused_at": time(record, "NgayTuChoi"),
        # Derived from the steps (connectors.stream_facts), in the same transaction.
        "created_at": None,
        "updated_at": None,
        "source": source,
        "synced_at": synced_at,
    }
    listed = [(seq, item) for seq, item in _items(record, "DanhSachHoSoBoSung") if time(item, "NgayBoSung")]
    paid = check.text(record.get("DuocThanhToanTrucTuyen"), "DuocThanhToanTrucTuyen").strip()
    stream = {
        "code": code,
        "agency_name": check.free_text(record.get("DonViXuLy"), "DonViXuLy", _STREAM.agency_name),
        "paid_online": paid if paid in PAID_ONLINE else None,
        "digitised": _flag(record, "HoSoCoThanhPhanSoHoa"),
        "supplements_listed": bool(listed),
    }
    children = {
        SupplementRequest: [
            {"dossier_code": code, "seq": seq, "requested_at": time(item, "NgayBoSung"),
             "answered_at": time(item, "NgayTiepNhanBoSung")}
            for seq, (_, item) in enumerate(listed, start=1)],
        Fee: [
            {"dossier_code": code, "seq": seq,
             "fee_code": check.code(item.get("MaPhiLePhi"), "MaPhiLePhi", _FEE.fee_code, required=False),
             "name": check.free_text(item.get("TenPhiLePhi"), "TenPhiLePhi", _FEE.name),
             "amount": _price(item.get("Gia"))}
            for seq, item in _items(record, "DanhSachLePhi")],
        ResultDocument: [
            {"dossier_code": code, "seq": seq,
             "name": check.free_text(item.get("TenGiayTo"), "TenGiayTo", _RESULT.name),
             "document_code": check.free_text(item.get("MaGiayToKetQua"), "MaGiayToKetQua",
                                              _RESULT.document_code),
             "file_url": check.free_text(item.get("DuongDanTepTinKetQua"), "DuongDanTepTinKetQua")}
            for seq, item in _items(record, "DanhSachGiayToKetQua")],
        SubmittedFile: [
            {"dossier_code": code, "seq": seq,
             "file_id": check.free_text(item.get("TepDinhKemId"), "TepDinhKemId", _FILE.file_id),
             "name": check.free_text(item.get("TenTepDinhKem"), "TenTepDinhKem", _FILE.name),
             "component_code": check.free_text(item.get("MaThanhPhanHoSo"), "MaThanhPhanHoSo",
                                               _FILE.component_code),
             "digitised": _flag(item, "DuocSoHoa"), "reused": _flag(item, "DuocTaiSuDung"),
             "from_national_store": _flag(item, "DuocLayTuKhoDMQG")}
            for seq, item in _items(record, "TaiLieuNop")],
    }
    return StreamDossierRows(dossier, stream, children)


def step_row(record, source: str, synced_at: datetime) -> dict:
    """The row of one `CapNhatTienDoHoSoMC` step."""
    if not isinstance(record, dict):
        raise BadValue("a step that is not a JSON object")
    code = check.code(record.get("MaHoSo"), "MaHoSo", _DOSSIER.code)
    status = check.text(record.get("TrangThai"), "TrangThai").strip()
    if status not in STATUSES:
        raise BadValue("TrangThai is not 1 to 10")
    acted_at = _time(record, "ThoiDiemXuLy", synced_at, required=True)
    content = check.free_text(record.get("NoiDungXuLy"), "NoiDungXuLy")
    key = check.fitting(code_key(code), "MaHoSo", _STEP.dossier_key)
    return {
        "identity": step_identity(key, acted_at, int(status), content),
        "dossier_key": key,
        "source": source,
        "acted_at": acted_at,
        "status": int(status),
        "content": content,
        "officer": check.free_text(record.get("NguoiXuLy"), "NguoiXuLy", _STEP.officer),
        "officer_title": check.free_text(record.get("ChucDanh"), "ChucDanh", _STEP.officer_title),
        "department": check.free_text(record.get("PhongBanXuLy"), "PhongBanXuLy", _STEP.department),
        "started_at": _time(record, "NgayBatDau", synced_at),
        "due_at": _time(record, "NgayKetThucTheoQuyDinh", synced_at),
        "synced_at": synced_at,
    }


def step_identity(dossier_key: str, acted_at: datetime, status: int, content: str | None) -> str:
    """What tells steps apart (sources.md): MaHoSo, ThoiDiemXuLy, TrangThai and NoiDungXuLy."""
    parts = (dossier_key, acted_at.isoformat(), str(status), content or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def record_code(record) -> str | None:
    """A record's MaHoSo when it is a usable code (for naming a rejected record), else None."""
    try:
        return check.code(record.get("MaHoSo"), "MaHoSo", _DOSSIER.code) if isinstance(record, dict) else None
    except BadValue:
        return None


def _time(item: dict, name: str, synced_at: datetime, required: bool = False) -> datetime | None:
    written = check.text(item.get(name), name).strip()
    try:
        value = _stream_time(written)
    except ValueError:
        raise BadValue(f"{name}: unparseable date (not yyyyMMddHHmmss)") from None
    if value is None and required:
        raise BadValue(f"{name} is empty")
    return check.moment(value, name, synced_at)


def _stream_time(written: str) -> datetime | None:
    """`yyyyMMddHHmmss`, or None for "": what parse_onestop_datetime reads, five times faster than
    its strptime (a third of the parsing time). Fourteen ASCII digits, each field its two (four)
    digits: strptime, which must consume all fourteen, can split them no other way."""
    if not written:
        return None
    if len(written) != 14 or not written.isascii() or not written.isdigit():
        raise ValueError("not a yyyyMMddHHmmss date-time")
    return datetime(int(written[:4]), int(written[4:6]), int(written[6:8]),
                    int(written[8:10]), int(written[10:12]), int(written[12:]))


def _items(record: dict, name: str) -> list[tuple[int, dict]]:
    """A list field; missing or null is an empty list."""
    items = record.get(name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadValue(f"{name} is not a list of objects")
    return list(enumerate(items, start=1))


def _flag(item: dict, name: str) -> bool:
    return check.text(item.get(name), name).strip() == YES


def _price(value) -> int:
    """`Gia`: đồng as text ("50000"), or as a number."""
    written = check.text(value, "DanhSachLePhi: Gia").strip()
    if not written.isdecimal() or not written.isascii():
        raise BadValue("DanhSachLePhi: Gia is not a whole number of đồng")
    return check.amount(int(written), "DanhSachLePhi: Gia", Fee.amount)   # its integer type, not a length
