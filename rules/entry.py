"""entry.*: every dossier entered into the one-stop system, on time, synced, and trustworthy."""
from __future__ import annotations

from sqlalchemy import Select, String, and_, case, exists, func, literal, null, select

from monitor.models import BookRow, Dossier, PortalDossier
from monitor.statuses import Channel
from rules.base import CATALOGUE, ONESTOP, PORTAL_LIST, AuditContext, Parameter, Rule, book, finding
from rules.due import FINISHED_STATUSES, audit_dossier as ad
from rules.sql import date_of, day_text, moment_text, scanned, seconds_of_day, text_of
from rules.workdays import calendar_day, receipt_ordinal, working_day

PORTAL = "portal"

# Working days after R to enter a dossier into the one-stop system, and to show it on the portal.
ENTRY_GRACE_DAYS = Parameter("entry_grace_days", int, 1)
SYNC_GRACE_DAYS = Parameter("sync_grace_days", int, 1)


class Missing(Rule):
    """On the portal's list as an online dossier, or in a tracking book, but not in the one-stop
    system (whatever its NgayTao), once the entry grace after its receipt has passed."""
    id = "entry.missing"
    title = "Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử"
    action = "Cập nhật ngay hồ sơ vào hệ thống một cửa điện tử với đúng ngày, giờ tiếp nhận."
    urgency = 30
    subject = "dossier"
    needs = frozenset({ONESTOP})
    parameters = (ENTRY_GRACE_DAYS,)
    figures_needing_it = ("entry_rate",)
    counts_as_unentered = True

    def parts(self, book_sources: tuple[str, ...]) -> dict[str, frozenset[str]]:
        return {PORTAL: frozenset({PORTAL_LIST}), **{name: frozenset({book(name)}) for name in book_sources}}

    def part_title(self, part: str) -> str:
        return "phần dựa trên Cổng dịch vụ công" if part == PORTAL else super().part_title(part)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select | None:
        # The parts that run, the portal first, then the books by name. The first that names a
        # dossier speaks for it (the code as it wrote it, its agency, its receipt); in a book
        # whose files list it more than once, its row with the earliest receipt (then the first
        # by file and row). Every part that named it is recorded.
        names = ([PORTAL] if PORTAL in parts else []) + sorted(parts - {PORTAL})
        if not names:
            return None
        rows = [_part_rows(context, rank, name) for rank, name in enumerate(names)]
        every_row = rows[0].union_all(*rows[1:]) if len(rows) > 1 else rows[0]
        unentered = _unentered(context, every_row).subquery("unentered")
        u = unentered.c
        speaker = func.row_number().over(partition_by=u.code_key,
                                          order_by=(u.rank, u.received_at, u.file, u.row_number))
        candidates = select(unentered, speaker.label("speaker")).cte("candidates")  # read twice
        c = candidates.c
        found_by = (func.max(case((c.part == name, 1), else_=0)).label(f"by_{i}") for i, name in enumerate(names))
        grouped = select(c.code_key, *found_by).group_by(c.code_key).subquery("grouped")
        g = grouped.c

        def listed(separator: str, values: list[str]):
            pieces = [case((g[f"by_{i}"] == 1, literal(value + separator, String)), else_=literal("", String))
                      for i, value in enumerate(values)]
            return func.rtrim(text_of(*pieces), separator)
        return (
            select(*finding(
                self.id, subject=c.code, agency=c.agency_code, procedure=c.procedure,
                received=date_of(c.received_at), parts=listed(",", names),
                detail=text_of("Có trên ", listed(", ", [_place(name) for name in names]), " (nhận ",
                               moment_text(c.received_at), _book_line(c),
                               ") nhưng không có trong hệ thống một cửa điện tử; hạn nhập ", day_text(c.grace_day))))
            .select_from(candidates.join(grouped, and_(g.code_key == c.code_key, c.speaker == 1)))
        )


def _place(part: str) -> str:
    return "Cổng DVC" if part == PORTAL else f"sổ theo dõi {part}"


def _book_line(c):
    """Where a book row is: `, tệp 2025/so.csv dòng 8` (nothing for the portal's row)."""
    return case((c.file.is_not(None), text_of(", tệp ", c.file, " dòng ", c.row_number)), else_=literal("", String))


def _part_rows(context: AuditContext, rank: int, part: str) -> Select:
    """The rows of one part received by T."""
    if part == PORTAL:
        table = PortalDossier.__table__
        received, procedure, condition = table.c.submitted_at, table.c.procedure_code, table.c.channel == Channel.ONLINE
        file, row_number = null(), null()
    else:
        table = BookRow.__table__
        received, procedure, condition = table.c.received_at, null(), table.c.source == part
        file, row_number = table.c.file, table.c.row_number
    return (select(literal(rank).label("rank"), literal(part, String).label("part"), table.c.code_key, table.c.code,
                   table.c.agency_code, procedure.label("procedure"), received.label("received_at"),
                   file.label("file"), row_number.label("row_number"))
            .where(condition, scanned(received) <= context.as_of))  # nearly every row: one pass over the table


def _unentered(context: AuditContext, rows: Select) -> Select:
    """The rows whose code the one-stop system lacks, past the entry grace after their receipt.
    R is computed from the row's time as from NgayTiepNhan. The rows of every part are matched
    against the one-stop system first, together (PostgreSQL hashes its million codes once), and
    only the few left are dated."""
    dossier = Dossier.__table__
    part_rows = rows.subquery("part_rows")
    unmatched = (select(part_rows).where(~exists().where(dossier.c.code_key == part_rows.c.code_key))
                 .cte("unmatched").prefix_with("MATERIALIZED", dialect="postgresql"))
    receipt_date = calendar_day.alias("receipt_date")
    grace = working_day.alias("grace")
    r_ordinal = receipt_ordinal(receipt_date.c.ordinal, receipt_date.c.working,
                                seconds_of_day(unmatched.c.received_at), context.calendar)
    return (
        select(unmatched, grace.c.day.label("grace_day"))
        .select_from(unmatched.join(receipt_date, receipt_date.c.day == date_of(unmatched.c.received_at))
                     .join(grace, grace.c.ordinal == r_ordinal + context.value(ENTRY_GRACE_DAYS)))
        .where(grace.c.day < context.day)
    )


