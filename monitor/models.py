"""The store: SQLModel tables.

All times are naive local times in Asia/Ho_Chi_Minh, as the sources write them; dates that
the rules compare are stored as written and compared to the second. Natural keys are unique:
a dossier by its code (`MaHoSo`), a procedure by its code without the province suffix.
`code_key` columns hold the matching form of a dossier code (trimmed, NFC, upper case) that
rules.md uses to match codes across sources; the code itself is kept as the source wrote it.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from monitor.statuses import FindingStatus, OutboxStatus, RunStatus

# Every stored time is a naive local time (Asia/Ho_Chi_Minh), as the sources write them.
LocalDatetime = NaiveDatetime


class Agency(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)           # MaDonVi
    name: str                                                    # TenDonVi
    parent_code: str | None = Field(default=None, max_length=64)  # MaDonViCha
    level: str | None = Field(default=None, max_length=8)         # CapDonVi: tinh, huyen, xa


class Procedure(SQLModel, table=True):
    """A procedure of the portal's catalogue. `None` in a parsed value means the detail page
    lacked that label: the value is unknown and rules that need it skip the procedure."""
    code: str = Field(primary_key=True, max_length=64)
    name: str | None = None
    field: str | None = None                                     # Lĩnh vực
    agency_code: str | None = Field(default=None, max_length=64, index=True)
    time_limit_text: str | None = Field(default=None, sa_column=Column(Text))
    time_limit_kind: str | None = Field(default=None, max_length=16)  # TimeLimitKind value
    time_limit_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 3)))
    fee_text: str | None = Field(default=None, sa_column=Column(Text))
    fee_status: str | None = Field(default=None, max_length=16)       # FeeStatus
    service_level: str | None = None                              # as written: Toàn trình, Một phần, ...
    full_online_eligible: bool | None = None
    online_payment: bool | None = None
    missing_labels: str | None = None                             # comma-separated labels the page lacked
    source: str = Field(max_length=64)
    synced_at: LocalDatetime


class Dossier(SQLModel, table=True):
    """A one-stop record (`LayDanhSachHoSo`), every field typed."""
    code: str = Field(primary_key=True, max_length=80)           # MaHoSo, as written
    code_key: str = Field(max_length=80, unique=True)
    procedure_code: str = Field(max_length=64, index=True)      # MaTTHC without the province suffix
    procedure_code_raw: str = Field(max_length=80)
    agency_code: str = Field(max_length=64, index=True)         # MaDonViXuLy
    channel: str = Field(max_length=2)                          # KenhThucHien: Channel
    applicant_name: str | None = None                           # ChuHoSo (personal data)
    applicant_id: str | None = Field(default=None, max_length=32)  # SoGiayToChuHoSo (personal data)
    summary: str | None = Field(default=None, sa_column=Column(Text))  # TrichYeuHoSo
    status: int = Field(index=True)                             # TrangThaiHoSo 1..10
    submitted_at: LocalDatetime | None = None                        # NgayNopHoSo
    received_at: LocalDatetime | None = Field(default=None, index=True)  # NgayTiepNhan
    appointment_at: LocalDatetime | None = None                      # NgayHenTra
    finished_at: LocalDatetime | None = None                         # NgayKetThucXuLy
    returned_at: LocalDatetime | None = None                         # NgayTra
    refused_at: LocalDatetime | None = None                          # NgayTuChoi
    # NgayTao. A stream dossier (sources.md section 4) has none: its entry time is derived from
    # its first status-2 step, and unknown (NULL) while it has none.
    created_at: LocalDatetime | None = None
    # NgayCapNhat, the last resort end date of a status 3, 7 or 8 dossier. A stream dossier has
    # none: it holds the time of its latest step with its status, the end date the stream gives.
    updated_at: LocalDatetime | None = Field(default=None, index=True)
    source: str = Field(max_length=64)
    synced_at: LocalDatetime


class SupplementRequest(SQLModel, table=True):
    """DanhSachHoSoBoSung: a request for more papers; it stops the clock until answered."""
    __tablename__ = "supplement_request"
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    requested_at: LocalDatetime = Field(index=True)                  # NgayYeuCauBoSung
    answered_at: LocalDatetime | None = None                         # NgayNhanBoSung


class ApologyLetter(SQLModel, table=True):
    """DanhSachVanBanXinLoi."""
    __tablename__ = "apology_letter"
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    issued_at: LocalDatetime                                         # NgayBanHanh
    new_appointment_at: LocalDatetime | None = None                  # NgayHenTraMoi


class Fee(SQLModel, table=True):
    """DanhSachLePhi."""
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    fee_code: str | None = None                                 # MaPhiLePhi
    name: str | None = None                                     # TenPhiLePhi
    amount: int                                                 # SoTien, VND


class Payment(SQLModel, table=True):
    """DanhSachThanhToan. The audit looks a dossier's payments up by dossier, date and method
    (rules.due): on SQLite the index answers that without reading the rows."""
    __table_args__ = (Index("ix_payment_dossier_paid", "dossier_code", "paid_at", "method"),)
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    transaction_code: str | None = None                         # MaGiaoDich
    amount: int                                                 # SoTien, VND
    method: str = Field(max_length=16)                          # truc-tuyen, truc-tiep, chuyen-khoan
    paid_at: LocalDatetime | None = None                             # ThoiGianGD


class PortalDossier(SQLModel, table=True):
    """A row of the portal's list of synchronised dossiers (`/tra-cuu-ho-so`)."""
    __tablename__ = "portal_dossier"
    code_key: str = Field(primary_key=True, max_length=80)
    code: str = Field(max_length=80)                            # Mã hồ sơ, as written
    procedure_code: str | None = Field(default=None, max_length=64)
    agency_code: str | None = Field(default=None, max_length=64, index=True)
    channel: str | None = Field(default=None, max_length=2)    # 1, 2, 3 from Kênh
    channel_text: str | None = None
    submitted_at: LocalDatetime | None = Field(default=None, index=True)  # Ngày nộp
    status_text: str | None = None
    source: str = Field(max_length=64)
    synced_at: LocalDatetime


