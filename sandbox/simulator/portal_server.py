"""The province's public-service portal: the procedure catalogue and the list of synchronised
dossiers, as HTML pages (sources.md, section 2).

Faults it can show: HTTP 5xx, a connection dropped mid-answer, a page cut off mid-table, new
dossiers pushing the list down a page during a crawl, odd markup, and text in NFD.
"""

import unicodedata
from urllib.parse import urlencode

from sandbox.simulator.faults import Faults
from sandbox.simulator.portal_pages import (
    catalogue_page,
    dossier_list_page,
    error_page,
    procedure_page,
)
from sandbox.simulator.province import Province
from sandbox.simulator.serving import HTML, Answer, LoopbackServer, Request

CATALOGUE = "/thu-tuc-hanh-chinh"
DOSSIER_LIST = "/tra-cuu-ho-so"


class PortalServer(LoopbackServer):
    failures = ("server_error", "dropped_connection", "truncated_page")

    def __init__(self, province: Province, *, faults: Faults = Faults(), page_size: int = 50,
                 host: str = "127.0.0.1", port: int = 0):
        super().__init__(faults, host, port)
        self.province = province
        self.page_size = page_size

    def request_key(self, request: Request) -> str:
        return f"{request.path}?{urlencode(sorted(request.query.items()))}"

    def answer(self, request: Request) -> Answer:
        if request.method != "GET":
            return self._html(error_page(405, "Phương thức không được hỗ trợ"), 405)
        if request.path.startswith(CATALOGUE + "/"):
            return self._procedure(request.path.removeprefix(CATALOGUE + "/"))
        if request.path not in (CATALOGUE, DOSSIER_LIST):
            return self._html(error_page(404, "Không tìm thấy trang"), 404)
        page = request.query.get("trang", "1")
        if not (page.isdigit() and int(page) >= 1):
            return self._html(error_page(400, "Tham số không hợp lệ"), 400)
        if request.path == CATALOGUE:
            return self._catalogue(int(page))
        return self._dossier_list(int(page))

    def _catalogue(self, page: int) -> Answer:
        procedures = sorted(self.province.procedures, key=lambda p: p.code)
        first = (page - 1) * self.page_size
        rows = [(p, self.province.agency(p.agency)) for p in procedures[first:first + self.page_size]]
        has_next = len(procedures) > first + self.page_size
        return self._html(catalogue_page(rows, page, has_next, odd=self.faults.odd_markup))

    def _procedure(self, code: str) -> Answer:
        procedure = self.province.procedure(code)
        if procedure is None or procedure.code != code:
            return self._html(error_page(404, "Không tìm thấy thủ tục"), 404)
        agency = self.province.agency(procedure.agency)
        return self._html(procedure_page(procedure, agency, odd=self.faults.odd_markup))

    def _dossier_list(self, page: int) -> Answer:
        store = self.province.dossiers
        with store.lock:
            if page > 1 and (rng := self.dice.change("pushed_rows")):
                # Applicants submit online while the list is read: new rows at the top push
                # every row down, so a crawl by page number sees some rows twice.
                for _ in range(rng.randint(1, 3)):
                    self.province.submit_online_dossier(rng)
            first = (page - 1) * self.page_size
            rows = store.portal_slice(first, first + self.page_size)
            has_next = store.portal_count() > first + self.page_size
        return self._html(dossier_list_page(rows, page, has_next, odd=self.faults.odd_markup))

    def _html(self, page: str, status: int = 200) -> Answer:
        if self.faults.nfd_text:
            page = unicodedata.normalize("NFD", page)
        return Answer(status, HTML, page.encode())
