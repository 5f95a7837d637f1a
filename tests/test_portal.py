"""The portal connector against the simulated portal, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from dataclasses import replace

from sqlmodel import Session, select

from connectors.parsing import parse_fee
from connectors.sync import sync_sources
from monitor.models import PortalDossier, Procedure, RejectedInput
from sandbox.simulator import Faults, PortalServer
from sync_support import clock, portal_source, small_province, sync_runs, write_settings

CHANNELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính"}


class RewritingPortal(PortalServer):
    """The simulated portal with some pages rewritten: `rewrite[path_and_query](html) -> html`."""

    def __init__(self, province, rewrite=None, **kwargs):
        super().__init__(province, page_size=20, **kwargs)
        self.rewrite = rewrite or {}

    def answer(self, request):
        answer = super().answer(request)
        key = request.path + "".join(f"?{name}={value}" for name, value in request.query.items())
        if key in self.rewrite:
            answer = replace(answer, body=self.rewrite[key](answer.body.decode()).encode())
        return answer


def sync(tmp_path, engine, database_url, url, **extra):
    settings = write_settings(tmp_path, database_url, [portal_source(url, **extra)])
    [outcome] = sync_sources(engine, settings, clock)
    return outcome


def stored(engine, table) -> list:
    with Session(engine) as session:
        return list(session.exec(select(table)))


def test_the_catalogue_is_read_from_the_detail_pages(tmp_path, engine, database_url):
    province = small_province()
    with RewritingPortal(province) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url)

    assert outcome.status == "ok"
    procedures = {p.code: p for p in stored(engine, Procedure)}
    assert procedures.keys() == {p.code for p in province.procedures}
    for truth in province.procedures:
        procedure = procedures[truth.code]
        missing = truth.missing_label
        assert (procedure.name, procedure.field, procedure.agency_code) == (truth.name, truth.field, truth.agency)
        assert procedure.missing_labels == missing
        if missing == "Thời hạn giải quyết":
            assert (procedure.time_limit_text, procedure.time_limit_kind, procedure.time_limit_amount) == (None,) * 3
        elif truth.time_limit is None:
            assert (procedure.time_limit_kind, procedure.time_limit_amount) == ("unknown", None)
        else:
            assert procedure.time_limit_kind == truth.time_limit.kind
            assert procedure.time_limit_amount == (truth.time_limit.amount if truth.time_limit.kind != "same_day" else None)
        assert procedure.time_limit_text in (None, truth.time_limit_text.strip())
        assert procedure.fee_status == parse_fee(truth.fee_text).value
        assert (procedure.service_level, procedure.full_online_eligible) == (truth.level, truth.full_online_eligible)
        assert procedure.online_payment == (None if missing == "Thanh toán trực tuyến" else truth.online_payment)
    assert sorted(outcome.notices) == [
        "procedure 1.003596: its page /thu-tuc-hanh-chinh/1.003596 lacks Thanh toán trực tuyến",
        "procedure 1.008004: its page /thu-tuc-hanh-chinh/1.008004 lacks Thời hạn giải quyết"]


def test_the_dossier_list_is_read_page_after_page(tmp_path, engine, database_url):
    province = small_province()
    with RewritingPortal(province) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url)

    rows = {row.code: row for row in stored(engine, PortalDossier)}
    truth = {d.code: d for d in province.dossiers if d.on_portal}
    assert rows.keys() == truth.keys()
    for code, row in rows.items():
        dossier = truth[code]
        assert (row.code_key, row.agency_code, row.procedure_code) == (
            code, dossier.agency, dossier.procedure_code.split(".000.")[0])
        assert (row.channel, row.channel_text) == (str(dossier.channel), CHANNELS[dossier.channel])
        assert row.submitted_at == dossier.listed_at.replace(second=0, microsecond=0)
    assert outcome.counts.read == len(truth) + len(province.procedures)


def test_rows_seen_twice_while_the_list_moves_count_once(tmp_path, engine, database_url):
    province = small_province()
    with RewritingPortal(province, faults=Faults.named(["pushed_rows"], rate=0.5)) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url)

    rows = stored(engine, PortalDossier)
    assert len(rows) == sum(d.on_portal for d in province.dossiers) > 300  # some were pushed in
    assert outcome.counts.read == len(rows) + len(province.procedures)


def test_a_page_linking_back_ends_the_crawl_with_an_error_and_keeps_what_was_read(tmp_path, engine, database_url):
    loop_back = {"/tra-cuu-ho-so?trang=3": lambda html: html.replace("trang=4", "trang=2")}
    with RewritingPortal(small_province(), loop_back) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url)

    assert outcome.status == "failed"
    assert outcome.error == "/tra-cuu-ho-so?trang=2 was read before in this crawl: the pages link in a loop"
    assert len(stored(engine, PortalDossier)) == 60 and len(stored(engine, Procedure)) == 40
    assert sync_runs(engine)[0]["status"] == "failed"


def test_the_page_cap_ends_the_crawl_with_an_error(tmp_path, engine, database_url):
    with RewritingPortal(small_province()) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url, max_pages=2)

    assert outcome.status == "failed"
    assert outcome.error == "more than max_pages = 2 pages from /tra-cuu-ho-so?trang=1"
    assert len(stored(engine, PortalDossier)) == 40 and len(stored(engine, Procedure)) == 40


def test_a_row_with_an_unreadable_date_is_rejected_and_the_rest_is_read(tmp_path, engine, database_url):
    province = small_province()

    def impossible_date(html):
        return re.sub(r"<td>\d\d/\d\d/\d{4} \d\d:\d\d</td>", "<td>31/02/2026 10:00</td>", html, count=1)

    with RewritingPortal(province, {"/tra-cuu-ho-so?trang=1": impossible_date}) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url)

    assert outcome.status == "ok"
    [rejected] = stored(engine, RejectedInput)
    newest = stored(engine, PortalDossier)
    assert rejected.location.startswith("/tra-cuu-ho-so?trang=1 row 1 (")
    assert rejected.reason == "Ngày nộp: impossible date: day is out of range for month"
    assert "31/02/2026 10:00" in rejected.raw
    assert len(newest) == sum(d.on_portal for d in province.dossiers) - 1


def test_a_detail_page_that_fails_fails_the_source(tmp_path, engine, database_url):
    gone = {"/thu-tuc-hanh-chinh/1.002467": lambda html: html.replace("</html>", "")}
    with RewritingPortal(small_province(), gone) as portal:
        outcome = sync(tmp_path, engine, database_url, portal.url, max_retries=1)

    assert outcome.status == "failed"
    assert outcome.error == "a page cut off before </html> on /thu-tuc-hanh-chinh/1.002467 (gave up after 2 attempts)"
    assert sync_runs(engine)[0]["error"] == outcome.error
