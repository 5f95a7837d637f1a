"""Stream dossiers for the audit tests: bodies of the national sync stream (sources.md section 4)
written through the stream loader, as the receiver stores them, so that the facts the stream
lacks are derived as in production (entry time and end date from the steps)."""
from __future__ import annotations

from datetime import datetime

from audit_helpers import AGENCY, PROCEDURE
from connectors.stream_loader import DOSSIERS, STEPS, StreamBatch, StreamLoader
from monitor.kinds.dvcqg_stream import StreamSettings

STREAM = StreamSettings(name="luong-dvcqg")
SENT = datetime(2026, 12, 1, 2, 0)   # after every date the rule tests use; the staleness tests give their own


def wire(moment: datetime | None) -> str:
    """A time as the stream writes it: yyyyMMddHHmmss, or "" for none."""
    return moment.strftime("%Y%m%d%H%M%S") if moment else ""


class Stream:
    """Sends bodies of one stream source into the store; `sent_at` is the loader's clock (when the
    batch is accepted: the stream's last batch time)."""

    def __init__(self, engine, source: str = STREAM.name):
        self.engine = engine
        self.source = source

    def send(self, service: str, records: list[dict], *, sent_at: datetime = SENT,
             agency: str | None = AGENCY) -> StreamBatch:
        batch = StreamBatch(service, records, agency=agency)
        StreamLoader(self.engine, self.source, None, lambda: sent_at).load(batch)
        assert batch.refused == [], batch.refused
        return batch

    def dossier(self, code: str, received_at: datetime | None, *, status: int = 4, channel: str = "1",
                procedure: str = PROCEDURE, appointment_at: datetime | None = None,
                finished_at: datetime | None = None, returned_at: datetime | None = None,
                refused_at: datetime | None = None, paid_online: str = "", fees: tuple[int, ...] = (),
                steps: tuple[tuple, ...] = (), agency: str = AGENCY, sent_at: datetime = SENT,
                supplements: tuple[tuple[datetime, datetime | None], ...] = ()) -> None:
        """A DongBoHoSoMC record, then its steps in a CapNhatTienDoHoSoMC body (see `steps`).
        `supplements` are DanhSachHoSoBoSung entries as (NgayBoSung, NgayTiepNhanBoSung)."""
        record = {
            "MaHoSo": code, "MaTTHC": procedure, "KenhThucHien": channel, "ChuHoSo": "Ngô Văn Hải",
            "NgayTiepNhan": wire(received_at), "NgayHenTra": wire(appointment_at),
            "NgayKetThucXuLy": wire(finished_at), "NgayTra": wire(returned_at), "NgayTuChoi": wire(refused_at),
            "TrangThaiHoSo": str(status), "DonViXuLy": "Sở Tư pháp", "DuocThanhToanTrucTuyen": paid_online,
            "DanhSachLePhi": [{"MaPhiLePhi": f"LP{i}", "TenPhiLePhi": "Lệ phí", "Gia": str(amount)}
                              for i, amount in enumerate(fees, start=1)],
            "DanhSachHoSoBoSung": [{"HoSoBoSungId": str(i), "NgayBoSung": wire(asked),
                                    "NgayTiepNhanBoSung": wire(answered)}
                                   for i, (asked, answered) in enumerate(supplements, start=1)],
        }
        self.send(DOSSIERS, [record], sent_at=sent_at, agency=agency)
        if steps:
            self.steps(code, *steps, sent_at=sent_at)

    def steps(self, code: str, *steps: tuple, sent_at: datetime = SENT) -> None:
        """Steps as (acted_at, status), or (acted_at, status, PhongBanXuLy, NgayKetThucTheoQuyDinh)."""
        def record(acted_at: datetime, status: int, department: str = "", due_at: datetime | None = None) -> dict:
            return {"MaHoSo": code, "NguoiXuLy": "Phạm Thị Dung", "ChucDanh": "Chuyên viên",
                    "ThoiDiemXuLy": wire(acted_at), "PhongBanXuLy": department,
                    "NoiDungXuLy": f"Bước {status}", "TrangThai": str(status), "NgayBatDau": "",
                    "NgayKetThucTheoQuyDinh": wire(due_at)}
        self.send(STEPS, [record(*step) for step in steps], sent_at=sent_at)
