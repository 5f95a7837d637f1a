"""Reports night after night, on both stores: what each mail compares with the one before it (new,
still open, resolved), what a stale source does to them, who is told the technical error, links,
headers, and that `motcua report --output` and the page it writes say the same.

Three simulated nights over dossiers written directly into the store (tests/audit_helpers.py),
with known changes from one night to the next: a breach appears, one is resolved, one stays.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import select

from audit_helpers import AGENCY, ALL_SOURCES, PORTAL, Store, at, make_settings
from monitor.config import MailSettings, Recipient, ReportSettings
from monitor.db import session_scope
from monitor.models import OutboxMessage
from monitor.pipeline import audit_and_publish, report_stage, run_report
from reports.delivery import due_messages, not_yet_queued
from reports.periods import report_period

HEAD = "giamdoc@example.gov.vn"
OFFICE = "vanphong@example.gov.vn"
OPERATOR = "vanhanh@example.gov.vn"
NIGHTS = [at(20, 2), at(21, 2), at(22, 2)]  # Friday, Saturday, Sunday nights of March 2026
SITE_URL = "https://giamsat.example.gov.vn/bao-cao/"
DOSSIER_URL = "https://motcua.example.gov.vn/ho-so?ma={code}"
CONNECTION_REFUSED = "a connection error (Connection refused) on /tra-cuu-ho-so (gave up after 6 attempts)"


def settings_for(tmp_path: Path, **mail):
    return replace(
        make_settings(sources=ALL_SOURCES),
        path=tmp_path / "config.toml",
        recipients=(Recipient(agency=AGENCY, to=(HEAD,)), Recipient(agency="*", to=(OFFICE,))),
        mail=MailSettings(sender="giamsat@example.gov.vn", **mail),
        report=ReportSettings(site_url=SITE_URL, site_dir=str(tmp_path / "site"), dossier_url=DOSSIER_URL,
                              contact="Văn phòng UBND tỉnh, 0200 3812 345"),
    )


def synced(store: Store, now: datetime, *, portal_error: str | None = None) -> None:
    for source in ALL_SOURCES:
        if source is PORTAL and portal_error:
            store.sync(source, now - timedelta(hours=1), status="failed", error=portal_error)
        else:
            store.sync(source, now - timedelta(hours=1))


def night(engine, settings, now: datetime) -> dict[str, object]:
    """What the nightly run does after its sync: audit, store the snapshot, write the site, queue
    the mails. Each recipient's message of the night, parsed."""
    Path(settings.report.site_dir).mkdir(exist_ok=True)
    due = due_messages(settings, now.date())
    todo = not_yet_queued(engine, due)
    audited = audit_and_publish(engine, settings, now, due, todo, {d.period for d in due})
    report_stage(engine, settings, audited, now)
    with session_scope(engine) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.created_at == now)).all()
        return {row.recipients: message_from_bytes(row.message, policy=default) for row in rows}


def text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html(message) -> str:
    return message.get_body(("html",)).get_content()


@pytest.fixture
def store(engine) -> Store:
    store = Store(engine)
    store.procedure()
    store.dossier("U-1", at(2), status=9, finished_at=at(5), on_portal=False)  # entry.unsynced
    store.dossier("U-2", at(2), status=9, finished_at=at(5), on_portal=False)  # entry.unsynced
    store.portal_row("M-1", at(3))                                              # entry.missing, by the portal
    return store


