"""The public-service portal (kind `portal_html`): its procedure catalogue and its dossier list.

The pages are read as a browser shows them: tables are found by class, columns by their header
text and detail values by their label, so an extra column, attribute or wrapping `<span>` does
not matter. The next page is the link `a.trang-sau`. A page seen twice, or more pages than
`max_pages`, ends the crawl with an error rather than a loop. The whole portal is read on every
run: it has no cursor, and the upserts make a re-read harmless (a row seen twice counts once).
"""
from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from datetime import datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from connectors import validation as check
from connectors.base import Batch, Connector, Rejection, Rows, SourceError, agency_code_in
from connectors.http import HttpClient
from connectors.parsing import (normalize_text, parse_fee, parse_time_limit, parse_vn_datetime,
                                parse_yes_no, strip_province_suffix)
from connectors.validation import BadValue
from monitor.codes import code_key, folded
from monitor.kinds.portal_html import PortalSettings
from monitor.time_limits import TimeLimit, TimeLimitKind
from monitor.models import PortalDossier, Procedure
from monitor.statuses import Channel

log = logging.getLogger(__name__)

CATALOGUE = "/thu-tuc-hanh-chinh?trang=1"
DOSSIER_LIST = "/tra-cuu-ho-so?trang=1"
TOP_UP_PASSES = 3
PAGES_PER_BATCH = 10

# Detail-page labels (sources.md), by the Procedure column their value fills.
LABELS = {
    "code": "Mã thủ tục",
    "name": "Tên thủ tục",
    "field": "Lĩnh vực",
    "agency": "Cơ quan thực hiện",
    "time_limit": "Thời hạn giải quyết",
    "fee": "Phí, lệ phí",
    "service_level": "Mức độ dịch vụ công trực tuyến",
    "full_online_eligible": "Đủ điều kiện cung cấp toàn trình",
    "online_payment": "Thanh toán trực tuyến",
}
CHANNELS = {"trực tiếp": Channel.COUNTER, "trực tuyến": Channel.ONLINE, "bưu chính": Channel.POST}