class BookRow(SQLModel, table=True):
    """A row of a counter's tracking book (Sổ theo dõi hồ sơ). A code may be listed by several files
    of a source, one row per file: each file replaces only its own rows."""
    __tablename__ = "book_row"
    __table_args__ = (UniqueConstraint("source", "file", "code_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    code: str = Field(max_length=80)                            # as typed
    code_key: str = Field(max_length=80, index=True)
    agency_code: str | None = Field(default=None, max_length=64, index=True)
    procedure_name: str | None = None
    received_at: LocalDatetime = Field(index=True)                   # start of the day when has_time is false
    received_has_time: bool = True
    appointment_date: date | None = None
    file: str                                                   # path relative to the glob's root, as BookFile.path
    row_number: int                                             # as a spreadsheet shows it (1-based)
    synced_at: LocalDatetime


class BookFile(SQLModel, table=True):
    """A file already read (a tracking book, a captured stream log): unchanged files are not read again."""
    __tablename__ = "book_file"
    source: str = Field(primary_key=True, max_length=64)
    path: str = Field(primary_key=True)                         # relative to the glob's root (the folder before its first wildcard)
    size: int
    mtime: float
    sha256: str = Field(max_length=64)
    rows: int
    read_at: LocalDatetime


# --- The national sync stream (sources.md section 4): what it carries besides the dossier -------

class StreamDossier(SQLModel, table=True):
    """The stream's own facts of a dossier it brought, beside its `dossier` row."""
    __tablename__ = "stream_dossier"
    code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    agency_name: str | None = None                              # DonViXuLy (the name; never matched)
    paid_online: str | None = Field(default=None, max_length=2)  # DuocThanhToanTrucTuyen: 1, 2, or not paid online
    digitised: bool = False                                     # HoSoCoThanhPhanSoHoa is "1"
    # Whether DanhSachHoSoBoSung listed a request: then it gives the supplement requests;
    # otherwise they are derived from the status-5 steps.
    supplements_listed: bool = False


class ProcessingStep(SQLModel, table=True):
    """A step of `CapNhatTienDoHoSoMC`. Keyed by the dossier's `code_key`, not by a foreign key:
    a step may arrive before its dossier. `identity` (a hash of the code key, ThoiDiemXuLy,
    TrangThai and NoiDungXuLy) stores a step sent twice once."""
    __tablename__ = "processing_step"
    __table_args__ = (Index("ix_processing_step_dossier", "dossier_key", "status", "acted_at"),)
    identity: str = Field(primary_key=True, max_length=64)
    dossier_key: str = Field(max_length=80)                     # code_key of MaHoSo
    source: str = Field(max_length=64)
    acted_at: LocalDatetime                                     # ThoiDiemXuLy
    status: int                                                 # TrangThai 1..10
    content: str | None = Field(default=None, sa_column=Column(Text))  # NoiDungXuLy
    officer: str | None = None                                  # NguoiXuLy
    officer_title: str | None = None                            # ChucDanh
    department: str | None = None                               # PhongBanXuLy (often empty)
    started_at: LocalDatetime | None = None                     # NgayBatDau
    due_at: LocalDatetime | None = None                         # NgayKetThucTheoQuyDinh (often empty)
    synced_at: LocalDatetime


class ResultDocument(SQLModel, table=True):
    """DanhSachGiayToKetQua: a result document; one with a file link is an electronic result."""
    __tablename__ = "result_document"
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    name: str | None = None                                     # TenGiayTo
    document_code: str | None = None                            # MaGiayToKetQua
    file_url: str | None = Field(default=None, sa_column=Column(Text))  # DuongDanTepTinKetQua


class SubmittedFile(SQLModel, table=True):
    """TaiLieuNop: a file the applicant submitted, with the index's flags."""
    __tablename__ = "submitted_file"
    dossier_code: str = Field(foreign_key="dossier.code", primary_key=True, max_length=80, ondelete="CASCADE")
    seq: int = Field(primary_key=True)
    file_id: str | None = None                                  # TepDinhKemId
    name: str | None = None                                     # TenTepDinhKem
    component_code: str | None = None                           # MaThanhPhanHoSo
    digitised: bool = False                                     # DuocSoHoa "1"
    reused: bool = False                                        # DuocTaiSuDung "1"
    from_national_store: bool = False                           # DuocLayTuKhoDMQG "1"


class StreamState(SQLModel, table=True):
    """When a stream source last had a batch accepted: a stream is stale when its sender stops."""
    __tablename__ = "stream_state"
    source: str = Field(primary_key=True, max_length=64)
    last_batch_at: LocalDatetime
    batches: int = 0
    records: int = 0


class SyncCursor(SQLModel, table=True):
    """Where a source's next incremental read starts; committed with the rows it covers."""
    __tablename__ = "sync_cursor"
    source: str = Field(primary_key=True, max_length=64)
    cursor: str
    updated_at: LocalDatetime


class SyncRun(SQLModel, table=True):
    """One sync of one source: the audit reads staleness from here."""
    __tablename__ = "sync_run"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)
    started_at: LocalDatetime
    finished_at: LocalDatetime | None = None
    status: str = Field(default=RunStatus.RUNNING, max_length=16)  # RunStatus: running, ok, failed
    records_read: int = 0
    records_inserted: int = 0
    records_updated: int = 0
    records_rejected: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))