def test_each_mail_counts_what_is_new_still_open_and_resolved_since_the_last_one(store, engine, tmp_path):
    settings = settings_for(tmp_path)

    synced(store, NIGHTS[0])
    first = night(engine, settings, NIGHTS[0])
    # Night 2: U-1 reaches the portal (resolved); U-3, received long ago, turns up unsynced (new).
    store.portal_row("U-1", at(2), channel="1")
    store.dossier("U-3", at(4), status=9, finished_at=at(6), on_portal=False)
    synced(store, NIGHTS[1])
    second = night(engine, settings, NIGHTS[1])
    # Night 3: U-2 reaches the portal (resolved); U-4 turns up unsynced (new); M-1 and U-3 stay.
    store.portal_row("U-2", at(2), channel="1")
    store.dossier("U-4", at(5), status=9, finished_at=at(9), on_portal=False)
    synced(store, NIGHTS[2])
    third = night(engine, settings, NIGHTS[2])

    assert "- Vi phạm mới (báo cáo đầu tiên): 3\n" in text(first[HEAD])
    assert "- Đang tồn tại, tính đến nay: 3\n" in text(first[HEAD])
    assert "Báo cáo đầu tiên: chưa có gì để so sánh." in text(first[HEAD])

    body = text(second[HEAD])
    assert "- Vi phạm mới từ báo cáo trước (20/03/2026 02:00): 1\n" in body
    assert "- Đã khắc phục từ báo cáo trước (20/03/2026 02:00): 1\n" in body
    assert "- Đang tồn tại, tính đến nay: 3\n" in body
    assert "VI PHẠM MỚI (1)\n" in body and "- U-3: Hồ sơ chưa được đồng bộ" in body
    assert "- U-1: Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công (khắc phục 21/03/2026)" in body
    assert "VI PHẠM CHƯA KHẮC PHỤC (2)" in body

    body = text(third[HEAD])
    assert "- Vi phạm mới từ báo cáo trước (21/03/2026 02:00): 1\n" in body
    assert "- Đã khắc phục từ báo cáo trước (21/03/2026 02:00): 1\n" in body
    assert "- Đang tồn tại, tính đến nay: 3\n" in body
    assert "- U-4: Hồ sơ chưa được đồng bộ" in body and "- U-2: Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công (khắc phục" in body
    assert "- U-1:" not in body  # resolved before the last report: not news any more
    still_open = body[body.index("VI PHẠM CHƯA KHẮC PHỤC (2)"):]
    assert still_open.index("- M-1:") < still_open.index("- U-3:")  # the oldest first
    assert third[HEAD]["Subject"].endswith("báo cáo ngày 21/03/2026 – 1 vi phạm mới, 3 đang tồn tại")

    province = text(third[OFFICE])
    assert "- Vi phạm mới từ báo cáo trước (21/03/2026 02:00): 1\n" in province
    assert "- Đã khắc phục từ báo cáo trước (21/03/2026 02:00): 1\n" in province
    assert "- Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công: 2 / 1 / 1\n" in province


def test_a_stale_source_carries_its_last_known_breaches_forward_and_tells_only_the_operator_why(store, engine,
                                                                                               tmp_path):
    settings = settings_for(tmp_path)
    synced(store, NIGHTS[0])
    night(engine, settings, NIGHTS[0])
    # Night 2: the portal cannot be reached. Its rules are skipped; their breaches stay, unchecked.
    synced(store, NIGHTS[1], portal_error=CONNECTION_REFUSED)
    second = night(engine, settings, NIGHTS[1])

    head = text(second[HEAD])
    assert ("! DỮ LIỆU CHƯA ĐẦY ĐỦ: Chưa kiểm tra được «Hồ sơ chưa được cập nhật vào hệ thống một cửa điện tử "
            "(phần dựa trên Cổng dịch vụ công)» và «Hồ sơ chưa được đồng bộ lên Cổng dịch vụ công» vì không kết nối "
            "được tới Cổng dịch vụ công «cong-dvc»; số liệu dưới đây tính đến 20/03/2026 01:00.") in head
    # The open count does not drop: the three breaches are carried forward and marked.
    assert "- Đang tồn tại, tính đến nay: 3 (3 chưa kiểm tra lại)\n" in head
    assert head.count("CHƯA KIỂM TRA LẠI (nguồn dữ liệu chưa cập nhật; lần kiểm tra cuối 20/03/2026 02:00)") == 3
    assert "Đã khắc phục từ báo cáo trước (20/03/2026 02:00): 0" in head
    for body in (head, visible(html(second[HEAD]))):
        assert "Connection refused" not in body and "entry.unsynced" not in body and "cong-dvc (portal_html)" not in body
    assert "(dữ liệu nguồn chưa đầy đủ)" in second[HEAD]["Subject"]
    # Without [mail] operator, the province office is the operator: its mail has the technical error.
    assert f"cong-dvc (portal_html): {CONNECTION_REFUSED}" in text(second[OFFICE])
    # The site is anyone's to read: it has the sentence and the marks, never the technical error.
    pages = list((tmp_path / "site" / report_period("day", NIGHTS[1].date()).label).glob("*.html"))
    assert pages and all("Connection refused" not in page.read_text(encoding="utf-8") for page in pages)
    assert "Chưa kiểm tra được" in (pages[0].parent / "tong-hop.html").read_text(encoding="utf-8")


