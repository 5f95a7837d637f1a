"""The public-service portal's HTML pages (sources.md, section 2).

Plain pages are written exactly as the samples. With `odd=True` they carry the markup a parser
has not seen: extra columns, classes and attributes, <span>s around every value, the first
column moved last, detail rows in another order with extra rows, a "previous page" link.
"""

from collections.abc import Callable, Sequence
from html import escape

from sandbox.simulator.catalogue import Agency, Procedure
from sandbox.simulator.dossier import Dossier

CHANNELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính"}
STATUSES = {
    1: "Mới đăng ký", 2: "Đã tiếp nhận", 3: "Từ chối tiếp nhận", 4: "Đang xử lý",
    5: "Chờ bổ sung", 6: "Chờ thực hiện nghĩa vụ tài chính", 7: "Công dân rút hồ sơ",
    8: "Dừng xử lý", 9: "Đã xử lý xong", 10: "Đã trả kết quả",
}
EXTRA_DETAIL_ROWS = (
    ("Cách thức thực hiện", "Trực tiếp; Trực tuyến; Dịch vụ bưu chính công ích"),
    ("Căn cứ pháp lý", "Luật Ban hành văn bản quy phạm pháp luật"),
)

Column = tuple[str, Callable[[object], str]]  # header, inner HTML of a row's cell


def catalogue_page(procedures: Sequence[tuple[Procedure, Agency]], page: int, has_next: bool,
                   *, odd: bool = False) -> str:
    """A page of the procedure catalogue; a row per (procedure, the agency that handles it)."""
    columns: list[Column] = [
        ("Mã thủ tục", lambda row: escape(row[0].code)),
        ("Tên thủ tục", lambda row: f'<a href="/thu-tuc-hanh-chinh/{escape(row[0].code)}">'
                                    f"{escape(row[0].name)}</a>"),
        ("Lĩnh vực", lambda row: escape(row[0].field)),
        ("Cơ quan thực hiện", lambda row: escape(row[1].name)),
    ]
    table = _table("danh-sach-thu-tuc", columns, procedures, odd)
    pages = _pages("nav", "?trang=", "Trang sau »", page, has_next, odd)
    return _page("Thủ tục hành chính", "Danh sách thủ tục hành chính", f"{table}\n{pages}")


def procedure_page(procedure: Procedure, agency: Agency, *, odd: bool = False) -> str:
    """A procedure's detail page: label / value rows, without the label it is missing."""
    rows = [
        ("Mã thủ tục", procedure.code),
        ("Tên thủ tục", procedure.name),
        ("Lĩnh vực", procedure.field),
        ("Cơ quan thực hiện", f"{agency.name} ({agency.code})"),
        ("Thời hạn giải quyết", procedure.time_limit_text),
        ("Phí, lệ phí", procedure.fee_text),
        ("Mức độ dịch vụ công trực tuyến", procedure.level),
        ("Đủ điều kiện cung cấp toàn trình", _yes_no(procedure.full_online_eligible)),
        ("Thanh toán trực tuyến", _yes_no(procedure.online_payment)),
    ]
    rows = [row for row in rows if row[0] != procedure.missing_label]
    if odd:
        rows = list(reversed(rows)) + list(EXTRA_DETAIL_ROWS)
        lines = "".join(
            f'<tr class="dong-{i % 2}"><th scope="row" class="nhan">\n  <span>{escape(label)}</span>\n</th>'
            f'<td class="gia-tri" data-nhan="{escape(label)}"><div class="noi-dung">'
            f'<span class="v">{escape(value)}</span></div></td></tr>\n'
            for i, (label, value) in enumerate(rows))
        table = (f'<table id="chi-tiet" class="table table-striped thong-tin-thu-tuc" '
                 f'data-ma="{escape(procedure.code)}">\n<tbody>\n{lines}</tbody></table>')
    else:
        lines = "".join(f'<tr><th>{escape(label)}</th><td><span class="v">{escape(value)}</span></td></tr>\n'
                        for label, value in rows)
        table = f'<table class="thong-tin-thu-tuc">\n{lines}</table>'
    return _page(procedure.name, procedure.name, table)


def dossier_list_page(dossiers: Sequence[Dossier], page: int, has_next: bool,
                      *, odd: bool = False) -> str:
    """A page of the synchronised dossiers, newest first."""
    columns: list[Column] = [
        ("Mã hồ sơ", lambda d: f"<span>{escape(d.code)}</span>"),
        ("Mã thủ tục", lambda d: escape(d.procedure_code.split(".000.")[0])),
        ("Đơn vị", lambda d: escape(d.agency)),
        ("Kênh", lambda d: CHANNELS[d.channel]),
        ("Ngày nộp", lambda d: f"{d.listed_at:%d/%m/%Y %H:%M}"),
        ("Trạng thái", lambda d: STATUSES[d.status]),
    ]
    table = _table("danh-sach-ho-so", columns, dossiers, odd)
    pages = _pages("div", "/tra-cuu-ho-so?trang=", "Trang sau", page, has_next, odd)
    return _page("Tra cứu hồ sơ", "Tra cứu hồ sơ", f"{table}\n{pages}")


def error_page(status: int, message: str) -> str:
    return _page(f"{status} {message}", message, f"<p>{escape(message)}</p>")


def _page(title: str, heading: str, content: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n"
        '<body><header class="top"><a href="/">Cổng Dịch vụ công tỉnh</a></header><main>\n'
        f"<h1>{escape(heading)}</h1>\n{content}\n"
        "</main><footer>© Cổng Dịch vụ công</footer></body></html>\n"
    )


def _table(css_class: str, columns: list[Column], rows: Sequence, odd: bool) -> str:
    if not odd:
        head = "".join(f"<th>{escape(header)}</th>" for header, _ in columns)
        body = "".join("<tr>" + "".join(f"<td>{cell(row)}</td>" for _, cell in columns) + "</tr>\n"
                       for row in rows)
        return f'<table class="{css_class}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>'
    columns = columns[1:] + columns[:1]
    head = "".join(f'<th scope="col" class="text-center">\n  <span class="tieu-de">{escape(header)}</span>\n</th>'
                   for header, _ in columns)
    body = "".join(
        f'<tr class="dong-{i % 2}" data-stt="{i}"><td class="stt">{i}</td>'
        + "".join(f'<td class="align-middle" style="white-space: nowrap">'
                  f'<span class="gia-tri"><span>{cell(row)}</span></span></td>' for _, cell in columns)
        + '<td><a href="#" class="btn btn-sm">Xem</a></td></tr>\n'
        for i, row in enumerate(rows, start=1))
    return (f'<table id="bang-du-lieu" class="table table-bordered {css_class}" data-so-dong="{len(rows)}">\n'
            f'<thead><tr class="tieu-de"><th>STT</th>{head}<th>Thao tác</th></tr></thead>\n'
            f"<tbody>\n{body}</tbody></table>")


def _pages(element: str, href: str, label: str, page: int, has_next: bool, odd: bool) -> str:
    """The paging links: a relative link to the next page, none on the last page."""
    links = []
    if odd and page > 1:
        links.append(f'<a class="trang-truoc" href="{href}{page - 1}">« Trang trước</a>')
    if has_next:
        attributes = 'class="btn trang-sau" title="Trang sau"' if odd else 'class="trang-sau"'
        links.append(f'<a {attributes} href="{href}{page + 1}">{escape(label)}</a>')
    return f'<{element} class="phan-trang">{" ".join(links)}</{element}>'


def _yes_no(flag: bool) -> str:
    return "Có" if flag else "Không"