class RejectedInput(SQLModel, table=True):
    """Input a connector could not take, kept with where it was and why."""
    __tablename__ = "rejected_input"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="sync_run.id", index=True)
    source: str = Field(max_length=64)
    location: str                                               # file:row, record code, page URL
    reason: str = Field(sa_column=Column(Text))
    raw: str | None = Field(default=None, sa_column=Column(Text))
    created_at: LocalDatetime


class Finding(SQLModel, table=True):
    """The history of one finding, keyed by (rule, subject).

    Every nightly audit rewrites every open finding (last_seen). On PostgreSQL, pages kept half
    empty (fillfactor 50) let those rewrites stay on their page without touching the indexes
    (HOT updates): at 450k findings, 6 s instead of 16. An audit looks up the first_seen of each
    of its findings: on SQLite the (rule, subject, first_seen) index answers without reading the
    rows, which lie in the order they were first found (0.4 s of a 1M-dossier audit)."""
    __table_args__ = (
        UniqueConstraint("rule", "subject"),
        Index("ix_finding_first_seen", "rule", "subject", "first_seen"),
        {"postgresql_with": {"fillfactor": 50}},
    )
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=48)
    subject: str = Field(max_length=80)
    agency_code: str | None = Field(default=None, max_length=64, index=True)
    procedure_code: str | None = Field(default=None, max_length=64)
    parts: str = ""                                             # comma-separated parts that found it (entry.missing)
    due_date: date | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text))
    first_seen: LocalDatetime
    last_seen: LocalDatetime
    resolved_at: LocalDatetime | None = None
    status: str = Field(default=FindingStatus.OPEN, max_length=16, index=True)  # FindingStatus: open, resolved