def test_with_an_operator_address_only_the_operator_gets_the_technical_error(store, engine, tmp_path):
    settings = settings_for(tmp_path, operator=OPERATOR)
    synced(store, NIGHTS[0])
    first = night(engine, settings, NIGHTS[0])
    assert OPERATOR not in first  # every source fresh: nothing to tell the operator

    synced(store, NIGHTS[1], portal_error=CONNECTION_REFUSED)
    second = night(engine, settings, NIGHTS[1])

    assert f"cong-dvc (portal_html): {CONNECTION_REFUSED}" in text(second[OPERATOR])
    assert second[OPERATOR].get_content_type() == "multipart/alternative"  # no attachment
    for recipient in (HEAD, OFFICE):
        assert "Connection refused" not in text(second[recipient]) + visible(html(second[recipient]))
        assert "Chưa kiểm tra được" in text(second[recipient])


def test_every_breach_and_summary_line_links_to_the_dossier_or_the_site_page_written_for_it(store, engine, tmp_path):
    settings = settings_for(tmp_path)
    store.dossier("U/5&x", at(2), status=9, finished_at=at(5), on_portal=False)  # a code to quote
    synced(store, NIGHTS[0])
    mail = html(night(engine, settings, NIGHTS[0])[HEAD])

    label = report_period("day", NIGHTS[0].date()).label
    assert 'href="https://motcua.example.gov.vn/ho-so?ma=U-1"' in mail
    assert 'href="https://motcua.example.gov.vn/ho-so?ma=U%2F5%26x"' in mail
    page = f"{SITE_URL}{label}/don-vi-{AGENCY}.html"
    assert f'href="{page}"' in mail and f'href="{SITE_URL}{label}/quy-tac-entry.unsynced.html"' in mail
    assert f'href="{SITE_URL}index.html"' in mail and "Liên hệ về báo cáo: Văn phòng UBND tỉnh, 0200 3812 345" in mail
    # Every page a mail links to was written into site_dir, which site_url serves.
    site = tmp_path / "site"
    for href in set(_hrefs(mail)):
        if href.startswith(SITE_URL):
            assert (site / href[len(SITE_URL):].split("#")[0]).is_file(), href


def test_a_mail_says_who_sends_it_that_a_program_made_it_and_whom_to_ask(store, engine, tmp_path):
    settings = settings_for(tmp_path)
    synced(store, NIGHTS[0])
    message = night(engine, settings, NIGHTS[0])[HEAD]

    assert message["From"] == "Hệ thống giám sát một cửa <giamsat@example.gov.vn>"
    assert message["Auto-Submitted"] == "auto-generated" and message["X-Auto-Response-Suppress"] == "All"
    assert "Liên hệ về báo cáo: Văn phòng UBND tỉnh, 0200 3812 345" in text(message)


def test_report_output_prints_the_same_new_count_as_the_page_it_writes(store, engine, tmp_path):
    settings = settings_for(tmp_path)
    synced(store, NIGHTS[0])
    night(engine, settings, NIGHTS[0])
    store.dossier("U-3", at(4), status=9, finished_at=at(6), on_portal=False)
    synced(store, NIGHTS[1])
    night(engine, settings, NIGHTS[1])

    # In the morning the inspector renders the night's period again, with the site.
    later = NIGHTS[1] + timedelta(hours=7)
    outcome = run_report(engine, settings, lambda: later, output=tmp_path / "out")

    [head] = [r.message for r in outcome.rendered if r.due.recipient.agency == AGENCY]
    assert "1 vi phạm mới, 4 đang tồn tại" in str(head["Subject"])
    label = report_period("day", later.date()).label
    page = (tmp_path / "out" / label / f"don-vi-{AGENCY}.html").read_text(encoding="utf-8")
    assert "Vi phạm mới (1)" in page and "Phát hiện sau báo cáo trước (20/03/2026 02:00)" in page


def _hrefs(html_text: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html_text)


def visible(html_text: str) -> str:
    """The text an HTML part shows (tags and their attributes, link targets included, left out)."""
    return re.sub(r"<[^>]+>", "", html_text)
