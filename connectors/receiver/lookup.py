"""`TraCuuHoSo`: a dossier of the stream as the store holds it, given back in the stream's own field
names and formats (sources.md section 4), so that a sender can choose between insert and update.

Only what the stream carries and the store keeps: the applicant's name and ID number are not given
back (the sender has them; this answer needs none), nor the fields the store does not keep
(`TenTTHC`, `HinhThucThu`, `LoaiPhiLePhi`, `HoSoBoSungId`, ...).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from monitor.codes import code_key
from monitor.models import Dossier, Fee, ResultDocument, StreamDossier, SubmittedFile, SupplementRequest

STREAM_TIME = "%Y%m%d%H%M%S"
DATES = (("NgayNopHoSo", "submitted_at"), ("NgayTiepNhan", "received_at"), ("NgayHenTra", "appointment_at"),
         ("NgayKetThucXuLy", "finished_at"), ("NgayTra", "returned_at"), ("NgayTuChoi", "refused_at"))


def stored_dossier(engine: Engine, source: str, written_code: str) -> dict:
    """The dossier of `source` whose code matches `written_code` (NFC, trimmed, upper case), as the
    stream writes it; {} when this source has none."""
    d, sd = Dossier.__table__, StreamDossier.__table__
    with engine.connect() as connection:
        row = connection.execute(
            select(d, sd.c.agency_name, sd.c.paid_online, sd.c.digitised, sd.c.supplements_listed)
            .join(sd, sd.c.code == d.c.code)
            .where(d.c.code_key == code_key(written_code), d.c.source == source)).mappings().first()
        if row is None:
            return {}

        def children(table):
            t = table.__table__
            query = select(t).where(t.c.dossier_code == row["code"]).order_by(t.c.seq)
            return connection.execute(query).mappings().all()

        record = {
            "MaHoSo": row["code"],
            "MaTTHC": row["procedure_code_raw"],
            "KenhThucHien": row["channel"],
            "TrangThaiHoSo": str(row["status"]),
            **{name: _time(row[column]) for name, column in DATES},
            "DonViXuLy": row["agency_name"] or "",
            "DuocThanhToanTrucTuyen": row["paid_online"] or "0",
            "HoSoCoThanhPhanSoHoa": _flag(row["digitised"]),
            "DanhSachLePhi": [{"MaPhiLePhi": fee["fee_code"] or "", "TenPhiLePhi": fee["name"] or "",
                               "Gia": str(fee["amount"])} for fee in children(Fee)],
        }
        if row["supplements_listed"]:
            record["DanhSachHoSoBoSung"] = [
                {"NgayBoSung": _time(request["requested_at"]), "NgayTiepNhanBoSung": _time(request["answered_at"])}
                for request in children(SupplementRequest)]
        record["DanhSachGiayToKetQua"] = [
            {"TenGiayTo": document["name"] or "", "MaGiayToKetQua": document["document_code"] or "",
             "DuongDanTepTinKetQua": document["file_url"] or ""} for document in children(ResultDocument)]
        record["TaiLieuNop"] = [
            {"TepDinhKemId": file["file_id"] or "", "TenTepDinhKem": file["name"] or "",
             "MaThanhPhanHoSo": file["component_code"] or "", "DuocSoHoa": _flag(file["digitised"]),
             "DuocTaiSuDung": _flag(file["reused"]), "DuocLayTuKhoDMQG": _flag(file["from_national_store"])}
            for file in children(SubmittedFile)]
        return record


def _time(value: datetime | None) -> str:
    return value.strftime(STREAM_TIME) if value is not None else ""


def _flag(value: bool) -> str:
    return "1" if value else "0"
