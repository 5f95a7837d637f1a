"""`make docs-images`: the README's pictures, taken from a fresh `motcua demo`.

Runs the demo into a temporary folder, then renders with Debian's Chromium (driven by
Playwright; no browser is downloaded) the HTML part of an agency head's mail and of the province
office's mail at a phone's width, and the site's period index and a rule's page at a desktop's,
and writes them as PNG files into the folder given (default `docs/`).

    python -m sandbox.screenshots [DIR]
"""
from __future__ import annotations

import sys
import tempfile
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from monitor.clock import now_local
from sandbox.demo import run_demo

CHROMIUM = "/usr/bin/chromium"
# (width, height) of each picture: the top of the page, as a reader first sees it; whole pages
# of a real province are many screens long.
PHONE, DESKTOP = (390, 2600), (1280, 1000)
# The agency whose mail the README shows: the Department of Justice of the simulated province.
AGENCY = "000.00.31.H59"


def main(target: Path) -> int:
    from playwright.sync_api import sync_playwright

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="motcua-docs-") as root:
        run_demo(Path(root), now_local, dossiers=3000)
        [folder] = Path(root).iterdir()
        pages = {
            "agency-report.png": (_mail_html(folder, AGENCY.lower()), PHONE),
            "province-report.png": (_mail_html(folder, "vanphong"), PHONE),
        }
        [period] = [p.parent for p in (folder / "site").glob("*/index.html")]
        pages["site-index.png"] = (period / "index.html", DESKTOP)
        pages["site-rule.png"] = (period / "quy-tac-ontime.late.html", DESKTOP)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for name, (page_file, (width, height)) in pages.items():
                page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
                page.goto(page_file.as_uri())
                page.screenshot(path=str(target / name))
                page.close()
                print(f"{target / name}: {page_file.name}, the top {width}×{height} px")
            browser.close()
    return 0


def _mail_html(folder: Path, recipient: str) -> Path:
    """The HTML part of the mail to the recipient whose address holds `recipient`, as a file."""
    [eml] = [p for p in (folder / "mail").glob("*.eml") if recipient in p.name]
    message = message_from_bytes(eml.read_bytes(), policy=default)
    page = eml.with_suffix(".html")
    page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    return page


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