def _grace_day(context: AuditContext, days: int):
    """The working day `days` after R (a lookup), and whether it is over at T."""
    grace = working_day.alias("grace")
    over = ad.c.receipt_ordinal + days < context.workdays.first_ordinal_from(context.day)
    return grace, grace.c.ordinal == ad.c.receipt_ordinal + days, over


class Late(Rule):
    """Created in the system (NgayTao) on a date later than the entry grace after R. A stream
    dossier's entry time is its first status-2 step; without one it is unknown (created_at NULL)
    and the dossier is skipped (sources.md section 4)."""
    id = "entry.late"
    title = "Hồ sơ tiếp nhận trực tiếp nhưng nhập vào hệ thống muộn"
    action = "Nhập hồ sơ vào hệ thống ngay khi tiếp nhận; rà soát quy trình tại Bộ phận Một cửa."
    urgency = 50
    subject = "dossier"
    needs = frozenset()
    per_source = True
    parameters = (ENTRY_GRACE_DAYS,)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        grace, on, over = _grace_day(context, context.value(ENTRY_GRACE_DAYS))
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure,
                received=ad.c.received_on,
                detail=text_of("Nhận ", moment_text(ad.c.received_at), ", nhập vào hệ thống ",
                               moment_text(ad.c.created_at), "; hạn nhập ", day_text(grace.c.day))))
            .select_from(ad.join(grace, on))
            # At a past T, a record typed in later was not late yet while its grace ran. An unknown
            # entry time (NULL) compares as unknown: no finding.
            .where(over, date_of(ad.c.created_at) > grace.c.day)
        )


class Unsynced(Rule):
    """Not on the portal's dossier list once the sync grace after R has passed."""
    id = "entry.unsynced"
    title = "Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công"
    action = "Kiểm tra kết nối đồng bộ và đồng bộ lại hồ sơ lên Cổng dịch vụ công."
    urgency = 40
    subject = "dossier"
    needs = frozenset({PORTAL_LIST})
    per_source = True
    parameters = (SYNC_GRACE_DAYS,)
    figures_needing_it = ("sync_rate",)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        grace, on, over = _grace_day(context, context.value(SYNC_GRACE_DAYS))
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure,
                received=ad.c.received_on,
                detail=text_of("Nhận ", moment_text(ad.c.received_at),
                               ", chưa đồng bộ lên Cổng dịch vụ công; hạn đồng bộ ", day_text(grace.c.day))))
            .select_from(ad.join(grace, on))
            .where(over, ~ad.c.on_portal)
        )


UNKNOWN_PROCEDURE = "unknown_procedure"


class Invalid(Rule):
    """A record that cannot be trusted as entered; the first reason that applies is given."""
    id = "entry.invalid"
    title = "Dữ liệu hồ sơ trên hệ thống không hợp lệ"
    action = "Sửa dữ liệu hồ sơ trên hệ thống (mã thủ tục, ngày kết thúc xử lý, ngày trả kết quả)."
    urgency = 80
    subject = "dossier"
    needs = frozenset()
    per_source = True

    def parts(self, book_sources: tuple[str, ...]) -> dict[str, frozenset[str]]:
        return {UNKNOWN_PROCEDURE: frozenset({CATALOGUE})}

    def part_title(self, part: str) -> str:
        return "phần kiểm tra mã thủ tục" if part == UNKNOWN_PROCEDURE else super().part_title(part)

    def findings(self, context: AuditContext, parts: frozenset[str]) -> Select:
        reasons = [
            (and_(ad.c.status.in_(FINISHED_STATUSES), ad.c.finished_at.is_(None)), "missing_finish_date",
             text_of("Trạng thái ", ad.c.status, " nhưng thiếu ngày kết thúc xử lý (NgayKetThucXuLy)")),
            (and_(ad.c.status == 10, ad.c.returned_at.is_(None)), "missing_return_date",
             text_of("Trạng thái 10 nhưng thiếu ngày trả kết quả (NgayTra)")),
            (ad.c.finished_at < ad.c.received_at, "finish_before_receipt",
             text_of("Ngày kết thúc xử lý ", moment_text(ad.c.finished_at), " trước ngày tiếp nhận ",
                     moment_text(ad.c.received_at))),
        ]
        if UNKNOWN_PROCEDURE in parts:  # without the catalogue, the next reason that applies is used
            reasons.insert(0, (~ad.c.known_procedure, UNKNOWN_PROCEDURE,
                               text_of("Mã thủ tục ", ad.c.procedure, " không có trong danh mục thủ tục hành chính")))
        reason = case(*((condition, literal(name, String)) for condition, name, _ in reasons))
        return (
            select(*finding(
                self.id, subject=ad.c.code, agency=ad.c.agency, procedure=ad.c.procedure, reason=reason,
                received=ad.c.received_on,
                parts=case((reason == UNKNOWN_PROCEDURE, literal(UNKNOWN_PROCEDURE, String)),
                           else_=literal("", String)),
                detail=case(*((condition, detail) for condition, _, detail in reasons))))
            .where(reason.is_not(None))
        )