class PortalConnector(Connector):

    source: PortalSettings

    def __init__(self, source: PortalSettings, synced_at: datetime, http: HttpClient | None = None):
        super().__init__(source, synced_at)
        self.http = http or HttpClient(source)

    def batches(self) -> Iterator[Batch]:
        try:
            yield from self._catalogue()
            yield from self._dossier_list()
        finally:
            self.http.close()

    def _pages(self, first: str) -> Iterator[tuple[str, BeautifulSoup]]:
        """Each page of a list, following `a.trang-sau` from `first`."""
        url = urljoin(self.source.base_url.rstrip("/") + "/", first.lstrip("/"))
        read: set[str] = set()
        while True:
            if url in read:
                raise SourceError(f"{_path(url)} was read before in this crawl: the pages link in a loop")
            if len(read) >= self.source.max_pages:
                raise SourceError(f"more than max_pages = {self.source.max_pages} pages from {_path(first)}")
            read.add(url)
            page = BeautifulSoup(self.http.get_page(url), "html.parser")
            yield url, page
            following = page.find("a", class_="trang-sau", href=True)
            if following is None:
                return
            url = _without_fragment(urljoin(url, following["href"]))

    # --- the catalogue -----------------------------------------------------------------------

    def _catalogue(self) -> Iterator[Batch]:
        read: set[str] = set()
        for url, page in self._pages(CATALOGUE):
            rows, rejected, notices = [], [], []
            for number, cells in _table_rows(page, "danh-sach-thu-tuc", url, needed=("Mã thủ tục", "Tên thủ tục")):
                name_cell = cells.get(folded("Tên thủ tục"))
                link = name_cell.find("a", href=True) if name_cell is not None else None
                try:
                    code = check.code(strip_province_suffix(_column(cells, "Mã thủ tục")), "Mã thủ tục",
                                      Procedure.code, required=False)
                except BadValue as exc:
                    rejected.append(Rejection(f"{_path(url)} row {number}", str(exc), _row_text(cells)))
                    continue
                if not code or link is None:
                    rejected.append(Rejection(f"{_path(url)} row {number}", "a catalogue row without a code or "
                                              "a link to its detail page", _row_text(cells)))
                    continue
                if code in read:
                    continue  # listed twice: the detail is read once
                read.add(code)
                detail_url = _without_fragment(urljoin(url, link["href"]))
                try:
                    procedure = self._procedure(code, cells, detail_url)
                except BadValue as exc:
                    rejected.append(Rejection(f"procedure {code} ({_path(detail_url)})", str(exc)))
                    continue
                if procedure["missing_labels"]:
                    notices.append(f"procedure {code}: its page {_path(detail_url)} lacks "
                                   f"{procedure['missing_labels']}")
                rows.append(procedure)
            yield Batch(records=Rows(Procedure, ("code",), rows), rejected=rejected, notices=notices)

    def _procedure(self, code: str, listed: dict[str, Tag], url: str) -> dict:
        """The procedure as its detail page describes it; a missing label leaves its value None."""
        page = BeautifulSoup(self.http.get_page(url), "html.parser")
        values = _labelled_values(page)
        found = {column: values.get(folded(label)) for column, label in LABELS.items()}
        missing = [label for column, label in LABELS.items() if found[column] is None]
        found = {column: value if value is None else check.clean(value) for column, value in found.items()}
        time_limit, fee = found["time_limit"], found["fee"]
        limit = parse_time_limit(time_limit) if time_limit is not None else None
        if limit is not None and not check.number_fits(limit.amount, Procedure.time_limit_amount):
            limit = TimeLimit(TimeLimitKind.UNKNOWN, None)  # "100000000000 ngày": unknown, as any unreadable one
        return {
            "code": code,
            "name": check.free_text(found["name"] or _column(listed, "Tên thủ tục"), "Tên thủ tục", Procedure.name),
            "field": check.free_text(found["field"] or _column(listed, "Lĩnh vực"), "Lĩnh vực", Procedure.field),
            "agency_code": check.code(agency_code_in(found["agency"]), "Cơ quan thực hiện", Procedure.agency_code,
                                      required=False),
            "time_limit_text": time_limit,
            "time_limit_kind": limit.kind.value if limit is not None else None,
            "time_limit_amount": limit.amount if limit is not None else None,
            "fee_text": fee,
            "fee_status": parse_fee(fee).value if fee is not None else None,
            "service_level": found["service_level"],
            "full_online_eligible": parse_yes_no(found["full_online_eligible"]),
            "online_payment": parse_yes_no(found["online_payment"]),
            "missing_labels": ", ".join(missing) or None,
            "source": self.source.name,
            "synced_at": self.synced_at,
        }

    # --- the dossier list --------------------------------------------------------------------

    def _dossier_list(self) -> Iterator[Batch]:
        seen: set[str] = set()  # code keys of the rows read, taken or rejected: each counts once
        yield from self._dossier_pages(seen, until_nothing_new=False)
        # The list is newest first and live: rows added while it was read now sit at its top.
        # Read from the top again until a page brings nothing new; reading on past page 1 gives
        # time for more to arrive, hence more than one pass. What still escapes, the next run reads.
        for _ in range(TOP_UP_PASSES):
            pages = yield from self._dossier_pages(seen, until_nothing_new=True)
            if pages == 1:
                return

    def _dossier_pages(self, seen: set[str], until_nothing_new: bool) -> Generator[Batch, None, int]:
        """The list's rows, PAGES_PER_BATCH pages a batch (fewer, larger transactions); returns
        how many pages it read. With `until_nothing_new`, it stops after a page without new rows."""
        batch = _dossier_batch()
        pages = 0
        try:
            for url, page in self._pages(DOSSIER_LIST):
                pages += 1
                new = self._read_list_page(url, page, seen, batch)
                if until_nothing_new and not new:
                    break
                if pages % PAGES_PER_BATCH == 0:
                    yield batch
                    batch = _dossier_batch()
        except SourceError:
            yield batch  # a partial read is kept
            raise
        yield batch
        return pages

    def _read_list_page(self, url: str, page: BeautifulSoup, seen: set[str], batch: Batch) -> set[str]:
        """Add a page's rows to `batch`; the code keys it brings that `seen` did not hold."""
        new = set()
        for number, cells in _table_rows(page, "danh-sach-ho-so", url, needed=("Mã hồ sơ",)):
            code = _column(cells, "Mã hồ sơ")
            if not code:
                continue
            if code_key(code) not in seen:
                new.add(code_key(code))
            try:
                batch.records.rows.append(self._portal_dossier(code, cells))
            except BadValue as exc:
                if code_key(code) in new:
                    batch.rejected.append(Rejection(_row_location(url, number, code), str(exc), _row_text(cells)))
        seen |= new
        return new

    def _portal_dossier(self, written_code: str, cells: dict[str, Tag]) -> dict:
        code = check.code(written_code, "Mã hồ sơ", PortalDossier.code)
        channel_text = check.free_text(_column(cells, "Kênh"), "Kênh", PortalDossier.channel_text)
        submitted = _column(cells, "Ngày nộp")
        try:
            submitted_at = parse_vn_datetime(submitted)[0] if submitted else None
        except ValueError as exc:
            raise BadValue(f"Ngày nộp: {exc}") from None
        return {
            "code_key": check.fitting(code_key(code), "Mã hồ sơ", PortalDossier.code_key),
            "code": code,
            "procedure_code": check.code(strip_province_suffix(_column(cells, "Mã thủ tục")), "Mã thủ tục",
                                         PortalDossier.procedure_code, required=False),
            "agency_code": check.code(agency_code_in(_column(cells, "Đơn vị")), "Đơn vị", PortalDossier.agency_code,
                                      required=False),
            "channel": CHANNELS.get(folded(channel_text or "")),
            "channel_text": channel_text,
            "submitted_at": check.moment(submitted_at, "Ngày nộp", self.synced_at),
            "status_text": check.free_text(_column(cells, "Trạng thái"), "Trạng thái", PortalDossier.status_text),
            "source": self.source.name,
            "synced_at": self.synced_at,
        }


