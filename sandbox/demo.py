"""`motcua demo`: the whole pipeline on a simulated province, for a first look.

In a fresh folder: the simulated province's one-stop API and portal served on loopback, its
counters' tracking books written as files, a local SMTP server that keeps what it receives as
.eml files, and a config.toml pointing at all of them. Then the real commands run as child
processes, as an operator would run them (`motcua init`, `motcua nightly`, `motcua report
--output`), and the demo prints the figures, the breaches per rule and where everything is.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click

from monitor.config import load_settings
from monitor.db import make_engine
from monitor.statuses import FindingStatus
from monitor.terminal import number, render_table
from sandbox.mailcatcher import MailCatcher
from sandbox.simulator import OneStopServer, PortalServer, generate_province, write_tracking_books
from reports.render import percent
from rules import registry
from rules.audit import run_audit
from rules.figures import Figures

SEED = 2026
HISTORY_DAYS = 120
USERNAME_ENV, PASSWORD_ENV = "MOTCUA_ONESTOP_USER", "MOTCUA_ONESTOP_PASSWORD"
USERNAME, PASSWORD = "canbo", "matkhau"  # the simulated one-stop system's account


def run_demo(root: Path, clock: Callable[[], datetime], *, dossiers: int, verbose: bool = False) -> int:
    started = time.monotonic()  # only to say how long the demo took
    now = clock()
    folder = _fresh_folder(root, now)
    province = generate_province(seed=SEED, dossiers=dossiers, start=now.date() - timedelta(days=HISTORY_DAYS),
                                 now=now)
    books = write_tracking_books(province, folder / "so-theo-doi")
    click.echo(f"motcua demo in {folder}/\n"
               f"simulated province: {number(dossiers)} dossiers received since {province.start:%d/%m/%Y}, "
               f"{len(province.agencies)} agencies, {len(books)} tracking books")

    with OneStopServer(province, username=USERNAME, password=PASSWORD) as onestop, PortalServer(province) as portal, \
            MailCatcher(folder / "mail") as mailbox:
        config = _write_config(folder, onestop.url, portal.url, mailbox.port, [a.code for a in province.agencies])
        click.echo(f"  one-stop API {onestop.url}, portal {portal.url}, mail server 127.0.0.1:{mailbox.port}\n")
        log = folder / "motcua.log"
        environment = {**os.environ, USERNAME_ENV: USERNAME, PASSWORD_ENV: PASSWORD}
        _motcua(["init"], config, environment, log, verbose)
        nightly = _motcua(["nightly"], config, environment, log, verbose)
        _motcua(["report", "--output", str(folder / "site")], config, environment, log, verbose)

    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    try:
        moment = clock()
        audit = run_audit(engine, settings, as_of=moment, now=moment)
    finally:
        engine.dispose()
    click.echo(nightly.stdout.rstrip() + "\n")
    click.echo(_figures_table(audit.figures) + "\n")
    click.echo(_rule_counts(audit.findings) + "\n")
    mails = sorted((folder / "mail").glob("*.eml"))
    [workbook] = (folder / "site").glob("*.xlsx")
    click.echo("\n".join([
        f"Where everything is (in {folder}/):",
        f"  emails     mail/: {len(mails)} .eml files, one per recipient (open them in any mail client)",
        f"  XLSX       attached to every email; the province's: {workbook}",
        f"  HTML site  {folder / 'site' / 'index.html'}",
        f"  config     {config.name} (its database: motcua.db; the tracking books: so-theo-doi/)",
        f"  log        {log.name}",
        f"Done in {time.monotonic() - started:.0f} s.",
    ]))
    return nightly.returncode


def _fresh_folder(root: Path, now: datetime) -> Path:
    folder = root / f"{now:%Y%m%d-%H%M%S}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{now:%Y%m%d-%H%M%S}-{suffix}"
    folder.mkdir(parents=True)
    return folder.resolve()


def _write_config(folder: Path, onestop_url: str, portal_url: str, mail_port: int, agencies: list[str]) -> Path:
    recipients = "".join(
        f'\n[[recipients]]\nagency = "{code}"\nto = ["lanhdao.{code.lower()}@example.gov.vn"]\n'
        for code in agencies)
    text = f"""# Written by `motcua demo` for the simulated province it serves on loopback.
[database]
url = "sqlite:///motcua.db"

[[sources]]
name = "motcua"
kind = "onestop_api"
base_url = "{onestop_url}"
username_env = "{USERNAME_ENV}"
password_env = "{PASSWORD_ENV}"

[[sources]]
name = "cong-dvc"
kind = "portal_html"
base_url = "{portal_url}"

[[sources]]
name = "so-theo-doi"
kind = "tracking_book"
path = "so-theo-doi/*"

[mail]
host = "127.0.0.1"
port = {mail_port}
sender = "giamsat@example.gov.vn"

[[recipients]]
agency = "*"
to = ["vanphong.ubnd@example.gov.vn"]
{recipients}"""
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _motcua(args: list[str], config: Path, environment: dict, log: Path, verbose: bool) -> subprocess.CompletedProcess:
    """Run one `motcua` command as a child process; its log lines go to the log file."""
    command = [sys.executable, "-m", "monitor", *args, "--config", str(config)] + (["--verbose"] if verbose else [])
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write(f"$ motcua {' '.join(args)}\n")
        log_file.flush()
        done = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=log_file, text=True)
        log_file.write(done.stdout)
    if done.returncode not in (0, 3):
        raise click.ClickException(f"`motcua {' '.join(args)}` failed with exit code {done.returncode}; see {log}")
    return done


def _figures_table(figures: list[Figures]) -> str:
    headings = ("agency", "received", "resolved", "on time", "entry", "sync", "online pay")
    rows = [(f.agency if f.agency != "*" else "* province", number(f.received_total),
             number(f.resolved_total), percent(f.on_time_rate), percent(f.entry_rate),
             percent(f.sync_rate), percent(f.online_payment_rate)) for f in figures]
    return "Figures, everything received so far:\n" + _indented(render_table(headings, rows, right=range(1, 7)))


def _rule_counts(findings: list) -> str:
    counts = Counter(f.rule for f in findings if f.status == FindingStatus.OPEN)
    rows = [(rule, number(n), registry.by_id(rule).title) for rule, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]
    rows.append(("total", number(sum(counts.values())), ""))
    return "Open breaches per rule:\n" + _indented(render_table(("rule", "open", "what it is"), rows, right=(1,)))


def _indented(lines: list[str]) -> str:
    return "\n".join("  " + line for line in lines)
