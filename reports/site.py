"""`motcua report --output DIR`: the reports of a period as a small static site.

An index of the agencies, one page per agency (the agency report, with every breach listed),
the province summary, and the province workbook. Plain HTML with inline styles, no script:
it opens from the disk or from any web server.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from reports.content import ReportBuilder
from reports.periods import ReportPeriod
from reports.render import render

INDEX = "index.html"
PROVINCE_PAGE = "tong-hop.html"


@dataclass(frozen=True)
class Site:
    index: Path
    workbook: Path
    pages: int


def write_site(folder: Path, builder: ReportBuilder, period: ReportPeriod) -> Site:
    folder.mkdir(parents=True, exist_ok=True)
    # "New" on the site means new in the period: it has no previous report to compare with.
    since = datetime.combine(period.start, time())
    agencies = [builder.agency_report(code, period, since) for code in builder.agencies(period)]
    province = builder.province_report(period, since)
    pages = {report.agency_code: page_name(report.agency_code) for report in agencies}

    for report in agencies:
        _write(folder / pages[report.agency_code], render("site/agency.html.j2", report=report, limit=None))
    _write(folder / PROVINCE_PAGE, render("site/province.html.j2", report=province, pages=pages))
    workbook = folder / f"vi-pham-toan-tinh-{period.label}.xlsx"
    workbook.write_bytes(builder.workbook(period))
    _write(folder / INDEX, render("site/index.html.j2", province=province, agencies=agencies, pages=pages,
                                  workbook=workbook.name))
    return Site(index=folder / INDEX, workbook=workbook, pages=len(agencies) + 2)


def page_name(agency_code: str) -> str:
    """A file name from an agency code (codes are dots and letters, but a name never trusts data)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", agency_code) + ".html"


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
