"""Helpers for the report, nightly and scheduler tests: the simulated province on loopback, its
tracking books, a mailbox (a real SMTP server), and the config.toml that points at them."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sandbox.mailcatcher import MailCatcher
from sandbox.simulator import BookRow, OneStopServer, PortalServer, append_rows, generate_province, write_tracking_books

HEALTH, JUSTICE = "000.00.16.H59", "000.00.31.H59"
RECIPIENTS = {HEALTH: "giamdoc.syt@example.gov.vn", JUSTICE: "giamdoc.stp@example.gov.vn",
              "*": "vanphong.ubnd@example.gov.vn"}
MARKUP_CODE = "<script>alert(1)</script>"
FORMULA_CODE = '=HYPERLINK("http://evil.example","bam")'


@dataclass
class World:
    """The simulated province on loopback, its tracking books, and a mailbox."""
    folder: Path
    onestop_url: str
    portal_url: str
    mailbox: MailCatcher

    def config(self, database_url: str, *, mail_port: int | None = None, portal_url: str | None = None) -> Path:
        recipients = "".join(f'[[recipients]]\nagency = "{agency}"\nto = ["{to}"]\n\n'
                             for agency, to in RECIPIENTS.items())
        path = self.folder / "config.toml"
        path.write_text(f"""
[database]
url = "{database_url}"

[[sources]]
name = "motcua"
kind = "onestop_api"
base_url = "{self.onestop_url}"
username_env = "MOTCUA_ONESTOP_USER"
password_env = "MOTCUA_ONESTOP_PASSWORD"
max_retries = 1
backoff_seconds = 0.01

[[sources]]
name = "cong-dvc"
kind = "portal_html"
base_url = "{portal_url or self.portal_url}"
max_retries = 1
backoff_seconds = 0.01

[[sources]]
name = "so-theo-doi"
kind = "tracking_book"
path = "books/*"

[mail]
host = "127.0.0.1"
port = {mail_port or self.mailbox.port}
sender = "giamsat@example.gov.vn"
timeout_seconds = 20

{recipients}""", encoding="utf-8")
        return path


@contextmanager
def simulated_world(folder: Path, monkeypatch, now: datetime, onestop_server=OneStopServer):
    """A small province whose dossiers arrived over the five weeks before `now`; its one-stop
    API is served by `onestop_server(province)`."""
    monkeypatch.setenv("MOTCUA_ONESTOP_USER", "canbo")
    monkeypatch.setenv("MOTCUA_ONESTOP_PASSWORD", "matkhau")
    province = generate_province(seed=11, dossiers=400, start=now.date() - timedelta(days=36), now=now)
    books = write_tracking_books(province, folder / "books")
    # Codes typed by hand are anyone's text: one book row holds markup, another a formula.
    received = now.replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=11)
    book = next(p for p in books if HEALTH in p.name and f"{received:%Y-%m}" in p.name)
    append_rows(book, [
        BookRow(code=MARKUP_CODE, procedure_name="Thủ tục", applicant="Nguyễn Văn An", agency=HEALTH,
                received=received),
        BookRow(code=FORMULA_CODE, procedure_name="Thủ tục", applicant="Trần Thị Bình", agency=HEALTH,
                received=received + timedelta(minutes=30)),
    ])
    with onestop_server(province) as onestop, PortalServer(province) as portal, MailCatcher() as mailbox:
        yield World(folder, onestop.url, portal.url, mailbox)


def received_by(mailbox: MailCatcher) -> dict[str, list]:
    """Each recipient's messages, parsed."""
    messages: dict[str, list] = {}
    for mail in mailbox.received:
        for address in mail.recipients:
            messages.setdefault(address, []).append(mail.message)
    return messages


def motcua(*args: str) -> subprocess.CompletedProcess:
    """The command line, as a separate process."""
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=300)