def _dossier_batch() -> Batch:
    return Batch(records=Rows(PortalDossier, ("code_key",), []))


def _table_rows(page: BeautifulSoup, css_class: str, url: str,
                needed: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Tag]]]:
    """(row number, cells by folded header text) of the table with this class."""
    table = page.find("table", class_=css_class)
    if table is None:
        raise SourceError(f"{_path(url)} has no table.{css_class}")
    rows = table.find_all("tr")
    header_row = next((row for row in rows if row.find("th")), None)
    headers = [folded(cell.get_text()) for cell in header_row.find_all(["th", "td"])] if header_row else []
    for name in needed:
        if folded(name) not in headers:
            raise SourceError(f"{_path(url)}: table.{css_class} has no column '{name}'")
    for number, row in enumerate((row for row in rows if row is not header_row), start=1):
        yield number, dict(zip(headers, row.find_all(["td", "th"], recursive=False)))


def _column(cells: dict[str, Tag], header: str) -> str:
    """The text of a row's cell under `header`; "" when the table has no such column."""
    return _cell_text(cells.get(folded(header)))


def _labelled_values(page: BeautifulSoup) -> dict[str, str]:
    """A detail page's label -> value rows, labels folded for matching."""
    table = page.find("table", class_="thong-tin-thu-tuc")
    values = {}
    for row in table.find_all("tr") if table is not None else ():
        cells = row.find_all(["th", "td"])
        if len(cells) >= 2:
            values.setdefault(folded(cells[0].get_text()).rstrip(":").rstrip(), _cell_text(cells[1]))
    return values


def _cell_text(cell: Tag | None) -> str:
    return " ".join(normalize_text(cell.get_text()).split()) if cell is not None else ""


def _row_text(cells: dict[str, Tag]) -> str:
    return check.raw(" | ".join(_cell_text(cell) for cell in cells.values()))


def _row_location(url: str, number: int, code: str) -> str:
    """`/tra-cuu-ho-so?trang=3 row 7 (CODE)`, the code only when it is a usable one."""
    try:
        return f"{_path(url)} row {number} ({check.code(code, 'Mã hồ sơ', PortalDossier.code)})"
    except BadValue:
        return f"{_path(url)} row {number}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))
