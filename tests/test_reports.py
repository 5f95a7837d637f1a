"""The reports: periods, how values are written, what the templates show, the static site and
`motcua report`."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.policy import default

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from monitor import runlock
from monitor.clock import now_local
from monitor.config import load_settings
from monitor.db import init_schema, make_engine, session_scope
from monitor.models import OutboxMessage, ReportFigures, ReportFinding
from monitor.pipeline import audit_and_publish
from nightly_support import HEALTH, JUSTICE, RECIPIENTS, motcua, received_by, simulated_world
from reports.compose import LIST_LIMIT, agency_message, province_message, wire_bytes
from reports.content import (AgencyRank, AgencyReport, Breach, ProvinceReport, RateLine, ReportBuilder, RuleCount,
                             StaleNotice, rank_agencies)
from reports.delivery import due_messages
from reports.periods import recent_periods, report_period
from reports.render import number, percent, render, vn_date, vn_datetime, vnd
from rules.figures import Figures
from rules.publish import mask_name

# --- periods ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, start, end, label, title", [
    ("day", date(2026, 3, 30), date(2026, 3, 30), "2026-03-30", "ngày 30/03/2026"),
    ("week", date(2026, 3, 23), date(2026, 3, 29), "2026-W13", "tuần 23/03 – 29/03/2026"),
    ("month", date(2026, 2, 1), date(2026, 2, 28), "2026-02", "tháng 02/2026"),
    ("quarter", date(2025, 10, 1), date(2025, 12, 31), "2025-Q4", "quý IV/2025"),
])
def test_a_report_covers_the_last_complete_period(kind, start, end, label, title):
    period = report_period(kind, date(2026, 3, 31))  # a Tuesday

    assert (period.start, period.end, period.label, period.title) == (start, end, label, title)


def test_the_day_after_new_year_reports_the_last_day_week_month_and_quarter_of_the_old_year():
    today = date(2026, 1, 1)  # a Thursday

    assert report_period("day", today).start == date(2025, 12, 31)
    assert (report_period("week", today).start, report_period("week", today).end) == (date(2025, 12, 22),
                                                                                     date(2025, 12, 28))
    assert report_period("month", today).label == "2025-12"
    assert report_period("quarter", today).label == "2025-Q4"


def test_on_a_monday_the_week_is_the_one_that_ended_yesterday():
    week = report_period("week", date(2026, 3, 30))

    assert (week.start, week.end) == (date(2026, 3, 23), date(2026, 3, 29))


def test_the_trend_runs_over_the_periods_before_the_last_oldest_first():
    months = recent_periods(report_period("month", date(2026, 3, 31)), 4)

    assert [m.label for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]


# --- how values are written ---------------------------------------------------------------------

@pytest.mark.parametrize("name, masked", [
    ("Nguyễn Văn An", "Nguyễn V. A."),
    ("Trần Thị Ánh Tuyết", "Trần T. Á. T."),
    ("  Lê   Bình ", "Lê B."),
    ("An", "A."),
    ("", ""),
    (None, ""),
])
def test_an_applicant_name_keeps_the_family_name_and_initials(name, masked):
    assert mask_name(name) == masked


def test_a_decomposed_name_is_masked_on_its_whole_first_letters():
    assert mask_name(unicodedata.normalize("NFD", "Đỗ Ánh Ơn")) == "Đỗ Á. Ơ."


def test_values_are_written_the_vietnamese_way():
    assert vn_date(date(2026, 3, 5)) == "05/03/2026"
    assert vn_datetime(datetime(2026, 3, 5, 7, 30)) == "05/03/2026 07:30"
    assert number(1234567) == "1.234.567"
    assert vnd(1500000) == "1.500.000 đ"
    assert percent(0.92727) == "92,7%" and percent(1.0, 0) == "100%"
    assert percent(None) == vn_date(None) == "—"


# --- the templates ------------------------------------------------------------------------------

PERIOD = report_period("day", date(2026, 3, 31))
GENERATED = datetime(2026, 3, 31, 2, 0)
FIGURES = {"agency": HEALTH, "received_total": 120, "received_online": 40, "received_offline": 80,
           "carried_over": 7, "resolved_total": 110, "resolved_early": 90, "resolved_on_time": 12,
           "resolved_late": 8, "in_progress_total": 17, "in_progress_within": 15, "in_progress_overdue": 2,
           "on_time_rate": 102 / 110, "entry_rate": 1.0, "sync_rate": None, "online_payment_rate": 0.5}
STALE = StaleNotice(source="cong-dvc", kind="portal_html", last_success=datetime(2026, 3, 29, 2, 4),
                    reason="HTTP 503 on /tra-cuu-ho-so?trang=4",
                    skipped_rules=("entry.missing:portal", "entry.unsynced"))


def breach(subject: str, rule: str = "ontime.overdue", **fields) -> Breach:
    values = dict(rule=rule, subject=subject, procedure_code="1.001234", procedure_name="Cấp giấy phép hành nghề",
                  applicant="Nguyễn V. A.", due_date=date(2026, 3, 20), days_late=6, detail=None,
                  first_seen=datetime(2026, 3, 25, 2, 0))
    return Breach(**(values | fields))


def agency_report(**fields) -> AgencyReport:
    values = dict(agency_code=HEALTH, agency_name="Sở Y tế", period=PERIOD, generated_at=GENERATED,
                  since=datetime(2026, 3, 30, 2, 0), figures=Figures(**FIGURES), new=[breach("000.00.16.H59-260330-0001")],
                  still_open=[breach("000.00.16.H59-260301-0007")], exempted=[], stale=[])
    return AgencyReport(**(values | fields))


STALE_SENTENCE = ("Chưa kiểm tra được «Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử (phần dựa trên "
                  "Cổng dịch vụ công)» và «Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công» vì Cổng dịch vụ công "
                  "«cong-dvc» đang gặp sự cố; số liệu dưới đây tính đến 29/03/2026 02:04.")


def test_a_stale_source_is_one_vietnamese_sentence_at_the_top_of_an_agency_report_without_technical_text():
    report = agency_report(stale=[STALE])

    for template in ("agency.html.j2", "agency.txt.j2"):
        body = render(template, report=report, limit=None)
        notice = body.index(STALE_SENTENCE)
        assert notice < body.index("So với báo cáo trước".upper() if "txt" in template else "So với báo cáo trước")
        assert notice < body.index("000.00.16.H59-260330-0001")
        # No English error, no rule id: those go to the operator.
        assert "HTTP 503" not in body and "entry.unsynced" not in body and "tra-cuu-ho-so" not in body


@pytest.mark.parametrize("reason, cause", [
    ("a connection error (Connection refused) on LayPhien (gave up after 6 attempts)",
     "không kết nối được tới hệ thống một cửa điện tử «motcua»"),
    ("a time-out on LayDanhSachHoSo (gave up after 6 attempts)", "không kết nối được tới hệ thống một cửa điện tử «motcua»"),
    ("log-in refused by http://x/api: sai mật khẩu", "hệ thống một cửa điện tử «motcua» từ chối đăng nhập của hệ thống giám sát"),
    ("HTTP 503 on /api (gave up after 6 attempts)", "hệ thống một cửa điện tử «motcua» đang gặp sự cố"),
    ("never synced successfully", "chưa lấy được dữ liệu từ hệ thống một cửa điện tử «motcua» lần nào"),
    ("the last successful sync is older than 36 hours",
     "dữ liệu từ hệ thống một cửa điện tử «motcua» đã hơn 36 giờ chưa được cập nhật"),
])
def test_the_stale_sentence_names_the_cause_in_words_and_as_of_when_the_figures_are(reason, cause):
    skipped = ("entry.missing", "entry.late", "entry.unsynced", "entry.invalid", "ontime.late", "ontime.overdue",
               "ontime.due_date_padded", "ontime.no_apology", "payment.offline")
    notice = StaleNotice(source="motcua", kind="onestop_api", last_success=datetime(2026, 3, 30, 2, 4),
                         reason=reason, skipped_rules=skipped)

    assert notice.sentence == (
        "Chưa kiểm tra được 9 loại vi phạm («Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử», «Hồ sơ tiếp "
        f"nhận trực tiếp nhưng nhập vào hệ thống muộn» và 7 loại khác) vì {cause}; số liệu dưới đây tính đến "
        "30/03/2026 02:04.")
    assert notice.technical.startswith(f"motcua (onestop_api): {reason}; last successful sync: 2026-03-30 02:04; "
                                       "skipped: entry.missing, entry.late")


def test_the_technical_error_is_shown_only_where_the_report_is_for_the_operator():
    technical = "cong-dvc (portal_html): HTTP 503 on /tra-cuu-ho-so?trang=4; last successful sync: 2026-03-29 02:04"
    for template in ("agency.html.j2", "agency.txt.j2"):
        assert technical not in render(template, report=agency_report(stale=[STALE]), limit=None)
        shown = render(template, report=agency_report(stale=[STALE], technical=True), limit=None)
        assert technical in shown.replace("&lt;", "<")


def test_the_figures_are_set_against_the_previous_period_the_month_to_date_and_the_target():
    rates = [RateLine("on_time_rate", "Hồ sơ giải quyết đúng hạn", 1.0, current=102 / 110, previous=0.9,
                      to_date=0.95, note=None, trend=((PERIOD.previous(), 0.9), (PERIOD, 102 / 110))),
             RateLine("sync_rate", "Hồ sơ đồng bộ lên Cổng dịch vụ công", 1.0, current=None, previous=1.0,
                      to_date=0.98, note="chưa hết thời hạn đồng bộ")]
    text = render("agency.txt.j2", report=agency_report(rates=rates), limit=None)

    assert ("- Hồ sơ giải quyết đúng hạn: kỳ này (30/03) 92,7% – CHƯA ĐẠT; kỳ trước (29/03) 90,0%; "
            "từ đầu tháng (01/03–30/03) 95,0%; chỉ tiêu 100%\n"
            "  Xu hướng: 29/03 90,0% · 30/03 92,7%\n") in text
    assert ("- Hồ sơ đồng bộ lên Cổng dịch vụ công: kỳ này (30/03) — (chưa hết thời hạn đồng bộ); kỳ trước (29/03) "
            "100,0%; từ đầu tháng (01/03–30/03) 98,0%; chỉ tiêu 100%\n") in text
    html = render("agency.html.j2", report=agency_report(rates=rates), limit=None)
    assert "Kỳ này: chưa hết thời hạn đồng bộ." in html and "So với kỳ trước: +2,7 điểm." in html
    # The trend is an inline SVG: no script, no image to fetch.
    assert html.count("<svg") == 1 and "<script" not in html and "<img" not in html


def test_every_count_says_which_period_it_is_of():
    text = render("agency.txt.j2", report=agency_report(), limit=None)

    assert "- Vi phạm mới từ báo cáo trước (30/03/2026 02:00): 1\n" in text
    assert "- Đã khắc phục từ báo cáo trước (30/03/2026 02:00): 0\n" in text
    assert "- Đang tồn tại, tính đến nay: 2\n" in text
    assert "TÌNH HÌNH GIẢI QUYẾT HỒ SƠ NGÀY 30/03/2026" in text and "VI PHẠM ĐANG TỒN TẠI THEO LOẠI, TÍNH ĐẾN NAY" in text


def test_each_breach_shows_its_dossier_procedure_due_date_lateness_and_what_to_do():
    text = render("agency.txt.j2", report=agency_report(), limit=None)

    assert ("- 000.00.16.H59-260330-0001: Hồ sơ đang giải quyết đã quá hạn\n"
            "  Thủ tục: 1.001234 – Cấp giấy phép hành nghề\n"
            "  Hạn giải quyết: 20/03/2026; trễ 6 ngày làm việc\n"
            "  Người nộp: Nguyễn V. A.\n"
            "  Cần làm: Khẩn trương giải quyết; gửi văn bản xin lỗi và hẹn lại ngày trả kết quả.\n") in text


def test_new_breaches_come_before_the_ones_still_open_and_exempted_ones_apart():
    report = agency_report(exempted=[breach("1.009999", rule="service.not_full_online", due_date=None,
                                            exemption="Đang nâng cấp phần mềm (đến hết ngày 30/04/2026)")])
    text = render("agency.txt.j2", report=report, limit=None)

    new, still_open, exempted = (text.index("VI PHẠM MỚI (1)"), text.index("VI PHẠM CHƯA KHẮC PHỤC (1)"),
                                 text.index("ĐƯỢC MIỄN TRỪ (1)"))
    assert new < text.index("260330-0001") < still_open < text.index("260301-0007") < exempted
    assert "Lý do miễn trừ: Đang nâng cấp phần mềm (đến hết ngày 30/04/2026)" in text[exempted:]


def test_a_long_list_in_a_mail_stops_at_the_limit_and_points_to_the_attachment():
    many = [breach(f"000.00.16.H59-260301-{n:04d}") for n in range(LIST_LIMIT + 3)]
    message = agency_message(agency_report(new=many, still_open=[]), sender="giamsat@example.gov.vn",
                             to=["a@example.gov.vn"], workbook=b"xlsx")

    html = message.get_body(("html",)).get_content()
    assert html.count("000.00.16.H59-260301-") == LIST_LIMIT
    assert f"… và {3} vi phạm khác: xem tệp Excel đính kèm." in html


def ranked(code: str, name: str, early: int, on_time: int, late: int, overdue: int, open_breaches: int = 0) -> AgencyRank:
    resolved = early + on_time + late
    figures = Figures(**dict(FIGURES, agency=code, resolved_total=resolved, resolved_early=early,
                             resolved_on_time=on_time, resolved_late=late, in_progress_overdue=overdue,
                             in_progress_within=0, in_progress_total=overdue, received_total=resolved + overdue,
                             carried_over=0))
    return AgencyRank(None, code, name, figures, open_breaches)


def test_the_ranking_counts_overdue_dossiers_against_an_agency_and_ranks_only_those_with_enough_dossiers():
    rows = [
        ranked("A", "Sở A", early=18, on_time=0, late=2, overdue=0),     # 18/20 = 90,0%
        ranked("B", "Sở B", early=30, on_time=0, late=0, overdue=10),    # 30/40 = 75,0%: its backlog counts
        ranked("C", "Sở C", early=5, on_time=0, late=0, overdue=0),      # 5 due: 100%, but too few to rank
        ranked("D", "Sở D", early=27, on_time=0, late=3, overdue=0),     # 27/30 = 90,0%: tied with A
        ranked("E", "Sở E", early=19, on_time=1, late=0, overdue=0),     # 20/20 = 100%, just enough
    ]

    ranking = rank_agencies(rows, min_dossiers=20)

    assert [(r.agency_code, r.rank, r.tied) for r in ranking] == [
        ("E", 1, False), ("A", 2, True), ("D", 2, True), ("B", 4, False), ("C", None, False)]
    assert [round(r.score, 3) for r in ranking[:4]] == [1.0, 0.9, 0.9, 0.75] and ranking[4].due == 5


def test_rates_that_differ_below_what_is_shown_are_a_tie():
    # 2/3 = 66,67% and 667/1000 = 66,70% are both shown as 66,7%.
    ranking = rank_agencies([ranked("A", "Sở A", early=2, on_time=0, late=1, overdue=0),
                             ranked("B", "Sở B", early=667, on_time=0, late=333, overdue=0)], min_dossiers=1)

    assert [(r.rank, r.tied) for r in ranking] == [(1, True), (1, True)]


def province_report(**fields) -> ProvinceReport:
    values = dict(period=PERIOD, generated_at=GENERATED, since=None, figures=Figures(**dict(FIGURES, agency="*")),
                  ranking=rank_agencies([ranked(HEALTH, "Sở Y tế", 18, 0, 2, 0, 3), ranked(JUSTICE, "Sở Tư pháp", 27, 0, 3, 0),
                                         ranked("000.00.12.H59", "Sở Nội vụ", 4, 0, 0, 0)], 20),
                  trend=[], rules=[RuleCount("ontime.overdue", "Hồ sơ đang giải quyết đã quá hạn", 3, 1, 0, 2)],
                  stale=[STALE], ranking_window=PERIOD.to_date(), ranking_min_dossiers=20)
    return ProvinceReport(**(values | fields))


def test_the_province_summary_shows_ties_as_ties_and_lists_the_agencies_too_small_to_rank():
    text = render("province.txt.j2", report=province_report())

    assert ("Theo tỷ lệ hồ sơ đến hạn được giải quyết đúng hạn từ 01/03 đến 30/03/2026; chỉ đơn vị có từ 20 hồ sơ "
            "đến hạn; «=» là đồng hạng.\n"
            "=1. Sở Tư pháp (000.00.31.H59): 90,0% (27/30 hồ sơ), 0 vi phạm\n"
            "=1. Sở Y tế (000.00.16.H59): 90,0% (18/20 hồ sơ), 3 vi phạm\n"
            "Chưa xếp hạng: Sở Nội vụ (4 hồ sơ).\n") in text
    html = render("province.html.j2", report=province_report())
    assert "<script" not in html and "Chưa xếp hạng (dưới 20 hồ sơ đến hạn" in html


def test_the_province_summary_carries_the_technical_error_only_when_it_goes_to_the_operator():
    assert "HTTP 503" not in render("province.html.j2", report=province_report())
    for template in ("province.html.j2", "province.txt.j2"):
        shown = render(template, report=province_report(technical=True))
        assert STALE_SENTENCE in shown and "cong-dvc (portal_html): HTTP 503 on /tra-cuu-ho-so?trang=4" in shown


def test_the_mail_is_html_with_a_text_alternative_and_the_workbook_attached():
    message = province_message(
        ProvinceReport(period=PERIOD, generated_at=GENERATED, since=None, figures=None, ranking=[], trend=[],
                       rules=[], stale=[]),
        sender="giamsat@example.gov.vn", to=["vanphong.ubnd@example.gov.vn"], workbook=b"PK-xlsx")

    parsed = message_from_bytes(wire_bytes(message), policy=default)
    assert parsed["Subject"] == ("[Giám sát một cửa] Tổng hợp toàn tỉnh: báo cáo ngày 30/03/2026 – "
                                 "0 vi phạm mới, 0 đang tồn tại")
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    [attachment] = parsed.iter_attachments()
    assert (attachment.get_filename(), attachment.get_content()) == ("vi-pham-toan-tinh-2026-03-30.xlsx", b"PK-xlsx")


# --- `motcua report`, on the simulated province --------------------------------------------------

@pytest.fixture
def world(tmp_path, monkeypatch, database_url):
    # On the real clock, as the command line reads it, so that yesterday has dossiers.
    with simulated_world(tmp_path, monkeypatch, now_local()) as world:
        world.database_url = database_url
        engine = make_engine(database_url)
        init_schema(engine)
        world.engine = engine
        assert motcua("sync", "--config", str(world.config(database_url))).returncode == 0
        yield world
        engine.dispose()


def outbox(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.scalars(select(OutboxMessage)))


def test_report_without_send_renders_and_neither_queues_nor_sends(world):
    done = motcua("report", "--config", str(world.config(world.database_url)))

    assert done.returncode == 0, done.stderr
    assert f"{RECIPIENTS[HEALTH]}: [Giám sát một cửa] Sở Y tế: báo cáo ngày " in done.stdout
    assert outbox(world.engine) == [] and world.mailbox.received == []


def test_report_dry_run_writes_one_eml_per_recipient_and_sends_nothing(world, tmp_path):
    done = motcua("report", "--dry-run", "--send", "--output", str(tmp_path / "preview"),
                  "--config", str(world.config(world.database_url)))

    assert done.returncode == 0, done.stderr
    written = sorted((tmp_path / "preview" / "mail").glob("*.eml"))
    assert len(written) == len(RECIPIENTS)
    assert {message_from_bytes(p.read_bytes(), policy=default)["To"] for p in written} == set(RECIPIENTS.values())
    assert outbox(world.engine) == [] and world.mailbox.received == []


def test_report_send_mails_each_recipient_once_per_period(world):
    config = str(world.config(world.database_url))

    first = motcua("report", "--send", "--period", "week", "--config", config)
    second = motcua("report", "--send", "--period", "week", "--config", config)

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "queued 3 messages (0 were queued before); outbox: 3 sent" in first.stdout
    assert "queued 0 messages (3 were queued before); outbox: 0 sent" in second.stdout
    messages = received_by(world.mailbox)
    assert sorted(messages) == sorted(RECIPIENTS.values()) and all(len(m) == 1 for m in messages.values())
    assert all(" báo cáo tuần " in m[0]["Subject"] for m in messages.values())


def test_report_output_writes_a_static_site_with_a_page_per_agency(world, tmp_path):
    done = motcua("report", "--output", str(tmp_path / "site"), "--config", str(world.config(world.database_url)))

    assert done.returncode == 0, done.stderr
    label = report_period("day", now_local().date()).label
    archive = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert f'href="{label}/index.html"' in archive and f'href="{label}/tong-hop.html"' in archive
    site = tmp_path / "site" / label
    index = (site / "index.html").read_text(encoding="utf-8")
    pages = sorted(p.name for p in site.glob("don-vi-000.*.html"))
    assert pages and all(f'href="{page}"' in index for page in pages)
    assert 'href="tong-hop.html"' in index and (site / "tong-hop.html").exists()
    assert (site / "quy-tac.html").exists() and (site / "thu-tuc.html").exists()
    health = (site / f"don-vi-{HEALTH}.html").read_text(encoding="utf-8")
    assert "Sở Y tế" in health and 'href="index.html"' in health and "&lt;script&gt;" in health
    [workbook] = site.glob("*.xlsx")
    assert openpyxl.load_workbook(workbook).sheetnames == ["Thống kê", "Vi phạm"]


def test_report_send_does_nothing_while_a_nightly_run_holds_the_lock(world):
    assert runlock.acquire(world.engine, runlock.NIGHTLY, "may-chu-khac:4242:0", now_local())

    done = motcua("report", "--send", "--config", str(world.config(world.database_url)))

    assert done.returncode == 5
    assert "another run holds the nightly lock (may-chu-khac:4242:0, since " in done.stderr
    assert outbox(world.engine) == [] and world.mailbox.received == []


def test_a_report_reads_only_what_the_audit_stage_stored(world):
    settings = load_settings(world.config(world.database_url))
    now = now_local()
    due = due_messages(settings, now.date())
    first = audit_and_publish(world.engine, settings, now - timedelta(days=1, seconds=1), due, due)
    second = audit_and_publish(world.engine, settings, now, due, due)
    period = report_period("day", now.date())
    report = ReportBuilder(world.engine, second.snapshot, now).agency_report(HEALTH, period, None)
    province = ReportBuilder(world.engine, second.snapshot, now).province_report(period, None)
    with session_scope(world.engine) as session:
        kept = {table: session.scalar(select(func.count()).select_from(table)
                                      .where(table.snapshot_id == first.snapshot))
                for table in (ReportFinding, ReportFigures)}
    # A snapshot older than a day keeps its figures as of its moment, for trends; nothing else.
    assert kept == {ReportFinding: 0, ReportFigures: len(first.audit.figures)}

    # Without a single row of the sources, the engine or the history, the same reports come out.
    with world.engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if not table.name.startswith("report_"):
                connection.execute(table.delete())
    builder = ReportBuilder(world.engine, second.snapshot, now)
    assert builder.agency_report(HEALTH, period, None) == report
    assert builder.province_report(period, None) == province
    assert report.new and report.figures and any(b.applicant for b in report.new)
    assert len(province.trend) == 7 and province.ranking