class Exemption(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=48)
    subject: str | None = Field(default=None, max_length=80)    # a dossier or procedure code ...
    agency_code: str | None = Field(default=None, max_length=64)  # ... or a whole agency
    reason: str = Field(sa_column=Column(Text, nullable=False))
    author: str
    until: date                                                 # in force to the end of this day
    created_at: LocalDatetime
    lifted_at: LocalDatetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A rendered report waiting to be sent, or sent: keyed so that it is sent once."""
    __tablename__ = "outbox_message"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)                               # recipient|agency|period
    recipients: str                                             # comma-separated addresses
    agency: str = Field(max_length=64)
    period: str = Field(max_length=48)
    subject: str
    message: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the whole MIME message
    created_at: LocalDatetime
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)  # OutboxStatus
    attempts: int = 0
    next_attempt_at: LocalDatetime | None = None
    sent_at: LocalDatetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    refused: str | None = None                                  # recipients the server refused


class NightlyRun(SQLModel, table=True):
    __tablename__ = "nightly_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: LocalDatetime
    finished_at: LocalDatetime | None = None
    status: str = Field(default=RunStatus.RUNNING, max_length=16)  # RunStatus: running, ok, failed, partial
    stages: str = Field(default="", sa_column=Column(Text))     # one line per stage: name status detail


class RunLock(SQLModel, table=True):
    """A lock held in the database, so two nightly runs never overlap on any store."""
    __tablename__ = "run_lock"
    name: str = Field(primary_key=True, max_length=32)
    holder: str
    acquired_at: LocalDatetime
    expires_at: LocalDatetime


# --- What the audit stage stores for the reports (rules/publish.py), which read nothing else -----

class ReportSnapshot(SQLModel, table=True):
    """One audit at the present moment, as the reports read it: its findings, its stale sources,
    the agencies' names, the figures of the report periods, and the figures as of that moment
    (the night's snapshot, kept for trends; the findings of older snapshots are dropped)."""
    __tablename__ = "report_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    made_at: LocalDatetime                                      # T: the audit's moment
    stale: list = Field(sa_column=Column(JSON, nullable=False))  # the audit's stale sources, as its JSON says


class ReportAgency(SQLModel, table=True):
    __tablename__ = "report_agency"
    snapshot_id: int = Field(foreign_key="report_snapshot.id", primary_key=True, ondelete="CASCADE")
    code: str = Field(primary_key=True, max_length=64)
    name: str


class ReportFinding(SQLModel, table=True):
    """A finding of the snapshot with what a report shows of it: names, the masked applicant,
    fees, and the exemption that covers it. Besides the audit's findings, the snapshot holds the
    history's findings that the audit could not check again (carried forward, `checked_at`) and
    those resolved since the oldest report the due reports compare with (`resolved_at`)."""
    __tablename__ = "report_finding"
    id: int | None = Field(default=None, primary_key=True)      # the audit's order: rule, then subject
    snapshot_id: int = Field(foreign_key="report_snapshot.id", index=True, ondelete="CASCADE")
    rule: str = Field(max_length=48)
    subject: str = Field(max_length=80)
    agency: str | None = Field(default=None, max_length=64)
    procedure: str | None = Field(default=None, max_length=64)
    procedure_name: str | None = Field(default=None, sa_column=Column(Text))
    applicant: str = ""                                         # masked (never the full name)
    due_date: date | None = None
    days_late: int | None = None
    detail: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)                          # open, exempted, resolved (since the oldest report compared with)
    reason: str | None = Field(default=None, max_length=32)
    first_seen: LocalDatetime | None = None
    # A finding of a rule the audit skipped (a stale source), carried forward from the history:
    # when it was last checked. None for a finding the audit found.
    checked_at: LocalDatetime | None = None
    resolved_at: LocalDatetime | None = None                    # for a resolved one: when
    fee: int | None = Field(default=None, sa_column=Column(BigInteger))  # the dossier's fees (VND), for payment rules
    exemption_reason: str | None = Field(default=None, sa_column=Column(Text))
    exemption_until: date | None = None


