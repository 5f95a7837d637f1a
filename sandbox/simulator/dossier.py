"""A dossier of the simulated province, as the province's systems know it.

The fields follow the national sync schema (sources.md, section 1); the three flags say which
of the sources the dossier is in, since a dossier can be received on paper and never typed in,
typed in and never synchronised, and so on. The processing steps, submitted files and result
documents are what only the national sync stream tells (sources.md, section 4): drawn on
first use (progress.py), since most users of the province never need them.
"""

from dataclasses import dataclass
from datetime import datetime

from sandbox.simulator.catalogue import Fee


@dataclass(frozen=True, slots=True)
class Supplement:
    requested: datetime
    answered: datetime | None  # None while the applicant has not answered


@dataclass(frozen=True, slots=True)
class Apology:
    issued: datetime
    new_appointment: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    transaction: str
    amount: int
    method: str  # "truc-tuyen" | "truc-tiep" | "chuyen-khoan"
    at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """A processing step, as the one-stop system records it (CapNhatTienDoHoSoMC)."""

    at: datetime  # ThoiDiemXuLy: when the action was taken
    status: int  # TrangThai: the dossier's status after it
    officer: str  # NguoiXuLy, as the system writes it (with title and department in some)
    title: str  # ChucDanh
    department: str  # PhongBanXuLy
    action: str  # NoiDungXuLy
    started: datetime | None = None  # NgayBatDau
    due: datetime | None = None  # NgayKetThucTheoQuyDinh, under the internal procedure

    @property
    def late(self) -> bool:
        return self.due is not None and self.at > self.due


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    """A file of the dossier as submitted (TaiLieuNop)."""

    file_id: str
    name: str
    component: str  # MaThanhPhanHoSo
    digitised: bool  # DuocSoHoa
    reused: bool  # DuocTaiSuDung: taken from the applicant's earlier results
    from_national_db: bool  # DuocLayTuKhoDMQG


@dataclass(frozen=True, slots=True)
class ResultDocument:
    """A result document of a resolved dossier (DanhSachGiayToKetQua)."""

    name: str
    code: str
    url: str  # DuongDanTepTinKetQua: "" for a result on paper only

    @property
    def electronic(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class Progress:
    """What only the national sync stream tells of a dossier of the one-stop system."""

    steps: tuple[Step, ...] = ()  # in time order; none before the receipt
    files: tuple[SubmittedFile, ...] = ()
    digitised: bool = False  # HoSoCoThanhPhanSoHoa, as the system flags it
    results: tuple[ResultDocument, ...] = ()  # status 9 and 10 only
    paid_online_via: str = ""  # for a truc-tuyen payment: "1" the national portal, "2" the province's gateway


@dataclass(slots=True)
class Dossier:
    code: str
    procedure_code: str  # as recorded: may carry the province suffix, may be unknown
    agency: str
    channel: int  # 1 at the counter, 2 online, 3 by post
    applicant: str
    applicant_id: str
    summary: str
    submitted: datetime | None  # online dossiers only
    received: datetime | None  # None while status is 1
    appointment: datetime | None
    finished: datetime | None
    returned: datetime | None
    refused: datetime | None
    status: int  # 1..10
    created: datetime  # entered into the one-stop system (for a dossier never entered: its arrival)
    updated: datetime
    supplements: tuple[Supplement, ...] = ()
    apologies: tuple[Apology, ...] = ()
    fees: tuple[Fee, ...] = ()
    payments: tuple[Payment, ...] = ()
    in_onestop: bool = True  # entered into the one-stop system
    on_portal: bool = True  # on the portal's dossier list
    in_book: bool = False  # written in the counter's tracking book
    # What only the national sync stream tells: drawn on first use by Province.progress()
    # (progress.py), which keeps it here; None until then.
    progress: Progress | None = None

    @property
    def listed_at(self) -> datetime:
        """The portal's `Ngày nộp`: submission of an online dossier, receipt of the others."""
        return self.submitted if self.channel == 2 else self.received
