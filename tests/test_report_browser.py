"""The mails and the site in a real browser: Debian's Chromium, driven by Playwright.

At a desktop width (1280 px) and a phone's (390 px), no element of the agency mail, the province
mail or any page of the site is wider than its box; every link inside the site names a page the
site has; a table sorts and filters without a server. Chromium is the system's (`.ci/run`
installs it when it is missing); Playwright never downloads a browser of its own.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sqlmodel import SQLModel

from audit_helpers import AGENCY, Store, at
from monitor.db import make_engine
from monitor.models import Agency
from test_report_nights import (CONNECTION_REFUSED, DOSSIER_URL, HEAD, NIGHTS, OFFICE, SITE_URL, html, night,
                                settings_for, synced)

CHROMIUM = Path(os.environ.get("MOTCUA_CHROMIUM", "/usr/bin/chromium"))
WIDTHS = (1280, 390)
BUDGET_SECONDS = 60

# Every element whose content is wider than its own box, and the document itself: a page that
# scrolls sideways on a phone, or a table that spills out of the column.
OVERFLOWING = """() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    found.push(`the document: ${root.scrollWidth} > ${root.clientWidth}`);
  }
  for (const element of document.body.querySelectorAll("*")) {
    if (element.closest("svg") && element.tagName.toLowerCase() !== "svg") continue;
    const style = getComputedStyle(element);
    if (style.display === "inline" || style.display === "none" || style.display === "contents") continue;
    const box = element.getBoundingClientRect();
    const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
      + " «" + (element.textContent || "").trim().slice(0, 40) + "»";
    if (element.clientWidth > 0 && element.scrollWidth > element.clientWidth + 1) {
      found.push(`${name}: content ${element.scrollWidth} > box ${element.clientWidth}`);
    } else if (box.width > 0 && box.right > root.clientWidth + 1) {
      found.push(`${name}: ends at ${Math.round(box.right)} > ${root.clientWidth}`);
    }
  }
  return found;
}"""

LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href'))"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], timeout=30_000)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Two nights of reports over a small store with long names and codes, the second with the
    portal down (a stale source: its sentence, the technical error in the province's mail, the
    breaches carried forward), as files: the mails' HTML parts and the site the nightly run writes."""
    folder = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{folder / 'motcua.db'}")
    SQLModel.metadata.create_all(engine)
    store = Store(engine)
    store.add(Agency(code=AGENCY, name="Sở Tài nguyên và Môi trường kiêm Ban Quản lý các khu công nghiệp tỉnh"))
    store.procedure()
    store.procedure("1.009999.000.00.00.H59", amount=3)
    for n in range(1, 9):
        store.dossier(f"{AGENCY}-G.260302-{n:04d}-BAN-SAO-CHUNG-THUC", at(2), status=9, finished_at=at(5),
                      on_portal=False, procedure="1.009999.000.00.00.H59" if n % 2 else "1.000001")
    store.dossier(f"{AGENCY}-OVERDUE-0001", at(2), status=4)  # in progress, overdue
    store.portal_row("M-1", at(3))
    settings = settings_for(folder)
    synced(store, NIGHTS[0])
    night(engine, settings, NIGHTS[0])
    synced(store, NIGHTS[1], portal_error=CONNECTION_REFUSED)
    mails = night(engine, settings, NIGHTS[1])
    engine.dispose()
    pages = {}
    for name, recipient in (("agency", HEAD), ("province", OFFICE)):
        pages[name] = folder / f"{name}-mail.html"
        pages[name].write_text(html(mails[recipient]), encoding="utf-8")
    site = folder / "site"
    for page in sorted(site.rglob("*.html")):
        pages[str(page.relative_to(site))] = page
    return site, pages


def test_no_element_overflows_its_box_at_desktop_and_phone_widths(browser, rendered):
    started = time.monotonic()
    site, pages = rendered
    assert {"agency", "province", "index.html"} <= set(pages) and len(pages) > 20
    assert "Chưa kiểm tra lại" in pages["agency"].read_text(encoding="utf-8")
    assert CONNECTION_REFUSED in pages["province"].read_text(encoding="utf-8")
    problems = []
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(10_000)
        for name, path in pages.items():
            page.goto(path.as_uri())
            problems += [f"{name} at {width} px: {problem}" for problem in page.evaluate(OVERFLOWING)]
        page.close()
    assert problems == []
    assert time.monotonic() - started < BUDGET_SECONDS


def test_every_link_in_the_site_resolves_to_a_page_of_the_site(browser, rendered):
    site, pages = rendered
    page = browser.new_page()
    page.set_default_timeout(10_000)
    checked, broken = 0, []
    for name, path in pages.items():
        if name in ("agency", "province"):
            continue
        page.goto(path.as_uri())
        for href in page.evaluate(LINKS):
            if href.startswith(DOSSIER_URL.split("{")[0]):
                continue  # a dossier in the one-stop system, outside the site by design
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            checked += 1
            if parts.scheme or parts.netloc or href.startswith(SITE_URL) or not target.is_file() \
                    or site.resolve() not in target.parents:
                broken.append(f"{name}: {href}")
    page.close()
    assert broken == [] and checked > 100


def test_a_table_of_the_site_sorts_and_filters_in_the_page(browser, rendered):
    site, pages = rendered
    page = browser.new_page()
    page.set_default_timeout(10_000)
    # The last night's page: the eight breaches carried forward while the portal is down.
    page.goto(pages[max(name for name in pages if name.endswith("quy-tac-entry.unsynced.html"))].as_uri())
    codes = "() => Array.from(document.querySelectorAll('#vi-pham tbody tr'), r => r.cells[0].textContent.trim())"
    visible = "() => Array.from(document.querySelectorAll('#vi-pham tbody tr')).filter(r => r.offsetParent).length"
    before = page.evaluate(codes)
    page.click("#vi-pham thead th >> nth=0")
    ascending = page.evaluate(codes)
    page.click("#vi-pham thead th >> nth=0")
    assert ascending == sorted(ascending) and page.evaluate(codes) == ascending[::-1] and len(before) == 8

    page.fill("#vi-pham-loc", "0003 ban sao")  # accents and case ignored
    assert page.evaluate(visible) == 1
    page.fill("#vi-pham-loc", "")
    assert page.evaluate(visible) == 8
    page.close()
