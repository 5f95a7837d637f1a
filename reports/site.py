"""`motcua report --output DIR`: the reports of a period as a small static site.

An index of the agencies, one page per agency (the agency report, with every breach listed),
the province summary, and the province workbook. Plain HTML with inline styles, no script:
it opens from the disk or from any web server.

The site's own pages have fixed names; an agency's page is `don-vi-` and a stem of its code
(reports/safe_text.py) that no other code gives, even on a file system that ignores case. No
fixed name begins with `don-vi-`, so an agency coded `index` or `tong-hop` cannot replace them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from monitor.outputs import OutputFolder
from reports.content import ReportBuilder
from reports.periods import ReportPeriod
from reports.render import render
from reports.safe_text import distinct_file_stem

INDEX = "index.html"
PROVINCE_PAGE = "tong-hop.html"
AGENCY_PAGE_PREFIX = "don-vi-"


@dataclass(frozen=True)
class Site:
    index: Path
    workbook: Path
    pages: int


def write_site(folder: OutputFolder, builder: ReportBuilder, period: ReportPeriod) -> Site:
    # "New" on the site means new in the period: it has no previous report to compare with.
    since = datetime.combine(period.start, time())
    agencies = [builder.agency_report(code, period, since) for code in builder.agencies(period)]
    province = builder.province_report(period, since)
    pages = {report.agency_code: page_name(report.agency_code) for report in agencies}

    for report in agencies:
        folder.write(pages[report.agency_code], render("site/agency.html.j2", report=report, limit=None))
    folder.write(PROVINCE_PAGE, render("site/province.html.j2", report=province, pages=pages))
    workbook = folder.write(f"vi-pham-toan-tinh-{period.label}.xlsx", builder.workbook(period))
    index = folder.write(INDEX, render("site/index.html.j2", province=province, agencies=agencies, pages=pages,
                                       workbook=workbook.name))
    return Site(index=index, workbook=workbook, pages=len(agencies) + 2)


def page_name(agency_code: str) -> str:
    """The file name of an agency's page: never a fixed page's, never another agency's."""
    return f"{AGENCY_PAGE_PREFIX}{distinct_file_stem(agency_code)}.html"