class ReportFigures(SQLModel, table=True):
    """The figures of one agency (or "*") for a report period, or, without a period, as of the
    snapshot's moment (rules.figures.Figures; the counts that need due dates may be unknown)."""
    __tablename__ = "report_figures"
    id: int | None = Field(default=None, primary_key=True)      # the audit's order: agencies, then "*"
    snapshot_id: int = Field(foreign_key="report_snapshot.id", index=True, ondelete="CASCADE")
    period_start: date | None = None
    period_end: date | None = None
    agency: str = Field(max_length=64)
    received_total: int
    received_online: int
    received_offline: int
    carried_over: int
    resolved_total: int
    resolved_early: int | None = None
    resolved_on_time: int | None = None
    resolved_late: int | None = None
    in_progress_total: int
    in_progress_within: int | None = None
    in_progress_overdue: int | None = None
    on_time_rate: float | None = None
    entry_rate: float | None = None
    sync_rate: float | None = None
    online_payment_rate: float | None = None


class ReportIndex(SQLModel, table=True):
    """The national index (rules.index) of one agency (or "*") for a report period, as the audit's
    JSON gives it: `indicators` holds each indicator's {"rate", "points", "max"} by its id (a new
    indicator needs no migration); beside them the totals and the gap to the law."""
    __tablename__ = "report_index"
    id: int | None = Field(default=None, primary_key=True)      # the audit's order: agencies, then "*"
    snapshot_id: int = Field(foreign_key="report_snapshot.id", index=True, ondelete="CASCADE")
    period_start: date
    period_end: date
    agency: str = Field(max_length=64)
    indicators: dict = Field(sa_column=Column(JSON, nullable=False))
    points_total: float | None = None                            # of the indicators computed; null: none
    max_total: float                                             # their maxima
    law_on_time_rate: float | None = None                        # on_time_rate of the legal figures
    on_time_for_index_late_in_law: int | None = None             # padded appointments (null: 2.1 not computed)


class ReportDepartment(SQLModel, table=True):
    """process.step_late summed per agency and department for the snapshot (rules.process
    department_overruns): the late processing steps and the working days they overran, over the
    dossiers with a process.step_late finding. "Phòng X: 14 bước trễ, 31 ngày làm việc"."""
    __tablename__ = "report_department"
    id: int | None = Field(default=None, primary_key=True)      # the audit's order: agency, most days first
    snapshot_id: int = Field(foreign_key="report_snapshot.id", index=True, ondelete="CASCADE")
    agency: str = Field(max_length=64)
    department: str = Field(sa_column=Column(Text, nullable=False))  # PhongBanXuLy, or "không rõ phòng ban"
    late_steps: int
    overrun_days: int                                           # working days overrun, summed
